#!/usr/bin/env python3
"""Run the image's python3.11 under qemu-aarch64 user mode: the Linux reference.

Usage: scripts/reference.py [--keep [--reset]] [--] [PYTHON ARGS...]

Python runs by its host path inside a copy of the image's root tree, with
`qemu-aarch64 -L <root>`, the working directory <root>/opt/python3.11 and
exactly the environment listed in images/guest-env. Standard input, output
and error are passed through, and the exit status is Python's (128+N when
it dies of signal N).

Options, which must come before Python's arguments:
  --keep   run in a persistent copy of the tree that keeps the files Python
           writes (bytecode caches, test output) across runs
  --reset  with --keep, start the persistent copy afresh
  --       end of these options; everything after it goes to Python

By default each run gets a fresh copy, deleted afterwards.

NOTE: qemu-user maps an absolute path into the copy only when that path
exists there; any other absolute path is the host's. So a run reads host
files such as /proc/self or /etc/localtime that the kernel will not have,
and a file created at a new absolute path (say /tmp/x or /root/x) is
created on the host. Relative paths stay inside the copy.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IMAGE_SCRIPT = REPO / "images" / "image.sh"
GUEST_ENV = REPO / "images" / "guest-env"
PYTHON_PREFIX = "/opt/python3.11"


def read_guest_env(path: Path) -> list[str]:
    """Return the NAME=value lines of the guest environment file."""
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, _ = line.partition("=")
        if not sep or not name:
            raise SystemExit(f"reference: {path}:{number}: expected NAME=value, got {line!r}")
        entries.append(line)
    return entries


def split_options(argv: list[str]) -> tuple[set[str], list[str]]:
    """Split the leading options of this script from Python's arguments."""
    options: set[str] = set()
    index = 0
    while index < len(argv) and argv[index] in ("--keep", "--reset", "--"):
        if argv[index] == "--":
            index += 1
            break
        options.add(argv[index])
        index += 1
    if "--reset" in options and "--keep" not in options:
        raise SystemExit("reference: --reset only applies with --keep")
    return options, argv[index:]


def cached_root() -> Path:
    """Build the image if needed and return its cached root tree."""
    result = subprocess.run(
        ["bash", str(IMAGE_SCRIPT), "root"], stdout=subprocess.PIPE, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"reference: {IMAGE_SCRIPT} root failed with status {result.returncode}")
    return Path(result.stdout.strip())


def copy_tree(source: Path, dest: Path) -> None:
    """Copy a root tree with `cp -a`, into a temporary name renamed at the end."""
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    subprocess.run(["cp", "-a", "--reflink=auto", str(source), str(partial)], check=True)
    partial.rename(dest)


def run_python(root: Path, python_args: list[str]) -> int:
    """Run python3.11 in the root tree and return its exit status."""
    qemu = shutil.which("qemu-aarch64")
    if qemu is None:
        raise SystemExit("reference: qemu-aarch64 not found; run scripts/setup-host.sh")
    command = [
        "env", "-i", *read_guest_env(GUEST_ENV),
        qemu, "-L", str(root), f"{root}{PYTHON_PREFIX}/bin/python3.11", *python_args,
    ]
    # Ctrl-C reaches Python through the terminal; this process only waits.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        status = subprocess.run(command, cwd=f"{root}{PYTHON_PREFIX}", check=False).returncode
    finally:
        signal.signal(signal.SIGINT, previous)
    return 128 - status if status < 0 else status


def main() -> int:
    options, python_args = split_options(sys.argv[1:])
    root = cached_root()

    if "--keep" in options:
        persistent_root = root.with_name("ref-" + root.name.removeprefix("rootfs-"))
        if "--reset" in options:
            shutil.rmtree(persistent_root, ignore_errors=True)
        if not persistent_root.is_dir():
            copy_tree(root, persistent_root)
        return run_python(persistent_root, python_args)

    with tempfile.TemporaryDirectory(prefix="starry-ref-") as scratch:
        fresh = Path(scratch) / "root"
        copy_tree(root, fresh)
        return run_python(fresh, python_args)


if __name__ == "__main__":
    sys.exit(main())
