//! Source bytes to text, as CPython's tokenizer decodes them.
//!
//! serc decodes UTF-8 and the codecs it knows (Latin-1, ISO-8859-15, KOI8-R, CP1251, CP1252,
//! EUC-JP, Big5) itself. A cookie naming any other codec of CPython's `encodings` package
//! (cp1250, shift_jis, gbk, …) is decoded here, with CPython's own tables ([`codec`]), and the
//! engines are handed the text. The tokenizer decodes a string source whole, after turning
//! `\r\n` and `\r` into `\n` and appending a final `\n`, so error positions count in that buffer.

mod algorithmic;
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
    /// CPython decodes with this codec, this layer does not: the cookie's name.
    Unsupported(String),
    /// The codec raised an exception other than a `UnicodeError`, which `compile` passes on
    /// as is (`RuntimeError: internal codec error`): its class and `str()`.
    Raised {
        kind: &'static str,
        message: String,
    },
}

const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// The modules of `encodings` this layer has tables for, in table order.
pub fn tabulated_modules() -> impl Iterator<Item = &'static str> {
    codec::modules()
}

/// `bytes.decode(module)` with a table or an algorithm of this layer, as CPython `version`'s
/// tokenizer decodes: the text, or `str()` of CPython's exception; `None` when this layer does
/// not decode `module`. For checking the codecs against CPython.
pub fn decode_with(
    module: &str,
    version: serc::PythonVersion,
    bytes: &[u8],
) -> Option<Result<String, String>> {
    if let Some(codec) = codec::lookup(module, version) {
        return Some(codec.decode(bytes).map_err(|error| error.to_string()));
    }
    let decoded = algorithmic::decode(module, bytes, version)?;
    Some(decoded.map_err(|failure| match failure {
        algorithmic::Failure::Unicode(message) => message,
        algorithmic::Failure::Raised { kind, message } => format!("{kind}: {message}"),
        algorithmic::Failure::Unsupported => UNSUPPORTED.to_owned(),
    }))
}

/// What [`decode_with`] answers for an input an algorithm of this layer does not decode.
pub const UNSUPPORTED: &str = "unsupported by this layer";

/// The modules of `encodings` decoded by an algorithm of this layer (UTF-16, UTF-7, ...).
pub fn algorithmic_modules() -> impl Iterator<Item = &'static str> {
    algorithmic::modules()
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
            let module = names::module_for(&name, version);
            let binary = module.is_none() && names::is_binary_codec(&name, version);
            if (module.is_some() || binary) && source.starts_with(UTF8_BOM) {
                return Err(Undecodable::BomConflict(name));
            }
            if binary {
                // `codecs.lookup` finds it; the tokenizer's text-encoding check refuses it.
                return Err(Undecodable::Codec(format!(
                    "'{name}' is not a text encoding; use codecs.decode() to handle arbitrary \
                     codecs"
                )));
            }
            let Some(module) = module else {
                return Err(Undecodable::Serc(
                    serc::SourceDecodeError::UnsupportedEncoding(name),
                ));
            };
            if module == "undefined" {
                // `encodings.undefined` refuses every input.
                return Err(Undecodable::Codec("undefined encoding".to_owned()));
            }
            let (buffer, appended) = tokenizer_buffer(source);
            let mut text = if let Some(codec) = codec::lookup(module, version) {
                codec
                    .decode(&buffer)
                    .map_err(|error| Undecodable::Codec(error.to_string()))?
            } else if let Some(decoded) = algorithmic::decode(module, &buffer, version) {
                decoded.map_err(|failure| match failure {
                    algorithmic::Failure::Unicode(message) => Undecodable::Codec(message),
                    algorithmic::Failure::Raised { kind, message } => {
                        Undecodable::Raised { kind, message }
                    }
                    algorithmic::Failure::Unsupported => Undecodable::Unsupported(name.clone()),
                })?
            } else {
                return Err(Undecodable::Unsupported(name));
            };
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

    /// CPython 3.12.7-3.15.0rc1 (oracles): a codec that is not a text encoding is found, then
    /// refused with the cookie's name as written.
    #[test]
    fn binary_codecs_are_not_text_encodings() {
        for (cookie, name) in [("rot13", "rot13"), ("Quoted-Printable", "Quoted-Printable")] {
            let source = format!("# coding: {cookie}\nx = 1\n");
            let Err(Undecodable::Codec(error)) = decode(source.as_bytes(), V314) else {
                panic!("{cookie} must be refused");
            };
            assert_eq!(
                error,
                format!(
                    "'{name}' is not a text encoding; use codecs.decode() to handle arbitrary \
                     codecs"
                )
            );
        }
        assert!(matches!(
            decode(b"# coding: mbcs\nx = 1\n", V314),
            Err(Undecodable::Serc(_))
        ));
    }
}
