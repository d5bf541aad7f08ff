//! Number literals and their errors (the number branch of `tok_get_normal_mode`,
//! `tok_decimal_tail`, `verify_end_of_number`).
//!
//! Why the checks live in the tokenizer: CPython rejects `0x`, `1_`, `0o8`, `012` and a
//! literal glued to a name (`1abc`) while reading the number, with messages of their own
//! (`invalid decimal literal`, `leading zeros in decimal integer literals are not permitted`,
//! ...), before the parser could call it `invalid syntax`.

use super::super::token::TokenKind;
use super::{EOF, Fail, Lexer, Step, is_digit, is_potential_identifier_char};

fn is_xdigit(c: i32) -> bool {
    c >= 0 && (c as u8).is_ascii_hexdigit()
}

fn is_octal(c: i32) -> bool {
    (b'0' as i32..b'8' as i32).contains(&c)
}

fn is_binary(c: i32) -> bool {
    c == '0' as i32 || c == '1' as i32
}

impl Lexer<'_> {
    /// A number starting with the digit `c` (already read).
    pub(super) fn number(&mut self, c: i32) -> Step {
        if c != '0' as i32 {
            let c = self.decimal_tail()?;
            if c == '.' as i32 {
                let c = self.nextc();
                return self.number_fraction(c);
            }
            return self.number_exponent_or_end(c);
        }
        let c = self.nextc();
        match c as u8 {
            b'x' | b'X' if c != EOF => {
                let mut c = self.nextc();
                loop {
                    if c == '_' as i32 {
                        c = self.nextc();
                    }
                    if !is_xdigit(c) {
                        self.backup(c);
                        return self.syntax_error("invalid hexadecimal literal".into());
                    }
                    loop {
                        c = self.nextc();
                        if !is_xdigit(c) {
                            break;
                        }
                    }
                    if c != '_' as i32 {
                        break;
                    }
                }
                self.verify_end_of_number(c, "hexadecimal")?;
                self.number_end(c)
            }
            b'o' | b'O' if c != EOF => self.radix(is_octal, "octal"),
            b'b' | b'B' if c != EOF => self.radix(is_binary, "binary"),
            _ => {
                let mut c = c;
                let mut nonzero = false;
                loop {
                    if c == '_' as i32 {
                        c = self.nextc();
                        if !is_digit(c) {
                            self.backup(c);
                            return self.syntax_error("invalid decimal literal".into());
                        }
                    }
                    if c != '0' as i32 {
                        break;
                    }
                    c = self.nextc();
                }
                let zeros_end = self.cur;
                if is_digit(c) {
                    nonzero = true;
                    c = self.decimal_tail()?;
                }
                if c == '.' as i32 {
                    let c = self.nextc();
                    return self.number_fraction(c);
                } else if c == 'e' as i32 || c == 'E' as i32 {
                    return self.number_exponent(c);
                } else if c == 'j' as i32 || c == 'J' as i32 {
                    return self.number_imaginary();
                } else if nonzero {
                    self.backup(c);
                    let col = (self.start + 1 - self.line_start) as i64;
                    let end = (zeros_end - self.line_start) as i64;
                    return self.syntax_error_range(
                        col,
                        end,
                        "leading zeros in decimal integer literals are not permitted; \
                         use an 0o prefix for octal integers"
                            .into(),
                    );
                }
                self.verify_end_of_number(c, "decimal")?;
                self.number_end(c)
            }
        }
    }

    /// Octal or binary digits after the `0o` / `0b`.
    fn radix(&mut self, valid: fn(i32) -> bool, kind: &str) -> Step {
        let mut c = self.nextc();
        loop {
            if c == '_' as i32 {
                c = self.nextc();
            }
            if !valid(c) {
                if is_digit(c) {
                    return self.syntax_error(format!(
                        "invalid digit '{}' in {kind} literal",
                        c as u8 as char
                    ));
                }
                self.backup(c);
                return self.syntax_error(format!("invalid {kind} literal"));
            }
            loop {
                c = self.nextc();
                if !valid(c) {
                    break;
                }
            }
            if c != '_' as i32 {
                break;
            }
        }
        if is_digit(c) {
            return self.syntax_error(format!(
                "invalid digit '{}' in {kind} literal",
                c as u8 as char
            ));
        }
        self.verify_end_of_number(c, kind)?;
        self.number_end(c)
    }

    /// After the `.` of a number; `c` is the character after it.
    pub(super) fn number_fraction(&mut self, c: i32) -> Step {
        let c = if is_digit(c) { self.decimal_tail()? } else { c };
        self.number_exponent_or_end(c)
    }

    fn number_exponent_or_end(&mut self, c: i32) -> Step {
        if c == 'e' as i32 || c == 'E' as i32 {
            return self.number_exponent(c);
        }
        if c == 'j' as i32 || c == 'J' as i32 {
            return self.number_imaginary();
        }
        self.verify_end_of_number(c, "decimal")?;
        self.number_end(c)
    }

    fn number_exponent(&mut self, e: i32) -> Step {
        let mut c = self.nextc();
        if c == '+' as i32 || c == '-' as i32 {
            c = self.nextc();
            if !is_digit(c) {
                self.backup(c);
                return self.syntax_error("invalid decimal literal".into());
            }
        } else if !is_digit(c) {
            self.backup(c);
            self.verify_end_of_number(e, "decimal")?;
            self.backup(e);
            return self.token_here(TokenKind::Number);
        }
        let c = self.decimal_tail()?;
        if c == 'j' as i32 || c == 'J' as i32 {
            return self.number_imaginary();
        }
        self.verify_end_of_number(c, "decimal")?;
        self.number_end(c)
    }

    fn number_imaginary(&mut self) -> Step {
        let c = self.nextc();
        self.verify_end_of_number(c, "imaginary")?;
        self.number_end(c)
    }

    fn number_end(&mut self, c: i32) -> Step {
        self.backup(c);
        self.token_here(TokenKind::Number)
    }

    /// Digits with single underscores between them; returns the first character after.
    fn decimal_tail(&mut self) -> Result<i32, Fail> {
        loop {
            let mut c;
            loop {
                c = self.nextc();
                if !is_digit(c) {
                    break;
                }
            }
            if c != '_' as i32 {
                return Ok(c);
            }
            c = self.nextc();
            if !is_digit(c) {
                self.backup(c);
                return self.syntax_error("invalid decimal literal".into());
            }
        }
    }

    /// A number must not run into a name; before the keywords that may follow a number in
    /// valid code (`1if x else y`) CPython only warns.
    fn verify_end_of_number(&mut self, c: i32, kind: &str) -> Result<(), Fail> {
        let keyword_follows = match u8::try_from(c).unwrap_or(0) {
            b'a' => self.lookahead(b"nd"),
            b'e' => self.lookahead(b"lse"),
            b'f' => self.lookahead(b"or"),
            b'i' => {
                let c2 = self.nextc();
                self.backup(c2);
                c2 == 'f' as i32 || c2 == 'n' as i32 || c2 == 's' as i32
            }
            b'o' => self.lookahead(b"r"),
            b'n' => self.lookahead(b"ot"),
            _ => false,
        };
        if keyword_follows {
            return Ok(()); // a SyntaxWarning in CPython
        }
        if c < 128 && is_potential_identifier_char(c) {
            self.backup(c);
            return self.syntax_error(format!("invalid {kind} literal"));
        }
        Ok(())
    }

    /// Whether `rest` follows and ends a word (`lookahead`); consumes nothing.
    fn lookahead(&mut self, rest: &[u8]) -> bool {
        let mut matched = 0;
        let result;
        loop {
            let c = self.nextc();
            if matched == rest.len() {
                result = !is_potential_identifier_char(c);
                self.backup(c);
                break;
            }
            if c == i32::from(rest[matched]) {
                matched += 1;
                continue;
            }
            self.backup(c);
            result = false;
            break;
        }
        while matched > 0 {
            matched -= 1;
            self.backup(i32::from(rest[matched]));
        }
        result
    }
}
