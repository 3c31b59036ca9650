//! Detection: find what matters in the stream, with few false alarms.
//!
//! # Layout
//! Bytes flow top to bottom, each stage streaming (no body is buffered whole):
//! - [`decode`]: `Content-Encoding` (gzip, deflate, br, zstd) with an expansion cap, then the
//!   charset (encoding_rs) to UTF-8.
//! - [`extract`]: what a person typed or saw: search terms from URLs, form fields, JSON string
//!   values, visible HTML text (title and alt text included, script and style skipped),
//!   plain text, WebSocket text messages. Extraction calls a [`TextSink`].
//! - [`normalise`]: NFKC, case folding, diacritics, zero-width characters, letter
//!   substitutions, repeated letters and separated letters, word by word, keeping each word's
//!   original text for context.
//! - [`matcher`]: the compiled library (aho-corasick for phrases, regex-automata DFAs for
//!   patterns) scanning the normalised words with state carried across chunks; combinations
//!   and exceptions.
//! - [`score`]: findings to a score and a severity; thresholds decide what becomes an incident.
//! - [`finding`] and [`scanner`]: one finding with its highlighted context; the per-body scanner
//!   that ties normaliser, matcher and scoring together as a [`TextSink`].
//! - [`inspector`]: all of the above behind the proxy's inspection hook; [`embedded`]: the
//!   starter library compiled into the binary.

pub mod decode;
pub mod embedded;
pub mod extract;
pub mod finding;
pub mod inspector;
pub mod matcher;
pub mod normalise;
pub mod scanner;
pub mod score;

/// What kind of text a piece of extracted text is: it decides how much a hit weighs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum TextKind {
    /// A search query the user typed into a search engine or video site.
    Search,
    /// Text the user typed and sent: form fields, chat and WebSocket messages, uploads.
    Typed,
    /// Text a page showed the user.
    Page,
}

impl TextKind {
    /// A short label.
    pub fn label(self) -> &'static str {
        match self {
            TextKind::Search => "search",
            TextKind::Typed => "typed",
            TextKind::Page => "page",
        }
    }

    /// True for what the user typed (searches included).
    pub fn is_typed(self) -> bool {
        matches!(self, TextKind::Search | TextKind::Typed)
    }
}

/// Receives extracted text, in order. Extraction may split text anywhere (even inside a word);
/// [`TextSink::boundary`] marks the end of a field or segment, so words never join across two
/// fields.
pub trait TextSink {
    /// A piece of text of the given kind.
    fn text(&mut self, kind: TextKind, text: &str);
    /// The end of a field, element or message: what follows is a separate text.
    fn boundary(&mut self);
    /// The page title, once known.
    fn title(&mut self, title: &str);
}
