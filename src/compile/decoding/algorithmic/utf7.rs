//! UTF-7 (RFC 2152), as `PyUnicode_DecodeUTF7Stateful` decodes a whole input.
//!
//! CPython's particulars kept here: an error inside a shift sequence spans from its `+`; a high
//! surrogate left pending when a sequence ends is kept (a lone surrogate) only if the ending
//! byte decodes as itself; the end of the input inside a sequence fails only if bits or a
//! surrogate are left over.

use super::{Failure, error};

const CODEC: &str = "utf7";

fn base64_value(byte: u8) -> Option<u32> {
    Some(u32::from(match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    }))
}

/// A byte that stands for itself outside a shift sequence.
fn direct(byte: u8) -> bool {
    byte <= 127 && byte != b'+'
}

pub fn decode(bytes: &[u8]) -> Result<Vec<u32>, Failure> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut in_shift = false;
    let mut shift_start = 0;
    let mut bits = 0u32;
    let mut buffer = 0u64;
    let mut surrogate = 0u32;
    let mut s = 0;
    while s < bytes.len() {
        let byte = bytes[s];
        if in_shift {
            if let Some(value) = base64_value(byte) {
                buffer = buffer << 6 | u64::from(value);
                bits += 6;
                s += 1;
                if bits >= 16 {
                    let unit = (buffer >> (bits - 16)) as u32 & 0xFFFF;
                    bits -= 16;
                    buffer &= (1 << bits) - 1;
                    if surrogate != 0 {
                        if (0xDC00..0xE000).contains(&unit) {
                            out.push(0x10000 + ((surrogate - 0xD800) << 10) + (unit - 0xDC00));
                            surrogate = 0;
                            continue;
                        }
                        out.push(surrogate);
                        surrogate = 0;
                    }
                    if (0xD800..0xDC00).contains(&unit) {
                        surrogate = unit;
                    } else {
                        out.push(unit);
                    }
                }
            } else {
                in_shift = false;
                if bits >= 6 {
                    s += 1;
                    return Err(error(
                        CODEC,
                        bytes,
                        shift_start,
                        s,
                        "partial character in shift sequence",
                    ));
                }
                if bits > 0 && buffer != 0 {
                    s += 1;
                    return Err(error(
                        CODEC,
                        bytes,
                        shift_start,
                        s,
                        "non-zero padding bits in shift sequence",
                    ));
                }
                if surrogate != 0 && direct(byte) {
                    out.push(surrogate);
                }
                surrogate = 0;
                if byte == b'-' {
                    s += 1;
                }
            }
        } else if byte == b'+' {
            shift_start = s;
            s += 1;
            match bytes.get(s) {
                Some(b'-') => {
                    s += 1;
                    out.push(u32::from(b'+'));
                }
                Some(&next) if base64_value(next).is_none() => {
                    s += 1;
                    return Err(error(CODEC, bytes, shift_start, s, "ill-formed sequence"));
                }
                _ => {
                    in_shift = true;
                    surrogate = 0;
                    bits = 0;
                    buffer = 0;
                }
            }
        } else if direct(byte) {
            s += 1;
            out.push(u32::from(byte));
        } else {
            return Err(error(
                CODEC,
                bytes,
                s,
                s + 1,
                "unexpected special character",
            ));
        }
    }
    if in_shift && (surrogate != 0 || bits >= 6 || (bits > 0 && buffer != 0)) {
        return Err(error(
            CODEC,
            bytes,
            shift_start,
            bytes.len(),
            "unterminated shift sequence",
        ));
    }
    Ok(out)
}
