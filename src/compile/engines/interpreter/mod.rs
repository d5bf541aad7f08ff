//! The interpreter engine: exact `.pyc` files from a real CPython of the target version, for
//! the versions no embedded compiler serves (3.8–3.11) or whenever `--compiler interpreter`
//! asks for it.
//!
//! An interpreter is found per request (see [`resolve`]): `--python_interpreter X.Y=PATH`
//! from the request, then from the worker's startup flags, then [`ENV_VAR`], then `pythonX.Y`
//! on `PATH`. Its real version is checked when its first helper says hello. Each interpreter
//! gets one [`pool::Pool`] of helper processes for the life of the process: helpers start on
//! demand, at most `--jobs` of them, and are reused by every later request. A helper compiles
//! exactly as `py_compile.compile` does and sends the `.pyc` bytes back; writing the file
//! stays with the job (atomic, behind the request's cancellation gate).

mod pool;

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use tracing::{info, warn};

use self::pool::{AcquireError, CallError, Hello, Helper, Pool, Reply, Request, SpawnError};
use crate::compile::failure::CompileFailure;
use crate::compile::gate::Gate;
use crate::compile::settings::{InterpreterSpec, PythonVersion, Settings};
use crate::pyc::InvalidationMode;

/// Environment variable listing interpreters: `X.Y=PATH` entries separated by the platform's
/// path-list separator (`:` on Unix, `;` on Windows), e.g. `3.11=/usr/bin/python3.11:3.10=/opt/py310/bin/python3`.
pub const ENV_VAR: &str = "PYCOMPILE_WORKER_PYTHON_INTERPRETERS";

/// Parses [`ENV_VAR`]'s value.
pub fn parse_env_list(value: &str) -> Result<Vec<InterpreterSpec>, String> {
    let separator = if cfg!(windows) { ';' } else { ':' };
    value
        .split(separator)
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(str::parse)
        .collect()
}

/// Process-wide settings: the worker's startup flags (or a one-shot run's flags).
struct ProcessConfig {
    jobs: usize,
    startup: Vec<InterpreterSpec>,
}

static CONFIG: OnceLock<ProcessConfig> = OnceLock::new();

/// Records the process's `--jobs` (the most helpers per interpreter) and its own
/// `--python_interpreter` flags, which every request falls back on. Called once at startup;
/// later calls are ignored.
pub fn configure(jobs: usize, startup: Vec<InterpreterSpec>) {
    let _ = CONFIG.set(ProcessConfig {
        jobs: jobs.max(1),
        startup,
    });
}

fn config() -> &'static ProcessConfig {
    CONFIG.get_or_init(|| ProcessConfig {
        jobs: std::thread::available_parallelism().map_or(1, usize::from),
        startup: Vec::new(),
    })
}

/// [`ENV_VAR`] as read once: `None` when unset.
fn env_list() -> &'static Option<Result<Vec<InterpreterSpec>, String>> {
    static ENV: OnceLock<Option<Result<Vec<InterpreterSpec>, String>>> = OnceLock::new();
    ENV.get_or_init(|| {
        std::env::var(ENV_VAR)
            .ok()
            .filter(|value| !value.trim().is_empty())
            .map(|value| parse_env_list(&value))
    })
}

/// Where an interpreter's path came from, for messages.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Origin {
    Request,
    Startup,
    Env,
    SearchPath,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Request => f.write_str("--python_interpreter"),
            Self::Startup => f.write_str("the worker's --python_interpreter"),
            Self::Env => write!(f, "${ENV_VAR}"),
            Self::SearchPath => f.write_str("PATH"),
        }
    }
}

/// Why no interpreter can serve a version.
#[derive(Debug, thiserror::Error)]
pub enum InterpreterError {
    #[error(
        "no CPython {version} interpreter found; pass --python_interpreter \
         {version}=/path/to/python{version} or set {ENV_VAR}={version}=/path/to/python{version} \
         (looked for: {looked})"
    )]
    NotFound {
        version: PythonVersion,
        looked: String,
    },
    #[error("the Python {version} interpreter '{path}' (from {origin}) is not usable: {source}")]
    Missing {
        version: PythonVersion,
        path: String,
        origin: Origin,
        source: io::Error,
    },
    #[error("'{path}' (from {origin}) is Python {found}, not Python {version}")]
    WrongVersion {
        version: PythonVersion,
        path: String,
        origin: Origin,
        found: String,
    },
    #[error(
        "'{path}' (from {origin}) is {implementation} {found}, not CPython: only CPython writes CPython's .pyc files"
    )]
    NotCPython {
        path: String,
        origin: Origin,
        implementation: String,
        found: String,
    },
    #[error("the Python {version} interpreter from {origin} cannot be used: {source}")]
    Spawn {
        version: PythonVersion,
        origin: Origin,
        source: SpawnError,
    },
    #[error("invalid {ENV_VAR}: {0}")]
    BadEnv(String),
}

/// A CPython interpreter with its pool of helpers. Lives for the rest of the process.
pub struct Interpreter {
    version: PythonVersion,
    magic: [u8; 4],
    pool: Pool,
}

impl fmt::Debug for Interpreter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interpreter")
            .field("program", &self.pool.program())
            .field("version", &self.pool.hello().version)
            .finish()
    }
}

impl Interpreter {
    pub fn version(&self) -> PythonVersion {
        self.version
    }

    /// `importlib.util.MAGIC_NUMBER`.
    pub fn magic(&self) -> [u8; 4] {
        self.magic
    }

    /// The interpreter's executable.
    pub fn program(&self) -> &Path {
        self.pool.program()
    }

    /// e.g. `CPython 3.11.7 interpreter /usr/bin/python3.11 (up to 4 helper processes, a
    /// fresh fork per compile)`.
    pub fn describe(&self) -> String {
        let hello = self.pool.hello();
        format!(
            "CPython {} interpreter {} (up to {} helper processes, {})",
            hello.version,
            self.pool.program().display(),
            self.pool.max(),
            if hello.fork {
                "a fresh fork per compile"
            } else {
                "compiling in-process"
            }
        )
    }

    /// Compiles `source` as `py_compile.compile(..., dfile=filename)` would on this
    /// interpreter and returns the `.pyc` bytes. A helper that dies is replaced and the
    /// request tried once more; a cancelled request stops waiting at once.
    pub fn compile(
        &self,
        source: &[u8],
        filename: &str,
        mtime: u64,
        settings: &Settings,
        gate: &dyn Gate,
    ) -> Result<Vec<u8>, CompileFailure> {
        let request = Request {
            source,
            dfile: filename,
            optimize: settings.optimize,
            mode: match settings.invalidation {
                InvalidationMode::Timestamp => 0,
                InvalidationMode::CheckedHash => 1,
                InvalidationMode::UncheckedHash => 2,
            },
            // py_compile stores int(st_mtime) and st_size, each & 0xFFFFFFFF.
            mtime: mtime as u32,
            size: source.len() as u32,
        };
        let mut broken = Vec::new();
        for _attempt in 0..2 {
            let mut helper = self.pool.acquire(gate).map_err(|error| match error {
                AcquireError::Cancelled => CompileFailure::Cancelled,
                AcquireError::Spawn(error) => CompileFailure::Internal(format!(
                    "cannot start a Python {} helper: {error}",
                    self.version
                )),
                AcquireError::Changed(hello) => CompileFailure::Internal(format!(
                    "'{}' now reports {} {} (magic {}), not the {} {} (magic {}) it was when first used",
                    self.pool.program().display(),
                    hello.implementation,
                    hello.version,
                    hello.magic,
                    self.pool.hello().implementation,
                    self.pool.hello().version,
                    self.pool.hello().magic,
                )),
            })?;
            let pid = helper.pid;
            match helper.call(&request, gate) {
                Ok(reply) => {
                    self.pool.release(helper);
                    return self.accept(reply);
                }
                Err(CallError::Cancelled) => {
                    // The helper finishes the abandoned compile; its next user skips the reply.
                    self.pool.release(helper);
                    return Err(CompileFailure::Cancelled);
                }
                Err(CallError::Broken(why)) => {
                    warn!(pid, "Python {} helper failed: {why}", self.version);
                    self.pool.discard(helper);
                    broken.push(format!("helper {pid}: {why}"));
                }
            }
        }
        Err(CompileFailure::Internal(format!(
            "the Python {} helper ({}) failed twice: {}",
            self.version,
            self.pool.program().display(),
            broken.join("; ")
        )))
    }

    fn accept(&self, reply: Reply) -> Result<Vec<u8>, CompileFailure> {
        match reply {
            Reply::Pyc(pyc) if pyc.len() >= 16 && pyc[..4] == self.magic => Ok(pyc),
            Reply::Pyc(pyc) => Err(CompileFailure::Internal(format!(
                "the Python {} helper returned {} bytes that are not a .pyc for magic {}",
                self.version,
                pyc.len(),
                self.pool.hello().magic
            ))),
            Reply::Rejected(text) => Err(CompileFailure::Rejected(text)),
            Reply::Failed(traceback) => Err(CompileFailure::Internal(format!(
                "the Python {} helper failed:\n{traceback}",
                self.version
            ))),
        }
    }
}

/// Interpreters by canonical path; each is created once and never freed.
fn registry() -> &'static Mutex<HashMap<PathBuf, &'static Interpreter>> {
    static REGISTRY: OnceLock<Mutex<HashMap<PathBuf, &'static Interpreter>>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
}

/// What a `PATH` search found, per version (PATH does not change while we run).
fn path_cache() -> &'static Mutex<HashMap<PythonVersion, &'static Interpreter>> {
    static CACHE: OnceLock<Mutex<HashMap<PythonVersion, &'static Interpreter>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// Finds the interpreter for `version`: the request's `--python_interpreter` for it, the
/// worker's, [`ENV_VAR`]'s, else the first working `pythonX.Y` on `PATH`. An interpreter named
/// explicitly is used or reported, never silently replaced by another.
pub fn resolve(
    version: PythonVersion,
    request: &[InterpreterSpec],
) -> Result<&'static Interpreter, InterpreterError> {
    let last_for = |specs: &[InterpreterSpec]| {
        specs
            .iter()
            .rev()
            .find(|spec| spec.version == version)
            .map(|spec| spec.path.clone())
    };
    if let Some(path) = last_for(request) {
        return open(version, &path, Origin::Request);
    }
    if let Some(path) = last_for(&config().startup) {
        return open(version, &path, Origin::Startup);
    }
    let env = match env_list() {
        Some(Ok(specs)) => {
            if let Some(path) = last_for(specs) {
                return open(version, &path, Origin::Env);
            }
            format!("${ENV_VAR} has no {version} entry")
        }
        Some(Err(message)) => return Err(InterpreterError::BadEnv(message.clone())),
        None => format!("${ENV_VAR} is not set"),
    };
    if let Some(&found) = path_cache()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&version)
    {
        return Ok(found);
    }
    let name = program_name(version);
    let search_path = std::env::var_os("PATH").unwrap_or_default();
    let mut failures = Vec::new();
    for dir in std::env::split_paths(&search_path) {
        let candidate = dir.join(&name);
        if !is_executable_file(&candidate) {
            continue;
        }
        match open(version, &candidate, Origin::SearchPath) {
            Ok(found) => {
                path_cache()
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(version, found);
                return Ok(found);
            }
            Err(error) => failures.push(error.to_string()),
        }
    }
    let mut looked = format!(
        "no --python_interpreter for {version}, {env}, and no {} on PATH ({})",
        if failures.is_empty() {
            name.clone()
        } else {
            format!("working {name}")
        },
        search_path.to_string_lossy()
    );
    for failure in failures {
        looked.push_str("; ");
        looked.push_str(&failure);
    }
    Err(InterpreterError::NotFound { version, looked })
}

fn program_name(version: PythonVersion) -> String {
    if cfg!(windows) {
        format!("python{version}.exe")
    } else {
        format!("python{version}")
    }
}

fn is_executable_file(path: &Path) -> bool {
    let Ok(metadata) = fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        metadata.is_file()
    }
}

/// The interpreter at `path`, started and checked on first use.
fn open(
    version: PythonVersion,
    path: &Path,
    origin: Origin,
) -> Result<&'static Interpreter, InterpreterError> {
    let shown = path.display().to_string();
    let canonical = fs::canonicalize(path).map_err(|source| InterpreterError::Missing {
        version,
        path: shown.clone(),
        origin,
        source,
    })?;
    // Held while a new interpreter is probed, so concurrent first requests share one pool.
    let mut registry = registry().lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(&found) = registry.get(&canonical) {
        check(found.pool.hello(), version, &shown, origin)?;
        return Ok(found);
    }
    let (helper, hello) = Helper::spawn(&canonical).map_err(|source| InterpreterError::Spawn {
        version,
        origin,
        source,
    })?;
    check(&hello, version, &shown, origin)?;
    let magic = parse_magic(&hello.magic).ok_or_else(|| InterpreterError::Spawn {
        version,
        origin,
        source: SpawnError::NoHello {
            path: shown.clone(),
            detail: format!("unreadable magic number '{}'", hello.magic),
        },
    })?;
    // Later helpers start the real executable (not, say, a pyenv shim in front of it).
    let program = Some(PathBuf::from(&hello.executable))
        .filter(|exe| exe.is_absolute())
        .and_then(|exe| fs::canonicalize(exe).ok())
        .unwrap_or_else(|| canonical.clone());
    info!(
        path = shown,
        program = %program.display(),
        version = hello.version,
        "using a CPython interpreter"
    );
    let interpreter: &'static Interpreter = Box::leak(Box::new(Interpreter {
        version,
        magic,
        pool: Pool::new(program, helper, hello, config().jobs),
    }));
    registry.insert(canonical, interpreter);
    Ok(interpreter)
}

fn check(
    hello: &Hello,
    version: PythonVersion,
    path: &str,
    origin: Origin,
) -> Result<(), InterpreterError> {
    if hello.implementation != "cpython" {
        return Err(InterpreterError::NotCPython {
            path: path.to_owned(),
            origin,
            implementation: hello.implementation.clone(),
            found: hello.version.clone(),
        });
    }
    if (hello.major, hello.minor) != (version.major, version.minor) {
        return Err(InterpreterError::WrongVersion {
            version,
            path: path.to_owned(),
            origin,
            found: hello.version.clone(),
        });
    }
    Ok(())
}

fn parse_magic(hex: &str) -> Option<[u8; 4]> {
    if hex.len() != 8 {
        return None;
    }
    let mut magic = [0; 4];
    for (i, byte) in magic.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(magic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs_and_env_lists() {
        let spec: InterpreterSpec = "3.11=/usr/bin/python3.11".parse().unwrap();
        assert_eq!(spec.version, "3.11".parse().unwrap());
        assert_eq!(spec.path, Path::new("/usr/bin/python3.11"));
        // Only the first '=' separates: paths may contain '='.
        let spec: InterpreterSpec = "3.9=/opt/a=b/python".parse().unwrap();
        assert_eq!(spec.path, Path::new("/opt/a=b/python"));
        for bad in ["3.11", "3.11=", "x=/usr/bin/python", "=/p"] {
            let err = bad.parse::<InterpreterSpec>().unwrap_err();
            assert!(err.contains("expected X.Y=PATH"), "{err}");
        }
        if cfg!(unix) {
            let list = parse_env_list("3.11=/usr/bin/python3.11: 3.10=/x ::").unwrap();
            assert_eq!(list.len(), 2);
            assert_eq!(list[1].path, Path::new("/x"));
            assert!(parse_env_list("3.11=/a:oops").is_err());
        }
    }

    #[test]
    fn relative_paths_resolve_against_the_sandbox() {
        let spec: InterpreterSpec = "3.10=external/py/bin/python3".parse().unwrap();
        assert_eq!(
            spec.resolved(Some(Path::new("/sb/7"))).path,
            Path::new("/sb/7/external/py/bin/python3")
        );
        let spec: InterpreterSpec = "3.10=/abs/python3".parse().unwrap();
        assert_eq!(
            spec.resolved(Some(Path::new("/sb"))).path,
            Path::new("/abs/python3")
        );
    }

    #[test]
    fn parses_magic() {
        assert_eq!(parse_magic("a70d0d0a"), Some([0xa7, 0x0d, 0x0d, 0x0a]));
        assert_eq!(parse_magic("a70d0d"), None);
        assert_eq!(parse_magic("zz0d0d0a"), None);
    }

    #[test]
    fn missing_interpreter_names_version_and_flag() {
        let spec: InterpreterSpec = "3.9=/nonexistent/python3.9".parse().unwrap();
        let err = resolve(spec.version, &[spec]).unwrap_err().to_string();
        assert!(
            err.contains("3.9") && err.contains("/nonexistent/python3.9"),
            "{err}"
        );
    }
}
