//! From raw matches to final hits: combinations (all parts within N words), exception
//! context phrases (cancel or lower a hit with a context phrase within N words either
//! side), and the look-ahead: a hit is final only once `lookahead` more words have been seen
//! (or the stream has ended), because its context and exceptions may follow it.
//!
//! Everything here is bounded: context phrases and combination parts older than the
//! library's horizon are forgotten, and pending hits wait at most `lookahead` words.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use super::CompiledLibrary;
use crate::detect::TextKind;
use crate::library::{Effect, Severity};

/// Words a context phrase may span (a bound for searching the context log).
const MAX_PHRASE_WORDS: u64 = 128;

/// Matched word spans (inclusive, in order): one for an entry, one per part (at most four)
/// for a combination. Inline, so a hit allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Spans {
    len: u8,
    spans: [(u64, u64); 4],
}

impl Spans {
    fn one(start: u64, end: u64) -> Spans {
        Spans {
            len: 1,
            spans: [(start, end); 4],
        }
    }

    /// The spans, in order, without duplicates.
    fn sorted(parts: &[(u64, u64)]) -> Spans {
        let mut spans = [(0, 0); 4];
        let n = parts.len().min(4);
        spans[..n].copy_from_slice(&parts[..n]);
        spans[..n].sort_unstable();
        let mut len = 0;
        for i in 0..n {
            if i == 0 || spans[i] != spans[len - 1] {
                spans[len] = spans[i];
                len += 1;
            }
        }
        Spans {
            len: len as u8,
            spans,
        }
    }

    /// The spans as a slice.
    pub(crate) fn as_slice(&self) -> &[(u64, u64)] {
        &self.spans[..usize::from(self.len).min(4)]
    }
}

/// A hit waiting for its look-ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    rule: u32,
    start: u64,
    end: u64,
    kind: TextKind,
    spans: Spans,
}

/// A final hit, after exceptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// Index of the rule.
    pub rule: u32,
    /// Severity after any lowering exception.
    pub severity: Severity,
    /// Weight after any lowering exception.
    pub weight: i32,
    /// The lowering exception, if any.
    pub exception: Option<u32>,
    /// Kind of the matched text (typed if any part of a combination was typed).
    pub kind: TextKind,
    /// Matched word spans.
    pub spans: Spans,
}

/// The latest occurrence of each part of a combination: first word, last word, kind.
#[derive(Debug, Clone, Copy, Default)]
struct ComboSeen {
    /// Bit `i` set when part `i` has been seen.
    mask: u8,
    spans: [(u64, u64); 4],
    kinds: [Option<TextKind>; 4],
}

/// A hasher for small integer keys (rule and combination indexes): one multiplication.
#[derive(Debug, Default)]
struct IndexHasher(u64);

impl Hasher for IndexHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by an index, hashed cheaply.
type IndexMap<V> = HashMap<u32, V, BuildHasherDefault<IndexHasher>>;

/// Per-stream state between matching and findings.
#[derive(Debug, Default)]
pub(crate) struct HitTracker {
    pending: Vec<Pending>,
    /// Context phrase occurrences `(exception, first word, last word)`, in stream order.
    near: VecDeque<(u32, u64, u64)>,
    /// Latest occurrence of each part, per combination with at least one part seen.
    combos: IndexMap<ComboSeen>,
    /// Last word each regex pattern fired in (one hit per regex per word).
    regex_last: IndexMap<u64>,
    cancelled: u64,
}

impl HitTracker {
    /// An entry matched words `start..=end`.
    pub(crate) fn entry(&mut self, rule: u32, start: u64, end: u64, kind: TextKind) {
        self.pending.push(Pending {
            rule,
            start,
            end,
            kind,
            spans: Spans::one(start, end),
        });
    }

    /// Regex pattern `index` matched, ending in word `end`; false if it already fired there
    /// (a DFA reports every end position of one occurrence).
    pub(crate) fn regex_is_new(&mut self, index: u32, end: u64) -> bool {
        self.regex_last.insert(index, end) != Some(end)
    }

    /// A context phrase of exception `exception` matched words `start..=end`.
    pub(crate) fn near(&mut self, exception: u32, start: u64, end: u64) {
        self.near.push_back((exception, start, end));
    }

    /// Part `part` of combination `combo` matched words `start..=end`. When every part has
    /// been seen with their first words within the combination's window, the combination
    /// fires once and its parts are forgotten (a new occurrence needs every part again).
    pub(crate) fn combo_part(
        &mut self,
        lib: &CompiledLibrary,
        combo: u32,
        part: u8,
        start: u64,
        end: u64,
        kind: TextKind,
    ) {
        let Some(c) = lib.combos.get(combo as usize) else {
            return;
        };
        let p = usize::from(part);
        let n = usize::from(c.parts).min(4);
        if p >= n {
            return;
        }
        let seen = self.combos.entry(combo).or_default();
        seen.mask |= 1 << p;
        seen.spans[p] = (start, end);
        seen.kinds[p] = Some(kind);
        let all = (1u8 << n) - 1;
        if seen.mask != all {
            return;
        }
        let spans = &seen.spans[..n];
        let lo = spans.iter().map(|s| s.0).min().unwrap_or(start);
        let hi = spans.iter().map(|s| s.0).max().unwrap_or(start);
        if hi - lo > c.within {
            return;
        }
        let kind = seen.kinds[..n]
            .iter()
            .flatten()
            .copied()
            .find(|k| k.is_typed())
            .unwrap_or(kind);
        let last = spans.iter().map(|s| s.1).max().unwrap_or(end);
        let spans = Spans::sorted(spans);
        *seen = ComboSeen::default();
        self.pending.push(Pending {
            rule: c.rule,
            start: lo,
            end: last,
            kind,
            spans,
        });
    }

    /// Finalises pending hits whose look-ahead is complete (`next` = words seen so far), or
    /// every pending hit when `next` is `None` (end of stream), in order. Cancelled hits are
    /// counted, not returned.
    pub(crate) fn finalise(
        &mut self,
        lib: &CompiledLibrary,
        next: Option<u64>,
        out: &mut Vec<Resolved>,
    ) {
        let HitTracker {
            pending,
            near,
            cancelled,
            ..
        } = self;
        pending.retain(|p| {
            if next.is_some_and(|next| p.end + lib.lookahead >= next) {
                return true;
            }
            match resolve(lib, near, p) {
                Some(r) => out.push(r),
                None => *cancelled += 1,
            }
            false
        });
    }

    /// Forgets context phrases and combination parts too old to matter (`next` = words seen
    /// so far).
    pub(crate) fn prune(&mut self, lib: &CompiledLibrary, next: u64) {
        let horizon = next.saturating_sub(lib.near_horizon);
        while self.near.front().is_some_and(|n| n.2 < horizon) {
            self.near.pop_front();
        }
        self.combos.retain(|_, seen| {
            (0..4).any(|i| seen.mask & (1 << i) != 0 && seen.spans[i].0 >= horizon)
        });
        if self.regex_last.len() > 1024 {
            self.regex_last.retain(|_, w| *w >= horizon);
        }
    }

    /// First word of the oldest pending hit.
    pub(crate) fn oldest_pending(&self) -> Option<u64> {
        self.pending.iter().map(|p| p.start).min()
    }

    /// Hits cancelled by an exception so far.
    pub(crate) fn cancelled(&self) -> u64 {
        self.cancelled
    }
}

/// Applies the exceptions of a pending hit: any cancelling exception with a context phrase
/// in range drops it; otherwise the strongest lowering exception in range lowers it.
fn resolve(
    lib: &CompiledLibrary,
    near: &VecDeque<(u32, u64, u64)>,
    p: &Pending,
) -> Option<Resolved> {
    let rule = lib.rule(p.rule)?;
    let mut lower: Option<(u8, u32)> = None;
    if rule.exceptions.is_empty() || near.is_empty() {
        return Some(resolved(p, rule, None));
    }
    for &x in &rule.exceptions {
        let Some(ex) = lib.exceptions.get(x as usize) else {
            continue;
        };
        let lo = p.start.saturating_sub(ex.within);
        let hi = p.end + ex.within;
        let from = near.partition_point(|n| n.2 < lo);
        let close = near
            .iter()
            .skip(from)
            .take_while(|n| n.2 <= hi + MAX_PHRASE_WORDS)
            .any(|n| n.0 == x && n.1 <= hi);
        if !close {
            continue;
        }
        match ex.effect {
            Effect::Cancel => return None,
            Effect::Lower { by } => {
                if lower.is_none_or(|(b, _)| by > b) {
                    lower = Some((by, x));
                }
            }
        }
    }
    Some(resolved(p, rule, lower))
}

/// The final hit, lowered by `lower = (steps, exception)` if given.
fn resolved(p: &Pending, rule: &super::Rule, lower: Option<(u8, u32)>) -> Resolved {
    let (severity, weight, exception) = match lower {
        None => (rule.severity, rule.weight, None),
        Some((by, x)) => {
            let s = rule.severity.lowered(by);
            let w = if rule.weight > 0 {
                rule.weight.min(s.default_weight())
            } else {
                rule.weight
            };
            (s, w, Some(x))
        }
    };
    Resolved {
        rule: p.rule,
        severity,
        weight,
        exception,
        kind: p.kind,
        spans: p.spans,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::Library;

    const FILE: &str = r#"
category = "violence"

[[entry]]
id = "violence/shot"
match = "shot"
severity = 3
rationale = "t"

[[entry]]
id = "violence/stab"
match = "stab"
severity = 4
weight = 80
rationale = "t"

[[combo]]
id = "violence/gonna-shoot"
all = ["going to", "shoot", "school"]
within = 5
severity = 5
rationale = "t"

[[exception]]
id = "violence/shot-film"
applies_to = ["violence/shot"]
near = ["camera"]
within = 3
rationale = "t"

[[exception]]
id = "violence/stab-kitchen"
applies_to = ["violence"]
near = ["kitchen"]
within = 2
effect = "lower"
lower_by = 2
rationale = "t"
"#;

    fn lib() -> CompiledLibrary {
        let lib = Library::from_sources("t", "1", "", &[("violence.toml", FILE)]).unwrap();
        CompiledLibrary::compile(&lib).unwrap()
    }

    fn rule(lib: &CompiledLibrary, id: &str) -> u32 {
        lib.rules.iter().position(|r| r.id == id).unwrap() as u32
    }

    fn exception(lib: &CompiledLibrary, id: &str) -> u32 {
        lib.exceptions.iter().position(|x| x.id == id).unwrap() as u32
    }

    fn ids(lib: &CompiledLibrary, out: &[Resolved]) -> Vec<String> {
        out.iter()
            .map(|r| format!("{}@{:?}", lib.rules[r.rule as usize].id, r.spans.as_slice()))
            .collect()
    }

    #[test]
    fn hits_wait_for_their_lookahead() {
        let lib = lib();
        assert_eq!(lib.lookahead, 10);
        let mut t = HitTracker::default();
        t.entry(rule(&lib, "violence/shot"), 5, 5, TextKind::Page);
        let mut out = Vec::new();
        t.finalise(&lib, Some(15), &mut out);
        assert!(out.is_empty(), "word 15 not seen yet");
        assert_eq!(t.oldest_pending(), Some(5));
        t.finalise(&lib, Some(16), &mut out);
        assert_eq!(ids(&lib, &out), vec!["violence/shot@[(5, 5)]"]);
        assert_eq!(t.oldest_pending(), None);
    }

    #[test]
    fn exceptions_cancel_within_their_window_either_side() {
        let lib = lib();
        let shot = rule(&lib, "violence/shot");
        let film = exception(&lib, "violence/shot-film");
        for (near_at, cancelled) in [(7, true), (13, true), (6, false), (14, false)] {
            let mut t = HitTracker::default();
            t.entry(shot, 10, 10, TextKind::Page);
            t.near(film, near_at, near_at);
            let mut out = Vec::new();
            t.finalise(&lib, None, &mut out);
            assert_eq!(out.is_empty(), cancelled, "camera at {near_at}");
            assert_eq!(t.cancelled(), u64::from(cancelled));
        }
    }

    #[test]
    fn exceptions_lower_severity_and_weight() {
        let lib = lib();
        let mut t = HitTracker::default();
        t.entry(rule(&lib, "violence/stab"), 10, 10, TextKind::Page);
        t.near(exception(&lib, "violence/stab-kitchen"), 12, 12);
        let mut out = Vec::new();
        t.finalise(&lib, None, &mut out);
        assert_eq!(out[0].severity.get(), 2);
        assert_eq!(out[0].weight, 10, "weight capped at the lowered default");
        assert_eq!(
            out[0].exception,
            Some(exception(&lib, "violence/stab-kitchen"))
        );
        // A category exception applies to the combo too.
        assert!(!lib.rules[rule(&lib, "violence/gonna-shoot") as usize]
            .exceptions
            .is_empty());
    }

    #[test]
    fn combos_fire_once_when_all_parts_are_within_the_window() {
        let lib = lib();
        let combo = 0;
        let mut t = HitTracker::default();
        t.combo_part(&lib, combo, 0, 1, 2, TextKind::Page);
        t.combo_part(&lib, combo, 1, 3, 3, TextKind::Typed);
        t.combo_part(&lib, combo, 0, 4, 5, TextKind::Page);
        let mut out = Vec::new();
        t.finalise(&lib, None, &mut out);
        assert!(out.is_empty(), "school not seen");
        t.combo_part(&lib, combo, 2, 20, 20, TextKind::Page);
        t.finalise(&lib, None, &mut out);
        assert!(
            out.is_empty(),
            "school too far from going to (4) and shoot (3)"
        );
        t.combo_part(&lib, combo, 1, 22, 22, TextKind::Page);
        t.combo_part(&lib, combo, 0, 17, 18, TextKind::Page);
        t.finalise(&lib, None, &mut out);
        assert_eq!(
            ids(&lib, &out),
            vec!["violence/gonna-shoot@[(17, 18), (20, 20), (22, 22)]"]
        );
        t.combo_part(&lib, combo, 1, 23, 23, TextKind::Page);
        t.finalise(&lib, None, &mut out);
        assert_eq!(out.len(), 1, "the same set does not fire again");
    }

    #[test]
    fn combos_are_typed_when_a_part_was_typed() {
        let lib = lib();
        let mut t = HitTracker::default();
        t.combo_part(&lib, 0, 0, 1, 2, TextKind::Page);
        t.combo_part(&lib, 0, 1, 3, 3, TextKind::Search);
        t.combo_part(&lib, 0, 2, 4, 4, TextKind::Page);
        let mut out = Vec::new();
        t.finalise(&lib, None, &mut out);
        assert_eq!(out[0].kind, TextKind::Search);
    }

    #[test]
    fn old_context_is_forgotten() {
        let lib = lib();
        let mut t = HitTracker::default();
        let film = exception(&lib, "violence/shot-film");
        t.near(film, 1, 1);
        t.combo_part(&lib, 0, 0, 1, 2, TextKind::Page);
        t.prune(&lib, 10);
        assert_eq!(t.near.len(), 1);
        assert_eq!(t.combos.len(), 1);
        t.prune(&lib, 1_000);
        assert!(t.near.is_empty() && t.combos.is_empty());
        assert!(t.regex_is_new(0, 5));
        assert!(!t.regex_is_new(0, 5));
        assert!(t.regex_is_new(0, 6));
    }
}
