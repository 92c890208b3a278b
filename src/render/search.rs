//! The search page (`GET /search`): the query box, the results with their
//! snippets (matched words in `<mark>`, every character escaped by maud),
//! and the pager.

use super::layout::{Page, render};
use super::rfc3339;
use crate::store::search::Kind;
use maud::html;

/// One result as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub kind: Kind,
    pub id: i64,
    /// A post's path on this site, or an entry's or mention's address elsewhere.
    pub link: Option<String>,
    pub title: String,
    /// Who wrote it (empty: the owner).
    pub author: String,
    pub at: i64,
    /// Text around the first matching word, as runs of (text, marked).
    pub snippet: Vec<(String, bool)>,
}

/// What the page shows besides the results.
pub struct Shown<'a> {
    pub query: &'a str,
    pub results: &'a [Found],
    /// The page shown, from 0.
    pub page_no: usize,
    pub more: bool,
    /// Operators the query used that are not understood.
    pub ignored: &'a [String],
    /// Rows older than the index are still being added by cron.
    pub catching_up: bool,
}

pub fn page(page: &Page, shown: &Shown) -> String {
    let site = page.site;
    let owner = page.session.is_some();
    let body = html! {
        h1 { "Search" }
        form.compose role="search" method="get" action=(site.link("search")) {
            label for="search-q" {
                @if owner { "Search everything: your posts, the feeds you follow, replies to you" }
                @else { "Search " (site.name) "'s posts" }
            }
            div.row {
                input #search-q type="text" name="q" value=(shown.query) autofocus;
                button type="submit" { "Search" }
            }
            p.meta { "Words, \"a phrase\", prefix*, from:name, before:2026-01-31, after:2025-12-31, is:mine, has:link, has:photo" }
        }
        @if !shown.ignored.is_empty() {
            p.notice { "Not understood, left out: " (shown.ignored.join(", ")) }
        }
        @if shown.catching_up {
            p.notice { "Older posts and entries are still being added to the index; results may be missing some for a few minutes." }
        }
        @if !shown.query.trim().is_empty() && shown.results.is_empty() {
            p.empty { "Nothing found." }
        }
        @for found in shown.results {
            article.h-entry.search-result {
                @if !found.title.is_empty() {
                    h2.p-name {
                        @match &found.link {
                            Some(link) if found.kind == Kind::Post => a href=(site.link(link)) { (found.title) },
                            Some(link) => a href=(link) rel="nofollow noopener noreferrer" { (found.title) },
                            None => (found.title),
                        }
                    }
                }
                p.e-content {
                    @for (text, marked) in &found.snippet {
                        @if *marked { mark { (text) } } @else { (text) }
                    }
                }
                div.meta {
                    span { (match found.kind { Kind::Post => "your post", Kind::Entry => "followed", Kind::Mention => "reply to you" }) }
                    @if !found.author.is_empty() { span.p-author { (found.author) } }
                    @let when = page.clock.shown(found.at);
                    @match &found.link {
                        Some(link) if found.kind == Kind::Post => a.u-url href=(site.link(link)) { time.dt-published datetime=(rfc3339(found.at)) { (when) } },
                        Some(link) => a href=(link) rel="nofollow noopener noreferrer" { time datetime=(rfc3339(found.at)) { (when) } },
                        None => time datetime=(rfc3339(found.at)) { (when) },
                    }
                }
            }
        }
        @if shown.page_no > 0 || shown.more {
            nav.pager aria-label="Result pages" {
                @if shown.page_no > 0 {
                    a href=(format!("{}?q={}&page={}", site.link("search"), encode(shown.query), shown.page_no - 1)) { "Previous results" }
                    " "
                }
                @if shown.more {
                    a rel="next" href=(format!("{}?q={}&page={}", site.link("search"), encode(shown.query), shown.page_no + 1)) { "More results" }
                }
            }
        }
    };
    render(page, body)
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
