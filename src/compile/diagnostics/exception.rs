//! The exception CPython would raise for a rejected source, and how `py_compile` prints it.
//!
//! Its own module so that every rule that builds or adjusts one (carets, escapes, decoding)
//! imports this type and nothing that imports them back.

/// A SyntaxError-like exception as CPython would raise it, with 1-based positions.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct PyException {
    /// `SyntaxError`, `IndentationError`, `TabError`, `RecursionError`, ...
    pub kind: &'static str,
    pub msg: String,
    pub filename: Option<String>,
    pub lineno: Option<usize>,
    pub offset: Option<usize>,
    pub end_lineno: Option<usize>,
    pub end_offset: Option<usize>,
    /// The offending source line, as CPython stores it in `SyntaxError.text`.
    pub text: Option<String>,
    /// How the target's `traceback` lays out the caret line.
    pub layout: CaretLayout,
}

/// The caret line of `traceback.format_exception_only` for a SyntaxError, per CPython version.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum CaretLayout {
    /// 3.12: `end_offset` used as is (no clamping to the line, none for multi-line ranges).
    Py312,
    /// 3.13 and 3.14: clamped to the line; a multi-line range runs to the end of the line.
    #[default]
    Py314,
    /// 3.15: as 3.14, in display columns (wide characters two, format characters none,
    /// padding in spaces).
    Py315,
}

/// The columns CPython 3.15's traceback (`_str_width`) gives a character.
fn display_width(c: char) -> usize {
    use rustpython_unicode::Ucd;
    use rustpython_wtf8::CodePoint;
    if c.is_ascii() {
        return 1;
    }
    let ucd = Ucd::new(true);
    let point = CodePoint::from(c);
    if ucd.combining(point) != 0 || (ucd.category(point) == "Cf" && c != '\u{ad}') {
        return 0;
    }
    match ucd.east_asian_width(point) {
        "N" | "Na" | "H" | "A" => 1,
        _ => 2,
    }
}

impl PyException {
    pub(super) fn syntax(kind: &'static str, msg: impl Into<String>) -> Self {
        Self {
            kind,
            msg: msg.into(),
            ..Self::default()
        }
    }

    /// A SyntaxError located on a line only, as the tokenizer raises decoding errors (line 0:
    /// before any line was read).
    pub(super) fn at_line(filename: &str, line: usize, msg: impl Into<String>) -> Self {
        Self {
            filename: Some(filename.to_owned()),
            lineno: Some(line),
            ..Self::syntax("SyntaxError", msg)
        }
    }

    /// `str(PyCompileError)`: the traceback of exactly `SyntaxError`, `Sorry: ...` otherwise.
    pub fn py_compile_text(&self) -> String {
        if self.kind == "SyntaxError" {
            self.format_exception_only()
        } else {
            format!("Sorry: {}: {}", self.kind, self.str())
        }
    }

    /// `str(exc)`: for SyntaxError and subclasses it appends the file's basename and line.
    fn str(&self) -> String {
        if !matches!(self.kind, "SyntaxError" | "IndentationError" | "TabError") {
            return self.msg.clone();
        }
        let basename = self
            .filename
            .as_deref()
            .map(|name| name.rsplit('/').next().unwrap_or(name));
        match (basename, self.lineno) {
            (Some(file), Some(line)) => format!("{} ({file}, line {line})", self.msg),
            (Some(file), None) => format!("{} ({file})", self.msg),
            (None, Some(line)) => format!("{} (line {line})", self.msg),
            (None, None) => self.msg.clone(),
        }
    }

    /// `traceback.format_exception_only` for a SyntaxError, without colour.
    fn format_exception_only(&self) -> String {
        let mut out = String::new();
        let mut suffix = String::new();
        match (self.lineno, &self.filename) {
            (Some(line), file) => out.push_str(&format!(
                "  File \"{}\", line {line}\n",
                file.as_deref().unwrap_or("<string>")
            )),
            (None, Some(file)) => suffix = format!(" ({file})"),
            (None, None) => {}
        }
        if let Some(text) = &self.text {
            let rtext = text.trim_end_matches('\n');
            let ltext = rtext.trim_start_matches([' ', '\n', '\x0c']);
            let spaces = rtext.chars().count() - ltext.chars().count();
            out.push_str(&format!("    {ltext}\n"));
            if let Some(offset) = self.offset {
                let width = rtext.chars().count();
                let text_len = text.chars().count();
                let mut offset = offset;
                if self.layout == CaretLayout::Py312 {
                    let mut end = self.end_offset.filter(|&end| end != 0).unwrap_or(offset);
                    if end == offset {
                        end = offset + 1;
                    }
                    let colno = offset as isize - 1 - spaces as isize;
                    let end_colno = end as isize - 1 - spaces as isize;
                    if colno >= 0 {
                        let pad: String = ltext
                            .chars()
                            .take(colno as usize)
                            .map(|c| if c.is_whitespace() { c } else { ' ' })
                            .collect();
                        let carets = "^".repeat((end_colno - colno).max(0) as usize);
                        out.push_str(&format!("    {pad}{carets}\n"));
                    }
                    return self.finish(out, &suffix);
                }
                let mut end_offset = if self.lineno == self.end_lineno {
                    self.end_offset.filter(|&end| end != 0).unwrap_or(offset)
                } else {
                    width + 1
                };
                if offset > text_len {
                    offset = width + 1;
                }
                if end_offset > text_len {
                    end_offset = width + 1;
                }
                if offset >= end_offset {
                    end_offset = offset + 1;
                }
                let colno = offset as isize - 1 - spaces as isize;
                let end_colno = end_offset as isize - 1 - spaces as isize;
                if colno >= 0 {
                    let (pad, carets) = if self.layout == CaretLayout::Py315 {
                        let widths = |skip: usize, take: usize| -> usize {
                            ltext.chars().skip(skip).take(take).map(display_width).sum()
                        };
                        let count = (end_colno - colno).max(0) as usize;
                        let highlighted = ltext.chars().skip(colno as usize).take(count).count();
                        let carets = if highlighted > 0 {
                            widths(colno as usize, count)
                        } else {
                            count
                        };
                        (" ".repeat(widths(0, colno as usize)), carets)
                    } else {
                        let pad: String = ltext
                            .chars()
                            .take(colno as usize)
                            .map(|c| if c.is_whitespace() { c } else { ' ' })
                            .collect();
                        (pad, (end_colno - colno).max(0) as usize)
                    };
                    out.push_str(&format!("    {pad}{}\n", "^".repeat(carets)));
                }
            }
        }
        self.finish(out, &suffix)
    }

    /// The exception line that ends the traceback.
    fn finish(&self, mut out: String, suffix: &str) -> String {
        let msg = if self.msg.is_empty() {
            "<no detail available>"
        } else {
            &self.msg
        };
        out.push_str(&format!("{}: {msg}{suffix}\n", self.kind));
        out
    }
}
