"""Python half of the CPython oracle; oracle.mjs runs this inside pyodide.

Every entry point takes one JSON string and returns one JSON string, so the
JavaScript side never has to handle Python objects. See oracle.mjs for the CLI.
"""

import builtins
import dis
import importlib.util
import io
import json
import marshal
import os
import py_compile
import sys
import traceback
import types
import zipfile

_MODES = {
    "checked_hash": py_compile.PycInvalidationMode.CHECKED_HASH,
    "unchecked_hash": py_compile.PycInvalidationMode.UNCHECKED_HASH,
    "timestamp": py_compile.PycInvalidationMode.TIMESTAMP,
}

# Compared in this order; the first difference wins.
_CODE_ATTRS = (
    "co_name",
    "co_qualname",
    "co_filename",
    "co_firstlineno",
    "co_argcount",
    "co_posonlyargcount",
    "co_kwonlyargcount",
    "co_nlocals",
    "co_stacksize",
    "co_flags",
    "co_varnames",
    "co_cellvars",
    "co_freevars",
    "co_names",
    "co_consts",
    "co_code",
    "co_linetable",
    "co_exceptiontable",
)

_MISSING = object()


def info(_arg="{}"):
    return json.dumps(
        {
            "version": sys.version.split()[0],
            "hexversion": sys.hexversion,
            "magic": importlib.util.MAGIC_NUMBER.hex(),
            "hash_seed": os.environ.get("PYTHONHASHSEED"),
            "hash_randomization": sys.flags.hash_randomization,
            "maxsize": sys.maxsize,
        }
    )


def setcwd(arg):
    os.chdir(json.loads(arg))
    return "null"


# ---------------------------------------------------------------- corpus


def corpus(arg):
    req = json.loads(arg)
    out = req["out"]
    count = 0
    with zipfile.ZipFile(req["zip"]) as zf:
        for name in zf.namelist():
            if not name.endswith(".py"):
                continue
            parts = name.split("/")
            if name.startswith("/") or ".." in parts:
                raise ValueError(f"refusing odd zip member name {name!r}")
            dest = os.path.join(out, *parts)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "wb") as fh:
                fh.write(zf.read(name))
            count += 1
    return json.dumps({"count": count})


# ---------------------------------------------------------------- compile


def compile_one(arg):
    job = json.loads(arg)
    mode = job.get("invalidation_mode", "checked_hash")
    if mode not in _MODES:
        return json.dumps({"ok": False, "exception": "ValueError",
                           "error": f"unknown invalidation_mode {mode!r}"})
    try:
        py_compile.compile(
            job["src"],
            cfile=job["pyc"],
            dfile=job.get("dfile"),
            doraise=True,
            optimize=int(job.get("optimize", -1)),
            invalidation_mode=_MODES[mode],
        )
    except py_compile.PyCompileError as exc:
        return json.dumps({"ok": False, "exception": "PyCompileError",
                           "exc_type": exc.exc_type_name, "error": str(exc)})
    except Exception as exc:  # e.g. OSError: raised outside py_compile's own handler
        return json.dumps({"ok": False, "exception": type(exc).__name__,
                           "error": str(exc)})
    return json.dumps({"ok": True})


# ---------------------------------------------------------------- tokens


def _syntax_error_fields(exc):
    return {"type": type(exc).__name__, "msg": exc.msg, "lineno": exc.lineno,
            "offset": exc.offset, "end_lineno": getattr(exc, "end_lineno", None),
            "end_offset": getattr(exc, "end_offset", None)}


def tokens_one(arg):
    """The token stream CPython's parser pulls from its C tokenizer, for one file.

    `_tokenize.TokenizerIter(readline, extra_tokens=False)` runs the C tokenizer as the
    parser does (no COMMENT/NL, exact operator types, the parser-mode checks); columns are
    characters, -1 where CPython's token has none (INDENT, DEDENT, ENDMARKER). The text is
    the UTF-8 file with a BOM dropped and newlines translated, as the string path of
    compile() sees it. Also records compile()'s SyntaxError, whose locations are the
    parser's view of a tokenizer error (TokenizerIter words a few of them differently), for
    the files the tokenizer rejects (null otherwise).
    Result: {"tokens": "NAME sl sc el ec\\n...", "error": null | {...}, "compile_error": ...}.
    """
    import _tokenize
    import token as token_module
    job = json.loads(arg)
    with open(job["src"], "rb") as fh:
        raw = fh.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return json.dumps({"undecodable": str(exc)})
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = []
    error = None
    try:
        it = _tokenize.TokenizerIter(io.StringIO(text).readline, extra_tokens=False)
        for tok in it:
            kind, _string, (sl, sc), (el, ec) = tok[0], tok[1], tok[2], tok[3]
            lines.append(f"{token_module.tok_name[kind]} {sl} {sc} {el} {ec}")
    except SyntaxError as exc:
        error = _syntax_error_fields(exc)
    except Exception as exc:  # not a tokenizer error: report it as such
        error = {"type": type(exc).__name__, "msg": str(exc)}
    compile_error = None
    if error is not None:  # only then is compile()'s view of it needed (and it is slow)
        try:
            compile(raw, job["src"], "exec", dont_inherit=True)
        except SyntaxError as exc:
            compile_error = _syntax_error_fields(exc)
        except Exception as exc:
            compile_error = {"type": type(exc).__name__, "msg": str(exc)}
    return json.dumps({"tokens": "\n".join(lines), "error": error,
                       "compile_error": compile_error})


# ---------------------------------------------------------------- compare


def _short(obj, limit=90):
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _join(path, attr):
    return f"{path}.{attr}" if path else attr


def _canon(obj):
    """A hashable, type-exact key for set-element comparison."""
    kind = type(obj)
    if kind is tuple:
        return ("tuple", tuple(_canon(x) for x in obj))
    if kind is frozenset:
        return ("frozenset", frozenset(_canon(x) for x in obj))
    if kind is types.CodeType:
        return ("code", id(obj))
    return (kind.__name__, repr(obj))


def _bytes_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"differ at byte {i} ({x:#04x} != {y:#04x}; len {len(a)} vs {len(b)})"
    return f"length {len(a)} != {len(b)} (common prefix equal)"


def _cmp(a, b, path):
    """None when equal, else a one-line description of the first difference."""
    ta, tb = type(a), type(b)
    if ta is not tb:
        return f"{path or '<top>'}: {ta.__name__} {_short(a)} != {tb.__name__} {_short(b)}"
    if ta is types.CodeType:
        return _cmp_code(a, b, path)
    if ta is tuple:
        for i, (x, y) in enumerate(zip(a, b)):
            diff = _cmp(x, y, f"{path}[{i}]")
            if diff:
                return diff
        if len(a) != len(b):
            return f"{path}: tuple of {len(a)} != tuple of {len(b)} ({_short(a)} != {_short(b)})"
        return None
    if ta is frozenset or ta is set:
        ka = {_canon(x): x for x in a}
        kb = {_canon(x): x for x in b}
        if ka.keys() == kb.keys():
            return None
        only_a = [ka[k] for k in ka.keys() - kb.keys()]
        only_b = [kb[k] for k in kb.keys() - ka.keys()]
        return f"{path}: {ta.__name__} differs: only ours {_short(only_a)}, only reference {_short(only_b)}"
    if ta is slice:
        for part in ("start", "stop", "step"):
            diff = _cmp(getattr(a, part), getattr(b, part), f"{path}.{part}")
            if diff:
                return diff
        return None
    if ta is float or ta is complex:
        equal = repr(a) == repr(b)
    elif ta is bytes and a != b:
        return f"{path}: bytes {_bytes_diff(a, b)}: {_short(a, 60)} != {_short(b, 60)}"
    else:
        equal = a == b
    return None if equal else f"{path}: {_short(a)} != {_short(b)}"


def _cmp_code(a, b, path):
    for attr in _CODE_ATTRS:
        va = getattr(a, attr, _MISSING)
        vb = getattr(b, attr, _MISSING)
        if va is _MISSING and vb is _MISSING:
            continue
        diff = _cmp(va, vb, _join(path, attr))
        if diff:
            return diff
    return None


# ---------------------------------------------------------------- behaviour
#
# Issue 16 asks for no *behaviour-changing* difference: two code objects may differ in
# line numbers, NOP placement, block order, jump threading or copied exit blocks and still
# do the same thing. `_behaviour` decides that by walking both instruction graphs side by
# side from their entries (a bisimulation): markers (NOP, NOT_TAKEN, EXTENDED_ARG) and
# unconditional jumps are followed, not compared; every other instruction must match in
# operation, operand (names and constants by value, nested code objects recursively) and
# exception handler (depth, lasti, and a handler that is again the same code); a
# conditional jump may be inverted. Locations (co_firstlineno, co_linetable) are not
# behaviour; co_consts counts only through the instructions that load them.

_MARKERS = {"NOP", "NOT_TAKEN", "EXTENDED_ARG", "CACHE"}
_UNCONDITIONAL = {"JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT"}
# A conditional jump: (what it tests, whether it jumps when the test holds).
_CONDITIONAL = {"POP_JUMP_IF_FALSE": ("true", False), "POP_JUMP_IF_TRUE": ("true", True),
                "POP_JUMP_IF_NONE": ("none", True), "POP_JUMP_IF_NOT_NONE": ("none", False)}
_NO_FALLTHROUGH = {"RETURN_VALUE", "RETURN_CONST", "RAISE_VARARGS", "RERAISE"}
# Superinstructions, compared as the two instructions they fuse (3.13+).
_FUSED = {"LOAD_FAST_LOAD_FAST": ("LOAD_FAST", "LOAD_FAST"),
          "LOAD_FAST_BORROW_LOAD_FAST_BORROW": ("LOAD_FAST_BORROW", "LOAD_FAST_BORROW"),
          "STORE_FAST_LOAD_FAST": ("STORE_FAST", "LOAD_FAST"),
          "STORE_FAST_STORE_FAST": ("STORE_FAST", "STORE_FAST")}
_BEHAVIOUR_ATTRS = ("co_argcount", "co_posonlyargcount", "co_kwonlyargcount", "co_flags",
                    "co_varnames", "co_cellvars", "co_freevars", "co_name", "co_qualname")
_BEHAVIOUR_STATES = 200_000
_JUMPS = set(getattr(dis, "hasjump", ())) or set(dis.hasjrel) | set(dis.hasjabs)


class _Flow:
    """One code object's instructions as (offset, name, operand, jump target, handler)."""

    def __init__(self, code):
        handlers = [(e.start, e.end, (e.target, e.depth, e.lasti))
                    for e in dis._parse_exception_table(code)]
        self.steps = []
        self.index = {}
        for ins in dis.get_instructions(code):
            handler = next((h for start, end, h in handlers if start <= ins.offset < end), None)
            target = ins.argval if ins.opcode in _JUMPS else None
            if ins.opname in _FUSED:
                first, second = _FUSED[ins.opname]
                parts = [(first, ("name", ins.argval[0])), (second, ("name", ins.argval[1]))]
            else:
                parts = [(ins.opname, _operand(ins))]
            self.index[ins.offset] = len(self.steps)
            for name, operand in parts:
                self.steps.append((ins.offset, name, operand, target, handler))

    def resolve(self, k):
        """The first step at or after k that does something; "end" or "loop" otherwise."""
        seen = set()
        while k < len(self.steps):
            _, name, _, target, _ = self.steps[k]
            if name in _MARKERS:
                k += 1
            elif name in _UNCONDITIONAL:
                if k in seen:
                    return "loop"
                seen.add(k)
                k = self.index[target]
            else:
                return k
        return "end"


def _operand(ins):
    if ins.opcode in _JUMPS:
        return None
    if ins.opcode in dis.hasconst:
        return ("const", ins.argval)
    if ins.opcode in dis.hasname or ins.opcode in getattr(dis, "haslocal", ()) or \
            ins.opcode in dis.hasfree:
        return ("name", ins.argrepr)
    return ("arg", ins.arg, ins.argrepr)


def _same_operand(a, b, path):
    if a is None or b is None or a[0] != "const" or b[0] != "const":
        return None if a == b else f"{path}: operand {_short(a)} != {_short(b)}"
    x, y = a[1], b[1]
    if type(x) is types.CodeType and type(y) is types.CodeType:
        return _behaviour(x, y, f"{path} <code {x.co_qualname}>")
    return _cmp(x, y, path)


def _same_step(a, b):
    """Same operation; a plain load where CPython borrows the reference is as safe."""
    return a == b or (b.endswith("_BORROW") and a == b[:-len("_BORROW")])


def _docstring(code):
    if sys.version_info >= (3, 14):
        return code.co_consts[0] if code.co_flags & 0x4000000 else None
    first = code.co_consts[0] if code.co_consts else None
    return first if isinstance(first, str) else None


def _behaviour(a, b, path=""):
    """None when code objects a (ours) and b (CPython's) behave the same, else why not."""
    for attr in _BEHAVIOUR_ATTRS:
        diff = _cmp(getattr(a, attr), getattr(b, attr), _join(path, attr))
        if diff:
            return diff
    diff = _cmp(_docstring(a), _docstring(b), _join(path, "docstring"))
    if diff:
        return diff
    if a.co_stacksize < b.co_stacksize:
        return f"{_join(path, 'co_stacksize')}: {a.co_stacksize} < {b.co_stacksize}"
    fa, fb = _Flow(a), _Flow(b)
    where = _join(path, "co_code")
    work = [(fa.resolve(0), fb.resolve(0))]
    seen = set()
    while work:
        ka, kb = work.pop()
        if (ka, kb) in seen:
            continue
        seen.add((ka, kb))
        if len(seen) > _BEHAVIOUR_STATES:
            return f"{where}: more than {_BEHAVIOUR_STATES} instruction pairs, undecided"
        if isinstance(ka, str) or isinstance(kb, str):
            if ka != kb:
                return f"{where}: {_describe_step(fa, ka)} != {_describe_step(fb, kb)}"
            continue
        oa, na, va, ta, ha = fa.steps[ka]
        ob, nb, vb, tb, hb = fb.steps[kb]
        if na in _CONDITIONAL and nb in _CONDITIONAL:
            (test_a, when_a), (test_b, when_b) = _CONDITIONAL[na], _CONDITIONAL[nb]
            if test_a != test_b:
                return f"{where}: {na} at {oa} != {nb} at {ob}"
            jump_a, next_a = fa.resolve(fa.index[ta]), fa.resolve(ka + 1)
            jump_b, next_b = fb.resolve(fb.index[tb]), fb.resolve(kb + 1)
            holds_a, fails_a = (jump_a, next_a) if when_a else (next_a, jump_a)
            holds_b, fails_b = (jump_b, next_b) if when_b else (next_b, jump_b)
            successors = [(holds_a, holds_b), (fails_a, fails_b)]
        elif not _same_step(na, nb):
            return f"{where}: {na} at {oa} != {nb} at {ob}"
        else:
            diff = _same_operand(va, vb, f"{where}: {na} at {oa}")
            if diff:
                return diff
            successors = []
            if na not in _NO_FALLTHROUGH:
                successors.append((fa.resolve(ka + 1), fb.resolve(kb + 1)))
            if ta is not None:
                successors.append((fa.resolve(fa.index[ta]), fb.resolve(fb.index[tb])))
        if (ha is None) != (hb is None) or (ha and ha[1:] != hb[1:]):
            return (f"{where}: {na} at {oa} handled by {_short(ha)} != {nb} at {ob} "
                    f"handled by {_short(hb)}")
        if ha:
            successors.append((fa.resolve(fa.index[ha[0]]), fb.resolve(fb.index[hb[0]])))
        work.extend(successors)
    return None


def _describe_step(flow, k):
    return k if isinstance(k, str) else f"{flow.steps[k][1]} at {flow.steps[k][0]}"


def _contains_frozenset(obj):
    if type(obj) is frozenset:
        return True
    if type(obj) is tuple:
        return any(_contains_frozenset(x) for x in obj)
    if type(obj) is types.CodeType:
        return any(_contains_frozenset(x) for x in obj.co_consts)
    return False


def _describe_header(h):
    if len(h) < 16:
        return f"short header {h.hex()}"
    flags = int.from_bytes(h[4:8], "little")
    if flags & 1:
        tail = f"hash {h[8:16].hex()}"
    else:
        tail = f"mtime {int.from_bytes(h[8:12], 'little')} size {int.from_bytes(h[12:16], 'little')}"
    return f"magic {h[:4].hex()} flags {flags} {tail}"


# A walker over marshal data, used only to point at the first byte-level
# difference when the loaded objects are equal (FLAG_REF, string kinds, ...).

_CODE_INT_FIELDS = ("co_argcount", "co_posonlyargcount", "co_kwonlyargcount",
                    "co_stacksize", "co_flags")
_CODE_OBJ_FIELDS = ("co_code", "co_consts", "co_names", "co_localsplusnames",
                    "co_localspluskinds", "co_filename", "co_name", "co_qualname")
_CODE_TAIL_FIELDS = ("co_linetable", "co_exceptiontable")


class _Walker:
    def __init__(self, data):
        self.data = data
        self.pos = 0
        self.nrefs = 0
        self.tokens = []  # (offset, path, description)

    def u8(self):
        value = self.data[self.pos]
        self.pos += 1
        return value

    def i32(self):
        if self.pos + 4 > len(self.data):
            raise ValueError("truncated")
        value = int.from_bytes(self.data[self.pos:self.pos + 4], "little", signed=True)
        self.pos += 4
        return value

    def raw(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("truncated")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def obj(self, path):
        start = self.pos
        byte = self.u8()
        code = chr(byte & 0x7F)
        tag = code
        if byte & 0x80:
            tag += f"+ref#{self.nrefs}"
            self.nrefs += 1
        tok = [start, path, tag]
        self.tokens.append(tok)
        if code in "0NFT.S":
            return
        if code == "i":
            tok[2] += f" {self.i32()}"
        elif code == "l":
            n = self.i32()
            tok[2] += f" {self.raw(2 * abs(n)).hex()} n={n}"
        elif code == "g":
            tok[2] += f" {self.raw(8).hex()}"
        elif code == "y":
            tok[2] += f" {self.raw(16).hex()}"
        elif code in "sauAt":
            tok[2] += f" {_short(self.raw(self.i32()), 50)}"
        elif code in "zZ":
            tok[2] += f" {_short(self.raw(self.u8()), 50)}"
        elif code == "r":
            tok[2] += f" {self.i32()}"
        elif code in ")([<>":
            n = self.u8() if code == ")" else self.i32()
            tok[2] += f" len={n}"
            for i in range(n):
                self.obj(f"{path}[{i}]")
        elif code == ":":
            for part in ("start", "stop", "step"):
                self.obj(f"{path}.{part}")
        elif code == "c":
            ints = [self.i32() for _ in _CODE_INT_FIELDS]
            tok[2] += " " + " ".join(f"{n[3:]}={v}" for n, v in zip(_CODE_INT_FIELDS, ints))
            for field in _CODE_OBJ_FIELDS:
                self.obj(_join(path, field))
            first = self.i32()
            self.tokens.append([self.pos - 4, _join(path, "co_firstlineno"), f"int {first}"])
            for field in _CODE_TAIL_FIELDS:
                self.obj(_join(path, field))
        else:
            raise ValueError(f"unknown marshal type {code!r} at offset {start}")


def _marshal_diff(ours, ref):
    """First differing marshal token between the two bodies (offsets in the pyc)."""
    walked = []
    for data in (ours, ref):
        walker = _Walker(data)
        try:
            walker.obj("")
        except Exception as exc:  # a walker failure must not hide the comparison
            walker.tokens.append([walker.pos, "?", f"walker stopped: {exc}"])
        walked.append(walker.tokens)
    ta, tb = walked
    for x, y in zip(ta, tb):
        if x[1:] != y[1:]:
            where = x[1] or "<module>"
            if x[1] != y[1]:
                where = f"{x[1] or '<module>'} vs {y[1] or '<module>'}"
            return (f"marshal: first difference at {where} (offset {x[0] + 16:#x} / {y[0] + 16:#x}): "
                    f"ours {x[2]} != reference {y[2]}")
    if len(ta) != len(tb):
        return f"marshal: {len(ta)} tokens != {len(tb)} tokens"
    return None


# Byte identity up to the order of frozenset elements, to tell an ordering
# difference from a content one. (CPython's marshal does not write a set in its
# hash order: it writes the elements sorted by their own standalone marshal
# bytes, so the order does not depend on hashing or word size.) The marshal
# stream is read into a graph (back-references resolved to the node they name),
# each frozenset's elements are sorted by their canonical bytes, and the graph is
# written again, numbering references in the new order of first appearance.


class _Node:
    __slots__ = ("code", "flag", "parts")

    def __init__(self, code, flag):
        self.code = code
        self.flag = flag
        self.parts = []  # raw bytes and child _Nodes, in stream order


class _GraphReader:
    def __init__(self, data):
        self.data = data
        self.pos = 0
        self.refs = []

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("truncated marshal data")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def count(self, raw):
        return int.from_bytes(raw, "little", signed=True)

    def node(self):
        byte = self.take(1)[0]
        code = chr(byte & 0x7F)
        if code == "r":
            return self.refs[self.count(self.take(4))]
        node = _Node(code, bool(byte & 0x80))
        if node.flag:
            self.refs.append(node)
        add = node.parts.append
        if code in "0NFT.S":
            pass
        elif code == "i":
            add(self.take(4))
        elif code == "l":
            raw = self.take(4)
            add(raw + self.take(2 * abs(self.count(raw))))
        elif code == "g":
            add(self.take(8))
        elif code == "y":
            add(self.take(16))
        elif code in "sauAt":
            raw = self.take(4)
            add(raw + self.take(self.count(raw)))
        elif code in "zZ":
            raw = self.take(1)
            add(raw + self.take(raw[0]))
        elif code in ")([<>":
            raw = self.take(1 if code == ")" else 4)
            add(raw)
            for _ in range(raw[0] if code == ")" else self.count(raw)):
                add(self.node())
        elif code == ":":
            for _ in range(3):
                add(self.node())
        elif code == "c":
            add(self.take(4 * len(_CODE_INT_FIELDS)))
            for _ in _CODE_OBJ_FIELDS:
                add(self.node())
            add(self.take(4))
            for _ in _CODE_TAIL_FIELDS:
                add(self.node())
        else:
            raise ValueError(f"unknown marshal type {code!r}")
        return node


def _write_canonical(node, out, seen, keys):
    if node.flag:
        index = seen.get(id(node))
        if index is not None:
            out += b"r" + index.to_bytes(4, "little")
            return
        seen[id(node)] = len(seen)
    out.append(ord(node.code) | (0x80 if node.flag else 0))
    parts = node.parts
    if node.code in "<>":
        children = sorted(parts[1:], key=lambda child: _canonical_key(child, keys))
        parts = parts[:1] + children
    for part in parts:
        if isinstance(part, _Node):
            _write_canonical(part, out, seen, keys)
        else:
            out += part


def _canonical_key(node, keys):
    key = keys.get(id(node))
    if key is None:
        buf = bytearray()
        _write_canonical(node, buf, {}, keys)
        key = keys[id(node)] = bytes(buf)
    return key


def _canonical_body(data):
    root = _GraphReader(data).node()
    out = bytearray()
    _write_canonical(root, out, {}, {})
    return bytes(out)


# Byte identity up to the oracle process's own intern state.
#
# CPython's code-object constructor interns co_qualname (and names) in place.
# When an equal interned string already exists in the process (for example the
# qualname 'finalize._Info' of a class in a module that pyodide imports at
# startup), co_qualname is swapped to that existing object and the equal
# constant in co_consts stays a separate, non-interned object; in a process
# where no such string exists the constant itself becomes interned and
# co_qualname shares it. marshal then writes z/a/u instead of Z/A/t, a second
# full copy instead of a back-reference, and the reference numbers that follow
# shift. Such a pyc depends on what the compiling process had imported, not on
# the source. A pair is `identical_modulo_oracle_intern_state` when
#   * headers are equal and the unmarshalled objects are equal,
#   * the two marshal streams, read as graphs, are identical except at str
#     positions, where only the type code (interned or not), FLAG_REF, and
#     inline-versus-back-reference may differ (reference numbers are compared
#     through the graph, so renumbering is allowed, nothing else is),
#   * wherever interned-ness differs, ours is interned and the reference is not
#     (the only direction a pre-existing interned string can cause), and
#   * every string whose representation differs was already interned in this
#     process before anything was unmarshalled (`intern_prepass`, which runs
#     first: a fresh copy `s2` of the value is probed with sys.intern(s2) is not s2).
# The compare process starts exactly like the compile process (same pyodide,
# this file, setcwd, info), so its startup intern table is the one py_compile
# started from. A string interned only by an earlier compile in the compile
# process would probe as absent here and the pair stays unexplained (fails safe).

_STR_ASCII = {"z": False, "a": False, "Z": True, "A": True}
_STR_UNICODE = {"u": False, "t": True}
_STR_CODES = set(_STR_ASCII) | set(_STR_UNICODE)


class _Backref:
    __slots__ = ("target",)

    def __init__(self, target):
        self.target = target


class _RefGraphReader(_GraphReader):
    """Like _GraphReader, but keeps back-references visible as _Backref."""

    def node(self):
        if self.data[self.pos] & 0x7F == ord("r"):
            self.pos += 1
            index = self.count(self.take(4))
            if not 0 <= index < len(self.refs):
                raise ValueError(f"bad back-reference {index}")
            return _Backref(self.refs[index])
        return _GraphReader.node(self)


def _str_value(node):
    raw = node.parts[0]
    data = raw[1:] if node.code in "zZ" else raw[4:]
    if node.code in _STR_ASCII:
        return ("ascii", data.decode("latin-1"))
    return ("unicode", data.decode("utf-8", "surrogatepass"))


def _str_form(item):
    node = item.target if isinstance(item, _Backref) else item
    interned = _STR_ASCII.get(node.code, _STR_UNICODE.get(node.code))
    if isinstance(item, _Backref):
        form = "backref"
    else:
        form = "inline+ref" if node.flag else "inline"
    return (bool(interned), form)


def _intern_only_diff(ours, ref):
    """(None, positions) when the streams differ only in str representation,
    positions being [(value, path, ours_form, ref_form)]; else (reason, None)."""
    a_root = _RefGraphReader(ours).node()
    b_root = _RefGraphReader(ref).node()
    mapping = {}
    positions = []
    stack = [(a_root, b_root, "")]
    while stack:
        a, b, path = stack.pop()
        na = a.target if isinstance(a, _Backref) else a
        nb = b.target if isinstance(b, _Backref) else b
        a_str, b_str = na.code in _STR_CODES, nb.code in _STR_CODES
        if a_str or b_str:
            if not (a_str and b_str):
                return f"{path or '<top>'}: str vs {na.code if not a_str else nb.code}", None
            va, vb = _str_value(na), _str_value(nb)
            if va != vb:
                return f"{path or '<top>'}: str {va!r} != {vb!r}", None
            fa, fb = _str_form(a), _str_form(b)
            if fa != fb:
                positions.append((va[1], path, fa, fb))
            continue
        if isinstance(a, _Backref) != isinstance(b, _Backref):
            return f"{path or '<top>'}: back-reference on one side only", None
        if isinstance(a, _Backref):
            if mapping.get(id(na)) is not nb:
                return f"{path or '<top>'}: back-references to different objects", None
            continue
        if na.code != nb.code or na.flag != nb.flag or len(na.parts) != len(nb.parts):
            return f"{path or '<top>'}: {na.code}{'+ref' if na.flag else ''} != {nb.code}{'+ref' if nb.flag else ''}", None
        if na.flag:
            mapping[id(na)] = nb
        children = []
        for i, (x, y) in enumerate(zip(na.parts, nb.parts)):
            if isinstance(x, bytes) or isinstance(y, bytes):
                if x != y:
                    return f"{path or '<top>'}: {na.code} payload differs", None
            else:
                children.append((x, y, f"{path}/{na.code}{i}"))
        stack.extend(reversed(children))
    return None, positions


_PREINTERNED = {}  # str value -> bool, probed before anything was unmarshalled
_INTERN_PREPASS = {}  # (ours, reference) -> (reason, positions)
_UNMARSHALLED = False


def _probe_interned(value):
    """Whether an interned string equal to value exists. Probes each value once:
    a probe interns its fresh copy when none existed."""
    if value not in _PREINTERNED:
        if len(value) <= 1:  # '' and one-character latin-1 strings are singletons
            _PREINTERNED[value] = True
        else:
            fresh = "".join(list(value))
            _PREINTERNED[value] = sys.intern(fresh) is not fresh
    return _PREINTERNED[value]


def intern_prepass(arg):
    """Runs before any compare_one: finds pairs that may differ only in string
    representation and probes those strings' intern state. Returns a count."""
    if _UNMARSHALLED:
        raise RuntimeError("intern_prepass must run before anything is unmarshalled")
    pairs = json.loads(arg)
    found = 0
    for pair in pairs:
        with open(pair["ours"], "rb") as fh:
            ours = fh.read()
        with open(pair["reference"], "rb") as fh:
            ref = fh.read()
        if ours == ref or ours[:16] != ref[:16]:
            continue
        try:
            reason, positions = _intern_only_diff(ours[16:], ref[16:])
        except Exception as exc:  # malformed stream: compare_one reports it
            reason, positions = f"marshal graph: {type(exc).__name__}: {exc}", None
        if positions:
            for value, *_ in positions:
                _probe_interned(value)
            found += 1
        _INTERN_PREPASS[(pair["ours"], pair["reference"])] = (reason, positions)
    return json.dumps({"candidates": found})


def _classify_intern_state(pair):
    """(explained, detail) for a pair whose objects are equal but bytes differ."""
    key = (pair["ours"], pair["reference"])
    if key not in _INTERN_PREPASS:
        return False, {"reason": "no intern prepass for this pair (oracle restarted?)"}
    reason, positions = _INTERN_PREPASS[key]
    if reason is not None:
        return False, {"reason": reason}
    if not positions:
        return False, {"reason": "no string representation differs"}
    strings = sorted({p[0] for p in positions})
    detail = {"strings": strings, "positions": len(positions)}
    for value, path, (a_interned, a_form), (b_interned, b_form) in positions:
        if a_interned != b_interned and not (a_interned and not b_interned):
            detail["reason"] = (f"{value!r} at {path}: reference interned, ours not "
                                "(not explained by oracle intern state)")
            return False, detail
    absent = [s for s in strings if not _PREINTERNED.get(s, False)]
    if absent:
        detail["reason"] = f"not interned in the oracle before compiling: {_short(absent)}"
        return False, detail
    return True, detail


def compare_one(arg):
    pair = json.loads(arg)
    with open(pair["ours"], "rb") as fh:
        ours = fh.read()
    with open(pair["reference"], "rb") as fh:
        ref = fh.read()
    result = {
        "identical_bytes": ours == ref,
        "equal_headers": ours[:16] == ref[:16],
        "equal_objects": False,
        "has_frozenset": False,
        "identical_modulo_frozenset_order": ours == ref,
        "identical_modulo_oracle_intern_state": ours == ref,
        "intern_state": None,
        "diff": None,
        "same_behaviour": False,
        "behaviour": None,
    }
    notes = []
    if not result["equal_headers"]:
        notes.append(f"header: ours {_describe_header(ours[:16])} != reference {_describe_header(ref[:16])}")
    global _UNMARSHALLED
    _UNMARSHALLED = True
    try:
        ref_code = marshal.loads(ref[16:])
    except Exception as exc:
        result["diff"] = f"reference does not unmarshal: {exc}"
        return json.dumps(result)
    result["has_frozenset"] = _contains_frozenset(ref_code)
    try:
        our_code = marshal.loads(ours[16:])
    except Exception as exc:
        notes.append(f"ours does not unmarshal: {type(exc).__name__}: {exc}")
        result["diff"] = "; ".join(notes)
        return json.dumps(result)
    diff = _cmp(our_code, ref_code, "")
    result["equal_objects"] = diff is None
    try:
        result["behaviour"] = None if diff is None else _behaviour(our_code, ref_code)
    except Exception as exc:  # an unforeseen instruction form: undecided, so not the same
        result["behaviour"] = f"behaviour judge failed: {type(exc).__name__}: {exc}"
    result["same_behaviour"] = result["behaviour"] is None
    if diff:
        notes.append(diff)
    elif not result["identical_bytes"] and ours[16:] != ref[16:]:
        mdiff = _marshal_diff(ours[16:], ref[16:])
        notes.append(mdiff or f"body bytes {_bytes_diff(ours[16:], ref[16:])}")
        if result["equal_headers"]:
            explained, detail = _classify_intern_state(pair)
            result["identical_modulo_oracle_intern_state"] = explained
            result["intern_state"] = detail
            if explained:
                notes.append("only the interning of strings already interned in the oracle "
                             f"process differs: {_short(detail['strings'])}")
        if result["has_frozenset"] and result["equal_headers"]:
            try:
                same = _canonical_body(ours[16:]) == _canonical_body(ref[16:])
            except Exception as exc:
                notes.append(f"canonical form failed: {exc}")
                same = False
            result["identical_modulo_frozenset_order"] = same
            if same:
                notes.append("only the order of frozenset elements differs")
    result["diff"] = "; ".join(notes) if notes else None
    return json.dumps(result)


# ---------------------------------------------------------------- run


def run_pyc(arg):
    req = json.loads(arg)
    path = req["pyc"]
    with open(path, "rb") as fh:
        data = fh.read()
    out, err = io.StringIO(), io.StringIO()
    status = 0
    if data[:4] != importlib.util.MAGIC_NUMBER:
        err.write(f"bad magic {data[:4].hex()} (this CPython expects "
                  f"{importlib.util.MAGIC_NUMBER.hex()})\n")
        return json.dumps({"status": 2, "stdout": "", "stderr": err.getvalue()})
    code = marshal.loads(data[16:])
    module = {"__name__": "__main__", "__file__": path, "__builtins__": builtins}
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        exec(code, module)
    except SystemExit as exc:
        if exc.code is None:
            status = 0
        elif isinstance(exc.code, int):
            status = exc.code
        else:
            err.write(f"{exc.code}\n")
            status = 1
    except BaseException:
        traceback.print_exc(file=err)
        status = 1
    finally:
        sys.stdout, sys.stderr = saved
    return json.dumps({"status": status, "stdout": out.getvalue(), "stderr": err.getvalue()})
