//! Sending Webmentions through the real binary behind the private Apache:
//! the 23 endpoint discovery cases of webmention.rocks rebuilt on a loopback
//! server, sends made by cron (never by the request), retries on 5xx, none
//! on 4xx, the internal-address guard, edits and deletions sent again, and
//! the owner's record of it all on the post's page.

mod common;

use common::apache::{Kind, Site, apache};
use common::feed_server::{FeedServer, Route, Seen};
use common::http::{form_decode, form_encode};
use common::process::hidden_csrf;
use std::sync::Arc;

/// A page at `path` with these headers and HTML.
fn page(server: &FeedServer, path: &str, headers: &[(&str, &str)], html: &str) {
    let mut headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    headers.push(("Content-Type".into(), "text/html; charset=utf-8".into()));
    server.set(
        path,
        Route::Raw {
            headers,
            body: Arc::from(html.as_bytes()),
        },
    );
}

/// An endpoint at `path` answering `status` (with a Location on 201/202).
fn endpoint(server: &FeedServer, path: &str, status: u16) {
    let headers = match status {
        201 | 202 => vec![("Location".to_string(), "/status/1".to_string())],
        _ => Vec::new(),
    };
    server.set(path, Route::Status { status, headers });
}

/// The mentions received: (path, source, target) of every POST.
fn mentions(server: &FeedServer) -> Vec<(String, String, String)> {
    server
        .requests_all()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r: Seen| {
            let form = form_decode(&String::from_utf8_lossy(&r.body));
            let field = |name: &str| {
                form.iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            (r.path.clone(), field("source"), field("target"))
        })
        .collect()
}

fn log_in(site: &Site) -> String {
    let login = site.submit_login(&site.get("/login", &[]));
    assert_eq!(login.status, 303, "{login:?}");
    format!(
        "roost_session={}",
        login.cookie("roost_session").expect("logged in")
    )
}

fn make_all_due(site: &Site) {
    let db = rusqlite::Connection::open(site.home.join("roost.db")).unwrap();
    db.execute(
        "UPDATE jobs SET due_at = 0 WHERE kind = 'webmention.send'",
        [],
    )
    .unwrap();
}

/// The webmention.rocks discovery tests 1 to 23, each a page at /test/N
/// whose right endpoint is under /test/N/ and answers 202; the wrong ones
/// (at /wrong) must never be posted to.
fn discovery_cases(s: &FeedServer) {
    let abs = |p: &str| s.url(p);
    page(
        s,
        "/test/1",
        &[(
            "Link",
            &format!("<{}>; rel=webmention", abs("/test/1/webmention")),
        )],
        "<p>1</p>",
    );
    page(
        s,
        "/test/2",
        &[("Link", "</test/2/webmention>; rel=webmention")],
        "<p>2</p>",
    );
    page(
        s,
        "/test/3",
        &[],
        "<html><head><link rel=\"webmention\" href=\"/test/3/webmention\"></head></html>",
    );
    page(
        s,
        "/test/4",
        &[],
        &format!(
            "<link rel=\"webmention\" href=\"{}\">",
            abs("/test/4/webmention")
        ),
    );
    page(
        s,
        "/test/5",
        &[],
        "<body><a rel=\"webmention\" href=\"/test/5/webmention\">endpoint</a></body>",
    );
    page(
        s,
        "/test/6",
        &[],
        &format!(
            "<a rel=\"webmention\" href=\"{}\">endpoint</a>",
            abs("/test/6/webmention")
        ),
    );
    page(
        s,
        "/test/7",
        &[(
            "LinK",
            &format!("<{}>; REL=\"WebMention\"", abs("/test/7/webmention")),
        )],
        "7",
    );
    page(
        s,
        "/test/8",
        &[(
            "Link",
            &format!("<{}>; rel=\"webmention\"", abs("/test/8/webmention")),
        )],
        "8",
    );
    page(
        s,
        "/test/9",
        &[],
        "<link rel=\"webmention somethingelse\" href=\"/test/9/webmention\">",
    );
    page(
        s,
        "/test/10",
        &[(
            "Link",
            "</test/10/webmention>; rel=\"webmention somethingelse\"",
        )],
        "10",
    );
    page(
        s,
        "/test/11",
        &[("Link", "</test/11/webmention>; rel=\"webmention\"")],
        "<link rel=\"webmention\" href=\"/wrong\"><a rel=\"webmention\" href=\"/wrong\">x</a>",
    );
    page(
        s,
        "/test/12",
        &[],
        "<link rel=\"not-webmention\" href=\"/wrong\"><link rel=\"webmention\" href=\"/test/12/webmention\">",
    );
    page(
        s,
        "/test/13",
        &[],
        "<!-- <link rel=\"webmention\" href=\"/wrong\"> --><link rel=\"webmention\" href=\"/test/13/webmention\">",
    );
    page(
        s,
        "/test/14",
        &[],
        "<code>&lt;a href=\"/wrong\" rel=\"webmention\"&gt;&lt;/a&gt;</code><a rel=\"webmention\" href=\"/test/14/webmention\">x</a>",
    );
    page(s, "/test/15", &[], "<link rel=\"webmention\" href=\"\">");
    page(
        s,
        "/test/16",
        &[],
        "<a rel=\"webmention\" href=\"/test/16/webmention\">x</a><link rel=\"webmention\" href=\"/wrong\">",
    );
    page(
        s,
        "/test/17",
        &[],
        "<link rel=\"webmention\" href=\"/test/17/webmention\"><a rel=\"webmention\" href=\"/wrong\">x</a>",
    );
    page(
        s,
        "/test/18",
        &[
            ("Link", "</wrong>; rel=\"other\""),
            ("Link", "</test/18/webmention>; rel=\"webmention\""),
        ],
        "18",
    );
    page(
        s,
        "/test/19",
        &[(
            "Link",
            "</wrong>; rel=\"other\", </test/19/webmention>; rel=\"webmention\"",
        )],
        "19",
    );
    page(
        s,
        "/test/20",
        &[],
        "<link rel=\"webmention\"><a rel=\"webmention\" href=\"/test/20/webmention\">x</a>",
    );
    page(
        s,
        "/test/21",
        &[],
        "<link rel=\"webmention\" href=\"/test/21/webmention?query=yes\">",
    );
    page(
        s,
        "/test/22",
        &[],
        "<link rel=\"webmention\" href=\"22/webmention\">",
    );
    s.set(
        "/test/23",
        Route::Redirect {
            status: 302,
            location: "/test/23/page/final".into(),
        },
    );
    page(
        s,
        "/test/23/page/final",
        &[],
        "<link rel=\"webmention\" href=\"webmention-endpoint\">",
    );
    for n in 1..=23 {
        let path = match n {
            15 => continue, // the page itself, which answers 200 to anything
            21 => "/test/21/webmention?query=yes".to_string(),
            22 => "/test/webmention/22".to_string(), // set below
            23 => "/test/23/page/webmention-endpoint".to_string(),
            n => format!("/test/{n}/webmention"),
        };
        endpoint(s, &path, 202);
    }
    // 22: "22/webmention" relative to /test/22 is /test/22/webmention.
    endpoint(s, "/test/22/webmention", 202);
    endpoint(s, "/wrong", 202);
}

#[test]
fn the_23_discovery_cases_of_webmention_rocks_each_get_their_mention() {
    let site = apache().loopback_roost_site("wm-rocks", Kind::Cgi);
    let server = FeedServer::start();
    discovery_cases(&server);
    let targets: Vec<String> = (1..=23)
        .map(|n| server.url(&format!("/test/{n}")))
        .collect();
    let (permalink, _) = site.post_cli(&format!("Testing: {}", targets.join(" ")));
    let run = site.cli_ok(&["cron"]);
    assert!(run.contains("23 done"), "{run}");
    let got = mentions(&server);
    for (n, target) in targets.iter().enumerate() {
        let n = n + 1;
        let expected = match n {
            15 => "/test/15".to_string(),
            21 => "/test/21/webmention?query=yes".to_string(),
            23 => "/test/23/page/webmention-endpoint".to_string(),
            n => format!("/test/{n}/webmention"),
        };
        let to_it: Vec<_> = got.iter().filter(|(_, _, t)| t == target).collect();
        assert_eq!(
            to_it,
            [&(expected, permalink.clone(), target.clone())],
            "test {n}: {got:#?}"
        );
    }
    assert_eq!(got.len(), 23, "nothing sent to a wrong endpoint: {got:#?}");
}

#[test]
fn a_post_linking_two_targets_sends_two_mentions_from_cron_and_the_owner_sees_them() {
    let site = apache().loopback_roost_site("wm-two", Kind::Cgi);
    let server = FeedServer::start();
    page(&server, "/a", &[("Link", "</a/wm>; rel=webmention")], "a");
    page(&server, "/b", &[], "<link rel=webmention href=/b/wm>");
    page(&server, "/none", &[], "<p>no endpoint here</p>");
    endpoint(&server, "/a/wm", 202);
    endpoint(&server, "/b/wm", 200);
    let session = log_in(&site);
    let front = site.get("/", &[("Cookie", &session)]).text();
    let text = format!(
        "Two friends: {} and {}, and a page without: {}",
        server.url("/a"),
        server.url("/b"),
        server.url("/none")
    );
    let body = form_encode(&[
        ("csrf", &hidden_csrf(&front)),
        ("text", &text),
        ("reply_to", &server.url("/a")),
    ]);
    let posted = site.post_form("/posts", &body, &[("Cookie", &session)]);
    assert_eq!(posted.status, 303, "{posted:?}");
    let location = posted.header("Location").unwrap();
    let id = location.rsplit("#post-").next().unwrap();
    let path = format!("/posts/{id}");
    let post_url = site.url(&path);
    assert!(
        server.requests_all().is_empty(),
        "the request itself sends nothing"
    );
    let before = site.get(&path, &[("Cookie", &session)]);
    assert!(!before.text().contains("Webmentions sent"));
    let etag = before.header("ETag").expect("an ETag").to_string();
    let run = site.cli_ok(&["cron"]);
    // Three sends, and the reply-to's fetch as the post's parent (threads).
    assert!(run.contains("4 done"), "{run}");
    let got = mentions(&server);
    assert_eq!(
        got,
        [
            ("/a/wm".into(), post_url.clone(), server.url("/a")),
            ("/b/wm".into(), post_url.clone(), server.url("/b")),
        ],
        "the reply-to and the link to /a are one mention"
    );
    let form = server.requests("/a/wm").remove(0);
    assert_eq!(
        form.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );

    // What cron recorded shows at once, though the site did not change.
    let owner = site.get(&path, &[("Cookie", &session), ("If-None-Match", &etag)]);
    assert_eq!(owner.status, 200, "{owner:?}");
    let html = owner.text();
    let section = &html[html
        .find("Webmentions sent")
        .expect("the owner sees the sends")..];
    assert!(
        section.contains(&format!("via {}", server.url("/a/wm"))),
        "{section}"
    );
    assert!(section.contains("accepted (202)"), "{section}");
    assert!(
        section.contains(&server.url("/status/1")),
        "the Location: {section}"
    );
    assert!(section.contains("sent (200)"), "{section}");
    assert!(section.contains("no endpoint"), "{section}");
    let visitor = site.get(&path, &[]).text();
    assert!(
        !visitor.contains("Webmentions sent"),
        "visitors see none of it"
    );
    assert!(!visitor.contains("/a/wm"), "{visitor}");
}

#[test]
fn a_500_and_a_refused_connection_are_retried_and_a_400_given_up_and_recorded() {
    let site = apache().loopback_roost_site("wm-retry", Kind::Cgi);
    let server = FeedServer::start();
    page(
        &server,
        "/flaky",
        &[("Link", "</flaky/wm>; rel=webmention")],
        "",
    );
    page(
        &server,
        "/strict",
        &[("Link", "</strict/wm>; rel=webmention")],
        "",
    );
    // An endpoint where nothing listens (a port just closed).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!(
        "<http://{}/wm>; rel=webmention",
        closed.local_addr().unwrap()
    );
    drop(closed);
    page(&server, "/down", &[("Link", &down)], "");
    endpoint(&server, "/flaky/wm", 500);
    endpoint(&server, "/strict/wm", 400);
    let (_, path) = site.post_cli(&format!(
        "{} {} {}",
        server.url("/flaky"),
        server.url("/strict"),
        server.url("/down")
    ));
    let run = site.cli_ok(&["cron"]);
    assert!(
        run.contains("Jobs: 0 done, 2 to retry later, 1 given up"),
        "{run}"
    );
    assert!(run.contains("webmention.send"), "the 400 given up: {run}");
    assert!(run.contains("answered 400"), "{run}");
    // Not due again for a minute; then the flaky endpoint is up.
    site.cli_ok(&["cron"]);
    assert_eq!(mentions(&server).len(), 2);
    make_all_due(&site);
    endpoint(&server, "/flaky/wm", 202);
    let run = site.cli_ok(&["cron"]);
    assert!(run.contains("Jobs: 1 done, 1 to retry later"), "{run}");
    let got = mentions(&server);
    let paths: Vec<&str> = got.iter().map(|(p, _, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        ["/flaky/wm", "/strict/wm", "/flaky/wm"],
        "the 500 tried again, the 400 never"
    );
    let doctor = site.cli(&["doctor"], None);
    let doctor = String::from_utf8_lossy(&doctor.stdout).into_owned();
    assert!(
        doctor.contains("webmention.send"),
        "a dead letter: {doctor}"
    );
    let session = log_in(&site);
    let html = site.get(&path, &[("Cookie", &session)]).text();
    assert!(
        html.contains("refused: the endpoint answered 400"),
        "{html}"
    );
    assert!(html.contains("will try again: "), "the closed port: {html}");
}

#[test]
fn never_sends_to_an_internal_address_with_the_guard_on() {
    let site = apache().loopback_roost_site("wm-guard", Kind::Cgi);
    site.cli_ok(&["config", "allow_private_addresses", "false"]);
    let server = FeedServer::start();
    page(&server, "/p", &[("Link", "</p/wm>; rel=webmention")], "");
    endpoint(&server, "/p/wm", 202);
    let (_, path) = site.post_cli(&format!("Inside: {}", server.url("/p")));
    let run = site.cli_ok(&["cron"]);
    assert!(run.contains("internal address"), "{run}");
    assert!(
        server.requests_all().is_empty(),
        "no connection to the internal address"
    );
    let session = log_in(&site);
    let html = site.get(&path, &[("Cookie", &session)]).text();
    let section = &html[html.find("Webmentions sent").expect("the owner sees it")..];
    assert!(section.contains("not sent: "), "{section}");
    assert!(section.contains("an internal address"), "{section}");
}

#[test]
fn an_edit_sends_to_old_and_new_targets_and_a_delete_to_every_target_again() {
    let site = apache().loopback_roost_site("wm-delete", Kind::Cgi);
    let server = FeedServer::start();
    for p in ["/old", "/new"] {
        page(
            &server,
            p,
            &[("Link", &format!("<{p}/wm>; rel=webmention"))],
            "",
        );
        endpoint(&server, &format!("{p}/wm"), 202);
    }
    let (permalink, path) = site.post_cli(&format!("First {}", server.url("/old")));
    let id = path.rsplit('/').next().unwrap().to_string();
    site.cli_ok(&["cron"]);
    assert_eq!(mentions(&server).len(), 1);
    site.cli_ok(&["edit", &id, &format!("Now {}", server.url("/new"))]);
    site.cli_ok(&["cron"]);
    let got = mentions(&server);
    let mut paths: Vec<&str> = got[1..].iter().map(|(p, _, _)| p.as_str()).collect();
    paths.sort();
    assert_eq!(
        paths,
        ["/new/wm", "/old/wm"],
        "the dropped link is told too"
    );
    site.cli_ok(&["delete", &id]);
    assert_eq!(site.get(&path, &[]).status, 410);
    site.cli_ok(&["cron"]);
    let got = mentions(&server);
    let mut paths: Vec<&str> = got[3..].iter().map(|(p, _, _)| p.as_str()).collect();
    paths.sort();
    assert_eq!(paths, ["/new/wm", "/old/wm"], "every target ever sent to");
    assert!(got.iter().all(|(_, source, _)| *source == permalink));
}

#[test]
fn hostile_targets_cost_bounded_work_and_are_recorded_not_retried() {
    let site = apache().loopback_roost_site("wm-hostile", Kind::Cgi);
    let server = FeedServer::start();
    server.set(
        "/loop",
        Route::Redirect {
            status: 302,
            location: "/loop".into(),
        },
    );
    server.set(
        "/to-ftp",
        Route::Redirect {
            status: 301,
            location: "ftp://example.org/".into(),
        },
    );
    // 3 MiB of page; the endpoint in the head is found, one past the first
    // MiB (what discovery reads) is not.
    let filler = "<p>filler</p>".repeat(3 * 1024 * 1024 / 13);
    page(
        &server,
        "/big-head",
        &[],
        &format!("<link rel=webmention href=/big-head/wm>{filler}"),
    );
    page(
        &server,
        "/big-tail",
        &[],
        &format!("{filler}<link rel=webmention href=/big-tail/wm>"),
    );
    endpoint(&server, "/big-head/wm", 202);
    endpoint(&server, "/big-tail/wm", 202);
    let (_, path) = site.post_cli(&format!(
        "{} {} {} {} {}",
        server.url("/to-ftp"),
        server.url("/loop"),
        server.url("/big-head"),
        server.url("/big-tail"),
        server.url("/gone"),
    ));
    let run = site.cli_ok(&["cron"]);
    assert!(run.contains("Jobs: 5 done, 0 to retry later"), "{run}");
    let loops = server.requests("/loop").len();
    assert_eq!(loops, 6, "the first request and 5 redirects followed");
    let got = mentions(&server);
    let paths: Vec<&str> = got.iter().map(|(p, _, _)| p.as_str()).collect();
    assert_eq!(paths, ["/big-head/wm"]);
    let session = log_in(&site);
    let html = site.get(&path, &[("Cookie", &session)]).text();
    assert!(
        html.contains("not sent: the target redirects more than 5 times"),
        "{html}"
    );
    assert!(html.contains("not sent: the target answered 404"), "{html}");
    assert!(html.contains("no endpoint"), "{html}");
    assert!(html.contains("is not an http or https URL"), "{html}");
}

#[test]
fn links_to_this_site_or_with_a_password_are_not_sent() {
    let site = apache().loopback_roost_site("wm-refusals", Kind::Cgi);
    let server = FeedServer::start();
    page(&server, "/p", &[("Link", "</p/wm>; rel=webmention")], "");
    endpoint(&server, "/p/wm", 202);
    let (own, _) = site.post_cli("Mine");
    let with_password = server.url("/p").replace("http://", "http://me:secret@");
    site.post_cli(&format!("{own} {with_password} ftp://example.org/ http://"));
    let run = site.cli_ok(&["cron"]);
    assert!(
        run.contains("Jobs: 0 done, 0 to retry later, 0 given up"),
        "{run}"
    );
    assert!(server.requests_all().is_empty());
}
