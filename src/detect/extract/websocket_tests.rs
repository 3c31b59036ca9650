//! Tests for the WebSocket frame parser.

use flate2::{Compress, Compression, FlushCompress};

use super::*;
use crate::detect::extract::testutil::{assert_split_invariant, Collect};

const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CONTINUATION: u8 = 0x0;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;

/// One frame; `mask` makes it a client frame.
fn frame(fin: bool, rsv1: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut f = vec![(u8::from(fin) << 7) | (u8::from(rsv1) << 6) | opcode];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => f.push(mask_bit | n as u8),
        n if n <= 0xffff => {
            f.push(mask_bit | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(mask_bit | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            f.extend_from_slice(&key);
            f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => f.extend_from_slice(payload),
    }
    f
}

fn run_caps(chunks: &[&[u8]], caps: WsCaps) -> (Collect, WsStatus) {
    let mut sink = Collect::default();
    let mut ws = WebSocketExtractor::new(TextKind::Typed, caps);
    for chunk in chunks {
        ws.feed(chunk, &mut sink);
    }
    ws.finish(&mut sink);
    (sink, ws.status())
}

fn run(chunks: &[&[u8]]) -> Collect {
    run_caps(chunks, WsCaps::default()).0
}

/// permessage-deflate: each message compressed with a sync flush, the tail removed, the
/// compressor's window kept across messages.
fn deflate_messages(messages: &[&str]) -> Vec<Vec<u8>> {
    let mut c = Compress::new(Compression::default(), false);
    messages
        .iter()
        .map(|m| {
            let mut out = Vec::with_capacity(m.len() + 64);
            let before = c.total_in();
            while c.total_in() - before < m.len() as u64 {
                let done = (c.total_in() - before) as usize;
                out.reserve(1024);
                c.compress_vec(&m.as_bytes()[done..], &mut out, FlushCompress::None)
                    .unwrap();
            }
            loop {
                out.reserve(1024);
                c.compress_vec(&[], &mut out, FlushCompress::Sync).unwrap();
                if out.ends_with(&[0, 0, 0xff, 0xff]) {
                    break;
                }
            }
            out.truncate(out.len() - 4);
            out
        })
        .collect()
}

#[test]
fn client_and_server_text_frames_with_fragments_and_control_frames() {
    let key = Some([0x37, 0xfa, 0x21, 0x3d]);
    let mut stream = frame(true, false, TEXT, "hello żółw".as_bytes(), key);
    stream.extend(frame(false, false, TEXT, b"I want ", key));
    stream.extend(frame(true, false, PING, b"ping", key));
    stream.extend(frame(false, false, CONTINUATION, b"to give ", key));
    stream.extend(frame(true, false, CONTINUATION, b"up", key));
    stream.extend(frame(true, false, BINARY, b"\x00\x01binary text", key));
    stream.extend(frame(true, false, TEXT, b"", key));
    stream.extend(frame(true, false, TEXT, b"unmasked", None));
    stream.extend(frame(true, false, CLOSE, b"\x03\xe8bye", key));
    let c = assert_split_invariant(&stream, run);
    assert_eq!(c.parts(), ["hello żółw", "I want to give up", "unmasked"]);
    assert_eq!(c.out.get(..7), Some("[typed]"));
}

#[test]
fn sixteen_and_sixty_four_bit_lengths() {
    let medium = "a".repeat(300);
    let large = "b".repeat(70_000);
    let mut stream = frame(true, false, TEXT, medium.as_bytes(), Some([1, 2, 3, 4]));
    stream.extend(frame(true, false, TEXT, large.as_bytes(), None));
    let (c, status) = run_caps(&[&stream], WsCaps::default());
    assert_eq!(c.parts(), [medium, large]);
    assert_eq!(status, WsStatus::Reading);
    // Split at every point near the headers.
    for cut in 1..20 {
        assert_eq!(run(&[&stream[..cut], &stream[cut..]]), c);
        let at = 306 + cut;
        assert_eq!(run(&[&stream[..at], &stream[at..]]), c);
    }
}

#[test]
fn permessage_deflate_with_context_takeover() {
    let messages = [
        "first compressed message",
        "second compressed message, first compressed again",
        "third",
    ];
    let compressed = deflate_messages(&messages);
    let mut stream = Vec::new();
    let mask = Some([9, 8, 7, 6]);
    stream.extend(frame(true, true, TEXT, &compressed[0], mask));
    // The second message fragmented: RSV1 only on the first frame.
    let (a, b) = compressed[1].split_at(compressed[1].len() / 2);
    stream.extend(frame(false, true, TEXT, a, mask));
    stream.extend(frame(true, false, CONTINUATION, b, mask));
    stream.extend(frame(true, false, TEXT, b"plain", mask));
    stream.extend(frame(true, true, TEXT, &compressed[2], mask));
    let c = assert_split_invariant(&stream, run);
    assert_eq!(c.parts(), [messages[0], messages[1], "plain", messages[2]]);
}

#[test]
fn json_and_socket_io_messages_give_string_values() {
    let mut stream = frame(
        true,
        false,
        TEXT,
        br#"{"type":"message","text":"you are worthless","id":"m1"}"#,
        None,
    );
    stream.extend(frame(
        true,
        false,
        TEXT,
        br#"42["chat message","meet me after school"]"#,
        None,
    ));
    stream.extend(frame(true, false, TEXT, b"2", None));
    stream.extend(frame(true, false, TEXT, b"12 angry men", None));
    let c = assert_split_invariant(&stream, run);
    assert_eq!(
        c.parts(),
        [
            "you are worthless",
            "chat message",
            "meet me after school",
            "2",
            "12 angry men"
        ]
    );
}

#[test]
fn long_messages_are_cut_at_the_cap() {
    let caps = WsCaps {
        max_message_bytes: 10,
        ..WsCaps::default()
    };
    let mut stream = frame(true, false, TEXT, b"0123456789abcdef", None);
    stream.extend(frame(true, false, TEXT, b"next", None));
    let (c, _) = run_caps(&[&stream], caps);
    assert_eq!(c.parts(), ["0123456789", "next"]);
}

#[test]
fn inflate_bomb_loses_compression_but_not_plain_messages() {
    let caps = WsCaps {
        max_inflated_bytes: 100_000,
        ..WsCaps::default()
    };
    let zeros = "0".repeat(1_000_000);
    let compressed = deflate_messages(&[&zeros, "after"]);
    let mut stream = frame(true, true, TEXT, &compressed[0], None);
    stream.extend(frame(true, true, TEXT, &compressed[1], None));
    stream.extend(frame(true, false, TEXT, b"still read", None));
    let (c, status) = run_caps(&[&stream], caps);
    assert_eq!(status, WsStatus::CompressionLost);
    let parts = c.parts();
    assert_eq!(parts.last().map(String::as_str), Some("still read"));
    assert!(parts.iter().all(|p| p.len() <= 200_000));
    assert!(!parts.iter().any(|p| p == "after"));
}

#[test]
fn protocol_errors_stop_the_stream() {
    for bad in [
        frame(true, false, CONTINUATION, b"orphan", None),
        frame(false, false, PING, b"fragmented control", None),
        frame(true, false, 0x3, b"reserved opcode", None),
        [
            frame(false, false, TEXT, b"a", None),
            frame(true, false, TEXT, b"b", None),
        ]
        .concat(),
    ] {
        let mut stream = bad;
        stream.extend(frame(true, false, TEXT, b"never read", None));
        let (c, status) = run_caps(&[&stream], WsCaps::default());
        assert_eq!(status, WsStatus::Stopped);
        assert!(!c.out.contains("never read"), "{}", c.out);
    }
}

#[test]
fn a_message_cut_short_is_reported() {
    let stream = frame(true, false, TEXT, b"cut short message", None);
    let c = run(&[&stream[..12]]);
    assert_eq!(c.parts(), ["cut short "]);
}
