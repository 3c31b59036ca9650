//! Validation of single items: raw TOML tables in, validated [`Entry`], [`Combo`] and
//! [`Exception`] out. Every problem is recorded with its file, item and line; validation goes
//! on after a problem so an author sees them all at once.
//!
//! Checks across items (unique ids, exception targets) live in [`super::load`]; the rules for
//! single values in `rules`.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::Spanned;

use super::entry::{RawCombo, RawEffect, RawEntry, RawException};
use super::rules::{id_chars_ok, phrase, plausible_lang, regex, MAX_ID_LEN};
use super::{Category, Combo, Effect, Entry, Exception, Kind, Origin, Problem, Severity, Target};

/// Default and bounds of `within` (words).
const WITHIN_DEFAULT: u32 = 8;
const WITHIN_MAX: i64 = 50;
/// Bound of `weight` either side of zero.
const WEIGHT_MAX: i64 = 1000;

/// Which prefix an item id must carry.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IdRule {
    /// A category file: `<file category>/` (or `<item category>/` when the item overrides it);
    /// the file category is also the default category.
    File(Option<Category>),
    /// A school overlay: `school/`; items must name their category.
    School,
}

/// Collects the problems of one file.
pub(crate) struct Checker<'a> {
    path: PathBuf,
    file: String,
    src: &'a str,
    lines: LineIndex,
    problems: Vec<Problem>,
}

/// Line starts of a text, to turn byte offsets into 1-based lines quickly.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the line starts of `src`.
    pub(crate) fn new(src: &str) -> LineIndex {
        let newlines = src.bytes().enumerate().filter(|(_, b)| *b == b'\n');
        let starts = std::iter::once(0)
            .chain(newlines.map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
    }

    /// The 1-based line holding byte `offset`.
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }
}

impl<'a> Checker<'a> {
    /// A checker for the file at `path`, called `file` in item origins, with contents `src`.
    pub(crate) fn new(path: &Path, file: &str, src: &'a str) -> Checker<'a> {
        Checker {
            path: path.to_path_buf(),
            file: file.to_string(),
            src,
            lines: LineIndex::new(src),
            problems: Vec::new(),
        }
    }

    /// The 1-based line where `span` starts.
    pub(crate) fn line(&self, span: &Range<usize>) -> usize {
        self.lines.line(span.start)
    }

    /// Records a problem.
    pub(crate) fn problem(&mut self, line: usize, item: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.path.clone(),
            line,
            item: item.to_string(),
            message: message.into(),
        });
    }

    /// How many problems have been recorded.
    pub(crate) fn problems_len(&self) -> usize {
        self.problems.len()
    }

    /// The problems recorded so far.
    pub(crate) fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    /// Parses the whole file, recording a syntax or unknown-key problem on failure.
    pub(crate) fn parse<T: DeserializeOwned>(&mut self) -> Option<T> {
        match toml::from_str::<T>(self.src) {
            Ok(value) => Some(value),
            Err(e) => {
                let line = e.span().map(|s| self.line(&s)).unwrap_or(0);
                let message = format!(
                    "{}; check the TOML syntax and the key names against libraries/README.md",
                    e.message().trim_end()
                );
                self.problem(line, "file", message);
                None
            }
        }
    }

    /// Resolves an optional category name, falling back to `default`.
    pub(crate) fn category(
        &mut self,
        raw: Option<&Spanned<String>>,
        default: Option<Category>,
        item: &str,
        line: usize,
    ) -> Option<Category> {
        match raw {
            Some(s) => {
                let found = Category::from_id(s.get_ref().trim());
                if found.is_none() {
                    let line = self.line(&s.span());
                    self.problem(
                        line,
                        item,
                        format!(
                            "unknown category `{}`; use one of: {}",
                            s.get_ref(),
                            Category::id_list()
                        ),
                    );
                }
                found
            }
            None if default.is_some() => default,
            None => {
                self.problem(
                    line,
                    item,
                    format!("missing `category`; add one of: {}", Category::id_list()),
                );
                None
            }
        }
    }

    /// Validates an `[[entry]]` (or overlay `[[add]]`), the `index`-th (0-based) of its file.
    pub(crate) fn entry(
        &mut self,
        raw: Spanned<RawEntry>,
        index: usize,
        rule: IdRule,
    ) -> Option<Entry> {
        let before = self.problems.len();
        let span = raw.span();
        let raw = raw.into_inner();
        let (item, line) = self.item_name(raw.id.as_ref(), "entry", index, &span);
        let default = match rule {
            IdRule::File(c) => c,
            IdRule::School => None,
        };
        let category = self.category(raw.category.as_ref(), default, &item, line);
        let id = self.id(raw.id.as_ref(), rule, category, &item, line);
        let pattern = match raw.pattern.as_ref() {
            None => {
                self.problem(
                    line,
                    &item,
                    "missing `match`: add the word, phrase or regex",
                );
                String::new()
            }
            Some(m) => {
                let mline = self.line(&m.span());
                let checked = match raw.kind {
                    Kind::Phrase => phrase(m.get_ref()),
                    Kind::Regex => regex(m.get_ref()).map(|()| m.get_ref().clone()),
                };
                checked.unwrap_or_else(|msg| {
                    self.problem(mline, &item, format!("`match` {msg}"));
                    String::new()
                })
            }
        };
        let severity = self.severity(raw.severity.as_ref(), &item, line);
        let weight = self.weight(raw.weight.as_ref(), severity, &item);
        let lang = self.lang(raw.lang.as_ref(), &item);
        let rationale = self.rationale(raw.rationale.as_ref(), &item, line);
        if let IdRule::File(_) = rule {
            for (key, value) in [("by", &raw.by), ("date", &raw.date)] {
                if let Some(v) = value {
                    let l = self.line(&v.span());
                    self.problem(
                        l,
                        &item,
                        format!("`{key}` belongs in a school overlay's [[add]]; remove it here"),
                    );
                }
            }
        }
        match (category, severity) {
            (Some(category), Some(severity)) if self.problems.len() == before => Some(Entry {
                id,
                pattern,
                kind: raw.kind,
                edge: raw.edge,
                category,
                severity,
                weight,
                lang,
                enabled: raw.enabled,
                rationale,
                origin: Origin {
                    file: self.file.clone(),
                    line,
                },
            }),
            _ => None,
        }
    }

    /// Validates a `[[combo]]`, the `index`-th (0-based) of its file.
    pub(crate) fn combo(
        &mut self,
        raw: Spanned<RawCombo>,
        index: usize,
        file_category: Option<Category>,
    ) -> Option<Combo> {
        let before = self.problems.len();
        let span = raw.span();
        let raw = raw.into_inner();
        let (item, line) = self.item_name(raw.id.as_ref(), "combo", index, &span);
        let category = self.category(raw.category.as_ref(), file_category, &item, line);
        let id = self.id(
            raw.id.as_ref(),
            IdRule::File(file_category),
            category,
            &item,
            line,
        );
        let parts = self.phrase_list(raw.all.as_ref(), "all", 2, 4, &item, line);
        let within = self.within(raw.within.as_ref(), &item);
        let severity = self.severity(raw.severity.as_ref(), &item, line);
        let weight = self.weight(raw.weight.as_ref(), severity, &item);
        let lang = self.lang(raw.lang.as_ref(), &item);
        let rationale = self.rationale(raw.rationale.as_ref(), &item, line);
        match (category, severity) {
            (Some(category), Some(severity)) if self.problems.len() == before => Some(Combo {
                id,
                parts,
                within,
                category,
                severity,
                weight,
                lang,
                enabled: raw.enabled,
                rationale,
                origin: Origin {
                    file: self.file.clone(),
                    line,
                },
            }),
            _ => None,
        }
    }

    /// Validates an `[[exception]]`, the `index`-th (0-based) of its file. Item targets are
    /// checked for existence later, once the whole library is loaded.
    pub(crate) fn exception(
        &mut self,
        raw: Spanned<RawException>,
        index: usize,
        file_category: Option<Category>,
    ) -> Option<Exception> {
        let before = self.problems.len();
        let span = raw.span();
        let raw = raw.into_inner();
        let (item, line) = self.item_name(raw.id.as_ref(), "exception", index, &span);
        let id = self.id(
            raw.id.as_ref(),
            IdRule::File(file_category),
            None,
            &item,
            line,
        );
        let applies_to = self.targets(raw.applies_to.as_ref(), &item, line);
        let near = self.phrase_list(raw.near.as_ref(), "near", 1, 64, &item, line);
        let within = self.within(raw.within.as_ref(), &item);
        let effect = match (raw.effect, raw.lower_by.as_ref()) {
            (RawEffect::Cancel, None) => Effect::Cancel,
            (RawEffect::Cancel, Some(s)) => {
                let l = self.line(&s.span());
                self.problem(
                    l,
                    &item,
                    "`lower_by` only applies with `effect = \"lower\"`; remove it or set the effect",
                );
                Effect::Cancel
            }
            (RawEffect::Lower, None) => Effect::Lower { by: 2 },
            (RawEffect::Lower, Some(s)) => match u8::try_from(*s.get_ref()) {
                Ok(by @ 1..=4) => Effect::Lower { by },
                _ => {
                    let l = self.line(&s.span());
                    self.problem(
                        l,
                        &item,
                        format!("`lower_by` {} is not within 1..=4", s.get_ref()),
                    );
                    Effect::Cancel
                }
            },
        };
        let lang = self.lang(raw.lang.as_ref(), &item);
        let rationale = self.rationale(raw.rationale.as_ref(), &item, line);
        (self.problems.len() == before).then(|| Exception {
            id,
            applies_to,
            near,
            within,
            effect,
            lang,
            enabled: raw.enabled,
            rationale,
            origin: Origin {
                file: self.file.clone(),
                line,
            },
        })
    }

    /// The name used in problems (the id, or `entry #N`) and the item's line.
    fn item_name(
        &self,
        id: Option<&Spanned<String>>,
        what: &str,
        index: usize,
        span: &Range<usize>,
    ) -> (String, usize) {
        match id {
            Some(id) if !id.get_ref().trim().is_empty() => {
                (id.get_ref().clone(), self.line(&id.span()))
            }
            _ => (format!("{what} #{}", index + 1), self.line(span)),
        }
    }

    fn id(
        &mut self,
        raw: Option<&Spanned<String>>,
        rule: IdRule,
        item_category: Option<Category>,
        item: &str,
        line: usize,
    ) -> String {
        let Some(raw) = raw else {
            self.problem(
                line,
                item,
                "missing `id`: add a unique, stable id such as `<category>/<short-name>`",
            );
            return String::new();
        };
        let id = raw.get_ref();
        let line = self.line(&raw.span());
        if !id_chars_ok(id) {
            self.problem(
                line,
                item,
                format!(
                    "id `{id}` must be 1..={MAX_ID_LEN} characters of a-z, 0-9, `-`, `_`, `.` \
                     and `/` (no spaces or capitals), like `self-harm/cut-myself`"
                ),
            );
            return id.clone();
        }
        let mut prefixes: Vec<String> = match rule {
            IdRule::School => vec!["school/".to_string()],
            IdRule::File(file) => file
                .into_iter()
                .chain(item_category)
                .map(|c| format!("{}/", c.id()))
                .collect(),
        };
        prefixes.dedup();
        let ok = prefixes.is_empty()
            || prefixes
                .iter()
                .any(|p| id.starts_with(p.as_str()) && id.len() > p.len());
        if !ok {
            self.problem(
                line,
                item,
                format!(
                    "id `{id}` must start with `{}` followed by a name",
                    prefixes.join("` or `")
                ),
            );
        }
        id.clone()
    }

    fn severity(
        &mut self,
        raw: Option<&Spanned<i64>>,
        item: &str,
        line: usize,
    ) -> Option<Severity> {
        match raw {
            None => {
                self.problem(
                    line,
                    item,
                    "missing `severity`: add 1..=5 (see the severity guide in libraries/README.md)",
                );
                None
            }
            Some(s) => {
                let found = u8::try_from(*s.get_ref()).ok().and_then(Severity::new);
                if found.is_none() {
                    let l = self.line(&s.span());
                    self.problem(
                        l,
                        item,
                        format!(
                            "severity {} is not within 1..=5 (5 is the most serious)",
                            s.get_ref()
                        ),
                    );
                }
                found
            }
        }
    }

    fn weight(
        &mut self,
        raw: Option<&Spanned<i64>>,
        severity: Option<Severity>,
        item: &str,
    ) -> i32 {
        let default = severity.map(Severity::default_weight).unwrap_or(0);
        let Some(w) = raw else { return default };
        match i32::try_from(*w.get_ref()) {
            Ok(v) if i64::from(v).abs() <= WEIGHT_MAX => v,
            _ => {
                let l = self.line(&w.span());
                self.problem(
                    l,
                    item,
                    format!(
                        "weight {} is not within -{WEIGHT_MAX}..={WEIGHT_MAX}; leave it out to use \
                         the severity's default",
                        w.get_ref()
                    ),
                );
                default
            }
        }
    }

    fn within(&mut self, raw: Option<&Spanned<i64>>, item: &str) -> u32 {
        let Some(w) = raw else { return WITHIN_DEFAULT };
        match u32::try_from(*w.get_ref()) {
            Ok(v) if (1..=WITHIN_MAX).contains(&i64::from(v)) => v,
            _ => {
                let l = self.line(&w.span());
                self.problem(
                    l,
                    item,
                    format!(
                        "`within` {} is not within 1..={WITHIN_MAX} words (default {WITHIN_DEFAULT})",
                        w.get_ref()
                    ),
                );
                WITHIN_DEFAULT
            }
        }
    }

    fn lang(&mut self, raw: Option<&Spanned<String>>, item: &str) -> String {
        let Some(l) = raw else {
            return "en".to_string();
        };
        let code = l.get_ref().trim().to_ascii_lowercase();
        if !plausible_lang(&code) {
            let line = self.line(&l.span());
            self.problem(
                line,
                item,
                format!(
                    "`lang` `{}` is not a BCP 47 language code; use e.g. en, cy, pl, ur, ar, ro, es",
                    l.get_ref()
                ),
            );
        }
        code
    }

    fn rationale(&mut self, raw: Option<&Spanned<String>>, item: &str, line: usize) -> String {
        match raw {
            Some(r) if !r.get_ref().trim().is_empty() => r.get_ref().trim().to_string(),
            Some(r) => {
                let l = self.line(&r.span());
                self.problem(
                    l,
                    item,
                    "`rationale` is empty: say in one sentence why it matters",
                );
                String::new()
            }
            None => {
                self.problem(
                    line,
                    item,
                    "missing `rationale`: say in one sentence why it matters",
                );
                String::new()
            }
        }
    }

    fn phrase_list(
        &mut self,
        raw: Option<&Spanned<Vec<String>>>,
        key: &str,
        min: usize,
        max: usize,
        item: &str,
        line: usize,
    ) -> Vec<String> {
        let Some(list) = raw else {
            self.problem(
                line,
                item,
                format!("missing `{key}`: add {min}..={max} phrases"),
            );
            return Vec::new();
        };
        let l = self.line(&list.span());
        let n = list.get_ref().len();
        if !(min..=max).contains(&n) {
            self.problem(
                l,
                item,
                format!("`{key}` has {n} phrases; give {min}..={max}"),
            );
        }
        let mut out: Vec<String> = Vec::with_capacity(n);
        for (i, p) in list.get_ref().iter().enumerate() {
            match phrase(p) {
                Ok(p) if out.contains(&p) => {
                    self.problem(l, item, format!("`{key}` lists `{p}` twice; remove one"))
                }
                Ok(p) => out.push(p),
                Err(msg) => self.problem(l, item, format!("`{key}` phrase #{} {msg}", i + 1)),
            }
        }
        out
    }

    fn targets(
        &mut self,
        raw: Option<&Spanned<Vec<String>>>,
        item: &str,
        line: usize,
    ) -> Vec<Target> {
        let Some(list) = raw else {
            self.problem(
                line,
                item,
                "missing `applies_to`: list entry or combo ids, or category ids",
            );
            return Vec::new();
        };
        let l = self.line(&list.span());
        if list.get_ref().is_empty() {
            self.problem(
                l,
                item,
                "`applies_to` is empty: list entry or combo ids, or category ids",
            );
        }
        let mut out = Vec::new();
        for t in list.get_ref() {
            let t = t.trim();
            if t.contains('/') {
                out.push(Target::Item(t.to_string()));
            } else if let Some(c) = Category::from_id(t) {
                out.push(Target::Category(c));
            } else {
                self.problem(
                    l,
                    item,
                    format!(
                        "`applies_to` names `{t}`, which is neither an item id (with a `/`) nor a \
                         category; categories are: {}",
                        Category::id_list()
                    ),
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_finds_the_line_of_an_offset() {
        let lines = LineIndex::new("a\nbb\nccc");
        assert_eq!(lines.line(0), 1);
        assert_eq!(lines.line(1), 1);
        assert_eq!(lines.line(2), 2);
        assert_eq!(lines.line(5), 3);
        assert_eq!(lines.line(999), 3);
        assert_eq!(LineIndex::new("").line(0), 1);
    }
}
