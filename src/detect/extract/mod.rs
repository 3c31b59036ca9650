//! Extraction: what a person typed or saw, as text handed to a
//! [`TextSink`](crate::detect::TextSink), streaming.
//!
//! [`BodyExtractor`] is the per-body entry point: it picks a reader from the content type
//! (skipping binary types), and chains content decoding ([`crate::detect::decode`]:
//! `Content-Encoding`, then the charset) into it. Chunks may be split anywhere; nothing is
//! buffered whole; inspection of a body stops after [`Caps::max_body_bytes`].
//!
//! # Layout
//! - [`html`]: visible text of HTML (and XML feeds).
//! - [`json`]: JSON string values. [`text`]: plain text.
//! - [`form`]: urlencoded form fields. [`multipart`]: multipart text parts.
//! - [`url`]: search terms and readable path words from a request URL.
//! - [`websocket`]: text messages from an upgraded stream.
//! - this file: content-type classification and the [`BodyExtractor`] chain.
//!
//! # Which content types are read
//! HTML; XHTML, XML, RSS and Atom (as XML); JSON, `+json`, JSON Lines and server-sent events
//! (as JSON); other `text/*` (as plain text); urlencoded and multipart forms. JavaScript and
//! CSS are skipped (code, not what a person reads), and so is everything else: images, video,
//! audio, fonts, archives, PDF, WebAssembly, protobuf and `application/octet-stream`. A body
//! without a content type is sniffed from its first 512 decoded bytes.

pub mod form;
pub mod html;
pub mod json;
pub mod multipart;
pub mod text;
pub mod url;
pub mod websocket;

mod body;
#[cfg(test)]
mod testutil;

pub use body::{BodyContext, BodyExtractor, BodyStatus, Caps};
pub use url::{extract_url, SearchEngine};
pub use websocket::{WebSocketExtractor, WsCaps, WsStatus};

/// How a body is read, from its content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// HTML: visible text.
    Html,
    /// XML, XHTML, RSS, Atom: visible text, XML rules.
    Xml,
    /// JSON and JSON-like streams: string values.
    Json,
    /// Plain text.
    Text,
    /// An urlencoded form.
    Form,
    /// A multipart body with this boundary.
    Multipart(String),
    /// No content type: decided from the first bytes.
    Sniff,
}

/// How a body with this `Content-Type` is read; `None` for types not inspected (binary, code,
/// or multipart without a valid boundary).
pub fn classify(content_type: Option<&str>) -> Option<Format> {
    let Some(content_type) = content_type.filter(|t| !t.trim().is_empty()) else {
        return Some(Format::Sniff);
    };
    let e = essence(content_type);
    Some(match e.as_str() {
        "text/html" => Format::Html,
        "application/xhtml+xml" | "text/xml" | "application/xml" => Format::Xml,
        "application/x-www-form-urlencoded" => Format::Form,
        _ if is_json(&e) => Format::Json,
        _ if e.starts_with("multipart/") => {
            Format::Multipart(multipart::boundary_of(content_type)?)
        }
        _ if is_code(&e) => return None,
        _ if e.starts_with("text/") => Format::Text,
        _ if e.ends_with("+xml") && !e.starts_with("image/") => Format::Xml,
        _ => return None,
    })
}

/// Decides the format of a body without a content type from its first decoded bytes; `None`
/// for binary data.
pub fn sniff(head: &[u8]) -> Option<Format> {
    const BINARY_MAGIC: &[&[u8]] = &[
        b"%PDF",
        b"PK\x03\x04",
        b"\x89PNG",
        b"GIF8",
        b"\xff\xd8\xff",
        b"\x1f\x8b",
        b"RIFF",
        b"\0asm",
        b"wOF",
    ];
    if BINARY_MAGIC.iter().any(|m| head.starts_with(m)) {
        return None;
    }
    let controls = head
        .iter()
        .filter(|&&b| b < 0x09 || (0x0e..0x20).contains(&b))
        .count();
    if (controls > 0 && controls * 20 >= head.len()) || head.contains(&0) {
        return None;
    }
    let start = head.trim_ascii_start();
    let start = start.strip_prefix(b"\xef\xbb\xbf").unwrap_or(start);
    Some(match start.first() {
        Some(b'<') if start.starts_with(b"<?xml") => Format::Xml,
        Some(b'<') => Format::Html,
        Some(b'{' | b'[') => Format::Json,
        _ => Format::Text,
    })
}

/// The media type without parameters, lower-cased (`text/html`).
pub(crate) fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// A parameter of a header value (`charset`, `boundary`, `name`), unquoted.
pub(crate) fn param(header: &str, name: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|part| {
        let (k, v) = part.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case(name) {
            return None;
        }
        let v = v.trim();
        Some(
            v.strip_prefix('"')
                .and_then(|q| q.strip_suffix('"'))
                .unwrap_or(v)
                .to_owned(),
        )
    })
}

/// JSON, and formats read like it.
pub(crate) fn is_json(essence: &str) -> bool {
    matches!(
        essence,
        "application/json"
            | "text/json"
            | "application/x-json"
            | "application/x-ndjson"
            | "application/jsonl"
            | "application/json-seq"
            | "text/event-stream"
    ) || essence.ends_with("+json")
}

/// Scripts and style sheets: code, not what a person reads.
pub(crate) fn is_code(essence: &str) -> bool {
    matches!(
        essence,
        "text/javascript"
            | "application/javascript"
            | "application/x-javascript"
            | "text/ecmascript"
            | "application/ecmascript"
            | "text/jscript"
            | "text/x-javascript"
            | "text/css"
            | "text/vbscript"
    )
}

/// The largest `i <= at` that is a character boundary of `s`.
pub(crate) fn floor_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    let mut i = at;
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_classified() {
        let cases: &[(Option<&str>, Option<Format>)] = &[
            (Some("text/html; charset=UTF-8"), Some(Format::Html)),
            (Some("TEXT/HTML"), Some(Format::Html)),
            (Some("application/xhtml+xml"), Some(Format::Xml)),
            (Some("application/rss+xml"), Some(Format::Xml)),
            (Some("application/atom+xml"), Some(Format::Xml)),
            (Some("application/json"), Some(Format::Json)),
            (Some("application/ld+json"), Some(Format::Json)),
            (Some("text/event-stream"), Some(Format::Json)),
            (Some("text/plain"), Some(Format::Text)),
            (Some("text/markdown"), Some(Format::Text)),
            (
                Some("application/x-www-form-urlencoded"),
                Some(Format::Form),
            ),
            (
                Some("multipart/form-data; boundary=abc"),
                Some(Format::Multipart("abc".into())),
            ),
            (Some("multipart/form-data"), None),
            (Some("text/javascript"), None),
            (Some("application/javascript"), None),
            (Some("text/css"), None),
            (Some("image/png"), None),
            (Some("image/svg+xml"), None),
            (Some("video/mp4"), None),
            (Some("audio/mpeg"), None),
            (Some("font/woff2"), None),
            (Some("application/octet-stream"), None),
            (Some("application/zip"), None),
            (Some("application/pdf"), None),
            (Some("application/wasm"), None),
            (Some("application/x-protobuf"), None),
            (None, Some(Format::Sniff)),
            (Some(" "), Some(Format::Sniff)),
        ];
        for (ct, expected) in cases {
            assert_eq!(&classify(*ct), expected, "{ct:?}");
        }
    }

    #[test]
    fn sniffing_spots_markup_json_text_and_binary() {
        assert_eq!(sniff(b"  <!doctype html>"), Some(Format::Html));
        assert_eq!(sniff(b"<?xml version='1.0'?>"), Some(Format::Xml));
        assert_eq!(sniff(b"\n{\"a\":1}"), Some(Format::Json));
        assert_eq!(sniff("plain words, żółw".as_bytes()), Some(Format::Text));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n"), None);
        assert_eq!(sniff(b"abc\0def"), None);
        assert_eq!(sniff(b"%PDF-1.7"), None);
    }

    #[test]
    fn parameters_are_parsed() {
        assert_eq!(
            param("text/html; Charset=\"ISO-8859-2\"", "charset").as_deref(),
            Some("ISO-8859-2")
        );
        assert_eq!(
            param("form-data; name=\"q\"; filename=\"a.txt\"", "filename").as_deref(),
            Some("a.txt")
        );
        assert_eq!(param("text/html", "charset"), None);
        assert_eq!(floor_boundary("aż", 2), 1);
        assert_eq!(floor_boundary("aż", 9), 3);
    }
}
