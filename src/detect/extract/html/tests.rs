//! Tests for the streaming HTML extractor.

use super::*;
use crate::detect::extract::testutil::{assert_split_invariant_str, Collect};

fn run(chunks: &[&str], xml: bool) -> Collect {
    let mut sink = Collect::default();
    let mut x = if xml {
        HtmlExtractor::new_xml(TextKind::Page)
    } else {
        HtmlExtractor::new(TextKind::Page)
    };
    for chunk in chunks {
        x.feed(chunk, &mut sink);
    }
    x.finish(&mut sink);
    sink
}

fn html(doc: &str) -> Collect {
    assert_split_invariant_str(doc, |chunks| run(chunks, false))
}

/// Text parts with ASCII whitespace collapsed and empty parts dropped.
fn parts(c: &Collect) -> Vec<String> {
    c.parts()
        .iter()
        .map(|p| {
            p.split(|c: char| c.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|p| !p.is_empty())
        .collect()
}

#[test]
fn text_nodes_join_inline_and_split_at_blocks() {
    let c = html("<p>Hello <b>wor</b>ld</p><div>next<br>line</div><ul><li>one<li>two</ul>");
    assert_eq!(parts(&c), ["Hello world", "next", "line", "one", "two"]);
    assert!(c.out.starts_with("[page]"));
}

#[test]
fn scripts_styles_comments_and_declarations_are_skipped() {
    let doc = "<!DOCTYPE html><html><head><style>p { color: red }</style>\
        <script>if (a<b && c>d) { x = '</scr' + 'ipt>'; }</script >\
        <SCRIPT type=\"text/javascript\">var hidden = 1;</SCRIPT></head>\
        <body><!-- a comment with <p>tags</p> -->visible<!---->text<!-->more\
        <![CDATA[ cdata hidden ]]>end<?php echo 1 ?>done</body></html>";
    let c = html(doc);
    assert_eq!(parts(&c), ["visibletextmoreenddone"]);
}

#[test]
fn title_is_reported_and_shown_once() {
    let c = html("<html><head><title>  Tom &amp; Jerry\n <b> news </title></head><body><h1>Hi</h1><svg><title>icon</title></svg></body>");
    assert_eq!(c.titles, ["Tom & Jerry <b> news"]);
    assert_eq!(parts(&c), ["Tom & Jerry <b> news", "Hi", "icon"]);
}

#[test]
fn unterminated_title_is_reported_at_the_end() {
    let c = html("<title>cut short");
    assert_eq!(c.titles, ["cut short"]);
}

#[test]
fn alt_title_placeholder_and_text_input_values_are_shown() {
    let doc = "<p>before<img src=a.png alt=\"A &quot;sad&quot; cat\" title='tooltip'>after</p>\
        <a href=/x title=\"link tip\">link</a>\
        <input type=search name=q value=\"how to cope\" placeholder=Search>\
        <input type=password value=secret><input type=hidden value=token123>\
        <input value=plain><textarea placeholder=\"say something\">typed &lt;here&gt;</textarea>";
    let c = html(doc);
    assert_eq!(
        parts(&c),
        [
            "before",
            "A \"sad\" cat",
            "tooltip",
            "after",
            "link tip",
            "link",
            "Search",
            "how to cope",
            "plain",
            "say something",
            "typed <here>"
        ]
    );
}

#[test]
fn entities_decode_even_when_split() {
    let c = html("caf&eacute; &hellip; &#8212; &#x1F600; &rsquo;s &nbsp;x &copy 2024 &bogus; AT&T a&b &#150; &amp");
    assert_eq!(
        c.text(),
        "café … — 😀 ’s \u{a0}x © 2024 &bogus; AT&T a&b – &"
    );
}

#[test]
fn stray_angle_brackets_are_text() {
    let c = html("a < b and 3 <3 you </ > x <");
    assert_eq!(c.text(), "a < b and 3 <3 you  x <");
}

#[test]
fn template_content_is_skipped_and_noscript_kept() {
    let c = html(
        "<template><p>hidden <template>nested</template> still</p></template>shown\
        <noscript>Please enable JavaScript</noscript>",
    );
    assert_eq!(parts(&c), ["shown", "Please enable JavaScript"]);
}

#[test]
fn textarea_and_title_are_raw_text() {
    let c = html("<textarea><p>not a tag</p></textare</textarea>after");
    assert_eq!(parts(&c), ["<p>not a tag</p></textare", "after"]);
}

#[test]
fn long_tags_drop_their_attributes_but_keep_their_meaning() {
    let long = "x".repeat(MAX_TAG + 10);
    let doc =
        format!("<img data-x=\"{long}\" alt=\"dropped\"><script src=\"{long}\">var a;</script>ok");
    let c = run(&[&doc], false);
    assert_eq!(parts(&c), ["ok"]);
    let doc = format!("<img alt=\"kept\" data-x=\"{}\">", "x".repeat(MAX_TAG / 2));
    assert_eq!(parts(&run(&[&doc], false)), ["kept"]);
}

#[test]
fn attribute_parsing_edge_cases() {
    let c =
        html("<img alt = 'spaced' title=unquoted/><img alt><img alt=\"a>b\">x<a title=\"t\"/>y");
    assert_eq!(parts(&c), ["spaced", "unquoted/", "a>b", "x", "t", "y"]);
}

#[test]
fn xml_mode_reads_feeds() {
    let feed = "<?xml version=\"1.0\"?><rss><channel><title>News &amp; views</title>\
        <item><title><![CDATA[First <b>story</b>]]></title><description>&lt;p&gt;Body text&lt;/p&gt;</description></item>\
        <item><title>Second</title><script/></item></channel></rss>";
    let c = assert_split_invariant_str(feed, |chunks| run(chunks, true));
    assert_eq!(c.titles, ["News & views"]);
    assert_eq!(
        parts(&c),
        [
            "News & views",
            "First",
            "story",
            "]]>",
            "<p>Body text</p>",
            "Second"
        ]
    );
}

#[test]
fn a_realistic_page_splits_identically_everywhere() {
    let doc = "<!doctype html>\n<html lang=en><head><meta charset=utf-8><title>Help &amp; support</title>\
        <script>window.x = \"<p>not text</p>\";</script><style>.a{}</style></head>\
        <body class=\"main\"><header><nav><a href=\"/\" title=\"Home page\">Home</a> &middot; <a href=/about>About</a></nav></header>\
        <main><h1>Feeling low?</h1><p>It&rsquo;s OK to ask for help.&nbsp;Call <b>116&#160;123</b>.</p>\
        <img src=\"x.jpg\" alt=\"Two friends talking\"><!-- tracking --><p>Don&#x27;t wait</p>\
        <form><input type=\"text\" placeholder=\"Type here\"><button>Send</button></form></main></body></html>";
    let c = html(doc);
    assert_eq!(c.titles, ["Help & support"]);
    assert_eq!(
        parts(&c),
        [
            "Help & support",
            "Home page",
            "Home · About",
            "Feeling low?",
            "It’s OK to ask for help.\u{a0}Call 116\u{a0}123.",
            "Two friends talking",
            "Don't wait",
            "Type here",
            "Send"
        ]
    );
}

#[test]
fn push_bounded_cuts_at_character_boundaries() {
    let mut s = String::from("ab");
    push_bounded(&mut s, "cżd", 4);
    assert_eq!(s, "abc");
    push_bounded(&mut s, "xyz", 4);
    assert_eq!(s, "abcx");
}
