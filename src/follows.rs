//! The rules for following: what a followable address is, finding the feed
//! behind a web page, and the first fetch that proves it works. Nothing is
//! stored for a follow that fails.

use crate::node::Node;
use crate::poll::fetch::{self, FetchOutcome, FetchRequest};
use crate::poll::{ingest, parse, schedule};
use crate::store::{self, follows::NewFollow};
use anyhow::{Result, bail};

/// A nickname: short, one line, no spaces (it is typed on the command line).
pub const MAX_NICK_CHARS: usize = 40;

/// What a successful follow found.
#[derive(Debug)]
pub struct Followed {
    pub url: String,
    pub title: Option<String>,
    pub entries: usize,
    /// What the first fetch left out (`IncomingFeed::notes` joined), if anything.
    pub note: Option<String>,
}

/// Why an address with a user name or password is not followed, and what
/// to do instead.
///
/// Refused rather than kept as an owner-only credential: the follow list is
/// public by design (`/following`, `/following.opml`), so a secret would need
/// a second home kept out of every page, export, error message and backup,
/// and HTTP Basic over plain http would send it in the clear on every poll.
/// `poll::fetch` refuses such addresses too (a redirect to one, an address
/// discovered in a page), and schema step 4 removed them from older databases.
pub const USERINFO_REFUSED: &str = "roost does not follow addresses with a user name or \
    password in them (user:password@): the feeds you follow are listed for everyone on \
    /following and in /following.opml. To follow a private feed, ask its publisher for an \
    address without a password (an address with a secret token in it would be listed too), \
    or read that feed in a feed reader that keeps passwords";

/// Checks the address typed by the owner: absolute http(s) without a user
/// name or password, nothing else; a bare `host[:port][/path]`
/// (`example.org`) is tried as `https://`.
pub fn parse_url(raw: &str) -> Result<String> {
    let raw = raw.trim();
    let with_scheme;
    let raw = if looks_like_bare_host(raw) {
        with_scheme = format!("https://{raw}");
        &with_scheme
    } else {
        raw
    };
    match url::Url::parse(raw) {
        Ok(url) if !url.username().is_empty() || url.password().is_some() => {
            bail!(USERINFO_REFUSED)
        }
        Ok(url)
            if (url.scheme() == "http" || url.scheme() == "https") && url.host_str().is_some() =>
        {
            Ok(url.to_string())
        }
        _ => bail!(
            "{raw:?} is not a web address: give the full http:// or https:// address of a feed or a page"
        ),
    }
}

/// `example.org`, `example.org:8443/feed`: a host name with a dot (or
/// `localhost`), maybe a port, then a path or nothing. Not `mailto:a@b`,
/// not a relative path.
fn looks_like_bare_host(raw: &str) -> bool {
    let authority = raw.split(['/', '?', '#']).next().unwrap_or("");
    let (host, port) = authority.split_once(':').unwrap_or((authority, "0"));
    let host_ok = !host.is_empty()
        && !host.starts_with(['.', '-'])
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && (host.contains('.') || host.eq_ignore_ascii_case("localhost"));
    host_ok && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
}

pub fn parse_nick(raw: &str) -> Result<String> {
    let nick = raw.trim();
    if nick.is_empty()
        || nick.chars().count() > MAX_NICK_CHARS
        || nick.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        bail!("a nickname is 1 to {MAX_NICK_CHARS} characters without spaces");
    }
    Ok(nick.to_string())
}

/// Fetches `url` (a feed, or a page naming one), checks it parses, and stores
/// the follow with its entries in one transaction; a fediverse handle
/// (`@user@host`) is followed by ActivityPub instead (`activitypub::follow`).
pub fn follow(node: &mut Node, raw_url: &str, nick: Option<&str>, now: i64) -> Result<Followed> {
    // A fediverse handle (@user@host) is followed by ActivityPub.
    if crate::activitypub::follow::parse_handle(raw_url).is_some() {
        let nick = nick.map(parse_nick).transpose()?;
        let followed = crate::activitypub::follow::follow(node, raw_url, nick.as_deref(), now)?;
        return Ok(Followed {
            url: followed.actor,
            title: Some(format!("{} ({})", followed.name, followed.handle)),
            entries: 0,
            note: Some(
                "followed by ActivityPub: its posts arrive once it accepts, after the next cron run"
                    .into(),
            ),
        });
    }
    let url = parse_url(raw_url)?;
    let nick = nick.map(parse_nick).transpose()?;
    let settings = crate::settings::Settings::load(node.conn)?;
    let node_url = settings.url();
    let allow_private = settings.allow_private_addresses();
    let fetch_one = |url: &str| {
        fetch::fetch(&FetchRequest {
            url,
            etag: None,
            last_modified: None,
            node_url: &node_url,
            allow_private,
        })
        .map_err(|e| anyhow::anyhow!("{url}: {e}"))
    };
    let (mut feed_url, mut outcome) = (url.clone(), fetch_one(&url)?);
    // A web page: follow the feed it names. Parsing comes first, so a feed
    // that merely looks like HTML (Atom inside XHTML) is still a feed.
    if let FetchOutcome::Fetched {
        body,
        final_url,
        content_type,
        ..
    } = &outcome
        && ingest::parse_body(body, content_type.as_deref(), final_url).is_err()
        && let page = body
            .to_vec()
            .map_err(|e| anyhow::anyhow!("{url}: could not read what it sent back: {e}"))?
        && parse::looks_like_html(&page)
    {
        let candidates = parse::discover_feeds(&page, final_url);
        let Some(first) = candidates.first() else {
            bail!("no feed found at {url}: the page names no Atom, RSS or JSON feed");
        };
        feed_url = first.clone();
        outcome = fetch_one(&feed_url)?;
    }
    let FetchOutcome::Fetched {
        final_url,
        permanent_url,
        body,
        content_type,
        etag,
        last_modified,
        cache,
    } = outcome
    else {
        bail!(
            "{feed_url} did not send a feed (it answered {})",
            describe(&outcome)
        );
    };
    let mut feed = ingest::parse_body(&body, content_type.as_deref(), &final_url)
        .map_err(|e| anyhow::anyhow!("{feed_url}: {e}"))?;
    drop(body);
    let stored_url = permanent_url.unwrap_or(feed_url);
    if let Some(existing) = store::follows::find(node.conn, &stored_url)? {
        bail!(
            "already following {} ({})",
            existing.url,
            existing.display_name()
        );
    }
    if let Some(nick) = &nick
        && store::follows::find(node.conn, nick)?.is_some()
    {
        bail!("the nickname {nick} is taken: choose another with --name");
    }
    let prepared = ingest::prepare(std::mem::take(&mut feed.entries), &mut feed.notes);
    let note = (!feed.notes.is_empty()).then(|| feed.notes.join("; "));
    let next_check =
        schedule::after_success(now, &cache, feed.ttl_minutes, feed.update_period_minutes);
    let title = feed
        .title
        .as_deref()
        .map(|t| crate::sanitize::one_line(t, ingest::MAX_FEED_TITLE_CHARS));
    node.write_entries(|tx| {
        let id = store::follows::insert(
            tx,
            &NewFollow {
                url: &stored_url,
                name: nick.as_deref(),
                title: title.as_deref(),
                home_url: feed
                    .home_url
                    .as_deref()
                    .filter(|u| crate::sanitize::is_web_url(u)),
                etag: etag.as_deref(),
                last_modified: last_modified.as_deref(),
                next_check,
                note: note.as_deref(),
            },
            now,
        )?;
        if let Some(hub) = &feed.hub {
            let topic = feed.self_url.as_deref().unwrap_or(&stored_url);
            crate::websub::subscriber::noticed_hub(tx, id.0, hub, topic, now)?;
        }
        ingest::store(tx, id, &prepared, now)
    })?;
    Ok(Followed {
        url: stored_url,
        title,
        entries: prepared.len(),
        note,
    })
}

fn describe(outcome: &FetchOutcome) -> String {
    match outcome {
        FetchOutcome::NotModified { .. } => "304 Not Modified".into(),
        FetchOutcome::Gone => "410 Gone".into(),
        FetchOutcome::RetryLater { status, .. } => format!("{status}: try again later"),
        FetchOutcome::Fetched { .. } => "200".into(),
    }
}

/// Stops following (by address or nickname); the feed's entries go too.
pub fn unfollow(node: &mut Node, url_or_nick: &str) -> Result<String> {
    let Some(follow) = store::follows::find(node.conn, url_or_nick.trim())? else {
        bail!("not following {url_or_nick:?}: `roost following` lists what you follow");
    };
    let now = chrono::Utc::now().timestamp();
    node.write_entries(|tx| {
        crate::websub::subscriber::on_unfollow(tx, follow.id.0, now)?;
        crate::activitypub::follow::on_unfollow(tx, follow.id.0, now)?;
        store::follows::delete(tx, follow.id)
    })?;
    Ok(follow.url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_host_is_tried_as_https() {
        assert_eq!(parse_url("example.org").unwrap(), "https://example.org/");
        assert_eq!(
            parse_url("example.org:8443/feed.xml").unwrap(),
            "https://example.org:8443/feed.xml"
        );
        assert_eq!(
            parse_url("http://example.org/a").unwrap(),
            "http://example.org/a"
        );
        for not_a_host in ["mailto:a@example.org", "/feed", "ftp://example.org/", "a b"] {
            assert!(parse_url(not_a_host).is_err(), "{not_a_host}");
        }
    }
}
