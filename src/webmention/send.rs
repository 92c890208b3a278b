//! Sending Webmentions (W3C Webmention 3.1.3 to 3.1.5). A post's creation,
//! edit or deletion queues, in its own transaction, one [`SEND`] job per
//! target: every http(s) address its text links to and its reply-to, before
//! and after the change, and every target it was ever sent to (so an edit
//! reaches the links it dropped and a deletion reaches them all; the
//! permalink of a deleted post answers 410). The job, run by cron,
//! discovers the endpoint (`discover`), POSTs `source` and `target`, and
//! records what came of it (`store::mentions_sent`), which the owner sees
//! on the post's page. Receiving is not here.

use super::discover::{self, Found};
use crate::jobs::{Kind, Outcome};
use crate::net::send::{Sender, check_url, is_final};
use crate::node::Node;
use crate::settings::Settings;
use crate::store::jobs::Job;
use crate::store::mentions_sent::{self, Sent};
use crate::store::posts::{Post, PostId};
use anyhow::{Context, Result};
use rusqlite::Connection;

/// What a send job carries.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Mention {
    post: i64,
    target: String,
}

/// The addresses a post mentions: its links and what it replies to.
fn mentioned(post: &Post) -> impl Iterator<Item = &str> {
    crate::render::post_text::links(&post.body)
        .into_iter()
        .chain(post.reply_to.as_deref())
}

/// Queues a mention of each target of post `id`, which was `before` and is
/// now `after` (`None`: not yet made, or deleted), in the change's own
/// transaction. Addresses on this site, not http(s) or too long are left out.
pub fn after_post_change(
    tx: &Connection,
    id: PostId,
    before: Option<&Post>,
    after: Option<&Post>,
    now: i64,
) -> Result<()> {
    let site = Settings::load(tx)?.url();
    let sent_before = mentions_sent::for_post(tx, id)?;
    let mut targets: Vec<&str> = Vec::new();
    let candidates = before
        .into_iter()
        .chain(after)
        .flat_map(mentioned)
        .chain(sent_before.iter().map(|s| s.target.as_str()));
    for target in candidates {
        let wanted = !targets.contains(&target)
            && !target.starts_with(&site)
            && target.len() <= crate::posts::MAX_URL_CHARS
            && check_url(target).is_ok();
        if wanted {
            targets.push(target);
        }
    }
    for target in targets {
        let payload = serde_json::to_string(&Mention {
            post: id.0,
            target: target.to_string(),
        })
        .context("writing a Webmention job")?;
        crate::store::jobs::enqueue(tx, SEND.name, &format!("{} {target}", id.0), &payload, now)?;
    }
    Ok(())
}

/// Sends one post's mention of one target. 2xx: done; 4xx (but 429): given
/// up; 5xx, 429, a timeout or a connection error: tried again with the job
/// list's backoff. Each attempt's outcome is recorded for the owner.
pub const SEND: Kind = Kind {
    name: "webmention.send",
    run: send,
    max_attempts: 8,
    per_host: None,
};

fn send(node: &mut Node, job: &Job) -> Result<Outcome> {
    let mention: Mention =
        serde_json::from_str(&job.payload).context("reading a Webmention job")?;
    let settings = Settings::load(node.conn)?;
    let sender = settings.sender();
    let source = format!("{}posts/{}", settings.url(), mention.post);
    let target = mention.target.as_str();
    let last_try = job.attempts + 1 >= SEND.max_attempts;
    let retry = |why: String| {
        if last_try {
            (
                format!("given up after {} tries: {why}", SEND.max_attempts),
                Outcome::GiveUp(why),
            )
        } else {
            (format!("will try again: {why}"), Outcome::Retry(why))
        }
    };
    let mut sent = Sent {
        target: target.to_string(),
        endpoint: None,
        status: None,
        outcome: String::new(),
        location: None,
        sent_at: chrono::Utc::now().timestamp(),
    };
    let outcome = match discover::discover(&sender, target) {
        Ok(Found::NoEndpoint) => {
            sent.outcome = "no endpoint: the target takes no Webmentions".into();
            Outcome::Done
        }
        Ok(Found::Unreachable(why)) => {
            sent.outcome = format!("not sent: {why}");
            Outcome::Done
        }
        Err(error) if is_final(&error) => {
            sent.outcome = format!("not sent: {error:#}");
            Outcome::GiveUp(sent.outcome.clone())
        }
        Err(error) => {
            let (words, outcome) = retry(format!("discovering the endpoint: {error:#}"));
            sent.outcome = words;
            outcome
        }
        Ok(Found::Endpoint(endpoint)) => {
            sent.endpoint = Some(endpoint.to_string());
            post(&sender, &endpoint, &source, &mut sent, retry)
        }
    };
    node.write_unseen(|tx| mentions_sent::record(tx, PostId(mention.post), &sent))?;
    Ok(outcome)
}

/// POSTs the mention to `endpoint`, filling in `sent`.
fn post(
    sender: &Sender,
    endpoint: &url::Url,
    source: &str,
    sent: &mut Sent,
    retry: impl Fn(String) -> (String, Outcome),
) -> Outcome {
    if let Err(error) = check_url(endpoint.as_str()) {
        sent.outcome = format!("not sent: the endpoint {error:#}");
        return Outcome::GiveUp(sent.outcome.clone());
    }
    let reply = sender.post_form(
        endpoint.as_str(),
        &[("source", source), ("target", &sent.target)],
    );
    let reply = match reply {
        Ok(reply) => reply,
        Err(error) if is_final(&error) => {
            sent.outcome = format!("not sent: {error:#}");
            return Outcome::GiveUp(sent.outcome.clone());
        }
        Err(error) => {
            let (words, outcome) = retry(format!("{error:#}"));
            sent.outcome = words;
            return outcome;
        }
    };
    sent.status = Some(reply.status);
    if reply.is_success() {
        sent.location = reply
            .header("location")
            .and_then(|l| endpoint.join(l).ok())
            .filter(|l| crate::sanitize::is_web_url(l.as_str()))
            .map(String::from);
        sent.outcome = match reply.status {
            201 | 202 => "accepted".into(),
            _ => "sent".into(),
        };
        return Outcome::Done;
    }
    let why = format!(
        "the endpoint answered {}: {}",
        reply.status,
        reply.excerpt()
    );
    if (400..500).contains(&reply.status) && reply.status != 429 {
        sent.outcome = format!("refused: {why}");
        return Outcome::GiveUp(why);
    }
    let (words, outcome) = retry(why);
    sent.outcome = words;
    outcome
}
