//! `POST /inbox` (the shared inbox) and `POST /actor/inbox`: the request is
//! kept as received (method, the address it was sent to, its headers and
//! body: what its signature needs) and answered `202` at once; nothing is
//! fetched. The job [`INBOX`] then verifies it in cron: the HTTP signature
//! (`signature`), the key fetched from its actor (cached, fetched again
//! once when it fails), the key's owner the activity's actor, no replay;
//! only then it acts: Follow (accepted at once: a follower, an Accept
//! queued, a notification), Undo (a Follow, a Like, an Announce), Create of
//! a Note replying to a post or mentioning the owner, Like, Announce (of
//! a post here; or by an account followed: the boosted post, fetched when
//! only its id came, on the timeline), Move (proven by the new account's
//! `alsoKnownAs`: the follow and the follower move), Update and Delete
//! (by the object's own actor only). Anything unsigned or
//! badly signed is dropped and counted (`roost doctor` shows the counts).

use super::signature::{self, Claim, Incoming, Refusal};
use super::{actor_id, keys};
use crate::jobs::Spooled;
use crate::jobs::{Kind, Outcome};
use crate::net::send;
use crate::node::Node;
use crate::settings::Settings;
use crate::spool::{Spool, Taken};
use crate::store::{self, activitypub as ap, jobs::Job, mentions};
use crate::web::app::json_error;
use crate::web::http::Response;
use crate::web::intake::Intake;
use crate::webmention::{moderation, receive};
use anyhow::{Context, Result};
use serde_json::Value;

/// The largest activity taken (413 beyond it, before it is read).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Requests taken from one host (its key's, else its address) per
/// [`RATE_WINDOW_SECONDS`]; past them, 429 with `Retry-After`.
pub const RATE_LIMIT: usize = 120;
pub const RATE_WINDOW_SECONDS: i64 = 60;
/// A remote key is fetched again after this long.
const KEY_MAX_AGE_SECONDS: i64 = 24 * 60 * 60;

/// `POST /inbox`, `POST /actor/inbox`: 400 for a body that is not an
/// activity, 429 past the rate limit, else 202 (verified later by cron).
/// Answered without the database (an intake): the request waits in the
/// spool for cron ([`SPOOLED`]), which keeps it and queues [`INBOX`].
pub fn intake(intake: &Intake) -> Result<Response> {
    let req = intake.req;
    let activity: Option<Value> = serde_json::from_slice(&req.body).ok();
    let valid = activity.as_ref().is_some_and(|a| {
        a.get("type").is_some_and(Value::is_string) && id_of(a.get("actor")).is_some()
    });
    if !valid {
        return Ok(json_error(
            400,
            "The body must be an ActivityStreams activity: a JSON object with a type and an actor.",
        ));
    }
    let host = key_host(&req.headers).unwrap_or_else(|| req.remote_addr.clone());
    let spool = Spool::new(intake.home, SPOOLED.kind);
    if let Err(wait) = spool.admit(&host, RATE_LIMIT, RATE_WINDOW_SECONDS, intake.now)? {
        return Ok(json_error(
            429,
            &format!(
                "Too many activities from {host}: at most {RATE_LIMIT} a minute; \
                 try again in {wait} seconds."
            ),
        )
        .with_header("Retry-After", &wait.to_string()));
    }
    let site_url = intake.site_url()?;
    let query = match req.query.as_str() {
        "" => String::new(),
        q => format!("?{q}"),
    };
    // What the signature needs, on the first line; the body as received after it.
    let meta = serde_json::json!({
        "host": host,
        "method": req.method,
        "target_uri": format!("{site_url}{}{query}", req.path.trim_start_matches('/')),
        "headers": req.headers,
    });
    let mut message = serde_json::to_vec(&meta).context("keeping an activity")?;
    message.push(b'\n');
    message.extend_from_slice(&req.body);
    spool.put(&message, intake.now)?;
    Ok(Response::new(202, "application/json", "{}"))
}

/// The requests `POST /inbox` spooled, as cron takes them: each kept as
/// received (`ap_inbox`) with its verification queued. Taken twice after a
/// killed run, the second is refused as a replay.
pub const SPOOLED: Spooled = Spooled {
    kind: "activitypub-inbox",
    store: store_spooled,
    rate_window: RATE_WINDOW_SECONDS,
    tidy: |_, _| Ok(()),
};

fn store_spooled(tx: &rusqlite::Connection, _: &Settings, taken: &Taken, now: i64) -> Result<()> {
    let end = taken
        .body
        .iter()
        .position(|&b| b == b'\n')
        .context("a spooled activity without its first line")?;
    let meta: Value =
        serde_json::from_slice(&taken.body[..end]).context("reading a spooled activity")?;
    let text = |name: &str| meta[name].as_str().unwrap_or_default().to_string();
    let headers = serde_json::from_value(meta["headers"].clone()).unwrap_or_default();
    let received = ap::Received {
        id: 0,
        received_at: taken.at,
        host: text("host"),
        method: text("method"),
        target_uri: text("target_uri"),
        headers,
        body: taken.body[end + 1..].to_vec(),
    };
    let id = ap::receive(tx, &received)?;
    store::jobs::enqueue(tx, INBOX.name, &id.to_string(), &id.to_string(), now)?;
    Ok(())
}

/// The host of the key a request says it is signed with, if it says.
fn key_host(headers: &[(String, String)]) -> Option<String> {
    let value = signature::lookup(headers, "signature-input")
        .or_else(|| signature::lookup(headers, "signature"))?;
    let lower = value.to_ascii_lowercase();
    let start = lower.find("keyid=\"")? + "keyid=\"".len();
    let end = value[start..].find('"')? + start;
    let url = url::Url::parse(&value[start..end]).ok()?;
    url.host_str().map(str::to_ascii_lowercase)
}

/// An object's id: the string itself, or its `id`.
fn id_of(value: Option<&Value>) -> Option<&str> {
    match value? {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// Verifies one received request and acts on it.
pub const INBOX: Kind = Kind {
    name: "activitypub.inbox",
    run: inbox,
    max_attempts: 6,
    per_host: None,
};

fn inbox(node: &mut Node, job: &Job) -> Result<Outcome> {
    let id: i64 = job.payload.parse().context("reading an inbox job")?;
    let Some(received) = ap::received(node.conn, id)? else {
        return Ok(Outcome::Done);
    };
    let settings = Settings::load(node.conn)?;
    // A stranger's key that stays out of reach is dropped on the last try,
    // not kept as a dead letter: `doctor` lists only the owner's problems.
    let last_try = job.attempts + 1 >= INBOX.max_attempts;
    let verdict = match verified(node, &settings, &received)? {
        Verdict::Retry(_) if last_try => Verdict::Drop("key unreachable"),
        verdict => verdict,
    };
    let outcome = match verdict {
        Verdict::Retry(why) => return Ok(Outcome::Retry(why)),
        Verdict::Drop(counter) => {
            node.write_unseen(|tx| {
                ap::count(tx, counter)?;
                ap::forget_received(tx, id)
            })?;
            return Ok(Outcome::Done);
        }
        Verdict::Taken(activity, actor_doc) => act(node, &settings, &activity, actor_doc)?,
    };
    node.write_unseen(|tx| {
        ap::count(tx, "taken")?;
        ap::forget_received(tx, id)
    })?;
    Ok(outcome)
}

/// What checking a received request came to.
enum Verdict {
    /// Signed by its actor: the activity, and the actor's document when it
    /// was fetched for the key.
    Taken(Value, Option<Value>),
    /// Dropped, counted under this name.
    Drop(&'static str),
    /// The key could not be fetched now.
    Retry(String),
}

fn verified(node: &mut Node, settings: &Settings, received: &ap::Received) -> Result<Verdict> {
    let incoming = Incoming {
        method: &received.method,
        target_uri: &received.target_uri,
        headers: &received.headers,
        body: &received.body,
    };
    // Its time is checked against when it arrived: cron may run later.
    let claim = match signature::claim(&incoming, received.received_at) {
        Ok(claim) => claim,
        Err(refusal) => return Ok(Verdict::Drop(refusal.counter())),
    };
    let Ok(activity) = serde_json::from_slice::<Value>(&received.body) else {
        return Ok(Verdict::Drop("not an activity"));
    };
    let Some(actor) = id_of(activity.get("actor")).map(str::to_string) else {
        return Ok(Verdict::Drop("not an activity"));
    };
    if !same_origin(&claim.key_id, &actor) {
        return Ok(Verdict::Drop("wrong key owner"));
    }
    let fetcher = super::Fetcher::new(node.conn, settings)?;
    let mut actor_doc = None;
    let mut checked = false;
    // The cached key first; a failure fetches it again, once.
    if let Some((owner, pem, fetched_at)) = ap::remote_key(node.conn, &claim.key_id)?
        && received.received_at - fetched_at < KEY_MAX_AGE_SECONDS
    {
        if owner != actor {
            return Ok(Verdict::Drop("wrong key owner"));
        }
        checked = keys::public_key(&pem).is_ok_and(|key| claim.verify(&key));
    }
    if !checked {
        let fetched = match fetch_key(&fetcher, &claim)? {
            Fetched::Key { owner, pem, doc } => {
                let now = chrono::Utc::now().timestamp();
                node.write_unseen(|tx| ap::save_remote_key(tx, &claim.key_id, &owner, &pem, now))?;
                actor_doc = doc;
                (owner, pem)
            }
            Fetched::Missing => return Ok(Verdict::Drop("key not found")),
            Fetched::Later(why) => return Ok(Verdict::Retry(why)),
        };
        if fetched.0 != actor {
            return Ok(Verdict::Drop("wrong key owner"));
        }
        let key = match keys::public_key(&fetched.1) {
            Ok(key) => key,
            Err(_) => return Ok(Verdict::Drop("key not found")),
        };
        if !claim.verify(&key) {
            return Ok(Verdict::Drop(Refusal::Malformed(String::new()).counter()));
        }
    }
    // The same signed request again (a replay), or the same activity.
    let now = chrono::Utc::now().timestamp();
    let forget = now - 2 * signature::MAX_SKEW_SECONDS;
    let signature_key = format!("sig:{}", crate::web::auth::sha256_hex(&claim.signature));
    let activity_key = id_of(Some(&activity)).map(|id| format!("id:{id}"));
    let replayed = node.write_unseen(|tx| {
        if ap::seen_before(tx, &signature_key, now, forget)? {
            return Ok(true);
        }
        match &activity_key {
            Some(key) => ap::seen_before(tx, key, now, forget),
            None => Ok(false),
        }
    })?;
    if replayed {
        return Ok(Verdict::Drop("replayed"));
    }
    Ok(Verdict::Taken(activity, actor_doc))
}

fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

enum Fetched {
    Key {
        owner: String,
        pem: String,
        /// The actor's document, when the key was in it.
        doc: Option<Value>,
    },
    /// The key's address answers no key (4xx, not JSON, no such key).
    Missing,
    /// Not now (a timeout, a 5xx).
    Later(String),
}

/// The key `claim` names, from its document (an actor with `publicKey`,
/// or the key itself with its `owner`).
fn fetch_key(fetcher: &super::Fetcher, claim: &Claim) -> Result<Fetched> {
    let mut url = match url::Url::parse(&claim.key_id) {
        Ok(url) => url,
        Err(_) => return Ok(Fetched::Missing),
    };
    url.set_fragment(None);
    let doc = match fetch_json(fetcher, url.as_str()) {
        Ok(Some(doc)) => doc,
        Ok(None) => return Ok(Fetched::Missing),
        Err(why) => return Ok(Fetched::Later(why)),
    };
    let keys: Vec<&Value> = match doc.get("publicKey") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => vec![&doc],
    };
    let found = keys.into_iter().find(|k| {
        k.get("id").and_then(Value::as_str) == Some(claim.key_id.as_str())
            && k.get("publicKeyPem").is_some_and(Value::is_string)
    });
    let Some(key) = found else {
        return Ok(Fetched::Missing);
    };
    let owner = key
        .get("owner")
        .and_then(Value::as_str)
        .or_else(|| doc.get("id").and_then(Value::as_str))
        .unwrap_or_default()
        .to_string();
    let pem = key["publicKeyPem"].as_str().unwrap_or_default().to_string();
    let is_actor = doc.get("inbox").is_some();
    Ok(Fetched::Key {
        owner,
        pem,
        doc: is_actor.then_some(doc),
    })
}

/// A JSON document: `Ok(None)` when the address answers none (4xx, not
/// JSON, refused by the guard); `Err(why)` when trying later may help.
fn fetch_json(fetcher: &super::Fetcher, url: &str) -> std::result::Result<Option<Value>, String> {
    match fetcher.get(url) {
        Ok(doc) if (200..300).contains(&doc.status) => Ok(serde_json::from_slice(&doc.body).ok()),
        Ok(doc) if doc.status == 429 || doc.status >= 500 => {
            Err(format!("{url} answered {}", doc.status))
        }
        Ok(_) => Ok(None),
        Err(error) if send::is_final(&error) => Ok(None),
        Err(error) => Err(format!("{error:#}")),
    }
}

/// What a verified activity does.
fn act(
    node: &mut Node,
    settings: &Settings,
    activity: &Value,
    actor_doc: Option<Value>,
) -> Result<Outcome> {
    let site_url = settings.url();
    let me = actor_id(&site_url);
    let actor = id_of(activity.get("actor")).unwrap_or_default().to_string();
    let kind = activity["type"].as_str().unwrap_or_default();
    let object = activity.get("object");
    let now = chrono::Utc::now().timestamp();
    let fetcher = super::Fetcher::new(node.conn, settings)?;
    // The actor's document, fetched only when the activity needs it.
    let mut doc = actor_doc;
    let actor_doc = |doc: &mut Option<Value>| -> Value {
        if doc.is_none() {
            *doc = fetch_json(&fetcher, &actor).ok().flatten();
        }
        doc.clone().unwrap_or(Value::Null)
    };
    match kind {
        "Follow" => {
            let target = id_of(object).unwrap_or_default();
            if target != me && target != site_url {
                return Ok(Outcome::Done);
            }
            let who = actor_doc(&mut doc);
            let Some(mut follower) = follower_of(&who, &actor) else {
                return Ok(Outcome::Done);
            };
            // Moderation's rules first (a blocked author is not followed),
            // then the owner's choice: at once, or after approval.
            let rule = owner_rule(node.conn, &actor)?;
            if rule == mentions::state::BLOCKED {
                return Ok(Outcome::Done);
            }
            let pending = rule != mentions::state::APPROVED && settings.follows_need_approval();
            follower.pending = pending;
            follower.follow_id = id_of(Some(activity)).unwrap_or_default().to_string();
            follower.since = now;
            let inbox = follower.inbox.as_str();
            let accept = super::objects::accept(&site_url, activity);
            let notice = Notice::from_actor(&who, &actor);
            node.write_entries(|tx| {
                ap::add_follower(tx, &follower)?;
                super::deliver::remember_profile(tx)?;
                let state = if pending {
                    mentions::state::PENDING
                } else {
                    super::deliver::queue(tx, inbox, &accept, now)?;
                    mentions::state::APPROVED
                };
                let verified = notice.verified("follow", "", None, state);
                mentions::save_activity(
                    tx,
                    &mentions::Activity {
                        source: &actor,
                        target: &site_url,
                        post_id: None,
                        object_id: follower.follow_id.as_str(),
                        actor: &actor,
                        verified,
                    },
                    now,
                )?;
                Ok(())
            })?;
        }
        "Accept" => {
            // The node's Follow of `actor`, accepted.
            let follow = id_of(object).unwrap_or_default().to_string();
            node.write_entries(|tx| ap::accept_following(tx, &actor, &follow))?;
        }
        "Undo" => {
            let undone = id_of(object).unwrap_or_default().to_string();
            let undone_kind = object.and_then(|o| o.get("type")).and_then(Value::as_str);
            node.write_entries(|tx| {
                let follower = ap::follower_by_actor(tx, &actor)?;
                let unfollow = undone_kind == Some("Follow")
                    || follower.as_ref().is_some_and(|f| f.follow_id == undone);
                if unfollow {
                    ap::remove_follower(tx, &actor)?;
                }
                // A boost undone leaves the timeline.
                super::follow::remove_note(tx, &actor, &undone)?;
                withdraw(tx, &undone, &actor, "undone by its author")
            })?;
        }
        "Create" | "Update" => {
            let Some(note) = object.filter(|o| o.is_object()) else {
                return Ok(Outcome::Done);
            };
            let note_id = id_of(Some(note)).unwrap_or_default();
            if id_of(note.get("attributedTo")).is_some_and(|a| a != actor) || note_id.is_empty() {
                return Ok(Outcome::Done);
            }
            let earlier = mentions::by_object(node.conn, note_id, &actor)?;
            let Some((kind, target, post_id)) = note_target(note, &site_url, &me).or_else(|| {
                earlier
                    .first()
                    .map(|m| ("mention", m.target.clone(), m.post_id))
            }) else {
                // Not to the owner: a post of an account the owner follows?
                let author = author_name(&actor_doc(&mut doc), &actor);
                node.write_entries(|tx| {
                    super::follow::store_note(tx, &actor, note, &author, None, now)
                })?;
                return Ok(Outcome::Done);
            };
            if kind_is_update(activity) && earlier.is_empty() {
                return Ok(Outcome::Done);
            }
            let who = actor_doc(&mut doc);
            let source = note
                .get("url")
                .and_then(|u| {
                    id_of(Some(u)).or_else(|| u.as_array().and_then(|a| id_of(a.first())))
                })
                .filter(|u| crate::sanitize::is_web_url(u))
                .unwrap_or(note_id)
                .to_string();
            let html = note["content"].as_str().unwrap_or_default();
            let content = crate::sanitize::sanitize(html, &source).into_string();
            let published = note["published"]
                .as_str()
                .and_then(|p| chrono::DateTime::parse_from_rfc3339(p).ok())
                .map(|p| p.timestamp());
            let notice = Notice::from_actor(&who, &actor);
            let state = decide(node, settings, &actor, &source)?;
            let mut verified = notice.verified(kind, &content, published, state);
            if let Some(first) = earlier.first() {
                // An edit keeps the owner's decision.
                if first.state == mentions::state::APPROVED
                    || first.state == mentions::state::BLOCKED
                {
                    verified.state = if first.state == mentions::state::APPROVED {
                        mentions::state::APPROVED
                    } else {
                        mentions::state::BLOCKED
                    };
                }
            }
            node.write_entries(|tx| {
                mentions::save_activity(
                    tx,
                    &mentions::Activity {
                        source: &source,
                        target: &target,
                        post_id,
                        object_id: note_id,
                        actor: &actor,
                        verified,
                    },
                    now,
                )
            })?;
        }
        "Like" | "Announce" => {
            let liked = id_of(object).unwrap_or_default();
            let Some(Ok(receive::Target::Post(post_id))) =
                receive::target_on_site(&site_url, liked)
            else {
                if kind == "Announce" {
                    boosted(node, &fetcher, activity, &actor, now)?;
                }
                return Ok(Outcome::Done);
            };
            let Some(activity_id) = id_of(Some(activity)).map(str::to_string) else {
                return Ok(Outcome::Done);
            };
            let who = actor_doc(&mut doc);
            let notice = Notice::from_actor(&who, &actor);
            let state = decide(node, settings, &actor, &actor)?;
            let kind = if kind == "Like" { "like" } else { "repost" };
            let verified = notice.verified(kind, "", None, state);
            let target = super::post_id(&site_url, post_id);
            node.write_entries(|tx| {
                mentions::save_activity(
                    tx,
                    &mentions::Activity {
                        source: &activity_id,
                        target: &target,
                        post_id: Some(post_id),
                        object_id: &activity_id,
                        actor: &actor,
                        verified,
                    },
                    now,
                )
            })?;
        }
        "Move" => moved(node, &fetcher, activity, &actor, now)?,
        "Delete" => {
            let deleted = id_of(object).unwrap_or_default().to_string();
            node.write_entries(|tx| {
                if deleted == actor {
                    ap::remove_follower(tx, &actor)?;
                }
                // Only what this actor sent: another's Delete names nothing of its own.
                super::follow::remove_note(tx, &actor, &deleted)?;
                withdraw(tx, &deleted, &actor, "deleted by its author")
            })?;
        }
        _ => {}
    }
    Ok(Outcome::Done)
}

/// `actor` moved to another account (a `Move` of itself to `target`),
/// proven by the target's `alsoKnownAs` naming `actor` (its document
/// fetched now, signed): the owner's follow of `actor` moves to the target
/// (`follow::moved`), and a follower `actor` becomes the target. An
/// unproven Move is counted and changes nothing.
fn moved(
    node: &mut Node,
    fetcher: &super::Fetcher,
    activity: &Value,
    actor: &str,
    now: i64,
) -> Result<()> {
    let (Some(old), Some(target)) = (id_of(activity.get("object")), id_of(activity.get("target")))
    else {
        return Ok(());
    };
    let follower = ap::follower_by_actor(node.conn, actor)?;
    if old != actor || (follower.is_none() && ap::following(node.conn, actor, -1)?.is_none()) {
        return Ok(());
    }
    let doc = fetch_json(fetcher, target).ok().flatten();
    let proven = doc.as_ref().is_some_and(|doc| {
        let names_old = match doc.get("alsoKnownAs") {
            Some(Value::Array(list)) => list.iter().any(|a| id_of(Some(a)) == Some(actor)),
            one => id_of(one) == Some(actor),
        };
        id_of(Some(doc)) == Some(target) && names_old
    });
    let (Some(doc), true) = (doc, proven) else {
        return node.write_unseen(|tx| ap::count(tx, "move unproven"));
    };
    let renamed = follower.and_then(|f| {
        follower_of(&doc, target).map(|new| ap::Follower {
            pending: f.pending,
            follow_id: f.follow_id,
            since: f.since,
            ..new
        })
    });
    node.write_entries(|tx| {
        super::follow::moved(tx, actor, target, &doc, now)?;
        if let Some(new) = &renamed {
            ap::move_follower(tx, actor, new)?;
        }
        Ok(())
    })
}

/// `actor` as a follower, from its document: its inboxes (`None` without
/// one roost may send to), name and handle; the follow's own fields empty.
fn follower_of(doc: &Value, actor: &str) -> Option<ap::Follower> {
    let inbox = doc["inbox"]
        .as_str()
        .filter(|i| send::check_url(i).is_ok())?;
    let shared = doc["endpoints"]["sharedInbox"]
        .as_str()
        .filter(|i| send::check_url(i).is_ok())
        .unwrap_or_default();
    Some(ap::Follower {
        actor: actor.to_string(),
        inbox: inbox.to_string(),
        shared_inbox: shared.to_string(),
        name: author_name(doc, actor),
        handle: doc["preferredUsername"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        ..Default::default()
    })
}

/// The kinds of object a boost shows on the timeline.
const BOOSTABLE: &[&str] = &["Note", "Article", "Page", "Question"];

/// `actor` boosted another's post (`activity`, an `Announce`): when the
/// owner follows `actor`, the post becomes an entry of that follow. The
/// post is trusted as carried only when it comes from the booster's own
/// server; else it is fetched by its id (a signed GET), and kept only if
/// it names itself so and its author is on its server. One that cannot be
/// read is counted and let go: the boost is not worth a retry.
fn boosted(
    node: &mut Node,
    fetcher: &super::Fetcher,
    activity: &Value,
    actor: &str,
    now: i64,
) -> Result<()> {
    if ap::following(node.conn, actor, -1)?.is_none() {
        return Ok(());
    }
    let (Some(announce_id), Some(object_id)) =
        (id_of(Some(activity)), id_of(activity.get("object")))
    else {
        return Ok(());
    };
    let carried = activity
        .get("object")
        .filter(|o| o.is_object() && same_origin(object_id, actor));
    let note = match carried {
        Some(note) => Some(note.clone()),
        None => fetch_json(fetcher, object_id).ok().flatten(),
    };
    let author = note.as_ref().and_then(|n| id_of(n.get("attributedTo")));
    let readable = note.as_ref().is_some_and(|n| {
        id_of(Some(n)) == Some(object_id)
            && n["type"].as_str().is_some_and(|t| BOOSTABLE.contains(&t))
    }) && author.is_some_and(|a| same_origin(a, object_id));
    let (Some(note), Some(author), true) = (note.as_ref(), author, readable) else {
        return node.write_unseen(|tx| ap::count(tx, "boost unreadable"));
    };
    let author_doc = fetch_json(fetcher, author).ok().flatten();
    let name = author_name(&author_doc.unwrap_or(Value::Null), author);
    let at = activity["published"]
        .as_str()
        .and_then(|p| chrono::DateTime::parse_from_rfc3339(p).ok())
        .map_or(now, |p| p.timestamp());
    let boost = super::follow::Boost {
        id: announce_id,
        at,
    };
    node.write_entries(|tx| super::follow::store_note(tx, actor, note, &name, Some(boost), now))?;
    Ok(())
}

/// What `actor` sent as `object_id` is shown no more (an Undo, a Delete):
/// only its own, so another's Delete names nothing of it.
fn withdraw(tx: &rusqlite::Connection, object_id: &str, actor: &str, why: &str) -> Result<()> {
    for m in mentions::by_object(tx, object_id, actor)? {
        mentions::set_state(tx, m.id, mentions::state::REMOVED, why)?;
    }
    Ok(())
}

/// What the owner's rules (approve or block, by author or domain) say of
/// `actor`: approved, blocked, or pending when none names it. No policy
/// approves a follower by itself.
fn owner_rule(conn: &rusqlite::Connection, actor: &str) -> Result<&'static str> {
    let address = url::Url::parse(actor).context("reading the follower's address")?;
    moderation::decide(conn, moderation::Policy::QueueUnknown, actor, &address)
}

/// After the owner approved or blocked authors on `/notifications` (in
/// that transaction): each waiting follower whose follow is now approved is
/// accepted (its Accept queued); one now blocked is removed.
pub fn settle_followers(tx: &rusqlite::Connection, now: i64) -> Result<()> {
    let site_url = Settings::load(tx)?.url();
    for follower in ap::followers(tx)?.into_iter().filter(|f| f.pending) {
        match owner_rule(tx, &follower.actor)? {
            mentions::state::APPROVED => {
                ap::approve_follower(tx, &follower.actor)?;
                let follow = serde_json::json!({"id": follower.follow_id, "actor": follower.actor});
                let accept = super::objects::accept(&site_url, &follow);
                super::deliver::queue(tx, &follower.inbox, &accept, now)?;
            }
            mentions::state::BLOCKED => {
                ap::remove_follower(tx, &follower.actor)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn kind_is_update(activity: &Value) -> bool {
    activity["type"] == "Update"
}

/// What a Note is to the node: a reply to one of its posts (kind, the
/// post's permalink, its number), or a mention of the owner.
fn note_target(
    note: &Value,
    site_url: &str,
    me: &str,
) -> Option<(&'static str, String, Option<i64>)> {
    if let Some(parent) = id_of(note.get("inReplyTo"))
        && let Some(Ok(receive::Target::Post(id))) = receive::target_on_site(site_url, parent)
    {
        return Some(("reply", super::post_id(site_url, id), Some(id)));
    }
    let names_me = |field: &str| match note.get(field) {
        Some(Value::Array(list)) => list.iter().any(|v| {
            id_of(Some(v)) == Some(me) || v.get("href").and_then(Value::as_str) == Some(me)
        }),
        Some(one) => id_of(Some(one)) == Some(me),
        None => false,
    };
    (names_me("tag") || names_me("to") || names_me("cc"))
        .then(|| ("mention", site_url.to_string(), None))
}

/// The state moderation gives what `actor` sent from `source`.
fn decide(node: &Node, settings: &Settings, actor: &str, source: &str) -> Result<&'static str> {
    let source = url::Url::parse(source)
        .or_else(|_| url::Url::parse(actor))
        .context("reading an activity's address")?;
    moderation::decide(node.conn, moderation::Policy::of(settings), actor, &source)
}

/// Who sent an activity, as a notification shows them.
struct Notice {
    name: String,
    url: String,
    photo: String,
    key: String,
}

impl Notice {
    fn from_actor(doc: &Value, actor: &str) -> Notice {
        let url = doc
            .get("url")
            .and_then(|u| id_of(Some(u)))
            .filter(|u| crate::sanitize::is_web_url(u))
            .unwrap_or(actor);
        let photo = doc
            .get("icon")
            .and_then(|i| i.get("url").and_then(Value::as_str))
            .filter(|u| crate::sanitize::is_web_url(u))
            .unwrap_or_default();
        Notice {
            name: author_name(doc, actor),
            url: if crate::sanitize::is_web_url(url) {
                url.to_string()
            } else {
                String::new()
            },
            photo: photo.to_string(),
            // Moderation knows an ActivityPub author by the actor's id.
            key: actor.to_string(),
        }
    }

    fn verified<'a>(
        &'a self,
        kind: &'a str,
        content: &'a str,
        published: Option<i64>,
        state: &'a str,
    ) -> mentions::Verified<'a> {
        mentions::Verified {
            kind,
            author_name: &self.name,
            author_url: &self.url,
            author_photo: &self.photo,
            author_key: &self.key,
            content,
            published,
            state,
        }
    }
}

/// The actor's name as plain text: `name`, else `preferredUsername`, else its id.
fn author_name(doc: &Value, actor: &str) -> String {
    let name = doc["name"]
        .as_str()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| doc["preferredUsername"].as_str())
        .unwrap_or(actor);
    crate::sanitize::one_line(name, 100)
}
