//! roost's ActivityPub against an independent implementation: Fedify 2.3.6
//! (tests/common/fedify_peer.rs) follows a roost behind the private Apache
//! (CGI) and gets its Accept; roost's posts, edits and deletions reach
//! Fedify, signed in a way it verifies; Fedify's reply, like and boost
//! (signed RFC 9421 first, draft-cavage on its second knock) show under the
//! post after roost's cron; and the Python signature libraries
//! (tests/common/http_signatures.rs) check what roost signed.

mod common;

use common::apache::{Kind, Site, apache};
use common::fedify_peer::{FedifyPeer, FollowState, NewNote, Scheme, fedify_peer};
use common::feed_server::{FeedServer, Route};
use common::http_signatures::{self, Request};

fn cron(site: &Site) {
    site.cli_ok(&["cron", "--quiet"]);
}

/// A roost that shows mentions at once, reachable from loopback.
fn roost(label: &str) -> Site {
    let site = apache().loopback_roost_site(label, Kind::Cgi);
    site.cli_ok(&["config", "webmention_moderation", "all"]);
    site
}

/// Posts `text`; its permalink.
fn post(site: &Site, text: &str) -> String {
    site.cli_ok(&["post", text]).trim().to_string()
}

/// The permalink's path on the site.
fn path_of(site: &Site, permalink: &str) -> String {
    permalink
        .strip_prefix(site.base_url().trim_end_matches('/'))
        .unwrap()
        .to_string()
}

/// Fedify follows roost: its Follow is taken, roost's cron accepts it.
fn followed_by(site: &Site, peer: &FedifyPeer) -> String {
    let actor = site.url("/actor");
    peer.alice().follow(&actor);
    cron(site);
    peer.wait_for_following(&actor, FollowState::Accepted);
    actor
}

#[test]
fn fedify_follows_roost_receives_its_posts_and_roost_shows_its_reply_like_and_boost() {
    let site = roost("fedify-core");
    let peer = fedify_peer();
    let actor = followed_by(&site, peer);
    let accept = peer.wait_for_activity("roost's Accept", |a| a.is("Accept", &actor));
    assert_eq!(accept.signature, Some(Scheme::Cavage), "{accept:?}");

    let permalink = post(&site, "Hello from roost");
    cron(&site);
    let create = peer.wait_for_activity("roost's Create", |a| {
        a.is("Create", &actor) && a.object.as_deref() == Some(permalink.as_str())
    });
    assert_eq!(create.content.as_deref(), Some("<p>Hello from roost</p>"));

    // Fedify answers: a reply, a like and a boost, each to roost's inbox.
    peer.alice().note(
        &NewNote::new("<p>Hello back, roost</p>")
            .in_reply_to(&permalink)
            .mention(&actor),
    );
    peer.alice().like(&permalink);
    peer.alice().announce(&permalink);
    let path = path_of(&site, &permalink);
    assert!(!site.get(&path, &[]).text().contains("Hello back"));
    cron(&site);
    let page = site.get(&path, &[]).text();
    assert!(page.contains("Hello back, roost"), "{page}");
    assert!(
        page.contains("1 likes") && page.contains("1 reposts"),
        "{page}"
    );

    // An edit and a deletion reach Fedify too.
    let id = permalink.rsplit('/').next().unwrap().to_string();
    site.cli_ok(&["edit", &id, "Hello from roost, edited"]);
    cron(&site);
    peer.wait_for_activity("roost's Update", |a| {
        a.is("Update", &actor) && a.content.as_deref() == Some("<p>Hello from roost, edited</p>")
    });
    site.cli_ok(&["delete", &id]);
    cron(&site);
    peer.wait_for_activity("roost's Delete", |a| {
        a.is("Delete", &actor) && a.object.as_deref() == Some(permalink.as_str())
    });
}

/// Fedify knocking with draft-cavage first (Mastodon's way) is taken too.
#[test]
fn a_reply_signed_draft_cavage_first_is_taken() {
    let site = roost("fedify-cavage");
    let peer = FedifyPeer::start_knocking(Scheme::Cavage);
    let actor = site.url("/actor");
    let permalink = post(&site, "Cavage, please");
    peer.alice().note(
        &NewNote::new("<p>signed the old way</p>")
            .in_reply_to(&permalink)
            .mention(&actor),
    );
    cron(&site);
    let page = site.get(&path_of(&site, &permalink), &[]).text();
    assert!(page.contains("signed the old way"), "{page}");
    let sent = peer.wait_for_request("the reply's POST to roost", |r| {
        r.method == "POST" && (r.url == site.url("/inbox") || r.url == site.url("/actor/inbox"))
    });
    assert_eq!(sent.signature, Some(Scheme::Cavage), "{sent:?}");
}

/// POSTs `body` to roost's inbox signed by the Python library of `scheme`;
/// roost takes it (202).
fn python_signed_post(site: &Site, scheme: Scheme, body: &str, key_id: &str, private_pem: &str) {
    let unsigned = Request::new(
        "POST",
        &site.url("/inbox"),
        &[("Content-Type", "application/activity+json")],
        body.as_bytes(),
    );
    let signed = http_signatures::sign(scheme, &unsigned, key_id, private_pem);
    let headers: Vec<(&str, &str)> = signed
        .headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("host"))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let answer = site.send("POST", "/inbox", &headers, Some(body.as_bytes()));
    assert_eq!(answer.status, 202, "{answer:?}");
}

/// bob, a remote actor on a loopback server with a fresh RSA key, whose
/// inbox answers `status` with `headers`: his keys, server, actor id and
/// key id.
fn bob(
    status: u16,
    headers: Vec<(String, String)>,
) -> (http_signatures::KeyPair, FeedServer, String, String) {
    let keys = http_signatures::keygen_rsa(2048);
    let remote = FeedServer::start();
    let actor = remote.url("/users/bob");
    let key_id = format!("{actor}#main-key");
    let doc = serde_json::json!({
        "id": actor, "type": "Person", "preferredUsername": "bob",
        "inbox": format!("{actor}/inbox"),
        "publicKey": {"id": key_id, "owner": actor, "publicKeyPem": keys.public_key_pem},
    });
    remote.feed(
        "/users/bob",
        doc.to_string().as_bytes(),
        "application/activity+json",
    );
    remote.set("/users/bob/inbox", Route::Status { status, headers });
    (keys, remote, actor, key_id)
}

/// bob follows the roost, his Follow signed draft-cavage by pyhttpsig.
fn bob_follows(site: &Site, actor: &str, key_id: &str, keys: &http_signatures::KeyPair) {
    let follow = serde_json::json!({"id": format!("{actor}/follow/1"), "type": "Follow", "actor": actor, "object": site.url("/actor")});
    python_signed_post(
        site,
        Scheme::Cavage,
        &follow.to_string(),
        key_id,
        &keys.private_key_pem,
    );
}

/// The Python libraries (pyhttpsig, http-message-signatures) sign a reply
/// to roost's inbox in each scheme, which roost takes; and they verify the
/// Accept roost sends, signature and digest.
#[test]
fn independent_signature_libraries_sign_what_roost_takes_and_verify_what_it_sends() {
    let site = roost("pysig");
    let (keys, remote, actor, key_id) = bob(202, vec![]);
    let permalink = post(&site, "Sign me");
    for (n, scheme) in [Scheme::Cavage, Scheme::Rfc9421].into_iter().enumerate() {
        let body = serde_json::json!({
            "id": format!("{actor}/create/{n}"), "type": "Create", "actor": actor,
            "object": {"id": format!("{actor}/note/{n}"), "type": "Note", "attributedTo": actor,
                "inReplyTo": permalink, "content": format!("<p>signed by python {}</p>", scheme.short())},
        });
        python_signed_post(
            &site,
            scheme,
            &body.to_string(),
            &key_id,
            &keys.private_key_pem,
        );
    }
    // bob follows: roost's Accept goes to bob's inbox, signed.
    bob_follows(&site, &actor, &key_id, &keys);
    cron(&site);
    let page = site.get(&path_of(&site, &permalink), &[]).text();
    assert!(page.contains("signed by python cavage"), "{page}");
    assert!(page.contains("signed by python rfc9421"), "{page}");
    let accepts = remote.requests("/users/bob/inbox");
    assert_eq!(accepts.len(), 1, "{accepts:?}");
    let seen = &accepts[0];
    let headers: Vec<(&str, &str)> = seen
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let request = Request::new(
        "POST",
        &remote.url("/users/bob/inbox"),
        &headers,
        &seen.body,
    );
    let actor_doc: serde_json::Value = serde_json::from_slice(
        &site
            .get("/actor", &[("Accept", "application/activity+json")])
            .body,
    )
    .unwrap();
    let verdict = http_signatures::verify(
        &request,
        actor_doc["publicKey"]["publicKeyPem"].as_str().unwrap(),
    );
    assert!(verdict.verified(Scheme::Cavage), "{verdict:?}");
    assert_eq!(verdict.digest.digest, Some(true), "{verdict:?}");
}

/// `roost follow @alice@host`: WebFinger finds Fedify's alice, cron sends
/// the Follow, Fedify accepts it, and alice's next post arrives in roost's
/// inbox and becomes a timeline entry; unfollowing sends the Undo.
#[test]
fn roost_follows_a_fedify_account_by_handle_and_its_posts_reach_the_timeline() {
    let site = roost("fedify-follow");
    let peer = FedifyPeer::start();
    let said = site.cli_ok(&["follow", &format!("@{}", peer.handle())]);
    assert!(said.contains("followed by ActivityPub"), "{said}");
    let me = site.url("/actor");
    cron(&site);
    peer.wait_for_follower(&me);
    let follow = peer.wait_for_activity("roost's Follow", |a| a.is("Follow", &me));
    assert_eq!(follow.object.as_deref(), Some(peer.actor_url().as_str()));
    let following = site.cli_ok(&["following"]);
    assert!(following.contains(&peer.actor_url()), "{following}");
    // Polling leaves the account alone: its posts are delivered.
    site.cli_ok(&["poll", "--force"]);
    let after_poll = site.cli_ok(&["following"]);
    assert!(
        !after_poll.contains("error"),
        "polled as a feed: {after_poll}"
    );
    peer.alice().note(&NewNote::new("<p>for my followers</p>"));
    cron(&site);
    let timeline = site.public_timeline();
    assert!(timeline.contains("for my followers"), "{timeline}");
    // Its author deletes it: it leaves the timeline.
    let deleted = peer.alice().note(&NewNote::new("<p>soon gone</p>"));
    cron(&site);
    assert!(site.public_timeline().contains("soon gone"));
    peer.alice().delete(&deleted.object.expect("a note id"));
    cron(&site);
    let timeline = site.public_timeline();
    assert!(!timeline.contains("soon gone"), "{timeline}");
    site.cli_ok(&["unfollow", &peer.actor_url()]);
    cron(&site);
    peer.wait_for_activity("roost's Undo", |a| a.is("Undo", &me));
    assert!(peer.followers().iter().all(|f| f.actor != me));
}

/// The follow form on /following takes a handle as `roost follow` does.
#[test]
fn the_follow_form_takes_a_fediverse_handle() {
    let site = roost("fedify-form");
    let peer = FedifyPeer::start();
    let login = site.submit_login(&site.get("/login", &[]));
    let cookie = format!("roost_session={}", login.cookie("roost_session").unwrap());
    let page = site.get("/following", &[("Cookie", &cookie)]).text();
    let csrf = common::process::hidden_csrf(&page);
    let handle = format!("@{}", peer.handle());
    let done = site.post_form(
        "/follow",
        &common::http::form_encode(&[("csrf", &csrf), ("url", &handle), ("name", "")]),
        &[("Cookie", &cookie)],
    );
    assert_eq!(done.status, 303, "{done:?}");
    cron(&site);
    peer.wait_for_follower(&site.url("/actor"));
    let listed = site.get("/following", &[]).text();
    assert!(listed.contains(&handle), "{listed}");
}

/// The owner logged in: the session cookie and the CSRF token of `path`.
fn owner(site: &Site, path: &str) -> (String, String) {
    let login = site.submit_login(&site.get("/login", &[]));
    let cookie = format!("roost_session={}", login.cookie("roost_session").unwrap());
    let page = site.get(path, &[("Cookie", &cookie)]).text();
    (cookie, common::process::hidden_csrf(&page))
}

/// The profile's counts on `/`, as a visitor sees them.
fn profile_counts(site: &Site) -> String {
    let home = site.get("/", &[]).text();
    let start = home
        .find("<p class=\"counts\">")
        .unwrap_or_else(|| panic!("no counts on the profile: {home}"));
    let end = start + home[start..].find("</p>").unwrap();
    let counts = &home[start..end];
    let mut text = String::new();
    let mut in_tag = false;
    for c in counts.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// The owner follows Fedify's alice, sees her on /following as a
/// fediverse account (accepted), counted on the profile and in the
/// `following` collection; unfollows her with the page's Unfollow button:
/// Fedify gets the Undo, and a post she still sends roost no longer
/// reaches the timeline. Her following roost counts as a follower.
#[test]
fn the_owner_unfollows_a_fediverse_account_from_the_following_page_and_the_counts_stay_true() {
    let site = roost("fedify-unfollow");
    let peer = FedifyPeer::start();
    let me = site.url("/actor");
    site.cli_ok(&["follow", &format!("@{}", peer.handle())]);
    cron(&site);
    peer.wait_for_follower(&me);
    cron(&site); // takes Fedify's Accept
    let following = |site: &Site| {
        let answer = site.get("/following", &[("Accept", "application/activity+json")]);
        serde_json::from_slice::<serde_json::Value>(&answer.body).unwrap()
    };
    let collection = following(&site);
    assert_eq!(collection["totalItems"], 1, "{collection}");
    assert_eq!(collection["orderedItems"][0], peer.actor_url().as_str());
    assert_eq!(profile_counts(&site), "0 posts · 1 following · 0 followers");
    post(&site, "counted");
    followed_by(&site, &peer);
    assert_eq!(profile_counts(&site), "1 posts · 1 following · 1 followers");

    let (cookie, csrf) = owner(&site, "/following");
    let page = site.get("/following", &[("Cookie", &cookie)]).text();
    assert!(
        page.contains("fediverse account") && page.contains("accepted"),
        "{page}"
    );
    let done = site.post_form(
        "/unfollow",
        &common::http::form_encode(&[("csrf", &csrf), ("url", &peer.actor_url())]),
        &[("Cookie", &cookie)],
    );
    assert_eq!(done.status, 303, "{done:?}");
    cron(&site);
    let undo = peer.wait_for_activity("roost's Undo", |a| a.is("Undo", &me));
    assert_eq!(undo.signature, Some(Scheme::Cavage), "{undo:?}");
    assert!(peer.followers().iter().all(|f| f.actor != me));
    assert_eq!(following(&site)["totalItems"], 0);
    assert_eq!(profile_counts(&site), "1 posts · 0 following · 1 followers");
    // She posts on and sends it to roost all the same: it is not taken.
    peer.alice()
        .also_to_inbox(&site.url("/inbox"))
        .note(&NewNote::new("<p>after the unfollow</p>"));
    cron(&site);
    let timeline = site.public_timeline();
    assert!(!timeline.contains("after the unfollow"), "{timeline}");
}

/// An account the owner follows (Fedify's alice) boosts a post of
/// another server's account: roost's cron fetches the post by its id
/// (the Announce carries only that) and shows it on the timeline
/// as boosted by her (her follow's name), under its own author; her Undo
/// takes it away.
#[test]
fn a_boost_by_an_account_followed_reaches_the_timeline_fetched_by_cron() {
    let site = roost("fedify-boost");
    let peer = FedifyPeer::start();
    let other = FedifyPeer::start();
    let me = site.url("/actor");
    site.cli_ok(&["follow", &format!("@{}", peer.handle())]);
    cron(&site);
    peer.wait_for_follower(&me);
    let boosted = other
        .alice()
        .note(&NewNote::new("<p>worth a boost</p>"))
        .object
        .expect("a note id");
    let announce = peer.alice().announce(&boosted);
    cron(&site);
    // The Announce names the note only by its id: its text came by a GET.
    let timeline = site.public_timeline();
    assert!(timeline.contains("worth a boost"), "{timeline}");
    let by = format!("@{} boosted", peer.handle());
    assert!(timeline.contains(&by), "{timeline}");
    peer.alice().undo(&announce.id);
    cron(&site);
    let timeline = site.public_timeline();
    assert!(!timeline.contains("worth a boost"), "{timeline}");
}

/// Fedify's alice moves to an account on another Fedify server (whose
/// `alsoKnownAs` names her): roost, which follows her and is followed by
/// her, checks the new account, sends the old one an Undo and the new one
/// a Follow, lists the new one on /following, takes its posts, and
/// delivers its own posts to the new account in place of the old.
#[test]
fn a_move_of_an_account_followed_and_following_moves_both_to_the_new_account() {
    let site = roost("fedify-move");
    let old = FedifyPeer::start();
    let new = FedifyPeer::start();
    let me = site.url("/actor");
    site.cli_ok(&["follow", &format!("@{}", old.handle())]);
    cron(&site);
    old.wait_for_follower(&me);
    followed_by(&site, &old);
    new.alice().also_known_as(&[&old.actor_url()]);
    old.alice().move_to(&new.actor_url());
    cron(&site); // takes the Move: Undo and Follow queued and sent
    let undo = old.wait_for_activity("roost's Undo", |a| a.is("Undo", &me));
    assert_eq!(undo.signature, Some(Scheme::Cavage), "{undo:?}");
    new.wait_for_follower(&me);
    cron(&site); // takes the new account's Accept
    let following = site.get("/following", &[]).text();
    assert!(following.contains(&new.actor_url()), "{following}");
    assert!(!following.contains(&old.actor_url()), "{following}");
    new.alice().note(&NewNote::new("<p>from my new home</p>"));
    cron(&site);
    let timeline = site.public_timeline();
    assert!(timeline.contains("from my new home"), "{timeline}");
    // The follower moved too: roost's next post goes to the new account.
    let permalink = post(&site, "Welcome to your new home");
    cron(&site);
    new.wait_for_activity("roost's Create at the new account", |a| {
        a.is("Create", &me) && a.object.as_deref() == Some(permalink.as_str())
    });
}

/// `roost move NEW-ACTOR-URL`: refused while the new account (a second
/// Fedify server's alice) does not name roost's actor in `alsoKnownAs`;
/// once it does, roost's actor says `movedTo` and the follower (Fedify's
/// alice) gets the Move, signed as Fedify verifies.
#[test]
fn the_owner_moves_to_another_account_and_the_followers_get_the_move() {
    let site = roost("fedify-moveout");
    let peer = FedifyPeer::start();
    let new = FedifyPeer::start();
    let me = followed_by(&site, &peer);
    let refused = site.cli(&["move", &new.actor_url()], None);
    assert!(!refused.status.success(), "{refused:?}");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("alsoKnownAs"), "{said}");
    new.alice().also_known_as(&[&me]);
    let moved = site.cli_ok(&["move", &new.actor_url()]);
    assert!(moved.contains("1 followers"), "{moved}");
    let actor: serde_json::Value = serde_json::from_slice(
        &site
            .get("/actor", &[("Accept", "application/activity+json")])
            .body,
    )
    .unwrap();
    assert_eq!(actor["movedTo"], new.actor_url().as_str(), "{actor}");
    cron(&site);
    let sent = peer.wait_for_activity("roost's Move", |a| a.is("Move", &me));
    assert_eq!(sent.signature, Some(Scheme::Cavage), "{sent:?}");
}

/// A follower's server that refuses roost's draft-cavage delivery with a
/// 401 and an RFC 9421 `Accept-Signature` challenge gets the same delivery
/// again at once, signed the RFC 9421 way, which http-message-signatures
/// verifies (signature and Content-Digest).
#[test]
fn a_delivery_challenged_for_rfc9421_is_sent_again_signed_that_way() {
    let site = roost("pysig-9421");
    let challenge = "sig1=(\"@method\" \"@target-uri\" \"@authority\" \"content-digest\");created";
    let (keys, remote, actor, key_id) =
        bob(401, vec![("Accept-Signature".into(), challenge.into())]);
    bob_follows(&site, &actor, &key_id, &keys);
    cron(&site);
    let seen = remote.requests("/users/bob/inbox");
    assert_eq!(seen.len(), 2, "{seen:?}");
    let actor_doc: serde_json::Value = serde_json::from_slice(
        &site
            .get("/actor", &[("Accept", "application/activity+json")])
            .body,
    )
    .unwrap();
    let public = actor_doc["publicKey"]["publicKeyPem"].as_str().unwrap();
    let verdicts: Vec<_> = seen
        .iter()
        .map(|s| {
            let headers: Vec<(&str, &str)> = s
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let request = Request::new("POST", &remote.url("/users/bob/inbox"), &headers, &s.body);
            http_signatures::verify(&request, public)
        })
        .collect();
    assert!(verdicts[0].verified(Scheme::Cavage), "{:?}", verdicts[0]);
    assert!(verdicts[1].verified(Scheme::Rfc9421), "{:?}", verdicts[1]);
    assert_eq!(
        verdicts[1].digest.content_digest,
        Some(true),
        "{:?}",
        verdicts[1]
    );
    assert_eq!(seen[0].body, seen[1].body);
}
