//! Where CPython's parser first fails, and what it says there when no specialised rule applies.
//!
//! CPython parses twice: a first pass with the plain grammar, and on failure a second pass
//! with the `invalid_*` rules, whose messages are located where they match; when none
//! matches, the error is a plain `invalid syntax` at the furthest token the first pass read.
//! Either way the error sits where the parse stops: the first error of a parser without
//! recovery. rustpython finds its CPython-style messages partly by textual heuristics over
//! the whole source, which can fire on a valid line far from the real error (a bare `*,` in
//! some `def`), and otherwise reports ruff's own wording ("Simple statements must be
//! separated by newlines or semicolons", "Expected an identifier"), which CPython never
//! prints. So: when rustpython's message is not on the line where ruff's parser stops, or
//! is worded as CPython never words a message, the error becomes CPython's generic one at
//! the token where the parser stopped (`expected ':'` where a statement's header ends
//! without its colon, else `invalid syntax`).
//!
//! Tokenizer errors (strings, characters, numbers, brackets, indentation) are left alone:
//! CPython's tokenizer finds them wherever they are, even after a parser error (its
//! full-source check), so they need not be on the parser's line.

use ruff_text_size::{TextRange, TextSize};
use rustpython_compiler::parser;

use super::carets::Source;
use super::exception::PyException;

/// Messages of CPython's tokenizer, or located by rules that point away from the parser's
/// stopping token.
const TOKENIZER_MESSAGES: &[&str] = &[
    "unterminated ",
    "was never closed",
    "invalid character",
    "invalid non-printable character",
    "closing parenthesis",
    "unmatched ",
    "invalid decimal literal",
    "invalid hexadecimal literal",
    "invalid octal literal",
    "invalid binary literal",
    "invalid digit",
    "leading zeros",
    "unexpected character after line continuation",
    "unexpected EOF",
    "too many nested",
    "f-string",
    "t-string",
    "(unicode error)",
    "(value error)",
    "bytes can only contain",
    "prefixes are incompatible",
    "Non-UTF-8",
    "source code string cannot contain null bytes",
    "invalid imaginary literal",
    "cannot mix bytes and nonbytes literals",
];

/// CPython's messages that start with a capital letter (ruff's all do).
const CAPITALISED_CPYTHON: &[&str] = &[
    "Missing parentheses in call to",
    "Did you mean",
    "Generator expression must be parenthesized",
    "Function parameters cannot be parenthesized",
    "Lambda expression parameters cannot be parenthesized",
    "Cannot have two type comments",
    "Expected one or more names after 'import'",
];

/// Whether CPython could print `msg` (as a SyntaxError's message).
fn cpython_wording(msg: &str) -> bool {
    !msg.contains('`')
        && (!msg.starts_with(|c: char| c.is_ascii_uppercase())
            || CAPITALISED_CPYTHON.iter().any(|m| msg.starts_with(m)))
}

/// Moves a parser error of `exception` to where the parse stops, with CPython's generic
/// wording, when rustpython's message is on another line or not CPython's.
pub fn relocate(exception: &mut PyException, text: &str) {
    if exception.kind != "SyntaxError"
        || TOKENIZER_MESSAGES.iter().any(|m| exception.msg.contains(m))
    {
        return;
    }
    let Err(error) = parser::parse_module(text) else {
        return;
    };
    let (start, end) = (
        error.location.start().to_usize(),
        error.location.end().to_usize(),
    );
    if start >= text.len() {
        return; // at the end of the input: the bracket and EOF rules decide
    }
    let source = Source::new(text);
    let (line, _) = source.position(start);
    if exception.lineno == Some(line) && cpython_wording(&exception.msg) {
        return;
    }
    let ruff_message = error.error.to_string();
    exception.msg = if ruff_message.starts_with("Expected `:`, found newline") {
        "expected ':'".to_owned()
    } else {
        "invalid syntax".to_owned()
    };
    let end = end.max(start + 1).min(text.len());
    source.locate(
        exception,
        TextRange::new(TextSize::new(start as u32), TextSize::new(end as u32)),
    );
}
