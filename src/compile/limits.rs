//! CPython's nesting limit, enforced before an engine sees the source.
//!
//! CPython rejects deeply nested code at once ("RecursionError: maximum recursion depth exceeded
//! during compilation"), while serc's time grows quadratically with nesting (measured: 0.4 s for
//! a 2 000-term `1+1+…`, over 60 s for 20 000) and rustpython-compiler overflows the stack.
//! So we measure the syntax tree's depth first and refuse what the target CPython refuses.
//!
//! The limits were measured on native interpreters with `compile()` on chains such as
//! `x = 1+1+…+1` and `x = a.b.b…b` (depth = statement + expression nesting): CPython 3.12.1
//! accepts depth 2 996 and rejects 2 997; 3.13.0 accepts 9 998 and rejects 9 999. 3.14 replaced
//! the counted limit with a check of the real C stack, so its threshold depends on the stack
//! size; we keep 3.13's count for 3.14 and 3.15. Parser-level limits (201 nested brackets,
//! 100 indentation levels) are reported by the diagnostics layer like any other syntax error.
//!
//! Measuring depth needs a parse, which would double the cost of every compile, so a linear
//! byte scan first proves most files shallow: an expression nested `d` deep needs a logical
//! line of at least `d` bytes, so a file whose logical lines are all short cannot be too deep.

use memchr::{memchr, memchr2, memchr3};
use rustpython_compiler::ast::{self, visitor::Visitor};
use rustpython_compiler::parser;

use super::diagnostics;
use super::failure::CompileFailure;
use super::settings::PythonVersion;

/// The stack a compile of a source that may nest deeply runs on: parsers and tree walks
/// recurse once per nesting level, and the deepest tree CPython accepts (about 10 000 levels)
/// must not overflow. It is mapped only for such a compile and only the pages touched are
/// committed, so it costs address space while it runs and nothing otherwise.
pub const COMPILE_STACK: usize = 1 << 30;

/// The stack of every compile thread. Sources whose logical lines are all shorter than
/// [`SHORT_LINE`] nest at most about 2 000 levels deep and compile within [`SHALLOW_NEED`];
/// any other source switches to a [`COMPILE_STACK`] for its compile. A thread no longer
/// reserves 1 GiB up front, so 64 compile threads take 1 GiB of address space instead of 64.
///
/// Measured on debug builds (frames are larger than in release), serc 3.12–3.15 and
/// rustpython-compiler, on a thread of 1, 2, 4 … MiB: the worst shallow sources tried
/// (1 990 unary minuses, 995 calls or attributes, 284 nested lambdas, 199 brackets around
/// 1 300 unary minuses, 99 indented blocks around 240 lambdas) all compile in 2 MiB.
pub const BASE_STACK: usize = 16 << 20;

/// The free stack a shallow source's compile needs before it starts (4× the measured worst).
const SHALLOW_NEED: usize = 8 << 20;

/// Runs `f` on the current thread, on a fresh stack of [`COMPILE_STACK`] bytes.
///
/// Switching stacks instead of starting a thread keeps a one-shot action on its core, its
/// warm caches and the main heap: 7–11% of a single-file action (measured, benches/README.md).
pub fn on_compile_stack<T>(f: impl FnOnce() -> T) -> T {
    stacker::grow(COMPILE_STACK, f)
}

/// Refuses `source` if it nests deeper than CPython `version` allows, else runs its `compile`
/// with enough stack for how deep it can nest: on the current stack when that suffices, else
/// on a [`COMPILE_STACK`] made for this compile.
pub fn guarded<T>(
    source: &[u8],
    filename: &str,
    version: PythonVersion,
    compile: impl FnOnce() -> Result<T, CompileFailure>,
) -> Result<T, CompileFailure> {
    if longest_logical_line(source) < SHORT_LINE {
        return stacker::maybe_grow(SHALLOW_NEED, COMPILE_STACK, compile);
    }
    stacker::maybe_grow(COMPILE_STACK / 2, COMPILE_STACK, || {
        check_depth(source, filename, version)?;
        compile()
    })
}

/// Logical lines shorter than this cannot nest deeply enough to matter (plus the at most
/// 100 indentation levels and 200 brackets the tokenizer allows, far below every limit).
const SHORT_LINE: usize = 2_000;

/// The deepest statement/expression nesting CPython `version` compiles.
fn max_depth(version: PythonVersion) -> usize {
    match (version.major, version.minor) {
        (3, ..=12) => 2_996,
        _ => 9_998,
    }
}

/// Refuses `source` if it nests deeper than CPython `version` allows.
#[cfg(test)]
fn check(source: &[u8], filename: &str, version: PythonVersion) -> Result<(), CompileFailure> {
    guarded(source, filename, version, || Ok(()))
}

/// The parse and the depth count, for a source with a long logical line.
fn check_depth(
    source: &[u8],
    filename: &str,
    version: PythonVersion,
) -> Result<(), CompileFailure> {
    // Undecodable or unparsable sources are left to the engine, which reports them.
    // The cookie names a target may use differ; limits run only for the embedded targets.
    let decoding_version = match version.minor {
        12 => serc::PythonVersion::Py312,
        13 => serc::PythonVersion::Py313,
        15 => serc::PythonVersion::Py315,
        _ => serc::PythonVersion::Py314,
    };
    let Ok(text) = diagnostics::decode(source, filename, decoding_version) else {
        return Ok(());
    };
    let Ok(parsed) = parser::parse_module(&text) else {
        return Ok(());
    };
    let limit = max_depth(version);
    let mut meter = DepthMeter {
        depth: 0,
        limit,
        exceeded: false,
    };
    meter.visit_body(&parsed.syntax().body);
    // A tree this deep is dropped recursively; that is safe on every compile stack
    // (`COMPILE_STACK`).
    if meter.exceeded {
        return Err(CompileFailure::Rejected(
            "Sorry: RecursionError: maximum recursion depth exceeded during compilation".to_owned(),
        ));
    }
    Ok(())
}

struct DepthMeter {
    depth: usize,
    limit: usize,
    exceeded: bool,
}

impl DepthMeter {
    fn nest(&mut self, walk: impl FnOnce(&mut Self)) {
        if self.exceeded {
            return;
        }
        self.depth += 1;
        if self.depth > self.limit {
            self.exceeded = true;
        } else {
            walk(self);
        }
        self.depth -= 1;
    }
}

impl<'a> Visitor<'a> for DepthMeter {
    fn visit_stmt(&mut self, stmt: &'a ast::Stmt) {
        self.nest(|meter| ast::visitor::walk_stmt(meter, stmt));
    }

    fn visit_expr(&mut self, expr: &'a ast::Expr) {
        self.nest(|meter| ast::visitor::walk_expr(meter, expr));
    }

    fn visit_pattern(&mut self, pattern: &'a ast::Pattern) {
        self.nest(|meter| ast::visitor::walk_pattern(meter, pattern));
    }
}

/// The length in bytes of the longest logical line, over-estimated where unsure.
///
/// A logical line continues across newlines inside brackets and after a backslash. String
/// and comment tracking is approximate: any mistake makes a line look longer (or keeps a
/// bracket open), which only sends the file down the exact, slower path.
fn longest_logical_line(source: &[u8]) -> usize {
    let mut longest = 0;
    let mut start = 0;
    // Bytes of plain string literals on the current line: they cannot nest, so a long
    // docstring does not send its file down the slow path. f- and t-strings hold
    // expressions and count in full.
    let mut literal_bytes = 0;
    let mut brackets: usize = 0;
    let mut i = 0;
    while i < source.len() {
        let byte = source[i];
        // Most bytes are none of the few that matter: one table lookup each.
        if !SPECIAL[usize::from(byte)] {
            i += 1;
            continue;
        }
        match byte {
            b'#' => {
                i = memchr(b'\n', &source[i..]).map_or(source.len(), |n| i + n);
                continue;
            }
            b'\'' | b'"' => {
                let quote = byte;
                let prefix = source[..i]
                    .iter()
                    .rev()
                    .take_while(|b| b.is_ascii_alphabetic());
                let interpolated = prefix
                    .into_iter()
                    .any(|b| matches!(b, b'f' | b'F' | b't' | b'T'));
                let literal_start = i;
                let triple = source[i..].starts_with(&[quote; 3]);
                i += if triple { 3 } else { 1 };
                while i < source.len() {
                    let rest = &source[i..];
                    let found = if triple {
                        memchr2(b'\\', quote, rest)
                    } else {
                        memchr3(b'\\', b'\n', quote, rest)
                    };
                    let Some(offset) = found else {
                        i = source.len();
                        break;
                    };
                    i += offset;
                    match source[i] {
                        b'\\' => i += 2,
                        b'\n' => break,
                        _ if !triple => {
                            i += 1;
                            break;
                        }
                        _ if source[i..].starts_with(&[quote; 3]) => {
                            i += 3;
                            break;
                        }
                        _ => i += 1,
                    }
                }
                if !interpolated {
                    literal_bytes += i.min(source.len()) - literal_start;
                }
                continue;
            }
            b'(' | b'[' | b'{' => brackets += 1,
            b')' | b']' | b'}' => brackets = brackets.saturating_sub(1),
            b'\\' => i += 1,
            b'\n' if brackets == 0 => {
                longest = longest.max(i - start - literal_bytes);
                start = i + 1;
                literal_bytes = 0;
            }
            _ => {}
        }
        i += 1;
    }
    longest.max(source.len().saturating_sub(start + literal_bytes))
}

/// The bytes [`longest_logical_line`] acts on: comment, quotes, brackets, backslash, newline.
static SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let bytes = b"#'\"([{)]}\\\n";
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = true;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_lines_span_brackets_and_continuations() {
        assert_eq!(longest_logical_line(b"a\nbb\nccc\n"), 3);
        assert_eq!(longest_logical_line(b"x = (1,\n2)\ny\n"), 10);
        assert_eq!(longest_logical_line(b"x = 1 + \\\n2\n"), 11);
        // Newlines inside triple-quoted strings do not end the line, brackets in strings
        // and comments do not open one.
        assert_eq!(longest_logical_line(b"s = '('\nt\n"), 4);
        assert_eq!(longest_logical_line(b"# (\nx\n"), 3);
        // An escaped quote does not end a string, a triple-quoted one holds quotes and
        // newlines, and an unterminated string or comment runs to the end of the file.
        assert_eq!(longest_logical_line(b"s = 'a\\'('\nxy\n"), 4);
        assert_eq!(longest_logical_line(b"s = '''a'b\n(c'''\nxy\n"), 4);
        assert_eq!(longest_logical_line(b"s = ('abc\\"), 5);
        assert_eq!(longest_logical_line(b"x = 1 # (("), 10);
    }

    #[test]
    fn plain_strings_do_not_count_but_interpolated_ones_do() {
        let docstring = format!("def f():\n    \"\"\"{}\"\"\"\n", "doc ".repeat(1000));
        assert!(longest_logical_line(docstring.as_bytes()) < 20);
        let fstring = format!("x = f'{{{}}}'\n", vec!["1"; 1000].join("+"));
        assert!(longest_logical_line(fstring.as_bytes()) > 1999);
        let tstring = format!("x = rt'{{{}}}'\n", vec!["1"; 1000].join("+"));
        assert!(longest_logical_line(tstring.as_bytes()) > 1999);
    }

    fn chain(terms: usize) -> Vec<u8> {
        let mut source = b"x = 1".to_vec();
        for _ in 1..terms {
            source.extend_from_slice(b"+1");
        }
        source.push(b'\n');
        source
    }

    /// CPython 3.12.1: `x = 1+1+…` compiles with 2 995 terms and raises RecursionError
    /// with 2 996; 3.13.0: 9 997 and 9 998 (measured with `compile()`, see module docs).
    #[test]
    fn chain_limits_match_native_cpython() {
        let v312 = PythonVersion {
            major: 3,
            minor: 12,
        };
        let v313 = PythonVersion {
            major: 3,
            minor: 13,
        };
        let check =
            |terms, version| on_compile_stack(|| check(&chain(terms), "c.py", version).is_ok());
        assert!(check(2_995, v312));
        assert!(!check(2_996, v312));
        assert!(check(9_997, v313));
        assert!(!check(9_998, v313));
    }

    #[test]
    fn very_deep_chain_is_refused_quickly() {
        let v314 = PythonVersion::DEFAULT;
        let err = on_compile_stack(|| check(&chain(200_000), "c.py", v314)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Sorry: RecursionError: maximum recursion depth exceeded during compilation"
        );
    }
}
