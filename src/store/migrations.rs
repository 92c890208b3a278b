//! The schema, as an append-only list of steps keyed on `PRAGMA user_version`.
//! Never edit a step that has shipped: add a new one.

use anyhow::{Context, Result, bail};
use rusqlite::Connection;

/// Step N (1-based) takes the schema from version N-1 to N.
const STEPS: &[&str] = &[
    // 1: the node's own posts, its settings, owner sessions, login throttling, follows.
    r#"
    -- Settings: name, bio, url, public_timeline, allow_private_addresses,
    -- password_hash, id_prefix (the stable base of every feed entry id).
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE posts (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        -- The entry id in every feed; fixed at creation so edits and a
        -- changed site URL never make readers see a new post.
        uid       TEXT NOT NULL UNIQUE,
        body      TEXT NOT NULL,
        reply_to  TEXT,
        published INTEGER NOT NULL,  -- unix seconds
        updated   INTEGER NOT NULL
    );

    -- One row: bumped by the triggers below on every change a page or feed
    -- shows, so ETag / Last-Modified can be answered before rendering.
    CREATE TABLE site_state (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        version    INTEGER NOT NULL,
        changed_at INTEGER NOT NULL
    );
    INSERT INTO site_state (id, version, changed_at) VALUES (1, 1, CAST(strftime('%s','now') AS INTEGER));

    CREATE TRIGGER posts_changed_insert AFTER INSERT ON posts BEGIN
        UPDATE site_state SET version = version + 1, changed_at = CAST(strftime('%s','now') AS INTEGER);
    END;
    CREATE TRIGGER posts_changed_update AFTER UPDATE ON posts BEGIN
        UPDATE site_state SET version = version + 1, changed_at = CAST(strftime('%s','now') AS INTEGER);
    END;
    CREATE TRIGGER posts_changed_delete AFTER DELETE ON posts BEGIN
        UPDATE site_state SET version = version + 1, changed_at = CAST(strftime('%s','now') AS INTEGER);
    END;
    CREATE TRIGGER settings_changed_insert AFTER INSERT ON settings BEGIN
        UPDATE site_state SET version = version + 1, changed_at = CAST(strftime('%s','now') AS INTEGER);
    END;
    CREATE TRIGGER settings_changed_update AFTER UPDATE ON settings BEGIN
        UPDATE site_state SET version = version + 1, changed_at = CAST(strftime('%s','now') AS INTEGER);
    END;

    -- Only a hash of the token is kept: a leaked database is no session.
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        created    INTEGER NOT NULL,
        expires    INTEGER NOT NULL
    ) WITHOUT ROWID;

    -- Failed logins, kept in the database because a CGI process has no memory.
    CREATE TABLE login_failures (
        id          INTEGER PRIMARY KEY,
        remote_addr TEXT NOT NULL,
        at          INTEGER NOT NULL
    );
    CREATE INDEX login_failures_at ON login_failures (at);

    CREATE TABLE follows (
        id    INTEGER PRIMARY KEY,
        url   TEXT NOT NULL UNIQUE,
        name  TEXT,
        added INTEGER NOT NULL
    );
    "#,
];

pub fn latest_version() -> i64 {
    STEPS.len() as i64
}

/// Brings the schema up to date, each step in its own transaction. A database
/// written by a newer roost is refused rather than misread.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .context("reading the schema version")?;
    if current > latest_version() {
        bail!(
            "the database has schema version {current}, but this roost only knows up to {}: \
             install the newer roost binary that wrote it",
            latest_version()
        );
    }
    for (index, sql) in STEPS.iter().enumerate().skip(current as usize) {
        let version = index as i64 + 1;
        let tx = conn.transaction().context("starting a schema upgrade")?;
        tx.execute_batch(sql)
            .with_context(|| format!("upgrading the schema to version {version}"))?;
        tx.pragma_update(None, "user_version", version)
            .context("recording the schema version")?;
        tx.commit().context("committing the schema upgrade")?;
    }
    Ok(())
}
