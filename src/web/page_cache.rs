//! Rendered public pages kept in the data directory (`cache/`), so a request
//! for a page nobody changed is answered without opening the database: under
//! CGI, where every request is a new process, that is most of its cost.
//!
//! Correctness rests on one rule: every write transaction, after it commits,
//! writes a new random token to `cache/generation` (`invalidate`), and a page
//! is stored under the token read *before* the database was. A page stored
//! under token T therefore shows every commit made before T was written; any
//! later commit writes a later token, after which T's pages are not looked up.

use super::http::{Request, Response};
use std::fs;
use std::path::{Path, PathBuf};

const DIR: &str = "cache";
const GENERATION: &str = "generation";
/// A page kept under another format is not used (rendered again and kept
/// anew). 2: pages kept before schema step 4 may show a followed address
/// with its password.
const FORMAT: &str = "roost-page-cache 2";

/// The token pages are stored under; read before the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation(String);

/// Which page: the address and everything that shapes its links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key(String);

/// Only GET and HEAD from a visitor without a session cookie, asking for
/// a page (not ActivityStreams JSON), can share a page.
pub fn key(req: &Request) -> Option<Key> {
    if !matches!(req.method.as_str(), "GET" | "HEAD") || super::auth::has_session_cookie(req) {
        return None;
    }
    // A photo is read from its own file (`pages::media`): a kept copy
    // would only double it on disk.
    if req
        .path
        .starts_with(&format!("/{}/", crate::media::files::FOLDER))
    {
        return None;
    }
    // An ActivityPub client gets JSON for the same address (`/`, a post):
    // never a kept page, and never kept as one.
    if req
        .header("accept")
        .is_some_and(crate::activitypub::wants_activity_json)
    {
        return None;
    }
    // X-Forwarded-Proto is in the key, trusted or not: a page kept for a
    // request with one is never handed to a request without it.
    // The build is in the key: a page the old binary kept is never served
    // by a new one.
    let material = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        crate::build_id::BUILD_ID,
        req.path,
        req.query,
        req.base,
        req.https,
        req.header("x-forwarded-proto").unwrap_or("")
    );
    Some(Key(super::auth::sha256_hex_portable(material.as_bytes())
        [..32]
        .to_string()))
}

fn dir(home: &Path) -> PathBuf {
    home.join(DIR)
}

/// The current generation, creating the first one when there is none yet.
pub fn generation(home: &Path) -> Option<Generation> {
    let path = dir(home).join(GENERATION);
    if let Ok(token) = fs::read_to_string(&path) {
        let token = token.trim();
        if token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Some(Generation(token.to_string()));
        }
    }
    // Writing a token before reading the database is safe for the same
    // reason a writer's is: the reader sees everything committed before it.
    write_generation(home).ok()
}

pub fn lookup(home: &Path, generation: &Generation, key: &Key) -> Option<Response> {
    decode(fs::read(page_path(home, generation, key)).ok()?)
}

/// Keeps a response for others, if it is one that anyone may be given.
pub fn save(home: &Path, generation: &Generation, key: &Key, response: &Response) {
    let shareable = response.status == 200
        && response.header("Set-Cookie").is_none()
        && !response
            .header("Cache-Control")
            .is_some_and(|c| c.contains("private") || c.contains("no-store"));
    if !shareable {
        return;
    }
    let path = page_path(home, generation, key);
    if let Err(e) = write_atomically(&path, &encode(response)) {
        eprintln!("roost: could not keep a page in {}: {e}", path.display());
    }
}

/// Facts drawn from the database that a request answered without it needs
/// (the targets Webmention takes), kept under the generation like a page:
/// `name` is a fixed word, never the request's.
pub fn lookup_facts(home: &Path, generation: &Generation, name: &str) -> Option<Vec<u8>> {
    fs::read(facts_path(home, generation, name)).ok()
}

pub fn save_facts(home: &Path, generation: &Generation, name: &str, bytes: &[u8]) {
    let path = facts_path(home, generation, name);
    if let Err(e) = write_atomically(&path, bytes) {
        eprintln!("roost: could not keep {}: {e}", path.display());
    }
}

fn facts_path(home: &Path, generation: &Generation, name: &str) -> PathBuf {
    dir(home).join(format!("{}-{name}.facts", generation.0))
}

/// After a commit: a new generation, and the old pages removed. Failing to
/// write the token would leave stale pages served, so then the pages go too.
pub fn invalidate(home: &Path) {
    let token = write_generation(home);
    let Ok(entries) = fs::read_dir(dir(home)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let current = token.as_ref().is_ok_and(|t| name.starts_with(&t.0));
        if (name.ends_with(".page") || name.ends_with(".facts")) && !current {
            let _ = fs::remove_file(entry.path());
        }
    }
    if let Err(e) = token {
        eprintln!(
            "roost: could not renew the page cache in {}: {e}; cached pages were removed",
            dir(home).display()
        );
    }
}

fn write_generation(home: &Path) -> std::io::Result<Generation> {
    let token = super::auth::random_token().map_err(std::io::Error::other)?[..32].to_string();
    // Never create the data directory itself: a request that finds none
    // must not leave an empty one behind (the owner's data may be moving).
    match fs::create_dir(dir(home)) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    write_atomically(&dir(home).join(GENERATION), token.as_bytes())?;
    Ok(Generation(token))
}

fn page_path(home: &Path, generation: &Generation, key: &Key) -> PathBuf {
    dir(home).join(format!("{}-{}.page", generation.0, key.0))
}

/// Page-cache files are the owner's alone, like the database.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::atomic_file::replace(path, bytes, 0o600)
}

fn encode(response: &Response) -> Vec<u8> {
    let mut out = format!("{FORMAT}\n{}\n", response.status).into_bytes();
    for (name, value) in &response.headers {
        out.extend_from_slice(format!("{name}: {value}\n").as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(&response.body);
    out
}

/// The body stays in the buffer it was read into (a page is read on every hit).
fn decode(mut bytes: Vec<u8>) -> Option<Response> {
    let split = bytes.windows(2).position(|w| w == b"\n\n")?;
    let head = std::str::from_utf8(&bytes[..split]).ok()?;
    let mut lines = head.lines();
    if lines.next()? != FORMAT {
        return None;
    }
    let status = lines.next()?.parse().ok()?;
    let headers = lines
        .map(|line| {
            line.split_once(": ")
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect::<Option<Vec<_>>>()?;
    bytes.drain(..split + 2);
    Some(Response {
        status,
        headers,
        body: bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_home() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "roost-page-cache-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn rand_suffix() -> String {
        super::super::auth::random_token().unwrap()[..8].to_string()
    }

    fn page(body: &str) -> Response {
        Response::html(200, body.to_string())
            .with_header("ETag", "\"1-x\"")
            .with_header("Cache-Control", "no-cache")
    }

    #[test]
    fn a_page_is_found_until_the_next_write() {
        let home = temp_home();
        let key = Key("k".repeat(32));
        let generation = generation(&home).unwrap();
        assert!(lookup(&home, &generation, &key).is_none());
        save(&home, &generation, &key, &page("<p>hello</p>"));
        let found = lookup(&home, &generation, &key).unwrap();
        assert_eq!(found.body, b"<p>hello</p>");
        assert_eq!(found.header("ETag"), Some("\"1-x\""));
        invalidate(&home);
        let next = super::generation(&home).unwrap();
        assert_ne!(next, generation);
        assert!(lookup(&home, &next, &key).is_none());
        assert!(
            lookup(&home, &generation, &key).is_none(),
            "old pages are removed"
        );
        fs::remove_dir_all(&home).unwrap();
    }

    /// Pages kept by a roost before schema step 4 could show a followed
    /// address with its password, and were served after the upgrade
    /// without the database (and so the step) ever being opened.
    #[test]
    fn a_page_kept_by_an_older_format_is_not_served() {
        let home = temp_home();
        let key = Key("o".repeat(32));
        let generation = generation(&home).unwrap();
        fs::write(
            page_path(&home, &generation, &key),
            "roost-page-cache 1\n200\nContent-Type: text/html\n\nhttp://ann:s3cret@a.example/feed",
        )
        .unwrap();
        assert!(lookup(&home, &generation, &key).is_none());
        fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn private_and_cookie_setting_responses_are_never_kept() {
        let home = temp_home();
        let generation = generation(&home).unwrap();
        for (i, response) in [
            page("a").with_header("Set-Cookie", "x=1"),
            Response::html(200, "b".into()).with_header("Cache-Control", "private, no-cache"),
            Response::html(200, "c".into()).with_header("Cache-Control", "no-store"),
            Response::html(404, "d".into()),
        ]
        .into_iter()
        .enumerate()
        {
            let key = Key(format!("{i:032}"));
            save(&home, &generation, &key, &response);
            assert!(lookup(&home, &generation, &key).is_none(), "case {i}");
        }
        fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn only_anonymous_reads_have_a_key() {
        let params =
            super::super::http::Params(vec![(b"REQUEST_METHOD".to_vec(), b"GET".to_vec())]);
        let mut req = Request::from_params(&params, Vec::new());
        assert!(key(&req).is_some());
        req.headers
            .push(("cookie".into(), "roost_session=abc".into()));
        assert!(key(&req).is_none());
        req.headers.clear();
        req.method = "POST".into();
        assert!(key(&req).is_none());
    }
}
