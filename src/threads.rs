//! Threads: the remote post an own reply answers, fetched once by cron and
//! kept (`store::reply_contexts`), so the reply's page shows who it answers
//! and what they said. A post's creation (or a change of its reply-to)
//! queues one [`PARENT`] job in its own transaction; the job fetches the
//! page through the guard (`net::send::Sender::get_page`), reads its
//! h-entry with `webmention::mf2` (author name, photo and URL; an excerpt of
//! the content as plain text; published; else the page's title) and stores
//! it through `Node::write_entries`, so the pages showing it change their
//! validators. Parents on this site or among followed entries are never
//! fetched: the pages read those from the store (`site::reply_parents`),
//! which also merges a post's replies from every source (`site::thread`).

use crate::jobs::{Kind, Outcome};
use crate::net::send::{check_url, is_final};
use crate::node::Node;
use crate::settings::Settings;
use crate::store::jobs::Job;
use crate::store::posts::Post;
use crate::store::reply_contexts::{self, ReplyContext};
use crate::webmention::{mf2, verify};
use anyhow::Result;
use rusqlite::Connection;

/// Fetches one remote parent. Tried again with the job list's backoff on
/// a timeout, a 5xx or a 429; a page that cannot be read (4xx, refused by
/// the guard, not HTML) is recorded as failed, and the reply keeps showing
/// its bare address.
pub const PARENT: Kind = Kind {
    name: "threads.parent",
    run: fetch_parent,
    max_attempts: 5,
    per_host: None,
};

/// How much of a parent's text is kept (pages show less).
const MAX_EXCERPT_CHARS: usize = 280;

/// Queues the fetch of post `after`'s parent when it names a new one (it
/// had no reply-to `before`, or another), in the post's own transaction.
pub fn after_post_change(
    tx: &Connection,
    before: Option<&Post>,
    after: Option<&Post>,
    now: i64,
) -> Result<()> {
    let Some(reply_to) = after.and_then(|p| p.reply_to.as_deref()) else {
        return Ok(());
    };
    if before.and_then(|p| p.reply_to.as_deref()) == Some(reply_to) {
        return Ok(());
    }
    if to_fetch(tx, reply_to)? {
        crate::store::jobs::enqueue(tx, PARENT.name, reply_to, reply_to, now)?;
    }
    Ok(())
}

/// Whether `url` is a parent only a fetch can show: not on this site, not
/// a followed entry this node has, not fetched already, and an address the
/// guard may be asked for at all.
fn to_fetch(conn: &Connection, url: &str) -> Result<bool> {
    let site = Settings::load(conn)?.url();
    Ok(!url.starts_with(&site)
        && url.len() <= crate::posts::MAX_URL_CHARS
        && check_url(url).is_ok()
        && crate::store::entries::by_identity_or_link(conn, url)?.is_none()
        && reply_contexts::fetched(conn, url)?.is_none())
}

fn fetch_parent(node: &mut Node, job: &Job) -> Result<Outcome> {
    let url = job.payload.as_str();
    if !to_fetch(node.conn, url)? {
        return Ok(Outcome::Done);
    }
    let sender = Settings::load(node.conn)?.sender();
    let now = chrono::Utc::now().timestamp();
    let (reply, page_url) = match sender.get_page(url) {
        Ok(fetched) => fetched,
        Err(error) if is_final(&error) => return failed(node, url, &format!("{error:#}"), now),
        Err(error) => return Ok(Outcome::Retry(format!("{error:#}"))),
    };
    if reply.status == 429 || reply.status >= 500 {
        return Ok(Outcome::Retry(format!("{url} answered {}", reply.status)));
    }
    if reply.redirect().is_some() {
        let why = format!("redirects more than {} times", crate::net::MAX_REDIRECTS);
        return failed(node, url, &why, now);
    }
    if !reply.is_success() {
        return failed(node, url, &format!("answered {}", reply.status), now);
    }
    let content_type = reply.header("content-type").unwrap_or("");
    if !content_type.is_empty() && !content_type.to_ascii_lowercase().contains("html") {
        return failed(node, url, &format!("is {content_type}, not a page"), now);
    }
    let text = verify::decode(&reply.body, content_type);
    let Some(context) = mf2::parse(&text, &page_url).and_then(|p| read(&p, url, &page_url, now))
    else {
        return failed(node, url, "has no h-entry and no title", now);
    };
    node.write_entries(|tx| reply_contexts::save(tx, &context))?;
    Ok(Outcome::Done)
}

/// Records why `url` could not be read: nothing a page shows changes.
fn failed(node: &mut Node, url: &str, why: &str, now: i64) -> Result<Outcome> {
    node.write_unseen(|tx| reply_contexts::save_failed(tx, url, why, now))?;
    Ok(Outcome::Done)
}

/// What a parent's page says: its h-entry, else its title.
fn read(page: &mf2::Page, url: &str, page_url: &url::Url, now: i64) -> Option<ReplyContext> {
    let entry = page.entry.as_ref();
    let content = entry.and_then(|e| {
        let html = e.first("e-content").and_then(|v| v.html.as_deref());
        html.map(|h| crate::sanitize::plain_text(h, MAX_EXCERPT_CHARS))
            .filter(|t| !t.is_empty())
            .or_else(|| {
                e.text("p-name")
                    .or_else(|| e.text("p-summary"))
                    .map(|t| crate::sanitize::one_line(t, MAX_EXCERPT_CHARS))
            })
    });
    let excerpt = content.or_else(|| {
        page.title
            .as_deref()
            .map(|t| crate::sanitize::one_line(t, MAX_EXCERPT_CHARS))
            .filter(|t| !t.is_empty())
    })?;
    let author = verify::Author::of(entry, page_url);
    Some(ReplyContext {
        url: url.to_string(),
        author_name: author.name,
        author_url: author.url.unwrap_or_default(),
        author_photo: author.photo.unwrap_or_default(),
        excerpt,
        published: entry
            .and_then(|e| e.text("dt-published"))
            .and_then(verify::parse_date),
        fetched_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::migrations::in_memory as db;

    fn post(conn: &Connection, reply_to: Option<&str>) -> Post {
        let id =
            crate::store::posts::insert(conn, "tag:me.example,2026:", "hi", reply_to, 1).unwrap();
        crate::store::posts::get(conn, id).unwrap().unwrap()
    }

    fn queued(conn: &Connection) -> i64 {
        crate::store::jobs::queued(conn, i64::MAX).unwrap().0
    }

    #[test]
    fn a_parent_is_queued_only_when_the_reply_to_is_new_and_remote() {
        let conn = db();
        crate::store::settings::set(&conn, "url", "https://me.example/").unwrap();
        let remote = post(&conn, Some("https://them.example/1"));
        after_post_change(&conn, Some(&remote), Some(&remote), 1).unwrap();
        assert_eq!(queued(&conn), 0, "an edit that keeps the reply-to");
        let own = post(&conn, Some("https://me.example/posts/1"));
        after_post_change(&conn, None, Some(&own), 1).unwrap();
        assert_eq!(queued(&conn), 0, "a parent on this site");
        after_post_change(&conn, None, Some(&remote), 1).unwrap();
        assert_eq!(queued(&conn), 1, "a new post");
        let moved = post(&conn, Some("https://them.example/2"));
        after_post_change(&conn, Some(&remote), Some(&moved), 1).unwrap();
        assert_eq!(queued(&conn), 2, "a changed reply-to");
        let job = crate::store::jobs::next_due(&conn, i64::MAX)
            .unwrap()
            .unwrap();
        assert_eq!(job.kind, PARENT.name);
        reply_contexts::save(
            &conn,
            &ReplyContext {
                url: "https://them.example/3".into(),
                ..Default::default()
            },
        )
        .unwrap();
        let known = post(&conn, Some("https://them.example/3"));
        after_post_change(&conn, None, Some(&known), 1).unwrap();
        assert_eq!(queued(&conn), 2, "a parent fetched already");
    }

    fn read_html(html: &str) -> Option<ReplyContext> {
        let base = url::Url::parse("https://them.example/notes/1").unwrap();
        let page = mf2::parse(html, &base).unwrap();
        read(&page, base.as_str(), &base, 5)
    }

    #[test]
    fn a_parent_is_its_author_an_excerpt_of_its_content_and_its_date() {
        let c = read_html(
            r#"<title>Ignored</title><article class="h-entry">
              <a class="p-author h-card" href="/"><img src="/me.jpg" alt="">Ann
                 <script>x</script></a>
              <div class="e-content"><p>Hello <b>there</b></p><script>alert(1)</script></div>
              <time class="dt-published" datetime="2026-12-01T10:00:00Z">today</time>
            </article>"#,
        )
        .unwrap();
        assert_eq!(c.author_name, "Ann");
        assert_eq!(c.author_url, "https://them.example/");
        assert_eq!(c.author_photo, "https://them.example/me.jpg");
        assert_eq!(c.excerpt, "Hello there");
        assert_eq!(c.published, Some(1_796_119_200));
    }

    #[test]
    fn a_page_without_an_h_entry_is_its_title_by_its_host() {
        let c = read_html("<title>A  page\n title</title><p>text").unwrap();
        assert_eq!(
            (c.author_name.as_str(), c.excerpt.as_str()),
            ("them.example", "A page title")
        );
        assert_eq!(c.author_photo, "");
        assert!(read_html("<p>nothing to call it").is_none());
    }

    #[test]
    fn author_links_and_photos_are_web_urls_only() {
        let c = read_html(
            r#"<div class="h-entry"><div class="p-author h-card"><a class="u-url" href="javascript:alert(1)">Eve</a>
               <img class="u-photo" src="data:image/png;base64,AAAA" alt=""></div>
               <p class="p-name">hi</p></div>"#,
        )
        .unwrap();
        assert_eq!((c.author_url.as_str(), c.author_photo.as_str()), ("", ""));
        assert_eq!(c.excerpt, "hi");
    }
}
