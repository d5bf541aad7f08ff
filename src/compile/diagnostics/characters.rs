//! The tokenizer's `invalid character` errors, found anywhere in a rejected file.
//!
//! CPython's tokenizer reads every non-ASCII character outside strings and comments as part of
//! an identifier, then checks the identifier (`_` or XID_Start first, XID_Continue after) and
//! names the first character that fails: `invalid character '€' (U+20AC)`, or
//! `invalid non-printable character U+200B` when `str.isprintable` is false for it. Because
//! CPython tokenizes the rest of the file after a parser error and lets a tokenizer error
//! replace it (`_PyPegen_tokenize_full_source_to_check_for_errors`), such a character wins
//! over most parser errors wherever it is. The engines either miss these characters (ruff
//! reads some as whitespace) or word them otherwise, so the diagnostics layer asks here.

use rustpython_unicode::classify::is_printable;
use rustpython_unicode::identifier::{is_continue, is_start};

use super::exception::PyException;

/// The first invalid character of `text` as CPython's tokenizer reports it.
pub fn first_invalid(text: &str, filename: &str) -> Option<PyException> {
    if text.is_ascii() {
        return None;
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'#' => {
                i = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |n| i + n);
            }
            b'\'' | b'"' => i = skip_string(bytes, i),
            b if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                if i < bytes.len() && (bytes[i] == b'\'' || bytes[i] == b'"') {
                    continue; // a string prefix: the string is skipped next
                }
                let word = &text[start..i];
                let bad = word.char_indices().find(|&(n, c)| {
                    if n == 0 {
                        !is_start(c)
                    } else {
                        !is_continue(c)
                    }
                });
                if let Some((n, c)) = bad {
                    return Some(exception(text, filename, start + n, c));
                }
            }
            b if b.is_ascii_digit() => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Past the end of the string literal whose quote is at `at` (or the end of its line when it
/// is unterminated, which the engines report).
fn skip_string(bytes: &[u8], at: usize) -> usize {
    let quote = bytes[at];
    let triple = bytes[at..].starts_with(&[quote; 3]);
    let mut i = at + if triple { 3 } else { 1 };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' if !triple => return i,
            q if q == quote => {
                if !triple {
                    return i + 1;
                }
                if bytes[i..].starts_with(&[quote; 3]) {
                    return i + 3;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

fn exception(text: &str, filename: &str, at: usize, c: char) -> PyException {
    let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n);
    let lineno = 1 + text[..line_start].matches('\n').count();
    let offset = text[line_start..at].chars().count() + 1;
    let msg = if is_printable(c) {
        format!("invalid character '{c}' (U+{:04X})", u32::from(c))
    } else {
        format!("invalid non-printable character U+{:04X}", u32::from(c))
    };
    PyException {
        kind: "SyntaxError",
        msg,
        filename: Some(filename.to_owned()),
        lineno: Some(lineno),
        offset: Some(offset),
        end_lineno: Some(lineno),
        end_offset: Some(offset),
        text: Some(text[line_start..line_end].trim_end_matches('\r').to_owned()),
        ..PyException::default()
    }
}

#[cfg(test)]
mod tests {
    use super::first_invalid;

    /// CPython 3.14.2 (the mutation suite's oracle): positions and words.
    #[test]
    fn names_the_first_bad_character() {
        let e = first_invalid("x = 1\nwarnings.warn\u{3000}(1)\n", "m.py").unwrap();
        assert_eq!(e.msg, "invalid non-printable character U+3000");
        assert_eq!((e.lineno, e.offset), (Some(2), Some(14)));
        let e = first_invalid("€ = 1\n", "m.py").unwrap();
        assert_eq!(e.msg, "invalid character '€' (U+20AC)");
        assert_eq!(e.offset, Some(1));
        let e = first_invalid("from a import \u{200b}B\n", "m.py").unwrap();
        assert_eq!(e.msg, "invalid non-printable character U+200B");
        assert_eq!(e.offset, Some(15));
    }

    #[test]
    fn strings_comments_and_identifiers_pass() {
        assert_eq!(
            first_invalid(
                "é = 'x\u{200b}' # \u{3000}\nnaïve = \"\"\"\u{a0}\"\"\"\n",
                "m.py"
            ),
            None
        );
    }
}
