//! Memory: admission of compiles by a budget of source bytes in flight, and handing a big
//! compile's freed memory back to the system.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Sources at least this big hand their memory back to the system after the compile.
pub(super) const TRIM_AFTER: u64 = 4 << 20;

/// Returns freed heap memory to the system: the allocator (mimalloc, `main.rs`) keeps a big
/// compile's freed pages in the compiling thread's heap, which would leave the worker's RSS at
/// its peak for as long as it lives. Called on the thread that compiled, whose heap holds them.
pub(super) fn give_memory_back() {
    // SAFETY: mi_collect takes no pointers; it only walks mimalloc's own heaps.
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
}

/// Memory admission: a compile of a source of `n` bytes reserves `n × MEMORY_FACTOR` of the
/// budget, so big generated files queue instead of running together.
pub(super) struct Budget {
    permits: Arc<Semaphore>,
    /// The budget in permits (MiB).
    total: u32,
}

/// Peak memory of a compile per byte of source, measured: a 50 MB generated module peaks at
/// 1.45 GB (29×) with serc; rounded up.
pub const MEMORY_FACTOR: u64 = 32;

impl Budget {
    pub(super) fn new(bytes: u64) -> Self {
        let total = u32::try_from((bytes >> 20).max(1)).unwrap_or(u32::MAX >> 4);
        Self {
            permits: Arc::new(Semaphore::new(total as usize)),
            total,
        }
    }

    /// Waits until a compile of a `source_bytes` source fits in the budget. A source bigger
    /// than the whole budget waits until it can run alone.
    pub(super) async fn admit(&self, source_bytes: u64) -> Option<OwnedSemaphorePermit> {
        let need = source_bytes.saturating_mul(MEMORY_FACTOR) >> 20;
        if need == 0 {
            return None; // small files: only --jobs limits them
        }
        let need = u32::try_from(need).unwrap_or(u32::MAX).min(self.total);
        Arc::clone(&self.permits)
            .acquire_many_owned(need)
            .await
            .ok()
    }
}
