"""clock_settime: setting CLOCK_REALTIME, which file times follow."""

from conftest import ATTEMPT, run_kernel

CLOCK_SETTIME = ATTEMPT + r"""
import errno, os, sys, time

now = time.clock_gettime(time.CLOCK_REALTIME)
attempt("set realtime", time.clock_settime, time.CLOCK_REALTIME, now + 3600)
later = time.clock_gettime(time.CLOCK_REALTIME)
print("moved an hour", 3590 < later - now < 3700)
with open("/tmp/clock-test", "w") as f:
    f.write("x")
print("file time follows", abs(os.stat("/tmp/clock-test").st_mtime - later) < 60)
attempt("set monotonic", time.clock_settime, time.CLOCK_MONOTONIC, 5.0)
attempt("set negative", time.clock_settime_ns, time.CLOCK_REALTIME, -1)
attempt("set back", time.clock_settime, time.CLOCK_REALTIME, time.clock_gettime(time.CLOCK_REALTIME) - 3600)
print("back", abs(time.clock_gettime(time.CLOCK_REALTIME) - now) < 60)
sys.stdout.flush()
pid = os.fork()
if pid == 0:
    os.setuid(1000)
    attempt("set as user", time.clock_settime, time.CLOCK_REALTIME, now)
    sys.stdout.flush()
    os._exit(0)
os.waitpid(pid, 0)
"""


def test_clock_settime_moves_realtime(disk):
    # Kernel only: on the Linux reference the call would set the host's clock.
    run = run_kernel("-c", CLOCK_SETTIME, disk=disk)
    assert run.status == 0, run.stdout[-2000:]
    assert "set realtime ok" in run.lines
    assert "moved an hour True" in run.lines
    assert "file time follows True" in run.lines
    # Linux 6.1 gives these errnos for the same calls.
    assert "set monotonic EINVAL" in run.lines
    assert "set negative EINVAL" in run.lines
    assert "back True" in run.lines
    assert "set as user EPERM" in run.lines
