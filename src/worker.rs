//! The persistent worker: reads WorkRequests, compiles, answers each exactly once.
//!
//! Threads and who owns what:
//! - a reader thread cuts requests out of stdin (blocking reads, so EOF is seen at once and
//!   Windows-style anonymous pipes work);
//! - the dispatcher (this module's loop) files each request under its id, answers cancels and
//!   hands work to a pool: `--jobs` threads for multiplex ids, one thread for singleplex id 0
//!   so those run in arrival order; with `--worker_impl=serial` it compiles inline instead;
//! - one writer thread owns the real stdout. The process's fd 1 is pointed at stderr at start,
//!   so a stray print from any library can never corrupt the wire.
//!
//! Exactly-once answers: every request has a [`Slot`] whose lock decides who answers it (the
//! compile or a cancel). The `.pyc` rename happens under the same lock, so once a cancel
//! response is out no file of that request appears.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

use tracing::{debug, error, info_span, warn};

use crate::cli::{self, Args, WorkerImpl};
use crate::compile::{self, COMPILE_STACK, Gate, JobError};
use crate::protocol::{Inbound, RequestReader, WorkRequest, WorkResponse};

/// Runs the worker until stdin ends. Returns the process exit code.
pub fn serve(startup: &Args, jobs: usize) -> i32 {
    let wire = match take_stdout() {
        Ok(wire) => wire,
        Err(error) => {
            error!("cannot set up stdout for the worker protocol: {error}");
            return 1;
        }
    };
    let (responses, response_rx) = mpsc::channel::<WorkResponse>();
    let writer = thread::Builder::new()
        .name("writer".into())
        .spawn(move || write_responses(wire, response_rx))
        .expect("spawning the writer thread");
    let (inbound_tx, inbound) = mpsc::channel::<Inbound>();
    thread::Builder::new()
        .name("reader".into())
        .spawn(move || read_requests(inbound_tx))
        .expect("spawning the reader thread");

    match startup.worker_impl {
        WorkerImpl::Serial => {
            let responses = responses.clone();
            thread::scope(|scope| {
                thread::Builder::new()
                    .name("serial".into())
                    .stack_size(COMPILE_STACK)
                    .spawn_scoped(scope, move || serve_serial(inbound, &responses))
                    .expect("spawning the serial worker thread")
                    .join()
                    .expect("the serial loop does not panic");
            });
        }
        WorkerImpl::Async => serve_async(inbound, &responses, jobs),
    }
    drop(responses);
    match writer.join() {
        Ok(Ok(())) => 0,
        Ok(Err(error)) => {
            error!("writing responses failed: {error}");
            1
        }
        Err(_) => 1,
    }
}

/// Keeps the real stdout for responses and sends everything else written to fd 1 to stderr.
#[cfg(unix)]
fn take_stdout() -> io::Result<File> {
    let wire = rustix::io::dup(rustix::stdio::stdout())?;
    rustix::stdio::dup2_stdout(rustix::stdio::stderr())?;
    Ok(File::from(wire))
}

#[cfg(not(unix))]
fn take_stdout() -> io::Result<File> {
    use std::os::windows::io::{AsHandle, OwnedHandle};
    let handle: OwnedHandle = io::stdout().as_handle().try_clone_to_owned()?;
    Ok(File::from(handle))
}

fn write_responses(wire: File, responses: Receiver<WorkResponse>) -> io::Result<()> {
    let mut out = BufWriter::new(wire);
    for response in responses {
        debug!(
            request_id = response.request_id,
            exit_code = response.exit_code,
            cancelled = response.was_cancelled,
            "response"
        );
        response.write_to(&mut out)?;
    }
    Ok(())
}

fn read_requests(inbound: Sender<Inbound>) {
    let mut reader = RequestReader::new(io::stdin().lock());
    loop {
        match reader.next_request() {
            Ok(Some(item)) => {
                if inbound.send(item).is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(error) => {
                error!("reading work requests failed: {error}");
                return;
            }
        }
    }
}

/// Answers a request that could not be parsed, if we know whom to answer.
fn answer_malformed(request_id: Option<i32>, message: String, responses: &Sender<WorkResponse>) {
    error!("{message}");
    if let Some(id) = request_id {
        let _ = responses.send(WorkResponse::new(id, 1, message));
    }
}

fn serve_serial(inbound: Receiver<Inbound>, responses: &Sender<WorkResponse>) {
    for item in inbound {
        match item {
            // Requests are answered before the next one is read, so a cancel can only
            // name a finished request: it is ignored, as the protocol asks.
            Inbound::Request(request) if request.cancel => {
                debug!(
                    request_id = request.request_id,
                    "cancel for a finished request ignored"
                )
            }
            Inbound::Request(request) => {
                let slot = Slot::new(request.request_id);
                let (exit_code, output) = handle(&request, &slot);
                slot.settle(
                    WorkResponse::new(request.request_id, exit_code, output),
                    responses,
                );
            }
            Inbound::Malformed {
                request_id,
                message,
            } => answer_malformed(request_id, message, responses),
        }
    }
}

/// Work handed to a pool thread.
struct Task {
    request: WorkRequest,
    slot: Arc<Slot>,
}

type Registry = Arc<Mutex<HashMap<i32, Arc<Slot>>>>;

fn serve_async(inbound: Receiver<Inbound>, responses: &Sender<WorkResponse>, jobs: usize) {
    let registry: Registry = Arc::default();
    let multiplex = Pool::new("compile", jobs, &registry, responses);
    let singleplex = Pool::new("singleplex", 1, &registry, responses);
    for item in inbound {
        match item {
            Inbound::Request(request) if request.cancel => {
                let slot = lock(&registry).remove(&request.request_id);
                match slot {
                    Some(slot) => slot.cancel(responses),
                    None => debug!(
                        request_id = request.request_id,
                        "cancel for an unknown or finished request ignored"
                    ),
                }
            }
            Inbound::Request(request) => {
                let id = request.request_id;
                let slot = Arc::new(Slot::new(id));
                let in_flight = {
                    let mut registry = lock(&registry);
                    // Singleplex requests all use id 0 and come one at a time: the newest wins.
                    let in_flight = id != 0 && registry.contains_key(&id);
                    if !in_flight {
                        registry.insert(id, Arc::clone(&slot));
                    }
                    in_flight
                };
                if in_flight {
                    warn!(request_id = id, "request id reused while still in flight");
                    slot.settle(
                        WorkResponse::new(
                            id,
                            1,
                            format!("error: request id {id} is already in flight"),
                        ),
                        responses,
                    );
                    continue;
                }
                let pool = if id == 0 { &singleplex } else { &multiplex };
                pool.submit(Task { request, slot });
            }
            Inbound::Malformed {
                request_id,
                message,
            } => answer_malformed(request_id, message, responses),
        }
    }
    // End of input: let the pools finish what they hold, then return so the writer flushes.
    multiplex.finish();
    singleplex.finish();
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A fixed set of big-stack threads sharing one FIFO queue.
struct Pool {
    queue: Option<Sender<Task>>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    fn new(name: &str, size: usize, registry: &Registry, responses: &Sender<WorkResponse>) -> Self {
        let (queue, tasks) = mpsc::channel::<Task>();
        let tasks = Arc::new(Mutex::new(tasks));
        let threads = (0..size)
            .map(|index| {
                let tasks = Arc::clone(&tasks);
                let registry = Arc::clone(registry);
                let responses = responses.clone();
                thread::Builder::new()
                    .name(format!("{name}-{index}"))
                    .stack_size(COMPILE_STACK)
                    .spawn(move || {
                        loop {
                            let task = lock(&tasks).recv();
                            let Ok(Task { request, slot }) = task else {
                                return;
                            };
                            if slot.is_cancelled() {
                                continue;
                            }
                            let (exit_code, output) = handle(&request, &*slot);
                            if slot
                                .settle(WorkResponse::new(slot.id, exit_code, output), &responses)
                            {
                                let mut registry = lock(&registry);
                                if registry
                                    .get(&slot.id)
                                    .is_some_and(|entry| Arc::ptr_eq(entry, &slot))
                                {
                                    registry.remove(&slot.id);
                                }
                            }
                        }
                    })
                    .expect("spawning a compile thread")
            })
            .collect();
        Self {
            queue: Some(queue),
            threads,
        }
    }

    fn submit(&self, task: Task) {
        if let Some(queue) = &self.queue {
            // The receivers live as long as the pool, so this cannot fail.
            let _ = queue.send(task);
        }
    }

    fn finish(mut self) {
        self.queue = None;
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// The answer-once state of one request.
struct Slot {
    id: i32,
    /// Set once a response for this request has been sent.
    settled: Mutex<bool>,
    cancelled: AtomicBool,
}

impl Slot {
    fn new(id: i32) -> Self {
        Self {
            id,
            settled: Mutex::new(false),
            cancelled: AtomicBool::new(false),
        }
    }

    /// Sends `response` unless the request was already answered. Returns whether it was sent.
    fn settle(&self, response: WorkResponse, responses: &Sender<WorkResponse>) -> bool {
        let mut settled = lock(&self.settled);
        if *settled {
            return false;
        }
        *settled = true;
        let _ = responses.send(response);
        true
    }

    fn cancel(&self, responses: &Sender<WorkResponse>) {
        self.cancelled.store(true, Ordering::SeqCst);
        if self.settle(WorkResponse::cancelled(self.id), responses) {
            debug!(request_id = self.id, "cancelled");
        }
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
        self.cancelled.load(Ordering::SeqCst)
    }
}

/// Compiles everything a request asks for. Returns the response's exit code and output.
fn handle(request: &WorkRequest, gate: &dyn Gate) -> (i32, String) {
    let span = info_span!("request", id = request.request_id);
    let _entered = span.enter();
    let base = request.sandbox_dir.as_deref().map(Path::new);
    let parsed = cli::expand_flagfiles(&request.arguments, base)
        .and_then(|args| Args::parse_args(&args))
        .and_then(|args| args.compile_request(base));
    let compile_request = match parsed {
        Ok(compile_request) => compile_request,
        Err(message) => return (1, message + "\n"),
    };
    let engine = match compile_request.settings.engine() {
        Ok(engine) => engine,
        Err(message) => return (1, format!("error: {message}\n")),
    };
    let verbose = request.verbosity > 0;
    let mut output = String::new();
    let mut failed = false;
    for job in &compile_request.jobs {
        match compile::run_job(job, &compile_request.settings, engine, gate) {
            Ok(report) => {
                if verbose {
                    let settings = &compile_request.settings;
                    let _ = writeln!(
                        output,
                        "pycompile-worker: compiled {} as {} -> {} with {}, target {}, optimize {}, {:?}, sandbox {:?}, in {:.3} ms",
                        job.src.display(),
                        job.src_name,
                        job.pyc.display(),
                        engine.describe(),
                        settings.version,
                        settings.optimize,
                        settings.invalidation,
                        request.sandbox_dir.as_deref().unwrap_or("(none)"),
                        report.elapsed.as_secs_f64() * 1000.0,
                    );
                }
            }
            Err(JobError::Cancelled) => return (0, String::new()),
            Err(error) => {
                failed = true;
                let text = error.to_string();
                output.push_str(&text);
                if !text.ends_with('\n') {
                    output.push('\n');
                }
            }
        }
    }
    (i32::from(failed), output)
}
