#!/usr/bin/env python3
"""Helpers for tests/bazel/e2e.sh (Python 3.8+, standard library only).

  execlog FILE [MNEMONIC]  summarise a Bazel --execution_log_json_file (Bazel 4.2.3 writes a
                           stream of pretty-printed JSON objects, one per executed spawn):
                           prints "<count> <runners,...>" of the PyCompile (or MNEMONIC) spawns
  execlog-outputs FILE     prints the outputs of those spawns, one per line
  execlog-tools FILE       prints the distinct executables (file names of the first command
                           argument) of those spawns, comma-separated
  tool-output FILE         print the lines of a captured Bazel console log that Bazel itself
                           did not write (i.e. the failed actions' stderr / WorkResponse.output)
  check-headers MANIFEST   check every pyc of MANIFEST (lines "src<TAB>src_name<TAB>pyc"):
                           CPython 3.14 magic 2b 0e 0d 0a, flags 3 (checked hash) and the
                           SipHash-1-3 source hash keyed by the magic, as importlib computes it
  wheel-pycs WHEEL TAG LEVEL...  the pycs CPython's compileall writes for the .py files of WHEEL
                           (relative paths, sorted): __pycache__/NAME.TAG[.opt-N].pyc per level
  unpack WHEEL DIR         extract WHEEL into DIR (as the e2e's wheel_tree rule does)
"""

import json
import re
import sys

MAGIC_314 = bytes.fromhex("2b0e0d0a")


def execlog(path, list_outputs=False, list_tools=False, mnemonic="PyCompile"):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    decoder = json.JSONDecoder()
    pos, count, runners, outputs, tools = 0, 0, set(), [], set()
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        spawn, pos = decoder.raw_decode(text, pos)
        if spawn.get("mnemonic") != mnemonic:
            continue
        count += 1
        runners.add(spawn.get("runner", "?"))
        outputs.extend(spawn.get("listedOutputs", []))
        args = spawn.get("commandArgs", [])
        tools.add(args[0].rsplit("/", 1)[-1] if args else "?")
    if list_tools:
        print(",".join(sorted(tools)) or "-")
    elif list_outputs:
        for output in sorted(outputs):
            print(output)
    else:
        print(count, ",".join(sorted(runners)) or "-")


# Lines Bazel 4.2.3 prints itself on a failed build (progress, errors, summaries).
BAZEL_LINE = re.compile(
    r"^(ERROR|INFO|WARNING|DEBUG|FAILED|Loading|Analyzing|Target |Use --|Starting local Bazel"
    r"|Extracting Bazel|Another command|\[\d)"
)


def tool_output(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip() and not BAZEL_LINE.match(line):
                sys.stdout.write(line)


def check_headers(manifest):
    import _imp  # CPython-only; source_hash(key, data) is what importlib uses for hash pycs

    key = int.from_bytes(MAGIC_314, "little")
    bad, total = 0, 0
    with open(manifest, encoding="utf-8") as f:
        for line in f:
            src, src_name, pyc = line.rstrip("\n").split("\t")
            total += 1
            with open(src, "rb") as s:
                source = s.read()
            with open(pyc, "rb") as p:
                data = p.read()
            problems = []
            if data[:4] != MAGIC_314:
                problems.append("magic {} != {}".format(data[:4].hex(), MAGIC_314.hex()))
            if data[4:8] != (3).to_bytes(4, "little"):
                problems.append("flags {} != 03000000".format(data[4:8].hex()))
            if data[8:16] != _imp.source_hash(key, source):
                problems.append("source hash {} is not the hash of {}".format(data[8:16].hex(), src_name))
            if len(data) <= 16:
                problems.append("no code object after the header")
            if problems:
                bad += 1
                print("{}: {}".format(pyc, "; ".join(problems)), file=sys.stderr)
    print("{} pycs checked, {} bad".format(total, bad))
    return 1 if bad or not total else 0


def wheel_pycs(wheel, tag, levels):
    import posixpath
    import zipfile

    pycs = []
    for name in zipfile.ZipFile(wheel).namelist():
        if not name.endswith(".py"):
            continue
        head, tail = posixpath.split(name)
        for level in levels:
            opt = "" if level == "0" else ".opt-" + level
            pycs.append(posixpath.join(head, "__pycache__", "{}.{}{}.pyc".format(tail[:-3], tag, opt)))
    for pyc in sorted(pycs):
        print(pyc)


def main():
    verb, arg = sys.argv[1], sys.argv[2]
    if verb == "execlog":
        execlog(arg, mnemonic=sys.argv[3] if len(sys.argv) > 3 else "PyCompile")
    elif verb == "wheel-pycs":
        wheel_pycs(arg, sys.argv[3], sys.argv[4:])
    elif verb == "unpack":
        import zipfile

        zipfile.ZipFile(arg).extractall(sys.argv[3])
    elif verb == "execlog-outputs":
        execlog(arg, list_outputs=True)
    elif verb == "execlog-tools":
        execlog(arg, list_tools=True)
    elif verb == "tool-output":
        tool_output(arg)
    elif verb == "check-headers":
        return check_headers(arg)
    else:
        print("unknown verb " + verb, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
