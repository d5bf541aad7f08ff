#!/usr/bin/env python3
"""Interleaved A/B timing of whole-tree compiles: which of two (or more) builds needs less CPU.

    python3 benches/ab_tree.py [--rounds 10] [--jobs 1] [--tree DIR] NAME=BINARY ...

Each round runs every variant's `compileall -q -j JOBS --python_version 3.13 TREE` once, in an
order shuffled per round, after removing every `__pycache__` of the tree, so that the
machine's slow and fast moments hit all variants alike. The tree defaults to the one
`benches/trees.py` installs (target/trees-bench/site; run that once first). CPU is the
children's user + system time from `getrusage`; with `--jobs 1` it is the compile's own cost,
not its parallelism. The first variant is the reference: the report gives per variant the
median CPU and wall time over rounds, the median of each round's CPU ratio to the reference,
and the lowest CPU seen (the least disturbed run). Not part of the test suite.
"""

import argparse
import os
import random
import resource
import statistics
import subprocess
import time

from trees import WORK, remove_pycache


def run(binary, tree, jobs, version):
    remove_pycache(tree)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [binary, "compileall", "-q", "-j", str(jobs), "--python_version", version, tree],
        check=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--python_version", default="3.13")
    parser.add_argument("--tree", default=str(WORK / "site"))
    parser.add_argument("variants", nargs="+", metavar="NAME=BINARY")
    args = parser.parse_args()
    variants = dict(v.split("=", 1) for v in args.variants)
    if not os.path.isdir(args.tree):
        parser.error(f"no tree at {args.tree}: run benches/trees.py once, or pass --tree")
    times = {name: [] for name in variants}
    for round_index in range(args.rounds):
        order = list(variants)
        random.shuffle(order)
        for name in order:
            times[name].append(run(variants[name], args.tree, args.jobs, args.python_version))
        print(
            f"round {round_index}: "
            + ", ".join(f"{n} {times[n][-1][0]:.2f} CPU-s" for n in variants),
            flush=True,
        )
    remove_pycache(args.tree)
    reference = list(variants)[0]
    print(f"\n{'variant':<12} {'CPU median':>11} {'wall median':>12} {'CPU ratio':>10} {'CPU min':>8}")
    for name in variants:
        cpus = [cpu for cpu, _ in times[name]]
        walls = [wall for _, wall in times[name]]
        ratios = [cpu / times[reference][i][0] for i, cpu in enumerate(cpus)]
        print(
            f"{name:<12} {statistics.median(cpus):>10.2f}s {statistics.median(walls):>11.2f}s"
            f" {statistics.median(ratios):>10.3f} {min(cpus):>7.2f}s"
        )


if __name__ == "__main__":
    main()
