//! The owner's posts as Atom 1.0 (RFC 4287, with RFC 4685 threading), JSON
//! Feed 1.1 and RSS 2.0. Every format carries the same posts with the same
//! ids, which never change once a post exists. Atom and RSS are written with
//! `render::xml`, which escapes every text and attribute; JSON by serde_json.

use super::post_text;
use super::{Site, rfc2822, rfc3339, xml};
use crate::store::media::Photo;
use crate::store::posts::{Post, Tombstone};

/// How many of the newest posts a feed carries.
pub const FEED_LENGTH: usize = 50;

pub const THREADING_NS: &str = "http://purl.org/syndication/thread/1.0";
/// Media RSS: every photo of an item (`media:content`).
pub const MEDIA_RSS_NS: &str = "http://search.yahoo.com/mrss/";
/// RFC 6721: `at:deleted-entry`, which tells a reader to drop an entry.
pub const TOMBSTONES_NS: &str = "http://purl.org/atompub/tombstones/1.0";

/// Feed titles for posts that have none: the start of the text.
const TITLE_CHARS: usize = 80;

fn permalink(site: &Site, post: &Post) -> String {
    site.absolute(&format!("posts/{}", post.id.0))
}

/// A photo's display file, as an absolute URL.
fn photo_url(site: &Site, photo: &Photo) -> String {
    site.absolute(&format!("media/{}", photo.name))
}

/// A post's HTML in a feed: its text, then its photos (readers that ignore
/// enclosures still show them).
fn content_html(site: &Site, post: &Post) -> String {
    let mut html = post_text::to_html(&post.body);
    for photo in &post.photos {
        let img = maud::html! {
            p { img src=(photo_url(site, photo)) alt=(photo.alt) width=(photo.width) height=(photo.height); }
        };
        html.push_str(&img.into_string());
    }
    html
}

/// The feed's `updated`: the newest change among its posts, or the site's last change.
fn feed_updated(posts: &[Post], site_changed_at: i64) -> i64 {
    posts
        .iter()
        .map(|p| p.updated)
        .max()
        .unwrap_or(site_changed_at)
        .max(site_changed_at)
}

/// What every feed says about itself besides its posts.
pub struct FeedHead<'a> {
    pub site: &'a Site,
    /// The Atom feed's id (a tag: URI fixed at `init`).
    pub feed_id: &'a str,
    /// The `language` setting (a BCP 47 tag), when the owner set one.
    pub language: Option<&'a str>,
    /// The newest change among the posts, or the site's last change.
    pub updated: i64,
    /// The WebSub hubs that push this feed (`rel="hub"`, JSON Feed `hubs`).
    pub hubs: &'a [String],
}

/// What RSS readers (and the W3C Feed Validator) take for HTML in an element
/// RSS defines as text: a closing tag (`</b>`) or what looks like a
/// character reference (`&amp;`, `&#38;`). RSS has no way to say "this is
/// text", so such a title is left out of an RSS item (RSS 2.0 allows an item
/// without one: the description carries the post).
pub fn reads_as_html(text: &str) -> bool {
    let bytes = text.as_bytes();
    let word_len = |from: usize| {
        bytes[from.min(bytes.len())..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count()
    };
    (0..bytes.len()).any(|i| {
        let closing_tag = bytes[i..].starts_with(b"</") && {
            let n = word_len(i + 2);
            n > 0 && bytes.get(i + 2 + n) == Some(&b'>')
        };
        let reference = bytes[i] == b'&' && {
            let start = i + 1 + usize::from(bytes.get(i + 1) == Some(&b'#'));
            let n = word_len(start);
            n > 0 && bytes.get(start + n) == Some(&b';')
        };
        closing_tag || reference
    })
}

/// The Atom feed: `posts`, and an `at:deleted-entry` (RFC 6721) for each of
/// `deleted`, so readers that kept a deleted post learn to drop it.
pub fn atom(head: &FeedHead, posts: &[Post], deleted: &[Tombstone]) -> String {
    let site = head.site;
    let home = site.absolute("");
    let mut xml = xml::Writer::new(1024 + posts.len() * 1024);
    let mut root = vec![
        ("xmlns", "http://www.w3.org/2005/Atom"),
        ("xmlns:thr", THREADING_NS),
    ];
    if !deleted.is_empty() {
        root.push(("xmlns:at", TOMBSTONES_NS));
    }
    if let Some(language) = head.language {
        root.push(("xml:lang", language));
    }
    xml.open("feed", &root);
    xml.text("title", &[], &site.name);
    if !site.bio.is_empty() {
        xml.text("subtitle", &[], &site.bio);
    }
    xml.text("id", &[], head.feed_id);
    xml.text("updated", &[], &rfc3339(feed_updated(posts, head.updated)));
    let self_link = site.absolute("feed.atom");
    xml.empty(
        "link",
        &[
            ("rel", "self"),
            ("type", "application/atom+xml"),
            ("href", &self_link),
        ],
    );
    for hub in head.hubs {
        xml.empty("link", &[("rel", "hub"), ("href", hub)]);
    }
    xml.empty(
        "link",
        &[("rel", "alternate"), ("type", "text/html"), ("href", &home)],
    );
    let author = |xml: &mut xml::Writer| {
        xml.open("author", &[]);
        xml.text("name", &[], &site.name);
        xml.text("uri", &[], &home);
        xml.close("author");
    };
    author(&mut xml);
    xml.text(
        "generator",
        &[("version", env!("CARGO_PKG_VERSION"))],
        "roost",
    );
    for post in posts {
        xml.open("entry", &[]);
        xml.text("title", &[], &post_text::excerpt(&post.body, TITLE_CHARS));
        // Ids are unique, so no two entries need distinct `updated` (RFC 4287 4.1.1).
        xml.text("id", &[], &post.uid);
        xml.text("published", &[], &rfc3339(post.published));
        xml.text("updated", &[], &rfc3339(post.updated));
        author(&mut xml);
        let permalink = permalink(site, post);
        xml.empty(
            "link",
            &[
                ("rel", "alternate"),
                ("type", "text/html"),
                ("href", &permalink),
            ],
        );
        if let Some(reply_to) = &post.reply_to {
            // RFC 4685: `ref` is the id of the post replied to; for a web
            // address that is also where it lives (`href`).
            xml.empty(
                "thr:in-reply-to",
                &[("ref", reply_to), ("href", reply_to), ("type", "text/html")],
            );
        }
        for category in &post.categories {
            xml.empty("category", &[("term", category)]);
        }
        for photo in &post.photos {
            let (url, length) = (photo_url(site, photo), photo.bytes.to_string());
            let mut link = vec![
                ("rel", "enclosure"),
                ("type", photo.mime.as_str()),
                ("href", url.as_str()),
                ("length", length.as_str()),
            ];
            if !photo.alt.is_empty() {
                link.push(("title", photo.alt.as_str()));
            }
            xml.empty("link", &link);
        }
        xml.text("content", &[("type", "html")], &content_html(site, post));
        xml.close("entry");
    }
    for tombstone in deleted {
        xml.empty(
            "at:deleted-entry",
            &[
                ("ref", &tombstone.uid),
                ("when", &rfc3339(tombstone.deleted)),
            ],
        );
    }
    xml.close("feed");
    xml.finish()
}

pub fn json(head: &FeedHead, posts: &[Post]) -> String {
    let site = head.site;
    let items: Vec<serde_json::Value> = posts
        .iter()
        .map(|post| {
            let mut item = serde_json::json!({
                "id": post.uid,
                "url": permalink(site, post),
                "content_html": content_html(site, post),
                "content_text": post.body,
                "date_published": rfc3339(post.published),
                "date_modified": rfc3339(post.updated),
            });
            if let Some(reply_to) = &post.reply_to {
                // JSON Feed has no threading field; `_`-prefixed keys are its
                // extension mechanism. `external_url` is what most readers show.
                item["external_url"] = reply_to.clone().into();
                item["_thread"] = serde_json::json!({ "in_reply_to": reply_to });
            }
            if !post.categories.is_empty() {
                item["tags"] = post.categories.clone().into();
            }
            if let Some(first) = post.photos.first() {
                item["image"] = photo_url(site, first).into();
                item["attachments"] = post
                    .photos
                    .iter()
                    .map(|photo| {
                        let mut attachment = serde_json::json!({
                            "url": photo_url(site, photo),
                            "mime_type": photo.mime,
                            "size_in_bytes": photo.bytes,
                        });
                        if !photo.alt.is_empty() {
                            attachment["title"] = photo.alt.clone().into();
                        }
                        attachment
                    })
                    .collect();
            }
            item
        })
        .collect();
    let mut feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": site.name,
        "home_page_url": site.absolute(""),
        "feed_url": site.absolute("feed.json"),
        "authors": [{ "name": site.name, "url": site.absolute("") }],
        "items": items,
    });
    if let Some(language) = head.language {
        feed["language"] = language.into();
    }
    if !head.hubs.is_empty() {
        feed["hubs"] = head
            .hubs
            .iter()
            .map(|url| serde_json::json!({ "type": "WebSub", "url": url }))
            .collect();
    }
    if !site.bio.is_empty() {
        feed["description"] = site.bio.clone().into();
    }
    serde_json::to_string_pretty(&feed).unwrap_or_default()
}

pub fn rss(head: &FeedHead, posts: &[Post]) -> String {
    let site = head.site;
    let mut xml = xml::Writer::new(1024 + posts.len() * 1024);
    xml.open(
        "rss",
        &[
            ("version", "2.0"),
            ("xmlns:atom", "http://www.w3.org/2005/Atom"),
            ("xmlns:thr", THREADING_NS),
            ("xmlns:media", MEDIA_RSS_NS),
        ],
    );
    xml.open("channel", &[]);
    xml.text("title", &[], &site.name);
    xml.text("link", &[], &site.absolute(""));
    let description = if site.bio.is_empty() {
        &site.name
    } else {
        &site.bio
    };
    xml.text("description", &[], description);
    if let Some(language) = head.language {
        xml.text("language", &[], language);
    }
    xml.empty(
        "atom:link",
        &[
            ("rel", "self"),
            ("type", "application/rss+xml"),
            ("href", &site.absolute("feed.rss")),
        ],
    );
    for hub in head.hubs {
        xml.empty("atom:link", &[("rel", "hub"), ("href", hub)]);
    }
    xml.text(
        "lastBuildDate",
        &[],
        &rfc2822(feed_updated(posts, head.updated)),
    );
    xml.text(
        "generator",
        &[],
        concat!("roost ", env!("CARGO_PKG_VERSION")),
    );
    for post in posts {
        xml.open("item", &[]);
        let title = post_text::excerpt(&post.body, TITLE_CHARS);
        if !reads_as_html(&title) {
            xml.text("title", &[], &title);
        }
        xml.text("link", &[], &permalink(site, post));
        // A tag: URI, not an address: not a permalink.
        xml.text("guid", &[("isPermaLink", "false")], &post.uid);
        xml.text("pubDate", &[], &rfc2822(post.published));
        xml.text("description", &[], &content_html(site, post));
        if let Some(reply_to) = &post.reply_to {
            xml.empty("thr:in-reply-to", &[("ref", reply_to), ("href", reply_to)]);
        }
        for category in &post.categories {
            xml.text("category", &[], category);
        }
        // RSS 2.0 has one enclosure an item; Media RSS carries them all.
        for (index, photo) in post.photos.iter().enumerate() {
            let (url, length) = (photo_url(site, photo), photo.bytes.to_string());
            if index == 0 {
                xml.empty(
                    "enclosure",
                    &[("url", &url), ("length", &length), ("type", &photo.mime)],
                );
            }
            let (width, height) = (photo.width.to_string(), photo.height.to_string());
            xml.open(
                "media:content",
                &[
                    ("url", &url),
                    ("type", &photo.mime),
                    ("fileSize", &length),
                    ("medium", "image"),
                    ("width", &width),
                    ("height", &height),
                ],
            );
            if !photo.alt.is_empty() {
                xml.text("media:description", &[("type", "plain")], &photo.alt);
            }
            xml.close("media:content");
        }
        xml.close("item");
    }
    xml.close("channel");
    xml.close("rss");
    xml.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::posts::PostId;

    /// Issue 10: atom_syndication wrote `thr:in-reply-to` unescaped, so one
    /// reply to `?ref=a&b=c` made /feed.atom not well-formed for everyone.
    #[test]
    fn regression_a_reply_to_a_url_with_a_query_string_is_escaped_in_every_xml_feed() {
        let site = Site {
            name: "Ann".into(),
            bio: String::new(),
            url: "https://example.org/".into(),
            base: String::new(),
        };
        let head = FeedHead {
            site: &site,
            feed_id: "tag:example.org,2026:/",
            language: None,
            updated: 0,
            hubs: &[],
        };
        let posts = [Post {
            id: PostId(1),
            uid: "tag:example.org,2026:/posts/1".into(),
            body: "hi".into(),
            reply_to: Some("https://example.com/posts/42?ref=a&b=c".into()),
            published: 0,
            updated: 0,
            syndication: None,
            summary: None,
            categories: vec!["a&b".into()],
            photos: Vec::new(),
        }];
        for feed in [atom(&head, &posts, &[]), rss(&head, &posts)] {
            assert!(
                feed.contains("<category term=\"a&#x26;b\"/>")
                    || feed.contains("<category>a&#x26;b</category>"),
                "{feed}"
            );
            assert!(
                feed.contains("ref=\"https://example.com/posts/42?ref=a&#x26;b=c\""),
                "{feed}"
            );
            assert!(!feed.contains("&b=c"), "{feed}");
        }
    }

    #[test]
    fn what_readers_take_for_html_in_rss_text() {
        for html in ["a </b> c", "AT&amp;T", "&#38;", "x&#x26;y", "</p>"] {
            assert!(reads_as_html(html), "{html}");
        }
        for text in [
            "a <b> c",
            "AT&T",
            "a & b; c",
            "&;",
            "</ b>",
            "<3",
            "1 < 2 > 0",
            "",
        ] {
            assert!(!reads_as_html(text), "{text}");
        }
    }
}
