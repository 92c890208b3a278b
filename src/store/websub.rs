//! WebSub's tables: the hub's subscriptions and the feed bodies it last
//! distributed (`websub::hub`), and the hubs this node subscribed to for
//! followed feeds (`websub::subscriber`).

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// A verified subscription to one of the owner's feeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: i64,
    pub topic: String,
    pub callback: String,
    pub secret: Option<String>,
    pub lease_seconds: i64,
    pub expires_at: i64,
    pub created_at: i64,
}

const SUBSCRIPTION: &str = "id, topic, callback, secret, lease_seconds, expires_at, created_at";

fn subscription_row(r: &Row) -> rusqlite::Result<Subscription> {
    Ok(Subscription {
        id: r.get(0)?,
        topic: r.get(1)?,
        callback: r.get(2)?,
        secret: r.get(3)?,
        lease_seconds: r.get(4)?,
        expires_at: r.get(5)?,
        created_at: r.get(6)?,
    })
}

/// Makes or renews a subscription whose intent was verified.
pub fn subscribe(
    conn: &Connection,
    topic: &str,
    callback: &str,
    secret: Option<&str>,
    lease_seconds: i64,
    now: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO websub_subscriptions (topic, callback, secret, lease_seconds, expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (topic, callback) DO UPDATE SET
             secret = excluded.secret, lease_seconds = excluded.lease_seconds,
             expires_at = excluded.expires_at",
        params![topic, callback, secret, lease_seconds, now + lease_seconds, now],
    )
    .context("saving a WebSub subscription")?;
    Ok(())
}

pub fn unsubscribe(conn: &Connection, topic: &str, callback: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM websub_subscriptions WHERE topic = ?1 AND callback = ?2",
        params![topic, callback],
    )
    .context("removing a WebSub subscription")?;
    Ok(())
}

pub fn remove_subscription(conn: &Connection, id: i64) -> Result<()> {
    conn.execute("DELETE FROM websub_subscriptions WHERE id = ?1", [id])
        .context("removing a WebSub subscription")?;
    Ok(())
}

pub fn subscription(conn: &Connection, id: i64) -> Result<Option<Subscription>> {
    conn.query_row(
        &format!("SELECT {SUBSCRIPTION} FROM websub_subscriptions WHERE id = ?1"),
        [id],
        subscription_row,
    )
    .optional()
    .context("reading a WebSub subscription")
}

/// Every subscription, by topic then callback (the owner's list).
pub fn subscriptions(conn: &Connection) -> Result<Vec<Subscription>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {SUBSCRIPTION} FROM websub_subscriptions ORDER BY topic, callback"
        ))
        .context("listing WebSub subscriptions")?;
    let rows = stmt
        .query_map([], subscription_row)
        .context("listing WebSub subscriptions")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("listing WebSub subscriptions")
}

/// The ids of `topic`'s subscriptions whose lease runs past `now`.
pub fn live_subscription_ids(conn: &Connection, topic: &str, now: i64) -> Result<Vec<i64>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id FROM websub_subscriptions WHERE topic = ?1 AND expires_at > ?2 ORDER BY id",
        )
        .context("listing WebSub subscribers")?;
    let rows = stmt
        .query_map(params![topic, now], |r| r.get(0))
        .context("listing WebSub subscribers")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("listing WebSub subscribers")
}

/// Whether any subscription exists (a post need not queue distribution otherwise).
pub fn has_subscriptions(conn: &Connection) -> Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM websub_subscriptions)")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .context("looking for WebSub subscriptions")
}

/// Forgets subscriptions whose lease ran out before `now`.
pub fn remove_expired(conn: &Connection, now: i64) -> Result<usize> {
    conn.execute(
        "DELETE FROM websub_subscriptions WHERE expires_at <= ?1",
        [now],
    )
    .context("removing expired WebSub subscriptions")
}

/// A feed body as last distributed.
#[derive(Debug, Clone)]
pub struct Content {
    pub content_type: String,
    pub body: Vec<u8>,
    pub hash: String,
}

pub fn content(conn: &Connection, topic: &str) -> Result<Option<Content>> {
    conn.query_row(
        "SELECT content_type, body, hash FROM websub_content WHERE topic = ?1",
        [topic],
        |r| {
            Ok(Content {
                content_type: r.get(0)?,
                body: r.get(1)?,
                hash: r.get(2)?,
            })
        },
    )
    .optional()
    .context("reading the distributed feed")
}

pub fn set_content(conn: &Connection, topic: &str, content: &Content, now: i64) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO websub_content (topic, content_type, body, hash, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![topic, content.content_type, content.body, content.hash, now],
    )
    .context("keeping the distributed feed")?;
    Ok(())
}

/// A hub this node subscribed to (or is subscribing to) for a followed feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub callback_id: String,
    /// `None` once unfollowed (the unsubscribe is on its way).
    pub follow_id: Option<i64>,
    pub hub: String,
    pub topic: String,
    pub secret: String,
    /// `requested`, `active`, `unsubscribing` or `denied`.
    pub state: String,
    pub lease_expires: Option<i64>,
    pub note: String,
}

const PUSHED: &str = "callback_id, follow_id, hub, topic, secret, state, lease_expires, note";

fn pushed_row(r: &Row) -> rusqlite::Result<Pushed> {
    Ok(Pushed {
        callback_id: r.get(0)?,
        follow_id: r.get(1)?,
        hub: r.get(2)?,
        topic: r.get(3)?,
        secret: r.get(4)?,
        state: r.get(5)?,
        lease_expires: r.get(6)?,
        note: r.get(7)?,
    })
}

pub fn pushed_for_follow(conn: &Connection, follow_id: i64) -> Result<Option<Pushed>> {
    conn.query_row(
        &format!("SELECT {PUSHED} FROM websub_pushed WHERE follow_id = ?1"),
        [follow_id],
        pushed_row,
    )
    .optional()
    .context("reading a followed feed's hub")
}

pub fn pushed_by_callback(conn: &Connection, callback_id: &str) -> Result<Option<Pushed>> {
    conn.query_row(
        &format!("SELECT {PUSHED} FROM websub_pushed WHERE callback_id = ?1"),
        [callback_id],
        pushed_row,
    )
    .optional()
    .context("reading a WebSub callback")
}

/// Records a subscription being asked for (replacing one for the same follow).
pub fn insert_pushed(conn: &Connection, pushed: &Pushed, now: i64) -> Result<()> {
    if let Some(follow_id) = pushed.follow_id {
        conn.execute(
            "DELETE FROM websub_pushed WHERE follow_id = ?1",
            [follow_id],
        )
        .context("replacing a followed feed's hub")?;
    }
    conn.execute(
        "INSERT INTO websub_pushed (callback_id, follow_id, hub, topic, secret, state, lease_expires, note, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            pushed.callback_id,
            pushed.follow_id,
            pushed.hub,
            pushed.topic,
            pushed.secret,
            pushed.state,
            pushed.lease_expires,
            pushed.note,
            now
        ],
    )
    .context("saving a followed feed's hub")?;
    Ok(())
}

pub fn set_pushed_state(
    conn: &Connection,
    callback_id: &str,
    state: &str,
    lease_expires: Option<i64>,
    note: &str,
    now: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE websub_pushed SET state = ?2, lease_expires = ?3, note = ?4, updated_at = ?5
         WHERE callback_id = ?1",
        params![callback_id, state, lease_expires, note, now],
    )
    .context("updating a followed feed's hub")?;
    Ok(())
}

/// The follow is going: the row stays, detached, until the hub confirms.
pub fn detach_pushed(conn: &Connection, follow_id: i64, now: i64) -> Result<Option<Pushed>> {
    let found = pushed_for_follow(conn, follow_id)?;
    if let Some(p) = &found {
        conn.execute(
            "UPDATE websub_pushed SET follow_id = NULL, state = 'unsubscribing', updated_at = ?2
             WHERE callback_id = ?1",
            params![p.callback_id, now],
        )
        .context("unsubscribing from a followed feed's hub")?;
    }
    Ok(found)
}

pub fn delete_pushed(conn: &Connection, callback_id: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM websub_pushed WHERE callback_id = ?1",
        [callback_id],
    )
    .context("forgetting a followed feed's hub")?;
    Ok(())
}

/// Whether a hub pushes `follow_id`'s feed (its poll can wait).
pub fn is_pushed(conn: &Connection, follow_id: i64, now: i64) -> Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM websub_pushed WHERE follow_id = ?1 AND state = 'active'
                          AND coalesce(lease_expires, 0) > ?2)",
    )
    .and_then(|mut s| s.query_row(params![follow_id, now], |r| r.get(0)))
    .context("reading a followed feed's hub")
}
