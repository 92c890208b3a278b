//! The rules for the owner's posts: what a valid post is, how its text becomes
//! HTML, and the actions shared by the command line and the web forms.

use crate::store::{self, posts::PostId};
use anyhow::Result;
use rusqlite::Connection;
use std::fmt;

/// A post longer than this is refused: roost is for short posts.
pub const MAX_POST_CHARS: usize = 5000;
pub const MAX_URL_CHARS: usize = 2048;

/// Why a post was refused, in words for the person who wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    Empty,
    TooLong(usize),
    BadReplyTo(String),
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Invalid::Empty => write!(f, "the post is empty: write something first"),
            Invalid::TooLong(n) => write!(
                f,
                "the post has {n} characters; the limit is {MAX_POST_CHARS}: shorten it"
            ),
            Invalid::BadReplyTo(why) => write!(f, "the reply-to address {why}"),
        }
    }
}

impl std::error::Error for Invalid {}

/// Text that is a valid post body: trimmed, normalised line ends, no control
/// characters, within the length limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostText(String);

impl PostText {
    pub fn parse(raw: &str) -> Result<PostText, Invalid> {
        let text: String = raw
            .replace("\r\n", "\n")
            .chars()
            .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
            .collect();
        let text = text.trim();
        if text.is_empty() {
            return Err(Invalid::Empty);
        }
        let count = text.chars().count();
        if count > MAX_POST_CHARS {
            return Err(Invalid::TooLong(count));
        }
        Ok(PostText(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An absolute http(s) URL that a post replies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo(String);

impl ReplyTo {
    pub fn parse(raw: &str) -> Result<ReplyTo, Invalid> {
        let url = raw.trim();
        let bad = |why: &str| Err(Invalid::BadReplyTo(format!("{why}: {url:?}")));
        if url.chars().count() > MAX_URL_CHARS {
            return bad("is too long");
        }
        let Some(rest) = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
        else {
            return bad("must start with http:// or https://");
        };
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("is not a valid web address");
        }
        Ok(ReplyTo(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A post id as typed in a URL or on the command line.
pub fn parse_id(raw: &str) -> Option<PostId> {
    match raw.parse::<i64>() {
        Ok(n) if n > 0 && raw.bytes().all(|b| b.is_ascii_digit()) => Some(PostId(n)),
        _ => None,
    }
}

pub fn create(
    conn: &mut Connection,
    text: &PostText,
    reply_to: Option<&ReplyTo>,
    now: i64,
) -> Result<PostId> {
    store::write(conn, |tx| {
        let settings = crate::settings::Settings::load(tx)?;
        let prefix = settings.id_prefix();
        store::posts::insert(
            tx,
            prefix,
            text.as_str(),
            reply_to.map(ReplyTo::as_str),
            now,
        )
    })
}

pub fn edit(conn: &mut Connection, id: PostId, text: &PostText, now: i64) -> Result<bool> {
    store::write(conn, |tx| {
        store::posts::update_body(tx, id, text.as_str(), now)
    })
}

/// Deletes a post; its address answers 410 Gone from then on.
pub fn delete(conn: &mut Connection, id: PostId, now: i64) -> Result<bool> {
    store::write(conn, |tx| store::posts::delete(tx, id, now))
}

/// The post as HTML: escaped text, paragraphs at blank lines, line breaks,
/// and http(s) URLs made into links. The only HTML a post ever contains.
pub fn to_html(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 32);
    for paragraph in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        html.push_str("<p>");
        for (i, line) in paragraph.lines().enumerate() {
            if i > 0 {
                html.push_str("<br>\n");
            }
            linkify_line(line, &mut html);
        }
        html.push_str("</p>\n");
    }
    html
}

fn linkify_line(line: &str, out: &mut String) {
    let mut rest = line;
    while let Some(start) = find_url_start(rest) {
        escape_into(&rest[..start], out);
        let tail = &rest[start..];
        let mut end = tail
            .find(|c: char| c.is_whitespace() || c == '<' || c == '"')
            .unwrap_or(tail.len());
        // A sentence's closing punctuation is not part of the address.
        while end > 0 && tail[..end].ends_with(['.', ',', ';', ':', '!', '?', ')', '\'']) {
            end -= 1;
        }
        let url = &tail[..end];
        if url.len() <= "https://".len() {
            escape_into(url, out);
        } else {
            out.push_str("<a href=\"");
            escape_into(url, out);
            out.push_str("\" rel=\"nofollow\">");
            escape_into(url, out);
            out.push_str("</a>");
        }
        rest = &tail[end..];
        if end == 0 {
            // Never loop on a bare scheme: emit one char and move on.
            let c = rest.chars().next().unwrap_or(' ');
            escape_into(&rest[..c.len_utf8()], out);
            rest = &rest[c.len_utf8()..];
        }
    }
    escape_into(rest, out);
}

fn find_url_start(s: &str) -> Option<usize> {
    [s.find("https://"), s.find("http://")]
        .into_iter()
        .flatten()
        .min()
}

pub fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// A one-line summary for feed titles and page titles.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let first_line = text.lines().next().unwrap_or("").trim();
    let mut out: String = first_line.chars().take(max_chars).collect();
    if first_line.chars().count() > max_chars || text.trim().lines().count() > 1 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_text_is_trimmed_normalised_and_bounded() {
        assert_eq!(
            PostText::parse("  hi\r\nthere \u{7}").unwrap().as_str(),
            "hi\nthere"
        );
        assert_eq!(PostText::parse(" \n\t ").unwrap_err(), Invalid::Empty);
        let long = "x".repeat(MAX_POST_CHARS + 1);
        assert_eq!(
            PostText::parse(&long).unwrap_err(),
            Invalid::TooLong(MAX_POST_CHARS + 1)
        );
        assert!(PostText::parse(&"é".repeat(MAX_POST_CHARS)).is_ok());
    }

    #[test]
    fn reply_to_must_be_an_http_url() {
        assert!(ReplyTo::parse("https://example.org/p/1").is_ok());
        assert!(ReplyTo::parse("javascript:alert(1)").is_err());
        assert!(ReplyTo::parse("https:///nohost").is_err());
        assert!(ReplyTo::parse("https://a b").is_err());
    }

    #[test]
    fn ids_are_positive_decimal_only() {
        assert_eq!(parse_id("12"), Some(PostId(12)));
        for bad in ["0", "-1", "+1", "1e3", "", "99999999999999999999", "１"] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn html_escapes_and_links() {
        let html = to_html("a <b> & \"c\"\nsee https://example.org/x?a=1&b=2.\n\nnext");
        assert_eq!(
            html,
            "<p>a &lt;b&gt; &amp; &quot;c&quot;<br>\nsee <a href=\"https://example.org/x?a=1&amp;b=2\" rel=\"nofollow\">https://example.org/x?a=1&amp;b=2</a>.</p>\n<p>next</p>\n"
        );
        assert_eq!(to_html("https://"), "<p>https://</p>\n");
        assert!(!to_html("http://\"onmouseover=x").contains("\"onmouseover"));
    }

    #[test]
    fn excerpt_marks_truncation() {
        assert_eq!(excerpt("short", 10), "short");
        assert_eq!(excerpt("a long first line", 6), "a long…");
        assert_eq!(excerpt("one\ntwo", 10), "one…");
    }
}
