#!/usr/bin/env bash
# Long or reseeded runs of the tokenizer comparison (tests/lexer.rs), e.g.
#   bash tests/lexer/run.sh --seed 7 --mutants 3000 --target 3.14
#   bash tests/lexer/run.sh --seed 2 --mutants 1000 --soup 3000 --stride 1 --target all
# Reports only (identical rates per target); mismatch details:
# target/lexer/<target>-seed<N>/mismatches.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
seed=1 mutants=1000 soup=1000 stride=1 target=3.14
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) seed="$2"; shift 2 ;;
    --mutants) mutants="$2"; shift 2 ;;
    --stride) stride="$2"; shift 2 ;;
    --soup) soup="$2"; shift 2 ;;
    --target) target="$2"; shift 2 ;;
    *) echo "usage: $0 [--seed N] [--mutants M] [--stride S] [--soup K] [--target 3.12|3.13|3.14|3.15|all]" >&2; exit 2 ;;
  esac
done
filter=tokens_match_cpython_
[ "$target" != all ] && filter="tokens_match_cpython_${target/./_}"
LEXER_SEED="$seed" LEXER_MUTANTS="$mutants" LEXER_SOUP="$soup" LEXER_CORPUS_STRIDE="$stride" LEXER_ENFORCE=0 \
  cargo test --ignore-rust-version --test lexer "$filter" -- --nocapture 2>&1 | grep -E '^lexer |test result'
