//! An upload taken in: processed (`media::process`), its files kept and
//! published (`files`), its row kept as an upload no post uses yet
//! (`store::media`). The media endpoint, a Micropub multipart create and
//! the compose form all come through here.

use super::{Refusal, files, process};
use crate::node::Node;
use crate::settings::Settings;
use crate::store::{self, media::Photo};
use anyhow::Result;

/// Keeps an upload; the outer error is the site's (storage), the inner one
/// the file's (nothing was kept).
pub fn upload(node: &mut Node, bytes: &[u8], now: i64) -> Result<Result<Photo, Refusal>> {
    let settings = Settings::load(node.conn)?;
    let processed = match process(bytes, settings.media_max_bytes()) {
        Ok(processed) => processed,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let names = files::keep(
        node.home,
        settings.publish_dir().as_deref(),
        &[&processed.display, &processed.thumb],
    )?;
    let photo = Photo {
        name: names[0].clone(),
        mime: processed.display.mime.to_string(),
        width: processed.display.width,
        height: processed.display.height,
        bytes: processed.display.bytes.len() as u64,
        thumb: names[1].clone(),
        thumb_width: processed.thumb.width,
        thumb_height: processed.thumb.height,
        alt: String::new(),
    };
    node.write_unseen(|tx| store::media::insert_upload(tx, &photo, now))?;
    Ok(Ok(photo))
}

/// The kept name an address of this site's photos names, if it is one
/// (`{url}media/NAME`, as the media endpoint answers) and was uploaded.
pub fn name_in_url(
    conn: &rusqlite::Connection,
    site_url: &str,
    url: &str,
) -> Result<Option<String>> {
    let Some(name) = url
        .strip_prefix(site_url)
        .and_then(|rest| rest.strip_prefix(files::FOLDER))
        .and_then(|rest| rest.strip_prefix('/'))
    else {
        return Ok(None);
    };
    if !files::valid_name(name) || !store::media::exists(conn, name)? {
        return Ok(None);
    }
    Ok(Some(name.to_string()))
}

/// Removes the files a deleted post left unused.
pub fn remove_unused(node: &mut Node, names: &[String]) -> Result<()> {
    let settings = Settings::load(node.conn)?;
    files::remove(node.home, settings.publish_dir().as_deref(), names)
}
