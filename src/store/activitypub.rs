//! ActivityPub's tables (`src/activitypub/`): the node's key pair, its
//! followers, activities received and waiting for cron, the remote keys
//! fetched, what was seen (replays), the inbox's request log and its drop
//! counters. Received replies, likes and boosts are `store::mentions` rows.

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// The node's key pair (PKCS#8 and SubjectPublicKeyInfo PEM), if made.
pub fn key_pair(conn: &Connection) -> Result<Option<(String, String)>> {
    conn.query_row(
        "SELECT private_pem, public_pem FROM ap_keys WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .context("reading the ActivityPub key pair")
}

/// Keeps the first key pair made: a second writer racing the first keeps
/// the one already stored (and must read it back).
pub fn set_key_pair(
    conn: &Connection,
    private_pem: &str,
    public_pem: &str,
    now: i64,
) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO ap_keys (id, private_pem, public_pem, created_at)
         VALUES (1, ?1, ?2, ?3)",
        params![private_pem, public_pem, now],
    )
    .context("saving the ActivityPub key pair")?;
    Ok(())
}

/// A remote account that follows the node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Follower {
    pub actor: String,
    pub inbox: String,
    pub shared_inbox: String,
    pub name: String,
    pub handle: String,
    pub follow_id: String,
    pub since: i64,
    /// Waits for the owner's approval (`follow_approval = manual`): not
    /// counted, nothing delivered to it.
    pub pending: bool,
}

impl Follower {
    /// Where deliveries for this follower go: its server's shared inbox
    /// when it has one, else its own.
    pub fn delivery_inbox(&self) -> &str {
        if self.shared_inbox.is_empty() {
            &self.inbox
        } else {
            &self.shared_inbox
        }
    }
}

fn follower(r: &Row) -> rusqlite::Result<Follower> {
    Ok(Follower {
        actor: r.get(0)?,
        inbox: r.get(1)?,
        shared_inbox: r.get(2)?,
        name: r.get(3)?,
        handle: r.get(4)?,
        follow_id: r.get(5)?,
        since: r.get(6)?,
        pending: r.get(7)?,
    })
}

/// Adds (or renews) a follower. Returns whether it is new.
pub fn add_follower(conn: &Connection, f: &Follower) -> Result<bool> {
    let existed = follower_by_actor(conn, &f.actor)?.is_some();
    conn.execute(
        "INSERT INTO ap_followers (actor, inbox, shared_inbox, name, handle, follow_id, since,
             pending)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (actor) DO UPDATE SET inbox = excluded.inbox,
             shared_inbox = excluded.shared_inbox, name = excluded.name,
             handle = excluded.handle, follow_id = excluded.follow_id, failures = 0,
             pending = excluded.pending AND pending",
        params![
            f.actor,
            f.inbox,
            f.shared_inbox,
            f.name,
            f.handle,
            f.follow_id,
            f.since,
            f.pending
        ],
    )
    .context("saving a follower")?;
    Ok(!existed)
}

pub fn follower_by_actor(conn: &Connection, actor: &str) -> Result<Option<Follower>> {
    conn.query_row(
        "SELECT actor, inbox, shared_inbox, name, handle, follow_id, since, pending
         FROM ap_followers WHERE actor = ?1",
        [actor],
        follower,
    )
    .optional()
    .context("reading a follower")
}

/// The owner approved follower `actor`: it counts and is delivered to.
/// Returns whether it was waiting.
pub fn approve_follower(conn: &Connection, actor: &str) -> Result<bool> {
    Ok(conn
        .execute(
            "UPDATE ap_followers SET pending = 0 WHERE actor = ?1 AND pending",
            [actor],
        )
        .context("approving a follower")?
        > 0)
}

/// Removes a follower. Returns whether there was one.
pub fn remove_follower(conn: &Connection, actor: &str) -> Result<bool> {
    Ok(conn
        .execute("DELETE FROM ap_followers WHERE actor = ?1", [actor])
        .context("removing a follower")?
        > 0)
}

/// Every follower, newest first.
pub fn followers(conn: &Connection) -> Result<Vec<Follower>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT actor, inbox, shared_inbox, name, handle, follow_id, since, pending
             FROM ap_followers ORDER BY since DESC, actor",
        )
        .context("reading the followers")?;
    let rows = stmt
        .query_map([], follower)
        .context("reading the followers")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("reading the followers")
}

pub fn follower_count(conn: &Connection) -> Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM ap_followers WHERE NOT pending",
        [],
        |r| r.get(0),
    )
    .context("counting the followers")
}

/// The distinct inboxes one delivery to every follower goes to (shared
/// inboxes where their servers have one).
pub fn delivery_inboxes(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT DISTINCT CASE WHEN shared_inbox = '' THEN inbox ELSE shared_inbox END AS target
             FROM ap_followers WHERE NOT pending ORDER BY target",
        )
        .context("listing the followers' inboxes")?;
    let rows = stmt
        .query_map([], |r| r.get(0))
        .context("listing the followers' inboxes")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("listing the followers' inboxes")
}

/// An inbox answered 404 or 410 to a delivery: counts against every
/// follower delivered there; those past `limit` such answers in a row are
/// dropped. Returns how many were dropped.
pub fn inbox_gone(conn: &Connection, inbox: &str, limit: i64) -> Result<usize> {
    conn.execute(
        "UPDATE ap_followers SET failures = failures + 1 WHERE inbox = ?1 OR shared_inbox = ?1",
        [inbox],
    )
    .context("counting a follower's failed delivery")?;
    conn.execute(
        "DELETE FROM ap_followers WHERE (inbox = ?1 OR shared_inbox = ?1) AND failures >= ?2",
        params![inbox, limit],
    )
    .context("dropping followers whose inbox is gone")
}

/// A delivery to `inbox` succeeded: its followers' failures start over.
pub fn inbox_reached(conn: &Connection, inbox: &str) -> Result<()> {
    conn.execute(
        "UPDATE ap_followers SET failures = 0 WHERE (inbox = ?1 OR shared_inbox = ?1) AND failures > 0",
        [inbox],
    )
    .context("recording a delivery")?;
    Ok(())
}

/// An account the owner follows by ActivityPub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Following {
    pub actor: String,
    /// Its `follows` row, which its entries belong to.
    pub follow_id: i64,
    pub inbox: String,
    /// The id of the node's Follow.
    pub activity: String,
    pub accepted: bool,
}

pub fn add_following(conn: &Connection, f: &Following) -> Result<()> {
    conn.execute(
        "INSERT INTO ap_following (actor, follow_id, inbox, activity, accepted)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (actor) DO UPDATE SET follow_id = excluded.follow_id,
             inbox = excluded.inbox, activity = excluded.activity, accepted = excluded.accepted",
        params![f.actor, f.follow_id, f.inbox, f.activity, f.accepted],
    )
    .context("saving an account followed")?;
    Ok(())
}

fn following_row(r: &Row) -> rusqlite::Result<Following> {
    Ok(Following {
        actor: r.get(0)?,
        follow_id: r.get(1)?,
        inbox: r.get(2)?,
        activity: r.get(3)?,
        accepted: r.get(4)?,
    })
}

/// The account followed by ActivityPub as `actor`, or through follow `follow_id`.
pub fn following(conn: &Connection, actor: &str, follow_id: i64) -> Result<Option<Following>> {
    conn.query_row(
        "SELECT actor, follow_id, inbox, activity, accepted FROM ap_following
         WHERE actor = ?1 OR follow_id = ?2",
        params![actor, follow_id],
        following_row,
    )
    .optional()
    .context("reading an account followed")
}

/// The account followed as `old` moved: it is followed as `new` (same
/// follow, a new Follow not yet accepted).
pub fn move_following(conn: &Connection, old: &str, new: &Following) -> Result<()> {
    conn.execute("DELETE FROM ap_following WHERE actor = ?1", [old])
        .context("moving an account followed")?;
    add_following(conn, new)
}

/// Follower `old` moved to `new` (its address, inboxes and names); it
/// waits for approval as it did.
pub fn move_follower(conn: &Connection, old: &str, new: &Follower) -> Result<bool> {
    Ok(conn
        .execute(
            "UPDATE OR REPLACE ap_followers SET actor = ?2, inbox = ?3, shared_inbox = ?4,
                 name = ?5, handle = ?6, failures = 0
             WHERE actor = ?1",
            params![
                old,
                new.actor,
                new.inbox,
                new.shared_inbox,
                new.name,
                new.handle
            ],
        )
        .context("moving a follower")?
        > 0)
}

/// `actor` accepted the node's Follow `activity`. Returns whether it was ours.
pub fn accept_following(conn: &Connection, actor: &str, activity: &str) -> Result<bool> {
    Ok(conn
        .execute(
            "UPDATE ap_following SET accepted = 1 WHERE actor = ?1 AND activity = ?2",
            params![actor, activity],
        )
        .context("recording an accepted follow")?
        > 0)
}

/// How many accounts followed by ActivityPub accepted the node's Follow
/// (the `following` collection's `totalItems`).
pub fn following_count(conn: &Connection) -> Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM ap_following WHERE accepted",
        [],
        |r| r.get(0),
    )
    .context("counting the accounts followed")
}

/// Every account followed by ActivityPub, by actor.
pub fn followings(conn: &Connection) -> Result<Vec<Following>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT actor, follow_id, inbox, activity, accepted FROM ap_following ORDER BY actor",
        )
        .context("listing the accounts followed")?;
    let rows = stmt
        .query_map([], following_row)
        .context("listing the accounts followed")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("listing the accounts followed")
}

/// What the profile counts besides posts: everything followed (feeds and
/// accounts) and the followers (not those waiting for approval).
pub fn audience(conn: &Connection) -> Result<(i64, i64)> {
    conn.query_row(
        "SELECT (SELECT count(*) FROM follows),
                (SELECT count(*) FROM ap_followers WHERE NOT pending)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .context("counting the follows and followers")
}

/// A request to the inbox, kept as received until cron verifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub id: i64,
    pub received_at: i64,
    pub host: String,
    pub method: String,
    pub target_uri: String,
    /// Lower-case names, values as received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Stores a received request; returns its id.
pub fn receive(conn: &Connection, r: &Received) -> Result<i64> {
    let headers = serde_json::to_string(&r.headers).context("writing the received headers")?;
    conn.query_row(
        "INSERT INTO ap_inbox (received_at, host, method, target_uri, headers, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        params![
            r.received_at,
            r.host,
            r.method,
            r.target_uri,
            headers,
            r.body
        ],
        |row| row.get(0),
    )
    .context("storing a received activity")
}

pub fn received(conn: &Connection, id: i64) -> Result<Option<Received>> {
    let row = conn
        .query_row(
            "SELECT id, received_at, host, method, target_uri, headers, body FROM ap_inbox WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Vec<u8>>(6)?,
                ))
            },
        )
        .optional()
        .context("reading a received activity")?;
    let Some((id, received_at, host, method, target_uri, headers, body)) = row else {
        return Ok(None);
    };
    let headers = serde_json::from_str(&headers).context("reading the received headers")?;
    Ok(Some(Received {
        id,
        received_at,
        host,
        method,
        target_uri,
        headers,
        body,
    }))
}

pub fn forget_received(conn: &Connection, id: i64) -> Result<()> {
    conn.execute("DELETE FROM ap_inbox WHERE id = ?1", [id])
        .context("removing a received activity")?;
    Ok(())
}

/// A remote key fetched before: its owner and PEM, and when it was fetched.
pub fn remote_key(conn: &Connection, key_id: &str) -> Result<Option<(String, String, i64)>> {
    conn.query_row(
        "SELECT owner, pem, fetched_at FROM ap_remote_keys WHERE key_id = ?1",
        [key_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()
    .context("reading a remote key")
}

pub fn save_remote_key(
    conn: &Connection,
    key_id: &str,
    owner: &str,
    pem: &str,
    now: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO ap_remote_keys (key_id, owner, pem, fetched_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key_id) DO UPDATE SET owner = excluded.owner, pem = excluded.pem,
             fetched_at = excluded.fetched_at",
        params![key_id, owner, pem, now],
    )
    .context("saving a remote key")?;
    Ok(())
}

/// Records `key` as seen at `now` (forgetting what was seen before
/// `forget_before`); returns whether it had been seen already.
pub fn seen_before(conn: &Connection, key: &str, now: i64, forget_before: i64) -> Result<bool> {
    conn.execute("DELETE FROM ap_seen WHERE at < ?1", [forget_before])
        .context("forgetting old activities")?;
    let inserted = conn
        .execute(
            "INSERT OR IGNORE INTO ap_seen (key, at) VALUES (?1, ?2)",
            params![key, now],
        )
        .context("recording an activity seen")?;
    Ok(inserted == 0)
}

/// Takes one request from `host` when fewer than `limit` were taken since
/// `since`: `Ok(None)`; else `Ok(Some(seconds))` until one more may be.
pub fn take_request(
    conn: &Connection,
    host: &str,
    since: i64,
    window: i64,
    limit: i64,
    now: i64,
) -> Result<Option<i64>> {
    conn.execute("DELETE FROM ap_requests WHERE at < ?1", [since])
        .context("forgetting old inbox requests")?;
    let (count, oldest): (i64, Option<i64>) = conn
        .query_row(
            "SELECT count(*), min(at) FROM ap_requests WHERE host = ?1",
            [host],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .context("counting inbox requests")?;
    if count >= limit {
        return Ok(Some((oldest.unwrap_or(now) + window - now).max(1)));
    }
    conn.execute(
        "INSERT INTO ap_requests (host, at) VALUES (?1, ?2)",
        params![host, now],
    )
    .context("recording an inbox request")?;
    Ok(None)
}

/// A value ActivityPub keeps between runs (`profile`: the hash of the
/// actor the followers last got).
pub fn state(conn: &Connection, key: &str) -> Result<Option<String>> {
    conn.query_row("SELECT value FROM ap_state WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
    .context("reading ActivityPub's state")
}

/// Sets `key` to `value`; with `keep`, only where it has none yet.
pub fn set_state(conn: &Connection, key: &str, value: &str, keep: bool) -> Result<()> {
    let sql = if keep {
        "INSERT OR IGNORE INTO ap_state (key, value) VALUES (?1, ?2)"
    } else {
        "INSERT OR REPLACE INTO ap_state (key, value) VALUES (?1, ?2)"
    };
    conn.execute(sql, params![key, value])
        .context("saving ActivityPub's state")?;
    Ok(())
}

/// Adds one to the counter `name` (activities dropped, by reason).
pub fn count(conn: &Connection, name: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO ap_counters (name, count) VALUES (?1, 1)
         ON CONFLICT (name) DO UPDATE SET count = count + 1",
        [name],
    )
    .context("counting a dropped activity")?;
    Ok(())
}

/// Every counter, by name.
pub fn counters(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn
        .prepare_cached("SELECT name, count FROM ap_counters ORDER BY name")
        .context("reading the inbox counters")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .context("reading the inbox counters")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("reading the inbox counters")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::migrations::in_memory as db;

    #[test]
    fn followers_on_one_server_share_one_delivery_and_are_dropped_when_it_is_gone() {
        let conn = db();
        for (actor, shared) in [
            ("https://a.example/u/1", "https://a.example/inbox"),
            ("https://a.example/u/2", "https://a.example/inbox"),
            ("https://b.example/u/3", ""),
        ] {
            let f = Follower {
                actor: actor.into(),
                inbox: format!("{actor}/inbox"),
                shared_inbox: shared.into(),
                since: 1,
                ..Default::default()
            };
            assert!(add_follower(&conn, &f).unwrap());
        }
        assert_eq!(
            delivery_inboxes(&conn).unwrap(),
            ["https://a.example/inbox", "https://b.example/u/3/inbox"]
        );
        assert_eq!(inbox_gone(&conn, "https://a.example/inbox", 2).unwrap(), 0);
        inbox_reached(&conn, "https://a.example/inbox").unwrap();
        assert_eq!(inbox_gone(&conn, "https://a.example/inbox", 2).unwrap(), 0);
        assert_eq!(inbox_gone(&conn, "https://a.example/inbox", 2).unwrap(), 2);
        assert_eq!(follower_count(&conn).unwrap(), 1);
    }

    #[test]
    fn a_key_seen_again_within_the_window_is_a_replay() {
        let conn = db();
        assert!(!seen_before(&conn, "sig:a", 10, 0).unwrap());
        assert!(seen_before(&conn, "sig:a", 20, 0).unwrap());
        assert!(!seen_before(&conn, "sig:a", 100, 50).unwrap());
    }

    #[test]
    fn requests_past_the_limit_wait_for_the_oldest_to_leave_the_window() {
        let conn = db();
        assert_eq!(take_request(&conn, "h", 0, 100, 2, 10).unwrap(), None);
        assert_eq!(take_request(&conn, "h", 0, 100, 2, 20).unwrap(), None);
        assert_eq!(take_request(&conn, "h", 0, 100, 2, 30).unwrap(), Some(80));
        assert_eq!(take_request(&conn, "other", 0, 100, 2, 30).unwrap(), None);
        assert_eq!(take_request(&conn, "h", 15, 100, 2, 115).unwrap(), None);
    }
}
