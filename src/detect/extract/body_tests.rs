//! Tests for the whole chain: content decoding, charset, reader, caps.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;

use super::*;
use crate::detect::extract::testutil::{assert_split_invariant, Collect};
use crate::detect::extract::WebSocketExtractor;

const SAMPLE: &[u8] = include_bytes!("../decode/testdata/sample.txt");
const SAMPLE_BR: &[u8] = include_bytes!("../decode/testdata/sample.txt.br");
const ZEROS_BR: &[u8] = include_bytes!("../decode/testdata/zeros.br");

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn ctx<'a>(
    content_type: Option<&'a str>,
    encoding: Option<&'a str>,
    direction: Direction,
) -> BodyContext<'a> {
    BodyContext {
        content_type,
        content_encoding: encoding,
        direction,
        kind: if direction == Direction::Request {
            TextKind::Typed
        } else {
            TextKind::Page
        },
        caps: Caps::default(),
    }
}

fn run(context: BodyContext<'_>, chunks: &[&[u8]]) -> (Collect, BodyStatus) {
    let mut sink = Collect::default();
    let mut x = BodyExtractor::new(context).expect("inspected");
    for chunk in chunks {
        x.feed(chunk, &mut sink);
    }
    x.finish(&mut sink);
    (sink, x.status())
}

fn split_invariant(context: BodyContext<'_>, body: &[u8]) -> Collect {
    assert_split_invariant(body, |chunks| {
        let (c, status) = run(context, chunks);
        assert_eq!(status, BodyStatus::Complete);
        c
    })
}

#[test]
fn gzipped_windows_1252_html_at_every_split() {
    let page = b"<html><head><meta charset=windows-1252><title>Caf\xe9 &amp; more</title></head>\
        <body><p>Na\xefve \x93quotes\x94</p><img alt='a caf\xe9'></body></html>";
    let c = split_invariant(
        ctx(Some("text/html"), Some("gzip"), Direction::Response),
        &gzip(page),
    );
    assert_eq!(c.titles, ["Café & more"]);
    assert_eq!(c.parts(), ["Café & more", "Naïve “quotes”", "a café"]);
    assert!(c.out.starts_with("[page]"));
}

#[test]
fn brotli_text_and_zstd_json_requests() {
    let (c, status) = run(
        ctx(
            Some("text/plain; charset=utf-8"),
            Some("br"),
            Direction::Response,
        ),
        &[SAMPLE_BR],
    );
    assert_eq!(status, BodyStatus::Complete);
    assert_eq!(c.text().as_bytes(), SAMPLE);
    let json =
        zstd::stream::encode_all(&br#"{"prompt": "I can't sleep", "id": "x1"}"#[..], 3).unwrap();
    let c = split_invariant(
        ctx(Some("application/json"), Some("zstd"), Direction::Request),
        &json,
    );
    assert_eq!(c.out, "[typed]I can't sleep");
}

#[test]
fn forms_and_multipart_requests() {
    let c = split_invariant(
        ctx(
            Some("application/x-www-form-urlencoded"),
            None,
            Direction::Request,
        ),
        b"q=is+it+normal&password=x",
    );
    assert_eq!(c.out, "[typed]is it normal");
    let body = b"--b\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhello\r\n--b--\r\n";
    let c = split_invariant(
        ctx(
            Some("multipart/form-data; boundary=b"),
            Some("gzip"),
            Direction::Request,
        ),
        &gzip(body),
    );
    assert_eq!(c.out, "[typed]hello");
}

#[test]
fn utf16_json_with_a_bom() {
    let mut body = vec![0xff, 0xfe];
    for unit in r#"{"m":"żółw"}"#.encode_utf16() {
        body.extend_from_slice(&unit.to_le_bytes());
    }
    let c = split_invariant(
        ctx(Some("application/json"), None, Direction::Response),
        &body,
    );
    assert_eq!(c.out, "[page]żółw");
}

#[test]
fn missing_content_type_is_sniffed() {
    let c = split_invariant(
        ctx(None, None, Direction::Response),
        b"  <p>sniffed <b>html</b></p>",
    );
    assert_eq!(
        c.parts(),
        ["  ", "sniffed html"],
        "leading whitespace is text too"
    );
    let long_json = format!("{{\"pad\": \"{}\", \"t\": \"x\"}}", " ".repeat(600));
    let (c, _) = run(
        ctx(None, None, Direction::Response),
        &[long_json.as_bytes()],
    );
    assert_eq!(c.parts(), [" ".repeat(600), "x".to_owned()]);
    let (c, status) = run(
        ctx(None, None, Direction::Response),
        &[b"\x89PNG\r\n\x1a\n\0\0\0binary"],
    );
    assert_eq!((c.out.as_str(), status), ("", BodyStatus::Skipped));
}

#[test]
fn binary_code_and_undecodable_bodies_are_not_inspected() {
    for ct in [
        "image/jpeg",
        "video/mp4",
        "font/woff2",
        "application/octet-stream",
        "application/pdf",
        "text/javascript",
        "text/css",
    ] {
        assert!(
            BodyExtractor::new(ctx(Some(ct), None, Direction::Response)).is_none(),
            "{ct}"
        );
    }
    assert!(BodyExtractor::new(ctx(
        Some("text/html"),
        Some("compress"),
        Direction::Response
    ))
    .is_none());
    assert!(BodyExtractor::new(ctx(
        Some("text/html"),
        Some("identity"),
        Direction::Response
    ))
    .is_some());
}

#[test]
fn inspection_stops_at_the_body_cap() {
    let mut context = ctx(Some("text/plain"), None, Direction::Response);
    context.caps.max_body_bytes = 10;
    let (c, status) = run(context, &[b"0123456", b"789abc", b"def"]);
    assert_eq!(status, BodyStatus::Truncated);
    assert_eq!(c.text(), "0123456789");
}

#[test]
fn bombs_and_corrupt_bodies_stop_inspection() {
    let (c, status) = run(
        ctx(Some("text/plain"), Some("br"), Direction::Response),
        &[ZEROS_BR],
    );
    assert_eq!(status, BodyStatus::Bomb);
    assert!(c.text().len() <= 2 * 1024 * 1024);
    let mut bad = gzip(b"<p>some text</p>");
    let n = bad.len();
    bad[n - 5] ^= 1;
    let (_, status) = run(
        ctx(Some("text/html"), Some("gzip"), Direction::Response),
        &[&bad],
    );
    assert_eq!(status, BodyStatus::Corrupt);
    let good = gzip(b"<p>cut off here</p>");
    let (c, status) = run(
        ctx(Some("text/html"), Some("gzip"), Direction::Response),
        &[&good[..good.len() - 4]],
    );
    assert_eq!(status, BodyStatus::Incomplete);
    assert_eq!(c.parts(), ["cut off here"]);
}

#[test]
fn utf8_html_split_inside_characters_and_entities() {
    let page = "<title>Zażółć</title><p>gęślą&nbsp;jaźń &eacute;&#x1F600;</p><p>Ünïcödé</p>";
    let c = split_invariant(
        ctx(Some("text/html; charset=utf-8"), None, Direction::Response),
        page.as_bytes(),
    );
    assert_eq!(c.titles, ["Zażółć"]);
    assert_eq!(c.parts(), ["Zażółć", "gęślą\u{a0}jaźń é😀", "Ünïcödé"]);
    // Without a declared charset the meta prescan holds the start; the result is the same.
    let c2 = split_invariant(
        ctx(Some("text/html"), None, Direction::Response),
        page.as_bytes(),
    );
    assert_eq!(c2, c);
}

#[test]
fn extractors_can_move_to_inspection_tasks() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<BodyExtractor>();
    assert_send::<WebSocketExtractor>();
}
