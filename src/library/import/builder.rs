//! Imported items to a gatewatch library: duplicates dropped, stable ids assigned, one TOML
//! category file per category plus a manifest with its checksum, validated by the library's
//! own loader and optionally written to a directory.
//!
//! Ids are `<category>/<prefix>-<slug>-<hash8>`: the slug is the phrase in ASCII letters and
//! digits (omitted when it has none, e.g. Cyrillic or Chinese), the hash is SHA-256 over the
//! category, item kind, edge and text. The same phrase therefore keeps its id across
//! re-imports, so incidents recorded against it stay meaningful.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use std::time::Instant;

use super::report::{CategoryCount, FileReport, ImportFormat, ImportReport};
use super::{Import, ImportError};
use crate::library::load::MANIFEST;
use crate::library::{checksum, Category, Edge, Library};

/// Longest slug in an id, in bytes.
const MAX_SLUG: usize = 40;

/// What an imported item matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ItemKind {
    /// A phrase with a word-edge rule.
    Entry {
        /// The phrase (already checked by the library's phrase rules).
        text: String,
        /// Its edge.
        edge: Edge,
    },
    /// A combination.
    Combo {
        /// 2..=4 distinct phrases, in written order.
        parts: Vec<String>,
        /// Window in words.
        within: u32,
    },
}

/// One item to write.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// What it matches.
    pub kind: ItemKind,
    /// Its category.
    pub category: Category,
    /// Severity 1..=5.
    pub severity: u8,
    /// Weight, or `None` for the severity's default.
    pub weight: Option<i32>,
    /// Language code.
    pub lang: String,
    /// Why it exists (its source).
    pub rationale: String,
}

/// Library metadata for the manifest.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    /// Library id.
    pub id: String,
    /// Version, or `None` for one derived from the content (`import.<12 hex>`).
    pub version: Option<String>,
    /// One line for people.
    pub description: String,
    /// What produced the files (for the header comment), e.g. `--format e2guardian`.
    pub produced_by: String,
}

/// A built library: its files and the validated [`Library`].
#[derive(Debug, Clone)]
pub(crate) struct Built {
    /// The validated library.
    pub library: Library,
    /// Category files `(name, TOML text)`, in manifest order.
    pub files: Vec<(String, String)>,
    /// The manifest text.
    pub manifest: String,
}

/// Collects items, dropping duplicates.
#[derive(Debug)]
pub(crate) struct Builder {
    prefix: &'static str,
    seen: HashSet<String>,
    ids: HashSet<String>,
    items: HashMap<Category, Vec<(String, Item)>>,
}

impl Builder {
    /// A builder whose ids use `prefix` (`e2g`, `wl`).
    pub(crate) fn new(prefix: &'static str) -> Builder {
        Builder {
            prefix,
            seen: HashSet::new(),
            ids: HashSet::new(),
            items: HashMap::new(),
        }
    }

    /// Adds `item`; false (and nothing added) when an equal item came earlier.
    pub(crate) fn add(&mut self, item: Item) -> bool {
        let key = dedup_key(&item);
        if !self.seen.insert(key.clone()) {
            return false;
        }
        let digest = hex(&Sha256::digest(key.as_bytes()));
        let slug = slug(&item.kind);
        let mut id = String::new();
        for len in [8, 16, 64] {
            id = match slug.is_empty() {
                true => format!("{}/{}-{}", item.category.id(), self.prefix, &digest[..len]),
                false => format!(
                    "{}/{}-{slug}-{}",
                    item.category.id(),
                    self.prefix,
                    &digest[..len]
                ),
            };
            if !self.ids.contains(&id) {
                break;
            }
        }
        self.ids.insert(id.clone());
        self.items
            .entry(item.category)
            .or_default()
            .push((id, item));
        true
    }

    /// Renders the files and manifest and validates them with [`Library::from_sources`].
    pub(crate) fn build(self, meta: &Meta) -> Result<Built, ImportError> {
        let mut files = Vec::new();
        for category in Category::all() {
            let Some(items) = self.items.get(category) else {
                continue;
            };
            files.push((
                format!("{}.toml", category.id()),
                render_file(*category, items, &meta.produced_by),
            ));
        }
        if files.is_empty() {
            return Err(ImportError::Empty);
        }
        let sum = checksum::compute(files.iter().map(|(n, t)| (n.as_str(), t.as_bytes())));
        let version = meta
            .version
            .clone()
            .unwrap_or_else(|| format!("import.{}", &sum["sha256:".len()..][..12]));
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let library = Library::from_sources(&meta.id, &version, &meta.description, &refs)
            .map_err(ImportError::Invalid)?;
        let manifest = render_manifest(meta, &version, &files, library.checksum());
        Ok(Built {
            library,
            files,
            manifest,
        })
    }
}

impl Built {
    /// Writes the category files and then the manifest into `dir` (created if missing), each
    /// through a temporary file, and loads the result back as a check. Other files in `dir`
    /// are left alone (a category file from an earlier import that is no longer listed in the
    /// manifest is ignored by the loader).
    pub(crate) fn write(&self, dir: &Path) -> Result<Library, ImportError> {
        std::fs::create_dir_all(dir).map_err(|source| ImportError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        for (name, text) in &self.files {
            write_atomic(&dir.join(name), text)?;
        }
        write_atomic(&dir.join(MANIFEST), &self.manifest)?;
        Library::load_dir(dir).map_err(ImportError::Invalid)
    }

    /// Counts per category, in [`Category::all`] order.
    pub(crate) fn category_counts(&self) -> Vec<CategoryCount> {
        let mut out: Vec<CategoryCount> = Vec::new();
        for c in Category::all() {
            let mut count = CategoryCount {
                category: *c,
                entries: 0,
                combos: 0,
                negative: 0,
                by_severity: [0; 5],
            };
            for e in self.library.entries().iter().filter(|e| e.category == *c) {
                count.entries += 1;
                count.negative += usize::from(e.weight < 0);
                count.by_severity[usize::from(e.severity.get() - 1)] += 1;
            }
            for x in self.library.combos().iter().filter(|x| x.category == *c) {
                count.combos += 1;
                count.negative += usize::from(x.weight < 0);
                count.by_severity[usize::from(x.severity.get() - 1)] += 1;
            }
            if count.entries + count.combos > 0 {
                out.push(count);
            }
        }
        out
    }
}

impl Builder {
    /// Builds and validates the library, writes it to `out_dir` when given, and assembles the
    /// [`Import`] with its report: the last step every importer shares.
    pub(crate) fn finish(
        self,
        meta: &Meta,
        format: ImportFormat,
        source: &Path,
        out_dir: Option<&Path>,
        files: Vec<FileReport>,
        started: Instant,
    ) -> Result<Import, ImportError> {
        let built = self.build(meta)?;
        let library = match out_dir {
            Some(dir) => built.write(dir)?,
            None => built.library.clone(),
        };
        let report = ImportReport {
            format,
            source: source.to_path_buf(),
            out_dir: out_dir.map(Path::to_path_buf),
            library_id: library.id().to_string(),
            version: library.version().to_string(),
            checksum: library.checksum().to_string(),
            files,
            categories: built.category_counts(),
            patterns: library.enabled_patterns().len(),
            elapsed: started.elapsed(),
        };
        Ok(Import {
            library,
            report,
            files: built.files,
            manifest: built.manifest,
        })
    }
}

fn write_atomic(path: &Path, text: &str) -> Result<(), ImportError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let err = |path: PathBuf| move |source| ImportError::Write { path, source };
    std::fs::write(&tmp, text).map_err(err(tmp.clone()))?;
    std::fs::rename(&tmp, path).map_err(err(path.to_path_buf()))
}

fn dedup_key(item: &Item) -> String {
    match &item.kind {
        ItemKind::Entry { text, edge } => {
            format!("{}\0entry\0{edge:?}\0{text}", item.category.id())
        }
        ItemKind::Combo { parts, .. } => {
            let mut sorted = parts.clone();
            sorted.sort();
            format!("{}\0combo\0{}", item.category.id(), sorted.join("\u{1f}"))
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The ASCII letters and digits of an item's text, dash-separated, at most [`MAX_SLUG`] bytes.
fn slug(kind: &ItemKind) -> String {
    let text = match kind {
        ItemKind::Entry { text, .. } => text.clone(),
        ItemKind::Combo { parts, .. } => parts.join(" "),
    };
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    if out.len() > MAX_SLUG {
        out.truncate(MAX_SLUG);
        if let Some(dash) = out.rfind('-') {
            out.truncate(dash);
        }
    }
    out.trim_end_matches('-').to_string()
}

/// A TOML basic string.
pub(crate) fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn edge_name(edge: Edge) -> &'static str {
    match edge {
        Edge::Word => "word",
        Edge::Start => "start",
        Edge::Substring => "substring",
    }
}

fn render_file(category: Category, items: &[(String, Item)], produced_by: &str) -> String {
    let mut out = String::with_capacity(items.len() * 200);
    let _ = writeln!(
        out,
        "# {} ({}): imported by `gatewatch library import {produced_by}`.\n\
         # Re-import rather than edit: ids are derived from the phrases. Tune with a school\n\
         # overlay (disable, regrade) instead.\n\ncategory = {}",
        category.name(),
        items.len(),
        toml_str(category.id())
    );
    for (id, item) in items {
        match &item.kind {
            ItemKind::Entry { text, edge } => {
                let _ = write!(
                    out,
                    "\n[[entry]]\nid = {}\nmatch = {}\nedge = \"{}\"\n",
                    toml_str(id),
                    toml_str(text),
                    edge_name(*edge)
                );
            }
            ItemKind::Combo { parts, within } => {
                let list: Vec<String> = parts.iter().map(|p| toml_str(p)).collect();
                let _ = write!(
                    out,
                    "\n[[combo]]\nid = {}\nall = [{}]\nwithin = {within}\n",
                    toml_str(id),
                    list.join(", ")
                );
            }
        }
        let _ = writeln!(out, "severity = {}", item.severity);
        if let Some(w) = item.weight {
            let _ = writeln!(out, "weight = {w}");
        }
        let _ = writeln!(
            out,
            "lang = {}\nrationale = {}",
            toml_str(&item.lang),
            toml_str(&item.rationale)
        );
    }
    out
}

fn render_manifest(meta: &Meta, version: &str, files: &[(String, String)], sum: &str) -> String {
    let list: Vec<String> = files
        .iter()
        .map(|(n, _)| format!("    {},", toml_str(n)))
        .collect();
    format!(
        "# Imported by `gatewatch library import {}`.\n\
         # Re-import to update; the checksum covers the category files below.\n\n\
         [library]\nid = {}\nversion = {}\ndescription = {}\nfiles = [\n{}\n]\nchecksum = {}\n",
        meta.produced_by,
        toml_str(&meta.id),
        toml_str(version),
        toml_str(&meta.description),
        list.join("\n"),
        toml_str(sum)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str, edge: Edge, category: Category) -> Item {
        Item {
            kind: ItemKind::Entry {
                text: text.into(),
                edge,
            },
            category,
            severity: 2,
            weight: Some(20),
            lang: "en".into(),
            rationale: "test".into(),
        }
    }

    fn meta() -> Meta {
        Meta {
            id: "test-import".into(),
            version: None,
            description: "unit test".into(),
            produced_by: "--format test".into(),
        }
    }

    #[test]
    fn ids_are_stable_slugged_and_unique_and_duplicates_drop() {
        let mut b = Builder::new("e2g");
        assert!(b.add(entry("Crack \"pipe\"", Edge::Word, Category::Drugs)));
        assert!(!b.add(entry("Crack \"pipe\"", Edge::Word, Category::Drugs)));
        assert!(b.add(entry("Crack \"pipe\"", Edge::Start, Category::Drugs)));
        assert!(b.add(entry("Crack \"pipe\"", Edge::Word, Category::Violence)));
        assert!(b.add(entry("проститутки", Edge::Word, Category::Pornography)));
        let combo = |parts: &[&str]| Item {
            kind: ItemKind::Combo {
                parts: parts.iter().map(|p| p.to_string()).collect(),
                within: 50,
            },
            ..entry("x", Edge::Word, Category::Drugs)
        };
        assert!(b.add(combo(&["buy", "weed"])));
        assert!(!b.add(combo(&["weed", "buy"])));
        let built = b.build(&meta()).unwrap();
        let ids: Vec<&str> = built
            .library
            .entries()
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(ids.len(), 4);
        assert!(
            ids[0].starts_with("drugs/e2g-crack-pipe-") && ids[0].len() == 29,
            "{ids:?}"
        );
        assert_ne!(ids[0], ids[1]);
        assert!(ids
            .iter()
            .any(|i| i.starts_with("violence/e2g-crack-pipe-")));
        let cyr = ids.iter().find(|i| i.starts_with("pornography/")).unwrap();
        assert_eq!(cyr.len(), "pornography/e2g-".len() + 8, "{cyr}");
        assert_eq!(built.library.combos()[0].parts, vec!["buy", "weed"]);
        assert_eq!(built.library.combos()[0].within, 50);
        assert!(built.library.combos()[0]
            .id
            .starts_with("drugs/e2g-buy-weed-"));
        let again = {
            let mut b = Builder::new("e2g");
            b.add(entry("Crack \"pipe\"", Edge::Word, Category::Drugs));
            b.build(&meta()).unwrap()
        };
        assert_eq!(again.library.entries()[0].id, ids[0]);
        assert_eq!(
            built.library.version(),
            format!("import.{}", &built.library.checksum()[7..19])
        );
        let counts = built.category_counts();
        assert_eq!(counts[0].category, Category::Drugs);
        assert_eq!((counts[0].entries, counts[0].combos), (2, 1));
    }

    #[test]
    fn written_library_loads_back_with_its_checksum() {
        let mut b = Builder::new("wl");
        b.add(entry(
            "back \\ slash \"q\"",
            Edge::Substring,
            Category::Gambling,
        ));
        let built = b.build(&meta()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let loaded = built.write(&dir.path().join("out")).unwrap();
        assert_eq!(loaded.checksum(), built.library.checksum());
        assert_eq!(
            loaded.entries()[0].pattern,
            built.library.entries()[0].pattern
        );
        assert!(dir.path().join("out/gambling.toml").exists());
    }

    #[test]
    fn nothing_to_build_is_an_error() {
        assert!(matches!(
            Builder::new("e2g").build(&meta()),
            Err(ImportError::Empty)
        ));
    }

    #[test]
    fn slugs_and_toml_strings() {
        let kind = |t: &str| ItemKind::Entry {
            text: t.into(),
            edge: Edge::Word,
        };
        assert_eq!(slug(&kind("10\" cock")), "10-cock");
        assert_eq!(slug(&kind("enculé")), "encul");
        assert_eq!(slug(&kind("色情")), "");
        assert_eq!(slug(&kind(&"ab ".repeat(40))).len(), 38);
        assert_eq!(toml_str("a\"b\\c\u{7}"), "\"a\\\"b\\\\c\\u0007\"");
    }
}
