#!/usr/bin/env python3
"""Interleaved A/B of two worker builds: the worker sections of benches/driver.py, plus framing.

    python3 benches/worker_ab.py old=PATH new=PATH [--rounds 5] [--requests 2000]

For each round and each build (alternating, so machine load hits both): the 2000-request
multiplex burst at --jobs 2 and --jobs 1 and the singleplex burst, exactly as driver.py runs
them (same corpus, requests and warm-up), reporting wall time, start + first response and
peak RSS (VmHWM); then the time from writing one 64 MB request (a compile of one small file
with 500 000 `inputs`, the shape Bazel writes) to its response, and the worker's peak RSS.
Medians over the rounds; ±x% is half the min-max spread.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from driver import prepare_corpus, proc_status, replicate, run_worker  # noqa: E402


def big_request(path, size):
    """A request compiling path with enough inputs to be `size` bytes long, as one line."""
    per = len(json.dumps({"path": "external/repo/site-packages/pkg_0/module_0.py",
                          "digest": "0" * 88}))
    inputs = [
        {"path": f"external/repo/site-packages/pkg_{i}/module_{i}.py", "digest": f"{i:088x}"}
        for i in range(size // (per + 1))
    ]
    request = {
        "arguments": ["--src", path, "--src_name", path, "--pyc", path + "c"],
        "inputs": inputs,
        "requestId": 1,
    }
    return (json.dumps(request, separators=(",", ":")) + "\n").encode()


def framing(binary, work, payload):
    worker = subprocess.Popen([binary, "--persistent_worker"], cwd=work, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    started = time.perf_counter()
    worker.stdin.write(payload)
    worker.stdin.flush()
    line = worker.stdout.readline()
    elapsed = time.perf_counter() - started
    hwm = proc_status(worker.pid).get("VmHWM")
    worker.stdin.close()
    worker.wait(timeout=60)
    assert json.loads(line)["exitCode"] == 0, line
    return elapsed, hwm


def summary(values, unit, scale=1.0, digits=2):
    med = statistics.median(values) * scale
    half = (max(values) - min(values)) * scale / 2
    noise = f" ±{100 * half / med:.0f}%" if med else ""
    return f"{med:.{digits}f} {unit}{noise}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("builds", nargs=2, help="name=PATH")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--inflight", type=int, default=8)
    parser.add_argument("--framing-mb", type=int, default=64)
    parser.add_argument("--zip", default="tests/oracle/node_modules/pyodide-314/python_stdlib.zip")
    parser.add_argument("--out", default="target/bench-ab")
    args = parser.parse_args()
    builds = dict(b.split("=", 1) for b in args.builds)
    builds = {name: os.path.abspath(path) for name, path in builds.items()}
    out = os.path.abspath(args.out)
    work = os.path.join(out, "work")
    os.makedirs(work, exist_ok=True)
    corpus_root, corpus = prepare_corpus(args.zip, out, "python3")
    sources = replicate(corpus_root, corpus, args.requests, work)
    warmup, sources = sources[0], sources[1:] + [sources[0]]
    payload = big_request(sources[0], args.framing_mb << 20)
    configs = {
        "multiplex --jobs 2": (["--jobs", "2"], True),
        "multiplex --jobs 1": (["--jobs", "1"], True),
        "singleplex": ([], False),
    }
    results = {name: {config: [] for config in list(configs) + ["framing"]} for name in builds}
    for round_ in range(args.rounds):
        for name, binary in builds.items():
            for config, (flags, multiplex) in configs.items():
                result = run_worker([binary, "--persistent_worker", *flags], work, sources,
                                    f"ab-{name}", "cpython-314", multiplex, args.inflight, warmup)
                assert result["failures"] == 0, result
                results[name][config].append(result)
            results[name]["framing"].append(framing(binary, work, payload))
            print(f"round {round_ + 1}/{args.rounds} {name}: "
                  f"{results[name]['multiplex --jobs 2'][-1]['wall_s']:.2f} s multiplex, "
                  f"framing {results[name]['framing'][-1][0]:.2f} s", file=sys.stderr)
    print(f"| build | burst | wall | files/s | start + first response | peak RSS |")
    print("|---|---|---|---|---|---|")
    for name in builds:
        for config in configs:
            runs = results[name][config]
            walls = [r["wall_s"] for r in runs]
            print(f"| {name} | {config} | {summary(walls, 's')} | "
                  f"{args.requests / statistics.median(walls):.0f} | "
                  f"{summary([r['first_response_s'] for r in runs], 'ms', 1000, 1)} | "
                  f"{summary([r['hwm_kib'] for r in runs], 'MiB', 1 / 1024, 1)} |")
    print()
    print(f"| build | one {len(payload) / 1e6:.0f} MB request: time to response | peak RSS |")
    print("|---|---|---|")
    for name in builds:
        runs = results[name]["framing"]
        print(f"| {name} | {summary([r[0] for r in runs], 's')} | "
              f"{summary([r[1] for r in runs], 'MiB', 1 / 1024, 0)} |")


if __name__ == "__main__":
    main()
