//! What a failed fetch is ([`FetchError`], one line for a person), and how
//! what ureq or a body read reports becomes one. Does not fetch.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::net::IpAddr;

use ureq::http::StatusCode;

use super::Limits;
use crate::net;

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

/// A failed body read: the connection's own failures as [`classify`] names
/// them, and data that does not decompress as [`FetchError::Decode`].
pub(super) fn read_error(e: &io::Error, limits: &Limits) -> FetchError {
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
pub(super) fn classify(e: &(dyn StdError + 'static), limits: &Limits) -> FetchError {
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
