//! Streaming, word-oriented normalisation: the one function applied both to text and to
//! library phrases, so library authors write plain text and obfuscated spellings still match.
//!
//! Text arrives in arbitrary `&str` pieces (a word may be split across two). The
//! [`Normaliser`] splits it into words and hands each to a [`WordSink`] with its normalised
//! form, its original text (for context) and a running word index. Per word, in order:
//!
//! 1. Zero-width and other invisible characters (U+200B..U+200F, U+2060.., U+FEFF, soft
//!    hyphen U+00AD, variation selectors, bidi controls, Hangul fillers) are removed without
//!    splitting the word: `ki\u{200B}ll` is `kill`.
//! 2. Unicode NFKC (fullwidth and mathematical letters become plain letters), then full
//!    Unicode lower case.
//! 3. Diacritics folded: canonical decomposition, Latin/Greek/Cyrillic combining marks,
//!    Arabic harakat and Hebrew points dropped, Arabic tatweel removed, then an explicit map
//!    for letters that do not decompose (`ł`->`l`, `ø`->`o`, `đ`->`d`, `ß`->`ss`, `æ`->`ae`,
//!    `œ`->`oe`, `ı`->`i`, `þ`->`th`, final `ς`->`σ`, Arabic and Urdu yeh and kaf variants).
//!    Cyrillic and Greek look-alike letters inside a word that also has Latin letters become
//!    Latin (`kіll` with a Cyrillic `і`).
//! 4. Letter substitutions, only in words that contain a letter: `0`->`o` `1`->`i` `3`->`e`
//!    `4`->`a` `5`->`s` `7`->`t` `@`->`a` `$`->`s` `!`->`i`. Pure numbers stay as they are
//!    (`1488`). `$` counts as a word character inside a word or before one (`$uicide`,
//!    `le$bian`), `@` inside a word (`b@d`; a leading `@` is a social-media mention marker and
//!    separates), `!` only between word characters (`k!ll`; `hello!` is `hello`).
//!    Apostrophes inside a word are dropped (`don't` is `dont`).
//! 5. Runs of the same character longer than two collapse to two (`killlll` -> `kill`,
//!    `sooooo` -> `soo`; so `xxx` is `xx`).
//! 6. Separated letters: three or more single-letter tokens separated by the same one to
//!    three characters of `. - _ * ,` or white space merge into one word (`s.u.i.c.i.d.e` -> `suicide`,
//!    `k i l l` -> `kill`); the word's original text is the whole run. Single digits that
//!    stand for letters may take part (`k 1 l l`) as long as two members are letters.
//!
//! HTML entities are decoded by extraction, not here. Tokens longer than
//! [`MAX_TOKEN_BYTES`] are cut, so memory stays bounded whatever the input.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Longest token, in bytes of original text; a longer run of word characters (a base64 blob,
/// minified text) is cut into tokens of at most this size.
pub const MAX_TOKEN_BYTES: usize = 256;
/// Most single letters merged into one word by the separated-letters rule.
const MAX_RUN_MEMBERS: usize = 64;
/// Most separator characters between two members of a separated-letter run.
const MAX_RUN_GAP: usize = 3;
/// Tentative characters (`!`, apostrophes) allowed past the confirmed end of a token.
const MAX_TENTATIVE: usize = 16;

/// One normalised word, as handed to a [`WordSink`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word<'a> {
    /// Running index of the word in the stream, from 0.
    pub index: u64,
    /// The normalised form: never empty, no spaces.
    pub norm: &'a str,
    /// The original text of the word (for a merged separated-letter run, the whole run).
    pub orig: &'a str,
}

/// Receives normalised words, in order.
pub trait WordSink {
    /// A complete word.
    fn word(&mut self, word: Word<'_>);
    /// The end of a field or segment: no phrase may join the words either side.
    fn boundary(&mut self);
}

/// The streaming normaliser: feed pieces with [`Normaliser::push`], mark field ends with
/// [`Normaliser::boundary`] and call [`Normaliser::finish`] at the end of the stream.
#[derive(Debug, Default)]
pub struct Normaliser {
    tok: Tokeniser,
    emit: Emitter,
}

impl Normaliser {
    /// A normaliser at the start of a stream.
    pub fn new() -> Normaliser {
        Normaliser::default()
    }

    /// Words emitted so far (the index the next word will get).
    pub fn words(&self) -> u64 {
        self.emit.index
    }

    /// Normalises the next piece of text. A word that may continue in the next piece is held
    /// back until it ends.
    pub fn push<S: WordSink>(&mut self, piece: &str, sink: &mut S) {
        let Normaliser { tok, emit } = self;
        let bytes = piece.as_bytes();
        let n = bytes.len();
        let mut i = 0;
        while i < n {
            let b = bytes[i];
            let (class, ch, len) = if b < 0x80 {
                (ASCII_CLASS[usize::from(b)], char::from(b), 1)
            } else {
                let c = piece[i..].chars().next().unwrap_or('\u{FFFD}');
                (classify(c), c, c.len_utf8())
            };
            match class {
                Class::Word => {
                    if !tok.in_tok {
                        tok.begin(i);
                    }
                    let mut j = i + len;
                    if len == 1 {
                        let room = MAX_TOKEN_BYTES.saturating_sub(tok.vlen(j));
                        let limit = n.min(j + room);
                        let mut plain = b.is_ascii_lowercase();
                        while j < limit {
                            let f = WORD_BYTE[usize::from(bytes[j])];
                            if f == 0 {
                                break;
                            }
                            plain &= f == LOWER;
                            j += 1;
                        }
                        tok.plain &= plain;
                    } else {
                        tok.plain = false;
                    }
                    tok.confirm(j);
                    i = j;
                    if tok.confirmed >= MAX_TOKEN_BYTES {
                        end_token(tok, emit, piece, i, sink);
                    }
                    continue;
                }
                Class::Ignorable => tok.plain = false,
                Class::Dollar => {
                    if !tok.in_tok {
                        tok.begin(i);
                    } else if tok.confirmed > 0 {
                        tok.confirm(i + len);
                    }
                    tok.plain = false;
                }
                Class::At if tok.in_tok && tok.confirmed > 0 => {
                    tok.plain = false;
                    tok.confirm(i + len);
                }
                Class::Inner if tok.in_tok && tok.confirmed > 0 => tok.plain = false,
                Class::At | Class::Inner | Class::Other | Class::RunSep => {
                    if tok.in_tok {
                        end_token(tok, emit, piece, i, sink);
                    }
                    emit.separator(class == Class::RunSep, ch);
                }
            }
            i += len;
            if tok.in_tok && tok.vlen(i) > tok.confirmed + MAX_TENTATIVE {
                end_token(tok, emit, piece, i, sink);
            }
        }
        if tok.in_tok {
            tok.carry_over(piece);
        }
    }

    /// Ends the current field: the pending word is emitted and separated-letter runs stop.
    pub fn boundary<S: WordSink>(&mut self, sink: &mut S) {
        self.flush(sink);
        sink.boundary();
    }

    /// Ends the stream: emits the pending word and any held-back letters. The normaliser
    /// may be reused afterwards; word indexes keep counting.
    pub fn finish<S: WordSink>(&mut self, sink: &mut S) {
        self.flush(sink);
    }

    fn flush<S: WordSink>(&mut self, sink: &mut S) {
        let Normaliser { tok, emit } = self;
        if tok.in_tok {
            // After `push`, an unfinished token is always carried: offset 0 is its end.
            end_token(tok, emit, "", 0, sink);
        }
        emit.flush_run(sink);
        emit.gap.reset();
    }
}

/// Normalises a library phrase with exactly the rules applied to text; returns its words.
pub fn normalise_phrase(text: &str) -> Vec<String> {
    normalise_words(text).into_iter().map(|(n, _)| n).collect()
}

/// Normalises a whole text; returns `(normalised, original)` for each word. For tools and
/// tests; the scanner streams instead.
pub fn normalise_words(text: &str) -> Vec<(String, String)> {
    struct Collect(Vec<(String, String)>);
    impl WordSink for Collect {
        fn word(&mut self, w: Word<'_>) {
            self.0.push((w.norm.to_string(), w.orig.to_string()));
        }
        fn boundary(&mut self) {}
    }
    let mut n = Normaliser::new();
    let mut out = Collect(Vec::new());
    n.push(text, &mut out);
    n.finish(&mut out);
    out.0
}

/// How the tokeniser treats a character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Letters, digits, combining marks.
    Word,
    /// Removed without splitting a word.
    Ignorable,
    /// `$`: a word character inside a word or at its start (confirmed by what follows).
    Dollar,
    /// `@`: a word character inside a word only.
    At,
    /// `!` and apostrophes: word characters only between two word characters.
    Inner,
    /// White space and `. - _ * ,`: separate words, may join separated letters.
    RunSep,
    /// Any other character separates words.
    Other,
}

const ASCII_CLASS: [Class; 128] = {
    let mut t = [Class::Other; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = if c.is_ascii_alphanumeric() {
            Class::Word
        } else {
            match c {
                b'$' => Class::Dollar,
                b'@' => Class::At,
                b'!' | b'\'' => Class::Inner,
                b' ' | b'\t' | b'\n' | b'\r' | 0x0c | b'.' | b'-' | b'_' | b'*' | b',' => {
                    Class::RunSep
                }
                _ => Class::Other,
            }
        };
        b += 1;
    }
    t
};

/// [`WORD_BYTE`] value of an ASCII lower-case letter.
const LOWER: u8 = 2;

/// Per byte: 0 = not an ASCII letter or digit, 1 = digit or upper-case letter, [`LOWER`] =
/// lower-case letter (the inner loop of the ASCII fast path).
const WORD_BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_lowercase() {
            LOWER
        } else if c.is_ascii_alphanumeric() {
            1
        } else {
            0
        };
        b += 1;
    }
    t
};

fn classify(c: char) -> Class {
    if is_ignorable(c) {
        Class::Ignorable
    } else if c.is_alphanumeric() || is_combining_mark(c) {
        Class::Word
    } else if matches!(c, '\u{2019}' | '\u{02BC}') {
        Class::Inner
    } else if c.is_whitespace()
        || matches!(
            c,
            '\u{2010}'..='\u{2015}' | '\u{00B7}' | '\u{2022}' | '\u{2219}' | '\u{22C5}'
        )
    {
        Class::RunSep
    } else {
        Class::Other
    }
}

/// Invisible characters removed without splitting a word (mostly Default_Ignorable).
fn is_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// The token being read. Positions are byte offsets in the current piece; a token that began
/// in an earlier piece keeps its earlier bytes in `carry`.
#[derive(Debug, Default)]
struct Tokeniser {
    in_tok: bool,
    /// Start of the token in the current piece (when not carrying).
    start: usize,
    /// True when the token began in an earlier piece; its bytes so far are in `carry`.
    carrying: bool,
    carry: String,
    /// Bytes from the token start that are confirmed word characters; a tentative tail
    /// (`!`, apostrophes, a leading `$`) beyond it is dropped if no word character follows.
    confirmed: usize,
    /// Every character so far is an ASCII lower-case letter: the token may be its own
    /// normalised form (the fast path for most words).
    plain: bool,
}

impl Tokeniser {
    fn begin(&mut self, at: usize) {
        self.in_tok = true;
        self.start = at;
        self.carrying = false;
        self.carry.clear();
        self.confirmed = 0;
        self.plain = true;
    }

    /// Token length in bytes up to piece offset `at`.
    fn vlen(&self, at: usize) -> usize {
        if self.carrying {
            self.carry.len() + at
        } else {
            at - self.start
        }
    }

    fn confirm(&mut self, at: usize) {
        self.confirmed = self.vlen(at);
    }

    /// Keeps the unfinished token's bytes when the piece ends.
    fn carry_over(&mut self, piece: &str) {
        if self.carrying {
            self.carry.push_str(piece);
        } else {
            self.carry.clear();
            self.carry.push_str(piece.get(self.start..).unwrap_or(""));
            self.carrying = true;
        }
    }
}

/// Emits the current token (its confirmed part) that ends at piece offset `at`.
fn end_token<S: WordSink>(
    tok: &mut Tokeniser,
    emit: &mut Emitter,
    piece: &str,
    at: usize,
    sink: &mut S,
) {
    let had_tail = tok.vlen(at) > tok.confirmed;
    let text: &str = if tok.carrying {
        let have = tok.carry.len();
        if tok.confirmed <= have {
            tok.carry.truncate(tok.confirmed);
        } else {
            tok.carry
                .push_str(piece.get(..tok.confirmed - have).unwrap_or(""));
        }
        &tok.carry
    } else {
        piece
            .get(tok.start..tok.start + tok.confirmed)
            .unwrap_or("")
    };
    if !text.is_empty() {
        emit.token(text, tok.plain, sink);
    }
    if had_tail {
        emit.gap.ok = false;
    }
    tok.in_tok = false;
    tok.carrying = false;
    tok.carry.clear();
    tok.confirmed = 0;
}

/// Separators seen since the last single-letter token.
#[derive(Debug)]
struct Gap {
    chars: usize,
    ok: bool,
    text: String,
}

impl Default for Gap {
    fn default() -> Gap {
        Gap {
            chars: 0,
            ok: true,
            text: String::new(),
        }
    }
}

impl Gap {
    #[inline]
    fn reset(&mut self) {
        if self.chars > 0 || !self.ok {
            self.chars = 0;
            self.ok = true;
            self.text.clear();
        }
    }
}

/// Held-back single-letter tokens that may merge into one word.
#[derive(Debug, Default)]
struct Run {
    /// The original text of the run so far, separators included.
    orig: String,
    /// Each member's byte range in `orig`.
    members: Vec<(usize, usize)>,
    /// The separator between the first two members; later ones must be the same.
    sep: String,
    letters: usize,
    /// Scratch: the members without separators.
    raw: String,
}

/// Turns tokens into words: separated-letter runs, folding, indexes.
#[derive(Debug, Default)]
struct Emitter {
    index: u64,
    fold: Folder,
    run: Run,
    gap: Gap,
}

impl Emitter {
    /// A separator character after a token.
    #[inline]
    fn separator(&mut self, run_sep: bool, c: char) {
        if self.run.members.is_empty() || !self.gap.ok {
            return;
        }
        if run_sep && self.gap.chars < MAX_RUN_GAP {
            self.gap.chars += 1;
            self.gap.text.push(c);
        } else {
            self.gap.ok = false;
        }
    }

    #[inline]
    fn token<S: WordSink>(&mut self, tok: &str, plain: bool, sink: &mut S) {
        let candidate = if plain && tok.len() > 1 {
            None
        } else {
            run_candidate(tok)
        };
        match candidate {
            Some(letter) => {
                let joins = !self.run.members.is_empty()
                    && self.gap.ok
                    && self.gap.chars > 0
                    && (self.run.members.len() == 1 || self.run.sep == self.gap.text)
                    && self.run.members.len() < MAX_RUN_MEMBERS;
                if !joins {
                    self.flush_run(sink);
                }
                let run = &mut self.run;
                if joins {
                    if run.members.len() == 1 {
                        run.sep.clone_from(&self.gap.text);
                    }
                    run.orig.push_str(&self.gap.text);
                }
                let start = run.orig.len();
                run.orig.push_str(tok);
                run.members.push((start, run.orig.len()));
                run.letters += usize::from(letter);
            }
            None => {
                self.flush_run(sink);
                self.word(tok, plain, sink);
            }
        }
        self.gap.reset();
    }

    #[inline]
    fn word<S: WordSink>(&mut self, tok: &str, plain: bool, sink: &mut S) {
        let norm = if plain && !has_triple(tok.as_bytes()) {
            tok
        } else {
            self.fold.fold(tok)
        };
        if !norm.is_empty() {
            sink.word(Word {
                index: self.index,
                norm,
                orig: tok,
            });
            self.index += 1;
        }
    }

    /// Emits the held-back letters: one merged word for a run of three or more (two of them
    /// letters), otherwise each letter as its own word.
    fn flush_run<S: WordSink>(&mut self, sink: &mut S) {
        if self.run.members.is_empty() {
            return;
        }
        let run = &mut self.run;
        if run.members.len() >= 3 && run.letters >= 2 {
            run.raw.clear();
            for &(a, b) in &run.members {
                run.raw.push_str(run.orig.get(a..b).unwrap_or(""));
            }
            let norm = self.fold.fold(&run.raw);
            if !norm.is_empty() {
                sink.word(Word {
                    index: self.index,
                    norm,
                    orig: &run.orig,
                });
                self.index += 1;
            }
        } else {
            for &(a, b) in &run.members {
                let tok = run.orig.get(a..b).unwrap_or("");
                let norm = self.fold.fold(tok);
                if !norm.is_empty() {
                    sink.word(Word {
                        index: self.index,
                        norm,
                        orig: tok,
                    });
                    self.index += 1;
                }
            }
        }
        run.orig.clear();
        run.members.clear();
        run.letters = 0;
    }
}

/// True when a byte repeats three times in a row (so the token needs collapsing).
#[inline]
fn has_triple(b: &[u8]) -> bool {
    b.windows(3).any(|w| w[0] == w[1] && w[1] == w[2])
}

/// `Some(true)` for a token of one letter, `Some(false)` for one digit that stands for a
/// letter, `None` otherwise.
fn run_candidate(tok: &str) -> Option<bool> {
    if tok.is_ascii() {
        let &[b] = tok.as_bytes() else {
            return None;
        };
        return if b.is_ascii_alphabetic() {
            Some(true)
        } else {
            b"013457".contains(&b).then_some(false)
        };
    }
    let mut base = None;
    for c in tok.chars() {
        if is_ignorable(c) || is_combining_mark(c) {
            continue;
        }
        if base.is_some() {
            return None;
        }
        base = Some(c);
    }
    base.filter(|c| c.is_alphabetic()).map(|_| true)
}

/// Folds one token into its normalised form (steps 1 to 5 of the module docs).
#[derive(Debug, Default)]
struct Folder {
    out: String,
    a: String,
    b: String,
}

impl Folder {
    fn fold(&mut self, tok: &str) -> &str {
        self.out.clear();
        if tok.is_ascii() {
            fold_ascii(tok.as_bytes(), &mut self.out);
        } else {
            self.fold_unicode(tok);
        }
        &self.out
    }

    fn fold_unicode(&mut self, tok: &str) {
        self.a.clear();
        for c in tok.chars().filter(|c| !is_ignorable(*c)).nfkc() {
            self.a.extend(c.to_lowercase());
        }
        let latin = self.a.bytes().any(|b| b.is_ascii_alphabetic());
        self.b.clear();
        let folded = self
            .a
            .chars()
            .nfd()
            .filter(|c| !is_folded_mark(*c) && *c != '\u{0640}')
            .flat_map(|c| {
                let (chars, n) = fold_letter(c, latin);
                chars.into_iter().take(n)
            })
            .nfc();
        self.b.extend(folded);
        let has_letter = self.b.chars().any(char::is_alphabetic);
        let mut last = '\0';
        let mut repeats = 0;
        for c in self.b.chars() {
            let c = if has_letter {
                match leet(c) {
                    Some(c) if c.is_alphanumeric() || is_combining_mark(c) => c,
                    _ => continue,
                }
            } else if c.is_numeric() {
                c
            } else {
                continue;
            };
            if c == last {
                repeats += 1;
                if repeats > 2 && has_letter {
                    continue;
                }
            } else {
                last = c;
                repeats = 1;
            }
            self.out.push(c);
        }
    }
}

/// Lower case plus substitutions for ASCII bytes in a token that has a letter; 0 = drop.
const ASCII_FOLD: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = match c {
            b'A'..=b'Z' => c + 32,
            b'a'..=b'z' | b'2' | b'6' | b'8' | b'9' => c,
            b'0' => b'o',
            b'1' | b'!' => b'i',
            b'3' => b'e',
            b'4' | b'@' => b'a',
            b'5' | b'$' => b's',
            b'7' => b't',
            _ => 0,
        };
        b += 1;
    }
    t
};

fn fold_ascii(tok: &[u8], out: &mut String) {
    let has_letter = tok.iter().any(u8::is_ascii_alphabetic);
    let mut last = 0u8;
    let mut repeats = 0;
    for &b in tok {
        let c = if has_letter {
            ASCII_FOLD[usize::from(b & 0x7f)]
        } else if b.is_ascii_digit() {
            b
        } else {
            0
        };
        if c == 0 {
            continue;
        }
        if c == last {
            repeats += 1;
            if repeats > 2 && has_letter {
                continue;
            }
        } else {
            last = c;
            repeats = 1;
        }
        out.push(char::from(c));
    }
}

/// Letter substitutions for one character of a word that has a letter; `None` drops it.
fn leet(c: char) -> Option<char> {
    if c.is_ascii() {
        match ASCII_FOLD[c as usize] {
            0 => None,
            b => Some(char::from(b)),
        }
    } else if matches!(c, '\u{2019}' | '\u{02BC}') {
        None
    } else {
        Some(c)
    }
}

/// Combining marks folded away: Latin, Greek and Cyrillic diacritics, Arabic harakat and
/// Quranic marks, Hebrew points. Marks of other scripts (Indic vowel signs) are kept.
fn is_folded_mark(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036F}'
            | '\u{0483}'..='\u{0489}'
            | '\u{0591}'..='\u{05BD}'
            | '\u{05BF}'
            | '\u{05C1}'..='\u{05C2}'
            | '\u{05C4}'..='\u{05C5}'
            | '\u{05C7}'
            | '\u{0610}'..='\u{061A}'
            | '\u{064B}'..='\u{065F}'
            | '\u{0670}'
            | '\u{06D6}'..='\u{06DC}'
            | '\u{06DF}'..='\u{06E4}'
            | '\u{06E7}'..='\u{06E8}'
            | '\u{06EA}'..='\u{06ED}'
            | '\u{08D3}'..='\u{08FF}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE20}'..='\u{FE2F}'
    )
}

/// Letters that do not decompose, and (when the word has Latin letters) Cyrillic and Greek
/// look-alikes. Returns up to two characters.
fn fold_letter(c: char, latin: bool) -> ([char; 2], usize) {
    let one = |x| ([x, '\0'], 1);
    let two = |x, y| ([x, y], 2);
    match c {
        'ł' => one('l'),
        'ø' => one('o'),
        'đ' | 'ð' => one('d'),
        'ß' => two('s', 's'),
        'æ' => two('a', 'e'),
        'œ' => two('o', 'e'),
        'ı' => one('i'),
        'þ' => two('t', 'h'),
        'ħ' => one('h'),
        'ŧ' => one('t'),
        'ƒ' => one('f'),
        'ς' => one('σ'),
        // Arabic, Persian and Urdu keyboards write yeh and kaf differently; alef wasla.
        '\u{0649}' | '\u{06CC}' => one('\u{064A}'),
        '\u{06A9}' => one('\u{0643}'),
        '\u{0671}' => one('\u{0627}'),
        _ if latin => match c {
            'а' | 'α' => one('a'),
            'е' | 'ε' => one('e'),
            'о' | 'ο' => one('o'),
            'р' | 'ρ' => one('p'),
            'с' => one('c'),
            'у' => one('y'),
            'х' | 'χ' => one('x'),
            'і' | 'ι' => one('i'),
            'ј' => one('j'),
            'ѕ' => one('s'),
            'к' | 'κ' => one('k'),
            'ԁ' => one('d'),
            'ӏ' => one('l'),
            'ν' => one('v'),
            'τ' => one('t'),
            'υ' => one('u'),
            _ => one(c),
        },
        _ => one(c),
    }
}

#[cfg(test)]
#[path = "normalise_tests.rs"]
mod tests;
