//! Per-list and per-phrase rules of the e2guardian import: what a list's path says (kind,
//! topic, language), which category a phrase lands in, and the entry or combination it
//! becomes.

use super::line::PhraseLine;
use super::map::{self, Topic};
use super::COMBO_WITHIN;
use crate::library::import::builder::ItemKind;
use crate::library::import::report::{ListKind, Note, SkipReason};
use crate::library::rules;
use crate::library::{Category, Edge};

/// Longest excerpt of a line quoted in a problem.
const EXCERPT: usize = 80;

/// The per-file facts every line needs.
pub(super) struct FileContext {
    /// Path relative to the import directory.
    pub rel: String,
    /// Weighted, banned or exception (from the file name, or inherited from an exception
    /// list that includes it).
    pub kind: ListKind,
    /// The innermost directory naming a known topic, and that topic.
    pub dir_topic: Option<(String, Topic)>,
    /// Language from the file name or directories.
    pub lang: Option<&'static str>,
}

/// A phrase's category, or why it has none.
pub(super) enum Resolved {
    /// Imported into this category.
    Category(Category),
    /// A good phrase.
    Good,
    /// A known topic with no safeguarding meaning, by name.
    NoEquivalent(String),
    /// No known topic; the header name, if any.
    Unknown(Option<String>),
}

/// The facts about a list that follow from its path.
pub(super) fn context(rel: &str, included_from_exception: bool) -> FileContext {
    let mut segments: Vec<&str> = rel.split('/').collect();
    let file = segments.pop().unwrap_or_default();
    let lower = file.to_ascii_lowercase();
    let kind = if included_from_exception || lower.starts_with("exception") {
        ListKind::Exception
    } else if lower.starts_with("banned") {
        ListKind::Banned
    } else {
        ListKind::Weighted
    };
    let dir_topic = segments
        .iter()
        .rev()
        .find_map(|d| map::topic(d).map(|t| (d.to_string(), t)));
    let lang = file
        .split('_')
        .skip(1)
        .find_map(map::language)
        .or_else(|| segments.iter().rev().find_map(|d| map::language(d)));
    FileContext {
        rel: rel.to_string(),
        kind,
        dir_topic,
        lang,
    }
}

/// The category of a phrase: the directory's topic, else the current header's.
pub(super) fn resolve(ctx: &FileContext, header: Option<&str>) -> Resolved {
    let (name, topic) = match (&ctx.dir_topic, header) {
        (Some((name, topic)), _) => (name.clone(), Some(*topic)),
        (None, Some(h)) => (h.to_string(), map::topic(h)),
        (None, None) => return Resolved::Unknown(None),
    };
    match topic {
        Some(Topic::Category(c)) => Resolved::Category(c),
        Some(Topic::GoodPhrases) => Resolved::Good,
        Some(Topic::NoEquivalent) => Resolved::NoEquivalent(name),
        None => Resolved::Unknown(Some(name)),
    }
}

/// The entry or combination a phrase line becomes, or why it cannot be one.
pub(super) fn item_kind(
    p: &PhraseLine,
    notes: &mut Vec<Note>,
) -> Result<ItemKind, (SkipReason, String)> {
    let checked = |text: &str| {
        rules::phrase(text).map_err(|why| (SkipReason::NotAPhrase, format!("phrase {why}")))
    };
    if let [part] = p.parts.as_slice() {
        let edge = match (part.starts_word, part.ends_word) {
            (true, true) => Edge::Word,
            (true, false) => Edge::Start,
            (false, true) => {
                notes.push(Note::EndEdgeWidened);
                Edge::Substring
            }
            (false, false) => Edge::Substring,
        };
        return Ok(ItemKind::Entry {
            text: checked(&part.text)?,
            edge,
        });
    }
    let mut parts: Vec<String> = Vec::with_capacity(p.parts.len());
    let (mut merged, mut narrowed) = (false, false);
    for part in &p.parts {
        let text = checked(&part.text)?;
        if parts.contains(&text) {
            merged = true;
            continue;
        }
        narrowed |= !(part.starts_word && part.ends_word);
        parts.push(text);
    }
    if !(2..=4).contains(&parts.len()) {
        return Err((
            SkipReason::ComboParts,
            format!(
                "a combination of {} distinct parts; gatewatch combinations have 2 to 4",
                parts.len()
            ),
        ));
    }
    if merged {
        notes.push(Note::ComboPartsMerged);
    }
    if narrowed {
        notes.push(Note::ComboPartWholeWord);
    }
    Ok(ItemKind::Combo {
        parts,
        within: COMBO_WITHIN,
    })
}

/// The line, shortened for a report.
pub(super) fn excerpt(text: &str) -> String {
    let t = text.trim();
    match t.char_indices().nth(EXCERPT) {
        Some((i, _)) => format!("`{}...`", &t[..i]),
        None => format!("`{t}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::line::{self, Line};
    use super::*;

    fn phrase_line(text: &str) -> PhraseLine {
        match line::parse(text) {
            Line::Phrase(p) => p,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn context_from_paths() {
        let c = context("portuguese/intolerance/banned", false);
        assert_eq!(c.kind, ListKind::Banned);
        assert_eq!(
            c.dir_topic.as_ref().map(|(n, _)| n.as_str()),
            Some("intolerance")
        );
        assert_eq!(c.lang, Some("pt"));
        let c = context("goodphrases/exception_email", false);
        assert_eq!(c.kind, ListKind::Exception);
        assert_eq!(c.lang, None);
        assert_eq!(context("local/weighted", true).kind, ListKind::Exception);
        assert_eq!(
            context("pornography/weighted_general_polish", false).lang,
            Some("pl")
        );
        assert_eq!(context("weightedphraselist", false).dir_topic, None);
    }

    #[test]
    fn directory_before_header() {
        let c = context("intolerance/banned", false);
        assert!(matches!(
            resolve(&c, Some("IllegalDrugs")),
            Resolved::Category(Category::HateSpeech)
        ));
        let c = context("custom/weighted", false);
        assert!(matches!(
            resolve(&c, Some("Illegal Drugs")),
            Resolved::Category(Category::Drugs)
        ));
        assert!(matches!(resolve(&c, Some("Sport")), Resolved::NoEquivalent(n) if n == "Sport"));
        assert!(matches!(
            resolve(&c, Some("Nope")),
            Resolved::Unknown(Some(_))
        ));
        assert!(matches!(resolve(&c, None), Resolved::Unknown(None)));
        let c = context("ukenglish/goodphrases/weighted", false);
        assert!(matches!(resolve(&c, Some("Goodsites")), Resolved::Good));
    }

    #[test]
    fn item_kinds_and_their_notes() {
        let mut notes = Vec::new();
        let kind = item_kind(&phrase_line("<phile ><30>"), &mut notes).unwrap();
        assert_eq!(
            kind,
            ItemKind::Entry {
                text: "phile".into(),
                edge: Edge::Substring
            }
        );
        assert_eq!(notes, vec![Note::EndEdgeWidened]);
        let mut notes = Vec::new();
        let kind = item_kind(&phrase_line("< a >,< a >,<b  c><30>"), &mut notes).unwrap();
        assert_eq!(
            kind,
            ItemKind::Combo {
                parts: vec!["a".into(), "b c".into()],
                within: COMBO_WITHIN
            }
        );
        assert_eq!(
            notes,
            vec![Note::ComboPartsMerged, Note::ComboPartWholeWord]
        );
        let err = item_kind(&phrase_line("<!!!><30>"), &mut Vec::new()).unwrap_err();
        assert_eq!(err.0, SkipReason::NotAPhrase);
        let err = item_kind(&phrase_line("<a>,<b>,<c>,<d>,<e><30>"), &mut Vec::new()).unwrap_err();
        assert_eq!(err.0, SkipReason::ComboParts);
    }

    #[test]
    fn excerpts_are_short() {
        assert_eq!(excerpt("  <a><5>  "), "`<a><5>`");
        let long = "é".repeat(100);
        assert_eq!(excerpt(&long), format!("`{}...`", "é".repeat(EXCERPT)));
    }
}
