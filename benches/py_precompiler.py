"""The baseline: a CPython precompiler that does what rules_python's default one does.

Written for this benchmark (not a copy of rules_python's precompiler.py): the same command
line, ``py_compile.compile`` per source, and either

* one-shot: ``python3 py_precompiler.py @paramfile`` (one process per action), or
* ``--persistent_worker``: one long-lived process reading JSON WorkRequests from stdin, one
  per line, answering each with a JSON WorkResponse line on stdout. Multiplex requests
  (non-zero ``requestId``) run on a thread pool, so they overlap only where the GIL allows;
  singleplex requests (no id) are compiled inline, one at a time.

Only the standard library is used. The one-shot path imports nothing it does not need, so
its start-up cost is that of a real one-shot precompiler.
"""

import argparse
import py_compile
import sys


def parse_args(argv):
    parser = argparse.ArgumentParser(fromfile_prefix_chars="@")
    parser.add_argument("--invalidation_mode", default="CHECKED_HASH")
    parser.add_argument("--optimize", type=int, default=-1)
    parser.add_argument("--python_version")
    parser.add_argument("--src", action="append", default=[])
    parser.add_argument("--src_name", action="append", default=[])
    parser.add_argument("--pyc", action="append", default=[])
    parser.add_argument("--persistent_worker", action="store_true")
    parser.add_argument("--jobs", type=int, default=0)
    return parser.parse_args(argv)


def compile_all(args):
    """Compiles every --src/--src_name/--pyc triple; returns (exit code, error text)."""
    if not (len(args.src) == len(args.src_name) == len(args.pyc)):
        return 2, "error: --src, --src_name and --pyc must pair up\n"
    mode = py_compile.PycInvalidationMode[args.invalidation_mode.upper()]
    errors = []
    for src, name, pyc in zip(args.src, args.src_name, args.pyc):
        try:
            py_compile.compile(
                src,
                cfile=pyc,
                dfile=name,
                doraise=True,
                optimize=args.optimize,
                invalidation_mode=mode,
            )
        except py_compile.PyCompileError as error:
            errors.append(str(error))
    return (1 if errors else 0), "".join(e + "\n" for e in errors)


def serve(jobs):
    import concurrent.futures
    import json
    import os
    import threading

    out = sys.stdout
    out_lock = threading.Lock()

    def answer(request_id, exit_code, output):
        line = json.dumps({"requestId": request_id, "exitCode": exit_code, "output": output})
        with out_lock:
            out.write(line + "\n")
            out.flush()

    def handle(request):
        request_id = request.get("requestId", 0)
        try:
            code, output = compile_all(parse_args(request.get("arguments", [])))
        except BaseException as error:  # noqa: BLE001 - a worker must always answer
            code, output = 3, f"internal error: {error!r}\n"
        answer(request_id, code, output)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if request.get("cancel"):
            continue
        if request.get("requestId", 0):
            pool.submit(handle, request)
        else:
            handle(request)
    pool.shutdown(wait=True)
    return 0


def main():
    args = parse_args(sys.argv[1:])
    if args.persistent_worker:
        return serve(args.jobs)
    code, output = compile_all(args)
    sys.stderr.write(output)
    return code


if __name__ == "__main__":
    sys.exit(main())
