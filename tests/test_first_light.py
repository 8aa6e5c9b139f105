"""First light: CPython 3.11 runs on the kernel and exits with its own status."""

import errno

import pytest

from conftest import e2fsck_clean, run_kernel, run_reference


def test_print_42(disk):
    run = run_kernel("-c", "print(6*7)", disk=disk)
    assert run.status == 0, run.stderr
    assert run.lines[-1] == "42"


def test_exit_status_is_pythons(disk):
    run = run_kernel("-c", "import sys; sys.exit(3)", disk=disk)
    assert run.status == 3


def test_usage_matches_linux(disk):
    ours = run_kernel("-h", disk=disk)
    linux = run_reference("-h")
    assert ours.status == 0
    assert linux.status == 0
    # The first line names argv[0], which differs: the reference runs the
    # binary by its host path.
    expected = linux.stdout.splitlines()[1:]
    assert expected, "the reference printed no usage text"
    assert ours.lines[-len(expected):] == expected


def test_arguments_reach_python_unchanged(disk):
    run = run_kernel("-c", "import sys; print(sys.argv[1:])",
                     "a b", "c'd", "$HOME", disk=disk)
    assert run.status == 0
    assert run.lines[-1] == """['a b', "c'd", '$HOME']"""


def test_working_directory_and_environment(disk):
    code = ("import os, sys; print(os.getcwd()); print(sys.executable); "
            "print(sorted(os.environ))")
    run = run_kernel("-c", code, disk=disk)
    assert run.status == 0
    assert run.lines[-3] == "/opt/python3.11"
    assert run.lines[-2] == "/opt/python3.11/bin/python3.11"
    assert run.lines[-1] == "['HOME', 'LANG', 'PATH', 'TERM']"


# Each line is computed by one of the extension modules; the reference run
# on Linux must print exactly the same lines.
IMPORTS = r"""
import zlib, lzma, bz2, json, decimal, pathlib, math, socket, ctypes, uuid
import _ctypes, _lzma, _uuid, _decimal, _socket
data = bytes(range(256)) * 64
print("zlib", zlib.decompress(zlib.compress(data)) == data, zlib.crc32(data))
print("lzma", lzma.decompress(lzma.compress(data)) == data)
print("bz2", bz2.decompress(bz2.compress(data)) == data)
libc = ctypes.CDLL(None)
print("ctypes labs", libc.labs(-5))
u = uuid.uuid1()
print("uuid1", u.version, len(str(u)))
print("decimal", decimal.Decimal(1) / 7)
print("htons", socket.htons(1))
print("fsum", math.fsum([0.1] * 10))
print("json", json.dumps({"b": [1, 2.5, None], "a": "\u00e9"}, sort_keys=True))
names = sorted(p.name for p in pathlib.Path("lib/python3.11").iterdir()
               if p.suffix == ".py")
print("pathlib", len(names), names[:3])
"""


def test_extension_modules_match_linux(disk):
    ours = run_kernel("-c", IMPORTS, disk=disk)
    linux = run_reference("-c", IMPORTS)
    assert linux.status == 0, linux.stderr
    expected = linux.stdout.splitlines()
    assert len(expected) == 10
    assert ours.status == 0, ours.stdout[-2000:]
    assert ours.lines[-len(expected):] == expected


MREMAP = """
import mmap
m = mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
m[:5] = b"start"
m.resize(64 << 20)
m[-4:] = b"tail"
print(len(m), m[:5], m[-4:], m[4096:4100])
"""


def test_mmap_resize_to_64_mib(disk):
    run = run_kernel("-c", MREMAP, disk=disk)
    assert run.status == 0, run.stdout[-2000:]
    assert run.lines[-1] == "67108864 b'start' b'tail' b'\\x00\\x00\\x00\\x00'"


def test_file_survives_reboot(disk):
    write = run_kernel("-c", "open('/root/note.txt', 'w').write('kept ' * 1000)",
                       disk=disk)
    assert write.status == 0
    read = run_kernel("-c", "d = open('/root/note.txt').read(); "
                      "print(len(d), d[:10])", disk=disk)
    assert read.status == 0
    assert read.lines[-1] == "5000 kept kept "
    clean, report = e2fsck_clean(disk)
    assert clean, report


def test_unknown_syscall_is_enosys(disk):
    code = ("import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); "
            "r = libc.syscall(1999); print(r, ctypes.get_errno())")
    run = run_kernel("-c", code, disk=disk)
    assert run.status == 0
    assert run.lines[-1] == f"-1 {errno.ENOSYS}"
    warnings = [line for line in run.lines if "1999" in line]
    assert len(warnings) == 1, run.stdout


def test_segfault_gives_signal_status(disk):
    run = run_kernel("-c", "import ctypes; ctypes.string_at(0)", disk=disk)
    assert run.status == 128 + 11


def test_timeout_is_reported(disk):
    run = run_kernel("-c", "while True: pass", disk=disk, timeout=20)
    assert run.status == 124
    assert "timeout" in run.stderr.lower()


def test_boot_prints_few_lines(disk):
    run = run_kernel("-c", "print(6*7)", disk=disk, log=None)
    assert run.status == 0
    boot_lines = run.lines[:run.lines.index("42")]
    assert 1 <= len(boot_lines) <= 10, run.stdout


def test_debug_log_shows_more(disk):
    default = run_kernel("-c", "pass", disk=disk, log=None)
    debug = run_kernel("-c", "pass", disk=disk, log="debug")
    assert default.status == 0
    assert debug.status == 0
    assert len(default.lines) <= 15
    assert len(debug.lines) > len(default.lines) + 20


def test_disk_clean_after_runs(disk):
    for code in ("import json, decimal, pathlib", "import os; os.mkdir('/tmp/d')"):
        assert run_kernel("-c", code, disk=disk).status == 0
    clean, report = e2fsck_clean(disk)
    assert clean, report


MREMAP_TWICE = """
import ctypes, mmap
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                      ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mremap.restype = ctypes.c_void_p
libc.mremap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int]
page = mmap.PAGESIZE
base = libc.mmap(None, 4 * page, mmap.PROT_READ | mmap.PROT_WRITE,
                 mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
libc.munmap(base + page, 3 * page)
grown = libc.mremap(base, page, 2 * page, 0)
again = libc.mremap(base, 2 * page, 3 * page, 0)
print(grown == base, again == base, ctypes.get_errno())
"""


def test_mremap_grows_a_grown_mapping(disk):
    # Growing in place twice: Linux merges the grown part into the mapping,
    # so the second call must find one mapping, not two.
    linux = run_reference("-c", MREMAP_TWICE)
    assert linux.lines == ["True True 0"]
    run = run_kernel("-c", MREMAP_TWICE, disk=disk)
    assert run.status == 0
    assert run.lines[-1] == "True True 0"


def test_stub_warns_once(disk):
    # rseq is a stub entry: its handler returns ENOSYS without doing the
    # work, and the dispatcher logs one warning per run.
    code = ("import ctypes; libc = ctypes.CDLL(None, use_errno=True); "
            "print([libc.syscall(293, 0, 0, 0, 0) for _ in range(3)], ctypes.get_errno())")
    run = run_kernel("-c", code, disk=disk)
    assert run.status == 0
    assert run.lines[-1] == f"[-1, -1, -1] {errno.ENOSYS}"
    warnings = [line for line in run.lines if "syscall rseq is a stub" in line]
    assert len(warnings) == 1, run.stdout
