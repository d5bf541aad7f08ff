//! `co_exceptiontable` (CPython 3.11+): decoded to entries and encoded back as CPython's
//! assembler writes them.
//!
//! Each entry is four numbers in code units: start, size, handler and `depth << 1 | lasti`,
//! each written as big-endian groups of 6 bits with bit 6 marking "more follows"; the first
//! byte of an entry also carries bit 7.

/// One protected range `[start, end)` and where it goes on an exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub start: u32,
    pub end: u32,
    pub handler: u32,
    pub depth_lasti: u32,
}

/// The table does not decode.
#[derive(Debug, PartialEq, Eq)]
pub struct BadTable;

const START: u8 = 0x80;
const MORE: u8 = 0x40;

pub fn decode(table: &[u8]) -> Result<Vec<Entry>, BadTable> {
    let mut pos = 0;
    let mut entries = Vec::new();
    while pos < table.len() {
        let start = read_item(table, &mut pos, true)?;
        let size = read_item(table, &mut pos, false)?;
        let handler = read_item(table, &mut pos, false)?;
        let depth_lasti = read_item(table, &mut pos, false)?;
        entries.push(Entry {
            start,
            end: start.checked_add(size).ok_or(BadTable)?,
            handler,
            depth_lasti,
        });
    }
    Ok(entries)
}

fn read_item(table: &[u8], pos: &mut usize, first: bool) -> Result<u32, BadTable> {
    let mut byte = *table.get(*pos).ok_or(BadTable)?;
    if (byte & START != 0) != first {
        return Err(BadTable);
    }
    *pos += 1;
    let mut value = u32::from(byte & 63);
    while byte & MORE != 0 {
        byte = *table.get(*pos).ok_or(BadTable)?;
        if byte & START != 0 || value >= 1 << 24 {
            return Err(BadTable);
        }
        *pos += 1;
        value = (value << 6) | u32::from(byte & 63);
    }
    Ok(value)
}

pub fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 4);
    for entry in entries {
        item(&mut out, entry.start, START);
        item(&mut out, entry.end - entry.start, 0);
        item(&mut out, entry.handler, 0);
        item(&mut out, entry.depth_lasti, 0);
    }
    out
}

/// `assemble_emit_exception_table_item`: the most significant group first.
fn item(out: &mut Vec<u8>, value: u32, mut mark: u8) {
    for shift in [24, 18, 12, 6] {
        if value >= 1 << shift {
            out.push(((value >> shift) & 63) as u8 | MORE | mark);
            mark = 0;
        }
    }
    out.push((value & 63) as u8 | mark);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_small_and_large_numbers() {
        let entries = vec![
            Entry {
                start: 2,
                end: 9,
                handler: 40,
                depth_lasti: 2,
            },
            Entry {
                start: 63,
                end: 64 + 4096,
                handler: 300_000,
                depth_lasti: 1,
            },
        ];
        let table = encode(&entries);
        assert_eq!(table[0], 0x82, "first byte carries the start mark");
        assert_eq!(decode(&table), Ok(entries));
    }

    #[test]
    fn malformed_tables_are_rejected() {
        assert_eq!(decode(&[0x02]), Err(BadTable), "entry without start mark");
        assert_eq!(
            decode(&[0x82, 0x01, 0x02]),
            Err(BadTable),
            "three of four items"
        );
        assert_eq!(
            decode(&[0x82, 0x41]),
            Err(BadTable),
            "continuation at the end"
        );
    }
}
