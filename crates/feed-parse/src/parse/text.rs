//! Text constructs: a value that is plain text or HTML ([`Text`]), and HTML
//! made plain text for titles and names ([`html_to_text`]).

use std::collections::HashSet;

use super::escape::{decode_entities, escape_html};
use super::html_page::html_tags;

/// A text construct's value: plain text or HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Text {
    Plain(String),
    Html(String),
}

impl Text {
    pub(super) fn into_html(self) -> Option<String> {
        let s = match self {
            Text::Plain(t) => escape_html(t.trim()),
            Text::Html(h) => h.trim().to_string(),
        };
        (!s.is_empty()).then_some(s)
    }

    pub(super) fn into_plain(self) -> Option<String> {
        let s = match self {
            Text::Plain(t) => collapse_whitespace(&t),
            Text::Html(h) => html_to_text(&h),
        };
        (!s.is_empty()).then_some(s)
    }
}

/// Plain text that may really be HTML (RSS titles, JSON Feed titles): treated
/// as HTML when it contains a tag or an entity reference.
pub(super) fn maybe_html(s: String) -> Text {
    if looks_like_markup(&s) {
        Text::Html(s)
    } else {
        Text::Plain(s)
    }
}

fn looks_like_markup(s: &str) -> bool {
    let b = s.as_bytes();
    let last_gt = b.iter().rposition(|&c| c == b'>');
    b.iter().enumerate().any(|(i, &c)| match c {
        b'<' => {
            b.get(i + 1)
                .is_some_and(|n| n.is_ascii_alphabetic() || *n == b'/' || *n == b'!')
                && last_gt.is_some_and(|g| g > i)
        }
        b'&' => {
            let rest = &s[i + 1..];
            let name_len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
                .unwrap_or(rest.len());
            name_len > 0
                && rest[name_len..].starts_with(';')
                && decode_entities(&s[i..i + name_len + 2], true) != s[i..i + name_len + 2]
        }
        _ => false,
    })
}

pub(super) fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// HTML to one line of plain text: tags dropped (with `script`/`style`
/// content), an image's `alt` kept, entities decoded, whitespace collapsed.
/// Only markup is dropped: a `<` that starts no known HTML element (and no
/// element closed later on), as in `History of the <blink> tag`, is text.
/// (Also what a reply shows of its parent's stored HTML.)
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let b = html.as_bytes();
    // Names that have an end tag somewhere: an unknown element closed later is markup.
    let mut closed: Option<HashSet<String>> = None;
    let mut i = 0;
    let mut text_start = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        let next = b.get(i + 1).copied().unwrap_or(b' ');
        if !(next.is_ascii_alphabetic() || next == b'/' || next == b'!' || next == b'?') {
            i += 1;
            continue;
        }
        // Find the end of the tag (quotes respected), or of the comment.
        let end = if html[i..].starts_with("<!--") {
            // A comment never closed ends at the next `>`, not with the text.
            html[i + 4..]
                .find("-->")
                .map(|e| i + 4 + e + 3)
                .or_else(|| html[i..].find('>').map(|g| i + g + 1))
                .unwrap_or(b.len())
        } else {
            let mut j = i + 1;
            let mut quote: Option<u8> = None;
            let mut prev = b' ';
            while j < b.len() {
                let c = b[j];
                match quote {
                    Some(q) if c == q => quote = None,
                    Some(_) => {}
                    None if (c == b'"' || c == b'\'') && prev == b'=' => quote = Some(c),
                    None if c == b'>' => break,
                    None => {}
                }
                if !c.is_ascii_whitespace() {
                    prev = c;
                }
                j += 1;
            }
            (j + 1).min(b.len())
        };
        let tag = &html[i + 1..end.min(b.len())];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let markup = matches!(next, b'!' | b'?') || is_html_element(&name) || {
            let closed = closed.get_or_insert_with(|| end_tag_names(html));
            closed.contains(&name)
        };
        if !markup {
            i += 1;
            continue;
        }
        out.push_str(&html[text_start..i]);
        // Block elements part words; comments and inline elements do not.
        if !(next == b'!' || is_inline_element(&name)) {
            out.push(' ');
        }
        if name == "img"
            && next != b'/'
            && let Some((_, attrs)) = html_tags(&html[i..end]).into_iter().next()
            && let Some((_, alt)) = attrs.into_iter().find(|(k, _)| k == "alt")
        {
            out.push_str(&alt);
            out.push(' ');
        }
        i = end;
        if (name == "script" || name == "style") && next != b'/' && !b[..end].ends_with(b"/>") {
            i = skip_raw_text(b, i, &name);
        }
        text_start = i;
    }
    if text_start < b.len() {
        out.push_str(&html[text_start..]);
    }
    collapse_whitespace(&decode_entities(&out, true))
}

/// The lower-cased names of every `</name` in `html`.
fn end_tag_names(html: &str) -> HashSet<String> {
    html.match_indices("</")
        .map(|(i, _)| {
            html[i + 2..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .filter(|n| !n.is_empty())
        .collect()
}

/// Elements inside a line of text (`un<b>believ</b>able` is one word).
fn is_inline_element(name: &str) -> bool {
    matches!(
        name,
        "a" | "abbr"
            | "acronym"
            | "b"
            | "bdi"
            | "bdo"
            | "big"
            | "cite"
            | "code"
            | "del"
            | "dfn"
            | "em"
            | "font"
            | "i"
            | "ins"
            | "kbd"
            | "mark"
            | "q"
            | "s"
            | "samp"
            | "small"
            | "span"
            | "strike"
            | "strong"
            | "sub"
            | "sup"
            | "time"
            | "tt"
            | "u"
            | "var"
    )
}

/// HTML's elements (without the obsolete `blink`, `marquee` and the like,
/// which in a title are more often words about them than markup).
fn is_html_element(name: &str) -> bool {
    matches!(
        name,
        "a" | "abbr"
            | "acronym"
            | "address"
            | "area"
            | "article"
            | "aside"
            | "audio"
            | "b"
            | "bdi"
            | "bdo"
            | "big"
            | "blockquote"
            | "body"
            | "br"
            | "button"
            | "caption"
            | "center"
            | "cite"
            | "code"
            | "col"
            | "colgroup"
            | "dd"
            | "del"
            | "details"
            | "dfn"
            | "div"
            | "dl"
            | "dt"
            | "em"
            | "embed"
            | "figcaption"
            | "figure"
            | "font"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "head"
            | "header"
            | "hr"
            | "html"
            | "i"
            | "iframe"
            | "img"
            | "input"
            | "ins"
            | "kbd"
            | "label"
            | "legend"
            | "li"
            | "link"
            | "main"
            | "mark"
            | "math"
            | "meta"
            | "nav"
            | "noscript"
            | "object"
            | "ol"
            | "p"
            | "param"
            | "picture"
            | "pre"
            | "q"
            | "s"
            | "samp"
            | "script"
            | "section"
            | "select"
            | "small"
            | "source"
            | "span"
            | "strike"
            | "strong"
            | "style"
            | "sub"
            | "summary"
            | "sup"
            | "svg"
            | "table"
            | "tbody"
            | "td"
            | "textarea"
            | "tfoot"
            | "th"
            | "thead"
            | "time"
            | "title"
            | "tr"
            | "tt"
            | "u"
            | "ul"
            | "var"
            | "video"
            | "wbr"
    )
}

/// The position after `</name ...>` (ASCII case-insensitive) from `from`, or the end.
pub(super) fn skip_raw_text(b: &[u8], from: usize, name: &str) -> usize {
    let mut i = from;
    while let Some(off) = b[i..].iter().position(|&c| c == b'<') {
        let at = i + off;
        let close = b.get(at + 1) == Some(&b'/')
            && b.get(at + 2..at + 2 + name.len())
                .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()));
        if close {
            return b[at..]
                .iter()
                .position(|&c| c == b'>')
                .map_or(b.len(), |g| at + g + 1);
        }
        i = at + 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use crate::parse::testing::*;

    #[test]
    fn titles_keep_text_and_the_text_inside_markup() {
        let f = ok(r#"<feed xmlns="http://www.w3.org/2005/Atom">
  <entry><id>1</id><title type="text">Use &lt;b&gt; for bold &amp;amp; more</title></entry>
  <entry><id>2</id><title type="html">History of the &lt;blink&gt; tag</title></entry>
  <entry><id>3</id><title type="html">&lt;em&gt;Hello&lt;/em&gt; &lt;a href="/x"&gt;world&lt;/a&gt;</title></entry>
  <entry><id>4</id><title>No type: &lt;i&gt;stays&lt;/i&gt;</title></entry>
  <entry><id>5</id><title type="html">&lt;img src="s.gif" alt=":-)"&gt; Hi</title></entry>
</feed>"#);
        let titles: Vec<_> = f.entries.iter().map(|e| e.title.as_deref()).collect();
        assert_eq!(
            titles,
            [
                Some("Use <b> for bold &amp; more"),
                Some("History of the <blink> tag"),
                Some("Hello world"),
                Some("No type: <i>stays</i>"),
                Some(":-) Hi"),
            ]
        );
        let f = ok(r#"<rss><channel>
  <item><guid>1</guid><title>History of the &lt;blink&gt; tag</title></item>
  <item><guid>2</guid><title>&lt;strong&gt;Bold&lt;/strong&gt; move</title></item>
  <item><guid>3</guid><title>A &lt;custom&gt;tag&lt;/custom&gt; closed</title></item>
  <item><guid>4</guid><title>&amp;#X41;&#X42;</title></item>
</channel></rss>"#);
        let titles: Vec<_> = f.entries.iter().map(|e| e.title.as_deref()).collect();
        assert_eq!(
            titles,
            [
                Some("History of the <blink> tag"),
                Some("Bold move"),
                Some("A tag closed"),
                Some("AB"),
            ]
        );
    }

    #[test]
    fn comments_in_titles_drop_out_without_taking_the_rest() {
        let f = ok(r#"<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">sa&lt;!-- -- nonwhitespace &gt;fe&lt;script&gt;alert(1);&lt;/script&gt;</title>
  <entry><id>1</id><title type="html">un&lt;b&gt;believ&lt;/b&gt;able&lt;!-- x --&gt;s&lt;br&gt;next</title></entry>
</feed>"#);
        assert_eq!(f.title.as_deref(), Some("safe"));
        assert_eq!(f.entries[0].title.as_deref(), Some("unbelievables next"));
    }

    #[test]
    fn html_in_titles() {
        let f = ok(r#"<rss><channel><title>A &amp;amp; B</title>
  <item><title>&lt;b&gt;Bold&lt;/b&gt; &amp;eacute;t&amp;eacute; &amp;#8217;</title><guid>1</guid></item>
  <item><title>caf&eacute; &nbsp;undeclared&hellip;</title><guid>2</guid></item>
  <item><title>1 &lt; 2 and AT&amp;T</title><guid>3</guid></item>
  <item><title><![CDATA[<script>alert(1)</script>Safe]]></title><guid>4</guid></item>
  <item><title>   multi
     line   </title><guid>5</guid></item>
</channel></rss>"#);
        assert_eq!(f.title.as_deref(), Some("A & B"));
        let titles: Vec<_> = f
            .entries
            .iter()
            .map(|e| e.title.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(
            titles,
            [
                "Bold été ’",
                "café undeclared…",
                "1 < 2 and AT&T",
                "Safe",
                "multi line"
            ]
        );
    }
}
