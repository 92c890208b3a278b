//! The public pages drawn from the store, for the GET handlers and for
//! everything else that needs them as a visitor gets them (publishing the
//! static files, WebSub's distribution): the first page of `/` and the
//! three feeds, and the reply parents pages show. Below `web/`: it knows
//! no request, session or response.

use crate::posts;
use crate::render::{
    self, Site,
    html::{Draft, Newer, Parents, ReplyParent, TimelineItem},
    layout::Page,
};
use crate::settings::Settings;
use crate::store::{self, posts::PostId};
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
    Ok(render::html::home(
        page_frame, &page, newer, older, draft, &parents,
    ))
}

/// The parents this node has of the replies given as (address, id): an own
/// post (by its permalink or feed id) or, with `entries`, a followed entry
/// (by its id or link).
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
            let parent = match own {
                Some(p) => Some(ReplyParent {
                    author: site.name.clone(),
                    excerpt: crate::render::post_text::excerpt(&p.body, EXCERPT_CHARS),
                    href: Some(site.link(&format!("posts/{}", p.id.0))),
                }),
                None if entries => {
                    store::entries::by_identity_or_link(conn, target)?.map(|e| {
                        let text = e.title.clone().unwrap_or_else(|| {
                            // Images count by their alt text.
                            e.content.as_ref().map_or_else(String::new, |c| {
                                crate::poll::parse::html_to_text(c.as_str())
                            })
                        });
                        ReplyParent {
                            author: e.author.clone().unwrap_or_else(|| e.source_name.clone()),
                            excerpt: crate::render::post_text::excerpt(&text, EXCERPT_CHARS),
                            href: e.link.filter(|l| crate::sanitize::is_web_url(l)),
                        }
                    })
                }
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
