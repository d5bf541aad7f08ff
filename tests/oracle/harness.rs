//! Helpers shared by tests/conformance.rs and tests/diagnostics.rs: driving our
//! binary in one-shot mode and the CPython oracle (tests/oracle/oracle.mjs).
//! Included with `#[path = "oracle/harness.rs"] mod harness;`.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Longest a single run of our binary or of the oracle may take.
const RUN_LIMIT: Duration = Duration::from_secs(900);

pub const TARGETS: [&str; 4] = ["3.12", "3.13", "3.14", "3.15"];
const PACKAGES: [&str; 4] = ["pyodide-312", "pyodide-313", "pyodide-314", "pyodide-315"];
pub const SETUP_HINT: &str = "run the test script `bash tests/run.sh`, or install just the oracle \
     with `bash tests/oracle/setup.sh` (npm ci in tests/oracle; needs Node 20+)";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Cargo's target directory (the parent of CARGO_TARGET_TMPDIR).
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .to_path_buf()
}

/// The binary under test: this build's, or `PYCOMPILE_WORKER_UNDER_TEST` (as in
/// tests/driver), so that a long generated-program run can measure an older build while
/// this one is being rebuilt.
pub fn ours_exe() -> PathBuf {
    std::env::var_os("PYCOMPILE_WORKER_UNDER_TEST").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_pycompile-worker")),
        PathBuf::from,
    )
}

pub fn oracle_dir() -> PathBuf {
    repo_root().join("tests/oracle")
}

/// Panics (never skips) when node or the pinned pyodide packages are missing.
pub fn require_oracle() {
    let node = Command::new("node").arg("--version").output();
    match node {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!("`node --version` failed ({}); {SETUP_HINT}", out.status),
        Err(err) => panic!("node is not installed ({err}); {SETUP_HINT}"),
    }
    for pkg in PACKAGES {
        let entry = oracle_dir()
            .join("node_modules")
            .join(pkg)
            .join("pyodide.mjs");
        assert!(
            entry.is_file(),
            "CPython oracle package {pkg} is missing ({} not found); {SETUP_HINT}",
            entry.display()
        );
    }
}

/// Removes and recreates a directory, so no stale output can pass for new output.
pub fn fresh_dir(dir: &Path) {
    if dir.exists() {
        fs::remove_dir_all(dir).unwrap_or_else(|e| panic!("remove {}: {e}", dir.display()));
    }
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
}

pub fn write_json(path: &Path, value: &Value) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, serde_json::to_string_pretty(value).unwrap())
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// Runs `node oracle.mjs --target T ARGS...`; panics with its stderr on failure.
/// Echoes the oracle's own timing line(s) to stderr.
pub fn oracle(target: &str, args: &[&str]) -> Output {
    let started = Instant::now();
    let out = output_with_timeout(
        Command::new("node")
            .arg(oracle_dir().join("oracle.mjs"))
            .arg("--target")
            .arg(target)
            .args(args)
            .current_dir(repo_root()),
        RUN_LIMIT,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in stderr.lines().filter(|l| l.starts_with("oracle: ")) {
        eprintln!("  [{:.1}s] {line}", started.elapsed().as_secs_f64());
    }
    out
}

fn oracle_batch(
    target: &str,
    verb: &str,
    jobs: Vec<Value>,
    work: &Path,
    name: &str,
    extra: &[&str],
) -> Vec<Value> {
    let manifest = work.join(format!("{name}.manifest.json"));
    let results = work.join(format!("{name}.results.json"));
    let _ = fs::remove_file(&results);
    let count = jobs.len();
    write_json(&manifest, &json!({ "jobs": jobs }));
    let mut args = vec![
        verb,
        "--manifest",
        manifest.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = oracle(target, &args);
    assert!(
        out.status.success(),
        "oracle {verb} (target {target}) failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = read_json(&results);
    let list = doc["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        list.len(),
        count,
        "oracle {verb} returned {} results for {count} jobs",
        list.len()
    );
    list
}

/// One py_compile job for the oracle (and the same triple for our binary).
#[derive(Clone, Debug)]
pub struct Job {
    pub src: PathBuf,
    pub name: String,
    pub pyc: PathBuf,
    pub optimize: u8,
}

/// py_compile.compile for every job in one oracle run; one JSON result per job:
/// {"ok": true} or {"ok": false, "error": str(PyCompileError), ...}.
pub fn oracle_compile(
    target: &str,
    jobs: &[Job],
    mode: &str,
    work: &Path,
    name: &str,
) -> Vec<Value> {
    let list = jobs
        .iter()
        .map(|j| json!({"src": j.src, "dfile": j.name, "pyc": j.pyc, "optimize": j.optimize, "invalidation_mode": mode}))
        .collect();
    oracle_batch(target, "compile", list, work, name, &[])
}

/// Oracle comparison of (ours, reference) pyc pairs; one JSON result per pair.
pub fn oracle_compare(
    target: &str,
    pairs: &[(PathBuf, PathBuf)],
    work: &Path,
    name: &str,
) -> Vec<Value> {
    let list = pairs
        .iter()
        .map(|(o, r)| json!({"ours": o, "reference": r}))
        .collect();
    oracle_batch(target, "compare", list, work, name, &[])
}

/// Runs pycs under the oracle's CPython; one {"status","stdout","stderr"} per pyc.
pub fn oracle_run(target: &str, pycs: &[PathBuf], work: &Path, name: &str) -> Vec<Value> {
    let list = pycs.iter().map(|p| json!({"pyc": p})).collect();
    oracle_batch(target, "run", list, work, name, &[])
}

/// The CPython 3.14 stdlib sources from pyodide's python_stdlib.zip, extracted once
/// into <target>/oracle-corpus. Returns (root, sorted relative paths).
pub fn corpus() -> (PathBuf, Vec<String>) {
    // Tests of one binary run on threads of one process: one of them extracts, the others wait
    // (the temporary directory below is only unique per process).
    static EXTRACTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = EXTRACTING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let root = target_dir().join("oracle-corpus");
    let stamp = root.join(".complete");
    if !stamp.is_file() {
        let tmp = target_dir().join(format!("oracle-corpus.tmp{}", std::process::id()));
        fresh_dir(&tmp);
        let out = oracle("3.14", &["corpus", "--out", tmp.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "oracle corpus failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let count = String::from_utf8_lossy(&out.stdout).trim().to_string();
        fs::write(tmp.join(".complete"), &count).unwrap();
        if root.exists() {
            fs::remove_dir_all(&root).unwrap();
        }
        if fs::rename(&tmp, &root).is_err() {
            // Another test process won the race; use its copy.
            let _ = fs::remove_dir_all(&tmp);
        }
    }
    let mut files = Vec::new();
    collect_py(&root, &root, &mut files);
    files.sort();
    let expected: usize = fs::read_to_string(&stamp).unwrap().trim().parse().unwrap();
    assert_eq!(
        files.len(),
        expected,
        "corpus in {} is incomplete; delete it and re-run",
        root.display()
    );
    assert!(files.len() > 500, "corpus has only {} files", files.len());
    (root, files)
}

fn collect_py(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_py(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "py") {
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .replace('\\', "/"),
            );
        }
    }
}

/// Sorted *.py files of a fixtures directory (tests/fixtures/<kind>).
pub fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = repo_root().join("tests/fixtures").join(kind);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    files.sort();
    files
}

pub struct OursRun {
    pub status: std::process::ExitStatus,
    pub stderr: String,
    pub jobs: std::ops::Range<usize>,
    pub seconds: f64,
}

/// Compiles jobs with our binary in one-shot mode, `chunk` triples per @param file.
/// All jobs must share `optimize`.
pub fn ours_compile(
    jobs: &[Job],
    target: &str,
    mode: &str,
    work: &Path,
    chunk: usize,
) -> Vec<OursRun> {
    let mut runs = Vec::new();
    for (n, start) in (0..jobs.len()).step_by(chunk.max(1)).enumerate() {
        let range = start..(start + chunk).min(jobs.len());
        let mut lines: Vec<String> = Vec::new();
        for job in &jobs[range.clone()] {
            lines.extend([
                "--src".into(),
                job.src.to_str().unwrap().into(),
                "--src_name".into(),
                job.name.clone(),
                "--pyc".into(),
                job.pyc.to_str().unwrap().into(),
            ]);
        }
        let opt = jobs[range.start].optimize;
        lines.extend(["--optimize".into(), opt.to_string()]);
        lines.extend(["--invalidation_mode".into(), mode.into()]);
        lines.extend(["--python_version".into(), target.into()]);
        let params = work.join(format!("ours-{n}.params"));
        fs::create_dir_all(work).unwrap();
        fs::write(&params, lines.join("\n") + "\n").unwrap();
        let started = Instant::now();
        let out = output_with_timeout(
            Command::new(ours_exe())
                .arg(format!("@{}", params.display()))
                .current_dir(repo_root()),
            RUN_LIMIT,
        );
        runs.push(OursRun {
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            jobs: range,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    runs
}

/// Runs our binary once with flags given directly (not via a param file).
pub fn ours_direct(args: &[&str]) -> Output {
    output_with_timeout(
        Command::new(ours_exe()).args(args).current_dir(repo_root()),
        RUN_LIMIT,
    )
}

/// Runs a command, killing it after `limit` (so a hung binary fails the test
/// instead of hanging it).
pub fn output_with_timeout(cmd: &mut Command, limit: Duration) -> Output {
    let program = format!("{:?}", cmd.get_program());
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{program} did not finish within {}s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

/// Last non-empty line of a (possibly multi-line) message.
pub fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}
