//! Divergence: the NOP CPython 3.14 keeps where a try body ends in a one-line `if …: break`.
//!
//! ```python
//! while True:
//!     try:
//!         request = getline()
//!         if not request: break          # line 12
//!     except EOFError:
//!         break
//!     request = request.strip()          # line 15
//! ```
//!
//! CPython compiles the end of the try body to a `POP_BLOCK` without a location, alone in the
//! block that `if not request` jumps to. That block has one predecessor, the jump, so line
//! number propagation gives the `POP_BLOCK` the jump's location; it becomes a NOP, and
//! `remove_redundant_nops` keeps it because the instruction after it (line 15) is on another
//! line and the comparison with a previous line starts afresh in each basic block. CPython
//! 3.14.2 and 3.15.0rc1 (and 3.13, where serc agrees) therefore write
//! `POP_JUMP_IF_TRUE → NOP (line 12)` before `request = request.strip()`. serc 0.1.10 drops
//! that NOP when the if's body is on the if's line (with the body on its own line it keeps
//! it). Found in Lib/pydoc.py (`Helper.interact`); reduced in
//! tests/fixtures/valid/loop_try_*.py, compared with CPython 3.14.2 and 3.15.0rc1 by
//! tests/conformance.rs.
//!
//! The correction is narrow on purpose: the syntax tree must show a `try`/`except` (no `else`,
//! no `finally`) followed by another statement, whose body ends in an `if`/`elif` chain with no
//! `else` whose last branch ends in `break`, `continue` or `return`; the bytecode must show
//! the conditional jump of that branch as the only jump from inside the try into the
//! instruction after the exit path, an exit path that does not fall through, a next
//! instruction on another line and no NOP already there. Only then is a NOP with the jump's
//! location inserted (see [`super::pyc_edit`] for how the edit is checked).
//!
//! When an `except` clause carries on after the try (its last jump lands there too), serc can
//! also differ in which loads borrow (`LOAD_FAST` where CPython's borrow analysis writes
//! `LOAD_FAST_BORROW`), which we cannot decide from the bytecode. For 3.14 the second engine
//! decides: rustpython-compiler's code for that object (equal to CPython's for the whole
//! stdlib) is taken if, and only if, it is ours plus the NOP but for borrowed loads, with the
//! same line table, exception table and stack size. For 3.15, which rustpython does not
//! target, that case is left as serc writes it (tests/fixtures/valid/
//! loop_try_handler_continues.py, a known 3.15 divergence in tests/conformance.rs).
//! Applied to 3.14 and 3.15 output otherwise: serc drops the NOP for both, and CPython
//! 3.15.0rc1 keeps it like 3.14.2.

use std::ops::RangeInclusive;

use memchr::{memchr, memchr2_iter, memmem};
use ruff_source_file::LineIndex;
use ruff_text_size::Ranged;
use rustpython_compiler::ast::{self, visitor::Visitor};
use rustpython_compiler::parser;

use super::pyc_edit::{self, Decoded, Instruction, Opcodes, Reference, marshal};
use crate::compile::diagnostics;

/// Compiles decoded source text with a second engine, for checking an edit against.
pub type ReferenceCompiler<'a> = dyn Fn(&str) -> Option<Vec<Reference>> + 'a;

/// Size of a pyc header: the marshal stream starts after it.
const HEADER: usize = 16;

/// Restores the NOPs in `pyc`, which serc compiled from `source` for the target whose
/// opcodes are `ops`. `reference` compiles the decoded source with a second engine whose code
/// objects equal CPython's, when there is one for the target.
pub fn restore(
    source: &[u8],
    filename: &str,
    version: serc::PythonVersion,
    ops: &Opcodes,
    reference: Option<&ReferenceCompiler<'_>>,
    pyc: &mut Vec<u8>,
) {
    if !may_apply(source) {
        return;
    }
    let Ok(text) = diagnostics::decode(source, filename, version) else {
        return;
    };
    let Ok(parsed) = parser::parse_module(&text) else {
        return;
    };
    let lines = LineIndex::from_source_text(&text);
    let mut finder = Finder {
        lines: &lines,
        branches: Vec::new(),
    };
    finder.visit_body(&parsed.syntax().body);
    if finder.branches.is_empty() {
        return;
    }
    let mut compile_reference = || reference.and_then(|compile| compile(&text));
    match correct(
        &pyc[HEADER..],
        &finder.branches,
        ops,
        &mut compile_reference,
    ) {
        Ok(Some(stream)) => {
            tracing::debug!(file = filename, "restored CPython's try-exit NOP");
            pyc.truncate(HEADER);
            pyc.extend_from_slice(&stream);
        }
        Ok(None) => {}
        Err(refused) => {
            tracing::warn!(
                file = filename,
                ?refused,
                "left serc's try-exit bytecode as is"
            );
        }
    }
}

/// A cheap test that rules out almost every file: the pattern needs a line with a `:`
/// followed by `break`, `continue` or `return` (the one-line branch that ends the try body)
/// whose next line with code starts an `except` clause. (Checked against the stdlib: the
/// colon test alone let 66 of 559 files through to a full parse, this lets 2.)
fn may_apply(source: &[u8]) -> bool {
    // The last line with code before the current one.
    let mut previous: &[u8] = b"";
    let mut start = 0;
    for end in memchr2_iter(b'\n', b'\r', source).chain(std::iter::once(source.len())) {
        let line = source[start..end].trim_ascii_start();
        start = end + 1;
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        if line.starts_with(b"except") && exits_after_colon(previous) {
            return true;
        }
        previous = line;
    }
    false
}

/// Whether `line` has a `:` followed somewhere by `break`, `continue` or `return`.
fn exits_after_colon(line: &[u8]) -> bool {
    memchr(b':', line).is_some_and(|colon| {
        let rest = &line[colon..];
        [&b"break"[..], b"continue", b"return"]
            .iter()
            .any(|word| memmem::find(rest, word).is_some())
    })
}

/// Collects, for each try statement that matches, the lines of its last branch's test.
struct Finder<'a> {
    lines: &'a LineIndex,
    branches: Vec<RangeInclusive<i32>>,
}

impl<'a> Visitor<'a> for Finder<'a> {
    fn visit_body(&mut self, body: &'a [ast::Stmt]) {
        for pair in body.windows(2) {
            if let ast::Stmt::Try(statement) = &pair[0]
                && let Some(test) = exiting_branch_test(statement)
            {
                let line = |offset| self.lines.line_index(offset).get() as i32;
                self.branches.push(line(test.start())..=line(test.end()));
            }
        }
        ast::visitor::walk_body(self, body);
    }
}

/// The test of the last branch of the `if` that ends `statement`'s body, when the pattern
/// holds.
fn exiting_branch_test(statement: &ast::StmtTry) -> Option<&ast::Expr> {
    if statement.handlers.is_empty()
        || !statement.orelse.is_empty()
        || !statement.finalbody.is_empty()
    {
        return None;
    }
    let ast::Stmt::If(branch) = statement.body.last()? else {
        return None;
    };
    let (test, body) = match branch.elif_else_clauses.last() {
        None => (&*branch.test, &branch.body),
        Some(clause) => (clause.test.as_ref()?, &clause.body),
    };
    matches!(
        body.last()?,
        ast::Stmt::Break(_) | ast::Stmt::Continue(_) | ast::Stmt::Return(_)
    )
    .then_some(test)
}

/// The corrected marshal stream, `None` when nothing matched. `reference` compiles the
/// source with the second engine, asked only when an except clause carries on after the try.
fn correct(
    stream: &[u8],
    branches: &[RangeInclusive<i32>],
    ops: &Opcodes,
    reference: &mut dyn FnMut() -> Option<Vec<Reference>>,
) -> Result<Option<Vec<u8>>, pyc_edit::Refused> {
    let objects = marshal::code_objects(stream)
        .map_err(|_| pyc_edit::Refused::Malformed("marshal stream"))?;
    let mut references: Option<Option<Vec<Reference>>> = None;
    let mut replacements = Vec::new();
    for (index, fields) in objects.iter().enumerate() {
        let (Some(code), Some(lines), Some(handlers)) = (
            fields.code.inline(),
            fields.line_table.inline(),
            fields.exception_table.inline(),
        ) else {
            continue;
        };
        let mut tables = (
            stream[code.1].to_vec(),
            stream[lines.1].to_vec(),
            stream[handlers.1].to_vec(),
        );
        let mut changed = false;
        loop {
            let decoded = Decoded::new(&tables.0, &tables.1, &tables.2, fields.first_line, ops)?;
            let Some(missing) = missing_nop(&decoded, branches, ops) else {
                break;
            };
            let location = decoded.location(&decoded.instructions[missing.jump]);
            let with_nop = decoded.insert_nop(missing.at, location, missing.jump)?;
            if !missing.handler_continues {
                tables = with_nop;
                changed = true;
                continue;
            }
            // serc may also differ in which loads borrow: take the second engine's code for
            // this object, but only if it is ours plus the NOP, but for borrows.
            let all = references.get_or_insert_with(&mut *reference);
            let Some(theirs) = all
                .as_ref()
                .filter(|all| all.len() == objects.len())
                .map(|all| &all[index])
                .filter(|theirs| {
                    theirs.first_line == fields.first_line
                        && theirs.stack_size == fields.stack_size
                        && pyc_edit::same_but_for_borrows(&with_nop, &theirs.tables, ops)
                })
            else {
                break;
            };
            tables = theirs.tables.clone();
            changed = true;
        }
        if changed {
            replacements.push((code.0, tables.0));
            replacements.push((lines.0, tables.1));
            replacements.push((handlers.0, tables.2));
        }
    }
    if replacements.is_empty() {
        return Ok(None);
    }
    Ok(Some(marshal::splice(stream, &mut replacements)))
}

/// A NOP to restore: the conditional jump (an index) that lands on it, and where it goes.
struct Missing {
    jump: usize,
    at: usize,
    /// Another jump, from after the try (an except clause carrying on), lands there too.
    handler_continues: bool,
}

/// The first conditional jump of a matching branch whose NOP is missing.
fn missing_nop(
    decoded: &Decoded,
    branches: &[RangeInclusive<i32>],
    ops: &Opcodes,
) -> Option<Missing> {
    let instructions = &decoded.instructions;
    let line = |instruction: &Instruction| decoded.location(instruction).line;
    instructions.iter().enumerate().find_map(|(index, jump)| {
        if !ops.is_conditional_jump(jump.opcode) {
            return None;
        }
        let jump_line = line(jump);
        if !branches.iter().any(|lines| lines.contains(&jump_line)) {
            return None;
        }
        let at = jump.target()?;
        let landing = instructions.iter().position(|i| i.start == at)?;
        let before = &instructions[landing.checked_sub(1)?];
        let after = &instructions[landing];
        let exits = [
            ops.return_value,
            ops.jump_forward,
            ops.jump_backward,
            ops.jump_backward_no_interrupt,
        ]
        .contains(&before.opcode);
        let jumps_in = |from_before: bool| {
            instructions.iter().enumerate().any(|(other, i)| {
                other != index && (i.start < at) == from_before && i.target() == Some(at)
            })
        };
        // A second jump from inside the try makes the block CPython's NOP sits in a join
        // point: it gets no line, and CPython drops it too.
        (at > jump.start
            && exits
            && after.opcode != ops.nop
            && line(after) != jump_line
            && !jumps_in(true))
        .then(|| Missing {
            jump: index,
            at,
            handler_continues: jumps_in(false),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_filter_needs_an_exit_after_a_colon_then_except() {
        assert!(may_apply(
            b"try:\n    if not r: break\nexcept E:\n    pass\n"
        ));
        assert!(may_apply(
            b"try:\r  if a: return 1\r\r  # why\rexcept* E: pass\r"
        ));
        assert!(!may_apply(
            b"try:\n    if a:\n        break\nexcept E:\n    pass\n"
        ));
        assert!(!may_apply(b"if not r: break\nx = 1\n"));
        assert!(!may_apply(b"return x\nd = {1: 2}\nexcept_hook()\n"));
    }

    fn branch_lines(source: &str) -> Vec<RangeInclusive<i32>> {
        let parsed = parser::parse_module(source).expect("parses");
        let lines = LineIndex::from_source_text(source);
        let mut finder = Finder {
            lines: &lines,
            branches: Vec::new(),
        };
        finder.visit_body(&parsed.syntax().body);
        finder.branches
    }

    #[test]
    fn the_tree_must_show_a_plain_try_ending_in_an_exiting_branch() {
        let base = "while 1:\n    try:\n        x()\n        if a: break\n    except E:\n        pass\n    y()\n";
        assert_eq!(branch_lines(base), vec![4..=4]);
        let elif = base.replace(
            "if a: break",
            "if a: break\n        elif (b or\n c): continue",
        );
        assert_eq!(branch_lines(&elif), vec![5..=6]);
        // Not without a following statement, nor with an else, a finally, a trailing else
        // branch or a branch that does not leave.
        assert!(branch_lines(&base.replace("    y()\n", "")).is_empty());
        let with_else = base.replace("    y()", "    else:\n        z()\n    y()");
        assert!(branch_lines(&with_else).is_empty());
        let with_finally = base.replace("    y()", "    finally:\n        z()\n    y()");
        assert!(branch_lines(&with_finally).is_empty());
        let trailing_else = base.replace("if a: break", "if a: break\n        else: z()");
        assert!(branch_lines(&trailing_else).is_empty());
        assert!(branch_lines(&base.replace("if a: break", "if a: z()")).is_empty());
        // Nested bodies are searched too.
        let nested = "def f():\n    with c:\n        while 1:\n            try:\n                x()\n                if a: return\n            except E:\n                pass\n            y()\n";
        assert_eq!(branch_lines(nested), vec![6..=6]);
    }
}
