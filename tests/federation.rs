//! Following and polling against real feed files served on loopback: the
//! etiquette (conditional GET, redirects, 410, 429), the limits (a slow-drip
//! server), the lease, the internal-address guard, sanitizing, OPML, and two
//! roost nodes holding a conversation.

mod common;

use common::feed_server::{FeedServer, Route};
use common::process::{free_port, hidden_csrf, serve, start};
use common::{OWNER_PASSWORD, TempDir, expect_success, roost_cli};
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn corpus(rel: &str) -> Vec<u8> {
    let path = common::corpus_dir().join(rel);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("the corpus file {} is missing: {e}", path.display()))
}

/// A node whose polling may reach loopback (the test feeds live there).
fn node(dir: &TempDir, name: &str, url: &str) -> PathBuf {
    let home = dir.join(name);
    common::init_loopback_site(&home, url, name);
    home
}

fn cli(home: &Path, args: &[&str]) -> String {
    expect_success(&args.join(" "), &roost_cli(home, args, None))
}

fn cli_fails(home: &Path, args: &[&str]) -> String {
    let out = roost_cli(home, args, None);
    assert!(
        !out.status.success(),
        "{args:?} should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn atom(title: &str, entries: &[(&str, &str)]) -> Vec<u8> {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>{title}</title>\
         <id>urn:test:{title}</id><updated>2026-11-20T10:00:00Z</updated><link href=\"https://friend.example/\"/>"
    );
    for (id, text) in entries {
        xml.push_str(&format!(
            "<entry><id>urn:test:{id}</id><title>{text}</title><updated>2026-11-20T10:00:00Z</updated>\
             <link href=\"https://friend.example/{id}\"/><content type=\"html\">&lt;p&gt;{text}&lt;/p&gt;</content></entry>"
        ));
    }
    xml.push_str("</feed>");
    xml.into_bytes()
}

fn export(home: &Path) -> serde_json::Value {
    serde_json::from_str(&cli(home, &["export"])).unwrap()
}

#[test]
fn polling_is_conditional_and_picks_up_changes() {
    let server = FeedServer::start();
    server.feed(
        "/a.atom",
        &atom("Friend A", &[("1", "first from A")]),
        "application/atom+xml",
    );
    let dir = TempDir::new("roost-fed");
    let home = node(&dir, "Owner", "https://owner.example/");
    let out = cli(
        &home,
        &["follow", &server.url("/a.atom"), "--name", "friend-a"],
    );
    assert!(out.contains("Following Friend A (1 entries)"), "{out}");
    let first = &server.requests("/a.atom")[0];
    assert!(
        first.headers["user-agent"].starts_with("roost/"),
        "{:?}",
        first.headers
    );
    assert!(first.headers["user-agent"].contains("https://owner.example/"));

    // Nothing is due right after following; --force polls anyway, conditionally.
    assert!(cli(&home, &["poll"]).contains("Polled 0 of 0"));
    let generation =
        || std::fs::read_to_string(home.join("cache/generation")).expect("a page cache generation");
    let before = generation();
    cli(&home, &["poll", "--force"]);
    assert_eq!(
        generation(),
        before,
        "a poll that found nothing new keeps the kept pages"
    );
    let second = server.requests("/a.atom").pop().unwrap();
    assert!(
        second.headers.contains_key("if-none-match"),
        "{:?}",
        second.headers
    );
    assert!(second.headers.contains_key("if-modified-since"));
    assert!(cli(&home, &["following"]).contains("not modified"));

    // A changed feed: new entries stored, a changed one updated in place.
    server.feed(
        "/a.atom",
        &atom(
            "Friend A",
            &[("1", "first from A, edited"), ("2", "second from A")],
        ),
        "application/atom+xml",
    );
    let out = cli(&home, &["poll", "--force"]);
    assert!(out.contains("1 new entries, 1 updated"), "{out}");
    assert_ne!(generation(), before, "new entries retire the kept pages");
    cli(&home, &["poll", "--force"]);
    let following = cli(&home, &["following"]);
    assert!(
        following.contains("friend-a") && following.contains("not modified"),
        "{following}"
    );
    assert!(cli(&home, &["unfollow", "friend-a"]).contains("No longer following"));
    assert!(cli_fails(&home, &["unfollow", "friend-a"]).contains("not following"));
}

#[test]
fn redirects_gone_and_retry_after_are_respected() {
    let server = FeedServer::start();
    let body = atom("Moving", &[("m1", "moved entry")]);
    server.feed("/new.atom", &body, "application/atom+xml");
    server.set(
        "/old.atom",
        Route::Redirect {
            status: 301,
            location: server.url("/new.atom"),
        },
    );
    server.feed(
        "/temp-target.atom",
        &atom("Temp", &[("t1", "temp entry")]),
        "application/atom+xml",
    );
    server.set(
        "/temp.atom",
        Route::Redirect {
            status: 302,
            location: "/temp-target.atom".into(),
        },
    );
    let dir = TempDir::new("roost-fed");
    let home = node(&dir, "Owner", "https://owner.example/");
    assert!(
        cli(&home, &["follow", &server.url("/old.atom")]).contains(&server.url("/new.atom")),
        "301 updates the address"
    );
    assert!(
        cli(&home, &["follow", &server.url("/temp.atom")]).contains(&server.url("/temp.atom")),
        "302 keeps it"
    );

    server.set(
        "/temp.atom",
        Route::Status {
            status: 410,
            headers: vec![],
        },
    );
    server.set(
        "/new.atom",
        Route::Status {
            status: 429,
            headers: vec![("Retry-After".into(), "7200".into())],
        },
    );
    let out = cli(&home, &["poll", "--force"]);
    assert!(out.contains("gone (410)"), "{out}");
    let following = cli(&home, &["following"]);
    assert!(
        following.contains("gone") && following.contains("not polled again"),
        "{following}"
    );
    assert!(
        following.contains("retry later") && following.contains("next in 2 h"),
        "{following}"
    );
    let before = server.requests("/temp.atom").len();
    cli(&home, &["poll", "--force"]);
    assert_eq!(
        server.requests("/temp.atom").len(),
        before,
        "a gone feed is never fetched again"
    );
    let entries_kept = export(&home)["follows"].as_array().unwrap().len();
    assert_eq!(entries_kept, 2);
}

#[test]
fn a_slow_feed_is_an_error_the_run_goes_on_and_overlapping_runs_skip() {
    let server = FeedServer::start();
    server.feed(
        "/fast.atom",
        &atom("Fast", &[("f1", "fast one")]),
        "application/atom+xml",
    );
    server.feed(
        "/slow.atom",
        &atom("Slow", &[("s1", "slow one")]),
        "application/atom+xml",
    );
    let dir = TempDir::new("roost-fed");
    let home = node(&dir, "Owner", "https://owner.example/");
    cli(&home, &["follow", &server.url("/fast.atom")]);
    cli(&home, &["follow", &server.url("/slow.atom")]);
    server.set("/slow.atom", Route::SlowDrip);
    server.feed(
        "/fast.atom",
        &atom("Fast", &[("f1", "fast one"), ("f2", "fast two")]),
        "application/atom+xml",
    );

    let started = Instant::now();
    let mut first = start(&home, &["poll", "--force"]);
    // While it drips, a second run (cron a minute later) does nothing.
    std::thread::sleep(Duration::from_millis(1500));
    let second = cli(&home, &["poll", "--force"]);
    assert!(second.contains("Another poll is running"), "{second}");
    let status = first.0.wait().unwrap();
    let mut stdout = String::new();
    first
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert!(
        status.success(),
        "a remote failure is not a local one: {stdout}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the total timeout bounds the run"
    );
    assert!(
        stdout.contains("1 new entries") && stdout.contains("1 errors"),
        "{stdout}"
    );
    let following = cli(&home, &["following"]);
    assert!(
        following.contains("error: timed out") || following.contains("error: time"),
        "{following}"
    );
}

#[test]
fn a_killed_poll_keeps_finished_feeds_and_frees_the_lease() {
    let server = FeedServer::start();
    let dir = TempDir::new("roost-fed");
    let home = node(&dir, "Owner", "https://owner.example/");
    for name in ["one", "two", "slow"] {
        let path = format!("/{name}.atom");
        server.feed(
            &path,
            &atom(name, &[(name, "initial")]),
            "application/atom+xml",
        );
        cli(&home, &["follow", &server.url(&path)]);
    }
    server.feed(
        "/one.atom",
        &atom("one", &[("one", "initial"), ("one-b", "one, new")]),
        "application/atom+xml",
    );
    server.feed(
        "/two.atom",
        &atom("two", &[("two", "initial"), ("two-b", "two, new")]),
        "application/atom+xml",
    );
    server.set("/slow.atom", Route::SlowDrip);
    let mut poll = start(&home, &["poll", "--force"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.requests("/slow.atom").len() < 2
        || server.requests("/two.atom").len() < 2
        || server.requests("/one.atom").len() < 2
    {
        assert!(
            Instant::now() < deadline,
            "the poll never fetched all three"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(700));
    poll.0.kill().unwrap(); // SIGKILL: no chance to clean up
    poll.0.wait().unwrap();
    let doc = export(&home);
    assert_eq!(
        doc["follows"].as_array().unwrap().len(),
        3,
        "the database is intact"
    );
    // The next run does not wait for the dead run's lease to expire.
    server.feed(
        "/slow.atom",
        &atom("slow", &[("slow", "initial")]),
        "application/atom+xml",
    );
    let out = cli(&home, &["poll", "--force"]);
    assert!(!out.contains("Another poll is running"), "{out}");
    // The two feeds finished before the kill had their new entries stored then.
    assert!(
        out.contains("Polled 3 of 3 due feeds: 0 new entries"),
        "only the feed in hand was lost: {out}"
    );
}

#[test]
fn internal_addresses_are_refused_with_the_guard_on() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = TempDir::new("roost-fed");
    let home = dir.join("guarded");
    expect_success(
        "init",
        &roost_cli(
            &home,
            &["init", "--url", "https://owner.example/", "--name", "G"],
            None,
        ),
    );
    for url in [
        format!("http://127.0.0.1:{port}/feed"),
        format!("http://localhost:{port}/feed"),
        format!("http://0x7f.1:{port}/feed"),
        format!("http://2130706433:{port}/feed"),
        format!("http://[::ffff:127.0.0.1]:{port}/feed"),
        format!("http://0.0.0.0:{port}/feed"),
    ] {
        let err = cli_fails(&home, &["follow", &url]);
        assert!(err.contains("internal address"), "{url}: {err}");
    }
    assert!(
        listener.accept().is_err(),
        "no connection reached the internal listener"
    );
    assert_eq!(
        export(&home)["follows"].as_array().unwrap().len(),
        0,
        "nothing stored"
    );
}

#[test]
fn remote_html_is_sanitized_before_it_is_shown() {
    let server = FeedServer::start();
    let hostile = br#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>Evil &lt;script&gt;alert(1)&lt;/script&gt;</title><link>https://evil.example/</link>
<item><title>&lt;img src=x onerror=alert(1)&gt;Title</title><guid>e1</guid><link>javascript:alert(1)</link>
<author>x@example.org (&lt;b onmouseover=alert(1)&gt;Mallory&lt;/b&gt;)</author>
<description>&lt;p&gt;Hi&lt;script&gt;alert(1)&lt;/script&gt;&lt;a href="javascript:alert(1)"&gt;x&lt;/a&gt;&lt;img src="/pic.png" onerror="alert(1)"&gt;&lt;svg onload=alert(1)&gt;&lt;/svg&gt;&lt;a href="/rel"&gt;relative&lt;/a&gt;&lt;/p&gt;</description>
<enclosure url="javascript:alert(1)" type="audio/mpeg" length="1"/>
</item></channel></rss>"#;
    server.feed("/evil.rss", hostile, "application/rss+xml");
    let dir = TempDir::new("roost-fed");
    let port = free_port();
    let home = node(&dir, "Owner", &format!("http://127.0.0.1:{port}/"));
    cli(&home, &["follow", &server.url("/evil.rss")]);
    cli(&home, &["config", "public_timeline", "true"]);
    let (_server, addr) = serve(&home, port);
    let page = common::http::get(addr, "/timeline", &[]);
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("Hi"), "the text survives");
    for bad in [
        "<script",
        "onerror",
        "onload",
        "onmouseover",
        "javascript:",
        "<svg",
    ] {
        assert!(!html.contains(bad), "{bad} reached the page:\n{html}");
    }
    assert!(
        html.contains(&format!("href=\"{}\"", server.url("/rel"))),
        "relative links resolved against the feed"
    );
    assert!(html.contains("noopener"), "remote links get rel=noopener");
}

#[test]
fn the_timeline_is_the_owners_unless_made_public() {
    let server = FeedServer::start();
    server.feed(
        "/t.atom",
        &atom("Timeline Friend", &[("t1", "followed entry text")]),
        "application/atom+xml",
    );
    let dir = TempDir::new("roost-fed");
    let port = free_port();
    let home = node(&dir, "Owner", &format!("http://127.0.0.1:{port}/"));
    cli(&home, &["follow", &server.url("/t.atom")]);
    cli(&home, &["post", "own post text"]);
    let (_server, addr) = serve(&home, port);
    let anonymous = common::http::get(addr, "/timeline", &[]);
    assert_eq!(anonymous.status, 303, "owner-only by default");
    let session = log_in(addr);
    let page = common::http::get(addr, "/timeline", &[("Cookie", &session)]);
    let html = page.text();
    assert!(html.contains("followed entry text") && html.contains("own post text"));
    assert!(
        html.find("own post text") < html.find("followed entry text"),
        "newest first (the entry is from 2026-11-20)"
    );
    for class in [
        "h-entry",
        "p-name",
        "e-content",
        "u-url",
        "p-author",
        "dt-published",
    ] {
        assert!(html.contains(class), "{class} microformat");
    }
    assert!(
        html.contains("?reply_to="),
        "a reply button on followed entries"
    );
    let etag = page.header("ETag").unwrap().to_string();
    assert_eq!(
        common::http::get(
            addr,
            "/timeline",
            &[("Cookie", &session), ("If-None-Match", &etag)]
        )
        .status,
        304
    );
    // Following from the web form, refused input kept.
    let csrf = hidden_csrf(&common::http::get(addr, "/following", &[("Cookie", &session)]).text());
    let body = common::http::form_encode(&[("csrf", &csrf), ("url", "ftp://nope"), ("name", "")]);
    let refused = common::http::post_form(addr, "/follow", &body, &[("Cookie", &session)]);
    assert_eq!(refused.status, 400);
    assert!(
        refused.text().contains("ftp://nope"),
        "the typed address is kept"
    );
    let forged = common::http::form_encode(&[("url", &server.url("/t.atom"))]);
    assert_eq!(
        common::http::post_form(addr, "/unfollow", &forged, &[("Cookie", &session)]).status,
        403
    );
    cli(&home, &["config", "public_timeline", "true"]);
    assert_eq!(common::http::get(addr, "/timeline", &[]).status, 200);
    let opml = common::http::get(addr, "/following.opml", &[]);
    assert!(opml.text().contains(&server.url("/t.atom")));
    // Paginated with a cursor: 21 newer own posts push the entry to page two.
    for i in 0..21 {
        cli(&home, &["post", &format!("filler {i}")]);
    }
    let first = common::http::get(addr, "/timeline", &[]).text();
    assert!(!first.contains("followed entry text"));
    let at = first
        .find("/timeline?before=")
        .expect("a link to older items")
        + "/timeline?before=".len();
    let cursor: String = first[at..].chars().take_while(|c| *c != '"').collect();
    let second = common::http::get(addr, &format!("/timeline?before={cursor}"), &[]).text();
    assert!(
        second.contains("followed entry text") && second.contains("own post text"),
        "{second}"
    );
    assert_eq!(
        common::http::get(addr, "/timeline?before=x.y", &[]).status,
        400
    );
}

fn log_in(addr: std::net::SocketAddr) -> String {
    let form = common::http::get(addr, "/login", &[]);
    let login_cookie = form.cookie("roost_login").unwrap();
    let body = common::http::form_encode(&[
        ("csrf", &hidden_csrf(&form.text())),
        ("password", OWNER_PASSWORD),
    ]);
    let done = common::http::post_form(
        addr,
        "/login",
        &body,
        &[("Cookie", &format!("roost_login={login_cookie}"))],
    );
    assert_eq!(done.status, 303);
    format!("roost_session={}", done.cookie("roost_session").unwrap())
}

#[test]
fn opml_imports_whole_or_not_at_all_and_exports() {
    let server = FeedServer::start();
    server.feed(
        "/o1.atom",
        &atom("OPML One", &[("o1", "x")]),
        "application/atom+xml",
    );
    server.feed(
        "/o2.json",
        &corpus("jsonfeed/spec-examples/jsonfeed-1.1-podcast.json"),
        "application/feed+json",
    );
    let dir = TempDir::new("roost-fed");
    let home = node(&dir, "Owner", "https://owner.example/");
    let bad = dir.join("bad.opml");
    std::fs::write(&bad, "<opml><body><outline xmlUrl=\"x\"></body>").unwrap();
    common::chown_to_cgi_user(&bad);
    assert!(cli_fails(&home, &["import-opml", bad.to_str().unwrap()]).contains("not well-formed"));
    assert_eq!(export(&home)["follows"].as_array().unwrap().len(), 0);

    // Shaped like a FreshRSS export: categories, text/title, htmlUrl.
    let good = dir.join("subs.opml");
    std::fs::write(
        &good,
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>FreshRSS</title></head><body>
<outline text="Friends"><outline text="One" type="rss" xmlUrl="{}" htmlUrl="https://one.example/"/>
<outline text="Pod" type="rss" xmlUrl="{}"/></outline>
<outline text="Dead" type="rss" xmlUrl="{}"/>
</body></opml>"#,
            server.url("/o1.atom"),
            server.url("/o2.json"),
            server.url("/missing.xml")
        ),
    )
    .unwrap();
    common::chown_to_cgi_user(&good);
    let out = cli(&home, &["import-opml", good.to_str().unwrap()]);
    assert!(
        out.contains("Imported 2 of 3") && out.contains("1 failed"),
        "{out}"
    );
    let exported = cli(&home, &["export-opml"]);
    assert!(
        exported.contains(&server.url("/o1.atom")) && exported.contains(&server.url("/o2.json"))
    );
    assert!(!exported.contains("/missing.xml"));
    // The podcast's enclosure arrived.
    let (_s, addr) = {
        let port = free_port();
        cli(
            &home,
            &["config", "url", &format!("http://127.0.0.1:{port}/")],
        );
        cli(&home, &["config", "public_timeline", "true"]);
        serve(&home, port)
    };
    let html = common::http::get(addr, "/timeline", &[]).text();
    assert!(
        html.contains("<audio controls"),
        "enclosures shown as media"
    );
}

#[test]
fn two_roosts_follow_each_other_and_converse() {
    let dir = TempDir::new("roost-fed");
    let (port_a, port_b) = (free_port(), free_port());
    let alice = node(&dir, "Alice", &format!("http://127.0.0.1:{port_a}/"));
    let bob = node(&dir, "Bob", &format!("http://127.0.0.1:{port_b}/"));
    let (_a, addr_a) = serve(&alice, port_a);
    let (_b, addr_b) = serve(&bob, port_b);
    let alice_post = cli(&alice, &["post", "Alice asks: feeds or streams?"])
        .trim()
        .to_string();
    cli(
        &bob,
        &[
            "follow",
            &format!("http://127.0.0.1:{port_a}/"),
            "--name",
            "alice",
        ],
    );
    cli(
        &alice,
        &[
            "follow",
            &format!("http://127.0.0.1:{port_b}/feed.json"),
            "--name",
            "bob",
        ],
    );
    let bob_reply = cli(
        &bob,
        &["post", "--reply-to", &alice_post, "Bob answers: feeds."],
    )
    .trim()
    .to_string();
    cli(
        &alice,
        &["post", "--reply-to", &bob_reply, "Alice: agreed."],
    );
    cli(&alice, &["poll", "--force"]);
    cli(&bob, &["poll", "--force"]);
    let alice_page = common::http::get(addr_a, "/posts/1", &[]).text();
    assert!(
        alice_page.contains("Bob answers: feeds."),
        "Bob's reply shows under Alice's post:\n{alice_page}"
    );
    let bob_page = common::http::get(addr_b, "/posts/1", &[]).text();
    assert!(
        bob_page.contains("Alice: agreed."),
        "and Alice's under Bob's:\n{bob_page}"
    );
    let atom = common::http::get(addr_b, "/feed.atom", &[]).text();
    assert!(
        atom.contains(&format!("ref=\"{alice_post}\"")),
        "Bob's feed carries thr:in-reply-to"
    );
}

#[test]
fn following_a_web_page_finds_its_feed_or_says_there_is_none() {
    let server = FeedServer::start();
    server.feed(
        "/feeds/main.atom",
        &atom("Discovered", &[("d1", "found through the page")]),
        "application/atom+xml",
    );
    server.feed(
        "/feeds/main.rss",
        b"<rss version=\"2.0\"><channel><title>RSS twin</title></channel></rss>",
        "application/rss+xml",
    );
    let page = b"<!DOCTYPE html><html><head><title>Home</title>\
        <link rel=\"alternate\" type=\"application/rss+xml\" href=\"/feeds/main.rss\">\
        <link rel=\"alternate\" type=\"application/atom+xml\" href=\"/feeds/main.atom\">\
        </head><body>hello</body></html>";
    server.feed("/blog/", page, "text/html; charset=utf-8");
    server.feed(
        "/plain/",
        b"<!DOCTYPE html><html><head><title>No feed</title></head><body>x</body></html>",
        "text/html",
    );
    let dir = TempDir::new("roost-fed");
    let home = node(&dir, "Owner", "https://owner.example/");
    let out = cli(&home, &["follow", &server.url("/blog/")]);
    assert!(
        out.contains("Following RSS twin") && out.contains(&server.url("/feeds/main.rss")),
        "the first feed the page lists, whatever its format: {out}"
    );
    let err = cli_fails(&home, &["follow", &server.url("/plain/")]);
    assert!(err.contains("no feed found"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert_eq!(export(&home)["follows"].as_array().unwrap().len(), 1);
}

#[test]
fn max_seconds_bounds_a_run_and_quiet_prints_nothing_for_remote_errors() {
    let server = FeedServer::start();
    server.feed(
        "/ok.atom",
        &atom("Ok", &[("ok1", "fine")]),
        "application/atom+xml",
    );
    server.feed(
        "/drip.atom",
        &atom("Drip", &[("dr1", "slow")]),
        "application/atom+xml",
    );
    server.feed(
        "/broken.atom",
        &atom("Broken", &[("b1", "soon broken")]),
        "application/atom+xml",
    );
    let dir = TempDir::new("roost-fed");
    let home = node(&dir, "Owner", "https://owner.example/");
    for path in ["/ok.atom", "/drip.atom", "/broken.atom"] {
        cli(&home, &["follow", &server.url(path)]);
    }
    server.set("/drip.atom", Route::SlowDrip);
    server.set(
        "/broken.atom",
        Route::Status {
            status: 500,
            headers: vec![],
        },
    );
    let started = Instant::now();
    let out = cli(&home, &["poll", "--force", "--max-seconds", "2"]);
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "took {:?}",
        started.elapsed()
    );
    assert!(out.contains("Stopped at the time limit"), "{out}");
    let following = cli(&home, &["following"]);
    assert!(
        !following.contains("timed out"),
        "our own limit is not the feed's error: {following}"
    );
    assert!(following.contains("HTTP 500"), "{following}");
    // --quiet: a broken feed is not this node's problem, so nothing is printed.
    server.set(
        "/drip.atom",
        Route::Status {
            status: 404,
            headers: vec![],
        },
    );
    let quiet = roost_cli(&home, &["poll", "--force", "--quiet"], None);
    assert!(quiet.status.success());
    assert!(
        quiet.stdout.is_empty() && quiet.stderr.is_empty(),
        "{quiet:?}"
    );
}

#[test]
fn poll_shows_progress_on_a_terminal_only() {
    let server = FeedServer::start();
    let dir = TempDir::new("roost-fed");
    let home = node(&dir, "Owner", "https://owner.example/");
    for path in ["/p1.atom", "/p2.atom"] {
        server.feed(
            path,
            &atom(path, &[(path, "entry")]),
            "application/atom+xml",
        );
        cli(&home, &["follow", &server.url(path)]);
    }
    // `script` gives the command a terminal, as a person at a shell has.
    let command = format!(
        "{} --home {} poll --force",
        common::roost_bin().display(),
        home.display()
    );
    let mut script = std::process::Command::new("script");
    common::run_as_cgi_user(&mut script);
    script.args(["-qc", &command, "/dev/null"]);
    let out = common::run_with_stdin(&mut script, None);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("2/2 feeds · 127.0.0.1"),
        "progress on a terminal: {shown:?}"
    );
    // Under cron (no terminal) the same run shows no progress at all.
    let plain = roost_cli(&home, &["poll", "--force"], None);
    assert!(!String::from_utf8_lossy(&plain.stderr).contains("feeds ·"));
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("feeds ·"));
}

/// `roost follow http://user:secret@host/feed` was accepted: the password
/// was sent, stored, and shown to every visitor on /following and in
/// /following.opml. Such addresses are refused however they arrive (command
/// line, web form, OPML, a permanent redirect), and a database that has
/// them from an older roost loses the password on upgrade.
#[test]
fn feed_passwords_are_refused_and_never_shown() {
    let server = FeedServer::start();
    let feed = atom("Private", &[("p1", "private entry")]);
    for path in ["/private.atom", "/other.atom", "/plain.atom"] {
        server.feed(path, &feed, "application/atom+xml");
    }
    let with_password = |path: &str| server.url(path).replace("http://", "http://ann:s3cret@");
    let no_password_sent = || {
        server
            .requests("/private.atom")
            .iter()
            .all(|seen| !seen.headers.contains_key("authorization"))
    };
    server.set(
        "/moved.atom",
        Route::Redirect {
            status: 301,
            location: with_password("/private.atom"),
        },
    );
    let dir = TempDir::new("roost-fed");
    let port = free_port();
    let home = node(&dir, "Owner", &format!("http://127.0.0.1:{port}/"));

    let refused = cli_fails(&home, &["follow", &with_password("/private.atom")]);
    assert!(
        refused.contains("user name or password") && refused.contains("To follow a private feed"),
        "{refused}"
    );
    let redirected = cli_fails(&home, &["follow", &server.url("/moved.atom")]);
    assert!(
        redirected.contains("user name or password") && !redirected.contains("s3cret"),
        "{redirected}"
    );
    let opml = dir.join("private.opml");
    std::fs::write(
        &opml,
        format!(
            "<opml version=\"2.0\"><body><outline text=\"P\" xmlUrl=\"{}\"/></body></opml>",
            with_password("/private.atom")
        ),
    )
    .unwrap();
    common::chown_to_cgi_user(&opml);
    let imported = cli(&home, &["import-opml", opml.to_str().unwrap()]);
    assert!(
        imported.contains("Imported 0 of 1") && imported.contains("user name or password"),
        "{imported}"
    );
    let (_server, addr) = serve(&home, port);
    let session = log_in(addr);
    let csrf = hidden_csrf(&common::http::get(addr, "/following", &[("Cookie", &session)]).text());
    let body = common::http::form_encode(&[
        ("csrf", &csrf),
        ("url", &with_password("/private.atom")),
        ("name", ""),
    ]);
    let posted = common::http::post_form(addr, "/follow", &body, &[("Cookie", &session)]);
    assert_eq!(posted.status, 400);
    assert!(posted.text().contains("To follow a private feed"));
    assert_eq!(export(&home)["follows"].as_array().unwrap().len(), 0);
    assert!(no_password_sent(), "no password was ever sent");

    // A database from before (the first release's, schema 2): three
    // addresses with passwords (one also followed without, one twice with
    // different passwords), upgraded on first use.
    cli(&home, &["follow", &server.url("/plain.atom")]);
    let old = dir.join("from-before");
    std::fs::create_dir(&old).unwrap();
    common::chown_to_cgi_user(&old);
    let db = old.join("roost.db");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/release-1.db"),
        &db,
    )
    .unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "INSERT INTO follows (url, added) VALUES (?1, 0)",
        [server.url("/plain.atom")],
    )
    .unwrap();
    for path in ["/private.atom", "/plain.atom", "/other.atom"] {
        conn.execute(
            "INSERT INTO follows (url, added) VALUES (?1, 0)",
            [with_password(path)],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO follows (url, added) VALUES (?1, 0)",
        [server
            .url("/other.atom")
            .replace("http://", "http://bob:0ther@")],
    )
    .unwrap();
    drop(conn);
    std::fs::set_permissions(&db, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    common::chown_to_cgi_user(&db);
    let following = cli(&old, &["following"]);
    let exported = cli(&old, &["export-opml"]);
    let (_old_node, old_addr) = serve(&old, free_port());
    let page = common::http::get(old_addr, "/following", &[]).text();
    let list = common::http::get(old_addr, "/following.opml", &[]).text();
    for shown in [&following, &exported, &page, &list] {
        assert!(
            !shown.contains("s3cret") && !shown.contains("0ther") && !shown.contains("ann:"),
            "{shown}"
        );
        for path in ["/private.atom", "/plain.atom", "/other.atom"] {
            assert!(shown.contains(&server.url(path)), "{path} in:\n{shown}");
        }
    }
    for path in ["/private.atom", "/plain.atom", "/other.atom"] {
        let outline = format!("xmlUrl=\"{}\"", server.url(path));
        assert_eq!(exported.matches(&outline).count(), 1, "{exported}");
    }

    // A followed feed that moves (301) to an address with a password: not
    // fetched, its address kept.
    server.set(
        "/plain.atom",
        Route::Redirect {
            status: 301,
            location: with_password("/private.atom"),
        },
    );
    cli(&home, &["poll", "--force"]);
    assert!(
        no_password_sent(),
        "no password was sent after the redirect"
    );
    let following = cli(&home, &["following"]);
    assert!(
        following.contains(&server.url("/plain.atom"))
            && following.contains("user name or password")
            && !following.contains("s3cret"),
        "{following}"
    );
}

/// An entry's link, enclosure and in-reply-to of any length were stored and
/// written into every page: over 2 KiB they are dropped, the entry kept.
#[test]
fn entry_urls_over_2_kib_are_not_stored_as_links() {
    let long = format!("https://friend.example/{}", "a".repeat(2100));
    let short = "https://friend.example/short";
    let entry = |id: &str, url: &str| {
        format!(
            "<entry><id>urn:test:{id}</id><title>entry {id}</title><updated>2026-11-20T10:00:00Z</updated>\
             <link href=\"{url}\"/><link rel=\"enclosure\" type=\"audio/mpeg\" length=\"1\" href=\"{url}.mp3\"/>\
             <thr:in-reply-to ref=\"{url}/reply\"/><content type=\"html\">text {id}</content></entry>"
        )
    };
    let feed = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" \
         xmlns:thr=\"http://purl.org/syndication/thread/1.0\"><title>Long</title><id>urn:test:long</id>\
         <updated>2026-11-20T10:00:00Z</updated>{}{}</feed>",
        entry("long", &long),
        entry("short", short)
    );
    let server = FeedServer::start();
    server.feed("/long.atom", feed.as_bytes(), "application/atom+xml");
    let dir = TempDir::new("roost-fed");
    let home = node(&dir, "Owner", "https://owner.example/");
    cli(&home, &["follow", &server.url("/long.atom")]);
    let conn = rusqlite::Connection::open(home.join("roost.db")).unwrap();
    let row = |title: &str| -> (Option<String>, Option<String>, String) {
        conn.query_row(
            "SELECT link, in_reply_to, enclosures FROM entries WHERE title = ?1",
            [title],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap_or_else(|e| panic!("{title} was not stored: {e}"))
    };
    let (link, reply, enclosures) = row("entry long");
    assert!(
        link.is_none() && reply.is_none() && enclosures == "[]",
        "stored: a link of {:?} bytes, an in-reply-to of {:?}, enclosures of {} bytes",
        link.map(|l| l.len()),
        reply.map(|r| r.len()),
        enclosures.len()
    );
    let (link, reply, enclosures) = row("entry short");
    assert_eq!(link.as_deref(), Some(short));
    assert_eq!(reply, Some(format!("{short}/reply")));
    assert!(enclosures.contains("short.mp3"), "{enclosures}");
}

/// Threading by id: a reply whose `thr:in-reply-to` names its parent by id
/// (`ref`, a `tag:` URI) and by an `href` elsewhere still threads under it;
/// the owner's replies to their own posts show under those posts; and "in
/// reply to" says whom and what a reply answers, not a bare address.
#[test]
fn replies_thread_by_id_and_say_whom_and_what_they_answer() {
    let dir = TempDir::new("roost-fed");
    let port = free_port();
    let home = node(&dir, "Owner", &format!("http://127.0.0.1:{port}/"));
    let parent = cli(&home, &["post", "The parent post about threading"])
        .trim()
        .to_string();
    cli(&home, &["post", "--reply-to", &parent, "An own follow-up"]);
    let uid = export(&home)["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["text"] == "The parent post about threading")
        .expect("the parent post in the export")["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let server = FeedServer::start();
    let feed = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
<title>Friend</title><id>tag:friend.example,2026:feed</id><updated>2026-11-20T12:00:00Z</updated>
<entry><id>tag:friend.example,2026:a</id><title>Friend starts a thread</title><author><name>Fran</name></author>
  <updated>2026-11-20T10:00:00Z</updated><link href="https://friend.example/a"/><content type="html">first words</content></entry>
<entry><id>tag:friend.example,2026:b</id><author><name>Fran</name></author><updated>2026-11-20T11:00:00Z</updated>
  <thr:in-reply-to ref="tag:friend.example,2026:a" href="https://mirror.example/a"/>
  <content type="html">Fran follows up</content></entry>
<entry><id>tag:friend.example,2026:c</id><author><name>Fran</name></author><updated>2026-11-20T12:00:00Z</updated>
  <thr:in-reply-to ref="{uid}" href="https://mirror.example/owner/1"/>
  <content type="html">Fran answers the owner by id</content></entry>
</feed>"#
    );
    server.feed("/friend.atom", feed.as_bytes(), "application/atom+xml");
    cli(&home, &["follow", &server.url("/friend.atom")]);
    cli(&home, &["config", "public_timeline", "true"]);
    let (_running, addr) = serve(&home, port);

    let page = common::http::get(addr, "/posts/1", &[]).text();
    let replies = &page[page.find("Replies").expect("a replies section")..];
    assert!(
        replies.contains("Fran answers the owner by id"),
        "threaded by its ref, though its href is elsewhere: {replies}"
    );
    assert!(
        replies.contains("An own follow-up"),
        "the owner's own reply is under the post: {replies}"
    );

    let timeline = common::http::get(addr, "/timeline", &[]).text();
    let article_before = |text: &str| {
        let at = timeline
            .find(text)
            .unwrap_or_else(|| panic!("{text}: {timeline}"));
        let start = timeline[..at].rfind("<article").unwrap();
        timeline[start..at].to_string()
    };
    let follow_up = article_before("Fran follows up");
    assert!(
        follow_up.contains("in reply to")
            && follow_up.contains(">Fran</a>")
            && follow_up.contains("Friend starts a thread"),
        "the parent's author and an excerpt: {follow_up}"
    );
    assert!(
        !follow_up.contains("mirror.example"),
        "not a bare address: {follow_up}"
    );
    let own = article_before("An own follow-up");
    assert!(
        own.contains(">Owner</a>") && own.contains("The parent post about threading"),
        "{own}"
    );
}

/// A feed with more entries than a poll keeps, and a JSON Feed with items
/// that have no id: `roost following` says what was left out.
#[test]
fn following_says_when_a_feed_was_capped_or_items_were_skipped() {
    let server = FeedServer::start();
    let items: String = (0..250)
        .map(|i| {
            format!(
                "<item><guid>g{i}</guid><title>item {i}</title><pubDate>{}</pubDate></item>",
                chrono::DateTime::from_timestamp(1_700_000_000 + i * 3600, 0)
                    .unwrap()
                    .to_rfc2822()
            )
        })
        .collect();
    server.feed(
        "/big.rss",
        format!("<rss version=\"2.0\"><channel><title>Big</title>{items}</channel></rss>")
            .as_bytes(),
        "application/rss+xml",
    );
    server.feed(
        "/ids.json",
        br#"{"version": "https://jsonfeed.org/version/1.1", "title": "Ids",
             "items": [{"id": "1", "content_text": "kept"}, {"content_text": "no id"}, {"id": 5, "content_text": "a number"}]}"#,
        "application/feed+json",
    );
    let dir = TempDir::new("roost-fed");
    let home = node(&dir, "Owner", "https://owner.example/");
    let out = cli(&home, &["follow", &server.url("/big.rss")]);
    assert!(
        out.contains("(200 entries)") && out.contains("capped"),
        "{out}"
    );
    cli(&home, &["follow", &server.url("/ids.json")]);
    let following = cli(&home, &["following"]);
    assert!(
        following.contains("note: capped: kept the newest 200 of 250 entries"),
        "{following}"
    );
    assert!(
        following.contains("note: skipped 2 JSON Feed items without an id"),
        "{following}"
    );
    cli(&home, &["poll", "--force"]);
    let following = cli(&home, &["following"]);
    assert!(
        following.contains("note: capped: kept the newest 200 of 250 entries"),
        "still said after a poll: {following}"
    );
}
