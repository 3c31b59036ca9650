//! [`BodyExtractor`]: one body's chain, content decoding -> charset -> reader -> sink.

use super::form::FormExtractor;
use super::html::HtmlExtractor;
use super::json::JsonExtractor;
use super::multipart::MultipartExtractor;
use super::text::TextExtractor;
use super::{classify, param, sniff, Format};
use crate::detect::decode::{CharsetDecoder, ContentDecoder, DecodeCaps, DecodeError, Sniff};
use crate::detect::{TextKind, TextSink};
use crate::inspect::{Direction, RequestMeta, ResponseMeta};

/// Bytes of a body without a content type held to sniff its format.
pub const SNIFF_BYTES: usize = 512;

/// Size caps for one body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Body bytes (as sent, before content decoding) inspected; the rest is not.
    pub max_body_bytes: u64,
    /// Decoded bytes one decoding layer may produce (past it: a bomb).
    pub max_decoded_bytes: u64,
    /// Decoded bytes allowed per encoded byte, once past 1 MiB of output (past it: a bomb).
    pub max_ratio: u64,
}

impl Default for Caps {
    /// 10 MiB inspected, 64 MiB decoded, 100:1.
    fn default() -> Self {
        let decode = DecodeCaps::default();
        Caps {
            max_body_bytes: 10 * 1024 * 1024,
            max_decoded_bytes: decode.max_output,
            max_ratio: decode.max_ratio,
        }
    }
}

/// What a [`BodyExtractor`] needs to know about a body.
#[derive(Debug, Clone, Copy)]
pub struct BodyContext<'a> {
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The `Content-Encoding` header.
    pub content_encoding: Option<&'a str>,
    /// Which way the body travels.
    pub direction: Direction,
    /// The kind of the text found (typed for requests, page for responses, usually).
    pub kind: TextKind,
    /// Size caps.
    pub caps: Caps,
}

impl<'a> BodyContext<'a> {
    /// A request body: what the user typed.
    pub fn request(meta: &'a RequestMeta, caps: Caps) -> Self {
        BodyContext {
            content_type: meta.content_type.as_deref(),
            content_encoding: meta.content_encoding.as_deref(),
            direction: Direction::Request,
            kind: TextKind::Typed,
            caps,
        }
    }

    /// A response body: what the user was shown.
    pub fn response(meta: &'a ResponseMeta, caps: Caps) -> Self {
        BodyContext {
            content_type: meta.content_type.as_deref(),
            content_encoding: meta.content_encoding.as_deref(),
            direction: Direction::Response,
            kind: TextKind::Page,
            caps,
        }
    }
}

/// How a body's inspection went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyStatus {
    /// Still reading.
    Inspecting,
    /// The whole body was inspected.
    Complete,
    /// Inspection stopped at [`Caps::max_body_bytes`].
    Truncated,
    /// Decompression stopped at an expansion cap.
    Bomb,
    /// The encoded data was corrupt; inspection stopped there.
    Corrupt,
    /// The body ended in the middle of its encoding (cut short).
    Incomplete,
    /// Sniffing found binary data: nothing was inspected.
    Skipped,
}

/// A reader of text (already in UTF-8).
#[derive(Debug)]
enum StrReader {
    Html(Box<HtmlExtractor>),
    Json(Box<JsonExtractor>),
    Text(TextExtractor),
}

/// What decoded bytes go to.
#[derive(Debug)]
enum Reader {
    Str(Box<CharsetDecoder>, StrReader),
    Form(Box<FormExtractor>),
    Multipart(Box<MultipartExtractor>),
    Sniffing(Vec<u8>, Option<String>),
    Skip,
}

impl Reader {
    /// The reader for a format; `charset` is the content type's charset parameter.
    fn new(format: Format, charset: Option<String>, kind: TextKind) -> Reader {
        let label = charset.as_deref();
        let str_reader = |sniffing: Sniff, reader: StrReader| {
            Reader::Str(Box::new(CharsetDecoder::new(label, sniffing)), reader)
        };
        match format {
            Format::Html => str_reader(
                Sniff::Html,
                StrReader::Html(Box::new(HtmlExtractor::new(kind))),
            ),
            Format::Xml => str_reader(
                Sniff::Xml,
                StrReader::Html(Box::new(HtmlExtractor::new_xml(kind))),
            ),
            Format::Json => str_reader(
                Sniff::None,
                StrReader::Json(Box::new(JsonExtractor::new(kind))),
            ),
            Format::Text => str_reader(Sniff::None, StrReader::Text(TextExtractor::new(kind))),
            Format::Form => Reader::Form(Box::new(FormExtractor::new(kind, label))),
            Format::Multipart(boundary) => {
                Reader::Multipart(Box::new(MultipartExtractor::new(kind, &boundary)))
            }
            Format::Sniff => Reader::Sniffing(Vec::with_capacity(SNIFF_BYTES), charset),
        }
    }

    fn feed(&mut self, bytes: &[u8], kind: TextKind, sink: &mut dyn TextSink) {
        match self {
            Reader::Str(charset, reader) => {
                charset.feed(bytes, &mut |text| reader.feed(text, sink))
            }
            Reader::Form(form) => form.feed(bytes, sink),
            Reader::Multipart(multipart) => multipart.feed(bytes, sink),
            Reader::Sniffing(held, _) => {
                let take = (SNIFF_BYTES - held.len()).min(bytes.len());
                held.extend_from_slice(&bytes[..take]);
                if held.len() == SNIFF_BYTES {
                    self.decide(kind, sink);
                    self.feed(&bytes[take..], kind, sink);
                }
            }
            Reader::Skip => {}
        }
    }

    /// Ends sniffing: picks the reader and feeds it what was held.
    fn decide(&mut self, kind: TextKind, sink: &mut dyn TextSink) {
        let Reader::Sniffing(held, charset) = std::mem::replace(self, Reader::Skip) else {
            return;
        };
        if let Some(format) = sniff(&held) {
            *self = Reader::new(format, charset, kind);
            self.feed(&held, kind, sink);
        }
    }

    fn finish(&mut self, kind: TextKind, sink: &mut dyn TextSink) {
        if matches!(self, Reader::Sniffing(..)) {
            self.decide(kind, sink);
        }
        match self {
            Reader::Str(charset, reader) => {
                charset.finish(&mut |text| reader.feed(text, sink));
                reader.finish(sink);
            }
            Reader::Form(form) => form.finish(sink),
            Reader::Multipart(multipart) => multipart.finish(sink),
            Reader::Sniffing(..) | Reader::Skip => {}
        }
    }
}

impl StrReader {
    fn feed(&mut self, text: &str, sink: &mut dyn TextSink) {
        match self {
            StrReader::Html(x) => x.feed(text, sink),
            StrReader::Json(x) => x.feed(text, sink),
            StrReader::Text(x) => x.feed(text, sink),
        }
    }

    fn finish(&mut self, sink: &mut dyn TextSink) {
        match self {
            StrReader::Html(x) => x.finish(sink),
            StrReader::Json(x) => x.finish(sink),
            StrReader::Text(x) => x.finish(sink),
        }
    }
}

/// Extracts text from one body, streaming: content decoding, charset, then the reader for its
/// content type.
#[derive(Debug)]
pub struct BodyExtractor {
    decoder: Option<ContentDecoder>,
    reader: Reader,
    kind: TextKind,
    caps: Caps,
    fed: u64,
    status: BodyStatus,
}

impl BodyExtractor {
    /// An extractor for a body, or `None` if the body is not inspected: a binary or code
    /// content type, a multipart type without a valid boundary, or a `Content-Encoding` that
    /// cannot be decoded.
    pub fn new(ctx: BodyContext<'_>) -> Option<BodyExtractor> {
        let format = classify(ctx.content_type)?;
        let decoder = match ctx
            .content_encoding
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            None => None,
            Some(encoding) => {
                let caps = DecodeCaps {
                    max_output: ctx.caps.max_decoded_bytes,
                    max_ratio: ctx.caps.max_ratio,
                    ..DecodeCaps::default()
                };
                let decoder = ContentDecoder::new(encoding, caps).ok()?;
                (!decoder.is_identity()).then_some(decoder)
            }
        };
        let charset = ctx.content_type.and_then(|t| param(t, "charset"));
        Some(BodyExtractor {
            decoder,
            reader: Reader::new(format, charset, ctx.kind),
            kind: ctx.kind,
            caps: ctx.caps,
            fed: 0,
            status: BodyStatus::Inspecting,
        })
    }

    /// How inspection of this body went (so far).
    pub fn status(&self) -> BodyStatus {
        self.status
    }

    /// Body bytes (as sent) inspected so far.
    pub fn bytes_in(&self) -> u64 {
        self.fed
    }

    /// One chunk of the body as sent.
    pub fn feed(&mut self, chunk: &[u8], sink: &mut dyn TextSink) {
        if self.status != BodyStatus::Inspecting {
            return;
        }
        let room = self.caps.max_body_bytes.saturating_sub(self.fed);
        let take = usize::try_from(room).unwrap_or(usize::MAX).min(chunk.len());
        self.fed += take as u64;
        let kind = self.kind;
        let reader = &mut self.reader;
        let result = match &mut self.decoder {
            Some(decoder) => {
                decoder.feed(&chunk[..take], &mut |bytes| reader.feed(bytes, kind, sink))
            }
            None => {
                reader.feed(&chunk[..take], kind, sink);
                Ok(())
            }
        };
        if let Err(err) = result {
            self.stop(status_of(&err), sink);
        } else if take < chunk.len() {
            self.stop(BodyStatus::Truncated, sink);
        }
    }

    /// The body ended: flushes everything held and reports the last text.
    pub fn finish(&mut self, sink: &mut dyn TextSink) {
        if self.status != BodyStatus::Inspecting {
            return;
        }
        let kind = self.kind;
        let reader = &mut self.reader;
        let result = match &mut self.decoder {
            Some(decoder) => decoder.finish(&mut |bytes| reader.feed(bytes, kind, sink)),
            None => Ok(()),
        };
        let status = match result {
            Err(err) => status_of(&err),
            Ok(()) => BodyStatus::Complete,
        };
        self.stop(status, sink);
    }

    /// Stops inspection: what the reader holds is still reported.
    fn stop(&mut self, status: BodyStatus, sink: &mut dyn TextSink) {
        let skipped = matches!(self.reader, Reader::Skip)
            || matches!(&self.reader, Reader::Sniffing(held, _) if sniff(held).is_none());
        self.reader.finish(self.kind, sink);
        self.reader = Reader::Skip;
        self.decoder = None;
        self.status = if skipped && status == BodyStatus::Complete {
            BodyStatus::Skipped
        } else {
            status
        };
    }
}

fn status_of(err: &DecodeError) -> BodyStatus {
    match err {
        DecodeError::Bomb { .. } => BodyStatus::Bomb,
        DecodeError::Incomplete { .. } => BodyStatus::Incomplete,
        DecodeError::Corrupt { .. }
        | DecodeError::Unsupported(_)
        | DecodeError::TooManyLayers(_) => BodyStatus::Corrupt,
    }
}

#[cfg(test)]
#[path = "body_tests.rs"]
mod tests;
