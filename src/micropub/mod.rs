//! Micropub (W3C Recommendation, 2017-05-23): apps post to the node with a
//! bearer token from `indieauth`.
//!
//! - `POST /micropub`: create an `h-entry` from a form (urlencoded) or JSON
//!   (`content`, `in-reply-to`, `category`, `published`; `name` when there
//!   is no content; a plain `mp-slug` accepted and unused, since addresses
//!   are numbers, one that is a path refused), or multipart with photo
//!   files; `photo` (files, URLs of the media endpoint's, `{value, alt}`)
//!   is `media`'s. Through the same rules and write path as the compose
//!   form (`posts::create_with`), answered 201 with the permalink in
//!   `Location`. What roost cannot keep (likes, reposts, bookmarks, drafts,
//!   HTML content) is refused with `invalid_request`, never silently
//!   dropped;
//! - `action=update` (JSON: `replace` of `content`; `replace`, `add` and
//!   `delete` of `category` values or the whole property) and
//!   `action=delete` / `undelete` (the post back at its address), with the
//!   `update` / `delete` scopes, through `posts::update` / `delete` /
//!   `undelete`.
//! - `GET /micropub?q=config|source|syndicate-to|category`; `POST
//!   /micropub/media` (`media`).
//!
//! The token comes from `Authorization: Bearer` or `access_token` in the
//! form body (`indieauth::bearer`). Errors are the spec's JSON.

pub mod media;

use crate::indieauth::{self, json, oauth_error};
use crate::posts::{self, Extras, PostText, ReplyTo};
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
    /// An update's operations (JSON only).
    pub update: Update,
}

/// An update's `replace`, `add` and `delete` (of values, or of whole
/// properties when `delete` is a list of names), each value list an array
/// as the spec requires.
#[derive(Debug, Default, PartialEq)]
pub struct Update {
    pub replace: Vec<(String, Vec<Value>)>,
    pub add: Vec<(String, Vec<Value>)>,
    pub delete_values: Vec<(String, Vec<Value>)>,
    pub delete_properties: Vec<String>,
}

impl Update {
    /// Reads `replace`, `add` and `delete` from an update's JSON.
    fn from_json(value: &Value) -> Result<Update, String> {
        let mut update = Update::default();
        for (operation, list) in [("replace", &mut update.replace), ("add", &mut update.add)] {
            *list = operation_values(value, operation)?;
        }
        match value.get("delete") {
            None | Some(Value::Null) => {}
            Some(Value::Array(names)) => {
                for name in names {
                    let Some(name) = name.as_str() else {
                        return Err("\"delete\" lists property names: strings.".into());
                    };
                    update.delete_properties.push(name.to_string());
                }
            }
            Some(Value::Object(_)) => update.delete_values = operation_values(value, "delete")?,
            Some(_) => {
                return Err(
                    "\"delete\" is a list of property names or an object of values to remove."
                        .into(),
                );
            }
        }
        Ok(update)
    }

    /// Every property the update touches.
    fn properties(&self) -> impl Iterator<Item = &str> {
        self.replace
            .iter()
            .chain(&self.add)
            .chain(&self.delete_values)
            .map(|(name, _)| name.as_str())
            .chain(self.delete_properties.iter().map(String::as_str))
    }
}

/// `{"operation": {"name": [values]}}`: each property's array, or why not.
fn operation_values(value: &Value, operation: &str) -> Result<Vec<(String, Vec<Value>)>, String> {
    match value.get(operation) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(name, values)| match values {
                Value::Array(list) => Ok((name.clone(), list.clone())),
                _ => Err(format!(
                    "The values of {name:?} in \"{operation}\" must be an array: \
                     {{\"{name}\": [...]}}."
                )),
            })
            .collect(),
        Some(_) => Err(format!("\"{operation}\" must be an object of properties.")),
    }
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

/// The form-encoded request (`name[]` and `name[N]` are `name`), and its
/// `access_token`.
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
        let name = list_name(&name).to_string();
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

/// A form field's property: `name[]` and `name[0]` (PHP's list syntax,
/// which micropub.rocks 102 sends) are `name`.
fn list_name(field: &str) -> &str {
    match field.strip_suffix(']').and_then(|f| f.rsplit_once('[')) {
        Some((name, index)) if index.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => field,
    }
}

/// The JSON request: `{"type": ["h-entry"], "properties": {...}}`.
pub fn from_json(body: &[u8]) -> Result<Properties, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("The body is not valid JSON ({e})."))?;
    if let Some(action) = value.get("action") {
        return Ok(Properties {
            action: Some(action.as_str().unwrap_or("?").to_string()),
            url: value["url"].as_str().map(str::to_owned),
            update: Update::from_json(&value)?,
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

/// What a create makes.
#[derive(Debug)]
pub struct Entry {
    pub text: PostText,
    pub reply_to: Option<ReplyTo>,
    pub extras: Extras,
}

/// What a create makes, or why not.
pub fn entry(properties: &Properties) -> Result<Entry, String> {
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
    if properties.has("content[html]") {
        return Err(
            "The content is HTML; this site keeps posts as plain text: send it as text.".into(),
        );
    }
    if let Some(slug) = properties.first("mp-slug") {
        check_slug(&text_of(slug, "mp-slug")?)?;
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
    let categories = categories_of(
        properties
            .values
            .iter()
            .filter(|(name, _)| name == "category")
            .flat_map(|(_, values)| values),
    )?;
    let published = match properties.first("published") {
        Some(value) => {
            let raw = text_of(value, "published")?;
            Some(crate::poll::parse::parse_date(&raw).ok_or_else(|| {
                format!("The published date {raw:?} is not a date: send RFC 3339, e.g. 2026-12-03T18:00:00Z.")
            })?)
        }
        None => None,
    };
    Ok(Entry {
        text,
        reply_to,
        extras: Extras {
            categories,
            published,
            photos: Vec::new(),
        },
    })
}

/// `mp-slug`: this site's addresses are numbers, so a slug changes none;
/// one that is a path (`/`, `\\`, `..`) is refused, never used.
fn check_slug(slug: &str) -> Result<(), String> {
    if slug.contains(['/', '\\']) || slug.contains("..") || slug.chars().any(char::is_control) {
        return Err(format!(
            "The mp-slug {slug:?} is a path, not a slug: send letters, digits and hyphens."
        ));
    }
    Ok(())
}

/// Category values (text, or nested objects refused) as a post's list.
fn categories_of<'a>(values: impl IntoIterator<Item = &'a Value>) -> Result<Vec<String>, String> {
    let names = values
        .into_iter()
        .map(|value| text_of(value, "category"))
        .collect::<Result<Vec<_>, _>>()?;
    posts::category_list(names.iter().map(String::as_str)).map_err(|e| sentence(&e))
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
    let entry = match entry(&properties) {
        Ok(entry) => entry,
        Err(why) => return Ok(invalid(&why)),
    };
    let photos = match media::attachments(ctx, &properties, &photo_files)? {
        Ok(photos) => photos,
        Err(refusal) => return Ok(refusal),
    };
    let now = ctx.now;
    let extras = posts::Extras {
        photos,
        ..entry.extras
    };
    let id = posts::create_with(
        &mut ctx.node(),
        &entry.text,
        entry.reply_to.as_ref(),
        &extras,
        now,
    )?;
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
        // Bringing a post back is undoing a delete: the same permission.
        "undelete" => "delete",
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
    } else if action == "undelete" {
        if posts::undelete(&mut ctx.node(), id, now)? {
            return Ok(Response::new(204, "text/plain; charset=utf-8", ""));
        }
        return Ok(invalid(if store::posts::get(ctx.conn, id)?.is_some() {
            "This post is not deleted."
        } else {
            "This post cannot come back: it was deleted before this site kept deleted posts, \
             or never existed."
        }));
    } else {
        let Some(post) = store::posts::get(ctx.conn, id)? else {
            return ctx.no_post(id);
        };
        let (text, categories) = match updated(&post, &properties.update) {
            Ok(change) => change,
            Err(why) => return Ok(invalid(&why)),
        };
        posts::update(
            &mut ctx.node(),
            id,
            text.as_ref(),
            categories.as_deref(),
            now,
        )?
    };
    if !done {
        return ctx.no_post(id);
    }
    Ok(Response::new(204, "text/plain; charset=utf-8", ""))
}

/// What an update makes of a post: its new text and categories (`None`:
/// unchanged), or why it cannot be done. Only `content` (replaced) and
/// `category` (replaced, added to, removed from, removed) can change.
fn updated(
    post: &store::posts::Post,
    update: &Update,
) -> Result<(Option<PostText>, Option<Vec<String>>), String> {
    if let Some(other) = update
        .properties()
        .find(|name| !matches!(*name, "content" | "category"))
    {
        return Err(format!(
            "This site can change a post's content and category only, not {other:?}."
        ));
    }
    let touches_content = |list: &[(String, Vec<Value>)]| list.iter().any(|(n, _)| n == "content");
    if touches_content(&update.add)
        || touches_content(&update.delete_values)
        || update.delete_properties.iter().any(|n| n == "content")
    {
        return Err(
            "A post has exactly one content: replace it ({\"replace\": {\"content\": [TEXT]}})."
                .into(),
        );
    }
    let text = match update.replace.iter().find(|(name, _)| name == "content") {
        Some((_, values)) => {
            let [value] = values.as_slice() else {
                return Err("Replace the content with one value: [TEXT].".into());
            };
            let raw = text_of(value, "content")?;
            Some(PostText::parse(&raw).map_err(|e| sentence(&e.to_string()))?)
        }
        None => None,
    };
    let of_category = |list: &[(String, Vec<Value>)]| -> Option<Vec<Value>> {
        let values: Vec<Value> = list
            .iter()
            .filter(|(name, _)| name == "category")
            .flat_map(|(_, values)| values.iter().cloned())
            .collect();
        list.iter()
            .any(|(name, _)| name == "category")
            .then_some(values)
    };
    let (replace, add, remove) = (
        of_category(&update.replace),
        of_category(&update.add),
        of_category(&update.delete_values),
    );
    let drop_all = update.delete_properties.iter().any(|n| n == "category");
    if replace.is_none() && add.is_none() && remove.is_none() && !drop_all {
        return Ok((text, None));
    }
    let mut names: Vec<Value> = match replace {
        Some(values) => values,
        None if drop_all => Vec::new(),
        None => post
            .categories
            .iter()
            .map(|c| Value::from(c.as_str()))
            .collect(),
    };
    names.extend(add.unwrap_or_default());
    let mut categories = categories_of(&names)?;
    if let Some(remove) = remove {
        let remove = categories_of(&remove)?;
        categories.retain(|c| !remove.contains(c));
    }
    Ok((text, Some(categories)))
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
                "q": ["config", "source", "syndicate-to", "category"],
                "media-endpoint": ctx.site.absolute("micropub/media"),
                "post-types": [
                    {"type": "note", "name": "Note"},
                    {"type": "reply", "name": "Reply"},
                ],
            }),
        ),
        "syndicate-to" => json(200, &object!({ "syndicate-to": [] })),
        "source" => source(ctx)?,
        "category" => {
            let filter = ctx.req.query_param("filter").unwrap_or_default();
            let mut categories = store::posts::all_categories(ctx.conn)?;
            categories.retain(|c| c.to_lowercase().starts_with(&filter.to_lowercase()));
            json(200, &object!({ "categories": categories }))
        }
        "" => invalid("Say what to ask with q= (config, source, syndicate-to or category)."),
        other => invalid(&format!(
            "This site does not answer q={other:?}: ask config, source, syndicate-to or category."
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
    if !post.categories.is_empty() {
        properties.insert("category".into(), object!(post.categories));
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
            from_form(b"h=entry&content=Hi+there&in-reply-to=https%3A%2F%2Fa.example%2F1&category[]=a&category[1]=%23b&category=a&mp-slug=hi-there&published=2026-01-02T03%3A04%3A05Z&access_token=t");
        assert_eq!(token.as_deref(), Some("t"));
        let json = from_json(
            br##"{"type":["h-entry"],"properties":{"content":["Hi there"],"in-reply-to":["https://a.example/1"],"category":["a","#b","a"],"mp-slug":["hi-there"],"published":["2026-01-02T03:04:05Z"]}}"##,
        )
        .unwrap();
        for properties in [&form, &json] {
            let entry = entry(properties).unwrap();
            assert_eq!(entry.text.as_str(), "Hi there");
            assert_eq!(entry.reply_to.unwrap().as_str(), "https://a.example/1");
            assert_eq!(entry.extras.categories, ["a", "b"]);
            assert_eq!(entry.extras.published, Some(1_767_323_045));
        }
        let values =
            from_json(br#"{"type":["h-entry"],"properties":{"content":[{"value":"v"}]}}"#).unwrap();
        assert_eq!(entry(&values).unwrap().text.as_str(), "v");
    }

    #[test]
    fn a_slug_that_is_a_path_is_refused() {
        for slug in ["..", "../../etc/passwd", "a/b", "a%5Cb", "x..y"] {
            let body = format!("h=entry&content=x&mp-slug={slug}");
            let why = entry(&from_form(body.as_bytes()).0).unwrap_err();
            assert!(why.contains("is a path"), "{slug}: {why}");
        }
    }

    fn post_with(categories: &[&str]) -> store::posts::Post {
        store::posts::Post {
            id: store::posts::PostId(1),
            uid: "u".into(),
            body: "old".into(),
            reply_to: None,
            published: 0,
            updated: 0,
            syndication: None,
            summary: None,
            categories: categories.iter().map(|c| c.to_string()).collect(),
            photos: Vec::new(),
        }
    }

    fn update_of(json: &str) -> Result<Update, String> {
        Update::from_json(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn an_update_replaces_adds_and_deletes_values_and_properties() {
        let post = post_with(&["a", "b"]);
        let run = |json: &str| updated(&post, &update_of(json).unwrap());
        let (text, categories) = run(r#"{"replace": {"content": ["new"]}}"#).unwrap();
        assert_eq!(text.unwrap().as_str(), "new");
        assert_eq!(categories, None, "untouched");
        let (_, categories) = run(r#"{"add": {"category": ["c", "a"]}}"#).unwrap();
        assert_eq!(categories.unwrap(), ["a", "b", "c"]);
        let (_, categories) = run(r#"{"delete": {"category": ["a"]}}"#).unwrap();
        assert_eq!(categories.unwrap(), ["b"]);
        let (_, categories) = run(r#"{"delete": ["category"]}"#).unwrap();
        assert_eq!(categories.unwrap(), Vec::<String>::new());
        let (_, categories) = run(r#"{"replace": {"category": ["z"]}}"#).unwrap();
        assert_eq!(categories.unwrap(), ["z"]);
        for (json, says) in [
            (
                r#"{"add": {"syndication": ["x"]}}"#,
                "content and category only",
            ),
            (r#"{"delete": ["content"]}"#, "exactly one content"),
            (r#"{"replace": {"content": ["a", "b"]}}"#, "one value"),
        ] {
            let why = run(json).unwrap_err();
            assert!(why.contains(says), "{json}: {why}");
        }
        for json in [
            r#"{"replace": {"content": "not an array"}}"#,
            r#"{"add": {"category": "x"}}"#,
            r#"{"delete": "category"}"#,
        ] {
            assert!(update_of(json).is_err(), "{json}");
        }
    }

    #[test]
    fn what_roost_cannot_keep_is_refused_not_dropped() {
        for (body, says) in [
            (&b"h=entry&like-of=https%3A%2F%2Fa.example%2F"[..], "likes"),
            (b"h=entry&content=x&post-status=draft", "drafts"),
            (b"h=event&content=x", "h-event"),
            (b"h=entry", "empty"),
            (b"h=entry&content[html]=%3Cb%3Ex%3C%2Fb%3E", "HTML"),
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
        let nested = from_json(
            br#"{"type":["h-entry"],"properties":{"content":["x"],"category":[{"type":["h-card"]}]}}"#,
        )
        .unwrap();
        assert!(entry(&nested).unwrap_err().contains("category"));
        assert!(from_json(b"[1]").is_err());
        assert!(from_json(b"{").unwrap_err().contains("not valid JSON"));
    }
}
