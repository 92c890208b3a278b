//! The route table and the per-request context. Every way in (CGI, FastCGI,
//! `serve`) calls `handle`; nothing here knows which one it was.

use super::auth::{self, Cookies, Session};
use super::http::{Request, Response};
use super::intake::Intake;
use super::{actions, first_run, page_cache, pages, search_page, settings_page, setup};
use crate::render::{self, Site, layout};
use crate::settings::Settings;
use crate::store::posts::PostId;
use crate::{activitypub, home, indieauth, micropub, store, webmention, websub};
use anyhow::{Context, Result};
use rusqlite::Connection;
use std::cell::RefCell;
use std::path::{Path, PathBuf};

/// What a handler gets: the request, the open database, the settings it
/// needs, the owner's session if any, and the time (injected, for tests).
pub struct Ctx<'a> {
    pub req: &'a Request,
    /// The data directory (`node()` pairs it with the connection).
    pub home: &'a Path,
    pub conn: &'a mut Connection,
    pub site: Site,
    pub session: Option<Session>,
    /// How this site names and scopes its cookies (from the `url` setting).
    pub cookies: Cookies,
    pub now: i64,
    /// Every setting, read once per request.
    pub settings: Settings,
    /// How errors are written: the route's format.
    pub errors: ErrorFormat,
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
            unread: match self.session {
                Some(_) => store::mentions::unread(self.conn).unwrap_or(0),
                None => 0,
            },
            cron_never_ran: self.session.is_some()
                && matches!(store::lease::last_finished(self.conn), Ok(None)),
        }
    }

    /// The write path for this request's changes.
    pub fn node(&mut self) -> crate::node::Node<'_> {
        crate::node::Node::new(self.home, self.conn)
    }

    /// An error with the right status, in the route's format.
    pub fn error(&self, status: u16, message: &str) -> Response {
        match self.errors {
            ErrorFormat::Html => {
                Response::html(status, render::html::error(&self.page(""), status, message))
            }
            ErrorFormat::Text => Response::plain(status, &format!("{message}\n")),
            ErrorFormat::Json => json_error(status, message),
        }
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

/// `{"error": ..., "error_description": ...}` with `status`.
pub fn json_error(status: u16, message: &str) -> Response {
    Response::new(
        status,
        "application/json",
        serde_json::json!({
            "error": json_error_code(status),
            "error_description": message,
        })
        .to_string(),
    )
}

/// The OAuth 2.0 / Micropub error code for a status.
fn json_error_code(status: u16) -> &'static str {
    match status {
        401 => "unauthorized",
        403 => "forbidden",
        404 | 410 => "not_found",
        413 => "invalid_request",
        _ if status >= 500 => "server_error",
        _ => "invalid_request",
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
        Ok(Some(home)) => home,
        // Nothing names a data directory: every request gets the setup page.
        Ok(None) => return Ok(first_run::answer(req)),
        Err(error) => {
            eprintln!("roost: {error:#}");
            return Ok(not_configured_page());
        }
    };
    // Another server's message, taken into the spool without the database.
    if let Some(intake) = intake_route(req) {
        let now = chrono::Utc::now().timestamp();
        return intake(&Intake {
            home: &home,
            req,
            now,
        });
    }
    // A page a visitor may share with others: served from the page cache
    // when nothing changed since it was kept, without opening the database.
    let cached = page_cache::key(req).and_then(|key| Some((page_cache::generation(&home)?, key)));
    if let Some((generation, key)) = &cached
        && let Some(page) = page_cache::lookup(&home, generation, key)
    {
        return Ok(answer_from_cache(req, page));
    }
    let response = with_connection(&home, |conn| answer(&home, conn, req))?;
    if let Some((generation, key)) = &cached {
        page_cache::save(&home, generation, key, &response);
    }
    Ok(response)
}

/// Loads the settings and the session, then routes: the same for a real
/// request and for a page being published.
fn answer(home: &Path, conn: &mut Connection, req: &Request) -> Result<Response> {
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
        home,
        conn,
        site,
        session,
        cookies,
        now,
        settings,
        errors: ErrorFormat::Html,
    };
    let response = route(&mut ctx)?;
    if ctx.session.is_some()
        && ctx.req.method == "GET"
        && ctx.settings.cron_on_page_views()
        && crate::cron::due_on_page_view(ctx.conn, now)
    {
        BACKGROUND_WORK.with(|work| work.replace(Some(home.to_path_buf())));
    }
    Ok(advertise_endpoints(&ctx.site.url, response))
}

thread_local! {
    /// The data directory whose cron work this thread's last answer started
    /// (`cron_on_page_views`), for its gateway to run once the answer is out.
    static BACKGROUND_WORK: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// The cron work the answer just given started, if any (see
/// `cron_on_page_views`): the gateway runs it after sending the answer.
pub fn take_background_work() -> Option<PathBuf> {
    BACKGROUND_WORK.with(|work| work.take())
}

/// Every page and feed names the Webmention endpoint, the IndieAuth
/// metadata and endpoints and the Micropub endpoint in one `Link` header
/// (the HTML also in its head: `render::layout`).
fn advertise_endpoints(site_url: &str, response: Response) -> Response {
    let content_type = response.header("Content-Type").unwrap_or("");
    let shown = [
        "text/html",
        "application/atom+xml",
        "application/rss+xml",
        "application/feed+json",
    ]
    .iter()
    .any(|t| content_type.starts_with(t));
    if !shown {
        return response;
    }
    let mut links = vec![webmention::receive::link_header(site_url)];
    links.extend(indieauth::link_header_parts(site_url));
    response.with_header("Link", &links.join(", "))
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

/// Who may use a route, checked before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, from a browser: a POST passes the same-origin check.
    Public,
    /// The owner, from a browser: a POST passes the same-origin check, and
    /// the handler then checks session, form and CSRF token in that order
    /// (a signed-out POST may still be kept as a draft, so it is the
    /// handler's to refuse).
    Owner,
    /// Another server (a hub, a peer): no browser check applies; the
    /// handler checks the request's own proof (a signature, a callback id).
    Remote,
}

/// How a route's errors are written: its protocol's own format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorFormat {
    /// A full page in the site's frame.
    Html,
    /// One line of plain text (WebSub).
    Text,
    /// `{"error": ..., "error_description": ...}` (OAuth, Micropub).
    Json,
}

/// One row of the route table.
pub struct Route {
    pub method: &'static str,
    /// Segments after the site's base; `*` matches any one segment, and the
    /// handler gets the matched ones in order.
    pub path: &'static [&'static str],
    pub access: Access,
    /// The largest request body taken (413 beyond it, before it is read).
    pub body_limit: usize,
    pub errors: ErrorFormat,
    pub handler: Handler,
}

/// What answers a route.
pub enum Handler {
    /// A handler given the database, settings and session (`Ctx`).
    Page(fn(&mut Ctx, &[&str]) -> Result<Response>),
    /// An intake (`web::intake`): answered before the database is opened,
    /// and only from the facts kept beside the page cache.
    Intake(fn(&Intake) -> Result<Response>),
}

const FORM: usize = super::http::MAX_BODY_BYTES;
/// The photo routes' limit, for files only: a body there that is not
/// multipart/form-data keeps the form limit, refused before it is read.
const FILES: usize = crate::media::BODY_LIMIT;

/// A row: `route!` for a handler given `Ctx`, `intake!` for an intake.
macro_rules! route {
    ($method:literal, [$($segment:literal),*], $access:ident, $limit:expr, $errors:ident, $handler:expr) => {
        route!(@row $method, [$($segment),*], $access, $limit, $errors, Handler::Page($handler))
    };
    (@row $method:literal, [$($segment:literal),*], $access:ident, $limit:expr, $errors:ident, $handler:expr) => {
        Route {
            method: $method,
            path: &[$($segment),*],
            access: Access::$access,
            body_limit: $limit,
            errors: ErrorFormat::$errors,
            handler: $handler,
        }
    };
}

macro_rules! intake {
    ($method:literal, [$($segment:literal),*], $access:ident, $limit:expr, $errors:ident, $handler:expr) => {
        route!(@row $method, [$($segment),*], $access, $limit, $errors, Handler::Intake($handler))
    };
}

/// Every address the node answers. HEAD is answered as GET.
#[rustfmt::skip]
pub const ROUTES: &[Route] = &[
    route!("GET", [""], Public, 0, Html, |c, _| pages::home(c)),
    route!("GET", ["feed.atom"], Public, 0, Html, |c, _| pages::feed(c, pages::FeedFormat::Atom)),
    route!("GET", ["feed.json"], Public, 0, Html, |c, _| pages::feed(c, pages::FeedFormat::Json)),
    route!("GET", ["feed.rss"], Public, 0, Html, |c, _| pages::feed(c, pages::FeedFormat::Rss)),
    route!("GET", ["subscribe"], Public, 0, Html, |c, _| pages::subscribe(c)),
    route!("GET", ["search"], Public, 0, Html, |c, _| search_page::page(c)),
    route!("GET", ["timeline"], Public, 0, Html, |c, _| pages::timeline(c)),
    route!("GET", ["following"], Public, 0, Html, |c, _| pages::following(c)),
    route!("GET", ["following.opml"], Public, 0, Html, |c, _| pages::following_opml(c)),
    route!("POST", ["follow"], Owner, FORM, Html, |c, _| actions::follow(c)),
    route!("POST", ["unfollow"], Owner, FORM, Html, |c, _| actions::unfollow(c)),
    route!("GET", ["posts", "*"], Public, 0, Html, |c, a| pages::post(c, a[0])),
    route!("GET", ["posts", "*", "edit"], Owner, 0, Html, |c, a| pages::edit(c, a[0])),
    route!("GET", ["posts", "*", "delete"], Owner, 0, Html, |c, a| pages::confirm_delete(c, a[0])),
    route!("GET", ["login"], Public, 0, Html, |c, _| pages::login(c)),
    route!("POST", ["login"], Public, FORM, Html, |c, _| actions::login(c)),
    route!("GET", ["settings"], Owner, 0, Html, |c, _| settings_page::form(c)),
    route!("POST", ["settings"], Owner, FORM, Html, |c, _| settings_page::save(c)),
    route!("GET", ["settings", "check"], Owner, 0, Html, |c, _| settings_page::check(c)),
    route!("POST", ["followers"], Owner, FORM, Html, |c, _| settings_page::followers(c)),
    route!("GET", ["setup"], Public, 0, Html, |c, _| setup::form(c)),
    route!("POST", ["setup"], Public, FORM, Html, |c, _| setup::choose(c)),
    route!("GET", ["install"], Owner, 0, Html, |c, _| first_run::cron(c)),
    route!("POST", ["install"], Public, FORM, Html, |c, _| first_run::already_set_up(c)),
    route!("POST", ["logout"], Owner, FORM, Html, |c, _| actions::logout(c)),
    route!("POST", ["posts"], Owner, FILES, Html, |c, _| actions::create_post(c)),
    route!("GET", ["media", "*"], Public, 0, Html, |c, a| pages::media(c, a[0])),
    route!("POST", ["posts", "*", "edit"], Owner, FORM, Html, |c, a| actions::edit_post(c, a[0])),
    route!("POST", ["posts", "*", "delete"], Owner, FORM, Html, |c, a| actions::delete_post(c, a[0])),
    route!("GET", [".well-known", "roost", "authorization"], Public, 0, Html, |c, _| pages::authorization_probe(c)),
    route!("GET", [".well-known", "roost", "node"], Public, 0, Html, |c, _| pages::node_probe(c)),
    intake!("POST", ["webmention"], Remote, FORM, Text, webmention::receive::intake),
    route!("GET", ["webmention", "*"], Public, 0, Text, |c, a| webmention::receive::status(c, a[0])),
    route!("GET", ["notifications"], Owner, 0, Html, |c, _| webmention::notifications::page(c)),
    route!("POST", ["notifications"], Owner, FORM, Html, |c, _| webmention::notifications::act(c)),
    route!("GET", [".well-known", "oauth-authorization-server"], Public, 0, Json, |c, _| indieauth::metadata(c)),
    route!("GET", ["auth"], Owner, 0, Html, |c, _| indieauth::authorize(c)),
    route!("POST", ["auth", "approve"], Owner, FORM, Html, |c, _| indieauth::approve(c)),
    route!("POST", ["auth"], Remote, FORM, Json, |c, _| indieauth::profile(c)),
    route!("POST", ["token"], Remote, FORM, Json, |c, _| indieauth::token(c)),
    route!("POST", ["revoke"], Remote, FORM, Json, |c, _| indieauth::revoke(c)),
    route!("POST", ["introspect"], Remote, FORM, Json, |c, _| indieauth::introspect(c)),
    route!("GET", ["apps"], Owner, 0, Html, |c, _| indieauth::apps(c)),
    route!("POST", ["apps"], Owner, FORM, Html, |c, _| indieauth::sign_out_app(c)),
    route!("POST", ["micropub"], Remote, FILES, Json, |c, _| micropub::post(c)),
    route!("POST", ["micropub", "media"], Remote, FILES, Json, |c, _| micropub::media::endpoint(c)),
    route!("GET", ["micropub"], Remote, 0, Json, |c, _| micropub::query(c)),
    route!("GET", [".well-known", "webfinger"], Public, 0, Json, |c, _| activitypub::serve::webfinger(c)),
    route!("GET", ["actor"], Public, 0, Json, |c, _| activitypub::serve::actor(c)),
    route!("GET", ["outbox"], Public, 0, Json, |c, _| activitypub::serve::outbox(c)),
    route!("GET", ["followers"], Public, 0, Json, |c, _| activitypub::serve::followers(c)),
    intake!("POST", ["inbox"], Remote, activitypub::inbox::MAX_BODY_BYTES, Json, activitypub::inbox::intake),
    intake!("POST", ["actor", "inbox"], Remote, activitypub::inbox::MAX_BODY_BYTES, Json, activitypub::inbox::intake),
    route!("POST", ["websub"], Remote, FORM, Text, |c, _| websub::hub::request(c)),
    route!("GET", ["websub", "callback", "*"], Remote, 0, Text, |c, a| websub::subscriber::verify(c, a[0])),
    route!("POST", ["websub", "callback", "*"], Remote, websub::MAX_PUSHED_BYTES, Text, |c, a| websub::subscriber::deliver(c, a[0])),
];

fn matches<'p>(route: &Route, segments: &[&'p str]) -> Option<Vec<&'p str>> {
    if route.path.len() != segments.len() {
        return None;
    }
    let mut args = Vec::new();
    for (pattern, segment) in route.path.iter().zip(segments) {
        match *pattern {
            "*" => args.push(*segment),
            fixed if fixed == *segment => {}
            _ => return None,
        }
    }
    Some(args)
}

fn segments(path: &str) -> Vec<&str> {
    path.trim_start_matches('/').split('/').collect()
}

fn method_of(method: &str) -> &str {
    match method {
        "HEAD" => "GET",
        other => other,
    }
}

/// The body limit of the route `method path` reaches for a body of
/// `content_type`, never below the form limit (what every request could
/// send before routes had limits; the photo routes' larger one is for
/// multipart bodies only): the gateways refuse a larger body before
/// reading it.
pub fn body_limit(method: &str, path: &str, content_type: &str) -> usize {
    let limit = row_for(method, &segments(path)).map_or(FORM, |(r, _)| r.body_limit.max(FORM));
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if limit == FILES && !mime.eq_ignore_ascii_case("multipart/form-data") {
        return FORM;
    }
    limit
}

/// The row `method` (HEAD as GET) and the path's `segments` reach, with
/// the segments its `*`s matched.
fn row_for<'p>(method: &str, segments: &[&'p str]) -> Option<(&'static Route, Vec<&'p str>)> {
    let method = method_of(method);
    ROUTES
        .iter()
        .filter(|r| r.method == method)
        .find_map(|r| Some((r, matches(r, segments)?)))
}

/// 413 for a body over the limit of the route `method path` reaches, in
/// the route's error format (JSON for the protocols that speak it).
pub fn payload_too_large(method: &str, path: &str, content_type: &str) -> Response {
    let limit = body_limit(method, path, content_type);
    let json = row_for(method, &segments(path)).is_some_and(|(r, _)| r.errors == ErrorFormat::Json);
    if !json {
        return super::http::payload_too_large(limit);
    }
    json_error(
        413,
        &format!("Request bodies here are limited to {limit} bytes."),
    )
}

/// Finds the row, applies its rules, runs its handler.
fn route(ctx: &mut Ctx) -> Result<Response> {
    let path = ctx.req.path.clone();
    let segments = segments(&path);
    let method = method_of(&ctx.req.method).to_string();
    let Some((row, args)) = row_for(&method, &segments) else {
        return Ok(unrouted(ctx, &segments));
    };
    ctx.errors = row.errors;
    // Every browser route but GET changes state (the login too: login
    // CSRF) and passes the same-origin check first, whatever its handler.
    if method != "GET"
        && row.access != Access::Remote
        && let Some(why) = auth::cross_site_refusal(ctx.req, &ctx.site.url)
    {
        return Ok(ctx.error(403, &why));
    }
    match row.handler {
        Handler::Page(handler) => handler(ctx, &args),
        Handler::Intake(handler) => handler(&Intake {
            home: ctx.home,
            req: ctx.req,
            now: ctx.now,
        }),
    }
}

/// The intake that answers `req`, if a route row says it is one.
fn intake_route(req: &Request) -> Option<fn(&Intake) -> Result<Response>> {
    row_for(&req.method, &segments(&req.path)).and_then(|(r, _)| match r.handler {
        Handler::Intake(handler) => Some(handler),
        Handler::Page(_) => None,
    })
}

/// No row for this method and path: 405 with `Allow` when the path exists
/// under other methods, else 404.
fn unrouted(ctx: &mut Ctx, segments: &[&str]) -> Response {
    let mut allow: Vec<&str> = ROUTES
        .iter()
        .filter(|r| matches(r, segments).is_some())
        .map(|r| r.method)
        .collect();
    if let Some(first) = ROUTES.iter().find(|r| matches(r, segments).is_some()) {
        ctx.errors = first.errors;
    }
    if allow.is_empty() {
        return ctx.not_found();
    }
    if allow.contains(&"GET") {
        allow.insert(
            allow.iter().position(|m| *m == "GET").unwrap_or(0) + 1,
            "HEAD",
        );
    }
    allow.dedup();
    ctx.error(
        405,
        &format!("This address does not accept {}.", ctx.req.method),
    )
    .with_header("Allow", &allow.join(", "))
}

/// FastCGI answers many requests per process: keep the last database open
/// (per thread; SQLite connections are not shared between threads).
pub(super) fn with_connection<T>(
    home: &Path,
    f: impl FnOnce(&mut Connection) -> Result<T>,
) -> Result<T> {
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
        unread: 0,
        cron_never_ran: false,
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

/// 503: `roost.conf` beside the binary cannot be read. The page says what
/// to do, without naming any path of this host.
fn not_configured_page() -> Response {
    bare_error_page(
        503,
        "Not set up",
        "This roost cannot read its roost.conf (the file next to roost.cgi that names the \
         data directory). The owner can find the details in the web server's error log.",
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
        UpgradeFailed => (
            "Upgrade failed",
            "This site's new roost could not bring its database up to date, so it changed \
             nothing: the data is as the previous roost left it, and that version still reads \
             it. The owner can upload the previous roost.cgi again; the web server's error \
             log says what failed.",
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
