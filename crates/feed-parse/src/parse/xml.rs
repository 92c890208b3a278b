//! XML feeds: the tree built ([`Doc::build`]), the feed element found in it,
//! and the [`Mapper`] with what Atom and RSS share (dates, enclosures and
//! media, threading, authors, `sy:` periods). Atom's own fields are in
//! `atom`, RSS's and RDF's in `rss`.
//!
//! ## Threading
//!
//! RFC 4685 `in-reply-to` is read from the same tree as everything else: the
//! tree keeps each element's namespace as resolved by quick-xml's `NsReader`,
//! so `<zz:in-reply-to>` with `xmlns:zz="http://purl.org/syndication/thread/1.0"`
//! counts and a `thr:` prefix bound to anything else (or to nothing) does not.
//! (feed-rs does not expose extension elements it does not know, which is one
//! more reason the mapping is done here.)

use std::io::BufRead;

use url::Url;

use super::dates::parse_date;
use super::finish::settle;
use super::html_page::looks_like_html;
use super::text::{Text, collapse_whitespace, maybe_html};
use super::tree::{Doc, Ns};
use super::{Enclosure, FeedFormat, IncomingFeed, MAX_ENTRIES, ParseError, empty_feed};

pub(super) fn parse_xml(
    text: impl BufRead,
    head: &[u8],
    feed_url: &str,
    doc_base: Option<&Url>,
) -> Result<IncomingFeed, ParseError> {
    let bytes = head;
    let doc = Doc::build(text, doc_base, feed_url);
    let Some(root) = doc.root else {
        if looks_like_html(bytes) {
            return Err(ParseError::NotAFeed("looks like an HTML page".into()));
        }
        return Err(match &doc.error {
            Some(e) => ParseError::Malformed(format!("not well-formed XML: {e}")),
            None => ParseError::NotAFeed("an XML document without elements".into()),
        });
    };
    let Some((kind, el)) = find_feed_root(&doc, root) else {
        let name = doc.el(root).local().to_ascii_lowercase();
        return Err(ParseError::NotAFeed(match name.as_str() {
            "html" | "head" | "body" => "looks like an HTML page".into(),
            "opml" => "an OPML subscription list, not a feed".into(),
            _ if looks_like_html(bytes) => "looks like an HTML page".into(),
            _ => format!(
                "an XML document whose root element is <{}>, not RSS or Atom",
                doc.el(root).qname
            ),
        }));
    };
    let m = Mapper {
        doc: &doc,
        feed_url,
    };
    let mut feed = match kind {
        RootKind::Atom => m.atom_feed(el),
        RootKind::AtomEntry => {
            let mut feed = empty_feed(FeedFormat::Atom);
            feed.entries = settle(m.atom_entry(el, None));
            feed
        }
        RootKind::Rss => m.rss_feed(el, FeedFormat::Rss),
        RootKind::Rdf => m.rss_feed(el, FeedFormat::Rdf),
    };
    if let Some(found) = doc.capped_from {
        feed.capped_from = Some(feed.capped_from.map_or(found, |f| f.max(found)));
    }
    feed.notes = doc.notes;
    if let Some(error) = doc.error {
        feed.notes
            .push(format!("read only up to where it stops: {error}"));
    }
    Ok(feed)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum RootKind {
    Atom,
    AtomEntry,
    Rss,
    Rdf,
}

pub(super) fn root_kind(doc: &Doc, el: u32) -> Option<RootKind> {
    let e = doc.el(el);
    match (e.local().to_ascii_lowercase().as_str(), e.ns) {
        ("feed", ns) if ns.is_atom() => Some(RootKind::Atom),
        ("entry", Ns::Atom10 | Ns::Atom03) => Some(RootKind::AtomEntry),
        ("rss", ns) if ns.is_rss() => Some(RootKind::Rss),
        ("channel", ns) if ns.is_rss() => Some(RootKind::Rss),
        ("rdf", Ns::Rdf | Ns::None | Ns::Other) => Some(RootKind::Rdf),
        _ => None,
    }
}

/// The feed element: the root, or (for a feed wrapped in something, such as an
/// XHTML page) the first feed element within the next few levels.
fn find_feed_root(doc: &Doc, root: u32) -> Option<(RootKind, u32)> {
    let mut level = vec![root];
    for _ in 0..4 {
        if let Some(found) = level
            .iter()
            .find_map(|&el| root_kind(doc, el).map(|k| (k, el)))
        {
            return Some(found);
        }
        level = level.iter().flat_map(|&el| doc.kids(el)).collect();
    }
    None
}

pub(super) struct Mapper<'a> {
    pub(super) doc: &'a Doc,
    pub(super) feed_url: &'a str,
}

impl Mapper<'_> {
    /// At most [`MAX_ENTRIES`] of the entry elements: the newest by date
    /// (published, else updated; undated ones count as oldest, equals keep
    /// document order), still in document order. Chosen before the entries
    /// are read, so a feed of thousands costs its dates, not its contents.
    pub(super) fn newest(
        &self,
        els: Vec<u32>,
        published: &[DateSource],
        updated: &[DateSource],
        out: &mut IncomingFeed,
    ) -> Vec<u32> {
        if els.len() <= MAX_ENTRIES {
            return els;
        }
        out.capped_from = Some(els.len());
        let mut by_date: Vec<(i64, u32)> = els
            .iter()
            .map(|&el| {
                let date = self
                    .first_date(el, published)
                    .or_else(|| self.first_date(el, updated));
                (date.unwrap_or(i64::MIN), el)
            })
            .collect();
        // Stable: among equal dates the earlier in the document wins.
        by_date.sort_by_key(|&(date, _)| std::cmp::Reverse(date));
        let mut kept: Vec<u32> = by_date[..MAX_ENTRIES].iter().map(|&(_, el)| el).collect();
        kept.sort_unstable();
        kept
    }

    /// The date from the first source present; of repeated elements the last
    /// readable one wins (as in feedparser).
    pub(super) fn first_date(&self, el: u32, sources: &[DateSource]) -> Option<i64> {
        let d = self.doc;
        sources.iter().find_map(|(ns, local)| {
            d.children_named(el, ns, local)
                .filter_map(|c| parse_date(&d.text(c)))
                .last()
        })
    }

    /// Atom `link rel="enclosure"` elements as enclosures.
    pub(super) fn enclosure_links(&self, el: u32, ns: fn(Ns) -> bool, out: &mut Vec<Enclosure>) {
        let d = self.doc;
        for link in d.children_named(el, ns, "link") {
            if link_rel(d, link) == "enclosure"
                && let Some(url) = self.link_href(link)
            {
                push_enclosure(
                    out,
                    url,
                    d.attr(link, "type"),
                    d.attr(link, "length"),
                    d.attr(link, "title").map(str::to_string),
                );
            }
        }
    }

    /// A Media RSS element (`media:description`, `media:title`) of the item,
    /// of its `media:group`, or of its `media:content`, in that order.
    pub(super) fn media_child(&self, el: u32, local: &str) -> Option<u32> {
        let d = self.doc;
        let media = |n: Ns| n == Ns::Media;
        let groups: Vec<u32> = std::iter::once(el)
            .chain(d.children_named(el, media, "group"))
            .collect();
        groups
            .iter()
            .find_map(|&g| d.child(g, media, local))
            .or_else(|| {
                groups.iter().find_map(|&g| {
                    d.children_named(g, media, "content")
                        .find_map(|c| d.child(c, media, local))
                })
            })
            .filter(|&c| !d.text(c).trim().is_empty())
    }

    /// `media:description` as text (`type="html"` as HTML), for entries
    /// with no summary or content of their own (video feeds).
    pub(super) fn media_description(&self, el: u32) -> Option<String> {
        let d = self.doc;
        let m = self.media_child(el, "description")?;
        let text = d.text(m);
        match d.attr(m, "type").map(|t| t.trim().to_ascii_lowercase()) {
            Some(t) if t == "html" => Text::Html(text),
            _ => Text::Plain(text),
        }
        .into_html()
    }

    /// `media:content` (direct or in `media:group`) as enclosures.
    pub(super) fn media_enclosures(&self, el: u32, out: &mut Vec<Enclosure>) {
        let d = self.doc;
        let media = |n: Ns| n == Ns::Media;
        let groups: Vec<u32> = std::iter::once(el)
            .chain(d.children_named(el, media, "group"))
            .collect();
        for g in groups {
            for mc in d.children_named(g, media, "content") {
                let Some(url) = d.attr(mc, "url").and_then(|u| d.url(mc, u)) else {
                    continue;
                };
                // An image named only by `medium` is still shown as one.
                let image = d.attr(mc, "medium").map(str::trim) == Some("image");
                let mime = d
                    .attr(mc, "type")
                    .filter(|t| !t.trim().is_empty())
                    .or(image.then_some("image/*"));
                let text = |m: u32| {
                    ["description", "title", "text"]
                        .iter()
                        .find_map(|l| d.child(m, media, l).and_then(|t| d.text_opt(t)))
                };
                // Alt text is for images only (video feeds' long descriptions are not).
                let alt = mime
                    .filter(|m| m.trim().starts_with("image/"))
                    .and_then(|_| text(mc).or_else(|| text(g)))
                    .and_then(|t| maybe_html(t).into_plain());
                push_enclosure(out, url, mime, d.attr(mc, "fileSize"), alt);
            }
        }
    }

    /// RFC 4685 `thr:in-reply-to`, by namespace URI: `href` (resolved) then `ref`.
    pub(super) fn in_reply_to(&self, el: u32) -> Vec<String> {
        let d = self.doc;
        let mut out: Vec<String> = Vec::new();
        for r in d.children_named(el, |n| n == Ns::Thr, "in-reply-to") {
            let href = d.attr(r, "href").and_then(|h| d.url(r, h));
            let reference = d
                .attr(r, "ref")
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            for v in [href, reference].into_iter().flatten() {
                push_unique(&mut out, v);
            }
        }
        out
    }

    /// `sy:updatePeriod` / `sy:updateFrequency` in minutes.
    pub(super) fn sy_period(&self, el: u32) -> Option<u32> {
        let d = self.doc;
        let sy = |n: Ns| n == Ns::Sy;
        let period = d
            .child(el, sy, "updatePeriod")
            .map(|p| d.text(p).trim().to_ascii_lowercase());
        let frequency = d
            .child(el, sy, "updateFrequency")
            .and_then(|f| d.text(f).trim().parse::<u32>().ok());
        if period.is_none() && frequency.is_none() {
            return None;
        }
        let minutes = match period.as_deref().unwrap_or("daily") {
            "hourly" => 60,
            "daily" => 60 * 24,
            "weekly" => 60 * 24 * 7,
            "monthly" => 60 * 24 * 30,
            "yearly" => 60 * 24 * 365,
            _ => return None,
        };
        Some((minutes / frequency.unwrap_or(1).max(1)).max(1))
    }
}

/// Where a date may be: a namespace test and a local name.
type DateSource = (fn(Ns) -> bool, &'static str);

pub(super) const ATOM_PUBLISHED: &[DateSource] = &[
    (Ns::is_atom, "published"),
    (Ns::is_atom, "issued"),
    (Ns::is_atom, "created"),
    (is_dc, "date"),
];
pub(super) const ATOM_UPDATED: &[DateSource] = &[
    (Ns::is_atom, "updated"),
    (Ns::is_atom, "modified"),
    (is_dcterms, "modified"),
];
pub(super) const RSS_PUBLISHED: &[DateSource] = &[
    (Ns::is_rss, "pubDate"),
    (is_dc, "date"),
    (is_dcterms, "issued"),
    (is_dcterms, "created"),
    (is_atom_ns, "published"),
];
pub(super) const RSS_UPDATED: &[DateSource] = &[(is_atom_ns, "updated"), (is_dcterms, "modified")];

/// At most this many enclosures, and in-reply-to references, per entry.
pub(super) const MAX_ENCLOSURES: usize = 32;
const MAX_REPLY_REFS: usize = 16;

/// Adds an enclosure unless its URL is already there or the entry has enough.
pub(super) fn push_enclosure(
    out: &mut Vec<Enclosure>,
    url: String,
    mime_type: Option<&str>,
    length: Option<&str>,
    alt: Option<String>,
) {
    if out.len() >= MAX_ENCLOSURES || out.iter().any(|x| x.url == url) {
        return;
    }
    out.push(Enclosure {
        url,
        mime_type: mime_type
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        length: length.and_then(|l| l.trim().parse().ok()),
        alt: alt.filter(|a| !a.trim().is_empty()),
    });
}

pub(super) fn push_unique(out: &mut Vec<String>, v: String) {
    if out.len() < MAX_REPLY_REFS && !out.contains(&v) {
        out.push(v);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum TextKind {
    Text,
    Html,
    Xhtml,
}

pub(super) fn is_dc(n: Ns) -> bool {
    n == Ns::Dc
}
fn is_dcterms(n: Ns) -> bool {
    n == Ns::Dcterms
}
pub(super) fn is_atom_ns(n: Ns) -> bool {
    matches!(n, Ns::Atom10 | Ns::Atom03)
}

/// A link's relation, lower-cased, "alternate" when absent; IANA IRIs shortened.
pub(super) fn link_rel(d: &Doc, link: u32) -> String {
    let rel = d
        .attr(link, "rel")
        .map(|r| r.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let rel = rel
        .strip_prefix("http://www.iana.org/assignments/relation/")
        .unwrap_or(&rel);
    if rel.is_empty() {
        "alternate".into()
    } else {
        rel.to_string()
    }
}

pub(super) fn is_http_url(s: &str) -> bool {
    let l = s.trim_start().to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

/// A person's display name from "Name", "email (Name)", "Name <email>" or "email".
pub(super) fn person_name(raw: &str) -> String {
    person_name_only(raw).unwrap_or_else(|| collapse_whitespace(raw))
}

/// The name part when there is one (not just an email address).
pub(super) fn person_name_only(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if let (Some(open), true) = (raw.find('('), raw.ends_with(')')) {
        let inner = raw[open + 1..raw.len() - 1].trim();
        let outer = raw[..open].trim();
        let name = if inner.contains('@') && !outer.contains('@') {
            outer
        } else {
            inner
        };
        return (!name.is_empty() && !name.contains('@')).then(|| collapse_whitespace(name));
    }
    if let (Some(open), true) = (raw.find('<'), raw.ends_with('>')) {
        let name = raw[..open].trim().trim_matches('"').trim();
        return (!name.is_empty()).then(|| collapse_whitespace(name));
    }
    let is_email = raw.contains('@') && !raw.contains(' ');
    (!raw.is_empty() && !is_email).then(|| collapse_whitespace(raw))
}

pub(super) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            c if c.is_ascii_whitespace() => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use crate::parse::testing::*;

    #[test]
    fn media_group_descriptions_and_titles_are_used() {
        let f = ok(
            r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
  <entry><id>yt:video:1</id><link href="https://v.example/1"/>
    <media:group><media:title>A video</media:title><media:content url="https://v.example/1.mp4" type="video/mp4"/>
      <media:description>Line one &amp; &lt;two&gt;</media:description></media:group></entry>
</feed>"#,
        );
        let e = &f.entries[0];
        assert_eq!(e.title.as_deref(), Some("A video"));
        assert_eq!(
            e.summary_html.as_deref(),
            Some("Line one &amp; &lt;two&gt;")
        );
        let f = ok(
            r#"<rss xmlns:media="http://search.yahoo.com/mrss/"><channel>
  <item><guid>1</guid><media:content url="https://p.example/1.jpg" medium="image"><media:description type="html">&lt;b&gt;Sunset&lt;/b&gt;</media:description></media:content></item>
  <item><guid>2</guid><description>own</description><media:group><media:description>not used</media:description></media:group></item>
</channel></rss>"#,
        );
        assert_eq!(f.entries[0].summary_html.as_deref(), Some("<b>Sunset</b>"));
        assert_eq!(f.entries[1].summary_html.as_deref(), Some("own"));
        // The image: shown as one though it has no type, with its alt text.
        let image = &f.entries[0].enclosures[0];
        assert_eq!(image.mime_type.as_deref(), Some("image/*"));
        assert_eq!(image.alt.as_deref(), Some("Sunset"));
        let e = &ok(r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
  <entry><id>1</id><media:group><media:content url="https://p.example/2.png" type="image/png"/>
    <media:description>A red kite</media:description></media:group>
    <link rel="enclosure" href="https://p.example/3.jpg" type="image/jpeg" title="Gulls"/></entry></feed>"#)
        .entries[0];
        let alts: Vec<_> = e.enclosures.iter().map(|x| x.alt.as_deref()).collect();
        assert_eq!(alts, [Some("Gulls"), Some("A red kite")]);
    }

    #[test]
    fn in_reply_to_by_namespace_not_prefix() {
        let f = ok(
            r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:zz="http://purl.org/syndication/thread/1.0"
      xmlns:thr="http://example.com/not-threading">
  <entry><id>a</id>
    <zz:in-reply-to ref="tag:example.org,2009:post-1" href="/post/1" type="text/html"/>
    <zz:in-reply-to ref="https://two.example/p"/>
    <thr:in-reply-to ref="wrong namespace"/>
  </entry>
  <entry xmlns:t="http://purl.org/syndication/thread/1.0"><id>b</id><t:in-reply-to ref="https://x.example/p" href="https://x.example/p"/></entry>
  <entry><id>c</id><in-reply-to xmlns="http://purl.org/syndication/thread/1.0" ref="default-namespaced"/></entry>
</feed>"#,
        );
        assert_eq!(
            f.entries[0].in_reply_to,
            [
                "https://example.com/post/1",
                "tag:example.org,2009:post-1",
                "https://two.example/p"
            ]
        );
        assert_eq!(f.entries[1].in_reply_to, ["https://x.example/p"]);
        assert_eq!(f.entries[2].in_reply_to, ["default-namespaced"]);
        // An undeclared `thr:` prefix is not threading.
        let f = ok(
            r#"<rss><channel><item><guid>x</guid><thr:in-reply-to ref="r"/></item></channel></rss>"#,
        );
        assert!(f.entries[0].in_reply_to.is_empty());
        // RSS with the namespace declared (roost's own RSS does this).
        let f = ok(
            r#"<rss xmlns:thr="http://purl.org/syndication/thread/1.0"><channel><item><guid>x</guid><thr:in-reply-to ref="https://a.example/1" href="https://a.example/1"/></item></channel></rss>"#,
        );
        assert_eq!(f.entries[0].in_reply_to, ["https://a.example/1"]);
    }
}
