//! One-shot mode: what Bazel runs per action without workers (remote execution, standalone or
//! sandboxed strategies). Every file is compiled even when others fail; the exit status is 0
//! only if all succeeded, and each failure is reported on stderr.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::cli::Args;
use crate::compile::{self, BASE_STACK, JobError, NeverCancelled};

pub fn run(args: &Args, jobs: usize) -> i32 {
    let request = match args.compile_request(None) {
        Ok(request) => request,
        Err(error) => {
            eprintln!("error: {error:#}");
            return 2;
        }
    };
    if request.jobs.is_empty() {
        eprintln!(
            "error: nothing to compile: give --src, --src_name and --pyc, or --persistent_worker"
        );
        return 2;
    }
    let engine = match request.settings.engine() {
        Ok(engine) => engine,
        Err(message) => {
            eprintln!("error: {message}");
            return 1;
        }
    };
    let results: Vec<Mutex<Option<Result<(), JobError>>>> =
        request.jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = request.jobs.get(i) else {
                return;
            };
            let result =
                compile::run_job(job, &request.settings, engine, &NeverCancelled).map(drop);
            *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
        }
    };
    // The main thread compiles too, so a single file (one action's usual load) starts no
    // thread at all.
    // Helpers get a modest stack (a deep source grows its own in `limits::guarded`);
    // one that cannot start is logged and its share done by the others.
    let helpers = jobs.min(request.jobs.len()).saturating_sub(1);
    std::thread::scope(|scope| {
        for index in 0..helpers {
            let spawned = std::thread::Builder::new()
                .name(format!("compile-{index}"))
                .stack_size(BASE_STACK)
                .spawn_scoped(scope, work);
            if let Err(error) = spawned {
                tracing::warn!("started {index} of {helpers} helper threads: {error}");
                break;
            }
        }
        compile::on_compile_stack(work);
    });
    let mut failed = false;
    for result in results {
        if let Some(Err(error)) = result.into_inner().unwrap_or_else(|e| e.into_inner()) {
            failed = true;
            let text = error.to_string();
            eprint!("{text}");
            if !text.ends_with('\n') {
                eprintln!();
            }
        }
    }
    i32::from(failed)
}
