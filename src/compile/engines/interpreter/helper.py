# pycompile-worker's interpreter helper (embedded in the binary, run with `python -s -B -c`).
#
# It compiles sources exactly as a fresh `python -c "import py_compile;
# py_compile.compile(src, cfile, dfile, doraise=True, optimize=N, invalidation_mode=M)"` would,
# but returns the .pyc bytes over a pipe: the Rust side writes the file atomically and only if
# the request was not cancelled. Runs on CPython 3.8 and newer.
#
# Why the code looks the way it does:
# - Before 3.11, marshal flags a string as shared (FLAG_REF) when its reference count is above
#   one, so an identifier in the compiled source that is *also alive elsewhere in this process*
#   changes the .pyc. This program therefore adds no interned string a plain py_compile process
#   lacks: every name here is one letter (one-character strings are shared singletons anyway),
#   attribute and module names are ones py_compile's own imports already hold, no modules
#   beyond those are imported (no json, no struct), and `site` runs as usual (no -S).
# - Each compile runs in a fork()ed child, so nothing one compile loads (a codec module, a
#   lazily created identifier) can change the next one's bytes, and a crash costs only that
#   compile. The child reads its own request and tells the parent it has taken it; the parent
#   then forks the next child at once, so fork's cost overlaps the compile. Without fork
#   (Windows) compiles run in this process.
# - The compile call sits at module level, at the same Python frame depth as a module-level
#   py_compile.compile call, because CPython derives the compiler's recursion limit from it.
#
# Wire (stdin/stdout), every frame a little-endian u32 length and that many bytes:
#   hello (once, helper -> worker): lines implementation, major, minor, version, magic (hex),
#                                   executable, pid, fork (1 or 0)
#   request (worker -> helper):     seq u64, optimize u8, mode u8 (0 timestamp, 1 checked hash,
#                                   2 unchecked hash), mtime u32, size u32, len(dfile) u32,
#                                   dfile (UTF-8), the raw source bytes
#   reply (helper -> worker):       seq u64, status u8, then the .pyc (status 0), the text of
#                                   str(py_compile.PyCompileError) (1) or of a failure (2)
# The helper exits when stdin ends.
#
# Names: O the reply stream, R read exactly, W write a frame, C compile, F fork?, a/b the
# "taken" pipe, f child pid, P/Q the compiling child's pid and seq, n/p frame, q seq,
# o optimize, m mode, t mtime, z size, k len(dfile), d dfile, s source, r reply,
# e exception, x child exit status, w its wait status.
import sys

# `-c` puts the working directory first on sys.path; nothing may be imported from there.
if sys.path and sys.path[0] in ("", "."):
    del sys.path[0]

import os
import py_compile
import traceback
from importlib import _bootstrap_external as B, util as U

# The protocol gets a private copy of fd 1; fd 1 itself now goes to stderr, so a stray print
# can never corrupt the replies.
O = os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)
F = hasattr(os, "fork")


def R(n):
    # Unbuffered: a child must never read past its own request.
    b = b""
    while len(b) < n:
        c = os.read(0, n - len(b))
        if not c:
            return None
        b += c
    return b


def W(p):
    O.write(len(p).to_bytes(4, "little") + p)
    O.flush()


def C(s, d, o, m, t, z):
    # py_compile.compile: loader.source_to_code(source_bytes, dfile or file, _optimize=optimize)
    # (source_to_code does not use its loader), any exception becoming PyCompileError, then
    # the header from the source's stats or hash.
    try:
        c = B.SourceLoader.source_to_code(None, s, d, _optimize=o)
    except Exception as e:
        raise py_compile.PyCompileError(e.__class__, e, d)
    if m == 0:
        return B._code_to_timestamp_pyc(c, t, z)
    return B._code_to_hash_pyc(c, U.source_hash(s), m == 1)


W(
    (
        "%s\n%d\n%d\n%s\n%s\n%s\n%d\n%d"
        % (
            sys.implementation.name,
            sys.version_info[0],
            sys.version_info[1],
            sys.version.split()[0],
            U.MAGIC_NUMBER.hex(),
            sys.executable,
            os.getpid(),
            F,
        )
    ).encode("utf-8", "surrogateescape")
)

P = 0
while 1:
    if F:
        a, b = os.pipe()
        f = os.fork()
    else:
        f = 0
    if f == 0:
        # The child (or, without fork, this process): one request.
        if F:
            os.close(a)
        n = R(4)
        p = None if n is None else R(int.from_bytes(n, "little"))
        if p is None:
            if F:
                os._exit(0)
            break
        q = p[:8]
        if F:
            try:
                os.write(b, q)
                os.close(b)
            except OSError:
                # The parent is gone: end without compiling, so the worker sees the helper end.
                os._exit(1)
        o = p[8]
        m = p[9]
        t = int.from_bytes(p[10:14], "little")
        z = int.from_bytes(p[14:18], "little")
        k = int.from_bytes(p[18:22], "little")
        d = p[22 : 22 + k].decode("utf-8", "surrogateescape")
        s = p[22 + k :]
        try:
            r = b"\0" + C(s, d, o, m, t, z)
        except py_compile.PyCompileError as e:
            r = b"\1" + str(e).encode("utf-8", "backslashreplace")
        except BaseException:
            r = b"\2" + traceback.format_exc().encode("utf-8", "backslashreplace")
        if not F:
            W(q + r)
            continue
        x = 1
        try:
            W(q + r)
            x = 0
        finally:
            os._exit(x)
    # The parent: the new child waits for the next request while the previous one compiles.
    os.close(b)
    if P:
        w = os.waitpid(P, 0)[1]
        if w:
            W(Q + b"\2" + ("the compiling process ended with wait status %d" % w).encode())
    Q = os.read(a, 8)
    os.close(a)
    if len(Q) < 8:
        # End of input (or a child that died before taking a request).
        os.waitpid(f, 0)
        break
    P = f
