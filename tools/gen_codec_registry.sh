#!/usr/bin/env bash
# Writes src/compile/decoding/names_list.rs and interns_list.rs; see tools/gen_codec_registry.py.
# --check: only compare the derivation with serc's own lists, for every target.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /tmp/codec-interns.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
serc_src=$(ls -d ~/.cargo/registry/src/*/serc-0.1.10/src/target | head -1)
declare -A serc_file=([3.12]=cpython_3_12_14 [3.13]=cpython_3_13_15 [3.14]=cpython_3_14_5 [3.15]=cpython_3_15_0rc2)
args=()
for version in 3.12 3.13 3.14 3.15; do
  cp "$serc_src/${serc_file[$version]}_source_codecs.rs" "$tmp/serc-$version.rs"
  node tools/oracle_python.mjs "$version" tools/gen_codec_registry.py derive --check "$tmp/serc-$version.rs"
  if [[ "${1:-}" != --check ]]; then
    node tools/oracle_python.mjs "$version" tools/gen_codec_registry.py derive "$tmp/$version.json"
    args+=("$version=$tmp/$version.json")
  fi
done
if [[ "${1:-}" != --check ]]; then
  python3 tools/gen_codec_registry.py merge "${args[@]}"
  echo "wrote src/compile/decoding/names_list.rs and interns_list.rs"
fi
