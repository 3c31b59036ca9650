//! Imports the e2guardian phrase lists Debian ships (kept beside the repository in
//! `../shared/data/e2guardian-phraselists`, never copied into it): every list file imports or
//! is skipped with a recorded reason, the result validates as a gatewatch library, and the
//! counts per file and category, the import time and the pattern count are printed
//! (`cargo test --test library_import -- --nocapture`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gatewatch::library::import::{import_e2guardian, ListKind, SkipReason};
use gatewatch::library::{Category, Library};

/// The shared lists, relative to the crate root.
const LISTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/e2guardian-phraselists"
);

/// The lists directory, or `None` (with the reason printed) when it is absent outside CI.
fn lists() -> Option<PathBuf> {
    let dir = PathBuf::from(LISTS);
    if dir.is_dir() {
        return Some(dir);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        !ci,
        "{LISTS} is missing; CI checks the shared data out beside the repository"
    );
    eprintln!("skipped: {LISTS} is absent (the shared e2guardian lists are not beside the repo)");
    None
}

/// Every file under `dir`, relative and `/`-separated, skipping hidden ones.
fn all_files(dir: &Path, base: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            all_files(&path, base, out);
        } else {
            let rel = path.strip_prefix(base).unwrap();
            out.insert(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn every_shipped_e2guardian_list_imports_or_is_skipped_with_a_reason() {
    let Some(dir) = lists() else { return };
    let out = tempfile::tempdir().unwrap();
    let import = import_e2guardian(&dir, Some(out.path())).unwrap();
    let report = &import.report;
    println!("{report}");
    println!(
        "import took {:.3} s; {} entries, {} combos, {} patterns for the matcher to compile",
        report.elapsed.as_secs_f64(),
        report.entries(),
        report.combos(),
        report.patterns
    );

    // Every file is accounted for: imported from, or skipped with a reason.
    let mut on_disk = BTreeSet::new();
    all_files(&dir, &dir, &mut on_disk);
    let reported: BTreeSet<String> = report.files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(reported, on_disk, "every file appears in the report");
    assert!(
        on_disk.len() >= 130,
        "expected the full Debian set, found {}",
        on_disk.len()
    );
    for f in &report.files {
        let imported = f.entries + f.combos;
        assert!(
            imported > 0 || f.skipped_because.is_some(),
            "{} imported nothing and says no reason",
            f.path
        );
        if f.list != ListKind::NotAList {
            let lines = std::fs::read(dir.join(&f.path)).unwrap();
            let n = lines.split(|b| *b == b'\n').count() - usize::from(lines.ends_with(b"\n"));
            assert_eq!(f.lines, n, "{}: every line read", f.path);
        }
    }
    assert_eq!(report.file("ORIGIN.md").unwrap().list, ListKind::NotAList);

    // The library validates exactly as `gatewatch library check` would, from memory and from
    // the written directory.
    let files: Vec<(&str, &str)> = import
        .files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let from_sources =
        Library::from_sources(report.library_id.as_str(), &report.version, "", &files).unwrap();
    assert_eq!(from_sources.checksum(), report.checksum);
    let loaded = Library::load_dir(out.path()).unwrap();
    assert_eq!(loaded.entries().len(), report.entries());
    assert_eq!(loaded.combos().len(), report.combos());

    // What a safeguarding import of these lists must contain.
    let categories: BTreeSet<Category> = report.categories.iter().map(|c| c.category).collect();
    for c in [
        Category::Pornography,
        Category::Drugs,
        Category::Gambling,
        Category::Violence,
        Category::Weapons,
        Category::HateSpeech,
        Category::Bullying,
    ] {
        assert!(categories.contains(&c), "no {c} items imported");
    }
    assert!(report.entries() > 5_000, "{} entries", report.entries());
    assert!(report.combos() > 1_000, "{} combos", report.combos());
    assert!(loaded.entries().iter().all(|e| e.severity.get() <= 4));
    assert!(loaded.entries().iter().any(|e| e.weight < 0));

    // Skips by reason: productivity lists, duplicates shipped twice, exception lists.
    let skipped = report.skipped();
    for reason in [
        SkipReason::NoSafeguardingCategory,
        SkipReason::Duplicate,
        SkipReason::ExceptionPhrase,
        SkipReason::GoodPhrase,
        SkipReason::Malformed,
        SkipReason::ComboParts,
    ] {
        assert!(
            skipped.get(&reason).copied().unwrap_or(0) > 0,
            "no {reason:?} skips"
        );
    }
    let sport = report.file("sport/weighted").unwrap();
    assert_eq!(sport.entries + sport.combos, 0);
    assert!(sport
        .skipped_because
        .as_deref()
        .unwrap()
        .contains("no safeguarding"));

    // Known lines of the shipped lists, each through its rule.
    let porn = report.file("pornography/weighted").unwrap();
    assert!(porn.entries > 1_000 && porn.combos > 500, "{porn:?}");
    assert!(porn
        .problems
        .iter()
        .any(|p| p.line == 1935 && p.reason == SkipReason::Malformed));
    let french = report.file("badwords/weighted_french").unwrap();
    let bytes = std::fs::read(dir.join("badwords/weighted_french")).unwrap();
    let not_utf8 = bytes
        .split(|b| *b == b'\n')
        .filter(|l| std::str::from_utf8(l).is_err())
        .count();
    assert!(not_utf8 > 0);
    assert_eq!(french.legacy_lines.get("windows-1252"), Some(&not_utf8));
    assert_eq!(french.categories, vec![Category::Bullying]);
    // Lists Debian ships in a legacy encoding and again in UTF-8 decode to the same phrases:
    // the UTF-8 copies (read later) add nothing.
    for utf8_copy in [
        "pornography/weighted_russian_utf8",
        "chinesegb2312/pornography/weighted",
        "pornography/weighted_japanese",
    ] {
        let f = report.file(utf8_copy).unwrap();
        assert_eq!(f.entries + f.combos, 0, "{utf8_copy}: {f:?}");
        assert!(f.skipped[&SkipReason::Duplicate] > 0, "{utf8_copy}");
    }
    // Named only "russian": sniffed between KOI8-R (tried first) and Windows-1251.
    let ru = report.file("pornography/weighted_russian").unwrap();
    assert_eq!(
        ru.legacy_lines.keys().collect::<Vec<_>>(),
        ["windows-1251"],
        "{ru:?}"
    );
    let koi8 = report.file("russian-koi8-r/pornography/weighted").unwrap();
    assert_eq!(
        koi8.legacy_lines.keys().collect::<Vec<_>>(),
        ["KOI8-R"],
        "{koi8:?}"
    );
    let ja = report.file("pornography/weighted_japanese").unwrap();
    assert!(ja.legacy_lines.contains_key("Shift_JIS") && ja.legacy_lines.contains_key("EUC-JP"));
    let polish = report.file("polish/pornography/weighted").unwrap();
    assert!(polish.entries > 0 && polish.legacy_lines.is_empty());
    let find = |p: &str| loaded.entries().iter().find(|e| e.pattern == p);
    let encule = find("enculé").expect("French Windows-1252 decoded");
    assert_eq!(
        (encule.lang.as_str(), encule.category),
        ("fr", Category::Bullying)
    );
    assert!(find("проститутки").is_some(), "Russian KOI8-R decoded");
    assert!(find("少女").is_some(), "Japanese decoded");
    // The directory decides over a wrong header: this list says "IllegalDrugs" but holds
    // supremacist phrases (already imported from intolerance/banned_portuguese).
    let intolerance = report.file("portuguese/intolerance/banned").unwrap();
    assert_eq!(intolerance.headers, ["IllegalDrugs (Portuguese)"]);
    assert!(intolerance.categories.is_empty());
    assert!(intolerance.skipped[&SkipReason::Duplicate] > 0);
    let supremacy: Vec<_> = loaded
        .entries()
        .iter()
        .filter(|e| e.pattern.contains("supremacia"))
        .collect();
    assert!(!supremacy.is_empty());
    assert!(supremacy.iter().all(|e| e.category == Category::HateSpeech));
}

#[test]
fn the_import_is_deterministic() {
    let Some(dir) = lists() else { return };
    let a = import_e2guardian(&dir, None).unwrap();
    let b = import_e2guardian(&dir, None).unwrap();
    assert_eq!(a.report.checksum, b.report.checksum);
    assert_eq!(a.manifest, b.manifest);
}
