//! Receiving Webmentions behind the private Apache, through the real binary
//! as CGI: the endpoint advertised on pages and feeds, `POST /webmention`
//! answered 202 with a status URL and nothing fetched, every 400 reason,
//! the rate limit, cron verifying the source (a loopback FeedServer page),
//! moderation from /notifications, the thread under the post, updates and
//! deletes, and hostile sources (linking nowhere, 50 MB, a redirect loop,
//! an internal address with the guard on, scripts in the reply).

mod common;

use common::apache::{Kind, Site, apache};
use common::feed_server::{FeedServer, Route};
use common::http::{HttpResponse, form_encode};
use common::without_database;
use std::sync::Arc;

fn mention(site: &Site, source: &str, target: &str) -> HttpResponse {
    site.post_form(
        "/webmention",
        &form_encode(&[("source", source), ("target", target)]),
        &[],
    )
}

/// The status URL's text (its path on the site taken from `Location`).
fn status(site: &Site, accepted: &HttpResponse) -> String {
    let location = accepted.header("Location").expect("a status URL");
    let path = location
        .strip_prefix(site.base_url().trim_end_matches('/'))
        .unwrap_or_else(|| panic!("{location} is not on {}", site.base_url()));
    let answer = site.get(path, &[]);
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.text()
}

/// A page with an h-entry by `author` that links to `target` as
/// `property` (`u-in-reply-to`, `u-like-of`...), with `content` as HTML.
fn entry_page(
    server: &FeedServer,
    target: &str,
    property: &str,
    author: &str,
    content: &str,
) -> String {
    let photo = server.url("/face.png");
    let home = server.url("/");
    format!(
        "<!doctype html><html><head><title>Page title</title></head><body>\
         <article class=\"h-entry\">\
         <a class=\"p-author h-card\" href=\"{home}\"><img src=\"{photo}\" alt=\"\">{author}</a>\
         <a class=\"{property}\" href=\"{target}\">this</a>\
         <div class=\"e-content\">{content}</div>\
         <time class=\"dt-published\" datetime=\"2026-12-01T10:00:00Z\">today</time>\
         </article></body></html>"
    )
}

fn html_page(server: &FeedServer, path: &str, body: &str) {
    server.feed(path, body.as_bytes(), "text/html; charset=utf-8");
}

/// The owner's session cookie header.
fn owner(site: &Site) -> String {
    let login = site.submit_login(&site.get("/login", &[]));
    let session = login.cookie("roost_session").expect("logged in");
    format!("roost_session={session}")
}

/// Presses `action` on the notification of mention number `id`.
fn moderate(site: &Site, cookie: &str, id: &str, action: &str) {
    let page = site.get("/notifications", &[("Cookie", cookie)]).text();
    let csrf = common::process::hidden_csrf(&page);
    let done = site.post_form(
        "/notifications",
        &form_encode(&[("csrf", &csrf), ("mention", id), ("action", action)]),
        &[("Cookie", cookie)],
    );
    assert_eq!(done.status, 303, "{done:?}");
}

/// The number the owner's notifications give the mention from `source`
/// (the status URL names a spool ticket, not this number).
fn mention_id(site: &Site, cookie: &str, source: &str) -> String {
    let page = site.get("/notifications", &[("Cookie", cookie)]).text();
    let at = page
        .find(&format!("href=\"{source}\""))
        .unwrap_or_else(|| panic!("no notification from {source}: {page}"));
    let field = "name=\"mention\" value=\"";
    let value = &page[at..][page[at..].find(field).expect("a moderation form") + field.len()..];
    value[..value.find('"').unwrap()].to_string()
}

#[test]
fn the_endpoint_is_advertised_on_pages_and_feeds() {
    let site = apache().loopback_roost_site("wm-advertised", Kind::Cgi);
    let (_, path) = site.post_cli("Mention me");
    let endpoint = site.url("/webmention");
    let link = format!("<{endpoint}>; rel=\"webmention\"");
    for page in ["/", path.as_str(), "/feed.atom", "/feed.rss", "/feed.json"] {
        let answer = site.get(page, &[]);
        assert_eq!(answer.status, 200, "{page}: {answer:?}");
        let links = answer.headers_named("Link").join(", ");
        assert!(links.contains(&link), "{page}: Link: {links}");
    }
    for page in ["/", path.as_str()] {
        let html = site.get(page, &[]).text();
        assert!(
            html.contains(&format!("<link rel=\"webmention\" href=\"{endpoint}\">")),
            "{page}: {html}"
        );
    }
}

#[test]
fn a_reply_is_verified_by_cron_moderated_shown_updated_and_removed() {
    let site = apache().loopback_roost_site("wm-reply", Kind::Cgi);
    let server = FeedServer::start();
    server.png("/face.png");
    let (permalink, path) = site.post_cli("A post to reply to");
    let content = "Nice post!<script>alert(1)</script><img src=x onerror=alert(2)>";
    html_page(
        &server,
        "/reply",
        &entry_page(&server, &permalink, "u-in-reply-to", "Ann Replier", content),
    );
    let source = server.url("/reply");
    let accepted = mention(&site, &source, &permalink);
    assert_eq!(accepted.status, 202, "{accepted:?}");
    assert_eq!(accepted.reason, "Accepted", "{accepted:?}");
    assert!(
        server.requests("/reply").is_empty(),
        "the request fetched nothing"
    );
    assert!(status(&site, &accepted).contains("state: queued"));

    // The owner's page from before cron: its header counts no mention yet.
    let cookie = owner(&site);
    let before = site.get("/", &[("Cookie", &cookie)]);
    assert!(!before.text().contains("new)"), "{}", before.text());
    let etag = before.header("ETag").expect("an ETag").to_string();
    let run = site.cli_ok(&["cron"]);
    assert!(run.contains("1 done"), "{run}");
    let state = status(&site, &accepted);
    assert!(state.contains("waiting for the site owner"), "{state}");
    assert!(state.contains("type: reply"), "{state}");
    // Waiting: not shown to visitors.
    let page = site.get(&path, &[]).text();
    assert!(!page.contains("Nice post!"), "{page}");

    // The owner sees it, with an unread count in the header, and approves.
    let home = site.get("/", &[("Cookie", &cookie), ("If-None-Match", &etag)]);
    assert_eq!(home.status, 200, "the owner's copy from before is stale");
    let home = home.text();
    assert!(home.contains("Notifications (1 new)"), "{home}");
    let notifications = site.get("/notifications", &[("Cookie", &cookie)]).text();
    assert!(notifications.contains("Ann Replier"), "{notifications}");
    assert!(notifications.contains("replied"), "{notifications}");
    for action in [
        "approve-author",
        "block-author",
        "approve-domain",
        "block-domain",
    ] {
        assert!(
            notifications.contains(&format!("value=\"{action}\"")),
            "{notifications}"
        );
    }
    assert!(
        notifications.contains("Block everyone at 127.0.0.1"),
        "{notifications}"
    );
    assert!(!notifications.contains("<script"), "{notifications}");
    let home = site.get("/", &[("Cookie", &cookie)]).text();
    assert!(!home.contains("new)"), "read once seen: {home}");
    // A moderation form without its token changes nothing.
    let forged = site.post_form(
        "/notifications",
        &form_encode(&[
            ("mention", &mention_id(&site, &cookie, &source)),
            ("action", "approve-author"),
        ]),
        &[("Cookie", &cookie)],
    );
    assert_eq!(forged.status, 403, "{forged:?}");
    assert!(!site.get(&path, &[]).text().contains("Nice post!"));
    moderate(
        &site,
        &cookie,
        &mention_id(&site, &cookie, &source),
        "approve-author",
    );

    let page = site.get(&path, &[]).text();
    assert!(page.contains("Nice post!"), "{page}");
    assert!(page.contains("Ann Replier"), "{page}");
    assert!(
        page.contains(&format!("src=\"{}\"", server.url("/face.png"))),
        "the author's photo: {page}"
    );
    assert!(
        !page.contains("<script") && !page.contains("onerror"),
        "{page}"
    );
    assert!(status(&site, &accepted).contains("verified and shown"));

    // Sent again after an edit: verified again and updated; the author is
    // approved now, so it goes straight through.
    let reply_again = |content: &str| {
        let page = entry_page(&server, &permalink, "u-in-reply-to", "Ann Replier", content);
        html_page(&server, "/reply", &page);
        assert_eq!(mention(&site, &source, &permalink).status, 202);
        site.cli_ok(&["cron"]);
    };
    reply_again("Edited reply");
    let page = site.get(&path, &[]).text();
    assert!(
        page.contains("Edited reply") && !page.contains("Nice post!"),
        "{page}"
    );

    // No longer linking: removed.
    html_page(&server, "/reply", "<p>Changed my mind.</p>");
    assert_eq!(mention(&site, &source, &permalink).status, 202);
    site.cli_ok(&["cron"]);
    assert!(!site.get(&path, &[]).text().contains("Edited reply"));
    let state = status(&site, &accepted);
    assert!(
        state.contains("state: removed") && state.contains("does not link"),
        "{state}"
    );

    // Linking again, then 410 Gone: removed again.
    reply_again("Back again");
    assert!(site.get(&path, &[]).text().contains("Back again"));
    server.set(
        "/reply",
        Route::Status {
            status: 410,
            headers: Vec::new(),
        },
    );
    assert_eq!(mention(&site, &source, &permalink).status, 202);
    site.cli_ok(&["cron"]);
    assert!(!site.get(&path, &[]).text().contains("Back again"));
    assert!(status(&site, &accepted).contains("410 Gone"));
}

#[test]
fn likes_and_reposts_show_as_faces_and_moderation_follows_the_setting() {
    let site = apache().loopback_roost_site("wm-faces", Kind::Cgi);
    let server = FeedServer::start();
    server.png("/face.png");
    let (permalink, path) = site.post_cli("Like me");
    site.cli_ok(&["config", "webmention_moderation", "all"]);
    html_page(
        &server,
        "/like",
        &entry_page(&server, &permalink, "u-like-of", "Lia Liker", ""),
    );
    html_page(
        &server,
        "/repost",
        &entry_page(&server, &permalink, "u-repost-of", "Rex Reposter", ""),
    );
    for source in ["/like", "/repost"] {
        assert_eq!(mention(&site, &server.url(source), &permalink).status, 202);
    }
    site.cli_ok(&["cron"]);
    let page = site.get(&path, &[]).text();
    assert!(
        page.contains("1 likes") && page.contains("1 reposts"),
        "{page}"
    );
    assert!(
        page.contains("<img class=\"u-photo\"") && page.contains("alt=\"Lia Liker\""),
        "{page}"
    );

    // Only known authors: a new one is not shown, nor queued.
    site.cli_ok(&["config", "webmention_moderation", "known"]);
    html_page(
        &server,
        "/other",
        &entry_page(&server, &permalink, "u-in-reply-to", "Stranger", "Who am I"),
    );
    let accepted = mention(&site, &server.url("/other"), &permalink);
    site.cli_ok(&["cron"]);
    assert!(!site.get(&path, &[]).text().contains("Who am I"));
    assert!(status(&site, &accepted).contains("verified, not shown"));
    // Blocking the domain hides what was shown from it.
    let cookie = owner(&site);
    let id = mention_id(&site, &cookie, &server.url("/other"));
    moderate(&site, &cookie, &id, "block-domain");
    let page = site.get(&path, &[]).text();
    assert!(
        !page.contains("Lia Liker") && !page.contains("likes"),
        "{page}"
    );
}

#[test]
fn bad_requests_get_400_with_the_reason_in_plain_text() {
    let site = apache().loopback_roost_site("wm-bad", Kind::Cgi);
    let (permalink, _) = site.post_cli("Here");
    let (gone, _) = site.post_cli("Soon gone");
    let id = gone.rsplit('/').next().unwrap().to_string();
    site.cli_ok(&["delete", &id]);
    let source = "http://elsewhere.example/post";
    let (missing, login) = (site.url("/posts/999"), site.url("/login"));
    let long = format!("http://elsewhere.example/{}", "a".repeat(2048));
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("source", source)],
            "source and target are both required",
        ),
        (
            vec![("target", &permalink)],
            "source and target are both required",
        ),
        (
            vec![
                ("source", "ftp://elsewhere.example/x"),
                ("target", &permalink),
            ],
            "not an http or https URL",
        ),
        (
            vec![("source", "/relative"), ("target", &permalink)],
            "not an absolute URL",
        ),
        (
            vec![
                ("source", source),
                ("target", "https://elsewhere.example/posts/1"),
            ],
            "is not on this site",
        ),
        (
            vec![("source", &permalink), ("target", &permalink)],
            "the same address",
        ),
        (
            vec![("source", &long), ("target", &permalink)],
            "longer than 2048 characters",
        ),
        (
            vec![("source", source), ("target", &missing)],
            "that post does not exist",
        ),
        (
            vec![("source", source), ("target", &gone)],
            "that post was deleted",
        ),
        (
            vec![("source", source), ("target", &login)],
            "names no page that takes mentions",
        ),
    ];
    for (fields, why) in cases {
        let answer = site.post_form("/webmention", &form_encode(&fields), &[]);
        assert_eq!(answer.status, 400, "{fields:?}: {answer:?}");
        assert!(
            answer
                .header("Content-Type")
                .unwrap_or("")
                .starts_with("text/plain"),
            "{answer:?}"
        );
        assert!(answer.text().contains(why), "{fields:?}: {}", answer.text());
    }
    let json = site.send(
        "POST",
        "/webmention",
        &[("Content-Type", "application/json")],
        Some(b"{}"),
    );
    assert_eq!(json.status, 400, "{json:?}");
    let get = site.get("/webmention", &[]);
    assert_eq!(
        (get.status, get.header("Allow")),
        (405, Some("POST")),
        "{get:?}"
    );
    assert_eq!(site.get("/webmention/12345", &[]).status, 404);
    // The home page takes mentions too.
    let home = mention(&site, source, &site.base_url());
    assert_eq!(home.status, 202, "{home:?}");
}

/// A flood of 1,000 mentions from one host: 60 taken, the rest refused
/// with `Retry-After`, and nothing else slows: another host's mention is
/// taken, and the one cron run after the flood verifies the 60 and that
/// other mention, not more.
#[test]
fn a_flood_from_one_host_is_held_by_the_rate_limit_and_slows_nothing_else() {
    let site = apache().loopback_roost_site("wm-rate", Kind::Cgi);
    site.cli_ok(&["config", "webmention_moderation", "all"]);
    let server = FeedServer::start();
    let (permalink, path) = site.post_cli("Flooded");
    html_page(
        &server,
        "/calm",
        &entry_page(
            &server,
            &permalink,
            "u-in-reply-to",
            "Calm Person",
            "A calm reply",
        ),
    );
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut refused = None;
    for n in 0..1000 {
        let answer = mention(&site, &format!("http://flood.example/{n}"), &permalink);
        *statuses.entry(answer.status).or_default() += 1;
        if answer.status == 429 {
            refused.get_or_insert(answer);
        }
    }
    assert_eq!(
        statuses,
        [(202, 60), (429, 940)].into_iter().collect(),
        "the rate limit is 60 an hour per source host"
    );
    let refused = refused.unwrap();
    let wait: i64 = refused
        .header("Retry-After")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    assert!(
        refused.text().contains("flood.example"),
        "{}",
        refused.text()
    );
    // Another host is not slowed by the flood.
    let calm = mention(&site, &server.url("/calm"), &permalink);
    assert_eq!(calm.status, 202, "{calm:?}");
    // One cron run takes the 61 messages and verifies every one: the flood's
    // sources do not resolve, the calm one is shown.
    let started = std::time::Instant::now();
    let report = site.cli_ok(&["cron"]);
    assert!(report.contains("Received 61 messages"), "{report}");
    assert!(status(&site, &calm).contains("verified and shown"));
    assert!(site.get(&path, &[]).text().contains("A calm reply"));
    let spool = site.home.join("spool/webmention");
    let waiting = std::fs::read_dir(&spool)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "msg")
        })
        .count();
    assert_eq!(waiting, 0, "the spool is empty after cron");
    eprintln!("cron after the flood: {:?}", started.elapsed());
    // Still limited after cron: the window is an hour, not a cron interval.
    let again = mention(&site, "http://flood.example/again", &permalink);
    assert_eq!(again.status, 429, "{again:?}");
}

/// `POST /webmention` never opens the database: with the database moved
/// away, a mention is still taken (from the facts kept beside the page
/// cache), while a page that needs the database cannot be answered.
#[test]
fn the_endpoint_answers_without_opening_the_database() {
    let site = apache().loopback_roost_site("wm-spool", Kind::Cgi);
    let (permalink, path) = site.post_cli("Spooled");
    let first = mention(&site, "http://a.example/1", &permalink);
    assert_eq!(first.status, 202, "{first:?}");
    assert!(status(&site, &first).contains("state: queued"));
    let (taken, page) = without_database(&site.home, || {
        let taken = mention(&site, "http://b.example/2", &permalink);
        (taken, site.get(&path, &[("Cookie", "roost_session=x")]))
    });
    assert_eq!(taken.status, 202, "{taken:?}");
    assert_ne!(page.status, 200, "the page needed the database: {page:?}");
    // A post deleted after the message was taken: cron refuses it, and the
    // status URL says why.
    let (doomed, doomed_path) = site.post_cli("Doomed");
    let late = mention(&site, "http://c.example/3", &doomed);
    assert_eq!(late.status, 202, "{late:?}");
    let id = doomed_path.rsplit('/').next().unwrap();
    site.cli_ok(&["delete", id]);
    site.cli_ok(&["cron"]);
    let said = status(&site, &late);
    assert!(
        said.contains("state: refused") && said.contains("was deleted"),
        "{said}"
    );
    assert!(!status(&site, &taken).contains("state: queued: received"));
    // A ticket nobody was given is not found.
    assert_eq!(
        site.get("/webmention/0123456789abcdef0123456789abcdef", &[])
            .status,
        404
    );
}

#[test]
fn hostile_sources_are_not_shown_and_say_why() {
    let site = apache().loopback_roost_site("wm-hostile", Kind::Cgi);
    site.cli_ok(&["config", "webmention_moderation", "all"]);
    let server = FeedServer::start();
    let (permalink, path) = site.post_cli("Under attack");
    html_page(
        &server,
        "/nowhere",
        "<html><body><a href=\"https://example.org/\">elsewhere</a><p>mentions nothing</p></body></html>",
    );
    // 50 MB that does link, at its very start: never read past 1 MiB.
    let mut big = format!("<html><body><a href=\"{permalink}\">x</a>").into_bytes();
    big.resize(50 * 1024 * 1024, b' ');
    let big: Arc<[u8]> = big.into();
    let html = ("Content-Type".to_string(), "text/html".to_string());
    server.set(
        "/big",
        Route::Raw {
            headers: vec![html.clone()],
            body: big.clone(),
        },
    );
    server.set(
        "/big-chunked",
        Route::Raw {
            headers: vec![html, ("Transfer-Encoding".into(), "chunked".into())],
            body: big,
        },
    );
    server.set(
        "/loop",
        Route::Redirect {
            status: 302,
            location: server.url("/loop"),
        },
    );
    let cases = [
        ("/nowhere", "does not link to"),
        ("/big", "larger than 1024 KiB"),
        ("/big-chunked", "larger than 1024 KiB"),
        ("/loop", "more than 5 redirects"),
        ("/missing", "the source answered 404"),
    ];
    let accepted: Vec<HttpResponse> = cases
        .iter()
        .map(|(source, _)| mention(&site, &server.url(source), &permalink))
        .collect();
    let run = site.cli_ok(&["cron"]);
    // A stranger's bad source is the stranger's problem: it is no dead
    // letter, and `doctor` does not fail the owner's site for it.
    assert!(
        run.contains("5 done") && run.contains("0 given up"),
        "{run}"
    );
    let doctor = common::run_cli(&site.binary.clone().unwrap(), &site.home, &["doctor"], None);
    let doctor = String::from_utf8_lossy(&doctor.stdout).into_owned();
    assert!(!doctor.contains("webmention"), "{doctor}");
    for ((source, why), accepted) in cases.iter().zip(&accepted) {
        let state = status(&site, accepted);
        assert!(state.contains("state: not verified"), "{source}: {state}");
        assert!(state.contains(why), "{source}: {state}");
    }
    assert!(server.requests("/loop").len() <= 6);
    // A server error is tried again later; the mention waits.
    server.set(
        "/flaky",
        Route::Status {
            status: 503,
            headers: Vec::new(),
        },
    );
    let flaky = mention(&site, &server.url("/flaky"), &permalink);
    let run = site.cli_ok(&["cron"]);
    assert!(run.contains("1 to retry later"), "{run}");
    assert!(status(&site, &flaky).contains("state: queued"));
    // An internal address with the guard on: never connected to.
    site.cli_ok(&["config", "allow_private_addresses", "false"]);
    html_page(
        &server,
        "/internal",
        &format!("<a href=\"{permalink}\">x</a>"),
    );
    let internal = mention(&site, &server.url("/internal"), &permalink);
    assert_eq!(internal.status, 202);
    site.cli_ok(&["cron"]);
    let state = status(&site, &internal);
    assert!(state.contains("internal address"), "{state}");
    assert!(server.requests("/internal").is_empty());
    let page = site.get(&path, &[]).text();
    assert!(page.contains("No replies seen yet"), "{page}");
}

/// Scripts in a reply's HTML never run in a browser: the sanitizer took
/// them out when the mention was verified (the CSP would stop them too).
#[test]
fn scripts_in_a_reply_never_run_in_chromium() {
    let site = apache().loopback_roost_site("wm-chromium", Kind::Cgi);
    site.cli_ok(&["config", "webmention_moderation", "all"]);
    let server = FeedServer::start();
    server.png("/face.png");
    let (permalink, path) = site.post_cli("Try me");
    let hostile = "<p>Safe words</p><script>window.ran='script'</script>\
         <img src=\"/face.png\" onerror=\"window.ran='onerror'\" onload=\"window.ran='onload'\">\
         <a href=\"javascript:window.ran='link'\">click</a>\
         <svg onload=\"window.ran='svg'\"></svg>\
         <iframe srcdoc=\"<script>parent.ran='iframe'</script>\"></iframe>\
         <form action=\"javascript:window.ran='form'\"><button>go</button></form>";
    html_page(
        &server,
        "/hostile",
        &entry_page(
            &server,
            &permalink,
            "u-in-reply-to",
            "<b>Mallory</b>",
            hostile,
        ),
    );
    assert_eq!(
        mention(&site, &server.url("/hostile"), &permalink).status,
        202
    );
    site.cli_ok(&["cron"]);
    let mut browser = common::browser::Browser::launch();
    browser.goto(&site.url(&path));
    assert!(
        browser
            .text("article.mention .e-content")
            .contains("Safe words"),
        "the reply is shown"
    );
    assert_eq!(browser.count("article.mention a[href^='javascript']"), 0);
    assert_eq!(
        browser.count("article.mention iframe, article.mention svg, article.mention form"),
        0
    );
    // Anything that could run has had its chance: the image has loaded.
    browser.eval("new Promise(r => setTimeout(r, 300))");
    assert_eq!(browser.eval_string("String(window.ran)"), "undefined");
    // The author's name is plain text: no markup of theirs in the thread.
    assert_eq!(browser.count("article.mention b"), 0);
}

/// A reply that came both in a followed feed and by Webmention (a friend
/// who is followed and also sends mentions) was shown twice under the post.
#[test]
fn regression_a_reply_seen_in_a_followed_feed_and_by_webmention_shows_once() {
    let site = apache().loopback_roost_site("wm-once", Kind::Cgi);
    site.cli_ok(&["config", "webmention_moderation", "all"]);
    let server = FeedServer::start();
    server.png("/face.png");
    let (permalink, path) = site.post_cli("Reply to me once");
    let feed = server.picture_reply_feed(&permalink, "Said once", &server.url("/face.png"));
    server.feed("/friend/feed", feed.as_bytes(), "application/atom+xml");
    html_page(
        &server,
        "/friend/1",
        &entry_page(&server, &permalink, "u-in-reply-to", "Friend", "Said once"),
    );
    site.cli_ok(&["follow", &server.url("/friend/feed"), "--name", "friend"]);
    assert_eq!(
        mention(&site, &server.url("/friend/1"), &permalink).status,
        202
    );
    site.cli_ok(&["cron"]);
    let page = site.get(&path, &[]).text();
    assert_eq!(page.matches("Said once").count(), 1, "{page}");
}
