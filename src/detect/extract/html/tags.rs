//! What the HTML extractor needs to know about elements and attributes: which elements end a
//! block of text, which hold raw text, and which attribute values a person sees.

/// Elements whose start and end separate the text before from the text after (block-level and
/// table elements, line breaks, form controls, embedded content).
pub(crate) fn is_block(name: &[u8]) -> bool {
    matches!(
        name,
        b"address"
            | b"article"
            | b"aside"
            | b"audio"
            | b"blockquote"
            | b"body"
            | b"br"
            | b"button"
            | b"canvas"
            | b"caption"
            | b"center"
            | b"col"
            | b"colgroup"
            | b"dd"
            | b"details"
            | b"dialog"
            | b"dir"
            | b"div"
            | b"dl"
            | b"dt"
            | b"embed"
            | b"fieldset"
            | b"figcaption"
            | b"figure"
            | b"footer"
            | b"form"
            | b"frame"
            | b"frameset"
            | b"h1"
            | b"h2"
            | b"h3"
            | b"h4"
            | b"h5"
            | b"h6"
            | b"head"
            | b"header"
            | b"hgroup"
            | b"hr"
            | b"html"
            | b"iframe"
            | b"img"
            | b"input"
            | b"legend"
            | b"li"
            | b"listing"
            | b"main"
            | b"menu"
            | b"meter"
            | b"nav"
            | b"noscript"
            | b"object"
            | b"ol"
            | b"optgroup"
            | b"option"
            | b"p"
            | b"picture"
            | b"pre"
            | b"progress"
            | b"section"
            | b"select"
            | b"summary"
            | b"svg"
            | b"table"
            | b"tbody"
            | b"td"
            | b"textarea"
            | b"tfoot"
            | b"th"
            | b"thead"
            | b"title"
            | b"tr"
            | b"ul"
            | b"video"
            | b"wbr"
    )
}

/// How an element's content is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawKind {
    /// Raw text nobody reads as text (`script`, `style`, ...): skipped up to the end tag.
    Skip,
    /// Escapable raw text (`title`, `textarea`): text with entities, no tags, up to the end tag.
    Text,
}

/// Elements whose content is not markup, with the (static) name their end tag must match.
pub(crate) fn raw_kind(name: &[u8]) -> Option<(RawKind, &'static [u8])> {
    Some(match name {
        b"script" => (RawKind::Skip, b"script"),
        b"style" => (RawKind::Skip, b"style"),
        b"xmp" => (RawKind::Skip, b"xmp"),
        b"iframe" => (RawKind::Skip, b"iframe"),
        b"noembed" => (RawKind::Skip, b"noembed"),
        b"noframes" => (RawKind::Skip, b"noframes"),
        b"title" => (RawKind::Text, b"title"),
        b"textarea" => (RawKind::Text, b"textarea"),
        _ => return None,
    })
}

/// Attribute values captured while a start tag is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// `alt`: the text that stands for an image.
    Alt = 0,
    /// `title`: a tooltip on images, links and abbreviations.
    Title = 1,
    /// `placeholder` of a text field.
    Placeholder = 2,
    /// `value` of an input (prefilled text, button labels; a results page's search box).
    Value = 3,
    /// `type` of an input, to tell text fields from hidden and password ones.
    Type = 4,
}

/// Number of [`Slot`]s.
pub(crate) const SLOTS: usize = 5;

/// The slot an attribute of an element goes to, if a person sees its value.
pub(crate) fn slot_for(element: &[u8], attribute: &[u8]) -> Option<Slot> {
    match (element, attribute) {
        (b"img" | b"area" | b"input", b"alt") => Some(Slot::Alt),
        (b"img" | b"area" | b"a" | b"abbr", b"title") => Some(Slot::Title),
        (b"input" | b"textarea", b"placeholder") => Some(Slot::Placeholder),
        (b"input", b"value") => Some(Slot::Value),
        (b"input", b"type") => Some(Slot::Type),
        _ => None,
    }
}

/// The captured slots to show, in order, for a start tag. `input_type` is the captured `type`
/// (any case, spaces around allowed).
pub(crate) fn shown_slots(element: &[u8], input_type: &str) -> &'static [Slot] {
    match element {
        b"img" | b"area" => &[Slot::Alt, Slot::Title],
        b"a" | b"abbr" => &[Slot::Title],
        b"textarea" => &[Slot::Placeholder],
        b"input" => {
            let t = input_type.trim();
            let is = |name: &str| t.eq_ignore_ascii_case(name);
            if t.is_empty()
                || ["text", "search", "email", "submit", "button", "reset"]
                    .into_iter()
                    .any(is)
            {
                &[Slot::Placeholder, Slot::Value]
            } else if is("image") {
                &[Slot::Alt]
            } else {
                // hidden, password, checkbox, number, url, ...: nothing a person reads.
                &[]
            }
        }
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_answer_as_documented() {
        assert!(is_block(b"p") && is_block(b"td") && is_block(b"h3") && is_block(b"br"));
        assert!(!is_block(b"span") && !is_block(b"a") && !is_block(b"b"));
        assert_eq!(raw_kind(b"script"), Some((RawKind::Skip, &b"script"[..])));
        assert_eq!(raw_kind(b"title").map(|r| r.0), Some(RawKind::Text));
        assert_eq!(
            raw_kind(b"noscript"),
            None,
            "noscript text is shown to some users"
        );
        assert_eq!(slot_for(b"img", b"alt"), Some(Slot::Alt));
        assert_eq!(slot_for(b"div", b"title"), None);
        assert_eq!(shown_slots(b"input", "password"), &[] as &[Slot]);
        assert_eq!(
            shown_slots(b"input", "search"),
            &[Slot::Placeholder, Slot::Value]
        );
    }
}
