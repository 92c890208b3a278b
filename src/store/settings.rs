//! The `settings` table: the owner's profile and the node's switches.

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};

pub fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
    conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
    .with_context(|| format!("reading the setting {key}"))
}

pub fn set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE value IS NOT excluded.value",
        params![key, value],
    )
    .with_context(|| format!("saving the setting {key}"))?;
    Ok(())
}

pub fn all(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut stmt = conn
        .prepare_cached("SELECT key, value FROM settings ORDER BY key")
        .context("reading the settings")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .context("reading the settings")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("reading the settings")
}
