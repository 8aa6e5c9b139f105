"""Tasks that loop in user mode share the CPU: the timer preempts them.

Without preemption a process or thread that never makes a syscall keeps the
only CPU, and every other task waits for it forever.
"""

from conftest import run_kernel

BUSY_CHILD = r"""
import os, signal, time
child = os.fork()
if child == 0:
    while True:
        pass
# The parent sleeps while the child loops; it must wake up on time.
start = time.monotonic()
time.sleep(0.5)
print("parent woke", time.monotonic() - start < 5, flush=True)
os.kill(child, signal.SIGKILL)
_, status = os.waitpid(child, 0)
print("child killed by", os.WTERMSIG(status))
"""

BUSY_THREADS = r"""
import threading, time
counts = [0, 0]
stop = False

def spin(index):
    while not stop:
        counts[index] += 1

worker = threading.Thread(target=spin, args=(1,))
worker.start()
end = time.monotonic() + 2
while time.monotonic() < end:
    counts[0] += 1
stop = True
worker.join()
print("main counted", counts[0] > 0)
print("worker counted", counts[1] > 0)
"""


def test_busy_child_lets_parent_run(disk):
    run = run_kernel("-c", BUSY_CHILD, disk=disk)
    assert run.status == 0, run.stdout[-2000:]
    assert "parent woke True" in run.lines
    assert "child killed by 9" in run.lines


def test_busy_threads_both_progress(disk):
    # CPython hands the GIL over when a waiting thread requests it, which it
    # can only do when it gets the CPU.
    run = run_kernel("-c", BUSY_THREADS, disk=disk)
    assert run.status == 0, run.stdout[-2000:]
    assert "main counted True" in run.lines
    assert "worker counted True" in run.lines


# Eight runs of one program: a main thread that sleeps 0.2 s while two or
# three daemon threads loop. Each run is a fresh interpreter that the previous
# run's main thread execs, so no other task runs meanwhile. Waiting for the
# GIL, the main thread makes 5 ms timed futex waits. When timeouts ended only
# at the 10 ms timer tick, the GIL went to a busy thread at every hand-over:
# in two of four boots the first run never printed "woke" and SIGALRM ended
# it.
SLEEP_AMONG_BUSY_THREADS = r"""
import os, sys

CHILD = '''
import os, signal, sys, threading, time

RUNS = [(threads, run) for threads in (2, 3) for run in range(4)]
index = int(sys.argv[1])
threads, run = RUNS[index]
# Without a handler, SIGALRM ends the program if the main thread never wakes.
signal.alarm(20)

def busy():
    while True:
        pass

for _ in range(threads):
    threading.Thread(target=busy, daemon=True).start()
print(threads, "threads run", run, "started", flush=True)
time.sleep(0.2)
print(threads, "threads run", run, "woke", flush=True)
if index + 1 < len(RUNS):
    os.execv(sys.executable, [sys.executable, sys.argv[0], str(index + 1)])
'''

path = "/tmp/sleep_among_busy_threads.py"
with open(path, "w") as file:
    file.write(CHILD)
os.execv(sys.executable, [sys.executable, path, "0"])
"""


def test_main_thread_wakes_among_busy_threads(disk):
    run = run_kernel("-c", SLEEP_AMONG_BUSY_THREADS, disk=disk)
    assert run.status == 0, run.stdout[-2000:]
    for threads in (2, 3):
        for index in range(4):
            assert f"{threads} threads run {index} started" in run.lines, run.stdout[-2000:]
            assert f"{threads} threads run {index} woke" in run.lines, run.stdout[-2000:]


POOL_MAP = r"""
import multiprocessing

def square(x):
    return x * x

if __name__ == "__main__":
    with multiprocessing.Pool(2) as pool:
        print("map", pool.map(square, range(10)))
"""


def test_multiprocessing_pool_map(disk):
    # The pool's result handler threads wait in ppoll while the workers run.
    run = run_kernel("-c", POOL_MAP, disk=disk, timeout=200)
    assert run.status == 0, run.stdout[-2000:]
    assert "map [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]" in run.lines
