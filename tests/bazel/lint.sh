#!/usr/bin/env bash
# Starlark lint: buildifier 8.2.1 (pinned in tests/tools/package-lock.json) in check mode with
# every lint warning enabled by default, over all Starlark files of the repository: the root
# module (MODULE.bazel, BUILD.bazel, tools/bazel/*) and the e2e test workspace. Generated and
# ignored files are skipped (git decides). Fails on any formatting difference or finding.
#
# Usage: tests/bazel/lint.sh [--fix]   (--fix rewrites the files: formatting and fixable warnings)

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOLS=$REPO/tests/tools
BUILDIFIER=$TOOLS/node_modules/.bin/buildifier

if [ ! -x "$BUILDIFIER" ]; then
    echo "lint: installing buildifier (npm ci in tests/tools)"
    (cd "$TOOLS" && npm ci --no-audit --no-fund --loglevel=error)
fi

cd "$REPO"
# Tracked and new, not ignored, files with a Starlark name.
mapfile -t FILES < <(git ls-files --cached --others --exclude-standard -- \
    'MODULE.bazel' 'WORKSPACE' 'WORKSPACE.bazel' 'WORKSPACE.bzlmod' \
    '*/WORKSPACE' '*/WORKSPACE.bazel' 'BUILD' 'BUILD.bazel' '*/BUILD' '*/BUILD.bazel' \
    '*.bzl' '*.star' '*/MODULE.bazel' | LC_ALL=C sort -u)
# A file may be listed but deleted in the work tree.
EXISTING=()
for f in "${FILES[@]}"; do
    [ -e "$f" ] && EXISTING+=("$f")
done
[ "${#EXISTING[@]}" -gt 0 ] || {
    echo "lint: no Starlark files found" >&2
    exit 1
}

if [ "${1:-}" = --fix ]; then
    "$BUILDIFIER" --lint=fix --mode=fix "${EXISTING[@]}"
fi
echo "lint: buildifier $("$BUILDIFIER" --version | sed -n 's/^buildifier version: //p' | tr -d ' ') on ${#EXISTING[@]} files"
if "$BUILDIFIER" --lint=warn --mode=check --warnings=all "${EXISTING[@]}"; then
    echo "lint: clean"
else
    echo "lint: buildifier reported the findings above (tests/bazel/lint.sh --fix fixes some)" >&2
    exit 1
fi
