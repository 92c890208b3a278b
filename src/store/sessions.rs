//! The owner's sessions and the failed-login record that throttles guessing.

use anyhow::{Context, Result};
use rusqlite::{Connection, params};

/// A signed-in owner: the hash that names the session, and the CSRF token
/// every form must carry, derived from the secret cookie so it needs no
/// storage (`web::auth` makes one from the cookie; pages only read it).
#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: String,
    pub csrf: String,
}

pub fn create(conn: &Connection, token_hash: &str, now: i64, expires: i64) -> Result<()> {
    conn.execute("DELETE FROM sessions WHERE expires <= ?1", [now])
        .context("removing expired sessions")?;
    conn.execute(
        "INSERT INTO sessions (token_hash, created, expires) VALUES (?1, ?2, ?3)",
        params![token_hash, now, expires],
    )
    .context("saving the session")?;
    Ok(())
}

pub fn is_valid(conn: &Connection, token_hash: &str, now: i64) -> Result<bool> {
    conn.prepare_cached("SELECT count(*) FROM sessions WHERE token_hash = ?1 AND expires > ?2")
        .and_then(|mut s| s.query_row(params![token_hash, now], |r| r.get::<_, i64>(0)))
        .map(|n| n > 0)
        .context("checking the session")
}

pub fn delete(conn: &Connection, token_hash: &str) -> Result<()> {
    conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])
        .context("ending the session")?;
    Ok(())
}

/// Ends every session (a new password signs everyone out); returns how many were live.
pub fn delete_all(conn: &Connection, now: i64) -> Result<usize> {
    let live = conn
        .query_row(
            "SELECT count(*) FROM sessions WHERE expires > ?1",
            [now],
            |r| r.get::<_, i64>(0),
        )
        .context("counting sessions")?;
    conn.execute("DELETE FROM sessions", [])
        .context("ending all sessions")?;
    Ok(live as usize)
}

/// Records a failed login against `key` (an address, or an IPv6 /64).
pub fn record_login_failure(conn: &Connection, key: &str, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO login_failures (remote_addr, at) VALUES (?1, ?2)",
        params![key, now],
    )
    .context("recording a failed login")?;
    Ok(())
}

/// Failed logins from `key` since `since`: how many, and when the last was.
/// (Older ones, from every address, are forgotten on the way.)
pub fn login_failures_since(
    conn: &Connection,
    key: &str,
    since: i64,
) -> Result<(i64, Option<i64>)> {
    conn.execute("DELETE FROM login_failures WHERE at < ?1", [since])
        .context("forgetting old failed logins")?;
    conn.query_row(
        "SELECT count(*), max(at) FROM login_failures WHERE remote_addr = ?1 AND at >= ?2",
        params![key, since],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .context("counting failed logins")
}

pub fn clear_login_failures(conn: &Connection, key: &str) -> Result<()> {
    conn.execute("DELETE FROM login_failures WHERE remote_addr = ?1", [key])
        .context("clearing failed logins")?;
    Ok(())
}

/// Forgets every failed login (`roost passwd`); returns (failures, addresses).
pub fn clear_all_login_failures(conn: &Connection) -> Result<(i64, i64)> {
    let counts = conn
        .query_row(
            "SELECT count(*), count(DISTINCT remote_addr) FROM login_failures",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .context("counting failed logins")?;
    conn.execute("DELETE FROM login_failures", [])
        .context("clearing failed logins")?;
    Ok(counts)
}
