"""Modules of CPython's own test suite that pass under the kernel, run with
`python3.11 -m test` as CPython's developers run them."""

from conftest import run_kernel

# Signals (handlers, masks, sigwait, interval timers, SA_RESTART), threads
# (locks, conditions, events, thread exit) and memory-mapped files (shared
# file mappings, flush, resize, files of 2 and 4 GiB).
SUITE = ["test_signal", "test_threading", "test_mmap"]

# Files, directories and the OS interface: file objects, stat, glob,
# shutil, tempfile, pathlib, select and selectors, resource limits, the
# _thread module, time (CPU clocks and process_time included), sched.
FILE_AND_OS_SUITE = [
    "test_fileio", "test_file", "test_stat", "test_glob", "test_shutil", "test_tempfile",
    "test_pathlib", "test_select", "test_selectors", "test_resource", "test_thread", "test_time",
    "test_genericpath", "test_sched",
]


def run_suite(modules: list[str], disk) -> None:
    run = run_kernel("-m", "test", *modules, disk=disk, timeout=900)
    tail = run.stdout[-3000:]
    assert run.status == 0, tail
    assert f"All {len(modules)} tests OK." in run.lines, tail
    assert "Tests result: SUCCESS" in run.lines, tail


def test_cpython_modules_pass(disk):
    run_suite(SUITE, disk)


def test_cpython_file_and_os_modules_pass(disk):
    run_suite(FILE_AND_OS_SUITE, disk)
