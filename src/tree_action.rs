//! A tree request: every `.py` file of a directory (a Bazel TreeArtifact, such as an unpacked
//! wheel) compiled in one action into an output directory, as
//! `<dir>/__pycache__/<name>.cpython-3XY[.opt-N].pyc` relative to the tree — CPython's
//! `compileall` layout.
//!
//! Why a request kind of its own rather than `compileall`: an action must write only its
//! declared outputs (so the pycs go to a second directory, not beside the sources), must answer
//! in a WorkResponse (compileall prints to stdout), must honour cancellation and the request's
//! sandbox, and may be asked to treat per-file errors as non-fatal (wheels ship files that do not
//! compile on every Python version). Each file goes through the same [`compile::run_job`] as a
//! PyCompile action, so a tree's pyc is byte-identical to what `pycompile-worker compileall -d
//! PREFIX` writes for the same file.
//!
//! The request is the word `tree` followed by its flags, in a param file (Bazel puts everything
//! of a worker action's command line that is not a param file into the worker's startup
//! arguments):
//!
//! ```text
//! tree --src_dir <dir> --out_dir <dir> [--prefix P] [--optimize N]... [--invalidation_mode M]
//!      [--python_version X.Y] [--error_log FILE] [--jobs N]
//! ```
//!
//! Safety: the walk yields names from `readdir` (never `..` or a `/`), and the output
//! directories are created here one component at a time, refusing any that already exists as
//! something other than a real directory, so no write can leave `--out_dir` through a symlink.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::{Context as _, anyhow, bail};
use clap::{ColorChoice, Parser};

use crate::compile::{
    self, BASE_STACK, CompilerChoice, Engine, Gate, InterpreterSpec, Job, JobError, NeverCancelled,
    PythonVersion, Settings,
};
use crate::pyc::InvalidationMode;
use crate::pypath;

/// The first argument of a tree request (after param files are expanded).
pub const TREE_WORD: &str = "tree";

/// Directory levels the walk descends at most: a bound on symlink loops and hostile trees.
const MAX_DEPTH: usize = 256;

/// Whether expanded request arguments ask for a tree.
pub fn is_tree_request<A: AsRef<std::ffi::OsStr>>(args: &[A]) -> bool {
    args.first()
        .is_some_and(|first| first.as_ref() == TREE_WORD)
}

/// The flags of a tree request.
#[derive(Debug, Parser)]
#[command(name = "pycompile-worker tree", color = ColorChoice::Never, max_term_width = 100)]
struct TreeArgs {
    /// The directory whose `.py` files are compiled (walked recursively, `__pycache__` skipped).
    #[arg(long = "src_dir", value_name = "DIR")]
    src_dir: PathBuf,
    /// The directory the pycs are written to, under the same relative paths.
    #[arg(long = "out_dir", value_name = "DIR")]
    out_dir: PathBuf,
    /// Prepended to each file's path relative to the tree to make its co_filename (as
    /// compileall's `-d`), e.g. the installed site-packages path. Empty: the relative path.
    #[arg(long, value_name = "PATH", default_value = "")]
    prefix: String,
    /// Optimization level (repeatable: one pyc per level): 0, 1 or 2 (-1 means 0).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    optimize: Vec<i32>,
    /// TIMESTAMP, CHECKED_HASH or UNCHECKED_HASH (case-insensitive).
    #[arg(
        long = "invalidation_mode",
        value_name = "MODE",
        default_value = "CHECKED_HASH"
    )]
    invalidation_mode: String,
    /// Target CPython MAJOR.MINOR [default: 3.14].
    #[arg(long = "python_version", value_name = "X.Y")]
    python_version: Option<String>,
    /// Which compiler turns source into bytecode.
    #[arg(long, value_enum, default_value_t = CompilerChoice::Auto)]
    compiler: CompilerChoice,
    /// The CPython to compile for Python X.Y with (repeatable), as for a PyCompile request.
    #[arg(long = "python_interpreter", value_name = "X.Y=PATH")]
    python_interpreter: Vec<InterpreterSpec>,
    /// Per-file errors are non-fatal: they are written to FILE (empty when every file
    /// compiled) and the request succeeds. Without it any per-file error fails the request.
    #[arg(long = "error_log", value_name = "FILE")]
    error_log: Option<PathBuf>,
    /// Files compiled at once [default: the cores this process may use].
    #[arg(long, value_name = "N")]
    jobs: Option<NonZeroUsize>,
}

/// A parsed and walked tree request, ready to compile.
#[derive(Debug)]
pub struct TreeRequest {
    /// One per level, in the order given (duplicates removed).
    settings: Vec<Settings>,
    engine: Engine,
    out_dir: PathBuf,
    error_log: Option<PathBuf>,
    threads: usize,
    /// Every source in walk order (sorted names, depth first).
    files: Vec<TreeFile>,
    /// Bytes of the largest source.
    pub largest_source: u64,
}

/// One source of the tree and what it becomes.
#[derive(Debug)]
struct TreeFile {
    /// Path relative to the tree, `/`-separated.
    rel: String,
    /// One job per level (same order as `TreeRequest::settings`); `Err` when the name cannot
    /// be a co_filename.
    jobs: Result<Vec<Job>, String>,
}

impl TreeRequest {
    /// Parses the arguments after [`TREE_WORD`] and walks the source tree. Paths resolve
    /// against `base` (the request's sandbox directory) when set.
    pub fn prepare<A: AsRef<std::ffi::OsStr>>(
        args: &[A],
        base: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let argv = std::iter::once(OsString::from("pycompile-worker tree"))
            .chain(args.iter().map(|arg| arg.as_ref().to_owned()));
        let args = TreeArgs::try_parse_from(argv).map_err(|error| {
            let text = error.render().to_string();
            anyhow!(
                "{}",
                text.strip_prefix("error: ").unwrap_or(&text).trim_end()
            )
        })?;
        let resolve = |path: &Path| match base {
            Some(base) => base.join(path),
            None => path.to_owned(),
        };
        let version = match &args.python_version {
            Some(text) => text.parse().map_err(|message: String| anyhow!(message))?,
            None => PythonVersion::DEFAULT,
        };
        let invalidation = args
            .invalidation_mode
            .parse::<InvalidationMode>()
            .map_err(|message| anyhow!(message))?;
        let mut levels: Vec<u8> = Vec::new();
        for level in if args.optimize.is_empty() {
            vec![0]
        } else {
            args.optimize.clone()
        } {
            let level = Settings::optimize_level(level).map_err(|message| anyhow!(message))?;
            if !levels.contains(&level) {
                levels.push(level);
            }
        }
        let interpreters: Vec<InterpreterSpec> = args
            .python_interpreter
            .iter()
            .map(|spec| spec.resolved(base))
            .collect();
        let settings: Vec<Settings> = levels
            .iter()
            .map(|&optimize| Settings {
                version,
                optimize,
                invalidation,
                compiler: args.compiler,
                interpreters: interpreters.clone(),
            })
            .collect();
        let engine = settings[0].engine().map_err(|message| anyhow!(message))?;
        let src_dir = resolve(&args.src_dir);
        let out_dir = resolve(&args.out_dir);
        let tag = format!("cpython-{}{}", version.major, version.minor);
        let mut sources = Vec::new();
        let mut largest_source = 0;
        walk(
            &src_dir,
            &mut Vec::new(),
            &mut Vec::new(),
            &mut sources,
            &mut largest_source,
        )?;
        let files = sources
            .into_iter()
            .map(|rel| {
                let jobs = job_names(&rel, &args.prefix).map(|(rel_text, src_name)| {
                    levels
                        .iter()
                        .map(|&level| Job {
                            src: src_dir.join(&rel_text),
                            src_name: src_name.clone(),
                            pyc: out_dir.join(cache_path(&rel_text, &tag, level)),
                        })
                        .collect()
                });
                TreeFile {
                    rel: String::from_utf8_lossy(&rel).into_owned(),
                    jobs,
                }
            })
            .collect();
        let threads = args
            .jobs
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get);
        Ok(Self {
            settings,
            engine,
            out_dir,
            error_log: args.error_log.as_deref().map(resolve),
            threads,
            files,
            largest_source,
        })
    }

    /// How many compiles may run at once: what the worker's memory budget scales with.
    pub fn parallelism(&self) -> usize {
        self.threads.min(self.files.len()).max(1)
    }

    /// Compiles the tree; returns the exit code and the text for the response (or stderr).
    /// A cancelled request returns at once and publishes nothing more.
    pub fn run(&self, gate: &dyn Gate) -> (i32, String) {
        if let Err(error) = self.make_dirs() {
            return (1, format!("error: {error:#}\n"));
        }
        let results: Vec<Mutex<Option<Outcome>>> =
            self.files.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let cancelled = AtomicBool::new(false);
        let work = || {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = self.files.get(index) else {
                    return;
                };
                let outcome = match &file.jobs {
                    Err(message) => Outcome::Failed(format!(":\n{message}")),
                    Ok(jobs) => self.compile_file(jobs, gate),
                };
                if let Outcome::Cancelled = outcome {
                    cancelled.store(true, Ordering::Relaxed);
                    return;
                }
                *results[index].lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
            }
        };
        let helpers = self.parallelism().saturating_sub(1);
        std::thread::scope(|scope| {
            for index in 0..helpers {
                let spawned = std::thread::Builder::new()
                    .name(format!("tree-{index}"))
                    .stack_size(BASE_STACK)
                    .spawn_scoped(scope, work);
                if let Err(error) = spawned {
                    tracing::warn!("started {index} of {helpers} tree compile threads: {error}");
                    break;
                }
            }
            compile::on_compile_stack(work);
        });
        if cancelled.load(Ordering::Relaxed) || gate.is_cancelled() {
            return (0, String::new());
        }
        let mut failures = String::new();
        let mut failed = 0;
        for (file, result) in self.files.iter().zip(results) {
            let result = result.into_inner().unwrap_or_else(|e| e.into_inner());
            if let Some(Outcome::Failed(message)) = result {
                failed += 1;
                // `<rel>[ (optimize N)]:` then the error text (py_compile's, naming the file).
                let _ = writeln!(failures, "{}{}", file.rel, message.trim_end());
            }
        }
        let summary = format!(
            "pycompile-worker tree: {failed} of {} files did not compile for Python {}",
            self.files.len(),
            self.settings[0].version
        );
        match &self.error_log {
            Some(log) => {
                if let Err(error) = fs::write(log, failures.as_bytes()) {
                    return (
                        1,
                        format!(
                            "error: cannot write the error log '{}': {error}\n",
                            log.display()
                        ),
                    );
                }
                if failed == 0 {
                    (0, String::new())
                } else {
                    (
                        0,
                        format!(
                            "{summary} (non-fatal, listed in {}):\n{failures}",
                            log.display()
                        ),
                    )
                }
            }
            None if failed == 0 => (0, String::new()),
            None => (1, format!("{summary}:\n{failures}")),
        }
    }

    /// One file at every level; the first level that fails ends it.
    fn compile_file(&self, jobs: &[Job], gate: &dyn Gate) -> Outcome {
        for (job, settings) in jobs.iter().zip(&self.settings) {
            match compile::run_job(job, settings, self.engine, gate) {
                Ok(_) => {}
                Err(JobError::Cancelled) => return Outcome::Cancelled,
                Err(error) => {
                    let level = if self.settings.len() > 1 {
                        format!(" (optimize {})", settings.optimize)
                    } else {
                        String::new()
                    };
                    return Outcome::Failed(format!("{level}:\n{error}"));
                }
            }
        }
        Outcome::Compiled
    }

    /// Creates `out_dir` and every `__pycache__` directory the jobs write to, one component at
    /// a time, refusing anything in the way that is not a real directory (a symlink could lead
    /// out of the output tree).
    fn make_dirs(&self) -> anyhow::Result<()> {
        // The output root is Bazel's (it exists); a one-shot run by hand may lack its parents.
        fs::create_dir_all(&self.out_dir)
            .with_context(|| format!("cannot create directory '{}'", self.out_dir.display()))?;
        let mut made: std::collections::HashSet<&Path> = std::collections::HashSet::new();
        for job in self
            .files
            .iter()
            .filter_map(|f| f.jobs.as_ref().ok())
            .flatten()
        {
            let Some(dir) = job.pyc.parent() else {
                continue;
            };
            if made.contains(dir) {
                continue;
            }
            let rel = dir
                .strip_prefix(&self.out_dir)
                .context("internal error: a pyc outside the output directory")?;
            let mut path = self.out_dir.clone();
            for component in rel.components() {
                path.push(component);
                make_real_dir(&path)?;
            }
            made.insert(dir);
        }
        Ok(())
    }
}

/// What became of one file of the tree.
enum Outcome {
    Compiled,
    /// The text after the file's path in the report: `[ (optimize N)]:`, newline, the error.
    Failed(String),
    /// The request was cancelled: the file may be unwritten, and nobody waits for a report.
    Cancelled,
}

/// Creates `path` unless it is already a real directory; anything else there is an error.
fn make_real_dir(path: &Path) -> anyhow::Result<()> {
    match fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            let meta = fs::symlink_metadata(path)
                .with_context(|| format!("cannot create directory '{}'", path.display()))?;
            if meta.is_dir() {
                Ok(())
            } else {
                bail!(
                    "cannot create directory '{}': something that is not a directory is in the way",
                    path.display()
                )
            }
        }
        Err(error) => {
            Err(error).with_context(|| format!("cannot create directory '{}'", path.display()))
        }
    }
}

/// Appends the `.py` files under `dir` (relative paths as bytes, `/`-separated) in walk order:
/// names sorted bytewise (code point order for UTF-8), `__pycache__` skipped, symlinks
/// followed (Bazel stages a sandbox's inputs as symlinks), a directory already on the current
/// path skipped (a symlink loop).
fn walk(
    dir: &Path,
    prefix: &mut Vec<u8>,
    ancestors: &mut Vec<(u64, u64)>,
    out: &mut Vec<Vec<u8>>,
    largest: &mut u64,
) -> anyhow::Result<()> {
    if ancestors.len() >= MAX_DEPTH {
        bail!(
            "cannot walk '{}': more than {MAX_DEPTH} directory levels",
            dir.display()
        );
    }
    let meta = fs::metadata(dir).with_context(|| format!("cannot list '{}'", dir.display()))?;
    let id = dir_id(&meta);
    if ancestors.contains(&id) {
        return Ok(());
    }
    ancestors.push(id);
    let mut names: Vec<OsString> = fs::read_dir(dir)
        .and_then(|entries| entries.map(|entry| entry.map(|e| e.file_name())).collect())
        .with_context(|| format!("cannot list '{}'", dir.display()))?;
    names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    for name in names {
        if name == "__pycache__" {
            continue;
        }
        let path = dir.join(&name);
        // A dangling symlink or an entry that vanished: not a source.
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        let len = prefix.len();
        if !prefix.is_empty() {
            prefix.push(b'/');
        }
        prefix.extend_from_slice(name.as_encoded_bytes());
        if meta.is_dir() {
            walk(&path, prefix, ancestors, out, largest)?;
        } else if meta.is_file() && name.as_encoded_bytes().ends_with(b".py") {
            *largest = (*largest).max(meta.len());
            out.push(prefix.clone());
        }
        prefix.truncate(len);
    }
    ancestors.pop();
    Ok(())
}

#[cfg(unix)]
fn dir_id(meta: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn dir_id(_meta: &fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// The relative path as text and the co_filename (`prefix` joined as `os.path.join` does), or
/// why the file cannot be compiled: a name that is not UTF-8 cannot be a Python `str`.
fn job_names(rel: &[u8], prefix: &str) -> Result<(String, String), String> {
    let rel = std::str::from_utf8(rel).map_err(|_| {
        format!(
            "error: the file name {} is not valid UTF-8, which co_filename cannot record",
            String::from_utf8_lossy(rel)
        )
    })?;
    let src_name = pypath::join(prefix.as_bytes(), [rel.as_bytes()]);
    // Both parts are UTF-8, so their join is.
    Ok((
        rel.to_owned(),
        String::from_utf8_lossy(&src_name).into_owned(),
    ))
}

/// Where the pyc of the relative `.py` path `rel` goes under the output tree, at `level`.
fn cache_path(rel: &str, tag: &str, level: u8) -> PathBuf {
    let cached = pypath::cache_from_source(rel.as_bytes(), tag, i64::from(level));
    pypath::as_path(&cached).to_owned()
}

/// One-shot mode: `pycompile-worker @params` whose first argument is [`TREE_WORD`]. Errors go to
/// stderr; the exit status is the request's.
pub fn run_oneshot(args: &[OsString]) -> i32 {
    let request = match TreeRequest::prepare(args, None) {
        Ok(request) => request,
        Err(error) => {
            eprintln!("error: {error:#}");
            return 2;
        }
    };
    compile::interpreter::configure(request.threads, request.settings[0].interpreters.clone());
    let (code, text) = request.run(&NeverCancelled);
    eprint!("{text}");
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_paths_follow_importlib() {
        // Expected values: CPython 3.14's importlib.util.cache_from_source.
        assert_eq!(
            cache_path("pkg/sub/mod.py", "cpython-314", 0),
            Path::new("pkg/sub/__pycache__/mod.cpython-314.pyc")
        );
        assert_eq!(
            cache_path("a.b.py", "cpython-312", 2),
            Path::new("__pycache__/a.b.cpython-312.opt-2.pyc")
        );
        assert_eq!(
            cache_path("x/.py", "cpython-314", 1),
            Path::new("x/__pycache__/py.cpython-314.opt-1.pyc")
        );
    }

    #[test]
    fn names_join_like_os_path_join() {
        assert_eq!(
            job_names(b"pkg/a.py", "").unwrap(),
            ("pkg/a.py".to_owned(), "pkg/a.py".to_owned())
        );
        assert_eq!(
            job_names(b"a.py", "site-packages").unwrap().1,
            "site-packages/a.py"
        );
        assert_eq!(job_names(b"a.py", "/usr/lib/").unwrap().1, "/usr/lib/a.py");
        assert!(job_names(b"bad\xff.py", "").is_err());
    }

    #[test]
    fn walks_sorted_skipping_pycache_and_loops() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("pkg/sub")).unwrap();
        fs::create_dir_all(root.join("__pycache__")).unwrap();
        for name in [
            "b.py",
            "a.py",
            "pkg/sub/c.py",
            "pkg/data.txt",
            "__pycache__/x.py",
        ] {
            fs::write(root.join(name), "x = 1\n").unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink("..", root.join("pkg/sub/loop")).unwrap();
        let mut out = Vec::new();
        let mut largest = 0;
        walk(
            root,
            &mut Vec::new(),
            &mut Vec::new(),
            &mut out,
            &mut largest,
        )
        .unwrap();
        let names: Vec<String> = out
            .iter()
            .map(|n| String::from_utf8(n.clone()).unwrap())
            .collect();
        assert_eq!(names, ["a.py", "b.py", "pkg/sub/c.py"]);
        assert_eq!(largest, 6);
    }

    #[test]
    fn errors_are_fatal_unless_logged() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("pkg")).unwrap();
        fs::write(src.join("pkg/ok.py"), "x = 1\n").unwrap();
        fs::write(src.join("pkg/py2.py"), "print 'hello'\n").unwrap();
        let args = |out: &str, log: Option<&str>| {
            let mut args: Vec<String> = [
                "--src_dir",
                "src",
                "--out_dir",
                out,
                "--prefix",
                "site",
                "--optimize",
                "0",
                "--optimize=2",
            ]
            .map(str::to_owned)
            .to_vec();
            if let Some(log) = log {
                args.extend(["--error_log".to_owned(), log.to_owned()]);
            }
            args
        };
        let fatal = TreeRequest::prepare(&args("out1", None), Some(dir.path())).unwrap();
        let (code, text) = fatal.run(&NeverCancelled);
        assert_eq!(code, 1, "{text}");
        assert!(text.contains("1 of 2 files did not compile"), "{text}");
        assert!(text.contains("\npkg/py2.py (optimize 0):\n"), "{text}");
        assert!(
            dir.path()
                .join("out1/pkg/__pycache__/ok.cpython-314.pyc")
                .is_file()
        );
        assert!(
            dir.path()
                .join("out1/pkg/__pycache__/ok.cpython-314.opt-2.pyc")
                .is_file()
        );

        let kept =
            TreeRequest::prepare(&args("out2", Some("errors.log")), Some(dir.path())).unwrap();
        let (code, text) = kept.run(&NeverCancelled);
        assert_eq!(code, 0, "{text}");
        assert!(text.contains("non-fatal"), "{text}");
        let log = fs::read_to_string(dir.path().join("errors.log")).unwrap();
        assert!(log.starts_with("pkg/py2.py (optimize 0):\n"), "{log}");
        assert!(log.contains("site/pkg/py2.py"), "{log}");
        let written: Vec<_> = fs::read_dir(dir.path().join("out2/pkg/__pycache__"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(written.len(), 2, "{written:?}");
    }

    /// A request cancelled before it runs publishes no pyc and answers nothing.
    #[test]
    fn a_cancelled_request_publishes_nothing() {
        struct Cancelled;
        impl Gate for Cancelled {
            fn publish(
                &self,
                _publish: &mut dyn FnMut() -> io::Result<()>,
            ) -> Option<io::Result<()>> {
                None
            }
            fn is_cancelled(&self) -> bool {
                true
            }
        }
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("src/pkg")).unwrap();
        for name in ["a", "b", "c"] {
            fs::write(dir.path().join(format!("src/pkg/{name}.py")), "x = 1\n").unwrap();
        }
        let request =
            TreeRequest::prepare(&["--src_dir", "src", "--out_dir", "out"], Some(dir.path()))
                .unwrap();
        assert_eq!(request.run(&Cancelled), (0, String::new()));
        let pycs = fs::read_dir(dir.path().join("out/pkg/__pycache__"))
            .map(|entries| entries.count())
            .unwrap_or(0);
        assert_eq!(pycs, 0);
    }

    #[test]
    fn refuses_a_symlink_in_the_output_tree() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("src/pkg")).unwrap();
        fs::write(dir.path().join("src/pkg/a.py"), "x = 1\n").unwrap();
        fs::create_dir_all(dir.path().join("out")).unwrap();
        fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("../elsewhere", dir.path().join("out/pkg")).unwrap();
        let request =
            TreeRequest::prepare(&["--src_dir", "src", "--out_dir", "out"], Some(dir.path()))
                .unwrap();
        let (code, text) = request.run(&NeverCancelled);
        assert_eq!(code, 1);
        assert!(text.contains("not a directory is in the way"), "{text}");
        assert_eq!(
            fs::read_dir(dir.path().join("elsewhere")).unwrap().count(),
            0
        );
    }
}
