//! What an import did: counts per source file (imported, skipped by reason, notes) and per
//! resulting category, every skipped line with its `file:line`, and the time it took.
//! `Display` renders tables for `gatewatch library import`; `Serialize` gives JSON.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::library::Category;

/// Which importer produced a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportFormat {
    /// e2guardian / DansGuardian phrase lists.
    E2guardian,
    /// A plain word list.
    Wordlist,
}

impl fmt::Display for ImportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImportFormat::E2guardian => "e2guardian",
            ImportFormat::Wordlist => "wordlist",
        })
    }
}

/// What kind of list a source file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListKind {
    /// e2guardian weighted phrases (`weighted*`, or any other name).
    Weighted,
    /// e2guardian banned phrases (`banned*`): unweighted lines block on sight.
    Banned,
    /// e2guardian exception phrases (`exception*`): unweighted lines exempt the page.
    Exception,
    /// A plain word list.
    Wordlist,
    /// Not a phrase list (no `<phrase>` line); ignored.
    NotAList,
}

impl ListKind {
    fn label(self) -> &'static str {
        match self {
            ListKind::Weighted => "weighted",
            ListKind::Banned => "banned",
            ListKind::Exception => "exception",
            ListKind::Wordlist => "wordlist",
            ListKind::NotAList => "not a list",
        }
    }
}

/// Why a phrase (or line) was not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// The line could not be parsed.
    Malformed,
    /// An `.Include` that is missing, outside the import directory or circular.
    BadInclude,
    /// Rejected by gatewatch's phrase rules (no letters or digits, too long).
    NotAPhrase,
    /// A combination with more than 4 (or fewer than 2) distinct parts.
    ComboParts,
    /// An explicit weight of 0 (e2guardian would treat the line as banned).
    ZeroWeight,
    /// An unweighted phrase in an exception list.
    ExceptionPhrase,
    /// A good phrase (negative context) and no category was chosen for them.
    GoodPhrase,
    /// A known e2guardian topic with no safeguarding meaning.
    NoSafeguardingCategory,
    /// Neither the directory nor a `#listcategory` header names a known topic.
    UnknownCategory,
    /// The same phrase (or combination) with the same edges in the same category came earlier.
    Duplicate,
}

impl SkipReason {
    /// A short label.
    pub fn label(self) -> &'static str {
        match self {
            SkipReason::Malformed => "malformed line",
            SkipReason::BadInclude => "bad include",
            SkipReason::NotAPhrase => "not a usable phrase",
            SkipReason::ComboParts => "combination needs 2-4 distinct parts",
            SkipReason::ZeroWeight => "weight 0",
            SkipReason::ExceptionPhrase => "exception phrase (page exemption)",
            SkipReason::GoodPhrase => "good phrase (no category chosen)",
            SkipReason::NoSafeguardingCategory => "no safeguarding category",
            SkipReason::UnknownCategory => "unknown category",
            SkipReason::Duplicate => "duplicate",
        }
    }
}

/// Something the importer changed or assumed while importing a phrase (it was imported).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Note {
    /// `<word >` (must end a word) has no gatewatch edge: widened to `substring`.
    EndEdgeWidened,
    /// A combination part written with start or substring edges: gatewatch matches combination
    /// parts as whole words.
    ComboPartWholeWord,
    /// A combination listed the same part twice; merged.
    ComboPartsMerged,
    /// A percentage weight converted with the naughtiness limit.
    PercentWeight,
    /// A weight outside -1000..=1000, clamped.
    WeightClamped,
    /// An unweighted phrase: banned in e2guardian, imported at severity 4, weight 1000.
    Banned,
    /// An unweighted phrase in a weighted list: e2guardian treats it as banned, so does the
    /// importer.
    UnweightedInWeightedList,
    /// Whitespace between `<...>` groups tolerated.
    LooseSpacing,
    /// Text after the weight that is not a `#` comment, ignored.
    TrailingText,
    /// `#noconvert` or `#time:` directive ignored.
    DirectiveIgnored,
}

impl Note {
    /// A short label.
    pub fn label(self) -> &'static str {
        match self {
            Note::EndEdgeWidened => "`<word >` widened to substring",
            Note::ComboPartWholeWord => "combination part matched as whole word",
            Note::ComboPartsMerged => "repeated combination part merged",
            Note::PercentWeight => "percentage weight converted",
            Note::WeightClamped => "weight clamped to -1000..=1000",
            Note::Banned => "banned phrase (severity 4, weight 1000)",
            Note::UnweightedInWeightedList => "unweighted phrase in a weighted list",
            Note::LooseSpacing => "whitespace between groups tolerated",
            Note::TrailingText => "text after the weight ignored",
            Note::DirectiveIgnored => "#noconvert/#time directive ignored",
        }
    }
}

/// One skipped line worth a look (malformed, rejected or a bad include), with its line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineProblem {
    /// 1-based line.
    pub line: usize,
    /// Why it was skipped.
    pub reason: SkipReason,
    /// What is wrong, with an excerpt of the line.
    pub detail: String,
}

/// Counts for one source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// Path relative to the import source, `/`-separated.
    pub path: String,
    /// The list that included this one through `.Include`, if any.
    pub included_from: Option<String>,
    /// What kind of list it is.
    pub list: ListKind,
    /// The e2guardian topic its directory names, if any (e.g. `illegaldrugs`).
    pub topic: Option<String>,
    /// `#listcategory` names, in order of appearance.
    pub headers: Vec<String>,
    /// The gatewatch categories its phrases were imported into.
    pub categories: Vec<Category>,
    /// The language code given to its phrases.
    pub lang: String,
    /// Lines decoded per legacy encoding (UTF-8 lines are not counted).
    pub legacy_lines: BTreeMap<String, usize>,
    /// Lines in the file.
    pub lines: usize,
    /// Entries imported.
    pub entries: usize,
    /// Combinations imported.
    pub combos: usize,
    /// Of the imported items, those with a negative weight.
    pub negative: usize,
    /// Phrases (or lines) skipped, by reason.
    pub skipped: BTreeMap<SkipReason, usize>,
    /// Changes and assumptions, by kind.
    pub notes: BTreeMap<Note, usize>,
    /// Malformed lines, rejected phrases and bad includes, with their lines.
    pub problems: Vec<LineProblem>,
    /// Why nothing in this file was imported, when nothing was.
    pub skipped_because: Option<String>,
}

impl FileReport {
    /// An empty report for `path`.
    pub(crate) fn new(path: String, list: ListKind, lang: &str) -> FileReport {
        FileReport {
            path,
            included_from: None,
            list,
            topic: None,
            headers: Vec::new(),
            categories: Vec::new(),
            lang: lang.to_string(),
            legacy_lines: BTreeMap::new(),
            lines: 0,
            entries: 0,
            combos: 0,
            negative: 0,
            skipped: BTreeMap::new(),
            notes: BTreeMap::new(),
            problems: Vec::new(),
            skipped_because: None,
        }
    }

    /// Counts one skipped phrase or line.
    pub(crate) fn skip(&mut self, reason: SkipReason) {
        *self.skipped.entry(reason).or_default() += 1;
    }

    /// Counts one skipped line and records it with its line and what is wrong.
    pub(crate) fn problem(&mut self, line: usize, reason: SkipReason, detail: String) {
        self.skip(reason);
        self.problems.push(LineProblem {
            line,
            reason,
            detail,
        });
    }

    /// Counts one note.
    pub(crate) fn note(&mut self, note: Note) {
        *self.notes.entry(note).or_default() += 1;
    }

    /// All skipped phrases and lines.
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }
}

/// Items per resulting category, as validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryCount {
    /// The category.
    pub category: Category,
    /// Entries.
    pub entries: usize,
    /// Combinations.
    pub combos: usize,
    /// Entries and combinations with a negative weight.
    pub negative: usize,
    /// Entries and combinations per severity; index 0 is severity 1.
    pub by_severity: [usize; 5],
}

/// The result of an import.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    /// Which importer.
    pub format: ImportFormat,
    /// The directory or file imported.
    pub source: PathBuf,
    /// Where the library was written, if anywhere.
    pub out_dir: Option<PathBuf>,
    /// The library id.
    pub library_id: String,
    /// The library version.
    pub version: String,
    /// The library checksum.
    pub checksum: String,
    /// One report per source file read, in reading order.
    pub files: Vec<FileReport>,
    /// Counts per resulting category, in [`Category::all`] order (categories with items only).
    pub categories: Vec<CategoryCount>,
    /// Patterns the matcher will compile (entries plus combination parts).
    pub patterns: usize,
    /// Time taken: reading, converting, validating and writing.
    pub elapsed: Duration,
}

impl ImportReport {
    /// Entries imported.
    pub fn entries(&self) -> usize {
        self.categories.iter().map(|c| c.entries).sum()
    }

    /// Combinations imported.
    pub fn combos(&self) -> usize {
        self.categories.iter().map(|c| c.combos).sum()
    }

    /// Skipped phrases and lines by reason, over all files.
    pub fn skipped(&self) -> BTreeMap<SkipReason, usize> {
        sum_maps(self.files.iter().map(|f| &f.skipped))
    }

    /// Notes by kind, over all files.
    pub fn notes(&self) -> BTreeMap<Note, usize> {
        sum_maps(self.files.iter().map(|f| &f.notes))
    }

    /// The report of the file at `path` (relative, `/`-separated), first read.
    pub fn file(&self, path: &str) -> Option<&FileReport> {
        self.files.iter().find(|f| f.path == path)
    }
}

fn sum_maps<'a, K: Ord + Copy + 'a>(
    maps: impl Iterator<Item = &'a BTreeMap<K, usize>>,
) -> BTreeMap<K, usize> {
    let mut out = BTreeMap::new();
    for m in maps {
        for (k, v) in m {
            *out.entry(*k).or_default() += v;
        }
    }
    out
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let imported_from = self
            .files
            .iter()
            .filter(|r| r.entries + r.combos > 0)
            .count();
        writeln!(f, "{} import of {}", self.format, self.source.display())?;
        writeln!(
            f,
            "library {} version {} ({})",
            self.library_id, self.version, self.checksum
        )?;
        if let Some(out) = &self.out_dir {
            writeln!(f, "written to {}", out.display())?;
        }
        writeln!(
            f,
            "{} files read, {} contributed; {} entries and {} combinations; {} patterns to \
             compile; {:.2} s",
            self.files.len(),
            imported_from,
            self.entries(),
            self.combos(),
            self.patterns,
            self.elapsed.as_secs_f64()
        )?;
        writeln!(f)?;
        let width = self
            .files
            .iter()
            .map(|r| r.path.len())
            .max()
            .unwrap_or(4)
            .max(4);
        writeln!(
            f,
            "{:<width$}  {:<10} {:<6} {:>7} {:>6} {:>7} {:>5}  category",
            "file", "list", "lang", "entries", "combos", "skipped", "notes"
        )?;
        for r in &self.files {
            let cats = match (r.categories.as_slice(), &r.skipped_because) {
                ([], Some(why)) => format!("- ({why})"),
                ([], None) => "-".to_string(),
                (cats, _) => cats.iter().map(|c| c.id()).collect::<Vec<_>>().join(","),
            };
            writeln!(
                f,
                "{:<width$}  {:<10} {:<6} {:>7} {:>6} {:>7} {:>5}  {cats}",
                r.path,
                r.list.label(),
                r.lang,
                r.entries,
                r.combos,
                r.skipped_total(),
                r.notes.values().sum::<usize>()
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<16} {:>7} {:>6} {:>8} {:>6} {:>6} {:>6} {:>6}",
            "category", "entries", "combos", "negative", "sev1", "sev2", "sev3", "sev4"
        )?;
        for c in &self.categories {
            let s = c.by_severity;
            writeln!(
                f,
                "{:<16} {:>7} {:>6} {:>8} {:>6} {:>6} {:>6} {:>6}",
                c.category.id(),
                c.entries,
                c.combos,
                c.negative,
                s[0],
                s[1],
                s[2],
                s[3]
            )?;
        }
        let skipped = self.skipped();
        if !skipped.is_empty() {
            writeln!(f, "\nskipped:")?;
            for (reason, n) in skipped {
                writeln!(f, "  {:<40} {n:>6}", reason.label())?;
            }
        }
        let notes = self.notes();
        if !notes.is_empty() {
            writeln!(f, "\nimported with notes:")?;
            for (note, n) in notes {
                writeln!(f, "  {:<40} {n:>6}", note.label())?;
            }
        }
        let problems: Vec<_> = self
            .files
            .iter()
            .flat_map(|r| r.problems.iter().map(move |p| (r, p)))
            .collect();
        if !problems.is_empty() {
            writeln!(f, "\nlines skipped ({}):", problems.len())?;
            for (r, p) in problems {
                writeln!(
                    f,
                    "  {}:{}: {}: {}",
                    r.path,
                    p.line,
                    p.reason.label(),
                    p.detail
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_sum_files_and_display_lists_problems() {
        let mut a = FileReport::new("a/weighted".into(), ListKind::Weighted, "en");
        a.entries = 2;
        a.categories = vec![Category::Drugs];
        a.skip(SkipReason::Duplicate);
        a.problem(
            7,
            SkipReason::Malformed,
            "`<` has no closing `>`: `<x`".into(),
        );
        a.note(Note::TrailingText);
        let mut b = FileReport::new("sport/weighted".into(), ListKind::Weighted, "en");
        b.skip(SkipReason::NoSafeguardingCategory);
        b.skip(SkipReason::Duplicate);
        b.skipped_because = Some("sport: no safeguarding category".into());
        let report = ImportReport {
            format: ImportFormat::E2guardian,
            source: PathBuf::from("/lists"),
            out_dir: None,
            library_id: "e2guardian-import".into(),
            version: "import.0".into(),
            checksum: "sha256:00".into(),
            files: vec![a, b],
            categories: vec![CategoryCount {
                category: Category::Drugs,
                entries: 2,
                combos: 0,
                negative: 0,
                by_severity: [1, 1, 0, 0, 0],
            }],
            patterns: 2,
            elapsed: Duration::from_millis(5),
        };
        assert_eq!(report.entries(), 2);
        assert_eq!(report.skipped()[&SkipReason::Duplicate], 2);
        assert_eq!(report.notes()[&Note::TrailingText], 1);
        assert_eq!(
            report.file("a/weighted").map(|f| f.skipped_total()),
            Some(2)
        );
        let text = report.to_string();
        assert!(text.contains("a/weighted:7: malformed line"), "{text}");
        assert!(
            text.contains("- (sport: no safeguarding category)"),
            "{text}"
        );
        assert!(text.contains("drugs"), "{text}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["files"][1]["skipped"]["no-safeguarding-category"], 1);
    }
}
