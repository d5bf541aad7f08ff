//! `compile_file` for one path: the destination name, the filters, the up-to-date check, one
//! `py_compile.compile` per optimisation level, and the lines CPython prints for it.
//!
//! Each step keeps CPython's order, because the order decides which error a file reports
//! (a symlinked `.pyc` before an unreadable source, an unreadable source before a syntax
//! error) and which levels are already written when one fails.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};

use regex_lite::Regex;

use super::output::{os_error, py_repr};
use crate::compile::{self, CompileFailure, Engine, NeverCancelled, Settings};
use crate::input;
use crate::pypath::{self, as_path};

/// Everything that is the same for every file of the run.
pub struct Context {
    pub force: bool,
    pub quiet: u8,
    pub legacy: bool,
    /// `sorted(set(levels))`; -1 is "the interpreter's level", 0.
    pub levels: Vec<i64>,
    pub rx: Option<Regex>,
    /// `-e DIR`, resolved.
    pub limit_sl_dest: Option<Vec<u8>>,
    pub hardlink_dupes: bool,
    pub engine: Engine,
    /// One per entry of `levels` (levels outside -1..=2 get level 0's and fail at compile).
    pub settings: Vec<Settings>,
    /// `cpython-3XY`.
    pub cache_tag: String,
}

/// How a destination names its files in code objects (`-d`, `-s`, `-p`; `-d` on a directory
/// becomes strip-the-directory, prepend-DESTDIR).
#[derive(Default)]
pub struct Naming {
    pub ddir: Option<Vec<u8>>,
    pub stripdir: Option<Vec<u8>>,
    pub prependdir: Option<Vec<u8>>,
}

/// What compiling one path printed and whether it succeeded.
#[derive(Debug, Default)]
pub struct Outcome {
    pub text: String,
    pub ok: bool,
}

/// `compile_file(fullname, ...)`.
pub fn compile_file(fullname: &[u8], naming: &Naming, ctx: &Context) -> Outcome {
    let mut out = Outcome {
        text: String::new(),
        ok: true,
    };
    let name = pypath::basename(fullname);
    let mut dfile = naming.ddir.as_ref().map(|ddir| pypath::join(ddir, [name]));
    if let Some(stripdir) = &naming.stripdir {
        let full_parts: Vec<&[u8]> = fullname.split(|&b| b == b'/').collect();
        let strip_parts: Vec<&[u8]> = stripdir.split(|&b| b == b'/').collect();
        if full_parts.get(..strip_parts.len()) != Some(&strip_parts[..]) {
            if ctx.quiet < 2 {
                out.text.push_str(&format!(
                    "The stripdir path {} is not a valid prefix for source path {}; ignoring\n",
                    py_repr(stripdir),
                    py_repr(fullname)
                ));
            }
        } else if let Some((first, rest)) = full_parts[strip_parts.len()..].split_first() {
            dfile = Some(pypath::join(first, rest.iter().copied()));
        } else {
            // CPython: os.path.join() without arguments raises TypeError and stops the run.
            out.text
                .push_str("TypeError: the source path equals the strip directory\n");
            out.ok = false;
            return out;
        }
    }
    if let Some(prependdir) = &naming.prependdir {
        let tail = dfile.as_deref().unwrap_or(fullname);
        dfile = Some(pypath::join(prependdir, [tail]));
    }
    if ctx
        .rx
        .as_ref()
        .is_some_and(|rx| rx.is_match(&String::from_utf8_lossy(fullname)))
    {
        return out;
    }
    if let Some(limit) = &ctx.limit_sl_dest {
        let is_link = fs::symlink_metadata(as_path(fullname)).is_ok_and(|m| m.is_symlink());
        if is_link && !is_strict_ancestor(limit, &realpath(fullname)) {
            return out;
        }
    }
    // os.path.isfile follows symlinks; the same stat serves the up-to-date check.
    let Ok(meta) = fs::metadata(as_path(fullname)) else {
        return out;
    };
    if !meta.is_file() || !name.ends_with(b".py") {
        return out;
    }
    let cfiles: Vec<Vec<u8>> = ctx
        .levels
        .iter()
        .map(|&level| {
            if ctx.legacy {
                [fullname, b"c"].concat()
            } else {
                pypath::cache_from_source(fullname, &ctx.cache_tag, level.max(0))
            }
        })
        .collect();
    if !ctx.force && up_to_date(&meta, &cfiles, ctx) {
        return out;
    }
    if ctx.quiet == 0 {
        out.text
            .push_str(&format!("Compiling {}...\n", py_repr(fullname)));
    }
    let mut source: Option<(Vec<u8>, fs::Metadata)> = None;
    let mut written: Vec<Vec<u8>> = Vec::new();
    for (index, &level) in ctx.levels.iter().enumerate() {
        let cfile = &cfiles[index];
        let result = compile_level(
            fullname,
            dfile.as_deref(),
            cfile,
            level,
            &ctx.settings[index],
            ctx.engine,
            &mut source,
        )
        .and_then(|pyc| {
            if index > 0 && ctx.hardlink_dupes && written.last() == Some(&pyc) {
                let previous = &cfiles[index - 1];
                let link = fs::remove_file(as_path(cfile))
                    .map_err(|e| Failure::Os(os_error(&e, cfile, None)))
                    .and_then(|()| {
                        fs::hard_link(as_path(previous), as_path(cfile))
                            .map_err(|e| Failure::Os(os_error(&e, previous, Some(cfile))))
                    });
                link?;
            }
            written.push(pyc);
            Ok(())
        });
        if let Err(failure) = result {
            out.ok = false;
            if ctx.quiet >= 2 {
                return out;
            }
            if ctx.quiet == 1 {
                out.text
                    .push_str(&format!("*** Error compiling {}...\n", py_repr(fullname)));
            } else {
                out.text.push_str("*** ");
            }
            match failure {
                Failure::Compile(text) | Failure::Os(text) => out.text.push_str(&text),
            }
            out.text.push('\n');
            return out;
        }
    }
    out
}

/// Why one level produced no pyc: a `PyCompileError` (its `msg`) or an `OSError`
/// (`Class: str(e)`); compileall prints both after `*** `.
enum Failure {
    Compile(String),
    Os(String),
}

/// `py_compile.compile(fullname, cfile, dfile, True, optimize=level, ...)`, returning the
/// bytes written.
fn compile_level(
    fullname: &[u8],
    dfile: Option<&[u8]>,
    cfile: &[u8],
    level: i64,
    settings: &Settings,
    engine: Engine,
    source: &mut Option<(Vec<u8>, fs::Metadata)>,
) -> Result<Vec<u8>, Failure> {
    if let Ok(meta) = fs::symlink_metadata(as_path(cfile)) {
        let what = if meta.is_symlink() {
            "is a symlink and will be changed into a regular file"
        } else if !meta.is_file() {
            "is a non-regular file and will be changed into a regular one"
        } else {
            ""
        };
        if !what.is_empty() {
            return Err(Failure::Os(format!(
                "FileExistsError: {} {what} if import writes a byte-compiled file to it",
                String::from_utf8_lossy(cfile)
            )));
        }
    }
    if source.is_none() {
        *source =
            Some(read_source(fullname).map_err(|e| Failure::Os(os_error(&e, fullname, None)))?);
    }
    let (bytes, meta) = source.as_ref().expect("read above");
    let filename = dfile.unwrap_or(fullname);
    if !(-1..=2).contains(&level) {
        return Err(Failure::Compile(
            "Sorry: ValueError: compile(): invalid optimize value".to_owned(),
        ));
    }
    let Ok(filename) = std::str::from_utf8(filename) else {
        return Err(Failure::Os(format!(
            "UnicodeError: {} is not valid UTF-8, which the embedded compilers cannot record as co_filename",
            py_repr(filename)
        )));
    };
    let compiled = panic::catch_unwind(AssertUnwindSafe(|| {
        compile::compile_pyc(
            bytes,
            filename,
            mtime_seconds(meta),
            engine,
            settings,
            &NeverCancelled,
        )
    }));
    let pyc = match compiled {
        Ok(Ok(pyc)) => pyc,
        Ok(Err(CompileFailure::Rejected(text) | CompileFailure::Unsupported(text))) => {
            return Err(Failure::Compile(text));
        }
        Ok(Err(CompileFailure::Internal(text))) => {
            return Err(Failure::Compile(format!("Sorry: internal error: {text}")));
        }
        Ok(Err(CompileFailure::Cancelled)) | Err(_) => {
            return Err(Failure::Compile(
                "Sorry: internal error: the compiler panicked".to_owned(),
            ));
        }
    };
    let dir = pypath::dirname(cfile);
    if let Some(Err(error)) = (!dir.is_empty()).then(|| fs::create_dir(as_path(dir))) {
        if error.kind() == io::ErrorKind::NotFound {
            // os.makedirs creates the missing parents too.
            fs::create_dir_all(as_path(dir)).map_err(|e| Failure::Os(os_error(&e, dir, None)))?;
        } else if error.kind() != io::ErrorKind::AlreadyExists {
            return Err(Failure::Os(os_error(&error, dir, None)));
        }
    }
    write_atomic(cfile, &pyc, meta.mode())?;
    Ok(pyc)
}

/// The source bytes and the `stat` the header and the pyc's mode come from, read as the
/// worker reads sources (`crate::input`): a FIFO or device in the tree is refused, not waited
/// on, and a file is read up to the same cap.
fn read_source(path: &[u8]) -> io::Result<(Vec<u8>, fs::Metadata)> {
    let (file, meta) = input::open_regular(as_path(path), input::MAX_SOURCE_BYTES)?;
    let bytes = input::read_capped(file, input::MAX_SOURCE_BYTES, meta.len())?;
    Ok((bytes, meta))
}

/// `int(st.st_mtime)` as CPython computes it: `st_mtime` is the double `sec + nsec * 1e-9`,
/// which rounds up to the next second for the last ~120 ns of one; then `& 0xFFFFFFFF` (the
/// caller keeps the low 32 bits).
pub fn mtime_seconds(meta: &fs::Metadata) -> u64 {
    let float = meta.mtime() as f64 + meta.mtime_nsec() as f64 * 1e-9;
    float.trunc() as i64 as u64
}

/// compileall's test: every level's pyc starts with magic, flags 0 and the source's mtime
/// (12 bytes: size and hash-based pycs never count as up to date).
fn up_to_date(meta: &fs::Metadata, cfiles: &[Vec<u8>], ctx: &Context) -> bool {
    let mut expect = [0u8; 12];
    expect[..4].copy_from_slice(&ctx.engine.magic());
    expect[8..].copy_from_slice(&(mtime_seconds(meta) as u32).to_le_bytes());
    cfiles.iter().all(|cfile| {
        let mut actual = [0u8; 12];
        fs::File::open(as_path(cfile))
            .and_then(|mut file| file.read_exact(&mut actual))
            .is_ok()
            && actual == expect
    })
}

/// importlib's `_write_atomic`: a new file beside the destination, created with the source's
/// mode plus owner-write (masked to 0o666, then the umask), renamed into place.
fn write_atomic(cfile: &[u8], bytes: &[u8], source_mode: u32) -> Result<(), Failure> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mode = crate::pyc::creation_mode(Some(source_mode));
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = [cfile, format!(".{}.{n}", std::process::id()).as_bytes()].concat();
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(as_path(&temp));
        let mut file = match file {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Failure::Os(os_error(&e, &temp, None))),
        };
        let written = io::Write::write_all(&mut file, bytes).and_then(|()| {
            drop(file);
            fs::rename(as_path(&temp), as_path(cfile))
        });
        return written.map_err(|e| {
            let _ = fs::remove_file(as_path(&temp));
            Failure::Os(os_error(&e, &temp, None))
        });
    }
}

/// `Path(limit).resolve() in Path(fullname).resolve().parents`.
fn is_strict_ancestor(ancestor: &[u8], path: &[u8]) -> bool {
    if ancestor == b"/" {
        return path != b"/";
    }
    path.strip_prefix(ancestor)
        .is_some_and(|rest| rest.first() == Some(&b'/'))
}

/// `os.path.realpath(path)` (non-strict): absolute, symlinks resolved as far as they exist,
/// the rest joined lexically.
pub fn realpath(path: &[u8]) -> Vec<u8> {
    let mut resolved: Vec<u8> = if path.starts_with(b"/") {
        Vec::new()
    } else {
        std::env::current_dir()
            .map(|dir| pypath::bytes(dir.as_os_str()).to_vec())
            .unwrap_or_default()
    };
    let mut pending: Vec<Vec<u8>> = path
        .split(|&b| b == b'/')
        .rev()
        .map(<[u8]>::to_vec)
        .collect();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        match &part[..] {
            b"" | b"." => {}
            b".." => {
                let cut = resolved.iter().rposition(|&b| b == b'/').unwrap_or(0);
                resolved.truncate(cut);
            }
            _ => {
                let mut next = resolved.clone();
                next.push(b'/');
                next.extend_from_slice(&part);
                match fs::read_link(as_path(&next)) {
                    Ok(target) if links < 40 => {
                        links += 1;
                        let target = pypath::bytes(target.as_os_str());
                        if target.starts_with(b"/") {
                            resolved.clear();
                        }
                        pending.extend(target.split(|&b| b == b'/').rev().map(<[u8]>::to_vec));
                    }
                    _ => resolved = next,
                }
            }
        }
    }
    if resolved.is_empty() {
        resolved.push(b'/');
    }
    resolved
}
