//! Loading a library directory: the manifest, every listed file in order, the checksum, then
//! the checks that span items (unique ids, exception targets).

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::checksum;
use super::entry::RawCategoryFile;
use super::rules::id_chars_ok;
use super::validate::{Checker, IdRule};
use super::{Category, ItemRef, Library, LibraryError, Problem, Target};

/// The manifest file name inside a library directory.
pub const MANIFEST: &str = "library.toml";

/// `library.toml` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifestFile {
    library: Option<RawManifest>,
}

/// The `[library]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    id: Option<Spanned<String>>,
    version: Option<Spanned<String>>,
    description: Option<String>,
    files: Option<Spanned<Vec<Spanned<String>>>>,
    checksum: Option<Spanned<String>>,
}

/// A parsed manifest whose id, version and file names are valid (the checksum is not
/// checked here, so [`checksum::update_checksum`] can repair it).
#[derive(Debug)]
pub(crate) struct Manifest {
    /// Path of `library.toml`.
    pub path: PathBuf,
    /// Its text, for rewriting the checksum in place.
    pub source: String,
    pub id: String,
    pub version: String,
    pub description: String,
    /// Category files, in load order.
    pub files: Vec<String>,
    /// The line of each file name.
    pub file_lines: Vec<usize>,
    pub checksum: Option<String>,
    /// Byte span of the checksum value (with its quotes) in `source`.
    pub checksum_span: Option<Range<usize>>,
    pub checksum_line: usize,
}

/// Reads and checks `dir/library.toml`.
pub(crate) fn read_manifest(dir: &Path) -> Result<Manifest, LibraryError> {
    let path = dir.join(MANIFEST);
    let source = std::fs::read_to_string(&path).map_err(|source| LibraryError::Read {
        path: path.clone(),
        source,
    })?;
    let mut ck = Checker::new(&path, MANIFEST, &source);
    let mut manifest = Manifest {
        path: path.clone(),
        source: source.clone(),
        id: String::new(),
        version: String::new(),
        description: String::new(),
        files: Vec::new(),
        file_lines: Vec::new(),
        checksum: None,
        checksum_span: None,
        checksum_line: 1,
    };
    match ck.parse::<RawManifestFile>().map(|m| m.library) {
        None => {}
        Some(None) => ck.problem(
            1,
            "library",
            "missing the `[library]` table with id, version, files and checksum",
        ),
        Some(Some(raw)) => check_manifest(&mut ck, raw, &mut manifest),
    }
    let problems = ck.into_problems();
    if problems.is_empty() {
        Ok(manifest)
    } else {
        Err(LibraryError::Invalid {
            source_name: dir.to_path_buf(),
            problems,
        })
    }
}

fn check_manifest(ck: &mut Checker<'_>, raw: RawManifest, out: &mut Manifest) {
    match raw.id {
        Some(id) if id_chars_ok(id.get_ref()) => out.id = id.into_inner(),
        Some(id) => {
            let line = ck.line(&id.span());
            ck.problem(
                line,
                "library",
                format!(
                    "library id `{}` must be a-z, 0-9, `-`, `_`, `.`, like `gatewatch-starter`",
                    id.get_ref()
                ),
            );
        }
        None => ck.problem(
            1,
            "library",
            "missing `id`, e.g. id = \"gatewatch-starter\"",
        ),
    }
    match raw.version {
        Some(v) if !v.get_ref().trim().is_empty() && !v.get_ref().contains(char::is_whitespace) => {
            out.version = v.into_inner()
        }
        Some(v) => {
            let line = ck.line(&v.span());
            ck.problem(
                line,
                "library",
                "`version` must be non-empty without spaces, e.g. 2026.11.0",
            );
        }
        None => ck.problem(
            1,
            "library",
            "missing `version`, e.g. version = \"2026.11.0\"",
        ),
    }
    out.description = raw.description.unwrap_or_default();
    if let Some(c) = raw.checksum {
        out.checksum_line = ck.line(&c.span());
        out.checksum_span = Some(c.span());
        out.checksum = Some(c.into_inner());
    }
    let Some(files) = raw.files else {
        ck.problem(
            1,
            "library",
            "missing `files`: list the category files in load order",
        );
        return;
    };
    if files.get_ref().is_empty() {
        let line = ck.line(&files.span());
        ck.problem(
            line,
            "library",
            "`files` is empty: list the category files in load order",
        );
    }
    for f in files.into_inner() {
        let line = ck.line(&f.span());
        let name = f.into_inner();
        if !file_name_ok(&name) {
            ck.problem(
                line,
                "library",
                format!(
                    "`files` entry `{name}` must be a plain `.toml` file name in the library \
                     directory (no `/`, not `{MANIFEST}`)"
                ),
            );
        } else if out.files.contains(&name) {
            ck.problem(
                line,
                "library",
                format!("`files` lists `{name}` twice; remove one"),
            );
        } else {
            out.files.push(name);
            out.file_lines.push(line);
        }
    }
}

/// True for a plain file name ending in `.toml` that is not the manifest.
fn file_name_ok(name: &str) -> bool {
    name.ends_with(".toml")
        && name.len() > ".toml".len()
        && name != MANIFEST
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
}

impl Library {
    /// Loads and validates the library in `dir`: reads the manifest, loads every listed file
    /// in order, verifies the checksum and checks every item and the references between them.
    pub fn load_dir(dir: &Path) -> Result<Library, LibraryError> {
        let manifest = read_manifest(dir)?;
        let mut problems = Vec::new();
        let mut files = Vec::with_capacity(manifest.files.len());
        for (name, line) in manifest.files.iter().zip(&manifest.file_lines) {
            let path = dir.join(name);
            match std::fs::read(&path) {
                Ok(bytes) => files.push((name.clone(), path, bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => problems.push(Problem {
                    file: manifest.path.clone(),
                    line: *line,
                    item: "library".into(),
                    message: format!(
                        "`files` lists `{name}` but {} does not exist; create it or remove it \
                         from `files`",
                        path.display()
                    ),
                }),
                Err(source) => return Err(LibraryError::Read { path, source }),
            }
        }
        let invalid = |problems| LibraryError::Invalid {
            source_name: dir.to_path_buf(),
            problems,
        };
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let computed = checksum::compute(files.iter().map(|(n, _, b)| (n.as_str(), b.as_slice())));
        let update = format!(
            "run `gatewatch library check --update-checksum {}`",
            dir.display()
        );
        match &manifest.checksum {
            None => problems.push(manifest_problem(
                &manifest,
                format!("missing `checksum`; {update}"),
            )),
            Some(c) if !checksum::well_formed(c) => problems.push(manifest_problem(
                &manifest,
                format!("checksum `{c}` is not `sha256:` and 64 hex digits; {update}"),
            )),
            Some(c) if !c.eq_ignore_ascii_case(&computed) => {
                return Err(LibraryError::Checksum {
                    manifest: manifest.path.clone(),
                    dir: dir.to_path_buf(),
                    expected: c.clone(),
                    computed,
                })
            }
            Some(_) => {}
        }
        let mut sources = Vec::with_capacity(files.len());
        for (name, path, bytes) in files {
            match String::from_utf8(bytes) {
                Ok(text) => sources.push((name, path, text)),
                Err(e) => problems.push(Problem {
                    line: 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                        .iter()
                        .filter(|b| **b == b'\n')
                        .count(),
                    file: path,
                    item: "file".into(),
                    message: "is not valid UTF-8; save it as UTF-8".into(),
                }),
            }
        }
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let meta = Meta {
            id: manifest.id,
            version: manifest.version,
            description: manifest.description,
            checksum: computed,
        };
        assemble(dir, meta, sources)
    }

    /// Builds a library from in-memory category files `(file name, TOML text)`, validating
    /// them exactly as [`Library::load_dir`] does; the checksum is computed, not verified.
    /// For importers and tests.
    pub fn from_sources(
        id: &str,
        version: &str,
        description: &str,
        files: &[(&str, &str)],
    ) -> Result<Library, LibraryError> {
        let meta = Meta {
            id: id.to_string(),
            version: version.to_string(),
            description: description.to_string(),
            checksum: checksum::compute(files.iter().map(|(n, t)| (*n, t.as_bytes()))),
        };
        let sources = files
            .iter()
            .map(|(n, t)| (n.to_string(), PathBuf::from(n), t.to_string()))
            .collect();
        assemble(Path::new(id), meta, sources)
    }
}

fn manifest_problem(manifest: &Manifest, message: String) -> Problem {
    Problem {
        file: manifest.path.clone(),
        line: manifest.checksum_line,
        item: "library".into(),
        message,
    }
}

/// Manifest values carried into the [`Library`].
struct Meta {
    id: String,
    version: String,
    description: String,
    checksum: String,
}

/// Validates every file `(name, path, text)` and the references between items.
fn assemble(
    source_name: &Path,
    meta: Meta,
    sources: Vec<(String, PathBuf, String)>,
) -> Result<Library, LibraryError> {
    let mut problems = Vec::new();
    let (mut entries, mut combos, mut exceptions) = (Vec::new(), Vec::new(), Vec::new());
    let mut paths = HashMap::new();
    for (name, path, text) in &sources {
        paths.insert(name.clone(), path.clone());
        let mut ck = Checker::new(path, name, text);
        if let Some(raw) = ck.parse::<RawCategoryFile>() {
            let file_category = file_category(&mut ck, raw.category.as_ref());
            let rule = IdRule::File(file_category);
            for (i, e) in raw.entry.into_iter().enumerate() {
                entries.extend(ck.entry(e, i, rule));
            }
            for (i, c) in raw.combo.into_iter().enumerate() {
                combos.extend(ck.combo(c, i, file_category));
            }
            for (i, x) in raw.exception.into_iter().enumerate() {
                exceptions.extend(ck.exception(x, i, file_category));
            }
        }
        problems.extend(ck.into_problems());
    }
    let mut library = Library {
        id: meta.id,
        version: meta.version,
        description: meta.description,
        checksum: meta.checksum,
        files: sources.into_iter().map(|(name, _, _)| name).collect(),
        entries,
        combos,
        exceptions,
        audit: Vec::new(),
        index: HashMap::new(),
    };
    problems.extend(cross_check(&library, &paths));
    if !problems.is_empty() {
        return Err(LibraryError::Invalid {
            source_name: source_name.to_path_buf(),
            problems,
        });
    }
    library.reindex();
    Ok(library)
}

/// The file's top-level `category`, recording a problem when missing or unknown.
fn file_category(ck: &mut Checker<'_>, raw: Option<&Spanned<String>>) -> Option<Category> {
    let Some(raw) = raw else {
        ck.problem(
            1,
            "file",
            format!(
                "missing top-level `category = \"...\"` (before the first table); use one of: {}",
                Category::id_list()
            ),
        );
        return None;
    };
    let found = Category::from_id(raw.get_ref().trim());
    if found.is_none() {
        let line = ck.line(&raw.span());
        ck.problem(
            line,
            "file",
            format!(
                "unknown category `{}`; use one of: {}",
                raw.get_ref(),
                Category::id_list()
            ),
        );
    }
    found
}

/// Unique ids across the library, and exception targets that exist and are not exceptions.
fn cross_check(library: &Library, paths: &HashMap<String, PathBuf>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut seen: HashMap<&str, (ItemRef, &super::Origin)> = HashMap::new();
    let items = library
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.as_str(), ItemRef::Entry(i), &e.origin))
        .chain(
            library
                .combos
                .iter()
                .enumerate()
                .map(|(i, c)| (c.id.as_str(), ItemRef::Combo(i), &c.origin)),
        )
        .chain(
            library
                .exceptions
                .iter()
                .enumerate()
                .map(|(i, x)| (x.id.as_str(), ItemRef::Exception(i), &x.origin)),
        );
    let path_of = |file: &str| paths.get(file).cloned().unwrap_or_else(|| file.into());
    for (id, at, origin) in items {
        if let Some((_, first)) = seen.get(id) {
            problems.push(Problem {
                file: path_of(&origin.file),
                line: origin.line,
                item: id.to_string(),
                message: format!(
                    "id `{id}` is already used at {first}; ids must be unique across the \
                     library: rename one"
                ),
            });
        } else {
            seen.insert(id, (at, origin));
        }
    }
    for x in &library.exceptions {
        for t in &x.applies_to {
            let Target::Item(target) = t else { continue };
            let message = match seen.get(target.as_str()) {
                Some((ItemRef::Entry(_) | ItemRef::Combo(_), _)) => continue,
                Some((ItemRef::Exception(_), _)) => format!(
                    "`applies_to` names `{target}`, which is an exception; name entries, combos \
                     or categories"
                ),
                None => format!(
                    "`applies_to` names `{target}`, which is not an entry or combo in this \
                     library; check the spelling, or name a category instead"
                ),
            };
            problems.push(Problem {
                file: path_of(&x.origin.file),
                line: x.origin.line,
                item: x.id.clone(),
                message,
            });
        }
    }
    problems
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
