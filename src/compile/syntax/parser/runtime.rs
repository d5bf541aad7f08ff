//! The machinery the generated parser runs on: CPython's `Parser` struct and the small
//! functions of `Parser/pegen.c` its generated code calls (token fetching, keyword lookup,
//! memoisation, growing the seed of left-recursive rules, lookaheads, forced tokens).
//!
//! Why it mirrors pegen.c so closely: where CPython reports a generic `invalid syntax` is the
//! furthest token its first pass ever *fetched*, so every place that fetches a token (a
//! memo lookup, a lookahead, a forced token) has to fetch exactly when CPython's does.

use super::{LexFailure, TokenStream};
use crate::compile::syntax::token::{Position, TokenKind};

/// CPython's `MAXSTACK`: deeper than this the parser gives up (MemoryError in CPython).
const MAXSTACK: u32 = 6000;

/// Stop (and let the older path decide) before the thread's stack runs out.
const STACK_RESERVE: usize = 512 * 1024;

/// A parse result: a light node, or a token (high bit set), or nothing ([`N::NONE`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct N(u32);

impl N {
    const TOKEN: u32 = 1 << 31;
    /// An absent optional child.
    pub const NONE: N = N(u32::MAX);

    fn token(index: usize) -> N {
        N(Self::TOKEN | index as u32)
    }

    /// The token at `index` as a parse result.
    pub(super) fn token_at(index: usize) -> N {
        Self::token(index)
    }

    pub(super) fn as_token(self) -> Option<usize> {
        (self != N::NONE && self.0 & Self::TOKEN != 0).then_some((self.0 & !Self::TOKEN) as usize)
    }
}

/// What an AST node is, as far as the error helpers need to know (`_PyPegen_get_expr_name`,
/// `_PyPegen_get_invalid_target`); everything else is `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Attribute,
    Subscript,
    Starred,
    Name,
    List,
    Tuple,
    Lambda,
    Call,
    BoolOp,
    BinOp,
    UnaryOp,
    GeneratorExp,
    Yield,
    YieldFrom,
    Await,
    ListComp,
    SetComp,
    DictComp,
    Dict,
    Set,
    Compare,
    IfExp,
    NamedExpr,
    Slice,
    JoinedStr,
    FormattedValue,
    TemplateStr,
    Interpolation,
    Constant,
    ConstTrue,
    ConstFalse,
    ConstNone,
    ConstEllipsis,
    /// `_PyPegen_concatenate_strings`: a JoinedStr if any part is one, else a Constant.
    Strings,
    /// A `CmpopExprPair` whose operator is `in`.
    CmpIn,
    /// Any other `CmpopExprPair`.
    CmpOther,
    /// `name=value` in a call.
    Keyword,
    /// `**value` in a call.
    KeywordUnpack,
    /// One `for ... in ... if ...` clause.
    Comprehension,
    /// An `asdl_seq` (loops, gathers, the sequence helpers).
    Seq,
    Other,
}

/// One token as the parser keeps it (`Token` of pegen.h).
#[derive(Clone, Debug)]
pub struct Tok {
    pub kind: TokenKind,
    pub start: Position,
    pub end: Position,
    pub text: std::ops::Range<usize>,
    /// Index into the grammar's keywords, or -1 (a keyword has a type of its own in CPython).
    pub keyword: i16,
    /// Bracket depth after this token (`tok->level`).
    pub level: u32,
}

impl Tok {
    /// INDENT, DEDENT, ENDMARKER and ERRORTOKEN carry column -1 in CPython.
    pub fn no_column(&self) -> bool {
        matches!(
            self.kind,
            TokenKind::Indent | TokenKind::Dedent | TokenKind::EndMarker | TokenKind::ErrorToken
        )
    }
}

#[derive(Clone, Debug)]
struct Node {
    kind: Kind,
    /// First token of the node (`EXTRA`'s start).
    first: u32,
    /// Last non-whitespace token of the node (`_PyPegen_get_last_nonnwhitespace_token`).
    last: u32,
    kids: (u32, u32),
}

/// The exception the parser raised: CPython's `SyntaxError` attributes, offsets already in
/// characters of the line (`_PyPegen_raise_error_known_location`), -1 where CPython has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Raised {
    pub kind: &'static str,
    pub msg: String,
    pub lineno: i64,
    pub offset: i64,
    pub end_lineno: i64,
    pub end_offset: i64,
    /// Raised by the tokenizer (its exception is final for the parser).
    pub from_tokenizer: bool,
    /// The exception's `text` where it is not simply line `lineno` (3.12: the tokenizer's
    /// buffer, which can start on an earlier line).
    pub text: Option<String>,
}

pub struct Parser<'s> {
    pub(super) source: &'s str,
    /// The grammar's keywords and soft keywords (they differ between versions).
    keywords: &'static [&'static str],
    soft_keywords: &'static [&'static str],
    stream: &'s mut dyn TokenStream,
    pub(super) tokens: Vec<Tok>,
    /// 3.12's `_PyPegen_raise_error_known_location`: the error line is the tokenizer's
    /// buffer (see `actions::error_line_312`).
    pub(super) error_line_312: bool,
    pub(super) mark: usize,
    pub(super) error_indicator: bool,
    pub(super) raised: Option<Raised>,
    pub(super) call_invalid_rules: bool,
    level: u32,
    /// The tokenizer failed (`tok->done` is neither E_OK nor E_DONE).
    pub(super) tokenizer_failed: Option<LexFailure>,
    /// The parser went deeper than MAXSTACK: CPython raises MemoryError, we do not model it.
    pub(super) overflowed: bool,
    /// An action met something we do not model exactly: the result is not to be trusted.
    pub(super) unsure: std::cell::Cell<bool>,
    /// Per token (`Token.memo` of pegen.h): rule id, result, end mark.
    memo: Vec<Vec<(u16, Option<N>, u32)>>,
    nodes: Vec<Node>,
    kids: Vec<N>,
    depth: u32,
    pub(super) line_starts: Vec<usize>,
}

impl<'s> Parser<'s> {
    pub fn new(
        source: &'s str,
        stream: &'s mut dyn TokenStream,
        keywords: &'static [&'static str],
        soft_keywords: &'static [&'static str],
    ) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        Parser {
            source,
            keywords,
            soft_keywords,
            stream,
            tokens: Vec::new(),
            error_line_312: false,
            mark: 0,
            error_indicator: false,
            raised: None,
            call_invalid_rules: false,
            level: 0,
            tokenizer_failed: None,
            overflowed: false,
            unsure: std::cell::Cell::new(false),
            memo: Vec::new(),
            nodes: Vec::new(),
            kids: Vec::new(),
            depth: 0,
            line_starts,
        }
    }

    /// `reset_parser_state_for_error_pass`: forget the memo, rewind, enable invalid rules.
    pub(super) fn reset_for_second_pass(&mut self) {
        self.memo.iter_mut().for_each(Vec::clear);
        self.mark = 0;
        self.call_invalid_rules = true;
        self.level = 0;
    }

    // ----- tokens -----------------------------------------------------------------------

    /// `_PyPegen_fill_token`: fetch one more token (comments and NL are not the parser's).
    pub(super) fn fill_token(&mut self) -> bool {
        if self.tokenizer_failed.is_some() {
            self.error_indicator = true;
            return false;
        }
        loop {
            match self.stream.next_token() {
                Ok(token) => {
                    if matches!(
                        token.kind,
                        TokenKind::Comment | TokenKind::Nl | TokenKind::TypeIgnore
                    ) {
                        continue;
                    }
                    match token.kind {
                        TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => self.depth += 1,
                        TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => {
                            self.depth = self.depth.saturating_sub(1)
                        }
                        _ => {}
                    }
                    let keyword = if token.kind == TokenKind::Name {
                        let text = &self.source[token.text.clone()];
                        self.keywords
                            .iter()
                            .position(|k| *k == text)
                            .map_or(-1, |i| i as i16)
                    } else {
                        -1
                    };
                    let (mut start, mut end) = (token.start, token.end);
                    if matches!(token.kind, TokenKind::EndMarker | TokenKind::Dedent)
                        && start.line as usize > self.last_line()
                    {
                        // At the end of the input CPython's tokenizer stays on the last line.
                        start.line = self.last_line() as u32;
                        end.line = start.line;
                    }
                    self.tokens.push(Tok {
                        kind: token.kind,
                        start,
                        end,
                        text: token.text,
                        keyword,
                        level: self.depth,
                    });
                    return true;
                }
                Err(failure) => {
                    // CPython appends the ERRORTOKEN before raising the tokenizer's error.
                    let at = Position {
                        line: failure.lineno.max(1) as u32,
                        col: 0,
                    };
                    let end = self.source.len();
                    self.tokens.push(Tok {
                        kind: TokenKind::ErrorToken,
                        start: at,
                        end: at,
                        text: end..end,
                        keyword: -1,
                        level: self.depth,
                    });
                    if self.raised.is_none() {
                        self.raised = Some(Raised {
                            kind: failure.kind,
                            msg: failure.msg.clone(),
                            lineno: failure.lineno,
                            offset: failure.offset,
                            end_lineno: failure.end_lineno,
                            end_offset: failure.end_offset,
                            from_tokenizer: true,
                            text: None,
                        });
                    }
                    self.tokenizer_failed = Some(failure);
                    self.error_indicator = true;
                    return false;
                }
            }
        }
    }

    /// Continue tokenizing after the parser stopped (for the full-source check).
    pub(super) fn next_raw_token(&mut self) -> Result<TokenKind, LexFailure> {
        self.stream.next_token().map(|t| t.kind)
    }

    pub(super) fn stream(&self) -> &dyn TokenStream {
        self.stream
    }

    fn ensure_token(&mut self) -> bool {
        self.mark < self.tokens.len() || self.fill_token()
    }

    pub(super) fn expect(&mut self, kind: TokenKind) -> Option<N> {
        if !self.ensure_token() {
            return None;
        }
        let t = &self.tokens[self.mark];
        if t.kind != kind || t.keyword >= 0 {
            return None;
        }
        self.mark += 1;
        Some(N::token(self.mark - 1))
    }

    pub(super) fn name_token(&mut self) -> Option<N> {
        self.expect(TokenKind::Name)
    }

    pub(super) fn expect_keyword(&mut self, keyword: i16) -> Option<N> {
        if !self.ensure_token() {
            return None;
        }
        if self.tokens[self.mark].keyword != keyword {
            return None;
        }
        self.mark += 1;
        Some(N::token(self.mark - 1))
    }

    pub(super) fn expect_soft_keyword(&mut self, word: &str) -> Option<N> {
        if !self.ensure_token() {
            return None;
        }
        let t = &self.tokens[self.mark];
        if t.kind != TokenKind::Name || t.keyword >= 0 || &self.source[t.text.clone()] != word {
            return None;
        }
        self.mark += 1;
        Some(N::token(self.mark - 1))
    }

    /// `_PyPegen_soft_keyword_token`: any soft keyword.
    pub(super) fn soft_keyword_token(&mut self) -> Option<N> {
        let n = self.name_token()?;
        let text = self.text_of(n);
        self.soft_keywords.contains(&text).then_some(n)
    }

    /// `_PyPegen_expect_forced_token`: the token or an immediate `expected 'X'`.
    pub(super) fn expect_forced(&mut self, kind: TokenKind, shown: &str) -> Option<N> {
        if self.error_indicator {
            return None;
        }
        if !self.ensure_token() {
            return None;
        }
        let t = &self.tokens[self.mark];
        if t.kind != kind || t.keyword >= 0 {
            let at = N::token(self.mark);
            return self.raise_known_location(at, format!("expected '{shown}'"));
        }
        self.mark += 1;
        Some(N::token(self.mark - 1))
    }

    pub(super) fn lookahead(
        &mut self,
        positive: bool,
        f: impl FnOnce(&mut Self) -> Option<N>,
    ) -> bool {
        let mark = self.mark;
        let res = f(self);
        self.mark = mark;
        res.is_some() == positive
    }

    // ----- rule bookkeeping -------------------------------------------------------------

    /// `p->level++` with the MAXSTACK check and the entry check of `p->error_indicator`.
    pub(super) fn enter(&mut self) -> bool {
        self.level += 1;
        // CPython's own limit, and ours: a thread stack too small for what is left to go.
        let low_stack = self.level.is_multiple_of(32)
            && stacker::remaining_stack().is_some_and(|left| left < STACK_RESERVE);
        if self.level > MAXSTACK || low_stack {
            self.overflowed = true;
            self.error_indicator = true;
        }
        if self.error_indicator {
            self.level -= 1;
            return false;
        }
        true
    }

    pub(super) fn leave(&mut self) {
        self.level -= 1;
    }

    fn memo_lookup(&mut self, rule: u16) -> Option<Option<N>> {
        if !self.ensure_token() {
            return Some(None);
        }
        let &(_, node, end) = self.memo.get(self.mark)?.iter().find(|m| m.0 == rule)?;
        self.mark = end as usize;
        Some(node)
    }

    /// `_PyPegen_insert_memo` / `_PyPegen_update_memo`.
    fn memo_store(&mut self, mark: usize, rule: u16, node: Option<N>) {
        if self.memo.len() <= mark {
            self.memo.resize_with(mark + 1, Vec::new);
        }
        let end = self.mark as u32;
        let slots = &mut self.memo[mark];
        match slots.iter_mut().find(|m| m.0 == rule) {
            Some(slot) => *slot = (rule, node, end),
            None => slots.push((rule, node, end)),
        }
    }

    /// A `(memo)` rule: `_PyPegen_is_memoized`, the body, `_PyPegen_insert_memo`.
    pub(super) fn memoized(&mut self, rule: u16, raw: fn(&mut Self) -> Option<N>) -> Option<N> {
        if let Some(hit) = self.memo_lookup(rule) {
            return hit;
        }
        let mark = self.mark;
        let res = raw(self);
        self.memo_store(mark, rule, res);
        res
    }

    /// A left-recursive leader: grow the seed until the match stops getting longer.
    pub(super) fn grow_seed(&mut self, rule: u16, raw: fn(&mut Self) -> Option<N>) -> Option<N> {
        if let Some(hit) = self.memo_lookup(rule) {
            return hit;
        }
        let mark = self.mark;
        let mut resmark = self.mark;
        let mut res: Option<N> = None;
        loop {
            self.memo_store(mark, rule, res);
            self.mark = mark;
            let raw_res = raw(self);
            if self.error_indicator {
                return None;
            }
            match raw_res {
                Some(r) if self.mark > resmark => {
                    resmark = self.mark;
                    res = Some(r);
                }
                _ => break,
            }
        }
        self.mark = resmark;
        res
    }

    // ----- light nodes ------------------------------------------------------------------

    fn push_node(&mut self, kind: Kind, first: usize, kids: &[N]) -> N {
        let last = self.last_nonwhitespace(first);
        let start = self.kids.len() as u32;
        self.kids.extend_from_slice(kids);
        self.nodes.push(Node {
            kind,
            first: first as u32,
            last: last as u32,
            kids: (start, kids.len() as u32),
        });
        N((self.nodes.len() - 1) as u32)
    }

    /// `_PyPegen_get_last_nonnwhitespace_token` from the current mark.
    fn last_nonwhitespace(&self, first: usize) -> usize {
        let mut m = self.mark;
        while m > first {
            m -= 1;
            let kind = self.tokens[m].kind;
            if !matches!(
                kind,
                TokenKind::EndMarker | TokenKind::Newline | TokenKind::Indent | TokenKind::Dedent
            ) {
                return m;
            }
        }
        self.mark.saturating_sub(1).max(first)
    }

    /// A node built by an action: sequences and containers flatten the sequences they hold.
    pub(super) fn node(&mut self, kind: Kind, first: usize, parts: &[N]) -> N {
        let kind = if kind == Kind::Strings {
            let joined = |n: N| self.kind(n) == Kind::JoinedStr;
            let any = parts.iter().any(|&p| {
                joined(p)
                    || (self.kind(p) == Kind::Seq && self.children(p).iter().any(|&c| joined(c)))
            });
            if any { Kind::JoinedStr } else { Kind::Constant }
        } else {
            kind
        };
        if matches!(
            kind,
            Kind::Seq | Kind::Tuple | Kind::List | Kind::Set | Kind::Compare
        ) {
            let mut flat = Vec::new();
            for &p in parts {
                if p == N::NONE {
                    continue;
                }
                if self.kind(p) == Kind::Seq {
                    flat.extend_from_slice(self.children(p));
                } else {
                    flat.push(p);
                }
            }
            return self.push_node(kind, first, &flat);
        }
        let parts: Vec<N> = parts.iter().copied().filter(|&p| p != N::NONE).collect();
        self.push_node(kind, first, &parts)
    }

    pub(super) fn seq(&mut self, first: usize, kids: Vec<N>) -> N {
        self.push_node(Kind::Seq, first, &kids)
    }

    pub(super) fn kind(&self, n: N) -> Kind {
        if let Some(t) = n.as_token() {
            let tok = &self.tokens[t];
            return match tok.kind {
                TokenKind::Name if tok.keyword < 0 => Kind::Name,
                TokenKind::Number | TokenKind::String => Kind::Constant,
                _ => Kind::Other,
            };
        }
        if n == N::NONE {
            return Kind::Other;
        }
        self.nodes[n.0 as usize].kind
    }

    pub(super) fn children(&self, n: N) -> &[N] {
        if n.as_token().is_some() || n == N::NONE {
            return &[];
        }
        let (start, len) = self.nodes[n.0 as usize].kids;
        &self.kids[start as usize..(start + len) as usize]
    }

    /// First and last token of a node or token.
    pub(super) fn span(&self, n: N) -> (usize, usize) {
        if let Some(t) = n.as_token() {
            return (t, t);
        }
        let node = &self.nodes[n.0 as usize];
        (node.first as usize, node.last as usize)
    }

    /// The source text of token `index`.
    pub(super) fn token_text(&self, index: usize) -> &'s str {
        let source: &'s str = self.source;
        &source[self.tokens[index].text.clone()]
    }

    pub(super) fn text_of(&self, n: N) -> &'s str {
        let (first, _) = self.span(n);
        let source: &'s str = self.source;
        &source[self.tokens[first].text.clone()]
    }

    pub(super) fn lineno(&self, n: N) -> i64 {
        i64::from(self.tokens[self.span(n).0].start.line)
    }

    pub(super) fn end_lineno(&self, n: N) -> i64 {
        i64::from(self.tokens[self.span(n).1].end.line)
    }

    /// 0-based byte columns, -1 for the tokens CPython gives none.
    pub(super) fn col(&self, n: N) -> i64 {
        let t = &self.tokens[self.span(n).0];
        if t.no_column() {
            -1
        } else {
            i64::from(t.start.col)
        }
    }

    pub(super) fn end_col(&self, n: N) -> i64 {
        let t = &self.tokens[self.span(n).1];
        if t.no_column() {
            -1
        } else {
            i64::from(t.end.col)
        }
    }

    /// The text of line `lineno` (1-based), with its newline.
    pub(super) fn line_text(&self, lineno: i64) -> &'s str {
        let source: &'s str = self.source;
        if lineno < 1 || lineno as usize > self.line_starts.len() {
            return "";
        }
        let start = self.line_starts[lineno as usize - 1];
        let end = self
            .line_starts
            .get(lineno as usize)
            .copied()
            .unwrap_or(source.len());
        &source[start..end]
    }

    /// The last line of the source (CPython's `tok->lineno` at the end of the input).
    fn last_line(&self) -> usize {
        let lines = self.line_starts.len();
        if self.source.ends_with('\n') || self.source.is_empty() {
            lines.saturating_sub(1).max(1)
        } else {
            lines
        }
    }

    /// Where the tokenizer stands after the last fetched token (`tok->lineno`,
    /// `tok->cur - tok->line_start`), for the locations CPython takes from it.
    pub(super) fn tokenizer_position(&self) -> (i64, i64) {
        let position = self.stream.position();
        (i64::from(position.line), i64::from(position.col))
    }
}
