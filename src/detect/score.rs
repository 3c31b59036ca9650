//! Scoring: hits to a page score, a severity and an incident decision, per profile.
//!
//! Each final hit contributes its weight, multiplied by [`Thresholds::typed_multiplier`] when
//! the user typed or searched the words (what a child types says more about them than what
//! a page shows them). In [`Mode::Normal`] every occurrence counts; in [`Mode::Singular`]
//! (e2guardian's "singular" mode) each rule counts once per body, with its largest
//! contribution. Negative weights lower the score (e2guardian "good phrases") and do not
//! count towards severity. The body's severity is the highest severity of its hits.
//!
//! A body becomes an incident when any of these holds (defaults in brackets):
//! - its highest severity is at least [`Thresholds::incident_severity`] (4);
//! - a typed or searched hit has at least [`Thresholds::incident_typed_severity`] (3);
//! - its score reaches [`Thresholds::incident_score`] (150).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::finding::Finding;
use super::TextKind;
use crate::library::Severity;

/// How a body's score adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every occurrence of every rule adds its weight (the default).
    #[default]
    Normal,
    /// Each rule adds its weight once per body, however often it occurs.
    Singular,
}

/// Scoring and incident settings of a profile (see the module docs for the rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// How occurrences add up (default `normal`).
    pub mode: Mode,
    /// Weight multiplier for hits in searched or typed text, 1..=10 (default 2).
    pub typed_multiplier: i32,
    /// A body whose highest severity is at least this is an incident (default 4).
    pub incident_severity: Severity,
    /// A body with a searched or typed hit of at least this severity is an incident
    /// (default 3).
    pub incident_typed_severity: Severity,
    /// A body whose score reaches this is an incident (default 150).
    pub incident_score: i64,
    /// Findings kept per body, 1..=10000 (default 200); beyond it the least severe are
    /// counted in [`BodyVerdict::findings_dropped`] instead of kept.
    pub max_findings: usize,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            mode: Mode::Normal,
            typed_multiplier: 2,
            incident_severity: Severity::new(4).unwrap_or(Severity::MAX),
            incident_typed_severity: Severity::new(3).unwrap_or(Severity::MAX),
            incident_score: 150,
            max_findings: 200,
        }
    }
}

/// A [`Thresholds`] value out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdsError {
    /// `typed_multiplier` outside 1..=10.
    #[error("typed_multiplier {0} is outside 1..=10; use 1 to weigh typed text like page text")]
    TypedMultiplier(i32),
    /// `max_findings` outside 1..=10000.
    #[error("max_findings {0} is outside 1..=10000; the default is 200")]
    MaxFindings(usize),
}

impl Thresholds {
    /// Checks the values are within their documented ranges.
    pub fn validate(&self) -> Result<(), ThresholdsError> {
        if !(1..=10).contains(&self.typed_multiplier) {
            return Err(ThresholdsError::TypedMultiplier(self.typed_multiplier));
        }
        if !(1..=10_000).contains(&self.max_findings) {
            return Err(ThresholdsError::MaxFindings(self.max_findings));
        }
        Ok(())
    }

    /// The multiplier for a hit in text of `kind`.
    pub fn multiplier(&self, kind: TextKind) -> i32 {
        if kind.is_typed() {
            self.typed_multiplier
        } else {
            1
        }
    }
}

/// What one body (a page, a search, a form post, a message) amounts to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BodyVerdict {
    /// The findings kept (at most [`Thresholds::max_findings`], most severe kept), in body
    /// order.
    pub findings: Vec<Finding>,
    /// Findings counted but not kept because of the cap.
    pub findings_dropped: u64,
    /// Hits cancelled by an exception.
    pub cancelled: u64,
    /// The score (see the module docs).
    pub score: i64,
    /// The highest severity of a hit with a non-negative weight, if any.
    pub severity: Option<Severity>,
    /// Whether the thresholds make this body an incident.
    pub incident: bool,
    /// The page title, if extraction found one.
    pub title: Option<String>,
}

/// Running totals for one body.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    score: i64,
    /// Singular mode: each rule's largest contribution.
    per_rule: HashMap<u32, i64>,
    highest: Option<Severity>,
    highest_typed: Option<Severity>,
}

impl Tally {
    /// Adds a final hit of rule `rule`.
    pub(crate) fn add(
        &mut self,
        t: &Thresholds,
        rule: u32,
        severity: Severity,
        weight: i32,
        kind: TextKind,
    ) {
        let contribution = i64::from(weight) * i64::from(t.multiplier(kind));
        match t.mode {
            Mode::Normal => self.score = self.score.saturating_add(contribution),
            Mode::Singular => {
                let best = self.per_rule.entry(rule).or_insert(contribution);
                if contribution.abs() > best.abs() {
                    *best = contribution;
                }
            }
        }
        if weight >= 0 {
            self.highest = self.highest.max(Some(severity));
            if kind.is_typed() {
                self.highest_typed = self.highest_typed.max(Some(severity));
            }
        }
    }

    /// The score so far.
    pub(crate) fn score(&self, mode: Mode) -> i64 {
        match mode {
            Mode::Normal => self.score,
            Mode::Singular => self.per_rule.values().sum(),
        }
    }

    /// The verdict for the body.
    pub(crate) fn verdict(
        &self,
        t: &Thresholds,
        mut findings: Vec<Finding>,
        findings_dropped: u64,
        cancelled: u64,
        title: Option<String>,
    ) -> BodyVerdict {
        findings.sort_by_key(|f| f.word_index);
        let score = self.score(t.mode);
        let incident = self.highest.is_some_and(|s| s >= t.incident_severity)
            || self
                .highest_typed
                .is_some_and(|s| s >= t.incident_typed_severity)
            || score >= t.incident_score;
        BodyVerdict {
            findings,
            findings_dropped,
            cancelled,
            score,
            severity: self.highest,
            incident,
            title,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sev(n: u8) -> Severity {
        Severity::new(n).unwrap()
    }

    fn verdict(t: &Thresholds, hits: &[(u32, u8, i32, TextKind)]) -> BodyVerdict {
        let mut tally = Tally::default();
        for &(rule, s, w, k) in hits {
            tally.add(t, rule, sev(s), w, k);
        }
        tally.verdict(t, Vec::new(), 0, 0, None)
    }

    #[test]
    fn defaults_are_documented_values() {
        let t = Thresholds::default();
        assert_eq!(t.typed_multiplier, 2);
        assert_eq!(t.incident_severity.get(), 4);
        assert_eq!(t.incident_typed_severity.get(), 3);
        assert_eq!(t.incident_score, 150);
        assert_eq!(t.max_findings, 200);
        assert_eq!(t.validate(), Ok(()));
        let parsed: Thresholds = toml::from_str("mode = \"singular\"").unwrap();
        assert_eq!(parsed.mode, Mode::Singular);
        assert_eq!(parsed.typed_multiplier, 2);
        assert!(toml::from_str::<Thresholds>("typed_multiplyer = 3").is_err());
        let bad = Thresholds {
            typed_multiplier: 0,
            ..Thresholds::default()
        };
        assert_eq!(bad.validate(), Err(ThresholdsError::TypedMultiplier(0)));
    }

    #[test]
    fn normal_mode_sums_every_occurrence_and_typed_weighs_more() {
        let t = Thresholds::default();
        let v = verdict(
            &t,
            &[
                (0, 1, 5, TextKind::Page),
                (0, 1, 5, TextKind::Page),
                (1, 2, 10, TextKind::Search),
            ],
        );
        assert_eq!(v.score, 5 + 5 + 20);
        assert_eq!(v.severity, Some(sev(2)));
        assert!(!v.incident);
    }

    #[test]
    fn singular_mode_counts_each_rule_once() {
        let t = Thresholds {
            mode: Mode::Singular,
            ..Thresholds::default()
        };
        let v = verdict(
            &t,
            &[
                (0, 1, 5, TextKind::Page),
                (0, 1, 5, TextKind::Typed),
                (0, 1, 5, TextKind::Page),
                (1, 2, 10, TextKind::Page),
            ],
        );
        assert_eq!(v.score, 10 + 10, "rule 0 once, at its typed weight");
    }

    #[test]
    fn negative_weights_lower_the_score_not_the_severity() {
        let t = Thresholds::default();
        let v = verdict(
            &t,
            &[(0, 3, 25, TextKind::Page), (1, 5, -50, TextKind::Page)],
        );
        assert_eq!(v.score, -25);
        assert_eq!(v.severity, Some(sev(3)));
        assert!(!v.incident);
        assert_eq!(verdict(&t, &[]).severity, None);
    }

    #[test]
    fn incident_rules() {
        let t = Thresholds::default();
        let page = TextKind::Page;
        assert!(verdict(&t, &[(0, 4, 50, page)]).incident, "severity 4");
        assert!(
            !verdict(&t, &[(0, 3, 25, page)]).incident,
            "severity 3 on a page"
        );
        assert!(
            verdict(&t, &[(0, 3, 25, TextKind::Typed)]).incident,
            "severity 3 typed"
        );
        assert!(
            verdict(&t, &[(0, 3, 25, TextKind::Search)]).incident,
            "severity 3 searched"
        );
        let many: Vec<_> = (0..6).map(|r| (r, 3, 25, page)).collect();
        assert!(verdict(&t, &many).incident, "score 150");
        assert!(!verdict(&t, &many[..5]).incident, "score 125");
    }
}
