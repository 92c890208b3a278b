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

/// A category (tag) of a post: one line of text, without a leading `#`,
/// at most `MAX_CATEGORY_CHARS` characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category(String);

pub const MAX_CATEGORY_CHARS: usize = 100;
/// More categories than this on one post are refused.
pub const MAX_CATEGORIES: usize = 30;

impl Category {
    pub fn parse(raw: &str) -> Result<Category, String> {
        let name = raw.trim();
        let name = name.strip_prefix('#').unwrap_or(name).trim();
        if name.is_empty() {
            return Err("a category is empty".into());
        }
        if name.chars().any(char::is_control) {
            return Err(format!("the category {name:?} is not one line of text"));
        }
        if name.chars().count() > MAX_CATEGORY_CHARS {
            return Err(format!(
                "a category has more than {MAX_CATEGORY_CHARS} characters"
            ));
        }
        Ok(Category(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A post's categories: each once, in order, at most `MAX_CATEGORIES`.
pub fn category_list<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Vec<String>, String> {
    let mut list: Vec<String> = Vec::new();
    for name in names {
        let category = Category::parse(name)?;
        if !list.iter().any(|c| c == category.as_str()) {
            list.push(category.0);
        }
    }
    if list.len() > MAX_CATEGORIES {
        return Err(format!(
            "a post has at most {MAX_CATEGORIES} categories, not {}",
            list.len()
        ));
    }
    Ok(list)
}

/// What a post may carry besides its text (Micropub's `category` and
/// `published`, photos from the compose form or an app): nothing, for the
/// command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    /// From `category_list`.
    pub categories: Vec<String>,
    /// The time the post says it was published (unix seconds).
    pub published: Option<i64>,
    /// Photos uploaded before, in the order given.
    pub photos: Vec<Attachment>,
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
    create_with(node, text, reply_to, &Extras::default(), now)
}

/// A photo to put in a new post: an upload's kept name (`media`) and the
/// text that stands for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub alt: String,
}

pub use crate::store::media::MAX_ALT_CHARS;

/// `create` with categories, a given publication time and photos.
pub fn create_with(
    node: &mut Node,
    text: &PostText,
    reply_to: Option<&ReplyTo>,
    extras: &Extras,
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
        if !extras.categories.is_empty() {
            store::posts::set_categories(tx, id, &extras.categories)?;
        }
        if let Some(published) = extras.published {
            store::posts::set_published(tx, id, published)?;
        }
        for (position, photo) in extras.photos.iter().enumerate() {
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
    update(node, id, Some(text), None, now)
}

/// Changes a post's text, its categories (from `category_list`), or both,
/// in one write. False when there is no such post.
pub fn update(
    node: &mut Node,
    id: PostId,
    text: Option<&PostText>,
    categories: Option<&[String]>,
    now: i64,
) -> Result<bool> {
    node.write(|tx| {
        let Some(before) = store::posts::get(tx, id)? else {
            return Ok(false);
        };
        let body = text.map_or(before.body.as_str(), PostText::as_str);
        store::posts::update_body(tx, id, body, now)?;
        if let Some(categories) = categories {
            store::posts::set_categories(tx, id, categories)?;
        }
        follow_up(tx, id, Some(&before), now)?;
        Ok(true)
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

/// Brings a deleted post back at its address (Micropub's `undelete`); its
/// links are sent Webmentions again, as for a new post. False when nothing
/// of it was kept.
pub fn undelete(node: &mut Node, id: PostId, now: i64) -> Result<bool> {
    node.write(|tx| {
        let restored = store::posts::undelete(tx, id, now)?;
        if restored {
            follow_up(tx, id, None, now)?;
        }
        Ok(restored)
    })
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
