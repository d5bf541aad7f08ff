#!/usr/bin/env bash
# A native CPython of an exact patch release (Debian's build), runnable here without installing
# anything system-wide; prints the path of a `python3.X` that any tool can run.
#
#     bash tests/native/setup.sh [X.Y.Z]        # default 3.13.15, the release serc targets
#     PY=$(bash tests/native/setup.sh 3.14.10)  # e.g. for the 3.14 target
#
# Why: serc emits the bytecode of one pinned patch release per target (vendor/serc/src/target/),
# and CPython's code generation changes between patch releases, so "byte-identical to CPython"
# is only meaningful against that same release; pyenv here has 3.13.0 only. Debian testing or
# unstable ships it, but needs a newer glibc than this machine's.
#
# How: a private apt state under target/native/apt (its own sources list, lists, cache; the
# system's dpkg status is never read or written), `apt-get download` of the interpreter, its
# stdlib packages and the shared libraries they link, `dpkg -x` of all of them into one root,
# and a wrapper that runs the interpreter through that root's own ld-linux with --library-path,
# so the host's libc is not used. The wrapper sits in ROOT/usr/bin, where CPython's prefix
# search finds ROOT/usr/lib/python3.X; `sys.executable` is the wrapper, so child processes
# (multiprocessing, uv's compile workers) run through it too.
#
# Fails (exit 1, the reason on stderr) when the release is not in Debian testing/unstable or a
# step fails; it never falls back to another interpreter. Idempotent: a second run reuses the
# root and only re-checks it.
set -euo pipefail
cd "$(dirname "$0")/../.."

WANT="${1:-3.13.15}"
if [[ ! "$WANT" =~ ^3\.([0-9]+)\.([0-9]+)$ ]]; then
    echo "setup.sh: expected a CPython release X.Y.Z, got '$WANT'" >&2
    exit 1
fi
MINOR="3.${BASH_REMATCH[1]}"
BASE="$PWD/target/native"
ROOT="$BASE/cpython-$WANT"
WRAPPER="$ROOT/usr/bin/python$MINOR"

fail() {
    echo "setup.sh: $*" >&2
    exit 1
}

# The modules compileall -j0, py_compile and uv's compile workers import; a missing shared
# library shows up here rather than as a half-working interpreter later.
check() {
    local got
    got=$("$WRAPPER" -S -c '
import sys, platform, compileall, py_compile, concurrent.futures, multiprocessing, hashlib, zlib, json
print(platform.python_version(), sys.prefix, sys.executable)') ||
        fail "the extracted CPython at $ROOT does not run"
    read -r version prefix executable <<<"$got"
    [[ "$version" == "$WANT" ]] || fail "extracted CPython reports $version, wanted $WANT"
    [[ "$prefix" == "$ROOT/usr" ]] || fail "extracted CPython found its prefix at $prefix, not $ROOT/usr"
    [[ "$executable" == "$WRAPPER" ]] || fail "sys.executable is $executable, not the wrapper"
}

# Debian's postinst byte-compiles the stdlib; so do we (once), so that the interpreter starts
# as an installed one does, loading its modules from pycs instead of compiling them at every
# start (which would cost compileall and uv's workers time a real install does not spend).
precompile() {
    if [[ ! -e "$ROOT/.stdlib-compiled" ]]; then
        "$WRAPPER" -E -m compileall -q -q -j0 -x '/(test|lib2to3|idlelib)/' \
            "$ROOT/usr/lib/python$MINOR" >/dev/null || true
        touch "$ROOT/.stdlib-compiled"
    fi
}

if [[ -x "$WRAPPER" ]]; then
    precompile
    check
    echo "$WRAPPER"
    exit 0
fi

command -v apt-get >/dev/null || fail "needs apt-get and dpkg-deb (Debian or Ubuntu)"
command -v dpkg-deb >/dev/null || fail "needs dpkg-deb"

APT="$BASE/apt"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/debs"
cat >"$APT/sources.list" <<'EOF'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian testing main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian unstable main
EOF
[[ -r /usr/share/keyrings/debian-archive-keyring.gpg ]] ||
    fail "needs /usr/share/keyrings/debian-archive-keyring.gpg (package debian-archive-keyring)"
OPTS=(
    -o "Dir::Etc::SourceList=$APT/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
    -o "Dir::State=$APT" -o "Dir::State::Lists=$APT/lists" -o "Dir::State::status=/dev/null"
    -o "Dir::Cache=$APT/cache" -o "APT::Architecture=amd64" -o "Acquire::Languages=none"
    -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root"
)
# Lists older than a day are refreshed (testing moves on and drops old versions).
if [[ -z "$(find "$APT/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]]; then
    echo "setup.sh: apt-get update (private lists in $APT)" >&2
    apt-get "${OPTS[@]}" -qq update >&2 || fail "apt-get update of the private lists failed"
fi

# The Debian version whose upstream part is exactly $WANT (e.g. 3.13.15-1).
DEBVER=$(apt-cache "${OPTS[@]}" madison "python$MINOR-minimal" |
    awk -v want="$WANT" '{v=$3; u=v; sub(/-[^-]*$/, "", u); if (u == want) {print v; exit}}')
if [[ -z "$DEBVER" ]]; then
    have=$(apt-cache "${OPTS[@]}" madison "python$MINOR-minimal" | awk '{print $3}' | tr '\n' ' ')
    fail "CPython $WANT is not in Debian testing/unstable (python$MINOR-minimal has: ${have:-nothing})"
fi

# The interpreter and stdlib at exactly that version; the libraries at whatever testing or
# unstable has (newest), with the glibc they were built against.
PKGS=(
    "python$MINOR-minimal=$DEBVER" "libpython$MINOR-minimal=$DEBVER"
    "libpython$MINOR-stdlib=$DEBVER" "python$MINOR=$DEBVER"
    libc6 libgcc-s1 libexpat1 zlib1g libssl3t64 libzstd1 libffi8 libbz2-1.0 liblzma5 libuuid1
    libmpdec4 libsqlite3-0 libncursesw6 libtinfo6 libreadline8t64 libdb5.3t64
)
echo "setup.sh: downloading CPython $DEBVER and its libraries" >&2
(cd "$APT/debs" && rm -f ./*.deb && apt-get "${OPTS[@]}" -qq download "${PKGS[@]}" >&2) ||
    fail "apt-get download of ${PKGS[*]} failed"

rm -rf "$ROOT.partial"
mkdir -p "$ROOT.partial"
for deb in "$APT/debs"/*.deb; do
    dpkg-deb -x "$deb" "$ROOT.partial" || fail "dpkg-deb -x $deb failed"
done
LOADER="$ROOT/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
REAL="$ROOT/usr/bin/python$MINOR.real"
[[ -e "$ROOT.partial/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ]] || fail "libc6 has no loader"
[[ -x "$ROOT.partial/usr/bin/python$MINOR" ]] || fail "python$MINOR-minimal has no usr/bin/python$MINOR"
mv "$ROOT.partial/usr/bin/python$MINOR" "$ROOT.partial/usr/bin/python$MINOR.real"
LIBS="$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/lib/x86_64-linux-gnu"
# --argv0 makes CPython see the wrapper as its program: sys.executable, and the prefix search
# from the wrapper's directory.
cat >"$ROOT.partial/usr/bin/python$MINOR" <<EOF
#!/bin/sh
# CPython $DEBVER from Debian, run with its own glibc (tests/native/setup.sh).
exec "$LOADER" --library-path "$LIBS" --argv0 "\$0" "$REAL" "\$@"
EOF
chmod +x "$ROOT.partial/usr/bin/python$MINOR"
ln -sf "python$MINOR" "$ROOT.partial/usr/bin/python3"
ln -sf "python$MINOR" "$ROOT.partial/usr/bin/python"
rm -rf "$ROOT"
mv "$ROOT.partial" "$ROOT"
precompile
check
echo "$WRAPPER"
