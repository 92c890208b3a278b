//! Webmention end to end: two roosts behind the private Apache converse
//! although neither follows the other, and roost talks with an independent
//! implementation, django-wm (tests/common/webmention_peer.rs), both ways.

mod common;

use common::apache::{Kind, apache};
use common::unique;
use common::webmention_peer::webmention_peer;

#[test]
fn two_roosts_converse_by_webmention_though_neither_follows_the_other() {
    let alice = apache().loopback_roost_site("wm-alice", Kind::Cgi);
    let bob = apache().loopback_roost_site("wm-bob", Kind::Fcgid);
    alice.cli_ok(&["config", "webmention_moderation", "all"]);
    let (alice_post, alice_path) = alice.post_cli("Alice asks: anyone out there?");
    let reply = unique("Bob answers by Webmention");
    bob.cli_ok(&["post", "--reply-to", &alice_post, &reply]);
    assert!(!alice.get(&alice_path, &[]).text().contains(&reply));
    // Bob's cron discovers Alice's endpoint and sends; Alice's verifies.
    let sent = bob.cli_ok(&["cron"]);
    assert!(sent.contains("0 given up"), "{sent}");
    let verified = alice.cli_ok(&["cron"]);
    assert!(verified.contains("0 given up"), "{verified}");
    let page = alice.get(&alice_path, &[]).text();
    assert!(
        page.contains(&reply),
        "Bob's reply shows under Alice's post:\n{page}"
    );
}

#[test]
fn django_wm_reads_roosts_reply_as_a_reply_from_the_owner() {
    let peer = webmention_peer();
    let roost = apache().loopback_roost_site("wm-to-django", Kind::Cgi);
    let name = unique("target");
    let target = peer.set_page(&name, "<p>A page on the django-wm site</p>");
    let text = unique("Replying from roost");
    roost.cli_ok(&["post", "--reply-to", &target, &text]);
    let run = roost.cli_ok(&["cron"]);
    assert!(run.contains("0 given up"), "{run}");
    peer.process();
    let received = peer.received(Some(&target));
    assert_eq!(received.len(), 1, "{received:?}");
    let mention = &received[0];
    assert_eq!(mention["validated"], true, "{mention}");
    assert_eq!(mention["post_type"], "reply", "{mention}");
    assert_eq!(mention["author"]["name"], "Test Owner", "{mention}");
    assert!(
        mention["content"].as_str().unwrap_or("").contains(&text),
        "{mention}"
    );
}

#[test]
fn roost_shows_django_wms_reply_and_like_once_verified() {
    let peer = webmention_peer();
    let roost = apache().loopback_roost_site("wm-from-django", Kind::Fcgid);
    roost.cli_ok(&["config", "webmention_moderation", "all"]);
    let (permalink, path) = roost.post_cli("A post for the django-wm site");
    let reply_name = unique("reply");
    let reply_text = unique("A reply written on django-wm");
    peer.set_source(
        &reply_name,
        &peer.h_entry("u-in-reply-to", &permalink, &reply_text),
    );
    let like_name = unique("like");
    peer.set_source(&like_name, &peer.h_entry("u-like-of", &permalink, ""));
    for name in [&reply_name, &like_name] {
        let sent = peer.send(name, &permalink);
        assert_eq!(
            sent["result"], "sent",
            "django-wm found roost's endpoint: {sent}"
        );
        assert_eq!(sent["status_code"], 202, "{sent}");
    }
    assert!(
        !roost.get(&path, &[]).text().contains(&reply_text),
        "nothing before cron"
    );
    let run = roost.cli_ok(&["cron"]);
    assert!(run.contains("2 done"), "{run}");
    let page = roost.get(&path, &[]).text();
    assert!(page.contains(&reply_text), "the reply:\n{page}");
    assert!(page.contains("Peer Author"), "its author:\n{page}");
    assert!(
        page.contains("1 likes"),
        "the like counted among the faces:\n{page}"
    );
    assert!(
        page.contains("u-like h-cite"),
        "the like as a face:\n{page}"
    );
}
