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
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = "aarch64-unknown-none-softfloat"
KERNEL_ELF = ROOT / "target" / TARGET / "release" / "starry-python-kernel"
KERNEL_BIN = KERNEL_ELF.with_name("starry-python-kernel.bin")
GUEST_ENV = ROOT / "images" / "guest-env"
PYTHON = "/opt/python3.11/bin/python3.11"
PYTHON_CWD = "/opt/python3.11"

# Seconds before QEMU is killed when stdin is not a terminal (tests, pipes).
DEFAULT_TIMEOUT = 900.0

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
    disk = parser.add_mutually_exclusive_group()
    disk.add_argument("--disk", type=Path,
                      help="disk image to boot, used in place (default: the persistent "
                           "working disk from images/image.sh disk)")
    disk.add_argument("--fresh-disk", action="store_true",
                      help="boot a fresh copy of the cached image, deleted afterwards")
    parser.add_argument("--timeout", type=float,
                        help="seconds before QEMU is killed with status 124 (default: none "
                             f"when stdin is a terminal, else {DEFAULT_TIMEOUT:g}; "
                             "0 means none; QEMU_TIMEOUT sets it too)")
    parser.add_argument("--log", default=os.environ.get("LOG", "info"),
                        choices=["off", "error", "warn", "info", "debug", "trace"],
                        help="kernel log level (default: info, a few boot lines; or $LOG)")
    parser.add_argument("--no-build", action="store_true",
                        help="do not rebuild the kernel or the image first")
    parser.add_argument("--kernel", type=Path,
                        help="raw kernel image to boot instead of the release build; "
                             "implies --no-build (the QEMU tests pass the checked kernel, "
                             "target/checked/aarch64-unknown-none-softfloat/release/"
                             "starry-python-kernel.bin)")
    parser.add_argument("--memory", default="1G",
                        help="guest memory (default: 1G, the size the kernel is configured for)")
    parser.add_argument("--init", default=PYTHON, metavar="PATH",
                        help=f"program to run as init, an absolute path on the disk; the "
                             f"arguments after `--` go to it (default: {PYTHON})")
    parser.add_argument("--cols", type=positive_int, metavar="N",
                        help="console width in columns that the guest's TIOCGWINSZ reports "
                             "(default: the host terminal's when stdin is a terminal, else 80)")
    parser.add_argument("--rows", type=positive_int, metavar="N",
                        help="console height in rows (default: the host terminal's when "
                             "stdin is a terminal, else 24)")
    parser.add_argument("--stats", action="store_true",
                        help="make the kernel print `starry-stats:` lines: a marker at the "
                             "first user instruction, and syscall, page-fault and memory "
                             "counters when init exits")
    parser.add_argument("--profile", type=profile_rate, metavar="HZ",
                        help="sample the kernel HZ times a second and print `starry-profile:` "
                             "lines at init's exit (`just profile` names the addresses)")
    return parser.parse_args(options)


def int_in_range(kind: str, low: int, high: int):
    """Return an argparse type that parses a whole number from `low` to
    `high`; `kind` names the value in error messages."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind} {text!r}: expected a whole number")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"invalid {kind} {value}: expected {low} to {high}")
        return value
    return parse


# --profile: samples per second, the range the kernel accepts.
profile_rate = int_in_range("rate", 1, 100_000)
# --cols and --rows: a window dimension.
positive_int = int_in_range("size", 1, 65535)


def window_size(opts: argparse.Namespace) -> tuple[int | None, int | None]:
    """Return the (columns, rows) to pass to the kernel: the options, else the
    host terminal's size when stdin is a terminal, else None for the kernel's
    default of 80x24."""
    cols, rows = opts.cols, opts.rows
    if (cols is None or rows is None) and sys.stdin.isatty():
        try:
            size = os.get_terminal_size(sys.stdin.fileno())
        except OSError:
            size = None
        if size is not None and size.columns > 0 and size.lines > 0:
            cols = cols or min(size.columns, 65535)
            rows = rows or min(size.lines, 65535)
    return cols, rows


def fail(message: str, status: int) -> None:
    print(f"qemu-aarch64: {message}", file=sys.stderr)
    sys.exit(status)


def run_step(description: str, cmd: list[str]) -> str:
    """Run a build step quietly; on failure show its output and exit with its status."""
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        fail(f"{description} failed (exit status {proc.returncode}): {' '.join(cmd)}",
             proc.returncode)
    return proc.stdout.strip()


def build_kernel() -> None:
    """Build the kernel (cargo skips the work when nothing changed) and convert
    it to the raw image QEMU boots."""
    run_step("building the kernel",
             ["cargo", "build", "--release", "--target", TARGET, "-p", "starry-python-kernel"])
    if KERNEL_BIN.exists() and KERNEL_BIN.stat().st_mtime >= KERNEL_ELF.stat().st_mtime:
        return
    sysroot = run_step("finding the Rust sysroot", ["rustc", "--print", "sysroot"])
    host = next(line.split()[1] for line in
                run_step("finding the Rust host", ["rustc", "-vV"]).splitlines()
                if line.startswith("host:"))
    objcopy = Path(sysroot) / "lib" / "rustlib" / host / "bin" / "llvm-objcopy"
    run_step("converting the kernel to a raw image",
             [str(objcopy), "--strip-all", "-O", "binary", str(KERNEL_ELF), str(KERNEL_BIN)])


def hex_list(items: list[str]) -> str:
    return ",".join(item.encode("utf-8", "surrogateescape").hex() for item in items)


def read_guest_env() -> list[str]:
    if not GUEST_ENV.exists():
        fail(f"{GUEST_ENV.relative_to(ROOT)} is missing; the image scripts create it", 2)
    lines = GUEST_ENV.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def bootargs(python_args: list[str], log: str, init: str = PYTHON, stats: bool = False,
             cols: int | None = None, rows: int | None = None,
             profile_hz: int | None = None) -> str:
    argv = [init, *python_args]
    append = (f"init={init} cwd={PYTHON_CWD} argv={hex_list(argv)} "
              f"env={hex_list(read_guest_env())} log={log}")
    if cols is not None:
        append += f" cols={cols}"
    if rows is not None:
        append += f" rows={rows}"
    if profile_hz is not None:
        append += f" profile={profile_hz}"
    return append + " stats=on" if stats else append


def qemu_command(disk: Path, append: str, memory: str,
                 kernel: Path = KERNEL_BIN) -> list[str]:
    return [
        "qemu-system-aarch64",
        "-machine", "virt", "-cpu", "cortex-a72", "-smp", "1", "-m", memory,
        "-display", "none", "-monitor", "none", "-nic", "none",
        # signal=off passes Ctrl-C to the guest's console instead of killing QEMU.
        "-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console",
        "-semihosting-config", "enable=on,target=native",
        "-kernel", str(kernel),
        "-append", append,
        "-drive", f"file={disk},format=raw,if=none,id=disk0",
        "-device", "virtio-blk-device,drive=disk0",
    ]


def explain(status: int) -> str | None:
    """Return a one-line reason for a status that Python did not choose."""
    if status == STATUS_PANIC:
        return "kernel panic (the kernel printed the message above)"
    if status == STATUS_BOOT_FAILURE:
        return "boot failure (the kernel printed the reason above)"
    if 128 < status < 128 + 65:
        number = status - 128
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = "?"
        return f"init killed by signal {number} ({name})"
    return None


def choose_timeout(opts: argparse.Namespace) -> float | None:
    timeout = opts.timeout
    if timeout is None and os.environ.get("QEMU_TIMEOUT"):
        timeout = float(os.environ["QEMU_TIMEOUT"])
    if timeout is None:
        timeout = None if sys.stdin.isatty() else DEFAULT_TIMEOUT
    return timeout or None


class Stopped(Exception):
    """SIGTERM or SIGHUP reached the runner.

    Raising it, rather than dying of the signal, runs the cleanup of the
    `with` blocks: QEMU is killed and a `--fresh-disk` copy is removed.
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def raise_stopped(signum: int, _frame) -> None:
    raise Stopped(signum)


def run_qemu(cmd: list[str], timeout: float | None) -> int:
    proc = subprocess.Popen(cmd)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        print(f"\nqemu-aarch64: timeout: no exit after {timeout:g} s, QEMU killed "
              f"(status {STATUS_TIMEOUT})", file=sys.stderr)
        return STATUS_TIMEOUT
    except KeyboardInterrupt:
        proc.kill()
        proc.wait()
        return 128 + signal.SIGINT
    except Stopped as stop:
        proc.kill()
        proc.wait()
        return 128 + stop.signum


def main() -> int:
    options, python_args = split_arguments(sys.argv[1:])
    opts = parse_runner_options(options)
    if shutil.which("qemu-system-aarch64") is None:
        fail("qemu-system-aarch64 not found; run `just setup`", 2)

    kernel = KERNEL_BIN
    if opts.kernel is not None:
        kernel = opts.kernel.resolve()
        if not kernel.exists():
            fail(f"kernel image {kernel} not found; run `just kernel checked` for the "
                 "checked build", 2)
    elif not opts.no_build:
        build_kernel()
    elif not KERNEL_BIN.exists():
        fail(f"{KERNEL_BIN.relative_to(ROOT)} is missing; run `just kernel`", 2)
    if not opts.init.startswith("/"):
        fail(f"--init {opts.init}: expected an absolute path", 2)
    cols, rows = window_size(opts)
    append = bootargs(python_args, opts.log, opts.init, opts.stats, cols, rows, opts.profile)
    timeout = choose_timeout(opts)

    if opts.disk:
        if not opts.disk.exists():
            fail(f"disk image {opts.disk} not found", 2)
        return report(run_qemu(qemu_command(opts.disk, append, opts.memory, kernel), timeout))
    if opts.fresh_disk:
        with tempfile.TemporaryDirectory(prefix="starry-disk-") as tmp:
            disk = Path(run_step("copying the image", [
                "bash", "images/image.sh", "fresh-disk", str(Path(tmp) / "disk.img")
            ]).splitlines()[-1])
            return report(run_qemu(qemu_command(disk, append, opts.memory, kernel), timeout))
    disk = Path(run_step("preparing the working disk",
                         ["bash", "images/image.sh", "disk"]).splitlines()[-1])
    return report(run_qemu(qemu_command(disk, append, opts.memory, kernel), timeout))


def report(status: int) -> int:
    reason = explain(status)
    if reason:
        print(f"qemu-aarch64: {reason} (status {status})", file=sys.stderr)
    return status


if __name__ == "__main__":
    # A closed terminal (pexpect's `terminate`, a closed ssh session) sends
    # SIGHUP; `kill` and timeouts send SIGTERM.
    signal.signal(signal.SIGHUP, raise_stopped)
    signal.signal(signal.SIGTERM, raise_stopped)
    try:
        sys.exit(main())
    except Stopped as stop:
        sys.exit(128 + stop.signum)
