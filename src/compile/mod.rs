//! One compile job: source bytes in, the bytes of a `.pyc` out.
//!
//! The worker and the one-shot mode only ever talk to this module through [`Settings`],
//! [`Job`] and [`run_job`]; which engine serves a request (serc, rustpython or a real CPython)
//! is decided here from `--python_version` and `--compiler`, so adding an engine never touches
//! the protocol code.

mod carets;
pub mod diagnostics;
mod encodings;
mod escape;
mod indentation;
pub mod interpreter;
mod job;
mod limits;
mod pyc_edit;
mod rustpython_engine;
mod serc_engine;
mod try_exit_nop;

use std::fmt;
use std::str::FromStr;

pub use interpreter::{Interpreter, InterpreterSpec};
pub use job::{Gate, Job, JobError, JobReport, NeverCancelled, run_job};

use crate::pyc::{InvalidationMode, Validation};

/// A `major.minor` CPython version, as rules_python passes it in `--python_version`.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct PythonVersion {
    pub major: u8,
    pub minor: u8,
}

impl PythonVersion {
    /// The target when `--python_version` is absent: the newest stable CPython serc emits.
    pub const DEFAULT: Self = Self {
        major: 3,
        minor: 14,
    };

    /// The serc target for this version, if serc emits its bytecode.
    fn serc(self) -> Option<serc::PythonVersion> {
        match (self.major, self.minor) {
            (3, 12) => Some(serc::PythonVersion::Py312),
            (3, 13) => Some(serc::PythonVersion::Py313),
            (3, 14) => Some(serc::PythonVersion::Py314),
            (3, 15) => Some(serc::PythonVersion::Py315),
            _ => None,
        }
    }
}

impl FromStr for PythonVersion {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let invalid =
            || format!("invalid Python version '{value}' (expected MAJOR.MINOR, e.g. 3.14)");
        let (major, minor) = value.trim().split_once('.').ok_or_else(invalid)?;
        let number = |part: &str| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            part.parse::<u8>().map_err(|_| invalid())
        };
        Ok(Self {
            major: number(major)?,
            minor: number(minor)?,
        })
    }
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// `--compiler`: which engine turns source into bytecode.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, clap::ValueEnum)]
pub enum CompilerChoice {
    /// serc for 3.12–3.15, a CPython interpreter of the requested version otherwise.
    #[default]
    Auto,
    /// The embedded serc compiler (3.12–3.15, byte-exact marshal).
    Serc,
    /// The embedded RustPython compiler (3.14 bytecode only; equal code objects, not bytes).
    Rustpython,
    /// A real CPython of the requested version: --python_interpreter X.Y=PATH, else
    /// $PYCOMPILE_WORKER_PYTHON_INTERPRETERS, else pythonX.Y on PATH.
    Interpreter,
}

/// Everything about a request that is the same for each of its files.
#[derive(Clone, Debug)]
pub struct Settings {
    pub version: PythonVersion,
    /// 0, 1 or 2 (`-1` has already been resolved to 0: a worker runs without `-O`).
    pub optimize: u8,
    pub invalidation: InvalidationMode,
    pub compiler: CompilerChoice,
    /// `--python_interpreter` flags of the request (paths already resolved against its sandbox).
    pub interpreters: Vec<InterpreterSpec>,
}

/// The engine chosen for a request, resolved once per request so that an unsupported
/// combination fails with one clear message instead of once per file.
#[derive(Clone, Copy, Debug)]
pub enum Engine {
    Serc(serc::PythonVersion),
    Rustpython,
    /// A real CPython and its helper processes (which live as long as the process).
    Interpreter(&'static Interpreter),
}

impl Engine {
    /// A short human name for verbose output.
    pub fn describe(self) -> String {
        match self {
            Self::Serc(version) => {
                format!(
                    "serc {} (CPython {})",
                    SERC_VERSION,
                    version.target().version_string()
                )
            }
            Self::Rustpython => {
                format!("rustpython-compiler {} (CPython 3.14)", RUSTPYTHON_VERSION)
            }
            Self::Interpreter(interpreter) => interpreter.describe(),
        }
    }

    /// The four magic bytes that start every `.pyc` this engine writes.
    pub fn magic(self) -> [u8; 4] {
        match self {
            Self::Serc(version) => version.target().magic_number,
            Self::Rustpython => serc::PythonVersion::Py314.target().magic_number,
            Self::Interpreter(interpreter) => interpreter.magic(),
        }
    }

    /// The CPython version whose limits and messages apply.
    fn version(self) -> PythonVersion {
        match self {
            Self::Serc(version) => {
                let (major, minor, _) = version.target().version;
                PythonVersion { major, minor }
            }
            Self::Rustpython => PythonVersion::DEFAULT,
            Self::Interpreter(interpreter) => interpreter.version(),
        }
    }
}

/// The pinned engine versions (Cargo.toml pins both with `=`), for verbose output.
const SERC_VERSION: &str = "0.1.10";
const RUSTPYTHON_VERSION: &str = "0.6.0";

impl Settings {
    /// Picks the engine for these settings, or explains why none can serve them.
    pub fn engine(&self) -> Result<Engine, String> {
        let version = self.version;
        match self.compiler {
            CompilerChoice::Auto => match version.serc() {
                Some(target) => Ok(Engine::Serc(target)),
                None => self.interpreter().map_err(|error| {
                    format!(
                        "Python {version} is not supported by the embedded compilers (serc serves 3.12, 3.13, 3.14 and 3.15), \
                         so a CPython {version} interpreter compiles for it, but {error}"
                    )
                }),
            },
            CompilerChoice::Serc => match version.serc() {
                Some(target) => Ok(Engine::Serc(target)),
                None => Err(format!(
                    "Python {version} is not supported by the embedded compilers (serc serves 3.12, 3.13, 3.14 and 3.15); \
                     use --compiler interpreter (or auto) with a CPython {version} interpreter"
                )),
            },
            CompilerChoice::Rustpython if version == PythonVersion::DEFAULT => {
                Ok(Engine::Rustpython)
            }
            CompilerChoice::Rustpython => Err(format!(
                "--compiler rustpython emits CPython 3.14 bytecode only, but --python_version is {version}"
            )),
            CompilerChoice::Interpreter => self.interpreter().map_err(|error| error.to_string()),
        }
    }

    fn interpreter(&self) -> Result<Engine, interpreter::InterpreterError> {
        interpreter::resolve(self.version, &self.interpreters).map(Engine::Interpreter)
    }
}

/// Stack size of every thread that compiles: parsers and tree walks recurse once per nesting
/// level, and the deepest tree CPython accepts (about 10 000 levels) must not overflow.
/// Only the pages actually touched are committed, so this costs address space, not memory.
pub const COMPILE_STACK: usize = 1 << 30;

/// Runs `f` on the current thread, on a fresh stack of [`COMPILE_STACK`] bytes, for callers
/// outside the worker pool.
///
/// Switching stacks instead of starting a thread keeps a one-shot action on its core, its
/// warm caches and the main heap: 7–11% of a single-file action (measured, benches/README.md).
pub fn on_compile_stack<T>(f: impl FnOnce() -> T) -> T {
    stacker::grow(COMPILE_STACK, f)
}

/// Why a source produced no `.pyc`.
#[derive(Debug, thiserror::Error)]
pub enum CompileFailure {
    /// CPython would reject the source too; the text is what `py_compile` prints for it.
    #[error("{0}")]
    Rejected(String),
    /// CPython accepts the source but this engine cannot compile it.
    #[error("{0}")]
    Unsupported(String),
    /// The compiler itself failed (e.g. an interpreter helper died); nothing about the source.
    #[error("{0}")]
    Internal(String),
    /// The request was cancelled while the compile was in flight.
    #[error("cancelled")]
    Cancelled,
}

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
    limits::check(source, filename, engine.version())?;
    match engine {
        Engine::Serc(target) => {
            serc_engine::compile(source, filename, target, settings.optimize, validation)
        }
        Engine::Rustpython => {
            rustpython_engine::compile(source, filename, settings.optimize, validation)
        }
        Engine::Interpreter(_) => unreachable!("handled above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(
            "3.14".parse(),
            Ok(PythonVersion {
                major: 3,
                minor: 14
            })
        );
        assert_eq!("3.8".parse(), Ok(PythonVersion { major: 3, minor: 8 }));
        assert!("3".parse::<PythonVersion>().is_err());
        assert!("3.x".parse::<PythonVersion>().is_err());
        assert!("3.14.1".parse::<PythonVersion>().is_err());
        assert!("".parse::<PythonVersion>().is_err());
    }

    fn settings(version: &str, compiler: CompilerChoice) -> Settings {
        Settings {
            version: version.parse().unwrap(),
            optimize: 0,
            invalidation: InvalidationMode::CheckedHash,
            compiler,
            interpreters: Vec::new(),
        }
    }

    #[test]
    fn engine_selection() {
        assert!(matches!(
            settings("3.12", CompilerChoice::Auto).engine(),
            Ok(Engine::Serc(_))
        ));
        assert!(matches!(
            settings("3.15", CompilerChoice::Serc).engine(),
            Ok(Engine::Serc(_))
        ));
        assert!(matches!(
            settings("3.14", CompilerChoice::Rustpython).engine(),
            Ok(Engine::Rustpython)
        ));
        let err = settings("3.13", CompilerChoice::Rustpython)
            .engine()
            .unwrap_err();
        assert!(err.contains("3.14 bytecode only"), "{err}");
        let err = settings("4.5", CompilerChoice::Auto).engine().unwrap_err();
        assert!(err.contains("Python 4.5 is not supported"), "{err}");
    }
}
