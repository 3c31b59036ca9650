//! Plain text: passed through as it comes.

use crate::detect::{TextKind, TextSink};

/// Hands plain text to the sink unchanged; one boundary at the end.
#[derive(Debug)]
pub struct TextExtractor {
    kind: TextKind,
    emitted: bool,
}

impl TextExtractor {
    /// An extractor reporting text as `kind`.
    pub fn new(kind: TextKind) -> Self {
        TextExtractor {
            kind,
            emitted: false,
        }
    }

    /// One chunk of text.
    pub fn feed(&mut self, chunk: &str, sink: &mut dyn TextSink) {
        if !chunk.is_empty() {
            sink.text(self.kind, chunk);
            self.emitted = true;
        }
    }

    /// The end of the text.
    pub fn finish(&mut self, sink: &mut dyn TextSink) {
        if self.emitted {
            sink.boundary();
            self.emitted = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::extract::testutil::{assert_split_invariant_str, Collect};

    #[test]
    fn text_passes_through_at_any_split() {
        let c = assert_split_invariant_str("Zażółć gęślą jaźń\nsecond line", |chunks| {
            let mut sink = Collect::default();
            let mut x = TextExtractor::new(TextKind::Typed);
            for chunk in chunks {
                x.feed(chunk, &mut sink);
            }
            x.finish(&mut sink);
            sink
        });
        assert_eq!(c.out, "[typed]Zażółć gęślą jaźń\nsecond line");
    }
}
