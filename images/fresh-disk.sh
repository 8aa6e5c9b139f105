#!/usr/bin/env bash
# Copy the cached image (built if missing) to DEST as a sparse file and print
# DEST. Same as `images/image.sh fresh-disk DEST`.
set -euo pipefail
(($# == 1)) || { echo "usage: images/fresh-disk.sh DEST" >&2; exit 2; }
exec bash "$(dirname "${BASH_SOURCE[0]}")/image.sh" fresh-disk "$1"
