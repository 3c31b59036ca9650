//! Streaming extraction of JSON string values (not keys).
//!
//! A small lenient state machine over UTF-8 text split anywhere: it tracks objects and arrays
//! to tell keys from values, decodes escapes (`\n`, `\uXXXX`, surrogate pairs) even when split
//! across chunks, and skips values whose key names an identifier, token, URL or other
//! machine-readable field (`id`, `userId`, `csrf_token`, `avatar_url`, `__typename`, ...) and
//! values that are URLs. Bytes outside strings that are not structure are ignored, so JSON
//! Lines, server-sent events (`data: {...}`), JSONP and anti-XSSI prefixes work too.
//! Memory is bounded: the container stack is cut at [`MAX_DEPTH`] (deeper strings count as
//! values), text goes out in pieces of at most [`PIECE`] bytes, and only the first
//! [`MAX_STRING`] bytes of one string are inspected.

use memchr::memchr2;

use super::floor_boundary;
use crate::detect::{TextKind, TextSink};

/// Deepest nesting tracked.
pub const MAX_DEPTH: usize = 256;
/// Text of a string value is handed on in pieces of about this many bytes.
pub const PIECE: usize = 4096;
/// Only this many bytes of one string are inspected.
pub const MAX_STRING: usize = 256 * 1024;
const MAX_KEY: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Outside,
    Str,
    Escape,
    Unicode,
    /// After a high surrogate escape: expecting `\`.
    LowBackslash,
    /// After a high surrogate escape and `\`: expecting `u`.
    LowU,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Key,
    Value,
    Skip,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    object: bool,
    /// An array whose values inherit a noisy key (`"ids": ["a", "b"]`).
    skip: bool,
}

/// Extracts string values from a JSON stream.
#[derive(Debug)]
pub struct JsonExtractor {
    kind: TextKind,
    state: State,
    stack: Vec<Frame>,
    overflow: usize,
    expect_key: bool,
    target: Target,
    key: [u8; MAX_KEY],
    key_len: usize,
    key_long: bool,
    buf: String,
    string_len: usize,
    flushed: bool,
    hex: u32,
    hex_digits: u8,
    high: Option<u32>,
}

impl JsonExtractor {
    /// An extractor reporting values as `kind`.
    pub fn new(kind: TextKind) -> Self {
        JsonExtractor {
            kind,
            state: State::Outside,
            stack: Vec::new(),
            overflow: 0,
            expect_key: false,
            target: Target::Value,
            key: [0; MAX_KEY],
            key_len: 0,
            key_long: false,
            buf: String::new(),
            string_len: 0,
            flushed: false,
            hex: 0,
            hex_digits: 0,
            high: None,
        }
    }

    /// One chunk of the document.
    pub fn feed(&mut self, chunk: &str, sink: &mut dyn TextSink) {
        let b = chunk.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            match self.state {
                State::Outside => {
                    self.structure(c);
                    i += 1;
                }
                State::Str => match memchr2(b'"', b'\\', &b[i..]) {
                    None => {
                        self.push(chunk.get(i..).unwrap_or_default(), sink);
                        i = b.len();
                    }
                    Some(p) => {
                        self.push(chunk.get(i..i + p).unwrap_or_default(), sink);
                        if b[i + p] == b'"' {
                            self.end_string(sink);
                        } else {
                            self.state = State::Escape;
                        }
                        i += p + 1;
                    }
                },
                State::Escape => {
                    self.state = State::Str;
                    let decoded = match c {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            self.state = State::Unicode;
                            self.hex = 0;
                            self.hex_digits = 0;
                            i += 1;
                            continue;
                        }
                        // An invalid escape: the character is read as itself.
                        _ => continue,
                    };
                    self.push_char(decoded, sink);
                    i += 1;
                }
                State::Unicode => match char::from(c).to_digit(16) {
                    Some(d) => {
                        self.hex = self.hex * 16 + d;
                        self.hex_digits += 1;
                        i += 1;
                        if self.hex_digits == 4 {
                            self.unit(sink);
                        }
                    }
                    None => {
                        self.lone_surrogate(sink);
                        self.push_char('\u{fffd}', sink);
                        self.state = State::Str;
                    }
                },
                State::LowBackslash | State::LowU => {
                    let want = if self.state == State::LowBackslash {
                        b'\\'
                    } else {
                        b'u'
                    };
                    if c == want {
                        i += 1;
                        if self.state == State::LowBackslash {
                            self.state = State::LowU;
                        } else {
                            self.state = State::Unicode;
                            self.hex = 0;
                            self.hex_digits = 0;
                        }
                    } else {
                        self.lone_surrogate(sink);
                        // After `\` the byte is an escape; otherwise ordinary string content.
                        self.state = if self.state == State::LowU {
                            State::Escape
                        } else {
                            State::Str
                        };
                    }
                }
            }
        }
    }

    /// The end of the document (or message): a cut-off string value is still reported.
    pub fn finish(&mut self, sink: &mut dyn TextSink) {
        if self.state != State::Outside {
            self.lone_surrogate(sink);
            self.end_string(sink);
        }
        self.reset();
    }

    /// Forgets all state, for the next document.
    pub fn reset(&mut self) {
        self.state = State::Outside;
        self.stack.clear();
        self.overflow = 0;
        self.expect_key = false;
        self.key_len = 0;
        self.key_long = false;
        self.buf.clear();
        self.high = None;
    }

    fn structure(&mut self, c: u8) {
        match c {
            b'"' => self.start_string(),
            b'{' | b'[' => {
                let frame = Frame {
                    object: c == b'{',
                    skip: c == b'[' && self.value_is_noise(),
                };
                if self.stack.len() < MAX_DEPTH {
                    self.stack.push(frame);
                } else {
                    self.overflow += 1;
                }
                self.expect_key = frame.object;
            }
            b'}' | b']' => {
                if self.overflow > 0 {
                    self.overflow -= 1;
                } else {
                    self.stack.pop();
                }
                self.expect_key = false;
            }
            b',' => self.expect_key = self.in_object(),
            b':' => self.expect_key = false,
            _ => {}
        }
    }

    fn in_object(&self) -> bool {
        self.overflow == 0 && self.stack.last().is_some_and(|f| f.object)
    }

    fn value_is_noise(&self) -> bool {
        if self.overflow > 0 {
            return false;
        }
        match self.stack.last() {
            Some(Frame { object: true, .. }) => {
                !self.key_long && key_is_noise(&self.key[..self.key_len])
            }
            Some(Frame {
                object: false,
                skip,
            }) => *skip,
            None => false,
        }
    }

    fn start_string(&mut self) {
        self.state = State::Str;
        if self.in_object() && self.expect_key {
            self.target = Target::Key;
            self.key_len = 0;
            self.key_long = false;
        } else {
            self.target = if self.value_is_noise() {
                Target::Skip
            } else {
                Target::Value
            };
            self.string_len = 0;
            self.flushed = false;
            self.buf.clear();
        }
    }

    fn push(&mut self, s: &str, sink: &mut dyn TextSink) {
        if s.is_empty() {
            return;
        }
        match self.target {
            Target::Skip => {}
            Target::Key => {
                for &b in s.as_bytes() {
                    if self.key_len < MAX_KEY {
                        self.key[self.key_len] = b;
                        self.key_len += 1;
                    } else {
                        self.key_long = true;
                    }
                }
            }
            Target::Value => {
                let mut rest = s;
                while !rest.is_empty() && self.target == Target::Value {
                    let allowed = MAX_STRING.saturating_sub(self.string_len);
                    let room = PIECE.saturating_sub(self.buf.len()).min(allowed);
                    let cut = floor_boundary(rest, room);
                    if cut == 0 {
                        // No room: pass on what is held, or stop at the string cap.
                        if self.buf.is_empty() {
                            self.target = Target::Skip;
                        } else {
                            self.flush(sink);
                            if allowed < 4 {
                                self.target = Target::Skip;
                            }
                        }
                        continue;
                    }
                    self.buf.push_str(rest.get(..cut).unwrap_or_default());
                    self.string_len += cut;
                    rest = rest.get(cut..).unwrap_or_default();
                    if self.buf.len() >= PIECE {
                        self.flush(sink);
                    }
                }
            }
        }
    }

    fn push_char(&mut self, c: char, sink: &mut dyn TextSink) {
        let mut utf8 = [0u8; 4];
        self.push(c.encode_utf8(&mut utf8), sink);
    }

    /// A complete `\uXXXX` unit.
    fn unit(&mut self, sink: &mut dyn TextSink) {
        self.state = State::Str;
        let unit = self.hex;
        if let Some(high) = self.high.take() {
            if (0xdc00..=0xdfff).contains(&unit) {
                let c = 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00);
                self.push_char(char::from_u32(c).unwrap_or('\u{fffd}'), sink);
                return;
            }
            self.push_char('\u{fffd}', sink);
        }
        match unit {
            0xd800..=0xdbff => {
                self.high = Some(unit);
                self.state = State::LowBackslash;
            }
            _ => self.push_char(char::from_u32(unit).unwrap_or('\u{fffd}'), sink),
        }
    }

    fn lone_surrogate(&mut self, sink: &mut dyn TextSink) {
        if self.high.take().is_some() {
            self.push_char('\u{fffd}', sink);
        }
    }

    fn flush(&mut self, sink: &mut dyn TextSink) {
        if self.buf.is_empty() {
            return;
        }
        if !self.flushed && looks_like_url(&self.buf) {
            self.target = Target::Skip;
        } else {
            sink.text(self.kind, &self.buf);
            self.flushed = true;
        }
        self.buf.clear();
    }

    fn end_string(&mut self, sink: &mut dyn TextSink) {
        self.state = State::Outside;
        if self.target == Target::Value {
            self.flush(sink);
        }
        if self.flushed {
            sink.boundary();
            self.flushed = false;
        }
        self.target = Target::Value;
    }
}

/// True for a value that is a link or inline data rather than words.
fn looks_like_url(s: &str) -> bool {
    let head = s.as_bytes().get(..8).unwrap_or(s.as_bytes());
    ["http://", "https://", "data:", "//", "blob:"]
        .iter()
        .any(|p| head.len() >= p.len() && head[..p.len()].eq_ignore_ascii_case(p.as_bytes()))
}

/// True for keys whose values are identifiers, tokens, links or presentation, not words.
fn key_is_noise(key: &[u8]) -> bool {
    const EXACT: &[&[u8]] = &[
        b"id",
        b"ids",
        b"uuid",
        b"guid",
        b"key",
        b"hash",
        b"etag",
        b"cursor",
        b"type",
        b"__typename",
        b"kind",
        b"mime",
        b"mimetype",
        b"format",
        b"lang",
        b"locale",
        b"color",
        b"colour",
        b"class",
        b"classname",
        b"style",
        b"icon",
        b"avatar",
        b"thumbnail",
        b"image",
        b"img",
        b"sig",
        b"nonce",
        b"checksum",
        b"timestamp",
        b"date",
        b"time",
        b"status",
        b"version",
        b"encoding",
        b"path",
        b"slug",
        b"sha",
        b"md5",
        b"rel",
        b"target",
        b"method",
        b"action",
        b"ref",
        b"width",
        b"height",
    ];
    const SUFFIX: &[&[u8]] = &[
        b"_id",
        b"-id",
        b"_ids",
        b"token",
        b"url",
        b"uri",
        b"href",
        b"src",
        b"_key",
        b"hash",
        b"signature",
        b"_at",
        b"secret",
        b"password",
        b"_type",
    ];
    if key.is_empty() || key.len() > MAX_KEY {
        return false;
    }
    let mut lower = [0u8; MAX_KEY];
    lower[..key.len()].copy_from_slice(key);
    lower[..key.len()].make_ascii_lowercase();
    let lower = &lower[..key.len()];
    if EXACT.contains(&lower) || SUFFIX.iter().any(|s| lower.ends_with(s)) {
        return true;
    }
    // camelCase identifiers: `userId`, `videoIds`, `channelID`, `apiKey`.
    ["Id", "Ids", "ID", "Key"].iter().any(|s| {
        key.len() > s.len()
            && key.ends_with(s.as_bytes())
            && key[key.len() - s.len() - 1].is_ascii_lowercase()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::extract::testutil::{assert_split_invariant_str, Collect};

    fn json(doc: &str) -> Collect {
        assert_split_invariant_str(doc, |chunks| {
            let mut sink = Collect::default();
            let mut x = JsonExtractor::new(TextKind::Typed);
            for chunk in chunks {
                x.feed(chunk, &mut sink);
            }
            x.finish(&mut sink);
            sink
        })
    }

    #[test]
    fn values_not_keys_with_escapes_split_anywhere() {
        let c = json(
            r#"{"message": "I feel \"low\"\ntoday", "n": 3, "ok": true, "tags": ["sad", "tired"], "nested": {"text": "caf\u00e9 \ud83d\ude00 \/ \\"}}"#,
        );
        assert_eq!(
            c.parts(),
            ["I feel \"low\"\ntoday", "sad", "tired", "café 😀 / \\"]
        );
        assert_eq!(c.out.get(..7), Some("[typed]"));
    }

    #[test]
    fn noisy_keys_and_urls_are_skipped() {
        let c = json(
            r#"[{"id": "abc123", "userId": "u9", "csrf_token": "zz", "avatar_url": "x", "__typename": "Post",
            "ids": ["a", "b"], "body": "hello", "link": "https://example.com/self-harm", "channelID": "c",
            "apiKey": "k", "monkey": "banana", "items": [{"id": "q", "title": "kept"}]}]"#,
        );
        assert_eq!(c.parts(), ["hello", "banana", "kept"]);
    }

    #[test]
    fn broken_surrogates_and_escapes_become_replacement_characters() {
        let c = json(r#"["\ud83d x", "\ud83d\u0041", "\udc00", "\u12G4", "\q", "\ud83d"#);
        assert_eq!(
            c.parts(),
            [
                "\u{fffd} x",
                "\u{fffd}A",
                "\u{fffd}",
                "\u{fffd}G4",
                "q",
                "\u{fffd}"
            ]
        );
    }

    #[test]
    fn lenient_framing_sse_and_json_lines() {
        let c = json("data: {\"delta\": \"hel\"}\n\ndata: {\"delta\": \"lo\"}\n\n{\"a\":\"x\"}\n{\"a\":\"y\"}");
        assert_eq!(c.parts(), ["hel", "lo", "x", "y"]);
    }

    #[test]
    fn long_strings_are_cut_and_deep_nesting_is_bounded() {
        let long = "word ".repeat(MAX_STRING / 4);
        let doc = format!("[\"{long}\", \"after\"]");
        let mut sink = Collect::default();
        let mut x = JsonExtractor::new(TextKind::Page);
        x.feed(&doc, &mut sink);
        x.finish(&mut sink);
        let parts = sink.parts();
        assert_eq!(parts.len(), 2);
        assert!(parts[0].len() <= MAX_STRING && parts[0].len() > MAX_STRING - PIECE);
        assert_eq!(parts[1], "after");
        let deep = format!(
            "{}\"deep\"{}{{\"text\":\"out\"}}",
            "[".repeat(1000),
            "]".repeat(1000)
        );
        let mut sink = Collect::default();
        x.feed(&deep, &mut sink);
        x.finish(&mut sink);
        assert_eq!(sink.parts(), ["deep", "out"]);
        assert!(x.stack.capacity() <= MAX_DEPTH * 2);
    }

    #[test]
    fn key_noise_rules() {
        for k in [
            "id",
            "user_id",
            "videoId",
            "nextPageToken",
            "thumbnailUrl",
            "created_at",
            "TYPE",
        ] {
            assert!(key_is_noise(k.as_bytes()), "{k}");
        }
        for k in [
            "text",
            "message",
            "title",
            "description",
            "query",
            "valid",
            "android",
            "monkey",
        ] {
            assert!(!key_is_noise(k.as_bytes()), "{k}");
        }
    }
}
