//! The job that verifies a received Webmention (W3C Webmention 3.2.2,
//! 3.2.3), run by cron: fetch the source through the guarded client
//! (redirects checked hop by hop, at most `MAX_DOCUMENT_BYTES`), confirm it
//! links to the target, read its h-entry (`mf2`), make its HTML safe
//! (`sanitize`), let moderation decide, store. A source that answers 410 or
//! no longer links removes what it had shown; a 4xx is given up (said on
//! the status URL, not kept as a dead letter), a 5xx or a timeout retried.

use super::receive::same_url;
use super::{mf2, moderation};
use crate::jobs::{Kind, Outcome};
use crate::net::send::{self, MAX_DOCUMENT_BYTES};
use crate::node::Node;
use crate::settings::Settings;
use crate::store::jobs::Job;
use crate::store::mentions::{self, Mention, Verified, state};
use anyhow::{Context, Result};

pub const VERIFY: Kind = Kind {
    name: "webmention.verify",
    run: verify,
    max_attempts: 6,
    per_host: None,
};

/// Author names longer than this are cut (with `…`).
const MAX_NAME_CHARS: usize = 100;

fn verify(node: &mut Node, job: &Job) -> Result<Outcome> {
    let id: i64 = job
        .payload
        .parse()
        .context("reading a webmention verification job")?;
    let Some(mention) = mentions::get(node.conn, id)? else {
        return Ok(Outcome::Done);
    };
    let settings = Settings::load(node.conn)?;
    let sender = settings.sender();
    let document = match sender.get_document(&mention.source, MAX_DOCUMENT_BYTES) {
        Ok(document) => document,
        // A source that cannot be read is its sender's problem, said on
        // the status URL: no dead letter (which `doctor` reports as the
        // owner's), so a stranger's bad sources never fail the site.
        Err(error) if send::is_final(&error) => {
            not_shown(node, &mention, &format!("{error:#}"))?;
            return Ok(Outcome::Done);
        }
        Err(error) => return Ok(Outcome::Retry(format!("{error:#}"))),
    };
    match document.status {
        200..=299 => {}
        410 => {
            not_shown(node, &mention, "the source answers 410 Gone")?;
            return Ok(Outcome::Done);
        }
        429 | 500.. => {
            return Ok(Outcome::Retry(format!(
                "the source answered {}",
                document.status
            )));
        }
        // Another 4xx: given up (as a final answer, not a dead letter); a
        // mention shown before stays until its source says 410 or stops linking.
        status => {
            let why = format!("the source answered {status}");
            if mention.state == state::QUEUED {
                node.write_unseen(|tx| mentions::set_state(tx, id, state::REJECTED, &why))?;
            }
            return Ok(Outcome::Done);
        }
    }
    let text = decode(&document.body, &document.content_type);
    let html = document.content_type.is_empty()
        || document.content_type.to_ascii_lowercase().contains("html");
    // Markup too costly to build into a tree is read as text (Webmention
    // 3.2.2 for documents that are not HTML): a mention, with no microformats.
    let parsed = html.then(|| mf2::parse(&text, &document.url)).flatten();
    let links = match &parsed {
        Some(page) => page
            .links
            .iter()
            .any(|link| same_url(link.as_str(), &mention.target)),
        None => text.contains(&mention.target),
    };
    let page = parsed.unwrap_or_default();
    if !links {
        let why = format!("the source does not link to {}", mention.target);
        not_shown(node, &mention, &why)?;
        return Ok(Outcome::Done);
    }
    let found = Found::read(&page, &mention, &document.url);
    let author_key = moderation::author_key(&document.url, found.author_url.as_deref());
    let policy = moderation::Policy::of(&settings);
    let decided = moderation::decide(node.conn, policy, &author_key, &document.url)?;
    let verified = Verified {
        kind: found.kind,
        author_name: &found.author_name,
        author_url: found.author_url.as_deref().unwrap_or(""),
        author_photo: found.author_photo.as_deref().unwrap_or(""),
        author_key: &author_key,
        content: found.content.as_str(),
        published: found.published,
        state: decided,
    };
    let now = chrono::Utc::now().timestamp();
    node.write_entries(|tx| mentions::save_verified(tx, id, &verified, now))?;
    Ok(Outcome::Done)
}

/// The mention is not (or no longer) shown, for `why`: a mention verified
/// before is removed, one never verified rejected.
fn not_shown(node: &mut Node, mention: &Mention, why: &str) -> Result<()> {
    let was_verified = mention.verified_at.is_some()
        && mention.state != state::REJECTED
        && mention.state != state::REMOVED;
    let new_state = if was_verified {
        state::REMOVED
    } else {
        state::REJECTED
    };
    node.write_entries(|tx| mentions::set_state(tx, mention.id, new_state, why))
}

/// The source's bytes as text: the charset its `Content-Type` names, else UTF-8.
pub(crate) fn decode(body: &[u8], content_type: &str) -> String {
    let label = content_type
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"'));
    let encoding = label
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    encoding.decode_with_bom_removal(body).0.into_owned()
}

/// What a verified source says, ready to store.
#[derive(Debug)]
struct Found {
    kind: &'static str,
    author_name: String,
    author_url: Option<String>,
    author_photo: Option<String>,
    /// Sanitized HTML.
    content: crate::sanitize::SafeHtml,
    published: Option<i64>,
}

impl Found {
    fn read(page: &mf2::Page, mention: &Mention, base: &url::Url) -> Found {
        let entry = page.entry.as_ref();
        let names_target = |property: &str| {
            entry.is_some_and(|e| e.urls(property).any(|u| same_url(u, &mention.target)))
        };
        let kind = [
            ("u-in-reply-to", "reply"),
            ("u-like-of", "like"),
            ("u-repost-of", "repost"),
            ("u-bookmark-of", "bookmark"),
        ]
        .into_iter()
        .find(|(property, _)| names_target(property))
        .map_or("mention", |(_, kind)| kind);
        let author = Author::of(entry, base);
        let html = entry
            .and_then(|e| e.first("e-content"))
            .and_then(|v| v.html.clone())
            .filter(|h| !h.trim().is_empty());
        let text = || {
            entry
                .and_then(|e| e.text("p-name").or_else(|| e.text("p-summary")))
                .or(page.title.as_deref())
                .map(escape)
        };
        let content =
            crate::sanitize::sanitize(&html.or_else(text).unwrap_or_default(), base.as_str());
        Found {
            kind,
            author_name: author.name,
            author_url: author.url,
            author_photo: author.photo,
            content,
            published: entry
                .and_then(|e| e.text("dt-published"))
                .and_then(parse_date),
        }
    }
}

/// An h-entry's author as pages show it: the name as one line of plain
/// text (the page's host when it names none), its URL and photo only when
/// http(s) and not too long. Also read for a reply's remote parent
/// (`threads`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Author {
    pub name: String,
    pub url: Option<String>,
    pub photo: Option<String>,
}

impl Author {
    pub(crate) fn of(entry: Option<&mf2::Item>, page: &url::Url) -> Author {
        let (name, url, photo) = match entry.and_then(|e| e.first("p-author")) {
            Some(value) => match &value.item {
                Some(card) => (card.name(), card.url(), card.photo()),
                None => (Some(value.text.clone()), value.url.clone(), None),
            },
            None => (None, None, None),
        };
        let web = |u: Option<String>| {
            u.filter(|u| crate::sanitize::is_web_url(u) && u.len() <= crate::posts::MAX_URL_CHARS)
        };
        Author {
            name: name
                .map(|n| crate::sanitize::one_line(&n, MAX_NAME_CHARS))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| page.host_str().unwrap_or_default().to_string()),
            url: web(url),
            photo: web(photo),
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A `dt-published` value: RFC 3339, or the looser forms mf2 allows (a
/// space for `T`, no seconds, a bare date).
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp());
    }
    let t = text.replacen(' ', "T", 1);
    for format in [
        "%Y-%m-%dT%H:%M:%S%:z",
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%dT%H:%M:%S%z",
    ] {
        if let Ok(parsed) = chrono::DateTime::parse_from_str(&t, format) {
            return Some(parsed.timestamp());
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(parsed) = chrono::NaiveDateTime::parse_from_str(&t, format) {
            return Some(parsed.and_utc().timestamp());
        }
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_forms_microformats_allow() {
        assert_eq!(parse_date("2026-12-01T10:00:00Z"), Some(1_796_119_200));
        assert_eq!(parse_date("2026-12-01 11:00:00+01:00"), Some(1_796_119_200));
        assert_eq!(parse_date("2026-12-01T10:00"), Some(1_796_119_200));
        assert_eq!(parse_date("2026-12-01"), Some(1_796_083_200));
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn the_type_is_the_property_that_names_the_target_and_scripts_are_gone() {
        let base = url::Url::parse("https://them.example/r/1").unwrap();
        let page = mf2::parse(
            r#"<div class="h-entry"><a class="u-like-of" href="https://other.example/">x</a>
               <a class="u-in-reply-to" href="https://me.example/posts/1">re</a>
               <div class="e-content">Hi<script>alert(1)</script><img src=x onerror=alert(2)></div></div>"#,
            &base,
        )
        .unwrap();
        let mention = Mention {
            id: 1,
            source: base.to_string(),
            target: "https://me.example/posts/1".into(),
            post_id: Some(1),
            state: "queued".into(),
            kind: String::new(),
            author_name: String::new(),
            author_url: String::new(),
            author_photo: String::new(),
            author_key: String::new(),
            content: String::new(),
            published: None,
            received_at: 0,
            verified_at: None,
            note: String::new(),
            unread: false,
            protocol: "webmention".into(),
            object_id: String::new(),
        };
        let found = Found::read(&page, &mention, &base);
        assert_eq!(found.kind, "reply");
        assert_eq!(found.author_name, "them.example");
        let html = found.content.as_str();
        assert!(html.starts_with("Hi"), "{html}");
        assert!(
            !html.contains("script") && !html.contains("onerror"),
            "{html}"
        );
    }
}
