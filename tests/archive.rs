//! Bringing an archive home (issue 16): `roost export` and `roost import
//! roost` round-trip a node exactly; `roost import twitter` and `import
//! mastodon` read archives built here from their formats' documented
//! structure (`common::archives`), idempotently, within a time budget,
//! after a kill; hostile archives are refused whole.

mod common;

use common::archives::{ZipEntry, tar_gz, zip};
use common::{TempDir, cgi_get, expect_success, init_site, roost_cli};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const SITE: &str = "https://example.org/";

fn export(home: &Path) -> Value {
    serde_json::from_str(&expect_success(
        "export",
        &roost_cli(home, &["export"], None),
    ))
    .unwrap()
}

fn posts(home: &Path) -> Vec<Value> {
    export(home)["posts"].as_array().unwrap().clone()
}

fn post_with(home: &Path, syndication: &str) -> Value {
    posts(home)
        .into_iter()
        .find(|p| p["syndication"] == syndication)
        .unwrap_or_else(|| panic!("no post from {syndication}"))
}

fn write(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    common::chown_to_cgi_user(&path);
    path
}

fn new_node(dir: &TempDir, name: &str) -> PathBuf {
    let home = dir.join(name);
    init_site(&home, SITE, "Ann");
    home
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn import(home: &Path, args: &[&str]) -> String {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    let out = roost_cli(home, &all, None);
    let printed = expect_success(&all.join(" "), &out);
    assert_eq!(
        stderr(&out),
        "",
        "no progress line when stderr is not a terminal"
    );
    printed
}

// ---------------------------------------------------------------- roost

#[test]
fn roost_export_imported_onto_a_fresh_node_is_the_same_node() {
    let dir = TempDir::new("roost-archive");
    let home = new_node(&dir, "first");
    let post = |text: &str, extra: &[&str]| {
        let mut args = vec!["post", text];
        args.extend_from_slice(extra);
        expect_success("post", &roost_cli(&home, &args, None))
    };
    post("the first post", &[]);
    post("gone soon", &[]);
    post(
        "a reply to myself",
        &["--reply-to", "https://example.org/posts/1"],
    );
    post(
        "a reply to Bob",
        &["--reply-to", "https://bob.example/notes/7"],
    );
    expect_success(
        "edit",
        &roost_cli(&home, &["edit", "1", "the first post, edited"], None),
    );
    expect_success("delete", &roost_cli(&home, &["delete", "2"], None));
    expect_success(
        "bio",
        &roost_cli(&home, &["config", "bio", "Writes here."], None),
    );
    let file = dir.join("node.json");
    expect_success(
        "export FILE",
        &roost_cli(&home, &["export", file.to_str().unwrap()], None),
    );
    let exported = std::fs::read(&file).unwrap();

    let copy = dir.join("copy");
    init_site(&copy, "https://elsewhere.example/", "Someone");
    let printed = import(&copy, &["roost", file.to_str().unwrap()]);
    assert!(printed.contains("Imported 3 posts"), "{printed}");
    let again = expect_success("export", &roost_cli(&copy, &["export"], None));
    assert_eq!(
        again,
        String::from_utf8(exported).unwrap(),
        "the copy exports the same bytes"
    );
    for page in [
        "/",
        "/posts/1",
        "/posts/3",
        "/posts/4",
        "/feed.atom",
        "/feed.json",
    ] {
        assert_eq!(
            String::from_utf8_lossy(&cgi_get(&copy, page)),
            String::from_utf8_lossy(&cgi_get(&home, page)),
            "{page} is the same page"
        );
    }
    let twice = import(&copy, &["roost", file.to_str().unwrap()]);
    assert!(twice.contains("Nothing to do"), "{twice}");
    assert_eq!(posts(&copy).len(), 3);

    let busy = new_node(&dir, "busy");
    expect_success("post", &roost_cli(&busy, &["post", "mine"], None));
    let refused = roost_cli(&busy, &["import", "roost", file.to_str().unwrap()], None);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("only onto a fresh node"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(posts(&busy).len(), 1);
}

// -------------------------------------------------------------- twitter

fn tweet_time(i: u64) -> (String, String) {
    let t = chrono::DateTime::from_timestamp(1_300_000_000 + i as i64 * 3600, 0).unwrap();
    (
        t.format("%a %b %d %H:%M:%S +0000 %Y").to_string(),
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

const LONG_AT: u64 = 19;

fn long_text() -> String {
    let mut text = String::from("A long tweet begins. ");
    while text.chars().count() < 600 {
        text.push_str("And it goes on and on. ");
    }
    text.trim_end().to_string()
}

/// `n` tweets of account "ann": every tenth (from 1) a reply to the one
/// before it (threads), every tenth from 3 a reply to bob, from 5 a t.co
/// link, from 7 a retweet; tweet 9 replies to an own tweet deleted since;
/// tweet 19 is long (its whole text in note-tweet.js).
fn tweets(n: u64) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let id = (1000 + i).to_string();
            let (created, _) = tweet_time(i);
            let mut t = json!({
                "id_str": id, "id": id, "created_at": created,
                "full_text": format!("tweet number {i} &amp; more"),
                "entities": { "urls": [], "hashtags": [], "user_mentions": [] },
                "retweeted": false, "favorite_count": "0", "lang": "en",
            });
            match i % 10 {
                1 => {
                    t["in_reply_to_status_id_str"] = (1000 + i - 1).to_string().into();
                    t["in_reply_to_user_id_str"] = "111".into();
                    t["in_reply_to_screen_name"] = "ann".into();
                }
                3 => {
                    t["in_reply_to_status_id_str"] = format!("{}", 9000 + i).into();
                    t["in_reply_to_user_id_str"] = "222".into();
                    t["in_reply_to_screen_name"] = "bob".into();
                    t["full_text"] = format!("@bob answer {i}").into();
                }
                5 => {
                    t["full_text"] = format!("see https://t.co/ab{i} now").into();
                    t["entities"]["urls"] = json!([{
                        "url": format!("https://t.co/ab{i}"),
                        "expanded_url": format!("https://example.com/{i}"),
                        "display_url": format!("example.com/{i}"),
                    }]);
                }
                7 => t["full_text"] = format!("RT @bob: boosted {i}").into(),
                _ => {}
            }
            if i == 9 {
                t["in_reply_to_status_id_str"] = "999".into();
                t["in_reply_to_user_id_str"] = "111".into();
                t["in_reply_to_screen_name"] = "ann".into();
            }
            if i == LONG_AT {
                let start: String = long_text().chars().take(270).collect();
                t["full_text"] = format!("{start}… https://t.co/long").into();
            }
            json!({ "tweet": t })
        })
        .collect()
}

fn twitter_zip(tweets: &[Value], tweets_file: &str) -> Vec<u8> {
    let (_, long_created) = tweet_time(LONG_AT);
    let account = json!([{ "account": {
        "email": "ann@example.org", "createdVia": "web", "username": "ann",
        "accountId": "111", "createdAt": "2010-01-01T00:00:00.000Z", "accountDisplayName": "Ann",
    }}]);
    let notes = json!([{ "noteTweet": {
        "noteTweetId": "77", "updatedAt": long_created, "createdAt": long_created,
        "core": { "styletags": [], "urls": [], "text": long_text(), "mentions": [], "cashtags": [], "hashtags": [] },
    }}]);
    zip(&[
        ZipEntry::new(
            "data/account.js",
            format!("window.YTD.account.part0 = {account}"),
        ),
        ZipEntry::new(
            &format!("data/{tweets_file}"),
            format!(
                "window.YTD.tweets.part0 = {}",
                serde_json::to_string_pretty(tweets).unwrap()
            ),
        ),
        ZipEntry::new(
            "data/note-tweet.js",
            format!("window.YTD.note_tweet.part0 = {notes}"),
        ),
        ZipEntry::new("data/tweets_media/1000-a.jpg", vec![0xff; 64]),
    ])
}

#[test]
fn a_twitter_archive_becomes_posts_with_dates_threads_links_and_long_texts() {
    let dir = TempDir::new("roost-archive");
    let home = new_node(&dir, "node");
    let archive = write(&dir, "twitter.zip", &twitter_zip(&tweets(300), "tweets.js"));
    let printed = import(&home, &["twitter", archive.to_str().unwrap()]);
    assert!(printed.contains("Imported 270 posts"), "{printed}");
    assert!(printed.contains("skipped 30: retweets"), "{printed}");
    assert_eq!(posts(&home).len(), 270);

    let url = |i: u64| format!("https://twitter.com/ann/status/{}", 1000 + i);
    let first = post_with(&home, &url(0));
    assert_eq!(first["text"], "tweet number 0 & more");
    assert_eq!(first["published"], tweet_time(0).1);
    let reply = post_with(&home, &url(1));
    assert_eq!(reply["reply_to"], format!("{SITE}posts/{}", first["id"]));
    assert_eq!(
        post_with(&home, &url(3))["reply_to"],
        "https://twitter.com/bob/status/9003"
    );
    assert_eq!(
        post_with(&home, &url(5))["text"],
        "see https://example.com/5 now"
    );
    assert_eq!(
        post_with(&home, &url(9))["reply_to"],
        "https://twitter.com/ann/status/999",
        "a reply to a deleted own tweet keeps its address"
    );
    assert_eq!(post_with(&home, &url(LONG_AT))["text"], long_text());

    let page = String::from_utf8(cgi_get(&home, &format!("/posts/{}", first["id"]))).unwrap();
    assert!(
        page.contains(&format!("class=\"u-syndication\" href=\"{}\"", url(0))),
        "{page}"
    );

    let before = export(&home);
    let twice = import(&home, &["twitter", archive.to_str().unwrap()]);
    assert!(twice.contains("Imported 0 posts"), "{twice}");
    assert!(twice.contains("270 imported before"), "{twice}");
    assert_eq!(export(&home), before, "a second run changes nothing");
}

#[test]
fn retweets_are_kept_as_links_when_asked_and_split_tweet_files_are_read() {
    let dir = TempDir::new("roost-archive");
    let home = new_node(&dir, "node");
    let archive = write(&dir, "t.zip", &twitter_zip(&tweets(20), "tweets-part1.js"));
    let printed = import(
        &home,
        &["twitter", archive.to_str().unwrap(), "--retweets", "link"],
    );
    assert!(printed.contains("Imported 20 posts"), "{printed}");
    let retweet = post_with(&home, "https://twitter.com/ann/status/1007");
    assert_eq!(
        retweet["text"],
        "RT @bob: boosted 7\n\nhttps://twitter.com/ann/status/1007"
    );
}

#[test]
fn an_import_cut_by_its_time_limit_or_a_kill_is_finished_by_the_next_run() {
    let dir = TempDir::new("roost-archive");
    let home = new_node(&dir, "node");
    let archive = write(&dir, "t.zip", &twitter_zip(&tweets(3000), "tweets.js"));
    let path = archive.to_str().unwrap();
    let printed = import(&home, &["twitter", path, "--max-seconds", "0"]);
    assert!(printed.contains("Imported 0 posts"), "{printed}");
    assert!(printed.contains("with 2700 left"), "{printed}");
    assert_eq!(posts(&home).len(), 0);

    // Killed at whatever point it reached: the next run adds the rest, once.
    let mut cmd = common::roost_command();
    cmd.arg("--home")
        .arg(&home)
        .args(["import", "twitter", path])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = common::spawn(&mut cmd).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    child.kill().unwrap();
    child.wait().unwrap();
    let reached = posts(&home).len();
    eprintln!("the killed run had imported {reached} posts");
    import(&home, &["twitter", path]);
    let all = posts(&home);
    assert_eq!(all.len(), 2700);
    let mut origins: Vec<&str> = all
        .iter()
        .map(|p| p["syndication"].as_str().unwrap())
        .collect();
    origins.sort_unstable();
    origins.dedup();
    assert_eq!(origins.len(), 2700, "no tweet imported twice");
}

#[test]
fn a_terminal_is_shown_a_progress_line() {
    let dir = TempDir::new("roost-archive");
    let home = new_node(&dir, "node");
    let archive = write(&dir, "t.zip", &twitter_zip(&tweets(30), "tweets.js"));
    // script(1) gives the import a terminal, as a person at a shell has.
    let mut cmd = std::process::Command::new("script");
    common::run_as_cgi_user(&mut cmd);
    let line = format!(
        "{} --home {} import twitter {}",
        common::roost_bin().display(),
        home.display(),
        archive.display()
    );
    cmd.args(["-qec", &line, "/dev/null"]);
    let out = common::run_with_stdin(&mut cmd, None);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("\r\x1b[2K27/27 posts from twitter"),
        "{shown:?}"
    );
    assert!(shown.contains("Imported 27 posts"), "{shown:?}");
}

// ------------------------------------------------------------- mastodon

const ACTOR: &str = "https://m.example/users/ann";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

fn note(n: u32, to: Value, cc: Value, extra: Value) -> Value {
    let mut object = json!({
        "id": format!("{ACTOR}/statuses/{n}"),
        "type": "Note",
        "url": format!("https://m.example/@ann/{n}"),
        "published": format!("2020-05-{n:02}T10:00:00Z"),
        "attributedTo": ACTOR,
        "to": to, "cc": cc,
        "content": format!("<p>Note {n} with <a href=\"https://example.com/{n}\" rel=\"nofollow\"><span class=\"invisible\">https://</span>example.com/{n}</a></p>"),
        "inReplyTo": null, "sensitive": false, "summary": null,
        "attachment": [], "tag": [],
    });
    for (k, v) in extra.as_object().unwrap() {
        object[k] = v.clone();
    }
    json!({ "id": format!("{ACTOR}/statuses/{n}/activity"), "type": "Create", "actor": ACTOR,
            "published": object["published"], "to": object["to"], "cc": object["cc"], "object": object })
}

fn outbox() -> Value {
    let followers = json!([format!("{ACTOR}/followers")]);
    let items = vec![
        note(1, json!([PUBLIC]), followers.clone(), json!({})),
        note(2, followers.clone(), json!([PUBLIC]), json!({})), // unlisted
        note(3, followers.clone(), json!([]), json!({})),       // followers only
        note(
            4,
            json!(["https://o.example/users/bob"]),
            json!([]),
            json!({}),
        ), // direct
        note(
            5,
            json!([PUBLIC]),
            followers.clone(),
            json!({ "summary": "spoilers", "sensitive": true }),
        ),
        note(
            6,
            json!([PUBLIC]),
            followers.clone(),
            json!({ "inReplyTo": format!("{ACTOR}/statuses/1") }),
        ),
        note(
            7,
            json!([PUBLIC]),
            followers.clone(),
            json!({ "inReplyTo": "https://o.example/users/bob/statuses/9" }),
        ),
        note(
            8,
            json!([PUBLIC]),
            followers.clone(),
            json!({ "content": "<p>hi<script>alert(1)</script> <b>you</b> &amp; me</p><p>two</p>" }),
        ),
        json!({ "id": format!("{ACTOR}/statuses/9/activity"), "type": "Announce", "actor": ACTOR,
                "published": "2020-05-09T10:00:00Z", "to": [PUBLIC], "cc": [], "object": "https://o.example/users/bob/statuses/1" }),
    ];
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "outbox.json", "type": "OrderedCollection",
        "totalItems": items.len(), "orderedItems": items,
    })
}

fn actor() -> Value {
    json!({ "id": ACTOR, "type": "Person", "preferredUsername": "ann", "name": "Ann",
            "outbox": "outbox.json" })
}

#[test]
fn a_mastodon_archive_brings_public_and_unlisted_posts_with_warnings_and_threads() {
    let dir = TempDir::new("roost-archive");
    let outbox = outbox().to_string();
    let actor = actor().to_string();
    let tgz = write(
        &dir,
        "archive.tar.gz",
        &tar_gz(&[
            ("actor.json", actor.as_bytes()),
            ("outbox.json", outbox.as_bytes()),
            ("media_attachments/files/1/original/a.png", &[1, 2, 3][..]),
        ]),
    );
    let zipped = write(
        &dir,
        "archive.zip",
        &zip(&[
            ZipEntry::new("outbox.json", outbox.clone()),
            ZipEntry::new("actor.json", actor.clone()),
        ]),
    );
    for (name, archive) in [("tgz", &tgz), ("zip", &zipped)] {
        let home = new_node(&dir, name);
        let printed = import(&home, &["mastodon", archive.to_str().unwrap()]);
        assert!(printed.contains("Imported 6 posts"), "{name}: {printed}");
        assert!(
            printed.contains("skipped 2: followers-only and direct"),
            "{printed}"
        );
        assert!(printed.contains("skipped 1: boosts"), "{printed}");
        let url = |n: u32| format!("https://m.example/@ann/{n}");
        let first = post_with(&home, &url(1));
        assert_eq!(first["text"], "Note 1 with https://example.com/1");
        assert_eq!(first["published"], "2020-05-01T10:00:00Z");
        post_with(&home, &url(2));
        assert_eq!(post_with(&home, &url(5))["summary"], "spoilers");
        assert_eq!(
            post_with(&home, &url(6))["reply_to"],
            format!("{SITE}posts/{}", first["id"])
        );
        assert_eq!(
            post_with(&home, &url(7))["reply_to"],
            "https://o.example/users/bob/statuses/9"
        );
        assert_eq!(post_with(&home, &url(8))["text"], "hi you & me\n\ntwo");
        let warned = post_with(&home, &url(5));
        let page = String::from_utf8(cgi_get(&home, &format!("/posts/{}", warned["id"]))).unwrap();
        assert!(
            page.contains("<summary class=\"p-summary\">spoilers</summary>"),
            "{page}"
        );
        let twice = import(&home, &["mastodon", archive.to_str().unwrap()]);
        assert!(
            twice.contains("Imported 0 posts from mastodon (6 imported before)"),
            "{twice}"
        );
    }
}

// -------------------------------------------------------------- hostile

/// The archive is refused with a message naming what is wrong, and the
/// node is left without a single post.
fn assert_refused(dir: &TempDir, name: &str, bytes: &[u8], kind: &str, expected: &str) {
    let home = new_node(dir, &format!("node-{name}"));
    let archive = write(dir, name, bytes);
    let out = roost_cli(&home, &["import", kind, archive.to_str().unwrap()], None);
    assert!(!out.status.success(), "{name} was accepted");
    let err = stderr(&out);
    assert!(
        err.contains(expected),
        "{name}: {expected:?} not in {err:?}"
    );
    assert!(err.contains("nothing was imported"), "{name}: {err:?}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(posts(&home).is_empty(), "{name} half-imported");
}

#[test]
fn hostile_archives_are_refused_whole_with_what_is_wrong() {
    let dir = TempDir::new("roost-archive");
    let good = twitter_zip(&tweets(50), "tweets.js");
    let tweets_js = format!("window.YTD.tweets.part0 = {}", Value::Array(tweets(50)));

    let mut traversal = vec![ZipEntry::new("data/tweets.js", tweets_js.clone())];
    traversal.push(ZipEntry::new("../../.ssh/authorized_keys", "ssh-ed25519 x"));
    assert_refused(
        &dir,
        "traversal.zip",
        &zip(&traversal),
        "twitter",
        "path traversal",
    );
    assert_refused(
        &dir,
        "traversal.tar.gz",
        &tar_gz(&[("outbox.json", b"{}"), ("/etc/cron.d/x", b"* * * * * x")]),
        "mastodon",
        "path traversal",
    );

    // A bomb that states its size: 20 MB of spaces in about 20 KB.
    let mut bomb = ZipEntry::new("data/tweets.js", vec![b' '; 20 << 20]);
    bomb.deflate = true;
    assert_refused(&dir, "bomb.zip", &zip(&[bomb]), "twitter", "zip bomb");
    // One that lies about it: 5 MB claimed as 2,000 bytes.
    let mut liar = ZipEntry::new("data/tweets.js", vec![b' '; 5 << 20]);
    liar.claimed_size = Some(2000);
    assert_refused(
        &dir,
        "liar.zip",
        &zip(&[liar]),
        "twitter",
        "not the 2000 it claims",
    );
    let mut claims = ZipEntry::new("data/tweets.js", tweets_js.clone());
    claims.claimed_size = Some(2_000_000_000);
    assert_refused(
        &dir,
        "claims.zip",
        &zip(&[claims]),
        "twitter",
        "claims 2000000000 bytes",
    );

    let broken = zip(&[ZipEntry::new(
        "data/tweets.js",
        &tweets_js[..tweets_js.len() / 2],
    )]);
    assert_refused(&dir, "broken.zip", &broken, "twitter", "not valid JSON");
    assert_refused(
        &dir,
        "broken.tar.gz",
        &tar_gz(&[("outbox.json", b"{\"orderedItems\": [")]),
        "mastodon",
        "not valid JSON",
    );
    assert_refused(
        &dir,
        "cut.zip",
        &good[..good.len() - 30],
        "twitter",
        "central directory",
    );
    assert_refused(
        &dir,
        "text.zip",
        b"just some text",
        "twitter",
        "neither a zip",
    );
    // A bad date in the last tweet: not one of the 49 before it is kept.
    let mut dated = tweets(50);
    dated[49]["tweet"]["created_at"] = "yesterday".into();
    assert_refused(
        &dir,
        "dated.zip",
        &twitter_zip(&dated, "tweets.js"),
        "twitter",
        "no valid created_at",
    );
}
