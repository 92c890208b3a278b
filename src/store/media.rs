//! The `media` table: the photos uploads became (files in `DATA/media/`,
//! `media::files`). A row without a post is an upload not used yet (the
//! Micropub media endpoint's); a post's rows are its photos, in order.

use anyhow::{Context, Result};
use rusqlite::{Connection, params};
use serde::Deserialize;

use super::posts::PostId;

/// The longest alt text kept (the forms say so with `maxlength`).
pub const MAX_ALT_CHARS: usize = 1000;

/// One photo as pages and feeds show it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Photo {
    /// The display file's name.
    pub name: String,
    pub mime: String,
    pub width: u32,
    pub height: u32,
    /// The display file's length.
    pub bytes: u64,
    pub thumb: String,
    pub thumb_width: u32,
    pub thumb_height: u32,
    /// Text for those who cannot see it; may be empty.
    pub alt: String,
}

/// The photos from `store::posts`' JSON column.
pub fn photos_from_json(json: Option<String>) -> Vec<Photo> {
    json.and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default()
}

/// Keeps an upload not yet in a post.
pub fn insert_upload(conn: &Connection, photo: &Photo, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO media (post_id, position, name, mime, width, height, bytes, thumb,
                            thumb_width, thumb_height, alt, created)
         VALUES (NULL, 0, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            photo.name,
            photo.mime,
            photo.width,
            photo.height,
            photo.bytes as i64,
            photo.thumb,
            photo.thumb_width,
            photo.thumb_height,
            photo.alt,
            now
        ],
    )
    .context("keeping the upload")?;
    Ok(())
}

/// Makes the kept file `name` the `position`th photo of `post`, with `alt`:
/// the upload itself when one is unused, else a copy of a row that has it.
/// False when no upload has that name.
pub fn attach(
    conn: &Connection,
    post: PostId,
    name: &str,
    alt: &str,
    position: i64,
) -> Result<bool> {
    let taken = conn
        .execute(
            "UPDATE media SET post_id = ?1, position = ?2, alt = ?3
             WHERE id = (SELECT id FROM media WHERE name = ?4 AND post_id IS NULL LIMIT 1)",
            params![post.0, position, alt, name],
        )
        .context("attaching the photo")?;
    if taken == 1 {
        return Ok(true);
    }
    let copied = conn
        .execute(
            "INSERT INTO media (post_id, position, name, mime, width, height, bytes, thumb,
                                thumb_width, thumb_height, alt, created)
             SELECT ?1, ?2, name, mime, width, height, bytes, thumb, thumb_width, thumb_height,
                    ?3, created FROM media WHERE name = ?4 LIMIT 1",
            params![post.0, position, alt, name],
        )
        .context("attaching the photo")?;
    Ok(copied == 1)
}

/// Whether a file by that name was uploaded.
pub fn exists(conn: &Connection, name: &str) -> Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM media WHERE name = ?1)",
        [name],
        |r| r.get(0),
    )
    .context("looking for the upload")
}

/// Forgets `post`'s photos; returns the file names no row uses any more
/// (for `media::files::remove`, after the commit).
pub fn detach_post(conn: &Connection, post: PostId) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare_cached("SELECT name, thumb FROM media WHERE post_id = ?1")
        .context("reading the post's photos")?;
    let names: Vec<(String, String)> = stmt
        .query_map([post.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|rows| rows.collect())
        .context("reading the post's photos")?;
    conn.execute("DELETE FROM media WHERE post_id = ?1", [post.0])
        .context("forgetting the post's photos")?;
    let mut unused = Vec::new();
    for name in names.into_iter().flat_map(|(n, t)| [n, t]) {
        let used: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM media WHERE name = ?1 OR thumb = ?1)",
                [&name],
                |r| r.get(0),
            )
            .context("checking whether a photo is still used")?;
        if !used && !unused.contains(&name) {
            unused.push(name);
        }
    }
    Ok(unused)
}
