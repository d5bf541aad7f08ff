//! CPython's PEG parser, generated from `Grammar/python.gram` (`tools/pegen/`), run only to
//! find out which SyntaxError CPython raises for a source and where.
//!
//! Why: the engines' parsers recover from errors their own way, so the line and the words of
//! their errors drift from CPython's. CPython's algorithm (`_PyPegen_run_parser`,
//! `Parser/pegen.c`) is reproduced here: a first pass without the `invalid_*` rules; on
//! failure a second pass with them; a generic `invalid syntax` at the furthest token the
//! *first* pass fetched; tokenizer errors first; then the scan of the rest of the source for
//! tokenizer errors and unclosed brackets (`_PyPegen_tokenize_full_source_to_check_for_errors`).
//!
//! Ownership: `generated_31X.rs` (3.12 to 3.15) are generated (never edited by hand); `runtime.rs` is the
//! machinery of `pegen.c` it calls; `actions.rs` the error actions. The tokens come through
//! [`TokenStream`], which the tokenizer port implements (tokens, open brackets, and where it
//! stands, which CPython's error locations read).

mod actions;
#[rustfmt::skip]
mod generated_312;
#[rustfmt::skip]
mod generated_313;
#[rustfmt::skip]
mod generated_314;
#[rustfmt::skip]
mod generated_315;
mod runtime;

pub use actions::byte_to_char_offset;
pub use runtime::Raised;

use crate::compile::syntax::lexer::{Done, Lexer};
use crate::compile::syntax::token::{Position, Token, TokenKind};
use runtime::Parser;

/// A tokenizer error, as the parser receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexFailure {
    /// `SyntaxError`, `IndentationError` or `TabError`.
    pub kind: &'static str,
    pub msg: String,
    /// The exception's attributes: 1-based line, 1-based character offsets (-1 where
    /// CPython's is).
    pub lineno: i64,
    pub offset: i64,
    pub end_lineno: i64,
    pub end_offset: i64,
    /// The tokenizer raised the exception itself (`E_ERROR`): in the scan after a parser
    /// error it replaces the parser's. Otherwise (end of input inside brackets, indentation
    /// errors) it does not.
    pub raised_by_tokenizer: bool,
    /// `E_EOF`: the input ended inside brackets or after a backslash.
    pub eof: bool,
}

/// A bracket the tokenizer has seen opened and not closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unclosed {
    pub ch: u8,
    pub line: u32,
    /// 0-based byte column.
    pub col: u32,
}

/// Where the parser gets its tokens (CPython's `tok_state` as the parser sees it).
pub trait TokenStream {
    fn next_token(&mut self) -> Result<Token, LexFailure>;
    /// The brackets open now, innermost last (`tok->parenstack`).
    fn open_brackets(&self) -> Vec<Unclosed>;
    /// Inside an f-string or t-string (`tok->tok_mode_stack_index > 0`).
    fn in_fstring(&self) -> bool;
    /// Where the tokenizer stands (`tok->lineno`, `tok->cur - tok->line_start`), for the
    /// locations CPython takes from it (`CURRENT_POS`, tokens without a column).
    fn position(&self) -> Position;
}

/// What CPython's parser makes of a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It parses: any error comes from a later stage.
    Accepted,
    /// The exception CPython raises.
    Rejected(Raised),
    /// Something we do not model (too deep, an unsupported action): ask someone else.
    Unknown,
}

/// A grammar version we have a generated parser for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grammar {
    Py312,
    Py313,
    Py314,
    Py315,
}

impl Grammar {
    /// The parser for CPython `3.minor`, if generated.
    pub fn for_minor(minor: u8) -> Option<Grammar> {
        match minor {
            12 => Some(Grammar::Py312),
            13 => Some(Grammar::Py313),
            14 => Some(Grammar::Py314),
            15 => Some(Grammar::Py315),
            _ => None,
        }
    }

    fn minor(self) -> u8 {
        match self {
            Grammar::Py312 => 12,
            Grammar::Py313 => 13,
            Grammar::Py314 => 14,
            Grammar::Py315 => 15,
        }
    }

    fn parse_file(self, p: &mut Parser<'_>) -> Option<runtime::N> {
        match self {
            Grammar::Py312 => p.parse_file_312(),
            Grammar::Py313 => p.parse_file_313(),
            Grammar::Py314 => p.parse_file_314(),
            Grammar::Py315 => p.parse_file_315(),
        }
    }
}

/// Runs CPython's parser of `grammar` over `source`, reading tokens from `stream`.
pub fn parse(grammar: Grammar, source: &str, stream: &mut dyn TokenStream) -> Outcome {
    let (keywords, soft_keywords) = match grammar {
        Grammar::Py312 => (generated_312::KEYWORDS, generated_312::SOFT_KEYWORDS),
        Grammar::Py313 => (generated_313::KEYWORDS, generated_313::SOFT_KEYWORDS),
        Grammar::Py314 => (generated_314::KEYWORDS, generated_314::SOFT_KEYWORDS),
        Grammar::Py315 => (generated_315::KEYWORDS, generated_315::SOFT_KEYWORDS),
    };
    let mut p = Parser::new(source, stream, keywords, soft_keywords);
    p.error_line_312 = grammar == Grammar::Py312;
    let res = grammar.parse_file(&mut p);
    if p.overflowed {
        return Outcome::Unknown;
    }
    if res.is_some() && !p.error_indicator {
        return Outcome::Accepted;
    }
    if p.raised.is_some() {
        if p.tokenizer_failed.is_none() {
            tokenize_rest(&mut p);
        }
        return finish(p);
    }
    let Some(last_token) = p.tokens.len().checked_sub(1) else {
        p.raise_syntax_error("error at start before reading any input".to_owned());
        return finish(p);
    };
    p.reset_for_second_pass();
    grammar.parse_file(&mut p);
    if p.overflowed {
        return Outcome::Unknown;
    }
    set_syntax_error(&mut p, last_token);
    finish(p)
}

fn finish(p: Parser<'_>) -> Outcome {
    if p.unsure.get() || p.overflowed {
        return Outcome::Unknown;
    }
    match p.raised {
        Some(raised) => Outcome::Rejected(raised),
        None => Outcome::Unknown,
    }
}

/// `_Pypegen_set_syntax_error`: the error once both passes failed.
fn set_syntax_error(p: &mut Parser<'_>, last_token: usize) {
    if p.raised.is_some() {
        if p.tokenizer_failed.is_none() {
            tokenize_rest(p);
        }
        return;
    }
    match p.tokens[last_token].kind {
        TokenKind::Indent => {
            p.raise_unexpected_indentation("unexpected indent");
        }
        TokenKind::Dedent => {
            p.raise_unexpected_indentation("unexpected unindent");
        }
        _ => {
            p.raise_invalid_syntax_at(last_token);
            tokenize_rest(p);
        }
    }
}

/// `_PyPegen_tokenize_full_source_to_check_for_errors`: read on to the end; a tokenizer
/// error replaces the parser's, and an unclosed bracket opened on an earlier line than the
/// error does too.
fn tokenize_rest(p: &mut Parser<'_>) {
    let Some(current) = p.tokens.last() else {
        return;
    };
    let current_line = i64::from(current.start.line);
    loop {
        match p.next_raw_token() {
            Ok(TokenKind::EndMarker) => return,
            Ok(_) => continue,
            Err(failure) => {
                let in_fstring = p.stream().in_fstring();
                if failure.raised_by_tokenizer {
                    if !in_fstring {
                        p.raised = Some(Raised {
                            kind: failure.kind,
                            msg: failure.msg,
                            lineno: failure.lineno,
                            offset: failure.offset,
                            end_lineno: failure.end_lineno,
                            end_offset: failure.end_offset,
                            from_tokenizer: true,
                            text: None,
                        });
                    }
                    return;
                }
                if let Some(innermost) = p.stream().open_brackets().last().copied()
                    && current_line > i64::from(innermost.line)
                {
                    let saved = p.raised.take();
                    p.error_indicator = false;
                    p.raise_unclosed_bracket(
                        innermost.ch,
                        i64::from(innermost.line),
                        i64::from(innermost.col),
                    );
                    if in_fstring {
                        p.raised = saved;
                    }
                }
                return;
            }
        }
    }
}

/// The tokenizer port is the parser's token source.
impl TokenStream for Lexer<'_> {
    fn next_token(&mut self) -> Result<Token, LexFailure> {
        Lexer::next_token(self).map_err(|e| LexFailure {
            kind: e.kind.name(),
            msg: e.msg,
            lineno: i64::from(e.lineno),
            offset: e.col_offset,
            end_lineno: i64::from(e.end_lineno),
            end_offset: e.end_col_offset,
            raised_by_tokenizer: e.done == Done::Error,
            eof: e.done == Done::Eof,
        })
    }

    fn open_brackets(&self) -> Vec<Unclosed> {
        Lexer::open_brackets(self)
            .iter()
            .map(|b| Unclosed {
                ch: b.ch,
                line: b.line,
                col: b.col,
            })
            .collect()
    }

    fn in_fstring(&self) -> bool {
        Lexer::in_fstring(self)
    }

    fn position(&self) -> Position {
        Lexer::position(self)
    }
}

/// CPython's verdict on decoded `text` (no BOM), tokenized by the tokenizer port of the same
/// version: the text the positions refer to, and the outcome.
pub fn check(grammar: Grammar, text: &str) -> (String, Outcome) {
    let mut lexer = Lexer::new(text, grammar.minor());
    let source = lexer.source().to_owned();
    let outcome = parse(grammar, &source, &mut lexer);
    (source, outcome)
}

#[cfg(test)]
mod tests;
