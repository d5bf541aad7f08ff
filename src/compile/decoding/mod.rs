//! Source bytes to text, as CPython's tokenizer decodes them.
//!
//! serc decodes UTF-8 and the codecs it knows (Latin-1, ISO-8859-15, KOI8-R, CP1251, CP1252,
//! EUC-JP, Big5) itself. A cookie naming any other codec of CPython's `encodings` package
//! (cp1250, shift_jis, gbk, …) is decoded here, with CPython's own tables ([`codec`]), and the
//! engines are handed the text. The tokenizer decodes a string source whole, after turning
//! `\r\n` and `\r` into `\n` and appending a final `\n`, so error positions count in that buffer.

mod codec;
mod interns;
mod names;

use std::borrow::Cow;

pub use interns::interned_strings;

/// A source decoded to text.
pub struct Decoded<'a> {
    pub text: Cow<'a, str>,
    /// Set when this layer decoded it (serc cannot): the codec, for the intern state.
    pub codec: Option<SourceCodec>,
}

/// The codec a source was decoded with here (the serc engine adds what importing it interns).
pub struct SourceCodec {
    /// The module of `encodings` (e.g. `cp1250`).
    pub module: &'static str,
    /// The cookie's name as the codec registry normalised (and interned) it.
    pub registry_name: String,
}

/// Why a source does not decode.
pub enum Undecodable {
    NullByte,
    /// serc's own decoding error (UTF-8 sources, its codecs, BOMs).
    Serc(serc::SourceDecodeError),
    /// The declared codec rejects the source: the text of CPython's `UnicodeError`.
    Codec(String),
    /// A UTF-8 byte-order mark and a cookie naming another codec: the cookie's name.
    BomConflict(String),
    /// CPython decodes with this codec (stateful or not a byte table), this layer does not:
    /// the cookie's name.
    Unsupported(String),
}

const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// The modules of `encodings` this layer has tables for, in table order.
pub fn tabulated_modules() -> impl Iterator<Item = &'static str> {
    codec::modules()
}

/// `bytes.decode(module)` with a table of this layer, as CPython `version` decodes: the text, or
/// `str(UnicodeDecodeError)`; `None` when there is no table for `module`. For checking the
/// tables against CPython.
pub fn decode_with(
    module: &str,
    version: serc::PythonVersion,
    bytes: &[u8],
) -> Option<Result<String, String>> {
    let codec = codec::lookup(module, version)?;
    Some(codec.decode(bytes).map_err(|error| error.to_string()))
}

/// Decodes `source` as CPython `version`'s tokenizer does (the names a cookie may use differ
/// between versions).
pub fn decode(source: &[u8], version: serc::PythonVersion) -> Result<Decoded<'_>, Undecodable> {
    if source.contains(&0) {
        return Err(Undecodable::NullByte);
    }
    match serc::decode_source(source) {
        Ok(text) => Ok(Decoded { text, codec: None }),
        Err(
            serc::SourceDecodeError::UnsupportedEncoding(name)
            | serc::SourceDecodeError::InvalidEncoding(name),
        ) => {
            let Some(module) = names::module_for(&name, version) else {
                return Err(Undecodable::Serc(
                    serc::SourceDecodeError::UnsupportedEncoding(name),
                ));
            };
            if source.starts_with(UTF8_BOM) {
                return Err(Undecodable::BomConflict(name));
            }
            if module == "undefined" {
                // `encodings.undefined` refuses every input.
                return Err(Undecodable::Codec("undefined encoding".to_owned()));
            }
            let Some(codec) = codec::lookup(module, version) else {
                return Err(Undecodable::Unsupported(name));
            };
            let (buffer, appended) = tokenizer_buffer(source);
            let mut text = codec
                .decode(&buffer)
                .map_err(|error| Undecodable::Codec(error.to_string()))?;
            if appended && text.ends_with('\n') {
                text.pop();
            }
            Ok(Decoded {
                text: Cow::Owned(text),
                codec: Some(SourceCodec {
                    module,
                    registry_name: names::normalise(&name),
                }),
            })
        }
        Err(error) => Err(Undecodable::Serc(error)),
    }
}

/// The bytes the tokenizer decodes: newlines translated to `\n`, and a `\n` appended when the
/// source does not end with one (the flag says so).
fn tokenizer_buffer(source: &[u8]) -> (Vec<u8>, bool) {
    let mut buffer = Vec::with_capacity(source.len() + 1);
    let mut bytes = source.iter().copied().peekable();
    while let Some(byte) = bytes.next() {
        if byte == b'\r' {
            buffer.push(b'\n');
            bytes.next_if_eq(&b'\n');
        } else {
            buffer.push(byte);
        }
    }
    let append = buffer.last().is_some_and(|&last| last != b'\n');
    if append {
        buffer.push(b'\n');
    }
    (buffer, append)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V314: serc::PythonVersion = serc::PythonVersion::Py314;

    #[test]
    fn newlines_are_translated_before_decoding() {
        assert_eq!(
            tokenizer_buffer(b"a\r\nb\rc"),
            (b"a\nb\nc\n".to_vec(), true)
        );
        assert_eq!(tokenizer_buffer(b"a\n"), (b"a\n".to_vec(), false));
        assert_eq!(tokenizer_buffer(b""), (Vec::new(), false));
    }

    #[test]
    fn decodes_what_serc_lacks() {
        let decoded = decode(b"# coding: cp1250\nw = '\x9alap'\n", V314)
            .ok()
            .unwrap();
        assert_eq!(decoded.text, "# coding: cp1250\nw = '\u{161}lap'\n");
        assert_eq!(decoded.codec.unwrap().module, "cp1250");
        let Err(Undecodable::Codec(error)) = decode(b"# coding: cp1250\r\nw = '\x98'", V314) else {
            panic!("0x98 is undefined in cp1250");
        };
        assert!(error.contains("byte 0x98 in position 22:"), "{error}");
    }
}
