#!/usr/bin/env bash
# Re-checks tools/bazel/rustpython-unicode-0.6.0.patch without Bazel: builds rustpython-unicode
# 0.6.0's build script with Cargo (from the local registry, --offline), unpatched and patched,
# then runs each script the way rules_rust does (rules_rust issue 3369): with the crate at
# another path than the one it was compiled at, CARGO_MANIFEST_DIR pointing there.
# Expected: the unpatched script fails ("vendored Unicode data file should exist"), the patched
# one writes its generated sources. About a minute on 2 cores; not part of tests/run.sh.
#
#   bash tools/bazel/check_unicode_patch.sh   # prints one line per variant, exits 0 if as expected
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$REPO/target/unicode-patch-check
CRATE=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/rustpython-unicode-0.6.0 | head -n 1)
[ -d "$CRATE" ] || { echo "rustpython-unicode 0.6.0 is not in the Cargo registry: cargo fetch first" >&2; exit 1; }

rm -rf "$WORK"
mkdir -p "$WORK"
status=0
for variant in unpatched patched; do
    cp -r "$CRATE" "$WORK/$variant"
    if [ "$variant" = patched ]; then
        (cd "$WORK/$variant" && patch -s -p1 <"$REPO/tools/bazel/rustpython-unicode-0.6.0.patch")
    fi
    # A throw-away package that depends on the copy, with the project's lockfile for versions.
    mkdir -p "$WORK/host-$variant/src"
    printf '[package]\nname = "host"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\nrustpython-unicode = { path = "../%s" }\n\n[workspace]\n' \
        "$variant" >"$WORK/host-$variant/Cargo.toml"
    echo 'fn main() {}' >"$WORK/host-$variant/src/main.rs"
    cp "$REPO/Cargo.lock" "$WORK/host-$variant/"
    (cd "$WORK/host-$variant" && CARGO_TARGET_DIR=$WORK/target cargo build --offline --quiet 2>/dev/null)
    script=$(ls -t "$WORK"/target/debug/build/rustpython-unicode-*/build-script-build | head -n 1)

    # Run it as rules_rust does: the crate now lives elsewhere.
    mv "$WORK/$variant" "$WORK/$variant-elsewhere"
    mkdir -p "$WORK/out-$variant"
    rc=0
    (cd "$WORK/$variant-elsewhere" && CARGO_MANIFEST_DIR=$PWD OUT_DIR=$WORK/out-$variant \
        TARGET=x86_64-unknown-linux-gnu HOST=x86_64-unknown-linux-gnu PROFILE=debug OPT_LEVEL=0 \
        NUM_JOBS=2 "$script" >"$WORK/run-$variant.log" 2>&1) || rc=$?
    if [ "$variant" = unpatched ]; then
        if [ "$rc" -ne 0 ] && grep -q "vendored Unicode data file should exist" "$WORK/run-$variant.log"; then
            echo "unpatched: fails when moved, as rules_rust issue 3369 describes (expected)"
        else
            echo "unpatched: exit $rc, not the expected failure (see $WORK/run-$variant.log)"
            status=1
        fi
    else
        if [ "$rc" -eq 0 ] && [ -s "$WORK/out-$variant/generated/algo_names.rs" ]; then
            echo "patched: runs when moved and writes its generated sources (expected)"
        else
            echo "patched: exit $rc (see $WORK/run-$variant.log)"
            status=1
        fi
    fi
done
exit "$status"
