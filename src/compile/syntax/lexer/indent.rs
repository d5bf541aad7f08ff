//! The indentation of a new logical line (the `atbol` block of `tok_get_normal_mode`).
//!
//! CPython measures each line twice: with tabs to the next multiple of 8 (`col`) and with
//! tabs as one column (`altcol`). Both stacks must agree on whether a line indents, dedents
//! or stays, or the file mixes tabs and spaces ambiguously: `TabError`. Lines holding only
//! blanks or a comment do not count; nor do lines inside brackets.

use super::error::Done;
use super::{EOF, Fail, Lexer, MAXINDENT, TABSIZE};

impl Lexer<'_> {
    /// Measures the line and queues INDENT/DEDENT tokens; returns whether the line is blank
    /// (only whitespace and/or a comment).
    pub(super) fn indentation(&mut self) -> Result<bool, Fail> {
        let mut col: u32 = 0;
        let mut altcol: u32 = 0;
        let mut cont_line_col: u32 = 0;
        let c = loop {
            let c = self.nextc();
            if c == ' ' as i32 {
                col += 1;
                altcol += 1;
            } else if c == '\t' as i32 {
                col = (col / TABSIZE + 1) * TABSIZE;
                altcol += 1;
            } else if c == 0x0c {
                col = 0;
                altcol = 0;
            } else if c == '\\' as i32 && self.minor >= 12 {
                // Indentation cannot continue over a backslash: the first one decides.
                if cont_line_col == 0 {
                    cont_line_col = col;
                }
                self.continuation_line()?;
            } else {
                break c;
            }
        };
        if c == EOF && self.error.is_some() {
            return Err(Fail);
        }
        self.backup(c);
        let blankline = c == '#' as i32 || c == '\n' as i32;
        if !blankline && self.brackets.is_empty() {
            if cont_line_col != 0 {
                col = cont_line_col;
                altcol = cont_line_col;
            }
            let top = *self.indstack.last().expect("indstack has a base");
            let alttop = *self.altindstack.last().expect("altindstack has a base");
            if col == top {
                if altcol != alttop {
                    return self.fail_done(Done::TabSpace);
                }
            } else if col > top {
                if self.indstack.len() >= MAXINDENT {
                    return self.fail_done(Done::TooDeep);
                }
                if altcol <= alttop {
                    return self.fail_done(Done::TabSpace);
                }
                self.pendin += 1;
                self.indstack.push(col);
                self.altindstack.push(altcol);
            } else {
                while self.indstack.len() > 1 && col < *self.indstack.last().unwrap() {
                    self.pendin -= 1;
                    self.indstack.pop();
                    self.altindstack.pop();
                }
                if col != *self.indstack.last().unwrap() {
                    return self.fail_done(Done::Dedent);
                }
                if altcol != *self.altindstack.last().unwrap() {
                    return self.fail_done(Done::TabSpace);
                }
            }
        }
        Ok(blankline)
    }
}
