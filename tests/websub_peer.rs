//! The WebSub peer (tests/common/websub_peer.rs, flask-websub) works on its
//! own, before any roost test leans on it: its subscriber and hub talk to
//! each other, and a raw callback (tests/common/feed_server.rs), doing what
//! roost's subscriber will do, is verified and gets signed pushes. No roost
//! binary runs in this file.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use common::feed_server::{FeedServer, Route};
use common::websub_peer::{hmac_sha256, websub_peer, x_hub_signature};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn peer_subscriber_is_verified_gets_a_signed_push_and_unsubscribes() {
    let peer = websub_peer();
    let name = common::unique("self");
    let topic = peer.named_topic_url(&name);

    let callback_id = peer.subscribe(&topic);
    let for_us = |event: &'static str, mode: Option<&'static str>| {
        let (topic, id) = (topic.clone(), callback_id.clone());
        move |e: &Value| {
            e["event"] == event
                && e["topic"] == topic.as_str()
                && e["callback_id"] == id.as_str()
                && mode.is_none_or(|m| e["mode"] == m)
        }
    };
    let verified = peer.wait_for_event(for_us("verified", Some("subscribe")), WAIT);
    assert_eq!(verified["lease_seconds"], "3600", "{verified}");

    let added = peer.add_entry_to(&name, "first", "Hello from the peer", "pushed body");
    assert_eq!(added["subscribers"], 1, "{added}");
    let delivered = peer.wait_for_event(for_us("delivered", None), WAIT);
    assert_eq!(delivered["signature_valid"], true, "{delivered}");
    assert_eq!(delivered["accepted"], true, "{delivered}");
    let body = delivered["body"].as_str().unwrap();
    assert!(
        body.contains("<title>Hello from the peer</title>") && body.contains("pushed body"),
        "{body}"
    );
    let signature = delivered["signature"].as_str().unwrap();
    assert!(signature.starts_with("sha256="), "{signature}");

    assert_eq!(peer.unsubscribe(&topic), callback_id);
    let unverified = peer.wait_for_event(for_us("verified", Some("unsubscribe")), WAIT);
    assert_eq!(
        unverified["query"]["hub.mode"], "unsubscribe",
        "{unverified}"
    );
    let after = peer.add_entry_to(&name, "second", "After", "nobody gets this");
    assert_eq!(after["subscribers"], 0, "{after}");

    peer.add_html_entry_to(&name, "third", "Markup", "<p>hi</p>");
    let feed = common::http::get(peer.addr(), &format!("/feeds/{name}"), &[]).text();
    assert!(
        feed.contains("<content type=\"html\">&lt;p&gt;hi&lt;/p&gt;</content>"),
        "{feed}"
    );
}

/// What roost's subscriber does: subscribe at the hub with a secret, answer
/// the challenge, check the pushed body's signature.
#[test]
fn callback_server_is_verified_inside_the_subscribe_request_then_gets_a_signed_push() {
    let peer = websub_peer();
    let name = common::unique("standin");
    let topic = peer.named_topic_url(&name);
    let callback = FeedServer::start();
    callback.websub_callback("/cb/1");
    let received = || callback.requests_ignoring_query("/cb/1");
    let secret = "a secret of the subscriber";

    let resp = peer.hub_request(&[
        ("hub.mode", "subscribe"),
        ("hub.topic", &topic),
        ("hub.callback", &callback.url("/cb/1")),
        ("hub.secret", secret),
        ("hub.lease_seconds", "600"),
    ]);
    assert_eq!(resp.status, 202, "{resp:?}");
    // Celery eager: the verification already happened, before the 202.
    let seen = received();
    assert_eq!(
        seen.len(),
        1,
        "one verification GET before the 202: {seen:?}"
    );
    let verify = &seen[0];
    assert_eq!(verify.method, "GET");
    assert_eq!(verify.query("hub.mode").as_deref(), Some("subscribe"));
    assert_eq!(verify.query("hub.topic"), Some(topic.clone()));
    assert_eq!(verify.query("hub.lease_seconds").as_deref(), Some("600"));
    assert!(verify.query("hub.challenge").is_some_and(|c| !c.is_empty()));

    let added = peer.add_entry_to(&name, "e1", "Pushed to a raw server", "x & y");
    assert_eq!(added["subscribers"], 1, "{added}\n{}", peer.log());
    // The push is done by the time add_entry returns.
    let seen = received();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let push = &seen[1];
    assert_eq!(push.method, "POST");
    assert_eq!(push.path, "/cb/1");
    let signature = push.header("X-Hub-Signature").expect("a signature");
    assert_eq!(signature, x_hub_signature(secret, &push.body));
    assert_ne!(signature, x_hub_signature("another secret", &push.body));
    // The topic response's headers come along with its body.
    assert_eq!(
        push.header("Content-Type"),
        Some("application/atom+xml; charset=utf-8")
    );
    let link = push.header("Link").expect("the topic's Link header");
    assert!(
        link.contains("rel=\"hub\"") && link.contains(&topic),
        "{link}"
    );
    assert_eq!(
        push.header("Content-Length"),
        Some(push.body.len().to_string().as_str())
    );
    let body = String::from_utf8_lossy(&push.body);
    assert!(
        body.contains("<title>Pushed to a raw server</title>") && body.contains("x &amp; y"),
        "{body}"
    );
    let pushed = peer.wait_for_event(
        |e| {
            e["event"] == "hub_request"
                && e["kind"] == "push"
                && e["callback"] == callback.url("/cb/1")
        },
        WAIT,
    );
    assert_eq!(pushed["status"], 204, "{pushed}");

    // Unsubscribing is verified too, and also carries hub.lease_seconds.
    let resp = peer.hub_request(&[
        ("hub.mode", "unsubscribe"),
        ("hub.topic", &topic),
        ("hub.callback", &callback.url("/cb/1")),
    ]);
    assert_eq!(resp.status, 202, "{resp:?}");
    let seen = received();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[2].query("hub.mode").as_deref(), Some("unsubscribe"));
    assert!(
        seen[2].query("hub.lease_seconds").is_some(),
        "{:?}",
        seen[2]
    );
    let after = peer.add_entry_to(&name, "e2", "Not pushed", "-");
    assert_eq!(after["subscribers"], 0, "{after}");
    assert_eq!(received().len(), 3);
}

/// The hub compares the answer with the challenge byte for byte.
#[test]
fn challenge_answered_with_a_trailing_newline_is_no_subscription() {
    let peer = websub_peer();
    let name = common::unique("newline");
    let topic = peer.named_topic_url(&name);
    let callback = FeedServer::start();
    callback.set(
        "/cb",
        Route::WebsubCallback {
            challenge_suffix: "\n".into(),
            push_status: 204,
        },
    );

    let resp = peer.hub_request(&[
        ("hub.mode", "subscribe"),
        ("hub.topic", &topic),
        ("hub.callback", &callback.url("/cb")),
        ("hub.secret", "s"),
    ]);
    // Still 202: the refusal is only seen by the subscriber as no pushes.
    assert_eq!(resp.status, 202, "{resp:?}");
    let verify = peer.wait_for_event(
        |e| e["event"] == "hub_request" && e["kind"] == "verify" && e["topic"] == topic.as_str(),
        WAIT,
    );
    assert_eq!(verify["status"], 200, "{verify}");
    assert_eq!(verify["challenge_echoed"], false, "{verify}");
    // No lease asked for: the hub's default, 10 days.
    let seen = callback.requests_ignoring_query("/cb");
    assert_eq!(
        seen[0].query("hub.lease_seconds").as_deref(),
        Some("864000")
    );
    let added = peer.add_entry_to(&name, "e1", "Nobody", "-");
    assert_eq!(added["subscribers"], 0, "{added}");
    assert_eq!(callback.requests_ignoring_query("/cb").len(), 1);
}

/// flask-websub's subscriber answers 200 to a push it drops (bad signature):
/// the `delivered` event is what tells.
#[test]
fn forged_push_to_the_peer_subscriber_is_answered_200_and_recorded_as_not_accepted() {
    let peer = websub_peer();
    let name = common::unique("forged");
    let topic = peer.named_topic_url(&name);
    let callback_id = peer.subscribe(&topic);

    let body = b"<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>forged</title></feed>";
    let resp = common::http::send(
        peer.addr(),
        "POST",
        &format!("/callbacks/{callback_id}"),
        &[
            ("Content-Type", "application/atom+xml"),
            ("X-Hub-Signature", &x_hub_signature("not the secret", body)),
        ],
        Some(body),
    );
    assert_eq!(resp.status, 200, "{resp:?}");
    let delivered = peer.wait_for_event(
        |e| e["event"] == "delivered" && e["callback_id"] == callback_id.as_str(),
        WAIT,
    );
    assert_eq!(delivered["accepted"], false, "{delivered}");
    assert_eq!(delivered["signature_valid"], false, "{delivered}");

    let unknown = common::http::send(
        peer.addr(),
        "POST",
        "/callbacks/no-such-callback",
        &[("Content-Type", "application/atom+xml")],
        Some(body),
    );
    assert_eq!(unknown.status, 404, "{unknown:?}");
}

/// The shared topic is Atom a reader takes, naming its hub and itself in
/// both `<link>` elements and the `Link` header.
#[test]
fn shared_topic_is_atom_with_hub_and_self_links() {
    let peer = websub_peer();
    let id = common::unique("shared");
    let added = peer.add_entry(&id, "On the shared topic", "a & b");
    assert_eq!(added["topic"], peer.topic_url().as_str(), "{added}");

    let resp = common::http::get(peer.addr(), "/feed", &[]);
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.mime().as_deref(), Some("application/atom+xml"));
    let (topic, hub) = (peer.topic_url(), peer.hub_url());
    assert_eq!(
        resp.header("Link"),
        Some(format!("<{topic}>; rel=\"self\", <{hub}>; rel=\"hub\"").as_str())
    );
    let feed = feed_rs::parser::parse(&resp.body[..]).expect("valid Atom");
    let rels: Vec<_> = feed
        .links
        .iter()
        .map(|l| (l.rel.clone(), l.href.clone()))
        .collect();
    assert!(
        rels.contains(&(Some("hub".into()), hub.clone())),
        "{rels:?}"
    );
    assert!(
        rels.contains(&(Some("self".into()), topic.clone())),
        "{rels:?}"
    );
    assert!(!feed.authors.is_empty());
    let entry = feed
        .entries
        .iter()
        .find(|e| e.id.ends_with(&format!("/{id}")))
        .expect("the entry added");
    assert_eq!(entry.title.as_ref().unwrap().content, "On the shared topic");
    let content = entry.content.as_ref().and_then(|c| c.body.clone());
    assert_eq!(content.as_deref(), Some("a & b"));
    let page = common::http::get(peer.addr(), &format!("/entries/feed/{id}"), &[]);
    assert_eq!(page.status, 200, "the entry's permalink: {page:?}");
}

#[test]
fn hmac_sha256_matches_rfc_4231() {
    let hex = |mac: [u8; 32]| mac.iter().map(|b| format!("{b:02x}")).collect::<String>();
    // Test case 2: a short key.
    assert_eq!(
        hex(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    // Test case 6: a key longer than the block, hashed first.
    assert_eq!(
        hex(hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First"
        )),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
}

/// What roost's hub will do (answer 202, verify later from cron) against the
/// peer's subscriber: one verification per request, `hub.lease_seconds`
/// required, pushes signed and with a Content-Length.
#[test]
fn peer_subscriber_served_by_a_hub_that_verifies_later() {
    let peer = websub_peer();
    let site = FeedServer::start();
    let (topic, hub) = (site.url("/topic"), site.url("/hub"));
    site.set("/topic", topic_route(&topic, &hub, &[], ATOM.into()));
    site.set(
        "/hub",
        Route::Status {
            status: 202,
            headers: vec![],
        },
    );
    let requests: Vec<_> = (0..3)
        .map(|_| {
            let id = peer.subscribe(&topic);
            let form = last_hub_form(&site);
            assert_eq!(form["hub.mode"], "subscribe", "{form:?}");
            assert_eq!(form["hub.topic"], topic, "{form:?}");
            assert_eq!(form["hub.lease_seconds"], "3600", "{form:?}");
            assert_eq!(form["hub.callback"], peer.callback_url(&id));
            assert!(!form["hub.secret"].is_empty(), "{form:?}");
            (id, form["hub.secret"].clone())
        })
        .collect();
    let verify = |id: &str, query: &[(&str, &str)]| {
        let path = format!("/callbacks/{id}?{}", common::http::form_encode(query));
        common::http::get(peer.addr(), &path, &[])
    };

    // Without hub.lease_seconds: refused, and the pending request is gone.
    let (a, _) = &requests[0];
    let no_lease = [
        ("hub.mode", "subscribe"),
        ("hub.topic", &topic),
        ("hub.challenge", "c1"),
    ];
    let resp = verify(a, &no_lease);
    assert_eq!(resp.status, 400, "{resp:?}");
    let with_lease = [
        ("hub.mode", "subscribe"),
        ("hub.topic", &topic),
        ("hub.challenge", "c2"),
        ("hub.lease_seconds", "864000"),
    ];
    assert_eq!(verify(a, &with_lease).status, 404);
    // Another topic than asked for: 404.
    let (b, _) = &requests[1];
    let other = site.url("/other");
    let resp = verify(
        b,
        &[
            ("hub.mode", "subscribe"),
            ("hub.topic", &other),
            ("hub.challenge", "c3"),
            ("hub.lease_seconds", "864000"),
        ],
    );
    assert_eq!(resp.status, 404, "{resp:?}");

    let (c, secret) = &requests[2];
    let resp = verify(c, &with_lease);
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.body, b"c2");
    assert_eq!(resp.mime().as_deref(), Some("application/octet-stream"));
    let verified = peer.wait_for_event(
        |e| e["event"] == "verified" && e["callback_id"] == c.as_str(),
        WAIT,
    );
    assert_eq!(verified["lease_seconds"], "864000", "{verified}");
    let refused = peer.wait_for_event(
        |e| e["event"] == "verify_refused" && e["callback_id"] == a.as_str(),
        WAIT,
    );
    assert!(
        refused["answer"]
            .as_str()
            .unwrap()
            .contains("hub.lease_seconds"),
        "{refused}"
    );

    let push = |headers: &[(&str, &str)], body: &[u8]| {
        let raw = common::http::build_request(
            peer.addr(),
            "POST",
            &format!("/callbacks/{c}"),
            headers,
            Some(body),
        );
        common::http::request(peer.addr(), &raw)
    };
    let atom = [("Content-Type", "application/atom+xml")];
    let signed = x_hub_signature(secret, ATOM.as_bytes());
    let resp = push(&[atom[0], ("X-Hub-Signature", &signed)], ATOM.as_bytes());
    assert_eq!(resp.status, 200, "{resp:?}");
    // Chunked, no Content-Length: flask-websub fails (500).
    let chunked = format!("{:x}\r\n{ATOM}\r\n0\r\n\r\n", ATOM.len());
    let resp = push(
        &[
            atom[0],
            ("X-Hub-Signature", &signed),
            ("Transfer-Encoding", "chunked"),
        ],
        chunked.as_bytes(),
    );
    assert_eq!(resp.status, 500, "{resp:?}");
    let deliveries: Vec<Value> = peer
        .events()
        .into_iter()
        .filter(|e| e["event"] == "delivered" && e["callback_id"] == c.as_str())
        .collect();
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    assert_eq!(deliveries[0]["accepted"], true, "{deliveries:?}");
    assert_eq!(deliveries[0]["signature_valid"], true, "{deliveries:?}");
    assert_eq!(deliveries[1]["accepted"], false, "{deliveries:?}");

    // Unsubscribing repeats the secret and lease; its verification needs no
    // lease.
    assert_eq!(peer.unsubscribe(&topic), *c);
    let form = last_hub_form(&site);
    assert_eq!(form["hub.mode"], "unsubscribe", "{form:?}");
    assert_eq!(form["hub.callback"], peer.callback_url(c));
    assert_eq!(form["hub.secret"], *secret, "{form:?}");
    assert_eq!(form["hub.lease_seconds"], "864000", "{form:?}");
    let unsubscribe = [
        ("hub.mode", "unsubscribe"),
        ("hub.topic", &topic),
        ("hub.challenge", "c4"),
    ];
    let resp = verify(c, &unsubscribe);
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.body, b"c4");
    peer.wait_for_event(
        |e| {
            e["event"] == "verified" && e["mode"] == "unsubscribe" && e["callback_id"] == c.as_str()
        },
        WAIT,
    );
    let resp = push(&[atom[0], ("X-Hub-Signature", &signed)], ATOM.as_bytes());
    assert_eq!(resp.status, 404, "no longer subscribed: {resp:?}");
}

/// The form of the last request `site`'s `/hub` got.
fn last_hub_form(site: &FeedServer) -> HashMap<String, String> {
    let request = site.requests("/hub").pop().expect("a request to the hub");
    common::http::form_decode(&String::from_utf8_lossy(&request.body))
        .into_iter()
        .collect()
}

/// Without a Link header (a published static file), discovery reads the
/// `<link>` elements of Atom and the `atom:link` ones of RSS, but crashes on
/// a body whose Content-Type names no charset; the hub must answer 202, not
/// merely 2xx.
#[test]
fn peer_subscriber_discovers_from_link_elements_and_wants_exactly_202() {
    let peer = websub_peer();
    let site = FeedServer::start();
    let hub = site.url("/hub");
    site.set(
        "/hub",
        Route::Status {
            status: 202,
            headers: vec![],
        },
    );
    let atom = site.url("/feed.atom");
    let atom_body = format!(
        "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>T</title>\
         <link rel=\"alternate\" href=\"{home}\"/><link href=\"{hub}\" rel=\"hub\"/>\
         <link rel=\"self\" href=\"{atom}\"/></feed>",
        home = site.url("/")
    );
    let rss = site.url("/feed.rss");
    let rss_body = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\
         <channel><title>T</title><atom:link rel=\"self\" href=\"{rss}\"/>\
         <atom:link rel=\"hub\" href=\"{hub}\"/></channel></rss>"
    );
    // Read from the body only with a charset named (or a text/* type).
    site.feed("/feed.atom", atom_body.as_bytes(), "application/atom+xml");
    let resp = peer.try_subscribe(&atom);
    assert_eq!(resp.status, 502, "{resp:?}");
    assert!(resp.text().contains("TypeError"), "{resp:?}");
    let (atom_type, rss_type) = ("application/atom+xml; charset=utf-8", "text/xml");
    let feeds = [
        ("/feed.atom", &atom, atom_body, atom_type),
        ("/feed.rss", &rss, rss_body, rss_type),
    ];
    for (path, topic, body, content_type) in feeds {
        site.feed(path, body.as_bytes(), content_type);
        peer.subscribe(topic);
        let form = last_hub_form(&site);
        assert_eq!(form["hub.topic"], *topic, "{form:?}");
    }

    site.set(
        "/hub",
        Route::Status {
            status: 204,
            headers: vec![],
        },
    );
    let resp = peer.try_subscribe(&atom);
    assert_eq!(resp.status, 502, "{resp:?}");
    assert!(resp.text().contains("Hub error - 204"), "{resp:?}");
}

/// The hub reads the topic's Link header as text: `rel=hub` unquoted is no
/// publisher, and nothing is pushed (the publish is still 202).
#[test]
fn peer_hub_pushes_only_a_topic_whose_link_header_quotes_rel() {
    let peer = websub_peer();
    let site = FeedServer::start();
    let hub = peer.hub_url();
    let quoted = site.url("/quoted");
    site.set("/quoted", topic_route(&quoted, &hub, &[], ATOM.into()));
    let bare = site.url("/bare");
    let link = format!("<{bare}>; rel=self, <{hub}>; rel=hub");
    site.set(
        "/bare",
        Route::Raw {
            headers: vec![("Link".into(), link)],
            body: ATOM.as_bytes().into(),
        },
    );
    for (topic, callback) in [(&quoted, "/cb-quoted"), (&bare, "/cb-bare")] {
        site.websub_callback(callback);
        subscribe_callback(&site, topic, callback);
        assert_eq!(peer.publish(topic).status, 202);
    }
    let pushes = |path| {
        let seen = site.requests_ignoring_query(path);
        seen.iter().filter(|s| s.method == "POST").count()
    };
    assert_eq!(pushes("/cb-quoted"), 1, "{}", peer.log());
    assert_eq!(pushes("/cb-bare"), 0, "{}", peer.log());
}

/// A push carries every header of the hub's fetch of the topic, with the body
/// requests decoded: `Content-Encoding: gzip` over a plain body, and
/// `Transfer-Encoding: chunked` (Apache's for a CGI) over an unchunked one.
#[test]
fn peer_hub_forwards_the_topics_transfer_headers_with_a_decoded_body() {
    let peer = websub_peer();
    let site = FeedServer::start();
    let hub = peer.hub_url();

    let gz = site.url("/gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(ATOM.as_bytes()).unwrap();
    let gzipped = encoder.finish().unwrap();
    site.set(
        "/gz",
        topic_route(&gz, &hub, &[("Content-Encoding", "gzip")], gzipped),
    );
    site.websub_callback("/cb-gz");
    subscribe_callback(&site, &gz, "/cb-gz");
    assert_eq!(peer.publish(&gz).status, 202);
    let push = site.requests_ignoring_query("/cb-gz").pop().unwrap();
    assert_eq!(push.method, "POST", "{}", peer.log());
    assert_eq!(push.header("Content-Encoding"), Some("gzip"));
    assert_eq!(push.body, ATOM.as_bytes(), "the body is not gzipped");

    let chunked = site.url("/chunked");
    let headers = [("Transfer-Encoding", "chunked")];
    site.set(
        "/chunked",
        topic_route(&chunked, &hub, &headers, ATOM.into()),
    );
    site.websub_callback("/cb-chunked");
    subscribe_callback(&site, &chunked, "/cb-chunked");
    assert_eq!(peer.publish(&chunked).status, 202);
    let push = site.requests_ignoring_query("/cb-chunked").pop().unwrap();
    assert_eq!(push.method, "POST", "{}", peer.log());
    assert_eq!(push.header("Transfer-Encoding"), Some("chunked"));
    let length = ATOM.len().to_string();
    assert_eq!(push.header("Content-Length"), Some(length.as_str()));
    // Read as chunked (as the header says and HTTP demands), the body is junk.
    assert!(
        push.body.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&push.body)
    );
}

/// A push the callback refuses is tried three times at once (celery eager:
/// no backoff), all before the publish returns; 410 Gone ends the
/// subscription after one.
#[test]
fn peer_hub_retries_a_refused_push_at_once_and_drops_a_gone_callback() {
    let peer = websub_peer();
    let name = common::unique("refused");
    let topic = peer.named_topic_url(&name);
    let site = FeedServer::start();
    for (path, status) in [("/cb-500", 500), ("/cb-410", 410)] {
        site.set(
            path,
            Route::WebsubCallback {
                challenge_suffix: String::new(),
                push_status: status,
            },
        );
        subscribe_callback(&site, &topic, path);
    }
    let posts = |path| {
        let seen = site.requests_ignoring_query(path);
        seen.iter().filter(|s| s.method == "POST").count()
    };
    let added = peer.add_entry_to(&name, "e1", "Refused", "-");
    assert_eq!(added["subscribers"], 2, "{added}");
    assert_eq!(posts("/cb-500"), 3, "{}", peer.log());
    assert_eq!(posts("/cb-410"), 1, "{}", peer.log());
    let added = peer.add_entry_to(&name, "e2", "Again", "-");
    assert_eq!(added["subscribers"], 1, "the 410 callback is gone: {added}");
    assert_eq!(posts("/cb-410"), 1);
}

/// Leases asked for are clamped to 60 s .. 31 days.
#[test]
fn peer_hub_clamps_leases() {
    let peer = websub_peer();
    let site = FeedServer::start();
    let topic = peer.named_topic_url(&common::unique("lease"));
    for (path, asked, given) in [("/short", "5", "60"), ("/long", "999999999", "2678400")] {
        site.websub_callback(path);
        let resp = peer.hub_request(&[
            ("hub.mode", "subscribe"),
            ("hub.topic", &topic),
            ("hub.callback", &site.url(path)),
            ("hub.lease_seconds", asked),
        ]);
        assert_eq!(resp.status, 202, "{resp:?}");
        let verify = site.requests_ignoring_query(path).pop().expect("verified");
        assert_eq!(verify.query("hub.lease_seconds").as_deref(), Some(given));
    }
}

const ATOM: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
    <feed xmlns=\"http://www.w3.org/2005/Atom\"><id>urn:x:topic</id><title>T</title>\
    <updated>2026-12-03T00:00:00Z</updated><author><name>A</name></author>\
    <entry><id>urn:x:1</id><title>One</title><updated>2026-12-03T00:00:00Z</updated>\
    <content>one</content></entry></feed>\n";

/// A topic answering `body` with a WebSub publisher's Link header (self,
/// hub), `Content-Type: application/atom+xml` and `extra` headers.
fn topic_route(topic: &str, hub: &str, extra: &[(&str, &str)], body: Vec<u8>) -> Route {
    let mut headers = vec![
        (
            "Content-Type".to_string(),
            "application/atom+xml".to_string(),
        ),
        (
            "Link".to_string(),
            format!("<{topic}>; rel=\"self\", <{hub}>; rel=\"hub\""),
        ),
    ];
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Route::Raw {
        headers,
        body: body.into(),
    }
}

/// Subscribes `site`'s callback at `path` to `topic` at the peer's hub, no
/// secret; the hub has verified it when this returns.
fn subscribe_callback(site: &FeedServer, topic: &str, path: &str) {
    let resp = websub_peer().hub_request(&[
        ("hub.mode", "subscribe"),
        ("hub.topic", topic),
        ("hub.callback", &site.url(path)),
    ]);
    assert_eq!(resp.status, 202, "{resp:?}");
    assert_eq!(site.requests_ignoring_query(path).len(), 1, "verified");
}
