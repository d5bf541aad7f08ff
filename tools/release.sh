#!/usr/bin/env bash
# Builds the release archive of pycompile-worker for the platform this runs on and prints the
# entry to paste into tools/bazel/versions.bzl's BINARIES.
#
#   bash tools/release.sh --url-base URL [--binary PATH] [--out DIR]
#
#   --url-base URL  where the archive will be published; the entry's URL is
#                   URL/pycompile-worker-<version>-<platform>.tar.gz (a file:// URL works too)
#   --binary PATH   package this binary instead of building one (also PYCOMPILE_WORKER_BIN);
#                   default: `bash tools/dist.sh` (fat LTO; on Linux static and non-PIE, ~8 min)
#   --out DIR       where the archive goes (default target/release-archives)
#
# The archive is a .tar.gz with `pycompile-worker` (`.exe` on Windows) and LICENSE at its top
# level, byte-for-byte reproducible from the same binary (sorted names, fixed mtime and owner,
# gzip without a timestamp). stdout is only the versions.bzl entry; progress goes to stderr.
# .github/workflows/release.yml runs this on each platform of versions.bzl.
set -euo pipefail
cd "$(dirname "$0")/.."

URL_BASE=
BINARY=${PYCOMPILE_WORKER_BIN:-}
OUT=target/release-archives
while [ $# -gt 0 ]; do
    case $1 in
        --url-base) URL_BASE=$2; shift 2 ;;
        --binary) BINARY=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        *) echo "release: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done
[ -n "$URL_BASE" ] || { echo "release: --url-base is required" >&2; exit 2; }

VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
BZL_VERSION=$(sed -n 's/^PYCOMPILE_WORKER_VERSION = "\(.*\)"$/\1/p' tools/bazel/versions.bzl)
[ "$VERSION" = "$BZL_VERSION" ] || {
    echo "release: Cargo.toml says $VERSION but tools/bazel/versions.bzl says $BZL_VERSION" >&2
    exit 1
}

# Platform names as in versions.bzl's PLATFORMS.
case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=macos ;;
    MINGW* | MSYS* | CYGWIN*) os=windows ;;
    *) echo "release: unsupported OS $(uname -s)" >&2; exit 1 ;;
esac
case "$(uname -m)" in
    x86_64 | amd64) cpu=x86_64 ;;
    aarch64 | arm64) cpu=aarch64 ;;
    *) echo "release: unsupported CPU $(uname -m)" >&2; exit 1 ;;
esac
PLATFORM=${os}_${cpu}
grep -q "\"$PLATFORM\": \[" tools/bazel/versions.bzl || {
    echo "release: $PLATFORM is not a platform of tools/bazel/versions.bzl" >&2
    exit 1
}
EXE=pycompile-worker
[ "$os" = windows ] && EXE=pycompile-worker.exe

if [ -z "$BINARY" ]; then
    echo "release: building with tools/dist.sh" >&2
    BINARY=$(bash tools/dist.sh)
fi
[ -f "$BINARY" ] || { echo "release: no binary at $BINARY" >&2; exit 1; }

mkdir -p "$OUT"
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
install -m 0755 "$BINARY" "$STAGE/$EXE"
install -m 0644 LICENSE "$STAGE/LICENSE"
NAME=pycompile-worker-$VERSION-$PLATFORM.tar.gz
# GNU tar (macOS: `brew install gnu-tar` provides gtar) for the reproducibility flags.
TAR=$(command -v gtar || command -v tar)
"$TAR" -C "$STAGE" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=ustar \
    -cf - LICENSE "$EXE" | gzip -n >"$OUT/$NAME.tmp"
mv "$OUT/$NAME.tmp" "$OUT/$NAME"
if command -v sha256sum >/dev/null 2>&1; then
    SHA=$(sha256sum "$OUT/$NAME" | cut -d' ' -f1)
else
    SHA=$(shasum -a 256 "$OUT/$NAME" | cut -d' ' -f1)
fi
echo "release: wrote $OUT/$NAME" >&2

cat <<EOF
    "$PLATFORM": {
        "sha256": "$SHA",
        "urls": ["${URL_BASE%/}/$NAME"],
    },
EOF
