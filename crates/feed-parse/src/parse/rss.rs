//! The RSS mapping (0.9x and 2.0, and RDF: RSS 1.0 and 0.90): a channel and
//! its items read from the tree.

use super::finish::{Built, Draft, settle, with_feed_author};
use super::text::{Text, maybe_html};
use super::tree::Ns;
use super::xml::{
    Mapper, RSS_PUBLISHED, RSS_UPDATED, is_atom_ns, is_dc, is_http_url, link_rel, person_name,
    person_name_only, push_enclosure,
};
use super::{FeedFormat, IncomingFeed, empty_feed};

impl Mapper<'_> {
    pub(super) fn rss_feed(&self, root: u32, format: FeedFormat) -> IncomingFeed {
        let d = self.doc;
        let mut out = empty_feed(format);
        let channel = if d.el(root).local().eq_ignore_ascii_case("channel") {
            Some(root)
        } else {
            d.child(root, Ns::is_rss, "channel")
                .or_else(|| d.child(root, |_| true, "channel"))
        };
        if let Some(ch) = channel {
            out.title = self.rss_title(ch);
            out.home_url = self.rss_link(ch).or_else(|| self.atom_in_rss_alternate(ch));
            out.hub = self.link_rel(ch, is_atom_ns, "hub");
            out.self_url = self.link_rel(ch, is_atom_ns, "self");
            out.ttl_minutes = d
                .child(ch, Ns::is_rss, "ttl")
                .and_then(|t| d.text(t).trim().parse().ok());
            out.update_period_minutes = self.sy_period(ch);
        }
        if out.update_period_minutes.is_none() {
            out.update_period_minutes = self.sy_period(root);
        }
        let feed_author = channel.and_then(|ch| {
            d.child(ch, is_dc, "creator")
                .or_else(|| d.child(ch, |n| n == Ns::Itunes, "author"))
                .and_then(|a| d.text_opt(a))
                .and_then(|a| maybe_html(person_name(&a)).into_plain())
                .or_else(|| self.atom_author(ch))
        });
        // Items belong in the channel (RSS 0.91-2.0) or beside it (RSS 1.0, 0.90);
        // both are accepted for every version, and so are items left inside an
        // element that was never closed.
        let mut items: Vec<u32> = Vec::new();
        if let Some(ch) = channel.filter(|&c| c != root) {
            self.find_items(ch, 0, &mut items);
        }
        self.find_items(root, 0, &mut items);
        let items = self.newest(items, RSS_PUBLISHED, RSS_UPDATED, &mut out);
        out.entries = settle(
            items
                .into_iter()
                .filter_map(|i| self.rss_item(i, feed_author.as_deref())),
        );
        out
    }

    pub(super) fn rss_item(&self, el: u32, feed_author: Option<&str>) -> Option<Built> {
        let d = self.doc;
        if let Some(built) = d.take_premapped(el) {
            return with_feed_author(built, feed_author);
        }
        let mut content = d
            .child(el, |n| n == Ns::Content, "encoded")
            .map(|c| (c, self.rss_html(c)))
            .or_else(|| {
                d.child(el, |n| n == Ns::Xhtml, "body")
                    .map(|b| (b, Text::Html(d.inner_xml(b))))
            })
            .or_else(|| {
                d.child(el, Ns::is_rss, "fullitem")
                    .map(|c| (c, self.rss_html(c)))
            });
        let mut summary = d
            .child(el, Ns::is_rss, "description")
            .or_else(|| d.child(el, is_dc, "description"));
        // A bare `<summary>` (not RSS, but written): beside a description and
        // no other content, the first of the two is the summary, the other
        // the content (as feedparser reads them).
        if let Some(other) = d.child(el, Ns::is_rss, "summary") {
            match summary {
                None => summary = Some(other),
                Some(desc) if content.is_none() => {
                    let (first, second) = if other < desc {
                        (other, desc)
                    } else {
                        (desc, other)
                    };
                    summary = Some(first);
                    content = Some((second, self.rss_html(second)));
                }
                Some(_) => {}
            }
        }
        let base_el = content.as_ref().map(|c| c.0).or(summary).unwrap_or(el);
        let mut draft = Draft::new(d.base_string(base_el, self.feed_url));
        let guid = d.child(el, Ns::is_rss, "guid");
        let guid_text = guid.and_then(|g| d.text_opt(g));
        draft.id = guid_text.clone().or_else(|| {
            d.attr_ns(el, Ns::Rdf, "about")
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
        });
        let e = &mut draft.entry;
        e.title = self.rss_title(el);
        e.link = self
            .rss_link(el)
            .or_else(|| self.atom_in_rss_alternate(el))
            .or_else(|| {
                // RSS 2.0: a guid is a permalink unless isPermaLink="false".
                let permalink = guid
                    .and_then(|g| d.attr(g, "isPermaLink"))
                    .is_none_or(|p| !p.trim().eq_ignore_ascii_case("false"));
                let g = guid_text
                    .as_deref()
                    .filter(|g| permalink && is_http_url(g))?;
                d.url(guid?, g)
            });
        e.content_html = content.and_then(|(_, t)| t.into_html());
        e.summary_html = summary.map(|s| self.rss_html(s)).and_then(Text::into_html);
        e.author = self.rss_author(el).or_else(|| self.atom_author(el));
        e.published = self.first_date(el, RSS_PUBLISHED);
        e.updated = self.first_date(el, RSS_UPDATED);
        for enc in d.children_named(el, Ns::is_rss, "enclosure") {
            let Some(url) = d
                .attr(enc, "url")
                .or_else(|| d.attr(enc, "href"))
                .and_then(|u| d.url(enc, u))
            else {
                continue;
            };
            push_enclosure(
                &mut e.enclosures,
                url,
                d.attr(enc, "type"),
                d.attr(enc, "length"),
                None,
            );
        }
        self.enclosure_links(el, is_atom_ns, &mut e.enclosures);
        self.media_enclosures(el, &mut e.enclosures);
        self.media_fallbacks(el, e);
        e.in_reply_to = self.in_reply_to(el);
        draft.finish(feed_author)
    }

    /// `item` elements among `el`'s children, and inside non-RSS children a few levels down.
    fn find_items(&self, el: u32, depth: usize, out: &mut Vec<u32>) {
        let d = self.doc;
        for c in d.kids(el) {
            let e = d.el(c);
            if e.ns.is_rss() && e.local() == "item" {
                out.push(c);
            } else if !e.ns.is_rss() && depth < 3 {
                // An extension element (say an unclosed `itunes:category`) that swallowed items.
                self.find_items(c, depth + 1, out);
            }
        }
    }

    /// RSS title: text, or HTML when it has markup in it.
    fn rss_title(&self, el: u32) -> Option<String> {
        let d = self.doc;
        let t = d
            .child(el, Ns::is_rss, "title")
            .or_else(|| d.child(el, is_dc, "title"))?;
        if d.has_element_children(t) {
            return Text::Html(d.inner_xml(t)).into_plain();
        }
        maybe_html(d.text(t)).into_plain()
    }

    /// RSS HTML fields: escaped HTML as text, or (invalid but common) markup written inline.
    fn rss_html(&self, el: u32) -> Text {
        let d = self.doc;
        if d.has_element_children(el) {
            Text::Html(d.inner_xml(el))
        } else {
            Text::Html(d.text(el))
        }
    }

    fn rss_link(&self, el: u32) -> Option<String> {
        let d = self.doc;
        d.children_named(el, Ns::is_rss, "link").find_map(|l| {
            let t = d.text(l);
            if t.trim().is_empty() {
                d.attr(l, "href").and_then(|h| d.url(l, h))
            } else {
                d.url(l, &t)
            }
        })
    }

    /// The first Atom `<link>` child of `el` with relation `rel`.
    pub(super) fn link_rel(&self, el: u32, is_ns: fn(Ns) -> bool, rel: &str) -> Option<String> {
        let d = self.doc;
        d.children_named(el, is_ns, "link")
            .filter(|&l| link_rel(d, l) == rel)
            .find_map(|l| self.link_href(l))
    }

    fn atom_in_rss_alternate(&self, el: u32) -> Option<String> {
        let d = self.doc;
        d.children_named(el, is_atom_ns, "link")
            .filter(|&l| link_rel(d, l) == "alternate")
            .find_map(|l| self.link_href(l))
    }

    pub(super) fn rss_author(&self, el: u32) -> Option<String> {
        let d = self.doc;
        let dc = d
            .child(el, is_dc, "creator")
            .or_else(|| d.child(el, is_dc, "author"))
            .and_then(|a| d.text_opt(a));
        let rss = d
            .child(el, Ns::is_rss, "author")
            .and_then(|a| d.text_opt(a));
        let itunes = d
            .child(el, |n| n == Ns::Itunes, "author")
            .and_then(|a| d.text_opt(a));
        let name = |s: &String| -> Option<String> { person_name_only(s) };
        dc.as_ref()
            .and_then(name)
            .or_else(|| rss.as_ref().and_then(name))
            .or_else(|| itunes.as_ref().and_then(name))
            .or(dc)
            .or(rss)
            .or(itunes)
            .and_then(|a| maybe_html(person_name(&a)).into_plain())
    }
}

#[cfg(test)]
mod tests {
    use crate::parse::testing::*;

    #[test]
    fn rss_2_0() {
        let f = ok(r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" xmlns:media="http://search.yahoo.com/mrss/">
<channel>
  <title>Jo&#8217;s &lt;i&gt;blog&lt;/i&gt;</title>
  <link>/blog/</link>
  <ttl>90</ttl>
  <sy:updatePeriod>hourly</sy:updatePeriod>
  <sy:updateFrequency>2</sy:updateFrequency>
  <item>
    <title>First</title>
    <guid>https://example.com/p/1</guid>
    <description>&lt;p&gt;Summary &amp;amp; more&lt;/p&gt;</description>
    <content:encoded><![CDATA[<p>Full <img src="img.png"></p>]]></content:encoded>
    <dc:creator>Jo Writer</dc:creator>
    <pubDate>Tue, 02 Jan 2024 03:04:05 GMT</pubDate>
    <enclosure url="/ep1.mp3" length="999" type="audio/mpeg"/>
    <media:content url="https://cdn.example.com/1.jpg" type="image/jpeg" fileSize="42"/>
  </item>
  <item>
    <title>Second</title>
    <link>posts/2</link>
    <guid isPermaLink="false">item-2</guid>
    <author>jo@example.com (Jo Writer)</author>
    <description>Naked <b>markup</b><br/></description>
  </item>
  <item>
    <title>No link</title>
    <guid isPermaLink="false">https://example.com/not-a-link</guid>
  </item>
</channel>
</rss>"#);
        assert_eq!(f.format, FeedFormat::Rss);
        assert_eq!(f.title.as_deref(), Some("Jo’s blog"));
        assert_eq!(f.home_url.as_deref(), Some("https://example.com/blog/"));
        assert_eq!(f.ttl_minutes, Some(90));
        assert_eq!(f.update_period_minutes, Some(30));
        let e = &f.entries[0];
        assert_eq!(e.identity, "https://example.com/p/1");
        assert_eq!(
            e.link.as_deref(),
            Some("https://example.com/p/1"),
            "a guid is a permalink by default"
        );
        assert_eq!(e.summary_html.as_deref(), Some("<p>Summary &amp; more</p>"));
        assert_eq!(
            e.content_html.as_deref(),
            Some(r#"<p>Full <img src="img.png"></p>"#)
        );
        assert_eq!(e.base_url, URL);
        assert_eq!(e.author.as_deref(), Some("Jo Writer"));
        assert_eq!(e.published, Some(ts("2024-01-02T03:04:05Z")));
        assert_eq!(e.updated, None);
        assert_eq!(
            e.enclosures,
            [
                Enclosure {
                    url: "https://example.com/ep1.mp3".into(),
                    mime_type: Some("audio/mpeg".into()),
                    length: Some(999),
                    alt: None
                },
                Enclosure {
                    url: "https://cdn.example.com/1.jpg".into(),
                    mime_type: Some("image/jpeg".into()),
                    length: Some(42),
                    alt: None
                },
            ]
        );
        let e = &f.entries[1];
        assert_eq!(e.identity, "item-2");
        assert_eq!(
            e.link.as_deref(),
            Some("https://example.com/blog/posts/2"),
            "relative to the feed URL"
        );
        assert_eq!(e.author.as_deref(), Some("Jo Writer"));
        assert_eq!(e.summary_html.as_deref(), Some("Naked <b>markup</b><br />"));
        assert_eq!(f.entries[2].link, None, "isPermaLink=false");
    }

    #[test]
    fn rss_without_version_with_a_namespace_and_0_9x() {
        for doc in [
            r#"<rss><channel><title>T</title><item><title>A</title><link>http://a.example/</link></item></channel></rss>"#,
            r#"<rss version="0.94"><channel><title>T</title><item><title>A</title><link>http://a.example/</link></item></channel></rss>"#,
            r#"<rss version="2.0" xmlns="http://backend.userland.com/rss2"><channel><title>T</title><item><title>A</title><link>http://a.example/</link></item></channel></rss>"#,
            r#"<rss version="2.0" xmlns="http://example.com/made-up"><channel><title>T</title><item><title>A</title><link>http://a.example/</link></item></channel></rss>"#,
        ] {
            let f = ok(doc);
            assert_eq!(
                (f.title.as_deref(), f.entries.len()),
                (Some("T"), 1),
                "{doc}"
            );
            assert_eq!(f.entries[0].link.as_deref(), Some("http://a.example/"));
        }
    }

    #[test]
    fn rdf_1_0_and_0_90() {
        let f = ok(
            r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
  xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="http://example.org/"><title>RDF</title><link>http://example.org/</link></channel>
  <item rdf:about="http://example.org/1"><title>One</title><link>http://example.org/1</link>
    <dc:date>2003-12-31T10:14:55Z</dc:date><dc:creator>Ann</dc:creator></item>
  <item rdf:about="urn:x:2"><title>Two, no link</title><description>d</description></item>
</rdf:RDF>"#,
        );
        assert_eq!(f.format, FeedFormat::Rdf);
        assert_eq!(f.title.as_deref(), Some("RDF"));
        assert_eq!(f.entries.len(), 2, "items without a link are kept");
        assert_eq!(f.entries[0].published, Some(ts("2003-12-31T10:14:55Z")));
        assert_eq!(f.entries[0].author.as_deref(), Some("Ann"));
        assert_eq!(f.entries[1].identity, "urn:x:2");
        let f = ok(
            r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/">
  <channel><title>Old</title><link>http://example.org/</link></channel>
  <item><title>Item title</title><link>http://example.org/i</link></item></rdf:RDF>"#,
        );
        assert_eq!(
            (f.title.as_deref(), f.entries[0].title.as_deref()),
            (Some("Old"), Some("Item title"))
        );
    }

    #[test]
    fn items_with_only_an_author_or_an_xhtml_body_are_entries() {
        let f = ok(
            r#"<rss xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xhtml="http://www.w3.org/1999/xhtml"><channel>
  <item><dc:author>Ann</dc:author></item>
  <item><xhtml:body><xhtml:p>Body only</xhtml:p></xhtml:body></item>
  <item><body xmlns="http://www.w3.org/1999/xhtml"><p>Default namespace</p></body></item>
</channel></rss>"#,
        );
        assert_eq!(f.entries.len(), 3);
        assert_eq!(f.entries[0].author.as_deref(), Some("Ann"));
        assert_eq!(
            f.entries[1].content_html.as_deref(),
            Some("<p>Body only</p>")
        );
        assert_eq!(
            f.entries[2].content_html.as_deref(),
            Some("<p>Default namespace</p>")
        );
    }

    #[test]
    fn an_rss_summary_beside_a_description_is_the_first_of_the_two() {
        let f = ok(r#"<rss version="2.0"><channel>
  <item><guid>1</guid><description>d</description><summary>s</summary></item>
  <item><guid>2</guid><summary>s</summary><description>d</description></item>
  <item><guid>3</guid><summary>only</summary></item>
</channel></rss>"#);
        let got: Vec<_> = f
            .entries
            .iter()
            .map(|e| (e.summary_html.as_deref(), e.content_html.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (Some("d"), Some("s")),
                (Some("s"), Some("d")),
                (Some("only"), None)
            ]
        );
    }
}
