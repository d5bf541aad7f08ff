//! CPython's tokenizer checks of indentation that the engines do not (all) make: ambiguous
//! tabs, dedents to no enclosing level, and the 100-level limit.
//!
//! The tokenizer measures every indentation twice, with tabs to multiples of 8 and with tabs
//! counting 1; when the two measures disagree about whether a line is indented more, less or
//! the same as its block, the file depends on the tab size and CPython raises
//! `TabError: inconsistent use of tabs and spaces in indentation`. rustpython reports such
//! files as some other indentation error, so the diagnostics layer asks this module first.

/// An indentation error that the tokenizer raises and rustpython does not.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Problem {
    /// `TabError: inconsistent use of tabs and spaces in indentation`.
    AmbiguousTabs,
    /// `IndentationError: too many levels of indentation` (more than 99 nested blocks).
    TooDeep,
    /// `IndentationError: unindent does not match any outer indentation level`: a dedent to
    /// a column no enclosing block starts at (ruff's lexer lets some of these through when
    /// tabs are involved).
    Dedent,
}

impl Problem {
    pub fn kind(self) -> &'static str {
        match self {
            Self::AmbiguousTabs => "TabError",
            Self::TooDeep | Self::Dedent => "IndentationError",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::AmbiguousTabs => "inconsistent use of tabs and spaces in indentation",
            Self::TooDeep => "too many levels of indentation",
            Self::Dedent => "unindent does not match any outer indentation level",
        }
    }
}

/// The tokenizer's indentation stack holds at most this many levels (MAXINDENT).
const MAX_INDENT: usize = 100;

/// The 1-based line of the first ambiguous tab, if any (other problems ignored).
#[cfg(test)]
fn first_tab_error(text: &str) -> Option<usize> {
    match first_problem(text) {
        Some((line, Problem::AmbiguousTabs)) => Some(line),
        _ => None,
    }
}

/// The first indentation problem of a file an engine accepted.
///
/// Without tabs or form feeds in indentation both measures
/// agree and the engines' lexers made the remaining checks, so most files end here after
/// one vectorised search.
pub fn first_problem_in_accepted(text: &str) -> Option<(usize, Problem)> {
    if !tab_or_form_feed_in_indentation(text.as_bytes()) {
        return None;
    }
    first_problem(text)
}

/// Whether a tab or form feed occurs in some line's leading whitespace.
fn tab_or_form_feed_in_indentation(bytes: &[u8]) -> bool {
    memchr::memchr2_iter(b'\t', b'\x0c', bytes).any(|at| {
        bytes[..at]
            .iter()
            .rev()
            .take_while(|&&b| b != b'\n')
            .all(|&b| matches!(b, b' ' | b'\t' | b'\x0c'))
    })
}

/// The first indentation problem of `text` and its 1-based line, if any.
pub fn first_problem(text: &str) -> Option<(usize, Problem)> {
    const TAB_SIZE: usize = 8;
    let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
    let mut brackets = 0usize;
    let mut open_string: Option<OpenString> = None;
    let mut continued = false;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let at_line_start = brackets == 0 && open_string.is_none() && !continued;
        let mut rest = line;
        if at_line_start {
            let (mut col, mut alt) = (0, 0);
            let mut chars = line.char_indices();
            let body_start = loop {
                match chars.next() {
                    Some((_, ' ')) => {
                        col += 1;
                        alt += 1;
                    }
                    Some((_, '\t')) => {
                        col = (col / TAB_SIZE + 1) * TAB_SIZE;
                        alt += 1;
                    }
                    Some((_, '\x0c')) => {
                        col = 0;
                        alt = 0;
                    }
                    Some((i, _)) => break i,
                    None => break line.len(),
                }
            };
            rest = &line[body_start..];
            let blank = rest.is_empty() || rest.starts_with(['#', '\n', '\r']);
            if !blank {
                let &(top, alt_top) = stack.last().expect("the stack keeps its base");
                let tabs = Some((index + 1, Problem::AmbiguousTabs));
                if col == top {
                    if alt != alt_top {
                        return tabs;
                    }
                } else if col > top {
                    if stack.len() >= MAX_INDENT {
                        return Some((index + 1, Problem::TooDeep));
                    }
                    if alt <= alt_top {
                        return tabs;
                    }
                    stack.push((col, alt));
                } else {
                    while stack.len() > 1 && col < stack.last().expect("non-empty").0 {
                        stack.pop();
                    }
                    let &(top, alt_top) = stack.last().expect("the stack keeps its base");
                    if col != top {
                        return Some((index + 1, Problem::Dedent));
                    }
                    if alt != alt_top {
                        return tabs;
                    }
                }
            }
        }
        continued = scan_line(rest, &mut brackets, &mut open_string);
    }
    None
}

/// An open string literal: its quote byte and whether it is triple-quoted.
type OpenString = (u8, bool);

/// Follows brackets and strings through one line; returns whether it ends with a backslash
/// continuation. Works on bytes: every byte it looks for is ASCII.
fn scan_line(line: &str, brackets: &mut usize, open_string: &mut Option<OpenString>) -> bool {
    let bytes = line.as_bytes();
    let closes = |i: usize, (quote, triple): OpenString| {
        let len = if triple { 3 } else { 1 };
        bytes.len() >= i + len && bytes[i..i + len].iter().all(|&b| b == quote)
    };
    let mut i = 0;
    while i < bytes.len() {
        if let Some(string) = *open_string {
            if bytes[i] == b'\\' {
                i += 2;
                continue;
            }
            if closes(i, string) {
                i += if string.1 { 3 } else { 1 };
                *open_string = None;
                continue;
            }
            if bytes[i] == b'\n' && !string.1 {
                *open_string = None; // an unterminated string: the parser reports it
            }
            i += 1;
            continue;
        }
        match bytes[i] {
            b'#' => return false,
            b'\\' if bytes[i + 1..].iter().all(|&b| b == b'\n' || b == b'\r') => return true,
            b'(' | b'[' | b'{' => *brackets += 1,
            b')' | b']' | b'}' => *brackets = brackets.saturating_sub(1),
            quote @ (b'\'' | b'"') => {
                let triple = closes(i, (quote, true));
                *open_string = Some((quote, triple));
                i += if triple { 3 } else { 1 };
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::first_tab_error;

    /// CPython 3.14.2: `Sorry: TabError: inconsistent use of tabs and spaces in indentation
    /// (tab_error.py, line 3)` for tests/fixtures/broken/tab_error.py.
    #[test]
    fn spaces_then_tab_at_the_same_depth() {
        assert_eq!(
            first_tab_error("if True:\n        a = 1\n\tb = 2\n"),
            Some(3)
        );
    }

    #[test]
    fn consistent_files_pass() {
        assert_eq!(
            first_tab_error("if x:\n\ty = (1,\n  2)\n\tz = '''\n  \t'''\n"),
            None
        );
        assert_eq!(
            first_tab_error("if x:\n    y\n# \t comment\n\n    z\n"),
            None
        );
        // A tab alone is 8 columns and 1 alternative column: consistent when used alone.
        assert_eq!(first_tab_error("if x:\n\tif y:\n\t\tz\n\tw\n"), None);
    }

    /// CPython 3.11 and 3.14: 99 nested blocks compile; the 100th level raises
    /// `Sorry: IndentationError: too many levels of indentation (blocks.py, line 101)`.
    #[test]
    fn at_most_99_nested_blocks() {
        let nested = |depth: usize| {
            let mut text: String = (0..depth)
                .map(|i| format!("{}if x:\n", " ".repeat(i)))
                .collect();
            text.push_str(&format!("{}pass\n", " ".repeat(depth)));
            text
        };
        assert_eq!(super::first_problem(&nested(99)), None);
        assert_eq!(
            super::first_problem(&nested(101)),
            Some((101, super::Problem::TooDeep))
        );
    }

    #[test]
    fn a_deeper_line_that_is_shallower_with_tabs_as_one() {
        // 4 spaces, then a tab (8 columns, but 1 alternative column): ambiguous.
        assert_eq!(first_tab_error("if x:\n    if y:\n\t  z\n"), Some(3));
    }
}
