//! CPython's own front end, rebuilt for the error path: its tokenizer (`Parser/lexer/` and
//! `Parser/tokenizer/`) and its PEG parser generated from `Grammar/python.gram`, per target
//! version.
//!
//! Why a second front end: the engines' parsers recover from errors differently from CPython,
//! so the line and the words of a `SyntaxError` can only match CPython's everywhere if the file
//! is re-read the way CPython reads it. It runs only when it is needed (a file an engine
//! rejects), so accepted files do not pay for it.
//!
//! Ownership: `token` is the interface between the two halves (the tokenizer produces it, the
//! parser consumes it) and imports nothing else of the crate.

pub mod lexer;
pub mod parser;
pub mod token;
