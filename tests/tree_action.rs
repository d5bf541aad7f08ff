//! Tree requests (src/tree_action.rs) through the persistent worker, as Bazel 7 would send
//! them (the `driver` client): a WorkRequest whose arguments (here in a param file inside the
//! request's sandbox) name a directory. Bazel 4.2.3 runs the same requests in
//! tests/bazel/e2e_trees.sh; these cover what it cannot send: `sandboxDir`, and cancellation.

mod driver;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::Duration;

use driver::{Request, Worker, compile_request};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// Every file under `dir`, relative, sorted (empty when `dir` does not exist).
fn files(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

/// A tree request in a multiline param file, as tools/bazel/tree.bzl writes it: `name` in the
/// directory `dir` (the sandbox, or "" for the worker's own directory) under `root`.
fn tree_params(root: &Path, dir: &str, name: &str, args: &[&str]) -> Request {
    let mut text = String::from("tree\n");
    for arg in args {
        text.push_str(arg);
        text.push('\n');
    }
    write(&root.join(dir), name, &text);
    Request::new(0, &[&format!("@{name}")])
}

#[test]
fn a_multiplex_worker_serves_tree_requests_in_their_sandboxes() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let mut worker = Worker::start(root, &[]);
    for id in 1..=2 {
        let sandbox = format!("sb/{id}/_main");
        let tree = format!("{sandbox}/bazel-out/bin/wheel");
        write(root, &format!("{tree}/pkg/__init__.py"), "");
        write(
            root,
            &format!("{tree}/pkg/sub/mod.py"),
            &format!("value = {id}\n"),
        );
        write(root, &format!("{tree}/pkg/data.json"), "{}\n");
        write(root, &format!("{tree}/pkg/__pycache__/stale.py"), "x = 1\n");
        let mut request = tree_params(
            root,
            &sandbox,
            "tree.params",
            &[
                "--src_dir",
                "bazel-out/bin/wheel",
                "--out_dir",
                "bazel-out/bin/pycs",
                "--prefix",
                "site-packages",
                "--optimize",
                "0",
                "--optimize",
                "2",
                "--python_version",
                "3.13",
            ],
        );
        request.request_id = id;
        request.sandbox_dir = Some(sandbox);
        worker.send(&request);
    }
    for _ in 1..=2 {
        let response = worker.recv();
        assert_eq!(
            (response.exit_code, response.output.as_str()),
            (0, ""),
            "{response:?}"
        );
    }
    let want: BTreeSet<String> = [
        "pkg/__pycache__/__init__.cpython-313.opt-2.pyc",
        "pkg/__pycache__/__init__.cpython-313.pyc",
        "pkg/sub/__pycache__/mod.cpython-313.opt-2.pyc",
        "pkg/sub/__pycache__/mod.cpython-313.pyc",
    ]
    .map(str::to_owned)
    .into();
    for id in 1..=2 {
        let out = root.join(format!("sb/{id}/_main/bazel-out/bin/pycs"));
        assert_eq!(files(&out), want);
        let pyc = fs::read(out.join("pkg/sub/__pycache__/mod.cpython-313.pyc")).unwrap();
        assert_eq!(
            &pyc[..8],
            &[0xf3, 0x0d, 0x0d, 0x0a, 3, 0, 0, 0],
            "3.13 magic, checked hash"
        );
        let name = b"site-packages/pkg/sub/mod.py";
        assert!(
            pyc.windows(name.len()).any(|w| w == name),
            "co_filename has the prefix"
        );
        let sandbox = format!("sb/{id}/_main");
        assert!(
            !pyc.windows(sandbox.len()).any(|w| w == sandbox.as_bytes()),
            "the sandbox is not in the pyc"
        );
    }
    assert!(
        !root.join("bazel-out").exists(),
        "nothing written outside the sandboxes"
    );
    // The same worker still serves PyCompile requests.
    write(root, "a.py", "x = 1\n");
    worker.send(&compile_request(3, "a.py", "a.py", "a.pyc"));
    assert_eq!(worker.recv().exit_code, 0);
    let (status, rest, _) = worker.close();
    assert_eq!((status, rest), (0, vec![]));
}

#[test]
fn per_file_errors_are_fatal_unless_an_error_log_is_asked_for() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    write(root, "wheel/pkg/ok.py", "x = 1\n");
    write(root, "wheel/pkg/py2.py", "print 'no'\n");
    let mut worker = Worker::start(root, &[]);
    let base = ["--src_dir", "wheel", "--out_dir"];
    let mut fatal = tree_params(root, "", "fatal.params", &[&base[..], &["out1"]].concat());
    fatal.request_id = 1;
    worker.send(&fatal);
    let response = worker.recv();
    assert_eq!(response.exit_code, 1, "{response:?}");
    assert!(
        response
            .output
            .contains("1 of 2 files did not compile for Python 3.14:\npkg/py2.py:\n")
            && response.output.contains("SyntaxError"),
        "{response:?}"
    );
    let mut kept = tree_params(
        root,
        "",
        "kept.params",
        &[&base[..], &["out2", "--error_log", "errors.txt"]].concat(),
    );
    kept.request_id = 2;
    worker.send(&kept);
    let response = worker.recv();
    assert_eq!(response.exit_code, 0, "{response:?}");
    assert!(
        response
            .output
            .contains("(non-fatal, listed in errors.txt)"),
        "{response:?}"
    );
    let log = fs::read_to_string(root.join("errors.txt")).unwrap();
    assert!(
        log.starts_with("pkg/py2.py:\n") && log.contains("SyntaxError"),
        "{log}"
    );
    assert_eq!(
        files(&root.join("out2")),
        ["pkg/__pycache__/ok.cpython-314.pyc".to_owned()].into()
    );
    let (status, rest, _) = worker.close();
    assert_eq!((status, rest), (0, vec![]));
}

#[test]
fn a_cancelled_tree_request_publishes_nothing_after_its_answer() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    // Twenty files of some 0.1 CPU-s each, so the cancel arrives mid-tree.
    let mut slow = String::new();
    for i in 0..10_000 {
        slow.push_str(&format!("def f{i}(a, b):\n    return a + b * {i}\n"));
    }
    for i in 0..20 {
        write(root, &format!("wheel/slow{i:02}.py"), &slow);
    }
    write(root, "fence.py", "x = 1\n");
    // One compile thread: the fence request below runs only once the tree's task has ended.
    let mut worker = Worker::start(root, &["--jobs=1"]);
    let mut request = tree_params(
        root,
        "",
        "tree.params",
        &["--src_dir", "wheel", "--out_dir", "out", "--jobs", "1"],
    );
    request.request_id = 5;
    worker.send(&request);
    std::thread::sleep(Duration::from_millis(300));
    worker.send(&Request::cancel(5));
    let response = worker.recv();
    assert_eq!(response.request_id, 5);
    assert!(response.was_cancelled, "{response:?}");
    let at_response = files(&root.join("out"));
    worker.send(&compile_request(6, "fence.py", "fence.py", "fence.pyc"));
    assert_eq!(worker.recv().request_id, 6);
    let after = files(&root.join("out"));
    assert_eq!(after, at_response, "a pyc appeared after the cancel");
    assert!(
        after.len() < 20,
        "the cancel came too late to test anything: {after:?}"
    );
    worker.expect_silence(Duration::from_millis(300));
    let (status, rest, _) = worker.close();
    assert_eq!((status, rest), (0, vec![]));
}
