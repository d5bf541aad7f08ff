//! A Bazel-7-faithful client of the JSON worker protocol, for tests.
//!
//! It writes requests the way Bazel's protobuf JSON printer does — compact camelCase, default
//! values omitted (no `requestId` for singleplex, no `cancel:false`), `=` and other HTML-unsafe
//! characters escaped as `\u003d`, `inputs` digests as base64 of the hex digest — followed by a
//! newline (Bazel 5+) or nothing (Bazel 4.x). It reads responses the way Bazel's lenient reader
//! does, but stricter: every line must be one JSON object with only the known keys, so any
//! stray byte on stdout fails the test.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

/// How long any single wait for a response may take before the test fails as a hang.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// The binary under test: this build's, or `PYCOMPILE_WORKER_UNDER_TEST` (to show that a
/// test fails on an older build).
pub fn exe() -> PathBuf {
    std::env::var_os("PYCOMPILE_WORKER_UNDER_TEST").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_pycompile-worker")),
        PathBuf::from,
    )
}

/// A response as Bazel sees it, plus `wasCancelled` (Bazel ignores it; we check it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub request_id: i64,
    pub exit_code: i64,
    pub output: String,
    pub was_cancelled: bool,
}

/// How requests are separated on the wire.
#[derive(Clone, Copy, Debug)]
pub enum Framing {
    /// Bazel 5+: a newline after each request.
    Newline,
    /// Bazel 4.x: nothing between requests.
    BackToBack,
    /// Windows Bazel: `\r\n`.
    CrLf,
}

/// One `WorkRequest`, built with Bazel's defaults.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub request_id: i32,
    pub arguments: Vec<String>,
    pub inputs: Vec<(String, String)>,
    pub cancel: bool,
    pub verbosity: i32,
    pub sandbox_dir: Option<String>,
}

impl Request {
    pub fn new(request_id: i32, arguments: &[&str]) -> Self {
        Self {
            request_id,
            arguments: arguments.iter().map(|arg| (*arg).to_owned()).collect(),
            ..Self::default()
        }
    }

    pub fn cancel(request_id: i32) -> Self {
        Self {
            request_id,
            cancel: true,
            ..Self::default()
        }
    }

    /// Serialises like protobuf-java's `JsonFormat.printer().omittingInsignificantWhitespace()`.
    pub fn to_bazel_json(&self) -> String {
        let mut object = Map::new();
        if !self.arguments.is_empty() {
            object.insert("arguments".into(), json!(self.arguments));
        }
        if !self.inputs.is_empty() {
            let inputs: Vec<Value> = self
                .inputs
                .iter()
                .map(|(path, hex)| json!({"path": path, "digest": base64(hex.as_bytes())}))
                .collect();
            object.insert("inputs".into(), Value::Array(inputs));
        }
        if self.request_id != 0 {
            object.insert("requestId".into(), json!(self.request_id));
        }
        if self.cancel {
            object.insert("cancel".into(), json!(true));
        }
        if self.verbosity != 0 {
            object.insert("verbosity".into(), json!(self.verbosity));
        }
        if let Some(dir) = &self.sandbox_dir {
            object.insert("sandboxDir".into(), json!(dir));
        }
        html_escape(&Value::Object(object).to_string())
    }
}

/// protobuf-java escapes these inside strings; they never occur outside strings in our JSON.
fn html_escape(json: &str) -> String {
    json.replace('=', "\\u003d")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\'', "\\u0027")
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A running worker process.
pub struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    responses: Receiver<Result<Response, String>>,
    pub framing: Framing,
}

impl Worker {
    /// Starts `pycompile-worker --persistent_worker EXTRA...` in `cwd`, as Bazel does.
    pub fn start(cwd: &Path, extra: &[&str]) -> Self {
        Self::start_with(cwd, extra, |_| {})
    }

    /// Like [`Worker::start`], with a last say on the command (limits, stderr).
    pub fn start_with(cwd: &Path, extra: &[&str], configure: impl FnOnce(&mut Command)) -> Self {
        let mut command = Command::new(exe());
        command
            .arg("--persistent_worker")
            .args(extra)
            .current_dir(cwd)
            .env("PYTHONHASHSEED", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        configure(&mut command);
        let mut child = command.spawn().expect("starting the worker");
        let stdout = child.stdout.take().unwrap();
        let (tx, responses) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let parsed = line
                    .map_err(|e| e.to_string())
                    .and_then(|line| parse_response(&line));
                if tx.send(parsed).is_err() {
                    return;
                }
            }
        });
        Self {
            stdin: child.stdin.take(),
            child,
            responses,
            framing: Framing::Newline,
        }
    }

    pub fn send(&mut self, request: &Request) {
        let mut bytes = request.to_bazel_json().into_bytes();
        match self.framing {
            Framing::Newline => bytes.push(b'\n'),
            Framing::CrLf => bytes.extend_from_slice(b"\r\n"),
            Framing::BackToBack => {}
        }
        self.send_raw(&bytes);
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(bytes).expect("writing to the worker");
        stdin.flush().expect("flushing to the worker");
    }

    /// The next response; fails the test on a hang or on anything but a valid response.
    pub fn recv(&self) -> Response {
        match self.responses.recv_timeout(PATIENCE) {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => panic!("bad bytes on the worker's stdout: {error}"),
            Err(RecvTimeoutError::Timeout) => panic!("no response within {PATIENCE:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the worker closed stdout"),
        }
    }

    /// The next response if one arrives within `wait`.
    pub fn recv_within(&self, wait: Duration) -> Option<Response> {
        match self.responses.recv_timeout(wait) {
            Ok(Ok(response)) => Some(response),
            Ok(Err(error)) => panic!("bad bytes on the worker's stdout: {error}"),
            Err(_) => None,
        }
    }

    /// Asserts that nothing arrives within `wait`.
    pub fn expect_silence(&self, wait: Duration) {
        match self.responses.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            other => panic!("expected no response, got {other:?}"),
        }
    }

    /// Closes stdin and waits for the exit; returns the status code, the responses still
    /// written after EOF, and how long the exit took.
    pub fn close(mut self) -> (i32, Vec<Response>, Duration) {
        drop(self.stdin.take());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waiting for the worker") {
                break status;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "worker did not exit after EOF"
            );
            thread::sleep(Duration::from_millis(5));
        };
        let elapsed = started.elapsed();
        let mut rest = Vec::new();
        while let Ok(item) = self.responses.recv_timeout(Duration::from_secs(5)) {
            rest.push(item.expect("valid response after EOF"));
        }
        (status.code().unwrap_or(-1), rest, elapsed)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses one stdout line; only Bazel's keys (and `wasCancelled`) are allowed, each once.
fn parse_response(line: &str) -> Result<Response, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("{e}: {line:?}"))?;
    let object = value
        .as_object()
        .ok_or_else(|| format!("not an object: {line:?}"))?;
    for key in object.keys() {
        if !["requestId", "exitCode", "output", "wasCancelled"].contains(&key.as_str()) {
            return Err(format!("unexpected key {key:?} in {line:?}"));
        }
    }
    let int = |key: &str| {
        object
            .get(key)
            .and_then(Value::as_i64)
            .ok_or_else(|| format!("missing {key} in {line:?}"))
    };
    Ok(Response {
        request_id: int("requestId")?,
        exit_code: int("exitCode")?,
        output: object
            .get("output")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("missing output in {line:?}"))?
            .to_owned(),
        was_cancelled: object
            .get("wasCancelled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// The arguments rules_python's PyCompile action passes (in its order) for one file.
pub fn pycompile_args(src: &str, src_name: &str, pyc: &str) -> Vec<String> {
    [
        "--invalidation_mode",
        "checked_hash",
        "--src",
        src,
        "--src_name",
        src_name,
        "--pyc",
        pyc,
        "--optimize",
        "0",
        "--python_version",
        "3.14",
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect()
}

/// A request compiling one file, as rules_python sends it.
pub fn compile_request(request_id: i32, src: &str, src_name: &str, pyc: &str) -> Request {
    Request {
        request_id,
        arguments: pycompile_args(src, src_name, pyc),
        ..Request::default()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc_4648() {
        assert_eq!(super::base64(b"abc"), "YWJj");
        assert_eq!(super::base64(b"ab"), "YWI=");
        assert_eq!(super::base64(b"a"), "YQ==");
    }
}
