#!/usr/bin/env bash
# The benchmark: bash benches/run.sh [driver options, e.g. --rounds 5 --requests 2000]
#
# Builds the release binary and benches/raw.rs, installs the stdlib corpus if missing
# (npm ci of tests/oracle, for pyodide 314.0.7's python_stdlib.zip), then runs
# benches/driver.py, which prints a markdown report and writes target/bench/report.md and
# target/bench/results.json. Not part of `cargo test`. See benches/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# The real interpreter, not a version-manager shim (a pyenv shim adds tens of ms per start).
PYTHON=$("$PYTHON" -c 'import os, sys; print(os.path.realpath(sys.executable))')

ZIP=tests/oracle/node_modules/pyodide-314/python_stdlib.zip
if [[ ! -f $ZIP ]]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "benches/run.sh: $ZIP is missing and npm is not installed (Node 20+ needed)" >&2
        exit 1
    fi
    echo "[bench] installing the corpus: npm ci --prefix tests/oracle" >&2
    npm ci --prefix tests/oracle --no-audit --no-fund >&2
fi

echo "[bench] building (release)" >&2
cargo build --release --ignore-rust-version --bin pycompile-worker >&2
RAW=$(cargo bench --no-run --ignore-rust-version --bench raw --message-format=json-render-diagnostics |
    "$PYTHON" -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message["target"]["name"] == "raw" \
            and message.get("executable"):
        print(message["executable"])
')
if [[ -z $RAW ]]; then
    echo "benches/run.sh: building benches/raw.rs failed; run" \
        "cargo bench --no-run --ignore-rust-version --bench raw" >&2
    exit 1
fi

# Newer native CPythons, if installed, join the raw compile table (serc emits 3.14 bytecode).
EXTRA=()
for version in 3.12 3.13 3.14; do
    if command -v "python$version" >/dev/null 2>&1; then
        real=$("python$version" -c 'import os, sys; print(os.path.realpath(sys.executable))' \
            2>/dev/null) || continue
        EXTRA+=(--raw-python "$real")
    fi
done

exec "$PYTHON" benches/driver.py \
    --binary target/release/pycompile-worker \
    --raw "$RAW" \
    --zip "$ZIP" \
    --python "$PYTHON" \
    --out target/bench \
    "${EXTRA[@]}" \
    "$@"
