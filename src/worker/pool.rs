//! The compile threads: a fixed set of OS threads with a modest stack, as many as the
//! address-space limit leaves room for, fed from one FIFO queue by the async side.

use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use tokio::sync::oneshot;
use tracing::warn;

use crate::compile::{self, BASE_STACK};

/// How many of `wanted` compile threads the address-space limit (`ulimit -v`) leaves room for,
/// keeping room for one deep compile's stack, the heap, and glibc's malloc arenas (64 MiB of
/// address space each, up to 8 per core). The spawn itself may still fail (thread limits),
/// which [`Pool::new`] survives too.
pub(super) fn affordable_threads(wanted: usize) -> usize {
    let Some(room) = address_space_room() else {
        return wanted;
    };
    let cores = thread::available_parallelism().map_or(1, usize::from);
    let arenas = wanted.min(8 * cores) as u64 * (64 << 20);
    let reserve = (compile::COMPILE_STACK as u64) + (512 << 20) + arenas;
    let affordable = usize::try_from(room.saturating_sub(reserve) / BASE_STACK as u64)
        .unwrap_or(usize::MAX)
        .max(1);
    if affordable < wanted {
        warn!(
            "the address-space limit leaves room for {affordable} of {wanted} compile threads; \
             compiling with {affordable}"
        );
    }
    wanted.min(affordable)
}

/// Bytes of address space this process may still map, if limited.
#[cfg(target_os = "linux")]
fn address_space_room() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given and nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } != 0
        || limit.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().next()?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok()?;
    Some(limit.rlim_cur.saturating_sub(pages * page))
}

#[cfg(not(target_os = "linux"))]
fn address_space_room() -> Option<u64> {
    None
}

/// Work for a compile thread.
type Task = Box<dyn FnOnce() + Send>;

/// A fixed set of compile threads sharing one FIFO queue.
///
/// The threads are plain OS threads with a modest stack ([`BASE_STACK`]; a source that could
/// nest deeply gets a big stack for its compile only, see `compile::limits`). Starting fewer
/// than asked is logged, never fatal: a host with tight address-space or thread limits still
/// gets a working worker.
pub(super) struct Pool {
    queue: Mutex<Option<std_mpsc::Sender<Task>>>,
}

impl Pool {
    pub(super) fn new(size: usize) -> Option<Self> {
        let (queue, tasks) = std_mpsc::channel::<Task>();
        let tasks = Arc::new(Mutex::new(tasks));
        let mut started = 0;
        for index in 0..size {
            let tasks = Arc::clone(&tasks);
            let spawned = thread::Builder::new()
                .name(format!("compile-{index}"))
                .stack_size(BASE_STACK)
                .spawn(move || {
                    loop {
                        let task = tasks.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        let Ok(task) = task else { return };
                        task();
                    }
                });
            match spawned {
                Ok(_) => started += 1,
                Err(error) => {
                    warn!(
                        "started {started} of {size} compile threads ({error}); \
                         compiling with {started}"
                    );
                    break;
                }
            }
        }
        (started > 0).then(|| Self {
            queue: Mutex::new(Some(queue)),
        })
    }

    /// Runs `work` on a compile thread. `None` if the pool was closed before it ran.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (result, receiver) = oneshot::channel();
        let task: Task = Box::new(move || {
            let _ = result.send(work());
        });
        if let Some(queue) = &*self.queue.lock().unwrap_or_else(PoisonError::into_inner) {
            let _ = queue.send(task);
        }
        receiver.await.ok()
    }

    /// Stops taking work; the threads end when the queue is drained.
    pub(super) fn close(&self) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}
