//! Detection benchmark: normalise + match + score over a fixed corpus of page text.
//!
//! The corpus is about 4 MB of English prose generated deterministically (the same bytes every
//! run), in paragraphs, with a trigger phrase or a false-positive trap every few hundred
//! words, delivered as page bodies of about 64 KiB, one `TextSink::text` call and one
//! boundary per paragraph: what HTML extraction hands the scanner.
//!
//! For the starter library (`libraries/starter`) and, when the shared lists are present, the
//! whole imported e2guardian set, it prints next to each other:
//! - the library compile time (target < 1 s);
//! - the raw aho-corasick scan of the same bytes with the same patterns
//!   (`find_overlapping_iter`, the ceiling);
//! - the normaliser alone;
//! - the full scanner (normalise, both automata, combos, exceptions, findings, score), in MB/s
//!   per core and as a share of the raw scan (targets: >= 300 MB/s and >= 40%).
//!
//! then criterion measures the raw scan and the scanner.
//!
//! Run: `cargo bench --bench detect`.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gatewatch::detect::matcher::CompiledLibrary;
use gatewatch::detect::normalise::{Normaliser, Word, WordSink};
use gatewatch::detect::scanner::Scanner;
use gatewatch::detect::score::Thresholds;
use gatewatch::detect::{TextKind, TextSink};
use gatewatch::library::Library;

const CORPUS_BYTES: usize = 4 << 20;
const BODY_BYTES: usize = 64 << 10;
const E2GUARDIAN: &str = "/work/shared/data/e2guardian-phraselists";

/// A small xorshift generator: the same corpus every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Skewed towards small values, like word frequencies.
    fn zipf(&mut self, n: usize) -> usize {
        let a = (self.next() % n as u64) as usize;
        let b = (self.next() % n as u64) as usize;
        a.min(b)
    }
}

const WORDS: &str = "the of and to a in is you that it he was for on are as with his they I at be \
    this have from or one had by word but not what all were we when your can said there use an \
    each which she do how their if will up other about out many then them these so some her \
    would make like him into time has look two more write go see number no way could people my \
    than first water been call who oil its now find long down day did get come made may part \
    school teacher lesson students homework learning library history science geography \
    mathematics English project deadline timetable assembly uniform playground football match \
    weekend holiday family friends mum dad brother sister birthday party music video game phone \
    computer internet website search page chat message online account password email photo \
    camera film scene shot director actor story chapter novel poem Shakespeare Romeo Juliet \
    Macbeth killer whale sudoku process thread task server program code function variable \
    London Manchester Birmingham Cardiff weather rain sunny cold autumn winter spring summer \
    breakfast lunch dinner pizza chocolate café naïve résumé coöperate Zoë don't can't it's \
    we're they've 2024 15 100 3.5 £20";

const INSERTS: &[&str] = &[
    "the opening shot of the film was beautiful",
    "you need to kill the process before restarting",
    "we saw a killer whale at the aquarium",
    "Romeo and Juliet both take their own lives at the end of the play",
    "honestly i just want to kill myself",
    "how to tie a noose",
    "he said he would stab him after school",
    "she has been self harming again",
    "s.u.i.c.i.d.e is never the answer, call a helpline",
    "u r so ugly just k1ll yourself",
    "buy weed near me",
    "nobody would even notice if i was gone",
];

fn corpus() -> Vec<String> {
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut paragraphs = Vec::new();
    let mut total = 0;
    while total < CORPUS_BYTES {
        let mut p = String::new();
        for _ in 0..(3 + rng.next() % 6) {
            let n = 6 + rng.next() % 18;
            for i in 0..n {
                let w = words[rng.zipf(words.len())];
                if i == 0 {
                    let mut c = w.chars();
                    if let Some(f) = c.next() {
                        p.extend(f.to_uppercase());
                        p.push_str(c.as_str());
                    }
                } else {
                    p.push(' ');
                    p.push_str(w);
                }
                if i + 1 < n && rng.next() % 11 == 0 {
                    p.push(',');
                }
            }
            if rng.next() % 40 == 0 {
                p.push_str(", ");
                p.push_str(INSERTS[(rng.next() % INSERTS.len() as u64) as usize]);
            }
            p.push_str(if rng.next() % 9 == 0 { "? " } else { ". " });
        }
        total += p.len() + 1;
        paragraphs.push(p);
    }
    paragraphs
}

/// Paragraphs grouped into bodies of about [`BODY_BYTES`].
fn bodies(paragraphs: &[String]) -> Vec<&[String]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (i, p) in paragraphs.iter().enumerate() {
        size += p.len();
        if size >= BODY_BYTES {
            out.push(&paragraphs[start..=i]);
            start = i + 1;
            size = 0;
        }
    }
    if start < paragraphs.len() {
        out.push(&paragraphs[start..]);
    }
    out
}

fn scan_all(lib: &Arc<CompiledLibrary>, bodies: &[&[String]]) -> (usize, i64) {
    let mut findings = 0;
    let mut score = 0;
    for body in bodies {
        let mut s = Scanner::new(Arc::clone(lib), Thresholds::default());
        for p in body.iter() {
            s.text(TextKind::Page, p);
            s.boundary();
        }
        let v = s.finish();
        findings += v.findings.len() + v.findings_dropped as usize;
        score += v.score;
    }
    (findings, score)
}

struct Count(u64);

impl WordSink for Count {
    fn word(&mut self, w: Word<'_>) {
        self.0 += w.norm.len() as u64;
    }
    fn boundary(&mut self) {}
}

fn normalise_all(paragraphs: &[String]) -> u64 {
    let mut n = Normaliser::new();
    let mut c = Count(0);
    for p in paragraphs {
        n.push(p, &mut c);
        n.boundary(&mut c);
    }
    n.finish(&mut c);
    c.0
}

fn raw_automaton(lib: &CompiledLibrary) -> AhoCorasick {
    let kind = match lib.stats().automaton {
        "dfa" => AhoCorasickKind::DFA,
        _ => AhoCorasickKind::ContiguousNFA,
    };
    AhoCorasick::builder()
        .kind(Some(kind))
        .match_kind(MatchKind::Standard)
        .build(lib.phrase_patterns())
        .expect("the raw automaton builds from the same patterns")
}

/// Best of `runs` timings of `f`, in seconds.
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(r);
    }
    (best, out.expect("at least one run"))
}

fn libraries() -> Vec<(&'static str, Library)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut libs = vec![(
        "starter",
        Library::load_dir(&root.join("libraries/starter")).expect("the starter library loads"),
    )];
    let e2g = Path::new(E2GUARDIAN);
    if e2g.is_dir() {
        let import = gatewatch::library::import::import_e2guardian(e2g, None)
            .expect("the shared e2guardian lists import");
        libs.push(("e2guardian", import.library));
    } else {
        println!("{E2GUARDIAN} not found: the e2guardian library is skipped");
    }
    libs
}

fn bench(c: &mut Criterion) {
    let paragraphs = corpus();
    let bodies = bodies(&paragraphs);
    let joined = paragraphs.join("\n");
    let bytes = joined.len() as f64;
    let mb = |secs: f64| bytes / secs / 1e6;
    println!(
        "corpus: {:.1} MB in {} paragraphs, {} bodies",
        bytes / 1e6,
        paragraphs.len(),
        bodies.len()
    );
    let (t_norm, norm_bytes) = best(5, || normalise_all(&paragraphs));
    println!(
        "normaliser alone: {:.0} MB/s ({} normalised bytes)",
        mb(t_norm),
        norm_bytes
    );
    for (name, library) in libraries() {
        let (t_compile, compiled) = best(3, || CompiledLibrary::compile(&library));
        let lib = Arc::new(compiled.expect("the library compiles"));
        let stats = lib.stats();
        println!(
            "[{name}] compile {:.0} ms: {} rules, {} patterns, {} regexes, {}, {:.1} MB, {} \
             skipped",
            t_compile * 1e3,
            stats.rules,
            stats.patterns,
            stats.regexes,
            stats.automaton,
            stats.memory_bytes as f64 / 1e6,
            lib.skipped().len()
        );
        let raw = raw_automaton(&lib);
        let (t_raw, raw_hits) = best(5, || raw.find_overlapping_iter(joined.as_bytes()).count());
        let (t_scan, (findings, score)) = best(5, || scan_all(&lib, &bodies));
        println!(
            "[{name}] raw aho-corasick: {:.0} MB/s ({raw_hits} matches) | scanner: {:.0} MB/s \
             ({findings} findings, score {score}) = {:.0}% of raw",
            mb(t_raw),
            mb(t_scan),
            100.0 * t_raw / t_scan
        );
        let mut group = c.benchmark_group(format!("detect-{name}"));
        group
            .throughput(Throughput::Bytes(joined.len() as u64))
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4));
        group.bench_function("raw-aho-corasick", |b| {
            b.iter(|| black_box(raw.find_overlapping_iter(joined.as_bytes()).count()))
        });
        group.bench_function("scanner", |b| b.iter(|| black_box(scan_all(&lib, &bodies))));
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
