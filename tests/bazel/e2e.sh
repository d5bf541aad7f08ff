#!/usr/bin/env bash
# End-to-end test of pycompile-worker inside a real Bazel (Debian's bazel-bootstrap 4.2.3).
#
# The workspace tests/bazel/workspace issues PyCompile actions exactly like rules_python's
# precompile step (see rules/py_precompile.bzl), through this repository's own
# @pycompile_worker//tools/bazel targets. This script
#   1. runs the Starlark lint (lint.sh), installs what is missing (bazel-bootstrap via apt-get,
#      buildifier and the oracle's npm packages),
#      builds the binary (cargo build --release) unless PYCOMPILE_WORKER_BIN names one, packs it
#      with tools/release.sh into a release archive whose versions.bzl entry (a file:// URL and
#      its sha256) the workspace's WORKSPACE feeds to the module's repository rule, and
#      generates ~220 Python sources (gen_sources.py);
#   1b. checks the download path: the archive holds the binary, the fetched repository is the
#      binary, a wrong sha256 fails the fetch, a platform without a pinned binary fails its
#      action with our message;
#   2. builds //gen/... as a singleplex worker, a multiplex worker, a multiplex worker started
#      with --worker_impl=serial, a sandboxed singleplex worker, and without workers
#      (standalone, sandboxed), cleaning in between, and checks that every run executed one
#      PyCompile spawn per source on the expected runner and that all outputs are byte-equal;
#   3. checks the pycs: header (magic, flags, source hash), then CPython 3.14 (the pyodide
#      oracle in tests/oracle) loads every pyc and finds it equal to py_compile's, and runs one;
#   4. builds //broken (a syntax error) with each kind of runner: the build fails and the tool's
#      own message names broken/bad.py and SyntaxError; a multiplex worker survives it;
#   5. edits one source: exactly one PyCompile spawn re-runs, and only its pyc changes;
#   6. version routing: a 3.11 target runs the stand-in for rules_python's own precompiler and
#      never our binary, a 3.12 target runs ours;
#   7. the execution requirements flag: with --@pycompile_worker//tools/bazel:execution_requirements=
#      (empty) the same strategy flags give standalone spawns instead of worker ones;
#   9. py_tree_precompile (tools/bazel/tree.bzl) on a real wheel from PyPI: e2e_trees.sh;
#   8. `bazel shutdown` leaves no pycompile-worker process behind.
#
# Everything Bazel writes goes to target/bazel-e2e/ (a separate --output_user_root); the
# server is shut down on exit. Runs offline once the packages are installed and Bazel's
# repository cache (under the output root) holds the wheel of section 9 (packaging 24.2, PyPI).
#
# Usage: tests/bazel/e2e.sh
#   env: PYCOMPILE_WORKER_BIN=/path/to/pycompile-worker (default: cargo build --release),
#        PYCOMPILE_E2E_BAZEL=/path/to/bazel (default: bazel-4, else bazel),
#        PYCOMPILE_E2E_BUILD_TIMEOUT=seconds per build (default 150),
#        PYCOMPILE_E2E_ONLY=trees (set-up, then section 9 only: for working on the tree rule)

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$REPO/tests/bazel
WS=$HERE/workspace
OUT=${PYCOMPILE_E2E_OUT:-$REPO/target/bazel-e2e}
USER_ROOT=$OUT/root
LOGS=$OUT/logs
SNAP=$OUT/snapshots
ORACLE_DIR=$REPO/tests/oracle
BUILD_TIMEOUT=${PYCOMPILE_E2E_BUILD_TIMEOUT:-150}

PASSED=0
FAILED=0
START=$SECONDS

log() { printf '[e2e %4ds] %s\n' "$((SECONDS - START))" "$*"; }
die() {
    printf 'e2e: FATAL: %s\n' "$*" >&2
    exit 1
}
pass() {
    PASSED=$((PASSED + 1))
    log "ok   $*"
}
failed() {
    FAILED=$((FAILED + 1))
    log "FAIL $*"
}
check() { # check DESCRIPTION COMMAND...: runs COMMAND, records the result
    local what=$1
    shift
    if "$@"; then pass "$what"; else failed "$what"; fi
}
finish() { # prints the totals and exits: non-zero on any failure
    log "total time $((SECONDS - START)) s"
    echo "bazel-e2e: $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit
}
matches() { [[ $1 =~ $2 ]]; }  # matches STRING REGEX
differ() { ! cmp -s "$1" "$2"; } # differ FILE FILE

# ---------------------------------------------------------------------------------------------
# 1. Prerequisites
# ---------------------------------------------------------------------------------------------

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian's bazel-bootstrap installs /usr/bin/bazel-4 (and /usr/bin/bazel); prefer the versioned
# name so that a bazelisk or newer Bazel earlier on PATH is not picked up.
BAZEL=${PYCOMPILE_E2E_BAZEL:-}
if [ -z "$BAZEL" ]; then
    if ! command -v bazel-4 >/dev/null 2>&1 && ! command -v bazel >/dev/null 2>&1; then
        log "bazel not found: installing Debian's bazel-bootstrap"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bazel-bootstrap >/dev/null
    fi
    BAZEL=$(command -v bazel-4 || command -v bazel)
fi
command -v python3 >/dev/null 2>&1 || die "python3 is needed (source generation, checks)"
command -v node >/dev/null 2>&1 || die "node is needed (the CPython oracle in tests/oracle)"
if [ ! -d "$ORACLE_DIR/node_modules/pyodide-314" ]; then
    log "installing the CPython oracle's npm packages (npm ci in tests/oracle)"
    (cd "$ORACLE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ -n "${PYCOMPILE_WORKER_BIN:-}" ]; then
    BIN=$PYCOMPILE_WORKER_BIN
else
    log "cargo build --release"
    (cd "$REPO" && cargo build --release --locked --ignore-rust-version --quiet)
    BIN=$REPO/target/release/pycompile-worker
fi
[ -x "$BIN" ] || die "no executable at $BIN"

check "Starlark lint (tests/bazel/lint.sh)" bash "$HERE/lint.sh"

mkdir -p "$LOGS"
rm -rf "${SNAP:?}" "${LOGS:?}"/*
mkdir -p "$SNAP"

# The release archive of the binary under test, and its versions.bzl entry, pinned into the
# workspace (//pinned:release.bzl, git-ignored) for the WORKSPACE's pycompile_worker_binary.
DIST=$OUT/dist
rm -rf "$DIST"
ENTRY=$(bash "$REPO/tools/release.sh" --binary "$BIN" --url-base "file://$DIST" --out "$DIST") ||
    die "tools/release.sh failed"
ARCHIVE=$(ls "$DIST"/pycompile-worker-*-linux_x86_64.tar.gz)
mkdir -p "$WS/pinned"
printf '# Written by tests/bazel/e2e.sh (git-ignored).\n' >"$WS/pinned/BUILD.bazel"
printf '"""Written by tests/bazel/e2e.sh: the entry tools/release.sh printed."""\n\nE2E_RELEASE = {\n%s\n}\n' \
    "$ENTRY" >"$WS/pinned/release.bzl"
log "release archive $ARCHIVE"
archive_holds_binary() {
    local unpacked=$OUT/unpacked
    rm -rf "$unpacked" && mkdir -p "$unpacked" && tar -C "$unpacked" -xzf "$ARCHIVE" &&
        [ "$(cd "$unpacked" && ls | tr '\n' ' ')" = "LICENSE pycompile-worker " ] &&
        cmp "$unpacked/pycompile-worker" "$BIN" && [ -x "$unpacked/pycompile-worker" ]
}
check "release.sh: the archive holds LICENSE and exactly the binary under test" archive_holds_binary
check "release.sh: the entry pins the archive's sha256 and file:// URL" \
    grep -q "\"sha256\": \"$(sha256sum "$ARCHIVE" | cut -d' ' -f1)\"" <<<"$ENTRY"
rebuilt=$(bash "$REPO/tools/release.sh" --binary "$BIN" --url-base "file://$DIST" --out "$OUT/dist2" 2>/dev/null)
check "release.sh: the archive is reproducible (same entry twice)" \
    test "$rebuilt" = "$ENTRY"

N_SRCS=$(python3 "$HERE/gen_sources.py" "$WS")
log "generated $N_SRCS sources in $WS/gen (and broken/bad.py, nobinary/ok.py)"

# ---------------------------------------------------------------------------------------------
# Bazel helpers
# ---------------------------------------------------------------------------------------------

# Same startup options every time, so one server serves the whole script.
BAZEL_STARTUP=(
    "--output_user_root=$USER_ROOT"
    --nohome_rc
    --max_idle_secs=900
    --host_jvm_args=-Xmx1g
)
SERVER_STARTED=0
bz() {
    SERVER_STARTED=1
    (cd "$WS" && "$BAZEL" "${BAZEL_STARTUP[@]}" "$@")
}
# bz_build LOGNAME ARGS...: a bounded build; console to $LOGS/LOGNAME.out, spawns to
# $LOGS/LOGNAME.exec.json. Returns Bazel's exit code. SIGINT lets Bazel cancel cleanly.
bz_build() {
    local name=$1
    shift
    SERVER_STARTED=1
    local rc=0
    (cd "$WS" && timeout -s INT -k 60 "$BUILD_TIMEOUT" "$BAZEL" "${BAZEL_STARTUP[@]}" build \
        --execution_log_json_file="$LOGS/$name.exec.json" "$@") >"$LOGS/$name.out" 2>&1 || rc=$?
    return "$rc"
}
cleanup() {
    if [ "$SERVER_STARTED" = 1 ]; then
        (cd "$WS" && "$BAZEL" "${BAZEL_STARTUP[@]}" shutdown) >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

# Worker processes of this script's Bazel: the tool path is inside our output root.
WORKER_PATTERN="$USER_ROOT/.*/tools/bazel/precompiler_linux_x86_64 --persistent_worker"
worker_pids() { pgrep -f -- "$WORKER_PATTERN" | sort -n | tr '\n' ' ' || true; }
worker_cmdlines() { pgrep -a -f -- "$WORKER_PATTERN" || true; }
# The worker log files Bazel has written so far (one per worker process started)
worker_logs() { (cd "$OUTPUT_BASE/bazel-workers" 2>/dev/null && ls -1 -- *.log 2>/dev/null) | LC_ALL=C sort || true; }

# spawn_summary NAME: "<count> <runners>" of the PyCompile spawns of a run
spawn_summary() { python3 "$HERE/e2e_helpers.py" execlog "$LOGS/$1.exec.json"; }
spawn_outputs() { python3 "$HERE/e2e_helpers.py" execlog-outputs "$LOGS/$1.exec.json"; }

show_log() { # on failure, show the end of a run's console output
    log "---- tail of $LOGS/$1.out"
    tail -n 30 "$LOGS/$1.out" | sed 's/^/    /'
}

# Sources and their outputs, in a stable order: "src_abs<TAB>short_path<TAB>pyc_rel"
SOURCES_TSV=$OUT/sources.tsv
(cd "$WS" && find gen -name '*.py' | LC_ALL=C sort | while read -r src; do
    dir=$(dirname "$src")
    stem=$(basename "$src" .py)
    printf '%s\t%s\t%s\n' "$WS/$src" "$src" "$dir/__pycache__/$stem.cpython-314.pyc"
done) >"$SOURCES_TSV"
[ "$(wc -l <"$SOURCES_TSV")" -eq "$N_SRCS" ] || die "source list does not match the generator"

bz info release >"$LOGS/info.out" 2>&1 || {
    cat "$LOGS/info.out"
    die "bazel does not start"
}
log "Bazel: $BAZEL ($(dpkg-query -W -f '${Package} ${Version}' bazel-bootstrap 2>/dev/null || echo '?'))"
BAZEL_BIN=$(bz info bazel-bin 2>/dev/null)
OUTPUT_BASE=$(bz info output_base 2>/dev/null)

# load_check_pycs MANIFEST [norun]: CPython 3.14 (tests/oracle, pyodide) loads every pyc of
# MANIFEST and finds it equal to what py_compile writes for the same source and dfile (the
# second column); then, unless norun, it runs gen/beta/mod_000.py's as __main__. Equality is
# byte-for-byte, except for pycs with frozenset constants, whose order differs in the 32-bit
# WebAssembly CPython: those must be equal as code objects.
load_check_pycs() {
    local manifest=$1 run=${2:-run} work=$OUT/oracle
    rm -rf "$work"
    mkdir -p "$work/reference"
    python3 - "$manifest" "$work" <<'EOF'
import json, sys
manifest, work = sys.argv[1], sys.argv[2]
compile_jobs, compare_jobs = [], []
for line in open(manifest, encoding="utf-8"):
    src, short, pyc = line.rstrip("\n").split("\t")
    ref = "{}/reference/{}".format(work, short[:-3] + ".pyc")
    compile_jobs.append({"src": src, "pyc": ref, "dfile": short, "optimize": 0,
                         "invalidation_mode": "checked_hash"})
    compare_jobs.append({"ours": pyc, "reference": ref, "name": short})
json.dump({"jobs": compile_jobs}, open(work + "/compile.json", "w"))
json.dump({"jobs": compare_jobs}, open(work + "/compare.json", "w"))
EOF
    node "$ORACLE_DIR/oracle.mjs" --target 3.14 compile --manifest "$work/compile.json" \
        --results "$work/compile.results.json" 2>"$work/compile.err" || {
        cat "$work/compile.err" >&2
        return 1
    }
    node "$ORACLE_DIR/oracle.mjs" --target 3.14 compare --manifest "$work/compare.json" \
        --results "$work/compare.results.json" 2>"$work/compare.err" || {
        cat "$work/compare.err" >&2
        return 1
    }
    python3 - "$work" <<'EOF' || return 1
import json, sys
work = sys.argv[1]
compiled = json.load(open(work + "/compile.results.json"))["results"]
jobs = json.load(open(work + "/compare.json"))["jobs"]
results = json.load(open(work + "/compare.results.json"))["results"]
bad = [j["src"] for j, r in zip(json.load(open(work + "/compile.json"))["jobs"], compiled) if not r.get("ok")]
for src in bad:
    print("oracle could not compile " + src, file=sys.stderr)
identical = equal = 0
for job, r in zip(jobs, results):
    if r.get("identical_bytes"):
        identical += 1
    elif r.get("has_frozenset") and r.get("equal_objects"):
        equal += 1
    else:
        bad.append(job["name"])
        print("{}: differs from py_compile: {}".format(job["name"], r.get("diff") or r), file=sys.stderr)
print("oracle: {} pycs identical to CPython 3.14's, {} equal as code objects (frozenset order), {} bad"
      .format(identical, equal, len(bad)))
sys.exit(1 if bad or len(results) != len(jobs) else 0)
EOF
    [ "$run" = norun ] && return 0
    # Execute one module (gen/beta/mod_000.py prints its constant, 1000).
    local run_out
    run_out=$(node "$ORACLE_DIR/oracle.mjs" --target 3.14 run \
        --pyc "$(awk -F'\t' '$2 == "gen/beta/mod_000.py" {print $3}' "$manifest")" 2>"$work/run.err") || {
        cat "$work/run.err" >&2
        return 1
    }
    [ "$run_out" = 1000 ] || {
        echo "oracle run printed '$run_out', want 1000" >&2
        return 1
    }
}

if [ "${PYCOMPILE_E2E_ONLY:-}" = trees ]; then
    # shellcheck source=tests/bazel/e2e_trees.sh
    source "$HERE/e2e_trees.sh"
    finish
fi

# ---------------------------------------------------------------------------------------------
# 1b. The download path of the prebuilt binary (tools/bazel/repositories.bzl)
# ---------------------------------------------------------------------------------------------

if bz_build fetch @pycompile_worker_linux_x86_64//:pycompile-worker; then
    check "the repository rule fetched the pinned archive: its pycompile-worker is the binary under test" \
        cmp "$OUTPUT_BASE/external/pycompile_worker_linux_x86_64/pycompile-worker" "$BIN"
else
    failed "fetching @pycompile_worker_linux_x86_64 (file:// URL, pinned sha256) failed"
    show_log fetch
fi
# The same archive with a wrong sha256 (WORKSPACE: e2e_wrong_sha256) must not be accepted.
wrong_sha_fails() {
    local rc=0
    bz_build wrong-sha256 @e2e_wrong_sha256//:pycompile-worker || rc=$?
    [ "$rc" -ne 0 ] &&
        grep -q "Checksum was $(sha256sum "$ARCHIVE" | cut -d' ' -f1) but wanted 0123456789abcdef" \
            "$LOGS/wrong-sha256.out" &&
        [ ! -e "$OUTPUT_BASE/external/e2e_wrong_sha256/pycompile-worker" ]
}
if ! check "a wrong sha256 fails the fetch with Bazel's 'Checksum was ... but wanted ...'" wrong_sha_fails; then
    show_log wrong-sha256
fi

# snapshot NAME: copy every expected pyc into $SNAP/NAME (missing ones are reported)
snapshot() {
    local dest=$SNAP/$1 missing=0 src short pyc
    while IFS=$'\t' read -r src short pyc; do
        if [ -f "$BAZEL_BIN/$pyc" ]; then
            mkdir -p "$dest/$(dirname "$pyc")"
            cp "$BAZEL_BIN/$pyc" "$dest/$pyc"
        else
            missing=$((missing + 1))
        fi
    done <"$SOURCES_TSV"
    [ "$missing" -eq 0 ] || log "$missing expected pycs are missing in $1"
    [ "$missing" -eq 0 ]
}

# ---------------------------------------------------------------------------------------------
# 2. The same build under every strategy
# ---------------------------------------------------------------------------------------------

# name | expected runner (regex) | worker kind (singleplex|multiplex|none) | flags
CONFIGS=(
    "worker-singleplex|worker|singleplex|--strategy=PyCompile=worker --noexperimental_worker_multiplex"
    "worker-multiplex|worker|multiplex|--strategy=PyCompile=worker --experimental_worker_multiplex"
    "worker-multiplex-serial|worker|multiplex|--strategy=PyCompile=worker --experimental_worker_multiplex --worker_extra_flag=PyCompile=--worker_impl=serial"
    "worker-sandboxed|worker|singleplex|--strategy=PyCompile=worker --noexperimental_worker_multiplex --worker_sandboxing --experimental_worker_cancellation"
    "standalone|local|none|--strategy=PyCompile=standalone"
    "sandboxed|.*sandbox|none|--strategy=PyCompile=sandboxed"
)
REFERENCE=

for config in "${CONFIGS[@]}"; do
    IFS='|' read -r name runner kind flags <<<"$config"
    # shellcheck disable=SC2206 # flags are space-separated on purpose
    flag_array=($flags)
    bz clean >/dev/null 2>&1
    logs_before=$(worker_logs)
    t0=$SECONDS
    if ! bz_build "$name" "${flag_array[@]}" //gen/...; then
        failed "$name: bazel build //gen/... failed"
        show_log "$name"
        continue
    fi
    log "$name: built in $((SECONDS - t0)) s"
    read -r count runners <<<"$(spawn_summary "$name")"
    check "$name: $count PyCompile spawns (want $N_SRCS)" [ "$count" -eq "$N_SRCS" ]
    check "$name: runner '$runners' matches '$runner'" matches "$runners" "^($runner)\$"
    if [ "$kind" != none ]; then
        new_logs=$(LC_ALL=C comm -13 <(echo "$logs_before") <(worker_logs) | tr '\n' ' ')
        case $kind in
            multiplex) want='^(multiplex-worker-[0-9]+-PyCompile\.log ?)+$' ;;
            *) want='^(worker-[0-9]+-PyCompile\.log ?)+$' ;;
        esac
        check "$name: $kind worker started ($new_logs)" matches "$new_logs" "$want"
        pids=$(worker_pids)
        check "$name: worker processes stay alive after the build ($pids)" [ -n "$pids" ]
        if [ "$kind" = multiplex ]; then
            check "$name: one multiplex process" [ "$(echo "$pids" | wc -w)" -eq 1 ]
        fi
        if [[ "$flags" == *--worker_impl=serial* ]]; then
            check "$name: worker started with --worker_impl=serial" \
                grep -q -- '--persistent_worker --worker_impl=serial' <(worker_cmdlines)
        fi
    fi
    if ! snapshot "$name"; then
        failed "$name: outputs"
        continue
    fi
    if [ -z "$REFERENCE" ]; then
        REFERENCE=$name
    else
        check "$name: outputs byte-equal to $REFERENCE" diff -r -q "$SNAP/$REFERENCE" "$SNAP/$name"
    fi
done
[ -n "$REFERENCE" ] || die "no strategy produced outputs"

# ---------------------------------------------------------------------------------------------
# 3. The pycs are what CPython 3.14 expects
# ---------------------------------------------------------------------------------------------

MANIFEST=$OUT/pycs.tsv # src_abs<TAB>short_path<TAB>pyc_abs
while IFS=$'\t' read -r src short pyc; do
    printf '%s\t%s\t%s\n' "$src" "$short" "$SNAP/$REFERENCE/$pyc"
done <"$SOURCES_TSV" >"$MANIFEST"

check "pyc headers: magic 2b0e0d0a, flags 3, source hashes" \
    python3 "$HERE/e2e_helpers.py" check-headers "$MANIFEST"
t0=$SECONDS
check "CPython 3.14 loads every pyc, equal to py_compile's output, and runs one" load_check_pycs "$MANIFEST"
log "oracle check took $((SECONDS - t0)) s"

# ---------------------------------------------------------------------------------------------
# 4. A syntax error fails the build with our message; the worker survives it
# ---------------------------------------------------------------------------------------------

# expect_broken NAME RUNNER FLAGS...: //broken must fail (exit 1) in one PyCompile spawn on
# RUNNER, with the tool's own message
expect_broken() {
    local name=$1 runner=$2 rc=0 count runners
    shift 2
    bz_build "$name" "$@" //broken:broken || rc=$?
    if [ "$rc" -ne 1 ]; then
        failed "$name: building //broken exits with $rc (want 1: build failed)"
        show_log "$name"
        return
    fi
    read -r count runners <<<"$(spawn_summary "$name")"
    check "$name: building //broken fails in $count PyCompile spawn on '$runners'" \
        test "$count $runners" = "1 $runner"
    local tool_out
    tool_out=$(python3 "$HERE/e2e_helpers.py" tool-output "$LOGS/$name.out")
    if grep -q 'broken/bad\.py' <<<"$tool_out" && grep -q 'SyntaxError' <<<"$tool_out"; then
        pass "$name: the tool's message names broken/bad.py and SyntaxError"
    else
        failed "$name: the tool's message names broken/bad.py and SyntaxError"
        show_log "$name"
    fi
}

MX=(--strategy=PyCompile=worker --experimental_worker_multiplex)
SX=(--strategy=PyCompile=worker --noexperimental_worker_multiplex)
bz clean >/dev/null 2>&1
if bz_build warm-multiplex "${MX[@]}" //gen/...; then
    pids_before=$(worker_pids)
    expect_broken broken-multiplex worker "${MX[@]}"
    pids_after=$(worker_pids)
    check "the multiplex worker survives a failed request ($pids_before/$pids_after)" \
        test -n "$pids_before" -a "$pids_before" = "$pids_after"
else
    failed "warm-multiplex: bazel build //gen/... failed"
    show_log warm-multiplex
fi
bz clean >/dev/null 2>&1
expect_broken broken-singleplex worker "${SX[@]}"
bz clean >/dev/null 2>&1
expect_broken broken-standalone local --strategy=PyCompile=standalone

# A platform without a pinned binary (WORKSPACE: pycompile_worker_linux_aarch64 has no urls):
# the build fails in the action, not in analysis, with a message naming the platform.
no_binary_fails() {
    local rc=0
    bz_build nobinary --strategy=PyCompile=standalone //nobinary || rc=$?
    [ "$rc" -eq 1 ] &&
        python3 "$HERE/e2e_helpers.py" tool-output "$LOGS/nobinary.out" |
        grep -q "no prebuilt binary is pinned for the exec platform linux_aarch64"
}
if ! check "no pinned binary: the action fails with our message naming linux_aarch64" no_binary_fails; then
    show_log nobinary
fi

# ---------------------------------------------------------------------------------------------
# 5. Editing one source recompiles only that source
# ---------------------------------------------------------------------------------------------

EDITED=gen/beta/mod_007.py
EDITED_PYC=gen/beta/__pycache__/mod_007.cpython-314.pyc
if bz_build incr-full "${MX[@]}" //gen/... && snapshot incr-before; then
    bz_build incr-noop "${MX[@]}" //gen/... || failed "incr-noop: build failed"
    read -r count _ <<<"$(spawn_summary incr-noop)"
    check "unchanged rebuild runs no PyCompile spawn ($count)" [ "$count" -eq 0 ]

    printf '\nEDITED = "this line was appended by e2e.sh"\n' >>"$WS/$EDITED"
    if bz_build incr-edit "${MX[@]}" //gen/... && snapshot incr-after; then
        read -r count _ <<<"$(spawn_summary incr-edit)"
        check "after editing $EDITED, exactly one PyCompile spawn ($count)" [ "$count" -eq 1 ]
        check "... and it compiled $EDITED" grep -qx "bazel-out/.*/bin/$EDITED_PYC" <(spawn_outputs incr-edit)
        check "... its pyc changed" differ "$SNAP/incr-before/$EDITED_PYC" "$SNAP/incr-after/$EDITED_PYC"
        changed=$(diff -r -q "$SNAP/incr-before" "$SNAP/incr-after" | wc -l || true)
        check "... and no other pyc changed ($changed changed in total)" [ "$changed" -eq 1 ]
        check "... its new pyc has the new source's hash" python3 "$HERE/e2e_helpers.py" check-headers \
            <(printf '%s\t%s\t%s\n' "$WS/$EDITED" "$EDITED" "$SNAP/incr-after/$EDITED_PYC")
    else
        failed "incr-edit: build failed"
        show_log incr-edit
    fi
else
    failed "incr-full: build failed"
    show_log incr-full
fi

# ---------------------------------------------------------------------------------------------
# 6. Version routing: only the served versions (3.12-3.15) reach our binary
# ---------------------------------------------------------------------------------------------

# A worker where the spawn supports one (ours), else standalone (the fallback stand-in).
EITHER=(--strategy=PyCompile=worker,local --experimental_worker_multiplex)

# gen/epsilon's pycs for VERSION (XY tag), in their sources' own __pycache__
epsilon_pycs() {
    (cd "$WS" && find gen/epsilon -name '*.py' | LC_ALL=C sort | while read -r src; do
        printf '%s/__pycache__/%s.cpython-%s.pyc\n' "$(dirname "$src")" "$(basename "$src" .py)" "$1"
    done)
}
N_EPSILON=$(epsilon_pycs 311 | wc -l)
# routed NAME VERSION TAG WANT_TOOL WANT_RUNNER: builds gen/epsilon for VERSION; every PyCompile
# spawn must run WANT_TOOL on WANT_RUNNER and write the sibling-correct pyc
routed() {
    local name=$1 version=$2 tag=$3 want=$4 want_runner=$5 count runners tools
    bz clean >/dev/null 2>&1
    if ! bz_build "$name" "${EITHER[@]}" "--//rules:python_version=$version" //gen/epsilon; then
        failed "$name: building //gen/epsilon for Python $version failed"
        show_log "$name"
        return
    fi
    read -r count runners <<<"$(spawn_summary "$name")"
    tools=$(python3 "$HERE/e2e_helpers.py" execlog-tools "$LOGS/$name.exec.json")
    check "$name: $count PyCompile spawns (want $N_EPSILON), all run by '$tools' on '$runners' (want $want on $want_runner)" \
        test "$count $tools $runners" = "$N_EPSILON $want $want_runner"
    local missing=0 pyc
    for pyc in $(epsilon_pycs "$tag"); do [ -f "$BAZEL_BIN/$pyc" ] || missing=$((missing + 1)); done
    check "$name: every cpython-$tag pyc is in its source's own __pycache__ ($missing missing)" [ "$missing" -eq 0 ]
}
routed py311 3.11 311 fallback_precompiler local
check "py311: the outputs are the fallback's markers, not pycs" \
    grep -qx "fallback precompiler: python 3.11" "$BAZEL_BIN/gen/epsilon/sub/deeper/__pycache__/mod_004.cpython-311.pyc"
routed py312 3.12 312 precompiler_linux_x86_64 worker
check "py312: the pycs carry CPython 3.12's magic (cb0d0d0a)" \
    test "$(od -A n -t x1 -N 4 "$BAZEL_BIN/gen/epsilon/sub/deeper/__pycache__/mod_004.cpython-312.pyc" | tr -d ' ')" = cb0d0d0a

# ---------------------------------------------------------------------------------------------
# 7. The execution requirements come from --@pycompile_worker//tools/bazel:execution_requirements
# ---------------------------------------------------------------------------------------------

# Same strategy flags (EITHER) for every run: only the flag differs.
N_ALPHA=$(cd "$WS" && ls gen/alpha/*.py | wc -l)
flag_run() { # flag_run NAME WANT_RUNNER FLAGS...
    local name=$1 want=$2 count runners
    shift 2
    bz clean >/dev/null 2>&1
    if ! bz_build "$name" "${EITHER[@]}" "$@" //gen/alpha; then
        failed "$name: build failed"
        show_log "$name"
        return
    fi
    read -r count runners <<<"$(spawn_summary "$name")"
    check "$name: $count PyCompile spawns on '$runners' (want $N_ALPHA on $want)" \
        test "$count $runners" = "$N_ALPHA $want"
}
flag_run reqs-default worker
flag_run reqs-empty local --@pycompile_worker//tools/bazel:execution_requirements=
flag_run reqs-no-workers local "--@pycompile_worker//tools/bazel:execution_requirements=supports-workers=0,requires-worker-protocol=json"
bz clean >/dev/null 2>&1
bz_build warm-end "${MX[@]}" //gen/alpha || failed "warm-end: build failed"

# ---------------------------------------------------------------------------------------------
# 9. py_tree_precompile: a real wheel's contents as one action (e2e_trees.sh)
# ---------------------------------------------------------------------------------------------

# shellcheck source=tests/bazel/e2e_trees.sh
source "$HERE/e2e_trees.sh"
bz_build warm-end-trees "${MX[@]}" //gen/alpha || failed "warm-end-trees: build failed"

# ---------------------------------------------------------------------------------------------
# 8. No worker outlives the Bazel server
# ---------------------------------------------------------------------------------------------

pids=$(worker_pids)
check "worker processes are running before shutdown ($pids)" [ -n "$pids" ]
bz shutdown >/dev/null 2>&1
SERVER_STARTED=0
for _ in $(seq 1 50); do
    [ -z "$(worker_pids)" ] && break
    sleep 0.2
done
left=$(worker_pids)
check "no pycompile-worker process left after bazel shutdown (${left:-none})" [ -z "$left" ]
if [ -n "$left" ]; then worker_cmdlines; fi

python3 "$HERE/gen_sources.py" "$WS" >/dev/null # undo the edit

finish
