//! Text from a request URL: search terms typed into search engines and video sites (reported
//! as [`TextKind::Search`]) and, conservatively, the words of readable path segments ("slugs"
//! such as `/how-to-stop-feeling-sad`, reported as [`TextKind::Page`]).
//!
//! Search rules are per site (the host's registrable name, any country domain) with the path
//! and parameter the site uses; a generic rule then takes `q`, `query`, `search` or `s` on any
//! host whose path contains "search" (or whose host starts with `search.`). Redirect and
//! tracking endpoints (Google's `/url?q=`) match no rule. Path segments are read only when they
//! have at least two alphabetic words and no token that mixes letters and digits, so ids,
//! hashes and tracking parameters are never read.

use crate::detect::{TextKind, TextSink};

/// Which search rule matched a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SearchEngine {
    /// Google.
    Google,
    /// Bing.
    Bing,
    /// DuckDuckGo.
    DuckDuckGo,
    /// Yahoo.
    Yahoo,
    /// Ecosia.
    Ecosia,
    /// Yandex.
    Yandex,
    /// Baidu.
    Baidu,
    /// YouTube.
    YouTube,
    /// TikTok.
    TikTok,
    /// Instagram.
    Instagram,
    /// Twitter (and X).
    Twitter,
    /// Reddit.
    Reddit,
    /// Pinterest.
    Pinterest,
    /// Amazon.
    Amazon,
    /// Wikipedia.
    Wikipedia,
    /// Any other site's search (the generic rule).
    Other,
}

impl SearchEngine {
    /// A short label.
    pub fn label(self) -> &'static str {
        match self {
            SearchEngine::Google => "google",
            SearchEngine::Bing => "bing",
            SearchEngine::DuckDuckGo => "duckduckgo",
            SearchEngine::Yahoo => "yahoo",
            SearchEngine::Ecosia => "ecosia",
            SearchEngine::Yandex => "yandex",
            SearchEngine::Baidu => "baidu",
            SearchEngine::YouTube => "youtube",
            SearchEngine::TikTok => "tiktok",
            SearchEngine::Instagram => "instagram",
            SearchEngine::Twitter => "twitter",
            SearchEngine::Reddit => "reddit",
            SearchEngine::Pinterest => "pinterest",
            SearchEngine::Amazon => "amazon",
            SearchEngine::Wikipedia => "wikipedia",
            SearchEngine::Other => "other",
        }
    }
}

/// A site's search rule: its name label, a path test and its query parameters.
struct Rule {
    engine: SearchEngine,
    sites: &'static [&'static str],
    path: fn(&str) -> bool,
    params: &'static [&'static str],
}

fn any_path(_: &str) -> bool {
    true
}

fn has_search(path: &str) -> bool {
    path.to_ascii_lowercase().contains("search")
}

static RULES: &[Rule] = &[
    Rule {
        engine: SearchEngine::Google,
        sites: &["google"],
        path: |p| p == "/search" || p.starts_with("/search/") || p == "/complete/search",
        params: &["q"],
    },
    Rule {
        engine: SearchEngine::Bing,
        sites: &["bing"],
        path: |p| has_search(p) || p.eq_ignore_ascii_case("/AS/Suggestions"),
        params: &["q", "qry"],
    },
    Rule {
        engine: SearchEngine::DuckDuckGo,
        sites: &["duckduckgo"],
        path: any_path,
        params: &["q"],
    },
    Rule {
        engine: SearchEngine::Yahoo,
        sites: &["yahoo"],
        path: has_search,
        params: &["p"],
    },
    Rule {
        engine: SearchEngine::Ecosia,
        sites: &["ecosia"],
        path: any_path,
        params: &["q"],
    },
    Rule {
        engine: SearchEngine::Yandex,
        sites: &["yandex", "ya"],
        path: has_search,
        params: &["text"],
    },
    Rule {
        engine: SearchEngine::Baidu,
        sites: &["baidu"],
        path: |p| p == "/s" || has_search(p),
        params: &["wd", "word"],
    },
    Rule {
        engine: SearchEngine::YouTube,
        sites: &["youtube"],
        path: |p| p == "/results" || has_search(p),
        params: &["search_query", "q"],
    },
    Rule {
        engine: SearchEngine::TikTok,
        sites: &["tiktok"],
        path: has_search,
        params: &["q", "keyword"],
    },
    Rule {
        engine: SearchEngine::Instagram,
        sites: &["instagram"],
        path: has_search,
        params: &["q", "query"],
    },
    Rule {
        engine: SearchEngine::Twitter,
        sites: &["twitter", "x"],
        path: has_search,
        params: &["q"],
    },
    Rule {
        engine: SearchEngine::Reddit,
        sites: &["reddit"],
        path: has_search,
        params: &["q"],
    },
    Rule {
        engine: SearchEngine::Pinterest,
        sites: &["pinterest"],
        path: has_search,
        params: &["q"],
    },
    Rule {
        engine: SearchEngine::Amazon,
        sites: &["amazon"],
        path: |p| p == "/s" || p.starts_with("/s/") || has_search(p),
        params: &["k", "field-keywords"],
    },
    Rule {
        engine: SearchEngine::Wikipedia,
        sites: &["wikipedia"],
        path: any_path,
        params: &["search"],
    },
];

const GENERIC_PARAMS: &[&str] = &["q", "query", "search", "s"];

/// The parts of a URL this module reads.
struct Parts<'a> {
    host: String,
    path: &'a str,
    query: &'a str,
}

fn split(url: &str) -> Parts<'_> {
    let url = url.split('#').next().unwrap_or_default();
    let (authority, rest) = match url.split_once("://") {
        Some((_, after)) => match after.find(['/', '?']) {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        },
        None => ("", url),
    };
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = if host.starts_with('[') {
        host
    } else {
        host.split(':').next().unwrap_or_default()
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    Parts {
        host: host.trim_end_matches('.').to_ascii_lowercase(),
        path: if path.is_empty() { "/" } else { path },
        query,
    }
}

/// True if `host` is `name` under a public suffix of one or two short labels (`google.com`,
/// `www.google.co.uk`, `uk.search.yahoo.com`).
fn host_is(host: &str, name: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    labels.iter().enumerate().any(|(i, l)| {
        let suffix = &labels[i + 1..];
        *l == name
            && (1..=2).contains(&suffix.len())
            && suffix
                .iter()
                .all(|s| (2..=3).contains(&s.len()) || *s == "info")
    })
}

/// Decodes `%XX` (invalid escapes kept as written) and `+` as a space, then UTF-8 (invalid
/// sequences become U+FFFD).
pub fn percent_decode(s: &str, plus_as_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |j: usize| b.get(j).and_then(|c| char::from(*c).to_digit(16));
        match b[i] {
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_as_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The values of `name` in a query string.
fn values<'a>(query: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    query.split('&').filter_map(move |pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name || percent_decode(k, true) == name).then_some(v)
    })
}

/// Reports a URL's search terms (as [`TextKind::Search`], one boundary after each) and
/// readable path words (as [`TextKind::Page`]). Returns the search rule that matched, if any.
pub fn extract_url(url: &str, sink: &mut dyn TextSink) -> Option<SearchEngine> {
    let parts = split(url);
    let mut engine = None;
    let rule = RULES
        .iter()
        .find(|r| r.sites.iter().any(|s| host_is(&parts.host, s)) && (r.path)(parts.path));
    let (params, matched) = match rule {
        Some(r) => (r.params, Some(r.engine)),
        None if has_search(parts.path) || parts.host.starts_with("search.") => {
            (GENERIC_PARAMS, Some(SearchEngine::Other))
        }
        None => (&[][..], None),
    };
    for param in params {
        let mut found = false;
        for value in values(parts.query, param) {
            let terms = percent_decode(value, true);
            let terms = terms.trim();
            if !terms.is_empty() {
                sink.text(TextKind::Search, terms);
                sink.boundary();
                engine = matched;
                found = true;
            }
        }
        if found {
            break;
        }
    }
    path_words(parts.path, sink);
    engine
}

/// Reports the words of readable path segments.
fn path_words(path: &str, sink: &mut dyn TextSink) {
    let alphabetic = |t: &str| t.chars().all(char::is_alphabetic) && t.chars().count() <= 30;
    let mixed =
        |t: &str| t.chars().any(char::is_alphabetic) && t.chars().any(|c| c.is_ascii_digit());
    let numeric = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    for segment in path.split('/') {
        let segment = percent_decode(segment, true);
        let stem = match segment.rsplit_once('.') {
            Some((stem, ext))
                if ext.len() <= 5 && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                stem
            }
            _ => segment.as_str(),
        };
        let tokens: Vec<&str> = stem
            .split(['-', '_', ' ', '+', '.', ','])
            .filter(|t| !t.is_empty())
            .collect();
        let words: Vec<&str> = tokens.iter().copied().filter(|t| alphabetic(t)).collect();
        let readable = tokens
            .iter()
            .all(|t| (alphabetic(t) || numeric(t)) && !mixed(t));
        if words.len() < 2 || !readable {
            continue;
        }
        sink.text(TextKind::Page, &words.join(" "));
        sink.boundary();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::extract::testutil::Collect;

    fn url(u: &str) -> (Option<SearchEngine>, String) {
        let mut sink = Collect::default();
        let engine = extract_url(u, &mut sink);
        (engine, sink.out)
    }

    #[test]
    fn major_engines_give_search_terms() {
        use SearchEngine::*;
        let cases = [
            (
                "https://www.google.co.uk/search?q=how+to+tie+a+noose&oq=how&sourceid=chrome",
                Google,
                "how to tie a noose",
            ),
            (
                "https://www.google.com/complete/search?client=chrome&q=how%20t",
                Google,
                "how t",
            ),
            (
                "https://www.bing.com/search?q=self+harm&form=QBLH",
                Bing,
                "self harm",
            ),
            (
                "https://duckduckgo.com/?q=sewerslide&t=h_",
                DuckDuckGo,
                "sewerslide",
            ),
            (
                "https://uk.search.yahoo.com/search?p=kms+methods",
                Yahoo,
                "kms methods",
            ),
            (
                "https://www.ecosia.org/search?method=index&q=vape+shop",
                Ecosia,
                "vape shop",
            ),
            (
                "https://yandex.ru/search/?text=%D0%BD%D0%BE%D0%B6",
                Yandex,
                "нож",
            ),
            (
                "https://www.baidu.com/s?wd=%E8%87%AA%E6%9D%80",
                Baidu,
                "自杀",
            ),
            (
                "https://www.youtube.com/results?search_query=knife+fight",
                YouTube,
                "knife fight",
            ),
            (
                "https://www.tiktok.com/search?q=unalive&t=1",
                TikTok,
                "unalive",
            ),
            (
                "https://www.instagram.com/explore/search/keyword/?q=thinspo",
                Instagram,
                "thinspo",
            ),
            (
                "https://x.com/search?q=%23proana&src=typed_query",
                Twitter,
                "#proana",
            ),
            ("https://twitter.com/search?q=bullying", Twitter, "bullying"),
            (
                "https://www.reddit.com/r/teenagers/search/?q=lonely&restrict_sr=1",
                Reddit,
                "lonely",
            ),
            (
                "https://uk.pinterest.com/search/pins/?q=sad%20quotes",
                Pinterest,
                "sad quotes",
            ),
            ("https://www.amazon.co.uk/s?k=rope&crid=2X", Amazon, "rope"),
            (
                "https://en.wikipedia.org/w/index.php?search=overdose&title=Special%3ASearch",
                Wikipedia,
                "overdose",
            ),
            (
                "https://forum.example.org/search.php?keywords=x&q=pills",
                Other,
                "pills",
            ),
            (
                "https://search.brave.com/?q=brave+query",
                Other,
                "brave query",
            ),
        ];
        for (u, engine, terms) in cases {
            let (got, out) = url(u);
            assert_eq!(got, Some(engine), "{u}");
            assert_eq!(out, format!("[search]{terms}"), "{u}");
        }
    }

    #[test]
    fn non_search_urls_give_no_search_terms() {
        for u in [
            "https://www.google.com/url?q=https://example.com/&sa=D",
            "https://www.google.com/maps?q=london",
            "https://example.com/?q=not+a+search+page",
            "https://notgoogle.com/search?x=1",
            "https://www.google.com/search?q=",
        ] {
            let (engine, out) = url(u);
            assert_eq!(engine, None, "{u}");
            assert!(!out.contains("[search]"), "{u}: {out}");
        }
    }

    #[test]
    fn escapes_and_edge_cases() {
        assert_eq!(percent_decode("100%+sure%2", true), "100% sure%2");
        assert_eq!(percent_decode("a%zzb%C5%BC+", false), "a%zzbż+");
        assert_eq!(percent_decode("%ff", true), "\u{fffd}");
        let (engine, out) =
            url("http://user:pw@WWW.GOOGLE.COM:8080/search?q=caf%C3%A9&q=second#frag");
        assert_eq!(engine, Some(SearchEngine::Google));
        assert_eq!(out, "[search]café|second");
    }

    #[test]
    fn readable_path_slugs_are_page_words() {
        let (_, out) = url(
            "https://www.example.com/news/2024/how-to-stop-feeling-sad.html?utm_source=x&id=123",
        );
        assert_eq!(out, "[page]how to stop feeling sad");
        let (_, out) =
            url("https://site.example/articles/uk-67213456/a1b2c3-d4e5/Self_Harm_Support/");
        assert_eq!(out, "[page]Self Harm Support");
        let (_, out) = url("https://cdn.example/static/js/main.3f9a8c.js");
        assert_eq!(out, "");
    }
}
