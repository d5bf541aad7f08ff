#!/usr/bin/env python3
"""Soak test of the persistent worker (not in CI: minutes long).

Sends N requests (default 50 000) through one worker with up to --window in flight, ids drawn
from a small pool so every id is reused hundreds of times (an id goes back to the pool once
its response is read), random cancels (right after the request, mid-compile, or after the
response, which must be ignored), a mix of good, broken and bigger sources. Checks:
- exactly one response per request: never one for an id not in flight, never a second one;
- a cancelled request answered as cancelled leaves no .pyc written after that answer;
- RSS stays flat: after warm-up, the peak of the last half is within 15% (+16 MiB) of the
  peak of the first half.

    python3 tests/soak.py [--bin target/release/pycompile-worker] [-n 50000] [--seed 1]
"""

import argparse
import json
import os
import queue
import random
import subprocess
import sys
import tempfile
import threading
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="target/debug/pycompile-worker")
    parser.add_argument("-n", type=int, default=50_000)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--ids", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    binary = os.path.abspath(args.bin)

    scratch = tempfile.mkdtemp(prefix="soak-")
    os.makedirs(f"{scratch}/pkg")
    with open(f"{scratch}/pkg/ok.py", "w") as f:
        f.write("def answer():\n    return 42\n")
    with open(f"{scratch}/pkg/broken.py", "w") as f:
        f.write("x = (1,\n")
    with open(f"{scratch}/pkg/big.py", "w") as f:
        f.write("".join(f"def f{i}(a, b):\n    return a + b * {i}\n" for i in range(6000)))
    sources = ["pkg/ok.py"] * 16 + ["pkg/broken.py"] * 2 + ["pkg/big.py"] * 2

    worker = subprocess.Popen(
        [binary, "--persistent_worker"],
        cwd=scratch,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    responses = queue.Queue()

    def read():
        for line in worker.stdout:
            responses.put(json.loads(line))
        responses.put(None)

    threading.Thread(target=read, daemon=True).start()

    def send(obj):
        worker.stdin.write((json.dumps(obj, separators=(",", ":")) + "\n").encode())
        worker.stdin.flush()

    free = list(range(1, args.ids + 1))
    in_flight = {}  # id -> (serial, pyc, cancelled)
    counts = {"sent": 0, "answered": 0, "cancelled": 0, "errors": 0, "cancels_sent": 0,
              "stale_cancels": 0}
    samples = []
    problems = []
    started = time.time()

    def take_response(block):
        try:
            response = responses.get(timeout=120 if block else 0)
        except queue.Empty:
            if block:
                problems.append("no response within 120 s")
                raise SystemExit(report(problems, counts, samples, started))
            return False
        if response is None:
            problems.append("the worker closed stdout")
            raise SystemExit(report(problems, counts, samples, started))
        rid = response["requestId"]
        if rid not in in_flight:
            problems.append(f"response for id {rid} not in flight: {response}")
            return True
        serial, pyc, _ = in_flight.pop(rid)
        counts["answered"] += 1
        if response.get("wasCancelled"):
            counts["cancelled"] += 1
            # Nothing may be published after the cancel answer.
            before = os.stat(pyc).st_mtime_ns if os.path.exists(pyc) else None
            pending_checks.append((pyc, before))
        elif response["exitCode"] != 0:
            counts["errors"] += 1
        if rng.random() < 0.02:
            send({"requestId": rid, "cancel": True})  # after the answer: must be ignored
            counts["stale_cancels"] += 1
        free.append(rid)
        return True

    pending_checks = []
    for serial in range(args.n):
        while not free or len(in_flight) >= args.window:
            take_response(True)
        while take_response(False):
            pass
        rid = free.pop(rng.randrange(len(free)))
        src = rng.choice(sources)
        pyc = f"out/{serial // 1000}/{serial}.pyc"
        send({
            "arguments": ["--src", src, "--src_name", src, "--pyc", pyc],
            "requestId": rid,
        })
        in_flight[rid] = (serial, f"{scratch}/{pyc}", False)
        counts["sent"] += 1
        if rng.random() < 0.1:
            if rng.random() < 0.5:
                time.sleep(rng.random() * 0.002)
            send({"requestId": rid, "cancel": True})
            counts["cancels_sent"] += 1
        if serial % 5000 == 0:
            samples.append((serial, rss_kib(worker.pid)))
    while in_flight:
        take_response(True)
    samples.append((args.n, rss_kib(worker.pid)))
    time.sleep(0.5)
    for pyc, before in pending_checks:
        now = os.stat(pyc).st_mtime_ns if os.path.exists(pyc) else None
        if now != before:
            problems.append(f"{pyc} written after its cancel answer")
    worker.stdin.close()
    t0 = time.time()
    code = worker.wait(timeout=30)
    exit_time = time.time() - t0
    if code != 0:
        problems.append(f"exit status {code}")
    warm = [kib for serial, kib in samples if serial >= args.n // 5]
    if len(warm) >= 4:
        half = len(warm) // 2
        first, last = max(warm[:half]), max(warm[half:])
        if last > first * 1.15 + 16 * 1024:
            problems.append(f"RSS grew: {first} KiB -> {last} KiB")
    print(f"exit after EOF in {exit_time * 1000:.0f} ms")
    return report(problems, counts, samples, started)


def report(problems, counts, samples, started):
    print(f"{counts} in {time.time() - started:.1f} s")
    print("RSS (KiB) by request:", ", ".join(f"{s}:{k}" for s, k in samples))
    for problem in problems[:20]:
        print("PROBLEM:", problem)
    print("FAIL" if problems else "OK: one response per request, flat RSS")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
