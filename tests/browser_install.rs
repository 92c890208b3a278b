//! Setting roost up from the browser, as on a host with FTP and a control
//! panel only: the binary uploaded as `roost.cgi` (0755) and sample.htaccess
//! as `.htaccess` into a home's `public_html`, owned by the CGI user (the
//! suexec layout: the CGI runs as the files' owner, not root), served by a
//! prefork + mod_cgi Apache as the virtual host `NAME.home.test`. Then
//! visited: the setup page everywhere, the code from the file, the form,
//! the cron line; and each refusal. Chromium goes the whole way and takes
//! screenshots (phone and desktop) into `screenshots/setup/` in cargo's
//! target directory; with `ROOST_UPDATE_SCREENSHOTS=1` into
//! `docs/screenshots/`, the README's pictures (a run's random paths show in
//! them, so a test run leaves the committed ones alone).

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use common::apache::{Kind, SAMPLE_HTACCESS, Site, UserHome, prefork_apache};
use common::browser::{Browser, DESKTOP, PHONE};
use common::http::{HttpResponse, form_encode};
use common::{OWNER_PASSWORD, roost_bin};

const CODE_FILE: &str = "roost-setup-code.txt";

/// A home with roost uploaded: roost.cgi 0755 and sample.htaccess as
/// .htaccess in `public_html`, both the CGI user's, and nothing else.
fn uploaded(label: &str) -> (UserHome, Site) {
    let home = prefork_apache().new_home(&common::unique(label));
    let docroot = home.docroot();
    let cgi = docroot.join("roost.cgi");
    fs::copy(roost_bin(), &cgi).unwrap();
    fs::set_permissions(&cgi, fs::Permissions::from_mode(0o755)).unwrap();
    let htaccess = docroot.join(".htaccess");
    fs::write(&htaccess, SAMPLE_HTACCESS).unwrap();
    fs::set_permissions(&htaccess, fs::Permissions::from_mode(0o644)).unwrap();
    for path in [&cgi, &htaccess] {
        common::chown_to_cgi_user(path);
    }
    let site = home.vhost_site("", &home.path.join("roost-data"));
    (home, site)
}

/// [`uploaded`], visited once: with the code that visit wrote.
fn visited(label: &str) -> (UserHome, Site, String) {
    let (home, site) = uploaded(label);
    assert_eq!(site.get("/", &[]).status, 503);
    let code = code(&home);
    (home, site, code)
}

/// The code the first visit wrote beside roost.cgi, as the owner downloads it.
fn code(home: &UserHome) -> String {
    let path = home.docroot().join(CODE_FILE);
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

fn post_install(site: &Site, fields: &[(&str, &str)]) -> HttpResponse {
    site.post_form(
        "/install",
        &form_encode(fields),
        &[("Origin", &format!("http://{}", site.host))],
    )
}

/// The form, filled in as an owner would, with `data` as the data directory.
fn create_fields<'a>(code: &'a str, site_url: &'a str, data: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("code", code),
        ("step", "create"),
        ("name", "Setup Owner"),
        ("url", site_url),
        ("password", OWNER_PASSWORD),
        ("again", OWNER_PASSWORD),
        ("data", data),
    ]
}

fn assert_nothing_set_up(home: &UserHome) {
    assert!(
        !home.path.join("roost-data").exists(),
        "no data directory before setup is done"
    );
    assert!(!home.docroot().join("roost.conf").exists(), "no roost.conf");
}

fn assert_no_path(page: &HttpResponse, home: &UserHome) {
    let text = page.text();
    assert!(
        !text.contains(&home.path.display().to_string()),
        "the page names a path of the host:\n{text}"
    );
}

#[test]
fn an_uploaded_roost_answers_every_address_with_the_setup_page_and_no_path() {
    let (home, site) = uploaded("setup-every");
    for path in ["/", "/posts/1", "/feed.atom", "/login", "/settings?x=1"] {
        let page = site.get(path, &[]);
        assert_eq!(page.status, 503, "{path}: {page:?}");
        assert!(page.text().contains("Set up roost"), "{path}: {page:?}");
        assert!(page.text().contains(CODE_FILE), "{path}: {page:?}");
        assert_no_path(&page, &home);
    }
    let file = home.docroot().join(CODE_FILE);
    let meta = fs::metadata(&file).unwrap();
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "the code file is private"
    );
    let owner = common::cgi_user().map_or_else(|| common::current_ids().0, |u| u.uid);
    assert_eq!(meta.uid(), owner, "written by the CGI user");
    let code = code(&home);
    assert!(code.len() >= 20, "{code:?}");
    site.assert_refused(&format!("/{CODE_FILE}"), &[code.as_bytes()]);
    assert_eq!(
        code,
        self::code(&home),
        "the code stays the same between visits"
    );
    assert_nothing_set_up(&home);
}

#[test]
fn a_wrong_setup_code_is_refused_then_throttled_and_creates_nothing() {
    let (home, site) = uploaded("setup-wrong");
    assert_eq!(site.get("/", &[]).status, 503);
    for attempt in 1..=3 {
        let page = post_install(&site, &[("code", "not-the-code")]);
        assert_eq!(page.status, 403, "attempt {attempt}: {page:?}");
        assert!(page.text().contains("not the code"), "{page:?}");
    }
    let page = post_install(&site, &[("code", "not-the-code")]);
    assert_eq!(page.status, 429, "the fourth wrong code waits: {page:?}");
    assert!(page.header("Retry-After").is_some(), "{page:?}");
    // While throttled, even the right code waits: guessing cannot go faster.
    let right = code(&home);
    assert_eq!(post_install(&site, &[("code", &right)]).status, 429);
    assert_nothing_set_up(&home);
}

#[test]
fn the_right_code_shows_the_form_with_guesses_and_still_creates_nothing() {
    let (home, site, code) = visited("setup-form");
    let page = post_install(&site, &[("code", &code)]);
    assert_eq!(page.status, 200, "{page:?}");
    let text = page.text();
    let proposed = home.path.join("roost-data");
    assert!(text.contains(&proposed.display().to_string()), "{text}");
    assert!(
        text.contains(&site.base_url()),
        "the address guessed: {text}"
    );
    assert_nothing_set_up(&home);
}

#[test]
fn setup_refuses_a_data_directory_inside_the_document_root() {
    let (home, site, code) = visited("setup-inside");
    let inside = home.docroot().join("data").display().to_string();
    let url = site.base_url();
    let page = post_install(&site, &create_fields(&code, &url, &inside));
    assert_eq!(page.status, 400, "{page:?}");
    assert!(page.text().contains("inside"), "{page:?}");
    assert!(!Path::new(&inside).exists(), "not created");
    assert_nothing_set_up(&home);
}

#[test]
fn setup_refuses_a_home_roost_cannot_write() {
    let (home, site, code) = visited("setup-unwritable");
    fs::set_permissions(&home.path, fs::Permissions::from_mode(0o555)).unwrap();
    let data = home.path.join("roost-data").display().to_string();
    let url = site.base_url();
    let page = post_install(&site, &create_fields(&code, &url, &data));
    fs::set_permissions(&home.path, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(page.status, 400, "{page:?}");
    assert!(page.text().contains("not writable"), "{page:?}");
    assert!(
        page.text().contains("Setup Owner"),
        "what was typed is kept: {page:?}"
    );
    assert_nothing_set_up(&home);
}

/// Where the screenshots of the setup pages go: the README's own with
/// `ROOST_UPDATE_SCREENSHOTS=1`, else beside the build.
fn screenshots() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = if std::env::var_os("ROOST_UPDATE_SCREENSHOTS").is_some_and(|v| v == "1") {
        root.join("docs/screenshots")
    } else {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        root.join(target).join("screenshots/setup")
    };
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The page in hand, full length, at phone and desktop widths, as
/// `setup-NAME-{phone,desktop}.png` in [`screenshots`]; the desktop's screen
/// is left on.
fn shoot(browser: &mut Browser, name: &str) {
    for viewport in [PHONE, DESKTOP] {
        browser.set_viewport(viewport);
        let path = screenshots().join(format!("setup-{name}-{}.png", viewport.name));
        let png = browser.screenshot_full_page(&path);
        assert!(png.len() > 1000, "{}: an empty screenshot", path.display());
    }
}

#[test]
fn the_owner_sets_roost_up_in_chromium_logs_in_posts_and_gets_the_cron_line() {
    let (home, site) = uploaded("setup-browser");
    let mut browser = Browser::launch();
    browser.goto(&site.base_url());
    browser.require("#code");
    shoot(&mut browser, "1-code");

    browser.type_into("#code", "a wrong code");
    browser.click_and_wait("button[type=submit]");
    assert!(browser.text("[role=alert]").contains("not the code"));
    shoot(&mut browser, "2-wrong-code");

    browser.type_into("#code", &code(&home));
    browser.click_and_wait("button[type=submit]");
    let data = home.path.join("roost-data");
    assert_eq!(
        browser.attr("#data", "value").as_deref(),
        Some(data.display().to_string().as_str()),
        "the data directory proposed is the home's roost-data"
    );
    assert_eq!(browser.attr("#url", "value"), Some(site.base_url()));
    browser.type_into("#name", "Setup Owner");
    browser.type_into("#password", OWNER_PASSWORD);
    browser.type_into("#again", OWNER_PASSWORD);
    shoot(&mut browser, "3-form");
    browser.click_and_wait("button[type=submit]");

    // The last page: the cron line, as install writes it.
    assert_eq!(browser.url(), site.url("/install"));
    let cgi = home.docroot().join("roost.cgi");
    let expected = format!(
        "*/5 * * * * '{}' --home '{}' cron --quiet # roost {}",
        cgi.display(),
        data.display(),
        home.docroot().display()
    );
    assert_eq!(browser.text("#cron-line"), expected);
    assert!(browser.text("#cron-status").contains("No cron run"));
    shoot(&mut browser, "4-cron");

    // What was made: the data 0700, roost.conf naming it, the code gone.
    let mode = fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "the data directory is private");
    let conf = fs::read_to_string(home.docroot().join("roost.conf")).unwrap();
    assert!(
        conf.lines()
            .any(|l| l == format!("home = {}", data.display())),
        "{conf}"
    );
    assert!(
        !home.docroot().join(CODE_FILE).exists(),
        "the code is used up"
    );

    // Until cron runs, the owner's pages say so.
    browser.goto(&site.base_url());
    assert!(
        browser.text("#no-cron").contains("Cron has not run"),
        "the front page, to its owner"
    );
    assert_eq!(
        site.get("/", &[])
            .text()
            .matches("Cron has not run")
            .count(),
        0,
        "never to a visitor"
    );
    browser.goto(&site.url("/install"));

    // Cron runs (as the site's user), and the check says so.
    site.cli_ok(&["cron", "--quiet"]);
    browser.click_and_wait("#check");
    assert!(
        browser.text("#cron-status").contains("Cron works"),
        "{}",
        browser.text("#cron-status")
    );
    shoot(&mut browser, "5-cron-seen");

    // Logged in by the setup; out and in again with the chosen password.
    browser.goto(&site.base_url());
    browser.click_and_wait("form[action$='/logout'] button");
    browser.goto(&site.url("/login"));
    browser.type_into("input[name=password]", OWNER_PASSWORD);
    browser.click_and_wait("form[action$='/login'] button[type=submit]");
    browser.goto(&site.base_url());
    browser.type_into("textarea[name=text]", "Hello from a browser-made roost");
    browser.click_and_wait("form[action$='/posts'] button[type=submit]");
    assert_eq!(browser.count("#no-cron"), 0, "cron ran: no more notice");

    // Settings -> Check installation: doctor's checks, as the site's user.
    browser.goto(&site.url("/settings"));
    let link = browser.attr("#check-installation", "href");
    assert_eq!(link.as_deref(), Some("/settings/check"));
    browser.goto(&site.url("/settings/check"));
    let checks = browser.text("#checks");
    assert!(checks.contains("is outside the document root"), "{checks}");
    assert!(checks.contains("last poll"), "{checks}");
    assert!(browser.text("#check-summary").len() > 10);
    shoot(&mut browser, "6-check-installation");

    let visitor = site.get("/", &[]);
    assert!(
        visitor.text().contains("Hello from a browser-made roost"),
        "{visitor:?}"
    );

    // A second visitor, with the old form: refused, nothing changed.
    let late = post_install(
        &site,
        &create_fields("whatever", &site.base_url(), "/tmp/x"),
    );
    assert_eq!(late.status, 410, "{late:?}");
    assert!(late.text().contains("already set up"), "{late:?}");
    assert!(!Path::new("/tmp/x").exists());
}

/// Under mod_fcgid one process answers many requests: the one that showed
/// the setup page must serve the site once setup wrote `roost.conf`
/// (roost.conf's absence was kept for the process's life before).
#[test]
fn under_fastcgi_the_process_that_showed_the_setup_page_serves_the_site_after_it() {
    let home = common::apache::apache().new_home(&common::unique("setup-fcgid"));
    let docroot = home.docroot();
    let cgi = docroot.join("roost.cgi");
    fs::copy(roost_bin(), &cgi).unwrap();
    fs::set_permissions(&cgi, fs::Permissions::from_mode(0o755)).unwrap();
    let htaccess = docroot.join(".htaccess");
    fs::write(&htaccess, common::apache::fcgid_variant(SAMPLE_HTACCESS)).unwrap();
    fs::set_permissions(&htaccess, fs::Permissions::from_mode(0o644)).unwrap();
    for path in [&cgi, &htaccess] {
        common::chown_to_cgi_user(path);
    }
    let data = home.path.join("roost-data");
    let site = home.vhost_site("", &data);
    let first = site.get("/", &[]);
    assert_eq!(first.status, 503, "{first:?}");
    assert!(first.text().contains("Set up roost"), "{first:?}");
    let code = code(&home);
    let url = site.base_url();
    let data_text = data.display().to_string();
    let done = post_install(&site, &create_fields(&code, &url, &data_text));
    assert_eq!(done.status, 303, "{done:?}");
    let session = done
        .cookie("roost_session")
        .expect("logged in by the setup");
    let front = site.get("/", &[]);
    assert_eq!(front.status, 200, "{front:?}");
    assert!(front.text().contains("Setup Owner"), "{front:?}");
    let cron = site.get(
        "/install",
        &[("Cookie", &format!("roost_session={session}"))],
    );
    assert_eq!(cron.status, 200, "{cron:?}");
    assert!(cron.text().contains("cron --quiet # roost"), "{cron:?}");
}

/// For hosts with no cron at all (`cron_on_page_views`): an owner's page
/// view starts the due background work once its answer is out (in a
/// process of its own under mod_cgi); a visitor's never does; doctor calls
/// the mode degraded.
#[test]
fn without_cron_an_owners_page_view_runs_the_background_work_after_its_answer() {
    let site = prefork_apache().roost_site(&common::unique("nocron"), Kind::Cgi);
    site.cli_ok(&["config", "cron_on_page_views", "true"]);
    let doctor = site.cli(&["doctor"], None);
    let said = String::from_utf8_lossy(&doctor.stdout);
    assert!(said.contains("degraded"), "{said}");

    assert_eq!(site.get("/", &[]).status, 200);
    let form = site.get("/login", &[]);
    let session = site
        .submit_login(&form)
        .cookie("roost_session")
        .expect("logged in");
    let owner = [("Cookie", format!("roost_session={session}"))];
    let owner: Vec<(&str, &str)> = owner.iter().map(|(k, v)| (*k, v.as_str())).collect();
    std::thread::sleep(std::time::Duration::from_secs(1));
    let started = std::time::Instant::now();
    let first = site.get("/install", &owner);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the answer does not wait for the work"
    );
    assert!(
        first.text().contains("No cron run has been seen yet"),
        "a visitor's views started nothing: {first:?}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let page = site.get("/install", &owner);
        if page.text().contains("Cron works") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the owner's page view did not run the background work: {page:?}\n{}",
            prefork_apache().error_log()
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}
