//! The interpreter engine (`--compiler interpreter`, and `--compiler auto` for versions serc
//! does not serve) against each interpreter's own `py_compile`, run here as the oracle.
//!
//! `python3` must be on PATH (3.11 on every machine we run on). Every other CPython 3.8–3.13
//! found as `pythonX.Y` on PATH or under ~/.pyenv/versions/*/bin gets the same checks; the
//! suite prints which versions it exercised and which it could not find (not found is not
//! passed). Byte identity covers tests/fixtures/interpreter/*.py and the
//! tests/fixtures/valid/*.py that version accepts, at -O0/-O1/-O2 in all three invalidation
//! modes; rejected sources (tests/fixtures/broken, the error_* fixtures and the valid ones too
//! new for the version) must produce the interpreter's own `str(PyCompileError)`.
//! INTERPRETER_TEST_VERSIONS=3.9,3.10 restricts which other versions are looked for.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_pycompile-worker");
const ENV_VAR: &str = "PYCOMPILE_WORKER_PYTHON_INTERPRETERS";
/// No run of our binary or of an oracle may take longer than this.
const RUN_LIMIT: Duration = Duration::from_secs(300);
const OPTS: [u8; 3] = [0, 1, 2];
const MODES: [&str; 3] = ["TIMESTAMP", "CHECKED_HASH", "UNCHECKED_HASH"];
const OTHER_VERSIONS: [&str; 6] = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"];
/// Versions serc compiles under `--compiler auto`; the others go to an interpreter.
const SERC_VERSIONS: [&str; 4] = ["3.12", "3.13", "3.14", "3.15"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------
// Processes with a time limit

/// Runs `command` to completion with `stdin`, killing it after [`RUN_LIMIT`].
fn run(command: &mut Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let status = wait_limited(&mut child, &format!("{command:?}"));
    let _ = writer.join();
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

fn wait_limited(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} took longer than {RUN_LIMIT:?} and was killed");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Our binary, with a clean interpreter environment unless the test sets one.
fn ours() -> Command {
    let mut command = Command::new(BIN);
    command.env_remove(ENV_VAR);
    command
}

// ---------------------------------------------------------------------------------------
// Interpreters

#[derive(Clone, Debug)]
struct Python {
    /// `X.Y`.
    version: String,
    /// `os.path.realpath(sys.executable)`.
    path: PathBuf,
    /// `sys.version`'s first word.
    full: String,
}

impl Python {
    /// Flags selecting this interpreter explicitly.
    fn flags(&self) -> Vec<String> {
        vec![
            "--python_version".into(),
            self.version.clone(),
            "--compiler".into(),
            "interpreter".into(),
            "--python_interpreter".into(),
            format!("{}={}", self.version, self.path.display()),
        ]
    }
}

/// Asks `program` who it is; `None` unless it is a working CPython.
fn probe(program: &Path) -> Option<Python> {
    let mut command = Command::new(program);
    command.args([
        "-c",
        "import os, sys; print('%d.%d' % sys.version_info[:2]); \
         print(os.path.realpath(sys.executable)); print(sys.version.split()[0]); \
         print(sys.implementation.name)",
    ]);
    let output = run(&mut command, b"");
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    match lines.as_slice() {
        [version, path, full, "cpython"] => Some(Python {
            version: (*version).to_owned(),
            path: PathBuf::from(path),
            full: (*full).to_owned(),
        }),
        _ => None,
    }
}

fn python3() -> Python {
    probe(Path::new("python3")).expect("python3 (CPython) must be on PATH for these tests")
}

/// Where `pythonX.Y` might live: PATH, then pyenv's versions (newest patch first).
fn candidates(version: &str) -> Vec<PathBuf> {
    let name = format!("python{version}");
    let mut found: Vec<PathBuf> =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join(&name))
            .filter(|path| path.is_file())
            .collect();
    let pyenv = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".pyenv")));
    if let Some(Ok(entries)) = pyenv.map(|root| fs::read_dir(root.join("versions"))) {
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|dir| {
                dir.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with(&format!("{version}.")))
            })
            .collect();
        dirs.sort();
        dirs.reverse();
        found.extend(dirs.into_iter().map(|dir| dir.join("bin").join(&name)));
    }
    found
}

/// The CPython 3.8–3.13 interpreters on this machine other than `python3`, and the versions
/// none was found for.
fn other_pythons(except: &Python) -> (Vec<Python>, Vec<&'static str>) {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    // INTERPRETER_TEST_VERSIONS=3.9,3.10 restricts the search (a quicker run while developing).
    let wanted = std::env::var("INTERPRETER_TEST_VERSIONS").unwrap_or_default();
    for version in OTHER_VERSIONS {
        if version == except.version
            || (!wanted.trim().is_empty() && !wanted.split(',').any(|w| w.trim() == version))
        {
            continue;
        }
        match candidates(version)
            .iter()
            .filter_map(|path| probe(path))
            .find(|python| python.version == version)
        {
            Some(python) => found.push(python),
            None => missing.push(version),
        }
    }
    (found, missing)
}

// ---------------------------------------------------------------------------------------
// Fixtures and the oracle

fn py_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "py"))
        .collect();
    files.sort();
    files
}

/// A source and the name it is compiled under (`--src_name`, py_compile's `dfile`).
#[derive(Clone, Debug)]
struct Case {
    src: PathBuf,
    name: String,
}

fn cases_in(subdir: &str) -> Vec<Case> {
    py_files(&root().join("tests/fixtures").join(subdir))
        .into_iter()
        .map(|src| Case {
            name: format!(
                "fixtures/{subdir}/{}",
                src.file_name().unwrap().to_string_lossy()
            ),
            src,
        })
        .collect()
}

/// Every source the byte-identity checks try: ours first, then the shared valid ones.
fn compile_cases() -> Vec<Case> {
    let mut cases = cases_in("interpreter");
    cases.extend(cases_in("valid"));
    cases
}

/// Sources every CPython rejects.
fn broken_cases() -> Vec<Case> {
    cases_in("broken")
}

/// What `py_compile.compile` did with one case.
#[derive(Debug)]
enum Verdict {
    Compiled(Vec<u8>),
    Rejected(String),
}

/// py_compile itself: one fresh `python -s -c "import py_compile; py_compile.compile(...)"`
/// per `(case, opt, mode)`, PYTHONHASHSEED=0 and no other PYTHON* variable, several at once.
///
/// A fresh process per compile is the only well-defined reference: before 3.11 the bytes
/// depend on which strings are alive in the compiling process (marshal's FLAG_REF), so a
/// process that compiled or imported other things first may write different bytes. The
/// script's own names are all ones py_compile already holds.
fn oracle(python: &Python, jobs: &[(Case, u8, &str)], scratch: &Path) -> Vec<Verdict> {
    const SCRIPT: &str = "import py_compile, sys
try:
    py_compile.compile(sys.argv[1], sys.argv[2], sys.argv[3], doraise=True,
                       optimize=int(sys.argv[4]),
                       invalidation_mode=py_compile.PycInvalidationMode[sys.argv[5]])
except py_compile.PyCompileError as e:
    sys.stdout.write(str(e))
";
    let out_dir = tempfile::tempdir_in(scratch).unwrap();
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Verdict>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let threads = thread::available_parallelism().map_or(2, usize::from);
    thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((case, opt, mode)) = jobs.get(i) else {
                        return;
                    };
                    let cfile = out_dir.path().join(format!("{i}.pyc"));
                    let mut command = Command::new(&python.path);
                    command
                        .args(["-s", "-c", SCRIPT])
                        .arg(&case.src)
                        .arg(&cfile)
                        .arg(&case.name)
                        .arg(opt.to_string())
                        .arg(mode)
                        .current_dir(scratch);
                    for (key, _) in std::env::vars_os() {
                        if key.to_string_lossy().starts_with("PYTHON") {
                            command.env_remove(key);
                        }
                    }
                    command.env("PYTHONHASHSEED", "0");
                    let output = run(&mut command, b"");
                    assert!(
                        output.status.success(),
                        "oracle {} on {} failed: {}",
                        python.path.display(),
                        case.name,
                        String::from_utf8_lossy(&output.stderr)
                    );
                    let verdict = if output.stdout.is_empty() {
                        Verdict::Compiled(fs::read(&cfile).unwrap())
                    } else {
                        Verdict::Rejected(String::from_utf8(output.stdout).unwrap())
                    };
                    *results[i].lock().unwrap() = Some(verdict);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|verdict| verdict.into_inner().unwrap().expect("every oracle job ran"))
        .collect()
}

/// What a failing compile's text looks like in our output (one trailing newline).
fn as_output(text: &str) -> String {
    if text.ends_with('\n') {
        text.to_owned()
    } else {
        format!("{text}\n")
    }
}

// ---------------------------------------------------------------------------------------
// The checks

#[derive(Debug, Default)]
struct Tally {
    identical: usize,
    rejected_exact: usize,
    /// Cases where py_compile itself writes different bytes from run to run (before 3.12,
    /// `hash(None)` and other identity hashes follow ASLR, and so does a frozenset constant's
    /// order); ours differed from the first oracle run but matched another one.
    nondeterministic: Vec<String>,
    failures: Vec<String>,
}

/// How many more times the oracle runs when our bytes differ from its first answer.
const ORACLE_RERUNS: usize = 24;

/// One one-shot run per (optimize, mode) over every case `python` accepts, each output
/// compared with py_compile's bytes; every case it rejects compared by message in worker mode.
fn check_against_oracle(python: &Python, flags: &[String]) -> Tally {
    let scratch = tempfile::tempdir().unwrap();
    let cases = compile_cases();
    let mut jobs = Vec::new();
    for opt in OPTS {
        for mode in MODES {
            for case in &cases {
                jobs.push((case.clone(), opt, mode));
            }
        }
    }
    let verdicts = oracle(python, &jobs, scratch.path());
    let mut tally = Tally::default();
    let mut rejected: BTreeMap<String, (Case, String)> = BTreeMap::new();
    let mut per_run: BTreeMap<(u8, &str), Vec<(usize, &Case)>> = BTreeMap::new();
    for (i, ((case, opt, mode), verdict)) in jobs.iter().zip(&verdicts).enumerate() {
        match verdict {
            Verdict::Compiled(_) => per_run.entry((*opt, *mode)).or_default().push((i, case)),
            Verdict::Rejected(text) => {
                rejected.insert(case.name.clone(), (case.clone(), text.clone()));
            }
        }
    }
    let mut ours_time = Duration::ZERO;
    let mut compiled = 0;
    for ((opt, mode), run_cases) in &per_run {
        let out = scratch.path().join(format!("ours-{opt}-{mode}"));
        let mut params = flags.to_vec();
        params.extend([
            "--optimize".into(),
            opt.to_string(),
            "--invalidation_mode".into(),
            (*mode).to_owned(),
        ]);
        for (i, case) in run_cases {
            params.extend([
                "--src".into(),
                case.src.display().to_string(),
                "--src_name".into(),
                case.name.clone(),
                "--pyc".into(),
                out.join(format!("{i}.pyc")).display().to_string(),
            ]);
        }
        let param_file = scratch.path().join(format!("params-{opt}-{mode}"));
        fs::write(&param_file, params.join("\n") + "\n").unwrap();
        let started = Instant::now();
        let output = run(ours().arg(format!("@{}", param_file.display())), b"");
        ours_time += started.elapsed();
        assert!(
            output.status.success(),
            "Python {} -O{opt} {mode}: exit {:?}\n{}",
            python.version,
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        );
        for (i, case) in run_cases {
            compiled += 1;
            let Verdict::Compiled(expected) = &verdicts[*i] else {
                unreachable!()
            };
            match fs::read(out.join(format!("{i}.pyc"))) {
                Ok(bytes) if &bytes == expected => tally.identical += 1,
                Ok(bytes) if oracle_varies_and_matches(python, case, *opt, mode, &bytes) => {
                    tally
                        .nondeterministic
                        .push(format!("{} -O{opt} {mode}", case.name));
                }
                Ok(bytes) => tally.failures.push(format!(
                    "{} -O{opt} {mode}: {} bytes differ from py_compile's {} (first difference at {})",
                    case.name,
                    bytes.len(),
                    expected.len(),
                    bytes
                        .iter()
                        .zip(expected)
                        .position(|(a, b)| a != b)
                        .unwrap_or(bytes.len().min(expected.len()))
                )),
                Err(error) => tally
                    .failures
                    .push(format!("{} -O{opt} {mode}: no .pyc: {error}", case.name)),
            }
        }
    }
    println!(
        "  Python {} ({}): {compiled} compiles in {} one-shot runs, {:.1} ms per file including process start",
        python.full,
        python.path.display(),
        per_run.len(),
        ours_time.as_secs_f64() * 1000.0 / compiled.max(1) as f64
    );

    // Rejections: the sources this version refuses, plus the broken set.
    let broken = broken_cases();
    let broken_jobs: Vec<(Case, u8, &str)> = broken
        .iter()
        .map(|case| (case.clone(), 0, "CHECKED_HASH"))
        .collect();
    let broken_verdicts = oracle(python, &broken_jobs, scratch.path());
    for (case, verdict) in broken.iter().zip(broken_verdicts) {
        match verdict {
            Verdict::Rejected(text) => {
                rejected.insert(case.name.clone(), (case.clone(), text));
            }
            Verdict::Compiled(_) => {} // fine for this version; covered by others
        }
    }
    let expected: Vec<(Case, String)> = rejected.into_values().collect();
    let outputs = worker_compile_each(
        flags,
        &expected
            .iter()
            .map(|(case, _)| case.clone())
            .collect::<Vec<_>>(),
        scratch.path(),
    );
    for ((case, text), (exit_code, output)) in expected.iter().zip(outputs) {
        if exit_code == 1 && output == as_output(text) {
            tally.rejected_exact += 1;
        } else {
            tally.failures.push(format!(
                "{}: expected exit 1 and {:?}, got exit {exit_code} and {output:?}",
                case.name,
                as_output(text)
            ));
        }
    }
    tally
}

/// Reruns the oracle on one case: true if py_compile's own output varies between runs and one
/// of its outputs equals `ours`.
fn oracle_varies_and_matches(
    python: &Python,
    case: &Case,
    opt: u8,
    mode: &str,
    ours: &[u8],
) -> bool {
    let scratch = tempfile::tempdir().unwrap();
    let jobs = vec![(case.clone(), opt, mode); ORACLE_RERUNS];
    let outputs: BTreeSet<Vec<u8>> = oracle(python, &jobs, scratch.path())
        .into_iter()
        .filter_map(|verdict| match verdict {
            Verdict::Compiled(bytes) => Some(bytes),
            Verdict::Rejected(_) => None,
        })
        .collect();
    outputs.len() > 1 && outputs.contains(ours)
}

fn report(python: &Python, tally: &Tally) {
    println!(
        "  Python {}: {} byte-identical .pyc files, {} rejections with py_compile's exact text, \
         {} where py_compile itself varies between runs and ours is one of its outputs {:?}, {} failures",
        python.full,
        tally.identical,
        tally.rejected_exact,
        tally.nondeterministic.len(),
        tally.nondeterministic,
        tally.failures.len()
    );
}

fn assert_tally(python: &Python, tally: &Tally) {
    report(python, tally);
    assert!(
        tally.failures.is_empty(),
        "Python {} ({}):\n{}",
        python.full,
        python.path.display(),
        tally.failures.join("\n")
    );
    assert!(
        tally.identical > 0 && tally.rejected_exact > 0,
        "nothing was compared"
    );
}

// ---------------------------------------------------------------------------------------
// A persistent worker driven over its JSON protocol

struct Worker {
    child: Child,
    stdin: ChildStdin,
    responses: Receiver<Value>,
}

impl Worker {
    fn start(startup: &[&str], env: &[(&str, OsString)]) -> Self {
        let mut command = ours();
        command
            .arg("--persistent_worker")
            .args(startup)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("starting the worker");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, responses) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|error| panic!("not JSON on stdout: {line:?}: {error}"));
                if sender.send(value).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            stdin,
            responses,
        }
    }

    fn send(&mut self, request: &Value) {
        let mut line = serde_json::to_vec(request).unwrap();
        line.push(b'\n');
        self.stdin.write_all(&line).unwrap();
        self.stdin.flush().unwrap();
    }

    fn recv(&self) -> Value {
        self.responses
            .recv_timeout(RUN_LIMIT)
            .expect("a response from the worker in time")
    }

    /// Sends one request and waits for its response.
    fn call(&mut self, id: i64, arguments: &[String], extra: Value) -> Value {
        let mut request = json!({"requestId": id, "arguments": arguments});
        if let (Some(request), Value::Object(extra)) = (request.as_object_mut(), extra) {
            request.extend(extra);
        }
        self.send(&request);
        let response = self.recv();
        assert_eq!(response["requestId"], json!(id), "{response}");
        response
    }

    /// The worker's child processes (its interpreter helpers).
    #[cfg(target_os = "linux")]
    fn helpers(&self) -> BTreeSet<u32> {
        let mut pids = BTreeSet::new();
        for task in fs::read_dir(format!("/proc/{}/task", self.child.id())).unwrap() {
            let children =
                fs::read_to_string(task.unwrap().path().join("children")).unwrap_or_default();
            pids.extend(
                children
                    .split_whitespace()
                    .map(|pid| pid.parse::<u32>().unwrap()),
            );
        }
        pids
    }

    fn finish(mut self) {
        drop(self.stdin);
        let status = wait_limited(&mut self.child, "the worker after end of input");
        assert!(status.success(), "worker exit status {status}");
    }
}

fn triple(case: &Case, pyc: &Path) -> Vec<String> {
    vec![
        "--src".into(),
        case.src.display().to_string(),
        "--src_name".into(),
        case.name.clone(),
        "--pyc".into(),
        pyc.display().to_string(),
    ]
}

/// One worker, one multiplex request per case (all in flight at once): (exitCode, output).
fn worker_compile_each(flags: &[String], cases: &[Case], scratch: &Path) -> Vec<(i64, String)> {
    let mut worker = Worker::start(&["--jobs", "2"], &[]);
    for (i, case) in cases.iter().enumerate() {
        let mut arguments = flags.to_vec();
        arguments.extend(triple(case, &scratch.join(format!("rejected-{i}.pyc"))));
        worker.send(&json!({"requestId": i + 1, "arguments": arguments}));
    }
    let mut by_id = BTreeMap::new();
    for _ in cases {
        let response = worker.recv();
        by_id.insert(
            response["requestId"].as_i64().unwrap(),
            (
                response["exitCode"].as_i64().unwrap_or(0),
                response["output"].as_str().unwrap_or("").to_owned(),
            ),
        );
    }
    worker.finish();
    (1..=cases.len() as i64)
        .map(|id| by_id.remove(&id).expect("every request answered"))
        .collect()
}

fn fixture(name: &str) -> Case {
    Case {
        src: root().join("tests/fixtures/interpreter").join(name),
        name: format!("pkg/{name}"),
    }
}

/// py_compile's bytes for one case at -O0 CHECKED_HASH.
fn expected_pyc(python: &Python, case: &Case, scratch: &Path) -> Vec<u8> {
    match oracle(python, &[(case.clone(), 0, "CHECKED_HASH")], scratch).remove(0) {
        Verdict::Compiled(bytes) => bytes,
        Verdict::Rejected(text) => panic!("{} rejected {}: {text}", python.full, case.name),
    }
}

// ---------------------------------------------------------------------------------------
// Tests

#[test]
fn python3_is_byte_identical_to_its_py_compile() {
    let python = python3();
    println!(
        "python3 is CPython {} at {}",
        python.full,
        python.path.display()
    );
    let tally = check_against_oracle(&python, &python.flags());
    assert_tally(&python, &tally);
    // Our own fixtures must all be in the comparison (a version that rejects them all would
    // make the check vacuous).
    assert!(tally.identical >= 7 * OPTS.len() * MODES.len(), "{tally:?}");
}

#[test]
fn auto_uses_the_interpreter_for_versions_serc_does_not_serve() {
    let python = python3();
    if SERC_VERSIONS.contains(&python.version.as_str()) {
        println!(
            "python3 is {}, which serc serves: --compiler auto does not use it",
            python.version
        );
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let case = fixture("frozenset_strings.py");
    let expected = expected_pyc(&python, &case, scratch.path());
    let pyc = scratch.path().join("auto.pyc");
    let mut args = vec![
        "--python_version".to_owned(),
        python.version.clone(),
        "--python_interpreter".to_owned(),
        format!("{}={}", python.version, python.path.display()),
    ];
    args.extend(triple(&case, &pyc));
    let output = run(ours().args(&args), b"");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(fs::read(&pyc).unwrap(), expected);
}

#[test]
fn other_interpreters_are_byte_identical_to_their_py_compile() {
    let (found, missing) = other_pythons(&python3());
    let mut failed = Vec::new();
    for python in &found {
        println!(
            "exercising CPython {} at {}",
            python.full,
            python.path.display()
        );
        let tally = check_against_oracle(python, &python.flags());
        report(python, &tally);
        if !tally.failures.is_empty() || tally.identical == 0 || tally.rejected_exact == 0 {
            failed.push(format!(
                "Python {} ({}):\n{}",
                python.full,
                python.path.display(),
                tally.failures.join("\n")
            ));
        }
    }
    println!(
        "interpreter versions exercised: [{}]; not found on this machine (NOT tested): [{}]",
        found
            .iter()
            .map(|python| python.full.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        missing.join(", ")
    );
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

#[test]
fn worker_mode_compiles_with_python_version_in_each_request() {
    let python = python3();
    let scratch = tempfile::tempdir().unwrap();
    // Relative paths inside a sandbox dir, as Bazel's sandboxed workers send them.
    let sandbox = scratch.path().join("sandbox");
    fs::create_dir_all(sandbox.join("pkg")).unwrap();
    let names = [
        "frozenset_strings.py",
        "py38_features.py",
        "optimize_levels.py",
    ];
    for name in names {
        fs::copy(
            root().join("tests/fixtures/interpreter").join(name),
            sandbox.join("pkg").join(name),
        )
        .unwrap();
    }
    let mut worker = Worker::start(&["--jobs", "2"], &[]);
    let mut id = 0;
    for mode in MODES {
        for opt in OPTS {
            let mut pending = Vec::new();
            for name in names {
                id += 1;
                let case = Case {
                    src: sandbox.join("pkg").join(name),
                    name: format!("pkg/{name}"),
                };
                let pyc = format!("out/{mode}/{opt}/{name}c");
                let mut arguments = python.flags();
                arguments.extend([
                    "--optimize".into(),
                    opt.to_string(),
                    "--invalidation_mode".into(),
                    mode.to_lowercase(),
                    "--src".into(),
                    format!("pkg/{name}"),
                    "--src_name".into(),
                    case.name.clone(),
                    "--pyc".into(),
                    pyc.clone(),
                ]);
                worker.send(&json!({
                    "requestId": id,
                    "arguments": arguments,
                    "sandboxDir": sandbox,
                    "verbosity": 10,
                }));
                pending.push((id, case, opt, sandbox.join(&pyc)));
            }
            let mut responses = BTreeMap::new();
            for _ in &pending {
                let response = worker.recv();
                responses.insert(response["requestId"].as_i64().unwrap(), response);
            }
            for (id, case, opt, pyc) in pending {
                let response = &responses[&id];
                assert_eq!(response["exitCode"].as_i64().unwrap_or(0), 0, "{response}");
                // Verbose output names the compiler and the interpreter (version and path).
                let output = response["output"].as_str().unwrap();
                assert!(
                    output.contains(&format!(
                        "CPython {} interpreter {}",
                        python.full,
                        python.path.display()
                    )),
                    "{output}"
                );
                let expected =
                    match oracle(&python, &[(case.clone(), opt, mode)], scratch.path()).remove(0) {
                        Verdict::Compiled(bytes) => bytes,
                        Verdict::Rejected(text) => panic!("{text}"),
                    };
                assert_eq!(
                    fs::read(&pyc).unwrap(),
                    expected,
                    "{} -O{opt} {mode}",
                    case.name
                );
            }
        }
    }
    worker.finish();
}

/// One helper compiles a cp1252 source (importing encodings.cp1252 into the compiling
/// process), then a source naming that module's globals once each: its bytes must still be a
/// fresh py_compile's. Before 3.11 they are not if compiles share a process.
fn check_history_independence(python: &Python) {
    let scratch = tempfile::tempdir().unwrap();
    let first = fixture("cp1252_source.py");
    let second = fixture("codec_names.py");
    let expected = expected_pyc(python, &second, scratch.path());
    let mut worker = Worker::start(&["--jobs", "1"], &[]);
    for (id, case) in [(1, &first), (2, &second)] {
        let mut arguments = python.flags();
        arguments.extend(triple(case, &scratch.path().join(format!("{id}.pyc"))));
        let response = worker.call(id, &arguments, json!({}));
        assert_eq!(response["exitCode"].as_i64().unwrap_or(0), 0, "{response}");
    }
    worker.finish();
    assert!(
        fs::read(scratch.path().join("2.pyc")).unwrap() == expected,
        "Python {}: codec_names.py compiled after cp1252_source.py differs from py_compile's",
        python.full
    );
}

#[test]
fn earlier_compiles_do_not_change_later_bytes() {
    let python3 = python3();
    check_history_independence(&python3);
    let (found, _) = other_pythons(&python3);
    for python in found.iter().filter(|python| {
        // The versions whose marshal output depends on what else the process holds.
        ["3.8", "3.9", "3.10"].contains(&python.version.as_str())
    }) {
        println!("history independence checked on CPython {}", python.full);
        check_history_independence(python);
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_killed_helper_is_replaced() {
    let python = python3();
    let scratch = tempfile::tempdir().unwrap();
    let case = fixture("constants_closures.py");
    let expected = expected_pyc(&python, &case, scratch.path());
    let mut worker = Worker::start(&["--jobs", "1"], &[]);
    let compile = |worker: &mut Worker, id: i64| {
        let pyc = scratch.path().join(format!("{id}.pyc"));
        let mut arguments = python.flags();
        arguments.extend(triple(&case, &pyc));
        let response = worker.call(id, &arguments, json!({}));
        assert_eq!(response["exitCode"].as_i64().unwrap_or(0), 0, "{response}");
        assert_eq!(fs::read(&pyc).unwrap(), expected);
    };
    compile(&mut worker, 1);
    let first = worker.helpers();
    assert_eq!(first.len(), 1, "one helper with --jobs 1: {first:?}");
    // Reused, not restarted, across requests.
    compile(&mut worker, 2);
    assert_eq!(worker.helpers(), first);
    for pid in &first {
        let status = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
    // The killed helper may already have forked the child that serves the next compile, so
    // that one can still succeed through it; by the compile after, the pool must have noticed
    // the death and started a new helper. Every compile must give py_compile's bytes.
    compile(&mut worker, 3);
    compile(&mut worker, 4);
    compile(&mut worker, 5);
    let second = worker.helpers();
    assert!(
        second.iter().any(|pid| !first.contains(pid)),
        "no new helper after the kill: {first:?} then {second:?}"
    );
    worker.finish();
}

#[test]
fn a_cancelled_request_never_writes_and_its_helper_is_reused() {
    let python = python3();
    let scratch = tempfile::tempdir().unwrap();
    // Takes CPython 3.11 about a second and a half to compile.
    let slow = Case {
        src: scratch.path().join("slow.py"),
        name: "slow.py".into(),
    };
    let source: String = (0..10_000)
        .map(|i| {
            format!("def f{i}(a, b={i}):\n    return [a * b + i for i in range({i}) if i % 3]\n")
        })
        .collect();
    fs::write(&slow.src, source).unwrap();
    let case = fixture("py38_features.py");
    let expected = expected_pyc(&python, &case, scratch.path());
    let mut worker = Worker::start(&["--jobs", "1"], &[]);
    let slow_pyc = scratch.path().join("slow.pyc");
    let mut arguments = python.flags();
    arguments.extend(triple(&slow, &slow_pyc));
    worker.send(&json!({"requestId": 7, "arguments": arguments}));
    thread::sleep(Duration::from_millis(300));
    worker.send(&json!({"requestId": 7, "cancel": true}));
    let response = worker.recv();
    assert_eq!(response["requestId"], json!(7), "{response}");
    assert_eq!(response["wasCancelled"], json!(true), "{response}");
    // With --jobs 1 there is one helper, still busy with the abandoned compile: the next
    // request waits for it and must get its own answer, not the stale one.
    let pyc = scratch.path().join("next.pyc");
    let mut arguments = python.flags();
    arguments.extend(triple(&case, &pyc));
    let response = worker.call(8, &arguments, json!({}));
    assert_eq!(response["exitCode"].as_i64().unwrap_or(0), 0, "{response}");
    assert_eq!(fs::read(&pyc).unwrap(), expected);
    worker.finish();
    assert!(!slow_pyc.exists(), "a cancelled request wrote its output");
    let leftovers: Vec<_> = fs::read_dir(scratch.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("pycompile"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// Runs a one-shot compile of `frozenset_strings.py` for `version` with `args`.
fn one_shot(version: &str, args: &[String], env: &[(&str, OsString)], scratch: &Path) -> Output {
    let case = fixture("frozenset_strings.py");
    let mut command = ours();
    command.args(["--python_version", version]).args(args);
    command.args(triple(
        &case,
        &scratch.join(format!("one-shot-{version}.pyc")),
    ));
    for (key, value) in env {
        command.env(key, value);
    }
    run(&mut command, b"")
}

#[test]
fn a_missing_interpreter_is_reported_with_where_we_looked() {
    let python = python3();
    let scratch = tempfile::tempdir().unwrap();
    let empty = scratch.path().join("empty-bin");
    fs::create_dir_all(&empty).unwrap();
    let no_path = [("PATH", empty.clone().into_os_string())];

    // Nothing configured and nothing on PATH.
    for (version, compiler) in [
        ("3.10", "auto"),
        ("3.9", "interpreter"),
        (python.version.as_str(), "interpreter"),
    ] {
        let output = one_shot(
            version,
            &["--compiler".into(), compiler.into()],
            &no_path,
            scratch.path(),
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        for needle in [
            format!("no CPython {version} interpreter found"),
            format!("--python_interpreter {version}=/path/to/python{version}"),
            format!("{ENV_VAR} is not set"),
            format!("python{version} on PATH ({})", empty.display()),
        ] {
            assert!(stderr.contains(&needle), "missing {needle:?} in:\n{stderr}");
        }
    }

    // An explicit path that does not exist is reported, never replaced by another.
    let output = one_shot(
        "3.9",
        &[
            "--python_interpreter".into(),
            "3.9=/nonexistent/python3.9".into(),
        ],
        &[],
        scratch.path(),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "Python 3.9 interpreter '/nonexistent/python3.9' (from --python_interpreter)"
        ),
        "{stderr}"
    );

    // An interpreter of another version is refused: its bytecode must not pass as 3.10's.
    let output = one_shot(
        "3.10",
        &[
            "--compiler".into(),
            "interpreter".into(),
            "--python_interpreter".into(),
            format!("3.10={}", python.path.display()),
        ],
        &[],
        scratch.path(),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("is Python {}, not Python 3.10", python.full)),
        "{stderr}"
    );
    assert!(!scratch.path().join("one-shot-3.10.pyc").exists());

    // Not a Python at all.
    let output = one_shot(
        "3.9",
        &[
            "--compiler".into(),
            "interpreter".into(),
            "--python_interpreter".into(),
            "3.9=/bin/echo".into(),
        ],
        &[],
        scratch.path(),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("did not start pycompile-worker's helper"),
        "{stderr}"
    );
}

#[test]
fn interpreters_are_found_on_path_and_in_the_environment() {
    let python = python3();
    let scratch = tempfile::tempdir().unwrap();
    let case = fixture("frozenset_strings.py");
    let expected = expected_pyc(&python, &case, scratch.path());
    let version = python.version.as_str();
    let pyc = scratch.path().join(format!("one-shot-{version}.pyc"));
    let interpreter = ["--compiler".to_owned(), "interpreter".to_owned()];

    // pythonX.Y on PATH (a directory holding only that name).
    let bin = scratch.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&python.path, bin.join(format!("python{version}"))).unwrap();
    let path_only = [("PATH", bin.clone().into_os_string())];
    let output = one_shot(version, &interpreter, &path_only, scratch.path());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(fs::read(&pyc).unwrap(), expected);
    fs::remove_file(&pyc).unwrap();

    // The environment variable, with PATH empty.
    let empty = scratch.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    let env_only = [
        ("PATH", empty.clone().into_os_string()),
        (
            ENV_VAR,
            OsString::from(format!("3.0=/nowhere:{version}={}", python.path.display())),
        ),
    ];
    let output = one_shot(version, &interpreter, &env_only, scratch.path());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(fs::read(&pyc).unwrap(), expected);
    fs::remove_file(&pyc).unwrap();

    // The flag wins over the variable; a bad variable entry is reported as the variable's.
    let bad_env = [(
        ENV_VAR,
        OsString::from(format!("{version}=/nowhere/python")),
    )];
    let mut flagged = interpreter.to_vec();
    flagged.extend([
        "--python_interpreter".into(),
        format!("{version}={}", python.path.display()),
    ]);
    let output = one_shot(version, &flagged, &bad_env, scratch.path());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(fs::read(&pyc).unwrap(), expected);
    let output = one_shot(version, &interpreter, &bad_env, scratch.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("'/nowhere/python' (from ${ENV_VAR})")),
        "{stderr}"
    );
    let malformed = [(ENV_VAR, OsString::from("python3.11"))];
    let output = one_shot(version, &interpreter, &malformed, scratch.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("invalid {ENV_VAR}")), "{stderr}");

    // --help documents the flag and the variable.
    let output = run(ours().arg("--help"), b"");
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("--python_interpreter") && help.contains(ENV_VAR),
        "{help}"
    );
}

#[test]
fn worker_startup_flags_and_env_serve_every_request() {
    let python = python3();
    let scratch = tempfile::tempdir().unwrap();
    let case = fixture("optimize_levels.py");
    let expected = expected_pyc(&python, &case, scratch.path());
    let empty = scratch.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    let version = python.version.as_str();
    let startup_flag = format!("--python_interpreter={version}={}", python.path.display());
    for (startup, env) in [
        (
            vec!["--jobs", "1", startup_flag.as_str()],
            vec![("PATH", empty.clone().into_os_string())],
        ),
        (
            vec!["--jobs", "1"],
            vec![
                ("PATH", empty.clone().into_os_string()),
                (
                    ENV_VAR,
                    OsString::from(format!("{version}={}", python.path.display())),
                ),
            ],
        ),
    ] {
        let mut worker = Worker::start(&startup, &env);
        for id in 1..=3 {
            let pyc = scratch.path().join(format!("w{id}.pyc"));
            let mut arguments = vec![
                "--python_version".to_owned(),
                version.to_owned(),
                "--compiler".to_owned(),
                "interpreter".to_owned(),
            ];
            arguments.extend(triple(&case, &pyc));
            let response = worker.call(id, &arguments, json!({}));
            assert_eq!(response["exitCode"].as_i64().unwrap_or(0), 0, "{response}");
            assert_eq!(fs::read(&pyc).unwrap(), expected);
            fs::remove_file(&pyc).unwrap();
        }
        worker.finish();
    }
}
