"""Signals that arrive while a syscall waits: SA_RESTART, and the signal
masks that rt_sigsuspend, ppoll and pselect6 install for their wait.

The waits are made through ctypes, so that Python's own retry on EINTR
(PEP 475) does not hide what the kernel returned. A forked child sends the
signal while the parent waits, and the output is compared with the Linux
reference line for line.
"""

from conftest import run_kernel, run_reference

HELPERS = r"""
import ctypes, errno, os, signal, sys, time

libc = ctypes.CDLL(None, use_errno=True)
caught = []
signal.signal(signal.SIGUSR1, lambda sig, frame: caught.append(sig))
SIGUSR1_SET = (ctypes.c_ulong * 16)()
libc.sigaddset(ctypes.byref(SIGUSR1_SET), signal.SIGUSR1)
EMPTY_SET = (ctypes.c_ulong * 16)()

def signal_later(delay, then=None):
    # Fork a child that sends SIGUSR1 to this process after `delay`
    # seconds, runs `then`, and exits.
    parent = os.getpid()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        time.sleep(delay)
        os.kill(parent, signal.SIGUSR1)
        if then is not None:
            time.sleep(delay)
            then()
        os._exit(0)
    return pid

def result(value):
    # The return value of a libc call, or the errno name when it failed.
    if value == -1:
        return errno.errorcode[ctypes.get_errno()]
    return value

def blocked():
    return signal.SIGUSR1 in signal.pthread_sigmask(signal.SIG_BLOCK, [])

def reap(pid):
    os.waitpid(pid, 0)
"""

RESTART_READ = HELPERS + r"""
for restart in (True, False):
    signal.siginterrupt(signal.SIGUSR1, not restart)
    caught.clear()
    r, w = os.pipe()
    child = signal_later(1.0, then=lambda: os.write(w, b"data"))
    buffer = ctypes.create_string_buffer(16)
    count = libc.read(r, buffer, 16)
    print("read restart" if restart else "read no restart", result(count),
          buffer.raw[:max(count, 0)], "caught", caught, flush=True)
    reap(child)
    os.close(r)
    os.close(w)
"""

RESTART_WAIT = HELPERS + r"""
for restart in (True, False):
    signal.siginterrupt(signal.SIGUSR1, not restart)
    caught.clear()
    child = signal_later(1.0, then=lambda: os._exit(7))
    status = ctypes.c_int(0)
    waited = libc.waitpid(child, ctypes.byref(status), 0)
    name = "wait restart" if restart else "wait no restart"
    print(name, "is child" if waited == child else result(waited),
          "caught", caught, flush=True)
    if waited == child:
        print(name, "status", os.waitstatus_to_exitcode(status.value))
    else:
        reap(child)
"""

SUSPEND = HELPERS + r"""
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
child = signal_later(1.0)
print("sigsuspend", result(libc.sigsuspend(ctypes.byref(EMPTY_SET))), flush=True)
# Python runs its handler after the call returns.
print("caught", caught, "still blocked", blocked())
reap(child)
"""

POLL_MASKS = HELPERS + r"""
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
r, w = os.pipe()
fds = (ctypes.c_int * 2)(r, 1)  # struct pollfd: fd, events POLLIN, revents

# The wait's mask lets SIGUSR1 in although the thread blocks it.
child = signal_later(1.0)
print("ppoll unblocked", result(libc.ppoll(fds, 1, None, ctypes.byref(EMPTY_SET))), flush=True)
print("caught", caught, "still blocked", blocked(), flush=True)
reap(child)

# The wait's mask keeps SIGUSR1 out: the pipe becomes readable first, and
# the signal is delivered when the mask is restored.
caught.clear()
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR1])
child = signal_later(0.5, then=lambda: os.write(w, b"x"))
print("ppoll blocked", result(libc.ppoll(fds, 1, None, ctypes.byref(SIGUSR1_SET))), flush=True)
print("caught", caught, "blocked after", blocked(), flush=True)
reap(child)
os.read(r, 1)

# pselect6 takes its mask through a { sigset, size } pair that musl builds.
caught.clear()
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
readable = (ctypes.c_ulong * 16)()
readable[0] = 1 << r
child = signal_later(1.0)
print("pselect unblocked", result(libc.pselect(r + 1, readable, None, None, None,
                                               ctypes.byref(EMPTY_SET))), flush=True)
print("caught", caught, "still blocked", blocked(), flush=True)
reap(child)
"""


def compare_with_linux(script: str, disk) -> list[str]:
    linux = run_reference("-c", script)
    assert linux.status == 0, linux.stderr
    expected = linux.stdout.splitlines()
    assert expected, "the reference printed nothing"
    ours = run_kernel("-c", script, disk=disk)
    assert ours.status == 0, ours.stdout[-2000:]
    assert ours.lines[-len(expected):] == expected
    return expected


def test_read_restarts_with_sa_restart(disk):
    lines = compare_with_linux(RESTART_READ, disk)
    assert "read restart 4 b'data' caught [10]" in lines
    assert "read no restart EINTR b'' caught [10]" in lines


def test_wait4_restarts_with_sa_restart(disk):
    lines = compare_with_linux(RESTART_WAIT, disk)
    assert "wait restart is child caught [10]" in lines
    assert "wait restart status 7" in lines
    assert "wait no restart EINTR caught [10]" in lines


def test_sigsuspend_installs_mask(disk):
    lines = compare_with_linux(SUSPEND, disk)
    assert "sigsuspend EINTR" in lines
    assert "caught [10] still blocked True" in lines


def test_ppoll_and_pselect_install_mask(disk):
    lines = compare_with_linux(POLL_MASKS, disk)
    assert "ppoll unblocked EINTR" in lines
    assert "ppoll blocked 1" in lines
    assert "caught [10] blocked after False" in lines
    assert "pselect unblocked EINTR" in lines
