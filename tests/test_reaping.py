"""Waiting for children (waitid), and children that no process waits for:
orphans go to init, and a parent that ignores SIGCHLD never has zombies."""

from conftest import compare_with_linux, run_kernel

ORPHAN = r"""
import os, time
r, w = os.pipe()
child = os.fork()
if child == 0:
    ready_r, ready_w = os.pipe()
    if os.fork() == 0:
        first = os.getppid()
        os.write(ready_w, b"x")
        deadline = time.monotonic() + 20
        while os.getppid() == first and time.monotonic() < deadline:
            time.sleep(0.01)
        os.write(w, b"%d %d\n" % (first, os.getppid()))
        os._exit(0)
    # Exit only once the grandchild has seen this process as its parent.
    os.read(ready_r, 1)
    os._exit(0)
os.waitpid(child, 0)
os.close(w)
first, adopter = map(int, os.read(r, 100).split())
print("orphan's first parent was the child", first == child)
print("orphan adopted", adopter != child)
print("adopter", adopter)
"""

AUTO_REAP = r"""
import os, signal, sys, time

def children_left(label):
    try:
        pid, status = os.waitpid(-1, 0)
        print(label, "reaped", os.waitstatus_to_exitcode(status))
    except ChildProcessError:
        print(label, "ECHILD")

def fork_exit(code, delay=0.0):
    pid = os.fork()
    if pid == 0:
        time.sleep(delay)
        os._exit(code)
    return pid

def in_child(body):
    # Each case runs in its own process, which only has the children it
    # forks itself.
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        body()
        sys.stdout.flush()
        os._exit(0)
    os.waitpid(pid, 0)

def sig_ign():
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    for code in (1, 2, 3):
        fork_exit(code)
    time.sleep(0.5)
    children_left("SIG_IGN, exited children:")
    # A blocking wait returns ECHILD once the running child exits.
    start = time.monotonic()
    fork_exit(4, delay=0.3)
    children_left("SIG_IGN, running child:")
    print("waited for the running child", time.monotonic() - start > 0.2)

def sig_dfl():
    fork_exit(5)
    time.sleep(0.3)
    children_left("SIG_DFL:")
    children_left("SIG_DFL, none left:")

def ignored_after_exit():
    # A zombie from before SIG_IGN stays until it is reaped.
    fork_exit(7)
    time.sleep(0.3)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    children_left("SIG_IGN set after the exit:")

for case in (sig_ign, sig_dfl, ignored_after_exit):
    in_child(case)
"""

NOCLDWAIT = r"""
import ctypes, os, signal, time

class Sigaction(ctypes.Structure):
    # musl's struct sigaction on aarch64.
    _fields_ = [("handler", ctypes.c_void_p), ("mask", ctypes.c_ulong * 16),
                ("flags", ctypes.c_int), ("restorer", ctypes.c_void_p)]

SA_NOCLDWAIT = 2
libc = ctypes.CDLL(None, use_errno=True)
action = Sigaction()
action.flags = SA_NOCLDWAIT
print("sigaction", libc.sigaction(signal.SIGCHLD, ctypes.byref(action), None))
if os.fork() == 0:
    os._exit(6)
time.sleep(0.5)
try:
    print("reaped", os.wait())
except ChildProcessError:
    print("SA_NOCLDWAIT: ECHILD")
"""


def test_orphan_adopted_by_init(disk):
    ours = run_kernel("-c", ORPHAN, disk=disk)
    assert ours.status == 0, ours.stdout[-2000:]
    assert "orphan's first parent was the child True" in ours.lines
    assert "orphan adopted True" in ours.lines
    # init is the Python process that runs the script.
    assert "adopter 1" in ours.lines


def test_ignored_sigchld_reaps_children(disk):
    lines = compare_with_linux(AUTO_REAP, disk)
    assert "SIG_IGN, exited children: ECHILD" in lines
    assert "SIG_IGN, running child: ECHILD" in lines
    assert "waited for the running child True" in lines
    assert "SIG_DFL: reaped 5" in lines
    assert "SIG_DFL, none left: ECHILD" in lines
    assert "SIG_IGN set after the exit: reaped 7" in lines


def test_nocldwait_reaps_children(disk):
    # Kernel only: qemu-user does not pass SA_NOCLDWAIT with SIG_DFL on to
    # the host, so its children become zombies. Linux 6.1 reaps them, as
    # sigaction(2) documents.
    ours = run_kernel("-c", NOCLDWAIT, disk=disk)
    assert ours.status == 0, ours.stdout[-2000:]
    assert "sigaction 0" in ours.lines
    assert "SA_NOCLDWAIT: ECHILD" in ours.lines


WAITID = r"""
import errno, os, signal, sys, time

def fork_exit(code, delay=0.0):
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        time.sleep(delay)
        os._exit(code)
    return pid

def show(label, result):
    if result is None:
        print(label, None)
    else:
        print(label, result.si_signo, result.si_code, result.si_status, result.si_uid)

def attempt(label, *args):
    try:
        show(label, os.waitid(*args))
    except OSError as e:
        print(label, errno.errorcode[e.errno])

pid = fork_exit(3)
result = os.waitid(os.P_PID, pid, os.WEXITED)
show("exited", result)
print("pid matches", result.si_pid == pid)

pid = fork_exit(4, delay=1.0)
attempt("nohang while running", os.P_PID, pid, os.WEXITED | os.WNOHANG)
time.sleep(0.5)
result = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
show("nowait", result)
attempt("still there", os.P_PID, pid, os.WEXITED)
attempt("gone", os.P_PID, pid, os.WEXITED)

sys.stdout.flush()
pid = os.fork()
if pid == 0:
    signal.pause()
    os._exit(0)
os.kill(pid, signal.SIGTERM)
attempt("killed", os.P_PGID, 0, os.WEXITED)

attempt("no options", os.P_ALL, 0, 0)
attempt("bad type", 7, 0, os.WEXITED)
attempt("pid zero", os.P_PID, 0, os.WEXITED)
attempt("no children", os.P_ALL, 0, os.WEXITED)
"""


def test_waitid_matches_linux(disk):
    lines = compare_with_linux(WAITID, disk)
    assert "exited 17 1 3 0" in lines
    assert "pid matches True" in lines
    assert "nohang while running None" in lines
    assert "nowait 17 1 4 0" in lines
    assert "still there 17 1 4 0" in lines
    assert "gone ECHILD" in lines
    assert "killed 17 2 15 0" in lines
    assert "no options EINVAL" in lines
