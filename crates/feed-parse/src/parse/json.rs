//! The JSON Feed 1.0/1.1 mapping (from a `serde_json::Value`), and the repair
//! of a document cut short or holding raw control characters.

use url::Url;

use super::dates::parse_date;
use super::escape::escape_html;
use super::finish::{Draft, settle};
use super::text::maybe_html;
use super::tree::resolve_url;
use super::xml::{push_enclosure, push_unique};
use super::{FeedFormat, IncomingFeed, ParseError, empty_feed};

pub(super) fn parse_json(
    body: &str,
    feed_url: &str,
    doc_base: Option<&Url>,
) -> Result<IncomingFeed, ParseError> {
    use serde_json::Value;
    let value: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(first) => {
            // Two common breakages, repaired in turn: raw control characters
            // inside strings, and a truncated document (cut back to its last
            // complete item).
            let escaped = escape_json_controls(body);
            let attempt =
                serde_json::from_str(&escaped).or_else(|e| match repair_truncated_json(&escaped) {
                    Some(fixed) if e.is_eof() => serde_json::from_str(&fixed),
                    _ => Err(e),
                });
            attempt.map_err(|_| ParseError::Malformed(format!("invalid JSON: {first}")))?
        }
    };
    let Some(obj) = value.as_object() else {
        return Err(ParseError::NotAFeed(
            "a JSON document, but not a JSON Feed".into(),
        ));
    };
    let version = obj.get("version").and_then(Value::as_str).unwrap_or("");
    let items = obj.get("items").and_then(Value::as_array);
    let json_feed = version.contains("jsonfeed.org/version/1")
        || version.starts_with('1')
        || (version.is_empty() && items.is_some());
    if !json_feed {
        return Err(ParseError::NotAFeed(
            "a JSON document, but not a JSON Feed".into(),
        ));
    }
    let s = |o: &serde_json::Map<String, Value>, k: &str| {
        o.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let url = |o: &serde_json::Map<String, Value>, k: &str| {
        s(o, k).and_then(|u| resolve_url(&u, doc_base))
    };
    let author_of = |o: &serde_json::Map<String, Value>| -> Option<String> {
        let from = |a: &Value| {
            a.get("name")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
        };
        o.get("authors")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find_map(from))
            .or_else(|| o.get("author").and_then(from))
    };
    let mut out = empty_feed(FeedFormat::JsonFeed);
    out.title = s(obj, "title").and_then(|t| maybe_html(t).into_plain());
    out.home_url = url(obj, "home_page_url");
    out.self_url = url(obj, "feed_url");
    out.hub = obj
        .get("hubs")
        .and_then(Value::as_array)
        .and_then(|hubs| hubs.iter().find_map(|h| url(h.as_object()?, "url")));
    let feed_author = author_of(obj);
    let base_url = doc_base.map_or_else(|| feed_url.to_string(), Url::to_string);
    let mut built = Vec::new();
    for item in items.into_iter().flatten() {
        let Some(it) = item.as_object() else { continue };
        // JSON Feed 1.1: "id (required, string)"; an item without a usable
        // one cannot be told from its next version, so it is skipped (and counted).
        let Some(id) = it
            .get("id")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|i| !i.is_empty())
        else {
            out.skipped_without_id += 1;
            continue;
        };
        let mut draft = Draft::new(base_url.clone());
        draft.id = Some(id.to_string());
        let e = &mut draft.entry;
        e.link = url(it, "url").or_else(|| url(it, "external_url"));
        e.title = s(it, "title").and_then(|t| maybe_html(t).into_plain());
        e.content_html =
            s(it, "content_html").or_else(|| s(it, "content_text").map(|t| escape_html(&t)));
        e.summary_html = s(it, "summary").map(|t| escape_html(&t));
        e.author = author_of(it);
        e.published = s(it, "date_published").and_then(|t| parse_date(&t));
        e.updated = s(it, "date_modified").and_then(|t| parse_date(&t));
        for a in it
            .get("attachments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(a) = a.as_object() else { continue };
            let Some(u) = url(a, "url") else { continue };
            let size = a
                .get("size_in_bytes")
                .and_then(Value::as_u64)
                .map(|n| n.to_string());
            push_enclosure(
                &mut e.enclosures,
                u,
                s(a, "mime_type").as_deref(),
                size.as_deref(),
                s(a, "title"),
            );
        }
        if let Some(thread) = it.get("_thread").and_then(|t| t.get("in_reply_to")) {
            let one = |v: &Value| match v {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Object(o) => ["url", "href", "id", "ref"]
                    .iter()
                    .find_map(|k| o.get(*k).and_then(Value::as_str))
                    .map(|s| s.trim().to_string()),
                _ => None,
            };
            let values: Vec<String> = match thread {
                Value::Array(a) => a.iter().filter_map(one).collect(),
                v => one(v).into_iter().collect(),
            };
            for v in values.into_iter().filter(|v| !v.is_empty()) {
                push_unique(&mut e.in_reply_to, v);
            }
        }
        built.extend(draft.finish(feed_author.as_deref()));
    }
    out.entries = settle(built);
    Ok(out)
}

/// A truncated JSON document cut back to the end of its last complete value
/// inside the deepest array still open, with the open brackets closed.
fn repair_truncated_json(body: &str) -> Option<String> {
    let mut stack: Vec<u8> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut cut: Option<(usize, Vec<u8>)> = None;
    for (i, b) in body.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => stack.push(b),
            b'}' | b']' => {
                stack.pop();
                if b == b'}' && stack.last() == Some(&b'[') {
                    cut = Some((i + 1, stack.clone()));
                }
            }
            _ => {}
        }
        if stack.len() > 64 {
            return None;
        }
    }
    if stack.is_empty() && !in_string {
        return None;
    }
    let (at, open) = cut?;
    let mut fixed = body[..at].to_string();
    for b in open.iter().rev() {
        fixed.push(if *b == b'{' { '}' } else { ']' });
    }
    Some(fixed)
}

/// Escapes raw control characters inside JSON strings.
fn escape_json_controls(body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    for c in body.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            } else if (c as u32) < 0x20 {
                out.push_str(&format!("\\u{:04x}", c as u32));
                continue;
            }
        } else if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::parse::testing::*;

    #[test]
    fn json_feed() {
        let f = parse(
            br#"{"version": "https://jsonfeed.org/version/1.1", "title": "J &amp; F", "home_page_url": "/",
                "authors": [{"name": "Feed Author"}],
                "items": [
                  {"id": "1", "url": "https://example.com/1", "content_text": "a < b\nc", "date_published": "2024-05-06T07:08:09Z",
                   "attachments": [{"url": "/a.ogg", "mime_type": "audio/ogg", "size_in_bytes": 7}, {"url": "/b.png"}],
                   "_thread": {"in_reply_to": "https://other.example/post/9"}},
                  {"id": "2", "content_html": "<p>hi</p>", "summary": "s", "author": {"name": "Old Style"}, "date_modified": "nonsense"},
                  {"url": "https://example.com/3", "title": "no id"}
                ]}"#,
            Some("application/feed+json"),
            "https://example.com/feed.json",
        )
        .unwrap();
        assert_eq!(f.format, FeedFormat::JsonFeed);
        assert_eq!(f.title.as_deref(), Some("J & F"));
        assert_eq!(f.home_url.as_deref(), Some("https://example.com/"));
        let e = &f.entries[0];
        assert_eq!(e.content_html.as_deref(), Some("a &lt; b\nc"));
        assert_eq!(e.author.as_deref(), Some("Feed Author"));
        assert_eq!(e.published, Some(ts("2024-05-06T07:08:09Z")));
        assert_eq!(e.in_reply_to, ["https://other.example/post/9"]);
        assert_eq!(e.enclosures.len(), 2);
        assert_eq!(
            e.enclosures[0],
            Enclosure {
                url: "https://example.com/a.ogg".into(),
                mime_type: Some("audio/ogg".into()),
                length: Some(7),
                alt: None
            }
        );
        assert_eq!(e.enclosures[1].mime_type, None);
        let e = &f.entries[1];
        assert_eq!(
            (e.identity.as_str(), e.author.as_deref(), e.updated),
            ("2", Some("Old Style"), None)
        );
        assert_eq!(e.summary_html.as_deref(), Some("s"));
        assert_eq!(f.entries.len(), 2, "the item without an id is skipped");
        assert_eq!(f.skipped_without_id, 1);
        // 1.0, no title, http version URL, array _thread.
        let f = parse(
            br#"{"version": "http://jsonfeed.org/version/1", "items": [{"id": "x", "content_html": "c", "_thread": {"in_reply_to": [{"id": "tag:a"}, "https://b/"]}}]}"#,
            None,
            URL,
        )
        .unwrap();
        assert_eq!(f.title, None);
        assert_eq!(f.entries[0].in_reply_to, ["tag:a", "https://b/"]);
        // Not a JSON Feed.
        for doc in [
            &br#"{"rss": {"channel": {}}}"#[..],
            b"[1, 2]",
            b"{\"version\": \"https://jsonfeed.org/version/1\", \"items\": [",
        ] {
            assert!(parse(doc, None, URL).is_err());
        }
    }

    #[test]
    fn json_feed_repairs() {
        // A raw newline inside a string, and a document cut short mid-item.
        let doc = "{\"version\": \"https://jsonfeed.org/version/1\", \"title\": \"t\", \"items\": [{\"id\": \"1\", \"content_text\": \"line\nbreak\"}, {\"id\": \"2\", \"content_text\": \"cut";
        let f = parse(doc.as_bytes(), None, URL).unwrap();
        assert_eq!(f.entries.len(), 1);
        assert_eq!(f.entries[0].content_html.as_deref(), Some("line\nbreak"));
    }

    #[test]
    fn json_feed_items_without_a_usable_id_are_skipped_and_counted() {
        let f = parse(
            br#"{"version": "https://jsonfeed.org/version/1.1", "items": [
                {"id": "ok", "content_text": "kept"},
                {"content_text": "missing"},
                {"id": null, "content_text": "null"},
                {"id": "  ", "content_text": "blank"},
                {"id": 7, "content_text": "a number"},
                {"id": {"x": 1}, "content_text": "an object"}
            ]}"#,
            None,
            URL,
        )
        .unwrap();
        assert_eq!(f.entries.len(), 1);
        assert_eq!(f.entries[0].identity, "ok");
        assert_eq!(f.skipped_without_id, 5);
        assert_eq!(
            f.notes.first().map(String::as_str),
            Some("skipped 5 JSON Feed items without an id")
        );
    }
}
