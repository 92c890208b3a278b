//! A Mastodon archive (`.zip` or `.tar.gz`, from Preferences → Import and
//! export → Request your archive) read into posts: `outbox.json` (an
//! ActivityStreams OrderedCollection of Create and Announce activities)
//! and `actor.json` (whose `id` tells own replies from others'). Does not
//! write anything (`archive::import` does).
//!
//! Public and unlisted notes become posts with their dates, their HTML
//! through the project's sanitizer and then made text (links as their
//! addresses), content warnings kept, replies to own notes threaded,
//! replies to others keeping their `inReplyTo`, and the note's `url` as
//! its `u-syndication`. Followers-only and direct notes, and boosts, are
//! skipped (counted in the summary).

use super::{Item, Read, Reply};
use anyhow::{Result, bail};
use serde_json::Value;
use std::path::Path;

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

pub fn read(path: &Path) -> Result<Read> {
    let files = super::container::read_files(path, |name| {
        matches!(base_name(name), "outbox.json" | "actor.json")
    })?;
    let find = |wanted: &str| files.iter().find(|(name, _)| base_name(name) == wanted);
    let Some((name, outbox)) = find("outbox.json") else {
        bail!(
            "{} has no outbox.json: is it a Mastodon archive?",
            path.display()
        );
    };
    let outbox: Value = super::json_of(name, outbox)?;
    let actor = match find("actor.json") {
        Some((name, bytes)) => super::json_of::<Value>(name, bytes)?["id"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        None => outbox["orderedItems"][0]["actor"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    };
    let Some(activities) = outbox["orderedItems"].as_array() else {
        bail!("outbox.json has no orderedItems list: the archive is damaged");
    };
    let mut read = Read::default();
    for activity in activities {
        match activity["type"].as_str() {
            Some("Create") => note(&activity["object"], &actor, &mut read)?,
            Some("Announce") => read.skip("boosts of others' posts"),
            _ => read.skip("activities that are not posts"),
        }
    }
    Ok(read)
}

fn base_name(name: &str) -> &str {
    name.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(name)
}

fn addressed(object: &Value, field: &str, to: &str) -> bool {
    match &object[field] {
        Value::String(s) => s == to,
        Value::Array(list) => list.iter().any(|v| v == to),
        _ => false,
    }
}

fn note(object: &Value, actor: &str, read: &mut Read) -> Result<()> {
    let Some(id) = object["id"].as_str() else {
        read.skip("posts without an id");
        return Ok(());
    };
    if !addressed(object, "to", PUBLIC) && !addressed(object, "cc", PUBLIC) {
        read.skip("followers-only and direct posts (kept private where they were)");
        return Ok(());
    }
    let Some(published) = object["published"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    else {
        bail!("the post {id} has no valid published date: the archive is damaged");
    };
    let html = object["content"].as_str().unwrap_or("");
    let reply = match object["inReplyTo"].as_str() {
        None => Reply::None,
        Some(parent) if !actor.is_empty() && parent.starts_with(&format!("{actor}/")) => {
            Reply::Own {
                key: parent.to_string(),
                url: parent.to_string(),
            }
        }
        Some(parent) => Reply::Url(parent.to_string()),
    };
    read.items.push(Item {
        key: id.to_string(),
        published: published.timestamp(),
        text: text_of(html, object["url"].as_str().unwrap_or(id)),
        summary: object["summary"]
            .as_str()
            .map(|s| crate::sanitize::plain_text(s, 500))
            .filter(|s| !s.is_empty()),
        reply,
        syndication: Some(object["url"].as_str().unwrap_or(id).to_string()),
    });
    Ok(())
}

/// A note's HTML as a post's text: sanitized first (the project's
/// sanitizer, so only its safe markup, as its serializer writes it, is
/// read), then paragraphs as blank
/// lines, line breaks kept, and each link as its address, except mentions
/// and hashtags (`@name`, `#tag`), which keep their words.
pub fn text_of(html: &str, base: &str) -> String {
    let safe = crate::sanitize::sanitize(html, base);
    let safe = safe.as_str();
    let mut out = String::with_capacity(safe.len());
    let mut rest = safe;
    let mut link: Option<(String, usize)> = None;
    while let Some(open) = rest.find('<') {
        out.push_str(&crate::sanitize::decode_serialized_text(&rest[..open]));
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let closing = tag.starts_with('/');
        match (name.as_str(), closing) {
            ("br", _) => out.push('\n'),
            ("p" | "div" | "blockquote" | "li" | "pre", true) => out.push_str("\n\n"),
            ("a", false) => {
                let href = tag
                    .split_once("href=\"")
                    .and_then(|(_, h)| h.split_once('"'))
                    .map(|(h, _)| crate::sanitize::decode_serialized_text(h));
                link = href.map(|h| (h, out.len()));
            }
            ("a", true) => {
                if let Some((href, start)) = link.take() {
                    let words = out[start..].trim();
                    let keep = words.starts_with('@') || words.starts_with('#') || words == href;
                    if !keep && crate::sanitize::is_web_url(&href) {
                        out.truncate(start);
                        out.push_str(&href);
                    }
                }
            }
            _ => {}
        }
    }
    out.push_str(&crate::sanitize::decode_serialized_text(rest));
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    let mut text = lines.join("\n");
    while text.contains("\n\n\n") {
        text = text.replace("\n\n\n", "\n\n");
    }
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notes_html_becomes_text_with_links_as_addresses() {
        let html = r#"<p>Hello <span class="h-card"><a href="https://m.example/@bob" class="u-url mention">@<span>bob</span></a></span> &amp; <a href="https://m.example/tags/rust" class="mention hashtag" rel="tag">#<span>rust</span></a></p><p>see <a href="https://example.org/a/long/path" rel="nofollow"><span class="invisible">https://</span><span class="ellipsis">example.org/a/lo</span></a><br>bye<script>alert(1)</script></p>"#;
        assert_eq!(
            text_of(html, "https://m.example/"),
            "Hello @bob & #rust\n\nsee https://example.org/a/long/path\nbye"
        );
    }
}
