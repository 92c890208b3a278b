//! twtxt: telling a twtxt file from other text, and one post per line.

use url::Url;

use super::charset::mime_essence;
use super::dates::parse_date;
use super::escape::escape_html;
use super::finish::{Draft, settle};
use super::tree::resolve_url;
use super::xml::is_http_url;
use super::{FeedFormat, IncomingFeed, ParseError, empty_feed};

pub(super) fn is_twtxt(body: &str, content_type: Option<&str>) -> bool {
    if mime_essence(content_type).as_deref() == Some("text/plain") {
        return true;
    }
    body.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| {
            l.split_once('\t')
                .is_some_and(|(ts, _)| parse_date(ts).is_some())
        })
}

/// twtxt: `TIMESTAMP<TAB>TEXT` lines, `#` comments (`# nick = …`, `# url = …`
/// metadata). Entries come out newest first, so the entry cap keeps the latest.
pub(super) fn parse_twtxt(
    body: &str,
    feed_url: &str,
    doc_base: Option<&Url>,
) -> Result<IncomingFeed, ParseError> {
    let mut out = empty_feed(FeedFormat::Twtxt);
    let mut nick = None;
    let mut entries = Vec::new();
    let base_url = doc_base.map_or_else(|| feed_url.to_string(), Url::to_string);
    for line in body.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(comment) = line.trim_start().strip_prefix('#') {
            if let Some((k, v)) = comment.split_once('=') {
                let v = v.trim();
                match k.trim().to_ascii_lowercase().as_str() {
                    "nick" if !v.is_empty() => nick = Some(v.to_string()),
                    "url" if out.home_url.is_none() && is_http_url(v) => {
                        out.home_url = resolve_url(v, None)
                    }
                    _ => {}
                }
            }
            continue;
        }
        // The format is TIMESTAMP, a TAB, the text: without the TAB it is no post.
        let Some((ts, text)) = line.split_once('\t') else {
            continue;
        };
        let Some(when) = parse_date(ts) else { continue };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let mut draft = Draft::new(base_url.clone());
        draft.entry.published = Some(when);
        draft.entry.content_html = Some(twtxt_html(text));
        entries.extend(draft.finish(None));
    }
    out.title = nick.clone();
    if out.home_url.is_none() {
        out.home_url = doc_base.map(Url::to_string);
    }
    for (e, _) in &mut entries {
        e.author = nick.clone();
    }
    // Stable: equal timestamps keep file order, reversed.
    entries.reverse();
    entries.sort_by_key(|(e, _)| std::cmp::Reverse(e.published));
    let has_text = body
        .lines()
        .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    if entries.is_empty() && has_text {
        return Err(ParseError::NotAFeed(
            "plain text, not RSS, Atom, JSON Feed or twtxt".into(),
        ));
    }
    out.entries = settle(entries);
    Ok(out)
}

/// twtxt text as HTML: escaped, `@<nick url>` mentions become links.
fn twtxt_html(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("@<") {
        out.push_str(&escape_html(&rest[..at]));
        let after = &rest[at + 2..];
        let Some(close) = after.find('>') else {
            out.push_str(&escape_html(&rest[at..]));
            return out;
        };
        let inner = after[..close].trim();
        let (nick, url) = match inner.rsplit_once(' ') {
            Some((n, u)) => (n.trim(), u.trim()),
            None => ("", inner),
        };
        if is_http_url(url) {
            let label = if nick.is_empty() { url } else { nick };
            out.push_str(&format!(
                "<a href=\"{}\">@{}</a>",
                escape_html(url),
                escape_html(label)
            ));
        } else {
            out.push_str(&escape_html(&rest[at..at + 2 + close + 1]));
        }
        rest = &after[close + 1..];
    }
    out.push_str(&escape_html(rest));
    out
}

#[cfg(test)]
mod tests {
    use crate::parse::testing::*;

    #[test]
    fn twtxt() {
        let body = "# nick = jo\n# url = https://jo.example/twtxt.txt\n2016-02-04T13:30:00+01:00\tYou can really go crazy here!\n\n2016-02-03T23:05:00+01:00\t@<example http://example.org/twtxt.txt> welcome to <twtxt>!\nnot a line\n";
        let f = parse(
            body.as_bytes(),
            Some("text/plain; charset=utf-8"),
            "https://jo.example/twtxt.txt",
        )
        .unwrap();
        assert_eq!(f.format, FeedFormat::Twtxt);
        assert_eq!(f.title.as_deref(), Some("jo"));
        assert_eq!(f.home_url.as_deref(), Some("https://jo.example/twtxt.txt"));
        assert_eq!(f.entries.len(), 2);
        assert_eq!(
            f.entries[0].published,
            Some(ts("2016-02-04T13:30:00+01:00")),
            "newest first"
        );
        assert_eq!(
            f.entries[1].content_html.as_deref(),
            Some(
                r#"<a href="http://example.org/twtxt.txt">@example</a> welcome to &lt;twtxt&gt;!"#
            )
        );
        assert!(
            f.entries
                .iter()
                .all(|e| e.identity.starts_with("sha256:") && e.author.as_deref() == Some("jo"))
        );
        // Sniffed without a content type, refused when it is just text.
        assert_eq!(
            parse(b"2020-01-01T00:00:00Z\thello", None, URL)
                .unwrap()
                .entries
                .len(),
            1
        );
        assert!(matches!(
            parse(b"hello world\n", Some("text/plain"), URL),
            Err(ParseError::NotAFeed(_))
        ));
    }

    #[test]
    fn twtxt_lines_without_a_tab_are_not_posts() {
        let f = parse(
            b"2020-01-01T00:00:00Z\tposted\n2020-01-02T00:00:00Z spaces are not a tab\n2020-01-03T00:00:00Z    neither\n",
            Some("text/plain"),
            URL,
        )
        .unwrap();
        assert_eq!(f.entries.len(), 1);
        assert_eq!(f.entries[0].content_html.as_deref(), Some("posted"));
    }
}
