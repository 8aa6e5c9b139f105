"""File-system syscalls seen from Python: ext4 on the root disk, devfs,
pipes and readiness, with the disk checked by `e2fsck -fn` afterwards."""

from conftest import ATTEMPT, compare_with_linux, e2fsck_clean, run_kernel

FILE_OPERATIONS = r"""
import os, shutil
os.makedirs('/tmp/t/sub')
with open('/tmp/t/a.txt', 'w') as f:
    f.write('x' * 10000)
os.rename('/tmp/t/a.txt', '/tmp/t/sub/b.txt')
print('listdir', sorted(os.listdir('/tmp/t')), os.listdir('/tmp/t/sub'))
st = os.stat('/tmp/t/sub/b.txt')
print('size', st.st_size, 'mode', oct(st.st_mode), 'nlink', st.st_nlink)
os.symlink('sub/b.txt', '/tmp/t/link')
print('readlink', os.readlink('/tmp/t/link'), open('/tmp/t/link').read(3))
os.link('/tmp/t/sub/b.txt', '/tmp/t/hard')
print('nlink', os.stat('/tmp/t/hard').st_nlink, os.path.samefile('/tmp/t/hard', '/tmp/t/link'))
with open('/tmp/t/hard', 'r+') as f:
    f.truncate(3)
    f.seek(0, 2)
    f.write('end')
print('content', open('/tmp/t/sub/b.txt').read())
with open('/tmp/t/new', 'w') as f:
    f.write('new')
os.replace('/tmp/t/new', '/tmp/t/sub/b.txt')
print('replaced', open('/tmp/t/sub/b.txt').read(), os.stat('/tmp/t/hard').st_nlink)
os.chmod('/tmp/t/hard', 0o600)
os.utime('/tmp/t/hard', (1000000000, 1234567890))
st = os.stat('/tmp/t/hard')
print('chmod', oct(st.st_mode), 'mtime', st.st_mtime)
os.chdir('/tmp/t/sub')
print('cwd', os.getcwd(), os.path.exists('../link'))
os.chdir('/')
shutil.rmtree('/tmp/t')
print('removed', os.path.exists('/tmp/t'))
"""


def test_file_operations_on_ext4(disk):
    run = run_kernel("-c", FILE_OPERATIONS, disk=disk)
    assert run.status == 0, run.stderr
    assert run.lines[-9:] == [
        "listdir ['sub'] ['b.txt']",
        "size 10000 mode 0o100644 nlink 1",
        "readlink sub/b.txt xxx",
        "nlink 2 True",
        "content xxxend",
        "replaced new 1",
        "chmod 0o100600 mtime 1234567890.0",
        "cwd /tmp/t/sub True",
        "removed False",
    ]
    clean, report = e2fsck_clean(disk)
    assert clean, report


ERRNOS = r"""
import errno, os
def code(call, *args):
    try:
        call(*args)
    except OSError as error:
        return errno.errorcode[error.errno]
    return 'ok'
os.mkdir('/tmp/d')
open('/tmp/d/f', 'w').close()
os.symlink('loop2', '/tmp/loop1')
os.symlink('loop1', '/tmp/loop2')
print(code(open, '/tmp/missing'))
print(code(os.mkdir, '/tmp/d'))
print(code(os.rmdir, '/tmp/d'))
print(code(open, '/tmp/d', 'w'))
print(code(os.readlink, '/tmp/d/f'))
print(code(os.open, '/tmp/d/f', os.O_RDONLY | os.O_DIRECTORY))
print(code(os.stat, '/tmp/loop1'))
print(code(os.stat, '/tmp/' + 'n' * 256))
print(code(os.stat, '/tmp/d/f/x'))
print(code(os.open, '/tmp/d/f', os.O_CREAT | os.O_EXCL | os.O_WRONLY))
print(code(os.unlink, '/tmp/d'))
print(code(os.rename, '/tmp/d', '/tmp/d/inner'))
print(code(os.close, 1000))
"""


def test_path_errors_return_linux_errnos(disk):
    run = run_kernel("-c", ERRNOS, disk=disk)
    assert run.status == 0, run.stderr
    assert run.lines[-13:] == [
        "ENOENT", "EEXIST", "ENOTEMPTY", "EISDIR", "EINVAL", "ENOTDIR",
        "ELOOP", "ENAMETOOLONG", "ENOTDIR", "EEXIST", "EISDIR", "EINVAL",
        "EBADF",
    ]


PYC_MODULE = "import os, colorsys; print(os.path.exists(colorsys.__cached__), colorsys.__cached__)"


def test_pyc_written_then_reused(disk):
    first = run_kernel("-c", PYC_MODULE, disk=disk)
    assert first.status == 0, first.stderr
    cached = "/opt/python3.11/lib/python3.11/__pycache__/colorsys.cpython-311.pyc"
    assert first.lines[-1] == f"True {cached}"
    # The second run loads the .pyc: its modification time stays.
    stat = f"import os; print(os.stat({cached!r}).st_mtime_ns)"
    before = run_kernel("-c", stat, disk=disk)
    again = run_kernel("-c", PYC_MODULE, disk=disk)
    after = run_kernel("-c", stat, disk=disk)
    assert again.lines[-1] == f"True {cached}"
    assert before.lines[-1] == after.lines[-1]
    clean, report = e2fsck_clean(disk)
    assert clean, report


DEVICES_AND_PIPES = r"""
import os, select
print('null', open('/dev/null', 'rb').read(), open('/dev/null', 'w').write('gone'))
print('zero', open('/dev/zero', 'rb').read(4))
print('urandom', len(open('/dev/urandom', 'rb').read(32)))
null = os.open('/dev/null', os.O_RDONLY)
print('tty', os.isatty(0), os.isatty(1), os.isatty(null))
os.close(null)
r, w = os.pipe()
poller = select.poll()
poller.register(r, select.POLLIN)
print('poll', poller.poll(0))
os.write(w, b'data')
print('poll', poller.poll(100), select.select([r], [w], [], 0))
epoll = select.epoll()
epoll.register(r, select.EPOLLIN)
print('epoll', epoll.poll(0.1), os.read(r, 10))
os.close(w)
print('eof', os.read(r, 10))
import multiprocessing.synchronize
print('shm', os.listdir('/dev/shm'))
"""


def test_devices_pipes_and_readiness(disk):
    run = run_kernel("-c", DEVICES_AND_PIPES, disk=disk)
    assert run.status == 0, run.stderr
    assert run.lines[-9:] == [
        "null b'' 4",
        "zero b'\\x00\\x00\\x00\\x00'",
        "urandom 32",
        "tty True True False",
        "poll []",
        "poll [(3, 1)] ([3], [4], [])",
        "epoll [(3, 1)] b'data'",
        "eof b''",
        "shm []",
    ]


LARGE_FILES = r"""
import hashlib, os, shutil
data = os.urandom(3 * 1024 * 1024 + 123)
with open('/tmp/big', 'wb') as f:
    f.write(data)
with open('/tmp/big', 'rb') as f:
    print('read', f.read() == data)
shutil.copyfile('/tmp/big', '/tmp/copy')
print('copy', hashlib.sha256(open('/tmp/copy', 'rb').read()).digest() == hashlib.sha256(data).digest())
with open('/tmp/copy', 'r+b') as f:
    f.seek(5 * 1024 * 1024)
    f.write(b'tail')
print('hole', os.path.getsize('/tmp/copy'), open('/tmp/copy', 'rb').read()[4 * 1024 * 1024:][:4])
os.truncate('/tmp/copy', 1000)
print('truncated', os.path.getsize('/tmp/copy'), open('/tmp/copy', 'rb').read() == data[:1000])
"""


def test_large_files_copy_and_sparse_writes(disk):
    run = run_kernel("-c", LARGE_FILES, disk=disk)
    assert run.status == 0, run.stderr
    assert run.lines[-4:] == [
        "read True",
        "copy True",
        "hole 5242884 b'\\x00\\x00\\x00\\x00'",
        "truncated 1000 True",
    ]
    clean, report = e2fsck_clean(disk)
    assert clean, report


PIPE_SIZES = r"""
import errno, fcntl, os
r, w = os.pipe()
print("default", fcntl.fcntl(w, fcntl.F_GETPIPE_SZ))
print("set 5000", fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 5000))
print("read end", fcntl.fcntl(r, fcntl.F_GETPIPE_SZ))
os.write(w, b"x" * 6000)
for size in (4096, 0, 1):
    try:
        print("set", size, fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, size))
    except OSError as e:
        print("set", size, errno.errorcode[e.errno])
with open("/tmp/pipe-size-file", "w") as f:
    try:
        fcntl.fcntl(f.fileno(), fcntl.F_GETPIPE_SZ)
    except OSError as e:
        print("regular file", errno.errorcode[e.errno])
"""


def test_pipe_sizes_match_linux(disk):
    lines = compare_with_linux(PIPE_SIZES, disk)
    assert "default 65536" in lines
    assert "set 5000 8192" in lines
    assert "read end 8192" in lines
    assert "set 4096 EBUSY" in lines
    # Linux rounds 0 up to one page, which the 6000 bytes do not fit.
    assert "set 0 EBUSY" in lines
    assert "regular file EBADF" in lines


MEMFD = ATTEMPT + r"""
import errno, fcntl, mmap, os, stat, sys

fd = os.memfd_create("data")
print("inheritable", os.get_inheritable(fd))
print("flags", oct(fcntl.fcntl(fd, fcntl.F_GETFL)))
st = os.fstat(fd)
print("regular", stat.S_ISREG(st.st_mode), oct(stat.S_IMODE(st.st_mode)), "size", st.st_size, "links", st.st_nlink)
os.write(fd, b"hello memfd")
os.ftruncate(fd, 8192)
print("size", os.fstat(fd).st_size)
print("read", os.pread(fd, 11, 0))
with mmap.mmap(fd, 8192) as m:
    print("mapped", m[:5])
fd2 = os.memfd_create("other", 0)
print("second inheritable", os.get_inheritable(fd2))
print("separate", os.fstat(fd2).st_size, os.fstat(fd).st_ino != os.fstat(fd2).st_ino)
attempt("long name", os.memfd_create, "x" * 250)
attempt("name 249", lambda: os.close(os.memfd_create("x" * 249)))
attempt("bad flags", os.memfd_create, "x", 0x100)
sys.stdout.flush()
pid = os.fork()
if pid == 0:
    print("child reads", os.pread(fd, 5, 0), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
"""


def test_memfd_matches_linux(disk):
    lines = compare_with_linux(MEMFD, disk)
    assert "inheritable False" in lines
    assert "regular True 0o777 size 0 links 0" in lines
    assert "read b'hello memfd'" in lines
    assert "mapped b'hello'" in lines
    assert "long name EINVAL" in lines
    assert "bad flags EINVAL" in lines
    assert "child reads b'hello'" in lines


PATH_WALK = r"""
import errno, os, shutil, stat
def code(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except OSError as error:
        return errno.errorcode[error.errno]
    return 'ok'
def cwd_tail():
    return os.getcwd().split('/pathwalk_t', 1)[1] or '/'
os.mkdir('pathwalk_t')
os.chdir('pathwalk_t')
os.makedirs('a/b/c')
open('a/b/c/f', 'w').close()
open('f_top', 'w').close()
os.symlink('b/c', 'a/to_c')
os.symlink('../../f_top', 'a/b/up')
os.symlink('f_top', 'file_link')
os.symlink('self_loop', 'self_loop')
print('links', code(os.stat, 'a/to_c/f'), code(os.stat, 'a/to_c/../c/f'), code(os.stat, 'a/b/up'))
print('trailing', code(os.stat, 'file_link/'), code(os.lstat, 'file_link/'), code(os.stat, 'f_top/'))
print('dir link', stat.S_ISDIR(os.lstat('a/to_c/').st_mode), stat.S_ISLNK(os.lstat('a/to_c').st_mode))
print('loop', code(os.stat, 'self_loop'), code(os.lstat, 'self_loop'))
print('not dir', code(os.stat, 'a/b/c/f/..'), code(os.stat, 'f_top/x'))
print('empty', code(os.stat, ''), code(os.lstat, ''))
print('names', code(os.stat, 'n' * 255), code(os.stat, 'n' * 256), code(os.stat, 'a/' + 'n' * 256 + '/x'))
print('length', code(os.stat, './' * 2045 + 'f_top'), code(os.stat, './' * 2045 + '/f_top'))
fd = os.open('a/b', os.O_RDONLY | os.O_DIRECTORY)
print('dirfd', code(os.stat, '../../f_top', dir_fd=fd), code(os.stat, 'c/f', dir_fd=fd),
      code(os.stat, '', dir_fd=fd), code(os.stat, 'x', dir_fd=999))
file_fd = os.open('f_top', os.O_RDONLY)
print('file dirfd', code(os.stat, 'x', dir_fd=file_fd), code(os.stat, '/', dir_fd=file_fd))
print('access', os.access('a/to_c/f', os.R_OK), os.access('missing', os.F_OK),
      os.access('a/b/up', os.F_OK), os.access('a/b/up/', os.F_OK))
os.chdir('a/to_c')
print('cwd', cwd_tail())
os.chdir('../..')
print('cwd', cwd_tail())
os.chdir('b/../../a/b/c/../../..')
print('cwd', cwd_tail())
up = os.open('a/to_c/..', os.O_RDONLY | os.O_DIRECTORY)
os.fchdir(up)
print('fchdir', cwd_tail(), sorted(os.listdir('.')))
os.chdir(fd)
print('fchdir', cwd_tail())
for descriptor in (fd, file_fd, up):
    os.close(descriptor)
os.chdir('../../..')
shutil.rmtree('pathwalk_t')
print('removed', os.path.exists('pathwalk_t'))
"""


def test_path_walk_matches_linux(disk):
    lines = compare_with_linux(PATH_WALK, disk)
    assert lines[0] == "links ok ok ok"
    assert "ENAMETOOLONG" in lines[7]
    clean, report = e2fsck_clean(disk)
    assert clean, report
