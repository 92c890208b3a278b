//! The public pages drawn from the store, for the GET handlers and for
//! everything else that needs them as a visitor gets them (publishing the
//! static files, WebSub's distribution): the first page of `/` and the
//! three feeds, the reply parents pages show, and a post's thread. Below
//! `web/`: it knows no request, session or response.

use crate::posts;
use crate::render::{
    self, Site,
    html::{Draft, Newer, Parents, Reply, ReplyParent, Thread, TimelineItem},
    layout::Page,
};
use crate::settings::Settings;
use crate::store::mentions::Mention;
use crate::store::{
    self,
    posts::{Post, PostId},
};
use anyhow::{Context, Result, bail};
use rusqlite::Connection;

/// Posts per page on `/`.
pub const PAGE_SIZE: usize = 20;

#[derive(Debug, Clone, Copy)]
pub enum FeedFormat {
    Atom,
    Json,
    Rss,
}

impl FeedFormat {
    /// The format of the feed at `path` (`/feed.atom`...), if it is one.
    pub fn of_path(path: &str) -> Option<FeedFormat> {
        match path.trim_start_matches('/') {
            "feed.atom" => Some(FeedFormat::Atom),
            "feed.json" => Some(FeedFormat::Json),
            "feed.rss" => Some(FeedFormat::Rss),
            _ => None,
        }
    }
}

/// What a visitor without a session gets for `GET path` (`/` or a feed)
/// at the configured site URL: its content type and body. Publishing and
/// WebSub's distribution use it; the GET handlers reach the same functions.
pub fn for_visitor(conn: &Connection, path: &str) -> Result<(&'static str, Vec<u8>)> {
    let settings = Settings::load(conn)?;
    let url = settings.url();
    let parsed = url::Url::parse(&url)
        .with_context(|| format!("the site URL {url:?} is not an absolute URL"))?;
    let site = Site {
        name: settings.name().to_string(),
        bio: settings.bio().to_string(),
        url: url.clone(),
        base: parsed.path().trim_end_matches('/').to_string(),
    };
    if let Some(format) = FeedFormat::of_path(path) {
        let (content_type, body) = feed(conn, &settings, &site, format)?;
        return Ok((content_type, body.into_bytes()));
    }
    if path != "/" {
        bail!("{path} is not a page published as a visitor's");
    }
    let page = Page {
        site: &site,
        title: "",
        session: None,
        unread: 0,
        cron_never_ran: false,
        clock: render::Clock {
            now: chrono::Utc::now().timestamp(),
            zone: settings.time_zone(),
            relative: false,
        },
    };
    let body = home(conn, &page, None, Some(&Draft::default()))?;
    Ok(("text/html; charset=utf-8", body.into_bytes()))
}

/// A feed as everyone gets it: its content type and body. Its date is its
/// newest entry's (the site's last change when it has none).
pub fn feed(
    conn: &Connection,
    settings: &Settings,
    site: &Site,
    format: FeedFormat,
) -> Result<(&'static str, String)> {
    let fallback = store::site_state(conn)?.changed_at;
    let recent = store::posts::page(conn, None, render::feeds::FEED_LENGTH)?;
    // The feed's own date is its newest entry's, not the site's last write:
    // a change no feed shows (a setting) must leave the bytes, and so a
    // published file's ETag, as they were.
    let updated = recent.iter().map(|p| p.updated).max().unwrap_or(fallback);
    let feed_id = settings
        .feed_id()
        .map_or_else(|| site.absolute(""), str::to_owned);
    let hubs = crate::websub::hubs(settings);
    let head = render::feeds::FeedHead {
        site,
        feed_id: &feed_id,
        language: settings.language(),
        updated,
        hubs: &hubs,
    };
    let (content_type, body) = match format {
        FeedFormat::Atom => {
            // Readers that kept a deleted post learn to drop it (RFC 6721).
            let deleted = store::posts::recently_deleted(conn, render::feeds::FEED_LENGTH)?;
            let head = render::feeds::FeedHead {
                updated: deleted.iter().map(|t| t.deleted).fold(updated, i64::max),
                ..head
            };
            (
                "application/atom+xml; charset=utf-8",
                render::feeds::atom(&head, &recent, &deleted),
            )
        }
        FeedFormat::Json => (
            "application/feed+json; charset=utf-8",
            render::feeds::json(&head, &recent),
        ),
        FeedFormat::Rss => (
            "application/rss+xml; charset=utf-8",
            render::feeds::rss(&head, &recent),
        ),
    };
    Ok((content_type, body))
}

/// A page of `/` (`before`: older than that post): the owner's view when
/// `page` has a session (the compose box, with `draft`), a visitor's else.
pub fn home(
    conn: &Connection,
    page_frame: &Page,
    before: Option<PostId>,
    draft: Option<&Draft>,
) -> Result<String> {
    let mut page = store::posts::page(conn, before, PAGE_SIZE + 1)?;
    let older = (page.len() > PAGE_SIZE).then(|| {
        page.truncate(PAGE_SIZE);
        page[PAGE_SIZE - 1].id
    });
    let newer = match (before, page.first()) {
        (None, _) => None,
        (Some(_), None) => Some(Newer::First),
        (Some(_), Some(top)) => newer_page(store::posts::ids_after(conn, top.id, PAGE_SIZE + 1)?),
    };
    // Own posts only: this page's validators do not follow the entries.
    let parents = reply_parents(
        conn,
        page_frame.site,
        page.iter().map(TimelineItem::own_reply),
        false,
    )?;
    // The owner replying (from the timeline's Reply link) sees what to:
    // the owner's validators carry the entries' version.
    let replying_to = match draft {
        Some(d) if page_frame.session.is_some() => parent_of(conn, page_frame.site, d.reply_to)?,
        _ => None,
    };
    let draft = draft.map(|d| Draft {
        parent: replying_to.as_ref(),
        ..d.clone()
    });
    let (following, followers) = store::activitypub::audience(conn)?;
    let counts = render::html::Counts {
        posts: store::posts::count(conn)?,
        following,
        followers,
    };
    Ok(render::html::home(
        page_frame,
        counts,
        &page,
        newer,
        older,
        draft.as_ref(),
        &parents,
    ))
}

/// The parents this node has of the replies given as (address, id): an own
/// post (by its permalink or feed id) or, with `entries` (for pages whose
/// validators follow `write_entries`), a followed entry (by its id or
/// link), else the remote page cron fetched (`threads`).
pub fn reply_parents<'a>(
    conn: &Connection,
    site: &Site,
    replies: impl Iterator<Item = Option<(&'a str, Option<&'a str>)>>,
    entries: bool,
) -> Result<Parents> {
    let own_prefix = site.absolute("posts/");
    let mut parents = Parents::new();
    for (reply_to, reference) in replies.flatten() {
        if parents.contains_key(reply_to) {
            continue;
        }
        for target in std::iter::once(reply_to).chain(reference) {
            let own = match target.strip_prefix(&own_prefix).and_then(posts::parse_id) {
                Some(id) => store::posts::get(conn, id)?,
                None => store::posts::by_uid(conn, target)?,
            };
            let web = |u: Option<String>| u.filter(|u| crate::sanitize::is_web_url(u));
            let parent = match own {
                Some(p) => Some(ReplyParent {
                    author: site.name.clone(),
                    excerpt: crate::render::post_text::excerpt(&p.body, EXCERPT_CHARS),
                    href: Some(site.link(&format!("posts/{}", p.id.0))),
                    author_url: Some(site.absolute("")),
                    photo: None,
                    published: Some(p.published),
                }),
                None if entries => match store::entries::by_identity_or_link(conn, target)? {
                    Some(e) => {
                        let text = e.title.clone().unwrap_or_else(|| {
                            // Images count by their alt text.
                            e.content.as_ref().map_or_else(String::new, |c| {
                                crate::poll::parse::html_to_text(c.as_str())
                            })
                        });
                        Some(ReplyParent {
                            author: e.author.clone().unwrap_or_else(|| e.source_name.clone()),
                            excerpt: crate::render::post_text::excerpt(&text, EXCERPT_CHARS),
                            href: web(e.link),
                            author_url: web(e.source_home),
                            photo: None,
                            published: e.published,
                        })
                    }
                    None => store::reply_contexts::fetched(conn, target)?.map(|c| ReplyParent {
                        author: c.author_name,
                        excerpt: crate::render::post_text::excerpt(&c.excerpt, EXCERPT_CHARS),
                        href: web(Some(c.url)),
                        author_url: web(Some(c.author_url)),
                        photo: web(Some(c.author_photo)),
                        published: c.published,
                    }),
                },
                None => None,
            };
            if let Some(parent) = parent {
                parents.insert(reply_to.to_string(), parent);
                break;
            }
        }
    }
    Ok(parents)
}

/// What the owner's compose box replies to (`reply_to`, as typed), when
/// this node has it: for the owner's pages only, whose validators carry
/// the entries' version.
pub fn parent_of(conn: &Connection, site: &Site, reply_to: &str) -> Result<Option<ReplyParent>> {
    if reply_to.is_empty() {
        return Ok(None);
    }
    let wanted = std::iter::once(Some((reply_to, None)));
    Ok(reply_parents(conn, site, wanted, true)?.remove(reply_to))
}

/// The conversation `post` belongs to, as its page shows it: its replies
/// from every source merged oldest first (own posts and followed entries
/// that reply to its permalink or its feed id, and approved mentions of
/// kind `reply`, whatever protocol recorded them), its other approved
/// mentions, and the parents of the post and its replies. Everything here
/// changes through `Node::write` or `write_entries`, so the page's
/// validators follow it.
pub fn thread(conn: &Connection, site: &Site, post: &Post) -> Result<Thread> {
    let permalink = site.absolute(&format!("posts/{}", post.id.0));
    let targets = [permalink.as_str(), post.uid.as_str()];
    let own = store::posts::replies_to(conn, targets)?;
    let followed = store::entries::replies_to(conn, &targets)?;
    // A reply shown from a followed feed is not shown again as a mention
    // from the same address.
    let (mentioned, reactions): (Vec<Mention>, Vec<Mention>) =
        store::mentions::approved_for_post(conn, post.id.0)?
            .into_iter()
            .filter(|m| {
                !followed.iter().any(|e| {
                    e.link
                        .as_deref()
                        .is_some_and(|l| crate::webmention::receive::same_url(l, &m.source))
                })
            })
            .partition(|m| m.kind == "reply");
    let mut replies: Vec<Reply> = own
        .into_iter()
        .map(|p| Reply::Item(TimelineItem::Own(p)))
        .chain(
            followed
                .into_iter()
                .map(|e| Reply::Item(TimelineItem::Followed(e))),
        )
        .chain(mentioned.into_iter().map(Reply::Mention))
        .collect();
    replies.sort_by_key(Reply::sort_key);
    let parents = reply_parents(
        conn,
        site,
        std::iter::once(TimelineItem::own_reply(post)).chain(replies.iter().map(|r| match r {
            Reply::Item(item) => item.reply(),
            Reply::Mention(_) => None,
        })),
        true,
    )?;
    Ok(Thread {
        replies,
        reactions,
        parents,
    })
}

/// How much of a parent a reply shows.
pub const EXCERPT_CHARS: usize = 80;

/// The "Newer" link of a page, from the (up to `PAGE_SIZE + 1`) items just
/// above its top, oldest first: none when there are none; the first page
/// when they fit on it; else the page before the one just above them all.
pub fn newer_page<C: Copy>(above: Vec<C>) -> Option<Newer<C>> {
    match above.len() {
        0 => None,
        n if n <= PAGE_SIZE => Some(Newer::First),
        _ => Some(Newer::Before(above[PAGE_SIZE])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::mentions::{self, Verified, state};
    use crate::store::migrations::in_memory as db;

    fn site() -> Site {
        Site {
            name: "Me".into(),
            bio: String::new(),
            url: "https://me.example/".into(),
            base: String::new(),
        }
    }

    /// A mention of `post` from `source`, as any protocol records one.
    fn mention(conn: &Connection, post: i64, source: &str, kind: &str, published: i64) {
        let target = format!("https://me.example/posts/{post}");
        let id = mentions::receive(conn, source, &target, Some(post), 1).unwrap();
        let verified = Verified {
            kind,
            author_name: "Someone",
            published: Some(published),
            state: state::APPROVED,
            ..Default::default()
        };
        mentions::save_verified(conn, id, &verified, 2).unwrap();
    }

    /// Replies recorded as mentions by another protocol (ActivityPub's
    /// objects, say) join the thread with no change here: by kind and time.
    #[test]
    fn a_thread_merges_own_followed_and_mentioned_replies_oldest_first() {
        let conn = db();
        let site = site();
        let id = store::posts::insert(&conn, "tag:me.example,2026:", "Root", None, 100).unwrap();
        let root = store::posts::get(&conn, id).unwrap().unwrap();
        let permalink = "https://me.example/posts/1";
        store::posts::insert(&conn, "tag:me.example,2026:", "Own", Some(permalink), 400).unwrap();
        let follow = store::follows::NewFollow {
            url: "https://friend.example/feed",
            name: None,
            title: Some("Friend"),
            home_url: None,
            etag: None,
            last_modified: None,
            next_check: 0,
            note: None,
        };
        let follow = store::follows::insert(&conn, &follow, 1).unwrap();
        let entry = store::entries::NewEntry {
            identity: "urn:1",
            link: Some("https://friend.example/1"),
            title: None,
            content: None,
            author: None,
            published: Some(200),
            updated: None,
            in_reply_to: Some("tag:me.example,2026:1"),
            in_reply_to_ref: None,
            boosted: false,
            enclosures: &[],
        };
        store::entries::upsert(&conn, follow, &entry, 1_000).unwrap();
        mention(
            &conn,
            1,
            "https://ap.example/users/a/statuses/9",
            "reply",
            300,
        );
        mention(&conn, 1, "https://web.example/r", "reply", 50);
        mention(&conn, 1, "https://web.example/like", "like", 60);
        // The same reply seen in the feed and by Webmention shows once.
        mention(&conn, 1, "https://friend.example/1", "reply", 200);

        let thread = thread(&conn, &site, &root).unwrap();
        let order: Vec<String> = thread
            .replies
            .iter()
            .map(|r| match r {
                Reply::Item(TimelineItem::Own(p)) => p.body.clone(),
                Reply::Item(TimelineItem::Followed(e)) => e.link.clone().unwrap(),
                Reply::Mention(m) => m.source.clone(),
            })
            .collect();
        assert_eq!(
            order,
            [
                "https://web.example/r",
                "https://friend.example/1",
                "https://ap.example/users/a/statuses/9",
                "Own",
            ]
        );
        let reactions: Vec<&str> = thread.reactions.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(reactions, ["like"]);
    }
}
