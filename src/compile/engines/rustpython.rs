//! The rustpython engine: CPython 3.14 bytecode from rustpython-compiler.
//!
//! Its code objects equal CPython's for most files, but its marshal writer never emits
//! back-references, so the files are loadable and equivalent, not byte-identical. Where its
//! output diverges from CPython we correct it here, one named function per divergence.

use rustpython_compiler::core::bytecode::{CodeFlags, CodeObject, ConstantData};
use rustpython_compiler::{CompileOpts, Mode};

use ruff_source_file::LineIndex;
use rustpython_compiler::ast::{self, visitor::Visitor};

use crate::compile::corrections::pyc_edit::Reference;
use crate::compile::corrections::pyc_edit::locations::{self, Location};
use crate::compile::diagnostics;
use crate::compile::failure::CompileFailure;
use crate::pyc::Validation;

/// The marshal type code of a code object.
const TYPE_CODE: u8 = b'c';

pub fn compile(
    source: &[u8],
    filename: &str,
    optimize: u8,
    validation: Validation,
) -> Result<Vec<u8>, CompileFailure> {
    let text = diagnostics::decode_for_engine(source, filename)?;
    let code = compile_code(&text, filename, optimize).map_err(|_| {
        diagnostics::explain_rejection(
            source,
            filename,
            optimize,
            14,
            "rustpython rejected the source",
        )
    })?;
    let magic = serc::PythonVersion::Py314.target().magic_number;
    let mut pyc = validation.header(magic).to_vec();
    pyc.push(TYPE_CODE);
    rustpython_compiler::core::marshal::serialize_code(&mut pyc, &code);
    Ok(pyc)
}

/// Divergence: the PEP 649 `__annotate__` function of a function `f` is named
/// `<f's qualname>.__annotate__` by rustpython-compiler 0.6.0, but CPython 3.14 compiles it in
/// the scope that defines `f` and names it like any function defined there: `__annotate__`
/// at module level, `A.__annotate__` in class `A`, `outer.<locals>.__annotate__` in a
/// function (checked with CPython 3.14.2: `def f(x: int)` at module level gives
/// `__annotate__`; a method `A.m` gives `A.__annotate__`). A PEP 695 `<generic parameters
/// of f>` scope adds nothing to qualnames, so what it defines takes its parent's prefix.
/// 81 of 559 stdlib files differed only in this.
///
/// `prefix` is the qualname prefix of functions defined directly in `code`.
fn fix_annotate_qualnames(code: &mut CodeObject, prefix: &str) {
    for constant in code.constants.iter_mut() {
        if let ConstantData::Code { code: inner } = constant {
            if inner.obj_name == "__annotate__" {
                inner.qualname = format!("{prefix}__annotate__");
            }
            let inner_prefix = if inner.obj_name.starts_with("<generic parameters of ") {
                prefix.to_owned()
            } else if inner.flags.contains(CodeFlags::OPTIMIZED) {
                format!("{}.<locals>.", inner.qualname)
            } else {
                format!("{}.", inner.qualname)
            };
            fix_annotate_qualnames(inner, &inner_prefix);
        }
    }
}

/// rustpython-compiler's module code for `text`, with this engine's corrections applied.
fn compile_code(
    text: &str,
    filename: &str,
    optimize: u8,
) -> Result<CodeObject, rustpython_compiler::CompileError> {
    let options = CompileOpts {
        optimize,
        ..CompileOpts::default()
    };
    let mut code = rustpython_compiler::compile(text, Mode::Exec, filename, options)?;
    fix_annotate_qualnames(&mut code, "");
    if optimize >= 2 {
        fix_removed_docstring_locations(&mut code, text);
    }
    Ok(code)
}

/// Every code object of `text` as this engine compiles it (pre-order, as marshal writes
/// them), for checking an edit of serc's output against: its code objects equal CPython 3.14's
/// for the whole stdlib (tests/conformance_rustpython.rs).
pub fn reference_tables(text: &str, filename: &str, optimize: u8) -> Option<Vec<Reference>> {
    let code = compile_code(text, filename, optimize).ok()?;
    fn walk(code: &CodeObject, out: &mut Vec<Reference>) {
        out.push(Reference {
            first_line: first_line(code),
            stack_size: code.max_stackdepth,
            tables: (
                code.instructions.original_bytes(),
                code.linetable.to_vec(),
                code.exceptiontable.to_vec(),
            ),
        });
        for constant in code.constants.iter() {
            if let ConstantData::Code { code } = constant {
                walk(code, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&code, &mut out);
    Some(out)
}

/// Divergence: at -OO, a function or class whose body is only a docstring compiles to the
/// implicit `return None`, and CPython 3.14 gives that return the location of a `pass` in the
/// docstring's place: its first line, from its column to 4 columns further (`reset` in
/// Lib/codecs.py, line 207 column 8: CPython writes 207–207, 8–12). rustpython-compiler 0.6.0
/// gives it the docstring's line and the next, from its column to column 0. 16 of 559 stdlib
/// files differed only in this at -OO.
fn fix_removed_docstring_locations(code: &mut CodeObject, text: &str) {
    let Ok(parsed) = rustpython_compiler::parser::parse_module(text) else {
        return;
    };
    let mut finder = LoneDocstrings {
        lines: LineIndex::from_source_text(text),
        text,
        places: Vec::new(),
    };
    finder.visit_body(&parsed.syntax().body);
    if !finder.places.is_empty() {
        relocate(code, &finder.places);
    }
}

/// Collects the (line, column) of every docstring that is a function's or class's whole body.
struct LoneDocstrings<'a> {
    lines: LineIndex,
    text: &'a str,
    places: Vec<(i32, i32)>,
}

impl<'a> Visitor<'a> for LoneDocstrings<'_> {
    fn visit_stmt(&mut self, statement: &'a ast::Stmt) {
        let body = match statement {
            ast::Stmt::FunctionDef(def) => Some(&def.body),
            ast::Stmt::ClassDef(class) => Some(&class.body),
            _ => None,
        };
        if let Some([ast::Stmt::Expr(expression)]) = body.map(|body| &body[..])
            && expression.value.is_string_literal_expr()
        {
            let start = expression.range.start();
            let line = self.lines.line_index(start);
            let line_start = self.lines.line_start(line, self.text);
            self.places
                .push((line.get() as i32, (start - line_start).to_u32() as i32));
        }
        ast::visitor::walk_stmt(self, statement);
    }
}

/// `co_firstlineno` of a rustpython code object.
fn first_line(code: &CodeObject) -> i32 {
    code.first_line_number.map_or(1, |line| line.get() as i32)
}

/// Gives every code unit located at one of `places` (line, column) CPython's `pass` location.
fn relocate(code: &mut CodeObject, places: &[(i32, i32)]) {
    let first_line = first_line(code);
    if let Some(mut units) = locations::decode_exact(&code.linetable, first_line) {
        let mut changed = false;
        for unit in units.iter_mut() {
            if places.contains(&(unit.line, unit.column)) && unit.end_line != unit.line {
                *unit = Location {
                    line: unit.line,
                    end_line: unit.line,
                    column: unit.column,
                    end_column: unit.column + 4,
                };
                changed = true;
            }
        }
        if changed {
            code.linetable = locations::encode(&units, first_line).into_boxed_slice();
        }
    }
    for constant in code.constants.iter_mut() {
        if let ConstantData::Code { code: inner } = constant {
            relocate(inner, places);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qualnames(code: &CodeObject, out: &mut Vec<String>) {
        for constant in code.constants.iter() {
            if let ConstantData::Code { code } = constant {
                out.push(code.qualname.clone());
                qualnames(code, out);
            }
        }
    }

    /// Expected names are what CPython 3.14.2 compiles for the same source.
    #[test]
    fn annotate_functions_are_named_like_cpython() {
        let source = "def f(x: int): pass\nclass A:\n    y: int\n    def m(self, z: int): pass\n\
                      def outer():\n    def inner(a: int): pass\n\
                      def g[T](x: T): pass\n";
        let mut code =
            rustpython_compiler::compile(source, Mode::Exec, "a.py", CompileOpts::default())
                .unwrap();
        fix_annotate_qualnames(&mut code, "");
        let mut names = Vec::new();
        qualnames(&code, &mut names);
        assert_eq!(
            names,
            [
                "__annotate__",
                "f",
                "A",
                "A.__annotate__",
                "A.m",
                "A.__annotate__",
                "outer",
                "outer.<locals>.__annotate__",
                "outer.<locals>.inner",
                "<generic parameters of g>",
                "__annotate__",
                "g"
            ]
        );
    }

    /// CPython 3.14.2 at -OO: Lib/codecs.py `IncrementalEncoder.reset` (docstring at line 207,
    /// column 8) returns with the location 207–207, columns 8–12; the same shape here.
    #[test]
    fn a_removed_docstring_leaves_a_pass_location() {
        let source =
            "class C:\n    def reset(self):\n        \"\"\"\n        doc\n        \"\"\"\n";
        let options = CompileOpts {
            optimize: 2,
            ..CompileOpts::default()
        };
        let mut code = rustpython_compiler::compile(source, Mode::Exec, "c.py", options).unwrap();
        fix_removed_docstring_locations(&mut code, source);
        let class = code.constants.iter().find_map(|c| match c {
            ConstantData::Code { code } => Some(code),
            _ => None,
        });
        let reset = class
            .and_then(|class| {
                class.constants.iter().find_map(|c| match c {
                    ConstantData::Code { code } if code.obj_name == "reset" => Some(code),
                    _ => None,
                })
            })
            .expect("reset");
        let units = locations::decode(&reset.linetable, 2).expect("decodes");
        let after_resume: Vec<_> = units[1..]
            .iter()
            .map(|l| (l.line, l.end_line, l.column, l.end_column))
            .collect();
        assert!(!after_resume.is_empty());
        assert!(
            after_resume.iter().all(|l| *l == (3, 3, 8, 12)),
            "{after_resume:?}"
        );
    }
}
