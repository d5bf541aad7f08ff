//! Small, checked edits of CPython 3.14 code objects inside a marshal stream.
//!
//! serc writes CPython's exact marshal, so where its bytecode diverges from CPython's we
//! correct the bytecode in place instead of re-serialising anything: decode the instructions,
//! the line table and the exception table of one code object, edit, encode, splice. Every
//! table is first re-encoded unchanged and compared with the original; an edit is refused
//! (and the engine's output kept) whenever a table would not survive that round trip or an
//! edit would change an instruction's size.

pub mod exceptions;
pub mod locations;
pub mod marshal;

use locations::Location;

/// CPython 3.14 opcodes the edits need (`opcode.opmap` of 3.14.2).
pub mod op {
    pub const NOP: u8 = 27;
    pub const RETURN_VALUE: u8 = 35;
    pub const END_ASYNC_FOR: u8 = 68;
    pub const EXTENDED_ARG: u8 = 69;
    pub const FOR_ITER: u8 = 70;
    pub const JUMP_BACKWARD: u8 = 75;
    pub const JUMP_BACKWARD_NO_INTERRUPT: u8 = 76;
    pub const JUMP_FORWARD: u8 = 77;
    /// POP_JUMP_IF_FALSE, _NONE, _NOT_NONE and _TRUE are 100 to 103.
    pub const POP_JUMP_IF_FALSE: u8 = 100;
    pub const POP_JUMP_IF_TRUE: u8 = 103;
    pub const SEND: u8 = 106;

    /// Inline cache units after an instruction (`dis._inline_cache_entries` of 3.14.2).
    pub fn caches(opcode: u8) -> usize {
        match opcode {
            80 => 9,           // LOAD_ATTR
            44 => 5,           // BINARY_OP
            92 | 110 => 4,     // LOAD_GLOBAL, STORE_ATTR
            39 | 52 | 55 => 3, // TO_BOOL, CALL, CALL_KW
            // STORE_SUBSCR, COMPARE_OP, CONTAINS_OP, LOAD_SUPER_ATTR, UNPACK_SEQUENCE
            38 | 56 | 57 | 96 | 119 => 1,
            FOR_ITER | SEND | JUMP_BACKWARD => 1,
            POP_JUMP_IF_FALSE..=POP_JUMP_IF_TRUE => 1,
            _ => 0,
        }
    }

    /// Relative jumps counted forward from the end of the instruction's caches.
    pub fn jumps_forward(opcode: u8) -> bool {
        matches!(
            opcode,
            FOR_ITER | JUMP_FORWARD | SEND | POP_JUMP_IF_FALSE..=POP_JUMP_IF_TRUE
        )
    }

    /// Relative jumps counted backward (`dis._is_backward_jump`).
    pub fn jumps_backward(opcode: u8) -> bool {
        matches!(
            opcode,
            JUMP_BACKWARD | JUMP_BACKWARD_NO_INTERRUPT | END_ASYNC_FOR
        )
    }
}

/// One instruction, positions in code units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instruction {
    /// The first unit, an EXTENDED_ARG when the argument needs one.
    pub start: usize,
    /// The unit holding the opcode itself.
    pub at: usize,
    pub opcode: u8,
    pub arg: u32,
    /// The unit after the instruction's inline caches.
    pub end: usize,
}

impl Instruction {
    /// The unit a jump lands on, or `None` for other instructions (or a target before 0).
    pub fn target(&self) -> Option<usize> {
        let arg = self.arg as usize;
        if op::jumps_forward(self.opcode) {
            Some(self.end + arg)
        } else if op::jumps_backward(self.opcode) {
            self.end.checked_sub(arg)
        } else {
            None
        }
    }

    fn prefixes(&self) -> usize {
        self.at - self.start
    }
}

/// Why an edit was not made.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    Malformed(&'static str),
    /// The edit would change how many EXTENDED_ARG units an argument needs.
    ArgumentWidth,
    /// The insertion point is not where an instruction starts, or is a handler.
    Position,
}

/// Decodes `co_code` into instructions.
pub fn instructions(code: &[u8]) -> Result<Vec<Instruction>, Refused> {
    if !code.len().is_multiple_of(2) {
        return Err(Refused::Malformed("odd code length"));
    }
    let units = code.len() / 2;
    let mut out = Vec::with_capacity(units);
    let mut unit = 0;
    while unit < units {
        let start = unit;
        let mut arg: u32 = 0;
        while code[2 * unit] == op::EXTENDED_ARG {
            arg = (arg << 8) | u32::from(code[2 * unit + 1]);
            unit += 1;
            if unit >= units || unit - start > 3 {
                return Err(Refused::Malformed("dangling EXTENDED_ARG"));
            }
        }
        let opcode = code[2 * unit];
        arg = (arg << 8) | u32::from(code[2 * unit + 1]);
        let end = unit + 1 + op::caches(opcode);
        if end > units {
            return Err(Refused::Malformed("caches past the end"));
        }
        out.push(Instruction {
            start,
            at: unit,
            opcode,
            arg,
            end,
        });
        unit = end;
    }
    Ok(out)
}

/// New `co_code`, `co_linetable` and `co_exceptiontable`.
pub type Tables = (Vec<u8>, Vec<u8>, Vec<u8>);

/// A code object's three editable tables, decoded.
pub struct Decoded {
    pub instructions: Vec<Instruction>,
    pub locations: Vec<Location>,
    pub handlers: Vec<exceptions::Entry>,
    code: Vec<u8>,
    first_line: i32,
}

impl Decoded {
    /// Decodes and checks that the tables re-encode to exactly the given bytes.
    pub fn new(
        code: &[u8],
        line_table: &[u8],
        exception_table: &[u8],
        first_line: i32,
    ) -> Result<Self, Refused> {
        let instructions = instructions(code)?;
        let locations = locations::decode(line_table, first_line)
            .map_err(|_| Refused::Malformed("line table"))?;
        if locations.len() != code.len() / 2
            || locations::encode(&locations, first_line) != line_table
        {
            return Err(Refused::Malformed("line table does not round-trip"));
        }
        let handlers = exceptions::decode(exception_table)
            .map_err(|_| Refused::Malformed("exception table"))?;
        if exceptions::encode(&handlers) != exception_table {
            return Err(Refused::Malformed("exception table does not round-trip"));
        }
        Ok(Decoded {
            instructions,
            locations,
            handlers,
            code: code.to_vec(),
            first_line,
        })
    }

    /// The location of an instruction (that of its opcode unit).
    pub fn location(&self, instruction: &Instruction) -> Location {
        self.locations[instruction.at]
    }

    /// Inserts a NOP at `at` with `location`. `jump` (the index of a jump instruction) is
    /// redirected to land on the NOP; every other jump to `at` lands after it, on the
    /// instruction that was there. The NOP is protected like the range that contains `at`.
    /// Returns the new code, line table and exception table.
    pub fn insert_nop(
        &self,
        at: usize,
        location: Location,
        jump: usize,
    ) -> Result<Tables, Refused> {
        if !self.instructions.iter().any(|i| i.start == at)
            || self.handlers.iter().any(|h| h.handler as usize == at)
        {
            return Err(Refused::Position);
        }
        let shift = |unit: usize| if unit > at { unit + 1 } else { unit };
        let mut code = Vec::with_capacity(self.code.len() + 2);
        for (index, instruction) in self.instructions.iter().enumerate() {
            if instruction.start == at {
                code.extend_from_slice(&[op::NOP, 0]);
            }
            let units = &self.code[2 * instruction.start..2 * instruction.end];
            let Some(target) = instruction.target() else {
                code.extend_from_slice(units);
                continue;
            };
            let new_target = if index == jump || target < at {
                target
            } else {
                target + 1
            };
            let new_end = if instruction.start >= at {
                instruction.end + 1
            } else {
                instruction.end
            };
            let arg = if op::jumps_forward(instruction.opcode) {
                new_target.checked_sub(new_end)
            } else {
                new_end.checked_sub(new_target)
            }
            .ok_or(Refused::Position)?;
            let arg = u32::try_from(arg).map_err(|_| Refused::ArgumentWidth)?;
            let prefixes = match arg {
                0..=0xff => 0,
                0x100..=0xffff => 1,
                0x1_0000..=0xff_ffff => 2,
                _ => 3,
            };
            if prefixes != instruction.prefixes() {
                return Err(Refused::ArgumentWidth);
            }
            for (k, unit) in (instruction.start..=instruction.at).enumerate() {
                let byte = (arg >> (8 * (prefixes - k))) as u8;
                code.push(self.code[2 * unit]);
                code.push(byte);
            }
            code.extend_from_slice(&self.code[2 * (instruction.at + 1)..2 * instruction.end]);
        }
        let mut locations = self.locations.clone();
        locations.insert(at, location);
        let handlers: Vec<_> = self
            .handlers
            .iter()
            .map(|entry| exceptions::Entry {
                start: shift(entry.start as usize) as u32,
                end: shift(entry.end as usize) as u32,
                handler: shift(entry.handler as usize) as u32,
                depth_lasti: entry.depth_lasti,
            })
            .collect();
        Ok((
            code,
            locations::encode(&locations, self.first_line),
            exceptions::encode(&handlers),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(source: &str) -> Vec<u8> {
        let options = serc::CompileOptions {
            python_version: serc::PythonVersion::Py314,
            ..serc::CompileOptions::default()
        };
        serc::compile_bytes_with_options(source.as_bytes(), "t.py", &options)
            .expect("compiles")
            .to_hash_pyc_with_hash([0; 8], false)[16..]
            .to_vec()
    }

    /// Every code object of every valid fixture decodes, its jumps land on instruction
    /// starts, and its tables survive the round trip (serc writes CPython's tables).
    #[test]
    fn fixture_tables_round_trip() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/valid");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|ext| ext != "py") {
                continue;
            }
            let options = serc::CompileOptions {
                python_version: serc::PythonVersion::Py314,
                ..serc::CompileOptions::default()
            };
            let source = std::fs::read(&path).expect("read");
            let Ok(module) = serc::compile_bytes_with_options(&source, "t.py", &options) else {
                continue;
            };
            let stream = module.to_hash_pyc_with_hash([0; 8], false)[16..].to_vec();
            for fields in marshal::code_objects(&stream).expect("well formed") {
                let code = fields
                    .code
                    .payload(&stream)
                    .expect("co_code is never shared");
                // A table shared with an earlier code object was checked there.
                let Some(lines) = fields.line_table.payload(&stream) else {
                    continue;
                };
                let handlers = fields.exception_table.payload(&stream).unwrap_or(b"");
                let decoded = Decoded::new(code, lines, handlers, fields.first_line)
                    .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
                let starts: Vec<_> = decoded.instructions.iter().map(|i| i.start).collect();
                for instruction in &decoded.instructions {
                    if let Some(target) = instruction.target() {
                        assert!(starts.contains(&target), "{}", path.display());
                    }
                }
                checked += 1;
            }
        }
        assert!(checked > 100, "only {checked} code objects");
    }

    #[test]
    fn inserting_a_nop_moves_jumps_lines_and_handlers() {
        let stream = compiled(
            "def f(g):\n    try:\n        r = g()\n        if not r: return 1\n    except E:\n        pass\n    r.x()\n",
        );
        let fields = &marshal::code_objects(&stream).expect("well formed")[1];
        let code = fields.code.payload(&stream).expect("inline");
        let lines = fields.line_table.payload(&stream).expect("inline");
        let handlers = fields.exception_table.payload(&stream).expect("inline");
        let decoded = Decoded::new(code, lines, handlers, fields.first_line).expect("decodes");
        let (jump, conditional) = decoded
            .instructions
            .iter()
            .enumerate()
            .find(|(_, i)| i.opcode == op::POP_JUMP_IF_TRUE)
            .expect("the if");
        let at = conditional.target().expect("a jump");
        let location = decoded.location(conditional);
        let (code, lines, handlers) = decoded.insert_nop(at, location, jump).expect("inserts");
        let edited = Decoded::new(&code, &lines, &handlers, fields.first_line).expect("decodes");
        assert_eq!(edited.instructions.len(), decoded.instructions.len() + 1);
        assert_eq!(
            edited.instructions[jump].target(),
            Some(at),
            "lands on the NOP"
        );
        assert_eq!(&code[2 * at..2 * at + 2], &[op::NOP, 0]);
        assert_eq!(edited.locations[at], location);
        // Everything after the NOP moved by one unit, jumps into it included.
        for (old, new) in decoded.instructions.iter().zip(&edited.instructions) {
            if old.start < at {
                assert_eq!(old.opcode, new.opcode);
            }
        }
        let after = |i: &Instruction| i.target().map(|t| t > at).unwrap_or(false);
        assert!(edited.instructions.iter().filter(|i| after(i)).count() > 0);
        for (old, new) in decoded.handlers.iter().zip(&edited.handlers) {
            assert_eq!(new.handler, old.handler + 1, "handlers follow the code");
        }
    }
}
