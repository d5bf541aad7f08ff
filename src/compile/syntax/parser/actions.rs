//! The actions of the grammar's `invalid_*` alternatives, in Rust: the `RAISE_*` macros of
//! `Parser/pegen.h`, the raising functions of `Parser/pegen_errors.c` and the `_PyPegen_*`
//! helpers of `Parser/action_helpers.c` those actions call.
//!
//! Why by hand: these decide the words and the location of every specialised SyntaxError
//! (which node a caret starts at, whether a comma message applies inside brackets only, which
//! part of an assignment target is named), and they read the light nodes of `runtime.rs`
//! rather than CPython's AST. The generator translates each action's C expression into calls
//! of the functions below, so a new grammar version only needs new helpers here when it
//! calls a helper the older ones did not.

use super::runtime::{Kind, N, Parser, Raised};
use crate::compile::syntax::token::TokenKind;

/// `TARGETS_TYPE` of pegen.h: which kind of target an invalid-target message is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Targets {
    Star,
    Del,
    For,
}

/// CPython's `CURRENT_POS`: "wherever the tokenizer stands".
const CURRENT_POS: i64 = -5;

impl Parser<'_> {
    // ----- raising (pegen_errors.c) -----------------------------------------------------

    /// `_PyPegen_raise_error`: at the last token fetched (or the next one, `use_mark`).
    fn raise_error(&mut self, kind: &'static str, use_mark: bool, msg: String) -> Option<N> {
        if self.error_indicator && self.raised.is_some() {
            return None;
        }
        if self.tokens.is_empty() {
            return self.raise_located(kind, 0, 0, 0, -1, msg);
        }
        if use_mark && self.mark == self.tokens.len() && !self.fill_token() {
            self.error_indicator = true;
            return None;
        }
        let index = if use_mark {
            self.mark
        } else {
            self.tokens.len() - 1
        };
        let t = &self.tokens[index];
        let (lineno, end_lineno) = (i64::from(t.start.line), i64::from(t.end.line));
        let (col, end_col) = if t.no_column() {
            let (_, cur) = self.tokenizer_position();
            (cur, -1)
        } else {
            (i64::from(t.start.col) + 1, i64::from(t.end.col) + 1)
        };
        self.raise_located(kind, lineno, col, end_lineno, end_col, msg)
    }

    /// `RAISE_ERROR_KNOWN_LOCATION`: 0-based byte columns in, +1 unless `CURRENT_POS`.
    pub(super) fn raise_error_known_location(
        &mut self,
        lineno: i64,
        col: i64,
        end_lineno: i64,
        end_col: i64,
        msg: String,
    ) -> Option<N> {
        self.raise_kind_known_location("SyntaxError", lineno, col, end_lineno, end_col, msg)
    }

    fn raise_kind_known_location(
        &mut self,
        kind: &'static str,
        lineno: i64,
        col: i64,
        end_lineno: i64,
        end_col: i64,
        msg: String,
    ) -> Option<N> {
        let col = if col == CURRENT_POS { col } else { col + 1 };
        let end_col = if end_col == CURRENT_POS {
            end_col
        } else {
            end_col + 1
        };
        self.raise_located(kind, lineno, col, end_lineno, end_col, msg)
    }

    /// `_PyPegen_raise_error_known_location`: 1-based byte columns in, the exception's
    /// character offsets out (both converted with the text of the *first* line).
    fn raise_located(
        &mut self,
        kind: &'static str,
        lineno: i64,
        col: i64,
        mut end_lineno: i64,
        mut end_col: i64,
        msg: String,
    ) -> Option<N> {
        if self.error_indicator && self.raised.is_some() {
            return None;
        }
        let mut col = col;
        if col == CURRENT_POS || end_col == CURRENT_POS {
            let (line, cur) = self.tokenizer_position();
            if col == CURRENT_POS {
                col = cur;
            }
            if end_col == CURRENT_POS {
                end_lineno = line;
                end_col = cur;
            }
        }
        let text = self.error_line_312.then(|| self.error_line_312(lineno));
        let line = text.as_deref().unwrap_or(self.line_text(lineno));
        let offset = byte_to_char_offset(line, col);
        let end_offset = if end_col > 0 {
            byte_to_char_offset(line, end_col)
        } else {
            end_col
        };
        self.raised = Some(Raised {
            kind,
            msg,
            lineno,
            offset,
            end_lineno,
            end_offset,
            from_tokenizer: false,
            text,
        });
        self.error_indicator = true;
        None
    }

    /// 3.12's error line (`_PyPegen_raise_error_known_location` with a string source, as
    /// `py_compile` has): while the tokenizer is still on line `lineno`, its whole buffer
    /// `tok->buf..tok->inp`, which starts where the current run of joined lines starts (a
    /// token spanning lines, a backslash continuation) and keeps its newline; once the
    /// tokenizer has moved past it, line `lineno` alone without its newline. Both the text
    /// of the exception and the line the offsets are clamped to.
    fn error_line_312(&self, lineno: i64) -> String {
        let (tok_line, _) = self.tokenizer_position();
        let line = self.line_text(lineno);
        let last = self.tokens.last();
        let plain = last.is_none_or(|t| {
            matches!(
                t.kind,
                TokenKind::Indent
                    | TokenKind::Dedent
                    | TokenKind::EndMarker
                    | TokenKind::ErrorToken
            )
        });
        if tok_line > lineno {
            return line.strip_suffix('\n').unwrap_or(line).to_owned();
        }
        let first = self.buffer_start_line();
        if plain || first >= lineno || first < 1 {
            return line.to_owned();
        }
        let start = self.line_starts[first as usize - 1];
        let end = self.line_starts[lineno as usize - 1] + line.len();
        self.source[start..end].to_owned()
    }

    /// The line `tok->buf` starts on: going back from the last token fetched, over tokens
    /// that end on the line the run has reached and over backslash continuations.
    fn buffer_start_line(&self) -> i64 {
        let Some(mut k) = self.tokens.len().checked_sub(1) else {
            return 0;
        };
        let mut line = self.tokens[k].start.line;
        while k > 0 {
            let p = &self.tokens[k - 1];
            if matches!(
                p.kind,
                TokenKind::Newline | TokenKind::Indent | TokenKind::Dedent
            ) {
                break;
            }
            if p.end.line == line {
                line = line.min(p.start.line);
            } else {
                let from = p.text.end;
                let to = self.line_starts[line as usize - 1];
                let gap = self.source.get(from..to).unwrap_or("");
                let joined = !gap.contains('#')
                    && gap
                        .match_indices('\n')
                        .all(|(i, _)| gap[..i].ends_with('\\'));
                if !joined {
                    break;
                }
                line = p.start.line;
            }
            k -= 1;
        }
        i64::from(line)
    }

    pub(super) fn raise_syntax_error(&mut self, msg: String) -> Option<N> {
        self.raise_error("SyntaxError", false, msg)
    }

    pub(super) fn raise_indentation_error(&mut self, msg: String) -> Option<N> {
        self.raise_error("IndentationError", false, msg)
    }

    pub(super) fn raise_on_next_token(&mut self, msg: String) -> Option<N> {
        self.raise_error("SyntaxError", true, msg)
    }

    pub(super) fn raise_known_location(&mut self, a: N, msg: String) -> Option<N> {
        self.raise_known_range(a, a, msg)
    }

    pub(super) fn raise_known_range(&mut self, a: N, b: N, msg: String) -> Option<N> {
        let (l, c, el, ec) = (
            self.lineno(a),
            self.col(a),
            self.end_lineno(b),
            self.end_col(b),
        );
        self.raise_error_known_location(l, c, el, ec, msg)
    }

    pub(super) fn raise_starting_from(&mut self, a: N, msg: String) -> Option<N> {
        let (l, c) = (self.lineno(a), self.col(a));
        self.raise_error_known_location(l, c, CURRENT_POS, CURRENT_POS, msg)
    }

    /// `RAISE_INDENTATION_ERROR` for the tokenizer-level "unexpected indent/unindent".
    pub(super) fn raise_unexpected_indentation(&mut self, msg: &str) -> Option<N> {
        self.raise_error("IndentationError", false, msg.to_owned())
    }

    /// `RAISE_SYNTAX_ERROR_INVALID_TARGET`.
    pub(super) fn raise_invalid_target(&mut self, targets: Targets, e: N) -> Option<N> {
        let invalid = self.get_invalid_target(e, targets)?;
        let name = self.get_expr_name(invalid);
        let msg = match targets {
            Targets::Star | Targets::For => format!("cannot assign to {name}"),
            Targets::Del => format!("cannot delete {name}"),
        };
        self.raise_known_location(invalid, msg)
    }

    /// `'%c' was never closed` at the innermost bracket still open.
    pub(super) fn raise_unclosed_bracket(&mut self, ch: u8, line: i64, col: i64) -> Option<N> {
        let msg = format!("'{}' was never closed", ch as char);
        self.raise_kind_known_location("SyntaxError", line, col, line, -1, msg)
    }

    /// `RAISE_SYNTAX_ERROR_KNOWN_LOCATION(last_token, "invalid syntax")` on a token index.
    pub(super) fn raise_invalid_syntax_at(&mut self, token: usize) -> Option<N> {
        let n = N::token_at(token);
        self.raise_known_location(n, "invalid syntax".to_owned())
    }

    pub(super) fn err_occurred(&self) -> bool {
        self.raised.is_some()
    }

    // ----- helpers of action_helpers.c ----------------------------------------------------

    /// `_PyPegen_get_expr_name`.
    pub(super) fn get_expr_name(&self, e: N) -> &'static str {
        match self.kind(e) {
            Kind::Attribute => "attribute",
            Kind::Subscript => "subscript",
            Kind::Starred => "starred",
            Kind::Name => "name",
            Kind::List => "list",
            Kind::Tuple => "tuple",
            Kind::Lambda => "lambda",
            Kind::Call => "function call",
            Kind::BoolOp | Kind::BinOp | Kind::UnaryOp => "expression",
            Kind::GeneratorExp => "generator expression",
            Kind::Yield | Kind::YieldFrom => "yield expression",
            Kind::Await => "await expression",
            Kind::ListComp => "list comprehension",
            Kind::SetComp => "set comprehension",
            Kind::DictComp => "dict comprehension",
            Kind::Dict => "dict literal",
            Kind::Set => "set display",
            Kind::JoinedStr | Kind::FormattedValue => "f-string expression",
            Kind::TemplateStr | Kind::Interpolation => "t-string expression",
            Kind::Constant | Kind::Strings => "literal",
            Kind::ConstTrue => "True",
            Kind::ConstFalse => "False",
            Kind::ConstNone => "None",
            Kind::ConstEllipsis => "ellipsis",
            Kind::Compare => "comparison",
            Kind::IfExp => "conditional expression",
            Kind::NamedExpr => "named expression",
            _ => {
                // A node kind we do not model: the message would be a guess.
                self.unsure.set(true);
                "expression"
            }
        }
    }

    /// `_PyPegen_get_invalid_target`.
    fn get_invalid_target(&self, e: N, targets: Targets) -> Option<N> {
        if e == N::NONE {
            return None;
        }
        match self.kind(e) {
            Kind::List | Kind::Tuple => self
                .children(e)
                .to_vec()
                .into_iter()
                .find_map(|elt| self.get_invalid_target(elt, targets)),
            Kind::Starred => {
                if targets == Targets::Del {
                    return Some(e);
                }
                let value = self.children(e).first().copied()?;
                self.get_invalid_target(value, targets)
            }
            Kind::Compare => {
                if targets == Targets::For {
                    let kids = self.children(e);
                    if kids.get(1).is_some_and(|&op| self.kind(op) == Kind::CmpIn) {
                        return self.get_invalid_target(kids[0], targets);
                    }
                    return None;
                }
                Some(e)
            }
            Kind::Name | Kind::Subscript | Kind::Attribute => None,
            _ => Some(e),
        }
    }

    /// `_PyPegen_check_legacy_stmt`: a Name `print` or `exec`.
    pub(super) fn check_legacy_stmt(&self, a: N) -> bool {
        self.kind(a) == Kind::Name && matches!(self.text_of(a), "print" | "exec")
    }

    /// `_PyPegen_check_barry_as_flufl`: `<>` is not `!=` without the easter egg.
    pub(super) fn check_barry_as_flufl(&self, t: N) -> bool {
        self.text_of(t) != "!="
    }

    /// `invalid_expression`'s comma rule (3.14: a range from `a` to `b`, inside brackets).
    pub(super) fn raise_error_for_missing_comma(&mut self, a: N, b: N) -> Option<N> {
        if self.check_legacy_stmt(a) {
            return None;
        }
        if self.mark == 0 || self.tokens[self.mark - 1].level == 0 {
            return None;
        }
        self.raise_known_range(
            a,
            b,
            "invalid syntax. Perhaps you forgot a comma?".to_owned(),
        )
    }

    /// `p->tokens[p->mark-1]->level`.
    pub(super) fn prev_token_level(&self) -> u32 {
        self.mark
            .checked_sub(1)
            .map_or(0, |previous| self.tokens[previous].level)
    }

    /// `PyPegen_first_item` / `PyPegen_last_item` of a sequence.
    pub(super) fn first_item(&self, seq: N) -> N {
        self.children(seq).first().copied().unwrap_or(seq)
    }

    pub(super) fn last_item(&self, seq: N) -> N {
        self.children(seq).last().copied().unwrap_or(seq)
    }

    /// `_PyPegen_get_last_comprehension_item`: the last `if`, else the iterable.
    pub(super) fn get_last_comprehension_item(&self, comprehension: N) -> N {
        let kids = self.children(comprehension);
        match kids {
            [_, iter, ifs] => self.children(*ifs).last().copied().unwrap_or(*iter),
            [_, iter] => *iter,
            _ => comprehension,
        }
    }

    /// The positional arguments of a Call built by `args` (`_PyPegen_collect_call_seqs`).
    fn call_arguments(&self, call: N) -> (Vec<N>, bool) {
        let mut positional = Vec::new();
        let mut unpacking = false;
        for &part in self.children(call) {
            let elems: Vec<N> = if self.kind(part) == Kind::Seq {
                self.children(part).to_vec()
            } else {
                vec![part]
            };
            for e in elems {
                match self.kind(e) {
                    Kind::Keyword => {}
                    Kind::KeywordUnpack => unpacking = true,
                    _ => positional.push(e),
                }
            }
        }
        (positional, unpacking)
    }

    /// `_PyPegen_concatenate_strings`: bytes and text cannot be mixed; otherwise the node.
    pub(super) fn concatenate_strings(&mut self, parts: N, first: usize) -> Option<N> {
        let (mut bytes, mut text) = (false, false);
        for &part in self.children(parts) {
            let token = self.span(part).0;
            if self.tokens[token].kind == TokenKind::String {
                let literal = self.token_text(token);
                let prefix = &literal[..literal.find(['\'', '"']).unwrap_or(0)];
                if prefix.contains(['b', 'B']) {
                    bytes = true;
                } else {
                    text = true;
                }
            } else {
                text = true;
            }
        }
        if bytes && text {
            return self.raise_syntax_error("cannot mix bytes and nonbytes literals".to_owned());
        }
        Some(self.node(Kind::Strings, first, &[parts]))
    }

    /// `_PyPegen_check_fstring_conversion`: `!` right before one of `s`, `r`, `a`.
    pub(super) fn check_fstring_conversion(&mut self, conv_token: N, conv: N) -> Option<N> {
        let (bang_index, name_index) = (self.span(conv_token).1, self.span(conv).0);
        let kind = self.enclosing_string_kind(bang_index);
        let (bang, name) = (&self.tokens[bang_index], &self.tokens[name_index]);
        if bang.end.line != name.start.line || bang.end.col != name.start.col {
            return self.raise_known_range(
                conv_token,
                conv,
                format!("{kind}: conversion type must come right after the exclamanation mark"),
            );
        }
        let id = self.text_of(conv);
        if !matches!(id, "s" | "r" | "a") {
            let msg = format!(
                "{kind}: invalid conversion character {}: expected 's', 'r', or 'a'",
                python_repr(id)
            );
            return self.raise_known_location(conv, msg);
        }
        Some(conv)
    }

    /// `f-string` or `t-string`: the innermost string literal still open at token `index`.
    fn enclosing_string_kind(&self, index: usize) -> &'static str {
        let mut depth = 0usize;
        for t in self.tokens[..index].iter().rev() {
            match t.kind {
                TokenKind::FStringEnd | TokenKind::TStringEnd => depth += 1,
                TokenKind::FStringStart | TokenKind::TStringStart if depth > 0 => depth -= 1,
                TokenKind::TStringStart => return "t-string",
                TokenKind::FStringStart => return "f-string",
                _ => {}
            }
        }
        "f-string"
    }

    /// `_PyPegen_nonparen_genexp_in_call`.
    pub(super) fn nonparen_genexp_in_call(&mut self, args: N, comprehensions: N) -> Option<N> {
        let (positional, _) = self.call_arguments(args);
        if positional.len() <= 1 {
            return None;
        }
        let last = self.last_item(comprehensions);
        let end = self.get_last_comprehension_item(last);
        self.raise_known_range(
            positional[positional.len() - 1],
            end,
            "Generator expression must be parenthesized".to_owned(),
        )
    }

    /// `_PyPegen_arguments_parsing_error`.
    pub(super) fn arguments_parsing_error(&mut self, e: N) -> Option<N> {
        let (_, unpacking) = self.call_arguments(e);
        let msg = if unpacking {
            "positional argument follows keyword argument unpacking"
        } else {
            "positional argument follows keyword argument"
        };
        self.raise_syntax_error(msg.to_owned())
    }
}

/// `repr()` of a str (identifiers here, so only the quote choice matters).
fn python_repr(s: &str) -> String {
    if s.contains('\'') && !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\'', "\\'"))
    }
}

/// `_PyPegen_byte_offset_to_character_offset`: the characters in the first `col` bytes of
/// `line` (a 1-based byte column becomes a 1-based character offset), clamped to the line.
pub fn byte_to_char_offset(line: &str, col: i64) -> i64 {
    if col <= 0 {
        return col.max(0);
    }
    let bytes = line.as_bytes();
    let col = (col as usize).min(bytes.len() + 1);
    let within = col.min(bytes.len());
    let decoded = String::from_utf8_lossy(&bytes[..within]).chars().count();
    (decoded + usize::from(col > bytes.len())) as i64
}

#[cfg(test)]
mod tests {
    use super::byte_to_char_offset;

    #[test]
    fn byte_columns_become_character_offsets() {
        // 'é' is two bytes: the byte after it is character 2 (1-based 3 bytes in -> 2).
        assert_eq!(byte_to_char_offset("é = 1\n", 3), 2);
        // A column inside a multi-byte character counts that character.
        assert_eq!(byte_to_char_offset("é = 1\n", 1), 1);
        // One past the end (CPython decodes the terminating NUL).
        assert_eq!(byte_to_char_offset("ab\n", 4), 4);
        assert_eq!(byte_to_char_offset("ab\n", 40), 4);
    }
}
