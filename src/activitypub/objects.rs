//! The JSON the node serves and sends: WebFinger's JRD, the actor (a
//! Person), a post as a Note (a Tombstone once deleted), the activities
//! that carry a post's change (Create, Update, Delete), Accept, and the
//! collections. Pure functions of the settings and rows: no request, no SQL.

use super::{ACTIVITY_JSON, actor_id, inbox_url, key_id, post_id};
use crate::settings::Settings;
use crate::store::posts::Post;
use serde_json::{Value, json};

pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
const CONTEXT: &str = "https://www.w3.org/ns/activitystreams";
const SECURITY_CONTEXT: &str = "https://w3id.org/security/v1";

/// `acct:HANDLE@HOST` for this node.
pub fn acct(settings: &Settings) -> String {
    format!(
        "acct:{}@{}",
        settings.handle(),
        super::acct_host(&settings.url())
    )
}

/// WebFinger's answer (RFC 7033): the actor for `self`, the home page as
/// the profile page.
pub fn webfinger(settings: &Settings) -> Value {
    let url = settings.url();
    let actor = actor_id(&url);
    json!({
        "subject": acct(settings),
        "aliases": [actor, url],
        "links": [
            {"rel": "self", "type": ACTIVITY_JSON, "href": actor},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": url},
        ],
    })
}

/// The node's actor: a Person with its public key.
pub fn actor(settings: &Settings, public_key_pem: &str) -> Value {
    let url = settings.url();
    let id = actor_id(&url);
    let name = match settings.name() {
        "" => settings.handle(),
        name => name.to_string(),
    };
    let mut actor = json!({
        "@context": [CONTEXT, SECURITY_CONTEXT],
        "id": id,
        "type": "Person",
        "preferredUsername": settings.handle(),
        "name": name,
        "summary": crate::render::post_text::to_html(settings.bio()).trim_end(),
        "url": url,
        "inbox": format!("{id}/inbox"),
        "outbox": format!("{url}outbox"),
        "followers": followers_id(&url),
        "following": format!("{url}following"),
        "endpoints": {"sharedInbox": inbox_url(&url)},
        "manuallyApprovesFollowers": false,
        "discoverable": true,
        "publicKey": {
            "id": key_id(&url),
            "owner": id,
            "publicKeyPem": public_key_pem,
        },
    });
    // The owner's old accounts, so that one can move its followers here.
    let also = settings.also_known_as();
    if !also.is_empty() {
        actor["alsoKnownAs"] = json!(also);
    }
    if let Some(moved_to) = settings.moved_to() {
        actor["movedTo"] = json!(moved_to);
    }
    actor
}

pub fn followers_id(site_url: &str) -> String {
    format!("{site_url}followers")
}

/// A post as a Note, addressed to the public with the followers in copy.
pub fn note(site_url: &str, post: &Post) -> Value {
    let id = post_id(site_url, post.id.0);
    let mut note = json!({
        "id": id,
        "type": "Note",
        "url": id,
        "attributedTo": actor_id(site_url),
        "content": crate::render::post_text::to_html(&post.body).trim_end(),
        "published": crate::render::rfc3339(post.published),
        "inReplyTo": post.reply_to,
        "to": [PUBLIC],
        "cc": [followers_id(site_url)],
    });
    if post.updated != post.published {
        note["updated"] = json!(crate::render::rfc3339(post.updated));
    }
    if !post.photos.is_empty() {
        // Mastodon and the others show an Image attachment as the photo,
        // with `name` as its description.
        note["attachment"] = post
            .photos
            .iter()
            .map(|photo| {
                json!({
                    "type": "Image",
                    "mediaType": photo.mime,
                    "url": format!("{site_url}media/{}", photo.name),
                    "name": photo.alt,
                    "width": photo.width,
                    "height": photo.height,
                })
            })
            .collect();
    }
    note
}

/// What a deleted post's address answers (with 410), and a Delete carries.
pub fn tombstone(site_url: &str, id: i64, deleted: i64) -> Value {
    json!({
        "id": post_id(site_url, id),
        "type": "Tombstone",
        "formerType": "Note",
        "deleted": crate::render::rfc3339(deleted),
    })
}

/// A document served on its own: the context added.
pub fn document(mut object: Value) -> Value {
    if object.get("@context").is_none()
        && let Some(map) = object.as_object_mut()
    {
        let mut with = serde_json::Map::new();
        with.insert("@context".into(), json!(CONTEXT));
        with.extend(std::mem::take(map));
        *map = with;
    }
    object
}

/// A post's change as an activity: `Create` or `Update` of its Note, or
/// `Delete` of its Tombstone. `revision` makes each Update's id new.
pub fn post_activity(site_url: &str, kind: &str, object: Value, revision: i64) -> Value {
    let object_id = object["id"].as_str().unwrap_or_default().to_string();
    let id = match kind {
        "Update" => format!("{object_id}#update-{revision}"),
        other => format!("{object_id}#{}", other.to_ascii_lowercase()),
    };
    json!({
        "@context": CONTEXT,
        "id": id,
        "type": kind,
        "actor": actor_id(site_url),
        "to": [PUBLIC],
        "cc": [followers_id(site_url)],
        "object": object,
    })
}

/// The node's `Accept` of a `Follow` (the Follow as received, by id).
pub fn accept(site_url: &str, follow: &Value) -> Value {
    let follow_id = follow["id"].as_str().unwrap_or_default();
    let digest = crate::web::auth::sha256_hex(follow_id.as_bytes());
    json!({
        "@context": CONTEXT,
        "id": format!("{}#accepts/{}", actor_id(site_url), &digest[..16]),
        "type": "Accept",
        "actor": actor_id(site_url),
        "object": {
            "id": follow["id"],
            "type": "Follow",
            "actor": follow["actor"],
            "object": actor_id(site_url),
        },
    })
}

/// An ordered collection of `total` items; `items` when it lists them.
pub fn collection(id: &str, total: i64, items: Option<Vec<Value>>) -> Value {
    let mut collection = json!({
        "@context": CONTEXT,
        "id": id,
        "type": "OrderedCollection",
        "totalItems": total,
    });
    if let Some(items) = items {
        collection["orderedItems"] = Value::Array(items);
    }
    collection
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::posts::PostId;

    #[test]
    fn a_note_carries_its_permalink_author_dates_reply_and_audience() {
        let post = Post {
            id: PostId(7),
            uid: "tag:me.example,2026:/posts/7".into(),
            body: "Hello <you>\n\nhttps://a.example/".into(),
            reply_to: Some("https://a.example/notes/1".into()),
            published: 1_800_000_000,
            updated: 1_800_000_060,
            syndication: None,
            summary: None,
            categories: Vec::new(),
            photos: Vec::new(),
        };
        let note = note("https://me.example/", &post);
        assert_eq!(note["id"], "https://me.example/posts/7");
        assert_eq!(note["attributedTo"], "https://me.example/actor");
        assert_eq!(note["inReplyTo"], "https://a.example/notes/1");
        assert_eq!(note["to"][0], PUBLIC);
        assert_eq!(note["cc"][0], "https://me.example/followers");
        assert_eq!(note["published"], "2027-01-15T08:00:00Z");
        assert_eq!(note["updated"], "2027-01-15T08:01:00Z");
        let content = note["content"].as_str().unwrap();
        assert!(content.starts_with("<p>Hello &lt;you&gt;</p>"), "{content}");
        let create = post_activity("https://me.example/", "Create", note, 0);
        assert_eq!(create["id"], "https://me.example/posts/7#create");
        assert_eq!(create["object"]["type"], "Note");
    }
}
