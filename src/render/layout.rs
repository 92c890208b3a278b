//! The page frame every HTML page shares: head, feed links, header, footer,
//! the stylesheet and the Content-Security-Policy that admits exactly it.

use super::Site;
use crate::store::sessions::Session;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use std::sync::OnceLock;

const STYLE: &str = r#"
:root { color-scheme: light dark; --fg: #1d1d1f; --bg: #fbfaf7; --muted: #6b6b70; --line: #e3e0d8; --accent: #b3471d; --on-accent: #fff; }
@media (prefers-color-scheme: dark) { :root { --fg: #ecebe8; --bg: #1b1b1d; --muted: #a09fa6; --line: #333236; --accent: #f08a5d; --on-accent: #1b1b1d; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 17px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; }
main, header.site, footer.site { max-width: 40rem; margin: 0 auto; padding: 0 1rem; }
header.site { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: .5rem; padding-top: 1rem; padding-bottom: .5rem; border-bottom: 1px solid var(--line); }
header.site a.home { font-weight: 700; font-size: 1.15rem; color: var(--fg); text-decoration: none; }
nav { display: flex; flex-wrap: wrap; gap: .3rem .9rem; align-items: baseline; font-size: .95rem; }
a { color: var(--accent); }
.h-card.profile { padding: 1.2rem 0 .4rem; }
.h-card.profile h1 { margin: 0; font-size: 1.6rem; }
.h-card.profile .p-note { margin: .3rem 0 0; color: var(--muted); white-space: pre-line; }
article.h-entry { padding: .9rem 0; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
article.h-entry .e-content p { margin: 0 0 .5rem; }
.meta { font-size: .85rem; color: var(--muted); display: flex; flex-wrap: wrap; gap: .7rem; align-items: baseline; }
.meta a { color: var(--muted); }
.meta form { display: inline; }
.reply-to { font-size: .85rem; color: var(--muted); margin-bottom: .3rem; }
form.compose { padding: 1rem 0; border-bottom: 1px solid var(--line); }
textarea, input[type=password], input[type=url], input[type=text] { width: 100%; font: inherit; padding: .5rem; border: 1px solid var(--line); border-radius: 6px; background: transparent; color: inherit; }
textarea { min-height: 6rem; resize: vertical; }
button { font: inherit; padding: .35rem .9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: var(--on-accent); cursor: pointer; }
button.link { background: none; border: none; color: var(--muted); padding: 0; text-decoration: underline; font-size: inherit; }
.row { display: flex; gap: .6rem; align-items: center; margin-top: .5rem; flex-wrap: wrap; }
.notice { padding: .7rem 1rem; border-left: 4px solid var(--accent); background: color-mix(in srgb, var(--accent) 10%, transparent); margin: 1rem 0; }
.pager { padding: 1rem 0; }
form.search input { width: 8rem; font: inherit; padding: .15rem .4rem; border: 1px solid var(--line); border-radius: 6px; background: transparent; color: inherit; }
.empty { color: var(--muted); padding: 1rem 0; }
footer.site { padding: 1.5rem 1rem 2rem; font-size: .85rem; color: var(--muted); }
article.followed h2.p-name { font-size: 1.05rem; margin: .2rem 0 .4rem; }
.e-content :is(img, svg, video), .enclosure img, .enclosure video, .photos img { max-width: 100%; height: auto; }
.photos img { display: block; margin: .5rem 0; border-radius: 6px; }
details.photos fieldset { border: 1px solid var(--line); border-radius: 6px; margin: .5rem 0; }
.e-content pre { overflow-x: auto; }
.e-content table { display: block; max-width: 100%; overflow-x: auto; }
.e-content :is(td, th) pre { white-space: pre-wrap; }
pre.command { overflow-x: auto; }
.enclosure { margin: .4rem 0; font-size: .9rem; }
.enclosure audio, .enclosure video { display: block; width: 100%; margin-bottom: .3rem; }
.replies h2 { font-size: 1.1rem; margin: 1.5rem 0 .3rem; }
ul.following { list-style: none; padding: 0; }
ul.following li { padding: .6rem 0; border-bottom: 1px solid var(--line); }
ul.following a.feed { font-size: .85rem; }
.meta.error { color: var(--accent); }
form.compose label { display: block; margin-top: .5rem; font-size: .9rem; }
.feed-address { margin: 1rem 0 1.4rem; }
.feed-address label { display: block; font-weight: 600; margin-bottom: .3rem; }
.mentions .faces { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; margin: .6rem 0; }
.mentions .faces h3 { font-size: .9rem; font-weight: 600; margin: 0 .3rem 0 0; color: var(--muted); }
.replies img.u-photo, aside.parent img.photo { border-radius: 50%; vertical-align: middle; }
aside.parent { padding: .2rem .9rem; margin-bottom: .7rem; border-left: 3px solid var(--line); }
aside.parent .author { font-weight: 600; color: inherit; }
aside.parent p.excerpt { margin: .3rem 0; }
.replying-to { font-size: .9rem; color: var(--muted); margin-bottom: .5rem; overflow-wrap: anywhere; }
article.mention { padding: .7rem 0; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
article.notification { padding: .8rem 0; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
"#;

/// The stylesheet's digest, computed by the compiler: hashing it again in
/// every CGI process was over half of a kept page's instructions.
const STYLE_SHA256: [u8; 32] = super::const_sha256::sha256(STYLE.as_bytes());

/// The Content-Security-Policy for every response: nothing may run, and the
/// only style is ours, admitted by its hash.
pub fn content_security_policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        let hash = base64(&STYLE_SHA256);
        format!(
            "default-src 'none'; style-src 'sha256-{hash}'; img-src 'self' https: http: data:; media-src https: http:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
    })
}

pub struct Page<'a> {
    pub site: &'a Site,
    pub title: &'a str,
    pub session: Option<&'a Session>,
    /// How times are shown (the owner's zone; relative in the owner's views).
    pub clock: super::Clock,
    /// The owner's unread notifications (webmentions), shown in the header.
    pub unread: i64,
    /// For the owner: no cron run has finished yet, so background work
    /// (polling, sending) waits; every owner page says so, linking to the
    /// cron line.
    pub cron_never_ran: bool,
}

pub fn render(page: &Page, body: Markup) -> String {
    let site = page.site;
    let title = if page.title.is_empty() {
        site.name.clone()
    } else {
        format!("{} · {}", page.title, site.name)
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // No icon: without this every page view also asks for
                // /favicon.ico, which under CGI starts roost for a 404.
                link rel="icon" href="data:,";
                title { (title) }
                link rel="alternate" type="application/atom+xml" title=(format!("{} (Atom)", site.name)) href=(site.link("feed.atom"));
                link rel="alternate" type="application/feed+json" title=(format!("{} (JSON Feed)", site.name)) href=(site.link("feed.json"));
                link rel="alternate" type="application/rss+xml" title=(format!("{} (RSS)", site.name)) href=(site.link("feed.rss"));
                // The Webmention endpoint (`webmention::receive`), where
                // other sites say they link here.
                link rel="webmention" href=(site.absolute("webmention"));
                // IndieAuth (`indieauth`): apps find the metadata, or the
                // older separate endpoints, and Micropub's endpoint here.
                link rel="indieauth-metadata" href=(site.absolute(".well-known/oauth-authorization-server"));
                link rel="authorization_endpoint" href=(site.absolute("auth"));
                link rel="token_endpoint" href=(site.absolute("token"));
                link rel="micropub" href=(site.absolute("micropub"));
                style { (PreEscaped(STYLE)) }
            }
            body {
                header.site {
                    a.home href=(site.link("")) { (site.name) }
                    nav {
                        @if page.session.is_some() {
                            a href=(site.link("timeline")) { "Timeline" }
                            a href=(site.link("following")) { "Following" }
                            a href=(site.link("notifications")) {
                                "Notifications"
                                @if page.unread > 0 { " (" (page.unread) " new)" }
                            }
                            a href=(site.link("settings")) { "Settings" }
                        }
                        a href=(site.link("subscribe")) { "Subscribe" }
                        form.search role="search" method="get" action=(site.link("search")) {
                            input type="search" name="q" aria-label="Search" placeholder="Search";
                        }
                        @if let Some(session) = page.session {
                            form method="post" action=(site.link("logout")) {
                                input type="hidden" name="csrf" value=(session.csrf);
                                button.link type="submit" { "Log out" }
                            }
                        } @else {
                            a href=(site.link("login")) { "Log in" }
                        }
                    }
                }
                main {
                    @if page.cron_never_ran && page.session.is_some() {
                        p.meta #no-cron role="status" {
                            "Cron has not run here yet, so the feeds you follow are not fetched and \
                             nothing is sent to other sites. "
                            a href=(site.link("install")) { "Add the cron line" }
                        }
                    }
                    (body)
                }
                footer.site {
                    "Feeds: "
                    a href=(site.link("feed.atom")) { "Atom" } ", "
                    a href=(site.link("feed.json")) { "JSON Feed" } ", "
                    a href=(site.link("feed.rss")) { "RSS" }
                    " · powered by roost"
                }
            }
        }
    }
    .into_string()
}

/// Standard base64 with padding, for the CSP hash.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> shift) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    /// Apache serves the published page with sample.htaccess's copy of the
    /// policy: it must admit this stylesheet, so it must be this policy.
    #[test]
    fn sample_htaccess_sends_this_policy_with_published_files() {
        let htaccess = include_str!("../../sample.htaccess");
        let expected = format!(
            "Header set Content-Security-Policy \"{}\"",
            content_security_policy()
        );
        assert!(
            htaccess.contains(&expected),
            "sample.htaccess must say: {expected}"
        );
    }
}
