# shellcheck shell=bash
# Section 9 of tests/bazel/e2e.sh, sourced by it (uses its helpers: bz, bz_build, check, ...):
# py_tree_precompile (tools/bazel/tree.bzl) on a real wheel, packaging 24.2 from PyPI
# (WORKSPACE: packaging_wheel, sha256-pinned), unpacked by an action into a TreeArtifact
# (workspace/trees/BUILD.bazel). Checks:
#   - one PyCompileTree spawn, run by a multiplex worker; then standalone, sandboxed and
#     sandboxed-singleplex-worker runs give byte-equal output trees;
#   - the output tree holds exactly the pycs CPython's compileall writes for the wheel's .py
#     files (__pycache__/NAME.cpython-314[.opt-1].pyc, relative to the tree), each byte-identical
#     to `pycompile-worker compileall -o 0 -o 1 -d site-packages` over the same files, and
#     CPython 3.14 (the oracle) finds the level-0 pycs equal to py_compile's with the same dfile;
#   - a module no Python 3 compiles: with allow_compile_errors the build succeeds and the file is
#     listed in <name>.compile_errors.txt (and printed); without it the build fails naming it;
#   - the version comes from the version flag: 3.12 gives cpython-312 pycs with 3.12's magic,
#     3.11 (not served) fails analysis with our message.

TREE_LEVELS=(0 1)
TREE_PKG=trees
TREE_OUT=$BAZEL_BIN/$TREE_PKG/packaging_pycs
# A worker for PyCompileTree where the spawn supports one (its execution requirements), else
# local: a spawn that lost its worker requirements shows up as local in the execution log.
TX=(--strategy=PyCompileTree=worker,local --experimental_worker_multiplex)

tree_summary() { python3 "$HERE/e2e_helpers.py" execlog "$LOGS/$1.exec.json" PyCompileTree; }
# tree_files DIR: the files under DIR, relative, sorted
tree_files() { (cd "$1" && find . -type f | sed 's|^\./||' | LC_ALL=C sort); }
# tree_snapshot NAME DIR: a writable copy of DIR in $SNAP/NAME
tree_snapshot() {
    rm -rf "${SNAP:?}/$1" && cp -r "$2" "$SNAP/$1" && chmod -R u+w "$SNAP/$1"
}

# tree_run NAME RUNNER_REGEX FLAGS...: builds //trees:packaging_pycs after a clean; one
# PyCompileTree spawn on RUNNER; the output tree is snapshotted as tree-NAME
tree_run() {
    local name=$1 runner=$2 count runners
    shift 2
    bz clean >/dev/null 2>&1
    if ! bz_build "$name" "$@" //$TREE_PKG:packaging_pycs; then
        failed "$name: bazel build //$TREE_PKG:packaging_pycs failed"
        show_log "$name"
        return 1
    fi
    read -r count runners <<<"$(tree_summary "$name")"
    check "$name: $count PyCompileTree spawn on '$runners' (want 1 on $runner)" \
        matches "$count $runners" "^1 ($runner)\$"
    tree_snapshot "tree-$name" "$TREE_OUT"
}

logs_before=$(worker_logs)
if tree_run tree-worker worker "${TX[@]}"; then
    new_logs=$(LC_ALL=C comm -13 <(echo "$logs_before") <(worker_logs) | tr '\n' ' ')
    check "tree-worker: a multiplex worker served the tree request ($new_logs)" \
        matches "$new_logs" '^(multiplex-worker-[0-9]+-PyCompileTree\.log ?)+$'

    WHEEL=$OUTPUT_BASE/external/packaging_wheel/file/packaging-24.2-py3-none-any.whl
    python3 "$HERE/e2e_helpers.py" wheel-pycs "$WHEEL" cpython-314 "${TREE_LEVELS[@]}" >"$OUT/tree-expected.txt"
    tree_files "$SNAP/tree-tree-worker" >"$OUT/tree-actual.txt"
    check "tree-worker: the output tree holds exactly the $(wc -l <"$OUT/tree-expected.txt") pycs compileall writes for the wheel's .py files (levels ${TREE_LEVELS[*]})" \
        diff "$OUT/tree-expected.txt" "$OUT/tree-actual.txt"

    # The reference: the same wheel unpacked outside Bazel, compiled by our compileall CLI
    # (flag-compatible with CPython's) with the same prefix, levels and invalidation mode.
    REF=$OUT/tree-reference
    rm -rf "$REF" && mkdir -p "$REF"
    python3 "$HERE/e2e_helpers.py" unpack "$WHEEL" "$REF"
    # shellcheck disable=SC2046 # one -o per level
    "$BIN" compileall -q -j 0 --invalidation-mode checked-hash $(printf -- '-o %s ' "${TREE_LEVELS[@]}") \
        -d site-packages "$REF" >"$LOGS/tree-compileall.out" 2>&1 || log "compileall exited non-zero"
    tree_equals_compileall() {
        local pyc bad=0
        while read -r pyc; do
            cmp -s "$REF/$pyc" "$SNAP/tree-tree-worker/$pyc" || {
                echo "differs from compileall: $pyc" >&2
                bad=$((bad + 1))
            }
        done <"$OUT/tree-expected.txt"
        [ "$bad" -eq 0 ] && [ -s "$OUT/tree-expected.txt" ]
    }
    check "tree-worker: every pyc is byte-identical to 'pycompile-worker compileall -d site-packages -o 0 -o 1'" \
        tree_equals_compileall

    # CPython 3.14 (the oracle) against the level-0 pycs, with the dfile the prefix gives.
    (cd "$REF" && find . -name '*.py' | sed 's|^\./||' | LC_ALL=C sort) | while read -r src; do
        printf '%s\t%s\t%s\n' "$REF/$src" "site-packages/$src" \
            "$SNAP/tree-tree-worker/$(dirname "$src")/__pycache__/$(basename "$src" .py).cpython-314.pyc"
    done >"$OUT/tree-manifest.tsv"
    check "tree-worker: CPython 3.14 finds each level-0 pyc equal to py_compile's (dfile site-packages/...)" \
        load_check_pycs "$OUT/tree-manifest.tsv" norun
fi

if tree_run tree-standalone local --strategy=PyCompileTree=standalone; then
    check "tree-standalone: output tree byte-equal to the worker's" \
        diff -r -q "$SNAP/tree-tree-worker" "$SNAP/tree-tree-standalone"
fi
if tree_run tree-sandboxed '.*sandbox' --strategy=PyCompileTree=sandboxed; then
    check "tree-sandboxed: output tree byte-equal to the worker's (inputs staged as symlinks)" \
        diff -r -q "$SNAP/tree-tree-worker" "$SNAP/tree-tree-sandboxed"
fi

# A singleplex worker in Bazel's worker sandbox (the tree's files staged as symlinks there).
logs_before=$(worker_logs)
if tree_run tree-worker-sandboxed worker --strategy=PyCompileTree=worker --noexperimental_worker_multiplex \
    --worker_sandboxing; then
    new_logs=$(LC_ALL=C comm -13 <(echo "$logs_before") <(worker_logs) | tr '\n' ' ')
    check "tree-worker-sandboxed: a sandboxed singleplex worker served it ($new_logs)" \
        matches "$new_logs" '^(worker-[0-9]+-PyCompileTree\.log ?)+$'
    check "tree-worker-sandboxed: output tree byte-equal to the multiplex worker's" \
        diff -r -q "$SNAP/tree-tree-worker" "$SNAP/tree-tree-worker-sandboxed"
fi

# A module that does not compile: non-fatal with allow_compile_errors, fatal without.
BROKEN_REL=packaging/_py2_compat.py
bz clean >/dev/null 2>&1
if bz_build tree-nonfatal "${TX[@]}" //$TREE_PKG:py2_nonfatal; then
    read -r count runners <<<"$(tree_summary tree-nonfatal)"
    check "tree-nonfatal: the build succeeds in $count PyCompileTree spawn on '$runners'" \
        test "$count $runners" = "1 worker"
    errors=$BAZEL_BIN/$TREE_PKG/py2_nonfatal.compile_errors.txt
    check "tree-nonfatal: compile_errors.txt lists exactly $BROKEN_REL, with its SyntaxError" \
        python3 - "$errors" "$BROKEN_REL" <<'EOF'
import sys
# One entry per file that did not compile: "<path in the tree>:" then py_compile's error.
text = open(sys.argv[1], encoding="utf-8").read()
print(text, file=sys.stderr, end="")
heads = [line for line in text.splitlines() if line.startswith("packaging/")]
sys.exit(0 if heads == [sys.argv[2] + ":"] and "SyntaxError: " in text
         and 'File "site-packages/{}", line 3'.format(sys.argv[2]) in text else 1)
EOF
    check "tree-nonfatal: the build output reports it (1 of 17 files did not compile, non-fatal)" \
        grep -q "1 of 17 files did not compile for Python 3.14 (non-fatal" "$LOGS/tree-nonfatal.out"
    nonfatal_pycs_ok() {
        local want got
        want=$(python3 "$HERE/e2e_helpers.py" wheel-pycs "$WHEEL" cpython-314 0)
        got=$(tree_files "$BAZEL_BIN/$TREE_PKG/py2_nonfatal")
        [ "$want" = "$got" ]
    }
    check "tree-nonfatal: every other module's pyc is there, none for $BROKEN_REL" nonfatal_pycs_ok
else
    failed "tree-nonfatal: building //$TREE_PKG:py2_nonfatal failed"
    show_log tree-nonfatal
fi
fatal_fails() {
    local rc=0 out
    bz_build tree-fatal "${TX[@]}" //$TREE_PKG:py2_fatal || rc=$?
    out=$(python3 "$HERE/e2e_helpers.py" tool-output "$LOGS/tree-fatal.out")
    [ "$rc" -eq 1 ] && grep -qx "$BROKEN_REL:" <<<"$out" && grep -q SyntaxError <<<"$out"
}
if ! check "tree-fatal: without allow_compile_errors the build fails, naming $BROKEN_REL and SyntaxError" fatal_fails; then
    show_log tree-fatal
fi

# The target version comes from the version flag (rules_python's python_version_major_minor
# in real use), through the same config settings as the toolchains.
bz clean >/dev/null 2>&1
if bz_build tree-py312 "${TX[@]}" --//rules:python_version=3.12 //$TREE_PKG:packaging_pycs; then
    want=$(python3 "$HERE/e2e_helpers.py" wheel-pycs "$WHEEL" cpython-312 "${TREE_LEVELS[@]}")
    check "tree-py312: cpython-312 pycs for every module" test "$want" = "$(tree_files "$TREE_OUT")"
    check "tree-py312: with CPython 3.12's magic (cb0d0d0a)" \
        test "$(od -A n -t x1 -N 4 "$TREE_OUT/packaging/__pycache__/version.cpython-312.pyc" | tr -d ' ')" = cb0d0d0a
else
    failed "tree-py312: build failed"
    show_log tree-py312
fi
py311_refused() {
    local rc=0
    bz_build tree-py311 "${TX[@]}" --//rules:python_version=3.11 //$TREE_PKG:packaging_pycs || rc=$?
    [ "$rc" -ne 0 ] && grep -q "is not one pycompile-worker compiles for without an interpreter: py_tree_precompile serves 3.12" "$LOGS/tree-py311.out"
}
if ! check "tree-py311: an unserved version fails analysis with our message" py311_refused; then
    show_log tree-py311
fi
