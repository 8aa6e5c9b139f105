"""Prepare the Linux baseline: Debian's arm64 kernel and an initramfs.

The kernel package comes from Debian's archive through apt. Its image, the
modules the ext4 disk needs and the initramfs are cached under
${STARRY_CACHE:-~/.cache/starry-python}/linux-<hash>/, where the hash covers
the package name and the module list. The initramfs contains bench/linux-init
as /init, the modules and /dev/console. It is rebuilt when the init changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

# The kernel package that Debian bookworm's linux-image-arm64 names
# (`apt-cache depends linux-image-arm64:arm64`).
KERNEL_PACKAGE = "linux-image-6.1.0-57-arm64"
# Modules that the disk needs, in load order; bench/linux-init loads them.
MODULES = {
    "crc16": "lib/crc16.ko",
    "mbcache": "fs/mbcache.ko",
    "jbd2": "fs/jbd2/jbd2.ko",
    "crc32c_generic": "crypto/crc32c_generic.ko",
    "ext4": "fs/ext4/ext4.ko",
    "virtio_mmio": "drivers/virtio/virtio_mmio.ko",
    "virtio_blk": "drivers/block/virtio_blk.ko",
}
APT_LIST = Path("/etc/apt/sources.list.d/starry-bench-arm64.list")
APT_OPTIONS = ["-o", "APT::Architectures=amd64,arm64"]
DEBIAN_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")


class BaselineError(Exception):
    """A step of preparing the Linux baseline failed."""


def cache_dir() -> Path:
    root = Path(os.environ.get("STARRY_CACHE", Path.home() / ".cache" / "starry-python"))
    recipe = KERNEL_PACKAGE + "".join(f" {name}={path}" for name, path in MODULES.items())
    key = hashlib.sha256(recipe.encode()).hexdigest()[:16]
    return root / f"linux-{key}"


def run(cmd: list[str], cwd: Path | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise BaselineError(f"{' '.join(cmd)} failed with status {proc.returncode}:\n{proc.stdout[-3000:]}")
    return proc.stdout


def debian_mirror() -> tuple[str, str]:
    """Return the URI and keyring of the system's Debian entry."""
    uri, keyring = "http://deb.debian.org/debian", "/usr/share/keyrings/debian-archive-keyring.gpg"
    if DEBIAN_SOURCES.exists():
        for line in DEBIAN_SOURCES.read_text().splitlines():
            if line.startswith("URIs:"):
                uri = line.split(":", 1)[1].split()[0]
                break
        for line in DEBIAN_SOURCES.read_text().splitlines():
            if line.startswith("Signed-By:"):
                keyring = line.split(":", 1)[1].strip()
                break
    return uri, keyring


def download_kernel_package(dest: Path) -> Path:
    """Download the arm64 kernel package into `dest` with apt and return it.

    apt lists arm64 packages only while a sources entry names that
    architecture. So this writes a temporary entry of its own and removes it
    afterwards, and the system's own entries stay unchanged.
    """
    if os.geteuid() != 0:
        raise BaselineError(f"downloading {KERNEL_PACKAGE} needs root, to write {APT_LIST} for apt")
    uri, keyring = debian_mirror()
    APT_LIST.write_text(f"deb [arch=arm64 signed-by={keyring}] {uri} bookworm main\n")
    try:
        run(["apt-get", *APT_OPTIONS, "-qq", "update"])
        run(["apt-get", *APT_OPTIONS, "download", f"{KERNEL_PACKAGE}:arm64"], cwd=dest)
    finally:
        APT_LIST.unlink(missing_ok=True)
    debs = sorted(dest.glob(f"{KERNEL_PACKAGE}_*_arm64.deb"))
    if not debs:
        raise BaselineError(f"apt-get download left no {KERNEL_PACKAGE} package in {dest}")
    return debs[-1]


def fetch_kernel(cache: Path) -> None:
    """Fill `cache` with `Image`, `modules/` and `version` unless present."""
    if (cache / "Image").exists() and (cache / "version").exists():
        return
    cache.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="linux-", dir=cache.parent) as scratch:
        work = Path(scratch)
        deb = download_kernel_package(work)
        version = run(["dpkg-deb", "-f", str(deb), "Version"]).strip()
        run(["dpkg-deb", "-x", str(deb), str(work / "tree")])
        images = sorted((work / "tree" / "boot").glob("vmlinuz-*"))
        if not images:
            raise BaselineError(f"{deb.name} has no boot/vmlinuz-*")
        release = images[0].name.removeprefix("vmlinuz-")
        module_root = work / "tree" / "lib" / "modules" / release / "kernel"

        staged = work / "staged"
        (staged / "modules").mkdir(parents=True)
        shutil.copy(images[0], staged / "Image")
        for name, relative in MODULES.items():
            source = module_root / relative
            if not source.exists():
                raise BaselineError(f"{deb.name} has no module {relative}")
            shutil.copy(source, staged / "modules" / f"{name}.ko")
        (staged / "version").write_text(f"{KERNEL_PACKAGE} {version}\n")
        shutil.rmtree(cache, ignore_errors=True)
        staged.rename(cache)


def cpio_entry(name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0), ino: int = 0) -> bytes:
    """Return one entry of a cpio archive in the "newc" format the kernel reads."""
    encoded = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(data), 0, 0,
              rdev[0], rdev[1], len(encoded), 0]
    header = b"070701" + b"".join(f"{value:08x}".encode() for value in fields)
    entry = header + encoded
    entry += b"\0" * (-len(entry) % 4)
    entry += data
    entry += b"\0" * (-len(entry) % 4)
    return entry


def build_initramfs(cache: Path, init_binary: Path) -> Path:
    """Write the initramfs for `init_binary` and return its path."""
    init = init_binary.read_bytes()
    key = hashlib.sha256(init).hexdigest()[:16]
    path = cache / f"initramfs-{key}.cpio"
    if path.exists():
        return path

    entries = [
        ("dev", stat.S_IFDIR | 0o755, b"", (0, 0)),
        ("dev/console", stat.S_IFCHR | 0o600, b"", (5, 1)),
        ("proc", stat.S_IFDIR | 0o755, b"", (0, 0)),
        ("mnt", stat.S_IFDIR | 0o755, b"", (0, 0)),
        ("modules", stat.S_IFDIR | 0o755, b"", (0, 0)),
        ("init", stat.S_IFREG | 0o755, init, (0, 0)),
    ]
    for name in MODULES:
        entries.append((f"modules/{name}.ko", stat.S_IFREG | 0o644,
                        (cache / "modules" / f"{name}.ko").read_bytes(), (0, 0)))
    archive = bytearray()
    for ino, (name, mode, data, rdev) in enumerate(entries, start=1):
        archive += cpio_entry(name, mode, data, rdev, ino)
    archive += cpio_entry("TRAILER!!!", 0)

    for old in cache.glob("initramfs-*.cpio"):
        old.unlink()
    partial = path.with_suffix(".partial")
    partial.write_bytes(archive)
    partial.rename(path)
    return path


def prepare(init_binary: Path) -> tuple[Path, Path, str]:
    """Return (kernel image, initramfs, "package version"), fetching and
    building what the cache lacks."""
    cache = cache_dir()
    fetch_kernel(cache)
    initramfs = build_initramfs(cache, init_binary)
    return cache / "Image", initramfs, (cache / "version").read_text().strip()
