//! The harness of the ActivityPub tests, proven on itself: two Fedify peers
//! (tests/common/fedify_peer.rs) follow, accept, reply, like, boost, undo
//! and delete between them, and the Python signature libraries
//! (tests/common/http_signatures.rs) verify what Fedify signed and sign what
//! Fedify verifies, in both schemes. No roost here: when an interop test of
//! roost fails, this says whether the harness still works.

mod common;

use common::fedify_peer::{
    FedifyPeer, FollowState, NewNote, PeerOptions, Scheme, WAIT, fedify_peer,
};
use common::feed_server::{FeedServer, Route};
use common::http;
use common::http_signatures::{self, Request, SigningActor};
use serde_json::{Value, json};

/// A's Follow of B reaches B signed as asked, B accepts it at once: A sees
/// the Accept, B lists A as a follower; an Undo removes A again.
#[test]
fn a_follow_is_accepted_and_its_undo_ends_it() {
    let a = fedify_peer();
    let b = own_peer();
    let sent = a.alice().follow(&b.actor_url());
    assert_eq!(sent.inboxes, [b.shared_inbox_url()]);

    let follow = b.wait_for_activity("A's Follow", |x| x.is("Follow", &a.actor_url()));
    assert_eq!(follow.id.as_deref(), Some(sent.id.as_str()));
    assert_eq!(follow.object.as_deref(), Some(b.actor_url().as_str()));
    assert_eq!(follow.signature, Some(Scheme::Rfc9421));
    assert_eq!(follow.key_id, Some(format!("{}#main-key", a.actor_url())));
    let accept = a.wait_for_activity("B's Accept", |x| x.is("Accept", &b.actor_url()));
    assert_eq!(accept.object.as_deref(), Some(sent.id.as_str()));
    // A fetched B's actor with a signed GET, asking for ActivityPub.
    let get = a.wait_for_request("A's GET of B's actor", |r| r.url == b.actor_url());
    assert_eq!(get.signature, Some(Scheme::Rfc9421), "{get:?}");
    assert_eq!(
        get.headers.get("accept").map(String::as_str),
        Some("application/activity+json, application/ld+json")
    );
    // Its POST was typed application/activity+json.
    let post = a.wait_for_request("A's POST of the Follow", |r| {
        r.method == "POST" && r.body.as_deref().is_some_and(|b| b.contains(&sent.id))
    });
    assert_eq!(
        post.headers.get("content-type").map(String::as_str),
        Some("application/activity+json")
    );
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
    let b = own_peer();
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
        // The body carries an inline @context and a Linked Data Signature.
        assert!(
            seen.json["@context"]
                .as_array()
                .is_some_and(|c| c.iter().any(Value::is_object))
        );
        assert_eq!(seen.json["signature"]["type"], "RsaSignature2017");
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
    let b = own_peer();
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
    let b = own_peer();
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

/// A peer started knocking cavage signs its first attempt so; the Accept
/// coming back from a default peer is RFC 9421.
#[test]
fn a_peer_started_knocking_cavage_signs_cavage() {
    let a = fedify_peer();
    let b = FedifyPeer::start_knocking(Scheme::Cavage);
    let sent = b.alice().follow(&a.actor_url());
    let follow = a.wait_for_activity("B's Follow", |x| x.id.as_deref() == Some(&sent.id));
    assert_eq!(follow.signature, Some(Scheme::Cavage));
    let accept = b.wait_for_activity("A's Accept", |x| x.is("Accept", &a.actor_url()));
    assert_eq!(accept.signature, Some(Scheme::Rfc9421));
}

/// An inbox that answers 4xx or 5xx gets the same POST again in the other
/// scheme (Fedify's double knock), and the control call fails with 502.
#[test]
fn a_refused_delivery_is_knocked_twice_then_reported() {
    let a = fedify_peer();
    let inbox = FeedServer::start();
    inbox.set(
        "/inbox",
        Route::Status {
            status: 500,
            headers: vec![],
        },
    );
    let err = a
        .alice()
        .also_to_inbox(&inbox.url("/inbox"))
        .try_send("note", json!({ "content": "to a broken inbox" }))
        .expect_err("a delivery answered 500");
    assert_eq!(err.status, 502, "{err}");
    let posts: Vec<_> = a
        .requests()
        .into_iter()
        .filter(|r| r.url == inbox.url("/inbox"))
        .map(|r| (r.signature, r.status))
        .collect();
    assert_eq!(
        posts,
        [
            (Some(Scheme::Rfc9421), Some(500)),
            (Some(Scheme::Cavage), Some(500))
        ]
    );
    // What the inbox received verifies, each knock in its scheme, as a
    // test verifies what roost sent.
    let key_pem = public_key_pem(a);
    let received = inbox.requests("/inbox");
    assert_eq!(received.len(), 2);
    for (seen, scheme) in received.iter().zip([Scheme::Rfc9421, Scheme::Cavage]) {
        let request = Request::from_seen(seen, &inbox.url(""));
        assert_eq!(request.url, inbox.url("/inbox"));
        let verdict = http_signatures::verify(&request, &key_pem);
        assert!(verdict.verified(scheme), "{scheme:?}: {verdict:?}");
    }
}

/// A note's edit, a profile change and a move reach a follower.
#[test]
fn edits_profile_changes_and_moves_reach_followers() {
    let a = own_peer();
    let b = own_peer();
    b.alice().follow(&a.actor_url());
    a.wait_for_follower(&b.actor_url());

    let note = a.alice().note(&NewNote::new("first words")).object.unwrap();
    let edit = a.alice().update_note(&note, "second thoughts");
    let seen = b.wait_for_activity("the edit", |x| x.id.as_deref() == Some(&edit.id));
    assert_eq!(seen.kind.as_deref(), Some("Update"));
    assert_eq!(seen.object.as_deref(), Some(note.as_str()));
    assert_eq!(seen.content.as_deref(), Some("second thoughts"));
    assert!(seen.json["object"]["updated"].is_string(), "{}", seen.json);

    let change = a.alice().update_profile("Alice Two", "<p>new summary</p>");
    let seen = b.wait_for_activity("the profile change", |x| {
        x.id.as_deref() == Some(&change.id)
    });
    assert_eq!(seen.object_type.as_deref(), Some("Person"));
    assert_eq!(seen.json["object"]["name"], "Alice Two");

    let c = own_peer();
    c.alice().also_known_as(&[&a.actor_url()]);
    let moved = a.alice().move_to(&c.actor_url());
    let seen = b.wait_for_activity("the Move", |x| x.id.as_deref() == Some(&moved.id));
    assert!(seen.is("Move", &a.actor_url()), "{seen:?}");
    assert_eq!(seen.object.as_deref(), Some(a.actor_url().as_str()));
    assert_eq!(seen.json["target"], c.actor_url().as_str());
    let actor = a.actor_document();
    assert_eq!(actor["movedTo"], c.actor_url().as_str(), "{actor}");
    let target = c.actor_document();
    assert_eq!(target["alsoKnownAs"], a.actor_url().as_str(), "{target}");
}

/// A peer started with `accept_signature` answers a refused POST with an
/// RFC 9421 challenge.
#[test]
fn a_peer_can_challenge_with_accept_signature() {
    let p = FedifyPeer::start_with(&PeerOptions {
        accept_signature: true,
        rsa_bits: Some(2048),
        ..PeerOptions::default()
    });
    let carol = SigningActor::new();
    let (like, _) = like_of(&p, &carol);
    let resp = carol.post_signed_with(
        &p.inbox_url(),
        &like,
        Scheme::Cavage,
        &http_signatures::keygen_rsa(2048),
        &[],
    );
    assert_eq!(resp.status, 401, "{resp:?}");
    let challenge = resp.header("Accept-Signature").unwrap_or_default();
    assert!(challenge.contains("created"), "{resp:?}");
    // Without the option: no challenge.
    let resp = carol.post_signed_with(
        &fedify_peer().inbox_url(),
        &like_of(fedify_peer(), &carol).0,
        Scheme::Cavage,
        &http_signatures::keygen_rsa(2048),
        &[],
    );
    assert_eq!(resp.status, 401, "{resp:?}");
    assert_eq!(resp.header("Accept-Signature"), None, "{resp:?}");
}

/// A follower that has gone (a test's peer ended) does not fail alice's
/// next post: its delivery is listed as failed, the rest go out.
#[test]
fn a_post_goes_out_when_a_follower_has_gone() {
    let a = fedify_peer();
    let gone = own_peer();
    gone.alice().follow(&a.actor_url());
    a.wait_for_follower(&gone.actor_url());
    let gone_inbox = gone.shared_inbox_url();
    drop(gone);
    let b = own_peer();
    let sent = a
        .alice()
        .also_to_actor(&b.actor_url())
        .note(&NewNote::new("still here"));
    assert!(sent.inboxes.contains(&b.shared_inbox_url()), "{sent:?}");
    assert!(
        sent.failed.iter().any(|f| f.inbox == gone_inbox),
        "{sent:?}"
    );
    b.wait_for_activity("the note", |x| x.id.as_deref() == Some(&sent.id));
}

/// A rejection nobody handles and an exception nobody catches are error
/// events, and the peer goes on serving.
#[test]
fn the_peer_outlives_an_unhandled_rejection() {
    let p = own_peer();
    p.try_control("/control/unhandled", Some(&json!({})))
        .expect("the hook answers");
    for cause in ["unhandledRejection", "uncaughtException"] {
        p.wait_until(
            &format!("an error event from {cause}"),
            WAIT,
            |events| events.iter().find(|e| e["where"] == cause).cloned(),
            |events| format!("{events:?}"),
        );
    }
    assert_eq!(p.actor_document()["preferredUsername"], "alice");
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
    let b = own_peer();
    let key_pem = public_key_pem(a);
    for scheme in [Scheme::Rfc9421, Scheme::Cavage] {
        let sent = a
            .alice()
            .knocking(scheme)
            .also_to_inbox(&b.inbox_url())
            .note(&NewNote::new("signed"));
        let post = a.wait_for_request("the POST to B", |r| {
            r.url == b.inbox_url()
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
    let carol = SigningActor::new();
    for scheme in [Scheme::Rfc9421, Scheme::Cavage] {
        let (like, id) = like_of(a, &carol);
        let resp = carol.post(&a.inbox_url(), &like, scheme);
        assert_eq!(resp.status, 202, "{scheme:?}: {resp:?}\n{}", a.log());
        let seen = a.wait_for_activity("carol's Like", |x| x.id.as_deref() == Some(&id));
        assert_eq!(seen.signature, Some(scheme));
        assert_eq!(seen.key_id.as_deref(), Some(carol.key_id.as_str()));
    }

    // The same activity id again is answered 202 and dropped: Fedify runs
    // its listeners once per activity id and inbox.
    let (like, id) = like_of(a, &carol);
    for _ in 0..2 {
        let resp = carol.post(&a.inbox_url(), &like, Scheme::Cavage);
        assert_eq!(resp.status, 202, "{resp:?}");
    }
    a.wait_for_activity("the Like", |x| x.id.as_deref() == Some(&id));
    let posts = || {
        a.inbox_posts()
            .iter()
            .filter(|p| p.key_id.as_deref() == Some(&carol.key_id) && p.status == 202)
            .count()
    };
    a.wait_until(
        "both POSTs",
        WAIT,
        |_| (posts() == 4).then_some(()),
        |_| format!("{:?}", a.inbox_posts()),
    );
    let seen = a
        .inbox()
        .iter()
        .filter(|x| x.id.as_deref() == Some(&id))
        .count();
    assert_eq!(seen, 1, "the repeated Like ran the listeners again");

    let other = http_signatures::keygen_rsa(2048);
    let (like, id) = like_of(a, &carol);
    let resp = carol.post_signed_with(&a.inbox_url(), &like, Scheme::Cavage, &other, &[]);
    assert_eq!(resp.status, 401, "{resp:?}");
    let refused = a.wait_for_refused("the forged Like", |x| x.id.as_deref() == Some(&id));
    assert_eq!(
        refused.reason.as_deref(),
        Some("invalidSignature"),
        "{refused:?}"
    );
}

/// What Fedify asks of a signature, that roost's must meet: with cavage, a
/// POST must carry and sign `Digest`; RSA keys of 1024 to 4096 bits and,
/// with RFC 9421, Ed25519 are taken.
#[test]
fn fedify_wants_a_signed_digest_with_cavage_and_takes_these_keys() {
    let a = fedify_peer();
    let carol = SigningActor::new();
    let (like, id) = like_of(a, &carol);
    let no_digest = ["(request-target)", "host", "date"];
    let resp = carol.post_signed_with(
        &a.inbox_url(),
        &like,
        Scheme::Cavage,
        &carol.keys,
        &no_digest,
    );
    assert_eq!(resp.status, 401, "{resp:?}");
    let refused = a.wait_for_refused("the Like without a signed Digest", |x| {
        x.id.as_deref() == Some(&id)
    });
    assert_eq!(refused.reason.as_deref(), Some("invalidSignature"));

    // A key id that leads nowhere: refused, and the event says what the key
    // fetch got.
    let (like, id) = like_of(a, &carol);
    let request = Request::new(
        "POST",
        &a.inbox_url(),
        &[("Content-Type", "application/activity+json")],
        like.to_string().as_bytes(),
    );
    let nowhere = carol.url("/nobody#main-key");
    let signed = http_signatures::sign(
        Scheme::Cavage,
        &request,
        &nowhere,
        &carol.keys.private_key_pem,
    );
    let resp = signed.send();
    assert_eq!(resp.status, 401, "{resp:?}");
    let refused = a.wait_for_refused("the Like by a key nowhere", |x| {
        x.id.as_deref() == Some(&id)
    });
    assert_eq!(
        refused.reason.as_deref(),
        Some("keyFetchError"),
        "{refused:?}"
    );
    assert_eq!(refused.detail, Some(json!(404)), "{refused:?}");

    for (keys, scheme, what) in [
        (
            http_signatures::keygen_rsa(1024),
            Scheme::Cavage,
            "RSA-1024",
        ),
        (
            http_signatures::keygen_rsa(4096),
            Scheme::Cavage,
            "RSA-4096",
        ),
        (
            http_signatures::keygen_ed25519(),
            Scheme::Rfc9421,
            "Ed25519",
        ),
    ] {
        let carol = SigningActor::with_keys(keys);
        let (like, id) = like_of(a, &carol);
        let resp = carol.post(&a.inbox_url(), &like, scheme);
        assert_eq!(resp.status, 202, "{what} {scheme:?}: {resp:?}");
        a.wait_for_activity(what, |x| x.id.as_deref() == Some(&id));
    }
}

/// A Like of A's alice by `carol`, and its id.
fn like_of(a: &FedifyPeer, carol: &SigningActor) -> (Value, String) {
    let id = carol.url(&format!("/likes/{}", common::unique("like")));
    let like = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id, "type": "Like", "actor": carol.actor, "object": a.actor_url(),
    });
    (like, id)
}

/// A peer of the test's own; RSA-2048, which starts about twice as fast as
/// Fedify's 4096 (the shared peer keeps 4096).
fn own_peer() -> FedifyPeer {
    FedifyPeer::start_with(&PeerOptions {
        rsa_bits: Some(2048),
        ..PeerOptions::default()
    })
}

/// alice's publicKeyPem, from her actor document.
fn public_key_pem(peer: &FedifyPeer) -> String {
    let actor = peer.actor_document();
    actor["publicKey"]["publicKeyPem"]
        .as_str()
        .unwrap_or_else(|| panic!("no publicKeyPem in {actor}"))
        .to_string()
}
