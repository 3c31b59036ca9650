//! The flat list of enabled patterns the matcher compiles: entry phrases and regexes, combo
//! parts and exception context phrases, each pointing back at the item that owns it.

use super::{Edge, Kind, Library};

/// Which item a [`Pattern`] belongs to; indexes are into the library's slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatternSource {
    /// The pattern of [`Library::entries`]`[index]`.
    Entry(usize),
    /// Part `part` of [`Library::combos`]`[combo]`.
    ComboPart {
        /// Index into [`Library::combos`].
        combo: usize,
        /// Index into the combo's `parts`.
        part: usize,
    },
    /// Context phrase `phrase` of [`Library::exceptions`]`[exception]`.
    ExceptionNear {
        /// Index into [`Library::exceptions`].
        exception: usize,
        /// Index into the exception's `near`.
        phrase: usize,
    },
}

/// One enabled pattern to compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pattern<'a> {
    /// The id of the owning entry, combo or exception.
    pub id: &'a str,
    /// The phrase (to be normalised by the matcher) or regex.
    pub text: &'a str,
    /// Phrase or regex (combo parts and context phrases are always phrases).
    pub kind: Kind,
    /// Word-edge rule (combo parts and context phrases are always whole-word).
    pub edge: Edge,
    /// The owning item.
    pub source: PatternSource,
}

impl Library {
    /// Every pattern of every enabled entry, combo and exception, in library order: entries
    /// first, then combo parts, then exception context phrases. Disabled items contribute
    /// nothing. The same text may appear more than once (owned by different items).
    pub fn enabled_patterns(&self) -> Vec<Pattern<'_>> {
        let mut out = Vec::new();
        for (i, e) in self.entries().iter().enumerate().filter(|(_, e)| e.enabled) {
            out.push(Pattern {
                id: &e.id,
                text: &e.pattern,
                kind: e.kind,
                edge: e.edge,
                source: PatternSource::Entry(i),
            });
        }
        for (c, combo) in self.combos().iter().enumerate().filter(|(_, c)| c.enabled) {
            for (part, text) in combo.parts.iter().enumerate() {
                out.push(Pattern {
                    id: &combo.id,
                    text,
                    kind: Kind::Phrase,
                    edge: Edge::Word,
                    source: PatternSource::ComboPart { combo: c, part },
                });
            }
        }
        for (x, ex) in self
            .exceptions()
            .iter()
            .enumerate()
            .filter(|(_, x)| x.enabled)
        {
            for (phrase, text) in ex.near.iter().enumerate() {
                out.push(Pattern {
                    id: &ex.id,
                    text,
                    kind: Kind::Phrase,
                    edge: Edge::Word,
                    source: PatternSource::ExceptionNear {
                        exception: x,
                        phrase,
                    },
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
category = "violence"

[[entry]]
id = "violence/shot"
match = "shot"
severity = 3
rationale = "Shooting."

[[entry]]
id = "violence/off"
match = "off"
enabled = false
severity = 1
rationale = "Disabled."

[[entry]]
id = "violence/stab-re"
match = "stab+(ed|bing)?"
kind = "regex"
edge = "start"
severity = 4
rationale = "Stabbing."

[[combo]]
id = "violence/gonna-shoot"
all = ["going to", "shoot"]
severity = 5
rationale = "Intent."

[[exception]]
id = "violence/shot-film"
applies_to = ["violence/shot"]
near = ["camera", "film"]
rationale = "Filming."
"#;

    #[test]
    fn enabled_patterns_point_back_at_their_items() {
        let lib = Library::from_sources("t", "1", "", &[("violence.toml", FILE)]).unwrap();
        let pats = lib.enabled_patterns();
        let summary: Vec<_> = pats
            .iter()
            .map(|p| (p.id, p.text, p.kind, p.edge))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("violence/shot", "shot", Kind::Phrase, Edge::Word),
                (
                    "violence/stab-re",
                    "stab+(ed|bing)?",
                    Kind::Regex,
                    Edge::Start
                ),
                ("violence/gonna-shoot", "going to", Kind::Phrase, Edge::Word),
                ("violence/gonna-shoot", "shoot", Kind::Phrase, Edge::Word),
                ("violence/shot-film", "camera", Kind::Phrase, Edge::Word),
                ("violence/shot-film", "film", Kind::Phrase, Edge::Word),
            ]
        );
        assert_eq!(pats[1].source, PatternSource::Entry(2));
        assert_eq!(
            pats[3].source,
            PatternSource::ComboPart { combo: 0, part: 1 }
        );
        assert_eq!(
            pats[5].source,
            PatternSource::ExceptionNear {
                exception: 0,
                phrase: 1
            }
        );
        let shot = lib.entry("violence/shot").unwrap();
        let exs: Vec<_> = lib.exceptions_for(&shot.id, shot.category).collect();
        assert_eq!(exs.len(), 1);
        assert_eq!(lib.exceptions_for("violence/off", shot.category).count(), 0);
    }
}
