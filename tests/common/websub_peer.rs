//! An independent WebSub implementation on loopback, for testing roost's hub
//! and subscriber against code that is not roost's: Python flask-websub 0.4.1
//! (tests/python/websub_peer.py, from the venv `scripts/setup` makes), one
//! process per test binary, started on first use by [`websub_peer`]. It is at
//! once
//!
//! - a **hub** at [`WebsubPeer::hub_url`] (W3C WebSub, SQLite storage) and the
//!   **publisher** of Atom topics it hubs: [`WebsubPeer::topic_url`] (`/feed`)
//!   and [`WebsubPeer::named_topic_url`] (`/feeds/NAME`, one per test that
//!   must not see other tests' subscribers). [`WebsubPeer::add_entry`] adds an
//!   entry and has the hub push the new feed to every subscriber;
//! - a **subscriber** with callbacks under `/callbacks/ID`:
//!   [`WebsubPeer::subscribe`] discovers a topic's hub and subscribes (a fresh
//!   secret each time, lease 3600 s), [`WebsubPeer::unsubscribe`] undoes it.
//!
//! What happened is read back as [`WebsubPeer::events`] (one JSON object per
//! event, oldest first; `event` is `verified`, `denied`, `verify_refused`,
//! `delivered` or `hub_request`: see the header of websub_peer.py for the
//! fields). A missing venv or package fails the test with "run scripts/setup";
//! nothing is skipped. The peer starts in about 0.3 s and ends itself (and
//! removes its directory) when the test process ends, whatever the way: the
//! static holding it is never dropped.
//!
//! # What flask-websub does, that roost must meet
//!
//! Points marked (t) are proven by tests/websub_peer.rs; the rest, and parts
//! marked (source), are read from flask-websub's source.
//!
//! As a **hub** (roost subscribing to it):
//! - (t) Celery runs eagerly, so the hub verifies intent *inside* the subscribe
//!   POST: its GET to the callback (`hub.mode`, `hub.topic`, `hub.challenge`,
//!   `hub.lease_seconds`, always sent, for unsubscribe too) arrives before the
//!   `202 Accepted` does. A subscriber that can only answer the challenge once
//!   the subscribe request has returned (a lock held, a transaction not yet
//!   committed, a one-process server) deadlocks until the hub's 10 s timeout,
//!   and the subscription is silently not made (still 202) (source).
//! - (t) It accepts the subscription only on status 200 with a body equal to the
//!   challenge, byte for byte: a trailing newline is a refusal.
//! - (t) No lease asked for means 10 days (864000 s); one asked for is
//!   clamped to 60 s .. 31 days.
//! - (t) A push (POST to the callback) carries the body the hub fetched from the
//!   topic and *every header of that topic response* (Content-Type, Link,
//!   Date, Server, ...), plus `X-Hub-Signature: sha256=HEX` (HMAC-SHA256 of
//!   the body with `hub.secret`) when a secret was given; no signature
//!   header without a secret. Content-Length is the body's own, but
//!   `Content-Encoding: gzip` and `Transfer-Encoding: chunked` come along
//!   over a body already decoded: a topic served gzipped, or chunked (as
//!   Apache serves any CGI's output), makes every push malformed. So a topic
//!   handed to this hub (an external `websub_hub`) must be served with a
//!   Content-Length and no content coding, and a subscriber should not trust
//!   `Content-Encoding` on a push blindly.
//! - (t) Publishing (`hub.mode=publish`, or an added entry) makes the hub GET the
//!   topic, which must answer 2xx with a `Link` header holding the exact
//!   substrings `rel="self"` and `rel="hub"` (quoted): otherwise nothing is
//!   pushed, and the publish is still answered 202.
//! - (t) A push answered other than 2xx is retried at once (no backoff, eager),
//!   three attempts in all here; 410 Gone ends the subscription.
//! - (t) The push is done before the publishing request returns, so after
//!   [`WebsubPeer::add_entry`] returns every subscriber has had its POST.
//!
//! As a **subscriber** (roost's hub serving it):
//! - (t) Discovery reads the `Link` header first, then `<link rel="hub">` /
//!   `<link rel="self">` elements (also `atom:link`, by tag suffix; `rel`
//!   must be exactly `hub` / `self`, not a list). Reading the body, it
//!   crashes (a TypeError; the peer answers 502) unless the Content-Type
//!   names a charset or is `text/*`: a feed without `Link` headers (a static
//!   file Apache serves as `application/atom+xml`) needs `; charset=utf-8`. It subscribes to the
//!   *self* URL found, not the URL it was given, and the verification's
//!   `hub.topic` must equal that self URL exactly.
//! - Its callbacks are `http://127.0.0.1:PORT/callbacks/UUID`: a loopback
//!   address, which roost's hub must be allowed to call in the test.
//! - (t) The subscribe request is a form POST with `hub.callback`, `hub.mode`,
//!   `hub.topic`, `hub.lease_seconds` (3600 here) and `hub.secret`; the hub
//!   must answer exactly `202` (200 or 204 is a failure to it). Its
//!   unsubscribe request repeats `hub.secret` and `hub.lease_seconds` (the
//!   lease the hub verified); that verification needs no lease.
//! - (t) The verification GET of a subscribe MUST carry `hub.lease_seconds` (a
//!   positive integer), or it answers 400; a mode or topic that differs from
//!   the request gets 404. A callback is verified once: a second verification
//!   of the same request gets 404, and so does one later than 10 minutes
//!   after the subscribe request (source): verify from the next cron run, not
//!   a day later. The challenge comes back as `application/octet-stream`.
//! - (t) A push must carry `Content-Length` (chunked gets a 500) of at most
//!   1 MiB (else 400, source); a bad or missing signature is answered 200 and
//!   dropped in silence (the `delivered` event's `accepted` and
//!   `signature_valid` say what happened). An unknown or expired callback
//!   gets 404.

use std::ops::Deref;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::http::{self, HttpResponse};
use super::peer_process::{PeerProcess, check_peer_name, shared_peer};
use super::python;

const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The running peer; see the module doc. Its process, address and events
/// are [`PeerProcess`]'s.
pub struct WebsubPeer(PeerProcess);

impl Deref for WebsubPeer {
    type Target = PeerProcess;
    fn deref(&self) -> &PeerProcess {
        &self.0
    }
}

/// The test binary's peer, started on first use. Panics, with the peer's log,
/// if it cannot start (and with "run scripts/setup" if the venv lacks it).
pub fn websub_peer() -> &'static WebsubPeer {
    static PEER: OnceLock<Result<WebsubPeer, String>> = OnceLock::new();
    shared_peer(&PEER, || {
        python::start_peer("the WebSub peer", "websub_peer.py", START_TIMEOUT).map(WebsubPeer)
    })
}

impl WebsubPeer {
    /// The peer subscriber's callback for a callback ID that
    /// [`WebsubPeer::subscribe`] returned: `BASE/callbacks/ID`.
    pub fn callback_url(&self, callback_id: &str) -> String {
        format!("{}/callbacks/{callback_id}", self.base_url())
    }

    /// The hub endpoint, `BASE/hub`.
    pub fn hub_url(&self) -> String {
        format!("{}/hub", self.base_url())
    }

    /// The shared topic, `BASE/feed` (every test binary's test sees it).
    pub fn topic_url(&self) -> String {
        format!("{}/feed", self.base_url())
    }

    /// A topic of its own, `BASE/feeds/NAME`: use `common::unique`. `NAME`
    /// is `[A-Za-z0-9_-]`.
    pub fn named_topic_url(&self, name: &str) -> String {
        check_peer_name(name);
        format!("{}/feeds/{name}", self.base_url())
    }

    /// Adds a text entry to [`WebsubPeer::topic_url`] and has the hub push the
    /// new feed to every subscriber before this returns. The answer:
    /// `{"topic", "entry" (its id and permalink), "subscribers" (how many the
    /// hub pushed to)}`.
    pub fn add_entry(&self, id: &str, title: &str, content: &str) -> Value {
        self.post_entry(
            "/feed/entries",
            &[("id", id), ("title", title), ("content", content)],
        )
    }

    /// [`WebsubPeer::add_entry`] for the topic [`WebsubPeer::named_topic_url`]
    /// `(name)`.
    pub fn add_entry_to(&self, name: &str, id: &str, title: &str, content: &str) -> Value {
        check_peer_name(name);
        let fields = [("id", id), ("title", title), ("content", content)];
        self.post_entry(&format!("/feeds/{name}/entries"), &fields)
    }

    /// [`WebsubPeer::add_entry_to`] with the content sent as Atom
    /// `type="html"` (escaped HTML in the feed), for sanitizer tests.
    pub fn add_html_entry_to(&self, name: &str, id: &str, title: &str, html: &str) -> Value {
        check_peer_name(name);
        let fields = [
            ("id", id),
            ("title", title),
            ("content", html),
            ("content_type", "html"),
        ];
        self.post_entry(&format!("/feeds/{name}/entries"), &fields)
    }

    fn post_entry(&self, path: &str, fields: &[(&str, &str)]) -> Value {
        let resp = http::post_form(self.addr(), path, &http::form_encode(fields), &[]);
        assert_eq!(
            resp.status,
            200,
            "adding an entry at {path}: {resp:?}\n{}",
            self.log()
        );
        serde_json::from_slice(&resp.body).expect("the peer answers JSON")
    }

    /// The peer's subscriber discovers `topic`'s hub and subscribes to it
    /// (secret, lease 3600). The hub must verify before answering (as
    /// flask-websub's own does with celery eager); a hub that verifies later
    /// shows up as a `verified` event: see [`WebsubPeer::wait_for_event`].
    /// Returns the callback ID (the callback is `BASE/callbacks/ID`); panics
    /// with the answer and the log if discovery or the hub fail.
    pub fn subscribe(&self, topic: &str) -> String {
        let resp = self.try_subscribe(topic);
        assert_eq!(
            resp.status,
            200,
            "subscribing to {topic}: {resp:?}\n{}",
            self.log()
        );
        resp.text()
    }

    /// [`WebsubPeer::subscribe`], answering whatever the peer answered: 200
    /// and the callback ID, or 502 and why (discovery, or the hub's answer).
    pub fn try_subscribe(&self, topic: &str) -> HttpResponse {
        let path = format!("/subscribe?topic={}", http::percent_encode(topic));
        http::get(self.addr(), &path, &[])
    }

    /// Unsubscribes what [`WebsubPeer::subscribe`]`(topic)` made; returns
    /// its callback ID. The hub's verification is a `verified` event with
    /// mode `unsubscribe`.
    pub fn unsubscribe(&self, topic: &str) -> String {
        let path = format!("/unsubscribe?topic={}", http::percent_encode(topic));
        let resp = http::get(self.addr(), &path, &[]);
        assert_eq!(
            resp.status,
            200,
            "unsubscribing from {topic}: {resp:?}\n{}",
            self.log()
        );
        resp.text()
    }

    /// `POST /hub` with these form fields, as any subscriber or publisher
    /// would send them (`hub.mode`, `hub.topic`, `hub.callback`, ...).
    pub fn hub_request(&self, fields: &[(&str, &str)]) -> HttpResponse {
        http::post_form(self.addr(), "/hub", &http::form_encode(fields), &[])
    }

    /// Has the hub fetch `topic` and push it to the topic's subscribers
    /// (`hub.mode=publish`); done when this returns. The hub answers 202
    /// even when the topic lacks the `Link` headers and nothing is pushed:
    /// look at the events.
    pub fn publish(&self, topic: &str) -> HttpResponse {
        self.hub_request(&[("hub.mode", "publish"), ("hub.topic", topic)])
    }
}

/// The `X-Hub-Signature` value a hub sends for `body` under `secret`:
/// `sha256=` and the lower-case hex HMAC-SHA256 (for checking pushes, or
/// forging bad ones).
pub fn x_hub_signature(secret: &str, body: &[u8]) -> String {
    let mac = hmac_sha256(secret.as_bytes(), body);
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// HMAC-SHA256 (RFC 2104) over sha2, which roost already depends on.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}
