//! The one place an outgoing HTTP client is built. Every limit a fetch obeys
//! is written here, and so is the guard that keeps fetches away from internal
//! addresses. Polling (which fetches feeds, `poll::fetch`) builds on `agent`,
//! and so do the protocols' jobs (`send`: verifying, delivering, subscribing).
//!
//! # The internal-address guard
//!
//! The check is made on the addresses the socket is opened to, not on the URL
//! string, so `http://0x7f.1/`, `http://[::ffff:127.0.0.1]/` and a name that
//! resolves to 127.0.0.1 are all caught:
//!
//! 1. [`GuardResolver`] wraps ureq's resolver. It resolves the host, drops
//!    every address [`is_internal`] names, and errors with [`Refused`] if none
//!    is left. ureq hands exactly this list to its TCP connector, which
//!    connects to these addresses and never looks the name up again, so a DNS
//!    answer that changes between the check and the connect (rebinding) cannot
//!    slip through: the checked address *is* the connected one.
//! 2. [`GuardConnector`] runs first in the connector chain, right before the
//!    TCP connect, and refuses if any address it is about to connect to is
//!    internal. After (1) it never fires; it is there so that the guard holds
//!    at connect time even if the resolver is ever swapped or bypassed.
//!
//! ureq runs the resolver on every request, before it even looks in its
//! connection pool, and the agent follows no redirects itself
//! (`max_redirects(0)`): `poll::fetch` follows each hop as a new request, so
//! each hop is resolved and checked afresh.
//!
//! ureq gives a resolver or a transport no handle on the request it serves,
//! so what the request in hand permits (`allow_private_addresses`, and how
//! many bytes its response may take) is told to them through a per-thread
//! [`FetchScope`]. ureq is blocking and does all of a request's I/O on the
//! calling thread. Outside a scope the guard is on and nothing is counted.

pub mod send;

use std::cell::Cell;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use ureq::Error;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, DefaultConnector, NextTimeout, Transport,
};

/// Time to open the connection (TCP and TLS) to one host.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for a whole fetch: every redirect hop, from the first connect to the
/// last byte of the body. A server that drips a byte a second cannot hold a
/// poll run for longer than this.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Redirects followed before a fetch gives up.
pub const MAX_REDIRECTS: u32 = 5;
/// The largest body accepted as it comes over the wire (compressed or not).
pub const MAX_BODY_BYTES: u64 = 16 * 1024 * 1024;
/// The largest body accepted once decompressed (gzip bombs stop here): the
/// cap on a document's bytes read, high enough for a real archive. A poll
/// does not hold them: `poll::fetch` keeps a body past 256 KiB in a
/// temporary file and `poll::parse` reads it as a stream.
pub const MAX_DECOMPRESSED_BYTES: u64 = 16 * 1024 * 1024;
/// The largest status line plus headers accepted. Counted on top of
/// `MAX_BODY_BYTES` in what a response may take on the wire.
pub const MAX_HEADER_BYTES: u64 = 64 * 1024;
/// The only URL schemes fetched.
pub const SCHEMES: [&str; 2] = ["http", "https"];

/// The `User-Agent` every request names: roost, its version, and the node.
pub fn user_agent(node_url: &str) -> String {
    format!("roost/{} (+{node_url})", env!("CARGO_PKG_VERSION"))
}

/// The HTTP client. It never takes a proxy from the environment: under CGI a
/// request's `Proxy:` header arrives as `HTTP_PROXY` (httpoxy), and ureq's
/// default would obey it. It refuses internal addresses (see the module
/// documentation), counts what each response takes on the wire, follows no
/// redirects itself and returns every status as a response.
pub fn agent(node_url: &str) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .proxy(None)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(TOTAL_TIMEOUT))
        .max_redirects(0)
        .max_response_header_size(MAX_HEADER_BYTES as usize)
        .http_status_as_error(false)
        .user_agent(user_agent(node_url))
        .build();
    let connector = GuardConnector
        .chain(DefaultConnector::new())
        .chain(CountingConnector);
    ureq::Agent::with_parts(config, connector, GuardResolver::default())
}

/// Redirects [`own_site_agent`] follows (http to https, a missing slash).
pub const OWN_SITE_MAX_REDIRECTS: u32 = 3;

/// The client `roost doctor` looks at the owner's *own* site with. That site
/// may rightly be on loopback or a private network (the host's own address,
/// an intranet, a test machine), so this client has no internal-address
/// guard; it is never given a URL that came from outside: only ones built
/// from the owner's `url` setting. Otherwise the limits of [`agent`]: the
/// same timeouts and header cap, no proxy from the environment, every status
/// returned as a response; it follows up to [`OWN_SITE_MAX_REDIRECTS`]
/// redirects itself. Read bodies with [`read_body_capped`].
pub fn own_site_agent(node_url: &str) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .proxy(None)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(TOTAL_TIMEOUT))
        .max_redirects(OWN_SITE_MAX_REDIRECTS)
        .max_redirects_will_error(false)
        .max_response_header_size(MAX_HEADER_BYTES as usize)
        .http_status_as_error(false)
        .user_agent(user_agent(node_url))
        .build();
    ureq::Agent::new_with_config(config)
}

/// A response's body, at most [`MAX_DECOMPRESSED_BYTES`] of it.
pub fn read_body_capped(response: &mut ureq::http::Response<ureq::Body>) -> Result<Vec<u8>, Error> {
    response
        .body_mut()
        .with_config()
        .limit(MAX_DECOMPRESSED_BYTES)
        .read_to_vec()
}

/// Whether a fetch must not connect to `ip`: loopback, private, link-local,
/// unique-local, carrier-grade NAT, multicast, broadcast, unspecified,
/// reserved, documentation and benchmarking ranges, and IPv6 forms that embed
/// such an IPv4 address (mapped, compatible, translated, NAT64, 6to4).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0 // "this network", 0.0.0.0 included (Linux connects it to loopback)
        || a == 10 // private
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT 100.64/10
        || a == 127 // loopback
        || (a == 169 && b == 254) // link-local
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168) // private
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224 // multicast, reserved, 255.255.255.255 broadcast
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    if ip.is_unspecified() || ip.is_loopback() {
        return true;
    }
    // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible): the IPv4 address.
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return is_internal_v4(embedded_v4(s[6], s[7]));
    }
    // ::ffff:0:a.b.c.d (IPv4-translated, SIIT, RFC 2765): the IPv4 address.
    if s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0 {
        return is_internal_v4(embedded_v4(s[6], s[7]));
    }
    // 64:ff9b::a.b.c.d (NAT64): the IPv4 address; 64:ff9b:1::/48 is local use.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_internal_v4(embedded_v4(s[6], s[7]));
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        return true;
    }
    // 2002:a.b.c.d::/48 (6to4): the IPv4 address.
    if s[0] == 0x2002 {
        return is_internal_v4(embedded_v4(s[1], s[2]));
    }
    s[..4] == [0x100, 0, 0, 0] // discard-only 100::/64
        || (s[0] == 0x2001 && s[1] == 0) // Teredo 2001::/32
        || (s[0] == 0x2001 && s[1] == 2 && s[2] == 0) // benchmarking 2001:2::/48
        || (s[0] == 0x2001 && (s[1] & 0xfff0) == 0x10) // ORCHID 2001:10::/28
        || (s[0] == 0x2001 && s[1] == 0xdb8) // documentation
        || (s[0] == 0x3fff && s[1] < 0x1000) // documentation 3fff::/20
        || (s[0] & 0xfe00) == 0xfc00 // unique-local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (s[0] & 0xff00) == 0xff00 // multicast
}

/// A connection the guard would not make. ureq carries it as
/// `ureq::Error::Other`; `poll::fetch` finds it and reports it as such.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The host as the URL names it (brackets stripped from IPv6 literals).
    pub host: String,
    /// The internal address it resolved to.
    pub addr: IpAddr,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allow = "roost config allow_private_addresses true allows it";
        if self.host.parse::<IpAddr>() == Ok(self.addr) {
            write!(f, "refused: {} is an internal address ({allow})", self.addr)
        } else {
            write!(
                f,
                "refused: {} resolves to {}, an internal address ({allow})",
                self.host, self.addr
            )
        }
    }
}

impl std::error::Error for Refused {}

/// A response that took more bytes on the wire than its fetch allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveLimitExceeded;

impl fmt::Display for ReceiveLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("response larger than the fetch allows")
    }
}

impl std::error::Error for ReceiveLimitExceeded {}

thread_local! {
    static ALLOW_PRIVATE: Cell<bool> = const { Cell::new(false) };
    /// Bytes the response in hand may still take on the wire; `None`: no limit.
    static RECEIVE_LEFT: Cell<Option<u64>> = const { Cell::new(None) };
    #[cfg(test)]
    static TREAT_AS_PUBLIC: Cell<Option<SocketAddr>> = const { Cell::new(None) };
}

/// What the fetch in hand on this thread permits. Entered by `poll::fetch`
/// for the length of a fetch; the previous state comes back when it drops.
#[must_use]
pub struct FetchScope {
    allow_private: bool,
    receive_left: Option<u64>,
}

impl FetchScope {
    /// Requests made on this thread until the scope drops connect to internal
    /// addresses only if `allow_private`.
    pub fn enter(allow_private: bool) -> FetchScope {
        FetchScope {
            allow_private: ALLOW_PRIVATE.replace(allow_private),
            receive_left: RECEIVE_LEFT.replace(None),
        }
    }

    /// The next response may take at most `bytes` on the wire: status line,
    /// headers, chunk framing and body as sent (before decompression).
    pub fn limit_next_response(&self, bytes: u64) {
        RECEIVE_LEFT.set(Some(bytes));
    }
}

impl Drop for FetchScope {
    fn drop(&mut self) {
        ALLOW_PRIVATE.set(self.allow_private);
        RECEIVE_LEFT.set(self.receive_left);
    }
}

/// Tests have no public address to stand for "a host on the internet": this
/// makes one loopback listener count as public on this thread, so that the
/// hop logic can be tested with the guard on.
#[cfg(test)]
pub(crate) fn treat_as_public_for_tests(addr: Option<SocketAddr>) {
    TREAT_AS_PUBLIC.set(addr);
}

fn refuses(addr: SocketAddr) -> bool {
    #[cfg(test)]
    if TREAT_AS_PUBLIC.get() == Some(addr) {
        return false;
    }
    !ALLOW_PRIVATE.get() && is_internal(addr.ip())
}

fn host_of(uri: &Uri) -> String {
    let host = uri.host().unwrap_or_default();
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned()
}

/// ureq's resolver, less the addresses the guard refuses.
#[derive(Debug, Default)]
pub struct GuardResolver {
    inner: DefaultResolver,
}

impl Resolver for GuardResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, Error> {
        let resolved = self.inner.resolve(uri, config, timeout)?;
        let mut kept = self.empty();
        for addr in resolved.iter().filter(|a| !refuses(**a)) {
            kept.push(*addr);
        }
        match resolved.iter().find(|a| refuses(**a)) {
            Some(internal) if kept.is_empty() => Err(Error::Other(Box::new(Refused {
                host: host_of(uri),
                addr: internal.ip(),
            }))),
            _ => Ok(kept),
        }
    }
}

/// First in the connector chain: refuses before the TCP connect if any
/// address about to be connected to is internal.
#[derive(Debug)]
pub struct GuardConnector;

impl Connector<()> for GuardConnector {
    type Out = ();

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<()>, Error> {
        if let Some(internal) = details.addrs.iter().find(|a| refuses(**a)) {
            return Err(Error::Other(Box::new(Refused {
                host: host_of(details.uri),
                addr: internal.ip(),
            })));
        }
        Ok(chained)
    }
}

/// Last in the connector chain: wraps the connection (after TLS) in a
/// [`CountingTransport`].
#[derive(Debug)]
pub struct CountingConnector;

impl Connector<Box<dyn Transport>> for CountingConnector {
    type Out = CountingTransport;

    fn connect(
        &self,
        _: &ConnectionDetails,
        chained: Option<Box<dyn Transport>>,
    ) -> Result<Option<CountingTransport>, Error> {
        Ok(chained.map(|inner| CountingTransport { inner }))
    }
}

/// Counts the bytes each read adds to the input buffer against the thread's
/// [`FetchScope`] budget, and fails the read with [`ReceiveLimitExceeded`]
/// once the budget is spent. This is how the cap on the body *as sent* holds
/// even for gzip bodies, which ureq decompresses before the caller sees them.
#[derive(Debug)]
pub struct CountingTransport {
    inner: Box<dyn Transport>,
}

impl Transport for CountingTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        let before = self.inner.buffers().input().len();
        let progress = self.inner.await_input(timeout)?;
        let received = self.inner.buffers().input().len().saturating_sub(before) as u64;
        if let Some(left) = RECEIVE_LEFT.get() {
            match left.checked_sub(received) {
                Some(left) => RECEIVE_LEFT.set(Some(left)),
                None => {
                    RECEIVE_LEFT.set(Some(0));
                    return Err(Error::Other(Box::new(ReceiveLimitExceeded)));
                }
            }
        }
        Ok(progress)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A request made with HTTP_PROXY pointing at a listener must go straight
    /// to the target; the would-be proxy sees no connection.
    #[test]
    fn environment_proxy_is_ignored() {
        let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
        proxy.set_nonblocking(true).unwrap();
        let proxy_addr = proxy.local_addr().unwrap();
        let target = TcpListener::bind("127.0.0.1:0").unwrap();
        let target_addr = target.local_addr().unwrap();
        let served = Arc::new(AtomicUsize::new(0));
        let served_by_target = served.clone();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = target.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).unwrap();
            served_by_target.fetch_add(1, Ordering::SeqCst);
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .unwrap();
        });
        // SAFETY: this test is the only one in the crate that touches these variables.
        unsafe {
            std::env::set_var("HTTP_PROXY", format!("http://{proxy_addr}"));
            std::env::set_var("http_proxy", format!("http://{proxy_addr}"));
            std::env::set_var("ALL_PROXY", format!("http://{proxy_addr}"));
        }
        // The target is on loopback, which the guard refuses unless allowed.
        let _scope = FetchScope::enter(true);
        let mut response = agent("http://node.example/")
            .get(&format!("http://{target_addr}/feed"))
            .call()
            .expect("direct request succeeds");
        assert_eq!(response.body_mut().read_to_string().unwrap(), "ok");
        server.join().unwrap();
        assert_eq!(served.load(Ordering::SeqCst), 1);
        assert!(
            proxy.accept().is_err(),
            "the proxy from the environment was contacted"
        );
    }

    #[test]
    fn internal_addresses() {
        let internal = [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.0.9",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.10",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "::127.0.0.1",
            "::10.0.0.1",
            "::ffff:0:127.0.0.1",
            "::ffff:0:7f00:1",
            "::ffff:0:169.254.169.254",
            "64:ff9b::127.0.0.1",
            "64:ff9b::192.168.0.1",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:c0a8:101::",
            "100::1",
            "2001::1",
            "2001:2::1",
            "2001:10::1",
            "2001:db8::1",
            "3fff::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
        ];
        for ip in internal {
            assert!(is_internal(ip.parse().unwrap()), "{ip} should be internal");
        }
        let public = [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "126.255.255.255",
            "128.0.0.1",
            "169.253.1.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "192.167.1.1",
            "192.169.1.1",
            "198.17.1.1",
            "198.20.1.1",
            "203.0.114.1",
            "223.255.255.255",
            "2606:4700::1111",
            "2a00:1450:4001::200e",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "::ffff:0:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:808:808::1",
            "4000::1",
        ];
        for ip in public {
            assert!(!is_internal(ip.parse().unwrap()), "{ip} should be public");
        }
    }

    #[test]
    fn refusal_reads_well() {
        let by_name = Refused {
            host: "example.org".into(),
            addr: "127.0.0.1".parse().unwrap(),
        };
        assert_eq!(
            by_name.to_string(),
            "refused: example.org resolves to 127.0.0.1, an internal address \
             (roost config allow_private_addresses true allows it)"
        );
        let literal = Refused {
            host: "::1".into(),
            addr: "::1".parse().unwrap(),
        };
        assert_eq!(
            literal.to_string(),
            "refused: ::1 is an internal address \
             (roost config allow_private_addresses true allows it)"
        );
    }
}
