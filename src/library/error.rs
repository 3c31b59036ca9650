//! Library errors: each names the file, the item and the line, and says what to do.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// One problem found while validating a library or an overlay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file the problem is in.
    pub file: PathBuf,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// The item: its id, or `entry #3` when it has none, or `library` for the manifest.
    pub item: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.item,
            self.message
        )
    }
}

/// A library or overlay that could not be read, verified or validated.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}; check the path and its permissions")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file could not be written (`update_checksum`).
    #[error("cannot write {path}: {source}; check the path and its permissions")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The manifest checksum does not match the files.
    #[error(
        "{manifest}: checksum mismatch: the manifest says {expected} but the files hash to \
         {computed}; if you changed the library on purpose, bump `version` and run \
         `gatewatch library check --update-checksum {dir}`, otherwise the files were altered \
         or damaged: restore them from the release"
    )]
    Checksum {
        /// The manifest file.
        manifest: PathBuf,
        /// The library directory.
        dir: PathBuf,
        /// The value in the manifest.
        expected: String,
        /// The value computed from the files.
        computed: String,
    },
    /// One or more problems in the content; all are listed.
    #[error("{}", render_problems(.source_name, .problems))]
    Invalid {
        /// The library directory or overlay file.
        source_name: PathBuf,
        /// Every problem found, in file order.
        problems: Vec<Problem>,
    },
}

impl LibraryError {
    /// The individual problems (empty unless [`LibraryError::Invalid`]).
    pub fn problems(&self) -> &[Problem] {
        match self {
            LibraryError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

fn render_problems(source: &std::path::Path, problems: &[Problem]) -> String {
    let mut out = format!(
        "{} problem{} in {}:",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        source.display()
    );
    for p in problems {
        out.push_str("\n  ");
        out.push_str(&p.to_string());
    }
    out.push_str("\nfix them, then validate again with `gatewatch library check`");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_lists_every_problem_with_file_and_line() {
        let err = LibraryError::Invalid {
            source_name: PathBuf::from("libraries/x"),
            problems: vec![
                Problem {
                    file: PathBuf::from("libraries/x/a.toml"),
                    line: 4,
                    item: "violence/a".into(),
                    message: "severity 9 is not within 1..=5".into(),
                },
                Problem {
                    file: PathBuf::from("libraries/x/b.toml"),
                    line: 7,
                    item: "entry #2".into(),
                    message: "missing `id`".into(),
                },
            ],
        };
        let text = err.to_string();
        assert!(text.starts_with("2 problems in libraries/x:"), "{text}");
        assert!(
            text.contains("libraries/x/a.toml:4: violence/a: severity 9"),
            "{text}"
        );
        assert!(
            text.contains("libraries/x/b.toml:7: entry #2: missing `id`"),
            "{text}"
        );
        assert!(text.ends_with("`gatewatch library check`"), "{text}");
        assert_eq!(err.problems().len(), 2);
    }
}
