//! Threads behind the private Apache, through the real binary as CGI: a
//! post's page shows its conversation (the parent, the post, then the
//! replies from every source merged oldest first, likes as faces); a remote
//! parent is fetched once by cron (never by a request) and shown with its
//! author, photo and excerpt, the page's validators moving with it; a
//! parent that cannot be read leaves the bare link; a followed entry is a
//! parent without any fetch; and the timeline's Reply link opens the
//! compose box with the parent shown above it.

mod common;

use common::apache::{Kind, Site, apache};
use common::feed_server::FeedServer;
use common::http::form_encode;

/// A page with an h-entry by `author` (photo `photo`), saying `content`
/// (HTML) on `published`, and, if given, a `property` (`u-in-reply-to`,
/// `u-like-of`) naming `target`.
fn h_entry(
    author: &str,
    photo: &str,
    content: &str,
    published: &str,
    link: Option<(&str, &str)>,
) -> String {
    let link = link.map_or(String::new(), |(property, target)| {
        format!("<a class=\"{property}\" href=\"{target}\">re</a>")
    });
    format!(
        "<!doctype html><html><head><title>Title of the page</title></head><body>\
         <article class=\"h-entry\">\
         <a class=\"p-author h-card\" href=\"/people/{author}\"><img src=\"{photo}\" alt=\"\">{author}</a>\
         {link}<div class=\"e-content\">{content}</div>\
         <time class=\"dt-published\" datetime=\"{published}\">then</time>\
         </article></body></html>"
    )
}

fn page(server: &FeedServer, path: &str, html: &str) {
    server.feed(path, html.as_bytes(), "text/html; charset=utf-8");
}

/// The post number at the end of a permalink.
fn post_id(permalink: &str) -> &str {
    permalink.rsplit('/').next().unwrap()
}

/// Where `needle` is in `haystack` (it must be there).
fn at(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not on the page:\n{haystack}"))
}

fn etag(site: &Site, path: &str) -> String {
    let answer = site.get(path, &[]);
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.header("ETag").expect("an ETag").to_string()
}

#[test]
fn a_posts_page_merges_replies_from_every_source_oldest_first() {
    let site = apache().loopback_roost_site("threads-merge", Kind::Cgi);
    site.cli_ok(&["config", "webmention_moderation", "all"]);
    let server = FeedServer::start();
    server.png("/face.png");
    let face = server.url("/face.png");
    let (permalink, path) = site.post_cli("Where do threads start?");
    let export: serde_json::Value = serde_json::from_str(&site.cli_ok(&["export"])).unwrap();
    let uid = export["posts"][0]["uid"].as_str().unwrap().to_string();
    assert!(uid.starts_with("tag:"), "{uid}");

    // A followed feed answers twice: by the permalink (2020) and by the
    // post's tag: id only (2022).
    let feed = format!(
        "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\" \
         xmlns:thr=\"http://purl.org/syndication/thread/1.0\">\
         <title>Friend</title><id>urn:friend</id><link href=\"{home}\"/>\
         <entry><id>urn:friend:1</id><published>2020-01-01T00:00:00Z</published>\
         <link href=\"{home}1\"/><thr:in-reply-to ref=\"{permalink}\" href=\"{permalink}\"/>\
         <content type=\"text\">Followed reply of 2020</content></entry>\
         <entry><id>urn:friend:2</id><published>2022-01-01T00:00:00Z</published>\
         <link href=\"{home}2\"/><thr:in-reply-to ref=\"{uid}\"/>\
         <content type=\"text\">Followed reply of 2022 by tag id</content></entry></feed>",
        home = server.url("/friend/")
    );
    server.feed("/friend/feed", feed.as_bytes(), "application/atom+xml");
    // A Webmention reply of 2021 and a like.
    let reply_page = h_entry(
        "Wendy",
        &face,
        "<p>Webmention reply of 2021</p>",
        "2021-01-01T00:00:00Z",
        Some(("u-in-reply-to", &permalink)),
    );
    page(&server, "/wm/reply", &reply_page);
    let like_page = h_entry(
        "Liker",
        &face,
        "",
        "2021-06-01T00:00:00Z",
        Some(("u-like-of", &permalink)),
    );
    page(&server, "/wm/like", &like_page);

    let before = site.get(&path, &[]);
    assert!(
        before.text().contains("No replies seen yet."),
        "{}",
        before.text()
    );
    let etag_before = before.header("ETag").unwrap().to_string();

    site.cli_ok(&["post", "--reply-to", &permalink, "Own reply, today"]);
    site.cli_ok(&["follow", &server.url("/friend/feed"), "--name", "friend"]);
    for source in ["/wm/reply", "/wm/like"] {
        let sent = site.post_form(
            "/webmention",
            &form_encode(&[("source", &server.url(source)), ("target", &permalink)]),
            &[],
        );
        assert_eq!(sent.status, 202, "{sent:?}");
    }
    let run = site.cli_ok(&["cron"]);
    assert!(run.contains("0 given up"), "{run}");

    // The visitor's page (kept in the page cache before) shows them all.
    let answer = site.get(&path, &[]);
    let html = answer.text();
    let order = [
        "Where do threads start?",
        "Followed reply of 2020",
        "Webmention reply of 2021",
        "Followed reply of 2022 by tag id",
        "Own reply, today",
    ]
    .map(|text| at(&html, text));
    assert!(
        order.is_sorted(),
        "oldest first, whatever the source: {order:?}\n{html}"
    );
    assert!(html.contains("1 likes"), "the like is a face: {html}");
    assert_eq!(html.matches("u-like h-cite").count(), 1, "{html}");
    assert!(!html.contains("No replies seen yet."), "{html}");
    // Each reply is shown once.
    assert_eq!(
        html.matches("Webmention reply of 2021").count(),
        1,
        "{html}"
    );

    let etag_after = answer.header("ETag").unwrap().to_string();
    assert_ne!(etag_before, etag_after, "the thread changed the validator");
    let stale = site.get(&path, &[("If-None-Match", &etag_before)]);
    assert_eq!(stale.status, 200, "an old copy is not current");
    let current = site.get(&path, &[("If-None-Match", &etag_after)]);
    assert_eq!(current.status, 304, "{current:?}");
}

#[test]
fn a_remote_parent_is_fetched_once_by_cron_and_shown_above_the_reply() {
    let site = apache().loopback_roost_site("threads-parent", Kind::Cgi);
    let server = FeedServer::start();
    server.png("/ann.png");
    let photo = server.url("/ann.png");
    let parent = server.url("/notes/1");
    page(
        &server,
        "/notes/1",
        &h_entry(
            "Ann",
            &photo,
            "<p>Is anyone <b>there</b>?</p><script>alert(1)</script>",
            "2026-11-30T09:00:00Z",
            None,
        ),
    );
    let permalink = site.cli_ok(&["post", "--reply-to", &parent, "Here I am"]);
    let permalink = permalink.trim();
    let path = format!("/posts/{}", post_id(permalink));

    // Until cron has run, the page shows the address as before, and no
    // request fetched anything.
    let html = site.get(&path, &[]).text();
    assert!(
        html.contains(&format!("<a class=\"u-in-reply-to\" href=\"{parent}\"")),
        "{html}"
    );
    assert!(!html.contains("class=\"parent\""), "{html}");
    assert!(
        server.requests("/notes/1").is_empty(),
        "fetched from a request"
    );
    let etag_before = etag(&site, &path);

    // One cron run: the Webmention's discovery and the parent's fetch.
    let run = site.cli_ok(&["cron"]);
    assert!(run.contains("Jobs: 2 done"), "{run}");
    assert_eq!(server.requests("/notes/1").len(), 2);

    let answer = site.get(&path, &[]);
    let html = answer.text();
    let parent_at = at(&html, "<aside class=\"parent\"");
    assert!(
        parent_at < at(&html, "<p>Here I am</p>"),
        "the parent comes first"
    );
    assert!(html.contains("Is anyone there?"), "{html}");
    assert!(!html.contains("alert(1)"), "{html}");
    assert!(
        html.contains(&format!(
            "<a class=\"author\" href=\"{}\"",
            server.url("/people/Ann")
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "<img class=\"photo\" src=\"{photo}\" alt=\"\" width=\"32\" height=\"32\" \
             referrerpolicy=\"no-referrer\" loading=\"lazy\" decoding=\"async\">"
        )),
        "{html}"
    );
    assert!(html.contains("datetime=\"2026-11-30T09:00:00Z\""), "{html}");
    // The reply still names its parent's address for microformats
    // readers, in its first link there (django-wm reads only that one).
    let first_link = at(&html, &format!("href=\"{parent}\""));
    assert_eq!(
        first_link,
        at(&html, "<a class=\"u-in-reply-to\"") + "<a class=\"u-in-reply-to\" ".len(),
        "{html}"
    );
    assert_eq!(html.matches("u-in-reply-to").count(), 1, "{html}");
    assert!(
        html.contains("rel=\"nofollow\">this post of <time datetime=\"2026-11-30T09:00:00Z\""),
        "{html}"
    );
    let etag_after = answer.header("ETag").unwrap().to_string();
    assert_ne!(etag_before, etag_after, "the parent changed the validator");
    assert_eq!(
        site.get(&path, &[("If-None-Match", &etag_before)]).status,
        200
    );
    assert_eq!(
        site.get(&path, &[("If-None-Match", &etag_after)]).status,
        304
    );

    // An edit sends the Webmention again, but the parent is not fetched again.
    site.cli_ok(&["edit", post_id(permalink), "Here I am, edited"]);
    let run = site.cli_ok(&["cron"]);
    assert!(run.contains("Jobs: 1 done"), "{run}");
    assert_eq!(server.requests("/notes/1").len(), 3);
    assert!(site.get(&path, &[]).text().contains("Is anyone there?"));

    // With remote images off until clicked, the photo is not shown.
    site.cli_ok(&["config", "remote_images", "click"]);
    let html = site.get(&path, &[]).text();
    assert!(html.contains("Is anyone there?"), "{html}");
    assert!(!html.contains(&photo), "{html}");
}

#[test]
fn a_parent_that_cannot_be_read_leaves_the_link_as_before() {
    let site = apache().loopback_roost_site("threads-gone", Kind::Cgi);
    let server = FeedServer::start();
    let missing = server.url("/missing");
    let permalink = site.cli_ok(&["post", "--reply-to", &missing, "To a missing page"]);
    let path = format!("/posts/{}", post_id(permalink.trim()));
    let run = site.cli_ok(&["cron"]);
    assert!(
        run.contains("0 given up"),
        "a stranger's 404 is no dead letter: {run}"
    );
    assert!(!server.requests("/missing").is_empty());
    let html = site.get(&path, &[]).text();
    assert!(!html.contains("class=\"parent\""), "{html}");
    assert!(
        html.contains(&format!(
            "<a class=\"u-in-reply-to\" href=\"{missing}\" rel=\"nofollow\">{missing}</a>"
        )),
        "{html}"
    );
}

#[test]
fn a_followed_parent_is_shown_without_a_fetch_and_the_reply_box_shows_it() {
    let site = apache().loopback_roost_site("threads-followed", Kind::Cgi);
    let server = FeedServer::start();
    let entry = server.url("/friend/7");
    let feed = format!(
        "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">\
         <title>Friend</title><id>urn:friend</id><link href=\"{home}\"/>\
         <entry><id>urn:friend:7</id><published>2026-11-01T00:00:00Z</published>\
         <author><name>Frida Friend</name></author><link href=\"{entry}\"/>\
         <content type=\"html\">&lt;p&gt;Bread rises &amp;amp; falls&lt;/p&gt;</content></entry></feed>",
        home = server.url("/friend/")
    );
    server.feed("/friend/feed", feed.as_bytes(), "application/atom+xml");
    site.cli_ok(&["follow", &server.url("/friend/feed")]);

    // The owner presses Reply on the timeline: the compose box is
    // addressed to the entry, and shows it above the text.
    let login = site.submit_login(&site.get("/login", &[]));
    let cookie = format!(
        "roost_session={}",
        login.cookie("roost_session").expect("logged in")
    );
    let timeline = site.get("/timeline", &[("Cookie", &cookie)]).text();
    let href_at = at(&timeline, "?reply_to=");
    let start = timeline[..href_at].rfind("href=\"").unwrap() + "href=\"".len();
    let end = href_at + timeline[href_at..].find('"').unwrap();
    let reply_link = timeline[start..end].replace("&amp;", "&");
    let reply_path = reply_link
        .strip_prefix(&site.path(""))
        .unwrap_or_else(|| panic!("{reply_link} is not on the site"));
    let compose = site.get(reply_path, &[("Cookie", &cookie)]);
    assert_eq!(compose.status, 200, "{compose:?}");
    let html = compose.text();
    let shown = at(&html, "<div class=\"replying-to\">");
    assert!(
        shown < at(&html, "<textarea"),
        "the parent is above the text"
    );
    assert!(
        html.contains(&format!(
            "Replying to <a href=\"{entry}\" rel=\"noopener noreferrer\">Frida Friend</a>: \
             <q class=\"excerpt\">Bread rises &amp; falls</q>"
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!("value=\"{entry}\"")),
        "reply-to set: {html}"
    );
    // A refused reply (no text) keeps the parent shown with the form.
    let refused = site.post_form(
        "/posts",
        &form_encode(&[
            ("csrf", &common::process::hidden_csrf(&html)),
            ("text", " "),
            ("reply_to", &entry),
        ]),
        &[("Cookie", &cookie)],
    );
    assert_eq!(refused.status, 400, "{refused:?}");
    assert!(
        refused
            .text()
            .contains("<q class=\"excerpt\">Bread rises &amp; falls</q>"),
        "{}",
        refused.text()
    );

    // Posted: its page shows the entry as its parent, and cron fetched
    // nothing but the Webmention's discovery.
    let permalink = site.cli_ok(&["post", "--reply-to", &entry, "It does"]);
    let run = site.cli_ok(&["cron"]);
    assert!(run.contains("Jobs: 1 done"), "only the Webmention: {run}");
    assert_eq!(server.requests("/friend/7").len(), 1);
    let html = site
        .get(&format!("/posts/{}", post_id(permalink.trim())), &[])
        .text();
    let parent_at = at(&html, "<aside class=\"parent\"");
    assert!(parent_at < at(&html, "Bread rises &amp; falls"), "{html}");
    assert!(html.contains("Frida Friend"), "{html}");
}

/// Waits (up to a few seconds) for a request for `path` on `server`.
fn wait_for_request(server: &FeedServer, path: &str) -> common::feed_server::Seen {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if let Some(seen) = server.requests(path).pop() {
            return seen;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{path} was never requested"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn in_chromium_the_parent_sits_above_the_reply_within_its_column_and_its_photo_sends_no_referer() {
    use common::browser::{Browser, PHONE};
    let site = apache().loopback_roost_site("threads-chromium", Kind::Cgi);
    let server = FeedServer::start();
    server.png("/ann.png");
    let long_word = "Supercalifragilistic".repeat(8);
    page(
        &server,
        "/notes/1",
        &h_entry(
            "Ann",
            &server.url("/ann.png"),
            &format!("<p>{long_word} and a question?</p>"),
            "2026-11-30T09:00:00Z",
            None,
        ),
    );
    let permalink = site.cli_ok(&["post", "--reply-to", &server.url("/notes/1"), "Here I am"]);
    site.cli_ok(&["cron"]);

    let mut browser = Browser::launch();
    browser.set_viewport(PHONE);
    browser.goto(permalink.trim());
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let boxes = browser.eval(
        "(() => { const r = s => document.querySelector(s).getBoundingClientRect(); \
           const [article, parent, content, photo] = \
             ['article.h-entry', 'aside.parent', 'article.h-entry > .e-content', 'aside.parent img'].map(r); \
           return {above: parent.bottom <= content.top, \
                   inside: [parent, photo].every(b => b.left >= article.left - 0.5 && b.right <= article.right + 0.5), \
                   page_fits: document.documentElement.scrollWidth <= window.innerWidth, \
                   photo: [photo.width, photo.height]}; })()",
    );
    assert_eq!(boxes["above"], true, "{boxes}");
    assert_eq!(boxes["inside"], true, "{boxes}");
    assert_eq!(
        boxes["page_fits"], true,
        "a long word widens the page: {boxes}"
    );
    assert_eq!(boxes["photo"], serde_json::json!([32, 32]), "{boxes}");
    let seen = wait_for_request(&server, "/ann.png");
    assert_eq!(seen.header("referer"), None);
    for dark in [false, true] {
        browser.set_dark(dark);
        let violations = browser.axe_violations();
        assert!(violations.is_empty(), "dark {dark}: {violations:#?}");
    }
    assert!(browser.take_problems().is_empty());
}
