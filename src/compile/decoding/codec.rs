//! Byte-table decoders for the codecs of CPython's `encodings` package that serc lacks.
//!
//! The tables (`codecs.bin`) are CPython's own answers, read off the oracle by
//! `tools/gen_source_codecs.py` for every sequence that matters: each byte, each byte after
//! every prefix CPython calls an incomplete multibyte sequence (all 1- and 2-byte sequences of
//! the double-byte codecs, the 3-byte plane of EUC's 0x8F), and gb18030's 4-byte grid. Hand-made
//! mappings (or the WHATWG ones of `encoding_rs`) differ from CPython's in dozens of places per
//! codec; reading CPython's answers makes the decoder agree by construction, and the oracle
//! check re-reads them.
//!
//! Format (little-endian base-128 varints): `PYCODECS`, the codec count, then per codec its
//! module name, the codec name CPython's errors carry, the error reasons, the multi-character
//! outputs, the node count and the runs of the nodes' 256 entries each, and a flag followed by
//! the runs of the grid of its fixed-length form (gb18030, euc_kr). An entry is a code point,
//! `NODE | n` (a sequence continues in node `n`; `NODE | 0xFFFF` is gb18030's 4-byte form and
//! `NODE | 0xFFFE` euc_kr's 8-byte make-up hangul, both looked up in the grid),
//! `ERROR | reason << 8 | length`, or `STRING | index`. A run is a count and either a code
//! point (zigzag difference from the previous run's continuation, tag bit 0; the run counts up
//! by one) or a repeated non-character value (tag bit 1).

use std::sync::OnceLock;

const NODE: u32 = 0x8000_0000;
const ERROR: u32 = 0x4000_0000;
const STRING: u32 = 0x2000_0000;
const FOUR_BYTE: u32 = NODE | 0xFFFF;
const MAKE_UP: u32 = NODE | 0xFFFE;
const INCOMPLETE: &str = "incomplete multibyte sequence";
const ILLEGAL: &str = "illegal multibyte sequence";

static TABLES: &[u8] = include_bytes!("codecs.bin");
/// Where an older or newer CPython decodes differently from 3.14: palmos 0x9B before 3.14.
static TABLES_312: &[u8] = include_bytes!("codecs-312.bin");
static TABLES_313: &[u8] = include_bytes!("codecs-313.bin");
static TABLES_315: &[u8] = include_bytes!("codecs-315.bin");

/// One codec's tables, parsed on first use.
pub struct Codec {
    pub module: String,
    error_name: String,
    reasons: Vec<String>,
    strings: Vec<String>,
    nodes: Vec<[u32; 256]>,
    /// The grid of a fixed-length form as runs, (first index, entries, first value): gb18030's
    /// 4-byte sequences, or euc_kr's 8-byte make-up hangul.
    four: Vec<(u32, u32, u32)>,
}

/// CPython's `UnicodeDecodeError` for the first undecodable sequence.
#[derive(Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub start: usize,
    pub end: usize,
    pub reason: String,
    pub codec: String,
    pub first_byte: u8,
}

impl std::fmt::Display for DecodeError {
    /// `str(UnicodeDecodeError)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.end == self.start + 1 {
            write!(
                f,
                "'{}' codec can't decode byte 0x{:02x} in position {}: {}",
                self.codec, self.first_byte, self.start, self.reason
            )
        } else {
            write!(
                f,
                "'{}' codec can't decode bytes in position {}-{}: {}",
                self.codec,
                self.start,
                self.end - 1,
                self.reason
            )
        }
    }
}

fn codecs() -> &'static [Codec] {
    static PARSED: OnceLock<Vec<Codec>> = OnceLock::new();
    PARSED.get_or_init(|| parse(TABLES).expect("codecs.bin is well-formed"))
}

/// The tables of `version` that differ from 3.14's.
fn overrides(version: serc::PythonVersion) -> &'static [Codec] {
    static PARSED: [OnceLock<Vec<Codec>>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let (slot, blob) = match version {
        serc::PythonVersion::Py312 => (0, TABLES_312),
        serc::PythonVersion::Py313 => (1, TABLES_313),
        serc::PythonVersion::Py315 => (2, TABLES_315),
        serc::PythonVersion::Py314 => return &[],
    };
    PARSED[slot].get_or_init(|| parse(blob).expect("codecs-3x.bin is well-formed"))
}

/// The codec whose module is `module` as CPython `version` decodes it, if it has tables.
pub fn lookup(module: &str, version: serc::PythonVersion) -> Option<&'static Codec> {
    overrides(version)
        .iter()
        .chain(codecs())
        .find(|codec| codec.module == module)
}

/// The modules with tables.
pub fn modules() -> impl Iterator<Item = &'static str> {
    codecs().iter().map(|codec| codec.module.as_str())
}

impl Codec {
    /// Decodes `bytes` strictly, as `bytes.decode(module)` does.
    pub fn decode(&self, bytes: &[u8]) -> Result<String, DecodeError> {
        let mut out = String::with_capacity(bytes.len());
        let mut i = 0;
        'chars: while i < bytes.len() {
            let start = i;
            let mut node = 0;
            loop {
                let Some(&byte) = bytes.get(i) else {
                    return Err(self.error(bytes, start, bytes.len(), INCOMPLETE));
                };
                i += 1;
                let entry = self.nodes[node][usize::from(byte)];
                if entry == FOUR_BYTE || entry == MAKE_UP {
                    let (value, length) = if entry == FOUR_BYTE {
                        (self.four_byte(bytes, start)?, 4)
                    } else {
                        (self.make_up(bytes, start)?, 8)
                    };
                    self.push(value, &mut out);
                    i = start + length;
                    continue 'chars;
                } else if entry & NODE != 0 {
                    node = (entry & !NODE) as usize;
                } else if entry & ERROR != 0 {
                    let reason = &self.reasons[((entry >> 8) & 0xFF) as usize];
                    let length = (entry & 0xFF) as usize;
                    return Err(self.error(bytes, start, start + length, reason));
                } else {
                    self.push(entry, &mut out);
                    continue 'chars;
                }
            }
        }
        Ok(out)
    }

    fn push(&self, entry: u32, out: &mut String) {
        if entry & STRING != 0 {
            out.push_str(&self.strings[(entry & !STRING) as usize]);
        } else {
            out.push(char::from_u32(entry).expect("tables hold scalar values"));
        }
    }

    /// gb18030's 4-byte form: CPython wants all four bytes before it looks at them.
    fn four_byte(&self, bytes: &[u8], start: usize) -> Result<u32, DecodeError> {
        let Some(&[b1, b2, b3, b4]) = bytes.get(start..start + 4) else {
            return Err(self.error(bytes, start, bytes.len(), INCOMPLETE));
        };
        if !(0x81..=0xFE).contains(&b3) || !(0x30..=0x39).contains(&b4) {
            return Err(self.error(bytes, start, start + 1, ILLEGAL));
        }
        let index = ((u32::from(b1) - 0x81) * 10 + u32::from(b2) - 0x30) * 1260
            + (u32::from(b3) - 0x81) * 10
            + u32::from(b4)
            - 0x30;
        self.grid(bytes, start, index)
    }

    /// euc_kr's KS X 1001:1998 Annex 3 hangul, `A4 D4 A4 x A4 y A4 z`: CPython wants all eight
    /// bytes before it looks at them.
    fn make_up(&self, bytes: &[u8], start: usize) -> Result<u32, DecodeError> {
        let Some(&[_, _, a, x, b, y, c, z]) = bytes.get(start..start + 8) else {
            return Err(self.error(bytes, start, bytes.len(), INCOMPLETE));
        };
        if [a, b, c] != [0xA4; 3]
            || !(0xA1..=0xBE).contains(&x)
            || !(0xBF..=0xD3).contains(&y)
            || !(z == 0xD4 || (0xA1..=0xBE).contains(&z))
        {
            return Err(self.error(bytes, start, start + 1, ILLEGAL));
        }
        let last = if z == 0xD4 {
            0
        } else {
            u32::from(z) - 0xA1 + 1
        };
        let index = ((u32::from(x) - 0xA1) * 21 + u32::from(y) - 0xBF) * 31 + last;
        self.grid(bytes, start, index)
    }

    /// Entry `index` of the grid of a fixed-length form.
    fn grid(&self, bytes: &[u8], start: usize, index: u32) -> Result<u32, DecodeError> {
        let run = self.four.partition_point(|&(first, _, _)| first <= index) - 1;
        let (first, _, value) = self.four[run];
        let entry = if counts_up(value) {
            value + (index - first)
        } else {
            value
        };
        if entry & ERROR != 0 {
            let reason = &self.reasons[((entry >> 8) & 0xFF) as usize];
            return Err(self.error(bytes, start, start + (entry & 0xFF) as usize, reason));
        }
        Ok(entry)
    }

    fn error(&self, bytes: &[u8], start: usize, end: usize, reason: &str) -> DecodeError {
        DecodeError {
            start,
            end,
            reason: reason.to_owned(),
            codec: self.error_name.clone(),
            first_byte: bytes[start],
        }
    }
}

/// Reads the varint stream of `codecs.bin`.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.data.get(self.at)?;
            self.at += 1;
            value |= u64::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn count(&mut self) -> Option<usize> {
        usize::try_from(self.varint()?).ok()
    }

    fn text(&mut self) -> Option<String> {
        let length = self.count()?;
        let bytes = self.data.get(self.at..self.at + length)?;
        self.at += length;
        String::from_utf8(bytes.to_vec()).ok()
    }

    /// Runs until the zero count that ends them: (entries, first value) each.
    fn runs(&mut self) -> Option<Vec<(u32, u32)>> {
        let mut runs = Vec::new();
        let mut expected: i64 = 0;
        loop {
            let count = u32::try_from(self.varint()?).ok()?;
            if count == 0 {
                return Some(runs);
            }
            let value = self.varint()?;
            let first = if value & 1 == 0 {
                let zigzag = (value >> 1) as i64;
                let delta = if zigzag & 1 == 0 {
                    zigzag >> 1
                } else {
                    -((zigzag + 1) >> 1)
                };
                let first = expected + delta;
                expected = first + i64::from(count);
                u32::try_from(first).ok()?
            } else {
                u32::try_from(value >> 1).ok()?
            };
            runs.push((count, first));
        }
    }
}

/// Whether a run's value counts up (a code point) or repeats.
fn counts_up(value: u32) -> bool {
    value & (NODE | ERROR | STRING) == 0
}

fn parse(data: &[u8]) -> Option<Vec<Codec>> {
    let mut reader = Reader {
        data: data.strip_prefix(b"PYCODECS")?,
        at: 0,
    };
    let codecs = reader.count()?;
    let mut out = Vec::with_capacity(codecs);
    for _ in 0..codecs {
        let module = reader.text()?;
        let error_name = reader.text()?;
        let reasons = (0..reader.count()?)
            .map(|_| reader.text())
            .collect::<Option<Vec<_>>>()?;
        let strings = (0..reader.count()?)
            .map(|_| reader.text())
            .collect::<Option<Vec<_>>>()?;
        let node_count = reader.count()?;
        let mut entries = Vec::with_capacity(node_count * 256);
        for (count, first) in reader.runs()? {
            let step = u32::from(counts_up(first));
            entries.extend((0..count).map(|k| first + k * step));
        }
        if entries.len() != node_count * 256 {
            return None;
        }
        let nodes = entries
            .chunks_exact(256)
            .map(|chunk| chunk.try_into().expect("256 entries"))
            .collect();
        let mut four = Vec::new();
        if reader.varint()? == 1 {
            let mut index = 0;
            for (count, first) in reader.runs()? {
                four.push((index, count, first));
                index += count;
            }
        }
        out.push(Codec {
            module,
            error_name,
            reasons,
            strings,
            nodes,
            four,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse_and_name_their_errors() {
        let cp1250 = lookup("cp1250", serc::PythonVersion::Py314).expect("cp1250 has a table");
        assert_eq!(cp1250.decode(b"\x8a").as_deref(), Ok("\u{160}"));
        let error = cp1250.decode(b"ab\x98").unwrap_err();
        assert_eq!(
            error.to_string(),
            "'charmap' codec can't decode byte 0x98 in position 2: character maps to <undefined>"
        );
    }

    #[test]
    /// palmos changed in 3.14 (oracles 3.12.7 and 3.13.2 against 3.14.2): 0x9B was U+009B,
    /// is U+203A.
    fn older_targets_keep_their_own_tables() {
        let palmos = |version| lookup("palmos", version).unwrap().decode(b"\x9b");
        assert_eq!(palmos(serc::PythonVersion::Py313).as_deref(), Ok("\u{9b}"));
        assert_eq!(
            palmos(serc::PythonVersion::Py314).as_deref(),
            Ok("\u{203a}")
        );
        assert_eq!(
            palmos(serc::PythonVersion::Py315),
            palmos(serc::PythonVersion::Py314)
        );
    }

    #[test]
    fn double_byte_sequences_and_their_ends() {
        let sjis = lookup("shift_jis", serc::PythonVersion::Py314).expect("shift_jis has a table");
        assert_eq!(sjis.decode(b"\x82\xa0x").as_deref(), Ok("\u{3042}x"));
        let error = sjis.decode(b"x\x82").unwrap_err();
        assert_eq!(
            (error.start, error.end, error.reason.as_str()),
            (1, 2, INCOMPLETE)
        );
        let gb = lookup("gb18030", serc::PythonVersion::Py314).expect("gb18030 has a table");
        assert_eq!(gb.decode(b"\x90\x30\x81\x30").as_deref(), Ok("\u{10000}"));
        assert_eq!(gb.decode(b"\x84\x31\xa4\x39").as_deref(), Ok("\u{ffff}"));
        let error = gb.decode(b"\x81\x30\x81").unwrap_err();
        assert_eq!(
            (error.start, error.end, error.reason.as_str()),
            (0, 3, INCOMPLETE)
        );
        let error = gb.decode(b"\x81\x30\x81\x0a").unwrap_err();
        assert_eq!(
            (error.start, error.end, error.reason.as_str()),
            (0, 1, ILLEGAL)
        );
    }
}
