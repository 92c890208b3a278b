//! Webmentions received (`webmention::receive`, `webmention::verify`): one
//! row per source and target with what verifying the source found and its
//! moderation state; the owner's rules (approve or block an author URL or a
//! domain); and the request log the per-host rate limit counts.

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// A mention's moderation and verification state, as stored.
pub mod state {
    /// Received, not verified yet.
    pub const QUEUED: &str = "queued";
    /// Verified, waiting for the owner.
    pub const PENDING: &str = "pending";
    pub const APPROVED: &str = "approved";
    pub const BLOCKED: &str = "blocked";
    /// Never verified (the source did not link, or could not be fetched).
    pub const REJECTED: &str = "rejected";
    /// Verified once, gone since (410, or no longer linking).
    pub const REMOVED: &str = "removed";
}

/// One received mention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub id: i64,
    pub source: String,
    pub target: String,
    pub post_id: Option<i64>,
    pub state: String,
    /// reply, like, repost, bookmark or mention.
    pub kind: String,
    pub author_name: String,
    pub author_url: String,
    pub author_photo: String,
    pub author_key: String,
    /// Sanitized HTML (re-wrapped as `SafeHtml` by whoever shows it).
    pub content: String,
    pub published: Option<i64>,
    pub received_at: i64,
    pub verified_at: Option<i64>,
    pub note: String,
    pub unread: bool,
    /// `webmention` or `activitypub`.
    pub protocol: String,
    /// ActivityPub: the object's (or the Like's, the Announce's) id.
    pub object_id: String,
}

const COLUMNS: &str = "id, source, target, post_id, state, kind, author_name, author_url, \
     author_photo, author_key, content, published, received_at, verified_at, note, unread, \
     protocol, object_id";

fn mention(r: &Row) -> rusqlite::Result<Mention> {
    Ok(Mention {
        id: r.get(0)?,
        source: r.get(1)?,
        target: r.get(2)?,
        post_id: r.get(3)?,
        state: r.get(4)?,
        kind: r.get(5)?,
        author_name: r.get(6)?,
        author_url: r.get(7)?,
        author_photo: r.get(8)?,
        author_key: r.get(9)?,
        content: r.get(10)?,
        published: r.get(11)?,
        received_at: r.get(12)?,
        verified_at: r.get(13)?,
        note: r.get(14)?,
        unread: r.get(15)?,
        protocol: r.get(16)?,
        object_id: r.get(17)?,
    })
}

/// Records a mention request: a new row `queued`, or the existing one
/// received again (one rejected or removed before is queued again; the
/// others keep what is shown until the new verification says otherwise).
/// Returns its id.
pub fn receive(
    conn: &Connection,
    source: &str,
    target: &str,
    post_id: Option<i64>,
    now: i64,
) -> Result<i64> {
    conn.query_row(
        "INSERT INTO mentions (source, target, post_id, state, received_at)
         VALUES (?1, ?2, ?3, 'queued', ?4)
         ON CONFLICT (source, target) DO UPDATE SET
             received_at = excluded.received_at,
             state = CASE WHEN state IN ('rejected', 'removed') THEN 'queued' ELSE state END
         RETURNING id",
        params![source, target, post_id, now],
        |r| r.get(0),
    )
    .context("recording a webmention")
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<Mention>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM mentions WHERE id = ?1"),
        [id],
        mention,
    )
    .optional()
    .context("reading a webmention")
}

pub fn by_source_target(conn: &Connection, source: &str, target: &str) -> Result<Option<Mention>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM mentions WHERE source = ?1 AND target = ?2"),
        params![source, target],
        mention,
    )
    .optional()
    .context("reading a webmention")
}

/// What verifying a source found, to store on its row.
#[derive(Debug, Clone, Default)]
pub struct Verified<'a> {
    pub kind: &'a str,
    pub author_name: &'a str,
    pub author_url: &'a str,
    pub author_photo: &'a str,
    pub author_key: &'a str,
    pub content: &'a str,
    pub published: Option<i64>,
    pub state: &'a str,
}

/// Stores a verification's result on mention `id`. A mention is unread for
/// the owner when it is new or changed its state.
pub fn save_verified(conn: &Connection, id: i64, v: &Verified, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE mentions SET kind = ?2, author_name = ?3, author_url = ?4, author_photo = ?5,
             author_key = ?6, content = ?7, published = ?8,
             unread = unread OR state != ?9, state = ?9, verified_at = ?10, note = ''
         WHERE id = ?1",
        params![
            id,
            v.kind,
            v.author_name,
            v.author_url,
            v.author_photo,
            v.author_key,
            v.content,
            v.published,
            v.state,
            now
        ],
    )
    .context("saving a verified webmention")?;
    super::search::index_mention(conn, id)
}

/// A new follower a protocol told of without an account behind it (a
/// WebSub subscriber: its callback's host): an approved `follow` row the
/// owner's notifications list, once (a renewal adds nothing).
pub fn note_follower(
    conn: &Connection,
    protocol: &str,
    source: &str,
    target: &str,
    name: &str,
    now: i64,
) -> Result<()> {
    let inserted = conn
        .execute(
            "INSERT INTO mentions (source, target, state, kind, author_name, author_key,
                 received_at, verified_at, unread, protocol)
             VALUES (?1, ?2, 'approved', 'follow', ?3, ?3, ?4, ?4, 1, ?5)
             ON CONFLICT (source, target) DO NOTHING",
            params![source, target, name, now, protocol],
        )
        .context("noting a new follower")?;
    if inserted > 0 {
        super::search::index_mention(conn, conn.last_insert_rowid())?;
    }
    Ok(())
}

/// A reply, like, boost or mention received by ActivityPub, verified by
/// its signature: stored where Webmention's are, shown the same way.
#[derive(Debug, Clone, Default)]
pub struct Activity<'a> {
    /// Where a reader sees it: the object's `url`, else its id.
    pub source: &'a str,
    /// The own post's permalink (or the site's URL for a mention of the owner).
    pub target: &'a str,
    pub post_id: Option<i64>,
    /// The object's id (the Note's for a reply or mention; the Like's or
    /// the Announce's own id): what an Update, Delete or Undo names.
    pub object_id: &'a str,
    /// The actor who sent it: the only one whose Delete or Undo counts.
    pub actor: &'a str,
    pub verified: Verified<'a>,
}

/// Stores an activity as a mention (a row per source and target, updated
/// when it arrives again). Returns its id.
pub fn save_activity(conn: &Connection, a: &Activity, now: i64) -> Result<i64> {
    let id = conn
        .query_row(
            "INSERT INTO mentions (source, target, post_id, state, received_at, protocol,
                 object_id, actor)
             VALUES (?1, ?2, ?3, 'queued', ?4, 'activitypub', ?5, ?6)
             ON CONFLICT (source, target) DO UPDATE SET received_at = excluded.received_at,
                 object_id = excluded.object_id, actor = excluded.actor
             RETURNING id",
            params![a.source, a.target, a.post_id, now, a.object_id, a.actor],
            |r| r.get(0),
        )
        .context("saving an ActivityPub mention")?;
    save_verified(conn, id, &a.verified, now)?;
    Ok(id)
}

/// The activities received with object id `object_id` from `actor`.
pub fn by_object(conn: &Connection, object_id: &str, actor: &str) -> Result<Vec<Mention>> {
    list(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM mentions
             WHERE protocol = 'activitypub' AND object_id = ?1 AND actor = ?2"
        ),
        params![object_id, actor],
    )
}

/// Sets mention `id`'s state, with the reason (rejected, removed).
pub fn set_state(conn: &Connection, id: i64, state: &str, note: &str) -> Result<()> {
    conn.execute(
        "UPDATE mentions SET state = ?2, note = ?3 WHERE id = ?1",
        params![id, state, note],
    )
    .context("changing a webmention's state")?;
    Ok(())
}

/// The approved mentions of post `post_id`, oldest first.
pub fn approved_for_post(conn: &Connection, post_id: i64) -> Result<Vec<Mention>> {
    list(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM mentions WHERE post_id = ?1 AND state = 'approved'
             ORDER BY coalesce(published, verified_at, received_at), id"
        ),
        params![post_id],
    )
}

/// The mentions the owner's notifications show: verified ones (pending,
/// approved, blocked), newest first.
pub fn verified(conn: &Connection, limit: usize) -> Result<Vec<Mention>> {
    list(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM mentions WHERE state IN ('pending', 'approved', 'blocked')
             ORDER BY state != 'pending', coalesce(verified_at, received_at) DESC, id DESC LIMIT ?1"
        ),
        params![limit as i64],
    )
}

fn list(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Vec<Mention>> {
    let mut stmt = conn.prepare_cached(sql).context("reading webmentions")?;
    let rows = stmt
        .query_map(params, mention)
        .context("reading webmentions")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("reading webmentions")
}

/// Unread verified mentions (the header's count).
pub fn unread(conn: &Connection) -> Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM mentions WHERE unread AND state IN ('pending', 'approved')",
        [],
        |r| r.get(0),
    )
    .context("counting unread webmentions")
}

pub fn mark_all_read(conn: &Connection) -> Result<()> {
    conn.execute("UPDATE mentions SET unread = 0 WHERE unread", [])
        .context("marking webmentions read")?;
    Ok(())
}

/// (id, author_key, source) of every verified mention, for moderation to
/// decide again after a rule changed.
pub fn moderated(conn: &Connection) -> Result<Vec<(i64, String, String, String)>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, author_key, source, state FROM mentions
             WHERE state IN ('pending', 'approved', 'blocked')",
        )
        .context("reading webmentions")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .context("reading webmentions")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("reading webmentions")
}

/// The owner's decision on `subject` (an author URL or a domain), if any.
pub fn rule(conn: &Connection, subject: &str) -> Result<Option<String>> {
    conn.query_row(
        "SELECT decision FROM mention_rules WHERE subject = ?1",
        [subject],
        |r| r.get(0),
    )
    .optional()
    .context("reading a moderation rule")
}

pub fn set_rule(
    conn: &Connection,
    subject: &str,
    is_domain: bool,
    decision: &str,
    now: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO mention_rules (subject, is_domain, decision, made_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (subject) DO UPDATE SET decision = excluded.decision, made_at = excluded.made_at",
        params![subject, is_domain, decision, now],
    )
    .context("saving a moderation rule")?;
    Ok(())
}

/// What became of a message `POST /webmention` spooled (its status URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ticket {
    Mention(i64),
    Refused(String),
}

/// Records what the spooled message `token` became.
pub fn save_ticket(conn: &Connection, token: &str, ticket: &Ticket, now: i64) -> Result<()> {
    let (mention, refused) = match ticket {
        Ticket::Mention(id) => (Some(*id), ""),
        Ticket::Refused(why) => (None, why.as_str()),
    };
    conn.execute(
        "INSERT OR REPLACE INTO mention_tickets (token, mention_id, refused, at)
         VALUES (?1, ?2, ?3, ?4)",
        params![token, mention, refused, now],
    )
    .context("recording a webmention's ticket")?;
    Ok(())
}

pub fn ticket(conn: &Connection, token: &str) -> Result<Option<Ticket>> {
    conn.query_row(
        "SELECT mention_id, refused FROM mention_tickets WHERE token = ?1",
        [token],
        |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, String>(1)?)),
    )
    .optional()
    .context("reading a webmention's ticket")
    .map(|found| {
        found.map(|(mention, refused)| match mention {
            Some(id) => Ticket::Mention(id),
            None => Ticket::Refused(refused),
        })
    })
}

/// Forgets tickets older than `before` (their status URLs then answer 404).
pub fn forget_tickets(conn: &Connection, before: i64) -> Result<()> {
    conn.execute("DELETE FROM mention_tickets WHERE at < ?1", [before])
        .context("forgetting old webmention tickets")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::store::migrations::in_memory as db;

    #[test]
    fn a_mention_received_again_is_one_row_queued_again_only_when_it_had_failed() {
        let conn = db();
        let id = receive(
            &conn,
            "https://a.example/1",
            "https://me.example/posts/1",
            Some(1),
            10,
        )
        .unwrap();
        let verified = Verified {
            kind: "reply",
            state: state::APPROVED,
            ..Default::default()
        };
        save_verified(&conn, id, &verified, 11).unwrap();
        let again = receive(
            &conn,
            "https://a.example/1",
            "https://me.example/posts/1",
            Some(1),
            12,
        )
        .unwrap();
        assert_eq!(id, again);
        assert_eq!(get(&conn, id).unwrap().unwrap().state, "approved");
        set_state(&conn, id, state::REMOVED, "gone").unwrap();
        receive(
            &conn,
            "https://a.example/1",
            "https://me.example/posts/1",
            Some(1),
            13,
        )
        .unwrap();
        let m = get(&conn, id).unwrap().unwrap();
        assert_eq!((m.state.as_str(), m.received_at), ("queued", 13));
        assert_eq!(approved_for_post(&conn, 1).unwrap(), vec![]);
    }

    #[test]
    fn a_ticket_says_what_its_message_became_until_forgotten() {
        let conn = db();
        save_ticket(&conn, "t1", &Ticket::Mention(7), 10).unwrap();
        save_ticket(&conn, "t2", &Ticket::Refused("no such post".into()), 20).unwrap();
        assert_eq!(ticket(&conn, "t1").unwrap(), Some(Ticket::Mention(7)));
        assert_eq!(
            ticket(&conn, "t2").unwrap(),
            Some(Ticket::Refused("no such post".into()))
        );
        forget_tickets(&conn, 15).unwrap();
        assert_eq!(ticket(&conn, "t1").unwrap(), None);
        assert!(ticket(&conn, "t2").unwrap().is_some());
    }
}
