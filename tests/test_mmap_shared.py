"""Writes through MAP_SHARED file mappings reach the file as on Linux: on
msync, fsync, munmap, mremap and when the process exits or runs execve."""

from conftest import compare_with_linux, run_kernel

# Each step prints what os.read returns from the file afterwards. On Linux
# read() returns a mapping's changes at once, and on the kernel only after a
# write-back, so the script reads the file only after a step that writes
# back (flush, close, munmap, fsync, exit).
SHARED_WRITES = r"""
import ctypes, errno, mmap, os

P = mmap.PAGESIZE
MS_ASYNC, MS_INVALIDATE, MS_SYNC = 1, 2, 4
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.msync.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.mremap.restype = ctypes.c_void_p
libc.mremap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int, ctypes.c_void_p]
MREMAP_MAYMOVE, MREMAP_FIXED = 1, 2

def result(value):
    return "ok" if value == 0 else errno.errorcode[ctypes.get_errno()]

def address(m):
    return ctypes.addressof(ctypes.c_char.from_buffer(m))

def make(content):
    with open("shared.bin", "wb") as f:
        f.write(content)
    return os.open("shared.bin", os.O_RDWR)

def read_file(start, count):
    fd = os.open("shared.bin", os.O_RDONLY)
    os.lseek(fd, start, os.SEEK_SET)
    data = os.read(fd, count)
    os.close(fd)
    return data

fd = make(b"a" * (2 * P))
m = mmap.mmap(fd, 0)
m[0:5] = b"flush"
m.flush()
print("flush", read_file(0, 5))
m[P:P + 5] = b"close"
m.close()
print("close", read_file(P, 5), read_file(0, 5))

m = mmap.mmap(fd, 0)
pid = os.fork()
if pid == 0:
    m[10:15] = b"child"
    os._exit(0)
os.waitpid(pid, 0)
print("fork parent sees", m[10:15])
print("fork file after child exit", read_file(10, 5))
m.close()

pid = os.fork()
if pid == 0:
    own = mmap.mmap(fd, 0)
    own[20:24] = b"exit"
    os._exit(0)
os.waitpid(pid, 0)
print("exit without munmap", read_file(20, 4))

# The mmap module unmaps its whole range when an object goes away, so the
# steps that unmap part of a mapping use mmap and munmap through ctypes.
base = libc.mmap(None, 2 * P, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
ctypes.memmove(base, b"one", 3)
ctypes.memmove(base + P, b"two", 3)
print("partial munmap", result(libc.munmap(base + P, P)), read_file(P, 3))
print("msync on the unmapped page", result(libc.msync(base + P, P, MS_SYNC)))
print("msync across the hole", result(libc.msync(base, 2 * P, MS_ASYNC)), read_file(0, 3))
print("msync bad flags", result(libc.msync(base, P, MS_ASYNC | MS_SYNC)), result(libc.msync(base, P, 8)))
print("msync unaligned", result(libc.msync(base + 1, P, MS_SYNC)))
ctypes.memmove(base + 3, b"inv", 3)
print("msync invalidate", result(libc.msync(base, P, MS_INVALIDATE | MS_SYNC)), read_file(0, 6))
print("munmap rest", result(libc.munmap(base, P)))

# A mapping from file offset P, split in three by mprotect. Its last page
# moves to another address with mremap and is written there.
fd = make(b"h" * (4 * P))
base = libc.mmap(None, 3 * P, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, P)
print("split", result(libc.mprotect(base + P, P, mmap.PROT_READ)))
ctypes.memmove(base, b"s0", 2)
ctypes.memmove(base + 2 * P, b"s2", 2)
target = libc.mmap(None, P, 0, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
moved = libc.mremap(base + 2 * P, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, target)
print("mremap moved", moved == target, ctypes.string_at(moved, 2))
ctypes.memmove(moved + 2, b"mv", 2)
print("munmap moved", result(libc.munmap(moved, P)), read_file(3 * P, 4))
print("munmap split", result(libc.munmap(base, 2 * P)), read_file(P, 2), read_file(2 * P, 2))

# A page read through the mapping and left unchanged is not written back
# over a later write() to the file.
fd = make(b"c" * (2 * P))
m = mmap.mmap(fd, 0)
print("clean page read", m[P:P + 3])
os.pwrite(fd, b"pwrite", P)
m[0:5] = b"dirty"
m.flush()
print("clean page kept", read_file(P, 6), read_file(0, 5))
m.close()

# A mapping longer than the file: bytes past the end stay in memory.
fd = make(b"d" * 100)
big = libc.mmap(None, 3 * P, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
ctypes.memmove(big + 96, b"WXYZ1234", 8)
print("longer msync", result(libc.msync(big, 3 * P, MS_SYNC)))
print("longer munmap", result(libc.munmap(big, 3 * P)))
print("longer file", os.fstat(fd).st_size, read_file(94, 10))

fd = make(b"e" * P)
m = mmap.mmap(fd, 0, flags=mmap.MAP_PRIVATE)
m[0:7] = b"private"
m.flush()
m.close()
print("private", read_file(0, 7))

m = mmap.mmap(fd, 0)
m[0:5] = b"fsync"
os.fsync(fd)
print("fsync", read_file(0, 5))
m[5:10] = b"fdata"
os.fdatasync(fd)
print("fdatasync", read_file(0, 10))
m.close()

fd = make(b"f" * (2 * P))
m = mmap.mmap(fd, 0)
m[P:P + 4] = b"tail"
m[0:4] = b"head"
m.resize(P)
print("resize shrink", os.fstat(fd).st_size, m[0:4])
m.resize(3 * P)
m[2 * P:2 * P + 4] = b"grow"
m.flush()
print("resize grow", os.fstat(fd).st_size, read_file(0, 4), read_file(2 * P, 4), m[P:P + 4])
m.close()

fd = make(b"g" * P)
m = mmap.mmap(fd, 0)
base = address(m)
m[0:3] = b"ro1"
print("mprotect read-only", result(libc.mprotect(base, P, mmap.PROT_READ)))
print("mprotect writable", result(libc.mprotect(base, P, mmap.PROT_READ | mmap.PROT_WRITE)))
m[3:6] = b"rw2"
m.close()
print("mprotect", read_file(0, 6))

with open("data.bin", "wb") as f:
    f.write(b"readinto")
m = mmap.mmap(fd, 0)
with open("data.bin", "rb") as f:
    f.readinto(memoryview(m)[8:16])
m.close()
print("readinto", read_file(8, 8))

# A file of the image that was not written in this boot is read straight
# from the block cache into the mapping. The page is mapped clean by a read
# first, so the copy itself must mark it dirty.
m = mmap.mmap(fd, 0)
m[16:24]
with open("lib/python3.11/os.py", "rb", buffering=0) as f:
    f.readinto(memoryview(m)[16:24])
m.close()
print("readinto from the image", read_file(16, 8))

ro = os.open("shared.bin", os.O_RDONLY)
try:
    mmap.mmap(ro, 0)
except OSError as e:
    print("writable shared map of O_RDONLY", errno.errorcode[e.errno])
view = libc.mmap(None, P, mmap.PROT_READ, mmap.MAP_SHARED, ro, 0)
print("mprotect write on O_RDONLY", result(libc.mprotect(view, P, mmap.PROT_READ | mmap.PROT_WRITE)))
print("mprotect exec on O_RDONLY", result(libc.mprotect(view, P, mmap.PROT_READ | mmap.PROT_EXEC)))
libc.munmap(view, P)
private = libc.mmap(None, P, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE, ro, 0)
print("private writable map of O_RDONLY", "ok" if private != ctypes.c_void_p(-1).value else "failed")
wo = os.open("shared.bin", os.O_WRONLY)
try:
    mmap.mmap(wo, 0, prot=mmap.PROT_WRITE)
except OSError as e:
    print("map of O_WRONLY", errno.errorcode[e.errno])
"""

# A child maps the file, writes to it and runs execve without unmapping it.
# The Linux reference (qemu-user) cannot execve Python, so this runs on the
# kernel only and expects what Linux gives.
EXECVE_WRITE_BACK = r"""
import mmap, os, sys

with open("exec.bin", "wb") as f:
    f.write(b"x" * 4096)
pid = os.fork()
if pid == 0:
    fd = os.open("exec.bin", os.O_RDWR)
    m = mmap.mmap(fd, 0)
    m[0:4] = b"exec"
    os.execv(sys.executable, [sys.executable, "-c", "pass"])
_, status = os.waitpid(pid, 0)
with open("exec.bin", "rb") as f:
    print("after execve", os.waitstatus_to_exitcode(status), f.read(6))
"""

# Maps a sparse file, fills the disk, then dirties every page of the
# mapping: writing the holes back needs new blocks, so msync fails with EIO
# and munmap logs the lost pages. Kernel only, because the reference would
# fill the host's disk.
WRITE_BACK_FAILURE = r"""
import errno, mmap, os

P = mmap.PAGESIZE
fd = os.open("sparse.bin", os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 16 * P)
m = mmap.mmap(fd, 0)
filler = os.open("filler.bin", os.O_WRONLY | os.O_CREAT, 0o644)
for size in (1 << 20, P):
    try:
        while True:
            os.write(filler, b"z" * size)
    except OSError as e:
        print("fill", size, errno.errorcode[e.errno])
for page in range(16):
    m[page * P] = 1
try:
    m.flush()
    print("flush ok")
except OSError as e:
    print("flush", errno.errorcode[e.errno])
m.close()
print("closed")
"""


def test_shared_file_writes_match_linux(disk):
    lines = compare_with_linux(SHARED_WRITES, disk)
    assert "flush b'flush'" in lines
    assert "fork file after child exit b'child'" in lines
    assert "msync on the unmapped page ENOMEM" in lines
    assert "private b'eeeeeee'" in lines


def test_execve_writes_back_shared_mapping(disk):
    run = run_kernel("-c", EXECVE_WRITE_BACK, disk=disk)
    assert run.status == 0, run.stdout[-2000:]
    assert "after execve 0 b'execxx'" in run.lines


def test_write_back_failure_is_eio_and_logged(disk):
    run = run_kernel("-c", WRITE_BACK_FAILURE, disk=disk)
    assert run.status == 0, run.stdout[-2000:]
    assert "fill 4096 ENOSPC" in run.lines
    assert "flush EIO" in run.lines
    assert "closed" in run.lines
    lost = [line for line in run.lines if "writing back 16 pages of shared file mappings failed" in line]
    assert len(lost) == 1, run.stdout[-2000:]
