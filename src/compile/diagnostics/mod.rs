//! CPython-worded errors for sources the compiler rejects.
//!
//! Users see the `output` of a failed PyCompile action, so a rejected file should read exactly
//! as `py_compile` reports it. serc's own texts are ruff-style ("Unexpected indentation at byte
//! range 13..21"), so when serc rejects a file we ask rustpython-compiler, which carries most
//! of CPython's diagnostics, for the exception, and render it the way
//! `py_compile.PyCompileError` does. Decoding errors come from `compile::decoding`, worded as CPython's tokenizer words them.

use rustpython_compiler::{CompileError as RpError, CompileOpts, Mode};

mod brackets;
mod carets;
mod characters;
mod escape;
mod exception;
mod first_failure;
mod fstrings;
mod indentation;

pub use exception::{CaretLayout, PyException};

use crate::compile::decoding::{self, Undecodable};
use crate::compile::failure::CompileFailure;
use crate::compile::syntax::parser::{self, Outcome};

/// Explains why `source` was rejected, in CPython's words when we can reproduce them.
///
/// `engine_message` is the engine's own text, kept for the case where CPython's parser
/// stand-in accepts the file: then we cannot tell what CPython would say and report the
/// engine's reason as is, naming the file.
///
/// `version` is the target, for the cookie names it decodes and the few texts that differ.
pub fn explain_rejection(
    source: &[u8],
    filename: &str,
    version: serc::PythonVersion,
    optimize: u8,
    engine_message: &str,
) -> CompileFailure {
    let text = match decode_for_engine(source, filename, version) {
        Ok(text) => text,
        Err(failure) => return failure,
    };
    if let Some(exception) = peg_exception(&text, filename, version) {
        return CompileFailure::Rejected(for_version(exception, &text, version).py_compile_text());
    }
    match text_exception(&text, filename, optimize).map(|e| for_version(e, &text, version)) {
        Some(exception) => CompileFailure::Rejected(exception.py_compile_text()),
        None => CompileFailure::Unsupported(format!(
            "{filename}: the embedded compiler cannot compile this file: {engine_message}"
        )),
    }
}

/// Refuses a source an engine compiled when CPython's tokenizer would not have: ambiguous
/// tabs, a dedent to no enclosing level, f-string fields nested too deeply. Called only after
/// an engine accepted the file, so no earlier parser error can outrank these (and rejected
/// files do not pay twice). Two linear byte scans: cheap next to a compile.
pub fn check_accepted(
    source: &[u8],
    filename: &str,
    version: serc::PythonVersion,
) -> Result<(), CompileFailure> {
    let decoded;
    let text = match std::str::from_utf8(source) {
        Ok(text) => text,
        Err(_) => match decode(source, filename, version) {
            Ok(text) => {
                decoded = text;
                decoded.as_str()
            }
            Err(_) => return Ok(()),
        },
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let indentation = indentation::first_problem_in_accepted(text);
    let fstring = fstrings::first_too_deep(text);
    if indentation.is_some() || fstring.is_some() {
        // Rare: only then is CPython's own front end worth running for the exact error.
        if let Some(exception) = peg_exception(text, filename, version) {
            return Err(CompileFailure::Rejected(
                for_version(exception, text, version).py_compile_text(),
            ));
        }
    }
    let exception = match (indentation, fstring) {
        (Some((line, problem)), fstring) if fstring.is_none_or(|(at, _)| line <= at) => {
            indentation_exception(text, filename, line, problem)
        }
        (_, Some((line, column))) => {
            let line_text = text.split_inclusive('\n').nth(line - 1).unwrap_or("");
            let line_text = line_text.trim_end_matches(['\n', '\r']);
            // A tokenizer error: the offset is the characters before the '{' (no +1).
            let offset = line_text[..column].chars().count();
            PyException {
                kind: "SyntaxError",
                msg: "f-string: expressions nested too deeply".to_owned(),
                filename: Some(filename.to_owned()),
                lineno: Some(line),
                offset: Some(offset),
                end_lineno: Some(line),
                end_offset: Some(offset),
                text: Some(line_text.to_owned()),
                ..PyException::default()
            }
        }
        (None, None) => return Ok(()),
        (Some(_), None) => unreachable!("matched by the first arm"),
    };
    Err(CompileFailure::Rejected(
        for_version(exception, text, version).py_compile_text(),
    ))
}

fn indentation_exception(
    text: &str,
    filename: &str,
    line: usize,
    problem: indentation::Problem,
) -> PyException {
    PyException {
        kind: problem.kind(),
        msg: problem.message().to_owned(),
        filename: Some(filename.to_owned()),
        lineno: Some(line),
        text: text.split_inclusive('\n').nth(line - 1).map(str::to_owned),
        ..PyException::default()
    }
}

/// The exception CPython's parser raises for decoded `text`, found by our port of its
/// tokenizer and PEG parser (3.12 to 3.15); `None` when the port accepts the file or cannot
/// tell, and the older path decides.
fn peg_exception(text: &str, filename: &str, version: serc::PythonVersion) -> Option<PyException> {
    let (_, minor, _) = version.target().version;
    let grammar = parser::Grammar::for_minor(minor)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (source, outcome) = parser::check(grammar, text);
    let Outcome::Rejected(raised) = outcome else {
        return None;
    };
    let position = |value: i64| usize::try_from(value).ok();
    let line = raised.text.or_else(|| {
        position(raised.lineno)
            .and_then(|n| n.checked_sub(1))
            .map(|n| source.split_inclusive('\n').nth(n).unwrap_or("").to_owned())
    });
    Some(PyException {
        kind: raised.kind,
        msg: raised.msg,
        filename: Some(filename.to_owned()),
        lineno: position(raised.lineno),
        offset: position(raised.offset),
        end_lineno: position(raised.end_lineno),
        end_offset: position(raised.end_offset),
        text: line,
        ..PyException::default()
    })
}

/// What differs between the targets in the texts we produce: the caret line (each target's
/// `traceback._format_syntax_error`, read in the oracles' stdlibs: 3.12 takes `end_offset` as
/// is, 3.15 counts display columns: `^^` under a U+3000, none under a U+FEFF); 3.12 and 3.13 have no
/// string-prefix check in the tokenizer (`ub'x'` is a NAME and a STRING to their parser).
fn for_version(
    mut exception: PyException,
    text: &str,
    version: serc::PythonVersion,
) -> PyException {
    let (_, minor, _) = version.target().version;
    exception.layout = match minor {
        ..=12 => CaretLayout::Py312,
        13 | 14 => CaretLayout::Py314,
        _ => CaretLayout::Py315,
    };
    if minor <= 13 && exception.msg.ends_with("prefixes are incompatible") {
        first_failure::prefix_as_name(&mut exception, text);
    }
    if minor >= 15 {
        carets::for_python_315(&mut exception, text);
    }
    exception
}

/// The exception CPython raises for `source`, or `None` if rustpython accepts it.
pub fn cpython_exception(
    source: &[u8],
    filename: &str,
    version: serc::PythonVersion,
    optimize: u8,
) -> Option<PyException> {
    match decode(source, filename, version) {
        Ok(text) => text_exception(&text, filename, optimize),
        Err(exception) => Some(*exception),
    }
}

/// The exception CPython raises for decoded `text`, or `None` if rustpython accepts it.
fn text_exception(text: &str, filename: &str, optimize: u8) -> Option<PyException> {
    let options = CompileOpts {
        optimize,
        ..CompileOpts::default()
    };
    let rejected = rustpython_compiler::compile(text, Mode::Exec, filename, options)
        .err()
        .map(|error| from_rustpython(&error, text, filename));
    let indentation = indentation::first_problem(text)
        .map(|(line, problem)| indentation_exception(text, filename, line, problem));
    // The tokenizer meets an indentation problem before any later error, and rustpython
    // does not check these at all.
    let first = match (rejected, indentation) {
        (Some(rejected), Some(indentation))
            if rejected
                .lineno
                .is_none_or(|line| indentation.lineno.is_some_and(|own| own <= line)) =>
        {
            Some(indentation)
        }
        (Some(rejected), _) => Some(rejected),
        (None, indentation) => indentation,
    }?;
    // A bad character replaces a parser error wherever it is (CPython tokenizes the rest of
    // the file after one); a tokenizer or indentation error only when it comes later.
    match characters::first_invalid(text, filename) {
        Some(invalid)
            if first_failure::replaceable_by_tokenizer_error(&first)
                || (first.lineno, first.offset) > (invalid.lineno, invalid.offset) =>
        {
            Some(invalid)
        }
        _ => Some(first),
    }
}

/// Decodes source bytes as CPython `version`'s tokenizer does, with its error texts.
pub fn decode(
    source: &[u8],
    filename: &str,
    version: serc::PythonVersion,
) -> Result<String, Box<PyException>> {
    decoding::decode(source, version)
        .map(|decoded| decoded.text.into_owned())
        .map_err(|problem| Box::new(undecodable_exception(&problem, source, filename, version)))
}

/// Decodes for an engine: like [`decode`], except that a cookie naming a codec CPython has
/// and we cannot decode is not the file's fault, so it is our limitation, not CPython's error.
pub fn decode_for_engine(
    source: &[u8],
    filename: &str,
    version: serc::PythonVersion,
) -> Result<String, CompileFailure> {
    decoding::decode(source, version)
        .map(|decoded| decoded.text.into_owned())
        .map_err(|problem| match problem {
            Undecodable::Unsupported(name) => CompileFailure::Unsupported(format!(
                "{filename}: the embedded compiler cannot decode source encoding '{name}' \
                 (CPython can); compile this file with --compiler interpreter"
            )),
            problem => CompileFailure::Rejected(
                undecodable_exception(&problem, source, filename, version).py_compile_text(),
            ),
        })
}

fn undecodable_exception(
    problem: &Undecodable,
    source: &[u8],
    filename: &str,
    version: serc::PythonVersion,
) -> PyException {
    let at_line = |line: usize, msg: String| PyException::at_line(filename, line, msg);
    match problem {
        Undecodable::NullByte => PyException::syntax(
            "SyntaxError",
            "source code string cannot contain null bytes",
        ),
        Undecodable::Serc(error) => decode_exception(error, source, filename, version),
        // The tokenizer reports a codec's error as is, on line 0.
        Undecodable::Codec(message) => at_line(0, message.clone()),
        Undecodable::BomConflict(name) => bom_conflict(name, source, filename, version),
        Undecodable::Unsupported(name) => at_line(
            0,
            format!("the embedded compiler cannot decode source encoding '{name}'"),
        ),
        // Not a SyntaxError: py_compile prints `Sorry: RuntimeError: ...`.
        Undecodable::Raised { kind, message } => PyException {
            kind,
            msg: message.clone(),
            ..PyException::default()
        },
    }
}

/// The tokenizer reports the normalised codec name; from 3.14 on with the cookie's line (and
/// no caret), before that on line 0 (checked with the oracles 3.12.7, 3.13.2, 3.14.2, 3.15.0rc1).
fn bom_conflict(
    name: &str,
    source: &[u8],
    filename: &str,
    version: serc::PythonVersion,
) -> PyException {
    let msg = format!("encoding problem: {} with BOM", normal_codec_name(name));
    let located = !matches!(
        version,
        serc::PythonVersion::Py312 | serc::PythonVersion::Py313
    );
    let (line, text) = match cookie_line(source) {
        Some((line, text)) if located => (line, Some(text)),
        _ if located => (1, Some(String::new())),
        _ => (0, None),
    };
    PyException {
        kind: "SyntaxError",
        msg,
        filename: Some(filename.to_owned()),
        lineno: Some(line),
        text,
        ..PyException::default()
    }
}

fn decode_exception(
    error: &serc::SourceDecodeError,
    source: &[u8],
    filename: &str,
    version: serc::PythonVersion,
) -> PyException {
    use serc::SourceDecodeError as E;
    let at_line = |line: usize, msg: String| PyException::at_line(filename, line, msg);
    match error {
        E::UnsupportedEncoding(name) => at_line(0, format!("unknown encoding: {name}")),
        E::Utf8BomConflict(name) => bom_conflict(name, source, filename, version),
        E::InvalidUtf8(utf8) => non_utf8_exception(source, utf8.valid_up_to(), filename),
        other => at_line(0, other.to_string()),
    }
}

/// CPython's tokenizer names the first undecodable byte and shows its line, decoded with
/// replacement characters, with a caret under that byte.
fn non_utf8_exception(source: &[u8], position: usize, filename: &str) -> PyException {
    let line_start = source[..position]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line_end = source[position..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(source.len(), |i| position + i + 1);
    let lineno = 1 + source[..line_start].iter().filter(|&&b| b == b'\n').count();
    let offset = String::from_utf8_lossy(&source[line_start..position])
        .chars()
        .count()
        + 1;
    PyException {
        kind: "SyntaxError",
        msg: format!(
            "Non-UTF-8 code starting with '\\x{:02x}' on line {lineno}, but no encoding declared; \
             see https://peps.python.org/pep-0263/ for details",
            source[position]
        ),
        filename: Some(filename.to_owned()),
        lineno: Some(lineno),
        offset: Some(offset),
        end_lineno: Some(lineno),
        end_offset: Some(offset + 1),
        text: Some(String::from_utf8_lossy(&source[line_start..line_end]).into_owned()),
        ..PyException::default()
    }
}

/// The line (1-based) and text of the PEP 263 cookie, on line 1 or 2.
fn cookie_line(source: &[u8]) -> Option<(usize, String)> {
    let source = source.strip_prefix(b"\xef\xbb\xbf").unwrap_or(source);
    source
        .split_inclusive(|&b| b == b'\n')
        .take(2)
        .enumerate()
        .find(|(_, line)| {
            let text = String::from_utf8_lossy(line);
            let trimmed = text.trim_start();
            trimmed.starts_with('#') && trimmed.contains("coding")
        })
        .map(|(index, line)| (index + 1, String::from_utf8_lossy(line).into_owned()))
}

/// The tokenizer's `get_normal_name`: spellings of UTF-8 and Latin-1 collapse to one name.
fn normal_codec_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase().replace('_', "-");
    let starts = |prefix: &str| lower == prefix || lower.starts_with(&format!("{prefix}-"));
    if starts("utf-8") {
        "utf-8".to_owned()
    } else if starts("latin-1") || starts("iso-8859-1") || starts("iso-latin-1") {
        "iso-8859-1".to_owned()
    } else {
        name.to_owned()
    }
}

/// Maps rustpython's error to the exception CPython raises for the same input.
fn from_rustpython(error: &RpError, text: &str, filename: &str) -> PyException {
    let raw = error.to_string();
    let (lineno, offset) = error.python_location();
    let end = error.python_end_location();
    let line_text = (lineno > 0)
        .then(|| {
            text.split_inclusive('\n')
                .nth(lineno - 1)
                .map(str::to_owned)
        })
        .flatten();
    let kind = exception_kind(error, &raw);
    if kind == "RecursionError" {
        return PyException {
            kind,
            msg: raw,
            ..PyException::default()
        };
    }
    let mut exception = PyException {
        kind,
        msg: cpython_message(&raw, text),
        filename: Some(filename.to_owned()),
        lineno: Some(lineno),
        offset: (offset > 0).then_some(offset),
        end_lineno: end.map(|(line, _)| line),
        end_offset: end.map(|(_, col)| col),
        text: line_text,
        ..PyException::default()
    };
    if raised_by_compiler(error, &exception.msg) {
        // Errors found after parsing (symtable, code generator) get their source line from
        // the file named by co_filename, read relative to the working directory; when no
        // such file exists, CPython shows no line and no caret.
        exception.text = program_text(filename, lineno);
    }
    if exception
        .msg
        .starts_with("multiple exception types must be parenthesized")
    {
        extend_over_as_target(&mut exception);
    }
    if exception.msg == "f-string: expecting '}'" {
        move_caret_to_closing_quote(&mut exception);
    }
    if raw == "Got unexpected unicode" {
        escape::explain(&mut exception);
    }
    if matches!(error, RpError::Parse(_)) && !raised_by_compiler(error, &exception.msg) {
        first_failure::relocate(&mut exception, text);
    }
    carets::correct(&mut exception, text);
    exception
}

/// CPython's wording for messages where rustpython's parser (ruff's) words them its own way.
fn cpython_message(raw: &str, text: &str) -> String {
    let renamed = match raw {
        "Unexpected indentation" => Some("unexpected indent"),
        "Expected a statement" => Some("invalid syntax"),
        "Positional argument cannot follow keyword argument" => {
            Some("positional argument follows keyword argument")
        }
        _ => None,
    };
    if let Some(message) = renamed {
        return message.to_owned();
    }
    if let Some(token) = raw.strip_prefix("Got unexpected token ") {
        return unexpected_character(token.chars().next().unwrap_or(' '));
    }
    if let Some(rest) =
        raw.strip_prefix("Multiple exception types must be parenthesized when using ")
    {
        return format!(
            "multiple exception types must be parenthesized when using {}",
            rest.replace('`', "'")
        );
    }
    if raw.starts_with("f-string: ") || raw.starts_with("t-string: ") {
        return raw.replace('`', "'");
    }
    if raw.starts_with("unterminated triple-quoted string literal (detected at line ") {
        // CPython's tokenizer counts the lines it read; the end of input is not a line.
        return format!(
            "unterminated triple-quoted string literal (detected at line {})",
            text.lines().count()
        );
    }
    raw.to_owned()
}

/// The tokenizer's message for a character that cannot start a token.
fn unexpected_character(c: char) -> String {
    if c.is_ascii() {
        "invalid syntax".to_owned()
    } else if !rustpython_unicode::classify::is_printable(c) {
        format!("invalid non-printable character U+{:04X}", u32::from(c))
    } else {
        format!("invalid character '{c}' (U+{:04X})", u32::from(c))
    }
}

/// CPython points an unclosed replacement field at the end of the f-string.
fn move_caret_to_closing_quote(exception: &mut PyException) {
    let (Some(text), Some(offset)) = (&exception.text, exception.offset) else {
        return;
    };
    if let Some(quote) = text
        .chars()
        .skip(offset)
        .position(|c| c == '"' || c == '\'')
    {
        exception.offset = Some(offset + quote + 1);
        exception.end_offset = Some(offset + quote + 2);
    }
}

/// CPython reports errors from the symbol table and the code generator through
/// `PyErr_ProgramTextObject`, which rereads the source line from disk; rustpython raises some
/// of them from its parser, so they are recognised by message too.
fn raised_by_compiler(error: &RpError, msg: &str) -> bool {
    const COMPILER_MESSAGES: &[&str] = &[
        "'await' outside",
        "'yield' outside",
        "'return' outside",
        "'break' outside",
        "'continue' not properly",
        "'return' with value in async generator",
        "'yield from' inside async function",
        "'break', 'continue' and 'return' cannot appear in an except* block",
        "asynchronous comprehension outside",
        "duplicate argument",
        "duplicate type parameter",
        "keyword argument repeated",
        "import * only allowed at module level",
        "nonlocal declaration not allowed at module level",
        "no binding for nonlocal",
        "name '",
        "annotated name",
        "from __future__ imports must occur",
        "not a chance",
        "future feature",
        "alternative patterns bind different names",
        "name capture",
        "wildcard makes remaining patterns unreachable",
        "multiple assignments to name",
        "attribute name repeated in class pattern",
        "starred assignment target must be in a list or tuple",
        "multiple starred expressions in assignment",
        "too many expressions in star-unpacking",
        "can't use starred expression here",
        "assignment expression cannot be used in a comprehension iterable expression",
        "assignment expression within a comprehension cannot be used in a class body",
        "assignment expression cannot rebind comprehension iteration variable",
        "comprehension inner loop cannot rebind assignment expression target",
    ];
    matches!(error, RpError::Codegen(_))
        || COMPILER_MESSAGES
            .iter()
            .any(|prefix| msg.starts_with(prefix))
}

/// Line `lineno` of the file `filename` as CPython rereads it, if that file exists.
fn program_text(filename: &str, lineno: usize) -> Option<String> {
    let bytes = std::fs::read(filename).ok()?;
    let text = decode(&bytes, filename, serc::PythonVersion::Py314).ok()?;
    text.split_inclusive('\n')
        .nth(lineno.checked_sub(1)?)
        .map(str::to_owned)
}

/// CPython's caret for `except A, B as e:` covers the `as` target as well.
fn extend_over_as_target(exception: &mut PyException) {
    let (Some(text), Some(end)) = (&exception.text, exception.end_offset) else {
        return;
    };
    let chars: Vec<char> = text.chars().collect();
    let mut i = end - 1;
    let skip_space = |i: &mut usize| {
        while chars.get(*i).is_some_and(|c| *c == ' ' || *c == '\t') {
            *i += 1;
        }
    };
    skip_space(&mut i);
    if chars.get(i..i + 2) != Some(&['a', 's'][..]) {
        return;
    }
    i += 2;
    skip_space(&mut i);
    while chars
        .get(i)
        .is_some_and(|c| c.is_alphanumeric() || *c == '_')
    {
        i += 1;
    }
    exception.end_offset = Some(i + 1);
}

/// CPython raises subclasses of SyntaxError for indentation problems; py_compile formats
/// those differently (`Sorry: IndentationError: ...`), so the class matters.
fn exception_kind(error: &RpError, msg: &str) -> &'static str {
    use rustpython_compiler::codegen::error::CodegenErrorType;
    use rustpython_compiler::parser::{LexicalErrorType, ParseErrorType};
    match error {
        RpError::Codegen(codegen) if matches!(codegen.error, CodegenErrorType::RecursionError) => {
            "RecursionError"
        }
        RpError::Parse(parse) => match &parse.error {
            ParseErrorType::Lexical(LexicalErrorType::IndentationError)
            | ParseErrorType::UnexpectedIndentation => "IndentationError",
            _ => kind_from_message(msg),
        },
        RpError::Codegen(_) => kind_from_message(msg),
    }
}

fn kind_from_message(msg: &str) -> &'static str {
    if msg.starts_with("inconsistent use of tabs and spaces") {
        "TabError"
    } else if msg.starts_with("unexpected indent")
        || msg.starts_with("expected an indented block")
        || msg.starts_with("unindent does not match")
        || msg.starts_with("unexpected unindent")
        || msg.starts_with("too many levels of indentation")
    {
        "IndentationError"
    } else {
        "SyntaxError"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected texts are CPython 3.14.2's `str(py_compile.PyCompileError)` (pyodide 314.0.7).
    #[test]
    fn syntax_error_traceback_layout() {
        let exception = PyException {
            kind: "SyntaxError",
            msg: "'(' was never closed".into(),
            filename: Some("pkg/se.py".into()),
            lineno: Some(1),
            offset: Some(5),
            end_lineno: Some(1),
            end_offset: Some(6),
            text: Some("x = (1,\n".into()),
            ..PyException::default()
        };
        assert_eq!(
            exception.py_compile_text(),
            "  File \"pkg/se.py\", line 1\n    x = (1,\n        ^\nSyntaxError: '(' was never closed\n"
        );
    }

    /// CPython 3.15.0rc1's layout (the mutation suite's oracle): display columns, so a wide
    /// character gets two carets and a format character none.
    #[test]
    fn python_315_counts_display_columns() {
        let text = |c: char| {
            for_version(
                PyException {
                    kind: "SyntaxError",
                    msg: "m".into(),
                    filename: Some("m.py".into()),
                    lineno: Some(1),
                    offset: Some(3),
                    end_lineno: Some(1),
                    end_offset: Some(3),
                    text: Some(format!("ab{c}(1)")),
                    ..PyException::default()
                },
                "",
                serc::PythonVersion::Py315,
            )
            .py_compile_text()
        };
        assert!(text('\u{3000}').contains("\n      ^^\nSyntaxError"));
        assert!(text('\u{feff}').contains("\n      \nSyntaxError"));
        assert!(text('\u{a0}').contains("\n      ^\nSyntaxError"));
    }

    #[test]
    fn subclasses_use_sorry_form_with_basename() {
        let exception = PyException {
            kind: "IndentationError",
            msg: "expected an indented block after function definition on line 1".into(),
            filename: Some("pkg/ie.py".into()),
            lineno: Some(2),
            ..PyException::default()
        };
        assert_eq!(
            exception.py_compile_text(),
            "Sorry: IndentationError: expected an indented block after function definition on line 1 (ie.py, line 2)"
        );
    }

    #[test]
    fn null_bytes_have_no_location() {
        let exception =
            cpython_exception(b"x = 1\0\n", "n.py", serc::PythonVersion::Py314, 0).unwrap();
        assert_eq!(
            exception.py_compile_text(),
            "SyntaxError: source code string cannot contain null bytes\n"
        );
    }

    #[test]
    fn valid_source_has_no_exception() {
        assert_eq!(
            cpython_exception(b"x = 1\n", "ok.py", serc::PythonVersion::Py314, 0),
            None
        );
    }
}
