//! A job: one `--src` / `--src_name` / `--pyc` triple, from reading the source to
//! publishing the `.pyc`.

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use super::engines::Engine;
use super::failure::CompileFailure;
use super::gate::Gate;
use super::pipeline::compile_pyc;
use super::settings::Settings;
use crate::input::{self, MAX_SOURCE_BYTES};
use crate::pyc::StagedPyc;

/// One file to compile. Paths are already resolved against the request's sandbox.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Job {
    pub src: PathBuf,
    /// The name recorded as `co_filename` (rules_python passes the source's short path).
    pub src_name: String,
    pub pyc: PathBuf,
}

/// What a finished job tells a verbose response.
#[derive(Debug)]
pub struct JobReport {
    pub elapsed: Duration,
}

/// Why a job produced no `.pyc`. Every message names the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The source is invalid Python; the text is what py_compile prints (it names the file).
    #[error("{0}")]
    Rejected(String),
    /// The source may be valid, but the engine cannot compile it.
    #[error("{0}")]
    Unsupported(String),
    #[error("error: cannot read source file '{path}': {source}")]
    Read { path: String, source: io::Error },
    #[error("error: cannot write '{path}': {source}")]
    Write { path: String, source: io::Error },
    #[error("internal error while compiling '{path}': {message}")]
    Internal { path: String, message: String },
    /// The request was cancelled before the output was published.
    #[error("cancelled")]
    Cancelled,
}

/// Compiles `job` with `engine` and publishes the `.pyc` through `gate`.
pub fn run_job(
    job: &Job,
    settings: &Settings,
    engine: Engine,
    gate: &dyn Gate,
) -> Result<JobReport, JobError> {
    let started = Instant::now();
    if gate.is_cancelled() {
        return Err(JobError::Cancelled);
    }
    let (source, mtime, mode) = read_source(&job.src)?;
    let compiled = panic::catch_unwind(AssertUnwindSafe(|| {
        compile_pyc(&source, &job.src_name, mtime, engine, settings, gate)
    }))
    .map_err(|panic| JobError::Internal {
        path: job.src.display().to_string(),
        message: panic_message(&*panic),
    })?;
    let pyc = compiled.map_err(|failure| match failure {
        CompileFailure::Rejected(text) => JobError::Rejected(text),
        CompileFailure::Unsupported(text) => JobError::Unsupported(text),
        CompileFailure::Internal(message) => JobError::Internal {
            path: job.src.display().to_string(),
            message,
        },
        CompileFailure::Cancelled => JobError::Cancelled,
    })?;
    if gate.is_cancelled() {
        return Err(JobError::Cancelled);
    }
    let write_error = |source| JobError::Write {
        path: job.pyc.display().to_string(),
        source,
    };
    let staged = StagedPyc::write(&job.pyc, &pyc, mode).map_err(write_error)?;
    let mut staged = Some(staged);
    let published = gate.publish(&mut || {
        let staged = staged.take().expect("publish runs once");
        staged.publish(&job.pyc)
    });
    match published {
        None => Err(JobError::Cancelled),
        Some(result) => result.map_err(write_error).map(|()| JobReport {
            elapsed: started.elapsed(),
        }),
    }
}

/// Reads the source and the two facts the header and the output mode need.
///
/// Metadata is taken before the bytes, as py_compile does: an edit racing with us then
/// yields a stale-looking timestamp, never a fresh-looking header over old bytes.
fn read_source(path: &Path) -> Result<(Vec<u8>, u64, Option<u32>), JobError> {
    let read_error = |source| JobError::Read {
        path: path.display().to_string(),
        source,
    };
    let (file, metadata) = input::open_regular(path, MAX_SOURCE_BYTES).map_err(read_error)?;
    let mtime = metadata
        .modified()
        .ok()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |age| age.as_secs());
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        Some(metadata.permissions().mode())
    };
    #[cfg(not(unix))]
    let mode = None;
    let bytes = input::read_capped(file, MAX_SOURCE_BYTES, metadata.len()).map_err(read_error)?;
    Ok((bytes, mtime, mode))
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "the compiler panicked".to_owned()
    }
}
