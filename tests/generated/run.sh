#!/usr/bin/env bash
# Long runs of the generated-program conformance suite (tests/generated.rs) on any seed
# range, target set, optimize levels and program size; report-only unless --min-percent.
#
#   tests/generated/run.sh --seeds 1000-1999 [--target 3.14[,3.13...]] [--opt 0,2]
#                          [--node-limit 400] [--depth-limit 5] [--min-percent P]
#   tests/generated/run.sh --minimize FILE --target 3.14 [--opt 0] [--max-checks 200]
#
# Prints one line per target and level and every difference by class; the JSON reports
# are in target/generated/report-<target>.json, the programs in target/generated/programs/.
# --minimize shrinks one differing program (tests/generated/minimize.py: top-level
# statements alone, then pysource-minimize with the oracle as the check).
set -euo pipefail
cd "$(dirname "$0")/../.."
usage() { sed -n '2,12p' "$0" >&2; exit 2; }
minimize=""; max_checks=200
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) export GENERATED_SEEDS="$2"; shift 2 ;;
        --target) export GENERATED_TARGETS="$2"; shift 2 ;;
        --opt) export GENERATED_OPTS="$2"; shift 2 ;;
        --node-limit) export GENERATED_NODE_LIMIT="$2"; shift 2 ;;
        --depth-limit) export GENERATED_DEPTH_LIMIT="$2"; shift 2 ;;
        --min-percent) export GENERATED_MIN_PERCENT="$2"; shift 2 ;;
        --minimize) minimize="$2"; shift 2 ;;
        --max-checks) max_checks="$2"; shift 2 ;;
        *) usage ;;
    esac
done
if [ -n "$minimize" ]; then
    python="$(bash tests/generated/setup.sh)"
    cargo build --ignore-rust-version --quiet
    exec "$python" tests/generated/minimize.py --ours target/debug/pycompile-worker \
        --target "${GENERATED_TARGETS:?--minimize needs --target}" \
        --optimize "${GENERATED_OPTS:-0}" --max-checks "$max_checks" "$minimize"
fi
[ -n "${GENERATED_SEEDS:-}" ] || usage
exec nice -n 10 cargo test --ignore-rust-version --test generated \
    generated_programs_match_cpython -- --nocapture
