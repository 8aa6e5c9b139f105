# Recipes for building, running and testing the kernel. `just --list` shows them.
set shell := ["bash", "-euo", "pipefail", "-c"]
set positional-arguments

default:
    @just --list

# Install the host tools (apt, pip, rustup targets); safe to run again.
setup:
    bash scripts/setup-host.sh

# Run every test: host unit tests, then the QEMU tests.
test: test-host

# Host tests of the spec, the generator and the generated ABI layer.
test-host:
    cargo test --workspace

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

# Build the kernel (release) and the raw image QEMU boots: target/aarch64-unknown-none-softfloat/release/starry-python-kernel.bin
kernel:
    cargo build --release --target aarch64-unknown-none-softfloat -p starry-python-kernel
    "$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-objcopy" --strip-all -O binary target/aarch64-unknown-none-softfloat/release/starry-python-kernel target/aarch64-unknown-none-softfloat/release/starry-python-kernel.bin

# Boot the kernel under QEMU and run Python with ARGS (runner options go before `--`; see scripts/qemu_run.py).
qemu-aarch64 *ARGS:
    @python3 scripts/qemu_run.py "$@"

# Check spec/syscalls.toml, regenerate docs/syscalls.md and print handler
# skeletons of the entries not implemented yet. `just gen --check` only
# checks, and fails when docs/syscalls.md is out of date.
gen *args:
    @cargo run -q -p abi-gen --bin abi-gen -- "$@"
