# pycompile-worker's interpreter helper (embedded in the binary, run with `python -c`).
#
# Compiles sources exactly as py_compile.compile(src, cfile, dfile, doraise=True, optimize,
# invalidation_mode) would, but returns the .pyc bytes instead of writing them: the Rust side
# writes the file atomically and only if the request was not cancelled.
#
# Wire (stdin/stdout, every frame is a little-endian u32 length and that many bytes):
#   hello (helper -> worker, once):  UTF-8 JSON describing this interpreter
#   request (worker -> helper):      <QBBIII seq, optimize, mode, mtime, size, len(dfile)>
#                                    dfile (UTF-8), then the raw source bytes
#   reply (helper -> worker):        <QB seq, status> then the .pyc bytes (status 0), the
#                                    str(py_compile.PyCompileError) text (1) or a traceback (2)
# The helper exits when stdin ends. It must run on CPython 3.8 and newer.
import sys

# `-c` puts the working directory first on sys.path; nothing may be imported from there.
if sys.path and sys.path[0] in ("", "."):
    del sys.path[0]

import importlib.util
import json
import linecache
import os
import py_compile
import struct
import traceback
from importlib import _bootstrap_external

REQUEST = struct.Struct("<QBBIII")
REPLY = struct.Struct("<QB")
LENGTH = struct.Struct("<I")
OK, REJECTED, FAILED = 0, 1, 2
TIMESTAMP, CHECKED_HASH, UNCHECKED_HASH = 0, 1, 2


def read_exact(stream, size):
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def send(out, payload):
    out.write(LENGTH.pack(len(payload)))
    out.write(payload)
    out.flush()


def compile_pyc(source, dfile, optimize, mode, mtime, size):
    # py_compile: loader.source_to_code(source_bytes, dfile or file, _optimize=optimize),
    # any exception becoming PyCompileError. source_to_code does not use its loader.
    try:
        code = _bootstrap_external.SourceLoader.source_to_code(
            None, source, dfile, _optimize=optimize
        )
    except Exception as err:
        raise py_compile.PyCompileError(err.__class__, err, dfile)
    if mode == TIMESTAMP:
        return _bootstrap_external._code_to_timestamp_pyc(code, mtime, size)
    source_hash = importlib.util.source_hash(source)
    return _bootstrap_external._code_to_hash_pyc(code, source_hash, mode == CHECKED_HASH)


def serve(requests, out):
    while True:
        head = read_exact(requests, LENGTH.size)
        if head is None:
            return
        payload = read_exact(requests, LENGTH.unpack(head)[0])
        if payload is None:
            return
        seq, optimize, mode, mtime, size, name_len = REQUEST.unpack_from(payload)
        start = REQUEST.size
        dfile = payload[start : start + name_len].decode("utf-8", "surrogateescape")
        source = payload[start + name_len :]
        try:
            status, body = OK, compile_pyc(source, dfile, optimize, mode, mtime, size)
        except py_compile.PyCompileError as err:
            status, body = REJECTED, str(err).encode("utf-8", "backslashreplace")
        except Exception:
            status, body = FAILED, traceback.format_exc().encode("utf-8", "backslashreplace")
        send(out, REPLY.pack(seq, status) + body)
        # Keep nothing from one compile to the next.
        del payload, source, body
        linecache.clearcache()


def main():
    requests = sys.stdin.buffer
    # The protocol gets a private copy of fd 1; fd 1 itself now goes to stderr, so a stray
    # print (or a warning written to stdout) can never corrupt the replies.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    hello = {
        "implementation": sys.implementation.name,
        "major": sys.version_info[0],
        "minor": sys.version_info[1],
        "version": sys.version.split()[0],
        "magic": importlib.util.MAGIC_NUMBER.hex(),
        "executable": sys.executable,
        "pid": os.getpid(),
    }
    send(out, json.dumps(hello).encode("utf-8"))
    serve(requests, out)


main()
