//! WebSub both ways behind the private Apache: two roosts (one under CGI,
//! one under FastCGI) following each other get each other's posts pushed
//! by the publisher's cron, without polling; the hub and the callbacks
//! refuse what they must. (The independent peer, flask-websub, is in
//! tests/websub_interop.rs.)

mod common;

use common::apache::{Kind, Site, apache};
use common::http::form_encode;
use common::run_cli;

fn subscribe_form(site: &Site, callback: &str, extra: &[(&str, &str)]) -> String {
    let topic = site.url("/feed.atom");
    let mut fields = vec![
        ("hub.mode", "subscribe"),
        ("hub.topic", topic.as_str()),
        ("hub.callback", callback),
    ];
    fields.extend_from_slice(extra);
    form_encode(&fields)
}

#[test]
fn two_roosts_get_each_others_posts_pushed_by_cron_without_polling() {
    let alice = apache().loopback_roost_site("ws-alice", Kind::Cgi);
    let bob = apache().loopback_roost_site("ws-bob", Kind::Fcgid);
    // The feeds name the hub, in the body and in the headers.
    let feed = alice.get("/feed.atom", &[]);
    let hub = alice.url("/websub");
    assert!(
        feed.text()
            .contains(&format!("<link rel=\"hub\" href=\"{hub}\"/>")),
        "{}",
        feed.text()
    );
    let link = feed.header("Link").unwrap_or_default().to_string();
    assert!(
        link.contains(&format!("<{hub}>; rel=\"hub\"")),
        "Link: {link}"
    );
    assert!(
        link.contains(&format!("<{}>; rel=\"self\"", alice.url("/feed.atom"))),
        "Link: {link}"
    );
    let json: serde_json::Value = serde_json::from_slice(&bob.get("/feed.json", &[]).body).unwrap();
    assert_eq!(json["hubs"][0]["url"], bob.url("/websub"));

    bob.cli_ok(&["follow", &alice.url("/feed.atom"), "--name", "alice"]);
    alice.cli_ok(&["follow", &bob.url("/feed.rss"), "--name", "bob"]);
    // Each subscriber's cron asks the other's hub; each hub's cron verifies.
    for node in [&bob, &alice, &bob, &alice] {
        node.cli_ok(&["cron"]);
    }
    let alice_post = "Pushed from Alice, under CGI";
    alice.cli_ok(&["post", alice_post]);
    let bob_post = "Pushed from Bob, under FastCGI";
    bob.cli_ok(&["post", bob_post]);
    assert!(
        !bob.public_timeline().contains(alice_post),
        "not there before Alice's cron runs"
    );
    let run = alice.cli_ok(&["cron"]);
    assert!(
        run.contains("Polled 0 of 0 due feeds"),
        "Alice polls nothing: {run}"
    );
    assert!(
        bob.public_timeline().contains(alice_post),
        "Alice's cron pushed her post to Bob"
    );
    bob.cli_ok(&["cron"]);
    assert!(
        alice.public_timeline().contains(bob_post),
        "and Bob's to Alice"
    );
    // Neither polls the other again today: the feeds are pushed.
    let run = bob.cli_ok(&["cron"]);
    assert!(run.contains("Polled 0 of 0 due feeds"), "{run}");
    let following = bob.cli_ok(&["following"]);
    assert!(following.contains("alice"), "{following}");
    // Alice hears of her new subscriber on /notifications, by its host only
    // (a callback may carry the subscriber's secret), once for all renewals.
    let login = alice.submit_login(&alice.get("/login", &[]));
    let cookie = format!(
        "roost_session={}",
        login.cookie("roost_session").expect("logged in")
    );
    let notifications = alice.get("/notifications", &[("Cookie", &cookie)]).text();
    let bob_host = bob.host.split(':').next().unwrap().to_string();
    assert_eq!(
        notifications.matches("subscribed to your feed").count(),
        1,
        "{notifications}"
    );
    assert!(
        notifications.contains(&format!("{bob_host} (WebSub, the Atom feed)")),
        "{notifications}"
    );
    assert!(
        !notifications.contains("/websub/callback/"),
        "{notifications}"
    );

    // Unfollowing unsubscribes: Bob's cron asks, Alice's cron verifies with
    // Bob's callback, and her next post is no longer sent to him.
    bob.cli_ok(&["unfollow", "alice"]);
    bob.cli_ok(&["cron"]);
    alice.cli_ok(&["cron"]);
    alice.cli_ok(&["post", "After Bob left"]);
    let run = alice.cli_ok(&["cron"]);
    assert!(run.contains("Jobs:"), "{run}");
    assert!(
        !run.contains("given up\n  websub.deliver"),
        "no delivery was attempted and failed: {run}"
    );
    let doctor = run_cli(
        &alice.binary.clone().unwrap(),
        &alice.home,
        &["doctor"],
        None,
    );
    let doctor = String::from_utf8_lossy(&doctor.stdout).into_owned();
    assert!(!doctor.contains("gave up websub"), "{doctor}");
}

#[test]
fn the_hub_answers_202_and_refuses_bad_requests_in_plain_text() {
    let site = apache().loopback_roost_site("ws-hub", Kind::Cgi);
    let callback = "http://127.0.0.1:9/callback";
    let ok = site.post_form("/websub", &subscribe_form(&site, callback, &[]), &[]);
    assert_eq!(ok.status, 202, "{ok:?}");
    assert!(ok.text().contains("will be verified"), "{}", ok.text());
    let cases: Vec<(String, &str)> = vec![
        (
            form_encode(&[
                ("hub.mode", "subscribe"),
                ("hub.topic", "https://elsewhere.example/feed"),
                ("hub.callback", callback),
            ]),
            "is not a feed of this site",
        ),
        (
            subscribe_form(&site, callback, &[]).replace("subscribe", "follow"),
            "hub.mode must be",
        ),
        (
            form_encode(&[
                ("hub.mode", "subscribe"),
                ("hub.topic", &site.url("/feed.atom")),
            ]),
            "hub.callback is missing",
        ),
        (
            subscribe_form(&site, "ftp://example.org/cb", &[]),
            "not an http or https URL",
        ),
        (
            subscribe_form(&site, callback, &[("hub.secret", &"s".repeat(200))]),
            "shorter than 200 bytes",
        ),
        (
            subscribe_form(&site, callback, &[("hub.lease_seconds", "soon")]),
            "hub.lease_seconds",
        ),
        (
            form_encode(&[
                ("hub.mode", "publish"),
                ("hub.topic", &site.url("/feed.atom")),
            ]),
            "hub.mode=publish is not needed",
        ),
    ];
    for (body, why) in cases {
        let refused = site.post_form("/websub", &body, &[]);
        assert_eq!(refused.status, 400, "{body}: {refused:?}");
        assert!(
            refused
                .header("Content-Type")
                .unwrap_or("")
                .starts_with("text/plain"),
            "{refused:?}"
        );
        assert!(refused.text().contains(why), "{body}: {}", refused.text());
    }
    // A form repeated field, or not a form at all.
    let twice = format!(
        "{}&hub.mode=unsubscribe",
        subscribe_form(&site, callback, &[])
    );
    assert_eq!(site.post_form("/websub", &twice, &[]).status, 400);
    let json = site.send(
        "POST",
        "/websub",
        &[("Content-Type", "application/json")],
        Some(b"{}"),
    );
    assert_eq!(json.status, 400, "{json:?}");
    let get = site.get("/websub", &[]);
    assert_eq!(get.status, 405, "{get:?}");
    assert_eq!(get.header("Allow"), Some("POST"));
    assert!(
        get.header("Content-Type")
            .unwrap_or("")
            .starts_with("text/plain"),
        "{get:?}"
    );

    // An internal callback, with the guard on: refused at once.
    site.cli_ok(&["config", "allow_private_addresses", "false"]);
    for internal in [
        "http://127.0.0.1:8080/cb",
        "http://10.1.2.3/cb",
        "http://[::1]/cb",
        "http://localhost/cb",
    ] {
        let refused = site.post_form("/websub", &subscribe_form(&site, internal, &[]), &[]);
        assert_eq!(refused.status, 400, "{internal}: {refused:?}");
        assert!(
            refused.text().contains("internal address"),
            "{}",
            refused.text()
        );
    }
}

#[test]
fn a_subscriber_that_does_not_echo_the_challenge_is_not_subscribed() {
    let site = apache().loopback_roost_site("ws-verify", Kind::Cgi);
    // A callback on loopback that answers 200 with the wrong body.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut seen = Vec::new();
        for _ in 0..3 {
            let Ok((mut stream, _)) = listener.accept() else {
                break;
            };
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            let wrong = request.starts_with("GET /wrong");
            let body = if wrong {
                "not the challenge".to_string()
            } else {
                // Echo the challenge.
                request
                    .split(['?', '&', ' '])
                    .find_map(|p| p.strip_prefix("hub.challenge="))
                    .unwrap_or_default()
                    .to_string()
            };
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .ok();
            seen.push(request.lines().next().unwrap_or_default().to_string());
            if seen.len() == 2 {
                break;
            }
        }
        seen
    });
    for path in ["/wrong", "/right"] {
        let callback = format!("http://{addr}{path}");
        let answer = site.post_form(
            "/websub",
            &subscribe_form(&site, &callback, &[("hub.secret", "s3cret")]),
            &[],
        );
        assert_eq!(answer.status, 202, "{answer:?}");
    }
    let run = site.cli_ok(&["cron"]);
    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 2, "both callbacks were asked: {seen:?}");
    assert!(
        seen.iter()
            .all(|l| l.contains("hub.mode=subscribe") && l.contains("hub.lease_seconds=864000")),
        "{seen:?}"
    );
    assert!(
        run.contains("1 given up") && run.contains("without echoing the challenge"),
        "{run}"
    );
    let doctor = run_cli(&site.binary.clone().unwrap(), &site.home, &["doctor"], None);
    let doctor = String::from_utf8_lossy(&doctor.stdout).into_owned();
    assert!(
        doctor.contains("FAIL") && doctor.contains("gave up websub.verify"),
        "{doctor}"
    );
    // The owner's settings page lists the subscriber and the dead letter.
    let login = site.submit_login(&site.get("/login", &[]));
    let session = login.cookie("roost_session").expect("logged in");
    let settings = site
        .get(
            "/settings",
            &[("Cookie", &format!("roost_session={session}"))],
        )
        .text();
    let subscribers = &settings[settings.find("Subscribers by WebSub").expect("the section")..];
    assert!(
        subscribers.contains(&format!("http://{addr}/right")),
        "{subscribers}"
    );
    assert!(subscribers.contains("signed"), "{subscribers}");
    assert!(subscribers.contains("websub.verify"), "{subscribers}");
    assert!(
        subscribers.contains("without echoing the challenge"),
        "{subscribers}"
    );
}

#[test]
fn callbacks_answer_only_for_subscriptions_this_node_asked_for() {
    let publisher = apache().loopback_roost_site("ws-pub", Kind::Cgi);
    let subscriber = apache().loopback_roost_site("ws-sub", Kind::Cgi);
    let unknown = subscriber.get(
        "/websub/callback/0123456789abcdef?hub.mode=subscribe&hub.topic=x&hub.challenge=c",
        &[],
    );
    assert_eq!(unknown.status, 404, "{unknown:?}");
    assert!(!unknown.text().contains('c') || !unknown.text().trim().eq("c"));
    let stray = subscriber.send(
        "POST",
        "/websub/callback/0123456789abcdef",
        &[("Content-Type", "application/atom+xml")],
        Some(b"<feed/>"),
    );
    assert_eq!(stray.status, 410, "{stray:?}");

    subscriber.cli_ok(&["follow", &publisher.url("/feed.atom"), "--name", "pub"]);
    subscriber.cli_ok(&["cron"]);
    publisher.cli_ok(&["cron"]);
    // The callback id is in the publisher's verified subscription: find it
    // through the hub's own delivery, by posting and reading what arrives.
    let callback_path = {
        let db = rusqlite::Connection::open(subscriber.home.join("roost.db")).unwrap();
        let id: String = db
            .query_row(
                "SELECT callback_id FROM websub_pushed WHERE state = 'active'",
                [],
                |r| r.get(0),
            )
            .expect("the subscription was verified");
        format!("/websub/callback/{id}")
    };
    // A verification for another topic is not echoed.
    let other = subscriber.get(&format!("{callback_path}?hub.mode=subscribe&hub.topic=https%3A%2F%2Fevil.example%2F&hub.challenge=abc"), &[]);
    assert_eq!(other.status, 404, "{other:?}");
    // A forged delivery (no signature, a wrong one) is acknowledged and dropped.
    let forged = concat!(
        "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>x</title><id>urn:x</id>",
        "<updated>2026-12-01T00:00:00Z</updated><entry><id>urn:forged</id><title>Forged entry</title>\
         <updated>2026-12-01T00:00:00Z</updated><content>Forged entry</content></entry></feed>"
    );
    for signature in [
        None,
        Some("sha256=00"),
        Some("sha256=not-hex"),
        Some("md5=abc"),
    ] {
        let mut headers = vec![("Content-Type", "application/atom+xml")];
        if let Some(signature) = signature {
            headers.push(("X-Hub-Signature", signature));
        }
        let answer = subscriber.send("POST", &callback_path, &headers, Some(forged.as_bytes()));
        assert_eq!(answer.status, 202, "{signature:?}: {answer:?}");
        assert!(answer.text().contains("Dropped"), "{}", answer.text());
    }
    assert!(!subscriber.public_timeline().contains("Forged entry"));
    // Over the callback's limit: 413 before anything is read.
    let big = vec![b'x'; 4 * 1024 * 1024 + 1];
    let too_big = subscriber.send(
        "POST",
        &callback_path,
        &[("Content-Type", "application/atom+xml")],
        Some(&big),
    );
    assert_eq!(too_big.status, 413, "{too_big:?}");
    // The real one arrives.
    publisher.cli_ok(&["post", "The genuine article"]);
    publisher.cli_ok(&["cron"]);
    assert!(subscriber.public_timeline().contains("The genuine article"));
}

#[test]
fn deliveries_are_signed_retried_and_ended_by_410_and_an_external_hub_is_pinged() {
    use common::feed_server::{FeedServer, Route};
    let site = apache().loopback_roost_site("ws-retry", Kind::Cgi);
    let server = FeedServer::start();
    let failing = |status: u16| Route::WebsubCallback {
        challenge_suffix: String::new(),
        push_status: status,
    };
    server.set("/cb", failing(500));
    server.websub_callback("/hub");
    // Naming an external hub is a change of the feeds' own: it is pinged
    // (before the subscription below is verified: jobs run in due order).
    site.cli_ok(&["config", "websub_hub", &server.url("/hub")]);
    let subscribe = subscribe_form(&site, &server.url("/cb"), &[("hub.secret", "sesame")]);
    assert_eq!(site.post_form("/websub", &subscribe, &[]).status, 202);
    site.cli_ok(&["cron"]);
    assert_eq!(server.requests("/hub").len(), 3, "one ping per feed");
    assert_eq!(
        server.requests_ignoring_query("/cb").len(),
        1,
        "the verification"
    );

    site.cli_ok(&["post", "Worth retrying"]);
    let run = site.cli_ok(&["cron"]);
    assert!(run.contains("1 to retry later"), "{run}");
    let pushes: Vec<_> = server
        .requests_ignoring_query("/cb")
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(pushes.len(), 1, "{pushes:?}");
    let push = &pushes[0];
    assert!(String::from_utf8_lossy(&push.body).contains("Worth retrying"));
    assert_eq!(
        push.header("X-Hub-Signature"),
        Some(common::websub_peer::x_hub_signature("sesame", &push.body).as_str())
    );
    assert!(
        push.header("Content-Type")
            .unwrap_or("")
            .starts_with("application/atom+xml")
    );
    assert!(
        push.header("Link").unwrap_or("").contains("rel=\"hub\""),
        "{push:?}"
    );
    // The external hub heard of each feed's change.
    let pings = server.requests("/hub");
    let topics: Vec<String> = pings
        .iter()
        .filter_map(|p| {
            let form = common::http::form_decode(&String::from_utf8_lossy(&p.body));
            assert!(
                form.contains(&("hub.mode".into(), "publish".into())),
                "{form:?}"
            );
            form.into_iter()
                .find(|(k, _)| k == "hub.url")
                .map(|(_, v)| v)
        })
        .collect();
    for feed in ["/feed.atom", "/feed.rss", "/feed.json"] {
        assert!(topics.contains(&site.url(feed)), "{topics:?}");
    }
    // Not due again yet: a minute's backoff.
    site.cli_ok(&["cron"]);
    let posts = |s: &FeedServer| {
        s.requests_ignoring_query("/cb")
            .iter()
            .filter(|r| r.method == "POST")
            .count()
    };
    assert_eq!(posts(&server), 1);
    // Due now (as a minute later), and the subscriber says it is gone.
    let db = rusqlite::Connection::open(site.home.join("roost.db")).unwrap();
    db.execute(
        "UPDATE jobs SET due_at = 0 WHERE kind = 'websub.deliver'",
        [],
    )
    .unwrap();
    server.set("/cb", failing(410));
    let run = site.cli_ok(&["cron"]);
    assert!(run.contains("1 done"), "{run}");
    assert_eq!(posts(&server), 2);
    let left: i64 = db
        .query_row("SELECT count(*) FROM websub_subscriptions", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(left, 0, "410 Gone ends the subscription");
}
