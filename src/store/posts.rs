//! The `posts` table: the owner's own posts.

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// A post longer than this is refused: roost is for short posts. The
/// store holds nothing longer; the forms say so with `maxlength`.
pub const MAX_POST_CHARS: usize = 5000;

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
    /// Where the post was first published, when it was brought home from
    /// another service (`u-syndication`).
    pub syndication: Option<String>,
    /// Its content warning, shown before the text (`p-summary`).
    pub summary: Option<String>,
    /// Its categories (tags), in the order given.
    pub categories: Vec<String>,
    /// Its photos, in order (`store::media`).
    pub photos: Vec<super::media::Photo>,
}

/// A post row's own columns, as written.
const OWN_COLUMNS: &str =
    "id, uid, body, reply_to, published, updated, syndication, summary, categories";

/// The post's own columns, then its photos as one JSON array in order
/// (`media::photos_from_json`): one query for a page of posts.
const COLUMNS: &str = "id, uid, body, reply_to, published, updated, syndication, summary,
    categories,
    (SELECT json_group_array(json_object(
        'name', m.name, 'mime', m.mime, 'width', m.width, 'height', m.height,
        'bytes', m.bytes, 'thumb', m.thumb, 'thumb_width', m.thumb_width,
        'thumb_height', m.thumb_height, 'alt', m.alt) ORDER BY m.position, m.id)
     FROM media m WHERE m.post_id = posts.id)";

fn from_row(r: &Row) -> rusqlite::Result<Post> {
    Ok(Post {
        id: PostId(r.get(0)?),
        uid: r.get(1)?,
        body: r.get(2)?,
        reply_to: r.get(3)?,
        published: r.get(4)?,
        updated: r.get(5)?,
        syndication: r.get(6)?,
        summary: r.get(7)?,
        categories: r
            .get::<_, String>(8)?
            .lines()
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        photos: super::media::photos_from_json(r.get(9)?),
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
    insert_imported(
        conn,
        uid_prefix,
        &Imported {
            body,
            reply_to,
            published: now,
            updated: now,
            syndication: None,
            summary: None,
        },
    )
}

/// A post brought from elsewhere: its own dates, its original address and
/// content warning.
pub struct Imported<'a> {
    pub body: &'a str,
    pub reply_to: Option<&'a str>,
    pub published: i64,
    pub updated: i64,
    pub syndication: Option<&'a str>,
    pub summary: Option<&'a str>,
}

/// Inserts a post with its own dates under a new number; `uid_prefix`
/// plus that number becomes its permanent feed id.
pub fn insert_imported(conn: &Connection, uid_prefix: &str, post: &Imported) -> Result<PostId> {
    // The uid needs the id, which only exists after the insert: a placeholder
    // unique per row is set first, then replaced in the same transaction.
    conn.execute(
        "INSERT INTO posts (uid, body, reply_to, published, updated, syndication, summary)
         VALUES ('pending:' || hex(randomblob(16)), ?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            post.body,
            post.reply_to,
            post.published,
            post.updated.max(post.published),
            post.syndication,
            post.summary
        ],
    )
    .context("saving the post")?;
    let id = conn.last_insert_rowid();
    conn.execute(
        "UPDATE posts SET uid = ?1 WHERE id = ?2",
        params![format!("{uid_prefix}{id}"), id],
    )
    .context("saving the post's id")?;
    super::search::index_post(conn, id)?;
    Ok(PostId(id))
}

/// Puts back a post exactly as exported (`roost import roost`): its number,
/// feed id, dates and text.
pub fn restore(conn: &Connection, post: &Post) -> Result<()> {
    conn.execute(
        &format!("INSERT INTO posts ({OWN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
        params![
            post.id.0,
            post.uid,
            post.body,
            post.reply_to,
            post.published,
            post.updated,
            post.syndication,
            post.summary,
            post.categories.join("\n")
        ],
    )
    .with_context(|| format!("restoring post {}", post.id.0))?;
    super::search::index_post(conn, post.id.0)
}

/// Puts back a deleted post's tombstone, and makes every number up to
/// `last` taken, as on the node exported (numbers are never reused).
pub fn restore_numbers(
    conn: &Connection,
    tombstones: &[(i64, Tombstone)],
    last: i64,
) -> Result<()> {
    for (id, t) in tombstones {
        conn.execute(
            "INSERT INTO deleted_posts (id, uid, deleted) VALUES (?1, ?2, ?3)",
            params![id, t.uid, t.deleted],
        )
        .with_context(|| format!("restoring deleted post {id}"))?;
    }
    conn.execute("DELETE FROM sqlite_sequence WHERE name = 'posts'", [])
        .and_then(|_| {
            conn.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('posts', ?1)",
                [last],
            )
        })
        .context("restoring the last post number")?;
    Ok(())
}

/// Every tombstone, by number (for `roost export`).
pub fn all_deleted(conn: &Connection) -> Result<Vec<(i64, Tombstone)>> {
    let mut stmt = conn
        .prepare("SELECT id, uid, deleted FROM deleted_posts ORDER BY id")
        .context("listing deleted posts")?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                Tombstone {
                    uid: r.get(1)?,
                    deleted: r.get(2)?,
                },
            ))
        })
        .context("listing deleted posts")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("listing deleted posts")
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
    super::search::index_post(conn, id.0)?;
    Ok(n == 1)
}

/// Sets a post's categories (each one line, no newline inside). Returns
/// false when there is no such post.
pub fn set_categories(conn: &Connection, id: PostId, categories: &[String]) -> Result<bool> {
    conn.execute(
        "UPDATE posts SET categories = ?1 WHERE id = ?2",
        params![categories.join("\n"), id.0],
    )
    .map(|n| n == 1)
    .with_context(|| format!("changing the categories of post {}", id.0))
}

/// Dates a new post back (or on) to `published`, as given by an app.
pub fn set_published(conn: &Connection, id: PostId, published: i64) -> Result<()> {
    conn.execute(
        "UPDATE posts SET published = ?1, updated = ?1 WHERE id = ?2",
        params![published, id.0],
    )
    .with_context(|| format!("dating post {}", id.0))?;
    Ok(())
}

/// Every category any post has, each once, sorted.
pub fn all_categories(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare("SELECT categories FROM posts WHERE categories != ''")
        .context("listing the categories")?;
    let lists = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .context("listing the categories")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .context("reading the categories")?;
    let mut all: Vec<String> = lists
        .iter()
        .flat_map(|list| list.lines())
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    all.sort();
    all.dedup();
    Ok(all)
}

/// Deletes a post, keeping its number and feed id as a tombstone (see
/// `deleted`). Returns false when there is no such post.
pub fn delete(conn: &Connection, id: PostId, now: i64) -> Result<bool> {
    let kept = conn
        .execute(
            "INSERT INTO deleted_posts
                 (id, uid, deleted, body, reply_to, published, categories, syndication, summary)
             SELECT id, uid, ?2, body, reply_to, published, categories, syndication, summary
             FROM posts WHERE id = ?1",
            params![id.0, now],
        )
        .with_context(|| format!("keeping a tombstone of post {}", id.0))?;
    if kept == 0 {
        return Ok(false);
    }
    conn.execute("DELETE FROM posts WHERE id = ?1", [id.0])
        .with_context(|| format!("deleting post {}", id.0))?;
    super::search::remove(conn, super::search::Kind::Post, id.0)?;
    Ok(true)
}

/// Brings a deleted post back from its tombstone, at its number, with its
/// feed id, text, reply, categories and publication time (`updated` now).
/// False when there is no tombstone that kept its text.
pub fn undelete(conn: &Connection, id: PostId, now: i64) -> Result<bool> {
    let restored = conn
        .execute(
            "INSERT INTO posts
                 (id, uid, body, reply_to, published, updated, categories, syndication, summary)
             SELECT id, uid, body, reply_to, published, max(?2, published),
                    coalesce(categories, ''), syndication, summary
             FROM deleted_posts WHERE id = ?1 AND body IS NOT NULL",
            params![id.0, now],
        )
        .with_context(|| format!("bringing back post {}", id.0))?;
    if restored == 0 {
        return Ok(false);
    }
    conn.execute("DELETE FROM deleted_posts WHERE id = ?1", [id.0])
        .with_context(|| format!("removing the tombstone of post {}", id.0))?;
    super::search::index_post(conn, id.0)?;
    Ok(true)
}

/// What is left of a deleted post: its feed id and when it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub uid: String,
    pub deleted: i64,
}

/// The `limit` posts deleted last, newest first (for the Atom feed).
pub fn recently_deleted(conn: &Connection, limit: usize) -> Result<Vec<Tombstone>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT uid, deleted FROM deleted_posts ORDER BY deleted DESC, id DESC LIMIT ?1",
        )
        .context("listing deleted posts")?;
    let rows = stmt
        .query_map([limit as i64], |r| {
            Ok(Tombstone {
                uid: r.get(0)?,
                deleted: r.get(1)?,
            })
        })
        .context("listing deleted posts")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("listing deleted posts")
}

/// Every post number handed out so far, as the last one and those deleted:
/// a number up to `last` and not in `deleted` is a post.
pub fn numbers(conn: &Connection) -> Result<(i64, Vec<i64>)> {
    let last = conn
        .query_row(
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'posts'), 0)",
            [],
            |r| r.get(0),
        )
        .context("reading the last post number")?;
    let mut stmt = conn
        .prepare("SELECT id FROM deleted_posts ORDER BY id")
        .context("listing deleted posts")?;
    let deleted = stmt
        .query_map([], |r| r.get(0))
        .context("listing deleted posts")?
        .collect::<rusqlite::Result<_>>()
        .context("listing deleted posts")?;
    Ok((last, deleted))
}

/// When post `id` was deleted, if it existed and was.
pub fn deleted(conn: &Connection, id: PostId) -> Result<Option<i64>> {
    conn.prepare_cached("SELECT deleted FROM deleted_posts WHERE id = ?1")
        .and_then(|mut s| s.query_row([id.0], |r| r.get(0)).optional())
        .with_context(|| format!("looking for deleted post {}", id.0))
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

/// The ids of the `limit` posts just newer than `after`, oldest first:
/// where the page before a page of `page` starts.
pub fn ids_after(conn: &Connection, after: PostId, limit: usize) -> Result<Vec<PostId>> {
    let mut stmt = conn
        .prepare_cached("SELECT id FROM posts WHERE id > ?1 ORDER BY id LIMIT ?2")
        .context("listing newer posts")?;
    let rows = stmt
        .query_map(params![after.0, limit as i64], |r| Ok(PostId(r.get(0)?)))
        .context("listing newer posts")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("listing newer posts")
}

/// How many posts there are (ActivityPub's outbox counts them).
pub fn count(conn: &Connection) -> Result<i64> {
    conn.query_row("SELECT count(*) FROM posts", [], |r| r.get(0))
        .context("counting posts")
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

    /// Orders as the timeline does, a greater key being newer: by time,
    /// then own posts before followed entries, then by id.
    pub fn sort_key(&self) -> (i64, std::cmp::Reverse<u8>, i64) {
        (self.time, std::cmp::Reverse(self.kind), self.id)
    }
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

/// The timeline positions of the `limit` own posts just newer than the
/// cursor `after`, oldest first (for the timeline's "Newer" link).
pub fn cursors_after(conn: &Connection, after: Cursor, limit: usize) -> Result<Vec<Cursor>> {
    cursors(
        conn,
        "SELECT published, id FROM posts
         WHERE published > ?1 OR (published = ?1 AND (?2 = 1 OR id > ?3))
         ORDER BY published, id LIMIT ?4",
        (after, 0, limit),
    )
    .context("listing newer posts for the timeline")
}

/// Runs `sql` (selecting time and id, with parameters time, kind and id
/// of `after`, then `limit`) into cursors of `kind`.
pub(super) fn cursors(
    conn: &Connection,
    sql: &str,
    (after, kind, limit): (Cursor, u8, usize),
) -> rusqlite::Result<Vec<Cursor>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(
        params![after.time, after.kind, after.id, limit as i64],
        |r| {
            Ok(Cursor {
                time: r.get(0)?,
                kind,
                id: r.get(1)?,
            })
        },
    )?;
    rows.collect()
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
