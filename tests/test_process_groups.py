"""Process groups and sessions: setpgid, getpgid, getsid, setsid, kill and
wait4 with group arguments, and Ctrl-C and Ctrl-\\ on the console reaching
every process of the foreground group.

The scripts print relations (equal or not, errno names) rather than ids,
because pids differ between the kernel, where the script is init, and the
Linux reference.
"""

import time

from conftest import compare_with_linux, run_kernel
from test_console import PROMPT, console, expect_answer  # noqa: F401

# Shared helpers of the scripts below.
HELPERS = r"""
import errno, os, signal, sys

def error_name(call, *args):
    try:
        call(*args)
        return "ok"
    except OSError as error:
        return errno.errorcode[error.errno]

def fork_child(body):
    # Run body() in a forked child that exits with its return value. The
    # flush keeps the child from printing the parent's buffered lines again.
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        try:
            status = body()
        except BaseException as error:
            print("child failed:", repr(error), flush=True)
            os._exit(99)
        os._exit(status or 0)
    return pid

def wait_status(pid):
    waited, status = os.waitpid(pid, 0)
    assert waited == pid, (waited, pid)
    if os.WIFSIGNALED(status):
        return "signal %d" % os.WTERMSIG(status)
    return "exit %d" % os.WEXITSTATUS(status)
"""

# Ids inherited by fork, setpgid by the child and by the parent, setsid.
GROUP_IDS = HELPERS + r"""
parent_group = os.getpgrp()
parent_session = os.getsid(0)
print("getpgid 0 is getpgrp", os.getpgid(0) == parent_group)

def inherits():
    print("child group inherited", os.getpgrp() == parent_group, flush=True)
    print("child session inherited", os.getsid(0) == parent_session, flush=True)
    print("parent group seen", os.getpgid(os.getppid()) == parent_group, flush=True)
print("inherits", wait_status(fork_child(inherits)))

def own_group():
    os.setpgid(0, 0)
    print("own group is pid", os.getpgrp() == os.getpid(), flush=True)
    print("session kept", os.getsid(0) == parent_session, flush=True)
    print("group leader setsid", error_name(os.setsid), flush=True)
print("own group", wait_status(fork_child(own_group)))

def new_session():
    os.setsid()
    print("session is pid", os.getsid(0) == os.getpid(), flush=True)
    print("group is pid", os.getpgrp() == os.getpid(), flush=True)
    print("second setsid", error_name(os.setsid), flush=True)
    print("leader setpgid", error_name(os.setpgid, 0, 0), flush=True)
    print("group of parent's session", error_name(os.setpgid, 0, parent_group), flush=True)
print("new session", wait_status(fork_child(new_session)))

# The parent moves a child that waits on a pipe.
read_end, write_end = os.pipe()
def wait_for_parent():
    os.close(write_end)
    os.read(read_end, 1)
    print("moved by parent", os.getpgrp() == os.getpid(), flush=True)
child = fork_child(wait_for_parent)
os.close(read_end)
print("parent setpgid", error_name(os.setpgid, child, child))
print("parent sees group", os.getpgid(child) == child)
print("parent sees session", os.getsid(child) == parent_session)
print("child into unknown group", error_name(os.setpgid, child, 999999))
sys.stdout.flush()
os.write(write_end, b"x")
os.close(write_end)
print("moved", wait_status(child))

print("negative pgid", error_name(os.setpgid, 0, -1))
print("unknown pid setpgid", error_name(os.setpgid, 999999, 0))
print("unknown pid getpgid", error_name(os.getpgid, 999999))
print("unknown pid getsid", error_name(os.getsid, 999999))
"""

# A child of another session cannot be moved.
SETPGID_LIMITS = HELPERS + r"""

go_read, go_write = os.pipe()
ready_read, ready_write = os.pipe()
def leave_session():
    os.close(go_write)
    os.close(ready_read)
    os.setsid()
    os.write(ready_write, b"x")
    os.read(go_read, 1)
child = fork_child(leave_session)
os.close(go_read)
os.close(ready_write)
os.read(ready_read, 1)
print("child of other session", error_name(os.setpgid, child, child))
print("group of other session", error_name(os.setpgid, 0, child))
os.write(go_write, b"x")
print("left session", wait_status(child))

"""

# killpg, kill(0, ...) and wait4 on a group of two children.
GROUP_SIGNALS = HELPERS + r"""
import time

def sleep_long():
    time.sleep(60)
    return 3

leader = fork_child(sleep_long)
os.setpgid(leader, leader)
member = fork_child(sleep_long)
os.setpgid(member, leader)
print("member group", os.getpgid(member) == leader)
print("no child in own group", error_name(os.waitpid, 0, os.WNOHANG))
print("group alive", os.waitpid(-leader, os.WNOHANG) == (0, 0))
os.killpg(leader, signal.SIGTERM)
statuses = []
for _ in range(2):
    pid, status = os.waitpid(-leader, 0)
    statuses.append((pid in (leader, member), os.WIFSIGNALED(status) and os.WTERMSIG(status)))
print("group reaped", sorted(statuses))
print("killpg gone group", error_name(os.killpg, leader, signal.SIGTERM))
print("kill unknown group", error_name(os.kill, -999999, 0))
print("kill own group probe", error_name(os.kill, 0, 0))

def signal_own_group():
    # Lead a new group, fork a sleeper into it, then signal the whole group.
    os.setpgid(0, 0)
    fork_child(sleep_long)
    os.kill(0, signal.SIGUSR1)
    return 4
print("kill 0", wait_status(fork_child(signal_own_group)))

def reap_in_own_group():
    same = fork_child(lambda: 5)
    print("wait own group", os.waitpid(0, 0) == (same, 5 << 8), flush=True)
print("wait 0", wait_status(fork_child(reap_in_own_group)))
"""


def test_group_ids_match_linux(disk):
    lines = compare_with_linux(GROUP_IDS, disk)
    assert "own group is pid True" in lines
    assert "session is pid True" in lines
    assert "second setsid EPERM" in lines


def test_setpgid_limits_match_linux(disk):
    lines = compare_with_linux(SETPGID_LIMITS, disk)
    assert "child of other session EPERM" in lines


def test_setpgid_after_execve_is_eacces(disk):
    # Kernel only: the Linux reference (qemu-user) cannot execve Python.
    script = HELPERS + r"""
import subprocess
started = subprocess.Popen(
    [sys.executable, "-c", "import sys; print('up', flush=True); sys.stdin.read()"],
    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
print("child says", started.stdout.readline().decode().strip())
print("group before", os.getpgid(started.pid) == os.getpgrp())
print("after execve", error_name(os.setpgid, started.pid, started.pid))
started.stdin.close()
print("returncode", started.wait())
"""
    ours = run_kernel("-c", script, disk=disk)
    assert ours.status == 0, ours.stdout[-2000:]
    assert ours.lines[-4:] == ["child says up", "group before True", "after execve EACCES",
                               "returncode 0"]


def test_group_signals_match_linux(disk):
    lines = compare_with_linux(GROUP_SIGNALS, disk)
    assert "group reaped [(True, 15), (True, 15)]" in lines
    assert "kill 0 signal 10" in lines
    assert "wait own group True" in lines


def test_kill_minus_one_spares_caller(disk):
    # Kernel only: on the Linux reference this would signal the host's
    # processes.
    script = HELPERS + r"""
import time
children = [fork_child(lambda: time.sleep(60)) for _ in range(2)]
os.kill(-1, signal.SIGTERM)
print("children", [wait_status(child) for child in children])
print("nobody left", error_name(os.kill, -1, 0))
"""
    ours = run_kernel("-c", script, disk=disk)
    assert ours.status == 0, ours.stdout[-2000:]
    assert "children ['signal 15', 'signal 15']" in ours.lines
    assert "nobody left ESRCH" in ours.lines


def test_ctrl_c_reaches_child_in_foreground_group(console):
    console.send("import subprocess, sys\r")
    console.expect_exact(PROMPT)
    console.send("p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\r")
    console.expect_exact(PROMPT)
    time.sleep(5)
    console.send("p.wait()\r")
    console.expect_exact("p.wait()")
    time.sleep(2)
    console.send("\x03")
    console.expect_exact("KeyboardInterrupt", timeout=20)
    console.expect_exact(PROMPT)
    expect_answer(console, "print(p.wait(timeout=20))", "-2")


def test_ctrl_backslash_sends_sigquit_to_group(console):
    console.send("import subprocess, sys, signal\r")
    console.expect_exact(PROMPT)
    console.send("quits = []; signal.signal(signal.SIGQUIT, lambda *args: quits.append(1))\r")
    console.expect_exact(PROMPT)
    console.send("p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\r")
    console.expect_exact(PROMPT)
    time.sleep(5)
    console.send("\x1c")
    time.sleep(2)
    expect_answer(console, "print(p.wait(timeout=20), len(quits))", "-3 1")
