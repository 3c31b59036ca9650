//! Building a [`CompiledLibrary`] from a validated [`Library`]: phrases are normalised with
//! the text normaliser and wrapped with their word edges, regex entries are wrapped the same
//! way, every pattern is mapped to its roles, and both automata are built once.

use std::collections::HashMap;
use std::time::Instant;

use aho_corasick::automaton::Automaton as _;
use regex_automata::dfa::Automaton as _;
use regex_automata::util::start;
use regex_automata::Anchored;

use super::regex::{self, Prepared, Regexes, Stepped};
use super::{
    ComboRule, CompileError, CompileStats, CompiledLibrary, ExceptionRule, PhraseInfo, Phrases,
    Role, Rule, Skipped,
};
use crate::detect::normalise::normalise_phrase;
use crate::library::{Category, Edge, Exception, Kind, Library, Severity};

/// Above this many pattern bytes the phrase automaton is a contiguous NFA instead of a DFA
/// (a DFA that large takes too long to build and too much memory; the NFA scans a little
/// slower).
const DFA_MAX_PATTERN_BYTES: usize = 200_000;
/// Words of context either side of a hit.
pub(crate) const CONTEXT_WORDS: u64 = 10;
/// How far back, in words, the scanner looks for the start of a regex match.
pub(crate) const REGEX_LOOKBACK_WORDS: u64 = 32;

impl CompiledLibrary {
    /// Compiles every enabled entry, combo and exception of `library`. Items that can never
    /// match (a phrase with nothing left once normalised, a regex the DFA cannot build) are
    /// left out and listed in [`CompiledLibrary::skipped`].
    pub fn compile(library: &Library) -> Result<CompiledLibrary, CompileError> {
        let started = Instant::now();
        let mut b = Build::default();
        let mut regex_entries = Vec::new();
        for e in library.entries().iter().filter(|e| e.enabled) {
            match e.kind {
                Kind::Regex => regex_entries.push(e),
                Kind::Phrase => {
                    let words = normalise_phrase(&e.pattern);
                    if words.is_empty() {
                        b.skip(&e.id, empty_phrase(&e.pattern));
                        continue;
                    }
                    b.entry(e, &words);
                }
            }
        }
        for c in library.combos().iter().filter(|c| c.enabled) {
            let parts: Vec<Vec<String>> = c.parts.iter().map(|p| normalise_phrase(p)).collect();
            if let Some(bad) = c.parts.iter().zip(&parts).find(|(_, w)| w.is_empty()) {
                b.skip(&c.id, empty_phrase(bad.0));
                continue;
            }
            if parts.len() > 4 || parts.len() < 2 {
                b.skip(&c.id, "a combination needs 2 to 4 parts".into());
                continue;
            }
            let rule = b.rule(&c.id, c.category, c.severity, c.weight, true);
            let combo = b.combos.len() as u32;
            let longest = parts.iter().map(Vec::len).max().unwrap_or(1) as u64;
            b.max_span = b.max_span.max(u64::from(c.within) + longest);
            b.combos.push(ComboRule {
                rule,
                parts: parts.len() as u8,
                within: u64::from(c.within),
            });
            for (part, words) in parts.iter().enumerate() {
                let role = Role::ComboPart {
                    combo,
                    part: part as u8,
                };
                b.phrase(words, Edge::Word, role);
            }
        }
        let regexes = b.regexes(&regex_entries)?;
        let mut applies: Vec<&Exception> = Vec::new();
        for x in library.exceptions().iter().filter(|x| x.enabled) {
            let near: Vec<Vec<String>> = x
                .near
                .iter()
                .map(|p| normalise_phrase(p))
                .filter(|w| !w.is_empty())
                .collect();
            if near.is_empty() {
                b.skip(
                    &x.id,
                    "none of its `near` phrases has letters or digits".into(),
                );
                continue;
            }
            let index = b.exceptions.len() as u32;
            b.exceptions.push(ExceptionRule {
                id: x.id.clone(),
                within: u64::from(x.within),
                effect: x.effect,
            });
            applies.push(x);
            for words in &near {
                b.phrase(words, Edge::Word, Role::Near(index));
            }
        }
        for rule in &mut b.rules {
            rule.exceptions = applies
                .iter()
                .enumerate()
                .filter(|(_, x)| x.applies(&rule.id, rule.category))
                .map(|(i, _)| i as u32)
                .collect();
        }
        b.finish(library, regexes, started)
    }
}

fn empty_phrase(text: &str) -> String {
    format!("`{text}` has no letters or digits once normalised, so it can never match; rewrite it")
}

/// Wraps a pattern with its word edges in the normalised stream.
fn edged(edge: Edge, body: &str) -> String {
    match edge {
        Edge::Word => format!(" {body} "),
        Edge::Start => format!(" {body}"),
        Edge::Substring => body.to_string(),
    }
}

/// The stepped DFA for the prepared regexes that have no trigger literals, if any.
fn stepped_dfa(prepared: &[(&crate::library::Entry, Prepared)]) -> Result<Option<Stepped>, String> {
    let (regex, patterns): (Vec<u32>, Vec<&str>) = prepared
        .iter()
        .enumerate()
        .filter(|(_, (_, p))| p.triggers.is_none())
        .map(|(i, (_, p))| (i as u32, p.wrapped.as_str()))
        .unzip();
    if patterns.is_empty() {
        return Ok(None);
    }
    let dfa = regex::stepped_dfa(&patterns)?;
    let start = dfa
        .start_state(&start::Config::new().anchored(Anchored::No))
        .map_err(|e| e.to_string())?;
    Ok(Some(Stepped { dfa, start, regex }))
}

/// Compilation in progress.
#[derive(Default)]
struct Build {
    patterns: Vec<Vec<u8>>,
    index: HashMap<Vec<u8>, u32>,
    words: Vec<u32>,
    roles: Vec<Vec<Role>>,
    rules: Vec<Rule>,
    combos: Vec<ComboRule>,
    exceptions: Vec<ExceptionRule>,
    skipped: Vec<Skipped>,
    /// Widest span of a hit in words.
    max_span: u64,
}

impl Build {
    fn skip(&mut self, id: &str, reason: String) {
        self.skipped.push(Skipped {
            id: id.to_string(),
            reason,
        });
    }

    fn rule(
        &mut self,
        id: &str,
        category: Category,
        severity: Severity,
        weight: i32,
        combo: bool,
    ) -> u32 {
        self.rules.push(Rule {
            id: id.to_string(),
            category,
            severity,
            weight,
            combo,
            exceptions: Vec::new(),
        });
        (self.rules.len() - 1) as u32
    }

    /// Adds a phrase entry. Two entries of one category whose phrases are the same once
    /// normalised would both fire on every occurrence: only the more severe is kept (the
    /// first of equals), the other is listed as skipped.
    fn entry(&mut self, e: &crate::library::Entry, words: &[String]) {
        let pattern = edged(e.edge, &words.join(" "));
        let existing = self.index.get(pattern.as_bytes()).and_then(|&pid| {
            let rules = &self.rules;
            self.roles
                .get_mut(pid as usize)?
                .iter_mut()
                .find_map(|r| match r {
                    Role::Entry(rule) => {
                        let old = rules.get(*rule as usize)?;
                        (old.category == e.category).then_some((r, old.id.clone(), old.severity))
                    }
                    _ => None,
                })
        });
        match existing {
            Some((_, old_id, old_severity)) if old_severity >= e.severity => {
                let reason = format!(
                    "the same text as `{old_id}` once normalised (`{}`), which already fires; \
                     remove one of them",
                    words.join(" ")
                );
                self.skip(&e.id, reason);
            }
            Some((role, old_id, _)) => {
                let rule = (self.rules.len()) as u32;
                *role = Role::Entry(rule);
                self.rules.push(Rule {
                    id: e.id.clone(),
                    category: e.category,
                    severity: e.severity,
                    weight: e.weight,
                    combo: false,
                    exceptions: Vec::new(),
                });
                let reason = format!(
                    "the same text as `{}` once normalised (`{}`), which is more severe; \
                     remove one of them",
                    e.id,
                    words.join(" ")
                );
                self.skip(&old_id, reason);
            }
            None => {
                let rule = self.rule(&e.id, e.category, e.severity, e.weight, false);
                self.phrase(words, e.edge, Role::Entry(rule));
            }
        }
    }

    /// Adds a normalised phrase (non-empty words) with its edge; one pattern per distinct
    /// text, carrying every role.
    fn phrase(&mut self, words: &[String], edge: Edge, role: Role) {
        let pattern = edged(edge, &words.join(" ")).into_bytes();
        self.max_span = self.max_span.max(words.len() as u64);
        self.add(pattern, words.len() as u32, role);
    }

    /// Adds a literal trigger for a regex.
    fn literal(&mut self, pattern: Vec<u8>, role: Role) {
        self.add(pattern, 1, role);
    }

    /// Adds `role` to the pattern `pattern` spanning `words` words.
    fn add(&mut self, pattern: Vec<u8>, words: u32, role: Role) {
        let id = match self.index.get(&pattern) {
            Some(&id) => id,
            None => {
                let id = self.patterns.len() as u32;
                self.index.insert(pattern.clone(), id);
                self.patterns.push(pattern);
                self.words.push(words);
                self.roles.push(Vec::new());
                id
            }
        };
        if let Some(roles) = self.roles.get_mut(id as usize) {
            roles.push(role);
        }
    }

    /// Prepares the enabled regex entries: triggers for those with final literals, one
    /// stepped DFA for the rest. Entries that cannot be built are skipped.
    fn regexes(
        &mut self,
        entries: &[&crate::library::Entry],
    ) -> Result<Option<Regexes>, CompileError> {
        let mut prepared = Vec::new();
        for e in entries {
            let wrapped = edged(e.edge, &format!("(?:{})", e.pattern));
            match regex::prepare(wrapped) {
                Ok(p) => prepared.push((*e, p)),
                Err(err) => self.skip(
                    &e.id,
                    format!(
                        "regex cannot be compiled into a DFA ({err}); drop `\\b` and other \
                         look-around (words are separated by single spaces) or simplify it"
                    ),
                ),
            }
        }
        let mut stepped = stepped_dfa(&prepared);
        if stepped.is_err() {
            // Too large together: leave out the ones too large on their own, then retry.
            let (bad, good): (Vec<_>, Vec<_>) = prepared.into_iter().partition(|(_, p)| {
                p.triggers.is_none() && regex::stepped_dfa(&[p.wrapped.as_str()]).is_err()
            });
            for (e, _) in bad {
                self.skip(
                    &e.id,
                    "regex compiles to too large a DFA; simplify it or end it with a word".into(),
                );
            }
            prepared = good;
            stepped = stepped_dfa(&prepared);
        }
        let stepped = stepped.map_err(|detail| CompileError::Regexes {
            count: prepared
                .iter()
                .filter(|(_, p)| p.triggers.is_none())
                .count(),
            detail,
        })?;
        if prepared.is_empty() {
            return Ok(None);
        }
        let mut entries = Vec::with_capacity(prepared.len());
        for (i, (e, p)) in prepared.into_iter().enumerate() {
            let rule = self.rule(&e.id, e.category, e.severity, e.weight, false);
            for t in p.triggers.iter().flatten() {
                self.literal(t.clone(), Role::RegexEnd(i as u32));
            }
            entries.push((rule, p));
        }
        self.max_span = self.max_span.max(REGEX_LOOKBACK_WORDS);
        Ok(Some(Regexes::new(entries, stepped)))
    }

    fn finish(
        self,
        library: &Library,
        regexes: Option<Regexes>,
        started: Instant,
    ) -> Result<CompiledLibrary, CompileError> {
        let total: usize = self.patterns.iter().map(Vec::len).sum();
        let err = |source| CompileError::Phrases {
            patterns: self.patterns.len(),
            source,
        };
        let phrases = if total <= DFA_MAX_PATTERN_BYTES {
            aho_corasick::dfa::Builder::new()
                .match_kind(aho_corasick::MatchKind::Standard)
                .start_kind(aho_corasick::StartKind::Unanchored)
                .prefilter(false)
                .build(&self.patterns)
                .map(Phrases::Dfa)
                .map_err(err)?
        } else {
            aho_corasick::nfa::contiguous::NFA::builder()
                .match_kind(aho_corasick::MatchKind::Standard)
                .prefilter(false)
                .build(&self.patterns)
                .map(Phrases::Nfa)
                .map_err(err)?
        };
        let (automaton, ac_memory) = match &phrases {
            Phrases::Dfa(d) => ("dfa", d.memory_usage()),
            Phrases::Nfa(n) => ("contiguous-nfa", n.memory_usage()),
        };
        let mut roles = Vec::with_capacity(self.roles.iter().map(Vec::len).sum());
        let mut phrase_info = Vec::with_capacity(self.patterns.len());
        for (r, words) in self.roles.into_iter().zip(self.words) {
            let from = roles.len() as u32;
            roles.extend(r);
            phrase_info.push(PhraseInfo {
                words,
                roles: (from, roles.len() as u32),
            });
        }
        let widest = self.exceptions.iter().map(|x| x.within).max().unwrap_or(0);
        let lookahead = CONTEXT_WORDS.max(widest);
        let re_memory = regexes.as_ref().map_or(0, Regexes::memory_usage);
        if !self.skipped.is_empty() {
            tracing::warn!(
                library = library.id(),
                skipped = self.skipped.len(),
                "library items that can never match were left out; run `gatewatch library \
                 check` to list them"
            );
        }
        let stats = CompileStats {
            rules: self.rules.len(),
            patterns: self.patterns.len(),
            regexes: regexes.as_ref().map_or(0, |r| r.rules.len()),
            stepped_regexes: regexes
                .as_ref()
                .and_then(|r| r.stepped.as_ref())
                .map_or(0, |s| s.regex.len()),
            automaton,
            memory_bytes: ac_memory + re_memory,
            elapsed: started.elapsed(),
        };
        Ok(CompiledLibrary {
            library_id: library.id().to_string(),
            version: library.version().to_string(),
            checksum: library.checksum().to_string(),
            phrase_info,
            patterns: self.patterns,
            roles,
            regexes,
            rules: self.rules,
            combos: self.combos,
            exceptions: self.exceptions,
            lookahead,
            near_horizon: lookahead + self.max_span + widest + CONTEXT_WORDS,
            skipped: self.skipped,
            stats,
            phrases,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
category = "suicide"

[[entry]]
id = "suicide/kms"
match = "kms"
severity = 4
rationale = "t"

[[entry]]
id = "suicide/kms-dotted"
match = "k.m.s"
severity = 3
rationale = "t"

[[entry]]
id = "suicide/suicid"
match = "Suicid"
edge = "start"
severity = 3
rationale = "t"

[[entry]]
id = "suicide/unalive"
match = "unalive"
edge = "substring"
severity = 3
rationale = "t"

[[entry]]
id = "suicide/kms-violence"
match = "KMS"
category = "violence"
severity = 1
rationale = "t"

[[entry]]
id = "suicide/dollars"
match = "$$"
severity = 1
rationale = "t"

[[entry]]
id = "suicide/bad-regex"
match = '\bdie\b'
kind = "regex"
severity = 5
rationale = "t"

[[entry]]
id = "suicide/good-regex"
match = 'want(?:s|ed)? to die'
kind = "regex"
edge = "start"
severity = 5
rationale = "t"

[[entry]]
id = "suicide/off"
match = "off"
enabled = false
severity = 1
rationale = "t"

[[combo]]
id = "suicide/how-combo"
all = ["how to", "kms"]
severity = 5
rationale = "t"

[[exception]]
id = "suicide/kms-radio"
applies_to = ["suicide"]
near = ["radio", "  Radio  "]
within = 20
rationale = "t"
"#;

    fn compiled() -> CompiledLibrary {
        let lib = Library::from_sources("t", "1", "", &[("suicide.toml", FILE)]).unwrap();
        CompiledLibrary::compile(&lib).unwrap()
    }

    fn pattern_roles(lib: &CompiledLibrary, pattern: &str) -> Vec<Role> {
        let i = lib
            .patterns
            .iter()
            .position(|p| p == pattern.as_bytes())
            .unwrap_or_else(|| panic!("no pattern {pattern:?}"));
        lib.roles_of(i as u32).0.to_vec()
    }

    fn rule(lib: &CompiledLibrary, id: &str) -> u32 {
        lib.rules.iter().position(|r| r.id == id).unwrap() as u32
    }

    #[test]
    fn phrases_are_normalised_and_wrapped_with_their_edges() {
        let lib = compiled();
        let kms = rule(&lib, "suicide/kms");
        let kms_v = rule(&lib, "suicide/kms-violence");
        let combo = Role::ComboPart { combo: 0, part: 1 };
        assert_eq!(
            pattern_roles(&lib, " kms "),
            vec![Role::Entry(kms), Role::Entry(kms_v), combo]
        );
        let suicid = rule(&lib, "suicide/suicid");
        assert_eq!(pattern_roles(&lib, " suicid"), vec![Role::Entry(suicid)]);
        let unalive = rule(&lib, "suicide/unalive");
        assert_eq!(pattern_roles(&lib, "unalive"), vec![Role::Entry(unalive)]);
        assert_eq!(
            pattern_roles(&lib, " radio "),
            vec![Role::Near(0), Role::Near(0)]
        );
        assert_eq!(lib.phrase_info[0].words, 1);
        assert!(!lib.patterns.iter().any(|p| p == b" off "), "disabled");
        assert_eq!(lib.lookahead, 20, "the widest exception window");
        assert_eq!(lib.stats.automaton, "dfa");
        assert_eq!(lib.stats.regexes, 1);
        let good = rule(&lib, "suicide/good-regex");
        assert_eq!(lib.regexes.as_ref().unwrap().rules, vec![good]);
        assert_eq!(lib.rules[kms as usize].exceptions, vec![0]);
        assert!(lib.rules[kms_v as usize].exceptions.is_empty());
    }

    #[test]
    fn items_that_cannot_match_or_duplicate_are_skipped_with_a_reason() {
        let lib = compiled();
        let skipped: Vec<&str> = lib.skipped().iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            skipped,
            vec!["suicide/kms-dotted", "suicide/dollars", "suicide/bad-regex"]
        );
        assert!(
            lib.skipped()[0].reason.contains("suicide/kms"),
            "{:?}",
            lib.skipped()
        );
        assert!(
            lib.skipped()[2].reason.contains("\\b"),
            "{:?}",
            lib.skipped()
        );
    }

    #[test]
    fn a_more_severe_duplicate_replaces_the_earlier_entry() {
        let file = r#"
category = "suicide"

[[entry]]
id = "suicide/a"
match = "kms"
severity = 2
rationale = "t"

[[entry]]
id = "suicide/b"
match = "k m s"
severity = 4
rationale = "t"
"#;
        let lib = Library::from_sources("t", "1", "", &[("suicide.toml", file)]).unwrap();
        let lib = CompiledLibrary::compile(&lib).unwrap();
        let b = rule(&lib, "suicide/b");
        assert_eq!(pattern_roles(&lib, " kms "), vec![Role::Entry(b)]);
        assert_eq!(lib.skipped()[0].id, "suicide/a");
    }

    #[test]
    fn the_whole_e2guardian_set_compiles() {
        let dir = std::path::Path::new("/work/shared/data/e2guardian-phraselists");
        let import = crate::library::import::import_e2guardian(dir, None).unwrap();
        let lib = CompiledLibrary::compile(&import.library).unwrap();
        let stats = lib.stats();
        eprintln!(
            "e2guardian: {stats:?}, {} skipped, e.g. {:?}",
            lib.skipped().len(),
            lib.skipped().iter().take(2).collect::<Vec<_>>()
        );
        assert!(stats.rules > 5_000 && stats.patterns > 5_000, "{stats:?}");
        assert!(
            stats.elapsed.as_secs_f64() < 10.0,
            "{stats:?} (debug build)"
        );
    }
}
