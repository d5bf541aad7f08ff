//! The persistent worker: reads WorkRequests, compiles, answers each exactly once.
//!
//! A single-threaded tokio runtime drives the protocol; compiles run on a fixed set of
//! blocking threads ([`Pool`]). Who owns what:
//! - the reader task reads stdin and cuts requests out of it ([`Framer`], linear in the input);
//! - the dispatcher (this module's loop) owns the registry of requests in flight. It files
//!   each request under its id, answers cancels, and is the only one to hand responses to the
//!   writer, so it frees an id *before* its response is written: a client that reads an answer
//!   may reuse the id at once, and no id is ever answered twice;
//! - each request runs as a task: prepare (param files, flags, source sizes) on the pool, wait
//!   for memory ([`Budget`]), compile on the pool. Singleplex requests (id 0) run one after the
//!   other in arrival order; `--worker_impl=serial` has one compile thread;
//! - one writer task owns the real stdout. The process's fd 1 is pointed at stderr at start, so
//!   a stray print from any library can never corrupt the wire. If stdout closes, the worker
//!   stops: nobody will collect what it would write.
//!
//! Cancellation: each request has a [`Slot`] with a cancellation token and a lock that decides
//! who answers it (the compile or a cancel). The `.pyc` rename happens under the same lock (the
//! [`Gate`]), so once a cancel response is out no file of that request appears.
//!
//! End of input: Bazel closes stdin and then kills the worker, so nothing queued is started;
//! every request still in flight is settled without an answer (which closes its gate) and the
//! process exits at once, without waiting for compiles that can no longer publish anything.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tracing::{debug, error, info_span, warn};

use crate::cli::{self, Args, CompileRequest, WorkerImpl};
use crate::compile::{self, Engine, Gate, JobError};
use crate::protocol::{Framer, Inbound, WorkRequest, WorkResponse};
use crate::tree_action::{self, TreeRequest};

mod budget;
mod pool;
mod slot;

use budget::{Budget, TRIM_AFTER, give_memory_back};
use pool::{Pool, affordable_threads};
use slot::Slot;

/// Runs the worker until stdin ends. Returns the process exit code.
pub fn serve(startup: &Args, jobs: usize) -> i32 {
    let wire = match take_stdout() {
        Ok(wire) => wire,
        Err(error) => {
            error!("cannot set up stdout for the worker protocol: {error}");
            return 1;
        }
    };
    let threads = match startup.worker_impl {
        WorkerImpl::Serial => 1,
        WorkerImpl::Async => jobs,
    };
    let Some(pool) = Pool::new(affordable_threads(threads)) else {
        error!("cannot start a single compile thread");
        return 1;
    };
    let budget = Budget::new(startup.memory_budget_bytes());
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(3)
        .thread_stack_size(IO_STACK)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            error!("cannot start the worker runtime: {error}");
            return 1;
        }
    };
    let code = runtime.block_on(dispatch(wire, pool, budget));
    // The reader may be blocked in a read of stdin: do not wait for it.
    runtime.shutdown_background();
    code
}

/// The stack of the runtime's I/O threads (reading stdin, writing stdout).
const IO_STACK: usize = 1 << 20;

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

/// What the dispatcher reacts to.
enum Event {
    Inbound(Inbound),
    /// A request's task finished; its response goes out unless the request was settled.
    Done(Arc<Slot>, WorkResponse),
    /// stdin ended (or failed).
    InputEnded,
    /// stdout cannot be written any more.
    OutputClosed(io::Error),
}

async fn dispatch(wire: File, pool: Pool, budget: Budget) -> i32 {
    let (events, mut inbox) = mpsc::unbounded_channel::<Event>();
    let (responses, outbox) = mpsc::unbounded_channel::<WorkResponse>();
    tokio::spawn(read_requests(events.clone()));
    let writer = tokio::spawn(write_responses(wire, outbox, events.clone()));
    let context = Arc::new(Context { pool, budget });
    let mut registry: HashMap<i32, Arc<Slot>> = HashMap::new();
    // Singleplex requests (all id 0) are answered in arrival order by one task.
    let (singleplex, singleplex_queue) = mpsc::unbounded_channel::<(WorkRequest, Arc<Slot>)>();
    tokio::spawn(run_singleplex(
        singleplex_queue,
        Arc::clone(&context),
        events.clone(),
    ));
    let answer = |slot: &Slot, response: WorkResponse| {
        if slot.settle() {
            debug!(
                request_id = response.request_id,
                exit_code = response.exit_code,
                cancelled = response.was_cancelled,
                "response"
            );
            let _ = responses.send(response);
        }
    };
    let code = loop {
        let Some(event) = inbox.recv().await else {
            break 0;
        };
        match event {
            Event::Inbound(Inbound::Request(request)) if request.cancel => {
                match registry.remove(&request.request_id) {
                    Some(slot) => {
                        slot.token.cancel();
                        answer(&slot, WorkResponse::cancelled(slot.id));
                    }
                    None => debug!(
                        request_id = request.request_id,
                        "cancel for an unknown or finished request ignored"
                    ),
                }
            }
            Event::Inbound(Inbound::Request(request)) => {
                let id = request.request_id;
                if id != 0 && registry.contains_key(&id) {
                    // Answering would give the id two responses; the first request answers.
                    warn!(
                        request_id = id,
                        "request reuses the id of a request in flight: ignored"
                    );
                    continue;
                }
                let slot = Arc::new(Slot::new(id));
                // Singleplex requests come one at a time: a cancel names the newest.
                registry.insert(id, Arc::clone(&slot));
                if id == 0 {
                    let _ = singleplex.send((request, slot));
                } else {
                    let context = Arc::clone(&context);
                    let events = events.clone();
                    tokio::spawn(async move {
                        let response = run_request(&context, &request, &slot).await;
                        let _ = events.send(Event::Done(slot, response));
                    });
                }
            }
            Event::Inbound(Inbound::Malformed {
                request_id,
                message,
            }) => {
                error!("{message}");
                match request_id {
                    Some(id) if registry.contains_key(&id) && id != 0 => warn!(
                        request_id = id,
                        "malformed request names an id in flight: not answered"
                    ),
                    Some(id) => answer(&Slot::new(id), WorkResponse::new(id, 1, message)),
                    None => {}
                }
            }
            Event::Done(slot, response) => {
                if registry
                    .get(&slot.id)
                    .is_some_and(|entry| Arc::ptr_eq(entry, &slot))
                {
                    registry.remove(&slot.id);
                }
                answer(&slot, response);
            }
            Event::InputEnded => break 0,
            Event::OutputClosed(error) => {
                error!("stdout is closed ({error}): stopping");
                break 1;
            }
        }
    };
    // Nothing in flight may publish after this: settling closes every gate (waiting for a
    // rename already under way). Queued work sees its cancelled token and never starts.
    context.pool.close();
    for slot in registry.values() {
        slot.token.cancel();
        slot.settle();
    }
    drop(responses);
    if code == 0 {
        // Let the writer flush what was answered before the end of input.
        let _ = writer.await;
    }
    code
}

/// Tells the dispatcher that input ended when the reader stops for any reason, a panic
/// included (the runtime could not start an I/O thread), so the worker never waits forever.
struct InputGuard(mpsc::UnboundedSender<Event>);

impl Drop for InputGuard {
    fn drop(&mut self) {
        let _ = self.0.send(Event::InputEnded);
    }
}

async fn read_requests(events: mpsc::UnboundedSender<Event>) {
    let _guard = InputGuard(events.clone());
    let mut stdin = tokio::io::stdin();
    let mut framer = Framer::default();
    let mut chunk = vec![0; 1 << 16];
    let mut items = Vec::new();
    loop {
        let read = match stdin.read(&mut chunk).await {
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                error!("reading work requests failed: {error}");
                0
            }
        };
        if read == 0 {
            items.extend(framer.finish());
        } else {
            framer.push(&chunk[..read], &mut items);
        }
        for item in items.drain(..) {
            if events.send(Event::Inbound(item)).is_err() {
                return;
            }
        }
        if read == 0 {
            return;
        }
    }
}

async fn write_responses(
    wire: File,
    mut outbox: mpsc::UnboundedReceiver<WorkResponse>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut wire = tokio::fs::File::from_std(wire);
    // A writer that panics (no I/O thread) cannot answer any more: stop like a closed stdout.
    let guard = OutputGuard(Some(events.clone()));
    while let Some(response) = outbox.recv().await {
        let mut bytes = response.to_line();
        // Write everything already answered in one go.
        while let Ok(next) = outbox.try_recv() {
            bytes.extend_from_slice(&next.to_line());
        }
        let written = async {
            wire.write_all(&bytes).await?;
            wire.flush().await
        };
        if let Err(error) = written.await {
            let _ = events.send(Event::OutputClosed(error));
            return;
        }
    }
    guard.disarm();
}

struct OutputGuard(Option<mpsc::UnboundedSender<Event>>);

impl OutputGuard {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for OutputGuard {
    fn drop(&mut self) {
        if let Some(events) = self.0.take() {
            let _ = events.send(Event::OutputClosed(io::Error::other("the writer stopped")));
        }
    }
}

async fn run_singleplex(
    mut queue: mpsc::UnboundedReceiver<(WorkRequest, Arc<Slot>)>,
    context: Arc<Context>,
    events: mpsc::UnboundedSender<Event>,
) {
    while let Some((request, slot)) = queue.recv().await {
        let response = run_request(&context, &request, &slot).await;
        let _ = events.send(Event::Done(slot, response));
    }
}

/// What every request task shares.
struct Context {
    pool: Pool,
    budget: Budget,
}

/// One request, from its flags to its response. A cancel ends the wait at once; work already
/// on a compile thread stops at its next check of the token and cannot publish.
async fn run_request(context: &Context, request: &WorkRequest, slot: &Arc<Slot>) -> WorkResponse {
    let id = request.request_id;
    let work = async {
        let prepared = {
            let request = request.clone();
            context.pool.run(move || prepare(&request)).await
        };
        let prepared = match prepared {
            Some(Ok(prepared)) => prepared,
            Some(Err(message)) => return WorkResponse::new(id, 1, message),
            None => return WorkResponse::cancelled(id),
        };
        let permit = context.budget.admit(prepared.largest_source).await;
        let request = request.clone();
        let gate = Arc::clone(slot);
        let compiled = context.pool.run(move || {
            let result = compile_request(&request, &prepared, &*gate);
            if prepared.largest_source >= TRIM_AFTER {
                give_memory_back();
            }
            drop(permit);
            result
        });
        match compiled.await {
            Some((exit_code, output)) => WorkResponse::new(id, exit_code, output),
            None => WorkResponse::cancelled(id),
        }
    };
    tokio::select! {
        biased;
        () = slot.token.cancelled() => WorkResponse::cancelled(id),
        response = work => response,
    }
}

/// A request whose flags were read, ready to compile.
struct Prepared {
    work: Work,
    /// Bytes of the largest source: the jobs of a request run one after the other, so this
    /// is what its memory use scales with (times the parallelism of a tree request).
    largest_source: u64,
}

/// What a request asks for: PyCompile's files, or a whole tree ([`tree_action`]).
enum Work {
    Files {
        compile: CompileRequest,
        engine: Engine,
    },
    Tree(TreeRequest),
}

/// Expands param files and parses the flags of a request (blocking I/O: on the pool).
fn prepare(request: &WorkRequest) -> Result<Prepared, String> {
    let base = request.sandbox_dir.as_deref().map(Path::new);
    let args = cli::expand_flagfiles(&request.arguments, base)
        .map_err(|error| format!("error: {error:#}\n"))?;
    if tree_action::is_tree_request(&args) {
        let tree = TreeRequest::prepare(&args[1..], base)
            .map_err(|error| format!("error: {error:#}\n"))?;
        let largest_source = tree
            .largest_source
            .saturating_mul(tree.parallelism() as u64);
        return Ok(Prepared {
            work: Work::Tree(tree),
            largest_source,
        });
    }
    let compile = Args::parse_args(&args)
        .and_then(|args| args.compile_request(base))
        .map_err(|error| format!("error: {error:#}\n"))?;
    let engine = compile
        .settings
        .engine()
        .map_err(|message| format!("error: {message}\n"))?;
    // A size that cannot be read is found again, and reported, when the job reads the file.
    let largest_source = compile
        .jobs
        .iter()
        .filter_map(|job| std::fs::metadata(&job.src).ok())
        .filter(std::fs::Metadata::is_file)
        .map(|metadata| metadata.len())
        .max()
        .unwrap_or(0);
    Ok(Prepared {
        work: Work::Files { compile, engine },
        largest_source,
    })
}

/// Compiles everything a request asks for. Returns the response's exit code and output.
fn compile_request(request: &WorkRequest, prepared: &Prepared, gate: &dyn Gate) -> (i32, String) {
    let span = info_span!("request", id = request.request_id);
    let _entered = span.enter();
    let (compile_request, engine) = match &prepared.work {
        Work::Files { compile, engine } => (compile, *engine),
        Work::Tree(tree) => return tree.run(gate),
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
