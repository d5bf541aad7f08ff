//! The serc engine: CPython 3.12–3.15 bytecode with CPython's exact marshal.

use super::rustpython;
use crate::compile::corrections::pyc_edit::Opcodes;
use crate::compile::corrections::try_exit_nop;
use crate::compile::diagnostics;
use crate::compile::failure::CompileFailure;
use crate::pyc::Validation;

/// Compiles with serc and wraps the module in a `.pyc` carrying `validation`.
///
/// serc writes the header itself so that the root object's marshal references follow
/// py_compile's (the header is part of the same dump call there).
pub fn compile(
    source: &[u8],
    filename: &str,
    target: serc::PythonVersion,
    optimize: u8,
    validation: Validation,
) -> Result<Vec<u8>, CompileFailure> {
    let options = serc::CompileOptions {
        python_version: target,
        optimization_level: match optimize {
            0 => serc::OptimizationLevel::Zero,
            1 => serc::OptimizationLevel::One,
            _ => serc::OptimizationLevel::Two,
        },
        ..serc::CompileOptions::default()
    };
    match serc::compile_bytes_with_options(source, filename, &options) {
        Ok(module) => {
            let mut pyc = match validation {
                Validation::Timestamp { mtime, size } => module.to_timestamp_pyc(mtime, size),
                Validation::Hash { hash, checked } => module.to_hash_pyc_with_hash(hash, checked),
            };
            match target {
                serc::PythonVersion::Py314 => {
                    // rustpython-compiler emits 3.14 bytecode: it can check an edit.
                    let reference =
                        |text: &str| rustpython::reference_tables(text, filename, optimize);
                    try_exit_nop::restore(
                        source,
                        filename,
                        &Opcodes::PY314,
                        Some(&reference),
                        &mut pyc,
                    )
                }
                serc::PythonVersion::Py315 => {
                    try_exit_nop::restore(source, filename, &Opcodes::PY315, None, &mut pyc)
                }
                _ => {}
            }
            Ok(pyc)
        }
        Err(error) => Err(diagnostics::explain_rejection(
            source,
            filename,
            optimize,
            match target {
                serc::PythonVersion::Py312 => 12,
                serc::PythonVersion::Py313 => 13,
                serc::PythonVersion::Py315 => 15,
                _ => 14,
            },
            &error.to_string(),
        )),
    }
}
