//! Turns a parsed feed into entries ready to store (sanitized HTML, plain-text
//! titles and names), and stores them. Shared by `follow` and `poll`.

use super::parse::IncomingFeed;
use super::sanitize::{self, SafeHtml};
use crate::store::entries::{self, Enclosure, NewEntry, Upserted};
use crate::store::follows::FollowId;
use anyhow::Result;
use rusqlite::Connection;

/// Titles and author names are plain text of at most this many characters.
const MAX_TITLE_CHARS: usize = 300;
/// A followed feed's own title, as `following` and the timeline show it.
pub const MAX_FEED_TITLE_CHARS: usize = 200;
const MAX_AUTHOR_CHARS: usize = 100;

/// One entry after the sanitizer: nothing in it can run in a page.
pub struct PreparedEntry {
    identity: String,
    link: Option<String>,
    title: Option<String>,
    content: Option<SafeHtml>,
    author: Option<String>,
    published: Option<i64>,
    updated: Option<i64>,
    in_reply_to: Option<String>,
    /// A second way to the parent: the `ref` (its id) after the `href`.
    in_reply_to_ref: Option<String>,
    enclosures: Vec<Enclosure>,
}

/// Sanitizes every entry (CPU work: done on the fetching thread, not the writer).
pub fn prepare(feed: &IncomingFeed) -> Vec<PreparedEntry> {
    feed.entries
        .iter()
        .map(|e| {
            let html = e.content_html.as_deref().or(e.summary_html.as_deref());
            PreparedEntry {
                identity: e.identity.clone(),
                link: e.link.clone().filter(|l| sanitize::is_web_url(l)),
                title: e
                    .title
                    .as_deref()
                    .map(|t| sanitize::one_line(t, MAX_TITLE_CHARS))
                    .filter(|t| !t.is_empty()),
                content: html.map(|h| sanitize::sanitize(h, &e.base_url)),
                author: e
                    .author
                    .as_deref()
                    .map(|a| sanitize::one_line(a, MAX_AUTHOR_CHARS))
                    .filter(|a| !a.is_empty()),
                published: e.published,
                updated: e.updated,
                in_reply_to: e.in_reply_to.first().cloned(),
                in_reply_to_ref: e.in_reply_to.get(1).cloned(),
                enclosures: e
                    .enclosures
                    .iter()
                    .filter(|x| sanitize::is_web_url(&x.url))
                    .map(|x| Enclosure {
                        url: x.url.clone(),
                        mime_type: x.mime_type.clone(),
                        length: x.length,
                        alt: x
                            .alt
                            .as_deref()
                            .map(|a| sanitize::one_line(a, MAX_TITLE_CHARS))
                            .filter(|a| !a.is_empty()),
                    })
                    .collect(),
            }
        })
        .collect()
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub inserted: usize,
    pub updated: usize,
}

/// Stores entries for a follow; the caller holds the transaction.
pub fn store(
    conn: &Connection,
    follow: FollowId,
    prepared: &[PreparedEntry],
    now: i64,
) -> Result<Stored> {
    let mut stored = Stored::default();
    for e in prepared {
        let new = NewEntry {
            identity: &e.identity,
            link: e.link.as_deref(),
            title: e.title.as_deref(),
            content: e.content.as_ref(),
            author: e.author.as_deref(),
            published: e.published,
            updated: e.updated,
            in_reply_to: e.in_reply_to.as_deref(),
            in_reply_to_ref: e.in_reply_to_ref.as_deref(),
            enclosures: &e.enclosures,
        };
        match entries::upsert(conn, follow, &new, now)? {
            Upserted::Inserted => stored.inserted += 1,
            Upserted::Updated => stored.updated += 1,
            Upserted::Unchanged => {}
        }
    }
    Ok(stored)
}
