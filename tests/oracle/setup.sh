#!/usr/bin/env bash
# Installs the CPython oracle used by tests/conformance.rs and tests/diagnostics.rs:
# the four pinned pyodide builds from package-lock.json (Node 20+ required).
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "setup.sh: node and npm (Node 20+) are required, e.g. apt-get install nodejs npm" >&2
    exit 1
fi
npm ci --no-audit --no-fund
for target in 3.12 3.13 3.14 3.15; do
    node oracle.mjs --target "$target" info
done
