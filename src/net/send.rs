//! One-shot requests for the protocols' background jobs (verifying,
//! delivering, subscribing, sending Webmentions): over the same guarded
//! [`super::agent`] as polling, with its timeouts and internal-address
//! guard, no redirects followed (a redirected callback or hub is a failure,
//! not a hop), and a small cap on what is read back: these answers are
//! acknowledgements. The one exception is [`Sender::get_page`], for
//! discovering an endpoint on a page: it follows redirects, each hop a new
//! request under the same guard, and reads up to [`MAX_PAGE_BYTES`].

use super::{FetchScope, MAX_HEADER_BYTES};
use anyhow::{Context, Result, bail};
use std::io::Read;

/// What a job may read of an answer: a challenge, an error message.
pub const MAX_REPLY_BYTES: u64 = 64 * 1024;

/// What endpoint discovery reads of a page: the endpoint is in the headers
/// or, nearly always, the `<head>`; the rest of a longer page is left unread.
pub const MAX_PAGE_BYTES: u64 = 1024 * 1024;

/// The headers a GET carries, made for the URL of each hop (a signature
/// names the path and host it was made for).
pub type Headers<'a> = dyn Fn(&url::Url) -> Vec<(&'static str, String)> + 'a;

/// Whom a request is sent for, and what it may reach.
#[derive(Debug, Clone)]
pub struct Sender {
    /// The node's URL, named in `User-Agent`.
    pub node_url: String,
    /// The `allow_private_addresses` setting: loopback and private hosts.
    pub allow_private: bool,
}

/// An answer: its status, headers (lower-case names) and the start of its body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The first header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Where a redirect (301, 302, 303, 307, 308) points, as written.
    pub fn redirect(&self) -> Option<&str> {
        self.header("location")
            .filter(|_| matches!(self.status, 301 | 302 | 303 | 307 | 308))
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text, for an error message: one line, at most 200 characters.
    pub fn excerpt(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(200)
            .collect()
    }
}

impl Sender {
    /// `GET url`.
    pub fn get(&self, url: &str) -> Result<Reply> {
        self.send(url, MAX_REPLY_BYTES, Overflow::Cut, |agent| {
            agent.get(url).call()
        })
    }

    /// `GET url` of a page, following up to [`super::MAX_REDIRECTS`]
    /// redirects (each hop checked and guarded afresh), reading at most
    /// [`MAX_PAGE_BYTES`] of the last answer. Returns it with the URL it
    /// came from, against which its relative links resolve; past the last
    /// redirect allowed, that answer is the redirect itself (see
    /// [`Reply::redirect`]).
    pub fn get_page(&self, url: &str) -> Result<(Reply, url::Url)> {
        self.follow(url, MAX_PAGE_BYTES, Overflow::Cut, &|_| Vec::new())
    }

    /// `GET url`, following up to [`super::MAX_REDIRECTS`] redirects, each
    /// hop a new request checked and guarded afresh, with the `headers`
    /// made for its URL; the last answer and its URL (a redirect itself
    /// when the hops ran out).
    fn follow(
        &self,
        url: &str,
        max_bytes: u64,
        overflow: Overflow,
        headers: &Headers,
    ) -> Result<(Reply, url::Url)> {
        let mut at = check_url(url)?;
        let mut hops = 0;
        loop {
            let reply = self.send(at.as_str(), max_bytes, overflow, |agent| {
                let mut request = agent.get(at.as_str());
                for (name, value) in headers(&at) {
                    request = request.header(name, value);
                }
                request.call()
            })?;
            match reply.redirect() {
                Some(location) if hops < super::MAX_REDIRECTS => {
                    hops += 1;
                    let next = at
                        .join(location)
                        .with_context(|| format!("{at} redirects to {location:?}, not a URL"))?;
                    at = check_url(next.as_str())?;
                }
                _ => return Ok((reply, at)),
            }
        }
    }

    /// `POST url` with a form (`application/x-www-form-urlencoded`).
    pub fn post_form(&self, url: &str, fields: &[(&str, &str)]) -> Result<Reply> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.post(
            url,
            "application/x-www-form-urlencoded",
            &[],
            body.as_bytes(),
        )
    }

    /// `POST url` with `body` of `content_type` and extra `headers`.
    pub fn post(
        &self,
        url: &str,
        content_type: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Reply> {
        self.send(url, MAX_REPLY_BYTES, Overflow::Cut, |agent| {
            let mut request = agent.post(url).header("Content-Type", content_type);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.send(body)
        })
    }

    fn send(
        &self,
        url: &str,
        max_bytes: u64,
        overflow: Overflow,
        call: impl FnOnce(&ureq::Agent) -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Reply> {
        check_url(url)?;
        let scope = FetchScope::enter(self.allow_private);
        scope.limit_next_response(MAX_HEADER_BYTES + max_bytes + 64 * 1024);
        let agent = super::agent(&self.node_url);
        let mut response = call(&agent).with_context(|| format!("requesting {url}"))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((
                    name.as_str().to_ascii_lowercase(),
                    value.to_str().ok()?.to_string(),
                ))
            })
            .collect();
        let body = match overflow {
            // A short read is enough: the rest of a long answer is not needed.
            Overflow::Cut => {
                let mut body = Vec::new();
                let _ = response
                    .body_mut()
                    .as_reader()
                    .take(max_bytes)
                    .read_to_end(&mut body);
                body
            }
            Overflow::Refuse => read_whole(&mut response, url, max_bytes)?,
        };
        drop(scope);
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

/// The most a fetched document may hold: a Webmention's source page.
pub const MAX_DOCUMENT_BYTES: u64 = 1024 * 1024;

/// A page fetched by [`Sender::get_document`]: where it ended up after the
/// redirects, its status, type and body.
#[derive(Debug)]
pub struct Document {
    pub url: url::Url,
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A document longer than its fetch allows (trying again will not help).
#[derive(Debug)]
pub struct TooLarge(pub u64);

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the page is larger than {} KiB", self.0 / 1024)
    }
}

impl std::error::Error for TooLarge {}

/// More redirects than [`super::MAX_REDIRECTS`] (a loop, say).
#[derive(Debug)]
pub struct TooManyRedirects;

impl std::fmt::Display for TooManyRedirects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "more than {} redirects", super::MAX_REDIRECTS)
    }
}

impl std::error::Error for TooManyRedirects {}

impl Sender {
    /// `GET url` for a page to read: redirects followed (each hop a new
    /// request, checked by the guard like the first), at most `max_bytes`
    /// of body ([`TooLarge`] past it, read no further).
    pub fn get_document(&self, url: &str, max_bytes: u64) -> Result<Document> {
        let accept = "text/html, application/xhtml+xml, */*;q=0.5";
        self.document(url, max_bytes, &|_| vec![("Accept", accept.to_string())])
    }

    /// `GET url` of an ActivityStreams document (an actor, its key):
    /// asked for as `application/activity+json`, as [`Sender::get_document`]
    /// reads a page, at most [`MAX_ACTIVITY_BYTES`]; `sign` adds the
    /// headers that sign each hop's request (servers in Mastodon's secure
    /// mode answer only signed GETs).
    pub fn get_activity(&self, url: &str, sign: &Headers) -> Result<Document> {
        let accept = "application/activity+json, \
                      application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";
        self.document(url, MAX_ACTIVITY_BYTES, &|at| {
            let mut headers = sign(at);
            headers.push(("Accept", accept.to_string()));
            headers
        })
    }

    /// `GET url` of a WebFinger answer (a JRD), as [`Sender::get_activity`].
    pub fn get_jrd(&self, url: &str) -> Result<Document> {
        let accept = "application/jrd+json, application/json";
        self.document(url, MAX_ACTIVITY_BYTES, &|_| {
            vec![("Accept", accept.to_string())]
        })
    }

    fn document(&self, url: &str, max_bytes: u64, headers: &Headers) -> Result<Document> {
        let (reply, at) = self.follow(url, max_bytes, Overflow::Refuse, headers)?;
        if matches!(reply.status, 301 | 302 | 303 | 307 | 308) {
            if reply.redirect().is_none() {
                bail!("{at} redirects without a Location");
            }
            return Err(anyhow::Error::new(TooManyRedirects).context(format!("fetching {url}")));
        }
        Ok(Document {
            content_type: reply.header("content-type").unwrap_or_default().to_string(),
            url: at,
            status: reply.status,
            body: reply.body,
        })
    }
}

/// The most an ActivityStreams document (an actor, a key) may hold.
pub const MAX_ACTIVITY_BYTES: u64 = 1024 * 1024;

/// What a read does with a body past its limit.
#[derive(Debug, Clone, Copy)]
enum Overflow {
    /// Keeps its start: an acknowledgement or a page to discover links in.
    Cut,
    /// Refuses it ([`TooLarge`]): a document read whole.
    Refuse,
}

/// The whole body of `response`, or [`TooLarge`] when it announces or
/// brings more than `max_bytes` (read no further).
fn read_whole(
    response: &mut ureq::http::Response<ureq::Body>,
    url: &str,
    max_bytes: u64,
) -> Result<Vec<u8>> {
    let declared = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|l| l.trim().parse::<u64>().ok());
    if declared.is_some_and(|l| l > max_bytes) {
        return Err(TooLarge(max_bytes).into());
    }
    match response
        .body_mut()
        .with_config()
        .limit(max_bytes)
        .read_to_vec()
    {
        Ok(body) => Ok(body),
        Err(ureq::Error::BodyExceedsLimit(_)) => Err(TooLarge(max_bytes).into()),
        Err(error) if is_receive_limit(&error) => Err(TooLarge(max_bytes).into()),
        Err(error) => Err(error).with_context(|| format!("reading {url}")),
    }
}

fn is_receive_limit(error: &ureq::Error) -> bool {
    match error {
        ureq::Error::Other(inner) => inner.is::<super::ReceiveLimitExceeded>(),
        ureq::Error::Io(io) => io
            .get_ref()
            .is_some_and(|inner| inner.is::<super::ReceiveLimitExceeded>()),
        _ => false,
    }
}

/// Whether a request failed because the guard refused the address, or the
/// answer was too large or redirected too often: trying again cannot help.
pub fn is_final(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.is::<super::Refused>()
            || cause.is::<TooLarge>()
            || cause.is::<TooManyRedirects>()
            || cause.downcast_ref::<ureq::Error>().is_some_and(|e| {
                matches!(e, ureq::Error::Other(inner) if inner.is::<super::Refused>())
                    || matches!(e, ureq::Error::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<super::Refused>()))
            })
    }) || format!("{error:#}").contains("an internal address")
}

/// Only absolute http(s) URLs without a user name or password are requested.
pub fn check_url(url: &str) -> Result<url::Url> {
    let parsed = url::Url::parse(url).with_context(|| format!("{url:?} is not an absolute URL"))?;
    if !super::SCHEMES.contains(&parsed.scheme()) {
        anyhow::bail!("{url:?} is not an http or https URL");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        anyhow::bail!("{url:?} carries a user name or password: roost does not send those");
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        anyhow::bail!("{url:?} names no host");
    }
    Ok(parsed)
}
