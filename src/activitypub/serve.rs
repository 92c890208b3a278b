//! The GET answers: `/.well-known/webfinger`, the actor (`/actor`, and `/`
//! asked for ActivityStreams JSON), a post as a Note at its permalink by the
//! same negotiation (a Tombstone, 410, once deleted), `/outbox`,
//! `/followers` and `/following` (counts, and the newest posts in the
//! outbox). Negotiated answers carry `Vary: Accept`; none is ever kept by
//! the page cache (`web::page_cache::key` leaves such requests out).

use super::{ACTIVITY_JSON, objects};
use crate::store::{self, posts::PostId};
use crate::web::app::Ctx;
use crate::web::http::Response;
use anyhow::Result;
use serde_json::Value;

/// How many posts the outbox lists.
const OUTBOX_ITEMS: usize = 20;

/// Whether the request asks for ActivityStreams JSON.
pub fn asks_for_activity(ctx: &Ctx) -> bool {
    ctx.req
        .header("accept")
        .is_some_and(super::wants_activity_json)
}

/// A JSON document answered with its type and `Vary: Accept`.
fn json(status: u16, content_type: &str, value: &Value) -> Response {
    Response::new(status, content_type, value.to_string())
        .with_header("Vary", "Accept")
        .with_header("Cache-Control", "no-cache")
        .with_header("Access-Control-Allow-Origin", "*")
}

fn activity(status: u16, value: &Value) -> Response {
    json(status, &format!("{ACTIVITY_JSON}; charset=utf-8"), value)
}

/// `GET /.well-known/webfinger?resource=acct:HANDLE@HOST` (or the actor's
/// or the site's URL): the JRD; 400 without a resource, 404 for another.
pub fn webfinger(ctx: &mut Ctx) -> Result<Response> {
    let Some(resource) = ctx.req.query_param("resource").filter(|r| !r.is_empty()) else {
        return Ok(ctx.error(
            400,
            "Name the account: ?resource=acct:NAME@HOST (or the actor's URL).",
        ));
    };
    let settings = &ctx.settings;
    let url = settings.url();
    let wanted = resource.trim();
    let acct = objects::acct(settings);
    let ours = wanted.eq_ignore_ascii_case(&acct)
        || wanted
            .strip_prefix('@')
            .is_some_and(|w| format!("acct:{w}").eq_ignore_ascii_case(&acct))
        || wanted == super::actor_id(&url)
        || wanted == url
        || format!("{wanted}/") == url;
    if !ours {
        return Ok(ctx.error(
            404,
            &format!("This site has one account, {acct}; it knows nothing of {wanted}."),
        ));
    }
    Ok(json(
        200,
        "application/jrd+json; charset=utf-8",
        &objects::webfinger(settings),
    ))
}

/// `GET /actor` (and `/` asked for ActivityStreams JSON): the Person.
pub fn actor(ctx: &mut Ctx) -> Result<Response> {
    let keys = super::keys::ensure(ctx.conn)?;
    Ok(activity(
        200,
        &objects::actor(&ctx.settings, &keys.public_pem),
    ))
}

/// `GET /posts/ID` asked for ActivityStreams JSON: the Note, or a
/// Tombstone with 410 once deleted.
pub fn note(ctx: &mut Ctx, id: PostId) -> Result<Response> {
    let url = ctx.settings.url();
    if let Some(post) = store::posts::get(ctx.conn, id)? {
        return Ok(activity(
            200,
            &objects::document(objects::note(&url, &post)),
        ));
    }
    Ok(match store::posts::deleted(ctx.conn, id)? {
        Some(when) => activity(
            410,
            &objects::document(objects::tombstone(&url, id.0, when)),
        ),
        None => ctx.not_found().with_header("Vary", "Accept"),
    })
}

/// `GET /outbox`: the newest posts, each as its Create.
pub fn outbox(ctx: &mut Ctx) -> Result<Response> {
    let url = ctx.settings.url();
    let total = store::posts::count(ctx.conn)?;
    let items = store::posts::page(ctx.conn, None, OUTBOX_ITEMS)?
        .iter()
        .map(|post| objects::post_activity(&url, "Create", objects::note(&url, post), 0))
        .map(|mut create| {
            if let Some(map) = create.as_object_mut() {
                map.remove("@context");
            }
            create
        })
        .collect();
    Ok(activity(
        200,
        &objects::collection(&format!("{url}outbox"), total, Some(items)),
    ))
}

/// `GET /followers`: how many follow the node (the list is the owner's).
pub fn followers(ctx: &mut Ctx) -> Result<Response> {
    let url = ctx.settings.url();
    let total = store::activitypub::follower_count(ctx.conn)?;
    Ok(activity(
        200,
        &objects::collection(&objects::followers_id(&url), total, None),
    ))
}

/// `GET /following` asked for ActivityStreams JSON: the accounts the
/// node follows by ActivityPub whose servers accepted (feeds followed by
/// polling are no actors, so not listed).
pub fn following(ctx: &mut Ctx) -> Result<Response> {
    let url = ctx.settings.url();
    let items: Vec<Value> = store::activitypub::followings(ctx.conn)?
        .into_iter()
        .filter(|f| f.accepted)
        .map(|f| Value::String(f.actor))
        .collect();
    Ok(activity(
        200,
        &objects::collection(&format!("{url}following"), items.len() as i64, Some(items)),
    ))
}
