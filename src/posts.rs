//! The rules for the owner's posts: what a valid post is, and the actions
//! shared by the command line and the web forms. How a post's text becomes
//! HTML is `render::post_text`.

use crate::node::Node;
use crate::store::{self, posts::PostId};
use anyhow::Result;
use std::fmt;

pub use crate::store::posts::MAX_POST_CHARS;
pub const MAX_URL_CHARS: usize = 2048;

/// Why a post was refused, in words for the person who wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    Empty,
    TooLong(usize),
    BadReplyTo(String),
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Invalid::Empty => write!(f, "the post is empty: write something first"),
            Invalid::TooLong(n) => write!(
                f,
                "the post has {n} characters; the limit is {MAX_POST_CHARS}: shorten it"
            ),
            Invalid::BadReplyTo(why) => write!(f, "the reply-to address {why}"),
        }
    }
}

impl std::error::Error for Invalid {}

/// Text that is a valid post body: trimmed, normalised line ends, no control
/// characters, within the length limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostText(String);

impl PostText {
    pub fn parse(raw: &str) -> Result<PostText, Invalid> {
        let text: String = raw
            .replace("\r\n", "\n")
            .chars()
            .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
            .collect();
        let text = text.trim();
        if text.is_empty() {
            return Err(Invalid::Empty);
        }
        let count = text.chars().count();
        if count > MAX_POST_CHARS {
            return Err(Invalid::TooLong(count));
        }
        Ok(PostText(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An absolute http(s) URL that a post replies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo(String);

impl ReplyTo {
    pub fn parse(raw: &str) -> Result<ReplyTo, Invalid> {
        let url = raw.trim();
        let bad = |why: &str| Err(Invalid::BadReplyTo(format!("{why}: {url:?}")));
        if url.chars().count() > MAX_URL_CHARS {
            return bad("is too long");
        }
        let Some(rest) = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
        else {
            return bad("must start with http:// or https://");
        };
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("is not a valid web address");
        }
        Ok(ReplyTo(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A post id as typed in a URL or on the command line.
pub fn parse_id(raw: &str) -> Option<PostId> {
    match raw.parse::<i64>() {
        Ok(n) if n > 0 && raw.bytes().all(|b| b.is_ascii_digit()) => Some(PostId(n)),
        _ => None,
    }
}

pub fn create(
    node: &mut Node,
    text: &PostText,
    reply_to: Option<&ReplyTo>,
    now: i64,
) -> Result<PostId> {
    create_with_photos(node, text, reply_to, &[], now)
}

/// A photo to put in a new post: an upload's kept name (`media`) and the
/// text that stands for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub alt: String,
}

pub use crate::store::media::MAX_ALT_CHARS;

/// `create`, with photos uploaded before (in the order given).
pub fn create_with_photos(
    node: &mut Node,
    text: &PostText,
    reply_to: Option<&ReplyTo>,
    photos: &[Attachment],
    now: i64,
) -> Result<PostId> {
    node.write(|tx| {
        let settings = crate::settings::Settings::load(tx)?;
        let prefix = settings.id_prefix();
        let id = store::posts::insert(
            tx,
            prefix,
            text.as_str(),
            reply_to.map(ReplyTo::as_str),
            now,
        )?;
        for (position, photo) in photos.iter().enumerate() {
            let alt: String = photo.alt.trim().chars().take(MAX_ALT_CHARS).collect();
            if !store::media::attach(tx, id, &photo.name, &alt, position as i64)? {
                anyhow::bail!("no upload is kept as {}", photo.name);
            }
        }
        follow_up(tx, id, None, now)?;
        Ok(id)
    })
}

/// Changes a post's text; each address it links to, before or after, is
/// sent a Webmention (spec 3.1.4).
pub fn edit(node: &mut Node, id: PostId, text: &PostText, now: i64) -> Result<bool> {
    node.write(|tx| {
        let before = store::posts::get(tx, id)?;
        let changed = store::posts::update_body(tx, id, text.as_str(), now)?;
        if changed {
            follow_up(tx, id, before.as_ref(), now)?;
        }
        Ok(changed)
    })
}

/// Deletes a post; its address answers 410 Gone from then on, and every
/// address it mentioned is told so by Webmention (spec 3.1.5).
/// Its photos' files go too, once no other post or upload uses them.
pub fn delete(node: &mut Node, id: PostId, now: i64) -> Result<bool> {
    let (deleted, unused) = node.write(|tx| {
        let before = store::posts::get(tx, id)?;
        let unused = store::media::detach_post(tx, id)?;
        let deleted = store::posts::delete(tx, id, now)?;
        if deleted {
            follow_up(tx, id, before.as_ref(), now)?;
        }
        Ok((deleted, unused))
    })?;
    // After the commit: a failed delete keeps the files its post shows.
    crate::media::upload::remove_unused(node, &unused)?;
    Ok(deleted)
}

/// Queues what post `id` owes after a change from `before`: its
/// Webmentions, its ActivityPub deliveries, and the fetch of a new remote
/// parent (`threads`).
fn follow_up(
    tx: &rusqlite::Connection,
    id: PostId,
    before: Option<&store::posts::Post>,
    now: i64,
) -> Result<()> {
    let after = store::posts::get(tx, id)?;
    crate::webmention::send::after_post_change(tx, id, before, after.as_ref(), now)?;
    crate::activitypub::deliver::after_post_change(tx, id, before, after.as_ref(), now)?;
    crate::threads::after_post_change(tx, before, after.as_ref(), now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_text_is_trimmed_normalised_and_bounded() {
        assert_eq!(
            PostText::parse("  hi\r\nthere \u{7}").unwrap().as_str(),
            "hi\nthere"
        );
        assert_eq!(PostText::parse(" \n\t ").unwrap_err(), Invalid::Empty);
        let long = "x".repeat(MAX_POST_CHARS + 1);
        assert_eq!(
            PostText::parse(&long).unwrap_err(),
            Invalid::TooLong(MAX_POST_CHARS + 1)
        );
        assert!(PostText::parse(&"é".repeat(MAX_POST_CHARS)).is_ok());
    }

    #[test]
    fn reply_to_must_be_an_http_url() {
        assert!(ReplyTo::parse("https://example.org/p/1").is_ok());
        assert!(ReplyTo::parse("javascript:alert(1)").is_err());
        assert!(ReplyTo::parse("https:///nohost").is_err());
        assert!(ReplyTo::parse("https://a b").is_err());
    }

    #[test]
    fn ids_are_positive_decimal_only() {
        assert_eq!(parse_id("12"), Some(PostId(12)));
        for bad in ["0", "-1", "+1", "1e3", "", "99999999999999999999", "１"] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }
}
