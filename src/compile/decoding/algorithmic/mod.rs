//! The codecs of CPython's `encodings` package that are algorithms rather than byte tables:
//! UTF-16 and UTF-32 (each byte order), UTF-7, the `unicode_escape` and `raw_unicode_escape`
//! codecs, and the 7-bit CJK codecs (ISO-2022-KR, ISO-2022-JP and its variants, HZ).
//!
//! Why by hand: a table cannot hold them (their meaning depends on state: a byte-order mark,
//! a shift sequence, a backslash), and each is short. Each follows CPython's decoder in
//! `Objects/unicodeobject.c` (and `Modules/cjkcodecs/`) with `errors='strict'`, so the first error is CPython's
//! `UnicodeDecodeError`, positions and reason included; `tests/encodings.rs` compares them
//! with the oracle's CPython over seeded random inputs built from each codec's alphabet.
//!
//! A decoder yields code points, not a `String`: the escape codecs and UTF-7 can produce lone
//! surrogates, which CPython's tokenizer then fails to encode as UTF-8 (its own error, see
//! [`into_text`]).

mod escapes;
mod iso2022;
mod utf16_32;
mod utf7;

use super::codec::DecodeError;

/// A decoder: the code points, or the exception CPython raises.
type Decoder = fn(&[u8]) -> Result<Vec<u32>, Failure>;

/// The exception a codec raises.
pub enum Failure {
    /// A `UnicodeError` (the tokenizer reports it as a `SyntaxError`): its `str()`.
    Unicode(String),
    /// Any other exception (`RuntimeError: internal codec error`), which `compile` lets
    /// through as is: its `str()`.
    Runtime(String),
}

/// The decoder of the `encodings` module `module`, if it is one of these algorithms.
pub fn lookup(module: &str) -> Option<Decoder> {
    Some(match module {
        "utf_16" => utf16_32::utf_16,
        "utf_16_le" => utf16_32::utf_16_le,
        "utf_16_be" => utf16_32::utf_16_be,
        "utf_32" => utf16_32::utf_32,
        "utf_32_le" => utf16_32::utf_32_le,
        "utf_32_be" => utf16_32::utf_32_be,
        "utf_7" => utf7::decode,
        "unicode_escape" => escapes::unicode_escape,
        "raw_unicode_escape" => escapes::raw_unicode_escape,
        "iso2022_kr" => iso2022::iso2022_kr,
        "iso2022_jp" => iso2022::iso2022_jp,
        "iso2022_jp_1" => iso2022::iso2022_jp_1,
        "iso2022_jp_2" => iso2022::iso2022_jp_2,
        "iso2022_jp_2004" => iso2022::iso2022_jp_2004,
        "iso2022_jp_3" => iso2022::iso2022_jp_3,
        "iso2022_jp_ext" => iso2022::iso2022_jp_ext,
        "hz" => iso2022::hz,
        _ => return None,
    })
}

/// The modules decoded here.
pub fn modules() -> impl Iterator<Item = &'static str> {
    [
        "hz",
        "iso2022_jp",
        "iso2022_jp_1",
        "iso2022_jp_2",
        "iso2022_jp_2004",
        "iso2022_jp_3",
        "iso2022_jp_ext",
        "iso2022_kr",
        "raw_unicode_escape",
        "unicode_escape",
        "utf_16",
        "utf_16_be",
        "utf_16_le",
        "utf_32",
        "utf_32_be",
        "utf_32_le",
        "utf_7",
    ]
    .into_iter()
}

/// The decoded code points as text. CPython's tokenizer re-encodes the decoded source as UTF-8
/// (`translate_into_utf8`), which fails on a lone surrogate with the UTF-8 codec's
/// `UnicodeEncodeError`, the position counted in code points.
pub fn into_text(code_points: &[u32]) -> Result<String, Failure> {
    let mut text = String::with_capacity(code_points.len());
    for (position, &code_point) in code_points.iter().enumerate() {
        match char::from_u32(code_point) {
            Some(c) => text.push(c),
            None => {
                return Err(Failure::Unicode(format!(
                    "'utf-8' codec can't encode character '\\u{code_point:04x}' in position \
                     {position}: surrogates not allowed"
                )));
            }
        }
    }
    Ok(text)
}

/// `str(UnicodeDecodeError)` for `bytes[start..end]`.
fn error(codec: &str, bytes: &[u8], start: usize, end: usize, reason: &str) -> Failure {
    Failure::Unicode(
        DecodeError {
            start,
            end,
            reason: reason.to_owned(),
            codec: codec.to_owned(),
            first_byte: bytes.get(start).copied().unwrap_or(0),
        }
        .to_string(),
    )
}
