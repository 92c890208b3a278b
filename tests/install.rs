//! The `install` script, run as a shared host's user would run it (under
//! `dash`, `--yes`, the password on stdin, as the CGI user) into a home whose
//! `public_html` a prefork + mod_cgi Apache serves, and checked through HTTP:
//! at the root of a site, in a subdirectory and under `/~user/`; upgrades,
//! the .htaccess block among other rules, cron, uninstall, refusals.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::apache::{Mpm, SAMPLE_HTACCESS, Site, prefork_apache};
use common::http::{HttpResponse, form_encode};
use common::install::{Cron, DASH, INSTALL_SCRIPT, Installer};
use common::process::hidden_csrf;
use common::{OWNER_NAME, OWNER_PASSWORD, expect_success};

/// A WordPress-style .htaccess, ending without a newline, with a CRLF line:
/// it must come out byte for byte.
const WORDPRESS: &str = "# BEGIN WordPress\n<IfModule mod_rewrite.c>\nRewriteEngine On\r\n\
    RewriteBase /\nRewriteRule ^index\\.php$ - [L]\n</IfModule>\n# END WordPress\n\
    # a last line without newline";

fn installer(label: &str) -> Installer {
    Installer::new(prefork_apache(), &common::unique(label))
}

/// The data directory install uses by default: `~/roost-data`.
fn default_data(inst: &Installer) -> PathBuf {
    inst.home.path.join("roost-data")
}

/// `public_html/SUB` ("" for public_html itself).
fn docroot(inst: &Installer, sub: &str) -> PathBuf {
    if sub.is_empty() {
        inst.home.docroot()
    } else {
        inst.home.docroot().join(sub)
    }
}

/// `install --yes --docroot DOCROOT --url URL --name OWNER` with the password
/// on stdin, plus `extra` flags.
fn install(inst: &Installer, site: &Site, extra: &[&str], cron: Cron) -> Output {
    install_with(inst, &inst.script(), site, extra, cron)
}

/// [`install`] with another copy of the script.
fn install_with(
    inst: &Installer,
    script: &Path,
    site: &Site,
    extra: &[&str],
    cron: Cron,
) -> Output {
    inst.run_yes(script, site, extra, cron)
}

fn install_ok(inst: &Installer, site: &Site) -> String {
    expect_success("install", &install(inst, site, &[], Cron::Fake))
}

/// Publishes `text` with the installed binary; returns the permalink it prints.
fn post(site: &Site, text: &str) -> String {
    let out = expect_success("roost post", &site.cli(&["post", text], None));
    out.trim().to_string()
}

fn get_ok(site: &Site, path: &str) -> HttpResponse {
    let resp = site.get(path, &[]);
    assert_eq!(
        resp.status,
        200,
        "GET {}:\n{resp:?}\n{}",
        site.path(path),
        prefork_apache().error_log()
    );
    resp
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The block install writes: sample.htaccess from "# BEGIN roost" to "# END roost".
fn roost_block() -> String {
    let start = SAMPLE_HTACCESS
        .find("# BEGIN roost\n")
        .expect("BEGIN roost");
    let end = SAMPLE_HTACCESS.find("# END roost\n").expect("END roost") + "# END roost\n".len();
    SAMPLE_HTACCESS[start..end].to_string()
}

/// Writes a file as the CGI user would own it (install must be able to change it).
fn write_as_user(path: &Path, contents: &str) {
    fs::write(path, contents).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).unwrap();
    common::chown_to_cgi_user(path);
}

/// A document root after install: its own three files, and the four roost
/// publishes there (`config publish_dir`).
const PUBLISHED_DOCROOT: [&str; 7] = [
    ".htaccess",
    "feed.atom",
    "feed.json",
    "feed.rss",
    "roost-home.html",
    "roost.cgi",
    "roost.conf",
];

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Posts with the installed binary, then checks the owner's page and the
/// Atom feed: the post is there, page links stay under the mount, feed links
/// are absolute under the URL, the login works.
fn assert_posts_show(site: &Site) {
    let text = &common::unique("post");
    let permalink = &post(site, text);
    let prefix = &site.path_prefix;
    assert_eq!(
        permalink.rsplit_once("/posts/").map(|(base, _)| base),
        Some(site.base_url().trim_end_matches('/')),
        "the permalink is not under the site's URL"
    );
    let page = get_ok(site, "/").text();
    assert!(page.contains(text), "{page}");
    assert!(page.contains(OWNER_NAME), "{page}");
    assert!(
        page.contains(&format!("href=\"{prefix}/feed.atom\"")),
        "the feed link is not under {prefix}/:\n{page}"
    );
    let post_path = permalink
        .strip_prefix(&format!("http://{}", site.host))
        .unwrap();
    assert!(
        page.contains(&format!("href=\"{post_path}\""))
            || page.contains(&format!("href=\"{permalink}\"")),
        "no link to {post_path} on the page:\n{page}"
    );
    if !prefix.is_empty() {
        // Every root-relative link and form action stays under the mount.
        for attribute in ["href=\"/", "action=\"/", "src=\"/"] {
            for (at, _) in page.match_indices(attribute) {
                let value = &page[at + attribute.len() - 1..];
                assert!(
                    value.starts_with(&format!("{prefix}/")),
                    "a link outside {prefix}/ ({}):\n{page}",
                    &value[..value.find('"').unwrap_or(value.len())]
                );
            }
        }
    }
    let feed = get_ok(site, "/feed.atom");
    assert_eq!(feed.mime().as_deref(), Some("application/atom+xml"));
    // install turned publishing on: Apache served the file roost wrote.
    let published = fs::read(site.dir.join("feed.atom")).expect("the published feed");
    assert_eq!(published, feed.body, "the feed was not the published file");
    let feed = feed.text();
    assert!(feed.contains(text), "{feed}");
    assert!(feed.contains(&format!("href=\"{permalink}\"")), "{feed}");
    let permalink_page = get_ok(site, post_path.strip_prefix(prefix.as_str()).unwrap());
    assert!(permalink_page.text().contains(text));
    log_in(site);
    // An owner-only action without a session goes to the login page under the mount.
    let resp = site.post_form("/posts", "text=x", &[]);
    assert!(
        resp.status == 303 || resp.status == 302,
        "POST /posts without a session:\n{resp:?}"
    );
    let location = resp.header("Location").unwrap_or_default();
    assert!(
        location == format!("{prefix}/login") || location == site.url("/login"),
        "redirected to {location}, not {prefix}/login"
    );
}

/// Logs in with the password install was given: the session cookie is scoped
/// to the mount and the login lands on the mount's front page.
fn log_in(site: &Site) {
    let form = get_ok(site, "/login");
    let login_cookie = form.cookie("roost_login").expect("the login form's cookie");
    let body = form_encode(&[
        ("csrf", &hidden_csrf(&form.text())),
        ("password", OWNER_PASSWORD),
    ]);
    let cookie = format!("roost_login={login_cookie}");
    let done = site.post_form("/login", &body, &[("Cookie", &cookie)]);
    assert_eq!(done.status, 303, "login:\n{done:?}");
    assert_eq!(done.header("Location"), Some(site.url("/").as_str()));
    assert!(done.cookie("roost_session").is_some(), "{done:?}");
    let set_cookie = done.set_cookies().join("\n");
    assert!(
        set_cookie.contains(&format!("Path={}/", site.path_prefix)),
        "cookie not scoped to the mount: {set_cookie}"
    );
}

// ---- The fixture and the script itself ----

#[test]
fn install_tests_run_under_prefork_with_mod_cgi() {
    let a = prefork_apache();
    assert_eq!(a.mpm(), Mpm::Prefork);
    let out = Command::new("/usr/sbin/apache2")
        .arg("-f")
        .arg(a.root().join("httpd.conf"))
        .args(a.defines())
        .arg("-M")
        .output()
        .unwrap();
    let modules = String::from_utf8_lossy(&out.stdout);
    assert!(
        modules.contains("mpm_prefork_module"),
        "{modules}\n{}",
        stderr(&out)
    );
    let loaded = |m: &str| {
        modules
            .lines()
            .any(|l| l.trim().starts_with(&format!("{m} ")))
    };
    assert!(loaded("mpm_prefork_module"), "{modules}");
    assert!(loaded("cgi_module"), "{modules}");
    assert!(!loaded("cgid_module"), "{modules}");
    assert!(!loaded("mpm_event_module"), "{modules}");
}

#[test]
fn install_is_posix_sh() {
    let script = fs::read_to_string(INSTALL_SCRIPT).unwrap();
    assert!(script.starts_with("#!/bin/sh\n"));
    let mode = fs::metadata(INSTALL_SCRIPT).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "install is not executable");
    let out = Command::new(DASH)
        .arg("-n")
        .arg(INSTALL_SCRIPT)
        .output()
        .unwrap();
    assert!(out.status.success(), "dash -n: {}", stderr(&out));
    // devscripts' checkbashisms, where installed (scripts/setup adds it).
    if let Ok(out) = Command::new("checkbashisms").arg(INSTALL_SCRIPT).output() {
        assert!(
            out.status.success(),
            "checkbashisms:\n{}{}",
            stdout(&out),
            stderr(&out)
        );
    }
}

#[test]
fn install_help_lists_every_flag() {
    let inst = installer("help");
    let out = inst.run(&["--help"], None, Cron::Fake);
    let text = expect_success("install --help", &out);
    for flag in [
        "--docroot",
        "--data",
        "--binary",
        "--url",
        "--name",
        "--yes",
        "--uninstall",
        "--purge",
    ] {
        assert!(text.contains(flag), "{flag} missing from:\n{text}");
    }
}

// ---- Installing, through HTTP ----

#[test]
fn install_at_the_root_of_a_site_serves_posts_and_feeds() {
    let inst = installer("root");
    let site = inst.home.vhost_site("", &default_data(&inst));
    let out = install_ok(&inst, &site);
    assert!(out.contains(&format!("{}login", site.base_url())), "{out}");
    assert_posts_show(&site);
}

#[test]
fn install_in_a_subdirectory_keeps_links_under_it() {
    let inst = installer("sub");
    let site = inst.home.vhost_site("notes", &default_data(&inst));
    assert_eq!(site.path_prefix, "/notes");
    assert!(!site.dir.exists(), "install is to create public_html/notes");
    install_ok(&inst, &site);
    assert_posts_show(&site);
    // Nothing of roost answers above the mount.
    let resp = prefork_apache().get("/feed.atom", &[("Host", &site.host)]);
    assert_eq!(resp.status, 404, "{resp:?}");
}

#[test]
fn install_under_a_tilde_user_path_keeps_links_under_it() {
    let inst = installer("tilde");
    let site = inst.home.tilde_site("blog", &default_data(&inst));
    assert_eq!(site.path_prefix, format!("/~{}/blog", inst.home.name));
    install_ok(&inst, &site);
    assert_posts_show(&site);
}

#[test]
fn interactive_install_asks_with_guesses_as_defaults() {
    let inst = installer("ask");
    let site = inst.home.vhost_site("", &default_data(&inst));
    // Enter for the guessed document root and the data directory; the URL,
    // the name, the password twice (first a mismatch, then the same twice).
    let answers = format!(
        "\n\n{}\n{OWNER_NAME}\n{OWNER_PASSWORD}\nsomething else\n{OWNER_PASSWORD}\n{OWNER_PASSWORD}\n",
        site.base_url()
    );
    let out = inst.run(&[], Some(&answers), Cron::Fake);
    let text = expect_success("interactive install", &out);
    let guess = format!("[{}]", inst.home.docroot().display());
    assert!(
        text.contains(&guess),
        "no guessed document root {guess}:\n{text}"
    );
    assert!(text.contains("differ"), "{text}");
    let guess = format!("[{}]", default_data(&inst).display());
    assert!(
        text.contains(&guess),
        "no default data directory {guess}:\n{text}"
    );
    assert!(default_data(&inst).join("roost.db").is_file());
    assert!(get_ok(&site, "/").text().contains(OWNER_NAME));
    log_in(&site);
}

#[test]
fn install_from_a_checkout_takes_the_binary_from_the_flag() {
    let inst = installer("checkout");
    let site = inst.home.vhost_site("", &default_data(&inst));
    let bin = common::roost_bin().display().to_string();
    let script = Path::new(INSTALL_SCRIPT);
    let out = install_with(&inst, script, &site, &["--binary", &bin], Cron::Fake);
    expect_success("install from the repository", &out);
    assert_eq!(
        fs::read(site.dir.join("roost.cgi")).unwrap(),
        fs::read(common::roost_bin()).unwrap()
    );
    assert!(get_ok(&site, "/").text().contains(OWNER_NAME));
}

// ---- Files and permissions ----

#[test]
fn install_places_a_suexec_safe_binary_and_a_private_data_directory() {
    let inst = installer("perms");
    let data = default_data(&inst);
    let site = inst.home.vhost_site("", &data);
    install_ok(&inst, &site);
    let user = common::cgi_user().map_or_else(|| common::current_ids().0, |u| u.uid);
    let bin = fs::metadata(site.dir.join("roost.cgi")).unwrap();
    assert_eq!(bin.permissions().mode() & 0o7777, 0o755);
    assert_eq!(
        bin.uid(),
        user,
        "roost.cgi must belong to the user who ran install"
    );
    let data_meta = fs::metadata(&data).unwrap();
    assert_eq!(data_meta.permissions().mode() & 0o7777, 0o700);
    assert_eq!(data_meta.uid(), user);
    assert!(data.join("roost.db").is_file());
    let conf = fs::read_to_string(site.dir.join("roost.conf")).unwrap();
    assert!(
        conf.lines()
            .any(|l| l == format!("home = {}", data.display())),
        "{conf}"
    );
    // Nothing temporary left behind; the published files (install turns
    // publishing on) and nothing else.
    assert_eq!(
        listing(&site.dir),
        PUBLISHED_DOCROOT,
        "{:?}",
        listing(&site.dir)
    );
    assert_eq!(
        fs::read_to_string(site.dir.join(".htaccess")).unwrap(),
        roost_block()
    );
}

#[test]
fn data_and_config_are_refused_over_http_even_when_put_in_the_docroot() {
    let inst = installer("deny");
    let site = inst.home.vhost_site("", &default_data(&inst));
    install_ok(&inst, &site);
    post(&site, "a post so that the database has content");
    assert!(!default_data(&inst).starts_with(&site.dir));
    // A user copies the data into the document root by hand, and a database too.
    let out = common::run_with_stdin(
        common::run_as_cgi_user(Command::new("/bin/sh").arg("-c").arg(
            "cp -R \"$1\" \"$2/roost-data\" && cp \"$1/roost.db\" \"$2/copy.db\" && \
                 chmod -R a+rX \"$2/roost-data\" \"$2/copy.db\"",
        ))
        .arg("sh")
        .arg(default_data(&inst))
        .arg(&site.dir),
        None,
    );
    expect_success("copying the data into the docroot", &out);
    for path in [
        "/roost.conf",
        "/roost-data",
        "/roost-data/",
        "/roost-data/roost.db",
        "/copy.db",
        "/.htaccess",
    ] {
        site.assert_refused(path, &[b"SQLite format", b"home ="]);
    }
    // So are the files a host or an editor leaves there; /.well-known/ stays roost's.
    for file in [
        ".env",
        ".git/config",
        "roost.conf~",
        "error.log",
        "Cargo.toml",
    ] {
        site.write_file(file, b"SECRET=1\n");
        site.assert_refused(&format!("/{file}"), &[b"SECRET"]);
    }
    let probe = site.get("/.well-known/roost/authorization", &[]);
    assert_eq!(probe.text(), "authorization: absent\n", "{probe:?}");
}

#[test]
fn install_refuses_a_data_directory_inside_the_document_root() {
    let inst = installer("inside");
    for (sub, data) in [
        ("", "public_html/roost-data"),
        ("notes", "public_html/data"),
    ] {
        let data = inst.home.path.join(data);
        let site = inst.home.vhost_site(sub, &data);
        let out = install(
            &inst,
            &site,
            &["--data", &data.display().to_string()],
            Cron::Fake,
        );
        assert!(!out.status.success(), "{}", stdout(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("inside the document root"), "{err}");
        assert!(!data.exists());
        assert!(
            listing(&inst.home.docroot()).is_empty(),
            "{:?}",
            listing(&inst.home.docroot())
        );
        assert_eq!(inst.crontab(), "");
    }
}

#[test]
fn yes_without_a_required_answer_fails_with_one_line_and_changes_nothing() {
    let inst = installer("missing");
    let notes = docroot(&inst, "notes").display().to_string();
    let cases: [(&[&str], &str); 4] = [
        (
            &["--yes", "--docroot", &notes, "--name", OWNER_NAME],
            "--url",
        ),
        (
            &["--yes", "--docroot", &notes, "--url", "http://x.test/"],
            "--name",
        ),
        (
            &["--yes", "--url", "http://x.test/", "--name", OWNER_NAME],
            "--docroot",
        ),
        (
            &[
                "--yes",
                "--docroot",
                &notes,
                "--url",
                "ftp://x.test/",
                "--name",
                OWNER_NAME,
            ],
            "https://",
        ),
    ];
    for (args, wanted) in cases {
        let out = inst.run(args, Some(&format!("{OWNER_PASSWORD}\n")), Cron::Fake);
        assert!(
            !out.status.success(),
            "{args:?} succeeded:\n{}",
            stdout(&out)
        );
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("install: ") && err.contains(wanted),
            "{args:?}: {err}"
        );
        assert!(
            listing(&inst.home.docroot()).is_empty(),
            "{args:?} changed public_html"
        );
        assert!(
            !default_data(&inst).exists(),
            "{args:?} made the data directory"
        );
        assert_eq!(inst.crontab(), "", "{args:?} touched the crontab");
    }
    // An empty password on stdin is refused the same way.
    let out = inst.run(
        &[
            "--yes",
            "--docroot",
            &notes,
            "--url",
            "http://x.test/",
            "--name",
            OWNER_NAME,
        ],
        Some("\n"),
        Cron::Fake,
    );
    assert!(!out.status.success());
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(listing(&inst.home.docroot()).is_empty());
}

// ---- .htaccess, upgrades ----

#[test]
fn install_keeps_an_existing_htaccess_byte_for_byte_around_its_block() {
    let inst = installer("wp");
    let site = inst.home.vhost_site("", &default_data(&inst));
    let htaccess = site.dir.join(".htaccess");
    write_as_user(&htaccess, WORDPRESS);
    install_ok(&inst, &site);
    let first = fs::read_to_string(&htaccess).unwrap();
    assert_eq!(first, format!("{}{WORDPRESS}", roost_block()));
    assert!(get_ok(&site, "/").text().contains(OWNER_NAME));

    // A re-run replaces only its own block, where it is, even when someone
    // edited it and wrote around it.
    let edited = first.replace("# END roost\n", "# an edit inside the block\n# END roost\n");
    let edited = format!("# a line above\r\n{edited}");
    write_as_user(&htaccess, &edited);
    expect_success("install again", &install(&inst, &site, &[], Cron::Fake));
    let second = fs::read_to_string(&htaccess).unwrap();
    assert_eq!(
        second,
        format!("# a line above\r\n{}{WORDPRESS}", roost_block())
    );
    assert_eq!(second.matches("# BEGIN roost").count(), 1);
    assert_eq!(second.matches("# END roost").count(), 1);
}

#[test]
fn reinstall_swaps_the_binary_and_keeps_the_posts() {
    let inst = installer("upgrade");
    let site = inst.home.vhost_site("notes", &default_data(&inst));
    install_ok(&inst, &site);
    let text = common::unique("before-upgrade");
    post(&site, &text);
    let cgi = site.dir.join("roost.cgi");
    let before = fs::metadata(&cgi).unwrap();
    // The line an earlier version installed polled only.
    let old_line = inst.crontab().replace(" cron --quiet ", " poll --quiet ");
    assert!(old_line.contains(" poll --quiet # roost "), "{old_line}");
    write_as_user(&inst.crontab_file, &old_line);

    // A new binary uploaded under another name, installed by flag; no
    // password this time (nothing is initialised), nothing asked.
    let new_bin = inst.upload.join("roost-new");
    fs::copy(common::roost_bin(), &new_bin).unwrap();
    let out = inst.run(
        &[
            "--yes",
            "--docroot",
            &site.dir.display().to_string(),
            "--binary",
            &new_bin.display().to_string(),
        ],
        None,
        Cron::Fake,
    );
    let said = expect_success("upgrade", &out);
    assert!(said.contains("Upgraded"), "{said}");
    let after = fs::metadata(&cgi).unwrap();
    assert_ne!(before.ino(), after.ino(), "roost.cgi was not replaced");
    assert_eq!(after.permissions().mode() & 0o7777, 0o755);
    let page = get_ok(&site, "/").text();
    assert!(
        page.contains(&text),
        "the post made before the upgrade is gone:\n{page}"
    );
    assert_eq!(
        listing(&site.dir),
        PUBLISHED_DOCROOT,
        "temporary files left"
    );
    let htaccess = fs::read_to_string(site.dir.join(".htaccess")).unwrap();
    assert_eq!(htaccess, roost_block());
    // The upgrade put `roost cron` in place of the old `poll` line.
    let table = inst.crontab();
    assert_eq!(
        table,
        old_line.replace(" poll --quiet ", " cron --quiet "),
        "{table}"
    );
}

// ---- Cron ----

#[test]
fn cron_line_is_installed_once_after_two_runs() {
    let inst = installer("cron");
    let data = default_data(&inst);
    let site = inst.home.vhost_site("", &data);
    let others = "MAILTO=me@example.org\n0 3 * * * /usr/bin/true # nightly\n";
    write_as_user(&inst.crontab_file, others);
    install_ok(&inst, &site);
    let again = install_ok(&inst, &site);
    assert!(again.contains("already"), "{again}");
    let table = inst.crontab();
    let cgi = site.dir.join("roost.cgi");
    let line = format!(
        "*/5 * * * * '{}' --home '{}' cron --quiet # roost {}",
        cgi.display(),
        data.display(),
        site.dir.display()
    );
    assert_eq!(table, format!("{others}{line}\n"));

    // The line's command works as cron would run it: quiet, exit 0.
    let command = line.splitn(6, ' ').nth(5).unwrap().to_string();
    let out = common::run_with_stdin(
        common::run_as_cgi_user(Command::new("/bin/sh").arg("-c").arg(&command)),
        None,
    );
    assert!(out.status.success(), "{command}: {}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "");
}

#[test]
fn cron_line_is_printed_when_there_is_no_crontab() {
    let inst = installer("nocron");
    let data = default_data(&inst);
    let site = inst.home.vhost_site("", &data);
    let out = install(&inst, &site, &[], Cron::Missing);
    let said = expect_success("install without crontab", &out);
    let line = format!(
        "*/5 * * * * '{}' --home '{}' cron --quiet",
        site.dir.join("roost.cgi").display(),
        data.display()
    );
    assert!(said.contains(&line), "{said}");
    assert!(said.contains("cron"), "{said}");
    assert!(!inst.crontab_file.exists());
}

// ---- Uninstall ----

#[test]
fn uninstall_removes_what_install_put_and_keeps_the_data() {
    let inst = installer("uninstall");
    let data = default_data(&inst);
    let site = inst.home.vhost_site("", &data);
    let htaccess = site.dir.join(".htaccess");
    write_as_user(&htaccess, WORDPRESS);
    let others = "0 3 * * * /usr/bin/true\n";
    write_as_user(&inst.crontab_file, others);
    install_ok(&inst, &site);
    let text = common::unique("kept");
    post(&site, &text);

    let dir = site.dir.display().to_string();
    let out = inst.run(
        &["--uninstall", "--yes", "--docroot", &dir],
        None,
        Cron::Fake,
    );
    let said = expect_success("uninstall", &out);
    assert!(said.contains(&data.display().to_string()), "{said}");
    assert_eq!(fs::read_to_string(&htaccess).unwrap(), WORDPRESS);
    assert!(!site.dir.join("roost.cgi").exists());
    assert!(!site.dir.join("roost.conf").exists());
    for published in ["feed.atom", "feed.json", "feed.rss", "roost-home.html"] {
        assert!(
            !site.dir.join(published).exists(),
            "{published} left behind"
        );
    }
    assert_eq!(inst.crontab(), others);
    assert!(data.join("roost.db").is_file(), "the data must stay");
    let resp = site.get("/", &[]);
    assert_ne!(resp.status, 200, "roost still answers:\n{resp:?}");

    // Installing again finds the data: the post is back.
    let out = inst.run(&["--yes", "--docroot", &dir], None, Cron::Fake);
    let said = expect_success("install after uninstall", &out);
    assert!(said.contains("already in"), "{said}");
    assert!(get_ok(&site, "/").text().contains(&text));

    // --purge deletes the data too.
    let out = inst.run(
        &["--uninstall", "--purge", "--yes", "--docroot", &dir],
        None,
        Cron::Fake,
    );
    expect_success("uninstall --purge", &out);
    assert!(!data.exists(), "--purge left {}", data.display());
    assert_eq!(fs::read_to_string(&htaccess).unwrap(), WORDPRESS);
    assert_eq!(inst.crontab(), others);
}

/// A second document root installed without `--data` took the first site's
/// `~/roost-data` silently (an "upgrade"), and its publishing with it: it is
/// refused, naming `--data`, and the first site keeps publishing.
#[test]
fn a_second_document_root_without_data_is_refused_naming_data() {
    let inst = installer("second");
    let first = inst.home.vhost_site("first", &default_data(&inst));
    install_ok(&inst, &first);
    let second_data = inst.home.path.join("second-data");
    let second = inst.home.vhost_site("second", &second_data);
    let out = install(&inst, &second, &[], Cron::Fake);
    assert!(!out.status.success(), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--data") && err.contains(&first.dir.display().to_string()),
        "{err}"
    );
    assert!(!second.dir.join("roost.cgi").exists(), "nothing installed");
    assert!(
        first.dir.join("feed.atom").exists(),
        "the first still publishes"
    );
    // With a data directory of its own, it installs.
    let own = second_data.display().to_string();
    expect_success(
        "install with --data",
        &install(&inst, &second, &["--data", &own], Cron::Fake),
    );
    assert!(get_ok(&second, "/feed.atom").status == 200);
    assert!(
        first.dir.join("feed.atom").exists(),
        "the first still publishes"
    );
}

/// Two sites sharing one data directory on purpose: uninstalling the one
/// that does not publish turned the other's publishing off.
#[test]
fn uninstalling_one_site_keeps_another_sites_publishing() {
    let inst = installer("shared");
    let data = default_data(&inst);
    let first = inst.home.vhost_site("first", &data);
    install_ok(&inst, &first);
    let second = inst.home.vhost_site("second", &data);
    let shared = data.display().to_string();
    expect_success(
        "install sharing the data on purpose",
        &install(&inst, &second, &["--data", &shared], Cron::Fake),
    );
    assert!(second.dir.join("feed.atom").exists());

    let first_dir = first.dir.display().to_string();
    let out = inst.run(
        &["--uninstall", "--yes", "--docroot", &first_dir],
        None,
        Cron::Fake,
    );
    expect_success("uninstall the first site", &out);
    assert!(!first.dir.join("roost.cgi").exists());
    assert!(
        second.dir.join("feed.atom").exists(),
        "the second site's published feed was withdrawn"
    );
    let setting = common::run_cli(
        &second.dir.join("roost.cgi"),
        &data,
        &["config", "publish_dir"],
        None,
    );
    let said = expect_success("config publish_dir", &setting);
    assert_eq!(said.trim(), second.dir.display().to_string());
}
