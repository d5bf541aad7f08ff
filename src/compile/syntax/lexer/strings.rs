//! String prefixes and plain (non-f, non-t) string literals (the `letter_quote` part of
//! `tok_get_normal_mode`), with CPython's unterminated-string errors.
//!
//! Why the prefix rules are per version: 3.12 and 3.13 accept prefixes only in certain orders
//! and read anything else as a name followed by a string (`ub''` is `NAME STRING`); 3.14 reads
//! every combination of letters it knows (adding `t`) and rejects the incompatible ones with
//! its own message.

use super::super::token::TokenKind;
use super::{EOF, Fail, Lexer, Step};

/// Which prefix letters were seen.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Prefix {
    pub b: bool,
    pub r: bool,
    pub u: bool,
    pub f: bool,
    pub t: bool,
}

impl Prefix {
    /// Takes `c` as one more prefix letter if the version's rules allow it here.
    pub(super) fn take(&mut self, c: i32, minor: u8) -> bool {
        let c = u8::try_from(c).unwrap_or(0).to_ascii_lowercase();
        if minor >= 14 {
            let slot = match c {
                b'b' => &mut self.b,
                b'u' => &mut self.u,
                b'r' => &mut self.r,
                b'f' => &mut self.f,
                b't' => &mut self.t,
                _ => return false,
            };
            if *slot {
                return false;
            }
            *slot = true;
            return true;
        }
        match c {
            b'b' if !(self.b || self.u || self.f) => self.b = true,
            b'u' if !(self.b || self.u || self.r || self.f) => self.u = true,
            b'r' if !(self.r || self.u) => self.r = true,
            b'f' if !(self.f || self.b || self.u) => self.f = true,
            _ => return false,
        }
        true
    }
}

impl Lexer<'_> {
    /// 3.14+: `ub''`, `bf''`, `ft''` ... are errors, located on the prefix.
    pub(super) fn check_prefixes(&mut self, p: &Prefix) -> Result<(), Fail> {
        let pairs = [
            (p.u && p.b, "u", "b"),
            (p.u && p.r, "u", "r"),
            (p.u && p.f, "u", "f"),
            (p.u && p.t, "u", "t"),
            (p.b && p.f, "b", "f"),
            (p.b && p.t, "b", "t"),
            (p.f && p.t, "f", "t"),
        ];
        if let Some((_, a, b)) = pairs.iter().find(|(bad, _, _)| *bad) {
            let col = (self.start + 1 - self.line_start) as i64;
            let end = (self.cur - self.line_start) as i64;
            return self.syntax_error_range(
                col,
                end,
                format!("'{a}' and '{b}' prefixes are incompatible"),
            );
        }
        Ok(())
    }

    /// The prefix letter of the innermost f-/t-string in messages (`f` before 3.14).
    pub(super) fn prefix(&self) -> char {
        if self.mode().tstring { 't' } else { 'f' }
    }

    /// A plain string literal whose opening `quote` was just read.
    pub(super) fn string(&mut self, quote: i32) -> Step {
        let mut quote_size = 1;
        let mut end_quote_size = 0;
        let mut has_escaped_quote = false;
        self.first_lineno = self.lineno;
        self.multi_line_start = self.line_start;
        let mut c = self.nextc();
        if c == quote {
            c = self.nextc();
            if c == quote {
                quote_size = 3;
            } else {
                end_quote_size = 1; // the empty string
            }
        }
        if c != quote {
            self.backup(c);
        }
        while end_quote_size != quote_size {
            c = self.nextc();
            if self.error.is_some() {
                return Err(Fail);
            }
            if c == EOF || (quote_size == 1 && c == '\n' as i32) {
                // Report from the opening quote.
                self.cur = self.start + 1;
                self.line_start = self.multi_line_start;
                let detected = self.lineno;
                self.lineno = self.first_lineno;
                if self.in_fstring() {
                    let mode = self.mode();
                    if mode.quote == quote as u8 && mode.quote_size == quote_size {
                        let msg = format!("{}-string: expecting '}}'", self.prefix());
                        return self.syntax_error(msg);
                    }
                }
                let msg = if quote_size == 3 {
                    format!(
                        "unterminated triple-quoted string literal (detected at line {detected})"
                    )
                } else if has_escaped_quote && self.minor >= 13 {
                    format!(
                        "unterminated string literal (detected at line {detected}); \
                         perhaps you escaped the end quote?"
                    )
                } else {
                    format!("unterminated string literal (detected at line {detected})")
                };
                return self.syntax_error(msg);
            }
            if c == quote {
                end_quote_size += 1;
            } else {
                end_quote_size = 0;
                if c == '\\' as i32 {
                    c = self.nextc();
                    if c == quote {
                        has_escaped_quote = true;
                    }
                }
            }
        }
        self.token_here(TokenKind::String)
    }
}
