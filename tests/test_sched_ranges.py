"""Scheduler queries, fallocate and fadvise64, compared with Linux."""

from conftest import ATTEMPT, compare_with_linux

SCHED = ATTEMPT + r"""
import errno, os, sys

for name in ("SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_IDLE"):
    policy = getattr(os, name)
    print(name, os.sched_get_priority_min(policy), os.sched_get_priority_max(policy))
attempt("priority of policy 4", os.sched_get_priority_max, 4)
interval = os.sched_rr_get_interval(0)
print("interval in range", 0 <= interval < 1)
attempt("interval pid -1", os.sched_rr_get_interval, -1)
attempt("setaffinity cpu 0", os.sched_setaffinity, 0, {0})
print("affinity", os.sched_getaffinity(0))
attempt("setaffinity empty", os.sched_setaffinity, 0, [])
attempt("setaffinity pid -1", os.sched_setaffinity, -1, {0})

path = "/tmp/range-test"
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"abc")
attempt("fallocate", os.posix_fallocate, fd, 0, 10000)
print("size", os.fstat(fd).st_size)
attempt("fallocate inside", os.posix_fallocate, fd, 10, 20)
print("size", os.fstat(fd).st_size)
os.lseek(fd, 0, 0)
data = os.read(fd, 20000)
print("content", data[:3], data[3:] == bytes(len(data) - 3), len(data))
attempt("fallocate zero length", os.posix_fallocate, fd, 0, 0)
attempt("fallocate negative offset", os.posix_fallocate, fd, -1, 10)
attempt("fadvise", os.posix_fadvise, fd, 0, 0, os.POSIX_FADV_WILLNEED)
attempt("fadvise bad advice", os.posix_fadvise, fd, 0, 0, 99)
attempt("fadvise negative length", os.posix_fadvise, fd, 0, -1, os.POSIX_FADV_NORMAL)
os.close(fd)
ro = os.open(path, os.O_RDONLY)
attempt("fallocate read-only", os.posix_fallocate, ro, 0, 10)
os.close(ro)
d = os.open("/tmp", os.O_RDONLY)
attempt("fadvise directory", os.posix_fadvise, d, 0, 0, os.POSIX_FADV_NORMAL)
os.close(d)
r, w = os.pipe()
attempt("fallocate pipe", os.posix_fallocate, w, 0, 10)
attempt("fadvise pipe", os.posix_fadvise, r, 0, 0, os.POSIX_FADV_NORMAL)
attempt("fadvise bad fd", os.posix_fadvise, 99, 0, 0, os.POSIX_FADV_NORMAL)
"""


def test_sched_and_ranges_match_linux(disk):
    lines = compare_with_linux(SCHED, disk)
    assert "SCHED_FIFO 1 99" in lines
    assert "priority of policy 4 EINVAL" in lines
    assert "interval in range True" in lines
    assert "setaffinity empty EINVAL" in lines
    assert "size 10000" in lines
    assert "content b'abc' True 10000" in lines
    assert "fallocate read-only EBADF" in lines
    assert "fadvise pipe ESPIPE" in lines
    assert "fadvise bad advice EINVAL" in lines
