//! Polling (`roost poll`, and the first half of `roost cron`): under the lease, fetches the due feeds on a small pool of
//! threads (network-bound), and writes from this one thread, one transaction
//! per feed, so a killed poll loses at most the feed in hand.

use super::fetch::{self, CacheHints, FetchOutcome, FetchRequest};
use super::ingest::{self, PreparedEntry};
use super::schedule;
use crate::cron::Lease;
use crate::node::Node;
use crate::store::{self, follows::Follow, follows::PollRecord};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use crate::store::follows::PARTLY_READ;
/// The lease is renewed this often while results come in (a fetch takes at
/// most `net::TOTAL_TIMEOUT`, well under the lease).
const RENEW_EVERY: Duration = Duration::from_secs(30);
/// Feeds fetched at once.
pub const WORKERS: usize = 4;
/// Feeds of one host fetched at once.
pub const PER_HOST: usize = 2;

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub force: bool,
    pub max_seconds: Option<u64>,
    /// Called after each feed: (done, total, host, errors so far).
    pub progress: Option<fn(usize, usize, &str, usize)>,
}

#[derive(Debug, Default)]
pub struct Summary {
    /// Another run holds the lease: this one did nothing.
    pub skipped: bool,
    pub due: usize,
    pub polled: usize,
    pub new_entries: usize,
    pub updated_entries: usize,
    /// (feed, error) for feeds that failed this time.
    pub errors: Vec<(String, String)>,
}

/// What a worker found out about one feed, ready to write.
enum Polled {
    NotModified {
        cache: CacheHints,
    },
    Fetched {
        entries: Vec<PreparedEntry>,
        /// What was not read or kept (`parse::IncomingFeed::notes`).
        notes: Vec<String>,
        title: Option<String>,
        home_url: Option<String>,
        etag: Option<String>,
        last_modified: Option<String>,
        cache: CacheHints,
        ttl_minutes: Option<u32>,
        update_period_minutes: Option<u32>,
        permanent_url: Option<String>,
        /// The WebSub hub the feed names, and the topic to subscribe to
        /// (boxed: rare, and the variant is large enough).
        hub: Option<Box<(String, String)>>,
    },
    Gone,
    RetryLater {
        after: Option<u64>,
        status: u16,
    },
    Failed(String),
}

/// `roost poll`: polling alone, under the lease (`roost cron` polls and
/// then drains the outbox under the same lease).
pub fn run(node: &mut Node, options: &Options) -> Result<Summary> {
    let Some(lease) = Lease::take(node)? else {
        return Ok(Summary {
            skipped: true,
            ..Summary::default()
        });
    };
    let outcome = poll_due(node, options, &lease);
    lease.release(node, outcome.is_ok())?;
    outcome
}

/// Polls the due feeds, holding `lease` (renewed as results come in).
pub fn poll_due(node: &mut Node, options: &Options, lease: &Lease) -> Result<Summary> {
    let settings = crate::settings::Settings::load(node.conn)?;
    let node_url = settings.url();
    let allow_private = settings.allow_private_addresses();
    let now = chrono::Utc::now().timestamp();
    poll_feeds(node, options, lease, &node_url, allow_private, now)
}

fn poll_feeds(
    node: &mut Node,
    options: &Options,
    lease: &Lease,
    node_url: &str,
    allow_private: bool,
    now: i64,
) -> Result<Summary> {
    let due = store::follows::due(node.conn, now, options.force)?;
    let mut summary = Summary {
        due: due.len(),
        ..Summary::default()
    };
    if due.is_empty() {
        return Ok(summary);
    }
    let deadline = options
        .max_seconds
        .map(|s| Instant::now() + Duration::from_secs(s));
    let queues = host_queues(due);
    // Bounded: a worker with a feed in hand waits for the writer rather than
    // fetching more (see `processing` below).
    let (sender, receiver) = mpsc::sync_channel::<(Follow, Polled)>(1);
    let queues = Arc::new(Mutex::new(queues));
    let total = summary.due;
    let processing = &Mutex::new(());
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..WORKERS {
            let queues = queues.clone();
            let sender = sender.clone();
            scope.spawn(move || {
                loop {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return;
                    }
                    let next = queues.lock().ok().and_then(|mut q| q.pop());
                    let Some(mut queue) = next else { return };
                    while let Some(follow) = queue.pop() {
                        if deadline.is_some_and(|d| Instant::now() >= d) {
                            return;
                        }
                        let fetched = fetch_one(&follow, node_url, allow_private, deadline);
                        // Cut short by our own time limit, not the feed's fault:
                        // nothing is recorded, and the next run tries again.
                        if fetched.is_err() && deadline.is_some_and(|d| Instant::now() >= d) {
                            return;
                        }
                        // One feed at a time is parsed, sanitized and handed
                        // to the writer: the pool fetches in parallel (into
                        // bodies that hold little memory), but only one
                        // feed's entries are being built at once, and at most
                        // two more wait (in the channel, at the writer).
                        let _one_at_a_time = processing.lock().unwrap_or_else(|p| p.into_inner());
                        let result = into_polled(fetched);
                        if sender.send((follow, result)).is_err() {
                            return;
                        }
                    }
                }
            });
        }
        drop(sender);
        let mut last_renewal = Instant::now();
        for (follow, result) in receiver {
            let now = chrono::Utc::now().timestamp();
            let host = host_of(&follow.url).to_string();
            record(node, &follow, result, now, &mut summary)?;
            summary.polled += 1;
            if let Some(progress) = options.progress {
                progress(summary.polled, total, &host, summary.errors.len());
            }
            if last_renewal.elapsed() > RENEW_EVERY {
                lease.renew(node)?;
                last_renewal = Instant::now();
            }
        }
        Ok(())
    })?;
    Ok(summary)
}

/// Splits the due feeds by host into at most PER_HOST queues per host, so no
/// host gets more than PER_HOST requests at once. Queues are popped from the end.
fn host_queues(due: Vec<Follow>) -> Vec<Vec<Follow>> {
    let mut by_host: HashMap<String, Vec<Follow>> = HashMap::new();
    for follow in due.into_iter().rev() {
        by_host
            .entry(host_of(&follow.url).to_ascii_lowercase())
            .or_default()
            .push(follow);
    }
    let mut queues = Vec::new();
    for (_, feeds) in by_host {
        let mut split: Vec<Vec<Follow>> =
            (0..PER_HOST.min(feeds.len())).map(|_| Vec::new()).collect();
        let n = split.len();
        for (i, follow) in feeds.into_iter().enumerate() {
            split[i % n].push(follow);
        }
        queues.extend(split);
    }
    queues
}

pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

/// Fetches one feed (on a worker thread).
fn fetch_one(
    follow: &Follow,
    node_url: &str,
    allow_private: bool,
    deadline: Option<Instant>,
) -> Result<FetchOutcome, fetch::FetchError> {
    let request = FetchRequest {
        url: &follow.url,
        etag: follow.etag.as_deref(),
        last_modified: follow.last_modified.as_deref(),
        node_url,
        allow_private,
    };
    // A run bounded by --max-seconds ends its fetches by then too.
    fetch::fetch_until(&request, deadline)
}

/// Parses and sanitizes what a fetch brought (on a worker thread).
fn into_polled(fetched: Result<FetchOutcome, fetch::FetchError>) -> Polled {
    match fetched {
        Err(error) => Polled::Failed(error.to_string()),
        Ok(FetchOutcome::NotModified { cache }) => Polled::NotModified { cache },
        Ok(FetchOutcome::Gone) => Polled::Gone,
        Ok(FetchOutcome::RetryLater {
            after_seconds,
            status,
        }) => Polled::RetryLater {
            after: after_seconds,
            status,
        },
        Ok(FetchOutcome::Fetched {
            final_url,
            permanent_url,
            body,
            content_type,
            etag,
            last_modified,
            cache,
        }) => match ingest::parse_body(&body, content_type.as_deref(), &final_url) {
            Err(error) => Polled::Failed(error.to_string()),
            Ok(mut feed) => Polled::Fetched {
                entries: ingest::prepare(std::mem::take(&mut feed.entries), &mut feed.notes),
                notes: std::mem::take(&mut feed.notes),
                title: feed
                    .title
                    .as_deref()
                    .map(|t| crate::sanitize::one_line(t, super::ingest::MAX_FEED_TITLE_CHARS)),
                home_url: feed
                    .home_url
                    .clone()
                    .filter(|u| crate::sanitize::is_web_url(u)),
                etag,
                last_modified,
                cache,
                ttl_minutes: feed.ttl_minutes,
                update_period_minutes: feed.update_period_minutes,
                hub: feed.hub.clone().map(|hub| {
                    let topic = feed.self_url.clone().unwrap_or_else(|| final_url.clone());
                    Box::new((hub, topic))
                }),
                permanent_url,
            },
        },
    }
}

/// A feed body a WebSub hub delivered for `follow`: read, sanitized and
/// stored exactly as a poll's (the same parser, caps and writer).
pub fn store_pushed(
    node: &mut Node,
    follow: &Follow,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Result<Summary> {
    let fetched = FetchOutcome::Fetched {
        final_url: follow.url.clone(),
        permanent_url: None,
        body: fetch::Body::from_vec(body),
        content_type: content_type.map(str::to_string),
        // The poll's validators stay the feed's: the next poll may still get 304.
        etag: follow.etag.clone(),
        last_modified: follow.last_modified.clone(),
        cache: CacheHints::default(),
    };
    let mut summary = Summary::default();
    let now = chrono::Utc::now().timestamp();
    record(node, follow, into_polled(Ok(fetched)), now, &mut summary)?;
    Ok(summary)
}

/// Writes one feed's result in one transaction.
fn record(
    node: &mut Node,
    follow: &Follow,
    result: Polled,
    now: i64,
    summary: &mut Summary,
) -> Result<()> {
    let name = follow.display_name().to_string();
    let joined_notes = match &result {
        Polled::Fetched { notes, .. } if !notes.is_empty() => Some(notes.join("; ")),
        _ => None,
    };
    node.write_entries_if_changed(|tx| {
        // Only new or changed entries, or a feed renamed, change what pages
        // show; most polls find nothing new and must leave the pages be.
        let mut shown_changed = false;
        let base = PollRecord {
            status: "ok",
            error: None,
            next_check: 0,
            failures: 0,
            gone: false,
            validators: None,
            title: None,
            home_url: None,
            new_url: None,
        };
        let mut record = match &result {
            // The same document as last time: what it left out still holds.
            Polled::NotModified { cache } if follow.last_status.as_deref() == Some(PARTLY_READ) => {
                PollRecord {
                    status: PARTLY_READ,
                    error: follow.last_error.as_deref(),
                    next_check: schedule::after_success(now, cache, None, None),
                    ..base
                }
            }
            Polled::NotModified { cache } => PollRecord {
                status: "not modified",
                next_check: schedule::after_success(now, cache, None, None),
                ..base
            },
            Polled::Fetched {
                entries,
                notes,
                title,
                home_url,
                etag,
                last_modified,
                cache,
                ttl_minutes,
                update_period_minutes,
                permanent_url,
                hub,
            } => {
                if let Some(found) = hub {
                    let (hub, topic) = &**found;
                    crate::websub::subscriber::noticed_hub(tx, follow.id.0, hub, topic, now)?;
                }
                let stored = ingest::store(tx, follow.id, entries, now)?;
                summary.new_entries += stored.inserted;
                summary.updated_entries += stored.updated;
                shown_changed = stored.inserted + stored.updated > 0
                    || (title.is_some() && *title != follow.title)
                    || (home_url.is_some() && *home_url != follow.home_url)
                    || permanent_url.is_some();
                PollRecord {
                    next_check: schedule::after_success(
                        now,
                        cache,
                        *ttl_minutes,
                        *update_period_minutes,
                    ),
                    validators: Some((etag.as_deref(), last_modified.as_deref())),
                    status: if notes.is_empty() { "ok" } else { PARTLY_READ },
                    error: joined_notes.as_deref(),
                    title: title.as_deref(),
                    home_url: home_url.as_deref(),
                    new_url: permanent_url.as_deref(),
                    ..base
                }
            }
            Polled::Gone => PollRecord {
                status: "gone",
                error: Some("the feed is gone (410): no longer polled"),
                gone: true,
                ..base
            },
            Polled::RetryLater { after, status } => {
                let failures = follow.failures + 1;
                PollRecord {
                    status: "retry later",
                    error: Some(if *status == 429 {
                        "too many requests (429)"
                    } else {
                        "unavailable (503)"
                    }),
                    next_check: schedule::after_retry_later(now, *after, failures),
                    failures,
                    ..base
                }
            }
            Polled::Failed(error) => {
                let failures = follow.failures + 1;
                PollRecord {
                    status: "error",
                    error: Some(error.as_str()),
                    next_check: schedule::after_failure(now, failures),
                    failures,
                    ..base
                }
            }
        };
        // A feed its hub pushes is polled daily only, as a safety net.
        if matches!(result, Polled::Fetched { .. } | Polled::NotModified { .. })
            && store::websub::is_pushed(tx, follow.id.0, now)?
        {
            let daily = now + crate::websub::subscriber::PUSHED_POLL_SECONDS;
            record.next_check = record.next_check.max(daily);
        }
        store::follows::record_poll(tx, follow.id, &record, now)?;
        Ok(((), shown_changed))
    })
    .with_context(|| format!("saving what was fetched from {}", follow.url))?;
    match result {
        Polled::Failed(error) => summary.errors.push((name, error)),
        Polled::Gone => summary
            .errors
            .push((name, "gone (410): no longer polled".into())),
        _ => {}
    }
    Ok(())
}
