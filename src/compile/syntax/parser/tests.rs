//! The parser on small sources, tokenized by a minimal stand-in (ASCII names, numbers,
//! simple strings, operators, NEWLINE/INDENT/DEDENT) so the parser is tested on its own.
//! Expected exceptions are CPython 3.14's (`compile(src, 'f', 'exec')` on 3.14.2).

use super::{LexFailure, Outcome, TokenStream, Unclosed, parse_314};
use crate::compile::syntax::token::{Position, Token, TokenKind};

const OPERATORS: &[(&str, TokenKind)] = &[
    ("**=", TokenKind::DoubleStarEqual),
    ("...", TokenKind::Ellipsis),
    ("//=", TokenKind::DoubleSlashEqual),
    ("<<=", TokenKind::LeftShiftEqual),
    (">>=", TokenKind::RightShiftEqual),
    ("!=", TokenKind::NotEqual),
    ("%=", TokenKind::PercentEqual),
    ("&=", TokenKind::AmperEqual),
    ("**", TokenKind::DoubleStar),
    ("*=", TokenKind::StarEqual),
    ("+=", TokenKind::PlusEqual),
    ("-=", TokenKind::MinEqual),
    ("->", TokenKind::Rarrow),
    ("//", TokenKind::DoubleSlash),
    ("/=", TokenKind::SlashEqual),
    (":=", TokenKind::ColonEqual),
    ("<<", TokenKind::LeftShift),
    ("<=", TokenKind::LessEqual),
    ("==", TokenKind::EqEqual),
    (">=", TokenKind::GreaterEqual),
    (">>", TokenKind::RightShift),
    ("@=", TokenKind::AtEqual),
    ("^=", TokenKind::CircumflexEqual),
    ("|=", TokenKind::VbarEqual),
    ("(", TokenKind::Lpar),
    (")", TokenKind::Rpar),
    ("[", TokenKind::Lsqb),
    ("]", TokenKind::Rsqb),
    (":", TokenKind::Colon),
    (",", TokenKind::Comma),
    (";", TokenKind::Semi),
    ("+", TokenKind::Plus),
    ("-", TokenKind::Minus),
    ("*", TokenKind::Star),
    ("/", TokenKind::Slash),
    ("|", TokenKind::Vbar),
    ("&", TokenKind::Amper),
    ("<", TokenKind::Less),
    (">", TokenKind::Greater),
    ("=", TokenKind::Equal),
    (".", TokenKind::Dot),
    ("%", TokenKind::Percent),
    ("{", TokenKind::Lbrace),
    ("}", TokenKind::Rbrace),
    ("~", TokenKind::Tilde),
    ("^", TokenKind::Circumflex),
    ("@", TokenKind::At),
    ("!", TokenKind::Exclamation),
];

/// Tokenizes all of `source` up front (enough for ASCII test inputs).
struct Stand {
    tokens: Vec<Result<Token, LexFailure>>,
    next: usize,
    open: Vec<Unclosed>,
    open_at: Vec<Vec<Unclosed>>,
}

impl Stand {
    fn new(source: &str) -> Self {
        let mut tokens = Vec::new();
        let mut open_at = Vec::new();
        let mut open: Vec<Unclosed> = Vec::new();
        let mut indents = vec![0usize];
        let bytes = source.as_bytes();
        let mut offset = 0;
        let mut line = 1u32;
        let push = |kind,
                    s: (u32, usize),
                    e: (u32, usize),
                    r: std::ops::Range<usize>,
                    open: &Vec<Unclosed>,
                    tokens: &mut Vec<_>,
                    open_at: &mut Vec<_>| {
            tokens.push(Ok(Token {
                kind,
                start: Position {
                    line: s.0,
                    col: s.1 as u32,
                },
                end: Position {
                    line: e.0,
                    col: e.1 as u32,
                },
                text: r,
            }));
            open_at.push(open.clone());
        };
        while offset < bytes.len() {
            let line_start = offset;
            let line_end = source[offset..]
                .find('\n')
                .map_or(bytes.len(), |i| offset + i + 1);
            let text = &source[line_start..line_end];
            let content = text.trim_start_matches(' ');
            let indent = text.len() - content.len();
            let blank = content.trim().is_empty() || content.starts_with('#');
            if open.is_empty() && !blank {
                if indent > *indents.last().unwrap() {
                    indents.push(indent);
                    push(
                        TokenKind::Indent,
                        (line, 0),
                        (line, indent),
                        line_start..line_start,
                        &open,
                        &mut tokens,
                        &mut open_at,
                    );
                }
                while indent < *indents.last().unwrap() {
                    indents.pop();
                    push(
                        TokenKind::Dedent,
                        (line, indent),
                        (line, indent),
                        line_start..line_start,
                        &open,
                        &mut tokens,
                        &mut open_at,
                    );
                }
            }
            let mut i = line_start + indent;
            while i < line_end {
                let c = bytes[i];
                let col = i - line_start;
                if c == b' ' {
                    i += 1;
                } else if c == b'#' {
                    i = line_end;
                } else if c == b'\n' {
                    if open.is_empty() && !blank {
                        push(
                            TokenKind::Newline,
                            (line, col),
                            (line, col + 1),
                            i..i + 1,
                            &open,
                            &mut tokens,
                            &mut open_at,
                        );
                    }
                    i += 1;
                } else if (c == b'b' || c == b'r') && matches!(bytes.get(i + 1), Some(b'\'' | b'"'))
                {
                    let q = bytes[i + 1];
                    let mut j = i + 2;
                    while bytes[j] != q {
                        j += 1;
                    }
                    push(
                        TokenKind::String,
                        (line, col),
                        (line, j + 1 - line_start),
                        i..j + 1,
                        &open,
                        &mut tokens,
                        &mut open_at,
                    );
                    i = j + 1;
                } else if c.is_ascii_alphabetic() || c == b'_' {
                    let mut j = i;
                    while j < line_end && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                        j += 1;
                    }
                    push(
                        TokenKind::Name,
                        (line, col),
                        (line, j - line_start),
                        i..j,
                        &open,
                        &mut tokens,
                        &mut open_at,
                    );
                    i = j;
                } else if c.is_ascii_digit() {
                    let mut j = i;
                    while j < line_end && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'.') {
                        j += 1;
                    }
                    push(
                        TokenKind::Number,
                        (line, col),
                        (line, j - line_start),
                        i..j,
                        &open,
                        &mut tokens,
                        &mut open_at,
                    );
                    i = j;
                } else if c == b'\'' || c == b'"' {
                    let mut j = i + 1;
                    while bytes[j] != c {
                        j += 1;
                    }
                    push(
                        TokenKind::String,
                        (line, col),
                        (line, j + 1 - line_start),
                        i..j + 1,
                        &open,
                        &mut tokens,
                        &mut open_at,
                    );
                    i = j + 1;
                } else {
                    let (op, kind) = OPERATORS
                        .iter()
                        .find(|(op, _)| source[i..].starts_with(op))
                        .expect("operator");
                    match kind {
                        TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => {
                            open.push(Unclosed {
                                ch: c,
                                line,
                                col: col as u32,
                            })
                        }
                        TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => {
                            open.pop();
                        }
                        _ => {}
                    }
                    push(
                        *kind,
                        (line, col),
                        (line, col + op.len()),
                        i..i + op.len(),
                        &open,
                        &mut tokens,
                        &mut open_at,
                    );
                    i += op.len();
                }
            }
            offset = line_end;
            line += 1;
        }
        if let Some(innermost) = open.last() {
            // As the tokenizer reports it: at the innermost bracket.
            tokens.push(Err(LexFailure {
                kind: "SyntaxError",
                msg: format!("'{}' was never closed", innermost.ch as char),
                lineno: i64::from(innermost.line),
                offset: i64::from(innermost.col) + 1,
                end_lineno: i64::from(innermost.line),
                end_offset: 0,
                raised_by_tokenizer: false,
                eof: true,
            }));
            open_at.push(open.clone());
        } else {
            while indents.len() > 1 {
                indents.pop();
                push(
                    TokenKind::Dedent,
                    (line, 0),
                    (line, 0),
                    source.len()..source.len(),
                    &open,
                    &mut tokens,
                    &mut open_at,
                );
            }
            push(
                TokenKind::EndMarker,
                (line, 0),
                (line, 0),
                source.len()..source.len(),
                &open,
                &mut tokens,
                &mut open_at,
            );
        }
        Stand {
            tokens,
            next: 0,
            open: Vec::new(),
            open_at,
        }
    }
}

impl TokenStream for Stand {
    fn next_token(&mut self) -> Result<Token, LexFailure> {
        let i = self.next.min(self.tokens.len() - 1);
        self.next += 1;
        self.open = self.open_at[i].clone();
        self.tokens[i].clone()
    }

    fn open_brackets(&self) -> Vec<Unclosed> {
        self.open.clone()
    }

    fn in_fstring(&self) -> bool {
        false
    }
}

/// (type, message, lineno, offset, end_offset) of CPython's exception, or None if accepted.
fn check(source: &str) -> Option<(&'static str, String, i64, i64, i64)> {
    let mut stream = Stand::new(source);
    match parse_314(source, &mut stream) {
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
    let check_313 = |source: &str| {
        let mut stream = Stand::new(source);
        match super::parse(super::Grammar::Py313, source, &mut stream) {
            Outcome::Rejected(r) => Some((r.kind, r.msg, r.lineno, r.offset, r.end_offset)),
            _ => None,
        }
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
    let mut stream = Stand::new("lazy import x\n");
    assert_eq!(
        super::parse(super::Grammar::Py315, "lazy import x\n", &mut stream),
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
            let mut stream = Stand::new(&source);
            parse_314(&source, &mut stream)
        })
        .unwrap();
    assert_eq!(handle.join().unwrap(), Outcome::Unknown);
}
