//! Tests for [`super`]: overlay validation, application and the audit trail.

use super::*;
use crate::library::testutil::assert_problem;
use crate::library::Category;

const LIBRARY: &str = r#"category = "violence"

[[entry]]
id = "violence/shot"
match = "shot"
severity = 3
rationale = "Shooting."

[[entry]]
id = "violence/heavy"
match = "heavy"
severity = 2
weight = 40
rationale = "Explicit weight."

[[combo]]
id = "violence/gonna-shoot"
all = ["going to", "shoot"]
severity = 5
rationale = "Intent."

[[exception]]
id = "violence/shot-film"
applies_to = ["violence/shot"]
near = ["camera"]
rationale = "Filming."
"#;

const OVERLAY: &str = r#"[overlay]
school = "Example Academy"
version = "3"

[[add]]
id = "school/local-gang"
match = "northside crew"
category = "violence"
severity = 4
rationale = "Local gang name reported by police liaison."
by = "j.smith"
date = "2026-11-19"

[[disable]]
id = "violence/shot"
reason = "Media studies department; too many false positives."
by = "j.smith (network manager)"
date = "2026-11-20"

[[regrade]]
id = "violence/gonna-shoot"
severity = 4
reason = "Matches game chat too often."
by = "a.khan (DSL)"
date = "2026-11-21"

[[regrade]]
id = "violence/heavy"
severity = 4
reason = "Raise."
by = "a.khan (DSL)"
date = "2026-11-21"
"#;

fn library() -> Library {
    Library::from_sources("central", "2026.11.0", "", &[("violence.toml", LIBRARY)]).unwrap()
}

fn overlay(src: &str) -> Result<Overlay, LibraryError> {
    Overlay::parse(Path::new("school-overlay.toml"), src)
}

#[test]
fn applies_adds_disables_and_regrades_with_an_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("school-overlay.toml");
    std::fs::write(&path, OVERLAY).unwrap();
    let ov = Overlay::load(&path).unwrap();
    assert_eq!(
        (ov.school.as_str(), ov.version.as_str()),
        ("Example Academy", "3")
    );
    let mut lib = library();
    lib.apply_overlay(&ov).unwrap();

    let added = lib.entry("school/local-gang").unwrap();
    assert_eq!(
        (added.category, added.severity.get(), added.weight),
        (Category::Violence, 4, 50)
    );
    assert!(added.origin.file.ends_with("school-overlay.toml"));
    assert_eq!(added.origin.line, 6);
    assert!(!lib.entry("violence/shot").unwrap().enabled);
    let combo = lib.combo("violence/gonna-shoot").unwrap();
    assert_eq!((combo.severity.get(), combo.weight), (4, 50));
    let heavy = lib.entry("violence/heavy").unwrap();
    assert_eq!(
        (heavy.severity.get(), heavy.weight),
        (4, 40),
        "explicit weight is kept"
    );

    let audit: Vec<_> = lib
        .audit()
        .iter()
        .map(|c| {
            (
                c.kind,
                c.id.as_str(),
                c.old_severity.map(|s| s.get()),
                c.new_severity.map(|s| s.get()),
            )
        })
        .collect();
    assert_eq!(
        audit,
        vec![
            (ChangeKind::Add, "school/local-gang", None, Some(4)),
            (ChangeKind::Disable, "violence/shot", None, None),
            (
                ChangeKind::Regrade,
                "violence/gonna-shoot",
                Some(5),
                Some(4)
            ),
            (ChangeKind::Regrade, "violence/heavy", Some(2), Some(4)),
        ]
    );
    let disable = &lib.audit()[1];
    assert_eq!(
        disable.reason,
        "Media studies department; too many false positives."
    );
    assert_eq!(disable.by.as_deref(), Some("j.smith (network manager)"));
    assert_eq!(disable.date.as_deref(), Some("2026-11-20"));
    assert_eq!(
        (disable.school.as_str(), disable.overlay_version.as_str()),
        ("Example Academy", "3")
    );
    assert_eq!(disable.origin.line, 15);

    let report = lib.check_report().to_string();
    assert!(
        report.contains("regrade violence/gonna-shoot 5 -> 4 by a.khan (DSL) on 2026-11-21"),
        "{report}"
    );
    assert!(lib
        .enabled_patterns()
        .iter()
        .all(|p| p.id != "violence/shot"));
}

#[test]
fn unknown_targets_fail_and_leave_the_library_unchanged() {
    let src = r#"[overlay]
school = "X"
version = "1"

[[add]]
id = "school/new"
match = "new"
category = "bullying"
severity = 2
rationale = "New term."

[[disable]]
id = "violence/shoot"
reason = "Typo in id."
by = "me"
date = "2026-11-20"

[[regrade]]
id = "violence/shot-film"
severity = 2
reason = "Exceptions have no severity."
by = "me"
date = "2026-11-20"
"#;
    let ov = overlay(src).unwrap();
    let mut lib = library();
    let err = lib.apply_overlay(&ov).unwrap_err();
    let problems = err.problems();
    assert_problem(
        problems,
        "school-overlay.toml",
        13,
        "violence/shoot",
        "is not in library central 2026.11.0",
    );
    assert_problem(
        problems,
        "school-overlay.toml",
        19,
        "violence/shot-film",
        "is an exception",
    );
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(lib.entry("school/new").is_none(), "nothing applied");
    assert!(lib.audit().is_empty());

    // Adding an id twice (here: applying the same overlay again) fails too.
    let ok = overlay(OVERLAY).unwrap();
    lib.apply_overlay(&ok).unwrap();
    let err = lib.apply_overlay(&ok).unwrap_err();
    assert_problem(
        err.problems(),
        "school-overlay.toml",
        6,
        "school/local-gang",
        "already exists",
    );
}

#[test]
fn overlay_validation_rules() {
    let src = r#"[overlay]
school = "X"

[[add]]
id = "violence/not-school"
match = "x"
category = "violence"
severity = 2
rationale = "Wrong prefix."

[[add]]
id = "school/no-category"
match = "y"
severity = 2
rationale = "No category."

[[disable]]
id = "violence/shot"
reason = ""
by = "me"
date = "2026-02-30"

[[regrade]]
id = "violence/heavy"
severity = 6
by = "me"
date = "2026-11-20"

[[disable]]
id = "violence/heavy"
severity = 2
reason = "r"
by = "me"
date = "2026-11-20"
"#;
    let problems = overlay(src).unwrap_err().problems().to_vec();
    let f = "school-overlay.toml";
    assert_problem(&problems, f, 1, "overlay", "missing `version`");
    assert_problem(
        &problems,
        f,
        5,
        "violence/not-school",
        "must start with `school/`",
    );
    assert_problem(&problems, f, 12, "school/no-category", "missing `category`");
    assert_problem(&problems, f, 19, "violence/shot", "`reason` is empty");
    assert_problem(
        &problems,
        f,
        21,
        "violence/shot",
        "`2026-02-30` is not a calendar date",
    );
    assert_problem(&problems, f, 25, "violence/heavy", "severity 6");
    assert_problem(&problems, f, 24, "violence/heavy", "missing `reason`");
    assert_problem(
        &problems,
        f,
        31,
        "violence/heavy",
        "belongs in a [[regrade]]",
    );
    assert_eq!(problems.len(), 8, "{problems:#?}");
}

#[test]
fn dates_must_be_real_calendar_dates() {
    assert!(valid_date("2026-11-20"));
    assert!(valid_date("2024-02-29"));
    for bad in [
        "2026-13-01",
        "2025-02-29",
        "2026-1-20",
        "20261120xx",
        "2026-11-2x",
        "+026-11-20",
    ] {
        assert!(!valid_date(bad), "{bad}");
    }
}

#[test]
fn shipped_example_overlay_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("libraries/school-overlay.example.toml");
    let ov = Overlay::load(&path).unwrap();
    assert_eq!(ov.school, "Example Academy");
    assert!(ov.adds.iter().all(|e| e.id.starts_with("school/")));
    let kinds: Vec<ChangeKind> = ov.changes.iter().map(|c| c.kind).collect();
    assert!(kinds.contains(&ChangeKind::Add));
    assert!(kinds.contains(&ChangeKind::Disable));
    assert!(kinds.contains(&ChangeKind::Regrade));
}
