//! The scanner: one per body. Extraction feeds it text through [`TextSink`]; it normalises,
//! matches, applies combinations and exceptions, keeps findings with their context, and
//! [`Scanner::finish`] turns them into a [`BodyVerdict`].
//!
//! Memory is bounded whatever the body's size: text is normalised in pieces of at most
//! 16 KiB and scanned in batches of about 4 KiB, only a window of recent words is kept, and findings are capped
//! ([`Thresholds::max_findings`]), the least severe being counted instead of kept.

use std::sync::Arc;

use super::finding::Finding;
use super::matcher::hits::{HitTracker, Resolved};
use super::matcher::scan::{MatchState, RawHit};
use super::matcher::window::WordWindow;
use super::matcher::{CompiledLibrary, Role};
use super::normalise::Normaliser;
use super::score::{BodyVerdict, Tally, Thresholds};
use super::{TextKind, TextSink};
use crate::library::Severity;

/// Largest piece of text normalised and scanned at once.
const CHUNK_BYTES: usize = 16 * 1024;
/// Normalised bytes gathered before they are scanned (small pieces of text are batched, so
/// the per-call overhead stays small).
const SCAN_BATCH_BYTES: u64 = 4 * 1024;
/// Longest title kept, in bytes.
const MAX_TITLE_BYTES: usize = 512;
/// Words between two prunings of old context.
const PRUNE_EVERY_WORDS: u64 = 256;

/// Scans one body. Create with [`Scanner::new`], feed it as a [`TextSink`], then call
/// [`Scanner::finish`]. Its `Debug` output shows counts only, never text.
pub struct Scanner {
    lib: Arc<CompiledLibrary>,
    thresholds: Thresholds,
    norm: Normaliser,
    window: WordWindow,
    state: MatchState,
    /// Stream offset scanned so far.
    scanned: u64,
    hits: HitTracker,
    kind: Option<TextKind>,
    raw: Vec<RawHit>,
    ready: Vec<Resolved>,
    tally: Tally,
    findings: Vec<Finding>,
    /// Priority of the least important kept finding, once the cap is reached.
    floor: Option<(bool, Severity)>,
    dropped: u64,
    pruned_at: u64,
    title: Option<String>,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("library", &self.lib.library_id)
            .field("words", &self.norm.words())
            .field("findings", &self.findings.len())
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

impl Scanner {
    /// A scanner for one body, matching against `lib` with `thresholds`.
    pub fn new(lib: Arc<CompiledLibrary>, thresholds: Thresholds) -> Scanner {
        Scanner {
            state: lib.start(),
            lib,
            thresholds,
            norm: Normaliser::new(),
            window: WordWindow::new(TextKind::Page),
            scanned: 0,
            hits: HitTracker::default(),
            kind: None,
            raw: Vec::new(),
            ready: Vec::new(),
            tally: Tally::default(),
            findings: Vec::new(),
            floor: None,
            dropped: 0,
            pruned_at: 0,
            title: None,
        }
    }

    /// The library this scanner matches against.
    pub fn library(&self) -> &Arc<CompiledLibrary> {
        &self.lib
    }

    /// Words seen so far.
    pub fn words(&self) -> u64 {
        self.norm.words()
    }

    /// Ends the body: flushes the last word, finalises every pending hit and scores.
    pub fn finish(mut self) -> BodyVerdict {
        self.norm.finish(&mut self.window);
        self.process(true);
        self.tally.verdict(
            &self.thresholds,
            self.findings,
            self.dropped,
            self.hits.cancelled(),
            self.title,
        )
    }

    /// Scans the new part of the stream and finalises what is ready.
    fn process(&mut self, ended: bool) {
        let end = self.window.stream_end();
        if end > self.scanned {
            let bytes = self.window.bytes_from(self.scanned);
            self.lib
                .scan(&mut self.state, bytes, self.scanned, &mut self.raw);
            self.scanned = end;
        }
        if ended {
            self.lib.scan_end(&mut self.state, end, &mut self.raw);
        }
        if !self.raw.is_empty() {
            self.dispatch();
        }
        let next = self.window.next_index();
        self.hits
            .finalise(&self.lib, (!ended).then_some(next), &mut self.ready);
        let mut ready = std::mem::take(&mut self.ready);
        for r in ready.drain(..) {
            self.record(r, ended);
        }
        self.ready = ready;
        if next >= self.pruned_at + PRUNE_EVERY_WORDS {
            self.pruned_at = next;
            self.hits.prune(&self.lib, next);
            let keep = self.hits.oldest_pending().map_or(u64::MAX, |s| {
                s.saturating_sub(super::matcher::CONTEXT_WORDS)
            });
            self.window.trim(keep);
        }
    }

    /// Turns raw automaton matches into entry hits, combination parts and context phrases.
    fn dispatch(&mut self) {
        let raw = std::mem::take(&mut self.raw);
        let lib = Arc::clone(&self.lib);
        let mut hint = 0;
        for hit in &raw {
            let at = hit.end().saturating_sub(1);
            let Some(last) = self.window.word_at_from(at, &mut hint) else {
                continue;
            };
            let kind = self.window.kind_of(last);
            match *hit {
                RawHit::Phrase { pattern, end } => {
                    let (roles, words) = lib.roles_of(pattern);
                    let first = last.saturating_sub(u64::from(words.max(1)) - 1);
                    for role in roles {
                        match *role {
                            Role::Entry(rule) => self.hits.entry(rule, first, last, kind),
                            Role::ComboPart { combo, part } => {
                                self.hits.combo_part(&lib, combo, part, first, last, kind)
                            }
                            Role::Near(x) => self.hits.near(x, first, last),
                            Role::RegexEnd(r) => self.regex_hit(r, last, end, kind, false),
                        }
                    }
                }
                RawHit::Regex { index, end } => self.regex_hit(index, last, end, kind, true),
            }
        }
        self.raw = raw;
        self.raw.clear();
    }

    /// A possible match of regex `index` ending at stream offset `end`, in word `last`:
    /// certain when the stepped DFA reported it, to be verified when a final literal did.
    /// The anchored reverse DFA verifies it and finds its first word.
    fn regex_hit(&mut self, index: u32, last: u64, end: u64, kind: TextKind, certain: bool) {
        let Some(re) = self.lib.regexes.as_ref() else {
            return;
        };
        let Some(&rule) = re.rules.get(index as usize) else {
            return;
        };
        let back = last
            .saturating_sub(super::matcher::REGEX_LOOKBACK_WORDS)
            .max(self.window.first_index());
        let back_start = self
            .window
            .word_start(back)
            .unwrap_or(end)
            .saturating_sub(1);
        let from = self.window.segment_start(back_start, end);
        let hay = self.window.bytes(from..end);
        let first = match re.match_start(index, hay) {
            Some(start) => {
                let spaces = hay
                    .get(start..)
                    .unwrap_or(&[])
                    .iter()
                    .take_while(|&&b| b == b' ')
                    .count();
                self.window.word_at(from + (start + spaces) as u64)
            }
            None if certain => Some(last),
            None => return,
        };
        if self.hits.regex_is_new(index, last) {
            let first = first.unwrap_or(last).min(last);
            self.hits.entry(rule, first, last, kind);
        }
    }

    /// Scores a final hit and keeps it as a finding unless the cap is reached and it is less
    /// important than every kept finding.
    fn record(&mut self, r: Resolved, ended: bool) {
        let Some(rule) = self.lib.rule(r.rule) else {
            return;
        };
        self.tally
            .add(&self.thresholds, r.rule, r.severity, r.weight, r.kind);
        let priority = (r.weight >= 0, r.severity);
        let cap = self.thresholds.max_findings.max(1);
        let slot = if self.findings.len() < cap {
            None
        } else if self.floor.is_some_and(|floor| floor < priority) {
            self.findings
                .iter()
                .position(|f| Some((f.weight >= 0, f.severity)) == self.floor)
        } else {
            self.dropped += 1;
            return;
        };
        let ctx = self
            .window
            .context(r.spans.as_slice(), super::matcher::CONTEXT_WORDS, ended);
        let finding = Finding {
            rule_id: rule.id.clone(),
            category: rule.category,
            severity: r.severity,
            weight: r.weight,
            kind: r.kind,
            matched: ctx.matched,
            context: ctx.text,
            highlights: ctx.highlights,
            more_before: ctx.more_before,
            more_after: ctx.more_after,
            word_index: r.spans.as_slice().first().map_or(0, |s| s.0),
            exception: r
                .exception
                .and_then(|x| self.lib.exceptions.get(x as usize))
                .map(|x| x.id.clone()),
        };
        match slot.and_then(|i| self.findings.get_mut(i)) {
            Some(kept) => {
                *kept = finding;
                self.dropped += 1;
            }
            None => self.findings.push(finding),
        }
        if self.findings.len() >= cap {
            self.floor = self
                .findings
                .iter()
                .map(|f| (f.weight >= 0, f.severity))
                .min();
        }
    }
}

impl TextSink for Scanner {
    fn text(&mut self, kind: TextKind, text: &str) {
        if self.kind != Some(kind) {
            if self.kind.is_some() {
                self.norm.boundary(&mut self.window);
            }
            self.kind = Some(kind);
            self.window.kind = kind;
        }
        let mut rest = text;
        while !rest.is_empty() {
            let mut cut = rest.len().min(CHUNK_BYTES);
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            let (piece, tail) = rest.split_at(cut);
            self.norm.push(piece, &mut self.window);
            if self.window.stream_end() >= self.scanned + SCAN_BATCH_BYTES {
                self.process(false);
            }
            rest = tail;
        }
    }

    fn boundary(&mut self) {
        self.norm.boundary(&mut self.window);
    }

    fn title(&mut self, title: &str) {
        let mut cut = title.len().min(MAX_TITLE_BYTES);
        while !title.is_char_boundary(cut) {
            cut -= 1;
        }
        self.title = Some(title[..cut].trim().to_string());
    }
}

/// Scans one whole text of one kind (for the command line and tests).
pub fn scan_text(
    lib: &Arc<CompiledLibrary>,
    thresholds: &Thresholds,
    kind: TextKind,
    text: &str,
) -> BodyVerdict {
    let mut scanner = Scanner::new(Arc::clone(lib), thresholds.clone());
    scanner.text(kind, text);
    scanner.finish()
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
id = "self-harm/kill-yourself"
match = "kill yourself"
category = "bullying"
severity = 4
rationale = "t"

[[entry]]
id = "self-harm/shot"
match = "shot"
category = "violence"
severity = 1
rationale = "t"

[[entry]]
id = "self-harm/suicid"
match = "suicid"
edge = "start"
category = "suicide"
severity = 3
rationale = "t"

[[entry]]
id = "self-harm/want-die"
match = '(?:i|im|i am) (?:really |so )*(?:want|wanna) (?:to )?die'
kind = "regex"
category = "suicide"
severity = 5
rationale = "t"

[[entry]]
id = "self-harm/kms-stretched"
match = 'ki+l+ ?my+s+e+l+f+'
kind = "regex"
category = "suicide"
severity = 5
rationale = "t"

[[entry]]
id = "self-harm/sex-ed"
match = "sex education"
category = "pornography"
severity = 1
weight = -50
rationale = "t"

[[combo]]
id = "self-harm/how-hang"
all = ["how to", "hang myself"]
within = 6
category = "suicide"
severity = 5
rationale = "t"

[[exception]]
id = "self-harm/shot-film"
applies_to = ["self-harm/shot"]
near = ["camera", "film"]
within = 8
rationale = "t"

[[exception]]
id = "self-harm/suicide-squad"
applies_to = ["suicide"]
near = ["squad"]
within = 1
effect = "lower"
lower_by = 2
rationale = "t"
"#;

    fn lib() -> Arc<CompiledLibrary> {
        let lib = Library::from_sources("t", "1", "", &[("self-harm.toml", FILE)]).unwrap();
        Arc::new(CompiledLibrary::compile(&lib).unwrap())
    }

    fn scan(lib: &Arc<CompiledLibrary>, kind: TextKind, text: &str) -> BodyVerdict {
        scan_text(lib, &Thresholds::default(), kind, text)
    }

    fn rules(v: &BodyVerdict) -> Vec<&str> {
        v.findings.iter().map(|f| f.rule_id.as_str()).collect()
    }

    #[test]
    fn a_phrase_split_at_every_position_is_found_once() {
        let lib = lib();
        for text in [
            "my friend says i cut myself every night",
            "why do people say k.i.l.l y0urs3lf online",
            "i really really want to die now",
            "then i will kiiilll myseeelf tonight",
        ] {
            let whole = scan(&lib, TextKind::Typed, text);
            assert_eq!(whole.findings.len(), 1, "{text}: {:?}", rules(&whole));
            for (at, _) in text.char_indices() {
                let mut s = Scanner::new(Arc::clone(&lib), Thresholds::default());
                s.text(TextKind::Typed, &text[..at]);
                s.text(TextKind::Typed, &text[at..]);
                let v = s.finish();
                assert_eq!(v.findings, whole.findings, "{text}: split at {at}");
            }
        }
    }

    #[test]
    fn findings_carry_highlighted_context() {
        let lib = lib();
        let text = "one two three four five six seven eight nine ten the kids say Kill \
                    Yourself in the chat every day and nobody says anything at all about it ok";
        let v = scan(&lib, TextKind::Page, text);
        let f = &v.findings[0];
        assert_eq!(f.rule_id, "self-harm/kill-yourself");
        assert_eq!(f.matched, "Kill Yourself");
        assert_eq!(f.word_index, 13);
        assert_eq!(
            f.highlighted(),
            "... four five six seven eight nine ten the kids say «Kill Yourself» in the chat \
             every day and nobody says anything at ..."
        );
        let v = scan(&lib, TextKind::Search, "i am so want to die");
        assert_eq!(
            v.findings[0].matched, "i am so want to die",
            "regex start found"
        );
        assert_eq!((lib.stats().regexes, lib.stats().stepped_regexes), (2, 1));
        let v = scan(&lib, TextKind::Search, "no i will KIIILL MYSEEELF");
        assert_eq!(
            v.findings[0].matched, "KIIILL MYSEEELF",
            "stepped regex start"
        );
        let v = scan(
            &lib,
            TextKind::Page,
            "the plants die in winter and i want to live",
        );
        assert!(
            v.findings.is_empty(),
            "a final literal alone is not a match"
        );
    }

    #[test]
    fn obfuscated_spellings_match() {
        let lib = lib();
        for text in [
            "c u t myself",
            "CUT MYSELF",
            "cut my\u{200B}self",
            "cut mys3lf",
            "killllll yourself",
            "ｃｕｔ ｍｙｓｅｌｆ",
            "s.u.i.c.i.d.a.l",
            "$uicidal",
        ] {
            let v = scan(&lib, TextKind::Typed, text);
            assert_eq!(v.findings.len(), 1, "{text}: {:?}", rules(&v));
        }
        assert!(scan(&lib, TextKind::Typed, "cutting myself")
            .findings
            .is_empty());
        assert!(scan(&lib, TextKind::Typed, "presuicide")
            .findings
            .is_empty());
    }

    #[test]
    fn exceptions_cancel_or_lower() {
        let lib = lib();
        let v = scan(
            &lib,
            TextKind::Page,
            "the opening shot of the film was long",
        );
        assert!(v.findings.is_empty());
        assert_eq!(v.cancelled, 1);
        let v = scan(
            &lib,
            TextKind::Page,
            "he was shot and then the ambulance came",
        );
        assert_eq!(rules(&v), vec!["self-harm/shot"]);
        let v = scan(&lib, TextKind::Page, "watching suicide squad tonight");
        assert_eq!(v.findings[0].severity.get(), 1);
        assert_eq!(
            v.findings[0].exception.as_deref(),
            Some("self-harm/suicide-squad")
        );
    }

    #[test]
    fn combos_need_every_part_within_the_window() {
        let lib = lib();
        let v = scan(&lib, TextKind::Search, "how to hang myself");
        assert_eq!(rules(&v), vec!["self-harm/how-hang"]);
        assert_eq!(v.findings[0].matched, "how to … hang myself");
        let far = "how to make a cake and then later on i will hang myself";
        assert!(scan(&lib, TextKind::Search, far).findings.is_empty());
    }

    #[test]
    fn fields_and_kinds_do_not_join() {
        let lib = lib();
        let mut s = Scanner::new(Arc::clone(&lib), Thresholds::default());
        s.text(TextKind::Page, "cut");
        s.boundary();
        s.text(TextKind::Page, "myself");
        assert!(s.finish().findings.is_empty());
        let mut s = Scanner::new(Arc::clone(&lib), Thresholds::default());
        s.text(TextKind::Search, "cut");
        s.text(TextKind::Page, "myself");
        assert!(s.finish().findings.is_empty());
        let mut s = Scanner::new(Arc::clone(&lib), Thresholds::default());
        s.text(TextKind::Page, "i really want");
        s.boundary();
        s.text(TextKind::Page, "to die");
        assert!(s.finish().findings.is_empty(), "regexes stop at fields too");
    }

    #[test]
    fn typed_text_weighs_more_and_decides_incidents() {
        let lib = lib();
        let page = scan(&lib, TextKind::Page, "suicidal");
        assert_eq!((page.score, page.incident), (25, false));
        let typed = scan(&lib, TextKind::Search, "suicidal");
        assert_eq!((typed.score, typed.incident), (50, true));
        assert_eq!(typed.findings[0].kind, TextKind::Search);
        let good = scan(
            &lib,
            TextKind::Page,
            "sex education about suicide prevention",
        );
        assert_eq!(good.score, 25 - 50);
        assert_eq!(good.severity.map(Severity::get), Some(3));
    }

    #[test]
    fn findings_are_capped_keeping_the_most_severe() {
        let lib = lib();
        let t = Thresholds {
            max_findings: 3,
            ..Thresholds::default()
        };
        let mut s = Scanner::new(Arc::clone(&lib), t);
        for _ in 0..10 {
            s.text(TextKind::Page, "he was shot. ");
        }
        s.text(TextKind::Page, "then i cut myself");
        s.title("  A page  ");
        let debug = format!("{s:?}");
        assert!(
            !debug.contains("myself") && !debug.contains("page"),
            "{debug}"
        );
        let v = s.finish();
        assert_eq!(v.findings.len(), 3);
        assert_eq!(v.findings_dropped, 8);
        assert_eq!(v.findings[2].rule_id, "self-harm/cut-myself");
        assert_eq!(v.score, 10 * 5 + 100, "dropped findings still count");
        assert_eq!(v.title.as_deref(), Some("A page"));
    }

    #[test]
    fn memory_stays_bounded_on_long_bodies() {
        let lib = lib();
        let mut s = Scanner::new(Arc::clone(&lib), Thresholds::default());
        let para = "a long paragraph of ordinary words where someone was shot and people \
                    talk about it, and the text goes on and on without end. ";
        let big = para.repeat(200);
        for _ in 0..50 {
            s.text(TextKind::Page, &big);
            s.boundary();
        }
        assert!(s.window.next_index() > 100_000);
        assert!(s.window.next_index() - s.window.first_index() < 4_000);
        assert!(s.window.bytes_from(0).len() < 64 * 1024);
        let v = s.finish();
        assert_eq!(v.findings.len(), 200);
        assert_eq!(v.findings_dropped, 50 * 200 - 200);
    }

    #[test]
    fn random_text_in_random_pieces_matches_like_whole_text() {
        let lib = lib();
        let words = [
            "cut",
            "myself",
            "kill",
            "yourself",
            "shot",
            "film",
            "how",
            "to",
            "hang",
            "i",
            "really",
            "want",
            "die",
            "suicidal",
            "squad",
            "k.i.l.l",
            "c u t",
            "\u{200B}",
            "!",
            "sex",
            "education",
            "x",
            "é",
            "\n",
            "kiiilll",
            "myseeelf",
            "🔪",
        ];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as usize
        };
        let mut fired = 0;
        for case in 0..150 {
            let n = next() % 40;
            let text: Vec<&str> = (0..n).map(|_| words[next() % words.len()]).collect();
            let text = text.join(if next() % 2 == 0 { " " } else { "  " });
            let whole = scan(&lib, TextKind::Typed, &text);
            fired += whole.findings.len();
            let mut s = Scanner::new(Arc::clone(&lib), Thresholds::default());
            let mut rest = text.as_str();
            while !rest.is_empty() {
                let mut cut = (next() % 9).min(rest.len());
                while !rest.is_char_boundary(cut) {
                    cut += 1;
                }
                let (a, b) = rest.split_at(cut);
                s.text(TextKind::Typed, a);
                rest = b;
            }
            assert_eq!(s.finish(), whole, "case {case}: {text:?}");
        }
        assert!(fired > 50, "the random texts exercise the rules: {fired}");
    }

    #[test]
    fn the_starter_library_compiles_quickly_and_finds_what_matters() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("libraries/starter");
        let lib = Library::load_dir(&dir).unwrap();
        let compiled = Arc::new(CompiledLibrary::compile(&lib).unwrap());
        let stats = compiled.stats();
        assert!(stats.elapsed.as_secs_f64() < 5.0, "{stats:?}");
        assert!(stats.rules > 1000, "{stats:?}");
        eprintln!(
            "starter library: {stats:?}; skipped {:?}",
            compiled.skipped()
        );
        let v = scan(
            &compiled,
            TextKind::Search,
            "how do i kill myself painlessly",
        );
        assert!(v.severity >= Severity::new(4), "{:?}", rules(&v));
        assert!(v.incident);
        let v = scan(&compiled, TextKind::Typed, "i want to k.i.l.l mys3lf");
        assert!(v.severity >= Severity::new(4), "{:?}", rules(&v));
        let v = scan(&compiled, TextKind::Page, "the opening shot of the film");
        assert!(!v.incident, "{:?}", rules(&v));
    }
}
