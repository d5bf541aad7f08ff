//! The 7-bit CJK codecs with designations and shifts: ISO-2022-KR, the ISO-2022-JP family and
//! HZ, as CPython's `Modules/cjkcodecs/_codecs_iso2022.c` and `_codecs_cn.c` (`hz`) decode a
//! whole input through `_multibytecodec` with `errors='strict'`.
//!
//! Why these tables: the double-byte character sets (KS X 1001, JIS X 0208/0212/0213,
//! GB 2312) are the ones the EUC codecs use with the high bits set, and CPython's EUC
//! decoders look up the very same maps, so a set's code `a b` (each 0x21-0x7E) decodes as the
//! EUC table decodes `a|0x80 b|0x80` (JIS X 0212 and 0213 plane 2 behind EUC's 0x8F). The
//! exceptions are written out where they occur. `tests/encodings.rs` decodes every code of
//! every set each codec can designate, and random escape soups, against the oracle.
//!
//! Errors, as `_multibytecodec` reports them: a decoder's positive answer `n` is an "illegal
//! multibyte sequence" of `n` bytes from the current one; running out of input inside a
//! sequence is an "incomplete multibyte sequence" up to the end.

use super::super::codec::{self, Codec};
use super::Failure;
use std::sync::OnceLock;

/// A character set a designation can select.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Set {
    Ascii,
    Latin1,
    Greek,
    Jisx0201Roman,
    Jisx0201Kana,
    Gb2312,
    Jisx0208,
    Ksx1001,
    Jisx0212,
    Jisx0208Old,
    Jisx0213v2000Plane1,
    Jisx0213Plane2,
    Jisx0213v2004Plane1,
}

impl Set {
    /// The final byte of its designation and whether it is a double-byte set (CPython's
    /// `CHARSET_*` marks).
    fn mark(self) -> (u8, bool) {
        match self {
            Set::Ascii => (b'B', false),
            Set::Latin1 => (b'A', false),
            Set::Greek => (b'F', false),
            Set::Jisx0201Roman => (b'J', false),
            Set::Jisx0201Kana => (b'I', false),
            Set::Gb2312 => (b'A', true),
            Set::Jisx0208 => (b'B', true),
            Set::Ksx1001 => (b'C', true),
            Set::Jisx0212 => (b'D', true),
            Set::Jisx0208Old => (b'@', true),
            Set::Jisx0213v2000Plane1 => (b'O', true),
            Set::Jisx0213Plane2 => (b'P', true),
            Set::Jisx0213v2004Plane1 => (b'Q', true),
        }
    }

    fn width(self) -> usize {
        if self.mark().1 { 2 } else { 1 }
    }
}

/// A codec's configuration (`iso2022_config`): the sets it may designate besides ASCII, and
/// its flags.
struct Config {
    name: &'static str,
    sets: &'static [Set],
    /// SO and SI are ordinary control characters (`NO_SHIFT`).
    no_shift: bool,
    /// `ESC .` designates G2 and `ESC N` single-shifts it (`USE_G2`).
    use_g2: bool,
    /// `ESC & @` may prefix a JIS X 0208 designation (`USE_JISX0208_EXT`).
    jisx0208_ext: bool,
}

const KR: Config = Config {
    name: "iso2022_kr",
    sets: &[Set::Ksx1001],
    no_shift: false,
    use_g2: false,
    jisx0208_ext: false,
};

const JP: Config = Config {
    name: "iso2022_jp",
    sets: &[Set::Jisx0208, Set::Jisx0201Roman, Set::Jisx0208Old],
    no_shift: true,
    use_g2: false,
    jisx0208_ext: true,
};

const JP_1: Config = Config {
    name: "iso2022_jp_1",
    sets: &[
        Set::Jisx0208,
        Set::Jisx0212,
        Set::Jisx0201Roman,
        Set::Jisx0208Old,
    ],
    ..JP
};

const JP_2: Config = Config {
    name: "iso2022_jp_2",
    sets: &[
        Set::Jisx0208,
        Set::Jisx0212,
        Set::Ksx1001,
        Set::Gb2312,
        Set::Jisx0201Roman,
        Set::Jisx0208Old,
        Set::Latin1,
        Set::Greek,
    ],
    use_g2: true,
    ..JP
};

const JP_2004: Config = Config {
    name: "iso2022_jp_2004",
    sets: &[Set::Jisx0213v2004Plane1, Set::Jisx0208, Set::Jisx0213Plane2],
    ..JP
};

const JP_3: Config = Config {
    name: "iso2022_jp_3",
    sets: &[Set::Jisx0213v2000Plane1, Set::Jisx0208, Set::Jisx0213Plane2],
    ..JP
};

const JP_EXT: Config = Config {
    name: "iso2022_jp_ext",
    sets: &[
        Set::Jisx0208,
        Set::Jisx0212,
        Set::Jisx0201Roman,
        Set::Jisx0201Kana,
        Set::Jisx0208Old,
    ],
    ..JP
};

pub fn iso2022_kr(bytes: &[u8]) -> Result<Vec<u32>, Failure> {
    decode(&KR, bytes)
}
pub fn iso2022_jp(bytes: &[u8]) -> Result<Vec<u32>, Failure> {
    decode(&JP, bytes)
}
pub fn iso2022_jp_1(bytes: &[u8]) -> Result<Vec<u32>, Failure> {
    decode(&JP_1, bytes)
}
pub fn iso2022_jp_2(bytes: &[u8]) -> Result<Vec<u32>, Failure> {
    decode(&JP_2, bytes)
}
pub fn iso2022_jp_2004(bytes: &[u8]) -> Result<Vec<u32>, Failure> {
    decode(&JP_2004, bytes)
}
pub fn iso2022_jp_3(bytes: &[u8]) -> Result<Vec<u32>, Failure> {
    decode(&JP_3, bytes)
}
pub fn iso2022_jp_ext(bytes: &[u8]) -> Result<Vec<u32>, Failure> {
    decode(&JP_EXT, bytes)
}

/// Why decoding stopped: `Illegal(n)` bytes from the current position, `Incomplete`, or
/// `Internal` (`MBERR_INTERNAL`: a single shift into a G2 no decoder serves).
enum Stop {
    Illegal(usize),
    Incomplete,
    Internal,
}

fn failure(codec: &str, bytes: &[u8], position: usize, stop: Stop) -> Failure {
    match stop {
        Stop::Internal => Failure::Raised {
            kind: "RuntimeError",
            message: "internal codec error".to_owned(),
        },
        Stop::Illegal(length) => super::error(
            codec,
            bytes,
            position,
            (position + length).min(bytes.len()),
            "illegal multibyte sequence",
        ),
        Stop::Incomplete => super::error(
            codec,
            bytes,
            position,
            bytes.len(),
            "incomplete multibyte sequence",
        ),
    }
}

const ESC: u8 = 0x1B;
const SO: u8 = 0x0E;
const SI: u8 = 0x0F;
const MAX_ESCAPE: usize = 16;

fn escape_end(byte: u8) -> bool {
    byte.is_ascii_uppercase() || byte == b'@'
}

struct State {
    g: [Set; 3],
    shifted: bool,
    /// An escape this codec does not know was seen: bytes pass as Latin-1 up to and including
    /// the next final byte (`F_ESCTHROUGHOUT`).
    escape_throughout: bool,
}

fn decode(config: &Config, bytes: &[u8]) -> Result<Vec<u32>, Failure> {
    let mut state = State {
        g: [Set::Ascii; 3],
        shifted: false,
        escape_throughout: false,
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        step(config, &mut state, bytes, &mut i, &mut out)
            .map_err(|stop| failure(config.name, bytes, i, stop))?;
    }
    Ok(out)
}

/// Decodes one item at `bytes[*i..]`, advancing `*i` past it.
fn step(
    config: &Config,
    state: &mut State,
    bytes: &[u8],
    i: &mut usize,
    out: &mut Vec<u32>,
) -> Result<(), Stop> {
    let rest = &bytes[*i..];
    let c = rest[0];
    if state.escape_throughout {
        out.push(u32::from(c));
        *i += 1;
        if escape_end(c) {
            state.escape_throughout = false;
        }
        return Ok(());
    }
    match c {
        ESC => {
            let &second = rest.get(1).ok_or(Stop::Incomplete)?;
            if matches!(second, b'(' | b')' | b'$' | b'.' | b'&') {
                *i += designate(config, state, rest)?;
            } else if config.use_g2 && second == b'N' {
                let &third = rest.get(2).ok_or(Stop::Incomplete)?;
                out.push(single_shift(state.g[2], third)?);
                *i += 3;
            } else {
                out.push(u32::from(ESC));
                state.escape_throughout = true;
                *i += 1;
            }
        }
        SI | SO if !config.no_shift => {
            state.shifted = c == SO;
            *i += 1;
        }
        b'\n' => {
            state.shifted = false;
            out.push(u32::from(c));
            *i += 1;
        }
        0x80.. => return Err(Stop::Illegal(1)),
        _ => {
            let set = if state.shifted {
                state.g[1]
            } else {
                state.g[0]
            };
            if c < 0x20 || set == Set::Ascii {
                out.push(u32::from(c));
                *i += 1;
                return Ok(());
            }
            let width = set.width();
            let code = rest.get(..width).ok_or(Stop::Incomplete)?;
            if !decode_in(set, code, out) {
                return Err(Stop::Illegal(width));
            }
            *i += width;
        }
    }
    Ok(())
}

/// An escape sequence at the start of `rest` (`iso2022processesc`): the bytes it takes.
fn designate(config: &Config, state: &mut State, rest: &[u8]) -> Result<usize, Stop> {
    let mut length = None;
    let mut i = 1;
    while i < MAX_ESCAPE {
        let &byte = rest.get(i).ok_or(Stop::Incomplete)?;
        if escape_end(byte) {
            length = Some(i + 1);
            break;
        }
        if config.jisx0208_ext && i + 1 < rest.len() && byte == b'&' && rest[i + 1] == b'@' {
            i += 2;
        }
        i += 1;
    }
    let length = length.ok_or(Stop::Illegal(1))?;
    let (mark, double, g) = match length {
        3 if rest[1] == b'$' => (rest[2], true, 0),
        3 => match rest[1] {
            b'(' => (rest[2], false, 0),
            b')' => (rest[2], false, 1),
            b'.' if config.use_g2 => (rest[2], false, 2),
            _ => return Err(Stop::Illegal(3)),
        },
        4 if rest[1] == b'$' => match rest[2] {
            b'(' => (rest[3], true, 0),
            b')' => (rest[3], true, 1),
            _ => return Err(Stop::Illegal(4)),
        },
        6 if config.jisx0208_ext && rest[3..6] == [ESC, b'$', b'B'] => (b'B', true, 0),
        other => return Err(Stop::Illegal(other)),
    };
    let set = if (mark, double) == (b'B', false) {
        Set::Ascii
    } else {
        *config
            .sets
            .iter()
            .find(|set| set.mark() == (mark, double))
            .ok_or(Stop::Illegal(length))?
    };
    state.g[g] = set;
    Ok(length)
}

/// `ESC N` and the byte after it, in G2 (`iso2022processg2`).
fn single_shift(g2: Set, byte: u8) -> Result<u32, Stop> {
    match g2 {
        Set::Latin1 => (byte < 0x80).then(|| u32::from(byte) + 0x80),
        Set::Greek => greek(byte ^ 0x80),
        Set::Ascii => (byte < 0x80).then_some(u32::from(byte)),
        _ => return Err(Stop::Internal),
    }
    .ok_or(Stop::Illegal(3))
}

/// ISO-8859-7's upper half as CPython's `ISO8859_7_DECODE` computes it (of the byte with its
/// high bit flipped, so bytes above 0x7F come out below 0x80 unchanged).
fn greek(c: u8) -> Option<u32> {
    let c32 = u32::from(c);
    if c < 0xA0 {
        return Some(c32);
    }
    if c < 0xC0 && 0x288f_3bc9u64 & (1 << (c - 0xA0)) != 0 {
        return Some(c32);
    }
    if (0xB4..=0xFE).contains(&c) && (c >= 0xD4 || 0xbfff_fd77u64 & (1 << (c - 0xB4)) != 0) {
        return Some(0x02D0 + c32);
    }
    match c {
        0xA1 => Some(0x2018),
        0xA2 => Some(0x2019),
        0xAF => Some(0x2015),
        _ => None,
    }
}

/// The rows of JIS X 0213 plane 2 (the others are JIS X 0212's, which EUC's 0x8F also
/// decodes but an ISO-2022 plane-2 designation does not).
fn plane2_row(row: u8) -> bool {
    matches!(row, 0x21 | 0x23..=0x25 | 0x28 | 0x2C..=0x2F | 0x6E..=0x7E)
}

/// Appends one character (or a JIS X 0213 pair) of a set to `out`; `false` where its decoder
/// maps nothing.
fn decode_in(set: Set, code: &[u8], out: &mut Vec<u32>) -> bool {
    let [a, b] = match *code {
        [c] => {
            let decoded = match set {
                Set::Jisx0201Roman => Some(match c {
                    0x5C => 0xA5,
                    0x7E => 0x203E,
                    _ => u32::from(c),
                }),
                Set::Jisx0201Kana => (0x21..=0x5F)
                    .contains(&c)
                    .then(|| 0xFF61 + u32::from(c - 0x21)),
                // Designatable in G0 but without a decoder (`dummy_decoder`).
                _ => None,
            };
            out.extend(decoded);
            return decoded.is_some();
        }
        [a, b] => [a, b],
        _ => return false,
    };
    if !(0x21..=0x7E).contains(&a) || !(0x21..=0x7E).contains(&b) {
        return false;
    }
    let (table, euc): (&Codec, &[u8]) = match set {
        Set::Gb2312 => (tables().gb2312, &[a | 0x80, b | 0x80]),
        Set::Ksx1001 if (a, b) == (0x24, 0x54) => {
            // EUC-KR reads 0xA4D4 as the start of a make-up sequence; the set maps it to
            // HANGUL FILLER.
            out.push(0x3164);
            return true;
        }
        Set::Ksx1001 => (tables().euc_kr, &[a | 0x80, b | 0x80]),
        Set::Jisx0208 | Set::Jisx0208Old => (tables().euc_jp, &[a | 0x80, b | 0x80]),
        Set::Jisx0212 => (tables().euc_jp, &[0x8F, a | 0x80, b | 0x80]),
        // EUC-JIS-2004 reads 1-2-18 as FULLWIDTH TILDE; JIS X 0213's own map (which the
        // ISO-2022 decoder reads) has TILDE.
        Set::Jisx0213v2000Plane1 | Set::Jisx0213v2004Plane1 if (a, b) == (0x22, 0x32) => {
            out.push(0x7E);
            return true;
        }
        Set::Jisx0213v2000Plane1 => (tables().euc_jisx0213, &[a | 0x80, b | 0x80]),
        Set::Jisx0213v2004Plane1 => (tables().euc_jis_2004, &[a | 0x80, b | 0x80]),
        Set::Jisx0213Plane2 if plane2_row(a) => {
            (tables().euc_jis_2004, &[0x8F, a | 0x80, b | 0x80])
        }
        _ => return false,
    };
    match table.decode(euc) {
        Ok(text) => {
            out.extend(text.chars().map(u32::from));
            true
        }
        Err(_) => false,
    }
}

/// The EUC tables the double-byte sets are read through, looked up once.
struct Tables {
    gb2312: &'static Codec,
    euc_kr: &'static Codec,
    euc_jp: &'static Codec,
    euc_jisx0213: &'static Codec,
    euc_jis_2004: &'static Codec,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        // The EUC tables are the same for every target (only palmos differs between them).
        let table = |name| {
            codec::lookup(name, serc::PythonVersion::Py314).expect("an EUC table of codecs.bin")
        };
        Tables {
            gb2312: table("gb2312"),
            euc_kr: table("euc_kr"),
            euc_jp: table("euc_jp"),
            euc_jisx0213: table("euc_jisx0213"),
            euc_jis_2004: table("euc_jis_2004"),
        }
    })
}

/// HZ (RFC 1843): `~{` enters GB 2312, `~}` leaves it; outside GB 2312 `~~` is a tilde and `~`
/// with a newline continues the line (`DECODER(hz)` in `_codecs_cn.c`; CPython's main branch
/// has since accepted those two inside GB 2312 too, which no release of 3.12-3.15's oracles
/// does).
pub fn hz(bytes: &[u8]) -> Result<Vec<u32>, Failure> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut gb = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let stop = if c == b'~' {
            match bytes.get(i + 1) {
                None => Some(Stop::Incomplete),
                Some(b'~') if !gb => {
                    out.push(u32::from(b'~'));
                    None
                }
                Some(b'{') if !gb => {
                    gb = true;
                    None
                }
                Some(b'}') if gb => {
                    gb = false;
                    None
                }
                Some(b'\n') if !gb => None,
                Some(_) => Some(Stop::Illegal(1)),
            }
            .map_or_else(
                || {
                    i += 2;
                    None
                },
                Some,
            )
        } else if c >= 0x80 {
            Some(Stop::Illegal(1))
        } else if !gb {
            out.push(u32::from(c));
            i += 1;
            None
        } else {
            match bytes.get(i + 1) {
                None => Some(Stop::Incomplete),
                Some(&b) if decode_in(Set::Gb2312, &[c, b], &mut out) => {
                    i += 2;
                    None
                }
                Some(_) => Some(Stop::Illegal(1)),
            }
        };
        if let Some(stop) = stop {
            return Err(failure("hz", bytes, i, stop));
        }
    }
    Ok(out)
}
