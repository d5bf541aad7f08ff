#!/usr/bin/env python3
"""Derives CPython 3.12's grammar from the 3.13 one for the error path's PEG parser.

Run by hand; its output is checked in:

    python3 tools/pegen/derive_312.py   # writes tools/pegen/grammar/python-3.12.gram

Why derived: no copy of the 3.12 branch's ``Grammar/python.gram`` was at hand, and 3.12's
grammar is 3.13's minus what 3.13 added. Each edit below names the 3.13 change it undoes;
each was checked against a native CPython 3.12.1 (and, as a whole, against the 3.12.7
oracle of ``tests/mutations.rs``). An edit whose text is missing stops the script.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
src = (ROOT / "tools/pegen/grammar/python-3.13.gram").read_text()
lines = src.split("\n")
# drop the 3.13 file's own header block (lines 3-23) and put ours
body = "\n".join(lines[:1] + lines[24:])
def rep(old, new, count=1):
    global body
    n = body.count(old)
    assert n == count, (old, n)
    body = body.replace(old, new)
# 3.12: the forced tokens of a def are in function_def_raw (first pass), not in invalid_def_raw
rep("""    | 'def' n=NAME t=[type_params] '(' params=[params] ')' a=['->' z=expression { z }] ':' tc=[func_type_comment] b=block {""",
    """    | 'def' n=NAME t=[type_params] &&'(' params=[params] ')' a=['->' z=expression { z }] &&':' tc=[func_type_comment] b=block {""")
rep("""    | 'async' 'def' n=NAME t=[type_params] '(' params=[params] ')' a=['->' z=expression { z }] ':' tc=[func_type_comment] b=block {""",
    """    | 'async' 'def' n=NAME t=[type_params] &&'(' params=[params] ')' a=['->' z=expression { z }] &&':' tc=[func_type_comment] b=block {""")
rep("""    | ['async'] 'def' NAME [type_params] &&'(' [params] ')' ['->' expression] &&':' [func_type_comment] block\n""", "")
# no PEP 696 type parameter defaults, no empty-list message
rep("""    | invalid_type_params\n    | '[' t=type_param_seq ']'""", """    | '[' t=type_param_seq ']'""")
rep("""    | a=NAME b=[type_param_bound] c=[type_param_default] { _PyAST_TypeVar(a->v.Name.id, b, c, EXTRA) }""",
    """    | a=NAME b=[type_param_bound] { _PyAST_TypeVar(a->v.Name.id, b, EXTRA) }""")
rep("""    | '*' a=NAME b=[type_param_starred_default] { _PyAST_TypeVarTuple(a->v.Name.id, b, EXTRA) }""",
    """    | '*' a=NAME { _PyAST_TypeVarTuple(a->v.Name.id, EXTRA) }""")
rep("""    | '**' a=NAME b=[type_param_default] { _PyAST_ParamSpec(a->v.Name.id, b, EXTRA) }""",
    """    | '**' a=NAME { _PyAST_ParamSpec(a->v.Name.id, EXTRA) }""")
rep("""type_param_default[expr_ty]: '=' e=expression {
    CHECK_VERSION(expr_ty, 13, "Type parameter defaults are", e) }
type_param_starred_default[expr_ty]: '=' e=star_expression {
    CHECK_VERSION(expr_ty, 13, "Type parameter defaults are", e) }
""", "")
i = body.index("invalid_type_params:\n")
body = body[:i].rstrip("\n") + "\n"
# no 'not' after an operator rules
rep("    | invalid_arithmetic\n", "")
rep("    | invalid_factor\n", "")
i = body.index("invalid_arithmetic:\n"); j = body.index("\n", body.index("invalid_factor:\n") + len("invalid_factor:\n"))
body = body[:i] + body[j+1:]
# no "'in' expected after for-loop variables"
rep("""    | 'async'? 'for' (bitwise_or (',' bitwise_or)* [',']) !'in' {
        RAISE_SYNTAX_ERROR("'in' expected after for-loop variables") }
""", "")
# no "Invalid star expression"
rep("""    | '*' { RAISE_SYNTAX_ERROR("Invalid star expression") }\n""", "")
# 3.12's rule for iterable unpacking after keyword unpacking: located at the '*'
rep("""    | ((','.(starred_expression | ( assignment_expression | expression !':=') !'=')+ ',' kwargs) | kwargs) a=',' ','.(starred_expression !'=')+ {
        RAISE_SYNTAX_ERROR_STARTING_FROM(a, "iterable argument unpacking follows keyword argument unpacking") }""",
    """    | args ',' a='*' { RAISE_SYNTAX_ERROR_KNOWN_LOCATION(a, "iterable argument unpacking follows keyword argument unpacking") }""")
# no "Expected one or more names after 'import'"
rep("""    | 'import' token=NEWLINE {
        RAISE_SYNTAX_ERROR_STARTING_FROM(token, "Expected one or more names after 'import'") }
""", "")
rep("""    | token=NEWLINE {
        RAISE_SYNTAX_ERROR_STARTING_FROM(token, "Expected one or more names after 'import'") }
""", "")
rep("""_PyPegen_checked_future_import(p, b->v.Name.id, c, _PyPegen_seq_count_dots(a), EXTRA)""",
    """_PyAST_ImportFrom(b->v.Name.id, c, _PyPegen_seq_count_dots(a), EXTRA)""")
rep("""    | 'with' '(' a[asdl_withitem_seq*]=','.with_item+ ','? ')' ':' tc=[TYPE_COMMENT] b=block {
       _PyAST_With(a, b, NEW_TYPE_COMMENT(p, tc), EXTRA) }""",
    """    | 'with' '(' a[asdl_withitem_seq*]=','.with_item+ ','? ')' ':' b=block {
        CHECK_VERSION(stmt_ty, 9, "Parenthesized context managers are", _PyAST_With(a, b, NULL, EXTRA)) }""")
rep("'await' a=primary", "AWAIT a=primary")
body = body.replace("'async'", "ASYNC")
header = """# PEG grammar for Python
#
# CPython 3.12's Grammar/python.gram, as the error path needs it: derived from
# tools/pegen/grammar/python-3.13.gram (the 3.13 branch) by taking out what 3.13 added, each
# removal checked against a native CPython 3.12.1 and the 3.12.7 oracle of tests/mutations.rs:
# PEP 696 type parameter defaults, `invalid_type_params` (empty list), `invalid_arithmetic` /
# `invalid_factor` ('not' after an operator), "'in' expected after for-loop variables",
# "Invalid star expression", "Expected one or more names after 'import'", 3.13's located rule
# for iterable unpacking after keyword unpacking (3.12 points at the '*'), and the def's
# forced '(' and ':' moved back from `invalid_def_raw` into `function_def_raw` (first pass);
# and 3.12's tokenizer still yields ASYNC and AWAIT tokens, where 3.13 has keywords.
# Written by tools/pegen/derive_312.py. The C actions are CPython's, read by
# tools/pegen/pegen.py, never compiled.
"""
body = header + body[len("# PEG grammar for Python\n"):]
(ROOT / "tools/pegen/grammar/python-3.12.gram").write_text(body)
