//! The HTML pages, with microformats2 markup (h-card, h-feed, h-entry) so
//! other sites can read them. Post bodies enter only through `posts::to_html`,
//! which escapes everything.

use super::layout::{Page, render};
use super::{Site, human_date, rfc3339};
use crate::posts;
use crate::store::posts::{Post, PostId};
use crate::web::auth::Session;
use maud::{Markup, PreEscaped, html};

/// Text the owner typed that must be shown again after a refusal, so nothing is lost.
#[derive(Debug, Default, Clone)]
pub struct Draft<'a> {
    pub text: &'a str,
    pub reply_to: &'a str,
    pub error: Option<String>,
}

/// GET /: the owner's profile, the compose box for the owner, posts newest first.
pub fn home(page: &Page, posts: &[Post], older: Option<PostId>, draft: Option<&Draft>) -> String {
    let site = page.site;
    let body = html! {
        div.h-card.profile {
            h1 { a.p-name.u-url.u-uid href=(site.absolute("")) { (site.name) } }
            @if !site.bio.is_empty() { p.p-note { (site.bio) } }
        }
        @if let Some(session) = page.session {
            (compose_form(site, session, draft.unwrap_or(&Draft::default())))
        }
        div.h-feed {
            span.p-name.visually-hidden { (site.name) }
            @for post in posts { (entry(site, post, page.session)) }
            @if posts.is_empty() {
                p.empty { "Nothing posted yet." }
            }
        }
        @if let Some(cursor) = older {
            p.pager { a rel="next" href=(format!("{}?before={}", site.link(""), cursor.0)) { "Older posts →" } }
        }
    };
    render(page, body)
}

/// GET /posts/ID: one post, and the replies seen to it.
pub fn post(page: &Page, post: &Post) -> String {
    let body = html! {
        (entry(page.site, post, page.session))
        section.replies {
            h2.visually-hidden { "Replies" }
            p.empty { "No replies seen yet." }
        }
    };
    render(page, body)
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
            textarea #text name="text" required maxlength=(posts::MAX_POST_CHARS) { (draft.text) }
            div.row {
                button type="submit" { "Save" }
                a href=(site.link(&format!("posts/{}", post.id.0))) { "Cancel" }
            }
        }
    };
    render(page, body)
}

/// GET /login (and the form again after a failed attempt).
pub fn login(page: &Page, csrf: &str, message: Option<&str>, has_password: bool) -> String {
    let site = page.site;
    let body = html! {
        h1 { "Log in" }
        @if let Some(message) = message { p.notice role="alert" { (message) } }
        @if has_password {
            form.compose method="post" action=(site.link("login")) {
                input type="hidden" name="csrf" value=(csrf);
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required autofocus;
                div.row { button type="submit" { "Log in" } }
            }
        } @else {
            p { "No password is set yet. On the server, run " code { "roost passwd" } " to set one." }
        }
    };
    render(page, body)
}

/// Any error page: the status in words and what to do, never internals.
pub fn error(page: &Page, status: u16, message: &str) -> String {
    let body = html! {
        h1 { (status) " " (crate::web::http::reason(status)) }
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
        form.compose method="post" action=(site.link("posts")) {
            @if let Some(error) = &draft.error { p.notice role="alert" { (error) } }
            input type="hidden" name="csrf" value=(session.csrf);
            label.visually-hidden for="text" { "What's new?" }
            textarea #text name="text" placeholder="What's new?" required maxlength=(posts::MAX_POST_CHARS) { (draft.text) }
            details open[!draft.reply_to.is_empty()] {
                summary { "Reply to a post elsewhere" }
                label.visually-hidden for="reply_to" { "Address of the post you reply to" }
                input #reply_to type="url" name="reply_to" placeholder="https://example.org/posts/1" value=(draft.reply_to);
            }
            div.row { button type="submit" { "Post" } }
        }
    }
}

fn entry(site: &Site, post: &Post, session: Option<&Session>) -> Markup {
    let permalink = site.link(&format!("posts/{}", post.id.0));
    html! {
        article.h-entry id=(format!("post-{}", post.id.0)) {
            @if let Some(reply_to) = &post.reply_to {
                div.reply-to { "↪ in reply to " a.u-in-reply-to href=(reply_to) rel="nofollow" { (reply_to) } }
            }
            div.e-content.p-name { (PreEscaped(posts::to_html(&post.body))) }
            div.meta {
                a.u-url.u-uid href=(permalink) {
                    time.dt-published datetime=(rfc3339(post.published)) { (human_date(post.published)) }
                }
                @if post.updated > post.published {
                    span { "edited " time.dt-updated datetime=(rfc3339(post.updated)) { (human_date(post.updated)) } }
                }
                a.p-author.h-card.visually-hidden href=(site.absolute("")) { (site.name) }
                @if let Some(session) = session {
                    a href=(format!("{permalink}/edit")) { "Edit" }
                    form method="post" action=(format!("{permalink}/delete")) {
                        input type="hidden" name="csrf" value=(session.csrf);
                        button.link type="submit" { "Delete" }
                    }
                }
            }
        }
    }
}
