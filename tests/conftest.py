"""Fixtures for tests that boot the kernel under QEMU.

Each test boots a fresh copy of the cached root image (never the persistent
working disk), so tests do not see each other's files. The Linux reference
(`scripts/reference.py`, qemu-aarch64 user mode on the same userland) gives
the expected output where a test compares with Linux.
"""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "scripts" / "qemu_run.py"
REFERENCE = ROOT / "scripts" / "reference.py"
FRESH_DISK = ROOT / "images" / "fresh-disk.sh"
# The QEMU tests boot the errno-checked kernel (`just kernel checked`), built
# into its own folder so that the user's release kernel stays unchecked.
CHECKED_KERNEL = (ROOT / "target" / "checked" / "aarch64-unknown-none-softfloat"
                  / "release" / "starry-python-kernel.bin")
# The line the checked kernel logs when a syscall fails with an errno that
# its spec entry does not list (syscall_abi::trace::CONTRACT_VIOLATION).
CONTRACT_VIOLATION = "errno contract violation:"

# Seconds a single boot may take before the runner gives up. A cold
# `import json, decimal, ...` under QEMU's emulation takes tens of seconds.
BOOT_TIMEOUT = int(os.environ.get("QEMU_TEST_TIMEOUT", "300"))


# Python source for guest scripts: `attempt(label, call, *args)` prints the
# label with the call's result ("ok" for None) or with the errno name of
# the OSError it raised.
ATTEMPT = r"""
import errno

def attempt(label, call, *args):
    try:
        result = call(*args)
        print(label, "ok" if result is None else result)
    except OSError as e:
        print(label, errno.errorcode[e.errno])
"""


@dataclass
class Run:
    status: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


def _normalise(raw: bytes) -> str:
    # The console turns "\n" into "\r\n" as a Linux tty with ONLCR does.
    return raw.decode("utf-8", "replace").replace("\r\n", "\n")


def run_kernel(*args: str, disk: Path, timeout: int = BOOT_TIMEOUT,
               stdin: bytes = b"", log: str | None = "warn",
               init: str | None = None, runner_options: list[str] = ()) -> Run:
    """Boot the kernel on `disk` with Python's arguments `args`.

    The kernel logs at `log`; the default, warn, keeps the boot lines out of
    Python's output, and None leaves the runner's own default. `init` names
    another program than python3.11 to start, with `args` as its arguments.
    `runner_options` go to scripts/qemu_run.py.
    """
    cmd = [sys.executable, str(RUNNER), "--kernel", str(CHECKED_KERNEL),
           "--disk", str(disk), "--timeout", str(timeout)]
    if log is not None:
        cmd += ["--log", log]
    if init is not None:
        cmd += ["--init", init]
    cmd += runner_options
    proc = subprocess.run(cmd + ["--", *args], input=stdin,
                          capture_output=True, timeout=timeout + 60)
    run = Run(proc.returncode, _normalise(proc.stdout), _normalise(proc.stderr))
    violations = [line for line in (run.stdout + run.stderr).splitlines()
                  if CONTRACT_VIOLATION in line]
    if violations:
        pytest.fail("the kernel returned errnos that the spec does not list:\n"
                    + "\n".join(violations))
    return run


def run_reference(*args: str, timeout: int = BOOT_TIMEOUT) -> Run:
    """Run Python with `args` on Linux (qemu-aarch64 user mode)."""
    proc = subprocess.run([sys.executable, str(REFERENCE), *args],
                          input=b"", capture_output=True, timeout=timeout)
    return Run(proc.returncode, _normalise(proc.stdout), _normalise(proc.stderr))


def compare_with_linux(script: str, disk: Path) -> list[str]:
    """Run `python3.11 -c script` on the Linux reference and on the kernel.

    Both must exit with 0, and the kernel's output must end with the
    reference's lines. Returns those lines."""
    linux = run_reference("-c", script)
    assert linux.status == 0, linux.stderr
    expected = linux.stdout.splitlines()
    assert expected, "the reference printed nothing"
    ours = run_kernel("-c", script, disk=disk)
    assert ours.status == 0, ours.stdout[-2000:]
    assert ours.lines[-len(expected):] == expected
    return expected


@pytest.fixture(scope="session")
def built():
    """Build the checked kernel and the root image once per test session."""
    for recipe in (["kernel", "checked"], ["image"]):
        proc = subprocess.run(["just", *recipe], cwd=ROOT,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.fail(f"`just {' '.join(recipe)}` failed:\n{proc.stdout}\n{proc.stderr}")


@pytest.fixture
def disk(built, tmp_path) -> Path:
    """A fresh copy of the root image for one test."""
    path = tmp_path / "disk.img"
    subprocess.run(["bash", str(FRESH_DISK), str(path)], check=True,
                   capture_output=True)
    return path


def e2fsck_clean(disk: Path) -> tuple[bool, str]:
    """Check `disk` read-only with e2fsck; return (clean, report)."""
    e2fsck = shutil.which("e2fsck") or "/usr/sbin/e2fsck"
    proc = subprocess.run([e2fsck, "-fn", str(disk)], capture_output=True,
                          text=True)
    return proc.returncode == 0, proc.stdout + proc.stderr
