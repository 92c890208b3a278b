//! The GET handlers: pages and feeds. Each answers a conditional request with
//! 304 before rendering anything.

use super::app::Ctx;
use super::auth;
use super::http::Response;
use crate::posts;
use crate::render::{self, html::Draft, html::Newer, html::TimelineItem};
use crate::store;
use crate::store::posts::Cursor;
use anyhow::Result;

pub use crate::site::PAGE_SIZE;

pub use crate::site::FeedFormat;

/// `ETag` and `Last-Modified` for a response that depends only on the site's
/// state, the address and who is asking: known before rendering.
struct Validators {
    etag: String,
    last_modified: i64,
    cache_control: &'static str,
}

/// What a response is built from, and so what its validators depend on.
#[derive(PartialEq, Clone, Copy)]
enum Shows {
    /// The owner's feeds: the same for everyone, own posts only.
    Feed,
    /// A page of own posts; the owner's view differs (forms, tokens).
    Page,
    /// A page that also shows entries from followed feeds.
    PageWithEntries,
}

fn validators(ctx: &Ctx, shows: Shows) -> Result<Validators> {
    let state = store::site_state(ctx.conn)?;
    let viewer = match (&ctx.session, shows) {
        (Some(session), Shows::Page | Shows::PageWithEntries) => session.token_hash.as_str(),
        _ => "public",
    };
    // The build is part of the variant: after an upgrade, every client's
    // copy is stale, since the new binary may render the same data otherwise.
    let variant = auth::sha256_hex(
        format!(
            "{}\n{}\n{}\n{}\n{}",
            crate::build_id::BUILD_ID,
            ctx.req.path,
            ctx.req.query,
            ctx.req.base,
            viewer
        )
        .as_bytes(),
    );
    let (etag, last_modified) = owner_minute(
        ctx,
        viewer,
        match shows {
            Shows::PageWithEntries => (
                format!(
                    "\"{}.{}-{}\"",
                    state.version,
                    state.entries_version,
                    &variant[..16]
                ),
                state.changed_at.max(state.entries_changed_at),
            ),
            _ => (
                format!("\"{}-{}\"", state.version, &variant[..16]),
                state.changed_at,
            ),
        },
    );
    Ok(Validators {
        etag,
        last_modified,
        // The owner's views carry a CSRF token: never in a shared cache.
        // Feeds may be reused for a minute by caches and readers.
        cache_control: match (viewer, shows) {
            ("public", Shows::Feed) => "public, max-age=60",
            ("public", _) => "no-cache",
            _ => "private, no-cache",
        },
    })
}

/// The owner's views show times relative to now ("3 min ago", see
/// `render::Clock`): their validators also carry the current minute, so a
/// copy from an earlier minute is never answered 304. Visitors' pages show
/// absolute times only and keep their validators.
fn owner_minute(ctx: &Ctx, viewer: &str, (etag, last_modified): (String, i64)) -> (String, i64) {
    if viewer == "public" {
        return (etag, last_modified);
    }
    let minute = ctx.now - ctx.now.rem_euclid(60);
    // Every owner page's header counts the unread webmentions: a mention
    // verified (an entries write) or read changes it within the minute too.
    let entries = store::site_state(ctx.conn).map_or(0, |s| s.entries_version);
    let unread = store::mentions::unread(ctx.conn).unwrap_or(0);
    let etag = format!(
        "{}.e{entries}.n{unread}.m{minute}\"",
        etag.trim_end_matches('"')
    );
    (etag, last_modified.max(minute))
}

/// `Some(304)` when the client's copy is current (RFC 9110 §13.2.2:
/// If-None-Match wins over If-Modified-Since).
fn not_modified(ctx: &Ctx, v: &Validators) -> Option<Response> {
    ctx.req
        .has_fresh_copy(&v.etag, v.last_modified)
        .then(|| with_validators(Response::not_modified(), v))
}

fn with_validators(response: Response, v: &Validators) -> Response {
    let last_modified = httpdate::fmt_http_date(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(v.last_modified.max(0) as u64),
    );
    response
        .with_header("ETag", &v.etag)
        .with_header("Last-Modified", &last_modified)
        .with_header("Cache-Control", v.cache_control)
}

/// GET /: the owner's posts, newest first, `?before=ID` for older pages.
pub fn home(ctx: &mut Ctx) -> Result<Response> {
    if crate::activitypub::serve::asks_for_activity(ctx) {
        return crate::activitypub::serve::actor(ctx);
    }
    let before = match ctx.req.query_param("before") {
        None => None,
        Some(raw) => match posts::parse_id(&raw) {
            Some(id) => Some(id),
            None => return Ok(ctx.error(400, "The page cursor `before` must be a post number.")),
        },
    };
    let kept = kept_draft(ctx)?;
    let v = validators(ctx, Shows::Page)?;
    if kept.is_none()
        && let Some(response) = not_modified(ctx, &v)
    {
        return Ok(response.with_header("Vary", "Accept"));
    }
    // The reply button on a timeline entry opens the compose box addressed to it.
    let reply_to = ctx.req.query_param("reply_to").unwrap_or_default();
    let draft = match &kept {
        Some((text, reply_to)) => Draft {
            text,
            reply_to,
            error: Some(
                "This was not posted yet: you were logged out when you sent it. \
                 Press Post to publish it."
                    .to_string(),
            ),
            parent: None,
        },
        None => Draft {
            reply_to: &reply_to,
            ..Default::default()
        },
    };
    let body = crate::site::home(ctx.conn, &ctx.page(""), before, Some(&draft))?;
    Ok(match kept {
        // Shown until it is posted: this page is not the one the validators name.
        Some(_) => Response::html(200, body).with_header("Cache-Control", "no-store"),
        None => with_validators(Response::html(200, body), &v),
    }
    .with_header("Vary", "Accept"))
}

/// The post the owner sent while logged out (`actions::create_post`), for
/// the compose box: only to the owner, only from the browser that sent it.
fn kept_draft(ctx: &Ctx) -> Result<Option<(String, String)>> {
    let (Some(_), Some(token)) = (&ctx.session, ctx.cookies.get(ctx.req, auth::DRAFT_COOKIE))
    else {
        return Ok(None);
    };
    store::drafts::get(ctx.conn, &auth::sha256_hex(token.as_bytes()), ctx.now)
}

/// GET /timeline: own posts and followed entries merged, newest first.
/// The owner's only, unless `public_timeline` is set.
pub fn timeline(ctx: &mut Ctx) -> Result<Response> {
    let public = ctx.settings.public_timeline();
    if ctx.session.is_none() && !public {
        return Ok(super::actions::to_login(ctx));
    }
    let before = match ctx.req.query_param("before") {
        None => None,
        Some(raw) => match parse_cursor(&raw) {
            Some(cursor) => Some(cursor),
            None => {
                return Ok(ctx.error(400, "The page cursor `before` is not one this site made."));
            }
        },
    };
    let v = validators(ctx, Shows::PageWithEntries)?;
    if let Some(response) = not_modified(ctx, &v) {
        return Ok(response);
    }
    let own = store::posts::before_cursor(ctx.conn, before, PAGE_SIZE + 1)?;
    let followed = store::entries::page(ctx.conn, before, PAGE_SIZE + 1)?;
    let mut items: Vec<TimelineItem> = own
        .into_iter()
        .map(TimelineItem::Own)
        .chain(followed.into_iter().map(TimelineItem::Followed))
        .collect();
    items.sort_by_key(|item| std::cmp::Reverse(item.cursor_key()));
    let older = (items.len() > PAGE_SIZE).then(|| {
        items.truncate(PAGE_SIZE);
        format_cursor(items[PAGE_SIZE - 1].cursor())
    });
    let newer = match (before, items.first()) {
        (None, _) => None,
        (Some(_), None) => Some(Newer::First),
        (Some(_), Some(top)) => {
            let top = top.cursor();
            let mut above = store::posts::cursors_after(ctx.conn, top, PAGE_SIZE + 1)?;
            above.extend(store::entries::cursors_after(ctx.conn, top, PAGE_SIZE + 1)?);
            above.sort_by_key(Cursor::sort_key);
            above.truncate(PAGE_SIZE + 1);
            crate::site::newer_page(above).map(|newer| match newer {
                Newer::First => Newer::First,
                Newer::Before(cursor) => Newer::Before(format_cursor(cursor)),
            })
        }
    };
    let images = ctx.settings.remote_images();
    let parents = crate::site::reply_parents(
        ctx.conn,
        &ctx.site,
        items.iter().map(TimelineItem::reply),
        true,
    )?;
    let body = render::html::timeline(
        &ctx.page("Timeline"),
        &items,
        newer,
        older,
        images,
        &parents,
    );
    Ok(with_validators(Response::html(200, body), &v))
}

/// `TIME.KIND.ID`, e.g. `1795000000.1.42`.
fn format_cursor(c: Cursor) -> String {
    format!("{}.{}.{}", c.time, c.kind, c.id)
}

fn parse_cursor(raw: &str) -> Option<Cursor> {
    let mut parts = raw.split('.');
    let cursor = Cursor {
        time: parts.next()?.parse().ok()?,
        kind: parts.next()?.parse().ok().filter(|k| *k <= 1)?,
        id: parts.next()?.parse().ok()?,
    };
    parts.next().is_none().then_some(cursor)
}

/// GET /posts/ID: one post's permalink page.
pub fn post(ctx: &mut Ctx, raw_id: &str) -> Result<Response> {
    let Some(id) = posts::parse_id(raw_id) else {
        return Ok(ctx.not_found());
    };
    if crate::activitypub::serve::asks_for_activity(ctx) {
        return crate::activitypub::serve::note(ctx, id);
    }
    let mut v = validators(ctx, Shows::PageWithEntries)?;
    if ctx.session.is_some() {
        // The owner also sees the Webmentions sent, which cron records
        // without changing the site's version.
        let (last, count) = store::mentions_sent::version(ctx.conn, id)?;
        v.etag = format!("{}.w{last}.{count}\"", v.etag.trim_end_matches('"'));
    }
    if let Some(response) = not_modified(ctx, &v) {
        return Ok(response.with_header("Vary", "Accept"));
    }
    let Some(post) = store::posts::get(ctx.conn, id)? else {
        return ctx.no_post(id);
    };
    let sent = match ctx.session {
        Some(_) => store::mentions_sent::for_post(ctx.conn, id)?,
        None => Vec::new(),
    };
    let title = crate::render::post_text::excerpt(&post.body, 60);
    let thread = crate::site::thread(ctx.conn, &ctx.site, &post)?;
    let images = ctx.settings.remote_images();
    let body = render::html::post(&ctx.page(&title), &post, &thread, images, &sent);
    // The same address answers ActivityPub clients with the Note.
    Ok(with_validators(Response::html(200, body), &v).with_header("Vary", "Accept"))
}

/// GET /media/NAME: a photo, when publishing is off (with it on, Apache
/// serves the published copy). Its name is its content's hash, so it may
/// be kept for a year.
pub fn media(ctx: &mut Ctx, name: &str) -> Result<Response> {
    let Some(bytes) = crate::media::files::read(ctx.home, name) else {
        return Ok(ctx.not_found());
    };
    let mime = match name.rsplit('.').next() {
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        _ => "image/jpeg",
    };
    Ok(Response::new(200, mime, bytes)
        .with_header("Cache-Control", "public, max-age=31536000, immutable")
        .with_header(
            "ETag",
            &format!("\"{}\"", name.split('.').next().unwrap_or("")),
        ))
}

/// GET /posts/ID/edit: the owner's edit form.
pub fn edit(ctx: &mut Ctx, raw_id: &str) -> Result<Response> {
    owner_post_page(ctx, raw_id, |ctx, post, session| {
        let draft = Draft {
            text: &post.body,
            ..Default::default()
        };
        render::html::edit(&ctx.page("Edit"), post, session, &draft)
    })
}

/// GET /posts/ID/delete: the owner's "are you sure?" page (no script needed):
/// the post, a Delete button (POST, with the CSRF token) and Cancel.
pub fn confirm_delete(ctx: &mut Ctx, raw_id: &str) -> Result<Response> {
    owner_post_page(ctx, raw_id, |ctx, post, session| {
        render::html::confirm_delete(&ctx.page("Delete?"), post, session)
    })
}

/// A page of the owner's about one post: 404 for a bad id, the login page
/// without a session, 410 for a deleted post, never kept by any cache.
fn owner_post_page(
    ctx: &mut Ctx,
    raw_id: &str,
    render: impl FnOnce(&Ctx, &store::posts::Post, &auth::Session) -> String,
) -> Result<Response> {
    let Some(id) = posts::parse_id(raw_id) else {
        return Ok(ctx.not_found());
    };
    let Some(session) = ctx.session.clone() else {
        return Ok(super::actions::to_login(ctx));
    };
    let Some(post) = store::posts::get(ctx.conn, id)? else {
        return ctx.no_post(id);
    };
    let body = render(ctx, &post, &session);
    Ok(Response::html(200, body).with_header("Cache-Control", "no-store"))
}

/// GET /.well-known/roost/authorization: whether this request reached roost
/// with an `Authorization` header (its presence, never its value), so that
/// `roost doctor` can tell whether the web server passes it on.
pub fn authorization_probe(ctx: &mut Ctx) -> Result<Response> {
    let carried = ctx
        .req
        .header("authorization")
        .is_some_and(|v| !v.is_empty());
    let text = if carried {
        "authorization: present\n"
    } else {
        "authorization: absent\n"
    };
    Ok(Response::plain(200, text).with_header("Cache-Control", "no-store"))
}

/// GET /.well-known/roost/node?challenge=HEX: `auth::node_proof` of the
/// challenge, so that `roost doctor` can tell that the address it asks is
/// answered by this very node (not another roost with the same owner name).
pub fn node_probe(ctx: &mut Ctx) -> Result<Response> {
    let challenge = ctx.req.query_param("challenge").unwrap_or_default();
    if challenge.is_empty()
        || challenge.len() > 128
        || !challenge.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Ok(Response::plain(400, "challenge: 1 to 128 hex digits\n"));
    }
    let Some(secret) = crate::store::node_secret(ctx.conn)? else {
        return Ok(Response::plain(404, "this node has no secret yet\n"));
    };
    let proof = auth::node_proof(&secret, &challenge);
    Ok(Response::plain(200, &format!("roost-node: {proof}\n"))
        .with_header("Cache-Control", "no-store"))
}

/// GET /login: the login form, with its double-submit CSRF cookie.
pub fn login(ctx: &mut Ctx) -> Result<Response> {
    if let Some(to_https) = super::actions::login_over_https(ctx) {
        return Ok(to_https);
    }
    if ctx.session.is_some() {
        let next = next_after_login(ctx).unwrap_or_default();
        return Ok(Response::see_other(&ctx.site.redirect_target(&next)));
    }
    login_form(ctx, 200, None)
}

/// Where the login goes on to: an app's sign-in (`auth?...`, from
/// `indieauth::authorize`), named by `next` in the login page's query or
/// form; else nowhere (the front page). Only that one page of this site,
/// so the login is no open redirect.
pub fn next_after_login(ctx: &Ctx) -> Option<String> {
    let next = ctx.req.query_param("next").or_else(|| {
        ctx.req
            .form_fields()?
            .into_iter()
            .find(|(k, _)| k == "next")
            .map(|(_, v)| v)
    })?;
    let safe = next.starts_with("auth?")
        && next.len() <= 4096
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'#');
    safe.then_some(next)
}

/// The login form with `status` and an optional message; used again after a failure.
///
/// The token is the one the browser's login cookie already holds, when it
/// holds one: a new one would make every other login form it shows (a
/// second tab, the page before a wrong password) stale.
pub fn login_form(ctx: &mut Ctx, status: u16, message: Option<&str>) -> Result<Response> {
    let csrf = match ctx.cookies.get(ctx.req, auth::LOGIN_COOKIE) {
        Some(kept) if auth::is_token(kept) => kept.to_string(),
        _ => auth::random_token()?,
    };
    let no_password = super::setup::command_while_no_password(ctx);
    let next = next_after_login(ctx);
    let body = render::html::login(
        &ctx.page("Log in"),
        &csrf,
        message,
        no_password.as_deref(),
        next.as_deref(),
    );
    Ok(Response::html(status, body)
        .with_header(
            "Set-Cookie",
            &ctx.cookies.set(auth::LOGIN_COOKIE, &csrf, 3600),
        )
        .with_header("Cache-Control", "no-store"))
}

/// GET /subscribe: how to follow the site in a feed reader (the header's
/// link; the feeds themselves stay where readers know them).
pub fn subscribe(ctx: &mut Ctx) -> Result<Response> {
    let body = render::html::subscribe(&ctx.page("Subscribe"));
    Ok(Response::html(200, body).with_header("Cache-Control", "no-cache"))
}

/// GET /feed.atom, /feed.json, /feed.rss.
pub fn feed(ctx: &mut Ctx, format: FeedFormat) -> Result<Response> {
    let v = validators(ctx, Shows::Feed)?;
    if let Some(response) = not_modified(ctx, &v) {
        return Ok(response);
    }
    let (content_type, body) = crate::site::feed(ctx.conn, &ctx.settings, &ctx.site, format)?;
    let hubs = crate::websub::hubs(&ctx.settings);
    // WebSub discovery (3): the hubs and the topic, also as headers.
    let self_url = ctx.site.absolute(&ctx.req.path[1..]);
    let link = hubs
        .iter()
        .map(|hub| format!("<{hub}>; rel=\"hub\""))
        .chain([format!("<{self_url}>; rel=\"self\"")])
        .collect::<Vec<_>>()
        .join(", ");
    Ok(with_validators(
        Response::new(200, content_type, body.into_bytes()).with_header("Link", &link),
        &v,
    ))
}

/// GET /following: who the owner follows; the owner also sees each feed's
/// polling state and the forms to follow and unfollow.
pub fn following(ctx: &mut Ctx) -> Result<Response> {
    if crate::activitypub::serve::asks_for_activity(ctx) {
        return crate::activitypub::serve::following(ctx);
    }
    following_page(ctx, 200, None, "", "")
}

/// The following page with a status and, after a refused follow, the reason and the typed input.
pub fn following_page(
    ctx: &mut Ctx,
    status: u16,
    error: Option<&str>,
    url: &str,
    name: &str,
) -> Result<Response> {
    let follows = store::follows::all(ctx.conn)?;
    let accounts = store::activitypub::followings(ctx.conn)?;
    let form = render::html::FollowForm { error, url, name };
    let body = render::html::following(&ctx.page("Following"), &follows, &accounts, &form, ctx.now);
    let cache = if ctx.session.is_some() {
        "private, no-cache"
    } else {
        "no-cache"
    };
    Ok(Response::html(status, body).with_header("Cache-Control", cache))
}

/// GET /following.opml: the follow list for feed readers (OPML 2.0).
pub fn following_opml(ctx: &mut Ctx) -> Result<Response> {
    let follows = store::follows::all(ctx.conn)?;
    let body = crate::opml::write_follows(&ctx.site.name, &follows, ctx.now);
    Ok(
        Response::new(200, "text/x-opml; charset=utf-8", body.into_bytes())
            .with_header("Cache-Control", "no-cache"),
    )
}
