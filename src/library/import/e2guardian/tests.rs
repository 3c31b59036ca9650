//! Tests of each e2guardian import rule, on small list trees written to a temporary directory.

use encoding_rs::{Encoding, BIG5, EUC_JP, KOI8_R, SHIFT_JIS, WINDOWS_1251};

use super::*;
use crate::library::{Combo, Edge, Entry, Library};

/// Writes `files` under a temporary directory.
fn tree(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    dir
}

fn import_with(files: &[(&str, &[u8])], options: &E2guardianOptions) -> Import {
    let dir = tree(files);
    import_e2guardian_with(dir.path(), None, options).unwrap()
}

fn import(files: &[(&str, &[u8])]) -> Import {
    import_with(files, &E2guardianOptions::default())
}

fn entry<'a>(lib: &'a Library, pattern: &str) -> &'a Entry {
    lib.entries()
        .iter()
        .find(|e| e.pattern == pattern)
        .unwrap_or_else(|| panic!("no entry {pattern:?} in {:#?}", lib.entries()))
}

fn combo<'a>(lib: &'a Library, first: &str) -> &'a Combo {
    lib.combos()
        .iter()
        .find(|c| c.parts[0] == first)
        .unwrap_or_else(|| panic!("no combo {first:?} in {:#?}", lib.combos()))
}

fn encode(enc: &'static Encoding, s: &str) -> Vec<u8> {
    enc.encode(s).0.into_owned()
}

#[test]
fn each_edge_form_maps_to_a_gatewatch_edge() {
    let i = import(&[(
        "pornography/weighted",
        b"< anal ><20>\n< boob><10>\n<phile ><30>\n<xxx><40>\n",
    )]);
    let lib = &i.library;
    let got: Vec<_> = ["anal", "boob", "phile", "xxx"]
        .iter()
        .map(|p| {
            let e = entry(lib, p);
            (e.edge, e.severity.get(), e.weight, e.category)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (Edge::Word, 2, 20, Category::Pornography),
            (Edge::Start, 1, 10, Category::Pornography),
            (Edge::Substring, 2, 30, Category::Pornography),
            (Edge::Substring, 2, 40, Category::Pornography),
        ]
    );
    let file = i.report.file("pornography/weighted").unwrap();
    assert_eq!(file.notes[&Note::EndEdgeWidened], 1);
    assert_eq!(file.entries, 4);
    let anal = entry(lib, "anal");
    assert!(anal.id.starts_with("pornography/e2g-anal-"), "{}", anal.id);
    assert_eq!(
        anal.rationale,
        "Imported from e2guardian pornography/weighted:1 (weight 20)."
    );
}

#[test]
fn combinations_become_combos_within_fifty_words() {
    let i = import(&[(
        "pornography/weighted",
        b"< anal >,< porn><70>\n< bbw >,< bbw >,< xxx ><40>\n\
          <a1>,<a2>,<a3>,<a4>,<a5><50>\n<x1>,<x1><30>\n< bdsm >,< xxx><100>\n",
    )]);
    let lib = &i.library;
    let c = combo(lib, "anal");
    assert_eq!(c.parts, vec!["anal", "porn"]);
    assert_eq!((c.within, c.severity.get(), c.weight), (50, 3, 70));
    assert_eq!(combo(lib, "bbw").parts, vec!["bbw", "xxx"]);
    assert_eq!(combo(lib, "bdsm").severity.get(), 4);
    assert_eq!(lib.combos().len(), 3);
    let file = i.report.file("pornography/weighted").unwrap();
    assert_eq!(file.combos, 3);
    assert_eq!(file.notes[&Note::ComboPartWholeWord], 2);
    assert_eq!(file.notes[&Note::ComboPartsMerged], 1);
    assert_eq!(file.skipped[&SkipReason::ComboParts], 2);
    let lines: Vec<usize> = file.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![3, 4]);
    assert!(file.problems[0].detail.contains("5 distinct parts"));
}

#[test]
fn negative_weights_are_kept_at_severity_one() {
    let i = import(&[(
        "ukenglish/pornography/weighted",
        b"<sex education><-30>\n<porn><20>\n<breast cancer><-1500>\n",
    )]);
    let e = entry(&i.library, "sex education");
    assert_eq!(
        (e.weight, e.severity.get(), e.lang.as_str()),
        (-30, 1, "en-gb")
    );
    assert_eq!(entry(&i.library, "breast cancer").weight, -1000);
    let file = i.report.file("ukenglish/pornography/weighted").unwrap();
    assert_eq!(file.negative, 2);
    assert_eq!(file.notes[&Note::WeightClamped], 1);
    assert_eq!(i.report.categories[0].negative, 2);
}

#[test]
fn percentage_weights_use_the_naughtiness_limit() {
    let files: &[(&str, &[u8])] = &[("weapons/weighted", b"<gun><50%>\n<rifle><-20%>\n<ak><1%>\n")];
    let i = import(files);
    assert_eq!(entry(&i.library, "gun").weight, 25);
    assert_eq!(entry(&i.library, "rifle").weight, -10);
    let file = i.report.file("weapons/weighted").unwrap();
    assert_eq!(file.notes[&Note::PercentWeight], 2);
    assert_eq!(file.skipped[&SkipReason::ZeroWeight], 1);
    assert!(entry(&i.library, "gun")
        .rationale
        .contains("50% of naughtiness limit 50 = weight 25"));
    let options = E2guardianOptions {
        naughtiness_limit: 160,
        ..E2guardianOptions::default()
    };
    let i = import_with(files, &options);
    let gun = entry(&i.library, "gun");
    assert_eq!((gun.weight, gun.severity.get()), (80, 3));
    assert_eq!(entry(&i.library, "ak").weight, 1);
}

#[test]
fn includes_are_read_in_place_by_the_tail_of_their_path() {
    let i = import(&[
        (
            "weightedphraselist",
            b"#listcategory: \"Weapons\"\n\
              .Include</etc/e2guardian/lists/phraselists/illegaldrugs/weighted>\n\
              .Include</etc/e2guardian/lists/phraselists/local/weighted>\n\
              .Include</etc/e2guardian/lists/phraselists/missing/weighted>\n\
              .Include<weightedphraselist>\n",
        ),
        ("phraselists/illegaldrugs/weighted", b"< cocaine ><50>\n"),
        ("phraselists/local/weighted", b"< zombie knife ><100>\n"),
    ]);
    let lib = &i.library;
    assert_eq!(entry(lib, "cocaine").category, Category::Drugs);
    // No topic directory and no header of its own: the includer's header applies.
    assert_eq!(entry(lib, "zombie knife").category, Category::Weapons);
    let paths: Vec<&str> = i.report.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "weightedphraselist",
            "phraselists/illegaldrugs/weighted",
            "phraselists/local/weighted"
        ]
    );
    let top = &i.report.files[0];
    assert_eq!(top.skipped[&SkipReason::BadInclude], 2);
    assert!(
        top.problems[0].detail.contains("not found"),
        "{:?}",
        top.problems
    );
    assert_eq!(top.problems[0].line, 4);
    assert!(
        top.problems[1].detail.contains("circular"),
        "{:?}",
        top.problems
    );
    assert_eq!(
        i.report.files[1].included_from.as_deref(),
        Some("weightedphraselist")
    );
}

#[test]
fn listcategory_decides_only_without_a_topic_directory() {
    let i = import(&[
        (
            "custom/weighted",
            b"#listcategory: \"Illegal Drugs\"\n< spliff ><60>\n\
              #listcategory: \"Sport\"\n< football ><30>\n\
              #listcategory: \"Made Up\"\n< thing ><30>\n",
        ),
        (
            "intolerance/banned",
            b"#listcategory: \"IllegalDrugs (Portuguese)\"\n< supremacia da raca branca>\n",
        ),
        ("loose", b"< nothing ><10>\n"),
    ]);
    let lib = &i.library;
    assert_eq!(entry(lib, "spliff").category, Category::Drugs);
    assert_eq!(
        entry(lib, "supremacia da raca branca").category,
        Category::HateSpeech
    );
    // Language from the header when the path names none.
    assert_eq!(entry(lib, "supremacia da raca branca").lang, "pt");
    let custom = i.report.file("custom/weighted").unwrap();
    assert_eq!(custom.headers, vec!["Illegal Drugs", "Sport", "Made Up"]);
    assert_eq!(custom.skipped[&SkipReason::NoSafeguardingCategory], 1);
    assert_eq!(custom.skipped[&SkipReason::UnknownCategory], 1);
    let loose = i.report.file("loose").unwrap();
    assert_eq!(loose.skipped[&SkipReason::UnknownCategory], 1);
    assert!(loose
        .skipped_because
        .as_deref()
        .unwrap()
        .contains("no category"));
}

#[test]
fn comments_blanks_directives_and_malformed_lines() {
    let i = import(&[(
        "badwords/weighted_french",
        b"#\n# French Swear Words\n\n#noconvert\n\
          < merde ><50> # shit\n\
          <incest rape<50>\n\
          < nakna brdar > <40>\n\
          <x><10> trailing words\n\
          just text\n\
          <...><20>\n",
    )]);
    let lib = &i.library;
    assert_eq!(lib.entries().len(), 3);
    let merde = entry(lib, "merde");
    assert_eq!(
        (merde.category, merde.lang.as_str()),
        (Category::Bullying, "fr")
    );
    assert_eq!(entry(lib, "nakna brdar").weight, 40);
    let file = i.report.file("badwords/weighted_french").unwrap();
    assert_eq!(file.lines, 10);
    assert_eq!(file.notes[&Note::DirectiveIgnored], 1);
    assert_eq!(file.notes[&Note::LooseSpacing], 1);
    assert_eq!(file.notes[&Note::TrailingText], 1);
    assert_eq!(file.skipped[&SkipReason::Malformed], 2);
    assert_eq!(file.skipped[&SkipReason::NotAPhrase], 1);
    let problems: Vec<(usize, SkipReason)> =
        file.problems.iter().map(|p| (p.line, p.reason)).collect();
    assert_eq!(
        problems,
        vec![
            (6, SkipReason::Malformed),
            (9, SkipReason::Malformed),
            (10, SkipReason::NotAPhrase)
        ]
    );
    assert!(file.problems[0].detail.contains("`<incest rape<50>`"));
    let text = i.report.to_string();
    assert!(
        text.contains("badwords/weighted_french:6: malformed line"),
        "{text}"
    );
}

#[test]
fn legacy_encodings_are_decoded_from_the_list_language() {
    let mut ja = encode(SHIFT_JIS, "<少女><50> #girl\n");
    ja.extend(encode(EUC_JP, "<少女><50>\n<裸体><20>\n"));
    ja.extend("<胸><10> breast\n".as_bytes());
    let mut ru = encode(KOI8_R, "<проститутки><50>\n");
    ru.extend(encode(WINDOWS_1251, "<анальный секс><120>\n"));
    let i = import(&[
        ("badwords/weighted_french", b"< encul\xe9 ><70>\n"),
        (
            "chinesebig5/pornography/weighted",
            &encode(BIG5, "<色情><40>\n"),
        ),
        (
            "russian-koi8-r/pornography/weighted",
            &encode(KOI8_R, "<порно><40>\n"),
        ),
        (
            "russian-1251/pornography/weighted",
            &encode(WINDOWS_1251, "<фото><5>\n"),
        ),
        ("pornography/weighted_russian", &ru),
        ("pornography/weighted_japanese", &ja),
        (
            "polish/pornography/weighted",
            "\u{feff}<ściśle><30>\n".as_bytes(),
        ),
    ]);
    let lib = &i.library;
    assert_eq!(entry(lib, "enculé").lang, "fr");
    assert_eq!(entry(lib, "色情").lang, "zh");
    assert_eq!(entry(lib, "порно").lang, "ru");
    assert_eq!(entry(lib, "фото").weight, 5);
    assert_eq!(entry(lib, "проститутки").weight, 50);
    assert_eq!(entry(lib, "анальный секс").severity.get(), 4);
    assert_eq!(entry(lib, "少女").lang, "ja");
    assert_eq!(entry(lib, "裸体").weight, 20);
    assert_eq!(entry(lib, "胸").weight, 10);
    assert_eq!(entry(lib, "ściśle").lang, "pl");
    let legacy = |p: &str| i.report.file(p).unwrap().legacy_lines.clone();
    assert_eq!(legacy("badwords/weighted_french")["windows-1252"], 1);
    assert_eq!(legacy("chinesebig5/pornography/weighted")["Big5"], 1);
    let ru = legacy("pornography/weighted_russian");
    assert_eq!((ru["KOI8-R"], ru["windows-1251"]), (1, 1));
    let ja = legacy("pornography/weighted_japanese");
    assert_eq!((ja["Shift_JIS"], ja["EUC-JP"]), (1, 2));
    let ja_file = i.report.file("pornography/weighted_japanese").unwrap();
    assert_eq!(ja_file.skipped[&SkipReason::Duplicate], 1);
    assert!(legacy("polish/pornography/weighted").is_empty());
}

#[test]
fn banned_exception_and_good_phrase_lists() {
    let files: &[(&str, &[u8])] = &[
        (
            "gambling/banned",
            b"#listcategory: \"Gambling\"\n< lotto >\n< casino ><30>\n",
        ),
        ("music/weighted", b"<disk jockey>\n"),
        ("ukenglish/pornography/weighted", b"< arse bandit>\n"),
        (
            "goodphrases/exception",
            b"<folder: inbox>\n<hotmail>,<inbox>\n",
        ),
        (
            "goodphrases/weighted_general",
            b"<sex education><-30>\n<news>,<report><-50>\n",
        ),
    ];
    let i = import(files);
    let lotto = entry(&i.library, "lotto");
    assert_eq!((lotto.severity.get(), lotto.weight), (4, 1000));
    assert_eq!(entry(&i.library, "casino").weight, 30);
    let bandit = entry(&i.library, "arse bandit");
    assert_eq!((bandit.severity.get(), bandit.weight), (4, 1000));
    let weighted = i.report.file("ukenglish/pornography/weighted").unwrap();
    assert_eq!(weighted.notes[&Note::UnweightedInWeightedList], 1);
    assert_eq!(
        i.report.file("gambling/banned").unwrap().list,
        ListKind::Banned
    );
    let exception = i.report.file("goodphrases/exception").unwrap();
    assert_eq!(exception.list, ListKind::Exception);
    assert_eq!(exception.skipped[&SkipReason::ExceptionPhrase], 2);
    assert!(exception
        .skipped_because
        .as_deref()
        .unwrap()
        .contains("exempts"));
    let good = i.report.file("goodphrases/weighted_general").unwrap();
    assert_eq!(good.skipped[&SkipReason::GoodPhrase], 2);
    assert!(i.library.entries().iter().all(|e| e.weight > 0));
    let music = i.report.file("music/weighted").unwrap();
    assert_eq!(
        music.skipped_because.as_deref(),
        Some("music: no safeguarding category")
    );

    let options = E2guardianOptions {
        good_phrases: Some(Category::Pornography),
        ..E2guardianOptions::default()
    };
    let i = import_with(files, &options);
    let e = entry(&i.library, "sex education");
    assert_eq!(
        (e.category, e.weight, e.severity.get()),
        (Category::Pornography, -30, 1)
    );
    assert_eq!(combo(&i.library, "news").weight, -50);
    let exception = i.report.file("goodphrases/exception").unwrap();
    assert_eq!(exception.skipped[&SkipReason::ExceptionPhrase], 2);
}

#[test]
fn duplicates_across_lists_are_imported_once() {
    let i = import(&[
        (
            "italian/pornography/weighted",
            b"< troia ><50>\n<troia><50>\n",
        ),
        ("pornography/weighted_italian", b"< troia ><60>\n"),
        ("violence/weighted", b"< troia ><50>\n"),
    ]);
    let troia: Vec<_> = i
        .library
        .entries()
        .iter()
        .filter(|e| e.pattern == "troia")
        .map(|e| (e.category, e.edge, e.weight))
        .collect();
    assert_eq!(
        troia,
        vec![
            (Category::Pornography, Edge::Word, 50),
            (Category::Pornography, Edge::Substring, 50),
            (Category::Violence, Edge::Word, 50),
        ]
    );
    let second = i.report.file("pornography/weighted_italian").unwrap();
    assert_eq!(second.skipped[&SkipReason::Duplicate], 1);
    assert_eq!(
        second.skipped_because.as_deref(),
        Some("all duplicates of earlier lists")
    );
}

#[test]
fn non_lists_are_reported_and_output_is_written_with_stable_ids() {
    let files: &[(&str, &[u8])] = &[
        ("ORIGIN.md", b"# Origin\n\nCopied from Debian.\n"),
        (
            "weapons/weighted",
            b"#listcategory: \"Weapons\"\n< zombie knife ><100>\n",
        ),
        (
            "violence/weighted",
            b"< stab ><40>\n< kill you >,< going to ><80>\n",
        ),
    ];
    let dir = tree(files);
    let out = tempfile::tempdir().unwrap();
    let i = import_e2guardian(dir.path(), Some(out.path())).unwrap();
    let origin = i.report.file("ORIGIN.md").unwrap();
    assert_eq!(origin.list, ListKind::NotAList);
    assert!(origin.skipped_because.is_some());
    let loaded = Library::load_dir(out.path()).unwrap();
    assert_eq!(loaded.checksum(), i.report.checksum);
    assert_eq!(loaded.files(), ["violence.toml", "weapons.toml"]);
    assert_eq!(loaded.id(), "e2guardian-import");
    assert!(loaded.version().starts_with("import."));
    assert_eq!(i.report.patterns, 4);
    assert_eq!((i.report.entries(), i.report.combos()), (2, 1));
    let again = import_e2guardian(dir.path(), None).unwrap();
    let ids = |l: &Library| l.entries().iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&again.library), ids(&loaded));
    assert_eq!(again.report.checksum, i.report.checksum);
    assert_eq!(again.manifest, i.manifest);
}

#[test]
fn bad_sources_are_errors_that_say_what_to_do() {
    let dir = tree(&[("sport/weighted", b"< goal ><30>\n")]);
    let err = import_e2guardian(dir.path(), None).unwrap_err();
    assert!(matches!(err, ImportError::Empty), "{err}");
    let err = import_e2guardian(&dir.path().join("sport/weighted"), None).unwrap_err();
    assert!(err.to_string().contains("is not a directory"), "{err}");
}
