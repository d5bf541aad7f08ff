//! The directory walk of `compile_dir`: which files are considered, in which order, and the
//! `Listing ...` / `Can't list ...` lines between them.
//!
//! Entries are visited in the order CPython's generator yields them (names sorted by code
//! point, `__pycache__` skipped, symlinked directories neither listed nor recursed into), so
//! the printed output can be replayed in that order however the compiles are scheduled.
//! The entry's type comes from `readdir` (`d_type`): only symlinks cost a `stat`.

use std::fs;
use std::os::unix::ffi::OsStrExt;

use super::output::py_repr;
use crate::pypath;

/// One step of the walk, in output order.
#[derive(Debug)]
pub enum Step {
    /// A line compileall prints while walking (`Listing '...'...`, `Can't list '...'`).
    Line(String),
    /// A path handed to `compile_file`, with the index of the destination it came from.
    File { path: Vec<u8>, dest: usize },
}

/// `_walk_dir(dir, maxlevels, quiet)`, appending to `steps`.
pub fn walk_dir(dir: &[u8], maxlevels: i64, quiet: u8, dest: usize, steps: &mut Vec<Step>) {
    if quiet == 0 {
        steps.push(Step::Line(format!("Listing {}...", py_repr(dir))));
    }
    let entries = match fs::read_dir(pypath::as_path(dir)) {
        Ok(entries) => entries,
        Err(_) => {
            if quiet < 2 {
                steps.push(Step::Line(format!("Can't list {}", py_repr(dir))));
            }
            return;
        }
    };
    // An error part-way through listing: os.listdir raises, so nothing of this directory.
    let mut names = Vec::new();
    for entry in entries {
        let Ok(entry) = entry else {
            if quiet < 2 {
                steps.push(Step::Line(format!("Can't list {}", py_repr(dir))));
            }
            return;
        };
        let kind = entry.file_type().ok();
        names.push((entry.file_name().as_bytes().to_vec(), kind));
    }
    sort_like_python(&mut names);
    for (name, kind) in names {
        if name == b"__pycache__" {
            continue;
        }
        let fullname = pypath::join(dir, [&name[..]]);
        // `os.path.isdir` follows symlinks; a symlinked directory is not recursed into.
        let (is_dir, is_link) = match kind {
            Some(kind) if kind.is_symlink() => {
                let target_is_dir = fs::metadata(pypath::as_path(&fullname))
                    .map(|meta| meta.is_dir())
                    .unwrap_or(false);
                (target_is_dir, true)
            }
            Some(kind) => (kind.is_dir(), false),
            None => (
                fs::metadata(pypath::as_path(&fullname)).is_ok_and(|meta| meta.is_dir()),
                false,
            ),
        };
        if !is_dir {
            steps.push(Step::File {
                path: fullname,
                dest,
            });
        } else if maxlevels > 0 && !is_link {
            walk_dir(&fullname, maxlevels - 1, quiet, dest, steps);
        }
    }
}

/// `names.sort()` on the `str` names: by code point. UTF-8 byte order is code point order;
/// undecodable bytes (U+DC80–U+DCFF once decoded) need the decoded key.
fn sort_like_python<T>(names: &mut [(Vec<u8>, T)]) {
    if names
        .iter()
        .all(|(name, _)| std::str::from_utf8(name).is_ok())
    {
        names.sort_by(|a, b| a.0.cmp(&b.0));
        return;
    }
    names.sort_by_cached_key(|(name, _)| {
        let mut key = Vec::with_capacity(name.len());
        for chunk in name.utf8_chunks() {
            key.extend(chunk.valid().chars().map(u32::from));
            key.extend(chunk.invalid().iter().map(|&b| 0xdc00 + u32::from(b)));
        }
        key
    });
}
