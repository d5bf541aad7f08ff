//! Pathological inputs: nothing may hang, crash or leave a partial file, and what CPython
//! rejects must be rejected with CPython's text.
//!
//! The oracle for the tokenizer limits is the machine's `python3` (3.11 on every machine):
//! the nested-bracket and indentation limits and their messages are the same in 3.11–3.14.
//! The recursion limit has no version-independent oracle (3.12 stops near 3 000 levels,
//! 3.13 near 10 000, 3.14 measures the C stack; the pyodide 3.14 crashes instead), so a
//! 200 000-term chain, far beyond all of them, is checked against the text native CPython
//! 3.13 prints for it (shared/docs/pyc-format.md §5). Each run has a generous deadline that
//! only catches a hang; how fast it is belongs to the benchmarks.

mod driver;

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Long enough for a 50 MB file on a loaded 2-core machine; a hang takes forever.
const DEADLINE: Duration = Duration::from_secs(600);

fn run_with_deadline(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stdout = Vec::new();
            let mut stderr = Vec::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_end(&mut stdout)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_end(&mut stderr)
                .unwrap();
            return Output {
                status,
                stdout,
                stderr,
            };
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("{cmd:?} still running after {DEADLINE:?}: a hang");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Compiles `src` with our binary; returns (success, stderr).
fn ours(dir: &Path, src: &str, pyc: &str) -> (bool, String) {
    let out = run_with_deadline(
        Command::new(driver::exe())
            .args([
                "--src",
                src,
                "--src_name",
                &format!("pkg/{src}"),
                "--pyc",
                pyc,
            ])
            .current_dir(dir),
    );
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `str(PyCompileError)` from the machine's python3, or "" when it compiles.
fn cpython(dir: &Path, src: &str) -> String {
    let script = format!(
        "import py_compile\ntry:\n    py_compile.compile({src:?}, 'ref.pyc', dfile='pkg/{src}', doraise=True)\nexcept py_compile.PyCompileError as e:\n    print(str(e), end='')\n"
    );
    let out = run_with_deadline(
        Command::new("python3")
            .args(["-c", &script])
            .current_dir(dir)
            .env("PYTHONHASHSEED", "0"),
    );
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn assert_rejected_like_cpython(dir: &Path, name: &str, source: &str) {
    fs::write(dir.join(name), source).unwrap();
    let expected = cpython(dir, name);
    assert!(!expected.is_empty(), "python3 accepts {name}");
    let pyc = format!("out/{name}c");
    let (ok, stderr) = ours(dir, name, &pyc);
    assert!(!ok, "{name} was accepted");
    assert_eq!(stderr.trim_end(), expected.trim_end(), "{name}");
    assert!(!dir.join(&pyc).exists(), "{name}: a pyc was written");
    assert_eq!(
        fs::read_dir(dir)
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp"))
            .count(),
        0
    );
}

#[test]
fn nested_brackets_beyond_the_tokenizer_limit() {
    let dir = tempfile::tempdir().unwrap();
    assert_rejected_like_cpython(
        dir.path(),
        "parens.py",
        &format!("x = {}1{}\n", "(".repeat(1000), ")".repeat(1000)),
    );
    assert_rejected_like_cpython(
        dir.path(),
        "lists.py",
        &format!("x = {}{}\n", "[".repeat(201), "]".repeat(201)),
    );
}

#[test]
fn nested_blocks_beyond_the_indentation_limit() {
    let dir = tempfile::tempdir().unwrap();
    let blocks: String = (0..101)
        .map(|i| format!("{}if x:\n", " ".repeat(i)))
        .collect();
    assert_rejected_like_cpython(
        dir.path(),
        "blocks.py",
        &format!("{blocks}{}pass\n", " ".repeat(101)),
    );
    // 99 levels are fine for CPython and for us.
    let ok: String = (0..99)
        .map(|i| format!("{}if x:\n", " ".repeat(i)))
        .collect();
    fs::write(
        dir.path().join("ok.py"),
        format!("{ok}{}pass\n", " ".repeat(99)),
    )
    .unwrap();
    assert_eq!(cpython(dir.path(), "ok.py"), "");
    assert!(ours(dir.path(), "ok.py", "out/ok.pyc").0);
}

#[test]
fn very_long_expression_chains_fail_at_once_with_recursion_error() {
    let dir = tempfile::tempdir().unwrap();
    for (name, source) in [
        ("sum.py", format!("x = {}\n", vec!["1"; 200_000].join("+"))),
        ("attr.py", format!("x = a{}\n", ".b".repeat(200_000))),
        ("calls.py", format!("x = f{}\n", "()".repeat(100_000))),
        (
            "continued.py",
            format!("x = ({})\n", vec!["1"; 50_000].join(" +\n ")),
        ),
    ] {
        fs::write(dir.path().join(name), source).unwrap();
        let (ok, stderr) = ours(dir.path(), name, "out/chain.pyc");
        assert!(!ok, "{name} accepted");
        assert_eq!(
            stderr.trim_end(),
            "Sorry: RecursionError: maximum recursion depth exceeded during compilation",
            "{name}"
        );
    }
    assert!(!dir.path().join("out/chain.pyc").exists());
}

#[test]
fn a_long_line_and_a_50_mb_file_compile_like_cpython() {
    let dir = tempfile::tempdir().unwrap();
    let items: Vec<String> = (0..1_000_000).map(|i| i.to_string()).collect();
    fs::write(
        dir.path().join("long.py"),
        format!("x = [{}]\n", items.join(", ")),
    )
    .unwrap();
    let mut big = String::with_capacity(51 << 20);
    let mut i = 0;
    while big.len() < 50 << 20 {
        big.push_str(&format!("def f{i}(a, b):\n    return a + b * {i}\n"));
        i += 1;
    }
    fs::write(dir.path().join("big.py"), big).unwrap();
    for name in ["long.py", "big.py"] {
        let pyc = format!("out/{name}c");
        let (ok, stderr) = ours(dir.path(), name, &pyc);
        assert!(ok, "{name}: {stderr}");
        // The header's hash covers the whole source: a truncated read would show here.
        let written = fs::read(dir.path().join(&pyc)).unwrap();
        assert_eq!(&written[..8], &[0x2b, 0x0e, 0x0d, 0x0a, 3, 0, 0, 0]);
        assert!(written.len() > 1000);
    }
    // python3 accepts both too (a different version, so only acceptance is compared).
    assert_eq!(cpython(dir.path(), "long.py"), "");
}
