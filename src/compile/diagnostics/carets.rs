//! Where CPython's parser points for errors that rustpython locates differently.
//!
//! The rules were read off CPython 3.14.2's output (tests/fixtures/broken/missing_comma*.py,
//! positional_after_keyword*.py, keyword_after_expression.py; tests/diagnostics.rs compares):
//!
//! - "invalid syntax. Perhaps you forgot a comma?" comes from the grammar rule
//!   `a=disjunction b=expression_without_invalid` inside brackets and covers `a` to `b`
//!   (`[f(1) + 2 3]` underlines `f(1) + 2 3`); rustpython underlines only `b` in collections.
//!   When the second word is a keyword that cannot start an expression (`(abc def)`) the rule
//!   does not match and CPython reports plain "invalid syntax" at that keyword.
//! - "positional argument follows keyword argument" points at the call's closing parenthesis;
//!   rustpython points at the positional argument.
//! - "'(' was never closed": see [`invalid_syntax_before_the_end`].

use ruff_source_file::{LineIndex, OneIndexed, PositionEncoding, SourceLocation};
use ruff_text_size::{Ranged, TextRange, TextSize};
use rustpython_compiler::ast::{self, visitor::Visitor};
use rustpython_compiler::parser;

use super::brackets;
use super::exception::PyException;

/// Keywords that cannot start an expression, so `a <keyword>` is no missing comma.
const STATEMENT_KEYWORDS: &[&str] = &[
    "and", "as", "assert", "break", "class", "continue", "def", "del", "elif", "else", "except",
    "finally", "for", "from", "global", "if", "import", "in", "is", "nonlocal", "or", "pass",
    "raise", "return", "try", "while", "with",
];

/// Applies the rule for the message of `exception`, if it has one.
pub fn correct(exception: &mut PyException, text: &str) {
    let rule: fn(&mut PyException, &Source) = if exception.kind == "SyntaxError"
        && exception.msg.ends_with("' was never closed")
    {
        invalid_syntax_before_the_end
    } else {
        match exception.msg.as_str() {
            "invalid syntax. Perhaps you forgot a comma?" => missing_comma,
            "positional argument follows keyword argument" => positional_after_keyword,
            msg if msg.starts_with("Missing parentheses in call to '") => legacy_statement,
            msg if msg.ends_with("prefixes are incompatible") => string_prefix,
            "f-string: lambda expressions are not allowed without parentheses"
            | "t-string: lambda expressions are not allowed without parentheses" => lambda_to_colon,
            _ => return,
        }
    };
    rule(exception, &Source::new(text));
}

/// The decoded source and its line index, built once per correction.
pub(super) struct Source<'a> {
    text: &'a str,
    lines: LineIndex,
}

/// rustpython says "'(' was never closed" whenever a bracket is still open at the end of the
/// input. CPython says so when its parser ran into the end, or when it stopped at a token on a
/// line after the bracket's (the check in `_PyPegen_tokenize_full_source_to_check_for_errors`);
/// when it stops on the bracket's own line, as in `def f(:`, it reports "invalid syntax" at
/// that token. So we ask the parser where it stopped.
fn invalid_syntax_before_the_end(exception: &mut PyException, source: &Source) {
    let text = source.text;
    let Err(error) = parser::parse_module(text) else {
        return;
    };
    let (start, end) = (
        error.location.start().to_usize(),
        error.location.end().to_usize(),
    );
    if start >= text.len() || text[start..].trim().is_empty() {
        return;
    }
    let (start, end) = next_token_inside_brackets(text, start, end);
    let (lineno, _) = source.position(start);
    if exception
        .lineno
        .is_none_or(|bracket_line| lineno > bracket_line)
    {
        return;
    }
    exception.msg = "invalid syntax".to_owned();
    let end = end.max(start + 1).min(text.len());
    source.locate(
        exception,
        TextRange::new(TextSize::new(start as u32), TextSize::new(end as u32)),
    );
}

fn missing_comma(exception: &mut PyException, source: &Source) {
    let text = source.text;
    let parsed = parser::parse_unchecked_source(text, ast::PySourceType::Python);
    let Some(error) = parsed.errors().first() else {
        return;
    };
    let second = error.location.start();
    if let Some((a, b_end)) = fstring_field_comma(text, second.to_usize()) {
        source.locate(
            exception,
            TextRange::new(TextSize::new(a as u32), TextSize::new(b_end as u32)),
        );
        return;
    }
    let word: String = text[second.to_usize()..]
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if STATEMENT_KEYWORDS.contains(&word.as_str()) {
        exception.msg = "invalid syntax".to_owned();
        let end = second + TextSize::of(word.as_str());
        source.locate(exception, TextRange::new(second, end));
        return;
    }
    let mut ranges = Ranges::default();
    ranges.visit_body(&parsed.syntax().body);
    let before = TextSize::new(text[..second.to_usize()].trim_end().len() as u32);
    // Adjacent strings are one atom (`'a'  # c` newline `'b'`), which ruff's recovered tree
    // may have split; CPython's `a` starts at the first of them.
    let first_start = match (
        ranges.starting_before(before),
        string_run_start(parsed.tokens(), second),
    ) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let second_end = ranges.ending_after(second);
    // `a` is a disjunction: it starts no earlier than the innermost bracket's contents and
    // the last `,`, `:` or `=` at that level (`p[i:j+1 1]` underlines `j+1 1`).
    let floor = innermost_bracket(&text[..second.to_usize()]).map(|open| {
        let words = words_at_level(text, open + 1, before.to_usize());
        words
            .iter()
            .rposition(|(_, w)| matches!(w.as_str(), "," | ":" | "=" | ":=" | "in" | "if" | "else"))
            .and_then(|n| words.get(n + 1))
            .map_or(open + 1, |(at, _)| *at)
    });
    let first_start = match (first_start, floor) {
        (Some(start), Some(floor)) if start.to_usize() < floor => Some(TextSize::new(floor as u32)),
        (start, _) => start,
    };
    if let (Some(start), Some(end)) = (first_start, second_end) {
        source.locate(exception, TextRange::new(start, end));
    }
}

/// `print x, y` / `exec code in ns`: CPython's `invalid_legacy_expression` covers the name
/// and the expressions after it, up to the end of the statement (a comment, `;` or the end of
/// the line; CPython 3.14.2: `print "hello"` is `^^^^^^^^^^^^^`).
fn legacy_statement(exception: &mut PyException, source: &Source) {
    let (Some(line), Some(column)) = (exception.lineno, exception.offset) else {
        return;
    };
    let Some(at) = source.byte_offset(line, column) else {
        return;
    };
    let start = at.to_usize();
    let bytes = source.text.as_bytes();
    let (mut i, mut depth, mut end) = (start, 0usize, start);
    while i < bytes.len() {
        match bytes[i] {
            b'#' if depth == 0 => break,
            b'\n' | b';' if depth == 0 => break,
            quote @ (b'\'' | b'"') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                end = i.min(bytes.len());
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if !bytes[i].is_ascii_whitespace() {
            end = i + 1;
        }
        i += 1;
    }
    let end = end.min(bytes.len());
    if end > start && source.text.is_char_boundary(end) {
        source.locate(exception, TextRange::new(at, TextSize::new(end as u32)));
    }
}

/// `'u' and 'r' prefixes are incompatible`: the tokenizer's range covers every prefix letter
/// (CPython 3.14.2: `UR'x'` is `^^`).
fn string_prefix(exception: &mut PyException, source: &Source) {
    let (Some(line), Some(column)) = (exception.lineno, exception.offset) else {
        return;
    };
    let Some(at) = source.byte_offset(line, column) else {
        return;
    };
    let letters = source.text[at.to_usize()..]
        .bytes()
        .take_while(u8::is_ascii_alphabetic)
        .count();
    if letters > 1 {
        exception.end_lineno = Some(line);
        exception.end_offset = Some(column + letters);
    }
}

/// CPython's range for a lambda in an f-string replacement field runs from `lambda` through
/// its `:` (RANGE('lambda', ':')).
fn lambda_to_colon(exception: &mut PyException, source: &Source) {
    let (Some(line), Some(column)) = (exception.lineno, exception.offset) else {
        return;
    };
    let Some(at) = source.byte_offset(line, column) else {
        return;
    };
    let rest = &source.text[at.to_usize()..];
    if !rest.starts_with("lambda") {
        return;
    }
    let words = words_at_level(
        source.text,
        at.to_usize(),
        at.to_usize() + rest.find('\n').unwrap_or(rest.len()),
    );
    if let Some((colon, _)) = words.iter().find(|(_, w)| w == ":") {
        source.locate(
            exception,
            TextRange::new(at, TextSize::new(*colon as u32 + 1)),
        );
    }
}

/// Where CPython 3.15.0rc1 (the oracle) locates differently from 3.14, as the mutation suite
/// shows: an unterminated string is located at its prefix (`b"x` at the `b`), and a missing
/// comma after adjacent strings covers only the last of them.
pub(super) fn for_python_315(exception: &mut PyException, text: &str) {
    let source = Source::new(text);
    let (Some(line), Some(column)) = (exception.lineno, exception.offset) else {
        return;
    };
    let Some(at) = source.byte_offset(line, column).map(|at| at.to_usize()) else {
        return;
    };
    if exception.msg.starts_with("unterminated ") && exception.msg.contains("string literal") {
        let prefix = text[..at]
            .bytes()
            .rev()
            .take_while(u8::is_ascii_alphabetic)
            .count();
        if (1..=2).contains(&prefix) {
            exception.offset = Some(column - prefix);
            exception.end_offset = exception.end_offset.map(|end| end - prefix);
        }
    } else if exception.msg == "invalid syntax. Perhaps you forgot a comma?"
        && exception.end_lineno.is_some_and(|end| end > line)
        && text[at..].starts_with(['\'', '"'])
    {
        let parsed = parser::parse_unchecked_source(text, ast::PySourceType::Python);
        let Some(second) = parsed.errors().first().map(|e| e.location.start()) else {
            return;
        };
        use ruff_python_ast::token::TokenKind;
        let last_string = parsed
            .tokens()
            .iter()
            .rev()
            .skip_while(|t| t.start() >= second)
            .find(|t| !matches!(t.kind(), TokenKind::Comment | TokenKind::NonLogicalNewline));
        if let Some(token) = last_string.filter(|t| t.kind() == TokenKind::String) {
            source.locate(exception, token.range());
        }
    }
}

/// The start of the run of adjacent plain string tokens right before `next` (comments and
/// newlines inside brackets between them), if the token before `next` is a string.
fn string_run_start(tokens: &[ruff_python_ast::token::Token], next: TextSize) -> Option<TextSize> {
    use ruff_python_ast::token::TokenKind;
    let mut start = None;
    for token in tokens.iter().rev().skip_while(|t| t.start() >= next) {
        match token.kind() {
            TokenKind::String => start = Some(token.start()),
            TokenKind::Comment | TokenKind::NonLogicalNewline => {}
            _ => break,
        }
    }
    start
}

fn positional_after_keyword(exception: &mut PyException, source: &Source) {
    let text = source.text;
    let (Some(line), Some(column)) = (exception.lineno, exception.offset) else {
        return;
    };
    let Some(at) = source.byte_offset(line, column) else {
        return;
    };
    let parsed = parser::parse_unchecked_source(text, ast::PySourceType::Python);
    let mut ranges = Ranges::default();
    ranges.visit_body(&parsed.syntax().body);
    let call = ranges
        .calls
        .iter()
        // The call whose arguments hold the argument: not a call that starts with it.
        .filter(|call| call.start() < at && call.contains(at))
        .min_by_key(|call| call.len());
    if let Some(call) = call
        && text[..call.end().to_usize()].ends_with(')')
    {
        let close = call.end() - TextSize::of(')');
        source.locate(exception, TextRange::new(close, call.end()));
    }
}

/// Every expression's range, and every call's.
#[derive(Default)]
struct Ranges {
    expressions: Vec<TextRange>,
    calls: Vec<TextRange>,
}

impl Ranges {
    /// The start of the longest expression that ends exactly at `end`.
    fn starting_before(&self, end: TextSize) -> Option<TextSize> {
        self.expressions
            .iter()
            .filter(|range| range.end() == end)
            .map(|range| range.start())
            .min()
    }

    /// The end of the longest expression that starts exactly at `start`.
    fn ending_after(&self, start: TextSize) -> Option<TextSize> {
        self.expressions
            .iter()
            .filter(|range| range.start() == start)
            .map(|range| range.end())
            .max()
    }
}

impl<'a> Visitor<'a> for Ranges {
    fn visit_expr(&mut self, expr: &'a ast::Expr) {
        self.expressions.push(expr.range());
        if let ast::Expr::Call(call) = expr {
            self.calls.push(call.range());
        }
        ast::visitor::walk_expr(self, expr);
    }
}

/// ruff reports some errors at the gap after the last good token; inside brackets newlines
/// are no tokens, so CPython's stopping token is the next real one (outside brackets the
/// NEWLINE token itself is where CPython stops, and the gap is right).
pub(super) fn next_token_inside_brackets(text: &str, start: usize, end: usize) -> (usize, usize) {
    let gap = |c: char| c.is_whitespace() || c == '#' || c == '\\';
    if !text[start..].starts_with(gap) || bracket_depth(&text[..start]) == 0 {
        return (start, end);
    }
    let mut i = start;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\x0c' | b'\r' | b'\n' | b'\\' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            _ => break,
        }
    }
    if i >= bytes.len() {
        return (start, end);
    }
    let word = text[i..]
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(text.len() - i, |(n, _)| n);
    let len = if word > 0 {
        word
    } else {
        text[i..].chars().next().map_or(1, char::len_utf8)
    };
    (i, i + len)
}

/// Open brackets at the end of `text`, skipping strings and comments (roughly: enough to
/// tell whether a position is inside brackets).
pub(super) fn bracket_depth(text: &str) -> usize {
    open_brackets(text).len()
}

/// The position of the innermost bracket still open at the end of `text`.
pub(super) fn innermost_bracket(text: &str) -> Option<usize> {
    open_brackets(text).last().copied()
}

/// Positions of the brackets open at the end of `text`.
fn open_brackets(text: &str) -> Vec<usize> {
    brackets::scan(text, text.len()).open
}

/// CPython's check after a parser error: it tokenizes the rest of the file, and when it
/// reaches the end inside a bracket opened on a line before the one it stopped at, the error
/// becomes `'(' was never closed` at that bracket (`_PyPegen_tokenize_full_source_to_check_
/// for_errors`). A wrong closing bracket on the way would be a tokenizer error instead:
/// then nothing is changed here.
pub(super) fn never_closed(exception: &mut PyException, text: &str) {
    let Some(stop_line) = exception.lineno else {
        return;
    };
    let scanned = brackets::scan(text, text.len());
    let Some(&bracket) = scanned.open.last() else {
        return;
    };
    if !scanned.mismatched.is_empty() {
        return;
    }
    let source = Source::new(text);
    let (line, column) = source.position(bracket);
    if stop_line <= line {
        return;
    }
    exception.msg = format!(
        "'{}' was never closed",
        char::from(text.as_bytes()[bracket])
    );
    exception.lineno = Some(line);
    exception.offset = Some(column);
    exception.end_lineno = Some(line);
    exception.end_offset = Some(0);
    exception.text = text.split_inclusive('\n').nth(line - 1).map(str::to_owned);
}

/// Rough tokens of `text[start..end]` outside nested brackets (whose contents are skipped,
/// the brackets kept as one-character words), with their byte positions.
pub(super) fn words_at_level(text: &str, start: usize, end: usize) -> Vec<(usize, String)> {
    let bytes = text.as_bytes();
    let mut words = Vec::new();
    let mut i = start;
    while i < end {
        let b = bytes[i];
        if b.is_ascii_whitespace() || b == b'\\' {
            i += 1;
        } else if b == b'#' {
            while i < end && bytes[i] != b'\n' {
                i += 1;
            }
        } else if b == b'\'' || b == b'"' {
            let from = i;
            i += 1;
            while i < end && bytes[i] != b && bytes[i] != b'\n' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(end);
            words.push((from, text[from..i].to_owned()));
        } else if b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80 {
            let from = i;
            while i < end
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
            {
                i += 1;
            }
            if i < end && (bytes[i] == b'\'' || bytes[i] == b'"') && i - from <= 3 {
                continue; // a string prefix: the string follows as its own word
            }
            words.push((from, text[from..i].to_owned()));
        } else if matches!(b, b'(' | b'[' | b'{') {
            let from = i;
            let mut depth = 0usize;
            while i < end {
                match bytes[i] {
                    b'(' | b'[' | b'{' => depth += 1,
                    b')' | b']' | b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            i = (i + 1).min(end);
            words.push((from, text[from..i].to_owned()));
        } else {
            let from = i;
            let two = text.get(i..i + 2).unwrap_or("");
            let len = if ["**", "//", "<<", ">>", "==", "!=", "<=", ">=", "->", ":="].contains(&two)
            {
                2
            } else {
                1
            };
            i += len;
            words.push((from, text[from..i.min(end)].to_owned()));
        }
    }
    words
}

/// Hard keywords that cannot start an expression, or end one.
pub(super) const KEYWORDS: &[&str] = &[
    "and", "as", "assert", "async", "break", "class", "continue", "def", "del", "elif", "else",
    "except", "finally", "for", "from", "global", "if", "import", "in", "is", "nonlocal", "or",
    "pass", "raise", "return", "try", "while", "with", "yield", "await", "lambda", "not",
];

/// For a simple name or number `b` right after another one `a` that opens a replacement
/// field (`{a b`), the range from `a` to the end of `b`.
pub(super) fn fstring_field_comma(text: &str, b: usize) -> Option<(usize, usize)> {
    let word_len = |s: &str| {
        s.char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
            .map_or(s.len(), |(n, _)| n)
    };
    let b_len = word_len(&text[b..]);
    let before = text[..b].trim_end_matches([' ', '\t']);
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    let open = before[line_start..].rfind('{').map(|n| line_start + n)?;
    let a = open + 1 + (before[open + 1..].len() - before[open + 1..].trim_start().len());
    let simple = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
            && !KEYWORDS.contains(&w)
    };
    let quoted = before[line_start..open].contains(['\'', '"']);
    (b_len > 0 && quoted && simple(&before[a..]) && simple(&text[b..b + b_len]))
        .then_some((a, b + b_len))
}

impl<'a> Source<'a> {
    /// The text comes from serc's decoder: BOM removed and newlines normalised, so ruff's line
    /// index counts lines as CPython does.
    pub(super) fn new(text: &'a str) -> Self {
        Source {
            text,
            lines: LineIndex::from_source_text(text),
        }
    }

    /// Points `exception` at `range`: 1-based line and character columns, and the range's
    /// first line as the source line shown.
    pub(super) fn locate(&self, exception: &mut PyException, range: TextRange) {
        let (line, column) = self.position(range.start().to_usize());
        let end = range.end().to_usize();
        // A range that ends with a line's '\n' (a NEWLINE token) ends on that line.
        let (end_line, end_column) = if end > 0 && self.text.as_bytes().get(end - 1) == Some(&b'\n')
        {
            let (l, c) = self.position(end - 1);
            (l, c + 1)
        } else {
            self.position(end)
        };
        exception.lineno = Some(line);
        exception.offset = Some(column);
        exception.end_lineno = Some(end_line);
        exception.end_offset = Some(end_column);
        exception.text = self
            .text
            .split_inclusive('\n')
            .nth(line - 1)
            .map(str::to_owned);
    }

    pub(super) fn text_len(&self) -> usize {
        self.text.len()
    }

    pub(super) fn text(&self) -> &'a str {
        self.text
    }

    /// The 1-based line and character column of a byte offset.
    pub(super) fn position(&self, offset: usize) -> (usize, usize) {
        let at = self
            .lines
            .line_column(TextSize::new(offset as u32), self.text);
        (at.line.get(), at.column.get())
    }

    /// The byte offset of a 1-based line and character column.
    pub(super) fn byte_offset(&self, line: usize, column: usize) -> Option<TextSize> {
        let location = SourceLocation {
            line: OneIndexed::new(line)?,
            character_offset: OneIndexed::new(column)?,
        };
        Some(
            self.lines
                .offset(location, self.text, PositionEncoding::Utf32),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters() {
        let text = "é = 1\nab(c)\n";
        let source = Source::new(text);
        assert_eq!(source.position(0), (1, 1));
        assert_eq!(source.position("é = 1\na".len()), (2, 2));
        assert_eq!(source.byte_offset(2, 2), Some(TextSize::new(8)));
        assert_eq!(source.byte_offset(1, 3), Some(TextSize::new(3)));
    }
}
