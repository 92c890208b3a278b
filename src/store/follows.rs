//! The `follows` table: the feeds the owner follows.

use anyhow::{Context, Result};
use rusqlite::Connection;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Follow {
    pub url: String,
    pub name: Option<String>,
    pub added: i64,
}

pub fn all(conn: &Connection) -> Result<Vec<Follow>> {
    let mut stmt = conn
        .prepare("SELECT url, name, added FROM follows ORDER BY id")
        .context("listing follows")?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Follow {
                url: r.get(0)?,
                name: r.get(1)?,
                added: r.get(2)?,
            })
        })
        .context("listing follows")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("listing follows")
}
