//! Conformance of pycompile-worker against CPython's py_compile (the oracle in
//! tests/oracle, pyodide builds of CPython 3.12-3.15).
//!
//! For every target and optimize level, the CPython 3.14 stdlib (559 files) and
//! tests/fixtures/valid/*.py are compiled by our binary (one-shot mode, @param
//! files) and by py_compile, then compared. One line per (target, opt):
//!   target=3.14 opt=0 files=N identical_bytes=B equal_objects=E
//! followed by the non-identical files and their first difference. Reports go to
//! <target dir>/conformance/report-<target>.json.
//! Only 3.14 is asserted on: equal_objects == files, identical_bytes >= 99 %.
//! CONFORMANCE_TARGETS=3.14,3.13 restricts the targets (default: all four).
//!
//! Needs node and the oracle packages: `bash tests/oracle/setup.sh`.

#[path = "oracle/harness.rs"]
mod harness;

use harness::*;
use serde_json::{Value, json};
use std::fs;
use std::path::PathBuf;
use std::time::Instant;

const OPTS: [u8; 3] = [0, 1, 2];
const MODE: &str = "checked_hash";
const CHUNK: usize = 300;
const PRINT_LIMIT: usize = 100;
const ASSERTED_TARGET: &str = "3.14";

/// A source to compile: the name used as --src_name / dfile, and its path.
struct Case {
    name: String,
    src: PathBuf,
}

fn cases() -> Vec<Case> {
    let (root, files) = corpus();
    let mut cases: Vec<Case> = files
        .iter()
        .map(|rel| Case {
            name: format!("Lib/{rel}"),
            src: root.join(rel),
        })
        .collect();
    for path in fixtures("valid") {
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        cases.push(Case {
            name: format!("fixtures/valid/{file}"),
            src: path,
        });
    }
    cases
}

fn selected_targets() -> Vec<&'static str> {
    match std::env::var("CONFORMANCE_TARGETS") {
        Ok(list) if !list.trim().is_empty() => {
            let wanted: Vec<&str> = list.split(',').map(str::trim).collect();
            for w in &wanted {
                assert!(
                    TARGETS.contains(w),
                    "CONFORMANCE_TARGETS: unknown target {w}"
                );
            }
            TARGETS
                .iter()
                .copied()
                .filter(|t| wanted.contains(t))
                .collect()
        }
        _ => TARGETS.to_vec(),
    }
}

#[derive(Default)]
struct OptSummary {
    files: usize,
    identical: usize,
    equal: usize,
    ours_failed_runs: usize,
    problems: Vec<String>,
}

/// Compiles and compares everything for one target; prints the lines and writes
/// the JSON report. Returns one summary per optimize level.
fn run_target(target: &str, cases: &[Case]) -> (Vec<(u8, OptSummary)>, Vec<String>) {
    let t0 = Instant::now();
    let work = target_dir().join("conformance").join(target);
    fresh_dir(&work);
    let jobs_for = |opt: u8, side: &str| -> Vec<Job> {
        cases
            .iter()
            .map(|c| Job {
                src: c.src.clone(),
                name: c.name.clone(),
                pyc: work.join(format!("opt{opt}/{side}/{}c", c.name)),
                optimize: opt,
            })
            .collect()
    };

    // Our binary, one batch of param files per optimize level.
    let mut ours_runs = Vec::new();
    let mut ours_seconds = 0.0;
    for opt in OPTS {
        let runs = ours_compile(
            &jobs_for(opt, "ours"),
            target,
            MODE,
            &work.join(format!("opt{opt}/params")),
            CHUNK,
        );
        ours_seconds += runs.iter().map(|r| r.seconds).sum::<f64>();
        ours_runs.push(runs);
    }
    eprintln!(
        "  [{target}] ours: {} files x {} levels in {ours_seconds:.1}s",
        cases.len(),
        OPTS.len()
    );

    // The oracle: all levels in one py_compile run, then one comparison run.
    let all_ref: Vec<Job> = OPTS.iter().flat_map(|&o| jobs_for(o, "ref")).collect();
    let all_ours: Vec<Job> = OPTS.iter().flat_map(|&o| jobs_for(o, "ours")).collect();
    let ref_results = oracle_compile(target, &all_ref, MODE, &work, "reference");
    let mut pairs = Vec::new();
    let mut pair_index = vec![None; all_ref.len()];
    for (k, ((r, o), res)) in all_ref.iter().zip(&all_ours).zip(&ref_results).enumerate() {
        if res["ok"] == true && o.pyc.is_file() {
            pair_index[k] = Some(pairs.len());
            pairs.push((o.pyc.clone(), r.pyc.clone()));
        }
    }
    let compared = oracle_compare(target, &pairs, &work, "compare");

    // Files this CPython rejects (the same at every level): skipped, and said so.
    // Any other oracle failure (unreadable file, crash) is an error of the harness.
    let n = cases.len();
    let mut oracle_errors = Vec::new();
    for (job, res) in all_ref.iter().zip(&ref_results) {
        if res["ok"] != true && res["exception"] != "PyCompileError" {
            oracle_errors.push(format!(
                "target={target} oracle error on {} (opt {}): {} {}",
                job.name, job.optimize, res["exception"], res["error"]
            ));
        }
    }
    for e in &oracle_errors {
        println!("  {e}");
    }
    let rejected: Vec<usize> = (0..n)
        .filter(|&i| ref_results[i]["exception"] == "PyCompileError")
        .collect();
    if !rejected.is_empty() {
        println!(
            "target={target}: skipping {} file(s) that CPython {target} rejects:",
            rejected.len()
        );
        for &i in &rejected {
            println!(
                "  skip {}: {}",
                cases[i].name,
                last_line(ref_results[i]["error"].as_str().unwrap_or("?"))
            );
        }
    }

    let mut summaries = Vec::new();
    let mut report_levels = Vec::new();
    for (level, &opt) in OPTS.iter().enumerate() {
        let mut s = OptSummary::default();
        let mut entries = Vec::new();
        let runs = &ours_runs[level];
        s.ours_failed_runs = runs.iter().filter(|r| !r.status.success()).count();
        for (i, case) in cases.iter().enumerate() {
            let k = level * n + i;
            let reference = &ref_results[k];
            let ours_pyc = &all_ours[k].pyc;
            let stderr = runs
                .iter()
                .find(|r| r.jobs.contains(&i))
                .map(|r| r.stderr.as_str())
                .unwrap_or("");
            let ours_msg = || {
                stderr
                    .lines()
                    .find(|l| l.contains(&case.name))
                    .map(str::to_string)
                    .unwrap_or_else(|| "no pyc written".into())
            };
            if reference["ok"] != true {
                if ours_pyc.is_file() {
                    let msg = format!(
                        "{}: ours compiled it, CPython rejects it: {}",
                        case.name,
                        last_line(reference["error"].as_str().unwrap_or("?"))
                    );
                    s.problems.push(msg.clone());
                    entries.push(json!({"file": case.name, "skipped": true, "ours_accepted": true, "reference_error": reference["error"]}));
                } else {
                    entries.push(json!({"file": case.name, "skipped": true, "reference_error": reference["error"]}));
                }
                continue;
            }
            s.files += 1;
            let Some(p) = pair_index[k] else {
                let msg = ours_msg();
                s.problems
                    .push(format!("{}: ours failed: {msg}", case.name));
                entries.push(json!({"file": case.name, "identical_bytes": false, "equal_objects": false, "ours_error": msg}));
                continue;
            };
            let cmp = &compared[p];
            let identical = cmp["identical_bytes"] == true;
            let equal = cmp["equal_objects"] == true;
            s.identical += identical as usize;
            s.equal += equal as usize;
            if !identical {
                let diff = cmp["diff"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| cmp.to_string());
                let fz = if cmp["has_frozenset"] == true {
                    " [frozenset constant]"
                } else {
                    ""
                };
                s.problems.push(format!("{}{fz}: {diff}", case.name));
                entries.push(json!({"file": case.name, "result": cmp}));
            }
        }
        println!(
            "target={target} opt={opt} files={} identical_bytes={} equal_objects={}",
            s.files, s.identical, s.equal
        );
        if s.ours_failed_runs > 0 {
            println!(
                "  ({} of {} runs of our binary exited non-zero)",
                s.ours_failed_runs,
                runs.len()
            );
        }
        for line in s.problems.iter().take(PRINT_LIMIT) {
            println!("  {line}");
        }
        if s.problems.len() > PRINT_LIMIT {
            println!(
                "  ... and {} more (see report-{target}.json)",
                s.problems.len() - PRINT_LIMIT
            );
        }
        report_levels.push(json!({
            "optimize": opt, "files": s.files, "identical_bytes": s.identical, "equal_objects": s.equal,
            "ours_failed_runs": s.ours_failed_runs,
            "ours_stderr": runs.iter().filter(|r| !r.stderr.is_empty()).map(|r| r.stderr.clone()).collect::<Vec<_>>(),
            "entries": entries,
        }));
        summaries.push((opt, s));
    }
    let report = json!({
        "target": target, "invalidation_mode": MODE, "cases": n,
        "seconds": {"ours": ours_seconds, "total": t0.elapsed().as_secs_f64()},
        "oracle_errors": oracle_errors,
        "levels": report_levels,
    });
    write_json(
        &target_dir()
            .join("conformance")
            .join(format!("report-{target}.json")),
        &report,
    );
    eprintln!("  [{target}] done in {:.1}s", t0.elapsed().as_secs_f64());
    (summaries, oracle_errors)
}

#[test]
fn conformance_against_cpython() {
    require_oracle();
    let cases = cases();
    let mut failures = Vec::new();
    for target in selected_targets() {
        let (summaries, oracle_errors) = run_target(target, &cases);
        failures.extend(oracle_errors);
        if target != ASSERTED_TARGET {
            continue;
        }
        for (opt, s) in &summaries {
            if s.files != cases.len() {
                failures.push(format!(
                    "target={target} opt={opt}: CPython compiled only {} of {} files",
                    s.files,
                    cases.len()
                ));
            }
            if s.equal != s.files {
                failures.push(format!(
                    "target={target} opt={opt}: equal_objects={} of {} (must be all)",
                    s.equal, s.files
                ));
            }
            if s.identical * 100 < s.files * 99 {
                failures.push(format!(
                    "target={target} opt={opt}: identical_bytes={} of {} (< 99%)",
                    s.identical, s.files
                ));
            }
            if s.ours_failed_runs > 0 {
                failures.push(format!(
                    "target={target} opt={opt}: our binary exited non-zero in {} run(s)",
                    s.ours_failed_runs
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "conformance failures:\n{}",
        failures.join("\n")
    );
}

/// A pyc we produce is loaded and run by CPython 3.14 and prints what it should.
#[test]
fn produced_pyc_runs_under_cpython_314() {
    require_oracle();
    let work = target_dir().join("conformance/run-hello");
    fresh_dir(&work);
    let src = repo_root().join("tests/fixtures/valid/hello.py");
    let pyc = work.join("hello.pyc");
    let out = ours_direct(&[
        "--src",
        src.to_str().unwrap(),
        "--src_name",
        "fixtures/valid/hello.py",
        "--pyc",
        pyc.to_str().unwrap(),
        "--optimize",
        "0",
        "--invalidation_mode",
        "checked_hash",
        "--python_version",
        "3.14",
    ]);
    assert!(
        out.status.success(),
        "our binary failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let run = oracle("3.14", &["run", "--pyc", pyc.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "CPython 3.14 could not run our pyc: {}\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(stdout, "hello 42\n");
}

/// Every valid fixture, at every optimize level, behaves the same under CPython
/// 3.14 whether compiled by us or by py_compile (same exit status, stdout, stderr).
#[test]
fn fixtures_behave_like_cpython_314() {
    require_oracle();
    let work = target_dir().join("conformance/run-fixtures");
    fresh_dir(&work);
    let mut ours_jobs = Vec::new();
    let mut ref_jobs = Vec::new();
    for opt in OPTS {
        for path in fixtures("valid") {
            let file = path.file_name().unwrap().to_str().unwrap().to_string();
            let name = format!("fixtures/valid/{file}");
            let job = |side: &str| Job {
                src: path.clone(),
                name: name.clone(),
                pyc: work.join(format!("opt{opt}/{side}/{file}c")),
                optimize: opt,
            };
            ours_jobs.push(job("ours"));
            ref_jobs.push(job("ref"));
        }
    }
    for opt in OPTS {
        let level: Vec<Job> = ours_jobs
            .iter()
            .filter(|j| j.optimize == opt)
            .cloned()
            .collect();
        ours_compile(
            &level,
            "3.14",
            MODE,
            &work.join(format!("opt{opt}/params")),
            CHUNK,
        );
    }
    let refs = oracle_compile("3.14", &ref_jobs, MODE, &work, "reference");
    let mut failures = Vec::new();
    let mut pycs = Vec::new();
    for ((o, r), res) in ours_jobs.iter().zip(&ref_jobs).zip(&refs) {
        if res["ok"] != true {
            failures.push(format!(
                "{} (opt {}): CPython 3.14 rejects this fixture: {}",
                o.name, o.optimize, res["error"]
            ));
        } else if !o.pyc.is_file() {
            failures.push(format!(
                "{} (opt {}): our binary wrote no pyc",
                o.name, o.optimize
            ));
        } else {
            pycs.push(o.pyc.clone());
            pycs.push(r.pyc.clone());
        }
    }
    let runs = oracle_run("3.14", &pycs, &work, "run");
    let mut checked = 0;
    for (pair, res) in pycs.chunks(2).zip(runs.chunks(2)) {
        checked += 1;
        let field = |v: &Value, k: &str| v[k].clone();
        for key in ["status", "stdout", "stderr"] {
            if field(&res[0], key) != field(&res[1], key) {
                failures.push(format!(
                    "{}: {key} differs under CPython 3.14\n    ours:      {}\n    reference: {}",
                    pair[0].display(),
                    field(&res[0], key),
                    field(&res[1], key)
                ));
            }
        }
        if res[1]["status"] != 0 {
            failures.push(format!(
                "{}: the reference itself fails: {}",
                pair[1].display(),
                res[1]["stderr"]
            ));
        }
    }
    println!(
        "fixtures run under CPython 3.14: {checked} compared, {} problem(s)",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let _ = fs::remove_dir_all(&work);
}
