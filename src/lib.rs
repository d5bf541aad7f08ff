//! A drop-in replacement for rules_python's `precompiler`: compiles Python sources to the
//! exact `.pyc` files CPython's `py_compile` writes, without a Python interpreter, once per
//! invocation or as a Bazel persistent worker.
//!
//! Data flows one way: [`cli`] (flags, param files) → [`worker`] / [`oneshot`] (scheduling,
//! cancellation, the single stdout writer) → [`compile`] (source to `.pyc` bytes) → [`pyc`]
//! (header, source hash, atomic write). [`protocol`] holds the wire types and framing;
//! [`input`] reads the files a request names (sources, param files) without trusting them;
//! `compileall` is the `python -m compileall` command over the same [`compile`];
//! [`tree_action`] is the Bazel action for a whole directory (one request, one output tree);
//! both name their files with [`pypath`] (`os.path` and `importlib` path strings).

pub mod cli;
pub mod compile;
#[cfg(unix)]
pub mod compileall;
pub mod input;
pub mod oneshot;
pub mod protocol;
pub mod pyc;
pub mod pypath;
pub mod tree_action;
pub mod worker;

use std::ffi::OsString;

use clap::Parser;
use clap::error::ErrorKind;
use tracing_subscriber::filter::LevelFilter;

/// Runs the program with `args` (without the program name) and returns its exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let mut args = args.into_iter().peekable();
    #[cfg(unix)]
    if args
        .next_if(|first| first.to_str() == Some("compileall"))
        .is_some()
    {
        return compileall::run(args.collect());
    }
    let args: Vec<OsString> = args.collect();
    let args = match cli::expand_flagfiles(&args, None) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("error: {error:#}");
            return 2;
        }
    };
    if tree_action::is_tree_request(&args) {
        init_logging("ERROR");
        std::panic::set_hook(Box::new(|info| tracing::error!("internal error: {info}")));
        #[cfg(unix)]
        pyc::umask();
        return tree_action::run_oneshot(&args[1..]);
    }
    let argv = std::iter::once(OsString::from("pycompile-worker")).chain(args);
    let args = match cli::Args::try_parse_from(argv) {
        Ok(args) => args,
        Err(error) => {
            // --help and --version go to stdout with status 0, usage errors to stderr.
            let _ = error.print();
            return match error.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                _ => 2,
            };
        }
    };
    init_logging(&args.log_level);
    // A panic is contained per file and answered as an error; its report is one log line on
    // stderr, never a backtrace in the middle of a user's build output.
    std::panic::set_hook(Box::new(|info| tracing::error!("internal error: {info}")));
    // Startup flags every request falls back on: the cap on interpreter helpers per version
    // and the worker's own --python_interpreter list (relative paths: the working directory).
    // The core count is read once: it costs a dozen system calls (cgroup quota files).
    let jobs = args.jobs();
    compile::interpreter::configure(jobs, args.python_interpreter.clone());
    #[cfg(unix)]
    pyc::umask();
    if args.persistent_worker {
        worker::serve(&args, jobs)
    } else {
        oneshot::run(&args, jobs)
    }
}

/// Logs go to stderr only: stdout belongs to the worker protocol.
fn init_logging(level: &str) {
    let filter = match level.to_ascii_uppercase().as_str() {
        "DEBUG" | "NOTSET" => LevelFilter::DEBUG,
        "INFO" => LevelFilter::INFO,
        "WARNING" | "WARN" => LevelFilter::WARN,
        "CRITICAL" | "FATAL" => LevelFilter::ERROR,
        "TRACE" => LevelFilter::TRACE,
        _ => LevelFilter::ERROR,
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(filter)
        .with_ansi(false)
        .try_init();
}
