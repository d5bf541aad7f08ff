//! How the tokenizer fails, and where CPython's exception says it failed.
//!
//! Why two kinds of failure: CPython's tokenizer raises most errors itself (its
//! `_PyTokenizer_syntaxerror`, which fixes the message and the location at once), but for a
//! few it only sets a state code (`tok->done`) and lets the parser word and place the
//! exception (`_Pypegen_tokenizer_error`). [`Done`] keeps that distinction, because the parser
//! treats them differently when it tokenizes the rest of a file after a parse failure (only the
//! raised ones replace the parser's own error), and [`LexError`]'s location is the one the
//! parser's exception ends up with in both cases.

use std::fmt;

/// The exception class CPython raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LexErrorKind {
    SyntaxError,
    IndentationError,
    TabError,
}

impl LexErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::SyntaxError => "SyntaxError",
            Self::IndentationError => "IndentationError",
            Self::TabError => "TabError",
        }
    }
}

/// CPython's `tok->done` when the tokenizer gave up: which code path produced the error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Done {
    /// `E_ERROR`: the tokenizer raised the exception itself; message and location are final.
    Error,
    /// `E_EOF` inside brackets or after a trailing backslash: the parser says
    /// `'(' was never closed` (see [`super::Lexer::open_brackets`]) or
    /// `unexpected EOF while parsing`.
    Eof,
    /// `E_DEDENT`: `unindent does not match any outer indentation level`.
    Dedent,
    /// `E_TABSPACE`: `inconsistent use of tabs and spaces in indentation`.
    TabSpace,
    /// `E_TOODEEP`: `too many levels of indentation`.
    TooDeep,
    /// `E_LINECONT`: `unexpected character after line continuation character`.
    LineCont,
}

/// A tokenizer error as the `SyntaxError` (or subclass) CPython's parser raises for it.
///
/// Locations are the exception's attributes: `lineno`/`end_lineno` 1-based;
/// `col_offset`/`end_col_offset` are `SyntaxError.offset`/`end_offset`, i.e. 1-based and
/// counted in **characters** of the line, with CPython's quirks kept: where CPython passes a
/// byte column straight through (the "known range" errors: leading zeros, incompatible string
/// prefixes) they are bytes, and `end_col_offset` is `0` or `-1` where CPython's is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexError {
    pub kind: LexErrorKind,
    pub msg: String,
    pub lineno: u32,
    pub col_offset: i64,
    pub end_lineno: u32,
    pub end_col_offset: i64,
    /// Which of CPython's error paths this is (see [`Done`]).
    pub done: Done,
}

impl fmt::Display for LexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} (line {}, offset {})",
            self.kind.name(),
            self.msg,
            self.lineno,
            self.col_offset
        )
    }
}

impl std::error::Error for LexError {}

/// How many characters the first `bytes` bytes of a line decode to, the way CPython counts
/// (`_PyPegen_byte_offset_to_character_offset`): `line` is read up to and including its
/// newline, a count past its end stops one past it (the terminating NUL), and a character cut
/// in two counts once (`"replace"`).
pub fn chars_in_prefix(line: &[u8], bytes: usize) -> i64 {
    let line = &line[..memchr::memchr(b'\n', line).map_or(line.len(), |n| n + 1)];
    let n = bytes.min(line.len() + 1);
    let within = &line[..n.min(line.len())];
    within.iter().filter(|&&b| (b & 0xC0) != 0x80).count() as i64 + i64::from(n > line.len())
}
