//! The answer-once state of one request, which is also its [`Gate`]: whoever settles the
//! slot first (the compile or a cancel) answers, and a `.pyc` is published only while the
//! slot is unsettled, so no file appears after a cancel response.

use std::io;
use std::sync::{Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

use crate::compile::Gate;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The answer-once state of one request.
pub(super) struct Slot {
    pub(super) id: i32,
    /// Set once the request is answered (or the worker stops); closes the gate.
    settled: Mutex<bool>,
    pub(super) token: CancellationToken,
}

impl Slot {
    pub(super) fn new(id: i32) -> Self {
        Self {
            id,
            settled: Mutex::new(false),
            token: CancellationToken::new(),
        }
    }

    /// Marks the request answered. Returns whether this call did it (and so must answer).
    pub(super) fn settle(&self) -> bool {
        let mut settled = lock(&self.settled);
        !std::mem::replace(&mut *settled, true)
    }
}

impl Gate for Slot {
    fn publish(&self, publish: &mut dyn FnMut() -> io::Result<()>) -> Option<io::Result<()>> {
        let settled = lock(&self.settled);
        if *settled {
            return None;
        }
        let result = publish();
        drop(settled);
        Some(result)
    }

    fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }
}
