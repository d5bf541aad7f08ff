#!/usr/bin/env python3
"""Interleaved A/B timing of one-shot actions: which of two (or more) builds is faster.

    python3 benches/ab.py [--rounds 30] [--files 100] [--empty] NAME=BINARY[;VAR=VALUE...] ...

Each round runs every variant over the same actions (one process per source file, with
rules_python's flags in a param file), in an order shuffled per round, so that the machine's
slow and fast moments hit all variants alike. A variant may set environment variables
(`name=path;VAR=value`), which is how a build with experimental switches is compared with
itself. The first variant is the reference: the report gives, per variant, the median over
rounds of its round time divided by the reference's round time (with the interquartile
range), the median time per action, and the median minor page faults and CPU time per action
from `wait4`.

Sources come from the benchmark corpus (`target/bench/corpus`, made by `benches/run.sh`),
`--files` of them spread evenly by name; `--empty` uses an empty source instead (the fixed
cost of an action). Outputs go to `target/bench/ab`. Not part of the test suite.
"""

import argparse
import os
import random
import statistics
import sys
import time

from driver import ACTION_ENV, request_args

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("variants", nargs="+", metavar="NAME=BINARY[;VAR=VALUE...]")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--empty", action="store_true", help="compile an empty source")
    parser.add_argument("--corpus", default=os.path.join(ROOT, "target", "bench", "corpus"))
    parser.add_argument("--work", default=os.path.join(ROOT, "target", "bench", "ab"))
    args = parser.parse_args()

    variants = []
    for spec in args.variants:
        name, _, rest = spec.partition("=")
        binary, *assignments = rest.split(";")
        if not name or not binary:
            parser.error(f"expected NAME=BINARY, got {spec!r}")
        extra = dict(assignment.split("=", 1) for assignment in assignments)
        variants.append((name, os.path.abspath(binary), extra))

    os.makedirs(os.path.join(args.work, "params"), exist_ok=True)
    os.makedirs(os.path.join(args.work, "out"), exist_ok=True)
    if args.empty:
        empty = os.path.join(args.work, "empty.py")
        open(empty, "w").close()
        sources = [empty] * args.files
    else:
        if not os.path.isdir(args.corpus):
            sys.exit(f"ab.py: no corpus at {args.corpus}: run benches/run.sh once first")
        corpus = sorted(
            os.path.join(directory, name)
            for directory, _, names in os.walk(args.corpus)
            for name in names
            if name.endswith(".py")
        )
        sources = [corpus[i * len(corpus) // args.files] for i in range(args.files)]

    actions = []
    for i, source in enumerate(sources):
        pyc = os.path.join(args.work, "out", f"{i}.pyc")
        params = os.path.join(args.work, "params", f"{i}.params")
        with open(params, "w", encoding="utf-8") as f:
            f.write("\n".join(request_args(source, pyc)) + "\n")
        actions.append(("@" + params, pyc))

    base_env = {"PATH": "/usr/bin:/bin", **ACTION_ENV}
    devnull = os.open(os.devnull, os.O_WRONLY)
    quiet = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    results = {name: {"rounds": [], "samples": [], "faults": [], "cpu": [], "failed": 0}
               for name, _, _ in variants}
    shuffle = random.Random(1)
    for _ in range(args.rounds):
        order = variants[:]
        shuffle.shuffle(order)
        for name, binary, extra in order:
            environment = dict(base_env, **extra)
            result = results[name]
            total = 0.0
            for argument, pyc in actions:
                try:
                    os.unlink(pyc)
                except FileNotFoundError:
                    pass
                started = time.perf_counter_ns()
                pid = os.posix_spawn(binary, [binary, argument], environment, file_actions=quiet)
                _, status, usage = os.wait4(pid, 0)
                elapsed = (time.perf_counter_ns() - started) / 1e6
                result["failed"] += status != 0
                total += elapsed
                result["samples"].append(elapsed)
                result["faults"].append(usage.ru_minflt + usage.ru_majflt)
                result["cpu"].append(1000 * (usage.ru_utime + usage.ru_stime))
            result["rounds"].append(total / len(actions))

    reference = results[variants[0][0]]["rounds"]
    kind = "empty source" if args.empty else f"{len(actions)} corpus files"
    print(f"{kind}, {args.rounds} rounds, load average {os.getloadavg()[0]:.2f} at the end")
    print("| variant | time / reference (median, IQR) | ms per action | faults | CPU ms | failed |")
    print("|---|---|---|---|---|---|")
    for name, _, _ in variants:
        result = results[name]
        ratios = [ours / theirs for ours, theirs in zip(result["rounds"], reference)]
        quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        print(
            f"| {name} | {statistics.median(ratios):.3f} ({quartiles[0]:.3f}–{quartiles[2]:.3f}) "
            f"| {statistics.median(result['rounds']):.3f} "
            f"| {statistics.median(result['faults']):.0f} "
            f"| {statistics.mean(result['cpu']):.3f} | {result['failed']} |"
        )


if __name__ == "__main__":
    main()
