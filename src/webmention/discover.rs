//! Webmention endpoint discovery (W3C Webmention 3.1.2): given a target
//! page, where to send a mention of it. The page is fetched through
//! `net::send` (the guard, redirects followed hop by hop); the endpoint is
//! the first HTTP `Link` header with `rel="webmention"`, else the first
//! `<link>` or `<a>` element with an `href` and `rel="webmention"` in
//! document order, resolved against the page's final URL. Sending is
//! `webmention::send`; this only reads.

use crate::net::send::Sender;
use anyhow::Result;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, TagToken, Token, TokenSink, TokenSinkResult, Tokenizer,
};
use std::cell::RefCell;
use url::Url;

/// What discovery found on a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The endpoint to send to.
    Endpoint(Url),
    /// The target answered but names no endpoint: it takes no mentions.
    NoEndpoint,
    /// The target answered with an error status (a 404, a 410) or kept
    /// redirecting: nothing to mention, and why. 5xx and network errors
    /// are `Err`, worth trying again.
    Unreachable(String),
}

/// Fetches `target` and finds its endpoint.
pub fn discover(sender: &Sender, target: &str) -> Result<Found> {
    let (reply, final_url) = match sender.get_page(target) {
        Ok(fetched) => fetched,
        // Not a failure to connect but an address refused before any
        // request (a redirect to ftp:, to a URL with a password): final.
        Err(error) if !error.chain().any(|c| c.is::<ureq::Error>()) => {
            return Ok(Found::Unreachable(format!("{error:#}")));
        }
        Err(error) => return Err(error),
    };
    if reply.status >= 500 || reply.status == 429 {
        anyhow::bail!("{target} answered {}: {}", reply.status, reply.excerpt());
    }
    if reply.redirect().is_some() {
        return Ok(Found::Unreachable(format!(
            "the target redirects more than {} times",
            crate::net::MAX_REDIRECTS
        )));
    }
    if !reply.is_success() {
        return Ok(Found::Unreachable(format!(
            "the target answered {}",
            reply.status
        )));
    }
    Ok(endpoint_in(&final_url, &reply.headers, &reply.body)
        .map_or(Found::NoEndpoint, Found::Endpoint))
}

/// The endpoint a page names: `Link` headers first (`headers` with
/// lower-case names, in the order received), then its HTML.
pub fn endpoint_in(page: &Url, headers: &[(String, String)], body: &[u8]) -> Option<Url> {
    let from_header = headers
        .iter()
        .filter(|(name, _)| name == "link")
        .find_map(|(_, value)| webmention_in_link_header(value));
    let is_html = headers
        .iter()
        .find(|(name, _)| name == "content-type")
        .is_none_or(|(_, v)| v.to_ascii_lowercase().contains("html"));
    let href = match from_header {
        Some(href) => href,
        None if is_html => webmention_in_html(&String::from_utf8_lossy(body))?,
        None => return None,
    };
    page.join(&href).ok()
}

fn names_webmention(rel: &str) -> bool {
    rel.split_ascii_whitespace()
        .any(|r| r.eq_ignore_ascii_case("webmention"))
}

/// The first URI reference of a `Link` header value (RFC 8288: `<uri>;
/// param=value; ...`, several links separated by commas) whose `rel` names
/// webmention.
fn webmention_in_link_header(value: &str) -> Option<String> {
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        let after_lt = rest.strip_prefix('<')?;
        let (uri, after) = after_lt.split_once('>')?;
        rest = after;
        let mut rel = None;
        // Parameters up to the next comma outside quotes.
        loop {
            rest = rest.trim_start();
            let Some(after_semicolon) = rest.strip_prefix(';') else {
                break;
            };
            let param = after_semicolon.trim_start();
            let name_end = param
                .find(|c: char| c == '=' || c == ';' || c == ',' || c.is_whitespace())
                .unwrap_or(param.len());
            let name = &param[..name_end];
            rest = param[name_end..].trim_start();
            let mut value = String::new();
            if let Some(after_eq) = rest.strip_prefix('=') {
                let after_eq = after_eq.trim_start();
                if let Some(quoted) = after_eq.strip_prefix('"') {
                    let mut chars = quoted.char_indices();
                    let mut end = quoted.len();
                    while let Some((i, c)) = chars.next() {
                        match c {
                            '\\' => {
                                if let Some((_, escaped)) = chars.next() {
                                    value.push(escaped);
                                }
                            }
                            '"' => {
                                end = i + 1;
                                break;
                            }
                            c => value.push(c),
                        }
                    }
                    rest = &quoted[end.min(quoted.len())..];
                } else {
                    let end = after_eq.find([';', ',']).unwrap_or(after_eq.len());
                    value = after_eq[..end].trim().to_string();
                    rest = &after_eq[end..];
                }
            }
            if name.eq_ignore_ascii_case("rel") && rel.is_none() {
                rel = Some(value);
            }
        }
        if rel.as_deref().is_some_and(names_webmention) {
            return Some(uri.trim().to_string());
        }
        // Skip whatever is left of this link (malformed parameters).
        match rest.find(',') {
            Some(comma) => rest = &rest[comma..],
            None => return None,
        }
    }
}

/// Collects the first `<link>` or `<a>` with `href` and rel=webmention,
/// switching the tokenizer into raw text where a browser would (inside
/// `<script>`, `<style>`, `<textarea>`, `<title>`...), so that text there
/// is never taken for a tag.
struct FirstEndpoint(RefCell<Option<String>>);

impl TokenSink for FirstEndpoint {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let TagToken(tag) = token else {
            return TokenSinkResult::Continue;
        };
        if tag.kind != TagKind::StartTag {
            return TokenSinkResult::Continue;
        }
        let name: &str = &tag.name;
        let attr = |wanted: &str| {
            tag.attrs
                .iter()
                .find(|a| &*a.name.local == wanted)
                .map(|a| a.value.to_string())
        };
        match name {
            "link" | "a" => {
                if self.0.borrow().is_none()
                    && attr("rel").is_some_and(|rel| names_webmention(&rel))
                    && let Some(href) = attr("href")
                {
                    *self.0.borrow_mut() = Some(href);
                }
                TokenSinkResult::Continue
            }
            "title" | "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
            "style" | "xmp" | "iframe" | "noembed" | "noframes" => {
                TokenSinkResult::RawData(RawKind::Rawtext)
            }
            "script" => TokenSinkResult::RawData(RawKind::ScriptData),
            "plaintext" => TokenSinkResult::Plaintext,
            _ => TokenSinkResult::Continue,
        }
    }
}

/// The `href` of the first `<link>` or `<a>` in document order whose `rel`
/// names webmention (an empty `href` is the page itself).
fn webmention_in_html(html: &str) -> Option<String> {
    let tokenizer = Tokenizer::new(FirstEndpoint(RefCell::new(None)), Default::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.0.take()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(value: &str) -> Option<String> {
        webmention_in_link_header(value)
    }

    #[test]
    fn link_headers_in_their_many_shapes() {
        assert_eq!(
            header("<https://e.x/wm>; rel=\"webmention\"").as_deref(),
            Some("https://e.x/wm")
        );
        assert_eq!(
            header("<https://e.x/wm>; rel=webmention").as_deref(),
            Some("https://e.x/wm")
        );
        assert_eq!(
            header("<https://e.x/wm>; REL=\"WebMention\"").as_deref(),
            Some("https://e.x/wm")
        );
        assert_eq!(
            header("<https://e.x/a>; rel=\"other\", <https://e.x/b,c>; rel=\"webmention somethingelse\"").as_deref(),
            Some("https://e.x/b,c")
        );
        assert_eq!(header("<https://e.x/a>; rel=\"not-webmention\""), None);
        assert_eq!(
            header("<https://e.x/a>; title=\"a, b; rel=webmention\""),
            None
        );
        assert_eq!(header("garbage"), None);
        assert_eq!(header("<https://e.x/a>; rel"), None);
    }

    #[test]
    fn html_links_in_document_order_and_never_in_comments_or_scripts() {
        let html = |s: &str| webmention_in_html(s);
        assert_eq!(
            html("<a rel=webmention href=/a></a><link rel=webmention href=/b>").as_deref(),
            Some("/a")
        );
        assert_eq!(
            html("<!-- <link rel=webmention href=/c> --><link rel=\"me webmention\" href=/d>")
                .as_deref(),
            Some("/d")
        );
        assert_eq!(
            html("<script>x='<a rel=webmention href=/s>'</script><a rel=webmention href=/e>")
                .as_deref(),
            Some("/e")
        );
        assert_eq!(
            html("<code>&lt;link rel=webmention href=/f&gt;</code>"),
            None
        );
        assert_eq!(
            html("<link rel=webmention><link rel=webmention href=''>").as_deref(),
            Some("")
        );
        assert_eq!(html("<link rel=not-webmention href=/g>"), None);
    }
}
