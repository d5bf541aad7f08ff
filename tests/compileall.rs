//! `pycompile-worker compileall` against CPython's own `python -m compileall`, on the same
//! tree: the files written (paths, bytes, hard links), stdout and the exit status, flag by
//! flag.
//!
//! The references are real native CPythons run on their own version: 3.13.0 (our
//! `--python_version 3.13`) and 3.12.1 (`--python_version 3.12`), from ~/.pyenv/versions.
//! Both are installed on this project's machines, so a missing one fails the suite (set
//! COMPILEALL_TEST_VERSIONS=3.13 to run fewer on purpose); the suite prints how many versions
//! and cases it ran. CPython's compileall is the same program in 3.13 and 3.14 (only argparse
//! colours differ); 3.12's `-s` handling differs (it strips matching parts anywhere), so the
//! `-s`/`-p` cases run against 3.13 only.
//!
//! Each case builds one tree, copies it (contents, modes, nanosecond mtimes, symlinks) to
//! two directories, runs CPython in one and us in the other with the same relative
//! arguments, and compares everything under both directories afterwards. Those runs compile
//! through the same CPython (`--compiler interpreter`); serc's own bytes on a real tree are
//! checked by `serc_tree_matches_native_cpython_3_13_15`, against Debian's CPython 3.13.15
//! (tests/native/setup.sh).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, UNIX_EPOCH};

const BIN: &str = env!("CARGO_BIN_EXE_pycompile-worker");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Native {
    version: &'static str,
    python: PathBuf,
    stdlib: PathBuf,
}

/// The native CPythons this suite compares against; a missing one is a failure.
fn natives() -> Vec<Native> {
    let home = PathBuf::from(std::env::var_os("HOME").expect("HOME"));
    let wanted = std::env::var("COMPILEALL_TEST_VERSIONS").unwrap_or("3.13,3.12".to_owned());
    let mut found = Vec::new();
    for (version, patch) in [("3.13", "3.13.0"), ("3.12", "3.12.1")] {
        if !wanted.split(',').any(|w| w.trim() == version) {
            continue;
        }
        let base = home.join(".pyenv/versions").join(patch);
        let python = base.join("bin/python3");
        assert!(
            python.exists(),
            "{} is missing: this suite needs native CPython {patch} (set COMPILEALL_TEST_VERSIONS to run fewer)",
            python.display()
        );
        found.push(Native {
            version,
            python,
            stdlib: base.join(format!("lib/python{version}")),
        });
    }
    assert!(!found.is_empty(), "no CPython selected");
    found
}

/// Writes a file and gives it a fixed mtime (seconds + nanoseconds).
fn put(path: &Path, bytes: &[u8], mtime: (u64, u32)) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
    set_mtime(path, mtime);
}

fn set_mtime(path: &Path, (secs, nanos): (u64, u32)) {
    let time = UNIX_EPOCH + Duration::new(secs, nanos);
    let file = fs::File::options().write(true).open(path).unwrap();
    file.set_times(fs::FileTimes::new().set_modified(time).set_accessed(time))
        .unwrap();
}

/// The tree every case compiles: our valid and broken fixtures, a slice of the native
/// stdlib, non-Python files, a `__pycache__`, odd names, nested and symlinked directories.
fn build_tree(base: &Path, native: &Native) {
    let tree = base.join("tree");
    let fixtures = root().join("tests/fixtures");
    let mut entries: Vec<_> = fs::read_dir(fixtures.join("valid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for (i, path) in entries.iter().enumerate() {
        let bytes = fs::read(path).unwrap();
        let name = path.file_name().unwrap();
        // Spread mtimes: whole seconds, fractions, and the last nanosecond of a second
        // (CPython's float st_mtime rounds that one up).
        let nanos = [0, 123_456_789, 999_999_999, 999_999_800][i % 4];
        put(
            &tree.join("pkg").join(name),
            &bytes,
            (1_700_000_000 + i as u64, nanos),
        );
    }
    put(&tree.join("pkg/__init__.py"), b"", (1_600_000_000, 0));
    put(
        &tree.join("pkg/sub/deep/deeper/leaf.py"),
        b"def f():\n    return 42\n",
        (1_650_000_000, 5),
    );
    put(
        &tree.join("pkg/sub/notes.txt"),
        b"x = (\n",
        (1_650_000_000, 0),
    );
    put(
        &tree.join("pkg/sub/ext.pyx"),
        b"x = (\n",
        (1_650_000_000, 0),
    );
    put(
        &tree.join("pkg/__pycache__/ignored.py"),
        b"x = (\n",
        (1_650_000_000, 0),
    );
    put(&tree.join("broken.py"), b"x = (\n", (1_650_000_001, 0));
    put(
        &tree.join("indent.py"),
        b"if x:\n  a = 1\n    b = 2\n",
        (1_650_000_002, 0),
    );
    put(
        &tree.join("quote's.py"),
        b"print('quoted')\n",
        (1_650_000_003, 0),
    );
    put(
        &tree.join("caf\u{e9} \u{a0}.py"),
        b"x = 'e'\n",
        (1_650_000_004, 0),
    );
    let exe = tree.join("exe.py");
    put(
        &exe,
        b"#!/usr/bin/env python3\nprint(1)\n",
        (1_650_000_005, 0),
    );
    fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).unwrap();
    let readonly = tree.join("readonly.py");
    put(&readonly, b"y = 2\n", (1_650_000_006, 0));
    fs::set_permissions(&readonly, fs::Permissions::from_mode(0o444)).unwrap();
    // A real stdlib package or two of the reference's own version.
    for package in ["json", "email", "tomllib"] {
        copy_dir(
            &native.stdlib.join(package),
            &tree.join("std").join(package),
            true,
        );
    }
    // Symlinks: to a file inside, a directory inside (never recursed into), a missing file,
    // and a file outside the tree (for -e).
    put(
        &base.join("outside/elsewhere.py"),
        b"z = 3\n",
        (1_650_000_007, 0),
    );
    let links = tree.join("links");
    fs::create_dir_all(&links).unwrap();
    symlink("../pkg/hello.py", links.join("inside.py")).unwrap();
    symlink("../pkg", links.join("pkgdir")).unwrap();
    symlink("missing.py", links.join("dangling.py")).unwrap();
    symlink("../../outside/elsewhere.py", links.join("outside.py")).unwrap();
    // The file list for -i.
    put(
        &base.join("list.txt"),
        b"tree/pkg/hello.py\n  tree/std/tomllib  \nnot-there\n",
        (1_650_000_008, 0),
    );
}

/// Copies a directory (only `.py` files and no `__pycache__` if `sources_only`), keeping
/// modes and mtimes.
fn copy_dir(from: &Path, to: &Path, sources_only: bool) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let kind = entry.file_type().unwrap();
        let dest = to.join(entry.file_name());
        if kind.is_symlink() {
            symlink(fs::read_link(&path).unwrap(), &dest).unwrap();
        } else if kind.is_dir() {
            if !(sources_only && entry.file_name() == "__pycache__") {
                copy_dir(&path, &dest, sources_only);
            }
        } else if !sources_only || path.extension().is_some_and(|e| e == "py") {
            fs::copy(&path, &dest).unwrap();
            let meta = fs::metadata(&path).unwrap();
            let file = fs::File::options().write(true).open(&dest).unwrap();
            file.set_times(
                fs::FileTimes::new()
                    .set_modified(meta.modified().unwrap())
                    .set_accessed(meta.modified().unwrap()),
            )
            .unwrap();
            fs::set_permissions(&dest, meta.permissions()).unwrap();
        }
    }
    let meta = fs::metadata(from).unwrap();
    fs::set_permissions(to, meta.permissions()).unwrap();
}

/// Everything under `dir`: path → file bytes and mode, symlink target, or directory, with
/// each file's hard-link group (the first path sharing its inode).
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<u64, String> = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let mut entries: Vec<_> = fs::read_dir(&current)
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let rel = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let meta = fs::symlink_metadata(&path).unwrap();
            let value = if meta.is_symlink() {
                format!("link -> {}", fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                stack.push(path);
                "dir".to_owned()
            } else {
                let group = inodes.entry(meta.ino()).or_insert_with(|| rel.clone());
                let bytes = fs::read(&path).unwrap();
                format!(
                    "mode {:o} links {} group {group} bytes {}",
                    meta.mode() & 0o777,
                    meta.nlink(),
                    hex(&bytes)
                )
            };
            out.insert(rel, value);
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

fn run(mut command: Command, cwd: &Path, stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
    command
        .current_dir(cwd)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("PYTHONPYCACHEPREFIX")
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env("PYTHONIOENCODING", "utf-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("spawn");
    {
        let mut pipe = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            pipe.write_all(text.as_bytes()).unwrap();
        }
    }
    let output = child.wait_with_output().unwrap();
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

struct Case {
    name: &'static str,
    args: &'static [&'static str],
    stdin: Option<&'static str>,
    env: &'static [(&'static str, &'static str)],
    /// How many times to run in the same directories (re-runs test the up-to-date check).
    runs: usize,
    /// CPython's `-j` output order is not deterministic: compare the lines as a multiset.
    unordered: bool,
    /// Run against 3.13 only (3.12's compileall differs for this flag).
    only_313: bool,
    /// Something the case must produce, so that it cannot pass by doing nothing.
    expect_path: Option<&'static str>,
}

const CASE: Case = Case {
    name: "",
    args: &[],
    stdin: None,
    env: &[],
    runs: 1,
    unordered: false,
    only_313: false,
    expect_path: None,
};

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "default, then again without -f, then -f",
            args: &["tree"],
            runs: 2,
            expect_path: Some("tree/pkg/__pycache__/hello.cpython-3XY.pyc"),
            ..CASE
        },
        Case {
            name: "-f -q",
            args: &["-f", "-q", "tree"],
            expect_path: Some("tree/std/json/__pycache__/decoder.cpython-3XY.pyc"),
            ..CASE
        },
        Case {
            name: "-qq",
            args: &["-qq", "tree/"],
            ..CASE
        },
        Case {
            name: "-b legacy",
            args: &["-b", "tree"],
            expect_path: Some("tree/pkg/hello.pyc"),
            ..CASE
        },
        Case {
            name: "-l",
            args: &["-l", "tree"],
            expect_path: Some("tree/__pycache__/readonly.cpython-3XY.pyc"),
            ..CASE
        },
        Case {
            name: "-r 2 -l",
            args: &["-r", "2", "-l", "tree"],
            expect_path: Some("tree/std/json/__pycache__/__init__.cpython-3XY.pyc"),
            ..CASE
        },
        Case {
            name: "-o 2 -o 0 -o 1 -o 2",
            args: &["-o", "2", "-o", "0", "-o1", "-o", "2", "tree"],
            expect_path: Some("tree/pkg/__pycache__/hello.cpython-3XY.opt-2.pyc"),
            ..CASE
        },
        Case {
            name: "--hardlink-dupes with three levels",
            args: &["--hardlink-dupes", "-o", "0", "-o", "1", "-o", "2", "tree"],
            expect_path: Some("tree/pkg/__pycache__/hello.cpython-3XY.opt-1.pyc"),
            ..CASE
        },
        Case {
            name: "-x",
            args: &["-x", r"std/(email|json)/\w+\.py$|broken", "tree"],
            expect_path: Some("tree/std/tomllib/__pycache__/_re.cpython-3XY.pyc"),
            ..CASE
        },
        Case {
            name: "-d on a directory and a file",
            args: &[
                "-d",
                "/dest/dir",
                "tree/pkg",
                "tree/quote's.py",
                "tree/broken.py",
            ],
            expect_path: Some("tree/__pycache__/quote's.cpython-3XY.pyc"),
            ..CASE
        },
        Case {
            name: "-d on a directory with a trailing slash",
            args: &["-d", "dest", "tree/pkg/"],
            only_313: true,
            ..CASE
        },
        Case {
            name: "-s and -p",
            args: &["-s", "tree", "-p", "/opt/app", "tree", "tree/broken.py"],
            only_313: true,
            ..CASE
        },
        Case {
            name: "-s that is not a prefix",
            args: &["-s", "elsewhere/tree", "tree/pkg/sub"],
            only_313: true,
            ..CASE
        },
        Case {
            name: "--invalidation-mode checked-hash",
            args: &["--invalidation-mode", "checked-hash", "tree"],
            runs: 2,
            ..CASE
        },
        Case {
            name: "--invalidation-mode unchecked-hash",
            args: &["--invalidation-mode=unchecked-hash", "tree"],
            ..CASE
        },
        Case {
            name: "SOURCE_DATE_EPOCH",
            args: &["tree/pkg"],
            env: &[("SOURCE_DATE_EPOCH", "1")],
            ..CASE
        },
        Case {
            name: "--invalidation-mode timestamp over SOURCE_DATE_EPOCH",
            args: &["--invalidation-mode", "timestamp", "tree/pkg"],
            env: &[("SOURCE_DATE_EPOCH", "1")],
            ..CASE
        },
        Case {
            name: "-i FILE",
            args: &["-i", "list.txt", "tree/pkg/sub"],
            expect_path: Some("tree/std/tomllib/__pycache__/_parser.cpython-3XY.pyc"),
            ..CASE
        },
        Case {
            name: "-i - (stdin)",
            args: &["-i", "-"],
            stdin: Some("tree/indent.py\ntree/links\n"),
            ..CASE
        },
        Case {
            name: "-i missing file",
            args: &["-i", "no-such-list", "tree"],
            ..CASE
        },
        Case {
            name: "-j 0",
            // CPython's pool processes have imported more than a fresh interpreter, so
            // their pyc for this fixture differs from CPython's own -j 1 one (the oracle
            // intern state, tests/oracle/README.md); we write the fresh-interpreter bytes.
            // Their output interleaves mid-line, so -qq: the status and the files count.
            args: &["-j", "0", "-qq", "-x", "oracle_interned_qualname", "tree"],
            unordered: true,
            ..CASE
        },
        Case {
            name: "-e tree (symlinks out of the tree ignored)",
            args: &["-e", "tree", "tree"],
            expect_path: Some("tree/links/__pycache__/inside.cpython-3XY.pyc"),
            ..CASE
        },
        Case {
            name: "-e tree/pkg",
            args: &["-e", "tree/pkg", "-q", "tree/links"],
            ..CASE
        },
        Case {
            name: "files, a missing path, a non-Python file",
            args: &[
                "tree/pkg/hello.py",
                "nowhere",
                "tree/pkg/sub/notes.txt",
                "tree/links/dangling.py",
            ],
            ..CASE
        },
        Case {
            name: "hardlink-dupes with one level (usage error)",
            args: &["--hardlink-dupes", "tree"],
            ..CASE
        },
        Case {
            name: "-d with -s (usage error)",
            args: &["-d", "x", "-s", "y", "tree"],
            ..CASE
        },
    ]
}

/// Replaces `3XY` in an expected path by the version's tag digits.
fn tagged(path: &str, version: &str) -> String {
    path.replace("3XY", &version.replace('.', ""))
}

#[test]
fn compileall_matches_cpython() {
    let natives = natives();
    let scratch = root().join("target/test-compileall");
    let _ = fs::remove_dir_all(&scratch);
    let mut ran = 0;
    let mut failures = Vec::new();
    for native in &natives {
        let template = scratch.join(format!("template-{}", native.version));
        build_tree(&template, native);
        for (index, case) in cases().iter().enumerate() {
            if case.only_313 && native.version != "3.13" {
                continue;
            }
            let theirs = scratch.join(format!("{}-{index}-cpython", native.version));
            let ours = scratch.join(format!("{}-{index}-ours", native.version));
            copy_dir(&template, &theirs, false);
            copy_dir(&template, &ours, false);
            for round in 0..case.runs {
                let mut cpython = Command::new(&native.python);
                cpython.args(["-m", "compileall"]).args(case.args);
                let mut us = Command::new(BIN);
                // The real CPython compiles for us, so that every byte of every pyc is the
                // walk's, the names', the headers' and the modes' doing; serc's own bytes
                // are compared in `serc_tree_matches_native_cpython_3_13_15`.
                us.args(["compileall", "--python_version", native.version])
                    .args(["--compiler", "interpreter", "--python_interpreter"])
                    .arg(format!("{}={}", native.version, native.python.display()))
                    .args(case.args);
                let reference = run(cpython, &theirs, case.stdin, case.env);
                let actual = run(us, &ours, case.stdin, case.env);
                let label = format!("{} [{}] run {}", case.name, native.version, round + 1);
                if let Some(problem) = differences(&reference, &actual, case.unordered) {
                    failures.push(format!("{label}: {problem}"));
                }
                let (a, b) = (snapshot(&theirs), snapshot(&ours));
                if a != b {
                    let keys: Vec<_> = a
                        .keys()
                        .chain(b.keys())
                        .filter(|k| a.get(*k) != b.get(*k))
                        .take(5)
                        .cloned()
                        .collect();
                    failures.push(format!("{label}: trees differ at {keys:?}"));
                }
                if let Some(path) = case.expect_path {
                    let path = tagged(path, native.version);
                    if !ours.join(&path).exists() {
                        failures.push(format!("{label}: {path} was not written"));
                    }
                }
                ran += 1;
            }
        }
    }
    println!(
        "compileall: {ran} runs against CPython {} ({} versions), {} failed",
        natives
            .iter()
            .map(|n| n.version)
            .collect::<Vec<_>>()
            .join(", "),
        natives.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Exit status and stdout must match (stdout as a multiset of lines for `-j`); stderr only
/// matters in being empty or not (argparse's usage text is not ours).
fn differences(reference: &Run, actual: &Run, unordered: bool) -> Option<String> {
    if reference.status != actual.status {
        return Some(format!(
            "status {} (CPython) != {} (ours)\nCPython stdout:\n{}\nCPython stderr:\n{}\nour stdout:\n{}\nour stderr:\n{}",
            reference.status,
            actual.status,
            reference.stdout,
            reference.stderr,
            actual.stdout,
            actual.stderr
        ));
    }
    let (mut expected, mut got): (Vec<&str>, Vec<&str>) = (
        reference.stdout.lines().collect(),
        actual.stdout.lines().collect(),
    );
    let (flat_expected, flat_got);
    if unordered {
        // Pool processes print `*** ` and the message with separate writes, which
        // interleave: compare the lines without that marker, as a multiset.
        let flatten = |text: &str| {
            let mut lines: Vec<String> = text
                .replace("*** ", "")
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            lines.sort_unstable();
            lines
        };
        flat_expected = flatten(&reference.stdout);
        flat_got = flatten(&actual.stdout);
        expected = flat_expected.iter().map(String::as_str).collect();
        got = flat_got.iter().map(String::as_str).collect();
    }
    if expected != got {
        let first = expected
            .iter()
            .zip(&got)
            .position(|(a, b)| a != b)
            .unwrap_or(expected.len().min(got.len()));
        return Some(format!(
            "stdout differs at line {}:\n  CPython: {:?}\n  ours:    {:?}\nfull CPython stdout:\n{}\nfull ours:\n{}",
            first + 1,
            expected.get(first),
            got.get(first),
            reference.stdout,
            actual.stdout
        ));
    }
    if reference.stderr.is_empty() != actual.stderr.is_empty() {
        return Some(format!(
            "stderr: CPython {:?}, ours {:?}",
            reference.stderr, actual.stderr
        ));
    }
    None
}

/// The `.pyc` files under `dir` (path relative to it → bytes), then removes every
/// `__pycache__`, so that the next compiler starts from the same sources.
fn take_pycs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "pyc") {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == "__pycache__") {
                fs::remove_dir_all(&path).unwrap();
            } else if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out
}

/// What `py_compile.compile(SRC, PYC)` writes (TIMESTAMP header, `compile(..., dont_inherit=True)`),
/// run with `-S` and without importing `py_compile`: `import py_compile` pulls in `enum`,
/// `functools` and more, whose nested-class qualnames are then interned and change the bytes
/// of `functools.py` itself. This process has only the interpreter's start-up modules, which
/// is the state serc models.
const ALONE: &str = "import os, sys\n\
    external = sys.modules['_frozen_importlib_external']\n\
    st = os.stat(sys.argv[1])\n\
    code = compile(open(sys.argv[1], 'rb').read(), sys.argv[1], 'exec', dont_inherit=True)\n\
    open(sys.argv[2], 'wb').write(external._code_to_timestamp_pyc(code, st.st_mtime, st.st_size))\n";

/// serc's own bytes on a real tree, against the CPython patch release serc's 3.13 target
/// reproduces: native CPython 3.13.15 (Debian's build, `tests/native/setup.sh`; a failed
/// setup fails this test) compiles its own standard library (about 600 files) with
/// `python -m compileall -q -j0`, then we do (`--compiler auto`, i.e. serc) in the same
/// directory. Paths, stdout and status must be equal, and every pyc byte-identical, except
/// where CPython's bytes depend on what its compiling process did before (its imports and
/// earlier compiles intern strings; tests/oracle/README.md, "Oracle intern state"): for such a
/// file CPython is run again on that file alone, in a fresh process that imports nothing
/// beyond the interpreter's own start ([`ALONE`]), and ours must equal that byte for byte. At
/// most 1 % of the files may need that second look, so it cannot hide a general drift.
#[test]
fn serc_tree_matches_native_cpython_3_13_15() {
    let setup = Command::new("bash")
        .arg(root().join("tests/native/setup.sh"))
        .arg("3.13.15")
        .output()
        .expect("run tests/native/setup.sh");
    assert!(
        setup.status.success(),
        "tests/native/setup.sh 3.13.15 failed (this test needs Debian's CPython 3.13.15):\n{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let python = PathBuf::from(String::from_utf8(setup.stdout).unwrap().trim());
    let stdlib = python
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("lib/python3.13");
    // Not under target/test-compileall: `compileall_matches_cpython` runs in parallel and
    // starts by removing that folder.
    let scratch = root().join("target/test-compileall-native/serc-3.13.15");
    let _ = fs::remove_dir_all(&scratch);
    let tree = scratch.join("tree");
    copy_dir(&stdlib, &tree, true);
    // The interpreter's own imports come from its pycs; it writes no others.
    let quiet = [("PYTHONDONTWRITEBYTECODE", "1")];

    let mut cpython = Command::new(&python);
    cpython.args(["-m", "compileall", "-q", "-j0"]).arg(&tree);
    let reference = run(cpython, &scratch, None, &quiet);
    let theirs = take_pycs(&tree);
    let mut us = Command::new(BIN);
    us.args(["compileall", "-q", "-j0", "--python_version", "3.13"])
        .arg(&tree);
    let actual = run(us, &scratch, None, &[]);
    let ours = take_pycs(&tree);

    assert!(
        theirs.len() > 500,
        "CPython wrote only {} pycs:\n{}",
        theirs.len(),
        reference.stderr
    );
    if let Some(problem) = differences(&reference, &actual, false) {
        panic!("compileall of the 3.13.15 stdlib: {problem}");
    }
    let paths = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        paths(&theirs),
        paths(&ours),
        "the sets of written pycs differ"
    );

    let (mut identical, mut fresh_process, mut wrong) = (0, Vec::new(), Vec::new());
    for (rel, bytes) in &theirs {
        if ours[rel] == *bytes {
            identical += 1;
            continue;
        }
        // __pycache__/NAME.cpython-313.pyc → NAME.py, at the path compileall compiled.
        let pyc = Path::new(rel);
        let stem = pyc.file_name().unwrap().to_str().unwrap();
        let stem = stem.strip_suffix(".cpython-313.pyc").unwrap();
        let source = tree
            .join(pyc.parent().unwrap().parent().unwrap())
            .join(format!("{stem}.py"));
        let fresh = scratch.join("fresh.pyc");
        let mut alone = Command::new(&python);
        alone.args(["-S", "-c", ALONE]).arg(&source).arg(&fresh);
        let single = run(alone, &scratch, None, &quiet);
        assert_eq!(single.status, 0, "py_compile {rel}: {}", single.stderr);
        if fs::read(&fresh).unwrap() == ours[rel] {
            fresh_process.push(rel.clone());
        } else {
            wrong.push(rel.clone());
        }
    }
    println!(
        "serc vs native CPython 3.13.15 on its stdlib: {} pycs, {identical} byte-identical to \
         compileall's, {} identical to CPython compiling the file in a process of its own \
         ({fresh_process:?}), {} different",
        theirs.len(),
        fresh_process.len(),
        wrong.len()
    );
    assert!(
        wrong.is_empty(),
        "pycs that differ from CPython 3.13.15's: {wrong:?}"
    );
    assert!(
        fresh_process.len() * 100 <= theirs.len(),
        "{} of {} pycs equal only a fresh CPython process's: {fresh_process:?}",
        fresh_process.len(),
        theirs.len()
    );
}
