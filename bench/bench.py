#!/usr/bin/env python3
"""Benchmark the kernel against Linux in the same QEMU and against qemu-user.

Usage: bench/bench.py [--runs N] [--only GROUP,...] [--no-build] [--no-linux]
                      [--no-user-mode] [--linux-args ARGS]

Three systems run the same aarch64 programs from the same ext4 image:
- ours: this kernel under qemu-system-aarch64, booted as scripts/qemu_run.py
  boots it, with the boot argument `stats=on`;
- linux: Debian's arm64 kernel on the same QEMU machine, CPU, memory and disk
  options, with an initramfs whose init (bench/linux-init) mounts the disk
  and runs the program (see bench/linux_baseline.py);
- user_mode: qemu-aarch64 on a copy of the image's root tree, the lower bound
  (as scripts/reference.py runs it).

Times are taken on the host clock from console markers: the kernel's
`starry-stats: user-entry` line and linux-init's `linux-init: exec` line mark
the first user instruction, and the exit lines mark the program's end. The
syscall figures are measured in the guest by bench/syscall-bench. Each figure
is the median of --runs runs. The table goes to the terminal and every figure
to target/bench/<timestamp>.json. The exit status is 0 unless an argument is
invalid or a build fails: a failed or timed-out run only leaves its figure
empty.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(BENCH_DIR))

import linux_baseline  # noqa: E402
import qemu_run  # noqa: E402
import reference  # noqa: E402

GUEST_TARGET = "aarch64-unknown-linux-musl"
GUEST_BIN = BENCH_DIR / "target" / GUEST_TARGET / "release"
SYSCALL_BENCH_GUEST_PATH = "/usr/local/bin/syscall-bench"
TEST_ALL = "lib/python3.11/test/test___all__.py"
IMPORTS = "import json, decimal, asyncio"
# Pure-Python work with no syscalls and no page faults once it runs: how much
# slower the emulated MMU alone makes user code, whatever the kernel does.
LOOP_PROGRAM = ("import time\n"
                "start = time.perf_counter()\n"
                "total = 0\n"
                "for i in range(2_000_000):\n"
                "    total += i\n"
                "print(f'python-loop: {time.perf_counter() - start:.6f}')\n")
LOOP_FIGURE = "pure-Python loop, 2M additions"
SYSCALL_CASES = ["getpid", "read_4k", "stat", "open_close", "mmap_munmap_64k", "page_fault"]
SYSTEMS = ["ours", "linux", "user_mode"]
# Seconds before one run is abandoned; test___all__ cold takes about a minute.
RUN_TIMEOUT = 900.0
# The Linux kernel command line besides the program: the console on the
# PL011, no boot messages, and a reboot (QEMU exits with -no-reboot) on panic.
LINUX_APPEND = "console=ttyAMA0 quiet panic=-1"

STATS_LINE = re.compile(r"starry-stats: (\S+)(.*)")
LINUX_LINE = re.compile(r"linux-init: (exec|exit|error)(.*)")
SYSCALL_BENCH_LINE = re.compile(r"syscall-bench: (\S+) ([0-9.]+)")
LOOP_LINE = re.compile(r"python-loop: ([0-9.]+)")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def key_values(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split() if "=" in item)


@dataclass
class Run:
    """The parsed console output and timings of one boot or one user-mode process."""
    ok: bool
    boot_s: float | None = None
    run_s: float | None = None
    values: dict[str, str] = field(default_factory=dict)
    syscalls: list[dict[str, str]] = field(default_factory=list)
    bench: dict[str, float] = field(default_factory=dict)
    error: str = ""


def read_console(cmd: list[str], timeout: float) -> tuple[int | None, list[tuple[float, str]]]:
    """Run `cmd` and return (exit status or None on timeout, [(seconds since
    start, line)]), timing each console line when it arrives."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    lines: list[tuple[float, str]] = []
    pending = b""
    fd = proc.stdout.fileno()
    while True:
        left = start + timeout - time.monotonic()
        if left <= 0:
            proc.kill()
            proc.wait()
            return None, lines
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        now = time.monotonic() - start
        if not chunk:
            break
        pending += chunk
        *complete, pending = pending.split(b"\n")
        lines.extend((now, line.decode("utf-8", "replace").rstrip("\r")) for line in complete)
    if pending:
        lines.append((time.monotonic() - start, pending.decode("utf-8", "replace")))
    return proc.wait(), lines


def parse_syscall_bench(lines: list[tuple[float, str]]) -> dict[str, float]:
    """Return the figures that guest programs print: syscall-bench's cases
    and the loop time of LOOP_PROGRAM (as "python_loop")."""
    results = {}
    for _, line in lines:
        if match := SYSCALL_BENCH_LINE.search(line):
            results[match.group(1)] = float(match.group(2))
        elif match := LOOP_LINE.search(line):
            results["python_loop"] = float(match.group(1))
    return results


def tail(lines: list[tuple[float, str]]) -> str:
    return " | ".join(line for _, line in lines[-5:])


class Ours:
    name = "ours"

    def __init__(self, kernel: Path):
        self.kernel = kernel

    def command(self, disk: Path, init: str, args: list[str]) -> list[str]:
        append = qemu_run.bootargs(args, "warn", init, stats=True)
        cmd = qemu_run.qemu_command(disk, append, "1G")
        cmd[cmd.index("-kernel") + 1] = str(self.kernel)
        return cmd

    def run(self, disk: Path, init: str, args: list[str]) -> Run:
        status, lines = read_console(self.command(disk, init, args), RUN_TIMEOUT)
        entry = exit_line = None
        result = Run(ok=False, bench=parse_syscall_bench(lines))
        for when, line in lines:
            match = STATS_LINE.search(line)
            if not match:
                continue
            kind, rest = match.groups()
            if kind == "user-entry":
                entry = when
                result.values.update({f"entry_{k}": v for k, v in key_values(rest).items()})
            elif kind == "exit":
                exit_line = when
                result.values.update(key_values(rest))
            elif kind in ("memory", "disk"):
                result.values.update(key_values(rest))
            elif kind == "syscall":
                result.syscalls.append(key_values(rest))
        if status is None:
            result.error = f"timed out after {RUN_TIMEOUT:g} s: {tail(lines)}"
        elif entry is None or exit_line is None:
            result.error = f"QEMU exited with status {status} without the stats lines: {tail(lines)}"
        elif status != 0 or result.values.get("status") != "0":
            result.error = f"exit status {status}: {tail(lines)}"
        else:
            result.ok = True
        if entry is not None:
            result.boot_s = entry
        if entry is not None and exit_line is not None:
            result.run_s = exit_line - entry
        return result


class Linux:
    name = "linux"

    def __init__(self, image: Path, initramfs: Path, extra_args: str):
        self.image = image
        self.initramfs = initramfs
        self.extra_args = extra_args

    def command(self, disk: Path, init: str, args: list[str]) -> list[str]:
        argv = [init, *args]
        # The memory sampler would steal time from the in-guest timings.
        sample_ms = 0 if init == SYSCALL_BENCH_GUEST_PATH else 10
        append = (f"{LINUX_APPEND} {self.extra_args} bench_init={init} bench_cwd={qemu_run.PYTHON_CWD} "
                  f"bench_argv={qemu_run.hex_list(argv)} "
                  f"bench_env={qemu_run.hex_list(qemu_run.read_guest_env())} bench_sample_ms={sample_ms}")
        cmd = qemu_run.qemu_command(disk, append, "1G")
        cmd[cmd.index("-kernel") + 1] = str(self.image)
        return [*cmd, "-initrd", str(self.initramfs), "-no-reboot"]

    def run(self, disk: Path, init: str, args: list[str]) -> Run:
        status, lines = read_console(self.command(disk, init, args), RUN_TIMEOUT)
        entry = exit_line = None
        result = Run(ok=False, bench=parse_syscall_bench(lines))
        for when, line in lines:
            match = LINUX_LINE.search(line)
            if not match:
                continue
            kind, rest = match.groups()
            if kind == "exec" and entry is None:
                entry = when
            elif kind == "exit":
                exit_line = when
                result.values.update(key_values(rest))
            else:
                result.error = f"linux-init:{rest}"
        if status is None:
            result.error = f"timed out after {RUN_TIMEOUT:g} s: {tail(lines)}"
        elif not result.error and (entry is None or exit_line is None):
            result.error = f"QEMU exited with status {status} without linux-init's lines: {tail(lines)}"
        elif not result.error and result.values.get("status") != "0":
            result.error = f"exit status {result.values.get('status')}: {tail(lines)}"
        elif not result.error:
            result.ok = True
        result.boot_s = entry
        if entry is not None and exit_line is not None:
            result.run_s = exit_line - entry
        return result


class UserMode:
    name = "user_mode"

    def run(self, tree: Path, init: str, args: list[str]) -> Run:
        qemu = shutil.which("qemu-aarch64")
        if qemu is None:
            return Run(ok=False, error="qemu-aarch64 not found; run `just setup`")
        cmd = ["env", "-i", *reference.read_guest_env(reference.GUEST_ENV),
               qemu, "-L", str(tree), f"{tree}{init}", *args]
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=f"{tree}{qemu_run.PYTHON_CWD}", stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=RUN_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            return Run(ok=False, error=f"timed out after {RUN_TIMEOUT:g} s")
        elapsed = time.monotonic() - start
        lines = [(elapsed, line) for line in proc.stdout.splitlines()]
        result = Run(ok=proc.returncode == 0, run_s=elapsed, bench=parse_syscall_bench(lines))
        if proc.returncode != 0:
            result.error = f"exit status {proc.returncode}: {tail(lines)}"
        return result


@dataclass
class Figure:
    name: str
    unit: str
    samples: dict[str, list[float]] = field(default_factory=lambda: {system: [] for system in SYSTEMS})

    def median(self, system: str) -> float | None:
        values = self.samples[system]
        return statistics.median(values) if values else None


class Bench:
    def __init__(self, opts: argparse.Namespace, systems: dict, image: Path, tree: Path, scratch: Path):
        self.opts = opts
        self.systems = systems
        self.image = image
        self.tree = tree
        self.scratch = scratch
        self.figures: dict[str, Figure] = {}
        self.profile: dict[str, dict] = {}
        self.failures: list[str] = []
        self.disk_count = 0

    def figure(self, name: str, unit: str) -> Figure:
        return self.figures.setdefault(name, Figure(name, unit))

    def fresh_disk(self, system: str, with_syscall_bench: bool = False) -> Path:
        """Return a fresh copy of the image (a root tree for user mode)."""
        self.disk_count += 1
        dest = self.scratch / f"{system}-{self.disk_count}"
        if system == "user_mode":
            reference.copy_tree(self.tree, dest)
            if with_syscall_bench:
                shutil.copy(GUEST_BIN / "syscall-bench", dest / SYSCALL_BENCH_GUEST_PATH.lstrip("/"))
            return dest
        subprocess.run(["cp", "--sparse=always", str(self.image), str(dest)], check=True)
        if with_syscall_bench:
            subprocess.run(["debugfs", "-w", "-R",
                            f"write {GUEST_BIN / 'syscall-bench'} {SYSCALL_BENCH_GUEST_PATH}", str(dest)],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return dest

    def drop(self, disk: Path) -> None:
        if disk.is_dir():
            shutil.rmtree(disk, ignore_errors=True)
        else:
            disk.unlink(missing_ok=True)

    def run(self, system: str, disk: Path, args: list[str], label: str,
            init: str = qemu_run.PYTHON) -> Run | None:
        result = self.systems[system].run(disk, init, args)
        if result.ok:
            log(f"{system:9} {label}: {result.run_s:.2f} s"
                + (f" (boot {result.boot_s:.2f} s)" if result.boot_s is not None else ""))
            return result
        message = f"{system} {label}: {result.error}"
        log(f"FAILED {message}")
        self.failures.append(message)
        return None

    def python_startup(self, system: str) -> None:
        """-c pass and the imports on a disk warmed by one untimed run; every
        boot also gives a boot-time sample and a memory-after-boot sample."""
        disk = self.fresh_disk(system)
        self.run(system, disk, ["-c", IMPORTS], "warm-up")
        for index in range(self.opts.runs):
            result = self.run(system, disk, ["-c", "pass"], f"-c pass #{index + 1}")
            if result:
                self.figure("python -c pass", "s").samples[system].append(result.run_s)
                self.record_boot(system, result)
        for index in range(self.opts.runs):
            result = self.run(system, disk, ["-c", IMPORTS], f"imports #{index + 1}")
            if result:
                self.figure(f"python -c '{IMPORTS}'", "s").samples[system].append(result.run_s)
        self.drop(disk)

    def python_loop(self, system: str) -> None:
        """Time LOOP_PROGRAM in the guest with time.perf_counter()."""
        disk = self.fresh_disk(system)
        for index in range(self.opts.runs):
            result = self.run(system, disk, ["-c", LOOP_PROGRAM], f"python loop #{index + 1}")
            if result is None:
                continue
            if "python_loop" not in result.bench:
                message = f"{system} python loop #{index + 1}: no python-loop line in the output"
                log(f"FAILED {message}")
                self.failures.append(message)
                continue
            loop_s = result.bench["python_loop"]
            log(f"{system:9} python loop #{index + 1}: the loop itself took {loop_s:.2f} s")
            self.figure(LOOP_FIGURE, "s").samples[system].append(loop_s)
        self.drop(disk)

    def record_boot(self, system: str, result: Run) -> None:
        if system == "user_mode":
            return
        self.figure("boot to first user instruction", "s").samples[system].append(result.boot_s)
        used = result.values.get("entry_used_kib" if system == "ours" else "boot_used_kib")
        if used is not None:
            self.figure("memory in use after boot", "KiB").samples[system].append(float(used))

    def test_all(self, system: str) -> None:
        """test___all__ on a fresh disk (cold), then again on it (warm)."""
        for index in range(self.opts.runs):
            disk = self.fresh_disk(system)
            for label in ("cold", "warm"):
                result = self.run(system, disk, [TEST_ALL], f"test___all__ {label} #{index + 1}")
                if not result:
                    continue
                self.figure(f"test___all__ {label}", "s").samples[system].append(result.run_s)
                self.record_test_all_run(system, label, result)
            self.drop(disk)

    def record_test_all_run(self, system: str, label: str, result: Run) -> None:
        """Keep the peak memory of cold runs and the counters of the first
        cold and warm runs."""
        if system == "user_mode":
            return
        peak = result.values.get("peak_used_kib")
        if peak is not None and label == "cold":
            self.figure("memory in use, peak during test___all__ cold", "KiB").samples[system].append(float(peak))
        if system == "ours":
            self.profile.setdefault(f"ours test___all__ {label}", profile_of(result))
        else:
            self.profile.setdefault(f"linux test___all__ {label}", {
                "run_s": round(result.run_s, 3),
                "page_faults_minor": int(result.values.get("minflt", 0)),
                "page_faults_major": int(result.values.get("majflt", 0)),
                "python_max_rss_kib": int(result.values.get("maxrss_kib", 0)),
            })

    def syscall_bench(self, system: str) -> None:
        disk = self.fresh_disk(system, with_syscall_bench=True)
        for index in range(self.opts.runs):
            result = self.run(system, disk, [], f"syscall-bench #{index + 1}", init=SYSCALL_BENCH_GUEST_PATH)
            if not result:
                continue
            for case in SYSCALL_CASES:
                if case in result.bench:
                    self.figure(f"syscall-bench {case}", "ns/op").samples[system].append(result.bench[case])
            if system == "ours":
                self.profile.setdefault("ours syscall-bench", profile_of(result))
        self.drop(disk)


def profile_of(result: Run) -> dict:
    """Return the kernel's counters from one run, for the profile section."""
    values = result.values
    run_ns = result.run_s * 1e9
    syscall_ns = int(values.get("syscall_ns", 0))
    fault_ns = int(values.get("fault_ns", 0))
    return {
        "run_s": round(result.run_s, 3),
        "syscalls": int(values.get("syscalls", 0)),
        "syscall_share_of_run": round(syscall_ns / run_ns, 3) if run_ns else None,
        "user_page_faults": int(values.get("user_faults", 0)),
        "page_fault_share_of_run": round(fault_ns / run_ns, 3) if run_ns else None,
        # User code, interrupts and the scheduler: not counted separately.
        "rest_share_of_run": round(1 - (syscall_ns + fault_ns) / run_ns, 3) if run_ns else None,
        "mean_page_fault_us": round(fault_ns / 1000 / max(1, int(values.get("user_faults", 0))), 1),
        "disk_reads": int(values.get("reads", 0)),
        "disk_read_share_of_run": round(int(values.get("read_ns", 0)) / run_ns, 3) if run_ns else None,
        "disk_writes": int(values.get("writes", 0)),
        "disk_write_share_of_run": round(int(values.get("write_ns", 0)) / run_ns, 3) if run_ns else None,
        "memory_kib": {kind: int(values[kind]) for kind in
                       ("heap_kib", "user_kib", "page_cache_kib", "page_table_kib") if kind in values},
        "top_syscalls": [
            {"name": item.get("name"), "count": int(item.get("count", 0)),
             "total_ms": round(int(item.get("total_ns", 0)) / 1e6, 1),
             "mean_us": round(int(item.get("total_ns", 0)) / 1000 / max(1, int(item.get("count", 1))), 1)}
            for item in result.syscalls
        ],
    }


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f}"
    if unit == "KiB":
        return f"{value:.0f}"
    return f"{value:.1f}"


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def print_table(figures: list[Figure]) -> None:
    header = ["figure", "unit", "ours", "linux", "user mode", "ours/linux", "ours/user"]
    rows = [header]
    for figure in figures:
        ours, linux, user = (figure.median(system) for system in SYSTEMS)
        rows.append([
            figure.name, figure.unit, format_value(ours, figure.unit), format_value(linux, figure.unit),
            format_value(user, figure.unit),
            "-" if ratio(ours, linux) is None else f"{ratio(ours, linux):.2f}",
            "-" if ratio(ours, user) is None else f"{ratio(ours, user):.2f}",
        ])
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    for number, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:])]
        print("  ".join(cells))
        if number == 0:
            print("  ".join("-" * width for width in widths))


def print_targets(figures: dict[str, Figure]) -> list[str]:
    """Print and return the verdicts on the project's targets."""
    verdicts = []
    compared = [figure for figure in figures.values()
                if ratio(figure.median("ours"), figure.median("linux")) is not None]
    behind = [figure.name for figure in compared
              if ratio(figure.median("ours"), figure.median("linux")) > 1.0]
    if not compared:
        verdicts.append("ours at most Linux on every figure: not measured (no Linux figures)")
    else:
        verdicts.append("ours at most Linux on every figure: "
                        + ("yes" if not behind else f"no, behind on {len(behind)}: {', '.join(behind)}"))
    boot = figures.get("boot to first user instruction")
    if boot and boot.median("ours") is not None:
        verdicts.append(f"boot to first instruction under 1 s: "
                        f"{'yes' if boot.median('ours') < 1.0 else 'no'} ({boot.median('ours'):.3f} s)")
    warm = figures.get("test___all__ warm")
    if warm and (r := ratio(warm.median("ours"), warm.median("user_mode"))) is not None:
        verdicts.append(f"test___all__ warm within 1.5x of user mode: {'yes' if r <= 1.5 else 'no'} ({r:.2f}x)")
    print()
    for verdict in verdicts:
        print(f"target: {verdict}")
    return verdicts


def emulator_share(figures: dict[str, Figure]) -> str | None:
    """Return a line on how much slower the pure-Python loop runs than in
    user mode, or None without both medians."""
    loop = figures.get(LOOP_FIGURE)
    if not loop or (ours := ratio(loop.median("ours"), loop.median("user_mode"))) is None:
        return None
    linux = ratio(loop.median("linux"), loop.median("user_mode"))
    return (f"the pure-Python loop takes {ours:.2f}x its user-mode time under this kernel"
            + ("" if linux is None else f" and {linux:.2f}x under Linux")
            + ", with no syscalls or page faults: the emulated MMU's share of every ours/user ratio")


def print_profile(profile: dict[str, dict]) -> None:
    for name, data in profile.items():
        print(f"\nprofile, {name}:")
        for key, value in data.items():
            if key != "top_syscalls":
                print(f"  {key}: {value}")
        for item in data.get("top_syscalls", [])[:10]:
            print(f"  syscall {item['name']:<16} count {item['count']:>7}  total {item['total_ms']:>9.1f} ms"
                  f"  mean {item['mean_us']:>9.1f} us")


def machine_facts(linux_version: str | None, linux_args: str) -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    qemu = subprocess.run(["qemu-system-aarch64", "--version"], stdout=subprocess.PIPE,
                          text=True, check=False).stdout.splitlines()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "qemu": qemu[0] if qemu else "unknown",
        "host": platform.platform(),
        "linux_baseline": linux_version,
        "linux_args": linux_args,
        "guest": "virt, cortex-a72, 1 CPU, 1 GiB, virtio-blk",
        # Other work on the host slows QEMU down and spreads the samples.
        "load_average_at_end": [round(load, 2) for load in os.getloadavg()],
    }


def kernel_facts(kernel: Path) -> dict:
    """Return the work tree's commit and the hash of the kernel image `kernel`."""
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True, check=False).stdout.strip()
    digest = hashlib.sha256(kernel.read_bytes()).hexdigest()[:16]
    return {"commit": commit, "image_sha256": digest}


def build_guest_programs() -> None:
    log("building bench/syscall-bench and bench/linux-init ...")
    proc = subprocess.run(["cargo", "build", "--release", "--target", GUEST_TARGET],
                          cwd=BENCH_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:])
        raise SystemExit(f"bench: building the guest programs failed with status {proc.returncode}")


def image_paths() -> tuple[Path, Path]:
    image = qemu_run.run_step("building the image", ["bash", "images/image.sh", "build"]).splitlines()[-1]
    tree = qemu_run.run_step("building the root tree", ["bash", "images/image.sh", "root"]).splitlines()[-1]
    return Path(image), Path(tree)


STEPS = {
    "startup": Bench.python_startup,
    "loop": Bench.python_loop,
    "test_all": Bench.test_all,
    "syscalls": Bench.syscall_bench,
}


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5,
                        help="runs per figure; each figure is their median (default: 5)")
    parser.add_argument("--only", default=",".join(STEPS),
                        help=f"comma-separated groups to run, from {', '.join(STEPS)} (default: all)")
    parser.add_argument("--no-build", action="store_true",
                        help="boot the kernel binary already built instead of building it first")
    parser.add_argument("--no-linux", action="store_true", help="skip the Linux baseline")
    parser.add_argument("--no-user-mode", action="store_true", help="skip the qemu-user baseline")
    parser.add_argument("--linux-args", default="", metavar="ARGS",
                        help="extra Linux command-line parameters, such as \"nokaslr kpti=0\" "
                             "(default: none, Debian's defaults)")
    opts = parser.parse_args()
    if opts.runs < 1:
        parser.error(f"--runs must be at least 1, got {opts.runs}")
    opts.only = [step for step in opts.only.split(",") if step]
    unknown = [step for step in opts.only if step not in STEPS]
    if unknown:
        parser.error(f"unknown group {', '.join(unknown)}; expected some of {', '.join(STEPS)}")
    return opts


def main() -> int:
    opts = parse_options()
    os.chdir(ROOT)
    if not opts.no_build:
        log("building the kernel ...")
        qemu_run.build_kernel()
    elif not qemu_run.KERNEL_BIN.exists():
        raise SystemExit(f"bench: {qemu_run.KERNEL_BIN} is missing; run `just kernel`")
    image, tree = image_paths()
    build_guest_programs()

    # Boot a copy, so that a rebuild during the benchmark cannot change the
    # kernel between runs.
    scratch = Path(tempfile.mkdtemp(prefix="starry-bench-"))
    kernel = scratch / "starry-python-kernel.bin"
    shutil.copy(qemu_run.KERNEL_BIN, kernel)
    measured_kernel = kernel_facts(kernel)
    systems: dict = {"ours": Ours(kernel)}
    linux_version = None
    if not opts.no_linux:
        try:
            kernel, initramfs, linux_version = linux_baseline.prepare(GUEST_BIN / "linux-init")
            systems["linux"] = Linux(kernel, initramfs, opts.linux_args)
            log(f"Linux baseline: {linux_version}")
        except linux_baseline.BaselineError as err:
            log(f"the Linux baseline is skipped: {err}")
    if not opts.no_user_mode:
        systems["user_mode"] = UserMode()

    started = datetime.datetime.now(datetime.timezone.utc)
    bench = Bench(opts, systems, image, tree, scratch)
    try:
        for step in opts.only:
            for system in systems:
                STEPS[step](bench, system)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    order = ["boot to first user instruction", "python -c pass", f"python -c '{IMPORTS}'",
             LOOP_FIGURE, "test___all__ cold", "test___all__ warm"]
    order += [f"syscall-bench {case}" for case in SYSCALL_CASES]
    order += ["memory in use after boot", "memory in use, peak during test___all__ cold"]
    figures = [bench.figures[name] for name in order if name in bench.figures]

    print(f"\nmedians of {opts.runs} run(s); lower is better\n")
    print_table(figures)
    verdicts = print_targets(bench.figures)
    share = emulator_share(bench.figures)
    if share:
        print(f"emulator: {share}")
    print_profile(bench.profile)
    if bench.failures:
        print(f"\n{len(bench.failures)} run(s) failed:")
        for failure in bench.failures:
            print(f"  {failure}")

    out_dir = ROOT / "target" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps({
        "started": started.isoformat(timespec="seconds"),
        "runs": opts.runs,
        "machine": machine_facts(linux_version, opts.linux_args),
        "kernel": measured_kernel,
        "figures": [{
            "name": figure.name, "unit": figure.unit,
            **{system: figure.median(system) for system in SYSTEMS},
            "samples": figure.samples,
        } for figure in figures],
        "targets": verdicts,
        "emulator_share": share,
        "profile": bench.profile,
        "failures": bench.failures,
    }, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
