"""flock and mknodat seen from Python (fcntl.flock, os.mknod), on ext4 (/tmp
of the root disk) and on tmpfs (/dev/shm)."""

import pytest

from conftest import compare_with_linux, e2fsck_clean, run_kernel

FLOCK = r"""
import errno, fcntl, os
fd = os.open('/tmp/lock', os.O_CREAT | os.O_RDWR, 0o644)
for name in ('LOCK_EX', 'LOCK_SH', 'LOCK_UN'):
    fcntl.flock(fd, getattr(fcntl, name))
    print(name, 'ok')
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print('LOCK_EX|LOCK_NB ok')
for operation in (0, fcntl.LOCK_NB, fcntl.LOCK_SH | fcntl.LOCK_EX, 16, 32 | fcntl.LOCK_EX):
    try:
        fcntl.flock(fd, operation)
        print('operation', operation, 'accepted')
    except OSError as error:
        print('operation', operation, errno.errorcode[error.errno])
path_fd = os.open('/tmp/lock', os.O_PATH)
for name in ('LOCK_SH', 'LOCK_UN'):
    try:
        fcntl.flock(path_fd, getattr(fcntl, name))
        print('O_PATH', name, 'ok')
    except OSError as error:
        print('O_PATH', name, errno.errorcode[error.errno])
os.close(fd)
try:
    fcntl.flock(fd, fcntl.LOCK_EX)
except OSError as error:
    print('closed fd', errno.errorcode[error.errno])
"""


def test_flock_operations(disk):
    run = run_kernel("-c", FLOCK, disk=disk)
    assert run.status == 0, run.stderr
    expected = [
        "LOCK_EX ok",
        "LOCK_SH ok",
        "LOCK_UN ok",
        "LOCK_EX|LOCK_NB ok",
        "operation 0 EINVAL",
        "operation 4 EINVAL",
        "operation 3 EINVAL",
        "operation 16 EINVAL",
        # Linux 6.1 ignores the removed LOCK_MAND bit and returns 0.
        "operation 34 accepted",
        "O_PATH LOCK_SH EBADF",
        "O_PATH LOCK_UN EBADF",
        "closed fd EBADF",
    ]
    assert run.lines[-len(expected):] == expected


MKNOD = r"""
import errno, os, stat, sys
directory = sys.argv[1]
os.umask(0o022)
os.mknod(directory + '/fifo', 0o666 | stat.S_IFIFO)
os.mknod(directory + '/plain', 0o666)
os.mknod(directory + '/regular', 0o640 | stat.S_IFREG)
os.mknod(directory + '/socket', 0o777 | stat.S_IFSOCK)
for name in ('fifo', 'plain', 'regular', 'socket'):
    st = os.stat(directory + '/' + name)
    print(name, stat.filemode(st.st_mode), st.st_size)
print('listdir', sorted(os.listdir(directory)))
cases = [
    ('char', 0o600 | stat.S_IFCHR, os.makedev(1, 3)),
    ('block', 0o600 | stat.S_IFBLK, os.makedev(8, 0)),
    ('dir', 0o755 | stat.S_IFDIR, 0),
    ('link', 0o777 | stat.S_IFLNK, 0),
    ('fifo', 0o600 | stat.S_IFIFO, 0),
    ('missing/x', 0o600 | stat.S_IFIFO, 0),
]
for name, mode, device in cases:
    try:
        os.mknod(directory + '/' + name, mode, device)
        print(name, 'created')
    except OSError as error:
        print(name, errno.errorcode[error.errno])
print('exists', sorted(n for n in os.listdir(directory) if n in ('char', 'block', 'dir', 'link')))
for name in ('fifo', 'plain', 'regular', 'socket'):
    os.unlink(directory + '/' + name)
print('left', sorted(os.listdir(directory)))
"""

MKNOD_EXPECTED = [
    "fifo prw-r--r-- 0",
    "plain -rw-r--r-- 0",
    "regular -rw-r----- 0",
    "socket srwxr-xr-x 0",
    "listdir ['fifo', 'plain', 'regular', 'socket']",
    "char EPERM",
    "block EPERM",
    "dir EPERM",
    "link EINVAL",
    "fifo EEXIST",
    "missing/x ENOENT",
    "exists []",
    "left []",
]


@pytest.mark.parametrize("directory", ["/tmp/nodes", "/dev/shm"])
def test_mknod_node_types(disk, directory):
    script = f"import os\nos.makedirs({directory!r}, exist_ok=True)\n" + MKNOD
    run = run_kernel("-c", script, directory, disk=disk)
    assert run.status == 0, run.stderr
    assert run.lines[-len(MKNOD_EXPECTED):] == MKNOD_EXPECTED
    clean, report = e2fsck_clean(disk)
    assert clean, report


UNIX_BIND = r"""
import errno, os, socket, stat
path = "/tmp/bind-test.sock"
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
st = os.stat(path)
print("is socket", stat.S_ISSOCK(st.st_mode), oct(stat.S_IMODE(st.st_mode)))
print("name", s.getsockname())
t = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    t.bind(path)
except OSError as e:
    print("second bind", errno.errorcode[e.errno])
try:
    s.bind(path + "2")
except OSError as e:
    print("rebind", errno.errorcode[e.errno])
# Closed sockets: an unclosed one's ResourceWarning calls getpeername,
# a stub that logs a warning line on the console.
for sock in (s, t):
    sock.close()
os.unlink(path)
print("removed", os.path.exists(path))
"""


def test_unix_bind_creates_socket_node(disk):
    lines = compare_with_linux(UNIX_BIND, disk)
    assert "is socket True 0o755" in lines
    assert "second bind EADDRINUSE" in lines
    assert "rebind EINVAL" in lines
    assert "removed False" in lines
