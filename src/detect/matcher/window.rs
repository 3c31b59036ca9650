//! The bounded window of recent words: the normalised stream the automata scan, each word's
//! original text (for context) and its kind. Old words are dropped as the stream moves on,
//! so memory stays flat however long the body.

use std::collections::VecDeque;
use std::ops::Range;

use super::scan::BOUNDARY;
use crate::detect::normalise::{Word, WordSink};
use crate::detect::TextKind;

/// Words kept behind the newest one (context, exception windows and combos look back at
/// most this far).
pub(crate) const KEEP_WORDS: u64 = 256;

/// One word in the window. Offsets are absolute (from the start of the stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Meta {
    /// Offset of the word's first normalised byte in the stream.
    stream_start: u64,
    /// Offset of the original text in the original-text buffer; `u64::MAX` when the
    /// original text is the normalised text (most words), which is then read from the
    /// stream.
    orig_start: u64,
    /// Length of the original text (or of the normalised text).
    orig_len: u32,
    kind: TextKind,
    /// True when a field boundary precedes the word.
    boundary_before: bool,
}

/// Context around a hit, ready for a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Context {
    /// The words' original text joined by spaces (` | ` between fields).
    pub text: String,
    /// Byte ranges of the matched words in `text`.
    pub highlights: Vec<Range<usize>>,
    /// The matched words' original text (parts of a combination joined by ` … `).
    pub matched: String,
    /// Words precede the context.
    pub more_before: bool,
    /// Words follow the context (or may still follow).
    pub more_after: bool,
}

/// Recent words of one stream; implements [`WordSink`] for the normaliser.
#[derive(Debug)]
pub(crate) struct WordWindow {
    stream: Vec<u8>,
    stream_base: u64,
    orig: String,
    orig_base: u64,
    words: VecDeque<Meta>,
    /// Index of `words[0]`.
    first: u64,
    /// The kind given to new words.
    pub kind: TextKind,
    /// The stream ends at a segment start (nothing to separate yet).
    at_segment_start: bool,
    boundary_pending: bool,
}

impl WordWindow {
    /// An empty window; words get `kind` until it is changed.
    pub(crate) fn new(kind: TextKind) -> WordWindow {
        WordWindow {
            stream: Vec::new(),
            stream_base: 0,
            orig: String::new(),
            orig_base: 0,
            words: VecDeque::new(),
            first: 0,
            kind,
            at_segment_start: true,
            boundary_pending: false,
        }
    }

    /// The stream offset just past the last byte written.
    pub(crate) fn stream_end(&self) -> u64 {
        self.stream_base + self.stream.len() as u64
    }

    /// Stream bytes from offset `from` (clamped to what is kept) to the end.
    pub(crate) fn bytes_from(&self, from: u64) -> &[u8] {
        let at = from.saturating_sub(self.stream_base) as usize;
        self.stream.get(at..).unwrap_or(&[])
    }

    /// Stream bytes in `range` (clamped to what is kept).
    pub(crate) fn bytes(&self, range: Range<u64>) -> &[u8] {
        let a = range.start.saturating_sub(self.stream_base) as usize;
        let b = range.end.saturating_sub(self.stream_base) as usize;
        self.stream.get(a..b.min(self.stream.len())).unwrap_or(&[])
    }

    /// Index of the oldest word kept.
    pub(crate) fn first_index(&self) -> u64 {
        self.first
    }

    /// Index the next word will get (= words seen so far).
    pub(crate) fn next_index(&self) -> u64 {
        self.first + self.words.len() as u64
    }

    /// Index of the word whose bytes (or trailing space) include stream offset `at`.
    pub(crate) fn word_at(&self, at: u64) -> Option<u64> {
        let n = self.words.partition_point(|m| m.stream_start <= at);
        (n > 0).then(|| self.first + n as u64 - 1)
    }

    /// [`WordWindow::word_at`] for offsets that mostly increase: starts from position
    /// `hint` (updated) and walks forward, falling back to a binary search.
    pub(crate) fn word_at_from(&self, at: u64, hint: &mut usize) -> Option<u64> {
        let mut i = *hint;
        if self.words.get(i).is_none_or(|m| m.stream_start > at) {
            let word = self.word_at(at)?;
            *hint = (word - self.first) as usize;
            return Some(word);
        }
        while self.words.get(i + 1).is_some_and(|m| m.stream_start <= at) {
            i += 1;
        }
        *hint = i;
        Some(self.first + i as u64)
    }

    /// Stream offset where word `index` starts.
    pub(crate) fn word_start(&self, index: u64) -> Option<u64> {
        self.meta(index).map(|m| m.stream_start)
    }

    /// The kind of word `index`.
    pub(crate) fn kind_of(&self, index: u64) -> TextKind {
        self.meta(index).map_or(self.kind, |m| m.kind)
    }

    /// The start of the segment holding offset `at`, looking back no further than `from`
    /// (the offset after the last boundary in `from..at`, else `from`).
    pub(crate) fn segment_start(&self, from: u64, at: u64) -> u64 {
        let from = from.max(self.stream_base);
        match self.bytes(from..at).iter().rposition(|&b| b == BOUNDARY) {
            Some(p) => from + p as u64 + 1,
            None => from,
        }
    }

    fn meta(&self, index: u64) -> Option<&Meta> {
        let i = index.checked_sub(self.first)?;
        self.words.get(usize::try_from(i).ok()?)
    }

    fn orig_of(&self, m: &Meta) -> &str {
        if m.orig_start == u64::MAX {
            let a = m.stream_start.saturating_sub(self.stream_base) as usize;
            let bytes = self.stream.get(a..a + m.orig_len as usize).unwrap_or(&[]);
            return std::str::from_utf8(bytes).unwrap_or("");
        }
        let a = m.orig_start.saturating_sub(self.orig_base) as usize;
        self.orig.get(a..a + m.orig_len as usize).unwrap_or("")
    }

    /// Drops words before `keep_from` (never the newest [`KEEP_WORDS`]); bytes are released
    /// in batches so trimming costs little.
    pub(crate) fn trim(&mut self, keep_from: u64) {
        let keep_from = keep_from.min(self.next_index().saturating_sub(KEEP_WORDS));
        if keep_from <= self.first || self.words.len() < 2 * KEEP_WORDS as usize {
            return;
        }
        let drop = (keep_from - self.first).min(self.words.len() as u64) as usize;
        self.words.drain(..drop);
        self.first += drop as u64;
        if let Some(m) = self.words.front() {
            let s = m
                .stream_start
                .saturating_sub(1)
                .saturating_sub(self.stream_base) as usize;
            let s = s.min(self.stream.len());
            self.stream.drain(..s);
            self.stream_base += s as u64;
            // The first kept word with its own original text marks what can go.
            let o = self
                .words
                .iter()
                .find(|m| m.orig_start != u64::MAX)
                .map_or(self.orig.len(), |m| {
                    m.orig_start.saturating_sub(self.orig_base) as usize
                });
            let o = o.min(self.orig.len());
            if self.orig.is_char_boundary(o) {
                self.orig.drain(..o);
                self.orig_base += o as u64;
            }
        }
    }

    /// Context for a hit whose matched words are `spans` (inclusive word ranges, in order):
    /// up to `radius` words either side. `last` says whether the stream has ended.
    pub(crate) fn context(&self, spans: &[(u64, u64)], radius: u64, ended: bool) -> Context {
        let lo = spans.iter().map(|s| s.0).min().unwrap_or(0);
        let hi = spans.iter().map(|s| s.1).max().unwrap_or(0);
        let from = lo.saturating_sub(radius).max(self.first);
        let to = (hi + radius).min(self.next_index().saturating_sub(1));
        let mut text = String::new();
        let mut highlights: Vec<Range<usize>> = Vec::new();
        let mut matched = String::new();
        let mut open: Option<usize> = None;
        for i in from..=to {
            let Some(m) = self.meta(i) else { break };
            if i > from {
                text.push_str(if m.boundary_before { " | " } else { " " });
            }
            let span = spans.iter().position(|s| s.0 <= i && i <= s.1);
            if span.is_some() && open.is_none() {
                open = Some(text.len());
                if !matched.is_empty() {
                    matched.push_str(" … ");
                }
            } else if span.is_some() {
                matched.push(' ');
            }
            let orig = self.orig_of(m);
            push_clean(&mut text, orig);
            if span.is_some() {
                push_clean(&mut matched, orig);
            }
            let closes = span.is_some_and(|s| spans[s].1 == i);
            if let (true, Some(start)) = (closes, open) {
                highlights.push(start..text.len());
                open = None;
            }
        }
        if let Some(start) = open {
            highlights.push(start..text.len());
        }
        Context {
            text,
            highlights,
            matched,
            more_before: from > 0,
            more_after: !ended || to + 1 < self.next_index(),
        }
    }
}

/// Appends `s` with control characters (newlines, tabs) shown as spaces.
fn push_clean(out: &mut String, s: &str) {
    // 0xC2 leads the C1 controls (and a few printable characters, which take the slow path).
    if s.bytes().any(|b| b < 0x20 || b == 0x7f || b == 0xC2) {
        out.extend(s.chars().map(|c| if c.is_control() { ' ' } else { c }));
    } else {
        out.push_str(s);
    }
}

impl WordSink for WordWindow {
    #[inline]
    fn word(&mut self, word: Word<'_>) {
        if self.stream.is_empty() && self.words.is_empty() {
            self.stream.push(b' ');
            self.first = word.index;
        }
        // Plain words are their own normalised form (the same slice).
        let same = std::ptr::eq(word.orig, word.norm) || word.orig == word.norm;
        let meta = Meta {
            stream_start: self.stream_end(),
            orig_start: if same {
                u64::MAX
            } else {
                self.orig_base + self.orig.len() as u64
            },
            orig_len: word.orig.len() as u32,
            kind: self.kind,
            boundary_before: std::mem::take(&mut self.boundary_pending),
        };
        self.stream.extend_from_slice(word.norm.as_bytes());
        self.stream.push(b' ');
        if !same {
            self.orig.push_str(word.orig);
        }
        self.words.push_back(meta);
        self.at_segment_start = false;
    }

    fn boundary(&mut self) {
        if !self.at_segment_start {
            self.stream.push(BOUNDARY);
            self.stream.push(b' ');
            self.at_segment_start = true;
            self.boundary_pending = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::normalise::Normaliser;

    fn window(pieces: &[&str]) -> WordWindow {
        let mut w = WordWindow::new(TextKind::Page);
        let mut n = Normaliser::new();
        for p in pieces {
            if p.is_empty() {
                n.boundary(&mut w);
            } else {
                n.push(p, &mut w);
            }
        }
        n.finish(&mut w);
        w
    }

    #[test]
    fn builds_the_normalised_stream() {
        let w = window(&["Hello, W0rld", "", "", "k.i.l.l me"]);
        assert_eq!(w.bytes_from(0), b" hello world \n kill me ");
        assert_eq!(w.next_index(), 4);
        assert_eq!(w.word_at(1), Some(0));
        assert_eq!(
            w.word_at(6),
            Some(0),
            "the trailing space belongs to the word"
        );
        assert_eq!(w.word_at(7), Some(1));
        let mut hint = 0;
        let walked: Vec<_> = [1, 6, 7, 15, 22, 3]
            .iter()
            .map(|&at| w.word_at_from(at, &mut hint))
            .collect();
        let searched: Vec<_> = [1, 6, 7, 15, 22, 3]
            .iter()
            .map(|&at| w.word_at(at))
            .collect();
        assert_eq!(walked, searched);
        assert_eq!(w.word_start(2), Some(15));
        assert_eq!(w.segment_start(0, 18), 14);
        assert_eq!(w.segment_start(0, 5), 0);
        assert_eq!(w.segment_start(15, 18), 15);
    }

    #[test]
    fn context_highlights_matched_words_with_original_text() {
        let text = "one two three four five six seven eight nine ten kids say KILL YOURSELF in \
                    the chat a b c d e f g h i j k l m";
        let w = window(&[text]);
        let ctx = w.context(&[(12, 13)], 10, true);
        assert!(ctx.text.starts_with("three four"), "{}", ctx.text);
        assert_eq!(&ctx.text[ctx.highlights[0].clone()], "KILL YOURSELF");
        assert_eq!(ctx.matched, "KILL YOURSELF");
        assert!(ctx.more_before && !ctx.more_after);
        assert!(
            ctx.text.ends_with(" chat a b c d e f g h i j k l m"),
            "{}",
            ctx.text
        );

        let w = window(&["how to tie a", "", "noose at home"]);
        let ctx = w.context(&[(0, 1), (4, 4)], 10, true);
        assert_eq!(ctx.text, "how to tie a | noose at home");
        assert_eq!(ctx.matched, "how to … noose");
        assert_eq!(ctx.highlights.len(), 2);
        assert!(!ctx.more_before && !ctx.more_after);
    }

    #[test]
    fn trimming_keeps_memory_flat() {
        let mut w = WordWindow::new(TextKind::Page);
        let mut n = Normaliser::new();
        for i in 0..20_000 {
            n.push(&format!("word{} ", i % 7), &mut w);
            w.trim(u64::MAX);
        }
        assert!(
            w.words.len() <= 2 * KEEP_WORDS as usize,
            "{}",
            w.words.len()
        );
        assert!(w.stream.len() < 20 * KEEP_WORDS as usize);
        assert!(w.orig.len() < 20 * KEEP_WORDS as usize);
        let last = w.next_index() - 1;
        let ctx = w.context(&[(last, last)], 10, true);
        assert!(ctx.text.ends_with(" word0"), "{}", ctx.text);
        assert_eq!(w.word_at(w.stream_end() - 1), Some(last));
    }
}
