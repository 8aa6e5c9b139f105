"""User and group ids and supplementary groups, compared with Linux."""

from conftest import compare_with_linux

IDS = r"""
import ctypes, errno, os, sys

def attempt(label, call, *args):
    try:
        result = call(*args)
        print(label, "ok" if result is None else result)
    except OSError as e:
        print(label, errno.errorcode[e.errno])
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
