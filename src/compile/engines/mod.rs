//! The engines that turn source into bytecode, and the choice between them.
//!
//! serc (CPython 3.12–3.15, byte-exact marshal), rustpython-compiler (3.14, equal code objects)
//! and a pool of real CPython processes for every other version. Which one serves a request is
//! decided here, once per request, from `--python_version` and `--compiler`, so adding an
//! engine never touches the protocol code.

pub mod interpreter;
pub mod rustpython;
pub mod serc;

use super::settings::{CompilerChoice, PythonVersion, Settings};
pub use interpreter::Interpreter;

/// The engine chosen for a request, resolved once per request so that an unsupported
/// combination fails with one clear message instead of once per file.
#[derive(Clone, Copy, Debug)]
pub enum Engine {
    Serc(::serc::PythonVersion),
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
            Self::Rustpython => ::serc::PythonVersion::Py314.target().magic_number,
            Self::Interpreter(interpreter) => interpreter.magic(),
        }
    }

    /// The CPython version whose limits and messages apply.
    pub(crate) fn version(self) -> PythonVersion {
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

impl PythonVersion {
    /// The serc target for this version, if serc emits its bytecode.
    fn serc(self) -> Option<::serc::PythonVersion> {
        match (self.major, self.minor) {
            (3, 12) => Some(::serc::PythonVersion::Py312),
            (3, 13) => Some(::serc::PythonVersion::Py313),
            (3, 14) => Some(::serc::PythonVersion::Py314),
            (3, 15) => Some(::serc::PythonVersion::Py315),
            _ => None,
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyc::InvalidationMode;

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
