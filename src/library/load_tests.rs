//! Tests for [`super`]: loading, every validation rule with its file and line, checksums.

use super::*;
use crate::library::testutil::{assert_problem, write_library};
use crate::library::{update_checksum, Edge, Effect, Kind, Severity};

const VIOLENCE: &str = r#"category = "violence"

[[entry]]
id = "violence/shot"
match = "shot"
severity = 3
rationale = "Shooting."

[[entry]]
id = "violence/stab"
match = "  stab   you "
edge = "start"
severity = 4
weight = -20
lang = "en-GB"
enabled = false
rationale = "Threat."

[[combo]]
id = "violence/gonna-shoot"
all = ["going to", "shoot"]
within = 4
severity = 5
rationale = "Intent to shoot."

[[exception]]
id = "violence/shot-film"
applies_to = ["violence/shot", "weapons"]
near = ["camera", "film"]
effect = "lower"
lower_by = 3
rationale = "Filming vocabulary."
"#;

const SELF_HARM: &str = r#"category = "self-harm"

[[entry]]
id = "self-harm/cut-myself"
match = "cut myself"
severity = 5
rationale = "Direct statement of self-injury."

[[entry]]
id = "self-harm/pl-pociac"
match = "pociąć się"
lang = "pl"
severity = 5
rationale = "Polish: cut myself."

[[entry]]
id = "suicide/kms"
category = "suicide"
match = "k+ m+ s+"
kind = "regex"
severity = 4
rationale = "Algospeak for kill myself."
"#;

fn problems_of(files: &[(&str, &str)]) -> Vec<Problem> {
    match Library::from_sources("t", "1", "", files) {
        Ok(_) => panic!("expected problems"),
        Err(e) => e.problems().to_vec(),
    }
}

/// A violence file with `body` appended.
fn violence_with(body: &str) -> String {
    format!("category = \"violence\"\n{body}")
}

#[test]
fn loads_a_valid_library_with_defaults() {
    let dir = tempfile::tempdir().unwrap();
    write_library(
        dir.path(),
        &[("violence.toml", VIOLENCE), ("self-harm.toml", SELF_HARM)],
    );
    let lib = Library::load_dir(dir.path()).unwrap();
    assert_eq!(
        (lib.id(), lib.version(), lib.description()),
        ("test-lib", "2026.11.0", "unit test")
    );
    assert!(checksum::well_formed(lib.checksum()));
    assert_eq!(lib.files(), ["violence.toml", "self-harm.toml"]);
    assert_eq!(lib.entries().len(), 5);

    let shot = lib.entry("violence/shot").unwrap();
    assert_eq!(
        (shot.kind, shot.edge, shot.lang.as_str()),
        (Kind::Phrase, Edge::Word, "en")
    );
    assert_eq!(
        (shot.severity.get(), shot.weight, shot.enabled),
        (3, 25, true)
    );
    assert_eq!(shot.origin.to_string(), "violence.toml:4");

    let stab = lib.entry("violence/stab").unwrap();
    assert_eq!(stab.pattern, "stab you");
    assert_eq!(
        (stab.edge, stab.weight, stab.enabled),
        (Edge::Start, -20, false)
    );
    assert_eq!(stab.lang, "en-gb");

    let kms = lib.entry("suicide/kms").unwrap();
    assert_eq!((kms.category, kms.kind), (Category::Suicide, Kind::Regex));
    assert_eq!(lib.entry("self-harm/pl-pociac").unwrap().lang, "pl");

    let combo = lib.combo("violence/gonna-shoot").unwrap();
    assert_eq!(combo.parts, ["going to", "shoot"]);
    assert_eq!((combo.within, combo.weight), (4, 100));
    assert_eq!(combo.category, Category::Violence);

    let ex = lib.exception("violence/shot-film").unwrap();
    assert_eq!(ex.effect, Effect::Lower { by: 3 });
    assert_eq!(ex.within, 8);
    assert_eq!(
        ex.applies_to,
        [
            Target::Item("violence/shot".into()),
            Target::Category(Category::Weapons)
        ]
    );
    assert_eq!(lib.find("violence/shot-film"), Some(ItemRef::Exception(0)));
    assert_eq!(lib.find("violence/nope"), None);
    assert!(lib.audit().is_empty());
    assert_eq!(Severity::new(5), Some(lib.entries()[2].severity));
}

#[test]
fn from_sources_checksum_matches_a_written_library() {
    let dir = tempfile::tempdir().unwrap();
    let files = [("violence.toml", VIOLENCE)];
    write_library(dir.path(), &files);
    let loaded = Library::load_dir(dir.path()).unwrap();
    let built = Library::from_sources("test-lib", "2026.11.0", "", &files).unwrap();
    assert_eq!(loaded.checksum(), built.checksum());
    assert_eq!(loaded.entries(), built.entries());
}

#[test]
fn duplicate_ids_across_files_name_both_places() {
    let other = violence_with(
        "\n[[entry]]\nid = \"violence/shot\"\nmatch = \"shoot\"\nseverity = 3\nrationale = \"x\"\n",
    );
    let problems = problems_of(&[("violence.toml", VIOLENCE), ("more.toml", &other)]);
    assert_problem(
        &problems,
        "more.toml",
        4,
        "violence/shot",
        "already used at violence.toml:4",
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
}

#[test]
fn each_entry_rule_reports_file_item_and_line() {
    let body = r#"
[[entry]]
id = "weapons/knife"
match = "knife"
severity = 3
rationale = "Wrong prefix."

[[entry]]
id = "violence/zero"
match = "zero"
severity = 0
rationale = "Too low."

[[entry]]
id = "violence/empty"
match = "   "
severity = 2
rationale = "Empty match."

[[entry]]
id = "violence/bad-re"
match = "kill("
kind = "regex"
severity = 2
rationale = "Bad regex."

[[entry]]
id = "violence/heavy"
match = "heavy"
severity = 2
weight = 2000
rationale = "Weight too big."

[[entry]]
id = "violence/no-why"
match = "why"
severity = 2
rationale = " "

[[entry]]
id = "violence/lang"
match = "lang"
severity = 2
lang = "english"
rationale = "Bad lang."

[[entry]]
match = "no id"
severity = 2

[[entry]]
id = "violence/Caps"
match = "caps"
severity = 2
rationale = "Capital letter in id."

[[entry]]
id = "violence/cat"
category = "gore"
match = "gore"
severity = 2
rationale = "Unknown category."

[[entry]]
id = "violence/by"
match = "by"
severity = 2
by = "me"
rationale = "Overlay-only key."
"#;
    let problems = problems_of(&[("v.toml", &violence_with(body))]);
    assert_problem(
        &problems,
        "v.toml",
        4,
        "weapons/knife",
        "must start with `violence/` followed",
    );
    assert_problem(
        &problems,
        "v.toml",
        12,
        "violence/zero",
        "severity 0 is not within 1..=5",
    );
    assert_problem(
        &problems,
        "v.toml",
        17,
        "violence/empty",
        "`match` is empty",
    );
    assert_problem(&problems, "v.toml", 23, "violence/bad-re", "unclosed group");
    assert_problem(&problems, "v.toml", 32, "violence/heavy", "weight 2000");
    assert_problem(
        &problems,
        "v.toml",
        39,
        "violence/no-why",
        "`rationale` is empty",
    );
    assert_problem(&problems, "v.toml", 45, "violence/lang", "not a BCP 47");
    assert_problem(&problems, "v.toml", 48, "entry #8", "missing `id`");
    assert_problem(&problems, "v.toml", 48, "entry #8", "missing `rationale`");
    assert_problem(
        &problems,
        "v.toml",
        53,
        "violence/Caps",
        "no spaces or capitals",
    );
    assert_problem(
        &problems,
        "v.toml",
        60,
        "violence/cat",
        "unknown category `gore`",
    );
    assert_problem(
        &problems,
        "v.toml",
        69,
        "violence/by",
        "`by` belongs in a school overlay",
    );
    assert_eq!(problems.len(), 12, "{problems:#?}");
}

#[test]
fn combo_and_exception_rules() {
    let body = r#"
[[combo]]
id = "violence/one-part"
all = ["alone"]
severity = 3
rationale = "Too few parts."

[[combo]]
id = "violence/far"
all = ["a1", "b2"]
within = 51
severity = 3
rationale = "Too far."

[[combo]]
id = "violence/five"
all = ["a", "b", "c", "d", "e"]
within = 0
severity = 3
rationale = "Too many parts, too near."

[[exception]]
id = "violence/ghost"
applies_to = ["violence/nowhere", "films"]
near = ["camera"]
rationale = "Unknown target and category."

[[exception]]
id = "violence/bad-lower"
applies_to = ["violence"]
near = []
lower_by = 2
rationale = "lower_by without lower; no phrases."
"#;
    let problems = problems_of(&[("v.toml", &violence_with(body))]);
    assert_problem(
        &problems,
        "v.toml",
        5,
        "violence/one-part",
        "`all` has 1 phrases; give 2..=4",
    );
    assert_problem(
        &problems,
        "v.toml",
        12,
        "violence/far",
        "`within` 51 is not within 1..=50",
    );
    assert_problem(
        &problems,
        "v.toml",
        18,
        "violence/five",
        "`all` has 5 phrases",
    );
    assert_problem(&problems, "v.toml", 19, "violence/five", "`within` 0");
    assert_problem(&problems, "v.toml", 25, "violence/ghost", "names `films`");
    assert_problem(
        &problems,
        "v.toml",
        32,
        "violence/bad-lower",
        "`near` has 0 phrases",
    );
    assert_problem(
        &problems,
        "v.toml",
        33,
        "violence/bad-lower",
        "only applies with `effect",
    );
    assert_eq!(problems.len(), 7, "{problems:#?}");

    // A well-formed exception whose target does not exist fails once the library is known.
    let body = "\n[[exception]]\nid = \"violence/ghost\"\napplies_to = [\"violence/nowhere\"]\n\
                near = [\"camera\"]\nrationale = \"x\"\n";
    let problems = problems_of(&[("v.toml", &violence_with(body))]);
    assert_problem(
        &problems,
        "v.toml",
        4,
        "violence/ghost",
        "`violence/nowhere`, which is not an entry",
    );
}

#[test]
fn toml_errors_unknown_keys_and_missing_category_have_lines() {
    let problems = problems_of(&[(
        "v.toml",
        "category = \"violence\"\n\n[[entry]]\nid = \"violence/x\"\nmatches = \"x\"\n",
    )]);
    assert_problem(&problems, "v.toml", 5, "file", "unknown field `matches`");
    let problems = problems_of(&[("v.toml", "category = \"violence\"\n[[entry]\n")]);
    assert_problem(&problems, "v.toml", 2, "file", "check the TOML syntax");
    let problems = problems_of(&[(
        "v.toml",
        "[[entry]]\nid = \"violence/x\"\nmatch = \"x\"\nseverity = 1\nrationale = \"r\"\n",
    )]);
    assert_problem(
        &problems,
        "v.toml",
        1,
        "file",
        "missing top-level `category",
    );
    let problems = problems_of(&[("v.toml", "category = \"violense\"\n")]);
    assert_problem(
        &problems,
        "v.toml",
        1,
        "file",
        "unknown category `violense`",
    );
}

#[test]
fn manifest_problems_name_the_manifest_line() {
    let dir = tempfile::tempdir().unwrap();
    write_library(dir.path(), &[("violence.toml", VIOLENCE)]);
    std::fs::write(
        dir.path().join("library.toml"),
        "[library]\nid = \"t\"\nversion = \"1\"\nfiles = [\n  \"violence.toml\",\n  \"missing.toml\",\n  \"../x.toml\",\n]\nchecksum = \"sha256:00\"\n",
    )
    .unwrap();
    let err = Library::load_dir(dir.path()).unwrap_err();
    assert_problem(
        err.problems(),
        "library.toml",
        7,
        "library",
        "plain `.toml` file name",
    );
    let dir2 = tempfile::tempdir().unwrap();
    std::fs::write(
        dir2.path().join("library.toml"),
        "[library]\nid = \"t\"\nversion = \"1\"\nfiles = [\"missing.toml\"]\n",
    )
    .unwrap();
    let err = Library::load_dir(dir2.path()).unwrap_err();
    assert_problem(
        err.problems(),
        "library.toml",
        4,
        "library",
        "does not exist",
    );
    let err = Library::load_dir(&dir2.path().join("nowhere")).unwrap_err();
    assert!(matches!(err, LibraryError::Read { .. }), "{err}");
}

#[test]
fn checksum_mismatch_then_update_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    write_library(
        dir.path(),
        &[("violence.toml", VIOLENCE), ("self-harm.toml", SELF_HARM)],
    );
    let manifest_before = std::fs::read_to_string(dir.path().join(MANIFEST)).unwrap();
    let edited = VIOLENCE.replace("match = \"shot\"", "match = \"shots\"");
    std::fs::write(dir.path().join("violence.toml"), &edited).unwrap();

    let err = Library::load_dir(dir.path()).unwrap_err();
    let LibraryError::Checksum { computed, .. } = &err else {
        panic!("expected a checksum error, got {err}");
    };
    let text = err.to_string();
    assert!(text.contains(computed.as_str()), "{text}");
    assert!(
        text.contains("gatewatch library check --update-checksum"),
        "{text}"
    );

    let updated = update_checksum(dir.path()).unwrap();
    assert_eq!(&updated, computed);
    let manifest_after = std::fs::read_to_string(dir.path().join(MANIFEST)).unwrap();
    let changed: Vec<_> = manifest_before
        .lines()
        .zip(manifest_after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 1, "{manifest_after}");
    assert_eq!(changed[0].1, format!("checksum = \"{updated}\"  # keep me"));
    assert_eq!(
        manifest_before.lines().count(),
        manifest_after.lines().count()
    );
    let lib = Library::load_dir(dir.path()).unwrap();
    assert_eq!(lib.checksum(), updated);
    assert_eq!(lib.entry("violence/shot").unwrap().pattern, "shots");
}

#[test]
fn missing_checksum_is_a_problem_and_update_adds_it() {
    let dir = tempfile::tempdir().unwrap();
    write_library(dir.path(), &[("violence.toml", VIOLENCE)]);
    let path = dir.path().join(MANIFEST);
    let without: String = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("checksum"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, without).unwrap();
    let err = Library::load_dir(dir.path()).unwrap_err();
    assert_problem(
        err.problems(),
        "library.toml",
        1,
        "library",
        "missing `checksum`",
    );
    update_checksum(dir.path()).unwrap();
    assert!(Library::load_dir(dir.path()).is_ok());
}

/// The shipped starter library loads (checksum included), every category has enabled entries,
/// suicide and self-harm cover the languages the issue names, and the shipped example overlay
/// applies to it.
#[test]
fn starter_library_loads_and_covers_every_category() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("libraries");
    let mut lib = Library::load_dir(&root.join("starter")).unwrap_or_else(|e| panic!("{e}"));
    let report = lib.check_report();
    let empty: Vec<_> = report
        .categories
        .iter()
        .filter(|r| r.enabled == 0)
        .map(|r| r.category.id())
        .collect();
    assert!(
        empty.is_empty(),
        "categories without enabled entries: {empty:?}"
    );
    for category in [Category::Suicide, Category::SelfHarm] {
        for lang in ["en", "cy", "pl", "ur", "ar", "ro", "es"] {
            let n = lib
                .entries()
                .iter()
                .filter(|e| e.enabled && e.category == category && e.lang == lang)
                .count();
            assert!(n > 0, "{category} has no `{lang}` entries");
        }
    }
    let overlay = crate::library::Overlay::load(&root.join("school-overlay.example.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    lib.apply_overlay(&overlay)
        .unwrap_or_else(|e| panic!("{e}"));
}
