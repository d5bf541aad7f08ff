//! Finds the code objects in a marshal stream (format 5, CPython 3.11+) without building them.
//!
//! Corrections rewrite a code object's bytecode, line table and exception table. Those are
//! bytes objects whose length can change without moving any back-reference index (indices
//! count objects, not bytes), so a correction is a splice of the original stream. This walker
//! records where the three fields of every code object lie; everything else is skipped.

use std::ops::Range;

/// Where one bytes-valued field of a code object lies in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// Written in place: `object` is the whole object (type byte to last byte), `payload`
    /// its bytes.
    Inline {
        object: Range<usize>,
        payload: Range<usize>,
    },
    /// A back-reference to an object written earlier: shared, so it must not be edited.
    Shared,
}

impl Field {
    /// The object's range and its payload's, unless it is shared.
    pub fn inline(&self) -> Option<(Range<usize>, Range<usize>)> {
        match self {
            Field::Inline { object, payload } => Some((object.clone(), payload.clone())),
            Field::Shared => None,
        }
    }

    #[cfg(test)]
    pub fn payload<'a>(&self, stream: &'a [u8]) -> Option<&'a [u8]> {
        self.inline().map(|(_, payload)| &stream[payload])
    }
}

/// The editable fields of one code object, in stream order.
#[derive(Debug, Clone)]
pub struct CodeFields {
    pub stack_size: u32,
    pub code: Field,
    pub first_line: i32,
    pub line_table: Field,
    pub exception_table: Field,
}

/// The stream is not what CPython's marshal writes (truncated, unknown type code, ...).
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed(pub usize);

const FLAG_REF: u8 = 0x80;

/// Every code object in `stream` (pre-order: a code object before the ones in its constants).
pub fn code_objects(stream: &[u8]) -> Result<Vec<CodeFields>, Malformed> {
    let mut walker = Walker {
        stream,
        pos: 0,
        found: Vec::new(),
    };
    walker.object()?;
    Ok(walker.found)
}

struct Walker<'a> {
    stream: &'a [u8],
    pos: usize,
    found: Vec<CodeFields>,
}

impl Walker<'_> {
    fn take(&mut self, n: usize) -> Result<Range<usize>, Malformed> {
        let start = self.pos;
        let end = start.checked_add(n).ok_or(Malformed(start))?;
        if end > self.stream.len() {
            return Err(Malformed(start));
        }
        self.pos = end;
        Ok(start..end)
    }

    fn byte(&mut self) -> Result<u8, Malformed> {
        let at = self.take(1)?;
        Ok(self.stream[at.start])
    }

    fn u32(&mut self) -> Result<u32, Malformed> {
        let at = self.take(4)?;
        Ok(u32::from_le_bytes(
            self.stream[at].try_into().expect("four bytes"),
        ))
    }

    fn i32(&mut self) -> Result<i32, Malformed> {
        self.u32().map(|value| value as i32)
    }

    fn objects(&mut self, count: usize) -> Result<(), Malformed> {
        for _ in 0..count {
            self.object()?;
        }
        Ok(())
    }

    /// Reads one object; for a bytes-like object also returns where its payload lies.
    fn object(&mut self) -> Result<Field, Malformed> {
        let start = self.pos;
        let kind = self.byte()? & !FLAG_REF;
        let mut payload = None;
        match kind {
            b'0' | b'N' | b'F' | b'T' | b'S' | b'.' => {}
            b'i' => {
                self.take(4)?;
            }
            b'r' => {
                self.take(4)?;
                return Ok(Field::Shared);
            }
            b'g' => {
                self.take(8)?;
            }
            b'y' => {
                self.take(16)?;
            }
            b'l' => {
                let digits = self.i32()?.unsigned_abs() as usize;
                self.take(digits * 2)?;
            }
            b's' | b'a' | b'A' | b'u' | b't' => {
                let len = self.u32()? as usize;
                payload = Some(self.take(len)?);
            }
            b'z' | b'Z' => {
                let len = self.byte()? as usize;
                payload = Some(self.take(len)?);
            }
            b')' => {
                let count = self.byte()? as usize;
                self.objects(count)?;
            }
            b'(' | b'[' | b'<' | b'>' => {
                let count = self.u32()? as usize;
                self.objects(count)?;
            }
            b'{' => loop {
                if self.stream.get(self.pos) == Some(&b'0') {
                    self.pos += 1;
                    break;
                }
                self.objects(2)?;
            },
            b':' => self.objects(3)?,
            b'c' => self.code()?,
            _ => return Err(Malformed(start)),
        }
        Ok(match payload {
            Some(payload) => Field::Inline {
                object: start..self.pos,
                payload,
            },
            None => Field::Shared,
        })
    }

    fn code(&mut self) -> Result<(), Malformed> {
        // argcount, posonlyargcount, kwonlyargcount, stacksize, flags
        self.take(12)?;
        let stack_size = self.u32()?;
        self.take(4)?;
        let code = self.object()?;
        // Reserve this code object's slot before its constants add theirs (pre-order).
        let slot = self.found.len();
        self.found.push(CodeFields {
            stack_size,
            code,
            first_line: 0,
            line_table: Field::Shared,
            exception_table: Field::Shared,
        });
        // consts, names, localsplusnames, localspluskinds, filename, name, qualname
        self.objects(7)?;
        let first_line = self.i32()?;
        let line_table = self.object()?;
        let exception_table = self.object()?;
        let fields = &mut self.found[slot];
        fields.first_line = first_line;
        fields.line_table = line_table;
        fields.exception_table = exception_table;
        Ok(())
    }
}

/// Rewrites `stream`, replacing the payload of each given inline field (which must not
/// overlap) and its length prefix. The type byte, and so any FLAG_REF, is kept.
pub fn splice(stream: &[u8], replacements: &mut [(Range<usize>, Vec<u8>)]) -> Vec<u8> {
    replacements.sort_by_key(|(object, _)| object.start);
    let mut out = Vec::with_capacity(stream.len() + 64);
    let mut copied = 0;
    for (object, payload) in replacements.iter() {
        out.extend_from_slice(&stream[copied..object.start]);
        let type_byte = stream[object.start];
        out.push(type_byte);
        match type_byte & !FLAG_REF {
            b'z' | b'Z' => out.push(payload.len() as u8),
            _ => out.extend_from_slice(&(payload.len() as u32).to_le_bytes()),
        }
        out.extend_from_slice(payload);
        copied = object.end;
    }
    out.extend_from_slice(&stream[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The marshal body (after the header) of a small two-function-deep module.
    fn module() -> Vec<u8> {
        let source = b"def f():\n    return 1\n";
        let pyc = serc::compile_bytes_with_options(
            source,
            "m.py",
            &serc::CompileOptions {
                python_version: serc::PythonVersion::Py314,
                ..serc::CompileOptions::default()
            },
        )
        .expect("compiles")
        .to_hash_pyc_with_hash([0; 8], false);
        pyc[16..].to_vec()
    }

    #[test]
    fn finds_every_code_object_with_its_fields() {
        let stream = module();
        let found = code_objects(&stream).expect("well formed");
        assert_eq!(found.len(), 2, "the module and f");
        assert_eq!(found[0].first_line, 1);
        assert_eq!(found[1].first_line, 1);
        // f's body: RESUME 0, LOAD_SMALL_INT 1, RETURN_VALUE.
        let code = found[1].code.payload(&stream).expect("inline");
        assert_eq!(code.len(), 6);
        assert_eq!(code[0], 128, "RESUME");
        // An empty exception table is the shared empty-bytes singleton.
        assert_eq!(found[1].exception_table, Field::Shared);
    }

    #[test]
    fn splice_with_the_same_payloads_is_the_identity() {
        let stream = module();
        let found = code_objects(&stream).expect("well formed");
        let mut replacements: Vec<_> = found
            .iter()
            .flat_map(|fields| [&fields.code, &fields.line_table])
            .filter_map(|field| {
                field
                    .inline()
                    .map(|(object, payload)| (object, stream[payload].to_vec()))
            })
            .collect();
        assert!(!replacements.is_empty());
        assert_eq!(splice(&stream, &mut replacements), stream);
    }

    #[test]
    fn truncated_streams_are_malformed_not_a_panic() {
        let stream = module();
        for len in 0..stream.len() {
            assert!(
                code_objects(&stream[..len]).is_err(),
                "prefix of {len} bytes"
            );
        }
    }
}
