//! The Apache fixture and sample.htaccess, proven under a real Apache: first
//! with a shell CGI that prints its environment (so the tests see exactly what
//! roost would get), then with the real roost under mod_cgid and mod_fcgid.

mod common;

use std::collections::HashMap;
use std::sync::OnceLock;

use common::apache::{self, ENV_SCRIPT, Kind, SAMPLE_HTACCESS, Site, apache};
use common::http::HttpResponse;

/// The shared env-printing site at /shell/ (sample.htaccess in a subdirectory).
fn shell() -> &'static Site {
    static SITE: OnceLock<Site> = OnceLock::new();
    SITE.get_or_init(|| apache().shell_site("shell", ENV_SCRIPT))
}

/// The CGI environment printed by ENV_SCRIPT, as raw bytes per variable.
fn env_of(resp: &HttpResponse) -> HashMap<String, Vec<u8>> {
    assert_eq!(
        resp.status,
        200,
        "the shell CGI did not answer:\n{resp:?}\n{}",
        apache().error_log()
    );
    assert_eq!(resp.mime().as_deref(), Some("text/plain"), "{resp:?}");
    resp.body
        .split(|b| *b == b'\n')
        .filter_map(|line| {
            let eq = line.iter().position(|b| *b == b'=')?;
            Some((
                String::from_utf8_lossy(&line[..eq]).into_owned(),
                line[eq + 1..].to_vec(),
            ))
        })
        .collect()
}

fn var(env: &HashMap<String, Vec<u8>>, name: &str) -> Option<String> {
    env.get(name)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Asserts `path` is routed to the script with this PATH_INFO and QUERY_STRING.
fn assert_routed(
    site: &Site,
    path: &str,
    path_info: &str,
    query: &str,
) -> HashMap<String, Vec<u8>> {
    let env = env_of(&site.get(path, &[]));
    assert_eq!(
        var(&env, "PATH_INFO").as_deref(),
        Some(path_info),
        "PATH_INFO for {path}"
    );
    assert_eq!(
        var(&env, "QUERY_STRING").as_deref(),
        Some(query),
        "QUERY_STRING for {path}"
    );
    assert_eq!(
        var(&env, "SCRIPT_NAME"),
        Some(format!("{}/roost.cgi", site.path_prefix)),
        "SCRIPT_NAME for {path}"
    );
    env
}

#[test]
fn fixture_apache_serves_static_files_from_its_document_root() {
    let a = apache();
    let resp = a.get("/roost-fixture-alive.txt", &[]);
    assert_eq!(resp.status, 200, "{resp:?}");
    assert!(resp.text().starts_with("alive "), "{resp:?}");
    assert!(a.root().join("httpd.conf").is_file());
    assert!(
        a.error_log().contains("resuming normal operations"),
        "{}",
        a.error_log()
    );
}

#[test]
fn config_template_placeholders_are_all_filled() {
    let conf = apache::render_config("/r".as_ref(), 8080, "/d".as_ref(), "www-data", "www-data");
    for line in conf.lines().filter(|l| !l.trim_start().starts_with('#')) {
        assert!(!line.contains('@'), "unfilled placeholder: {line}");
    }
    assert!(conf.contains("Listen 127.0.0.1:8080"));
    assert!(conf.contains("DocumentRoot \"/d\""));
}

#[test]
fn htaccess_routes_the_front_page_with_path_info_slash() {
    let env = assert_routed(shell(), "/", "/", "");
    assert_eq!(var(&env, "REQUEST_URI").as_deref(), Some("/shell/"));
    assert_eq!(var(&env, "GATEWAY_INTERFACE").as_deref(), Some("CGI/1.1"));
}

#[test]
fn htaccess_routes_paths_and_query_strings() {
    let env = assert_routed(shell(), "/posts/1?x=1", "/posts/1", "x=1");
    assert_eq!(
        var(&env, "REQUEST_URI").as_deref(),
        Some("/shell/posts/1?x=1")
    );
    assert_routed(shell(), "/feed.atom", "/feed.atom", "");
    assert_routed(
        shell(),
        "/posts/1/edit?a=1&b=%20",
        "/posts/1/edit",
        "a=1&b=%20",
    );
    assert_routed(shell(), "/posts/1/", "/posts/1/", "");
}

#[test]
fn htaccess_routes_post_requests_with_their_body() {
    let resp = shell().post_form("/posts", "text=hello", &[]);
    let env = env_of(&resp);
    assert_eq!(var(&env, "REQUEST_METHOD").as_deref(), Some("POST"));
    assert_eq!(var(&env, "PATH_INFO").as_deref(), Some("/posts"));
    assert_eq!(var(&env, "CONTENT_LENGTH").as_deref(), Some("10"));
    assert_eq!(var(&env, "FIXTURE_BODY").as_deref(), Some("text=hello"));
    assert_eq!(
        var(&env, "CONTENT_TYPE").as_deref(),
        Some("application/x-www-form-urlencoded")
    );
}

#[test]
fn htaccess_decodes_the_path_exactly_once() {
    // Without the B=%?# flag, %2520 would arrive as "/a b" and %3F be refused.
    assert_routed(shell(), "/a%2520b", "/a%20b", "");
    assert_routed(shell(), "/a%3Fb?q=1", "/a?b", "q=1");
    assert_routed(shell(), "/sp%20ace", "/sp ace", "");
    assert_routed(shell(), "/x%23y", "/x#y", "");
    assert_routed(shell(), "/~u/%C3%A9", "/~u/\u{e9}", "");
}

#[test]
fn htaccess_passes_non_utf8_path_bytes_through() {
    for path in [&b"/caf%E9"[..], &b"/caf\xe9"[..]] {
        let env = env_of(&shell().get_raw_path(path));
        assert_eq!(
            env.get("PATH_INFO").map(Vec::as_slice),
            Some(&b"/caf\xe9"[..])
        );
    }
}

#[test]
fn htaccess_passes_the_authorization_header() {
    let auth = "Basic dGVzdDpzZWNyZXQ=";
    let env = env_of(&shell().get("/auth", &[("Authorization", auth)]));
    // CGIPassAuth gives HTTP_AUTHORIZATION; the fallbacks are for older servers.
    assert_eq!(var(&env, "HTTP_AUTHORIZATION").as_deref(), Some(auth));

    // No header: no variable, rather than an empty one.
    let env = env_of(&shell().get("/auth", &[]));
    assert_eq!(var(&env, "HTTP_AUTHORIZATION"), None);
    assert_eq!(var(&env, "REDIRECT_HTTP_AUTHORIZATION"), None);
}

/// A new env-printing site whose .htaccess is sample.htaccess as another
/// server reads it: each condition `from` turned into `to` (every one must
/// be there).
fn shell_site_reading_htaccess_as(name: &str, changes: [(&str, &str); 2]) -> Site {
    let site = apache().shell_site(name, ENV_SCRIPT);
    let mut htaccess = SAMPLE_HTACCESS.to_string();
    for (from, to) in changes {
        assert!(htaccess.contains(from), "sample.htaccess lacks {from}");
        htaccess = htaccess.replace(from, to);
    }
    site.write_file(".htaccess", htaccess.as_bytes());
    site
}

/// An Apache older than 2.4.13 has no CGIPassAuth: sample.htaccess read as
/// such a server reads it (its version conditions turned around) still hands
/// the header over, through the SetEnvIf and RewriteRule E= fallbacks.
#[test]
fn htaccess_fallbacks_pass_authorization_on_servers_without_cgipassauth() {
    let site = shell_site_reading_htaccess_as(
        "old-apache",
        [
            ("<IfVersion >= 2.4.13>", "<IfVersion >= 99>"),
            ("<IfVersion < 2.4.13>", "<IfVersion < 99>"),
        ],
    );
    let auth = "Bearer fallback-token";
    let env = env_of(&site.get("/auth", &[("Authorization", auth)]));
    assert_eq!(
        var(&env, "REDIRECT_HTTP_AUTHORIZATION").as_deref(),
        Some(auth),
        "the fallbacks hand the header over"
    );
    let env = env_of(&site.get("/auth", &[]));
    assert_eq!(var(&env, "REDIRECT_HTTP_AUTHORIZATION"), None);
}

#[test]
fn htaccess_setenv_roost_home_reaches_the_cgi() {
    let env = env_of(&shell().get("/", &[]));
    assert_eq!(
        var(&env, "ROOST_HOME"),
        Some(shell().home.display().to_string())
    );
}

#[test]
fn cgi_runs_as_the_cgi_user() {
    let env = env_of(&shell().get("/", &[]));
    let want = match common::cgi_user() {
        Some(u) => u.uid,
        None => common::current_ids().0,
    };
    assert_eq!(var(&env, "FIXTURE_UID"), Some(want.to_string()));
}

#[test]
fn htaccess_refuses_data_and_config_files() {
    let site = apache().shell_site("deny", ENV_SCRIPT);
    let secret = b"SECRET-DATA-must-not-be-served";
    for file in [
        "roost.conf",
        "x.db",
        "x.db-wal",
        "x.db-shm",
        "x.db-journal",
        "roost-data/roost.db",
        "roost-data/notes.txt",
        "sub/roost-data/notes.txt",
        "sub/roost.conf",
    ] {
        site.write_file(file, secret);
    }
    for path in [
        "/roost.conf",
        "/x.db",
        "/x.db-wal",
        "/x.db-shm",
        "/x.db-journal",
        "/roost-data",
        "/roost-data/",
        "/roost-data/roost.db",
        "/roost-data/notes.txt",
        "/sub/roost-data/notes.txt",
        "/sub/roost.conf",
        "/.htaccess",
    ] {
        // GATEWAY_INTERFACE: the request reached the CGI.
        site.assert_refused(path, &[secret, b"GATEWAY_INTERFACE"]);
    }
}

/// Writes `secret` into each of `files` in the site, then asks for each: it
/// must be refused, neither served nor handed to the CGI.
fn put_and_assert_refused(site: &Site, files: &[&str], secret: &[u8]) {
    for file in files {
        site.write_file(file, secret);
    }
    for file in files {
        let path = format!("/{}", file.replace('#', "%23"));
        site.assert_refused(&path, &[secret, b"GATEWAY_INTERFACE"]);
    }
}

/// sample.htaccess refused only the data: a `.env`, a `.git/` directory, an
/// editor's backup, a log or the Cargo sources left in the document root
/// were served. `/.well-known/` still works: its files are served (an ACME
/// challenge) and the rest reaches roost (WebFinger, roost's own probe).
#[test]
fn htaccess_refuses_dotfiles_backups_logs_and_sources() {
    let site = apache().shell_site("hidden", ENV_SCRIPT);
    let secret = b"SECRET-FILE-must-not-be-served";
    let files = [
        ".env",
        ".git/config",
        ".git/HEAD",
        "x.bak",
        "x~",
        "x.php.swp",
        "#x.php#",
        "config.php.orig",
        "error.log",
        "error_log",
        "dump.sql",
        "Cargo.toml",
        "Cargo.lock",
        "src/main.rs",
        "sub/.env",
        "sub/notes.txt~",
    ];
    put_and_assert_refused(&site, &files, secret);
    site.assert_refused("/.git/", &[secret, b"GATEWAY_INTERFACE"]);
    site.write_file(".well-known/acme-challenge/token-1", b"token-1.key\n");
    let challenge = site.get("/.well-known/acme-challenge/token-1", &[]);
    assert_eq!(challenge.status, 200, "{challenge:?}");
    assert_eq!(challenge.body, b"token-1.key\n");
    assert_routed(
        &site,
        "/.well-known/webfinger?resource=acct:a@b",
        "/.well-known/webfinger",
        "resource=acct:a@b",
    );
    assert_routed(
        &site,
        "/.well-known/roost/authorization",
        "/.well-known/roost/authorization",
        "",
    );
    // Ordinary files beside them are still served.
    site.write_file("notes.txt", b"plain\n");
    assert_eq!(site.get("/notes.txt", &[]).body, b"plain\n");
}

/// Where mod_rewrite is loaded, its [F] rules alone refuse the data and the
/// dotfiles (the <FilesMatch> section is skipped, since compiling its regex
/// on every request cost as much as serving a published feed); a host
/// without mod_rewrite must still refuse the same names through it.
#[test]
fn htaccess_refuses_the_same_names_on_hosts_without_mod_rewrite() {
    let site = shell_site_reading_htaccess_as(
        "no-rewrite",
        [
            ("<IfModule mod_rewrite.c>", "<IfModule mod_absent.c>"),
            ("<IfModule !mod_rewrite.c>", "<IfModule !mod_absent.c>"),
        ],
    );
    let secret = b"SECRET-must-not-be-served";
    let files = [
        "roost.conf",
        "x.db",
        "x.db-wal",
        "x.db-shm",
        "x.db-journal",
        ".env",
        "x.bak",
        "x~",
        "error_log",
        "Cargo.toml",
        "main.rs",
    ];
    put_and_assert_refused(&site, &files, secret);
    site.write_file(".well-known/acme-challenge/t", b"t.key\n");
    let challenge = site.get("/.well-known/acme-challenge/t", &[]);
    assert_eq!(challenge.body, b"t.key\n", "{challenge:?}");
    site.write_file("notes.txt", b"plain\n");
    assert_eq!(site.get("/notes.txt", &[]).body, b"plain\n");
}

#[test]
fn htaccess_serves_existing_files_directly() {
    let site = apache().shell_site("static", ENV_SCRIPT);
    site.write_file("style.css", b"body { color: black }\n");
    site.write_file("img/a.txt", b"plain file\n");
    let resp = site.get("/style.css", &[]);
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.mime().as_deref(), Some("text/css"));
    assert_eq!(resp.body, b"body { color: black }\n");
    let resp = site.get("/img/a.txt", &[]);
    assert_eq!(resp.body, b"plain file\n", "{resp:?}");
    // A directory is not a file: it is roost's path.
    assert_routed(&site, "/img/", "/img/", "");
    // An index.html does not shadow the front page.
    site.write_file("index.html", b"<p>old index</p>\n");
    assert_routed(&site, "/", "/", "");
}

#[test]
fn htaccess_at_the_document_root_routes_too() {
    let site = apache().vhost_root_site();
    assert_eq!(site.path_prefix, "");
    let env = assert_routed(site, "/", "/", "");
    assert_eq!(var(&env, "REQUEST_URI").as_deref(), Some("/"));
    let env = assert_routed(site, "/posts/1?x=1", "/posts/1", "x=1");
    assert_eq!(var(&env, "REQUEST_URI").as_deref(), Some("/posts/1?x=1"));
    assert_eq!(var(&env, "HTTP_HOST"), Some(site.host.clone()));
    let resp = site.get("/roost.conf", &[]);
    assert_eq!(resp.status, 403, "{resp:?}");
}

#[test]
fn htaccess_directory_without_slash_redirects_to_it() {
    shell();
    let resp = apache().get("/shell", &[]);
    assert_eq!(resp.status, 301, "{resp:?}");
    assert!(
        resp.header("Location")
            .is_some_and(|l| l.ends_with("/shell/")),
        "{resp:?}"
    );
}

#[test]
fn fcgid_variant_is_a_plain_text_switch() {
    let cgi = SAMPLE_HTACCESS;
    let fcgid = apache::fcgid_variant(cgi);
    assert!(
        cgi.contains("#FCGID# "),
        "the marked fcgid lines are gone from sample.htaccess"
    );
    assert!(!fcgid.lines().any(|l| l.starts_with("#FCGID#")));
    let active = |text: &str, directive: &str| {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.starts_with('#'))
            .any(|l| l == directive)
    };
    assert!(active(cgi, "AddHandler cgi-script .cgi"));
    assert!(!active(cgi, "AddHandler fcgid-script .cgi"));
    assert!(active(&fcgid, "AddHandler fcgid-script .cgi"));
    // The only cgi-script handler left is the fallback for hosts without fcgid.
    let fallback = fcgid
        .find("<IfModule !mod_fcgid.c>")
        .expect("fallback block");
    let handler = fcgid
        .find("AddHandler cgi-script .cgi")
        .expect("fallback handler");
    assert!(handler > fallback);
    assert_eq!(fcgid.matches("AddHandler cgi-script").count(), 1);
}

// ---- The real roost, as a host would run it ----

fn assert_front_page(site: &Site) {
    let resp = site.get("/", &[]);
    assert_eq!(
        resp.status,
        200,
        "{} front page:\n{resp:?}\n{}",
        site.name,
        apache().error_log()
    );
    assert_eq!(resp.mime().as_deref(), Some("text/html"), "{resp:?}");
    assert!(resp.text().contains(common::OWNER_NAME), "{resp:?}");
}

#[test]
fn roost_under_cgi_serves_the_front_page() {
    assert_front_page(apache().cgi());
}

#[test]
fn roost_under_fcgid_serves_the_front_page() {
    let site = apache().fcgi();
    // Its data is found through roost.conf only.
    let htaccess = std::fs::read_to_string(site.dir.join(".htaccess")).unwrap();
    assert!(!htaccess.contains("ROOST_HOME \""), "{htaccess}");
    assert!(site.dir.join("roost.conf").is_file());
    assert_front_page(site);
}

#[test]
fn roost_under_cgi_serves_the_atom_feed() {
    let resp = apache().cgi().get("/feed.atom", &[]);
    assert_eq!(resp.status, 200, "{resp:?}\n{}", apache().error_log());
    assert_eq!(
        resp.mime().as_deref(),
        Some("application/atom+xml"),
        "{resp:?}"
    );
    assert!(resp.text().contains("<feed"), "{resp:?}");
}

#[test]
fn roost_under_fcgid_serves_the_atom_feed() {
    let resp = apache().fcgi().get("/feed.atom", &[]);
    assert_eq!(resp.status, 200, "{resp:?}\n{}", apache().error_log());
    assert_eq!(
        resp.mime().as_deref(),
        Some("application/atom+xml"),
        "{resp:?}"
    );
}

#[test]
fn roost_under_cgi_answers_unknown_paths_with_404() {
    let resp = apache().cgi().get("/no/such/page", &[]);
    assert_eq!(resp.status, 404, "{resp:?}\n{}", apache().error_log());
    // roost's own page, not Apache's.
    assert_eq!(resp.mime().as_deref(), Some("text/html"), "{resp:?}");
    assert!(!resp.text().contains("<address>Apache"), "{resp:?}");
}

#[test]
fn roost_under_fcgid_answers_unknown_paths_with_404() {
    let resp = apache().fcgi().get("/no/such/page", &[]);
    assert_eq!(resp.status, 404, "{resp:?}\n{}", apache().error_log());
    assert!(!resp.text().contains("<address>Apache"), "{resp:?}");
}

#[test]
fn roost_conf_beside_the_fastcgi_binary_is_refused() {
    let site = apache().fcgi();
    let resp = site.get("/roost.conf", &[]);
    assert_eq!(resp.status, 403, "{resp:?}");
    assert!(!resp.text().contains("home ="), "{resp:?}");
}

#[test]
fn roost_data_written_by_the_cli_belongs_to_the_cgi_user() {
    use std::os::unix::fs::MetadataExt;
    let site = apache().cgi();
    let text = common::unique("cli-post");
    let out = site.cli(&["post", &text], None);
    common::expect_success("roost post", &out);
    // The CGI must be able to write next to the database (-wal, -shm).
    let page = site.get("/", &[]);
    assert!(
        page.text().contains(&text),
        "{page:?}\n{}",
        apache().error_log()
    );
    let want = common::cgi_user().map_or_else(|| common::current_ids().0, |u| u.uid);
    for entry in std::fs::read_dir(&site.home).unwrap() {
        let entry = entry.unwrap();
        let uid = entry.metadata().unwrap().uid();
        assert_eq!(
            uid,
            want,
            "{} is owned by uid {uid}",
            entry.path().display()
        );
    }
}

#[test]
fn roost_under_fcgid_shows_a_post_made_with_the_cli() {
    let site = apache().fcgi();
    assert_front_page(site); // a FastCGI process is running now
    let text = common::unique("fcgi-post");
    common::expect_success("roost post", &site.cli(&["post", &text], None));
    let page = site.get("/", &[]);
    assert!(
        page.text().contains(&text),
        "{page:?}\n{}",
        apache().error_log()
    );
}

#[test]
fn roost_under_fcgid_stays_running_between_requests() {
    let site = apache().fcgi();
    assert_front_page(site);
    let bin = site.binary.clone().unwrap();
    let running = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path().join("exe")).ok())
        .any(|exe| exe == bin);
    assert!(
        running,
        "no process runs {} after a FastCGI request",
        bin.display()
    );
}

#[test]
fn roost_site_of_its_own_starts_empty() {
    let shared = apache().cgi();
    let text = common::unique("shared-only");
    common::expect_success("roost post", &shared.cli(&["post", &text], None));
    let name = common::unique("own");
    let own = apache().roost_site(&name, Kind::Cgi);
    assert_eq!(
        own.base_url(),
        format!("http://127.0.0.1:{}/{name}/", apache().port())
    );
    assert_ne!(own.home, shared.home);
    assert_front_page(&own);
    let page = own.get("/", &[]);
    assert!(!page.text().contains(&text), "{page:?}");
}

#[test]
fn roost_under_fcgid_finds_its_data_through_setenv_too() {
    // mod_fcgid starts the process with PATH alone: SetEnv values arrive as
    // FastCGI parameters of each request, never in the process environment.
    let name = common::unique("fcgi-setenv");
    let site = apache().roost_site(&name, Kind::Fcgid);
    std::fs::remove_file(site.dir.join("roost.conf")).unwrap();
    let mut htaccess = std::fs::read_to_string(site.dir.join(".htaccess")).unwrap();
    htaccess.push_str(&format!("SetEnv ROOST_HOME \"{}\"\n", site.home.display()));
    site.write_file(".htaccess", htaccess.as_bytes());
    assert_front_page(&site);
}
