//! Diagnostics on broken code nobody picked: mutants of the CPython stdlib against CPython.
//!
//! Every stdlib file of the conformance corpus is a candidate; a seeded generator
//! (tests/mutations/generator.rs) applies one random mutation per candidate, the oracle's
//! `py_compile` (one run per target) says which mutants CPython rejects and with which text,
//! and our library compiles each of them. Measured, per target:
//!
//! - `accepted`: mutants CPython rejects and we compile (a `.pyc` for a broken file);
//! - `same_last_line`: the exception line (type and message) is CPython's;
//! - `same_text`: the whole `str(PyCompileError)` is CPython's;
//! - `wrong_line`: we report another line than CPython;
//! - `valid_rejected`: mutants CPython compiles and we reject (a failed build that should not be).
//!
//! The test fails below the thresholds in [`THRESHOLDS`] (the numbers reached, as a ratchet).
//! Environment (used by tests/mutations/run.sh for long runs): `MUTATIONS_SEED` (default 1),
//! `MUTATIONS_COUNT` (rejected mutants wanted for 3.14; the other targets get a quarter),
//! `MUTATIONS_TARGETS` (comma-separated, default all four), `MUTATIONS_ENFORCE=0` to report
//! without asserting the thresholds. Details of every mismatch go to
//! `target/mutations/<target>-seed<S>/mismatches.txt`.
//!
//! Needs node and the oracle packages: `bash tests/oracle/setup.sh`.

#[path = "mutations/generator.rs"]
mod generator;
#[path = "oracle/harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use harness::*;
use pycompile_worker::cli::Args;
use pycompile_worker::compile::{
    CompileFailure, Engine, NeverCancelled, Settings, compile_pyc, on_compile_stack,
};

/// (target, rejected mutants in the bounded run, thresholds).
struct Threshold {
    target: &'static str,
    count: usize,
    max_accepted: usize,
    /// Per mille of the rejected mutants.
    min_same_last_line: usize,
    min_same_text: usize,
}

/// What the seed-1 bounded run reaches (a ratchet: raise these as the diagnostics improve).
const THRESHOLDS: &[Threshold] = &[
    Threshold {
        target: "3.14",
        count: 1000,
        max_accepted: 0,
        min_same_last_line: 1000,
        min_same_text: 1000,
    },
    Threshold {
        target: "3.12",
        count: 250,
        max_accepted: 0,
        min_same_last_line: 1000,
        min_same_text: 1000,
    },
    Threshold {
        target: "3.13",
        count: 250,
        max_accepted: 0,
        min_same_last_line: 1000,
        min_same_text: 996,
    },
    Threshold {
        target: "3.15",
        count: 250,
        max_accepted: 0,
        min_same_last_line: 1000,
        min_same_text: 1000,
    },
];

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got {v:?}"))
    })
}

fn settings(target: &str) -> (Settings, Engine) {
    let args: Vec<String> = [
        "--invalidation_mode",
        "checked_hash",
        "--optimize",
        "0",
        "--python_version",
        target,
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    let request = Args::parse_args(&args)
        .and_then(|args| args.compile_request(None))
        .expect("settings");
    let engine = request.settings.engine().expect("engine");
    (request.settings, engine)
}

/// FNV-1a, to name the cached oracle results after the exact mutants they are for.
fn fnv(hash: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *hash ^= u64::from(b);
        *hash = hash.wrapping_mul(0x100_0000_01b3);
    }
}

/// The line CPython's text reports: `File "...", line N` or `(name, line N)`.
fn reported_line(text: &str) -> Option<usize> {
    let first = text.lines().next()?;
    let digits = |s: &str| -> Option<usize> {
        s.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()
    };
    if first.trim_start().starts_with("File \"") {
        return digits(&first[first.rfind(", line ")? + 7..]);
    }
    let last = last_line(text);
    digits(&last[last.rfind(", line ")? + 7..])
}

/// The last line without the `(name, line N)` suffix, for grouping mismatches.
fn message_of(text: &str) -> String {
    let last = last_line(text);
    match last.rfind(" (") {
        Some(i) if last.ends_with(')') && last[i..].contains(", line ") => last[..i].to_owned(),
        _ => last.to_owned(),
    }
}

#[derive(Default)]
struct Tally {
    candidates: usize,
    rejected: usize,
    accepted: usize,
    same_last_line: usize,
    same_text: usize,
    wrong_line: usize,
    unworded: usize,
    valid_rejected: usize,
    oracle_errors: usize,
}

struct Mutant {
    kind: &'static str,
    origin: String,
    src: PathBuf,
    name: String,
    source: Vec<u8>,
}

fn generate(seed: u64, candidates: usize, dir: &std::path::Path) -> Vec<Mutant> {
    let (root, files) = corpus();
    let mut rng = generator::Rng::new(seed);
    let mut mutants = Vec::new();
    while mutants.len() < candidates {
        let origin = rng.pick(&files).clone();
        let Ok(source) = fs::read_to_string(root.join(&origin)) else {
            continue;
        };
        let Some((kind, text)) = (0..10).find_map(|_| generator::mutate(&mut rng, &source)) else {
            continue;
        };
        let index = mutants.len();
        let name = format!("mutants/{index:05}.py");
        let src = dir.join(format!("{index:05}.py"));
        fs::write(&src, &text).unwrap();
        mutants.push(Mutant {
            kind,
            origin,
            src,
            name,
            source: text.into_bytes(),
        });
    }
    mutants
}

/// Runs one target; returns the tally and a report.
fn run_target(target: &str, seed: u64, wanted: usize) -> (Tally, String) {
    let work = target_dir()
        .join("mutations")
        .join(format!("{target}-seed{seed}"));
    let dir = work.join("src");
    fresh_dir(&dir);
    // Candidates: CPython accepts some mutants (a mutation inside a string, say); draw
    // enough that about `wanted` are rejected, and keep the first `wanted` of those.
    let mutants = generate(seed, wanted * 3 / 2, &dir);
    let jobs: Vec<Job> = mutants
        .iter()
        .map(|m| Job {
            src: m.src.clone(),
            name: m.name.clone(),
            pyc: work
                .join("pyc")
                .join(format!("{}c", m.name.replace('/', "_"))),
            optimize: 0,
        })
        .collect();
    let mut hash = 0xcbf2_9ce4_8422_2325;
    fnv(&mut hash, target.as_bytes());
    for m in &mutants {
        fnv(&mut hash, &m.source);
        fnv(&mut hash, m.name.as_bytes());
    }
    let cache = target_dir()
        .join("mutations")
        .join(format!("oracle-{target}-{hash:016x}.json"));
    let reference: Vec<serde_json::Value> = match fs::read_to_string(&cache) {
        Ok(text) => serde_json::from_str(&text).unwrap(),
        Err(_) => {
            let results = oracle_compile(target, &jobs, "checked_hash", &work, "oracle");
            fs::write(&cache, serde_json::to_string(&results).unwrap()).unwrap();
            results
        }
    };
    let (settings, engine) = settings(target);
    let mut tally = Tally::default();
    let mut details = String::new();
    let mut groups: BTreeMap<(String, String), (usize, Vec<String>)> = BTreeMap::new();
    let mut by_kind: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for (m, res) in mutants.iter().zip(&reference) {
        if tally.rejected >= wanted {
            break;
        }
        tally.candidates += 1;
        let ours = on_compile_stack(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                compile_pyc(&m.source, &m.name, 0, engine, &settings, &NeverCancelled)
            }))
        });
        let ours = match ours {
            Ok(result) => result,
            Err(_) => Err(CompileFailure::Internal("panic".into())),
        };
        if res["ok"] == true {
            if ours.is_err() {
                tally.valid_rejected += 1;
                let _ = writeln!(
                    details,
                    "== {} ({}, {}): CPython compiles it, we reject:\n{}\n",
                    m.name,
                    m.kind,
                    m.origin,
                    ours.err().unwrap()
                );
            }
            continue;
        }
        if res["exception"] != "PyCompileError" {
            tally.oracle_errors += 1;
            continue;
        }
        tally.rejected += 1;
        let expected = res["error"].as_str().unwrap_or("").trim_end_matches('\n');
        let entry = by_kind.entry(m.kind).or_default();
        entry.0 += 1;
        let ours_text = match &ours {
            Ok(_) => {
                tally.accepted += 1;
                let _ = writeln!(
                    details,
                    "== {} ({}, {}): ACCEPTED; CPython:\n{expected}\n",
                    m.name, m.kind, m.origin
                );
                groups
                    .entry((message_of(expected), "<accepted>".into()))
                    .or_default()
                    .0 += 1;
                continue;
            }
            Err(CompileFailure::Rejected(text)) => text.trim_end_matches('\n').to_owned(),
            Err(other) => {
                tally.unworded += 1;
                other.to_string()
            }
        };
        if last_line(&ours_text) == last_line(expected) {
            tally.same_last_line += 1;
            entry.1 += 1;
        }
        if ours_text == expected {
            tally.same_text += 1;
            entry.2 += 1;
            continue;
        }
        if reported_line(&ours_text) != reported_line(expected) {
            tally.wrong_line += 1;
        }
        let key = (message_of(expected), message_of(&ours_text));
        let group = groups.entry(key).or_default();
        group.0 += 1;
        group.1.push(m.name.clone());
        let _ = writeln!(
            details,
            "== {} ({}, {})\n-- CPython:\n{expected}\n-- ours:\n{ours_text}\n",
            m.name, m.kind, m.origin
        );
    }
    fs::write(work.join("mismatches.txt"), &details).unwrap();
    let mut report = String::new();
    let pct = |n: usize| 100.0 * n as f64 / tally.rejected.max(1) as f64;
    let _ = writeln!(
        report,
        "mutations target={target} seed={seed} candidates={} rejected_by_cpython={} \
         accepted={} same_last_line={} ({:.1}%) same_text={} ({:.1}%) wrong_line={} ({:.1}%) \
         unworded={} valid_rejected={} oracle_errors={}",
        tally.candidates,
        tally.rejected,
        tally.accepted,
        tally.same_last_line,
        pct(tally.same_last_line),
        tally.same_text,
        pct(tally.same_text),
        tally.wrong_line,
        pct(tally.wrong_line),
        tally.unworded,
        tally.valid_rejected,
        tally.oracle_errors,
    );
    let _ = writeln!(report, "  by kind (rejected / same last line / same text):");
    for (kind, (n, last, text)) in &by_kind {
        let _ = writeln!(report, "    {kind:<20} {n:>5} {last:>5} {text:>5}");
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by_key(|group| std::cmp::Reverse(group.1.0));
    let _ = writeln!(
        report,
        "  largest mismatch classes (count: CPython | ours):"
    );
    for ((cpython, ours), (count, names)) in groups.iter().take(30) {
        let example = names.first().map_or("", String::as_str);
        let _ = writeln!(
            report,
            "    {count:>4}: {cpython} | {ours}   e.g. {example}"
        );
    }
    let _ = writeln!(
        report,
        "  details: {}",
        work.join("mismatches.txt").display()
    );
    (tally, report)
}

#[test]
fn mutants_are_rejected_like_cpython() {
    require_oracle();
    let seed = env_usize("MUTATIONS_SEED").unwrap_or(1) as u64;
    let count = env_usize("MUTATIONS_COUNT");
    let enforce = std::env::var("MUTATIONS_ENFORCE").map_or(true, |v| v != "0");
    let targets: Option<Vec<String>> = std::env::var("MUTATIONS_TARGETS")
        .ok()
        .map(|v| v.split(',').map(|t| t.trim().to_owned()).collect());
    let mut failures = Vec::new();
    for threshold in THRESHOLDS {
        if targets
            .as_ref()
            .is_some_and(|t| !t.iter().any(|t| t == threshold.target))
        {
            continue;
        }
        let wanted = match count {
            Some(n) if threshold.target == "3.14" => n,
            Some(n) => (n / 4).max(1),
            None => threshold.count,
        };
        let (tally, report) = run_target(threshold.target, seed, wanted);
        println!("{report}");
        let per_mille = |n: usize| n * 1000 / tally.rejected.max(1);
        let target = threshold.target;
        if tally.accepted > threshold.max_accepted {
            failures.push(format!(
                "{target}: {} broken mutants accepted (at most {})",
                tally.accepted, threshold.max_accepted
            ));
        }
        if per_mille(tally.same_last_line) < threshold.min_same_last_line {
            failures.push(format!(
                "{target}: same last line {}‰ < {}‰",
                per_mille(tally.same_last_line),
                threshold.min_same_last_line
            ));
        }
        if per_mille(tally.same_text) < threshold.min_same_text {
            failures.push(format!(
                "{target}: same text {}‰ < {}‰",
                per_mille(tally.same_text),
                threshold.min_same_text
            ));
        }
        if tally.rejected < wanted * 9 / 10 {
            failures.push(format!(
                "{target}: only {} rejected mutants of {} wanted",
                tally.rejected, wanted
            ));
        }
    }
    if enforce {
        assert!(
            failures.is_empty(),
            "mutation suite:\n{}",
            failures.join("\n")
        );
    } else if !failures.is_empty() {
        println!("below thresholds (not enforced):\n{}", failures.join("\n"));
    }
}

/// What accepted files pay for the tokenizer checks the engines lack
/// (`diagnostics::check_accepted`), against the compile itself, over the stdlib corpus. Our
/// crate is built without optimisation in tests (the engines with), so this over-states the
/// cost; the bound is the 3 %.
#[test]
fn accepted_files_pay_little_for_the_extra_checks() {
    use pycompile_worker::compile::diagnostics::check_accepted;
    use std::time::Instant;
    let (root, files) = corpus();
    let sources: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| (f.clone(), fs::read(root.join(f)).unwrap()))
        .collect();
    let (settings, engine) = settings("3.14");
    let mut compile = f64::MAX;
    let mut checks = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        on_compile_stack(|| {
            for (name, source) in &sources {
                let _ = compile_pyc(source, name, 0, engine, &settings, &NeverCancelled);
            }
        });
        compile = compile.min(started.elapsed().as_secs_f64());
        let started = Instant::now();
        for (name, source) in &sources {
            assert!(
                check_accepted(source, name, serc::PythonVersion::Py314).is_ok(),
                "{name} is valid"
            );
        }
        for path in fixtures("valid") {
            let source = fs::read(&path).unwrap();
            let name = path.display().to_string();
            assert!(
                check_accepted(&source, &name, serc::PythonVersion::Py314).is_ok(),
                "{name} is valid"
            );
        }
        checks = checks.min(started.elapsed().as_secs_f64());
    }
    let share = checks / compile;
    println!(
        "extra checks: {:.1} ms over {} files, compile {:.0} ms: {:.2} %",
        checks * 1e3,
        sources.len(),
        compile * 1e3,
        share * 100.0
    );
    assert!(
        share < 0.03,
        "the checks cost {:.2} % of a compile",
        share * 100.0
    );
}

/// What rejecting a broken file costs against compiling the file it came from (the issue's
/// bound: at most 10x), over the mutants of one seed (`MUTATIONS_SEED`, default 1;
/// `MUTATIONS_COST_COUNT`, default 300). Prints the distribution; no timing assert (the
/// machine is shared). Each time is the best of three. In the test profile our crate is
/// unoptimised and the engines are not, so the ratios over-state the error path's cost.
/// Not in CI (about 90 s): `cargo test --test mutations broken_files_cost -- --ignored`.
#[test]
#[ignore = "a benchmark: run with --ignored"]
fn broken_files_cost_little_more_than_a_compile() {
    use std::time::Instant;
    let seed = env_usize("MUTATIONS_SEED").unwrap_or(1) as u64;
    let count = env_usize("MUTATIONS_COST_COUNT").unwrap_or(300);
    let dir = target_dir()
        .join("mutations")
        .join(format!("cost-seed{seed}"));
    fresh_dir(&dir);
    let mutants = generate(seed, count, &dir);
    let (root, _) = corpus();
    let (settings, engine) = settings("3.14");
    let best = |source: &[u8], name: &str| -> (f64, bool) {
        let mut best = f64::MAX;
        let mut ok = false;
        for _ in 0..3 {
            let started = Instant::now();
            ok = on_compile_stack(|| {
                compile_pyc(source, name, 0, engine, &settings, &NeverCancelled).is_ok()
            });
            best = best.min(started.elapsed().as_secs_f64());
        }
        (best, ok)
    };
    let mut ratios = Vec::new();
    let mut worst = (0.0, String::new());
    let mut over = Vec::new();
    for m in &mutants {
        let original = fs::read(root.join(&m.origin)).unwrap();
        let (broken, accepted) = best(&m.source, &m.name);
        if accepted {
            continue;
        }
        let (compile, ok) = best(&original, &m.origin);
        assert!(ok, "{} compiles", m.origin);
        let ratio = broken / compile;
        if ratio > 10.0 {
            over.push(format!(
                "{ratio:.1}x {} ({}, {}): {:.2} ms against {:.2} ms",
                m.name,
                m.kind,
                m.origin,
                broken * 1e3,
                compile * 1e3
            ));
        }
        if ratio > worst.0 {
            worst = (ratio, format!("{} ({}, {})", m.name, m.kind, m.origin));
        }
        ratios.push(ratio);
    }
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q) as usize];
    println!(
        "broken-file cost (seed {seed}): {} rejected mutants; rejection time / compile time of \
         the original: median {:.2}x, p90 {:.2}x, p99 {:.2}x, max {:.2}x ({}); over 10x: {}",
        ratios.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        worst.0,
        worst.1,
        ratios.iter().filter(|&&r| r > 10.0).count()
    );
    for line in over {
        println!("  {line}");
    }
}
