//! The `unicode_escape` and `raw_unicode_escape` codecs, as
//! `_PyUnicode_DecodeUnicodeEscapeInternal2` and `_PyUnicode_DecodeRawUnicodeEscapeStateful`
//! decode a whole input.
//!
//! Bytes other than escapes are Latin-1 code points. An unknown escape is kept as written
//! (CPython also warns, which does not change the result). `\N{name}` looks the name up in
//! the Unicode character database (`unicode_names2`, the table the engines' parsers use for
//! string literals); a name only a newer Unicode than CPython's knows would differ.

use super::{Failure, error};

fn hex_value(byte: u8) -> Option<u32> {
    char::from(byte).to_digit(16)
}

/// Reads `count` hex digits at `bytes[*s..]`, advancing `*s` past those read. `Err(true)`: the
/// input ended first; `Err(false)`: a byte is not a hex digit.
fn hex_digits(bytes: &[u8], s: &mut usize, count: usize) -> Result<u32, bool> {
    let mut value = 0u32;
    for _ in 0..count {
        let Some(&byte) = bytes.get(*s) else {
            return Err(true);
        };
        let digit = hex_value(byte).ok_or(false)?;
        value = value << 4 | digit;
        *s += 1;
    }
    Ok(value)
}

pub fn unicode_escape(bytes: &[u8]) -> Result<Vec<u32>, Failure> {
    const CODEC: &str = "unicodeescape";
    let mut out = Vec::with_capacity(bytes.len());
    let mut s = 0;
    while s < bytes.len() {
        let byte = bytes[s];
        s += 1;
        if byte != b'\\' {
            out.push(u32::from(byte));
            continue;
        }
        let start = s - 1;
        let Some(&escape) = bytes.get(s) else {
            return Err(error(CODEC, bytes, start, s, "\\ at end of string"));
        };
        s += 1;
        let simple = match escape {
            b'\n' => None,
            b'\\' | b'\'' | b'"' => Some(u32::from(escape)),
            b'b' => Some(0x08),
            b'f' => Some(0x0C),
            b't' => Some(0x09),
            b'n' => Some(0x0A),
            b'r' => Some(0x0D),
            b'v' => Some(0x0B),
            b'a' => Some(0x07),
            b'0'..=b'7' => {
                let mut value = u32::from(escape - b'0');
                for _ in 0..2 {
                    match bytes.get(s) {
                        Some(&digit @ b'0'..=b'7') => {
                            value = value << 3 | u32::from(digit - b'0');
                            s += 1;
                        }
                        _ => break,
                    }
                }
                Some(value)
            }
            b'x' | b'u' | b'U' => {
                let (count, message) = match escape {
                    b'x' => (2, "truncated \\xXX escape"),
                    b'u' => (4, "truncated \\uXXXX escape"),
                    _ => (8, "truncated \\UXXXXXXXX escape"),
                };
                let value = hex_digits(bytes, &mut s, count)
                    .map_err(|_| error(CODEC, bytes, start, s, message))?;
                if value > 0x10_FFFF {
                    return Err(error(CODEC, bytes, start, s, "illegal Unicode character"));
                }
                Some(value)
            }
            b'N' => Some(named(bytes, &mut s, start)?),
            other => {
                out.push(u32::from(b'\\'));
                Some(u32::from(other))
            }
        };
        out.extend(simple);
    }
    Ok(out)
}

/// `\N{name}` after the `N`; `s` ends past the `}` on success.
fn named(bytes: &[u8], s: &mut usize, start: usize) -> Result<u32, Failure> {
    const CODEC: &str = "unicodeescape";
    let malformed = |end| error(CODEC, bytes, start, end, "malformed \\N character escape");
    if bytes.get(*s) != Some(&b'{') {
        return Err(malformed(*s));
    }
    *s += 1;
    let name_start = *s;
    while *s < bytes.len() && bytes[*s] != b'}' {
        *s += 1;
    }
    if *s >= bytes.len() || *s == name_start {
        return Err(malformed(*s));
    }
    let name = &bytes[name_start..*s];
    *s += 1;
    // The database's names are ASCII; CPython compares them case-insensitively.
    std::str::from_utf8(name)
        .ok()
        .and_then(unicode_names2::character)
        .map(u32::from)
        .ok_or_else(|| error(CODEC, bytes, start, *s, "unknown Unicode character name"))
}

pub fn raw_unicode_escape(bytes: &[u8]) -> Result<Vec<u32>, Failure> {
    const CODEC: &str = "rawunicodeescape";
    let mut out = Vec::with_capacity(bytes.len());
    let mut s = 0;
    while s < bytes.len() {
        let byte = bytes[s];
        s += 1;
        if byte != b'\\' || s >= bytes.len() {
            out.push(u32::from(byte));
            continue;
        }
        let start = s - 1;
        let escape = bytes[s];
        s += 1;
        let (count, message) = match escape {
            b'u' => (4, "truncated \\uXXXX escape"),
            b'U' => (8, "truncated \\UXXXXXXXX escape"),
            other => {
                out.push(u32::from(b'\\'));
                out.push(u32::from(other));
                continue;
            }
        };
        let value =
            hex_digits(bytes, &mut s, count).map_err(|_| error(CODEC, bytes, start, s, message))?;
        if value > 0x10_FFFF {
            return Err(error(CODEC, bytes, start, s, "\\Uxxxxxxxx out of range"));
        }
        out.push(value);
    }
    Ok(out)
}
