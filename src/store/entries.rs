//! The `entries` table: posts fetched from followed feeds, already sanitized.

use super::follows::FollowId;
use super::posts::Cursor;
use crate::sanitize::SafeHtml;
use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, Row, params};
use sha2::{Digest, Sha256};

/// A media file attached to an entry (podcast episode, photo).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Enclosure {
    pub url: String,
    pub mime_type: Option<String>,
    pub length: Option<u64>,
    /// An image's alt text (plain text), when the feed gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
}

/// An entry as pages show it, with where it came from.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i64,
    pub follow_id: FollowId,
    pub link: Option<String>,
    pub title: Option<String>,
    pub content: Option<SafeHtml>,
    pub author: Option<String>,
    /// The dates the feed gave, if it gave any (never when first seen).
    pub published: Option<i64>,
    pub updated: Option<i64>,
    /// `published`, else `updated`, else when first seen; never later than that.
    pub sort_time: i64,
    pub in_reply_to: Option<String>,
    /// The parent's id (RFC 4685 `ref`) when it differs from `in_reply_to`.
    pub in_reply_to_ref: Option<String>,
    pub enclosures: Vec<Enclosure>,
    /// The follow's nickname, else the feed's title, else its address.
    pub source_name: String,
    pub source_home: Option<String>,
    /// Not the follow's own: its author's post, boosted by the follow.
    pub boosted: bool,
}

/// An entry ready to store: its HTML has been through the sanitizer.
pub struct NewEntry<'a> {
    pub identity: &'a str,
    pub link: Option<&'a str>,
    pub title: Option<&'a str>,
    pub content: Option<&'a SafeHtml>,
    pub author: Option<&'a str>,
    pub published: Option<i64>,
    pub updated: Option<i64>,
    pub in_reply_to: Option<&'a str>,
    pub in_reply_to_ref: Option<&'a str>,
    pub enclosures: &'a [Enclosure],
    /// Another's post the follow boosted (`author` is its author).
    pub boosted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Inserted,
    Updated,
    Unchanged,
}

const COLUMNS: &str = "e.id, e.follow_id, e.link, e.title, e.content_html, e.author, e.published, \
     e.sort_time, e.in_reply_to, e.enclosures, coalesce(f.name, f.title, f.url), f.home_url, e.updated, \
     e.in_reply_to_ref, e.boosted";

fn from_row(r: &Row) -> rusqlite::Result<Entry> {
    let enclosures: String = r.get(9)?;
    Ok(Entry {
        id: r.get(0)?,
        follow_id: FollowId(r.get(1)?),
        link: r.get(2)?,
        title: r.get(3)?,
        content: r
            .get::<_, Option<String>>(4)?
            .map(SafeHtml::from_stored_sanitized),
        author: r.get(5)?,
        published: r.get(6)?,
        sort_time: r.get(7)?,
        in_reply_to: r.get(8)?,
        enclosures: serde_json::from_str(&enclosures).unwrap_or_default(),
        source_name: r.get(10)?,
        source_home: r.get(11)?,
        updated: r.get(12)?,
        in_reply_to_ref: r.get(13)?,
        boosted: r.get(14)?,
    })
}

/// Inserts a new entry, updates a changed one in place, leaves an unchanged one alone.
pub fn upsert(conn: &Connection, follow: FollowId, entry: &NewEntry, now: i64) -> Result<Upserted> {
    let enclosures = serde_json::to_string(entry.enclosures).context("encoding enclosures")?;
    let hash = {
        let mut h = Sha256::new();
        for part in [
            entry.link,
            entry.title,
            entry.content.map(SafeHtml::as_str),
            entry.author,
            entry.in_reply_to,
            Some(enclosures.as_str()),
            entry.in_reply_to_ref,
        ] {
            h.update(part.unwrap_or("\u{0}").as_bytes());
            h.update([0xff]);
        }
        h.update(format!("{:?}{:?}", entry.published, entry.updated).as_bytes());
        format!("{:x}", h.finalize())
    };
    // A date in the future would pin an entry to the top of the timeline.
    let sort_time = entry.published.or(entry.updated).unwrap_or(now).min(now);
    let existing: Option<(i64, String)> = conn
        .prepare_cached(
            "SELECT id, content_hash FROM entries WHERE follow_id = ?1 AND identity = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![follow.0, entry.identity], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
        })
        .context("looking up an entry")?;
    match existing {
        Some((_, stored)) if stored == hash => Ok(Upserted::Unchanged),
        Some((id, _)) => {
            conn.prepare_cached(
                "UPDATE entries SET link = ?3, title = ?4, content_html = ?5, author = ?6, published = ?7,
                        updated = ?8, content_hash = ?9, in_reply_to = ?10, enclosures = ?11,
                        in_reply_to_ref = ?12
                 WHERE follow_id = ?1 AND identity = ?2",
            )
            .and_then(|mut s| {
                s.execute(params![
                    follow.0,
                    entry.identity,
                    entry.link,
                    entry.title,
                    entry.content.map(SafeHtml::as_str),
                    entry.author,
                    entry.published,
                    entry.updated,
                    hash,
                    entry.in_reply_to,
                    enclosures,
                    entry.in_reply_to_ref
                ])
            })
            .context("updating an entry")?;
            super::search::index_entry(conn, id)?;
            Ok(Upserted::Updated)
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO entries (follow_id, identity, link, title, content_html, author, published,
                                      updated, sort_time, first_seen, content_hash, in_reply_to, enclosures,
                                      in_reply_to_ref, boosted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    follow.0,
                    entry.identity,
                    entry.link,
                    entry.title,
                    entry.content.map(SafeHtml::as_str),
                    entry.author,
                    entry.published,
                    entry.updated,
                    sort_time,
                    now,
                    hash,
                    entry.in_reply_to,
                    enclosures,
                    entry.in_reply_to_ref,
                    entry.boosted
                ])
            })
            .context("saving an entry")?;
            super::search::index_entry(conn, conn.last_insert_rowid())?;
            Ok(Upserted::Inserted)
        }
    }
}

/// Removes follow `follow`'s entry `identity` (its author deleted it).
/// Returns whether there was one.
pub fn remove(conn: &Connection, follow: FollowId, identity: &str) -> Result<bool> {
    let id: Option<i64> = conn
        .query_row(
            "DELETE FROM entries WHERE follow_id = ?1 AND identity = ?2 RETURNING id",
            params![follow.0, identity],
            |r| r.get(0),
        )
        .optional()
        .context("removing a deleted entry")?;
    if let Some(id) = id {
        super::search::remove(conn, super::search::Kind::Entry, id)?;
    }
    Ok(id.is_some())
}

/// Deletes up to `limit` entries first seen and dated before `cutoff`,
/// oldest first, and their search rows, except those an own post replies
/// to (by link or id). Returns how many went.
pub fn prune(conn: &Connection, cutoff: i64, limit: usize) -> Result<usize> {
    let mut stmt = conn
        .prepare_cached(
            "DELETE FROM entries WHERE id IN (
                 SELECT e.id FROM entries e
                 WHERE e.sort_time < ?1 AND e.first_seen < ?1
                   AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.reply_to IN (e.link, e.identity))
                 ORDER BY e.sort_time LIMIT ?2)
             RETURNING id",
        )
        .context("forgetting old entries")?;
    let ids: Vec<i64> = stmt
        .query_map(params![cutoff, limit as i64], |r| r.get(0))
        .context("forgetting old entries")?
        .collect::<rusqlite::Result<_>>()
        .context("forgetting old entries")?;
    for &id in &ids {
        super::search::remove(conn, super::search::Kind::Entry, id)?;
    }
    Ok(ids.len())
}

/// Newest first, after the timeline cursor (see `store::posts::before_cursor`).
pub fn page(conn: &Connection, before: Option<Cursor>, limit: usize) -> Result<Vec<Entry>> {
    let c = before.unwrap_or(Cursor::START);
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM entries e JOIN follows f ON f.id = e.follow_id
             WHERE e.sort_time < ?1 OR (e.sort_time = ?1 AND (?2 = 0 OR e.id < ?3))
             ORDER BY e.sort_time DESC, e.id DESC LIMIT ?4"
        ))
        .context("listing the timeline")?;
    let rows = stmt
        .query_map(params![c.time, c.kind, c.id, limit as i64], from_row)
        .context("listing the timeline")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("listing the timeline")
}

/// The timeline positions of the `limit` entries just newer than the
/// cursor `after`, oldest first (for the timeline's "Newer" link).
pub fn cursors_after(conn: &Connection, after: Cursor, limit: usize) -> Result<Vec<Cursor>> {
    super::posts::cursors(
        conn,
        "SELECT sort_time, id FROM entries
         WHERE sort_time > ?1 OR (sort_time = ?1 AND ?2 = 1 AND id > ?3)
         ORDER BY sort_time, id LIMIT ?4",
        (after, 1, limit),
    )
    .context("listing newer timeline entries")
}

/// Entries that reply to any of `targets` (a post's permalink, its feed id),
/// by the parent's address or its id, oldest first.
pub fn replies_to(conn: &Connection, targets: &[&str]) -> Result<Vec<Entry>> {
    let mut found = Vec::new();
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM entries e JOIN follows f ON f.id = e.follow_id
             WHERE e.in_reply_to = ?1 OR e.in_reply_to_ref = ?1 ORDER BY e.sort_time, e.id"
        ))
        .context("finding replies")?;
    for target in targets {
        let rows = stmt
            .query_map([target], from_row)
            .context("finding replies")?;
        for row in rows {
            let entry = row.context("finding replies")?;
            if !found.iter().any(|e: &Entry| e.id == entry.id) {
                found.push(entry);
            }
        }
    }
    found.sort_by_key(|e| (e.sort_time, e.id));
    Ok(found)
}

/// The followed entry whose id or address is `target` (a reply's parent), if any.
pub fn by_identity_or_link(conn: &Connection, target: &str) -> Result<Option<Entry>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM entries e JOIN follows f ON f.id = e.follow_id
         WHERE e.identity = ?1 OR e.link = ?1 ORDER BY e.identity = ?1 DESC, e.id LIMIT 1"
    ))
    .and_then(|mut s| s.query_row([target], from_row).optional())
    .context("finding the entry replied to")
}

/// Entry `id`, with its feed's name.
pub fn get(conn: &Connection, id: i64) -> Result<Option<Entry>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM entries e JOIN follows f ON f.id = e.follow_id WHERE e.id = ?1"
    ))
    .and_then(|mut s| s.query_row([id], from_row).optional())
    .context("reading an entry")
}
