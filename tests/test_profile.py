"""The kernel's sampling profiler (`profile=HZ`, `just profile`)."""

import re
import subprocess
import sys

from conftest import CHECKED_KERNEL, ROOT, RUNNER

PROFILE = ROOT / "scripts" / "profile.py"

# Stat calls on one path, then a loop without syscalls (time.monotonic
# would be one: the kernel has no vDSO).
STAT_LOOP = """
import os
for _ in range(8000):
    os.stat('/opt/python3.11/lib/python3.11/os.py')
n = 0
for i in range(1_000_000):
    n += i
print('done')
"""


def table(output: str, title: str) -> list[tuple[int, str]]:
    """The (samples, name) rows of one of the report's tables."""
    lines = output.splitlines()
    start = lines.index(title) + 2
    rows = []
    for line in lines[start:]:
        match = re.match(r"\s*(\d+)\s+[\d.]+\s+[\d.]+\s+(.+)$", line)
        if not match:
            break
        rows.append((int(match.group(1)), match.group(2)))
    return rows


def test_profile_names_the_syscall_that_takes_kernel_time(disk):
    proc = subprocess.run(
        [sys.executable, str(PROFILE), "--hz", "2000",
         "--kernel", str(CHECKED_KERNEL), "--disk", str(disk), "--log", "warn",
         "--", "-c", STAT_LOOP],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "done" in out
    summary = re.search(r"kernel profile: (\d+) samples at 2000 Hz \(([\d.]+) s\)\n"
                        r"  user mode\s+([\d.]+)%\s+kernel\s+([\d.]+)%", out)
    assert summary, out[-3000:]
    samples, seconds, user, kernel = summary.groups()
    # The run takes seconds under QEMU; the boot is not sampled.
    assert 1000 <= int(samples) <= 120_000
    assert float(user) > 20
    assert float(kernel) > 5
    by_syscall = table(out, "kernel time by syscall")
    assert by_syscall[0][1] == "syscall newfstatat", by_syscall
    # The stacks resolve to functions of the stat path.
    total = [name for _, name in table(out, "kernel functions, all samples (anywhere in the stack)")]
    assert any("stat_at" in name for name in total), total


def test_runner_rejects_a_bad_rate():
    proc = subprocess.run([sys.executable, str(RUNNER), "--profile", "0", "--", "-c", "pass"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "argument --profile: invalid rate 0: expected 1 to 100000" in proc.stderr


def test_kernel_ignores_a_bad_rate(disk):
    # The runner checks the rate itself, so the boot argument goes to QEMU
    # directly here.
    sys.path.insert(0, str(ROOT / "scripts"))
    import qemu_run

    append = qemu_run.bootargs(["-c", "print('ran')"], "warn") + " profile=fast"
    cmd = qemu_run.qemu_command(disk, append, "1G", CHECKED_KERNEL)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "ran" in proc.stdout
    assert "profile=fast: expected samples per second from 1 to 100000; profiler off" in proc.stdout
    assert "starry-profile:" not in proc.stdout
