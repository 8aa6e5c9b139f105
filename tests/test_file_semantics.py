"""Files that Python creates, renames, links and removes look as on Linux."""

from conftest import compare_with_linux, e2fsck_clean, run_kernel, run_reference

# Works in a fresh folder under the working directory (/opt/python3.11 on
# both sides) and prints what stat and a read give back after each step.
# Inode numbers, times and device numbers differ between file systems, so
# the script prints only what Linux fixes: type, permission bits, link
# count, size and content.
FILE_OPS = r"""
import os, stat
os.umask(0o022)
base = "file-ops"
os.mkdir(base)

def show(label, path):
    st = os.lstat(path)
    kind = stat.filemode(st.st_mode)
    body = ""
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            body = f.read()[:24]
    elif stat.S_ISLNK(st.st_mode):
        body = os.readlink(path)
    print(label, kind, st.st_nlink, st.st_size, repr(body))

p = os.path.join
with open(p(base, "a.txt"), "w") as f:
    f.write("hello\n" * 1000)
show("created", p(base, "a.txt"))

fd = os.open(p(base, "b.bin"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640)
os.write(fd, bytes(range(256)) * 20)
os.ftruncate(fd, 4000)
os.close(fd)
show("truncated", p(base, "b.bin"))

os.link(p(base, "a.txt"), p(base, "hard"))
show("linked", p(base, "a.txt"))
os.symlink("a.txt", p(base, "soft"))
show("symlink", p(base, "soft"))

os.rename(p(base, "b.bin"), p(base, "a.txt"))
show("renamed over", p(base, "a.txt"))
show("old link", p(base, "hard"))

os.chmod(p(base, "hard"), 0o600)
show("chmod", p(base, "hard"))
os.mkdir(p(base, "sub"), 0o750)
show("mkdir", p(base, "sub"))
os.rename(p(base, "hard"), p(base, "sub", "moved"))
show("moved", p(base, "sub", "moved"))

for name in ("soft", "a.txt"):
    os.unlink(p(base, name))
print("listing", sorted(os.listdir(base)), sorted(os.listdir(p(base, "sub"))))
try:
    os.rmdir(p(base, "sub"))
except OSError as e:
    print("rmdir", e.errno)
os.unlink(p(base, "sub", "moved"))
os.rmdir(p(base, "sub"))
os.rmdir(base)
print("removed", os.path.exists(base))
"""


def test_file_operations_match_linux(disk):
    linux = run_reference("-c", FILE_OPS)
    assert linux.status == 0, linux.stderr
    expected = linux.stdout.splitlines()
    assert len(expected) == 12

    ours = run_kernel("-c", FILE_OPS, disk=disk)
    assert ours.status == 0, ours.stdout[-2000:]
    assert ours.lines[-len(expected):] == expected

    clean, report = e2fsck_clean(disk)
    assert clean, report


# sendfile with one open file as input and output and no offset. Linux reads
# and writes at one position, so the file is copied onto itself: the call
# returns the bytes up to the end, and the file does not grow.
SENDFILE_SAME_FILE = """
import os
fd = os.open("sendfile-self.bin", os.O_RDWR | os.O_CREAT | os.O_TRUNC)
os.write(fd, b"abcdefgh" * 1000)
os.lseek(fd, 100, os.SEEK_SET)
copied = os.sendfile(fd, fd, None, 1 << 30)
print("copied", copied)
print("offset", os.lseek(fd, 0, os.SEEK_CUR))
print("size", os.fstat(fd).st_size)
os.lseek(fd, 0, os.SEEK_SET)
print("head", os.read(fd, 16))
"""


def test_sendfile_onto_same_file(disk):
    lines = compare_with_linux(SENDFILE_SAME_FILE, disk)
    assert lines == ["copied 7900", "offset 8000", "size 8000", "head b'abcdefghabcdefgh'"]
