//! The owner's sessions and the failed-login record that throttles guessing.

use anyhow::{Context, Result};
use rusqlite::{Connection, params};

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

/// Ends every session (a new password signs everyone out).
pub fn delete_all(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM sessions", [])
        .context("ending all sessions")?;
    Ok(())
}

pub fn record_login_failure(conn: &Connection, remote_addr: &str, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO login_failures (remote_addr, at) VALUES (?1, ?2)",
        params![remote_addr, now],
    )
    .context("recording a failed login")?;
    Ok(())
}

/// Failed logins since `since`: (from this address, from anywhere).
pub fn login_failures_since(
    conn: &Connection,
    remote_addr: &str,
    since: i64,
) -> Result<(i64, i64)> {
    conn.execute("DELETE FROM login_failures WHERE at < ?1", [since])
        .context("forgetting old failed logins")?;
    conn.query_row(
        "SELECT count(*) FILTER (WHERE remote_addr = ?1), count(*) FROM login_failures WHERE at >= ?2",
        params![remote_addr, since],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .context("counting failed logins")
}

pub fn clear_login_failures(conn: &Connection, remote_addr: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM login_failures WHERE remote_addr = ?1",
        [remote_addr],
    )
    .context("clearing failed logins")?;
    Ok(())
}
