//! The HTML pages, with microformats2 markup (h-card, h-feed, h-entry) so
//! other sites can read them. Post bodies enter only through `post_text::to_html`,
//! which escapes everything.

use super::layout::{Page, render};
use super::post_text;
use super::{Clock, Site, rfc3339};
use crate::sanitize::{RemoteImages, is_web_url};
use crate::store::entries::Entry;
use crate::store::follows::Follow;
use crate::store::mentions_sent::Sent;
use crate::store::posts::{Cursor, Post, PostId};
use crate::store::sessions::Session;
use maud::{Markup, PreEscaped, html};

/// Text the owner typed that must be shown again after a refusal, so nothing is lost.
#[derive(Debug, Default, Clone)]
pub struct Draft<'a> {
    pub text: &'a str,
    pub reply_to: &'a str,
    pub error: Option<String>,
    /// What `reply_to` is, when this node has it: shown above the text.
    pub parent: Option<&'a ReplyParent>,
}

/// Where a page's "Newer" link goes, when it has one (every page but the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Newer<C> {
    /// The first page: no cursor.
    First,
    /// The page of items before this cursor.
    Before(C),
}

/// The "Newer" and "Older" links under a page; `path` is the page's own.
fn pager(site: &Site, path: &str, newer: Option<Newer<String>>, older: Option<String>) -> Markup {
    let link = site.link(path);
    html! {
        @if newer.is_some() || older.is_some() {
            p.pager {
                @match newer {
                    Some(Newer::First) => { a rel="prev" href=(link) { "← Newer" } " " }
                    Some(Newer::Before(cursor)) => {
                        a rel="prev" href=(format!("{link}?before={cursor}")) { "← Newer" } " "
                    }
                    None => {}
                }
                @if let Some(cursor) = older {
                    a rel="next" href=(format!("{link}?before={cursor}")) { "Older →" }
                }
            }
        }
    }
}

/// The post or entry a reply answers, as the reply shows it: who, and what
/// they said, rather than a bare address.
#[derive(Debug, Clone, Default)]
pub struct ReplyParent {
    pub author: String,
    pub excerpt: String,
    /// Where it is: an own post's page, a followed entry's or a fetched
    /// page's http(s) address.
    pub href: Option<String>,
    /// The author's page and photo, http(s) only.
    pub author_url: Option<String>,
    pub photo: Option<String>,
    pub published: Option<i64>,
}

/// A post's conversation (`site::thread`): its replies from every source
/// merged oldest first, the likes, reposts and other mentions, and the
/// parents of the post and of its replies.
pub struct Thread {
    pub replies: Vec<Reply>,
    /// Approved mentions that are not replies: likes and reposts (a row of
    /// faces), bookmarks and mentions (a list).
    pub reactions: Vec<crate::store::mentions::Mention>,
    pub parents: Parents,
}

/// One reply in a thread, whatever brought it.
pub enum Reply {
    /// An own post or a followed feed's entry.
    Item(TimelineItem),
    /// An approved mention of kind `reply` (Webmention, or any protocol
    /// that records its replies as mentions).
    Mention(crate::store::mentions::Mention),
}

impl Reply {
    /// Oldest first: the date it gave (a mention without one: when it was
    /// verified, else received), then own, followed, mentioned, then id.
    pub fn sort_key(&self) -> (i64, u8, i64) {
        match self {
            Reply::Item(TimelineItem::Own(p)) => (p.published, 0, p.id.0),
            Reply::Item(TimelineItem::Followed(e)) => (e.sort_time, 1, e.id),
            Reply::Mention(m) => (
                m.published.or(m.verified_at).unwrap_or(m.received_at),
                2,
                m.id,
            ),
        }
    }
}

/// The parents this node has, by the address or id a reply names.
pub type Parents = std::collections::HashMap<String, ReplyParent>;

/// What the profile counts: own posts, everything followed (feeds and
/// accounts) and the fediverse followers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub posts: i64,
    pub following: i64,
    pub followers: i64,
}

/// GET /: the owner's profile (with its counts), the compose box for the
/// owner, posts newest first.
pub fn home(
    page: &Page,
    counts: Counts,
    posts: &[Post],
    newer: Option<Newer<PostId>>,
    older: Option<PostId>,
    draft: Option<&Draft>,
    parents: &Parents,
) -> String {
    let site = page.site;
    let body = html! {
        div.h-card.profile {
            h1 { a.p-name.u-url.u-uid href=(site.absolute("")) { (site.name) } }
            @if !site.bio.is_empty() { p.p-note { (site.bio) } }
            p.counts {
                span.posts { (counts.posts) " posts" }
                " · "
                a.following href=(site.link("following")) { (counts.following) " following" }
                " · "
                span.followers { (counts.followers) " followers" }
            }
        }
        @if let Some(session) = page.session {
            (compose_form(site, session, draft.unwrap_or(&Draft::default())))
        }
        div.h-feed {
            span.p-name.visually-hidden { (site.name) }
            @for post in posts { (entry(site, post, page.session, &page.clock, parents)) }
            @if posts.is_empty() {
                p.empty { "Nothing posted yet." }
            }
        }
        (pager(site, "", newer.map(|n| match n {
            Newer::First => Newer::First,
            Newer::Before(id) => Newer::Before(id.0.to_string()),
        }), older.map(|id| id.0.to_string())))
    };
    render(page, body)
}

/// GET /posts/ID: the conversation a post belongs to: the post it answers
/// (when this node has it, at the post's top), the post, then every reply seen to it, oldest
/// first, whatever brought it, and the likes and reposts as a row of faces;
/// remote images shown as `images` says. For the owner, the Webmentions it
/// sent (`sent`, empty for others).
pub fn post(
    page: &Page,
    post: &Post,
    thread: &Thread,
    images: RemoteImages,
    sent: &[Sent],
) -> String {
    let context = post.reply_to.as_deref().and_then(|reply_to| {
        let parent = thread.parents.get(reply_to)?;
        Some(parent_context(reply_to, parent, images, &page.clock))
    });
    let body = html! {
        (entry_with(page.site, post, page.session, &page.clock, &thread.parents, context))
        @if !sent.is_empty() { (mentions_sent(&page.clock, sent)) }
        section.replies {
            h2 { "Replies" }
            @if thread.replies.is_empty() && thread.reactions.is_empty() {
                p.empty { "No replies seen yet." }
            }
            (super::mentions::faces_row(&thread.reactions, images))
            @for reply in &thread.replies {
                @match reply {
                    Reply::Item(i) => (item(page, i, images, &thread.parents)),
                    Reply::Mention(m) => (super::mentions::reply(m, images, &page.clock)),
                }
            }
            (super::mentions::others(&thread.reactions))
        }
    };
    render(page, body)
}

/// The post a reply answers, at the top of the reply: the author (photo
/// when images show, name linked to their page), an excerpt, and the
/// reply's `u-in-reply-to` link to it. That link is the reply's first to
/// its parent, so a Webmention receiver that reads the first link (as
/// django-wm does) sees a reply; the card is no microformat of its own.
fn parent_context(
    reply_to: &str,
    parent: &ReplyParent,
    images: RemoteImages,
    clock: &Clock,
) -> Markup {
    let photo = parent
        .photo
        .as_deref()
        .filter(|p| images == RemoteImages::Show && is_web_url(p));
    let author_url = parent.author_url.as_deref().filter(|u| is_web_url(u));
    let href = parent
        .href
        .as_deref()
        .or(Some(reply_to).filter(|r| is_web_url(r)));
    html! {
        aside.parent aria-label="In reply to" {
            div.meta {
                @if let Some(photo) = photo {
                    img.photo src=(photo) alt="" width="32" height="32" referrerpolicy="no-referrer" loading="lazy" decoding="async";
                }
                @if let Some(url) = author_url {
                    a.author href=(url) rel="nofollow noopener noreferrer" { (parent.author) }
                } @else {
                    span.author { (parent.author) }
                }
            }
            p.excerpt { (parent.excerpt) }
            div.meta {
                "↪ in reply to "
                @if let Some(href) = href {
                    a.u-in-reply-to href=(href) rel="nofollow" {
                        @if let Some(published) = parent.published {
                            "this post of " (time(clock, None, published))
                        } @else {
                            "this post"
                        }
                    }
                } @else {
                    span.u-in-reply-to { (reply_to) }
                }
            }
        }
    }
}

/// One item of the merged timeline.
pub enum TimelineItem {
    Own(Post),
    Followed(Entry),
}

impl TimelineItem {
    pub fn cursor(&self) -> Cursor {
        match self {
            TimelineItem::Own(p) => Cursor {
                time: p.published,
                kind: 0,
                id: p.id.0,
            },
            TimelineItem::Followed(e) => Cursor {
                time: e.sort_time,
                kind: 1,
                id: e.id,
            },
        }
    }

    /// What it replies to: the address, and the parent's id when also given.
    pub fn reply(&self) -> Option<(&str, Option<&str>)> {
        match self {
            TimelineItem::Own(p) => Self::own_reply(p),
            TimelineItem::Followed(e) => e
                .in_reply_to
                .as_deref()
                .map(|r| (r, e.in_reply_to_ref.as_deref())),
        }
    }

    /// What an own post replies to.
    pub fn own_reply(post: &Post) -> Option<(&str, Option<&str>)> {
        post.reply_to.as_deref().map(|r| (r, None))
    }

    /// Sorting key matching the cursor order: newer first, own before followed, higher id first.
    pub fn cursor_key(&self) -> (i64, std::cmp::Reverse<u8>, i64) {
        self.cursor().sort_key()
    }
}

/// One own post or followed entry.
fn item(page: &Page, item: &TimelineItem, images: RemoteImages, parents: &Parents) -> Markup {
    match item {
        TimelineItem::Own(post) => entry(page.site, post, page.session, &page.clock, parents),
        TimelineItem::Followed(e) => followed_entry(
            page.site,
            e,
            page.session.is_some(),
            images,
            &page.clock,
            parents,
        ),
    }
}

/// GET /timeline: own and followed posts merged, newest first; the followed
/// entries' images shown as `images` says.
pub fn timeline(
    page: &Page,
    items: &[TimelineItem],
    newer: Option<Newer<String>>,
    older: Option<String>,
    images: RemoteImages,
    parents: &Parents,
) -> String {
    let site = page.site;
    let body = html! {
        h1 { "Timeline" }
        div.h-feed {
            @for i in items { (item(page, i, images, parents)) }
            @if items.is_empty() {
                p.empty { "Nothing here yet. Follow someone with " code { "roost follow URL" } "." }
            }
        }
        (pager(site, "timeline", newer, older))
    };
    render(page, body)
}

/// An entry from a followed feed. Its HTML went through the sanitizer when it
/// was stored; titles and names are text, escaped here like everything else.
fn followed_entry(
    site: &Site,
    e: &Entry,
    owner: bool,
    images: RemoteImages,
    clock: &Clock,
    parents: &Parents,
) -> Markup {
    let author = e.author.as_deref().unwrap_or(&e.source_name);
    // A boosted post's author is not the follow: the follow's home is no link for them.
    let home = e
        .source_home
        .as_deref()
        .filter(|h| is_web_url(h) && !e.boosted);
    html! {
        article.h-entry.followed {
            div.meta {
                span.p-author.h-card {
                    @if let Some(home) = home {
                        a.p-name.u-url href=(home) rel="noopener noreferrer" { (author) }
                    } @else {
                        span.p-name { (author) }
                    }
                }
                @if e.boosted {
                    span.source.boost { (e.source_name) " boosted" }
                } @else if e.author.is_some() && e.author.as_deref() != Some(e.source_name.as_str()) {
                    span.source { "via " (e.source_name) }
                }
            }
            @if let Some(reply_to) = &e.in_reply_to {
                (reply_line(reply_to, parents, "noopener noreferrer"))
            }
            @if let Some(title) = &e.title {
                h2.p-name { (title) }
            }
            @if let Some(content) = &e.content {
                div.e-content { (content.with_remote_images(images)) }
            }
            @for enclosure in &e.enclosures {
                (media(enclosure, images))
            }
            div.meta {
                @if let Some(link) = &e.link {
                    a.u-url href=(link) rel="noopener noreferrer" { (entry_date(e, clock)) }
                } @else {
                    (entry_date(e, clock))
                }
                @if owner {
                    @if let Some(link) = &e.link {
                        a href=(format!("{}?reply_to={}", site.link(""), url_component(link))) { "Reply" }
                    }
                }
            }
        }
    }
}

/// A followed entry's date, marked up as the date the feed gave: only a
/// date the feed gave is `dt-published` (or `dt-updated`); without one, when
/// roost first saw it is plain text, which microformats readers do not take
/// for the entry's date.
fn entry_date(e: &Entry, clock: &Clock) -> Markup {
    html! {
        @if let Some(published) = e.published {
            (time(clock, Some("dt-published"), published))
        } @else if let Some(updated) = e.updated {
            (time(clock, Some("dt-updated"), updated))
        } @else {
            span.seen { "seen " (time(clock, None, e.sort_time)) }
        }
    }
}

/// The owner's record of the Webmentions a post sent: each target, its
/// endpoint, what came of the last try, and when.
fn mentions_sent(clock: &Clock, sent: &[Sent]) -> Markup {
    html! {
        section.mentions-sent {
            h2 { "Webmentions sent" }
            ul {
                @for s in sent {
                    li {
                        (s.target) " "
                        span.meta {
                            @if let Some(endpoint) = &s.endpoint { "via " (endpoint) " · " }
                            (s.outcome)
                            @if let Some(status) = s.status { " (" (status) ")" }
                            @if let Some(location) = &s.location { " · " a href=(location) rel="nofollow" { "status" } }
                            " · " (time(clock, None, s.sent_at))
                        }
                    }
                }
            }
        }
    }
}

/// A time as every page shows it: `datetime` in UTC for machines (and
/// microformats' `dt-*` classes), the text for people in the owner's zone,
/// with the absolute time as its title when the text is relative.
fn time(clock: &Clock, class: Option<&str>, unix: i64) -> Markup {
    let shown = clock.shown(unix);
    let absolute = clock.absolute(unix);
    let title = (shown != absolute).then_some(absolute);
    html! {
        time class=[class] datetime=(rfc3339(unix)) title=[title] { (shown) }
    }
}

/// Images inline (unless `images` is `Click`: then only the link, fetched on
/// a click), audio and video with controls (fetched on play), anything else
/// as a link. Nothing sends a Referer to the media's host.
fn media(enclosure: &crate::store::entries::Enclosure, images: RemoteImages) -> Markup {
    let mime = enclosure.mime_type.as_deref().unwrap_or("");
    let size = enclosure
        .length
        .filter(|n| *n > 0)
        .map(|n| format!(" ({:.1} MB)", n as f64 / 1_000_000.0));
    html! {
        div.enclosure {
            @if mime.starts_with("image/") {
                @if images == RemoteImages::Show {
                    img src=(enclosure.url) alt=(enclosure.alt.as_deref().unwrap_or("")) referrerpolicy="no-referrer" loading="lazy" decoding="async";
                }
            } @else if mime.starts_with("audio/") {
                audio controls preload="none" src=(enclosure.url) {}
            } @else if mime.starts_with("video/") {
                video controls preload="none" src=(enclosure.url) {}
            }
            a href=(enclosure.url) rel="noopener noreferrer" {
                "Attachment" @if !mime.is_empty() { " (" (mime) ")" } @if let Some(size) = &size { (size) }
            }
        }
    }
}

fn url_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// GET /posts/ID/edit, and the same form again after a refused edit.
pub fn edit(page: &Page, post: &Post, session: &Session, draft: &Draft) -> String {
    let site = page.site;
    let action = site.link(&format!("posts/{}/edit", post.id.0));
    let body = html! {
        h1 { "Edit post" }
        @if let Some(error) = &draft.error { p.notice role="alert" { (error) } }
        form.compose method="post" action=(action) {
            input type="hidden" name="csrf" value=(session.csrf);
            label.visually-hidden for="text" { "Text" }
            textarea #text name="text" required maxlength=(crate::store::posts::MAX_POST_CHARS) { (draft.text) }
            div.row {
                button type="submit" { "Save" }
                a href=(site.link(&format!("posts/{}", post.id.0))) { "Cancel" }
            }
        }
    };
    render(page, body)
}

/// GET /posts/ID/delete: the post, and the owner's last word on it.
pub fn confirm_delete(page: &Page, post: &Post, session: &Session) -> String {
    let site = page.site;
    let permalink = site.link(&format!("posts/{}", post.id.0));
    let body = html! {
        h1 { "Delete this post?" }
        blockquote.e-content { (PreEscaped(post_text::to_html(&post.body))) }
        p { "Its address will answer that it was deleted. This cannot be undone." }
        form method="post" action=(format!("{permalink}/delete")) {
            input type="hidden" name="csrf" value=(session.csrf);
            div.row {
                button type="submit" { "Delete" }
                a href=(permalink) { "Cancel" }
            }
        }
    };
    render(page, body)
}

/// GET /login (and the form again after a failed attempt). `no_password`
/// is, on a node without a password, the command that prints a setup link;
/// `next`, the page the login goes on to (`web::pages::next_after_login`).
pub fn login(
    page: &Page,
    csrf: &str,
    message: Option<&str>,
    no_password: Option<&str>,
    next: Option<&str>,
) -> String {
    let site = page.site;
    let body = html! {
        h1 { "Log in" }
        @if let Some(message) = message { p.notice role="alert" { (message) } }
        @if let Some(command) = no_password {
            (no_password_yet(command))
        } @else {
            form.compose method="post" action=(site.link("login")) {
                input type="hidden" name="csrf" value=(csrf);
                @if let Some(next) = next { input type="hidden" name="next" value=(next); }
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required autofocus;
                div.row { button type="submit" { "Log in" } }
            }
        }
    };
    render(page, body)
}

/// What the owner of a node without a password does: get a setup link.
fn no_password_yet(command: &str) -> Markup {
    html! {
        p { "No password is set yet. On the server, run" }
        pre.command { code { (command) } }
        p { "It prints a link, valid once for 30 minutes, where you choose the password." }
    }
}

/// GET /setup?token=…: the owner chooses the password (typed twice).
pub fn setup(page: &Page, token: &str, message: Option<&str>) -> String {
    let site = page.site;
    let body = html! {
        h1 { "Choose your password" }
        @if let Some(message) = message { p.notice role="alert" { (message) } }
        form.compose method="post" action=(site.link("setup")) {
            input type="hidden" name="token" value=(token);
            label for="password" { "Password (at least 8 characters)" }
            input #password type="password" name="password" autocomplete="new-password" minlength="8" required autofocus;
            label for="again" { "The same password again" }
            input #again type="password" name="again" autocomplete="new-password" minlength="8" required;
            div.row { button type="submit" { "Set the password and log in" } }
        }
    };
    render(page, body)
}

/// A setup link that cannot be used: why, and what to do instead.
pub fn setup_refused(page: &Page, status: u16, message: &str, command: Option<&str>) -> String {
    let body = html! {
        h1 { (status) " " (super::status_reason(status)) }
        p { (message) }
        @if let Some(command) = command { (no_password_yet(command)) }
        p { a href=(page.site.link("login")) { "Log in" } }
    };
    render(page, body)
}

/// GET /subscribe: each feed's absolute address in a field to copy into a
/// feed reader, and a `feed:` link that hands it to the reader the device
/// knows. No script (the CSP allows none): the fields are selectable text.
pub fn subscribe(page: &Page) -> String {
    let site = page.site;
    let body = html! {
        h1 { "Subscribe" }
        p {
            "Follow " (site.name) " in a feed reader: copy one of these addresses into it, \
             or open it in the reader your device knows. Any of the three will do; Atom is the most widely read."
        }
        @for (id, name, file) in [("atom", "Atom feed", "feed.atom"), ("rss", "RSS feed", "feed.rss"), ("json", "JSON Feed", "feed.json")] {
            @let url = site.absolute(file);
            div.feed-address {
                label for=(format!("feed-{id}")) { (name) " address" }
                input id=(format!("feed-{id}")) type="url" readonly value=(url);
                div.row {
                    a id=(format!("open-{id}")) href=(format!("feed:{url}")) { "Open the " (name) " in your reader" }
                }
            }
        }
    };
    render(page, body)
}

/// Any error page: the status in words and what to do, never internals.
pub fn error(page: &Page, status: u16, message: &str) -> String {
    let body = html! {
        h1 { (status) " " (super::status_reason(status)) }
        p { (message) }
        p { a href=(page.site.link("")) { "Back to the front page" } }
    };
    render(page, body)
}

/// A refused post: the reason, and the compose form again with the text kept.
pub fn compose_refused(page: &Page, session: &Session, draft: &Draft) -> String {
    render(page, compose_form(page.site, session, draft))
}

fn compose_form(site: &Site, session: &Session, draft: &Draft) -> Markup {
    html! {
        form.compose method="post" action=(site.link("posts")) enctype="multipart/form-data" {
            @if let Some(error) = &draft.error { p.notice role="alert" { (error) } }
            input type="hidden" name="csrf" value=(session.csrf);
            @if let Some(parent) = draft.parent {
                (replying_to(parent))
            }
            label.visually-hidden for="text" { "What's new?" }
            textarea #text name="text" placeholder="What's new?" required maxlength=(crate::store::posts::MAX_POST_CHARS) { (draft.text) }
            details open[!draft.reply_to.is_empty()] {
                summary { "Reply to a post elsewhere" }
                label.visually-hidden for="reply_to" { "Address of the post you reply to" }
                input #reply_to type="url" name="reply_to" placeholder="https://example.org/posts/1" value=(draft.reply_to);
            }
            (photo_fields())
            div.row { button type="submit" { "Post" } }
        }
    }
}

/// Above the compose box's text: the post a reply will answer (its author,
/// an excerpt, a link to it), so the owner sees what they reply to.
fn replying_to(parent: &ReplyParent) -> Markup {
    html! {
        div.replying-to {
            "Replying to "
            @if let Some(href) = &parent.href {
                a href=(href) rel="noopener noreferrer" { (parent.author) }
            } @else {
                (parent.author)
            }
            ": "
            q.excerpt { (parent.excerpt) }
        }
    }
}

/// "↪ in reply to": the parent's author and an excerpt when this node has
/// the parent, else its address (a link only when http(s); a `tag:` id is text).
fn reply_line(reply_to: &str, parents: &Parents, rel: &str) -> Markup {
    html! {
        div.reply-to {
            "↪ in reply to "
            @if let Some(parent) = parents.get(reply_to) {
                @if let Some(href) = &parent.href {
                    a.u-in-reply-to href=(href) rel=(rel) { (parent.author) }
                } @else {
                    span.u-in-reply-to { (parent.author) }
                }
                ": "
                q.excerpt { (parent.excerpt) }
            } @else if is_web_url(reply_to) {
                a.u-in-reply-to href=(reply_to) rel=(rel) { (reply_to) }
            } @else {
                span.u-in-reply-to { (reply_to) }
            }
        }
    }
}

fn entry(
    site: &Site,
    post: &Post,
    session: Option<&Session>,
    clock: &Clock,
    parents: &Parents,
) -> Markup {
    entry_with(site, post, session, clock, parents, None)
}

/// An own post; `context`: its parent, shown at its top instead of the
/// "in reply to" line.
fn entry_with(
    site: &Site,
    post: &Post,
    session: Option<&Session>,
    clock: &Clock,
    parents: &Parents,
    context: Option<Markup>,
) -> Markup {
    let permalink = site.link(&format!("posts/{}", post.id.0));
    html! {
        article.h-entry id=(format!("post-{}", post.id.0)) {
            @if let Some(context) = context {
                (context)
            } @else if let Some(reply_to) = &post.reply_to {
                (reply_line(reply_to, parents, "nofollow"))
            }
            @if let Some(warning) = &post.summary {
                // A content warning as its author set it: the text waits
                // behind it, as it did where it was first published.
                details {
                    summary.p-summary { (warning) }
                    div.e-content { (PreEscaped(post_text::to_html(&post.body))) }
                }
            } @else {
                div.e-content.p-name { (PreEscaped(post_text::to_html(&post.body))) }
            }
            (photos(site, &post.photos))
            div.meta {
                a.u-url.u-uid href=(permalink) {
                    (time(clock, Some("dt-published"), post.published))
                }
                @if post.updated > post.published {
                    span { "edited " (time(clock, Some("dt-updated"), post.updated)) }
                }
                @if let Some(original) = post.syndication.as_deref().filter(|u| is_web_url(u)) {
                    a.u-syndication href=(original) rel="nofollow" { "first published here" }
                }
                @for category in &post.categories {
                    span { "#" span.p-category { (category) } }
                }
                a.p-author.h-card.visually-hidden href=(site.absolute("")) { (site.name) }
                @if session.is_some() {
                    a href=(format!("{permalink}/edit")) { "Edit" }
                    // Asks first, on a page of its own: no script needed.
                    a href=(format!("{permalink}/delete")) { "Delete" }
                }
            }
        }
    }
}

/// An own post's photos (`u-photo`): the thumbnail or the display size,
/// whichever the screen needs, each linking to the display size.
fn photos(site: &Site, photos: &[crate::store::media::Photo]) -> Markup {
    html! {
        @if !photos.is_empty() {
            div.photos {
                @for photo in photos {
                    @let display = site.link(&format!("media/{}", photo.name));
                    @let thumb = site.link(&format!("media/{}", photo.thumb));
                    a href=(display) {
                        img.u-photo src=(display) alt=(photo.alt) width=(photo.width) height=(photo.height)
                            srcset=(format!("{thumb} {}w, {display} {}w", photo.thumb_width, photo.width))
                            sizes="(max-width: 42rem) 100vw, 40rem" loading="lazy" decoding="async";
                    }
                }
            }
        }
    }
}

/// How many photos the compose form takes (a file and its alt text each).
pub const PHOTO_SLOTS: usize = 4;

/// The compose form's photo fields: plain file inputs, no script needed.
fn photo_fields() -> Markup {
    html! {
        details.photos {
            summary { "Add photos" }
            @for slot in 1..=PHOTO_SLOTS {
                fieldset {
                    legend { "Photo " (slot) }
                    label for=(format!("photo_{slot}")) { "Image (JPEG, PNG, GIF or WebP)" }
                    input id=(format!("photo_{slot}")) type="file" name=(format!("photo_{slot}")) accept="image/jpeg,image/png,image/gif,image/webp";
                    label for=(format!("alt_{slot}")) { "Description for people who cannot see it" }
                    input id=(format!("alt_{slot}")) type="text" name=(format!("alt_{slot}")) maxlength=(crate::store::media::MAX_ALT_CHARS);
                }
            }
        }
    }
}

/// The follow form's state after a refusal: the reason and what was typed.
pub struct FollowForm<'a> {
    pub error: Option<&'a str>,
    pub url: &'a str,
    pub name: &'a str,
}

/// GET /following: the feeds and the fediverse accounts followed
/// (`accounts`: each account's follow and whether its server accepted the
/// node's Follow), each with Unfollow for the owner.
pub fn following(
    page: &Page,
    follows: &[Follow],
    accounts: &[crate::store::activitypub::Following],
    form: &FollowForm,
    now: i64,
) -> String {
    let site = page.site;
    let body = html! {
        h1 { "Following" }
        @if let Some(session) = page.session {
            form.compose method="post" action=(site.link("follow")) {
                @if let Some(error) = form.error { p.notice role="alert" { (error) } }
                input type="hidden" name="csrf" value=(session.csrf);
                label for="follow-url" { "Address of a feed or a site" }
                input #follow-url type="url" name="url" required placeholder="https://example.org/" value=(form.url);
                label for="follow-name" { "Nickname (optional)" }
                input #follow-name type="text" name="name" maxlength="40" value=(form.name);
                div.row { button type="submit" { "Follow" } }
            }
        }
        @if follows.is_empty() {
            p.empty { "Not following anyone yet." }
        }
        ul.following {
            @for f in follows {
                li.h-card {
                    a.p-name.u-url href=(f.home_url.as_deref().filter(|h| is_web_url(h)).unwrap_or(&f.url)) rel="noopener noreferrer" { (f.display_name()) }
                    " "
                    @let account = accounts.iter().find(|a| a.follow_id == f.id.0);
                    @if account.is_some() {
                        a.account href=(f.url) rel="noopener noreferrer" { "fediverse account" }
                    } @else {
                        a.feed href=(f.url) rel="noopener noreferrer" { "feed" }
                    }
                    @if let Some(session) = page.session {
                        div.meta {
                            @match account {
                                Some(a) if a.accepted => span { "followed by ActivityPub · accepted" },
                                Some(_) => span { "followed by ActivityPub · waiting for its server to accept" },
                                None => span { (poll_state(f, now, &page.clock)) },
                            }
                            form method="post" action=(site.link("unfollow")) {
                                input type="hidden" name="csrf" value=(session.csrf);
                                input type="hidden" name="url" value=(f.url);
                                button.link type="submit" { "Unfollow" }
                            }
                        }
                        @if let Some(error) = &f.last_error {
                            @if f.last_status.as_deref() == Some(crate::store::follows::PARTLY_READ) {
                                div.meta { "Note: " (error) }
                            } @else {
                                div.meta.error { "Error: " (error) }
                            }
                        }
                    }
                }
            }
        }
        p { a href=(site.link("following.opml")) { "This list as OPML" } }
    };
    render(page, body)
}

fn poll_state(f: &Follow, now: i64, clock: &Clock) -> Markup {
    let status = f.last_status.as_deref().unwrap_or("new");
    html! {
        @if let Some(checked) = f.last_checked {
            "polled " (time(clock, None, checked))
        } @else {
            "never polled"
        }
        " · " (status) " · "
        @if f.gone {
            "no longer polled"
        } @else if f.next_check <= now {
            "due now"
        } @else {
            "next " (time(clock, None, f.next_check))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A followed entry as a visitor's timeline shows it, in UTC.
    fn followed(e: &Entry) -> String {
        followed_entry(
            &site(),
            e,
            false,
            RemoteImages::Show,
            &Clock::UTC,
            &Parents::new(),
        )
        .into_string()
    }
    use crate::store::follows::FollowId;

    fn entry_with(in_reply_to: &str, source_home: &str) -> Entry {
        Entry {
            id: 1,
            follow_id: FollowId(1),
            link: None,
            title: None,
            content: None,
            author: None,
            published: None,
            updated: None,
            sort_time: 0,
            in_reply_to: Some(in_reply_to.into()),
            in_reply_to_ref: None,
            boosted: false,
            enclosures: Vec::new(),
            source_name: "feed".into(),
            source_home: Some(source_home.into()),
        }
    }

    fn site() -> Site {
        Site {
            name: "n".into(),
            bio: String::new(),
            url: "https://me.example/".into(),
            base: String::new(),
        }
    }

    /// An undated remote entry was marked `dt-published` with the time roost
    /// first saw it, which microformats readers take for its real date.
    #[test]
    fn regression_first_seen_time_is_not_marked_as_published() {
        let mut e = entry_with("https://me.example/posts/1", "https://friend.example/");
        e.sort_time = 1_700_000_000;
        let undated = followed(&e);
        assert!(!undated.contains("dt-"), "{undated}");
        assert!(
            undated.contains("seen <time datetime=\"2023-11-14T22:13:20Z\">"),
            "{undated}"
        );
        e.updated = Some(1_600_000_000);
        let updated = followed(&e);
        assert!(
            updated.contains("class=\"dt-updated\" datetime=\"2020-09-13T12:26:40Z\""),
            "{updated}"
        );
        assert!(!updated.contains("dt-published"), "{updated}");
        e.published = Some(1_500_000_000);
        let published = followed(&e);
        assert!(
            published.contains("class=\"dt-published\" datetime=\"2017-07-14T02:40:00Z\""),
            "{published}"
        );
    }

    /// The following page's poll times were plain UTC text: they are
    /// `<time datetime>` in UTC, shown in the owner's zone (relative for the owner).
    #[test]
    fn poll_times_are_time_elements_in_the_owners_zone() {
        use crate::store::follows::Follow;
        let follow = Follow {
            id: FollowId(1),
            url: "https://friend.example/feed".into(),
            name: None,
            title: None,
            home_url: None,
            added: 0,
            etag: None,
            last_modified: None,
            next_check: 1_700_003_600,
            last_checked: Some(1_700_000_000),
            last_status: Some("200".into()),
            last_error: None,
            failures: 0,
            gone: false,
        };
        let clock = Clock {
            now: 1_700_000_000 + 120,
            zone: crate::settings::Zone::parse("+01:00").unwrap(),
            relative: true,
        };
        let html = poll_state(&follow, clock.now, &clock).into_string();
        assert!(
            html.contains("polled <time datetime=\"2023-11-14T22:13:20Z\" title=\"14 Nov 2023, 23:13 +01:00\">2 min ago</time>"),
            "{html}"
        );
        assert!(
            html.contains(
                "next <time datetime=\"2023-11-14T23:13:20Z\">15 Nov 2023, 00:13 +01:00</time>"
            ),
            "{html}"
        );
    }

    #[test]
    fn an_image_enclosure_carries_its_alt_text() {
        let image = crate::store::entries::Enclosure {
            url: "https://p.example/1.jpg".into(),
            mime_type: Some("image/*".into()),
            length: None,
            alt: Some("A \"red\" kite".into()),
        };
        let html = media(&image, RemoteImages::Show).into_string();
        assert!(
            html.contains("<img src=\"https://p.example/1.jpg\" alt=\"A &quot;red&quot; kite\""),
            "{html}"
        );
    }

    /// Found by tests/xss.rs with the CSP off: a feed's `thr:in-reply-to`
    /// and its home page became links whatever their scheme.
    #[test]
    fn regression_javascript_in_reply_to_and_feed_home_are_not_links() {
        for bad in [
            "javascript:alert(1)",
            " \u{1}JaVa\tScript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
        ] {
            let html = followed(&entry_with(bad, bad));
            assert!(!html.contains("href=\""), "{bad:?}: {html}");
            assert!(html.contains("in reply to"), "shown as text: {html}");
        }
        let ok = "https://friend.example/p/1";
        let html = followed(&entry_with(ok, ok));
        assert_eq!(html.matches(&format!("href=\"{ok}\"")).count(), 2, "{html}");
        // A post's id (a tag: URI) is text, as before.
        let html = followed(&entry_with("tag:me.example,2026:1", ok));
        assert!(
            html.contains("<span class=\"u-in-reply-to\">tag:me.example,2026:1</span>"),
            "{html}"
        );
    }
}
