//! Our port of CPython's tokenizer (`src/compile/syntax/lexer/`) against CPython's own.
//!
//! The oracle's `tokens` verb runs CPython's C tokenizer as its parser does
//! (`_tokenize.TokenizerIter(readline, extra_tokens=False)`) and records every token's kind
//! and position, the tokenizer's exception, and `compile()`'s exception. Per target version we
//! compare, file by file, on
//!
//! - (a) the stdlib corpus the conformance test uses (valid code): every file must give the
//!   identical stream;
//! - (b) mutants of it from `tests/mutations/generator.rs` with a fixed seed (broken code):
//!   the identical rate (same tokens up to the error, same error) must stay above the ratchet
//!   in [`MIN_MUTANTS_IDENTICAL`].
//!
//! - (c) the hand-written corner cases of `tests/lexer/cases.rs`: every one identical;
//! - (d) token soup from `tests/lexer/soup.rs` (random sources glued from the pieces the
//!   tokenizer treats specially, same seed): every one identical.
//!
//! Compared per token: CPython's kind name, start and end line, and the start and end columns
//! of the token's text in characters (what `TokenizerIter` reports; -1 for the tokens CPython
//! gives no column). An error matches when its class, message and line are the tokenizer's;
//! where `compile()` reports the same message (the tokenizer's error is what the user sees),
//! all four of our location fields must equal `compile()`'s, otherwise, for errors the
//! tokenizer raises itself, its offsets must equal `TokenizerIter`'s.
//!
//! Environment, for long runs (`bash tests/lexer/run.sh`): `LEXER_SEED` (default 1),
//! `LEXER_MUTANTS` (mutants per target, default 300 for 3.14 and 150 for the others),
//! `LEXER_SOUP` (soup sources per target, default 300), `LEXER_CORPUS_STRIDE` (test every Nth corpus file for 3.12/3.13/3.15, default 8; 3.14 always
//! takes all), `LEXER_ENFORCE=0` to report without asserting. Mismatch details go to
//! `target/lexer/<target>-seed<S>/mismatches.txt`; oracle results are cached there by content.
//!
//! Needs node and the oracle packages: `bash tests/oracle/setup.sh`.

#[path = "lexer/cases.rs"]
mod cases;
#[path = "mutations/generator.rs"]
mod generator;
#[path = "oracle/harness.rs"]
mod harness;
#[path = "lexer/soup.rs"]
mod soup;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use harness::*;
use pycompile_worker::compile::syntax::lexer::{LexError, Lexer, NO_COLUMN, kind_name};
use pycompile_worker::compile::syntax::token::TokenKind;
use serde_json::{Value, json};

/// Per mille of the mutants whose stream and error must be identical (seed 1, the bounded
/// run): a ratchet, raise it as the port improves.
const MIN_MUTANTS_IDENTICAL: &[(&str, usize)] = &[
    ("3.12", 1000),
    ("3.13", 1000),
    ("3.14", 1000),
    ("3.15", 1000),
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got {v:?}"))
    })
}

fn fnv(hash: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *hash ^= u64::from(b);
        *hash = hash.wrapping_mul(0x100_0000_01b3);
    }
}

/// The text as the oracle gives it to CPython's tokenizer: UTF-8, BOM dropped.
fn decoded(bytes: &[u8]) -> Option<String> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    String::from_utf8(bytes.to_vec()).ok()
}

/// Characters in `text[line_start..at]`.
fn char_col(text: &str, line_start: usize, at: usize) -> i64 {
    text[line_start..at].chars().count() as i64
}

/// Our stream in the oracle's format, and our error.
fn ours(text: &str, minor: u8) -> (Vec<String>, Option<LexError>) {
    let mut lexer = Lexer::new(text, minor);
    let mut lines = Vec::new();
    let mut error = None;
    // Line starts of the lexer's text, to turn byte ranges into character columns.
    let source = lexer.source().to_owned();
    let mut starts = vec![0usize, 0usize];
    starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
    let limit = source.len() * 4 + 64;
    loop {
        match lexer.next_token() {
            Ok(token) => {
                let kind = kind_name(token.kind);
                if token.start.col == NO_COLUMN {
                    lines.push(format!(
                        "{kind} {} -1 {} -1",
                        token.start.line, token.end.line
                    ));
                } else {
                    // TokenizerIter's columns: the text's start on the token's start line, the
                    // text's end on the token's end line.
                    let sline = token.start.line as usize;
                    let eline = token.end.line as usize;
                    let scol = if token.text.start >= starts[sline.min(starts.len() - 1)] {
                        char_col(&source, starts[sline], token.text.start)
                    } else {
                        -1
                    };
                    let ecol = char_col(&source, starts[eline], token.text.end.max(starts[eline]));
                    lines.push(format!("{kind} {sline} {scol} {eline} {ecol}"));
                }
                if token.kind == TokenKind::EndMarker {
                    break;
                }
            }
            Err(err) => {
                error = Some(err);
                break;
            }
        }
        assert!(lines.len() < limit, "the lexer does not terminate");
    }
    (lines, error)
}

fn field(v: &Value, key: &str) -> i64 {
    v[key].as_i64().unwrap_or(i64::MIN)
}

/// Whether our error is CPython's (see the module comment); `None` when it is, else why not.
fn error_mismatch(ours: Option<&LexError>, oracle: &Value, compiled: &Value) -> Option<String> {
    let err = match (ours, oracle.is_null()) {
        (None, true) => return None,
        (None, false) => return Some(format!("we accept; CPython: {oracle}")),
        (Some(e), true) => return Some(format!("CPython accepts; we: {e:?}")),
        (Some(e), false) => e,
    };
    let ours_loc = [
        i64::from(err.lineno),
        err.col_offset,
        i64::from(err.end_lineno),
        err.end_col_offset,
    ];
    let loc = |v: &Value| {
        [
            field(v, "lineno"),
            field(v, "offset"),
            field(v, "end_lineno"),
            field(v, "end_offset"),
        ]
    };
    let same_as_compile =
        compiled["type"] == err.kind.name() && compiled["msg"].as_str() == Some(&err.msg);
    if err.done == pycompile_worker::compile::syntax::lexer::Done::Eof {
        if oracle["msg"] != "unexpected EOF in multi-line statement" {
            return Some(format!("ours {err:?}; CPython {oracle}"));
        }
    } else {
        if oracle["type"] != err.kind.name() || oracle["msg"].as_str() != Some(&err.msg) {
            return Some(format!("ours {err:?}; CPython {oracle}"));
        }
        if field(oracle, "lineno") != i64::from(err.lineno) {
            return Some(format!("line: ours {err:?}; CPython {oracle}"));
        }
        if !same_as_compile
            && err.done == pycompile_worker::compile::syntax::lexer::Done::Error
            && loc(oracle) != ours_loc
        {
            return Some(format!("location: ours {err:?}; CPython {oracle}"));
        }
    }
    if same_as_compile && loc(compiled) != ours_loc {
        return Some(format!("location: ours {err:?}; compile() {compiled}"));
    }
    None
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Set {
    Corpus,
    Mutant,
    Edge,
    Soup,
}

struct Case {
    name: String,
    path: PathBuf,
    set: Set,
}

/// Oracle results for `cases`, cached by their content.
fn oracle_tokens(target: &str, cases: &[Case], work: &Path) -> Vec<Value> {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    fnv(&mut hash, target.as_bytes());
    fnv(&mut hash, include_bytes!("oracle/oracle_impl.py"));
    for case in cases {
        fnv(&mut hash, case.path.to_string_lossy().as_bytes());
        fnv(&mut hash, &fs::read(&case.path).unwrap());
    }
    let cache = work.join(format!("oracle-{hash:016x}.json"));
    if let Ok(text) = fs::read_to_string(&cache)
        && let Ok(Value::Array(list)) = serde_json::from_str::<Value>(&text)
        && list.len() == cases.len()
    {
        return list;
    }
    let manifest = work.join("tokens.manifest.json");
    let results = work.join("tokens.results.json");
    let _ = fs::remove_file(&results);
    let jobs: Vec<Value> = cases.iter().map(|c| json!({"src": c.path})).collect();
    write_json(&manifest, &json!({ "jobs": jobs }));
    let out = oracle(
        target,
        &[
            "tokens",
            "--manifest",
            manifest.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "oracle tokens ({target}) failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&fs::read_to_string(&results).unwrap()).unwrap();
    let list = doc["results"].as_array().cloned().unwrap();
    assert_eq!(list.len(), cases.len());
    fs::write(&cache, serde_json::to_string(&list).unwrap()).unwrap();
    list
}

fn run(target: &str) {
    require_oracle();
    let minor: u8 = target[2..].parse().unwrap();
    let seed = env_usize("LEXER_SEED", 1) as u64;
    // The bounded run: everything for 3.14, a sample for the other versions.
    let main = target == "3.14";
    let wanted = env_usize("LEXER_MUTANTS", if main { 300 } else { 150 });
    let stride = if main {
        1
    } else {
        env_usize("LEXER_CORPUS_STRIDE", 8).max(1)
    };
    let enforce = std::env::var("LEXER_ENFORCE").map_or(true, |v| v != "0");
    let work = target_dir()
        .join("lexer")
        .join(format!("{target}-seed{seed}"));
    fs::create_dir_all(&work).unwrap();
    let (root, files) = corpus();
    let mut cases: Vec<Case> = files
        .iter()
        .step_by(stride)
        .map(|f| Case {
            name: f.clone(),
            path: root.join(f),
            set: Set::Corpus,
        })
        .collect();
    let edge_dir = work.join("edge");
    fresh_dir(&edge_dir);
    let generated = cases::generated();
    let edge = cases::CASES
        .iter()
        .copied()
        .chain(generated.iter().map(String::as_str));
    for (i, text) in edge.enumerate() {
        let path = edge_dir.join(format!("{i:04}.py"));
        fs::write(&path, text).unwrap();
        cases.push(Case {
            name: format!(
                "edge case {i} {:?}",
                text.chars().take(60).collect::<String>()
            ),
            path,
            set: Set::Edge,
        });
    }
    let soup_dir = work.join("soup");
    fresh_dir(&soup_dir);
    for (i, text) in soup::sources(seed, env_usize("LEXER_SOUP", 300))
        .iter()
        .enumerate()
    {
        let path = soup_dir.join(format!("{i:05}.py"));
        fs::write(&path, text).unwrap();
        cases.push(Case {
            name: format!("soup {i:05} {text:?}"),
            path,
            set: Set::Soup,
        });
    }
    // Mutants: the same generator and seed as the mutation suite.
    let dir = work.join("mutants");
    fresh_dir(&dir);
    let mut rng = generator::Rng::new(seed);
    let mut made = 0;
    while made < wanted {
        let origin = rng.pick(&files).clone();
        let Ok(source) = fs::read_to_string(root.join(&origin)) else {
            continue;
        };
        let Some((kind, text)) = (0..10).find_map(|_| generator::mutate(&mut rng, &source)) else {
            continue;
        };
        let path = dir.join(format!("{made:05}.py"));
        fs::write(&path, text).unwrap();
        cases.push(Case {
            name: format!("mutant {made:05} ({kind} of {origin})"),
            path,
            set: Set::Mutant,
        });
        made += 1;
    }
    let results = oracle_tokens(target, &cases, &work);

    let mut report = String::new();
    let (mut corpus_total, mut corpus_same, mut mut_total, mut mut_same, mut mut_errors) =
        (0, 0, 0, 0, 0);
    let (mut edge_total, mut edge_same, mut soup_total, mut soup_same) = (0, 0, 0, 0);
    for (case, res) in cases.iter().zip(&results) {
        if res.get("undecodable").is_some() || res.get("exception").is_some() {
            continue; // not UTF-8, or the oracle crashed: nothing to compare
        }
        let bytes = fs::read(&case.path).unwrap();
        let Some(text) = decoded(&bytes) else {
            continue;
        };
        let (lines, error) = ours(&text, minor);
        let mut theirs: Vec<&str> = res["tokens"]
            .as_str()
            .unwrap_or("")
            .lines()
            .filter(|l| !l.is_empty())
            .collect();
        if text.is_empty() && theirs.is_empty() {
            // TokenizerIter reads lines and yields nothing for no line at all; the parser's
            // string input gets its ENDMARKER before any line.
            theirs.push("ENDMARKER 0 -1 0 -1");
        }
        let mut problem = None;
        if let Some(i) = (0..lines.len().max(theirs.len()))
            .find(|&i| lines.get(i).map(String::as_str) != theirs.get(i).copied())
        {
            problem = Some(format!(
                "token {i}: ours {:?}, CPython {:?}",
                lines.get(i),
                theirs.get(i)
            ));
        } else if let Some(why) =
            error_mismatch(error.as_ref(), &res["error"], &res["compile_error"])
        {
            problem = Some(why);
        }
        match case.set {
            Set::Mutant => {
                mut_total += 1;
                mut_errors += usize::from(!res["error"].is_null());
                mut_same += usize::from(problem.is_none());
            }
            Set::Corpus => {
                corpus_total += 1;
                corpus_same += usize::from(problem.is_none());
            }
            Set::Edge => {
                edge_total += 1;
                edge_same += usize::from(problem.is_none());
            }
            Set::Soup => {
                soup_total += 1;
                soup_same += usize::from(problem.is_none());
            }
        }
        if let Some(p) = problem {
            let _ = writeln!(report, "{}: {p}", case.name);
        }
    }
    fs::write(work.join("mismatches.txt"), &report).unwrap();
    let pm = |a: usize, b: usize| (a * 1000).checked_div(b).unwrap_or(1000);
    eprintln!(
        "lexer {target} seed {seed}: corpus {corpus_same}/{corpus_total} identical; \
         corner cases {edge_same}/{edge_total}; soup {soup_same}/{soup_total}; \
         mutants {mut_same}/{mut_total} identical ({}‰; {mut_errors} rejected by the tokenizer); \
         details: {}",
        pm(mut_same, mut_total),
        work.join("mismatches.txt").display()
    );
    if !enforce {
        return;
    }
    let first: String = report.lines().take(15).collect::<Vec<_>>().join("\n");
    assert_eq!(
        corpus_same, corpus_total,
        "{target}: corpus files whose token stream differs from CPython's:\n{first}"
    );
    assert_eq!(
        edge_same, edge_total,
        "{target}: corner cases whose token stream differs from CPython's:\n{first}"
    );
    assert_eq!(
        soup_same, soup_total,
        "{target}: token soup whose stream differs from CPython's:\n{first}"
    );
    let min = MIN_MUTANTS_IDENTICAL
        .iter()
        .find(|(t, _)| *t == target)
        .map_or(1000, |(_, m)| *m);
    assert!(
        pm(mut_same, mut_total) >= min,
        "{target}: only {mut_same}/{mut_total} mutants identical (need {min}‰):\n{first}"
    );
}

#[test]
fn tokens_match_cpython_3_14() {
    run("3.14");
}

#[test]
fn tokens_match_cpython_3_12() {
    run("3.12");
}

#[test]
fn tokens_match_cpython_3_13() {
    run("3.13");
}

#[test]
fn tokens_match_cpython_3_15() {
    run("3.15");
}
