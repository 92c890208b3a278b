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
//! - **Memory**: the decompressed body goes into a [`Body`], which keeps
//!   256 KiB in memory and the rest in an unnamed temporary file; the parser
//!   reads it back as a stream. What a fetch holds does not grow with what
//!   the server sends.
//!
//! Decompression: ureq (built with its `gzip` feature, which this crate does
//! not control per request) inflates `Content-Encoding: gzip` itself, as a
//! stream, before we see a byte, and drops the header. That is why the
//! as-sent cap is held by counting on the transport rather than by reading
//! compressed bytes here. Every other encoding ureq passes through with its
//! header intact (`x-gzip`, `deflate` as zlib or raw, lists like `gzip,
//! deflate`): those are undone here with flate2, each decoder reading the
//! one before it, so no layer is ever held whole.

use std::error::Error as StdError;
use std::fmt;
use std::io::{self, Read, Seek, Write};
use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flate2::read::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};
use ureq::http::{HeaderMap, HeaderValue, StatusCode, header};
use url::Url;

use crate::net;

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

/// Why a fetch failed, as recorded on the feed. `Display` is one line a
/// person understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The URL, or a redirect, leads to an internal address and the guard is on.
    Refused {
        host: String,
        addr: IpAddr,
    },
    /// The total deadline passed (or the connect timeout did).
    Timeout,
    /// The body is over `limit` as sent, or once decompressed.
    TooLarge {
        limit: u64,
        decompressed: bool,
    },
    TooManyRedirects {
        limit: u32,
    },
    /// Any status not handled as an outcome (404, 500, a redirect without `Location`, …).
    Http {
        status: u16,
    },
    /// DNS, connection, TLS, a connection cut short.
    Network(String),
    /// Not an http(s) URL with a host, to begin with or in a redirect.
    BadUrl(String),
    /// A body that does not decompress, or an encoding we do not undo.
    Decode(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Refused { host, addr } => net::Refused {
                host: host.clone(),
                addr: *addr,
            }
            .fmt(f),
            FetchError::Timeout => {
                f.write_str("timed out: the server did not send the whole response in time")
            }
            FetchError::TooLarge {
                limit,
                decompressed: false,
            } => write!(f, "too large: the response is over {}", size(*limit)),
            FetchError::TooLarge {
                limit,
                decompressed: true,
            } => write!(
                f,
                "too large: the response is over {} once decompressed",
                size(*limit)
            ),
            FetchError::TooManyRedirects { limit } => {
                write!(f, "too many redirects (more than {limit})")
            }
            FetchError::Http { status } => {
                let reason = StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason());
                match reason {
                    Some(reason) => write!(f, "HTTP {status} {reason}"),
                    None => write!(f, "HTTP {status}"),
                }
            }
            FetchError::Network(message) => write!(f, "network error: {message}"),
            FetchError::BadUrl(message) => write!(f, "bad URL: {message}"),
            FetchError::Decode(message) => write!(f, "could not decode the response: {message}"),
        }
    }
}

impl StdError for FetchError {}

fn size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    match bytes {
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= 1024 && b % 1024 == 0 => format!("{} KiB", b / 1024),
        b => format!("{b} bytes"),
    }
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

/// Reads the body within both caps (see the module documentation), undoing
/// every content encoding as it streams in: nothing but the decompressed
/// bytes is kept, and those in a [`Body`], so a bomb costs a few buffers
/// until it passes the decompressed cap and is refused.
fn read_body(
    response: ureq::http::Response<ureq::Body>,
    limits: &Limits,
) -> Result<Body, FetchError> {
    let as_sent = FetchError::TooLarge {
        limit: limits.max_body_bytes,
        decompressed: false,
    };
    let headers = response.headers();
    let length = header_str(headers, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if length.is_some_and(|n| n > limits.max_body_bytes) {
        return Err(as_sent);
    }
    // Still present only if ureq did not undo it (it undoes plain `gzip`).
    let encodings: Vec<String> = headers
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty() && v != "identity")
        .collect();
    // What was sent is capped on the wire by `net`'s counting transport.
    let mut reader: Box<dyn Read> = Box::new(response.into_body().into_with_config().reader());
    for encoding in encodings.iter().rev() {
        reader = match encoding.as_str() {
            "gzip" | "x-gzip" => Box::new(MultiGzDecoder::new(io::BufReader::new(reader))),
            "deflate" => {
                let mut first = [0u8; 2];
                let n = read_up_to(&mut reader, &mut first).map_err(|e| read_error(&e, limits))?;
                let reader = io::Cursor::new(first).take(n as u64).chain(reader);
                if is_zlib(&first[..n]) {
                    Box::new(ZlibDecoder::new(reader))
                } else {
                    Box::new(DeflateDecoder::new(reader))
                }
            }
            other => {
                return Err(FetchError::Decode(format!(
                    "unsupported Content-Encoding {other:?}"
                )));
            }
        };
    }
    let mut body = Body::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(body),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(&e, limits)),
        };
        if body.len() + n as u64 > limits.max_decompressed_bytes {
            return Err(FetchError::TooLarge {
                limit: limits.max_decompressed_bytes,
                decompressed: true,
            });
        }
        body.write_all(&buf[..n])
            .map_err(|e| FetchError::Decode(format!("could not keep the response: {e}")))?;
    }
}

/// Fills `buf` unless the reader ends first; how much was read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A failed body read: the connection's own failures as [`classify`] names
/// them, and data that does not decompress as [`FetchError::Decode`].
fn read_error(e: &io::Error, limits: &Limits) -> FetchError {
    match classify(e, limits) {
        FetchError::Network(_)
            if matches!(
                e.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData
            ) =>
        {
            FetchError::Decode(format!("invalid compressed data: {e}"))
        }
        other => other,
    }
}

/// A response body, decompressed: in memory up to [`Body::IN_MEMORY_BYTES`],
/// past that in a temporary file that has no name (it is gone when the
/// `Body` is), so a poll's fetches hold little memory whatever they bring.
#[derive(Default)]
pub struct Body {
    memory: Vec<u8>,
    file: Option<std::fs::File>,
    len: u64,
}

impl Body {
    /// What a body keeps in memory before it moves to a file.
    pub const IN_MEMORY_BYTES: usize = 256 * 1024;

    /// A body that arrived whole (a WebSub delivery, already bounded by its
    /// route's body limit).
    pub fn from_vec(bytes: Vec<u8>) -> Body {
        Body {
            len: bytes.len() as u64,
            memory: bytes,
            file: None,
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The body from its start, to read as a stream.
    pub fn reader(&self) -> io::Result<BodyReader<'_>> {
        Ok(match &self.file {
            None => BodyReader::Memory(io::Cursor::new(&self.memory)),
            Some(file) => {
                let mut file = file.try_clone()?;
                file.rewind()?;
                BodyReader::File(io::BufReader::new(file))
            }
        })
    }

    /// All of it in memory (a page to look for feeds in, when following).
    pub fn to_vec(&self) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.len as usize);
        self.reader()?.read_to_end(&mut out)?;
        Ok(out)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.file.is_none() && self.memory.len() + bytes.len() > Self::IN_MEMORY_BYTES {
            let mut file = temporary_file()?;
            file.write_all(&self.memory)?;
            self.memory = Vec::new();
            self.file = Some(file);
        }
        match &mut self.file {
            Some(file) => file.write_all(bytes)?,
            None => self.memory.extend_from_slice(bytes),
        }
        self.len += bytes.len() as u64;
        Ok(())
    }
}

impl From<Vec<u8>> for Body {
    fn from(memory: Vec<u8>) -> Body {
        Body {
            len: memory.len() as u64,
            memory,
            file: None,
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Body({} bytes{})",
            self.len,
            if self.file.is_some() {
                ", in a file"
            } else {
                ""
            }
        )
    }
}

/// Bodies are equal when their bytes are (tests compare outcomes).
impl PartialEq for Body {
    fn eq(&self, other: &Body) -> bool {
        self.len == other.len
            && match (self.to_vec(), other.to_vec()) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            }
    }
}

impl Eq for Body {}

/// [`Body::reader`]: the bytes in memory, or the file's.
pub enum BodyReader<'a> {
    Memory(io::Cursor<&'a Vec<u8>>),
    File(io::BufReader<std::fs::File>),
}

impl Read for BodyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            BodyReader::Memory(r) => r.read(buf),
            BodyReader::File(r) => r.read(buf),
        }
    }
}

impl Seek for BodyReader<'_> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        match self {
            BodyReader::Memory(r) => r.seek(pos),
            BodyReader::File(r) => r.seek(pos),
        }
    }
}

/// A file in the temporary directory (`TMPDIR`, else /tmp) that only this
/// process can reach: opened with `O_TMPFILE` where the system has it, else
/// created under a random name and unlinked at once.
fn temporary_file() -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = std::env::temp_dir();
    let unnamed = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(&dir);
    if let Ok(file) = unnamed {
        return Ok(file);
    }
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| io::Error::other(e.to_string()))?;
    let path = dir.join(format!("roost-body-{:016x}", u64::from_le_bytes(random)));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

/// `deflate` is meant to be zlib (RFC 9110) but some servers send raw
/// deflate: a zlib stream starts with a header whose check bits make it a
/// multiple of 31, with compression method 8.
fn is_zlib(data: &[u8]) -> bool {
    match data {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

/// The next error in a chain, looking inside the boxes ureq and io use
/// (`io::Error::source` skips the error it wraps).
fn cause<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a (dyn StdError + 'static)> {
    if let Some(e) = e.downcast_ref::<ureq::Error>() {
        return match e {
            ureq::Error::Io(io) | ureq::Error::Decompress(_, io) => Some(io),
            ureq::Error::Other(inner) => Some(&**inner),
            _ => None,
        };
    }
    if let Some(io) = e.downcast_ref::<io::Error>() {
        return io.get_ref().map(|inner| inner as &(dyn StdError + 'static));
    }
    e.source()
}

/// Turns what ureq or a body read reports into what the feed records.
fn classify(e: &(dyn StdError + 'static), limits: &Limits) -> FetchError {
    let chain = || std::iter::successors(Some(e), |e| cause(*e));
    for e in chain() {
        if let Some(refused) = e.downcast_ref::<net::Refused>() {
            return FetchError::Refused {
                host: refused.host.clone(),
                addr: refused.addr,
            };
        }
        if e.is::<net::ReceiveLimitExceeded>() {
            return FetchError::TooLarge {
                limit: limits.max_body_bytes,
                decompressed: false,
            };
        }
        if matches!(e.downcast_ref(), Some(ureq::Error::Timeout(_)))
            || e.downcast_ref::<io::Error>().is_some_and(|io| {
                matches!(
                    io.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                )
            })
        {
            return FetchError::Timeout;
        }
    }
    for e in chain() {
        if let Some(e) = e.downcast_ref::<ureq::Error>() {
            match e {
                ureq::Error::HostNotFound => return FetchError::Network("host not found".into()),
                ureq::Error::BadUri(message) => return FetchError::BadUrl(message.clone()),
                ureq::Error::Decompress(..) => return FetchError::Decode(e.to_string()),
                ureq::Error::TooManyRedirects => {
                    return FetchError::TooManyRedirects {
                        limit: limits.max_redirects,
                    };
                }
                ureq::Error::Tls(_) | ureq::Error::Rustls(_) => {
                    return FetchError::Network(format!("TLS: {e}"));
                }
                _ => {}
            }
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            let message = match io.kind() {
                io::ErrorKind::ConnectionRefused => "connection refused",
                io::ErrorKind::ConnectionReset => "connection reset",
                io::ErrorKind::ConnectionAborted => "connection aborted",
                io::ErrorKind::UnexpectedEof => {
                    "connection closed before the response was complete"
                }
                io::ErrorKind::HostUnreachable => "host unreachable",
                io::ErrorKind::NetworkUnreachable => "network unreachable",
                _ => continue,
            };
            return FetchError::Network(message.into());
        }
    }
    FetchError::Network(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use std::io::Write;
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

    /// A document up to the cap is kept whole, past `Body::IN_MEMORY_BYTES`
    /// in a file; encodings stacked on one another are undone as a stream
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
        let mut body = Body::default();
        body.write_all(&doc).unwrap();
        assert!(body.file.is_some() && body.memory.is_empty());
        assert_eq!(body.to_vec().unwrap(), *doc);
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
