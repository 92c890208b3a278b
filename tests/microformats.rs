//! The owner's pages read as microformats2 consumers (mf2py) read them:
//! `/` as an h-card (name, url, note) and an h-feed of h-entries, and a
//! reply's `/posts/ID` as an h-entry with author, content, published, url and
//! in-reply-to. A remote reply is `published` only when its feed gave a date.

mod common;

use common::feed_server::FeedServer;
use common::{TempDir, expect_success, roost_cli};
use serde_json::Value;
use std::path::Path;

const SITE: &str = "https://example.org/";
const NAME: &str = "Ann <Example> & Co";
const BIO: &str = "Writes \"short\" posts & replies <3";
const REPLY_TO: &str = "https://example.com/posts/42?ref=a&b=c";

fn cli(home: &Path, args: &[&str]) -> String {
    expect_success(&args.join(" "), &roost_cli(home, args, None))
}

/// The first value of an item's property.
fn first<'a>(item: &'a Value, property: &str) -> &'a Value {
    let values = &item["properties"][property];
    values
        .get(0)
        .unwrap_or_else(|| panic!("no {property} in {item:#}"))
}

fn of_type<'a>(items: &'a [Value], kind: &str) -> Vec<&'a Value> {
    items
        .iter()
        .filter(|i| i["type"].as_array().unwrap().iter().any(|t| t == kind))
        .collect()
}

fn check_entry(entry: &Value, permalink: &str, text: &str, published: &str) {
    let author = first(entry, "author");
    assert_eq!(
        author["type"][0], "h-card",
        "author is an h-card: {entry:#}"
    );
    assert_eq!(*first(author, "name"), NAME, "author name");
    assert_eq!(*first(author, "url"), SITE, "author url");
    assert_eq!(first(entry, "content")["value"], text, "content");
    assert_eq!(*first(entry, "url"), permalink, "url");
    assert_eq!(*first(entry, "published"), published, "published");
}

#[test]
fn pages_read_back_as_h_card_h_feed_and_h_entry() {
    let dir = TempDir::new("roost-mf2");
    let home = dir.join("data");
    common::init_site(&home, SITE, NAME);
    cli(&home, &["config", "bio", BIO]);
    // Pages show times in the owner's zone; `published` stays the UTC `datetime`.
    cli(&home, &["config", "time_zone", "-05:30"]);
    cli(&home, &["config", "allow_private_addresses", "true"]);
    cli(&home, &["post", "First & <best>"]);
    let reply = cli(&home, &["post", "--reply-to", REPLY_TO, "A reply"]);
    let reply = reply.trim();
    assert_eq!(reply, format!("{SITE}posts/2"));

    // Two replies to it from a followed feed: one dated, one not.
    let server = FeedServer::start();
    let feed = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" \
         xmlns:thr=\"http://purl.org/syndication/thread/1.0\"><title>Friend</title><id>urn:test:friend</id>\
         <link href=\"https://friend.example/\"/>\
         <entry><id>urn:test:dated</id><title>dated</title><published>2026-11-20T10:00:00Z</published>\
         <link href=\"https://friend.example/dated\"/><thr:in-reply-to ref=\"{reply}\"/>\
         <content type=\"text\">dated reply</content></entry>\
         <entry><id>urn:test:undated</id><title>undated</title>\
         <link href=\"https://friend.example/undated\"/><thr:in-reply-to ref=\"{reply}\"/>\
         <content type=\"text\">undated reply</content></entry></feed>"
    );
    server.feed("/friend.atom", feed.as_bytes(), "application/atom+xml");
    cli(&home, &["follow", &server.url("/friend.atom")]);

    let pages = [("/", SITE.to_string()), ("/posts/2", reply.to_string())];
    let mut args = Vec::new();
    for (i, (path, url)) in pages.iter().enumerate() {
        let file = dir.join(format!("page-{i}.html"));
        std::fs::write(&file, common::cgi_get(&home, path)).unwrap();
        args.push(file.into_os_string());
        args.push(url.into());
    }
    let parsed: Vec<Value> =
        serde_json::from_str(&common::python::run_script("read_mf2.py", &args)).unwrap();
    let export: Value = serde_json::from_str(&cli(&home, &["export"])).unwrap();
    let published = |id: usize| {
        export["posts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap()["published"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // `/`: the owner's h-card, and an h-feed with both posts, newest first.
    let items = parsed[0]["items"].as_array().unwrap();
    let cards = of_type(items, "h-card");
    assert_eq!(cards.len(), 1, "one h-card on /: {items:#?}");
    assert_eq!(*first(cards[0], "name"), NAME);
    assert_eq!(*first(cards[0], "url"), SITE);
    assert_eq!(*first(cards[0], "uid"), SITE);
    assert_eq!(*first(cards[0], "note"), BIO);
    let feeds = of_type(items, "h-feed");
    assert_eq!(feeds.len(), 1, "one h-feed on /: {items:#?}");
    let entries = feeds[0]["children"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{entries:#?}");
    check_entry(&entries[0], reply, "A reply", &published(2));
    assert_eq!(*first(&entries[0], "in-reply-to"), REPLY_TO);
    check_entry(
        &entries[1],
        &format!("{SITE}posts/1"),
        "First & <best>",
        &published(1),
    );

    // `/posts/2`: the reply, then the two remote replies to it.
    let items = parsed[1]["items"].as_array().unwrap();
    let entries = of_type(items, "h-entry");
    assert_eq!(entries.len(), 3, "{items:#?}");
    check_entry(entries[0], reply, "A reply", &published(2));
    assert_eq!(*first(entries[0], "in-reply-to"), REPLY_TO);
    for remote in &entries[1..] {
        assert_eq!(*first(remote, "in-reply-to"), reply, "{remote:#}");
    }
    let dated = entries[1..]
        .iter()
        .find(|e| *first(e, "url") == "https://friend.example/dated")
        .unwrap();
    assert_eq!(*first(dated, "published"), "2026-11-20T10:00:00Z");
    let undated = entries[1..]
        .iter()
        .find(|e| *first(e, "url") == "https://friend.example/undated")
        .unwrap();
    assert!(
        undated["properties"].get("published").is_none(),
        "an undated entry has no published date, not when roost first saw it: {undated:#}"
    );
}
