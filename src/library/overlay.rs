//! School overlays: a school adds its own terms, disables central items and regrades their
//! severity, each change with a reason, a name and a date that are kept for audit.
//!
//! An overlay is validated on its own by [`Overlay::load`], then against a library by
//! [`Library::apply_overlay`], which applies all of it or none of it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::entry::RawEntry;
use super::validate::{Checker, IdRule};
use super::{Entry, ItemRef, Library, LibraryError, Origin, Problem, Severity};

/// An overlay file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverlayFile {
    overlay: Option<RawOverlayMeta>,
    #[serde(default)]
    add: Vec<Spanned<RawEntry>>,
    #[serde(default)]
    disable: Vec<Spanned<RawChange>>,
    #[serde(default)]
    regrade: Vec<Spanned<RawChange>>,
}

/// The `[overlay]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverlayMeta {
    school: Option<Spanned<String>>,
    version: Option<Spanned<String>>,
}

/// A `[[disable]]` or `[[regrade]]` as written (`severity` only for regrades).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChange {
    id: Option<Spanned<String>>,
    severity: Option<Spanned<i64>>,
    reason: Option<Spanned<String>>,
    by: Option<Spanned<String>>,
    date: Option<Spanned<String>>,
}

/// The kind of an overlay change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// A school entry was added.
    Add,
    /// A central item was disabled.
    Disable,
    /// A central item's severity was changed.
    Regrade,
}

/// One change an overlay makes (planned in an [`Overlay`], applied in [`Library::audit`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverlayChange {
    /// Add, disable or regrade.
    pub kind: ChangeKind,
    /// The item added or changed.
    pub id: String,
    /// Why (for adds, the entry's rationale).
    pub reason: String,
    /// Who decided (optional for adds only).
    pub by: Option<String>,
    /// When, `YYYY-MM-DD` (optional for adds only).
    pub date: Option<String>,
    /// Severity before a regrade (filled in when applied).
    pub old_severity: Option<Severity>,
    /// Severity after a regrade, or of an added entry.
    pub new_severity: Option<Severity>,
    /// The school named in the overlay.
    pub school: String,
    /// The overlay's version.
    pub overlay_version: String,
    /// Where the change is written (overlay path and line).
    pub origin: Origin,
}

/// A validated school overlay, not yet applied.
#[derive(Debug, Clone)]
pub struct Overlay {
    /// The overlay file.
    pub path: PathBuf,
    /// `[overlay] school`.
    pub school: String,
    /// `[overlay] version`.
    pub version: String,
    /// Entries to add (ids start with `school/`).
    pub adds: Vec<Entry>,
    /// Disables and regrades, in that order, each in file order.
    pub changes: Vec<OverlayChange>,
}

impl Overlay {
    /// Reads and validates an overlay file on its own (targets are checked when applied).
    pub fn load(path: &Path) -> Result<Overlay, LibraryError> {
        let src = std::fs::read_to_string(path).map_err(|source| LibraryError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Overlay::parse(path, &src)
    }

    /// Validates overlay text `src` as if read from `path`.
    pub fn parse(path: &Path, src: &str) -> Result<Overlay, LibraryError> {
        let file = path.display().to_string();
        let mut ck = Checker::new(path, &file, src);
        let mut overlay = Overlay {
            path: path.to_path_buf(),
            school: String::new(),
            version: String::new(),
            adds: Vec::new(),
            changes: Vec::new(),
        };
        if let Some(raw) = ck.parse::<RawOverlayFile>() {
            match raw.overlay {
                None => ck.problem(
                    1,
                    "overlay",
                    "missing the `[overlay]` table with `school` and `version`",
                ),
                Some(meta) => {
                    overlay.school =
                        required(&mut ck, meta.school.as_ref(), "overlay", "school", 1);
                    overlay.version =
                        required(&mut ck, meta.version.as_ref(), "overlay", "version", 1);
                }
            }
            let mut adds = Vec::new();
            for (i, raw) in raw.add.into_iter().enumerate() {
                let (by, date) = (raw.get_ref().by.clone(), raw.get_ref().date.clone());
                if let Some(entry) = ck.entry(raw, i, IdRule::School) {
                    let item = entry.id.clone();
                    let line = entry.origin.line;
                    let by = by.map(|b| required(&mut ck, Some(&b), &item, "by", line));
                    let date = date.map(|d| checked_date(&mut ck, Some(&d), &item, line));
                    adds.push((entry, by, date));
                }
            }
            for (entry, by, date) in adds {
                overlay.changes.push(OverlayChange {
                    kind: ChangeKind::Add,
                    id: entry.id.clone(),
                    reason: entry.rationale.clone(),
                    by,
                    date,
                    old_severity: None,
                    new_severity: Some(entry.severity),
                    school: String::new(),
                    overlay_version: String::new(),
                    origin: entry.origin.clone(),
                });
                overlay.adds.push(entry);
            }
            for (i, raw) in raw.disable.into_iter().enumerate() {
                let change = change(&mut ck, raw, i, ChangeKind::Disable, &file);
                overlay.changes.extend(change);
            }
            for (i, raw) in raw.regrade.into_iter().enumerate() {
                let change = change(&mut ck, raw, i, ChangeKind::Regrade, &file);
                overlay.changes.extend(change);
            }
        }
        let mut seen: Vec<(ChangeKind, &str)> = Vec::new();
        let mut duplicates = Vec::new();
        for c in &overlay.changes {
            if seen.contains(&(c.kind, c.id.as_str())) {
                duplicates.push((c.origin.line, c.id.clone()));
            }
            seen.push((c.kind, c.id.as_str()));
        }
        for (line, id) in duplicates {
            ck.problem(
                line,
                &id,
                format!("`{id}` appears twice in this overlay; keep one"),
            );
        }
        let problems = ck.into_problems();
        if !problems.is_empty() {
            return Err(LibraryError::Invalid {
                source_name: path.to_path_buf(),
                problems,
            });
        }
        for c in &mut overlay.changes {
            c.school.clone_from(&overlay.school);
            c.overlay_version.clone_from(&overlay.version);
        }
        Ok(overlay)
    }
}

/// A required non-empty string field, recording a problem when missing or blank.
fn required(
    ck: &mut Checker<'_>,
    raw: Option<&Spanned<String>>,
    item: &str,
    key: &str,
    line: usize,
) -> String {
    match raw {
        Some(v) if !v.get_ref().trim().is_empty() => v.get_ref().trim().to_string(),
        Some(v) => {
            let l = ck.line(&v.span());
            ck.problem(
                l,
                item,
                format!("`{key}` is empty; fill it in (kept for audit)"),
            );
            String::new()
        }
        None => {
            ck.problem(line, item, format!("missing `{key}` (kept for audit)"));
            String::new()
        }
    }
}

/// A required `YYYY-MM-DD` calendar date.
fn checked_date(
    ck: &mut Checker<'_>,
    raw: Option<&Spanned<String>>,
    item: &str,
    line: usize,
) -> String {
    let value = required(ck, raw, item, "date", line);
    if value.is_empty() {
        return value;
    }
    if !valid_date(&value) {
        let l = raw.map(|r| ck.line(&r.span())).unwrap_or(line);
        ck.problem(
            l,
            item,
            format!("`date` `{value}` is not a calendar date written YYYY-MM-DD"),
        );
    }
    value
}

/// True for a real calendar date written `YYYY-MM-DD`.
fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|p| p.parse::<u16>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let digits = b
        .iter()
        .enumerate()
        .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    let month = u8::try_from(m)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok());
    digits
        && month.is_some_and(|month| {
            u8::try_from(d)
                .is_ok_and(|d| time::Date::from_calendar_date(i32::from(y), month, d).is_ok())
        })
}

/// Validates a `[[disable]]` or `[[regrade]]`.
fn change(
    ck: &mut Checker<'_>,
    raw: Spanned<RawChange>,
    index: usize,
    kind: ChangeKind,
    file: &str,
) -> Option<OverlayChange> {
    let before = ck.problems_len();
    let table_line = ck.line(&raw.span());
    let raw = raw.into_inner();
    let what = match kind {
        ChangeKind::Regrade => "regrade",
        _ => "disable",
    };
    let (item, line) = match &raw.id {
        Some(id) => (id.get_ref().trim().to_string(), ck.line(&id.span())),
        None => (format!("{what} #{}", index + 1), table_line),
    };
    if raw.id.is_none() {
        ck.problem(line, &item, "missing `id`: the library item to change");
    }
    let new_severity = match (kind, &raw.severity) {
        (ChangeKind::Regrade, Some(s)) => {
            let found = u8::try_from(*s.get_ref()).ok().and_then(Severity::new);
            if found.is_none() {
                let l = ck.line(&s.span());
                ck.problem(
                    l,
                    &item,
                    format!("severity {} is not within 1..=5", s.get_ref()),
                );
            }
            found
        }
        (ChangeKind::Regrade, None) => {
            ck.problem(line, &item, "missing `severity`: the new severity, 1..=5");
            None
        }
        (_, Some(s)) => {
            let l = ck.line(&s.span());
            ck.problem(
                l,
                &item,
                "`severity` belongs in a [[regrade]], not a [[disable]]",
            );
            None
        }
        (_, None) => None,
    };
    let reason = required(ck, raw.reason.as_ref(), &item, "reason", line);
    let by = required(ck, raw.by.as_ref(), &item, "by", line);
    let date = checked_date(ck, raw.date.as_ref(), &item, line);
    (ck.problems_len() == before).then(|| OverlayChange {
        kind,
        id: item,
        reason,
        by: Some(by),
        date: Some(date),
        old_severity: None,
        new_severity,
        school: String::new(),
        overlay_version: String::new(),
        origin: Origin {
            file: file.to_string(),
            line,
        },
    })
}

/// Sets the regraded severity; a weight left at its severity default follows the new severity.
/// Returns the old severity.
fn regrade(severity: &mut Severity, weight: &mut i32, change: &OverlayChange) -> Option<Severity> {
    let new = change.new_severity?;
    let old = *severity;
    if *weight == old.default_weight() {
        *weight = new.default_weight();
    }
    *severity = new;
    Some(old)
}

impl Library {
    /// Applies a school overlay: adds its entries, disables and regrades the named items, and
    /// records every change in [`Library::audit`]. All or nothing: on any problem the library
    /// is left unchanged and every problem is returned.
    pub fn apply_overlay(&mut self, overlay: &Overlay) -> Result<(), LibraryError> {
        let mut next = self.clone();
        let mut problems = Vec::new();
        let mut problem = |origin: &Origin, id: &str, message: String| {
            problems.push(Problem {
                file: overlay.path.clone(),
                line: origin.line,
                item: id.to_string(),
                message,
            })
        };
        for entry in &overlay.adds {
            if let Some(at) = self.origin_of(&entry.id) {
                problem(
                    &entry.origin,
                    &entry.id,
                    format!(
                        "id `{}` already exists at {at}; choose another id",
                        entry.id
                    ),
                );
            }
            next.entries.push(entry.clone());
        }
        next.reindex();
        let not_found = |id: &str| {
            format!(
                "`{id}` is not in library {} {}; check the id against `gatewatch library check` \
                 or the library files (ids are case-sensitive)",
                self.id, self.version
            )
        };
        for change in &overlay.changes {
            let mut record = change.clone();
            match (change.kind, next.find(&change.id)) {
                (ChangeKind::Add, _) => {}
                (_, None) => problem(&change.origin, &change.id, not_found(&change.id)),
                (ChangeKind::Disable, Some(ItemRef::Entry(i))) => next.entries[i].enabled = false,
                (ChangeKind::Disable, Some(ItemRef::Combo(i))) => next.combos[i].enabled = false,
                (ChangeKind::Disable, Some(ItemRef::Exception(i))) => {
                    next.exceptions[i].enabled = false
                }
                (ChangeKind::Regrade, Some(ItemRef::Exception(_))) => problem(
                    &change.origin,
                    &change.id,
                    format!(
                        "`{}` is an exception, which has no severity to regrade",
                        change.id
                    ),
                ),
                (ChangeKind::Regrade, Some(ItemRef::Entry(i))) => {
                    let e = &mut next.entries[i];
                    record.old_severity = regrade(&mut e.severity, &mut e.weight, change);
                }
                (ChangeKind::Regrade, Some(ItemRef::Combo(i))) => {
                    let c = &mut next.combos[i];
                    record.old_severity = regrade(&mut c.severity, &mut c.weight, change);
                }
            }
            next.audit.push(record);
        }
        if !problems.is_empty() {
            return Err(LibraryError::Invalid {
                source_name: overlay.path.clone(),
                problems,
            });
        }
        *self = next;
        Ok(())
    }

    /// Where the item `id` is defined.
    fn origin_of(&self, id: &str) -> Option<&Origin> {
        match self.find(id)? {
            ItemRef::Entry(i) => self.entries.get(i).map(|e| &e.origin),
            ItemRef::Combo(i) => self.combos.get(i).map(|c| &c.origin),
            ItemRef::Exception(i) => self.exceptions.get(i).map(|x| &x.origin),
        }
    }
}

#[cfg(test)]
#[path = "overlay_tests.rs"]
mod tests;
