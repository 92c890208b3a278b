//! Fetches one feed politely and safely: conditional GET, limits, redirects, the internal-address guard. Does not parse or store.
//!
//! The limits live in `net` (one place for all of them) and reach a fetch
//! through [`Limits`]; the guard's mechanics (a resolver that drops internal
//! addresses, a check right before the TCP connect) live in `net` too. Here:
//!
//! - **Redirects** are followed by hand, up to `max_redirects` hops, each
//!   hop a new request that goes through the guard again, with `Location`
//!   resolved against the URL in hand. Only a chain of nothing but 301/308
//!   says the followed URL should change (`permanent_url`).
//! - **Time**: one deadline for the whole fetch, every hop and every body
//!   byte included; each hop gets what is left of it.
//! - **Size**: two caps. *As sent*: a `Content-Length` over `max_body_bytes`
//!   is refused before the body is read, and `net`'s counting transport fails
//!   the read once a response has taken `max_body_bytes` plus
//!   `net::MAX_HEADER_BYTES` on the wire. *Decompressed*: the body is
//!   counted as it is inflated and refused the moment it passes
//!   `max_decompressed_bytes`, so a gzip bomb costs that much time and a
//!   few buffers of memory.
//! - **Memory**: the decompressed body goes into a [`Body`] (256 KiB in
//!   memory, the rest in an unnamed temporary file), so what a fetch holds
//!   does not grow with what the server sends.
//!
//! The body, its caps and its decompression are in `body`; what a failed
//! fetch is, and how a failure reported by ureq or io becomes one, in `error`.

mod body;
mod error;

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ureq::http::{HeaderMap, HeaderValue, header};
use url::Url;

use crate::net;

use body::read_body;
pub use body::{Body, BodyReader};
pub use error::FetchError;
use error::classify;

/// What a fetch asks for: feeds first, HTML last but one (a page to discover
/// feeds in when following).
pub const ACCEPT: &str = "application/atom+xml, application/rss+xml, application/feed+json, \
     application/json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, text/html;q=0.5, */*;q=0.1";
/// The encodings a fetch can undo.
pub const ACCEPT_ENCODING: &str = "gzip, deflate";

/// The limits one fetch obeys. [`Limits::DEFAULT`] is `net`'s constants;
/// tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub connect_timeout: Duration,
    /// For the whole fetch: every hop, connect to last body byte.
    pub total_timeout: Duration,
    /// The body as sent (compressed or not).
    pub max_body_bytes: u64,
    /// The body once decompressed.
    pub max_decompressed_bytes: u64,
    pub max_redirects: u32,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        connect_timeout: net::CONNECT_TIMEOUT,
        total_timeout: net::TOTAL_TIMEOUT,
        max_body_bytes: net::MAX_BODY_BYTES,
        max_decompressed_bytes: net::MAX_DECOMPRESSED_BYTES,
        max_redirects: net::MAX_REDIRECTS,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// One fetch of one URL.
#[derive(Debug, Clone, Copy)]
pub struct FetchRequest<'a> {
    pub url: &'a str,
    /// The `ETag` stored from the last fetch, sent as `If-None-Match`.
    pub etag: Option<&'a str>,
    /// The `Last-Modified` stored from the last fetch, sent as `If-Modified-Since`.
    pub last_modified: Option<&'a str>,
    /// This node's URL, named in the `User-Agent`.
    pub node_url: &'a str,
    /// `allow_private_addresses`: lifts the internal-address guard.
    pub allow_private: bool,
}

impl<'a> FetchRequest<'a> {
    /// An unconditional fetch with the guard on.
    pub fn new(url: &'a str, node_url: &'a str) -> Self {
        FetchRequest {
            url,
            etag: None,
            last_modified: None,
            node_url,
            allow_private: false,
        }
    }
}

/// What the server said about when to ask again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheHints {
    /// `Cache-Control: max-age`, seconds.
    pub max_age: Option<u64>,
    /// `Expires`, unix seconds.
    pub expires: Option<i64>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum FetchOutcome {
    /// 304: what is stored is current.
    NotModified { cache: CacheHints },
    Fetched {
        /// Where the body came from, after redirects.
        final_url: String,
        /// Set when every redirect hop was permanent (301/308): the follow's
        /// URL should change to this.
        permanent_url: Option<String>,
        /// Decompressed.
        body: Body,
        content_type: Option<String>,
        etag: Option<String>,
        last_modified: Option<String>,
        cache: CacheHints,
    },
    /// 410: stop polling.
    Gone,
    /// 429 or 503; `Retry-After` (seconds or an HTTP date) as seconds from now.
    RetryLater {
        after_seconds: Option<u64>,
        status: u16,
    },
}

/// Fetches within the default limits, with one agent shared by the whole
/// process (and so by the threads of a poll run).
pub fn fetch(req: &FetchRequest) -> Result<FetchOutcome, FetchError> {
    fetch_with(shared_agent(req.node_url), req)
}

/// [`fetch`] that also ends by `deadline` (a poll's `--max-seconds`), should
/// that come before the usual total timeout.
pub fn fetch_until(
    req: &FetchRequest,
    deadline: Option<Instant>,
) -> Result<FetchOutcome, FetchError> {
    let mut limits = Limits::DEFAULT;
    if let Some(deadline) = deadline {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(1));
        limits.total_timeout = limits.total_timeout.min(left);
    }
    fetch_with_limits(shared_agent(req.node_url), req, &limits)
}

/// Fetches within the default limits with `agent`, which must come from
/// [`net::agent`]: that is where the guard and the count of bytes on the wire
/// are wired in.
pub fn fetch_with(agent: &ureq::Agent, req: &FetchRequest) -> Result<FetchOutcome, FetchError> {
    fetch_with_limits(agent, req, &Limits::DEFAULT)
}

fn shared_agent(node_url: &str) -> &'static ureq::Agent {
    // The User-Agent is set on each request, so the first node URL is as
    // good as any here.
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| net::agent(node_url))
}

/// [`fetch_with`] within other limits (tests shorten them).
pub fn fetch_with_limits(
    agent: &ureq::Agent,
    req: &FetchRequest,
    limits: &Limits,
) -> Result<FetchOutcome, FetchError> {
    let scope = net::FetchScope::enter(req.allow_private);
    let deadline = Instant::now() + limits.total_timeout;
    let user_agent = net::user_agent(req.node_url);
    let mut url = parse_url(req.url)?;
    let mut all_permanent = true;
    for hop in 0..=limits.max_redirects {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(FetchError::Timeout);
        }
        scope.limit_next_response(limits.max_body_bytes.saturating_add(net::MAX_HEADER_BYTES));
        let mut request = agent
            .get(url.as_str())
            .config()
            .proxy(None)
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(remaining))
            .timeout_connect(Some(limits.connect_timeout.min(remaining)))
            .build()
            .header(header::USER_AGENT, &user_agent)
            .header(header::ACCEPT, ACCEPT)
            .header(header::ACCEPT_ENCODING, ACCEPT_ENCODING);
        // A stored validator that is not a valid header value is not sent.
        if let Some(etag) = req.etag.and_then(|v| HeaderValue::from_str(v).ok()) {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(date) = req
            .last_modified
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            request = request.header(header::IF_MODIFIED_SINCE, date);
        }
        let response = request.call().map_err(|e| classify(&e, limits))?;
        let status = response.status().as_u16();
        let headers = response.headers();
        match status {
            301 | 302 | 303 | 307 | 308 => {
                let Some(location) = header_str(headers, header::LOCATION) else {
                    return Err(FetchError::Http { status });
                };
                let mut next = url
                    .join(location)
                    .map_err(|e| FetchError::BadUrl(format!("redirect to {location:?}: {e}")))?;
                next.set_fragment(None);
                check_scheme(&next)?;
                all_permanent &= matches!(status, 301 | 308);
                url = next;
            }
            304 => {
                return Ok(FetchOutcome::NotModified {
                    cache: cache_hints(headers),
                });
            }
            410 => return Ok(FetchOutcome::Gone),
            429 | 503 => {
                return Ok(FetchOutcome::RetryLater {
                    after_seconds: retry_after(headers),
                    status,
                });
            }
            200..=299 => {
                let content_type = header_str(headers, header::CONTENT_TYPE).map(str::to_owned);
                let etag = header_str(headers, header::ETAG).map(str::to_owned);
                let last_modified = header_str(headers, header::LAST_MODIFIED).map(str::to_owned);
                let cache = cache_hints(headers);
                let body = read_body(response, limits)?;
                let final_url = url.to_string();
                return Ok(FetchOutcome::Fetched {
                    permanent_url: (hop > 0 && all_permanent).then(|| final_url.clone()),
                    final_url,
                    body,
                    content_type,
                    etag,
                    last_modified,
                    cache,
                });
            }
            _ => return Err(FetchError::Http { status }),
        }
    }
    Err(FetchError::TooManyRedirects {
        limit: limits.max_redirects,
    })
}

fn parse_url(raw: &str) -> Result<Url, FetchError> {
    let mut url =
        Url::parse(raw.trim()).map_err(|e| FetchError::BadUrl(format!("{raw:?}: {e}")))?;
    url.set_fragment(None);
    check_scheme(&url)?;
    Ok(url)
}

fn check_scheme(url: &Url) -> Result<(), FetchError> {
    if !net::SCHEMES.contains(&url.scheme()) {
        return Err(FetchError::BadUrl(format!(
            "{url}: only http and https are fetched"
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(FetchError::BadUrl(format!("{url}: no host")));
    }
    // Never sent, never kept as a follow's address: see follows::USERINFO_REFUSED.
    if !url.username().is_empty() || url.password().is_some() {
        let mut shown = url.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        return Err(FetchError::BadUrl(format!(
            "{shown}: the address has a user name or password, which roost does not send"
        )));
    }
    Ok(())
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn cache_hints(headers: &HeaderMap) -> CacheHints {
    let max_age = headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|directive| {
            let (name, value) = directive.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("max-age")
                .then(|| value.trim().trim_matches('"').parse().ok())?
        });
    let expires = header_str(headers, header::EXPIRES)
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .map(unix_seconds);
    CacheHints { max_age, expires }
}

fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_secs() as i64,
        Err(before) => -(before.duration().as_secs() as i64),
    }
}

fn retry_after(headers: &HeaderMap) -> Option<u64> {
    let value = header_str(headers, header::RETRY_AFTER)?;
    if let Ok(seconds) = value.parse() {
        return Some(seconds);
    }
    let when = httpdate::parse_http_date(value).ok()?;
    let from_now = when.duration_since(SystemTime::now()).unwrap_or_default();
    // Round up: asking a second late is polite, a second early is not.
    Some(from_now.as_secs() + u64::from(from_now.subsec_nanos() > 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use std::io::{self, Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    const NODE: &str = "http://node.example/";

    /// A loopback HTTP server: `handler(path, request head, stream)` writes
    /// the whole response; the connection is closed after it.
    struct Server {
        addr: SocketAddr,
        accepted: Arc<AtomicUsize>,
        heads: Arc<Mutex<Vec<String>>>,
    }

    impl Server {
        fn start<F>(handler: F) -> Server
        where
            F: Fn(&str, &str, &mut TcpStream) + Send + Sync + 'static,
        {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let accepted = Arc::new(AtomicUsize::new(0));
            let heads = Arc::new(Mutex::new(Vec::new()));
            let handler = Arc::new(handler);
            let (count, log) = (accepted.clone(), heads.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { continue };
                    count.fetch_add(1, Ordering::SeqCst);
                    let (handler, log) = (handler.clone(), log.clone());
                    std::thread::spawn(move || {
                        let head = read_head(&mut stream);
                        log.lock().unwrap().push(head.clone());
                        let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                        handler(&path, &head, &mut stream);
                    });
                }
            });
            Server {
                addr,
                accepted,
                heads,
            }
        }

        fn url(&self, path: &str) -> String {
            format!("http://{}{path}", self.addr)
        }

        fn accepted(&self) -> usize {
            self.accepted.load(Ordering::SeqCst)
        }
    }

    fn read_head(stream: &mut TcpStream) -> String {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
            match stream.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => break,
            }
        }
        String::from_utf8_lossy(&head).into_owned()
    }

    fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
        let mut out = format!("HTTP/1.1 {status}\r\n");
        for (name, value) in headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ));
        let _ = stream.write_all(out.as_bytes());
        let _ = stream.write_all(body);
    }

    fn allowed(url: &str) -> FetchRequest<'_> {
        FetchRequest {
            allow_private: true,
            ..FetchRequest::new(url, NODE)
        }
    }

    /// Limits short enough that a test waiting on a deadline takes ~1.5 s.
    const SHORT: Limits = Limits {
        connect_timeout: Duration::from_secs(1),
        total_timeout: Duration::from_millis(1500),
        ..Limits::DEFAULT
    };

    fn fetch_within(req: &FetchRequest, limits: &Limits) -> Result<FetchOutcome, FetchError> {
        fetch_with_limits(shared_agent(NODE), req, limits)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Bytes gzip cannot shrink.
    fn noise(len: usize) -> Vec<u8> {
        let mut x: u64 = 0x9e3779b97f4a7c15;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn fetched(outcome: Result<FetchOutcome, FetchError>) -> (String, Option<String>, Vec<u8>) {
        match outcome {
            Ok(FetchOutcome::Fetched {
                final_url,
                permanent_url,
                body,
                ..
            }) => (final_url, permanent_url, body.to_vec().unwrap()),
            other => panic!("expected a body, got {other:?}"),
        }
    }

    const FEED: &[u8] = b"<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title></feed>";

    #[test]
    fn fetched_with_validators_and_polite_headers() {
        let server = Server::start(|_, _, s| {
            respond(
                s,
                "200 OK",
                &[
                    ("Content-Type", "application/atom+xml; charset=utf-8"),
                    ("ETag", "\"v2\""),
                    ("Last-Modified", "Tue, 02 Jan 2024 00:00:00 GMT"),
                    ("Cache-Control", "public, max-age=600"),
                    ("Expires", "Wed, 03 Jan 2024 00:00:00 GMT"),
                ],
                FEED,
            )
        });
        let url = server.url("/feed.xml");
        let req = FetchRequest {
            etag: Some("\"v1\""),
            last_modified: Some("Mon, 01 Jan 2024 00:00:00 GMT"),
            ..allowed(&url)
        };
        let outcome = fetch(&req).unwrap();
        assert_eq!(
            outcome,
            FetchOutcome::Fetched {
                final_url: url.clone(),
                permanent_url: None,
                body: FEED.to_vec().into(),
                content_type: Some("application/atom+xml; charset=utf-8".into()),
                etag: Some("\"v2\"".into()),
                last_modified: Some("Tue, 02 Jan 2024 00:00:00 GMT".into()),
                cache: CacheHints {
                    max_age: Some(600),
                    expires: Some(1_704_240_000),
                },
            }
        );
        let head = server.heads.lock().unwrap()[0].to_ascii_lowercase();
        for line in [
            "get /feed.xml http/1.1\r\n",
            &format!(
                "\r\nuser-agent: roost/{} (+{NODE})\r\n",
                env!("CARGO_PKG_VERSION")
            ),
            &format!("\r\naccept: {}\r\n", ACCEPT.to_ascii_lowercase()),
            "\r\naccept-encoding: gzip, deflate\r\n",
            "\r\nif-none-match: \"v1\"\r\n",
            "\r\nif-modified-since: mon, 01 jan 2024 00:00:00 gmt\r\n",
        ] {
            assert!(head.contains(line), "{line:?} not in {head}");
        }
    }

    #[test]
    fn not_modified() {
        let server = Server::start(|_, head, s| {
            if head.to_ascii_lowercase().contains("if-none-match: \"v1\"") {
                respond(
                    s,
                    "304 Not Modified",
                    &[("Cache-Control", "max-age=60")],
                    b"",
                );
            } else {
                respond(s, "200 OK", &[("ETag", "\"v1\"")], FEED);
            }
        });
        let url = server.url("/");
        let first = fetch(&allowed(&url)).unwrap();
        let FetchOutcome::Fetched { etag, .. } = first else {
            panic!("{first:?}")
        };
        let again = FetchRequest {
            etag: etag.as_deref(),
            ..allowed(&url)
        };
        assert_eq!(
            fetch(&again).unwrap(),
            FetchOutcome::NotModified {
                cache: CacheHints {
                    max_age: Some(60),
                    expires: None
                }
            }
        );
    }

    #[test]
    fn compressed_bodies_are_decompressed() {
        let server = Server::start(|path, _, s| {
            let (encoding, body) = match path {
                "/gzip" => ("gzip", gzip(FEED)),
                "/x-gzip" => ("x-gzip", gzip(FEED)),
                "/zlib" => ("deflate", zlib(FEED)),
                "/raw-deflate" => ("deflate", raw_deflate(FEED)),
                "/both" => ("deflate, gzip", gzip(&zlib(FEED))),
                _ => ("identity", FEED.to_vec()),
            };
            respond(s, "200 OK", &[("Content-Encoding", encoding)], &body);
        });
        for path in [
            "/gzip",
            "/x-gzip",
            "/zlib",
            "/raw-deflate",
            "/both",
            "/plain",
        ] {
            let url = server.url(path);
            let (_, _, body) = fetched(fetch(&allowed(&url)));
            assert_eq!(body, FEED, "{path}");
        }
    }

    #[test]
    fn unknown_or_broken_encoding_is_a_decode_error() {
        let server = Server::start(|path, _, s| match path {
            "/br" => respond(
                s,
                "200 OK",
                &[("Content-Encoding", "br")],
                b"\x0b\x02\x80hi\x03",
            ),
            _ => respond(
                s,
                "200 OK",
                &[("Content-Encoding", "gzip")],
                b"not gzip at all",
            ),
        });
        for path in ["/br", "/bad-gzip"] {
            let url = server.url(path);
            let result = fetch(&allowed(&url));
            assert!(
                matches!(result, Err(FetchError::Decode(_))),
                "{path}: {result:?}"
            );
        }
    }

    /// 100 MiB of zeros as 100 gzip members of 1 MiB each (~100 KiB in all):
    /// stopped at the decompressed cap, whichever side inflates it.
    #[test]
    fn gzip_bomb_stops_at_the_decompressed_cap() {
        let member = gzip(&vec![0u8; 1024 * 1024]);
        let bomb: Arc<Vec<u8>> = Arc::new(member.repeat(100));
        assert!(bomb.len() < 200 * 1024);
        let served = bomb.clone();
        let server = Server::start(move |path, _, s| {
            let encoding = if path == "/x-gzip" { "x-gzip" } else { "gzip" };
            respond(s, "200 OK", &[("Content-Encoding", encoding)], &served);
        });
        for path in ["/gzip", "/x-gzip"] {
            let url = server.url(path);
            let started = Instant::now();
            let result = fetch(&allowed(&url));
            assert_eq!(
                result.err(),
                Some(FetchError::TooLarge {
                    limit: net::MAX_DECOMPRESSED_BYTES,
                    decompressed: true
                }),
                "{path}"
            );
            assert!(started.elapsed() < Duration::from_secs(5), "{path}");
        }
        // And deflate, under a smaller cap.
        let zeros = zlib(&vec![0u8; 1024 * 1024]);
        let server = Server::start(move |_, _, s| {
            respond(s, "200 OK", &[("Content-Encoding", "deflate")], &zeros)
        });
        let url = server.url("/");
        let limits = Limits {
            max_decompressed_bytes: 256 * 1024,
            ..Limits::DEFAULT
        };
        assert_eq!(
            fetch_within(&allowed(&url), &limits).err(),
            Some(FetchError::TooLarge {
                limit: 256 * 1024,
                decompressed: true
            })
        );
    }

    /// A document up to the cap is kept whole (past `Body::IN_MEMORY_BYTES`
    /// in a file: `body`'s test); encodings stacked on one another are undone as a stream
    /// and refused at the decompressed cap like a single one.
    #[test]
    fn big_documents_are_kept_and_layered_bombs_refused() {
        let doc: Arc<Vec<u8>> = Arc::new(b"<x>".repeat(5 * 1024 * 1024));
        let big = gzip(&doc);
        let layered = gzip(&gzip(&vec![0u8; 20 * 1024 * 1024]));
        let mixed = gzip(&zlib(&vec![0u8; 20 * 1024 * 1024]));
        let server = Server::start(move |path, _, s| match path {
            "/big" => respond(s, "200 OK", &[("Content-Encoding", "gzip")], &big),
            "/layered" => respond(s, "200 OK", &[("Content-Encoding", "gzip, gzip")], &layered),
            _ => respond(
                s,
                "200 OK",
                &[("Content-Encoding", "deflate, gzip")],
                &mixed,
            ),
        });
        let (_, _, body) = fetched(fetch(&allowed(&server.url("/big"))));
        assert!(body == *doc, "the whole document, byte for byte");
        for path in ["/layered", "/mixed"] {
            assert_eq!(
                fetch(&allowed(&server.url(path))).err(),
                Some(FetchError::TooLarge {
                    limit: net::MAX_DECOMPRESSED_BYTES,
                    decompressed: true
                }),
                "{path}"
            );
        }
    }

    #[test]
    fn body_over_the_as_sent_cap() {
        let big = noise(1024 * 1024);
        let server = Server::start(move |path, _, s| match path {
            "/length" => respond(s, "200 OK", &[], &big),
            "/gzip" => respond(s, "200 OK", &[("Content-Encoding", "gzip")], &gzip(&big)),
            "/x-gzip" => respond(s, "200 OK", &[("Content-Encoding", "x-gzip")], &gzip(&big)),
            _ => {
                // No length: the body runs until the connection closes.
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                let _ = s.write_all(&big);
            }
        });
        for path in ["/length", "/gzip", "/x-gzip", "/until-close"] {
            let url = server.url(path);
            let limits = Limits {
                max_body_bytes: 64 * 1024,
                ..Limits::DEFAULT
            };
            assert_eq!(
                fetch_within(&allowed(&url), &limits).err(),
                Some(FetchError::TooLarge {
                    limit: 64 * 1024,
                    decompressed: false
                }),
                "{path}"
            );
        }
    }

    #[test]
    fn slow_drip_hits_the_total_deadline() {
        let server = Server::start(|path, _, s| {
            let _ = if path == "/body" {
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            } else {
                // Headers that never end.
                s.write_all(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            };
            loop {
                std::thread::sleep(Duration::from_millis(200));
                if s.write_all(b"x").is_err() {
                    break;
                }
            }
        });
        for path in ["/body", "/headers"] {
            let url = server.url(path);
            let started = Instant::now();
            assert_eq!(
                fetch_within(&allowed(&url), &SHORT),
                Err(FetchError::Timeout),
                "{path}"
            );
            let took = started.elapsed();
            assert!(took >= Duration::from_millis(1400), "{path}: {took:?}");
            assert!(took < Duration::from_millis(2500), "{path}: {took:?}");
        }
    }

    #[test]
    fn redirects() {
        let server = Server::start(|path, _, s| {
            let to = |s: &mut TcpStream, status: &str, location: &str| {
                respond(s, status, &[("Location", location)], b"")
            };
            match path {
                "/p1" => to(s, "301 Moved Permanently", "/p2"),
                "/p2" => to(s, "308 Permanent Redirect", "p3"),
                "/t1" => to(s, "301 Moved Permanently", "/t2"),
                "/t2" => to(s, "302 Found", "/t3?x=1#frag"),
                "/temporary" => to(s, "307 Temporary Redirect", "/t3"),
                "/loop-a" => to(s, "301 Moved Permanently", "/loop-b"),
                "/loop-b" => to(s, "301 Moved Permanently", "/loop-a"),
                "/ftp" => to(s, "302 Found", "ftp://example.org/feed"),
                "/nowhere" => respond(s, "302 Found", &[], b""),
                _ => respond(s, "200 OK", &[], FEED),
            }
        });
        let url = server.url("/p1");
        let (final_url, permanent, body) = fetched(fetch(&allowed(&url)));
        assert_eq!(final_url, server.url("/p3"));
        assert_eq!(permanent, Some(server.url("/p3")));
        assert_eq!(body, FEED);

        let url = server.url("/t1");
        let (final_url, permanent, _) = fetched(fetch(&allowed(&url)));
        assert_eq!(final_url, server.url("/t3?x=1"));
        assert_eq!(permanent, None);

        let url = server.url("/temporary");
        let (final_url, permanent, _) = fetched(fetch(&allowed(&url)));
        assert_eq!(final_url, server.url("/t3"));
        assert_eq!(permanent, None);

        let url = server.url("/plain");
        assert_eq!(fetched(fetch(&allowed(&url))).1, None);

        let before = server.accepted();
        let url = server.url("/loop-a");
        assert_eq!(
            fetch(&allowed(&url)),
            Err(FetchError::TooManyRedirects { limit: 5 })
        );
        assert_eq!(
            server.accepted() - before,
            6,
            "the first request and 5 hops"
        );

        let url = server.url("/ftp");
        assert!(matches!(fetch(&allowed(&url)), Err(FetchError::BadUrl(_))));
        let url = server.url("/nowhere");
        assert_eq!(fetch(&allowed(&url)), Err(FetchError::Http { status: 302 }));
    }

    #[test]
    fn statuses_that_are_outcomes_or_errors() {
        let in_90s = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(90));
        let server = Server::start(move |path, _, s| match path {
            "/gone" => respond(s, "410 Gone", &[], b""),
            "/busy" => respond(s, "429 Too Many Requests", &[("Retry-After", "120")], b""),
            "/down" => respond(
                s,
                "503 Service Unavailable",
                &[("Retry-After", &in_90s)],
                b"",
            ),
            "/down-no-hint" => respond(s, "503 Service Unavailable", &[], b""),
            "/missing" => respond(s, "404 Not Found", &[], b"no"),
            _ => respond(s, "500 Internal Server Error", &[], b"oops"),
        });
        let get = |path: &str| fetch(&allowed(&server.url(path)));
        assert_eq!(get("/gone"), Ok(FetchOutcome::Gone));
        assert_eq!(
            get("/busy"),
            Ok(FetchOutcome::RetryLater {
                after_seconds: Some(120),
                status: 429
            })
        );
        match get("/down") {
            Ok(FetchOutcome::RetryLater {
                after_seconds: Some(seconds),
                status: 503,
            }) => assert!((85..=90).contains(&seconds), "{seconds}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            get("/down-no-hint"),
            Ok(FetchOutcome::RetryLater {
                after_seconds: None,
                status: 503
            })
        );
        assert_eq!(get("/missing"), Err(FetchError::Http { status: 404 }));
        assert_eq!(get("/error"), Err(FetchError::Http { status: 500 }));
    }

    /// A listener that is never served: any connection the guard lets
    /// through waits in its backlog, where `accept` finds it.
    fn trap() -> TcpListener {
        let listener = TcpListener::bind("[::]:0") // dual-stack where IPv6 exists
            .or_else(|_| TcpListener::bind("0.0.0.0:0"))
            .unwrap();
        listener.set_nonblocking(true).unwrap();
        listener
    }

    fn assert_untouched(listener: &TcpListener) {
        match listener.accept() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            other => panic!("the guard let a connection through: {other:?}"),
        }
    }

    #[test]
    fn guard_refuses_every_internal_form() {
        let trap = trap();
        let port = trap.local_addr().unwrap().port();
        for host in [
            "127.0.0.1",
            "localhost",
            "0x7f.1",
            "2130706433",
            "017700000001",
            "0177.0.0.1",
            "127.1",
            "127.000.000.001",
            "[::1]",
            "[::ffff:127.0.0.1]",
            "[::ffff:7f00:1]",
            "[0:0:0:0:0:ffff:127.0.0.1]",
            "[::127.0.0.1]",
            "0.0.0.0",
            "0",
            "[::]",
            // Notations the URL parser reads as IPv4 (tests/ssrf.rs has them all).
            "0x7f000001",
            "0X7F.0X0.0X0.0X1",
            "0177.0x1",
            "127.0.1",
            "127.0.0.1.",
            "%31%32%37.0.0.1",
            "１２７.０.０.１",
            "LOCALHOST",
            // IPv4-translated (SIIT): let through before it was recognised.
            "[::ffff:0:7f00:1]",
            "[::ffff:0:127.0.0.1]",
        ] {
            let url = format!("http://{host}:{port}/feed");
            match fetch_within(&FetchRequest::new(&url, NODE), &SHORT) {
                Err(FetchError::Refused { addr, .. }) => assert!(net::is_internal(addr), "{url}"),
                other => panic!("{url}: {other:?}"),
            }
        }
        // A zone id is no host at all to the URL parser: refused before any lookup.
        for host in ["[fe80::1%25lo]", "[fe80::1%lo]"] {
            let url = format!("http://{host}:{port}/feed");
            match fetch_within(&FetchRequest::new(&url, NODE), &SHORT) {
                Err(FetchError::BadUrl(_)) => {}
                other => panic!("{url}: {other:?}"),
            }
        }
        let url = format!("http://localhost:{port}/");
        let Err(refused) = fetch(&FetchRequest::new(&url, NODE)) else {
            panic!()
        };
        assert!(
            refused
                .to_string()
                .starts_with("refused: localhost resolves to "),
            "{refused}"
        );
        assert!(
            refused.to_string().ends_with(
                ", an internal address (roost config allow_private_addresses true allows it)"
            ),
            "{refused}"
        );
        assert_untouched(&trap);
    }

    /// The guard is checked on every hop: a host treated as public (a
    /// loopback listener standing in for one) that redirects inward gets
    /// its own request answered, and the redirect refused.
    #[test]
    fn guard_checks_every_redirect_hop() {
        let trap = TcpListener::bind("127.0.0.1:0").unwrap();
        trap.set_nonblocking(true).unwrap();
        let inner = trap.local_addr().unwrap().port();
        let public = Server::start(move |path, _, s| {
            let location = match path {
                "/to-ip" => format!("http://127.0.0.1:{inner}/"),
                "/to-name" => format!("http://localhost:{inner}/"),
                "/to-mapped" => format!("http://[::ffff:127.0.0.1]:{inner}/"),
                "/to-hex" => format!("http://0x7f000001:{inner}/"),
                _ => return respond(s, "200 OK", &[], FEED),
            };
            respond(s, "301 Moved Permanently", &[("Location", &location)], b"");
        });
        net::treat_as_public_for_tests(Some(public.addr));
        let url = public.url("/feed");
        assert_eq!(
            fetched(fetch_within(&FetchRequest::new(&url, NODE), &SHORT)).2,
            FEED
        );
        for path in ["/to-ip", "/to-name", "/to-mapped", "/to-hex"] {
            let url = public.url(path);
            match fetch_within(&FetchRequest::new(&url, NODE), &SHORT) {
                Err(FetchError::Refused { addr, .. }) => assert!(
                    addr.is_loopback() || addr.to_canonical().is_loopback(),
                    "{path}: {addr}"
                ),
                other => panic!("{path}: {other:?}"),
            }
        }
        net::treat_as_public_for_tests(None);
        assert_eq!(public.accepted(), 5);
        assert_untouched(&trap);
        // The same public host, not treated as public any more, is refused.
        let url = public.url("/feed");
        assert!(matches!(
            fetch_within(&FetchRequest::new(&url, NODE), &SHORT),
            Err(FetchError::Refused { .. })
        ));
        assert_eq!(public.accepted(), 5);
    }

    #[test]
    fn bad_urls_and_dead_hosts() {
        for url in [
            "ftp://example.org/feed",
            "file:///etc/passwd",
            "not a url",
            "http://",
            "/relative/feed.xml",
        ] {
            let result = fetch(&FetchRequest::new(url, NODE));
            assert!(
                matches!(result, Err(FetchError::BadUrl(_))),
                "{url}: {result:?}"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/");
        assert_eq!(
            fetch_within(&allowed(&url), &SHORT),
            Err(FetchError::Network("connection refused".into()))
        );
    }

    #[test]
    fn errors_read_as_one_line() {
        let cases = [
            (
                FetchError::Timeout,
                "timed out: the server did not send the whole response in time",
            ),
            (
                FetchError::TooLarge {
                    limit: 4 * 1024 * 1024,
                    decompressed: false,
                },
                "too large: the response is over 4 MiB",
            ),
            (
                FetchError::TooLarge {
                    limit: 8 * 1024 * 1024,
                    decompressed: true,
                },
                "too large: the response is over 8 MiB once decompressed",
            ),
            (
                FetchError::TooManyRedirects { limit: 5 },
                "too many redirects (more than 5)",
            ),
            (
                FetchError::Http { status: 500 },
                "HTTP 500 Internal Server Error",
            ),
            (FetchError::Http { status: 599 }, "HTTP 599"),
            (
                FetchError::Refused {
                    host: "example.org".into(),
                    addr: "127.0.0.1".parse().unwrap(),
                },
                "refused: example.org resolves to 127.0.0.1, an internal address \
                 (roost config allow_private_addresses true allows it)",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
    }
}
