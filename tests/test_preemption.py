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
