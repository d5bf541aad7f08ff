//! The alternative engine (`--compiler rustpython`, CPython 3.14 bytecode) against CPython
//! 3.14.2's py_compile over the stdlib corpus, at -O0/-O1/-O2.
//!
//! rustpython-compiler's marshal writer emits no back-references, so its files are never
//! byte-identical; what matters is that CPython loads them and finds code objects equal to
//! its own. Prints `target=3.14 compiler=rustpython opt=N files=F identical_bytes=B
//! equal_objects=E loadable=L`, next to serc's lines from tests/conformance.rs, and lists the
//! differing files with the first difference.
//!
//! Asserted: every pyc we write loads in CPython (a file that does not load is worse than
//! none), and every code object equals CPython's (see ALLOWED_DIFFERENCES), so a regression in
//! our correction layer fails.

#[path = "oracle/harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::fs;
use std::process::Command;

use harness::*;

/// Files whose code objects may differ from CPython's, per optimize level: none. Our layer
/// renames `__annotate__` functions (81 files differed at every level) and, at -OO, relocates
/// the implicit return of a body that was only a docstring (16 files differed, e.g.
/// codecs.py: `b'\x80\x00\xf1\x02\x01\t\x01'` where CPython 3.14.2 writes
/// `b'\x80\x00\xd9\x08\x0c'`).
const ALLOWED_DIFFERENCES: [usize; 3] = [0, 0, 0];

#[test]
fn rustpython_engine_against_cpython_314() {
    require_oracle();
    let (root, files) = corpus();
    let work = target_dir().join("conformance/rustpython");
    fresh_dir(&work);
    let mut failures = Vec::new();
    for opt in [0u8, 1, 2] {
        let job = |side: &str, name: &String| Job {
            src: root.join(name),
            name: name.clone(),
            pyc: work.join(format!("opt{opt}/{side}/{name}c")),
            optimize: opt,
        };
        let ours: Vec<Job> = files.iter().map(|name| job("ours", name)).collect();
        let reference: Vec<Job> = files.iter().map(|name| job("ref", name)).collect();

        let mut lines = Vec::new();
        for job in &ours {
            lines.extend([
                "--src".to_owned(),
                job.src.display().to_string(),
                "--src_name".to_owned(),
                job.name.clone(),
                "--pyc".to_owned(),
                job.pyc.display().to_string(),
            ]);
        }
        lines.extend(
            [
                "--optimize",
                &opt.to_string(),
                "--compiler",
                "rustpython",
                "--python_version",
                "3.14",
            ]
            .map(str::to_owned),
        );
        let params = work.join(format!("opt{opt}.params"));
        fs::write(&params, lines.join("\n")).unwrap();
        let out = output_with_timeout(
            Command::new(ours_exe())
                .arg(format!("@{}", params.display()))
                .current_dir(repo_root()),
            std::time::Duration::from_secs(900),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);

        let ref_results = oracle_compile(
            "3.14",
            &reference,
            "checked_hash",
            &work,
            &format!("ref{opt}"),
        );
        let mut pairs = Vec::new();
        let mut not_compiled = Vec::new();
        for ((o, r), res) in ours.iter().zip(&reference).zip(&ref_results) {
            if res["ok"] != true {
                continue; // CPython rejects it too
            }
            if o.pyc.is_file() {
                pairs.push((o.pyc.clone(), r.pyc.clone()));
            } else {
                not_compiled.push(o.name.clone());
            }
        }
        let compared = oracle_compare("3.14", &pairs, &work, &format!("compare{opt}"));
        let identical = compared
            .iter()
            .filter(|c| c["identical_bytes"] == true)
            .count();
        let equal = compared
            .iter()
            .filter(|c| c["equal_objects"] == true)
            .count();
        let loadable = compared
            .iter()
            .filter(|c| {
                !c["diff"]
                    .as_str()
                    .is_some_and(|d| d.contains("ours does not unmarshal"))
            })
            .count();
        println!(
            "target=3.14 compiler=rustpython opt={opt} files={} identical_bytes={identical} equal_objects={equal} loadable={loadable} not_compiled={}",
            pairs.len() + not_compiled.len(),
            not_compiled.len()
        );
        let mut kinds: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for ((ours, _), c) in pairs.iter().zip(&compared) {
            if c["equal_objects"] != true {
                let diff = c["diff"].as_str().unwrap_or("?");
                let field = diff.split(':').next().unwrap_or(diff);
                let field = field.rsplit('.').next().unwrap_or(field).to_owned();
                kinds
                    .entry(field)
                    .or_default()
                    .push(format!("{} ({diff})", ours.display()));
            }
        }
        for (field, list) in &kinds {
            println!(
                "  differs in {field}: {} files, e.g. {}",
                list.len(),
                list[0]
            );
        }
        for name in &not_compiled {
            let reason = stderr
                .lines()
                .find(|line| line.contains(name.as_str()))
                .unwrap_or("(no message)");
            println!("  not compiled: {name}: {reason}");
        }
        if loadable != pairs.len() {
            failures.push(format!(
                "opt={opt}: {} of our pycs do not load in CPython",
                pairs.len() - loadable
            ));
        }
        let allowed = ALLOWED_DIFFERENCES[usize::from(opt)];
        if equal + allowed < pairs.len() {
            failures.push(format!(
                "opt={opt}: equal_objects={equal} of {}; at most {allowed} may differ",
                pairs.len()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
