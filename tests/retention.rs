//! Retention (issue 16): with `retention_days` set, `roost cron` forgets
//! followed feeds' entries older than that, never one the owner replied
//! to, and search forgets them with it. Through the private Apache, the
//! real binary as CGI.

mod common;

use common::apache::{Kind, apache};
use common::feed_server::FeedServer;

#[test]
fn cron_forgets_old_entries_but_not_those_replied_to_and_search_follows() {
    let site = apache().loopback_roost_site("retention", Kind::Cgi);
    let server = FeedServer::start();
    let home = server.url("/");
    let fresh = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    let feed = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Old friend</title><id>urn:old</id>
<link href="{home}"/><updated>{fresh}</updated>
<entry><title>Turnips</title><id>urn:old:1</id><link href="{home}1"/>
<updated>2020-01-01T10:00:00Z</updated><content>Ancient turnip news.</content></entry>
<entry><title>Parsnips</title><id>urn:old:2</id><link href="{home}2"/>
<updated>2020-01-02T10:00:00Z</updated><content>Ancient parsnip story.</content></entry>
<entry><title>Radishes</title><id>urn:old:3</id><link href="{home}3"/>
<updated>{fresh}</updated><content>Fresh radish report.</content></entry>
</feed>"#
    );
    server.feed("/old.atom", feed.as_bytes(), "application/atom+xml");
    site.cli_ok(&["follow", &server.url("/old.atom")]);
    site.cli_ok(&[
        "post",
        "I remember those parsnips",
        "--reply-to",
        &format!("{home}2"),
    ]);
    site.cli_ok(&["cron"]);
    let found = |word: &str| site.cli_ok(&["search", word]);
    assert!(
        found("turnip").contains("Turnips"),
        "stored and indexed first"
    );

    // As if polled long ago: the entries were first seen 400 days back.
    let db = rusqlite::Connection::open(site.home.join("roost.db")).unwrap();
    db.execute(
        "UPDATE entries SET first_seen = first_seen - 400 * 86400",
        [],
    )
    .unwrap();
    drop(db);
    let kept_all = site.cli_ok(&["cron"]);
    assert!(
        !kept_all.contains("Forgot"),
        "0 days keeps everything: {kept_all}"
    );
    assert!(found("turnip").contains("Turnips"));

    let refused = common::roost_cli(&site.home, &["config", "retention_days", "soon"], None);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("whole number of days"));
    site.cli_ok(&["config", "retention_days", "30"]);
    let ran = site.cli_ok(&["cron"]);
    assert!(ran.contains("Forgot 1 received entries"), "{ran}");
    assert!(
        !found("turnip").contains("Turnips"),
        "the index forgot it too"
    );
    assert!(found("parsnip").contains("Parsnips"), "replied to: kept");
    assert!(found("radish").contains("Radishes"), "recent: kept");
    let again = site.cli_ok(&["cron"]);
    assert!(!again.contains("Forgot"), "{again}");
}
