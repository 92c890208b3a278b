//! WebSub against an independent implementation: Python flask-websub
//! (tests/common/websub_peer.rs) as the hub roost subscribes to, and as a
//! subscriber to roost's own hub, with roost behind the private Apache.

mod common;

use common::apache::{Kind, apache};
use common::unique;
use common::websub_peer::websub_peer;
use serde_json::Value;
use std::time::Duration;

#[test]
fn roost_subscribes_to_flask_websubs_hub_and_takes_its_signed_pushes() {
    let peer = websub_peer();
    let topic_name = unique("pushed");
    let topic = peer.named_topic_url(&topic_name);
    peer.add_entry_to(
        &topic_name,
        "first",
        "A first entry",
        "Before the subscription",
    );
    for kind in [Kind::Cgi, Kind::Fcgid] {
        let roost = apache().loopback_roost_site("wsi-sub", kind);
        roost.cli_ok(&["follow", &topic, "--name", "peer"]);
        assert!(
            roost.public_timeline().contains("A first entry"),
            "the follow's own fetch"
        );
        // roost's cron asks the hub, which verifies inside that request.
        let run = roost.cli_ok(&["cron"]);
        assert!(run.contains("0 given up"), "{run}");
        let ours = roost.path("/websub/callback/");
        let verify = |mode: &'static str| {
            let ours = ours.clone();
            peer.wait_for_event(
                move |e| {
                    e["event"] == "hub_request"
                        && e["kind"] == "verify"
                        && e["mode"] == mode
                        && e["callback"].as_str().is_some_and(|c| c.contains(&ours))
                },
                Duration::from_secs(10),
            )
        };
        let verified = verify("subscribe");
        assert_eq!(verified["status"], 200, "{verified}");
        assert_eq!(verified["challenge_echoed"], true, "{verified}");
        // The lease is renewed from cron before it ends (at nine tenths):
        // made due now, the renewal asks the hub again with the same callback.
        let verifications = |events: Vec<Value>| {
            events
                .iter()
                .filter(|e| {
                    e["event"] == "hub_request"
                        && e["kind"] == "verify"
                        && e["mode"] == "subscribe"
                        && e["callback"] == verified["callback"]
                })
                .count()
        };
        assert_eq!(verifications(peer.events()), 1);
        let db = rusqlite::Connection::open(roost.home.join("roost.db")).unwrap();
        let renewal: i64 = db
            .query_row(
                "SELECT due_at FROM jobs WHERE key LIKE 'renew %'",
                [],
                |r| r.get(0),
            )
            .expect("a renewal is queued");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let nine_tenths = 864_000 * 9 / 10;
        assert!(
            (now + nine_tenths - 60..now + nine_tenths + 60).contains(&renewal),
            "due at 9/10 of the 10-day lease the hub granted: {renewal} vs {now}"
        );
        db.execute("UPDATE jobs SET due_at = 0 WHERE key LIKE 'renew %'", [])
            .unwrap();
        roost.cli_ok(&["cron"]);
        assert_eq!(verifications(peer.events()), 2, "renewed");
        let title = unique("Pushed entry");
        peer.add_entry_to(
            &topic_name,
            &unique("e"),
            &title,
            "Sent by the hub, not polled",
        );
        assert!(
            roost.public_timeline().contains(&title),
            "the hub's push reached the timeline without a poll ({kind:?}); peer log:\n{}",
            peer.log()
        );
        // Unfollowing unsubscribes: the hub verifies with roost's callback.
        roost.cli_ok(&["unfollow", "peer"]);
        roost.cli_ok(&["cron"]);
        let unsubscribed = verify("unsubscribe");
        assert_eq!(unsubscribed["challenge_echoed"], true, "{unsubscribed}");
        let pushed = peer.add_entry_to(&topic_name, &unique("e"), "After unfollowing", "-");
        assert_eq!(
            pushed["subscribers"], 0,
            "the hub still has roost: {pushed}"
        );
    }
}

#[test]
fn flask_websubs_subscriber_gets_roosts_posts_signed_from_cron() {
    let peer = websub_peer();
    for kind in [Kind::Cgi, Kind::Fcgid] {
        let roost = apache().loopback_roost_site("wsi-hub", kind);
        let topic = roost.url("/feed.atom");
        // Discovery through roost's Link headers, then POST /websub: 202.
        let callback_id = peer.subscribe(&topic);
        assert!(!callback_id.is_empty());
        let before = peer.events().len();
        // roost's cron verifies the intent with the peer's callback.
        let run = roost.cli_ok(&["cron"]);
        assert!(
            run.contains("1 done") && run.contains("0 given up"),
            "{run}\n{}",
            peer.log()
        );
        peer.wait_for_event(
            |e| e["event"] == "verified" && e["topic"] == topic.as_str(),
            Duration::from_secs(5),
        );
        let text = unique("A post for flask-websub");
        roost.cli_ok(&["post", &text]);
        assert!(
            peer.events()[before..]
                .iter()
                .all(|e| e["event"] != "delivered"),
            "nothing is sent while the post's request runs"
        );
        roost.cli_ok(&["cron"]);
        let delivered: Value = peer.wait_for_event(
            |e| {
                e["event"] == "delivered"
                    && e["topic"] == topic.as_str()
                    && e["body"].as_str().is_some_and(|b| b.contains(&text))
            },
            Duration::from_secs(5),
        );
        assert_eq!(delivered["signature_valid"], true, "{delivered}");
        assert_eq!(delivered["accepted"], true, "{delivered}");
        assert!(
            delivered["signature"]
                .as_str()
                .unwrap_or("")
                .starts_with("sha256="),
            "{delivered}"
        );
        // Nothing changed since: the next run sends nothing again.
        let again = roost.cli_ok(&["cron"]);
        assert!(again.contains("Jobs: 0 done"), "{again}");
    }
}

/// `roost serve` is its own cron: a subscription queued before it starts is
/// made by its background thread, with no `roost cron` run at all.
#[test]
fn serve_runs_the_background_work_itself() {
    let peer = websub_peer();
    let topic_name = unique("served");
    let topic = peer.named_topic_url(&topic_name);
    peer.add_entry_to(&topic_name, "one", "An entry", "-");
    let dir = common::TempDir::new("roost-wsi-serve");
    let home = dir.join("node");
    let port = common::process::free_port();
    common::init_loopback_site(&home, &format!("http://127.0.0.1:{port}/"), "Served");
    common::expect_success(
        "follow",
        &common::roost_cli(&home, &["follow", &topic, "--name", "peer"], None),
    );
    let (_serve, _addr) = common::process::serve(&home, port);
    let verified = peer.wait_for_event(
        |e| {
            e["event"] == "hub_request"
                && e["kind"] == "verify"
                && e["topic"] == topic.as_str()
                && e["callback"].as_str().is_some_and(|c| {
                    c.starts_with(&format!("http://127.0.0.1:{port}/websub/callback/"))
                })
        },
        Duration::from_secs(20),
    );
    assert_eq!(verified["challenge_echoed"], true, "{verified}");
}
