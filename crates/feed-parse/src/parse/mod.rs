//! Parses Atom, RSS, RDF and JSON Feed (and twtxt) into IncomingFeed. Does not fetch, sanitize or store.
//!
//! # How
//!
//! 1. **Decode** the bytes to UTF-8 (see *Encoding precedence* in `charset`).
//! 2. **Sniff** the format from the first significant character: `<` is XML,
//!    `{` is JSON, anything else is twtxt when it looks like twtxt (or is served
//!    as `text/plain`), and "not a feed" otherwise.
//! 3. **XML** (RSS 0.9x/2.0, RSS 1.0/0.90 RDF, Atom 0.3/1.0): quick-xml's
//!    namespace-aware reader builds a small, bounded element tree (`tree::Doc`),
//!    entry by entry (see *Limits* below);
//!    the mappers (`atom`, `rss`, over what `xml` holds for both) read the fields they want from it, matching elements by
//!    namespace URI (never by prefix; undeclared prefixes of the usual modules
//!    fall back to their well-known namespace). **JSON Feed** 1.0/1.1: mapped
//!    from a `serde_json::Value`. **twtxt**: one post per line.
//! 4. **Finish** every entry the same way: plain-text titles, identity
//!    (id, else link, else content hash), duplicates merged (the newest
//!    version kept), control characters scrubbed, at most [`MAX_ENTRIES`]
//!    (the newest by date).
//!
//! ## Why not feed-rs for the mapping
//!
//! feed-rs 3 was the first choice and was measured on the corpus before this
//! module was written. It gets too many real feeds wrong in ways a second pass
//! cannot repair, because it drops data rather than keeping it: an RSS
//! `<rss>` without `version="2.0|0.91|0.92"` (0.93, 0.94, none) is "no root
//! element"; Atom 0.3 elements are silently ignored (empty feed); RSS 2.0 with a
//! default namespace declared comes back empty; RSS 1.0 items without a
//! `<link>` vanish; a truncated or mismatched-tag document fails as a whole;
//! an unknown Atom text `type` fails the whole feed; text with child elements
//! ("naked" markup in RSS descriptions and titles) keeps only the text before
//! the first child; XHTML content is re-serialised without escaping attribute
//! values; `pubDate`/`dc:date` are conflated with `updated`; JSON Feed fails
//! on `"version": "1.1"` spelled without the URL, on `http://` version URLs,
//! on attachments without `mime_type`, on numeric ids, and it has no
//! `_thread`. The XML parser underneath feed-rs is quick-xml; this module uses
//! quick-xml directly (the same parser, so no XML parsing is written here) and
//! keeps the mapping in one place.
//!
//! ## Limits: a document is read as a stream
//!
//! [`parse_source`] never holds a document whole. Its bytes are decoded a
//! buffer at a time (`stream::Utf8Reader`; the charset is chosen from
//! the first 64 KiB and one pass over the bytes) and cut into XML events of
//! bounded size (`stream::BoundedXml`). An entry where a feed puts it
//! (Atom `entry` in `feed`, RSS `item` in `channel`, `rss` or `rdf:RDF`) is
//! mapped as soon as it closes and its subtree dropped, so the tree holds the
//! feed's own elements and one entry. Each limit leaves a line in
//! [`IncomingFeed::notes`] rather than losing the feed:
//!
//! - an entry past [`MAX_ENTRY_BYTES`] is cut short there (the rest of it is
//!   not read) and the entries after it are read as usual;
//! - of the entries, the newest [`MAX_ENTRIES`] by date are kept, holding
//!   at most [`MAX_FEED_CONTENT_BYTES`] (their HTML, or their text where
//!   that is more): past either, the oldest kept is let go as each entry
//!   closes, so what is held stays bounded however long the feed is, and
//!   the note says the feed was capped;
//! - the tree outside entries past [`MAX_TREE_BYTES`], or an error, ends the
//!   reading where it happens; what came before is kept.
//!
//! JSON Feed and twtxt are read whole, up to [`MAX_WHOLE_DOCUMENT_BYTES`]
//! and [`MAX_JSON_VALUES`] or [`MAX_TWTXT_LINES`]; past them the document is
//! refused with a message saying which.
//!
//! # Parts
//!
//! - `charset`: which encoding the bytes are in, and decoding them (*Encoding
//!   precedence* is there);
//! - `tree`: the bounded element tree of an XML document, built entry by
//!   entry (*Broken markup* and *XML attacks* are there), with `escape`
//!   (escaping and character references);
//! - `xml`: the feed element and what Atom and RSS share, with `atom` and
//!   `rss` (RSS 0.9x/2.0 and RDF) mapping their own fields;
//! - `json` (JSON Feed), `twtxt`;
//! - `text`: text constructs, and HTML made plain text for titles;
//! - `finish`: identity, duplicates, control characters, the entry cap;
//! - `dates`: every date format feeds use;
//! - `html_page`: telling an HTML page from a feed, and the feeds it links to.

mod atom;
mod charset;
mod dates;
mod escape;
mod finish;
mod html_page;
mod json;
mod rss;
mod text;
mod tree;
mod twtxt;
mod xml;

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};

use url::Url;

use super::stream::{BoundedXml, Decoding, Utf8Reader};
use charset::{Charset, choose_charset, count_bytes, decode_with, mime_essence, scan_utf8};
use finish::{cap_entries, scrub_controls};
use json::parse_json;
use twtxt::{is_twtxt, parse_twtxt};
use xml::parse_xml;

pub use dates::parse_date;
pub use html_page::{discover_feeds, looks_like_html};
pub use text::html_to_text;

/// Keep at most this many entries per fetch (the newest by date).
pub const MAX_ENTRIES: usize = 200;
/// Elements nested deeper than this are skipped (their text too).
pub const MAX_DEPTH: usize = 256;
/// At most this many elements are kept from one document.
pub const MAX_ELEMENTS: usize = 250_000;
/// At most this many attributes are kept per element.
pub const MAX_ATTRIBUTES: usize = 64;
/// One entry's share of the tree, in bytes (text, attributes and a fixed
/// cost per element): past it the rest of the entry is not read, and the
/// feed gets a note. The sanitizer keeps no more of an entry's HTML anyway.
pub const MAX_ENTRY_BYTES: usize = 512 * 1024;
/// The tree outside the entry in hand (the feed's own elements, and entries
/// where no feed puts them), in the same bytes: past it the document is read
/// no further.
pub const MAX_TREE_BYTES: usize = 2 * 1024 * 1024;
/// What the entries kept from one document hold, in bytes (each entry's
/// HTML, content and summary, or its share of the tree where that is more):
/// past it the oldest entries are let go, and the feed gets a note.
pub const MAX_FEED_CONTENT_BYTES: usize = 4 * 1024 * 1024;
/// JSON Feed and twtxt documents are read whole: at most this many bytes.
pub const MAX_WHOLE_DOCUMENT_BYTES: usize = 2 * 1024 * 1024;

/// A parsed feed, any format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingFeed {
    /// Plain text (HTML in titles turned into text, entities decoded).
    pub title: Option<String>,
    /// The site's link, absolute.
    pub home_url: Option<String>,
    /// Document order (twtxt: newest first), duplicates merged, at most [`MAX_ENTRIES`].
    pub entries: Vec<IncomingEntry>,
    /// RSS `<ttl>`.
    pub ttl_minutes: Option<u32>,
    /// `sy:updatePeriod` / `sy:updateFrequency`, in minutes.
    pub update_period_minutes: Option<u32>,
    /// Which format the document was.
    pub format: FeedFormat,
    /// The character encoding the bytes were decoded from (an encoding_rs name, or `UTF-32LE`/`UTF-32BE`).
    pub encoding: &'static str,
    /// What was not read or kept, one line each for the feed's owner
    /// (entries cut short at [`MAX_ENTRY_BYTES`], entries over the cap, items
    /// without an id, a document read only up to an error). `roost following`
    /// shows them with the poll's status.
    pub notes: Vec<String>,
    /// How many entries the document held, when that was more than
    /// [`MAX_ENTRIES`] (the newest by date were kept).
    pub capped_from: Option<usize>,
    /// JSON Feed items skipped for want of a usable `id` (the spec requires one).
    pub skipped_without_id: usize,
    /// The WebSub hub the feed names (`<link rel="hub">`, JSON Feed `hubs`), absolute.
    pub hub: Option<String>,
    /// The feed's own address as it names it (`<link rel="self">`, JSON Feed `feed_url`).
    pub self_url: Option<String>,
}

impl IncomingFeed {
    /// The notes for [`capped_from`](Self::capped_from) and
    /// [`skipped_without_id`](Self::skipped_without_id).
    fn dropped_notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(found) = self.capped_from {
            notes.push(format!(
                "capped: kept the newest {} of {found} entries",
                self.entries.len()
            ));
        }
        match self.skipped_without_id {
            0 => {}
            1 => notes.push("skipped 1 JSON Feed item without an id".to_string()),
            n => notes.push(format!("skipped {n} JSON Feed items without an id")),
        }
        notes
    }
}

/// The formats [`parse`] understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    /// Atom 1.0 or 0.3.
    Atom,
    /// RSS 0.9x / 2.0.
    Rss,
    /// RSS 1.0 or 0.90 (RDF).
    Rdf,
    /// JSON Feed 1.0 / 1.1.
    JsonFeed,
    /// twtxt (`text/plain`, one post per line).
    Twtxt,
}

/// One entry (post) of a feed. Nothing in it is sanitized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingEntry {
    /// Identity: the feed's id; else the link; else a content hash ("sha256:…") of title+content+date. Never empty.
    pub identity: String,
    /// Absolute (resolved against xml:base / feed URL).
    pub link: Option<String>,
    /// Plain text.
    pub title: Option<String>,
    /// The full content: raw, NOT sanitized (the sanitizer runs later); plain-text content HTML-escaped.
    /// Show this, else [`summary_html`](Self::summary_html).
    pub content_html: Option<String>,
    /// The summary / RSS description, same rules as `content_html`.
    pub summary_html: Option<String>,
    /// Plain text name (the feed's author when the entry names none).
    pub author: Option<String>,
    /// Unix seconds; None when absent or unparseable: never invented.
    pub published: Option<i64>,
    /// Unix seconds; None unless the feed gives an update date.
    pub updated: Option<i64>,
    /// RFC 4685 `thr:in-reply-to`, matched by namespace: for each element in
    /// document order its `href` (resolved) then its `ref` if different; also
    /// JSON Feed `_thread.in_reply_to`.
    pub in_reply_to: Vec<String>,
    /// Enclosures (RSS `enclosure`, Atom `link rel="enclosure"`, `media:content`, JSON Feed attachments).
    pub enclosures: Vec<Enclosure>,
    /// What relative URLs in content resolve against (xml:base or feed URL).
    pub base_url: String,
}

/// A media file attached to an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enclosure {
    /// Absolute.
    pub url: String,
    pub mime_type: Option<String>,
    pub length: Option<u64>,
    /// What it shows, as text (`media:title`/`media:description`, a link's
    /// or an attachment's `title`): an image's alt text.
    pub alt: Option<String>,
}

/// Why a document could not be read as a feed. Display is one line for a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Readable, but not a feed (an HTML page, OPML, another XML or JSON document).
    NotAFeed(String),
    /// Nothing but whitespace.
    Empty,
    /// Looked like a feed but could not be read at all.
    Malformed(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::NotAFeed(why) => write!(f, "not a feed: {why}"),
            ParseError::Empty => f.write_str("not a feed: the document is empty"),
            ParseError::Malformed(why) => write!(f, "malformed feed: {why}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses a feed. `content_type` is the HTTP Content-Type header (its charset
/// parameter matters); `feed_url` is the URL fetched (base for relative links).
pub fn parse(
    bytes: &[u8],
    content_type: Option<&str>,
    feed_url: &str,
) -> Result<IncomingFeed, ParseError> {
    parse_source(io::Cursor::new(bytes), content_type, feed_url)
}

/// [`parse`] reading `src` as a stream: XML is decoded and parsed a buffer at
/// a time and each entry is mapped as soon as it closes, so what is held is
/// the entries kept and one entry's tree, not the document (see *Limits* in
/// the module docs). JSON Feed and twtxt are read whole, up to
/// [`MAX_WHOLE_DOCUMENT_BYTES`].
pub fn parse_source<R: Read + Seek>(
    mut src: R,
    content_type: Option<&str>,
    feed_url: &str,
) -> Result<IncomingFeed, ParseError> {
    let unreadable = |e: io::Error| ParseError::Malformed(format!("could not read it: {e}"));
    let mut head = Vec::with_capacity(HEAD_BYTES as usize);
    src.by_ref()
        .take(HEAD_BYTES)
        .read_to_end(&mut head)
        .map_err(unreadable)?;
    src.rewind().map_err(unreadable)?;
    let scan = scan_utf8(&mut src).map_err(unreadable)?;
    let (charset, bom) = choose_charset(&head, content_type, &scan);
    src.seek(SeekFrom::Start(bom as u64)).map_err(unreadable)?;
    // The scan has checked valid UTF-8 already: it is not decoded again.
    let decoding = match charset {
        Charset::Std(e) if e == encoding_rs::UTF_8 && scan.valid => Decoding::ValidUtf8,
        _ => charset.decoding(),
    };
    let text = Utf8Reader::new(src, decoding);
    let head_text = decode_with(charset, &head[bom.min(head.len())..]);
    let start = head_text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let doc_base = Url::parse(feed_url.trim()).ok();
    let mut feed = match start.chars().next() {
        None => return Err(ParseError::Empty),
        Some('<') => parse_xml(BoundedXml::new(text), &head, feed_url, doc_base.as_ref())?,
        Some('{') => {
            let whole = read_whole(text, bom)?;
            let body = whole.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
            check_whole(body, true)?;
            parse_json(body, feed_url, doc_base.as_ref())?
        }
        Some('[') => {
            return Err(ParseError::NotAFeed(
                "a JSON document, but not a JSON Feed".into(),
            ));
        }
        Some(_) if is_twtxt(start, content_type) => {
            let whole = read_whole(text, bom)?;
            let body = whole.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
            check_whole(body, false)?;
            parse_twtxt(body, feed_url, doc_base.as_ref())?
        }
        Some(_) => {
            return Err(ParseError::NotAFeed(match mime_essence(content_type) {
                Some(m) => format!("a {m} document, not RSS, Atom or JSON Feed"),
                None => "plain text, not RSS, Atom or JSON Feed".into(),
            }));
        }
    };
    feed.encoding = charset.name();
    if let Some(t) = &mut feed.title {
        scrub_controls(t);
    }
    cap_entries(&mut feed);
    // What was left out by count first, then what the reading met.
    let mut notes = feed.dropped_notes();
    notes.append(&mut feed.notes);
    feed.notes = notes;
    Ok(feed)
}

/// The start of a document read to choose its charset and tell its format.
const HEAD_BYTES: u64 = 64 * 1024;

/// A JSON Feed or twtxt document (read whole, unlike XML), decoded, up to
/// [`MAX_WHOLE_DOCUMENT_BYTES`]. It is decoded twice, the first time only to
/// measure it: a buffer grown as it fills would touch twice as much memory
/// (and an allocator keeps what it freed).
fn read_whole<R: Read + Seek>(text: Utf8Reader<R>, bom: usize) -> Result<String, ParseError> {
    let unreadable = |e: io::Error| ParseError::Malformed(format!("could not read it: {e}"));
    let decoding = text.decoding();
    let mut text = text;
    let len = io::copy(&mut text, &mut io::sink()).map_err(unreadable)?;
    if len > MAX_WHOLE_DOCUMENT_BYTES as u64 {
        return Err(ParseError::Malformed(format!(
            "over {} MiB: a JSON Feed or twtxt file is read whole, up to that size",
            MAX_WHOLE_DOCUMENT_BYTES >> 20
        )));
    }
    let mut src = text.into_inner();
    src.seek(SeekFrom::Start(bom as u64)).map_err(unreadable)?;
    let mut out = Vec::with_capacity(len as usize);
    Utf8Reader::new(src, decoding)
        .read_to_end(&mut out)
        .map_err(unreadable)?;
    // The decoder writes only UTF-8.
    Ok(String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// A JSON document is refused with more than this many values (counted as
/// `{`, `[` and `,`, strings included: an over-count): each costs
/// `serde_json::Value` a few dozen bytes besides its text.
pub const MAX_JSON_VALUES: usize = 100_000;
/// A twtxt file is refused with more lines than this (each becomes an entry
/// before the newest are kept).
pub const MAX_TWTXT_LINES: usize = 20_000;

/// Refuses a document read whole that would cost too much to parse.
fn check_whole(body: &str, json: bool) -> Result<(), ParseError> {
    let (count, limit, what) = if json {
        let values = count_bytes(body.as_bytes(), |b| matches!(b, b'{' | b'[' | b','));
        (values, MAX_JSON_VALUES, "JSON values")
    } else {
        (body.lines().count(), MAX_TWTXT_LINES, "lines")
    };
    if count > limit {
        return Err(ParseError::Malformed(format!(
            "more than {limit} {what}: too many to read"
        )));
    }
    Ok(())
}

pub(super) fn empty_feed(format: FeedFormat) -> IncomingFeed {
    IncomingFeed {
        title: None,
        home_url: None,
        entries: Vec::new(),
        ttl_minutes: None,
        update_period_minutes: None,
        format,
        encoding: "UTF-8",
        notes: Vec::new(),
        capped_from: None,
        skipped_without_id: 0,
        hub: None,
        self_url: None,
    }
}

/// What the tests of every part share.
#[cfg(test)]
mod testing {
    pub(super) use super::*;

    pub(super) const URL: &str = "https://example.com/blog/feed.xml";

    pub(super) fn ok(doc: &str) -> IncomingFeed {
        parse(doc.as_bytes(), None, URL).unwrap_or_else(|e| panic!("{e}: {doc}"))
    }

    pub(super) fn ts(rfc3339: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testing::*;

    #[test]
    fn documents_read_whole_are_refused_past_their_limits() {
        let refused = |doc: String| match parse(doc.as_bytes(), None, URL) {
            Err(ParseError::Malformed(why)) => why,
            other => panic!("{other:?}"),
        };
        let big = format!(
            "{{\"version\":\"https://jsonfeed.org/version/1.1\",\"items\":[{{\"id\":\"1\",\"content_text\":\"{}\"}}]}}",
            "x".repeat(MAX_WHOLE_DOCUMENT_BYTES)
        );
        assert!(refused(big).starts_with("over 2 MiB"));
        let many = format!(
            "{{\"version\":\"https://jsonfeed.org/version/1.1\",\"items\":[{}]}}",
            "1,".repeat(MAX_JSON_VALUES)
        );
        assert_eq!(
            refused(many),
            "more than 100000 JSON values: too many to read"
        );
        let lines = "2026-01-01T00:00:00Z\tx\n".repeat(MAX_TWTXT_LINES + 1);
        assert_eq!(refused(lines), "more than 20000 lines: too many to read");
        let fits = "2026-01-01T00:00:00Z\tx\n".repeat(MAX_TWTXT_LINES);
        assert_eq!(ok(&fits).format, FeedFormat::Twtxt);
    }

    /// Mangled documents never panic.
    #[test]
    fn mangled_input_never_panics() {
        let seeds: [&[u8]; 5] = [
            br#"<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0" xmlns:thr="http://purl.org/syndication/thread/1.0"><channel><title>T&amp;</title><link>/x</link><item><title>&lt;b&gt;i</title><guid>g</guid><pubDate>Wed, 31 Dec 2003 10:14:55 GMT</pubDate><thr:in-reply-to ref="r"/></item></channel></rss>"#,
            br#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://a/"><entry><id>1</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><a href="b">c</a></div></content><link href="x"/></entry></feed>"#,
            br#"{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[{"id":"1","content_html":"<p>x</p>","_thread":{"in_reply_to":["a"]}}]}"#,
            b"2020-01-01T00:00:00Z\thello @<a http://b/>\n# nick = n\n",
            b"<html><head><link rel=\"alternate\" type=\"application/atom+xml\" href=\"/a\"><base href=x></head></html>",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let noise: [&[u8]; 8] = [
            b"<",
            b">",
            b"&",
            b"&#",
            b"\"",
            b"\xff\xfe",
            b"\xc3",
            b"<![CDATA[",
        ];
        for round in 0..3000 {
            let mut doc = seeds[round % seeds.len()].to_vec();
            for _ in 0..(next() % 6 + 1) {
                let at = (next() as usize) % (doc.len() + 1);
                match next() % 3 {
                    0 => {
                        let n = noise[(next() as usize) % noise.len()];
                        doc.splice(at..at, n.iter().copied());
                    }
                    1 => {
                        let end = (at + (next() as usize) % 8).min(doc.len());
                        doc.drain(at..end);
                    }
                    _ => doc.truncate(at),
                }
            }
            let _ = parse(&doc, Some("text/xml; charset=utf-8"), URL);
            let _ = parse(&doc, None, "");
            let _ = discover_feeds(&doc, URL);
            let _ = looks_like_html(&doc);
            let text = String::from_utf8_lossy(&doc);
            let _ = html_to_text(&text);
            let _ = parse_date(&text);
        }
    }
}
