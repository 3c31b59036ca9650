//! Threat libraries: categories, severities, phrases, combinations and exceptions.
//!
//! A library is a directory holding a manifest `library.toml` (id, version, file list and
//! checksum) and category files of `[[entry]]`, `[[combo]]` and `[[exception]]` tables; a
//! school overlay adds, disables and regrades items with a reason kept for audit. The format
//! is documented for authors in `libraries/README.md`.
//!
//! Loading reads TOML into raw structs, validates every item (all problems reported at once,
//! each with file, item and line), verifies the checksum and produces a flat [`Library`]: the
//! one type the normaliser and matcher consume, compiled once and shared.
//!
//! # Layout
//! - [`category`]: the fifteen [`Category`] ids, names and which are illegal.
//! - [`entry`]: raw TOML shapes and the validated [`Entry`], [`Combo`], [`Exception`] and
//!   [`Severity`].
//! - `validate`: item-level checks, each problem with file, item and line; `rules`: the rules
//!   for single values (phrases, regexes, ids, language codes).
//! - [`load`]: the manifest, [`Library::load_dir`] and checks across items.
//! - [`checksum`]: the manifest checksum and [`update_checksum`].
//! - [`overlay`]: school overlays and the [`OverlayChange`] audit trail.
//! - [`pattern`]: the enabled patterns the matcher compiles.
//! - [`report`]: the [`CheckReport`] printed by `gatewatch library check`.
//! - [`error`]: [`LibraryError`] and [`Problem`].

pub mod category;
pub mod checksum;
pub mod entry;
pub mod error;
pub mod import;
pub mod load;
pub mod overlay;
pub mod pattern;
pub mod report;
mod rules;
#[cfg(test)]
mod testutil;
mod validate;

use std::collections::HashMap;

pub use category::Category;
pub use checksum::update_checksum;
pub use entry::{Combo, Edge, Effect, Entry, Exception, Kind, Origin, Severity, Target};
pub use error::{LibraryError, Problem};
pub use overlay::{ChangeKind, Overlay, OverlayChange};
pub use pattern::{Pattern, PatternSource};
pub use report::CheckReport;

/// Where an id points inside a [`Library`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemRef {
    /// Index into [`Library::entries`].
    Entry(usize),
    /// Index into [`Library::combos`].
    Combo(usize),
    /// Index into [`Library::exceptions`].
    Exception(usize),
}

/// A loaded, validated threat library (optionally with school overlays applied).
///
/// Invariants: ids are unique across entries, combos and exceptions; every exception target
/// exists; every value is within its documented range. Only [`Library::load_dir`],
/// [`Library::from_sources`] and [`Library::apply_overlay`] build or change one.
#[derive(Debug, Clone)]
pub struct Library {
    id: String,
    version: String,
    description: String,
    checksum: String,
    files: Vec<String>,
    entries: Vec<Entry>,
    combos: Vec<Combo>,
    exceptions: Vec<Exception>,
    audit: Vec<OverlayChange>,
    index: HashMap<String, ItemRef>,
}

impl Library {
    /// The library id from the manifest, e.g. `gatewatch-starter`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The library version from the manifest, e.g. `2026.11.0`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The manifest description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The verified checksum, `sha256:<hex>`.
    pub fn checksum(&self) -> &str {
        &self.checksum
    }

    /// The category files, in load order.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// Every entry (enabled or not), in file order, overlay additions last.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Every combination rule, in file order.
    pub fn combos(&self) -> &[Combo] {
        &self.combos
    }

    /// Every exception, in file order.
    pub fn exceptions(&self) -> &[Exception] {
        &self.exceptions
    }

    /// The overlay changes applied, in order, for audit.
    pub fn audit(&self) -> &[OverlayChange] {
        &self.audit
    }

    /// Where `id` points, if it names an item.
    pub fn find(&self, id: &str) -> Option<ItemRef> {
        self.index.get(id).copied()
    }

    /// The entry with this id.
    pub fn entry(&self, id: &str) -> Option<&Entry> {
        match self.find(id)? {
            ItemRef::Entry(i) => self.entries.get(i),
            _ => None,
        }
    }

    /// The combo with this id.
    pub fn combo(&self, id: &str) -> Option<&Combo> {
        match self.find(id)? {
            ItemRef::Combo(i) => self.combos.get(i),
            _ => None,
        }
    }

    /// The exception with this id.
    pub fn exception(&self, id: &str) -> Option<&Exception> {
        match self.find(id)? {
            ItemRef::Exception(i) => self.exceptions.get(i),
            _ => None,
        }
    }

    /// The enabled exceptions that apply to the item `id` of `category`.
    pub fn exceptions_for<'a>(
        &'a self,
        id: &'a str,
        category: Category,
    ) -> impl Iterator<Item = &'a Exception> + 'a {
        self.exceptions
            .iter()
            .filter(move |e| e.enabled && e.applies(id, category))
    }

    /// Rebuilds the id index after the item lists changed.
    fn reindex(&mut self) {
        let entries = self.entries.iter().enumerate();
        let combos = self.combos.iter().enumerate();
        let exceptions = self.exceptions.iter().enumerate();
        self.index = entries
            .map(|(i, e)| (e.id.clone(), ItemRef::Entry(i)))
            .chain(combos.map(|(i, c)| (c.id.clone(), ItemRef::Combo(i))))
            .chain(exceptions.map(|(i, x)| (x.id.clone(), ItemRef::Exception(i))))
            .collect();
    }
}
