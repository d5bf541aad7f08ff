#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this and nothing else).
#
# 1. installs the test tooling: the pinned CPython oracles (npm, tests/oracle), the program
#    generator (PyPI, tests/generated, into target/) and buildifier (npm, tests/tools);
#    Bazel 4.2.3 (apt, bazel-bootstrap) is installed by tests/bazel/e2e.sh;
# 2. cargo test: unit tests, the worker protocol, its fault injection and protocol fuzzer (a
#    bounded run), CPython conformance (3.12-3.15, -O0/-O1/-O2), diagnostics, source encodings
#    (tests/encodings.rs, ~3 min), the mutation suite (tests/mutations.rs, a bounded seeded run
#    of a few minutes), the interpreter engine, generated-program conformance
#    (tests/generated.rs, ~2 min); then no declared dependency may be unused (cargo-machete,
#    pinned, installed from crates.io when missing);
# 3. buildifier lint of every Starlark file, then the end-to-end run in a real Bazel,
#    reusing the binary cargo test built (one build per run).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== installing test tooling"
bash tests/oracle/setup.sh
bash tests/generated/setup.sh >/dev/null

echo "== cargo test"
cargo test --ignore-rust-version --no-fail-fast -- --nocapture

echo "== unused dependencies"
MACHETE_VERSION=0.9.2
if [[ "$(cargo machete --version 2>/dev/null)" != *"$MACHETE_VERSION"* ]]; then
    cargo install --locked --version "=$MACHETE_VERSION" cargo-machete
fi
cargo machete

echo "== Starlark lint"
bash tests/bazel/lint.sh

echo "== Bazel end-to-end"
PYCOMPILE_WORKER_BIN="$PWD/target/debug/pycompile-worker" bash tests/bazel/e2e.sh
