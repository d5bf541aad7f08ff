//! Why a source produced no `.pyc`: the one error type every engine, check and correction
//! returns, so that none of them needs to know about another.

/// Why a source produced no `.pyc`.
#[derive(Debug, thiserror::Error)]
pub enum CompileFailure {
    /// CPython would reject the source too; the text is what `py_compile` prints for it.
    #[error("{0}")]
    Rejected(String),
    /// CPython accepts the source but this engine cannot compile it.
    #[error("{0}")]
    Unsupported(String),
    /// The compiler itself failed (e.g. an interpreter helper died); nothing about the source.
    #[error("{0}")]
    Internal(String),
    /// The request was cancelled while the compile was in flight.
    #[error("cancelled")]
    Cancelled,
}
