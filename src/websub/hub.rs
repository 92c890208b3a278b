//! The node as the WebSub hub of its own feeds.
//!
//! `POST /websub` takes a subscribe or unsubscribe request, checks it, and
//! answers `202 Accepted` at once: the verification of intent (a GET to the
//! callback with `hub.challenge`) is a job for cron ([`VERIFY`]), never done
//! while the request waits. A change to the owner's posts or settings queues
//! [`DISTRIBUTE`] in the change's own transaction; it renders each feed once,
//! and when its bytes changed queues one [`DELIVER`] per live subscription
//! (each retried on its own) and, with the `websub_hub` setting, a [`PING`]
//! of that external hub.

use super::{DEFAULT_LEASE_SECONDS, MAX_LEASE_SECONDS, MAX_SECRET_BYTES, MIN_LEASE_SECONDS};
use crate::jobs::{Kind, Outcome};
use crate::net::send::{Reply, Sender, is_final};
use crate::node::Node;
use crate::settings::Settings;
use crate::store::{self, jobs::Job, websub::Content};
use crate::web::app::Ctx;
use crate::web::http::Response;
use anyhow::{Context, Result};
use rusqlite::Connection;

/// The owner's feeds, the topics this hub serves, as paths under the site URL.
pub const TOPIC_PATHS: [&str; 3] = ["feed.atom", "feed.rss", "feed.json"];

use super::hubs;

fn topics(site_url: &str) -> impl Iterator<Item = String> + '_ {
    TOPIC_PATHS.iter().map(move |p| format!("{site_url}{p}"))
}

/// What a verification job carries.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Intent {
    mode: String,
    topic: String,
    callback: String,
    secret: Option<String>,
    lease_seconds: i64,
}

/// `POST /websub`: a subscriber's request. Answers in plain text (WebSub
/// names no error format): 202 when it is queued for verification, 400
/// with the reason when it is not.
pub fn request(ctx: &mut Ctx) -> Result<Response> {
    let bad = |why: &str| Ok(Response::plain(400, &format!("{why}\n")));
    let Some(form) = ctx.req.form_fields() else {
        return bad(
            "the request must be a form (application/x-www-form-urlencoded) in UTF-8, each field once",
        );
    };
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim());
    let mode = field("hub.mode").unwrap_or("");
    if mode == "publish" {
        return bad(
            "this hub publishes only its own feeds, after every change: hub.mode=publish is not needed",
        );
    }
    if mode != "subscribe" && mode != "unsubscribe" {
        return bad("hub.mode must be subscribe or unsubscribe");
    }
    let site_url = ctx.settings.url();
    let Some(topic) = field("hub.topic").filter(|t| !t.is_empty()) else {
        return bad("hub.topic is missing");
    };
    if !topics(&site_url).any(|t| t == topic) {
        let served: Vec<String> = topics(&site_url).collect();
        return bad(&format!(
            "hub.topic {topic} is not a feed of this site: this hub serves {}",
            served.join(", ")
        ));
    }
    let Some(callback) = field("hub.callback").filter(|c| !c.is_empty()) else {
        return bad("hub.callback is missing");
    };
    if callback.len() > crate::posts::MAX_URL_CHARS {
        return bad("hub.callback is longer than 2048 characters");
    }
    let parsed = match crate::net::send::check_url(callback) {
        Ok(parsed) => parsed,
        Err(error) => return bad(&format!("hub.callback: {error:#}")),
    };
    if !ctx.settings.allow_private_addresses() && names_internal_address(&parsed) {
        return bad(
            "hub.callback names an internal address: this hub delivers only to public hosts",
        );
    }
    let secret = field("hub.secret").filter(|s| !s.is_empty());
    if secret.is_some_and(|s| s.len() >= MAX_SECRET_BYTES) {
        return bad("hub.secret must be shorter than 200 bytes");
    }
    let lease_seconds = match field("hub.lease_seconds").filter(|s| !s.is_empty()) {
        None => DEFAULT_LEASE_SECONDS,
        Some(text) => match text.parse::<i64>() {
            Ok(n) if n > 0 => n.clamp(MIN_LEASE_SECONDS, MAX_LEASE_SECONDS),
            _ => return bad("hub.lease_seconds must be a positive whole number of seconds"),
        },
    };
    let intent = Intent {
        mode: mode.to_string(),
        topic: topic.to_string(),
        callback: callback.to_string(),
        secret: secret.map(str::to_string),
        lease_seconds,
    };
    let payload = serde_json::to_string(&intent).context("writing a verification job")?;
    let key = format!("{topic} {callback}");
    let now = ctx.now;
    ctx.node()
        .write_unseen(|tx| store::jobs::enqueue(tx, VERIFY.name, &key, &payload, now))?;
    Ok(Response::plain(
        202,
        &format!("Accepted: the {mode} request will be verified at {callback} within minutes.\n"),
    ))
}

/// A host given as an internal IP literal (a name is checked when it is
/// resolved, by the same guard as every request roost sends).
fn names_internal_address(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => crate::net::is_internal(ip.into()),
        Some(url::Host::Ipv6(ip)) => crate::net::is_internal(ip.into()),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => true,
    }
}

fn sender(node: &Node) -> Result<Sender> {
    Ok(Settings::load(node.conn)?.sender())
}

/// Verifies a subscriber's intent: GET the callback with a challenge, which
/// it must echo (WebSub 5.3). Anything else means the subscription is not
/// made (or not removed): no retry, except when the callback could not be
/// reached at all.
pub const VERIFY: Kind = Kind {
    name: "websub.verify",
    run: verify,
    max_attempts: 3,
    per_host: None,
};

fn verify(node: &mut Node, job: &Job) -> Result<Outcome> {
    let intent: Intent =
        serde_json::from_str(&job.payload).context("reading a verification job")?;
    let challenge = crate::web::auth::random_token()?;
    let mut url = url::Url::parse(&intent.callback).context("reading the callback")?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("hub.mode", &intent.mode)
            .append_pair("hub.topic", &intent.topic)
            .append_pair("hub.challenge", &challenge);
        if intent.mode == "subscribe" {
            query.append_pair("hub.lease_seconds", &intent.lease_seconds.to_string());
        }
    }
    let reply = match sender(node)?.get(url.as_str()) {
        Ok(reply) => reply,
        Err(error) if is_final(&error) => return Ok(Outcome::GiveUp(format!("{error:#}"))),
        Err(error) => return Ok(Outcome::Retry(format!("{error:#}"))),
    };
    if !reply.is_success() || reply.body.trim_ascii() != challenge.as_bytes() {
        return Ok(Outcome::GiveUp(format!(
            "{} of {} not verified: the callback answered {} {}",
            intent.mode,
            intent.callback,
            reply.status,
            if reply.is_success() {
                "without echoing the challenge".to_string()
            } else {
                reply.excerpt()
            }
        )));
    }
    let now = chrono::Utc::now().timestamp();
    node.write_unseen(|tx| match intent.mode.as_str() {
        "subscribe" => {
            store::websub::subscribe(
                tx,
                &intent.topic,
                &intent.callback,
                intent.secret.as_deref(),
                intent.lease_seconds,
                now,
            )?;
            // The owner hears of a new subscriber (a feed reader, another
            // roost) by its callback's host: the callback itself may hold a
            // secret of the subscriber's and is never shown.
            let host = url.host_str().unwrap_or_default();
            store::mentions::note_follower(
                tx,
                "websub",
                &format!("websub:{}", intent.callback),
                &intent.topic,
                &format!("{host} (WebSub, {})", topic_name(&intent.topic)),
                now,
            )
        }
        _ => store::websub::unsubscribe(tx, &intent.topic, &intent.callback),
    })?;
    Ok(Outcome::Done)
}

/// The feed a topic is, as the owner knows it.
fn topic_name(topic: &str) -> &'static str {
    match topic.rsplit('/').next() {
        Some("feed.atom") => "the Atom feed",
        Some("feed.rss") => "the RSS feed",
        Some("feed.json") => "the JSON Feed",
        _ => "your page",
    }
}

/// Queues distribution after a change to the owner's posts or settings,
/// when anyone listens (a subscriber, or an external hub to ping).
pub fn after_own_change(tx: &Connection, now: i64) -> Result<()> {
    let external = Settings::load(tx)?.websub_hub().is_some();
    if external || store::websub::has_subscriptions(tx)? {
        store::jobs::enqueue(tx, DISTRIBUTE.name, "feeds", "", now)?;
    }
    Ok(())
}

/// Renders each feed; for each whose bytes changed since the last
/// distribution, queues a delivery to each live subscriber (and a ping of
/// the external hub).
pub const DISTRIBUTE: Kind = Kind {
    name: "websub.distribute",
    run: distribute,
    max_attempts: 8,
    per_host: None,
};

fn distribute(node: &mut Node, _job: &Job) -> Result<Outcome> {
    let settings = Settings::load(node.conn)?;
    let site_url = settings.url();
    let external = settings.websub_hub();
    let now = chrono::Utc::now().timestamp();
    for topic in topics(&site_url) {
        let path = &topic[site_url.len() - 1..];
        let (content_type, body) = crate::site::for_visitor(node.conn, path)?;
        let content = Content {
            content_type: content_type.to_string(),
            hash: crate::web::auth::sha256_hex(&body),
            body,
        };
        let unchanged = store::websub::content(node.conn, &topic)?
            .is_some_and(|last| last.hash == content.hash);
        if unchanged {
            continue;
        }
        node.write_unseen(|tx| {
            store::websub::remove_expired(tx, now)?;
            store::websub::set_content(tx, &topic, &content, now)?;
            for id in store::websub::live_subscription_ids(tx, &topic, now)? {
                store::jobs::enqueue(tx, DELIVER.name, &id.to_string(), "", now)?;
            }
            if external.is_some() {
                store::jobs::enqueue(tx, PING.name, &topic, "", now)?;
            }
            Ok(())
        })?;
    }
    Ok(Outcome::Done)
}

/// Sends a subscriber the topic's current body, signed when it gave a
/// secret (WebSub 7). A 410 ends the subscription; other failures retry.
pub const DELIVER: Kind = Kind {
    name: "websub.deliver",
    run: deliver,
    max_attempts: 8,
    per_host: None,
};

fn deliver(node: &mut Node, job: &Job) -> Result<Outcome> {
    let id: i64 = job.key.parse().context("reading a delivery job")?;
    let now = chrono::Utc::now().timestamp();
    let Some(subscription) = store::websub::subscription(node.conn, id)? else {
        return Ok(Outcome::Done);
    };
    if subscription.expires_at <= now {
        node.write_unseen(|tx| store::websub::remove_subscription(tx, id))?;
        return Ok(Outcome::Done);
    }
    let Some(content) = store::websub::content(node.conn, &subscription.topic)? else {
        return Ok(Outcome::Done);
    };
    let settings = Settings::load(node.conn)?;
    let link = hubs(&settings)
        .iter()
        .map(|hub| format!("<{hub}>; rel=\"hub\""))
        .chain([format!("<{}>; rel=\"self\"", subscription.topic)])
        .collect::<Vec<_>>()
        .join(", ");
    let signature = subscription
        .secret
        .as_deref()
        .map(|secret| super::signature::sign(secret, &content.body));
    let mut headers = vec![("Link", link.as_str())];
    if let Some(signature) = &signature {
        headers.push(("X-Hub-Signature", signature.as_str()));
    }
    let sent = sender(node)?.post(
        &subscription.callback,
        &content.content_type,
        &headers,
        &content.body,
    );
    Ok(match sent {
        Ok(reply) if reply.is_success() => Outcome::Done,
        Ok(Reply { status: 410, .. }) => {
            node.write_unseen(|tx| store::websub::remove_subscription(tx, id))?;
            Outcome::Done
        }
        Ok(reply) => Outcome::Retry(format!(
            "{} answered {}: {}",
            subscription.callback,
            reply.status,
            reply.excerpt()
        )),
        Err(error) if is_final(&error) => Outcome::GiveUp(format!("{error:#}")),
        Err(error) => Outcome::Retry(format!("{error:#}")),
    })
}

/// Tells the external hub of the `websub_hub` setting that a feed changed
/// (`hub.mode=publish`, the de facto form hubs take).
pub const PING: Kind = Kind {
    name: "websub.ping",
    run: ping,
    max_attempts: 6,
    per_host: None,
};

fn ping(node: &mut Node, job: &Job) -> Result<Outcome> {
    let Some(hub) = Settings::load(node.conn)?.websub_hub() else {
        return Ok(Outcome::Done);
    };
    let sent = sender(node)?.post_form(
        &hub,
        &[
            ("hub.mode", "publish"),
            ("hub.topic", &job.key),
            ("hub.url", &job.key),
        ],
    );
    Ok(match sent {
        Ok(reply) if reply.is_success() => Outcome::Done,
        Ok(reply) if (400..500).contains(&reply.status) && reply.status != 429 => Outcome::GiveUp(
            format!("{hub} answered {}: {}", reply.status, reply.excerpt()),
        ),
        Ok(reply) => Outcome::Retry(format!(
            "{hub} answered {}: {}",
            reply.status,
            reply.excerpt()
        )),
        Err(error) => Outcome::Retry(format!("{error:#}")),
    })
}
