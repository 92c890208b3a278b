//! Webmentions on the pages: under a post, likes and reposts as a row of
//! faces, each reply with the author's photo and name (merged into the
//! post's thread by `html::post`), other mentions as links; and the
//! owner's `/notifications` (the moderation queue with its buttons). Content enters only as `SafeHtml` (sanitized
//! when verified); names are text; photos and links only http(s).

use super::layout::{Page, render};
use super::{Clock, rfc3339};
use crate::sanitize::{RemoteImages, SafeHtml, is_web_url};
use crate::store::mentions::Mention;
use crate::store::sessions::Session;
use maud::{Markup, html};

fn web(url: &str) -> Option<&str> {
    (!url.is_empty() && is_web_url(url)).then_some(url)
}

/// The author's photo (when images show) or name, linked to their page.
fn face(m: &Mention, images: RemoteImages) -> Markup {
    let photo = web(&m.author_photo).filter(|_| images == RemoteImages::Show);
    let inner = html! {
        @if let Some(photo) = photo {
            img.u-photo src=(photo) alt=(m.author_name) width="32" height="32" referrerpolicy="no-referrer" loading="lazy" decoding="async";
        } @else {
            span.p-name { (m.author_name) }
        }
    };
    html! {
        @if let Some(url) = web(&m.author_url) {
            a.p-author.h-card.u-url href=(url) rel="nofollow noopener noreferrer" title=(m.author_name) { (inner) }
        } @else {
            span.p-author.h-card title=(m.author_name) { (inner) }
        }
    }
}

fn of_kind<'a>(mentions: &'a [Mention], kind: &str) -> Vec<&'a Mention> {
    mentions.iter().filter(|m| m.kind == kind).collect()
}

/// A post's likes and reposts, each a row of faces.
pub fn faces_row(mentions: &[Mention], images: RemoteImages) -> Markup {
    let (likes, reposts) = (of_kind(mentions, "like"), of_kind(mentions, "repost"));
    html! {
        @if !likes.is_empty() || !reposts.is_empty() {
            section.mentions {
                @for (label, class, list) in [("Likes", "u-like", &likes), ("Reposts", "u-repost", &reposts)] {
                    @if !list.is_empty() {
                        div.faces {
                            h3 { (list.len()) " " (label.to_lowercase()) }
                            @for m in list.iter() {
                                span class=(format!("{class} h-cite")) { (face(m, images)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One approved reply mention, in a post's thread.
pub fn reply(m: &Mention, images: RemoteImages, clock: &Clock) -> Markup {
    html! {
        article.h-cite.u-comment.mention {
            div.meta {
                (face(m, images))
                @if web(&m.author_photo).is_some() && images == RemoteImages::Show {
                    span.name { (m.author_name) }
                }
            }
            div.e-content.p-content { (SafeHtml::from_stored_sanitized(m.content.clone()).with_remote_images(images)) }
            div.meta {
                @if let Some(source) = web(&m.source) {
                    a.u-url href=(source) rel="nofollow noopener noreferrer" {
                        @let when = m.published.or(m.verified_at).unwrap_or(m.received_at);
                        time.dt-published datetime=(rfc3339(when)) { (clock.shown(when)) }
                    }
                }
            }
        }
    }
}

/// A post's other mentions (bookmarks, links to it), as a list.
pub fn others(mentions: &[Mention]) -> Markup {
    let others: Vec<&Mention> = mentions
        .iter()
        .filter(|m| m.kind == "mention" || m.kind == "bookmark")
        .collect();
    html! {
        @if !others.is_empty() {
            ul.mentioned {
                @for m in &others {
                    li.h-cite.u-mention {
                        (m.author_name)
                        @if m.kind == "bookmark" { " bookmarked this: " } @else { " mentioned this: " }
                        @if let Some(source) = web(&m.source) {
                            a.u-url href=(source) rel="nofollow noopener noreferrer" { (source) }
                        }
                    }
                }
            }
        }
    }
}

/// GET /notifications: verified mentions, those waiting first, each with
/// what the owner can do about its author.
pub fn notifications(
    page: &Page,
    session: &Session,
    mentions: &[Mention],
    images: RemoteImages,
) -> String {
    let site = page.site;
    let body = html! {
        h1 { "Notifications" }
        @if mentions.is_empty() {
            p.empty { "No webmentions yet." }
        }
        @for m in mentions {
            article.notification {
                div.meta {
                    strong { (m.author_name) }
                    span { (describe(m)) }
                    span.state { (m.state) }
                    @if m.unread { span.new { "new" } }
                }
                @if !m.content.is_empty() && m.kind != "like" && m.kind != "repost" {
                    div.e-content { (SafeHtml::from_stored_sanitized(m.content.clone()).with_remote_images(images)) }
                }
                div.meta {
                    @if let Some(source) = web(&m.source) {
                        a href=(source) rel="nofollow noopener noreferrer" { "source" }
                    }
                    @if let Some(post) = m.post_id {
                        a href=(site.link(&format!("posts/{post}"))) { "your post" }
                    }
                    @let when = m.verified_at.unwrap_or(m.received_at);
                    time datetime=(rfc3339(when)) { (page.clock.shown(when)) }
                }
                form.moderate method="post" action=(site.link("notifications")) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    input type="hidden" name="mention" value=(m.id);
                    div.row {
                        @if m.state != "approved" {
                            button type="submit" name="action" value="approve-author" { "Approve this author" }
                            button type="submit" name="action" value="approve-domain" { "Approve everyone at " (domain(m)) }
                        }
                        @if m.state != "blocked" {
                            button type="submit" name="action" value="block-author" { "Block this author" }
                            button type="submit" name="action" value="block-domain" { "Block everyone at " (domain(m)) }
                        }
                    }
                }
            }
        }
    };
    render(page, body)
}

/// The source's host, which the domain buttons approve or block.
fn domain(m: &Mention) -> String {
    url::Url::parse(&m.source)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default()
}

fn describe(m: &Mention) -> &'static str {
    match m.kind.as_str() {
        "reply" => "replied",
        "like" => "liked your post",
        "repost" => "reposted your post",
        "bookmark" => "bookmarked your post",
        "follow" if m.protocol == "websub" => "subscribed to your feed",
        "follow" => "followed you",
        _ => "mentioned you",
    }
}
