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

    -- One row: bumped by every write transaction (store::write), so ETag /
    -- Last-Modified can be answered before rendering. Not by triggers: every
    -- CGI request parses the whole schema, and triggers made it dearer.
    CREATE TABLE site_state (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        version    INTEGER NOT NULL,
        changed_at INTEGER NOT NULL
    );
    INSERT INTO site_state (id, version, changed_at) VALUES (1, 1, CAST(strftime('%s','now') AS INTEGER));

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
    // 2: polling state on each follow, the entries fetched from followed
    // feeds, and the lease that keeps overlapping polls apart.
    r#"
    ALTER TABLE follows ADD COLUMN title TEXT;
    ALTER TABLE follows ADD COLUMN home_url TEXT;
    ALTER TABLE follows ADD COLUMN etag TEXT;
    ALTER TABLE follows ADD COLUMN last_modified TEXT;
    -- Unix seconds; 0 = due now.
    ALTER TABLE follows ADD COLUMN next_check INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE follows ADD COLUMN last_checked INTEGER;
    -- 'ok', 'not modified', 'error', 'gone', 'retry later'
    ALTER TABLE follows ADD COLUMN last_status TEXT;
    ALTER TABLE follows ADD COLUMN last_error TEXT;
    -- Consecutive failures, for exponential backoff.
    ALTER TABLE follows ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
    -- 1 after 410 Gone: never polled again.
    ALTER TABLE follows ADD COLUMN gone INTEGER NOT NULL DEFAULT 0;

    CREATE TABLE entries (
        id           INTEGER PRIMARY KEY,
        follow_id    INTEGER NOT NULL REFERENCES follows (id) ON DELETE CASCADE,
        -- The feed's id, else the link, else a content hash: unique per feed.
        identity     TEXT NOT NULL,
        link         TEXT,
        title        TEXT,
        -- Sanitized before it was stored; rendered as is.
        content_html TEXT,
        author       TEXT,
        published    INTEGER,
        updated      INTEGER,
        -- What the timeline sorts by: published, else when first seen.
        sort_time    INTEGER NOT NULL,
        first_seen   INTEGER NOT NULL,
        -- Detects a changed entry so it is updated in place.
        content_hash TEXT NOT NULL,
        in_reply_to  TEXT,
        -- JSON array of {url, mime_type, length}.
        enclosures   TEXT NOT NULL DEFAULT '[]',
        UNIQUE (follow_id, identity)
    );
    CREATE INDEX entries_by_time ON entries (sort_time DESC, id DESC);
    CREATE INDEX entries_by_reply ON entries (in_reply_to) WHERE in_reply_to IS NOT NULL;

    -- Pages that show entries (timeline, replies under a post) validate on
    -- this counter too (bumped by store::write_entries); the owner's feeds do
    -- not, so polling never makes thousands of feed readers download the
    -- feed again.
    ALTER TABLE site_state ADD COLUMN entries_version INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE site_state ADD COLUMN entries_changed_at INTEGER NOT NULL DEFAULT 0;
    -- One row: who polls now, until when. A crashed poll's lease goes stale.
    CREATE TABLE poll_lease (
        id      INTEGER PRIMARY KEY CHECK (id = 1),
        holder  TEXT,
        expires INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO poll_lease (id, holder, expires) VALUES (1, NULL, 0);
    "#,
    // 3: what `roost doctor` reports: when a poll last finished, and the
    // last static publishing failure (publish.rs).
    r#"
    -- Unix seconds; 0 = never.
    ALTER TABLE poll_lease ADD COLUMN last_finished INTEGER NOT NULL DEFAULT 0;
    -- Empty when the last publish succeeded; otherwise why it failed.
    ALTER TABLE site_state ADD COLUMN publish_error TEXT NOT NULL DEFAULT '';
    "#,
    // 4: what a poll left out, for `roost following`; replies threaded by
    // their parent's id as well as by its address, own replies included.
    r#"
    -- NULL when the last poll kept everything; else what it left out
    -- ("capped: kept the newest 200 of 350 entries").
    ALTER TABLE follows ADD COLUMN last_note TEXT;
    -- RFC 4685's `ref` (the parent's id) when it differs from `in_reply_to`
    -- (the parent's address, shown as the link).
    ALTER TABLE entries ADD COLUMN in_reply_to_ref TEXT;
    CREATE INDEX entries_by_reply_ref ON entries (in_reply_to_ref)
        WHERE in_reply_to_ref IS NOT NULL;
    -- A reply's parent among followed entries, by its id or its address.
    CREATE INDEX entries_by_identity ON entries (identity);
    CREATE INDEX entries_by_link ON entries (link) WHERE link IS NOT NULL;
    -- The owner's replies to the owner's posts, under those posts.
    CREATE INDEX posts_by_reply ON posts (reply_to) WHERE reply_to IS NOT NULL;
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
