//! Bazel's JSON worker protocol: the wire types and the framing of the request stream.
//!
//! Bazel 5+ ends each request with a newline, Bazel 4.x writes them back to back, and a request
//! can be split across reads or be megabytes long, so requests are cut out of the byte stream
//! by a JSON parser, never by lines. Responses must use exactly the camelCase keys Bazel's
//! reader knows (`requestId`, `exitCode`, `output`): it silently skips any other spelling.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A request as Bazel's protobuf JSON printer writes it (default values omitted).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct WorkRequest {
    pub arguments: Vec<String>,
    #[serde(alias = "request_id")]
    pub request_id: i32,
    pub cancel: bool,
    pub verbosity: i32,
    #[serde(alias = "sandbox_dir")]
    pub sandbox_dir: Option<String>,
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

    /// Writes the response as one compact line and flushes, so responses never interleave.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        let mut line = serde_json::to_vec(self).map_err(io::Error::other)?;
        line.push(b'\n');
        out.write_all(&line)?;
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

/// Cuts JSON values out of a byte stream, whatever separates them.
pub struct RequestReader<R> {
    input: R,
    buffer: Vec<u8>,
    eof: bool,
}

/// Read size; requests are usually small, and a large one just takes several reads.
const CHUNK: usize = 64 * 1024;

impl<R: Read> RequestReader<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            buffer: Vec::new(),
            eof: false,
        }
    }

    /// The next request, or `None` at the end of the stream.
    pub fn next_request(&mut self) -> io::Result<Option<Inbound>> {
        loop {
            let start = self.buffer.iter().position(|b| !b.is_ascii_whitespace());
            match start {
                None => self.buffer.clear(),
                Some(start) => {
                    self.buffer.drain(..start);
                    if let Some(item) = self.try_parse() {
                        return Ok(Some(item));
                    }
                }
            }
            if self.eof {
                if self.buffer.is_empty() {
                    return Ok(None);
                }
                // A value cut off by the end of the stream.
                let text = String::from_utf8_lossy(&self.buffer).into_owned();
                self.buffer.clear();
                return Ok(Some(Inbound::Malformed {
                    request_id: recover_request_id(&text),
                    message: "the request stream ended inside a JSON value".to_owned(),
                }));
            }
            self.fill()?;
        }
    }

    /// Parses one value from the start of the buffer, if a complete one is there.
    fn try_parse(&mut self) -> Option<Inbound> {
        let mut values = serde_json::Deserializer::from_slice(&self.buffer).into_iter::<Value>();
        match values.next()? {
            Ok(value) => {
                let consumed = values.byte_offset();
                self.buffer.drain(..consumed);
                Some(interpret(value))
            }
            Err(error) if error.is_eof() => None,
            Err(error) => {
                // The stream cannot be resynchronised exactly; Bazel 5+ ends every request
                // with a newline, so skipping to the next one recovers there.
                let newline = self.buffer.iter().position(|&b| b == b'\n');
                if newline.is_none() && !self.eof {
                    return None; // wait for the rest of the bad line
                }
                let end = newline.map_or(self.buffer.len(), |newline| newline + 1);
                let text = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
                self.buffer.drain(..end);
                Some(Inbound::Malformed {
                    request_id: recover_request_id(&text),
                    message: format!("malformed JSON in work request: {error}"),
                })
            }
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        let len = self.buffer.len();
        self.buffer.resize(len + CHUNK, 0);
        let read = loop {
            match self.input.read(&mut self.buffer[len..]) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let read = read.inspect_err(|_| self.buffer.truncate(len))?;
        self.buffer.truncate(len + read);
        self.eof = read == 0;
        Ok(())
    }
}

/// Turns a parsed JSON value into a request, keeping the id of a request we cannot use.
fn interpret(value: Value) -> Inbound {
    let request_id = value
        .get("requestId")
        .or_else(|| value.get("request_id"))
        .and_then(Value::as_i64)
        .and_then(|id| i32::try_from(id).ok());
    if !value.is_object() {
        return Inbound::Malformed {
            request_id: None,
            message: format!("work request is not a JSON object: {value}"),
        };
    }
    match serde_json::from_value::<WorkRequest>(value) {
        Ok(request) => Inbound::Request(request),
        Err(error) => Inbound::Malformed {
            request_id,
            message: format!("invalid work request: {error}"),
        },
    }
}

/// Best-effort id recovery from text that is not valid JSON.
fn recover_request_id(text: &str) -> Option<i32> {
    let after = text.split("\"requestId\"").nth(1)?;
    let digits = after.trim_start().strip_prefix(':')?.trim_start();
    let end = digits
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
        .map_or(digits.len(), |(i, _)| i);
    digits[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds the input one byte per read, the worst split Bazel's pipe can produce.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some((&first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            buf[0] = first;
            self.0 = rest;
            Ok(1)
        }
    }

    fn read_all(input: &[u8]) -> Vec<Inbound> {
        let mut reader = RequestReader::new(Trickle(input));
        std::iter::from_fn(|| reader.next_request().unwrap()).collect()
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
}
