//! `multipart/*` bodies (`form-data` above all): the text parts, streaming.
//!
//! Parts are found by their delimiter (`CRLF--boundary`) even when a chunk ends inside it.
//! A part is read if it has no file name and no content type (a form field), or a `text/*`
//! or JSON content type (JSON parts, such as chat apps' `payload_json`, give their string
//! values); file uploads and other binary parts are skipped, and so are fields whose name says
//! they hold a secret. Part headers are kept up to [`MAX_HEADERS`] bytes (a part with longer
//! headers is skipped).

use memchr::memchr;

use super::form::is_secret_field;
use super::json::JsonExtractor;
use crate::detect::decode::{CharsetDecoder, Sniff};
use crate::detect::{TextKind, TextSink};

/// The most bytes of part headers kept.
pub const MAX_HEADERS: usize = 8 * 1024;

/// What is done with a part's content.
#[derive(Debug)]
enum Reader {
    Skip,
    Text,
    Json(Box<JsonExtractor>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter, or inside a part's content.
    Content,
    /// After a delimiter: `--` ends the body, anything else runs to the end of the line.
    AfterDelimiter { dashes: u8 },
    /// Reading part headers.
    Headers,
    /// After the closing delimiter.
    Epilogue,
}

/// Extracts text parts from a multipart body.
#[derive(Debug)]
pub struct MultipartExtractor {
    kind: TextKind,
    delimiter: Vec<u8>,
    matched: usize,
    state: State,
    /// Inside a part's content (false in the preamble).
    in_part: bool,
    headers: Vec<u8>,
    headers_overflow: bool,
    /// Last bytes of headers, to find the blank line even past the cap.
    tail: [u8; 4],
    reader: Reader,
    charset: CharsetDecoder,
    emitted: bool,
}

/// The `boundary` parameter of a multipart content type, validated (RFC 2046: 1 to 70
/// characters, no CR or LF).
pub fn boundary_of(content_type: &str) -> Option<String> {
    let boundary = super::param(content_type, "boundary")?;
    let ok =
        (1..=70).contains(&boundary.len()) && !boundary.bytes().any(|b| b == b'\r' || b == b'\n');
    ok.then_some(boundary)
}

impl MultipartExtractor {
    /// An extractor for parts delimited by `boundary` (see [`boundary_of`]).
    pub fn new(kind: TextKind, boundary: &str) -> Self {
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        MultipartExtractor {
            kind,
            delimiter,
            // The first delimiter may open the body without a CRLF before it.
            matched: 2,
            state: State::Content,
            in_part: false,
            headers: Vec::new(),
            headers_overflow: false,
            tail: [0; 4],
            reader: Reader::Skip,
            charset: CharsetDecoder::utf8(),
            emitted: false,
        }
    }

    /// One chunk of the body.
    pub fn feed(&mut self, chunk: &[u8], sink: &mut dyn TextSink) {
        let mut i = 0;
        while i < chunk.len() {
            let c = chunk[i];
            match self.state {
                State::Epilogue => return,
                State::AfterDelimiter { dashes } => {
                    i += 1;
                    if c == b'-' && dashes < 2 {
                        self.state = State::AfterDelimiter { dashes: dashes + 1 };
                        if dashes == 1 {
                            self.state = State::Epilogue;
                        }
                    } else if c == b'\n' {
                        self.start_headers();
                    }
                }
                State::Headers => {
                    i += 1;
                    self.tail = [self.tail[1], self.tail[2], self.tail[3], c];
                    if self.headers.len() < MAX_HEADERS {
                        self.headers.push(c);
                    } else {
                        self.headers_overflow = true;
                    }
                    if self.tail == *b"\r\n\r\n"
                        || (self.headers.len() == 2 && self.headers == b"\r\n")
                    {
                        self.start_content();
                    }
                }
                State::Content => {
                    if self.matched == 0 {
                        let rest = &chunk[i..];
                        let run = memchr(b'\r', rest).unwrap_or(rest.len());
                        self.content(&rest[..run], sink);
                        i += run;
                        if i < chunk.len() {
                            self.matched = 1;
                            i += 1;
                        }
                    } else if self.delimiter.get(self.matched) == Some(&c) {
                        self.matched += 1;
                        i += 1;
                        if self.matched == self.delimiter.len() {
                            self.matched = 0;
                            self.end_part(sink);
                            self.state = State::AfterDelimiter { dashes: 0 };
                        }
                    } else {
                        // Not a delimiter after all: what matched was content. Only the first
                        // delimiter byte is CR, so matching restarts at this byte.
                        let held = std::mem::take(&mut self.delimiter);
                        self.content(&held[..self.matched], sink);
                        self.delimiter = held;
                        self.matched = 0;
                    }
                }
            }
        }
    }

    /// The end of the body: a part cut short still has its text reported.
    pub fn finish(&mut self, sink: &mut dyn TextSink) {
        if self.state == State::Content && self.matched > 0 {
            let held = std::mem::take(&mut self.delimiter);
            self.content(&held[..self.matched], sink);
            self.delimiter = held;
            self.matched = 0;
        }
        self.end_part(sink);
    }

    fn start_headers(&mut self) {
        self.state = State::Headers;
        self.headers.clear();
        self.headers_overflow = false;
        self.tail = [0; 4];
    }

    fn start_content(&mut self) {
        self.state = State::Content;
        self.in_part = true;
        self.emitted = false;
        self.reader = Reader::Skip;
        let mut charset = None;
        if !self.headers_overflow {
            let headers = String::from_utf8_lossy(&self.headers);
            let (reader, label) = choose(&headers, self.kind);
            self.reader = reader;
            charset = label;
        }
        self.charset = CharsetDecoder::new(charset.as_deref(), Sniff::None);
        self.headers = Vec::new();
    }

    fn content(&mut self, bytes: &[u8], sink: &mut dyn TextSink) {
        if !self.in_part || bytes.is_empty() {
            return;
        }
        let kind = self.kind;
        let emitted = &mut self.emitted;
        match &mut self.reader {
            Reader::Skip => {}
            Reader::Text => self.charset.feed(bytes, &mut |text| {
                sink.text(kind, text);
                *emitted = true;
            }),
            Reader::Json(json) => self.charset.feed(bytes, &mut |text| json.feed(text, sink)),
        }
    }

    fn end_part(&mut self, sink: &mut dyn TextSink) {
        if !self.in_part {
            return;
        }
        self.in_part = false;
        let kind = self.kind;
        let emitted = &mut self.emitted;
        match &mut self.reader {
            Reader::Skip => {}
            Reader::Text => {
                self.charset.finish(&mut |text| {
                    sink.text(kind, text);
                    *emitted = true;
                });
                if *emitted {
                    sink.boundary();
                }
            }
            Reader::Json(json) => {
                self.charset.finish(&mut |text| json.feed(text, sink));
                json.finish(sink);
            }
        }
        self.reader = Reader::Skip;
    }
}

/// Decides from a part's headers how to read it, and its charset.
fn choose(headers: &str, kind: TextKind) -> (Reader, Option<String>) {
    let mut disposition = None;
    let mut content_type = None;
    for line in headers.split("\r\n") {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-disposition") {
            disposition = Some(value.trim());
        } else if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim());
        }
    }
    let field = disposition
        .and_then(|d| super::param(d, "name"))
        .unwrap_or_default();
    let has_file = disposition.is_some_and(|d| {
        super::param(d, "filename")
            .or_else(|| super::param(d, "filename*"))
            .is_some()
    });
    if is_secret_field(&field) {
        return (Reader::Skip, None);
    }
    let charset = content_type.and_then(|t| super::param(t, "charset"));
    let reader = match content_type.map(super::essence) {
        None if !has_file => Reader::Text,
        None => Reader::Skip,
        Some(t) if super::is_json(&t) => Reader::Json(Box::new(JsonExtractor::new(kind))),
        Some(t) if t.starts_with("text/") && !super::is_code(&t) => Reader::Text,
        Some(_) => Reader::Skip,
    };
    (reader, charset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::extract::testutil::{assert_split_invariant, Collect};

    fn multipart(body: &[u8], boundary: &str) -> Collect {
        assert_split_invariant(body, |chunks| {
            let mut sink = Collect::default();
            let mut x = MultipartExtractor::new(TextKind::Typed, boundary);
            for chunk in chunks {
                x.feed(chunk, &mut sink);
            }
            x.finish(&mut sink);
            sink
        })
    }

    #[test]
    fn text_parts_are_read_and_files_skipped() {
        let body = b"preamble ignored\r\n--XyZ\r\n\
            Content-Disposition: form-data; name=\"message\"\r\n\r\n\
            I feel\r\n--not the boundary\r\nalone\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nhunter2\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xe0binary\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"notes\"; filename=\"n.txt\"\r\nContent-Type: text/plain; charset=iso-8859-2\r\n\r\nZa\xbf\xf3\xb3\xe6\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json\r\n\r\n{\"content\":\"hi there\",\"nonce\":\"123\"}\r\n\
            --XyZ--\r\nepilogue ignored";
        let c = multipart(body, "XyZ");
        assert_eq!(
            c.parts(),
            [
                "I feel\r\n--not the boundary\r\nalone",
                "Zażółć",
                "hi there"
            ]
        );
        assert_eq!(c.out.get(..7), Some("[typed]"));
    }

    #[test]
    fn body_starting_with_the_delimiter_and_cut_short() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\nfirst\r\n--b\r\n\r\nno headers\r\n--b\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\ncut sho";
        let c = multipart(body, "b");
        assert_eq!(c.parts(), ["first", "no headers", "cut sho"]);
    }

    #[test]
    fn boundary_parameter_is_validated() {
        assert_eq!(
            boundary_of("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxk").as_deref(),
            Some("----WebKitFormBoundary7MA4YWxk")
        );
        assert_eq!(
            boundary_of("multipart/form-data; boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(boundary_of("multipart/form-data"), None);
        assert_eq!(
            boundary_of(&format!("multipart/form-data; boundary={}", "x".repeat(71))),
            None
        );
    }

    #[test]
    fn oversized_headers_skip_the_part() {
        let body = format!(
            "--b\r\nX-Pad: {}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nskipped\r\n--b\r\n\r\nread\r\n--b--",
            "p".repeat(MAX_HEADERS)
        );
        let mut sink = Collect::default();
        let mut x = MultipartExtractor::new(TextKind::Typed, "b");
        x.feed(body.as_bytes(), &mut sink);
        x.finish(&mut sink);
        assert_eq!(sink.parts(), ["read"]);
    }
}
