//! The search index (SQLite FTS5, schema step 14): one row per own post,
//! received entry and received mention, kept by the store functions that
//! write those rows, in their transaction, so it never drifts from them.
//!
//! The index is contentless (`content=''`): it holds the words, not a
//! second copy of the text, which the rows themselves have. Its rowid says
//! what a hit is: `id * 4 + kind` ([`Kind`]). The `tags` column holds
//! filter words (`xmine`, `xlink`, `xphoto`) that `search::Query` matches
//! for `is:mine`, `has:link`, `has:photo`.
//!
//! Rows that existed before the index are added by cron in chunks
//! ([`catch_up`]): `search_progress` keeps, per kind, the last id indexed
//! and the highest id that existed when the index was made (later ones
//! were indexed when written).

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};

/// What a hit is, in the rowid's low two bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Post = 0,
    Entry = 1,
    Mention = 2,
}

impl Kind {
    fn of(rowid: i64) -> Option<Kind> {
        match rowid & 3 {
            0 => Some(Kind::Post),
            1 => Some(Kind::Entry),
            2 => Some(Kind::Mention),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Post => "post",
            Kind::Entry => "entry",
            Kind::Mention => "mention",
        }
    }
}

fn rowid(kind: Kind, id: i64) -> i64 {
    id * 4 + kind as i64
}

/// The longest text indexed per row (a very long entry is searchable by
/// its beginning).
pub const MAX_INDEXED_CHARS: usize = 20_000;

/// What one row is found by.
#[derive(Debug, Default)]
pub struct Indexed<'a> {
    pub title: &'a str,
    /// Plain text (HTML reduced by the caller or by [`Indexed::html`]).
    pub body: &'a str,
    /// Who wrote it, and (entries) the feed it came from.
    pub author: &'a str,
    pub mine: bool,
    pub has_link: bool,
    pub has_photo: bool,
}

/// Adds or replaces the index row of `(kind, id)`.
pub fn put(conn: &Connection, kind: Kind, id: i64, row: &Indexed) -> Result<()> {
    remove(conn, kind, id)?;
    let mut tags = Vec::new();
    if row.mine {
        tags.push("xmine");
    }
    if row.has_link {
        tags.push("xlink");
    }
    if row.has_photo {
        tags.push("xphoto");
    }
    tags.push(match kind {
        Kind::Post => "xpost",
        Kind::Entry => "xentry",
        Kind::Mention => "xmention",
    });
    let body: String = row.body.chars().take(MAX_INDEXED_CHARS).collect();
    conn.prepare_cached(
        "INSERT INTO search (rowid, title, body, author, tags) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            rowid(kind, id),
            row.title,
            body,
            row.author,
            tags.join(" ")
        ])
    })
    .with_context(|| format!("indexing {} {id} for search", kind.name()))?;
    Ok(())
}

/// Removes `(kind, id)` from the index (nothing when it is not there).
pub fn remove(conn: &Connection, kind: Kind, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM search WHERE rowid = ?1")
        .and_then(|mut s| s.execute([rowid(kind, id)]))
        .with_context(|| format!("removing {} {id} from the search index", kind.name()))?;
    Ok(())
}

/// Removes a followed feed's entries from the index (before they go).
pub fn remove_entries_of_follow(conn: &Connection, follow_id: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM search WHERE rowid IN (SELECT id * 4 + 1 FROM entries WHERE follow_id = ?1)",
        [follow_id],
    )
    .context("removing a feed's entries from the search index")?;
    Ok(())
}

/// A hit: what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hit {
    pub kind: Kind,
    pub id: i64,
}

/// The newest `limit` rows matching `expression` (FTS5 query syntax, built
/// by `search::Query`, never the user's text as typed). Newest by rowid, as
/// ids grow with time: FTS5 walks its lists in rowid order and stops at the
/// limit, so a word found in a million rows costs no more than a rare one.
/// (Not ranked here: bm25 counts every row holding each word, a scan of the
/// whole list per query; `search` ranks the few candidates itself.)
pub fn matching(conn: &Connection, expression: &str, limit: usize) -> Result<Vec<Hit>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT rowid FROM search WHERE search MATCH ?1 ORDER BY rowid DESC LIMIT ?2",
        )
        .context("searching")?;
    let rows = stmt
        .query_map(params![expression, limit as i64], |r| r.get::<_, i64>(0))
        .context("searching")?;
    let mut hits = Vec::new();
    for rowid in rows {
        let rowid = rowid.context("searching")?;
        if let Some(kind) = Kind::of(rowid) {
            hits.push(Hit {
                kind,
                id: rowid >> 2,
            });
        }
    }
    Ok(hits)
}

/// What ranking a hit needs: its date and the words it was found by.
#[derive(Debug, Clone, Default)]
pub struct Candidate {
    pub at: i64,
    pub title: String,
    pub author: String,
    /// Plain text (posts) or sanitized HTML (entries, mentions).
    pub text: String,
    pub is_html: bool,
}

/// The row behind a hit (`None`: gone since, or a mention not shown, which
/// search leaves out).
pub fn candidate(conn: &Connection, kind: Kind, id: i64) -> Result<Option<Candidate>> {
    let sql = match kind {
        Kind::Post => "SELECT published, '', '', body, 0 FROM posts WHERE id = ?1",
        Kind::Entry => {
            "SELECT e.sort_time, coalesce(e.title, ''),
                    coalesce(e.author, '') || ' ' || coalesce(f.name, f.title, f.url),
                    coalesce(e.content_html, ''), 1
             FROM entries e JOIN follows f ON f.id = e.follow_id WHERE e.id = ?1"
        }
        Kind::Mention => {
            "SELECT coalesce(published, received_at), '', author_name, content, 1 FROM mentions
             WHERE id = ?1 AND state IN ('approved', 'pending')"
        }
    };
    conn.prepare_cached(sql)
        .and_then(|mut s| {
            s.query_row([id], |r| {
                Ok(Candidate {
                    at: r.get(0)?,
                    title: r.get(1)?,
                    author: r.get(2)?,
                    text: r.get(3)?,
                    is_html: r.get(4)?,
                })
            })
            .optional()
        })
        .context("reading a search hit")
}

/// Indexes one row of a kind by its id ([`index_post`], ...).
type Indexer = fn(&Connection, i64) -> Result<()>;

/// Rows a chunk of [`catch_up`] indexes.
pub const CHUNK: i64 = 500;

/// Indexes up to [`CHUNK`] rows that existed before the index, of the
/// first kind not done yet; returns how many (0: all done), by the same
/// functions the writes use.
pub fn catch_up(conn: &Connection) -> Result<usize> {
    let pending: Option<(String, i64, i64)> = conn
        .query_row(
            "SELECT kind, done, upto FROM search_progress WHERE done < upto ORDER BY kind LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .ok();
    let Some((kind, done, upto)) = pending else {
        return Ok(0);
    };
    let (table, index): (&str, Indexer) = match kind.as_str() {
        "post" => ("posts", index_post),
        "entry" => ("entries", index_entry),
        "mention" => ("mentions", index_mention),
        other => anyhow::bail!("the search index has an unknown kind {other:?}"),
    };
    let ids: Vec<i64> = {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT id FROM {table} WHERE id > ?1 AND id <= ?2 ORDER BY id LIMIT ?3"
            ))
            .context("listing rows to index")?;
        stmt.query_map(params![done, upto, CHUNK], |r| r.get(0))
            .context("listing rows to index")?
            .collect::<rusqlite::Result<_>>()
            .context("listing rows to index")?
    };
    for id in &ids {
        index(conn, *id)?;
    }
    let reached = if (ids.len() as i64) < CHUNK {
        upto
    } else {
        *ids.last().unwrap_or(&upto)
    };
    conn.execute(
        "UPDATE search_progress SET done = ?2 WHERE kind = ?1",
        params![kind, reached],
    )
    .context("recording the search index's progress")?;
    Ok(ids.len().max(1))
}

/// Whether rows made before the index are still being added.
pub fn catching_up(conn: &Connection) -> Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM search_progress WHERE done < upto)",
        [],
        |r| r.get(0),
    )
    .context("reading the search index's progress")
}

/// (Re)indexes own post `id`, or removes it when it is gone.
pub fn index_post(conn: &Connection, id: i64) -> Result<()> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM posts WHERE id = ?1")
        .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
        .context("reading a post to index")?;
    let Some(body) = body else {
        return remove(conn, Kind::Post, id);
    };
    put(
        conn,
        Kind::Post,
        id,
        &Indexed {
            body: &body,
            mine: true,
            has_link: body.contains("http://") || body.contains("https://"),
            ..Indexed::default()
        },
    )
}

/// (Re)indexes received entry `id`: its title, its text, its author and
/// the feed's name.
pub fn index_entry(conn: &Connection, id: i64) -> Result<()> {
    type Row = (
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        String,
    );
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT e.title, e.content_html, e.author, coalesce(f.name, f.title, f.url), e.enclosures
             FROM entries e JOIN follows f ON f.id = e.follow_id WHERE e.id = ?1",
        )
        .and_then(|mut s| {
            s.query_row([id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()
        })
        .context("reading an entry to index")?;
    let Some((title, html, author, feed, enclosures)) = row else {
        return remove(conn, Kind::Entry, id);
    };
    let html = html.unwrap_or_default();
    let text = crate::sanitize::plain_text(&html, MAX_INDEXED_CHARS);
    let author = format!("{} {feed}", author.unwrap_or_default());
    put(
        conn,
        Kind::Entry,
        id,
        &Indexed {
            title: title.as_deref().unwrap_or_default(),
            body: &text,
            author: &author,
            mine: false,
            has_link: html.contains("href="),
            has_photo: html.contains("<img") || enclosures.contains("\"image/"),
        },
    )
}

/// (Re)indexes received mention `id`: its author's name and its content.
pub fn index_mention(conn: &Connection, id: i64) -> Result<()> {
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT author_name, content FROM mentions WHERE id = ?1")
        .and_then(|mut s| s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .context("reading a mention to index")?;
    let Some((author, html)) = row else {
        return remove(conn, Kind::Mention, id);
    };
    let text = crate::sanitize::plain_text(&html, MAX_INDEXED_CHARS);
    put(
        conn,
        Kind::Mention,
        id,
        &Indexed {
            body: &text,
            author: &author,
            has_link: html.contains("href="),
            has_photo: html.contains("<img"),
            ..Indexed::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows written before schema step 14 are indexed by `catch_up` in
    /// chunks, and rows written after it by the writes themselves, once.
    #[test]
    fn rows_older_than_the_index_are_added_in_chunks() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrations::migrate_to(&mut conn, 13).unwrap();
        for n in 0..(CHUNK + 3) {
            conn.execute(
                "INSERT INTO posts (uid, body, published, updated) VALUES (?1, ?2, 1, 1)",
                params![format!("u{n}"), format!("old post number {n}")],
            )
            .unwrap();
        }
        super::super::migrations::migrate(&mut conn).unwrap();
        let count = |conn: &Connection| -> i64 {
            conn.query_row(
                "SELECT count(*) FROM search WHERE search MATCH '\"old\"'",
                [],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(count(&conn), 0);
        assert!(catching_up(&conn).unwrap());
        let newer = super::super::posts::insert(&conn, "t:", "old and new", None, 2).unwrap();
        assert_eq!(
            count(&conn),
            1,
            "a post written after the index is indexed at once"
        );
        assert_eq!(catch_up(&conn).unwrap(), CHUNK as usize);
        assert_eq!(catch_up(&conn).unwrap(), 3);
        while catch_up(&conn).unwrap() > 0 {}
        assert!(!catching_up(&conn).unwrap());
        assert_eq!(count(&conn), CHUNK + 3 + 1, "each post once: {newer:?}");
    }
}
