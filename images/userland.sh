#!/usr/bin/env bash
# Cross-build CPython 3.11 for aarch64-linux-musl, dynamically linked, with the
# static libraries its extension modules need, and print the path of the
# cached install tree: opt/python3.11 plus lib/ld-musl-aarch64.so.1.
#
# Everything is built under $CACHE/work/ and the tree is renamed into
# $CACHE/userland-<key>/ only after every check passed, so an interrupted
# build never leaves a partial cache entry. Downloads are cached by version
# in $CACHE/downloads/.
set -euo pipefail
# shellcheck source=images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Debian patches of python3.11 that adapt it to Debian's own layout (multiarch
# paths, dist-packages, a disabled ensurepip, packaging splits). They are left
# out because this Python lives in its own prefix. Every other patch of the
# series, the security and bug fixes, is applied.
PYTHON_DEBIAN_LAYOUT_PATCHES=(
    deb-setup.diff deb-locations.diff distutils-install-layout.diff
    locale-module.diff distutils-link.diff distutils-sysconfig.diff
    sysconfig-debian-schemes.diff tkinter-import.diff gdbm-import.diff
    link-opt.diff setup-modules.diff profiled-build.diff langpack-gettext.diff
    disable-sem-check.diff lib-argparse.diff ctypes-arm.diff multiarch.diff
    lib2to3-no-pickled-grammar.diff ext-no-libpython-link.diff
    test-no-random-order.diff multiarch-extname.diff tempfile-minimal.diff
    disable-some-tests.diff ensurepip-disabled.diff
    mangle-fstack-protector.diff reproducible-buildinfo.diff
    pydoc-use-pager.diff local-doc-references.diff doc-build-texinfo.diff
    argparse-no-shutil.diff sysconfigdata-name.diff
    hurd_kfreebsd_thread_native_id.diff sphinx3.diff destshared-location.diff
    ntpath-import.diff
)

# Extension modules whose absence fails the build.
REQUIRED_MODULES=(zlib _ctypes _lzma _uuid _decimal _socket _bz2 mmap math)

# configure results that cannot be probed in a cross build, and functions
# that zig's musl 1.2.5 headers declare but the 1.2.3 runtime lacks (Debian
# has no crypt in musl either).
PYTHON_CONFIG_CACHE=(
    ac_cv_file__dev_ptmx=yes
    ac_cv_file__dev_ptc=no
    ac_cv_func_preadv2=no
    ac_cv_func_pwritev2=no
    ac_cv_search_crypt_r=no
    ac_cv_crypt_crypt=no
)

MAKE_JOBS=$(nproc)
CROSS_READELF=aarch64-linux-gnu-readelf
CROSS_STRIP=aarch64-linux-gnu-strip

# --- sources -----------------------------------------------------------

# Write a deb-src entry for the suite, signed by the keyring of the
# existing Debian entry, unless apt already lists one.
ensure_deb_src() {
    local list=/etc/apt/sources.list.d/starry-python-src.sources
    [[ -e $list ]] && return 0
    [[ $(id -u) == 0 ]] ||
        die "apt has no deb-src entry; run once as root to write $list"

    local main=/etc/apt/sources.list.d/debian.sources keyring uri
    keyring=$(sed -n 's/^Signed-By:[[:space:]]*//p' "$main" 2>/dev/null | head -n1)
    uri=$(sed -n 's/^URIs:[[:space:]]*//p' "$main" 2>/dev/null | head -n1)
    cat >"$list" <<EOF
Types: deb-src
URIs: ${uri:-http://deb.debian.org/debian}
Suites: $DEBIAN_SUITE
Components: main
Signed-By: ${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}
EOF
    apt-get update -qq
}

# download_sources: fetch each pinned source package into its own folder of
# $CACHE/downloads/, skipping those already there.
download_sources() {
    ensure_deb_src
    local spec name version dir tmp
    for spec in "${SOURCE_PACKAGES[@]}"; do
        name=${spec%%=*}
        version=${spec#*=}
        dir=$CACHE/downloads/${name}_${version//:/_}
        [[ -d $dir ]] && continue

        if ! apt-cache showsrc "$name" | grep -qx "Version: $version"; then
            apt-get update -qq
        fi
        apt-cache showsrc "$name" | grep -qx "Version: $version" ||
            die "apt lists no source package $name version $version; update SOURCE_PACKAGES in images/versions.sh"

        mkdir -p "$CACHE/downloads"
        tmp=$(mktemp -d "$dir.tmp.XXXXXX")
        (cd "$tmp" && apt-get source --download-only "$spec")
        mv "$tmp" "$dir"
    done
}

# Extract Debian's arm64 musl and keep its libc.so, which doubles as the
# dynamic loader. (musl-dev is left out: it pulls in gcc, and zig ships the
# headers.)
download_musl() {
    local dir=$CACHE/downloads/musl-arm64_$MUSL_VERSION
    [[ -f $dir/libc.so ]] && return 0
    mkdir -p "$CACHE/downloads"
    local tmp
    tmp=$(mktemp -d "$dir.tmp.XXXXXX")
    mmdebstrap --arch=arm64 --variant=extract --include="musl=$MUSL_VERSION" \
        "$DEBIAN_SUITE" "$tmp/root"
    local loader=$tmp/root/lib/ld-musl-aarch64.so.1
    [[ -e $loader ]] || die "musl:arm64 has no lib/ld-musl-aarch64.so.1"
    cp -L "$loader" "$tmp/libc.so"
    rm -rf "$tmp/root" "$dir"
    mv "$tmp" "$dir"
}

# unpack_source NAME [dpkg-source options]: unpack the cached source package
# NAME into $WORK/src/NAME.
unpack_source() {
    local name=$1 spec version dsc=""
    shift
    for spec in "${SOURCE_PACKAGES[@]}"; do
        [[ ${spec%%=*} == "$name" ]] || continue
        version=${spec#*=}
        dsc=$(find "$CACHE/downloads/${name}_${version//:/_}" -maxdepth 1 -name '*.dsc' | head -n1)
    done
    [[ -n $dsc ]] || die "no downloaded .dsc for $name"
    dpkg-source "$@" -x "$dsc" "$WORK/src/$name"
}

unpack_sources() {
    rm -rf "$WORK/src"
    mkdir -p "$WORK/src"
    unpack_source zlib
    unpack_source libffi
    unpack_source xz-utils
    unpack_source util-linux
    # Debian's patches touch configure.ac and Makefile.am (for programs that
    # are not built here). Mark the shipped autotools output as up to date,
    # so that make does not ask for automake.
    (cd "$WORK/src/util-linux" &&
        find . \( -name aclocal.m4 -o -name configure -o -name Makefile.in \
            -o -name config.h.in \) -exec touch {} +)
    unpack_source bzip2
    # Upstream dash: Debian's patches add source files that the shipped
    # Makefile.in does not list.
    unpack_source dash --skip-patches

    # Pristine upstream CPython, then Debian's fixes without its layout.
    unpack_source python3.11 --skip-patches
    local patch skip
    local -A skipped=()
    for skip in "${PYTHON_DEBIAN_LAYOUT_PATCHES[@]}"; do skipped[$skip]=1; done
    while read -r patch; do
        [[ -z $patch || $patch == \#* ]] && continue
        [[ -n ${skipped[$patch]:-} ]] && continue
        echo "applying $patch"
        patch -d "$WORK/src/python3.11" -p1 --forward --batch \
            <"$WORK/src/python3.11/debian/patches/$patch"
    done <"$WORK/src/python3.11/debian/patches/series"

    # Debian's fix for CVE-2026-4224 makes pyexpat.c include an internal
    # header, which Debian's build allows by building pyexpat into the
    # interpreter. As a shared module it needs Py_BUILD_CORE_MODULE, which
    # pyexpat.c defines itself from CPython 3.12 on.
    local pyexpat=$WORK/src/python3.11/Modules/pyexpat.c
    if grep -q '"pycore_ceval.h"' "$pyexpat" && ! grep -q Py_BUILD_CORE_MODULE "$pyexpat"; then
        sed -i '1i #ifndef Py_BUILD_CORE_BUILTIN\n#  define Py_BUILD_CORE_MODULE 1\n#endif' "$pyexpat"
    fi
}

# --- cross toolchain ---------------------------------------------------

# Write CC, CXX, AR and RANLIB wrappers around zig into $WORK/bin.
write_toolchain() {
    local zig
    zig=$(python3 -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')
    [[ -x $zig ]] || die "zig not found; run scripts/setup-host.sh"
    local version
    version=$("$zig" version)
    [[ $version == "$ZIG_VERSION" ]] ||
        die "zig is $version but $ZIG_VERSION is pinned; run scripts/setup-host.sh"

    mkdir -p "$WORK/bin"
    local lang tool
    for lang in c c++; do
        tool=cc
        [[ $lang == c++ ]] && tool=c++
        # zig links musl programs statically unless told -dynamic. Input from
        # stdin without -x makes clang list the host's /usr/include, which
        # CPython's setup.py would then add to every module build.
        cat >"$WORK/bin/$TARGET_TRIPLE-$tool" <<EOF
#!/usr/bin/env bash
args=()
language_given=no
for arg in "\$@"; do
    case \$arg in -x*) language_given=yes ;; esac
    if [[ \$arg == - && \$language_given == no ]]; then
        args+=(-x $lang)
    fi
    args+=("\$arg")
done
exec "$zig" $tool -target $TARGET_TRIPLE -dynamic "\${args[@]}"
EOF
    done
    for tool in ar ranlib; do
        printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$zig" "$tool" >"$WORK/bin/$TARGET_TRIPLE-$tool"
    done
    chmod +x "$WORK/bin"/*

    # A smoke test: a dynamically linked program against the musl loader.
    printf '#include <stdio.h>\nint main(void){puts("hello");return 0;}\n' >"$WORK/hello.c"
    "$WORK/bin/$TARGET_TRIPLE-cc" -O2 -o "$WORK/hello" "$WORK/hello.c"
    "$CROSS_READELF" -l "$WORK/hello" | grep -q 'ld-musl-aarch64.so.1' ||
        die "zig produced a program without the musl dynamic loader"
}

# Export the cross tools for configure scripts and makefiles.
use_cross_env() {
    export CC=$WORK/bin/$TARGET_TRIPLE-cc
    export CXX=$WORK/bin/$TARGET_TRIPLE-c++
    export AR=$WORK/bin/$TARGET_TRIPLE-ar
    export RANLIB=$WORK/bin/$TARGET_TRIPLE-ranlib
    export READELF=$CROSS_READELF
    export STRIP=$CROSS_STRIP
    export ZIG_GLOBAL_CACHE_DIR=$CACHE/zig-cache
    export ZIG_LOCAL_CACHE_DIR=$CACHE/zig-cache
}

# --- static libraries --------------------------------------------------

autotools_host_flags=(--host="$TARGET_TRIPLE" --build="$(uname -m)-pc-linux-gnu")

build_zlib() {
    use_cross_env
    cd "$WORK/src/zlib"
    CFLAGS="-O2 -fPIC" CHOST=$TARGET_TRIPLE ./configure --static --prefix="$STAGE"
    make -j"$MAKE_JOBS" libz.a
    make install
}

build_libffi() {
    use_cross_env
    cd "$WORK/src/libffi"
    # libffi 3.4.4 has an implicit declaration that clang 16 and later
    # reject by default.
    ./configure "${autotools_host_flags[@]}" --prefix="$STAGE" \
        --disable-shared --enable-static --with-pic --disable-docs \
        --disable-multi-os-directory \
        CFLAGS="-O2 -fPIC -Wno-error=implicit-function-declaration"
    make -j"$MAKE_JOBS"
    make install
}

build_xz() {
    use_cross_env
    cd "$WORK/src/xz-utils"
    ./configure "${autotools_host_flags[@]}" --prefix="$STAGE" \
        --disable-shared --enable-static --with-pic --disable-nls \
        --disable-xz --disable-xzdec --disable-lzmadec --disable-lzmainfo \
        --disable-lzma-links --disable-scripts --disable-doc \
        CFLAGS="-O2 -fPIC"
    make -j"$MAKE_JOBS"
    make install
}

build_libuuid() {
    use_cross_env
    cd "$WORK/src/util-linux"
    ./configure "${autotools_host_flags[@]}" --prefix="$STAGE" \
        --disable-all-programs --enable-libuuid \
        --disable-shared --enable-static --with-pic --disable-nls \
        --without-systemd --without-python --without-udev \
        --disable-bash-completion --disable-asciidoc \
        CFLAGS="-O2 -fPIC"
    make -j"$MAKE_JOBS" libuuid.la
    make install-pkgconfigDATA install-uuidincHEADERS install-usrlib_execLTLIBRARIES
}

build_bzip2() {
    use_cross_env
    cd "$WORK/src/bzip2"
    make -j"$MAKE_JOBS" libbz2.a CC="$CC" AR="$AR" RANLIB="$RANLIB" \
        CFLAGS="-O2 -fPIC -D_FILE_OFFSET_BITS=64"
    install -D -m 644 bzlib.h "$STAGE/include/bzlib.h"
    install -D -m 644 libbz2.a "$STAGE/lib/libbz2.a"
}

# --- /bin/sh -----------------------------------------------------------

# dash, Debian's /bin/sh, for os.system, os.popen and subprocess with
# shell=True.
build_dash() {
    use_cross_env
    cd "$WORK/src/dash"
    ./configure "${autotools_host_flags[@]}" --prefix=/ CC_FOR_BUILD=cc CFLAGS="-O2"
    make -j"$MAKE_JOBS"
    install -D -m 755 src/dash "$STAGE/bin/dash"
}

# --- CPython -----------------------------------------------------------

configure_python() {
    use_cross_env
    local build_python
    build_python=$(python3.11 -c 'import sys; print(sys.executable)')
    rm -rf "$WORK/python-build"
    mkdir -p "$WORK/python-build"
    cd "$WORK/python-build"
    # setup.py finds the static libraries only through CPPFLAGS and LDFLAGS.
    # zig turns -Wdate-time into an error, which getbuildinfo.c triggers.
    env "${PYTHON_CONFIG_CACHE[@]}" \
        CPPFLAGS="-I$STAGE/include" LDFLAGS="-L$STAGE/lib" \
        CFLAGS_NODIST="-Wno-error=date-time" \
        PKG_CONFIG_PATH="$STAGE/lib/pkgconfig" PKG_CONFIG_LIBDIR="$STAGE/lib/pkgconfig" \
        "$WORK/src/python3.11/configure" "${autotools_host_flags[@]}" \
        --prefix="$PYTHON_PREFIX" \
        --with-build-python="$build_python" \
        --enable-ipv6 \
        --with-ensurepip=no \
        --without-static-libpython
}

build_python() {
    use_cross_env
    cd "$WORK/python-build"
    make -j"$MAKE_JOBS" 2>&1 | tee "$WORK/python-make.log"
    # setup.py lists the modules that failed to compile and those removed
    # because they failed to import, apart from the modules whose
    # dependencies were not found.
    if grep -E -A3 'Failed to build these modules|could not be imported' "$WORK/python-make.log"; then
        echo "some extension modules failed to build"
        exit 1
    fi
}

install_python() {
    use_cross_env
    cd "$WORK/python-build"
    rm -rf "$WORK/dest"
    make install DESTDIR="$WORK/dest"
}

# Copy the install tree and the loader into $WORK/tree, without static
# libraries, bytecode caches and debug symbols.
assemble_tree() {
    local tree=$WORK/tree
    rm -rf "$tree"
    mkdir -p "$tree/opt" "$tree/lib"
    cp -a "$WORK/dest$PYTHON_PREFIX" "$tree$PYTHON_PREFIX"
    find "$tree" \( -name '*.a' -o -name '*.la' \) -type f -delete
    find "$tree" -name __pycache__ -type d -prune -exec rm -rf {} +

    local file
    while IFS= read -r -d '' file; do
        if [[ $(head -c4 "$file" | od -An -c | tr -d ' ') == '177ELF' ]]; then
            "$CROSS_STRIP" --strip-unneeded "$file"
        fi
    done < <(find "$tree" -type f -print0)

    install -m 755 "$CACHE/downloads/musl-arm64_$MUSL_VERSION/libc.so" \
        "$tree/lib/ld-musl-aarch64.so.1"
    install -D -m 755 "$STAGE/bin/dash" "$tree/bin/dash"
    "$CROSS_STRIP" --strip-unneeded "$tree/bin/dash"
    ln -s dash "$tree/bin/sh"
    du -sh "$tree"
    find "$tree" -type f | wc -l
}

# Fail unless every required extension module was built and every undefined
# dynamic symbol of the tree's ELF files resolves against the musl runtime or
# the python executable.
check_tree() {
    local tree=$WORK/tree
    local lib_dynload=$tree$PYTHON_PREFIX/lib/python3.11/lib-dynload
    local module missing=()
    for module in "${REQUIRED_MODULES[@]}"; do
        compgen -G "$lib_dynload/$module.cpython-311-*.so" >/dev/null || missing+=("$module")
    done
    if ((${#missing[@]})); then
        echo "required extension modules missing from lib-dynload: ${missing[*]}"
        exit 1
    fi

    # Defined dynamic symbols of libc.so and of the executable.
    local defined=$WORK/defined-symbols undefined=$WORK/undefined-symbols
    "$CROSS_READELF" --dyn-syms -W "$tree/lib/ld-musl-aarch64.so.1" \
        "$tree$PYTHON_PREFIX/bin/python3.11" |
        awk '$7 != "UND" && $7 != "Ndx" && NF >= 8 { sub(/@.*/, "", $8); print $8 }' |
        sort -u >"$defined"

    : >"$undefined"
    local file
    while IFS= read -r -d '' file; do
        [[ $(head -c4 "$file" | od -An -c | tr -d ' ') == '177ELF' ]] || continue
        "$CROSS_READELF" --dyn-syms -W "$file" |
            awk -v file="${file#"$tree"}" '$7 == "UND" && $5 != "WEAK" && NF >= 8 { sub(/@.*/, "", $8); print $8, file }' \
                >>"$undefined"
    done < <(find "$tree$PYTHON_PREFIX" -type f -print0)

    local unresolved
    unresolved=$(sort -u "$undefined" | awk 'NR == FNR { defined[$1] = 1; next } !($1 in defined)' "$defined" -)
    if [[ -n $unresolved ]]; then
        echo "undefined symbols that neither musl $MUSL_VERSION nor python3.11 defines:"
        echo "$unresolved"
        exit 1
    fi
    echo "$(wc -l <"$undefined") undefined symbol references, all resolved"
}

# Import every extension module of lib-dynload under qemu-aarch64 user mode.
smoke_test_tree() {
    local tree=$WORK/tree
    local script='
import importlib, os, sys
names = sorted(f.split(".")[0] for f in os.listdir(os.path.join(sys.prefix, "lib/python3.11/lib-dynload")))
failed = []
for name in names:
    try:
        importlib.import_module(name)
    except Exception as error:
        failed.append((name, error))
print(len(names), "extension modules,", len(failed), "failed to import")
for name, error in failed:
    print(" ", name, error)
sys.exit(1 if failed else 0)
'
    env -i PATH=/usr/bin:/bin HOME=/ LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 \
        qemu-aarch64 -L "$tree" "$tree$PYTHON_PREFIX/bin/python3.11" -c "$script"
    local answer
    answer=$(qemu-aarch64 -L "$tree" "$tree/bin/sh" -c 'echo "sh $((6 * 7))"')
    [[ $answer == "sh 42" ]] || die "/bin/sh printed '$answer' instead of 'sh 42'"
    echo "/bin/sh runs"
}

main() {
    local out
    out=$(userland_dir)
    if [[ -d $out ]]; then
        printf '%s\n' "$out"
        return 0
    fi
    take_build_lock
    if [[ -d $out ]]; then
        printf '%s\n' "$out"
        return 0
    fi

    local key
    key=$(userland_key)
    WORK=$CACHE/work/userland-$key
    STAGE=$WORK/stage
    LOGS=$CACHE/logs/userland-$key
    # Holding the lock, leftovers of interrupted builds can go.
    rm -rf "$CACHE/work" "$CACHE"/downloads/*.tmp.* "$LOGS"
    mkdir -p "$WORK" "$LOGS"
    info "userland $key: logs in $LOGS"

    local start=$SECONDS
    run_step "$LOGS" download-sources download_sources
    run_step "$LOGS" download-musl download_musl
    run_step "$LOGS" unpack-sources unpack_sources
    run_step "$LOGS" toolchain write_toolchain
    run_step "$LOGS" zlib build_zlib
    run_step "$LOGS" libffi build_libffi
    run_step "$LOGS" xz build_xz
    run_step "$LOGS" libuuid build_libuuid
    run_step "$LOGS" bzip2 build_bzip2
    run_step "$LOGS" dash build_dash
    run_step "$LOGS" configure-python configure_python
    run_step "$LOGS" build-python build_python
    run_step "$LOGS" install-python install_python
    run_step "$LOGS" assemble-tree assemble_tree
    run_step "$LOGS" check-symbols check_tree
    run_step "$LOGS" import-modules smoke_test_tree

    mv "$WORK/tree" "$out"
    rm -rf "$WORK"
    info "userland built in $((SECONDS - start)) s: $out"
    printf '%s\n' "$out"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
