//! CPython's text for a bad escape in a string literal.
//!
//! CPython decodes a literal's body with the `unicodeescape` codec and reports the codec's
//! error: `(unicode error) 'unicodeescape' codec can't decode bytes in position 0-2: truncated
//! \xXX escape`, positions being byte offsets into the body, with the caret under the whole
//! literal. rustpython only says "Got unexpected unicode" at the escape, so we rebuild the
//! codec's error from the literal around that position.

use super::exception::PyException;

/// Rewrites `exception` (located at the bad escape) into CPython's codec error.
pub fn explain(exception: &mut PyException) {
    let (Some(text), Some(offset)) = (exception.text.clone(), exception.offset) else {
        return;
    };
    let chars: Vec<char> = text.chars().collect();
    let Some(literal) = enclosing_literal(&chars, offset - 1) else {
        return;
    };
    let body: String = chars[literal.body_start..literal.body_end].iter().collect();
    let Some((start, end, reason)) = first_bad_escape(&body) else {
        return;
    };
    let position = if end - start > 1 {
        format!("bytes in position {start}-{}", end - 1)
    } else {
        format!("byte 0x{:02x} in position {start}", body.as_bytes()[start])
    };
    exception.msg =
        format!("(unicode error) 'unicodeescape' codec can't decode {position}: {reason}");
    exception.offset = Some(literal.token_start + 1);
    exception.end_offset = Some(literal.token_end + 1);
}

struct Literal {
    token_start: usize,
    body_start: usize,
    body_end: usize,
    token_end: usize,
}

/// The single-line, non-raw str literal containing character `at`, if there is one.
fn enclosing_literal(chars: &[char], at: usize) -> Option<Literal> {
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '#' {
            return None;
        }
        if c == '"' || c == '\'' {
            let mut prefix_start = i;
            while prefix_start > 0 && chars[prefix_start - 1].is_ascii_alphabetic() {
                prefix_start -= 1;
            }
            let prefix: String = chars[prefix_start..i]
                .iter()
                .collect::<String>()
                .to_ascii_lowercase();
            let mut j = i + 1;
            while j < chars.len() && chars[j] != c {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            let end = j.min(chars.len() - 1);
            if (i..=end).contains(&at) {
                let plain = prefix.is_empty() || prefix == "u";
                return plain.then_some(Literal {
                    token_start: prefix_start,
                    body_start: i + 1,
                    body_end: j.min(chars.len()),
                    token_end: end + 1,
                });
            }
            i = j + 1;
            continue;
        }
        i += 1;
    }
    None
}

/// The first escape the `unicodeescape` codec rejects: byte range (end exclusive) and reason.
fn first_bad_escape(body: &str) -> Option<(usize, usize, &'static str)> {
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let start = i;
        let Some(&kind) = bytes.get(i + 1) else {
            return Some((start, bytes.len(), "\\ at end of string"));
        };
        let hex = |digits: usize, reason| {
            let valid = bytes[start + 2..]
                .iter()
                .take(digits)
                .take_while(|b| b.is_ascii_hexdigit())
                .count();
            (valid < digits).then_some((start, start + 2 + valid, reason))
        };
        let bad = match kind {
            b'x' => hex(2, "truncated \\xXX escape"),
            b'u' => hex(4, "truncated \\uXXXX escape"),
            b'U' => hex(8, "truncated \\UXXXXXXXX escape").or_else(|| {
                let value = u32::from_str_radix(&body[start + 2..start + 10], 16).ok()?;
                (value > 0x10_FFFF).then_some((start, start + 10, "illegal Unicode character"))
            }),
            b'N' => named_escape(body, start),
            _ => None,
        };
        if bad.is_some() {
            return bad;
        }
        i += 2;
    }
    None
}

fn named_escape(body: &str, start: usize) -> Option<(usize, usize, &'static str)> {
    let rest = &body[start + 2..];
    let Some(name) = rest.strip_prefix('{') else {
        return Some((start, start + 2, "malformed \\N character escape"));
    };
    let Some(close) = name.find('}') else {
        return Some((start, body.len(), "malformed \\N character escape"));
    };
    let end = start + 3 + close + 1;
    if close == 0 {
        return Some((start, end, "malformed \\N character escape"));
    }
    unicode_names2::character(&name[..close])
        .is_none()
        .then_some((start, end, "unknown Unicode character name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explained(line: &str, offset: usize) -> PyException {
        let mut exception = PyException {
            kind: "SyntaxError",
            msg: "Got unexpected unicode".into(),
            text: Some(line.into()),
            offset: Some(offset),
            ..PyException::default()
        };
        explain(&mut exception);
        exception
    }

    /// CPython 3.14.2 on tests/fixtures/broken/truncated_hex_escape.py and bad_named_escape.py.
    #[test]
    fn matches_cpython_codec_errors() {
        let e = explained("x = \"\\x4\"\n", 6);
        assert_eq!(
            e.msg,
            "(unicode error) 'unicodeescape' codec can't decode bytes in position 0-2: truncated \\xXX escape"
        );
        assert_eq!((e.offset, e.end_offset), (Some(5), Some(10)));
        let e = explained("x = \"\\N{NO SUCH NAME}\"\n", 6);
        assert_eq!(
            e.msg,
            "(unicode error) 'unicodeescape' codec can't decode bytes in position 0-15: unknown Unicode character name"
        );
    }
}
