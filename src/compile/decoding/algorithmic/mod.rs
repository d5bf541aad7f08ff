//! The codecs of CPython's `encodings` package that are algorithms rather than byte tables:
//! UTF-16 and UTF-32 (each byte order), UTF-7, the `unicode_escape` and `raw_unicode_escape`
//! codecs, the 7-bit CJK codecs (ISO-2022-KR, ISO-2022-JP and its variants, HZ), `punycode`
//! and `idna`.
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
mod idna;
mod iso2022;
mod utf16_32;
mod utf7;

use super::codec::DecodeError;

/// The exception a codec raises.
pub enum Failure {
    /// A `UnicodeError` (the tokenizer reports it as a `SyntaxError`): its `str()`.
    Unicode(String),
    /// Any other exception (`RuntimeError: internal codec error`, punycode's
    /// `OverflowError`), which `compile` lets through as is: its class and `str()`.
    Raised { kind: &'static str, message: String },
    /// An input this port does not decode although CPython may (see `idna`).
    Unsupported,
}

/// A decoder: the input, and whether CPython 3.12's behaviour applies (punycode and idna
/// changed their errors in 3.13).
type Decoder = fn(&[u8], bool) -> Result<Vec<u32>, Failure>;

/// The modules decoded here and their decoders, sorted by module.
const DECODERS: &[(&str, Decoder)] = &[
    ("hz", |bytes, _| iso2022::hz(bytes)),
    ("idna", idna::idna),
    ("iso2022_jp", |bytes, _| iso2022::iso2022_jp(bytes)),
    ("iso2022_jp_1", |bytes, _| iso2022::iso2022_jp_1(bytes)),
    ("iso2022_jp_2", |bytes, _| iso2022::iso2022_jp_2(bytes)),
    ("iso2022_jp_2004", |bytes, _| {
        iso2022::iso2022_jp_2004(bytes)
    }),
    ("iso2022_jp_3", |bytes, _| iso2022::iso2022_jp_3(bytes)),
    ("iso2022_jp_ext", |bytes, _| iso2022::iso2022_jp_ext(bytes)),
    ("iso2022_kr", |bytes, _| iso2022::iso2022_kr(bytes)),
    ("punycode", idna::punycode),
    ("raw_unicode_escape", |bytes, _| {
        escapes::raw_unicode_escape(bytes)
    }),
    ("unicode_escape", |bytes, _| escapes::unicode_escape(bytes)),
    ("utf_16", |bytes, _| utf16_32::utf_16(bytes)),
    ("utf_16_be", |bytes, _| utf16_32::utf_16_be(bytes)),
    ("utf_16_le", |bytes, _| utf16_32::utf_16_le(bytes)),
    ("utf_32", |bytes, _| utf16_32::utf_32(bytes)),
    ("utf_32_be", |bytes, _| utf16_32::utf_32_be(bytes)),
    ("utf_32_le", |bytes, _| utf16_32::utf_32_le(bytes)),
    ("utf_7", |bytes, _| utf7::decode(bytes)),
];

/// Decodes `bytes` with the `encodings` module `module` as CPython `version`'s tokenizer
/// does (the decoder, then the UTF-8 re-encoding of [`into_text`]): the text or the
/// exception; `None` when `module` is not one of these algorithms.
pub fn decode(
    module: &str,
    bytes: &[u8],
    version: serc::PythonVersion,
) -> Option<Result<String, Failure>> {
    let index = DECODERS
        .binary_search_by(|(name, _)| (*name).cmp(module))
        .ok()?;
    let py312 = version == serc::PythonVersion::Py312;
    Some((DECODERS[index].1)(bytes, py312).and_then(|code_points| into_text(&code_points)))
}

/// The modules decoded here.
pub fn modules() -> impl Iterator<Item = &'static str> {
    DECODERS.iter().map(|(name, _)| *name)
}

/// The decoded code points as text. CPython's tokenizer re-encodes the decoded source as UTF-8
/// (`translate_into_utf8`), which fails on a lone surrogate with the UTF-8 codec's
/// `UnicodeEncodeError`, the position counted in code points.
fn into_text(code_points: &[u32]) -> Result<String, Failure> {
    let mut text = String::with_capacity(code_points.len());
    for (position, &code_point) in code_points.iter().enumerate() {
        match char::from_u32(code_point) {
            Some(c) => text.push(c),
            None => {
                // The encoder reports the whole run of surrogates starting here.
                let run = code_points[position..]
                    .iter()
                    .take_while(|&&c| (0xD800..0xE000).contains(&c))
                    .count();
                return Err(Failure::Unicode(if run == 1 {
                    format!(
                        "'utf-8' codec can't encode character '\\u{code_point:04x}' in position \
                         {position}: surrogates not allowed"
                    )
                } else {
                    format!(
                        "'utf-8' codec can't encode characters in position {position}-{}: \
                         surrogates not allowed",
                        position + run - 1
                    )
                }));
            }
        }
    }
    Ok(text)
}

/// `str(UnicodeDecodeError)` for `bytes[start..end]`.
fn error(codec: &str, bytes: &[u8], start: usize, end: usize, reason: &str) -> Failure {
    Failure::Unicode(error_text(codec, bytes, start, end, reason))
}

/// `UnicodeDecodeError.__str__`: one byte by value when the range is one byte inside the
/// input, else the range (also for a start at the end, as punycode's errors can have).
fn error_text(codec: &str, bytes: &[u8], start: usize, end: usize, reason: &str) -> String {
    match bytes.get(start) {
        Some(&first_byte) => DecodeError {
            start,
            end,
            reason: reason.to_owned(),
            codec: codec.to_owned(),
            first_byte,
        }
        .to_string(),
        None => format!(
            "'{codec}' codec can't decode bytes in position {start}-{}: {reason}",
            end - 1
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn decoders_are_sorted_for_binary_search() {
        assert!(super::DECODERS.is_sorted_by_key(|(name, _)| *name));
    }
}
