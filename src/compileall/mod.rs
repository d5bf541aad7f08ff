//! `pycompile-worker compileall ...`: CPython 3.14's `python -m compileall`, flag for flag,
//! with the embedded compilers on every core instead of interpreter processes.
//!
//! | module | owns |
//! | --- | --- |
//! | [`args`] | the command line (argparse's flags and their meaning) |
//! | [`walk`] | which files a directory yields, in CPython's order, and the `Listing` lines |
//! | [`file`] | one file: names, filters, the up-to-date check, one pyc per level, its output |
//! | [`output`] | Python's `repr()` of paths and `str()` of `OSError`s |
//!
//! The walk runs first and is cheap (one `readdir` per directory, a `stat` only for
//! symlinks); the files then compile on `-j` threads, each with the deep-source stack, and
//! their output is printed in walk order as soon as every earlier file has finished. So the
//! output is what a sequential CPython run prints, whatever the number of threads.

mod args;
mod file;
mod output;
mod walk;

use std::ffi::OsString;
use std::fs;
use std::io::{self, BufRead, IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use clap::Parser;
use clap::error::ErrorKind;

use self::args::CompileallArgs;
use self::file::{Context, Naming, Outcome};
use self::walk::Step;
use crate::compile::{self, BASE_STACK, Settings};
use crate::pyc::InvalidationMode;
use crate::pypath;

/// Runs `compileall` with `args` (after the `compileall` word); returns the exit status.
pub fn run(args: Vec<OsString>) -> i32 {
    let argv = std::iter::once(OsString::from("pycompile-worker compileall")).chain(args);
    let args = match CompileallArgs::try_parse_from(argv) {
        Ok(args) => args,
        Err(error) => {
            let _ = error.print();
            return match error.kind() {
                ErrorKind::DisplayHelp => 0,
                _ => 2,
            };
        }
    };
    if args.opt_levels.len() == 1 && args.hardlink_dupes {
        return usage_error(
            "Hardlinking of duplicated bytecode makes sense only for more than one optimization level.",
        );
    }
    if args.ddir.is_some() && (args.stripdir.is_some() || args.prependdir.is_some()) {
        return usage_error("-d cannot be used in combination with -s or -p");
    }
    let mut dests: Vec<Vec<u8>> = args
        .compile_dest
        .iter()
        .map(|d| bytes(d).to_vec())
        .collect();
    if let Some(flist) = args.flist.as_ref().filter(|f| !f.is_empty()) {
        match read_list(flist) {
            Ok(names) => dests.extend(names),
            Err(()) => {
                if args.quiet < 2 {
                    println!("Error reading file list {}", flist.to_string_lossy());
                }
                return 1;
            }
        }
    }
    if dests.is_empty() {
        eprintln!(
            "error: compileall without FILE|DIR compiles the running Python's sys.path, and \
             pycompile-worker runs no Python: name the directories to compile"
        );
        return 2;
    }
    let ctx = match context(&args) {
        Ok(ctx) => ctx,
        Err(message) => {
            eprintln!("error: {message}");
            return 2;
        }
    };
    let workers = match args.workers {
        Some(n) if n < 0 => {
            if dests.iter().any(|d| !is_file(d)) {
                eprintln!("ValueError: workers must be greater or equal to 0");
                return 1;
            }
            1
        }
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => std::thread::available_parallelism().map_or(1, usize::from),
    };
    compile::interpreter::configure(workers, args.python_interpreter.clone());
    crate::pyc::umask();

    // The walk, in CPython's order: files named directly, directories listed.
    let maxlevels = args
        .recursion
        .unwrap_or(if args.no_recursion { 0 } else { 1000 });
    let ddir = args.ddir.as_deref().map(|d| bytes(d).to_vec());
    let mut namings = Vec::new();
    let mut steps = Vec::new();
    for dest in &dests {
        let index = namings.len();
        if is_file(dest) {
            namings.push(Naming {
                ddir: ddir.clone(),
                stripdir: args.stripdir.as_deref().map(|d| bytes(d).to_vec()),
                prependdir: args.prependdir.as_deref().map(|d| bytes(d).to_vec()),
            });
            steps.push(Step::File {
                path: dest.clone(),
                dest: index,
            });
        } else {
            namings.push(match &ddir {
                Some(ddir) => Naming {
                    ddir: None,
                    stripdir: Some(dest.clone()),
                    prependdir: Some(ddir.clone()),
                },
                None => Naming {
                    ddir: None,
                    stripdir: args.stripdir.as_deref().map(|d| bytes(d).to_vec()),
                    prependdir: args.prependdir.as_deref().map(|d| bytes(d).to_vec()),
                },
            });
            walk::walk_dir(dest, maxlevels, args.quiet, index, &mut steps);
        }
    }
    let ok = compile_all(&steps, &namings, &ctx, workers);
    i32::from(!ok)
}

/// Compiles every file of `steps` on `workers` threads and prints all output in step order.
fn compile_all(steps: &[Step], namings: &[Naming], ctx: &Context, workers: usize) -> bool {
    let outcomes: Vec<OnceLock<Outcome>> = steps.iter().map(|_| OnceLock::new()).collect();
    let next = AtomicUsize::new(0);
    let stdout = io::stdout();
    let flush_each = stdout.is_terminal();
    let printer = Mutex::new(Printer {
        next: 0,
        ok: true,
        out: io::BufWriter::with_capacity(1 << 16, stdout),
    });
    let order = schedule(steps);
    let work = || {
        loop {
            let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) else {
                return;
            };
            let step = &steps[i];
            let outcome = match step {
                Step::Line(line) => Outcome {
                    text: format!("{line}\n"),
                    ok: true,
                },
                Step::File { path, dest } => file::compile_file(path, &namings[*dest], ctx),
            };
            let _ = outcomes[i].set(outcome);
            let mut printer = printer.lock().unwrap_or_else(|e| e.into_inner());
            printer.drain(&outcomes, flush_each);
        }
    };
    let helpers = workers.min(steps.len()).saturating_sub(1);
    std::thread::scope(|scope| {
        for index in 0..helpers {
            // A modest stack: a deep source grows its own inside compile_pyc (limits::guarded),
            // so -j 64 does not reserve 64 GiB of address space; a thread that cannot start
            // leaves its share to the others.
            let spawned = std::thread::Builder::new()
                .name(format!("compileall-{index}"))
                .stack_size(BASE_STACK)
                .spawn_scoped(scope, work);
            if let Err(error) = spawned {
                tracing::warn!("started {index} of {helpers} compile threads: {error}");
                break;
            }
        }
        compile::on_compile_stack(work);
    });
    let mut printer = printer.into_inner().unwrap_or_else(|e| e.into_inner());
    printer.drain(&outcomes, true);
    printer.ok
}

/// The order the threads take the steps in: largest source first (longest processing time
/// first). A compile's time grows with its source's size, and in walk order the biggest file
/// of a tree (pandas' `generic.py`, 470 kB) can start last and run alone on one core while the
/// others idle; started first, it overlaps with the many small files. Output still follows
/// the walk order (the printer waits), so only the schedule changes. One `stat` per file
/// (its size; a file that cannot be stat'ed sorts last and reports its error when compiled).
fn schedule(steps: &[Step]) -> Vec<usize> {
    let mut sized: Vec<(u64, usize)> = steps
        .iter()
        .enumerate()
        .map(|(i, step)| match step {
            Step::Line(_) => (0, i),
            Step::File { path, .. } => (
                fs::metadata(pypath::as_path(path)).map_or(0, |meta| meta.len()),
                i,
            ),
        })
        .collect();
    // Stable on ties: equal sizes (and the walk's lines) keep the walk order.
    sized.sort_by_key(|&(size, _)| std::cmp::Reverse(size));
    sized.into_iter().map(|(_, i)| i).collect()
}

/// Writes finished outcomes to stdout in step order.
struct Printer<W: Write> {
    next: usize,
    ok: bool,
    out: W,
}

impl<W: Write> Printer<W> {
    fn drain(&mut self, outcomes: &[OnceLock<Outcome>], flush: bool) {
        let start = self.next;
        while let Some(outcome) = outcomes.get(self.next).and_then(OnceLock::get) {
            self.ok &= outcome.ok;
            // A closed stdout does not stop the compiles (CPython would die of the
            // BrokenPipeError; the files are what matters).
            let _ = self.out.write_all(outcome.text.as_bytes());
            self.next += 1;
        }
        if (flush && self.next > start) || self.next == outcomes.len() {
            let _ = self.out.flush();
        }
    }
}

/// The run-wide settings, or why they cannot work.
fn context(args: &CompileallArgs) -> Result<Context, String> {
    let invalidation = match args.invalidation_mode.as_deref() {
        Some(mode) => mode.replace('-', "_").parse::<InvalidationMode>()?,
        // py_compile's default: hashes when SOURCE_DATE_EPOCH is set (and not empty).
        None if std::env::var_os("SOURCE_DATE_EPOCH").is_some_and(|v| !v.is_empty()) => {
            InvalidationMode::CheckedHash
        }
        None => InvalidationMode::Timestamp,
    };
    let mut levels = if args.opt_levels.is_empty() {
        vec![-1]
    } else {
        args.opt_levels.clone()
    };
    levels.sort_unstable();
    levels.dedup();
    if args.hardlink_dupes && levels.len() < 2 {
        return Err(
            "Hardlinking of duplicated bytecode makes sense only for more than one optimization level"
                .to_owned(),
        );
    }
    let settings: Vec<Settings> = levels
        .iter()
        .map(|&level| Settings {
            version: args.python_version,
            optimize: u8::try_from(level.clamp(0, 2)).unwrap_or(0),
            invalidation,
            compiler: args.compiler,
            interpreters: args.python_interpreter.clone(),
        })
        .collect();
    let engine = settings[0].engine()?;
    let rx = match args.rx.as_deref().filter(|rx| !rx.is_empty()) {
        Some(pattern) => Some(regex_lite::Regex::new(pattern).map_err(|error| {
            format!("-x: cannot use the regular expression {pattern:?}: {error}")
        })?),
        None => None,
    };
    let limit_sl_dest = args
        .limit_sl_dest
        .as_deref()
        .filter(|d| !d.is_empty())
        .map(|d| file::realpath(bytes(d)));
    Ok(Context {
        force: args.force,
        quiet: args.quiet,
        legacy: args.legacy,
        levels,
        rx,
        limit_sl_dest,
        hardlink_dupes: args.hardlink_dupes,
        engine,
        settings,
        cache_tag: format!(
            "cpython-{}{}",
            args.python_version.major, args.python_version.minor
        ),
    })
}

/// argparse's `parser.error`: usage on stderr, status 2.
fn usage_error(message: &str) -> i32 {
    eprintln!("usage: pycompile-worker compileall [OPTIONS] [FILE|DIR]...");
    eprintln!("pycompile-worker compileall: error: {message}");
    2
}

/// `-i FILE` (or `-` for stdin): one name per line, whitespace stripped.
fn read_list(flist: &std::ffi::OsStr) -> Result<Vec<Vec<u8>>, ()> {
    let reader: Box<dyn BufRead> = if flist == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(io::BufReader::new(fs::File::open(flist).map_err(drop)?))
    };
    let mut names = Vec::new();
    for line in reader.split(b'\n') {
        let line = line.map_err(drop)?;
        names.push(line.trim_ascii().to_vec());
    }
    Ok(names)
}

/// `os.path.isfile`.
fn is_file(path: &[u8]) -> bool {
    fs::metadata(pypath::as_path(path)).is_ok_and(|m| m.is_file())
}

fn bytes(path: &std::ffi::OsStr) -> &[u8] {
    pypath::bytes(path)
}
