//! Turns a parsed feed into entries ready to store (sanitized HTML, plain-text
//! titles and names), and stores them. Shared by `follow` and `poll`.

use super::fetch::Body;
use super::parse::{IncomingEntry, IncomingFeed, ParseError};
use crate::sanitize::{self, SafeHtml};
use crate::store::entries::{self, Enclosure, NewEntry, Upserted};
use crate::store::follows::FollowId;
use anyhow::Result;
use rusqlite::Connection;

/// Titles and author names are plain text of at most this many characters.
const MAX_TITLE_CHARS: usize = 300;
/// A followed feed's own title, as `following` and the timeline show it.
pub const MAX_FEED_TITLE_CHARS: usize = 200;
const MAX_AUTHOR_CHARS: usize = 100;
/// An entry's link, enclosure or in-reply-to longer than this is dropped (the
/// entry is kept): no real address is that long, and each one is stored and
/// written into every page and feed that shows the entry.
pub const MAX_URL_BYTES: usize = 2048;

/// Whether a URL from a feed may be stored as a link.
fn storable_link(url: &str) -> bool {
    url.len() <= MAX_URL_BYTES && sanitize::is_web_url(url)
}

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

/// Parses a fetched body as a stream (`poll::super::parse::parse_source`).
pub fn parse_body(
    body: &Body,
    content_type: Option<&str>,
    final_url: &str,
) -> Result<IncomingFeed, ParseError> {
    let reader = body
        .reader()
        .map_err(|e| ParseError::Malformed(format!("could not read it back: {e}")))?;
    super::parse::parse_source(reader, content_type, final_url)
}

/// An entry's HTML is cut before its tag number this, for the sanitizer:
/// its tree (html5ever's DOM, built again on each pass) costs a few hundred
/// bytes a node, so 512 KiB of `<p>x</p>` would take some 55 MB; this many
/// tags take under 8 MB, and a long real post has a few thousand.
pub const MAX_ENTRY_TAGS: usize = 16 * 1024;

/// Sanitizes every entry (CPU work: done on the fetching thread, not the
/// writer). Each raw entry is dropped once sanitized. HTML past
/// [`MAX_ENTRY_TAGS`] tags is cut off first, with a line in `notes`.
pub fn prepare(entries: Vec<IncomingEntry>, notes: &mut Vec<String>) -> Vec<PreparedEntry> {
    let mut cut = 0;
    let prepared = entries
        .into_iter()
        .map(|e| {
            let html = e.content_html.as_deref().or(e.summary_html.as_deref());
            let content = html.map(|h| {
                let (h, was_cut) = before_tag(h, MAX_ENTRY_TAGS);
                cut += usize::from(was_cut);
                sanitize::sanitize(h, &e.base_url)
            });
            PreparedEntry {
                identity: e.identity,
                link: e.link.filter(|l| storable_link(l)),
                title: e
                    .title
                    .as_deref()
                    .map(|t| sanitize::one_line(t, MAX_TITLE_CHARS))
                    .filter(|t| !t.is_empty()),
                content,
                author: e
                    .author
                    .as_deref()
                    .map(|a| sanitize::one_line(a, MAX_AUTHOR_CHARS))
                    .filter(|a| !a.is_empty()),
                published: e.published,
                updated: e.updated,
                in_reply_to: e
                    .in_reply_to
                    .first()
                    .filter(|r| r.len() <= MAX_URL_BYTES)
                    .cloned(),
                in_reply_to_ref: e
                    .in_reply_to
                    .get(1)
                    .filter(|r| r.len() <= MAX_URL_BYTES)
                    .cloned(),
                enclosures: e
                    .enclosures
                    .iter()
                    .filter(|x| storable_link(&x.url))
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
        .collect();
    if cut > 0 {
        let entries = if cut == 1 { "entry" } else { "entries" };
        notes.push(format!(
            "{cut} {entries} cut short: an entry keeps {MAX_ENTRY_TAGS} tags of HTML"
        ));
    }
    prepared
}

/// `html` up to its tag number `max` (its `max + 1`th `<`), and whether it
/// was cut.
fn before_tag(html: &str, max: usize) -> (&str, bool) {
    match html.match_indices('<').nth(max) {
        Some((at, _)) => (&html[..at], true),
        None => (html, false),
    }
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
            boosted: false,
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
