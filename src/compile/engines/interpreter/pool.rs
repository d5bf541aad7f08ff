//! Helper processes of one interpreter: spawning, the framed pipe protocol, and the pool that
//! lends them to compile threads.
//!
//! Each helper runs `helper.py` and answers one request at a time. A reader thread per helper
//! turns its stdout into frames on a channel, so a compile thread can wait for its reply with
//! a timeout and give up when its request is cancelled. Replies carry the request's sequence
//! number: a helper whose caller gave up is returned to the pool, and its next user skips the
//! stale reply instead of waiting for a fresh process.

use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use crate::compile::gate::Gate;

/// The helper program, passed with `-c`.
const HELPER: &str = include_str!("helper.py");

/// helper.py's `REQUEST` struct: seq u64, optimize u8, mode u8, mtime u32, size u32,
/// dfile length u32.
const REQUEST_HEAD: usize = 8 + 1 + 1 + 4 + 4 + 4;

/// How often a waiting thread looks at its request's cancellation flag.
const POLL: Duration = Duration::from_millis(20);

/// How long a new helper may take to start and introduce itself.
const HELLO_TIMEOUT: Duration = Duration::from_secs(60);

/// Upper bounds on a frame from a helper; anything larger means the process does not speak
/// our protocol (e.g. the path is not a Python at all).
const MAX_FRAME: u64 = 1 << 31;
const MAX_HELLO: u64 = 1 << 16;

/// What a helper says about its interpreter when it starts.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Hello {
    pub implementation: String,
    pub major: u8,
    pub minor: u8,
    /// `sys.version`'s first word, e.g. `3.11.7`.
    pub version: String,
    /// `importlib.util.MAGIC_NUMBER` in hex.
    pub magic: String,
    /// `sys.executable`.
    pub executable: String,
    pub pid: u32,
    /// Whether each compile runs in a fresh fork of the helper.
    pub fork: bool,
}

impl Hello {
    /// Parses helper.py's hello: one field per line.
    fn parse(frame: &[u8]) -> Result<Self, String> {
        let text = String::from_utf8_lossy(frame);
        let fields: Vec<&str> = text.split('\n').collect();
        let [
            implementation,
            major,
            minor,
            version,
            magic,
            executable,
            pid,
            fork,
        ] = fields.as_slice()
        else {
            return Err(format!("unreadable hello {text:?}"));
        };
        fn number<T: std::str::FromStr>(field: &str, text: &str) -> Result<T, String> {
            field
                .parse()
                .map_err(|_| format!("unreadable hello {text:?}"))
        }
        Ok(Self {
            implementation: (*implementation).to_owned(),
            major: number(major, &text)?,
            minor: number(minor, &text)?,
            version: (*version).to_owned(),
            magic: (*magic).to_owned(),
            executable: (*executable).to_owned(),
            pid: number(pid, &text)?,
            fork: *fork == "1",
        })
    }

    /// The same interpreter, apart from the process.
    fn same_interpreter(&self, other: &Self) -> bool {
        (&self.implementation, &self.version, &self.magic)
            == (&other.implementation, &other.version, &other.magic)
    }
}

/// Why a helper could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("cannot run '{path}': {source}")]
    Exec { path: String, source: io::Error },
    #[error(
        "'{path}' did not start pycompile-worker's helper (it must be CPython 3.8 or newer): {detail}"
    )]
    NoHello { path: String, detail: String },
}

/// One request to a helper.
pub struct Request<'a> {
    pub source: &'a [u8],
    pub dfile: &'a str,
    pub optimize: u8,
    /// 0 timestamp, 1 checked hash, 2 unchecked hash (helper.py's numbering).
    pub mode: u8,
    pub mtime: u32,
    pub size: u32,
}

/// A helper's answer.
#[derive(Debug, Eq, PartialEq)]
pub enum Reply {
    /// The complete `.pyc`.
    Pyc(Vec<u8>),
    /// `str(py_compile.PyCompileError)`.
    Rejected(String),
    /// The helper itself failed (a Python traceback).
    Failed(String),
}

/// Why a call produced no reply.
#[derive(Debug)]
pub enum CallError {
    Cancelled,
    /// The helper is gone or broke the protocol; it must not be reused.
    Broken(String),
}

/// How much of a helper's stderr is kept for error messages.
const STDERR_TAIL: usize = 2048;

/// A running helper process.
pub struct Helper {
    child: Child,
    stdin: ChildStdin,
    frames: Receiver<io::Result<Vec<u8>>>,
    stderr: Arc<StderrTail>,
    last_seq: u64,
    pub pid: u32,
}

/// The end of a helper's stderr. Once the helper has said hello its stderr is passed on to
/// ours (warnings, crash reports); before that it only goes into the startup error.
#[derive(Default)]
struct StderrTail {
    state: Mutex<TailState>,
    ended: Condvar,
}

#[derive(Default)]
struct TailState {
    /// The last [`STDERR_TAIL`] bytes.
    tail: Vec<u8>,
    forwarding: bool,
    ended: bool,
}

impl StderrTail {
    /// Reads `input` to its end, remembering the last bytes and forwarding when asked to.
    fn follow(&self, mut input: impl Read) {
        let mut buffer = [0; 4096];
        loop {
            let read = match input.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(read) => read,
            };
            let mut state = self.lock();
            if state.forwarding {
                let _ = io::stderr().write_all(&buffer[..read]);
            }
            state.tail.extend_from_slice(&buffer[..read]);
            let excess = state.tail.len().saturating_sub(STDERR_TAIL);
            state.tail.drain(..excess);
        }
        self.lock().ended = true;
        self.ended.notify_all();
    }

    /// Passes on what was kept so far and everything that follows.
    fn forward(&self) {
        let mut state = self.lock();
        if !state.tail.is_empty() {
            let _ = io::stderr().write_all(&state.tail);
        }
        state.forwarding = true;
    }

    /// The text kept so far, once the stream ended (or after a short wait).
    fn text(&self) -> String {
        let state = self.lock();
        let (state, _) = self
            .ended
            .wait_timeout_while(state, Duration::from_millis(200), |state| !state.ended)
            .unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&state.tail).trim().to_owned()
    }

    fn lock(&self) -> MutexGuard<'_, TailState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Helper {
    /// Starts `program` with the helper and waits for its hello.
    pub fn spawn(program: &Path) -> Result<(Self, Hello), SpawnError> {
        let path = program.display().to_string();
        let mut command = Command::new(program);
        // Not `-I`: it implies `-E`, which would ignore PYTHONHASHSEED (and frozenset order in
        // .pyc files before 3.11 depends on the hash seed). Instead every PYTHON* variable is
        // removed (what `-E` does) and the two we need are set; `-s` drops the user site, and
        // helper.py drops the working directory from sys.path (it runs in `/` anyway). `site`
        // itself must run (no `-S`): what it loads is part of what py_compile's output depends
        // on (see helper.py).
        command
            .args(["-s", "-B", "-c", HELPER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .current_dir(neutral_dir());
        // Its own process group, so that ending a helper ends the children it forks.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PYTHON") {
                command.env_remove(&key);
            }
        }
        command
            .env("PYTHONHASHSEED", "0")
            .env("PYTHONDONTWRITEBYTECODE", "1");
        let mut child = command.spawn().map_err(|source| SpawnError::Exec {
            path: path.clone(),
            source,
        })?;
        let pid = child.id();
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr_pipe = child.stderr.take().expect("stderr is piped");
        let stderr = Arc::new(StderrTail::default());
        let tail = Arc::clone(&stderr);
        let spawned = thread::Builder::new()
            .name(format!("python-stderr-{pid}"))
            .spawn(move || tail.follow(stderr_pipe));
        if let Err(source) = spawned {
            let _ = child.kill();
            let _ = child.wait();
            return Err(SpawnError::Exec { path, source });
        }
        let (sender, frames) = mpsc::channel();
        thread::Builder::new()
            .name(format!("python-helper-{pid}"))
            .spawn(move || {
                let mut stdout = BufReader::new(stdout);
                let mut limit = MAX_HELLO;
                loop {
                    let frame = read_frame(&mut stdout, limit);
                    limit = MAX_FRAME;
                    let end = frame.is_err();
                    if sender.send(frame).is_err() || end {
                        return;
                    }
                }
            })
            .map_err(|source| SpawnError::Exec {
                path: path.clone(),
                source,
            })?;
        let mut helper = Self {
            child,
            stdin,
            frames,
            stderr,
            last_seq: 0,
            pid,
        };
        let no_hello = |detail: String| SpawnError::NoHello {
            path: path.clone(),
            detail,
        };
        let frame = match helper.frames.recv_timeout(HELLO_TIMEOUT) {
            Ok(Ok(frame)) => frame,
            Ok(Err(error)) => return Err(no_hello(helper.end(&error.to_string()))),
            Err(_) => return Err(no_hello(helper.end("no answer in time"))),
        };
        match Hello::parse(&frame) {
            Ok(hello) => {
                helper.stderr.forward();
                debug!(pid, path, version = hello.version, "helper started");
                Ok((helper, hello))
            }
            Err(error) => Err(no_hello(helper.end(&error))),
        }
    }

    /// Sends `request` and waits for its reply, giving up when `gate` is cancelled.
    pub fn call(&mut self, request: &Request<'_>, gate: &dyn Gate) -> Result<Reply, CallError> {
        self.last_seq += 1;
        let seq = self.last_seq;
        self.send(seq, request).map_err(|error| {
            CallError::Broken(self.end(&format!("writing to it failed: {error}")))
        })?;
        loop {
            match self.frames.recv_timeout(POLL) {
                Ok(Ok(frame)) => {
                    let Some((head, body)) = frame.split_first_chunk::<9>() else {
                        return Err(CallError::Broken(self.end("it sent a short frame")));
                    };
                    let reply_seq = u64::from_le_bytes(head[..8].try_into().expect("8 bytes"));
                    if reply_seq < seq {
                        // The answer to a request whose caller was cancelled.
                        continue;
                    }
                    if reply_seq > seq {
                        return Err(CallError::Broken(
                            self.end("it answered an unknown request"),
                        ));
                    }
                    return match head[8] {
                        0 => Ok(Reply::Pyc(body.to_vec())),
                        1 => Ok(Reply::Rejected(String::from_utf8_lossy(body).into_owned())),
                        2 => Ok(Reply::Failed(String::from_utf8_lossy(body).into_owned())),
                        other => Err(CallError::Broken(
                            self.end(&format!("it sent an unknown status {other}")),
                        )),
                    };
                }
                Ok(Err(error)) => return Err(CallError::Broken(self.end(&error.to_string()))),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(CallError::Broken(self.end("its output ended")));
                }
                Err(RecvTimeoutError::Timeout) if gate.is_cancelled() => {
                    return Err(CallError::Cancelled);
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    fn send(&mut self, seq: u64, request: &Request<'_>) -> io::Result<()> {
        let too_big = || io::Error::other("request larger than 4 GiB");
        let name = request.dfile.as_bytes();
        let mut head = Vec::with_capacity(4 + REQUEST_HEAD + name.len());
        let length = REQUEST_HEAD + name.len() + request.source.len();
        head.extend_from_slice(&u32::try_from(length).map_err(|_| too_big())?.to_le_bytes());
        head.extend_from_slice(&seq.to_le_bytes());
        head.push(request.optimize);
        head.push(request.mode);
        head.extend_from_slice(&request.mtime.to_le_bytes());
        head.extend_from_slice(&request.size.to_le_bytes());
        head.extend_from_slice(
            &u32::try_from(name.len())
                .map_err(|_| too_big())?
                .to_le_bytes(),
        );
        head.extend_from_slice(name);
        self.stdin.write_all(&head)?;
        self.stdin.write_all(request.source)?;
        self.stdin.flush()
    }

    /// Stops the process and describes how it ended, for an error message.
    fn end(&mut self, what: &str) -> String {
        let mut message = what.to_owned();
        if let Some(status) = self.stop() {
            message.push_str("; the process ");
            message.push_str(&describe_exit(status));
        }
        let stderr = self.stderr.text();
        if !stderr.is_empty() {
            message.push_str(", its stderr ending with:\n");
            message.push_str(&stderr);
        }
        message
    }

    /// Reaps the process, killing it if it has not exited on its own within a moment.
    fn stop(&mut self) -> Option<ExitStatus> {
        let deadline = Instant::now() + Duration::from_millis(200);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                Ok(None) => {
                    self.kill();
                    return self.child.wait().ok();
                }
                Err(_) => return None,
            }
        }
    }

    /// Kills the helper and the children it forked. Only while it is unreaped: until then its
    /// pid (and so its process group id) cannot belong to anyone else.
    fn kill(&mut self) {
        #[cfg(unix)]
        if let Some(group) = rustix::process::Pid::from_raw(self.pid as i32) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.child.kill();
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
        let _ = self.child.wait();
    }
}

fn describe_exit(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("was killed by signal {signal}");
        }
    }
    match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => "ended".to_owned(),
    }
}

fn read_frame(input: &mut impl Read, limit: u64) -> io::Result<Vec<u8>> {
    let ended = || io::Error::new(io::ErrorKind::UnexpectedEof, "its output ended");
    let mut length = [0; 4];
    input
        .read_exact(&mut length)
        .map_err(|error| match error.kind() {
            io::ErrorKind::UnexpectedEof => ended(),
            _ => error,
        })?;
    let length = u64::from(u32::from_le_bytes(length));
    if length > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it announced a frame of {length} bytes: not pycompile-worker's protocol"),
        ));
    }
    // Grown as bytes arrive, not allocated up front from an untrusted length.
    let mut frame = Vec::new();
    input.take(length).read_to_end(&mut frame)?;
    if frame.len() as u64 != length {
        return Err(ended());
    }
    Ok(frame)
}

/// A directory the helper can run in without its contents mattering.
fn neutral_dir() -> PathBuf {
    if cfg!(unix) {
        PathBuf::from("/")
    } else {
        std::env::temp_dir()
    }
}

/// Why no helper could be lent.
#[derive(Debug)]
pub enum AcquireError {
    Cancelled,
    Spawn(SpawnError),
    /// A new helper reports a different interpreter than the pool's first one.
    Changed(Hello),
}

/// Up to `max` helpers of one interpreter, started on demand and reused.
pub struct Pool {
    program: PathBuf,
    hello: Hello,
    max: usize,
    state: Mutex<State>,
    freed: Condvar,
}

struct State {
    idle: Vec<Helper>,
    /// Helpers in existence: idle, lent out, or being started.
    live: usize,
}

impl Pool {
    /// A pool holding `first`, whose hello was `hello`; new helpers run `program`.
    pub fn new(program: PathBuf, first: Helper, hello: Hello, max: usize) -> Self {
        Self {
            program,
            hello,
            max: max.max(1),
            state: Mutex::new(State {
                idle: vec![first],
                live: 1,
            }),
            freed: Condvar::new(),
        }
    }

    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    pub fn program(&self) -> &Path {
        &self.program
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// Lends an idle helper, starts one if fewer than `max` exist, or waits for one.
    pub fn acquire(&self, gate: &dyn Gate) -> Result<Helper, AcquireError> {
        let mut state = self.lock();
        loop {
            if let Some(helper) = state.idle.pop() {
                return Ok(helper);
            }
            if state.live < self.max {
                state.live += 1;
                drop(state);
                return self.start();
            }
            if gate.is_cancelled() {
                return Err(AcquireError::Cancelled);
            }
            state = self
                .freed
                .wait_timeout(state, POLL)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn start(&self) -> Result<Helper, AcquireError> {
        let started = Helper::spawn(&self.program);
        let failed = |error| {
            self.forget_one();
            Err(error)
        };
        match started {
            Ok((helper, hello)) if hello.same_interpreter(&self.hello) => {
                info!(
                    pid = helper.pid,
                    program = %self.program.display(),
                    "started a Python {} helper",
                    hello.version
                );
                Ok(helper)
            }
            Ok((_, hello)) => failed(AcquireError::Changed(hello)),
            Err(error) => failed(AcquireError::Spawn(error)),
        }
    }

    /// Takes back a helper that answered (or whose caller gave up waiting).
    pub fn release(&self, helper: Helper) {
        self.lock().idle.push(helper);
        self.freed.notify_one();
    }

    /// Takes back a helper that must not be used again.
    pub fn discard(&self, helper: Helper) {
        warn!(pid = helper.pid, "discarding a broken Python helper");
        drop(helper);
        self.forget_one();
    }

    fn forget_one(&self) {
        self.lock().live -= 1;
        self.freed.notify_one();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
