//! Following a fediverse account by its handle (`roost follow @user@host`):
//! WebFinger finds its actor, the actor its inbox; the account becomes a
//! follow (a `follows` row, never polled: its server delivers its posts to
//! the inbox, where `inbox` makes them entries) and a `Follow` is queued for
//! cron to deliver. Unfollowing queues the `Undo`; a proven Move of the
//! account moves the follow (`moved`); `roost move` moves the owner away
//! (`move_to`).

use super::{actor_id, deliver};
use crate::net::send::Sender;
use crate::node::Node;
use crate::settings::Settings;
use crate::store::{self, activitypub as ap};
use anyhow::{Context, Result, bail};
use rusqlite::Connection;
use serde_json::{Value, json};

/// `@user@host` or `user@host` (no scheme, no path): the user and the host.
pub fn parse_handle(text: &str) -> Option<(String, String)> {
    let text = text.trim().trim_start_matches("acct:");
    let text = text.strip_prefix('@').unwrap_or(text);
    let (user, host) = text.split_once('@')?;
    let ok = |s: &str| {
        !s.is_empty() && !s.contains(['@', '/', ' ', '?', '#']) && !s.chars().any(char::is_control)
    };
    (ok(user) && ok(host)).then(|| (user.to_string(), host.to_ascii_lowercase()))
}

/// An account followed: its actor and what to call it.
#[derive(Debug)]
pub struct Followed {
    pub handle: String,
    pub actor: String,
    pub name: String,
}

/// Follows the account `@user@host`: resolved now, its Follow sent by cron.
pub fn follow(node: &mut Node, text: &str, nick: Option<&str>, now: i64) -> Result<Followed> {
    let Some((user, host)) = parse_handle(text) else {
        bail!("{text:?} is not a fediverse handle: write it as @user@host");
    };
    let handle = format!("@{user}@{host}");
    let settings = Settings::load(node.conn)?;
    let sender = settings.sender();
    let actor = webfinger(&sender, &settings, &user, &host)?;
    let fetcher = super::Fetcher::new(node.conn, &settings)?;
    let doc = json_at(&fetcher, &actor)
        .with_context(|| format!("reading {handle}'s account at {actor}"))?;
    let id = doc["id"].as_str().unwrap_or_default().to_string();
    if id != actor {
        bail!("{actor} names itself {id:?}: not the account WebFinger named for {handle}");
    }
    let Some(inbox) = doc["inbox"]
        .as_str()
        .filter(|i| crate::net::send::check_url(i).is_ok())
    else {
        bail!("{handle}'s account at {actor} has no inbox to send a Follow to");
    };
    let name = doc["name"]
        .as_str()
        .filter(|n| !n.trim().is_empty())
        .map_or_else(|| handle.clone(), |n| crate::sanitize::one_line(n, 100));
    let home = doc["url"]
        .as_str()
        .filter(|u| crate::sanitize::is_web_url(u))
        .unwrap_or(&actor)
        .to_string();
    let activity = follow_activity(&settings.url(), &actor, now);
    let nick = nick.map(str::to_string).unwrap_or_else(|| handle.clone());
    node.write_entries(|tx| {
        if store::follows::find(tx, &actor)?.is_some() {
            bail!("already following {handle} ({actor})");
        }
        let follow_id = store::follows::insert(
            tx,
            &store::follows::NewFollow {
                url: &actor,
                name: Some(&nick),
                title: Some(&name),
                home_url: Some(&home),
                etag: None,
                last_modified: None,
                next_check: i64::MAX,
                note: None,
            },
            now,
        )?;
        ap::add_following(
            tx,
            &ap::Following {
                actor: actor.clone(),
                follow_id: follow_id.0,
                inbox: inbox.to_string(),
                activity: activity["id"].as_str().unwrap_or_default().to_string(),
                accepted: false,
            },
        )?;
        deliver::queue(tx, inbox, &activity, now)
    })?;
    Ok(Followed {
        handle,
        actor,
        name,
    })
}

/// The owner moves to the account `target` (`roost move`): its document
/// must name this node's actor in `alsoKnownAs` (the followers' servers
/// check it too); the actor then says `movedTo`, and a `Move` is queued
/// for every follower's server. Returns how many servers.
pub fn move_to(node: &mut Node, target: &str, now: i64) -> Result<usize> {
    let settings = Settings::load(node.conn)?;
    let me = actor_id(&settings.url());
    crate::net::send::check_url(target)
        .map_err(|e| anyhow::anyhow!("{target:?} is no account address to move to: {e:#}"))?;
    let fetcher = super::Fetcher::new(node.conn, &settings)?;
    let doc = json_at(&fetcher, target).with_context(|| format!("reading {target}"))?;
    let named = |v: &Value| v.as_str() == Some(me.as_str()) || v["id"] == me.as_str();
    let names_me = match &doc["alsoKnownAs"] {
        Value::Array(list) => list.iter().any(named),
        one => named(one),
    };
    if !names_me {
        bail!(
            "{target} does not name this site's actor {me} in alsoKnownAs: add it there              (Mastodon: Settings > Account > Moving from a different account), then run this again"
        );
    }
    let activity = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{me}#moves/{now}"),
        "type": "Move",
        "actor": me,
        "object": me,
        "target": target,
    });
    node.write(|tx| {
        store::settings::set(tx, "moved_to", target)?;
        let inboxes = ap::delivery_inboxes(tx)?;
        for inbox in &inboxes {
            deliver::queue(tx, inbox, &activity, now)?;
        }
        Ok(inboxes.len())
    })
}

/// The node's `Follow` of `actor`, with an id of its own.
fn follow_activity(site_url: &str, actor: &str, now: i64) -> Value {
    let me = actor_id(site_url);
    let digest = crate::web::auth::sha256_hex(format!("{actor} {now}").as_bytes());
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{me}#follows/{}", &digest[..16]),
        "type": "Follow",
        "actor": me,
        "object": actor,
    })
}

/// The account the owner follows as `old` moved to `new` (its document
/// `doc`, which the caller checked names `old` in `alsoKnownAs`): the
/// follow names `new` from now on, `new` is sent a Follow and `old` an
/// Undo of the node's. Returns whether `old` was followed.
pub fn moved(tx: &Connection, old: &str, new: &str, doc: &Value, now: i64) -> Result<bool> {
    let Some(following) = ap::following(tx, old, -1)? else {
        return Ok(false);
    };
    let Some(inbox) = doc["inbox"]
        .as_str()
        .filter(|i| crate::net::send::check_url(i).is_ok())
    else {
        return Ok(false);
    };
    let site_url = Settings::load(tx)?.url();
    let follow = follow_activity(&site_url, new, now);
    let home = doc["url"]
        .as_str()
        .filter(|u| crate::sanitize::is_web_url(u))
        .unwrap_or(new);
    // The Undo first, while the old Follow is still on record.
    on_unfollow(tx, following.follow_id, now)?;
    if store::follows::find(tx, new)?.is_some() {
        // Followed there already: the old follow just ends.
        store::follows::delete(tx, store::follows::FollowId(following.follow_id))?;
        return Ok(true);
    }
    store::follows::moved(tx, store::follows::FollowId(following.follow_id), new, home)?;
    ap::move_following(
        tx,
        old,
        &ap::Following {
            actor: new.to_string(),
            follow_id: following.follow_id,
            inbox: inbox.to_string(),
            activity: follow["id"].as_str().unwrap_or_default().to_string(),
            accepted: false,
        },
    )?;
    deliver::queue(tx, inbox, &follow, now)?;
    Ok(true)
}

/// Before follow `follow_id` is removed: its account is sent an `Undo` of
/// the node's Follow, if it was followed by ActivityPub.
pub fn on_unfollow(tx: &Connection, follow_id: i64, now: i64) -> Result<()> {
    let Some(following) = ap::following(tx, "", follow_id)? else {
        return Ok(());
    };
    let me = actor_id(&Settings::load(tx)?.url());
    let undo = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/undo", following.activity),
        "type": "Undo",
        "actor": me,
        "object": {
            "id": following.activity,
            "type": "Follow",
            "actor": me,
            "object": following.actor,
        },
    });
    deliver::queue(tx, &following.inbox, &undo, now)
}

/// The actor WebFinger names for `user@host` (its `self` link). Asked over
/// https; over http too when the owner allows private addresses (a test
/// or intranet host on loopback speaks plain http).
fn webfinger(sender: &Sender, settings: &Settings, user: &str, host: &str) -> Result<String> {
    let path = format!("/.well-known/webfinger?resource=acct:{user}@{host}");
    let mut schemes = vec!["https"];
    if settings.allow_private_addresses() {
        schemes.push("http");
    }
    let mut last_error = None;
    for scheme in schemes {
        let url = format!("{scheme}://{host}{path}");
        let jrd = match sender.get_jrd(&url) {
            Ok(doc) if (200..300).contains(&doc.status) => doc,
            Ok(doc) => {
                last_error = Some(anyhow::anyhow!("{url} answered {}", doc.status));
                continue;
            }
            Err(error) => {
                last_error = Some(error.context(format!("asking {url}")));
                continue;
            }
        };
        let jrd: Value =
            serde_json::from_slice(&jrd.body).with_context(|| format!("{url} answered no JSON"))?;
        let links = jrd["links"].as_array().cloned().unwrap_or_default();
        let actor = links.iter().find_map(|link| {
            let typed = link["type"].as_str().is_some_and(|t| {
                t.starts_with(super::ACTIVITY_JSON) || t.starts_with("application/ld+json")
            });
            (link["rel"] == "self" && typed)
                .then(|| link["href"].as_str())
                .flatten()
        });
        return match actor {
            Some(actor) => Ok(actor.to_string()),
            None => bail!("@{user}@{host} has no ActivityPub account (WebFinger names none)"),
        };
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("no WebFinger answer for @{user}@{host}")))
}

fn json_at(fetcher: &super::Fetcher, url: &str) -> Result<Value> {
    let doc = fetcher.get(url)?;
    if !(200..300).contains(&doc.status) {
        bail!("{url} answered {}", doc.status);
    }
    serde_json::from_slice(&doc.body).with_context(|| format!("{url} answered no JSON"))
}

/// An account the owner follows boosted another's post: the `Announce`'s
/// id (the entry's identity, so its Undo removes it) and when.
pub struct Boost<'a> {
    pub id: &'a str,
    pub at: i64,
}

/// A Note from an account the owner follows by ActivityPub (`actor`), or
/// one it boosted (`boost`; `author` is then the note's author), as a
/// timeline entry of its follow. Returns whether it was one.
pub fn store_note(
    tx: &Connection,
    actor: &str,
    note: &Value,
    author: &str,
    boost: Option<Boost>,
    now: i64,
) -> Result<bool> {
    let Some(following) = ap::following(tx, actor, -1)? else {
        return Ok(false);
    };
    let Some(note_id) = note["id"].as_str() else {
        return Ok(false);
    };
    let id = boost.as_ref().map_or(note_id, |b| b.id);
    let link = note["url"]
        .as_str()
        .filter(|u| crate::sanitize::is_web_url(u))
        .unwrap_or(note_id);
    let content = crate::sanitize::sanitize(note["content"].as_str().unwrap_or_default(), link);
    let time = |field: &str| {
        note[field]
            .as_str()
            .and_then(|p| chrono::DateTime::parse_from_rfc3339(p).ok())
            .map(|p| p.timestamp())
    };
    let in_reply_to = note["inReplyTo"]
        .as_str()
        .filter(|u| crate::sanitize::is_web_url(u));
    store::entries::upsert(
        tx,
        store::follows::FollowId(following.follow_id),
        &store::entries::NewEntry {
            identity: id,
            link: Some(link),
            title: None,
            content: Some(&content),
            author: Some(author),
            // A boost is on the timeline when it was boosted.
            published: boost.as_ref().map(|b| b.at).or_else(|| time("published")),
            updated: time("updated"),
            in_reply_to,
            in_reply_to_ref: None,
            enclosures: &[],
            boosted: boost.is_some(),
        },
        now,
    )?;
    Ok(true)
}

/// `actor`, whom the owner follows, deleted its post `id`: its entry goes.
pub fn remove_note(tx: &Connection, actor: &str, id: &str) -> Result<bool> {
    match ap::following(tx, actor, -1)? {
        Some(following) => {
            store::entries::remove(tx, store::follows::FollowId(following.follow_id), id)
        }
        None => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_at_user_at_host() {
        for (text, user, host) in [
            ("@alice@Social.Example", "alice", "social.example"),
            ("alice@127.0.0.1:3000", "alice", "127.0.0.1:3000"),
            ("acct:bob@b.example", "bob", "b.example"),
        ] {
            assert_eq!(
                parse_handle(text),
                Some((user.to_string(), host.to_string())),
                "{text}"
            );
        }
        for not in [
            "https://a.example/feed",
            "a.example",
            "@alice",
            "a@b@c",
            "a@b/c",
        ] {
            assert_eq!(parse_handle(not), None, "{not}");
        }
    }
}
