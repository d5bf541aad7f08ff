#!/bin/sh
# Stand-in for rules_python's own precompiler: reads the @paramfile of a PyCompile action and
# writes a marker (not a pyc) to --pyc, naming the version it was asked for.
set -eu
params=${1#@}
pyc=
version=
prev=
while IFS= read -r line; do
    case $prev in
        --pyc) pyc=$line ;;
        --python_version) version=$line ;;
    esac
    prev=$line
done <"$params"
mkdir -p "$(dirname "$pyc")"
printf 'fallback precompiler: python %s\n' "$version" >"$pyc"
