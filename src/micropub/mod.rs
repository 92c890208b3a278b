//! Micropub (W3C Recommendation, 2017-05-23): apps post to the node with a
//! bearer token from `indieauth`.
//!
//! - `POST /micropub`: create an `h-entry` from a form (urlencoded) or JSON
//!   (`content`, `in-reply-to`; `name` when there is no content;
//!   `category`, `mp-slug`, `published` and other properties ignored), or
//!   multipart with photo files; `photo` (files, URLs of the media
//!   endpoint's, `{value, alt}`) is `media`'s. Through
//!   the same rules and write path as the compose form (`posts::create`),
//!   answered 201 with the permalink in `Location`. What roost cannot keep
//!   (likes, reposts, bookmarks, drafts, HTML content) is refused
//!   with `invalid_request`, never silently dropped;
//! - `action=update` (JSON, `replace` of `content` only) and `action=delete`
//!   with the `update` / `delete` scopes, through `posts::edit` / `delete`.
//! - `GET /micropub?q=config|source|syndicate-to`; `POST /micropub/media`
//!   (`media`).
//!
//! The token comes from `Authorization: Bearer` or `access_token` in the
//! form body (`indieauth::bearer`). Errors are the spec's JSON.

pub mod media;

use crate::indieauth::{self, json, oauth_error};
use crate::posts::{self, PostText, ReplyTo};
use crate::store;
use crate::web::app::Ctx;
use crate::web::http::{self, Response};
use anyhow::Result;
use serde_json::{Value, json as object};

/// Properties that would be lost if a post were made without them.
const CANNOT_KEEP: &[(&str, &str)] = &[
    ("video", "videos"),
    ("audio", "audio"),
    ("like-of", "likes"),
    ("repost-of", "reposts"),
    ("bookmark-of", "bookmarks"),
];

/// A create request's properties, each a list of values, whichever way it came.
#[derive(Debug, Default, PartialEq)]
pub struct Properties {
    pub kind: String,
    pub values: Vec<(String, Vec<Value>)>,
    /// `action=...`: an update, delete or undelete, of the post at `url`.
    pub action: Option<String>,
    pub url: Option<String>,
    /// An update's `replace` (the properties given new values), and
    /// whether it also asks to `add` or `delete` some (not supported).
    pub replace: Vec<(String, Vec<Value>)>,
    pub adds_or_deletes: bool,
}

impl Properties {
    fn first(&self, name: &str) -> Option<&Value> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.first())
    }

    fn has(&self, name: &str) -> bool {
        self.values.iter().any(|(n, v)| n == name && !v.is_empty())
    }
}

/// The form-encoded request (`name[]` is `name`), and its `access_token`.
pub fn from_form(body: &[u8]) -> (Properties, Option<String>) {
    from_fields(http::parse_urlencoded(body))
}

/// A form's fields (urlencoded, or a multipart body's text parts) as
/// properties, and its `access_token`.
pub fn from_fields(
    fields: impl IntoIterator<Item = (String, String)>,
) -> (Properties, Option<String>) {
    let mut properties = Properties {
        kind: "entry".into(),
        ..Properties::default()
    };
    let mut token = None;
    for (name, value) in fields {
        let name = name.strip_suffix("[]").unwrap_or(&name).to_string();
        match name.as_str() {
            "h" => properties.kind = value,
            "access_token" => token = Some(value),
            "action" => properties.action = Some(value),
            "url" => properties.url = Some(value),
            _ => match properties.values.iter_mut().find(|(n, _)| *n == name) {
                Some((_, values)) => values.push(Value::String(value)),
                None => properties.values.push((name, vec![Value::String(value)])),
            },
        }
    }
    (properties, token)
}

/// The JSON request: `{"type": ["h-entry"], "properties": {...}}`.
pub fn from_json(body: &[u8]) -> Result<Properties, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("The body is not valid JSON ({e})."))?;
    if let Some(action) = value.get("action") {
        let replace = value["replace"]
            .as_object()
            .map(|map| map.iter().map(|(k, v)| (k.clone(), values_of(v))).collect())
            .unwrap_or_default();
        let adds_or_deletes = ["add", "delete"]
            .iter()
            .any(|k| value.get(k).is_some_and(|v| !v.is_null()));
        return Ok(Properties {
            action: Some(action.as_str().unwrap_or("?").to_string()),
            url: value["url"].as_str().map(str::to_owned),
            replace,
            adds_or_deletes,
            ..Properties::default()
        });
    }
    let kind = value["type"][0]
        .as_str()
        .and_then(|t| t.strip_prefix("h-"))
        .ok_or("The JSON has no \"type\": [\"h-entry\"].")?;
    let Some(map) = value["properties"].as_object() else {
        return Err("The JSON has no \"properties\" object.".into());
    };
    let values = map
        .iter()
        .map(|(name, v)| (name.clone(), values_of(v)))
        .collect();
    Ok(Properties {
        kind: kind.to_string(),
        values,
        ..Properties::default()
    })
}

/// A property's values: its array, or the one value given bare.
fn values_of(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(list) => list.clone(),
        other => vec![other.clone()],
    }
}

/// A value as plain text: a string, or `{"value": ...}`; HTML is refused
/// (roost's posts are text, and shown HTML would be escaped).
fn text_of(value: &Value, name: &str) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Object(map) => match (map.get("value"), map.get("html")) {
            (Some(Value::String(text)), _) => Ok(text.clone()),
            (_, Some(_)) => Err(format!(
                "The {name} is HTML; this site keeps posts as plain text: send it as text."
            )),
            _ => Err(format!("The {name} is not text.")),
        },
        _ => Err(format!("The {name} is not text.")),
    }
}

/// What a create makes: the post's text and what it replies to, or why not.
pub fn entry(properties: &Properties) -> Result<(PostText, Option<ReplyTo>), String> {
    if properties.kind != "entry" {
        return Err(format!(
            "This site makes h-entry posts only, not h-{}.",
            properties.kind
        ));
    }
    for (name, what) in CANNOT_KEEP {
        if properties.has(name) {
            return Err(format!(
                "This site cannot post {what} ({name}) yet, so nothing was posted: \
                 send the text alone."
            ));
        }
    }
    if properties
        .first("post-status")
        .is_some_and(|s| s.as_str() == Some("draft"))
    {
        return Err(
            "This site has no drafts by Micropub: nothing was posted. Publish it instead.".into(),
        );
    }
    let raw = match (properties.first("content"), properties.first("name")) {
        (Some(content), _) => text_of(content, "content")?,
        (None, Some(name)) => text_of(name, "name")?,
        (None, None) => String::new(),
    };
    let text = PostText::parse(&raw).map_err(|e| sentence(&e.to_string()))?;
    let reply_to = match properties.first("in-reply-to") {
        Some(url) => Some(
            ReplyTo::parse(&text_of(url, "in-reply-to")?).map_err(|e| sentence(&e.to_string()))?,
        ),
        None => None,
    };
    Ok((text, reply_to))
}

fn sentence(message: &str) -> String {
    crate::web::actions::capitalise(message)
}

/// POST /micropub: create a post.
pub fn post(ctx: &mut Ctx) -> Result<Response> {
    let content_type = ctx.req.header("content-type").unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    // Large bodies are for files (multipart) only.
    if mime != "multipart/form-data" && ctx.req.body.len() > http::MAX_BODY_BYTES {
        return Ok(crate::web::app::json_error(
            413,
            &format!(
                "Request bodies here are limited to {} bytes unless they carry files (multipart/form-data).",
                http::MAX_BODY_BYTES
            ),
        ));
    }
    let mut photo_files = Vec::new();
    let (properties, body_token) = match mime.as_str() {
        "application/x-www-form-urlencoded" => {
            if !http::is_valid_urlencoded_utf8(&ctx.req.body) {
                return Ok(invalid("The form is not valid UTF-8 text."));
            }
            let (properties, token) = from_form(&ctx.req.body);
            (Ok(properties), token)
        }
        "application/json" => (from_json(&ctx.req.body), None),
        "multipart/form-data" => match media::from_multipart(&ctx.req.body, content_type) {
            Ok((properties, token, files)) => {
                photo_files = files;
                (Ok(properties), token)
            }
            Err(why) => return Ok(invalid(&why)),
        },
        _ => {
            return Ok(oauth_error(
                415,
                "invalid_request",
                "Send the post as application/x-www-form-urlencoded or application/json.",
            ));
        }
    };
    let bearer = match indieauth::bearer(ctx, body_token.as_deref())? {
        Ok(bearer) => bearer,
        Err(refusal) => return Ok(refusal),
    };
    if !bearer.has("create") {
        return Ok(insufficient_scope("create"));
    }
    let properties = match properties {
        Ok(properties) => properties,
        Err(why) => return Ok(invalid(&why)),
    };
    if let Some(action) = &properties.action {
        return change(ctx, &bearer, action, &properties);
    }
    let (text, reply_to) = match entry(&properties) {
        Ok(entry) => entry,
        Err(why) => return Ok(invalid(&why)),
    };
    let photos = match media::attachments(ctx, &properties, &photo_files)? {
        Ok(photos) => photos,
        Err(refusal) => return Ok(refusal),
    };
    let now = ctx.now;
    let id = posts::create_with_photos(&mut ctx.node(), &text, reply_to.as_ref(), &photos, now)?;
    let permalink = ctx.site.absolute(&format!("posts/{}", id.0));
    Ok(
        Response::new(201, "text/plain; charset=utf-8", format!("{permalink}\n"))
            .with_header("Location", &permalink),
    )
}

/// `action=update|delete`: an existing post changed (only its content
/// replaced) or deleted, with the `update` or `delete` scope; 204.
fn change(
    ctx: &mut Ctx,
    bearer: &indieauth::Bearer,
    action: &str,
    properties: &Properties,
) -> Result<Response> {
    let scope = match action {
        "update" | "delete" => action,
        "undelete" => {
            return Ok(invalid(
                "A deleted post cannot be brought back on this site: post it again.",
            ));
        }
        other => return Ok(invalid(&format!("There is no action {other:?}."))),
    };
    if !bearer.has(scope) {
        return Ok(insufficient_scope(scope));
    }
    let url = properties.url.clone().unwrap_or_default();
    let id = match own_post(ctx, &url) {
        Ok(id) => id,
        Err(refusal) => return Ok(refusal),
    };
    let now = ctx.now;
    let done = if action == "delete" {
        posts::delete(&mut ctx.node(), id, now)?
    } else {
        let others = properties.replace.iter().any(|(name, _)| name != "content");
        let content = properties
            .replace
            .iter()
            .find(|(name, _)| name == "content")
            .and_then(|(_, values)| values.first());
        let (Some(content), false, false) = (content, others, properties.adds_or_deletes) else {
            return Ok(invalid(
                "This site can only replace a post's content: send {\"replace\": {\"content\": [TEXT]}}.",
            ));
        };
        let text = match text_of(content, "content")
            .and_then(|raw| PostText::parse(&raw).map_err(|e| sentence(&e.to_string())))
        {
            Ok(text) => text,
            Err(why) => return Ok(invalid(&why)),
        };
        posts::edit(&mut ctx.node(), id, &text, now)? || store::posts::get(ctx.conn, id)?.is_some()
    };
    if !done {
        return ctx.no_post(id);
    }
    Ok(Response::new(204, "text/plain; charset=utf-8", ""))
}

/// The post a URL names on this site, or the refusal.
fn own_post(ctx: &Ctx, url: &str) -> Result<crate::store::posts::PostId, Response> {
    let prefix = ctx.site.absolute("posts/");
    url.strip_prefix(&prefix)
        .and_then(posts::parse_id)
        .ok_or_else(|| {
            invalid(&format!(
                "{url:?} is not a post of this site (they look like {prefix}NUMBER)."
            ))
        })
}

fn invalid(why: &str) -> Response {
    oauth_error(400, "invalid_request", why)
}

/// The spec's 401 `insufficient_scope`, naming the scope needed.
fn insufficient_scope(scope: &str) -> Response {
    json(
        401,
        &object!({
            "error": "insufficient_scope",
            "error_description": format!("This token may not {scope}: sign the app in again asking for the {scope} scope."),
            "scope": scope,
        }),
    )
}

/// GET /micropub?q=...
pub fn query(ctx: &mut Ctx) -> Result<Response> {
    let from_query = ctx.req.query_param("access_token");
    if let Err(refusal) = indieauth::bearer(ctx, from_query.as_deref())? {
        return Ok(refusal);
    }
    let q = ctx.req.query_param("q").unwrap_or_default();
    Ok(match q.as_str() {
        "config" => json(
            200,
            &object!({
                "syndicate-to": [],
                "q": ["config", "source", "syndicate-to"],
                "media-endpoint": ctx.site.absolute("micropub/media"),
                "post-types": [
                    {"type": "note", "name": "Note"},
                    {"type": "reply", "name": "Reply"},
                ],
            }),
        ),
        "syndicate-to" => json(200, &object!({ "syndicate-to": [] })),
        "source" => source(ctx)?,
        "" => invalid("Say what to ask with q= (config, source or syndicate-to)."),
        other => invalid(&format!(
            "This site does not answer q={other:?}: ask config, source or syndicate-to."
        )),
    })
}

/// `q=source&url=...`: a post's properties (only `properties[]` when named).
fn source(ctx: &mut Ctx) -> Result<Response> {
    let url = ctx.req.query_param("url").unwrap_or_default();
    let id = match own_post(ctx, &url) {
        Ok(id) => id,
        Err(refusal) => return Ok(refusal),
    };
    let Some(post) = store::posts::get(ctx.conn, id)? else {
        return ctx.no_post(id);
    };
    let mut properties = serde_json::Map::new();
    properties.insert("content".into(), object!([post.body]));
    properties.insert(
        "published".into(),
        object!([crate::render::rfc3339(post.published)]),
    );
    properties.insert("url".into(), object!([url]));
    if let Some(reply_to) = &post.reply_to {
        properties.insert("in-reply-to".into(), object!([reply_to]));
    }
    if !post.photos.is_empty() {
        properties.insert(
            "photo".into(),
            media::source_photos(&ctx.site, &post.photos),
        );
    }
    let wanted: Vec<String> = http::parse_urlencoded(ctx.req.query.as_bytes())
        .into_iter()
        .filter(|(k, _)| k == "properties[]" || k == "properties")
        .map(|(_, v)| v)
        .collect();
    Ok(if wanted.is_empty() {
        json(
            200,
            &object!({ "type": ["h-entry"], "properties": properties }),
        )
    } else {
        properties.retain(|name, _| wanted.contains(name));
        json(200, &object!({ "properties": properties }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_and_its_json_make_the_same_post() {
        let (form, token) =
            from_form(b"h=entry&content=Hi+there&in-reply-to=https%3A%2F%2Fa.example%2F1&category[]=a&category[]=b&mp-slug=..%2F..%2Fx&access_token=t");
        assert_eq!(token.as_deref(), Some("t"));
        let json = from_json(
            br#"{"type":["h-entry"],"properties":{"content":["Hi there"],"in-reply-to":["https://a.example/1"],"category":["a","b"],"mp-slug":["../../x"]}}"#,
        )
        .unwrap();
        for properties in [&form, &json] {
            let (text, reply_to) = entry(properties).unwrap();
            assert_eq!(text.as_str(), "Hi there");
            assert_eq!(reply_to.unwrap().as_str(), "https://a.example/1");
        }
        let values =
            from_json(br#"{"type":["h-entry"],"properties":{"content":[{"value":"v"}]}}"#).unwrap();
        assert_eq!(entry(&values).unwrap().0.as_str(), "v");
    }

    #[test]
    fn what_roost_cannot_keep_is_refused_not_dropped() {
        for (body, says) in [
            (&b"h=entry&like-of=https%3A%2F%2Fa.example%2F"[..], "likes"),
            (b"h=entry&content=x&post-status=draft", "drafts"),
            (b"h=event&content=x", "h-event"),
            (b"h=entry", "empty"),
            (
                b"h=entry&content=x&in-reply-to=javascript%3Aalert(1)",
                "reply-to",
            ),
        ] {
            let why = entry(&from_form(body).0).unwrap_err();
            assert!(why.contains(says), "{says}: {why}");
        }
        let html =
            from_json(br#"{"type":["h-entry"],"properties":{"content":[{"html":"<b>x</b>"}]}}"#)
                .unwrap();
        assert!(entry(&html).unwrap_err().contains("HTML"));
        assert!(from_json(b"[1]").is_err());
        assert!(from_json(b"{").unwrap_err().contains("not valid JSON"));
    }
}
