//! The POST handlers: the owner's actions. The route table has already
//! refused a request from another origin (`auth::cross_site_refusal`). Each
//! then checks, in order: a session (else to /login), a well-formed form with
//! no field twice (else 400), the CSRF token (else 403, nothing changed),
//! then the input (else 400 with the form kept).

use super::app::Ctx;
use super::auth::{self, Session};
use super::http::{self, Response};
use super::pages;
use crate::posts::{self, PostText, ReplyTo};
use crate::render::{self, html::Draft};
use crate::store;
use anyhow::Result;

/// A submitted form, each field at most once: its text fields, and the
/// files a multipart one carried (where in the body each lies).
pub struct Form(Vec<(String, String)>, Vec<(String, std::ops::Range<usize>)>);

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The file sent in the field `name` (none when it was left empty).
    pub fn file<'b>(&self, body: &'b [u8], name: &str) -> Option<&'b [u8]> {
        self.1
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, range)| &body[range.clone()])
    }
}

/// Parses the body as `application/x-www-form-urlencoded` (or, for forms
/// with files, `multipart/form-data`), refusing anything else.
pub(crate) fn form(ctx: &Ctx) -> Result<Form, Response> {
    let content_type = ctx.req.header("content-type").unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();
    let body = &ctx.req.body;
    let mut files = Vec::new();
    let fields = if let Some(boundary) = super::multipart::boundary(content_type) {
        let parts = super::multipart::parse(body, &boundary).map_err(|why| ctx.error(400, &why))?;
        let mut fields = Vec::new();
        for part in parts {
            if part.filename.is_some() {
                if part.is_file() {
                    let start = part.data.as_ptr() as usize - body.as_ptr() as usize;
                    files.push((part.name, start..start + part.data.len()));
                }
                continue;
            }
            let Ok(value) = String::from_utf8(part.data.to_vec()) else {
                return Err(ctx.error(400, "The form is not valid UTF-8 text."));
            };
            fields.push((part.name, value));
        }
        fields
    } else if mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        // The photo routes take large bodies, but only as files: a form of
        // text alone stays within the limit every other form has.
        if body.len() > http::MAX_BODY_BYTES {
            return Err(http::payload_too_large(http::MAX_BODY_BYTES));
        }
        if !http::is_valid_urlencoded_utf8(body) {
            return Err(ctx.error(400, "The form is not valid UTF-8 text."));
        }
        http::parse_urlencoded(body)
    } else {
        return Err(ctx.error(
            415,
            "This address takes a web form (application/x-www-form-urlencoded).",
        ));
    };
    // Our forms never repeat a field. Taking the first (or the last) of two
    // would let whatever appends to a form override it: `csrf=ours&csrf=x`.
    let mut seen = std::collections::HashSet::with_capacity(fields.len());
    if let Some((name, _)) = fields.iter().find(|(name, _)| !seen.insert(name)) {
        let name: String = name.chars().take(40).collect();
        return Err(ctx.error(
            400,
            &format!(
                "The form sends the field \"{name}\" more than once, so nothing was done. \
                 Go back, reload the page and try again."
            ),
        ));
    }
    Ok(Form(fields, files))
}

/// Redirect to the login page (an owner-only address asked without a session).
pub fn to_login(ctx: &Ctx) -> Response {
    Response::see_other(&ctx.site.redirect_target("login"))
}

/// Over plain http to a site whose `url` is https: the login page's https
/// address instead. The session cookie is `Secure` there, so it is never
/// sent (or set) in clear, and the password is not either.
///
/// Unless a proxy in front already speaks https to the browser and says so
/// (`X-Forwarded-Proto: https`) while the owner does not trust it: the
/// redirect would come straight back, so the page says what to set instead.
pub fn login_over_https(ctx: &Ctx) -> Option<Response> {
    if !ctx.cookies.site_is_https() || ctx.req.https {
        return None;
    }
    let proxied_https = ctx
        .req
        .header("x-forwarded-proto")
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    if proxied_https && !ctx.settings.trust_forwarded() {
        return Some(ctx.error(
            403,
            "Logging in needs https. This request came over plain http from a proxy \
             that says the browser used https (X-Forwarded-Proto), which this site \
             does not trust yet. If that proxy is the owner's own, the owner runs \
             `roost config trust_forwarded true`.",
        ));
    }
    Some(Response::see_other(&ctx.site.redirect_target("login")))
}

/// The owner's session and form, or the response that refuses the request.
pub(crate) fn owner_form(ctx: &Ctx) -> Result<(Session, Form), Response> {
    let Some(session) = ctx.session.clone() else {
        return Err(to_login(ctx));
    };
    let form = form(ctx)?;
    let sent = form.get("csrf").unwrap_or("");
    if !auth::tokens_match(sent, &session.csrf) {
        return Err(ctx.error(
            403,
            "This form has expired or did not come from this site. Go back, reload the page and try again.",
        ));
    }
    Ok((session, form))
}

/// POST /login
pub fn login(ctx: &mut Ctx) -> Result<Response> {
    if let Some(to_https) = login_over_https(ctx) {
        return Ok(to_https);
    }
    if let Some(wait) = auth::login_throttled(ctx.conn, &ctx.req.remote_addr, ctx.now)? {
        return Ok(pages::login_form(
            ctx,
            429,
            Some(&format!(
                "Too many wrong passwords from your address. Try again in {}. \
                 (The owner can clear this on the server with `roost passwd`.)",
                auth::wait_in_words(wait)
            )),
        )?
        .with_header("Retry-After", &wait.to_string()));
    }
    let form = match form(ctx) {
        Ok(form) => form,
        Err(response) => return Ok(response),
    };
    let sent = form.get("csrf").unwrap_or("");
    let expected = ctx.cookies.get(ctx.req, auth::LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !auth::tokens_match(sent, expected) {
        return pages::login_form(
            ctx,
            403,
            Some("The login form expired or did not come from this site. Please try again."),
        );
    }
    let stored = ctx.settings.password_hash().map(str::to_owned);
    let password = form.get("password").unwrap_or("");
    let correct = stored
        .as_deref()
        .is_some_and(|hash| auth::verify_password(password, hash));
    let throttle_key = auth::throttle_key(&ctx.req.remote_addr);
    if !correct {
        let now = ctx.now;
        store::write_unseen(ctx.conn, |tx| {
            store::sessions::record_login_failure(tx, &throttle_key, now)
        })?;
        return pages::login_form(ctx, 403, Some("That password is not right."));
    }
    let (cookies, now) = (&ctx.cookies, ctx.now);
    let cookie = store::write_unseen(ctx.conn, |tx| {
        store::sessions::clear_login_failures(tx, &throttle_key)?;
        auth::start_session(tx, cookies, now)
    })?;
    let next = pages::next_after_login(ctx).unwrap_or_default();
    Ok(Response::see_other(&ctx.site.redirect_target(&next))
        .with_header("Set-Cookie", &cookie)
        .with_header("Set-Cookie", &ctx.cookies.set(auth::LOGIN_COOKIE, "", 0)))
}

/// POST /logout: ends the session on the server, not just in the browser.
pub fn logout(ctx: &mut Ctx) -> Result<Response> {
    let (session, _) = match owner_form(ctx) {
        Ok(ok) => ok,
        Err(response) => return Ok(response),
    };
    store::write_unseen(ctx.conn, |tx| {
        store::sessions::delete(tx, &session.token_hash)
    })?;
    Ok(Response::see_other(&ctx.site.redirect_target(""))
        .with_header("Set-Cookie", &ctx.cookies.set(auth::SESSION_COOKIE, "", 0)))
}

/// POST /posts: publish from the compose form.
pub fn create_post(ctx: &mut Ctx) -> Result<Response> {
    if ctx.session.is_none() {
        return keep_draft_and_log_in(ctx);
    }
    let (session, form) = match owner_form(ctx) {
        Ok(ok) => ok,
        Err(response) => return Ok(response),
    };
    let raw_text = form.get("text").unwrap_or("");
    let raw_reply = form.get("reply_to").unwrap_or("").trim();
    let parsed = PostText::parse(raw_text).and_then(|text| {
        let reply_to = (!raw_reply.is_empty())
            .then(|| ReplyTo::parse(raw_reply))
            .transpose()?;
        Ok((text, reply_to))
    });
    let (text, reply_to) = match parsed {
        Ok(ok) => ok,
        Err(invalid) => {
            let why = capitalise(&invalid.to_string());
            return compose_refused(ctx, &session, (raw_text, raw_reply), 400, why);
        }
    };
    let photos = match attached_photos(ctx, &form)? {
        Ok(photos) => photos,
        Err(refusal) => {
            let why = format!("Nothing was posted: {}", refusal.message);
            return compose_refused(ctx, &session, (raw_text, raw_reply), refusal.status, why);
        }
    };
    let now = ctx.now;
    let extras = posts::Extras {
        photos,
        ..posts::Extras::default()
    };
    let id = posts::create_with(&mut ctx.node(), &text, reply_to.as_ref(), &extras, now)?;
    let posted = Response::see_other(&ctx.site.redirect_target(&format!("#post-{}", id.0)));
    // A draft kept while signed out (and shown in this form) is sent now.
    match ctx.cookies.get(ctx.req, auth::DRAFT_COOKIE) {
        Some(token) => {
            let token_hash = auth::sha256_hex(token.as_bytes());
            store::write_unseen(ctx.conn, |tx| store::drafts::delete(tx, &token_hash))?;
            Ok(posted.with_header("Set-Cookie", &ctx.cookies.set(auth::DRAFT_COOKIE, "", 0)))
        }
        None => Ok(posted),
    }
}

/// The compose form again with what was typed (`text`, `reply_to`) and
/// why nothing was posted.
fn compose_refused(
    ctx: &mut Ctx,
    session: &Session,
    (text, reply_to): (&str, &str),
    status: u16,
    why: String,
) -> Result<Response> {
    let parent = crate::site::parent_of(ctx.conn, &ctx.site, reply_to)?;
    let draft = Draft {
        text,
        reply_to,
        error: Some(why),
        parent: parent.as_ref(),
    };
    let body = render::html::compose_refused(&ctx.page("Not posted"), session, &draft);
    Ok(Response::html(status, body))
}

/// The compose form's photos (`photo_N` files with their `alt_N` texts,
/// `render::html::PHOTO_SLOTS` of them), each uploaded; the first file
/// refused stops the post.
fn attached_photos(
    ctx: &mut Ctx,
    form: &Form,
) -> Result<Result<Vec<posts::Attachment>, crate::media::Refusal>> {
    let mut photos = Vec::new();
    for slot in 1..=render::html::PHOTO_SLOTS {
        // The request outlives `ctx`'s borrow: its body is read while the
        // write path holds the connection.
        let req = ctx.req;
        let Some(bytes) = form.file(&req.body, &format!("photo_{slot}")) else {
            continue;
        };
        let alt = form.get(&format!("alt_{slot}")).unwrap_or("").to_string();
        let now = ctx.now;
        match crate::media::upload(&mut ctx.node(), bytes, now)? {
            Ok(photo) => photos.push(posts::Attachment {
                name: photo.name,
                alt,
            }),
            Err(refusal) => return Ok(Err(refusal)),
        }
    }
    Ok(Ok(photos))
}

/// POST /posts after the session ended (it expired while the owner typed):
/// nothing is posted, but the text is kept for `DRAFT_SECONDS`, named by a
/// new random cookie, and the compose box shows it again once the owner
/// has logged in (`pages::home`). In the database, not the cookie: a post
/// may be larger than a cookie can be, and the cookie holds nothing private.
fn keep_draft_and_log_in(ctx: &mut Ctx) -> Result<Response> {
    let Ok(form) = form(ctx) else {
        return Ok(to_login(ctx));
    };
    let text = form.get("text").unwrap_or("");
    if text.trim().is_empty() {
        return Ok(to_login(ctx));
    }
    let reply_to = form.get("reply_to").unwrap_or("").trim();
    let token = auth::random_token()?;
    let token_hash = auth::sha256_hex(token.as_bytes());
    let (now, expires) = (ctx.now, ctx.now + auth::DRAFT_SECONDS);
    store::write_unseen(ctx.conn, |tx| {
        store::drafts::save(tx, &token_hash, text, reply_to, now, expires)
    })?;
    Ok(to_login(ctx).with_header(
        "Set-Cookie",
        &ctx.cookies
            .set(auth::DRAFT_COOKIE, &token, auth::DRAFT_SECONDS),
    ))
}

/// POST /posts/ID/edit
pub fn edit_post(ctx: &mut Ctx, raw_id: &str) -> Result<Response> {
    let (session, form) = match owner_form(ctx) {
        Ok(ok) => ok,
        Err(response) => return Ok(response),
    };
    let Some(id) = posts::parse_id(raw_id) else {
        return Ok(ctx.not_found());
    };
    let raw_text = form.get("text").unwrap_or("");
    let text = match PostText::parse(raw_text) {
        Ok(text) => text,
        Err(invalid) => {
            let Some(post) = store::posts::get(ctx.conn, id)? else {
                return ctx.no_post(id);
            };
            let draft = Draft {
                text: raw_text,
                error: Some(capitalise(&invalid.to_string())),
                ..Default::default()
            };
            let body = render::html::edit(&ctx.page("Edit"), &post, &session, &draft);
            return Ok(Response::html(400, body));
        }
    };
    let now = ctx.now;
    if !posts::edit(&mut ctx.node(), id, &text, now)? {
        return ctx.no_post(id);
    }
    Ok(Response::see_other(
        &ctx.site.redirect_target(&format!("posts/{}", id.0)),
    ))
}

/// POST /posts/ID/delete (from the page GET /posts/ID/delete shows)
pub fn delete_post(ctx: &mut Ctx, raw_id: &str) -> Result<Response> {
    if let Err(response) = owner_form(ctx) {
        return Ok(response);
    }
    let Some(id) = posts::parse_id(raw_id) else {
        return Ok(ctx.not_found());
    };
    let now = ctx.now;
    if !posts::delete(&mut ctx.node(), id, now)? {
        return ctx.no_post(id);
    }
    Ok(Response::see_other(&ctx.site.redirect_target("")))
}

pub(crate) fn capitalise(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

/// POST /follow: follow a feed (or the feed a page names) from the web.
pub fn follow(ctx: &mut Ctx) -> Result<Response> {
    let (_, form) = match owner_form(ctx) {
        Ok(ok) => ok,
        Err(response) => return Ok(response),
    };
    let url = form.get("url").unwrap_or("").trim().to_string();
    let name = form.get("name").unwrap_or("").trim().to_string();
    let nick = (!name.is_empty()).then_some(name.as_str());
    let now = ctx.now;
    match crate::follows::follow(&mut ctx.node(), &url, nick, now) {
        Ok(_) => Ok(Response::see_other(&ctx.site.redirect_target("following"))),
        Err(error) => pages::following_page(
            ctx,
            400,
            Some(&format!("Not followed: {error:#}")),
            &url,
            &name,
        ),
    }
}

/// POST /unfollow
pub fn unfollow(ctx: &mut Ctx) -> Result<Response> {
    let (_, form) = match owner_form(ctx) {
        Ok(ok) => ok,
        Err(response) => return Ok(response),
    };
    let target = form.get("url").unwrap_or("").to_string();
    match crate::follows::unfollow(&mut ctx.node(), &target) {
        Ok(_) => Ok(Response::see_other(&ctx.site.redirect_target("following"))),
        Err(error) => pages::following_page(ctx, 400, Some(&format!("{error:#}")), "", ""),
    }
}
