//! The `posts` table: the owner's own posts.

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, Row, params};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PostId(pub i64);

#[derive(Debug, Clone)]
pub struct Post {
    pub id: PostId,
    pub uid: String,
    pub body: String,
    pub reply_to: Option<String>,
    pub published: i64,
    pub updated: i64,
}

const COLUMNS: &str = "id, uid, body, reply_to, published, updated";

fn from_row(r: &Row) -> rusqlite::Result<Post> {
    Ok(Post {
        id: PostId(r.get(0)?),
        uid: r.get(1)?,
        body: r.get(2)?,
        reply_to: r.get(3)?,
        published: r.get(4)?,
        updated: r.get(5)?,
    })
}

/// Inserts a post; `uid_prefix` plus the new id becomes its permanent feed id.
pub fn insert(
    conn: &Connection,
    uid_prefix: &str,
    body: &str,
    reply_to: Option<&str>,
    now: i64,
) -> Result<PostId> {
    // The uid needs the id, which only exists after the insert: a placeholder
    // unique per row is set first, then replaced in the same transaction.
    conn.execute(
        "INSERT INTO posts (uid, body, reply_to, published, updated)
         VALUES ('pending:' || hex(randomblob(16)), ?1, ?2, ?3, ?3)",
        params![body, reply_to, now],
    )
    .context("saving the post")?;
    let id = conn.last_insert_rowid();
    conn.execute(
        "UPDATE posts SET uid = ?1 WHERE id = ?2",
        params![format!("{uid_prefix}{id}"), id],
    )
    .context("saving the post's id")?;
    Ok(PostId(id))
}

pub fn get(conn: &Connection, id: PostId) -> Result<Option<Post>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM posts WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id.0], from_row).optional())
        .with_context(|| format!("reading post {}", id.0))
}

/// Returns false when there is no such post.
pub fn update_body(conn: &Connection, id: PostId, body: &str, now: i64) -> Result<bool> {
    let n = conn
        .execute(
            "UPDATE posts SET body = ?1, updated = max(?2, published) WHERE id = ?3",
            params![body, now, id.0],
        )
        .with_context(|| format!("changing post {}", id.0))?;
    Ok(n == 1)
}

/// Returns false when there is no such post.
pub fn delete(conn: &Connection, id: PostId) -> Result<bool> {
    let n = conn
        .execute("DELETE FROM posts WHERE id = ?1", [id.0])
        .with_context(|| format!("deleting post {}", id.0))?;
    Ok(n == 1)
}

/// Newest first, `limit` posts older than the cursor `before` (an id: ids only
/// grow, so a page never shifts when new posts arrive).
pub fn page(conn: &Connection, before: Option<PostId>, limit: usize) -> Result<Vec<Post>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM posts WHERE id < ?1 ORDER BY id DESC LIMIT ?2"
        ))
        .context("listing posts")?;
    let rows = stmt
        .query_map(
            params![before.map_or(i64::MAX, |p| p.0), limit as i64],
            from_row,
        )
        .context("listing posts")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("listing posts")
}

/// Every post, oldest first (for `roost export`).
pub fn all(conn: &Connection) -> Result<Vec<Post>> {
    let mut stmt = conn
        .prepare(&format!("SELECT {COLUMNS} FROM posts ORDER BY id"))
        .context("listing posts")?;
    let rows = stmt.query_map([], from_row).context("listing posts")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("listing posts")
}

/// A position in the merged timeline, ordered by time (newest first), then
/// own posts (kind 0) before followed entries (kind 1), then id (highest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub time: i64,
    pub kind: u8,
    pub id: i64,
}

impl Cursor {
    pub const START: Cursor = Cursor {
        time: i64::MAX,
        kind: 0,
        id: i64::MAX,
    };
}

/// Own posts after the timeline cursor, newest first.
pub fn before_cursor(conn: &Connection, before: Option<Cursor>, limit: usize) -> Result<Vec<Post>> {
    let c = before.unwrap_or(Cursor::START);
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM posts
             WHERE published < ?1 OR (published = ?1 AND ?2 = 0 AND id < ?3)
             ORDER BY published DESC, id DESC LIMIT ?4"
        ))
        .context("listing posts for the timeline")?;
    let rows = stmt
        .query_map(params![c.time, c.kind, c.id, limit as i64], from_row)
        .context("listing posts for the timeline")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("listing posts for the timeline")
}

/// The owner's posts that reply to either of `targets` (a post's permalink
/// and its id), oldest first.
pub fn replies_to(conn: &Connection, targets: [&str; 2]) -> Result<Vec<Post>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM posts WHERE reply_to IN (?1, ?2) ORDER BY published, id"
        ))
        .context("finding own replies")?;
    let rows = stmt
        .query_map(targets, from_row)
        .context("finding own replies")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("finding own replies")
}

/// The post whose feed id is `uid`, if any.
pub fn by_uid(conn: &Connection, uid: &str) -> Result<Option<Post>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM posts WHERE uid = ?1"))
        .and_then(|mut s| s.query_row([uid], from_row).optional())
        .context("finding a post by its id")
}
