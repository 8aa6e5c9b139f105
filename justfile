# Recipes for building, running and testing the kernel. `just --list` shows them.
set shell := ["bash", "-euo", "pipefail", "-c"]
set positional-arguments

default:
    @just --list

# Install the host tools (apt, pip, rustup targets); safe to run again.
setup:
    bash scripts/setup-host.sh

# Run every test: host unit tests, then the QEMU tests.
test: test-host test-qemu

# Host tests of the spec, the generator and the generated ABI layer.
test-host:
    cargo test --workspace

# Boot the kernel under QEMU for each test in tests/ (pytest; ARGS go to
# pytest, e.g. `just test-qemu -k mmap`).
test-qemu *ARGS:
    python3 -m pytest -q tests "$@"

# Cross-build the aarch64 Python userland and its ext4 root image (cached
# under ${STARRY_CACHE:-~/.cache/starry-python}) and print the image path.
image:
    @bash images/image.sh build

# Delete the persistent working disk (`images/disk.sh` makes a new one).
reset-disk:
    @bash images/image.sh reset-disk

# Run python3.11 ARGS under qemu-aarch64 user mode on a copy of the image's
# root tree: the Linux reference (options: see scripts/reference.py).
ref *ARGS:
    @python3 scripts/reference.py "$@"

# Benchmark the kernel against Linux in the same QEMU and against qemu-user;
# prints a table and writes target/bench/<timestamp>.json (options:
# `just bench --help`; see docs/benchmarks.md).
bench *ARGS:
    @python3 bench/bench.py "$@"

# Build the kernel (release) and the raw image QEMU boots:
# target/aarch64-unknown-none-softfloat/release/starry-python-kernel.bin.
# `just kernel checked` builds the errno-checked kernel that the QEMU tests
# boot into target/checked/ instead, so the release kernel stays unchecked.
kernel *FEATURES:
    #!/usr/bin/env bash
    set -euo pipefail
    dir=target
    features=()
    if [ -n "${1:-}" ]; then
        dir="target/$(echo "$*" | tr ' ,' '--')"
        features=(--features "$*" --target-dir "$dir")
    fi
    cargo build --release --target aarch64-unknown-none-softfloat -p starry-python-kernel "${features[@]}"
    out="$dir/aarch64-unknown-none-softfloat/release"
    "$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-objcopy" --strip-all -O binary "$out/starry-python-kernel" "$out/starry-python-kernel.bin"

# Fuzz the syscall layer: SEED and COUNT calls of fuzz/ as init of the
# kernel; prints one JSON line per syscall with its results (options of
# scripts/fuzz.py after COUNT; see docs/fuzzing.md).
fuzz SEED="1" COUNT="10000" *ARGS:
    @python3 scripts/fuzz.py kernel --seed {{SEED}} --count {{COUNT}} {{ARGS}}

# Boot the kernel under QEMU and run Python with ARGS (runner options go before `--`; see scripts/qemu_run.py).
qemu-aarch64 *ARGS:
    @python3 scripts/qemu_run.py "$@"

# Sample the kernel while Python runs with ARGS and print where kernel time
# goes: by syscall and by function (options --hz N and --top N first, then
# runner options before `--`; see docs/benchmarks.md, "Kernel profile").
profile *ARGS:
    @python3 scripts/profile.py "$@"

# Check spec/syscalls.toml, regenerate docs/syscalls.md and print handler
# skeletons of the entries not implemented yet. `just gen --check` only
# checks, and fails when docs/syscalls.md is out of date.
gen *args:
    @cargo run -q -p abi-gen --bin abi-gen -- "$@"

# Trace Python's syscalls under the kernel in strace's format (options
# before Python's arguments: -e FILTER, -o FILE, --summary, --compare,
# --stdin FILE; `just trace --help`).
trace *ARGS:
    @python3 scripts/syscall_trace.py "$@"

# Run -h, bin/pydoc3.11, an interactive session and test___all__ with
# `just trace --compare` and write docs/python-syscalls.md.
analyse:
    @python3 scripts/syscall_trace.py analyse
