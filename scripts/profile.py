#!/usr/bin/env python3
"""Profile the kernel while Python runs: where does kernel time go?

Usage: scripts/profile.py [--hz N] [--top N] [--elf ELF] [RUNNER OPTIONS --] [PYTHON ARGS...]
       scripts/profile.py --saved FILE [--elf ELF] [--top N]

Boots the release kernel with `profile=N` (scripts/qemu_run.py --profile),
passes the guest's output through, and then prints, from the kernel's
`starry-profile:` lines:

- the share of samples in user mode, in the kernel and in the idle task;
- kernel time by syscall (the `syscall_abi::calls::<name>` frame of the
  sample), page fault, or other;
- the kernel functions with the most samples of their own (the interrupted
  PC) and with the most samples in total (anywhere in the stack).

This script's options and the runner options (--disk, --fresh-disk,
--kernel, --log LEVEL, --timeout, ...) go before a `--`, in any order, as
for `just qemu-aarch64`. Without a `--`, only leading options are this
script's, and the rest goes to Python. With --saved, an earlier run's
output (`scripts/qemu_run.py --profile N`) is read instead of booting. See
docs/benchmarks.md, section "Kernel profile".

The timer interrupt takes the samples, so time with interrupts masked is
counted at the instruction that unmasks them. The exception entry of a
syscall is counted in "syscall entry". Page faults run masked and return
straight to user mode, so they count as user time (the `--stats` counters
of `just bench` time them instead).
"""

from __future__ import annotations

import argparse
import bisect
import collections
import re
import subprocess
import sys
from pathlib import Path

import qemu_run

DEFAULT_HZ = 1000
LINE = re.compile(r"starry-profile: (\d+) ([0-9a-f,]+)$")
HEADER = re.compile(r"starry-profile: hz=(\d+) user=(\d+) kernel=(\d+) dropped=(\d+)")
SYSCALL_FRAME = re.compile(r"^syscall_abi::calls::(\w+)::<")
FAULT_FUNCTIONS = ("handle_page_fault", "populate_page")
IDLE_FUNCTION = "axtask::api::run_idle"


def llvm_tool(name: str) -> str:
    sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True,
                             check=True).stdout.strip()
    host = re.search(r"^host: (\S+)$", subprocess.run(["rustc", "-vV"], capture_output=True,
                                                      text=True, check=True).stdout, re.M)
    return str(Path(sysroot) / "lib" / "rustlib" / host.group(1) / "bin" / name)


class Symbols:
    """The kernel's function symbols, by address."""

    def __init__(self, elf: Path):
        out = subprocess.run([llvm_tool("llvm-nm"), "-n", "-C", "--defined-only", str(elf)],
                             capture_output=True, text=True, check=True).stdout
        self.starts: list[int] = []
        self.names: list[str] = []
        for line in out.splitlines():
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[1] in ("t", "T"):
                self.starts.append(int(parts[0], 16))
                self.names.append(parts[2])

    def name(self, address: int) -> str:
        index = bisect.bisect_right(self.starts, address) - 1
        return self.names[index] if index >= 0 else f"{address:#x}"


class Profile:
    def __init__(self) -> None:
        self.hz = 0
        self.user = 0
        self.kernel = 0
        self.dropped = 0
        self.stacks: list[tuple[int, list[int]]] = []

    def read(self, lines: list[str]) -> None:
        for line in lines:
            line = line.rstrip("\r\n")
            if header := HEADER.search(line):
                self.hz, self.user, self.kernel, self.dropped = map(int, header.groups())
            elif sample := LINE.search(line):
                addresses = [int(part, 16) for part in sample.group(2).split(",")]
                self.stacks.append((int(sample.group(1)), addresses))


def frames(symbols: Symbols, addresses: list[int]) -> list[str]:
    """Names of a stack's functions, innermost first. Return addresses are
    looked up one byte back, inside the call instruction."""
    return [symbols.name(address if index == 0 else address - 1)
            for index, address in enumerate(addresses)]


def category(names: list[str]) -> str:
    for name in names:
        if call := SYSCALL_FRAME.match(name):
            return f"syscall {call.group(1)}"
    if any(function in name for name in names for function in FAULT_FUNCTIONS):
        return "page fault"
    if any(name == IDLE_FUNCTION for name in names):
        return "idle"
    if any(name.endswith("::handle_syscall") for name in names):
        # Mostly the exception entry: its time, with interrupts masked, is
        # counted where the syscall path unmasks them.
        return "syscall entry, decoding and exit"
    return "other: " + (names[-1] if names else "?")


def print_table(title: str, counts: collections.Counter, total: int, kernel: int, top: int) -> None:
    print(f"\n{title}")
    print(f"{'samples':>8} {'% all':>6} {'% kernel':>8}  name")
    for name, count in counts.most_common(top):
        print(f"{count:8} {100 * count / total:6.1f} {100 * count / max(kernel, 1):8.1f}  {name}")


def report(profile: Profile, symbols: Symbols, top: int) -> int:
    if profile.hz == 0:
        print("profile: no `starry-profile:` lines in the output (did init exit?)", file=sys.stderr)
        return 1
    total = profile.user + profile.kernel
    by_category: collections.Counter = collections.Counter()
    by_self: collections.Counter = collections.Counter()
    by_total: collections.Counter = collections.Counter()
    for count, addresses in profile.stacks:
        names = frames(symbols, addresses)
        by_category[category(names)] += count
        by_self[names[0]] += count
        for name in set(names):
            by_total[name] += count
    idle = by_category.get("idle", 0)
    print(f"\nkernel profile: {total} samples at {profile.hz} Hz ({total / profile.hz:.2f} s)")
    print(f"  user mode {100 * profile.user / total:5.1f}%   kernel {100 * profile.kernel / total:5.1f}%"
          f" (idle {100 * idle / total:.1f}%)"
          + (f"   dropped {profile.dropped}" if profile.dropped else ""))
    print_table("kernel time by syscall", by_category, total, profile.kernel, top)
    print_table("kernel functions, own samples (the interrupted PC)", by_self, total, profile.kernel, top)
    print_table("kernel functions, all samples (anywhere in the stack)", by_total, total, profile.kernel, top)
    return 0


OWN_OPTIONS = ("--hz", "--top", "--saved", "--elf")


def is_own(item: str) -> bool:
    return item in ("-h", "--help") or item.split("=")[0] in OWN_OPTIONS


def split_own_options(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split off this script's options (each with its value): all of them
    before a `--`, or the leading ones when there is none. The rest goes to
    qemu_run.py as it is."""
    own: list[str] = []
    rest: list[str] = []
    cut = argv.index("--") if "--" in argv else None
    index = 0
    while index < len(argv):
        item = argv[index]
        if (cut is None and rest) or (cut is not None and index >= cut) or not is_own(item):
            rest.append(item)
            index += 1
            continue
        takes_value = item in OWN_OPTIONS
        own += argv[index:index + 2] if takes_value else [item]
        index += 2 if takes_value else 1
    return own, rest


def kernel_elf(runner_options: list[str]) -> Path:
    """Return the ELF beside the raw image that the runner boots
    (`--kernel X.bin` gives X), else the release kernel's."""
    for index, option in enumerate(runner_options):
        if option == "--kernel" and index + 1 < len(runner_options):
            return Path(runner_options[index + 1]).with_suffix("")
        if option.startswith("--kernel="):
            return Path(option.split("=", 1)[1]).with_suffix("")
    return qemu_run.KERNEL_ELF


def main() -> int:
    own, rest = split_own_options(sys.argv[1:])
    parser = argparse.ArgumentParser(
        prog="profile.py", description="Profile the kernel while Python runs.",
        usage="%(prog)s [--hz N] [--top N] [--elf ELF] [--saved FILE] "
              "[runner options --] [python arguments...]",
        allow_abbrev=False)
    parser.add_argument("--hz", type=int, default=DEFAULT_HZ,
                        help=f"samples per second, 1 to 100000 (default {DEFAULT_HZ})")
    parser.add_argument("--top", type=int, default=25, help="rows per table (default 25)")
    parser.add_argument("--saved", type=Path, metavar="FILE",
                        help="read a saved run's output instead of booting")
    parser.add_argument("--elf", type=Path,
                        help="the kernel ELF whose symbols name the addresses (default: the "
                             "runner's --kernel without `.bin`, else the release kernel)")
    opts = parser.parse_args(own)
    if not 1 <= opts.hz <= 100_000:
        parser.error(f"--hz {opts.hz}: expected 1 to 100000")
    if opts.top < 1:
        parser.error(f"--top {opts.top}: expected 1 or more")
    runner_options, python_args = qemu_run.split_arguments(rest)
    elf = opts.elf or kernel_elf(runner_options)

    if opts.saved:
        try:
            lines = opts.saved.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as err:
            print(f"profile: cannot read --saved {opts.saved}: {err.strerror}", file=sys.stderr)
            return 2
        status = 0
    else:
        cmd = [sys.executable, str(Path(__file__).with_name("qemu_run.py")),
               *runner_options, "--profile", str(opts.hz), "--", *python_args]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, errors="replace")
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "starry-profile:" not in line:
                sys.stdout.write(line)
        status = proc.wait()
    profile = Profile()
    profile.read(lines)
    if status != 0 and profile.hz == 0:
        print(f"profile: the run ended with status {status} before the kernel printed "
              "its samples", file=sys.stderr)
        return status
    if not elf.exists():
        hint = "" if opts.elf else "; run `just kernel`"
        print(f"profile: kernel ELF {elf} not found{hint}", file=sys.stderr)
        return 2
    return report(profile, Symbols(elf), opts.top) or status


if __name__ == "__main__":
    sys.exit(main())
