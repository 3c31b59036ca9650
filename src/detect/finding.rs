//! A finding: one rule that fired in a body, with the words that triggered it, their
//! context and everything a safeguarding lead needs to judge it.

use std::ops::Range;

use serde::Serialize;

use super::TextKind;
use crate::library::{Category, Severity};

/// One rule that fired. Findings hold text the user typed or saw: never log them at info
/// level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The entry or combination id, e.g. `self-harm/cut-myself`.
    pub rule_id: String,
    /// Its category.
    pub category: Category,
    /// Severity after any lowering exception.
    pub severity: Severity,
    /// Score contribution before the typed multiplier (after any lowering exception).
    pub weight: i32,
    /// Whether the words were searched, typed or shown by a page.
    pub kind: TextKind,
    /// The matched words as written (parts of a combination joined by ` … `).
    pub matched: String,
    /// The matched words with up to ten words either side, as written (` | ` marks the
    /// boundary between two fields).
    pub context: String,
    /// Byte ranges of the matched words within `context`.
    pub highlights: Vec<Range<usize>>,
    /// Words precede `context` in the body.
    pub more_before: bool,
    /// Words follow `context` in the body.
    pub more_after: bool,
    /// Index of the first matched word in the body (0-based).
    pub word_index: u64,
    /// The exception that lowered this finding's severity, if one did.
    pub exception: Option<String>,
}

impl Finding {
    /// The context with the matched words in guillemets and ellipses where the body goes
    /// on: `... kids say «kill yourself» in the chat ...`.
    pub fn highlighted(&self) -> String {
        let mut out = String::with_capacity(self.context.len() + 16);
        if self.more_before {
            out.push_str("... ");
        }
        let mut at = 0;
        for r in &self.highlights {
            let (Some(before), Some(hit)) =
                (self.context.get(at..r.start), self.context.get(r.clone()))
            else {
                continue;
            };
            out.push_str(before);
            out.push('«');
            out.push_str(hit);
            out.push('»');
            at = r.end;
        }
        out.push_str(self.context.get(at..).unwrap_or(""));
        if self.more_after {
            out.push_str(" ...");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(context: &str, highlights: &[(usize, usize)], before: bool, after: bool) -> Finding {
        Finding {
            rule_id: "violence/kill-yourself".into(),
            category: Category::Bullying,
            severity: Severity::MAX,
            weight: 100,
            kind: TextKind::Page,
            matched: "kill yourself".into(),
            context: context.into(),
            highlights: highlights.iter().map(|&(a, b)| a..b).collect(),
            more_before: before,
            more_after: after,
            word_index: 12,
            exception: None,
        }
    }

    #[test]
    fn highlighted_marks_matches_and_cut_context() {
        let f = finding("kids say kill yourself in the chat", &[(9, 22)], true, true);
        assert_eq!(
            f.highlighted(),
            "... kids say «kill yourself» in the chat ..."
        );
        let f = finding("how to | tie a noose", &[(0, 6), (13, 20)], false, false);
        assert_eq!(f.highlighted(), "«how to» | tie «a noose»");
        let f = finding("kill", &[(0, 4)], false, false);
        assert_eq!(f.highlighted(), "«kill»");
        let f = finding("bad range", &[(4, 40)], false, false);
        assert_eq!(
            f.highlighted(),
            "bad range",
            "out-of-range highlights are ignored"
        );
    }

    #[test]
    fn serialises_with_kebab_case_ids() {
        let f = finding("kill", &[(0, 4)], false, false);
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["category"], "bullying");
        assert_eq!(v["severity"], 5);
        assert_eq!(v["kind"], "page");
        assert_eq!(v["highlights"][0]["end"], 4);
        assert!(v["exception"].is_null());
    }
}
