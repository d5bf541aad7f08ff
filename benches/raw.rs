//! Raw compile speed on one thread, through the crate's library API: no process start, no
//! file I/O, no protocol. Run by `benches/run.sh` (not by `cargo test`):
//!
//! ```text
//! cargo bench --ignore-rust-version --bench raw -- --list FILES.txt --root DIR [--repeat N]
//! ```
//!
//! `FILES.txt` holds one path per line, relative to `--root`; the path is also the
//! `co_filename`. Every source is read into memory first. Each repetition compiles every file
//! once per stage below; the report is one JSON object on stdout with the median and minimum
//! total seconds per stage over the repetitions:
//!
//! - `serc`: [`compile_pyc`] with the serc engine (3.14), i.e. exactly what a worker request
//!   costs minus I/O: nesting pre-check, source hash, compile, marshal, header.
//! - `rustpython`: [`compile_pyc`] with the rustpython engine (3.14).
//! - `serc_compile`, `serc_marshal`, `source_hash`: the serc path taken apart with serc's own
//!   API, to show where the time goes (what is left of `serc` is the nesting pre-check). The
//!   marshal stage runs over modules compiled beforehand, outside the clock.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use pycompile_worker::cli::Args;
use pycompile_worker::compile::{Engine, NeverCancelled, Settings, compile_pyc, on_compile_stack};
use pycompile_worker::pyc::source_hash;

struct Options {
    list: PathBuf,
    root: PathBuf,
    repeat: usize,
}

fn parse_options() -> Options {
    let mut list = None;
    let mut root = PathBuf::from(".");
    let mut repeat = 5;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--list" => list = Some(PathBuf::from(value())),
            "--root" => root = PathBuf::from(value()),
            "--repeat" => {
                repeat = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--repeat needs a number"))
            }
            // `cargo bench` passes `--bench` to harness-less benches.
            "--bench" => {}
            other => usage(&format!("unknown argument {other}")),
        }
    }
    Options {
        list: list.unwrap_or_else(|| usage("--list is required")),
        root,
        repeat: repeat.max(1),
    }
}

fn usage(message: &str) -> ! {
    eprintln!("raw: {message}\nusage: raw --list FILES.txt [--root DIR] [--repeat N]");
    std::process::exit(2);
}

/// The settings of a rules_python request for 3.14 with `--compiler <compiler>`, built through
/// the command-line parser so that they are exactly what the worker would use.
fn settings(compiler: &str) -> (Settings, Engine) {
    let args: Vec<String> = [
        "--invalidation_mode",
        "checked_hash",
        "--optimize",
        "0",
        "--python_version",
        "3.14",
        "--compiler",
        compiler,
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect();
    let request = Args::parse_args(&args)
        .and_then(|args| args.compile_request(None))
        .unwrap_or_else(|error| usage(&format!("error: {error:#}")));
    let engine = request
        .settings
        .engine()
        .unwrap_or_else(|message| usage(&message));
    (request.settings, engine)
}

/// CPU time of the calling thread in seconds (`/proc/thread-self/schedstat`, Linux), so a
/// busy machine shows less in it than in the wall clock. `NaN` where unavailable.
fn thread_cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(f64::NAN, |nanos| nanos as f64 / 1e9)
}

/// A stopwatch for both clocks.
struct Clocks {
    wall: Instant,
    cpu: f64,
}

impl Clocks {
    fn start() -> Self {
        Self {
            wall: Instant::now(),
            cpu: thread_cpu(),
        }
    }

    /// (wall seconds, thread CPU seconds) since `start`.
    fn stop(self) -> (f64, f64) {
        let wall: Duration = self.wall.elapsed();
        (wall.as_secs_f64(), thread_cpu() - self.cpu)
    }
}

/// Times `stage` over every file, counting failures.
fn time_all(
    files: &[(String, Vec<u8>)],
    failures: &mut usize,
    mut stage: impl FnMut(&str, &[u8]) -> bool,
) -> (f64, f64) {
    let clocks = Clocks::start();
    for (name, source) in files {
        if !stage(name, source) {
            *failures += 1;
        }
    }
    clocks.stop()
}

fn summary(samples: &[f64]) -> String {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let list = samples
        .iter()
        .map(|s| format!("{s:.6}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{{\"median_s\": {:.6}, \"min_s\": {:.6}, \"samples_s\": [{list}]}}",
        sorted[sorted.len() / 2],
        sorted[0]
    )
}

/// Wall and CPU samples of one stage.
#[derive(Default)]
struct Stage {
    wall: Vec<f64>,
    cpu: Vec<f64>,
    failures: usize,
}

impl Stage {
    fn record(&mut self, (wall, cpu): (f64, f64), failures: usize) {
        self.wall.push(wall);
        self.cpu.push(cpu);
        self.failures = failures;
    }
}

fn main() {
    let options = parse_options();
    let listing = std::fs::read_to_string(&options.list)
        .unwrap_or_else(|error| usage(&format!("cannot read {}: {error}", options.list.display())));
    let files: Vec<(String, Vec<u8>)> = listing
        .lines()
        .filter(|line| !line.is_empty())
        .map(|name| {
            let path = options.root.join(name);
            let source = std::fs::read(&path)
                .unwrap_or_else(|error| usage(&format!("cannot read {}: {error}", path.display())));
            (name.to_owned(), source)
        })
        .collect();
    let bytes: usize = files.iter().map(|(_, source)| source.len()).sum();

    let (serc_settings, serc_engine) = settings("serc");
    let (rp_settings, rp_engine) = settings("rustpython");
    let Engine::Serc(serc_target) = serc_engine else {
        unreachable!("--compiler serc selects serc")
    };
    let serc_options = serc::CompileOptions {
        python_version: serc_target,
        ..serc::CompileOptions::default()
    };
    let magic = serc_engine.magic();

    // One thread, with the stack the worker's compile threads get.
    let report = on_compile_stack(|| {
        let names = [
            "serc",
            "rustpython",
            "serc_compile",
            "serc_marshal",
            "source_hash",
        ];
        let mut stages: Vec<Stage> = names.iter().map(|_| Stage::default()).collect();
        for _ in 0..options.repeat {
            let mut failed = 0;
            let times = time_all(&files, &mut failed, |name, source| {
                compile_pyc(
                    source,
                    name,
                    0,
                    serc_engine,
                    &serc_settings,
                    &NeverCancelled,
                )
                .is_ok()
            });
            stages[0].record(times, failed);

            let mut failed = 0;
            let times = time_all(&files, &mut failed, |name, source| {
                compile_pyc(source, name, 0, rp_engine, &rp_settings, &NeverCancelled).is_ok()
            });
            stages[1].record(times, failed);

            // serc taken apart: compile only (each module dropped at once, as in real
            // use), then marshal modules compiled beforehand, then the hash.
            let mut failed = 0;
            let times = time_all(&files, &mut failed, |name, source| {
                serc::compile_bytes_with_options(source, name, &serc_options).is_ok()
            });
            stages[2].record(times, failed);

            let modules: Vec<_> = files
                .iter()
                .filter_map(|(name, source)| {
                    serc::compile_bytes_with_options(source, name, &serc_options).ok()
                })
                .collect();
            let clocks = Clocks::start();
            let mut written = 0usize;
            for module in &modules {
                written += module.to_hash_pyc_with_hash([0; 8], true).len();
            }
            stages[3].record(clocks.stop(), 0);
            std::hint::black_box(written);
            drop(modules);

            let times = time_all(&files, &mut 0, |_, source| {
                std::hint::black_box(source_hash(magic, source));
                true
            });
            stages[4].record(times, 0);
        }
        let fields: Vec<String> = names
            .iter()
            .zip(&stages)
            .map(|(name, stage)| {
                format!(
                    "\"{name}\": {{\"failures\": {}, \"time\": {}, \"cpu\": {}}}",
                    stage.failures,
                    summary(&stage.wall),
                    summary(&stage.cpu)
                )
            })
            .collect();
        format!(
            "{{\"files\": {}, \"bytes\": {bytes}, \"repeat\": {}, \"stages\": {{{}}}}}",
            files.len(),
            options.repeat,
            fields.join(", ")
        )
    });
    println!("{report}");
}
