//! CPython's tokenizer limit on replacement fields nested through format specs, which both
//! engines accept: `f'{a:{b:{c:{d}}}}'` is `f-string: expressions nested too deeply`.
//!
//! The tokenizer counts, per f-string (or t-string), the replacement fields open through
//! format specs; the fourth level is refused at its `{` (checked on CPython 3.12.1, 3.13.0 and
//! the 3.14.2 oracle: `f'{a:{b:{c}}}'` compiles, `f'{a:{b:{c:{d}}}}'` does not; fields side by
//! side in one spec, `f'{a:{b}{c:{d}}}'`, do not add up, and a nested f-string counts anew).
//! This is a byte scan that follows strings and comments; it only reports, it never decides
//! that a file is valid.

/// Where the first too-deep field opens: 1-based line and 0-based byte column of its `{`.
pub fn first_too_deep(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    // A format spec needs a ':' inside braces: files without "{" cannot have one.
    memchr::memchr(b'{', bytes)?;
    let mut scanner = Scanner { bytes, i: 0 };
    scanner.code(None).err().map(|at| scanner.position(at))
}

/// Nesting of fields through format specs at which CPython refuses (MAX_EXPR_NESTING + 1).
const TOO_DEEP: usize = 4;

struct Scanner<'a> {
    bytes: &'a [u8],
    i: usize,
}

/// `Err(index of the offending '{')`.
type Scan = Result<(), usize>;

impl Scanner<'_> {
    fn position(&self, at: usize) -> (usize, usize) {
        let before = &self.bytes[..at];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line = 1 + memchr::memchr_iter(b'\n', before).count();
        (line, at - line_start)
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.i + ahead).copied()
    }

    /// Code until `until` (a closing byte at bracket depth 0, for a replacement field's
    /// expression: `}` or `:`), or the end. With `until`, `!` before `r`/`s`/`a` also ends it
    /// (a conversion), and returns with `self.i` on the stopping byte.
    fn code(&mut self, field_level: Option<usize>) -> Scan {
        let mut depth = 0usize;
        while let Some(b) = self.peek(0) {
            if field_level.is_none() {
                // Outside fields only comments and strings matter: jump to the next one.
                match memchr::memchr3(b'#', b'\'', b'"', &self.bytes[self.i..]) {
                    Some(n) if n > 0 => {
                        self.i += n;
                        continue;
                    }
                    Some(_) => {}
                    None => return Ok(()),
                }
            }
            match b {
                b'#' => {
                    // Comments end at the line's end (inside a single-quoted field the
                    // string ends there too, which the engines report).
                    self.i = memchr::memchr(b'\n', &self.bytes[self.i..])
                        .map_or(self.bytes.len(), |n| self.i + n);
                }
                b'\'' | b'"' => self.string()?,
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    self.i += 1;
                }
                b')' | b']' => {
                    depth = depth.saturating_sub(1);
                    self.i += 1;
                }
                b'}' => {
                    if depth == 0 && field_level.is_some() {
                        return Ok(());
                    }
                    depth = depth.saturating_sub(1);
                    self.i += 1;
                }
                b':' if depth == 0 && field_level.is_some() => return Ok(()),
                b'!' if depth == 0 && field_level.is_some() && self.peek(1) != Some(b'=') => {
                    return Ok(());
                }
                b'\n' if field_level.is_some() && depth == 0 => return Ok(()),
                _ => self.i += 1,
            }
        }
        Ok(())
    }

    /// A string literal starting at its quote; the prefix is the letters just before it.
    fn string(&mut self) -> Scan {
        let quote = self.bytes[self.i];
        let prefix_start = self.bytes[..self.i]
            .iter()
            .rposition(|b| !b.is_ascii_alphabetic())
            .map_or(0, |p| p + 1);
        let prefix = &self.bytes[prefix_start..self.i];
        let interpolated = prefix.len() <= 3
            && prefix
                .iter()
                .any(|b| matches!(b, b'f' | b'F' | b't' | b'T'));
        let raw = prefix.iter().any(|b| matches!(b, b'r' | b'R'));
        let triple = self.bytes[self.i..].starts_with(&[quote; 3]);
        self.i += if triple { 3 } else { 1 };
        self.literal(quote, triple, raw, interpolated.then_some(0))
    }

    /// The literal part of a string (or of a format spec when `quote` is 0), from `self.i` to
    /// past its closing quote (or onto the `}` that ends the spec). `level` is the number of
    /// fields open around it in this f-string, `None` for a plain string.
    fn literal(&mut self, quote: u8, triple: bool, raw: bool, level: Option<usize>) -> Scan {
        let in_spec = quote == 0;
        while let Some(b) = self.peek(0) {
            if b == b'\\' && !raw {
                self.i += 2;
                continue;
            }
            if !in_spec && b == quote {
                if !triple {
                    self.i += 1;
                    return Ok(());
                }
                if self.bytes[self.i..].starts_with(&[quote; 3]) {
                    self.i += 3;
                    return Ok(());
                }
            }
            if b == b'\n' && !triple {
                return Ok(()); // unterminated, or a spec cut by a newline: the engines say so
            }
            let Some(level) = level else {
                // A plain string: only escapes, its quote and newlines matter.
                self.i += memchr::memchr3(b'\\', quote, b'\n', &self.bytes[self.i + 1..])
                    .map_or(self.bytes.len() - self.i, |n| n + 1);
                continue;
            };
            match b {
                b'{' if self.peek(1) == Some(b'{') && !in_spec => self.i += 2,
                b'}' if in_spec => return Ok(()),
                b'}' if self.peek(1) == Some(b'}') => self.i += 2,
                b'{' => self.field(level + 1, quote, triple, raw)?,
                _ => self.i += 1,
            }
        }
        Ok(())
    }

    /// A replacement field at `self.i` (its `{`), `level` deep.
    fn field(&mut self, level: usize, quote: u8, triple: bool, raw: bool) -> Scan {
        if level >= TOO_DEEP {
            return Err(self.i);
        }
        self.i += 1;
        self.code(Some(level))?;
        if self.peek(0) == Some(b'!') {
            while self
                .peek(0)
                .is_some_and(|b| b != b':' && b != b'}' && b != b'\n')
            {
                self.i += 1;
            }
        }
        if self.peek(0) == Some(b':') {
            self.i += 1;
            // The spec belongs to the enclosing string: its quote still ends it.
            let _ = (quote, triple);
            self.literal(0, true, raw, Some(level))?;
        }
        if self.peek(0) == Some(b'}') {
            self.i += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::first_too_deep;

    /// Verdicts of CPython 3.12.1 and 3.13.0 `compile()` (and the 3.14.2 oracle for the first
    /// two rejections); positions are CPython's (offset = bytes before the `{`).
    #[test]
    fn four_levels_through_specs_are_refused() {
        assert_eq!(first_too_deep("x = f'{a:{b:{c:{d}}}}'\n"), Some((1, 15)));
        assert_eq!(first_too_deep("f'{a:{b:{c:{d:{e}}}}}'"), Some((1, 11)));
        assert_eq!(
            first_too_deep("y = 1\nz = f\"{a!r:{b:{c:{d}}}}\"\n"),
            Some((2, 17))
        );
    }

    #[test]
    fn what_cpython_accepts_passes() {
        for ok in [
            "f'{a:{b}}'",
            "f'{a:{b:{c}}}'",
            "f'{a:{b}{c:{d}}}'",
            "f'{a:{b:{c}}{d}}'",
            "f'{x:{f\"{y:{z}}\"}}'",
            "f'{a!r:{b:{c}}}'",
            "f'''{a:{b:{c}}}'''",
            "f'{a:{b}:{c:{d}}}'",
            "f'{a:{b:{c}x}}'",
            "d = {1: {2: {3: {4: 5}}}}",
            "s = '{a:{b:{c:{d}}}}'",
            "# f'{a:{b:{c:{d}}}}'",
            "f'{ {1: {2: {3: 4}}}[1] }'",
        ] {
            assert_eq!(first_too_deep(ok), None, "{ok}");
        }
    }
}
