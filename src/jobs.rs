//! The job list: every kind of background work a protocol queues in the
//! outbox (`store::jobs`), what runs it, and how it is retried. `roost cron`
//! drains the outbox through [`drain`]; a write queues follow-up work
//! through [`after_own_change`]. Adding a protocol's job is one line in
//! [`KINDS`] (and, when a post should cause it, one in `after_own_change`).

use crate::node::Node;
use crate::settings::Settings;
use crate::spool::{Spool, Taken};
use crate::store::{self, jobs::Job};
use anyhow::{Context, Result};
use rusqlite::Connection;
use std::time::Instant;

/// What running a job came to.
#[derive(Debug)]
pub enum Outcome {
    Done,
    /// Worth trying again later (a timeout, a 5xx, a refused connection).
    Retry(String),
    /// Trying again cannot help (a 4xx, the subject is gone): a dead letter.
    GiveUp(String),
}

/// One kind of job.
pub struct Kind {
    /// Stored in `jobs.kind`: never rename one that has shipped.
    pub name: &'static str,
    /// Runs one job. Errors (`Err`) count as [`Outcome::Retry`].
    pub run: fn(&mut Node, &Job) -> Result<Outcome>,
    /// Tries before the job is given up (the first run included).
    pub max_attempts: i64,
    /// At most so many jobs of this kind per host in one drain: the rest
    /// stay queued as they are (no attempt counted) for the next run.
    pub per_host: Option<PerHost>,
}

/// A kind's cap per host and drain (see [`Kind::per_host`]).
pub struct PerHost {
    /// The host a job talks to; `None`: not capped.
    pub host: fn(&Job) -> Option<String>,
    pub cap: usize,
}

/// Every job kind. Jobs of a kind not listed here (written by a newer
/// binary, then downgraded) are left queued, untouched.
pub const KINDS: &[Kind] = &[
    crate::websub::hub::DISTRIBUTE,
    crate::websub::hub::VERIFY,
    crate::websub::hub::DELIVER,
    crate::websub::hub::PING,
    crate::websub::subscriber::SUBSCRIBE,
    crate::websub::subscriber::UNSUBSCRIBE,
    crate::webmention::send::SEND,
    crate::webmention::verify::VERIFY,
    crate::threads::PARENT,
    crate::activitypub::inbox::INBOX,
    crate::activitypub::deliver::DELIVER,
    crate::activitypub::deliver::PROFILE,
];

/// One kind of message an intake route (`web::intake`) leaves in a spool
/// (`spool::Spool`), taken into the database by cron before the outbox is
/// drained, so the jobs it queues run in the same cron run.
pub struct Spooled {
    /// The spool's directory name: never rename one that has shipped.
    pub kind: &'static str,
    /// Stores one message in the transaction given.
    pub store: fn(&Connection, &Settings, &Taken, i64) -> Result<()>,
    /// How long its rate limit counts a request.
    pub rate_window: i64,
    /// Forgets what it no longer needs (run once per cron run).
    pub tidy: fn(&Connection, i64) -> Result<()>,
}

/// Every spool.
pub const SPOOLED: &[Spooled] = &[
    crate::webmention::receive::SPOOLED,
    crate::activitypub::inbox::SPOOLED,
];

/// Messages stored per transaction: a flood is taken in few commits.
const SPOOLED_PER_COMMIT: usize = 100;

/// Takes every spooled message into the database (until `deadline`): each
/// file is removed only after the transaction that stored it committed, so
/// a killed run takes it again (`store` must be idempotent). Returns how
/// many were taken.
pub fn take_spooled(node: &mut Node, deadline: Option<Instant>) -> Result<usize> {
    let now = chrono::Utc::now().timestamp();
    let settings = Settings::load(node.conn)?;
    let mut count = 0;
    for kind in SPOOLED {
        let spool = Spool::new(node.home, kind.kind);
        spool
            .prune_rates(kind.rate_window, now)
            .with_context(|| format!("tidying the {} spool's rate limits", kind.kind))?;
        node.write_unseen(|tx| (kind.tidy)(tx, now))?;
        let mut taken = spool
            .taken()
            .with_context(|| format!("reading the {} spool", kind.kind))?;
        while !taken.is_empty() {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(count);
            }
            let rest = taken.split_off(taken.len().min(SPOOLED_PER_COMMIT));
            node.write_unseen(|tx| {
                taken
                    .iter()
                    .try_for_each(|message| (kind.store)(tx, &settings, message, now))
            })?;
            for message in taken {
                count += 1;
                message.done().context("removing a spooled message")?;
            }
            taken = rest;
        }
    }
    Ok(count)
}

/// Queues what a change to the owner's posts or settings causes, in the
/// change's own transaction (`node::Node::write`).
pub fn after_own_change(tx: &Connection, now: i64) -> Result<()> {
    crate::websub::hub::after_own_change(tx, now)?;
    crate::activitypub::deliver::after_own_change(tx, now)?;
    Ok(())
}

/// How long after the n-th failed attempt (1-based) a job is tried again:
/// a minute, doubling, at most six hours.
pub fn backoff_seconds(attempts: i64) -> i64 {
    let doublings = (attempts - 1).clamp(0, 20) as u32;
    (60i64 << doublings).min(6 * 60 * 60)
}

/// What a drain did.
#[derive(Debug, Default)]
pub struct Drained {
    pub done: usize,
    pub retried: usize,
    /// (kind, key, why) of the jobs given up in this run.
    pub given_up: Vec<(String, String, String)>,
    /// Due jobs left for the next run when the time budget ran out.
    pub left: i64,
    /// Due jobs left for the next run by their kind's cap per host.
    pub capped: usize,
}

/// Runs due jobs one at a time until none is due or `deadline` passes,
/// calling `renew` (the lease) every half minute.
pub fn drain(
    node: &mut Node,
    deadline: Option<Instant>,
    renew: &dyn Fn(&mut Node) -> Result<()>,
) -> Result<Drained> {
    let mut drained = Drained::default();
    let mut last_renewal = Instant::now();
    // A job runs at most once a drain: one queued again while it ran (or
    // put back to retry) waits for the next run, so no job can spin.
    let mut skipped: Vec<i64> = Vec::new();
    let mut per_host: std::collections::HashMap<(&str, String), usize> = Default::default();
    loop {
        let now = chrono::Utc::now().timestamp();
        if deadline.is_some_and(|d| Instant::now() >= d) {
            drained.left = store::jobs::queued(node.conn, now)?.1;
            break;
        }
        if last_renewal.elapsed() > std::time::Duration::from_secs(30) {
            renew(node)?;
            last_renewal = Instant::now();
        }
        let Some(job) = store::jobs::next_due_except(node.conn, now, &skipped)? else {
            break;
        };
        let Some(kind) = KINDS.iter().find(|k| k.name == job.kind) else {
            skipped.push(job.id);
            continue;
        };
        skipped.push(job.id);
        if let Some(cap) = &kind.per_host
            && let Some(host) = (cap.host)(&job)
        {
            let sent = per_host.entry((kind.name, host)).or_default();
            if *sent >= cap.cap {
                drained.capped += 1;
                continue;
            }
            *sent += 1;
        }
        let outcome = (kind.run)(node, &job).unwrap_or_else(|e| Outcome::Retry(format!("{e:#}")));
        let now = chrono::Utc::now().timestamp();
        match outcome {
            Outcome::Done => {
                node.write_unseen(|tx| store::jobs::finish(tx, &job))?;
                drained.done += 1;
            }
            Outcome::Retry(why) if job.attempts + 1 < kind.max_attempts => {
                let due = now + backoff_seconds(job.attempts + 1);
                node.write_unseen(|tx| store::jobs::retry(tx, &job, &why, due))?;
                drained.retried += 1;
            }
            Outcome::Retry(why) | Outcome::GiveUp(why) => {
                node.write_unseen(|tx| store::jobs::bury(tx, &job, &why, now))?;
                drained
                    .given_up
                    .push((job.kind.clone(), job.key.clone(), why));
            }
        }
    }
    Ok(drained)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_up_to_six_hours() {
        assert_eq!(backoff_seconds(1), 60);
        assert_eq!(backoff_seconds(2), 120);
        assert_eq!(backoff_seconds(5), 960);
        assert_eq!(backoff_seconds(30), 6 * 60 * 60);
    }

    #[test]
    fn job_kinds_have_unique_names() {
        let mut names: Vec<_> = KINDS.iter().map(|k| k.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), KINDS.len());
    }
}
