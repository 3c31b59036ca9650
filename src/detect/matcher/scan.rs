//! The byte loop: both automata stepped over the normalised stream, one byte at a time,
//! with their states carried from one chunk to the next, so a phrase split across two
//! chunks is found exactly once.

use aho_corasick::automaton::{Automaton, StateID};
use regex_automata::dfa::Automaton as _;

use super::regex::Stepped;
use super::{CompiledLibrary, Phrases};

/// The segment separator in the normalised stream (see the module docs of `matcher`).
pub(crate) const BOUNDARY: u8 = b'\n';

/// A match reported by an automaton; `end` is the stream offset just past its last byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawHit {
    /// Distinct phrase pattern `pattern`.
    Phrase { pattern: u32, end: u64 },
    /// A match of stepped regex `index` (an index into the library's regexes).
    Regex { index: u32, end: u64 },
}

impl RawHit {
    /// The stream offset just past the match.
    pub(crate) fn end(self) -> u64 {
        match self {
            RawHit::Phrase { end, .. } | RawHit::Regex { end, .. } => end,
        }
    }
}

/// The automata states of one stream.
#[derive(Debug, Clone)]
pub(crate) struct MatchState {
    ac: StateID,
    re: Option<regex_automata::util::primitives::StateID>,
}

impl CompiledLibrary {
    /// The state at the start of a stream.
    pub(crate) fn start(&self) -> MatchState {
        let ac = match &self.phrases {
            Phrases::Dfa(d) => d.start_state(aho_corasick::Anchored::No),
            Phrases::Nfa(n) => n.start_state(aho_corasick::Anchored::No),
        };
        MatchState {
            // Both are built with unanchored starts, so this cannot fail; the zero state is
            // the dead state, which simply never matches.
            ac: ac.unwrap_or(StateID::ZERO),
            re: self.stepped().map(|s| s.start),
        }
    }

    /// Scans `bytes`, which start at stream offset `base`, appending matches in stream
    /// order (a regex match, reported one byte late, may follow a phrase match that ends
    /// one byte after it).
    pub(crate) fn scan(
        &self,
        state: &mut MatchState,
        bytes: &[u8],
        base: u64,
        out: &mut Vec<RawHit>,
    ) {
        match (&self.phrases, self.stepped(), state.re.as_mut()) {
            (Phrases::Dfa(d), Some(re), Some(rs)) => {
                scan_both(d, &mut state.ac, re, rs, bytes, base, out)
            }
            (Phrases::Nfa(n), Some(re), Some(rs)) => {
                scan_both(n, &mut state.ac, re, rs, bytes, base, out)
            }
            (Phrases::Dfa(d), _, _) => scan_phrases(d, &mut state.ac, bytes, base, out),
            (Phrases::Nfa(n), _, _) => scan_phrases(n, &mut state.ac, bytes, base, out),
        }
    }

    /// The end of the stream at offset `end`: reports regex matches that end there.
    pub(crate) fn scan_end(&self, state: &mut MatchState, end: u64, out: &mut Vec<RawHit>) {
        if let (Some(re), Some(sid)) = (self.stepped(), state.re.as_mut()) {
            *sid = re.dfa.next_eoi_state(*sid);
            report_regex(re, *sid, end, out);
            *sid = re.start;
        }
    }

    fn stepped(&self) -> Option<&Stepped> {
        self.regexes.as_ref()?.stepped.as_ref()
    }
}

#[inline(always)]
fn scan_phrases<A: Automaton>(
    aut: &A,
    state: &mut StateID,
    bytes: &[u8],
    base: u64,
    out: &mut Vec<RawHit>,
) {
    let mut sid = *state;
    for (i, &b) in bytes.iter().enumerate() {
        sid = aut.next_state(aho_corasick::Anchored::No, sid, b);
        if aut.is_special(sid) && aut.is_match(sid) {
            let end = base + i as u64 + 1;
            for k in 0..aut.match_len(sid) {
                let pattern = aut.match_pattern(sid, k).as_u32();
                out.push(RawHit::Phrase { pattern, end });
            }
        }
    }
    *state = sid;
}

/// Both automata in one loop (their table look-ups overlap).
#[inline(always)]
fn scan_both<A: Automaton>(
    aut: &A,
    state: &mut StateID,
    re: &Stepped,
    re_state: &mut regex_automata::util::primitives::StateID,
    bytes: &[u8],
    base: u64,
    out: &mut Vec<RawHit>,
) {
    let dfa = &re.dfa;
    let mut sid = *state;
    let mut rid = *re_state;
    for (i, &b) in bytes.iter().enumerate() {
        let at = base + i as u64;
        sid = aut.next_state(aho_corasick::Anchored::No, sid, b);
        if aut.is_special(sid) && aut.is_match(sid) {
            for k in 0..aut.match_len(sid) {
                let pattern = aut.match_pattern(sid, k).as_u32();
                out.push(RawHit::Phrase {
                    pattern,
                    end: at + 1,
                });
            }
        }
        if b == BOUNDARY {
            // Each field is its own haystack: flush matches at its end, then restart.
            rid = dfa.next_eoi_state(rid);
            report_regex(re, rid, at, out);
            rid = re.start;
            continue;
        }
        rid = dfa.next_state(rid, b);
        if dfa.is_special_state(rid) {
            if dfa.is_match_state(rid) {
                // DFA matches are delayed by one byte: the match ended just before `b`.
                report_regex(re, rid, at, out);
            } else if dfa.is_dead_state(rid) || dfa.is_quit_state(rid) {
                rid = re.start;
            }
        }
    }
    *state = sid;
    *re_state = rid;
}

#[cfg(test)]
fn scan_regexes(
    re: &Stepped,
    state: &mut regex_automata::util::primitives::StateID,
    bytes: &[u8],
    base: u64,
    out: &mut Vec<RawHit>,
) {
    let dfa = &re.dfa;
    let mut sid = *state;
    for (i, &b) in bytes.iter().enumerate() {
        let at = base + i as u64;
        if b == BOUNDARY {
            // Each field is its own haystack: flush matches at its end, then restart.
            sid = dfa.next_eoi_state(sid);
            report_regex(re, sid, at, out);
            sid = re.start;
            continue;
        }
        sid = dfa.next_state(sid, b);
        if dfa.is_special_state(sid) {
            if dfa.is_match_state(sid) {
                // DFA matches are delayed by one byte: the match ended just before `b`.
                report_regex(re, sid, at, out);
            } else if dfa.is_dead_state(sid) || dfa.is_quit_state(sid) {
                sid = re.start;
            }
        }
    }
    *state = sid;
}

fn report_regex(
    re: &Stepped,
    sid: regex_automata::util::primitives::StateID,
    end: u64,
    out: &mut Vec<RawHit>,
) {
    if !re.dfa.is_match_state(sid) {
        return;
    }
    for k in 0..re.dfa.match_len(sid) {
        let pattern = re.dfa.match_pattern(sid, k).as_usize();
        if let Some(&index) = re.regex.get(pattern) {
            out.push(RawHit::Regex { index, end });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::Library;

    const FILE: &str = r#"
category = "self-harm"

[[entry]]
id = "self-harm/cut-myself"
match = "cut myself"
severity = 5
rationale = "t"

[[entry]]
id = "self-harm/cutting"
match = "cutt"
edge = "start"
severity = 3
rationale = "t"

[[entry]]
id = "self-harm/want-die"
match = 'i (?:really )?want to di+e+'
kind = "regex"
severity = 5
rationale = "t"
"#;

    fn lib() -> CompiledLibrary {
        let lib = Library::from_sources("t", "1", "", &[("self-harm.toml", FILE)]).unwrap();
        CompiledLibrary::compile(&lib).unwrap()
    }

    /// Scans `chunks` of one stream; returns (rule id, end) per hit.
    fn hits(lib: &CompiledLibrary, chunks: &[&[u8]]) -> Vec<(String, u64)> {
        let mut st = lib.start();
        let mut out = Vec::new();
        let mut base = 0;
        for c in chunks {
            lib.scan(&mut st, c, base, &mut out);
            base += c.len() as u64;
        }
        lib.scan_end(&mut st, base, &mut out);
        let mut named: Vec<(String, u64)> = out
            .iter()
            .flat_map(|h| match *h {
                RawHit::Phrase { pattern, end } => lib
                    .roles_of(pattern)
                    .0
                    .iter()
                    .filter_map(|r| match r {
                        super::super::Role::Entry(rule) => lib.rule(*rule),
                        _ => None,
                    })
                    .map(|r| (r.id.clone(), end))
                    .collect::<Vec<_>>(),
                RawHit::Regex { index, end } => {
                    let rule = lib.regexes.as_ref().unwrap().rules[index as usize];
                    vec![(lib.rule(rule).unwrap().id.clone(), end)]
                }
            })
            .collect();
        named.sort();
        named
    }

    #[test]
    fn every_split_point_finds_each_phrase_once() {
        let lib = lib();
        let stream =
            b" so i cut myself and i want to die today \n i really want to die \n cutting ";
        let whole = hits(&lib, &[stream]);
        let ids: Vec<&str> = whole.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            ids,
            vec![
                "self-harm/cut-myself",
                "self-harm/cutting",
                "self-harm/want-die",
                "self-harm/want-die"
            ]
        );
        for split in 0..=stream.len() {
            let (a, b) = stream.split_at(split);
            assert_eq!(hits(&lib, &[a, b]), whole, "split at {split}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(hits(&lib, &bytes), whole, "one byte per chunk");
    }

    #[test]
    fn the_fused_loop_finds_what_separate_loops_find() {
        let lib = lib();
        let stream = b" i want to die \n so i cut myself and i really want to die \n cutting ";
        let mut fused = Vec::new();
        lib.scan(&mut lib.start(), stream, 7, &mut fused);
        let mut separate = Vec::new();
        let (Phrases::Dfa(d), Some(re)) = (&lib.phrases, lib.stepped()) else {
            panic!("a DFA and one stepped regex");
        };
        let mut st = lib.start();
        scan_phrases(d, &mut st.ac, stream, 7, &mut separate);
        scan_regexes(re, st.re.as_mut().unwrap(), stream, 7, &mut separate);
        fused.sort_by_key(|h| (h.end(), matches!(h, RawHit::Regex { .. })));
        separate.sort_by_key(|h| (h.end(), matches!(h, RawHit::Regex { .. })));
        assert_eq!(fused, separate);
        assert_eq!(fused.len(), 4);
    }

    #[test]
    fn regexes_do_not_span_segments() {
        let lib = lib();
        assert!(hits(&lib, &[b" i want \n to die "]).is_empty());
        assert_eq!(
            hits(&lib, &[b" i want to die "]).len(),
            1,
            "found at the stream end"
        );
    }

    #[test]
    fn word_edges_hold() {
        let lib = lib();
        assert!(hits(&lib, &[b" cut myselfie "]).is_empty());
        assert!(hits(&lib, &[b" uncutting "]).is_empty());
        assert_eq!(hits(&lib, &[b" cutty "]).len(), 1);
    }
}
