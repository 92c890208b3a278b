//! Search (issue 16) through the private Apache, the real binary as CGI:
//! the owner finds own posts and followed entries, a visitor only the
//! owner's posts; phrases, prefixes and filters; the snippet marks the
//! words and escapes everything; hostile queries are taken as words; the
//! header carries the box; `roost search` prints the same results.

mod common;

use common::apache::{Kind, Site, apache};
use common::feed_server::FeedServer;

fn owner(site: &Site) -> String {
    let login = site.submit_login(&site.get("/login", &[]));
    let session = login.cookie("roost_session").expect("logged in");
    format!("roost_session={session}")
}

fn search(site: &Site, cookie: Option<&str>, q: &str) -> String {
    let query: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let headers: Vec<(&str, &str)> = cookie.map(|c| vec![("Cookie", c)]).unwrap_or_default();
    let answer = site.get(&format!("/search?q={query}"), &headers);
    assert_eq!(answer.status, 200, "{q}: {answer:?}");
    answer.text()
}

fn results(page: &str) -> usize {
    page.matches("class=\"h-entry search-result\"").count()
}

#[test]
fn the_owner_finds_everything_and_a_visitor_only_the_owners_posts() {
    let site = apache().loopback_roost_site("search", Kind::Cgi);
    let server = FeedServer::start();
    let feed = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Ann's notes</title><id>urn:ann</id>
<link href="{home}"/><updated>2026-11-02T10:00:00Z</updated>
<entry><title>Gardening in winter</title><id>urn:ann:1</id><link href="{home}1"/>
<updated>2026-11-01T10:00:00Z</updated><author><name>Ann Lee</name></author>
<content type="html">&lt;p&gt;Tulip bulbs go in before the frost. &lt;img src="{home}tulip.jpg" alt=""&gt;&lt;/p&gt;</content></entry>
<entry><title>Bread</title><id>urn:ann:2</id><link href="{home}2"/>
<updated>2026-11-02T10:00:00Z</updated><author><name>Ann Lee</name></author>
<content type="html">A sourdough starter needs flour.</content></entry>
</feed>"#,
        home = server.url("/")
    );
    server.feed("/ann.atom", feed.as_bytes(), "application/atom+xml");
    site.cli_ok(&["follow", &server.url("/ann.atom")]);
    site.post_cli("Planting tulip bulbs this weekend, see https://example.org/bulbs");
    site.post_cli("Baking <script>alert(1)</script> bread & butter");
    site.cli_ok(&["cron"]);
    let cookie = owner(&site);

    let page = search(&site, Some(&cookie), "tulip");
    assert_eq!(results(&page), 2, "{page}");
    assert!(
        page.contains("<mark>Tulip</mark>") && page.contains("<mark>tulip</mark>"),
        "{page}"
    );
    assert!(
        page.contains("Ann Lee (Ann"),
        "the entry's author and feed: {page}"
    );
    // A visitor finds only the owner's post.
    let visitor = search(&site, None, "tulip");
    assert_eq!(results(&visitor), 1, "{visitor}");
    assert!(!visitor.contains("Ann Lee"), "{visitor}");

    // Filters, phrases and prefixes.
    for (q, expected) in [
        ("tulip is:mine", 1),
        ("tulip has:photo", 1),
        ("has:link", 1),
        ("\"bulbs go in\"", 1),
        ("\"go bulbs\"", 0),
        ("sourd*", 1),
        ("bread", 2),
        ("bread from:Ann", 1),
        ("from:\"Ann Lee\" bread", 1),
        ("tulip before:2026-11-02", 1),
        ("tulip after:2026-11-02", 1),
        ("nothing-like-this", 0),
    ] {
        let page = search(&site, Some(&cookie), q);
        assert_eq!(results(&page), expected, "{q}: {page}");
    }
    // The snippet is escaped, the query too; FTS syntax is taken as words.
    let page = search(&site, Some(&cookie), "script");
    assert!(
        page.contains("&lt;<mark>script</mark>&gt;alert(1)"),
        "{page}"
    );
    assert!(!page.contains("<script>"), "{page}");
    for hostile in [
        "\"",
        "NEAR(a b",
        "a OR b) AND (",
        "*",
        "col:x",
        "<b>bold</b>",
        "'; DROP TABLE posts; --",
    ] {
        let page = search(&site, Some(&cookie), hostile);
        assert!(!page.contains("<b>bold"), "{hostile}: {page}");
    }
    assert!(
        search(&site, Some(&cookie), "is:weird tulip")
            .contains("Not understood, left out: is:weird")
    );
    // Bad input is a clear 400.
    let long = "a".repeat(501);
    assert_eq!(site.get(&format!("/search?q={long}"), &[]).status, 400);
    assert_eq!(site.get("/search?q=a&page=x", &[]).status, 400);
    // Every page carries the box.
    let home = site.get("/", &[]).text();
    assert!(
        home.contains("role=\"search\"") && home.contains("name=\"q\""),
        "{home}"
    );
    // The command line finds the same.
    let printed = site.cli_ok(&["search", "tulip"]);
    assert!(
        printed.contains("Ann Lee") && printed.contains("Planting tulip"),
        "{printed}"
    );
    let none = site.cli(&["search", "*"], None);
    assert!(!none.status.success());
    // Deleted and unfollowed go from the results.
    site.cli_ok(&["unfollow", &server.url("/ann.atom")]);
    assert_eq!(results(&search(&site, Some(&cookie), "tulip")), 1);
}

#[test]
fn results_come_in_pages_of_twenty() {
    let site = apache().loopback_roost_site("search-pages", Kind::Cgi);
    for n in 0..45 {
        site.post_cli(&format!("Numbered post {n} about kites"));
    }
    let first = search(&site, None, "kites");
    assert_eq!(results(&first), 20);
    assert!(first.contains("rel=\"next\""), "{first}");
    let third = site.get("/search?q=kites&page=2", &[]).text();
    assert_eq!(results(&third), 5, "{third}");
    assert!(!third.contains("rel=\"next\"") && third.contains("Previous results"));
}
