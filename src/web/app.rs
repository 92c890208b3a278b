//! The route table and the per-request context. Every way in (CGI, FastCGI,
//! `serve`) calls `handle`; nothing here knows which one it was.

use super::auth::{self, Cookies, Session};
use super::http::{Request, Response};
use super::{actions, page_cache, pages, settings_page, setup};
use crate::render::{self, Site, layout};
use crate::settings::Settings;
use crate::store::posts::PostId;
use crate::{home, store};
use anyhow::{Context, Result};
use rusqlite::Connection;
use std::cell::RefCell;
use std::path::{Path, PathBuf};

/// What a handler gets: the request, the open database, the settings it
/// needs, the owner's session if any, and the time (injected, for tests).
pub struct Ctx<'a> {
    pub req: &'a Request,
    pub conn: &'a mut Connection,
    pub site: Site,
    pub session: Option<Session>,
    /// How this site names and scopes its cookies (from the `url` setting).
    pub cookies: Cookies,
    pub now: i64,
    /// Every setting, read once per request.
    pub settings: Settings,
}

impl Ctx<'_> {
    pub fn page<'p>(&'p self, title: &'p str) -> layout::Page<'p> {
        layout::Page {
            site: &self.site,
            title,
            session: self.session.as_ref(),
            clock: render::Clock {
                now: self.now,
                zone: self.settings.time_zone(),
                relative: self.session.is_some(),
            },
        }
    }

    /// A full error page with the right status.
    pub fn error(&self, status: u16, message: &str) -> Response {
        Response::html(status, render::html::error(&self.page(""), status, message))
    }

    pub fn not_found(&self) -> Response {
        self.error(404, "There is nothing at this address.")
    }

    /// Post `id` is not there: 410 Gone when it was deleted, else 404.
    pub fn no_post(&self, id: PostId) -> Result<Response> {
        Ok(match store::posts::deleted(self.conn, id)? {
            Some(when) => self.error(
                410,
                &format!(
                    "This post was deleted by its author ({}).",
                    self.page("").clock.absolute(when)
                ),
            ),
            None => self.not_found(),
        })
    }
}

/// Answers one request. Never fails: storage that cannot be used becomes a
/// 503 page, any other error a friendly 500 page, each with a line in the
/// server's error log.
pub fn handle(req: &Request) -> Response {
    let response = match handle_inner(req) {
        Ok(response) => response,
        Err(error) => {
            eprintln!("roost: {} {}: {error:#}", req.method, req.path);
            match store::unavailable(&error) {
                Some(why) => unavailable_page(why),
                None => internal_error_page(),
            }
        }
    };
    finish(req, response)
}

fn handle_inner(req: &Request) -> Result<Response> {
    let home = match home::for_web(req.home.as_deref()) {
        Ok(home) => home,
        Err(error) => {
            eprintln!("roost: {error:#}");
            return Ok(not_configured_page());
        }
    };
    // A page a visitor may share with others: served from the page cache
    // when nothing changed since it was kept, without opening the database.
    let cached = page_cache::key(req).and_then(|key| Some((page_cache::generation(&home)?, key)));
    if let Some((generation, key)) = &cached
        && let Some(page) = page_cache::lookup(&home, generation, key)
    {
        return Ok(answer_from_cache(req, page));
    }
    let response = with_connection(&home, |conn| answer(conn, req))?;
    if let Some((generation, key)) = &cached {
        page_cache::save(&home, generation, key, &response);
    }
    Ok(response)
}

/// Loads the settings and the session, then routes: the same for a real
/// request and for a page being published.
fn answer(conn: &mut Connection, req: &Request) -> Result<Response> {
    let now = chrono::Utc::now().timestamp();
    let settings = Settings::load(conn)?;
    // Behind a proxy the owner named: its X-Forwarded-* say who asked and how.
    let forwarded;
    let req = if settings.trust_forwarded() {
        forwarded = req.as_forwarded();
        &forwarded
    } else {
        req
    };
    let site = Site {
        name: settings.name().to_string(),
        bio: settings.bio().to_string(),
        url: settings.url(),
        base: req.base.clone(),
    };
    let cookies = Cookies::for_site(&site.url, req);
    let session = auth::current_session(conn, req, &cookies, now)?;
    let mut ctx = Ctx {
        req,
        conn,
        site,
        session,
        cookies,
        now,
        settings,
    };
    route(&mut ctx)
}

/// What a visitor without a session gets for `GET path` at the configured
/// site URL: how `publish` renders the files it writes, through the very
/// handler a live request reaches.
pub fn render_for_visitor(conn: &mut Connection, path: &str) -> Result<Response> {
    let url = Settings::load(conn)?.url();
    let parsed = url::Url::parse(&url)
        .with_context(|| format!("the site URL {url:?} is not an absolute URL"))?;
    let req = Request {
        method: "GET".into(),
        path: path.into(),
        query: String::new(),
        headers: Vec::new(),
        body: Vec::new(),
        base: parsed.path().trim_end_matches('/').to_string(),
        https: parsed.scheme() == "https",
        remote_addr: String::new(),
        home: None,
    };
    answer(conn, &req)
}

/// A kept page, or 304 when the client already has it.
fn answer_from_cache(req: &Request, page: Response) -> Response {
    let etag = page.header("ETag").unwrap_or("").to_string();
    let last_modified = page
        .header("Last-Modified")
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .and_then(|d| d.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(i64::MAX, |d| d.as_secs() as i64);
    if !etag.is_empty() && req.has_fresh_copy(&etag, last_modified) {
        let mut not_modified = Response::not_modified();
        not_modified.headers = page
            .headers
            .into_iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("Content-Type"))
            .collect();
        return not_modified;
    }
    page
}

/// The route table: one match from (method, path) to handler. Every
/// method but GET and HEAD changes state (the login too: login CSRF) and
/// passes the same-origin check here first, whatever its handler.
fn route(ctx: &mut Ctx) -> Result<Response> {
    let path = ctx.req.path.clone();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = match ctx.req.method.as_str() {
        "HEAD" => "GET",
        other => other,
    };
    if method != "GET"
        && let Some(why) = auth::cross_site_refusal(ctx.req, &ctx.site.url)
    {
        return Ok(ctx.error(403, &why));
    }
    match (method, segments.as_slice()) {
        ("GET", [""]) => pages::home(ctx),
        ("GET", ["feed.atom"]) => pages::feed(ctx, pages::FeedFormat::Atom),
        ("GET", ["feed.json"]) => pages::feed(ctx, pages::FeedFormat::Json),
        ("GET", ["feed.rss"]) => pages::feed(ctx, pages::FeedFormat::Rss),
        ("GET", ["subscribe"]) => pages::subscribe(ctx),
        ("GET", ["timeline"]) => pages::timeline(ctx),
        ("GET", ["following"]) => pages::following(ctx),
        ("GET", ["following.opml"]) => pages::following_opml(ctx),
        ("POST", ["follow"]) => actions::follow(ctx),
        ("POST", ["unfollow"]) => actions::unfollow(ctx),
        ("GET", ["posts", id]) => pages::post(ctx, id),
        ("GET", ["posts", id, "edit"]) => pages::edit(ctx, id),
        ("GET", ["posts", id, "delete"]) => pages::confirm_delete(ctx, id),
        ("GET", ["login"]) => pages::login(ctx),
        ("POST", ["login"]) => actions::login(ctx),
        ("GET", ["settings"]) => settings_page::form(ctx),
        ("POST", ["settings"]) => settings_page::save(ctx),
        ("GET", ["setup"]) => setup::form(ctx),
        ("POST", ["setup"]) => setup::choose(ctx),
        ("POST", ["logout"]) => actions::logout(ctx),
        ("POST", ["posts"]) => actions::create_post(ctx),
        ("POST", ["posts", id, "edit"]) => actions::edit_post(ctx, id),
        ("POST", ["posts", id, "delete"]) => actions::delete_post(ctx, id),
        ("GET", [".well-known", "roost", "authorization"]) => pages::authorization_probe(ctx),
        ("GET", [".well-known", "roost", "node"]) => pages::node_probe(ctx),
        (_, segments) => Ok(match allowed_methods(segments) {
            Some(allow) => ctx
                .error(
                    405,
                    &format!("This address does not accept {}.", ctx.req.method),
                )
                .with_header("Allow", allow),
            None => ctx.not_found(),
        }),
    }
}

/// For a path that exists under another method: the `Allow` header of a 405.
fn allowed_methods(segments: &[&str]) -> Option<&'static str> {
    match segments {
        [""]
        | ["feed.atom"]
        | ["feed.json"]
        | ["feed.rss"]
        | ["subscribe"]
        | ["timeline"]
        | ["following"]
        | ["following.opml"]
        | ["posts", _]
        | ["posts", _, "edit"]
        | [".well-known", "roost", "authorization"]
        | [".well-known", "roost", "node"] => Some("GET, HEAD"),
        ["login"] | ["setup"] | ["settings"] | ["posts", _, "delete"] => Some("GET, HEAD, POST"),
        ["logout"] | ["follow"] | ["unfollow"] | ["posts"] => Some("POST"),
        _ => None,
    }
}

/// FastCGI answers many requests per process: keep the last database open
/// (per thread; SQLite connections are not shared between threads).
fn with_connection<T>(home: &Path, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
    thread_local! {
        static CACHED: RefCell<Option<(PathBuf, Connection)>> = const { RefCell::new(None) };
    }
    CACHED.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.as_ref().is_none_or(|(path, _)| path != home) {
            *cached = None;
            let conn = store::open_for_web(home).context("opening the data directory")?;
            *cached = Some((home.to_path_buf(), conn));
        }
        let (_, conn) = cached.as_mut().expect("just set");
        f(conn)
    })
}

/// Headers every response carries, and HEAD's empty body.
fn finish(req: &Request, mut response: Response) -> Response {
    for (name, value) in [
        ("Content-Security-Policy", layout::content_security_policy()),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
    ] {
        if name == "Content-Security-Policy" && crate::defence_off::csp_off() {
            continue;
        }
        if response.header(name).is_none() {
            response.headers.push((name.into(), value.into()));
        }
    }
    // Pages whose validators are not known before rendering (forms, errors)
    // still get an ETag, from their bytes, and a 304 when it matches.
    if response.status == 200 && response.header("ETag").is_none() {
        let etag = format!("\"b-{}\"", &auth::sha256_hex(&response.body)[..20]);
        // No Last-Modified is known here, so only If-None-Match can match.
        if req.has_fresh_copy(&etag, i64::MAX) {
            response.status = 304;
            response.body.clear();
        }
        response.headers.push(("ETag".into(), etag));
    }
    if req.method == "HEAD" {
        let length = response.body.len().to_string();
        response.headers.push(("Content-Length".into(), length));
        response.body.clear();
    }
    response
}

/// An error page for when there is no database or settings to hand.
fn bare_error_page(status: u16, title: &str, message: &str) -> Response {
    let site = Site {
        name: "roost".into(),
        bio: String::new(),
        url: "/".into(),
        base: String::new(),
    };
    let page = layout::Page {
        site: &site,
        title,
        session: None,
        clock: render::Clock::UTC,
    };
    Response::html(status, render::html::error(&page, status, message))
}

/// 500 without a database or settings to hand: says sorry, never internals.
pub fn internal_error_page() -> Response {
    bare_error_page(
        500,
        "Error",
        "Something went wrong on this site. The owner can find the details in the web server's error log.",
    )
}

/// 503: the web server does not say where the data directory is. The page
/// says how to set it, without naming any path of this host.
fn not_configured_page() -> Response {
    bare_error_page(
        503,
        "Not set up",
        "This roost is not set up yet: it has no data directory. The owner sets one with \
         `SetEnv ROOST_HOME /home/me/roost-data` in .htaccess, or a line \
         \"home = DIR\" in roost.conf next to the binary.",
    )
}

/// 503: the database cannot be used now; nothing was changed. Where waiting
/// may help, `Retry-After` says how long. The details (paths, SQLite's
/// words) go to the error log only.
fn unavailable_page(why: store::Unavailable) -> Response {
    use store::Unavailable::*;
    let (title, message) = match why {
        Missing => (
            "Not set up",
            "This roost is not set up yet: its data directory holds no database. \
             The owner creates one with `roost init --url URL --name NAME`.",
        ),
        Busy => (
            "Busy",
            "This site is busy: its database is in use by another task. Nothing was changed. \
             Please try again in a few seconds.",
        ),
        ReadOnly => (
            "Cannot save",
            "This site cannot save anything right now: its data directory is read-only. \
             Nothing was changed. The owner can find the details in the web server's error log.",
        ),
        DiskFull => (
            "Cannot save",
            "This site cannot save anything right now: its disk is full. Nothing was changed. \
             The owner can find the details in the web server's error log.",
        ),
        CannotOpen | Io => (
            "Unavailable",
            "This site cannot reach its database right now. Nothing was changed. \
             The owner can find the details in the web server's error log.",
        ),
    };
    let page = bare_error_page(503, title, message);
    match why.retry_after() {
        Some(seconds) => page.with_header("Retry-After", &seconds.to_string()),
        None => page,
    }
}
