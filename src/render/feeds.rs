//! The owner's posts as Atom 1.0 (RFC 4287, with RFC 4685 threading), JSON
//! Feed 1.1 and RSS 2.0. Every format carries the same posts with the same
//! ids, which never change once a post exists.

use super::{Site, datetime, rfc2822, rfc3339};
use crate::posts;
use crate::store::posts::{Post, Tombstone};
use atom_syndication as atom;
use std::collections::BTreeMap;

/// How many of the newest posts a feed carries.
pub const FEED_LENGTH: usize = 50;

pub const THREADING_NS: &str = "http://purl.org/syndication/thread/1.0";
/// RFC 6721: `at:deleted-entry`, which tells a reader to drop an entry.
pub const TOMBSTONES_NS: &str = "http://purl.org/atompub/tombstones/1.0";

/// Feed titles for posts that have none: the start of the text.
const TITLE_CHARS: usize = 80;

fn permalink(site: &Site, post: &Post) -> String {
    site.absolute(&format!("posts/{}", post.id.0))
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

/// The Atom feed: `posts`, and an `at:deleted-entry` for each of `deleted`.
pub fn atom(
    site: &Site,
    feed_id: &str,
    posts: &[Post],
    deleted: &[Tombstone],
    site_changed_at: i64,
) -> String {
    let author = atom::Person {
        name: site.name.clone(),
        uri: Some(site.absolute("")),
        ..Default::default()
    };
    let entries = posts
        .iter()
        .map(|post| {
            let mut extensions = atom::extension::ExtensionMap::new();
            if let Some(reply_to) = &post.reply_to {
                // RFC 4685: `ref` is the id of the post replied to; for a web
                // address that is also where it lives (`href`).
                let mut attrs = BTreeMap::new();
                attrs.insert("ref".to_string(), reply_to.clone());
                attrs.insert("href".to_string(), reply_to.clone());
                attrs.insert("type".to_string(), "text/html".to_string());
                let reply = atom::extension::Extension {
                    name: "thr:in-reply-to".into(),
                    attrs,
                    ..Default::default()
                };
                extensions.insert(
                    "thr".into(),
                    BTreeMap::from([("in-reply-to".to_string(), vec![reply])]),
                );
            }
            atom::Entry {
                title: atom::Text::plain(posts::excerpt(&post.body, TITLE_CHARS)),
                id: post.uid.clone(),
                updated: datetime(post.updated).fixed_offset(),
                published: Some(datetime(post.published).fixed_offset()),
                authors: vec![author.clone()],
                links: vec![atom::Link {
                    href: permalink(site, post),
                    rel: "alternate".into(),
                    mime_type: Some("text/html".into()),
                    ..Default::default()
                }],
                content: Some(atom::Content {
                    value: Some(posts::to_html(&post.body)),
                    content_type: Some("html".into()),
                    ..Default::default()
                }),
                extensions,
                ..Default::default()
            }
        })
        .collect();
    let feed = atom::Feed {
        title: atom::Text::plain(site.name.clone()),
        id: feed_id.to_string(),
        updated: datetime(feed_updated(posts, site_changed_at)).fixed_offset(),
        authors: vec![author],
        subtitle: (!site.bio.is_empty()).then(|| atom::Text::plain(site.bio.clone())),
        links: vec![
            atom::Link {
                href: site.absolute("feed.atom"),
                rel: "self".into(),
                mime_type: Some("application/atom+xml".into()),
                ..Default::default()
            },
            atom::Link {
                href: site.absolute(""),
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Default::default()
            },
        ],
        generator: Some(atom::Generator {
            value: "roost".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            ..Default::default()
        }),
        namespaces: BTreeMap::from([
            ("thr".to_string(), THREADING_NS.to_string()),
            ("at".to_string(), TOMBSTONES_NS.to_string()),
        ]),
        entries,
        extensions: tombstones(deleted),
        ..Default::default()
    };
    // Writing into memory cannot fail for I/O reasons; an error here would be a bug in the writer.
    let bytes = feed.write_to(Vec::new()).unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// `<at:deleted-entry ref="ID" when="DATE"/>` for each deleted post.
fn tombstones(deleted: &[Tombstone]) -> atom::extension::ExtensionMap {
    let elements: Vec<atom::extension::Extension> = deleted
        .iter()
        .map(|t| atom::extension::Extension {
            name: "at:deleted-entry".into(),
            attrs: BTreeMap::from([
                ("ref".to_string(), t.uid.clone()),
                ("when".to_string(), rfc3339(t.deleted)),
            ]),
            ..Default::default()
        })
        .collect();
    if elements.is_empty() {
        return atom::extension::ExtensionMap::new();
    }
    BTreeMap::from([(
        "at".to_string(),
        BTreeMap::from([("deleted-entry".to_string(), elements)]),
    )])
}

pub fn json(site: &Site, posts: &[Post]) -> String {
    let items: Vec<serde_json::Value> = posts
        .iter()
        .map(|post| {
            let mut item = serde_json::json!({
                "id": post.uid,
                "url": permalink(site, post),
                "content_html": posts::to_html(&post.body),
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
            item
        })
        .collect();
    let mut feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": site.name,
        "home_page_url": site.absolute(""),
        "feed_url": site.absolute("feed.json"),
        "authors": [{ "name": site.name, "url": site.absolute("") }],
        "language": "en",
        "items": items,
    });
    if !site.bio.is_empty() {
        feed["description"] = site.bio.clone().into();
    }
    serde_json::to_string_pretty(&feed).unwrap_or_default()
}

pub fn rss(site: &Site, posts: &[Post], site_changed_at: i64) -> String {
    let mut out = String::with_capacity(1024 + posts.len() * 512);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\" xmlns:thr=\"");
    out.push_str(THREADING_NS);
    out.push_str("\">\n<channel>\n");
    element(&mut out, "title", &site.name);
    element(&mut out, "link", &site.absolute(""));
    element(
        &mut out,
        "description",
        if site.bio.is_empty() {
            &site.name
        } else {
            &site.bio
        },
    );
    out.push_str("<atom:link rel=\"self\" type=\"application/rss+xml\" href=\"");
    posts::escape_into(&site.absolute("feed.rss"), &mut out);
    out.push_str("\"/>\n");
    element(
        &mut out,
        "lastBuildDate",
        &rfc2822(feed_updated(posts, site_changed_at)),
    );
    element(
        &mut out,
        "generator",
        concat!("roost ", env!("CARGO_PKG_VERSION")),
    );
    for post in posts {
        out.push_str("<item>\n");
        element(&mut out, "title", &posts::excerpt(&post.body, TITLE_CHARS));
        element(&mut out, "link", &permalink(site, post));
        out.push_str("<guid isPermaLink=\"false\">");
        posts::escape_into(&post.uid, &mut out);
        out.push_str("</guid>\n");
        element(&mut out, "pubDate", &rfc2822(post.published));
        element(&mut out, "description", &posts::to_html(&post.body));
        if let Some(reply_to) = &post.reply_to {
            out.push_str("<thr:in-reply-to ref=\"");
            posts::escape_into(reply_to, &mut out);
            out.push_str("\" href=\"");
            posts::escape_into(reply_to, &mut out);
            out.push_str("\"/>\n");
        }
        out.push_str("</item>\n");
    }
    out.push_str("</channel>\n</rss>\n");
    out
}

fn element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    posts::escape_into(text, out);
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}
