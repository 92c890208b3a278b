//! `GET`/`POST /settings`: the owner's settings in the browser. Each field
//! is checked by `settings::validate`, the very check `roost config` runs,
//! and saved by `settings::save`, as `roost config` saves; all or nothing.

use super::actions;
use super::app::Ctx;
use super::http::Response;
use crate::render;
use crate::render::settings_page::{Background, CheckLine, FIELDS, Field, Shown};
use crate::settings;
use anyhow::Result;

/// GET /settings: the form with the current values; `?saved` adds the note.
pub fn form(ctx: &mut Ctx) -> Result<Response> {
    let Some(session) = ctx.session.clone() else {
        return Ok(actions::to_login(ctx));
    };
    let shown: Vec<Shown> = FIELDS
        .iter()
        .map(|field| Shown {
            field,
            value: ctx.settings.shown(field.key),
            error: None,
        })
        .collect();
    let saved = ctx.req.query_param("saved").is_some();
    Ok(page(ctx, 200, &session, &shown, saved))
}

/// POST /settings: session, form, CSRF (`actions::owner_form`), then every
/// field; a refused field shows its message next to it, with what was typed.
pub fn save(ctx: &mut Ctx) -> Result<Response> {
    let (session, form) = match actions::owner_form(ctx) {
        Ok(ok) => ok,
        Err(response) => return Ok(response),
    };
    let shown: Vec<Shown> = FIELDS
        .iter()
        .map(|field| {
            let typed = typed_value(field, form.get(field.key));
            let (value, error) = match settings::validate(field.key, &typed) {
                Ok(clean) => (clean, None),
                Err(refused) => (typed, Some(actions::capitalise(&format!("{refused:#}")))),
            };
            Shown {
                field,
                value,
                error,
            }
        })
        .collect();
    if shown.iter().any(|s| s.error.is_some()) {
        return Ok(page(ctx, 400, &session, &shown, false));
    }
    // Only what changed is written: an unchanged publish_dir is not
    // checked for writability again, nor are files withdrawn.
    let changes: Vec<(&str, &str)> = shown
        .iter()
        .filter(|s| ctx.settings.raw(s.field.key) != s.value)
        .map(|s| (s.field.key, s.value.as_str()))
        .collect();
    if !changes.is_empty() {
        let before = ctx.settings.clone();
        settings::save(&mut ctx.node(), &before, &changes)?;
    }
    // A new `url` moves the site: the redirect goes to the page there.
    let after = settings::Settings::load(ctx.conn)?.url();
    let target = if after == ctx.site.url {
        ctx.site.redirect_target("settings?saved")
    } else {
        format!("{after}settings?saved")
    };
    Ok(Response::see_other(&target))
}

/// POST /followers: `actor` and `action` (`remove`: it no longer receives
/// the owner's posts; `block`: that, and its Follows are refused from now
/// on, as blocking its author does on Notifications).
pub fn followers(ctx: &mut Ctx) -> Result<Response> {
    let (_, form) = match super::actions::owner_form(ctx) {
        Ok(ok) => ok,
        Err(refused) => return Ok(refused),
    };
    let Some(actor) = form
        .get("actor")
        .filter(|a| !a.is_empty())
        .map(str::to_string)
    else {
        return Ok(ctx.error(400, "The form names no follower."));
    };
    let block = match form.get("action") {
        Some("remove") => false,
        Some("block") => true,
        _ => return Ok(ctx.error(400, "Choose remove or block.")),
    };
    let now = ctx.now;
    let removed = ctx.node().write_entries(|tx| {
        let removed = crate::store::activitypub::remove_follower(tx, &actor)?;
        if block {
            crate::store::mentions::set_rule(tx, &actor, false, "block", now)?;
        }
        Ok(removed)
    })?;
    if !removed && !block {
        return Ok(ctx.error(404, "That account does not follow you."));
    }
    Ok(Response::see_other(
        &ctx.site.redirect_target("settings#followers"),
    ))
}

fn background(ctx: &Ctx) -> Result<Background> {
    Ok(Background {
        followers: crate::store::activitypub::followers(ctx.conn)?,
        subscriptions: crate::store::websub::subscriptions(ctx.conn)?,
        queued: crate::store::jobs::queued(ctx.conn, ctx.now)?.0,
        dead: crate::store::jobs::dead(ctx.conn, 20)?,
    })
}

/// A checkbox sends its field only when ticked.
fn typed_value(field: &Field, sent: Option<&str>) -> String {
    if field.checkbox {
        if sent.is_some() { "true" } else { "false" }.into()
    } else {
        sent.unwrap_or("").to_string()
    }
}

fn page(
    ctx: &Ctx,
    status: u16,
    session: &super::auth::Session,
    shown: &[Shown],
    saved: bool,
) -> Response {
    let background = match background(ctx) {
        Ok(background) => background,
        Err(error) => {
            return ctx.error(
                500,
                &format!("Reading the background work failed: {error:#}"),
            );
        }
    };
    let body = crate::render::settings_page::page(
        &ctx.page("Settings"),
        session,
        shown,
        saved,
        &background,
    );
    Response::html(status, body).with_header("Cache-Control", "no-store")
}

/// GET /settings/check: `roost doctor`'s checks, each with its fix, as the
/// site's own user sees the installation (`doctor::findings_for_page`).
pub fn check(ctx: &mut Ctx) -> Result<Response> {
    if ctx.session.is_none() {
        return Ok(actions::to_login(ctx));
    }
    let lines: Vec<CheckLine> = crate::doctor::findings_for_page(ctx.home)
        .into_iter()
        .map(|finding| CheckLine {
            label: finding.status.label(),
            text: finding.text,
        })
        .collect();
    let body = render::settings_page::check_page(&ctx.page("Check installation"), &lines);
    Ok(Response::html(200, body).with_header("Cache-Control", "no-store"))
}
