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

/// Gives the lease up at the end of a run; `finished` records when a run
/// that completed ended (`None` for one that failed).
pub fn release(conn: &Connection, holder: &str, finished: Option<i64>) -> Result<()> {
    conn.execute(
        "UPDATE poll_lease SET holder = NULL, expires = 0,
                last_finished = COALESCE(?2, last_finished)
         WHERE id = 1 AND holder = ?1",
        params![holder, finished],
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

/// When a poll last finished (unix seconds), if one ever has.
pub fn last_finished(conn: &Connection) -> Result<Option<i64>> {
    conn.query_row(
        "SELECT last_finished FROM poll_lease WHERE id = 1",
        [],
        |r| r.get::<_, i64>(0),
    )
    .optional()
    .map(|t| t.filter(|&t| t > 0))
    .context("reading when the last poll finished")
}
