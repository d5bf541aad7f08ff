//! The token stream CPython's tokenizer hands its parser: the shared interface between our port
//! of the tokenizer and the generated parser.
//!
//! Why CPython's names and not a richer enum: the parser is generated from `python.gram`, which
//! names tokens by `Grammar/Tokens` (`NAME`, `LPAR`, `FSTRING_MIDDLE`, ...), so the generator
//! maps each grammar token to a variant one to one. Keywords are not a kind of their own: as in
//! CPython, the tokenizer yields `NAME` and the parser compares the text with its keyword list.

/// A token's kind, one variant per entry of CPython's `Grammar/Tokens` (3.12-3.15; the
/// `TString*` kinds only occur for 3.14 and later). Operators are the exact kinds CPython's
/// parser sees (`LPAR`, `PLUSEQUAL`, ...), never the generic `OP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms)]
pub enum TokenKind {
    EndMarker,
    Name,
    Number,
    String,
    Newline,
    Indent,
    Dedent,
    Lpar,
    Rpar,
    Lsqb,
    Rsqb,
    Colon,
    Comma,
    Semi,
    Plus,
    Minus,
    Star,
    Slash,
    Vbar,
    Amper,
    Less,
    Greater,
    Equal,
    Dot,
    Percent,
    Lbrace,
    Rbrace,
    EqEqual,
    NotEqual,
    LessEqual,
    GreaterEqual,
    Tilde,
    Circumflex,
    LeftShift,
    RightShift,
    DoubleStar,
    PlusEqual,
    MinEqual,
    StarEqual,
    SlashEqual,
    PercentEqual,
    AmperEqual,
    VbarEqual,
    CircumflexEqual,
    LeftShiftEqual,
    RightShiftEqual,
    DoubleStarEqual,
    DoubleSlash,
    DoubleSlashEqual,
    At,
    AtEqual,
    Rarrow,
    Ellipsis,
    ColonEqual,
    Exclamation,
    /// An operator CPython's tokenizer does not know (it yields `OP` for it).
    Op,
    TypeIgnore,
    TypeComment,
    SoftKeyword,
    FStringStart,
    FStringMiddle,
    FStringEnd,
    TStringStart,
    TStringMiddle,
    TStringEnd,
    Comment,
    Nl,
    ErrorToken,
    /// 3.12 only: its tokenizer yields `async` and `await` as tokens of their own (and its
    /// grammar names them `ASYNC`, `AWAIT`); 3.13 and later yield `NAME`.
    Async,
    Await,
}

/// A position as CPython reports it inside the tokenizer and parser: 1-based line, 0-based
/// column in **bytes** of the UTF-8 line (CPython converts to characters only when it raises).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    pub line: u32,
    pub col: u32,
}

/// One token: its kind, where it starts and ends, and the byte range of its text in the
/// decoded UTF-8 source (empty for `INDENT`, `DEDENT`, `ENDMARKER`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: Position,
    pub end: Position,
    pub text: std::ops::Range<usize>,
}

impl Token {
    /// The token's text in `source` (the same decoded text the tokenizer read).
    pub fn text<'s>(&self, source: &'s str) -> &'s str {
        &source[self.text.clone()]
    }
}
