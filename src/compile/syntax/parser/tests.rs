//! The parser on small sources, tokenized by the tokenizer port.
//! Expected exceptions are CPython 3.14's (`compile(src, 'f', 'exec')` on 3.14.2).

use super::Outcome;

/// (type, message, lineno, offset, end_offset) of CPython's exception, or None if accepted.
fn check(source: &str) -> Option<(&'static str, String, i64, i64, i64)> {
    match super::check(super::Grammar::Py314, source).1 {
        Outcome::Accepted => None,
        Outcome::Rejected(r) => Some((r.kind, r.msg, r.lineno, r.offset, r.end_offset)),
        Outcome::Unknown => panic!("unknown outcome for {source:?}"),
    }
}

fn err(
    kind: &'static str,
    msg: &str,
    line: i64,
    offset: i64,
    end: i64,
) -> Option<(&'static str, String, i64, i64, i64)> {
    Some((kind, msg.to_owned(), line, offset, end))
}

#[test]
fn accepts_valid_code() {
    for source in [
        "x = 1\n",
        "def f(a, *b, c=1, **d):\n    return a + b[0] * c\n",
        "class A(B):\n    pass\n",
        "for i in range(3):\n    print(i)\nelse:\n    pass\n",
        "x = [a for a in b if a]\n",
        "match x:\n    case [1, *rest]:\n        pass\n",
        "a.b.c(1)[2] = 3\n",
        "try:\n    pass\nexcept A, B:\n    pass\n",
    ] {
        assert_eq!(check(source), None, "{source:?}");
    }
}

#[test]
fn generic_invalid_syntax_at_the_furthest_token_of_the_first_pass() {
    assert_eq!(
        check("a b\n"),
        err("SyntaxError", "invalid syntax", 1, 3, 4)
    );
    assert_eq!(
        check("x = 1 +\n"),
        err("SyntaxError", "invalid syntax", 1, 8, 9)
    );
    assert_eq!(
        check("else:\n"),
        err("SyntaxError", "invalid syntax", 1, 1, 5)
    );
    assert_eq!(
        check("x = (\n1 +\n)\n"),
        err("SyntaxError", "invalid syntax", 3, 1, 2)
    );
}

#[test]
fn second_pass_messages() {
    assert_eq!(
        check("f(a b)\n"),
        err(
            "SyntaxError",
            "invalid syntax. Perhaps you forgot a comma?",
            1,
            3,
            6
        )
    );
    assert_eq!(
        check("a = b c\n"),
        err("SyntaxError", "invalid syntax", 1, 7, 8)
    );
    assert_eq!(
        check("for x in y\n    pass\n"),
        err("SyntaxError", "expected ':'", 1, 11, 12)
    );
    assert_eq!(
        check("def f:\n    pass\n"),
        err("SyntaxError", "expected '('", 1, 6, 7)
    );
    assert_eq!(
        check("if x:\npass\n"),
        err(
            "IndentationError",
            "expected an indented block after 'if' statement on line 1",
            2,
            1,
            5
        )
    );
    assert_eq!(
        check("f() = 1\n"),
        err(
            "SyntaxError",
            "cannot assign to function call here. Maybe you meant '==' instead of '='?",
            1,
            1,
            4
        )
    );
    assert_eq!(
        check("print x\n"),
        err(
            "SyntaxError",
            "Missing parentheses in call to 'print'. Did you mean print(...)?",
            1,
            1,
            8
        )
    );
    assert_eq!(
        check("x = (1,\ny = 2 +\n"),
        err("SyntaxError", "'(' was never closed", 1, 5, 0)
    );
}

#[test]
fn first_pass_action_errors() {
    assert_eq!(
        check("x = (b'a' 'b', 1)\n"),
        err(
            "SyntaxError",
            "cannot mix bytes and nonbytes literals",
            1,
            14,
            15
        )
    );
}

/// The 3.13 grammar: `except A, B:` is an error there (3.14 accepts it, PEP 758).
#[test]
fn python_313_grammar() {
    let check_313 = |source: &str| match super::check(super::Grammar::Py313, source).1 {
        Outcome::Rejected(r) => Some((r.kind, r.msg, r.lineno, r.offset, r.end_offset)),
        _ => None,
    };
    assert_eq!(
        check_313("try:\n    pass\nexcept A, B:\n    pass\n"),
        err(
            "SyntaxError",
            "multiple exception types must be parenthesized",
            3,
            8,
            12
        )
    );
    assert_eq!(
        check_313("f(a b)\n"),
        err(
            "SyntaxError",
            "invalid syntax. Perhaps you forgot a comma?",
            1,
            3,
            6
        )
    );
}

/// The 3.12 grammar, through the 3.12 tokenizer (ASYNC / AWAIT tokens). Expected values:
/// a native CPython 3.12.1 (`compile(src, "m.py", "exec")`); 3.13 differs on each error.
#[test]
fn python_312_grammar() {
    let check_312 = |source: &str| match super::check(super::Grammar::Py312, source).1 {
        Outcome::Rejected(r) => Some((r.kind, r.msg, r.lineno, r.offset, r.end_offset)),
        Outcome::Accepted => Some(("accepted", String::new(), 0, 0, 0)),
        Outcome::Unknown => None,
    };
    assert_eq!(
        check_312("async def f():\n    await x\n    async for a in b: pass\n"),
        Some(("accepted", String::new(), 0, 0, 0))
    );
    // No PEP 696 defaults; the forced '(' fails in the first pass.
    assert_eq!(
        check_312("def f[T=int](): pass\n"),
        err("SyntaxError", "expected '('", 1, 6, 7)
    );
    assert_eq!(
        check_312("x = 1 + not y\n"),
        err("SyntaxError", "invalid syntax", 1, 9, 12)
    );
    assert_eq!(
        check_312("f(**k, *a)\n"),
        err(
            "SyntaxError",
            "iterable argument unpacking follows keyword argument unpacking",
            1,
            8,
            9
        )
    );
    assert_eq!(
        check_312("import\n"),
        err("SyntaxError", "invalid syntax", 1, 7, 8)
    );
}

/// 3.12's error line is the tokenizer's buffer: several lines after a multi-line token or
/// a backslash continuation; without its newline (and so clamping one column earlier) once
/// the tokenizer has moved past it. Expected values: a native CPython 3.12.1,
/// `compile(src, "/nonexistent/m.py", "exec")` (no file to read the line from, as in
/// `py_compile`'s oracle).
#[test]
fn python_312_error_line_is_the_tokenizer_buffer() {
    let located = |source: &str| match super::check(super::Grammar::Py312, source).1 {
        Outcome::Rejected(r) => Some((r.lineno, r.offset, r.end_lineno, r.end_offset, r.text)),
        _ => None,
    };
    let some = |l, o, el, eo, text: &str| Some((l, o, el, eo, Some(text.to_owned())));
    assert_eq!(located("s '''abc\ndef'''\n"), some(1, 3, 2, 7, "s '''abc"));
    assert_eq!(
        located("x = '''a\nb'''  return 1\n"),
        some(2, 7, 2, 13, "x = '''a\nb'''  return 1\n")
    );
    assert_eq!(
        located("a = \\\n    x = ur'abc'\n"),
        some(2, 11, 2, 16, "a = \\\n    x = ur'abc'\n")
    );
    assert_eq!(
        located("f(a,\n  exec 'x',\n  b)\n"),
        some(2, 3, 3, 4, "  exec 'x',")
    );
    assert_eq!(
        located("f(\n    exec \"x = 1\"\n    incrementaldecoder=IncrementalDecoder,\n)\n"),
        some(2, 10, 3, 17, "    exec \"x = 1\"")
    );
}

/// 3.15's soft keyword `lazy` (PEP 810); 3.14 stops at `import` (doc/oracle 3.14: 6..12).
#[test]
fn python_315_grammar() {
    assert_eq!(
        super::check(super::Grammar::Py315, "lazy import x\n").1,
        Outcome::Accepted
    );
    assert_eq!(
        check("lazy import x\n"),
        err("SyntaxError", "invalid syntax", 1, 6, 12)
    );
}

#[test]
fn unexpected_indent() {
    let r = check("x = 1\n    y = 2\n").unwrap();
    assert_eq!(
        (r.0, r.1.as_str(), r.2),
        ("IndentationError", "unexpected indent", 2)
    );
}

/// Deep recursion ends in `Unknown` (the older path decides), not in a stack overflow, on a
/// thread stack far smaller than the compile threads'.
#[test]
fn deep_nesting_gives_up_instead_of_overflowing() {
    let handle = std::thread::Builder::new()
        .stack_size(640 << 10)
        .spawn(|| {
            let source = format!("x = {}\n", "-".repeat(20_000));
            super::check(super::Grammar::Py314, &source).1
        })
        .unwrap();
    assert_eq!(handle.join().unwrap(), Outcome::Unknown);
}
