"""Shrinks a program whose code objects differ between our compiler and CPython.

Run by tests/generated/run.sh --minimize FILE (with the venv of setup.sh):

1. splits the program into its top-level statements (a decorated definition keeps its
   decorators) and compares each one alone, all in one oracle run, keeping the shortest
   that still differs;
2. shrinks that one with pysource-minimize, checking every candidate against the oracle
   (one oracle start per check, a few seconds each: bounded by --max-checks).

Prints the result and the oracle's first difference. The oracle is CPython's py_compile
(tests/oracle); ours is the pycompile-worker binary given with --ours.

Usage: python minimize.py --ours BIN --target 3.14 [--optimize 0] [--max-checks 200] FILE
"""

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ORACLE = os.path.join(ROOT, "tests", "oracle", "oracle.mjs")


class Checker:
    def __init__(self, ours, target, optimize, work):
        self.ours, self.target, self.optimize, self.work = ours, target, optimize, work
        self.checks = 0

    def oracle(self, verb, jobs):
        manifest = os.path.join(self.work, f"{verb}.json")
        results = os.path.join(self.work, f"{verb}.results.json")
        with open(manifest, "w") as f:
            json.dump({"jobs": jobs}, f)
        subprocess.run(
            ["node", ORACLE, "--target", self.target, verb, "--manifest", manifest,
             "--results", results],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
        )
        with open(results) as f:
            return json.load(f)["results"]

    def outcomes(self, sources, names=None):
        """For each source: ("EQUAL", None), ("DIFF", the oracle's first difference) where
        the behaviour judge finds the same behaviour, ("BEHAVIOUR", the judge's finding)
        where it does not,
        ("ONLY-REF", None) where only CPython compiles it, ("ONLY-OURS", None) or
        ("BOTH-REJECT", None). Sources are written to the work directory, as NAME.py when
        names are given (so that they can be inspected) and as c<i>.py otherwise."""
        self.checks += 1
        jobs, pairs = [], []
        for i, text in enumerate(sources):
            src = os.path.join(self.work, f"{names[i] if names else f'c{i}'}.py")
            with open(src, "w", encoding="utf-8") as f:
                f.write(text)
            ours, ref = src + ".ours.pyc", src + ".ref.pyc"
            for p in (ours, ref):
                if os.path.exists(p):
                    os.remove(p)
            subprocess.run(
                [self.ours, "--src", src, "--src_name", "m.py", "--pyc", ours,
                 "--optimize", str(self.optimize), "--invalidation_mode", "checked_hash",
                 "--python_version", self.target],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
            )
            jobs.append({"src": src, "dfile": "m.py", "pyc": ref, "optimize": self.optimize,
                         "invalidation_mode": "checked_hash"})
            pairs.append((ours, ref))
        compiled = self.oracle("compile", jobs)
        ours_ok = [os.path.exists(ours) for ours, _ in pairs]
        index = [i for i, res in enumerate(compiled) if res.get("ok") and ours_ok[i]]
        out = [("ONLY-REF", None) if res.get("ok") else
               ("ONLY-OURS", None) if ours_ok[i] else ("BOTH-REJECT", None)
               for i, res in enumerate(compiled)]
        if index:
            cmp = self.oracle("compare", [{"ours": pairs[i][0], "reference": pairs[i][1]}
                                          for i in index])
            for i, c in zip(index, cmp):
                if c.get("equal_objects"):
                    out[i] = ("EQUAL", None)
                elif c.get("same_behaviour"):
                    out[i] = ("DIFF", c.get("diff") or "differs")
                else:
                    out[i] = ("BEHAVIOUR", c.get("behaviour") or "differs")
        return out

    def diffs(self, sources):
        """The oracle's first difference for each source, or None where equal or where
        CPython rejects it or we fail on it."""
        return [diff for _, diff in self.outcomes(sources)]


def statements(source):
    tree = ast.parse(source)
    parts = []
    for node in tree.body:
        text = ast.get_source_segment(source, node)
        decorators = getattr(node, "decorator_list", None)
        if decorators:
            text = "\n".join("@" + ast.unparse(d) for d in decorators) + "\n" + text
        try:
            compile(text, "part", "exec")
        except SyntaxError:
            continue
        parts.append(text + "\n")
    return parts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--optimize", type=int, default=0)
    ap.add_argument("--max-checks", type=int, default=200)
    ap.add_argument("file")
    args = ap.parse_args()
    with open(args.file, encoding="utf-8") as f:
        source = f.read()
    with tempfile.TemporaryDirectory(prefix="minimize-") as work:
        checker = Checker(os.path.abspath(args.ours), args.target, args.optimize, work)
        whole = checker.diffs([source])[0]
        if whole is None:
            sys.exit(f"minimize.py: {args.file} does not differ for {args.target}")
        parts = statements(source)
        found = [(len(p), p, d) for p, d in zip(parts, checker.diffs(parts)) if d]
        best = min(found)[1] if found else source
        print(f"minimize.py: {len(found)} of {len(parts)} top-level statements differ alone",
              file=sys.stderr)

        def differs(candidate):
            if checker.checks >= args.max_checks:
                return False
            return checker.diffs([candidate])[0] is not None

        import pysource_minimize

        try:
            small = pysource_minimize.minimize(best, differs)
        except ValueError as err:
            # pysource-minimize checks the unparsed tree first; a difference that depends
            # on the source's own layout (line numbers) can vanish there.
            print(f"minimize.py: pysource-minimize refused ({err}); the statement:",
                  file=sys.stderr)
            small = best
        print(small)
        print(f"# {args.target} -O{args.optimize}: {checker.diffs([small])[0]}")
        print(f"minimize.py: {checker.checks} oracle checks", file=sys.stderr)


if __name__ == "__main__":
    main()
