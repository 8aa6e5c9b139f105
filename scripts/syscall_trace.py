#!/usr/bin/env python3
"""Trace the syscalls of Python under the kernel, strace style.

Usage (`just trace ARGS` runs this script with ARGS):
  syscall_trace.py [OPTIONS] [--] PYTHON ARGS...  one strace line per call
  syscall_trace.py --summary [OPTIONS] [--] ARGS  the `strace -c` table and
                                                  coverage lines
  syscall_trace.py --compare [OPTIONS] [--] ARGS  calls and errors per syscall
                                                  next to Linux
                                                  (qemu-aarch64 -strace)
  syscall_trace.py analyse                        the four analysis runs
                                                  (`just analyse`); writes
                                                  docs/python-syscalls.md

Options come before Python's arguments (Python's own `-c` is never taken
for strace's `-c`, so the summary option is `--summary`):
  -e EXPR          strace's -e trace= filter: names and classes (%file,
                   %desc, %memory, %process, %signal, %network), `!` negates
  -o FILE          write the trace to FILE instead of standard error
  --stdin FILE     feed FILE to Python's standard input
  --timeout S      seconds before a run is killed (default 900)
  --kernel PATH    the raw kernel image to boot (default: the release
                   build, rebuilt first)
  --               end of these options

The kernel writes the trace to a host file through semihosting, so it
never mixes with the program's output. Without -o this script prints it to
standard error after the run. Each run boots a fresh copy of the root image.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))

import qemu_run  # noqa: E402
import reference  # noqa: E402

ROOT = SCRIPTS.parent
DEFAULT_TIMEOUT = 900.0
COUNT_PREFIX = "@count "
ANALYSIS_DOC = ROOT / "docs" / "python-syscalls.md"
SESSION_FILE = SCRIPTS / "interactive-session.txt"


@dataclass
class Options:
    mode: str = "lines"  # lines, summary or compare
    filter: str | None = None
    output: Path | None = None
    stdin: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    kernel: Path | None = None
    python_args: list[str] = field(default_factory=list)


def usage_error(message: str) -> None:
    print(f"trace: {message}\n(see scripts/syscall_trace.py --help)", file=sys.stderr)
    sys.exit(2)


def parse_options(argv: list[str]) -> Options:
    """Read the leading trace options; the rest goes to Python."""
    opts = Options()
    index = 0

    def value(name: str) -> str:
        nonlocal index
        if index + 1 >= len(argv):
            usage_error(f"{name} needs a value")
        index += 1
        return argv[index]

    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            index += 1
            break
        if arg in ("--help",):
            print(__doc__)
            sys.exit(0)
        if arg == "--summary":
            opts.mode = "summary"
        elif arg == "--compare":
            opts.mode = "compare"
        elif arg == "-e":
            opts.filter = value(arg)
        elif arg.startswith("-e") and len(arg) > 2:
            opts.filter = arg[2:]
        elif arg == "-o":
            opts.output = Path(value(arg)).resolve()
        elif arg == "--stdin":
            opts.stdin = Path(value(arg)).resolve()
        elif arg == "--timeout":
            opts.timeout = float(value(arg))
        elif arg == "--kernel":
            opts.kernel = Path(value(arg)).resolve()
        else:
            break
        index += 1
    opts.python_args = argv[index:]
    if opts.stdin is not None and not opts.stdin.is_file():
        usage_error(f"--stdin file {opts.stdin} not found")
    return opts


def hex_text(text: str) -> str:
    return text.encode("utf-8").hex()


def kernel_image(opts: Options) -> Path:
    if opts.kernel is not None:
        if not opts.kernel.is_file():
            usage_error(f"kernel image {opts.kernel} not found")
        return opts.kernel
    qemu_run.build_kernel()
    return qemu_run.KERNEL_BIN


def run_kernel(opts: Options, produce: list[str], out_file: Path,
               program_output=None) -> int:
    """Boot the kernel on a fresh disk with tracing on; returns the status.

    `produce` lists what the kernel writes to `out_file` (lines, summary,
    counts). Python's output goes to `program_output` (default: ours).
    """
    image = kernel_image(opts)
    append = qemu_run.bootargs(opts.python_args, os.environ.get("LOG", "warn"))
    append += f" trace={','.join(produce)} trace-out={hex_text(str(out_file))}"
    if opts.filter:
        append += f" trace-filter={hex_text(opts.filter)}"
    with tempfile.TemporaryDirectory(prefix="starry-trace-") as scratch:
        disk = Path(qemu_run.run_step("copying the image", [
            "bash", "images/image.sh", "fresh-disk", str(Path(scratch) / "disk.img")
        ]).splitlines()[-1])
        cmd = qemu_run.qemu_command(disk, append, "1G", image)
        return run_process(cmd, opts, program_output)


def run_process(cmd: list[str], opts: Options, program_output, cwd: Path | None = None) -> int:
    stdin = open(opts.stdin, "rb") if opts.stdin else None
    try:
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=program_output,
                                stderr=program_output, cwd=cwd)
        try:
            return proc.wait(timeout=opts.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            print(f"trace: timeout: no exit after {opts.timeout:g} s, killed", file=sys.stderr)
            return qemu_run.STATUS_TIMEOUT
    finally:
        if stdin:
            stdin.close()


def run_on_terminal(cmd: list[str], opts: Options, cwd: Path) -> int:
    """Run `cmd` with a pseudo-terminal as standard output and error (and
    input, unless --stdin gives a file), discarding what it prints. Under
    the kernel Python's standard streams are the serial console, a
    terminal, so this keeps isatty() and lseek() alike on both sides."""
    primary, secondary = pty.openpty()
    stdin = open(opts.stdin, "rb") if opts.stdin else secondary

    def drain() -> None:
        while True:
            try:
                if not os.read(primary, 65536):
                    return
            except OSError:
                return

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=secondary, stderr=secondary, cwd=cwd)
        os.close(secondary)
        try:
            return proc.wait(timeout=opts.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            print(f"trace: timeout: no exit after {opts.timeout:g} s, killed", file=sys.stderr)
            return qemu_run.STATUS_TIMEOUT
    finally:
        if opts.stdin:
            stdin.close()
        reader.join(timeout=5)
        os.close(primary)


def run_reference(opts: Options, log_file: Path) -> int:
    """Run Python on Linux (qemu-aarch64 user mode, a fresh copy of the
    image's root tree) with `-strace` logging to `log_file`."""
    root = reference.cached_root()
    with tempfile.TemporaryDirectory(prefix="starry-ref-") as scratch:
        fresh = Path(scratch) / "root"
        reference.copy_tree(root, fresh)
        command = [
            "env", "-i", *reference.read_guest_env(reference.GUEST_ENV),
            "qemu-aarch64", "-strace", "-D", str(log_file), "-L", str(fresh),
            f"{fresh}{reference.PYTHON_PREFIX}/bin/python3.11", *opts.python_args,
        ]
        status = run_on_terminal(command, opts, Path(f"{fresh}{reference.PYTHON_PREFIX}"))
    return 128 - status if status < 0 else status


@dataclass
class Counts:
    calls: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    nanos: int = 0

    def error_text(self) -> str:
        if not self.errors:
            return "-"
        return ", ".join(f"{name} x{count}" for name, count in sorted(self.errors.items()))


def parse_kernel_counts(text: str) -> dict[str, Counts]:
    """Read the kernel's `@count NAME CALLS ERRORS NANOS ERRNO=N...` lines."""
    counts: dict[str, Counts] = {}
    for line in text.splitlines():
        if not line.startswith(COUNT_PREFIX):
            continue
        name, calls, _errors, nanos, *errnos = line[len(COUNT_PREFIX):].split()
        entry = Counts(calls=int(calls), nanos=int(nanos))
        for item in errnos:
            errno_name, count = item.split("=")
            entry.errors[errno_name] = int(count)
        counts[name] = entry
    return counts


QEMU_CALL = re.compile(r"^\d+ (\w+)\((.*)\) = (.*)$")
QEMU_NORETURN = re.compile(r"^\d+ (exit|exit_group)\(")
QEMU_UNKNOWN = re.compile(r"^\d+ Unknown syscall (\d+)")
QEMU_ERROR = re.compile(r"^-1 errno=(\d+)")


def parse_qemu_strace(text: str) -> dict[str, Counts]:
    """Count the calls and errors of a `qemu-aarch64 -strace` log."""
    import errno as errno_names

    counts: dict[str, Counts] = {}
    for line in text.splitlines():
        if match := QEMU_CALL.match(line):
            name, result = match.group(1), match.group(3)
        elif match := QEMU_NORETURN.match(line):
            name, result = match.group(1), ""
        elif match := QEMU_UNKNOWN.match(line):
            # QEMU returns ENOSYS for a number it does not know.
            name, result = f"syscall_{match.group(1)}", "-1 errno=38"
        else:
            continue
        entry = counts.setdefault(name, Counts())
        entry.calls += 1
        if error := QEMU_ERROR.match(result):
            number = int(error.group(1))
            errno_name = errno_names.errorcode.get(number, f"E{number}")
            entry.errors[errno_name] = entry.errors.get(errno_name, 0) + 1
    return counts


def comparison_rows(linux: dict[str, Counts], ours: dict[str, Counts]) -> list[tuple]:
    """Rows (mark, name, linux counts, kernel counts), differences first."""
    rows = []
    for name in sorted(set(linux) | set(ours)):
        left, right = linux.get(name, Counts()), ours.get(name, Counts())
        differs = left.calls != right.calls or left.errors != right.errors
        rows.append(("*" if differs else "", name, left, right))
    rows.sort(key=lambda row: (row[0] != "*", row[1]))
    return rows


def comparison_table(rows: list[tuple]) -> str:
    lines = ["| differs | syscall | Linux calls | Linux errors | kernel calls | kernel errors |",
             "|---|---|---:|---|---:|---|"]
    for mark, name, left, right in rows:
        lines.append(f"| {mark} | {name} | {left.calls or '-'} | {left.error_text()} | "
                     f"{right.calls or '-'} | {right.error_text()} |")
    return "\n".join(lines) + "\n"


def split_kernel_output(text: str) -> tuple[str, str]:
    """Split the kernel's trace file into (human text, @count lines)."""
    human = [line for line in text.splitlines() if not line.startswith(COUNT_PREFIX)]
    counts = [line for line in text.splitlines() if line.startswith(COUNT_PREFIX)]
    return "\n".join(human) + "\n", "\n".join(counts) + "\n"


@dataclass
class Comparison:
    kernel_status: int
    linux_status: int
    summary: str
    rows: list[tuple]
    kernel_counts: dict[str, Counts]
    linux_counts: dict[str, Counts]


def compare(opts: Options) -> Comparison:
    """Run the command on Linux and on the kernel; count both sides."""
    with tempfile.TemporaryDirectory(prefix="starry-compare-") as scratch:
        kernel_out = Path(scratch) / "kernel-trace.txt"
        linux_log = Path(scratch) / "linux-strace.log"
        linux_status = run_reference(opts, linux_log)
        kernel_status = run_kernel(opts, ["summary", "counts"], kernel_out,
                                   subprocess.DEVNULL)
        kernel_text = kernel_out.read_text(errors="replace") if kernel_out.exists() else ""
        linux_text = linux_log.read_text(errors="replace") if linux_log.exists() else ""
    summary, count_lines = split_kernel_output(kernel_text)
    ours = parse_kernel_counts(count_lines)
    linux = parse_qemu_strace(linux_text)
    return Comparison(kernel_status, linux_status, summary,
                      comparison_rows(linux, ours), ours, linux)


def emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stderr.write(text)
    else:
        output.write_text(text)


def main_trace(opts: Options) -> int:
    if opts.mode == "compare":
        result = compare(opts)
        text = (f"exit status: Linux {result.linux_status}, kernel {result.kernel_status}\n\n"
                + comparison_table(result.rows))
        emit(text, opts.output)
        return result.kernel_status
    produce = ["summary"] if opts.mode == "summary" else ["lines"]
    with tempfile.TemporaryDirectory(prefix="starry-trace-") as scratch:
        out_file = opts.output or Path(scratch) / "trace.txt"
        status = run_kernel(opts, produce, out_file)
        if opts.output is None and out_file.exists():
            sys.stderr.write(out_file.read_text(errors="replace"))
    return status


def main() -> int:
    argv = sys.argv[1:]
    if argv[:1] == ["analyse"]:
        import analyse
        return analyse.main(argv[1:])
    return main_trace(parse_options(argv))


if __name__ == "__main__":
    sys.exit(main())
