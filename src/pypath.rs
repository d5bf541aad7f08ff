//! Path strings the way CPython's `posixpath` and `importlib` build them.
//!
//! compileall never normalises a path: the names it prints, records as `co_filename` and
//! writes to are string concatenations (`os.path.join`, `cache_from_source`, `+ 'c'`), so
//! `tree/`, `tree` and `./tree` give different but exact results. Paths are bytes (Unix), as
//! `os.fsencode` would give them back.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `os.path.join(a, *parts)`.
pub fn join<'a>(first: &[u8], rest: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut path = first.to_vec();
    for part in rest {
        if part.starts_with(b"/") {
            path = part.to_vec();
        } else {
            if !path.is_empty() && !path.ends_with(b"/") {
                path.push(b'/');
            }
            path.extend_from_slice(part);
        }
    }
    path
}

/// `os.path.basename`.
pub fn basename(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// `os.path.dirname`: the head, with trailing slashes removed unless it is all slashes.
pub fn dirname(path: &[u8]) -> &[u8] {
    let head = match path.iter().rposition(|&b| b == b'/') {
        Some(i) => &path[..=i],
        None => return b"",
    };
    let trimmed = head.len() - head.iter().rev().take_while(|&&b| b == b'/').count();
    if trimmed == 0 { head } else { &head[..trimmed] }
}

/// `importlib.util.cache_from_source(path, optimization=...)` for a cache tag such as
/// `cpython-314`; `level` 0 gives no `.opt-` part.
pub fn cache_from_source(path: &[u8], tag: &str, level: i64) -> Vec<u8> {
    // importlib's own split: at the last separator, without stripping.
    let (head, tail) = match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&b""[..], path),
    };
    let mut name = match tail.iter().rposition(|&b| b == b'.') {
        // `base if base else rest`, then the separator.
        Some(0) => [&tail[1..], b"."].concat(),
        Some(i) => tail[..=i].to_vec(),
        None => tail.to_vec(),
    };
    name.extend_from_slice(tag.as_bytes());
    if level != 0 {
        name.extend_from_slice(format!(".opt-{level}").as_bytes());
    }
    name.extend_from_slice(b".pyc");
    // importlib's `_path_join`: empty parts dropped, trailing separators stripped.
    let mut out = Vec::with_capacity(head.len() + name.len() + 13);
    for part in [head, b"__pycache__", &name] {
        if part.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(b'/');
        }
        let end = part.len() - part.iter().rev().take_while(|&&b| b == b'/').count();
        out.extend_from_slice(&part[..end]);
    }
    out
}

/// The bytes as a filesystem path.
pub fn as_path(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}

/// A path's bytes.
pub fn bytes(path: &OsStr) -> &[u8] {
    path.as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values from CPython 3.14's `os.path` and `importlib.util.cache_from_source`.
    #[test]
    fn matches_posixpath_and_importlib() {
        assert_eq!(join(b"tree", [&b"a.py"[..]]), b"tree/a.py");
        assert_eq!(join(b"tree/", [&b"a.py"[..]]), b"tree/a.py");
        assert_eq!(join(b"", [&b"a.py"[..]]), b"a.py");
        assert_eq!(join(b"x", [&b"/abs"[..], b"b"]), b"/abs/b");
        assert_eq!(join(b"a", [&b""[..]]), b"a/");
        assert_eq!(dirname(b"a/b//c"), b"a/b");
        assert_eq!(dirname(b"/c"), b"/");
        assert_eq!(dirname(b"c"), b"");
        assert_eq!(basename(b"a/b.py"), b"b.py");
        let tag = "cpython-314";
        assert_eq!(
            cache_from_source(b"t/a.py", tag, 0),
            b"t/__pycache__/a.cpython-314.pyc"
        );
        assert_eq!(
            cache_from_source(b"t//a.b.py", tag, 2),
            b"t/__pycache__/a.b.cpython-314.opt-2.pyc"
        );
        assert_eq!(
            cache_from_source(b"a.py", tag, 1),
            b"__pycache__/a.cpython-314.opt-1.pyc"
        );
        assert_eq!(
            cache_from_source(b"t/.py", tag, 0),
            b"t/__pycache__/py.cpython-314.pyc"
        );
        assert_eq!(
            cache_from_source(b"/a.py", tag, 0),
            b"__pycache__/a.cpython-314.pyc"
        );
    }
}
