#!/usr/bin/env bash
# Builds the binary we ship and benchmark and copies it to target/shipped/pycompile-worker.
#
#   bash tools/dist.sh            # prints the copy's path on stdout (~20 min on 2 cores)
#   bash tools/dist.sh --no-pgo   # the same without profile-guided optimisation (~8 min)
#
# What it is:
# - The `dist` profile (fat LTO, one codegen unit; Cargo.toml).
# - On Linux a static, non-PIE link: no dynamic loader, no shared libraries to map and no
#   relocations to apply at start, which is a fifth of a one-shot action's time
#   (benches/README.md). Where static glibc is missing it falls back to the default link and
#   says so.
# - Profile-guided optimisation: a first build instrumented with `-Cprofile-generate` compiles
#   a training set for every embedded target, `llvm-profdata` (rustup's `llvm-tools`
#   component, of the toolchain's own LLVM) merges the counts, and the shipped build is
#   optimised with them (`-Cprofile-use`). The training set: sympy 1.13.3's wheel from PyPI
#   (1 518 files of ordinary library code, pinned by hash, cached in target/pgo) at -O0, and
#   the repository's fixtures (tests/fixtures: odd syntax, broken and encoded sources) at -O0
#   and -O2. It is deliberately none of the benchmarks' corpora (benches/trees.py's wheels,
#   benches/run.sh's stdlib), so they measure code the profile did not see; the gain is in
#   benches/README.md ("Profile-guided optimisation"). Without llvm-profdata (rustup missing
#   or offline) the script says so and builds without PGO; without PyPI it trains on the
#   fixtures alone and says so.
#
# Every build passes `--target <host>`: cargo then applies RUSTFLAGS (the link and profile
# flags) to the shipped code only, not to build scripts and proc-macros, which cannot be linked
# statically. Builds go to target/pgo/{generate,use} or target/nopgo, out of the way of
# `cargo build --profile dist` (benches/run.sh builds benches/raw.rs that way).
set -euo pipefail
cd "$(dirname "$0")/.."

pgo=1
case "${1:-}" in
    "") ;;
    --no-pgo) pgo=0 ;;
    *) sed -n '4,5p' "$0" >&2; exit 2 ;;
esac

host=$(rustc -vV | sed -n 's/^host: //p')
link=()
if [[ $(uname -s) == Linux ]]; then
    link=(-C relocation-model=static -C target-feature=+crt-static)
fi

# build TARGET_DIR RUSTFLAG...: prints the executable's path.
build() {
    local dir=$1
    shift
    RUSTFLAGS="$*" cargo build --profile dist --ignore-rust-version --bin pycompile-worker \
        --target "$host" --target-dir "$dir" --message-format=json-render-diagnostics |
        python3 tools/cargo_executable.py pycompile-worker
}

# build_linked TARGET_DIR RUSTFLAG...: sets `built`; static where it links, else the default
# link. Not run in a subshell, so a failed static link is tried once, not once per build.
build_linked() {
    local dir=$1
    shift
    if ((${#link[@]})) && built=$(build "$dir" "$@" "${link[@]}") && [[ -n $built ]]; then
        echo "[dist] static, non-PIE" >&2
        return
    fi
    ((${#link[@]})) && echo "[dist] static link unavailable here; the default (dynamic) link" >&2
    link=()
    built=$(build "$dir" "$@")
}

# The llvm-profdata of the toolchain's own LLVM (a profile is read by the LLVM that wrote it).
llvm_profdata() {
    local tool
    tool="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
    if [[ ! -x $tool ]] && command -v rustup >/dev/null; then
        rustup component add llvm-tools >&2 || true
    fi
    [[ -x $tool ]] && echo "$tool"
}

# The training wheel, fetched once into target/pgo and checked against its pinned hash.
training_wheel() {
    local name=sympy-1.13.3-py3-none-any.whl
    local sha256=54612cf55a62755ee71824ce692986f23c88ffa77207b30c1368eda4a7060f73
    if [[ ! -f target/pgo/$name ]]; then
        python3 -m pip download --quiet --no-deps --only-binary :all: sympy==1.13.3 \
            -d target/pgo >&2 || return 1
    fi
    python3 -c 'import hashlib, sys; sys.exit(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest() != sys.argv[2])' \
        "target/pgo/$name" "$sha256" || { echo "[dist] $name: hash mismatch" >&2; return 1; }
    echo "target/pgo/$name"
}

if ((pgo)) && profdata=$(llvm_profdata); then
    raw="$PWD/target/pgo/raw"
    rm -rf "$raw" target/pgo/train
    echo "[dist] 1/3 instrumented build" >&2
    build_linked target/pgo/generate "-Cprofile-generate=$raw"
    instrumented=$built
    echo "[dist] 2/3 training (3.12-3.15)" >&2
    mkdir -p target/pgo/train
    cp -R tests/fixtures target/pgo/train/
    if wheel=$(training_wheel); then
        python3 -m zipfile -e "$wheel" target/pgo/train/sympy
    else
        echo "[dist] the sympy wheel could not be fetched; training on tests/fixtures only" >&2
    fi
    for version in 3.12 3.13 3.14 3.15; do
        # Broken fixtures fail on purpose (the error path is trained too): status ignored.
        "$instrumented" compileall -q -q -f -j0 -o 0 -o 2 --python_version "$version" \
            target/pgo/train/fixtures >/dev/null || true
        if [[ -d target/pgo/train/sympy ]]; then
            "$instrumented" compileall -q -q -f -j0 --python_version "$version" \
                target/pgo/train/sympy >/dev/null || true
        fi
    done
    "$profdata" merge -o target/pgo/merged.profdata "$raw"
    echo "[dist] 3/3 optimised build" >&2
    build_linked target/pgo/use "-Cprofile-use=$PWD/target/pgo/merged.profdata" \
        -Cllvm-args=-pgo-warn-missing-function=false
else
    ((pgo)) && echo "[dist] llvm-profdata unavailable (rustup component llvm-tools); building without PGO" >&2
    build_linked target/nopgo
fi
mkdir -p target/shipped
cp "$built" target/shipped/pycompile-worker.tmp
mv target/shipped/pycompile-worker.tmp target/shipped/pycompile-worker
echo "$PWD/target/shipped/pycompile-worker"
