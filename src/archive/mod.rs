//! Bringing an archive home: `roost import twitter|mastodon|roost FILE` and
//! `roost export`. Each source (`twitter`, `mastodon`) reads its archive
//! (through `container`, which refuses hostile ones) into `Item`s, whole,
//! before anything is written: a broken archive imports nothing. `import`
//! then writes them oldest first, a chunk per transaction through
//! `Node::write`, each item recorded in `store::imported` with its post, so
//! a second run adds nothing, a killed run loses at most its chunk in hand,
//! and a run stopped by `--max-seconds` is finished by the next.
//!
//! Imported posts queue no Webmentions, deliveries or parent fetches: they
//! were sent where they were first published, years ago maybe.

pub mod container;
pub mod mastodon;
pub mod roost;
pub mod twitter;

use crate::node::Node;
use crate::posts::{PostText, ReplyTo};
use crate::store;
use anyhow::Result;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// One post to bring home, as its source had it.
#[derive(Debug, Clone)]
pub struct Item {
    /// The source's id for it (`store::imported`).
    pub key: String,
    pub published: i64,
    pub text: String,
    /// A content warning.
    pub summary: Option<String>,
    pub reply: Reply,
    /// Where it was first published.
    pub syndication: Option<String>,
}

/// What an item replies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    None,
    /// Another item of the same source (`key`); `url` is kept when that
    /// one is not in the archive (deleted there).
    Own {
        key: String,
        url: String,
    },
    /// Someone else's post.
    Url(String),
}

/// An archive read: what to import, and what was left out and why.
#[derive(Debug, Default)]
pub struct Read {
    pub items: Vec<Item>,
    pub skipped: BTreeMap<String, usize>,
}

impl Read {
    pub fn skip(&mut self, why: &str) {
        *self.skipped.entry(why.to_string()).or_default() += 1;
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Summary {
    pub imported: usize,
    pub already: usize,
    pub skipped: BTreeMap<String, usize>,
    /// Items not reached before the time limit.
    pub left: usize,
}

impl Summary {
    pub fn print(&self, source: &str) {
        println!(
            "Imported {} posts from {source} ({} imported before)",
            self.imported, self.already
        );
        for (why, count) in &self.skipped {
            println!("  skipped {count}: {why}");
        }
        if self.left > 0 {
            println!(
                "Stopped at the time limit with {} left; run the same command again to go on.",
                self.left
            );
        }
    }
}

/// Items written per transaction: a kill loses at most these, and each
/// commit republishes once.
const CHUNK: usize = 1000;

/// Writes `read`'s items as posts, oldest first, skipping those imported
/// before; stops starting chunks `max_seconds` after `started` (the
/// command's start: reading the archive counts too).
pub fn import(
    node: &mut Node,
    source: &str,
    read: Read,
    (started, max_seconds): (Instant, Option<u64>),
) -> Result<Summary> {
    let mut items = read.items;
    items.sort_by(|a, b| (a.published, &a.key).cmp(&(b.published, &b.key)));
    let mut summary = Summary {
        skipped: read.skipped,
        ..Summary::default()
    };
    let show_progress = std::io::stderr().is_terminal();
    let total = items.len();
    let mut done = 0;
    for chunk in items.chunks(CHUNK) {
        if max_seconds.is_some_and(|s| started.elapsed() >= Duration::from_secs(s)) {
            summary.left = total - done;
            break;
        }
        let (imported, already, skipped) = node.write(|tx| write_chunk(tx, source, chunk))?;
        summary.imported += imported;
        summary.already += already;
        for why in skipped {
            *summary.skipped.entry(why.to_string()).or_default() += 1;
        }
        done += chunk.len();
        if show_progress {
            eprint!("\r\x1b[2K{done}/{total} posts from {source}");
            std::io::stderr().flush().ok();
        }
    }
    if show_progress {
        eprintln!();
    }
    Ok(summary)
}

/// One transaction's worth: (imported, imported before, reasons skipped).
fn write_chunk(
    tx: &rusqlite::Connection,
    source: &str,
    chunk: &[Item],
) -> Result<(usize, usize, Vec<&'static str>)> {
    let settings = crate::settings::Settings::load(tx)?;
    let (prefix, url) = (settings.id_prefix(), settings.raw("url"));
    let (mut imported, mut already, mut skipped) = (0, 0, Vec::new());
    for item in chunk {
        if store::imported::post_of(tx, source, &item.key)?.is_some() {
            already += 1;
            continue;
        }
        let text = match PostText::parse(&item.text) {
            Ok(text) => text,
            Err(crate::posts::Invalid::Empty) => {
                skipped.push("no text (photos and media are not imported yet)");
                continue;
            }
            Err(_) => {
                skipped.push("longer than a post may be");
                continue;
            }
        };
        let reply_to = match &item.reply {
            Reply::None => None,
            Reply::Own { key, url: original } => match store::imported::post_of(tx, source, key)? {
                Some(id) => Some(format!("{url}posts/{id}")),
                None => Some(original.clone()),
            },
            Reply::Url(other) => Some(other.clone()),
        };
        let reply_to = reply_to.and_then(|r| ReplyTo::parse(&r).ok());
        let syndication = item
            .syndication
            .as_deref()
            .filter(|u| crate::sanitize::is_web_url(u));
        let id = store::posts::insert_imported(
            tx,
            prefix,
            &store::posts::Imported {
                body: text.as_str(),
                reply_to: reply_to.as_ref().map(ReplyTo::as_str),
                published: item.published,
                updated: item.published,
                syndication,
                summary: item.summary.as_deref().filter(|s| !s.trim().is_empty()),
            },
        )?;
        store::imported::record(tx, source, &item.key, id.0)?;
        imported += 1;
    }
    Ok((imported, already, skipped))
}

/// The JSON of a file that may hide behind a JavaScript assignment
/// (`window.YTD.tweets.part0 = [...]`).
pub fn json_of<T: serde::de::DeserializeOwned>(name: &str, bytes: &[u8]) -> Result<T> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{name} is not UTF-8 text"))?;
    let text = text.trim_start_matches('\u{feff}');
    let json = match text.trim_start().starts_with("window.") {
        true => text.split_once('=').map_or(text, |(_, rest)| rest),
        false => text,
    };
    serde_json::from_str(json.trim().trim_end_matches(';'))
        .map_err(|e| anyhow::anyhow!("{name} is not valid JSON ({e}): the archive is damaged"))
}
