"""Threads of a process that ends: exit_group ends every thread, and the
status the parent sees is the one exit_group passed."""

from conftest import compare_with_linux, run_kernel, run_reference

EXIT_WITH_THREADS = r"""
import os, sys, threading, time

def busy():
    while True:
        pass

def blocked():
    threading.Event().wait()

for round in range(3):
    sys.stdout.flush()
    child = os.fork()
    if child == 0:
        threading.Thread(target=busy, daemon=True).start()
        threading.Thread(target=blocked, daemon=True).start()
        time.sleep(0.2)
        os._exit(3)
    _, status = os.waitpid(child, 0)
    print("round", round, "exit status", os.waitstatus_to_exitcode(status), flush=True)

# The busy threads are gone: this process gets the CPU back at once.
start = time.monotonic()
for _ in range(200000):
    pass
print("parent runs", time.monotonic() - start < 30)
"""


def test_exit_group_ends_all_threads(disk):
    linux = run_reference("-c", EXIT_WITH_THREADS)
    assert linux.status == 0, linux.stderr
    ours = run_kernel("-c", EXIT_WITH_THREADS, disk=disk, timeout=200)
    assert ours.status == 0, ours.stdout[-2000:]
    for round in range(3):
        assert f"round {round} exit status 3" in ours.lines
    assert "parent runs True" in ours.lines
    assert ours.lines[-4:] == linux.lines[-4:]


SIGWAIT_FROM_THREAD = r"""
import os, signal, threading, time

# Every thread blocks SIGUSR1; a second thread sends it to the process while
# the main thread waits for it in sigwait.
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])

def kill_later():
    time.sleep(1)
    os.kill(os.getpid(), signal.SIGUSR1)

killer = threading.Thread(target=kill_later)
killer.start()
print("sigwait", signal.sigwait([signal.SIGUSR1]))
killer.join()
print("pending after", signal.sigpending())
"""


def test_process_signal_reaches_waiting_thread(disk):
    linux = run_reference("-c", SIGWAIT_FROM_THREAD)
    assert linux.status == 0, linux.stderr
    ours = run_kernel("-c", SIGWAIT_FROM_THREAD, disk=disk)
    assert ours.status == 0, ours.stdout[-2000:]
    assert "sigwait 10" in ours.lines
    assert "pending after set()" in ours.lines
    assert ours.lines[-2:] == linux.lines[-2:]


EXEC_WITH_THREADS = r"""
import os, sys, threading, time

def busy():
    while True:
        pass

for _ in range(2):
    threading.Thread(target=busy, daemon=True).start()
time.sleep(0.2)
os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(0.5); print('new program ran')"])
"""


def test_execve_ends_other_threads(disk):
    # Kernel only: the Linux reference (qemu-user) cannot execve Python.
    run = run_kernel("-c", EXEC_WITH_THREADS, disk=disk)
    assert run.status == 0, run.stdout[-2000:]
    assert "new program ran" in run.lines


BLOCKED_EVERYWHERE = r"""
import os, signal, threading
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
result = {}
ready = threading.Event()
sent = threading.Event()

def worker():
    # The worker inherits the mask, so every thread blocks SIGUSR1 when
    # the signal comes.
    ready.set()
    sent.wait()
    result["pending"] = signal.SIGUSR1 in signal.sigpending()
    info = signal.sigtimedwait({signal.SIGUSR1}, 5)
    result["took"] = info.si_signo if info else None

thread = threading.Thread(target=worker)
thread.start()
ready.wait()
os.kill(os.getpid(), signal.SIGUSR1)
sent.set()
thread.join()
print("pending in worker", result["pending"])
print("worker took", result["took"])
print("left for main", signal.sigpending())
"""


def test_blocked_process_signal_any_thread(disk):
    lines = compare_with_linux(BLOCKED_EVERYWHERE, disk)
    assert "pending in worker True" in lines
    assert "worker took 10" in lines
    assert "left for main set()" in lines
