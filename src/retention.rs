//! Retention: with `retention_days` set, cron forgets entries from followed
//! feeds older than that (by their date and by when they were first seen,
//! so an old entry a feed still lists is not fetched and forgotten on every
//! poll), a chunk per transaction, each with its search rows. Never those
//! an own post replies to. Own posts and received mentions are never
//! pruned. (roost has no likes or bookmarks of entries yet; when it has,
//! they join the exception in `store::entries::prune`.)

use crate::node::Node;
use anyhow::Result;
use std::time::Instant;

/// Entries forgotten per transaction.
const CHUNK: usize = 500;

/// Forgets what the setting says is too old, until done or `deadline`.
/// Returns how many entries went.
pub fn run(node: &mut Node, now: i64, deadline: Option<Instant>) -> Result<usize> {
    let Some(days) = crate::settings::Settings::load(node.conn)?.retention_days() else {
        return Ok(0);
    };
    let cutoff = now - i64::from(days) * 86_400;
    let mut forgotten = 0;
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(forgotten);
        }
        let gone = node.write_entries_if_changed(|tx| {
            let gone = crate::store::entries::prune(tx, cutoff, CHUNK)?;
            Ok((gone, gone > 0))
        })?;
        forgotten += gone;
        if gone < CHUNK {
            return Ok(forgotten);
        }
    }
}
