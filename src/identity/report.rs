//! Parse reports: every parser skips bad records and counts them here instead of failing.
//!
//! A report never holds record content (MACs, user names, host names are personal data): only
//! counts, line numbers and what kind of problem it was.

use std::fmt;

/// How many problems a report keeps the line numbers of.
pub const MAX_PROBLEMS: usize = 8;

/// Why one record (line, block or packet) was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// A required field is absent.
    #[error("required field `{0}` is missing; the record was skipped")]
    Missing(&'static str),
    /// A field is present but its value does not parse.
    #[error("field `{0}` has an invalid value; the record was skipped")]
    Invalid(&'static str),
    /// The record was cut off (a partial last line, or a record without its end).
    #[error("the record is incomplete (cut off while being written); it was skipped")]
    Truncated,
    /// The line is not part of the format at all.
    #[error("unrecognised line; is this the right file format for this source?")]
    Unrecognised,
    /// The record is well-formed but of a type gatewatch does not use.
    #[error("record type `{0}` is not used; the record was skipped")]
    Unsupported(&'static str),
}

/// One skipped record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line where the record starts (0 for inputs without lines, e.g. packets).
    pub line: usize,
    /// What was wrong.
    pub error: RecordError,
}

/// What a parser did with its input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseReport {
    /// Records parsed and returned.
    pub records: u64,
    /// Records skipped because they were malformed, truncated or unsupported.
    pub skipped: u64,
    /// Well-formed lines that carry nothing gatewatch uses (headers, comments, extras).
    pub ignored: u64,
    /// The first [`MAX_PROBLEMS`] skipped records.
    pub problems: Vec<Problem>,
}

impl ParseReport {
    /// Counts one parsed record.
    pub fn record(&mut self) {
        self.records += 1;
    }

    /// Counts one ignored line.
    pub fn ignore(&mut self) {
        self.ignored += 1;
    }

    /// Counts one skipped record, remembering where it was if there is room.
    pub fn skip(&mut self, line: usize, error: RecordError) {
        self.skipped += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem { line, error });
        }
    }

    /// Adds another report's counts (and problems, while there is room) to this one.
    pub fn merge(&mut self, other: &ParseReport) {
        self.records += other.records;
        self.skipped += other.skipped;
        self.ignored += other.ignored;
        let room = MAX_PROBLEMS.saturating_sub(self.problems.len());
        self.problems
            .extend(other.problems.iter().take(room).copied());
    }
}

impl fmt::Display for ParseReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} records, {} skipped, {} ignored",
            self.records, self.skipped, self.ignored
        )?;
        for p in &self.problems {
            write!(f, "; line {}: {}", p.line, p.error)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_first_problems_but_counts_all() {
        let mut r = ParseReport::default();
        for line in 1..=20 {
            r.skip(line, RecordError::Truncated);
        }
        r.record();
        r.ignore();
        assert_eq!(r.skipped, 20);
        assert_eq!(r.problems.len(), MAX_PROBLEMS);
        assert_eq!(r.problems[0].line, 1);
        let mut total = ParseReport::default();
        total.skip(99, RecordError::Missing("ip"));
        total.merge(&r);
        assert_eq!((total.records, total.skipped, total.ignored), (1, 21, 1));
        assert_eq!(total.problems.len(), MAX_PROBLEMS);
        assert_eq!(total.problems[0].line, 99);
        let text = total.to_string();
        assert!(text.starts_with("1 records, 21 skipped, 1 ignored; line 99: required field `ip`"));
    }
}
