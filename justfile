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

# Build the kernel (release) and the raw image QEMU boots: target/aarch64-unknown-none-softfloat/release/starry-python-kernel.bin
kernel:
    cargo build --release --target aarch64-unknown-none-softfloat -p starry-python-kernel
    "$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-objcopy" --strip-all -O binary target/aarch64-unknown-none-softfloat/release/starry-python-kernel target/aarch64-unknown-none-softfloat/release/starry-python-kernel.bin

# Boot the kernel under QEMU and run Python with ARGS (runner options go before `--`; see scripts/qemu_run.py).
qemu-aarch64 *ARGS:
    python3 scripts/qemu_run.py "$@"
