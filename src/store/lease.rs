//! The poll lease: one row saying which run polls, until when. A run that
//! crashed leaves a lease that simply expires.

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};

/// Takes the lease when it is free or stale; false when another run holds it.
pub fn acquire(conn: &Connection, holder: &str, now: i64, seconds: i64) -> Result<bool> {
    let n = conn
        .execute(
            "UPDATE poll_lease SET holder = ?1, expires = ?2
             WHERE id = 1 AND (holder IS NULL OR expires <= ?3 OR holder = ?1)",
            params![holder, now + seconds, now],
        )
        .context("taking the poll lease")?;
    Ok(n == 1)
}

/// Extends our own lease; false when it was lost (it expired and another run took it).
pub fn renew(conn: &Connection, holder: &str, now: i64, seconds: i64) -> Result<bool> {
    acquire(conn, holder, now, seconds)
}

pub fn release(conn: &Connection, holder: &str) -> Result<()> {
    conn.execute(
        "UPDATE poll_lease SET holder = NULL, expires = 0 WHERE id = 1 AND holder = ?1",
        [holder],
    )
    .context("releasing the poll lease")?;
    Ok(())
}

/// Who holds a live lease, if anyone.
pub fn holder(conn: &Connection, now: i64) -> Result<Option<String>> {
    conn.query_row(
        "SELECT holder FROM poll_lease WHERE id = 1 AND expires > ?1",
        [now],
        |r| r.get::<_, Option<String>>(0),
    )
    .optional()
    .map(Option::flatten)
    .context("reading the poll lease")
}

/// Replaces a lease whose holder is known to be dead; false if it changed meanwhile.
pub fn take_over(
    conn: &Connection,
    dead: &str,
    holder: &str,
    now: i64,
    seconds: i64,
) -> Result<bool> {
    let n = conn
        .execute(
            "UPDATE poll_lease SET holder = ?2, expires = ?3 WHERE id = 1 AND holder = ?1",
            params![dead, holder, now + seconds],
        )
        .context("taking over a dead poll's lease")?;
    Ok(n == 1)
}
