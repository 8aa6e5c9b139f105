# Pinned inputs of the userland. Sourced by lib.sh; a change here changes the
# cache key of both stages.
#
# Debian source packages from bookworm main, as `name=version` for
# `apt-get source`. Point releases replace old versions on the mirrors, so a
# version that is no longer published has to be bumped here.
SOURCE_PACKAGES=(
    python3.11=3.11.2-6+deb12u8
    zlib=1:1.2.13.dfsg-1
    libffi=3.4.4-1
    xz-utils=5.4.1-1+deb12u1
    util-linux=2.38.1-5+deb12u3
    bzip2=1.0.8-5
    dash=0.5.12-2
)

# Debian's arm64 musl, the runtime loader and C library of the image.
MUSL_VERSION=1.2.3-1
DEBIAN_SUITE=bookworm

# The cross compiler, from PyPI (setup-host.sh installs it).
ZIG_VERSION=0.17.0

TARGET_TRIPLE=aarch64-linux-musl
PYTHON_PREFIX=/opt/python3.11
IMAGE_SIZE=512M
