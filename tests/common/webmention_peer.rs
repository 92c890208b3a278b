//! An independent Webmention implementation on loopback, for testing roost's
//! sender and receiver against code that is not roost's: Python django-wm
//! 4.2.0 without celery, and mf2py 2.0.2 (tests/python/webmention_peer.py,
//! from the venv `scripts/setup` makes), one process per test binary,
//! started on first use by [`webmention_peer`] (about 1.5 s). It is at once
//!
//! - a **receiver**: django-wm's endpoint [`WebmentionPeer::endpoint_url`]
//!   (`/webmention/`) and target pages [`WebmentionPeer::page_url`]
//!   (`/page/NAME`: an h-entry by "Peer Author" advertising the endpoint).
//!   A POST only stores the mention; [`WebmentionPeer::process`] verifies
//!   what is pending (django-wm's `mentions_pending`), and
//!   [`WebmentionPeer::received`] says what it read of each mention: its
//!   type, author, and mf2py's reading of the same bytes (content);
//! - a **sender**: [`WebmentionPeer::set_source`] writes a page
//!   [`WebmentionPeer::source_url`] (`/source/NAME`, say an h-entry replying
//!   to a roost post: [`WebmentionPeer::h_entry`]), and
//!   [`WebmentionPeer::send`] has django-wm discover the target's endpoint
//!   and send a Webmention from it;
//! - **mf2py**: [`WebmentionPeer::mf2`] parses any URL as a receiver would.
//!
//! What happened is read back as [`PeerProcess::events`] (`received`,
//! `processed`, `process_error`, `sent`, `fetched`: every request django-wm
//! made and its answer; see the header of webmention_peer.py for the
//! fields). A missing venv or package fails the test with "run
//! scripts/setup"; nothing is skipped. The peer ends itself (and removes its
//! directory) when the test process ends.
//!
//! # What django-wm and mf2py do, that roost must meet
//!
//! Points marked (t) are proven by tests/webmention_peer.rs; the rest, and
//! parts marked (source), are read from django-wm's source
//! (mentions/tasks/, mentions/util/).
//!
//! As a **receiver** (roost sending to it):
//! - (t) The endpoint takes a form POST with `source` and `target`, each a
//!   URL Django's URLField accepts (http, https, but also ftp and ftps; at
//!   most 500 characters; one without a scheme gets `http://` put before it,
//!   source), and answers `202 Accepted` with a small HTML page and *no*
//!   `Location`; a missing or bad field gets a bare `400` with an empty
//!   body. Nothing else is checked at once: `source` = `target` is 202 too.
//! - (t) Nothing is verified until [`WebmentionPeer::process`] runs (no
//!   celery: that is django-wm's `manage.py mentions_pending`). It then GETs
//!   the source (following redirects; any address, loopback included), which
//!   must answer < 300 with a Content-Type containing `text/html` (source);
//!   anything else (404, 410, a timeout) leaves the mention pending for a
//!   retry and stores nothing (at most 5 attempts; at once here, 10 minutes
//!   apart in django-wm). So a source deleted later (410) never removes a
//!   mention stored before (source), and (t) the same mention sent again is
//!   stored as a *second* row: django-wm neither updates nor deletes.
//! - (t) The target's host must be in ALLOWED_HOSTS (here 127.0.0.1 and
//!   localhost, port ignored), or processing raises TargetWrongDomain (a
//!   `process_error` here; in django-wm it stops `mentions_pending`).
//! - (t) The source links to the target only through an `<a href>` (a
//!   `<link>`, `<img>`... does not count) whose href, resolved against the
//!   source URL *as sent* (not the URL redirected to: source), equals the
//!   target *string exactly* (a trailing slash more and it does not). A
//!   source that does not link is still stored, with `validated: false`
//!   (and, with auto approval, approved).
//! - (t) The type (`post_type`: reply, like, repost, bookmark, listen,
//!   watch, translation; else `type` is "webmention") comes from the classes
//!   of the **first** `<a>` to the target in document order (`u-in-reply-to`,
//!   `u-like-of`, `u-repost-of`, `u-bookmark-of`, ...) or from those of an
//!   `h-cite` around it (`<div class="u-like-of h-cite"><a class="u-url"
//!   href=TARGET>`), not from the mf2 parse: an earlier plain `<a
//!   href=TARGET>` (a "replying to" header, say) makes a reply a mere
//!   mention, though mf2py still reads `in-reply-to`. So roost's reply must
//!   put `class="u-in-reply-to"` on its first link to the parent.
//! - (t) The author is the `p-author` **h-card** of the nearest `h-entry`
//!   around that link (with a name or a url; photo, else logo, as avatar),
//!   else the first top-level h-card of the page, else none. A `p-author`
//!   that is plain text (not an h-card) crashes django-wm (AttributeError: a
//!   `process_error`; the mention stays pending and is never stored): roost's
//!   h-entry must carry `class="p-author h-card"`.
//! - django-wm stores no content: [`WebmentionPeer::received`]'s `content`
//!   and `entry` are mf2py's parse of the very HTML it verified.
//! - Its own public JSON, `GET /webmention/get?url=/page/NAME`, lists the
//!   approved, validated mentions, newest first (source).
//!
//! As a **sender** (roost receiving from it):
//! - (t) Discovery GETs the target (following redirects), which must answer
//!   < 300 (else `target_failed`, retried later). It takes the `Link` header
//!   first (requests joins several with ", "), read with a regex: `<URL>;`
//!   then `rel=webmention`, quoted or not, as the only rel value:
//!   `rel="webmention other"` is not seen. Then a `<link rel href>` in the
//!   `<head>` only (several rel values are fine), then an `<a rel href>` in
//!   the `<body>`: a `<link>` in the body is not seen even when it comes
//!   before the `<a>`, unlike the spec's document order. A relative endpoint
//!   resolves against the URL redirected to. An empty href is taken as no
//!   endpoint (the spec: the page itself).
//! - (t) It POSTs `source` and `target` form-urlencoded, with User-Agent
//!   `django-wm/4.2.0 (+https://github.com/beatonma/django-wm/)`; `source`
//!   is `http://127.0.0.1:PORT/source/NAME`. Any status < 300 (200, 201,
//!   202) is success and `Location` is ignored; any other, 4xx too, is a
//!   failure kept for a retry: [`WebmentionPeer::process_what`]`("outgoing")`
//!   POSTs again, even after a 400.
//!
//! **mf2py** (roost's pages as any receiver reads them):
//! - (t) An h-card's url is implied (from its `<a href>`) only when it has no
//!   explicit `u-*` property: `<a class="p-author h-card" href=HOME><img
//!   class="u-photo" ...>Name</a>` has a photo and *no url*. An author card
//!   with a photo needs its own `u-url`.
//! - (t) A `u-photo` with an `alt` attribute (even empty) is `{"value",
//!   "alt"}`, not a string; `e-content` is `{"value"` (text), `"html"}`;
//!   `dt-published` keeps the datetime as written.
//!
//! **Timing**: nothing runs in the background. [`WebmentionPeer::send`]
//! returns once discovery and the POST are done; a received mention is only
//! stored until [`WebmentionPeer::process`], which returns once every source
//! is fetched and read. So a test never waits: roost's cron, then `process`.
//! Every request either way times out after 10 s.
//!
//! Everything is on loopback: roost must let its guard reach 127.0.0.1 in
//! these tests (`Apache::loopback_roost_site`), as with the WebSub peer.
//!
//! # Using it against roost
//!
//! - roost sending: a roost reply to `peer.page_url(name)` (`roost post
//!   --reply-to URL`), roost's cron, then `peer.process()` and
//!   `peer.received(Some(&target))`: `type` "reply", `author`, `content`
//!   (tests/webmention_peer.rs reads roost's reply page so, sending for it).
//! - roost receiving: `peer.set_source(name, &peer.h_entry("u-in-reply-to",
//!   &permalink, "<p>...</p>"))`, `peer.send(name, &permalink)` (`result`
//!   "sent" once roost's endpoint answers < 300), roost's cron, then roost's
//!   post page.
//! - `peer.mf2(url)`: any roost page as a receiver's parser reads it.

use std::ops::Deref;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use super::http::{self, HttpResponse};
use super::peer_process::{PeerProcess, check_peer_name, shared_peer};
use super::python;

const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The running peer; see the module doc. Its process, address and events
/// are [`PeerProcess`]'s.
pub struct WebmentionPeer(PeerProcess);

impl Deref for WebmentionPeer {
    type Target = PeerProcess;
    fn deref(&self) -> &PeerProcess {
        &self.0
    }
}

/// The test binary's peer, started on first use. Panics, with the peer's log,
/// if it cannot start (and with "run scripts/setup" if the venv lacks it).
pub fn webmention_peer() -> &'static WebmentionPeer {
    static PEER: OnceLock<Result<WebmentionPeer, String>> = OnceLock::new();
    shared_peer(&PEER, || {
        python::start_peer("the Webmention peer", "webmention_peer.py", START_TIMEOUT)
            .map(WebmentionPeer)
    })
}

impl WebmentionPeer {
    /// django-wm's receiving endpoint, `BASE/webmention/`.
    pub fn endpoint_url(&self) -> String {
        format!("{}/webmention/", self.base_url())
    }

    /// A target page, `BASE/page/NAME`: an h-entry ("Peer page NAME" by
    /// "Peer Author") advertising the endpoint. `NAME` is `[A-Za-z0-9_-]`:
    /// use `common::unique`.
    pub fn page_url(&self, name: &str) -> String {
        check_peer_name(name);
        format!("{}/page/{name}", self.base_url())
    }

    /// A page of the peer's own, `BASE/source/NAME` (404 until
    /// [`WebmentionPeer::set_source`]).
    pub fn source_url(&self, name: &str) -> String {
        check_peer_name(name);
        format!("{}/source/{name}", self.base_url())
    }

    /// Sets the `<body>` of [`WebmentionPeer::source_url`]`(name)`; returns
    /// its URL.
    pub fn set_source(&self, name: &str, body_html: &str) -> String {
        self.set_body("source", name, body_html)
    }

    /// Replaces the default `<body>` of [`WebmentionPeer::page_url`]`(name)`
    /// (a target whose content the test chooses, such as a parent post).
    pub fn set_page(&self, name: &str, body_html: &str) -> String {
        self.set_body("page", name, body_html)
    }

    fn set_body(&self, kind: &str, name: &str, body_html: &str) -> String {
        check_peer_name(name);
        let path = format!("/{kind}/{name}");
        let resp = self.post(&path, &[("html", body_html)]);
        resp["url"]
            .as_str()
            .expect("the peer answers the url")
            .into()
    }

    /// An h-entry as django-wm sites write one: by "Peer Author" (a
    /// `p-author h-card` linking to the peer's home), `content_html` as its
    /// `e-content`, and a link to `target` with the class `property`
    /// (`u-in-reply-to`, `u-like-of`, `u-repost-of`, `u-bookmark-of`; or ""
    /// for a plain mention).
    pub fn h_entry(&self, property: &str, target: &str, content_html: &str) -> String {
        format!(
            "<article class=\"h-entry\">\n\
             <a class=\"p-author h-card\" href=\"{base}/\">Peer Author</a>\n\
             <a class=\"{property}\" href=\"{target}\">{target}</a>\n\
             <div class=\"e-content\">{content_html}</div>\n\
             </article>",
            base = self.base_url(),
            target = html_attr(target),
        )
    }

    /// django-wm discovers `target`'s endpoint and sends it a Webmention
    /// from [`WebmentionPeer::source_url`]`(source_name)` (set first).
    /// Returns `{"source", "target", "result"` (`sent`: the endpoint
    /// answered < 300; `refused`: it answered other; `no_endpoint`;
    /// `target_failed`: the target answered >= 300 or not at all),
    /// `"endpoint", "status_code", "message", "successful", "attempts"}`.
    pub fn send(&self, source_name: &str, target: &str) -> Value {
        check_peer_name(source_name);
        self.post(
            "/send",
            &[("source_page_name", source_name), ("target", target)],
        )
    }

    /// As a django-wm site does when a post is saved: a Webmention to every
    /// link of the source page. Returns `{"source", "sent"` (how many were
    /// accepted), `"statuses"` (one per link, as in [`WebmentionPeer::send`])}.
    pub fn send_to_every_link(&self, source_name: &str) -> Value {
        check_peer_name(source_name);
        self.post("/send", &[("source_page_name", source_name)])
    }

    /// Verifies every pending received mention now (django-wm's
    /// `mentions_pending incoming`). Returns `{"processed": [mention, ...]`
    /// (as in [`WebmentionPeer::received`], those stored by this call),
    /// `"errors": [{"source", "target", "error", "traceback"}]`, `"pending":
    /// [{"source", "target", "attempts", "awaiting_retry"}]}`.
    pub fn process(&self) -> Value {
        self.process_what("incoming")
    }

    /// [`WebmentionPeer::process`] for `incoming`, `outgoing` (retries the
    /// sends that failed) or `all`.
    pub fn process_what(&self, what: &str) -> Value {
        self.post("/process", &[("what", what)])
    }

    /// Every mention stored for `target` (every one with `None`), oldest
    /// first: `{"id", "source", "target", "validated", "approved",
    /// "post_type"` (django-wm's: `reply`, `like`, `repost`, ... or null),
    /// `"type"` (the same, or `webmention`), `"author"` (`{"name", "avatar",
    /// "homepage"}` or null), `"notes", "sent_by", "created_at", "entry"`
    /// (mf2py's first h-entry of the verified HTML), `"content"` (its
    /// content's text)}.
    pub fn received(&self, target: Option<&str>) -> Vec<Value> {
        let path = match target {
            Some(t) => format!("/received?target={}", http::percent_encode(t)),
            None => "/received".into(),
        };
        let json = self.get_json(&path);
        json["mentions"].as_array().expect("mentions").clone()
    }

    /// `POST /webmention/` with this form, as any sender would.
    pub fn post_webmention(&self, fields: &[(&str, &str)]) -> HttpResponse {
        let body = http::form_encode(fields);
        http::post_form(self.addr(), "/webmention/", &body, &[])
    }

    /// mf2py's parse of `url` (it fetches it): `{"items", "rels",
    /// "rel-urls", "debug"}`.
    pub fn mf2(&self, url: &str) -> Value {
        self.get_json(&format!("/mf2?url={}", http::percent_encode(url)))
    }

    fn get_json(&self, path: &str) -> Value {
        let resp = http::get(self.addr(), path, &[]);
        self.json_of(path, resp)
    }

    fn post(&self, path: &str, fields: &[(&str, &str)]) -> Value {
        let resp = http::post_form(self.addr(), path, &http::form_encode(fields), &[]);
        self.json_of(path, resp)
    }

    fn json_of(&self, path: &str, resp: HttpResponse) -> Value {
        assert_eq!(resp.status, 200, "{path}: {resp:?}\n{}", self.log());
        serde_json::from_slice(&resp.body)
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {resp:?}"))
    }
}

fn html_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}
