#!/usr/bin/env bash
# Builds the binary we ship and benchmark and copies it to target/shipped/pycompile-worker
# (out of cargo's way: any later `cargo build --profile dist` relinks target/dist's copy
# without these link flags).
#
#   bash tools/dist.sh          # prints the copy's path on stdout
#
# The `dist` profile (fat LTO, one codegen unit; Cargo.toml) and, on Linux, a static,
# non-PIE link: no dynamic loader, no shared libraries to map and no relocations to apply at
# start, which is a fifth of a one-shot action's time (benches/README.md). Only the final
# binary gets these link flags (`cargo rustc`): in RUSTFLAGS they would also reach the
# proc-macro crates, which cannot be linked statically. Where static glibc is missing the
# script falls back to the default link and says so.
set -euo pipefail
cd "$(dirname "$0")/.."

build() {
    cargo rustc --profile dist --ignore-rust-version --bin pycompile-worker \
        --message-format=json-render-diagnostics -- "$@" |
        python3 tools/cargo_executable.py pycompile-worker
}

if [[ $(uname -s) == Linux ]] && built=$(build -C relocation-model=static -C target-feature=+crt-static); then
    echo "[dist] static, non-PIE" >&2
else
    echo "[dist] static link unavailable here; building the default (dynamic) link" >&2
    built=$(build)
fi
mkdir -p target/shipped
cp "$built" target/shipped/pycompile-worker.tmp
mv target/shipped/pycompile-worker.tmp target/shipped/pycompile-worker
echo "$PWD/target/shipped/pycompile-worker"
