//! Tests of the normaliser: one per rule, and randomised split-anywhere checks.

mod unit {
    use super::super::*;

    /// Normalised words of `text`, joined by spaces.
    fn norm(text: &str) -> String {
        normalise_phrase(text).join(" ")
    }

    #[derive(Default)]
    struct Events(Vec<String>);

    impl WordSink for Events {
        fn word(&mut self, w: Word<'_>) {
            self.0.push(format!("{}:{}={}", w.index, w.norm, w.orig));
        }
        fn boundary(&mut self) {
            self.0.push("|".into());
        }
    }

    fn events(pieces: &[&str]) -> Vec<String> {
        let mut n = Normaliser::new();
        let mut ev = Events::default();
        for p in pieces {
            n.push(p, &mut ev);
        }
        n.finish(&mut ev);
        ev.0
    }

    #[test]
    fn splits_words_and_lower_cases() {
        assert_eq!(
            norm("Hello, World! How are you?"),
            "hello world how are you"
        );
        assert_eq!(norm("  tabs\tand\nnewlines  "), "tabs and newlines");
        assert_eq!(norm("self-harm"), "self harm");
        assert_eq!(norm("kill🔪yourself"), "kill yourself");
        assert_eq!(norm("ÉCOLE İSTANBUL ΣΟΦΙΑ"), "ecole istanbul σοφια");
        assert_eq!(norm(""), "");
        assert_eq!(norm(" ... !!! "), "");
    }

    #[test]
    fn nfkc_compatibility_forms() {
        assert_eq!(norm("ｋｉｌｌ ｍｙｓｅｌｆ"), "kill myself");
        assert_eq!(norm("𝐤𝐢𝐥𝐥 𝓂𝓎𝓈ℯ𝓁𝒻"), "kill myself");
        assert_eq!(norm("ⓚⓘⓛⓛ"), "kill");
        assert_eq!(norm("ﬁnd"), "find");
    }

    #[test]
    fn full_unicode_lower_case() {
        assert_eq!(norm("ŻYĆ"), "zyc");
        assert_eq!(norm("УБИТЬ СЕБЯ"), "убить себя");
        assert_eq!(norm("ΣΟΣ"), "σοσ");
    }

    #[test]
    fn diacritics_are_folded() {
        assert_eq!(norm("pociąć się"), "pociac sie");
        assert_eq!(
            norm("sinucidere, sinucideri, sinucigaș, sinucigaş"),
            "sinucidere sinucideri sinucigas sinucigas"
        );
        assert_eq!(norm("lladd fy hun ŵy"), "lladd fy hun wy");
        assert_eq!(norm("suicídio café naïve"), "suicidio cafe naive");
        assert_eq!(
            norm("k\u{0301}i\u{0308}ll"),
            "kill",
            "combining marks fold away"
        );
    }

    #[test]
    fn letters_that_do_not_decompose() {
        assert_eq!(norm("łódź"), "lodz");
        assert_eq!(norm("Østergård"), "ostergard");
        assert_eq!(norm("đorđe"), "dorde");
        assert_eq!(norm("Straße STRASSE"), "strasse strasse");
        assert_eq!(norm("Æther œuvre"), "aether oeuvre");
        assert_eq!(norm("ıslak"), "islak");
        assert_eq!(norm("þorn"), "thorn");
        assert_eq!(norm("ὀδυσσεύς"), "οδυσσευσ", "final sigma folds too");
    }

    #[test]
    fn arabic_tatweel_harakat_and_letter_variants() {
        // انتحار (suicide) with tatweel and harakat.
        assert_eq!(norm("انـــتِحَار"), "انتحار");
        assert_eq!(norm("أنا"), "انا", "hamza on alef folds");
        // Urdu خودکشی (suicide) written with Urdu keheh/yeh and with Arabic kaf/yeh.
        assert_eq!(norm("خودکشی"), norm("خودكشي"));
        assert_eq!(norm("خودکشی"), "خودكشي");
    }

    #[test]
    fn zero_width_characters_do_not_split() {
        assert_eq!(norm("ki\u{200B}ll my\u{200D}self"), "kill myself");
        assert_eq!(norm("su\u{00AD}ic\u{2060}ide\u{FEFF}"), "suicide");
        assert_eq!(norm("\u{200B}kill\u{200C}"), "kill");
        assert_eq!(norm("k\u{FE0F}ill"), "kill");
        let ev = events(&["ki\u{200B}ll now"]);
        assert_eq!(ev, vec!["0:kill=ki\u{200B}ll", "1:now=now"]);
    }

    #[test]
    fn letter_substitutions_in_words_with_letters() {
        assert_eq!(norm("k1ll y0urs3lf"), "kill yourself");
        assert_eq!(norm("h4t3 5h00t 7ime"), "hate shoot time");
        assert_eq!(norm("$uicide le$bian a$$"), "suicide lesbian ass");
        assert_eq!(norm("k!ll b@d"), "kill bad");
        assert_eq!(norm("K!LL"), "kill");
    }

    #[test]
    fn pure_numbers_stay_as_they_are() {
        assert_eq!(norm("1488 and 88"), "1488 and 88");
        assert_eq!(norm("1000000 3.14"), "1000000 3 14");
        assert_eq!(norm("$5 costs £3"), "5 costs 3");
        assert_eq!(norm("١٢٣"), "١٢٣");
    }

    #[test]
    fn specials_only_count_next_to_word_characters() {
        assert_eq!(norm("hello! wow!!"), "hello wow");
        assert_eq!(norm("!kill"), "kill");
        assert_eq!(
            norm("@kill_me"),
            "kill me",
            "a leading @ is a mention, not an a"
        );
        assert_eq!(norm("meet @ 5"), "meet 5");
        assert_eq!(norm("price $ 5"), "price 5");
        assert_eq!(norm("$$"), "");
        assert_eq!(norm("don't can’t students'"), "dont cant students");
        assert_eq!(norm("'quoted'"), "quoted");
    }

    #[test]
    fn repeated_letters_collapse_to_two() {
        assert_eq!(norm("killlll"), "kill");
        assert_eq!(norm("sooooo"), "soo");
        assert_eq!(norm("DIEEEEE"), "diee");
        assert_eq!(norm("xxx"), "xx");
        assert_eq!(norm("k1lllll"), "kill");
        assert_eq!(norm("ааааа"), "аа", "non-ASCII letters too");
    }

    #[test]
    fn separated_letters_merge_keeping_the_original_span() {
        assert_eq!(norm("s.u.i.c.i.d.e"), "suicide");
        assert_eq!(norm("k i l l myself"), "kill myself");
        assert_eq!(norm("K-I-L-L"), "kill");
        assert_eq!(norm("s_u_i_c_i_d_e"), "suicide");
        assert_eq!(norm("s * u * i"), "sui");
        assert_eq!(
            norm("k 1 l l"),
            "kill",
            "a digit standing for a letter joins"
        );
        assert_eq!(norm("s . u . i . c"), "suic");
        let ev = events(&["i want to k.i.l.l myself"]);
        assert_eq!(
            ev,
            vec![
                "0:i=i",
                "1:want=want",
                "2:to=to",
                "3:kill=k.i.l.l",
                "4:myself=myself"
            ]
        );
    }

    #[test]
    fn separated_letters_need_three_and_plain_separators() {
        assert_eq!(norm("e.g. a cat"), "e g a cat");
        assert_eq!(norm("a b"), "a b");
        assert_eq!(norm("1 2 3"), "1 2 3");
        assert_eq!(norm("a 1 2"), "a 1 2", "two letters needed");
        assert_eq!(norm("a! b! c!"), "a b c", "a dropped ! breaks the run");
        assert_eq!(norm("a;b;c"), "a b c");
        assert_eq!(norm("a    b    c"), "a b c", "too many separators");
        assert_eq!(norm("k.i l.l"), "k i l l", "separators must be the same");
        assert_eq!(norm("e.g. a b c"), "e g abc");
    }

    #[test]
    fn words_split_across_pieces_are_whole() {
        let whole =
            events(&["I want to k.i.l.l my-self, don't $uicide le$bian k!ll ki\u{200B}ll x"]);
        let text = "I want to k.i.l.l my-self, don't $uicide le$bian k!ll ki\u{200B}ll x";
        for (i, _) in text.char_indices().skip(1) {
            let (a, b) = text.split_at(i);
            assert_eq!(events(&[a, b]), whole, "split at {i}");
        }
        let chars: Vec<String> = text.chars().map(String::from).collect();
        let refs: Vec<&str> = chars.iter().map(String::as_str).collect();
        assert_eq!(events(&refs), whole, "one character per piece");
    }

    #[test]
    fn boundaries_end_words_and_runs() {
        let mut n = Normaliser::new();
        let mut ev = Events::default();
        n.push("hello wor", &mut ev);
        n.boundary(&mut ev);
        n.push("ld a b", &mut ev);
        n.boundary(&mut ev);
        n.push("c", &mut ev);
        n.finish(&mut ev);
        assert_eq!(
            ev.0,
            vec![
                "0:hello=hello",
                "1:wor=wor",
                "|",
                "2:ld=ld",
                "3:a=a",
                "4:b=b",
                "|",
                "5:c=c"
            ]
        );
        assert_eq!(n.words(), 6);
    }

    #[test]
    fn look_alike_letters_in_latin_words() {
        assert_eq!(norm("kіll"), "kill", "Cyrillic і");
        assert_eq!(norm("ѕuісіdе"), "suicide");
        assert_eq!(norm("сок"), "сок", "all-Cyrillic words are left alone");
    }

    #[test]
    fn long_tokens_are_cut() {
        let long = "a".repeat(1000) + "b".repeat(700).as_str();
        let words = normalise_words(&long);
        assert!(words.len() >= 6, "{}", words.len());
        assert!(words.iter().all(|(_, o)| o.len() <= MAX_TOKEN_BYTES));
        let bang = format!("a{}b", "!".repeat(100));
        assert_eq!(norm(&bang), "a b");
    }

    #[test]
    fn ascii_and_unicode_paths_agree() {
        for w in ["K1LLLL", "$uicide", "Don't", "h3ll0", "x", "1488", "b@d"] {
            let mut f = Folder::default();
            let ascii = f.fold(w).to_string();
            f.out.clear();
            f.fold_unicode(w);
            assert_eq!(ascii, f.out, "{w}");
        }
    }
}

mod random {
    use super::super::*;

    /// A small xorshift generator: the same cases every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 as usize
        }
    }

    const ALPHABET: &[&str] = &[
        "a", "b", "k", "i", "l", "S", "Z", "0", "1", "3", "7", "9", "$", "@", "!", "'", "’", " ",
        " ", " ", ".", "-", "_", "*", ",", "?", "\n", "\u{200B}", "\u{00AD}", "\u{0301}", "é", "ß",
        "ł", "İ", "ｋ", "ا", "ـ", "\u{064E}", "ک", "і", "🔪", "中", "\u{FEFF}",
    ];

    #[test]
    fn random_text_streams_like_whole_text_and_never_panics() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for case in 0..300 {
            let len = rng.next() % 60;
            let text: String = (0..len)
                .map(|_| ALPHABET[rng.next() % ALPHABET.len()])
                .collect();
            let whole = normalise_words(&text);
            for (norm, _) in &whole {
                assert!(!norm.is_empty() && !norm.contains(' '), "{case}: {text:?}");
            }
            let mut n = Normaliser::new();
            let mut got = Vec::new();
            struct Collect<'a>(&'a mut Vec<(String, String)>);
            impl WordSink for Collect<'_> {
                fn word(&mut self, w: Word<'_>) {
                    self.0.push((w.norm.to_string(), w.orig.to_string()));
                }
                fn boundary(&mut self) {}
            }
            let mut rest = text.as_str();
            while !rest.is_empty() {
                let mut cut = (rng.next() % 7).min(rest.len());
                while !rest.is_char_boundary(cut) {
                    cut += 1;
                }
                let (a, b) = rest.split_at(cut);
                n.push(a, &mut Collect(&mut got));
                rest = b;
            }
            n.finish(&mut Collect(&mut got));
            assert_eq!(got, whole, "case {case}: {text:?}");
        }
    }
}
