"""Compares our compiler with CPython on a family of generated statement shapes.

The random programs of gen.py find a divergence once; a shape family then enumerates the
neighbourhood of its minimized repro (what follows it, where it is nested), so a patch
can be measured on the whole class and shown to make nothing worse. Each family is a
product of small source fragments; every shape is written under target/generated/shapes/
and compiled by the given binary and by the oracle (tests/oracle, CPython's py_compile)
through minimize.py's Checker.

Prints one line per shape (EQUAL, DIFF with the oracle's first difference, BEHAVIOUR with
the behaviour judge's finding, ONLY-OURS, ONLY-REF or BOTH-REJECT) and a last line with the
count of equal and of behaviour-changing shapes.

Usage: python3 tests/generated/shapes.py --family NAME --ours BIN --target 3.14 [--optimize 0]
"""

import argparse
import itertools
import os
import shutil
import sys

from minimize import ROOT, Checker


def indent(lines, prefix):
    return "".join(prefix + line + "\n" for line in lines)


def nest(lines):
    """The lines one block deeper, as a list to splice into a suite."""
    return ["    " + line for line in lines]


def in_function(lines, name="g"):
    """The lines as the body of a function without parameters."""
    return f"def {name}():\n" + indent(lines, "    ")


def module_and_function(name, lines):
    """The shape `name` as a module's statements and as a function's body."""
    yield name + "__mod", indent(lines, "")
    yield name + "__func", in_function(lines)


# Enclosing statements for `wrapped`: a suffix, the header line, the lines after the suite.
LOOP = ("loop", "while w:", [])
FOR = ("for", "for v in w:", [])
WHILE = ("while", "while w:", [])
TRY = ("try", "try:", ["except E:", "    pass"])
WITH = ("with", "with m:", [])


def wrapped(name, lines, *enclosing):
    """The shape `name` as the suite of each enclosing statement (LOOP, FOR, ...)."""
    for suffix, header, after in enclosing:
        yield f"{name}__{suffix}", indent([header] + nest(lines) + after, "")


def chained_compare_tails():
    """A chained comparison statement, then `pass`, constants, names, attributes or
    assignments and an exit (vendor/serc/PATCHES.md, chained-compare-discard-pass-exit-314,
    small-exit-value-records-314)."""
    tails = {
        "p_r": ["pass", "raise"], "p_rx": ["pass", "raise x"], "pp_r": ["pass", "pass", "raise"],
        "ppp_r": ["pass", "pass", "pass", "raise"], "p_rxy": ["pass", "raise x from y"],
        "x_r": ["x", "raise"], "p_x_r": ["pass", "x", "raise"], "x_p_r": ["x", "pass", "raise"],
        "p_ret": ["pass", "return"], "p_retx": ["pass", "return x"],
        "pp_ret": ["pass", "pass", "return"], "p_ret1": ["pass", "return 1"], "p": ["pass"],
        "pp": ["pass", "pass"], "ppp": ["pass", "pass", "pass"], "none": [], "r": ["raise"],
        "ret": ["return"], "p_rx_more": ["pass", "raise x", "y = 1"],
        "p_c_r": ["pass", "0", "raise"], "c_r": ["0", "raise"],
        "rlam": ["raise lambda: d"], "rlamd": ["raise lambda e=1: d"],
        "rattr": ["raise x.y"], "rattr2": ["raise x.y.z.w"], "attr_r": ["x.y", "raise"],
        "st_r": ["x = 1", "raise"], "stv_r": ["x = y", "raise"], "st_p_r": ["x = 1", "pass", "raise"],
        "walrus_r": ["raise (x := y)"],
    }
    heads = {"cmp": "a == b >= c", "cmpk": "0 < 1 < 2"}
    for tail_name, tail in tails.items():
        returns = any(line.startswith("return") for line in tail)
        for head_name, head in heads.items():
            lines = [head] + tail
            contexts = {
                "func": in_function(lines, "f"),
                "funcif": "def f():\n    if z:\n" + indent(lines, "        ") + "    w = 2\n",
            }
            if not returns:
                contexts["mod"] = indent(lines, "")
                contexts["if"] = "if z:\n" + indent(lines, "    ") + "w = 2\n"
            for context, source in contexts.items():
                yield f"{tail_name}__{head_name}__{context}", source


def try_star_else_nesting():
    """A try/except* with or without `else:` ending an outer try's suites
    (vendor/serc/PATCHES.md, try-star-else-terminal-return)."""
    bodies = {"pass": ["pass"], "name": ["x"]}
    handlers = {"one": ["except* 0:", "    pass"],
                "two": ["except* 0:", "    pass", "except* 1:", "    pass"]}
    elses = {"none": [], "pass": ["else:", "    pass"], "store": ["else:", "    y = 1"]}
    for body_name, body in bodies.items():
        for handler_name, handler in handlers.items():
            for else_name, orelse in elses.items():
                inner = ["try:"] + nest(body) + handler + orelse
                outers = {
                    "else": ["try:", "    pass", "except:", "    pass", "else:"],
                    "body": ["try:"],
                    "if": ["if z:"],
                }
                for outer_name, outer in outers.items():
                    lines = outer + nest(inner)
                    if outer_name == "body":
                        lines += ["except:", "    pass"]
                    name = f"{body_name}__{handler_name}__{else_name}__{outer_name}"
                    yield name + "__mod", indent(lines, "")
                    yield name + "__func", in_function(lines, "f")


def match_pass_case_if_else():
    """An `if`/`else:` whose body ends in a `match`, then what follows the `if`
    (vendor/serc/PATCHES.md, match-pass-case-failure-join-line-314)."""
    cases = {
        "val": ["case 0:", "    pass"], "two": ["case 0:", "    y", "case 1:", "    pass"],
        "none": ["case None:", "    pass"], "guard": ["case 0 if g:", "    pass"],
        "seq": ["case [a]:", "    pass"], "wild": ["case 0:", "    y", "case _:", "    pass"],
        "or": ["case 0 | 1:", "    pass"],
    }
    follows = {"x": ["x"], "c": ["0"], "p": ["pass"], "none": [], "xy": ["x", "y"],
               "r": ["raise"], "xr": ["x", "raise"]}
    subjects = {"k": "0", "n": "s"}
    for case_name, case in cases.items():
        for follow_name, follow in follows.items():
            for subject_name, subject in subjects.items():
                lines = (["if t:", f"    match {subject}:"] + nest(nest(case))
                         + ["else:", "    u"] + follow)
                name = f"{case_name}__{follow_name}__{subject_name}"
                yield name + "__mod", indent(lines, "")
                tail = ["return w"] if follow_name == "none" else []
                yield name + "__func", in_function(lines + tail, "f")


def finally_small_exit_prefix():
    """A try with handlers whose `finally:` body is a short prefix then a `raise` or
    `return`, within or past the four records CPython copies as a small exit
    (vendor/serc/PATCHES.md, finally-small-exit-prefix-314)."""
    prefixes = {"none": [], "p": ["pass"], "pp": ["pass", "pass"], "x": ["x"], "st": ["x = 1"],
                "stx": ["x = y"], "call": ["f()"], "px": ["pass", "x"]}
    exits = {"r": ["raise"], "rx": ["raise x"], "rxy": ["raise x from y"], "ret": ["return"],
             "retx": ["return x"], "ret1": ["return 1"]}
    handlers = {"bare": ["except:", "    pass"], "typed": ["except E:", "    x = 1"],
                "star": ["except* E:", "    pass"],
                "two": ["except E:", "    pass", "except F:", "    y = 2"]}
    bodies = {"pass": ["pass"], "name": ["a"], "else": ["a"]}
    for prefix_name, prefix in prefixes.items():
        for exit_name, exit_ in exits.items():
            returns = exit_[0].startswith("return")
            for handler_name, handler in handlers.items():
                for body_name, body in bodies.items():
                    lines = ["try:"] + nest(body) + handler
                    if body_name == "else":
                        lines += ["else:", "    b"]
                    lines += ["finally:"] + nest(prefix + exit_)
                    name = f"{prefix_name}__{exit_name}__{handler_name}__{body_name}"
                    if not returns:
                        yield name + "__mod", indent(lines, "")
                    yield name + "__func", in_function(lines)


def handler_exit_pass_finally():
    """A try whose body always exits, handlers that fall through or raise, and a
    finalizer of `pass` lines or constants ending the module or function
    (vendor/serc/PATCHES.md, sole-handler-exit-pass-finally-line)."""
    handler_bodies = {
        "pass": ["pass"], "store": ["x = 1"], "attr": ["x.y = 1"], "item": ["x[0] = 1"],
        "call": ["f()"], "aug": ["x += 1"], "raise": ["raise"], "if": ["if c:", "    x = 1"],
    }
    pairs = [(a,) for a in handler_bodies] + [
        (a, b) for a in ("pass", "store", "raise", "call") for b in ("pass", "store", "raise", "call")
    ]
    finals = {"p": ["pass"], "pp": ["pass", "pass"], "c": ["0"]}
    for star in (False, True):
        for pair in pairs:
            handlers = []
            for number, body in enumerate(pair):
                handlers.append(f"except{'*' if star else ''} E{number}:")
                handlers += nest(handler_bodies[body])
            for final_name, final in finals.items():
                name = f"{'star' if star else 'plain'}__{'_'.join(pair)}__{final_name}"
                tail = ["finally:"] + nest(final)
                yield name + "__mod", indent(["try:", "    raise 0"] + handlers + tail, "")
                body = ["try:", "    return 1"] + handlers + tail
                yield name + "__func", in_function(body)


def try_else_pass_join():
    """A try/except whose `else:` ends in `pass` after a statement with a join, before a
    finalizer (vendor/serc/PATCHES.md, try-else-pass-exit-join-target)."""
    heads = {
        "ifelse_pass": ["if c:", "    pass", "else:", "    pass"],
        "ifelse_names": ["if c:", "    x", "else:", "    y"],
        "if_only": ["if c:", "    x"],
        "elif": ["if c:", "    x", "elif d:", "    y", "else:", "    z"],
        "while": ["while c:", "    x"],
        "for": ["for i in c:", "    x"],
        "store": ["x = 1"],
    }
    tails = {"p": ["pass"], "pp": ["pass", "pass"], "xp": ["x = 2", "pass"]}
    finals = {"pass": ["pass"], "name": ["w"], "none": []}
    for head_name, head in heads.items():
        for tail_name, tail in tails.items():
            for final_name, final in finals.items():
                lines = ["try:", "    a", "except:", "    pass", "else:"]
                lines += nest(head + tail)
                if final:
                    lines += ["finally:"] + nest(final)
                name = f"{head_name}__{tail_name}__{final_name}"
                yield name + "__mod", indent(lines, "")
                yield name + "__modnext", indent(lines + ["v = 3"], "")
                yield name + "__func", in_function(lines)


def pass_finally_exit():
    """A try with handlers and a finalizer of `pass` lines or a name, followed by a bare
    `raise` or a longer continuation, in a module, a function or a loop body
    (vendor/serc/PATCHES.md, pass-finally-one-record-exit-314)."""
    handlers = {"bare": ["except:", "    pass"], "typed": ["except E:", "    x = 1"],
                "star": ["except* E:", "    pass"],
                "two": ["except E:", "    pass", "except F:", "    raise"]}
    bodies = {"pass": ["pass"], "name": ["a"], "else": ["a"]}
    finals = {"p": ["pass"], "pp": ["pass", "pass"], "x": ["x"]}
    continuations = {"r": ["raise"], "rx": ["raise x"], "pr": ["pass", "raise"], "y": ["y"],
                     "end": []}
    for handler_name, handler in handlers.items():
        for body_name, body in bodies.items():
            lines = ["try:"] + nest(body) + handler
            if body_name == "else":
                lines += ["else:", "    b"]
            for final_name, final in finals.items():
                statement = lines + ["finally:"] + nest(final)
                for tail_name, tail in continuations.items():
                    name = f"{handler_name}__{body_name}__{final_name}__{tail_name}"
                    yield name + "__mod", indent(statement + tail, "")
                    yield name + "__func", in_function(statement + tail)
                    yield name + "__loop", "for i in c:\n" + indent(statement + tail, "    ")


def try_star_terminal_else():
    """A try/except* whose body ends in `pass`, with an `else:` that always leaves or falls
    through, with or without a finalizer (vendor/serc/PATCHES.md,
    try-star-pass-terminal-else-314)."""
    bodies = {"pass": ["pass"], "apass": ["a", "pass"], "pp": ["pass", "pass"], "name": ["a"]}
    handlers = {"pass": ["except* E:", "    pass"], "store": ["except* E:", "    x = 1"],
                "two": ["except* E:", "    pass", "except* F:", "    raise"]}
    elses = {"r": ["raise"], "r0": ["raise 0"], "rx": ["raise x(1)"], "ret": ["return"],
             "retx": ["return x"], "xr": ["x", "raise"], "ifr": ["if c:", "    raise", "else:",
             "    raise 0"], "x": ["x"]}
    finals = {"none": [], "pass": ["finally:", "    pass"], "name": ["finally:", "    w"]}
    for body_name, body in bodies.items():
        for handler_name, handler in handlers.items():
            for else_name, else_ in elses.items():
                for final_name, final in finals.items():
                    lines = ["try:"] + nest(body) + handler + ["else:"] + nest(else_) + final
                    name = f"{body_name}__{handler_name}__{else_name}__{final_name}"
                    if not else_name.startswith("ret"):
                        yield name + "__mod", indent(lines, "")
                    yield name + "__func", in_function(lines + ["v"])


def star_else_store_finally():
    """A try/except* whose `else:` ends in a statement that stores a name (assignment,
    import, `def`, `class`, `type`) or not, before a small-exit finalizer
    (vendor/serc/PATCHES.md, star-else-definition-store-314)."""
    tails = {"assign": ["x = 1"], "import": ["import a"], "def": ["def f(): pass"],
             "deco": ["@d", "def f(): pass"], "class": ["class C: pass"], "type": ["type X = 0"],
             "generic": ["type X[T] = T"], "ann": ["x: int"], "if": ["if a:", "    pass"]}
    finals = {"raise": ["raise"], "ret": ["return"], "retx": ["return x"]}
    bodies = {"pass": ["pass"], "name": ["a"]}
    handlers = {"pass": ["except* E:", "    pass"], "store": ["except* E:", "    y = 1"]}
    for tail_name, tail in tails.items():
        for final_name, final in finals.items():
            for body_name, body in bodies.items():
                for handler_name, handler in handlers.items():
                    lines = ["try:"] + nest(body) + handler + ["else:"] + nest(tail)
                    lines += ["finally:"] + nest(final)
                    name = f"{tail_name}__{final_name}__{body_name}__{handler_name}"
                    if final_name == "raise":
                        yield name + "__mod", indent(lines, "")
                    yield name + "__func", in_function(lines)


def star_else_binding_order():
    """Names first bound in a try/except* handler and in its `else:`, in a function, a
    loop, a class or a module, with or without a finalizer: CPython compiles the else
    after the handlers, so its locals and annotations come later
    (vendor/serc/PATCHES.md, star-else-after-handlers)."""
    handlers = {"assign": ["y = 1"], "as": [], "ann": ["y: int = 1"], "for": ["for y in a: pass"],
                "import": ["import y"], "walrus": ["(y := 1)"], "pass": ["pass"]}
    elses = {"assign": ["x = 1"], "ann": ["x: str = 2"], "def": ["def x(): pass"],
             "with": ["with a as x: pass"], "aug": ["x += 1"], "same": ["y = 2"], "pass": ["pass"]}
    finals = {"none": [], "store": ["finally:", "    z = 0"]}
    for handler_name, handler in handlers.items():
        for else_name, orelse in elses.items():
            for final_name, final in finals.items():
                clause = "except* E as y:" if handler_name == "as" else "except* E:"
                lines = ["try:", "    a", clause] + nest(handler or ["pass"])
                lines += ["else:"] + nest(orelse) + final
                name = f"{handler_name}__{else_name}__{final_name}"
                yield name + "__func", in_function(lines)
                yield name + "__loop", in_function(["for i in a:"] + nest(lines))
                yield name + "__class", "class C:\n" + indent(lines, "    ")
                yield name + "__mod", indent(lines, "")


def try_star_if_else_exit():
    """A try/except* whose body ends in an `if` with an `else:` arm, with or without the
    try's own `else:` suite and finalizer, in a module, a function or a loop, followed by
    nothing, by a small exit or by more code (vendor/serc/PATCHES.md,
    try-star-if-else-exit-314, try-star-if-else-code-exit-314)."""
    ifs = {"pass": ["if a:", "    x", "else:", "    pass"],
           "name": ["if a:", "    x", "else:", "    y"],
           "pass2": ["if a:", "    pass", "else:", "    pass", "    pass"],
           "armpass2": ["if a:", "    pass", "    pass", "else:", "    y"],
           "elif": ["if a:", "    x", "elif b:", "    pass", "else:", "    y"],
           "raise": ["if a:", "    raise", "else:", "    y"],
           "raise2": ["if a:", "    raise", "elif b:", "    y", "else:", "    pass"],
           "nested": ["if a:", "    x", "else:", "    if b:", "        y", "    else:", "        pass"],
           "loop": ["if a:", "    x", "else:", "    for i in b:", "        y"],
           "const": ["if 0:", "    x", "else:", "    y"],
           "true": ["if 1:", "    x", "else:", "    y"],
           "constpass": ["if 0:", "    x", "else:", "    pass"],
           "noelse": ["if a:", "    x", "elif b:", "    y"]}
    elses = {"none": None, "name": ["b"], "pass": ["pass"], "raise": ["raise"],
             "two": ["b", "c"]}
    finals = {"none": [], "name": ["finally:", "    z"]}
    for if_name, branch in ifs.items():
        for else_name, orelse in elses.items():
            for final_name, final in finals.items():
                lines = ["try:"] + nest(branch) + ["except* E:", "    pass"]
                if orelse is not None:
                    lines += ["else:"] + nest(orelse)
                lines += final
                name = f"{if_name}__{else_name}__{final_name}"
                yield name + "__mod", indent(lines + ["c"], "")
                yield name + "__more", indent(lines + ["c", "d"], "")
                yield name + "__end", indent(lines, "")
                yield name + "__func", in_function(lines)
                yield name + "__funcmore", in_function(lines + ["c", "d"])
                yield name + "__loop", in_function(["for i in a:"] + nest(lines))
                yield name + "__loopmore", in_function(["for i in a:"] + nest(lines + ["c"]))


def try_statements(bodies, handlers, elses, finals):
    """Every `try` made of one body, handler list, `else:` and `finally:` of the given named
    fragments, as (name, lines)."""
    for (body_name, body), (handler_name, handler), (else_name, orelse), (final_name, final) \
            in itertools.product(bodies.items(), handlers.items(), elses.items(), finals.items()):
        name = f"{body_name}__{handler_name}__{else_name}__{final_name}"
        yield name, ["try:"] + nest(body) + handler + orelse + final


def star_loop_pass_finally():
    """A try/except* with a `finally:` of `pass` lines or a name, as a loop body's last
    statement or before more code, in a `for`, `async for` or `while` loop, at module level
    or in a function (vendor/serc/PATCHES.md, star-handler-exit-pass-finally-loop-314)."""
    bodies = {"pass": ["pass"], "name": ["x"], "two": ["x", "pass"], "if": ["if a:", "    x"]}
    handlers = {"pass": ["except* E:", "    pass"], "name": ["except* E:", "    y"],
                "raise": ["except* E:", "    raise"],
                "two": ["except* E:", "    y", "except* F:", "    raise"]}
    elses = {"none": [], "name": ["else:", "    z"]}
    finals = {"pass": ["finally:", "    pass"], "pass2": ["finally:", "    pass", "    pass"],
              "name": ["finally:", "    w"]}
    loops = {"for": "for i in a:", "while": "while a:", "afor": "async for i in a:"}
    for name, stmt in try_statements(bodies, handlers, elses, finals):
        for loop_name, loop in loops.items():
            inner = [loop] + nest(stmt)
            if loop_name == "afor":
                yield f"{name}__{loop_name}", "async " + in_function(inner)
                continue
            yield f"{name}__{loop_name}__mod", indent(inner, "")
            yield f"{name}__{loop_name}__after", indent(inner + ["c"], "")
            yield f"{name}__{loop_name}__func", in_function(inner)
            yield f"{name}__{loop_name}__next", in_function(inner[:1] + nest(stmt + ["c"]))


def star_conditional_raise_finally():
    """A try/except* whose body ends in a conditional raise (`assert`, `if ...: raise`) or
    an `if` with a falling-through `else:` arm, with a `finally:`, at the end of a module, a
    function or a loop body or before more code (vendor/serc/PATCHES.md,
    try-star-conditional-raise-finally-314, try-star-if-else-finally-exit-314)."""
    bodies = {"assert": ["assert a"], "assertmsg": ["assert a, 'm'"],
              "assertand": ["assert a and b"], "assertor": ["assert a or b"],
              "ifraise": ["if a:", "    raise"], "ifraisex": ["if not a:", "    raise E(a)"],
              "x_assert": ["x", "assert a"], "ifelse": ["if a:", "    raise", "else:", "    y"],
              "ifxy": ["if a:", "    x", "else:", "    y"],
              "elifelse": ["if a:", "    raise", "elif b:", "    raise", "else:", "    y"],
              "elsepass": ["if a:", "    raise", "else:", "    pass"]}
    handlers = {"pass": ["except* E:", "    pass"], "raise": ["except* E:", "    raise"]}
    elses = {"none": [], "name": ["else:", "    z"]}
    finals = {"pass": ["finally:", "    pass"], "name": ["finally:", "    w"],
              "raise": ["finally:", "    raise"]}
    for name, stmt in try_statements(bodies, handlers, elses, finals):
        yield name + "__mod", indent(stmt, "")
        yield name + "__after", indent(stmt + ["c"], "")
        yield name + "__func", in_function(stmt)
        yield name + "__loop", indent(["for i in a:"] + nest(stmt), "")


def wrapped_try_shapes(heads, tails, handlers, after):
    """Every `try:` whose body is one of `heads` then one of `tails`, closed by one of
    `handlers`: ending a module, followed there by the lines `after`, and ending a function."""
    for (head_name, head), (tail_name, tail), (handler_name, handler) in itertools.product(
            heads.items(), tails.items(), handlers.items()):
        lines = ["try:"] + nest(head + tail) + handler
        name = f"{head_name}__{tail_name}__{handler_name}"
        yield name + "__mod", indent(lines, "")
        yield name + "__modx", indent(lines + after, "")
        yield name + "__func", in_function(lines)


def nested_finally_pass():
    """A `try` whose `finally:` is `pass` (or a name), nested as a statement of an enclosing
    try body and followed there by other lines, under every kind of enclosing try, in a
    module, a function or before more code (vendor/serc/PATCHES.md,
    nested-finally-pass-owner, try-star-pass-after-try-314, jump-nop-copy-owner-314)."""
    inners = {"fp": ["try:", "    a", "finally:", "    pass"],
              "fpp": ["try:", "    a", "finally:", "    pass", "    pass"],
              "fx": ["try:", "    a", "finally:", "    b"],
              "efp": ["try:", "    a", "except E:", "    pass", "finally:", "    pass"]}
    follows = {"p": ["pass"], "x": ["c"], "pp": ["pass", "pass"], "xp": ["c", "pass"],
               "end": []}
    outers = {"f": ["finally:", "    pass"], "e": ["except E:", "    pass"],
              "ef": ["except E:", "    pass", "finally:", "    pass"],
              "s": ["except* E:", "    pass"],
              "sf": ["except* E:", "    pass", "finally:", "    pass"],
              "fx": ["finally:", "    w"]}
    yield from wrapped_try_shapes(inners, follows, outers, ["v"])


def pass_finally_copied_entry():
    """A try with handlers and a `finally: pass` whose exit CPython copies into every exit
    jump: the last statement of an outer `finally:` body (its exceptional copy ends in
    RERAISE), or followed by a bare `raise`, under several bodies, handlers and `else:`
    suites (vendor/serc/PATCHES.md, pass-finally-copied-entry-owner-314)."""
    bodies = {"p": ["pass"], "x": ["x"], "pp": ["pass", "pass"], "as": ["x = 1"],
              "if": ["if a:", "    pass"], "for": ["for i in y:", "    pass"],
              "with": ["with m:", "    pass"], "c": ["1"]}
    handlers = {"e": ["except E:", "    pass"], "er": ["except E:", "    raise"],
                "bare": ["except:", "    x"], "star": ["except* E:", "    pass"],
                "two": ["except E as e:", "    pass", "except:", "    pass"]}
    elses = {"n": [], "p": ["else:", "    pass"], "y": ["else:", "    y"]}
    contexts = {
        "fin": lambda t: ["try:", "    pass", "finally:"] + nest(t),
        "finfunc": lambda t: ["def f():"] + nest(["try:", "    pass", "finally:"] + nest(t)),
        "raise": lambda t: t + ["raise"],
        "raisefunc": lambda t: ["def g():"] + nest(t + ["raise"]),
        "handler": lambda t: ["try:", "    pass", "except F:"] + nest(t),
        "finprefix": lambda t: ["try:", "    pass", "finally:", "    x"] + nest(t),
    }
    statements = try_statements(bodies, handlers, elses, {"p": ["finally:", "    pass"]})
    for (name, statement), (context_name, context) in itertools.product(
            statements, contexts.items()):
        yield f"{name}__{context_name}", indent(context(statement), "")


def try_star_match_pass_tail():
    """A try body that is a `match` and then `pass` lines or a name, closed by `except*` (or
    `except` for comparison), with or without `else:`/`finally:`, in a module and a
    function (vendor/serc/PATCHES.md, try-star-match-pass-tail-314)."""
    bodies = {"p": ["pass"], "pp": ["pass", "pass"], "x": ["x"], "xp": ["x", "pass"]}
    patterns = {"v": "-8", "s": "None", "a": "a.b", "q": "[a]", "c": "C()", "w": "_"}
    cases = {f"{pattern_name}_{body_name}": [f"    case {pattern}:"] + nest(nest(body))
             for (pattern_name, pattern), (body_name, body)
             in itertools.product(patterns.items(), bodies.items())}
    cases["two"] = ["    case 1:", "        x", "    case 2:", "        y"]
    tails = {"p": ["pass"], "pp": ["pass", "pass"], "y": ["y"]}
    handlers = {"s": ["except* E:", "    pass"], "sn": ["except* E as e:", "    pass"],
                "e": ["except E:", "    pass"],
                "sf": ["except* E:", "    pass", "finally:", "    z"],
                "se": ["except* E:", "    pass", "else:", "    z"],
                "sef": ["except* E:", "    pass", "else:", "    z", "finally:", "    w"]}
    for (case_name, case), (tail_name, tail), (handler_name, handler) in itertools.product(
            cases.items(), tails.items(), handlers.items()):
        lines = ["try:"] + nest(["match v:"] + case + tail) + handler
        yield from module_and_function(f"{case_name}__{tail_name}__{handler_name}", lines)


def try_branch_pass_tail():
    """A try whose body is an `if` with `elif`/`else:` arms followed by `pass`, with a plain
    or star handler, ending a module or a function or followed by code
    (vendor/serc/PATCHES.md, try-branch-pass-tail-return-314)."""
    branches = {"else": ["if a:", "    x", "else:", "    y"],
                "elsepass": ["if a:", "    pass", "else:", "    pass"],
                "elif": ["if a:", "    x", "elif b:", "    y"],
                "elifelse": ["if a:", "    x", "elif b:", "    y", "else:", "    pass"],
                "none": ["if a:", "    x"]}
    tails = {"pass": ["pass"], "pass2": ["pass", "pass"], "name": ["z"]}
    handlers = {"e": ["except E:", "    pass"], "s": ["except* E:", "    pass"],
                "en": ["except E:", "    h"]}
    yield from wrapped_try_shapes(branches, tails, handlers, ["v", "w"])


def folded_if_exit():
    """A constant-true `if` with an `else:` whose body ends in an assert, a nested `if`
    that leaves or falls through, or plain work, followed by a small exit or more code, in a
    module, a function, a loop or a try body (vendor/serc/PATCHES.md,
    folded-if-sole-entry-exit-line-314)."""
    tests = {"str": "'x'", "one": "1", "true": "True"}
    bodies = {"assert": ["assert a"], "assertor": ["assert a or b"],
              "assertand": ["assert a and b"], "assertmsg": ["assert a, 'm'"],
              "workassert": ["x = 1", "assert a"], "raise": ["if a: raise b"],
              "raiseelse": ["if a:", "    raise b", "else:", "    c()"],
              "call": ["if a: b()"], "work": ["x = 1"]}
    elses = {"pass": ["else:", "    pass"], "work": ["else:", "    y = 2"]}
    follows = {"pass": ["pass"], "call": ["g()"], "end": [], "assert": ["assert c"]}
    for (tn, test), (bn, body), (en, orelse), (fn, follow) in itertools.product(
            tests.items(), bodies.items(), elses.items(), follows.items()):
        statement = [f"if {test}:"] + nest(body) + orelse
        name = f"{tn}__{bn}__{en}__{fn}"
        yield from module_and_function(name, statement + follow)
        yield from wrapped(name, statement + follow, LOOP, TRY)


def finally_try_pass():
    """A `finally:` suite ending in a try, a `with` or a loop with an `else:`, then `pass`
    lines, other code or nothing, after a try body that passes or calls, followed by a small
    exit or more code (vendor/serc/PATCHES.md, try-join-pass-own-block-314,
    finally-pass-block-threading-314, finally-loop-else-pass-exit-314,
    finally-copy-pass-body-pop-block-314)."""
    inners = {"e": ["try:", "    pass", "except:", "    pass"],
              "f": ["try:", "    a()", "finally:", "    pass"],
              "fp": ["try:", "    pass", "finally:", "    b()"],
              "ef": ["try:", "    a()", "except E:", "    pass", "finally:", "    pass"],
              "fe": ["for a in b:", "    c()", "else:", "    pass"],
              "we": ["while a:", "    pass", "else:", "    b()", "    pass"],
              "en": ["try:", "    a()", "except E as e:", "    pass"],
              "ew": ["try:", "    pass", "except:", "    y = 3"],
              "ee": ["try:", "    pass", "except E:", "    pass", "else:", "    pass"],
              "s": ["try:", "    pass", "except* E:", "    pass"],
              "w": ["with a:", "    pass"], "wc": ["with a as b, c:", "    d()"]}
    tails = {"p": ["pass"], "pp": ["pass", "pass"], "x": ["z = 1"], "xp": ["z = 1", "pass"],
             "none": []}
    bodies = {"p": ["pass"], "c": ["x()"]}
    follows = {"p": ["pass"], "x": ["v = 1"], "end": [], "big": ["v = 1", "w = 2", "u = 3"]}
    for (bn, body), (inn, inner), (tn, tail), (fn, follow) in itertools.product(
            bodies.items(), inners.items(), tails.items(), follows.items()):
        lines = ["try:"] + nest(body) + ["finally:"] + nest(inner + tail)
        yield from module_and_function(f"{bn}__{inn}__{tn}__{fn}", lines + follow)


def guarded_case_shapes(patterns, guards, bodies):
    """A `match x:` with one guarded case of every pattern, guard and body, before another
    case or none, in a function and (unless the body returns) a module and a loop."""
    rests = {"case": ["case 2:", "    pass"], "none": []}
    for (pn, pattern), (gn, guard), (bn, body), (rn, rest) in itertools.product(
            patterns.items(), guards.items(), bodies.items(), rests.items()):
        lines = ["match x:"] + nest([f"case {pattern} if {guard}:"] + nest(body) + rest)
        name = f"{pn}__{gn}__{bn}__{rn}"
        yield name + "__func", in_function(lines)
        if not any(line.startswith("return") for line in body):
            yield name + "__mod", indent(lines, "")
            yield name + "__loop", indent(["for x in w:"] + nest(lines), "")


def match_guard_exit():
    """A `match` case with a guard (a conditional expression, a boolean operation, a folded
    constant, a name) whose body is a small exit or other work, before another case or none,
    in a module, a function and a loop (vendor/serc/PATCHES.md, nop-line-to-next-location-314,
    match-or-true-guard-join)."""
    patterns = {"value": "1", "seq": "[]", "cls": "C()", "alt": "1 | 2",
                "altcap": "(1 as v) | (2 as v)", "altin": "[1 | 2]"}
    guards = {"ifexp": "(a if b else c)", "or": "(a or b)", "and": "(a and b)",
              "const": "1", "str": "'s'", "false": "0", "name": "a"}
    bodies = {"raise": ["raise"], "return": ["return"], "call": ["y()"], "pass": ["pass"],
              "value": ["return 1"]}
    yield from guarded_case_shapes(patterns, guards, bodies)


def match_false_guard_exit():
    """A `match` case whose guard is a constant false (`0`, `''`, `f''`, `False`, `None`),
    with a pattern that stores or pops on failure or not, before another case or none, in a
    module, a function and a loop (vendor/serc/PATCHES.md, match-false-guard-exit-copy-313)."""
    patterns = {"value": "1", "seq": "[]", "seqcap": "[a]", "seqstar": "[a, *b]",
                "mapcap": "{**a}", "mapkey": "{'k': v}", "cls": "C()", "clscap": "C(a)",
                "cap": "a", "alt": "1 | 2"}
    guards = {"zero": "0", "str": "''", "fstr": "f''", "false": "False", "none": "None"}
    bodies = {"assign": ["b = c"], "pass": ["pass"], "call": ["y()"]}
    yield from guarded_case_shapes(patterns, guards, bodies)


def match_guard_try_tail():
    """A `match` of two or three cases, guarded or not, ending a try body closed by handlers
    (`except`, `except*`, with `else:` or `finally:`) or by `finally:` alone, before `pass`,
    a name or nothing, in a module, a function and a loop (vendor/serc/PATCHES.md,
    guarded-pass-case-try-tail-exit-314)."""
    cases = {"gg": ["case 1 if b:", "    pass", "case 2 if b:", "    pass"],
             "ug": ["case 1:", "    pass", "case 2 if b:", "    pass"],
             "gu": ["case 1 if b:", "    pass", "case 2:", "    pass"],
             "gug": ["case 1 if b:", "    pass", "case 2:", "    pass", "case 3 if b:", "    pass"],
             "gx": ["case 1 if b:", "    pass", "case 2 if b:", "    y"]}
    closers = {"e": ["except E:", "    pass"], "s": ["except* E:", "    pass"],
               "el": ["except E:", "    pass", "else:", "    pass"],
               "ef": ["except E:", "    pass", "finally:", "    z"],
               "f": ["finally:", "    z"]}
    follows = {"p": ["pass"], "x": ["x"], "end": []}
    for (cn, case), (kn, closer), (fn, follow) in itertools.product(
            cases.items(), closers.items(), follows.items()):
        lines = ["try:", "    match a:"] + nest(nest(case)) + closer + follow
        name = f"{cn}__{kn}__{fn}"
        yield from module_and_function(name, lines)
        yield name + "__loop", indent(["for q in r:"] + nest(lines), "")


def nested_pass_try_exit():
    """A nested `try: pass` closed by handlers, followed by another statement of an enclosing
    try body (closed by `except`, `except*`, with `else:` or `finally:`, or `finally:` alone),
    in a module, a function and a class (vendor/serc/PATCHES.md,
    nested-pass-try-exit-owner-314)."""
    inners = {"e": ["try:", "    pass", "except E:", "    pass"],
              "eb": ["try:", "    pass", "except E:", "    b"],
              "s": ["try:", "    pass", "except* E:", "    pass"],
              "ee": ["try:", "    pass", "except E:", "    pass", "else:", "    c"]}
    follows = {"x": ["x"], "asg": ["x = 1"], "call": ["f()"], "attr": ["x.y"],
               "if": ["if x:", "    y"], "for": ["for a in b:", "    y"], "xy": ["x", "y"],
               "pass": ["pass"], "raise": ["raise"]}
    outers = {"e": ["except F:", "    pass"], "s": ["except* F:", "    pass"],
              "el": ["except F:", "    pass", "else:", "    z"],
              "ef": ["except F:", "    pass", "finally:", "    z"], "f": ["finally:", "    z"]}
    for (iname, inner), (fname, follow), (oname, outer) in itertools.product(
            inners.items(), follows.items(), outers.items()):
        lines = ["try:"] + nest(inner + follow) + outer
        name = f"{iname}__{fname}__{oname}"
        yield from module_and_function(name, lines)
        yield name + "__class", indent(["class K:"] + nest(lines), "")


def match_failure_try_tail():
    """A `match` whose last case has no guard, ending a try body closed by handlers, before
    another statement: every kind of pattern, after other code or not, in a module, a function
    and a coroutine (vendor/serc/PATCHES.md, match-singleton-failure-pop-block-314,
    match-failure-raise-tail-314; sequence, mapping and class patterns are still open)."""
    patterns = {"none": "None", "true": "True", "seq": "[]", "seqcap": "[a, b]",
                "map": "{}", "mapcap": "{'k': v}", "cls": "C()", "clskw": "C(x=1)",
                "value": "1", "attr": "a.b", "alt": "1 | 2", "cap": "v", "wild": "_"}
    # What comes first: (statements before the match, cases before the last one).
    befores = {"none": ([], []), "x": (["x"], []), "case": ([], ["case 0:", "    y"])}
    closers = {"e": ["except E:", "    pass"], "s": ["except* E:", "    pass"],
               "el": ["except E:", "    pass", "else:", "    w"],
               "en": ["except E as e:", "    pass"]}
    follows = {"z": ["z"], "call": ["f()"], "pass": ["pass"], "raise": ["raise"],
               "raisex": ["raise x"]}
    for (pn, pattern), (bn, (head, earlier)), (kn, closer), (fn, follow) in itertools.product(
            patterns.items(), befores.items(), closers.items(), follows.items()):
        cases = earlier + [f"case {pattern}:", "    pass"]
        lines = ["try:"] + nest(head + ["match s:"] + nest(cases)) + closer + follow
        name = f"{pn}__{bn}__{kn}__{fn}"
        yield from module_and_function(name, lines)
        yield name + "__async", "async " + in_function(lines)


def try_loop_else_pass():
    """A try whose body ends in a `for` or `while` loop with an `else:` suite ending in
    `pass` (or not), closed by `finally:`, handlers or both, in a module, a function and
    before more code (vendor/serc/PATCHES.md, try-finally-for-else-pass-exit-314)."""
    loops = {"for": ["for a in b:", "    pass"], "forx": ["for a in b:", "    x()"],
             "while": ["while a:", "    pass"]}
    elses = {"p": ["else:", "    pass"], "pp": ["else:", "    pass", "    pass"],
             "xp": ["else:", "    y = 1", "    pass"], "x": ["else:", "    y = 1"]}
    handlers = {"f": ["finally:", "    pass"], "fc": ["finally:", "    z()"],
                "e": ["except E:", "    pass"],
                "ef": ["except E:", "    pass", "finally:", "    pass"],
                "s": ["except* E:", "    pass"]}
    heads = {f"{ln}_{en}": loop + orelse for (ln, loop), (en, orelse)
             in itertools.product(loops.items(), elses.items())}
    yield from wrapped_try_shapes(heads, {"end": []}, handlers, ["v"])


def star_try_nested_exit():
    """A try/except* whose body is only `pass` or simple statements, with or without an
    `else:`, as the last statement of an enclosing try's body (every kind of try), a bare or
    named handler or a `with`, followed there by nothing, `pass` or code, in a module or a
    function (vendor/serc/PATCHES.md, star-try-shared-handler-cleanup-314,
    star-pass-body-exit-owner-313, star-else-pass-outer-else-finally-314)."""
    bodies = {"p": ["pass"], "pp": ["pass", "pass"], "x": ["x = 1"]}
    handlers = {"p": ["except* E:", "    pass"], "as": ["except* E as e:", "    pass"],
                "two": ["except* E:", "    pass", "except* F:", "    y = 2"]}
    elses = {"none": [], "p": ["else:", "    pass"], "x": ["else:", "    z = 3"]}
    outers = {
        "bodyf": (["try:"], ["finally:", "    pass"]),
        "bodye": (["try:"], ["except G:", "    pass"]),
        "bodyee": (["try:"], ["except G:", "    pass", "else:", "    pass"]),
        "bodyef": (["try:"], ["except G:", "    pass", "finally:", "    pass"]),
        "bodyse": (["try:"], ["except* G:", "    pass", "else:", "    pass"]),
        "hand": (["try:", "    pass", "except G:"], []),
        "handas": (["try:", "    pass", "except G as g:"], []),
        "with": (["with m:"], []),
    }
    follows = {"end": [], "p": ["pass"], "v": ["v"]}
    for (bn, body), (hn, handler), (en, orelse), (on, (head, tail)), (fn, follow) in \
            itertools.product(bodies.items(), handlers.items(), elses.items(),
                              outers.items(), follows.items()):
        inner = ["try:"] + nest(body) + handler + orelse
        lines = head + nest(inner) + tail + follow
        yield from module_and_function(f"{bn}__{hn}__{en}__{on}__{fn}", lines)


def with_suppression_exit():
    """A `with` statement (one or two managers, with or without `as`) followed by a short
    tail that leaves the scope, inside a try with a `finally:` or handlers, or not
    protected, in a module or a function (vendor/serc/PATCHES.md,
    with-suppression-small-raise-exit-314)."""
    withs = {"a": ["with a:", "    pass"], "as": ["with a as c:", "    pass"],
             "two": ["with a, b as c:", "    pass"], "body": ["with a:", "    x"]}
    tails = {"r": ["raise"], "c_r": ["c", "raise"], "c_rx": ["c", "raise x"],
             "cc_r": ["c", "d", "raise"], "c_d_rx": ["c", "d", "raise x"], "p_r": ["pass", "raise"],
             "st_r": ["x = 1", "raise"], "rx": ["raise x"], "rxy": ["raise x from y"],
             "c_ret": ["c", "return"], "ret": ["return"], "c": ["c"]}
    wrappers = {"fin": (["try:"], ["finally:", "    pass"]),
                "finx": (["try:"], ["finally:", "    f"]),
                "exc": (["try:"], ["except E:", "    pass"]),
                "excfin": (["try:"], ["except E:", "    pass", "finally:", "    pass"]),
                "none": ([], [])}
    for (wn, with_), (tn, tail), (rn, (head, foot)) in itertools.product(
            withs.items(), tails.items(), wrappers.items()):
        body = with_ + tail
        lines = head + (nest(body) if head else body) + foot
        name = f"{wn}__{tn}__{rn}"
        if not any(line.startswith("return") for line in tail):
            yield name + "__mod", indent(lines, "")
        yield name + "__func", in_function(lines)


def star_handler_nested_try():
    """A try/except* whose last handler ends in a nested try (with a `finally:`, handlers or
    `except*`) or a `with`, in a module or a function (vendor/serc/PATCHES.md,
    star-handler-finally-cleanup-copy-314)."""
    tails = {"fin": ["try:", "    pass", "finally:", "    pass"],
             "finx": ["try:", "    y", "finally:", "    z"],
             "finr": ["try:", "    raise", "finally:", "    pass"],
             "exfin": ["try:", "    pass", "except F:", "    pass", "finally:", "    pass"],
             "ex": ["try:", "    pass", "except F:", "    pass"],
             "exas": ["try:", "    y", "except F as f:", "    pass"],
             "exel": ["try:", "    pass", "except F:", "    pass", "else:", "    z"],
             "star": ["try:", "    pass", "except* F:", "    pass"],
             "with": ["with m:", "    pass"]}
    heads = {"none": [], "x": ["x"]}
    handlers = {"one": ["except* E:"], "as": ["except* E as e:"],
                "two": ["except* G:", "    pass", "except* E:"]}
    follows = {"end": [], "v": ["v"]}
    for (tn, tail), (hn, head), (kn, handler), (fn, follow) in itertools.product(
            tails.items(), heads.items(), handlers.items(), follows.items()):
        lines = ["try:", "    a"] + handler + nest(head + tail) + follow
        yield from module_and_function(f"{tn}__{hn}__{kn}__{fn}", lines)


def copied_exit_kept_pass():
    """A try body ending in an `if` arm or a `case` body whose last lines are `pass`, closed
    by `except*` or `except`, followed by an `else:`, a `finally:`, code or nothing, in a
    module or a function: the try's exit copied onto the arm's jump leaves the earlier
    `pass` NOP its own handler (vendor/serc/PATCHES.md, copied-exit-kept-pass-owner-314)."""
    arms = {"pp": ["if a:", "    pass", "    pass", "else:", "    pass"],
            "xpp": ["if a:", "    x", "    pass", "    pass", "else:", "    y"],
            "ppp": ["if a:", "    pass", "    pass", "    pass", "else:", "    y"],
            "px": ["if a:", "    pass", "    x", "else:", "    pass"],
            "elif": ["if a:", "    pass", "    pass", "elif b:", "    x", "else:", "    y"],
            "case": ["match v:", "    case 1:", "        pass", "        pass"],
            "case2": ["match v:", "    case 1:", "        x", "    case 2:", "        pass",
                      "        pass"]}
    handlers = {"star": ["except* E:", "    pass"], "staras": ["except* E as e:", "    pass"],
                "plain": ["except E:", "    pass"]}
    follows = {"none": [], "else": ["else:", "    z"], "fin": ["finally:", "    z"],
               "elsefin": ["else:", "    z", "finally:", "    w"],
               "code": ["c", "d"], "pass3": ["pass", "pass", "pass"]}
    for (an, arm), (hn, handler), (fn, follow) in itertools.product(
            arms.items(), handlers.items(), follows.items()):
        lines = ["try:"] + nest(arm) + handler + follow
        yield from module_and_function(f"{an}__{hn}__{fn}", lines)


def if_expression_pass_body():
    """An `if` whose condition ends in a conditional expression (alone, negated, the last
    operand of `and`/`or`, nested, with a constant test) and whose body is `pass`, with or
    without an `else:` or `elif`, followed by `pass`, a call or nothing, in a module, a
    function, `for`/`while` loops, a try body or a `with`: the expression's arm jump must
    not thread past the `pass` (vendor/serc/PATCHES.md, if-expression-pass-body-join-314)."""
    tests = {"ifexp": "a if b else c", "paren": "(a if b else c)", "not": "not (a if b else c)",
             "and": "x and (a if b else c)", "or": "x or (a if b else c)",
             "first": "(a if b else c) and x", "nested": "a if b else (c if d else e)",
             "const": "a if 1 else c", "cmp": "a if b else c < d < e", "plain": "a"}
    bodies = {"p": ["pass"], "pp": ["pass", "pass"], "px": ["pass", "x()"]}
    elses = {"none": [], "pass": ["else:", "    pass"], "call": ["else:", "    y()"],
             "elif": ["elif d:", "    pass"]}
    follows = {"none": [], "pass": ["pass"], "call": ["z()"]}
    for (tn, test), (bn, body), (en, orelse), (fn, follow) in itertools.product(
            tests.items(), bodies.items(), elses.items(), follows.items()):
        statement = [f"if {test}:"] + nest(body) + orelse
        name = f"{tn}__{bn}__{en}__{fn}"
        yield from module_and_function(name, statement + follow)
        yield from wrapped(name, statement + follow, FOR, WHILE, TRY, WITH)


def folded_if_expression_test():
    """A conditional expression with a constant test (true or false: numbers, strings,
    `True`, `None`, `...`) as a condition, its selected arm a name, a call, `not`, a
    Boolean operation or a comparison, in an `if` (with `else:`, `elif`, a same-line body),
    a `while`, an `assert`, a comprehension filter or a `match` guard, in a module and a
    function (vendor/serc/PATCHES.md, folded-if-expression-arm-nop-314)."""
    tests = {"one": "1", "str": "'s'", "true": "True", "ellipsis": "...", "zero": "0",
             "none": "None", "empty": "''"}
    arms = {"name": "a", "call": "f()", "not": "not a", "and": "a and b", "or": "a or b",
            "cmp": "a < b", "chain": "a < b < c", "attr": "a.b"}
    statements = {
        "if": lambda e: [f"if {e}:", "    x()", "z()"],
        "ifelse": lambda e: [f"if {e}:", "    x()", "else:", "    y()"],
        "elif": lambda e: ["if w:", "    x()", f"elif {e}:", "    y()"],
        "sameline": lambda e: [f"if {e}: x()", "z()"],
        "pass": lambda e: [f"if {e}:", "    pass"],
        "while": lambda e: [f"while {e}:", "    x()"],
        "assert": lambda e: [f"assert {e}", "z()"],
        "filter": lambda e: [f"v = [x for x in y if {e}]"],
        "guard": lambda e: ["match v:", f"    case 1 if {e}:", "        x()"],
    }
    for (tn, test), (an, arm), (sn, statement) in itertools.product(
            tests.items(), arms.items(), statements.items()):
        for order, expression in (("body", f"{arm} if {test} else q"),
                                  ("orelse", f"q if {test} else {arm}")):
            yield from module_and_function(f"{tn}__{an}__{sn}__{order}",
                                           statement(expression))


def generator_try_pass_tail():
    """A try body ending in one to three `pass` lines (alone or after a statement), closed
    by `except`, `except*`, `else:` or `finally:`, last in or followed by code, in a
    function, a generator, a coroutine, an async generator and an enclosing try: the
    implicit return takes the last `pass`'s line (vendor/serc/PATCHES.md,
    generator-try-pass-pair-return-314), and on 3.12 the POP_BLOCK NOP that takes it has no
    handler (try-pass-pop-block-unowned-312)."""
    heads = {"none": [], "x": ["x"], "asg": ["x = 1"], "call": ["f()"], "del": ["del x"]}
    passes = {"p": ["pass"], "pp": ["pass", "pass"], "ppp": ["pass", "pass", "pass"]}
    closers = {"e": ["except E:", "    pass"], "bare": ["except:", "    pass"],
               "s": ["except* E:", "    pass"], "el": ["except E:", "    pass", "else:", "    y"],
               "f": ["finally:", "    y"], "ef": ["except E:", "    pass", "finally:", "    y"]}
    follows = {"none": [], "z": ["z"]}
    scopes = {"def": ("def", []), "gen": ("def", ["yield"]), "async": ("async def", []),
              "agen": ("async def", ["yield"]), "await": ("async def", ["await a"])}
    for (hn, head), (pn, tail), (cn, closer), (fn, follow), (sn, (keyword, prologue)) in (
            itertools.product(heads.items(), passes.items(), closers.items(), follows.items(),
                              scopes.items())):
        lines = prologue + ["try:"] + nest(head + tail) + closer + follow
        yield f"{hn}__{pn}__{cn}__{fn}__{sn}", f"{keyword} g():\n" + indent(lines, "    ")
        if sn == "def":
            outer = ["try:"] + nest(lines) + ["except F:", "    pass"]
            yield f"{hn}__{pn}__{cn}__{fn}__outer", indent(outer, "")


def match_tail_try_finally():
    """A `match` of one or two cases (value, singleton, sequence, class, or-, as- and
    capture patterns; no guard, a name, `and`/`or`/`not` guards; a `pass`, call or return
    body) ending a try body or its `else:`, closed by `except` and `finally:` (or `finally:`
    alone), before a loop over a local: whether CPython borrows that local after the match's
    empty join (vendor/serc/PATCHES.md, match-exit-join-borrow-314), and the guarded
    `case _` whose join keeps no line (match-guarded-default-join-314)."""
    patterns = {"v": "1", "n": "None", "s": "[y]", "c": "C()", "o": "1 | 2",
                "a": "(1 | 2) as y", "x": "y", "w": "_"}
    guards = {"u": "", "g": " if b", "and": " if b and c", "or": " if b or c",
              "not": " if not b"}
    bodies = {"p": ["pass"], "h": ["h()"], "r": ["return 1"]}
    cases = []
    for (pn, pattern), (gn, guard), (bn, body) in itertools.product(
            patterns.items(), guards.items(), bodies.items()):
        case = [f"case {pattern}{guard}:"] + nest(body)
        cases.append((f"{pn}{gn}{bn}", case))
        # After an earlier case that returns, or one that falls through.
        if pn in "vsw" and bn != "r":
            cases.append((f"vgr_{pn}{gn}{bn}", ["case 0 if d:", "    return 0"] + case))
            cases.append((f"vh_{pn}{gn}{bn}", ["case 0:", "    h()"] + case))
    closers = {"ef": ["except E:", "    pass", "finally:", "    pass"],
               "ec": ["except E as e:", "    h(e)", "finally:", "    q()"],
               "f": ["finally:", "    pass"]}
    loop = ["for y in z:", "    g(y)"]
    for (cn, case), (kn, closer) in itertools.product(cases, closers.items()):
        match = ["match a:"] + nest(case)
        lines = ["try:"] + nest(match) + closer + loop
        yield f"{cn}__{kn}", "def f(z):\n" + indent(lines, "    ")
        if kn != "f":
            lines = ["try:", "    h()"] + closer[:2] + ["else:"] + nest(match) + closer[2:]
            yield f"{cn}__{kn}__else", "def f(z):\n" + indent(lines + loop, "    ")


FAMILIES = {
    "chained-compare-tails": chained_compare_tails,
    "copied-exit-kept-pass": copied_exit_kept_pass,
    "finally-small-exit-prefix": finally_small_exit_prefix,
    "finally-try-pass": finally_try_pass,
    "folded-if-exit": folded_if_exit,
    "folded-if-expression-test": folded_if_expression_test,
    "generator-try-pass-tail": generator_try_pass_tail,
    "handler-exit-pass-finally": handler_exit_pass_finally,
    "if-expression-pass-body": if_expression_pass_body,
    "match-failure-try-tail": match_failure_try_tail,
    "match-false-guard-exit": match_false_guard_exit,
    "match-guard-exit": match_guard_exit,
    "match-guard-try-tail": match_guard_try_tail,
    "match-pass-case-if-else": match_pass_case_if_else,
    "match-tail-try-finally": match_tail_try_finally,
    "nested-finally-pass": nested_finally_pass,
    "nested-pass-try-exit": nested_pass_try_exit,
    "pass-finally-copied-entry": pass_finally_copied_entry,
    "pass-finally-exit": pass_finally_exit,
    "star-conditional-raise-finally": star_conditional_raise_finally,
    "star-else-binding-order": star_else_binding_order,
    "star-else-store-finally": star_else_store_finally,
    "star-handler-nested-try": star_handler_nested_try,
    "star-loop-pass-finally": star_loop_pass_finally,
    "star-try-nested-exit": star_try_nested_exit,
    "try-branch-pass-tail": try_branch_pass_tail,
    "try-else-pass-join": try_else_pass_join,
    "try-loop-else-pass": try_loop_else_pass,
    "try-star-else-nesting": try_star_else_nesting,
    "try-star-if-else-exit": try_star_if_else_exit,
    "try-star-match-pass-tail": try_star_match_pass_tail,
    "try-star-terminal-else": try_star_terminal_else,
    "with-suppression-exit": with_suppression_exit,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--family", required=True, choices=sorted(FAMILIES))
    parser.add_argument("--ours", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--optimize", type=int, default=0)
    args = parser.parse_args()

    out = os.path.join(ROOT, "target", "generated", "shapes", args.family)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    names, sources = zip(*FAMILIES[args.family]())
    checker = Checker(os.path.abspath(args.ours), args.target, args.optimize, out)
    equal = behaviour = 0
    for name, (kind, diff) in zip(names, checker.outcomes(sources, names)):
        print(f"{kind} {name}: {diff}" if diff else f"{kind} {name}")
        equal += kind in ("EQUAL", "BOTH-REJECT")
        behaviour += kind == "BEHAVIOUR"
    print(f"{args.family} {args.target} -O{args.optimize}: behaviour_changing={behaviour} "
          f"{equal}/{len(names)} equal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
