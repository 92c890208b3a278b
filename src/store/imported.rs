//! The `imported` table: which item of which archive became which post, so
//! an import run twice (or again after a kill) adds nothing twice, and a
//! reply finds the post its parent became.

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};

/// The post item `item` of `source` became (it may since have been deleted).
pub fn post_of(conn: &Connection, source: &str, item: &str) -> Result<Option<i64>> {
    conn.prepare_cached("SELECT post_id FROM imported WHERE source = ?1 AND item = ?2")
        .and_then(|mut s| s.query_row(params![source, item], |r| r.get(0)).optional())
        .with_context(|| format!("looking up imported {source} item {item}"))
}

pub fn record(conn: &Connection, source: &str, item: &str, post_id: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO imported (source, item, post_id) VALUES (?1, ?2, ?3)",
        params![source, item, post_id],
    )
    .with_context(|| format!("recording imported {source} item {item}"))?;
    Ok(())
}

/// Every record, in order (for `roost export`).
pub fn all(conn: &Connection) -> Result<Vec<(String, String, i64)>> {
    let mut stmt = conn
        .prepare("SELECT source, item, post_id FROM imported ORDER BY source, item")
        .context("listing imported items")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .context("listing imported items")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("listing imported items")
}
