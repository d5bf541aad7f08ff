//! f-strings (3.12+) and t-strings (3.14+): the mode stack and the string-part mode
//! (`tok_get_fstring_mode`).
//!
//! Why a mode stack: since PEP 701 the tokenizer splits an f-string into `FSTRING_START`,
//! literal parts (`FSTRING_MIDDLE`), the ordinary tokens of each replacement field, and
//! `FSTRING_END`; fields nest (`f"{x:{y}}"`, `f"{f'{z}'}"`), so the tokenizer keeps one mode
//! per open string, switching between the string part and the expression part as it meets
//! `{`, `}`, `:` and `!`. Its errors (unterminated strings, nesting limits) come from here.

use super::super::token::TokenKind;
use super::strings::Prefix;
use super::{EOF, Fail, Lexer, Step};

/// CPython's `MAXFSTRINGLEVEL`: open f-strings.
const MAX_FSTRING_LEVEL: usize = 150;
/// CPython's `MAX_EXPR_NESTING`: nested replacement fields.
const MAX_EXPR_NESTING: i32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Ordinary tokens (the base mode, or a replacement field's expression).
    Regular,
    /// The literal part of an f-/t-string.
    String,
}

/// One entry of the mode stack (CPython's `tokenizer_mode`).
#[derive(Clone, Debug)]
pub(super) struct Mode {
    pub kind: Kind,
    pub tstring: bool,
    pub quote: u8,
    pub quote_size: usize,
    pub raw: bool,
    /// Where the string's prefix starts, its line's start, and its line number.
    pub start: usize,
    pub multi_line_start: usize,
    pub line_start: u32,
    pub curly_depth: i32,
    pub expr_start_depth: i32,
    pub in_format_spec: bool,
    pub debug: bool,
}

impl Mode {
    pub(super) fn regular() -> Self {
        Self {
            kind: Kind::Regular,
            tstring: false,
            quote: 0,
            quote_size: 0,
            raw: false,
            start: 0,
            multi_line_start: 0,
            line_start: 0,
            curly_depth: 0,
            expr_start_depth: -1,
            in_format_spec: false,
            debug: false,
        }
    }

    pub(super) fn in_string_part(&self) -> bool {
        self.kind == Kind::String
    }

    /// Inside a replacement field (CPython's `INSIDE_FSTRING_EXPR`).
    pub(super) fn in_expr(&self) -> bool {
        self.expr_start_depth >= 0
    }
}

impl Lexer<'_> {
    fn string_kinds(&self) -> (TokenKind, TokenKind, TokenKind) {
        if self.mode().tstring {
            (
                TokenKind::TStringStart,
                TokenKind::TStringMiddle,
                TokenKind::TStringEnd,
            )
        } else {
            (
                TokenKind::FStringStart,
                TokenKind::FStringMiddle,
                TokenKind::FStringEnd,
            )
        }
    }

    /// The opening quote(s) of an f-/t-string whose prefix has been read: pushes its mode.
    pub(super) fn fstring_start(&mut self, quote: i32, prefix: Prefix) -> Step {
        let mut quote_size = 1;
        self.first_lineno = self.lineno;
        self.multi_line_start = self.line_start;
        let after = self.nextc();
        if after == quote {
            let after2 = self.nextc();
            if after2 == quote {
                quote_size = 3;
            } else {
                self.backup(after2);
                self.backup(after);
            }
        }
        if after != quote {
            self.backup(after);
        }
        if self.modes.len() >= MAX_FSTRING_LEVEL {
            return self.syntax_error("too many nested f-strings".into());
        }
        self.modes.push(Mode {
            kind: Kind::String,
            tstring: prefix.t,
            quote: quote as u8,
            quote_size,
            raw: prefix.r,
            start: self.start,
            multi_line_start: self.line_start,
            line_start: self.lineno,
            curly_depth: 0,
            expr_start_depth: -1,
            in_format_spec: false,
            debug: false,
        });
        let kind = self.string_kinds().0;
        self.token_here(kind)
    }

    /// Enters a replacement field at a `{` (not consumed): the expression part follows.
    fn enter_expression(&mut self) -> Result<(), Fail> {
        let prefix = self.prefix();
        let mode = self.mode_mut();
        mode.expr_start_depth += 1;
        if mode.expr_start_depth >= MAX_EXPR_NESTING {
            return self.syntax_error(format!("{prefix}-string: expressions nested too deeply"));
        }
        let mode = self.mode_mut();
        mode.kind = Kind::Regular;
        Ok(())
    }

    /// The string part of the innermost f-/t-string (`tok_get_fstring_mode`).
    pub(super) fn fstring_mode(&mut self) -> Step {
        self.mark_start();
        self.first_lineno = self.lineno;
        let (_, middle, end) = self.string_kinds();
        let start_char = self.nextc();
        if start_char == '{' as i32 {
            let peek = self.nextc();
            self.backup(peek);
            self.backup(start_char);
            if peek != '{' as i32 {
                self.enter_expression()?;
                return self.normal_mode();
            }
        } else {
            self.backup(start_char);
        }
        let (quote, quote_size) = (i32::from(self.mode().quote), self.mode().quote_size);
        let mut at_end = true;
        for _ in 0..quote_size {
            let c = self.nextc();
            if c != quote {
                self.backup(c);
                at_end = false;
                break;
            }
        }
        if at_end {
            let token = self.token(end, self.start..self.cur);
            self.modes.pop();
            return Ok(token);
        }
        // As in CPython, quotes matched before the mismatch stay read (they are text).
        self.multi_line_start = self.line_start;
        let mut end_quote_size = 0;
        let mut unicode_escape = false;
        while end_quote_size != quote_size {
            let c = self.nextc();
            if self.error.is_some() {
                return Err(Fail);
            }
            let in_format_spec = self.mode().in_format_spec && self.mode().in_expr();
            if c == EOF || (quote_size == 1 && c == '\n' as i32) {
                if in_format_spec && c == '\n' as i32 {
                    if self.minor >= 14 && quote_size == 1 {
                        let p = self.prefix();
                        return self.syntax_error(format!(
                            "{p}-string: newlines are not allowed in format specifiers for single quoted {p}-strings"
                        ));
                    }
                    self.backup(c);
                    let mode = self.mode_mut();
                    mode.kind = Kind::Regular;
                    mode.in_format_spec = false;
                    return Ok(self.token(middle, self.start..self.cur));
                }
                let mode = self.mode().clone();
                self.cur = mode.start + 1;
                self.line_start = mode.multi_line_start;
                let detected = self.lineno;
                self.lineno = mode.line_start;
                let p = self.prefix();
                let msg = if quote_size == 3 {
                    format!(
                        "unterminated triple-quoted {p}-string literal (detected at line {detected})"
                    )
                } else {
                    format!("unterminated {p}-string literal (detected at line {detected})")
                };
                return self.syntax_error(msg);
            }
            if c == quote {
                end_quote_size += 1;
                continue;
            }
            end_quote_size = 0;
            if c == '{' as i32 {
                let peek = self.nextc();
                if peek != '{' as i32 || in_format_spec {
                    self.backup(peek);
                    self.backup(c);
                    self.enter_expression()?;
                    self.mode_mut().in_format_spec = false;
                    return Ok(self.token(middle, self.start..self.cur));
                }
                return Ok(self.token(middle, self.start..self.cur - 1));
            } else if c == '}' as i32 {
                if unicode_escape {
                    return Ok(self.token(middle, self.start..self.cur));
                }
                let peek = self.nextc();
                if peek == '}' as i32 && !in_format_spec && self.mode().curly_depth == 0 {
                    return Ok(self.token(middle, self.start..self.cur - 1));
                }
                self.backup(peek);
                self.backup(c);
                let mode = self.mode_mut();
                mode.kind = Kind::Regular;
                mode.in_format_spec = false;
                return Ok(self.token(middle, self.start..self.cur));
            } else if c == '\\' as i32 {
                let mut peek = self.nextc();
                if peek == '{' as i32 || peek == '}' as i32 {
                    self.backup(peek);
                    continue;
                }
                if !self.mode().raw && peek == 'N' as i32 {
                    peek = self.nextc();
                    if peek == '{' as i32 {
                        unicode_escape = true;
                    } else {
                        self.backup(peek);
                    }
                }
            }
        }
        // The closing quotes end the literal part; FSTRING_END takes them next time.
        for _ in 0..quote_size {
            self.backup(quote);
        }
        Ok(self.token(middle, self.start..self.cur))
    }
}
