//! `application/x-www-form-urlencoded` request bodies: field values, streaming.
//!
//! `+` and `%XX` are decoded across chunk splits (an invalid escape is kept as written), the
//! decoded bytes go through the form's charset (UTF-8 unless told), and each value ends with a
//! boundary. Fields whose name says they hold a secret or a machine token (`password`,
//! `csrf_token`, `__VIEWSTATE`, ...) are skipped. Memory is bounded: a field name is kept up to
//! [`MAX_NAME`] bytes, decoded bytes are passed on every [`PIECE`] bytes.

use memchr::memchr3;

use crate::detect::decode::{CharsetDecoder, Sniff};
use crate::detect::{TextKind, TextSink};

/// Longest field name kept (longer names are kept cut; they are never secret-looking anyway).
pub const MAX_NAME: usize = 64;
/// Decoded value bytes are handed to the charset decoder in pieces of this size.
pub const PIECE: usize = 4096;

/// True for a field name whose value is a secret or a machine token rather than typed text.
pub(crate) fn is_secret_field(name: &str) -> bool {
    const CONTAINS: &[&str] = &[
        "pass",
        "pwd",
        "token",
        "csrf",
        "xsrf",
        "secret",
        "nonce",
        "viewstate",
        "eventvalidation",
        "captcha",
        "signature",
        "authenticity",
        "session",
        "cvv",
        "cardnumber",
        "card_number",
    ];
    const EXACT: &[&str] = &[
        "otp",
        "sig",
        "sid",
        "key",
        "state",
        "code",
        "pin",
        "_",
        "__requestverificationtoken",
    ];
    let lower = name.to_ascii_lowercase();
    CONTAINS.iter().any(|c| lower.contains(c)) || EXACT.contains(&lower.as_str())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    /// After `%`.
    Percent,
    /// After `%` and one hex digit.
    Half(u8),
}

/// Extracts typed text from an urlencoded form body.
#[derive(Debug)]
pub struct FormExtractor {
    kind: TextKind,
    in_value: bool,
    skip: bool,
    name: Vec<u8>,
    escape: Escape,
    bytes: Vec<u8>,
    charset: CharsetDecoder,
    emitted: bool,
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

impl FormExtractor {
    /// An extractor for a form in the given charset (UTF-8 if `None`), reporting `kind`.
    pub fn new(kind: TextKind, charset: Option<&str>) -> Self {
        FormExtractor {
            kind,
            in_value: false,
            skip: false,
            name: Vec::new(),
            escape: Escape::None,
            bytes: Vec::with_capacity(PIECE),
            charset: CharsetDecoder::new(charset, Sniff::None),
            emitted: false,
        }
    }

    /// One chunk of the body.
    pub fn feed(&mut self, chunk: &[u8], sink: &mut dyn TextSink) {
        let mut i = 0;
        while i < chunk.len() {
            let c = chunk[i];
            match self.escape {
                Escape::Percent => {
                    i += 1;
                    match hex(c) {
                        Some(h) => self.escape = Escape::Half(h),
                        None => {
                            self.escape = Escape::None;
                            self.byte(b'%', sink);
                            i -= 1;
                        }
                    }
                    continue;
                }
                Escape::Half(h) => {
                    self.escape = Escape::None;
                    match hex(c) {
                        Some(l) => {
                            self.byte(h << 4 | l, sink);
                            i += 1;
                        }
                        None => {
                            self.byte(b'%', sink);
                            self.byte(if h < 10 { b'0' + h } else { b'A' + h - 10 }, sink);
                        }
                    }
                    continue;
                }
                Escape::None => {}
            }
            if !self.in_value {
                match c {
                    b'=' => self.start_value(),
                    b'&' => self.end_field(sink),
                    b'+' => self.byte(b' ', sink),
                    b'%' => self.escape = Escape::Percent,
                    _ => self.byte(c, sink),
                }
                i += 1;
                continue;
            }
            // In a value: copy up to the next special byte at once.
            let rest = &chunk[i..];
            let (plain, special) = match memchr3(b'&', b'%', b'+', rest) {
                Some(p) => (&rest[..p], Some(rest[p])),
                None => (rest, None),
            };
            self.bytes_run(plain, sink);
            i += plain.len();
            if let Some(s) = special {
                i += 1;
                match s {
                    b'&' => self.end_field(sink),
                    b'+' => self.byte(b' ', sink),
                    _ => self.escape = Escape::Percent,
                }
            }
        }
    }

    /// The end of the body.
    pub fn finish(&mut self, sink: &mut dyn TextSink) {
        match self.escape {
            Escape::None => {}
            Escape::Percent => self.byte(b'%', sink),
            Escape::Half(h) => {
                self.byte(b'%', sink);
                self.byte(if h < 10 { b'0' + h } else { b'A' + h - 10 }, sink);
            }
        }
        self.escape = Escape::None;
        self.end_field(sink);
    }

    /// One decoded byte of a name or value.
    fn byte(&mut self, b: u8, sink: &mut dyn TextSink) {
        self.bytes_run(&[b], sink);
    }

    fn bytes_run(&mut self, run: &[u8], sink: &mut dyn TextSink) {
        if !self.in_value {
            let room = MAX_NAME.saturating_sub(self.name.len());
            self.name.extend_from_slice(&run[..room.min(run.len())]);
            return;
        }
        if self.skip {
            return;
        }
        for part in run.chunks(PIECE) {
            if self.bytes.len() + part.len() > PIECE {
                self.flush(sink);
            }
            self.bytes.extend_from_slice(part);
        }
    }

    fn flush(&mut self, sink: &mut dyn TextSink) {
        let kind = self.kind;
        let emitted = &mut self.emitted;
        self.charset.feed(&self.bytes, &mut |text| {
            sink.text(kind, text);
            *emitted = true;
        });
        self.bytes.clear();
    }

    fn start_value(&mut self) {
        self.in_value = true;
        self.skip = is_secret_field(&String::from_utf8_lossy(&self.name));
    }

    fn end_field(&mut self, sink: &mut dyn TextSink) {
        if self.in_value && !self.skip {
            self.flush(sink);
            let kind = self.kind;
            let emitted = &mut self.emitted;
            self.charset.finish(&mut |text| {
                sink.text(kind, text);
                *emitted = true;
            });
            if self.emitted {
                sink.boundary();
            }
        }
        self.emitted = false;
        self.in_value = false;
        self.skip = false;
        self.name.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::extract::testutil::{assert_split_invariant, Collect};

    fn form(body: &[u8], charset: Option<&str>) -> Collect {
        assert_split_invariant(body, |chunks| {
            let mut sink = Collect::default();
            let mut x = FormExtractor::new(TextKind::Typed, charset);
            for chunk in chunks {
                x.feed(chunk, &mut sink);
            }
            x.finish(&mut sink);
            sink
        })
    }

    #[test]
    fn values_are_decoded_and_separated() {
        let c = form(
            b"name=Jo+Bloggs&msg=I+want+to+%C5%BCy%C4%87+%F0%9F%98%80&empty=&flag&q=a%2Bb%26c%3D",
            None,
        );
        assert_eq!(c.parts(), ["Jo Bloggs", "I want to żyć 😀", "a+b&c="]);
        assert_eq!(c.out.get(..7), Some("[typed]"));
    }

    #[test]
    fn secret_fields_are_skipped() {
        let c = form(
            b"username=amy&password=hunter2&csrf_token=abc&__VIEWSTATE=xyz&pass%77ord=p&comment=hello",
            None,
        );
        assert_eq!(c.parts(), ["amy", "hello"]);
    }

    #[test]
    fn invalid_escapes_are_kept_literally() {
        let c = form(b"a=100%&b=%zz&c=%4&d=%e2%82&e=50%25", None);
        assert_eq!(c.parts(), ["100%", "%zz", "%4", "\u{fffd}", "50%"]);
    }

    #[test]
    fn the_form_charset_is_honoured() {
        let c = form(b"t=Za%BF%F3%B3%E6", Some("iso-8859-2"));
        assert_eq!(c.parts(), ["Zażółć"]);
    }

    #[test]
    fn long_values_stream_in_bounded_pieces() {
        let value = "x".repeat(3 * PIECE + 5);
        let body = format!("a={value}&b=y");
        let mut sink = Collect::default();
        let mut x = FormExtractor::new(TextKind::Typed, None);
        x.feed(body.as_bytes(), &mut sink);
        x.finish(&mut sink);
        assert_eq!(sink.parts(), [value.as_str(), "y"]);
        assert!(x.bytes.capacity() <= 2 * PIECE);
    }
}
