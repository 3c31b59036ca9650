//! WebSocket (RFC 6455) text messages from a relayed, upgraded stream, in either direction.
//!
//! The frame parser takes the raw bytes of one direction split anywhere: it reads FIN, RSV1,
//! the opcode, the 7, 16 or 64-bit payload length and the masking key (client frames are
//! masked), joins fragmented messages across continuation frames, skips control frames
//! (ping, pong, close; even between fragments) and binary messages, and inflates
//! permessage-deflate messages (RFC 7692: RSV1 set on the first frame, raw deflate, the
//! `00 00 ff ff` tail restored) with the window kept across messages (context takeover; a
//! peer that does not take over context decodes the same way). Text messages go through UTF-8
//! decoding; a message that looks like JSON (after an optional Socket.IO packet number) gives
//! its string values, anything else its text. Each message ends with a boundary.
//!
//! Memory is bounded: a 14-byte header buffer, 4 KiB unmasking and 32 KiB inflating buffers,
//! the deflate window. Only the first [`WsCaps::max_message_bytes`] of a message are
//! inspected; a compressed message inflating past [`WsCaps::max_inflated_bytes`] stops
//! inflation for the rest of the stream (its window is lost) while uncompressed messages are
//! still read. A protocol error stops inspection of the stream.

use flate2::{Decompress, FlushDecompress, Status};

use super::json::JsonExtractor;
use crate::detect::decode::CharsetDecoder;
use crate::detect::{TextKind, TextSink};

/// Limits for one WebSocket stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsCaps {
    /// Text bytes inspected per message; the rest of a longer message is skipped.
    pub max_message_bytes: usize,
    /// Inflated bytes allowed per compressed message (text or binary).
    pub max_inflated_bytes: u64,
}

impl Default for WsCaps {
    /// 1 MiB of text per message, 16 MiB inflated per message.
    fn default() -> Self {
        WsCaps {
            max_message_bytes: 1024 * 1024,
            max_inflated_bytes: 16 * 1024 * 1024,
        }
    }
}

/// How a WebSocket stream's inspection is going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsStatus {
    /// Frames are being read.
    Reading,
    /// Compressed messages can no longer be read (corrupt deflate data or past the inflate
    /// cap); uncompressed messages still are.
    CompressionLost,
    /// A protocol error: nothing more is read from this stream.
    Stopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextMode {
    /// Not yet known: the message's first bytes are held.
    Undecided,
    Plain,
    Json,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    remaining: u64,
    mask: Option<[u8; 4]>,
    mask_pos: usize,
    fin: bool,
    /// Part of a data message (not a control frame).
    data: bool,
}

#[derive(Debug, Clone, Copy)]
struct Message {
    text: bool,
    compressed: bool,
    inspected: usize,
    inflated: u64,
}

/// Extracts text messages from one direction of a WebSocket stream.
pub struct WebSocketExtractor {
    kind: TextKind,
    caps: WsCaps,
    status: WsStatus,
    header: [u8; 14],
    header_len: usize,
    frame: Option<Frame>,
    message: Option<Message>,
    inflater: Option<Decompress>,
    stream_ended: bool,
    unmasked: Box<[u8]>,
    inflated: Box<[u8]>,
    charset: CharsetDecoder,
    mode: TextMode,
    held: String,
    json: JsonExtractor,
    emitted: bool,
}

impl std::fmt::Debug for WebSocketExtractor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketExtractor")
            .field("kind", &self.kind)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Bytes the header needs, known from its first two bytes.
fn header_needs(first_two: [u8; 2]) -> usize {
    let ext = match first_two[1] & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + ext + if first_two[1] & 0x80 != 0 { 4 } else { 0 }
}

impl WebSocketExtractor {
    /// An extractor reporting text as `kind` (typed for what the client sends, page for what
    /// the server sends).
    pub fn new(kind: TextKind, caps: WsCaps) -> Self {
        WebSocketExtractor {
            kind,
            caps,
            status: WsStatus::Reading,
            header: [0; 14],
            header_len: 0,
            frame: None,
            message: None,
            inflater: None,
            stream_ended: false,
            unmasked: vec![0; 4096].into_boxed_slice(),
            inflated: vec![0; 32 * 1024].into_boxed_slice(),
            charset: CharsetDecoder::utf8(),
            mode: TextMode::Undecided,
            held: String::new(),
            json: JsonExtractor::new(kind),
            emitted: false,
        }
    }

    /// How inspection of the stream is going.
    pub fn status(&self) -> WsStatus {
        self.status
    }

    /// One chunk of the stream.
    pub fn feed(&mut self, chunk: &[u8], sink: &mut dyn TextSink) {
        let mut i = 0;
        while i < chunk.len() && self.status != WsStatus::Stopped {
            match self.frame {
                None => {
                    let need = if self.header_len < 2 {
                        2
                    } else {
                        header_needs([self.header[0], self.header[1]])
                    };
                    let take = (need - self.header_len).min(chunk.len() - i);
                    self.header[self.header_len..self.header_len + take]
                        .copy_from_slice(&chunk[i..i + take]);
                    self.header_len += take;
                    i += take;
                    if self.header_len >= 2
                        && self.header_len == header_needs([self.header[0], self.header[1]])
                    {
                        self.start_frame(sink);
                    }
                }
                Some(frame) => {
                    let n = usize::try_from(frame.remaining)
                        .unwrap_or(usize::MAX)
                        .min(chunk.len() - i);
                    self.payload(&chunk[i..i + n], sink);
                    i += n;
                    if let Some(f) = &mut self.frame {
                        f.remaining -= n as u64;
                        if f.remaining == 0 {
                            self.end_frame(sink);
                        }
                    }
                }
            }
        }
    }

    /// The stream ended: a message cut short still has its text reported.
    pub fn finish(&mut self, sink: &mut dyn TextSink) {
        if self.message.is_some() {
            self.end_message(sink);
        }
        self.frame = None;
    }

    fn stop(&mut self) {
        self.status = WsStatus::Stopped;
        self.frame = None;
        self.message = None;
    }

    fn start_frame(&mut self, sink: &mut dyn TextSink) {
        let h = self.header;
        self.header_len = 0;
        let fin = h[0] & 0x80 != 0;
        let rsv1 = h[0] & 0x40 != 0;
        let opcode = h[0] & 0x0f;
        let (len, mut at) = match h[1] & 0x7f {
            126 => (u64::from(u16::from_be_bytes([h[2], h[3]])), 4),
            127 => (
                u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]),
                10,
            ),
            n => (u64::from(n), 2),
        };
        let mask = (h[1] & 0x80 != 0).then(|| {
            let key = [h[at], h[at + 1], h[at + 2], h[at + 3]];
            at += 4;
            key
        });
        let data = match opcode {
            0x8..=0xf => {
                if !fin || len > 125 {
                    return self.stop();
                }
                false
            }
            0x1 | 0x2 => {
                if self.message.is_some() {
                    return self.stop();
                }
                self.message = Some(Message {
                    text: opcode == 0x1,
                    compressed: rsv1,
                    inspected: 0,
                    inflated: 0,
                });
                true
            }
            0x0 if self.message.is_some() => true,
            _ => return self.stop(),
        };
        if len >> 63 != 0 {
            return self.stop();
        }
        debug_assert!(at <= h.len());
        self.frame = Some(Frame {
            remaining: len,
            mask,
            mask_pos: 0,
            fin,
            data,
        });
        if len == 0 {
            self.end_frame(sink);
        }
    }

    fn end_frame(&mut self, sink: &mut dyn TextSink) {
        if let Some(frame) = self.frame.take() {
            if frame.data && frame.fin {
                self.end_message(sink);
            }
        }
    }

    fn payload(&mut self, bytes: &[u8], sink: &mut dyn TextSink) {
        let Some(mut frame) = self.frame else { return };
        if !frame.data {
            return;
        }
        let Some(mask) = frame.mask else {
            self.message_bytes(bytes, sink);
            return;
        };
        let mut buf = std::mem::take(&mut self.unmasked);
        for block in bytes.chunks(buf.len().max(1)) {
            for (dst, src) in buf.iter_mut().zip(block) {
                *dst = src ^ mask[frame.mask_pos & 3];
                frame.mask_pos += 1;
            }
            self.message_bytes(&buf[..block.len()], sink);
        }
        self.unmasked = buf;
        if let Some(f) = &mut self.frame {
            f.mask_pos = frame.mask_pos & 3;
        }
    }

    fn message_bytes(&mut self, bytes: &[u8], sink: &mut dyn TextSink) {
        let Some(message) = self.message else { return };
        if message.compressed {
            self.inflate(bytes, sink);
        } else if message.text {
            self.text_bytes(bytes, sink);
        }
    }

    fn inflate(&mut self, mut input: &[u8], sink: &mut dyn TextSink) {
        if self.status == WsStatus::CompressionLost || self.stream_ended {
            return;
        }
        let mut inflater = self
            .inflater
            .take()
            .unwrap_or_else(|| Decompress::new(false));
        let mut out = std::mem::take(&mut self.inflated);
        loop {
            let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
            let Ok(status) = inflater.decompress(input, &mut out, FlushDecompress::Sync) else {
                self.status = WsStatus::CompressionLost;
                break;
            };
            let consumed = usize::try_from(inflater.total_in() - in_before)
                .unwrap_or(input.len())
                .min(input.len());
            let produced = usize::try_from(inflater.total_out() - out_before)
                .unwrap_or(0)
                .min(out.len());
            input = &input[consumed..];
            if let Some(m) = &mut self.message {
                m.inflated += produced as u64;
                if m.inflated > self.caps.max_inflated_bytes {
                    self.status = WsStatus::CompressionLost;
                    break;
                }
                if m.text && produced > 0 {
                    self.text_bytes(&out[..produced], sink);
                }
            }
            if status == Status::StreamEnd {
                self.stream_ended = true;
                break;
            }
            if (consumed == 0 && produced == 0) || (input.is_empty() && produced < out.len()) {
                break;
            }
        }
        self.inflated = out;
        self.inflater = Some(inflater);
    }

    fn text_bytes(&mut self, bytes: &[u8], sink: &mut dyn TextSink) {
        let Some(message) = &mut self.message else {
            return;
        };
        let room = self
            .caps
            .max_message_bytes
            .saturating_sub(message.inspected);
        let bytes = &bytes[..room.min(bytes.len())];
        message.inspected += bytes.len();
        if bytes.is_empty() {
            return;
        }
        let mut charset = std::mem::replace(&mut self.charset, CharsetDecoder::utf8());
        charset.feed(bytes, &mut |text| self.text(text, sink));
        self.charset = charset;
    }

    fn text(&mut self, text: &str, sink: &mut dyn TextSink) {
        match self.mode {
            TextMode::Plain => {
                sink.text(self.kind, text);
                self.emitted = true;
            }
            TextMode::Json => self.json.feed(text, sink),
            TextMode::Undecided => {
                self.held.push_str(text);
                let start = self
                    .held
                    .trim_start_matches(|c: char| c.is_ascii_digit() || c.is_ascii_whitespace());
                let first = start.chars().next();
                if first.is_none() && self.held.len() < 32 {
                    return;
                }
                self.mode = if matches!(first, Some('{' | '[')) {
                    TextMode::Json
                } else {
                    TextMode::Plain
                };
                let held = std::mem::take(&mut self.held);
                self.text(&held, sink);
            }
        }
    }

    fn end_message(&mut self, sink: &mut dyn TextSink) {
        let Some(message) = self.message else { return };
        if message.compressed {
            self.inflate(&[0, 0, 0xff, 0xff], sink);
            if self.stream_ended {
                // The peer ended its deflate stream: the next message starts a new one.
                if let Some(inflater) = &mut self.inflater {
                    inflater.reset(false);
                }
                self.stream_ended = false;
            }
        }
        if message.text {
            let mut charset = std::mem::replace(&mut self.charset, CharsetDecoder::utf8());
            charset.finish(&mut |text| self.text(text, sink));
            self.charset = charset;
            if self.mode == TextMode::Undecided && !self.held.is_empty() {
                self.mode = TextMode::Plain;
                let held = std::mem::take(&mut self.held);
                self.text(&held, sink);
            }
            match self.mode {
                TextMode::Json => self.json.finish(sink),
                _ if self.emitted => sink.boundary(),
                _ => {}
            }
        }
        self.mode = TextMode::Undecided;
        self.held.clear();
        self.emitted = false;
        self.message = None;
    }
}

#[cfg(test)]
#[path = "websocket_tests.rs"]
mod tests;
