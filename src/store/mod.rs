//! All SQL lives here: opening the database, the schema, and one function per
//! thing the rest of roost needs to read or change. Nothing outside `store/`
//! writes SQL.

pub mod entries;
pub mod follows;
pub mod lease;
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
    // Under CGI every request opens and closes the database. By default the
    // last connection to close checkpoints and deletes the -wal file, so the
    // next request recreates it: a plain page view became writes. Leave the
    // WAL in place; SQLite's automatic checkpoint on commit keeps it short.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )
    .context("configuring the database")?;
    let mut persist: std::os::raw::c_int = 1;
    // SAFETY: a valid open handle, the "main" schema, and an int argument as
    // SQLITE_FCNTL_PERSIST_WAL documents.
    unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_PERSIST_WAL,
            (&mut persist as *mut std::os::raw::c_int).cast(),
        );
    }
    Ok(())
}

/// Runs `f` inside `BEGIN IMMEDIATE` (the write lock is taken up front, so a
/// read-then-write never fails half way with SQLITE_BUSY) and marks the
/// owner's pages and feeds changed, so their ETags move; after the commit,
/// the static copies of those pages and feeds are published again.
pub fn write<T>(conn: &mut Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    let value = transaction(
        conn,
        |tx| Ok((f(tx)?, true)),
        "UPDATE site_state SET version = version + 1, changed_at = ?1",
    )?;
    crate::publish::refresh(conn);
    Ok(value)
}

/// `write` for what followed feeds bring (follows, entries): marks only the
/// pages that show them changed, never the owner's feeds.
pub fn write_entries<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Connection) -> Result<T>,
) -> Result<T> {
    write_entries_if_changed(conn, |tx| Ok((f(tx)?, true)))
}

/// `write_entries` where `f` says whether anything shown changed: a poll
/// that found every feed unchanged must not retire kept pages or ETags.
pub fn write_entries_if_changed<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Connection) -> Result<(T, bool)>,
) -> Result<T> {
    transaction(
        conn,
        f,
        "UPDATE site_state SET entries_version = entries_version + 1, entries_changed_at = ?1",
    )
}

/// `write` for bookkeeping no page shows (sessions, failed logins, the poll lease).
pub fn write_unseen<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Connection) -> Result<T>,
) -> Result<T> {
    transaction(conn, |tx| Ok((f(tx)?, false)), "")
}

/// Runs `f` in one `BEGIN IMMEDIATE` transaction; when `f` reports a change
/// that pages show, runs `mark_changed` in it and, after the commit, renews
/// the page cache's generation.
fn transaction<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Connection) -> Result<(T, bool)>,
    mark_changed: &str,
) -> Result<T> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .context("starting a write transaction")?;
    let (value, changed) = f(&tx)?;
    let changed = changed && !mark_changed.is_empty();
    if changed {
        tx.execute(mark_changed, [chrono::Utc::now().timestamp()])
            .context("marking the site changed")?;
    }
    tx.commit().context("committing a write transaction")?;
    if changed && let Some(home) = conn.path().and_then(|p| Path::new(p).parent()) {
        crate::web::page_cache::invalidate(home);
    }
    Ok(value)
}

/// What changed last: every page and feed derives its ETag and Last-Modified from this.
#[derive(Debug, Clone, Copy)]
pub struct SiteState {
    /// Own posts and settings.
    pub version: i64,
    pub changed_at: i64,
    /// Entries from followed feeds, and the follow list.
    pub entries_version: i64,
    pub entries_changed_at: i64,
}

pub fn site_state(conn: &Connection) -> Result<SiteState> {
    // Asked on every page view: the statement is kept prepared.
    conn.prepare_cached(
        "SELECT version, changed_at, entries_version, entries_changed_at FROM site_state WHERE id = 1",
    )
    .and_then(|mut stmt| {
        stmt.query_row([], |r| {
            Ok(SiteState {
                version: r.get(0)?,
                changed_at: r.get(1)?,
                entries_version: r.get(2)?,
                entries_changed_at: r.get(3)?,
            })
        })
    })
    .context("reading the site state")
}

/// Why the last static publishing failed; empty when it succeeded.
pub fn publish_error(conn: &Connection) -> Result<String> {
    conn.query_row(
        "SELECT publish_error FROM site_state WHERE id = 1",
        [],
        |r| r.get(0),
    )
    .context("reading the publishing state")
}

pub fn set_publish_error(conn: &Connection, message: &str) -> Result<()> {
    conn.execute(
        "UPDATE site_state SET publish_error = ?1 WHERE id = 1",
        [message],
    )
    .context("recording the publishing state")?;
    Ok(())
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
