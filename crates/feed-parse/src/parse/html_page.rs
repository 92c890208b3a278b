//! HTML pages: telling a page from a feed (for "no feed found at URL"),
//! and the feeds a page links to (`<link rel="alternate">`).

use std::collections::HashSet;

use url::Url;

use super::charset::decode;
use super::escape::decode_entities;
use super::text::skip_raw_text;
use super::tree::resolve_url;

/// Whether the bytes look like an HTML page rather than a feed (for "no feed
/// found at URL" vs a parse error): a doctype or an `html`/`head`/`body` tag
/// comes first, or appears early in a document with no feed element there.
pub fn looks_like_html(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let (text, _) = decode(head, None);
    let lower = text.to_ascii_lowercase();
    let mut rest = lower.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    // Skip the XML declaration, comments and processing instructions.
    loop {
        if rest.starts_with("<?") {
            rest = rest.find("?>").map_or("", |e| &rest[e + 2..]).trim_start();
        } else if rest.starts_with("<!--") {
            rest = rest.find("-->").map_or("", |e| &rest[e + 3..]).trim_start();
        } else {
            break;
        }
    }
    if ["<!doctype html", "<html", "<head", "<body"]
        .iter()
        .any(|p| rest.starts_with(p))
    {
        return true;
    }
    let has_feed = ["<rss", "<feed", "<rdf:rdf", "<rdf ", "<channel"]
        .iter()
        .any(|p| lower.contains(p));
    !has_feed
        && ["<html", "<head>", "<body"]
            .iter()
            .any(|p| lower.contains(p))
        && rest.starts_with('<')
}

/// Feed autodiscovery: `<link rel="alternate" type="application/atom+xml|application/rss+xml|application/feed+json|application/json" href>`
/// in an HTML page, hrefs resolved against the page URL (and `<base href>`),
/// in the page's order (the author's, whatever the format); no duplicates.
pub fn discover_feeds(html: &[u8], page_url: &str) -> Vec<String> {
    let (text, _) = decode(&html[..html.len().min(2 * 1024 * 1024)], None);
    let page = Url::parse(page_url.trim()).ok();
    let mut base = page.clone();
    let mut found: Vec<String> = Vec::new();
    for (name, attrs) in html_tags(&text) {
        let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        match name.as_str() {
            "base" => {
                if let Some(h) = get("href")
                    && let Some(u) = resolve_url(h, page.as_ref()).and_then(|u| Url::parse(&u).ok())
                {
                    base = Some(u);
                }
            }
            "link" => {
                let rel_alternate = get("rel").is_some_and(|r| {
                    r.split_ascii_whitespace()
                        .any(|t| t.eq_ignore_ascii_case("alternate"))
                });
                let ty = get("type")
                    .map(|t| {
                        t.split(';')
                            .next()
                            .unwrap_or("")
                            .trim()
                            .to_ascii_lowercase()
                    })
                    .unwrap_or_default();
                let feed_type = matches!(
                    ty.as_str(),
                    "application/atom+xml"
                        | "application/feed+json"
                        | "application/json"
                        | "application/rss+xml"
                        | "application/rdf+xml"
                );
                if !rel_alternate || !feed_type {
                    continue;
                }
                if let Some(u) =
                    get("href").and_then(|h| resolve_url(&decode_entities(h, true), base.as_ref()))
                {
                    found.push(u);
                }
            }
            _ => {}
        }
    }
    let mut seen = HashSet::new();
    found.retain(|u| seen.insert(u.clone()));
    found
}

/// Start tags of an HTML document (name lower-cased, attributes with lower-cased
/// names and raw values), skipping comments and script/style content.
pub(super) fn html_tags(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = text[i..].find('<') {
        i += off;
        if text[i..].starts_with("<!--") {
            i = text[i + 4..].find("-->").map_or(b.len(), |e| i + 4 + e + 3);
            continue;
        }
        let start = i + 1;
        let name_len = text[start..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(text.len() - start);
        if name_len == 0 {
            i += 1;
            continue;
        }
        let name = text[start..start + name_len].to_ascii_lowercase();
        let mut j = start + name_len;
        let mut attrs = Vec::new();
        // Attributes until '>'.
        loop {
            while j < b.len() && (b[j].is_ascii_whitespace() || b[j] == b'/') {
                j += 1;
            }
            if j >= b.len() || b[j] == b'>' {
                break;
            }
            let k0 = j;
            while j < b.len() && !b[j].is_ascii_whitespace() && !matches!(b[j], b'=' | b'>' | b'/')
            {
                j += 1;
            }
            let key = text[k0..j].to_ascii_lowercase();
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            let mut value = String::new();
            if j < b.len() && b[j] == b'=' {
                j += 1;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
                    let q = b[j];
                    let v0 = j + 1;
                    let end = text[v0..].find(q as char).map_or(b.len(), |e| v0 + e);
                    value = text[v0..end].to_string();
                    j = (end + 1).min(b.len());
                } else {
                    let v0 = j;
                    while j < b.len() && !b[j].is_ascii_whitespace() && b[j] != b'>' {
                        j += 1;
                    }
                    value = text[v0..j].to_string();
                }
            }
            if key.is_empty() {
                // A stray '=' or quote: step over it (ASCII, so j stays on a char boundary).
                if j == k0 {
                    j += 1;
                }
            } else {
                attrs.push((key, value));
            }
        }
        i = (j + 1).min(b.len());
        if name == "script" || name == "style" {
            i = skip_raw_text(b, i, &name);
        }
        out.push((name, attrs));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testing::*;

    #[test]
    fn discovery() {
        let html = br#"<!DOCTYPE html><html><head>
<base href="https://cdn.example.com/site/">
<!-- <link rel="alternate" type="application/atom+xml" href="/commented-out"> -->
<LINK REL="alternate" TYPE="application/rss+xml" HREF="rss.xml">
<link rel="alternate feed" type="application/feed+json" href="/feed.json">
<link rel=alternate type=application/atom+xml href=atom.xml>
<link rel="stylesheet" type="text/css" href="style.css">
<link rel="alternate" type="text/html" href="/other-language">
<link rel="alternate" type="application/json" href="../feed.json?x=1&amp;y=2">
<link rel="alternate" type="application/rss+xml" href="rss.xml">
<script>document.write('<link rel="alternate" type="application/atom+xml" href="/script">')</script>
</head><body></body></html>"#;
        assert_eq!(
            discover_feeds(html, "https://example.com/blog/post"),
            [
                "https://cdn.example.com/site/rss.xml",
                "https://cdn.example.com/feed.json",
                "https://cdn.example.com/site/atom.xml",
                "https://cdn.example.com/feed.json?x=1&y=2",
            ],
            "the page's order, whatever the format"
        );
        assert_eq!(
            discover_feeds(
                br#"<link rel="alternate" type="application/rss+xml" href="/f">"#,
                "https://a.example/x/y"
            ),
            ["https://a.example/f"]
        );
        assert!(
            discover_feeds(b"<html><body>nothing</body></html>", "https://a.example/").is_empty()
        );
        assert!(
            discover_feeds(
                "\u{e9}<link rel=\"alternate\" =x type=\"application/rss+xml\" h\u{e9}ref=\u{e9}>"
                    .as_bytes(),
                "https://a.example/"
            )
            .is_empty()
        );
    }

    #[test]
    fn html_pages_and_other_non_feeds() {
        let page = b"<!DOCTYPE html>\n<html><head><title>Hi</title><meta charset=utf-8></head><body><p>Hello</body></html>";
        assert!(looks_like_html(page));
        assert_eq!(
            parse(page, Some("text/html"), URL).unwrap_err().to_string(),
            "not a feed: looks like an HTML page"
        );
        assert!(looks_like_html(b"\xef\xbb\xbf  <!-- x --><html lang=en>"));
        assert!(!looks_like_html(b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>x</title></channel></rss>"));
        assert!(!looks_like_html(
            b"<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>x</title></feed>"
        ));
        assert_eq!(parse(b"  \n ", None, URL).unwrap_err(), ParseError::Empty);
        assert_eq!(
            ParseError::Empty.to_string(),
            "not a feed: the document is empty"
        );
        let opml = parse(
            b"<opml version=\"2.0\"><body><outline/></body></opml>",
            None,
            URL,
        )
        .unwrap_err();
        assert_eq!(
            opml.to_string(),
            "not a feed: an OPML subscription list, not a feed"
        );
        assert!(matches!(
            parse(b"<catalog><book/></catalog>", None, URL),
            Err(ParseError::NotAFeed(_))
        ));
        assert!(matches!(
            parse(b"<<<>>>", None, URL),
            Err(ParseError::Malformed(_) | ParseError::NotAFeed(_))
        ));
        // An Atom feed wrapped in an XHTML page is still found.
        let wrapped = b"<html xmlns=\"http://www.w3.org/1999/xhtml\"><body><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>In</title></feed></body></html>";
        assert_eq!(
            parse(wrapped, None, URL).unwrap().title.as_deref(),
            Some("In")
        );
    }
}
