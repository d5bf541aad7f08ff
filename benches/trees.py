#!/usr/bin/env python3
"""Whole-tree bytecode compilation: `pycompile-worker compileall` vs `python -m compileall -j0`
vs uv's `--compile-bytecode`, on the installed wheels of a realistic application.

    python3 benches/trees.py [--rounds 5] [--bin target/release/pycompile-worker]
                             [--python PATH]

--python defaults to native CPython 3.13.15 from `tests/native/setup.sh` (Debian's build, the
patch release serc's 3.13 target reproduces; the benchmark fails if it cannot be set up).

1. Downloads the pinned wheels below (pure-Python and binary, CPython 3.13 manylinux) into
   target/trees-bench/wheels (once, with the running python3's pip), and uv (pinned) into
   target/trees-bench/uv (once).
2. Each round installs the wheels with uv, without bytecode, into target/trees-bench/site,
   then runs the three contenders in a rotated order (round r starts with contender r mod 3),
   so that load from other processes on the machine falls on all of them alike:
   - `python -m compileall -q -j0 DIR` and `pycompile-worker compileall -q -j0
     --python_version 3.13 DIR`, each after removing every __pycache__ (the same absolute
     path, files and mtimes, so the pycs must be byte-identical);
   - uv installing into fresh directories with and without `--compile-bytecode`, back to back;
     its bytecode step is the difference.
3. Prints wall and CPU seconds (CPU: `perf stat`'s task-clock of the command and all its
   descendants where perf works, else getrusage of the waited-for children), medians over
   the rounds with the min-max spread, each round's ratios, the load average, and the pyc
   comparison of the first round (compileall's tree against ours, and uv's tree against ours
   rerun on it).

Needs network access to PyPI on the first run only. Not part of `cargo test`.
"""

import argparse
import hashlib
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "target" / "trees-bench"
UV_VERSION = "0.5.11"
# name==version: the application's dependency set (no resolution: exactly these wheels).
WHEELS = [
    # pure Python
    "requests==2.32.3",
    "urllib3==2.2.3",
    "idna==3.10",
    "certifi==2024.8.30",
    "python-dateutil==2.9.0.post0",
    "six==1.16.0",
    "pytz==2024.2",
    "typing-extensions==4.12.2",
    "annotated-types==0.7.0",
    "pydantic==2.9.2",
    "flask==3.0.3",
    "werkzeug==3.0.6",
    "jinja2==3.1.4",
    "click==8.1.7",
    "itsdangerous==2.2.0",
    "blinker==1.8.2",
    "rich==13.9.4",
    "pygments==2.18.0",
    "markdown-it-py==3.0.0",
    "mdurl==0.1.2",
    "attrs==24.2.0",
    "packaging==24.2",
    # binary (C/Rust extensions plus their Python parts)
    "numpy==2.1.3",
    "pandas==2.2.3",
    "sqlalchemy==2.0.36",
    "pydantic-core==2.23.4",
    "markupsafe==3.0.2",
    "pyyaml==6.0.2",
    "charset-normalizer==3.4.0",
]


def log(*args):
    print(*args, file=sys.stderr, flush=True)


PERF = shutil.which("perf")


def timed(cmd, **kw):
    """Runs cmd; returns (wall seconds, CPU seconds, completed process).

    CPU is `perf stat`'s task-clock where perf works: it counts every descendant, including
    processes nobody waits for (compileall's pool runs under a forkserver that is never
    reaped, so its workers' time never reaches getrusage). Otherwise user + system time of
    the waited-for children (getrusage), which misses such processes.
    """
    stat = WORK / "perf-stat.txt"
    if PERF:
        cmd = [PERF, "stat", "-x,", "-e", "task-clock", "-o", str(stat), "--", *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if PERF:
        for line in stat.read_text().splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[2] == "task-clock" and fields[0] not in ("", "<not counted>"):
                cpu = float(fields[0]) / 1000
    return wall, cpu, proc


def check(proc, what):
    if proc.returncode != 0:
        log(f"{what} failed with status {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        sys.exit(1)


def fetch():
    python = sys.executable
    wheels = WORK / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    if len(list(wheels.glob("*.whl"))) < len(WHEELS):
        log("downloading wheels into", wheels)
        cmd = [python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--python-version", "3.13", "--implementation", "cp", "--abi", "cp313",
               "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64",
               "--platform", "any", "-d", str(wheels), *WHEELS]
        check(subprocess.run(cmd, capture_output=True, text=True), "pip download")
    uv_dir = WORK / "uv"
    uv = uv_dir / "bin" / "uv"
    if not uv.exists():
        log("installing uv", UV_VERSION)
        cmd = [python, "-m", "pip", "install", "--target", str(uv_dir / "lib"),
               f"uv=={UV_VERSION}"]
        check(subprocess.run(cmd, capture_output=True, text=True), "pip install uv")
        (uv_dir / "bin").mkdir(exist_ok=True)
        found = next((uv_dir / "lib" / "bin").glob("uv"))
        shutil.copy(found, uv)
    return sorted(wheels.glob("*.whl")), uv


def uv_install(uv, python, wheels, target, compile_bytecode):
    if target.exists():
        shutil.rmtree(target)
    cmd = [str(uv), "pip", "install", "--python", python, "--target", str(target),
           "--no-deps", "--offline", "--no-index", "--link-mode", "copy", "--quiet"]
    if compile_bytecode:
        cmd.append("--compile-bytecode")
    env = dict(os.environ, UV_CACHE_DIR=str(WORK / "uv-cache"), UV_NO_PROGRESS="1")
    env.pop("SOURCE_DATE_EPOCH", None)
    wall, cpu, proc = timed(cmd + [str(w) for w in wheels], env=env)
    check(proc, "uv pip install")
    return wall, cpu


def pycs(tree):
    """Relative path -> sha256 of every .pyc under tree."""
    out = {}
    for dirpath, _dirs, files in os.walk(tree):
        for name in files:
            if name.endswith(".pyc"):
                path = Path(dirpath) / name
                out[str(path.relative_to(tree))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def remove_pycache(tree):
    for dirpath, dirs, _files in os.walk(tree):
        if "__pycache__" in dirs:
            shutil.rmtree(Path(dirpath) / "__pycache__")
            dirs.remove("__pycache__")


def compare(name, reference, ours, report):
    same = sum(1 for k, v in reference.items() if ours.get(k) == v)
    only_ref = sorted(set(reference) - set(ours))
    only_ours = sorted(set(ours) - set(reference))
    differ = sorted(k for k in set(reference) & set(ours) if reference[k] != ours[k])
    report.append(f"- {name}: {len(reference)} pycs, {same} byte-identical to ours; "
                  f"{len(differ)} differ, {len(only_ref)} only theirs, {len(only_ours)} only ours")
    for label, items in (("differ", differ), ("only theirs", only_ref), ("only ours", only_ours)):
        for item in items[:10]:
            report.append(f"  - {label}: {item}")
    return differ, only_ref, only_ours


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bin", default=str(ROOT / "target" / "release" / "pycompile-worker"))
    parser.add_argument("--python", help="the target CPython (default: tests/native/setup.sh 3.13.15)")
    args = parser.parse_args()
    python = args.python
    if python is None:
        setup = subprocess.run(["bash", str(ROOT / "tests" / "native" / "setup.sh"), "3.13.15"],
                               stdout=subprocess.PIPE, text=True)
        if setup.returncode != 0:
            sys.exit("trees.py: tests/native/setup.sh 3.13.15 failed (see above); pass --python")
        python = setup.stdout.strip()
    full_version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                                  capture_output=True, text=True, check=True).stdout.strip()
    version = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    wheels, uv = fetch()
    log(f"{len(wheels)} wheels; uv {UV_VERSION}; CPython {full_version} at {python}; ours {args.bin}")
    os.environ.pop("SOURCE_DATE_EPOCH", None)
    samples = {k: [] for k in ("compileall", "ours", "uv_compile", "uv_plain")}
    report = []
    files = 0
    loads = []
    for round_ in range(args.rounds):
        tree = WORK / "site"
        uv_install(uv, python, wheels, tree, False)
        files = sum(1 for p in tree.rglob("*.py"))
        contenders = ["compileall", "ours", "uv"]
        order = contenders[round_ % 3:] + contenders[:round_ % 3]
        loads.append(os.getloadavg()[0])
        hashes = {}
        for tool in order:
            if tool == "uv":
                # uv, with and without its bytecode step, in fresh directories, back to back.
                for name, compile_bytecode in (("uv_compile", True), ("uv_plain", False)):
                    wall, cpu = uv_install(uv, python, wheels, WORK / f"site-{name}", compile_bytecode)
                    samples[name].append((wall, cpu))
                    log(f"round {round_ + 1}: uv install compile_bytecode={compile_bytecode} "
                        f"{wall:.2f} s wall, {cpu:.2f} CPU-s")
                continue
            remove_pycache(tree)
            if tool == "compileall":
                cmd = [python, "-m", "compileall", "-q", "-j0", str(tree)]
            else:
                cmd = [args.bin, "compileall", "-q", "-j0", "--python_version", version, str(tree)]
            wall, cpu, proc = timed(cmd)
            # Both report the same few files that do not compile on this version (status 1).
            hashes[tool] = (pycs(tree), proc.returncode, proc.stdout)
            samples[tool].append((wall, cpu))
            log(f"round {round_ + 1}: {tool} {wall:.2f} s wall, {cpu:.2f} CPU-s, status {proc.returncode}")
        if round_ == 0:
            report.append(f"- status: compileall {hashes['compileall'][1]}, ours {hashes['ours'][1]}; "
                          f"stdout identical: {hashes['compileall'][2] == hashes['ours'][2]}")
            compare("compileall -j0", hashes["compileall"][0], hashes["ours"][0], report)
            uv_tree = WORK / "site-uv_compile"
            uv_hashes = pycs(uv_tree)
            remove_pycache(uv_tree)
            _wall, _cpu, proc = timed([args.bin, "compileall", "-q", "-j0", "--python_version",
                                       version, str(uv_tree)])
            compare("uv --compile-bytecode (ours rerun on uv's directory)", uv_hashes,
                    pycs(uv_tree), report)

    def med(tool, i):
        return statistics.median(s[i] for s in samples[tool])

    def spread(values):
        mid = statistics.median(values)
        return f"{min(values):.2f}–{max(values):.2f} s (±{(max(values) - min(values)) / 2 / mid * 100:.0f}%)"

    uv_steps = [c[0] - p[0] for c, p in zip(samples["uv_compile"], samples["uv_plain"])]
    per_round = [
        f"round {i + 1}: ours {o[0]:.2f} s, compileall {c[0]:.2f} s ({c[0] / o[0]:.2f}×), "
        f"uv step {u:.2f} s ({u / o[0]:.2f}×), load {load:.1f}"
        for i, (o, c, u, load) in enumerate(zip(samples["ours"], samples["compileall"], uv_steps, loads))
    ]

    uv_step_wall = statistics.median(c[0] - p[0] for c, p in zip(samples["uv_compile"], samples["uv_plain"]))
    uv_step_cpu = statistics.median(c[1] - p[1] for c, p in zip(samples["uv_compile"], samples["uv_plain"]))
    ours_wall, ours_cpu = med("ours", 0), med("ours", 1)
    cpus = os.cpu_count()
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    lines = [
        f"{len(wheels)} wheels, {files} .py files, target CPython {version}, {cpus} cores ({model}), "
        f"{platform.system()}, CPython {full_version} at {python}, medians of {args.rounds} rounds "
        f"(1-minute load average at the rounds' start: {min(loads):.1f}–{max(loads):.1f})",
        "",
        "| compile step | wall (median) | rounds' min–max | CPU | ours is |",
        "| --- | --- | --- | --- | --- |",
        f"| `pycompile-worker compileall -q -j0` | {ours_wall:.2f} s | "
        f"{spread([s[0] for s in samples['ours']])} | {ours_cpu:.2f} s | |",
        f"| `python -m compileall -q -j0` | {med('compileall', 0):.2f} s | "
        f"{spread([s[0] for s in samples['compileall']])} | {med('compileall', 1):.2f} s "
        f"| **{med('compileall', 0) / ours_wall:.2f}×** faster |",
        f"| uv `--compile-bytecode` step (install with − without) | {uv_step_wall:.2f} s | "
        f"{spread(uv_steps)} | {uv_step_cpu:.2f} s | **{uv_step_wall / ours_wall:.2f}×** faster |",
        "",
        *per_round,
        "",
        f"uv install without bytecode: {med('uv_plain', 0):.2f} s wall; with: {med('uv_compile', 0):.2f} s.",
        "",
        "Identical pycs (first round):",
        *report,
    ]
    text = "\n".join(lines)
    print(text)
    (WORK / "report.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
