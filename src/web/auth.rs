//! The owner's session: password hashing, session tokens, cookies, CSRF
//! tokens and the failed-login throttle. Does not render pages.

use crate::store;
use crate::web::http::Request;
use anyhow::{Context, Result};
use argon2::{PasswordHasher, PasswordVerifier};
use rusqlite::Connection;
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "roost_session";
/// The login form's own CSRF cookie (double submit): there is no session yet to bind to.
pub const LOGIN_COOKIE: &str = "roost_login";
pub const SESSION_SECONDS: i64 = 30 * 24 * 3600;

/// Failed logins allowed per address, and from everywhere, within the window.
const FAILURES_PER_ADDRESS: i64 = 5;
const FAILURES_OVERALL: i64 = 50;
pub const FAILURE_WINDOW_SECONDS: i64 = 15 * 60;

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

/// A signed-in owner: the hash that names the session, and the CSRF token
/// every form must carry, derived from the secret cookie so it needs no storage.
#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: String,
    pub csrf: String,
}

impl Session {
    fn from_token(token: &str) -> Session {
        Session {
            token_hash: sha256_hex(token.as_bytes()),
            csrf: sha256_hex(format!("csrf:{token}").as_bytes())[..32].to_string(),
        }
    }
}

/// The request's session, when its cookie names a live one.
pub fn current_session(conn: &Connection, req: &Request, now: i64) -> Result<Option<Session>> {
    let Some(token) = req.cookie(SESSION_COOKIE) else {
        return Ok(None);
    };
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let session = Session::from_token(token);
    Ok(store::sessions::is_valid(conn, &session.token_hash, now)?.then_some(session))
}

/// Starts a session; returns the `Set-Cookie` value.
pub fn start_session(conn: &Connection, req: &Request, now: i64) -> Result<String> {
    let token = random_token()?;
    let session = Session::from_token(&token);
    store::sessions::create(conn, &session.token_hash, now, now + SESSION_SECONDS)?;
    Ok(cookie(req, SESSION_COOKIE, &token, SESSION_SECONDS))
}

/// A cookie scoped to where the node is mounted; `Secure` over HTTPS.
pub fn cookie(req: &Request, name: &str, value: &str, max_age: i64) -> String {
    let secure = if req.https { "; Secure" } else { "" };
    format!(
        "{name}={value}; Path={}/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
        req.base
    )
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

/// `Some(seconds to wait)` when too many logins failed recently.
pub fn login_throttled(conn: &Connection, remote_addr: &str, now: i64) -> Result<Option<i64>> {
    let (from_here, overall) =
        store::sessions::login_failures_since(conn, remote_addr, now - FAILURE_WINDOW_SECONDS)
            .context("checking the login throttle")?;
    Ok(
        (from_here >= FAILURES_PER_ADDRESS || overall >= FAILURES_OVERALL)
            .then_some(FAILURE_WINDOW_SECONDS),
    )
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
