//! The rustpython engine: CPython 3.14 bytecode from rustpython-compiler.
//!
//! Its code objects equal CPython's for most files, but its marshal writer never emits
//! back-references, so the files are loadable and equivalent, not byte-identical. Where its
//! output diverges from CPython we correct it here, one named function per divergence.

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
    let code =
        rustpython_compiler::compile(&text, Mode::Exec, filename, options).map_err(|_| {
            diagnostics::explain_rejection(
                source,
                filename,
                optimize,
                "rustpython rejected the source",
            )
        })?;
    let magic = serc::PythonVersion::Py314.target().magic_number;
    let mut pyc = validation.header(magic).to_vec();
    pyc.push(TYPE_CODE);
    rustpython_compiler::core::marshal::serialize_code(&mut pyc, &code);
    Ok(pyc)
}
