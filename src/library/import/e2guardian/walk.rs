//! The files of an e2guardian list directory, and where `.Include<path>` lines lead.
//!
//! Every regular file under the directory is a candidate, in sorted path order; hidden files
//! and directories are skipped and symbolic links to directories are not followed. A file
//! with no `<phrase>` or `.Include` line (and some other non-comment text, like a README) is
//! not a phrase list.
//!
//! Shipped lists include others by absolute path (`/etc/e2guardian/lists/phraselists/...`),
//! so an include is looked for as written relative to the including file, then relative to
//! the import directory, then by the longest tail of its path that exists in the import
//! directory. Nothing outside the import directory is ever read.

use std::path::{Component, Path, PathBuf};

use super::super::ImportError;

/// Every regular file under `root` (recursively), sorted by path.
pub(crate) fn list_files(root: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let read = std::fs::read_dir(&dir).map_err(|source| ImportError::Read {
            path: dir.clone(),
            source,
        })?;
        for entry in read {
            let entry = entry.map_err(|source| ImportError::Read {
                path: dir.clone(),
                source,
            })?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            let kind = entry.file_type().map_err(|source| ImportError::Read {
                path: path.clone(),
                source,
            })?;
            if kind.is_dir() {
                dirs.push(path);
            } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// `path` relative to `root`, `/`-separated (the path itself when not under `root`).
pub(crate) fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// True when `bytes` look like a phrase list: a line starting with `<` or `.Include<`, or
/// nothing but blank and `#` lines.
pub(crate) fn is_phrase_list(bytes: &[u8]) -> bool {
    let mut only_comments = true;
    for line in bytes.split(|b| *b == b'\n') {
        let line = line.trim_ascii();
        let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        if line.starts_with(b"<") || is_include(line) {
            return true;
        }
        if !line.is_empty() && !line.starts_with(b"#") {
            only_comments = false;
        }
    }
    only_comments
}

fn is_include(line: &[u8]) -> bool {
    line.len() >= 9 && line[..9].eq_ignore_ascii_case(b".include<")
}

/// The targets of the `.Include<...>` lines in `bytes`, as written.
pub(crate) fn include_targets(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|b| *b == b'\n')
        .map(<[u8]>::trim_ascii)
        .filter(|l| is_include(l))
        .filter_map(|l| {
            let rest = &l[9..];
            let end = rest.iter().position(|b| *b == b'>')?;
            let target = String::from_utf8_lossy(&rest[..end]).trim().to_string();
            (!target.is_empty()).then_some(target)
        })
        .collect()
}

/// Where `.Include<target>` in the file `from` leads, inside `root` (both canonical), or why
/// it leads nowhere.
pub(crate) fn resolve_include(root: &Path, from: &Path, target: &str) -> Result<PathBuf, String> {
    let written = Path::new(target);
    let mut candidates = Vec::new();
    if written.is_relative() {
        if let Some(dir) = from.parent() {
            candidates.push(dir.join(written));
        }
        candidates.push(root.join(written));
    }
    let parts: Vec<_> = written
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p),
            _ => None,
        })
        .collect();
    for i in 0..parts.len() {
        candidates.push(parts[i..].iter().fold(root.to_path_buf(), |p, c| p.join(c)));
    }
    let mut outside = false;
    for candidate in candidates {
        if !candidate.is_file() {
            continue;
        }
        match candidate.canonicalize() {
            Ok(real) if real.starts_with(root) => return Ok(real),
            Ok(_) => outside = true,
            Err(_) => {}
        }
    }
    Err(if outside {
        format!("`.Include<{target}>` leads outside the import directory; not read")
    } else {
        format!(
            "`.Include<{target}>` not found in the import directory (as written or by the \
             tail of its path); copy the included list into it"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_phrase_lists() {
        assert!(is_phrase_list(b"# c\n\n< a ><5>\n"));
        assert!(is_phrase_list(b"\xEF\xBB\xBF<a><5>\n"));
        assert!(is_phrase_list(b"#listcategory: \"Badsites\"\n"));
        assert!(is_phrase_list(b".Include</etc/x>\n"));
        assert!(is_phrase_list(b""));
        assert!(!is_phrase_list(
            b"# Title\n\nSome prose about `< word >` edges.\n"
        ));
    }

    #[test]
    fn finds_include_targets() {
        assert_eq!(
            include_targets(
                b"<a><1>\n .Include</etc/e2guardian/x/weighted> \n.include<y>\n.Include<>\n"
            ),
            vec!["/etc/e2guardian/x/weighted".to_string(), "y".to_string()]
        );
    }

    #[test]
    fn lists_files_sorted_without_hidden_ones() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("b/c")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        for f in ["b/c/weighted", "a", ".hidden", ".git/x", "b/banned"] {
            std::fs::write(root.join(f), "").unwrap();
        }
        let rel: Vec<String> = list_files(&root)
            .unwrap()
            .iter()
            .map(|p| relative(&root, p))
            .collect();
        assert_eq!(rel, vec!["a", "b/banned", "b/c/weighted"]);
    }

    #[test]
    fn resolves_includes_as_written_relative_or_by_tail_and_never_outside() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let root = base.join("lists");
        std::fs::create_dir_all(root.join("phraselists/porn")).unwrap();
        std::fs::write(root.join("phraselists/porn/weighted"), "<a><5>").unwrap();
        std::fs::write(root.join("weightedphraselist"), "").unwrap();
        std::fs::write(base.join("secret"), "x").unwrap();
        let from = root.join("weightedphraselist");
        let want = root.join("phraselists/porn/weighted");
        for target in [
            "/etc/e2guardian/lists/phraselists/porn/weighted",
            "phraselists/porn/weighted",
        ] {
            assert_eq!(
                resolve_include(&root, &from, target),
                Ok(want.clone()),
                "{target}"
            );
        }
        let err = resolve_include(&root, &from, "/etc/e2guardian/missing").unwrap_err();
        assert!(err.contains("not found"), "{err}");
        let err = resolve_include(&root, &from, "../secret").unwrap_err();
        assert!(err.contains("outside"), "{err}");
        let err = resolve_include(&root, &from, base.join("secret").to_str().unwrap()).unwrap_err();
        assert!(
            err.contains("not found") || err.contains("outside"),
            "{err}"
        );
    }
}
