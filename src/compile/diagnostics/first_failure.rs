//! Where CPython's parser first fails, and what it says there when no specialised rule applies.
//!
//! CPython parses twice: a first pass with the plain grammar, and on failure a second pass
//! with the `invalid_*` rules, whose messages are located where they match; when none
//! matches, the error is a plain `invalid syntax` at the furthest token the first pass read.
//! Either way the error sits where the parse stops: the first error of a parser without
//! recovery. rustpython finds its CPython-style messages partly by textual heuristics over
//! the whole source, which can fire on a valid line far from the real error (a bare `*,` in
//! some `def`), and otherwise reports ruff's own wording ("Simple statements must be
//! separated by newlines or semicolons", "Expected an identifier"), which CPython never
//! prints. So: when rustpython's message is not on the line where ruff's parser stops, or
//! is worded as CPython never words a message, the error becomes CPython's generic one at
//! the token where the parser stopped (`expected ':'` where a statement's header ends
//! without its colon, else `invalid syntax`).
//!
//! Tokenizer errors (strings, characters, numbers, brackets, indentation) are left alone:
//! CPython's tokenizer finds them wherever they are, even after a parser error (its
//! full-source check), so they need not be on the parser's line.

use ruff_text_size::{TextRange, TextSize};
use rustpython_compiler::parser;

use super::brackets;
use super::carets::{
    KEYWORDS, Source, fstring_field_comma, innermost_bracket, never_closed,
    next_token_inside_brackets, words_at_level,
};
use super::exception::PyException;

/// Messages of CPython's tokenizer, or located by rules that point away from the parser's
/// stopping token.
const TOKENIZER_MESSAGES: &[&str] = &[
    "unterminated ",
    "was never closed",
    "invalid character",
    "invalid non-printable character",
    "closing parenthesis",
    "unmatched ",
    "invalid decimal literal",
    "invalid hexadecimal literal",
    "invalid octal literal",
    "invalid binary literal",
    "invalid digit",
    "leading zeros",
    "unexpected character after line continuation",
    "unexpected EOF",
    "too many nested",
    "f-string",
    "t-string",
    "(unicode error)",
    "(value error)",
    "bytes can only contain",
    "prefixes are incompatible",
    "Non-UTF-8",
    "source code string cannot contain null bytes",
    "invalid imaginary literal",
    "cannot mix bytes and nonbytes literals",
];

/// CPython's messages that start with a capital letter (ruff's all do).
const CAPITALISED_CPYTHON: &[&str] = &[
    "Missing parentheses in call to",
    "Did you mean",
    "Generator expression must be parenthesized",
    "Function parameters cannot be parenthesized",
    "Lambda expression parameters cannot be parenthesized",
    "Cannot have two type comments",
    "Expected one or more names after 'import'",
];

/// Whether a tokenizer error later in the file replaces `exception` (CPython's full-source
/// check after a parser error): parser errors and compiler errors, and the indentation
/// errors of the grammar's block rules, but not tokenizer errors, nor `unexpected indent`
/// (decided before that check).
pub fn replaceable_by_tokenizer_error(exception: &PyException) -> bool {
    match exception.kind {
        "SyntaxError" => !TOKENIZER_MESSAGES.iter().any(|m| exception.msg.contains(m)),
        "IndentationError" => exception.msg.starts_with("expected an indented block"),
        _ => false,
    }
}

/// Whether CPython could print `msg` (as a SyntaxError's message).
fn cpython_wording(msg: &str) -> bool {
    !msg.contains('`')
        && (!msg.starts_with(|c: char| c.is_ascii_uppercase())
            || CAPITALISED_CPYTHON.iter().any(|m| msg.starts_with(m)))
}

/// Moves a parser error of `exception` to where the parse stops, with CPython's generic
/// wording, when rustpython's message is on another line or not CPython's.
pub fn relocate(exception: &mut PyException, text: &str) {
    if exception.kind == "IndentationError"
        && exception
            .msg
            .starts_with("expected an indented block after")
    {
        block_line(exception, text);
        return;
    }
    if exception.kind != "SyntaxError" {
        return;
    }
    let Some((error, start, end)) = stopping_error(text) else {
        return;
    };
    if start >= text.len() {
        return; // at the end of the input: the bracket and EOF rules decide
    }
    let (start, end) = next_token_inside_brackets(text, start, end);
    // `<>` is one token to CPython's tokenizer (the Barry-as-FLUFL spelling of `!=`).
    let (start, end) = if text[..start].ends_with('<') && text[start..].starts_with('>') {
        (start - 1, start + 1)
    } else {
        (start, end)
    };
    let source = Source::new(text);
    let (line, _) = source.position(start);
    if matches!(
        exception.msg.as_str(),
        "f-string: expecting '}'" | "t-string: expecting '}'"
    ) && fstring_missing_comma(exception, &source)
    {
        return;
    }
    let tokenizer = TOKENIZER_MESSAGES.iter().any(|m| exception.msg.contains(m));
    if matches!(error, parser::ParseErrorType::UnexpectedIndentation) {
        // The first pass stopped at an INDENT token: CPython's IndentationError, printed
        // without a caret, decided before any later tokenizer error or unclosed bracket
        // counts; only a tokenizer error met earlier in the file comes first.
        let earlier_tokenizer_error = tokenizer
            && !exception.msg.contains("was never closed")
            && exception.lineno.is_some_and(|own| own < line);
        if !earlier_tokenizer_error {
            *exception = PyException {
                kind: "IndentationError",
                msg: "unexpected indent".to_owned(),
                filename: exception.filename.take(),
                lineno: Some(line),
                ..PyException::default()
            };
        }
        return;
    }
    // rustpython's bracket messages come from a scan of its own that misreads some strings:
    // kept only where a bracket really closes wrongly.
    let bracket_message =
        exception.msg.starts_with("closing parenthesis") || exception.msg.starts_with("unmatched ");
    // An f-string error after the stop: CPython's parser failed before its tokenizer got
    // there, and its full-source check keeps the parser's error inside f-strings.
    let (_, stop_column) = source.position(start);
    let fstring_after_stop = (exception.msg.starts_with("f-string")
        || exception.msg.starts_with("t-string"))
        && (exception.lineno, exception.offset) > (Some(line), Some(stop_column));
    let verified = !bracket_message || wrong_closing_bracket_on(text, exception.lineno);
    if tokenizer && verified && !fstring_after_stop {
        return;
    }
    if let Some(key_end) = dict_key_without_colon(text, start) {
        // `invalid_kvpair` (after complete pairs it wins over the comma and legacy rules,
        // CPython 3.13.0): located at the key's last character, no end.
        let (key_line, key_column) = source.position(key_end);
        exception.msg = "':' expected after dictionary key".to_owned();
        exception.lineno = Some(key_line);
        exception.offset = Some(key_column);
        exception.end_lineno = Some(key_line);
        exception.end_offset = Some(0);
        exception.text = text
            .split_inclusive('\n')
            .nth(key_line - 1)
            .map(str::to_owned);
        return;
    }
    // rustpython's missing-comma guess is checked against CPython's rule too.
    let comma_checked = exception.msg != "invalid syntax. Perhaps you forgot a comma?"
        || forgot_comma(text, start)
        || fstring_field_comma(text, start).is_some();
    // A generic `invalid syntax` is always where the first pass stopped.
    let generic = exception.msg == "invalid syntax";
    // A specialised message is located at or before the token where parsing stopped.
    let not_after_stop = (exception.lineno, exception.offset) <= (Some(line), Some(stop_column));
    // `invalid_expression` (the comma) is tried before `invalid_legacy_expression`: after
    // an expression inside brackets, `print x` is a missing comma.
    let legacy_checked =
        !exception.msg.starts_with("Missing parentheses in call to") || !forgot_comma(text, start);
    if exception.lineno == Some(line)
        && cpython_wording(&exception.msg)
        && comma_checked
        && legacy_checked
        && !generic
        && not_after_stop
    {
        return;
    }
    let ruff_message = error.to_string();
    if ruff_message.starts_with("Expected `except` or `finally` after `try` block") {
        message_at(
            exception,
            &source,
            "expected 'except' or 'finally' block",
            start,
            end,
        );
        return;
    }
    if ruff_message == "Trailing comma not allowed" {
        // `import a,` / `from m import a,`: CPython's first pass stops at the NEWLINE token.
        let newline = text[end..].find('\n').map_or(text.len(), |n| end + n);
        let statement = text[..start].rfind('\n').map_or(0, |n| n + 1);
        exception.msg = if text[statement..start].trim_start().starts_with("from ") {
            "trailing comma not allowed without surrounding parentheses".to_owned()
        } else {
            "invalid syntax".to_owned()
        };
        source.locate(
            exception,
            TextRange::new(
                TextSize::new(newline as u32),
                TextSize::new((newline + 1).min(text.len()) as u32),
            ),
        );
        return;
    }
    exception.msg = if let Some(cpython) = same_rule_as_cpython(&error) {
        // ruff's grammar has the rule too; CPython's words (carets.rs places them).
        cpython.to_owned()
    } else if ruff_message.starts_with("Expected `:`, found newline") {
        "expected ':'".to_owned()
    } else if ruff_message.starts_with("f-string: ") || ruff_message.starts_with("t-string: ") {
        // The tokenizer's f-string errors, which ruff words as CPython does but for quotes.
        ruff_message.replace('`', "'")
    } else if after_def_name(text, start) {
        // `'def' NAME &&'('`: a forced token.
        "expected '('".to_owned()
    } else if after_def_parameters(text, start) {
        // `&&':'` after a def's parameters (and return annotation).
        "expected ':'".to_owned()
    } else if let Some((a, b)) = if_without_else(text, start) {
        // `a=disjunction 'if' b=disjunction !('else'|':')`, over a to b.
        exception.msg = "expected 'else' after 'if' expression".to_owned();
        source.locate(
            exception,
            TextRange::new(TextSize::new(a as u32), TextSize::new(b as u32)),
        );
        return;
    } else if forgot_comma(text, start) {
        // The second pass's `invalid_expression` rule; carets.rs gives its range.
        "invalid syntax. Perhaps you forgot a comma?".to_owned()
    } else {
        "invalid syntax".to_owned()
    };
    let end = end.max(start + 1).min(text.len());
    source.locate(
        exception,
        TextRange::new(TextSize::new(start as u32), TextSize::new(end as u32)),
    );
    if exception.msg == "invalid syntax" {
        never_closed(exception, text);
    }
}

/// Where ruff's parse stops, as CPython's first pass would: ruff's first error, except for
/// errors ruff raises over a whole construct its own grammar accepts, where CPython's
/// grammar stops at a token inside it: an unparenthesized tuple (`raise E, "x"`) stops at its
/// first comma; a parameter order error followed by a syntax error in the same list (`a=1,
/// b T`) is that syntax error.
fn stopping_error(text: &str) -> Option<(parser::ParseErrorType, usize, usize)> {
    use parser::ParseErrorType as E;
    use rustpython_compiler::ast::PySourceType;
    let parsed = parser::parse_unchecked_source(text, PySourceType::Python);
    let errors = parsed.errors();
    let first = errors.first()?;
    let (start, end) = (
        first.location.start().to_usize(),
        first.location.end().to_usize(),
    );
    match &first.error {
        E::UnparenthesizedTupleExpression => {
            let words = words_at_level(text, start, end.min(text.len()));
            let comma = words.iter().find(|(_, w)| w == ",").map(|(at, _)| *at)?;
            Some((E::OtherError("invalid syntax".to_owned()), comma, comma + 1))
        }
        E::NonDefaultParamAfterDefaultParam => {
            let line_end = text[end..].find('\n').map_or(text.len(), |n| end + n);
            match errors.get(1) {
                Some(next) if next.location.start().to_usize() <= line_end => Some((
                    next.error.clone(),
                    next.location.start().to_usize(),
                    next.location.end().to_usize(),
                )),
                _ => Some((first.error.clone(), start, end)),
            }
        }
        other => Some((other.clone(), start, end)),
    }
}

fn message_at(exception: &mut PyException, source: &Source, msg: &str, start: usize, end: usize) {
    exception.msg = msg.to_owned();
    let end = end.max(start + 1).min(source.text_len());
    source.locate(
        exception,
        TextRange::new(TextSize::new(start as u32), TextSize::new(end as u32)),
    );
}

/// `expected an indented block after ...` is raised at the first token after the header's
/// NEWLINE: the next line that is not blank (a comment line counts, CPython 3.14). ruff stops
/// at that NEWLINE.
fn block_line(exception: &mut PyException, text: &str) {
    let Some((_, start, _)) = stopping_error(text) else {
        return;
    };
    if !text[start..].starts_with(['\n', '\r']) {
        return;
    }
    let mut line = 1 + text[..start].matches('\n').count();
    for next in text[start..].split_inclusive('\n').skip(1) {
        line += 1;
        if !next.trim().is_empty() {
            if exception.lineno.is_some_and(|own| own < line) {
                exception.lineno = Some(line);
            }
            return;
        }
    }
}

/// Before 3.14 the tokenizer reads `ub'x'` as the NAME `ub` and a string: the parser stops
/// at the NAME when an expression comes before it (a missing comma inside brackets), else
/// at the string after it.
pub(super) fn prefix_as_name(exception: &mut PyException, text: &str) {
    let source = Source::new(text);
    let (Some(line), Some(column)) = (exception.lineno, exception.offset) else {
        return;
    };
    let Some(name) = source.byte_offset(line, column).map(|at| at.to_usize()) else {
        return;
    };
    let quote = name
        + text[name..]
            .bytes()
            .take_while(u8::is_ascii_alphabetic)
            .count();
    if forgot_comma(text, name) {
        exception.msg = "invalid syntax. Perhaps you forgot a comma?".to_owned();
        source.locate(
            exception,
            TextRange::new(TextSize::new(name as u32), TextSize::new(quote as u32)),
        );
        super::carets::correct(exception, text);
        return;
    }
    let string_end = {
        let bytes = text.as_bytes();
        let q = bytes.get(quote).copied().unwrap_or(b'\'');
        let triple = bytes[quote..].starts_with(&[q; 3]);
        let mut i = quote + if triple { 3 } else { 1 };
        while i < bytes.len()
            && !(bytes[i] == q && (!triple || bytes[i..].starts_with(&[q; 3])))
            && (triple || bytes[i] != b'\n')
        {
            i += if bytes[i] == b'\\' { 2 } else { 1 };
        }
        (i + if triple { 3 } else { 1 }).min(bytes.len())
    };
    message_at(exception, &source, "invalid syntax", quote, string_end);
}

/// `f'{a b}'`: inside a replacement field (brackets to the grammar) an expression right after
/// another is CPython's missing comma over both, where the engines expect the `}`.
fn fstring_missing_comma(exception: &mut PyException, source: &Source) -> bool {
    let (Some(line), Some(column)) = (exception.lineno, exception.offset) else {
        return false;
    };
    let Some(b) = source.byte_offset(line, column).map(|at| at.to_usize()) else {
        return false;
    };
    let Some((a, b_end)) = fstring_field_comma(source.text(), b) else {
        return false;
    };
    exception.msg = "invalid syntax. Perhaps you forgot a comma?".to_owned();
    source.locate(
        exception,
        TextRange::new(TextSize::new(a as u32), TextSize::new(b_end as u32)),
    );
    true
}

/// ruff errors that are CPython's `invalid_arguments` messages in other words.
fn same_rule_as_cpython(error: &parser::ParseErrorType) -> Option<&'static str> {
    use parser::ParseErrorType as E;
    match error {
        E::PositionalAfterKeywordArgument => Some("positional argument follows keyword argument"),
        E::PositionalAfterKeywordUnpacking => {
            Some("positional argument follows keyword argument unpacking")
        }
        E::InvalidArgumentUnpackingOrder => {
            Some("iterable argument unpacking follows keyword argument unpacking")
        }
        _ => None,
    }
}

/// Whether a closing bracket on `line` (1-based) has no opener or the wrong one.
fn wrong_closing_bracket_on(text: &str, line: Option<usize>) -> bool {
    let Some(line) = line else {
        return false;
    };
    brackets::scan(text, brackets::end_of_line(text, line))
        .mismatched
        .iter()
        .any(|&at| brackets::line_of(text, at) == line)
}

/// CPython's `invalid_expression` alternative `a=disjunction b=expression_without_invalid`:
/// inside brackets, an expression directly followed by another one (not a NAME followed by a
/// string, which is the legacy-print shape) is a missing comma.
fn forgot_comma(text: &str, stop: usize) -> bool {
    let before = without_trailing_comments(&text[..stop]);
    let rest = &text[stop..];
    let word = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let previous: String = {
        let tail: String = before
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        tail.chars().rev().collect()
    };
    // `print x` / `exec x`: the legacy rule takes these (`_PyPegen_check_legacy_stmt`).
    let legacy = matches!(previous.as_str(), "print" | "exec")
        && !before[..before.len() - previous.len()]
            .trim_end()
            .ends_with(|c: char| c == '.' || c.is_alphanumeric() || c == '_');
    let ends_expression = !legacy
        && match before.chars().last() {
            Some(')' | ']' | '}' | '\'' | '"') => true,
            Some(c) if c.is_alphanumeric() || c == '_' => !KEYWORDS.contains(&previous.as_str()),
            _ => false,
        };
    let next = word(rest);
    const PREFIXES: &[&str] = &["r", "u", "f", "b", "t", "fr", "rf", "br", "rb", "tr", "rt"];
    let string_next = rest.starts_with(['\'', '"'])
        || (PREFIXES.contains(&next.to_ascii_lowercase().as_str())
            && rest[next.len()..].starts_with(['\'', '"']));
    let starts_expression = string_next
        || rest.starts_with(['{', '~'])
        || rest.starts_with("...")
        || (!next.is_empty()
            && (!KEYWORDS.contains(&next.as_str())
                || matches!(next.as_str(), "not" | "lambda" | "await")));
    // `a` is that one NAME when a delimiter comes before it.
    let name_then_string = string_next
        && previous
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
        && without_trailing_comments(&before[..before.len() - previous.len()])
            .chars()
            .next_back()
            .is_none_or(|c| "([{,=:".contains(c));
    ends_expression
        && starts_expression
        && !name_then_string
        && innermost_bracket(before).is_some_and(|open| !opens_parameters(before, open))
}

/// Whether `stop` follows the `)` closing a def's parameters (nothing else may come there
/// but `->` or `:`).
fn after_def_parameters(text: &str, stop: usize) -> bool {
    let before = text[..stop].trim_end_matches([' ', '\t']);
    if !before.ends_with(')') || text[stop..].starts_with([':', '-']) {
        return false;
    }
    innermost_bracket(&before[..before.len() - 1])
        .is_some_and(|open| opens_parameters(before, open))
}

/// `{k: v, key <stop>`: at the top level of a dict display, after at least one complete
/// pair, an expression not followed by `:`. Returns the byte position of its last character.
fn dict_key_without_colon(text: &str, stop: usize) -> Option<usize> {
    let before = text[..stop].trim_end_matches([' ', '\t', '\x0c', '\n', '\r']);
    let open = innermost_bracket(before)?;
    if text.as_bytes()[open] != b'{' || before.len() <= open + 1 {
        return None;
    }
    // Top-level ':' and ',' of the display, skipping nested brackets and strings.
    let inner = &before[open + 1..];
    let (mut colon_then_comma, mut seen_colon, mut last_comma) = (false, false, None);
    let mut depth = 0usize;
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"') => {
                let triple = bytes[i..].starts_with(&[quote; 3]);
                i += if triple { 3 } else { 1 };
                while i < bytes.len()
                    && !(bytes[i] == quote && (!triple || bytes[i..].starts_with(&[quote; 3])))
                {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += if triple { 3 } else { 1 };
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b':' if depth == 0 => seen_colon = true,
            b',' if depth == 0 => {
                colon_then_comma |= seen_colon;
                seen_colon = false;
                last_comma = Some(i);
            }
            _ => {}
        }
        i += 1;
    }
    let key_start = open + 1 + last_comma? + 1;
    let key_end = code_end(text, key_start, before.len());
    let key_is_expression = !seen_colon && key_end > key_start;
    (colon_then_comma && key_is_expression).then(|| {
        let last = text[..key_end]
            .chars()
            .next_back()
            .map_or(1, char::len_utf8);
        key_end - last
    })
}

/// The end of the code in `text[start..end]`: without trailing comments and blanks (per
/// line, outside strings).
fn code_end(text: &str, start: usize, end: usize) -> usize {
    let bytes = text.as_bytes();
    let (mut i, mut last) = (start, start);
    while i < end {
        match bytes[i] {
            b'#' => {
                while i < end && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            quote @ (b'\'' | b'"') => {
                i += 1;
                while i < end && bytes[i] != quote && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(end);
                last = i;
                continue;
            }
            b if b.is_ascii_whitespace() => {}
            _ => last = i + 1,
        }
        i += 1;
    }
    while !text.is_char_boundary(last) {
        last += 1;
    }
    last
}

/// Operators and keywords after which an expression cannot end.
const NO_END: &[&str] = &[
    "in", "not", "is", "and", "or", "if", "+", "-", "*", "/", "%", "@", "&", "|", "^", "<", ">",
    "=", "~", "**", "//", "<<", ">>", "==", "!=", "<=", ">=", ".",
];

/// `x = a if b <stop>`: a conditional expression on the stopping token's logical line (at
/// its bracket level, not a comprehension's `if`) with no `else` before the stop. Returns
/// the byte range from the start of `a` to the end of `b`.
fn if_without_else(text: &str, stop: usize) -> Option<(usize, usize)> {
    if text[stop..].starts_with("else") || text[stop..].starts_with(':') {
        return None;
    }
    // The start of the expression context: the innermost open bracket, else the line start.
    let before = &text[..stop];
    let context = match innermost_bracket(before) {
        Some(open) => open + 1,
        None => before.rfind('\n').map_or(0, |n| n + 1),
    };
    let words = words_at_level(text, context, stop);
    let if_at = words.iter().rposition(|(_, w)| w == "if")?;
    if if_at == 0
        || words[if_at..].iter().any(|(_, w)| w == "else")
        || words[..if_at]
            .iter()
            .any(|(_, w)| matches!(w.as_str(), "for" | "elif" | "while" | "lambda" | "assert"))
    {
        return None;
    }
    let previous = &words[if_at - 1].1;
    if NO_END.contains(&previous.as_str()) || matches!(previous.as_str(), "(" | "[" | "{" | ",") {
        return None;
    }
    // a: back to the last `=`, `,`, `:`, `return`, `yield` or the context start.
    let a = words[..if_at]
        .iter()
        .rposition(|(_, w)| matches!(w.as_str(), "=" | "," | ":" | "return" | "yield" | "print"))
        .map_or(words[0].0, |n| words.get(n + 1).map_or(stop, |(at, _)| *at));
    // b: the words after `if`, without trailing ones that cannot end an expression.
    let mut b_words = &words[if_at + 1..];
    while let Some(((_, w), rest)) = b_words.split_last() {
        if NO_END.contains(&w.as_str()) {
            b_words = rest;
        } else {
            break;
        }
    }
    let (b_start, b_word) = b_words.last()?;
    let b = b_start + b_word.len();
    (a < b).then_some((a, b))
}

/// Whether the bracket at `open` starts a `def`'s parameters (not an expression context).
fn opens_parameters(text: &str, open: usize) -> bool {
    if text.as_bytes()[open] != b'(' {
        return false;
    }
    let before = text[..open].trim_end();
    let name_len = before
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .map(char::len_utf8)
        .sum::<usize>();
    let before_name = before[..before.len() - name_len].trim_end();
    name_len > 0
        && before_name.ends_with("def")
        && !before_name[..before_name.len() - 3]
            .ends_with(|c: char| c.is_alphanumeric() || c == '_')
}

/// Whether `stop` directly follows `def NAME` (where only `(` or `[` may come).
fn after_def_name(text: &str, stop: usize) -> bool {
    let rest = &text[stop..];
    if rest.starts_with(['(', '[']) {
        return false;
    }
    let before = text[..stop].trim_end_matches([' ', '\t']);
    let name_len = before
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .map(char::len_utf8)
        .sum::<usize>();
    let before_name = before[..before.len() - name_len].trim_end_matches([' ', '\t']);
    name_len > 0
        && before_name.len() < before.len() - name_len
        && before_name.ends_with("def")
        && !before_name[..before_name.len() - 3]
            .ends_with(|c: char| c.is_alphanumeric() || c == '_')
}

/// `text` without trailing blanks, line continuations and comments (a `#` outside quotes on
/// each last line).
fn without_trailing_comments(text: &str) -> &str {
    let mut text = text;
    loop {
        let trimmed = text.trim_end_matches([' ', '\t', '\x0c', '\n', '\r', '\\']);
        let line_start = trimmed.rfind('\n').map_or(0, |n| n + 1);
        let line = &trimmed[line_start..];
        let mut quote = None;
        let mut comment = None;
        let mut chars = line.char_indices();
        while let Some((i, c)) = chars.next() {
            match (quote, c) {
                (Some(_), '\\') => {
                    chars.next();
                }
                (Some(q), c) if c == q => quote = None,
                (None, '\'' | '"') => quote = Some(c),
                (None, '#') => {
                    comment = Some(i);
                    break;
                }
                _ => {}
            }
        }
        match comment {
            Some(at) => text = &trimmed[..line_start + at],
            None => return trimmed,
        }
    }
}

#[cfg(test)]
mod tests {
    /// CPython 3.14.2 (mutation suite, seed 1): a missing comma inside a replacement field.
    #[test]
    fn missing_comma_in_an_fstring_field() {
        let e = super::super::cpython_exception(
            b"y = 1\nx = f'{a b}'\n",
            "m.py",
            serc::PythonVersion::Py314,
            0,
        )
        .unwrap();
        assert_eq!(
            e.py_compile_text(),
            "  File \"m.py\", line 2\n    x = f'{a b}'\n           ^^^\nSyntaxError: invalid syntax. Perhaps you forgot a comma?\n"
        );
    }
}
