//! The tag half of the HTML extractor: starting and ending tags, capturing the attribute
//! values a person sees, and what an element's start or end means (a boundary, raw text,
//! template content, the title).

use super::tags::{is_block, raw_kind, shown_slots, slot_for, RawKind, Slot};
use super::{entities, HtmlExtractor, Name, State, TitleState, MAX_TAG};
use crate::detect::TextSink;

impl HtmlExtractor {
    pub(super) fn begin_tag(&mut self, end: bool) {
        self.tag = Name::EMPTY;
        self.end_tag = end;
        self.self_closing = false;
        self.tag_bytes = 0;
        self.slot = None;
    }

    pub(super) fn markup_decl(&mut self, c: u8, i: &mut usize) {
        self.markup[self.markup_len] = c;
        self.markup_len += 1;
        let m = &self.markup[..self.markup_len];
        if m == b"--" {
            self.state = State::Comment;
            // "<!-->" and "<!--->" are complete (empty) comments.
            self.run = 2;
            *i += 1;
        } else if m == b"[CDATA[" {
            self.run = 0;
            self.state = if self.xml { State::Data } else { State::Cdata };
            *i += 1;
        } else if b"--".starts_with(m) || b"[CDATA[".starts_with(m) {
            *i += 1;
        } else {
            // A doctype or other declaration: skipped up to `>` (this byte may be it).
            self.state = State::BogusComment;
        }
    }

    pub(super) fn start_value(&mut self) {
        self.slot = None;
        if self.end_tag || self.template_depth > 0 || self.tag_bytes > MAX_TAG {
            return;
        }
        self.slot = slot_for(self.tag.get(), self.attr.get());
        if let Some(slot) = self.slot {
            self.slots[slot as usize].clear();
        }
    }

    pub(super) fn capture(&mut self, s: &str) {
        self.tag_bytes += s.len();
        let Some(slot) = self.slot else { return };
        if self.tag_bytes > MAX_TAG {
            self.slot = None;
            self.slots.iter_mut().for_each(String::clear);
            return;
        }
        self.slots[slot as usize].push_str(s);
    }

    pub(super) fn end_of_tag(&mut self, sink: &mut dyn TextSink) {
        self.state = State::Data;
        let tag = self.tag;
        let name = tag.get();
        let block = self.xml || is_block(name);
        if self.end_tag {
            if block {
                self.boundary_pending = true;
            }
            if name == b"title" && self.title_state == TitleState::Collecting {
                self.end_title(sink);
            }
            if name == b"template" {
                self.template_depth = self.template_depth.saturating_sub(1);
            }
            self.raw = None;
            return;
        }
        if name == b"template" && !self.self_closing {
            self.template_depth = self.template_depth.saturating_add(1);
        }
        if self.template_depth == 0 {
            if block {
                self.boundary_pending = true;
            }
            if self.tag_bytes <= MAX_TAG {
                self.show_attributes(sink);
            }
            if name == b"title"
                && self.title_state == TitleState::Before
                && !(self.xml && self.self_closing)
            {
                self.title_state = TitleState::Collecting;
            }
        }
        let raw = raw_kind(self.tag.get())
            .filter(|(kind, _)| !self.xml || (*kind == RawKind::Skip && !self.self_closing));
        if let Some(raw) = raw {
            self.raw = Some(raw);
            self.state = State::RawData;
        }
        self.slots.iter_mut().for_each(String::clear);
    }

    pub(super) fn show_attributes(&mut self, sink: &mut dyn TextSink) {
        let tag = self.tag;
        let shown = shown_slots(tag.get(), &self.slots[Slot::Type as usize]);
        for &slot in shown {
            let mut scratch = std::mem::take(&mut self.scratch);
            scratch.clear();
            entities::decode_into(&self.slots[slot as usize], &mut scratch);
            let shown = scratch.trim();
            if !shown.is_empty() {
                self.boundary_pending = true;
                self.text(shown, sink);
                self.boundary_pending = true;
            }
            self.scratch = scratch;
        }
    }

    pub(super) fn end_title(&mut self, sink: &mut dyn TextSink) {
        self.title_state = TitleState::Done;
        let collapsed = self.title.split_whitespace().collect::<Vec<_>>().join(" ");
        if !collapsed.is_empty() {
            sink.title(&collapsed);
        }
        self.title = String::new();
    }
}
