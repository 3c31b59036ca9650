//! Importers: third-party phrase lists to gatewatch libraries.
//!
//! - [`import_e2guardian`]: e2guardian / DansGuardian weighted, banned and exception phrase
//!   lists as shipped (word edges, combinations, negative and percentage weights,
//!   `#listcategory`, `.Include`, legacy encodings); see [`e2guardian`] for the rules and the
//!   category mapping.
//! - [`import_wordlist`]: a plain word list, one term a line, with a given category and
//!   severity.
//!
//! Both produce a validated [`Library`] (built with [`Library::from_sources`], so it passes
//! exactly the checks `gatewatch library check` applies), the TOML category files and manifest
//! (with its checksum), and an [`ImportReport`] of what was imported and skipped, line by
//! line. Given an output directory they also write the library there and load it back.
//!
//! # Layout
//! - [`e2guardian`]: the e2guardian importer (`line`: the line grammar, `map`: categories,
//!   languages and encodings, `walk`: files and includes).
//! - [`wordlist`]: the word-list importer.
//! - [`report`]: [`ImportReport`] and its parts.
//! - `builder`: items to TOML, ids, duplicates, validation and writing.
//! - `decode`: per-line decoding of legacy encodings.

mod builder;
mod decode;
pub mod e2guardian;
pub mod report;
pub mod wordlist;

use std::path::PathBuf;

pub use e2guardian::{import_e2guardian, import_e2guardian_with, E2guardianOptions};
pub use report::{
    CategoryCount, FileReport, ImportFormat, ImportReport, LineProblem, ListKind, Note, SkipReason,
};
pub use wordlist::{import_wordlist, import_wordlist_with, WordlistOptions};

use super::{Library, LibraryError};

/// A finished import.
#[derive(Debug, Clone)]
pub struct Import {
    /// The validated library (as written, when an output directory was given).
    pub library: Library,
    /// What was imported and skipped.
    pub report: ImportReport,
    /// The category files `(file name, TOML text)`, in manifest order.
    pub files: Vec<(String, String)>,
    /// The manifest `library.toml` text, with its checksum.
    pub manifest: String,
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The source could not be read.
    #[error("cannot read {path}: {source}; check the path and its permissions")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The e2guardian source is not a directory.
    #[error(
        "{path} is not a directory; pass the directory holding the phrase lists, e.g. \
         /etc/e2guardian/lists/phraselists"
    )]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// The output could not be written.
    #[error("cannot write {path}: {source}; check the output directory and its permissions")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Nothing was imported, so there is no library.
    #[error(
        "nothing to import: no phrase maps to a gatewatch category; check the source and the \
         skipped counts (`gatewatch library import` prints them)"
    )]
    Empty,
    /// The generated library failed validation: a bug in the importer.
    #[error("the imported library does not validate (a bug in the importer; please report it with the source list): {0}")]
    Invalid(LibraryError),
}

/// The ids, weights and severities shared by the importers.
pub(crate) mod grade {
    /// Weight given to an e2guardian banned phrase (blocks on sight): the schema's maximum.
    pub(crate) const BANNED_WEIGHT: i32 = 1000;
    /// Severity given to an e2guardian banned phrase: the importers' cap.
    pub(crate) const BANNED_SEVERITY: u8 = 4;
    /// Highest severity an importer assigns; 5 is left to libraries graded by people.
    pub(crate) const MAX_IMPORTED_SEVERITY: u8 = 4;
    /// Bound of a weight either side of zero (the schema's).
    pub(crate) const WEIGHT_LIMIT: i32 = 1000;

    /// The severity of an e2guardian weight: >= 100 -> 4, >= 50 -> 3, >= 20 -> 2, else 1;
    /// negative weights (good context) -> 1.
    pub(crate) fn severity_for_weight(weight: i32) -> u8 {
        match weight {
            w if w >= 100 => MAX_IMPORTED_SEVERITY,
            w if w >= 50 => 3,
            w if w >= 20 => 2,
            _ => 1,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn severity_from_weight_bands() {
            let got: Vec<u8> = [-1000, -5, 0, 1, 19, 20, 49, 50, 99, 100, 320, 1000]
                .iter()
                .map(|w| severity_for_weight(*w))
                .collect();
            assert_eq!(got, vec![1, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 4]);
        }
    }
}
