//! The e2guardian / DansGuardian phrase-list importer.
//!
//! Reads every phrase list under a directory (as Debian ships them under
//! `/etc/e2guardian/lists/phraselists`) and converts what has a safeguarding meaning:
//!
//! | e2guardian | gatewatch |
//! | --- | --- |
//! | `< word >` / `< word>` / `<word>` | `edge = "word"` / `"start"` / `"substring"` |
//! | `<word >` (must end a word) | `edge = "substring"`: gatewatch has no end-only edge, so it widens (noted) |
//! | `<a>,<b><w>` (all parts anywhere on the page) | `[[combo]]` with `within = 50`, the schema's maximum; parts are matched as whole words (parts written with other edges are noted) |
//! | combination of more than 4 distinct parts | skipped (gatewatch allows 2 to 4) |
//! | weight `w` | `weight = w` (clamped to -1000..=1000); severity >= 100 -> 4, >= 50 -> 3, >= 20 -> 2, else 1 |
//! | negative weight | kept, severity 1: lowers the page score, never raises severity |
//! | percentage weight `<p%>` | `p` percent of the naughtiness limit ([`E2guardianOptions::naughtiness_limit`], default 50, e2guardian's default for filter group 1), as e2guardian computes it; the shipped lists contain none |
//! | unweighted phrase (banned list, or a weighted list where e2guardian also treats it as banned) | severity 4, weight 1000: e2guardian blocks on sight; 5 is left to libraries graded by people |
//! | unweighted phrase in an exception list | skipped: e2guardian exempts the whole page, and gatewatch never exempts a page from safeguarding checks |
//! | good phrases (`goodphrases` lists) | skipped, or imported with their negative weights into [`E2guardianOptions::good_phrases`] |
//! | `#listcategory: "Name"` | the category where no directory names one (see [`map`] for the table) |
//! | `.Include<path>` | read in place; found as written, relative to the list or the import directory, or by the tail of its path inside the import directory, never outside it |
//! | `#noconvert`, `#time:` | ignored (gatewatch always folds case; no time limits), noted |
//! | legacy encodings | decoded per line from the list's language (see `decode`) |
//!
//! Malformed lines are skipped and listed with `file:line`. The same phrase with the same
//! edges in the same category is imported once (the first, in sorted path order): Debian ships
//! several lists twice (`pornography/weighted_italian` and `italian/pornography/weighted`).
//! Ids are `<category>/e2g-<slug>-<hash8>`, stable across re-imports.

mod convert;
mod line;
pub mod map;
mod walk;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use self::convert::{context, excerpt, item_kind, resolve, FileContext, Resolved};
use self::line::{Line, PhraseLine, Weight};
use super::builder::{Builder, Item, ItemKind, Meta};
use super::decode::{self, Decoder};
use super::grade::{severity_for_weight, BANNED_SEVERITY, BANNED_WEIGHT, WEIGHT_LIMIT};
use super::report::{FileReport, ImportFormat, ListKind, Note, SkipReason};
use super::{Import, ImportError};
use crate::library::Category;

/// Words within which an imported combination's parts must occur (the schema's maximum;
/// e2guardian combinations are page-wide).
pub const COMBO_WITHIN: u32 = 50;

/// Choices for [`import_e2guardian_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct E2guardianOptions {
    /// The naughtiness limit percentage weights refer to (`<50%>` is half of it). Default 50,
    /// e2guardian's shipped limit for filter group 1.
    pub naughtiness_limit: u32,
    /// Import good phrases (the negative weights of `goodphrases` lists) into this category;
    /// `None` (the default) skips them.
    pub good_phrases: Option<Category>,
    /// Library id. Default `e2guardian-import`.
    pub library_id: String,
    /// Library version; `None` derives `import.<first 12 hex digits of the checksum>`.
    pub version: Option<String>,
}

impl Default for E2guardianOptions {
    fn default() -> E2guardianOptions {
        E2guardianOptions {
            naughtiness_limit: 50,
            good_phrases: None,
            library_id: "e2guardian-import".into(),
            version: None,
        }
    }
}

/// Imports the phrase lists under `src_dir` with default options; writes the library to
/// `out_dir` when given. See the module documentation for the rules.
pub fn import_e2guardian(src_dir: &Path, out_dir: Option<&Path>) -> Result<Import, ImportError> {
    import_e2guardian_with(src_dir, out_dir, &E2guardianOptions::default())
}

/// Imports the phrase lists under `src_dir`; writes the library to `out_dir` when given.
pub fn import_e2guardian_with(
    src_dir: &Path,
    out_dir: Option<&Path>,
    options: &E2guardianOptions,
) -> Result<Import, ImportError> {
    let started = Instant::now();
    if !src_dir.is_dir() {
        return Err(ImportError::NotADirectory {
            path: src_dir.to_path_buf(),
        });
    }
    let root = src_dir.canonicalize().map_err(|source| ImportError::Read {
        path: src_dir.to_path_buf(),
        source,
    })?;
    let mut sources = Vec::new();
    for path in walk::list_files(&root)? {
        let bytes = std::fs::read(&path).map_err(|source| ImportError::Read {
            path: path.clone(),
            source,
        })?;
        sources.push((path, bytes));
    }
    let mut included = HashSet::new();
    let mut includers = HashSet::new();
    for (path, bytes) in &sources {
        for target in walk::include_targets(bytes) {
            includers.insert(path.clone());
            if let Ok(p) = walk::resolve_include(&root, path, &target) {
                included.insert(p);
            }
        }
    }
    let mut importer = Importer {
        root,
        options,
        builder: Builder::new("e2g"),
        files: Vec::new(),
        read: HashSet::new(),
        contents: sources.iter().cloned().collect(),
    };
    // Lists read through an include come with their includer, so roots (lists nobody
    // includes) go first. Lists only included from a cycle are left: read their includers,
    // then whatever is still unread.
    for pass in 0..3 {
        for (path, bytes) in &sources {
            let eligible = match pass {
                0 => !included.contains(path),
                1 => includers.contains(path),
                _ => true,
            };
            if !eligible || importer.read.contains(path) {
                continue;
            }
            if !walk::is_phrase_list(bytes) {
                let rel = walk::relative(&importer.root, path);
                let mut report = FileReport::new(rel, ListKind::NotAList, "");
                report.skipped_because = Some("not a phrase list (no `<phrase>` line)".into());
                importer.files.push(report);
                importer.read.insert(path.clone());
                continue;
            }
            importer.read_list(path, bytes, Inherited::default(), &mut Vec::new());
        }
    }
    let Importer { builder, files, .. } = importer;
    let meta = Meta {
        id: options.library_id.clone(),
        version: options.version.clone(),
        description: format!(
            "Imported from e2guardian phrase lists ({})",
            src_dir.display()
        ),
        produced_by: "--format e2guardian".into(),
    };
    builder.finish(
        &meta,
        ImportFormat::E2guardian,
        src_dir,
        out_dir,
        files,
        started,
    )
}

/// What a list inherits from the list that includes it.
#[derive(Debug, Clone, Default)]
struct Inherited {
    header: Option<String>,
    exception: bool,
    from: Option<String>,
}

struct Importer<'a> {
    root: PathBuf,
    options: &'a E2guardianOptions,
    builder: Builder,
    files: Vec<FileReport>,
    read: HashSet<PathBuf>,
    /// Every file under the root, for includes.
    contents: HashMap<PathBuf, Vec<u8>>,
}

impl Importer<'_> {
    /// Reads one list (and, in place, the lists it includes).
    fn read_list(
        &mut self,
        path: &Path,
        bytes: &[u8],
        inherited: Inherited,
        stack: &mut Vec<PathBuf>,
    ) {
        self.read.insert(path.to_path_buf());
        let rel = walk::relative(&self.root, path);
        let ctx = context(&rel, inherited.exception);
        let mut names: Vec<String> = rel.split('/').map(str::to_string).collect();
        if let Some(file) = names.pop() {
            names.extend(file.split('_').map(str::to_string));
        }
        let decoder = Decoder::new(map::legacy_encodings(&names, ctx.lang.unwrap_or("en")));
        let mut report = FileReport::new(rel.clone(), ctx.kind, ctx.lang.unwrap_or("en"));
        report.topic = ctx.dir_topic.as_ref().map(|(name, _)| name.clone());
        report.included_from = inherited.from;
        let slot = self.files.len();
        let mut header = inherited.header;
        let mut whys: HashMap<SkipReason, String> = HashMap::new();
        stack.push(path.to_path_buf());
        for (n, raw) in decode::lines(bytes) {
            report.lines = n;
            let (text, legacy) = decoder.line(raw);
            if let Some(enc) = legacy {
                *report
                    .legacy_lines
                    .entry(enc.name().to_string())
                    .or_default() += 1;
            }
            match line::parse(&text) {
                Line::Blank | Line::Comment => {}
                Line::Directive => report.note(Note::DirectiveIgnored),
                Line::ListCategory(name) => {
                    if !report.headers.contains(&name) {
                        report.headers.push(name.clone());
                    }
                    header = Some(name);
                }
                Line::Include(target) => {
                    let inherit = Inherited {
                        header: header.clone(),
                        exception: ctx.kind == ListKind::Exception,
                        from: Some(rel.clone()),
                    };
                    self.include(&mut report, n, path, &target, inherit, stack);
                }
                Line::Malformed(reason) => report.problem(
                    n,
                    SkipReason::Malformed,
                    format!("{reason}: {}", excerpt(&text)),
                ),
                Line::Phrase(p) => {
                    if let Some((reason, why)) =
                        self.phrase(&mut report, &ctx, header.as_deref(), n, p, &text)
                    {
                        whys.insert(reason, why);
                    }
                }
            }
        }
        stack.pop();
        if report.entries + report.combos == 0 {
            // The most frequent reason explains the file.
            let main = report
                .skipped
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(r, _)| *r);
            report.skipped_because = Some(match main {
                Some(r) => whys.remove(&r).unwrap_or_else(|| r.label().to_string()),
                None => "no phrases".into(),
            });
        }
        self.files.insert(slot, report);
    }

    fn include(
        &mut self,
        report: &mut FileReport,
        line: usize,
        from: &Path,
        target: &str,
        inherit: Inherited,
        stack: &mut Vec<PathBuf>,
    ) {
        let path = match walk::resolve_include(&self.root, from, target) {
            Ok(p) => p,
            Err(why) => return report.problem(line, SkipReason::BadInclude, why),
        };
        if stack.contains(&path) {
            let why = format!("`.Include<{target}>` is circular (it includes a list being read)");
            return report.problem(line, SkipReason::BadInclude, why);
        }
        let bytes = match self.contents.get(&path) {
            Some(b) => b.clone(),
            None => match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) => {
                    let why = format!("`.Include<{target}>` cannot be read: {e}");
                    return report.problem(line, SkipReason::BadInclude, why);
                }
            },
        };
        self.read_list(&path, &bytes, inherit, stack);
    }

    /// Converts one phrase line; returns why it was skipped (the reason counted, and words
    /// for the file's summary).
    fn phrase(
        &mut self,
        report: &mut FileReport,
        ctx: &FileContext,
        header: Option<&str>,
        n: usize,
        p: PhraseLine,
        text: &str,
    ) -> Option<(SkipReason, String)> {
        let mut notes = Vec::new();
        if p.loose_spacing {
            notes.push(Note::LooseSpacing);
        }
        if p.trailing_text {
            notes.push(Note::TrailingText);
        }
        if p.weight.is_none() && ctx.kind == ListKind::Exception {
            report.skip(SkipReason::ExceptionPhrase);
            let why = "exception phrases: gatewatch never exempts a page";
            return Some((SkipReason::ExceptionPhrase, why.into()));
        }
        let category = match resolve(ctx, header) {
            Resolved::Category(c) => c,
            Resolved::Good => match self.options.good_phrases {
                Some(c) => c,
                None => {
                    report.skip(SkipReason::GoodPhrase);
                    let why = "good phrases: no category chosen";
                    return Some((SkipReason::GoodPhrase, why.into()));
                }
            },
            Resolved::NoEquivalent(name) => {
                report.skip(SkipReason::NoSafeguardingCategory);
                let why = format!("{name}: no safeguarding category");
                return Some((SkipReason::NoSafeguardingCategory, why));
            }
            Resolved::Unknown(name) => {
                report.skip(SkipReason::UnknownCategory);
                let why = match name {
                    Some(n) => format!("unknown category `{n}`"),
                    None => "no category: no topic directory or #listcategory".into(),
                };
                return Some((SkipReason::UnknownCategory, why));
            }
        };
        let (weight, how) = match p.weight {
            None => {
                notes.push(Note::Banned);
                if ctx.kind == ListKind::Weighted {
                    notes.push(Note::UnweightedInWeightedList);
                }
                (BANNED_WEIGHT, "banned".to_string())
            }
            Some(Weight::Points(w)) => (w, format!("weight {w}")),
            Some(Weight::Percent(pct)) => {
                notes.push(Note::PercentWeight);
                let limit = i64::from(self.options.naughtiness_limit);
                let w = (i64::from(pct) * limit / 100)
                    .clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
                (
                    w,
                    format!("{pct}% of naughtiness limit {limit} = weight {w}"),
                )
            }
        };
        if weight == 0 {
            let why = format!(
                "weight 0 (e2guardian would treat it as banned): {}",
                excerpt(text)
            );
            report.problem(n, SkipReason::ZeroWeight, why);
            return Some((SkipReason::ZeroWeight, "weight 0".into()));
        }
        let clamped = weight.clamp(-WEIGHT_LIMIT, WEIGHT_LIMIT);
        if clamped != weight {
            notes.push(Note::WeightClamped);
        }
        let severity = match p.weight {
            None => BANNED_SEVERITY,
            Some(_) => severity_for_weight(clamped),
        };
        let kind = match item_kind(&p, &mut notes) {
            Ok(k) => k,
            Err((reason, why)) => {
                report.problem(n, reason, format!("{why}: {}", excerpt(text)));
                return Some((reason, reason.label().into()));
            }
        };
        let lang = ctx
            .lang
            .or_else(|| header.and_then(map::header_language))
            .unwrap_or("en");
        let is_combo = matches!(kind, ItemKind::Combo { .. });
        let item = Item {
            kind,
            category,
            severity,
            weight: Some(clamped),
            lang: lang.to_string(),
            rationale: format!("Imported from e2guardian {}:{n} ({how}).", ctx.rel),
        };
        if !self.builder.add(item) {
            report.skip(SkipReason::Duplicate);
            let why = "all duplicates of earlier lists";
            return Some((SkipReason::Duplicate, why.into()));
        }
        if report.entries + report.combos == 0 {
            report.lang = lang.to_string();
        }
        if is_combo {
            report.combos += 1;
        } else {
            report.entries += 1;
        }
        report.negative += usize::from(clamped < 0);
        if !report.categories.contains(&category) {
            report.categories.push(category);
        }
        for note in notes {
            report.note(note);
        }
        None
    }
}
