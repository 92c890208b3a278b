//! One private Apache per test binary, serving roost the way a shared host does:
//! `roost.cgi` plus the repository's `sample.htaccess` in a directory of the
//! document root, under mod_cgid (CGI) or mod_fcgid (FastCGI). [`apache`] runs
//! the event MPM with mod_cgid; [`prefork_apache`] the prefork MPM with mod_cgi,
//! the classic shared-hosting setup (a test binary may use either or both).
//!
//! Layout of the instance directory (under the temp dir, removed after the test
//! process exits by a watchdog, since a static is never dropped):
//!
//! ```text
//! httpd.conf  error.log  access.log  stderr.log  httpd.pid  cgid.sock  fcgid/
//! htdocs/             the document root, http://127.0.0.1:PORT/
//!   cgi/  fcgi/       the two roost sites (created on first use)
//!   NAME/             sites made by roost_site() / shell_site()
//! vroot/              document root of the virtual host "root.test": a site at "/"
//! homes/NAME/         a user's home made by new_home(), served two ways:
//!   public_html/      http://NAME.home.test:PORT/ (a virtual host per home)
//!                     and http://127.0.0.1:PORT/~NAME/ (mod_userdir)
//! data/NAME/          each site's data directory, outside every document root
//! conf.d/             extra config (the virtual host)
//! ```
//!
//! Tests share the instance and its sites: look for your own unique text
//! (`common::unique`), or make your own site with [`Apache::roost_site`].

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::http::{self, HttpResponse};
use super::{OWNER_NAME, OWNER_PASSWORD, cgi_user, chown_to_cgi_user, create_unique_dir, set_mode};

/// The config template; see its header for the placeholders.
pub const CONFIG_TEMPLATE: &str = include_str!("../apache/httpd.conf.in");
/// The repository's sample.htaccess, as users get it.
pub const SAMPLE_HTACCESS: &str = include_str!("../../sample.htaccess");
/// A CGI that prints its uid, the request body (it must read it: Apache cuts
/// the response short if a CGI leaves the body unread) and its whole
/// environment, as `KEY=VALUE` lines.
pub const ENV_SCRIPT: &str = r#"#!/bin/sh
body=$(head -c "${CONTENT_LENGTH:-0}")
printf 'Content-Type: text/plain\r\n\r\n'
printf 'FIXTURE_UID=%s\n' "$(id -u)"
printf 'FIXTURE_BODY=%s\n' "$body"
exec /usr/bin/env
"#;
/// Server name of the virtual host whose document root is itself a site.
pub const VHOST_NAME: &str = "root.test";
/// `NAME.HOMES_DOMAIN` is the virtual host of the home made by `new_home(NAME)`.
pub const HOMES_DOMAIN: &str = "home.test";

const APACHE_BIN: &str = "/usr/sbin/apache2";
const ALIVE_FILE: &str = "roost-fixture-alive.txt";
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How a site runs roost.cgi.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// mod_cgid: one process per request. Finds its data by `SetEnv ROOST_HOME`
    /// appended to the site's .htaccess.
    Cgi,
    /// mod_fcgid (sample.htaccess's fcgid variant). Finds its data by a
    /// `roost.conf` (`home = DIR`) next to the binary.
    Fcgid,
}

/// Which MPM and CGI module an instance runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mpm {
    /// mpm_event with mod_cgid (Debian's default).
    Event,
    /// mpm_prefork with mod_cgi (started with `-DROOST_PREFORK`).
    Prefork,
}

pub struct Apache {
    mpm: Mpm,
    root: PathBuf,
    docroot: PathBuf,
    port: u16,
    pid: u32,
    names: Mutex<HashSet<String>>,
    cgi: OnceLock<Result<Site, String>>,
    fcgi: OnceLock<Result<Site, String>>,
    vhost_root: OnceLock<Result<Site, String>>,
}

/// The test binary's Apache, started on first use (in well under a second).
/// Panics, with Apache's error log, if it cannot start.
pub fn apache() -> &'static Apache {
    static APACHE: OnceLock<Result<Apache, String>> = OnceLock::new();
    match APACHE.get_or_init(|| Apache::start(Mpm::Event)) {
        Ok(a) => a,
        Err(e) => panic!("{e}"),
    }
}

/// The test binary's prefork + mod_cgi Apache (an instance of its own),
/// started on first use. Panics, with Apache's error log, if it cannot start.
pub fn prefork_apache() -> &'static Apache {
    static APACHE: OnceLock<Result<Apache, String>> = OnceLock::new();
    match APACHE.get_or_init(|| Apache::start(Mpm::Prefork)) {
        Ok(a) => a,
        Err(e) => panic!("{e}"),
    }
}

/// Fills the config template's placeholders.
pub fn render_config(root: &Path, port: u16, docroot: &Path, user: &str, group: &str) -> String {
    CONFIG_TEMPLATE
        .replace("@ROOT@", &root.display().to_string())
        .replace("@PORT@", &port.to_string())
        .replace("@DOCROOT@", &docroot.display().to_string())
        .replace("@USER@", user)
        .replace("@GROUP@", group)
}

/// sample.htaccess switched to its fcgid variant, exactly as its header tells a
/// script to: drop the "cgi variant" block, strip the `#FCGID# ` prefixes.
pub fn fcgid_variant(htaccess: &str) -> String {
    roost::htaccess::fcgid_variant(htaccess)
}

impl Apache {
    pub fn mpm(&self) -> Mpm {
        self.mpm
    }

    /// The arguments Apache was started with after `-f httpd.conf`: add them
    /// to any other `apache2 -f` run on this instance's config (say `-M`).
    pub fn defines(&self) -> &'static [&'static str] {
        match self.mpm {
            Mpm::Event => &[],
            Mpm::Prefork => &["-DROOST_PREFORK"],
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port))
    }

    /// The main Apache process (the one the watchdog stops).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The instance directory (config, logs, document roots, data).
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn docroot(&self) -> &Path {
        &self.docroot
    }

    /// Everything Apache logged (startup errors, CGI stderr, rewrite refusals).
    pub fn error_log(&self) -> String {
        read_lossy(&self.root.join("error.log"))
    }

    pub fn access_log(&self) -> String {
        read_lossy(&self.root.join("access.log"))
    }

    /// GET from the main host (not a site): `path` is absolute.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        http::get(self.addr(), path, headers)
    }

    /// The shared CGI site at `/cgi/`, created on first use: roost initialised
    /// for "Test Owner", data found through `SetEnv ROOST_HOME`.
    pub fn cgi(&self) -> &Site {
        self.site(Kind::Cgi)
    }

    /// The shared FastCGI site at `/fcgi/`, created on first use: data found
    /// through `roost.conf` next to the binary.
    pub fn fcgi(&self) -> &Site {
        self.site(Kind::Fcgid)
    }

    /// [`Apache::cgi`] or [`Apache::fcgi`].
    pub fn site(&self, kind: Kind) -> &Site {
        let (cell, name) = match kind {
            Kind::Cgi => (&self.cgi, "cgi"),
            Kind::Fcgid => (&self.fcgi, "fcgi"),
        };
        match cell.get_or_init(|| self.try_roost_site(name, kind)) {
            Ok(site) => site,
            Err(e) => panic!("{e}"),
        }
    }

    /// A new roost site of its own at `/NAME/` (fresh data, same owner and
    /// password as the shared ones), for tests that must not see other tests'
    /// posts. `name` must be new to this Apache: use `common::unique`.
    pub fn roost_site(&self, name: &str, kind: Kind) -> Site {
        self.try_roost_site(name, kind)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Apache::roost_site`] named `unique(label)` that may reach loopback
    /// (polling, delivering: the peers live there) and shows its timeline to
    /// visitors.
    pub fn loopback_roost_site(&self, label: &str, kind: Kind) -> Site {
        let site = self.roost_site(&super::unique(label), kind);
        site.cli_ok(&["config", "allow_private_addresses", "true"]);
        site.cli_ok(&["config", "public_timeline", "true"]);
        site
    }

    /// A site at `/NAME/` whose roost.cgi is `script` (a shell CGI, say
    /// [`ENV_SCRIPT`]) with sample.htaccess (cgi variant) plus
    /// `SetEnv ROOST_HOME` naming an empty data directory: for testing the
    /// .htaccess itself. `name` must be new to this Apache.
    pub fn shell_site(&self, name: &str, script: &str) -> Site {
        let dir = self.new_site_dir(name).unwrap_or_else(|e| panic!("{e}"));
        let (prefix, host) = (format!("/{name}"), format!("127.0.0.1:{}", self.port));
        self.fill_shell_site(name, dir, &prefix, host, script)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The [`ENV_SCRIPT`] site at the document root of the virtual host
    /// [`VHOST_NAME`] (the usual shared-hosting layout: .htaccess and roost.cgi
    /// at "/"). Its requests carry `Host: root.test:PORT`.
    pub fn vhost_root_site(&self) -> &Site {
        let site = self.vhost_root.get_or_init(|| {
            let host = format!("{VHOST_NAME}:{}", self.port);
            self.fill_shell_site("vhost-root", self.root.join("vroot"), "", host, ENV_SCRIPT)
        });
        match site {
            Ok(site) => site,
            Err(e) => panic!("{e}"),
        }
    }

    /// A new user home `homes/NAME` (0755, the CGI user's) with an empty
    /// `public_html/`, served at once (no restart) as the virtual host
    /// `NAME.home.test` and at `/~NAME/` of the main host. `name` must be new
    /// to this Apache and a valid host name label: use `common::unique`.
    pub fn new_home(&self, name: &str) -> UserHome {
        let ok = !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        assert!(ok, "bad home name {name:?}: use [a-z0-9-], at most 63");
        assert!(
            self.names.lock().unwrap().insert(format!("~{name}")),
            "home name {name:?} already used in this Apache"
        );
        let path = self.root.join("homes").join(name);
        for dir in [&path, &path.join("public_html")] {
            mkdir(dir).unwrap_or_else(|e| panic!("{e}"));
            chown_to_cgi_user(dir);
        }
        UserHome {
            name: name.to_string(),
            path,
            port: self.port,
            addr: self.addr(),
        }
    }

    fn start(mpm: Mpm) -> Result<Apache, String> {
        let started = Instant::now();
        let root = create_unique_dir(&instance_parent(), "roost-apache");
        let docroot = root.join("htdocs");
        for dir in ["htdocs", "vroot", "data", "conf.d", "homes"] {
            mkdir(&root.join(dir))?;
        }
        chown_to_cgi_user(&root.join("data"));
        // The readiness probe: its text names this instance, so another test
        // binary's Apache that grabbed the same port cannot pass for ours.
        let alive = format!("alive {}\n", root.display());
        write(&docroot.join(ALIVE_FILE), alive.as_bytes())?;

        let (user, group) = match cgi_user() {
            Some(u) => (u.name.clone(), u.group.clone()),
            None => {
                let (uid, gid) = super::current_ids();
                (format!("#{uid}"), format!("#{gid}"))
            }
        };
        let mut last_error = String::new();
        for _attempt in 0..5 {
            let port = free_port()?;
            let conf = root.join("httpd.conf");
            write(
                &conf,
                render_config(&root, port, &docroot, &user, &group).as_bytes(),
            )?;
            write(
                &root.join("conf.d/vhost.conf"),
                vhost_config(&root, port).as_bytes(),
            )?;

            let stderr = fs::File::create(root.join("stderr.log")).map_err(|e| e.to_string())?;
            let stdout = stderr.try_clone().map_err(|e| e.to_string())?;
            let defines: &[&str] = match mpm {
                Mpm::Event => &[],
                Mpm::Prefork => &["-DROOST_PREFORK"],
            };
            let mut child = Command::new(APACHE_BIN)
                .arg("-f")
                .arg(&conf)
                .args(defines)
                .arg("-DFOREGROUND")
                .stdin(Stdio::null())
                .stdout(stdout)
                .stderr(stderr)
                // Its own process group: a Ctrl-C meant for cargo leaves it to
                // the watchdog, which also cleans up.
                .process_group(0)
                .spawn()
                .map_err(|e| format!("cannot start {APACHE_BIN}: {e}"))?;
            let mut watchdog = spawn_watchdog(child.id(), &root)?;

            let probe = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
            match wait_until_ready(&mut child, probe, &alive, &root.join("error.log")) {
                Ready::Yes => {
                    let pid = child.id();
                    // Never waited for: it outlives this process, until the
                    // watchdog stops it.
                    drop(child);
                    let apache = Apache {
                        mpm,
                        root,
                        docroot,
                        port,
                        pid,
                        names: Mutex::new(HashSet::new()),
                        cgi: OnceLock::new(),
                        fcgi: OnceLock::new(),
                        vhost_root: OnceLock::new(),
                    };
                    let took = started.elapsed();
                    if took > Duration::from_secs(3) {
                        eprintln!("note: the test Apache took {took:?} to start");
                    }
                    return Ok(apache);
                }
                Ready::Exited(status) => {
                    // Our own child, by its pid, before it could act on a pid
                    // that no longer is Apache's.
                    let _ = watchdog.kill();
                    let _ = watchdog.wait();
                    let logs = logs_of(&root);
                    last_error = format!("Apache exited ({status}) on port {port}:\n{logs}");
                    if logs.contains("Address already in use") {
                        continue;
                    }
                    break;
                }
                Ready::TimedOut => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = watchdog.kill();
                    let _ = watchdog.wait();
                    last_error = format!(
                        "Apache did not answer on port {port} within {START_TIMEOUT:?}:\n{}",
                        logs_of(&root)
                    );
                    break;
                }
            }
        }
        Err(format!(
            "cannot start the test Apache (instance {}): {last_error}",
            root.display()
        ))
    }

    fn try_roost_site(&self, name: &str, kind: Kind) -> Result<Site, String> {
        let dir = self.new_site_dir(name)?;
        let home = self.root.join("data").join(name);
        let binary = dir.join("roost.cgi");
        install_binary(&super::roost_bin(), &binary)?;
        let htaccess = match kind {
            Kind::Cgi => format!(
                "{SAMPLE_HTACCESS}\n# Added by the test fixture.\nSetEnv ROOST_HOME \"{}\"\n",
                home.display()
            ),
            Kind::Fcgid => {
                write(
                    &dir.join("roost.conf"),
                    format!("home = {}\n", home.display()).as_bytes(),
                )?;
                fcgid_variant(SAMPLE_HTACCESS)
            }
        };
        write(&dir.join(".htaccess"), htaccess.as_bytes())?;
        let site = Site {
            name: name.to_string(),
            kind,
            path_prefix: format!("/{name}"),
            dir,
            home,
            host: format!("127.0.0.1:{}", self.port),
            binary: Some(binary),
            addr: self.addr(),
        };
        let out = site.cli(
            &[
                "init",
                "--url",
                &site.base_url(),
                "--name",
                OWNER_NAME,
                "--password-stdin",
            ],
            Some(OWNER_PASSWORD),
        );
        if !out.status.success() {
            return Err(format!(
                "`roost init` for the test site {name} failed ({}):\nstdout: {}\nstderr: {}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(site)
    }

    fn fill_shell_site(
        &self,
        name: &str,
        dir: PathBuf,
        path_prefix: &str,
        host: String,
        script: &str,
    ) -> Result<Site, String> {
        let home = self.root.join("data").join(name);
        mkdir(&home)?;
        chown_to_cgi_user(&home);
        let script_path = dir.join("roost.cgi");
        write(&script_path, script.as_bytes())?;
        set_mode(&script_path, 0o755);
        let htaccess = format!(
            "{SAMPLE_HTACCESS}\n# Added by the test fixture.\nSetEnv ROOST_HOME \"{}\"\n",
            home.display()
        );
        write(&dir.join(".htaccess"), htaccess.as_bytes())?;
        Ok(Site {
            name: name.to_string(),
            kind: Kind::Cgi,
            path_prefix: path_prefix.to_string(),
            dir,
            home,
            host,
            binary: None,
            addr: self.addr(),
        })
    }

    /// Creates htdocs/NAME (0755), refusing names already used or unsafe.
    fn new_site_dir(&self, name: &str) -> Result<PathBuf, String> {
        let ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && name != "vhost-root";
        if !ok {
            return Err(format!("bad site name {name:?}: use [A-Za-z0-9_-]"));
        }
        if !self.names.lock().unwrap().insert(name.to_string()) {
            return Err(format!("site name {name:?} already used in this Apache"));
        }
        let dir = self.docroot.join(name);
        mkdir(&dir)?;
        Ok(dir)
    }
}

/// One directory of the document root (or the virtual host's root) with its
/// roost.cgi and .htaccess, and the data directory it uses.
#[derive(Debug)]
pub struct Site {
    pub name: String,
    pub kind: Kind,
    /// The URL path it is mounted at, without trailing slash: "/cgi", or "".
    pub path_prefix: String,
    /// The directory holding roost.cgi and .htaccess.
    pub dir: PathBuf,
    /// Its data directory (outside the document root).
    pub home: PathBuf,
    /// Value of the Host header its requests carry.
    pub host: String,
    /// The site's own copy of roost (None for shell sites).
    pub binary: Option<PathBuf>,
    addr: SocketAddr,
}

impl Site {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL roost was initialised with: "http://127.0.0.1:PORT/cgi/".
    pub fn base_url(&self) -> String {
        format!("http://{}{}/", self.host, self.path_prefix)
    }

    /// Absolute URL of `path` (which starts with "/").
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.host, self.path(path))
    }

    /// The request path for the site-relative `path`: "/posts/1" -> "/cgi/posts/1".
    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", self.path_prefix)
    }

    /// GET the site-relative `path` (sent as is: escape it yourself).
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        self.send("GET", path, headers, None)
    }

    /// POST a form (see `http::form_encode`) to the site-relative `path`.
    pub fn post_form(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
        let mut h = headers.to_vec();
        if !h
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("Content-Type"))
        {
            h.push(("Content-Type", "application/x-www-form-urlencoded"));
        }
        self.send("POST", path, &h, Some(body.as_bytes()))
    }

    /// Any method on the site-relative `path`, with this site's Host header.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> HttpResponse {
        let mut h = headers.to_vec();
        if !h.iter().any(|(n, _)| n.eq_ignore_ascii_case("Host")) {
            h.push(("Host", &self.host));
        }
        http::send(self.addr, method, &self.path(path), &h, body)
    }

    /// A raw request for the site-relative `path` given as bytes (invalid UTF-8
    /// allowed): `GET PREFIX+path HTTP/1.1` with Host and Connection: close.
    pub fn get_raw_path(&self, path: &[u8]) -> HttpResponse {
        let mut raw = format!("GET {}", self.path_prefix).into_bytes();
        raw.extend_from_slice(path);
        raw.extend_from_slice(
            format!(
                " HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                self.host
            )
            .as_bytes(),
        );
        http::request(self.addr, &raw)
    }

    /// Asserts that GET `path` is refused (403 or 404) and that the body
    /// holds none of `leaks` (the bytes of a secret file, say).
    pub fn assert_refused(&self, path: &str, leaks: &[&[u8]]) {
        let resp = self.get(path, &[]);
        assert!(
            resp.status == 403 || resp.status == 404,
            "{path} must be refused:\n{resp:?}"
        );
        for leak in leaks {
            assert!(
                !resp.body.windows(leak.len()).any(|w| w == *leak),
                "{path} leaked {:?}",
                String::from_utf8_lossy(leak)
            );
        }
    }

    /// Sends the login form `form` (the answer to GET /login) back filled in
    /// with the owner's password, its CSRF token and cookie; returns the answer
    /// (303 with a `roost_session` cookie when it worked).
    pub fn submit_login(&self, form: &HttpResponse) -> HttpResponse {
        let login_cookie = form
            .cookie("roost_login")
            .expect("the login form sets its CSRF cookie");
        let body = http::form_encode(&[
            ("csrf", &super::process::hidden_csrf(&form.text())),
            ("password", OWNER_PASSWORD),
        ]);
        self.post_form(
            "/login",
            &body,
            &[("Cookie", &format!("roost_login={login_cookie}"))],
        )
    }

    /// Runs this site's roost (`--home` its data directory) as the CGI user.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let bin = self
            .binary
            .as_ref()
            .unwrap_or_else(|| panic!("site {} runs a script, not roost", self.name));
        super::run_cli(bin, &self.home, args, stdin)
    }

    /// [`Site::cli`] that must succeed: its stdout.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        super::expect_success(&args.join(" "), &self.cli(args, None))
    }

    /// GET /timeline as a visitor (the site's timeline made public first).
    pub fn public_timeline(&self) -> String {
        let page = self.get("/timeline", &[]);
        assert_eq!(page.status, 200, "{page:?}");
        page.text()
    }

    /// Posts `text` with this site's `roost post`: the post's permalink, and
    /// its path on the site (for `url` and `get`).
    pub fn post_cli(&self, text: &str) -> (String, String) {
        let out = super::expect_success("post", &self.cli(&["post", text], None));
        let permalink = out.trim().to_string();
        let path = permalink
            .strip_prefix(self.base_url().trim_end_matches('/'))
            .unwrap_or_else(|| panic!("{permalink} is not on {}", self.base_url()))
            .to_string();
        (permalink, path)
    }

    /// Writes a file (0644) in the site's directory, e.g. a static file or a
    /// decoy `x.db` to check it is refused. `rel` may name new subdirectories.
    pub fn write_file(&self, rel: &str, contents: &[u8]) {
        let path = self.dir.join(rel);
        let mut dir = self.dir.clone();
        for part in Path::new(rel)
            .parent()
            .into_iter()
            .flat_map(Path::components)
        {
            dir.push(part);
            if !dir.is_dir() {
                mkdir(&dir).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        write(&path, contents).unwrap_or_else(|e| panic!("{e}"));
    }
}

enum Ready {
    Yes,
    Exited(ExitStatus),
    TimedOut,
}

/// Ready: the probe file is served and the parent has logged that it runs
/// (it logs that after forking the children, which may answer first).
fn wait_until_ready(child: &mut Child, addr: SocketAddr, alive: &str, log: &Path) -> Ready {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Ready::Exited(status);
        }
        let raw = http::build_request(addr, "GET", &format!("/{ALIVE_FILE}"), &[], None);
        if let Ok(resp) = http::try_request(addr, &raw)
            && resp.status == 200
            && resp.body == alive.as_bytes()
            && read_lossy(log).contains("resuming normal operations")
        {
            return Ready::Yes;
        }
        if Instant::now() >= deadline {
            return Ready::TimedOut;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `sh` that waits for this process to end, then stops Apache (by its pid) and
/// removes the instance directory.
fn spawn_watchdog(apache_pid: u32, root: &Path) -> Result<Child, String> {
    const SCRIPT: &str = r#"
        while kill -0 "$1" 2>/dev/null; do sleep 0.5; done
        kill -TERM "$2" 2>/dev/null
        i=0
        while kill -0 "$2" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i+1)); done
        rm -rf "$3"
    "#;
    Command::new("/bin/sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("roost-apache-watchdog")
        .arg(std::process::id().to_string())
        .arg(apache_pid.to_string())
        .arg(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start the watchdog shell: {e}"))
}

fn vhost_config(root: &Path, port: u16) -> String {
    let vroot = root.join("vroot");
    let homes = root.join("homes");
    let mut c = String::new();
    // Every home's public_html, as a shared host's per-user directories.
    let _ = writeln!(
        c,
        "<Directory \"{h}\">\n  Options None\n  AllowOverride All\n  Require all granted\n</Directory>",
        h = homes.display()
    );
    // The first virtual host is the default: the main server's settings, plus
    // /~NAME/ through mod_userdir, as shared hosts do it (an AliasMatch would
    // not do: mod_rewrite in .htaccess needs the context mod_userdir sets).
    let _ = writeln!(
        c,
        "<VirtualHost 127.0.0.1:{port}>\n  UserDir \"{h}/*/public_html\"\n</VirtualHost>",
        h = homes.display()
    );
    let _ = writeln!(
        c,
        "<VirtualHost 127.0.0.1:{port}>\n  ServerName {HOMES_DOMAIN}\n  ServerAlias *.{HOMES_DOMAIN}\n  \
         VirtualDocumentRoot \"{h}/%1/public_html\"\n</VirtualHost>",
        h = homes.display()
    );
    let _ = writeln!(
        c,
        "<VirtualHost 127.0.0.1:{port}>\n  ServerName {VHOST_NAME}\n  DocumentRoot \"{v}\"\n  \
         <Directory \"{v}\">\n    Options None\n    AllowOverride All\n    Require all granted\n  \
         </Directory>\n</VirtualHost>",
        v = vroot.display()
    );
    c
}

/// Where instance directories go: the temp dir, unless the CGI user could not
/// reach into it (a private TMPDIR while running as root), then /tmp.
fn instance_parent() -> PathBuf {
    let tmp = std::env::temp_dir();
    if cgi_user().is_none() || traversable_by_all(&tmp) {
        tmp
    } else {
        PathBuf::from("/tmp")
    }
}

fn traversable_by_all(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.ancestors().all(|p| {
        fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o001 != 0)
            .unwrap_or(false)
    })
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind 127.0.0.1:0: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("local_addr: {e}"))
}

/// Copies the binary under a temporary name and renames it into place, mode
/// 0755, owned by whoever runs the tests (root or the CGI user: never writable
/// by anyone else, as suexec demands).
fn install_binary(from: &Path, to: &Path) -> Result<(), String> {
    let tmp = to.with_extension("tmp");
    fs::copy(from, &tmp).map_err(|e| {
        format!(
            "cannot copy the roost binary {} (build it, or set ROOST_BIN): {e}",
            from.display()
        )
    })?;
    set_mode(&tmp, 0o755);
    fs::rename(&tmp, to).map_err(|e| format!("rename to {}: {e}", to.display()))
}

fn logs_of(root: &Path) -> String {
    format!(
        "--- stderr ---\n{}\n--- error.log ---\n{}",
        read_lossy(&root.join("stderr.log")),
        read_lossy(&root.join("error.log"))
    )
}

fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|e| format!("({}: {e})", path.display()))
}

fn mkdir(path: &Path) -> Result<(), String> {
    fs::create_dir(path).map_err(|e| format!("mkdir {}: {e}", path.display()))?;
    set_mode(path, 0o755);
    Ok(())
}

/// Writes a file readable by Apache's children whatever the umask: 0644.
fn write(path: &Path, contents: &[u8]) -> Result<(), String> {
    fs::write(path, contents).map_err(|e| format!("write {}: {e}", path.display()))?;
    set_mode(path, 0o644);
    Ok(())
}

/// A user's home on the shared host (see [`Apache::new_home`]): `path` holds
/// `public_html/`, the document root.
#[derive(Debug)]
pub struct UserHome {
    pub name: String,
    pub path: PathBuf,
    port: u16,
    addr: SocketAddr,
}

impl UserHome {
    /// `public_html`, the home's document root.
    pub fn docroot(&self) -> PathBuf {
        self.path.join("public_html")
    }

    /// roost installed in `public_html/SUB` (`""`: public_html itself) with
    /// its data in `data`, seen through the home's virtual host:
    /// `http://NAME.home.test:PORT/SUB/`.
    pub fn vhost_site(&self, sub: &str, data: &Path) -> Site {
        let host = format!("{}.{HOMES_DOMAIN}:{}", self.name, self.port);
        self.site(sub, "", host, data)
    }

    /// The same, seen the mod_userdir way: `http://127.0.0.1:PORT/~NAME/SUB/`.
    pub fn tilde_site(&self, sub: &str, data: &Path) -> Site {
        let host = format!("127.0.0.1:{}", self.port);
        self.site(sub, &format!("/~{}", self.name), host, data)
    }

    fn site(&self, sub: &str, above: &str, host: String, data: &Path) -> Site {
        let sub = sub.trim_matches('/');
        let dir = if sub.is_empty() {
            self.docroot()
        } else {
            self.docroot().join(sub)
        };
        let path_prefix = if sub.is_empty() {
            above.to_string()
        } else {
            format!("{above}/{sub}")
        };
        Site {
            name: self.name.clone(),
            kind: Kind::Cgi,
            path_prefix,
            binary: Some(dir.join("roost.cgi")),
            dir,
            home: data.to_path_buf(),
            host,
            addr: self.addr,
        }
    }
}
