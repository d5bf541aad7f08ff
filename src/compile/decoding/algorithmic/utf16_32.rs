//! UTF-16 and UTF-32, as `PyUnicode_DecodeUTF16Stateful` and `PyUnicode_DecodeUTF32Stateful`
//! decode a whole input (`final=True`).
//!
//! The byte-order-less codecs take a leading byte-order mark and skip it; without one they use
//! the native order, little-endian on every platform CPython's oracle and our targets run on
//! (the error then names `utf-16-le`).

use super::{Failure, error};

#[derive(Clone, Copy)]
enum Order {
    Little,
    Big,
}

pub fn utf_16(bytes: &[u8]) -> Result<Vec<u32>, Failure> {
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(bytes, 2, rest.len(), Order::Little),
        [0xFE, 0xFF, rest @ ..] => utf16(bytes, 2, rest.len(), Order::Big),
        _ => utf16(bytes, 0, bytes.len(), Order::Little),
    }
}

pub fn utf_16_le(bytes: &[u8]) -> Result<Vec<u32>, Failure> {
    utf16(bytes, 0, bytes.len(), Order::Little)
}

pub fn utf_16_be(bytes: &[u8]) -> Result<Vec<u32>, Failure> {
    utf16(bytes, 0, bytes.len(), Order::Big)
}

pub fn utf_32(bytes: &[u8]) -> Result<Vec<u32>, Failure> {
    match bytes {
        [0xFF, 0xFE, 0, 0, ..] => utf32(bytes, 4, Order::Little),
        [0, 0, 0xFE, 0xFF, ..] => utf32(bytes, 4, Order::Big),
        _ => utf32(bytes, 0, Order::Little),
    }
}

pub fn utf_32_le(bytes: &[u8]) -> Result<Vec<u32>, Failure> {
    utf32(bytes, 0, Order::Little)
}

pub fn utf_32_be(bytes: &[u8]) -> Result<Vec<u32>, Failure> {
    utf32(bytes, 0, Order::Big)
}

fn unit16(pair: &[u8], order: Order) -> u32 {
    match order {
        Order::Little => u32::from(pair[0]) | u32::from(pair[1]) << 8,
        Order::Big => u32::from(pair[0]) << 8 | u32::from(pair[1]),
    }
}

/// Decodes `bytes[from..]` (`len` bytes) as UTF-16 in `order`; positions count from the
/// start of `bytes`, mark included.
fn utf16(bytes: &[u8], from: usize, len: usize, order: Order) -> Result<Vec<u32>, Failure> {
    let codec = match order {
        Order::Little => "utf-16-le",
        Order::Big => "utf-16-be",
    };
    let end = from + len;
    let mut out = Vec::with_capacity(len / 2);
    let mut q = from;
    while q < end {
        if end - q < 2 {
            return Err(error(codec, bytes, q, end, "truncated data"));
        }
        let unit = unit16(&bytes[q..], order);
        q += 2;
        if !(0xD800..0xE000).contains(&unit) {
            out.push(unit);
            continue;
        }
        if unit >= 0xDC00 {
            return Err(error(codec, bytes, q - 2, q, "illegal encoding"));
        }
        if end - q < 2 {
            return Err(error(codec, bytes, q - 2, end, "unexpected end of data"));
        }
        let low = unit16(&bytes[q..], order);
        q += 2;
        if !(0xDC00..0xE000).contains(&low) {
            return Err(error(
                codec,
                bytes,
                q - 4,
                q - 2,
                "illegal UTF-16 surrogate",
            ));
        }
        out.push(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
    }
    Ok(out)
}

/// Decodes `bytes[from..]` as UTF-32 in `order`.
fn utf32(bytes: &[u8], from: usize, order: Order) -> Result<Vec<u32>, Failure> {
    let codec = match order {
        Order::Little => "utf-32-le",
        Order::Big => "utf-32-be",
    };
    let mut out = Vec::with_capacity(bytes.len() / 4);
    let mut q = from;
    while q < bytes.len() {
        let Some(word) = bytes.get(q..q + 4) else {
            return Err(error(codec, bytes, q, bytes.len(), "truncated data"));
        };
        let word = [word[0], word[1], word[2], word[3]];
        let code_point = match order {
            Order::Little => u32::from_le_bytes(word),
            Order::Big => u32::from_be_bytes(word),
        };
        if (0xD800..0xE000).contains(&code_point) {
            return Err(error(
                codec,
                bytes,
                q,
                q + 4,
                "code point in surrogate code point range(0xd800, 0xe000)",
            ));
        }
        if code_point >= 0x11_0000 {
            return Err(error(
                codec,
                bytes,
                q,
                q + 4,
                "code point not in range(0x110000)",
            ));
        }
        out.push(code_point);
        q += 4;
    }
    Ok(out)
}
