//! What a person with a browser does, through a real Apache routed by the
//! repository's sample.htaccess, under CGI (mod_cgid) and FastCGI (mod_fcgid),
//! with the node mounted in a subdirectory.

mod common;

use common::process::hidden_csrf;

use common::apache::{Kind, Site, apache};
use common::http::{HttpResponse, form_encode};
use common::unique;

fn describe(site: &Site, r: &HttpResponse) -> String {
    format!(
        "{:?} {} {}\n{}\n--- error log ---\n{}",
        site.kind,
        r.status,
        r.reason,
        r.text(),
        apache().error_log()
    )
}

/// Logs in through the login form; returns the `Cookie` header value of the session.
fn log_in(site: &Site) -> String {
    let form = site.get("/login", &[]);
    assert_eq!(form.status, 200, "{}", describe(site, &form));
    let set_cookie = form.set_cookies().join("\n");
    assert!(
        set_cookie.contains(&format!("Path={}/", site.path_prefix)),
        "cookie scoped to the mount: {set_cookie}"
    );
    let done = site.submit_login(&form);
    assert_eq!(done.status, 303, "{}", describe(site, &done));
    assert_eq!(
        done.header("Location"),
        Some(site.url("/").as_str()),
        "back to the front page of the mount, as an absolute URL"
    );
    format!(
        "roost_session={}",
        done.cookie("roost_session").expect("a session cookie")
    )
}

fn browser_flow(kind: Kind) {
    let site = apache().site(kind);
    let session = log_in(site);
    let front = site.get("/", &[("Cookie", &session)]);
    assert_eq!(front.status, 200, "{}", describe(site, &front));
    let html = front.text();
    assert!(html.contains("<textarea"), "the owner sees the compose box");
    assert!(
        html.contains(&format!("action=\"{}/posts\"", site.path_prefix)),
        "forms post below the mount"
    );
    assert!(
        !html.contains("roost.cgi"),
        "the script name never leaks into links"
    );

    // Post through the compose form.
    let text = unique("posted-through-apache");
    let body = form_encode(&[("csrf", &hidden_csrf(&html)), ("text", &text)]);
    let posted = site.post_form("/posts", &body, &[("Cookie", &session)]);
    assert_eq!(posted.status, 303, "{}", describe(site, &posted));
    let public = site.get("/", &[]);
    assert!(
        public.text().contains(&text),
        "the post is on the front page for everyone"
    );
    let feed = site.get("/feed.atom", &[]);
    assert_eq!(feed.mime().as_deref(), Some("application/atom+xml"));
    assert!(feed.text().contains(&text));
    assert!(
        feed.text().contains(&site.base_url()),
        "feeds link absolutely to the configured address"
    );

    // A forged POST: the session cookie rides along, but there is no token.
    let forged_text = unique("forged");
    let forged = site.post_form(
        "/posts",
        &form_encode(&[("text", &forged_text)]),
        &[("Cookie", &session)],
    );
    assert_eq!(forged.status, 403, "{}", describe(site, &forged));
    let wrong = form_encode(&[
        ("csrf", "0123456789abcdef0123456789abcdef"),
        ("text", &forged_text),
    ]);
    assert_eq!(
        site.post_form("/posts", &wrong, &[("Cookie", &session)])
            .status,
        403
    );
    // No session at all: sent to the login page.
    let anonymous = site.post_form("/posts", &form_encode(&[("text", &forged_text)]), &[]);
    assert_eq!(anonymous.status, 303);
    assert_eq!(
        anonymous.header("Location"),
        Some(site.url("/login").as_str())
    );
    assert!(
        !site.get("/", &[]).text().contains(&forged_text),
        "nothing forged was stored"
    );
}

#[test]
fn browser_flow_under_cgi() {
    browser_flow(Kind::Cgi);
}

#[test]
fn browser_flow_under_fcgid() {
    browser_flow(Kind::Fcgid);
}

fn bad_input(kind: Kind) {
    let site = apache().site(kind);
    assert_eq!(site.get("/no/such/page", &[]).status, 404);
    let put = site.send("PUT", "/", &[], Some(b"x"));
    assert_eq!(put.status, 405, "{}", describe(site, &put));
    assert_eq!(site.get("/posts/%E9", &[]).status, 404);
    let raw = site.get_raw_path(b"/posts/\xe9\xff");
    assert!(
        raw.status == 404 || raw.status == 400,
        "{}",
        describe(site, &raw)
    );
    // A query string without `=` reaches a CGI as argv (CVE-2012-1823): still just the page.
    for query in [
        "/?-s",
        "/?--help",
        "/?post+injected",
        "/?-d+allow_url_include%3d1",
    ] {
        let r = site.get(query, &[]);
        assert_eq!(r.status, 200, "{query}: {}", describe(site, &r));
        assert!(
            r.text().contains("<!DOCTYPE html>") && !r.text().contains("Usage:"),
            "{query}"
        );
    }
    let big = vec![b'a'; 100 * 1024];
    let session = log_in(site);
    let r = site.send(
        "POST",
        "/posts",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &session),
        ],
        Some(&big),
    );
    assert_eq!(r.status, 413, "{}", describe(site, &r));
    let r = site.post_form(
        "/posts",
        "csrf=x&text=%",
        &[("Cookie", "roost_session=;;;=garbage; roost_session=zz")],
    );
    assert_eq!(
        r.status,
        303,
        "a malformed cookie is no session: {}",
        describe(site, &r)
    );
    let etag = site
        .get("/feed.json", &[])
        .header("ETag")
        .expect("an ETag")
        .to_string();
    assert_eq!(
        site.get("/feed.json", &[("If-None-Match", &etag)]).status,
        304
    );
    let headers = site.get("/", &[]);
    for name in [
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "Referrer-Policy",
    ] {
        assert!(headers.header(name).is_some(), "{name} through Apache");
    }
}

#[test]
fn bad_input_under_cgi() {
    bad_input(Kind::Cgi);
}

#[test]
fn bad_input_under_fcgid() {
    bad_input(Kind::Fcgid);
}

/// Every redirect reaches the client as a 303 with an absolute `Location`,
/// also where roost is the whole site: .htaccess and roost.cgi at the
/// document root of a virtual host (Apache would turn a CGI's bare
/// `Location: /login` into an internal redirect).
#[test]
fn redirects_are_absolute_at_the_root_of_a_virtual_host() {
    use common::apache::{SAMPLE_HTACCESS, VHOST_NAME};
    let apache = apache();
    let host = format!("{VHOST_NAME}:{}", apache.port());
    let vroot = apache.root().join("vroot");
    let home = apache.root().join("data").join(unique("vroot"));
    let bin = vroot.join("roost.cgi");
    std::fs::copy(common::roost_bin(), &bin).unwrap();
    common::set_mode(&bin, 0o755);
    let htaccess = format!(
        "{SAMPLE_HTACCESS}\nSetEnv ROOST_HOME \"{}\"\n",
        home.display()
    );
    std::fs::write(vroot.join(".htaccess"), htaccess).unwrap();
    common::set_mode(&vroot.join(".htaccess"), 0o644);
    let url = format!("http://{host}/");
    common::expect_success(
        "init",
        &common::roost_cli(&home, &["init", "--url", &url, "--name", "Root"], None),
    );
    for (method, path) in [("GET", "/timeline"), ("POST", "/posts")] {
        let r = common::http::send(
            apache.addr(),
            method,
            path,
            &[
                ("Host", &host),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            (method == "POST").then_some(&b"text=hi"[..]),
        );
        assert_eq!(r.status, 303, "{method} {path}: {}", r.text());
        assert_eq!(r.header("Location"), Some(format!("{url}login").as_str()));
    }
    // And under a subdirectory mount (the shared CGI site at /cgi/).
    let site = apache.cgi();
    let r = site.get("/timeline", &[]);
    assert_eq!(r.status, 303, "{}", describe(site, &r));
    assert_eq!(r.header("Location"), Some(site.url("/login").as_str()));
}
