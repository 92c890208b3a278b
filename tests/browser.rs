//! A person uses roost: headless Chromium logs in, posts, follows a friend's
//! feed served on loopback, reads the timeline and replies, through the
//! private Apache under CGI, typing into the forms and clicking the buttons,
//! on a site set up by the repository's `install` script.
//!
//! Every page is looked at on a phone and on a desktop: full-page screenshots
//! land in `$CARGO_TARGET_DIR/screenshots/` (else `target/screenshots/`), no
//! page scrolls sideways on the phone (a friend's wide pictures included), no
//! page logs a console error or a Content-Security-Policy violation, and
//! axe-core finds no WCAG 2.1 A or AA violation at either width, but those
//! [`ACCEPTED`] with a reason.

mod common;

use std::path::PathBuf;
use std::time::Instant;

use common::apache::{Site, apache};
use common::browser::{Browser, DESKTOP, PHONE, base64_decode, png_size};
use common::feed_server::FeedServer;
use common::install::{Cron, Installer};
use common::{OWNER_PASSWORD, expect_success, unique};

/// A site as a new owner gets it: the repository's `install` run with
/// `--yes` into a user's `public_html`, reached the mod_userdir way
/// (`http://127.0.0.1:PORT/~NAME/`), so the walk also proves links under a
/// `~user` path. The installer owns the home: keep it alive with the site.
fn install_site() -> (Installer, Site) {
    let inst = Installer::new(apache(), &unique("browser"));
    let data = inst.home.path.join("roost-data");
    let site = inst.home.tilde_site("", &data);
    let out = inst.run_yes(&inst.script(), &site, &[], Cron::Fake);
    expect_success("install", &out);
    (inst, site)
}

/// Where the screenshots go: `screenshots/` in cargo's target directory.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let target = if target.is_absolute() {
        target
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(target)
    };
    target.join("screenshots")
}

/// A friend's Atom feed: three short notes, the newest an hour old, with
/// long addresses like real blogs have (they must wrap on a phone), and
/// pictures far wider than a phone, one of them in a table beside a long
/// preformatted line (they must stay in the column), and an older reply to
/// `first_post`, the owner's first post.
fn friend_feed(server: &FeedServer, first_post: &str) -> (String, Vec<(String, String)>) {
    let picture = server.url("/mara/shelf.svg");
    server.feed(
        "/mara/shelf.svg",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1600\" height=\"900\">\
          <rect width=\"1600\" height=\"900\" fill=\"#7a9\"/></svg>",
        "image/svg+xml",
    );
    let pictures = format!(
        "<p><img src=\"{picture}\" alt=\"The tool shelf at the library\" width=\"1600\" height=\"900\"></p>\
         <table><tr><td><img src=\"{picture}\" alt=\"A drill\" width=\"1200\" height=\"300\"></td></tr>\
         <tr><td><pre>borrowed: drill, sewing-machine, tile-cutter, stud-finder, ladder, jigsaw, sander</pre></td></tr></table>"
    )
    .replace('&', "&amp;")
    .replace('<', "&lt;")
    .replace('>', "&gt;");
    let guide = "https://bikes.example/guides/rear-hub-cone-adjustment-without-special-tools";
    let notes = [
        (
            "2026/11/fixed-the-rear-hub-after-a-winter-of-grinding",
            1,
            format!(
                "Finally fixed the rear hub on my bike. The cone had been overtightened \
                 all winter; it spins like new now. This helped: {guide}"
            ),
        ),
        (
            "2026/11/sourdough-day-four",
            5,
            "Day four of the sourdough starter. It smells like green apples, which the \
             internet says is good. Bread on Saturday if it keeps doubling."
                .to_string(),
        ),
        (
            "2026/11/the-library-lends-tools",
            26,
            "The branch library downtown now lends tools as well as books: drills, a \
             sewing machine, even a tile cutter. Borrowed a stud finder for a week."
                .to_string(),
        ),
        (
            "2026/11/welcome-sam",
            30,
            "Welcome to your own corner, Sam! Following you from my reader now.".to_string(),
        ),
    ];
    let now = chrono::Utc::now();
    let at = |hours: i64| (now - chrono::Duration::hours(hours)).to_rfc3339();
    let home = server.url("/mara/");
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:thr=\"http://purl.org/syndication/thread/1.0\">\n\
         <title>Mara Lindqvist</title><id>{home}</id><updated>{}</updated>\n\
         <link rel=\"alternate\" href=\"{home}\"/><author><name>Mara Lindqvist</name></author>\n",
        at(1)
    );
    let mut entries = Vec::new();
    for (slug, hours, text) in notes {
        let link = server.url(&format!("/mara/{slug}"));
        let html = text.replace(
            guide,
            &format!("&lt;a href=\"{guide}\"&gt;{guide}&lt;/a&gt;"),
        );
        xml.push_str(&format!(
            "<entry><id>{link}</id><title type=\"text\"></title><link rel=\"alternate\" href=\"{link}\"/>\
             <published>{t}</published><updated>{t}</updated>{reply}\
             <content type=\"html\">&lt;p&gt;{html}&lt;/p&gt;{extra}</content></entry>\n",
            t = at(hours),
            extra = if hours == 26 { pictures.as_str() } else { "" },
            reply = if hours == 30 {
                format!("<thr:in-reply-to ref=\"{first_post}\" href=\"{first_post}\"/>")
            } else {
                String::new()
            }
        ));
        entries.push((link, text));
    }
    xml.push_str("</feed>\n");
    server.feed("/mara/feed.atom", xml.as_bytes(), "application/atom+xml");
    (server.url("/mara/feed.atom"), entries)
}

/// WCAG violations axe-core reports that are kept on purpose: (rule id,
/// page name as given to [`Walk::look`], why). Empty: every page passes.
const ACCEPTED: &[(&str, &str, &str)] = &[];

/// The browser, and what it has seen of the walk so far.
struct Walk {
    browser: Browser,
    dir: PathBuf,
    /// Pages looked at so far; numbers the screenshots.
    step: u32,
    /// What axe-core found on the pages so far, one line per page, width and
    /// rule, with the elements: reported together at the end of the walk.
    violations: Vec<String>,
}

impl Walk {
    /// Looks at the page in hand as a person would on a phone and on a
    /// desktop: nothing went wrong in the console, nothing is wider than the
    /// phone, and a full-page screenshot of each. Leaves the phone's screen on.
    fn look(&mut self, name: &str) {
        self.step += 1;
        let url = self.browser.url();
        let problems = self.browser.take_problems();
        assert!(
            problems.is_empty(),
            "{name} ({url}): the console shows problems:\n{}",
            problems.join("\n")
        );
        for viewport in [PHONE, DESKTOP] {
            self.browser.set_viewport(viewport);
            if viewport.mobile {
                self.assert_no_sideways_scroll(name, &url);
            }
            let path = self
                .dir
                .join(format!("{:02}-{name}-{}.png", self.step, viewport.name));
            let png = self.browser.screenshot_full_page(&path);
            for dark in [false, true] {
                self.browser.set_dark(dark);
                for found in self.browser.axe_violations() {
                    if !ACCEPTED
                        .iter()
                        .any(|(id, page, _)| *id == found.id && *page == name)
                    {
                        let (width, scheme) = (viewport.name, if dark { "dark" } else { "light" });
                        self.violations
                            .push(format!("{name} ({url}, {width}, {scheme}): {found}"));
                    }
                }
            }
            self.browser.set_dark(false);
            let (width, height) =
                png_size(&png).unwrap_or_else(|| panic!("{} is not a valid PNG", path.display()));
            assert_eq!(
                width,
                viewport.width * viewport.scale,
                "{}: the screenshot's width",
                path.display()
            );
            assert!(
                height >= viewport.height * viewport.scale,
                "{}: full page, at least a screen high ({height})",
                path.display()
            );
        }
        self.browser.set_viewport(PHONE);
    }

    fn assert_no_sideways_scroll(&mut self, name: &str, url: &str) {
        if let Some(wide) = self.sideways_scroll() {
            panic!("{name} ({url}) scrolls sideways on a phone: {wide}");
        }
    }

    /// Where the page is wider than the screen (the phone's, at phone width):
    /// how wide, and the first elements sticking out.
    fn sideways_scroll(&mut self) -> Option<String> {
        let screen = self.browser.viewport().width;
        // The innermost elements whose box or content reaches past the screen.
        let widths = self.browser.eval(&format!(
            "(() => {{ \
               const over = [...document.querySelectorAll('body *')].filter(el => {{ \
                 const r = el.getBoundingClientRect(); \
                 return r.right > {screen}.5 || r.left + el.scrollWidth > {screen}.5; }}); \
               const culprits = over.filter(el => !over.some(o => o !== el && el.contains(o))); \
               return {{scroll: document.documentElement.scrollWidth, inner: window.innerWidth, \
                 wide: culprits.slice(0, 5).map(el => el.tagName.toLowerCase() \
                   + (el.className ? '.' + el.className : '') + ' ' \
                   + Math.round(el.getBoundingClientRect().left + el.scrollWidth) + 'px')}}; }})()"
        ));
        // Measured against the screen, not innerWidth: a phone zooms out to
        // show a page that is too wide, and innerWidth grows with it.
        let scroll = widths["scroll"].as_u64().expect("a scrollWidth");
        (scroll > u64::from(screen)).then(|| {
            format!(
                "{scroll} > {screen} CSS px (innerWidth {}); too wide: {}",
                widths["inner"], widths["wide"]
            )
        })
    }

    /// The address of the page in hand, without its #fragment.
    fn page(&mut self) -> String {
        let url = self.browser.url();
        url.split('#').next().unwrap_or_default().to_string()
    }

    /// Presses Post under the compose box: back on the front page, the
    /// post `text` comes first.
    fn press_post(&mut self, site: &Site, text: &str) {
        self.click("form.compose button[type=submit]");
        assert_eq!(
            self.page(),
            site.url("/"),
            "posting leads to the front page"
        );
        assert_eq!(
            self.browser.text(".h-feed article.h-entry .e-content"),
            text,
            "the new post is first on the front page"
        );
    }

    fn type_into(&mut self, selector: &str, text: &str) {
        self.browser.type_into(selector, text);
    }

    fn click(&mut self, selector: &str) {
        self.browser.click_and_wait(selector);
    }
}

#[test]
fn a_person_logs_in_posts_follows_a_friend_and_replies_on_phone_and_desktop() {
    let started = Instant::now();
    let friend = FeedServer::start();
    let (_installed, site) = install_site();
    let first_post = site.url("/posts/1");
    let (feed_url, notes) = friend_feed(&friend, &first_post);
    // The friend's feed is on loopback, which polling refuses by default.
    expect_success(
        "roost config allow_private_addresses true",
        &site.cli(&["config", "allow_private_addresses", "true"], None),
    );
    expect_success(
        "roost config name",
        &site.cli(&["config", "name", "Sam Okafor"], None),
    );
    expect_success(
        "roost config bio",
        &site.cli(
            &[
                "config",
                "bio",
                "Notes from a small flat with a big window. Bikes, bread, the library.",
            ],
            None,
        ),
    );

    let dir = screenshot_dir();
    let _ = std::fs::remove_dir_all(&dir);
    let mut walk = Walk {
        browser: Browser::launch(),
        dir,
        step: 0,
        violations: Vec::new(),
    };
    walk.browser.set_viewport(PHONE);

    // Log in.
    walk.browser.goto(&site.url("/login"));
    assert_eq!(walk.browser.text("main h1"), "Log in");
    assert_eq!(
        walk.browser.count("textarea"),
        0,
        "no compose box before logging in"
    );
    walk.look("login");
    walk.type_into("#password", OWNER_PASSWORD);
    walk.click("form.compose button[type=submit]");
    assert_eq!(
        walk.browser.url(),
        site.url("/"),
        "logging in leads to the front page"
    );
    walk.browser.require("header.site form button");
    assert_eq!(walk.browser.text("header.site form button"), "Log out");
    walk.browser.require("form.compose textarea#text");

    // Post.
    let post = "Trying out roost: my own little corner of the web, one binary on \
                cheap hosting. Hello, friends!";
    walk.type_into("#text", post);
    walk.press_post(&site, post);
    // Just posted: the owner reads how long ago, machines read the UTC time.
    assert_eq!(
        walk.browser
            .text(".h-feed article.h-entry time.dt-published"),
        "just now"
    );
    let datetime = walk
        .browser
        .attr(".h-feed article.h-entry time.dt-published", "datetime")
        .unwrap_or_default();
    assert!(datetime.ends_with('Z'), "{datetime}");
    walk.look("home-posted");

    // Follow the friend's feed from the Following page.
    walk.click("nav a[href$='/following']");
    assert_eq!(walk.browser.url(), site.url("/following"));
    assert_eq!(walk.browser.text("main h1"), "Following");
    walk.type_into("#follow-url", &feed_url);
    walk.type_into("#follow-name", "mara");
    walk.click("form.compose button[type=submit]");
    assert_eq!(walk.browser.url(), site.url("/following"));
    assert_eq!(
        walk.browser.count(".notice"),
        0,
        "no refusal: {}",
        walk.browser
            .eval_string("document.querySelector('main').innerText")
    );
    assert_eq!(walk.browser.count("ul.following li"), 1);
    let listed = walk.browser.text("ul.following li a.p-name");
    assert_eq!(
        listed, "mara",
        "the followed feed is listed by its nickname"
    );
    assert_eq!(
        walk.browser.attr("ul.following li a.feed", "href"),
        Some(feed_url.clone())
    );
    walk.look("following");

    // The timeline: the friend's notes beside the owner's post, newest first.
    walk.click("nav a[href$='/timeline']");
    assert_eq!(walk.browser.url(), site.url("/timeline"));
    let followed = walk.browser.eval(
        "[...document.querySelectorAll('article.followed')].map(a => ({\
           text: a.querySelector('.e-content p').innerText.trim(), \
           author: a.querySelector('.p-author').innerText.trim(), \
           link: a.querySelector('a.u-url:not(.p-name)').getAttribute('href')}))",
    );
    let followed = followed.as_array().expect("a list of followed entries");
    assert_eq!(followed.len(), notes.len(), "{followed:?}");
    for ((link, text), seen) in notes.iter().zip(followed) {
        assert_eq!(seen["text"], *text, "newest first: {followed:?}");
        assert_eq!(seen["link"], *link);
        assert_eq!(seen["author"], "Mara Lindqvist");
    }
    assert!(
        walk.browser
            .text(".h-feed article.h-entry:not(.followed) .e-content")
            .contains("Trying out roost"),
        "the owner's post is on the timeline too"
    );
    // The friend's pictures are shown, each inside its entry's column.
    let pictures = walk.browser.eval(
        "[...document.querySelectorAll('article.followed .e-content img')].map(img => { \
           const column = img.closest('article').getBoundingClientRect(); \
           const r = img.getBoundingClientRect(); \
           return {width: r.width, inside: r.left >= column.left - 0.5 && r.right <= column.right + 0.5}; })",
    );
    assert_eq!(pictures.as_array().map(Vec::len), Some(2), "{pictures}");
    assert!(
        pictures
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["inside"] == true && p["width"].as_f64() > Some(0.0)),
        "a picture sticks out of its entry: {pictures}"
    );
    walk.look("timeline");

    // Reply to the friend's newest note with its Reply button.
    let (reply_to, _) = &notes[0];
    walk.click("article.followed a[href*='reply_to=']");
    assert_eq!(
        walk.browser
            .eval_string("document.querySelector('#reply_to').value"),
        *reply_to,
        "the compose box is addressed to the note"
    );
    assert_eq!(
        walk.browser
            .eval("document.querySelector('form.compose details').open"),
        serde_json::json!(true),
        "the reply address is shown, not hidden"
    );
    let reply = "Congratulations on the hub! Mine clicks every time I brake; \
                 I'll try loosening the cone this weekend.";
    walk.type_into("#text", reply);
    walk.look("reply-compose");
    walk.press_post(&site, reply);
    assert_eq!(
        walk.browser
            .attr(".h-feed article.h-entry .reply-to a.u-in-reply-to", "href"),
        Some(reply_to.clone()),
        "the reply links to what it answers"
    );
    walk.look("home-replied");

    // Its permalink page says the same.
    walk.click(".h-feed article.h-entry a.u-url");
    assert!(
        walk.browser.url().starts_with(&site.url("/posts/")),
        "{}",
        walk.browser.url()
    );
    assert_eq!(
        walk.browser.attr("article.h-entry a.u-in-reply-to", "href"),
        Some(reply_to.clone())
    );
    assert_eq!(walk.browser.text(".replies h2"), "Replies");
    walk.look("reply-permalink");

    // Settings: change the bio in the browser; a refused handle is said
    // next to its field, and what was typed stays.
    walk.click("nav a[href$='/settings']");
    assert_eq!(walk.browser.url(), site.url("/settings"));
    assert_eq!(walk.browser.text("main h1"), "Settings");
    walk.look("settings");
    let bio = "Bikes, bread and the library. Now also: a hub that clicks.";
    walk.type_into("#setting-bio", bio);
    walk.type_into("#setting-handle", "sam okafor");
    walk.click("form.compose button[type=submit]");
    assert!(
        walk.browser
            .text("#setting-handle-error")
            .contains("a-z, 0-9 and _"),
        "the refusal is next to the field"
    );
    assert_eq!(
        walk.browser
            .eval_string("document.querySelector('#setting-bio').value"),
        bio,
        "the new bio is kept"
    );
    // The 400 itself is the only problem the console reports.
    let problems = walk.browser.take_problems();
    assert!(
        problems.len() == 1 && problems[0].contains("status of 400"),
        "{problems:?}"
    );
    walk.look("settings-refused");
    walk.type_into("#setting-handle", "sam");
    walk.click("form.compose button[type=submit]");
    assert_eq!(walk.browser.url(), site.url("/settings?saved"));
    assert_eq!(walk.browser.text(".notice"), "Saved.");
    walk.click("header.site a.home");
    assert_eq!(walk.browser.text(".h-card.profile .p-note"), bio);

    // The first post's page shows the friend's reply to it.
    walk.browser.goto(&first_post);
    let (_, welcome) = &notes[3];
    assert_eq!(
        walk.browser.text(".replies article.followed .e-content p"),
        *welcome
    );
    walk.look("post-with-replies");
    walk.browser.goto(&format!("{first_post}/edit"));
    assert_eq!(walk.browser.text("main h1"), "Edit post");
    walk.look("edit");

    // A visitor: logged out, the same pages without the owner's controls.
    walk.click("header.site form button");
    assert_eq!(
        walk.page(),
        site.url("/"),
        "logging out leads to the front page"
    );
    assert_eq!(
        walk.browser.count("textarea"),
        0,
        "no compose box for a visitor"
    );
    walk.look("visitor-home");
    walk.browser.goto(&first_post);
    assert_eq!(walk.browser.count(".replies article.followed"), 1);
    walk.look("visitor-post-with-replies");

    // The header's Subscribe link: a page saying how to follow, with each
    // feed's absolute address to copy and a link for the reader.
    walk.click("header.site nav a[href$='/subscribe']");
    assert_eq!(walk.page(), site.url("/subscribe"));
    assert_eq!(walk.browser.text("main h1"), "Subscribe");
    for (id, file) in [
        ("atom", "feed.atom"),
        ("rss", "feed.rss"),
        ("json", "feed.json"),
    ] {
        let field = format!("input#feed-{id}[readonly]");
        assert_eq!(
            walk.browser
                .eval_string(&format!("document.querySelector('{field}').value")),
            site.url(&format!("/{file}")),
            "{field}"
        );
        assert_eq!(
            walk.browser.attr(&format!("a#open-{id}"), "href"),
            Some(format!("feed:{}", site.url(&format!("/{file}"))))
        );
    }
    walk.look("subscribe");

    walk.browser.goto(&site.url("/no-such-page"));
    assert_eq!(walk.browser.text("main h1"), "404 Not Found");
    // The browser logs the status itself; that is the page working.
    let problems = walk.browser.take_problems();
    assert!(
        problems.iter().all(|p| p.contains("status of 404")),
        "{problems:?}"
    );
    walk.look("not-found");

    // The checks can fail: a line that cannot wrap is seen sticking out,
    assert_eq!(walk.sideways_scroll(), None);
    walk.browser.eval(
        "const pre = document.createElement('pre'); \
         pre.textContent = 'x'.repeat(200); document.querySelector('main').append(pre); 0",
    );
    let wide = walk.sideways_scroll();
    assert!(
        wide.as_deref().is_some_and(|w| w.contains("pre")),
        "an overflow is noticed: {wide:?}"
    );
    // and the console watch would see a violation: an inline style on our page
    // is refused by the CSP, and reported.
    walk.browser.eval(
        "document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">injected</p>'); 0",
    );
    let problems = walk.browser.take_problems();
    assert!(
        problems.iter().any(|p| p.contains("style-src")),
        "a CSP violation is noticed: {problems:?}"
    );
    // and axe-core sees a picture without a text and a field without a name.
    walk.browser.eval(
        "document.querySelector('main').insertAdjacentHTML('beforeend', \
           '<img src=\"data:,\"><input type=\"text\">'); 0",
    );
    let found: Vec<String> = walk
        .browser
        .axe_violations()
        .iter()
        .map(|v| v.to_string())
        .collect();
    for rule in ["image-alt (critical)", "label (critical)"] {
        assert!(
            found.iter().any(|v| v.starts_with(rule)),
            "axe-core notices {rule}: {found:?}"
        );
    }

    assert!(
        walk.violations.is_empty(),
        "axe-core finds WCAG 2.1 A/AA violations (fix them, or accept one in ACCEPTED with a reason):\n{}",
        walk.violations.join("\n")
    );

    let shots = 2 * walk.step;
    drop(walk);
    let took = started.elapsed();
    eprintln!(
        "browser walk: {shots} screenshots and axe-core checks in {} ({took:.1?})",
        screenshot_dir().display()
    );
}

#[test]
fn base64_decodes_rfc4648_vectors() {
    for (text, bytes) in [
        ("", ""),
        ("Zg==", "f"),
        ("Zm8=", "fo"),
        ("Zm9v", "foo"),
        ("Zm9vYmFy", "foobar"),
    ] {
        assert_eq!(base64_decode(text), bytes.as_bytes());
    }
}

/// A page on another origin of the same host (another port: the same
/// *site*, so the browser sends the owner's SameSite=Lax cookie with its
/// POST) that knows the owner's token still cannot post: Chromium's own
/// `Origin` names the other port, and roost refuses it.
#[test]
fn a_form_on_another_origin_cannot_post_even_with_the_owners_token() {
    let (_installed, site) = install_site();
    let mut browser = Browser::launch();
    browser.goto(&site.url("/login"));
    browser.type_into("#password", OWNER_PASSWORD);
    browser.click_and_wait("form.compose button[type=submit]");
    assert_eq!(browser.url(), site.url("/"), "logged in");
    let token = browser
        .attr("form.compose input[name=csrf]", "value")
        .unwrap();

    let other = FeedServer::start();
    let attack = format!(
        "<!doctype html><title>elsewhere</title>\
         <form method=post action=\"{}\">\
         <input name=csrf value=\"{token}\"><input name=text value=\"forged from elsewhere\">\
         <button type=submit>Go</button></form>",
        site.url("/posts")
    );
    other.feed(
        "/attack.html",
        attack.as_bytes(),
        "text/html; charset=utf-8",
    );
    browser.goto(&other.url("/attack.html"));
    browser.click_and_wait("button");
    let page = browser.eval_string("document.body.innerText");
    assert!(page.contains("not from this site"), "{page}");
    let export = expect_success("roost export", &site.cli(&["export"], None));
    assert!(!export.contains("forged from elsewhere"), "{export}");

    // The same form on the site's own pages is taken: the token was good.
    browser.goto(&site.url("/"));
    browser.type_into("#text", "posted from home");
    browser.click_and_wait("form.compose button[type=submit]");
    let export = expect_success("roost export", &site.cli(&["export"], None));
    assert!(export.contains("posted from home"), "{export}");
}

/// Was: opening the login page in a second tab made the first tab's form
/// "expired", and a post sent after the session had ended was lost.
#[test]
fn regression_a_second_login_tab_and_an_ended_session_lose_nothing() {
    let (installed, site) = install_site();
    let mut browser = Browser::launch();
    browser.goto(&site.url("/login"));
    browser.open_in_another_tab(&site.url("/login"));
    // The first tab's form, after the second tab: a wrong password, then
    // the right one from the page shown.
    browser.type_into("#password", "not the password");
    browser.click_and_wait("form.compose button[type=submit]");
    assert_eq!(browser.text(".notice"), "That password is not right.");
    browser.type_into("#password", OWNER_PASSWORD);
    browser.click_and_wait("form.compose button[type=submit]");
    assert_eq!(browser.url(), site.url("/"), "logged in");

    // The owner types; meanwhile the session ends (a new password signs
    // every browser out). Post goes to the login page, then back.
    let typed = "Written slowly over lunch.\nThe second line & <more>.";
    browser.type_into("#text", typed);
    expect_success(
        "roost passwd",
        &site.cli(&["passwd"], Some(&format!("{OWNER_PASSWORD}\n"))),
    );
    browser.click_and_wait("form.compose button[type=submit]");
    assert_eq!(browser.url(), site.url("/login"), "asked to log in");
    browser.type_into("#password", OWNER_PASSWORD);
    browser.click_and_wait("form.compose button[type=submit]");
    assert_eq!(browser.url(), site.url("/"));
    assert_eq!(
        browser.eval_string("document.querySelector('#text').value"),
        typed,
        "the compose box has the text back"
    );
    assert!(
        browser
            .text("form.compose .notice")
            .contains("not posted yet")
    );
    let export = expect_success("roost export", &site.cli(&["export"], None));
    assert!(!export.contains("Written slowly"), "not posted by itself");
    browser.click_and_wait("form.compose button[type=submit]");
    assert_eq!(
        browser.text(".h-feed article.h-entry .e-content"),
        typed,
        "posted once the owner pressed Post"
    );
    assert_eq!(
        browser.eval_string("document.querySelector('#text').value"),
        "",
        "and the draft is gone"
    );

    // Delete asks first, on a page of its own, without script.
    let permalink =
        browser.eval_string("document.querySelector('.h-feed article.h-entry a.u-url').href");
    browser.click_and_wait(".h-feed article.h-entry .meta a[href$='/delete']");
    assert_eq!(browser.text("main h1"), "Delete this post?");
    browser.click_and_wait("main form a");
    assert_eq!(browser.url(), permalink, "Cancel leads back");
    browser.click_and_wait("article.h-entry .meta a[href$='/delete']");
    browser.click_and_wait("main form button[type=submit]");
    assert_eq!(browser.url(), site.url("/"));
    assert_eq!(browser.count(".h-feed article.h-entry"), 0, "deleted");
    browser.goto(&permalink);
    assert_eq!(browser.text("main h1"), "410 Gone");
    assert!(browser.text("main").contains("This post was deleted"));
    // Nothing went wrong but the statuses meant (the wrong password, Gone).
    let problems = browser.take_problems();
    let unexpected: Vec<_> = problems
        .iter()
        .filter(|p| !p.contains("status of 403") && !p.contains("status of 410"))
        .collect();
    assert!(unexpected.is_empty(), "{problems:?}");
    drop(installed);
}
