//! Bazel's JSON worker protocol: the wire types and the framing of the request stream.
//!
//! Bazel 5+ ends each request with a newline, Bazel 4.x writes them back to back, and a request
//! can be split across reads or be megabytes long, so requests are cut out of the byte stream
//! by following the JSON structure, never by lines. The [`Framer`] looks at every byte once
//! (it resumes where the last read stopped) and hands each complete value to serde once, so
//! framing is linear in the input; one request may be at most [`MAX_REQUEST_BYTES`].
//! Responses must use exactly the camelCase keys Bazel's reader knows (`requestId`,
//! `exitCode`, `output`): it silently skips any other spelling.

use std::io::{self, Write};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A request as Bazel's protobuf JSON printer writes it (default values omitted).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct WorkRequest {
    pub arguments: Vec<String>,
    #[serde(alias = "request_id", deserialize_with = "int32")]
    pub request_id: i32,
    pub cancel: bool,
    #[serde(deserialize_with = "int32")]
    pub verbosity: i32,
    #[serde(alias = "sandbox_dir")]
    pub sandbox_dir: Option<String>,
}

/// An `int32` field as proto3 JSON allows it: a number or a string holding one, in decimal or
/// exponent notation (`5`, `"5"`, `1.0`, `1e3`), as long as the value is an integer in range.
fn int32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
    let value = Value::deserialize(deserializer)?;
    parse_int32(&value).map_err(serde::de::Error::custom)
}

/// The proto3 JSON reading of an `int32` value.
pub fn parse_int32(value: &Value) -> Result<i32, String> {
    let number = match value {
        Value::Number(number) => number.clone(),
        Value::String(text) => serde_json::from_str::<serde_json::Number>(text.trim())
            .map_err(|_| format!("{value} is not a number"))?,
        Value::Null => return Ok(0),
        other => return Err(format!("{other} is not a number")),
    };
    if let Some(int) = number.as_i64() {
        return i32::try_from(int).map_err(|_| format!("{number} is out of the int32 range"));
    }
    if number.is_u64() {
        return Err(format!("{number} is out of the int32 range"));
    }
    let float = number.as_f64().unwrap_or(f64::NAN);
    if float.fract() != 0.0 || !float.is_finite() {
        return Err(format!("{number} is not an integer"));
    }
    if float < f64::from(i32::MIN) || float > f64::from(i32::MAX) {
        return Err(format!("{number} is out of the int32 range"));
    }
    Ok(float as i32)
}

/// A response. All three keys Bazel reads are always written, defaults included.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkResponse {
    pub request_id: i32,
    pub exit_code: i32,
    pub output: String,
    /// Written only in the answer to a cancelled request.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub was_cancelled: bool,
}

impl WorkResponse {
    pub fn new(request_id: i32, exit_code: i32, output: String) -> Self {
        Self {
            request_id,
            exit_code,
            output,
            was_cancelled: false,
        }
    }

    pub fn cancelled(request_id: i32) -> Self {
        Self {
            request_id,
            exit_code: 0,
            output: String::new(),
            was_cancelled: true,
        }
    }

    /// The response as one compact line.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).expect("a response always serializes");
        line.push(b'\n');
        line
    }

    /// Writes the response as one line and flushes, so responses never interleave.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&self.to_line())?;
        out.flush()
    }
}

/// One item cut from the request stream.
#[derive(Debug)]
pub enum Inbound {
    Request(WorkRequest),
    /// Not a usable request; `request_id` is set when it could be recovered, so the
    /// request can still be answered (Bazel would otherwise wait for it forever).
    Malformed {
        request_id: Option<i32>,
        message: String,
    },
}

/// The largest request the worker reads (the JSON text of one `WorkRequest`). Bazel's biggest
/// realistic request, 100 000 inputs with digests, is about 9 MB; a larger one is answered
/// with an error (if its id can be found) and skipped without being kept in memory.
pub const MAX_REQUEST_BYTES: usize = 256 << 20;

/// Where the framer is in the byte stream.
#[derive(Debug)]
enum Mode {
    /// Between values: whitespace is skipped, `{` or `[` starts a value.
    Between,
    /// Inside a value that started at `start` in the buffer.
    Value { start: usize },
    /// Inside a value longer than the cap: its bytes are dropped as they come.
    Oversized,
    /// After bytes that cannot start or continue a value: dropped up to the next newline.
    Garbage { reason: &'static str },
}

/// Cuts JSON values out of a byte stream, whatever separates them, in linear time.
///
/// Only the structure is followed here (brackets, strings and their escapes); the value is
/// parsed once it is complete. A value whose brackets do not match, or a string holding a raw
/// newline, is malformed: the rest of its line is skipped, as Bazel 5+ ends every request
/// with a newline, and the next request is read from there.
pub struct Framer {
    buffer: Vec<u8>,
    /// How much of `buffer` has been looked at.
    scanned: usize,
    mode: Mode,
    /// Open brackets of the current value, innermost last.
    open: Vec<u8>,
    in_string: bool,
    escaped: bool,
    /// The first bytes of a skipped value or line, kept to find its `requestId`.
    head: Vec<u8>,
    /// The latest bytes of a skipped value, for the same reason.
    tail: Vec<u8>,
    limit: usize,
}

/// How much of a skipped value is kept to find its id.
const KEPT: usize = 4096;

impl Default for Framer {
    fn default() -> Self {
        Self::new(MAX_REQUEST_BYTES)
    }
}

impl Framer {
    /// A framer that refuses values longer than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            buffer: Vec::new(),
            scanned: 0,
            mode: Mode::Between,
            open: Vec::new(),
            in_string: false,
            escaped: false,
            head: Vec::new(),
            tail: Vec::new(),
            limit,
        }
    }

    /// Takes the next bytes of the stream and returns every item they complete.
    pub fn push(&mut self, bytes: &[u8], items: &mut Vec<Inbound>) {
        self.buffer.extend_from_slice(bytes);
        let mut consumed = 0;
        let mut i = self.scanned;
        while i < self.buffer.len() {
            let byte = self.buffer[i];
            match self.mode {
                Mode::Between => {
                    if byte.is_ascii_whitespace() {
                        consumed = i + 1;
                    } else if byte == b'{' || byte == b'[' {
                        self.mode = Mode::Value { start: i };
                        self.open.clear();
                        self.open.push(byte);
                        self.in_string = false;
                        self.escaped = false;
                        consumed = i;
                    } else {
                        self.mode = Mode::Garbage {
                            reason: "a work request must be a JSON object",
                        };
                        consumed = i;
                        continue; // the byte is looked at again as garbage
                    }
                }
                Mode::Value { start } => match self.structure(byte) {
                    Step::More => {
                        if i + 1 - start > self.limit {
                            self.keep(start, i + 1);
                            self.mode = Mode::Oversized;
                            consumed = i + 1;
                        }
                    }
                    Step::End => {
                        items.push(parse(&self.buffer[start..=i]));
                        self.mode = Mode::Between;
                        consumed = i + 1;
                    }
                    Step::Broken(reason) => {
                        self.keep(start, i);
                        self.mode = Mode::Garbage { reason };
                        consumed = i;
                        continue;
                    }
                },
                Mode::Oversized => {
                    let step = self.structure(byte);
                    if !matches!(step, Step::More) {
                        self.keep(consumed, i + 1);
                        consumed = i + 1;
                        items.push(Inbound::Malformed {
                            request_id: self.recover_kept(),
                            message: format!(
                                "work request larger than {} bytes (the limit) was skipped",
                                self.limit
                            ),
                        });
                        self.mode = Mode::Between;
                    }
                }
                Mode::Garbage { reason } => {
                    consumed = i + 1;
                    if byte == b'\n' {
                        items.push(Inbound::Malformed {
                            request_id: self.recover_kept(),
                            message: format!("malformed JSON in work request: {reason}"),
                        });
                        self.mode = Mode::Between;
                    } else if self.head.len() < KEPT {
                        self.head.push(byte);
                    }
                }
            }
            i += 1;
        }
        // Bytes of a value in progress stay; everything before it is done with.
        if matches!(self.mode, Mode::Oversized) {
            self.keep(consumed, self.buffer.len());
            consumed = self.buffer.len();
        }
        self.buffer.drain(..consumed);
        if let Mode::Value { start } = &mut self.mode {
            *start -= consumed;
        }
        self.scanned = self.buffer.len();
    }

    /// The end of the stream: a value cut off by it is reported.
    pub fn finish(&mut self) -> Option<Inbound> {
        let mode = std::mem::replace(&mut self.mode, Mode::Between);
        let item = match mode {
            Mode::Between => None,
            Mode::Value { start } => Some(Inbound::Malformed {
                request_id: recover_request_id(&self.buffer[start..]),
                message: "the request stream ended inside a JSON value".to_owned(),
            }),
            Mode::Oversized | Mode::Garbage { .. } => Some(Inbound::Malformed {
                request_id: self.recover_kept(),
                message: "the request stream ended inside a malformed work request".to_owned(),
            }),
        };
        self.buffer.clear();
        item
    }

    /// Keeps the head of a skipped value and a window of its latest bytes (where Bazel
    /// writes `requestId`: after `arguments` and `inputs`).
    fn keep(&mut self, from: usize, to: usize) {
        let bytes = &self.buffer[from..to];
        if self.head.len() < KEPT {
            let room = KEPT - self.head.len();
            self.head.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        self.tail
            .extend_from_slice(&bytes[bytes.len().saturating_sub(KEPT)..]);
        if self.tail.len() > 2 * KEPT {
            self.tail.drain(..self.tail.len() - KEPT);
        }
    }

    fn recover_kept(&mut self) -> Option<i32> {
        let id = recover_request_id(&self.head).or_else(|| recover_request_id(&self.tail));
        self.head.clear();
        self.tail.clear();
        id
    }

    /// Follows one byte of a value's structure.
    fn structure(&mut self, byte: u8) -> Step {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if byte == b'\\' {
                self.escaped = true;
            } else if byte == b'"' {
                self.in_string = false;
            } else if byte == b'\n' {
                return Step::Broken("a string holds a raw line break");
            }
            return Step::More;
        }
        match byte {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.open.push(byte),
            b'}' | b']' => {
                let expected = if byte == b'}' { b'{' } else { b'[' };
                if self.open.pop() != Some(expected) {
                    return Step::Broken("brackets do not match");
                }
                if self.open.is_empty() {
                    return Step::End;
                }
            }
            _ => {}
        }
        Step::More
    }
}

enum Step {
    More,
    End,
    Broken(&'static str),
}

/// Parses one complete JSON value into a request, keeping the id of a request we cannot use.
fn parse(text: &[u8]) -> Inbound {
    match serde_json::from_slice::<WorkRequest>(text) {
        Ok(request) => Inbound::Request(request),
        Err(error) => {
            let message = if error.is_data() {
                format!("invalid work request: {error}")
            } else {
                format!("malformed JSON in work request: {error}")
            };
            Inbound::Malformed {
                request_id: recover_request_id(text),
                message,
            }
        }
    }
}

/// Best-effort id recovery from the text of a request that could not be used.
///
/// The key cannot occur inside a JSON string (its quotes would be escaped there), so the
/// first `"requestId"` followed by `:` is the request's own, unless the text is broken.
fn recover_request_id(text: &[u8]) -> Option<i32> {
    for key in [&b"\"requestId\""[..], b"\"request_id\""] {
        let mut rest = text;
        while let Some(at) = memchr::memmem::find(rest, key) {
            rest = &rest[at + key.len()..];
            let after = trim_start(rest);
            let Some(value) = after.strip_prefix(b":") else {
                continue;
            };
            let value = trim_start(value);
            let token_end = if value.first() == Some(&b'"') {
                value[1..]
                    .iter()
                    .position(|&b| b == b'"')
                    .map(|end| end + 2)
            } else {
                Some(
                    value
                        .iter()
                        .position(|b| !(b.is_ascii_alphanumeric() || b"+-.".contains(b)))
                        .unwrap_or(value.len()),
                )
            };
            let token = &value[..token_end?];
            let parsed = serde_json::from_slice::<Value>(token).ok()?;
            return parse_int32(&parsed).ok();
        }
    }
    None
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds the input one byte per read, the worst split Bazel's pipe can produce, and
    /// checks that one read of everything frames the same.
    fn read_all(input: &[u8]) -> Vec<Inbound> {
        let mut framer = Framer::default();
        let mut items = Vec::new();
        for byte in input {
            framer.push(std::slice::from_ref(byte), &mut items);
        }
        items.extend(framer.finish());
        let mut whole = Framer::default();
        let mut at_once = Vec::new();
        whole.push(input, &mut at_once);
        at_once.extend(whole.finish());
        assert_eq!(format!("{items:?}"), format!("{at_once:?}"));
        items
    }

    #[test]
    fn frames_back_to_back_newline_and_crlf() {
        let input = br#"{"arguments":["a"]}{"requestId":2,"arguments":["b"]}
{"requestId":3}
{"request_id":4,"cancel":true,"sandbox_dir":"x"}"#;
        let items = read_all(input);
        let requests: Vec<_> = items
            .into_iter()
            .map(|item| match item {
                Inbound::Request(request) => request,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(requests.len(), 4);
        assert_eq!(requests[0].request_id, 0);
        assert_eq!(requests[1].request_id, 2);
        assert_eq!(requests[3].request_id, 4);
        assert!(requests[3].cancel);
        assert_eq!(requests[3].sandbox_dir.as_deref(), Some("x"));
    }

    #[test]
    fn decodes_html_escapes_and_ignores_unknown_fields() {
        let input = br#"{"arguments":["--python_version\u003d3.14"],"inputs":[{"path":"a","digest":"YWJj"}],"future":1}"#;
        match &read_all(input)[..] {
            [Inbound::Request(request)] => assert_eq!(request.arguments, ["--python_version=3.14"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn recovers_after_malformed_json() {
        let input = b"{\"requestId\": 7, oops}\n{\"requestId\":8}\n";
        match &read_all(input)[..] {
            [
                Inbound::Malformed {
                    request_id: Some(7),
                    ..
                },
                Inbound::Request(next),
            ] => assert_eq!(next.request_id, 8),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_types_keep_the_id() {
        match &read_all(br#"{"requestId":5,"arguments":"not a list"}"#)[..] {
            [
                Inbound::Malformed {
                    request_id: Some(5),
                    message,
                },
            ] => {
                assert!(message.contains("invalid work request"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn truncated_stream_is_reported() {
        match &read_all(br#"{"requestId":9,"argu"#)[..] {
            [
                Inbound::Malformed {
                    request_id: Some(9),
                    ..
                },
            ] => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn responses_always_carry_the_three_keys() {
        let mut out = Vec::new();
        WorkResponse::new(0, 0, String::new())
            .write_to(&mut out)
            .unwrap();
        WorkResponse::cancelled(3).write_to(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"requestId\":0,\"exitCode\":0,\"output\":\"\"}\n\
             {\"requestId\":3,\"exitCode\":0,\"output\":\"\",\"wasCancelled\":true}\n"
        );
    }

    #[test]
    fn request_ids_in_proto3_json_forms() {
        let id = |text: &str| parse_int32(&serde_json::from_str(text).unwrap());
        assert_eq!(id("5"), Ok(5));
        assert_eq!(id("\"5\""), Ok(5));
        assert_eq!(id("1.0"), Ok(1));
        assert_eq!(id("1e3"), Ok(1000));
        assert_eq!(id("\"-7e1\""), Ok(-70));
        assert_eq!(id("-2147483648"), Ok(i32::MIN));
        assert!(
            id("2147483648")
                .unwrap_err()
                .contains("out of the int32 range")
        );
        assert!(id("1e20").unwrap_err().contains("out of the int32 range"));
        assert!(id("1.5").unwrap_err().contains("not an integer"));
        assert!(id("true").is_err());
        match &read_all(br#"{"requestId":"12","verbosity":2.0}"#)[..] {
            [Inbound::Request(request)] => {
                assert_eq!((request.request_id, request.verbosity), (12, 2))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_oversized_request_is_skipped_and_its_id_found_at_its_end() {
        let mut framer = Framer::new(1000);
        let mut items = Vec::new();
        let big = format!(
            "{{\"arguments\":[\"{}\"],\"requestId\":42}}\n{{\"requestId\":43}}\n",
            "a".repeat(50_000)
        );
        for chunk in big.as_bytes().chunks(777) {
            framer.push(chunk, &mut items);
        }
        assert!(framer.buffer.len() < 2000, "the skipped value was kept");
        match &items[..] {
            [
                Inbound::Malformed {
                    request_id: Some(42),
                    message,
                },
                Inbound::Request(next),
            ] => {
                assert!(message.contains("larger than 1000 bytes"), "{message}");
                assert_eq!(next.request_id, 43);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_and_broken_brackets_are_skipped_to_the_next_line() {
        let input = b"xyz {\"requestId\":3}\n]]]\n{\"requestId\":4,\"a\":[}\n{\"requestId\":5}\n";
        let items = read_all(input);
        let summary: Vec<_> = items
            .iter()
            .map(|item| match item {
                Inbound::Request(request) => format!("request {}", request.request_id),
                Inbound::Malformed { request_id, .. } => format!("malformed {request_id:?}"),
            })
            .collect();
        assert_eq!(
            summary,
            [
                "malformed Some(3)",
                "malformed None",
                "malformed Some(4)",
                "request 5"
            ]
        );
    }
}
