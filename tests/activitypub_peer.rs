//! The harness of the ActivityPub tests, proven on itself: two Fedify peers
//! (tests/common/fedify_peer.rs) follow, accept, reply, like, boost, undo
//! and delete between them, and the Python signature libraries
//! (tests/common/http_signatures.rs) verify what Fedify signed and sign what
//! Fedify verifies, in both schemes. No roost here: when an interop test of
//! roost fails, this says whether the harness still works.

mod common;

use common::fedify_peer::{FedifyPeer, FollowState, NewNote, Scheme, fedify_peer};
use common::feed_server::{FeedServer, Route};
use common::http;
use common::http_signatures::{self, Request};
use serde_json::{Value, json};

/// A's Follow of B reaches B signed as asked, B accepts it at once: A sees
/// the Accept, B lists A as a follower; an Undo removes A again.
#[test]
fn a_follow_is_accepted_and_its_undo_ends_it() {
    let a = fedify_peer();
    let b = FedifyPeer::start();
    let sent = a.alice().follow(&b.actor_url());
    assert_eq!(sent.inboxes, [b.shared_inbox_url()]);

    let follow = b.wait_for_activity("A's Follow", |x| x.is("Follow", &a.actor_url()));
    assert_eq!(follow.id.as_deref(), Some(sent.id.as_str()));
    assert_eq!(follow.object.as_deref(), Some(b.actor_url().as_str()));
    assert_eq!(follow.signature, Some(Scheme::Rfc9421));
    assert_eq!(follow.key_id, Some(format!("{}#main-key", a.actor_url())));
    let accept = a.wait_for_activity("B's Accept", |x| x.is("Accept", &b.actor_url()));
    assert_eq!(accept.object.as_deref(), Some(sent.id.as_str()));
    a.wait_for_following(&b.actor_url(), FollowState::Accepted);
    let follower = b.wait_for_follower(&a.actor_url());
    assert_eq!(follower.follow, sent.id);
    assert_eq!(follower.shared_inbox, Some(a.shared_inbox_url()));

    let undo = a.alice().knocking(Scheme::Cavage).unfollow(&b.actor_url());
    let seen = b.wait_for_activity("A's Undo", |x| x.id.as_deref() == Some(&undo.id));
    assert_eq!(seen.object_type.as_deref(), Some("Follow"));
    assert_eq!(seen.signature, Some(Scheme::Cavage));
    assert!(
        b.followers().iter().all(|f| f.actor != a.actor_url()),
        "A still follows B after its Undo: {:?}",
        b.followers()
    );
}

/// A reply with a mention reaches the author of the note it answers, with
/// its content, inReplyTo and the scheme its first knock asked for.
#[test]
fn a_reply_arrives_signed_with_the_scheme_asked_for() {
    let a = fedify_peer();
    let b = FedifyPeer::start();
    let original = b.alice().note(&NewNote::new("<p>first</p>"));
    let note_url = original.object.expect("a note id");
    // B serves its note as ActivityPub.
    let resp = http::get(
        b.addr(),
        note_url.strip_prefix(&b.base_url()).unwrap(),
        &[("Accept", "application/activity+json")],
    );
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.mime().as_deref(), Some("application/activity+json"));

    for scheme in [Scheme::Cavage, Scheme::Rfc9421] {
        let content = format!("<p>a reply signed {scheme:?}</p>");
        let note = NewNote::new(&content)
            .in_reply_to(&note_url)
            .mention(&b.actor_url());
        let reply = a.alice().knocking(scheme).note(&note);
        let seen = b.wait_for_activity("A's reply", |x| x.id.as_deref() == Some(&reply.id));
        assert_eq!(seen.kind.as_deref(), Some("Create"));
        assert_eq!(seen.object_type.as_deref(), Some("Note"));
        assert_eq!(seen.object, reply.object);
        assert_eq!(seen.in_reply_to.as_deref(), Some(note_url.as_str()));
        assert_eq!(seen.content.as_deref(), Some(content.as_str()));
        assert_eq!(seen.signature, Some(scheme), "{seen:?}");
        assert_eq!(
            seen.to,
            Some(json!("https://www.w3.org/ns/activitystreams#Public"))
        );
        let tags = &seen.json["object"]["tag"];
        assert_eq!(tags["type"], "Mention", "{tags}");
        assert_eq!(tags["href"], b.actor_url().as_str());
    }
}

/// A handle is looked up the way Fedify looks one up (WebFinger, asked over
/// http on loopback by the peer's rewrite), then followed.
#[test]
fn a_handle_is_found_through_webfinger_over_http() {
    let a = fedify_peer();
    let b = FedifyPeer::start();
    let sent = a.alice().follow(&format!("@{}", b.handle()));
    let webfinger = format!(
        "http://127.0.0.1:{}/.well-known/webfinger?resource=acct%3A{}",
        b.port(),
        http::percent_encode(&b.handle())
    );
    let lookup = a.wait_for_request("the WebFinger lookup", |r| r.url == webfinger);
    assert_eq!(lookup.status, Some(200), "{lookup:?}");
    assert_eq!(
        lookup.headers.get("accept").map(String::as_str),
        Some("application/jrd+json")
    );
    b.wait_for_activity("the Follow", |x| x.id.as_deref() == Some(&sent.id));
}

/// Likes, boosts and deletes reach the note's author; an Undo names what it
/// undoes.
#[test]
fn likes_boosts_undos_and_deletes_arrive() {
    let a = fedify_peer();
    let b = FedifyPeer::start();
    let note = b.alice().note(&NewNote::new("like me")).object.unwrap();

    let like = a.alice().like(&note);
    let seen = b.wait_for_activity("the Like", |x| x.id.as_deref() == Some(&like.id));
    assert!(seen.is("Like", &a.actor_url()), "{seen:?}");
    assert_eq!(seen.object.as_deref(), Some(note.as_str()));

    let boost = a.alice().announce(&note);
    let seen = b.wait_for_activity("the Announce", |x| x.id.as_deref() == Some(&boost.id));
    assert!(seen.is("Announce", &a.actor_url()), "{seen:?}");
    assert_eq!(seen.object.as_deref(), Some(note.as_str()));

    let undo = a.alice().undo(&like.id);
    let seen = b.wait_for_activity("the Undo", |x| x.id.as_deref() == Some(&undo.id));
    assert_eq!(seen.object.as_deref(), Some(like.id.as_str()));
    assert_eq!(seen.object_type.as_deref(), Some("Like"));

    // A deletes a note it sent to B (also_to_actor: B is not a follower).
    let mine = a
        .alice()
        .also_to_actor(&b.actor_url())
        .note(&NewNote::new("soon gone"));
    let gone = mine.object.unwrap();
    let delete = a.alice().delete(&gone);
    let seen = b.wait_for_activity("the Delete", |x| x.id.as_deref() == Some(&delete.id));
    assert_eq!(seen.object.as_deref(), Some(gone.as_str()));
    assert_eq!(seen.object_type.as_deref(), Some("Tombstone"));
}

/// A control call that cannot be done says why, with the right status.
#[test]
fn a_follow_of_nobody_is_refused_with_why() {
    let a = fedify_peer();
    let nobody = FeedServer::start();
    let err = a
        .alice()
        .try_send("follow", json!({ "target": nobody.url("/nobody") }))
        .expect_err("a follow of a 404 actor");
    assert_eq!(err.status, 404, "{err}");
    assert!(err.error.contains("not found"), "{err}");
    let err = a
        .alice()
        .try_send("note", json!({}))
        .expect_err("a note without content");
    assert_eq!(
        (err.status, err.error.as_str()),
        (400, "missing \"content\"")
    );
}

/// http-message-signatures and pyhttpsig verify the POSTs Fedify signed,
/// with Fedify's published key, each in its scheme, digests included; another
/// URL or a changed body fails.
#[test]
fn python_verifies_what_fedify_signed() {
    let a = fedify_peer();
    let b = FedifyPeer::start();
    let key_pem = public_key_pem(a);
    for scheme in [Scheme::Rfc9421, Scheme::Cavage] {
        let sent = a
            .alice()
            .knocking(scheme)
            .also_to_inbox(&b.inbox_url())
            .note(&NewNote::new("signed"));
        let post = a.wait_for_request("the POST to B", |r| {
            r.method == "POST"
                && r.body
                    .as_deref()
                    .is_some_and(|body| body.contains(&sent.id))
        });
        assert_eq!(post.signature, Some(scheme));
        assert_eq!(post.status, Some(202), "{post:?}");
        let mut request = Request {
            method: post.method.clone(),
            url: post.url.clone(),
            headers: post.headers.clone().into_iter().collect(),
            body: post.body.clone().unwrap().into_bytes(),
        };
        let verdict = http_signatures::verify(&request, &key_pem);
        assert!(verdict.verified(scheme), "{scheme:?}: {verdict:?}");
        match scheme {
            Scheme::Rfc9421 => {
                assert_eq!(verdict.digest.content_digest, Some(true), "{verdict:?}");
                assert!(!verdict.cavage.present, "{verdict:?}");
            }
            Scheme::Cavage => {
                assert_eq!(verdict.digest.digest, Some(true), "{verdict:?}");
                assert!(!verdict.rfc9421.present, "{verdict:?}");
                assert!(verdict.cavage.headers.contains(&"digest".to_string()));
            }
        }
        let mut elsewhere = request.clone();
        elsewhere.url.push_str("?elsewhere");
        let verdict = http_signatures::verify(&elsewhere, &key_pem);
        assert!(
            !verdict.verified(scheme),
            "another URL passed {scheme:?}: {verdict:?}"
        );
        request.body.extend_from_slice(b" ");
        let verdict = http_signatures::verify(&request, &key_pem);
        let body_checked = match scheme {
            Scheme::Rfc9421 => !verdict.rfc9421.verified,
            Scheme::Cavage => verdict.digest.digest == Some(false),
        };
        assert!(
            body_checked,
            "a changed body passed {scheme:?}: {verdict:?}"
        );
    }
}

/// Fedify takes a Like signed by the Python libraries with an RSA-2048 key,
/// in each scheme, and says which; a signature by another key is refused
/// (401) and logged with Fedify's reason.
#[test]
fn fedify_accepts_what_python_signed() {
    let a = fedify_peer();
    let keys = http_signatures::keygen_rsa(2048);
    let other = http_signatures::keygen_rsa(2048);
    let carol = FeedServer::start();
    let actor = carol.url("/actor");
    let key_id = format!("{actor}#main-key");
    let doc = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": actor, "type": "Person", "preferredUsername": "carol",
        "inbox": carol.url("/inbox"),
        "publicKey": { "id": key_id, "owner": actor, "publicKeyPem": keys.public_key_pem },
    });
    carol.set(
        "/actor",
        Route::Raw {
            headers: vec![("Content-Type".into(), "application/activity+json".into())],
            body: doc.to_string().into_bytes().into(),
        },
    );

    for (n, scheme) in [Scheme::Rfc9421, Scheme::Cavage].into_iter().enumerate() {
        let like = like_from(&actor, &format!("{}/likes/{n}", carol.url("")), a);
        let signed = http_signatures::sign(scheme, &like, &key_id, &keys.private_key_pem);
        let resp = send(a, &signed);
        assert_eq!(resp.status, 202, "{scheme:?}: {resp:?}\n{}", a.log());
        let seen = a.wait_for_activity("carol's Like", |x| {
            x.id.as_deref() == signed_id(&signed).as_deref()
        });
        assert_eq!(seen.signature, Some(scheme));
        assert_eq!(seen.key_id.as_deref(), Some(key_id.as_str()));
    }

    let like = like_from(&actor, &format!("{}/likes/forged", carol.url("")), a);
    let forged = http_signatures::sign(Scheme::Cavage, &like, &key_id, &other.private_key_pem);
    let resp = send(a, &forged);
    assert_eq!(resp.status, 401, "{resp:?}");
    let refused = a.wait_for_refused("the forged Like", |x| {
        x.id.as_deref() == signed_id(&forged).as_deref()
    });
    assert_eq!(
        refused.reason.as_deref(),
        Some("invalidSignature"),
        "{refused:?}"
    );
}

/// A Like of A's actor by `actor`, as a POST to A's inbox (unsigned).
fn like_from(actor: &str, id: &str, a: &FedifyPeer) -> Request {
    let body = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id, "type": "Like", "actor": actor, "object": a.actor_url(),
    });
    Request::new(
        "POST",
        &a.inbox_url(),
        &[("Content-Type", "application/activity+json")],
        body.to_string().as_bytes(),
    )
}

fn signed_id(request: &Request) -> Option<String> {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    body["id"].as_str().map(str::to_string)
}

fn send(a: &FedifyPeer, request: &Request) -> http::HttpResponse {
    let path = request.url.strip_prefix(&a.base_url()).unwrap();
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    http::send(
        a.addr(),
        &request.method,
        path,
        &headers,
        Some(&request.body),
    )
}

/// alice's publicKeyPem, from her actor document.
fn public_key_pem(peer: &FedifyPeer) -> String {
    let path = peer
        .actor_url()
        .strip_prefix(&peer.base_url())
        .unwrap()
        .to_string();
    let resp = http::get(
        peer.addr(),
        &path,
        &[("Accept", "application/activity+json")],
    );
    assert_eq!(resp.status, 200, "{resp:?}");
    let actor: Value = serde_json::from_slice(&resp.body).unwrap();
    actor["publicKey"]["publicKeyPem"]
        .as_str()
        .unwrap_or_else(|| panic!("no publicKeyPem in {actor}"))
        .to_string()
}
