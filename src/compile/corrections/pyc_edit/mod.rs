//! Small, checked edits of CPython 3.14 and 3.15 code objects inside a marshal stream.
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

/// The opcodes the edits need, for one target (from `opcode.opmap` and
/// `opcode._cache_format` of CPython 3.14.2 and 3.15.0rc1, the oracles).
#[derive(Debug)]
pub struct Opcodes {
    pub nop: u8,
    pub return_value: u8,
    pub extended_arg: u8,
    pub jump_forward: u8,
    pub jump_backward: u8,
    pub jump_backward_no_interrupt: u8,
    /// POP_JUMP_IF_FALSE; _NONE, _NOT_NONE and _TRUE follow it.
    pub pop_jump_if_false: u8,
    /// Other relative jumps forward: FOR_ITER, SEND.
    forward: [u8; 2],
    /// END_ASYNC_FOR counts its "target" backward like JUMP_BACKWARD (`dis._is_backward_jump`).
    end_async_for: u8,
    /// (LOAD_FAST, LOAD_FAST_BORROW) and (LOAD_FAST_LOAD_FAST,
    /// LOAD_FAST_BORROW_LOAD_FAST_BORROW): the strong and the borrowing form of a load.
    pub borrows: [(u8, u8); 2],
    /// Inline cache units after an instruction, where not 0.
    caches: &'static [(u8, u8)],
}

impl Opcodes {
    pub const PY314: Opcodes = Opcodes {
        nop: 27,
        return_value: 35,
        extended_arg: 69,
        jump_forward: 77,
        jump_backward: 75,
        jump_backward_no_interrupt: 76,
        pop_jump_if_false: 100,
        forward: [70, 106],
        end_async_for: 68,
        borrows: [(84, 86), (89, 87)],
        caches: &[
            (38, 1),  // STORE_SUBSCR
            (39, 3),  // TO_BOOL
            (44, 5),  // BINARY_OP
            (52, 3),  // CALL
            (55, 3),  // CALL_KW
            (56, 1),  // COMPARE_OP
            (57, 1),  // CONTAINS_OP
            (70, 1),  // FOR_ITER
            (75, 1),  // JUMP_BACKWARD
            (80, 9),  // LOAD_ATTR
            (92, 4),  // LOAD_GLOBAL
            (96, 1),  // LOAD_SUPER_ATTR
            (100, 1), // POP_JUMP_IF_FALSE
            (101, 1), // POP_JUMP_IF_NONE
            (102, 1), // POP_JUMP_IF_NOT_NONE
            (103, 1), // POP_JUMP_IF_TRUE
            (106, 1), // SEND
            (110, 4), // STORE_ATTR
            (119, 1), // UNPACK_SEQUENCE
        ],
    };

    pub const PY315: Opcodes = Opcodes {
        nop: 25,
        return_value: 33,
        extended_arg: 67,
        jump_forward: 76,
        jump_backward: 74,
        jump_backward_no_interrupt: 75,
        pop_jump_if_false: 99,
        forward: [68, 105],
        end_async_for: 66,
        borrows: [(83, 85), (88, 86)],
        caches: &[
            (4, 1),   // CALL_FUNCTION_EX
            (36, 1),  // STORE_SUBSCR
            (37, 3),  // TO_BOOL
            (42, 5),  // BINARY_OP
            (50, 3),  // CALL
            (53, 3),  // CALL_KW
            (54, 1),  // COMPARE_OP
            (55, 1),  // CONTAINS_OP
            (68, 1),  // FOR_ITER
            (70, 1),  // GET_ITER
            (74, 1),  // JUMP_BACKWARD
            (79, 9),  // LOAD_ATTR
            (91, 4),  // LOAD_GLOBAL
            (95, 1),  // LOAD_SUPER_ATTR
            (99, 1),  // POP_JUMP_IF_FALSE
            (100, 1), // POP_JUMP_IF_NONE
            (101, 1), // POP_JUMP_IF_NOT_NONE
            (102, 1), // POP_JUMP_IF_TRUE
            (105, 1), // SEND
            (109, 4), // STORE_ATTR
            (118, 1), // UNPACK_SEQUENCE
            (128, 1), // RESUME
        ],
    };

    fn caches(&self, opcode: u8) -> usize {
        self.caches
            .iter()
            .find(|(op, _)| *op == opcode)
            .map_or(0, |(_, n)| usize::from(*n))
    }

    /// One of the four POP_JUMP_IF_* instructions.
    pub fn is_conditional_jump(&self, opcode: u8) -> bool {
        (self.pop_jump_if_false..self.pop_jump_if_false + 4).contains(&opcode)
    }

    fn direction(&self, opcode: u8) -> Option<Direction> {
        if opcode == self.jump_forward
            || self.forward.contains(&opcode)
            || self.is_conditional_jump(opcode)
        {
            Some(Direction::Forward)
        } else if [
            self.jump_backward,
            self.jump_backward_no_interrupt,
            self.end_async_for,
        ]
        .contains(&opcode)
        {
            Some(Direction::Backward)
        } else {
            None
        }
    }
}

/// How a relative jump counts its argument, from the end of its inline caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
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
    /// Set for relative jumps.
    pub jump: Option<Direction>,
}

impl Instruction {
    /// The unit a jump lands on, or `None` for other instructions (or a target before 0).
    pub fn target(&self) -> Option<usize> {
        let arg = self.arg as usize;
        match self.jump? {
            Direction::Forward => Some(self.end + arg),
            Direction::Backward => self.end.checked_sub(arg),
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
pub fn instructions(code: &[u8], ops: &Opcodes) -> Result<Vec<Instruction>, Refused> {
    if !code.len().is_multiple_of(2) {
        return Err(Refused::Malformed("odd code length"));
    }
    let units = code.len() / 2;
    let mut out = Vec::with_capacity(units);
    let mut unit = 0;
    while unit < units {
        let start = unit;
        let mut arg: u32 = 0;
        while code[2 * unit] == ops.extended_arg {
            arg = (arg << 8) | u32::from(code[2 * unit + 1]);
            unit += 1;
            if unit >= units || unit - start > 3 {
                return Err(Refused::Malformed("dangling EXTENDED_ARG"));
            }
        }
        let opcode = code[2 * unit];
        arg = (arg << 8) | u32::from(code[2 * unit + 1]);
        let end = unit + 1 + ops.caches(opcode);
        if end > units {
            return Err(Refused::Malformed("caches past the end"));
        }
        out.push(Instruction {
            start,
            at: unit,
            opcode,
            arg,
            end,
            jump: ops.direction(opcode),
        });
        unit = end;
    }
    Ok(out)
}

/// New `co_code`, `co_linetable` and `co_exceptiontable`.
pub type Tables = (Vec<u8>, Vec<u8>, Vec<u8>);

/// The same code object as compiled by another engine, to check an edit against.
#[derive(Debug, Clone)]
pub struct Reference {
    pub first_line: i32,
    pub stack_size: u32,
    pub tables: Tables,
}

/// Whether `ours` and `reference` are the same code but for loads that one side borrows
/// (LOAD_FAST_BORROW) and the other does not: same line and exception tables, same length,
/// every unit equal or the two forms of one load with the same argument.
pub fn same_but_for_borrows(ours: &Tables, reference: &Tables, ops: &Opcodes) -> bool {
    ours.1 == reference.1
        && ours.2 == reference.2
        && ours.0.len() == reference.0.len()
        && ours.0.chunks(2).zip(reference.0.chunks(2)).all(|(a, b)| {
            a[1] == b[1]
                && (a[0] == b[0]
                    || ops.borrows.iter().any(|&(strong, borrow)| {
                        (a[0], b[0]) == (strong, borrow) || (a[0], b[0]) == (borrow, strong)
                    }))
        })
}

/// A code object's three editable tables, decoded.
pub struct Decoded {
    pub instructions: Vec<Instruction>,
    pub locations: Vec<Location>,
    pub handlers: Vec<exceptions::Entry>,
    code: Vec<u8>,
    first_line: i32,
    nop: u8,
}

impl Decoded {
    /// Decodes and checks that the tables re-encode to exactly the given bytes.
    pub fn new(
        code: &[u8],
        line_table: &[u8],
        exception_table: &[u8],
        first_line: i32,
        ops: &Opcodes,
    ) -> Result<Self, Refused> {
        let instructions = instructions(code, ops)?;
        let locations = locations::decode_exact(line_table, first_line)
            .filter(|locations| locations.len() == code.len() / 2)
            .ok_or(Refused::Malformed("line table does not round-trip"))?;
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
            nop: ops.nop,
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
                code.extend_from_slice(&[self.nop, 0]);
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
            let arg = if instruction.jump == Some(Direction::Forward) {
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
                let decoded =
                    Decoded::new(code, lines, handlers, fields.first_line, &Opcodes::PY314)
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
        let ops = &Opcodes::PY314;
        let decoded = Decoded::new(code, lines, handlers, fields.first_line, ops).expect("decodes");
        let (jump, conditional) = decoded
            .instructions
            .iter()
            .enumerate()
            .find(|(_, i)| i.opcode == ops.pop_jump_if_false + 3)
            .expect("the if");
        let at = conditional.target().expect("a jump");
        let location = decoded.location(conditional);
        let (code, lines, handlers) = decoded.insert_nop(at, location, jump).expect("inserts");
        let edited =
            Decoded::new(&code, &lines, &handlers, fields.first_line, ops).expect("decodes");
        assert_eq!(edited.instructions.len(), decoded.instructions.len() + 1);
        assert_eq!(
            edited.instructions[jump].target(),
            Some(at),
            "lands on the NOP"
        );
        assert_eq!(&code[2 * at..2 * at + 2], &[ops.nop, 0]);
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

    /// A code object made of `units` (opcode, argument) pairs with no locations and the given
    /// exception table entries.
    fn synthetic(units: &[(u8, u8)], handlers: &[exceptions::Entry]) -> Decoded {
        let code: Vec<u8> = units.iter().flat_map(|&(op, arg)| [op, arg]).collect();
        let lines = locations::encode(&vec![Location::NONE; units.len()], 1);
        Decoded::new(
            &code,
            &lines,
            &exceptions::encode(handlers),
            1,
            &Opcodes::PY314,
        )
        .expect("well formed")
    }

    #[test]
    fn an_insertion_that_would_widen_a_jump_is_refused() {
        let ops = &Opcodes::PY314;
        // JUMP_FORWARD 255 over 255 NOPs, then RETURN_VALUE; a NOP inserted inside the jump's
        // span would need an argument of 256, i.e. an EXTENDED_ARG.
        let mut units = vec![(ops.jump_forward, 255)];
        units.extend(std::iter::repeat_n((ops.nop, 0), 255));
        units.push((ops.return_value, 0));
        let decoded = synthetic(&units, &[]);
        assert_eq!(decoded.instructions[0].target(), Some(256));
        assert_eq!(
            decoded.insert_nop(10, Location::NONE, 5),
            Err(Refused::ArgumentWidth)
        );
        // Below 255 the same edit is made, and the jump still lands on RETURN_VALUE.
        let mut units = vec![(ops.jump_forward, 254)];
        units.extend(std::iter::repeat_n((ops.nop, 0), 254));
        units.push((ops.return_value, 0));
        let (code, _, _) = synthetic(&units, &[])
            .insert_nop(10, Location::NONE, 5)
            .expect("edits");
        let edited = instructions(&code, ops).expect("decodes");
        assert_eq!(edited[0].arg, 255);
        let target = edited[0].target().expect("a jump");
        assert_eq!(code[2 * target], ops.return_value);
    }

    #[test]
    fn no_insertion_inside_an_instruction_or_at_a_handler() {
        let ops = &Opcodes::PY314;
        // POP_JUMP_IF_FALSE carries one cache unit: unit 2 is inside it.
        let units = [
            (ops.nop, 0),
            (ops.pop_jump_if_false, 1),
            (0, 0),
            (ops.nop, 0),
            (ops.return_value, 0),
        ];
        let handler = exceptions::Entry {
            start: 0,
            end: 1,
            handler: 4,
            depth_lasti: 0,
        };
        let decoded = synthetic(&units, &[handler]);
        assert_eq!(
            decoded.insert_nop(2, Location::NONE, 1),
            Err(Refused::Position)
        );
        assert_eq!(
            decoded.insert_nop(4, Location::NONE, 1),
            Err(Refused::Position)
        );
        assert!(decoded.insert_nop(3, Location::NONE, 1).is_ok());
    }
}
