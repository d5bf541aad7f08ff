"""Raw CPython compile speed on one thread: the counterpart of benches/raw.rs.

    python3 py_raw.py --list FILES.txt --root DIR [--repeat N]

Reads every source into memory, then per repetition and file does what py_compile does
between reading the source and writing the file: ``compile(source, name, "exec",
dont_inherit=True)``, ``importlib.util.source_hash`` and ``marshal.dumps`` (the hash-pyc
header is 16 bytes of concatenation, left out). Prints one JSON object: median and minimum
seconds per stage, wall clock and thread CPU time.
"""

import argparse
import importlib.util
import json
import marshal
import os
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--list", required=True)
    parser.add_argument("--root", default=".")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with open(args.list, encoding="utf-8") as listing:
        names = [line.strip() for line in listing if line.strip()]
    files = []
    for name in names:
        with open(os.path.join(args.root, name), "rb") as source:
            files.append((name, source.read()))

    stages = {"total": [], "compile": [], "marshal": [], "source_hash": []}
    cpu = {"total": []}
    failures = 0
    for _ in range(max(1, args.repeat)):
        failures = 0
        codes = []
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        for name, source in files:
            try:
                code = compile(source, name, "exec", dont_inherit=True, optimize=0)
            except (SyntaxError, ValueError):
                failures += 1
                continue
            importlib.util.source_hash(source)
            marshal.dumps(code)
        stages["total"].append(time.perf_counter() - wall0)
        cpu["total"].append(time.thread_time() - cpu0)

        # The same work taken apart.
        t = time.perf_counter()
        for name, source in files:
            try:
                codes.append(compile(source, name, "exec", dont_inherit=True, optimize=0))
            except (SyntaxError, ValueError):
                pass
        stages["compile"].append(time.perf_counter() - t)
        t = time.perf_counter()
        for code in codes:
            marshal.dumps(code)
        stages["marshal"].append(time.perf_counter() - t)
        t = time.perf_counter()
        for _, source in files:
            importlib.util.source_hash(source)
        stages["source_hash"].append(time.perf_counter() - t)

    def summary(samples):
        ordered = sorted(samples)
        return {
            "median_s": ordered[len(ordered) // 2],
            "min_s": ordered[0],
            "samples_s": samples,
        }

    report = {
        "python": sys.version.split()[0],
        "files": len(files),
        "bytes": sum(len(source) for _, source in files),
        "repeat": args.repeat,
        "failures": failures,
        "stages": {stage: {"time": summary(s)} for stage, s in stages.items()},
        "cpu": {stage: summary(s) for stage, s in cpu.items()},
    }
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
