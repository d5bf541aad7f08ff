//! The persistent worker, driven through pipes the way Bazel drives it.
//!
//! Bazel 4.2.3 (our local end-to-end Bazel, see tests/bazel) cannot send `sandboxDir`,
//! `verbosity` or newline framing and rarely cancels, so these tests speak like Bazel 7
//! through `driver`: that is where multiplex sandboxing and cancellation are covered.
//! Every behaviour is checked with both `--worker_impl=async` and `--worker_impl=serial`.

mod driver;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use driver::{Framing, Request, Worker, compile_request, pycompile_args};

/// A scratch directory with a few sources.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let scratch = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        scratch.write(
            "pkg/ok.py",
            "def answer():\n    return 42\n\nprint('hello', answer())\n",
        );
        scratch.write("pkg/broken.py", "x = (1,\n");
        scratch
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    fn exists(&self, rel: &str) -> bool {
        self.path().join(rel).exists()
    }

    /// A source that takes serc about a second, to hold a compile thread busy.
    fn write_slow(&self, rel: &str) {
        let mut text = String::new();
        for i in 0..150_000 {
            text.push_str(&format!("def f{i}(a, b):\n    return a + b * {i}\n"));
        }
        self.write(rel, &text);
    }
}

const IMPLS: [&str; 2] = ["--worker_impl=async", "--worker_impl=serial"];

fn for_each_impl(test: impl Fn(&str)) {
    for worker_impl in IMPLS {
        eprintln!("--- {worker_impl}");
        test(worker_impl);
    }
}

/// The pyc py_compile would write starts with the 3.14 magic and the checked-hash flags.
fn assert_is_checked_hash_pyc(path: &Path) {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        &bytes[..8],
        &[0x2b, 0x0e, 0x0d, 0x0a, 3, 0, 0, 0],
        "{}",
        path.display()
    );
}

#[test]
fn singleplex_requests_without_request_id_are_answered_in_order() {
    for_each_impl(|worker_impl| {
        let scratch = Scratch::new();
        let mut worker = Worker::start(scratch.path(), &[worker_impl]);
        for i in 0..5 {
            worker.send(&compile_request(
                0,
                "pkg/ok.py",
                "pkg/ok.py",
                &format!("out/{i}.pyc"),
            ));
            let response = worker.recv();
            assert_eq!(
                response,
                driver::Response {
                    request_id: 0,
                    exit_code: 0,
                    output: String::new(),
                    was_cancelled: false
                }
            );
            assert_is_checked_hash_pyc(&scratch.path().join(format!("out/{i}.pyc")));
        }
        worker.send(&compile_request(
            0,
            "pkg/broken.py",
            "pkg/broken.py",
            "out/b.pyc",
        ));
        let response = worker.recv();
        assert_eq!(response.exit_code, 1);
        assert!(
            response.output.contains("File \"pkg/broken.py\", line 1"),
            "{}",
            response.output
        );
        assert!(
            response
                .output
                .contains("SyntaxError: '(' was never closed"),
            "{}",
            response.output
        );
        assert!(!scratch.exists("out/b.pyc"));
        let (status, rest, _) = worker.close();
        assert_eq!((status, rest), (0, vec![]));
    });
}

#[test]
fn framing_newline_crlf_back_to_back_and_split_writes() {
    for_each_impl(|worker_impl| {
        for framing in [Framing::Newline, Framing::CrLf, Framing::BackToBack] {
            let scratch = Scratch::new();
            let mut worker = Worker::start(scratch.path(), &[worker_impl]);
            worker.framing = framing;
            for i in 1..=3 {
                worker.send(&compile_request(
                    i,
                    "pkg/ok.py",
                    "pkg/ok.py",
                    &format!("out/{i}.pyc"),
                ));
            }
            // A fourth request dribbled in byte by byte.
            let mut bytes = compile_request(4, "pkg/ok.py", "pkg/ok.py", "out/4.pyc")
                .to_bazel_json()
                .into_bytes();
            bytes.push(b'\n');
            for byte in bytes {
                worker.send_raw(&[byte]);
            }
            let mut ids: Vec<i64> = (0..4)
                .map(|_| worker.recv())
                .inspect(|r| assert_eq!(r.exit_code, 0, "{r:?}"))
                .map(|r| r.request_id)
                .collect();
            ids.sort();
            assert_eq!(ids, [1, 2, 3, 4], "{framing:?}");
        }
    });
}

#[test]
fn a_one_megabyte_request_is_read_whole() {
    for_each_impl(|worker_impl| {
        let scratch = Scratch::new();
        let mut worker = Worker::start(scratch.path(), &[worker_impl]);
        let mut request = compile_request(0, "pkg/ok.py", "pkg/ok.py", "out/big.pyc");
        request.inputs = (0..10_000)
            .map(|i| {
                (
                    format!("external/some_repo/site-packages/pkg_{i}/module_{i}.py"),
                    format!("{i:064x}"),
                )
            })
            .collect();
        let json = request.to_bazel_json();
        assert!(json.len() > 1_000_000, "request is {} bytes", json.len());
        worker.send(&request);
        assert_eq!(worker.recv().exit_code, 0);
        assert_is_checked_hash_pyc(&scratch.path().join("out/big.pyc"));
    });
}

#[test]
fn multiplex_answers_500_requests_in_flight_exactly_once() {
    for_each_impl(|worker_impl| {
        let scratch = Scratch::new();
        let mut worker = Worker::start(scratch.path(), &[worker_impl, "--jobs=2"]);
        for id in 1..=500 {
            let src = if id % 50 == 0 {
                "pkg/broken.py"
            } else {
                "pkg/ok.py"
            };
            worker.send(&compile_request(id, src, src, &format!("out/{id}.pyc")));
        }
        let mut seen: HashMap<i64, i64> = HashMap::new();
        for _ in 0..500 {
            let response = worker.recv();
            assert!(!response.was_cancelled);
            assert!(
                seen.insert(response.request_id, response.exit_code)
                    .is_none(),
                "answered twice: {response:?}"
            );
        }
        for id in 1..=500i64 {
            let expected = i64::from(id % 50 == 0);
            assert_eq!(seen.get(&id), Some(&expected), "request {id}");
            assert_eq!(scratch.exists(&format!("out/{id}.pyc")), expected == 0);
        }
        let (status, rest, _) = worker.close();
        assert_eq!((status, rest), (0, vec![]));
    });
}

#[test]
fn sandbox_dir_prefixes_src_and_pyc_but_not_src_name() {
    for_each_impl(|worker_impl| {
        let scratch = Scratch::new();
        let mut worker = Worker::start(scratch.path(), &[worker_impl]);
        for proxy in 1..=3 {
            let sandbox = format!("__sandbox/{proxy}/_main");
            scratch.write(
                &format!("{sandbox}/pkg/mod.py"),
                &format!("value = {proxy}\n"),
            );
            let mut request = compile_request(
                proxy,
                "pkg/mod.py",
                "pkg/mod.py",
                "bazel-out/pkg/__pycache__/mod.cpython-314.pyc",
            );
            request.sandbox_dir = Some(sandbox);
            worker.send(&request);
        }
        for _ in 0..3 {
            let response = worker.recv();
            assert_eq!(response.exit_code, 0, "{response:?}");
        }
        for proxy in 1..=3 {
            let pyc = scratch.path().join(format!(
                "__sandbox/{proxy}/_main/bazel-out/pkg/__pycache__/mod.cpython-314.pyc"
            ));
            let bytes = fs::read(&pyc).unwrap();
            let recorded = b"pkg/mod.py";
            assert!(
                bytes.windows(recorded.len()).any(|w| w == recorded),
                "co_filename is the src_name"
            );
            assert!(
                !bytes.windows(9).any(|w| w == b"__sandbox"),
                "sandbox dir must not leak into the pyc"
            );
        }
        assert!(
            !scratch.exists("bazel-out"),
            "nothing is written outside the sandbox"
        );
    });
}

#[test]
fn absolute_paths_are_kept_under_a_sandbox() {
    let scratch = Scratch::new();
    let mut worker = Worker::start(scratch.path(), &[]);
    let src = scratch.path().join("pkg/ok.py");
    let pyc = scratch.path().join("abs/ok.pyc");
    let mut request = compile_request(1, src.to_str().unwrap(), "pkg/ok.py", pyc.to_str().unwrap());
    request.sandbox_dir = Some("__sandbox/9/_main".into());
    worker.send(&request);
    assert_eq!(worker.recv().exit_code, 0);
    assert_is_checked_hash_pyc(&pyc);
}

#[test]
fn param_files_inside_requests_resolve_against_the_sandbox() {
    for_each_impl(|worker_impl| {
        let scratch = Scratch::new();
        let sandbox = "__sandbox/4/_main";
        scratch.write(&format!("{sandbox}/pkg/a.py"), "a = 1\n");
        scratch.write(&format!("{sandbox}/pkg/b.py"), "b = 2\n");
        scratch.write(
            &format!("{sandbox}/a.params"),
            &pycompile_args("pkg/a.py", "pkg/a.py", "out/a.pyc").join("\n"),
        );
        scratch.write(
            &format!("{sandbox}/b.params"),
            &pycompile_args("pkg/b.py", "pkg/b.py", "out/b.pyc").join("\r\n"),
        );
        let mut worker = Worker::start(scratch.path(), &[worker_impl]);
        for (id, arg) in [(1, "@a.params"), (2, "--flagfile=b.params")] {
            let mut request = Request::new(id, &[arg]);
            request.sandbox_dir = Some(sandbox.into());
            worker.send(&request);
            let response = worker.recv();
            assert_eq!(
                (response.request_id, response.exit_code),
                (i64::from(id), 0),
                "{response:?}"
            );
        }
        assert_is_checked_hash_pyc(&scratch.path().join(sandbox).join("out/a.pyc"));
        assert_is_checked_hash_pyc(&scratch.path().join(sandbox).join("out/b.pyc"));
        worker.send(&Request::new(3, &["@missing.params"]));
        let response = worker.recv();
        assert_eq!(response.exit_code, 1);
        assert!(
            response.output.contains("cannot read param file")
                && response.output.contains("missing.params"),
            "{}",
            response.output
        );
    });
}

#[test]
fn startup_flags_of_rules_python_are_accepted() {
    let scratch = Scratch::new();
    let mut worker = Worker::start(
        scratch.path(),
        &["--worker_impl=serial", "--log_level=DEBUG", "--jobs", "1"],
    );
    worker.send(&compile_request(0, "pkg/ok.py", "pkg/ok.py", "out/ok.pyc"));
    assert_eq!(worker.recv().exit_code, 0);
}

#[test]
fn malformed_requests_get_answers_when_possible_and_the_worker_keeps_serving() {
    for_each_impl(|worker_impl| {
        let scratch = Scratch::new();
        let mut worker = Worker::start(scratch.path(), &[worker_impl]);
        // Broken JSON with a recoverable id.
        worker.send_raw(b"{\"requestId\":11,\"arguments\":[\"--src\" oops]}\n");
        let response = worker.recv();
        assert_eq!((response.request_id, response.exit_code), (11, 1));
        assert!(
            response.output.contains("malformed JSON"),
            "{}",
            response.output
        );
        // Broken JSON without an id: nobody to answer, nothing is written.
        worker.send_raw(b"]]]\n");
        // Well-formed JSON of the wrong shape.
        worker.send_raw(b"{\"requestId\":12,\"arguments\":\"--src\"}\n");
        let response = worker.recv();
        assert_eq!((response.request_id, response.exit_code), (12, 1));
        // Unknown flags, unpaired triples, bad values, missing sources, unsupported versions.
        let cases: [(&[&str], &str); 6] = [
            (&["--frobnicate"], "unexpected argument '--frobnicate'"),
            (
                &["--src", "pkg/ok.py", "--pyc", "out/x.pyc"],
                "same number of times",
            ),
            (
                &["--invalidation_mode", "sometimes"],
                "invalid invalidation mode 'sometimes'",
            ),
            (&["--optimize", "7"], "invalid --optimize 7"),
            (
                &[
                    "--src",
                    "pkg/none.py",
                    "--src_name",
                    "pkg/none.py",
                    "--pyc",
                    "out/none.pyc",
                ],
                "cannot read source file 'pkg/none.py'",
            ),
            (
                &[
                    "--src",
                    "pkg/ok.py",
                    "--src_name",
                    "pkg/ok.py",
                    "--pyc",
                    "out/v.pyc",
                    "--python_version",
                    "4.5",
                ],
                "Python 4.5 is not supported",
            ),
        ];
        for (id, (args, expected)) in (20..).zip(cases) {
            worker.send(&Request::new(id, args));
            let response = worker.recv();
            assert_eq!(
                (response.request_id, response.exit_code),
                (i64::from(id), 1),
                "{args:?}"
            );
            assert!(
                response.output.contains(expected),
                "{args:?}: {}",
                response.output
            );
        }
        assert!(!scratch.exists("out/none.pyc") && !scratch.exists("out/v.pyc"));
        // Still serving.
        worker.send(&compile_request(
            99,
            "pkg/ok.py",
            "pkg/ok.py",
            "out/after.pyc",
        ));
        let response = worker.recv();
        assert_eq!((response.request_id, response.exit_code), (99, 0));
        let (status, rest, _) = worker.close();
        assert_eq!((status, rest), (0, vec![]));
    });
}

#[test]
fn unwritable_output_is_a_clear_per_file_error() {
    let scratch = Scratch::new();
    scratch.write("blocker", "a file where a directory should be\n");
    let mut worker = Worker::start(scratch.path(), &[]);
    worker.send(&compile_request(
        1,
        "pkg/ok.py",
        "pkg/ok.py",
        "blocker/sub/ok.pyc",
    ));
    let response = worker.recv();
    assert_eq!(response.exit_code, 1);
    assert!(
        response
            .output
            .contains("cannot write 'blocker/sub/ok.pyc'"),
        "{}",
        response.output
    );
}

#[test]
fn verbosity_adds_details_to_the_output_only() {
    for_each_impl(|worker_impl| {
        let scratch = Scratch::new();
        let mut worker = Worker::start(scratch.path(), &[worker_impl]);
        let mut request = compile_request(5, "pkg/ok.py", "pkg/ok.py", "out/ok.pyc");
        request.verbosity = 10;
        worker.send(&request);
        let response = worker.recv();
        assert_eq!(response.exit_code, 0);
        for detail in ["pkg/ok.py", "out/ok.pyc", "serc", "3.14", "ms"] {
            assert!(
                response.output.contains(detail),
                "missing {detail:?} in {:?}",
                response.output
            );
        }
        worker.send(&compile_request(6, "pkg/ok.py", "pkg/ok.py", "out/ok.pyc"));
        assert_eq!(worker.recv().output, "", "no detail without verbosity");
    });
}

#[test]
fn eof_exits_promptly_when_idle_and_drops_pending_work() {
    for_each_impl(|worker_impl| {
        let scratch = Scratch::new();
        let worker = Worker::start(scratch.path(), &[worker_impl]);
        let (status, rest, elapsed) = worker.close();
        assert_eq!((status, rest), (0, vec![]));
        assert!(
            elapsed < Duration::from_secs(2),
            "idle exit took {elapsed:?}"
        );

        // Bazel closes stdin and then kills the worker: nobody reads answers after EOF, so
        // pending work is dropped (issue 14). Whatever was answered is answered once, and a
        // request's .pyc exists only whole.
        let mut worker = Worker::start(scratch.path(), &[worker_impl]);
        for id in 1..=20 {
            worker.send(&compile_request(
                id,
                "pkg/ok.py",
                "pkg/ok.py",
                &format!("out/eof{id}.pyc"),
            ));
        }
        let (status, rest, elapsed) = worker.close();
        assert_eq!(status, 0);
        assert!(elapsed < Duration::from_secs(2), "exit took {elapsed:?}");
        let mut ids: Vec<i64> = rest.iter().map(|r| r.request_id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), rest.len(), "an id was answered twice: {rest:?}");
        assert!(
            rest.iter()
                .all(|r| r.exit_code == 0 && (1..=20).contains(&r.request_id))
        );
        for id in 1..=20 {
            let pyc = scratch.path().join(format!("out/eof{id}.pyc"));
            if pyc.exists() {
                assert_is_checked_hash_pyc(&pyc);
            }
        }
    });
}

/// Existence and modification time of a file, to prove nothing was written later.
fn snapshot(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).ok().map(|meta| meta.modified().unwrap())
}

#[test]
fn cancel_before_the_work_starts() {
    // One compile thread held busy by a slow file, so the next request waits in the queue.
    let scratch = Scratch::new();
    scratch.write_slow("pkg/slow.py");
    let mut worker = Worker::start(scratch.path(), &["--jobs=1"]);
    worker.send(&compile_request(
        1,
        "pkg/slow.py",
        "pkg/slow.py",
        "out/slow.pyc",
    ));
    worker.send(&compile_request(
        2,
        "pkg/ok.py",
        "pkg/ok.py",
        "out/queued.pyc",
    ));
    worker.send(&Request::cancel(2));
    let first = worker.recv();
    assert_eq!(
        (first.request_id, first.was_cancelled),
        (2, true),
        "{first:?}"
    );
    let second = worker.recv();
    assert_eq!((second.request_id, second.exit_code), (1, 0));
    // The queued request never runs: after everything settled, its output does not exist.
    worker.send(&compile_request(
        3,
        "pkg/ok.py",
        "pkg/ok.py",
        "out/fence.pyc",
    ));
    assert_eq!(worker.recv().request_id, 3);
    assert!(!scratch.exists("out/queued.pyc"));
    worker.expect_silence(Duration::from_millis(300));
}

#[test]
fn cancel_during_the_work_answers_once_and_writes_nothing_afterwards() {
    for_each_impl(|worker_impl| {
        let scratch = Scratch::new();
        scratch.write_slow("pkg/slow.py");
        let mut worker = Worker::start(scratch.path(), &[worker_impl]);
        let pyc = scratch.path().join("out/slow.pyc");
        worker.send(&compile_request(
            7,
            "pkg/slow.py",
            "pkg/slow.py",
            "out/slow.pyc",
        ));
        std::thread::sleep(Duration::from_millis(200));
        worker.send(&Request::cancel(7));
        let response = worker.recv();
        assert_eq!(response.request_id, 7);
        let at_response = snapshot(&pyc);
        if worker_impl.contains("async") {
            // The async worker answers the cancel while the compile is still running.
            assert!(response.was_cancelled, "{response:?}");
            assert_eq!(at_response, None);
        }
        // Let the abandoned compile finish, then prove it wrote nothing new.
        worker.send(&compile_request(
            8,
            "pkg/ok.py",
            "pkg/ok.py",
            "out/fence.pyc",
        ));
        assert_eq!(worker.recv().request_id, 8);
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(
            snapshot(&pyc),
            at_response,
            "the output changed after the response"
        );
        worker.expect_silence(Duration::from_millis(300));
        let (status, rest, _) = worker.close();
        assert_eq!((status, rest), (0, vec![]));
    });
}

#[test]
fn cancel_after_the_response_unknown_ids_and_singleplex_cancel_are_ignored() {
    for_each_impl(|worker_impl| {
        let scratch = Scratch::new();
        let mut worker = Worker::start(scratch.path(), &[worker_impl]);
        worker.send(&compile_request(1, "pkg/ok.py", "pkg/ok.py", "out/1.pyc"));
        assert_eq!(worker.recv().request_id, 1);
        worker.send(&Request::cancel(1));
        worker.send(&Request::cancel(12345));
        worker.expect_silence(Duration::from_millis(500));

        // Singleplex: `{"cancel":true}` with no id, after the response, is ignored too.
        worker.send(&compile_request(0, "pkg/ok.py", "pkg/ok.py", "out/0.pyc"));
        assert_eq!(worker.recv().request_id, 0);
        worker.send(&Request::cancel(0));
        assert_eq!(Request::cancel(0).to_bazel_json(), "{\"cancel\":true}");
        worker.expect_silence(Duration::from_millis(500));
        worker.send(&compile_request(2, "pkg/ok.py", "pkg/ok.py", "out/2.pyc"));
        assert_eq!(worker.recv().request_id, 2);
    });
}

#[test]
fn singleplex_cancel_during_work() {
    let scratch = Scratch::new();
    scratch.write_slow("pkg/slow.py");
    let mut worker = Worker::start(scratch.path(), &[]);
    worker.send(&compile_request(
        0,
        "pkg/slow.py",
        "pkg/slow.py",
        "out/slow.pyc",
    ));
    std::thread::sleep(Duration::from_millis(200));
    worker.send(&Request::cancel(0));
    let response = worker.recv();
    assert_eq!(
        (response.request_id, response.was_cancelled),
        (0, true),
        "{response:?}"
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(!scratch.exists("out/slow.pyc"));
    worker.expect_silence(Duration::from_millis(300));
}

// ---- One-shot mode: what Bazel runs without workers (and remote execution) ----

fn oneshot(cwd: &Path, args: &[&str]) -> std::process::Output {
    Command::new(driver::exe())
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

#[test]
fn oneshot_param_file_success_is_silent() {
    let scratch = Scratch::new();
    scratch.write(
        "ok.params",
        &pycompile_args(
            "pkg/ok.py",
            "pkg/ok.py",
            "out/__pycache__/ok.cpython-314.pyc",
        )
        .join("\n"),
    );
    let output = oneshot(scratch.path(), &["@ok.params"]);
    assert!(output.status.success(), "{output:?}");
    assert!(
        output.stdout.is_empty() && output.stderr.is_empty(),
        "{output:?}"
    );
    assert_is_checked_hash_pyc(&scratch.path().join("out/__pycache__/ok.cpython-314.pyc"));
}

#[test]
fn oneshot_keeps_going_and_reports_each_failure() {
    let scratch = Scratch::new();
    scratch.write("pkg/indent.py", "def f():\nreturn 1\n");
    let output = oneshot(
        scratch.path(),
        &[
            "--src",
            "pkg/broken.py",
            "--src_name",
            "pkg/broken.py",
            "--pyc",
            "out/broken.pyc",
            "--src",
            "pkg/ok.py",
            "--src_name",
            "pkg/ok.py",
            "--pyc",
            "out/ok.pyc",
            "--src",
            "pkg/indent.py",
            "--src_name",
            "pkg/indent.py",
            "--pyc",
            "out/indent.pyc",
            "--src",
            "pkg/missing.py",
            "--src_name",
            "pkg/missing.py",
            "--pyc",
            "out/missing.pyc",
            "--optimize=-1",
            "--invalidation_mode=UNCHECKED_HASH",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("File \"pkg/broken.py\", line 1"),
        "{stderr}"
    );
    assert!(stderr.contains("Sorry: IndentationError: expected an indented block after function definition on line 1 (indent.py, line 2)"), "{stderr}");
    assert!(
        stderr.contains("cannot read source file 'pkg/missing.py'"),
        "{stderr}"
    );
    let ok = fs::read(scratch.path().join("out/ok.pyc")).unwrap();
    assert_eq!(&ok[4..8], &[1, 0, 0, 0], "unchecked hash flags");
    assert!(!scratch.exists("out/broken.pyc") && !scratch.exists("out/indent.pyc"));
}

#[test]
fn oneshot_usage_errors() {
    let scratch = Scratch::new();
    let cases: [(&[&str], &str); 4] = [
        (&["--src", "a.py"], "same number of times"),
        (&["@nope.params"], "cannot read param file 'nope.params'"),
        (
            &[
                "--invalidation_mode",
                "x",
                "--src",
                "pkg/ok.py",
                "--src_name",
                "a",
                "--pyc",
                "b",
            ],
            "invalid invalidation mode",
        ),
        (
            &[
                "--python_version",
                "2.7",
                "--src",
                "pkg/ok.py",
                "--src_name",
                "a",
                "--pyc",
                "b",
            ],
            "Python 2.7 is not supported",
        ),
    ];
    for (args, expected) in cases {
        let output = oneshot(scratch.path(), args);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty());
    }
    let help = oneshot(scratch.path(), &["--help"]);
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    for flag in [
        "--src",
        "--src_name",
        "--pyc",
        "--optimize",
        "--invalidation_mode",
        "--python_version",
        "--persistent_worker",
        "--worker_impl",
        "--log_level",
        "--jobs",
        "--compiler",
        "3.14",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn timestamp_mode_records_mtime_and_size() {
    let scratch = Scratch::new();
    let src = scratch.path().join("pkg/ok.py");
    let mtime = fs::metadata(&src)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let output = oneshot(
        scratch.path(),
        &[
            "--src",
            "pkg/ok.py",
            "--src_name",
            "pkg/ok.py",
            "--pyc",
            "out/ts.pyc",
            "--invalidation_mode",
            "timestamp",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let bytes = fs::read(scratch.path().join("out/ts.pyc")).unwrap();
    assert_eq!(&bytes[4..8], &[0, 0, 0, 0]);
    assert_eq!(&bytes[8..12], &(mtime as u32).to_le_bytes());
    assert_eq!(
        &bytes[12..16],
        &(fs::metadata(&src).unwrap().len() as u32).to_le_bytes()
    );
}
