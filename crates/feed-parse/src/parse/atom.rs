//! The Atom 1.0 and 0.3 mapping: a feed and its entries read from the tree.

use super::finish::{Built, Draft, settle, with_feed_author};
use super::text::{Text, maybe_html};
use super::tree::{Node, Ns};
use super::xml::{
    ATOM_PUBLISHED, ATOM_UPDATED, Mapper, TextKind, base64_decode, link_rel, person_name,
};
use super::{FeedFormat, IncomingEntry, IncomingFeed, empty_feed};

impl Mapper<'_> {
    pub(super) fn atom_feed(&self, feed: u32) -> IncomingFeed {
        let d = self.doc;
        let mut out = empty_feed(FeedFormat::Atom);
        out.title = d
            .child(feed, Ns::is_atom, "title")
            .and_then(|t| self.atom_text(t))
            .and_then(Text::into_plain);
        out.home_url = self.atom_alternate(feed);
        out.hub = self.link_rel(feed, Ns::is_atom, "hub");
        out.self_url = self.link_rel(feed, Ns::is_atom, "self");
        out.update_period_minutes = self.sy_period(feed);
        let author = self.atom_author(feed);
        let entries: Vec<u32> = d.children_named(feed, Ns::is_atom, "entry").collect();
        let entries = self.newest(entries, ATOM_PUBLISHED, ATOM_UPDATED, &mut out);
        out.entries = settle(
            entries
                .into_iter()
                .filter_map(|e| self.atom_entry(e, author.as_deref())),
        );
        out
    }

    pub(super) fn atom_entry(&self, el: u32, feed_author: Option<&str>) -> Option<Built> {
        let d = self.doc;
        if let Some(built) = d.take_premapped(el) {
            return with_feed_author(built, feed_author);
        }
        let content = d.child(el, Ns::is_atom, "content");
        let summary = d.child(el, Ns::is_atom, "summary");
        let base_el = content
            .filter(|&c| d.attr(c, "src").is_none())
            .or(summary)
            .unwrap_or(el);
        let mut draft = Draft::new(d.base_string(base_el, self.feed_url));
        draft.id = d.child(el, Ns::is_atom, "id").and_then(|i| {
            let id = d.text_opt(i)?;
            // An id that is a path (`/2024/post`) is relative to the base, as
            // xml:base says; any other id is kept exactly as written.
            if id.starts_with('/') && !id.starts_with("//") {
                d.url(i, &id)
            } else {
                Some(id)
            }
        });
        let e = &mut draft.entry;
        e.link = self.atom_alternate(el);
        e.title = d
            .child(el, Ns::is_atom, "title")
            .and_then(|t| self.atom_text(t))
            .and_then(Text::into_plain);
        e.content_html = content
            .and_then(|c| self.atom_text(c))
            .and_then(Text::into_html);
        e.summary_html = summary
            .and_then(|s| self.atom_text(s))
            .and_then(Text::into_html);
        e.author = self.atom_author(el).or_else(|| self.rss_author(el));
        e.published = self.first_date(el, ATOM_PUBLISHED);
        e.updated = self.first_date(el, ATOM_UPDATED);
        self.enclosure_links(el, Ns::is_atom, &mut e.enclosures);
        self.media_enclosures(el, &mut e.enclosures);
        self.media_fallbacks(el, e);
        e.in_reply_to = self.in_reply_to(el);
        draft.finish(feed_author)
    }

    /// An entry without a title or text of its own takes its Media RSS ones.
    pub(super) fn media_fallbacks(&self, el: u32, e: &mut IncomingEntry) {
        if e.content_html.is_none() && e.summary_html.is_none() {
            e.summary_html = self.media_description(el);
        }
        if e.title.is_none() {
            e.title = self
                .media_child(el, "title")
                .and_then(|t| maybe_html(self.doc.text(t)).into_plain());
        }
    }

    /// An Atom text construct (1.0 `type`, 0.3 `type` + `mode`).
    fn atom_text(&self, el: u32) -> Option<Text> {
        let d = self.doc;
        let ty = d
            .attr(el, "type")
            .map(|t| t.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let mode = d
            .attr(el, "mode")
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let kind = match ty.as_str() {
            "" | "text" | "text/plain" => TextKind::Text,
            "html" | "text/html" => TextKind::Html,
            "xhtml" | "application/xhtml+xml" => TextKind::Xhtml,
            t if t.ends_with("+xml") || t.ends_with("/xml") => TextKind::Xhtml,
            t if t.starts_with("text/") => TextKind::Text,
            _ if d.attr(el, "src").is_some() => return None,
            // Other media types are base64 (RFC 4287 4.1.3.3): shown only if
            // they decode to text.
            _ => {
                let raw = base64_decode(&d.text(el))?;
                return String::from_utf8(raw)
                    .ok()
                    .filter(|t| !t.trim().is_empty())
                    .map(Text::Html);
            }
        };
        if mode == "base64" {
            let raw = base64_decode(&d.text(el))?;
            let s = String::from_utf8_lossy(&raw).into_owned();
            return Some(match kind {
                TextKind::Text => Text::Plain(s),
                _ => Text::Html(s),
            });
        }
        if d.attr(el, "src").is_some()
            && !d.has_element_children(el)
            && d.text(el).trim().is_empty()
        {
            return None;
        }
        Some(match kind {
            _ if d.has_element_children(el) => Text::Html(self.xhtml_inner(el)),
            TextKind::Html => Text::Html(d.text(el)),
            TextKind::Text | TextKind::Xhtml => Text::Plain(d.text(el)),
        })
    }

    /// XHTML content: the children of the wrapping `div` when there is exactly one.
    fn xhtml_inner(&self, el: u32) -> String {
        let d = self.doc;
        let only_div = d.el(el).children.iter().all(|n| match n {
            Node::Text(t) => t.trim().is_empty(),
            Node::El(_) => true,
        }) && d.kids(el).count() == 1;
        match d.kids(el).next() {
            Some(div)
                if only_div
                    && d.el(div).local() == "div"
                    && matches!(d.el(div).ns, Ns::Xhtml | Ns::None) =>
            {
                d.inner_xml(div)
            }
            _ => d.inner_xml(el),
        }
    }

    /// The alternate link: the first `rel="alternate"` (or no rel) link to an
    /// HTML page, else the first alternate link of any type.
    fn atom_alternate(&self, el: u32) -> Option<String> {
        let d = self.doc;
        let alternates: Vec<u32> = d
            .children_named(el, Ns::is_atom, "link")
            .filter(|&l| link_rel(d, l) == "alternate")
            .collect();
        let html_like = |l: &u32| {
            d.attr(*l, "type").is_none_or(|t| {
                let t = t.trim().to_ascii_lowercase();
                t.is_empty() || t.starts_with("text/html") || t.starts_with("application/xhtml+xml")
            })
        };
        alternates
            .iter()
            .filter(|l| html_like(l))
            .chain(alternates.iter())
            .find_map(|&l| self.link_href(l))
    }

    /// `href`, or (Atom 0.3 feeds in the wild) the element's text.
    pub(super) fn link_href(&self, link: u32) -> Option<String> {
        let d = self.doc;
        match d.attr(link, "href") {
            Some(h) => d.url(link, h),
            None => d.url(link, &d.text(link)),
        }
    }

    pub(super) fn atom_author(&self, el: u32) -> Option<String> {
        let d = self.doc;
        d.children_named(el, Ns::is_atom, "author").find_map(|a| {
            let name = d
                .child(a, |_| true, "name")
                .and_then(|n| d.text_opt(n))
                .map(|n| maybe_html(n).into_plain());
            match name {
                Some(n) => n,
                // Atom 0.3 and odd feeds: an author with only an email, or with text.
                None => d
                    .child(a, |_| true, "email")
                    .and_then(|n| d.text_opt(n))
                    .or_else(|| {
                        if d.has_element_children(a) {
                            None
                        } else {
                            d.text_opt(a).map(|t| person_name(&t))
                        }
                    }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::parse::testing::*;

    #[test]
    fn atom_1_0() {
        let f = ok(r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://example.com/blog/">
  <title type="html">Jo &amp;lt;3 &lt;b&gt;feeds&lt;/b&gt;</title>
  <link rel="self" href="feed.xml"/>
  <link href="./"/>
  <author><name>Jo</name></author>
  <entry>
    <id>tag:example.com,2024:1</id>
    <title>1 &lt; 2 &amp; <![CDATA[<b>not bold</b>]]></title>
    <link rel="alternate" type="application/atom+xml" href="/1.atom"/>
    <link rel="alternate" type="text/html" href="posts/1"/>
    <link rel="enclosure" type="audio/mpeg" length="1234" href="/a.mp3"/>
    <published>2024-01-02T03:04:05+01:00</published>
    <updated>2024-01-03T00:00:00Z</updated>
    <content type="xhtml" xml:base="posts/"><div xmlns="http://www.w3.org/1999/xhtml"><p>Hi <a href="2" title="a &quot;q&quot;">two</a><br/></p></div></content>
    <summary>Plain &lt;text&gt;</summary>
  </entry>
  <entry>
    <id>tag:example.com,2024:2</id>
    <title type="text">Second</title>
    <author><name>Someone Else</name></author>
    <content type="html">&lt;p&gt;escaped&lt;/p&gt;</content>
  </entry>
</feed>"#);
        assert_eq!(f.format, FeedFormat::Atom);
        assert_eq!(f.title.as_deref(), Some("Jo <3 feeds"));
        assert_eq!(f.home_url.as_deref(), Some("https://example.com/blog/"));
        let e = &f.entries[0];
        assert_eq!(e.identity, "tag:example.com,2024:1");
        assert_eq!(
            e.title.as_deref(),
            Some("1 < 2 & <b>not bold</b>"),
            "type=text titles are text"
        );
        assert_eq!(
            e.link.as_deref(),
            Some("https://example.com/blog/posts/1"),
            "the HTML alternate wins"
        );
        assert_eq!(
            e.content_html.as_deref(),
            Some(r#"<p>Hi <a href="2" title="a &quot;q&quot;">two</a><br /></p>"#)
        );
        assert_eq!(e.base_url, "https://example.com/blog/posts/");
        assert_eq!(e.summary_html.as_deref(), Some("Plain &lt;text&gt;"));
        assert_eq!(e.author.as_deref(), Some("Jo"), "inherited from the feed");
        assert_eq!(e.published, Some(ts("2024-01-02T03:04:05+01:00")));
        assert_eq!(e.updated, Some(ts("2024-01-03T00:00:00Z")));
        assert_eq!(
            e.enclosures,
            [Enclosure {
                url: "https://example.com/a.mp3".into(),
                mime_type: Some("audio/mpeg".into()),
                length: Some(1234),
                alt: None
            }]
        );
        let e = &f.entries[1];
        assert_eq!(e.author.as_deref(), Some("Someone Else"));
        assert_eq!(e.content_html.as_deref(), Some("<p>escaped</p>"));
        assert_eq!(e.link, None);
        assert_eq!(e.published, None, "never invented");
    }

    #[test]
    fn atom_0_3() {
        let f = ok(r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#">
  <title mode="escaped" type="text/html">Old &amp;amp; gold</title>
  <link rel="alternate" type="text/html" href="http://example.org/"/>
  <entry>
    <title mode="base64" type="text/html">PGI+QmFzZTY0PC9iPg==</title>
    <link rel="alternate" type="text/html">http://example.org/1</link>
    <id>tag:example.org,2003:1</id>
    <issued>2003-12-13T08:29:29-04:00</issued>
    <modified>2003-12-13T18:30:02Z</modified>
    <content type="application/xhtml+xml" mode="xml"><div xmlns="http://www.w3.org/1999/xhtml"><p>xml mode</p></div></content>
  </entry>
</feed>"#);
        assert_eq!(f.format, FeedFormat::Atom);
        assert_eq!(f.title.as_deref(), Some("Old & gold"));
        let e = &f.entries[0];
        assert_eq!(e.title.as_deref(), Some("Base64"));
        assert_eq!(
            e.link.as_deref(),
            Some("http://example.org/1"),
            "link in the element's text (0.3 in the wild)"
        );
        assert_eq!(e.published, Some(ts("2003-12-13T08:29:29-04:00")));
        assert_eq!(e.updated, Some(ts("2003-12-13T18:30:02Z")));
        assert_eq!(e.content_html.as_deref(), Some("<p>xml mode</p>"));
    }

    #[test]
    fn an_atom_id_that_is_a_path_is_resolved_against_the_base() {
        let f = parse(
            br#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>/relative/link</id></entry>
<entry xml:base="http://other.example/x/"><id>/two</id></entry><entry><id>urn:uuid:3</id></entry><entry><id>4</id></entry></feed>"#,
            None,
            "http://example.com/feed",
        )
        .unwrap();
        let ids: Vec<_> = f.entries.iter().map(|e| e.identity.as_str()).collect();
        assert_eq!(
            ids,
            [
                "http://example.com/relative/link",
                "http://other.example/two",
                "urn:uuid:3",
                "4"
            ]
        );
    }
}
