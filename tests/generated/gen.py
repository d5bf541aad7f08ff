"""Writes pysource-codegen programs for a seed range: DIR/seed-N.py, one per seed.

Run by tests/generated.rs and tests/generated/run.sh with the venv that
tests/generated/setup.sh makes (pysource-codegen needs Python >= 3.12).
Seeds already written are kept (a program depends only on the seed, the
sizes, the pinned pysource-codegen and the generating Python's version, which
are all in DIR's name), so a re-run only generates what is missing.

Usage: python gen.py --out DIR --seeds A-B [--node-limit N] [--depth-limit D] [--jobs N]
"""

import argparse
import multiprocessing
import os
import sys


def one(job):
    seed, out, node_limit, depth_limit = job
    import pysource_codegen

    path = os.path.join(out, f"seed-{seed}.py")
    if os.path.exists(path):
        return seed
    source = pysource_codegen.generate(seed, node_limit=node_limit, depth_limit=depth_limit)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(source)
    os.replace(tmp, path)
    return seed


def parse_range(text):
    first, _, last = text.partition("-")
    first = int(first)
    last = int(last) if last else first
    if last < first:
        raise SystemExit(f"gen.py: empty seed range {text}")
    return range(first, last + 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", required=True, help="A-B, inclusive")
    # The sizes of pysource-codegen's command line (python -m pysource_codegen), which
    # give programs of a few dozen lines; the library's own defaults are far larger.
    ap.add_argument("--node-limit", type=int, default=400)
    ap.add_argument("--depth-limit", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    jobs = [(s, args.out, args.node_limit, args.depth_limit) for s in parse_range(args.seeds)]
    todo = [j for j in jobs if not os.path.exists(os.path.join(args.out, f"seed-{j[0]}.py"))]
    if todo:
        with multiprocessing.Pool(max(1, args.jobs)) as pool:
            for _ in pool.imap_unordered(one, todo):
                pass
    print(f"gen.py: {len(jobs)} programs in {args.out} ({len(todo)} generated)", file=sys.stderr)


if __name__ == "__main__":
    main()
