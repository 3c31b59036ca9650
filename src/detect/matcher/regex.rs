//! Regex entries, matched without stepping a big DFA over every byte where possible.
//!
//! Each regex (wrapped with its word edges) gets an anchored reverse DFA that, given where a
//! match ends, finds where it starts. Most regexes end with one of a few literals
//! (`... (?:him|her|them) `): those literals join the phrase automaton as triggers, and a
//! regex is only run, backwards from the trigger, where one of its final literals occurs.
//! Every match ends with one of them, so nothing is missed. The few regexes without such
//! literals (`ki+l+ my+s+e+l+f+`) are "stepped": one unanchored forward DFA over every
//! byte reports where their matches end.

use regex_automata::dfa::{dense, Automaton as _, StartKind};
use regex_automata::nfa::thompson;
use regex_automata::util::primitives::StateID;
use regex_automata::{Anchored, Input, MatchKind};
use regex_syntax::hir::literal::{ExtractKind, Extractor};

/// Size limits for each regex DFA and its determinisation, in bytes.
const DFA_LIMIT: usize = 32 << 20;
/// Shortest final literal worth a trigger (shorter ones occur everywhere).
const MIN_TRIGGER_BYTES: usize = 3;
/// Most final literals per regex used as triggers (the extractor shortens them to stay
/// within this; fewer, shorter literals keep the phrase automaton small).
const MAX_TRIGGERS: usize = 64;

/// The regex entries of a compiled library.
#[derive(Debug)]
pub(crate) struct Regexes {
    /// The rule of each regex.
    pub rules: Vec<u32>,
    /// Each regex's anchored reverse DFA.
    reverse: Vec<dense::DFA<Vec<u32>>>,
    /// The regexes without trigger literals, if any.
    pub stepped: Option<Stepped>,
}

/// Regexes stepped over every byte: one unanchored forward DFA reporting every match end.
#[derive(Debug)]
pub(crate) struct Stepped {
    pub dfa: dense::DFA<Vec<u32>>,
    pub start: StateID,
    /// The regex index of each DFA pattern.
    pub regex: Vec<u32>,
}

/// One regex entry, checked and analysed.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// The pattern wrapped with its word edges.
    pub wrapped: String,
    /// Final literals every match ends with, when they make good triggers.
    pub triggers: Option<Vec<Vec<u8>>>,
    reverse: dense::DFA<Vec<u32>>,
}

/// Checks a wrapped regex and prepares it, or says why it cannot be used.
pub(crate) fn prepare(wrapped: String) -> Result<Prepared, String> {
    let reverse = dense::Builder::new()
        .configure(
            dense::Config::new()
                .match_kind(MatchKind::All)
                .start_kind(StartKind::Anchored)
                .dfa_size_limit(Some(DFA_LIMIT))
                .determinize_size_limit(Some(DFA_LIMIT)),
        )
        .thompson(thompson::Config::new().reverse(true))
        .build(&wrapped)
        .map_err(|e| e.to_string())?;
    let triggers = triggers(&wrapped);
    Ok(Prepared {
        wrapped,
        triggers,
        reverse,
    })
}

/// The literals every match ends with, if there are few enough and none is too short.
fn triggers(wrapped: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_automata::util::syntax::parse(wrapped).ok()?;
    let seq = Extractor::new()
        .kind(ExtractKind::Suffix)
        .limit_total(MAX_TRIGGERS)
        .extract(&hir);
    let lits = seq.literals()?;
    let usable = !lits.is_empty()
        && lits.len() <= MAX_TRIGGERS
        && lits.iter().all(|l| l.as_bytes().len() >= MIN_TRIGGER_BYTES);
    usable.then(|| {
        let mut out: Vec<Vec<u8>> = lits.iter().map(|l| l.as_bytes().to_vec()).collect();
        out.sort_unstable();
        out.dedup();
        out
    })
}

/// Builds the forward DFA for stepped regexes: unanchored, every match of every pattern.
pub(crate) fn stepped_dfa(patterns: &[&str]) -> Result<dense::DFA<Vec<u32>>, String> {
    dense::Builder::new()
        .configure(
            dense::Config::new()
                .match_kind(MatchKind::All)
                .start_kind(StartKind::Unanchored)
                .dfa_size_limit(Some(DFA_LIMIT))
                .determinize_size_limit(Some(DFA_LIMIT)),
        )
        .build_many(patterns)
        .map_err(|e| e.to_string())
}

impl Regexes {
    /// Regexes from prepared entries `(rule, prepared)`; `stepped` holds the forward DFA of
    /// those without triggers (built by the caller, who knows which entries to skip).
    pub(crate) fn new(entries: Vec<(u32, Prepared)>, stepped: Option<Stepped>) -> Regexes {
        let (rules, reverse) = entries.into_iter().map(|(r, p)| (r, p.reverse)).unzip();
        Regexes {
            rules,
            reverse,
            stepped,
        }
    }

    /// Where the longest match of regex `index` that ends at the end of `hay` starts.
    pub(crate) fn match_start(&self, index: u32, hay: &[u8]) -> Option<usize> {
        let dfa = self.reverse.get(index as usize)?;
        let input = Input::new(hay).anchored(Anchored::Yes);
        dfa.try_search_rev(&input).ok()?.map(|m| m.offset())
    }

    /// Heap bytes used by the DFAs.
    pub(crate) fn memory_usage(&self) -> usize {
        self.reverse.iter().map(|d| d.memory_usage()).sum::<usize>()
            + self.stepped.as_ref().map_or(0, |s| s.dfa.memory_usage())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(t: &Option<Vec<Vec<u8>>>) -> Vec<String> {
        t.iter()
            .flatten()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }

    #[test]
    fn final_literals_become_triggers() {
        let p = prepare(" (?:gonna|going to) (?:batter|jump) (?:him|her) ".into()).unwrap();
        let t = lits(&p.triggers);
        assert!(!t.is_empty());
        assert!(
            t.iter()
                .all(|l| l.ends_with(" him ") || l.ends_with(" her ")),
            "{t:?}"
        );
        assert!(t.iter().any(|l| l.ends_with(" him ")) && t.iter().any(|l| l.ends_with(" her ")));
        let p = prepare(" (?:ki+l+ ?my+s+e+l+f+) ".into()).unwrap();
        assert!(p.triggers.is_none(), "{:?}", lits(&p.triggers));
        let p = prepare("(?:x|y) ".into()).unwrap();
        assert!(p.triggers.is_none(), "too short: {:?}", lits(&p.triggers));
        assert!(
            prepare(r" \bdie\b ".into()).is_err(),
            "Unicode word boundaries"
        );
    }

    #[test]
    fn the_reverse_dfa_finds_the_longest_match_ending_here() {
        let p = prepare(" (?:(?:i|i am) )?(?:so )*sad ".into()).unwrap();
        let re = Regexes::new(vec![(0, p)], None);
        assert_eq!(re.match_start(0, b" well i am so so sad "), Some(5));
        assert_eq!(re.match_start(0, b" sad "), Some(0));
        assert_eq!(re.match_start(0, b" sad x "), None, "must end at the end");
        assert_eq!(re.match_start(1, b" sad "), None, "no such regex");
    }

    #[test]
    fn stepped_regexes_share_one_forward_dfa() {
        let dfa = stepped_dfa(&[" a+b ", " c+d "]).unwrap();
        assert_eq!(dfa.pattern_len(), 2);
    }
}
