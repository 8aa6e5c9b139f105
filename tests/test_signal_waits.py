"""Signals that arrive while a syscall waits: SA_RESTART, and the signal
masks that rt_sigsuspend, ppoll and pselect6 install for their wait.

The waits are made through ctypes, so that Python's own retry on EINTR
(PEP 475) does not hide what the kernel returned. A forked child sends the
signal while the parent waits, and the output is compared with the Linux
reference line for line.
"""

from conftest import compare_with_linux

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

def error_name(call, *args):
    try:
        call(*args)
        return "ok"
    except OSError as error:
        return errno.errorcode[error.errno]
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


TIMERS = HELPERS + r"""
alarms = []
signal.signal(signal.SIGALRM, lambda sig, frame: alarms.append(time.monotonic()))

# A one-shot timer ends pause() with its SIGALRM.
start = time.monotonic()
print("setitimer old", signal.setitimer(signal.ITIMER_REAL, 0.3))
signal.pause()
print("one-shot fired", len(alarms), 0.25 <= alarms[0] - start < 3)
print("after expiry", signal.getitimer(signal.ITIMER_REAL))

# A periodic timer keeps firing until it is disarmed.
alarms.clear()
signal.setitimer(signal.ITIMER_REAL, 0.2, 0.2)
value, interval = signal.getitimer(signal.ITIMER_REAL)
print("armed", 0 < value <= 0.2, interval)
while len(alarms) < 3:
    time.sleep(0.05)
old_value, old_interval = signal.setitimer(signal.ITIMER_REAL, 0)
print("disarmed", old_interval, signal.getitimer(signal.ITIMER_REAL))
count = len(alarms)
time.sleep(0.5)
print("stopped", len(alarms) == count)

# alarm() is setitimer in musl.
signal.alarm(1)
print("alarm left", signal.alarm(0))
print("bad timer", error_name(signal.setitimer, 7, 1.0))
"""

SIGWAIT = HELPERS + r"""
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1, signal.SIGCHLD])
os.kill(os.getpid(), signal.SIGUSR1)
print("pending", signal.sigpending() == {signal.SIGUSR1})
info = signal.sigwaitinfo([signal.SIGUSR1])
print("sigwaitinfo", info.si_signo, info.si_code, info.si_pid == os.getpid())
print("nothing pending", signal.sigpending())

# A signal sent while the thread waits.
child = signal_later(0.5)
info = signal.sigtimedwait([signal.SIGUSR1], 30)
print("from child", info.si_signo, info.si_pid == child)
# SIGCHLD is ignored by default, but a blocked one stays pending.
info = signal.sigtimedwait([signal.SIGCHLD], 30)
print("child exit", info.si_signo, info.si_code == os.CLD_EXITED, info.si_pid == child)
reap(child)

print("timed out", signal.sigtimedwait([signal.SIGUSR2], 0.2))
print("caught", caught)
"""


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


def test_interval_timers_match_linux(disk):
    lines = compare_with_linux(TIMERS, disk)
    assert "setitimer old (0.0, 0.0)" in lines
    assert "one-shot fired 1 True" in lines
    assert "after expiry (0.0, 0.0)" in lines
    assert "armed True 0.2" in lines
    assert "stopped True" in lines
    assert "alarm left 1" in lines
    assert "bad timer EINVAL" in lines


def test_sigwait_and_sigpending_match_linux(disk):
    lines = compare_with_linux(SIGWAIT, disk)
    assert "pending True" in lines
    assert "sigwaitinfo 10 0 True" in lines
    assert "nothing pending set()" in lines
    assert "from child 10 True" in lines
    assert "child exit 17 True True" in lines
    assert "timed out None" in lines
    assert "caught []" in lines
