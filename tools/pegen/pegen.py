#!/usr/bin/env python3
"""Generates a Rust recursive-descent PEG parser from CPython's ``Grammar/python.gram``.

Run by hand; its output is checked in:

    python3 tools/pegen/pegen.py tools/pegen/grammar/python-3.14.gram \
        src/compile/syntax/parser/generated_314.rs 314

Why our own generator: the error path has to decide *which* SyntaxError CPython raises and
*where*, and CPython decides that with the parser its pegen generates from this grammar (two
passes, the second with the ``invalid_*`` rules; the furthest token the first pass fetched).
Reproducing the generated parser's control flow exactly (memoisation, left recursion by
growing the seed, lookaheads, cuts, forced tokens, gathers, keywords and soft keywords, the
``call_invalid_rules`` guard) is what makes the locations right, so the Rust parser is derived
from the same grammar file the same way.

What is *not* copied: the C actions. The parser builds light nodes (kind, first and last
token, children), and the actions of the ``invalid_*`` alternatives are translated here into
calls of hand-written Rust helpers in ``src/compile/syntax/parser/actions.rs``; actions that
build AST nodes only decide the light node's kind.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------
# The grammar's own syntax
# --------------------------------------------------------------------------------------


@dataclass
class Leaf:
    kind: str  # "name", "keyword", "soft", "token"
    value: str

    def __str__(self) -> str:
        if self.kind == "keyword":
            return f"'{self.value}'"
        if self.kind == "soft":
            return f'"{self.value}"'
        if self.kind == "token":
            return f"'{self.value}'"
        return self.value


@dataclass
class Group:
    rhs: "Rhs"


@dataclass
class Opt:
    node: object


@dataclass
class Repeat:
    node: object
    one: bool


@dataclass
class Gather:
    sep: object
    node: object


@dataclass
class Lookahead:
    node: object
    positive: bool


@dataclass
class Forced:
    node: object


@dataclass
class Cut:
    pass


@dataclass
class Item:
    name: str | None
    node: object


@dataclass
class Alt:
    items: list
    action: str | None
    text: str = ""


@dataclass
class Rhs:
    alts: list


@dataclass
class Rule:
    name: str
    rhs: Rhs
    memo: bool = False
    typ: str | None = None
    artificial: str | None = None  # "tmp", "loop0", "loop1", "gather"
    left_recursive: bool = False
    leader: bool = False
    nullable: bool = False


class GrammarSyntaxError(Exception):
    pass


TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+|\#[^\n]*)
  | (?P<meta>@[A-Za-z_]+)
  | (?P<tq>'''.*?''')
  | (?P<str>'[^'\\]*(?:\\.[^'\\]*)*'|"[^"\\]*(?:\\.[^"\\]*)*")
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<op>&&|[\[\]()|:=&!~?*+.{}])
    """,
    re.X | re.S,
)


def lex_grammar(text: str) -> list:
    out = []
    i = 0
    n = len(text)
    while i < n:
        if text[i] == "{":
            # An action: balanced braces, C strings and chars respected.
            depth = 0
            j = i
            while j < n:
                c = text[j]
                if c in "\"'":
                    k = j + 1
                    while text[k] != c:
                        k += 2 if text[k] == "\\" else 1
                    j = k + 1
                    continue
                if c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            out.append(("action", text[i + 1 : j].strip(), i))
            i = j + 1
            continue
        m = TOKEN_RE.match(text, i)
        if not m:
            raise GrammarSyntaxError(f"cannot read the grammar at {text[i:i + 40]!r}")
        kind = m.lastgroup
        if kind != "ws":
            out.append((kind, m.group(kind), i))
        i = m.end()
    out.append(("eof", "", n))
    return out


class GrammarParser:
    def __init__(self, text: str):
        self.text = text
        self.toks = lex_grammar(text)
        self.pos = 0

    def peek(self, k: int = 0):
        return self.toks[self.pos + k]

    def take(self):
        t = self.toks[self.pos]
        self.pos += 1
        return t

    def expect(self, kind: str, value: str | None = None):
        t = self.take()
        if t[0] != kind or (value is not None and t[1] != value):
            raise GrammarSyntaxError(f"expected {value or kind}, got {t[1]!r} at {t[2]}")
        return t

    def grammar(self) -> list:
        rules = []
        while self.peek()[0] != "eof":
            if self.peek()[0] == "meta":
                self.take()
                if self.peek()[0] in ("tq", "str", "name"):
                    self.take()
                continue
            rules.append(self.rule())
        return rules

    def at_rule_start(self) -> bool:
        # NAME ['[' type ']'] ['(' 'memo' ')'] ':' (not '=' after the name: that is an item)
        t = self.peek()
        if t[0] != "name":
            return False
        k = 1
        if self.peek(k)[1] == "[":
            while self.peek(k)[1] != "]":
                k += 1
            k += 1
        if self.peek(k)[1] == "(" and self.peek(k + 1)[1] == "memo":
            k += 3
        return self.peek(k)[1] == ":" and self.peek(k)[0] == "op"

    def rule(self) -> Rule:
        name = self.expect("name")[1]
        typ = None
        if self.peek()[1] == "[":
            self.take()
            parts = []
            while self.peek()[1] != "]":
                parts.append(self.take()[1])
            self.take()
            typ = " ".join(parts)
        memo = False
        if self.peek()[1] == "(":
            self.take()
            self.expect("name", "memo")
            self.expect("op", ")")
            memo = True
        self.expect("op", ":")
        rhs = self.rhs(top=True)
        return Rule(name, rhs, memo=memo, typ=typ)

    def rhs(self, top: bool = False) -> Rhs:
        alts = []
        if self.peek()[1] == "|":
            self.take()
        while True:
            alts.append(self.alt(top))
            if self.peek()[1] == "|" and self.peek()[0] == "op":
                self.take()
                continue
            break
        return Rhs(alts)

    def alt(self, top: bool) -> Alt:
        items = []
        start = self.peek()[2]
        while True:
            t = self.peek()
            if t[0] == "eof" or (t[0] == "op" and t[1] in "|)]"):
                break
            if t[0] == "action":
                break
            if top and self.at_rule_start():
                break
            items.append(self.named_item())
        action = None
        end = self.peek()[2]
        if self.peek()[0] == "action":
            action = self.take()[1]
        text = " ".join(self.text[start:end].split())
        if not items:
            raise GrammarSyntaxError(f"empty alternative at {start}")
        return Alt(items, action, text)

    def named_item(self) -> Item:
        t = self.peek()
        if t[0] == "name" and self.peek(1)[1] == "=" and self.peek(1)[0] == "op":
            self.take()
            self.take()
            return Item(t[1], self.item())
        if t[0] == "name" and self.peek(1)[1] == "[":
            # a[type]=item
            k = 1
            while self.peek(k)[1] != "]":
                k += 1
            if self.peek(k + 1)[1] == "=":
                self.take()
                for _ in range(k):
                    self.take()
                self.expect("op", "=")
                return Item(t[1], self.item())
        return Item(None, self.item())

    def item(self):
        t = self.peek()
        if t[1] == "&&":
            self.take()
            return Forced(self.atom())
        if t[1] == "&":
            self.take()
            return Lookahead(self.atom(), True)
        if t[1] == "!":
            self.take()
            return Lookahead(self.atom(), False)
        if t[1] == "~":
            self.take()
            return Cut()
        if t[1] == "[":
            self.take()
            rhs = self.rhs()
            self.expect("op", "]")
            return Opt(Group(rhs))
        atom = self.atom()
        nxt = self.peek()
        if nxt[0] == "op" and nxt[1] == "?":
            self.take()
            return Opt(atom)
        if nxt[0] == "op" and nxt[1] == "*":
            self.take()
            return Repeat(atom, False)
        if nxt[0] == "op" and nxt[1] == "+":
            self.take()
            return Repeat(atom, True)
        if nxt[0] == "op" and nxt[1] == ".":
            self.take()
            elem = self.atom()
            self.expect("op", "+")
            return Gather(atom, elem)
        return atom

    def atom(self):
        t = self.take()
        if t[1] == "(" and t[0] == "op":
            rhs = self.rhs()
            self.expect("op", ")")
            return Group(rhs)
        if t[0] == "name":
            return Leaf("name", t[1])
        if t[0] == "str":
            value = t[1][1:-1]
            if re.fullmatch(r"[A-Za-z_]\w*", value):
                return Leaf("keyword" if t[1][0] == "'" else "soft", value)
            return Leaf("token", value)
        raise GrammarSyntaxError(f"unexpected {t[1]!r} at {t[2]}")


# --------------------------------------------------------------------------------------
# Analysis: artificial rules, nullability, left recursion (as pegen does it)
# --------------------------------------------------------------------------------------

TOKEN_NAMES = {
    "NAME": "Name",
    "NUMBER": "Number",
    "STRING": "String",
    "NEWLINE": "Newline",
    "INDENT": "Indent",
    "DEDENT": "Dedent",
    "ENDMARKER": "EndMarker",
    "FSTRING_START": "FStringStart",
    "FSTRING_MIDDLE": "FStringMiddle",
    "FSTRING_END": "FStringEnd",
    "TSTRING_START": "TStringStart",
    "TSTRING_MIDDLE": "TStringMiddle",
    "TSTRING_END": "TStringEnd",
    "TYPE_COMMENT": "TypeComment",
    # 3.12 only: its tokenizer still turns `async` / `await` into these.
    "ASYNC": "Async",
    "AWAIT": "Await",
    "SOFT_KEYWORD": None,
}

OPERATORS = {
    "(": "Lpar", ")": "Rpar", "[": "Lsqb", "]": "Rsqb", ":": "Colon", ",": "Comma",
    ";": "Semi", "+": "Plus", "-": "Minus", "*": "Star", "/": "Slash", "|": "Vbar",
    "&": "Amper", "<": "Less", ">": "Greater", "=": "Equal", ".": "Dot", "%": "Percent",
    "{": "Lbrace", "}": "Rbrace", "==": "EqEqual", "!=": "NotEqual", "<=": "LessEqual",
    ">=": "GreaterEqual", "~": "Tilde", "^": "Circumflex", "<<": "LeftShift",
    ">>": "RightShift", "**": "DoubleStar", "+=": "PlusEqual", "-=": "MinEqual",
    "*=": "StarEqual", "/=": "SlashEqual", "%=": "PercentEqual", "&=": "AmperEqual",
    "|=": "VbarEqual", "^=": "CircumflexEqual", "<<=": "LeftShiftEqual",
    ">>=": "RightShiftEqual", "**=": "DoubleStarEqual", "//": "DoubleSlash",
    "//=": "DoubleSlashEqual", "@": "At", "@=": "AtEqual", "->": "Rarrow",
    "...": "Ellipsis", ":=": "ColonEqual", "!": "Exclamation",
}


class Analysis:
    def __init__(self, rules: list):
        self.rules: dict[str, Rule] = {}
        for r in rules:
            self.rules[r.name] = r
        self.order = [r.name for r in rules]
        self.counter = 0
        self.keywords: list[str] = []
        self.soft_keywords: list[str] = []
        for r in rules:
            self.lift_rhs(r.rhs)
        self.compute_nullable()
        self.compute_left_recursion()

    # pegen's name_node/name_loop/name_gather: sub-expressions become rules of their own
    def new_rule(self, prefix: str, rhs: Rhs, artificial: str) -> str:
        self.counter += 1
        name = f"_{prefix}_{self.counter}"
        self.rules[name] = Rule(name, rhs, artificial=artificial)
        self.order.append(name)
        return name

    def lift_rhs(self, rhs: Rhs) -> None:
        for alt in rhs.alts:
            for item in alt.items:
                item.node = self.lift(item.node)

    def lift(self, node):
        if isinstance(node, Leaf):
            if node.kind == "keyword" and node.value not in self.keywords:
                self.keywords.append(node.value)
            if node.kind == "soft" and node.value not in self.soft_keywords:
                self.soft_keywords.append(node.value)
            if node.kind == "token" and node.value not in OPERATORS:
                raise GrammarSyntaxError(f"unknown operator {node.value!r}")
            return node
        if isinstance(node, Group):
            self.lift_rhs(node.rhs)
            alts = node.rhs.alts
            if len(alts) == 1 and len(alts[0].items) == 1 and alts[0].action is None:
                # pegen inlines a group of one item without an action.
                return alts[0].items[0].node
            return Leaf("name", self.new_rule("tmp", node.rhs, "tmp"))
        if isinstance(node, Opt):
            return Opt(self.lift(node.node))
        if isinstance(node, Repeat):
            inner = self.lift(node.node)
            rhs = Rhs([Alt([Item(None, inner)], None, "")])
            kind = "loop1" if node.one else "loop0"
            return Leaf("name", self.new_rule(kind, rhs, kind))
        if isinstance(node, Gather):
            sep = self.lift(node.sep)
            elem = self.lift(node.node)
            rhs = Rhs([Alt([Item(None, elem), Item(None, sep)], None, "")])
            return Leaf("name", self.new_rule("gather", rhs, "gather"))
        if isinstance(node, Lookahead):
            return Lookahead(self.lift(node.node), node.positive)
        if isinstance(node, Forced):
            return Forced(self.lift(node.node))
        if isinstance(node, Cut):
            return node
        raise TypeError(node)

    def is_rule(self, node) -> bool:
        return isinstance(node, Leaf) and node.kind == "name" and node.value in self.rules

    def node_nullable(self, node) -> bool:
        if isinstance(node, Leaf):
            if node.kind == "name" and node.value in self.rules:
                return self.rules[node.value].nullable
            return False
        if isinstance(node, (Opt, Lookahead, Cut)):
            return True
        if isinstance(node, Forced):
            return False
        raise TypeError(node)

    def compute_nullable(self) -> None:
        changed = True
        while changed:
            changed = False
            for r in self.rules.values():
                if r.nullable:
                    continue
                if r.artificial == "loop0":
                    value = True
                elif r.artificial == "gather":
                    value = self.node_nullable(r.rhs.alts[0].items[0].node)
                else:
                    value = any(
                        all(self.node_nullable(i.node) for i in alt.items) for alt in r.rhs.alts
                    )
                if value:
                    r.nullable = True
                    changed = True

    def initial_names(self, r: Rule) -> set:
        names = set()
        alts = r.rhs.alts
        if r.artificial == "gather":
            alts = [Alt([r.rhs.alts[0].items[0]], None)]
        for alt in alts:
            for item in alt.items:
                node = item.node
                if isinstance(node, Opt):
                    node = node.node
                if isinstance(node, Forced):
                    node = node.node
                if self.is_rule(node):
                    names.add(node.value)
                if not self.node_nullable(item.node):
                    break
        return names

    def compute_left_recursion(self) -> None:
        graph = {name: self.initial_names(r) for name, r in self.rules.items()}
        for scc in tarjan(graph):
            if len(scc) > 1:
                for name in scc:
                    self.rules[name].left_recursive = True
                leaders = set(scc)
                for start in sorted(scc):
                    for cycle in cycles_in(graph, scc, start):
                        leaders -= scc - set(cycle)
                if not leaders:
                    raise GrammarSyntaxError(f"SCC {sorted(scc)} has no leadership candidate")
                self.rules[min(leaders)].leader = True
            else:
                (name,) = scc
                if name in graph[name]:
                    self.rules[name].left_recursive = True
                    self.rules[name].leader = True


def tarjan(graph: dict) -> list:
    index: dict = {}
    low: dict = {}
    stack: list = []
    on: set = set()
    out: list = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            out.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def cycles_in(graph: dict, scc: set, start: str):
    def dfs(node, path):
        for nxt in sorted(graph[node]):
            if nxt not in scc:
                continue
            if nxt == start:
                yield path + [node]
            elif nxt not in path and nxt != node:
                yield from dfs(nxt, path + [node])

    yield from dfs(start, [])


# --------------------------------------------------------------------------------------
# Actions: the light node a successful alternative yields, or the translated error action
# --------------------------------------------------------------------------------------

# AST constructors whose node kinds the error helpers inspect; any other constructor gives
# `Other`.
AST_KINDS = {
    "Attribute", "Subscript", "Starred", "Name", "List", "Tuple", "Lambda", "Call",
    "BoolOp", "BinOp", "UnaryOp", "GeneratorExp", "Yield", "YieldFrom", "Await",
    "ListComp", "SetComp", "DictComp", "Dict", "Set", "Compare", "IfExp", "NamedExpr",
    "Slice", "JoinedStr", "FormattedValue", "TemplateStr", "Interpolation",
}

HELPER_KINDS = {
    "_PyPegen_formatted_value": "FormattedValue",
    "_PyPegen_interpolation": "Interpolation",
    "_PyPegen_joined_str": "JoinedStr",
    "_PyPegen_template_str": "TemplateStr",
    "_PyPegen_concatenate_tstrings": "TemplateStr",
    "_PyPegen_collect_call_seqs": "Call",
    "_PyPegen_join_names_with_dot": "Name",
    "_PyPegen_constant_from_string": "Constant",
    "_PyPegen_constant_from_token": "Constant",
    "_PyPegen_decoded_constant_from_token": "Constant",
    "_PyPegen_seq_insert_in_front": "Seq",
    "_PyPegen_singleton_seq": "Seq",
    "_PyPegen_seq_append_to_end": "Seq",
    "_PyPegen_seq_flatten": "Seq",
    "_PyPegen_join_sequences": "Seq",
}

CONSTANTS = {"Py_True": "ConstTrue", "Py_False": "ConstFalse", "Py_None": "ConstNone",
             "Py_Ellipsis": "ConstEllipsis"}


def item_vars(alt: Alt) -> list:
    """The variable names of an alternative's items, as the C generator names them."""
    names = []
    seen: dict = {}
    for i, item in enumerate(alt.items):
        if isinstance(item.node, (Lookahead, Cut)):
            names.append(None)
            continue
        base = item.name or f"_v{i}"
        if base in seen:
            seen[base] += 1
            base = f"{base}_{seen[base]}"
        else:
            seen[base] = 0
        names.append(base)
    return names


def rust_ident(name: str) -> str:
    if name in {"type", "match", "in", "as", "fn", "let", "mod", "ref", "use", "loop", "move",
                "self", "super", "box", "where", "impl", "trait", "dyn", "pub", "mut",
                "static", "const", "crate", "async", "await", "try", "final", "yield",
                "for", "if", "else", "while", "break", "continue", "return", "struct",
                "enum", "true", "false", "extern", "unsafe", "macro", "priv", "typeof",
                "virtual", "override", "abstract", "become", "do", "unsized", "gen"}:
        return f"{name}_"
    return name


class ActionTranslator:
    """Translates the C of an ``invalid_*`` action into Rust calls of `actions.rs`.

    The subset handled is what python.gram uses: the RAISE_* macros, the `_PyPegen_*`
    helpers they call, ternaries on them, string literals, field reads of nodes and tokens.
    Anything else makes the generator stop, so a new grammar cannot be half-translated.
    """

    def __init__(self, vars_: dict):
        self.vars = vars_  # C name -> Rust expression of type N (or Option<N>)
        self.toks: list = []
        self.pos = 0

    def translate(self, code: str) -> str:
        self.toks = re.findall(
            r'"(?:[^"\\]|\\.)*"|->|==|!=|\|\||&&|[A-Za-z_]\w*|\d+|[()?:,\-*\[\]]|\S', code
        )
        self.pos = 0
        out = self.expr()
        if self.pos != len(self.toks):
            raise GrammarSyntaxError(f"cannot translate action {code!r} at {self.toks[self.pos:]}")
        return out

    def peek(self):
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self, value=None):
        t = self.toks[self.pos]
        if value is not None and t != value:
            raise GrammarSyntaxError(f"expected {value!r}, got {t!r} in {' '.join(self.toks)}")
        self.pos += 1
        return t

    def expr(self) -> str:
        cond = self.comparison()
        if self.peek() == "?":
            self.take()
            yes = self.expr()
            self.take(":")
            no = self.expr()
            values = set(self.vars.values())
            yes = f"Some({yes})" if yes in values else yes
            no = f"Some({no})" if no in values else no
            return f"(if {cond} {{ {yes} }} else {{ {no} }})"
        return cond

    def comparison(self) -> str:
        left = self.unary()
        if self.peek() == "-" and self.pos + 1 < len(self.toks) and self.toks[self.pos + 1].isdigit():
            self.take()
            left = f"({left} - {self.take()})"
        if self.peek() == "==":
            self.take()
            right = self.unary()
            return f"({left} == {right})"
        return left

    def unary(self) -> str:
        t = self.take()
        if t.startswith('"'):
            parts = [t]
            while self.peek() and self.peek().startswith('"'):
                parts.append(self.take())
            return "".join(p[:-1] if i == 0 else p[1:-1] if i < len(parts) - 1 else p[1:]
                           for i, p in enumerate(parts)) if len(parts) > 1 else t
        if t == "(":
            # a cast like (expr_ty) or a parenthesised expression
            if self.peek() in {"expr_ty", "void", "Token"}:
                while self.take() != ")":
                    pass
                return self.unary()
            inner = self.expr()
            self.take(")")
            return inner
        if t == "-":
            return f"-{self.take()}"
        if t.isdigit():
            return t
        if t == "NULL":
            return "None"
        if t == "EXTRA":
            return "mark"
        if t == "p" and self.peek() == "->":
            # p->tokens[p->mark-1]->level: the bracket depth after the previous token.
            for expected in ["->", "tokens", "[", "p", "->", "mark", "-", "1", "]", "->", "level"]:
                self.take(expected)
            return "self.prev_token_level()"
        if t == "p":
            return "self"
        if t in {"Tuple_kind"}:
            return "Kind::Tuple"
        if t in {"STAR_TARGETS", "DEL_TARGETS", "FOR_TARGETS"}:
            return f"Targets::{t.split('_')[0].capitalize()}"
        if t == "PyExc_SyntaxError":
            return '"SyntaxError"'
        if t == "CHECK_VERSION":
            self.take("(")
            depth = 0
            while not (depth == 0 and self.peek() == ","):
                tok = self.take()
                depth += tok == "("
                depth -= tok == ")"
            self.take(",")
            self.expr()
            self.take(",")
            self.expr()
            self.take(",")
            inner = self.expr()
            self.take(")")
            return inner
        if t.endswith("_ty") and self.peek() != "(":
            return t
        if self.peek() == "(":
            self.take()
            args = []
            while self.peek() != ")":
                args.append(self.expr())
                if self.peek() == ",":
                    self.take()
            self.take(")")
            return self.call(t, args)
        base = self.vars.get(t)
        if base is None:
            raise GrammarSyntaxError(f"unknown name {t!r} in action {' '.join(self.toks)}")
        while self.peek() == "->":
            self.take()
            fld = self.take()
            while self.peek() == "->" or self.peek() == ".":
                self.take()
                fld += "." + self.take()
            base = {
                "lineno": f"self.lineno({base})",
                "end_col_offset": f"self.end_col({base})",
                "end_lineno": f"self.end_lineno({base})",
                "kind": f"self.kind({base})",
                "bytes": f"self.text_of({base})",
                "v.Name.id": f"self.text_of({base})",
            }[fld]
        return base

    def call(self, name: str, args: list) -> str:
        if name == "PyErr_Occurred":
            return "self.err_occurred()"
        if name == "PyBytes_AS_STRING":
            return args[0]
        if name == "CHECK_VERSION":
            return args[3]
        if name in {"PyPegen_first_item", "PyPegen_last_item"}:
            which = "first" if "first" in name else "last"
            return f"self.{which}_item({args[0]})"
        simple = {
            "RAISE_SYNTAX_ERROR": "raise_syntax_error",
            "RAISE_INDENTATION_ERROR": "raise_indentation_error",
            "RAISE_SYNTAX_ERROR_ON_NEXT_TOKEN": "raise_on_next_token",
        }
        if name in simple:
            return f"self.{simple[name]}({self.format(args)})"
        if name == "RAISE_SYNTAX_ERROR_KNOWN_LOCATION":
            return f"self.raise_known_location({args[0]}, {self.format(args[1:])})"
        if name == "RAISE_SYNTAX_ERROR_KNOWN_RANGE":
            return f"self.raise_known_range({args[0]}, {args[1]}, {self.format(args[2:])})"
        if name == "RAISE_SYNTAX_ERROR_STARTING_FROM":
            return f"self.raise_starting_from({args[0]}, {self.format(args[1:])})"
        if name == "RAISE_SYNTAX_ERROR_INVALID_TARGET":
            return f"self.raise_invalid_target({args[0]}, {args[1]})"
        if name == "RAISE_ERROR_KNOWN_LOCATION":
            # (p, type, lineno, col, end_lineno, end_col, msg)
            return (f"self.raise_error_known_location({args[2]}, {args[3]}, {args[4]}, "
                    f"{args[5]}, {self.format(args[6:])})")
        if name.startswith("_PyPegen_"):
            helper = name[len("_PyPegen_"):]
            rest = [a for a in args if a != "self"]
            return f"self.{helper}({', '.join(rest)})"
        raise GrammarSyntaxError(f"no translation for {name}")

    @staticmethod
    def format(args: list) -> str:
        fmt = args[0]
        if len(args) == 1:
            return f"{fmt}.to_owned()"
        rust_fmt = fmt.replace("{", "{{").replace("}", "}}")
        rust_fmt = re.sub(r"%[sdU]", "{}", rust_fmt)
        return f"format!({rust_fmt}, {', '.join(args[1:])})"


def node_kind(action: str) -> tuple:
    """(kind, passthrough variable) for a non-error action."""
    stripped = action.strip()
    if "_PyPegen_cmpop_expr_pair" in stripped:
        return ("CmpIn" if re.search(r"\bIn\b", stripped) else "CmpOther"), None
    if "_PyAST_keyword(NULL" in stripped:
        return "KeywordUnpack", None
    if "_PyAST_keyword(" in stripped:
        return "Keyword", None
    if "_PyAST_comprehension(" in stripped:
        return "Comprehension", None
    if "_PyPegen_concatenate_strings" in stripped:
        return "Strings", None
    if re.fullmatch(r"[A-Za-z_]\w*", stripped):
        return None, stripped
    for const, kind in CONSTANTS.items():
        if f"_PyAST_Constant({const}" in stripped:
            return kind, None
    m = re.search(r"_PyAST_(\w+)\(", stripped)
    calls = re.findall(r"(_Py\w+)\(", stripped)
    first = None
    for c in calls:
        if c.startswith("_PyAST_"):
            first = c[len("_PyAST_"):]
            break
        if c in HELPER_KINDS:
            first = HELPER_KINDS[c]
            break
        if c in {"_PyPegen_set_expr_context", "_PyPegen_keyword_or_starred",
                 "_PyPegen_add_type_comment_to_arg", "_PyPegen_ensure_real",
                 "_PyPegen_ensure_imaginary"}:
            arg = re.search(re.escape(c) + r"\(p,\s*(\w+)", stripped)
            if arg:
                return None, arg.group(1)
    if m and first is None:
        first = m.group(1)
    if first in AST_KINDS or first in {"Constant", "Seq", "Name", "Strings"}:
        return first, None
    if first == "Constant":
        return "Constant", None
    return "Other", None


# --------------------------------------------------------------------------------------
# Emitting Rust
# --------------------------------------------------------------------------------------


class Emitter:
    def __init__(self, analysis: Analysis, source_name: str, tag: str):
        self.a = analysis
        self.tag = tag
        self.source_name = source_name
        self.lines: list = []
        self.rule_ids = {name: i for i, name in enumerate(analysis.order)}
        self.error_actions = 0
        # Only what `file` (exec input) can reach: the other start rules are not ours.
        self.reachable: set = set()
        todo = ["file"]
        while todo:
            name = todo.pop()
            if name in self.reachable:
                continue
            self.reachable.add(name)
            for alt in analysis.rules[name].rhs.alts:
                for item in alt.items:
                    todo.extend(self.rule_refs(item.node))

    def fn(self, rule: str) -> str:
        """The method name of a rule (one namespace per grammar version on one type)."""
        return f"g{self.tag}_{rule}"

    def raw(self, rule: str) -> str:
        return f"g{self.tag}raw_{rule}"

    def rule_refs(self, node) -> list:
        while isinstance(node, (Opt, Lookahead, Forced)):
            node = node.node
        if isinstance(node, Leaf) and node.kind == "name" and node.value in self.a.rules:
            return [node.value]
        return []

    def w(self, line: str = "") -> None:
        self.lines.append(line)

    def call_for(self, node) -> str:
        """A Rust expression of type Option<N> that matches `node` at the current mark."""
        if isinstance(node, Leaf):
            if node.kind == "name":
                if node.value in self.a.rules:
                    return f"self.{self.fn(node.value)}()"
                if node.value == "SOFT_KEYWORD":
                    return "self.soft_keyword_token()"
                if node.value == "NAME":
                    return "self.name_token()"
                if node.value in TOKEN_NAMES:
                    return f"self.expect(TokenKind::{TOKEN_NAMES[node.value]})"
                raise GrammarSyntaxError(f"unknown rule or token {node.value}")
            if node.kind == "keyword":
                return f"self.expect_keyword({self.a.keywords.index(node.value)})"
            if node.kind == "soft":
                return f'self.expect_soft_keyword("{node.value}")'
            return f"self.expect(TokenKind::{OPERATORS[node.value]})"
        if isinstance(node, Forced):
            inner = node.node
            if isinstance(inner, Leaf) and inner.kind == "token":
                return (f"self.expect_forced(TokenKind::{OPERATORS[inner.value]}, "
                        f"\"{inner.value}\")")
            raise GrammarSyntaxError("forced item that is not a token")
        raise GrammarSyntaxError(f"no call for {node}")

    def emit(self) -> str:
        a = self.a
        self.w(f"// @generated by tools/pegen/pegen.py from {self.source_name}: do not edit.")
        self.w("// The grammar's structure drives the control flow; the invalid_* actions call")
        self.w("// the hand-written helpers of `actions.rs`.")
        self.w("#![allow(clippy::all, unused_variables, unused_mut, unused_parens, non_snake_case)]")
        self.w("#![allow(unreachable_code, clippy::pedantic)]")
        self.w()
        self.w("use super::actions::Targets;")
        self.w("use super::runtime::{Kind, Parser, N};")
        self.w("use crate::compile::syntax::token::TokenKind;")
        self.w()
        kws = ", ".join(f'"{k}"' for k in a.keywords)
        self.w(f"/// The grammar's keywords (single-quoted names), indexed by `expect_keyword`.")
        self.w(f"pub(super) const KEYWORDS: &[&str] = &[{kws}];")
        softs = ", ".join(f'"{k}"' for k in a.soft_keywords)
        self.w(f"/// The grammar's soft keywords (double-quoted names).")
        self.w(f"pub(super) const SOFT_KEYWORDS: &[&str] = &[{softs}];")
        self.w()
        self.w("impl Parser<'_> {")
        self.w("    /// The start rule for `exec` input.")
        self.w(f"    pub(super) fn parse_file_{self.tag}(&mut self) -> Option<N> {{")
        self.w(f"        self.{self.fn('file')}()")
        self.w("    }")
        for name in a.order:
            if name in self.reachable:
                self.emit_rule(a.rules[name])
        self.w("}")
        return "\n".join(self.lines) + "\n"

    def emit_rule(self, r: Rule) -> None:
        rid = self.rule_ids[r.name]
        self.w()
        self.w(f"    // {r.name}{' (memo)' if r.memo else ''}{' (left-recursive leader)' if r.leader else ''}")
        self.w(f"    fn {self.fn(r.name)}(&mut self) -> Option<N> {{")
        self.w("        if !self.enter() {")
        self.w("            return None;")
        self.w("        }")
        without_invalid = r.name.endswith("without_invalid")
        if without_invalid:
            self.w("        let saved_invalid = std::mem::replace(&mut self.call_invalid_rules, false);")
        if r.left_recursive and r.leader:
            self.w(f"        let res = self.grow_seed({rid}, Self::{self.raw(r.name)});")
        elif r.memo:
            self.w(f"        let res = self.memoized({rid}, Self::{self.raw(r.name)});")
        else:
            self.w(f"        let res = self.{self.raw(r.name)}();")
        if without_invalid:
            self.w("        self.call_invalid_rules = saved_invalid;")
        self.w("        self.leave();")
        self.w("        res")
        self.w("    }")
        self.w()
        self.w(f"    fn {self.raw(r.name)}(&mut self) -> Option<N> {{")
        self.w("        let mark = self.mark;")
        if r.artificial in ("loop0", "loop1"):
            self.emit_loop(r)
        elif r.artificial == "gather":
            self.emit_gather(r)
        else:
            for i, alt in enumerate(r.rhs.alts):
                self.emit_alt(r, i, alt)
            self.w("        None")
        self.w("    }")

    def emit_loop(self, r: Rule) -> None:
        item = r.rhs.alts[0].items[0].node
        self.w("        if self.error_indicator {")
        self.w("            return None;")
        self.w("        }")
        self.w("        let mut kids = Vec::new();")
        self.w("        let mut last = mark;")
        self.w(f"        while let Some(x) = {self.call_for(item)} {{")
        self.w("            kids.push(x);")
        self.w("            last = self.mark;")
        self.w("        }")
        self.w("        self.mark = last;")
        if r.artificial == "loop1":
            self.w("        if kids.is_empty() || self.error_indicator {")
            self.w("            return None;")
            self.w("        }")
        self.w("        Some(self.seq(mark, kids))")

    def emit_gather(self, r: Rule) -> None:
        elem = r.rhs.alts[0].items[0].node
        sep = r.rhs.alts[0].items[1].node
        self.w("        if self.error_indicator {")
        self.w("            return None;")
        self.w("        }")
        self.w(f"        let Some(first) = {self.call_for(elem)} else {{")
        self.w("            self.mark = mark;")
        self.w("            return None;")
        self.w("        };")
        self.w("        let mut kids = vec![first];")
        self.w("        let mut last = self.mark;")
        self.w("        if !self.error_indicator {")
        self.w("            loop {")
        self.w(f"                if {self.call_for(sep)}.is_none() {{")
        self.w("                    break;")
        self.w("                }")
        self.w(f"                let Some(x) = {self.call_for(elem)} else {{")
        self.w("                    break;")
        self.w("                };")
        self.w("                kids.push(x);")
        self.w("                last = self.mark;")
        self.w("            }")
        self.w("        }")
        self.w("        self.mark = last;")
        self.w("        Some(self.seq(mark, kids))")

    def emit_alt(self, r: Rule, index: int, alt: Alt) -> None:
        names = item_vars(alt)
        guarded = (len(alt.items) == 1 and alt.items[0].name is None
                   and isinstance(alt.items[0].node, Leaf)
                   and alt.items[0].node.value.startswith("invalid_"))
        self.w(f"        // {alt.text}")
        if guarded:
            self.w("        if self.call_invalid_rules {")
        else:
            self.w("        {")
        self.w("            if self.error_indicator {")
        self.w("                return None;")
        self.w("            }")
        has_cut = any(isinstance(i.node, Cut) for i in alt.items)
        if has_cut:
            self.w("            let mut cut = false;")
        self.w("            'alt: {")
        rust_vars: dict = {}
        for item, var in zip(alt.items, names):
            node = item.node
            if isinstance(node, Cut):
                self.w("                cut = true;")
                continue
            if isinstance(node, Lookahead):
                inner = node.node
                if isinstance(inner, Leaf) and inner.kind == "name" and inner.value in self.a.rules:
                    fn = f"Self::{self.fn(inner.value)}"
                    call = f"self.lookahead({'true' if node.positive else 'false'}, {fn})"
                else:
                    call = (f"self.lookahead({'true' if node.positive else 'false'}, "
                            f"|p: &mut Self| {self.call_for(inner).replace('self.', 'p.', 1)})")
                self.w(f"                if !{call} {{")
                self.w("                    break 'alt;")
                self.w("                }")
                continue
            rv = rust_ident(var)
            if isinstance(node, Opt):
                self.w(f"                let {rv} = {self.call_for(node.node)};")
                self.w("                if self.error_indicator {")
                self.w("                    break 'alt;")
                self.w("                }")
                rust_vars[var] = ("opt", rv)
                continue
            self.w(f"                let Some({rv}) = {self.call_for(node)} else {{")
            self.w("                    break 'alt;")
            self.w("                };")
            rust_vars[var] = ("node", rv)
        self.emit_action(r, index, alt, names, rust_vars)
        self.w("            }")
        self.w("            self.mark = mark;")
        if has_cut:
            self.w("            if cut {")
            self.w("                return None;")
            self.w("            }")
        self.w("        }")

    def emit_action(self, r: Rule, index: int, alt: Alt, names: list, rust_vars: dict) -> None:
        action = alt.action
        present = [v for v in names if v is not None]
        error_action = action is not None and (
            "RAISE" in action or "_PyPegen_raise_error" in action
            or "_PyPegen_nonparen_genexp_in_call" in action
            or "_PyPegen_arguments_parsing_error" in action
            or "_PyPegen_check_barry_as_flufl" in action
            # First-pass actions that can raise (modelled in actions.rs).
            or "_PyPegen_check_fstring_conversion" in action
            or "_PyPegen_concatenate_strings" in action
        )
        if error_action:
            self.error_actions += 1
            vars_for_c = {}
            for cname, (how, rv) in rust_vars.items():
                vars_for_c[cname] = rv
            expr = ActionTranslator(vars_for_c).translate(action)
            # C: `_res = action; ... goto done;` whether or not the action gave a node.
            self.w(f"                return {expr};")
            return
        if action is None:
            if len(present) == 1:
                how, rv = rust_vars[present[0]]
                self.w(f"                return {rv if how == 'opt' else f'Some({rv})'};")
            else:
                self.w(f"                return Some(self.node(Kind::Other, mark, &[]));")
            return
        kind, passthrough = node_kind(action)
        if passthrough is not None and passthrough in rust_vars:
            how, rv = rust_vars[passthrough]
            self.w(f"                return {rv if how == 'opt' else f'Some({rv})'};")
            return
        # Children: the variables the action mentions, in the order of the alternative.
        used = [v for v in present if re.search(r"\b" + re.escape(v) + r"\b", action)]
        kids = []
        for v in used:
            how, rv = rust_vars[v]
            kids.append(rv if how == "node" else f"{rv}.unwrap_or(N::NONE)")
        kind = kind or "Other"
        if kind in ("Compare",):
            pass
        if "asdl_seq_LEN(patterns) == 1" in action:
            self.w(f"                return Some({rust_vars['patterns'][1]});")
            return
        self.w(f"                return Some(self.node(Kind::{kind}, mark, &[{', '.join(kids)}]));")


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit("usage: pegen.py GRAMMAR OUTPUT.rs VERSION_TAG   (e.g. 314)")
    src, dst, tag = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(src, encoding="utf-8") as f:
        text = f.read()
    rules = GrammarParser(text).grammar()
    analysis = Analysis(rules)
    emitter = Emitter(analysis, src, tag)
    out = emitter.emit()
    with open(dst, "w", encoding="utf-8") as f:
        f.write(out)
    leaders = [n for n in analysis.order if analysis.rules[n].leader]
    print(f"{len(rules)} rules, {len(analysis.order)} with artificial ones; "
          f"left-recursive leaders: {', '.join(leaders)}; "
          f"{emitter.error_actions} error actions translated", file=sys.stderr)


if __name__ == "__main__":
    main()
