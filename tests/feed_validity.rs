//! Whatever the owner types, what roost publishes reads back as typed. For
//! random owner inputs (post text, reply-to address, name, bio, url and
//! language, with `& < > " '`, C0 and C1 controls, U+FFFD, the noncharacters
//! U+FFFE/U+FFFF, right-to-left marks, emoji, 5,000-character posts), set
//! through the command line: `/feed.atom` and `/feed.rss` are well-formed XML
//! to a strict parser (expat), feedparser reads them with `bozo == 0`, the
//! JSON Feed is strict JSON, and every field comes back: titles, links, ids,
//! dates, content, in-reply-to.
//!
//! The documented differences: XML 1.0 cannot carry C0 controls (but tab and
//! line ends) nor U+FFFE/U+FFFF, so the XML feeds leave them out. RSS cannot
//! mark text as text: an item title that readers would take for HTML is left
//! out, and feedparser's reading of the channel's title and description
//! (which it always takes for HTML) is compared only where nothing in them
//! reads as markup; what the strict XML parser reads is compared always.
//! feedparser 6.0.x does not read JSON Feed: Python's json module does.
//!
//! The inputs come from a seeded generator; the seed is in every failure
//! message, and `ROOST_FEED_SEED=N` replays a run.

mod common;

use common::{TempDir, expect_success, roost_cli};
use serde_json::Value;
use std::path::Path;

/// Cases per run: each sets some settings and adds one post, then reads all
/// three feeds; one Python process reads every case's files.
const CASES: usize = 40;
const DEFAULT_SEED: u64 = 0x5EED_F00D;

/// The generator, with what picking inputs needs.
struct Rng(common::SplitMix64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u64) as usize
    }
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// Pieces that have broken feeds, or could: markup, references, CDATA ends,
/// controls, noncharacters, bidirectional overrides, emoji sequences.
const ODD: &[&str] = &[
    "&",
    "<",
    ">",
    "\"",
    "'",
    "&amp;",
    "&lt;b&gt;",
    "&#x26;",
    "&#0;",
    "&nbsp;",
    "&bogus;",
    "</b>",
    "<b>",
    "<i>x</i>",
    "<script>alert(1)</script>",
    "]]>",
    "<![CDATA[",
    "<!--",
    "-->",
    "\u{1}",
    "\u{8}",
    "\u{b}",
    "\u{c}",
    "\u{1b}",
    "\u{7f}",
    "\u{85}",
    "\u{9f}",
    "\u{fffd}",
    "\u{fffe}",
    "\u{ffff}",
    "\u{200f}",
    "\u{202e}",
    "\u{2028}",
    "\u{a0}",
    "\u{feff}",
    "😀",
    "👩🏽‍💻",
    "🏳️‍🌈",
    "مرحبا",
    "שלום",
    "日本語",
    "e\u{301}",
    "%ED%A0%80",
    "https://example.com/x?a=1&b=2",
    "http://",
    "\\",
    ";",
    "#",
    "=",
    "?",
    "/",
];
const WORDS: &[&str] = &["hello", "roost", "a", "feed", "AT", "T", "x", "amp", "lt"];
/// Only for text read from stdin: NUL cannot be a command-line argument.
const LINE_BREAKS: &[&str] = &["\n", "\n\n", "\r\n", "\r", "\t", "\u{0}"];

/// `least` to `most` odd pieces and words, joined with or without spaces.
fn odd_text(rng: &mut Rng, least: usize, most: usize, breaks: bool) -> String {
    let mut out = String::new();
    for _ in 0..least + rng.below(most + 1 - least) {
        match rng.below(10) {
            0..=3 => out.push_str(rng.pick(WORDS)),
            4..=7 => out.push_str(rng.pick(ODD)),
            8 if breaks => out.push_str(rng.pick(LINE_BREAKS)),
            _ => out.push(' '),
        }
    }
    out
}

/// Text with no whitespace or control character: what an address may hold.
fn odd_address_part(rng: &mut Rng, least: usize, most: usize) -> String {
    odd_text(rng, least, most, false)
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect()
}

/// A post as typed: usually short, sometimes 5,000 characters.
fn post_text(rng: &mut Rng) -> String {
    let mut text = odd_text(rng, 1, 40, true);
    if rng.one_in(8) {
        while text.chars().count() < 6000 {
            text.push_str(&odd_text(rng, 20, 20, true));
        }
        // At the limit after the command line drops controls and trims.
        let kept: String = text.chars().filter(|c| !is_dropped_on_input(*c)).collect();
        text = kept.trim().chars().take(5000).collect();
    }
    if text.chars().all(|c| c.is_whitespace() || c.is_control()) {
        text.push('x');
    }
    text
}

fn is_dropped_on_input(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// What XML 1.0 cannot carry at all (the feeds leave it out).
fn xml_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

fn in_xml(text: &str) -> String {
    text.chars().filter(|c| !xml_forbidden(*c)).collect()
}

/// Whitespace runs as one space: HTML and feed readers do not keep them.
fn collapsed(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The feeds' title for a post: its first line, 80 characters at most.
fn excerpt(text: &str) -> String {
    let first = text.lines().next().unwrap_or("").trim();
    let mut out: String = first.chars().take(80).collect();
    if first.chars().count() > 80 || text.trim().lines().count() > 1 {
        out.push('…');
    }
    out
}

/// What feed readers (and the W3C validator) take for HTML in an RSS text
/// element: a closing tag or something like a character reference. RSS
/// cannot say "this is text", so such a title is left out of RSS items.
fn reads_as_html(text: &str) -> bool {
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    (0..bytes.len()).any(|i| {
        let closing = bytes[i..].starts_with(b"</") && {
            let n = bytes[i + 2..].iter().take_while(|b| word(**b)).count();
            n > 0 && bytes.get(i + 2 + n) == Some(&b'>')
        };
        let reference = bytes[i] == b'&' && {
            let start = i + 1 + usize::from(bytes.get(i + 1) == Some(&b'#'));
            let n = bytes[start..].iter().take_while(|b| word(**b)).count();
            n > 0 && bytes.get(start + n) == Some(&b';')
        };
        closing || reference
    })
}

fn unix(rfc3339: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339.as_str().expect("a date"))
        .expect("an RFC 3339 date")
        .timestamp()
}

/// One case: the files read, and what the owner had set and posted by then.
struct Case {
    inputs: String,
    export: Value,
    /// The Atom and RSS documents as served.
    atom: String,
    rss: String,
}

#[test]
fn every_feed_reads_back_what_the_owner_typed() {
    let seed = std::env::var("ROOST_FEED_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let mut rng = Rng(common::SplitMix64(seed));
    let dir = TempDir::new("roost-feeds");
    let home = dir.join("data");
    common::init_site(&home, "https://example.org/notes/", "Ann");
    let files = dir.join("feeds");
    std::fs::create_dir(&files).unwrap();
    let mut cases = Vec::new();
    let mut manifest = Vec::new();
    for i in 0..CASES {
        let mut inputs = Vec::new();
        if rng.one_in(3) {
            let name = odd_address_part(&mut rng, 1, 6) + " " + &odd_text(&mut rng, 0, 3, false);
            set(&home, "name", &name, &mut inputs);
        }
        if rng.one_in(3) {
            let bio = odd_text(&mut rng, 0, 30, false).replace('\u{0}', "");
            set(&home, "bio", &bio, &mut inputs);
        }
        if rng.one_in(4) {
            let url = format!(
                "https://{}.example/{}/",
                odd_address_part(&mut rng, 1, 3),
                odd_address_part(&mut rng, 0, 4)
            );
            set(&home, "url", &url, &mut inputs);
        }
        if rng.one_in(5) {
            let language = rng.pick(&["en", "fr-CA", "", "pt-BR", "not a tag"]);
            set(&home, "language", language, &mut inputs);
        }
        let text = post_text(&mut rng);
        let mut args = vec!["post".to_string()];
        if rng.one_in(2) {
            let reply = format!(
                "https://example.com/posts/42?ref=a&b=c{}",
                odd_address_part(&mut rng, 0, 8)
            );
            args.extend(["--reply-to".to_string(), reply]);
        }
        inputs.push(format!("post {args:?} text {text:?}"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        expect_success(&inputs.join("\n"), &roost_cli(&home, &args, Some(&text)));
        let mut paths = serde_json::Map::new();
        for format in ["atom", "rss", "json"] {
            let path = files.join(format!("{i}.{format}"));
            std::fs::write(&path, common::cgi_get(&home, &format!("/feed.{format}"))).unwrap();
            paths.insert(format.into(), path.to_str().unwrap().into());
        }
        manifest.push(Value::Object(paths));
        let export = expect_success("export", &roost_cli(&home, &["export"], None));
        let served =
            |format: &str| std::fs::read_to_string(files.join(format!("{i}.{format}"))).unwrap();
        cases.push(Case {
            inputs: inputs.join("\n"),
            export: serde_json::from_str(&export).expect("export is JSON"),
            atom: served("atom"),
            rss: served("rss"),
        });
    }
    let manifest_path = files.join("manifest.json");
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let read: Vec<Value> = serde_json::from_str(&common::python::run_script(
        "read_feeds.py",
        [&manifest_path],
    ))
    .expect("read_feeds.py prints JSON");
    for (i, (case, got)) in cases.iter().zip(&read).enumerate() {
        let context = format!(
            "seed {seed} (ROOST_FEED_SEED={seed} replays it), case {i}, files in {} \
             (kept), after:\n{}",
            files.display(),
            case.inputs
        );
        let check = std::panic::catch_unwind(|| check_case(case, got));
        if let Err(panic) = check {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let kept = dir.keep();
            panic!(
                "{why}\n{context}\n(data directory kept in {})",
                kept.display()
            );
        }
    }
}

/// `roost config KEY VALUE`; a refusal is fine (a clear message, nothing
/// changed) as long as it says why.
fn set(home: &Path, key: &str, value: &str, inputs: &mut Vec<String>) {
    let out = roost_cli(home, &["config", "--", key, value], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        inputs.push(format!("config {key} {value:?}"));
    } else {
        assert!(
            stderr.contains(key),
            "config {key} {value:?} refused without saying why: {stderr}"
        );
        inputs.push(format!(
            "config {key} {value:?} (refused: {})",
            stderr.trim()
        ));
    }
}

fn check_case(case: &Case, got: &Value) {
    let settings = &case.export["settings"];
    let name = settings["name"].as_str().unwrap();
    let bio = settings["bio"].as_str().unwrap();
    let url = settings["url"].as_str().unwrap();
    let language = settings["language"].as_str().filter(|l| !l.is_empty());
    let posts = case.export["posts"].as_array().unwrap();
    let mut newest_first: Vec<&Value> = posts.iter().collect();
    newest_first.sort_by_key(|p| std::cmp::Reverse(p["id"].as_i64()));

    for (format, raw) in [("atom", &case.atom), ("rss", &case.rss)] {
        // The W3C Feed Validator's rule for RSS plain text (and harmless in
        // Atom): `&` and `<` as hexadecimal character references.
        for named in ["&amp;", "&lt;", "&gt;", "&quot;"] {
            assert!(
                !raw.contains(named),
                "/feed.{format} has {named}, not a hexadecimal reference"
            );
        }
        assert_eq!(
            raw.contains("<language>") || raw.contains("xml:lang="),
            language.is_some(),
            "/feed.{format} declares a language exactly when one is set"
        );
        let feed = &got[format];
        let entries = feed["entries"].as_array().unwrap();
        assert_eq!(
            feed["xml_error"],
            Value::Null,
            "/feed.{format} is not well-formed XML"
        );
        assert_eq!(
            feed["bozo"], 0,
            "feedparser finds fault with /feed.{format}: {}",
            feed["bozo_exception"]
        );
        let head = &feed["feed"];
        let parsed = &feed["xml"];
        let url = in_xml(url);
        let description = if format == "rss" && bio.is_empty() {
            name
        } else {
            bio
        };
        assert_eq!(
            parsed["title"],
            in_xml(name),
            "/feed.{format} title, as XML"
        );
        if !description.is_empty() {
            assert_eq!(
                parsed["subtitle"],
                in_xml(description),
                "/feed.{format} description, as XML"
            );
        }
        // feedparser guesses whether RSS text is HTML (and always takes the
        // channel's description for HTML), so it reads back there only what
        // cannot be taken for markup.
        if format == "atom" || !reads_as_html(name) {
            assert_eq!(head["title"], in_xml(name).trim(), "/feed.{format} title");
        }
        let markup_free = !description.contains(['<', '&']);
        if !description.is_empty() && (format == "atom" || markup_free) {
            assert_eq!(
                head["subtitle"],
                in_xml(description).trim(),
                "/feed.{format} description"
            );
        }
        assert_eq!(
            head["language"].as_str(),
            language,
            "/feed.{format} language"
        );
        assert_eq!(head["link"], url, "/feed.{format} home page");
        assert_eq!(
            head["self"],
            format!("{url}feed.{format}"),
            "/feed.{format} self link"
        );
        assert_eq!(entries.len(), newest_first.len(), "/feed.{format} entries");
        // Distinct ids: RFC 4287 asks distinct `updated` only of entries sharing one.
        let ids: std::collections::HashSet<&str> =
            entries.iter().filter_map(|e| e["id"].as_str()).collect();
        assert_eq!(
            ids.len(),
            entries.len(),
            "/feed.{format}: every entry has its own id"
        );
        let parsed_entries = parsed["entries"].as_array().unwrap();
        assert_eq!(
            parsed_entries.len(),
            newest_first.len(),
            "/feed.{format} entries, as XML"
        );
        for ((post, entry), parsed) in newest_first.iter().zip(entries).zip(parsed_entries) {
            let what = format!("/feed.{format} post {}", post["id"]);
            let text = post["text"].as_str().unwrap();
            assert_eq!(entry["id"], post["uid"], "{what}: id");
            assert_eq!(
                entry["link"],
                format!("{url}posts/{}", post["id"]),
                "{what}: link"
            );
            assert_eq!(
                entry["published"],
                unix(&post["published"]),
                "{what}: published"
            );
            if format == "atom" {
                assert_eq!(entry["updated"], unix(&post["updated"]), "{what}: updated");
            }
            let title = in_xml(&excerpt(text));
            if format == "rss" && reads_as_html(&title) {
                assert_eq!(
                    parsed["title"],
                    Value::Null,
                    "{what}: an RSS title that reads as HTML is left out"
                );
                assert_eq!(entry["title"], Value::Null, "{what}: no title");
            } else {
                assert_eq!(parsed["title"], title, "{what}: title, as XML");
                assert_eq!(entry["title"], title.trim(), "{what}: title");
            }
            assert_eq!(
                collapsed(entry["content_text"].as_str().unwrap_or_default()),
                collapsed(&in_xml(text)),
                "{what}: content"
            );
            let reply = match post["reply_to"].as_str() {
                Some(reply) => serde_json::json!({"ref": in_xml(reply), "href": in_xml(reply)}),
                None => Value::Null,
            };
            assert_eq!(parsed["in_reply_to"], reply, "{what}: thr:in-reply-to");
        }
    }

    let json = &got["json"];
    assert_eq!(json["json_error"], Value::Null, "/feed.json is not JSON");
    assert_eq!(json["feed"]["title"], name, "/feed.json title");
    assert_eq!(json["feed"]["link"], url, "/feed.json home page");
    assert_eq!(
        json["feed"]["language"].as_str(),
        language,
        "/feed.json language"
    );
    assert_eq!(
        json["feed"]["self"],
        format!("{url}feed.json"),
        "/feed.json feed_url"
    );
    let items = json["entries"].as_array().unwrap();
    assert_eq!(items.len(), newest_first.len(), "/feed.json items");
    for (post, item) in newest_first.iter().zip(items) {
        let what = format!("/feed.json post {}", post["id"]);
        assert_eq!(item["id"], post["uid"], "{what}: id");
        assert_eq!(item["text"], post["text"], "{what}: content_text");
        assert_eq!(
            collapsed(item["content_text"].as_str().unwrap()),
            collapsed(post["text"].as_str().unwrap()),
            "{what}: content_html"
        );
        assert_eq!(
            item["published"], post["published"],
            "{what}: date_published"
        );
        assert_eq!(item["updated"], post["updated"], "{what}: date_modified");
        assert_eq!(item["in_reply_to"], post["reply_to"], "{what}: in-reply-to");
    }
    // What was typed is what was stored, but for the controls the command
    // line drops (tab and line feed stay).
    for post in posts {
        let text = post["text"].as_str().unwrap();
        assert!(
            !text.chars().any(is_dropped_on_input),
            "stored with a control: {text:?}"
        );
    }
}
