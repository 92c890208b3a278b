//! WebSub against an independent implementation: Python flask-websub
//! (tests/common/websub_peer.rs) as the hub roost subscribes to, and as a
//! subscriber to roost's own hub, with roost behind the private Apache.

mod common;

use common::apache::{Kind, Site, apache};
use common::websub_peer::websub_peer;
use common::{expect_success, run_cli, unique};
use serde_json::Value;
use std::time::Duration;

fn cli(site: &Site, args: &[&str]) -> String {
    let bin = site.binary.clone().expect("a roost site has its binary");
    expect_success(&args.join(" "), &run_cli(&bin, &site.home, args, None))
}

fn site(label: &str, kind: Kind) -> Site {
    let site = apache().roost_site(&unique(label), kind);
    // The peer and Apache are on loopback.
    cli(&site, &["config", "allow_private_addresses", "true"]);
    cli(&site, &["config", "public_timeline", "true"]);
    site
}

fn timeline(site: &Site) -> String {
    let page = site.get("/timeline", &[]);
    assert_eq!(page.status, 200, "{page:?}");
    page.text()
}

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
        let roost = site("wsi-sub", kind);
        cli(&roost, &["follow", &topic, "--name", "peer"]);
        assert!(
            timeline(&roost).contains("A first entry"),
            "the follow's own fetch"
        );
        // roost's cron asks the hub, which verifies inside that request.
        let run = cli(&roost, &["cron"]);
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
        let title = unique("Pushed entry");
        peer.add_entry_to(
            &topic_name,
            &unique("e"),
            &title,
            "Sent by the hub, not polled",
        );
        assert!(
            timeline(&roost).contains(&title),
            "the hub's push reached the timeline without a poll ({kind:?}); peer log:\n{}",
            peer.log()
        );
        // Unfollowing unsubscribes: the hub verifies with roost's callback.
        cli(&roost, &["unfollow", "peer"]);
        cli(&roost, &["cron"]);
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
        let roost = site("wsi-hub", kind);
        let topic = roost.url("/feed.atom");
        // Discovery through roost's Link headers, then POST /websub: 202.
        let callback_id = peer.subscribe(&topic);
        assert!(!callback_id.is_empty());
        let before = peer.events().len();
        // roost's cron verifies the intent with the peer's callback.
        let run = cli(&roost, &["cron"]);
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
        cli(&roost, &["post", &text]);
        assert!(
            peer.events()[before..]
                .iter()
                .all(|e| e["event"] != "delivered"),
            "nothing is sent while the post's request runs"
        );
        cli(&roost, &["cron"]);
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
        let again = cli(&roost, &["cron"]);
        assert!(again.contains("Jobs: 0 done"), "{again}");
    }
}
