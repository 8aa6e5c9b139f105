"""execveat, and execve through a descriptor (os.execve with an fd, which
musl runs as execveat with AT_EMPTY_PATH)."""

from conftest import run_kernel

EXECVEAT = r"""
import ctypes, errno, os, sys

libc = ctypes.CDLL(None, use_errno=True)
SYS_EXECVEAT = 281
AT_EMPTY_PATH = 0x1000
AT_SYMLINK_NOFOLLOW = 0x100

def c_strings(items):
    array = (ctypes.c_char_p * (len(items) + 1))()
    array[:-1] = [item.encode() for item in items]
    return array

def execveat(dirfd, path, argv, flags):
    env = c_strings([f"{k}={v}" for k, v in os.environ.items()])
    result = libc.syscall(SYS_EXECVEAT, dirfd, path, c_strings(argv), env, flags)
    return errno.errorcode[ctypes.get_errno()] if result == -1 else result

def run_child(label, body):
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        try:
            body()
        finally:
            sys.stdout.flush()
            os._exit(99)
    _, status = os.waitpid(pid, 0)
    print(label, "exit", os.waitstatus_to_exitcode(status), flush=True)

program = sys.executable
fd = os.open(program, os.O_RDONLY)
run_child("fexecve", lambda: os.execve(fd, [program, "-c", "print('fexecve ran')"], os.environ))

bindir = os.open(os.path.dirname(program), os.O_RDONLY)
name = os.path.basename(program).encode()
run_child("relative", lambda: print("relative", execveat(bindir, name, [program, "-c", "print('relative ran')"], 0)))
print("empty path without flag", execveat(bindir, b"", [program], 0))
print("bad flags", execveat(bindir, name, [program], 0x2))
print("directory fd", execveat(bindir, b"", [program], AT_EMPTY_PATH))
os.symlink(program, "/tmp/python-link")
print("symlink nofollow", execveat(-100, b"/tmp/python-link", [program], AT_SYMLINK_NOFOLLOW))
run_child("symlink", lambda: print(execveat(-100, b"/tmp/python-link", [program, "-c", "print('link ran')"], 0)))
r, w = os.pipe()
print("pipe fd", execveat(r, b"", [program], AT_EMPTY_PATH))
print("file as dirfd", execveat(fd, b"x", [program], 0))
"""


def test_execveat_paths_and_errors(disk):
    # Kernel only: the Linux reference (qemu-user) cannot execve Python.
    # The expected errnos are Linux 6.1's for the same calls.
    run = run_kernel("-c", EXECVEAT, disk=disk)
    assert run.status == 0, run.stdout[-2000:]
    assert "fexecve ran" in run.lines
    assert "fexecve exit 0" in run.lines
    assert "relative ran" in run.lines
    assert "relative exit 0" in run.lines
    assert "empty path without flag ENOENT" in run.lines
    assert "bad flags EINVAL" in run.lines
    assert "directory fd EACCES" in run.lines
    assert "symlink nofollow ELOOP" in run.lines
    assert "link ran" in run.lines
    assert "pipe fd EACCES" in run.lines
    assert "file as dirfd ENOTDIR" in run.lines
