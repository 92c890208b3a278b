//! Photos by Micropub: the media endpoint (`POST /micropub/media`, scope
//! `media`: one file in the part named `file`, kept as an upload, answered
//! 201 with its URL in `Location`), and a create's `photo` property: files
//! of a multipart create, URLs the media endpoint answered (this site's
//! `media/NAME`), or `{"value": URL, "alt": TEXT}` in JSON. A photo at any
//! other address is refused: roost shows only files it made itself.

use super::{Properties, from_fields, insufficient_scope, invalid};
use crate::indieauth;
use crate::media::{self, Refusal};
use crate::posts::{Attachment, MAX_ALT_CHARS};
use crate::web::app::Ctx;
use crate::web::http::Response;
use crate::web::multipart;
use anyhow::Result;
use serde_json::Value;

/// A multipart create: its text fields as properties, its `access_token`,
/// and its photo files (parts named `photo` or `photo[]`).
pub type Multipart<'a> = (Properties, Option<String>, Vec<&'a [u8]>);

/// Reads a multipart create (`Multipart`), or says why it cannot.
pub fn from_multipart<'a>(body: &'a [u8], content_type: &str) -> Result<Multipart<'a>, String> {
    let boundary = multipart::boundary(content_type)
        .ok_or("The multipart body has no boundary in its Content-Type.")?;
    let parts = multipart::parse(body, &boundary)?;
    let mut fields = Vec::new();
    let mut files = Vec::new();
    for part in parts {
        let name = part.name.strip_suffix("[]").unwrap_or(&part.name);
        if part.filename.is_some() {
            if name != "photo" {
                return Err(format!(
                    "This site takes files as photos only (the part {name:?} is a file)."
                ));
            }
            if part.is_file() {
                files.push(part.data);
            }
            continue;
        }
        let value = String::from_utf8(part.data.to_vec())
            .map_err(|_| format!("The field {name:?} is not UTF-8 text."))?;
        fields.push((part.name.clone(), value));
    }
    let (properties, token) = from_fields(fields);
    Ok((properties, token, files))
}

/// The photos a create names, the files among them uploaded first; the
/// refusal (nothing posted) when one cannot be used.
pub fn attachments(
    ctx: &mut Ctx,
    properties: &Properties,
    files: &[&[u8]],
) -> Result<Result<Vec<Attachment>, Response>> {
    let mut photos = Vec::new();
    let values = properties
        .values
        .iter()
        .filter(|(name, _)| name == "photo")
        .flat_map(|(_, values)| values);
    for value in values {
        let (url, alt) = match value {
            Value::String(url) => (url.as_str(), ""),
            Value::Object(map) => match map.get("value").and_then(Value::as_str) {
                Some(url) => (url, map.get("alt").and_then(Value::as_str).unwrap_or("")),
                None => return Ok(Err(invalid("A photo object has no \"value\" URL."))),
            },
            _ => return Ok(Err(invalid("A photo is not a URL."))),
        };
        let Some(name) = media::name_in_url(ctx.conn, &ctx.site.url, url)? else {
            return Ok(Err(invalid(&format!(
                "The photo {url:?} was not uploaded to this site: send the file to the media \
                 endpoint ({}) first and use the URL it answers.",
                ctx.site.absolute("micropub/media")
            ))));
        };
        photos.push(Attachment {
            name,
            alt: alt.chars().take(MAX_ALT_CHARS).collect(),
        });
    }
    for bytes in files {
        let now = ctx.now;
        match media::upload(&mut ctx.node(), bytes, now)? {
            Ok(photo) => photos.push(Attachment {
                name: photo.name,
                alt: String::new(),
            }),
            Err(refusal) => return Ok(Err(refused(&refusal))),
        }
    }
    Ok(Ok(photos))
}

/// POST /micropub/media: one file, kept; 201 with its URL.
pub fn endpoint(ctx: &mut Ctx) -> Result<Response> {
    let content_type = ctx.req.header("content-type").unwrap_or("").to_string();
    let Some(boundary) = multipart::boundary(&content_type) else {
        return Ok(indieauth::oauth_error(
            415,
            "invalid_request",
            "Send the file as multipart/form-data, in a part named \"file\".",
        ));
    };
    let parts = match multipart::parse(&ctx.req.body, &boundary) {
        Ok(parts) => parts,
        Err(why) => return Ok(invalid(&why)),
    };
    let body_token = parts
        .iter()
        .find(|p| p.name == "access_token" && p.filename.is_none())
        .and_then(|p| std::str::from_utf8(p.data).ok())
        .map(str::to_owned);
    let bearer = match indieauth::bearer(ctx, body_token.as_deref())? {
        Ok(bearer) => bearer,
        Err(refusal) => return Ok(refusal),
    };
    if !bearer.has("media") {
        return Ok(insufficient_scope("media"));
    }
    let files: Vec<&[u8]> = parts
        .iter()
        .filter(|p| p.name == "file" && p.is_file())
        .map(|p| p.data)
        .collect();
    let [bytes] = files[..] else {
        return Ok(invalid(
            "Send exactly one file, in the part named \"file\".",
        ));
    };
    let now = ctx.now;
    let photo = match media::upload(&mut ctx.node(), bytes, now)? {
        Ok(photo) => photo,
        Err(refusal) => return Ok(refused(&refusal)),
    };
    let url = ctx
        .site
        .absolute(&format!("{}/{}", media::files::FOLDER, photo.name));
    Ok(
        Response::new(201, "text/plain; charset=utf-8", format!("{url}\n"))
            .with_header("Location", &url),
    )
}

/// `q=source`'s `photo`: each photo's URL and alt text.
pub fn source_photos(site: &crate::render::Site, photos: &[crate::store::media::Photo]) -> Value {
    photos
        .iter()
        .map(|photo| {
            serde_json::json!({
                "value": site.absolute(&format!("{}/{}", media::files::FOLDER, photo.name)),
                "alt": photo.alt,
            })
        })
        .collect()
}

/// A refused file as the spec's JSON error.
fn refused(refusal: &Refusal) -> Response {
    indieauth::oauth_error(refusal.status, "invalid_request", &refusal.message)
}
