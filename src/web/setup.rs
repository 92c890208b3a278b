//! The one-time setup link: on a node without a password, the owner chooses
//! it in the browser. `serve` prints a link at start and `roost setup-link`
//! prints one on demand; the link's random token (kept hashed, for
//! `SETUP_SECONDS`) is the proof, so `POST /setup` needs no session or
//! CSRF cookie: the form carries the token itself. Does not render pages.

use super::actions;
use super::app::Ctx;
use super::auth;
use super::http::Response;
use crate::settings::Settings;
use crate::{hint, render, store};
use anyhow::{Result, bail};
use rusqlite::Connection;
use std::path::Path;

/// How long a setup link works.
pub const SETUP_SECONDS: i64 = 30 * 60;

/// The token's shape: `auth::random_token`'s 64 hex digits.
fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A new one-time link for the node at `url` (its `url` setting); refused
/// when a password is already set.
pub fn new_link(conn: &mut Connection, now: i64) -> Result<String> {
    let settings = Settings::load(conn)?;
    if settings.password_hash().is_some() {
        bail!("this node already has a password; a setup link is only for choosing the first one");
    }
    let url = settings.url();
    let token = auth::random_token()?;
    let hash = auth::sha256_hex(token.as_bytes());
    store::write_unseen(conn, |tx| {
        store::setup_tokens::create(tx, &hash, now, now + SETUP_SECONDS)
    })?;
    Ok(format!("{url}setup?token={token}"))
}

/// On a node without a password: the command that prints a new link, as
/// the owner types it on the server (the binary's path; `--home` when
/// `roost.conf` does not name the data directory).
pub(super) fn command_while_no_password(ctx: &Ctx) -> Option<String> {
    if ctx.settings.password_hash().is_some() {
        return None;
    }
    let home = ctx.conn.path().and_then(|db| Path::new(db).parent())?;
    Some(hint::command_for_web(home, "setup-link"))
}

/// A refusal page: the status, why, and (when no password is set yet) how
/// to get a new link.
fn refused(ctx: &Ctx, status: u16, message: &str) -> Response {
    let command = command_while_no_password(ctx);
    let body = render::html::setup_refused(&ctx.page(""), status, message, command.as_deref());
    Response::html(status, body).with_header("Cache-Control", "no-store")
}

const ALREADY_SET: &str =
    "This node already has a password, so setup links no longer work. Log in with it instead.";
const NOT_VALID: &str = "This setup link does not work: it is mistyped, was already used, \
    or is older than 30 minutes. Ask for a new one on the server.";

/// GET /setup?token=…: the password form, when the link is good.
pub fn form(ctx: &mut Ctx) -> Result<Response> {
    if ctx.settings.password_hash().is_some() {
        return Ok(refused(ctx, 410, ALREADY_SET));
    }
    let token = ctx.req.query_param("token").unwrap_or_default();
    if !well_formed(&token)
        || !store::setup_tokens::is_valid(ctx.conn, &auth::sha256_hex(token.as_bytes()), ctx.now)?
    {
        return Ok(refused(ctx, 403, NOT_VALID));
    }
    Ok(form_page(ctx, 200, &token, None))
}

fn form_page(ctx: &Ctx, status: u16, token: &str, message: Option<&str>) -> Response {
    let body = render::html::setup(&ctx.page("Choose your password"), token, message);
    Response::html(status, body).with_header("Cache-Control", "no-store")
}

/// POST /setup: sets the password, uses the link up, and logs the owner in.
pub fn choose(ctx: &mut Ctx) -> Result<Response> {
    let form = match actions::form(ctx) {
        Ok(form) => form,
        Err(response) => return Ok(response),
    };
    if ctx.settings.password_hash().is_some() {
        return Ok(refused(ctx, 410, ALREADY_SET));
    }
    let token = form.get("token").unwrap_or("").to_string();
    let hash = auth::sha256_hex(token.as_bytes());
    if !well_formed(&token) || !store::setup_tokens::is_valid(ctx.conn, &hash, ctx.now)? {
        return Ok(refused(ctx, 403, NOT_VALID));
    }
    let password = form.get("password").unwrap_or("");
    if password != form.get("again").unwrap_or("") {
        let message = "The two passwords differ. Type the same password twice.";
        return Ok(form_page(ctx, 400, &token, Some(message)));
    }
    if let Err(weak) = auth::check_password_strength(password) {
        let message = format!("Not set: {weak:#}.");
        return Ok(form_page(ctx, 400, &token, Some(&message)));
    }
    let password_hash = auth::hash_password(password)?;
    let (cookies, now) = (&ctx.cookies, ctx.now);
    // Checked again inside the transaction: of two tabs sending the form
    // at once, only the first sets the password.
    let cookie = store::write_unseen(ctx.conn, |tx| {
        if Settings::load(tx)?.password_hash().is_some()
            || !store::setup_tokens::take(tx, &hash, now)?
        {
            return Ok(None);
        }
        store::settings::set(tx, "password_hash", &password_hash)?;
        store::sessions::delete_all(tx, now)?;
        auth::start_session(tx, cookies, now).map(Some)
    })?;
    let Some(cookie) = cookie else {
        return Ok(refused(ctx, 410, NOT_VALID));
    };
    Ok(Response::see_other(&ctx.site.redirect_target("")).with_header("Set-Cookie", &cookie))
}
