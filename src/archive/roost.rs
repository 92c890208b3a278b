//! roost's own export (`roost export [FILE]`) and its import onto a fresh
//! node (`roost import roost FILE`), which reproduces the node: the same
//! post numbers and feed ids, texts, dates, edits, replies, tombstones,
//! original addresses, content warnings, settings and follows, so every
//! published page and feed is the same and a second export is the same
//! bytes.
//!
//! The format (version 2; documented in the README) is one JSON document:
//! `jq` reads it, a person can too, and a node's own words (short posts)
//! stay small; it has no time of export in it, so the same node exports
//! the same bytes. Not exported: the password hash, the node's secret and
//! keys, sessions, received entries and mentions (others' words, fetched
//! again by polling), and `publish_dir` (a path on the old host).

use crate::node::Node;
use crate::store::{self, posts::Post, posts::PostId, posts::Tombstone};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

pub const FORMAT: &str = "roost-export";
pub const VERSION: i64 = 2;

/// Settings never exported or imported.
const NOT_CARRIED: &[&str] = &["password_hash", crate::publish::SETTING];

/// The node's export document.
pub fn export(conn: &rusqlite::Connection) -> Result<Value> {
    let settings: serde_json::Map<String, Value> = store::settings::all(conn)?
        .into_iter()
        .filter(|(k, _)| !NOT_CARRIED.contains(&k.as_str()))
        .map(|(k, v)| (k, v.into()))
        .collect();
    let posts: Vec<Value> = store::posts::all(conn)?
        .into_iter()
        .map(|p| {
            let mut post = json!({
                "id": p.id.0,
                "uid": p.uid,
                "text": p.body,
                "reply_to": p.reply_to,
                "published": crate::render::rfc3339(p.published),
                "updated": crate::render::rfc3339(p.updated),
            });
            if let Some(original) = p.syndication {
                post["syndication"] = original.into();
            }
            if let Some(warning) = p.summary {
                post["summary"] = warning.into();
            }
            if !p.categories.is_empty() {
                post["categories"] = p.categories.into();
            }
            post
        })
        .collect();
    let deleted: Vec<Value> = store::posts::all_deleted(conn)?
        .into_iter()
        .map(|(id, t)| json!({ "id": id, "uid": t.uid, "deleted": crate::render::rfc3339(t.deleted) }))
        .collect();
    let (last_number, _) = store::posts::numbers(conn)?;
    let imported: Vec<Value> = store::imported::all(conn)?
        .into_iter()
        .map(|(source, item, post)| json!({ "source": source, "item": item, "post": post }))
        .collect();
    let follows: Vec<Value> = store::follows::all(conn)?
        .into_iter()
        .map(|f| json!({ "url": f.url, "name": f.name, "title": f.title, "added": f.added }))
        .collect();
    Ok(json!({
        "format": FORMAT,
        "version": VERSION,
        "settings": settings,
        "posts": posts,
        "deleted": deleted,
        "last_number": last_number,
        "imported": imported,
        "follows": follows,
    }))
}

/// The export as written: pretty JSON and a final line break.
pub fn to_bytes(document: &Value) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(document).context("writing the export")?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// What `import` did.
pub enum Restored {
    Posts(usize),
    /// The node already holds exactly these posts.
    AlreadyThere,
}

/// Puts an export back onto this node, which must have no posts yet (or
/// already be this very export: then nothing changes). Everything is
/// checked before the one transaction that writes it all.
pub fn import(node: &mut Node, bytes: &[u8]) -> Result<Restored> {
    let document: Value = serde_json::from_slice(bytes)
        .map_err(|e| anyhow::anyhow!("it is not valid JSON ({e}): nothing was imported"))?;
    if document["format"] != FORMAT {
        bail!("it is not a roost export (no \"format\": \"{FORMAT}\"): nothing was imported");
    }
    let version = document["version"].as_i64().unwrap_or(0);
    if !(1..=VERSION).contains(&version) {
        bail!(
            "it is a version {version} export; this roost reads versions 1 to {VERSION}: install a newer roost"
        );
    }
    let posts = read_posts(&document)?;
    let deleted = read_deleted(&document)?;
    let last = document["last_number"]
        .as_i64()
        .unwrap_or(0)
        .max(posts.iter().map(|p| p.id.0).max().unwrap_or(0))
        .max(deleted.iter().map(|d| d.0).max().unwrap_or(0));
    let here = export(node.conn)?;
    let same = here["posts"] == document["posts"] && here["deleted"] == document["deleted"];
    if same && (!posts.is_empty() || !deleted.is_empty()) {
        return Ok(Restored::AlreadyThere);
    }
    let (last_here, _) = store::posts::numbers(node.conn)?;
    if last_here > 0 {
        bail!(
            "this node already has posts (numbers up to {last_here}): import a roost export only onto a fresh node (`roost init` in a new data directory)"
        );
    }
    let settings: Vec<(String, String)> = document["settings"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !NOT_CARRIED.contains(&k.as_str()))
                .filter(|(k, _)| crate::settings::declared(k).is_some())
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let follows = document["follows"].as_array().cloned().unwrap_or_default();
    let imported = document["imported"].as_array().cloned().unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    node.write(|tx| {
        for (key, value) in &settings {
            store::settings::set(tx, key, value)?;
        }
        for post in &posts {
            store::posts::restore(tx, post)?;
        }
        store::posts::restore_numbers(tx, &deleted, last)?;
        for record in &imported {
            if let (Some(source), Some(item), Some(post)) = (
                record["source"].as_str(),
                record["item"].as_str(),
                record["post"].as_i64(),
            ) {
                store::imported::record(tx, source, item, post)?;
            }
        }
        for follow in &follows {
            let Some(url) = follow["url"].as_str() else {
                continue;
            };
            if store::follows::find(tx, url)?.is_some() {
                continue;
            }
            store::follows::insert(
                tx,
                &store::follows::NewFollow {
                    url,
                    name: follow["name"].as_str(),
                    title: follow["title"].as_str(),
                    home_url: None,
                    etag: None,
                    last_modified: None,
                    next_check: now,
                    note: None,
                },
                follow["added"].as_i64().unwrap_or(now),
            )?;
        }
        Ok(())
    })?;
    Ok(Restored::Posts(posts.len()))
}

fn time(value: &Value, what: &str) -> Result<i64> {
    let text = value.as_str().unwrap_or("");
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp())
        .map_err(|_| anyhow::anyhow!("{what} has no valid date ({text:?}): nothing was imported"))
}

fn read_posts(document: &Value) -> Result<Vec<Post>> {
    let mut posts = Vec::new();
    for value in document["posts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let Some(id) = value["id"].as_i64().filter(|&id| id > 0) else {
            bail!("a post has no number: nothing was imported");
        };
        let what = format!("post {id}");
        let text = value["text"].as_str().unwrap_or("");
        crate::posts::PostText::parse(text)
            .map_err(|e| anyhow::anyhow!("{what}: {e}: nothing was imported"))?;
        let string = |key: &str| value[key].as_str().map(str::to_string);
        posts.push(Post {
            id: PostId(id),
            uid: string("uid")
                .ok_or_else(|| anyhow::anyhow!("{what} has no uid: nothing was imported"))?,
            body: text.to_string(),
            reply_to: string("reply_to"),
            published: time(&value["published"], &what)?,
            updated: time(&value["updated"], &what)?,
            syndication: string("syndication"),
            summary: string("summary"),
            categories: value["categories"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .filter_map(|c| c.as_str())
                .filter(|c| !c.is_empty() && !c.contains('\n'))
                .map(str::to_string)
                .collect(),
            photos: Vec::new(),
        });
    }
    Ok(posts)
}

fn read_deleted(document: &Value) -> Result<Vec<(i64, Tombstone)>> {
    let mut deleted = Vec::new();
    for value in document["deleted"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let (Some(id), Some(uid)) = (value["id"].as_i64(), value["uid"].as_str()) else {
            bail!("a deleted post has no number or uid: nothing was imported");
        };
        let deleted_at = time(&value["deleted"], &format!("deleted post {id}"))?;
        deleted.push((
            id,
            Tombstone {
                uid: uid.to_string(),
                deleted: deleted_at,
            },
        ));
    }
    Ok(deleted)
}
