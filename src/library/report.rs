//! The summary `gatewatch library check` prints: counts per category and severity, per
//! language, enabled and disabled items, overlay changes and warnings worth a look.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Serialize;

use super::{Category, ChangeKind, Kind, Library, OverlayChange, Severity};

/// Most warnings shown in the text rendering (JSON carries them all).
const SHOWN_WARNINGS: usize = 20;

/// Counts for one category. Entries and combos both count as items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryCounts {
    /// The category.
    pub category: Category,
    /// Its display name.
    pub name: &'static str,
    /// True for illegal content categories.
    pub illegal: bool,
    /// Enabled items per severity; index 0 is severity 1.
    pub by_severity: [usize; 5],
    /// Enabled items.
    pub enabled: usize,
    /// Disabled items.
    pub disabled: usize,
}

/// A validated library summarised for people who tune it; `Display` renders a table and
/// `Serialize` gives the same data as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// Library id.
    pub library: String,
    /// Library version.
    pub version: String,
    /// Verified checksum.
    pub checksum: String,
    /// Number of category files.
    pub files: usize,
    /// All entries.
    pub entries: usize,
    /// Enabled entries and combos.
    pub enabled: usize,
    /// Disabled entries and combos.
    pub disabled: usize,
    /// All combos.
    pub combos: usize,
    /// All exceptions.
    pub exceptions: usize,
    /// Entries with `kind = "regex"`.
    pub regexes: usize,
    /// Entries and combos with a negative weight.
    pub negative_weights: usize,
    /// One row per category, in [`Category::all`] order.
    pub categories: Vec<CategoryCounts>,
    /// Enabled entries and combos per language code.
    pub languages: BTreeMap<String, usize>,
    /// Overlay changes applied, for audit.
    pub overlay_changes: Vec<OverlayChange>,
    /// Things worth a look that are not errors.
    pub warnings: Vec<String>,
}

impl Library {
    /// Summarises the library for `gatewatch library check`.
    pub fn check_report(&self) -> CheckReport {
        let mut rows: Vec<CategoryCounts> = Category::all()
            .iter()
            .map(|&category| CategoryCounts {
                category,
                name: category.name(),
                illegal: category.is_illegal(),
                by_severity: [0; 5],
                enabled: 0,
                disabled: 0,
            })
            .collect();
        let mut languages = BTreeMap::new();
        let items = self
            .entries()
            .iter()
            .map(|e| (e.category, e.severity, e.enabled, &e.lang, e.weight))
            .chain(
                self.combos()
                    .iter()
                    .map(|c| (c.category, c.severity, c.enabled, &c.lang, c.weight)),
            );
        let (mut enabled, mut disabled, mut negative_weights) = (0, 0, 0);
        for (category, severity, on, lang, weight) in items {
            negative_weights += usize::from(weight < 0);
            let Some(row) = rows.iter_mut().find(|r| r.category == category) else {
                continue;
            };
            if on {
                enabled += 1;
                row.enabled += 1;
                row.by_severity[usize::from(severity.get() - 1)] += 1;
                *languages.entry(lang.clone()).or_insert(0) += 1;
            } else {
                disabled += 1;
                row.disabled += 1;
            }
        }
        let warnings = self.warnings(&rows);
        CheckReport {
            library: self.id().to_string(),
            version: self.version().to_string(),
            checksum: self.checksum().to_string(),
            files: self.files().len(),
            entries: self.entries().len(),
            enabled,
            disabled,
            combos: self.combos().len(),
            exceptions: self.exceptions().len(),
            regexes: self
                .entries()
                .iter()
                .filter(|e| e.kind == Kind::Regex)
                .count(),
            negative_weights,
            categories: rows,
            languages,
            overlay_changes: self.audit().to_vec(),
            warnings,
        }
    }

    /// Empty categories, and enabled entries of one category that look for the same text.
    fn warnings(&self, rows: &[CategoryCounts]) -> Vec<String> {
        let mut out: Vec<String> = rows
            .iter()
            .filter(|r| r.enabled == 0)
            .map(|r| format!("category {} has no enabled entries", r.category))
            .collect();
        let mut seen: HashMap<(Category, String, Kind, super::Edge), &str> = HashMap::new();
        for e in self.entries().iter().filter(|e| e.enabled) {
            let key = (e.category, e.pattern.to_lowercase(), e.kind, e.edge);
            match seen.get(&key) {
                Some(first) => out.push(format!(
                    "{} and {} both match `{}` in the same category; keep one",
                    first, e.id, e.pattern
                )),
                None => {
                    seen.insert(key, &e.id);
                }
            }
        }
        out
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "library {} {} ({} files), checksum {}",
            self.library, self.version, self.files, self.checksum
        )?;
        writeln!(
            f,
            "{} entries ({} regex), {} combos, {} exceptions; {} enabled, {} disabled, {} with \
             negative weight",
            self.entries,
            self.regexes,
            self.combos,
            self.exceptions,
            self.enabled,
            self.disabled,
            self.negative_weights
        )?;
        writeln!(f)?;
        let labels: Vec<String> = self.categories.iter().map(row_label).collect();
        let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        write!(f, "{:<width$}", "category")?;
        for s in 1..=5 {
            write!(f, " {:>5}", format!("sev{s}"))?;
        }
        writeln!(f, " {:>6} {:>8}", "total", "disabled")?;
        let mut totals = [0usize; 5];
        for (row, label) in self.categories.iter().zip(&labels) {
            write!(f, "{label:<width$}")?;
            for (i, n) in row.by_severity.iter().enumerate() {
                totals[i] += n;
                write!(f, " {n:>5}")?;
            }
            writeln!(f, " {:>6} {:>8}", row.enabled, row.disabled)?;
        }
        write!(f, "{:<width$}", "total")?;
        for n in totals {
            write!(f, " {n:>5}")?;
        }
        writeln!(f, " {:>6} {:>8}", self.enabled, self.disabled)?;
        writeln!(f)?;
        let langs: Vec<String> = self
            .languages
            .iter()
            .map(|(l, n)| format!("{l} {n}"))
            .collect();
        writeln!(f, "languages: {}", langs.join(", "))?;
        if !self.overlay_changes.is_empty() {
            writeln!(f, "\noverlay changes ({}):", self.overlay_changes.len())?;
            for c in &self.overlay_changes {
                writeln!(f, "  {}", render_change(c))?;
            }
        }
        if !self.warnings.is_empty() {
            writeln!(f, "\nwarnings ({}):", self.warnings.len())?;
            for w in self.warnings.iter().take(SHOWN_WARNINGS) {
                writeln!(f, "  {w}")?;
            }
            if self.warnings.len() > SHOWN_WARNINGS {
                writeln!(
                    f,
                    "  ... and {} more (use --format json for all)",
                    self.warnings.len() - SHOWN_WARNINGS
                )?;
            }
        }
        Ok(())
    }
}

/// The first column of a category row, e.g. `Terrorism [terrorism] (illegal)`.
fn row_label(row: &CategoryCounts) -> String {
    if row.illegal {
        format!("{} [{}] (illegal)", row.name, row.category)
    } else {
        format!("{} [{}]", row.name, row.category)
    }
}

/// One audit line, e.g. `regrade drugs/weed 3 -> 2 by j.smith on 2026-11-20: reason`.
fn render_change(c: &OverlayChange) -> String {
    let sev = |s: Option<Severity>| s.map(|s| s.to_string()).unwrap_or_else(|| "?".into());
    let what = match c.kind {
        ChangeKind::Add => format!("add {} (severity {})", c.id, sev(c.new_severity)),
        ChangeKind::Disable => format!("disable {}", c.id),
        ChangeKind::Regrade => format!(
            "regrade {} {} -> {}",
            c.id,
            sev(c.old_severity),
            sev(c.new_severity)
        ),
    };
    let by =
        c.by.as_deref()
            .map(|b| format!(" by {b}"))
            .unwrap_or_default();
    let date = c
        .date
        .as_deref()
        .map(|d| format!(" on {d}"))
        .unwrap_or_default();
    format!(
        "{what}{by}{date} ({} v{}, {}): {}",
        c.school, c.overlay_version, c.origin, c.reason
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
category = "drugs"

[[entry]]
id = "drugs/weed"
match = "weed"
severity = 3
rationale = "Cannabis slang."

[[entry]]
id = "drugs/buy-coke"
match = "buy coke"
severity = 4
lang = "en"
rationale = "Buying class A drugs."

[[entry]]
id = "drugs/marihuana"
match = "marihuana"
severity = 3
lang = "pl"
rationale = "Polish: cannabis."

[[entry]]
id = "drugs/weed-again"
match = "Weed"
severity = 2
weight = -5
rationale = "Duplicate on purpose."

[[entry]]
id = "drugs/k-re"
match = "k+etamine"
kind = "regex"
enabled = false
severity = 3
rationale = "Disabled regex."

[[combo]]
id = "drugs/where-buy"
all = ["where", "buy", "pills"]
severity = 4
rationale = "Seeking to buy."
"#;

    #[test]
    fn counts_per_category_severity_language_and_state() {
        let gambling = "category = \"gambling\"\n[[entry]]\nid = \"gambling/weed\"\nmatch = \"weed\"\nseverity = 1\nrationale = \"Same text, other category.\"\n";
        let files = [("drugs.toml", FILE), ("gambling.toml", gambling)];
        let lib = Library::from_sources("t", "7", "", &files).unwrap();
        let r = lib.check_report();
        assert_eq!((r.entries, r.combos, r.exceptions, r.regexes), (6, 1, 0, 1));
        assert_eq!((r.enabled, r.disabled, r.negative_weights), (6, 1, 1));
        let drugs = r
            .categories
            .iter()
            .find(|c| c.category == Category::Drugs)
            .unwrap();
        assert_eq!(drugs.by_severity, [0, 1, 2, 2, 0]);
        assert_eq!((drugs.enabled, drugs.disabled), (5, 1));
        assert_eq!(r.languages.get("en"), Some(&5));
        assert_eq!(r.languages.get("pl"), Some(&1));
        assert_eq!(r.categories.len(), 15);
        assert!(r
            .warnings
            .iter()
            .any(|w| w.contains("drugs/weed and drugs/weed-again")));
        assert!(
            !r.warnings.iter().any(|w| w.contains("gambling/weed")),
            "other categories may reuse a phrase: {:?}",
            r.warnings
        );
        assert!(r
            .warnings
            .iter()
            .any(|w| w == "category suicide has no enabled entries"));

        let text = r.to_string();
        assert!(text.contains("library t 7 (2 files)"), "{text}");
        let row = text
            .lines()
            .find(|l| l.starts_with("Drugs / substance abuse [drugs]"))
            .unwrap();
        let cols: Vec<&str> = row.split_whitespace().rev().take(7).collect();
        assert_eq!(cols, vec!["1", "5", "0", "2", "2", "1", "0"], "{row}");
        assert!(text.contains("Terrorism [terrorism] (illegal)"), "{text}");
        assert!(text.contains("languages: en 5, pl 1"), "{text}");

        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["categories"][6]["category"], "drugs");
        assert_eq!(json["categories"][6]["by_severity"][2], 2);
    }
}
