//! A few streams and errors, with expectations recorded from CPython 3.14.2 (the oracle's
//! `tokens` verb), so that `cargo test --lib` checks the lexer without node. The full
//! comparison, for every version, is `tests/lexer.rs`.

use super::super::token::TokenKind as K;
use super::{Done, LexErrorKind, Lexer, NO_COLUMN};

fn kinds_and_starts(source: &str) -> Vec<(K, u32, u32)> {
    let mut lexer = Lexer::new(source, 14);
    let mut out = Vec::new();
    loop {
        let token = lexer.next_token().expect("valid source");
        out.push((token.kind, token.start.line, token.start.col));
        if token.kind == K::EndMarker {
            return out;
        }
    }
}

#[test]
fn fstring_parts_and_doubled_braces() {
    // CPython: FSTRING_START 1 0 | FSTRING_MIDDLE 1 2 | FSTRING_MIDDLE 1 4 | FSTRING_END 1 6 |
    // NEWLINE 1 7 | ENDMARKER 1 -1
    assert_eq!(
        kinds_and_starts("f'{{}}'\n"),
        [
            (K::FStringStart, 1, 0),
            (K::FStringMiddle, 1, 2),
            (K::FStringMiddle, 1, 4),
            (K::FStringEnd, 1, 6),
            (K::Newline, 1, 7),
            (K::EndMarker, 1, NO_COLUMN),
        ]
    );
}

#[test]
fn named_unicode_escape_is_not_a_field() {
    // CPython: FSTRING_START 1 0 | FSTRING_MIDDLE 1 2 | FSTRING_MIDDLE 1 12 | LBRACE 1 13 |
    // NAME 1 14 | RBRACE 1 15 | FSTRING_END 1 16 | NEWLINE 1 17 | ENDMARKER
    let kinds: Vec<K> = kinds_and_starts("f'\\N{BULLET} {x}'\n")
        .into_iter()
        .map(|t| t.0)
        .collect();
    assert_eq!(
        kinds,
        [
            K::FStringStart,
            K::FStringMiddle,
            K::FStringMiddle,
            K::Lbrace,
            K::Name,
            K::Rbrace,
            K::FStringEnd,
            K::Newline,
            K::EndMarker
        ]
    );
}

#[test]
fn errors_carry_the_parsers_locations() {
    let first_error = |source: &str| {
        let mut lexer = Lexer::new(source, 14);
        loop {
            match lexer.next_token() {
                Ok(t) => assert_ne!(t.kind, K::EndMarker, "no error in {source:?}"),
                Err(e) => return e,
            }
        }
    };
    // compile(): TabError at (3, 1, 3, 0).
    let e = first_error("if x:\n\t\ty\n\t        z\n");
    assert_eq!((e.kind, e.done), (LexErrorKind::TabError, Done::TabSpace));
    assert_eq!(
        (e.lineno, e.col_offset, e.end_lineno, e.end_col_offset),
        (3, 1, 3, 0)
    );
    // compile(): "'(' was never closed" at (2, 1, 2, 0).
    let e = first_error("x = [\n(\n");
    assert_eq!(e.msg, "'(' was never closed");
    assert_eq!(
        (e.lineno, e.col_offset, e.end_lineno, e.end_col_offset),
        (2, 1, 2, 0)
    );
    // compile(): at (1, 8, 1, 0).
    let e = first_error("x = 1 \\ # c\n");
    assert_eq!(
        e.msg,
        "unexpected character after line continuation character"
    );
    assert_eq!((e.lineno, e.col_offset, e.end_col_offset), (1, 8, 0));
    // The tokenizer's own: at (1, 2, 1, 2).
    let e = first_error("0x\n");
    assert_eq!(
        (e.msg.as_str(), e.col_offset, e.end_col_offset),
        ("invalid hexadecimal literal", 2, 2)
    );
}
