//! Posts the owner sent while signed out, kept until they log in again
//! (`web::actions::create_post`). Named by a hash of the browser's cookie.

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};

/// At most this many drafts are kept: anyone can send a form, signed in
/// or not, and none may fill the disk. The newest are kept.
const MAX_DRAFTS: i64 = 20;

/// Keeps a draft until `expires`, forgetting expired ones and the oldest
/// beyond `MAX_DRAFTS`.
pub fn save(
    conn: &Connection,
    token_hash: &str,
    text: &str,
    reply_to: &str,
    now: i64,
    expires: i64,
) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO drafts (token_hash, text, reply_to, expires) VALUES (?1, ?2, ?3, ?4)",
        params![token_hash, text, reply_to, expires],
    )
    .context("keeping the draft")?;
    conn.execute(
        "DELETE FROM drafts WHERE expires <= ?1 OR token_hash NOT IN
           (SELECT token_hash FROM drafts ORDER BY expires DESC LIMIT ?2)",
        params![now, MAX_DRAFTS],
    )
    .context("forgetting old drafts")?;
    Ok(())
}

/// The draft's text and reply-to address, unless it expired.
pub fn get(conn: &Connection, token_hash: &str, now: i64) -> Result<Option<(String, String)>> {
    conn.query_row(
        "SELECT text, reply_to FROM drafts WHERE token_hash = ?1 AND expires > ?2",
        params![token_hash, now],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .context("reading the draft")
}

pub fn delete(conn: &Connection, token_hash: &str) -> Result<()> {
    conn.execute("DELETE FROM drafts WHERE token_hash = ?1", [token_hash])
        .context("forgetting the draft")?;
    Ok(())
}
