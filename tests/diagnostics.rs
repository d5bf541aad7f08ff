//! Syntax-error diagnostics of pycompile-worker against CPython 3.14's py_compile.
//!
//! Each tests/fixtures/broken/*.py is compiled by our binary (one-shot mode,
//! `--src_name broken/<name>.py`) and by py_compile in the oracle; our stderr is
//! compared with `str(PyCompileError)`. Prints `diagnostics: matched=M of N` and
//! the mismatches. Asserted: every broken file is rejected (non-zero exit, stderr names the
//! file wherever CPython's text does, no pyc written), and our text is exactly CPython's except
//! for the files in KNOWN_CARET_DIFFERENCES, whose message line must still match.
//!
//! Needs node and the oracle packages: `bash tests/oracle/setup.sh`.

#[path = "oracle/harness.rs"]
mod harness;

use harness::*;

/// Files where our caret differs from CPython's while the message is the same. Empty: the
/// two there were (missing comma, positional argument after keyword argument) are located
/// like CPython's parser does by src/compile/diagnostics/carets.rs. Kept so that a future engine
/// difference can be listed, and said, instead of silently accepted.
const KNOWN_CARET_DIFFERENCES: &[&str] = &[];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MessageMatch {
    /// stderr is exactly CPython's text (ignoring trailing newlines).
    Exact,
    /// CPython's text appears verbatim inside stderr (e.g. after a prefix).
    Contained,
    Differs,
}

fn compare_message(ours_stderr: &str, reference: &str) -> MessageMatch {
    let ours = ours_stderr.trim_end_matches(['\n', '\r']);
    let reference = reference.trim_end_matches(['\n', '\r']);
    if ours == reference {
        MessageMatch::Exact
    } else if !reference.is_empty() && ours.contains(reference) {
        MessageMatch::Contained
    } else {
        MessageMatch::Differs
    }
}

/// The one place that decides whether our message counts as CPython's.
fn message_matches(ours_stderr: &str, reference: &str) -> bool {
    compare_message(ours_stderr, reference) != MessageMatch::Differs
}

/// Whether a message names the file: by its --src_name, its path, or its base
/// name (CPython's IndentationError/TabError texts carry only the base name).
fn names_file(message: &str, src_name: &str, src: &std::path::Path) -> bool {
    let base = src.file_name().and_then(|b| b.to_str()).unwrap_or(src_name);
    message.contains(src_name)
        || message.contains(src.to_str().unwrap_or(src_name))
        || message.contains(base)
}

fn indent(text: &str) -> String {
    text.trim_end()
        .lines()
        .map(|l| format!("      | {l}\n"))
        .collect()
}

#[test]
fn broken_files_are_rejected_like_cpython() {
    require_oracle();
    let broken = fixtures("broken");
    assert!(
        broken.len() >= 45,
        "expected 45+ broken fixtures, found {}",
        broken.len()
    );
    let work = target_dir().join("diagnostics");
    fresh_dir(&work);

    let jobs: Vec<Job> = broken
        .iter()
        .map(|path| {
            let file = path.file_name().unwrap().to_str().unwrap();
            Job {
                src: path.clone(),
                name: format!("broken/{file}"),
                pyc: work.join("ref").join(format!("{file}c")),
                optimize: 0,
            }
        })
        .collect();
    let reference = oracle_compile("3.14", &jobs, "checked_hash", &work, "reference");

    let mut failures = Vec::new();
    let mut mismatches = Vec::new();
    let (mut exact, mut contained) = (0, 0);
    for (job, res) in jobs.iter().zip(&reference) {
        if res["ok"] == true {
            failures.push(format!(
                "{}: CPython 3.14 compiles it, so it is not a broken fixture",
                job.name
            ));
            continue;
        }
        if res["exception"] != "PyCompileError" {
            failures.push(format!(
                "{}: oracle error: {} {}",
                job.name, res["exception"], res["error"]
            ));
            continue;
        }
        let expected = res["error"].as_str().unwrap_or("");
        let pyc = work.join("ours").join(job.pyc.file_name().unwrap());
        let out = ours_direct(&[
            "--src",
            job.src.to_str().unwrap(),
            "--src_name",
            &job.name,
            "--pyc",
            pyc.to_str().unwrap(),
            "--optimize",
            "0",
            "--invalidation_mode",
            "checked_hash",
            "--python_version",
            "3.14",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            failures.push(format!(
                "{}: accepted by our binary (exit 0); CPython says: {}",
                job.name,
                last_line(expected)
            ));
        } else if !names_file(&stderr, &job.name, &job.src)
            && names_file(expected, &job.name, &job.src)
        {
            // Required only where CPython's own text names it (its NUL-byte error does not).
            failures.push(format!(
                "{}: our stderr does not name the file:\n{}",
                job.name,
                indent(&stderr)
            ));
        }
        if pyc.exists() {
            failures.push(format!(
                "{}: our binary wrote {} for a broken file",
                job.name,
                pyc.display()
            ));
        }
        match compare_message(&stderr, expected) {
            MessageMatch::Exact => exact += 1,
            MessageMatch::Contained => contained += 1,
            MessageMatch::Differs => {}
        }
        if !message_matches(&stderr, expected) {
            if !KNOWN_CARET_DIFFERENCES.contains(&job.name.as_str()) {
                failures.push(format!("{}: message differs from CPython's", job.name));
            } else if last_line(&stderr) != last_line(expected) {
                failures.push(format!("{}: message line differs from CPython's", job.name));
            }
            mismatches.push(format!(
                "  {}\n    CPython:\n{}    ours:\n{}",
                job.name,
                indent(expected),
                indent(&stderr)
            ));
        }
    }

    let matched = exact + contained;
    println!("diagnostics: matched={matched} of {}", jobs.len());
    println!("  (exact={exact}, contained in a longer stderr={contained})");
    for m in &mismatches {
        print!("{m}");
    }
    assert!(
        failures.is_empty(),
        "diagnostics failures:\n{}",
        failures.join("\n")
    );
}

/// One invocation with good and broken files: non-zero exit, one error per broken
/// file, and the good files are still compiled.
#[test]
fn batch_with_broken_files_still_compiles_the_others() {
    let work = target_dir().join("diagnostics-batch");
    fresh_dir(&work);
    let valid = repo_root().join("tests/fixtures/valid");
    let broken = repo_root().join("tests/fixtures/broken");
    let files = [
        (valid.join("hello.py"), "valid/hello.py", true),
        (
            broken.join("unclosed_paren.py"),
            "broken/unclosed_paren.py",
            false,
        ),
        (valid.join("scopes.py"), "valid/scopes.py", true),
        (broken.join("tab_error.py"), "broken/tab_error.py", false),
        (valid.join("empty.py"), "valid/empty.py", true),
    ];
    let jobs: Vec<Job> = files
        .iter()
        .map(|(src, name, _)| Job {
            src: src.clone(),
            name: name.to_string(),
            pyc: work.join(format!("{name}c")),
            optimize: 0,
        })
        .collect();
    let runs = ours_compile(&jobs, "3.14", "checked_hash", &work, jobs.len());
    let run = &runs[0];
    assert!(
        !run.status.success(),
        "exit status must be non-zero when a file fails; stderr:\n{}",
        run.stderr
    );
    for (job, (_, name, good)) in jobs.iter().zip(&files) {
        if *good {
            assert!(
                job.pyc.is_file(),
                "{name} must still be compiled; stderr:\n{}",
                run.stderr
            );
        } else {
            assert!(!job.pyc.exists(), "{name} is broken but a pyc was written");
            assert!(
                names_file(&run.stderr, name, &job.src),
                "stderr must name {name}:\n{}",
                run.stderr
            );
        }
    }
    for (src, name, good) in &files {
        if *good {
            assert!(
                !names_file(&run.stderr, name, src),
                "stderr names {name}, which compiled fine:\n{}",
                run.stderr
            );
        }
    }
}

/// A source CPython decodes and our layer does not (an `idna` label with the ACE prefix, which
/// CPython checks through nameprep) is not the file's fault: CPython compiles the file, and we
/// must not call the encoding unknown. We fail (writing nothing) and name the file, the
/// encoding and the way out.
#[test]
fn encodings_only_cpython_decodes_are_reported_as_ours() {
    require_oracle();
    let work = target_dir().join("diagnostics-encodings");
    fresh_dir(&work);
    let src = repo_root().join("tests/fixtures/unsupported/idna_ace_cookie.py");
    let job = Job {
        src: src.clone(),
        name: "unsupported/idna_ace_cookie.py".into(),
        pyc: work.join("ours.pyc"),
        optimize: 0,
    };
    let reference = Job {
        pyc: work.join("ref.pyc"),
        ..job.clone()
    };
    let results = oracle_compile("3.14", &[reference], "checked_hash", &work, "idna");
    assert_eq!(
        results[0]["ok"], true,
        "CPython compiles it: {}",
        results[0]
    );
    let runs = ours_compile(std::slice::from_ref(&job), "3.14", "checked_hash", &work, 1);
    assert!(!runs[0].status.success());
    assert!(!job.pyc.exists(), "no pyc may be written");
    let stderr = &runs[0].stderr;
    assert!(
        stderr.contains("unsupported/idna_ace_cookie.py")
            && stderr.contains("cannot decode source encoding 'idna'")
            && stderr.contains("--compiler interpreter")
            && !stderr.contains("unknown encoding"),
        "{stderr}"
    );
}
