//! The `mentions_sent` table: what became of each Webmention the owner's
//! posts sent (the last attempt per post and target), for the owner's view
//! of a post and for sending a deletion to every target a post reached.

use super::posts::PostId;
use anyhow::{Context, Result};
use rusqlite::{Connection, params};

/// One target of a post and what its last send came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub target: String,
    /// The endpoint discovered, if any.
    pub endpoint: Option<String>,
    /// The endpoint's HTTP status, when it answered.
    pub status: Option<u16>,
    /// What happened, in words.
    pub outcome: String,
    /// Where the receiver said the mention can be followed (201/202 `Location`).
    pub location: Option<String>,
    pub sent_at: i64,
}

/// Records (or replaces) the outcome of sending `post`'s mention of `sent.target`.
pub fn record(conn: &Connection, post: PostId, sent: &Sent) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO mentions_sent (post_id, target, endpoint, status, outcome, location, sent_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (post_id, target) DO UPDATE SET
             endpoint = excluded.endpoint, status = excluded.status,
             outcome = excluded.outcome, location = excluded.location,
             sent_at = excluded.sent_at",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            post.0,
            sent.target,
            sent.endpoint,
            sent.status,
            sent.outcome,
            sent.location,
            sent.sent_at
        ])
    })
    .with_context(|| {
        format!(
            "recording the Webmention of post {} to {}",
            post.0, sent.target
        )
    })?;
    Ok(())
}

/// Every target `post` was sent to (or tried), in the order of their addresses.
pub fn for_post(conn: &Connection, post: PostId) -> Result<Vec<Sent>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT target, endpoint, status, outcome, location, sent_at
             FROM mentions_sent WHERE post_id = ?1 ORDER BY target",
        )
        .context("reading the Webmentions sent")?;
    let rows = stmt
        .query_map([post.0], |r| {
            Ok(Sent {
                target: r.get(0)?,
                endpoint: r.get(1)?,
                status: r.get(2)?,
                outcome: r.get(3)?,
                location: r.get(4)?,
                sent_at: r.get(5)?,
            })
        })
        .context("reading the Webmentions sent")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("reading the Webmentions sent")
}

/// The newest record's time and how many records `post` has: what the
/// owner's view of the post shows changes with these (its ETag carries them).
pub fn version(conn: &Connection, post: PostId) -> Result<(i64, i64)> {
    conn.prepare_cached(
        "SELECT coalesce(max(sent_at), 0), count(*) FROM mentions_sent WHERE post_id = ?1",
    )
    .and_then(|mut s| s.query_row([post.0], |r| Ok((r.get(0)?, r.get(1)?))))
    .context("reading the Webmentions sent")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_keeps_its_last_outcome() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::migrations::migrate(&mut conn).unwrap();
        let mut sent = Sent {
            target: "https://b.example/".into(),
            endpoint: None,
            status: None,
            outcome: "no endpoint".into(),
            location: None,
            sent_at: 10,
        };
        record(&conn, PostId(1), &sent).unwrap();
        sent.endpoint = Some("https://b.example/wm".into());
        sent.status = Some(202);
        sent.sent_at = 20;
        record(&conn, PostId(1), &sent).unwrap();
        record(&conn, PostId(2), &sent).unwrap();
        assert_eq!(for_post(&conn, PostId(1)).unwrap(), vec![sent]);
        assert_eq!(version(&conn, PostId(1)).unwrap(), (20, 1));
        assert_eq!(version(&conn, PostId(3)).unwrap(), (0, 0));
    }
}
