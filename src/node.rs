//! The one write path: an opened data directory, and the only way to change
//! what the owner's pages, feeds and followers see.
//!
//! A write runs in one transaction that also queues its follow-up work as
//! rows of the outbox (`store::jobs`, added by each protocol's
//! `after_own_change` through `jobs::after_own_change`), so a change and the
//! work it causes are committed together or not at all. After the commit,
//! and only then, the page cache is renewed and the static files are
//! published again. The slow part (delivering to other servers) is never
//! done here: `roost cron` drains the outbox.
//!
//! `store/` stays below this: it runs transactions and knows nothing of the
//! page cache, publishing or protocols.

use crate::store::{self, Change};
use anyhow::Result;
use rusqlite::Connection;
use std::path::Path;

/// The opened data directory: where it is, and its database.
pub struct Node<'a> {
    pub home: &'a Path,
    pub conn: &'a mut Connection,
}

impl<'a> Node<'a> {
    pub fn new(home: &'a Path, conn: &'a mut Connection) -> Node<'a> {
        Node { home, conn }
    }

    /// Changes the owner's own posts or settings: marks the owner's pages
    /// and feeds changed, queues every protocol's follow-up jobs in the same
    /// transaction, then renews the page cache and republishes.
    pub fn write<T>(&mut self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let now = chrono::Utc::now().timestamp();
        let (value, marked) = store::transaction(self.conn, Change::Own, |tx| {
            let value = f(tx)?;
            crate::jobs::after_own_change(tx, now)?;
            Ok((value, true))
        })?;
        self.after_commit(marked);
        Ok(value)
    }

    /// Changes what followed feeds bring (follows, entries): only the pages
    /// that show them are marked changed; nothing is published, unless the
    /// profile's counts of follows or followers changed.
    pub fn write_entries<T>(&mut self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.write_entries_if_changed(|tx| Ok((f(tx)?, true)))
    }

    /// `write_entries` where `f` says whether anything shown changed: a poll
    /// that found every feed unchanged must not retire kept pages or ETags.
    pub fn write_entries_if_changed<T>(
        &mut self,
        f: impl FnOnce(&Connection) -> Result<(T, bool)>,
    ) -> Result<T> {
        let (value, marked) = store::transaction(self.conn, Change::Entries, f)?;
        self.after_commit(marked);
        Ok(value)
    }

    /// Bookkeeping no page shows (sessions, the lease, jobs' progress).
    pub fn write_unseen<T>(&mut self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        store::write_unseen(self.conn, f)
    }

    fn after_commit(&mut self, marked: store::Marked) {
        if marked.pages {
            crate::web::page_cache::invalidate(self.home);
        }
        if marked.own {
            crate::publish::refresh(self.conn);
        }
    }
}
