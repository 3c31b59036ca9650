//! The plain word-list importer: one term a line, every term with the same category,
//! severity, edge and language.
//!
//! Blank lines and lines starting with `#` are skipped; a UTF-8 byte-order mark and CRLF line
//! ends are accepted; a line that is not UTF-8 is read as Windows-1252 (counted in the
//! report). Terms are trimmed and lower-cased; a repeated term is imported once, and a term the
//! library's phrase rules reject (no letters or digits, longer than 200 characters) is skipped
//! and listed with its line. Ids are `<category>/wl-<slug>-<hash8>`, stable across re-imports.

use std::path::Path;
use std::time::Instant;

use super::builder::{Builder, Item, ItemKind, Meta};
use super::decode::{self, Decoder};
use super::report::{FileReport, ImportFormat, ListKind, SkipReason};
use super::{Import, ImportError};
use crate::library::rules;
use crate::library::{Category, Edge, Severity};

/// Choices for [`import_wordlist_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordlistOptions {
    /// Category of every term.
    pub category: Category,
    /// Severity of every term (weights follow the severity's default).
    pub severity: Severity,
    /// Word-edge rule of every term. Default `word`.
    pub edge: Edge,
    /// Language code of every term. Default `en`.
    pub lang: String,
    /// Library id; `None` derives `wordlist-<file name>`.
    pub library_id: Option<String>,
    /// Library version; `None` derives `import.<first 12 hex digits of the checksum>`.
    pub version: Option<String>,
}

impl WordlistOptions {
    /// Options with the given category and severity and the defaults otherwise.
    pub fn new(category: Category, severity: Severity) -> WordlistOptions {
        WordlistOptions {
            category,
            severity,
            edge: Edge::Word,
            lang: "en".into(),
            library_id: None,
            version: None,
        }
    }
}

/// Imports the word list at `path`, every term with `category` and `severity` (whole-word,
/// English); writes the library to `out_dir` when given.
pub fn import_wordlist(
    path: &Path,
    category: Category,
    severity: Severity,
    out_dir: Option<&Path>,
) -> Result<Import, ImportError> {
    import_wordlist_with(path, out_dir, &WordlistOptions::new(category, severity))
}

/// Imports the word list at `path` with `options`; writes the library to `out_dir` when given.
pub fn import_wordlist_with(
    path: &Path,
    out_dir: Option<&Path>,
    options: &WordlistOptions,
) -> Result<Import, ImportError> {
    let started = Instant::now();
    let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let mut report = FileReport::new(name.clone(), ListKind::Wordlist, &options.lang);
    let mut builder = Builder::new("wl");
    let decoder = Decoder::new(Vec::new());
    for (n, raw) in decode::lines(&bytes) {
        report.lines = n;
        let (text, legacy) = decoder.line(raw);
        if let Some(enc) = legacy {
            *report
                .legacy_lines
                .entry(enc.name().to_string())
                .or_default() += 1;
        }
        let term = text.trim();
        if term.is_empty() || term.starts_with('#') {
            continue;
        }
        let term = match rules::phrase(&term.to_lowercase()) {
            Ok(t) => t,
            Err(why) => {
                let detail = format!(
                    "term {why}: `{}`",
                    term.chars().take(80).collect::<String>()
                );
                report.problem(n, SkipReason::NotAPhrase, detail);
                continue;
            }
        };
        let item = Item {
            kind: ItemKind::Entry {
                text: term,
                edge: options.edge,
            },
            category: options.category,
            severity: options.severity.get(),
            weight: None,
            lang: options.lang.clone(),
            rationale: format!("Imported from word list {name}:{n}."),
        };
        if builder.add(item) {
            report.entries += 1;
        } else {
            report.skip(SkipReason::Duplicate);
        }
    }
    if report.entries > 0 {
        report.categories.push(options.category);
    }
    let meta = Meta {
        id: options
            .library_id
            .clone()
            .unwrap_or_else(|| default_id(&name)),
        version: options.version.clone(),
        description: format!("Imported from the word list {}", path.display()),
        produced_by: "--format wordlist".into(),
    };
    builder.finish(
        &meta,
        ImportFormat::Wordlist,
        path,
        out_dir,
        vec![report],
        started,
    )
}

/// `wordlist-<file name in a-z, 0-9 and dashes>`.
fn default_id(file_name: &str) -> String {
    let stem = file_name.rsplit_once('.').map_or(file_name, |(s, _)| s);
    let mut slug = String::new();
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    match slug.is_empty() {
        true => "wordlist".into(),
        false => format!("wordlist-{}", &slug[..slug.len().min(60)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn severity(n: u8) -> Severity {
        Severity::new(n).unwrap()
    }

    #[test]
    fn imports_terms_skipping_comments_blanks_bom_crlf_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Knife Crime.txt");
        std::fs::write(
            &path,
            b"\xEF\xBB\xBF# knife crime terms\r\nzombie knife\r\n\r\n  Rambo   Knife \r\n\
              # comment\r\nzombie knife\r\n...\r\nmachete\xe9\r\nlast",
        )
        .unwrap();
        let import = import_wordlist(&path, Category::Weapons, severity(3), None).unwrap();
        let lib = &import.library;
        let got: Vec<(&str, Edge, u8, i32, &str)> = lib
            .entries()
            .iter()
            .map(|e| {
                (
                    e.pattern.as_str(),
                    e.edge,
                    e.severity.get(),
                    e.weight,
                    e.lang.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("zombie knife", Edge::Word, 3, 25, "en"),
                ("rambo knife", Edge::Word, 3, 25, "en"),
                ("macheteé", Edge::Word, 3, 25, "en"),
                ("last", Edge::Word, 3, 25, "en"),
            ]
        );
        assert!(lib
            .entries()
            .iter()
            .all(|e| e.id.starts_with("weapons/wl-")));
        assert_eq!(
            lib.entries()[0].rationale,
            "Imported from word list Knife Crime.txt:2."
        );
        assert_eq!(lib.id(), "wordlist-knife-crime");
        let file = &import.report.files[0];
        assert_eq!(file.lines, 9);
        assert_eq!(file.entries, 4);
        assert_eq!(file.skipped[&SkipReason::Duplicate], 1);
        assert_eq!(file.skipped[&SkipReason::NotAPhrase], 1);
        assert_eq!(file.problems[0].line, 7);
        assert_eq!(file.legacy_lines["windows-1252"], 1);
        assert_eq!(import.report.categories[0].by_severity, [0, 0, 4, 0, 0]);
        assert_eq!(import.files[0].0, "weapons.toml");
    }

    #[test]
    fn options_set_edge_lang_id_and_version_and_output_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list");
        std::fs::write(&path, "samobójstwo\n").unwrap();
        let mut options = WordlistOptions::new(Category::Suicide, severity(4));
        options.edge = Edge::Start;
        options.lang = "pl".into();
        options.library_id = Some("school-pl".into());
        options.version = Some("2026.11.1".into());
        let out = dir.path().join("out");
        let import = import_wordlist_with(&path, Some(&out), &options).unwrap();
        let loaded = crate::library::Library::load_dir(&out).unwrap();
        assert_eq!(loaded.checksum(), import.library.checksum());
        assert_eq!(loaded.version(), "2026.11.1");
        let e = &loaded.entries()[0];
        assert_eq!((e.edge, e.lang.as_str(), e.weight), (Edge::Start, "pl", 50));
        assert!(e.id.starts_with("suicide/wl-samob-"), "{}", e.id);
    }

    #[test]
    fn empty_and_missing_lists_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.txt");
        std::fs::write(&path, "# nothing\n\n").unwrap();
        let err = import_wordlist(&path, Category::Drugs, severity(2), None).unwrap_err();
        assert!(matches!(err, ImportError::Empty), "{err}");
        let err = import_wordlist(&dir.path().join("nope"), Category::Drugs, severity(2), None)
            .unwrap_err();
        assert!(err.to_string().contains("cannot read"), "{err}");
    }

    #[test]
    fn default_ids() {
        assert_eq!(default_id("Knife Crime.txt"), "wordlist-knife-crime");
        assert_eq!(default_id("слова.txt"), "wordlist");
        assert_eq!(default_id("a_b"), "wordlist-a-b");
    }
}
