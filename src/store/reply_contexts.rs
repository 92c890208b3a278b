//! The `reply_contexts` table: what cron found at the remote address an
//! own post replies to (`threads`): its author, an excerpt as plain text
//! and its date, or why it could not be read. One row per address, so
//! posts answering the same page share it.

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};

/// A remote parent as read from its page. Names and the excerpt are plain
/// text; the URLs passed `sanitize::is_web_url` or are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyContext {
    pub url: String,
    pub author_name: String,
    pub author_url: String,
    pub author_photo: String,
    pub excerpt: String,
    pub published: Option<i64>,
    pub fetched_at: i64,
}

/// The parent fetched for `url`, if it was (a failed fetch is `None`).
pub fn fetched(conn: &Connection, url: &str) -> Result<Option<ReplyContext>> {
    conn.prepare_cached(
        "SELECT url, author_name, author_url, author_photo, excerpt, published, fetched_at
         FROM reply_contexts WHERE url = ?1 AND state = 'fetched'",
    )
    .and_then(|mut s| {
        s.query_row([url], |r| {
            Ok(ReplyContext {
                url: r.get(0)?,
                author_name: r.get(1)?,
                author_url: r.get(2)?,
                author_photo: r.get(3)?,
                excerpt: r.get(4)?,
                published: r.get(5)?,
                fetched_at: r.get(6)?,
            })
        })
        .optional()
    })
    .context("reading a reply's parent")
}

/// Keeps what was read at `c.url`, replacing an earlier fetch or failure.
pub fn save(conn: &Connection, c: &ReplyContext) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO reply_contexts
             (url, state, author_name, author_url, author_photo, excerpt, published, fetched_at, note)
         VALUES (?1, 'fetched', ?2, ?3, ?4, ?5, ?6, ?7, '')",
        params![
            c.url,
            c.author_name,
            c.author_url,
            c.author_photo,
            c.excerpt,
            c.published,
            c.fetched_at
        ],
    )
    .context("saving a reply's parent")?;
    Ok(())
}

/// Records that `url` could not be read, and why. A parent fetched before
/// is kept: a page that fails once still shows what it said.
pub fn save_failed(conn: &Connection, url: &str, note: &str, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO reply_contexts (url, state, fetched_at, note) VALUES (?1, 'failed', ?2, ?3)
         ON CONFLICT (url) DO UPDATE SET note = excluded.note
             WHERE state = 'failed'",
        params![url, now, note],
    )
    .context("recording a reply's parent that could not be read")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::migrations::in_memory as db;

    #[test]
    fn a_failure_after_a_fetch_keeps_what_was_read() {
        let conn = db();
        let url = "https://them.example/1";
        save_failed(&conn, url, "timed out", 1).unwrap();
        assert_eq!(fetched(&conn, url).unwrap(), None);
        let c = ReplyContext {
            url: url.into(),
            author_name: "Ann".into(),
            excerpt: "Hello".into(),
            fetched_at: 2,
            ..Default::default()
        };
        save(&conn, &c).unwrap();
        save_failed(&conn, url, "404", 3).unwrap();
        assert_eq!(fetched(&conn, url).unwrap(), Some(c));
    }
}
