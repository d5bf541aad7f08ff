//! Broken code nobody picked by hand: one random mutation of a real source file, drawn from a
//! seeded PRNG so that a seed always gives the same mutants (the mutants are regenerated on
//! every run, never committed).
//!
//! The PRNG is SplitMix64, written out here (a dozen lines) rather than taken from `rand`:
//! `rand`'s `StdRng` may change its algorithm between releases, and a seed must keep naming
//! the same mutants for as long as the reported numbers refer to it.
//!
//! Mutations, one per mutant (the kinds the issue names): a token deleted, duplicated, swapped
//! with its neighbour or inserted; a line's indentation changed; a `:` or a bracket dropped;
//! Python 2 constructs; unterminated strings; invisible characters; tab/space mixes; nested
//! f-strings; bad string prefixes. Tokens are found per physical line by a rough scanner:
//! a mutation that lands inside a docstring usually leaves a valid file, which the caller
//! drops after asking CPython.
#![allow(dead_code)]

/// SplitMix64 (Steele, Lea and Flood 2014): small, fast, and fixed forever.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

pub const KINDS: &[&str] = &[
    "delete-token",
    "duplicate-token",
    "swap-tokens",
    "insert-token",
    "indentation",
    "drop-colon",
    "drop-bracket",
    "python2",
    "unterminated-string",
    "invisible-char",
    "tab-space-mix",
    "fstring",
    "string-prefix",
];

/// A token of one physical line: byte range and a rough class.
#[derive(Clone, Copy, Debug)]
struct Token {
    start: usize,
    end: usize,
    class: Class,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Name,
    Number,
    Str,
    Op,
    Bracket,
    Comment,
}

const OPERATORS: &[&str] = &[
    "**=", "//=", ">>=", "<<=", "...", "->", ":=", "**", "//", "==", "!=", "<=", ">=", "<<", ">>",
    "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=",
];

fn tokens(line: &str) -> Vec<Token> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b' ' || b == b'\t' || b == b'\n' || b == b'\r' || b == b'\x0c' {
            i += 1;
            continue;
        }
        let start = i;
        let class = if b == b'#' {
            i = bytes.len();
            Class::Comment
        } else if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
            {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'\'' || bytes[i] == b'"') && i - start <= 3 {
                i = string_end(bytes, i);
                Class::Str
            } else {
                Class::Name
            }
        } else if b.is_ascii_digit()
            || (b == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
            {
                i += 1;
            }
            Class::Number
        } else if b == b'\'' || b == b'"' {
            i = string_end(bytes, i);
            Class::Str
        } else if b"()[]{}".contains(&b) {
            i += 1;
            Class::Bracket
        } else {
            let rest = &line[i..];
            i += OPERATORS
                .iter()
                .find(|op| rest.starts_with(**op))
                .map_or(1, |op| op.len());
            Class::Op
        };
        // Never split a UTF-8 sequence.
        while i < bytes.len() && !line.is_char_boundary(i) {
            i += 1;
        }
        out.push(Token {
            start,
            end: i.min(bytes.len()),
            class,
        });
    }
    out
}

/// End of a string starting at its quote (or the end of the line for a multi-line string).
fn string_end(bytes: &[u8], quote_at: usize) -> usize {
    let quote = bytes[quote_at];
    let triple = bytes.len() >= quote_at + 3 && bytes[quote_at..quote_at + 3] == [quote; 3];
    let mut i = quote_at + if triple { 3 } else { 1 };
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if !triple {
                return i + 1;
            }
            if bytes.len() >= i + 3 && bytes[i..i + 3] == [quote; 3] {
                return i + 3;
            }
        }
        i += 1;
    }
    bytes.len()
}

const INSERTABLE: &[&str] = &[
    "(", ")", "[", "]", "{", "}", ":", ",", ".", "=", "==", "+", "*", "**", "->", ":=", ";", "@",
    "if", "else", "def", "class", "lambda", "return", "yield", "import", "from", "in", "not",
    "and", "is", "async", "await", "pass", "for", "while", "with", "as", "del", "global", "None",
    "True", "1", "0x", "1_", "'a'", "x", "...", "\\", "!", "$", "?",
];

const INVISIBLE: &[char] = &[
    '\u{200b}', '\u{00a0}', '\u{feff}', '\u{200e}', '\u{2028}', '\u{00ad}', '\u{3000}', '\u{0001}',
    '\u{007f}',
];

const PYTHON2: &[&str] = &[
    "print \"hello\"",
    "print x, y",
    "print >>sys.stderr, \"x\"",
    "print",
    "exec \"x = 1\"",
    "exec code in ns",
    "raise ValueError, \"bad\"",
    "x = 0777",
    "x = `y`",
    "if x <> y: pass",
    "x = ur'abc'",
    "x = 10L",
    "def f((a, b)): pass",
    "lambda (a, b): a",
];

const FSTRINGS: &[&str] = &[
    "x = f'{a:{b:{c:{d}}}}'",
    "x = f'{a:{b:{c}}}'",
    "x = f'{a:{b}}'",
    "x = f'{f'{f'{f'{1}'}'}'}'",
    "x = f'{a!x}'",
    "x = f'{}'",
    "x = f'{a b}'",
    "x = f'{a'",
    "x = f'a}'",
    "x = f'{a=!r:>{w}}'",
    "x = f'{lambda x: x}'",
    "x = f'{a:{b:{c:{d:{e}}}}}'",
    "x = f'{\"a\":{\"b\":{c}}}'",
    "x = f'{yield}'",
    "x = f'{*a}'",
    "x = f'{a!}'",
];

const PREFIXES: &[&str] = &[
    "ub", "ur", "bu", "UR", "bf", "fb", "uf", "ft", "tb", "rbf", "c", "bb", "rr", "uu", "Bu",
];

/// The first non-blank byte of a line, if it is code (not a comment).
fn is_code(line: &str) -> bool {
    let trimmed = line.trim_start();
    !trimmed.is_empty() && !trimmed.starts_with('#')
}

fn indentation(line: &str) -> &str {
    &line[..line.len() - line.trim_start_matches([' ', '\t', '\x0c']).len()]
}

/// One mutation of `source` (kind, mutated text), or `None` when this draw found no place for
/// its kind (the caller draws again).
pub fn mutate(rng: &mut Rng, source: &str) -> Option<(&'static str, String)> {
    let mut lines: Vec<String> = source.split_inclusive('\n').map(str::to_owned).collect();
    let code: Vec<usize> = (0..lines.len()).filter(|&i| is_code(&lines[i])).collect();
    if code.is_empty() {
        return None;
    }
    let kind = *rng.pick(KINDS);
    let at = *rng.pick(&code);
    let line = lines[at].clone();
    let toks: Vec<Token> = tokens(&line)
        .into_iter()
        .filter(|t| t.class != Class::Comment)
        .collect();
    let replace = |line: &str, start: usize, end: usize, with: &str| {
        format!("{}{}{}", &line[..start], with, &line[end..])
    };
    let new_line = match kind {
        "delete-token" => {
            let t = *rng.pick(nonempty(&toks)?);
            replace(&line, t.start, t.end, "")
        }
        "duplicate-token" => {
            let t = *rng.pick(nonempty(&toks)?);
            let text = &line[t.start..t.end];
            replace(&line, t.start, t.end, &format!("{text} {text}"))
        }
        "swap-tokens" => {
            if toks.len() < 2 {
                return None;
            }
            let i = rng.below(toks.len() - 1);
            let (a, b) = (toks[i], toks[i + 1]);
            format!(
                "{}{}{}{}{}",
                &line[..a.start],
                &line[b.start..b.end],
                &line[a.end..b.start],
                &line[a.start..a.end],
                &line[b.end..]
            )
        }
        "insert-token" => {
            let at_byte = boundary(rng, &line, &toks);
            let token = *rng.pick(INSERTABLE);
            replace(&line, at_byte, at_byte, &format!(" {token} "))
        }
        "indentation" => {
            let indent = indentation(&line);
            let body = &line[indent.len()..];
            let new_indent = match rng.below(5) {
                0 => format!("{indent} "),
                1 => format!("{indent}    "),
                2 => indent.chars().skip(1).collect(),
                3 => indent.chars().skip(4).collect(),
                _ => String::new(),
            };
            format!("{new_indent}{body}")
        }
        "drop-colon" => {
            let colons: Vec<&Token> = toks
                .iter()
                .filter(|t| &line[t.start..t.end] == ":")
                .collect();
            let t = **rng.pick(nonempty(&colons)?);
            replace(&line, t.start, t.end, "")
        }
        "drop-bracket" => {
            let brackets: Vec<&Token> = toks.iter().filter(|t| t.class == Class::Bracket).collect();
            let t = **rng.pick(nonempty(&brackets)?);
            replace(&line, t.start, t.end, "")
        }
        "python2" => {
            let indent = indentation(&line);
            let trimmed = line.trim();
            if let (Some(inner), true) = (trimmed.strip_prefix("print("), trimmed.ends_with(')')) {
                format!("{indent}print {}\n", &inner[..inner.len() - 1])
            } else if let Some(rest) = trimmed
                .strip_prefix("except ")
                .filter(|r| r.contains(" as "))
            {
                format!("{indent}except {}\n", rest.replacen(" as ", ", ", 1))
            } else {
                format!("{indent}{}\n{line}", rng.pick(PYTHON2))
            }
        }
        "unterminated-string" => {
            let strings: Vec<&Token> = toks.iter().filter(|t| t.class == Class::Str).collect();
            if !strings.is_empty() && rng.below(3) > 0 {
                let t = **rng.pick(&strings);
                // Drop the last byte of the literal: its closing quote when it closes here.
                replace(&line, t.end - 1, t.end, "")
            } else {
                let at_byte = boundary(rng, &line, &toks);
                let quote = *rng.pick(&["'", "\"", "'''", "\"\"\"", "f'", "b\""]);
                replace(&line, at_byte, at_byte, quote)
            }
        }
        "invisible-char" => {
            let c = rng.pick(INVISIBLE).to_string();
            let at_byte = if rng.below(4) == 0 {
                indentation(&line).len()
            } else {
                boundary(rng, &line, &toks)
            };
            replace(&line, at_byte, at_byte, &c)
        }
        "tab-space-mix" => {
            let indent = indentation(&line);
            if indent.is_empty() {
                return None;
            }
            let body = &line[indent.len()..];
            let new_indent = match rng.below(4) {
                0 => indent.replacen("        ", "\t", 1),
                1 => "\t".repeat(indent.len().div_ceil(4)),
                2 => format!("\t{}", &indent[indent.len().min(1)..]),
                _ => format!("{indent}\t"),
            };
            if new_indent == indent {
                return None;
            }
            format!("{new_indent}{body}")
        }
        "fstring" => {
            let indent = indentation(&line);
            format!("{indent}{}\n{line}", rng.pick(FSTRINGS))
        }
        "string-prefix" => {
            let strings: Vec<&Token> = toks.iter().filter(|t| t.class == Class::Str).collect();
            let t = **rng.pick(nonempty(&strings)?);
            let text = &line[t.start..t.end];
            let quote = text.find(['\'', '"']).unwrap_or(0);
            let prefix = rng.pick(PREFIXES).to_string();
            replace(&line, t.start, t.start + quote, &prefix)
        }
        _ => unreachable!("unknown kind {kind}"),
    };
    if new_line == line {
        return None;
    }
    lines[at] = new_line;
    Some((kind, lines.concat()))
}

fn nonempty<T>(items: &[T]) -> Option<&[T]> {
    (!items.is_empty()).then_some(items)
}

/// A byte position between tokens (or at the end of the code of the line).
fn boundary(rng: &mut Rng, line: &str, toks: &[Token]) -> usize {
    let mut places: Vec<usize> = toks.iter().map(|t| t.start).collect();
    places.push(toks.last().map_or(line.trim_end().len(), |t| t.end));
    *rng.pick(&places)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_mutants() {
        let source = "def f(a, b):\n    if a:\n        return 'x'\n    print(b)\n";
        let draw = |seed| {
            let mut rng = Rng::new(seed);
            (0..50)
                .filter_map(|_| mutate(&mut rng, source))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }
}
