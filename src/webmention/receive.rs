//! `POST /webmention` (W3C Webmention 3.2): checks the request and answers
//! `202 Accepted` at once with a status URL, without opening the database:
//! it fetches nothing and leaves the request in the spool (`spool.rs`).
//! Cron stores it ([`SPOOLED`]) and queues the source's verification
//! ([`super::verify::VERIFY`]) in the outbox. `GET /webmention/ID` is that status URL. Also the endpoint's
//! advertisement: the `Link` header every page and feed carries.

use crate::jobs::Spooled;
use crate::posts;
use crate::settings::Settings;
use crate::spool::{self, Spool, Taken};
use crate::store;
use crate::store::mentions::{self, Ticket};
use crate::web::app::Ctx;
use crate::web::http::Response;
use crate::web::intake::Intake;
use anyhow::Result;

/// The longest source or target taken.
pub const MAX_URL_CHARS: usize = crate::posts::MAX_URL_CHARS;
/// Requests taken from one source host per [`RATE_WINDOW_SECONDS`]; past
/// them, 429 with `Retry-After`.
pub const RATE_LIMIT: usize = 60;
pub const RATE_WINDOW_SECONDS: i64 = 60 * 60;

/// The endpoint's address on the site at `site_url` (ending in `/`).
pub fn endpoint(site_url: &str) -> String {
    format!("{site_url}webmention")
}

/// The `Link` header value that advertises the endpoint (Webmention 3.1.2).
pub fn link_header(site_url: &str) -> String {
    format!("<{}>; rel=\"webmention\"", endpoint(site_url))
}

/// What a target names on this site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Home,
    Post(i64),
}

/// What `POST /webmention` checks a target's post number against, kept
/// beside the page cache (`Intake::facts`): the last post number and the
/// deleted ones, one per line. (The site's address is the intake's own
/// fact, `Intake::site_url`.)
const FACTS: &str = "webmention-targets";

fn draw_facts(conn: &rusqlite::Connection) -> Result<String> {
    let (last, deleted) = store::posts::numbers(conn)?;
    let mut text = format!("{last}\n");
    for id in deleted {
        text.push_str(&format!("{id}\n"));
    }
    Ok(text)
}

/// Whether post `id` exists by the facts: `Err` says why not.
fn post_by_facts(facts: &str, id: i64) -> std::result::Result<(), &'static str> {
    let mut lines = facts.lines();
    let last: i64 = lines.next().and_then(|l| l.parse().ok()).unwrap_or(0);
    if id < 1 || id > last {
        return Err("does not exist");
    }
    if lines.any(|l| l.parse() == Ok(id)) {
        return Err("was deleted");
    }
    Ok(())
}

/// `POST /webmention`: `source` and `target`, form-encoded. 400 with the
/// reason in plain text when they cannot be a mention of this site, 429
/// past the rate limit, else 202 with `Location` naming the status URL.
/// Answered without the database (an intake): the message waits in the
/// spool for cron ([`SPOOLED`]).
pub fn intake(intake: &Intake) -> Result<Response> {
    let bad = |why: &str| Ok(Response::plain(400, &format!("{why}\n")));
    let Some(form) = intake.req.form_fields() else {
        return bad(
            "the request must be a form (application/x-www-form-urlencoded) in UTF-8 \
             with the fields source and target, each once",
        );
    };
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let (Some(source), Some(target)) = (field("source"), field("target")) else {
        return bad("source and target are both required");
    };
    for (name, value) in [("source", source), ("target", target)] {
        if value.chars().count() > MAX_URL_CHARS {
            return bad(&format!("{name} is longer than {MAX_URL_CHARS} characters"));
        }
        if let Err(error) = crate::net::send::check_url(value) {
            return bad(&format!("{name}: {error:#}"));
        }
    }
    if same_url(source, target) {
        return bad("source and target are the same address: a page cannot mention itself");
    }
    let site_url = intake.site_url()?;
    let site_url = site_url.as_str();
    let found = match target_on_site(site_url, target) {
        Some(Ok(found)) => found,
        None => {
            return bad(&format!(
                "target {target} is not on this site: it takes mentions of {site_url} and its posts"
            ));
        }
        Some(Err(rest)) => {
            return bad(&format!(
                "target {target} names no page that takes mentions here ({rest:?} is not a post \
                 or the home page)"
            ));
        }
    };
    if let Target::Post(id) = found
        && let Err(why) = post_by_facts(&intake.facts(FACTS, draw_facts)?, id)
    {
        return bad(&format!("target {target}: that post {why}"));
    }
    let host = url::Url::parse(source)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    let spool = Spool::new(intake.home, SPOOLED.kind);
    if let Err(wait) = spool.admit(&host, RATE_LIMIT, RATE_WINDOW_SECONDS, intake.now)? {
        return Ok(Response::plain(
            429,
            &format!(
                "too many webmentions from {host}: at most {RATE_LIMIT} an hour; \
                 try again in {wait} seconds\n"
            ),
        )
        .with_header("Retry-After", &wait.to_string()));
    }
    let message = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("source", source)
        .append_pair("target", target)
        .finish();
    let token = spool.put(message.as_bytes(), intake.now)?;
    let status_url = format!("{}/{token}", endpoint(site_url));
    Ok(Response::plain(
        202,
        &format!(
            "Accepted: {source} will be checked for a link to {target} within minutes. \
             Its state: {status_url}\n"
        ),
    )
    .with_header("Location", &status_url))
}

/// The messages `POST /webmention` spooled, as cron takes them.
pub const SPOOLED: Spooled = Spooled {
    kind: "webmention",
    store: store_spooled,
    rate_window: RATE_WINDOW_SECONDS,
    tidy: |tx, now| mentions::forget_tickets(tx, now - TICKET_DAYS * 24 * 60 * 60),
};

/// How long a status URL answers.
const TICKET_DAYS: i64 = 30;

/// Stores one spooled request: a mention queued for verification, or,
/// when its target went away since (a post deleted, the site moved), a
/// refusal its status URL shows.
fn store_spooled(
    tx: &rusqlite::Connection,
    settings: &Settings,
    taken: &Taken,
    now: i64,
) -> Result<()> {
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&taken.body)
        .into_owned()
        .collect();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let (source, target) = (field("source"), field("target"));
    let post_id = match target_on_site(&settings.url(), target) {
        Some(Ok(Target::Post(id))) => Some(id),
        Some(Ok(Target::Home)) => None,
        _ => {
            let why = format!(
                "target {target} is no longer on this site ({})",
                settings.url()
            );
            return mentions::save_ticket(tx, &taken.token, &Ticket::Refused(why), now);
        }
    };
    if let Some(id) = post_id
        && store::posts::get(tx, store::posts::PostId(id))?.is_none()
    {
        let why = format!("target {target}: that post was deleted");
        return mentions::save_ticket(tx, &taken.token, &Ticket::Refused(why), now);
    }
    let id = mentions::receive(tx, source, target, post_id, taken.at)?;
    store::jobs::enqueue(
        tx,
        super::verify::VERIFY.name,
        &format!("{source} {target}"),
        &id.to_string(),
        now,
    )?;
    mentions::save_ticket(tx, &taken.token, &Ticket::Mention(id), now)
}

/// Whether two absolute URLs are the same address (as the URL standard
/// writes them; the fragment left out).
pub fn same_url(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(mut a), Ok(mut b)) => {
            a.set_fragment(None);
            b.set_fragment(None);
            a == b
        }
        _ => a == b,
    }
}

/// Where `target` points on the site at `site_url`: `None` when it is not
/// under it (another scheme, host, port or path); `Err(rest)` when it is,
/// but names neither the home page nor a post's permalink.
pub fn target_on_site(site_url: &str, target: &str) -> Option<Result<Target, String>> {
    let site = url::Url::parse(site_url).ok()?;
    let target = url::Url::parse(target).ok()?;
    if site.origin() != target.origin() {
        return None;
    }
    let rest = target.path().strip_prefix(site.path())?;
    if target.query().is_some() {
        return Some(Err(format!(
            "{rest}?{}",
            target.query().unwrap_or_default()
        )));
    }
    Some(match rest {
        "" => Ok(Target::Home),
        _ => match rest.strip_prefix("posts/").and_then(posts::parse_id) {
            Some(id) => Ok(Target::Post(id.0)),
            None => Err(rest.to_string()),
        },
    })
}

/// `GET /webmention/ID`: the state of a mention this endpoint took, as
/// text: what the sender's status URL shows. `ID` is the spool token the
/// 202 named (or a mention's number, as status URLs before the spool were).
pub fn status(ctx: &mut Ctx, raw_id: &str) -> Result<Response> {
    let not_found = |ctx: &mut Ctx| Ok(ctx.error(404, "no webmention has this number"));
    let id = if spool::is_token(raw_id) {
        if Spool::new(ctx.home, SPOOLED.kind).holds(raw_id) {
            return Ok(Response::plain(
                200,
                "state: queued: received, the source will be checked within minutes\n",
            )
            .with_header("Cache-Control", "no-cache"));
        }
        match mentions::ticket(ctx.conn, raw_id)? {
            Some(Ticket::Mention(id)) => id,
            Some(Ticket::Refused(why)) => {
                return Ok(
                    Response::plain(200, &format!("state: refused\nwhy: {why}\n"))
                        .with_header("Cache-Control", "no-cache"),
                );
            }
            None => return not_found(ctx),
        }
    } else if !raw_id.is_empty() && raw_id.bytes().all(|b| b.is_ascii_digit()) {
        match raw_id.parse::<i64>() {
            Ok(id) => id,
            Err(_) => return not_found(ctx),
        }
    } else {
        return not_found(ctx);
    };
    let Some(mention) = mentions::get(ctx.conn, id)? else {
        return not_found(ctx);
    };
    let state = match mention.state.as_str() {
        mentions::state::QUEUED => "queued: the source will be checked within minutes",
        mentions::state::PENDING => "verified: waiting for the site owner's approval",
        mentions::state::APPROVED => "verified and shown",
        mentions::state::BLOCKED => "verified, not shown",
        mentions::state::REJECTED => "not verified",
        mentions::state::REMOVED => "removed",
        other => other,
    };
    let mut text = format!(
        "source: {}\ntarget: {}\nstate: {state}\n",
        mention.source, mention.target
    );
    if mention.state != mentions::state::QUEUED
        && mention.state != mentions::state::REJECTED
        && mention.state != mentions::state::REMOVED
    {
        text.push_str(&format!("type: {}\n", mention.kind));
    }
    if !mention.note.is_empty() {
        text.push_str(&format!("why: {}\n", mention.note));
    }
    Ok(Response::plain(200, &text).with_header("Cache-Control", "no-cache"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_the_home_page_or_a_post_under_the_site_url() {
        let site = "https://me.example/notes/";
        assert_eq!(
            target_on_site(site, "https://me.example/notes/"),
            Some(Ok(Target::Home))
        );
        assert_eq!(
            target_on_site(site, "https://me.example/notes/posts/12#top"),
            Some(Ok(Target::Post(12)))
        );
        assert_eq!(
            target_on_site(site, "https://ME.example:443/notes/posts/3"),
            Some(Ok(Target::Post(3)))
        );
        for elsewhere in [
            "http://me.example/notes/",
            "https://me.example/",
            "https://me.example/other/posts/1",
            "https://me.example:8443/notes/",
            "https://evil.example/notes/posts/1",
        ] {
            assert_eq!(target_on_site(site, elsewhere), None, "{elsewhere}");
        }
        for nothing in [
            "https://me.example/notes/posts/x",
            "https://me.example/notes/login",
            "https://me.example/notes/posts/1/edit",
            "https://me.example/notes/?q=1",
        ] {
            assert!(
                matches!(target_on_site(site, nothing), Some(Err(_))),
                "{nothing}"
            );
        }
    }

    #[test]
    fn the_same_address_is_the_same_whatever_its_spelling() {
        assert!(same_url("https://A.example/p#x", "https://a.example:443/p"));
        assert!(!same_url("https://a.example/p", "https://a.example/q"));
    }
}
