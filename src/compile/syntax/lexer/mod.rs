//! CPython's tokenizer (`Parser/lexer/lexer.c`, `state.c`, and the string-input path of
//! `Parser/tokenizer/`), ported to Rust for the error path: the tokens its PEG parser pulls,
//! and the exact exception when the tokenizer gives up.
//!
//! Why a port and not the engines' lexers: CPython's parser sees a particular stream (no
//! comments or blank lines, `NAME` for keywords, f-strings split into `FSTRING_START`/`MIDDLE`/
//! `END` around the expression tokens, a `NEWLINE` that starts at a trailing comment) and its
//! tokenizer raises errors of its own (tabs, dedents, brackets, number literals, invalid
//! characters, unterminated strings) with locations the parser keeps. Matching CPython's words
//! and lines for broken files needs that stream exactly, version by version (3.12-3.15).
//!
//! The port keeps CPython's shape: a cursor over the text read line by line (`nextc`/`backup`,
//! here in [`cursor`]), the normal mode in this file, string literals in [`strings`], numbers
//! in [`numbers`], indentation in [`indent`], the f-/t-string mode in [`fstrings`]. Positions
//! are CPython's: 1-based lines, 0-based byte columns ([`Position`]); the tokens CPython gives
//! no column (`INDENT`, `DEDENT`, `ENDMARKER`) carry [`NO_COLUMN`].
//!
//! Input: the decoded text (no BOM). Like CPython's string input, `\r\n` and `\r` are read as
//! `\n` and a final `\n` is added when missing; token ranges index [`Lexer::source`], which is
//! the input itself unless one of those changed it.

mod chars;
mod cursor;
mod error;
mod fstrings;
mod indent;
mod numbers;
mod operators;
mod strings;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

pub use error::{Done, LexError, LexErrorKind, chars_in_prefix};
pub use operators::kind_name;

use super::token::{Position, Token, TokenKind};
use fstrings::Mode;

/// The column of a token CPython creates without one (its `col_offset` is -1): `INDENT`,
/// `DEDENT`, `ENDMARKER`.
pub const NO_COLUMN: u32 = u32::MAX;

/// CPython's `MAXINDENT`: indentation levels.
const MAXINDENT: usize = 100;
/// CPython's `MAXLEVEL`: open brackets.
const MAXLEVEL: usize = 200;
/// CPython's `TABSIZE`.
const TABSIZE: u32 = 8;

/// An open bracket: the character, its line and its byte column (CPython's `parenstack`,
/// `parenlinenostack`, `parencolstack`), for the parser's "was never closed".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenBracket {
    pub ch: u8,
    pub line: u32,
    pub col: u32,
}

/// Internal: the error has been stored in `Lexer::error`.
pub(super) struct Fail;

type Step = Result<Token, Fail>;

/// CPython's tokenizer over one source, pulled token by token as its parser pulls them.
pub struct Lexer<'s> {
    text: Cow<'s, str>,
    /// Target minor version (12..=15).
    minor: u8,
    // The cursor (`tok->cur`, `tok->inp`, `tok->line_start`, `tok->lineno`, `tok->buf`).
    cur: usize,
    inp: usize,
    line_start: usize,
    lineno: u32,
    /// CPython's `tok->buf` for string input: the start of the line read while no token was
    /// under way (`tok->start == NULL`); a multi-line token or a backslash keeps the line it
    /// started on. The parser counts some error columns from it.
    buf: usize,
    start_unset: bool,
    at_eof: bool,
    // The token being read (`tok->start`, `tok->starting_col_offset`, `tok->first_lineno`,
    // `tok->multi_line_start`).
    start: usize,
    start_col: u32,
    first_lineno: u32,
    multi_line_start: usize,
    // Indentation (`tok->atbol`, `pendin`, `indstack`, `altindstack`).
    atbol: bool,
    pendin: i32,
    indstack: Vec<u32>,
    altindstack: Vec<u32>,
    // Brackets (`tok->level`, `parenstack` ...).
    brackets: Vec<OpenBracket>,
    // The mode stack (`tok->tok_mode_stack`): `modes[0]` is the regular mode.
    modes: Vec<Mode>,
    /// Set once the tokenizer failed; every later call returns it again.
    error: Option<LexError>,
}

impl<'s> Lexer<'s> {
    /// A tokenizer for `source` (decoded text, BOM removed) as CPython `3.minor` reads it
    /// (`minor` 12..=15; other values do not panic but follow no CPython in particular).
    pub fn new(source: &'s str, minor: u8) -> Self {
        let mut text = if source.contains('\r') {
            Cow::Owned(source.replace("\r\n", "\n").replace('\r', "\n"))
        } else {
            Cow::Borrowed(source)
        };
        if !text.is_empty() && !text.ends_with('\n') {
            text.to_mut().push('\n');
        }
        Self {
            text,
            minor,
            cur: 0,
            inp: 0,
            line_start: 0,
            lineno: 0,
            buf: 0,
            start_unset: true,
            at_eof: false,
            start: 0,
            start_col: 0,
            first_lineno: 0,
            multi_line_start: 0,
            atbol: true,
            pendin: 0,
            indstack: vec![0],
            altindstack: vec![0],
            brackets: Vec::new(),
            modes: vec![Mode::regular()],
            error: None,
        }
    }

    /// The text the token ranges index: the input, with newlines translated and a final
    /// newline added where CPython does so.
    pub fn source(&self) -> &str {
        &self.text
    }

    /// The target minor version.
    pub fn minor(&self) -> u8 {
        self.minor
    }

    /// The brackets open now, innermost last (CPython's `tok->level` and paren stacks).
    pub fn open_brackets(&self) -> &[OpenBracket] {
        &self.brackets
    }

    /// The cursor as CPython's parser reads it for `CURRENT_POS` and for tokens without a
    /// column: `tok->lineno` and the byte column `tok->cur - tok->line_start`.
    pub fn position(&self) -> Position {
        Position {
            line: self.lineno,
            col: self.col(),
        }
    }

    /// CPython's `tok->cur == tok->buf` (the parser then reports column 0).
    pub fn at_buffer_start(&self) -> bool {
        self.cur == self.buf
    }

    /// Whether the tokenizer is inside an f-/t-string (CPython's `tok_mode_stack_index > 0`).
    pub fn in_fstring(&self) -> bool {
        self.modes.len() > 1
    }

    /// The next token, or the error CPython's parser would raise at this point. After an
    /// error every call returns the same error; after `ENDMARKER`, `ENDMARKER` again.
    pub fn next_token(&mut self) -> Result<Token, LexError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        let step = if self.modes.len() > 1 && self.mode().in_string_part() {
            self.fstring_mode()
        } else {
            self.normal_mode()
        };
        match (step, &self.error) {
            (_, Some(err)) => Err(err.clone()),
            (Ok(token), None) => Ok(token),
            (Err(Fail), None) => unreachable!("a failure always stores its error"),
        }
    }

    // ------------------------------------------------------------------ tokens

    fn mode(&self) -> &Mode {
        self.modes.last().expect("the regular mode is never popped")
    }

    fn mode_mut(&mut self) -> &mut Mode {
        self.modes
            .last_mut()
            .expect("the regular mode is never popped")
    }

    fn col(&self) -> u32 {
        (self.cur - self.line_start) as u32
    }

    /// Marks the current position as the start of a token (`tok->start = tok->cur`).
    fn mark_start(&mut self) {
        self.start_unset = false;
        self.start = self.cur;
        self.start_col = self.col();
    }

    /// CPython's `_PyLexer_token_setup`: string literals are placed at the line they start
    /// on, every other token at the current line; the end is the cursor.
    fn token(&self, kind: TokenKind, text: std::ops::Range<usize>) -> Token {
        let line = if matches!(
            kind,
            TokenKind::String | TokenKind::FStringMiddle | TokenKind::TStringMiddle
        ) {
            self.first_lineno
        } else {
            self.lineno
        };
        Token {
            kind,
            start: Position {
                line,
                col: self.start_col,
            },
            end: Position {
                line: self.lineno,
                col: self.col(),
            },
            text,
        }
    }

    /// A token from `tok->start` to the cursor.
    fn token_here(&self, kind: TokenKind) -> Step {
        Ok(self.token(kind, self.start..self.cur))
    }

    /// A token CPython makes without text or column (`INDENT`, `DEDENT`, `ENDMARKER`).
    fn token_bare(&self, kind: TokenKind) -> Step {
        Ok(Token {
            kind,
            start: Position {
                line: self.lineno,
                col: NO_COLUMN,
            },
            end: Position {
                line: self.lineno,
                col: NO_COLUMN,
            },
            text: self.cur..self.cur,
        })
    }

    /// The normal mode (`tok_get_normal_mode`).
    fn normal_mode(&mut self) -> Step {
        let mut blankline;
        'nextline: loop {
            blankline = false;
            self.start_unset = true;
            if self.atbol {
                self.atbol = false;
                blankline = self.indentation()?;
            }
            self.mark_start();
            if self.pendin != 0 {
                if self.pendin < 0 {
                    self.pendin += 1;
                    return self.token_bare(TokenKind::Dedent);
                }
                self.pendin -= 1;
                return self.token_bare(TokenKind::Indent);
            }
            // Peek at the next character (this reads the next line if needed).
            let c = self.nextc();
            self.backup(c);
            'again: loop {
                self.start_unset = true;
                let mut c;
                loop {
                    c = self.nextc();
                    if !(c == ' ' as i32 || c == '\t' as i32 || c == 0x0c) {
                        break;
                    }
                }
                self.start_unset = false;
                self.start = if c == EOF { self.cur } else { self.cur - 1 };
                self.start_col = self.start.saturating_sub(self.line_start) as u32;
                if c == '#' as i32 {
                    while c != EOF && c != '\n' as i32 {
                        c = self.nextc();
                    }
                }
                if c == EOF {
                    if self.error.is_some() {
                        return Err(Fail);
                    }
                    if !self.brackets.is_empty() || !self.at_eof {
                        return self.fail_done(Done::Eof);
                    }
                    return self.token_bare(TokenKind::EndMarker);
                }
                if is_potential_identifier_start(c) {
                    return self.identifier_or_prefixed_string(c);
                }
                if c == '\n' as i32 {
                    self.atbol = true;
                    if blankline || !self.brackets.is_empty() {
                        continue 'nextline;
                    }
                    return Ok(self.token(TokenKind::Newline, self.start..self.cur - 1));
                }
                if c == '.' as i32 {
                    let c2 = self.nextc();
                    if is_digit(c2) {
                        return self.number_fraction(c2);
                    } else if c2 == '.' as i32 {
                        let c3 = self.nextc();
                        if c3 == '.' as i32 {
                            return self.token_here(TokenKind::Ellipsis);
                        }
                        self.backup(c3);
                        self.backup('.' as i32);
                    } else {
                        self.backup(c2);
                    }
                    return self.token_here(TokenKind::Dot);
                }
                if is_digit(c) {
                    return self.number(c);
                }
                if c == '\'' as i32 || c == '"' as i32 {
                    return self.string(c);
                }
                if c == '\\' as i32 {
                    self.continuation_line()?;
                    continue 'again;
                }
                return self.operator(c);
            }
        }
    }

    /// Punctuation: the f-string hooks, two- and three-character operators, the bracket
    /// stack, and the non-printable check (the tail of `tok_get_normal_mode`).
    fn operator(&mut self, c: i32) -> Step {
        let b = c as u8;
        if matches!(b, b':' | b'}' | b'!' | b'{') && self.in_fstring() && self.mode().in_expr() {
            let mode = self.mode();
            let cursor = mode.curly_depth - i32::from(b != b'{');
            if b == b':' && cursor == mode.expr_start_depth {
                let mode = self.mode_mut();
                mode.kind = fstrings::Kind::String;
                mode.in_format_spec = true;
                return self.token_here(TokenKind::Colon);
            }
        }
        let c2 = self.nextc();
        if c2 != EOF
            && let Some(mut kind) = operators::two_chars(b, c2 as u8)
        {
            let c3 = self.nextc();
            match (c3 != EOF)
                .then(|| operators::three_chars(b, c2 as u8, c3 as u8))
                .flatten()
            {
                Some(three) => kind = three,
                None => self.backup(c3),
            }
            return self.token_here(kind);
        }
        self.backup(c2);
        match b {
            b'(' | b'[' | b'{' => {
                if self.brackets.len() >= MAXLEVEL {
                    return self.syntax_error("too many nested parentheses".into());
                }
                self.brackets.push(OpenBracket {
                    ch: b,
                    line: self.lineno,
                    col: (self.start - self.line_start) as u32,
                });
                if self.in_fstring() {
                    self.mode_mut().curly_depth += 1;
                }
            }
            b')' | b']' | b'}' => {
                if self.in_fstring() && self.mode().curly_depth == 0 && b == b'}' {
                    let msg = format!("{}-string: single '}}' is not allowed", self.prefix());
                    return self.syntax_error(msg);
                }
                let Some(open) = self.brackets.pop() else {
                    return self.syntax_error(format!("unmatched '{}'", b as char));
                };
                let matching = matches!((open.ch, b), (b'(', b')') | (b'[', b']') | (b'{', b'}'));
                if !matching {
                    if self.in_fstring() && open.ch == b'{' {
                        let mode = self.mode();
                        if mode.curly_depth - 1 == mode.expr_start_depth {
                            let msg =
                                format!("{}-string: unmatched '{}'", self.prefix(), b as char);
                            return self.syntax_error(msg);
                        }
                    }
                    let msg = if open.line != self.lineno {
                        format!(
                            "closing parenthesis '{}' does not match opening parenthesis '{}' on line {}",
                            b as char, open.ch as char, open.line
                        )
                    } else {
                        format!(
                            "closing parenthesis '{}' does not match opening parenthesis '{}'",
                            b as char, open.ch as char
                        )
                    };
                    return self.syntax_error(msg);
                }
                if self.in_fstring() {
                    let prefix = self.prefix();
                    let mode = self.mode_mut();
                    mode.curly_depth -= 1;
                    if mode.curly_depth < 0 {
                        return self
                            .syntax_error(format!("{prefix}-string: unmatched '{}'", b as char));
                    }
                    if b == b'}' && mode.curly_depth == mode.expr_start_depth {
                        mode.expr_start_depth -= 1;
                        mode.kind = fstrings::Kind::String;
                        mode.in_format_spec = false;
                        mode.debug = false;
                    }
                }
            }
            _ => {}
        }
        if !chars::is_printable(b as u32) {
            return self.syntax_error(format!("invalid non-printable character U+{:04X}", b));
        }
        if b == b'=' && self.mode().in_expr() {
            self.mode_mut().debug = true;
        }
        self.token_here(operators::one_char(b))
    }

    /// A name, or a string with a prefix (`b''`, `rf""`, ...).
    fn identifier_or_prefixed_string(&mut self, first: i32) -> Step {
        let mut c = first;
        let mut seen = strings::Prefix::default();
        loop {
            if !seen.take(c, self.minor) {
                break;
            }
            c = self.nextc();
            if c == '"' as i32 || c == '\'' as i32 {
                if self.minor >= 14 {
                    self.check_prefixes(&seen)?;
                }
                if seen.f || seen.t {
                    return self.fstring_start(c, seen);
                }
                return self.string(c);
            }
        }
        let mut nonascii = false;
        while is_potential_identifier_char(c) {
            if c >= 128 {
                nonascii = true;
            }
            c = self.nextc();
        }
        self.backup(c);
        if nonascii {
            self.verify_identifier()?;
        }
        if self.minor == 12 {
            match &self.bytes()[self.start..self.cur] {
                b"async" => return self.token_here(TokenKind::Async),
                b"await" => return self.token_here(TokenKind::Await),
                _ => {}
            }
        }
        self.token_here(TokenKind::Name)
    }
}

pub(super) const EOF: i32 = -1;

fn is_digit(c: i32) -> bool {
    (b'0' as i32..=b'9' as i32).contains(&c)
}

fn is_potential_identifier_start(c: i32) -> bool {
    (c >= 'a' as i32 && c <= 'z' as i32)
        || (c >= 'A' as i32 && c <= 'Z' as i32)
        || c == '_' as i32
        || c >= 128
}

fn is_potential_identifier_char(c: i32) -> bool {
    is_potential_identifier_start(c) || is_digit(c)
}
