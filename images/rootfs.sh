#!/usr/bin/env bash
# Assemble the root tree from the cached userland and pack it into an ext4
# image; print the image path. The tree stays beside the image in the cache
# ($CACHE/rootfs-<key>/), because the Linux reference runs on copies of it.
#
# Files in the folder named by STARRY_IMAGE_EXTRA_BIN (top level only) are
# copied into /usr/local/bin of the image with mode 755; they are part of the
# cache key.
set -euo pipefail
# shellcheck source=images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Copy the userland into $WORK/tree and add the files of a minimal system.
assemble_root() {
    local userland=$1 tree=$WORK/tree
    cp -a --reflink=auto "$userland" "$tree"
    chmod 755 "$tree"

    install -d -m 1777 "$tree/tmp"
    install -d -m 755 "$tree/dev" "$tree/etc" "$tree/usr/local/bin"
    install -d -m 700 "$tree/root"

    printf '%s\n' \
        'root:x:0:0:root:/root:/bin/sh' \
        'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' \
        >"$tree/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$tree/etc/group"
    echo starry >"$tree/etc/hostname"
    # Without a hosts file musl resolves localhost through DNS.
    printf '%s\n' '127.0.0.1 localhost' '::1 localhost' >"$tree/etc/hosts"
    chmod 644 "$tree/etc/passwd" "$tree/etc/group" "$tree/etc/hostname" "$tree/etc/hosts"

    if [[ -n $EXTRA_BIN_DIR ]]; then
        local file
        while IFS= read -r -d '' file; do
            echo "adding /usr/local/bin/${file##*/}"
            install -m 755 "$file" "$tree/usr/local/bin/"
        done < <(find "$EXTRA_BIN_DIR" -maxdepth 1 -type f -print0 | sort -z)
    fi

    du -sh "$tree"
    find "$tree" | wc -l
}

# Pack $WORK/tree into $WORK/rootfs.img and check the file system.
pack_image() {
    local key=$1
    # A UUID and directory hash seed derived from the key, so that two
    # builds of one recipe differ only in timestamps.
    local uuid
    uuid=$(printf '%s' "$key" | sha256sum |
        sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/')
    # rsext4 supports blocks of at most 4 KiB, and mke2fs picks 1 KiB for
    # small images unless told otherwise. Without dir_index, directories stay
    # linear: rsext4 0.9.2 corrupts a hashed directory once it grows past a
    # few hundred entries (e2fsck: wrong i_blocks; renames fail with EUCLEAN).
    mke2fs -t ext4 -b 4096 -O ^dir_index -L starry-root -U "$uuid" -E "hash_seed=$uuid,root_owner=0:0" \
        -d "$WORK/tree" "$WORK/rootfs.img" "$IMAGE_SIZE"
    e2fsck -fn "$WORK/rootfs.img"
    ls -ls "$WORK/rootfs.img"
}

main() {
    local userland
    userland=$(bash "$IMAGES_DIR/userland.sh")

    local key image tree
    key=$(rootfs_key)
    image=$(rootfs_image)
    tree=$(rootfs_dir)
    if [[ -f $image && -d $tree ]]; then
        printf '%s\n' "$image"
        return 0
    fi
    take_build_lock
    if [[ -f $image && -d $tree ]]; then
        printf '%s\n' "$image"
        return 0
    fi

    # Holding the lock, leftovers of interrupted builds can go.
    rm -rf "$CACHE"/rootfs-*.tmp.*
    WORK=$(mktemp -d "$CACHE/rootfs-$key.tmp.XXXXXX")
    local logs=$CACHE/logs/rootfs-$key
    rm -rf "$logs"
    local start=$SECONDS
    run_step "$logs" root-tree assemble_root "$userland"
    run_step "$logs" ext4-image pack_image "$key"

    rm -rf "$tree" "$image"
    mv "$WORK/tree" "$tree"
    mv "$WORK/rootfs.img" "$image"
    rm -rf "$WORK"
    info "image built in $((SECONDS - start)) s: $image"
    printf '%s\n' "$image"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
