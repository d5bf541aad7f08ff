//! The command line, identical to rules_python's precompiler so this binary is a drop-in.
//!
//! The same flags arrive twice: on the process command line (one-shot mode, and the startup
//! flags of a worker) and inside each `WorkRequest.arguments`. One parser serves both, and
//! `@file` / `--flagfile=file` are expanded in both places, relative to the request's sandbox.

use std::ffi::{OsStr, OsString};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use clap::{ColorChoice, Parser, ValueEnum};

use crate::compile::{CompilerChoice, InterpreterSpec, Job, PythonVersion, Settings};
use crate::input::{self, MAX_PARAM_FILE_BYTES};
use crate::pyc::InvalidationMode;

/// Compile Python sources to CPython .pyc files without a Python interpreter.
///
/// A drop-in for rules_python's precompiler (the PyCompile action): run once per action with
/// `@paramfile`, or as a Bazel persistent worker (JSON protocol, singleplex or multiplex,
/// cancellation, sandbox dirs) with `--persistent_worker`.
#[derive(Debug, Parser)]
#[command(name = "pycompile-worker", version, color = ColorChoice::Never, max_term_width = 100)]
pub struct Args {
    /// Source file to compile (repeatable; paired by position with --src_name and --pyc).
    #[arg(long = "src", value_name = "PATH")]
    pub src: Vec<PathBuf>,

    /// Name recorded in the .pyc as co_filename, e.g. the source's short path (repeatable).
    #[arg(long = "src_name", value_name = "NAME")]
    pub src_name: Vec<String>,

    /// Output .pyc path (repeatable). Missing parent directories are created.
    #[arg(long = "pyc", value_name = "PATH")]
    pub pyc: Vec<PathBuf>,

    /// Optimization level: -1 (the worker's own level, which is 0), 0, 1 (-O) or 2 (-OO).
    #[arg(long, value_name = "N", default_value_t = -1, allow_negative_numbers = true)]
    pub optimize: i32,

    /// TIMESTAMP, CHECKED_HASH or UNCHECKED_HASH (case-insensitive).
    #[arg(
        long = "invalidation_mode",
        value_name = "MODE",
        default_value = "CHECKED_HASH"
    )]
    pub invalidation_mode: String,

    /// Target CPython MAJOR.MINOR, selecting the bytecode format [default: 3.14].
    #[arg(long = "python_version", value_name = "X.Y")]
    pub python_version: Option<String>,

    /// Which compiler turns source into bytecode.
    #[arg(long, value_enum, default_value_t = CompilerChoice::Auto)]
    pub compiler: CompilerChoice,

    /// The CPython to compile for Python X.Y with (repeatable), for --compiler interpreter and
    /// for versions the embedded compilers do not serve (--compiler auto). Without one for X.Y,
    /// the PYCOMPILE_WORKER_PYTHON_INTERPRETERS environment variable is read (X.Y=PATH entries
    /// separated by ':', ';' on Windows, e.g. "3.11=/usr/bin/python3.11:3.10=/opt/py/bin/python3"),
    /// then pythonX.Y is looked up on PATH. The interpreter's own version must be X.Y.
    #[arg(long = "python_interpreter", value_name = "X.Y=PATH")]
    pub python_interpreter: Vec<InterpreterSpec>,

    /// Serve Bazel's JSON worker protocol on stdin/stdout instead of compiling once.
    #[arg(long = "persistent_worker")]
    pub persistent_worker: bool,

    /// Worker implementation: `async` compiles requests concurrently, `serial` one at a time.
    #[arg(long = "worker_impl", value_enum, default_value_t = WorkerImpl::Async)]
    pub worker_impl: WorkerImpl,

    /// Log level for stderr: DEBUG, INFO, WARNING, ERROR or CRITICAL.
    #[arg(long = "log_level", value_name = "LEVEL", default_value = "ERROR")]
    pub log_level: String,

    /// How many files to compile at once [default: the number of available cores; one for a
    /// one-shot run of a single file].
    #[arg(long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,

    /// Worker: memory in MiB the compiles in flight may take together, counted as 32 bytes per
    /// byte of source; bigger sources wait for room instead of running together [default: half
    /// of the machine's memory].
    #[arg(long = "memory_budget", value_name = "MIB")]
    pub memory_budget: Option<NonZeroUsize>,
}

/// `--worker_impl`, as rules_python's precompiler names them.
#[derive(Clone, Copy, Debug, Eq, PartialEq, ValueEnum)]
pub enum WorkerImpl {
    Serial,
    Async,
}

impl Args {
    /// Parses already-expanded arguments (without the program name).
    pub fn parse_args<A: AsRef<OsStr>>(args: &[A]) -> anyhow::Result<Self> {
        let argv =
            std::iter::once(OsStr::new("pycompile-worker")).chain(args.iter().map(AsRef::as_ref));
        Self::try_parse_from(argv).map_err(|error| {
            let text = error.render().to_string();
            // Printed with our own "error: " prefix, like every other message.
            anyhow!(
                "{}",
                text.strip_prefix("error: ").unwrap_or(&text).trim_end()
            )
        })
    }

    /// The worker's memory budget in bytes: `--memory_budget`, else half of the machine's
    /// memory (8 GiB where it cannot be read).
    pub fn memory_budget_bytes(&self) -> u64 {
        match self.memory_budget {
            Some(mib) => (mib.get() as u64) << 20,
            None => physical_memory().map_or(8 << 30, |bytes| bytes / 2),
        }
    }

    /// The number of compile threads: `--jobs`, else the cores this process may use.
    ///
    /// A one-shot run of at most one file (what Bazel sends per action) has no use for more
    /// than one, so it does not ask: the core count costs a dozen system calls (cgroup quota
    /// files), about 1% of such an action.
    pub fn jobs(&self) -> usize {
        if self.jobs.is_none() && !self.persistent_worker && self.src.len() <= 1 {
            return 1;
        }
        self.jobs
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get)
    }

    /// Validates the per-compile flags and pairs the triples, resolving paths against `base`.
    pub fn compile_request(&self, base: Option<&Path>) -> anyhow::Result<CompileRequest> {
        if self.src.len() != self.src_name.len() || self.src.len() != self.pyc.len() {
            bail!(
                "--src, --src_name and --pyc must be given the same number of times \
                 (got {} --src, {} --src_name, {} --pyc)",
                self.src.len(),
                self.src_name.len(),
                self.pyc.len()
            );
        }
        let optimize =
            Settings::optimize_level(self.optimize).map_err(|message| anyhow!(message))?;
        let invalidation = self
            .invalidation_mode
            .parse::<InvalidationMode>()
            .map_err(|message| anyhow!(message))?;
        let version = match &self.python_version {
            Some(text) => text.parse().map_err(|message: String| anyhow!(message))?,
            None => PythonVersion::DEFAULT,
        };
        let resolve = |path: &Path| match base {
            Some(base) => base.join(path),
            None => PathBuf::from(path),
        };
        let jobs = self
            .src
            .iter()
            .zip(&self.src_name)
            .zip(&self.pyc)
            .map(|((src, src_name), pyc)| Job {
                src: resolve(src),
                src_name: src_name.clone(),
                pyc: resolve(pyc),
            })
            .collect();
        Ok(CompileRequest {
            settings: Settings {
                version,
                optimize,
                invalidation,
                compiler: self.compiler,
                interpreters: self
                    .python_interpreter
                    .iter()
                    .map(|spec| spec.resolved(base))
                    .collect(),
            },
            jobs,
        })
    }
}

/// What one invocation or one work request asks to compile.
#[derive(Clone, Debug)]
pub struct CompileRequest {
    pub settings: Settings,
    pub jobs: Vec<Job>,
}

/// How deep param files may include other param files before we call it a loop.
const MAX_FLAGFILE_DEPTH: usize = 16;

/// Replaces every `@file` and `--flagfile=file` argument by the file's lines.
///
/// The format is Bazel's `multiline`: one argument per line, verbatim (a trailing `\r` is
/// dropped). Relative file names resolve against `base` (the request's sandbox dir) when set,
/// the working directory otherwise; we never chdir, since concurrent requests differ.
/// `@@x` is not a flag file (Bazel's escape for a literal argument starting with `@`).
///
/// Arguments are OS strings: a param file may hold a path that is not UTF-8 (a Linux file
/// name is any bytes), and it reaches the file system unchanged. Only `--src_name`, which
/// becomes a Python `str`, must be UTF-8.
pub fn expand_flagfiles<A: AsRef<OsStr>>(
    args: &[A],
    base: Option<&Path>,
) -> anyhow::Result<Vec<OsString>> {
    let mut out = Vec::with_capacity(args.len());
    expand_into(args, base, 0, &mut out)?;
    Ok(out)
}

fn expand_into<A: AsRef<OsStr>>(
    args: &[A],
    base: Option<&Path>,
    depth: usize,
    out: &mut Vec<OsString>,
) -> anyhow::Result<()> {
    for arg in args {
        let arg = arg.as_ref();
        let bytes = arg.as_encoded_bytes();
        let file = if let Some(rest) = bytes.strip_prefix(b"--flagfile=") {
            rest
        } else if let Some(rest) = bytes
            .strip_prefix(b"@")
            .filter(|rest| !rest.starts_with(b"@"))
        {
            rest
        } else {
            out.push(arg.to_owned());
            continue;
        };
        // SAFETY: `file` is `arg` after an ASCII prefix, so it starts on a boundary of the
        // encoding and is a valid OsStr.
        let file = Path::new(unsafe { OsStr::from_encoded_bytes_unchecked(file) });
        if depth >= MAX_FLAGFILE_DEPTH {
            bail!(
                "param files nested more than {MAX_FLAGFILE_DEPTH} deep at '{}'",
                file.display()
            );
        }
        let path = match base {
            Some(base) => base.join(file),
            None => file.to_owned(),
        };
        let contents = input::read_regular(&path, MAX_PARAM_FILE_BYTES)
            .with_context(|| format!("cannot read param file '{}'", path.display()))?;
        // Lines as `str::lines` cuts them: a final newline ends the last line.
        let body = contents.strip_suffix(b"\n").unwrap_or(&contents);
        let lines: Vec<OsString> = (!contents.is_empty())
            .then(|| body.split(|&b| b == b'\n'))
            .into_iter()
            .flatten()
            .map(|line| os_string(line.strip_suffix(b"\r").unwrap_or(line)))
            .collect::<anyhow::Result<_>>()
            .with_context(|| format!("cannot read param file '{}'", path.display()))?;
        expand_into(&lines, base, depth + 1, out)?;
    }
    Ok(())
}

/// One line of a param file as an argument.
#[cfg(unix)]
fn os_string(bytes: &[u8]) -> anyhow::Result<OsString> {
    use std::os::unix::ffi::OsStrExt;
    Ok(OsStr::from_bytes(bytes).to_owned())
}

/// One line of a param file as an argument: Windows paths are Unicode, so the file is UTF-8.
#[cfg(not(unix))]
fn os_string(bytes: &[u8]) -> anyhow::Result<OsString> {
    Ok(std::str::from_utf8(bytes)
        .context("a line is not valid UTF-8")?
        .into())
}

/// Total physical memory, where the system tells it.
fn physical_memory() -> Option<u64> {
    #[cfg(unix)]
    {
        // SAFETY: sysconf only reads system configuration values.
        let (pages, page) = unsafe {
            (
                libc::sysconf(libc::_SC_PHYS_PAGES),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        if pages > 0 && page > 0 {
            return Some(pages as u64 * page as u64);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn a_single_file_one_shot_run_needs_one_thread() {
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let one = ["--src", "a.py", "--src_name", "a.py", "--pyc", "a.pyc"];
        let two = [
            &one[..],
            &["--src", "b.py", "--src_name", "b.py", "--pyc", "b.pyc"],
        ]
        .concat();
        let jobs = |args: &[&str]| Args::parse_args(&strings(args)).unwrap().jobs();
        assert_eq!(jobs(&one), 1);
        assert_eq!(jobs(&[]), 1);
        assert_eq!(jobs(&two), cores);
        assert_eq!(jobs(&["--persistent_worker"]), cores);
        assert_eq!(jobs(&[&one[..], &["--jobs", "3"]].concat()), 3);
    }

    #[test]
    fn accepts_rules_python_request_flags() {
        let args = Args::parse_args(&strings(&[
            "--invalidation_mode",
            "checked_hash",
            "--src",
            "pkg/a.py",
            "--src_name",
            "pkg/a.py",
            "--pyc",
            "out/a.pyc",
            "--optimize",
            "-1",
            "--python_version=3.14",
        ]))
        .unwrap();
        let request = args.compile_request(Some(Path::new("sandbox/1"))).unwrap();
        assert_eq!(request.settings.optimize, 0);
        assert_eq!(request.settings.invalidation, InvalidationMode::CheckedHash);
        assert_eq!(request.jobs[0].src, Path::new("sandbox/1/pkg/a.py"));
        assert_eq!(request.jobs[0].src_name, "pkg/a.py");
        assert_eq!(request.jobs[0].pyc, Path::new("sandbox/1/out/a.pyc"));
    }

    #[test]
    fn python_interpreter_flags_resolve_against_the_sandbox() {
        let args = Args::parse_args(&strings(&[
            "--python_interpreter",
            "3.10=external/py310/bin/python3",
            "--python_interpreter=3.9=/usr/bin/python3.9",
        ]))
        .unwrap();
        let request = args.compile_request(Some(Path::new("sb"))).unwrap();
        let paths: Vec<_> = request
            .settings
            .interpreters
            .iter()
            .map(|spec| (spec.version.to_string(), spec.path.clone()))
            .collect();
        assert_eq!(
            paths,
            [
                (
                    "3.10".to_owned(),
                    PathBuf::from("sb/external/py310/bin/python3")
                ),
                ("3.9".to_owned(), PathBuf::from("/usr/bin/python3.9")),
            ]
        );
        let err = Args::parse_args(&strings(&["--python_interpreter", "python3.9"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected X.Y=PATH"), "{err}");
    }

    #[test]
    fn help_documents_the_interpreter_variable() {
        use clap::CommandFactory;
        let help = Args::command().render_long_help().to_string();
        assert!(
            help.contains(crate::compile::interpreter::ENV_VAR),
            "{help}"
        );
    }

    #[test]
    fn accepts_worker_startup_flags() {
        let args = Args::parse_args(&strings(&[
            "--persistent_worker",
            "--worker_impl=serial",
            "--log_level=DEBUG",
        ]))
        .unwrap();
        assert!(args.persistent_worker);
        assert_eq!(args.worker_impl, WorkerImpl::Serial);
    }

    #[test]
    fn rejects_unpaired_triples_and_bad_values() {
        let request = |args: &[&str]| {
            Args::parse_args(&strings(args))
                .unwrap()
                .compile_request(None)
        };
        let err = request(&["--src", "a.py", "--src_name", "a.py"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("same number of times"), "{err}");
        let err = request(&["--optimize", "3"]).unwrap_err().to_string();
        assert!(err.contains("invalid --optimize 3"), "{err}");
        let err = request(&["--invalidation_mode", "never"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid invalidation mode 'never'"), "{err}");
        let err = request(&["--python_version", "three"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid Python version 'three'"), "{err}");
        assert!(Args::parse_args(&strings(&["--bogus"])).is_err());
    }

    #[test]
    fn absolute_paths_ignore_the_sandbox() {
        let args = Args::parse_args(&strings(&[
            "--src",
            "/abs/a.py",
            "--src_name",
            "a.py",
            "--pyc",
            "/abs/a.pyc",
        ]))
        .unwrap();
        let request = args.compile_request(Some(Path::new("sandbox"))).unwrap();
        assert_eq!(request.jobs[0].src, Path::new("/abs/a.py"));
    }

    #[test]
    fn expands_nested_flagfiles_relative_to_base() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("outer.params"),
            "--src\r\na.py\n@inner.params\n",
        )
        .unwrap();
        fs::write(dir.path().join("inner.params"), "--pyc\nb c.pyc\n").unwrap();
        let args = expand_flagfiles(
            &strings(&["--flagfile=outer.params", "@@literal"]),
            Some(dir.path()),
        )
        .unwrap();
        assert_eq!(
            args,
            ["--src", "a.py", "--pyc", "b c.pyc", "@@literal"].map(OsString::from)
        );
        let err = expand_flagfiles(&strings(&["@missing"]), Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot read param file") && err.contains("missing"),
            "{err}"
        );
    }

    #[test]
    fn flagfile_loops_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("self.params"), "@self.params\n").unwrap();
        let err = expand_flagfiles(&strings(&["@self.params"]), Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("nested more than"), "{err}");
    }
}
