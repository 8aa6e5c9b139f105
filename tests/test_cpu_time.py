"""CPU time is counted per thread and split into user and system time.
Sleeping costs none and a busy loop costs about its wall time. A reaped
child's time reaches wait4, RUSAGE_CHILDREN and os.times(), and the
CPU-time interval timers count only CPU time."""

from conftest import compare_with_linux

# Each line prints whether a measured time is in the range Linux gives. The
# bounds are loose because the qemu-user reference counts the host's CPU
# time of QEMU, which another busy process on the host lowers.
CPU_TIMES = r"""
import os, resource, threading, time

def busy(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass

start = time.process_time()
time.sleep(0.3)
print("sleep is not CPU time", time.process_time() - start < 0.05)

start = time.process_time()
busy(0.5)
print("busy loop is CPU time", time.process_time() - start > 0.2)

main_start = time.thread_time()
worker_time = []
def worker():
    begin = time.thread_time()
    busy(0.3)
    worker_time.append(time.thread_time() - begin)
thread = threading.Thread(target=worker)
thread.start()
thread.join()
print("worker thread time", worker_time[0] > 0.1)
print("joining thread time", time.thread_time() - main_start < 0.05)

own = os.times()
usage = resource.getrusage(resource.RUSAGE_SELF)
print("times matches getrusage", abs(own.user + own.system - usage.ru_utime - usage.ru_stime) < 0.1)
print("no children yet", own.children_user + own.children_system == 0)

pid = os.fork()
if pid == 0:
    busy(0.4)
    os._exit(0)
_, status, child_usage = os.wait4(pid, 0)
print("wait4 rusage", child_usage.ru_utime + child_usage.ru_stime > 0.15)
children = resource.getrusage(resource.RUSAGE_CHILDREN)
print("RUSAGE_CHILDREN", children.ru_utime + children.ru_stime > 0.15)
after = os.times()
print("times children", after.children_user + after.children_system > 0.15)
print("children not in own time", after.user + after.system - own.user - own.system < 0.3)
"""


def test_cpu_times_match_linux(disk):
    lines = compare_with_linux(CPU_TIMES, disk)
    assert all(line.endswith(" True") for line in lines), lines


# ITIMER_VIRTUAL and ITIMER_PROF must not run down while the process sleeps.
CPU_TIMERS = r"""
import signal, time

def busy(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass

for name, which, sig in [("ITIMER_VIRTUAL", signal.ITIMER_VIRTUAL, signal.SIGVTALRM),
                         ("ITIMER_PROF", signal.ITIMER_PROF, signal.SIGPROF)]:
    fired = []
    signal.signal(sig, lambda *args: fired.append(time.monotonic()))
    signal.setitimer(which, 0.2)
    time.sleep(0.4)
    print(name, "fired while sleeping", bool(fired))
    print(name, "left after sleeping", signal.getitimer(which)[0] > 0.1)
    start = time.monotonic()
    busy(0.6)
    print(name, "fired once while busy", len(fired) == 1)
    print(name, "fired after 0.1 to 0.45 s", bool(fired) and 0.1 < fired[0] - start < 0.45)
    signal.setitimer(which, 0.05, 0.05)
    busy(0.5)
    signal.setitimer(which, 0)
    print(name, "periodic expiries", 4 <= len(fired) - 1 <= 11)
"""


def test_cpu_time_timers_match_linux(disk):
    lines = compare_with_linux(CPU_TIMERS, disk)
    assert "ITIMER_VIRTUAL fired while sleeping False" in lines
    assert "ITIMER_PROF fired once while busy True" in lines


# The clock ids of pthread_getcpuclockid and clock_getcpuclockid: the
# calling thread, another thread of the process and a child process.
CPU_CLOCK_IDS = r"""
import ctypes, os, threading, time

def busy(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass

own = time.pthread_getcpuclockid(threading.get_ident())
start = time.clock_gettime(own)
busy(0.3)
print("own thread clock", time.clock_gettime(own) - start > 0.1)
print("own thread resolution", time.clock_getres(own) <= 0.01)

ready = threading.Event()
done = threading.Event()
worker_clock = []
def worker():
    worker_clock.append(time.pthread_getcpuclockid(threading.get_ident()))
    busy(0.3)
    ready.set()
    done.wait()
thread = threading.Thread(target=worker)
thread.start()
ready.wait()
before = time.clock_gettime(worker_clock[0])
time.sleep(0.2)
print("worker clock from main", before > 0.1)
print("worker clock still while it waits", time.clock_gettime(worker_clock[0]) - before < 0.05)
done.set()
thread.join()

libc = ctypes.CDLL(None, use_errno=True)
read_end, write_end = os.pipe()
pid = os.fork()
if pid == 0:
    busy(0.3)
    os.write(write_end, b"x")
    time.sleep(0.5)
    os._exit(0)
os.read(read_end, 1)
clock = ctypes.c_int()
print("clock_getcpuclockid", libc.clock_getcpuclockid(pid, ctypes.byref(clock)))
print("child process clock", time.clock_gettime(clock.value) > 0.1)
os.waitpid(pid, 0)
try:
    time.clock_gettime(-(99999 + 1) * 8 + 2)
    print("missing process clock", "ok")
except OSError as err:
    print("missing process clock", err.errno)
"""


def test_cpu_clock_ids_match_linux(disk):
    lines = compare_with_linux(CPU_CLOCK_IDS, disk)
    assert "worker clock from main True" in lines
    assert "child process clock True" in lines
