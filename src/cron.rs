//! `roost cron`: all due background work under one lease and one time
//! budget: polling first (what `roost poll` does), then the outbox drained
//! (`jobs::drain`). `roost serve` runs the same every minute in a thread of
//! its own, so the embedded default needs no cron at all.
//!
//! The lease is one row (`store::lease`): overlapping runs (cron every
//! minute, a slow poll, `serve`'s thread) never work at once; a crashed
//! run's lease goes stale, sooner on the same machine (its process is gone).
//!
//! A run ends by emptying the WAL (`store::empty_wal`): the CGI requests and
//! commands in between, each writing once, cannot.

use crate::node::Node;
use crate::poll::run::{Options, Summary, poll_due};
use crate::store;
use anyhow::Result;
use std::time::{Duration, Instant};

/// How long a lease lasts without renewal; a crashed run's lease goes stale
/// after this (sooner on the same machine: see `holder_is_dead`).
const LEASE_SECONDS: i64 = 5 * 60;

/// The lease, held by this process until `release`.
pub struct Lease {
    holder: String,
}

impl Lease {
    /// Takes the lease when it is free, stale, or held by a process of this
    /// machine that is gone; `None` when another run holds it.
    pub fn take(node: &mut Node) -> Result<Option<Lease>> {
        let holder = format!(
            "{}:{}:{}",
            hostname(),
            std::process::id(),
            &crate::web::auth::random_token()?[..16]
        );
        let now = chrono::Utc::now().timestamp();
        let acquired = node.write_unseen(|tx| {
            if store::lease::acquire(tx, &holder, now, LEASE_SECONDS)? {
                return Ok(true);
            }
            match store::lease::holder(tx, now)? {
                Some(current) if holder_is_dead(&current) => {
                    store::lease::take_over(tx, &current, &holder, now, LEASE_SECONDS)
                }
                _ => Ok(false),
            }
        })?;
        Ok(acquired.then_some(Lease { holder }))
    }

    /// Extends the lease (a long run renews it as it goes).
    pub fn renew(&self, node: &mut Node) -> Result<()> {
        let now = chrono::Utc::now().timestamp();
        node.write_unseen(|tx| store::lease::renew(tx, &self.holder, now, LEASE_SECONDS))?;
        Ok(())
    }

    /// Gives the lease up; a run that `completed` records when it finished
    /// (what `doctor` reports as the last run's age).
    pub fn release(self, node: &mut Node, completed: bool) -> Result<()> {
        let finished = completed.then(|| chrono::Utc::now().timestamp());
        node.write_unseen(|tx| store::lease::release(tx, &self.holder, finished))
    }
}

/// What one `roost cron` run did.
#[derive(Debug, Default)]
pub struct CronSummary {
    /// Another run holds the lease: this one did nothing.
    pub skipped: bool,
    /// Messages taken from the spools (`jobs::take_spooled`).
    pub spooled: usize,
    pub polled: Summary,
    pub jobs: crate::jobs::Drained,
    /// Received entries forgotten by `retention`.
    pub forgotten: usize,
}

/// Polls, then drains the outbox, within `max_seconds` in all.
pub fn run(node: &mut Node, max_seconds: Option<u64>) -> Result<CronSummary> {
    let Some(lease) = Lease::take(node)? else {
        return Ok(CronSummary {
            skipped: true,
            ..CronSummary::default()
        });
    };
    let started = Instant::now();
    let deadline = max_seconds.map(|s| started + Duration::from_secs(s));
    let outcome = (|| {
        let options = Options {
            force: false,
            max_seconds,
            progress: None,
        };
        // Messages spooled since the last run first: the verifications
        // they queue then run in this run's drain.
        let spooled = crate::jobs::take_spooled(node, deadline)?;
        // Rows older than the search index, a chunk per transaction.
        crate::search::catch_up(node, deadline)?;
        let forgotten = crate::retention::run(node, chrono::Utc::now().timestamp(), deadline)?;
        let polled = poll_due(node, &options, &lease)?;
        lease.renew(node)?;
        let jobs = crate::jobs::drain(node, deadline, &|node: &mut Node| lease.renew(node))?;
        Ok(CronSummary {
            skipped: false,
            spooled,
            polled,
            jobs,
            forgotten,
        })
    })();
    lease.release(node, outcome.is_ok())?;
    store::empty_wal(node.conn)?;
    outcome
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

/// How long a run started by a page view (`cron_on_page_views`) may take.
pub const PAGE_VIEW_BUDGET_SECONDS: u64 = 25;

/// How long after a finished run a page view starts another.
pub const PAGE_VIEW_INTERVAL_SECONDS: i64 = 5 * 60;

/// Whether an owner's page view should start a run: none has finished in
/// the last `PAGE_VIEW_INTERVAL_SECONDS`.
pub fn due_on_page_view(conn: &rusqlite::Connection, now: i64) -> bool {
    match crate::store::lease::last_finished(conn) {
        Ok(Some(last)) => now - last >= PAGE_VIEW_INTERVAL_SECONDS,
        Ok(None) => true,
        Err(_) => false,
    }
}

/// A cron run for the data in `home`, within the page view budget: what a
/// page view starts once its answer is out. Errors go to stderr (the web
/// server's error log) only.
pub fn run_for_page_view(home: &std::path::Path) {
    let outcome = crate::store::open(home).and_then(|mut conn| {
        run(
            &mut Node::new(home, &mut conn),
            Some(PAGE_VIEW_BUDGET_SECONDS),
        )
    });
    if let Err(error) = outcome {
        eprintln!("roost: background work started by a page view: {error:#}");
    }
}
