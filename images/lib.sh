# Shared helpers of the image scripts: cache paths, cache keys, the step
# runner and the build lock. Sourced, never run.

IMAGES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=images/versions.sh
source "$IMAGES_DIR/versions.sh"

CACHE=${STARRY_CACHE:-$HOME/.cache/starry-python}

# Folder whose regular files are copied into /usr/local/bin of the image.
EXTRA_BIN_DIR=${STARRY_IMAGE_EXTRA_BIN:-}

info() { printf '[image] %s\n' "$*" >&2; }

die() {
    printf '[image] error: %s\n' "$*" >&2
    exit 1
}

# Print a short SHA-256 of the names and contents of the given files.
hash_files() {
    local file
    for file in "$@"; do
        printf '%s\0' "${file#"$IMAGES_DIR"/}"
        sha256sum <"$file"
    done | sha256sum | cut -c1-16
}

# Cache key of the userland stage: the pinned versions and its recipe.
userland_key() {
    hash_files "$IMAGES_DIR/versions.sh" "$IMAGES_DIR/lib.sh" \
        "$IMAGES_DIR/userland.sh"
}

# Cache key of the image stage: the userland key, the recipe of the image
# and the names and contents of the extra binaries.
rootfs_key() {
    {
        userland_key
        hash_files "$IMAGES_DIR/rootfs.sh"
        if [[ -n $EXTRA_BIN_DIR ]]; then
            [[ -d $EXTRA_BIN_DIR ]] ||
                die "STARRY_IMAGE_EXTRA_BIN=$EXTRA_BIN_DIR is not a folder"
            (cd "$EXTRA_BIN_DIR" && find . -maxdepth 1 -type f -print0 |
                sort -z | xargs -0 -r sha256sum)
        fi
    } | sha256sum | cut -c1-16
}

userland_dir() { printf '%s/userland-%s\n' "$CACHE" "$(userland_key)"; }
rootfs_dir() { printf '%s/rootfs-%s\n' "$CACHE" "$(rootfs_key)"; }
rootfs_image() { printf '%s/rootfs-%s.img\n' "$CACHE" "$(rootfs_key)"; }
disk_image() { printf '%s/disk-%s.img\n' "$CACHE" "$(rootfs_key)"; }

# Take the cache's build lock for the rest of the calling shell, so that two
# builds never write the same cache entry. Waits for a build in progress.
take_build_lock() {
    mkdir -p "$CACHE"
    exec 9>"$CACHE/build.lock"
    if ! flock -n 9; then
        info "waiting for another build to release $CACHE/build.lock"
        flock 9
    fi
}

# run_step LOG_DIR NAME COMMAND...: print one progress line, run COMMAND with
# its output in LOG_DIR/NAME.log, and on failure print the log's tail and exit.
run_step() {
    local log_dir=$1 name=$2
    shift 2
    local log=$log_dir/$name.log
    mkdir -p "$log_dir"
    info "building $name ..."
    # The step runs as a background job, because a subshell that is part of
    # an `if` or `||` list would run with `set -e` switched off.
    ("$@") >"$log" 2>&1 </dev/null &
    local status=0
    wait $! || status=$?
    if ((status != 0)); then
        info "step $name failed with status $status; log: $log"
        tail -n 30 "$log" >&2
        exit 1
    fi
}
