#!/usr/bin/env bash
# The benchmark: bash benches/run.sh [driver options, e.g. --rounds 5 --requests 2000]
#
# Builds the shipped binary (tools/dist.sh) and benches/raw.rs, installs the stdlib corpus if missing
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

echo "[bench] building benches/raw.rs (dist profile)" >&2
RAW=$(cargo build --profile dist --ignore-rust-version --bench raw \
    --message-format=json-render-diagnostics |
    "$PYTHON" tools/cargo_executable.py raw)
echo "[bench] building the shipped binary (tools/dist.sh: dist profile, static on Linux)" >&2
# After the bench build, which relinks target/dist/pycompile-worker without the static flags.
BINARY=$(bash tools/dist.sh)
if [[ -z $BINARY || -z $RAW ]]; then
    echo "benches/run.sh: the dist build did not produce pycompile-worker and raw" >&2
    exit 1
fi

# Newer native CPythons, if installed (on PATH or under pyenv), join the raw compile table:
# serc emits 3.14 bytecode, and CPython's compiler got slower after 3.11.
EXTRA=()
for version in 3.12 3.13 3.14; do
    for candidate in "python$version" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version"*/bin/"python$version"; do
        real=$("$candidate" -c 'import os, sys; print(os.path.realpath(sys.executable))' \
            2>/dev/null) || continue
        EXTRA+=(--raw-python "$real")
        break
    done
done

exec "$PYTHON" benches/driver.py \
    --binary "$BINARY" \
    --raw "$RAW" \
    --zip "$ZIP" \
    --python "$PYTHON" \
    --out target/bench \
    "${EXTRA[@]}" \
    "$@"
