"""Benchmark driver for pycompile-worker; run it through benches/run.sh.

Measures, side by side and as ratios, our binary against a CPython precompiler doing what
rules_python's default one does (benches/py_precompiler.py on the native python3):

1. worker throughput: N requests (default 2000) to one persistent worker process, multiplex
   (bounded in-flight requests, as Bazel bounds them) and singleplex (no requestId, one at a
   time); also our worker with --jobs 1 against --jobs 2 and its peak RSS (VmHWM);
2. one-shot cost per action: one process per file with a param file (Bazel without workers);
3. raw compile speed on one thread: benches/raw.rs (serc and rustpython through the library
   API) against benches/py_raw.py (CPython compile() + marshal.dumps + source_hash).

Every measurement is repeated in rounds that alternate the contenders, so load from other
processes hits both alike; the tables give medians. Results go to stdout and to
<out>/report.md; the raw samples to <out>/results.json.
"""

import argparse
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
import zipfile

ACTION_ENV = {"PYTHONHASHSEED": "0", "PYTHONNOUSERSITE": "1", "PYTHONSAFEPATH": "1"}


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Corpus


def prepare_corpus(zip_path, out, python):
    """Extracts the stdlib .py files and keeps those every contender compiles.

    The corpus is CPython 3.14's stdlib, but the baseline is the machine's python3 (3.11 here),
    which rejects the few files that use 3.12+ syntax; they are left out everywhere so that
    every contender does the same work.
    """
    root = os.path.join(out, "corpus")
    listing = os.path.join(out, "corpus.txt")
    stamp = os.path.join(out, "corpus.stamp")
    key = f"{os.path.abspath(zip_path)} {os.path.getsize(zip_path)} {python}"
    if os.path.exists(stamp) and open(stamp, encoding="utf-8").read() == key:
        with open(listing, encoding="utf-8") as f:
            return root, [line.strip() for line in f if line.strip()]
    shutil.rmtree(root, ignore_errors=True)
    with zipfile.ZipFile(zip_path) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".py"))
        for name in names:
            archive.extract(name, root)
    check = (
        "import sys\n"
        "for name in sys.stdin.read().split():\n"
        "    try:\n"
        "        compile(open(name, 'rb').read(), name, 'exec', dont_inherit=True)\n"
        "        print(name)\n"
        "    except (SyntaxError, ValueError):\n"
        "        pass\n"
    )
    done = subprocess.run(
        [python, "-c", check],
        input="\n".join(names),
        capture_output=True,
        text=True,
        cwd=root,
        check=True,
    )
    kept = done.stdout.split()
    log(f"corpus: {len(names)} .py files in {zip_path}, {len(kept)} compile on {python}")
    with open(listing, "w", encoding="utf-8") as f:
        f.write("\n".join(kept) + "\n")
    with open(stamp, "w", encoding="utf-8") as f:
        f.write(key)
    return root, kept


def replicate(root, files, count, work):
    """Copies the corpus into work/src/r0, r1, ... and picks `count` distinct sources.

    Every file appears floor(count / len) or one more times; the order is shuffled with a
    fixed seed, as Bazel's action order is arbitrary but the benchmark must be repeatable.
    """
    copies = math.ceil(count / len(files))
    src = os.path.join(work, "src")
    for copy in range(copies):
        dest = os.path.join(src, f"r{copy}")
        if os.path.isdir(dest):
            continue
        for name in files:
            target = os.path.join(dest, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(os.path.join(root, name), target)
    rng = random.Random(0)
    picked = [f"src/r{c}/{name}" for c in range(copies - 1) for name in files]
    rest = count - len(picked)
    picked += [f"src/r{copies - 1}/{name}" for name in rng.sample(files, rest)]
    rng.shuffle(picked)
    return picked


def pyc_path(run, src, tag):
    """Where Bazel would put the .pyc: beside the source's path, under a per-run directory."""
    directory, base = os.path.split(src)
    stem = base[: -len(".py")]
    return f"out/{run}/{directory}/__pycache__/{stem}.{tag}.pyc"


def request_args(src, pyc):
    """What rules_python puts in a PyCompile request (the expanded param file)."""
    return [
        "--invalidation_mode",
        "checked_hash",
        "--src",
        src,
        "--src_name",
        src,
        "--pyc",
        pyc,
        "--optimize",
        "0",
        "--python_version",
        "3.14",
    ]


def make_output_dirs(work, run, sources, tag):
    """Bazel creates every output's parent directory before an action runs; so do we."""
    shutil.rmtree(os.path.join(work, "out", run), ignore_errors=True)
    for directory in {os.path.dirname(pyc_path(run, s, tag)) for s in sources}:
        os.makedirs(os.path.join(work, directory), exist_ok=True)


# --------------------------------------------------------------------------------------------
# Processes


def proc_status(pid):
    """VmHWM and VmRSS of a live process, in KiB."""
    fields = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                fields[key] = int(value.split()[0])
    return fields


def proc_cpu(pid):
    """User + system CPU seconds of a live process (all its threads)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy():
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu():
    """CPU seconds of this driver process (all threads)."""
    t = os.times()
    return t.user + t.system


def env():
    return {**os.environ, **ACTION_ENV}


def run_worker(cmd, work, sources, run, tag, multiplex, inflight, warmup):
    """Starts a worker, warms it up, sends every source as a request and times the burst.

    Multiplex: ids from 1, at most `inflight` requests outstanding (a sender thread refills as
    responses arrive). Singleplex: no requestId, the next request only after the response.
    Returns wall seconds of the burst, worker CPU seconds during it, peak RSS and failures.
    """
    make_output_dirs(work, run, sources + [warmup], tag)
    spawned = time.perf_counter()
    worker = subprocess.Popen(
        cmd,
        cwd=work,
        env=env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    stderr_chunks = []
    stderr_reader = threading.Thread(
        target=lambda: stderr_chunks.append(worker.stderr.read()), daemon=True
    )
    stderr_reader.start()
    stdout = worker.stdout

    def send(request_id, src):
        request = {"arguments": request_args(src, pyc_path(run, src, tag))}
        if request_id:
            request["requestId"] = request_id
        worker.stdin.write((json.dumps(request, separators=(",", ":")) + "\n").encode())
        worker.stdin.flush()

    def receive():
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"worker {cmd} closed stdout: {b''.join(stderr_chunks)!r}")
        return json.loads(line)

    # Warm-up: the process is up, its code paged in, its pools started.
    send(1 if multiplex else 0, warmup)
    first = receive()
    if first.get("exitCode") != 0:
        raise RuntimeError(f"warm-up request failed: {first}")
    first_response = time.perf_counter() - spawned
    failures = []
    cpu_before = proc_cpu(worker.pid)
    busy_before, own_before = machine_busy(), own_cpu()
    started = time.perf_counter()
    if multiplex:
        slots = threading.Semaphore(inflight)

        def sender():
            for i, src in enumerate(sources):
                slots.acquire()
                send(i + 2, src)

        thread = threading.Thread(target=sender, daemon=True)
        thread.start()
        for _ in sources:
            response = receive()
            slots.release()
            if response.get("exitCode") != 0:
                failures.append(response)
        thread.join()
    else:
        for src in sources:
            send(0, src)
            response = receive()
            if response.get("exitCode") != 0:
                failures.append(response)
    wall = time.perf_counter() - started
    cpu = proc_cpu(worker.pid) - cpu_before
    # What everything else on the machine used meanwhile, in cores: the noise indicator.
    others = (machine_busy() - busy_before - cpu - (own_cpu() - own_before)) / wall
    memory = proc_status(worker.pid)
    worker.stdin.close()
    worker.wait(timeout=60)
    stderr_reader.join(timeout=5)
    if failures:
        log(f"{len(failures)} failed requests in {cmd}, first: {failures[0]}")
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "first_response_s": first_response,
        "hwm_kib": memory.get("VmHWM"),
        "rss_kib": memory.get("VmRSS"),
        "failures": len(failures),
        "other_load_cores": max(0.0, others),
    }


def run_oneshot(cmd_prefix, work, sources, run, tag):
    """Runs one process per source with a param file, one after the other.

    Returns the wall seconds of the whole sequence and the children's CPU seconds.
    """
    make_output_dirs(work, run, sources, tag)
    params = []
    for i, src in enumerate(sources):
        path = os.path.join("params", run, f"{i}.params")
        os.makedirs(os.path.join(work, os.path.dirname(path)), exist_ok=True)
        with open(os.path.join(work, path), "w", encoding="utf-8") as f:
            f.write("\n".join(request_args(src, pyc_path(run, src, tag))) + "\n")
        params.append(path)
    environment = env()
    failures = 0
    before = os.times()
    busy_before, own_before = machine_busy(), own_cpu()
    started = time.perf_counter()
    for path in params:
        done = subprocess.run(
            [*cmd_prefix, "@" + path],
            cwd=work,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        failures += done.returncode != 0
    wall = time.perf_counter() - started
    after = os.times()
    busy = machine_busy() - busy_before - (own_cpu() - own_before)
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    others = (busy - cpu) / wall
    return {"wall_s": wall, "cpu_s": cpu, "failures": failures, "other_load_cores": max(0.0, others)}


# --------------------------------------------------------------------------------------------
# Reporting


def median(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(values) if values else float("nan")


def spread(values):
    """min–max as a percentage of the median: how noisy the rounds were."""
    m = median(values)
    if not values or not m:
        return ""
    return f"±{100 * (max(values) - min(values)) / 2 / m:.0f}%"


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = " ".join(open("/proc/loadavg", encoding="ascii").read().split()[:3])
    except OSError:
        load = "?"
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "loadavg_at_start": load,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", help="release pycompile-worker")
    parser.add_argument("--raw", help="the benches/raw.rs executable")
    parser.add_argument("--zip", help="pyodide's python_stdlib.zip")
    parser.add_argument("--out", default="target/bench")
    parser.add_argument(
        "--render-only",
        metavar="RESULTS_JSON",
        help="only rewrite <out>/report.md from an earlier run's results.json",
    )
    parser.add_argument("--python", default=os.path.realpath(sys.executable))
    parser.add_argument(
        "--python-flags",
        default="-S",
        help="interpreter flags of the CPython baseline (default -S: no site import, like a "
        "hermetic interpreter with nothing in site-packages; '' for the machine's default)",
    )
    parser.add_argument(
        "--raw-python",
        action="append",
        default=[],
        help="another interpreter for the raw compile table (repeatable), e.g. python3.13",
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--inflight", type=int, default=8)
    parser.add_argument("--oneshot-files", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--raw-rounds", type=int, default=9)
    parser.add_argument(
        "--oneshot-rounds",
        type=int,
        default=15,
        help="rounds of the one-shot section (cheap, and noisier than the others)",
    )
    args = parser.parse_args()
    if args.render_only:
        with open(args.render_only, encoding="utf-8") as f:
            results = json.load(f)
        report = render(results)
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "report.md"), "w", encoding="utf-8") as f:
            f.write(report)
        print(report)
        return
    if not (args.binary and args.raw and args.zip):
        parser.error("--binary, --raw and --zip are required (run benches/run.sh)")

    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.abspath(args.out)
    work = os.path.join(out, "work")
    os.makedirs(work, exist_ok=True)
    binary = os.path.abspath(args.binary)
    python = args.python
    py_precompiler = os.path.join(here, "py_precompiler.py")
    py_cmd = [python, *args.python_flags.split(), py_precompiler]
    py_version = subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    info = machine()
    log(f"machine: {info}")

    corpus_root, corpus = prepare_corpus(args.zip, out, python)
    sources = replicate(corpus_root, corpus, args.requests, work)
    warmup = sources[0]
    sources = sources[1:] + [sources[0]] if len(sources) > 1 else sources

    ours = [binary, "--persistent_worker"]
    theirs = py_cmd + ["--persistent_worker"]
    worker_configs = {
        "ours_multiplex_j2": (ours + ["--jobs", "2"], True, "cpython-314"),
        "ours_multiplex_j1": (ours + ["--jobs", "1"], True, "cpython-314"),
        "ours_singleplex": (ours, False, "cpython-314"),
        "ours_singleplex_serial": (ours + ["--worker_impl", "serial"], False, "cpython-314"),
        "py_multiplex": (theirs, True, "cpython-py"),
        "py_singleplex": (theirs, False, "cpython-py"),
    }
    results = {"machine": info, "python": py_version, "config": vars(args), "workers": {}}
    workers = {name: [] for name in worker_configs}
    for round_ in range(args.rounds):
        for name, (cmd, multiplex, tag) in worker_configs.items():
            result = run_worker(cmd, work, sources, name, tag, multiplex, args.inflight, warmup)
            workers[name].append(result)
            log(
                f"round {round_ + 1}/{args.rounds} {name}: {result['wall_s']:.2f} s wall, "
                f"{result['cpu_s']:.2f} s CPU, VmHWM {result['hwm_kib']} KiB"
            )
    results["workers"] = workers

    # One-shot: an evenly spread sample of the corpus (by name), plus an empty source for the
    # fixed cost of a process.
    count = min(args.oneshot_files, len(corpus))
    oneshot_sources = [f"src/r0/{corpus[i * len(corpus) // count]}" for i in range(count)]
    empty = os.path.join(work, "src", "empty")
    os.makedirs(empty, exist_ok=True)
    empty_sources = []
    for i in range(50):
        name = f"src/empty/e{i}.py"
        open(os.path.join(work, name), "w").close()
        empty_sources.append(name)
    oneshot_configs = {
        "ours": ([binary], oneshot_sources, "cpython-314"),
        "py": (py_cmd, oneshot_sources, "cpython-py"),
        "ours_empty": ([binary], empty_sources, "cpython-314"),
        "py_empty": (py_cmd, empty_sources, "cpython-py"),
        # Process start alone: the floor under every one-shot action.
        "true": (["/bin/true"], empty_sources, "none"),
        "ours_version": ([binary, "--version"], empty_sources, "none"),
        "py_bare": ([python, *args.python_flags.split(), "-c", "pass"], empty_sources, "none"),
    }
    oneshot = {name: [] for name in oneshot_configs}
    for round_ in range(args.oneshot_rounds):
        for name, (cmd, files, tag) in oneshot_configs.items():
            result = run_oneshot(cmd, work, files, "oneshot-" + name, tag)
            result["per_action_ms"] = 1000 * result["wall_s"] / len(files)
            oneshot[name].append(result)
            log(
                f"round {round_ + 1}/{args.oneshot_rounds} one-shot {name}: "
                f"{result['per_action_ms']:.1f} ms/action"
            )
    results["oneshot"] = oneshot

    # Raw single-thread compile speed, alternating the two processes.
    listing = os.path.join(out, "corpus.txt")
    raw = {"rust": [], "py": []}
    extra = {}
    for interpreter in args.raw_python:
        version = subprocess.run(
            [interpreter, "-c", "import sys; print(sys.version.split()[0])"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if version and version != py_version:
            extra[version] = interpreter
            raw["py" + version] = []
    for round_ in range(args.raw_rounds):
        done = subprocess.run(
            [args.raw, "--list", listing, "--root", corpus_root, "--repeat", "1"],
            capture_output=True,
            text=True,
            check=True,
        )
        raw["rust"].append(json.loads(done.stdout))
        done = subprocess.run(
            [python, os.path.join(here, "py_raw.py"), "--list", listing, "--root", corpus_root]
            + ["--repeat", "1"],
            capture_output=True,
            text=True,
            check=True,
            env=env(),
        )
        raw["py"].append(json.loads(done.stdout))
        for version, interpreter in extra.items():
            done = subprocess.run(
                [interpreter, "-S", os.path.join(here, "py_raw.py"), "--list", listing]
                + ["--root", corpus_root, "--repeat", "1"],
                capture_output=True,
                text=True,
                check=True,
                env=env(),
            )
            raw["py" + version].append(json.loads(done.stdout))
        log(
            f"raw round {round_ + 1}/{args.raw_rounds}: serc "
            f"{raw['rust'][-1]['stages']['serc']['time']['median_s']:.2f} s, CPython "
            f"{raw['py'][-1]['stages']['total']['time']['median_s']:.2f} s"
        )
    results["raw"] = raw

    results["counts"] = {
        "corpus": len(corpus),
        "oneshot": len(oneshot_sources),
        "empty": len(empty_sources),
    }
    with open(os.path.join(out, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)
    report = render(results)
    with open(os.path.join(out, "report.md"), "w", encoding="utf-8") as f:
        f.write(report)
    print(report)


def verdict(ratio):
    """`ratio` is their time over ours."""
    return f"**{ratio:.2f}×** " + ("faster" if ratio >= 1 else "(slower)")


def render(results):
    args = argparse.Namespace(**results["config"])
    py_version = results["python"]
    counts = results.get("counts") or {
        "corpus": results["raw"]["rust"][0]["files"],
        "oneshot": min(args.oneshot_files, results["raw"]["rust"][0]["files"]),
        "empty": 50,
    }
    n_corpus, n_oneshot, n_empty = counts["corpus"], counts["oneshot"], counts["empty"]
    w = results["workers"]
    o = results["oneshot"]
    raw = results["raw"]
    n = args.requests
    info = results["machine"]

    def wall(name):
        return median([r["wall_s"] for r in w[name]])

    def cpu(name):
        return median([r["cpu_s"] for r in w[name]])

    def rate(name):
        return n / wall(name)

    def noise(name):
        return spread([r["wall_s"] for r in w[name]])

    lines = []
    add = lines.append
    add("# pycompile-worker benchmark")
    add("")
    add(
        f"Machine: {info['nproc']} cores, {info['cpu']}, Linux {info['kernel']}, load average "
        f"{info['loadavg_at_start']} at start. Baseline: native CPython {py_version} running "
        "benches/py_precompiler.py (py_compile per request; worker requests on a thread pool)."
    )
    add(
        f"Corpus: {n_corpus} .py files of CPython 3.14's stdlib (pyodide 314.0.7's "
        f"python_stdlib.zip, the files CPython {py_version} also compiles), replicated to "
        f"{n} distinct files. Medians of {args.rounds} rounds (one-shot: "
        f"{len(results['oneshot']['ours'])}, raw: {args.raw_rounds}); "
        "±x% is half the min–max spread of the rounds, a measure of the machine's noise."
    )
    add("")
    add(f"## 1. Persistent worker, {n}-request burst")
    add("")
    add(f"Wall time from the first request to the last response; multiplex keeps at most "
        f"{args.inflight} requests in flight (Bazel's default multiplex cap). CPU is the "
        "worker process's user+system time during the burst. Other load is what every other "
        f"process on the machine used meanwhile, in cores out of {info['nproc']}: above about "
        "0.2 the machine was shared and the wall times suffer (multiplex most).")
    add("")
    add("| mode | ours | CPython worker | ours vs CPython |")
    add("|---|---|---|---|")
    for mode, a, b in (
        ("multiplex", "ours_multiplex_j2", "py_multiplex"),
        ("singleplex", "ours_singleplex", "py_singleplex"),
    ):
        add(
            f"| {mode} | {wall(a):.2f} s ({rate(a):.0f} files/s, {noise(a)}) | "
            f"{wall(b):.2f} s ({rate(b):.0f} files/s, {noise(b)}) | "
            f"{verdict(wall(b) / wall(a))} |"
        )

    def first(name):
        return median([r["first_response_s"] for r in w[name]])

    add(
        f"| start + first response | {1000 * first('ours_multiplex_j2'):.1f} ms | "
        f"{1000 * first('py_multiplex'):.1f} ms | "
        f"{first('py_multiplex') / first('ours_multiplex_j2'):.1f}× |"
    )
    add(
        f"| CPU per file | {1000 * cpu('ours_multiplex_j2') / n:.2f} ms | "
        f"{1000 * cpu('py_multiplex') / n:.2f} ms | "
        f"{cpu('py_multiplex') / cpu('ours_multiplex_j2'):.2f}× less CPU |"
    )
    add("")
    add("| worker | wall | files/s | CPU | peak RSS (VmHWM) | other load |")
    add("|---|---|---|---|---|---|")
    for label, name in (
        ("multiplex, --jobs 1", "ours_multiplex_j1"),
        ("multiplex, --jobs 2", "ours_multiplex_j2"),
        ("singleplex", "ours_singleplex"),
        ("singleplex, --worker_impl serial", "ours_singleplex_serial"),
        ("CPython worker, multiplex", "py_multiplex"),
        ("CPython worker, singleplex", "py_singleplex"),
    ):
        hwm = max(r["hwm_kib"] or 0 for r in w[name]) / 1024
        add(
            f"| {label} | {wall(name):.2f} s {noise(name)} | {rate(name):.0f} | "
            f"{cpu(name):.2f} s | {hwm:.1f} MiB | "
            f"{median([r['other_load_cores'] for r in w[name]]):.2f} cores |"
        )
    add("")
    add(
        f"Scaling: --jobs 2 is **{wall('ours_multiplex_j1') / wall('ours_multiplex_j2'):.2f}×** "
        "--jobs 1."
    )
    add("")

    def per_action(name):
        return median([r["per_action_ms"] for r in o[name]])

    def oneshot_noise(name):
        return spread([r["per_action_ms"] for r in o[name]])

    def round_ratios(ours, theirs):
        """CPython's time over ours in each round: the rows of a round ran back to back."""
        return [
            t["per_action_ms"] / u["per_action_ms"] for u, t in zip(o[ours], o[theirs])
        ]

    oneshot_rounds = len(o["ours"])
    add(
        f"## 2. One-shot: one process per action ({n_oneshot} files, sequential, "
        f"{oneshot_rounds} rounds)"
    )
    add("")
    add(
        "Each action is `<binary> @paramfile` with rules_python's flags, run by the driver one "
        f"after the other; CPython is `python3 {args.python_flags} py_precompiler.py @paramfile`."
    )
    add("")
    add("| source | ours | CPython one-shot | ours vs CPython |")
    add("|---|---|---|---|")
    for label, a, b in (
        (f"{n_oneshot} stdlib files", "ours", "py"),
        (f"empty file ×{n_empty} (fixed cost)", "ours_empty", "py_empty"),
    ):
        add(
            f"| {label} | {per_action(a):.2f} ms/action {oneshot_noise(a)} | "
            f"{per_action(b):.2f} ms/action {oneshot_noise(b)} | "
            f"{verdict(per_action(b) / per_action(a))} |"
        )
    ratios = round_ratios("ours", "py")
    add("")
    add(
        f"Round by round ({len(ratios)} rounds), ours vs CPython on the stdlib files: median "
        f"{median(ratios):.2f}×, lowest {min(ratios):.2f}×, highest {max(ratios):.2f}×."
    )
    others = median([r["other_load_cores"] for runs in o.values() for r in runs])
    add("")
    add(f"Other load during the one-shot runs: {others:.2f} cores (median).")
    add("")
    add("Where a one-shot action's time goes (medians, ms; each line is a difference of rows):")
    add("")
    floor = per_action("true")
    add("| component | ours | CPython |")
    add("|---|---|---|")
    add(f"| spawn + exec + exit floor (`/bin/true`) | {floor:.2f} | {floor:.2f} |")
    add(
        f"| program start (`--version` / `python {args.python_flags} -c pass`) − floor | "
        f"{per_action('ours_version') - floor:.2f} | {per_action('py_bare') - floor:.2f} |"
    )
    add(
        "| fixed work on an empty source (param file, imports, argument parsing, "
        "logging, reading the source, writing the .pyc) | "
        f"{per_action('ours_empty') - per_action('ours_version'):.2f} | "
        f"{per_action('py_empty') - per_action('py_bare'):.2f} |"
    )
    add(
        "| compiling the average file in a fresh process (stdlib files − empty) | "
        f"{per_action('ours') - per_action('ours_empty'):.2f} | "
        f"{per_action('py') - per_action('py_empty'):.2f} |"
    )
    add(f"| **total per action** | {per_action('ours'):.2f} | {per_action('py'):.2f} |")
    raw_serc = median([r["stages"]["serc"]["time"]["median_s"] for r in raw["rust"]])
    raw_py = median([r["stages"]["total"]["time"]["median_s"] for r in raw["py"]])
    add(
        "| for comparison: the average corpus file compiled warm, in memory (section 3 / "
        f"files) | {1000 * raw_serc / n_corpus:.2f} | {1000 * raw_py / n_corpus:.2f} |"
    )
    add("")

    def raw_stage(side, stage, clock="time"):
        values = []
        for sample in raw[side]:
            entry = sample["stages"][stage]
            source = entry[clock] if clock in entry else sample.get(clock, {}).get(stage)
            if source is not None:
                values.append(source["median_s"])
        return median(values)

    py_total = raw_stage("py", "total")
    py_cpu = median([s["cpu"]["total"]["median_s"] for s in raw["py"]])
    add(f"## 3. Raw compile speed, one thread, sources in memory ({n_corpus} files)")
    add("")
    add("| engine | wall | thread CPU | vs CPython (wall) | vs CPython (CPU) |")
    add("|---|---|---|---|---|")
    for label, stage in (
        ("serc 0.1.10 (`compile_pyc`, 3.14 bytecode)", "serc"),
        ("rustpython-compiler 0.6.0 (`compile_pyc`, 3.14)", "rustpython"),
    ):
        t = raw_stage("rust", stage)
        c = raw_stage("rust", stage, "cpu")
        add(f"| {label} | {t:.3f} s | {c:.3f} s | {t / py_total:.2f}× | {c / py_cpu:.2f}× |")
    add(
        f"| CPython {py_version} `compile()` + `marshal.dumps` + `source_hash` "
        f"(its own bytecode) | {py_total:.3f} s | {py_cpu:.3f} s | 1.00× | 1.00× |"
    )
    for side in sorted(k for k in raw if k.startswith("py") and k != "py"):
        t = raw_stage(side, "total")
        c = median([s["cpu"]["total"]["median_s"] for s in raw[side]])
        failed = max(s["failures"] for s in raw[side])
        note = f", {failed} files rejected" if failed else ""
        add(
            f"| CPython {side[2:]} (same work{note}) | {t:.3f} s | {c:.3f} s | "
            f"{t / py_total:.2f}× | {c / py_cpu:.2f}× |"
        )
    serc_cpu = raw_stage("rust", "serc", "cpu")
    newer = [
        f"CPython {side[2:]}: **{serc_cpu / median([s['cpu']['total']['median_s'] for s in raw[side]]):.2f}×**"
        for side in sorted(k for k in raw if k.startswith("py") and k != "py")
    ]
    if newer:
        add("")
        add("serc's CPU time relative to newer CPythons (the same work): " + ", ".join(newer) + ".")
    add("")
    add("Where serc's time goes (same files):")
    add("")
    add("| stage | thread CPU | share | wall |")
    add("|---|---|---|---|")
    stages = (
        ("serc compile (parse + codegen)", "serc_compile"),
        ("serc marshal + header", "serc_marshal"),
        ("source hash (SipHash-1-3)", "source_hash"),
    )
    totals = {clock: raw_stage("rust", "serc", clock) for clock in ("cpu", "time")}
    rest = dict(totals)
    for label, stage in stages:
        c, t = raw_stage("rust", stage, "cpu"), raw_stage("rust", stage)
        rest["cpu"] -= c
        rest["time"] -= t
        add(f"| {label} | {c:.3f} s | {100 * c / totals['cpu']:.0f}% | {t:.3f} s |")
    add(
        f"| rest of `compile_pyc` (nesting pre-check) | {rest['cpu']:.3f} s | "
        f"{100 * rest['cpu'] / totals['cpu']:.0f}% | {rest['time']:.3f} s |"
    )
    add(
        f"| CPython {py_version} for comparison: compile / marshal / hash | | | "
        f"{raw_stage('py', 'compile'):.3f} / {raw_stage('py', 'marshal'):.3f} / "
        f"{raw_stage('py', 'source_hash'):.3f} s |"
    )
    add("")
    add(
        "(Thread CPU time comes from /proc/thread-self/schedstat, which the kernel updates "
        "at scheduler ticks: a few ms of granularity, so trust it only for the longer stages.)"
    )
    add("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
