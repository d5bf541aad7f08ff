//! The rustpython engine: CPython 3.14 bytecode from rustpython-compiler.
//!
//! Its code objects equal CPython's for most files, but its marshal writer never emits
//! back-references, so the files are loadable and equivalent, not byte-identical. Where its
//! output diverges from CPython we correct it here, one named function per divergence.

use rustpython_compiler::core::bytecode::{CodeFlags, CodeObject, ConstantData};
use rustpython_compiler::{CompileOpts, Mode};

use super::{CompileFailure, diagnostics};
use crate::pyc::Validation;

/// The marshal type code of a code object.
const TYPE_CODE: u8 = b'c';

pub fn compile(
    source: &[u8],
    filename: &str,
    optimize: u8,
    validation: Validation,
) -> Result<Vec<u8>, CompileFailure> {
    let text = diagnostics::decode(source, filename)
        .map_err(|exception| CompileFailure::Rejected(exception.py_compile_text()))?;
    let options = CompileOpts {
        optimize,
        ..CompileOpts::default()
    };
    let mut code =
        rustpython_compiler::compile(&text, Mode::Exec, filename, options).map_err(|_| {
            diagnostics::explain_rejection(
                source,
                filename,
                optimize,
                "rustpython rejected the source",
            )
        })?;
    fix_annotate_qualnames(&mut code, "");
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
}
