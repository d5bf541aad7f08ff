//! The brackets of a source as CPython's tokenizer pairs them: brackets in comments and string
//! literals do not count. Two rules ask about the same walk: where the brackets still open at
//! the end are (`'(' was never closed`), and whether a closing bracket on the error line has
//! no opener or the wrong one (then the tokenizer, not the parser, reports the error).

/// What a walk over a prefix of the source found.
pub(super) struct Brackets {
    /// Byte positions of the brackets still open where the walk stopped.
    pub open: Vec<usize>,
    /// Byte positions of the closing brackets that had no opener or the wrong one.
    pub mismatched: Vec<usize>,
}

/// Walks `text[..end]` (a string literal running past `end` ends the walk).
pub(super) fn scan(text: &str, end: usize) -> Brackets {
    let bytes = &text.as_bytes()[..end.min(text.len())];
    let mut found = Brackets {
        open: Vec::new(),
        mismatched: Vec::new(),
    };
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                i = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |at| i + at);
                continue;
            }
            quote @ (b'\'' | b'"') => {
                i = string_end(bytes, i, quote);
                continue;
            }
            b'(' | b'[' | b'{' => found.open.push(i),
            close @ (b')' | b']' | b'}') => {
                let opener = found.open.pop().map(|at| bytes[at]);
                let expected = match close {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                if opener != Some(expected) {
                    found.mismatched.push(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Where the walk goes on after the string literal opening at `start`: past its closing
/// quote, or at the newline that ends an unterminated single-quoted one.
fn string_end(bytes: &[u8], start: usize, quote: u8) -> usize {
    let triple = bytes[start..].starts_with(&[quote; 3]);
    let mut i = start + if triple { 3 } else { 1 };
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote && (!triple || bytes[i..].starts_with(&[quote; 3])) {
            return i + if triple { 3 } else { 1 };
        }
        if bytes[i] == b'\n' && !triple {
            return i;
        }
        i += 1;
    }
    bytes.len()
}

/// The 1-based line of byte position `at`.
pub(super) fn line_of(text: &str, at: usize) -> usize {
    memchr::memchr_iter(b'\n', &text.as_bytes()[..at]).count() + 1
}

/// The byte position just past line `line` (1-based): after its newline, or the end.
pub(super) fn end_of_line(text: &str, line: usize) -> usize {
    memchr::memchr_iter(b'\n', text.as_bytes())
        .nth(line.saturating_sub(1))
        .map_or(text.len(), |at| at + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_strings_hide_brackets() {
        let text = "f(a, '(', \"[\", '''\n)''', # (\n [x}\n";
        let found = scan(text, text.len());
        assert_eq!(found.open, vec![1]);
        assert_eq!(found.mismatched, vec![text.find('}').unwrap()]);
        assert_eq!(line_of(text, found.mismatched[0]), 3);
        assert_eq!(end_of_line(text, 1), text.find('\n').unwrap() + 1);
        // The walk may stop early: nothing on line 3 is seen.
        assert!(scan(text, end_of_line(text, 2)).mismatched.is_empty());
    }
}
