//! `co_linetable` (CPython 3.11+): decoded to one source location per code unit, and encoded
//! back the way CPython's assembler writes it.
//!
//! The assembler merges consecutive instructions with equal locations into one run and writes
//! each run in entries of at most 8 code units, choosing the shortest of five forms. Encoding
//! the maximal runs of a decoded table therefore reproduces CPython's bytes; callers check that
//! round trip on the original table before trusting an edit.

/// A source location as CPython's compiler keeps it: -1 marks an absent component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: i32,
    pub end_line: i32,
    pub column: i32,
    pub end_column: i32,
}

impl Location {
    pub const NONE: Location = Location {
        line: -1,
        end_line: -1,
        column: -1,
        end_column: -1,
    };
}

/// The table does not decode (truncated, or a length past the code).
#[derive(Debug, PartialEq, Eq)]
pub struct BadTable;

const CODE_NONE: u8 = 15;
const CODE_LONG: u8 = 14;
const CODE_NO_COLUMN: u8 = 13;
const CODE_ONE_LINE: u8 = 10;

/// One location per code unit, for a code object whose `co_firstlineno` is `first_line`.
pub fn decode(table: &[u8], first_line: i32) -> Result<Vec<Location>, BadTable> {
    let mut reader = Reader { table, pos: 0 };
    let mut units = Vec::new();
    let mut line = first_line;
    while reader.pos < table.len() {
        let first = reader.byte()?;
        if first & 0x80 == 0 {
            return Err(BadTable);
        }
        let code = (first >> 3) & 15;
        let length = usize::from(first & 7) + 1;
        let location = match code {
            CODE_NONE => Location::NONE,
            CODE_LONG => {
                line += signed(reader.varint()?);
                let end_line = line + reader.varint()? as i32;
                let column = reader.varint()? as i32 - 1;
                let end_column = reader.varint()? as i32 - 1;
                Location {
                    line,
                    end_line,
                    column,
                    end_column,
                }
            }
            CODE_NO_COLUMN => {
                line += signed(reader.varint()?);
                Location {
                    line,
                    end_line: line,
                    column: -1,
                    end_column: -1,
                }
            }
            10..=12 => {
                line += i32::from(code - CODE_ONE_LINE);
                let column = i32::from(reader.byte()?);
                let end_column = i32::from(reader.byte()?);
                Location {
                    line,
                    end_line: line,
                    column,
                    end_column,
                }
            }
            _ => {
                let second = reader.byte()?;
                let column = i32::from(code) * 8 + i32::from(second >> 4);
                Location {
                    line,
                    end_line: line,
                    column,
                    end_column: column + i32::from(second & 15),
                }
            }
        };
        units.extend(std::iter::repeat_n(location, length));
    }
    Ok(units)
}

struct Reader<'a> {
    table: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, BadTable> {
        let byte = *self.table.get(self.pos).ok_or(BadTable)?;
        self.pos += 1;
        Ok(byte)
    }

    /// Little-endian groups of 6 bits, bit 6 set on all but the last.
    fn varint(&mut self) -> Result<u32, BadTable> {
        let mut byte = self.byte()?;
        let mut value = u32::from(byte & 63);
        let mut shift = 0;
        while byte & 64 != 0 {
            byte = self.byte()?;
            shift += 6;
            if shift > 30 {
                return Err(BadTable);
            }
            value |= u32::from(byte & 63) << shift;
        }
        Ok(value)
    }
}

/// [`decode`], only if the table is exactly what [`encode`] writes for the result: an edit
/// re-encodes the whole table, so anything else would change bytes the edit did not mean to.
pub fn decode_exact(table: &[u8], first_line: i32) -> Option<Vec<Location>> {
    let units = decode(table, first_line).ok()?;
    (encode(&units, first_line) == table).then_some(units)
}

fn signed(raw: u32) -> i32 {
    if raw & 1 != 0 {
        -((raw >> 1) as i32)
    } else {
        (raw >> 1) as i32
    }
}

/// The table CPython's assembler writes for these per-unit locations.
pub fn encode(units: &[Location], first_line: i32) -> Vec<u8> {
    let mut writer = Writer {
        out: Vec::with_capacity(units.len()),
        line: first_line,
    };
    let mut start = 0;
    while start < units.len() {
        let location = units[start];
        let mut end = start + 1;
        while end < units.len() && units[end] == location {
            end += 1;
        }
        let mut size = end - start;
        while size > 8 {
            writer.entry(location, 8);
            size -= 8;
        }
        writer.entry(location, size);
        start = end;
    }
    writer.out
}

struct Writer {
    out: Vec<u8>,
    line: i32,
}

impl Writer {
    fn header(&mut self, code: u8, length: usize) {
        self.out.push(0x80 | (code << 3) | (length as u8 - 1));
    }

    fn varint(&mut self, mut value: u32) {
        while value >= 64 {
            self.out.push(64 | (value & 63) as u8);
            value >>= 6;
        }
        self.out.push(value as u8);
    }

    fn signed_varint(&mut self, value: i32) {
        let raw = if value < 0 {
            (value.unsigned_abs() << 1) | 1
        } else {
            (value as u32) << 1
        };
        self.varint(raw);
    }

    /// The choice of form follows `write_location_info_entry` in CPython's assembler.
    fn entry(&mut self, location: Location, length: usize) {
        if location.line < 0 {
            self.header(CODE_NONE, length);
            return;
        }
        let line_delta = location.line - self.line;
        let (column, end_column) = (location.column, location.end_column);
        if column < 0 || end_column < 0 {
            if location.end_line == location.line || location.end_line == -1 {
                self.header(CODE_NO_COLUMN, length);
                self.signed_varint(line_delta);
                self.line = location.line;
                return;
            }
        } else if location.end_line == location.line {
            if line_delta == 0 && column < 80 && end_column - column < 16 && end_column >= column {
                self.header((column / 8) as u8, length);
                self.out
                    .push((((column % 8) << 4) | (end_column - column)) as u8);
                return;
            }
            if (0..3).contains(&line_delta) && column < 128 && end_column < 128 {
                self.header(CODE_ONE_LINE + line_delta as u8, length);
                self.out.push(column as u8);
                self.out.push(end_column as u8);
                self.line = location.line;
                return;
            }
        }
        self.header(CODE_LONG, length);
        self.signed_varint(line_delta);
        self.varint((location.end_line - location.line) as u32);
        self.varint((column + 1) as u32);
        self.varint((end_column + 1) as u32);
        self.line = location.line;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: i32, end_line: i32, column: i32, end_column: i32) -> Location {
        Location {
            line,
            end_line,
            column,
            end_column,
        }
    }

    #[test]
    fn every_form_round_trips() {
        let units = [
            at(1, 1, 0, 0),     // short form, width 0
            at(1, 1, 4, 12),    // short form
            at(2, 2, 90, 100),  // one-line form, delta 1
            at(2, 2, 200, 210), // long form: columns past 127
            at(4, 6, 4, 12),    // long form: several lines
            Location::NONE,     // none
            at(3, 3, -1, -1),   // no column, negative delta
            at(300, 300, 1, 2), // big forward delta: long form
        ];
        let mut expanded = Vec::new();
        for (i, location) in units.iter().enumerate() {
            // Runs of 1, 2, ... 8 and one over 8 units to exercise the splitting.
            expanded.extend(std::iter::repeat_n(
                *location,
                i + 1 + (i == 7) as usize * 9,
            ));
        }
        let table = encode(&expanded, 1);
        assert_eq!(decode(&table, 1), Ok(expanded));
    }

    #[test]
    fn truncated_tables_are_rejected() {
        assert_eq!(
            decode(b"\xf0", 1),
            Err(BadTable),
            "long form missing its varints"
        );
        assert_eq!(
            decode(b"\xf0\x02\x00\x01", 1),
            Err(BadTable),
            "one varint short"
        );
        assert_eq!(
            decode(b"\x00", 1),
            Err(BadTable),
            "an entry starts with the high bit"
        );
    }
}
