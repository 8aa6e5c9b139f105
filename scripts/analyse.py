"""Write docs/python-syscalls.md: Python's syscalls under the kernel next to
Linux, for the four runs of the analysis.

Run it as `just analyse` (scripts/syscall_trace.py analyse). Each run boots
a fresh copy of the root image under the kernel with syscall counting on.
It then runs the same command on Linux (qemu-aarch64 user mode with -strace)
in a fresh copy of the same root tree, with the same environment and
working directory. Options: `--only NAME` runs one of the runs (h, pydoc, inter,
all) and `--output FILE` writes elsewhere.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tomllib
from pathlib import Path

import syscall_trace as tracer

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "syscalls.toml"

# (key, title, Python arguments, stdin file)
RUNS = [
    ("h", "`python3.11 -h`", ["-h"], None),
    ("pydoc", "`python3.11 bin/pydoc3.11`", ["bin/pydoc3.11"], None),
    ("inter", "interactive session (`python3.11 -i` fed from "
              "scripts/interactive-session.txt)", ["-i"], tracer.SESSION_FILE),
    ("all", "`python3.11 lib/python3.11/test/test___all__.py` (cold: no .pyc files)",
     ["lib/python3.11/test/test___all__.py"], None),
]

# Causes of differences that were checked by reading the traces of both
# sides; keyed by syscall name. A difference without an entry here is
# described from the counts and the spec alone.
KNOWN_CAUSES = {
    "membarrier": "musl's dlopen asks for MEMBARRIER_CMD_PRIVATE_EXPEDITED when it loads a "
                  "module with thread-local storage; Linux and the kernel fail it with EPERM "
                  "(not registered), and musl carries on.",
    "ioctl": "isatty() is ioctl(TIOCGWINSZ). Both sides run on a terminal (the serial "
             "console under the kernel, a pseudo-terminal on Linux), so the ENOTTY calls "
             "are on the files Python opens; their number follows the imports.",
    "openat": "the Linux reference runs python3.11 by its host path inside the copied "
              "tree (qemu-user needs that), so getpath also probes lib/python311.zip "
              "under other prefixes (seen: /lib/python311.zip, /tmp/lib/python311.zip).",
    "newfstatat": "the reference's getpath probes other prefixes (see openat).",
}

# Causes that apply to every syscall of one run.
RUN_CAUSES = {
    "inter": "Under the kernel, standard input is the serial console, a terminal, so "
             "Python runs its interactive hook, which imports rlcompleter (the kernel "
             "trace opens rlcompleter.py); on Linux standard input is the session file. "
             "The extra import explains the higher counts of most file calls.",
}


def load_spec() -> dict[str, dict]:
    with SPEC.open("rb") as spec_file:
        entries = tomllib.load(spec_file)["syscall"]
    return {entry["name"]: entry for entry in entries}


def describe_difference(name: str, linux: tracer.Counts, ours: tracer.Counts,
                        spec: dict[str, dict]) -> str:
    """Describe in one line how a syscall's counts differ, with the known cause."""
    if linux.calls == 0:
        change = f"only under the kernel ({ours.calls} calls)"
    elif ours.calls == 0:
        change = f"only on Linux ({linux.calls} calls)"
    elif linux.calls != ours.calls:
        change = f"{linux.calls} calls on Linux, {ours.calls} under the kernel"
    else:
        change = "same number of calls"
    if linux.errors != ours.errors:
        change += f"; errors Linux {linux.error_text()}, kernel {ours.error_text()}"
    entry = spec.get(name)
    if entry is None:
        level = "no spec entry"
    else:
        level = f"spec level {entry['level']}"
        if entry.get("note"):
            level += f": {entry['note']}"
    cause = KNOWN_CAUSES.get(name)
    text = f"- **{name}**: {change}. ({level})"
    if cause:
        text += f" Cause: {cause}"
    return text


def stub_lines(summary: str) -> list[str]:
    """Return the coverage lines of the kernel's summary."""
    prefixes = ("coverage:", "ENOSYS from", "stub and partial", "unknown numbers:")
    return [line for line in summary.splitlines() if line.startswith(prefixes)]


def table_lines(summary: str) -> list[str]:
    return [line for line in summary.splitlines()
            if not line.startswith(("coverage:", "ENOSYS from", "stub and partial",
                                    "unknown numbers:")) and line.strip()]


def render_run(key: str, title: str, result: tracer.Comparison,
               spec: dict[str, dict]) -> str:
    out = [f"## {title}\n",
           f"Exit status: kernel {result.kernel_status}, Linux {result.linux_status}. "
           f"Distinct syscalls: kernel {len(result.kernel_counts)}, "
           f"Linux {len(result.linux_counts)}. Calls: kernel "
           f"{sum(c.calls for c in result.kernel_counts.values())}, Linux "
           f"{sum(c.calls for c in result.linux_counts.values())}.\n",
           "### Kernel, `strace -c` table (time measured by the kernel under QEMU)\n",
           "```text", *table_lines(result.summary), "```\n",
           "### Coverage and stubs\n",
           *[f"- {line}" for line in stub_lines(result.summary)], "",
           "### Calls and errors per syscall, next to Linux\n",
           tracer.comparison_table(result.rows),
           "### Differences and why\n"]
    differing = [row for row in result.rows if row[0] == "*"]
    if key in RUN_CAUSES:
        out.append(RUN_CAUSES[key] + "\n")
    if not differing:
        out.append("No differences.\n")
    for _, name, linux, ours in differing:
        out.append(describe_difference(name, linux, ours, spec))
    out.append("")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="syscall_trace.py analyse")
    parser.add_argument("--only", choices=[key for key, *_ in RUNS], action="append",
                        help="run only this run (repeatable)")
    parser.add_argument("--output", type=Path, default=tracer.ANALYSIS_DOC,
                        help="file to write (default: docs/python-syscalls.md)")
    parser.add_argument("--timeout", type=float, default=tracer.DEFAULT_TIMEOUT,
                        help="seconds before one run is killed")
    args = parser.parse_args(argv)
    spec = load_spec()

    sections = []
    for key, title, python_args, stdin in RUNS:
        if args.only and key not in args.only:
            continue
        print(f"analyse: run {key}: {' '.join(python_args)}", file=sys.stderr)
        opts = tracer.Options(mode="compare", stdin=stdin, timeout=args.timeout,
                              python_args=python_args)
        result = tracer.compare(opts)
        sections.append(render_run(key, title, result, spec))

    stubs = sorted(name for name, entry in spec.items()
                   if entry["level"] in ("stub", "partial"))
    header = [
        "# Python's system calls under the kernel and on Linux\n",
        f"Generated by `just analyse` (scripts/analyse.py) on "
        f"{datetime.date.today().isoformat()}; rerun it after changing the kernel.\n",
        "Method: each run boots a fresh copy of the root image under the kernel "
        "(`qemu-system-aarch64`, one CPU) with syscall counting on (`just trace "
        "--compare`), and runs the same command on Linux: `qemu-aarch64 -strace` "
        "(user mode, QEMU 7.2) in a fresh copy of the same root tree, with the same "
        "environment (images/guest-env) and working directory (/opt/python3.11). "
        "Program output is discarded on both sides. Times in the `strace -c` tables "
        "are guest times under QEMU's emulation, read from the generic timer counter, "
        "so they rank the calls but are not Linux-on-hardware times.\n",
        "The interactive session ends with `exit()`: the kernel's console is a "
        "serial line and has no end of file.\n",
        f"Spec entries that are stubs or partial: {', '.join(stubs)}.\n",
    ]
    args.output.write_text("\n".join(header) + "\n" + "\n".join(sections))
    print(f"analyse: wrote {args.output}", file=sys.stderr)
    return 0
