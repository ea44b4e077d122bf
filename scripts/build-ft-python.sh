#!/usr/bin/env bash
# Build (once) a free-threaded CPython 3.13 into PREFIX, or reuse the one already there.
#
# Usage: bash scripts/build-ft-python.sh PREFIX
#        bash scripts/build-ft-python.sh --fetch-only DIR   (fetch and verify the source into DIR,
#                                                            unpacked; no build, no apt-get install)
#
# What it promises:
#   * On success PREFIX/bin/python3.13t exists, reports sys._is_gil_enabled() == False, imports
#     ssl, ctypes, zlib, bz2 and lzma, and has pip; PREFIX/.nodeconf-ft-stamp records the source
#     version, the tarball's sha256 and the configure flags it was built with.
#   * A second run with an intact prefix and a matching stamp only prints "reusing" (a second or
#     so). Anything else (no stamp, other flags, GIL on, broken interpreter) rebuilds from scratch.
#   * The source is Debian's python3.13 source package of the trixie release (its orig tarball is
#     the upstream Python-3.13.5.tar.xz, byte for byte), fetched with `apt-get source` through a
#     private apt configuration in a temporary directory. The mirror is taken from this machine's
#     own apt sources; no host name is written here. The system's apt state is left untouched
#     (no lists, no caches), except that missing build dependencies are installed with apt-get.
#   * The build runs in a temporary directory and is installed with DESTDIR into a staging
#     directory beside PREFIX, then moved into place, so PREFIX is never half-written. Two runs
#     at once are serialised by a lock file beside PREFIX. Temporary files are removed on exit.
#   * The full log goes to PREFIX.build.log; on failure its tail is printed.
set -euo pipefail

# ---- what we build -------------------------------------------------------------------------
SRC_PACKAGE=python3.13
SRC_SUITE=trixie
PY_VERSION=3.13.5
# sha256 of python3.13_3.13.5.orig.tar.xz == upstream Python-3.13.5.tar.xz. Checked against the
# .dsc (which apt verified against the signed Sources index) and against this pin.
ORIG_SHA256=93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640
CONFIGURE_FLAGS=(--disable-gil --with-ensurepip=install --disable-test-modules)
# Bump when the recipe changes in a way the flags do not show: forces a rebuild.
RECIPE=1
# Debian packages needed to build an interpreter with pip, venv, ssl, ctypes, zlib, bz2, lzma.
BUILD_DEPS=(gcc make libc6-dev pkg-config xz-utils libssl-dev zlib1g-dev libffi-dev libbz2-dev
            liblzma-dev)

log() { printf 'build-ft-python: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# set_prefix PREFIX: the paths derived from the install prefix.
set_prefix() {
    case $1 in /*) PREFIX=$1 ;; *) PREFIX=$PWD/$1 ;; esac
    PREFIX=${PREFIX%/}
    PY=$PREFIX/bin/python3.13t
    STAMP=$PREFIX/.nodeconf-ft-stamp
    LOG=$PREFIX.build.log
}
STAMP_TEXT="cpython=$PY_VERSION source=$SRC_PACKAGE/$SRC_SUITE sha256=$ORIG_SHA256 recipe=$RECIPE
configure=${CONFIGURE_FLAGS[*]}"

# The checks a usable interpreter passes (GIL forced neither way by the environment).
interpreter_ok() {
    [[ -x $PY ]] || return 1
    env -u PYTHON_GIL "$PY" -c '
import sys, sysconfig
assert sysconfig.get_config_var("Py_GIL_DISABLED") == 1, "not a free-threaded build"
assert not sys._is_gil_enabled(), "GIL is enabled"
import ssl, ctypes, zlib, bz2, lzma, venv, ensurepip  # modules pip and our tests need
' >/dev/null 2>&1
}

reuse_ok() {
    [[ -f $STAMP ]] && [[ "$(cat "$STAMP")" == "$STAMP_TEXT" ]] && interpreter_ok
}

# run STEP CMD...: run a command with its output in the log; on failure show the tail and stop.
run() {
    local step=$1
    shift
    log "$step"
    printf '\n==== %s: %s\n' "$step" "$*" >>"$LOG"
    if ! "$@" >>"$LOG" 2>&1; then
        log "step failed: $step; last lines of $LOG:"
        tail -n 40 "$LOG" >&2
        exit 1
    fi
}

# The Debian archive this machine already uses: a `deb`/`deb-src` entry for a bare release
# suite (not -security/-updates/-backports) over http(s). Reads deb822 *.sources files and
# one-line *.list files. Prints the URI, or nothing.
# Arguments: the files to read (system_apt_sources lists the machine's).
find_debian_mirror() {
    local files=("$@")
    [[ ${#files[@]} -gt 0 ]] || return 0
    awk '
        function good_suite(s) { return s ~ /^[a-z]+$/ }  # bookworm, trixie, stable
        function good_uri(u) { return u ~ /^https?:\/\// && u !~ /security/ }
        function found(u) { print u; done = 1; exit }
        function flush(   n, i, us, ss, j) {
            if (done) return
            if (types ~ /(^|[ \t])deb(-src)?([ \t]|$)/ && enabled != "no") {
                n = split(uris, us, /[ \t]+/)
                split(suites, ss, /[ \t]+/)
                for (j in ss) if (good_suite(ss[j]))
                    for (i = 1; i <= n; i++) if (good_uri(us[i])) found(us[i])
            }
            types = uris = suites = enabled = ""
        }
        FNR == 1 { flush(); deb822 = (FILENAME ~ /\.sources$/) }
        /^[ \t]*#/ { next }
        !deb822 {
            line = $0; sub(/\[[^]]*\]/, "", line)
            n = split(line, w, /[ \t]+/)
            if (w[1] ~ /^deb(-src)?$/ && good_uri(w[2]) && good_suite(w[3])) found(w[2])
            next
        }
        /^[ \t]*$/ { flush(); next }
        /^[A-Za-z-]+:/ { key = tolower($1); sub(/^[^:]+:[ \t]*/, ""); val = $0 }
        /^[ \t]+[^ \t]/ { val = val " " $0 }  # a folded continuation of the last field
        {
            if (key == "types:") types = val
            else if (key == "uris:") uris = val
            else if (key == "suites:") suites = val
            else if (key == "enabled:") enabled = tolower(val)
        }
        END { flush() }
    ' "${files[@]}"
}

# The machine's apt source files, one a line.
system_apt_sources() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        /etc/apt/sources.list.d/*.sources; do
        if [[ -f $f ]]; then printf '%s\n' "$f"; fi
    done
}

install_build_deps() {
    local missing=() pkg
    for pkg in "${BUILD_DEPS[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$pkg")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    [[ $(id -u) -eq 0 ]] || die "missing build dependencies (${missing[*]}); install them as root"
    run "apt-get update" apt-get update
    run "installing build dependencies: ${missing[*]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
}

fetch_source() {
    local mirror apt_dir sources
    mapfile -t sources < <(system_apt_sources)
    mirror=$(find_debian_mirror "${sources[@]}")
    [[ -n $mirror ]] || die "no Debian archive found in this machine's apt sources" \
        "(/etc/apt/sources.list, /etc/apt/sources.list.d/*.{list,sources}); cannot fetch" \
        "the $SRC_PACKAGE source package"
    log "Debian mirror from this machine's apt sources: $mirror"
    apt_dir=$WORK/apt
    mkdir -p "$apt_dir/lists/partial" "$WORK/src"
    printf 'deb-src %s %s main\n' "${mirror%/}" "$SRC_SUITE" >"$apt_dir/sources.list"
    # Let apt's unprivileged download user write there (else it warns and downloads as root).
    if [[ $(id -u) -eq 0 ]] && id _apt >/dev/null 2>&1; then
        chmod 755 "$WORK"
        chown -R _apt "$apt_dir/lists" "$WORK/src"
    fi
    # Private configuration: own source list, own lists, no shared caches written.
    local apt_opts=(
        -o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=-"
        -o "Dir::State::Lists=$apt_dir/lists" -o "APT::Get::List-Cleanup=0"
        -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
    )
    run "apt-get update ($SRC_SUITE source index, private)" apt-get "${apt_opts[@]}" update
    (cd "$WORK/src" && run "apt-get source --download-only $SRC_PACKAGE" \
        apt-get "${apt_opts[@]}" source --download-only "$SRC_PACKAGE")
}

verify_and_unpack() {
    local orig=$WORK/src/${SRC_PACKAGE}_${PY_VERSION}.orig.tar.xz dsc actual
    [[ -f $orig ]] || die "expected $(basename "$orig") from $SRC_SUITE; got:" \
        "$(cd "$WORK/src" && printf '%s ' *)(has $SRC_SUITE moved past $PY_VERSION? update the pin)"
    dsc=$(ls "$WORK/src"/"${SRC_PACKAGE}"_*.dsc)
    actual=$(sha256sum "$orig" | cut -d' ' -f1)
    grep -q "^ $actual [0-9]* $(basename "$orig")\$" "$dsc" ||
        die "$(basename "$orig") does not match the sha256 listed in $(basename "$dsc")"
    [[ $actual == "$ORIG_SHA256" ]] ||
        die "$(basename "$orig") sha256 $actual differs from the pinned $ORIG_SHA256"
    log "orig tarball verified (sha256 $actual, as in $(basename "$dsc") and pinned)"
    # Only the upstream tarball is used; Debian's patches (the .debian.tar.xz) are not applied.
    run "unpacking" tar -xJf "$orig" -C "$WORK"
    SRC_DIR=$WORK/Python-$PY_VERSION
    [[ -x $SRC_DIR/configure ]] || die "unexpected tarball layout (no Python-$PY_VERSION/configure)"
}

build_and_install() {
    (
        cd "$SRC_DIR"
        run "configure --prefix=$PREFIX ${CONFIGURE_FLAGS[*]}" \
            ./configure --prefix="$PREFIX" "${CONFIGURE_FLAGS[@]}"
        run "make -j$(nproc)" make -j"$(nproc)"
        run "make install (staged)" make install DESTDIR="$STAGE"
    )
    [[ -x $STAGE$PREFIX/bin/python3.13t ]] || die "staged install has no bin/python3.13t"
    rm -rf "$PREFIX"
    mv "$STAGE$PREFIX" "$PREFIX"
    interpreter_ok || {
        env -u PYTHON_GIL "$PY" -c 'import sys, ssl, ctypes, zlib, bz2, lzma
print(sys._is_gil_enabled())' >&2 || true
        die "the new interpreter fails its checks (see above; log: $LOG)"
    }
    printf '%s\n' "$STAMP_TEXT" >"$STAMP"
}

# make_work_dir: a temporary directory for the source and the build, removed on exit.
make_work_dir() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/nodeconf-ft-build.XXXXXX")
    STAGE=${PREFIX:-$WORK}.stage.$$
    trap 'rm -rf "$WORK" "$STAGE"' EXIT
}

main() {
    if [[ $# -eq 2 && $1 == --fetch-only && -n $2 ]]; then
        mkdir -p "$2"
        LOG=$(cd "$2" && pwd)/fetch.log
        : >"$LOG"
        make_work_dir
        fetch_source
        verify_and_unpack
        rm -rf "${2:?}/Python-$PY_VERSION"
        mv "$SRC_DIR" "$2/"
        log "source verified and unpacked in $2/Python-$PY_VERSION"
        return 0
    fi
    [[ $# -eq 1 && -n $1 ]] || die "usage: $0 PREFIX | $0 --fetch-only DIR"
    set_prefix "$1"
    mkdir -p "$(dirname "$PREFIX")" || die "cannot create $(dirname "$PREFIX")"
    # Serialise concurrent builds into the same prefix.
    exec 9>"$PREFIX.lock"
    flock 9
    if reuse_ok; then
        log "reusing $PY ($("$PY" -VV | head -n1))"
        return 0
    fi
    make_work_dir
    : >"$LOG"
    local started
    started=$(date +%s)
    install_build_deps
    fetch_source
    verify_and_unpack
    build_and_install
    log "built $("$PY" -VV | head -n1) into $PREFIX in $(($(date +%s) - started)) s (log: $LOG)"
}

main "$@"; exit  # on one line: bash stops here even if this file changes while it runs
