//! `GET /notifications`: the owner's webmentions, those waiting for a
//! decision first (reading it marks them read: the header's count), and
//! `POST /notifications`: approve or block a mention's author or domain
//! (`moderation::act`), a form with the CSRF token like every owner form.

use super::moderation::{self, Action};
use crate::render;
use crate::store::mentions;
use crate::web::actions::{owner_form, to_login};
use crate::web::app::Ctx;
use crate::web::http::Response;
use anyhow::Result;

/// How many mentions the page lists.
const SHOWN: usize = 200;

/// GET /notifications
pub fn page(ctx: &mut Ctx) -> Result<Response> {
    let Some(session) = ctx.session.clone() else {
        return Ok(to_login(ctx));
    };
    let list = mentions::verified(ctx.conn, SHOWN)?;
    let images = ctx.settings.remote_images();
    let body = render::mentions::notifications(&ctx.page("Notifications"), &session, &list, images);
    if list.iter().any(|m| m.unread) {
        ctx.node().write_unseen(mentions::mark_all_read)?;
    }
    Ok(Response::html(200, body).with_header("Cache-Control", "no-store"))
}

/// POST /notifications: `mention` (an id) and `action` (approve-author,
/// block-author, approve-domain, block-domain).
pub fn act(ctx: &mut Ctx) -> Result<Response> {
    let (_, form) = match owner_form(ctx) {
        Ok(ok) => ok,
        Err(refused) => return Ok(refused),
    };
    let Some(action) = form.get("action").and_then(Action::parse) else {
        return Ok(ctx.error(
            400,
            "Choose approve-author, block-author, approve-domain or block-domain.",
        ));
    };
    let Some(id) = form.get("mention").and_then(|m| m.parse::<i64>().ok()) else {
        return Ok(ctx.error(400, "The form names no webmention."));
    };
    let now = ctx.now;
    let done = ctx.node().write_entries(|tx| {
        let done = moderation::act(tx, id, action, now)?;
        // A follow waiting for approval is accepted (or refused) by it.
        crate::activitypub::inbox::settle_followers(tx, now)?;
        Ok(done)
    })?;
    if !done {
        return Ok(ctx.error(404, "There is no such verified webmention."));
    }
    Ok(Response::see_other(
        &ctx.site.redirect_target("notifications"),
    ))
}
