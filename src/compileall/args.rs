//! The command line of `pycompile-worker compileall`: CPython 3.14's `python -m compileall`
//! flags, with their argparse meaning, plus the target version and interpreter flags.
//!
//! A parser of its own because compileall's short flags (`-d`, `-j`, `-o`, ...) and its
//! positional arguments clash with the precompiler's command line.

use std::ffi::OsString;

use clap::{ArgAction, Parser};

use crate::compile::{CompilerChoice, InterpreterSpec, PythonVersion};

/// Byte-compile Python source trees exactly as CPython's `python -m compileall` does, without
/// a Python interpreter.
#[derive(Debug, Parser)]
#[command(
    name = "pycompile-worker compileall",
    disable_version_flag = true,
    allow_negative_numbers = true,
    infer_long_args = true
)]
pub struct CompileallArgs {
    /// don't recurse into subdirectories
    #[arg(short = 'l')]
    pub no_recursion: bool,
    /// control the maximum recursion level; if `-l` and `-r` options are specified, then
    /// `-r` takes precedence
    #[arg(short = 'r', value_name = "RECURSION")]
    pub recursion: Option<i64>,
    /// force rebuild even if timestamps are up to date
    #[arg(short = 'f')]
    pub force: bool,
    /// output only error messages; -qq will suppress the error messages as well
    #[arg(short = 'q', action = ArgAction::Count)]
    pub quiet: u8,
    /// use legacy (pre-PEP3147) compiled file locations
    #[arg(short = 'b')]
    pub legacy: bool,
    /// directory to prepend to file paths for use in compile-time tracebacks and in runtime
    /// tracebacks in cases where the source file is unavailable
    #[arg(short = 'd', value_name = "DESTDIR")]
    pub ddir: Option<OsString>,
    /// part of path to left-strip from path to source file - for example buildroot
    #[arg(short = 's', value_name = "STRIPDIR")]
    pub stripdir: Option<OsString>,
    /// path to add as prefix to path to source file - for example / to make it absolute when
    /// some part is removed by `-s` option
    #[arg(short = 'p', value_name = "PREPENDDIR")]
    pub prependdir: Option<OsString>,
    /// skip files matching the regular expression; the regexp is searched for in the full
    /// path of each file considered for compilation (Rust `regex-lite` syntax: no look-around or
    /// back-references)
    #[arg(short = 'x', value_name = "REGEXP")]
    pub rx: Option<String>,
    /// add all the files and directories listed in FILE to the list considered for
    /// compilation; if "-", names are read from stdin
    #[arg(short = 'i', value_name = "FILE")]
    pub flist: Option<OsString>,
    /// compile on N threads (0: every core; default: every core, since the output and the
    /// files are the same for any N)
    #[arg(short = 'j', long = "workers", value_name = "WORKERS")]
    pub workers: Option<i64>,
    /// set .pyc invalidation mode; defaults to "checked-hash" if the SOURCE_DATE_EPOCH
    /// environment variable is set, and "timestamp" otherwise
    #[arg(long = "invalidation-mode", value_parser = ["checked-hash", "timestamp", "unchecked-hash"])]
    pub invalidation_mode: Option<String>,
    /// optimization levels to run compilation with (repeatable); default -1, the level of a
    /// Python run without -O, i.e. 0
    #[arg(short = 'o', action = ArgAction::Append, value_name = "OPT_LEVELS")]
    pub opt_levels: Vec<i64>,
    /// ignore symlinks pointing outside of DIR
    #[arg(short = 'e', value_name = "DIR")]
    pub limit_sl_dest: Option<OsString>,
    /// hardlink duplicated pyc files
    #[arg(long = "hardlink-dupes")]
    pub hardlink_dupes: bool,
    /// target CPython version (3.12-3.15 are compiled by the embedded serc compiler)
    #[arg(long = "python_version", value_name = "X.Y", default_value = "3.14")]
    pub python_version: PythonVersion,
    /// which engine compiles: serc for 3.12-3.15 (auto), or a real CPython (interpreter)
    #[arg(long = "compiler", value_enum, default_value_t = CompilerChoice::Auto)]
    pub compiler: CompilerChoice,
    /// the CPython that compiles for version X.Y when no embedded compiler serves it
    /// (repeatable)
    #[arg(long = "python_interpreter", value_name = "X.Y=PATH")]
    pub python_interpreter: Vec<InterpreterSpec>,
    /// zero or more file and directory names to compile
    #[arg(value_name = "FILE|DIR")]
    pub compile_dest: Vec<OsString>,
}
