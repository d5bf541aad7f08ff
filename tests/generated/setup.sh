#!/usr/bin/env bash
# Installs the program generator of the generated-program conformance suite
# (tests/generated.rs, tests/generated/run.sh): pysource-codegen and pysource-minimize,
# pinned, from PyPI into a venv under target/ (they need Python >= 3.12; this image has
# pyenv's 3.13.0, which is also the version the suite's thresholds were measured with,
# since the generated programs depend on the generating Python's grammar).
# Set PYSOURCE_PYTHON to use another interpreter. Prints the venv's python path.
set -euo pipefail
cd "$(dirname "$0")/../.."
CODEGEN=pysource-codegen==0.7.1
MINIMIZE=pysource-minimize==0.10.1
VENV="${PYSOURCE_VENV:-$PWD/target/pysource-venv}"
PY="${PYSOURCE_PYTHON:-$HOME/.pyenv/versions/3.13.0/bin/python3}"
if [ ! -x "$PY" ]; then
    echo "tests/generated/setup.sh: no Python >= 3.12 at $PY (set PYSOURCE_PYTHON)" >&2
    exit 1
fi
stamp="$VENV/.installed"
want="$("$PY" -c 'import sys; print(sys.version.split()[0])') $CODEGEN $MINIMIZE"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "$CODEGEN" "$MINIMIZE" >&2
    echo "$want" >"$stamp"
fi
echo "$VENV/bin/python"
