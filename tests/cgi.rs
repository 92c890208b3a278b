//! The real binary run as a CGI script (environment + stdin, as Apache runs
//! it), without a web server in between: every status, header and refusal.

mod common;

use common::process::hidden_csrf;

use common::{OWNER_PASSWORD, TempDir, expect_success, roost_cli, without_database};
use std::collections::HashMap;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Stdio;

struct CgiResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl CgiResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// `name=value` of a Set-Cookie with that name.
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers_named("Set-Cookie")
            .into_iter()
            .filter_map(|c| c.split(';').next())
            .find(|kv| kv.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }
}

/// One CGI request. `path_info` is bytes: Apache passes undecodable bytes through.
/// Over https (`HTTPS=on`), as the test site's `url` is, unless `plain_http`.
struct Cgi<'a> {
    home: &'a Path,
    method: &'a str,
    path_info: &'a [u8],
    query: &'a str,
    headers: Vec<(&'a str, String)>,
    body: &'a [u8],
    args: &'a [&'a str],
    /// Another binary than the one under test (an upgrade's new build).
    bin: Option<&'a Path>,
}

impl<'a> Cgi<'a> {
    fn get(home: &'a Path, path: &'a str) -> Cgi<'a> {
        Cgi {
            home,
            method: "GET",
            path_info: path.as_bytes(),
            query: "",
            headers: vec![("HTTPS", "on".into())],
            body: b"",
            args: &[],
            bin: None,
        }
    }
    fn plain_http(mut self) -> Self {
        self.headers.retain(|(k, _)| *k != "HTTPS");
        self
    }
    fn post(home: &'a Path, path: &'a str, body: &'a [u8]) -> Cgi<'a> {
        let mut cgi = Cgi::get(home, path);
        cgi.method = "POST";
        cgi.body = body;
        cgi.headers
            .push(("CONTENT_TYPE", "application/x-www-form-urlencoded".into()));
        cgi
    }
    fn header(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    fn binary(mut self, bin: &'a Path) -> Self {
        self.bin = Some(bin);
        self
    }
    fn run(&self) -> CgiResponse {
        let mut child = self.spawn();
        let _ = child.stdin.take().unwrap().write_all(self.body);
        finish(child)
    }
    /// The CGI started, its stdin not yet written (CONTENT_LENGTH is the
    /// body's length unless a header sets another).
    fn spawn(&self) -> std::process::Child {
        let mut cmd = match self.bin {
            Some(bin) => common::command_for(bin),
            None => common::roost_command(),
        };
        cmd.env_clear()
            .env("GATEWAY_INTERFACE", "CGI/1.1")
            .env("SERVER_PROTOCOL", "HTTP/1.1")
            .env("REQUEST_METHOD", self.method)
            .env("PATH_INFO", std::ffi::OsStr::from_bytes(self.path_info))
            .env("QUERY_STRING", self.query)
            .env("REQUEST_URI", std::ffi::OsStr::from_bytes(self.path_info))
            .env("SCRIPT_NAME", "/roost.cgi")
            .env("REMOTE_ADDR", "192.0.2.7")
            .env("ROOST_HOME", self.home)
            .env("CONTENT_LENGTH", self.body.len().to_string())
            .args(self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.headers {
            cmd.env(k, v);
        }
        cmd.spawn().expect("run roost as CGI")
    }
}

fn finish(child: std::process::Child) -> CgiResponse {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "CGI exited {}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "CGI panicked: {stderr}");
    parse_cgi(&out.stdout)
}

fn parse_cgi(raw: &[u8]) -> CgiResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("CGI header block ends");
    let head = String::from_utf8(raw[..split].to_vec()).expect("headers are text");
    let mut status = 200;
    let mut headers = Vec::new();
    for line in head.split("\r\n") {
        let (k, v) = line.split_once(": ").expect("header line");
        if k == "Status" {
            status = v[..3].parse().unwrap();
        } else {
            headers.push((k.to_string(), v.to_string()));
        }
    }
    let body = raw[split + 4..].to_vec();
    if let Some(length) = headers.iter().find(|(k, _)| k == "Content-Length") {
        // A HEAD response announces the GET body's length and sends none.
        if status != 304 && !body.is_empty() {
            assert_eq!(
                length.1.parse::<usize>().unwrap(),
                body.len(),
                "Content-Length is right"
            );
        }
    }
    CgiResponse {
        status,
        headers,
        body,
    }
}

/// The session cookie's name at the test site (https, below the root).
const SESSION: &str = "__Secure-roost_session";
const LOGIN: &str = "__Secure-roost_login";

fn new_home() -> TempDir {
    new_home_at("https://example.org/notes/")
}

fn new_home_at(url: &str) -> TempDir {
    let dir = TempDir::new("roost-cgi");
    let home = dir.join("data");
    let out = roost_cli(
        &home,
        &[
            "init",
            "--url",
            url,
            "--name",
            "Ann Example",
            "--password-stdin",
        ],
        Some(&format!("{OWNER_PASSWORD}\n")),
    );
    expect_success("init", &out);
    dir
}

fn home_of(dir: &TempDir) -> std::path::PathBuf {
    dir.join("data")
}

fn post(home: &Path, text: &str) -> String {
    expect_success("post", &roost_cli(home, &["post", text], None))
        .trim()
        .to_string()
}

fn post_count(home: &Path) -> usize {
    let out = expect_success("export", &roost_cli(home, &["export"], None));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    doc["posts"].as_array().unwrap().len()
}

/// The login form `form` (the answer to GET /login) filled in: its token,
/// then `extra` fields, then the owner's password.
fn login_body(form: &CgiResponse, extra: &str) -> String {
    format!(
        "csrf={}{extra}&password={}",
        hidden_csrf(&form.text()),
        OWNER_PASSWORD.replace(' ', "+")
    )
}

/// Logs in through the form, as a browser would; returns the session cookie and a CSRF token.
fn log_in(home: &Path) -> (String, String) {
    let form = Cgi::get(home, "/login").run();
    assert_eq!(form.status, 200);
    let login_cookie = form.cookie(LOGIN).expect("login sets its CSRF cookie");
    let body = login_body(&form, "");
    let done = Cgi::post(home, "/login", body.as_bytes())
        .header("HTTP_COOKIE", login_cookie)
        .run();
    assert_eq!(done.status, 303, "{}", done.text());
    let session = done.cookie(SESSION).expect("a session cookie");
    let set = done.headers_named("Set-Cookie").join("\n");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("; Secure"),
        "{set}"
    );
    let page = Cgi::get(home, "/")
        .header("HTTP_COOKIE", session.clone())
        .run();
    let csrf = hidden_csrf(&page.text());
    (session, csrf)
}

#[test]
fn home_page_shows_posts_with_microformats_and_feed_links() {
    let dir = new_home();
    let home = home_of(&dir);
    let permalink = post(&home, "Hello <b>world</b> from https://example.com/x");
    assert_eq!(permalink, "https://example.org/notes/posts/1");
    let page = Cgi::get(&home, "/").run();
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text();
    for needle in [
        "class=\"h-card profile\"",
        "class=\"h-feed\"",
        "class=\"h-entry\"",
        "e-content",
        "dt-published",
        "Hello &lt;b&gt;world&lt;/b&gt;",
        "<a href=\"https://example.com/x\" rel=\"nofollow\">",
        "rel=\"alternate\" type=\"application/atom+xml\"",
        "type=\"application/feed+json\"",
        "type=\"application/rss+xml\"",
        "Ann Example",
    ] {
        assert!(html.contains(needle), "{needle} missing from {html}");
    }
    assert!(!html.contains("<b>world"), "post text is escaped");
    assert!(
        !html.contains("name=\"text\""),
        "no compose box for visitors"
    );
    for header in [
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "ETag",
        "Last-Modified",
    ] {
        assert!(page.header(header).is_some(), "{header} missing");
    }
    assert!(
        page.header("Content-Security-Policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    // Pages rendered per request (the login form) still carry an ETag.
    let login = Cgi::get(&home, "/login").run();
    assert!(login.header("ETag").is_some_and(|t| t.starts_with("\"b-")));
}

/// The header's feed link led to raw XML; it leads to a page saying how to
/// follow, with the three feeds' absolute addresses (which stay where they are).
#[test]
fn regression_the_header_feed_link_opens_a_page_for_people_not_xml() {
    let dir = new_home();
    let home = home_of(&dir);
    let front = Cgi::get(&home, "/").run().text();
    let header = &front[front.find("<header").unwrap()..front.find("</header>").unwrap()];
    assert!(
        header.contains("<a href=\"/subscribe\">Subscribe</a>"),
        "{header}"
    );
    assert!(!header.contains("feed.atom"), "{header}");
    let page = Cgi::get(&home, "/subscribe").run();
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text();
    for (id, file) in [
        ("atom", "feed.atom"),
        ("rss", "feed.rss"),
        ("json", "feed.json"),
    ] {
        let url = format!("https://example.org/notes/{file}");
        for needle in [
            format!("<label for=\"feed-{id}\">"),
            format!("<input id=\"feed-{id}\" type=\"url\" readonly value=\"{url}\">"),
            format!("<a id=\"open-{id}\" href=\"feed:{url}\">"),
        ] {
            assert!(html.contains(&needle), "{needle} missing from {html}");
        }
        assert_eq!(Cgi::get(&home, &format!("/{file}")).run().status, 200);
    }
    let mut post = Cgi::get(&home, "/subscribe");
    post.method = "POST";
    let refused = post.run();
    assert_eq!(refused.status, 405);
    assert_eq!(refused.header("Allow"), Some("GET, HEAD"));
}

/// Was: page two had "Older" links only, no way back to newer posts.
#[test]
fn pages_are_paginated_both_ways_with_a_stable_cursor() {
    let dir = new_home();
    let home = home_of(&dir);
    for i in 1..=25 {
        post(&home, &format!("numbered post {i:02}"));
    }
    let first = Cgi::get(&home, "/").run().text();
    assert!(first.contains("numbered post 25") && first.contains("numbered post 06"));
    assert!(!first.contains("numbered post 05"));
    let next = first.find("?before=").map(|i| &first[i + 8..]).unwrap();
    let cursor: String = next.chars().take_while(char::is_ascii_digit).collect();
    assert_eq!(cursor, "6");
    // A post arriving between page loads does not shift the second page.
    post(&home, "numbered post 26");
    let mut second = Cgi::get(&home, "/");
    second.query = "before=6";
    let second = second.run().text();
    assert!(second.contains("numbered post 05") && second.contains("numbered post 01"));
    assert!(!second.contains("numbered post 06") && !second.contains("rel=\"next\""));
    assert!(
        !first.contains("rel=\"prev\""),
        "the first page has nothing newer"
    );
    // Page two leads back: to the 20 posts just above it (26 arrived since).
    assert!(
        second.contains("<a rel=\"prev\" href=\"/?before=26\">← Newer</a>"),
        "{second}"
    );
    let mut back = Cgi::get(&home, "/");
    back.query = "before=26";
    let back = back.run().text();
    assert!(back.contains("numbered post 25") && back.contains("numbered post 06"));
    assert!(
        back.contains("<a rel=\"prev\" href=\"/\">← Newer</a>"),
        "{back}"
    );
    assert!(back.contains("<a rel=\"next\" href=\"/?before=6\">Older →</a>"));
    let mut bad = Cgi::get(&home, "/");
    bad.query = "before=abc";
    assert_eq!(bad.run().status, 400);
}

/// The `href` of the pager link `rel` ("prev" or "next") on `page`.
fn pager_link(page: &str, rel: &str) -> Option<String> {
    let at = page.find(&format!("<a rel=\"{rel}\" href=\""))? + rel.len() + 16;
    Some(page[at..].chars().take_while(|c| *c != '"').collect())
}

/// Was: the timeline had "Older" links only. Own posts and followed
/// entries mixed on one page, and "Newer" from page three is page two.
#[test]
fn the_timeline_pages_back_to_newer_items() {
    let dir = new_home();
    let home = home_of(&dir);
    expect_success(
        "config",
        &roost_cli(&home, &["config", "public_timeline", "true"], None),
    );
    for i in 1..=25 {
        post(&home, &format!("own note {i:02}"));
    }
    // 25 entries of a followed feed, older than every own post.
    let now = chrono::Utc::now().timestamp();
    let conn = rusqlite::Connection::open(home.join("roost.db")).unwrap();
    conn.execute(
        "INSERT INTO follows (id, url, added) VALUES (1, 'https://friend.example/feed', 0)",
        [],
    )
    .unwrap();
    for i in 1..=25 {
        conn.execute(
            "INSERT INTO entries (follow_id, identity, content_html, sort_time, first_seen, content_hash)
             VALUES (1, ?1, ?2, ?3, 0, ?1)",
            rusqlite::params![format!("e{i}"), format!("friend note {i:02}"), now - 1000 + i],
        )
        .unwrap();
    }
    drop(conn);
    let get = |target: &str| {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut cgi = Cgi::get(&home, path);
        cgi.query = query;
        let r = cgi.run();
        assert_eq!(r.status, 200, "{target}");
        r.text()
    };
    let first = get("/timeline");
    assert_eq!(pager_link(&first, "prev"), None, "nothing is newer");
    let second_url = pager_link(&first, "next").unwrap();
    let second = get(&second_url);
    assert!(second.contains("own note 01") && second.contains("friend note 25"));
    assert_eq!(pager_link(&second, "prev").as_deref(), Some("/timeline"));
    let third = get(&pager_link(&second, "next").unwrap());
    assert!(third.contains("friend note 10") && !third.contains("friend note 11"));
    assert_eq!(pager_link(&third, "prev"), Some(second_url));
    assert_eq!(pager_link(&third, "next"), None);
}

#[test]
fn conditional_requests_get_304_until_something_changes() {
    let dir = new_home();
    let home = home_of(&dir);
    post(&home, "first");
    for path in ["/", "/feed.atom", "/feed.json", "/feed.rss", "/posts/1"] {
        let full = Cgi::get(&home, path).run();
        assert_eq!(full.status, 200, "{path}");
        let etag = full.header("ETag").unwrap().to_string();
        let last_modified = full.header("Last-Modified").unwrap().to_string();
        let again = Cgi::get(&home, path)
            .header("HTTP_IF_NONE_MATCH", etag.clone())
            .run();
        assert_eq!(again.status, 304, "{path} If-None-Match");
        assert!(again.body.is_empty());
        assert_eq!(again.header("ETag"), Some(etag.as_str()));
        let since = Cgi::get(&home, path)
            .header("HTTP_IF_MODIFIED_SINCE", last_modified)
            .run();
        assert_eq!(since.status, 304, "{path} If-Modified-Since");
        let other = Cgi::get(&home, path)
            .header("HTTP_IF_NONE_MATCH", "\"other\"")
            .run();
        assert_eq!(other.status, 200, "{path} other tag");
    }
    let etag = Cgi::get(&home, "/feed.atom")
        .run()
        .header("ETag")
        .unwrap()
        .to_string();
    post(&home, "second");
    let changed = Cgi::get(&home, "/feed.atom")
        .header("HTTP_IF_NONE_MATCH", etag)
        .run();
    assert_eq!(changed.status, 200, "a new post changes the feed's ETag");
    assert!(changed.text().contains("second"));
}

#[test]
fn wrong_methods_unknown_paths_and_bad_ids() {
    let dir = new_home();
    let home = home_of(&dir);
    post(&home, "exists");
    let mut delete = Cgi::get(&home, "/");
    delete.method = "DELETE";
    let r = delete.run();
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("GET, HEAD"));
    let mut get_posts = Cgi::get(&home, "/posts");
    get_posts.method = "GET";
    assert_eq!(get_posts.run().status, 405);
    for path in [
        "/nope",
        "/posts/abc",
        "/posts/0",
        "/posts/999",
        "/posts/1/x",
        "/feed.atom/x",
        "/posts/-1",
    ] {
        let r = Cgi::get(&home, path).run();
        assert_eq!(r.status, 404, "{path}");
        assert!(r.text().contains("404 Not Found"), "a 404 page for {path}");
    }
    let mut head = Cgi::get(&home, "/posts/1");
    head.method = "HEAD";
    let r = head.run();
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
}

#[test]
fn invalid_utf8_in_path_and_form_is_refused_without_panic() {
    let dir = new_home();
    let home = home_of(&dir);
    let mut bad_path = Cgi::get(&home, "/");
    bad_path.path_info = b"/posts/\xe9";
    assert_eq!(bad_path.run().status, 404);
    let (session, csrf) = log_in(&home);
    let body = format!("csrf={csrf}&text=%E9%FF");
    let r = Cgi::post(&home, "/posts", body.as_bytes())
        .header("HTTP_COOKIE", session)
        .run();
    assert_eq!(r.status, 400);
    assert_eq!(post_count(&home), 0);
}

#[test]
fn query_string_without_equals_is_not_taken_as_arguments() {
    let dir = new_home();
    let home = home_of(&dir);
    post(&home, "still a page");
    // Apache passes `?-s` or `?--help` as argv to a CGI (CVE-2012-1823).
    for args in [
        &["-s"][..],
        &["--help"],
        &["post", "injected"],
        &["--home", "/tmp"],
    ] {
        let mut r = Cgi::get(&home, "/");
        r.args = args;
        r.query = "--help";
        let r = r.run();
        assert_eq!(r.status, 200, "{args:?}");
        assert!(r.text().contains("still a page"), "{args:?}");
    }
    assert_eq!(post_count(&home), 1, "nothing was posted through argv");
}

#[test]
fn oversize_bodies_are_refused_with_413_and_nothing_is_stored() {
    let dir = new_home();
    let home = home_of(&dir);
    let (session, csrf) = log_in(&home);
    let big = format!("csrf={csrf}&text={}", "a".repeat(300 * 1024));
    let r = Cgi::post(&home, "/posts", big.as_bytes())
        .header("HTTP_COOKIE", session.clone())
        .run();
    assert_eq!(r.status, 413);
    let long_post = format!("csrf={csrf}&text={}", "b".repeat(5001));
    let r = Cgi::post(&home, "/posts", long_post.as_bytes())
        .header("HTTP_COOKIE", session.clone())
        .run();
    assert_eq!(r.status, 400);
    assert!(r.text().contains("limit is 5000"), "the reason is given");
    assert!(
        r.text().contains(&"b".repeat(5001)),
        "the text is kept in the form"
    );
    let empty = format!("csrf={csrf}&text=+%0A+");
    let r = Cgi::post(&home, "/posts", empty.as_bytes())
        .header("HTTP_COOKIE", session)
        .run();
    assert_eq!(r.status, 400);
    assert!(r.text().contains("empty"));
    assert_eq!(post_count(&home), 0);
}

#[test]
fn owner_actions_need_a_session_and_a_csrf_token() {
    let dir = new_home();
    let home = home_of(&dir);
    post(&home, "to keep");
    // No session: to the login page, nothing changed.
    let r = Cgi::post(&home, "/posts", b"text=hi").run();
    assert_eq!(r.status, 303);
    assert!(r.header("Location").unwrap().ends_with("/login"));
    let r = Cgi::post(&home, "/posts/1/delete", b"")
        .header("HTTP_COOKIE", format!("{SESSION}=garbage; x"))
        .run();
    assert_eq!(r.status, 303);
    let r = Cgi::post(&home, "/posts", b"text=hi")
        .header("HTTP_COOKIE", format!("{SESSION}={}", "a".repeat(64)))
        .run();
    assert_eq!(r.status, 303, "an unknown session is no session");
    let (session, csrf) = log_in(&home);
    // Session but no or a wrong token: 403, nothing changed.
    for body in [
        "text=forged".to_string(),
        format!("text=forged&csrf={}", "0".repeat(32)),
        "csrf=&text=x".into(),
    ] {
        let r = Cgi::post(&home, "/posts", body.as_bytes())
            .header("HTTP_COOKIE", session.clone())
            .run();
        assert_eq!(r.status, 403, "{body}");
    }
    let r = Cgi::post(&home, "/posts/1/delete", b"")
        .header("HTTP_COOKIE", session.clone())
        .run();
    assert_eq!(r.status, 403);
    let r = Cgi::post(&home, "/posts/1/edit", b"text=x")
        .header("HTTP_COOKIE", session.clone())
        .run();
    assert_eq!(r.status, 403);
    assert_eq!(post_count(&home), 1);
    // Wrong content type: refused.
    let mut json =
        Cgi::post(&home, "/posts", b"{\"text\":\"x\"}").header("HTTP_COOKIE", session.clone());
    json.headers.retain(|(k, _)| *k != "CONTENT_TYPE");
    let json = json.header("CONTENT_TYPE", "application/json").run();
    assert_eq!(json.status, 415);
    // With the token: it works.
    let body =
        format!("csrf={csrf}&text=from+the+web&reply_to=https%3A%2F%2Fother.example%2Fp%2F9");
    let r = Cgi::post(&home, "/posts", body.as_bytes())
        .header("HTTP_COOKIE", session.clone())
        .run();
    assert_eq!(r.status, 303);
    let page = Cgi::get(&home, "/")
        .header("HTTP_COOKIE", session.clone())
        .run()
        .text();
    assert!(page.contains("from the web") && page.contains("u-in-reply-to"));
    assert!(
        page.contains("name=\"text\""),
        "the owner sees the compose box"
    );
    let body = format!("csrf={csrf}&text=edited+text");
    let r = Cgi::post(&home, "/posts/2/edit", body.as_bytes())
        .header("HTTP_COOKIE", session.clone())
        .run();
    assert_eq!(r.status, 303);
    assert!(
        Cgi::get(&home, "/posts/2")
            .run()
            .text()
            .contains("edited text")
    );
    let body = format!("csrf={csrf}");
    let r = Cgi::post(&home, "/posts/1/delete", body.as_bytes())
        .header("HTTP_COOKIE", session.clone())
        .run();
    assert_eq!(r.status, 303);
    assert_eq!(Cgi::get(&home, "/posts/1").run().status, 410);
    // Logout ends the session on the server: the old cookie is worthless.
    let r = Cgi::post(&home, "/logout", body.as_bytes())
        .header("HTTP_COOKIE", session.clone())
        .run();
    assert_eq!(r.status, 303);
    let r = Cgi::post(
        &home,
        "/posts",
        format!("csrf={csrf}&text=after+logout").as_bytes(),
    )
    .header("HTTP_COOKIE", session)
    .run();
    assert_eq!(r.status, 303);
    assert!(r.header("Location").unwrap().ends_with("/login"));
    assert_eq!(post_count(&home), 1);
}

/// Was: a deleted post's address answered 404 Not Found, as if it had
/// never been, and the Delete button deleted at once, without asking.
#[test]
fn regression_a_deleted_post_answers_410_gone_and_delete_asks_first() {
    let dir = new_home();
    let home = home_of(&dir);
    post(&home, "first, to delete from the web");
    post(&home, "second, to delete from the command line");
    let (session, csrf) = log_in(&home);
    let owner_get = |path: &'static str| {
        Cgi::get(&home, path)
            .header("HTTP_COOKIE", session.clone())
            .run()
    };
    let front = owner_get("/").text();
    assert!(
        front.contains("<a href=\"/posts/1/delete\">Delete</a>"),
        "{front}"
    );
    assert!(!front.contains("action=\"/posts/1/delete\""));
    // The confirmation: the post, a form that deletes, and a way back.
    let ask = owner_get("/posts/1/delete");
    assert_eq!(ask.status, 200, "{}", ask.text());
    let page = ask.text();
    for needle in [
        "Delete this post?",
        "first, to delete from the web",
        "<form method=\"post\" action=\"/posts/1/delete\">",
        "<button type=\"submit\">Delete</button>",
        "<a href=\"/posts/1\">Cancel</a>",
    ] {
        assert!(page.contains(needle), "{needle} missing from {page}");
    }
    assert!(!page.contains("<script"));
    assert_eq!(hidden_csrf(&page), csrf);
    assert_eq!(
        Cgi::get(&home, "/posts/1/delete").run().status,
        303,
        "visitors go to the login page"
    );
    assert_eq!(post_count(&home), 2, "asking deleted nothing");
    let r = Cgi::post(&home, "/posts/1/delete", format!("csrf={csrf}").as_bytes())
        .header("HTTP_COOKIE", session.clone())
        .run();
    assert_eq!(r.status, 303, "{}", r.text());
    expect_success("delete", &roost_cli(&home, &["delete", "2"], None));
    for id in ["/posts/1", "/posts/2"] {
        let gone = Cgi::get(&home, id).run();
        assert_eq!(gone.status, 410, "{id}: {}", gone.text());
        assert!(
            gone.text().contains("This post was deleted"),
            "{}",
            gone.text()
        );
    }
    assert_eq!(owner_get("/posts/1/delete").status, 410);
    assert_eq!(owner_get("/posts/2/edit").status, 410);
    let edit = Cgi::post(
        &home,
        "/posts/2/edit",
        format!("csrf={csrf}&text=x").as_bytes(),
    )
    .header("HTTP_COOKIE", session.clone())
    .run();
    assert_eq!(edit.status, 410, "{}", edit.text());
    let again = Cgi::post(&home, "/posts/1/delete", format!("csrf={csrf}").as_bytes())
        .header("HTTP_COOKIE", session.clone())
        .run();
    assert_eq!(again.status, 410, "{}", again.text());
    assert_eq!(Cgi::get(&home, "/posts/3").run().status, 404, "never was");
    // The Atom feed tells readers that kept them to drop them (RFC 6721).
    let atom = Cgi::get(&home, "/feed.atom").run();
    let xml = atom.text();
    assert!(
        xml.contains("xmlns:at=\"http://purl.org/atompub/tombstones/1.0\""),
        "{xml}"
    );
    for id in [1, 2] {
        let tombstone = format!("/notes/posts/{id}\" when=\"");
        let at = xml
            .find(&tombstone)
            .unwrap_or_else(|| panic!("{tombstone}: {xml}"));
        let element = &xml[xml[..at].rfind('<').unwrap()..];
        assert!(
            element.starts_with("<at:deleted-entry ref=\"tag:example.org,"),
            "{element}"
        );
    }
    let feed = feed_rs::parser::parse(&atom.body[..]).expect("still a valid feed");
    assert!(feed.entries.is_empty(), "{:?}", feed.entries);
}

/// Was: a post sent after the session had expired went to the login page
/// and was lost.
#[test]
fn regression_a_post_sent_after_the_session_ended_is_back_in_the_compose_box() {
    const DRAFT: &str = "__Secure-roost_draft";
    let dir = new_home();
    let home = home_of(&dir);
    let (stale, _) = log_in(&home);
    let conn = rusqlite::Connection::open(home.join("roost.db")).unwrap();
    conn.execute("UPDATE sessions SET expires = 0", []).unwrap();
    drop(conn);
    let typed = "Typed for a long while &amp; <b>not</b> lost,\r\nover two lines";
    let body = common::http::form_encode(&[
        ("csrf", "from-the-old-page"),
        ("text", typed),
        ("reply_to", "https://other.example/p/1"),
    ]);
    let r = Cgi::post(&home, "/posts", body.as_bytes())
        .header("HTTP_COOKIE", stale)
        .run();
    assert_eq!(r.status, 303);
    assert!(r.header("Location").unwrap().ends_with("/login"));
    let draft = r.cookie(DRAFT).expect("a cookie names the kept draft");
    let set = r.headers_named("Set-Cookie").join("\n");
    assert!(
        set.contains("HttpOnly") && set.contains("Max-Age=3600"),
        "{set}"
    );
    assert!(
        !set.contains("lost"),
        "the cookie holds none of the text: {set}"
    );
    assert_eq!(post_count(&home), 0, "nothing posted");
    // Not shown to a visitor who has the cookie, nor to the owner without it.
    let visitor = Cgi::get(&home, "/")
        .header("HTTP_COOKIE", draft.clone())
        .run();
    assert!(!visitor.text().contains("Typed for a long while"));
    let (session, csrf) = log_in(&home);
    let without = Cgi::get(&home, "/")
        .header("HTTP_COOKIE", session.clone())
        .run();
    assert!(!without.text().contains("Typed for a long while"));
    // Back in the compose box after logging in, escaped, with its reply-to.
    let both = format!("{session}; {draft}");
    let page = Cgi::get(&home, "/")
        .header("HTTP_COOKIE", both.clone())
        .run();
    let html = page.text();
    assert!(
        html.contains("Typed for a long while &amp;amp; &lt;b&gt;not&lt;/b&gt; lost,\r\nover two lines</textarea>"),
        "{html}"
    );
    assert!(
        html.contains("value=\"https://other.example/p/1\""),
        "{html}"
    );
    assert!(html.contains("This was not posted yet"), "{html}");
    assert_eq!(page.header("Cache-Control"), Some("no-store"));
    // Posting it sends it once and forgets the draft.
    let body = common::http::form_encode(&[("csrf", &csrf), ("text", typed)]);
    let r = Cgi::post(&home, "/posts", body.as_bytes())
        .header("HTTP_COOKIE", both.clone())
        .run();
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(
        r.headers_named("Set-Cookie")
            .iter()
            .any(|c| c.starts_with(&format!("{DRAFT}=;")))
    );
    assert_eq!(post_count(&home), 1);
    let after = Cgi::get(&home, "/")
        .header("HTTP_COOKIE", both)
        .run()
        .text();
    assert!(!after.contains("This was not posted yet") && after.contains("></textarea>"));
    // Anyone may send the form signed out: only the newest 20 drafts are kept.
    for i in 0..25 {
        let body = format!("text=flood+{i}");
        assert_eq!(
            Cgi::post(&home, "/posts", body.as_bytes()).run().status,
            303
        );
    }
    let conn = rusqlite::Connection::open(home.join("roost.db")).unwrap();
    let kept: i64 = conn
        .query_row("SELECT count(*) FROM drafts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 20);
}

#[test]
fn failed_logins_are_throttled_across_processes() {
    let dir = new_home();
    let home = home_of(&dir);
    let (_, cookie, token) = login_page(&home);
    for attempt in 1..=3 {
        let r = wrong_login(&home, &cookie, &token, "192.0.2.7");
        assert_eq!(r.status, 403, "attempt {attempt}");
        assert!(r.cookie(SESSION).is_none());
    }
    let body = format!("csrf={token}&password={}", OWNER_PASSWORD.replace(' ', "+"));
    let r = Cgi::post(&home, "/login", body.as_bytes())
        .header("HTTP_COOKIE", cookie.clone())
        .run();
    assert_eq!(r.status, 429, "even the right password waits");
    assert_eq!(r.header("Retry-After"), Some("1"));
    assert!(r.text().contains("Try again in 1 second."), "{}", r.text());
    assert!(r.cookie(SESSION).is_none());
    // A login form without its cookie is refused too.
    let r = Cgi::post(&home, "/login", b"csrf=x&password=y").run();
    assert!(r.status == 403 || r.status == 429);
}

/// GET /login: the page, its login cookie and its token.
fn login_page(home: &Path) -> (CgiResponse, String, String) {
    let form = Cgi::get(home, "/login").run();
    let cookie = form.cookie(LOGIN).expect("login sets its CSRF cookie");
    let token = hidden_csrf(&form.text());
    (form, cookie, token)
}

/// One wrong password from `addr` with the login form's cookie and token.
fn wrong_login(home: &Path, cookie: &str, token: &str, addr: &str) -> CgiResponse {
    let body = format!("csrf={token}&password=wrong+guess");
    Cgi::post(home, "/login", body.as_bytes())
        .header("HTTP_COOKIE", cookie.to_string())
        .header("REMOTE_ADDR", addr.to_string())
        .run()
}

/// The owner's login from `addr` with the login form `form`.
fn login_from(home: &Path, form: &CgiResponse, addr: &str) -> CgiResponse {
    Cgi::post(home, "/login", login_body(form, "").as_bytes())
        .header("HTTP_COOKIE", form.cookie(LOGIN).unwrap())
        .header("REMOTE_ADDR", addr.to_string())
        .run()
}

/// Records `count` failed logins counted against `key`, the last one now.
fn record_failures(home: &Path, key: &str, count: i64) {
    let now = chrono::Utc::now().timestamp();
    let conn = rusqlite::Connection::open(home.join("roost.db")).unwrap();
    for i in 0..count {
        conn.execute(
            "INSERT INTO login_failures (remote_addr, at) VALUES (?1, ?2)",
            rusqlite::params![key, now - i],
        )
        .unwrap();
    }
}

/// Was: 50 wrong passwords from anywhere locked everyone out for 15
/// minutes, so anyone could keep the owner out for good.
#[test]
fn regression_failures_from_other_addresses_never_keep_the_owner_out() {
    let dir = new_home();
    let home = home_of(&dir);
    let (form, cookie, token) = login_page(&home);
    for n in 1..=52 {
        let r = wrong_login(&home, &cookie, &token, &format!("198.51.100.{n}"));
        assert_eq!(
            r.status,
            403,
            "a first failure from address {n}: {}",
            r.text()
        );
    }
    // One address far into its delay does not slow any other either.
    record_failures(&home, "203.0.113.9", 12);
    assert_eq!(
        wrong_login(&home, &cookie, &token, "203.0.113.9").status,
        429
    );
    let r = login_from(&home, &form, "192.0.2.7");
    assert_eq!(r.status, 303, "the owner logs in: {}", r.text());
    assert!(r.cookie(SESSION).is_some());
}

#[test]
fn an_addresss_login_delay_grows_with_its_failures_and_ipv6_counts_per_64() {
    let dir = new_home();
    let home = home_of(&dir);
    let (form, cookie, token) = login_page(&home);
    // 2^(n-3) seconds after the n-th failure, up to 15 minutes.
    for (key, failures, delay, words) in [
        ("203.0.113.1", 6, 8, "8 seconds"),
        ("203.0.113.2", 10, 128, "3 minutes"),
        ("203.0.113.3", 40, 900, "15 minutes"),
    ] {
        record_failures(&home, key, failures);
        let r = wrong_login(&home, &cookie, &token, key);
        assert_eq!(r.status, 429, "{key}: {}", r.text());
        let wait: i64 = r.header("Retry-After").unwrap().parse().unwrap();
        assert!(
            (delay - 2..=delay).contains(&wait),
            "{failures} failures: wait {wait}, expected {delay}"
        );
        assert!(
            r.text().contains(&format!("Try again in {words}")),
            "{}",
            r.text()
        );
        // The page shown still logs in once the wait is over: its form is good.
        assert_eq!(hidden_csrf(&r.text()), token);
    }
    // Addresses of one IPv6 /64 are one client; the next /64 is another.
    for host in 1..=3 {
        let addr = format!("2001:db8:5:6::{host}");
        assert_eq!(wrong_login(&home, &cookie, &token, &addr).status, 403);
    }
    let r = wrong_login(&home, &cookie, &token, "2001:db8:5:6:ffff::9");
    assert_eq!(r.status, 429, "a 4th address of the same /64 waits");
    let r = login_from(&home, &form, "2001:db8:5:7::1");
    assert_eq!(r.status, 303, "the next /64 does not: {}", r.text());
}

#[test]
fn passwd_clears_the_failed_logins_and_says_so() {
    let dir = new_home();
    let home = home_of(&dir);
    let (session, _) = log_in(&home);
    record_failures(&home, "192.0.2.7", 20);
    let form = Cgi::get(&home, "/login").run();
    assert_eq!(login_from(&home, &form, "192.0.2.7").status, 429);
    let out = roost_cli(&home, &["passwd"], Some(&format!("{OWNER_PASSWORD}\n")));
    let said = expect_success("passwd", &out);
    assert!(
        said.contains("Cleared 20 failed login(s) from 1 address(es)"),
        "{said}"
    );
    assert!(said.contains("Signed out 1 browser session(s)"), "{said}");
    let r = login_from(&home, &form, "192.0.2.7");
    assert_eq!(r.status, 303, "the owner logs in at once: {}", r.text());
    // The old session was signed out, as passwd said.
    let page = Cgi::get(&home, "/").header("HTTP_COOKIE", session).run();
    assert!(!page.text().contains("name=\"text\""));
    let out = roost_cli(&home, &["passwd"], Some(&format!("{OWNER_PASSWORD}\n")));
    let said = expect_success("passwd", &out);
    assert!(said.contains("No failed logins were recorded"), "{said}");
}

/// Was: each GET /login minted a new token, so opening the login page in a
/// second tab made the first tab's form fail ("expired").
#[test]
fn regression_a_second_login_tab_leaves_the_first_tabs_form_valid() {
    let dir = new_home();
    let home = home_of(&dir);
    let first = Cgi::get(&home, "/login").run();
    let jar = first.cookie(LOGIN).unwrap();
    let second = Cgi::get(&home, "/login")
        .header("HTTP_COOKIE", jar.clone())
        .run();
    // The browser keeps whatever cookie the second tab's answer set.
    let jar = second.cookie(LOGIN).unwrap_or(jar);
    // A wrong password in the first tab, then the retry from the page shown.
    let wrong = format!("csrf={}&password=not+it", hidden_csrf(&first.text()));
    let shown = Cgi::post(&home, "/login", wrong.as_bytes())
        .header("HTTP_COOKIE", jar.clone())
        .run();
    assert_eq!(shown.status, 403);
    assert!(
        shown.text().contains("That password is not right."),
        "{}",
        shown.text()
    );
    let jar = shown.cookie(LOGIN).unwrap_or(jar);
    let retry = Cgi::post(&home, "/login", login_body(&shown, "").as_bytes())
        .header("HTTP_COOKIE", jar.clone())
        .run();
    assert_eq!(retry.status, 303, "the retry logs in: {}", retry.text());
    // And the second tab's form, never used, would have worked as well.
    let late = Cgi::post(&home, "/login", login_body(&second, "").as_bytes())
        .header("HTTP_COOKIE", jar)
        .run();
    assert_eq!(late.status, 303, "{}", late.text());
    // A cookie that is not one of ours is never taken as the token.
    let odd = Cgi::get(&home, "/login")
        .header("HTTP_COOKIE", format!("{LOGIN}=short"))
        .run();
    assert_ne!(hidden_csrf(&odd.text()), "short");
}

#[test]
fn feeds_parse_with_an_independent_parser_and_ids_survive_edits() {
    let dir = new_home();
    let home = home_of(&dir);
    post(&home, "first post");
    expect_success(
        "reply",
        &roost_cli(
            &home,
            &[
                "post",
                "a reply",
                "--reply-to",
                "https://other.example/posts/7",
            ],
            None,
        ),
    );
    post(&home, "third & last <3");
    let mut before: HashMap<&str, Vec<String>> = HashMap::new();
    let formats = [
        ("/feed.atom", "application/atom+xml; charset=utf-8"),
        ("/feed.json", "application/feed+json; charset=utf-8"),
        ("/feed.rss", "application/rss+xml; charset=utf-8"),
    ];
    for (path, content_type) in formats {
        let r = Cgi::get(&home, path).run();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Content-Type"), Some(content_type));
        let feed = feed_rs::parser::parse(&r.body[..]).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(feed.entries.len(), 3, "{path}");
        let ids: Vec<String> = feed.entries.iter().map(|e| e.id.clone()).collect();
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), 3, "{path} ids are unique: {ids:?}");
        assert!(
            ids.iter().all(|id| id.starts_with("tag:example.org,")),
            "{ids:?}"
        );
        let newest = &feed.entries[0];
        assert_eq!(
            newest.links[0].href, "https://example.org/notes/posts/3",
            "{path}"
        );
        let content = newest
            .content
            .as_ref()
            .and_then(|c| c.body.clone())
            .or_else(|| newest.summary.as_ref().map(|s| s.content.clone()))
            .unwrap();
        assert!(
            content.contains("third &amp; last &lt;3"),
            "{path}: {content}"
        );
        before.insert(path, ids);
    }
    let atom = Cgi::get(&home, "/feed.atom").run().text();
    assert!(atom.contains("xmlns:thr=\"http://purl.org/syndication/thread/1.0\""));
    assert!(
        atom.contains("<thr:in-reply-to") && atom.contains("ref=\"https://other.example/posts/7\"")
    );
    assert!(
        Cgi::get(&home, "/feed.rss")
            .run()
            .text()
            .contains("<thr:in-reply-to ref=\"https://other.example/posts/7\"")
    );
    let json: serde_json::Value =
        serde_json::from_slice(&Cgi::get(&home, "/feed.json").run().body).unwrap();
    assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(
        json["items"][1]["_thread"]["in_reply_to"],
        "https://other.example/posts/7"
    );

    expect_success(
        "edit",
        &roost_cli(&home, &["edit", "1", "first post, edited"], None),
    );
    expect_success(
        "config",
        &roost_cli(&home, &["config", "url", "https://moved.example/"], None),
    );
    for (path, _) in formats {
        let feed = feed_rs::parser::parse(&Cgi::get(&home, path).run().body[..]).unwrap();
        let ids: Vec<String> = feed.entries.iter().map(|e| e.id.clone()).collect();
        assert_eq!(
            &ids, &before[path],
            "{path}: ids are stable across edits and a new address"
        );
    }
    let atom = Cgi::get(&home, "/feed.atom").run().text();
    assert!(atom.contains("first post, edited") && atom.contains("https://moved.example/posts/1"));
}

#[test]
fn a_missing_data_directory_gets_a_clear_page_not_a_traceback() {
    let dir = TempDir::new("roost-unset");
    let mut cmd = common::roost_command();
    cmd.env_clear()
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("REQUEST_METHOD", "GET")
        .env("PATH_INFO", "/")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = cmd.output().unwrap();
    let r = parse_cgi(&out.stdout);
    // The setup page (tests/browser_install.rs), or where the binary's
    // folder is not the CGI user's to write, why it cannot be shown.
    assert_eq!(r.status, 503);
    assert!(r.text().contains("roost-setup-code.txt"), "{}", r.text());
    let exe_dir = common::roost_bin().parent().unwrap().display().to_string();
    assert!(!r.text().contains(&exe_dir), "no paths in the page");
    // A configured directory without a database: 503, the init hint, no internals.
    let r = Cgi::get(&dir.join("nothing-here"), "/").run();
    assert_eq!(r.status, 503);
    assert!(r.text().contains("roost init"), "{}", r.text());
    assert!(r.header("Retry-After").is_none(), "waiting does not help");
    assert!(!r.text().contains("nothing-here"), "no paths in the page");
}

/// A copy of the binary under test that is another build of the same code:
/// its build id (`roost --version`: `VERSION+HASH`) replaced by another hash
/// of the same length, as a new `roost.cgi` uploaded over the old one would be.
fn another_build(dir: &TempDir) -> std::path::PathBuf {
    let version = common::command_for(&common::roost_bin())
        .arg("--version")
        .output()
        .expect("roost --version");
    let version = String::from_utf8(version.stdout).unwrap();
    let id = version
        .split_whitespace()
        .last()
        .expect("a version")
        .to_owned();
    let (_, hash) = id.split_once('+').expect("VERSION+HASH");
    let other = format!(
        "{}+{}",
        id.split('+').next().unwrap(),
        hash.chars().rev().collect::<String>()
    );
    assert_ne!(other, id, "the made-up build differs");
    let mut bytes = std::fs::read(common::roost_bin()).unwrap();
    // The compiler may keep more than one copy of the constant: change each.
    let mut copies = 0;
    while let Some(at) = bytes.windows(id.len()).position(|w| w == id.as_bytes()) {
        bytes[at..at + id.len()].copy_from_slice(other.as_bytes());
        copies += 1;
    }
    assert!(copies > 0, "the build id is in the binary");
    let path = dir.join("roost-upgraded");
    std::fs::write(&path, bytes).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn an_upgraded_binary_serves_no_page_or_etag_the_old_one_made() {
    let dir = new_home();
    let home = home_of(&dir);
    post(&home, "rendered by the old build");
    let old = Cgi::get(&home, "/").run();
    assert_eq!(old.status, 200);
    let old_etag = old.header("ETag").unwrap().to_owned();
    let upgraded = another_build(&dir);
    // The new build's validators differ, so no client keeps the old rendering.
    let fresh = Cgi::get(&home, "/")
        .header("HTTP_IF_NONE_MATCH", old_etag.clone())
        .binary(&upgraded)
        .run();
    assert_eq!(fresh.status, 200, "the old build's ETag is not current");
    assert_ne!(fresh.header("ETag"), Some(old_etag.as_str()));
    // And no page the old build kept is served by the new one. Only the old
    // build's page is kept (the new build's is removed), then the database
    // goes away: the old build still answers from its kept page, the new
    // one must not.
    std::fs::remove_dir_all(home.join("cache")).unwrap();
    assert_eq!(Cgi::get(&home, "/").run().status, 200);
    let (old_build, new) = without_database(&home, || {
        let old_build = Cgi::get(&home, "/").run();
        (old_build, Cgi::get(&home, "/").binary(&upgraded).run())
    });
    assert_eq!(old_build.status, 200, "the old build's kept page");
    assert_eq!(new.status, 503, "the new build served the old build's page");
}

#[test]
fn public_pages_are_served_from_the_page_cache_until_something_changes() {
    let dir = new_home();
    let home = home_of(&dir);
    post(&home, "cached words");
    let first = Cgi::get(&home, "/").run();
    assert_eq!(first.status, 200);
    // With the database moved away, a kept page is still answered...
    without_database(&home, || {
        let cached = Cgi::get(&home, "/").run();
        assert_eq!(cached.status, 200, "served without the database");
        assert_eq!(cached.body, first.body);
        let not_modified = Cgi::get(&home, "/")
            .header("HTTP_IF_NONE_MATCH", first.header("ETag").unwrap())
            .run();
        assert_eq!(not_modified.status, 304);
        // ...but nothing private is: the owner's view always comes from the database.
        let owner = Cgi::get(&home, "/")
            .header("HTTP_COOKIE", format!("{SESSION}={}", "a".repeat(64)))
            .run();
        assert_eq!(owner.status, 503, "no database: unavailable, not a bug");
    });
    // Any change, from the command line too, retires the kept pages.
    post(&home, "fresh words");
    let after = Cgi::get(&home, "/").run().text();
    assert!(after.contains("fresh words") && after.contains("cached words"));
}

#[test]
fn a_request_path_cannot_inject_a_header() {
    let dir = new_home();
    let home = home_of(&dir);
    // The mount point (from REQUEST_URI, percent-decoded) goes into a
    // redirect's Location: CR LF in it must not end the header.
    let r = Cgi::get(&home, "/timeline")
        .header("REQUEST_URI", "/a%0D%0AX-Injected:%20yes%0D%0A/timeline")
        .run();
    assert_eq!(r.status, 303);
    assert!(r.header("X-Injected").is_none(), "{:?}", r.headers);
    assert_eq!(
        r.header("Location"),
        Some("https://example.org/aX-Injected: yes/login")
    );
}

#[test]
fn redirects_are_absolute_with_a_status_line() {
    let dir = new_home();
    let home = home_of(&dir);
    let mut cmd = common::roost_command();
    cmd.env_clear()
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("REQUEST_METHOD", "GET")
        .env("PATH_INFO", "/timeline")
        .env("REQUEST_URI", "/notes/timeline")
        .env("ROOST_HOME", &home);
    let out = cmd.output().unwrap();
    assert!(
        out.stdout.starts_with(b"Status: 303 See Other\r\n"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let r = parse_cgi(&out.stdout);
    assert_eq!(
        r.header("Location"),
        Some("https://example.org/notes/login"),
        "the configured scheme and host, the request's mount"
    );
    let r = Cgi::post(&home, "/posts", b"text=hi").run();
    assert_eq!(r.status, 303);
    assert_eq!(r.header("Location"), Some("https://example.org/login"));
}

/// The `Set-Cookie` of the login form, for a request over http with these extra variables.
fn login_cookie_with(home: &Path, vars: &[(&'static str, &'static str)]) -> String {
    let mut cgi = Cgi::get(home, "/login").plain_http();
    for (k, v) in vars {
        cgi = cgi.header(k, *v);
    }
    let r = cgi.run();
    assert_eq!(r.status, 200);
    r.headers_named("Set-Cookie").join("\n")
}

#[test]
fn https_is_taken_from_the_server_and_forwarded_headers_only_when_trusted() {
    // A site configured at http: whether a cookie is Secure is the request's.
    let dir = new_home_at("http://example.org/notes/");
    let home = home_of(&dir);
    assert!(!login_cookie_with(&home, &[]).contains("Secure"));
    assert!(login_cookie_with(&home, &[("HTTPS", "on")]).contains("; Secure"));
    assert!(login_cookie_with(&home, &[("REQUEST_SCHEME", "https")]).contains("; Secure"));
    let forwarded = [("HTTP_X_FORWARDED_PROTO", "https")];
    assert!(
        !login_cookie_with(&home, &forwarded).contains("Secure"),
        "X-Forwarded-Proto is ignored by default"
    );
    let out = roost_cli(&home, &["config", "trust_forwarded", "yes"], None);
    assert!(!out.status.success(), "validated like the other switches");
    expect_success(
        "config",
        &roost_cli(&home, &["config", "trust_forwarded", "true"], None),
    );
    assert!(login_cookie_with(&home, &forwarded).contains("; Secure"));
    assert!(
        !login_cookie_with(
            &home,
            &[("HTTPS", "on"), ("HTTP_X_FORWARDED_PROTO", "http")]
        )
        .contains("Secure"),
        "the trusted proxy's word wins"
    );
}

#[test]
fn a_database_locked_past_the_busy_timeout_gets_503_and_nothing_is_written() {
    let dir = new_home();
    let home = home_of(&dir);
    let (session, csrf) = log_in(&home);
    let before = post_count(&home);
    // Another process holds the write lock (the files exist already, so
    // opening them as root creates nothing the CGI user could not use).
    let locker = rusqlite::Connection::open(home.join("roost.db")).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = std::time::Instant::now();
    let r = Cgi::post(
        &home,
        "/posts",
        format!("csrf={csrf}&text=locked+out").as_bytes(),
    )
    .header("HTTP_COOKIE", session.clone())
    .run();
    let waited = started.elapsed();
    locker.execute_batch("ROLLBACK").unwrap();
    drop(locker);
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.header("Retry-After").is_some());
    assert!(r.text().contains("try again"), "{}", r.text());
    assert!(
        waited < std::time::Duration::from_secs(9),
        "the web waits less than the command line: {waited:?}"
    );
    assert_eq!(post_count(&home), before, "nothing written");
    // And once the lock is gone, the same request goes through.
    let r = Cgi::post(
        &home,
        "/posts",
        format!("csrf={csrf}&text=let+in").as_bytes(),
    )
    .header("HTTP_COOKIE", session)
    .run();
    assert_eq!(r.status, 303, "{}", r.text());
}

#[test]
fn a_read_only_data_directory_gets_503_on_post_and_nothing_is_written() {
    use std::os::unix::fs::PermissionsExt;
    let dir = new_home();
    let home = home_of(&dir);
    let (session, csrf) = log_in(&home);
    let before = post_count(&home);
    let set_modes = |dir_mode: u32, file_mode: u32| {
        for entry in std::fs::read_dir(&home).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(file_mode))
                    .unwrap();
            }
        }
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(dir_mode)).unwrap();
    };
    // Read-only for its owner, the CGI user (root would write anyway).
    set_modes(0o500, 0o400);
    let r = Cgi::post(
        &home,
        "/posts",
        format!("csrf={csrf}&text=read+only").as_bytes(),
    )
    .header("HTTP_COOKIE", session)
    .run();
    set_modes(0o700, 0o600);
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("Nothing was changed"), "{}", r.text());
    assert_eq!(post_count(&home), before, "nothing written");
}

/// The origin of the test site (`new_home`), as a browser sends it.
const OUR_ORIGIN: &str = "https://example.org";

#[test]
fn a_form_with_its_csrf_field_twice_is_refused_and_nothing_changes() {
    let dir = new_home();
    let home = home_of(&dir);
    let (session, csrf) = log_in(&home);
    for body in [
        format!("csrf={csrf}&csrf=other&text=first+wins"),
        format!("csrf=other&csrf={csrf}&text=last+wins"),
        format!("csrf={csrf}&text=one&text=two"),
    ] {
        let r = Cgi::post(&home, "/posts", body.as_bytes())
            .header("HTTP_COOKIE", session.clone())
            .run();
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert!(r.text().contains("more than once"), "{}", r.text());
    }
    assert_eq!(post_count(&home), 0);
    // The login form too.
    let form = Cgi::get(&home, "/login").run();
    let body = login_body(&form, "&csrf=x");
    let r = Cgi::post(&home, "/login", body.as_bytes())
        .header("HTTP_COOKIE", form.cookie(LOGIN).unwrap())
        .run();
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.cookie(SESSION).is_none());
}

#[test]
fn a_post_from_another_origin_is_refused_even_with_a_valid_token() {
    let dir = new_home();
    let home = home_of(&dir);
    let (session, csrf) = log_in(&home);
    let body = format!("csrf={csrf}&text=forged+from+elsewhere");
    for headers in [
        &[("HTTP_ORIGIN", "null")][..],
        &[("HTTP_ORIGIN", "https://evil.example")],
        &[("HTTP_ORIGIN", "http://example.org")],
        &[("HTTP_ORIGIN", "https://example.org:8443")],
        &[("HTTP_SEC_FETCH_SITE", "cross-site")],
        &[
            ("HTTP_ORIGIN", OUR_ORIGIN),
            ("HTTP_SEC_FETCH_SITE", "cross-site"),
        ],
        &[("HTTP_REFERER", "https://evil.example/example.org/notes/")],
    ] {
        let mut cgi =
            Cgi::post(&home, "/posts", body.as_bytes()).header("HTTP_COOKIE", session.clone());
        for (k, v) in headers {
            cgi = cgi.header(k, *v);
        }
        let r = cgi.run();
        assert_eq!(r.status, 403, "{headers:?}: {}", r.text());
        assert!(r.text().contains("not from this site") || r.text().contains("another site"));
    }
    // Every state-changing route, not just one: delete and logout too.
    for path in ["/posts/1/delete", "/logout", "/follow", "/unfollow"] {
        let r = Cgi::post(&home, path, format!("csrf={csrf}").as_bytes())
            .header("HTTP_COOKIE", session.clone())
            .header("HTTP_ORIGIN", "https://evil.example")
            .run();
        assert_eq!(r.status, 403, "{path}");
    }
    assert_eq!(post_count(&home), 0);
    // A browser's same-origin post, and a referrer from our pages, are let through.
    let same = format!("csrf={csrf}&text=from+our+own+page");
    let r = Cgi::post(&home, "/posts", same.as_bytes())
        .header("HTTP_COOKIE", session.clone())
        .header("HTTP_ORIGIN", OUR_ORIGIN)
        .header("HTTP_SEC_FETCH_SITE", "same-origin")
        .run();
    assert_eq!(r.status, 303, "{}", r.text());
    let referred = format!("csrf={csrf}&text=with+a+referrer");
    let r = Cgi::post(&home, "/posts", referred.as_bytes())
        .header("HTTP_COOKIE", session.clone())
        .header("HTTP_REFERER", "https://example.org/notes/")
        .run();
    assert_eq!(r.status, 303);
    assert_eq!(post_count(&home), 2);
    // Login CSRF: a login form posted from another origin starts no session.
    let form = Cgi::get(&home, "/login").run();
    let body = login_body(&form, "");
    let r = Cgi::post(&home, "/login", body.as_bytes())
        .header("HTTP_COOKIE", form.cookie(LOGIN).unwrap())
        .header("HTTP_ORIGIN", "https://evil.example")
        .run();
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.cookie(SESSION).is_none());
}

#[test]
fn a_login_over_plain_http_to_an_https_site_moves_to_https_and_sets_no_cookie() {
    let dir = new_home();
    let home = home_of(&dir);
    let r = Cgi::get(&home, "/login").plain_http().run();
    assert_eq!(r.status, 303);
    assert_eq!(r.header("Location"), Some("https://example.org/login"));
    assert!(r.headers_named("Set-Cookie").is_empty(), "{:?}", r.headers);
    // The form fetched over https, the password sent over http: not taken.
    let form = Cgi::get(&home, "/login").run();
    let body = login_body(&form, "");
    let r = Cgi::post(&home, "/login", body.as_bytes())
        .plain_http()
        .header("HTTP_COOKIE", form.cookie(LOGIN).unwrap())
        .run();
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("Location"), Some("https://example.org/login"));
    assert!(r.headers_named("Set-Cookie").is_empty(), "{:?}", r.headers);
    // A proxy that speaks https to the browser but is not trusted yet: the
    // redirect would come straight back, so the page says what to set.
    let r = Cgi::get(&home, "/login")
        .plain_http()
        .header("HTTP_X_FORWARDED_PROTO", "https")
        .run();
    assert_eq!(r.status, 403);
    assert!(r.text().contains("trust_forwarded true"), "{}", r.text());
    assert!(r.headers_named("Set-Cookie").is_empty());
    // A proxy's word, when trusted, is the request's scheme.
    expect_success(
        "config",
        &roost_cli(&home, &["config", "trust_forwarded", "true"], None),
    );
    let r = Cgi::get(&home, "/login")
        .header("HTTP_X_FORWARDED_PROTO", "http")
        .run();
    assert_eq!(r.status, 303);
    assert!(r.headers_named("Set-Cookie").is_empty());
    let r = Cgi::get(&home, "/login")
        .plain_http()
        .header("HTTP_X_FORWARDED_PROTO", "https")
        .run();
    assert_eq!(r.status, 200, "trusted: https");
    assert!(r.headers_named("Set-Cookie").join("").contains("; Secure"));
}

#[test]
fn cookies_are_secure_prefixed_and_scoped_to_the_sites_path_not_the_scripts() {
    // Below the root of an https origin: __Secure-, Path the site's path,
    // also when the script is addressed directly (/notes/roost.cgi/login).
    let dir = new_home();
    let home = home_of(&dir);
    let r = Cgi::get(&home, "/login")
        .header("REQUEST_URI", "/notes/roost.cgi/login")
        .header("SCRIPT_NAME", "/notes/roost.cgi")
        .run();
    assert_eq!(r.status, 200);
    let set = r.headers_named("Set-Cookie").join("\n");
    assert!(set.starts_with(&format!("{LOGIN}=")), "{set}");
    assert!(
        set.contains("; Path=/notes/;") && set.ends_with("; Secure"),
        "{set}"
    );
    // At the root of an https origin: __Host-, Path=/, whatever the mount.
    let root = new_home_at("https://example.org/");
    let home = home_of(&root);
    let form = Cgi::get(&home, "/login")
        .header("REQUEST_URI", "/roost.cgi/login")
        .run();
    let set = form.headers_named("Set-Cookie").join("\n");
    assert!(set.starts_with("__Host-roost_login="), "{set}");
    assert!(
        set.contains("; Path=/;") && set.ends_with("; Secure"),
        "{set}"
    );
    let body = login_body(&form, "");
    let done = Cgi::post(&home, "/login", body.as_bytes())
        .header("HTTP_COOKIE", form.cookie("__Host-roost_login").unwrap())
        .header("REQUEST_URI", "/roost.cgi/login")
        .run();
    assert_eq!(done.status, 303, "{}", done.text());
    let session = done
        .cookie("__Host-roost_session")
        .expect("a __Host- session");
    let set = done.headers_named("Set-Cookie").join("\n");
    assert!(
        set.contains("__Host-roost_session=") && set.contains("; Path=/;"),
        "{set}"
    );
    let owner = Cgi::get(&home, "/timeline")
        .header("HTTP_COOKIE", session.clone())
        .run();
    assert_eq!(owner.status, 200, "the session works");
    // The same token without the prefix (a cookie plain http or a sibling
    // host could have set) is no session.
    let unprefixed = session.replacen("__Host-", "", 1);
    let r = Cgi::get(&home, "/timeline")
        .header("HTTP_COOKIE", unprefixed)
        .run();
    assert_eq!(r.status, 303);
}

/// A POST whose CONTENT_LENGTH promises `extra` bytes more than `body`.
fn post_announcing_more(
    home: &Path,
    session: &str,
    body: &[u8],
    extra: usize,
) -> std::process::Child {
    let declared = (body.len() + extra).to_string();
    Cgi::post(home, "/posts", body)
        .header("HTTP_COOKIE", session.to_string())
        .header("CONTENT_LENGTH", declared)
        .spawn()
}

#[test]
fn a_body_shorter_than_content_length_is_refused_and_nothing_is_stored() {
    let dir = new_home();
    let home = home_of(&dir);
    let (session, csrf) = log_in(&home);
    let body = format!("csrf={csrf}&text=cut+off+in+the+mid");
    let mut child = post_announcing_more(&home, &session, body.as_bytes(), 100);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let r = finish(child);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("nothing was done"), "{}", r.text());
    assert_eq!(post_count(&home), 0);
}

#[test]
fn a_body_that_stops_arriving_is_refused_at_its_deadline() {
    let dir = new_home();
    let home = home_of(&dir);
    let (session, csrf) = log_in(&home);
    let body = format!("csrf={csrf}&text=stalled");
    let started = std::time::Instant::now();
    let mut child = post_announcing_more(&home, &session, body.as_bytes(), 100);
    // Sent, but stdin kept open: the client has stopped, not gone.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(body.as_bytes()).unwrap();
    let deadline = started + std::time::Duration::from_secs(40);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the CGI still waits for its body after 40 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let waited = started.elapsed();
    let r = finish(child);
    drop(stdin);
    assert_eq!(r.status, 408, "{}", r.text());
    assert!(
        waited >= std::time::Duration::from_secs(19),
        "gave up after {waited:?}"
    );
    assert_eq!(post_count(&home), 0);
}

/// Data of another user (under suexec roost.cgi runs as the file's owner):
/// the error log said "no roost database ... run init". It names both users
/// now; the page still shows no path and no user.
#[test]
fn data_of_another_user_is_a_503_and_the_error_log_names_the_owner() {
    let Some(cgi) = common::cgi_user_or_skip(
        "data_of_another_user_is_a_503_and_the_error_log_names_the_owner",
        "giving the data to another user",
    ) else {
        return;
    };
    let dir = new_home();
    let home = home_of(&dir);
    std::os::unix::fs::chown(&home, Some(65534), None).unwrap();
    let out = common::roost_command()
        .env_clear()
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("REQUEST_METHOD", "GET")
        .env("PATH_INFO", "/")
        .env("ROOST_HOME", &home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let r = parse_cgi(&out.stdout);
    assert_eq!(r.status, 503, "{}", r.text());
    let page = r.text();
    assert!(
        !page.contains(&home.display().to_string()) && !page.contains("belongs to"),
        "{page}"
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains(&format!(
            "the data directory {} belongs to user ",
            home.display()
        )) && log.contains(&format!("roost runs as user {}", cgi.name)),
        "{log}"
    );
}

/// On a CGI host there is no terminal to print a setup link on: the login
/// page of a node without a password says which command prints one (the
/// binary by its path: `roost` is on nobody's PATH there), and the link it
/// prints opens the password form.
#[test]
fn login_page_without_a_password_names_the_setup_link_command_by_its_path() {
    let dir = TempDir::new("roost-cgi");
    let home = dir.join("data");
    expect_success(
        "init",
        &roost_cli(
            &home,
            &["init", "--url", "https://example.org/", "--name", "Ann"],
            None,
        ),
    );
    let page = Cgi::get(&home, "/login").run();
    assert_eq!(page.status, 200);
    let command = format!(
        "{} --home {} setup-link",
        common::roost_bin().display(),
        home.display()
    );
    assert!(
        page.text().contains(&command),
        "{command} in {}",
        page.text()
    );

    let mut sh = std::process::Command::new("sh");
    common::run_as_cgi_user(&mut sh);
    let link = expect_success(
        "the setup-link command, as printed",
        &common::run_with_stdin(sh.arg("-c").arg(&command), None),
    );
    let query = link
        .trim()
        .strip_prefix("https://example.org/setup?")
        .unwrap_or_else(|| panic!("a setup link: {link:?}"));
    let form = Cgi {
        query,
        ..Cgi::get(&home, "/setup")
    }
    .run();
    assert_eq!(form.status, 200, "{}", form.text());
    assert!(form.text().contains("name=\"again\""), "{}", form.text());

    // With a password set, the login page has the form and no setup command.
    expect_success(
        "passwd",
        &roost_cli(&home, &["passwd"], Some(&format!("{OWNER_PASSWORD}\n"))),
    );
    let page = Cgi::get(&home, "/login").run();
    assert!(!page.text().contains("setup-link"), "{}", page.text());
    let gone = Cgi {
        query,
        ..Cgi::get(&home, "/setup")
    }
    .run();
    assert_eq!(gone.status, 410, "{}", gone.text());
}

/// A form value as a browser encodes it.
fn form_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What `roost config KEY` prints.
fn config_value(home: &Path, key: &str) -> String {
    let out = roost_cli(home, &["config", key], None);
    expect_success("config", &out).trim_end().to_string()
}

/// The /settings form filled in: `fields` as given, the rest as stored.
fn settings_body(home: &Path, csrf: &str, fields: &[(&str, &str)]) -> String {
    let mut body = format!("csrf={csrf}");
    for key in [
        "name",
        "bio",
        "url",
        "handle",
        "time_zone",
        "public_timeline",
        "publish_dir",
    ] {
        let value = match fields.iter().find(|(k, _)| *k == key) {
            Some((_, value)) => value.to_string(),
            None if key == "publish_dir" => String::new(),
            None => config_value(home, key),
        };
        // An unticked checkbox is not sent at all.
        if key == "public_timeline" && value != "true" {
            continue;
        }
        body.push_str(&format!("&{key}={}", form_value(&value)));
    }
    body
}

/// Issue 11: the owner changes the settings in the browser, checked by the
/// same declared settings as `roost config`, behind the session and CSRF.
#[test]
fn the_settings_page_changes_settings_as_roost_config_does() {
    let dir = new_home();
    let home = home_of(&dir);
    // Owner only: no session goes to the login page, nothing changes.
    let r = Cgi::get(&home, "/settings").run();
    assert_eq!(r.status, 303);
    assert!(r.header("Location").unwrap().ends_with("/login"));
    let r = Cgi::post(&home, "/settings", b"bio=forged").run();
    assert_eq!(r.status, 303);
    let (session, csrf) = log_in(&home);
    let owner_get = |path: &str| {
        Cgi::get(&home, Box::leak(path.to_string().into_boxed_str()))
            .header("HTTP_COOKIE", session.clone())
            .run()
    };
    let owner_post = |body: String| {
        Cgi::post(
            &home,
            "/settings",
            Box::leak(body.into_bytes().into_boxed_slice()),
        )
        .header("HTTP_COOKIE", session.clone())
        .run()
    };
    let page = owner_get("/settings");
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.header("Cache-Control"), Some("no-store"));
    let text = page.text();
    assert!(text.contains("value=\"Ann Example\""), "{text}");
    assert!(
        text.contains("value=\"example\""),
        "the derived handle: {text}"
    );
    assert!(text.contains("value=\"UTC\""), "{text}");
    assert!(
        owner_get("/").text().contains("/settings\""),
        "a link in the owner's header"
    );
    // A wrong token, or a field twice: refused, nothing saved.
    let forged = settings_body(&home, &"0".repeat(32), &[("bio", "forged")]);
    assert_eq!(owner_post(forged).status, 403);
    let twice = settings_body(&home, &csrf, &[("bio", "one")]) + "&bio=two";
    let r = owner_post(twice);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("more than once"), "{}", r.text());
    assert_eq!(config_value(&home, "bio"), "");
    // Refused fields: each message next to its field, everything typed kept, nothing saved.
    let bad = settings_body(
        &home,
        &csrf,
        &[
            ("bio", "Kept <b>bio</b>"),
            ("handle", "Not-A-Handle"),
            ("time_zone", "Mars/Olympus"),
            ("url", "ftp://example.org/"),
        ],
    );
    let r = owner_post(bad);
    assert_eq!(r.status, 400, "{}", r.text());
    let text = r.text();
    for (field, message) in [
        ("handle", "The handle is 1 to 30 of a-z"),
        (
            "time_zone",
            "The time zone Mars/Olympus is not in this host's zone database",
        ),
        ("url", "The url must be an absolute http"),
    ] {
        let error = format!("id=\"setting-{field}-error\">{message}");
        assert!(text.contains(&error), "{error} in {text}");
    }
    assert!(!text.contains("setting-name-error"), "{text}");
    assert!(
        text.contains("Kept &lt;b&gt;bio&lt;/b&gt;</textarea>"),
        "{text}"
    );
    assert!(text.contains("value=\"Not-A-Handle\""), "{text}");
    assert_eq!(config_value(&home, "bio"), "");
    assert_eq!(config_value(&home, "handle"), "example");
    // Accepted: saved as `roost config` saves, 303 back with a note.
    let good = settings_body(
        &home,
        &csrf,
        &[
            ("name", "Ann B. Example"),
            ("bio", "Writes about birds."),
            ("handle", "Ann_B"),
            ("time_zone", "+02:00"),
            ("public_timeline", "true"),
        ],
    );
    let r = owner_post(good);
    assert_eq!(r.status, 303, "{}", r.text());
    let location = r.header("Location").unwrap();
    assert!(
        location.starts_with("https://example.org/") && location.ends_with("/settings?saved"),
        "{location}"
    );
    let mut saved = Cgi::get(&home, "/settings").header("HTTP_COOKIE", session.clone());
    saved.query = "saved";
    assert!(saved.run().text().contains("Saved."));
    assert_eq!(config_value(&home, "name"), "Ann B. Example");
    assert_eq!(config_value(&home, "handle"), "ann_b");
    assert_eq!(config_value(&home, "time_zone"), "+02:00");
    assert_eq!(config_value(&home, "public_timeline"), "true");
    // Visitors see the new profile, and the timeline is now public.
    let front = Cgi::get(&home, "/").run().text();
    assert!(
        front.contains("Ann B. Example") && front.contains("Writes about birds."),
        "{front}"
    );
    assert_eq!(Cgi::get(&home, "/timeline").run().status, 200);
    // A new url moves the site as `roost config url` does: the redirect goes there.
    let moved = settings_body(&home, &csrf, &[("url", "https://moved.example/notes")]);
    let r = owner_post(moved);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        r.header("Location"),
        Some("https://moved.example/notes/settings?saved")
    );
    assert_eq!(config_value(&home, "url"), "https://moved.example/notes/");
}

/// Publishing turned on and off from the page writes and withdraws the
/// files, as `roost config publish_dir` does.
#[test]
fn the_settings_page_turns_publishing_on_and_off() {
    let dir = new_home();
    let home = home_of(&dir);
    let docroot = dir.join("public_html");
    std::fs::create_dir(&docroot).unwrap();
    common::chown_to_cgi_user(&docroot);
    let (session, csrf) = log_in(&home);
    let docroot_text = docroot.to_str().unwrap();
    let on = settings_body(&home, &csrf, &[("publish_dir", docroot_text)]);
    let r = Cgi::post(&home, "/settings", on.as_bytes())
        .header("HTTP_COOKIE", session.clone())
        .run();
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(docroot.join("feed.atom").exists() && docroot.join("roost-home.html").exists());
    assert!(config_value(&home, "publish_dir").ends_with("public_html"));
    let off = settings_body(&home, &csrf, &[("publish_dir", "")]);
    let r = Cgi::post(&home, "/settings", off.as_bytes())
        .header("HTTP_COOKIE", session.clone())
        .run();
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(!docroot.join("feed.atom").exists(), "withdrawn");
    let missing = settings_body(&home, &csrf, &[("publish_dir", "/no/such/dir")]);
    let r = Cgi::post(&home, "/settings", missing.as_bytes())
        .header("HTTP_COOKIE", session)
        .run();
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("not an existing directory"),
        "{}",
        r.text()
    );
}

/// The `<time>` elements of a page: (datetime, text).
fn times(html: &str) -> Vec<(String, String)> {
    html.split("<time")
        .skip(1)
        .map(|rest| {
            let (attrs, rest) = rest.split_once('>').unwrap();
            let datetime = attrs.split("datetime=\"").nth(1).unwrap();
            let datetime = datetime.split('"').next().unwrap().to_string();
            (datetime, rest.split("</time>").next().unwrap().to_string())
        })
        .collect()
}

/// Issue 11: times are shown in the owner's zone with a machine-readable
/// UTC `datetime`; relative ("just now") only in the owner's views, whose
/// validators carry the minute, so no kept copy says "3 min ago" for long.
#[test]
fn times_show_in_the_owners_zone_and_relative_only_to_the_owner() {
    let dir = new_home();
    let home = home_of(&dir);
    post(&home, "what time is it");
    expect_success(
        "config",
        &roost_cli(&home, &["config", "time_zone", "+02:00"], None),
    );
    let visitor = Cgi::get(&home, "/").run().text();
    let shown = times(&visitor);
    assert_eq!(shown.len(), 1, "{visitor}");
    let (datetime, text) = &shown[0];
    assert!(
        datetime.ends_with('Z') && datetime.len() == 20,
        "{datetime}"
    );
    assert!(text.ends_with(" +02:00"), "in the owner's zone: {text}");
    // 22:13 UTC is shown as 00:13 (+02:00): the hour moved by two.
    let utc_hour: u32 = datetime[11..13].parse().unwrap();
    let shown_hour: u32 = text.rsplit(", ").next().unwrap()[..2].parse().unwrap();
    assert_eq!(
        shown_hour,
        (utc_hour + 2) % 24,
        "{datetime} shown as {text}"
    );
    assert!(
        visitor.contains("class=\"dt-published\" datetime=\""),
        "{visitor}"
    );

    let (session, _) = log_in(&home);
    let owner = Cgi::get(&home, "/")
        .header("HTTP_COOKIE", session.clone())
        .run();
    let owner_times = times(&owner.text());
    let (owner_datetime, owner_text) = &owner_times[0];
    assert_eq!(owner_datetime, datetime);
    assert!(
        owner_text == "just now" || owner_text.ends_with(" min ago"),
        "relative for the owner: {owner_text}"
    );
    assert!(
        owner.text().contains(&format!("title=\"{text}\"")),
        "the absolute time as its title"
    );
    // The owner's copy is current within its minute only.
    let etag = owner.header("ETag").unwrap().to_string();
    let (kept, minute) = etag.trim_end_matches('"').rsplit_once(".m").unwrap();
    let minute: i64 = minute.parse().unwrap();
    let earlier = format!("{kept}.m{}\"", minute - 60);
    let stale = Cgi::get(&home, "/")
        .header("HTTP_COOKIE", session.clone())
        .header("HTTP_IF_NONE_MATCH", earlier)
        .run();
    assert_eq!(stale.status, 200, "a copy from the minute before is stale");
    let again = Cgi::get(&home, "/")
        .header("HTTP_COOKIE", session)
        .header("HTTP_IF_NONE_MATCH", etag.clone())
        .run();
    if again.status != 304 {
        // Only when the minute turned in between.
        assert_ne!(again.header("ETag"), Some(etag.as_str()));
    }
}

/// Sets post `id`'s time as if it had been written then (no command takes a date).
fn set_post_time(home: &Path, id: i64, unix: i64) {
    let conn = rusqlite::Connection::open(home.join("roost.db")).unwrap();
    conn.execute(
        "UPDATE posts SET published = ?1, updated = ?1 WHERE id = ?2",
        rusqlite::params![unix, id],
    )
    .unwrap();
}

/// The time a visitor sees on post `id`'s permalink page, as (datetime, text).
fn permalink_time(home: &Path, path: &'static str) -> (String, String) {
    let page = Cgi::get(home, path).run();
    assert_eq!(page.status, 200, "{}", page.text());
    let shown = times(&page.text());
    assert_eq!(shown.len(), 1, "{}", page.text());
    shown[0].clone()
}

/// Issue 11: a zone name follows the zone's summer time: with Europe/Berlin,
/// set by `roost config` or by the /settings page alike, a January post
/// shows at +01:00 and a July post at +02:00. A name the host lacks (a site
/// moved to a host without it) is refused when set, and one already stored
/// reads as UTC without breaking a page.
#[test]
fn a_zone_name_shows_winter_and_summer_posts_with_their_own_offsets() {
    let dir = new_home();
    let home = home_of(&dir);
    post(&home, "a winter note");
    post(&home, "a summer note");
    // 15 Jan and 15 Jul 2024, 12:00 UTC.
    set_post_time(&home, 1, 1_705_320_000);
    set_post_time(&home, 2, 1_721_044_800);
    let winter = (
        "2024-01-15T12:00:00Z".to_string(),
        "15 Jan 2024, 13:00 +01:00".to_string(),
    );
    let summer = (
        "2024-07-15T12:00:00Z".to_string(),
        "15 Jul 2024, 14:00 +02:00".to_string(),
    );

    // Stored behind roost's back, as after a move to a host without the zone.
    let conn = rusqlite::Connection::open(home.join("roost.db")).unwrap();
    conn.execute(
        "INSERT OR REPLACE INTO settings (key, value) VALUES ('time_zone', 'Mars/Olympus')",
        [],
    )
    .unwrap();
    drop(conn);
    assert_eq!(
        permalink_time(&home, "/posts/1").1,
        "15 Jan 2024, 12:00 UTC"
    );
    assert_eq!(config_value(&home, "time_zone"), "Mars/Olympus");

    let set = roost_cli(&home, &["config", "time_zone", "Europe/Berlin"], None);
    assert_eq!(
        expect_success("config", &set).trim(),
        "time_zone = Europe/Berlin"
    );
    assert_eq!(permalink_time(&home, "/posts/1"), winter);
    assert_eq!(permalink_time(&home, "/posts/2"), summer);
    for (bad, says) in [
        ("../../etc/passwd", "no `..` or leading /"),
        ("/usr/share/zoneinfo/Europe/Berlin", "no `..` or leading /"),
        ("Mars/Olympus", "apt install tzdata"),
    ] {
        let out = roost_cli(&home, &["config", "time_zone", bad], None);
        assert!(!out.status.success(), "{bad} accepted");
        let error = String::from_utf8_lossy(&out.stderr);
        assert!(error.contains(says), "{bad}: {error}");
    }
    assert_eq!(config_value(&home, "time_zone"), "Europe/Berlin");

    // The same through the settings page.
    expect_success(
        "config",
        &roost_cli(&home, &["config", "time_zone", "UTC"], None),
    );
    assert_eq!(
        permalink_time(&home, "/posts/2").1,
        "15 Jul 2024, 12:00 UTC"
    );
    let (session, csrf) = log_in(&home);
    let post_settings = |time_zone: &str| {
        let body = settings_body(&home, &csrf, &[("time_zone", time_zone)]);
        Cgi::post(&home, "/settings", body.as_bytes())
            .header("HTTP_COOKIE", session.clone())
            .run()
    };
    let refused = post_settings("../../etc/passwd");
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(
        refused.text().contains("no `..` or leading /"),
        "{}",
        refused.text()
    );
    let saved = post_settings("Europe/Berlin");
    assert_eq!(saved.status, 303, "{}", saved.text());
    assert_eq!(config_value(&home, "time_zone"), "Europe/Berlin");
    assert_eq!(permalink_time(&home, "/posts/1"), winter);
    assert_eq!(permalink_time(&home, "/posts/2"), summer);
}
