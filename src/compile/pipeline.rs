//! Source bytes in, `.pyc` bytes out: the nesting limit first, then the engine (which applies
//! its own corrections) on a stack sized for how deep the source can nest, then the
//! tokenizer checks the engines do not make. The order of the steps lives here and nowhere else.

use super::diagnostics;
use super::engines::{self, Engine};
use super::failure::CompileFailure;
use super::gate::Gate;
use super::limits;
use super::settings::Settings;
use crate::pyc::Validation;

/// Compiles `source` (the raw bytes of the file) to a complete `.pyc` for `engine`.
///
/// `filename` becomes `co_filename` (py_compile's `dfile`); `mtime` is only used by the
/// timestamp invalidation mode. `gate` lets an engine that waits (on an interpreter) stop
/// waiting once the request is cancelled.
pub fn compile_pyc(
    source: &[u8],
    filename: &str,
    mtime: u64,
    engine: Engine,
    settings: &Settings,
    gate: &dyn Gate,
) -> Result<Vec<u8>, CompileFailure> {
    if let Engine::Interpreter(interpreter) = engine {
        // The interpreter enforces its own limits and writes its own header.
        return interpreter.compile(source, filename, mtime, settings, gate);
    }
    let validation = Validation::new(settings.invalidation, engine.magic(), source, mtime);
    limits::guarded(source, filename, engine.version(), || {
        let (pyc, target) = match engine {
            Engine::Serc(target) => (
                engines::serc::compile(source, filename, target, settings.optimize, validation)?,
                target,
            ),
            Engine::Rustpython => (
                engines::rustpython::compile(source, filename, settings.optimize, validation)?,
                ::serc::PythonVersion::Py314,
            ),
            Engine::Interpreter(_) => unreachable!("handled above"),
        };
        // What the engines accept and CPython's tokenizer refuses.
        diagnostics::check_accepted(source, filename, target)?;
        Ok(pyc)
    })
}
