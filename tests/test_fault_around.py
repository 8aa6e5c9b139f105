"""Write faults in private writable memory map the neighbouring pages too
(`AddrSpace::fault_around`), without changing what a program reads back."""

import re

from conftest import run_kernel

PAGES = 256

# Writes one byte into each page of a fresh 1 MiB anonymous mapping and
# reads every page back ("touch"), or only maps it ("none"). Both check that
# a read-only mapping stays read-only and reads zeros.
SCRIPT = """
import mmap, sys
touch = sys.argv[1] == "touch"
m = mmap.mmap(-1, {pages} * 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
ok = True
if touch:
    for page in range({pages}):
        m[page * 4096] = page % 251 + 1
    ok = all(m[page * 4096] == page % 251 + 1 for page in range({pages}))
    ok = ok and m[4095] == 0 and m[{pages} * 4096 - 1] == 0
ro = mmap.mmap(-1, 65536, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, prot=mmap.PROT_READ)
try:
    ro[0] = 1
    ok = False
except TypeError:
    ok = ok and ro[:] == bytes(65536)
print("contents", "ok" if ok else "wrong")
""".format(pages=PAGES)


def user_faults(output: str) -> int:
    match = re.search(r"starry-stats: exit .* user_faults=(\d+)", output)
    assert match, output[-2000:]
    return int(match.group(1))


def test_sequential_writes_take_one_fault_per_window(disk):
    runs = {}
    for mode in ("none", "touch"):
        run = run_kernel("-c", SCRIPT, mode, disk=disk, runner_options=["--stats"])
        assert run.status == 0, run.stdout[-2000:]
        assert "contents ok" in run.stdout
        runs[mode] = user_faults(run.stdout)
    # 256 pages in 64 KiB windows give 16 faults; one fault per page would
    # give 256. Python's own allocations add a few between the two runs.
    extra = runs["touch"] - runs["none"]
    assert extra <= 16 + 24, runs
