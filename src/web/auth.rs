//! The owner's session: password hashing, session tokens, cookies, CSRF
//! tokens, the same-origin check of state-changing requests and the
//! failed-login throttle. Does not render pages.

use crate::store;
use crate::web::http::Request;
use anyhow::{Context, Result};
use argon2::{PasswordHasher, PasswordVerifier};
use rusqlite::Connection;
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "roost_session";
/// The login form's own CSRF cookie (double submit): there is no session yet to bind to.
pub const LOGIN_COOKIE: &str = "roost_login";
/// Names a post sent after the session ended (`store::drafts`), until the
/// owner logs in again and sends it.
pub const DRAFT_COOKIE: &str = "roost_draft";
pub const DRAFT_SECONDS: i64 = 3600;
/// Every name the session cookie can have (see `Cookies`), for the page
/// cache, which decides before the settings are read.
const SESSION_COOKIE_NAMES: [&str; 3] = [
    SESSION_COOKIE,
    "__Secure-roost_session",
    "__Host-roost_session",
];
pub const SESSION_SECONDS: i64 = 30 * 24 * 3600;

/// Failed logins from one address (an IPv6 /64) allowed before each further
/// attempt from there waits: 1 s after the next failure, then 2, 4, 8 s...
/// up to `MAX_LOGIN_DELAY_SECONDS`. Failures elsewhere never slow this
/// address: there is no limit on all addresses together, which anyone
/// could use to keep the owner out.
const FREE_FAILURES: i64 = 3;
pub const MAX_LOGIN_DELAY_SECONDS: i64 = 15 * 60;
/// How long a failure counts. Longer than the largest delay, so that an
/// address guessing at that pace stays at it rather than starting afresh.
pub const FAILURE_MEMORY_SECONDS: i64 = 24 * 3600;

/// Argon2id with the crate's defaults, which are OWASP's recommendation
/// (19 MiB, 2 iterations, 1 lane).
pub fn hash_password(password: &str) -> Result<String> {
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
}

pub fn verify_password(password: &str, stored_hash: &str) -> bool {
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), stored_hash)
        .is_ok()
}

/// What a password must be: at least 8 characters (checked wherever one is chosen).
pub fn check_password_strength(password: &str) -> Result<()> {
    if password.chars().count() < 8 {
        anyhow::bail!("the password is too short: use at least 8 characters");
    }
    Ok(())
}

/// 256 random bits, hex.
pub fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    Ok(hex(&bytes))
}

/// Whether `text` has the shape of a `random_token` (so it may be reused).
pub fn is_token(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// `sha256_hex` for short inputs on the page-cache path: the same digest,
/// by code that does not run `cpuid` (see `render::const_sha256`).
pub fn sha256_hex_portable(data: &[u8]) -> String {
    hex(&crate::render::const_sha256::sha256(data))
}

/// Lower-case hex. (Not `format!` per byte: this runs on every page-cache
/// lookup, and that was a tenth of a kept page's instructions.)
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

pub use crate::store::sessions::Session;

impl Session {
    fn from_token(token: &str) -> Session {
        Session {
            token_hash: sha256_hex(token.as_bytes()),
            csrf: sha256_hex(format!("csrf:{token}").as_bytes())[..32].to_string(),
        }
    }
}

/// The request's session, when its cookie names a live one.
pub fn current_session(
    conn: &Connection,
    req: &Request,
    cookies: &Cookies,
    now: i64,
) -> Result<Option<Session>> {
    let Some(token) = cookies.get(req, SESSION_COOKIE) else {
        return Ok(None);
    };
    if !is_token(token) {
        return Ok(None);
    }
    let session = Session::from_token(token);
    Ok(store::sessions::is_valid(conn, &session.token_hash, now)?.then_some(session))
}

/// Whether the request carries a session cookie under any name a site gives it.
pub fn has_session_cookie(req: &Request) -> bool {
    SESSION_COOKIE_NAMES
        .iter()
        .any(|name| req.cookie(name).is_some())
}

/// Starts a session; returns the `Set-Cookie` value.
pub fn start_session(conn: &Connection, cookies: &Cookies, now: i64) -> Result<String> {
    let token = random_token()?;
    let session = Session::from_token(&token);
    store::sessions::create(conn, &session.token_hash, now, now + SESSION_SECONDS)?;
    Ok(cookies.set(SESSION_COOKIE, &token, SESSION_SECONDS))
}

/// How this site's cookies are named and scoped, from the configured `url`
/// (the request's `Host` and mount are the client's to choose):
/// - `Secure` whenever the site or the request is https;
/// - the `__Host-` prefix on a site at the root of an https origin, `__Secure-`
///   below it: a browser accepts such a cookie only over https (and `__Host-`
///   only from this very host), so neither plain http nor a sibling host can
///   plant a session or login cookie;
/// - `Path` is the site's path, the same however the site was reached
///   (not `/roost.cgi/` when the script is addressed directly).
#[derive(Debug, Clone)]
pub struct Cookies {
    prefix: &'static str,
    path: String,
    secure: bool,
}

impl Cookies {
    /// `site_url` is the `url` setting; when it is not an absolute URL (a
    /// node not set up), the request's mount and scheme are all there is.
    pub fn for_site(site_url: &str, req: &Request) -> Cookies {
        match url::Url::parse(site_url) {
            Ok(url) if url.scheme() == "https" => Cookies {
                prefix: if url.path() == "/" {
                    "__Host-"
                } else {
                    "__Secure-"
                },
                path: url.path().to_string(),
                secure: true,
            },
            Ok(url) => Cookies {
                prefix: "",
                path: url.path().to_string(),
                secure: req.https,
            },
            Err(_) => Cookies {
                prefix: "",
                path: format!("{}/", req.base),
                secure: req.https,
            },
        }
    }

    /// True when the site is https: its cookies are `Secure`, and a login
    /// over plain http must move to https first (the browser would drop
    /// the cookie, or worse, an older one would send it in clear).
    pub fn site_is_https(&self) -> bool {
        !self.prefix.is_empty()
    }

    /// The cookie `name` as this site names it (with its prefix).
    pub fn name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The request's cookie `name`, under this site's name for it only.
    pub fn get<'r>(&self, req: &'r Request, name: &str) -> Option<&'r str> {
        req.cookie(&self.name(name))
    }

    /// A `Set-Cookie` value; `max_age` 0 removes the cookie.
    pub fn set(&self, name: &str, value: &str, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
            self.name(name),
            self.path
        )
    }
}

/// Why a state-changing request is refused as sent from another site, or
/// `None`. This is the browser's own word, checked before any form is read,
/// on top of the CSRF token: Fetch Metadata saying `cross-site`, or an
/// `Origin` (without one, a `Referer`) whose scheme, host and port are not
/// those of the configured `url` (`Origin: null` included). A request with
/// neither header (not a browser, or a page that hides its address) is
/// left to the token.
pub fn cross_site_refusal(req: &Request, site_url: &str) -> Option<String> {
    let ours = url::Url::parse(site_url).ok().map(|u| u.origin());
    let our_name = ours
        .as_ref()
        .filter(|o| o.is_tuple())
        .map(|o| o.ascii_serialization());
    let fix = match &our_name {
        Some(name) => format!("Open this site at {name} and send the form from there."),
        None => "The owner must set this site's address: roost config url URL.".to_string(),
    };
    if req
        .header("sec-fetch-site")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("cross-site"))
    {
        return Some(format!(
            "This form was sent from another site, so it was refused. {fix}"
        ));
    }
    let (header, value) = match (req.header("origin"), req.header("referer")) {
        (Some(origin), _) => ("Origin", origin.trim()),
        (None, Some(referer)) => ("Referer", referer.trim()),
        (None, None) => return None,
    };
    let theirs = url::Url::parse(value).ok().map(|u| u.origin());
    if our_name.is_some() && theirs == ours {
        return None;
    }
    let from: String = value.chars().take(100).collect();
    Some(format!(
        "This form was sent from {from} ({header}), not from this site, so it was refused. {fix}"
    ))
}

/// What the node answers to a challenge, to prove it is itself: only a
/// holder of `secret` (this node's database) can compute it, and the
/// secret cannot be learnt from it.
pub fn node_proof(secret: &str, challenge: &str) -> String {
    sha256_hex(format!("roost node proof\n{secret}\n{challenge}").as_bytes())
}

/// Constant-time comparison, so a token cannot be guessed byte by byte from timing.
pub fn tokens_match(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Who a login attempt counts against: the client's address, or for IPv6
/// its /64 (one host is usually given a whole /64, so its single addresses
/// cost an attacker nothing). An IPv4 address written as IPv6 is the IPv4.
pub fn throttle_key(remote_addr: &str) -> String {
    let remote_addr = remote_addr.trim();
    // A proxy's X-Forwarded-For may name the client's port too: not a client of its own.
    let ip = remote_addr
        .parse::<std::net::IpAddr>()
        .or_else(|_| remote_addr.parse::<std::net::SocketAddr>().map(|a| a.ip()));
    match ip {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{prefix}/64")
            }
        },
        Ok(ip) => ip.to_string(),
        Err(_) => remote_addr.to_string(),
    }
}

/// The wait that `failures` recent failures impose after the last one.
fn login_delay(failures: i64) -> i64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let doublings = (failures - FREE_FAILURES).min(20) as u32;
    (1i64 << doublings).min(MAX_LOGIN_DELAY_SECONDS)
}

/// `Some(seconds still to wait)` when this address failed too often lately.
pub fn login_throttled(conn: &Connection, remote_addr: &str, now: i64) -> Result<Option<i64>> {
    let (failures, last) = store::sessions::login_failures_since(
        conn,
        &throttle_key(remote_addr),
        now - FAILURE_MEMORY_SECONDS,
    )
    .context("checking the login throttle")?;
    Ok(throttle_wait(failures, last, now))
}

/// `Some(seconds still to wait)` after `failures` recent failures, the
/// last at `last`: the login's rule, which the setup page's code uses too.
pub fn throttle_wait(failures: i64, last: Option<i64>, now: i64) -> Option<i64> {
    // Times are whole seconds: a failure at second `last` may have come at
    // its very end, so the wait runs to the end of second `last + delay`.
    let delay = login_delay(failures);
    let wait = match last {
        Some(last) if delay > 0 => (last + delay + 1 - now).min(delay),
        _ => 0,
    };
    (wait > 0).then_some(wait)
}

/// "N seconds" or "N minutes", for the page that says how long to wait.
pub fn wait_in_words(seconds: i64) -> String {
    match seconds {
        1 => "1 second".to_string(),
        s if s < 120 => format!("{s} seconds"),
        s => format!("{} minutes", (s + 59) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_hex_is_lower_case_hex_of_the_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hex(&[0x00, 0x0f, 0xf0, 0xff]), "000ff0ff");
        for data in [&b""[..], b"abc", &[7u8; 200]] {
            assert_eq!(sha256_hex_portable(data), sha256_hex(data));
        }
    }

    #[test]
    fn password_hash_round_trip_is_argon2id() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    fn request(headers: &[(&str, &str)]) -> Request {
        Request {
            method: "POST".into(),
            path: "/posts".into(),
            query: String::new(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: Vec::new(),
            base: "/roost.cgi".into(),
            https: false,
            remote_addr: String::new(),
            home: None,
            document_root: None,
        }
    }

    #[test]
    fn same_origin_is_the_configured_urls_scheme_host_and_port() {
        let site = "https://example.org/notes/";
        for same in [
            vec![],
            vec![("origin", "https://example.org")],
            vec![("origin", "https://EXAMPLE.org:443")],
            vec![("referer", "https://example.org/notes/login")],
            vec![("sec-fetch-site", "same-origin")],
            vec![("sec-fetch-site", "none")],
        ] {
            assert_eq!(cross_site_refusal(&request(&same), site), None, "{same:?}");
        }
        for foreign in [
            vec![("origin", "null")],
            vec![("origin", "https://evil.example")],
            vec![("origin", "http://example.org")],
            vec![("origin", "https://example.org:8443")],
            vec![("origin", "https://example.org.evil.example")],
            vec![("origin", "")],
            vec![("referer", "https://evil.example/example.org")],
            vec![("referer", "not a url")],
            vec![("sec-fetch-site", "cross-site")],
            // Origin decides even when the Referer looks right.
            vec![
                ("origin", "https://evil.example"),
                ("referer", "https://example.org/"),
            ],
            vec![
                ("origin", "https://example.org"),
                ("sec-fetch-site", "cross-site"),
            ],
        ] {
            assert!(
                cross_site_refusal(&request(&foreign), site).is_some(),
                "{foreign:?}"
            );
        }
        // A site without an address cannot tell: a browser's request is refused.
        let refusal = cross_site_refusal(&request(&[("origin", "http://a.example")]), "/");
        assert!(refusal.unwrap().contains("roost config url"));
    }

    #[test]
    fn cookies_are_scoped_by_the_configured_url() {
        let plain = request(&[]);
        let root = Cookies::for_site("https://example.org/", &plain);
        let set = root.set(SESSION_COOKIE, "v", 60);
        assert!(set.starts_with("__Host-roost_session=v; Path=/;"), "{set}");
        assert!(set.ends_with("; Secure"), "{set}");
        let below = Cookies::for_site("https://example.org/notes/", &plain);
        let set = below.set(LOGIN_COOKIE, "v", 60);
        assert!(
            set.starts_with("__Secure-roost_login=v; Path=/notes/;"),
            "{set}"
        );
        assert!(set.ends_with("; Secure"), "{set}");
        assert!(root.site_is_https() && below.site_is_https());
        let http = Cookies::for_site("http://127.0.0.1:8080/", &plain);
        let set = http.set(SESSION_COOKIE, "v", 60);
        assert!(set.starts_with("roost_session=v; Path=/;"), "{set}");
        assert!(!set.contains("Secure") && !http.site_is_https(), "{set}");
        // The prefixed name only: an unprefixed cookie (settable over http
        // or from a sibling host) is not this site's session.
        let sent = request(&[("cookie", "roost_session=a; __Host-roost_session=b")]);
        assert_eq!(root.get(&sent, SESSION_COOKIE), Some("b"));
        assert_eq!(http.get(&sent, SESSION_COOKIE), Some("a"));
        assert!(has_session_cookie(&sent));
        assert!(has_session_cookie(&request(&[(
            "cookie",
            "__Secure-roost_session=c"
        )])));
        assert!(!has_session_cookie(&request(&[(
            "cookie",
            "x_roost_session=c"
        )])));
    }

    #[test]
    fn login_delay_grows_per_address_and_ipv6_counts_per_64() {
        let delays: Vec<i64> = (0..8).map(login_delay).collect();
        assert_eq!(delays, [0, 0, 0, 1, 2, 4, 8, 16]);
        assert_eq!(login_delay(40), MAX_LOGIN_DELAY_SECONDS);
        assert_eq!(login_delay(i64::MAX), MAX_LOGIN_DELAY_SECONDS);
        assert_eq!(throttle_key("192.0.2.7"), "192.0.2.7");
        assert_eq!(throttle_key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(throttle_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(
            throttle_key("2001:db8:1:2:ffff::1"),
            throttle_key("2001:db8:1:2::9")
        );
        assert_ne!(
            throttle_key("2001:db8:1:3::1"),
            throttle_key("2001:db8:1:2::1")
        );
        assert_eq!(throttle_key(""), "");
        assert_eq!(throttle_key("192.0.2.7:4711"), "192.0.2.7");
        assert_eq!(throttle_key("[2001:db8:1:2::5]:443"), "2001:db8:1:2::/64");
        assert_eq!(wait_in_words(1), "1 second");
        assert_eq!(wait_in_words(64), "64 seconds");
        assert_eq!(wait_in_words(900), "15 minutes");
    }

    #[test]
    fn csrf_token_is_bound_to_the_session_token() {
        let a = Session::from_token(&"a".repeat(64));
        let b = Session::from_token(&"b".repeat(64));
        assert_ne!(a.csrf, b.csrf);
        assert_eq!(a.csrf, Session::from_token(&"a".repeat(64)).csrf);
        assert!(tokens_match(&a.csrf, &a.csrf.clone()));
        assert!(!tokens_match(&a.csrf, &b.csrf));
        assert!(!tokens_match("abc", "ab"));
    }
}
