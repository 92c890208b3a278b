//! Static publishing (`roost config publish_dir`): the feeds and the first
//! page of `/` written into the site's directory after every change, and
//! served by Apache itself through sample.htaccess's rules, without roost.

mod common;

use common::apache::{Kind, Site, apache};
use common::http::HttpResponse;
use common::{expect_success, unique};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const FEEDS: [(&str, &str); 3] = [
    ("feed.atom", "application/atom+xml"),
    ("feed.json", "application/feed+json"),
    ("feed.rss", "application/rss+xml"),
];

/// A fresh roost site whose directory the CGI user may write, publishing into it.
fn publishing_site(name: &str, kind: Kind) -> Site {
    let site = apache().roost_site(name, kind);
    common::chown_to_cgi_user(&site.dir);
    let dir = site.dir.to_str().unwrap().to_string();
    let out = expect_success("config", &site.cli(&["config", "publish_dir", &dir], None));
    assert!(out.contains(&dir), "{out}");
    site
}

fn post(site: &Site, text: &str) {
    expect_success("post", &site.cli(&["post", text], None));
}

fn describe(r: &HttpResponse) -> String {
    format!(
        "{} {}\n{:?}\n{}\n--- error log ---\n{}",
        r.status,
        r.reason,
        r.headers,
        r.text(),
        apache().error_log()
    )
}

/// Moves the data directory away for the duration of `f`: whatever still
/// answers 200 with the site's content was not produced by roost.
fn without_roost<T>(site: &Site, f: impl FnOnce() -> T) -> T {
    let away = PathBuf::from(format!("{}.away", site.home.display()));
    std::fs::rename(&site.home, &away).unwrap();
    let dynamic = site.get("/login", &[]);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::fs::rename(&away, &site.home).unwrap();
    assert_ne!(
        dynamic.status, 200,
        "roost itself must fail without its data"
    );
    result.unwrap_or_else(|e| std::panic::resume_unwind(e))
}

#[test]
fn feeds_and_the_front_page_are_served_by_apache_and_follow_every_post() {
    let site = publishing_site("pub-cgi", Kind::Cgi);
    let first = unique("first static post");
    post(&site, &first);
    for (file, _) in FEEDS.iter().chain(&[("roost-home.html", "")]) {
        let meta = std::fs::metadata(site.dir.join(file)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o644, "{file}");
    }

    let (etag, home_etag) = without_roost(&site, || {
        for (file, mime) in FEEDS {
            let r = site.get(&format!("/{file}"), &[]);
            assert_eq!(r.status, 200, "{file}: {}", describe(&r));
            assert_eq!(r.mime().as_deref(), Some(mime), "{file}");
            assert!(r.text().contains(&first), "{file}: {}", r.text());
            assert_eq!(
                r.header("Cache-Control"),
                Some("public, max-age=60"),
                "{file}"
            );
            assert_eq!(r.header("X-Content-Type-Options"), Some("nosniff"));
        }
        let home = site.get("/", &[]);
        assert_eq!(home.status, 200, "{}", describe(&home));
        assert_eq!(home.mime().as_deref(), Some("text/html"));
        assert!(home.text().contains(&first));
        assert_eq!(home.header("Cache-Control"), Some("no-cache"));
        assert!(home.header("Vary").unwrap_or("").contains("Cookie"));
        // Apache gives a file changed within the last second a weak ETag
        // (it might change again unseen); readers see the strong one after.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let atom = site.get("/feed.atom", &[]);
        let etag = atom.header("ETag").expect("Apache's ETag").to_string();
        assert!(!etag.starts_with("W/"), "{etag}");
        let again = site.get("/feed.atom", &[("If-None-Match", &etag)]);
        assert_eq!(again.status, 304, "{}", describe(&again));
        (etag, home.header("ETag").unwrap().to_string())
    });

    // A write that changes nothing published leaves the files, and so the
    // validators feed readers hold, alone.
    expect_success(
        "config",
        &site.cli(&["config", "public_timeline", "true"], None),
    );
    let unchanged = site.get("/feed.atom", &[("If-None-Match", &etag)]);
    assert_eq!(unchanged.status, 304, "{}", describe(&unchanged));

    let second = unique("second static post");
    post(&site, &second);
    without_roost(&site, || {
        let atom = site.get("/feed.atom", &[("If-None-Match", &etag)]);
        assert_eq!(atom.status, 200, "{}", describe(&atom));
        assert!(atom.text().contains(&second));
        let home = site.get("/", &[("If-None-Match", &home_etag)]);
        assert_eq!(home.status, 200);
        assert!(home.text().contains(&second) && home.text().contains(&first));
    });
}

#[test]
fn the_published_page_is_what_roost_answers_a_visitor() {
    let site = publishing_site("pub-same", Kind::Cgi);
    post(&site, &unique("same page"));
    let published = std::fs::read(site.dir.join("roost-home.html")).unwrap();
    // A cookie that is not a valid session takes the request past the
    // published file to roost, which answers it as a visitor's.
    let live = site.get("/", &[("Cookie", "roost_session=expired")]);
    assert!(live.header("Set-Cookie").is_none());
    assert_eq!(live.status, 200, "{}", describe(&live));
    assert_eq!(
        String::from_utf8_lossy(&published),
        live.text(),
        "links under the mount, same markup"
    );
    let static_home = site.get("/", &[]);
    for header in [
        "Content-Security-Policy",
        "X-Frame-Options",
        "Referrer-Policy",
    ] {
        assert_eq!(
            static_home.header(header),
            live.header(header),
            "{header}: sample.htaccess must send what roost sends"
        );
    }
    // Published files name the Webmention endpoint as roost's answers do.
    let endpoint = site.url("/webmention");
    assert_eq!(
        webmention_endpoint(&live, &site.url("/")).as_deref(),
        Some(endpoint.as_str())
    );
    assert_eq!(
        webmention_endpoint(&static_home, &site.url("/")).as_deref(),
        Some(endpoint.as_str()),
        "{}",
        describe(&static_home)
    );
    for (file, path) in [
        ("feed.atom", "/feed.atom"),
        ("feed.json", "/feed.json"),
        ("feed.rss", "/feed.rss"),
    ] {
        let live = site.get(&format!("/roost.cgi{path}"), &[]);
        assert_eq!(live.status, 200, "{}", describe(&live));
        assert_eq!(
            std::fs::read(site.dir.join(file)).unwrap(),
            live.body,
            "{file}"
        );
        let published = site.get(path, &[]);
        assert_eq!(
            webmention_endpoint(&published, &site.url(path)).as_deref(),
            Some(endpoint.as_str()),
            "{file}: {}",
            describe(&published)
        );
    }
}

/// The `rel="webmention"` target of a response's `Link` headers, resolved
/// against the address it answered (Webmention 3.1.2).
fn webmention_endpoint(answer: &HttpResponse, address: &str) -> Option<String> {
    answer
        .headers_named("Link")
        .iter()
        .flat_map(|value| value.split(','))
        .find(|link| link.contains("rel=\"webmention\""))
        .and_then(|link| Some(link.split_once('<')?.1.split_once('>')?.0.to_string()))
        .and_then(|href| Some(url::Url::parse(address).ok()?.join(&href).ok()?.to_string()))
}

#[test]
fn the_owner_a_query_and_a_post_still_reach_roost() {
    let site = publishing_site("pub-owner", Kind::Cgi);
    for i in 0..21 {
        post(&site, &format!("post {i}"));
    }
    without_roost(&site, || {
        // A session cookie (even an invalid one) goes to roost, which is away.
        let owner = site.get("/", &[("Cookie", "a=b; roost_session=xyz")]);
        assert_ne!(owner.status, 200, "{}", describe(&owner));
        let older = site.get("/?before=2", &[]);
        assert_ne!(older.status, 200, "{}", describe(&older));
        let form = site.send("POST", "/", &[("Content-Length", "0")], Some(b""));
        assert_ne!(form.status, 200, "{}", describe(&form));
        // A cookie that merely ends in the name is not a session.
        let visitor = site.get("/", &[("Cookie", "not_roost_session=1")]);
        assert_eq!(visitor.status, 200, "{}", describe(&visitor));
    });
    let older = site.get("/?before=2", &[]);
    assert_eq!(older.status, 200, "{}", describe(&older));
    assert!(older.text().contains("post 0"));
}

#[test]
fn under_fastcgi_the_same_files_are_served() {
    let site = publishing_site("pub-fcgid", Kind::Fcgid);
    let text = unique("fcgid static");
    post(&site, &text);
    without_roost(&site, || {
        let atom = site.get("/feed.atom", &[]);
        assert_eq!(atom.status, 200, "{}", describe(&atom));
        assert!(atom.text().contains(&text));
    });
}

/// Reads `site_state.publish_error` behind roost's back.
fn publish_error(home: &Path) -> String {
    let conn = rusqlite::Connection::open(home.join("roost.db")).unwrap();
    conn.query_row("SELECT publish_error FROM site_state", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_failed_publish_keeps_the_post_is_recorded_and_heals() {
    let site = publishing_site("pub-fail", Kind::Cgi);
    post(&site, &unique("before"));
    // Someone else's file where roost publishes: never overwritten.
    site.write_file("feed.rss", b"not ours");
    let manifest = site.home.join("published");
    let listed = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        listed
            .lines()
            .filter(|l| !l.ends_with("feed.rss"))
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();

    let kept = unique("kept despite publishing");
    let out = site.cli(&["post", &kept], None);
    assert!(out.status.success(), "the post itself succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("publishing the static files failed") && stderr.contains("feed.rss"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(site.dir.join("feed.rss")).unwrap(),
        b"not ours"
    );
    assert!(publish_error(&site.home).contains("not written by roost"));
    // The stale copies were withdrawn: visitors get the live answer.
    assert!(!site.dir.join("feed.atom").exists());
    let atom = site.get("/feed.atom", &[]);
    assert_eq!(atom.status, 200, "{}", describe(&atom));
    assert!(atom.text().contains(&kept));

    std::fs::remove_file(site.dir.join("feed.rss")).unwrap();
    post(&site, &unique("healed"));
    assert_eq!(publish_error(&site.home), "");
    assert!(
        std::fs::read_to_string(site.dir.join("feed.rss"))
            .unwrap()
            .contains(&kept)
    );
}

#[test]
fn turning_publishing_off_removes_only_roosts_files() {
    let site = publishing_site("pub-off", Kind::Cgi);
    post(&site, &unique("soon unpublished"));
    site.write_file("notes.txt", b"the owner's own file");
    let out = expect_success("config", &site.cli(&["config", "publish_dir", "off"], None));
    assert!(out.contains("publish_dir = "), "{out}");
    for file in ["feed.atom", "feed.json", "feed.rss", "roost-home.html"] {
        assert!(!site.dir.join(file).exists(), "{file} removed");
    }
    assert!(site.dir.join("notes.txt").exists());
    assert!(site.dir.join("roost.cgi").exists());
    let state = expect_success("config", &site.cli(&["config", "publish_dir"], None));
    assert!(state.starts_with("off"), "{state}");
    // roost answers again.
    assert_eq!(site.get("/feed.atom", &[]).status, 200);
}

#[test]
fn a_directory_that_cannot_be_written_is_refused() {
    let site = apache().roost_site("pub-ro", Kind::Cgi);
    // The site's directory belongs to root here, not to the CGI user.
    let dir = site.dir.to_str().unwrap();
    let out = site.cli(&["config", "publish_dir", dir], None);
    if common::cgi_user().is_some() {
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not writable"), "{err}");
    }
    let out = site.cli(&["config", "publish_dir", "/no/such/dir"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an existing directory"));
}
