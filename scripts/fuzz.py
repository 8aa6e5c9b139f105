#!/usr/bin/env python3
"""Build the syscall fuzzer (fuzz/) and run it on the kernel or on Linux.

Usage:
  scripts/fuzz.py kernel [--seed N] [--count N] [--timeout S] [--log LEVEL]
  scripts/fuzz.py linux [--seed N] [--count N] [--timeout S]
  scripts/fuzz.py compare [--seed N] [--count N] [--timeout S]

`kernel` boots the kernel on a fresh copy of a root image that has the
fuzzer in /usr/local/bin, with the fuzzer as init. `linux` boots Debian's
arm64 Linux kernel (the one bench/linux_baseline.py fetches) in the same
QEMU machine with an initramfs whose /init is the fuzzer. `compare` runs
both and prints a table of the syscalls whose results differ.

The JSON lines of each run are saved in target/fuzz/. The exit status is 0
when the run passed: QEMU exited with the fuzzer's status 0 (no check
failed), the fuzzer printed its final line, and the kernel printed no
panic and no `errno contract violation:` line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUZZ_DIR = ROOT / "fuzz"
TARGET = "aarch64-unknown-none-softfloat"
BINARY = FUZZ_DIR / "target" / TARGET / "release" / "starry-fuzz"
# The folder given to the image scripts as STARRY_IMAGE_EXTRA_BIN: it holds
# only the fuzzer, so the image gets only /usr/local/bin/starry-fuzz.
EXTRA_BIN = ROOT / "target" / "fuzz" / "image-bin"
RESULTS = ROOT / "target" / "fuzz"
GUEST_PATH = "/usr/local/bin/starry-fuzz"
CONTRACT_MARK = "errno contract violation:"
PANIC_MARK = "kernel panic"

sys.path.insert(0, str(ROOT / "bench"))


@dataclass
class RunResult:
    status: int
    lines: list[str]
    records: list[dict] = field(default_factory=list)

    @property
    def end(self) -> dict | None:
        return next((r for r in self.records if r.get("fuzz") == "end"), None)

    @property
    def violations(self) -> list[dict]:
        return [r for r in self.records if r.get("fuzz") == "violation"]

    @property
    def summary(self) -> dict[str, dict]:
        """Per-syscall summary records, keyed by name (or `nr:N`)."""
        table = {}
        for record in self.records:
            if record.get("fuzz") == "syscall":
                table[record["name"] or f"nr:{record['nr']}"] = record
        return table

    def problems(self) -> list[str]:
        """Return why the run failed; empty when it passed."""
        found = []
        if self.end is None:
            found.append(f"no final line from the fuzzer (status {self.status})")
        if self.status != 0:
            found.append(f"exit status {self.status}")
        contract = [line for line in self.lines if CONTRACT_MARK in line]
        if contract:
            found.append(f"{len(contract)} errno contract violations, first: {contract[0].strip()}")
        panics = [line for line in self.lines if PANIC_MARK in line]
        if panics:
            found.append(f"kernel panic: {panics[0].strip()}")
        if self.violations:
            found.append(f"{len(self.violations)} fuzzer check failures, first: {json.dumps(self.violations[0])}")
        return found


def parse_lines(status: int, output: str) -> RunResult:
    lines = output.replace("\r\n", "\n").splitlines()
    result = RunResult(status, lines)
    for line in lines:
        start = line.find('{"fuzz":')
        if start < 0:
            continue
        try:
            result.records.append(json.loads(line[start:]))
        except json.JSONDecodeError:
            continue
    return result


def build_fuzzer() -> Path:
    subprocess.run(["cargo", "build", "--release", "--target", TARGET,
                    "--manifest-path", str(FUZZ_DIR / "Cargo.toml")], check=True)
    EXTRA_BIN.mkdir(parents=True, exist_ok=True)
    staged = EXTRA_BIN / "starry-fuzz"
    if not staged.exists() or staged.read_bytes() != BINARY.read_bytes():
        shutil.copy(BINARY, staged)
    return staged


def fuzzer_args(seed: int, count: int, log_every: int, trace_from: int | None = None,
                sequential: bool = False) -> list[str]:
    args = ["--seed", str(seed), "--count", str(count), "--log-every", str(log_every)]
    if trace_from is not None:
        args += ["--trace-from", str(trace_from)]
    if sequential:
        args.append("--sequential")
    return args


def run_kernel(seed: int, count: int, timeout: float, log: str, log_every: int,
               trace_from: int | None = None, kernel: Path | None = None,
               sequential: bool = False) -> RunResult:
    """Run the fuzzer as init of the kernel on a fresh disk. `kernel` is a
    prebuilt kernel image (the checked one for the tests); without it the
    runner builds the release kernel."""
    build_fuzzer()
    env = dict(os.environ, STARRY_IMAGE_EXTRA_BIN=str(EXTRA_BIN))
    cmd = [sys.executable, str(ROOT / "scripts" / "qemu_run.py"), "--fresh-disk",
           "--init", GUEST_PATH, "--timeout", str(timeout), "--log", log]
    if kernel is not None:
        cmd += ["--kernel", str(kernel)]
    cmd += ["--", *fuzzer_args(seed, count, log_every, trace_from, sequential)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return parse_lines(proc.returncode, proc.stdout.decode("utf-8", "replace"))


def linux_initramfs(binary: Path, dest: Path) -> Path:
    """Write an initramfs whose /init is the fuzzer, with the files and
    directories the fuzzer's paths name."""
    from linux_baseline import cpio_entry

    entries = [
        ("dev", stat.S_IFDIR | 0o755, b"", (0, 0)),
        ("dev/console", stat.S_IFCHR | 0o600, b"", (5, 1)),
        ("dev/null", stat.S_IFCHR | 0o666, b"", (1, 3)),
        ("dev/zero", stat.S_IFCHR | 0o666, b"", (1, 5)),
        ("tmp", stat.S_IFDIR | 0o1777, b"", (0, 0)),
        ("opt", stat.S_IFDIR | 0o755, b"", (0, 0)),
        ("opt/python3.11", stat.S_IFDIR | 0o755, b"", (0, 0)),
        ("opt/python3.11/bin", stat.S_IFDIR | 0o755, b"", (0, 0)),
        ("opt/python3.11/bin/python3.11", stat.S_IFREG | 0o755, b"\x7fELF", (0, 0)),
        ("init", stat.S_IFREG | 0o755, binary.read_bytes(), (0, 0)),
    ]
    archive = bytearray()
    for ino, (name, mode, data, rdev) in enumerate(entries, start=1):
        archive += cpio_entry(name, mode, data, rdev, ino)
    archive += cpio_entry("TRAILER!!!", 0)
    dest.write_bytes(archive)
    return dest


def run_linux(seed: int, count: int, timeout: float, log_every: int,
              trace_from: int | None = None, sequential: bool = False) -> RunResult:
    """Run the fuzzer as init of Linux in qemu-system-aarch64."""
    from linux_baseline import cache_dir, fetch_kernel

    binary = build_fuzzer()
    cache = cache_dir()
    fetch_kernel(cache)
    with tempfile.TemporaryDirectory(prefix="starry-fuzz-") as tmp:
        initramfs = linux_initramfs(binary, Path(tmp) / "initramfs.cpio")
        append = ("console=ttyAMA0 panic=-1 quiet rdinit=/init -- "
                  + " ".join(fuzzer_args(seed, count, log_every, trace_from, sequential)))
        cmd = ["qemu-system-aarch64", "-machine", "virt", "-cpu", "cortex-a72", "-smp", "1",
               "-m", "1G", "-display", "none", "-monitor", "none", "-nic", "none",
               "-serial", "stdio", "-no-reboot", "-kernel", str(cache / "Image"),
               "-initrd", str(initramfs), "-append", append]
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=timeout)
            output, status = proc.stdout, 0
        except subprocess.TimeoutExpired as err:
            output, status = err.stdout or b"", 124
    result = parse_lines(status, output.decode("utf-8", "replace"))
    # Linux panics when init exits, so QEMU's exit status carries no verdict:
    # the fuzzer's final line does.
    if status == 0:
        result.status = 0 if result.end and result.end["violations"] == 0 else 1
    return result


def save(result: RunResult, name: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.jsonl"
    path.write_text("".join(line + "\n" for line in result.lines))
    return path


def print_summary(result: RunResult) -> None:
    for record in result.records:
        if record.get("fuzz") in ("syscall", "violation", "end"):
            print(json.dumps(record))


def compare(kernel: RunResult, linux: RunResult) -> list[str]:
    """Return Markdown table rows for syscalls whose result sets differ."""
    rows = []
    ours, theirs = kernel.summary, linux.summary
    for name in sorted(set(ours) | set(theirs)):
        mine = ours.get(name, {}).get("results", {})
        ref = theirs.get(name, {}).get("results", {})
        if set(mine) == set(ref):
            continue
        only_ours = sorted(set(mine) - set(ref))
        only_linux = sorted(set(ref) - set(mine))
        rows.append(f"| {name} | {fmt(mine)} | {fmt(ref)} | {', '.join(only_ours) or '-'} "
                    f"| {', '.join(only_linux) or '-'} |")
    return rows


def fmt(results: dict) -> str:
    return " ".join(f"{key}:{value}" for key, value in sorted(results.items(), key=lambda kv: -kv[1]))


def main() -> int:
    parser = argparse.ArgumentParser(prog="fuzz.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["kernel", "linux", "compare"])
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default: 1)")
    parser.add_argument("--count", type=int, default=10_000, help="calls to make (default: 10000)")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds before a run counts as hung (default: 900)")
    parser.add_argument("--log", default="warn", help="kernel log level (default: warn)")
    parser.add_argument("--log-every", type=int, default=10_000,
                        help="calls between progress lines (default: 10000)")
    parser.add_argument("--kernel", type=Path,
                        help="kernel image to boot, e.g. the checked build (default: build "
                             "and boot the release kernel)")
    parser.add_argument("--trace-from", type=int, metavar="N",
                        help="print each call from the Nth on before making it, to find "
                             "the call that crashed or hung a run")
    parser.add_argument("--sequential", action="store_true",
                        help="make every call in the fuzzer's main thread, with no worker "
                             "threads and no child processes")
    opts = parser.parse_args()

    runs: dict[str, RunResult] = {}
    if opts.mode in ("kernel", "compare"):
        runs["kernel"] = run_kernel(opts.seed, opts.count, opts.timeout, opts.log,
                                    opts.log_every, opts.trace_from, opts.kernel, opts.sequential)
    if opts.mode in ("linux", "compare"):
        runs["linux"] = run_linux(opts.seed, opts.count, opts.timeout, opts.log_every,
                                  opts.trace_from, opts.sequential)

    failed = False
    for name, result in runs.items():
        path = save(result, f"{name}-seed{opts.seed}-count{opts.count}")
        if opts.mode != "compare":
            print_summary(result)
        problems = result.problems()
        verdict = "passed" if not problems else "FAILED: " + "; ".join(problems)
        print(f"fuzz: {name}: {verdict} (output in {path.relative_to(ROOT)})", file=sys.stderr)
        failed |= bool(problems) and name == "kernel"
    if opts.mode == "compare":
        print("| syscall | kernel | Linux | only kernel | only Linux |")
        print("|---|---|---|---|---|")
        for row in compare(runs["kernel"], runs["linux"]):
            print(row)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
