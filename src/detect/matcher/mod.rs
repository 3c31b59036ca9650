//! The compiled library: one aho-corasick automaton for every phrase (entries, combo parts,
//! exception context phrases, and the final literals of regex entries) stepped over the
//! normalised stream with its state carried across chunks, plus regex-automata DFAs for the
//! regex entries (see `regex`).
//!
//! # The normalised stream
//! The automata never see raw text. They scan a stream built from the
//! [normaliser](crate::detect::normalise)'s words: a single space, then each normalised word
//! followed by a single space (` w1 w2 w3 `). The end of a field (`TextSink::boundary`) is a
//! newline followed by a space, and no pattern contains a newline, so no phrase spans two
//! fields. Word edges are encoded in the patterns: an [`Edge::Word`] phrase `cut myself` is
//! the pattern ` cut myself `, an [`Edge::Start`] phrase `suicid` is ` suicid`, an
//! [`Edge::Substring`] phrase is the bare text. Phrases are normalised with exactly the
//! function applied to text. Patterns share their edge spaces, so matching is overlapping.
//!
//! Regex entries are written against that stream: lower case, no diacritics, words
//! separated by single spaces, no punctuation (`(?:i|im|i am) (?:want|wanna) to die`). The
//! edge wraps them the same way (` (?:re) ` for `word`); `^`, `$` and `\b` are not useful
//! there (the DFA cannot build `\b`; such entries are skipped and listed in
//! [`CompiledLibrary::skipped`]). A regex match never spans two fields, nor more than
//! 32 words.
//!
//! # Layout
//! - `compile`: building a [`CompiledLibrary`] from a [`Library`].
//! - `regex`: regex entries: final-literal triggers, reverse DFAs, the stepped DFA.
//! - `scan`: the per-stream automaton state and the byte loop.
//! - `window`: the bounded ring of recent words (stream bytes, original text) and context.
//! - `hits`: combinations, exception context, and hits waiting for their look-ahead.

mod compile;
pub(crate) mod hits;
pub(crate) mod regex;
pub(crate) mod scan;
pub(crate) mod window;

use std::time::Duration;

pub(crate) use compile::{CONTEXT_WORDS, REGEX_LOOKBACK_WORDS};

use crate::library::{Category, Effect, Severity};

#[cfg(doc)]
use crate::library::{Edge, Library};

/// A library that could not be compiled. Validated libraries rarely fail; when one does,
/// the message says what to simplify.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The phrase automaton could not be built.
    #[error(
        "cannot compile the library's {patterns} phrases into one automaton: {source}; \
         remove very long phrases or split the library"
    )]
    Phrases {
        /// Distinct patterns.
        patterns: usize,
        /// The builder's error.
        #[source]
        source: aho_corasick::BuildError,
    },
    /// The regex entries without final literals, each fine on its own, are too large
    /// together.
    #[error(
        "cannot compile the library's {count} regex entries that end in a repetition into one \
         DFA: {detail}; simplify them, end them with a word, or turn some into phrases"
    )]
    Regexes {
        /// Regex entries.
        count: usize,
        /// The builder's error.
        detail: String,
    },
}

/// An enabled item the compiler left out, and why (shown by `gatewatch library check`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// The entry, combo or exception id.
    pub id: String,
    /// Why it was left out and what to do.
    pub reason: String,
}

/// Sizes and timing of a compilation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CompileStats {
    /// Rules that can fire (entries and combos).
    pub rules: usize,
    /// Distinct phrase patterns in the automaton.
    pub patterns: usize,
    /// Regex entries.
    pub regexes: usize,
    /// Regex entries without final literals, stepped over every byte.
    pub stepped_regexes: usize,
    /// `dfa` or `contiguous-nfa`: the aho-corasick representation chosen.
    pub automaton: &'static str,
    /// Heap bytes used by both automata.
    pub memory_bytes: usize,
    /// Time taken to compile.
    pub elapsed: Duration,
}

/// A rule that produces findings: an enabled entry or combination.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The entry or combo id.
    pub id: String,
    /// Its category.
    pub category: Category,
    /// Its severity before any exception.
    pub severity: Severity,
    /// Its weight before any exception.
    pub weight: i32,
    /// True for a combination rule.
    pub combo: bool,
    /// Indexes of the exceptions that apply to it.
    pub(crate) exceptions: Vec<u32>,
}

/// A compiled exception.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExceptionRule {
    pub id: String,
    pub within: u64,
    pub effect: Effect,
}

/// A compiled combination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ComboRule {
    /// Index into the rules.
    pub rule: u32,
    /// Number of parts, 2..=4.
    pub parts: u8,
    /// All parts' first words within this many words.
    pub within: u64,
}

/// What a phrase pattern means when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The phrase of a rule (an entry).
    Entry(u32),
    /// Part `part` of combination `combo`.
    ComboPart { combo: u32, part: u8 },
    /// A context phrase of exception `0`.
    Near(u32),
    /// A final literal of regex `0`: a match may end here.
    RegexEnd(u32),
}

/// One distinct phrase pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PhraseInfo {
    /// Words the pattern spans (so a match ending in word `w` starts in `w - words + 1`).
    pub words: u32,
    /// Range of its roles in `CompiledLibrary::roles`.
    pub roles: (u32, u32),
}

/// The aho-corasick automaton: a DFA for libraries of ordinary size, a contiguous NFA for
/// very large ones (the DFA would take too long to build and too much memory).
#[derive(Debug)]
pub(crate) enum Phrases {
    Dfa(aho_corasick::dfa::DFA),
    Nfa(aho_corasick::nfa::contiguous::NFA),
}

/// A library compiled for matching: build once with [`CompiledLibrary::compile`], share with
/// an `Arc` across every scanner; a reload builds a new one and swaps the `Arc`.
pub struct CompiledLibrary {
    pub(crate) library_id: String,
    pub(crate) version: String,
    pub(crate) checksum: String,
    pub(crate) phrases: Phrases,
    pub(crate) phrase_info: Vec<PhraseInfo>,
    pub(crate) patterns: Vec<Vec<u8>>,
    pub(crate) roles: Vec<Role>,
    pub(crate) regexes: Option<regex::Regexes>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) combos: Vec<ComboRule>,
    pub(crate) exceptions: Vec<ExceptionRule>,
    /// Words after a hit before it is final: max(10, widest exception).
    pub(crate) lookahead: u64,
    /// Words before a pending hit that an exception context phrase may lie.
    pub(crate) near_horizon: u64,
    pub(crate) skipped: Vec<Skipped>,
    pub(crate) stats: CompileStats,
}

impl std::fmt::Debug for CompiledLibrary {
    /// The id, version and sizes only (the automata are megabytes).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledLibrary")
            .field("library_id", &self.library_id)
            .field("version", &self.version)
            .field("stats", &self.stats)
            .field("skipped", &self.skipped.len())
            .finish_non_exhaustive()
    }
}

impl CompiledLibrary {
    /// The library id, e.g. `gatewatch-starter`.
    pub fn library_id(&self) -> &str {
        &self.library_id
    }

    /// The library version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The library checksum, `sha256:<hex>`.
    pub fn checksum(&self) -> &str {
        &self.checksum
    }

    /// Every rule that can fire (enabled entries, then enabled combos).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Enabled items left out, with the reason.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// Sizes and compile time.
    pub fn stats(&self) -> &CompileStats {
        &self.stats
    }

    /// The distinct phrase patterns as the automaton holds them (edge spaces included), for
    /// benchmarks that compare against a raw aho-corasick scan.
    pub fn phrase_patterns(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.patterns.iter().map(Vec::as_slice)
    }

    /// Words after a hit the scanner waits for before the hit is final.
    pub fn lookahead(&self) -> u64 {
        self.lookahead
    }

    pub(crate) fn rule(&self, index: u32) -> Option<&Rule> {
        self.rules.get(index as usize)
    }

    pub(crate) fn roles_of(&self, pattern: u32) -> (&[Role], u32) {
        match self.phrase_info.get(pattern as usize) {
            Some(info) => (
                self.roles
                    .get(info.roles.0 as usize..info.roles.1 as usize)
                    .unwrap_or(&[]),
                info.words,
            ),
            None => (&[], 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::Library;

    #[test]
    fn compiled_libraries_are_shared_across_threads_and_debug_prints_no_automaton() {
        fn shared<T: Send + Sync>() {}
        shared::<CompiledLibrary>();
        fn movable<T: Send>() {}
        movable::<crate::detect::scanner::Scanner>();
        let file = "category = \"drugs\"\n[[entry]]\nid = \"drugs/weed\"\nmatch = \"weed\"\n\
                    severity = 2\nrationale = \"t\"\n";
        let lib = Library::from_sources("lib-id", "7", "", &[("drugs.toml", file)]).unwrap();
        let lib = CompiledLibrary::compile(&lib).unwrap();
        let debug = format!("{lib:?}");
        assert!(debug.contains("lib-id") && debug.len() < 400, "{debug}");
        assert_eq!((lib.library_id(), lib.version()), ("lib-id", "7"));
        assert!(lib.checksum().starts_with("sha256:"));
        assert_eq!(lib.rules().len(), 1);
        assert_eq!(
            lib.phrase_patterns().collect::<Vec<_>>(),
            vec![&b" weed "[..]]
        );
    }
}
