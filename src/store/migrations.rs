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
    // 4: followed addresses lose their user name and password
    // (http://user:secret@host/feed): /following and /following.opml show
    // every followed address to everyone, and roost no longer sends or keeps
    // feed passwords (follows::USERINFO_REFUSED). Every address was stored as
    // the url crate writes it: "scheme://", then the authority up to the
    // first "/" (http and https always have one), where an "@" can only end
    // the user name and password (one inside them is written %40).
    r#"
    CREATE TEMP TABLE follows_with_userinfo AS
      SELECT id, substr(url, 1, instr(url, '://') + 2) || substr(rest, instr(rest, '@') + 1) AS bare
      FROM (SELECT id, url, substr(url, instr(url, '://') + 3) AS rest FROM follows)
      WHERE instr(url, '://') > 0
        AND instr(substr(rest, 1, instr(rest || '/', '/') - 1), '@') > 0;
    -- The same feed followed twice (also without a password, or with another
    -- one): the follow without a password stays, else the oldest.
    DELETE FROM follows WHERE id IN (
      SELECT u.id FROM follows_with_userinfo u
      WHERE EXISTS (SELECT 1 FROM follows f WHERE f.url = u.bare)
         OR EXISTS (SELECT 1 FROM follows_with_userinfo o WHERE o.bare = u.bare AND o.id < u.id));
    UPDATE follows SET url = (SELECT bare FROM follows_with_userinfo u WHERE u.id = follows.id)
      WHERE id IN (SELECT id FROM follows_with_userinfo);
    DROP TABLE follows_with_userinfo;
    -- Pages and validators made before this step may show the old addresses.
    UPDATE site_state SET version = version + 1, entries_version = entries_version + 1;
    "#,
    // 5: one-time links where the owner of a node without a password
    // chooses it in the browser (`serve` prints one; `roost setup-link`),
    // and the secret by which `roost doctor` tells this node's answers from
    // another's at the same address.
    r#"
    -- Only a hash of the token is kept, as for sessions. A row is deleted
    -- when its link is used; `expires` is unix seconds.
    CREATE TABLE setup_tokens (
        token_hash TEXT PRIMARY KEY,
        expires    INTEGER NOT NULL
    ) WITHOUT ROWID;

    -- One row, never shown: the node proves it is itself by hashing a
    -- challenge with it (GET /.well-known/roost/node).
    CREATE TABLE node_secret (
        id     INTEGER PRIMARY KEY CHECK (id = 1),
        secret TEXT NOT NULL
    );
    INSERT INTO node_secret (id, secret) VALUES (1, lower(hex(randomblob(32))));
    "#,
    // 6: what is left of a deleted post, so that its address answers
    // 410 Gone (not 404) and feeds may say it was deleted.
    r#"
    CREATE TABLE deleted_posts (
        id      INTEGER PRIMARY KEY,  -- posts.id, never reused (AUTOINCREMENT)
        uid     TEXT NOT NULL,        -- its feed entry id
        deleted INTEGER NOT NULL      -- unix seconds
    );
    -- Posts deleted before this step: every number handed out and gone.
    -- Their feed ids were the id prefix and the number; when is not known.
    WITH RECURSIVE handed_out(id) AS (
        SELECT 1
        UNION ALL
        SELECT id + 1 FROM handed_out
        WHERE id < (SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'posts')
    )
    INSERT INTO deleted_posts (id, uid, deleted)
    SELECT id,
           coalesce((SELECT value FROM settings WHERE key = 'id_prefix'), '') || id,
           CAST(strftime('%s', 'now') AS INTEGER)
    FROM handed_out
    WHERE id <= (SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'posts')
      AND id NOT IN (SELECT id FROM posts);
    "#,
    // 7: a post sent after the owner's session had ended, kept for a short
    // while so that it is back in the compose box after logging in.
    r#"
    CREATE TABLE drafts (
        token_hash TEXT PRIMARY KEY,  -- of the browser's draft cookie
        text       TEXT NOT NULL,
        reply_to   TEXT NOT NULL,
        expires    INTEGER NOT NULL   -- unix seconds
    ) WITHOUT ROWID;
    "#,
    // 8: replies threaded by their parent's id as well as by its address,
    // own replies included. (What a poll left out is kept with its status:
    // `last_status` "ok, partly read" and the notes in `last_error`.)
    r#"
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
    // 9: the outbox: work a write leaves for `roost cron` (store::jobs),
    // queued in the write's own transaction.
    r#"
    CREATE TABLE jobs (
        id         INTEGER PRIMARY KEY,
        kind       TEXT NOT NULL,     -- jobs::KINDS names it
        -- What it is about (a topic, a subscription): one queued job per
        -- kind and key, so ten posts in a minute are one delivery.
        key        TEXT NOT NULL,
        payload    TEXT NOT NULL DEFAULT '',
        due_at     INTEGER NOT NULL,  -- unix seconds
        attempts   INTEGER NOT NULL DEFAULT 0,
        -- Bumped when the job is queued again while it runs, so finishing
        -- the older run does not drop the newer work.
        revision   INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        dead_at    INTEGER            -- set: given up (a dead letter)
    );
    CREATE UNIQUE INDEX jobs_queued ON jobs (kind, key) WHERE dead_at IS NULL;
    CREATE INDEX jobs_due ON jobs (due_at) WHERE dead_at IS NULL;
    "#,
    // 10: WebSub (src/websub/): the hub's subscribers and the feed bodies
    // it last sent them; the hubs this node subscribed to for followed feeds.
    r#"
    CREATE TABLE websub_subscriptions (
        id            INTEGER PRIMARY KEY,
        topic         TEXT NOT NULL,   -- one of the owner's feeds
        callback      TEXT NOT NULL,
        secret        TEXT,            -- signs deliveries when given
        lease_seconds INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL,
        created_at    INTEGER NOT NULL,
        UNIQUE (topic, callback)
    );
    CREATE TABLE websub_content (
        topic        TEXT PRIMARY KEY,
        content_type TEXT NOT NULL,
        body         BLOB NOT NULL,
        hash         TEXT NOT NULL,    -- sha256 of body: unchanged feeds are not sent
        updated_at   INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE websub_pushed (
        callback_id   TEXT PRIMARY KEY, -- unguessable: /websub/callback/ID
        -- NULL once unfollowed: kept until the hub confirms the unsubscribe.
        follow_id     INTEGER UNIQUE REFERENCES follows (id) ON DELETE SET NULL,
        hub           TEXT NOT NULL,
        topic         TEXT NOT NULL,
        secret        TEXT NOT NULL,
        state         TEXT NOT NULL,    -- requested, active, unsubscribing, denied
        lease_expires INTEGER,
        note          TEXT NOT NULL DEFAULT '',
        updated_at    INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 11: Webmentions sent (src/webmention/send.rs): the last outcome per
    // post and target, kept after the post is deleted so that the deletion
    // is sent to every target it ever reached.
    r#"
    CREATE TABLE mentions_sent (
        post_id     INTEGER NOT NULL,  -- posts.id, or a deleted_posts.id
        target      TEXT NOT NULL,
        endpoint    TEXT,              -- NULL: none found (or not reached)
        status      INTEGER,           -- the endpoint's HTTP status, if it answered
        outcome     TEXT NOT NULL,     -- in words, for the owner
        location    TEXT,              -- a 201/202's Location: where to see it
        sent_at     INTEGER NOT NULL,
        PRIMARY KEY (post_id, target)
    ) WITHOUT ROWID;
    "#,
    // 12: Webmentions received (src/webmention/receive.rs, verify.rs): one row
    // per source and target, what verifying the source found, and its
    // moderation state; the owner's approvals and blocks by author URL or
    // domain; each request's source host and time, for the rate limit.
    r#"
    CREATE TABLE mentions (
        id           INTEGER PRIMARY KEY,
        source       TEXT NOT NULL,
        target       TEXT NOT NULL,
        post_id      INTEGER,          -- the own post targeted; NULL: the home page
        -- queued (not verified yet), pending (waits for the owner),
        -- approved, blocked, rejected (never verified), removed (gone since)
        state        TEXT NOT NULL,
        kind         TEXT NOT NULL DEFAULT 'mention', -- reply, like, repost, bookmark, mention
        author_name  TEXT NOT NULL DEFAULT '',
        author_url   TEXT NOT NULL DEFAULT '',
        author_photo TEXT NOT NULL DEFAULT '',
        author_key   TEXT NOT NULL DEFAULT '', -- who moderation knows it by
        content      TEXT NOT NULL DEFAULT '', -- sanitized HTML (SafeHtml)
        published    INTEGER,
        received_at  INTEGER NOT NULL,
        verified_at  INTEGER,
        note         TEXT NOT NULL DEFAULT '', -- why rejected or removed
        unread       INTEGER NOT NULL DEFAULT 0,
        UNIQUE (source, target)
    );
    CREATE INDEX mentions_post ON mentions (post_id, state);
    CREATE TABLE mention_rules (
        subject  TEXT PRIMARY KEY,   -- an author URL, or a domain
        is_domain INTEGER NOT NULL,
        decision TEXT NOT NULL,      -- approve, block
        made_at  INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE mention_requests (
        host TEXT NOT NULL,
        at   INTEGER NOT NULL
    );
    CREATE INDEX mention_requests_host ON mention_requests (host, at);
    "#,
    // 13: POST /webmention answers without the database (src/spool.rs): its
    // status URL names a ticket, which cron turns into a mention or a
    // refusal when it takes the message from the spool. (mention_requests
    // is no longer written: the rate limit is counted in the spool.)
    r#"
    CREATE TABLE mention_tickets (
        token      TEXT PRIMARY KEY,
        mention_id INTEGER,                  -- NULL: refused
        refused    TEXT NOT NULL DEFAULT '', -- why, when refused
        at         INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX mention_tickets_at ON mention_tickets (at);
    DROP TABLE mention_requests;
    "#,
    // 14: the search index (src/store/search.rs): contentless FTS5 (the
    // words only; the rows keep the text), rowid = id * 4 + kind. Rows made
    // before it are indexed by cron in chunks, up to the ids recorded here.
    r#"
    CREATE VIRTUAL TABLE search USING fts5(
        title, body, author, tags,
        content = '', contentless_delete = 1,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TABLE search_progress (
        kind TEXT PRIMARY KEY,
        done INTEGER NOT NULL,
        upto INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO search_progress SELECT 'entry', 0, coalesce(max(id), 0) FROM entries;
    INSERT INTO search_progress SELECT 'mention', 0, coalesce(max(id), 0) FROM mentions;
    INSERT INTO search_progress SELECT 'post', 0, coalesce(max(id), 0) FROM posts;
    "#,
    // 15: the remote posts the owner's replies answer (src/threads.rs):
    // each fetched once by cron and read as an h-entry, so a reply's page
    // shows who it answers and what they said. Replies made before this
    // step have their parents fetched by the next cron run.
    r#"
    CREATE TABLE reply_contexts (
        url          TEXT PRIMARY KEY,  -- a post's reply_to, as written
        state        TEXT NOT NULL,     -- fetched, failed
        author_name  TEXT NOT NULL DEFAULT '',  -- plain text
        author_url   TEXT NOT NULL DEFAULT '',  -- http(s) or ''
        author_photo TEXT NOT NULL DEFAULT '',  -- http(s) or ''
        excerpt      TEXT NOT NULL DEFAULT '',  -- plain text, one line
        published    INTEGER,
        fetched_at   INTEGER NOT NULL,
        note         TEXT NOT NULL DEFAULT ''   -- why it failed
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO jobs (kind, key, payload, due_at, created_at)
        SELECT 'threads.parent', reply_to, reply_to,
               CAST(strftime('%s','now') AS INTEGER), CAST(strftime('%s','now') AS INTEGER)
        FROM posts WHERE reply_to IS NOT NULL GROUP BY reply_to;
    "#,
    // 16: the timeline walks own posts newest first from a cursor; without
    // an index that was a scan and a sort of every post on every page
    // (28 ms of a /timeline page at 100,000 posts; bench/archive).
    r#"
    CREATE INDEX posts_by_time ON posts (published DESC, id DESC);
    "#,
    // 17: ActivityPub (src/activitypub/): the node's key pair (the private
    // key lives only here), its followers, activities received and waiting
    // for cron to verify them, the remote keys fetched, what was seen (for
    // replays), the inbox's request log (rate limit) and its drop counters;
    // received replies, likes and boosts go where Webmention's do, with the
    // protocol and the object's id.
    r#"
    CREATE TABLE ap_keys (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        private_pem TEXT NOT NULL,  -- PKCS#8
        public_pem  TEXT NOT NULL,  -- SubjectPublicKeyInfo
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE ap_followers (
        actor        TEXT PRIMARY KEY,
        inbox        TEXT NOT NULL,
        shared_inbox TEXT NOT NULL DEFAULT '',
        name         TEXT NOT NULL DEFAULT '',
        handle       TEXT NOT NULL DEFAULT '',
        follow_id    TEXT NOT NULL DEFAULT '',
        since        INTEGER NOT NULL,
        failures     INTEGER NOT NULL DEFAULT 0, -- 404/410 answers in a row
        pending      INTEGER NOT NULL DEFAULT 0  -- 1: waits for the owner's approval
    ) WITHOUT ROWID;
    CREATE TABLE ap_inbox (
        id          INTEGER PRIMARY KEY,
        received_at INTEGER NOT NULL,
        host        TEXT NOT NULL,
        method      TEXT NOT NULL,
        target_uri  TEXT NOT NULL,  -- scheme://host/path?query as the sender addressed it
        headers     TEXT NOT NULL,  -- JSON [[name, value], ...], names lower case
        body        BLOB NOT NULL
    );
    CREATE TABLE ap_remote_keys (
        key_id     TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,
        pem        TEXT NOT NULL,
        fetched_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE ap_seen (
        key TEXT PRIMARY KEY,  -- 'sig:' + a signature's hash, or 'id:' + an activity id
        at  INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE ap_requests (
        host TEXT NOT NULL,
        at   INTEGER NOT NULL
    );
    CREATE INDEX ap_requests_host ON ap_requests (host, at);
    CREATE TABLE ap_state (
        key   TEXT PRIMARY KEY,  -- 'profile': the hash of the actor last sent
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE ap_counters (
        name  TEXT PRIMARY KEY,
        count INTEGER NOT NULL
    ) WITHOUT ROWID;
    -- Accounts the owner follows by ActivityPub (`roost follow @user@host`):
    -- a follows row each (its entries are the posts its server delivers),
    -- never polled.
    CREATE TABLE ap_following (
        actor     TEXT PRIMARY KEY,
        follow_id INTEGER NOT NULL REFERENCES follows (id) ON DELETE CASCADE,
        inbox     TEXT NOT NULL,
        activity  TEXT NOT NULL,             -- the id of the node's Follow
        accepted  INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE INDEX ap_following_follow ON ap_following (follow_id);
    ALTER TABLE mentions ADD COLUMN protocol TEXT NOT NULL DEFAULT 'webmention';
    ALTER TABLE mentions ADD COLUMN object_id TEXT NOT NULL DEFAULT '';
    ALTER TABLE mentions ADD COLUMN actor TEXT NOT NULL DEFAULT '';
    "#,
    // 18: IndieAuth (src/indieauth/, src/store/indieauth.rs): the codes the
    // authorization endpoint hands out (single use, minutes) and the bearer
    // tokens the token endpoint issues for them. Only hashes are kept: a
    // leaked database signs no app in.
    r#"
    CREATE TABLE indieauth_codes (
        code_hash    TEXT PRIMARY KEY,
        client_id    TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        scope        TEXT NOT NULL,   -- space-separated, as approved
        challenge    TEXT NOT NULL,   -- PKCE S256 code_challenge
        expires      INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE access_tokens (
        token_hash TEXT PRIMARY KEY,
        client_id  TEXT NOT NULL,
        scope      TEXT NOT NULL,
        created    INTEGER NOT NULL,
        expires    INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 19: archives brought home (src/archive/): a post keeps the address it
    // was first published at (u-syndication) and its content warning; each
    // imported item is recorded by its source and id, so an import run
    // twice, or again after a kill, adds nothing twice and threads a reply
    // to the post its parent became.
    r#"
    ALTER TABLE posts ADD COLUMN syndication TEXT;
    ALTER TABLE posts ADD COLUMN summary TEXT;
    CREATE TABLE imported (
        source  TEXT NOT NULL,     -- twitter, mastodon
        item    TEXT NOT NULL,     -- the source's id for it
        post_id INTEGER NOT NULL,  -- posts.id (or a deleted_posts.id)
        PRIMARY KEY (source, item)
    ) WITHOUT ROWID;
    "#,
    // IndieAuth refresh tokens (src/indieauth/): a sign-in's row also keeps
    // the hash of its refresh token and when that expires, so the row lives
    // on while either token does; a refresh replaces the row (rotation), and
    // signing the app out removes both.
    r#"
    ALTER TABLE access_tokens ADD COLUMN refresh_hash TEXT;
    ALTER TABLE access_tokens ADD COLUMN refresh_expires INTEGER NOT NULL DEFAULT 0;
    CREATE UNIQUE INDEX access_tokens_by_refresh ON access_tokens (refresh_hash)
        WHERE refresh_hash IS NOT NULL;
    "#,
    // A post's categories (Micropub's `category`, shown as p-category and in
    // every feed): one per line, in the order given.
    r#"
    ALTER TABLE posts ADD COLUMN categories TEXT NOT NULL DEFAULT '';
    "#,
    // A deleted post's tombstone keeps what it said, so Micropub's
    // `undelete` can bring it back at its address (NULL: deleted before).
    r#"
    ALTER TABLE deleted_posts ADD COLUMN body TEXT;
    ALTER TABLE deleted_posts ADD COLUMN reply_to TEXT;
    ALTER TABLE deleted_posts ADD COLUMN published INTEGER;
    ALTER TABLE deleted_posts ADD COLUMN categories TEXT;
    ALTER TABLE deleted_posts ADD COLUMN syndication TEXT;
    ALTER TABLE deleted_posts ADD COLUMN summary TEXT;
    "#,
    // A boost (ActivityPub's Announce) by an account the owner follows: the
    // boosted post is an entry of the booster's follow, shown as
    // "NAME boosted".
    r#"
    ALTER TABLE entries ADD COLUMN boosted INTEGER NOT NULL DEFAULT 0;
    "#,
    // Photos (src/media/, src/store/media.rs): what each upload became, two
    // files in DATA/media/ named by their bytes' hash (published into
    // publish_dir/media/). A row without a post is an upload not used yet
    // (the Micropub media endpoint's); a post's rows are its photos in
    // order, forgotten with it (its files removed when no row uses them).
    r#"
    CREATE TABLE media (
        id           INTEGER PRIMARY KEY,
        post_id      INTEGER REFERENCES posts (id) ON DELETE CASCADE,
        position     INTEGER NOT NULL DEFAULT 0,
        name         TEXT NOT NULL,     -- the display file
        mime         TEXT NOT NULL,     -- image/jpeg, image/png or image/gif
        width        INTEGER NOT NULL,
        height       INTEGER NOT NULL,
        bytes        INTEGER NOT NULL,  -- the display file's length
        thumb        TEXT NOT NULL,     -- the thumbnail file
        thumb_width  INTEGER NOT NULL,
        thumb_height INTEGER NOT NULL,
        alt          TEXT NOT NULL DEFAULT '',
        created      INTEGER NOT NULL
    );
    CREATE INDEX media_post ON media (post_id, position);
    CREATE INDEX media_name ON media (name);
    "#,
];

pub fn latest_version() -> i64 {
    STEPS.len() as i64
}

/// Brings the schema up to date, each step in its own transaction. A database
/// written by a newer roost is refused rather than misread.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, latest_version())
}

/// Brings the schema up to `version` (tests build older databases with it).
pub fn migrate_to(conn: &mut Connection, version: i64) -> Result<()> {
    let current = super::schema_version(conn)?;
    if current > latest_version() {
        bail!(
            "the database has schema version {current}, but this roost only knows up to {}: \
             install the newer roost binary that wrote it",
            latest_version()
        );
    }
    apply(conn, &STEPS[..version as usize])
}

/// Runs the `steps` the database lacks. Most opens find none to run and
/// take no lock. An upgrade (a new binary uploaded over the old one, met
/// by the first requests at once) runs in one `BEGIN IMMEDIATE`
/// transaction: one process upgrades, the others wait for its lock and
/// then find the version current; and a step that fails takes every step
/// back with it, so the data stays as the previous roost left it, which
/// that roost still reads ([`UpgradeFailed`]).
fn apply(conn: &mut Connection, steps: &[&str]) -> Result<()> {
    let wanted = steps.len() as i64;
    if super::schema_version(conn)? >= wanted {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .context("starting a schema upgrade")?;
    let current = super::schema_version(&tx)?;
    for (index, sql) in steps.iter().enumerate().skip(current.max(0) as usize) {
        tx.execute_batch(sql).map_err(|error| UpgradeFailed {
            from: current,
            to: wanted,
            step: index as i64 + 1,
            cause: error.to_string(),
        })?;
    }
    if current < wanted {
        tx.pragma_update(None, "user_version", wanted)
            .context("recording the schema version")?;
    }
    tx.commit().context("committing the schema upgrade")?;
    Ok(())
}

/// A schema upgrade failed and was rolled back: the data is as it was.
#[derive(Debug)]
pub struct UpgradeFailed {
    pub from: i64,
    pub to: i64,
    pub step: i64,
    pub cause: String,
}

impl std::fmt::Display for UpgradeFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let UpgradeFailed {
            from,
            to,
            step,
            cause,
        } = self;
        write!(
            f,
            "this roost could not upgrade the database from schema version {from} to {to} \
             (step {step}: {cause}); nothing was changed, so the roost that wrote it still \
             reads it: put that roost binary back, and report this message"
        )
    }
}

impl std::error::Error for UpgradeFailed {}

/// A database in memory with the whole schema, for unit tests.
#[cfg(test)]
pub fn in_memory() -> Connection {
    let mut conn = Connection::open_in_memory().expect("an in-memory database");
    migrate(&mut conn).expect("the schema");
    conn
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(conn: &Connection) -> i64 {
        super::super::schema_version(conn).unwrap()
    }

    #[test]
    fn a_failed_upgrade_takes_every_step_back_and_says_so() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(
            &mut conn,
            &["CREATE TABLE kept (x); INSERT INTO kept VALUES (1);"],
        )
        .unwrap();
        let steps = [
            "CREATE TABLE kept (x); INSERT INTO kept VALUES (1);",
            "CREATE TABLE second (x);",
            "CREATE TABLE kept (y);",
        ];
        let error = apply(&mut conn, &steps).unwrap_err();
        let failed = error
            .downcast_ref::<UpgradeFailed>()
            .expect("an UpgradeFailed");
        assert_eq!((failed.from, failed.to, failed.step), (1, 3, 3));
        assert!(error.to_string().contains("nothing was changed"), "{error}");
        assert_eq!(
            version(&conn),
            1,
            "the old version, as the old roost reads it"
        );
        let second: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'second'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(second, 0, "step 2 was taken back with step 3");
        let kept: i64 = conn
            .query_row("SELECT x FROM kept", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, 1);
    }

    /// Two processes open the database at once after an upgrade: the one
    /// that reads the old version while the other upgrades must wait and
    /// then find nothing to do (it used to run the steps again and fail on
    /// "table already exists").
    #[test]
    fn an_upgrade_met_by_two_processes_at_once_runs_once() {
        let path = std::env::temp_dir().join(format!(
            "roost-migrate-race-{}-{:?}.db",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_file(&path);
        let steps: &'static [&'static str] = &["CREATE TABLE a (x);", "CREATE TABLE b (x);"];
        let mut first = Connection::open(&path).unwrap();
        first
            .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        let tx = first
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        let other_path = path.clone();
        let other = std::thread::spawn(move || {
            let mut second = Connection::open(&other_path).unwrap();
            second
                .busy_timeout(std::time::Duration::from_secs(10))
                .unwrap();
            apply(&mut second, steps).map(|()| version(&second))
        });
        // Long enough for the other to read version 0 and wait for the lock.
        std::thread::sleep(std::time::Duration::from_millis(300));
        for sql in steps {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 2).unwrap();
        tx.commit().unwrap();
        let result = other.join().unwrap();
        let _ = std::fs::remove_file(&path);
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        assert_eq!(result.map_err(|e| format!("{e:#}")), Ok(2));
    }

    /// Step 6 gives posts deleted before it a tombstone: every number
    /// handed out and no longer there, with the feed id it had.
    #[test]
    fn posts_deleted_before_tombstones_existed_get_one() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (index, sql) in STEPS[..3].iter().enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", index as i64 + 1)
                .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO settings (key, value) VALUES ('id_prefix', 'tag:me.example,2026:/posts/');
             INSERT INTO posts (uid, body, published, updated) VALUES
               ('a', 'one', 1, 1), ('b', 'two', 2, 2), ('c', 'three', 3, 3),
               ('d', 'four', 4, 4), ('e', 'five', 5, 5);
             DELETE FROM posts WHERE id IN (2, 5);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let mut stmt = conn
            .prepare("SELECT id, uid FROM deleted_posts ORDER BY id")
            .unwrap();
        let tombstones: Vec<(i64, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            tombstones,
            [
                (2, "tag:me.example,2026:/posts/2".to_string()),
                (5, "tag:me.example,2026:/posts/5".to_string())
            ]
        );
        // A database with no post ever made gets none.
        let mut empty = Connection::open_in_memory().unwrap();
        migrate(&mut empty).unwrap();
        let count: i64 = empty
            .query_row("SELECT count(*) FROM deleted_posts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 0);
    }
}
