"""Run the syscall fuzzer (fuzz/, scripts/fuzz.py) as init of the checked
kernel with a fixed seed, and check that the kernel survives it."""

import sys

from conftest import CHECKED_KERNEL, ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import fuzz  # noqa: E402

SEED = 1
COUNT = 100_000

# Seconds for the whole run. 100,000 calls took about 8 s under QEMU's
# emulation on a 2-core development machine, plus the image build the
# first time.
TIMEOUT = 1200


def test_fuzz_fixed_seed(built):
    result = fuzz.run_kernel(SEED, COUNT, TIMEOUT, log="warn", log_every=10_000,
                             kernel=CHECKED_KERNEL)
    fuzz.save(result, f"test-seed{SEED}-count{COUNT}")
    tail = "\n".join(result.lines[-20:])

    assert result.status != 124, f"the run hung (runner timeout):\n{tail}"
    assert not [line for line in result.lines if fuzz.PANIC_MARK in line], tail
    assert result.end is not None, f"the fuzzer did not finish:\n{tail}"
    assert result.end["calls"] == COUNT
    contract = [line for line in result.lines if fuzz.CONTRACT_MARK in line]
    assert not contract, "errnos outside the spec:\n" + "\n".join(contract[:20])
    assert result.violations == [], "\n".join(map(str, result.violations[:20]))
    assert result.status == 0, tail


def test_fuzz_reaches_every_syscall(built):
    result = fuzz.run_kernel(SEED, 20_000, TIMEOUT, log="warn", log_every=10_000,
                             kernel=CHECKED_KERNEL)
    assert result.end is not None, "\n".join(result.lines[-20:])
    summary = result.summary
    start = next(record for record in result.records if record.get("fuzz") == "start")
    named = [name for name in summary if not name.startswith("nr:")]

    assert len(named) == start["syscalls"]
    never_called = [name for name in named if summary[name]["calls"] == 0]
    assert never_called == []
    total = sum(record["calls"] for record in summary.values())
    assert total == 20_000
