//! The outbox: work a write leaves for `roost cron`, queued in the write's
//! own transaction (so a change and its follow-up work commit together),
//! taken in due order, retried with backoff, and kept as a dead letter when
//! it is given up.

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// One queued (or dead) job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub payload: String,
    pub due_at: i64,
    pub attempts: i64,
    pub revision: i64,
    pub last_error: String,
    pub created_at: i64,
    pub dead_at: Option<i64>,
}

const COLUMNS: &str =
    "id, kind, key, payload, due_at, attempts, revision, last_error, created_at, dead_at";

fn job(r: &Row) -> rusqlite::Result<Job> {
    Ok(Job {
        id: r.get(0)?,
        kind: r.get(1)?,
        key: r.get(2)?,
        payload: r.get(3)?,
        due_at: r.get(4)?,
        attempts: r.get(5)?,
        revision: r.get(6)?,
        last_error: r.get(7)?,
        created_at: r.get(8)?,
        dead_at: r.get(9)?,
    })
}

/// Queues `kind` for `key`, due at `due_at`. A job of that kind and key
/// already queued is kept (not doubled): it takes the new payload, the
/// earlier due time and a fresh count of attempts, since new work deserves
/// its own retries.
pub fn enqueue(conn: &Connection, kind: &str, key: &str, payload: &str, due_at: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO jobs (kind, key, payload, due_at, created_at) VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (kind, key) WHERE dead_at IS NULL DO UPDATE SET
             payload = excluded.payload,
             due_at = min(due_at, excluded.due_at),
             attempts = 0,
             revision = revision + 1",
    )
    .and_then(|mut stmt| stmt.execute(params![kind, key, payload, due_at]))
    .with_context(|| format!("queuing a {kind} job"))?;
    Ok(())
}

/// The next queued job due by `now`, oldest due first.
pub fn next_due(conn: &Connection, now: i64) -> Result<Option<Job>> {
    next_due_except(conn, now, &[])
}

/// `next_due`, passing over the jobs in `except` (this run put them back).
pub fn next_due_except(conn: &Connection, now: i64, except: &[i64]) -> Result<Option<Job>> {
    let except = serde_json::to_string(except).context("listing jobs to pass over")?;
    conn.query_row(
        &format!(
            "SELECT {COLUMNS} FROM jobs WHERE dead_at IS NULL AND due_at <= ?1
               AND id NOT IN (SELECT value FROM json_each(?2))
             ORDER BY due_at, id LIMIT 1"
        ),
        params![now, except],
        job,
    )
    .optional()
    .context("reading the next due job")
}

/// The job ran: removed, unless it was queued again meanwhile (then the
/// newer work stays due).
pub fn finish(conn: &Connection, job: &Job) -> Result<()> {
    conn.execute(
        "DELETE FROM jobs WHERE id = ?1 AND revision = ?2",
        params![job.id, job.revision],
    )
    .context("removing a finished job")?;
    Ok(())
}

/// The job failed and will be tried again at `due_at`. A job queued again
/// meanwhile keeps its fresh count and due time.
pub fn retry(conn: &Connection, job: &Job, error: &str, due_at: i64) -> Result<()> {
    conn.execute(
        "UPDATE jobs SET attempts = attempts + 1, last_error = ?3, due_at = ?4
         WHERE id = ?1 AND revision = ?2",
        params![job.id, job.revision, error, due_at],
    )
    .context("rescheduling a failed job")?;
    Ok(())
}

/// The job is given up: kept as a dead letter for `doctor` and the owner's
/// pages (a new job of the same kind and key can be queued beside it).
pub fn bury(conn: &Connection, job: &Job, error: &str, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE jobs SET attempts = attempts + 1, last_error = ?3, dead_at = ?4
         WHERE id = ?1 AND revision = ?2",
        params![job.id, job.revision, error, now],
    )
    .context("giving up a job")?;
    // A dead letter per kind and key is enough to show: the newest.
    conn.execute(
        "DELETE FROM jobs WHERE dead_at IS NOT NULL AND kind = ?1 AND key = ?2 AND id != ?3",
        params![job.kind, job.key, job.id],
    )
    .context("giving up a job")?;
    Ok(())
}

/// Removes the queued job of `kind` and `key`, if any (its subject is gone).
pub fn cancel(conn: &Connection, kind: &str, key: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM jobs WHERE kind = ?1 AND key = ?2",
        params![kind, key],
    )
    .context("cancelling a job")?;
    Ok(())
}

/// Dead letters, newest first.
pub fn dead(conn: &Connection, limit: usize) -> Result<Vec<Job>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE dead_at IS NOT NULL ORDER BY dead_at DESC, id DESC LIMIT ?1"
        ))
        .context("reading the dead letters")?;
    let rows = stmt
        .query_map([limit as i64], job)
        .context("reading the dead letters")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("reading the dead letters")
}

/// How many jobs are queued, and how many of them are overdue by `now`.
pub fn queued(conn: &Connection, now: i64) -> Result<(i64, i64)> {
    conn.query_row(
        "SELECT count(*), count(*) FILTER (WHERE due_at <= ?1) FROM jobs WHERE dead_at IS NULL",
        [now],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .context("counting the queued jobs")
}

/// Forgets the dead letters (after the owner has read them).
pub fn clear_dead(conn: &Connection) -> Result<usize> {
    conn.execute("DELETE FROM jobs WHERE dead_at IS NOT NULL", [])
        .context("clearing the dead letters")
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::store::migrations::in_memory as db;

    #[test]
    fn a_job_queued_twice_is_one_job_with_the_earlier_due_time() {
        let conn = db();
        enqueue(&conn, "k", "a", "one", 100).unwrap();
        enqueue(&conn, "k", "a", "two", 50).unwrap();
        enqueue(&conn, "k", "b", "", 70).unwrap();
        let first = next_due(&conn, 1000).unwrap().unwrap();
        assert_eq!(
            (first.key.as_str(), first.payload.as_str(), first.due_at),
            ("a", "two", 50)
        );
        assert_eq!(queued(&conn, 60).unwrap(), (2, 1));
        assert_eq!(next_due(&conn, 49).unwrap(), None);
    }

    #[test]
    fn work_queued_while_a_job_runs_is_not_lost_when_it_finishes() {
        let conn = db();
        enqueue(&conn, "k", "a", "", 10).unwrap();
        let running = next_due(&conn, 10).unwrap().unwrap();
        enqueue(&conn, "k", "a", "", 20).unwrap();
        finish(&conn, &running).unwrap();
        assert!(next_due(&conn, 20).unwrap().is_some());
        let again = next_due(&conn, 20).unwrap().unwrap();
        finish(&conn, &again).unwrap();
        assert_eq!(queued(&conn, 20).unwrap(), (0, 0));
    }

    #[test]
    fn retries_count_and_dead_letters_stay_apart_from_new_work() {
        let conn = db();
        enqueue(&conn, "k", "a", "", 10).unwrap();
        let job = next_due(&conn, 10).unwrap().unwrap();
        retry(&conn, &job, "refused", 70).unwrap();
        let job = next_due(&conn, 70).unwrap().unwrap();
        assert_eq!((job.attempts, job.last_error.as_str()), (1, "refused"));
        bury(&conn, &job, "still refused", 80).unwrap();
        assert_eq!(next_due(&conn, 1000).unwrap(), None);
        enqueue(&conn, "k", "a", "", 90).unwrap();
        assert_eq!(queued(&conn, 100).unwrap(), (1, 1));
        let dead = dead(&conn, 10).unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!((dead[0].attempts, dead[0].dead_at), (2, Some(80)));
        assert_eq!(clear_dead(&conn).unwrap(), 1);
    }
}
