"""Writes to a pipe block as on Linux. A large blocking write waits for room
until all bytes are written or a signal ends it with the count so far. A
write of at most PIPE_BUF bytes goes in whole or not at all."""

from conftest import compare_with_linux

# The exact count of the interrupted write differs: Linux counts a pipe's
# room in whole pages, this kernel in bytes.
PIPE_WRITES = r"""
import errno, fcntl, os, signal, threading, time

calls = []
signal.signal(signal.SIGALRM, lambda *args: calls.append(time.monotonic()))
read_end, write_end = os.pipe()
got = []
reader = threading.Thread(target=lambda: got.append(os.read(read_end, 1)), daemon=True)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
reader.start()
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGALRM])
start = time.monotonic()
signal.alarm(1)
total = 4 * 1024 * 1024
written = os.write(write_end, b"x" * total)
elapsed = time.monotonic() - start
print("blocked until the signal", elapsed > 0.8)
print("partial count", 65536 <= written < total)
print("handler ran once", len(calls) == 1)
print("reader got", got)
os.close(read_end)
os.close(write_end)

read_end, write_end = os.pipe()
fcntl.fcntl(write_end, fcntl.F_SETFL, os.O_NONBLOCK)
print("fill", os.write(write_end, b"y" * (65536 - 100)))
try:
    os.write(write_end, b"z" * 200)
    print("200 bytes", "written")
except OSError as err:
    print("200 bytes", errno.errorcode[err.errno])
print("30 bytes", os.write(write_end, b"z" * 30))
"""


def test_pipe_writes_match_linux(disk):
    lines = compare_with_linux(PIPE_WRITES, disk)
    assert "blocked until the signal True" in lines
    assert "200 bytes EAGAIN" in lines
