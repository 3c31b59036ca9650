//! Streaming charset decoding to UTF-8 (encoding_rs), WHATWG style: a byte order mark wins,
//! then the `Content-Type` charset, then (HTML and XML only) a `<meta charset>` or XML
//! declaration in the first 1024 bytes, else UTF-8. Malformed bytes become U+FFFD.
//!
//! Output goes out in pieces of at most [`PIECE`] bytes of UTF-8; every piece ends on a
//! character boundary, whatever the input split (a sequence split across two chunks is held by
//! encoding_rs until its end arrives).

use encoding_rs::{
    CoderResult, Decoder, Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252, X_USER_DEFINED,
};

/// The largest piece of text handed out at once, in bytes.
pub const PIECE: usize = 8 * 1024;

/// How many bytes an HTML or XML body is held for the charset prescan.
pub const PRESCAN_BYTES: usize = 1024;

/// Whether to look inside the body for a charset when the headers give none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniff {
    /// No sniffing: BOM, then UTF-8 (JSON, plain text, form fields).
    None,
    /// Prescan for `<meta charset=...>` or `<meta http-equiv content="...; charset=...">`.
    Html,
    /// Prescan for the XML declaration's `encoding="..."`.
    Xml,
}

enum State {
    /// Holding the first bytes until the prescan can decide.
    Prescan { held: Vec<u8>, sniff: Sniff },
    /// Decoding.
    Decoding,
}

/// Decodes a byte stream in some charset to UTF-8 text, streaming.
pub struct CharsetDecoder {
    encoding: &'static Encoding,
    decoder: Decoder,
    state: State,
    buf: String,
}

impl std::fmt::Debug for CharsetDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CharsetDecoder")
            .field("encoding", &self.encoding.name())
            .finish_non_exhaustive()
    }
}

impl CharsetDecoder {
    /// A decoder for a charset label (`Content-Type`'s `charset` parameter), sniffing the body
    /// as `sniff` says when the label is missing or unknown.
    pub fn new(label: Option<&str>, sniff: Sniff) -> Self {
        let declared =
            label.and_then(|l| Encoding::for_label(l.trim().trim_matches('"').as_bytes()));
        let (encoding, state) = match (declared, sniff) {
            (Some(enc), _) => (enc, State::Decoding),
            (None, Sniff::None) => (UTF_8, State::Decoding),
            (None, sniff) => (
                UTF_8,
                State::Prescan {
                    held: Vec::new(),
                    sniff,
                },
            ),
        };
        CharsetDecoder {
            encoding,
            decoder: encoding.new_decoder(),
            state,
            buf: String::with_capacity(PIECE),
        }
    }

    /// A UTF-8 decoder (BOM still honoured), for form fields and WebSocket text.
    pub fn utf8() -> Self {
        CharsetDecoder::new(None, Sniff::None)
    }

    /// The encoding in use (UTF-8 until a prescan decides otherwise).
    pub fn encoding(&self) -> &'static Encoding {
        self.encoding
    }

    /// Decodes one chunk, handing text to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut dyn FnMut(&str)) {
        if let State::Prescan { held, sniff } = &mut self.state {
            let room = PRESCAN_BYTES - held.len();
            let take = room.min(bytes.len());
            held.extend_from_slice(&bytes[..take]);
            if held.len() < PRESCAN_BYTES {
                return;
            }
            let held = std::mem::take(held);
            let sniff = *sniff;
            self.end_prescan(&held, sniff, out);
            self.decode(&bytes[take..], false, out);
            return;
        }
        self.decode(bytes, false, out);
    }

    /// Ends the stream: flushes a trailing incomplete sequence (as U+FFFD) and makes the
    /// decoder ready for a new stream in the same encoding (the next form field or message).
    pub fn finish(&mut self, out: &mut dyn FnMut(&str)) {
        if let State::Prescan { held, sniff } = &mut self.state {
            let held = std::mem::take(held);
            let sniff = *sniff;
            self.end_prescan(&held, sniff, out);
        }
        self.decode(&[], true, out);
        self.decoder = self.encoding.new_decoder();
    }

    fn end_prescan(&mut self, held: &[u8], sniff: Sniff, out: &mut dyn FnMut(&str)) {
        if Encoding::for_bom(held).is_none() {
            if let Some(enc) = prescan(held, sniff) {
                self.encoding = enc;
                self.decoder = enc.new_decoder();
            }
        }
        self.state = State::Decoding;
        self.decode(held, false, out);
    }

    fn decode(&mut self, mut src: &[u8], last: bool, out: &mut dyn FnMut(&str)) {
        loop {
            self.buf.clear();
            let (result, read, _) = self.decoder.decode_to_string(src, &mut self.buf, last);
            src = src.get(read..).unwrap_or_default();
            if !self.buf.is_empty() {
                out(&self.buf);
            }
            match result {
                CoderResult::InputEmpty => return,
                CoderResult::OutputFull if read == 0 && self.buf.is_empty() => return,
                CoderResult::OutputFull => {}
            }
        }
    }
}

/// Finds a charset declared in the first bytes of an HTML or XML document.
fn prescan(head: &[u8], sniff: Sniff) -> Option<&'static Encoding> {
    let label = match sniff {
        Sniff::None => None,
        Sniff::Html => html_meta_charset(head),
        Sniff::Xml => xml_declared_encoding(head),
    }?;
    let enc = Encoding::for_label(label)?;
    // WHATWG: a meta tag cannot switch to UTF-16 (the bytes it was read from are ASCII), and
    // x-user-defined means windows-1252.
    Some(if enc == UTF_16LE || enc == UTF_16BE {
        UTF_8
    } else if enc == X_USER_DEFINED {
        WINDOWS_1252
    } else {
        enc
    })
}

/// ASCII case-insensitive search.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|i| i + from)
}

/// The value after `charset` (or `encoding`) `=`, optional spaces and quotes.
fn value_after(hay: &[u8], at: usize) -> Option<&[u8]> {
    let rest = hay.get(at..)?;
    let rest = rest
        .trim_ascii_start()
        .strip_prefix(b"=")?
        .trim_ascii_start();
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let end = rest
        .iter()
        .position(|&b| {
            matches!(b, b'"' | b'\'' | b';' | b'>' | b'/' | b'?') || b.is_ascii_whitespace()
        })
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// `<meta charset=X>` or `<meta ... content="text/html; charset=X">`, simplified from the
/// WHATWG prescan: the first `charset` inside a `<meta` tag.
fn html_meta_charset(head: &[u8]) -> Option<&[u8]> {
    let mut from = 0;
    while let Some(meta) = find(head, b"<meta", from) {
        let end = head[meta..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(head.len(), |i| meta + i);
        let tag = &head[meta..end];
        let mut at = 0;
        while let Some(c) = find(tag, b"charset", at) {
            if let Some(label) = value_after(tag, c + b"charset".len()) {
                return Some(label);
            }
            at = c + 1;
        }
        from = meta + 1;
    }
    None
}

/// `<?xml version="1.0" encoding="X"?>` at the very start.
fn xml_declared_encoding(head: &[u8]) -> Option<&[u8]> {
    let decl = head.strip_prefix(b"<?xml")?;
    let end = decl.windows(2).position(|w| w == b"?>")?;
    let decl = &decl[..end];
    let at = find(decl, b"encoding", 0)?;
    value_after(decl, at + b"encoding".len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `bytes` split into chunks of `size`.
    fn decode(label: Option<&str>, sniff: Sniff, bytes: &[u8], size: usize) -> String {
        let mut dec = CharsetDecoder::new(label, sniff);
        let mut text = String::new();
        for chunk in bytes.chunks(size.max(1)) {
            dec.feed(chunk, &mut |s| {
                assert!(s.len() <= PIECE);
                text.push_str(s)
            });
        }
        dec.finish(&mut |s| text.push_str(s));
        text
    }

    fn at_all_sizes(label: Option<&str>, sniff: Sniff, bytes: &[u8], expected: &str) {
        for size in 1..=bytes.len().min(40) {
            assert_eq!(
                decode(label, sniff, bytes, size),
                expected,
                "chunk size {size}"
            );
        }
        assert_eq!(decode(label, sniff, bytes, bytes.len()), expected);
    }

    #[test]
    fn windows_1252_from_the_label() {
        // "naïve café – “quoted”" in windows-1252.
        let bytes = b"na\xefve caf\xe9 \x96 \x93quoted\x94";
        at_all_sizes(
            Some("windows-1252"),
            Sniff::None,
            bytes,
            "naïve café – “quoted”",
        );
        // ISO-8859-1 means windows-1252 on the web.
        at_all_sizes(
            Some("ISO-8859-1"),
            Sniff::None,
            bytes,
            "naïve café – “quoted”",
        );
    }

    #[test]
    fn utf16le_with_bom_wins_over_the_label() {
        let mut bytes = vec![0xff, 0xfe];
        for unit in "zażółć gęślą".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        at_all_sizes(None, Sniff::None, &bytes, "zażółć gęślą");
        at_all_sizes(Some("windows-1252"), Sniff::Html, &bytes, "zażółć gęślą");
    }

    #[test]
    fn iso_8859_2_polish_and_shift_jis() {
        // "Zażółć gęślą jaźń" in ISO-8859-2.
        let bytes = b"Za\xbf\xf3\xb3\xe6 g\xea\xb6l\xb1 ja\xbc\xf1";
        at_all_sizes(Some("iso-8859-2"), Sniff::None, bytes, "Zażółć gęślą jaźń");
        // "日本語" in Shift_JIS.
        at_all_sizes(
            Some("Shift_JIS"),
            Sniff::None,
            b"\x93\xfa\x96{\x8c\xea",
            "日本語",
        );
    }

    #[test]
    fn utf8_split_mid_sequence_and_invalid_bytes() {
        let text = "żółw 🐢 ok";
        at_all_sizes(None, Sniff::None, text.as_bytes(), text);
        at_all_sizes(None, Sniff::None, b"a\xffb\xe2\x82", "a\u{fffd}b\u{fffd}");
        // An unknown label falls back to UTF-8.
        at_all_sizes(Some("no-such-charset"), Sniff::None, text.as_bytes(), text);
    }

    #[test]
    fn html_meta_charset_is_sniffed_in_the_first_kilobyte() {
        let mut doc = b"<!doctype html><html><head><META http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1250\">".to_vec();
        doc.extend_from_slice(b"<title>Wi\xeacej</title>");
        doc.extend(std::iter::repeat_n(b' ', 2000));
        doc.extend_from_slice(b"\x9c");
        let out = decode(None, Sniff::Html, &doc, 7);
        assert!(out.contains("<title>Więcej</title>"), "{out}");
        assert!(out.ends_with('ś'), "{out}");
        at_all_sizes(
            None,
            Sniff::Html,
            b"<meta charset='iso-8859-2'>\xb1",
            "<meta charset='iso-8859-2'>ą",
        );
        // A declared label wins over the meta tag; a meta tag saying UTF-16 means UTF-8.
        at_all_sizes(
            Some("utf-8"),
            Sniff::Html,
            "<meta charset=latin2>ą".as_bytes(),
            "<meta charset=latin2>ą",
        );
        at_all_sizes(
            None,
            Sniff::Html,
            "<meta charset=utf-16>ą".as_bytes(),
            "<meta charset=utf-16>ą",
        );
    }

    #[test]
    fn meta_after_the_first_kilobyte_is_ignored() {
        let mut doc = vec![b' '; 1100];
        doc.extend_from_slice(b"<meta charset=iso-8859-2>\xb1");
        let out = decode(None, Sniff::Html, &doc, 64);
        assert!(out.ends_with('\u{fffd}'), "decoded as UTF-8: {out:?}");
    }

    #[test]
    fn xml_declaration_is_sniffed() {
        at_all_sizes(
            None,
            Sniff::Xml,
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-2\"?><a>\xb1</a>",
            "<?xml version=\"1.0\" encoding=\"ISO-8859-2\"?><a>ą</a>",
        );
    }

    #[test]
    fn finish_resets_for_the_next_stream() {
        let mut dec = CharsetDecoder::utf8();
        let mut text = String::new();
        dec.feed(b"a\xc5", &mut |s| text.push_str(s));
        dec.finish(&mut |s| text.push_str(s));
        dec.feed("ż".as_bytes(), &mut |s| text.push_str(s));
        dec.finish(&mut |s| text.push_str(s));
        assert_eq!(text, "a\u{fffd}ż");
    }

    #[test]
    fn large_input_comes_out_in_bounded_pieces() {
        let big = "ą".repeat(20_000);
        assert_eq!(decode(None, Sniff::None, big.as_bytes(), 100_000), big);
    }
}
