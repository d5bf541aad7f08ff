//! The `punycode` and `idna` codecs (`Lib/encodings/punycode.py`, `idna.py`), which CPython
//! writes in Python and whose errors changed in 3.13: 3.12 raises plain `UnicodeError`s (or
//! ASCII decoding errors with positions inside a part), 3.13 on `UnicodeDecodeError`s
//! positioned in the whole input.
//!
//! `idna` decodes a label starting with the ACE prefix `xn--` by punycode and then checks that
//! it round-trips through nameprep (RFC 3491, Unicode 3.2 tables); that check is not here, so
//! such a label is decoded here only when it fails before the check, and otherwise refused as
//! a codec this layer cannot decode. Every other input decodes exactly.

use super::{Failure, error_text};

const ACE: &[u8] = b"xn--";

/// A punycode failure at `start..end` of the extended part (or the base for `Ascii`).
enum Error {
    Ascii {
        position: usize,
        byte: u8,
    },
    Incomplete {
        at: usize,
    },
    InvalidDigit {
        at: usize,
        byte: u8,
    },
    InvalidCharacter {
        at: usize,
        code_point: u128,
    },
    /// A number past any C `ssize_t` (and past the 128-bit integers this port computes
    /// with; Python's are unbounded): 3.13 on raise `OverflowError` building the error.
    Overflow,
}

pub fn punycode(bytes: &[u8], old: bool) -> Result<Vec<u32>, Failure> {
    let (base, extended, offset) = split(bytes);
    if old && base.is_ascii() {
        // 3.12 reads the extended part as ASCII before decoding any digit.
        if let Some(position) = extended.iter().position(|&b| b >= 0x80) {
            return Err(Failure::Unicode(ascii_error(position, extended[position])));
        }
    }
    decode_parts(base, extended).map_err(|failure| {
        if !old {
            return match span(&failure, offset) {
                Some((codec, start, end, reason)) => {
                    Failure::Unicode(error_text(codec, bytes, start, end, &reason))
                }
                None => overflow(),
            };
        }
        Failure::Unicode(match failure {
            Error::Overflow => return Failure::Unsupported,
            Error::Ascii { position, byte } => ascii_error(position, byte),
            Error::Incomplete { .. } => "incomplete punicode string".to_owned(),
            Error::InvalidDigit { byte, .. } => {
                format!("Invalid extended code point '{}'", char::from(byte))
            }
            Error::InvalidCharacter { code_point, .. } => {
                format!("Invalid character U+{code_point:x}")
            }
        })
    })
}

/// The base (before the last `-`), the extended part, and where the extended part starts.
fn split(bytes: &[u8]) -> (&[u8], &[u8], usize) {
    match bytes.iter().rposition(|&b| b == b'-') {
        Some(at) => (&bytes[..at], &bytes[at + 1..], at + 1),
        None => (&bytes[..0], bytes, 0),
    }
}

/// 3.13 on: building the error of a position past a C `ssize_t` raises this instead.
fn overflow() -> Failure {
    Failure::Raised {
        kind: "OverflowError",
        message: "Python int too large to convert to C ssize_t".to_owned(),
    }
}

/// `str()` of the ASCII codec's error for `byte` at `position`.
fn ascii_error(position: usize, byte: u8) -> String {
    format!(
        "'ascii' codec can't decode byte 0x{byte:02x} in position {position}: ordinal not in \
         range(128)"
    )
}

/// 3.13 on: the codec, range and reason of the `UnicodeDecodeError` for `error`, positioned in
/// the whole input (the extended part starts at `offset`); `None` for an overflow, which is
/// not a `UnicodeDecodeError`.
fn span(error: &Error, offset: usize) -> Option<(&'static str, usize, usize, String)> {
    Some(match *error {
        Error::Ascii { position, .. } => (
            "ascii",
            position,
            position + 1,
            "ordinal not in range(128)".to_owned(),
        ),
        Error::Incomplete { at } => (
            "punycode",
            offset + at,
            offset + at + 1,
            "incomplete punycode string".to_owned(),
        ),
        Error::InvalidDigit { at, byte } => (
            "punycode",
            offset + at,
            offset + at + 1,
            format!("Invalid extended code point '{byte}'"),
        ),
        Error::InvalidCharacter { at, code_point } => (
            "punycode",
            offset + at - 1,
            offset + at,
            format!("Invalid character U+{code_point:x}"),
        ),
        Error::Overflow => return None,
    })
}

/// RFC 3492's decoding as `punycode.py` does it; `InvalidCharacter.at` is the insertion
/// position before it is reduced (CPython reports that).
fn decode_parts(base: &[u8], extended: &[u8]) -> Result<Vec<u32>, Error> {
    if let Some(position) = base.iter().position(|&b| b >= 0x80) {
        return Err(Error::Ascii {
            position,
            byte: base[position],
        });
    }
    let mut out: Vec<u32> = base.iter().map(|&b| u32::from(b)).collect();
    let mut code_point: u128 = 0x80;
    let mut position: i128 = -1;
    let mut bias: u128 = 72;
    let mut at = 0;
    while at < extended.len() {
        let (next, delta) = generalized_number(extended, at, bias)?;
        // A delta past 128 bits puts the insertion point past any C `ssize_t`.
        let delta = delta.ok_or(Error::Overflow)?;
        position = i128::try_from(delta)
            .ok()
            .and_then(|delta| position.checked_add(delta + 1))
            .ok_or(Error::Overflow)?;
        let length = out.len() as i128 + 1;
        code_point = code_point
            .checked_add(position.div_euclid(length) as u128)
            .ok_or(Error::Overflow)?;
        if code_point > 0x10_FFFF {
            if position > i128::from(i64::MAX) {
                // 3.13 on: the error's end does not fit a `ssize_t`.
                return Err(Error::Overflow);
            }
            return Err(Error::InvalidCharacter {
                at: position as usize,
                code_point,
            });
        }
        position = position.rem_euclid(length);
        out.insert(position as usize, code_point as u32);
        bias = adapt(delta, at == 0, out.len() as u128);
        at = next;
    }
    Ok(out)
}

fn threshold(j: u128, bias: u128) -> u128 {
    (36 * (j + 1)).saturating_sub(bias).clamp(1, 26)
}

/// One variable-length number from `extended[at..]`: where it ends and its value, `None` when
/// it exceeds 128 bits (the digits are still read, since CPython reads them all first).
fn generalized_number(
    extended: &[u8],
    mut at: usize,
    bias: u128,
) -> Result<(usize, Option<u128>), Error> {
    let mut result = Some(0u128);
    let mut weight = Some(1u128);
    let mut j = 0;
    loop {
        let &byte = extended.get(at).ok_or(Error::Incomplete { at })?;
        at += 1;
        let digit = match byte.to_ascii_uppercase() {
            upper @ b'A'..=b'Z' => u128::from(upper - b'A'),
            digit @ b'0'..=b'9' => u128::from(digit) - 22,
            _ => {
                return Err(Error::InvalidDigit {
                    at: at - 1,
                    byte: byte.to_ascii_uppercase(),
                });
            }
        };
        let t = threshold(j, bias);
        result = weight
            .and_then(|weight| digit.checked_mul(weight))
            .zip(result)
            .and_then(|(value, result)| result.checked_add(value));
        if digit < t {
            return Ok((at, result));
        }
        weight = weight.and_then(|weight| weight.checked_mul(36 - t));
        j += 1;
    }
}

fn adapt(delta: u128, first: bool, characters: u128) -> u128 {
    let mut delta = if first { delta / 700 } else { delta / 2 };
    delta += delta / characters;
    let mut divisions = 0;
    while delta > 455 {
        delta /= 35;
        divisions += 36;
    }
    divisions + 36 * delta / (delta + 38)
}

pub fn idna(bytes: &[u8], old: bool) -> Result<Vec<u32>, Failure> {
    let has_ace = |data: &[u8]| {
        data.windows(ACE.len()).any(|window| {
            if old {
                window == ACE
            } else {
                window.eq_ignore_ascii_case(ACE)
            }
        })
    };
    if !has_ace(bytes) && bytes.is_ascii() {
        return Ok(bytes.iter().map(|&b| u32::from(b)).collect());
    }
    let mut labels: Vec<&[u8]> = bytes.split(|&b| b == b'.').collect();
    let trailing_dot = labels.len() > 1 && labels.last().is_some_and(|label| label.is_empty());
    if trailing_dot {
        labels.pop();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut offset = 0;
    for (index, label) in labels.iter().enumerate() {
        if index > 0 {
            out.push(u32::from(b'.'));
        }
        let fail = |start: usize, end: usize, reason: &str| {
            Failure::Unicode(error_text(
                "idna",
                bytes,
                offset + start,
                offset + end,
                reason,
            ))
        };
        if label.len() > 1024 {
            return Err(if old {
                Failure::Unicode("label way too long".to_owned())
            } else {
                fail(0, label.len(), "label way too long")
            });
        }
        let ace = if old {
            label.starts_with(ACE)
        } else {
            label.len() >= ACE.len() && label[..ACE.len()].eq_ignore_ascii_case(ACE)
        };
        if !ace {
            if let Some(position) = label.iter().position(|&b| b >= 0x80) {
                return Err(if old {
                    Failure::Unicode(format!(
                        "'ascii' codec can't decode byte 0x{:02x} in position {position}: \
                         ordinal not in range(128)",
                        label[position]
                    ))
                } else {
                    fail(position, position + 1, "ordinal not in range(128)")
                });
            }
            out.extend(label.iter().map(|&b| u32::from(b)));
        } else {
            // Decodes by punycode; a failure there is CPython's error, a success would need
            // the nameprep round trip.
            let rest = &label[ACE.len()..];
            if old {
                return Err(match punycode(rest, old) {
                    Ok(_) => Failure::Unsupported,
                    Err(failure) => failure,
                });
            }
            let (base, extended, at) = split(rest);
            return Err(match decode_parts(base, extended) {
                Ok(_) => Failure::Unsupported,
                Err(error) => match span(&error, at) {
                    Some((_, start, end, reason)) => {
                        fail(ACE.len() + start, ACE.len() + end, &reason)
                    }
                    None => overflow(),
                },
            });
        }
        offset += label.len() + 1;
    }
    if trailing_dot {
        out.push(u32::from(b'.'));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<Vec<u32>, Failure>) -> String {
        match result {
            Err(Failure::Unicode(message)) => message,
            Err(Failure::Raised { kind, message }) => format!("{kind}: {message}"),
            Err(Failure::Unsupported) => "unsupported".to_owned(),
            Ok(code_points) => format!("ok: {code_points:x?}"),
        }
    }

    /// 64-bit CPython 3.13.0 (pyenv, native): positions past 32 bits are reported (the
    /// oracle's 32-bit CPython raises OverflowError instead, so tests/encodings.rs leaves
    /// these out).
    #[test]
    fn punycode_positions_past_32_bits_as_64_bit_cpython() {
        assert_eq!(
            message(punycode(b"99999999zz99", false)),
            "'punycode' codec can't decode bytes in position 35388885384-35388885384: Invalid \
             character U+83d578a09"
        );
        assert_eq!(
            message(punycode(b"zz999999ba\x80", false)),
            "'punycode' codec can't decode bytes in position 5988885024-5988885024: Invalid \
             character U+164f722a1"
        );
    }

    /// CPython 3.12.7 and 3.14.2 (oracles), `b'...'.decode(...)`.
    #[test]
    fn errors_by_version() {
        assert_eq!(
            message(punycode(b"abc-\n", true)),
            "Invalid extended code point '\n'"
        );
        assert_eq!(
            message(punycode(b"abc-\n", false)),
            "'punycode' codec can't decode byte 0x0a in position 4: Invalid extended code point \
             '10'"
        );
        assert_eq!(
            message(idna(b"a.\xe9b.c", true)),
            "'ascii' codec can't decode byte 0xe9 in position 0: ordinal not in range(128)"
        );
        assert_eq!(
            message(idna(b"a.\xe9b.c", false)),
            "'idna' codec can't decode byte 0xe9 in position 2: ordinal not in range(128)"
        );
        assert_eq!(
            message(idna(b"xn--zz99.a", false)),
            "'idna' codec can't decode byte 0x2e in position 8: incomplete punycode string"
        );
        assert_eq!(message(idna(b"xn--bcher-kva.ch", false)), "unsupported");
    }
}
