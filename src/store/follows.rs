//! The `follows` table: the feeds the owner follows and each one's polling state.

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// The status of a feed fetched and stored with notes on what was not read
/// or kept (kept where errors are: `following` shows them as notes).
pub const PARTLY_READ: &str = "ok, partly read";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FollowId(pub i64);

/// A followed feed, as `roost following` and the poller see it.
#[derive(Debug, Clone)]
pub struct Follow {
    pub id: FollowId,
    pub url: String,
    pub name: Option<String>,
    pub title: Option<String>,
    pub home_url: Option<String>,
    pub added: i64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub next_check: i64,
    pub last_checked: Option<i64>,
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub failures: i64,
    pub gone: bool,
}

impl Follow {
    /// What to call it: the nickname, else the feed's title, else its address.
    pub fn display_name(&self) -> &str {
        self.name
            .as_deref()
            .or(self.title.as_deref())
            .unwrap_or(&self.url)
    }
}

const COLUMNS: &str = "id, url, name, title, home_url, added, etag, last_modified, next_check, \
                       last_checked, last_status, last_error, failures, gone";

fn from_row(r: &Row) -> rusqlite::Result<Follow> {
    Ok(Follow {
        id: FollowId(r.get(0)?),
        url: r.get(1)?,
        name: r.get(2)?,
        title: r.get(3)?,
        home_url: r.get(4)?,
        added: r.get(5)?,
        etag: r.get(6)?,
        last_modified: r.get(7)?,
        next_check: r.get(8)?,
        last_checked: r.get(9)?,
        last_status: r.get(10)?,
        last_error: r.get(11)?,
        failures: r.get(12)?,
        gone: r.get::<_, i64>(13)? != 0,
    })
}

/// A new follow as found by its first fetch.
pub struct NewFollow<'a> {
    pub url: &'a str,
    pub name: Option<&'a str>,
    pub title: Option<&'a str>,
    pub home_url: Option<&'a str>,
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
    pub next_check: i64,
    /// What the first fetch left out, if anything (`IncomingFeed::notes`
    /// joined): kept as a poll's are, status "ok, partly read" and the notes
    /// where an error would be.
    pub note: Option<&'a str>,
}

pub fn insert(conn: &Connection, new: &NewFollow, now: i64) -> Result<FollowId> {
    conn.execute(
        "INSERT INTO follows (url, name, title, home_url, added, etag, last_modified, next_check,
                              last_checked, last_status, last_error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?5, ?9, ?10)",
        params![
            new.url,
            new.name,
            new.title,
            new.home_url,
            now,
            new.etag,
            new.last_modified,
            new.next_check,
            if new.note.is_some() {
                PARTLY_READ
            } else {
                "ok"
            },
            new.note
        ],
    )
    .with_context(|| format!("saving the follow {}", new.url))?;
    Ok(FollowId(conn.last_insert_rowid()))
}

/// By exact URL, or by nickname.
pub fn find(conn: &Connection, url_or_name: &str) -> Result<Option<Follow>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM follows WHERE url = ?1 OR name = ?1 ORDER BY url = ?1 DESC LIMIT 1"),
        [url_or_name],
        from_row,
    )
    .optional()
    .with_context(|| format!("looking up the follow {url_or_name}"))
}

/// By id.
pub fn by_id(conn: &Connection, id: i64) -> Result<Option<Follow>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM follows WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
    .context("looking up a follow")
}

/// Removes the follow and, by cascade, its entries.
pub fn delete(conn: &Connection, id: FollowId) -> Result<()> {
    super::search::remove_entries_of_follow(conn, id.0)?;
    conn.execute("DELETE FROM follows WHERE id = ?1", [id.0])
        .context("removing the follow")?;
    Ok(())
}

/// How many feeds are followed.
/// The account followed as follow `id` moved: the follow now names its
/// new address (its entries stay).
pub fn moved(conn: &Connection, id: FollowId, url: &str, home_url: &str) -> Result<()> {
    conn.execute(
        "UPDATE follows SET url = ?2, home_url = ?3 WHERE id = ?1",
        params![id.0, url, home_url],
    )
    .context("moving a follow to its new address")?;
    Ok(())
}

pub fn count(conn: &Connection) -> Result<i64> {
    conn.query_row("SELECT COUNT(*) FROM follows", [], |r| r.get(0))
        .context("counting the followed feeds")
}

pub fn all(conn: &Connection) -> Result<Vec<Follow>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM follows ORDER BY lower(coalesce(name, title, url))"
        ))
        .context("listing follows")?;
    let rows = stmt.query_map([], from_row).context("listing follows")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("listing follows")
}

/// Feeds whose next check has come (all of them with `force`), soonest
/// first; never gone ones, nor accounts followed by ActivityPub (their
/// posts are delivered).
pub fn due(conn: &Connection, now: i64, force: bool) -> Result<Vec<Follow>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM follows WHERE gone = 0 AND (?2 OR next_check <= ?1)
               AND id NOT IN (SELECT follow_id FROM ap_following)
             ORDER BY next_check, id"
        ))
        .context("finding the feeds due")?;
    let rows = stmt
        .query_map(params![now, force], from_row)
        .context("finding the feeds due")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("finding the feeds due")
}

/// What one poll of a feed found out.
pub struct PollRecord<'a> {
    pub status: &'a str,
    pub error: Option<&'a str>,
    pub next_check: i64,
    pub failures: i64,
    pub gone: bool,
    /// `None` keeps the stored validators (errors, 304).
    pub validators: Option<(Option<&'a str>, Option<&'a str>)>,
    pub title: Option<&'a str>,
    pub home_url: Option<&'a str>,
    /// A permanent redirect's target: the follow's address changes.
    pub new_url: Option<&'a str>,
}

pub fn record_poll(conn: &Connection, id: FollowId, record: &PollRecord, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE follows SET last_checked = ?2, last_status = ?3, last_error = ?4, next_check = ?5,
                failures = ?6, gone = ?7,
                title = coalesce(?8, title), home_url = coalesce(?9, home_url)
         WHERE id = ?1",
        params![
            id.0,
            now,
            record.status,
            record.error,
            record.next_check,
            record.failures,
            record.gone,
            record.title,
            record.home_url
        ],
    )
    .context("recording the poll")?;
    if let Some((etag, last_modified)) = record.validators {
        conn.execute(
            "UPDATE follows SET etag = ?2, last_modified = ?3 WHERE id = ?1",
            params![id.0, etag, last_modified],
        )
        .context("recording the feed's validators")?;
    }
    if let Some(url) = record.new_url {
        // Another follow may already have this address; then keep the old one.
        conn.execute(
            "UPDATE OR IGNORE follows SET url = ?2 WHERE id = ?1",
            params![id.0, url],
        )
        .context("recording the feed's new address")?;
    }
    Ok(())
}
