//! ActivityPub: the node as a fediverse account. `keys` (the node's RSA
//! key pair, other servers' public keys), `signature` (HTTP signatures:
//! draft-cavage and RFC 9421, read and checked; cavage made for
//! deliveries), `objects` (the JSON the node serves: WebFinger's JRD, the
//! actor, a post as a Note, the collections), `serve` (the GET answers:
//! `/.well-known/webfinger`, `/actor`, `/outbox`, `/followers`, and `/`,
//! a post and `/following` by content negotiation), `inbox` (`POST
//! /inbox`: kept as received, 202 at once; the job `activitypub.inbox`
//! verifies and acts), `deliver` (a post's change queued to every
//! follower's server; the job `activitypub.deliver` signs and sends),
//! `follow` (`roost follow @user@host`: WebFinger, a Follow queued; the
//! account's posts become its follow's entries when delivered).
//! Tables in `store::activitypub`; replies, likes and boosts received are
//! `store::mentions` rows, shown as Webmention's are.

pub mod deliver;
pub mod follow;
pub mod inbox;
pub mod keys;
pub mod objects;
pub mod serve;
pub mod signature;
#[cfg(test)]
mod vectors;

/// Reads other servers' ActivityStreams documents (actors, keys) through
/// the guarded client, each GET signed with the node's key (servers in
/// Mastodon's secure mode answer no other).
pub struct Fetcher {
    sender: crate::net::send::Sender,
    key: rsa::RsaPrivateKey,
    key_id: String,
}

impl Fetcher {
    /// The node's fetcher (its key pair made now if it has none yet).
    pub fn new(
        conn: &mut rusqlite::Connection,
        settings: &crate::settings::Settings,
    ) -> anyhow::Result<Fetcher> {
        let pair = keys::ensure(conn)?;
        Ok(Fetcher {
            sender: settings.sender(),
            key: keys::private_key(&pair.private_pem)?,
            key_id: key_id(&settings.url()),
        })
    }

    /// `GET url` asking for ActivityStreams JSON, signed.
    pub fn get(&self, url: &str) -> anyhow::Result<crate::net::send::Document> {
        let now = chrono::Utc::now().timestamp();
        self.sender.get_activity(url, &|at| {
            signature::sign_cavage_get(&self.key, &self.key_id, at, now)
                .into_iter()
                .filter(|(name, _)| *name != "Host")
                .collect()
        })
    }
}

/// The media type of ActivityStreams documents.
pub const ACTIVITY_JSON: &str = "application/activity+json";

/// Whether an `Accept` header asks for ActivityStreams JSON: the
/// `application/activity+json` type, or `application/ld+json` (with the
/// ActivityStreams profile, or none). A browser's `*/*` does not.
pub fn wants_activity_json(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let quality_zero = range
            .split(';')
            .any(|p| matches!(p.trim().split_once('='), Some((k, v)) if k.trim() == "q" && v.trim().parse::<f32>().is_ok_and(|q| q == 0.0)));
        !quality_zero && (media == ACTIVITY_JSON || media == "application/ld+json")
    })
}

/// The actor's id: its own path, which no page cache or published file
/// ever answers (`/` gives the same document by negotiation).
pub fn actor_id(site_url: &str) -> String {
    format!("{site_url}actor")
}

/// The id of the actor's public key.
pub fn key_id(site_url: &str) -> String {
    format!("{site_url}actor#main-key")
}

/// Where the node takes activities (the actor's inbox and the shared one).
pub fn inbox_url(site_url: &str) -> String {
    format!("{site_url}inbox")
}

/// A post's id: its permalink, which answers the Note by negotiation.
pub fn post_id(site_url: &str, id: i64) -> String {
    format!("{site_url}posts/{id}")
}

/// The host part of `acct:NAME@HOST`: the site URL's host, with its port
/// when it has one.
pub fn acct_host(site_url: &str) -> String {
    let Ok(url) = url::Url::parse(site_url) else {
        return String::new();
    };
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_json_is_asked_for_by_its_type_or_ld_json_not_by_a_browser() {
        for yes in [
            "application/activity+json",
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
            "text/html;q=0.5, application/activity+json",
            "Application/Activity+JSON",
        ] {
            assert!(wants_activity_json(yes), "{yes}");
        }
        for no in [
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "*/*",
            "",
            "application/json",
            "application/activity+json;q=0",
        ] {
            assert!(!wants_activity_json(no), "{no}");
        }
    }

    #[test]
    fn the_acct_host_keeps_a_port() {
        assert_eq!(acct_host("https://Ann.Example/notes/"), "ann.example");
        assert_eq!(acct_host("http://127.0.0.1:8080/"), "127.0.0.1:8080");
    }
}
