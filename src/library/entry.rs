//! Library items: the raw TOML shapes as written by authors, and the validated types the
//! matcher consumes.
//!
//! Raw structs mirror the files exactly (`deny_unknown_fields`, every value wrapped in
//! [`Spanned`] so a problem can name its line). Required fields are `Option` here so the
//! validator can report every missing field with a hint instead of stopping at the first.
//! The library's `validate` module turns them into [`Entry`], [`Combo`] and [`Exception`].

use std::fmt;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::Category;

/// How an entry's `match` text is interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A literal word or phrase (the default).
    #[default]
    Phrase,
    /// A regular expression (`regex-automata` syntax) over normalised text.
    Regex,
}

/// Where a match may start and end relative to words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Edge {
    /// Whole word or phrase only: `shot` does not match `shotgun` (the default).
    #[default]
    Word,
    /// Must begin at a word start but may run into the word: `suicid` matches `suicidal`.
    Start,
    /// Anywhere, even inside a word. Use sparingly (the Scunthorpe problem).
    Substring,
}

/// A severity from 1 (low) to 5 (immediate risk to life or illegal content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Severity(u8);

impl Severity {
    /// The lowest severity, 1.
    pub const MIN: Severity = Severity(1);
    /// The highest severity, 5.
    pub const MAX: Severity = Severity(5);

    /// A severity, or `None` outside 1..=5.
    pub fn new(value: u8) -> Option<Severity> {
        (1..=5).contains(&value).then_some(Severity(value))
    }

    /// The value, 1..=5.
    pub fn get(self) -> u8 {
        self.0
    }

    /// The weight an item gets when it sets none: 1->5, 2->10, 3->25, 4->50, 5->100.
    pub fn default_weight(self) -> i32 {
        match self.0 {
            1 => 5,
            2 => 10,
            3 => 25,
            4 => 50,
            _ => 100,
        }
    }

    /// This severity lowered by `by` steps, never below 1 (an exception's `lower` effect).
    pub fn lowered(self, by: u8) -> Severity {
        Severity(self.0.saturating_sub(by).max(1))
    }
}

impl TryFrom<u8> for Severity {
    type Error = String;

    fn try_from(value: u8) -> Result<Severity, String> {
        Severity::new(value).ok_or_else(|| format!("severity {value} is not within 1..=5"))
    }
}

impl From<Severity> for u8 {
    fn from(s: Severity) -> u8 {
        s.0
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What an exception does to the hits it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase", tag = "effect")]
pub enum Effect {
    /// The hit is dropped.
    Cancel,
    /// The hit's severity is lowered by `by` steps (never below 1).
    Lower {
        /// Steps to lower, 1..=4.
        by: u8,
    },
}

/// What an exception applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// One entry or combo, by id.
    Item(String),
    /// Every entry and combo of a category.
    Category(Category),
}

/// Where an item was defined: the file (name inside the library directory, or the overlay
/// path) and the 1-based line (0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Origin {
    /// File name, e.g. `self-harm.toml`.
    pub file: String,
    /// 1-based line of the item's `id` (0 when unknown).
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A validated word, phrase or pattern.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// Unique, stable id, e.g. `self-harm/cut-myself`; stored in incidents.
    pub id: String,
    /// The phrase (trimmed, inner whitespace collapsed) or the regex, as the author wrote it.
    /// The matcher normalises phrases with the same normaliser it applies to text.
    pub pattern: String,
    /// Phrase or regex.
    pub kind: Kind,
    /// Word-edge rule.
    pub edge: Edge,
    /// Category.
    pub category: Category,
    /// Severity, 1..=5.
    pub severity: Severity,
    /// Score contribution, -1000..=1000; negative weights lower a page's score.
    pub weight: i32,
    /// Lower-case BCP 47 language code, e.g. `en`, `cy`, `pl`.
    pub lang: String,
    /// False when disabled in the file or by a school overlay.
    pub enabled: bool,
    /// Why the entry exists.
    pub rationale: String,
    /// Where it was defined.
    pub origin: Origin,
}

/// A validated combination rule: all parts within `within` words of each other.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Combo {
    /// Unique, stable id.
    pub id: String,
    /// 2..=4 phrases, each matched with whole-word edges.
    pub parts: Vec<String>,
    /// Maximum distance in words between the first and last part, 1..=50.
    pub within: u32,
    /// Category.
    pub category: Category,
    /// Severity, 1..=5.
    pub severity: Severity,
    /// Score contribution, -1000..=1000.
    pub weight: i32,
    /// Lower-case BCP 47 language code.
    pub lang: String,
    /// False when disabled.
    pub enabled: bool,
    /// Why the combo exists.
    pub rationale: String,
    /// Where it was defined.
    pub origin: Origin,
}

/// A validated exception: cancels or lowers hits that have a context phrase nearby.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exception {
    /// Unique, stable id.
    pub id: String,
    /// The entries, combos or categories it applies to (all resolved when loaded).
    pub applies_to: Vec<Target>,
    /// Context phrases, each matched with whole-word edges.
    pub near: Vec<String>,
    /// Words either side of the hit in which a context phrase counts, 1..=50.
    pub within: u32,
    /// Cancel or lower.
    pub effect: Effect,
    /// Lower-case BCP 47 language code of the context phrases.
    pub lang: String,
    /// False when disabled.
    pub enabled: bool,
    /// Why the exception exists.
    pub rationale: String,
    /// Where it was defined.
    pub origin: Origin,
}

impl Exception {
    /// True when this exception applies to the item `id` of `category`.
    pub fn applies(&self, id: &str, category: Category) -> bool {
        self.applies_to.iter().any(|t| match t {
            Target::Item(target) => target == id,
            Target::Category(c) => *c == category,
        })
    }
}

fn yes() -> bool {
    true
}

/// A category file as written (`libraries/<name>/<category>.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCategoryFile {
    /// Default category of every item in the file.
    pub category: Option<Spanned<String>>,
    /// `[[entry]]` tables.
    #[serde(default)]
    pub entry: Vec<Spanned<RawEntry>>,
    /// `[[combo]]` tables.
    #[serde(default)]
    pub combo: Vec<Spanned<RawCombo>>,
    /// `[[exception]]` tables.
    #[serde(default)]
    pub exception: Vec<Spanned<RawException>>,
}

/// An `[[entry]]` (or an overlay `[[add]]`) as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEntry {
    /// Required.
    pub id: Option<Spanned<String>>,
    /// Required: the phrase or regex.
    #[serde(rename = "match")]
    pub pattern: Option<Spanned<String>>,
    /// Default `phrase`.
    #[serde(default)]
    pub kind: Kind,
    /// Default `word`.
    #[serde(default)]
    pub edge: Edge,
    /// Default: the file's `category`.
    pub category: Option<Spanned<String>>,
    /// Required, 1..=5.
    pub severity: Option<Spanned<i64>>,
    /// Default from severity.
    pub weight: Option<Spanned<i64>>,
    /// Default `en`.
    pub lang: Option<Spanned<String>>,
    /// Default true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Required.
    pub rationale: Option<Spanned<String>>,
    /// Overlay `[[add]]` only: who added it (kept for audit).
    pub by: Option<Spanned<String>>,
    /// Overlay `[[add]]` only: when (YYYY-MM-DD).
    pub date: Option<Spanned<String>>,
}

/// A `[[combo]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCombo {
    /// Required.
    pub id: Option<Spanned<String>>,
    /// Required: 2..=4 phrases.
    pub all: Option<Spanned<Vec<String>>>,
    /// Default 8 words.
    pub within: Option<Spanned<i64>>,
    /// Default: the file's `category`.
    pub category: Option<Spanned<String>>,
    /// Required, 1..=5.
    pub severity: Option<Spanned<i64>>,
    /// Default from severity.
    pub weight: Option<Spanned<i64>>,
    /// Default `en`.
    pub lang: Option<Spanned<String>>,
    /// Default true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Required.
    pub rationale: Option<Spanned<String>>,
}

/// The `effect` key of an exception as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawEffect {
    /// Drop the hit (the default).
    #[default]
    Cancel,
    /// Lower the hit's severity by `lower_by`.
    Lower,
}

/// An `[[exception]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawException {
    /// Required.
    pub id: Option<Spanned<String>>,
    /// Required: entry or combo ids, or category ids.
    pub applies_to: Option<Spanned<Vec<String>>>,
    /// Required: context phrases.
    pub near: Option<Spanned<Vec<String>>>,
    /// Default 8 words.
    pub within: Option<Spanned<i64>>,
    /// Default `cancel`.
    #[serde(default)]
    pub effect: RawEffect,
    /// Default 2; only with `effect = "lower"`.
    pub lower_by: Option<Spanned<i64>>,
    /// Default `en`.
    pub lang: Option<Spanned<String>>,
    /// Default true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Required.
    pub rationale: Option<Spanned<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_bounds_weights_and_lowering() {
        assert_eq!(Severity::new(0), None);
        assert_eq!(Severity::new(6), None);
        let weights: Vec<i32> = (1..=5)
            .filter_map(Severity::new)
            .map(Severity::default_weight)
            .collect();
        assert_eq!(weights, vec![5, 10, 25, 50, 100]);
        assert_eq!(Severity::MAX.lowered(2).get(), 3);
        assert_eq!(Severity::new(2).map(|s| s.lowered(4)), Some(Severity::MIN));
        assert!(serde_json::from_str::<Severity>("7").is_err());
        assert_eq!(serde_json::from_str::<Severity>("4").ok(), Severity::new(4));
    }

    #[test]
    fn raw_entry_defaults_and_unknown_fields() {
        let e: RawEntry = toml::from_str("id = \"a/b\"\nmatch = \"x\"").unwrap();
        assert_eq!(e.kind, Kind::Phrase);
        assert_eq!(e.edge, Edge::Word);
        assert!(e.enabled);
        assert!(e.weight.is_none() && e.lang.is_none());
        let err = toml::from_str::<RawEntry>("id = \"a/b\"\nmatchh = \"x\"").unwrap_err();
        assert!(err.message().contains("matchh"), "{err}");
        let err = toml::from_str::<RawEntry>("edge = \"words\"").unwrap_err();
        assert!(err.message().contains("words"), "{err}");
    }

    #[test]
    fn exception_applies_by_id_or_category() {
        let ex = Exception {
            id: "violence/shot-film".into(),
            applies_to: vec![
                Target::Item("violence/shot".into()),
                Target::Category(Category::Weapons),
            ],
            near: vec!["camera".into()],
            within: 8,
            effect: Effect::Cancel,
            lang: "en".into(),
            enabled: true,
            rationale: "Filming.".into(),
            origin: Origin {
                file: "violence.toml".into(),
                line: 3,
            },
        };
        assert!(ex.applies("violence/shot", Category::Violence));
        assert!(ex.applies("weapons/gun", Category::Weapons));
        assert!(!ex.applies("violence/stab", Category::Violence));
    }
}
