//! compileall's words: Python's `repr()` of a path and `str()` of an `OSError`, so that every
//! printed line is the one CPython prints.

use std::fmt::Write as _;
use std::io;

/// `repr(name)` of the `str` Python decodes `bytes` to (`os.fsdecode`: UTF-8, undecodable
/// bytes as lone surrogates U+DC80–U+DCFF, which `repr` escapes as `\udcXX`).
pub fn py_repr(bytes: &[u8]) -> String {
    let mut chars: Vec<Result<char, u8>> = Vec::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        chars.extend(chunk.valid().chars().map(Ok));
        chars.extend(chunk.invalid().iter().map(|&b| Err(b)));
    }
    let has = |c: char| chars.contains(&Ok(c));
    let quote = if has('\'') && !has('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push(quote);
    for c in chars {
        match c {
            Err(byte) => {
                let _ = write!(out, "\\udc{byte:02x}");
            }
            Ok(c) if c == quote || c == '\\' => {
                out.push('\\');
                out.push(c);
            }
            Ok('\t') => out.push_str("\\t"),
            Ok('\n') => out.push_str("\\n"),
            Ok('\r') => out.push_str("\\r"),
            Ok(c) if is_printable(c) => out.push(c),
            Ok(c) => {
                let code = u32::from(c);
                let _ = match code {
                    0..=0xff => write!(out, "\\x{code:02x}"),
                    0x100..=0xffff => write!(out, "\\u{code:04x}"),
                    _ => write!(out, "\\U{code:08x}"),
                };
            }
        }
    }
    out.push(quote);
    out
}

/// `str.isprintable()` for one character: ASCII exactly; beyond ASCII the separators,
/// format and private-use characters CPython escapes (unassigned code points are not
/// known here and print as themselves).
fn is_printable(c: char) -> bool {
    let code = u32::from(c);
    if code < 0x80 {
        return (0x20..0x7f).contains(&code);
    }
    !matches!(code,
        0x80..=0xa0 | 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x890..=0x891 | 0x8e2
        | 0x1680 | 0x180e | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x2064
        | 0x2066..=0x206f | 0x3000 | 0xd800..=0xf8ff | 0xfeff | 0xfff9..=0xfffb
        | 0x110bd | 0x110cd | 0x13430..=0x1343f | 0x1bca0..=0x1bca3 | 0x1d173..=0x1d17a
        | 0xe0001 | 0xe0020..=0xe007f | 0xf0000..)
}

/// `e.__class__.__name__ + ': ' + str(e)` for an `OSError` raised on `filename` (and, for
/// two-path calls such as `os.link`, `filename2`).
pub fn os_error(error: &io::Error, filename: &[u8], filename2: Option<&[u8]>) -> String {
    let Some(errno) = error.raw_os_error() else {
        return format!("OSError: {error}");
    };
    let class = match error.kind() {
        io::ErrorKind::NotFound => "FileNotFoundError",
        io::ErrorKind::PermissionDenied => "PermissionError",
        io::ErrorKind::AlreadyExists => "FileExistsError",
        io::ErrorKind::IsADirectory => "IsADirectoryError",
        io::ErrorKind::NotADirectory => "NotADirectoryError",
        io::ErrorKind::Interrupted => "InterruptedError",
        io::ErrorKind::TimedOut => "TimeoutError",
        io::ErrorKind::BrokenPipe => "BrokenPipeError",
        io::ErrorKind::WouldBlock => "BlockingIOError",
        _ => "OSError",
    };
    // Rust renders `strerror(errno) (os error N)`; Python `[Errno N] strerror: 'name'`.
    let text = io::Error::from_raw_os_error(errno).to_string();
    let strerror = text
        .strip_suffix(&format!(" (os error {errno})"))
        .unwrap_or(&text);
    let mut out = format!("{class}: [Errno {errno}] {strerror}: {}", py_repr(filename));
    if let Some(second) = filename2 {
        let _ = write!(out, " -> {}", py_repr(second));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values from CPython 3.13's `repr()` and `str(OSError)`.
    #[test]
    fn reprs_like_python() {
        assert_eq!(py_repr(b"tree/a.py"), "'tree/a.py'");
        assert_eq!(py_repr(b"it's"), "\"it's\"");
        assert_eq!(py_repr(b"'\""), "'\\'\"'");
        assert_eq!(py_repr(b"a\tb\\c\x01\x7f"), "'a\\tb\\\\c\\x01\\x7f'");
        assert_eq!(py_repr("é\u{a0}\u{200b}😀".as_bytes()), "'é\\xa0\\u200b😀'");
        assert_eq!(py_repr(b"bad\xff.py"), "'bad\\udcff.py'");
        let error = io::Error::from_raw_os_error(13);
        assert_eq!(
            os_error(&error, b"t/a.py", None),
            "PermissionError: [Errno 13] Permission denied: 't/a.py'"
        );
        let error = io::Error::from_raw_os_error(2);
        assert_eq!(
            os_error(&error, b"a", Some(b"b")),
            "FileNotFoundError: [Errno 2] No such file or directory: 'a' -> 'b'"
        );
    }
}
