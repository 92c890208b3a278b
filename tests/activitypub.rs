//! ActivityPub behind the private Apache, through the real binary as CGI:
//! WebFinger, the actor and each post as a Note (by their own paths and by
//! content negotiation, the published `/` and the page cache included),
//! the collections; the inbox's refusals (413, bad JSON, the rate limit)
//! and, after cron, its signatures (draft-cavage and RFC 9421: good,
//! forged, another's key, stale, replayed, a changed body); what it does
//! with Follow, Undo, Create, Like, Announce, Update and Delete; and
//! delivering a post's change to the followers' inboxes, signed.

mod common;

use common::apache::{Kind, Site, apache};
use common::http::HttpResponse;
use common::without_database;
use serde_json::Value;

const AP: &str = "application/activity+json";
const LD: &str = "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

fn json(r: &HttpResponse) -> Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {r:?}"))
}

fn site(label: &str) -> Site {
    apache().loopback_roost_site(label, Kind::Cgi)
}

/// Posts `text`; the post's path on the site (`/posts/N`).
fn post(site: &Site, text: &str) -> String {
    let permalink = site.cli_ok(&["post", text]);
    let permalink = permalink.trim();
    permalink
        .strip_prefix(site.base_url().trim_end_matches('/'))
        .unwrap_or_else(|| panic!("{permalink} is not on {}", site.base_url()))
        .to_string()
}

#[test]
fn webfinger_finds_the_actor_by_acct_and_by_url_and_refuses_others_in_json() {
    let site = site("ap-wf");
    site.cli_ok(&["config", "handle", "ann"]);
    let host = site.host.clone();
    let found = site.get(
        &format!("/.well-known/webfinger?resource=acct:ann@{host}"),
        &[],
    );
    assert_eq!(found.status, 200, "{found:?}");
    assert_eq!(found.mime().as_deref(), Some("application/jrd+json"));
    let jrd = json(&found);
    assert_eq!(jrd["subject"], format!("acct:ann@{host}"));
    let actor = site.url("/actor");
    let own = jrd["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "self")
        .expect("a self link");
    assert_eq!(own["type"], AP);
    assert_eq!(own["href"], actor.as_str());
    let by_url = site.get(
        &format!(
            "/.well-known/webfinger?resource={}",
            common::http::form_escape(&actor)
        ),
        &[],
    );
    assert_eq!(json(&by_url)["subject"], format!("acct:ann@{host}"));
    let other = site.get(
        "/.well-known/webfinger?resource=acct:bob@elsewhere.example",
        &[],
    );
    assert_eq!(other.status, 404, "{other:?}");
    assert_eq!(json(&other)["error"], "not_found");
    let none = site.get("/.well-known/webfinger", &[]);
    assert_eq!(none.status, 400, "{none:?}");
    assert!(
        json(&none)["error_description"]
            .as_str()
            .unwrap()
            .contains("resource")
    );
}

#[test]
fn the_actor_is_at_its_path_and_at_the_home_page_by_negotiation() {
    let site = site("ap-actor");
    site.cli_ok(&["config", "bio", "Writes <short> notes."]);
    let actor = site.get("/actor", &[("Accept", AP)]);
    assert_eq!(actor.status, 200, "{actor:?}");
    assert_eq!(actor.mime().as_deref(), Some(AP));
    let person = json(&actor);
    let id = site.url("/actor");
    assert_eq!(person["id"], id.as_str());
    assert_eq!(person["type"], "Person");
    assert_eq!(person["url"], site.base_url().as_str());
    assert_eq!(person["summary"], "<p>Writes &lt;short&gt; notes.</p>");
    for (field, path) in [
        ("inbox", "/actor/inbox"),
        ("outbox", "/outbox"),
        ("followers", "/followers"),
        ("following", "/following"),
    ] {
        assert_eq!(person[field], site.url(path).as_str(), "{field}");
    }
    assert_eq!(
        person["endpoints"]["sharedInbox"],
        site.url("/inbox").as_str()
    );
    assert_eq!(person["publicKey"]["id"], format!("{id}#main-key"));
    assert_eq!(person["publicKey"]["owner"], id.as_str());
    let pem = person["publicKey"]["publicKeyPem"].as_str().unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    // The key is made once: the same on every answer.
    for accept in [AP, LD] {
        let home = site.get("/", &[("Accept", accept)]);
        assert_eq!(home.status, 200, "{home:?}");
        assert_eq!(home.header("Vary"), Some("Accept"), "{home:?}");
        assert_eq!(json(&home), person, "{accept}");
    }
    let page = site.get("/", &[("Accept", "text/html")]);
    assert_eq!(page.mime().as_deref(), Some("text/html"));
    assert_eq!(page.header("Vary"), Some("Accept"), "{page:?}");
}

#[test]
fn a_post_is_a_note_at_its_permalink_and_a_tombstone_once_deleted() {
    let site = site("ap-note");
    let path = post(&site, "Hello fediverse");
    let note = site.get(&path, &[("Accept", LD)]);
    assert_eq!(note.status, 200, "{note:?}");
    assert_eq!(note.header("Vary"), Some("Accept"));
    let note = json(&note);
    let permalink = site.url(&path);
    assert_eq!(note["type"], "Note");
    assert_eq!(note["id"], permalink.as_str());
    assert_eq!(note["url"], permalink.as_str());
    assert_eq!(note["attributedTo"], site.url("/actor").as_str());
    assert_eq!(note["content"], "<p>Hello fediverse</p>");
    assert_eq!(
        note["to"][0],
        "https://www.w3.org/ns/activitystreams#Public"
    );
    assert_eq!(note["cc"][0], site.url("/followers").as_str());
    assert!(note["published"].as_str().unwrap().ends_with('Z'));
    let html = site.get(&path, &[]);
    assert_eq!(html.mime().as_deref(), Some("text/html"));
    assert_eq!(html.header("Vary"), Some("Accept"));

    let id = path.rsplit('/').next().unwrap();
    site.cli_ok(&["delete", id]);
    let gone = site.get(&path, &[("Accept", AP)]);
    assert_eq!(gone.status, 410, "{gone:?}");
    let tombstone = json(&gone);
    assert_eq!(tombstone["type"], "Tombstone");
    assert_eq!(tombstone["id"], permalink.as_str());
    let never = site.get("/posts/999", &[("Accept", AP)]);
    assert_eq!(never.status, 404);
}

#[test]
fn the_collections_count_posts_and_followers() {
    let site = site("ap-coll");
    post(&site, "one");
    post(&site, "two");
    let outbox = json(&site.get("/outbox", &[("Accept", AP)]));
    assert_eq!(outbox["type"], "OrderedCollection");
    assert_eq!(outbox["totalItems"], 2);
    assert_eq!(outbox["orderedItems"][0]["type"], "Create");
    assert_eq!(outbox["orderedItems"][0]["object"]["content"], "<p>two</p>");
    let followers = json(&site.get("/followers", &[("Accept", AP)]));
    assert_eq!(followers["totalItems"], 0);
    let following = site.get("/following", &[("Accept", AP)]);
    assert_eq!(json(&following)["type"], "OrderedCollection");
    // The follow list's page is still there for a browser.
    let page = site.get("/following", &[]);
    assert_eq!(page.mime().as_deref(), Some("text/html"));
}

/// The page cache keys pages by address: an ActivityPub client asking for
/// `/` or a post after a visitor must get JSON, and a visitor after it HTML.
#[test]
fn the_page_cache_never_answers_json_for_a_page_or_a_page_for_json() {
    let site = site("ap-cache");
    let path = post(&site, "cached");
    for address in ["/", path.as_str()] {
        let first = site.get(address, &[]);
        assert_eq!(first.mime().as_deref(), Some("text/html"), "{address}");
        let kept = site.get(address, &[]);
        assert_eq!(kept.body, first.body, "{address}: the kept page");
        let activity = site.get(address, &[("Accept", AP)]);
        assert_eq!(
            activity.mime().as_deref(),
            Some(AP),
            "{address}: {activity:?}"
        );
        json(&activity);
        let after = site.get(address, &[]);
        assert_eq!(after.mime().as_deref(), Some("text/html"), "{address}");
    }
}

/// sample.htaccess serves a published `/` to visitors without starting
/// roost; an ActivityPub client must reach roost for the actor.
#[test]
fn the_published_home_page_still_answers_the_actor_to_activitypub_clients() {
    let site = site("ap-pub");
    common::chown_to_cgi_user(&site.dir);
    let dir = site.dir.to_str().unwrap().to_string();
    site.cli_ok(&["config", "publish_dir", &dir]);
    post(&site, "published");
    assert!(site.dir.join("roost-home.html").exists());
    let visitor = site.get("/", &[]);
    assert_eq!(visitor.mime().as_deref(), Some("text/html"));
    let vary = visitor.header("Vary").unwrap_or_default();
    assert!(
        vary.contains("Accept"),
        "the published page varies: {visitor:?}"
    );
    for accept in [AP, LD] {
        let actor = site.get("/", &[("Accept", accept)]);
        assert_eq!(actor.status, 200, "{actor:?}");
        assert_eq!(json(&actor)["type"], "Person", "{accept}");
    }
}

// ---------------------------------------------------------------------------
// The inbox: signed requests from a remote actor on a loopback server.
// ---------------------------------------------------------------------------

use common::feed_server::{FeedServer, Route};
use roost::activitypub::{keys, signature};

const ALICE_KEY: &str = include_str!("fixtures/activitypub/rfc9421-test-key-rsa.pem");
const ALICE_PUBLIC: &str = include_str!("fixtures/activitypub/rfc9421-test-key-rsa.pub.pem");
/// Another key (draft-cavage's test key): a forger's.
const OTHER_KEY: &str = include_str!("fixtures/activitypub/cavage-test.pem");
const OTHER_PUBLIC: &str = include_str!("fixtures/activitypub/cavage-test.pub.pem");

/// A remote server with two actors: alice (signing with her key) and
/// mallory (whose key is another), each with an inbox that answers 202.
struct Remote {
    server: FeedServer,
}

impl Remote {
    fn start() -> Remote {
        let server = FeedServer::start();
        for (name, pem) in [("alice", ALICE_PUBLIC), ("mallory", OTHER_PUBLIC)] {
            let id = server.url(&format!("/users/{name}"));
            let actor = serde_json::json!({
                "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                "id": id,
                "type": "Person",
                "preferredUsername": name,
                "name": format!("{name} <b>Remote</b>"),
                "url": server.url(&format!("/@{name}")),
                "inbox": format!("{id}/inbox"),
                "endpoints": {"sharedInbox": server.url("/inbox")},
                "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": pem},
            });
            server.feed(&format!("/users/{name}"), actor.to_string().as_bytes(), AP);
            server.set(
                &format!("/users/{name}/inbox"),
                Route::Status {
                    status: 202,
                    headers: vec![],
                },
            );
        }
        server.set(
            "/inbox",
            Route::Status {
                status: 202,
                headers: vec![],
            },
        );
        Remote { server }
    }

    fn actor(&self, name: &str) -> String {
        self.server.url(&format!("/users/{name}"))
    }

    fn key_id(&self, name: &str) -> String {
        format!("{}#main-key", self.actor(name))
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// How a test request is signed.
#[derive(Clone, Copy)]
enum Sign<'a> {
    /// draft-cavage with `key` under `key_id`, dated `at`.
    Cavage {
        key: &'a str,
        key_id: &'a str,
        at: i64,
    },
    /// RFC 9421 (rsa-v1_5-sha256, Content-Digest), created `at`.
    Rfc9421 {
        key: &'a str,
        key_id: &'a str,
        at: i64,
    },
    None,
}

/// The headers of a POST of `body` to the site's `path`, signed as `sign` says.
fn signed_headers(site: &Site, path: &str, body: &[u8], sign: Sign) -> Vec<(String, String)> {
    let url = url::Url::parse(&site.url(path)).unwrap();
    let mut headers = vec![("Content-Type".to_string(), AP.to_string())];
    match sign {
        Sign::Cavage { key, key_id, at } => {
            let key = keys::private_key(key).unwrap();
            for (name, value) in signature::sign_cavage(&key, key_id, &url, AP, body, at) {
                if name != "Host" {
                    headers.push((name.to_string(), value));
                }
            }
        }
        Sign::Rfc9421 { key, key_id, at } => {
            use base64::Engine;
            use sha2::Digest;
            let b64 = base64::engine::general_purpose::STANDARD;
            let digest = format!("sha-256=:{}:", b64.encode(sha2::Sha256::digest(body)));
            let authority = url.host_str().unwrap().to_string()
                + &url.port().map(|p| format!(":{p}")).unwrap_or_default();
            let params = format!(
                "(\"@method\" \"@target-uri\" \"@authority\" \"content-type\" \"content-digest\");created={at};keyid=\"{key_id}\";alg=\"rsa-v1_5-sha256\""
            );
            let base = format!(
                "\"@method\": POST\n\"@target-uri\": {url}\n\"@authority\": {authority}\n\"content-type\": {AP}\n\"content-digest\": {digest}\n\"@signature-params\": {params}"
            );
            let signed = keys::sign_pkcs1_sha256(&keys::private_key(key).unwrap(), base.as_bytes());
            headers.push(("Content-Digest".into(), digest));
            headers.push(("Signature-Input".into(), format!("sig1={params}")));
            headers.push(("Signature".into(), format!("sig1=:{}:", b64.encode(signed))));
        }
        Sign::None => {}
    }
    headers
}

fn deliver_to(site: &Site, path: &str, body: &[u8], sign: Sign) -> HttpResponse {
    let headers = signed_headers(site, path, body, sign);
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    site.send("POST", path, &refs, Some(body))
}

/// Delivers `body` to the site's `path`, which takes it (202).
fn take(site: &Site, path: &str, body: &str, sign: Sign) {
    let answer = deliver_to(site, path, body.as_bytes(), sign);
    assert_eq!(answer.status, 202, "{answer:?}");
}

fn cron(site: &Site) {
    site.cli_ok(&["cron", "--quiet"]);
}

/// The `activitypub inbox` line of `roost doctor`.
fn inbox_counts(site: &Site) -> String {
    let out = site.cli(&["doctor"], None);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.contains("activitypub inbox"))
        .unwrap_or_else(|| panic!("doctor says nothing of the inbox: {out:?}"))
        .to_string()
}

fn alice<'a>(remote: &'a Remote, key_id: &'a str) -> Sign<'a> {
    let _ = remote;
    Sign::Cavage {
        key: ALICE_KEY,
        key_id,
        at: now(),
    }
}

fn reply_json(remote: &Remote, id: &str, to: &str, content: &str) -> String {
    let actor = remote.actor("alice");
    serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}/activities/{id}"),
        "type": "Create",
        "actor": actor,
        "object": {
            "id": format!("{actor}/notes/{id}"),
            "type": "Note",
            "url": remote.server.url(&format!("/@alice/{id}")),
            "attributedTo": actor,
            "inReplyTo": to,
            "content": content,
            "published": "2026-12-01T10:00:00Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
    })
    .to_string()
}

/// A site that shows every mention at once, a remote server, and a post
/// of `text` (its path).
fn scene(label: &str, text: &str) -> (Site, Remote, String) {
    let site = site(label);
    site.cli_ok(&["config", "webmention_moderation", "all"]);
    let path = post(&site, text);
    (site, Remote::start(), path)
}

#[test]
fn the_inbox_refuses_a_large_body_bad_json_and_a_flood_at_once() {
    let site = site("ap-refuse");
    let big = vec![b' '; 300 * 1024];
    let refused = site.send("POST", "/inbox", &[("Content-Type", AP)], Some(&big));
    assert_eq!(refused.status, 413, "{refused:?}");
    assert_eq!(json(&refused)["error"], "invalid_request");
    for bad in [&b"{not json"[..], b"[]", b"{\"type\":\"Create\"}"] {
        let answer = site.send("POST", "/inbox", &[("Content-Type", AP)], Some(bad));
        assert_eq!(answer.status, 400, "{answer:?}");
        assert_eq!(json(&answer)["error"], "invalid_request");
    }
    let flood = br#"{"type":"Like","actor":"https://flood.example/u","object":"x"}"#;
    let signature = [
        ("Content-Type", AP),
        (
            "Signature",
            "keyId=\"https://flood.example/u#k\",signature=\"AA==\"",
        ),
    ];
    let mut statuses = Vec::new();
    for _ in 0..121 {
        statuses.push(
            site.send("POST", "/actor/inbox", &signature, Some(flood))
                .status,
        );
    }
    assert!(statuses[..120].iter().all(|s| *s == 202), "{statuses:?}");
    let last = site.send("POST", "/inbox", &signature, Some(flood));
    assert_eq!(last.status, 429, "{last:?}");
    assert!(last.header("Retry-After").is_some());
    // Another host is not held back by the flood.
    let other = site.send(
        "POST",
        "/inbox",
        &[("Content-Type", AP)],
        Some(&br#"{"type":"Like","actor":"https://calm.example/u"}"#[..]),
    );
    assert_eq!(other.status, 202, "{other:?}");
    // The inbox never opens the database: with it moved away, an activity
    // is still taken (into the spool), while a page that needs it is not.
    let (spooled, page) = without_database(&site.home, || {
        let spooled = site.send(
            "POST",
            "/inbox",
            &[("Content-Type", AP)],
            Some(&br#"{"type":"Like","actor":"https://calm.example/v"}"#[..]),
        );
        (
            spooled,
            site.get("/timeline", &[("Cookie", "roost_session=x")]),
        )
    });
    assert_eq!(spooled.status, 202, "{spooled:?}");
    assert_ne!(page.status, 200, "the page needed the database: {page:?}");
    // Unsigned or badly signed, each is dropped and counted by cron.
    cron(&site);
    let counts = inbox_counts(&site);
    assert!(counts.contains("0 taken"), "{counts}");
    assert!(counts.contains("unsigned 2"), "{counts}");
    assert!(counts.contains("bad signature 120"), "{counts}");
}

#[test]
fn signed_replies_likes_and_boosts_show_under_the_post_after_cron() {
    let (site, remote, path) = scene("ap-sign", "Say something");
    let permalink = site.url(&path);
    let key_id = remote.key_id("alice");
    let actor = remote.actor("alice");
    // A reply signed the draft-cavage way (Mastodon's).
    let body = reply_json(
        &remote,
        "1",
        &permalink,
        "<p>Nice <script>alert(1)</script>post</p>",
    );
    let accepted = deliver_to(&site, "/inbox", body.as_bytes(), alice(&remote, &key_id));
    assert_eq!(accepted.status, 202, "{accepted:?}");
    // A like signed the RFC 9421 way (Fedify's), to the actor's own inbox.
    let like = serde_json::json!({"id": format!("{actor}/likes/1"), "type": "Like", "actor": actor, "object": permalink}).to_string();
    let sign = Sign::Rfc9421 {
        key: ALICE_KEY,
        key_id: &key_id,
        at: now(),
    };
    take(&site, "/actor/inbox", &like, sign);
    let boost = serde_json::json!({"id": format!("{actor}/boosts/1"), "type": "Announce", "actor": actor, "object": permalink}).to_string();
    take(&site, "/inbox", &boost, alice(&remote, &key_id));
    // Nothing shows before cron has verified them.
    assert!(!site.get(&path, &[]).text().contains("Nice"));
    cron(&site);
    let page = site.get(&path, &[]).text();
    assert!(page.contains("Nice post"), "{page}");
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(
        page.contains("1 likes") && page.contains("1 reposts"),
        "{page}"
    );
    assert!(
        page.contains("alice &lt;b&gt;Remote&lt;/b&gt;"),
        "names are text: {page}"
    );
    let counts = inbox_counts(&site);
    assert!(counts.contains("3 taken, none dropped"), "{counts}");

    // An edit by its author changes the reply; a Delete from another
    // actor's key changes nothing; the author's own Delete removes it.
    let update = body
        .replace("\"Create\"", "\"Update\"")
        .replace("activities/1", "activities/1-edit")
        .replace("Nice <script>alert(1)</script>post", "Edited reply");
    take(&site, "/inbox", &update, alice(&remote, &key_id));
    cron(&site);
    let page = site.get(&path, &[]).text();
    assert!(
        page.contains("Edited reply") && !page.contains("Nice post"),
        "{page}"
    );
    let mallory = remote.actor("mallory");
    let note = format!("{actor}/notes/1");
    let forged_delete = serde_json::json!({"id": format!("{mallory}/d/1"), "type": "Delete", "actor": mallory, "object": note}).to_string();
    let mallory_key = remote.key_id("mallory");
    let sign = Sign::Cavage {
        key: OTHER_KEY,
        key_id: &mallory_key,
        at: now(),
    };
    take(&site, "/inbox", &forged_delete, sign);
    cron(&site);
    assert!(
        site.get(&path, &[]).text().contains("Edited reply"),
        "another's Delete removed a reply"
    );
    let delete = serde_json::json!({"id": format!("{actor}/d/1"), "type": "Delete", "actor": actor, "object": {"id": note, "type": "Tombstone"}}).to_string();
    take(&site, "/inbox", &delete, alice(&remote, &key_id));
    let undo = serde_json::json!({"id": format!("{actor}/undo/1"), "type": "Undo", "actor": actor, "object": {"id": format!("{actor}/likes/1"), "type": "Like"}}).to_string();
    take(&site, "/inbox", &undo, alice(&remote, &key_id));
    cron(&site);
    let page = site.get(&path, &[]).text();
    assert!(!page.contains("Edited reply"), "{page}");
    assert!(
        !page.contains("1 likes") && page.contains("1 reposts"),
        "{page}"
    );
}

#[test]
fn forged_stale_replayed_and_changed_requests_are_dropped_and_counted() {
    let (site, remote, path) = scene("ap-forge", "Target");
    let permalink = site.url(&path);
    let key_id = remote.key_id("alice");
    let mallory_key = remote.key_id("mallory");
    let send = |n: &str, sign: Sign| {
        let body = reply_json(&remote, n, &permalink, &format!("<p>reply {n}</p>"));
        let answer = deliver_to(&site, "/inbox", body.as_bytes(), sign);
        assert_eq!(answer.status, 202, "{n}: {answer:?}");
    };
    // Forged: alice's key id, another key's signature.
    send(
        "forged",
        Sign::Cavage {
            key: OTHER_KEY,
            key_id: &key_id,
            at: now(),
        },
    );
    send(
        "forged-9421",
        Sign::Rfc9421 {
            key: OTHER_KEY,
            key_id: &key_id,
            at: now(),
        },
    );
    // Mallory's own valid signature on an activity that claims to be alice's.
    send(
        "owner",
        Sign::Cavage {
            key: OTHER_KEY,
            key_id: &mallory_key,
            at: now(),
        },
    );
    // Two hours old.
    send(
        "stale",
        Sign::Cavage {
            key: ALICE_KEY,
            key_id: &key_id,
            at: now() - 7200,
        },
    );
    send(
        "stale-9421",
        Sign::Rfc9421 {
            key: ALICE_KEY,
            key_id: &key_id,
            at: now() - 7200,
        },
    );
    // Signed, then the body changed on the way.
    let body = reply_json(&remote, "changed", &permalink, "<p>reply changed</p>");
    let headers = signed_headers(&site, "/inbox", body.as_bytes(), alice(&remote, &key_id));
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let tampered = body.replace("reply changed", "reply CHANGED");
    assert_eq!(
        site.send("POST", "/inbox", &refs, Some(tampered.as_bytes()))
            .status,
        202
    );
    // Unsigned.
    send("unsigned", Sign::None);
    // A good one, then the very same request again.
    let good = reply_json(&remote, "good", &permalink, "<p>reply good</p>");
    let headers = signed_headers(&site, "/inbox", good.as_bytes(), alice(&remote, &key_id));
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    for _ in 0..2 {
        assert_eq!(
            site.send("POST", "/inbox", &refs, Some(good.as_bytes()))
                .status,
            202
        );
    }
    cron(&site);
    let page = site.get(&path, &[]).text();
    assert!(page.contains("reply good"), "{page}");
    for dropped in ["forged", "owner", "stale", "changed", "CHANGED", "unsigned"] {
        assert!(
            !page.contains(&format!("reply {dropped}")),
            "{dropped} shown: {page}"
        );
    }
    let counts = inbox_counts(&site);
    for expected in [
        "1 taken",
        "bad signature 2",
        "wrong key owner 1",
        "stale 2",
        "bad digest 1",
        "unsigned 1",
        "replayed 1",
    ] {
        assert!(counts.contains(expected), "{expected}: {counts}");
    }
}

/// The actor's key as the site publishes it.
fn site_key(site: &Site) -> rsa::RsaPublicKey {
    let actor = json(&site.get("/actor", &[("Accept", AP)]));
    keys::public_key(actor["publicKey"]["publicKeyPem"].as_str().unwrap()).unwrap()
}

/// Every activity the site delivered to the remote shared inbox, each
/// checked by [`check_sent`].
fn sent_to_shared_inbox(site: &Site, remote: &Remote) -> Vec<Value> {
    remote
        .server
        .requests("/inbox")
        .iter()
        .map(|seen| check_sent(site, remote, seen))
        .collect()
}

/// Checks a request the site sent: its signature under the site's key,
/// its digest; returns the activity.
fn check_sent(site: &Site, remote: &Remote, seen: &common::feed_server::Seen) -> Value {
    check_signed(site, remote, seen);
    serde_json::from_slice(&seen.body).unwrap()
}

/// Checks a request the site sent is signed with the site's key (and
/// carries the digest of its body, if it has one).
fn check_signed(site: &Site, remote: &Remote, seen: &common::feed_server::Seen) {
    let headers: Vec<(String, String)> = seen
        .headers
        .iter()
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let target = remote.server.url(seen.path_only());
    let incoming = signature::Incoming {
        method: &seen.method,
        target_uri: &target,
        headers: &headers,
        body: &seen.body,
    };
    let claim = signature::claim(&incoming, now()).unwrap_or_else(|e| panic!("{e}: {seen:?}"));
    assert_eq!(claim.key_id, site.url("/actor#main-key"));
    assert!(
        claim.verify(&site_key(site)),
        "the site's signature does not verify"
    );
}

#[test]
fn a_follow_is_accepted_and_each_post_change_is_delivered_signed_to_the_shared_inbox() {
    let site = site("ap-follow");
    let remote = Remote::start();
    let actor = remote.actor("alice");
    let key_id = remote.key_id("alice");
    let follow = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}/follows/1"),
        "type": "Follow",
        "actor": actor,
        "object": site.url("/actor"),
    })
    .to_string();
    take(&site, "/inbox", &follow, alice(&remote, &key_id));
    cron(&site);
    assert_eq!(
        json(&site.get("/followers", &[("Accept", AP)]))["totalItems"],
        1
    );
    let accepts = remote.server.requests("/users/alice/inbox");
    assert_eq!(accepts.len(), 1, "{accepts:?}");
    let accept = check_sent(&site, &remote, &accepts[0]);
    assert_eq!(accept["type"], "Accept");
    // Its key and actor were fetched with signed GETs (Mastodon's secure mode).
    let fetches = remote.server.requests("/users/alice");
    assert!(!fetches.is_empty());
    for fetch in &fetches {
        assert_eq!(fetch.method, "GET");
        check_signed(&site, &remote, fetch);
    }
    assert_eq!(accept["object"]["id"], format!("{actor}/follows/1"));
    // The owner sees the new follower on /notifications.
    let login = site.submit_login(&site.get("/login", &[]));
    let cookie = format!("roost_session={}", login.cookie("roost_session").unwrap());
    let notes = site.get("/notifications", &[("Cookie", &cookie)]).text();
    assert!(notes.contains("followed you"), "{notes}");

    // A post, its edit and its deletion each reach the shared inbox once.
    let path = post(&site, "For my followers");
    let id = path.rsplit('/').next().unwrap().to_string();
    cron(&site);
    site.cli_ok(&["edit", &id, "For my followers, edited"]);
    cron(&site);
    site.cli_ok(&["delete", &id]);
    cron(&site);
    let sent = sent_to_shared_inbox(&site, &remote);
    let kinds: Vec<&str> = sent.iter().map(|a| a["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Create", "Update", "Delete"], "{sent:?}");
    assert_eq!(sent[0]["object"]["content"], "<p>For my followers</p>");
    assert_eq!(
        sent[1]["object"]["content"],
        "<p>For my followers, edited</p>"
    );
    assert_eq!(sent[2]["object"]["type"], "Tombstone");
    assert_eq!(sent[2]["object"]["id"], site.url(&path).as_str());

    // Undo Follow: no more deliveries.
    let undo = serde_json::json!({"id": format!("{actor}/undo/9"), "type": "Undo", "actor": actor, "object": {"id": format!("{actor}/follows/1"), "type": "Follow", "actor": actor, "object": site.url("/actor")}}).to_string();
    take(&site, "/inbox", &undo, alice(&remote, &key_id));
    cron(&site);
    assert_eq!(
        json(&site.get("/followers", &[("Accept", AP)]))["totalItems"],
        0
    );
    post(&site, "Nobody listens");
    cron(&site);
    assert_eq!(remote.server.requests("/inbox").len(), 3);
}

#[test]
fn a_follower_whose_inbox_is_gone_is_dropped_after_the_limit() {
    let site = site("ap-gone");
    let remote = Remote::start();
    remote.server.set(
        "/inbox",
        Route::Status {
            status: 410,
            headers: vec![],
        },
    );
    let actor = remote.actor("alice");
    let key_id = remote.key_id("alice");
    let follow = serde_json::json!({"id": format!("{actor}/follows/2"), "type": "Follow", "actor": actor, "object": site.url("/actor")}).to_string();
    take(&site, "/inbox", &follow, alice(&remote, &key_id));
    cron(&site);
    assert_eq!(
        json(&site.get("/followers", &[("Accept", AP)]))["totalItems"],
        1
    );
    for n in 0..3 {
        post(&site, &format!("post {n}"));
        cron(&site);
    }
    assert_eq!(remote.server.requests("/inbox").len(), 3);
    assert_eq!(
        json(&site.get("/followers", &[("Accept", AP)]))["totalItems"],
        0
    );
    // Not the owner's problem: no dead letter.
    let doctor = String::from_utf8_lossy(&site.cli(&["doctor"], None).stdout).to_string();
    assert!(!doctor.contains("gave up activitypub"), "{doctor}");
}

/// With the guard on (no `allow_private_addresses`), a key on an internal
/// address is never fetched: the activity is dropped, the server never asked.
#[test]
fn a_key_on_an_internal_address_is_never_fetched() {
    let site = apache().roost_site(&common::unique("ap-guard"), Kind::Cgi);
    let remote = Remote::start();
    let key_id = remote.key_id("alice");
    let body = reply_json(&remote, "guard", &site.url("/posts/1"), "<p>x</p>");
    take(&site, "/inbox", &body, alice(&remote, &key_id));
    cron(&site);
    assert!(
        remote.server.requests_all().is_empty(),
        "{:?}",
        remote.server.requests_all()
    );
    let counts = inbox_counts(&site);
    assert!(counts.contains("key not found 1"), "{counts}");
}

/// Activities of shapes JSON-LD allows but code may not expect (an actor
/// as an object, `object` as an array, numbers where strings go) are
/// taken or dropped without an error, and cron goes on.
#[test]
fn activities_of_unexpected_shapes_are_taken_or_dropped_without_failing_cron() {
    let (site, remote, path) = scene("ap-shapes", "Shapes");
    let permalink = site.url(&path);
    let actor = remote.actor("alice");
    let key_id = remote.key_id("alice");
    let odd = [
        serde_json::json!({"id": format!("{actor}/odd/1"), "type": "Like", "actor": {"id": actor, "type": "Person"}, "object": [permalink]}),
        serde_json::json!({"id": format!("{actor}/odd/2"), "type": ["Create"], "actor": actor, "object": 42}),
        serde_json::json!({"id": format!("{actor}/odd/3"), "type": "Create", "actor": actor, "object": {"id": format!("{actor}/n/3"), "type": "Note", "inReplyTo": {"id": permalink}, "content": ["a"], "published": 7}}),
        serde_json::json!({"id": format!("{actor}/odd/4"), "type": "Announce", "actor": actor, "object": {"id": permalink, "type": "Note"}}),
    ];
    for activity in &odd {
        let answer = deliver_to(
            &site,
            "/inbox",
            activity.to_string().as_bytes(),
            alice(&remote, &key_id),
        );
        assert!(answer.status == 202 || answer.status == 400, "{answer:?}");
    }
    cron(&site);
    let doctor = String::from_utf8_lossy(&site.cli(&["doctor"], None).stdout).to_string();
    assert!(!doctor.contains("gave up activitypub"), "{doctor}");
    // The boost with an embedded object counts.
    let page = site.get(&path, &[]).text();
    assert!(page.contains("1 reposts"), "{page}");
}

/// `follow_approval = manual`: a Follow waits on /notifications (not
/// counted, no Accept) until the owner approves its author; then cron
/// sends the Accept.
#[test]
fn a_follow_waits_for_the_owners_approval_when_asked_to() {
    let site = site("ap-approve");
    site.cli_ok(&["config", "follow_approval", "manual"]);
    let remote = Remote::start();
    let actor = remote.actor("alice");
    let key_id = remote.key_id("alice");
    let follow = serde_json::json!({"id": format!("{actor}/follows/3"), "type": "Follow", "actor": actor, "object": site.url("/actor")}).to_string();
    take(&site, "/inbox", &follow, alice(&remote, &key_id));
    cron(&site);
    assert_eq!(
        json(&site.get("/followers", &[("Accept", AP)]))["totalItems"],
        0
    );
    assert!(remote.server.requests("/users/alice/inbox").is_empty());
    let login = site.submit_login(&site.get("/login", &[]));
    let cookie = format!("roost_session={}", login.cookie("roost_session").unwrap());
    let page = site.get("/notifications", &[("Cookie", &cookie)]).text();
    assert!(
        page.contains("followed you") && page.contains("pending"),
        "{page}"
    );
    let id = page
        .split("name=\"mention\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a mention id")
        .to_string();
    let csrf = common::process::hidden_csrf(&page);
    let done = site.post_form(
        "/notifications",
        &common::http::form_encode(&[
            ("csrf", &csrf),
            ("mention", &id),
            ("action", "approve-author"),
        ]),
        &[("Cookie", &cookie)],
    );
    assert_eq!(done.status, 303, "{done:?}");
    cron(&site);
    assert_eq!(
        json(&site.get("/followers", &[("Accept", AP)]))["totalItems"],
        1
    );
    let accepts = remote.server.requests("/users/alice/inbox");
    assert_eq!(accepts.len(), 1, "{accepts:?}");
    assert_eq!(check_sent(&site, &remote, &accepts[0])["type"], "Accept");

    // The owner sees the follower on /settings and blocks it: it is gone
    // from the followers, and its next Follow is refused.
    let settings = site.get("/settings", &[("Cookie", &cookie)]).text();
    assert!(
        settings.contains("Followers on the fediverse (1)") && settings.contains(&actor),
        "{settings}"
    );
    let csrf = common::process::hidden_csrf(&settings);
    let forged = site.post_form(
        "/followers",
        &common::http::form_encode(&[("actor", &actor), ("action", "block")]),
        &[("Cookie", &cookie)],
    );
    assert_eq!(forged.status, 403, "without the form's token: {forged:?}");
    let blocked = site.post_form(
        "/followers",
        &common::http::form_encode(&[("csrf", &csrf), ("actor", &actor), ("action", "block")]),
        &[("Cookie", &cookie)],
    );
    assert_eq!(blocked.status, 303, "{blocked:?}");
    assert_eq!(
        json(&site.get("/followers", &[("Accept", AP)]))["totalItems"],
        0
    );
    let again = serde_json::json!({"id": format!("{actor}/follows/4"), "type": "Follow", "actor": actor, "object": site.url("/actor")}).to_string();
    take(&site, "/inbox", &again, alice(&remote, &key_id));
    cron(&site);
    assert_eq!(
        json(&site.get("/followers", &[("Accept", AP)]))["totalItems"],
        0,
        "a blocked account cannot follow again"
    );
    let settings = site.get("/settings", &[("Cookie", &cookie)]).text();
    assert!(
        settings.contains("No fediverse account follows you yet."),
        "{settings}"
    );
}

/// A sender whose key cannot be fetched (its server answers 503) is retried
/// with backoff; on the last try its activity is dropped and counted, never
/// kept as a dead letter (`doctor` lists only the owner's problems).
#[test]
fn an_unreachable_key_is_dropped_on_the_last_try_not_kept_as_a_dead_letter() {
    let (site, remote, path) = scene("ap-unreachable", "Anyone?");
    remote.server.set(
        "/users/alice",
        Route::Status {
            status: 503,
            headers: vec![],
        },
    );
    let key_id = remote.key_id("alice");
    let body = reply_json(&remote, "503", &site.url(&path), "<p>x</p>");
    take(&site, "/inbox", &body, alice(&remote, &key_id));
    cron(&site);
    assert!(inbox_counts(&site).contains("0 taken, none dropped"));
    // The retries' waits, skipped: the job is due, on its last try.
    let db = rusqlite::Connection::open(site.home.join("roost.db")).unwrap();
    let changed = db
        .execute(
            "UPDATE jobs SET attempts = 5, due_at = 0 WHERE kind = 'activitypub.inbox'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    cron(&site);
    let counts = inbox_counts(&site);
    assert!(counts.contains("key unreachable 1"), "{counts}");
    let doctor = String::from_utf8_lossy(&site.cli(&["doctor"], None).stdout).to_string();
    assert!(!doctor.contains("gave up activitypub"), "{doctor}");
}

/// A change of the owner's name or bio reaches each follower's server as an
/// `Update` of the actor, once; a post or an unchanged setting sends none.
#[test]
fn a_changed_profile_is_sent_to_the_followers_once() {
    let site = site("ap-profile");
    let remote = Remote::start();
    let actor = remote.actor("alice");
    let key_id = remote.key_id("alice");
    let follow = serde_json::json!({"id": format!("{actor}/follows/4"), "type": "Follow", "actor": actor, "object": site.url("/actor")}).to_string();
    take(&site, "/inbox", &follow, alice(&remote, &key_id));
    cron(&site);
    post(&site, "Not a profile change");
    cron(&site);
    site.cli_ok(&["config", "bio", "A new bio"]);
    cron(&site);
    site.cli_ok(&["config", "bio", "A new bio"]);
    cron(&site);
    let sent = sent_to_shared_inbox(&site, &remote);
    let kinds: Vec<&str> = sent.iter().map(|a| a["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Create", "Update"], "{sent:?}");
    assert_eq!(sent[1]["object"]["type"], "Person");
    assert_eq!(sent[1]["object"]["summary"], "<p>A new bio</p>");
}

/// Many followers on one server without a shared inbox: one cron run
/// sends it at most `PER_HOST_PER_RUN` deliveries, the rest wait for the
/// next run, and each follower gets each activity exactly once.
#[test]
fn deliveries_to_one_host_are_capped_per_cron_run_and_none_is_lost() {
    use roost::activitypub::deliver::PER_HOST_PER_RUN;
    let site = site("ap-cap");
    let server = FeedServer::start();
    let followers = PER_HOST_PER_RUN + 5;
    let paths: Vec<String> = (0..followers).map(|n| format!("/users/u{n}")).collect();
    let actors: Vec<String> = paths.iter().map(|p| server.url(p)).collect();
    for (path, actor) in paths.iter().zip(&actors) {
        let doc = serde_json::json!({
            "id": actor, "type": "Person", "preferredUsername": "u",
            "inbox": format!("{actor}/inbox"),
            "publicKey": {"id": format!("{actor}#main-key"), "owner": actor, "publicKeyPem": ALICE_PUBLIC},
        });
        server.feed(path, doc.to_string().as_bytes(), AP);
        server.set(
            &format!("{path}/inbox"),
            Route::Status {
                status: 202,
                headers: vec![],
            },
        );
        let follow = serde_json::json!({"id": format!("{actor}/follows/1"), "type": "Follow", "actor": actor, "object": site.url("/actor")}).to_string();
        let key_id = format!("{actor}#main-key");
        take(
            &site,
            "/inbox",
            &follow,
            Sign::Cavage {
                key: ALICE_KEY,
                key_id: &key_id,
                at: now(),
            },
        );
    }
    let delivered = |kind: &str| -> usize {
        paths
            .iter()
            .map(|path| {
                let seen = server.requests(&format!("{path}/inbox"));
                let of_kind = seen
                    .iter()
                    .filter(|s| serde_json::from_slice::<Value>(&s.body).unwrap()["type"] == kind)
                    .count();
                assert!(of_kind <= 1, "{path} got {of_kind} {kind}s");
                of_kind
            })
            .sum()
    };
    cron(&site);
    assert_eq!(delivered("Accept"), PER_HOST_PER_RUN);
    cron(&site);
    assert_eq!(delivered("Accept"), followers);
    post(&site, "To all of you");
    cron(&site);
    assert_eq!(delivered("Create"), PER_HOST_PER_RUN);
    cron(&site);
    assert_eq!(delivered("Create"), followers);
    assert_eq!(
        json(&site.get("/followers", &[("Accept", AP)]))["totalItems"],
        followers
    );
}

/// A follower's `Move` counts only when the new account's `alsoKnownAs`
/// names the old: unproven, it is counted and the follower stays; proven,
/// the follower becomes the new account.
#[test]
fn a_followers_move_is_taken_only_when_the_new_account_names_the_old() {
    let site = site("ap-move");
    let remote = Remote::start();
    let old = remote.actor("alice");
    let mallory = remote.actor("mallory");
    let key_id = remote.key_id("alice");
    let follow = serde_json::json!({"id": format!("{old}/follows/3"), "type": "Follow", "actor": old, "object": site.url("/actor")}).to_string();
    take(&site, "/inbox", &follow, alice(&remote, &key_id));
    cron(&site);
    let moving = |n: u32| {
        serde_json::json!({"id": format!("{old}/moves/{n}"), "type": "Move", "actor": old, "object": old, "target": mallory}).to_string()
    };
    let login = site.submit_login(&site.get("/login", &[]));
    let cookie = format!("roost_session={}", login.cookie("roost_session").unwrap());
    let followers = |site: &Site| {
        let page = site.get("/settings", &[("Cookie", &cookie)]).text();
        (
            page.contains("alice &lt;b&gt;Remote"),
            page.contains("mallory &lt;b&gt;Remote"),
        )
    };
    assert_eq!(followers(&site), (true, false));
    take(&site, "/inbox", &moving(1), alice(&remote, &key_id));
    cron(&site);
    assert!(
        inbox_counts(&site).contains("move unproven"),
        "{}",
        inbox_counts(&site)
    );
    assert_eq!(followers(&site), (true, false));
    // mallory names alice as her old account: the move is proven.
    let doc = serde_json::json!({
        "id": mallory, "type": "Person", "preferredUsername": "mallory",
        "name": "mallory <b>Remote</b>", "alsoKnownAs": [old],
        "inbox": format!("{mallory}/inbox"),
        "publicKey": {"id": remote.key_id("mallory"), "owner": mallory, "publicKeyPem": OTHER_PUBLIC},
    });
    remote
        .server
        .feed("/users/mallory", doc.to_string().as_bytes(), AP);
    take(&site, "/inbox", &moving(2), alice(&remote, &key_id));
    cron(&site);
    assert_eq!(followers(&site), (false, true));
    assert_eq!(
        json(&site.get("/followers", &[("Accept", AP)]))["totalItems"],
        1
    );
}

/// The owner names their old fediverse accounts (`also_known_as`): the
/// actor lists them in `alsoKnownAs`, which a Move from one of them to
/// here needs; anything but http(s) addresses is refused, saying so.
#[test]
fn the_owners_old_accounts_are_named_in_the_actors_also_known_as() {
    let site = site("ap-aka");
    let actor = json(&site.get("/actor", &[("Accept", AP)]));
    assert!(actor.get("alsoKnownAs").is_none(), "{actor}");
    let old = ["https://old.example/users/me", "https://other.example/@me"];
    site.cli_ok(&["config", "also_known_as", &old.join(" ")]);
    let actor = json(&site.get("/actor", &[("Accept", AP)]));
    assert_eq!(actor["alsoKnownAs"], serde_json::json!(old), "{actor}");
    let refused = site.cli(&["config", "also_known_as", "ftp://old.example/me"], None);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("http or https"), "{said}");
}
