"""User and group ids, supplementary groups and nice values, compared with
Linux."""

from conftest import ATTEMPT, compare_with_linux

IDS = ATTEMPT + r"""
import ctypes, errno, os, sys

print("groups", os.getgroups())
attempt("setgroups", os.setgroups, [30, 10, 20])
print("groups after", os.getgroups())
libc = ctypes.CDLL(None, use_errno=True)
arr = (ctypes.c_uint * 1)()
print("getgroups small", libc.getgroups(1, arr), errno.errorcode.get(ctypes.get_errno()))
print("getgroups count", libc.getgroups(0, None))
print("getgroups negative", libc.getgroups(-1, arr), errno.errorcode.get(ctypes.get_errno()))
sys.stdout.flush()
pid = os.fork()
if pid == 0:
    print("child groups", os.getgroups(), flush=True)
    attempt("setresgid", os.setresgid, 100, 200, -1)
    print("resgid", os.getresgid(), "egid", os.getegid())
    attempt("setresuid", os.setresuid, 1000, 1001, 1002)
    print("resuid", os.getresuid(), "euid", os.geteuid())
    attempt("setresuid to saved", os.setresuid, -1, 1002, -1)
    print("resuid", os.getresuid())
    attempt("setresuid to other", os.setresuid, 5, -1, -1)
    attempt("setgroups unprivileged", os.setgroups, [1])
    attempt("setresgid unprivileged", os.setresgid, 7, -1, -1)
    sys.stdout.flush()
    os._exit(0)
os.waitpid(pid, 0)
"""


def test_ids_and_groups_match_linux(disk):
    lines = compare_with_linux(IDS, disk)
    assert "groups after [10, 20, 30]" in lines
    assert "getgroups small -1 EINVAL" in lines
    assert "getgroups count 3" in lines
    assert "child groups [10, 20, 30]" in lines
    assert "resgid (100, 200, 0) egid 200" in lines
    assert "resuid (1000, 1002, 1002)" in lines
    assert "setresuid to other EPERM" in lines
    assert "setgroups unprivileged EPERM" in lines


PRIORITY_AND_REIDS = ATTEMPT + r"""
import errno, os, sys

attempt("nice", os.getpriority, os.PRIO_PROCESS, 0)
attempt("set 5", os.setpriority, os.PRIO_PROCESS, 0, 5)
attempt("nice", os.getpriority, os.PRIO_PROCESS, os.getpid())
attempt("set 100", os.setpriority, os.PRIO_PROCESS, 0, 100)
attempt("clamped", os.getpriority, os.PRIO_PROCESS, 0)
attempt("bad which", os.getpriority, 7, 0)
attempt("no such process", os.getpriority, os.PRIO_PROCESS, 999999)
attempt("set 3", os.setpriority, os.PRIO_PROCESS, 0, 3)
sys.stdout.flush()
pid = os.fork()
if pid == 0:
    attempt("child inherits", os.getpriority, os.PRIO_PROCESS, 0)
    attempt("setreuid", os.setreuid, 1000, 1000)
    print("ids", os.getresuid())
    attempt("raise nice", os.setpriority, os.PRIO_PROCESS, 0, 10)
    attempt("lower nice", os.setpriority, os.PRIO_PROCESS, 0, 0)
    attempt("setreuid back", os.setreuid, 0, -1)
    sys.stdout.flush()
    os._exit(0)
os.waitpid(pid, 0)
attempt("setregid", os.setregid, 50, 60)
print("gids", os.getresgid())
attempt("setreuid keep", os.setreuid, -1, -1)
attempt("setreuid effective", os.setreuid, -1, 200)
print("ids", os.getresuid())
"""


def test_priority_and_setreuid_match_linux(disk):
    lines = compare_with_linux(PRIORITY_AND_REIDS, disk)
    assert "clamped 19" in lines
    assert "child inherits 3" in lines
    assert "lower nice EACCES" in lines
    assert "setreuid back EPERM" in lines
    assert "gids (50, 60, 60)" in lines
    assert "ids (0, 200, 200)" in lines
