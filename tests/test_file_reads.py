"""Reads of ext4 files: contents against Linux across writes, truncates and
syncs, and the `relatime` access times."""

from conftest import ATTEMPT, compare_with_linux, e2fsck_clean, run_kernel

# Prints the length and a SHA-256 prefix of what each read returns. The
# reader's descriptor stays open across the writes of two other descriptors,
# and `os.fsync` in between lets the kernel's reads switch from rsext4's path
# to the extent maps. (The kernel has no `sync` syscall yet, and its fsync
# syncs the whole file system.)
READS = r"""
import hashlib, os
base = "read-checks"
os.mkdir(base)
path = os.path.join(base, "data.bin")
pattern = bytes((i * 131 + 7) % 251 for i in range(100_000))

def digest(data):
    return len(data), hashlib.sha256(data).hexdigest()[:16]

with open(path, "wb") as f:
    f.write(pattern)
    os.fsync(f.fileno())
reader = os.open(path, os.O_RDONLY)

def show(label, *cases):
    print(label, [digest(os.pread(reader, size, offset)) for offset, size in cases])

show("boundaries", (0, 100_000), (4095, 2), (4086, 4116), (12_411, 20_487),
     (99_990, 100), (100_000, 10), (200_000, 10))

writer = os.open(path, os.O_RDWR)
os.pwrite(writer, b"inside one block", 5000)
show("partial write", (0, 200_000), (4990, 40))
os.fsync(writer)
show("partial write synced", (0, 200_000), (4990, 40))
os.ftruncate(writer, 10_000)
show("shrunk", (0, 200_000))
os.ftruncate(writer, 30_000)
show("grown", (0, 200_000), (9990, 20))
os.fsync(writer)
show("grown synced", (0, 200_000))
appender = os.open(path, os.O_WRONLY | os.O_APPEND)
os.write(appender, pattern[:5000])
show("appended", (0, 200_000), (29_000, 2000))
os.fsync(appender)
show("appended synced", (0, 200_000), (34_990, 20))
for fd in (reader, writer, appender):
    os.close(fd)

sparse = os.path.join(base, "sparse.bin")
fd = os.open(sparse, os.O_CREAT | os.O_WRONLY, 0o644)
os.pwrite(fd, pattern[:3000], 0)
os.pwrite(fd, pattern[:3000], 1 << 20)
os.ftruncate(fd, (1 << 21) + 5)
os.fsync(fd)
os.close(fd)
with open(sparse, "rb") as f:
    data = f.read()
print("sparse", digest(data), data[2995:3005], data[(1 << 20) - 5:(1 << 20) + 5])
print("sparse end", digest(data[-10:]))
"""


def test_reads_match_linux(disk):
    lines = compare_with_linux(READS, disk)
    assert len(lines) == 10
    clean, report = e2fsck_clean(disk)
    assert clean, report


# Sets the times with `os.utime`, which also sets the change time to now,
# and prints whether a read changed the access time. Linux's `relatime`
# leaves an access time newer than the modification and change times, and
# sets an older one. The Linux reference prints the same two lines where
# the host mounts its file system with `relatime`, so the test does not
# depend on the host's mount options and checks the kernel alone.
RELATIME = r"""
import os, time
path = "relatime.txt"
with open(path, "wb") as f:
    f.write(b"x" * 5000)
    os.fsync(f.fileno())
now = int(time.time())

os.utime(path, (now + 1000, now - 1000))
with open(path, "rb") as f:
    f.read()
print("newer atime kept", os.stat(path).st_atime == now + 1000)

os.utime(path, (now - 500, now - 100))
with open(path, "rb") as f:
    f.read()
print("older atime set", os.stat(path).st_atime >= now)
os.remove(path)
"""


def test_access_time_follows_relatime(disk):
    run = run_kernel("-c", RELATIME, disk=disk)
    assert run.status == 0, run.stdout[-2000:]
    assert "newer atime kept True" in run.lines
    assert "older atime set True" in run.lines


SYNC = ATTEMPT + r"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)

def syncfs(fd):
    if libc.syncfs(fd) != 0:
        raise OSError(ctypes.get_errno(), "syncfs")

with open("sync-check.txt", "wb") as f:
    f.write(b"x" * 5000)
attempt("sync", os.sync)
with open("sync-check.txt", "r+b") as f:
    f.seek(4096)
    f.write(b"after")
    attempt("syncfs", syncfs, f.fileno())
with open("sync-check.txt", "rb") as f:
    data = f.read()
print("read back", len(data), data[4090:4103])
r, w = os.pipe()
attempt("syncfs pipe", syncfs, r)
os.close(r)
os.close(w)
attempt("syncfs closed fd", syncfs, 999)
os.unlink("sync-check.txt")
"""


def test_sync_and_syncfs_match_linux(disk):
    lines = compare_with_linux(SYNC, disk)
    assert "sync ok" in lines
    assert "syncfs pipe ok" in lines
    assert "syncfs closed fd EBADF" in lines


# Reads into a buffer whose last page is PROT_NONE. Linux copies up to the
# bad page and returns that count, or EFAULT when the buffer starts there,
# and moves the file offset by the bytes copied. preadv with a bad second
# iovec returns the bytes of the first. The Linux reference is not compared
# here, because qemu-aarch64 user mode checks the whole buffer before the
# host's read and fails with EFAULT.
PARTIAL_FAULT = r"""
import ctypes, errno, mmap, os
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.read.restype = ctypes.c_ssize_t
libc.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
libc.pread.restype = ctypes.c_ssize_t
libc.pread.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_long]
page = mmap.PAGESIZE
data = bytes((i * 7 + 3) % 256 for i in range(5 * page))
with open("fault-check.bin", "wb") as f:
    f.write(data)
    # After the sync, the kernel reads the file through its block cache.
    os.fsync(f.fileno())
base = libc.mmap(None, 3 * page, mmap.PROT_READ | mmap.PROT_WRITE,
                 mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
PROT_NONE = 0
assert libc.mprotect(base + 2 * page, page, PROT_NONE) == 0

def show(label, count):
    print(label, count if count >= 0 else errno.errorcode[ctypes.get_errno()])

fd = os.open("fault-check.bin", os.O_RDONLY)
show("pread whole", libc.pread(fd, base, 2 * page, 100))
print("pread whole bytes", ctypes.string_at(base, 2 * page) == data[100:100 + 2 * page])
show("pread across", libc.pread(fd, base + page + 100, 2 * page, 0))
print("pread across bytes", ctypes.string_at(base + page + 100, page - 100) == data[:page - 100])
show("pread bad start", libc.pread(fd, base + 2 * page, 10, 0))
os.lseek(fd, 50, os.SEEK_SET)
show("read across", libc.read(fd, base + page + 300, 3 * page))
print("offset after", os.lseek(fd, 0, os.SEEK_CUR))
show("read bad start", libc.read(fd, base + 2 * page, 10))
print("offset after bad", os.lseek(fd, 0, os.SEEK_CUR))

class Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

libc.preadv.restype = ctypes.c_ssize_t
libc.preadv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_long]
iov = (Iovec * 2)(Iovec(base, 100), Iovec(base + 2 * page, 10))
show("preadv second bad", libc.preadv(fd, iov, 2, 0))
iov = (Iovec * 2)(Iovec(base + 2 * page, 10), Iovec(base, 100))
show("preadv first bad", libc.preadv(fd, iov, 2, 0))
os.close(fd)
os.unlink("fault-check.bin")
"""


def test_read_into_partly_bad_buffer(disk):
    run = run_kernel("-c", PARTIAL_FAULT, disk=disk)
    assert run.status == 0, run.stdout[-2000:]
    assert run.lines[-11:] == [
        "pread whole 8192",
        "pread whole bytes True",
        "pread across 3996",
        "pread across bytes True",
        "pread bad start EFAULT",
        "read across 3796",
        "offset after 3846",
        "read bad start EFAULT",
        "offset after bad 3846",
        "preadv second bad 100",
        "preadv first bad EFAULT",
    ]
