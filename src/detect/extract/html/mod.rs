//! Streaming visible-text extraction from HTML (and, in XML mode, RSS, Atom and other XML).
//!
//! A hand-written state machine over UTF-8 text chunks split anywhere (the charset decoder
//! hands over whole characters; every cut this module makes is at an ASCII byte). It emits text
//! nodes, the `alt` and `title` of images and links, the placeholder and value of text inputs,
//! and the first `<title>` (also reported through [`TextSink::title`]); it skips `script`,
//! `style` and other raw-text elements, `<template>` content, comments, CDATA (in HTML) and
//! doctypes; it decodes character references, even when one is split across chunks; and it
//! reports a boundary at block-level element edges so words from two blocks never join.
//! `<noscript>` text is kept: users without scripts see it.
//!
//! Why not a library: html5ever and lol_html build or rewrite documents, buffering tokens,
//! allocating per tag and doing tree construction we have no use for; `tl` and `scraper` need
//! the whole document. This is the hot path of inspection (every page byte goes through it),
//! so it is a single pass with `memchr` over text and attribute values, no allocation per tag,
//! and bounded state: one tag's captured attributes (at most [`MAX_TAG`] bytes; a longer tag's
//! attributes are dropped), one entity name, and the title (at most [`MAX_TITLE`] bytes).
//!
//! # Layout
//! - this file: the state machine over text, tags, comments and raw text.
//! - `tag`: what a start or end tag (or a `<!` declaration) does. `tags`: element and
//!   attribute tables.
//! - `entities`: character references.

use memchr::{memchr, memchr2};

mod entities;
mod tag;
mod tags;

use crate::detect::{TextKind, TextSink};
use tags::{RawKind, Slot, SLOTS};

/// A tag whose bytes exceed this has its attributes dropped.
pub const MAX_TAG: usize = 8 * 1024;
/// The title reported through [`TextSink::title`] is cut to this many bytes.
pub const MAX_TITLE: usize = 1024;
/// Longer element and attribute names are not ones we look for.
const MAX_NAME: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    Entity,
    TagOpen,
    EndTagOpen,
    TagName,
    BeforeAttr,
    AttrName,
    AfterAttrName,
    BeforeValue,
    Value,
    MarkupDecl,
    Comment,
    BogusComment,
    Cdata,
    RawData,
    RawEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TitleState {
    Before,
    Collecting,
    Done,
}

/// A small name buffer: lower-cased, with a flag for names too long to be interesting.
#[derive(Debug, Clone, Copy)]
struct Name {
    bytes: [u8; MAX_NAME],
    len: usize,
    long: bool,
}

impl Name {
    const EMPTY: Name = Name {
        bytes: [0; MAX_NAME],
        len: 0,
        long: false,
    };

    fn push(&mut self, b: u8) {
        if self.len < MAX_NAME {
            self.bytes[self.len] = b.to_ascii_lowercase();
            self.len += 1;
        } else {
            self.long = true;
        }
    }

    fn get(&self) -> &[u8] {
        if self.long {
            b""
        } else {
            &self.bytes[..self.len]
        }
    }
}

/// Extracts visible text from an HTML or XML document, streaming.
#[derive(Debug)]
pub struct HtmlExtractor {
    kind: TextKind,
    xml: bool,
    state: State,
    tag: Name,
    end_tag: bool,
    self_closing: bool,
    attr: Name,
    quote: u8,
    slot: Option<Slot>,
    slots: [String; SLOTS],
    tag_bytes: usize,
    raw: Option<(RawKind, &'static [u8])>,
    raw_matched: usize,
    template_depth: u32,
    entity: [u8; entities::MAX_NAME + 1],
    entity_len: usize,
    markup: [u8; 7],
    markup_len: usize,
    run: u8,
    title: String,
    title_state: TitleState,
    boundary_pending: bool,
    text_since_boundary: bool,
    scratch: String,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// `s[a..b]`, or "" if the cut is not on a character boundary (never the case: cuts are at
/// ASCII bytes).
fn slice(s: &str, a: usize, b: usize) -> &str {
    s.get(a..b).unwrap_or_default()
}

/// Appends as much of `s` as fits in `max` bytes, cutting at a character boundary.
pub(crate) fn push_bounded(dst: &mut String, s: &str, max: usize) {
    let room = max.saturating_sub(dst.len());
    if s.len() <= room {
        dst.push_str(s);
        return;
    }
    let mut end = room;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    dst.push_str(slice(s, 0, end));
}

impl HtmlExtractor {
    /// An extractor for HTML; text is reported as `kind`.
    pub fn new(kind: TextKind) -> Self {
        HtmlExtractor {
            kind,
            xml: false,
            state: State::Data,
            tag: Name::EMPTY,
            end_tag: false,
            self_closing: false,
            attr: Name::EMPTY,
            quote: 0,
            slot: None,
            slots: Default::default(),
            tag_bytes: 0,
            raw: None,
            raw_matched: 0,
            template_depth: 0,
            entity: [0; entities::MAX_NAME + 1],
            entity_len: 0,
            markup: [0; 7],
            markup_len: 0,
            run: 0,
            title: String::new(),
            title_state: TitleState::Before,
            boundary_pending: false,
            text_since_boundary: false,
            scratch: String::new(),
        }
    }

    /// An extractor for XML documents (RSS, Atom, XHTML served as XML): every element edge is
    /// a boundary, `title` and `textarea` are ordinary elements, self-closing tags close, and
    /// CDATA sections are read as content (feeds put their HTML there).
    pub fn new_xml(kind: TextKind) -> Self {
        HtmlExtractor {
            xml: true,
            ..HtmlExtractor::new(kind)
        }
    }

    /// Extracts from one chunk of the document.
    pub fn feed(&mut self, chunk: &str, sink: &mut dyn TextSink) {
        let b = chunk.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            match self.state {
                State::Data => match memchr2(b'<', b'&', &b[i..]) {
                    None => {
                        self.text(slice(chunk, i, b.len()), sink);
                        i = b.len();
                    }
                    Some(p) => {
                        self.text(slice(chunk, i, i + p), sink);
                        self.state = if b[i + p] == b'<' {
                            State::TagOpen
                        } else {
                            self.entity_start()
                        };
                        i += p + 1;
                    }
                },
                State::RawData => {
                    let text = matches!(self.raw, Some((RawKind::Text, _)));
                    let found = if text {
                        memchr2(b'<', b'&', &b[i..])
                    } else {
                        memchr(b'<', &b[i..])
                    };
                    let end = found.map_or(b.len(), |p| i + p);
                    if text {
                        self.text(slice(chunk, i, end), sink);
                    }
                    if end < b.len() {
                        self.raw_matched = 0;
                        self.state = if b[end] == b'<' {
                            State::RawEnd
                        } else {
                            self.entity_start()
                        };
                    }
                    i = (end + 1).min(b.len());
                }
                State::RawEnd => {
                    let name = self.raw.map_or(&b""[..], |r| r.1);
                    if self.raw_matched <= name.len() {
                        let want = if self.raw_matched == 0 {
                            b'/'
                        } else {
                            name[self.raw_matched - 1]
                        };
                        if c.to_ascii_lowercase() == want {
                            self.raw_matched += 1;
                            i += 1;
                        } else {
                            self.raw_mismatch(sink);
                        }
                    } else if is_space(c) || c == b'/' || c == b'>' {
                        self.begin_tag(true);
                        for &n in name {
                            self.tag.push(n);
                        }
                        self.state = State::BeforeAttr;
                    } else {
                        self.raw_mismatch(sink);
                    }
                }
                State::Entity => {
                    if (self.entity_len == 0 && c == b'#')
                        || (c.is_ascii_alphanumeric() && self.entity_len < self.entity.len())
                    {
                        self.entity[self.entity_len] = c;
                        self.entity_len += 1;
                        i += 1;
                    } else {
                        let terminated = c == b';';
                        if terminated {
                            i += 1;
                        }
                        self.end_entity(terminated, sink);
                    }
                }
                State::TagOpen => {
                    if c.is_ascii_alphabetic() {
                        self.begin_tag(false);
                        self.state = State::TagName;
                    } else if c == b'/' {
                        self.state = State::EndTagOpen;
                        i += 1;
                    } else if c == b'!' {
                        self.markup_len = 0;
                        self.state = State::MarkupDecl;
                        i += 1;
                    } else if c == b'?' {
                        self.state = State::BogusComment;
                        i += 1;
                    } else {
                        self.state = State::Data;
                        self.text("<", sink);
                    }
                }
                State::EndTagOpen => {
                    if c.is_ascii_alphabetic() {
                        self.begin_tag(true);
                        self.state = State::TagName;
                    } else if c == b'>' {
                        self.state = State::Data;
                        i += 1;
                    } else {
                        self.state = State::BogusComment;
                    }
                }
                State::TagName => {
                    let rest = &b[i..];
                    let n = rest
                        .iter()
                        .position(|&x| is_space(x) || x == b'/' || x == b'>')
                        .unwrap_or(rest.len());
                    rest[..n].iter().for_each(|&x| self.tag.push(x));
                    self.tag_bytes += n;
                    i += n;
                    if i < b.len() {
                        self.state = State::BeforeAttr;
                    }
                }
                State::BeforeAttr => {
                    i += 1;
                    self.tag_bytes += 1;
                    if c == b'>' {
                        self.end_of_tag(sink);
                    } else if c == b'/' {
                        self.self_closing = true;
                    } else if !is_space(c) {
                        self.self_closing = false;
                        self.attr = Name::EMPTY;
                        self.attr.push(c);
                        self.state = State::AttrName;
                    }
                }
                State::AttrName => {
                    let rest = &b[i..];
                    let n = rest
                        .iter()
                        .position(|&x| is_space(x) || matches!(x, b'=' | b'/' | b'>'))
                        .unwrap_or(rest.len());
                    rest[..n].iter().for_each(|&x| self.attr.push(x));
                    self.tag_bytes += n;
                    i += n;
                    match b.get(i) {
                        None => {}
                        Some(b'=') => {
                            self.state = State::BeforeValue;
                            i += 1;
                        }
                        Some(b'/' | b'>') => self.state = State::BeforeAttr,
                        Some(_) => {
                            self.state = State::AfterAttrName;
                            i += 1;
                        }
                    }
                }
                State::AfterAttrName => {
                    if is_space(c) {
                        i += 1;
                    } else if c == b'=' {
                        self.state = State::BeforeValue;
                        i += 1;
                    } else {
                        self.state = State::BeforeAttr;
                    }
                }
                State::BeforeValue => {
                    if is_space(c) {
                        i += 1;
                    } else if c == b'>' {
                        self.state = State::BeforeAttr;
                    } else {
                        self.quote = if c == b'"' || c == b'\'' { c } else { 0 };
                        if self.quote != 0 {
                            i += 1;
                        }
                        self.start_value();
                        self.state = State::Value;
                    }
                }
                State::Value => {
                    let rest = &b[i..];
                    let found = if self.quote != 0 {
                        memchr(self.quote, rest)
                    } else {
                        rest.iter().position(|&x| is_space(x) || x == b'>')
                    };
                    let end = found.map_or(b.len(), |p| i + p);
                    self.capture(slice(chunk, i, end));
                    i = end;
                    if found.is_some() {
                        if self.quote != 0 {
                            i += 1;
                        }
                        self.slot = None;
                        self.state = State::BeforeAttr;
                    }
                }
                State::MarkupDecl => self.markup_decl(c, &mut i),
                State::Comment | State::Cdata => {
                    let (dash, close) = if self.state == State::Comment {
                        (b'-', 2)
                    } else {
                        (b']', 2)
                    };
                    match memchr2(dash, b'>', &b[i..]) {
                        None => {
                            self.run = 0;
                            i = b.len();
                        }
                        Some(p) => {
                            if p > 0 {
                                self.run = 0;
                            }
                            if b[i + p] == dash {
                                self.run = self.run.saturating_add(1);
                            } else if self.run >= close {
                                self.state = State::Data;
                            } else {
                                self.run = 0;
                            }
                            i += p + 1;
                        }
                    }
                }
                State::BogusComment => match memchr(b'>', &b[i..]) {
                    None => i = b.len(),
                    Some(p) => {
                        self.state = State::Data;
                        i += p + 1;
                    }
                },
            }
        }
    }

    /// Ends the document: flushes a pending entity or `<`, reports an unterminated title, and
    /// ends the last block.
    pub fn finish(&mut self, sink: &mut dyn TextSink) {
        match self.state {
            State::Entity => self.end_entity(false, sink),
            State::TagOpen => self.text("<", sink),
            State::RawEnd => self.raw_mismatch(sink),
            _ => {}
        }
        if self.title_state == TitleState::Collecting {
            self.end_title(sink);
        }
        if self.text_since_boundary {
            sink.boundary();
            self.text_since_boundary = false;
        }
        self.state = State::Data;
    }

    /// Reports visible text.
    fn text(&mut self, s: &str, sink: &mut dyn TextSink) {
        if s.is_empty() || self.template_depth > 0 {
            return;
        }
        if self.title_state == TitleState::Collecting {
            push_bounded(&mut self.title, s, MAX_TITLE);
        }
        if self.boundary_pending {
            if self.text_since_boundary {
                sink.boundary();
            }
            self.boundary_pending = false;
        }
        sink.text(self.kind, s);
        self.text_since_boundary = true;
    }

    fn entity_start(&mut self) -> State {
        self.entity_len = 0;
        State::Entity
    }

    fn end_entity(&mut self, terminated: bool, sink: &mut dyn TextSink) {
        self.state = if self.raw.is_some() {
            State::RawData
        } else {
            State::Data
        };
        let body = &self.entity[..self.entity_len];
        let resolved = match body {
            [b'#', digits @ ..] => entities::parse_numeric(digits),
            name => entities::named(name, terminated),
        };
        let mut utf8 = [0u8; 4];
        match resolved {
            Some(ch) => self.text(ch.encode_utf8(&mut utf8), sink),
            None => {
                let mut literal = [0u8; entities::MAX_NAME + 3];
                literal[0] = b'&';
                let n = body.len();
                literal[1..=n].copy_from_slice(body);
                let mut len = n + 1;
                if terminated {
                    literal[len] = b';';
                    len += 1;
                }
                // The bytes are ASCII, so this is always valid UTF-8.
                if let Ok(s) = std::str::from_utf8(&literal[..len]) {
                    self.text(s, sink);
                }
            }
        }
    }

    /// `<` plus what matched of a raw element's end tag was text after all.
    fn raw_mismatch(&mut self, sink: &mut dyn TextSink) {
        self.state = State::RawData;
        if let Some((RawKind::Text, name)) = self.raw {
            self.text("<", sink);
            if self.raw_matched > 0 {
                self.text("/", sink);
                let matched = &name[..(self.raw_matched - 1).min(name.len())];
                self.text(std::str::from_utf8(matched).unwrap_or_default(), sink);
            }
        }
    }
}

#[cfg(test)]
mod tests;
