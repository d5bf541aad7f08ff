#!/usr/bin/env bash
# Long runs of the generated-program conformance suite (tests/generated.rs) on any seed
# range, target set, optimize levels and program size; report-only unless --min-percent.
#
#   tests/generated/run.sh --seeds 1000-1999 [--target 3.14[,3.13...]] [--opt 0,2]
#                          [--node-limit 400] [--depth-limit 5] [--min-percent P]
#
# Prints one line per target and level and every difference by class; the JSON reports
# are in target/generated/report-<target>.json, the programs in target/generated/programs/.
set -euo pipefail
cd "$(dirname "$0")/../.."
usage() { sed -n '2,9p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) export GENERATED_SEEDS="$2"; shift 2 ;;
        --target) export GENERATED_TARGETS="$2"; shift 2 ;;
        --opt) export GENERATED_OPTS="$2"; shift 2 ;;
        --node-limit) export GENERATED_NODE_LIMIT="$2"; shift 2 ;;
        --depth-limit) export GENERATED_DEPTH_LIMIT="$2"; shift 2 ;;
        --min-percent) export GENERATED_MIN_PERCENT="$2"; shift 2 ;;
        *) usage ;;
    esac
done
[ -n "${GENERATED_SEEDS:-}" ] || usage
exec nice -n 10 cargo test --ignore-rust-version --test generated \
    generated_programs_match_cpython -- --nocapture
