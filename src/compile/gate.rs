//! Cancellation as the compile side sees it: may a finished `.pyc` still be published, and is
//! anyone still waiting for this work. The worker implements it per request; one-shot mode
//! never cancels.

use std::io;

/// The last word on whether a finished `.pyc` may still appear on disk.
///
/// A cancelled request must write nothing after its cancel response, so the rename that
/// publishes the file runs under the gate and the gate refuses once the request is settled.
pub trait Gate: Sync {
    /// Runs `publish` unless the request was cancelled; `None` means it was.
    fn publish(&self, publish: &mut dyn FnMut() -> io::Result<()>) -> Option<io::Result<()>>;

    /// Lets a job skip work nobody waits for any more.
    fn is_cancelled(&self) -> bool;
}

/// The gate of one-shot mode, where nothing is ever cancelled.
pub struct NeverCancelled;

impl Gate for NeverCancelled {
    fn publish(&self, publish: &mut dyn FnMut() -> io::Result<()>) -> Option<io::Result<()>> {
        Some(publish())
    }

    fn is_cancelled(&self) -> bool {
        false
    }
}
