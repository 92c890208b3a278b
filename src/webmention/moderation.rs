//! Who gets shown: the `webmention_moderation` setting (approve all, queue
//! unknown authors, only known ones) and the owner's rules, approve or
//! block, per author or per domain. A block wins over an approval; a
//! domain's block covers every author there, but approving one author on a
//! shared host (a bridge) approves that author only.
//!
//! An author is known by the URL of their h-card only when it is on the
//! source's own host (anyone can write any URL in a card); else by the
//! source's origin.

use crate::settings::Settings;
use crate::store::mentions::{self, state};
use anyhow::Result;
use rusqlite::Connection;

/// The setting's values.
pub const SETTING: &str = "webmention_moderation";
pub const CHOICES: &[&str] = &["all", "unknown", "known"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Everyone not blocked is shown at once.
    ApproveAll,
    /// Approved authors are shown at once; the others wait for the owner.
    QueueUnknown,
    /// Only approved authors are shown; the others are not even queued.
    OnlyKnown,
}

impl Policy {
    pub fn of(settings: &Settings) -> Policy {
        match settings.raw(SETTING) {
            "all" => Policy::ApproveAll,
            "known" => Policy::OnlyKnown,
            _ => Policy::QueueUnknown,
        }
    }
}

/// Who moderation knows the author of a source at `source` by.
pub fn author_key(source: &url::Url, author_url: Option<&str>) -> String {
    let same_host = |u: &url::Url| u.origin() == source.origin();
    match author_url.and_then(|u| url::Url::parse(u).ok()) {
        Some(mut url) if same_host(&url) => {
            url.set_fragment(None);
            url.to_string()
        }
        _ => format!("{}/", source.origin().ascii_serialization()),
    }
}

/// The domain rules name for a source.
pub fn domain(source: &url::Url) -> String {
    source.host_str().unwrap_or_default().to_ascii_lowercase()
}

/// The state a verified mention by `author_key` from `source` gets.
pub fn decide(
    conn: &Connection,
    policy: Policy,
    author_key: &str,
    source: &url::Url,
) -> Result<&'static str> {
    let author = mentions::rule(conn, author_key)?;
    let domain = mentions::rule(conn, &domain(source))?;
    let is = |rule: &Option<String>, decision: &str| rule.as_deref() == Some(decision);
    Ok(if is(&author, "block") || is(&domain, "block") {
        state::BLOCKED
    } else if is(&author, "approve") || is(&domain, "approve") {
        state::APPROVED
    } else {
        match policy {
            Policy::ApproveAll => state::APPROVED,
            Policy::QueueUnknown => state::PENDING,
            Policy::OnlyKnown => state::BLOCKED,
        }
    })
}

/// What the owner does with a mention's author.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ApproveAuthor,
    BlockAuthor,
    ApproveDomain,
    BlockDomain,
}

impl Action {
    pub fn parse(word: &str) -> Option<Action> {
        Some(match word {
            "approve-author" => Action::ApproveAuthor,
            "block-author" => Action::BlockAuthor,
            "approve-domain" => Action::ApproveDomain,
            "block-domain" => Action::BlockDomain,
            _ => return None,
        })
    }
}

/// Records the owner's `action` on mention `id`'s author or domain, then
/// decides every verified mention again (in the caller's transaction).
/// False when there is no such verified mention.
pub fn act(conn: &Connection, id: i64, action: Action, now: i64) -> Result<bool> {
    let Some(mention) = mentions::get(conn, id)? else {
        return Ok(false);
    };
    let Ok(source) = url::Url::parse(&mention.source) else {
        return Ok(false);
    };
    if mention.author_key.is_empty() {
        return Ok(false);
    }
    let (subject, is_domain, decision) = match action {
        Action::ApproveAuthor => (mention.author_key.clone(), false, "approve"),
        Action::BlockAuthor => (mention.author_key.clone(), false, "block"),
        Action::ApproveDomain => (domain(&source), true, "approve"),
        Action::BlockDomain => (domain(&source), true, "block"),
    };
    mentions::set_rule(conn, &subject, is_domain, decision, now)?;
    let policy = Policy::of(&Settings::load(conn)?);
    for (id, author_key, source, current) in mentions::moderated(conn)? {
        let Ok(source) = url::Url::parse(&source) else {
            continue;
        };
        let decided = decide(conn, policy, &author_key, &source)?;
        if decided != current {
            mentions::set_state(conn, id, decided, "")?;
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_author_is_known_by_a_card_url_on_the_sources_own_host_only() {
        let source = url::Url::parse("https://brid.gy/post/1").unwrap();
        assert_eq!(
            author_key(&source, Some("https://brid.gy/ann#me")),
            "https://brid.gy/ann"
        );
        assert_eq!(
            author_key(&source, Some("https://famous.example/")),
            "https://brid.gy/"
        );
        assert_eq!(author_key(&source, None), "https://brid.gy/");
    }

    #[test]
    fn blocks_win_and_an_approved_author_does_not_approve_the_domain() {
        let conn = crate::store::migrations::in_memory();
        let source = url::Url::parse("https://bridge.example/p/1").unwrap();
        let ann = "https://bridge.example/ann";
        let bob = "https://bridge.example/bob";
        mentions::set_rule(&conn, ann, false, "approve", 1).unwrap();
        let d = |key| decide(&conn, Policy::QueueUnknown, key, &source).unwrap();
        assert_eq!(d(ann), state::APPROVED);
        assert_eq!(d(bob), state::PENDING);
        assert_eq!(
            decide(&conn, Policy::OnlyKnown, bob, &source).unwrap(),
            state::BLOCKED
        );
        assert_eq!(
            decide(&conn, Policy::ApproveAll, bob, &source).unwrap(),
            state::APPROVED
        );
        mentions::set_rule(&conn, "bridge.example", true, "block", 2).unwrap();
        assert_eq!(d(ann), state::BLOCKED);
    }
}
