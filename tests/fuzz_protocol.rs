//! Protocol fuzzer: random and mutated frames, in bounded time, with a fixed seed.
//!
//! Two levels:
//! 1. the framer alone, on many streams: valid requests between random whitespace come out
//!    exactly as serde_json reads them, whatever the read sizes; mutated streams never panic
//!    and frame the same under any split of the reads;
//! 2. a live worker fed mutated frames, each followed by a probe request with a fresh id: the
//!    worker never dies or writes anything but responses, answers each probe exactly once
//!    (when the frame before it closed; an unbalanced `{` legally swallows what follows it,
//!    and then the worker is restarted), and exits promptly at the end.
//!
//! `FUZZ_SEED` and `FUZZ_ROUNDS` (worker rounds, default 300; framer cases are 50 times that)
//! change the run; CI runs the default, about 20 s. The last long run is in README.md
//! ("Reliability").

mod driver;

use std::time::{Duration, Instant};

use driver::{Request, Worker, compile_request};
use pycompile_worker::protocol::{Framer, Inbound, WorkRequest};

/// xorshift64*: small, fixed, and enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn seed() -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_2026)
}

fn rounds() -> usize {
    std::env::var("FUZZ_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

/// A valid request as Bazel could write it.
///
/// The output path has no `/` and no sandbox is named, so no mutation short of writing a `/`
/// at the very start of the path can aim a write outside the scratch directory.
fn valid_request(rng: &mut Rng, id: i32) -> String {
    let mut request = compile_request(id, "pkg/ok.py", "pkg/ok.py", &format!("p{id}.pyc"));
    request.cancel = rng.below(10) == 0;
    request.verbosity = if rng.below(5) == 0 { 10 } else { 0 };
    request.inputs = (0..rng.below(4))
        .map(|i| (format!("in/{i}\u{e9}\"\\.py"), format!("{i:064x}")))
        .collect();
    request.to_bazel_json()
}

const TOKENS: [&[u8]; 16] = [
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"\\",
    b"\n",
    b"\r\n",
    b":",
    b",",
    b"\"requestId\":",
    b"1e999",
    b"-2147483649",
    b"\"5\"",
    b"null",
    b"\xff\xfe",
];

/// One mutation of `frame`, or random bytes.
fn mutate(rng: &mut Rng, frame: &[u8]) -> Vec<u8> {
    let mut bytes = frame.to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(8) {
            0 if !bytes.is_empty() => {
                let at = at.min(bytes.len() - 1);
                bytes[at] ^= 1 << rng.below(8);
            }
            1 => {
                let end = (at + rng.below(16)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 => {
                let token = rng.pick(&TOKENS);
                bytes.splice(at..at, token.iter().copied());
            }
            3 => bytes.truncate(at),
            4 => {
                let end = (at + rng.below(32)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
            5 => {
                let random: Vec<u8> = (0..rng.below(24)).map(|_| rng.next() as u8).collect();
                bytes.splice(at..at, random);
            }
            6 => bytes = (0..rng.below(64)).map(|_| rng.next() as u8).collect(),
            _ => {}
        }
    }
    bytes
}

/// Frames `stream` with reads of random sizes.
fn frame(rng: &mut Rng, stream: &[u8]) -> Vec<String> {
    let mut framer = Framer::default();
    let mut items = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        let take = 1 + rng.below(rest.len().min(300));
        framer.push(&rest[..take], &mut items);
        rest = &rest[take..];
    }
    items.extend(framer.finish());
    items.iter().map(|item| format!("{item:?}")).collect()
}

#[test]
fn framer_reads_valid_streams_like_serde_and_mutated_ones_the_same_under_any_split() {
    let mut rng = Rng(seed());
    let cases = rounds() * 50;
    for case in 0..cases {
        let count = 1 + rng.below(5);
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for i in 0..count {
            let text = valid_request(&mut rng, i as i32 + 1);
            expected.push(serde_json::from_str::<WorkRequest>(&text).unwrap());
            stream.extend_from_slice(text.as_bytes());
            let separators: [&[u8]; 4] = [b"", b"\n", b"\r\n", b" \t\n\n"];
            let separator = separators[rng.below(separators.len())];
            stream.extend_from_slice(separator);
        }
        let mut framer = Framer::default();
        let mut items = Vec::new();
        let mut rest = &stream[..];
        while !rest.is_empty() {
            let take = 1 + rng.below(rest.len().min(200));
            framer.push(&rest[..take], &mut items);
            rest = &rest[take..];
        }
        items.extend(framer.finish());
        let got: Vec<WorkRequest> = items
            .into_iter()
            .map(|item| match item {
                Inbound::Request(request) => request,
                other => panic!("case {case}: {other:?} from a valid stream"),
            })
            .collect();
        assert_eq!(got, expected, "case {case}");

        let mutated = mutate(&mut rng, &stream);
        let once = frame(&mut Rng(1), &mutated);
        let split = frame(&mut rng, &mutated);
        assert_eq!(
            once,
            split,
            "case {case}: {:?}",
            String::from_utf8_lossy(&mutated)
        );
    }
}

/// Would the worker read `probe` as a request after `frame`? The framer is the model.
fn probe_is_read(frame: &[u8], probe: &[u8]) -> bool {
    let mut framer = Framer::default();
    let mut items = Vec::new();
    framer.push(frame, &mut items);
    items.clear();
    framer.push(probe, &mut items);
    matches!(&items[..], [Inbound::Request(_)])
}

#[test]
fn a_worker_fed_mutated_frames_survives_and_answers_every_probe_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
    std::fs::write(dir.path().join("pkg/ok.py"), "x = 1\n").unwrap();
    let mut rng = Rng(seed() ^ 0xABCD);
    let started = Instant::now();
    let mut worker = Worker::start(dir.path(), &[]);
    let (mut probes, mut restarts, mut extra) = (0, 0, 0);
    for round in 0..rounds() {
        let base_id = 1 + rng.below(50) as i32;
        let base = valid_request(&mut rng, base_id);
        let mut frame = mutate(&mut rng, base.as_bytes());
        frame.push(b'\n');
        // Probe ids never collide with ids a mutation can produce from 1..=50 (short of a
        // mutation writing this very number).
        let id = 1_000_000 + round as i32;
        let mut probe = compile_request(id, "pkg/ok.py", "pkg/ok.py", "probe.pyc")
            .to_bazel_json()
            .into_bytes();
        probe.push(b'\n');
        if !probe_is_read(&frame, &probe) {
            // The frame leaves a value open: everything after it belongs to that value.
            worker.send_raw(&frame);
            drop(worker);
            worker = Worker::start(dir.path(), &[]);
            restarts += 1;
            continue;
        }
        worker.send_raw(&frame);
        worker.send_raw(&probe);
        loop {
            let response = worker.recv();
            if response.request_id == i64::from(id) {
                assert_eq!(response.exit_code, 0, "round {round}: {}", response.output);
                break;
            }
            extra += 1; // an answer to the mutated frame (or an error naming its id)
        }
        probes += 1;
    }
    // Nothing more may come: every probe was answered once, and the frames' answers are out.
    worker.send(&Request::new(2_000_000_000, &["--src", "pkg/ok.py"]));
    loop {
        let response = worker.recv();
        assert!(
            response.request_id < 1_000_000 || response.request_id == 2_000_000_000,
            "a probe answered twice: {response:?}"
        );
        if response.request_id == 2_000_000_000 {
            break;
        }
    }
    let (status, _, elapsed) = worker.close();
    assert_eq!(status, 0);
    assert!(elapsed < Duration::from_secs(2));
    eprintln!(
        "fuzz: {probes} probes answered once, {extra} answers to mutated frames, \
         {restarts} restarts after an unclosed value, in {:?}",
        started.elapsed()
    );
}
