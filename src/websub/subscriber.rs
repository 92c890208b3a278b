//! The node as a WebSub subscriber of the feeds it follows.
//!
//! A poll that finds a hub named in a followed feed queues [`SUBSCRIBE`]
//! (`noticed_hub`, in the poll's own transaction). The job records an
//! unguessable callback id and a secret, then asks the hub; the hub's
//! verification (`GET /websub/callback/ID`) is answered only for a
//! subscription this node asked for, and its deliveries (`POST`) only with
//! a valid signature. A delivered body goes through the very path a poll's
//! does (`poll::run::store_pushed`: parse, sanitize, ingest, the same caps),
//! and the feed is then polled only daily, as a safety net. Leases are
//! renewed by cron before they end; unfollowing unsubscribes.

use super::DEFAULT_LEASE_SECONDS;
use crate::jobs::{Kind, Outcome};
use crate::net::send::Sender;
use crate::node::Node;
use crate::settings::Settings;
use crate::store::{self, jobs::Job, websub::Pushed};
use crate::web::app::Ctx;
use crate::web::http::Response;
use anyhow::{Context, Result};
use rusqlite::Connection;

/// How often a feed its hub pushes is still polled.
pub const PUSHED_POLL_SECONDS: i64 = 24 * 60 * 60;

/// The callback address for `callback_id`.
pub fn callback_url(site_url: &str, callback_id: &str) -> String {
    format!("{site_url}websub/callback/{callback_id}")
}

/// A poll read `hub` in the feed of `follow_id` (whose own address is
/// `topic`): subscribe, unless that is done, under way, or was refused.
pub fn noticed_hub(
    tx: &Connection,
    follow_id: i64,
    hub: &str,
    topic: &str,
    now: i64,
) -> Result<()> {
    if crate::net::send::check_url(hub).is_err() || crate::net::send::check_url(topic).is_err() {
        return Ok(());
    }
    let known = store::websub::pushed_for_follow(tx, follow_id)?
        .is_some_and(|p| p.hub == hub && p.topic == topic);
    if !known {
        let payload = serde_json::json!({ "hub": hub, "topic": topic }).to_string();
        store::jobs::enqueue(tx, SUBSCRIBE.name, &follow_id.to_string(), &payload, now)?;
    }
    Ok(())
}

/// The follow is going: ask its hub to stop (in the unfollow's transaction).
pub fn on_unfollow(tx: &Connection, follow_id: i64, now: i64) -> Result<()> {
    store::jobs::cancel(tx, SUBSCRIBE.name, &follow_id.to_string())?;
    store::jobs::cancel(tx, SUBSCRIBE.name, &renewal_key(follow_id))?;
    if let Some(pushed) = store::websub::detach_pushed(tx, follow_id, now)? {
        store::jobs::enqueue(tx, UNSUBSCRIBE.name, &pushed.callback_id, "", now)?;
    }
    Ok(())
}

fn renewal_key(follow_id: i64) -> String {
    format!("renew {follow_id}")
}

fn sender(node: &Node) -> Result<(Sender, String)> {
    let settings = Settings::load(node.conn)?;
    Ok((settings.sender(), settings.url()))
}

/// Asks a hub for a subscription (and renews one: the same callback and
/// secret). Key: the follow's id (`renew ID` for a renewal).
pub const SUBSCRIBE: Kind = Kind {
    name: "websub.subscribe",
    run: subscribe,
    max_attempts: 6,
    per_host: None,
};

fn subscribe(node: &mut Node, job: &Job) -> Result<Outcome> {
    let follow_id: i64 = job
        .key
        .trim_start_matches("renew ")
        .parse()
        .context("reading a subscription job")?;
    let now = chrono::Utc::now().timestamp();
    let existing = store::websub::pushed_for_follow(node.conn, follow_id)?;
    let (hub, topic) = if job.payload.is_empty() {
        match &existing {
            Some(p) => (p.hub.clone(), p.topic.clone()),
            None => return Ok(Outcome::Done),
        }
    } else {
        let v: serde_json::Value =
            serde_json::from_str(&job.payload).context("reading a subscription job")?;
        (
            v["hub"].as_str().unwrap_or_default().to_string(),
            v["topic"].as_str().unwrap_or_default().to_string(),
        )
    };
    if store::follows::by_id(node.conn, follow_id)?.is_none() {
        return Ok(Outcome::Done);
    }
    let pushed = match existing.filter(|p| p.hub == hub && p.topic == topic) {
        Some(p) => p,
        None => {
            let pushed = Pushed {
                callback_id: crate::web::auth::random_token()?,
                follow_id: Some(follow_id),
                hub: hub.clone(),
                topic: topic.clone(),
                secret: crate::web::auth::random_token()?[..40].to_string(),
                state: "requested".into(),
                lease_expires: None,
                note: String::new(),
            };
            // Committed before the hub is asked: a hub may verify while
            // this request is still waiting for its answer.
            node.write_unseen(|tx| store::websub::insert_pushed(tx, &pushed, now))?;
            pushed
        }
    };
    let (sender, site_url) = sender(node)?;
    let callback = callback_url(&site_url, &pushed.callback_id);
    let lease = DEFAULT_LEASE_SECONDS.to_string();
    let sent = sender.post_form(
        &hub,
        &[
            ("hub.mode", "subscribe"),
            ("hub.topic", &topic),
            ("hub.callback", &callback),
            ("hub.secret", &pushed.secret),
            ("hub.lease_seconds", &lease),
        ],
    );
    Ok(match sent {
        Ok(reply) if reply.is_success() => Outcome::Done,
        Ok(reply) if (400..500).contains(&reply.status) && reply.status != 429 => {
            let why = format!(
                "the hub {hub} refused: {} {}",
                reply.status,
                reply.excerpt()
            );
            node.write_unseen(|tx| {
                store::websub::set_pushed_state(tx, &pushed.callback_id, "denied", None, &why, now)
            })?;
            Outcome::GiveUp(why)
        }
        Ok(reply) => Outcome::Retry(format!(
            "the hub {hub} answered {}: {}",
            reply.status,
            reply.excerpt()
        )),
        Err(error) => Outcome::Retry(format!("{error:#}")),
    })
}

/// Asks the hub to stop delivering a feed no longer followed. Key: the
/// callback id.
pub const UNSUBSCRIBE: Kind = Kind {
    name: "websub.unsubscribe",
    run: unsubscribe,
    max_attempts: 4,
    per_host: None,
};

fn unsubscribe(node: &mut Node, job: &Job) -> Result<Outcome> {
    let Some(pushed) = store::websub::pushed_by_callback(node.conn, &job.key)? else {
        return Ok(Outcome::Done);
    };
    let (sender, site_url) = sender(node)?;
    let callback = callback_url(&site_url, &pushed.callback_id);
    let sent = sender.post_form(
        &pushed.hub,
        &[
            ("hub.mode", "unsubscribe"),
            ("hub.topic", &pushed.topic),
            ("hub.callback", &callback),
        ],
    );
    Ok(match sent {
        Ok(reply) if reply.is_success() => Outcome::Done,
        Ok(reply) => {
            // The hub will not confirm: forget the subscription here (its
            // deliveries now get 410 Gone, which ends it at any hub).
            node.write_unseen(|tx| store::websub::delete_pushed(tx, &pushed.callback_id))?;
            Outcome::GiveUp(format!(
                "the hub {} answered {} to the unsubscribe: {}",
                pushed.hub,
                reply.status,
                reply.excerpt()
            ))
        }
        Err(error) => Outcome::Retry(format!("{error:#}")),
    })
}

/// `GET /websub/callback/ID`: the hub verifies intent (WebSub 5.3), or
/// says it denied the subscription (5.2). Echoes the challenge only for a
/// subscription this node asked for; 404 otherwise.
pub fn verify(ctx: &mut Ctx, callback_id: &str) -> Result<Response> {
    let unknown = || {
        Ok(Response::plain(
            404,
            "No subscription of this node has this callback.\n",
        ))
    };
    let Some(pushed) = store::websub::pushed_by_callback(ctx.conn, callback_id)? else {
        return unknown();
    };
    let param = |name: &str| ctx.req.query_param(name).unwrap_or_default();
    let (mode, topic, challenge) = (
        param("hub.mode"),
        param("hub.topic"),
        param("hub.challenge"),
    );
    let now = ctx.now;
    match mode.as_str() {
        "denied" => {
            let why = format!(
                "the hub {} denied the subscription: {}",
                pushed.hub,
                param("hub.reason")
            );
            ctx.node().write_unseen(|tx| {
                store::websub::set_pushed_state(tx, callback_id, "denied", None, &why, now)
            })?;
            Ok(Response::plain(200, "Noted.\n"))
        }
        _ if topic != pushed.topic || challenge.is_empty() => unknown(),
        "subscribe" if pushed.follow_id.is_some() && pushed.state != "unsubscribing" => {
            let lease = param("hub.lease_seconds")
                .parse::<i64>()
                .ok()
                .filter(|&n| n > 0)
                .unwrap_or(DEFAULT_LEASE_SECONDS);
            let follow_id = pushed.follow_id.unwrap_or_default();
            ctx.node().write_unseen(|tx| {
                store::websub::set_pushed_state(
                    tx,
                    callback_id,
                    "active",
                    Some(now + lease),
                    "",
                    now,
                )?;
                // Renewed when nine tenths of the lease have gone.
                store::jobs::enqueue(
                    tx,
                    SUBSCRIBE.name,
                    &renewal_key(follow_id),
                    "",
                    now + lease * 9 / 10,
                )
            })?;
            Ok(Response::plain(200, &challenge))
        }
        "unsubscribe" if pushed.follow_id.is_none() => {
            ctx.node()
                .write_unseen(|tx| store::websub::delete_pushed(tx, callback_id))?;
            Ok(Response::plain(200, &challenge))
        }
        _ => unknown(),
    }
}

/// `POST /websub/callback/ID`: a hub delivers the feed's new content
/// (WebSub 7). 410 for a subscription this node does not (or no longer)
/// hold, which tells the hub to stop. A body whose signature does not
/// match is acknowledged (202, as WebSub 7.1 asks, so the sender learns
/// nothing) and dropped.
pub fn deliver(ctx: &mut Ctx, callback_id: &str) -> Result<Response> {
    let Some(pushed) = store::websub::pushed_by_callback(ctx.conn, callback_id)? else {
        return Ok(Response::plain(
            410,
            "No subscription of this node has this callback.\n",
        ));
    };
    let Some(follow_id) = pushed.follow_id.filter(|_| pushed.state != "denied") else {
        return Ok(Response::plain(410, "This feed is no longer followed.\n"));
    };
    if let Err(why) = super::signature::verify(
        ctx.req.header("X-Hub-Signature"),
        &pushed.secret,
        &ctx.req.body,
    ) {
        eprintln!(
            "roost: a WebSub delivery for {} was dropped: {why}",
            pushed.topic
        );
        return Ok(Response::plain(202, &format!("Dropped: {why}.\n")));
    }
    let Some(follow) = store::follows::by_id(ctx.conn, follow_id)? else {
        return Ok(Response::plain(410, "This feed is no longer followed.\n"));
    };
    let content_type = ctx.req.header("Content-Type").map(str::to_string);
    let body = ctx.req.body.clone();
    let summary =
        crate::poll::run::store_pushed(&mut ctx.node(), &follow, content_type.as_deref(), body)?;
    Ok(match summary.errors.first() {
        Some((_, error)) => Response::plain(400, &format!("The feed could not be read: {error}\n")),
        None => Response::plain(
            202,
            &format!(
                "Received: {} new and {} updated entries.\n",
                summary.new_entries, summary.updated_entries
            ),
        ),
    })
}
