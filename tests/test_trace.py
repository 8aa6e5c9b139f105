"""`just trace`: strace lines, the -e filter and the `strace -c` summary of
a short Python program under the kernel (the checked build)."""

import re
import subprocess
from pathlib import Path

from conftest import BOOT_TIMEOUT, CHECKED_KERNEL, CONTRACT_VIOLATION, ROOT

PROGRAM = (
    "import os\n"
    "f = open('/opt/python3.11/lib/python3.11/this.py', 'rb'); f.close()\n"
    "try:\n"
    "    open('/no/such/file')\n"
    "except FileNotFoundError:\n"
    "    pass\n"
    "os.write(1, b'hello\\n')\n"
)


# A read that SIGUSR1 interrupts, with SA_RESTART: the trace shows the
# interrupted call as strace does, and the read again after the handler.
RESTARTED_READ = (
    "import ctypes, os, signal, time\n"
    "signal.signal(signal.SIGUSR1, lambda *args: None)\n"
    "signal.siginterrupt(signal.SIGUSR1, False)\n"
    "r, w = os.pipe()\n"
    "parent = os.getpid()\n"
    "if os.fork() == 0:\n"
    "    time.sleep(1); os.kill(parent, signal.SIGUSR1)\n"
    "    time.sleep(1); os.write(w, b'data'); os._exit(0)\n"
    "buffer = ctypes.create_string_buffer(16)\n"
    "print(ctypes.CDLL(None).read(r, buffer, 16))\n"
)


def run_trace(tmp_path: Path, *options: str,
              program: str = PROGRAM) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run `just trace OPTIONS -o FILE -- -c PROGRAM`; returns the process
    and the lines of the trace file."""
    out = tmp_path / "trace.txt"
    proc = subprocess.run(
        ["just", "trace", "--kernel", str(CHECKED_KERNEL), "--timeout", str(BOOT_TIMEOUT),
         *options, "-o", str(out), "--", "-c", program],
        cwd=ROOT, capture_output=True, text=True, timeout=BOOT_TIMEOUT + 60)
    assert CONTRACT_VIOLATION not in proc.stdout + proc.stderr
    assert out.exists(), proc.stderr
    return proc, out.read_text().splitlines()


def test_trace_lines_strace_format(built, tmp_path):
    proc, lines = run_trace(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "hello" in proc.stdout
    assert ('openat(AT_FDCWD, "/opt/python3.11/lib/python3.11/this.py", '
            'O_RDONLY|O_LARGEFILE|O_CLOEXEC) = 3') in lines
    assert ('openat(AT_FDCWD, "/no/such/file", O_RDONLY|O_LARGEFILE|O_CLOEXEC) '
            '= -1 ENOENT (No such file or directory)') in lines
    assert 'write(1, "hello\\n", 6)                  = 6' in lines
    assert lines[-1] == "exit_group(0)                           = ?"
    fstat = [line for line in lines if line.startswith("fstat(3, {st_mode=S_IFREG|0644, st_size=")]
    assert fstat, "no decoded fstat of the opened file"


def test_trace_shows_restarted_read(built, tmp_path):
    proc, lines = run_trace(tmp_path, "-e", "trace=read", program=RESTARTED_READ)
    assert proc.returncode == 0, proc.stderr
    assert "4" in proc.stdout.split()
    interrupted = [line for line in lines
                   if re.fullmatch(r"read\(\d+, 0x[0-9a-f]+, 16\) += \? ERESTARTSYS "
                                   r"\(To be restarted if SA_RESTART is set\)", line)]
    assert len(interrupted) == 1, lines[-5:]
    restarted = lines[lines.index(interrupted[0]) + 1:]
    assert any(re.fullmatch(r'read\(\d+, "data", 16\) += 4', line) for line in restarted), lines[-5:]


def test_trace_filter_by_name(built, tmp_path):
    proc, lines = run_trace(tmp_path, "-e", "trace=openat,write")
    assert proc.returncode == 0, proc.stderr
    assert lines
    for line in lines:
        assert line.startswith(("openat(", "write(")), line
    assert 'write(1, "hello\\n", 6)                  = 6' in lines


def test_trace_summary_table(built, tmp_path):
    proc, lines = run_trace(tmp_path, "--summary")
    assert proc.returncode == 0, proc.stderr
    rule = "------ ----------- ----------- --------- --------- ----------------"
    assert lines[0] == "% time     seconds  usecs/call     calls    errors syscall"
    assert lines[1] == rule
    second_rule = lines.index(rule, 2)
    rows = lines[2:second_rule]
    row_format = re.compile(r"^ *\d+\.\d\d +\d+\.\d{6} +\d+ +\d+ +(\d+)? (\w+)$")
    names = []
    for row in rows:
        match = row_format.match(row)
        assert match, row
        names.append(match.group(2))
    assert "openat" in names
    assert "write" in names
    total = lines[second_rule + 1]
    assert re.match(r"^100\.00 +\d+\.\d{6} +\d+ +\d+ +\d+ total$", total), total
    openat = next(row for row in rows if row.endswith(" openat"))
    # At least the failed open of /no/such/file.
    assert int(openat.split()[4]) >= 1
    assert lines[second_rule + 2].startswith("coverage: ")
