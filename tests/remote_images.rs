//! Remote images and the owner's privacy, in a real browser: a followed
//! feed's entry (on `/timeline`, and as a reply on `/posts/ID`) holds an
//! image, and an image enclosure, served by the loopback feed server, whose
//! request log is what the test reads. With `remote_images = click` the
//! browser asks the image's host for nothing until the owner clicks the
//! image's link; with `show` (the default) the images load, lazily and with
//! no Referer.

mod common;

use std::time::{Duration, Instant};

use common::apache::{Kind, Site, apache};
use common::browser::Browser;
use common::feed_server::{FeedServer, Seen};
use common::{expect_success, unique};

/// How long a page is given to fetch what it fetches on its own.
const SETTLE: Duration = Duration::from_millis(1500);

struct Setup {
    site: Site,
    server: FeedServer,
    post_path: String,
}

/// A site that follows a feed whose one entry replies to the owner's post,
/// with a tracking pixel in its content and an image enclosure.
fn setup() -> Setup {
    let site = apache().roost_site(&unique("images"), Kind::Cgi);
    let server = FeedServer::start();
    for (k, v) in [
        ("allow_private_addresses", "true"),
        ("public_timeline", "true"),
    ] {
        expect_success("config", &site.cli(&["config", k, v], None));
    }
    let (post, post_path) = site.post_cli("A post to reply to");
    let feed = server.picture_reply_feed(
        &post,
        &format!(
            "<p>Look: <img src=\"{}\" alt=\"a pixel\"></p>",
            server.url("/pixel.png")
        ),
        &server.url("/enclosure.png"),
    );
    server.feed("/friend/feed.atom", feed.as_bytes(), "application/atom+xml");
    server.png("/pixel.png");
    server.png("/enclosure.png");
    let url = server.url("/friend/feed.atom");
    expect_success("follow", &site.cli(&["follow", &url], None));
    expect_success("poll", &site.cli(&["poll", "--force"], None));
    Setup {
        site,
        server,
        post_path,
    }
}

/// Opens `url`, scrolls to the end (lazy images load near the viewport) and
/// gives the page time to fetch.
fn look(browser: &mut Browser, url: &str) {
    browser.goto(url);
    browser.eval("window.scrollTo(0, document.body.scrollHeight)");
    std::thread::sleep(SETTLE);
}

/// Waits (up to a few seconds) for a request for `path`.
fn wait_for_request(server: &FeedServer, path: &str) -> Seen {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(seen) = server.requests(path).pop() {
            return seen;
        }
        assert!(Instant::now() < deadline, "{path} was never requested");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn remote_images_on_click_fetch_nothing_until_clicked_and_never_send_a_referer() {
    let s = setup();
    let timeline = s.site.url("/timeline");
    let permalink = s.site.url(&s.post_path);

    // `click`: both pages show links; the image host hears nothing.
    expect_success(
        "config",
        &s.site.cli(&["config", "remote_images", "click"], None),
    );
    let mut browser = Browser::launch();
    for url in [&timeline, &permalink] {
        look(&mut browser, url);
        assert_eq!(browser.count("article.followed"), 1, "{url}");
        assert_eq!(browser.count("article.followed img"), 0, "{url}");
        assert_eq!(
            browser.text("article.followed .e-content a"),
            "[image: a pixel]",
            "{url}"
        );
    }
    assert!(s.server.requests("/pixel.png").is_empty());
    assert!(s.server.requests("/enclosure.png").is_empty());
    assert!(browser.take_problems().is_empty());

    // The owner clicks: now, and only now, the image is fetched.
    browser.click_and_wait("article.followed .e-content a");
    let seen = wait_for_request(&s.server, "/pixel.png");
    assert_eq!(seen.headers.get("referer"), None);
    assert_eq!(s.server.requests("/pixel.png").len(), 1);
    assert!(s.server.requests("/enclosure.png").is_empty());
    drop(browser);

    // `show`: the images load (a new browser: nothing cached), lazily and
    // without a Referer.
    expect_success(
        "config",
        &s.site.cli(&["config", "remote_images", "show"], None),
    );
    let mut browser = Browser::launch();
    look(&mut browser, &timeline);
    for (selector, path) in [
        ("article.followed .e-content img", "/pixel.png"),
        ("article.followed .enclosure img", "/enclosure.png"),
    ] {
        assert_eq!(
            browser.attr(selector, "referrerpolicy").as_deref(),
            Some("no-referrer")
        );
        assert_eq!(browser.attr(selector, "loading").as_deref(), Some("lazy"));
        assert_eq!(
            browser.eval(&format!("document.querySelector('{selector}').complete")),
            serde_json::json!(true),
            "{selector}"
        );
        let seen = wait_for_request(&s.server, path);
        assert_eq!(seen.headers.get("referer"), None, "{path}");
    }
    assert_eq!(s.server.requests("/pixel.png").len(), 2);
    assert!(browser.take_problems().is_empty());
}
