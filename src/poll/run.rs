//! `roost poll`: takes the lease, fetches the due feeds on a small pool of
//! threads (network-bound), and writes from this one thread, one transaction
//! per feed, so a killed poll loses at most the feed in hand.

use super::fetch::{self, CacheHints, FetchOutcome, FetchRequest};
use super::ingest::{self, PreparedEntry};
use super::schedule;
use crate::store::{self, follows::Follow, follows::PollRecord};
use anyhow::{Context, Result};
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The status of a feed fetched and stored with notes on what was not read
/// or kept (kept where errors are: `following` shows them as notes).
pub const PARTLY_READ: &str = "ok, partly read";
/// Feeds fetched at once.
pub const WORKERS: usize = 4;
/// Feeds of one host fetched at once.
pub const PER_HOST: usize = 2;
/// How long a lease lasts without renewal; a crashed run's lease goes stale
/// after this (sooner on the same machine: see `holder_is_dead`).
const LEASE_SECONDS: i64 = 5 * 60;
/// The lease is renewed this often while results come in (a fetch takes at
/// most `net::TOTAL_TIMEOUT`, well under the lease).
const RENEW_EVERY: Duration = Duration::from_secs(30);

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
    },
    Gone,
    RetryLater {
        after: Option<u64>,
        status: u16,
    },
    Failed(String),
}

pub fn run(conn: &mut Connection, options: &Options) -> Result<Summary> {
    let settings = crate::settings::Settings::load(conn)?;
    let node_url = settings.url();
    let allow_private = settings.allow_private_addresses();
    let holder = format!(
        "{}:{}:{}",
        hostname(),
        std::process::id(),
        &crate::web::auth::random_token()?[..16]
    );
    let now = chrono::Utc::now().timestamp();
    let acquired = store::write_unseen(conn, |tx| {
        if store::lease::acquire(tx, &holder, now, LEASE_SECONDS)? {
            return Ok(true);
        }
        // A poll killed on this machine leaves its lease behind: when its
        // process is gone, the next run need not wait for the lease to expire.
        match store::lease::holder(tx, now)? {
            Some(current) if holder_is_dead(&current) => {
                store::lease::take_over(tx, &current, &holder, now, LEASE_SECONDS)
            }
            _ => Ok(false),
        }
    })?;
    if !acquired {
        return Ok(Summary {
            skipped: true,
            ..Summary::default()
        });
    }
    let outcome = poll_due(conn, options, &holder, &node_url, allow_private, now);
    let finished = outcome.is_ok().then(|| chrono::Utc::now().timestamp());
    store::write_unseen(conn, |tx| store::lease::release(tx, &holder, finished))?;
    outcome
}

fn poll_due(
    conn: &mut Connection,
    options: &Options,
    holder: &str,
    node_url: &str,
    allow_private: bool,
    now: i64,
) -> Result<Summary> {
    let due = store::follows::due(conn, now, options.force)?;
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
            record(conn, &follow, result, now, &mut summary)?;
            summary.polled += 1;
            if let Some(progress) = options.progress {
                progress(summary.polled, total, &host, summary.errors.len());
            }
            if last_renewal.elapsed() > RENEW_EVERY {
                store::write_unseen(conn, |tx| {
                    store::lease::renew(tx, holder, now, LEASE_SECONDS)
                })?;
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
                    .map(|t| super::sanitize::one_line(t, super::ingest::MAX_FEED_TITLE_CHARS)),
                home_url: feed
                    .home_url
                    .clone()
                    .filter(|u| super::sanitize::is_web_url(u)),
                etag,
                last_modified,
                cache,
                ttl_minutes: feed.ttl_minutes,
                update_period_minutes: feed.update_period_minutes,
                permanent_url,
            },
        },
    }
}

/// Writes one feed's result in one transaction.
fn record(
    conn: &mut Connection,
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
    store::write_entries_if_changed(conn, |tx| {
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
        let record = match &result {
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
            } => {
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

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(0);
    if ok {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    }
}

/// A holder `HOST:PID:TOKEN` on this host whose process no longer exists.
fn holder_is_dead(holder: &str) -> bool {
    let mut parts = holder.splitn(3, ':');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<i32>() else {
        return false;
    };
    if host != hostname() || pid <= 0 || pid == std::process::id() as i32 {
        return false;
    }
    // SAFETY: signal 0 only asks whether the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    !alive
}
