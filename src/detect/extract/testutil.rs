//! Test helpers shared by the extractor tests: a sink that records what it is given, and
//! checks that splitting the input anywhere changes nothing.

use crate::detect::{TextKind, TextSink};

/// Records text (boundaries as `|`, collapsed; a kind change as `[kind]`) and titles.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Collect {
    /// The text, `|` at each boundary between texts.
    pub out: String,
    /// Titles reported.
    pub titles: Vec<String>,
    last_kind: Option<TextKind>,
    pending: bool,
}

impl Collect {
    /// The recorded text with the kind markers removed.
    pub fn text(&self) -> String {
        let mut s = self.out.clone();
        for kind in [TextKind::Search, TextKind::Typed, TextKind::Page] {
            s = s.replace(&format!("[{}]", kind.label()), "");
        }
        s
    }

    /// The texts between boundaries.
    pub fn parts(&self) -> Vec<String> {
        self.text().split('|').map(str::to_owned).collect()
    }
}

impl TextSink for Collect {
    fn text(&mut self, kind: TextKind, text: &str) {
        assert!(!text.is_empty(), "empty text handed to the sink");
        if self.pending && !self.out.is_empty() {
            self.out.push('|');
        }
        self.pending = false;
        if self.last_kind != Some(kind) {
            self.out.push_str(&format!("[{}]", kind.label()));
            self.last_kind = Some(kind);
        }
        self.out.push_str(text);
    }

    fn boundary(&mut self) {
        self.pending = true;
    }

    fn title(&mut self, title: &str) {
        self.titles.push(title.to_owned());
    }
}

/// Ways to cut `len` bytes into chunks: every single cut point, then every chunk size up to
/// 64 (or `len`). Each way is a list of cut positions.
pub(crate) fn cuttings(len: usize) -> Vec<Vec<usize>> {
    let mut ways: Vec<Vec<usize>> = (1..len).map(|i| vec![i]).collect();
    for size in 1..=len.clamp(1, 64) {
        ways.push((1..len.div_ceil(size)).map(|k| k * size).collect());
    }
    ways
}

/// Runs `run` on `input` whole and cut every way [`cuttings`] gives (cuts moved to the next
/// character boundary, as the charset decoder guarantees), asserting the result never changes.
/// Returns the whole-input result.
pub(crate) fn assert_split_invariant_str(
    input: &str,
    mut run: impl FnMut(&[&str]) -> Collect,
) -> Collect {
    let whole = run(&[input]);
    for cuts in cuttings(input.len()) {
        let mut chunks = Vec::new();
        let mut start = 0;
        for mut cut in cuts {
            while !input.is_char_boundary(cut) {
                cut += 1;
            }
            if cut > start && cut < input.len() {
                chunks.push(&input[start..cut]);
                start = cut;
            }
        }
        chunks.push(&input[start..]);
        assert_eq!(run(&chunks), whole, "cut into {chunks:?}");
    }
    whole
}

/// Like [`assert_split_invariant_str`] for byte input, cut anywhere.
pub(crate) fn assert_split_invariant(
    input: &[u8],
    mut run: impl FnMut(&[&[u8]]) -> Collect,
) -> Collect {
    let whole = run(&[input]);
    for cuts in cuttings(input.len()) {
        let mut chunks = Vec::new();
        let mut start = 0;
        for cut in cuts {
            chunks.push(&input[start..cut]);
            start = cut;
        }
        chunks.push(&input[start..]);
        assert_eq!(
            run(&chunks),
            whole,
            "cut at {:?}",
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>()
        );
    }
    whole
}
