//! Delivering: a post's create, edit or delete queues its `Create`,
//! `Update` or `Delete` once per follower's server (its shared inbox, else
//! the follower's own), in the change's own transaction; the job
//! [`DELIVER`] signs each (draft-cavage with `Digest`, as Mastodon expects;
//! RFC 9421 again at once for a host that answers a 401 with an
//! `Accept-Signature` challenge, remembered when taken) and POSTs it
//! through the guarded client, at most [`PER_HOST_PER_RUN`] to a host in
//! one cron run. 2xx: done; 404 or 410: counted against the followers there,
//! dropped after [`GONE_LIMIT`] such answers; another 4xx: given up; 5xx,
//! 429 or no answer: retried with the job list's backoff, over days.

use super::{keys, objects, signature};
use crate::jobs::{Kind, Outcome, PerHost};
use crate::net::send;
use crate::node::Node;
use crate::settings::Settings;
use crate::store::{self, activitypub as ap, jobs::Job, posts::Post, posts::PostId};
use anyhow::{Context, Result};
use rusqlite::Connection;
use serde_json::{Value, json};

/// 404 or 410 answers in a row after which the followers at an inbox are dropped.
pub const GONE_LIMIT: i64 = 3;

/// Queues `activity` for `inbox`.
pub fn queue(tx: &Connection, inbox: &str, activity: &Value, now: i64) -> Result<()> {
    let id = activity["id"].as_str().unwrap_or_default();
    let payload = json!({"inbox": inbox, "activity": activity}).to_string();
    store::jobs::enqueue(tx, DELIVER.name, &format!("{inbox} {id}"), &payload, now)
}

/// Queues what post `id`'s change from `before` to `after` (`None`: not
/// yet made, or deleted) owes the followers, in the change's transaction.
pub fn after_post_change(
    tx: &Connection,
    id: PostId,
    before: Option<&Post>,
    after: Option<&Post>,
    now: i64,
) -> Result<()> {
    let inboxes = ap::delivery_inboxes(tx)?;
    if inboxes.is_empty() {
        return Ok(());
    }
    let site_url = Settings::load(tx)?.url();
    let activity = match (before, after) {
        (None, Some(post)) => {
            objects::post_activity(&site_url, "Create", objects::note(&site_url, post), 0)
        }
        (Some(_), Some(post)) => objects::post_activity(
            &site_url,
            "Update",
            objects::note(&site_url, post),
            post.updated,
        ),
        (Some(_), None) => objects::post_activity(
            &site_url,
            "Delete",
            objects::tombstone(&site_url, id.0, now),
            0,
        ),
        (None, None) => return Ok(()),
    };
    for inbox in inboxes {
        queue(tx, &inbox, &activity, now)?;
    }
    Ok(())
}

/// The actor as the followers see it: its hash, when there is a key pair.
fn profile_hash(tx: &Connection) -> Result<Option<String>> {
    let Some((_, public_pem)) = ap::key_pair(tx)? else {
        return Ok(None);
    };
    let actor = objects::actor(&Settings::load(tx)?, &public_pem);
    Ok(Some(crate::web::auth::sha256_hex(
        actor.to_string().as_bytes(),
    )))
}

/// A follower arrived: the profile it gets now is the one later changes
/// are compared with (the first follower's, kept).
pub fn remember_profile(tx: &Connection) -> Result<()> {
    match profile_hash(tx)? {
        Some(hash) => ap::set_state(tx, "profile", &hash, true),
        None => Ok(()),
    }
}

/// After a write to the owner's posts or settings (`jobs::after_own_change`):
/// when anyone follows, a check whether the profile changed is queued.
pub fn after_own_change(tx: &Connection, now: i64) -> Result<()> {
    if ap::follower_count(tx)? > 0 {
        store::jobs::enqueue(tx, PROFILE.name, "actor", "", now)?;
    }
    Ok(())
}

/// Sends every follower's server an `Update` of the actor when its name,
/// bio or handle changed since they last got it.
pub const PROFILE: Kind = Kind {
    name: "activitypub.profile",
    run: profile,
    max_attempts: 8,
    per_host: None,
};

fn profile(node: &mut Node, _job: &Job) -> Result<Outcome> {
    let now = chrono::Utc::now().timestamp();
    node.write_unseen(|tx| {
        let Some(hash) = profile_hash(tx)? else {
            return Ok(());
        };
        if ap::state(tx, "profile")?.as_deref() == Some(hash.as_str()) {
            return Ok(());
        }
        ap::set_state(tx, "profile", &hash, false)?;
        let Some((_, public_pem)) = ap::key_pair(tx)? else {
            return Ok(());
        };
        let settings = Settings::load(tx)?;
        let site_url = settings.url();
        let actor = objects::actor(&settings, &public_pem);
        let update = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}#updates/{}", super::actor_id(&site_url), &hash[..16]),
            "type": "Update",
            "actor": super::actor_id(&site_url),
            "to": [objects::PUBLIC],
            "object": actor,
        });
        for inbox in ap::delivery_inboxes(tx)? {
            queue(tx, &inbox, &update, now)?;
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}

/// Deliveries to one host in one cron run, at most: a server with many
/// followers and no shared inbox is not flooded, and the rest wait for
/// the next run (a minute later), none lost.
pub const PER_HOST_PER_RUN: usize = 20;

/// How a delivery is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Cavage,
    Rfc9421,
}

/// Signs and sends one activity to one inbox.
pub const DELIVER: Kind = Kind {
    name: "activitypub.deliver",
    run: deliver,
    max_attempts: 16,
    per_host: Some(PerHost {
        host: inbox_host,
        cap: PER_HOST_PER_RUN,
    }),
};

/// The host (and port) of a delivery's inbox: its job's key starts with it.
fn inbox_host(job: &Job) -> Option<String> {
    let inbox = job.key.split(' ').next()?;
    let url = url::Url::parse(inbox).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

fn deliver(node: &mut Node, job: &Job) -> Result<Outcome> {
    let payload: Value = serde_json::from_str(&job.payload).context("reading a delivery job")?;
    let inbox = payload["inbox"].as_str().unwrap_or_default().to_string();
    let url = match send::check_url(&inbox) {
        Ok(url) => url,
        Err(error) => return Ok(Outcome::GiveUp(format!("{error:#}"))),
    };
    let body = payload["activity"].to_string();
    let settings = Settings::load(node.conn)?;
    let key_pair = keys::ensure(node.conn)?;
    let key = keys::private_key(&key_pair.private_pem)?;
    let now = chrono::Utc::now().timestamp();
    let content_type = super::ACTIVITY_JSON;
    let key_id = super::key_id(&settings.url());
    let sender = settings.sender();
    let host_key = format!("rfc9421:{}", inbox_host(job).unwrap_or_default());
    let post = |scheme: Scheme| {
        let sign = match scheme {
            Scheme::Cavage => signature::sign_cavage,
            Scheme::Rfc9421 => signature::sign_rfc9421,
        };
        let signed = sign(&key, &key_id, &url, content_type, body.as_bytes(), now);
        // ureq writes Host itself, from the URL: the same value as signed.
        let headers: Vec<(&str, &str)> = signed
            .iter()
            .filter(|(name, _)| *name != "Host")
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        sender.post(url.as_str(), content_type, &headers, body.as_bytes())
    };
    // draft-cavage, as Mastodon expects, unless the host asked for RFC 9421
    // before: a 401 with an `Accept-Signature` challenge (RFC 9421 5.1,
    // Fedify's way of saying so) is answered at once, signed that way, and
    // the host remembered when that is taken.
    let remembered = ap::state(node.conn, &host_key)?.is_some();
    let first = if remembered {
        Scheme::Rfc9421
    } else {
        Scheme::Cavage
    };
    let mut reply = post(first);
    let challenged =
        matches!(&reply, Ok(r) if r.status == 401 && r.header("accept-signature").is_some());
    if first == Scheme::Cavage && challenged {
        reply = post(Scheme::Rfc9421);
        if matches!(&reply, Ok(r) if (200..300).contains(&r.status)) {
            node.write_unseen(|tx| ap::set_state(tx, &host_key, "1", false))?;
        }
    }
    let reply = match reply {
        Ok(reply) => reply,
        Err(error) if send::is_final(&error) => return Ok(Outcome::GiveUp(format!("{error:#}"))),
        Err(error) => return Ok(Outcome::Retry(format!("{error:#}"))),
    };
    match reply.status {
        200..=299 => {
            node.write_unseen(|tx| ap::inbox_reached(tx, &inbox))?;
            Ok(Outcome::Done)
        }
        404 | 410 => {
            // The follower's server says it is gone: no dead letter (not the
            // owner's problem), the followers there dropped past the limit.
            node.write_entries(|tx| ap::inbox_gone(tx, &inbox, GONE_LIMIT))?;
            Ok(Outcome::Done)
        }
        429 | 500.. => Ok(Outcome::Retry(format!(
            "{inbox} answered {}: {}",
            reply.status,
            reply.excerpt()
        ))),
        status => Ok(Outcome::GiveUp(format!(
            "{inbox} answered {status}: {}",
            reply.excerpt()
        ))),
    }
}
