"""The interactive prompt on the serial console, driven through a host pty.

Each test starts `scripts/qemu_run.py` under pexpect, so QEMU's stdio is a
real terminal, as when a person runs `just qemu-aarch64`. QEMU switches it to
raw mode, so Enter sends "\\r", Backspace sends DEL and the kernel's line
discipline does the editing and echo. The host pty adds its own ONLCR to the
guest's "\\r\\n", so output lines end in "\\r\\r\\n"; the patterns below accept
any number of "\\r" before a "\\n".
"""

import io
import os
import re
import signal
import sys
import threading
import time

import pexpect
import pytest

from conftest import CHECKED_KERNEL, CONTRACT_VIOLATION, RUNNER, run_kernel, run_reference

# Seconds for the boot up to the first prompt, and for one command's answer.
BOOT_SECONDS = 120
ANSWER_SECONDS = 30
# The size of the pty that the runner gets as its terminal (rows, columns).
HOST_ROWS = 30
HOST_COLUMNS = 100

PROMPT = ">>> "
CONTINUATION = "... "
NEWLINE = r"\r*\n"


def spawn_console(*python_args: str, runner_options: tuple[str, ...] = (),
                  env: dict[str, str] | None = None) -> pexpect.spawn:
    """Boot the checked kernel on a fresh disk with QEMU's stdio on a pty."""
    args = [str(RUNNER), "--kernel", str(CHECKED_KERNEL), "--fresh-disk", "--log", "warn",
            "--timeout", "600", *runner_options, "--", *python_args]
    return pexpect.spawn(sys.executable, args, encoding="utf-8", codec_errors="replace",
                         timeout=ANSWER_SECONDS, dimensions=(HOST_ROWS, HOST_COLUMNS), env=env)


@pytest.fixture
def console(built):
    """A Python prompt on the console; the session is ended after the test."""
    child = spawn_console()
    child.expect_exact(PROMPT, timeout=BOOT_SECONDS)
    yield child
    transcript = child.before or ""
    if child.isalive():
        child.terminate(force=True)
    assert CONTRACT_VIOLATION not in transcript


def normalise(text: str) -> str:
    """Drop the "\\r" that the guest's and the host pty's ONLCR add."""
    return re.sub(r"\r+\n", "\n", text)


def expect_answer(child: pexpect.spawn, command: str, answer: str,
                  timeout: float = ANSWER_SECONDS) -> None:
    """Type `command` and Enter, and expect its echo, the line `answer` and
    a new prompt."""
    child.send(command + "\r")
    child.expect_exact(command, timeout=timeout)
    child.expect(NEWLINE + re.escape(answer) + NEWLINE + re.escape(PROMPT), timeout=timeout)


def assert_prompt_answers(child: pexpect.spawn) -> None:
    """Check that the prompt still evaluates input after a hard case."""
    expect_answer(child, "print(1+1)", "2")


def expect_exit(child: pexpect.spawn, status: int, timeout: float = ANSWER_SECONDS) -> None:
    child.expect(pexpect.EOF, timeout=timeout)
    child.close()
    assert child.exitstatus == status


def test_prompt_evaluates_expression(console):
    expect_answer(console, "print(6*7)", "42")


def test_banner_before_first_prompt(built):
    child = spawn_console()
    child.expect_exact(PROMPT, timeout=BOOT_SECONDS)
    banner = normalise(child.before)
    assert "Python 3.11" in banner
    assert 'Type "help", "copyright", "credits" or "license" for more information.' in banner
    child.send("\x04")
    expect_exit(child, 0)


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM])
def test_stopped_runner_removes_fresh_disk(built, tmp_path, signum):
    """A hang-up (a closed terminal) or SIGTERM stops QEMU, and the runner
    removes its copy of the image instead of leaving it in the temp dir."""
    child = spawn_console(env={**os.environ, "TMPDIR": str(tmp_path)})
    child.expect_exact(PROMPT, timeout=BOOT_SECONDS)
    copies = list(tmp_path.glob("starry-disk-*/disk.img"))
    assert len(copies) == 1, copies
    child.kill(signum)
    expect_exit(child, 128 + signum)
    assert list(tmp_path.iterdir()) == []


def test_backspace_erases_typed_characters(console):
    console.send("prinx\x7f\x7fnt(2+3)\r")
    # DEL wipes each character from the screen with backspace, space, backspace.
    console.expect_exact("prinx\b \b\b \bnt(2+3)")
    console.expect(NEWLINE + "5" + NEWLINE + re.escape(PROMPT))


def test_ctrl_h_erases_like_backspace(console):
    console.send("print(9)x\x08\r")
    console.expect(NEWLINE + "9" + NEWLINE + re.escape(PROMPT))


def test_kill_character_discards_line(console):
    console.send("garbage text\x15print(7)\r")
    console.expect(NEWLINE + "7" + NEWLINE + re.escape(PROMPT))


def test_word_erase_discards_last_word(console):
    console.send("print(8) junk\x17\r")
    console.expect(NEWLINE + "8" + NEWLINE + re.escape(PROMPT))


def test_utf8_input_and_erase(console):
    # Under IUTF8 one DEL erases the whole two-byte "é".
    console.send("print('h\u00e9llo', len('\u00e9\u00e9\x7f'))\r")
    console.expect(NEWLINE + "h\u00e9llo 1" + NEWLINE + re.escape(PROMPT))


def test_for_block_runs(console):
    console.send("for i in range(3):\r")
    console.expect_exact(CONTINUATION)
    console.send("    print(i * 10)\r")
    console.expect_exact(CONTINUATION)
    console.send("\r")
    console.expect(NEWLINE.join(["", "0", "10", "20", re.escape(PROMPT)]))


def test_error_prints_traceback(console):
    console.send("1/0\r")
    console.expect_exact("Traceback (most recent call last):")
    console.expect_exact('File "<stdin>", line 1, in <module>')
    console.expect(r"ZeroDivisionError: division by zero" + NEWLINE + re.escape(PROMPT))
    assert_prompt_answers(console)


def test_help_len_shows_page(console):
    console.send("help(len)\r")
    console.expect_exact("Help on built-in function len in module builtins:",
                         timeout=ANSWER_SECONDS * 2)
    console.expect_exact("Return the number of items in a container.")
    console.expect_exact(PROMPT)
    assert_prompt_answers(console)


def test_help_pager_reads_single_keys(console):
    # help(str) is longer than a screen, so pydoc's internal pager shows a
    # page and waits. It reads keys in cbreak mode: "q" alone, with no
    # Enter, must end it, and canonical mode and echo must come back.
    console.send("help(str)\r")
    console.expect_exact("Help on class str in module builtins:", timeout=ANSWER_SECONDS * 2)
    console.expect_exact("-- more --")
    console.send(" ")
    console.expect_exact("-- more --")
    console.send("q")
    console.expect_exact(PROMPT)
    assert_prompt_answers(console)


def test_listdir_lists_root(console):
    console.send("import os; print(sorted(os.listdir('/')))\r")
    console.expect(r"\[('[^']+', )*'[^']+'\]")
    names = re.findall(r"'([^']+)'", console.after)
    for name in ("dev", "etc", "opt", "tmp"):
        assert name in names
    console.expect_exact(PROMPT)


def test_exit_call_ends_with_zero(console):
    console.send("exit()\r")
    expect_exit(console, 0)


def test_ctrl_d_on_empty_line_ends_with_zero(console):
    console.send("\x04")
    expect_exit(console, 0)


def test_ctrl_d_after_text_keeps_line(console):
    # VEOF after text hands the text over without a newline; Python keeps
    # reading the same line, so Enter completes it.
    console.send("print(4\x04")
    time.sleep(1)
    console.send("4)\r")
    console.expect(NEWLINE + "44" + NEWLINE + re.escape(PROMPT))


def test_ctrl_c_at_empty_prompt(console):
    console.send("\x03")
    console.expect_exact("^C")
    console.expect(NEWLINE + "KeyboardInterrupt" + NEWLINE + re.escape(PROMPT))
    assert_prompt_answers(console)


def test_ctrl_c_interrupts_busy_loop(console):
    console.send("while True: pass\r")
    console.expect_exact(CONTINUATION)
    console.send("\r")
    # Let the loop run: only the timer interrupt can stop it now.
    time.sleep(2)
    console.send("\x03")
    console.expect_exact("KeyboardInterrupt")
    console.expect_exact(PROMPT)
    assert_prompt_answers(console)


def test_ctrl_c_interrupts_sleep(console):
    console.send("import time; time.sleep(60)\r")
    console.expect_exact("time.sleep(60)")
    time.sleep(2)
    console.send("\x03")
    console.expect_exact("KeyboardInterrupt", timeout=10)
    console.expect_exact(PROMPT)
    assert_prompt_answers(console)


def test_ctrl_c_discards_typed_line(console):
    console.send("print('lost')\x03")
    console.expect_exact("KeyboardInterrupt")
    console.expect_exact(PROMPT)
    assert_prompt_answers(console)


def test_typed_ahead_input_is_kept(console):
    # The second command arrives while Python sleeps and must wait in the
    # console's input, not be lost.
    console.send("import time; time.sleep(3)\r")
    console.send("print(11*11)\r")
    # The echo comes when the line is typed, so the answer follows the
    # next prompt, as on Linux.
    console.expect_exact("print(11*11)")
    console.expect(re.escape(PROMPT) + "121" + NEWLINE + re.escape(PROMPT),
                   timeout=ANSWER_SECONDS * 2)


def paste(child: pexpect.spawn, data: str) -> threading.Thread:
    """Write `data` from a thread: QEMU stops reading the pty while the guest's
    input is full, so a blocking write must not keep the test from reading
    the echo."""
    writer = threading.Thread(target=child.send, args=(data,), daemon=True)
    writer.start()
    return writer


@pytest.mark.parametrize("total_kib", [64, 192])
def test_large_paste_is_not_lost(console, total_kib):
    # Lines of 64 bytes: 192 KiB is three times the kernel's input capacity,
    # so the UART must hold input back instead of dropping it.
    line = "n += 1  # " + "x" * 53 + "\r"
    assert len(line) == 64
    count = total_kib * 1024 // len(line)
    console.send("n = 0\r")
    console.expect_exact(PROMPT)
    writer = paste(console, line * count)
    for _ in range(count):
        console.expect_exact(PROMPT, timeout=ANSWER_SECONDS * 4)
    writer.join(timeout=ANSWER_SECONDS)
    assert not writer.is_alive()
    expect_answer(console, "print(n)", str(count))


def test_control_characters_keep_prompt(console):
    controls = "".join(chr(code) for code in range(1, 32)
                       if chr(code) not in "\x03\x04\n\r\x15\x16\x17\x12\x1a\x1c\x08")
    console.send(controls + "\r")
    console.expect_exact(PROMPT)
    # Ctrl-\ is left out: it sends SIGQUIT, which ends Python as on Linux
    # (test_process_groups.py checks it).
    console.send("\x1a")
    console.send("\r")
    console.expect_exact(PROMPT)
    assert_prompt_answers(console)


def test_unfinished_escape_sequence_keeps_prompt(console):
    console.send("\x1b[1;")
    time.sleep(1)
    console.send("\r")
    console.expect_exact(PROMPT)
    console.send("\x1b")
    time.sleep(1)
    console.send("\x15")
    assert_prompt_answers(console)


TERMIOS_SCRIPT = r"""
import fcntl, os, select, signal, struct, sys, termios, tty
fd = sys.stdin.fileno()
resizes = []
signal.signal(signal.SIGWINCH, lambda sig, frame: resizes.append(sig))
print("isatty", os.isatty(fd))
old = termios.tcgetattr(fd)
lflag = old[3]
print("canonical", bool(lflag & termios.ICANON), "echo", bool(lflag & termios.ECHO),
      "isig", bool(lflag & termios.ISIG), "icrnl", bool(old[0] & termios.ICRNL))
print("verase", old[6][termios.VERASE] == b"\x7f", "vintr", old[6][termios.VINTR] == b"\x03")
print("pgrp", os.tcgetpgrp(fd) == os.getpgrp())
os.tcsetpgrp(fd, os.getpgrp())
print("winsize", struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))[:2])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
print("resized", tuple(os.get_terminal_size(fd)))
# Setting the same size again sends no second SIGWINCH.
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
print("sigwinch", resizes)
print("ready", flush=True)
# In canonical mode the console turns readable only when the whole line is in.
select.select([fd], [], [], 60)
print("fionread", struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0])
print("line", repr(sys.stdin.readline()))
tty.setraw(fd)
raw = termios.tcgetattr(fd)
print("raw canonical", bool(raw[3] & termios.ICANON), end="\r\n", flush=True)
print("raw-ready", end="\r\n", flush=True)
# A raw read returns what has arrived (VMIN 1), so collect the three bytes.
raw_bytes = b""
while len(raw_bytes) < 3:
    raw_bytes += os.read(fd, 3 - len(raw_bytes))
print("raw bytes", raw_bytes, end="\r\n", flush=True)
termios.tcsetattr(fd, termios.TCSADRAIN, old)
print("restored", termios.tcgetattr(fd) == old)
tty.setcbreak(fd)
print("cbreak-ready", flush=True)
print("cbreak byte", os.read(fd, 1))
termios.tcsetattr(fd, termios.TCSAFLUSH, old)
with open("/tmp/plain", "w+") as plain:
    print("file isatty", plain.isatty())
    try:
        termios.tcgetattr(plain.fileno())
    except termios.error as error:
        print("file tcgetattr errno", error.args[0])
print("done")
"""


def spawn_recorded(*python_args: str, runner_options: tuple[str, ...] = ()) -> pexpect.spawn:
    """Spawn like `spawn_console` and record everything the guest prints in
    `child.logfile_read`."""
    child = spawn_console(*python_args, runner_options=runner_options)
    child.logfile_read = io.StringIO()
    return child


def transcript_lines(child: pexpect.spawn) -> list[str]:
    return normalise(child.logfile_read.getvalue()).splitlines()


def test_termios_requests(built):
    child = spawn_recorded("-c", TERMIOS_SCRIPT)
    child.expect_exact("ready", timeout=BOOT_SECONDS)
    child.send("abc\r")
    child.expect_exact("raw-ready")
    # Raw mode: no ICRNL, no ISIG, no erase.
    child.send("\r\x03\x7f")
    child.expect_exact("cbreak-ready")
    before_key = len(child.logfile_read.getvalue())
    child.send("z")
    child.expect_exact("done")
    expect_exit(child, 0)
    # cbreak mode has no echo: the key shows only in the script's output.
    after_key = child.logfile_read.getvalue()[before_key:]
    assert after_key.count("z") == 1
    lines = transcript_lines(child)
    for expected in [
        "isatty True",
        "canonical True echo True isig True icrnl True",
        "verase True vintr True",
        "pgrp True",
        f"winsize ({HOST_ROWS}, {HOST_COLUMNS})",
        "resized (120, 40)",
        "sigwinch [28]",
        "fionread 4",
        "line 'abc\\n'",
        "raw canonical False",
        "raw bytes b'\\r\\x03\\x7f'",
        "restored True",
        "cbreak byte b'z'",
        "file isatty False",
        "file tcgetattr errno 25",
    ]:
        assert expected in lines


VTIME_SCRIPT = r"""
import os, sys, termios, time
fd = sys.stdin.fileno()
old = termios.tcgetattr(fd)
mode = termios.tcgetattr(fd)
mode[3] &= ~(termios.ICANON | termios.ECHO)
mode[6][termios.VMIN] = 0
mode[6][termios.VTIME] = 5
termios.tcsetattr(fd, termios.TCSANOW, mode)
start = time.monotonic()
data = os.read(fd, 8)
elapsed = time.monotonic() - start
print("timed out", data, 0.4 <= elapsed < 5, flush=True)
mode[6][termios.VTIME] = 100
termios.tcsetattr(fd, termios.TCSANOW, mode)
print("vtime-ready", flush=True)
start = time.monotonic()
data = os.read(fd, 8)
print("first byte", data, time.monotonic() - start < 9, flush=True)
termios.tcsetattr(fd, termios.TCSANOW, old)
print("done")
"""


def test_vtime_limits_raw_read(built):
    child = spawn_recorded("-c", VTIME_SCRIPT)
    child.expect_exact("vtime-ready", timeout=BOOT_SECONDS)
    child.send("q")
    child.expect_exact("done")
    expect_exit(child, 0)
    lines = transcript_lines(child)
    # VMIN 0, VTIME 5: nothing typed, so the read returns empty after 0.5 s.
    assert "timed out b'' True" in lines
    # VMIN 0, VTIME 100: the first byte ends the read long before 10 s.
    assert "first byte b'q' True" in lines


REQUEST_ERRORS_SCRIPT = r"""
import errno, fcntl, os, select, struct, sys, termios
fd = sys.stdin.fileno()

def errno_of(request, arg):
    try:
        fcntl.ioctl(fd, request, arg)
    except OSError as error:
        return errno.errorcode[error.errno]
    return "no error"

print("unknown group", errno_of(termios.TIOCSPGRP, struct.pack("i", 99999)))
print("negative group", errno_of(termios.TIOCSPGRP, struct.pack("i", -5)))
print("bad pointer", errno_of(termios.TCGETS, 16))
print("bad flush", errno_of(termios.TCFLSH, 7))
print("unknown request", errno_of(0x54ff, 0))
print("poll empty", select.select([fd], [], [], 0)[0])
print("ready", flush=True)
# The wait ends when the typed line is complete, not at the first byte.
print("poll line", select.select([fd], [], [], 60)[0] == [fd])
print("line complete", struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0])
termios.tcflush(fd, termios.TCIFLUSH)
print("after flush", struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0])
print("done")
"""


def test_terminal_request_errors(built):
    child = spawn_recorded("-c", REQUEST_ERRORS_SCRIPT)
    child.expect_exact("ready", timeout=BOOT_SECONDS)
    child.send("typed\r")
    child.expect_exact("done")
    expect_exit(child, 0)
    lines = transcript_lines(child)
    for expected in [
        "unknown group ESRCH",
        "negative group EINVAL",
        "bad pointer EFAULT",
        "bad flush EINVAL",
        "unknown request ENOTTY",
        "poll empty []",
        "poll line True",
        "line complete 6",
        "after flush 0",
    ]:
        assert expected in lines


GETPASS_SCRIPT = r"""
import getpass
secret = getpass.getpass("Password: ")
print("got", repr(secret))
"""


def test_getpass_reads_without_echo(built):
    child = spawn_recorded("-c", GETPASS_SCRIPT)
    child.expect_exact("Password: ", timeout=BOOT_SECONDS)
    child.send("hunter2\r")
    child.expect_exact("got 'hunter2'")
    expect_exit(child, 0)
    output = child.logfile_read.getvalue()
    assert output.count("hunter2") == 1


def test_window_size_from_host_terminal(built):
    child = spawn_recorded("-c", "import os; print('size', tuple(os.get_terminal_size()))")
    expect_exit(child, 0, timeout=BOOT_SECONDS)
    assert f"size ({HOST_COLUMNS}, {HOST_ROWS})" in transcript_lines(child)


def test_window_size_from_runner_options(built):
    child = spawn_recorded("-c", "import os; print('size', tuple(os.get_terminal_size()))",
                           runner_options=("--cols", "132", "--rows", "50"))
    expect_exit(child, 0, timeout=BOOT_SECONDS)
    assert "size (132, 50)" in transcript_lines(child)


def test_window_size_default_without_terminal(disk):
    run = run_kernel("-c", "import os; print('size', tuple(os.get_terminal_size()))", disk=disk)
    assert run.status == 0
    assert "size (80, 24)" in run.lines


def test_pydoc_script_matches_linux(disk):
    run = run_kernel("bin/pydoc3.11", disk=disk)
    reference = run_reference("bin/pydoc3.11")
    assert run.status == reference.status == 0
    assert run.lines[0] == "pydoc - the Python documentation tool"
    assert run.stdout == reference.stdout


def test_pydoc_script_on_terminal_matches_linux(built):
    child = spawn_recorded("bin/pydoc3.11")
    expect_exit(child, 0, timeout=BOOT_SECONDS)
    reference = run_reference("bin/pydoc3.11")
    assert normalise(child.logfile_read.getvalue()) == reference.stdout


def test_pydoc_script_by_execv(console):
    # execve of the script itself: the kernel reads its "#!" line and runs
    # /opt/python3.11/bin/python3.11 on it.
    reference = run_reference("bin/pydoc3.11")
    console.logfile_read = io.StringIO()
    console.send("import os; os.execv('bin/pydoc3.11', ['bin/pydoc3.11'])\r")
    expect_exit(console, 0, timeout=BOOT_SECONDS)
    output = normalise(console.logfile_read.getvalue())
    assert output.endswith(reference.stdout)


def test_pydoc_script_as_init(disk):
    # init itself is the script: the kernel follows its "#!" line at boot.
    run = run_kernel(init="/opt/python3.11/bin/pydoc3.11", disk=disk)
    reference = run_reference("bin/pydoc3.11")
    assert run.status == 0
    assert run.stdout == reference.stdout


def test_pydoc_module_prints_help_of_len(disk):
    run = run_kernel("-m", "pydoc", "len", disk=disk)
    reference = run_reference("-m", "pydoc", "len")
    assert run.status == 0
    # The console is a terminal, so pydoc looks for a pager with
    # os.system("more ..."). The image has no `more`, so /bin/sh reports it
    # once and pydoc uses its own pager, as Linux does without `more`. The
    # reference's output is a pipe, so it prints without a pager.
    assert run.lines[0] == "sh: 1: more: not found"
    assert run.lines[1] == "Help on built-in function len in module builtins:"
    assert "    Return the number of items in a container." in run.lines
    assert "\n".join(run.lines[1:]).strip() == reference.stdout.strip()
