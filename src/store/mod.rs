//! All SQL lives here: opening the database, the schema, and one function per
//! thing the rest of roost needs to read or change. Nothing outside `store/`
//! writes SQL.

pub mod follows;
pub mod migrations;
pub mod posts;
pub mod sessions;
pub mod settings;

use anyhow::{Context, Result};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The database file inside the data directory.
pub const DB_FILE: &str = "roost.db";

pub fn db_path(home: &Path) -> PathBuf {
    home.join(DB_FILE)
}

/// Opens an existing database and brings its schema up to date.
pub fn open(home: &Path) -> Result<Connection> {
    let path = db_path(home);
    if !path.exists() {
        anyhow::bail!(
            "no roost database in {}: run `roost --home {} init --url URL --name NAME` first",
            home.display(),
            home.display()
        );
    }
    let mut conn = Connection::open(&path)
        .with_context(|| format!("opening the database {}", path.display()))?;
    configure(&conn)?;
    migrations::migrate(&mut conn)?;
    Ok(conn)
}

/// Creates a new database; the caller has checked that none exists.
pub fn create(home: &Path) -> Result<Connection> {
    let path = db_path(home);
    let mut conn = Connection::open(&path)
        .with_context(|| format!("creating the database {}", path.display()))?;
    configure(&conn)?;
    migrations::migrate(&mut conn)?;
    Ok(conn)
}

fn configure(conn: &Connection) -> Result<()> {
    // WAL lets the site answer while cron polls; the busy timeout makes a
    // writer wait for another process's write instead of failing.
    conn.busy_timeout(Duration::from_secs(10))
        .context("setting the database busy timeout")?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .context("switching the database to WAL mode")?;
    if !mode.eq_ignore_ascii_case("wal") {
        anyhow::bail!("the database refused WAL mode (got {mode}): is its directory writable?");
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
        .context("configuring the database")?;
    Ok(())
}

/// Runs `f` inside `BEGIN IMMEDIATE`: the write lock is taken up front, so a
/// read-then-write never fails half way with SQLITE_BUSY.
pub fn write<T>(conn: &mut Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .context("starting a write transaction")?;
    let value = f(&tx)?;
    tx.commit().context("committing a write transaction")?;
    Ok(value)
}

/// What changed last: every page and feed derives its ETag and Last-Modified from this.
#[derive(Debug, Clone, Copy)]
pub struct SiteState {
    pub version: i64,
    pub changed_at: i64,
}

pub fn site_state(conn: &Connection) -> Result<SiteState> {
    conn.query_row(
        "SELECT version, changed_at FROM site_state WHERE id = 1",
        [],
        |r| {
            Ok(SiteState {
                version: r.get(0)?,
                changed_at: r.get(1)?,
            })
        },
    )
    .context("reading the site state")
}

/// `roost backup FILE`: SQLite's online backup, consistent while the site stays up.
pub fn backup(conn: &Connection, target: &Path) -> Result<()> {
    let mut dest = Connection::open(target)
        .with_context(|| format!("creating the backup file {}", target.display()))?;
    let backup = rusqlite::backup::Backup::new(conn, &mut dest).context("starting the backup")?;
    backup
        .run_to_completion(256, Duration::from_millis(10), None)
        .context("copying the database")?;
    Ok(())
}
