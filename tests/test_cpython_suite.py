"""Modules of CPython's own test suite that pass under the kernel, run with
`python3.11 -m test` as CPython's developers run them."""

from conftest import run_kernel

# Signals (handlers, masks, sigwait, interval timers, SA_RESTART), threads
# (locks, conditions, events, thread exit) and memory-mapped files (shared
# file mappings, flush, resize, files of 2 and 4 GiB).
SUITE = ["test_signal", "test_threading", "test_mmap"]


def test_cpython_modules_pass(disk):
    run = run_kernel("-m", "test", *SUITE, disk=disk, timeout=900)
    tail = run.stdout[-3000:]
    assert run.status == 0, tail
    assert f"All {len(SUITE)} tests OK." in run.lines, tail
    assert "Tests result: SUCCESS" in run.lines, tail
