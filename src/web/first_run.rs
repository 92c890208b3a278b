//! Setting roost up from the browser, for hosts with FTP and no shell. A
//! node whose binary has no `roost.conf` beside it (and no `ROOST_HOME`)
//! answers every request here: proof of ownership first (a one-time code
//! written to `roost-setup-code.txt` beside roost.cgi, 0600, which the
//! owner downloads; wrong codes throttled per address like logins), then
//! the form; nothing is created before the code matches. Setting up makes
//! the data directory (0700, never inside the document root), the database
//! (`cli::create_home`, as `roost init`), roost's `.htaccess` block
//! (`htaccess`, as `install`), and last `roost.conf`, which ends this mode.
//! After it: `GET /install` (the cron line and its check) and `POST
//! /install` (a second visitor: refused). Pages are in `render::first_run`.

use super::app::Ctx;
use super::auth::{self, Cookies};
use super::http::{Request, Response};
use crate::render::first_run::{self as pages, CODE_FILE, CronSeen, Fields};
use crate::render::{self, Site, layout};
use crate::settings::{self, Settings};
use crate::{hint, home, htaccess, store};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// Wrong codes, one `KEY TIME` line each, beside roost.cgi (a dotfile:
/// sample.htaccess refuses it); removed when setup is done.
const ATTEMPTS_FILE: &str = ".roost-setup-attempts";

/// The directory the data is proposed in, below the home.
const PROPOSED_NAME: &str = "roost-data";

/// Answers any request to a node that is not set up. Never a 500 with a
/// path: what goes wrong is told in words, the details in the error log.
pub fn answer(req: &Request) -> Response {
    let response = match answer_inner(req) {
        Ok(response) => response,
        Err(error) => {
            eprintln!("roost: setup: {error:#}");
            refusal(
                req,
                500,
                "Setting roost up failed. Nothing was set up; the web server's error log says why. \
                 Reload this page to try again.",
            )
        }
    };
    response.with_header("Cache-Control", "no-store")
}

/// Where roost.cgi is, and the document root it is served from.
struct Place {
    dir: PathBuf,
    document_root: PathBuf,
}

impl Place {
    fn of(req: &Request) -> Option<Place> {
        let cgi = std::env::current_exe().ok()?;
        let dir = cgi.parent()?.to_path_buf();
        let document_root = req
            .document_root
            .as_deref()
            .and_then(|d| std::fs::canonicalize(d).ok())
            .unwrap_or_else(|| dir.clone());
        Some(Place { dir, document_root })
    }

    /// The home the document root is in: `~/public_html`'s parent, and
    /// `~/domains/HOST/public_html`'s `~`.
    fn home(&self) -> PathBuf {
        let above = self.document_root.parent().unwrap_or(Path::new("/"));
        match above.parent() {
            Some(domains) if domains.file_name().is_some_and(|n| n == "domains") => {
                domains.parent().unwrap_or(Path::new("/")).to_path_buf()
            }
            _ => above.to_path_buf(),
        }
    }

    fn proposed_data(&self) -> PathBuf {
        self.home().join(PROPOSED_NAME)
    }
}

fn bare_page<'a>(site: &'a Site, title: &'a str) -> layout::Page<'a> {
    layout::Page {
        site,
        title,
        session: None,
        clock: render::Clock::UTC,
        unread: 0,
        cron_never_ran: false,
    }
}

fn bare_site(req: &Request) -> Site {
    Site {
        name: "roost".into(),
        bio: String::new(),
        url: "/".into(),
        base: req.base.clone(),
    }
}

fn refusal(req: &Request, status: u16, message: &str) -> Response {
    let site = bare_site(req);
    Response::html(
        status,
        pages::refused(&bare_page(&site, "Set up roost"), status, message),
    )
}

fn code_page(req: &Request, status: u16, message: Option<&str>) -> Response {
    let site = bare_site(req);
    Response::html(
        status,
        pages::code_page(&bare_page(&site, "Set up roost"), message),
    )
}

fn form_page(req: &Request, status: u16, fields: &Fields, message: Option<&str>) -> Response {
    let site = bare_site(req);
    Response::html(
        status,
        pages::form_page(&bare_page(&site, "Set up roost"), fields, message),
    )
}

fn answer_inner(req: &Request) -> Result<Response> {
    let Some(place) = Place::of(req) else {
        return Ok(refusal(
            req,
            503,
            "roost cannot find where it is installed, so it cannot be set up from the browser. \
             Use `sh install` where you have a shell.",
        ));
    };
    let code = match setup_code(&place.dir) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("roost: setup: {error:#}");
            return Ok(refusal(
                req,
                503,
                &format!(
                    "roost cannot write the file {CODE_FILE} into the folder that holds \
                     roost.cgi, so it cannot prove this site is yours. In your FTP client, make \
                     that folder yours and writable by you (mode 755), then reload this page."
                ),
            ));
        }
    };
    let is_form = req.method == "POST" && req.path.trim_end_matches('/') == "/install";
    if !is_form {
        // Every other address, whatever it is, is the first step.
        return Ok(code_page(req, 503, None).with_header("Retry-After", "3600"));
    }
    if let Some(why) = cross_site(req) {
        return Ok(refusal(req, 403, &why));
    }
    let Some(form) = req.form_fields() else {
        return Ok(code_page(
            req,
            400,
            Some("The form arrived damaged; send it again."),
        ));
    };
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let now = chrono::Utc::now().timestamp();
    let key = auth::throttle_key(&req.remote_addr);
    let attempts = place.dir.join(ATTEMPTS_FILE);
    let (failures, last) = failures(&attempts, &key, now);
    if let Some(wait) = auth::throttle_wait(failures, last, now) {
        let message = format!(
            "Too many wrong codes were sent from your address. Try again in {}.",
            auth::wait_in_words(wait)
        );
        return Ok(
            code_page(req, 429, Some(&message)).with_header("Retry-After", &wait.to_string())
        );
    }
    let given = field("code").trim();
    if !auth::tokens_match(
        &auth::sha256_hex(given.as_bytes()),
        &auth::sha256_hex(code.as_bytes()),
    ) {
        if let Err(error) = record_failure(&attempts, &key, now) {
            eprintln!("roost: setup: {error:#}");
        }
        let message = format!(
            "That is not the code in {CODE_FILE}. Download the file again and copy all of \
             what it holds."
        );
        return Ok(code_page(req, 403, Some(&message)));
    }
    let proposed = place.proposed_data().to_string_lossy().into_owned();
    let url = guessed_url(req);
    let mut fields = Fields {
        code: given,
        name: field("name"),
        url: field("url"),
        data: field("data"),
    };
    if field("step") != "create" {
        fields.url = &url;
        fields.data = &proposed;
        return Ok(form_page(req, 200, &fields, None));
    }
    match set_up(req, &place, &fields, field("password"), field("again"), now) {
        Ok(response) => Ok(response),
        Err(Refused(status, message)) => Ok(form_page(req, status, &fields, Some(&message))),
    }
}

/// The code in `DIR/roost-setup-code.txt`, made (0600) on the first visit.
fn setup_code(dir: &Path) -> Result<String> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(CODE_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => return Ok(text.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let code = auth::random_token()?[..24].to_string();
    let made = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path);
    match made {
        Ok(mut file) => {
            file.write_all(format!("{code}\n").as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(code)
        }
        // Another request made it first: its code is the one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(&path)?.trim().to_string())
        }
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

/// How many wrong codes `key` sent within the login's memory, and when the last.
fn failures(attempts: &Path, key: &str, now: i64) -> (i64, Option<i64>) {
    let text = std::fs::read_to_string(attempts).unwrap_or_default();
    let since = now - auth::FAILURE_MEMORY_SECONDS;
    let times: Vec<i64> = text
        .lines()
        .filter_map(|line| line.rsplit_once(' '))
        .filter(|(k, _)| *k == key)
        .filter_map(|(_, t)| t.parse().ok())
        .filter(|t| *t > since)
        .collect();
    (times.len() as i64, times.iter().max().copied())
}

fn record_failure(attempts: &Path, key: &str, now: i64) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(attempts)
        .with_context(|| format!("opening {}", attempts.display()))?;
    file.write_all(format!("{key} {now}\n").as_bytes())
        .with_context(|| format!("writing {}", attempts.display()))
}

/// A POST from another site, by the browser's word: Fetch Metadata, or an
/// `Origin` whose host is not the one asked (no `url` setting exists yet).
fn cross_site(req: &Request) -> Option<String> {
    let refused = "This form was sent from another site, so it was refused. Open this site's \
                   address and send the form from there."
        .to_string();
    if req
        .header("sec-fetch-site")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("cross-site"))
    {
        return Some(refused);
    }
    let origin = req.header("origin")?;
    let host = url::Url::parse(origin.trim()).ok().and_then(|u| {
        let host = u.host_str()?.to_string();
        Some(match u.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        })
    });
    let asked = req.header("host").unwrap_or("");
    (host.as_deref() != Some(asked)).then_some(refused)
}

/// The site's address as this request reached it.
fn guessed_url(req: &Request) -> String {
    let Some(host) = req.header("host").filter(|h| !h.is_empty()) else {
        return String::new();
    };
    let scheme = if req.https { "https" } else { "http" };
    format!("{scheme}://{host}{}/", req.base)
}

/// Why the form was not taken: its status and what to change.
struct Refused(u16, String);

fn refused(message: impl Into<String>) -> Refused {
    Refused(400, message.into())
}

/// Checks everything, then creates the data directory and database, merges
/// the `.htaccess` block and writes `roost.conf`, and logs the owner in.
fn set_up(
    req: &Request,
    place: &Place,
    fields: &Fields,
    password: &str,
    again: &str,
    now: i64,
) -> Result<Response, Refused> {
    let name = settings::validate("name", fields.name.trim())
        .map_err(|e| refused(format!("Your name: {e:#}.")))?;
    let url = settings::validate("url", fields.url.trim())
        .map_err(|e| refused(format!("The site's address: {e:#}.")))?;
    if password != again {
        return Err(refused(
            "The two passwords differ. Type the same password twice.",
        ));
    }
    auth::check_password_strength(password)
        .map_err(|e| refused(format!("The password: {e:#}.")))?;
    let data = data_directory(place, fields.data.trim())?;
    let htaccess = htaccess::prepare(&place.dir)
        .map_err(|e| refused(format!("{e:#}. Then send this form again.")))?;

    let made = !data.exists();
    create(place, &data, &url, &name, password, &htaccess).map_err(|error| {
        eprintln!("roost: setup: {error:#}");
        if made {
            std::fs::remove_dir_all(&data).ok();
        }
        Refused(
            500,
            format!("Setting up failed, and nothing was kept: {error:#}."),
        )
    })?;
    std::fs::remove_file(place.dir.join(CODE_FILE)).ok();
    std::fs::remove_file(place.dir.join(ATTEMPTS_FILE)).ok();

    let site = Site {
        name,
        bio: String::new(),
        url,
        base: req.base.clone(),
    };
    let cookies = Cookies::for_site(&site.url, req);
    let cookie = store::open_for_web(&data)
        .and_then(|mut conn| {
            store::write_unseen(&mut conn, |tx| auth::start_session(tx, &cookies, now))
        })
        .map_err(|error| {
            eprintln!("roost: setup: logging in: {error:#}");
            Refused(
                500,
                "roost is set up, but logging you in failed: log in with your password.".into(),
            )
        })?;
    Ok(Response::see_other(&site.redirect_target("install")).with_header("Set-Cookie", &cookie))
}

/// The data directory typed, made absolute through the existing part of
/// it (symlinks resolved), refused inside the document root or the folder
/// of roost.cgi, or where it already holds something.
fn data_directory(place: &Place, typed: &str) -> Result<PathBuf, Refused> {
    let proposal = place.proposed_data();
    let typed = Path::new(typed);
    if !typed.is_absolute() || typed.components().any(|c| c == Component::ParentDir) {
        return Err(refused(format!(
            "The data folder must be a full path without \"..\", such as {}.",
            proposal.display()
        )));
    }
    let data = resolved(typed);
    for (root, what) in [
        (&place.document_root, "the site's document root"),
        (&place.dir, "the folder of roost.cgi"),
    ] {
        if data.starts_with(root) {
            return Err(refused(format!(
                "The data folder {} is inside {what} ({}), where the web server could hand \
                 your data out. Choose a folder outside it, such as {}.",
                data.display(),
                root.display(),
                proposal.display()
            )));
        }
        if root.starts_with(&data) {
            return Err(refused(format!(
                "The data folder {} holds {what}: choose one beside it, such as {}.",
                data.display(),
                proposal.display()
            )));
        }
    }
    if store::db_path(&data).exists() {
        return Err(refused(format!(
            "{} already holds a roost database. To use it, put a file roost.conf next to \
             roost.cgi with the line \"home = {}\"; to start afresh, choose another folder.",
            data.display(),
            data.display()
        )));
    }
    match std::fs::read_dir(&data).map(|mut entries| entries.next().is_some()) {
        Ok(true) => Err(refused(format!(
            "{} already exists and is not empty: choose a new folder, such as {}.",
            data.display(),
            proposal.display()
        ))),
        Ok(false) => Ok(data),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = data.parent().unwrap_or(Path::new("/"));
            if !writable(parent) {
                return Err(refused(format!(
                    "roost cannot create {}: the folder {} is not writable for it. Create the \
                     data folder yourself with your FTP client (then send this form again), or \
                     choose a folder roost may create.",
                    data.display(),
                    parent.display()
                )));
            }
            Ok(data)
        }
        Err(e) => Err(refused(format!(
            "roost cannot use {}: {e}. Choose another folder.",
            data.display()
        ))),
    }
}

/// `path` with its longest existing part canonical (symlinks resolved).
fn resolved(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        let Some(name) = existing.file_name() else {
            break;
        };
        rest.push(name.to_os_string());
        existing.pop();
    }
    let mut out = std::fs::canonicalize(&existing).unwrap_or(existing);
    out.extend(rest.iter().rev());
    out
}

/// Whether this process may create entries in `dir`.
fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a NUL-terminated path; faccessat only reads it.
    unsafe {
        libc::faccessat(
            libc::AT_FDCWD,
            c_path.as_ptr(),
            libc::W_OK | libc::X_OK,
            libc::AT_EACCESS,
        ) == 0
    }
}

/// The changes, in this order: the data directory and database (as `roost
/// init`), publishing into the folder of roost.cgi (as `install`), the
/// `.htaccess` block, and last `roost.conf`, from which on the site is set up.
fn create(
    place: &Place,
    data: &Path,
    url: &str,
    name: &str,
    password: &str,
    htaccess: &htaccess::Prepared,
) -> Result<()> {
    crate::cli::create_home(data, url, name, Some(password))?;
    let mut conn = store::open(data)?;
    let before = Settings::load(&conn)?;
    let dir = place.dir.to_string_lossy();
    match settings::validate(crate::publish::SETTING, &dir) {
        Ok(value) => settings::save(
            &mut crate::node::Node::new(data, &mut conn),
            &before,
            &[(crate::publish::SETTING, value.as_str())],
        )?,
        Err(error) => eprintln!("roost: setup: feeds are not published as files: {error:#}"),
    }
    drop(conn);
    htaccess::write(&place.dir, htaccess)?;
    let conf = place.dir.join(home::CONF_FILE);
    let text = format!(
        "# Written by roost's setup page: where roost.cgi finds its data.\nhome = {}\n",
        data.display()
    );
    crate::atomic_file::replace(&conf, text.as_bytes(), 0o644)
        .with_context(|| format!("writing {}", conf.display()))
}

/// POST /install once the site is set up: a second visitor, or an old tab.
pub fn already_set_up(ctx: &mut Ctx) -> Result<Response> {
    Ok(ctx.error(
        410,
        "This site is already set up, so the setup form no longer works. Its owner logs in \
         with the password chosen then.",
    ))
}

/// GET /install: the cron line to paste into the control panel, and
/// whether cron has been seen running (doctor's rule: a finished run).
pub fn cron(ctx: &mut Ctx) -> Result<Response> {
    if ctx.session.is_none() {
        return Ok(super::actions::to_login(ctx));
    }
    let cgi = std::env::current_exe().context("finding roost.cgi")?;
    let line = hint::cron_line(&cgi, ctx.home);
    let seen = match store::lease::last_finished(ctx.conn)? {
        Some(at) => CronSeen::Ran(crate::cli::duration(ctx.now - at)),
        None => CronSeen::Never,
    };
    let checked = ctx.req.query_param("check").is_some();
    let mut page = ctx.page("Cron");
    // This page says it itself, at more length.
    page.cron_never_ran = false;
    let body = pages::cron_page(&page, &line, &seen, checked);
    Ok(Response::html(200, body).with_header("Cache-Control", "no-store"))
}
