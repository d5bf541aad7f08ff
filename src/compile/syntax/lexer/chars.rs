//! Which characters may appear where: identifiers (PEP 3131, `verify_identifier`) and the
//! printable test CPython uses to word its invalid-character errors.

use super::{Fail, Lexer};

/// `str.isprintable()` for one code point (CPython's `Py_UNICODE_ISPRINTABLE`).
pub(super) fn is_printable(cp: u32) -> bool {
    char::from_u32(cp).is_some_and(rustpython_unicode::classify::is_printable)
}

impl Lexer<'_> {
    /// A name with non-ASCII characters must be an identifier: `_` or XID_Start first,
    /// XID_Continue after. The error names the first character that is not and points at it.
    pub(super) fn verify_identifier(&mut self) -> Result<(), Fail> {
        let text = &self.text[self.start..self.cur];
        let mut bad = None;
        for (i, (at, ch)) in text.char_indices().enumerate() {
            let ok = if i == 0 {
                ch == '_' || rustpython_unicode::identifier::is_start(ch)
            } else {
                rustpython_unicode::identifier::is_continue(ch)
            };
            if !ok {
                bad = Some((at, ch));
                break;
            }
        }
        let Some((at, ch)) = bad else {
            return Ok(());
        };
        // CPython points just after the offending character.
        self.cur = self.start + at + ch.len_utf8();
        let msg = if is_printable(ch as u32) {
            format!("invalid character '{ch}' (U+{:04X})", ch as u32)
        } else {
            format!("invalid non-printable character U+{:04X}", ch as u32)
        };
        self.syntax_error(msg)
    }
}
