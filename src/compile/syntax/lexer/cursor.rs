//! Reading the text the way CPython's tokenizer does (`tok_nextc`, `tok_backup`, the
//! string-input underflow) and raising its errors (`Parser/tokenizer/helpers.c`).
//!
//! Why line by line: CPython advances `lineno` only when it reads past the end of a line,
//! and several token positions and error locations depend on exactly when that happens (a
//! `DEDENT` at the end of the file is on the last line, not after it).

use super::error::{Done, LexError, LexErrorKind, chars_in_prefix};
use super::{EOF, Fail, Lexer};

impl Lexer<'_> {
    pub(super) fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// The next byte, or [`EOF`] (reading the next line when the current one is used up).
    pub(super) fn nextc(&mut self) -> i32 {
        loop {
            if self.cur != self.inp {
                let c = self.bytes()[self.cur];
                self.cur += 1;
                return i32::from(c);
            }
            if self.error.is_some() || self.at_eof {
                return EOF;
            }
            let len = self.text.len();
            if self.inp >= len {
                self.at_eof = true;
                self.cur = self.inp;
                return EOF;
            }
            self.lineno += 1;
            self.line_start = self.cur;
            if self.start_unset {
                self.buf = self.cur;
            }
            self.inp = match memchr::memchr(b'\n', &self.bytes()[self.cur..]) {
                Some(n) => self.cur + n + 1,
                None => len,
            };
            if memchr::memchr(0, &self.bytes()[self.line_start..self.inp]).is_some() {
                let _ = self.syntax_error::<()>("source code cannot contain null bytes".into());
                self.cur = self.inp;
                return EOF;
            }
        }
    }

    /// Steps back over `c` (nothing for [`EOF`]).
    pub(super) fn backup(&mut self, c: i32) {
        if c != EOF {
            debug_assert!(self.cur > 0 && i32::from(self.bytes()[self.cur - 1]) == c);
            self.cur -= 1;
        }
    }

    /// `_PyTokenizer_syntaxerror`: a `SyntaxError` at the cursor (its offset counts the
    /// characters of the line up to the cursor).
    pub(super) fn syntax_error<T>(&mut self, msg: String) -> Result<T, Fail> {
        let col = chars_in_prefix(&self.bytes()[self.line_start..], self.cur - self.line_start);
        self.raise(msg, col, col)
    }

    /// `_PyTokenizer_syntaxerror_known_range`: offsets as CPython passes them (bytes).
    pub(super) fn syntax_error_range<T>(
        &mut self,
        col: i64,
        end_col: i64,
        msg: String,
    ) -> Result<T, Fail> {
        self.raise(msg, col, end_col)
    }

    fn raise<T>(&mut self, msg: String, col: i64, end_col: i64) -> Result<T, Fail> {
        if self.error.is_none() {
            self.error = Some(LexError {
                kind: LexErrorKind::SyntaxError,
                msg,
                lineno: self.lineno,
                col_offset: col,
                end_lineno: self.lineno,
                end_col_offset: end_col,
                done: Done::Error,
            });
        }
        Err(Fail)
    }

    /// A failure CPython's tokenizer only records in `tok->done`, raised as its parser does
    /// (`_Pypegen_tokenizer_error`, with the parser's locations).
    pub(super) fn fail_done<T>(&mut self, done: Done) -> Result<T, Fail> {
        if self.error.is_some() {
            return Err(Fail);
        }
        let line = self.line_start;
        let chars =
            |this: &Self, start: usize, n: usize| chars_in_prefix(&this.bytes()[start..], n);
        let (kind, msg, lineno, col, end_col): (_, String, _, _, _) = match done {
            Done::TabSpace => {
                self.cur = self.inp;
                (
                    LexErrorKind::TabError,
                    "inconsistent use of tabs and spaces in indentation".into(),
                    self.lineno,
                    1,
                    0,
                )
            }
            Done::TooDeep => {
                self.cur = self.inp;
                (
                    LexErrorKind::IndentationError,
                    "too many levels of indentation".into(),
                    self.lineno,
                    1,
                    0,
                )
            }
            Done::Dedent => {
                self.cur = self.inp;
                let col = chars(self, line, self.cur - line);
                (
                    LexErrorKind::IndentationError,
                    "unindent does not match any outer indentation level".into(),
                    self.lineno,
                    col,
                    -1,
                )
            }
            Done::LineCont => (
                LexErrorKind::SyntaxError,
                "unexpected character after line continuation character".into(),
                self.lineno,
                // Counted from `tok->buf`, measured on the current line (clamped to it).
                chars(self, line, self.cur - self.buf),
                0,
            ),
            Done::Eof => match self.brackets.last().copied() {
                Some(open) => {
                    let start = self.line_start_of(open.line);
                    (
                        LexErrorKind::SyntaxError,
                        format!("'{}' was never closed", open.ch as char),
                        open.line,
                        chars(self, start, open.col as usize + 1),
                        0,
                    )
                }
                None => {
                    let col = if self.cur == self.buf {
                        0
                    } else {
                        chars(self, line, self.cur - line)
                    };
                    (
                        LexErrorKind::SyntaxError,
                        "unexpected EOF while parsing".into(),
                        self.lineno,
                        col,
                        -1,
                    )
                }
            },
            Done::Error => unreachable!("raised errors go through syntax_error"),
        };
        self.error = Some(LexError {
            kind,
            msg,
            lineno,
            col_offset: col,
            end_lineno: lineno,
            end_col_offset: end_col,
            done,
        });
        Err(Fail)
    }

    /// The byte offset where line `lineno` (1-based) starts.
    pub(super) fn line_start_of(&self, lineno: u32) -> usize {
        if lineno <= 1 {
            return 0;
        }
        let mut seen = 1;
        for (i, &b) in self.bytes().iter().enumerate() {
            if b == b'\n' {
                seen += 1;
                if seen == lineno {
                    return i + 1;
                }
            }
        }
        self.text.len()
    }

    /// `tok_continuation_line`: after a backslash, the newline and a next line must follow.
    pub(super) fn continuation_line(&mut self) -> Result<i32, Fail> {
        let c = self.nextc();
        if c != '\n' as i32 {
            return self.fail_done(Done::LineCont);
        }
        let c = self.nextc();
        if c == EOF {
            if self.error.is_some() {
                return Err(Fail);
            }
            self.cur = self.inp;
            return self.fail_done(Done::Eof);
        }
        self.backup(c);
        Ok(c)
    }
}
