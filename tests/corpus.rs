//! Runs the feed parser over the shared development corpus (`tests/corpus/`).

use std::io::Read;
use std::path::{Path, PathBuf};

use roost::poll::parse::{self, IncomingFeed};

mod common;
use common::corpus_dir;
use common::http::percent_decode;

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn read_bytes(path: &Path) -> Vec<u8> {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("bad gzip in {}: {e}", path.display()));
        return out;
    }
    bytes
}

/// Files in `realworld/` and `jsonfeed/` that are not feeds, and why.
const NOT_FEEDS: &[(&str, &str)] = &[
    (
        "realworld/feed-rs/fixture/xml/xml_sample_1.xml",
        "generic XML (a book catalog)",
    ),
    (
        "realworld/feed-rs/fixture/xml/xml_sample_2.xml",
        "generic XML",
    ),
    (
        "realworld/miniflux/internal/reader/xml/testdata/iso88591.xml",
        "generic XML (a note), for encoding tests",
    ),
    (
        "realworld/miniflux/internal/reader/xml/testdata/iso88591_utf8_mismatch.xml",
        "generic XML (a note), for encoding tests",
    ),
    (
        "realworld/feedjira/spec/sample_feeds/AmazonWebServicesBlogFirstEntryContent.xml",
        "an entry's content, not a feed",
    ),
    (
        "realworld/feedjira/spec/sample_feeds/HREFConsideredHarmfulFirstEntry.xml",
        "an entry's content, not a feed",
    ),
    (
        "realworld/feedjira/spec/sample_feeds/PaulDixExplainsNothingFirstEntryContent.xml",
        "an entry's content, not a feed",
    ),
    (
        "realworld/feedjira/spec/sample_feeds/TechCrunchFirstEntry.xml",
        "an entry's content, not a feed",
    ),
    (
        "realworld/feedjira/spec/sample_feeds/TechCrunchFirstEntryDescription.xml",
        "an entry's content, not a feed",
    ),
    (
        "realworld/feedjira/spec/sample_feeds/TenderLovemakingFirstEntry.xml",
        "an entry's content, not a feed",
    ),
    (
        "realworld/rss-parser/test/input/unrecognized.rss",
        "an HTML \"Document Moved\" page",
    ),
    (
        "realworld/rsparser/Resources/ScriptingNews.json",
        "\"RSS-in-JSON\", not JSON Feed",
    ),
    (
        "jsonfeed/gofeed/testdata/parser/json/invalid/invalid.json",
        "deliberately invalid JSON",
    ),
];

/// Not parser input at all: licences, READMEs, other parsers' expected output.
fn is_not_input(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.starts_with("LICENSE")
        || name.ends_with(".md")
        || name.ends_with(".markdown")
        || name.ends_with(".serde.json")
        || name.ends_with("_expected.json")
        || rel.contains("rss-parser/test/output/")
}

/// Files of the corpus known not to meet their expectation today, one path
/// (relative to the corpus) per line, `#` comments allowed. A file that fails
/// and is not listed fails the test by name (a regression); a listed file that
/// now passes fails it too, so the list stays exact and every fix shows.
const KNOWN_FAILURES: &str = include_str!("corpus_known_failures.txt");

/// Compares one test's failing files with the known list, restricted to the
/// files that test looked at, and names every difference.
fn check_known_failures(
    test: &str,
    checked: &std::collections::BTreeSet<String>,
    failed: &std::collections::BTreeSet<String>,
) {
    let known: std::collections::BTreeSet<String> = KNOWN_FAILURES
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty() && checked.contains(*l))
        .map(str::to_owned)
        .collect();
    let regressed: Vec<_> = failed.difference(&known).collect();
    let fixed: Vec<_> = known.difference(failed).collect();
    assert!(
        regressed.is_empty() && fixed.is_empty(),
        "{test}: files that now fail (regressions): {regressed:?}; \
         files that now pass (remove them from tests/corpus_known_failures.txt): {fixed:?}"
    );
}

#[test]
fn realworld_sweep() {
    let root = corpus_dir();
    let started = std::time::Instant::now();
    let mut files = Vec::new();
    walk(&root.join("realworld"), &mut files);
    walk(&root.join("jsonfeed"), &mut files);
    let (mut candidates, mut parsed, mut with_entries, mut entries, mut bytes_total) =
        (0, 0, 0, 0, 0);
    let mut not_feeds = 0;
    let mut failures = Vec::new();
    let mut empty = Vec::new();
    let (mut checked, mut failed) = (Default::default(), Default::default());
    for path in &files {
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if is_not_input(&rel) {
            continue;
        }
        insert(&mut checked, &rel);
        let bytes = read_bytes(path);
        bytes_total += bytes.len();
        let url = format!("https://corpus.example/{rel}");
        let result = parse::parse(&bytes, None, &url);
        let html_or_opml = rel.ends_with(".html") || rel.ends_with(".opml");
        if html_or_opml || NOT_FEEDS.iter().any(|(f, _)| *f == rel) {
            not_feeds += 1;
            assert!(result.is_err(), "{rel} is not a feed but parsed as one");
            if rel.ends_with(".html") {
                assert!(
                    parse::looks_like_html(&bytes),
                    "{rel} should look like HTML"
                );
                assert_eq!(
                    result.unwrap_err().to_string(),
                    "not a feed: looks like an HTML page",
                    "{rel}"
                );
            }
            continue;
        }
        candidates += 1;
        match result {
            Ok(feed) => {
                parsed += 1;
                entries += feed.entries.len();
                if feed.entries.is_empty() {
                    insert(&mut failed, &rel);
                    empty.push(rel.clone());
                } else {
                    with_entries += 1;
                }
                for e in &feed.entries {
                    assert!(!e.identity.is_empty(), "{rel}: an entry without identity");
                }
            }
            Err(e) => {
                insert(&mut failed, &rel);
                failures.push(format!("{rel}: {e}"))
            }
        }
    }
    println!(
        "sweep: {candidates} feeds, {parsed} parse ({with_entries} with entries, {entries} entries in all); {not_feeds} non-feeds refused; {:.1} MB in {:.2?}",
        bytes_total as f64 / 1e6,
        started.elapsed()
    );
    println!("feeds without entries: {empty:?}");
    for f in &failures {
        println!("  FAIL {f}");
    }
    assert!(
        candidates >= 230,
        "only {candidates} feeds found in the corpus"
    );
    assert!(
        parsed * 100 >= candidates * 99,
        "only {parsed} of {candidates} feeds parse"
    );
    assert!(
        with_entries * 100 >= candidates * 95,
        "only {with_entries} of {candidates} feeds have entries"
    );
    check_known_failures("realworld sweep", &checked, &failed);
}

fn insert(set: &mut std::collections::BTreeSet<String>, rel: &str) {
    set.insert(rel.to_owned());
}

/// Autodiscovery on the corpus's HTML pages.
#[test]
fn discovery_on_corpus_pages() {
    let root = corpus_dir().join("realworld");
    let page = |rel: &str, url: &str| parse::discover_feeds(&read_bytes(&root.join(rel)), url);
    assert_eq!(
        page(
            "rsparser/Resources/DaringFireball.html",
            "https://daringfireball.net/"
        ),
        ["https://daringfireball.net/feeds/main"]
    );
    assert_eq!(
        page(
            "rsparser/Resources/coco.html",
            "https://www.theatlantic.com/"
        ),
        [
            "https://www.theatlantic.com/feed/all/",
            "https://www.theatlantic.com/feed/best-of/"
        ]
    );
    assert_eq!(
        page(
            "rsparser/Resources/YouTubeTheVolvoRocks.html",
            "https://www.youtube.com/user/TheVolvorocks"
        ),
        ["https://www.youtube.com/feeds/videos.xml?channel_id=UCct7QF2jcWRY6dhXWMSq9LQ"]
    );
    assert_eq!(
        page("rsparser/Resources/furbo.html", "https://furbo.org/"),
        ["http://furbo.org/feed/"]
    );
    assert!(
        page(
            "node-feedparser/test/feeds/notafeed.html",
            "https://example.com/"
        )
        .is_empty()
    );
}

/// A second opinion from other parsers' expected output (their models, translated).
#[test]
fn spot_checks_against_other_parsers() {
    let root = corpus_dir();
    let mut compared = 0;
    let mut disagreements = Vec::new();
    let mut files = Vec::new();
    walk(&root.join("realworld/feed-rs/fixture"), &mut files);
    for expected in files
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".serde.json"))
    {
        let name = expected.to_string_lossy().replace(".serde.json", "");
        let input = [".xml", ".json"]
            .iter()
            .map(|ext| PathBuf::from(format!("{name}{ext}")))
            .find(|p| p.is_file());
        let Some(input) = input else { continue };
        let theirs: serde_json::Value =
            serde_json::from_slice(&read_bytes(expected)).expect("serde.json");
        let Ok(ours) = parse::parse(&read_bytes(&input), None, "https://corpus.example/feed")
        else {
            disagreements.push(format!("{}: we fail to parse it", input.display()));
            continue;
        };
        let their_entries = theirs["entries"].as_array().cloned().unwrap_or_default();
        compared += 1;
        // feed-rs drops RSS 1.0 items without a link; we keep them.
        if their_entries.len() != ours.entries.len() && !name.contains("rss1") {
            disagreements.push(format!(
                "{}: {} entries, feed-rs has {}",
                input.display(),
                ours.entries.len(),
                their_entries.len()
            ));
        }
        for (theirs, ours) in their_entries.iter().zip(&ours.entries) {
            let their_title = theirs["title"]["content"]
                .as_str()
                .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "));
            let plain = theirs["title"]["content_type"].as_str() == Some("text/plain");
            if plain
                && their_title
                    .as_deref()
                    .is_some_and(|t| !t.contains('<') && !t.contains('&'))
                && their_title != ours.title
            {
                disagreements.push(format!(
                    "{}: title {:?}, feed-rs {:?}",
                    input.display(),
                    ours.title,
                    their_title
                ));
            }
        }
    }
    // gofeed's JSON Feed fixtures.
    let dir = root.join("jsonfeed/gofeed/testdata/parser/json");
    for name in [
        "version_json_10",
        "version_json_11",
        "version_json_11_deprecated_author",
    ] {
        let theirs: serde_json::Value =
            serde_json::from_slice(&read_bytes(&dir.join(format!("{name}_expected.json"))))
                .expect("expected json");
        let ours = parse::parse(
            &read_bytes(&dir.join(format!("{name}.json"))),
            Some("application/feed+json"),
            "https://corpus.example/feed.json",
        )
        .expect("gofeed JSON Feed fixture parses");
        compared += 1;
        assert_eq!(ours.title.as_deref(), theirs["title"].as_str(), "{name}");
        for (t, o) in theirs["items"]
            .as_array()
            .expect("items")
            .iter()
            .zip(&ours.entries)
        {
            assert_eq!(Some(o.identity.as_str()), t["id"].as_str(), "{name}");
            assert_eq!(o.title.as_deref(), t["title"].as_str(), "{name}");
            assert_eq!(o.link.as_deref(), t["url"].as_str(), "{name}");
            assert_eq!(
                o.content_html.as_deref(),
                t["content_html"].as_str(),
                "{name}"
            );
            let published = t["date_published"]
                .as_str()
                .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
                .map(|d| d.timestamp());
            assert_eq!(o.published, published, "{name}");
        }
    }
    println!(
        "spot checks: {compared} files compared, {} disagreements",
        disagreements.len()
    );
    for d in &disagreements {
        println!("  {d}");
    }
    assert!(
        disagreements.len() * 10 <= compared,
        "too many disagreements with feed-rs's expected output"
    );
}

// ---------------------------------------------------------------------------
// feedparser's cases: the `Expect:` expressions, translated to our model.

/// One feedparser case file, with its header comment read.
struct Case {
    rel: String,
    expect: String,
    headers: Vec<(String, String)>,
}

/// The header comment as text: the upstream harness decoded UTF-16/32 (found
/// from the first bytes) before looking; everything else is read as Latin-1.
fn header_text(bytes: &[u8]) -> String {
    let utf16 = |be: bool, b: &[u8]| {
        let units: Vec<u16> = b
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| {
                if be {
                    u16::from_be_bytes([c[0], c[1]])
                } else {
                    u16::from_le_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    let utf32 = |be: bool, b: &[u8]| {
        b.chunks(4)
            .filter(|c| c.len() == 4)
            .map(|c| {
                if be {
                    u32::from_be_bytes([c[0], c[1], c[2], c[3]])
                } else {
                    u32::from_le_bytes([c[0], c[1], c[2], c[3]])
                }
            })
            .map(|u| char::from_u32(u).unwrap_or('\u{fffd}'))
            .collect::<String>()
    };
    match bytes {
        [0, 0, 0xFE, 0xFF, rest @ ..] => utf32(true, rest),
        [0xFF, 0xFE, 0, 0, rest @ ..] => utf32(false, rest),
        [0xFE, 0xFF, rest @ ..] => utf16(true, rest),
        [0xFF, 0xFE, rest @ ..] => utf16(false, rest),
        [0, 0, 0, _, ..] => utf32(true, bytes),
        [_, 0, 0, 0, ..] => utf32(false, bytes),
        [0, _, 0, _, ..] => utf16(true, bytes),
        [_, 0, _, 0, ..] => utf16(false, bytes),
        _ => bytes.iter().map(|&b| b as char).collect(),
    }
}

fn read_case(root: &Path, path: &Path) -> Option<Case> {
    let text = header_text(&std::fs::read(path).ok()?);
    let d = text.find("Description:")?;
    let e = d + text[d..].find("Expect:")?;
    let end = e + text[e..].find("-->")?;
    let expect = text[e + "Expect:".len()..end].trim().to_string();
    let headers = text[..end]
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Header:"))
        .filter_map(|h| h.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rel = path
        .strip_prefix(root)
        .ok()?
        .to_string_lossy()
        .replace('\\', "/");
    Some(Case {
        rel,
        expect,
        headers,
    })
}

// --- a small evaluator for the Python expressions ---

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Str(String),
    Int(i64),
    Op(&'static str),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    const OPS: [&str; 16] = [
        "==", "!=", "<=", ">=", "<", ">", "(", ")", "[", "]", "{", "}", ",", ":", ".", "+",
    ];
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '\'' || ch == '"' {
            let q = ch;
            // Triple-quoted strings end at the same three quotes.
            let triple = c.get(i..i + 3).is_some_and(|t| t.iter().all(|x| *x == q));
            i += if triple { 3 } else { 1 };
            let at_end = |i: usize| {
                if triple {
                    c.get(i..i + 3).is_some_and(|t| t.iter().all(|x| *x == q))
                } else {
                    c[i] == q
                }
            };
            let mut v = String::new();
            while i < c.len() && !at_end(i) {
                if c[i] == '\\' && i + 1 < c.len() {
                    i += 1;
                    let hex = |i: usize, n: usize| -> Result<char, String> {
                        let h: String = c.get(i..i + n).ok_or("short escape")?.iter().collect();
                        u32::from_str_radix(&h, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or(format!("bad escape {h}"))
                    };
                    match c[i] {
                        'x' => {
                            v.push(hex(i + 1, 2)?);
                            i += 2;
                        }
                        'u' => {
                            v.push(hex(i + 1, 4)?);
                            i += 4;
                        }
                        'U' => {
                            v.push(hex(i + 1, 8)?);
                            i += 8;
                        }
                        'n' => v.push('\n'),
                        't' => v.push('\t'),
                        'r' => v.push('\r'),
                        other => v.push(other),
                    }
                } else {
                    v.push(c[i]);
                }
                i += 1;
            }
            i += if triple { 3 } else { 1 };
            // Adjacent literals concatenate.
            if let Some(Tok::Str(prev)) = out.last_mut() {
                prev.push_str(&v);
            } else {
                out.push(Tok::Str(v));
            }
        } else if ch.is_ascii_digit() {
            let start = i;
            while i < c.len() && c[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Tok::Int(
                c[start..i]
                    .iter()
                    .collect::<String>()
                    .parse()
                    .map_err(|e| format!("{e}"))?,
            ));
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Name(c[start..i].iter().collect()));
        } else if let Some(op) = OPS
            .iter()
            .find(|op| c[i..].iter().take(op.len()).collect::<String>() == **op)
        {
            out.push(Tok::Op(op));
            i += op.len();
        } else {
            return Err(format!("unexpected {ch:?}"));
        }
    }
    Ok(out)
}

#[derive(Debug, Clone)]
enum Ex {
    Name(String),
    Str(String),
    Int(i64),
    Tuple(Vec<Ex>),
    Dict(Vec<(Ex, Ex)>),
    Index(Box<Ex>, Box<Ex>),
    Call(Box<Ex>, Vec<Ex>),
    Not(Box<Ex>),
    And(Vec<Ex>),
    Or(Vec<Ex>),
    Cmp(Box<Ex>, Vec<(String, Ex)>),
    Concat(Vec<Ex>),
}

struct P {
    t: Vec<Tok>,
    i: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }
    fn is_name(&self, n: &str) -> bool {
        matches!(self.peek(), Some(Tok::Name(x)) if x == n)
    }
    fn expect_op(&mut self, op: &str) -> Result<(), String> {
        if self.is_op(op) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {op} at token {}", self.i))
        }
    }
    fn or(&mut self) -> Result<Ex, String> {
        let mut v = vec![self.and()?];
        while self.is_name("or") {
            self.i += 1;
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap()
        } else {
            Ex::Or(v)
        })
    }
    fn and(&mut self) -> Result<Ex, String> {
        let mut v = vec![self.not()?];
        while self.is_name("and") {
            self.i += 1;
            v.push(self.not()?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap()
        } else {
            Ex::And(v)
        })
    }
    fn not(&mut self) -> Result<Ex, String> {
        if self.is_name("not") {
            self.i += 1;
            return Ok(Ex::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }
    fn cmp(&mut self) -> Result<Ex, String> {
        let first = self.sum()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek() {
                Some(Tok::Op(o)) if ["==", "!=", "<", ">", "<=", ">="].contains(o) => o.to_string(),
                Some(Tok::Name(n)) if n == "in" => "in".into(),
                Some(Tok::Name(n)) if n == "is" => "is".into(),
                Some(Tok::Name(n))
                    if n == "not"
                        && matches!(self.t.get(self.i + 1), Some(Tok::Name(x)) if x == "in") =>
                {
                    self.i += 1;
                    "not in".into()
                }
                _ => break,
            };
            self.i += 1;
            rest.push((op, self.sum()?));
        }
        Ok(if rest.is_empty() {
            first
        } else {
            Ex::Cmp(Box::new(first), rest)
        })
    }
    fn sum(&mut self) -> Result<Ex, String> {
        let mut parts = vec![self.postfix()?];
        while self.is_op("+") {
            self.i += 1;
            parts.push(self.postfix()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap()
        } else {
            Ex::Concat(parts)
        })
    }
    fn postfix(&mut self) -> Result<Ex, String> {
        let mut e = self.atom()?;
        loop {
            if self.is_op("[") {
                self.i += 1;
                let idx = self.or()?;
                self.expect_op("]")?;
                e = Ex::Index(Box::new(e), Box::new(idx));
            } else if self.is_op(".") {
                self.i += 1;
                match self.peek().cloned() {
                    Some(Tok::Name(n)) => {
                        self.i += 1;
                        e = Ex::Index(Box::new(e), Box::new(Ex::Str(n)));
                    }
                    _ => return Err("expected a name after '.'".into()),
                }
            } else if self.is_op("(") {
                self.i += 1;
                let mut args = Vec::new();
                while !self.is_op(")") {
                    args.push(self.or()?);
                    if self.is_op(",") {
                        self.i += 1;
                    }
                }
                self.i += 1;
                e = Ex::Call(Box::new(e), args);
            } else {
                return Ok(e);
            }
        }
    }
    fn atom(&mut self) -> Result<Ex, String> {
        let tok = self.peek().cloned().ok_or("unexpected end")?;
        self.i += 1;
        match tok {
            Tok::Name(n) => Ok(Ex::Name(n)),
            Tok::Str(s) => Ok(Ex::Str(s)),
            Tok::Int(n) => Ok(Ex::Int(n)),
            Tok::Op("(") => {
                let mut items = Vec::new();
                let mut comma = false;
                while !self.is_op(")") {
                    items.push(self.or()?);
                    if self.is_op(",") {
                        comma = true;
                        self.i += 1;
                    }
                }
                self.i += 1;
                Ok(if items.len() == 1 && !comma {
                    items.pop().unwrap()
                } else {
                    Ex::Tuple(items)
                })
            }
            Tok::Op("{") => {
                let mut items = Vec::new();
                while !self.is_op("}") {
                    let k = self.or()?;
                    self.expect_op(":")?;
                    let v = self.or()?;
                    items.push((k, v));
                    if self.is_op(",") {
                        self.i += 1;
                    }
                }
                self.i += 1;
                Ok(Ex::Dict(items))
            }
            t => Err(format!("unexpected token {t:?}")),
        }
    }
}

fn parse_expr(s: &str) -> Result<Ex, String> {
    let mut p = P {
        t: tokenize(s)?,
        i: 0,
    };
    let e = p.or()?;
    if p.i != p.t.len() {
        return Err(format!("trailing tokens in {s:?}"));
    }
    Ok(e)
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Idx(i64),
}

#[derive(Debug, Clone)]
enum V {
    /// Something our model does not carry (with the reason).
    Oos(String),
    Bool(bool),
    Int(i64),
    Str(String),
    Tuple(Vec<V>),
    Dict(Vec<(String, V)>),
    Nothing,
    Path(Vec<Seg>),
}

/// How a field of ours compares with feedparser's value.
enum Field {
    /// Plain text (our titles): feedparser's value may be HTML.
    Title(Option<String>),
    /// HTML (ours raw); feedparser's is resolved and sanitized, or plain text.
    Html(Option<String>, String),
    Url(Option<String>),
    Exact(Option<String>),
    Author(Option<String>),
    Date(Option<i64>),
    /// Any of these.
    Contains(Vec<String>),
    Enclosure(Option<parse::Enclosure>),
    Count(usize),
    /// feedparser's `version` ("rss20", "atom10"...), as far as our format tells.
    Format(Option<parse::FeedFormat>),
    /// Not in our model.
    OutOfScope,
}

struct Eval<'a> {
    feed: Option<&'a IncomingFeed>,
    sanitize_case: bool,
}

impl Eval<'_> {
    fn eval(&self, e: &Ex) -> V {
        match e {
            Ex::Name(n) => match n.as_str() {
                "entries" | "feed" | "version" => V::Path(vec![Seg::Key(n.clone())]),
                "None" => V::Nothing,
                "True" => V::Bool(true),
                "False" => V::Bool(false),
                other => V::Oos(format!("`{other}`")),
            },
            Ex::Str(s) => V::Str(s.clone()),
            Ex::Concat(parts) => {
                let mut out = String::new();
                for p in parts {
                    match self.eval(p) {
                        V::Str(s) => out.push_str(&s),
                        _ => return V::Oos("+".into()),
                    }
                }
                V::Str(out)
            }
            Ex::Int(n) => V::Int(*n),
            Ex::Tuple(items) => V::Tuple(items.iter().map(|i| self.eval(i)).collect()),
            Ex::Dict(items) => V::Dict(
                items
                    .iter()
                    .map(|(k, v)| match self.eval(k) {
                        V::Str(k) => (k, self.eval(v)),
                        _ => (String::new(), V::Oos("dict key".into())),
                    })
                    .collect(),
            ),
            Ex::Index(base, idx) => match (self.eval(base), self.eval(idx)) {
                (V::Path(mut p), V::Str(k)) => {
                    p.push(Seg::Key(k));
                    V::Path(p)
                }
                (V::Path(mut p), V::Int(i)) => {
                    p.push(Seg::Idx(i));
                    V::Path(p)
                }
                (V::Oos(r), _) | (_, V::Oos(r)) => V::Oos(r),
                _ => V::Oos("index".into()),
            },
            Ex::Call(f, args) => {
                let name = match &**f {
                    Ex::Name(n) => n.as_str(),
                    _ => return V::Oos("call".into()),
                };
                let arg = args.first().map(|a| self.eval(a));
                match (name, arg) {
                    ("len", Some(V::Path(p))) => match self.field(&p) {
                        Field::Count(n) => V::Int(n as i64),
                        _ => V::Oos(format!("len({})", show(&p))),
                    },
                    ("ord", Some(V::Path(p))) => match self.field(&p) {
                        Field::Html(Some(h), _) => {
                            let t = html_text(&h);
                            let mut cs = t.chars();
                            match (cs.next(), cs.next()) {
                                (Some(c), None) => V::Int(c as i64),
                                _ => V::Int(-1),
                            }
                        }
                        Field::OutOfScope => V::Oos("ord".into()),
                        _ => V::Int(-1),
                    },
                    (_, Some(V::Oos(r))) => V::Oos(r),
                    (other, _) => V::Oos(format!("{other}()")),
                }
            }
            Ex::Not(inner) => match self.eval(inner) {
                V::Bool(b) => V::Bool(!b),
                V::Path(p) => match self.field(&p) {
                    Field::OutOfScope => V::Oos(self.why(&p)),
                    f => V::Bool(!f.present()),
                },
                V::Oos(r) => V::Oos(r),
                _ => V::Oos("not".into()),
            },
            Ex::And(items) => {
                let mut any = false;
                let mut all = true;
                let mut reason = String::new();
                for i in items {
                    match self.truth(i) {
                        Ok(b) => {
                            any = true;
                            all &= b;
                        }
                        Err(r) => reason = r,
                    }
                }
                if any { V::Bool(all) } else { V::Oos(reason) }
            }
            Ex::Or(items) => {
                let mut out = false;
                for i in items {
                    match self.truth(i) {
                        Ok(b) => out |= b,
                        Err(r) => return V::Oos(r),
                    }
                }
                V::Bool(out)
            }
            Ex::Cmp(first, rest) => {
                let mut left = self.eval(first);
                let mut all = true;
                for (op, right) in rest {
                    let right = self.eval(right);
                    match self.compare(&left, op, &right) {
                        Ok(b) => all &= b,
                        Err(r) => return V::Oos(r),
                    }
                    left = right;
                }
                V::Bool(all)
            }
        }
    }

    /// Why a path is out of scope (sanitize cases test the sanitizer, not us).
    fn why(&self, p: &[Seg]) -> String {
        let path = show(p);
        let html = ["description", "summary", "content"]
            .iter()
            .any(|k| path.contains(k));
        if self.sanitize_case && html {
            "sanitized HTML (the sanitizer's job)".into()
        } else {
            path
        }
    }

    /// A conjunct's truth, or why it is out of scope.
    fn truth(&self, e: &Ex) -> Result<bool, String> {
        match self.eval(e) {
            V::Bool(b) => Ok(b),
            V::Oos(r) => Err(r),
            V::Path(p) => match self.field(&p) {
                Field::OutOfScope => Err(self.why(&p)),
                f => Ok(f.present()),
            },
            _ => Err("constant".into()),
        }
    }

    fn compare(&self, l: &V, op: &str, r: &V) -> Result<bool, String> {
        let (path, lit) = match (l, r) {
            (V::Oos(x), _) | (_, V::Oos(x)) => return Err(x.clone()),
            (V::Path(a), V::Path(b)) => {
                let (fa, fb) = (self.field(a), self.field(b));
                if matches!(fa, Field::OutOfScope) || matches!(fb, Field::OutOfScope) {
                    return Err(self.why(a));
                }
                let eq = fa.text() == fb.text() && fa.text().is_some();
                return Ok(if op == "!=" { !eq } else { eq });
            }
            (V::Path(p), lit) => (p, lit),
            (lit, V::Path(p)) if op == "==" || op == "!=" => (p, lit),
            (V::Int(a), V::Int(b)) => {
                return Ok(match op {
                    "==" => a == b,
                    "!=" => a != b,
                    "<" => a < b,
                    ">" => a > b,
                    "<=" => a <= b,
                    ">=" => a >= b,
                    _ => return Err(op.into()),
                });
            }
            (V::Str(a), V::Str(b)) => return Ok((a == b) == (op == "==")),
            _ => return Err(format!("compare {op}")),
        };
        let f = self.field(path);
        if matches!(f, Field::OutOfScope) {
            return Err(self.why(path));
        }
        let eq = match (op, lit) {
            ("==" | "!=", V::Nothing) => !f.present(),
            ("==" | "!=", lit) => f.matches(lit),
            _ => return Err(format!("compare {op}")),
        };
        Ok(if op == "!=" { !eq } else { eq })
    }

    /// Maps a feedparser path onto our model.
    fn field(&self, p: &[Seg]) -> Field {
        let key = |i: usize| match p.get(i) {
            Some(Seg::Key(k)) => Some(k.as_str()),
            _ => None,
        };
        let idx = |i: usize| match p.get(i) {
            Some(Seg::Idx(n)) => Some(*n),
            _ => None,
        };
        // A failed parse or a missing entry still maps the path (so the scope
        // is decided by the path alone), onto empty values.
        let empty_feed;
        let feed = match self.feed {
            Some(f) => f,
            None => {
                empty_feed = IncomingFeed {
                    title: None,
                    home_url: None,
                    entries: Vec::new(),
                    ttl_minutes: None,
                    update_period_minutes: None,
                    format: parse::FeedFormat::Rss,
                    encoding: "UTF-8",
                    notes: Vec::new(),
                    capped_from: None,
                    skipped_without_id: 0,
                    hub: None,
                    self_url: None,
                };
                &empty_feed
            }
        };
        let empty_entry = parse::IncomingEntry {
            identity: String::new(),
            link: None,
            title: None,
            content_html: None,
            summary_html: None,
            author: None,
            published: None,
            updated: None,
            in_reply_to: Vec::new(),
            enclosures: Vec::new(),
            base_url: String::new(),
        };
        match key(0) {
            Some("feed") => match (key(1), key(2)) {
                (Some("title"), None) | (Some("title_detail"), Some("value")) => {
                    Field::Title(feed.title.clone())
                }
                (Some("link"), None) => Field::Url(feed.home_url.clone()),
                _ => Field::OutOfScope,
            },
            Some("entries") if p.len() == 1 => Field::Count(feed.entries.len()),
            Some("version") if p.len() == 1 => Field::Format(self.feed.map(|f| f.format)),
            Some("entries") => {
                let Some(i) = idx(1) else {
                    return Field::OutOfScope;
                };
                let e = feed.entries.get(i as usize).unwrap_or(&empty_entry);
                let html = |v: &Option<String>| {
                    if self.sanitize_case {
                        Field::OutOfScope
                    } else {
                        Field::Html(v.clone(), e.base_url.clone())
                    }
                };
                match (key(2), p.get(3), key(4), p.len()) {
                    (Some("title"), None, _, 3) => Field::Title(e.title.clone()),
                    (Some("title_detail"), Some(Seg::Key(k)), _, 4) if k == "value" => {
                        Field::Title(e.title.clone())
                    }
                    (Some("link"), None, _, 3) => Field::Url(e.link.clone()),
                    (Some("id" | "guid"), None, _, 3) => {
                        Field::Exact(Some(e.identity.clone()).filter(|i| !i.is_empty()))
                    }
                    (Some("content"), Some(Seg::Idx(0)), Some("value"), 5) => html(&e.content_html),
                    (Some("content"), Some(Seg::Idx(0)), Some("base"), 5) => {
                        Field::Url(Some(e.base_url.clone()))
                    }
                    (Some("summary" | "description"), None, _, 3) => {
                        html(&e.summary_html.clone().or(e.content_html.clone()))
                    }
                    (Some("summary_detail"), Some(Seg::Key(k)), _, 4) if k == "value" => {
                        html(&e.summary_html.clone().or(e.content_html.clone()))
                    }
                    (Some("summary_detail"), Some(Seg::Key(k)), _, 4) if k == "base" => {
                        Field::Url(Some(e.base_url.clone()))
                    }
                    (Some("author"), None, _, 3) => Field::Author(e.author.clone()),
                    (Some("author_detail"), Some(Seg::Key(k)), _, 4) if k == "name" => {
                        Field::Exact(e.author.clone())
                    }
                    (Some("authors"), Some(Seg::Idx(0)), Some("name"), 5) => {
                        Field::Exact(e.author.clone())
                    }
                    (Some("published_parsed" | "created_parsed" | "issued_parsed"), None, _, 3) => {
                        Field::Date(e.published.or(e.updated))
                    }
                    (Some("updated_parsed" | "modified_parsed"), None, _, 3) => {
                        Field::Date(e.updated.or(e.published))
                    }
                    (Some("enclosures"), Some(Seg::Idx(n)), k, len) => {
                        let enc = e.enclosures.get(*n as usize).cloned();
                        match (k, len) {
                            (None, 4) => Field::Enclosure(enc),
                            (Some("href" | "url"), 5) => Field::Url(enc.map(|x| x.url)),
                            (Some("type"), 5) => Field::Exact(enc.and_then(|x| x.mime_type)),
                            (Some("length"), 5) => {
                                Field::Exact(enc.and_then(|x| x.length).map(|l| l.to_string()))
                            }
                            _ => Field::OutOfScope,
                        }
                    }
                    (Some("thr_in-reply-to"), Some(Seg::Key(k)), _, 4)
                        if k == "href" || k == "ref" =>
                    {
                        Field::Contains(e.in_reply_to.clone())
                    }
                    _ => Field::OutOfScope,
                }
            }
            _ => Field::OutOfScope,
        }
    }
}

fn show(p: &[Seg]) -> String {
    p.iter()
        .map(|s| match s {
            Seg::Key(k) => format!("[{k}]"),
            Seg::Idx(i) => format!("[{i}]"),
        })
        .collect()
}

impl Field {
    fn present(&self) -> bool {
        match self {
            Field::Title(v)
            | Field::Html(v, _)
            | Field::Url(v)
            | Field::Exact(v)
            | Field::Author(v) => v.is_some(),
            Field::Date(d) => d.is_some(),
            Field::Contains(v) => !v.is_empty(),
            Field::Enclosure(e) => e.is_some(),
            Field::Count(n) => *n > 0,
            Field::Format(f) => f.is_some(),
            Field::OutOfScope => false,
        }
    }

    fn text(&self) -> Option<String> {
        match self {
            Field::Title(v)
            | Field::Html(v, _)
            | Field::Url(v)
            | Field::Exact(v)
            | Field::Author(v) => v.clone(),
            _ => None,
        }
    }

    fn matches(&self, lit: &V) -> bool {
        match (self, lit) {
            (Field::Title(Some(t)), V::Str(x)) => t == x || *t == html_text(x),
            (Field::Title(None), V::Str(x)) => html_text(x).is_empty(),
            (Field::Html(Some(h), base), V::Str(x)) => {
                let want = norm_html(x);
                let candidates = [h.clone(), resolve_relative(h, base), unescape_basic(h)];
                candidates.iter().any(|c| norm_html(c) == want)
                    || (!x.contains('<') && !x.contains('&') && html_text(h) == x.trim())
            }
            (Field::Url(Some(u)), V::Str(x)) => {
                u == x || url::Url::parse(x).is_ok_and(|p| p.as_str() == u)
            }
            (Field::Exact(Some(v)), V::Str(x)) => v == x,
            (Field::Author(Some(a)), V::Str(x)) => {
                a == x
                    || x.strip_suffix(')')
                        .and_then(|x| x.rsplit_once(" ("))
                        .is_some_and(|(name, email)| name == a && email.contains('@'))
            }
            (Field::Date(Some(ts)), V::Tuple(items)) => {
                let Some(dt) = chrono::DateTime::from_timestamp(*ts, 0) else {
                    return false;
                };
                use chrono::{Datelike, Timelike};
                let ours = [
                    dt.year() as i64,
                    dt.month() as i64,
                    dt.day() as i64,
                    dt.hour() as i64,
                    dt.minute() as i64,
                    dt.second() as i64,
                ];
                items.len() >= 6
                    && items
                        .iter()
                        .take(6)
                        .zip(ours)
                        .all(|(v, o)| matches!(v, V::Int(n) if *n == o))
            }
            (Field::Contains(v), V::Str(x)) => v.iter().any(|i| i == x),
            (Field::Enclosure(Some(e)), V::Dict(kv)) => {
                kv.iter().all(|(k, v)| match (k.as_str(), v) {
                    ("href" | "url", V::Str(x)) => {
                        Field::Url(Some(e.url.clone())).matches(&V::Str(x.clone()))
                    }
                    ("type", V::Str(x)) => e.mime_type.as_deref() == Some(x.as_str()),
                    ("length", V::Str(x)) => {
                        e.length.map(|l| l.to_string()).as_deref() == Some(x.as_str())
                    }
                    _ => false,
                })
            }
            (Field::Count(n), V::Int(m)) => *n as i64 == *m,
            (Field::Format(Some(f)), V::Str(v)) => {
                use parse::FeedFormat::*;
                let want = match v.as_str() {
                    "rss090" | "rss10" => Rdf,
                    v if v.starts_with("rss") => Rss,
                    v if v.starts_with("atom") => Atom,
                    v if v.starts_with("json") => JsonFeed,
                    _ => return false,
                };
                *f == want
            }
            _ => false,
        }
    }
}

/// HTML to text for comparing titles: tags dropped, a few entities decoded, whitespace collapsed.
fn html_text(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '<' if chars
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_alphabetic() || *n == '/' || *n == '!') =>
            {
                in_tag = true
            }
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape_basic(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Numeric character references and the XML entities decoded (numeric
/// 0x80..0x9F read as windows-1252, as browsers do).
fn unescape_basic(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(a) = rest.find('&') {
        out.push_str(&rest[..a]);
        rest = &rest[a..];
        let end = rest.find(';').filter(|e| *e < 12);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                n if n.starts_with("#x") || n.starts_with("#X") => {
                    u32::from_str_radix(&n[2..], 16).ok().map(cp1252)
                }
                n if n.starts_with('#') => n[1..].parse::<u32>().ok().map(cp1252),
                _ => None,
            };
            c.map(|c| (c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn cp1252(n: u32) -> char {
    if (0x80..0xA0).contains(&n) {
        let b = [n as u8];
        return encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(&b)
            .0
            .chars()
            .next()
            .unwrap_or('\u{fffd}');
    }
    char::from_u32(n).unwrap_or('\u{fffd}')
}

/// Markup compared semantically: numeric references decoded (so `&#x2019;`,
/// `&#146;` and `’` agree), percent-escapes decoded (IRIs), attributes
/// sorted, `<br/>` as `<br />`, and one wrapping `<div>` removed.
fn norm_html(s: &str) -> String {
    let s = sort_attributes(&percent_decode(&decode_numeric(s.trim())));
    let s = s.trim();
    match s
        .strip_prefix("<div>")
        .and_then(|r| r.strip_suffix("</div>"))
    {
        Some(inner) if !inner.contains("<div") => inner.trim().to_string(),
        _ => s.to_string(),
    }
}

/// Each start tag rewritten with its attributes in name order, double-quoted.
fn sort_attributes(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        rest = &rest[lt..];
        let Some(gt) = rest.find('>') else { break };
        let tag = &rest[1..gt];
        if !tag.starts_with(|c: char| c.is_ascii_alphabetic()) {
            out.push_str(&rest[..=gt]);
            rest = &rest[gt + 1..];
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let (name, mut attrs) = match tag.find(char::is_whitespace) {
            Some(sp) => (&tag[..sp], split_attributes(&tag[sp..])),
            None => (tag, Vec::new()),
        };
        attrs.sort();
        out.push('<');
        out.push_str(name);
        for (k, v) in attrs {
            out.push_str(&format!(" {k}=\"{v}\""));
        }
        out.push_str(if self_closing { " />" } else { ">" });
        rest = &rest[gt + 1..];
    }
    out.push_str(rest);
    out
}

fn split_attributes(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = rest[..key_end].to_string();
        rest = rest[key_end..].trim_start();
        let mut value = String::new();
        if let Some(r) = rest.strip_prefix('=') {
            let r = r.trim_start();
            if let Some(q) = r.chars().next().filter(|c| *c == '"' || *c == '\'') {
                let end = r[1..].find(q).map_or(r.len(), |e| e + 1);
                value = r[1..end].to_string();
                rest = r.get(end + 1..).unwrap_or("").trim_start();
            } else {
                let end = r.find(char::is_whitespace).unwrap_or(r.len());
                value = r[..end].to_string();
                rest = r[end..].trim_start();
            }
        }
        if key.is_empty() {
            break;
        }
        out.push((key, value));
    }
    out
}

fn decode_numeric(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(a) = rest.find("&#") {
        out.push_str(&rest[..a]);
        rest = &rest[a..];
        let end = rest.find(';').filter(|e| *e < 12);
        let n = end.and_then(|e| {
            let n = &rest[2..e];
            let v = match n.strip_prefix(['x', 'X']) {
                Some(h) => u32::from_str_radix(h, 16).ok(),
                None => n.parse().ok(),
            };
            v.map(|v| (cp1252(v), e + 1))
        });
        match n {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Relative `href`/`src` values resolved against `base` (what the sanitizer does at store time).
fn resolve_relative(html: &str, base: &str) -> String {
    let Ok(base) = url::Url::parse(base) else {
        return html.to_string();
    };
    let mut out = String::new();
    let mut rest = html;
    loop {
        let next = ["href=\"", "src=\"", "href='", "src='"]
            .iter()
            .filter_map(|p| rest.find(p).map(|i| (i, *p)))
            .min();
        let Some((i, p)) = next else { break };
        let q = p.chars().last().unwrap();
        let start = i + p.len();
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find(q) else {
            rest = &rest[start..];
            break;
        };
        let value = &rest[start..start + len];
        let resolved = match url::Url::parse(value) {
            Ok(_) => value.to_string(),
            Err(_) => base
                .join(value.trim())
                .map(|u| u.to_string())
                .unwrap_or_else(|_| value.to_string()),
        };
        out.push_str(&resolved);
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

#[test]
fn feedparser_cases() {
    let root = corpus_dir().join("feedparser");
    let mut files = Vec::new();
    walk(&root.join("tests"), &mut files);
    let (mut in_scope, mut pass) = (0, 0);
    let mut out_of_scope: std::collections::BTreeMap<String, usize> = Default::default();
    let mut failures = Vec::new();
    let mut unreadable = Vec::new();
    let (mut checked, mut failed) = (Default::default(), Default::default());
    for path in &files {
        let Some(case) = read_case(&root, path) else {
            unreadable.push(path.display().to_string());
            continue;
        };
        let bytes = read_bytes(path);
        let doc_uri = format!("http://127.0.0.1:8097/{}", case.rel);
        let header = |name: &str| {
            case.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let feed_url = header("content-location")
            .and_then(|l| url::Url::parse(&doc_uri).ok()?.join(&l).ok())
            .map_or(doc_uri.clone(), |u| u.to_string());
        let content_type = header("content-type");
        let result = parse::parse(&bytes, content_type.as_deref(), &feed_url);
        let expr = match parse_expr(&case.expect) {
            Ok(e) => e,
            Err(why) => {
                *out_of_scope
                    .entry(format!("unparsed expression: {why}"))
                    .or_default() += 1;
                continue;
            }
        };
        let eval = Eval {
            feed: result.as_ref().ok(),
            sanitize_case: case.rel.contains("/sanitize/"),
        };
        match eval.truth(&expr) {
            Err(reason) => *out_of_scope.entry(reason).or_default() += 1,
            Ok(true) => {
                in_scope += 1;
                pass += 1;
                insert(&mut checked, &format!("feedparser/{}", case.rel));
            }
            Ok(false) => {
                in_scope += 1;
                insert(&mut checked, &format!("feedparser/{}", case.rel));
                insert(&mut failed, &format!("feedparser/{}", case.rel));
                let got = match &result {
                    Ok(f) => match f.entries.first() {
                        Some(e) => format!(
                            "title={:?} link={:?} id={:?} author={:?} content={:?} summary={:?} published={:?} feed.title={:?}",
                            e.title,
                            e.link,
                            e.identity,
                            e.author,
                            e.content_html,
                            e.summary_html,
                            e.published,
                            f.title
                        ),
                        None => {
                            format!("no entries; feed.title={:?} home={:?}", f.title, f.home_url)
                        }
                    },
                    Err(e) => format!("error: {e}"),
                };
                failures.push(format!(
                    "{}\n      expect: {}\n      got:    {got}",
                    case.rel, case.expect
                ));
            }
        }
    }
    let fail = in_scope - pass;
    println!(
        "feedparser: {in_scope} in scope, {pass} pass, {fail} fail ({} cases out of scope)",
        out_of_scope.values().sum::<usize>()
    );
    let mut reasons: Vec<_> = out_of_scope.into_iter().collect();
    reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
    println!(
        "out of scope, by first reason (most common): {:?}",
        &reasons[..reasons.len().min(15)]
    );
    for f in &failures {
        println!("  FAIL {f}");
    }
    assert!(
        unreadable.len() <= 2,
        "cases without a header: {unreadable:?}"
    );
    let rate = pass as f64 / in_scope.max(1) as f64;
    assert!(
        in_scope >= FEEDPARSER_MIN_IN_SCOPE,
        "only {in_scope} feedparser cases were in scope"
    );
    assert!(
        rate >= FEEDPARSER_MIN_PASS_RATE,
        "feedparser pass rate {:.1}% is below the floor of {:.1}%",
        rate * 100.0,
        FEEDPARSER_MIN_PASS_RATE * 100.0
    );
    check_known_failures("feedparser cases", &checked, &failed);
}

/// Floors measured on the development corpus (see the test output for the current numbers).
/// Measured: 345 in scope, 344 pass (99.7%).
const FEEDPARSER_MIN_IN_SCOPE: usize = 340;
const FEEDPARSER_MIN_PASS_RATE: f64 = 0.95;
