"""The stdlib import test: test___all__.py passes cold and warm, as on Linux."""

import re
import subprocess

from conftest import e2fsck_clean, run_kernel, run_reference

TEST_ALL = "lib/python3.11/test/test___all__.py"
PYCACHE = "/opt/python3.11/lib/python3.11/__pycache__"
# test___all__ takes about a minute cold under QEMU's emulation.
TIMEOUT = 900


def is_unittest_report(line: str) -> bool:
    """Tell whether `line` is unittest's report, which goes to stderr."""
    return (line in ("", ".", "-" * 70, "OK")
            or re.fullmatch(r"Ran 1 test in [0-9.]+s", line) is not None)


def module_lines(output: str) -> list[str]:
    """Return the module names and summaries test___all__ prints to stdout.

    The kernel's console carries stdout and stderr together, the reference
    keeps them apart, so unittest's report lines are left out of both.
    """
    return [line for line in output.splitlines() if not is_unittest_report(line)]


def pycache_listing(disk) -> list[str]:
    """List the stdlib's __pycache__ on `disk` with inode numbers and times.

    A .pyc file that Python rewrote (write to a temporary name, then rename)
    gets a new inode, so two equal listings mean nothing was rewritten.
    """
    proc = subprocess.run(["debugfs", "-R", f"ls -l {PYCACHE}", str(disk)],
                          capture_output=True, text=True, check=True)
    return sorted(line.strip() for line in proc.stdout.splitlines()
                  if ".pyc" in line)


def test_all_cold_and_warm_match_linux(disk):
    linux = run_reference(TEST_ALL, timeout=TIMEOUT)
    assert linux.status == 0, linux.stderr[-2000:]

    cold = run_kernel(TEST_ALL, disk=disk, timeout=TIMEOUT)
    assert cold.status == 0, cold.stderr[-2000:]
    assert cold.lines[-1] == "OK"
    assert re.fullmatch(r"Ran 1 test in [0-9.]+s", cold.lines[-3])
    expected = module_lines(linux.stdout)
    assert len(expected) > 1000
    assert module_lines(cold.stdout) == expected

    written = pycache_listing(disk)
    assert len(written) > 100, "the cold run wrote no .pyc files"

    warm = run_kernel(TEST_ALL, disk=disk, timeout=TIMEOUT)
    assert warm.status == 0, warm.stderr[-2000:]
    assert warm.lines[-1] == "OK"
    assert module_lines(warm.stdout) == expected
    assert pycache_listing(disk) == written

    clean, report = e2fsck_clean(disk)
    assert clean, report
