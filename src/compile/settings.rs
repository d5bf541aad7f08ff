//! What a request asks for, the same for each of its files: the target CPython version, the
//! optimisation level, the invalidation mode and the engine choice. Plain data, shared by the
//! command line, the engines and the jobs; it decides nothing.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::pyc::InvalidationMode;

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

impl Settings {
    /// An `--optimize` flag's level: `-1` ("the interpreter's own level", rules_python's
    /// default) is 0, since a worker runs without `-O`; 0, 1 and 2 are themselves.
    pub fn optimize_level(flag: i32) -> Result<u8, String> {
        match flag {
            -1 | 0 => Ok(0),
            1 => Ok(1),
            2 => Ok(2),
            other => Err(format!(
                "invalid --optimize {other} (expected -1, 0, 1 or 2)"
            )),
        }
    }
}

/// `--python_interpreter X.Y=PATH`: use the interpreter at PATH to compile for Python X.Y.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct InterpreterSpec {
    pub version: PythonVersion,
    pub path: PathBuf,
}

impl FromStr for InterpreterSpec {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let invalid = || {
            format!(
                "invalid interpreter '{value}' (expected X.Y=PATH, e.g. 3.11=/usr/bin/python3.11)"
            )
        };
        let (version, path) = value.split_once('=').ok_or_else(invalid)?;
        if path.is_empty() {
            return Err(invalid());
        }
        Ok(Self {
            version: version.parse().map_err(|_| invalid())?,
            path: PathBuf::from(path),
        })
    }
}

impl InterpreterSpec {
    /// Resolves a relative path against `base` (a request's sandbox dir).
    pub fn resolved(&self, base: Option<&Path>) -> Self {
        let path = match base {
            Some(base) if self.path.is_relative() => base.join(&self.path),
            _ => self.path.clone(),
        };
        Self {
            version: self.version,
            path,
        }
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
}
