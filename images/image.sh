#!/usr/bin/env bash
# Build the cached root image and hand out copies of it.
#
# Usage: images/image.sh [COMMAND]
#   build            build what is missing and print the image path (default)
#   root             build what is missing and print the root tree path
#   disk             print the persistent working disk, created from the
#                    image if missing
#   fresh-disk DEST  copy the image to DEST (sparse) and print DEST
#   reset-disk       delete the persistent working disk
#   paths            print the cache paths of the current recipe; builds nothing
#   prune            delete cache entries of other recipes (older userlands,
#                    images, working disks and reference copies)
#
# The cache is ${STARRY_CACHE:-$HOME/.cache/starry-python}. Progress goes to
# stderr and the requested path to stdout.
set -euo pipefail
# shellcheck source=images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build_image() {
    bash "$IMAGES_DIR/rootfs.sh"
}

# Copy the image to a new file beside $2 and rename it into place, so that
# no reader sees a partial copy.
copy_image() {
    local image=$1 dest=$2 tmp
    tmp=$(mktemp "$dest.tmp.XXXXXX")
    cp --sparse=always "$image" "$tmp"
    chmod 644 "$tmp"
    mv -f "$tmp" "$dest"
}

command=${1:-build}
case $command in
build)
    build_image
    ;;
root)
    build_image >/dev/null
    rootfs_dir
    ;;
disk)
    image=$(build_image)
    disk=$(disk_image)
    if [[ ! -f $disk ]]; then
        copy_image "$image" "$disk"
        info "created the working disk $disk"
    fi
    printf '%s\n' "$disk"
    ;;
fresh-disk)
    (($# == 2)) || die "usage: images/image.sh fresh-disk DEST"
    image=$(build_image)
    copy_image "$image" "$2"
    printf '%s\n' "$2"
    ;;
reset-disk)
    disk=$(disk_image)
    if [[ -f $disk ]]; then
        rm -f "$disk"
        info "deleted the working disk $disk"
    else
        info "no working disk at $disk"
    fi
    ;;
paths)
    printf 'userland %s\nroot     %s\nimage    %s\ndisk     %s\n' \
        "$(userland_dir)" "$(rootfs_dir)" "$(rootfs_image)" "$(disk_image)"
    ;;
prune)
    take_build_lock
    keep_keys=("$(userland_key)" "$(rootfs_key)")
    for entry in "$CACHE"/{userland,rootfs,disk,ref}-* "$CACHE"/logs/{userland,rootfs}-*; do
        [[ -e $entry ]] || continue
        key=${entry##*/}
        key=${key#*-}
        key=${key%.img}
        [[ $key == "${keep_keys[0]}" || $key == "${keep_keys[1]}" ]] && continue
        rm -rf "$entry"
        info "deleted $entry"
    done
    ;;
-h | --help | help)
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
    ;;
*)
    die "unknown command '$command'; run images/image.sh --help"
    ;;
esac
