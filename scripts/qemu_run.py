#!/usr/bin/env python3
"""Boot the kernel under qemu-system-aarch64 and run Python with the given arguments.

Usage: qemu_run.py [RUNNER OPTIONS --] [PYTHON ARGUMENTS...]

Runner options are read only before a `--`; without one, every argument goes
to Python unchanged, so `qemu_run.py -h` shows Python's usage text. The exit
status is Python's; docs/architecture.md lists the statuses the kernel and
this runner add (signals, panics, boot failures, timeouts).
"""

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KERNEL_BIN = ROOT / "target" / "aarch64-unknown-none-softfloat" / "release" / "starry-python-kernel.bin"
GUEST_ENV = ROOT / "images" / "guest-env"
PYTHON = "/opt/python3.11/bin/python3.11"
PYTHON_CWD = "/opt/python3.11"

STATUS_TIMEOUT = 124
STATUS_PANIC = 250
STATUS_BOOT_FAILURE = 251


def split_arguments(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split argv into (runner options, Python arguments) at the first `--`."""
    if "--" in argv:
        cut = argv.index("--")
        return argv[:cut], argv[cut + 1:]
    return [], argv


def parse_runner_options(options: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="qemu_run.py",
        usage="%(prog)s [options --] [python arguments...]")
    parser.add_argument("--disk", type=Path,
                        help="disk image to boot (default: the persistent working disk)")
    parser.add_argument("--timeout", type=float,
                        default=float(os.environ.get("QEMU_TIMEOUT", "0")) or None,
                        help="seconds before QEMU is killed with status 124 "
                             "(default: none; QEMU_TIMEOUT sets it too)")
    parser.add_argument("--log", default=os.environ.get("LOG", "warn"),
                        help="kernel log level: off, error, warn, info, debug, trace "
                             "(default: warn, or $LOG)")
    parser.add_argument("--no-build", action="store_true",
                        help="do not rebuild the kernel and the image first")
    parser.add_argument("--memory", default="1G", help="guest memory (default: 1G)")
    return parser.parse_args(options)


def run_step(description: str, cmd: list[str]) -> str:
    """Run a build step; on failure name it and exit with its status."""
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        print(f"qemu-aarch64: {description} failed (exit status {proc.returncode}): "
              f"{' '.join(cmd)}", file=sys.stderr)
        sys.exit(proc.returncode)
    return proc.stdout.strip()


def hex_list(items: list[str]) -> str:
    return ",".join(item.encode("utf-8").hex() for item in items)


def read_guest_env() -> list[str]:
    lines = GUEST_ENV.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def bootargs(python_args: list[str], log: str) -> str:
    argv = [PYTHON, *python_args]
    return (f"init={PYTHON} cwd={PYTHON_CWD} argv={hex_list(argv)} "
            f"env={hex_list(read_guest_env())} log={log}")


def qemu_command(disk: Path, append: str, memory: str) -> list[str]:
    return [
        "qemu-system-aarch64",
        "-machine", "virt", "-cpu", "cortex-a72", "-smp", "1", "-m", memory,
        "-display", "none", "-monitor", "none", "-nic", "none",
        # signal=off passes Ctrl-C to the guest's console instead of killing QEMU.
        "-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console",
        "-semihosting-config", "enable=on,target=native",
        "-kernel", str(KERNEL_BIN),
        "-append", append,
        "-drive", f"file={disk},format=raw,if=none,id=disk0",
        "-device", "virtio-blk-device,drive=disk0",
    ]


def explain(status: int) -> str | None:
    """Return a one-line reason for a status that Python did not choose."""
    if status == STATUS_PANIC:
        return "kernel panic"
    if status == STATUS_BOOT_FAILURE:
        return "boot failure"
    if 128 < status < 128 + 65:
        name = signal.Signals(status - 128).name if status - 128 in signal.valid_signals() else "?"
        return f"init killed by signal {status - 128} ({name})"
    return None


def main() -> int:
    options, python_args = split_arguments(sys.argv[1:])
    opts = parse_runner_options(options)

    if not opts.no_build:
        run_step("building the kernel", ["just", "kernel"])
        run_step("building the root image", ["just", "image"])
    disk = opts.disk or Path(run_step("preparing the working disk",
                                      ["bash", "images/disk.sh"]).splitlines()[-1])

    cmd = qemu_command(disk, bootargs(python_args, opts.log), opts.memory)
    proc = subprocess.Popen(cmd)
    try:
        status = proc.wait(timeout=opts.timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        print(f"\nqemu-aarch64: timeout: no exit after {opts.timeout:g} s, QEMU killed "
              f"(status {STATUS_TIMEOUT})", file=sys.stderr)
        return STATUS_TIMEOUT
    except KeyboardInterrupt:
        proc.kill()
        proc.wait()
        return 128 + signal.SIGINT

    reason = explain(status)
    if reason:
        print(f"qemu-aarch64: {reason} (status {status})", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
