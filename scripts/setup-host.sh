#!/usr/bin/env bash
# Install the host tools this project needs on Debian 12. Safe to run again:
# each step skips what is already installed.
set -euo pipefail

step() { printf '[setup] %s\n' "$*"; }

apt_packages=(
    qemu-system-arm      # qemu-system-aarch64: runs the kernel
    qemu-user            # qemu-aarch64: the Linux reference (user mode)
    e2fsprogs            # mke2fs, e2fsck, debugfs: the root image
    binutils-aarch64-linux-gnu  # strip/readelf for the cross-built userland
    mmdebstrap           # extracts Debian's arm64 musl runtime
    dpkg-dev             # apt-get source unpacks with dpkg-source
    xz-utils bzip2 make
)
missing=()
for p in "${apt_packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    step "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# zig is the C cross compiler for aarch64-linux-musl; rust-just provides `just`.
pip_packages=(ziglang==0.17.0 rust-just pytest pexpect)
for p in "${pip_packages[@]}"; do
    name=${p%%==*}
    if ! python3 -m pip show -q "$name" >/dev/null 2>&1; then
        step "pip install $p"
        python3 -m pip install -q "$p"
    fi
done

# rust-toolchain.toml names the toolchain, components and targets. rustup
# 1.29 does not add the targets and components to a toolchain that is
# already installed, so add them here (a no-op when they are present).
cd "$(dirname "$0")/.."
step "rustup target add aarch64-unknown-none-softfloat"
rustup target add aarch64-unknown-none-softfloat
step "rustup component add rust-src llvm-tools rustfmt clippy"
rustup component add rust-src llvm-tools rustfmt clippy
step "rust toolchain: $(rustc --version)"
