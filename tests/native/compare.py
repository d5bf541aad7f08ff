#!/usr/bin/env python3
"""Byte identity of whole-tree pycs: `pycompile-worker compileall` against a native CPython's
own `python -m compileall`, on the same directory, with every difference located.

    python3 tests/native/compare.py --python "$(bash tests/native/setup.sh 3.13.15)" \
        [--bin target/release/pycompile-worker] [TREE]

TREE defaults to the benchmark's installed wheels (target/trees-bench/site, made by
benches/trees.py). Both compilers run in TREE itself (co_filename and the header's mtime and
size depend on the absolute path and the sources' stat), one after the other, removing every
__pycache__ before each; the pycs are kept under target/native/compare/{cpython,ours}.

For each differing pyc, the native interpreter unmarshals both files and walks the two code
objects in parallel; the first attribute that differs (by qualified name) is its location, and
the attribute name its class (co_code, co_linetable, co_consts, ..., or "marshal only" when the
objects are equal and only the serialisation differs). Each differing source is then compiled
once more by the native CPython alone, in a fresh `-S` process that imports nothing beyond
the interpreter's start (writing what `py_compile.compile` writes): CPython's bytes depend a
little on what its process interned before (tests/oracle/README.md, "Oracle intern state"),
and serc models a fresh process, so "ours equals a fresh CPython process" separates that from
a real difference. Prints the
counts, the classes with their files, and writes the details to
target/native/compare/report.txt.
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "target" / "native" / "compare"

# Run by the native interpreter: locate the first difference between two pycs of its version.
LOCATE = r'''
import marshal, sys, json

def walk(a, b, where):
    if type(a) is not type(b):
        return (where, "type", repr(type(a)), repr(type(b)))
    if hasattr(a, "co_code"):
        name = where + "/" + a.co_qualname
        for attr in ("co_name", "co_qualname", "co_argcount", "co_posonlyargcount",
                     "co_kwonlyargcount", "co_flags", "co_firstlineno", "co_varnames",
                     "co_cellvars", "co_freevars", "co_names", "co_stacksize"):
            if getattr(a, attr) != getattr(b, attr):
                return (name, attr, repr(getattr(a, attr))[:300], repr(getattr(b, attr))[:300])
        if len(a.co_consts) != len(b.co_consts):
            return (name, "co_consts", repr(a.co_consts)[:300], repr(b.co_consts)[:300])
        for x, y in zip(a.co_consts, b.co_consts):
            if hasattr(x, "co_code") or hasattr(y, "co_code"):
                if not (hasattr(x, "co_code") and hasattr(y, "co_code")):
                    return (name, "co_consts", repr(x)[:300], repr(y)[:300])
            elif repr(x) != repr(y) or type(x) is not type(y):
                return (name, "co_consts", repr(x)[:300], repr(y)[:300])
        if a.co_code != b.co_code:
            import dis
            da = [(i.offset, i.opname, i.argrepr) for i in dis.get_instructions(a)]
            db = [(i.offset, i.opname, i.argrepr) for i in dis.get_instructions(b)]
            k = next((i for i, (x, y) in enumerate(zip(da, db)) if x != y), min(len(da), len(db)))
            return (name, "co_code", repr(da[max(0, k - 2):k + 4]), repr(db[max(0, k - 2):k + 4]))
        if a.co_exceptiontable != b.co_exceptiontable:
            return (name, "co_exceptiontable", a.co_exceptiontable.hex(), b.co_exceptiontable.hex())
        if a.co_linetable != b.co_linetable:
            la, lb = list(a.co_positions()), list(b.co_positions())
            k = next((i for i, (x, y) in enumerate(zip(la, lb)) if x != y), min(len(la), len(lb)))
            return (name, "co_linetable", "instr %d: %r" % (k, la[k:k + 3]), repr(lb[k:k + 3]))
        for x, y in zip(a.co_consts, b.co_consts):
            if hasattr(x, "co_code"):
                found = walk(x, y, name)
                if found:
                    return found
    return None

for line in sys.stdin:
    ref, ours = line.rstrip("\n").split("\t")
    da, db = open(ref, "rb").read(), open(ours, "rb").read()
    if da[:16] != db[:16]:
        found = ("<header>", "header", da[:16].hex(), db[:16].hex())
    else:
        found = walk(marshal.loads(da[16:]), marshal.loads(db[16:]), "")
        if found is None:
            found = ("<module>", "marshal only", "", "")
    print(json.dumps([ref] + list(found)), flush=True)
'''


# py_compile.compile(SRC, PYC) without importing py_compile (which imports enum, functools, ...
# and so interns their nested-class qualnames): only the interpreter's start-up modules.
ALONE = """import os, sys
external = sys.modules['_frozen_importlib_external']
st = os.stat(sys.argv[1])
code = compile(open(sys.argv[1], 'rb').read(), sys.argv[1], 'exec', dont_inherit=True)
open(sys.argv[2], 'wb').write(external._code_to_timestamp_pyc(code, st.st_mtime, st.st_size))
"""


def pycs(tree):
    out = {}
    for dirpath, _dirs, files in os.walk(tree):
        for name in files:
            if name.endswith(".pyc"):
                path = Path(dirpath) / name
                out[str(path.relative_to(tree))] = path
    return out


def remove_pycache(tree):
    for dirpath, dirs, _files in os.walk(tree):
        if "__pycache__" in dirs:
            shutil.rmtree(Path(dirpath) / "__pycache__")
            dirs.remove("__pycache__")


def run(tree, cmd, keep):
    remove_pycache(tree)
    env = dict(os.environ)
    env.pop("SOURCE_DATE_EPOCH", None)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if keep.exists():
        shutil.rmtree(keep)
    for rel, path in pycs(tree).items():
        (keep / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, keep / rel)
    remove_pycache(tree)
    return proc


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="the native CPython (tests/native/setup.sh)")
    parser.add_argument("--bin", default=str(ROOT / "target" / "release" / "pycompile-worker"))
    parser.add_argument("--jobs", default="0")
    parser.add_argument("tree", nargs="?", default=str(ROOT / "target" / "trees-bench" / "site"))
    args = parser.parse_args()
    tree = Path(args.tree).resolve()
    if not tree.is_dir():
        sys.exit(f"compare.py: {tree} is not a directory (run benches/trees.py once to make it)")
    version = subprocess.run([args.python, "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    minor = ".".join(version.split(".")[:2])
    ref = run(tree, [args.python, "-m", "compileall", "-q", "-j", args.jobs, str(tree)], OUT / "cpython")
    ours = run(tree, [args.bin, "compileall", "-q", "-j", args.jobs, "--python_version", minor,
                      str(tree)], OUT / "ours")
    a, b = pycs(OUT / "cpython"), pycs(OUT / "ours")
    same = [k for k in a if k in b and digest(a[k]) == digest(b[k])]
    differ = sorted(k for k in a if k in b and k not in set(same))
    print(f"CPython {version} ({args.python}) vs {args.bin}, tree {tree}")
    print(f"status: cpython {ref.returncode}, ours {ours.returncode}; stdout identical: {ref.stdout == ours.stdout}")
    print(f"{len(a)} pycs by CPython, {len(b)} by ours: {len(same)} byte-identical, {len(differ)} differ, "
          f"{len(set(a) - set(b))} only CPython's, {len(set(b) - set(a))} only ours")
    for k in sorted(set(a) ^ set(b))[:20]:
        print("  only", "CPython's" if k in a else "ours", k)
    if not differ:
        return
    feed = "".join(f"{a[k]}\t{b[k]}\n" for k in differ)
    proc = subprocess.run([args.python, "-c", LOCATE], input=feed, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"compare.py: locating differences failed:\n{proc.stderr}")
    import json
    classes = defaultdict(list)
    details = []
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("SOURCE_DATE_EPOCH", None)
    for line in proc.stdout.splitlines():
        path, where, attr, theirs, mine = json.loads(line)
        rel = str(Path(path).relative_to(OUT / "cpython"))
        pyc = Path(rel)
        stem = pyc.name.split(".cpython-")[0]
        source = tree / pyc.parent.parent / f"{stem}.py"
        fresh = OUT / "fresh.pyc"
        subprocess.run([args.python, "-S", "-c", ALONE, str(source), str(fresh)], check=True, env=env)
        alone = "equal to" if fresh.read_bytes() == b[rel].read_bytes() else "different from"
        attr = f"{attr}; ours {alone} CPython compiling the file in a fresh process"
        classes[attr].append(rel)
        details.append(f"{rel}\n  at {where}: {attr}\n  cpython: {theirs}\n  ours:    {mine}\n")
    print("differences by the first attribute that differs:")
    for attr, files in sorted(classes.items(), key=lambda kv: -len(kv[1])):
        print(f"  {attr}: {len(files)}")
        for rel in files[:5]:
            print(f"    {rel}")
    (OUT / "report.txt").write_text("\n".join(details))
    print(f"details: {OUT / 'report.txt'}")


if __name__ == "__main__":
    main()
