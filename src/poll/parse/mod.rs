//! Parses Atom, RSS, RDF and JSON Feed (and twtxt) into IncomingFeed. Does not fetch, sanitize or store.
//!
//! # How
//!
//! 1. **Decode** the bytes to UTF-8 (see *Encoding precedence* below).
//! 2. **Sniff** the format from the first significant character: `<` is XML,
//!    `{` is JSON, anything else is twtxt when it looks like twtxt (or is served
//!    as `text/plain`), and "not a feed" otherwise.
//! 3. **XML** (RSS 0.9x/2.0, RSS 1.0/0.90 RDF, Atom 0.3/1.0): quick-xml's
//!    namespace-aware reader builds a small, bounded element tree ([`Doc`]),
//!    entry by entry (see *Limits* below);
//!    the mappers below read the fields they want from it, matching elements by
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
//! ## Threading
//!
//! RFC 4685 `in-reply-to` is read from the same tree as everything else: the
//! tree keeps each element's namespace as resolved by quick-xml's `NsReader`,
//! so `<zz:in-reply-to>` with `xmlns:zz="http://purl.org/syndication/thread/1.0"`
//! counts and a `thr:` prefix bound to anything else (or to nothing) does not.
//! (feed-rs does not expose extension elements it does not know, which is one
//! more reason the mapping is done here.)
//!
//! ## Broken markup
//!
//! What a lenient reader keeps, an error costs at most the entry it is in:
//! an end tag closes the nearest open element of its name (a stray one is
//! ignored, and so is a `</entry>` inside an entry's field whose own end tag
//! comes first, looked for in the next 64 KiB); quick-xml's namespace scopes are kept to the elements still
//! open, so an unclosed `<br>` cannot carry its `xmlns` past its entry; `<`
//! that starts no name is text; and a syntax error (a quote, CDATA section,
//! comment or PI never closed) inside or between entries resumes after the
//! next `</entry>` or `</item>` with a fresh reader given the open scopes
//! (what the broken markup swallowed is read again: `poll::stream::Replay`).
//!
//! ## XML attacks
//!
//! quick-xml does not process DTDs: a `<!DOCTYPE>` internal subset is skipped,
//! entities it declares are never expanded (a reference to one stays as the
//! literal text `&name;`), and nothing external is ever fetched. So billion
//! laughs and external-entity documents are inert (see the tests). Work is
//! bounded: elements deeper than [`MAX_DEPTH`] are not kept (their text is,
//! flattened into the deepest element kept, with a note), at most
//! [`MAX_ATTRIBUTES`] attributes are kept per element, the tree holds at most
//! [`MAX_ELEMENTS`] elements, and quick-xml itself caps namespace bindings.
//! Nothing recurses deeper than [`MAX_DEPTH`].
//!
//! ## Limits: a document is read as a stream
//!
//! [`parse_source`] never holds a document whole. Its bytes are decoded a
//! buffer at a time (`poll::stream::Utf8Reader`; the charset is chosen from
//! the first 64 KiB and one pass over the bytes) and cut into XML events of
//! bounded size (`poll::stream::BoundedXml`). An entry where a feed puts it
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
//! # Encoding precedence
//!
//! From strongest to weakest:
//!
//! 1. A byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE).
//! 2. A UTF-16/UTF-32 byte pattern without a BOM (`<` `?` interleaved with zero
//!    bytes, XML 1.0 appendix F), since such bytes cannot be anything else.
//! 3. The HTTP `Content-Type` charset parameter (RFC 7303: it overrides the
//!    document).
//! 4. The XML declaration's `encoding`.
//! 5. UTF-8.
//!
//! Then two corrections for the mislabelling that is common in the wild: a
//! declared legacy charset (ISO-8859-1, windows-1252, KOI8-R...) loses to UTF-8
//! when the bytes are valid UTF-8 and not plain ASCII (servers that add
//! `charset=ISO-8859-1` to everything); and when UTF-8 was chosen but the bytes
//! are not valid UTF-8, each bad byte becomes U+FFFD where it stands (the rest
//! is never re-read in another charset), and so when a legacy charset was
//! declared but the bytes are mostly UTF-8 (more good multi-byte characters
//! than bad sequences). Bytes that are not mostly UTF-8 are read otherwise:
//! as the XML declaration's charset when HTTP said UTF-8 and the declaration
//! names another, and as windows-1252 when nothing named a charset. A
//! declared UTF-16/32 without the byte
//! pattern is ignored. Labels are resolved the WHATWG way (encoding_rs), so
//! ISO-8859-1 and US-ASCII decode as windows-1252 (curly quotes in
//! `0x80..0x9F` come out right). RFC 3023's "text/xml without a charset means
//! US-ASCII" is deliberately not followed, like every current reader.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{self, BufRead, Read, Seek, SeekFrom};

use encoding_rs::Encoding;
use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use sha2::{Digest, Sha256};
use url::Url;

use super::stream::{self, BoundedXml, Decoding, Replay, Utf8Reader};

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
/// What one element costs in the tree besides its names, attributes and text.
const ELEMENT_BYTES: usize = 128;

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

/// An entry, and whether the feed gave it an id (else its identity is its
/// link or a content hash).
type Built = (IncomingEntry, bool);

/// Merges entries that share an id: the newest version wins (the later
/// `updated`; without two such dates, the later in the document), in the place
/// of the first. Entries without an id are never merged: those that share a
/// link (a feed whose items all point to its home page) are told apart by
/// their content hash, and identical ones by a count after it. Control
/// characters are scrubbed from every field.
fn settle(built: impl IntoIterator<Item = Built>) -> Vec<IncomingEntry> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<IncomingEntry> = Vec::new();
    for (mut e, has_id) in built {
        if !has_id && seen.contains_key(&e.identity) {
            let hash = if e.identity.starts_with("sha256:") {
                e.identity.clone()
            } else {
                content_hash(&e)
            };
            e.identity = hash.clone();
            let mut n = 1;
            while seen.contains_key(&e.identity) {
                n += 1;
                e.identity = format!("{hash}-{n}");
            }
        }
        scrub_entry(&mut e);
        match seen.get(&e.identity) {
            Some(&at) => {
                let older =
                    matches!((e.updated, out[at].updated), (Some(new), Some(old)) if new < old);
                if !older {
                    out[at] = e;
                }
            }
            None => {
                seen.insert(e.identity.clone(), out.len());
                out.push(e);
            }
        }
    }
    out
}

/// Keeps the newest [`MAX_ENTRIES`] entries by date (undated ones count as
/// oldest; among equals, document order), still in document order, and notes
/// how many there were.
fn cap_entries(feed: &mut IncomingFeed) {
    let found = feed.entries.len();
    if found <= MAX_ENTRIES {
        return;
    }
    let mut order: Vec<usize> = (0..found).collect();
    order.sort_by_key(|&i| {
        let e = &feed.entries[i];
        std::cmp::Reverse(e.published.or(e.updated).map_or(i64::MIN, |d| d))
    });
    let mut keep = vec![false; found];
    for &i in &order[..MAX_ENTRIES] {
        keep[i] = true;
    }
    let mut i = 0;
    feed.entries.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    feed.capped_from = Some(feed.capped_from.map_or(found, |f| f.max(found)));
}

/// Control characters are never stored: C0 ones (but tab, LF, CR) and DEL are
/// dropped; C1 ones (U+0080..U+009F, what windows-1252 bytes become when read
/// as Latin-1) are read as windows-1252 where it has a character, else dropped.
fn scrub_controls(s: &mut String) {
    let bad = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || ('\u{7f}'..='\u{9f}').contains(&c)
    };
    if !has_controls(s.as_bytes()) {
        return;
    }
    *s = s
        .chars()
        .filter_map(|c| match c {
            '\u{80}'..='\u{9f}' => Some(char_from_reference(c as u32, true)).filter(|m| !bad(*m)),
            c if bad(c) => None,
            c => Some(c),
        })
        .collect();
}

/// Whether UTF-8 text holds a C0 control (not TAB, LF, CR), DEL or a C1
/// control (0xC2 0x80..0x9F). Every field of every entry goes through it, so
/// it tests 32 bytes at a time without branching (which the compiler turns
/// into vector instructions) and looks closer only at a block that may hold
/// one (a 0xC2 lead byte is also the start of `é`'s neighbours, `©`, `«`).
fn has_controls(b: &[u8]) -> bool {
    const N: usize = 32;
    let c0 = |x: u8| (x < 0x20 && !matches!(x, b'\t' | b'\n' | b'\r')) || x == 0x7f;
    let exact = |j: usize| {
        c0(b[j]) || (b[j] == 0xc2 && b.get(j + 1).is_some_and(|y| (0x80..0xa0).contains(y)))
    };
    let mut at = 0;
    for block in b.chunks_exact(N) {
        let maybe = block.iter().fold(false, |found, &x| {
            found
                | ((x < 0x20) & (x != b'\t') & (x != b'\n') & (x != b'\r'))
                | (x == 0x7f)
                | (x == 0xc2)
        });
        if maybe && (at..at + N).any(exact) {
            return true;
        }
        at += N;
    }
    (at..b.len()).any(exact)
}

/// Whether HTML holds a numeric reference to a C0 control (`&#1;`), which
/// the sanitizer would turn into the character.
fn has_control_reference(s: &str) -> bool {
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        rest = &rest[at + 1..];
        if let Some(number) = rest.strip_prefix('#')
            && control_reference(number).is_some()
        {
            return true;
        }
    }
    false
}

/// As [`scrub_controls`], and numeric references to C0 controls in HTML dropped too.
fn scrub_html(s: &mut String) {
    scrub_controls(s);
    if !has_control_reference(s) {
        return;
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(at) = rest.find("&#") {
        out.push_str(&rest[..at]);
        rest = &rest[at + 2..];
        match control_reference(rest) {
            Some(len) => {
                rest = &rest[len..];
                rest = rest.strip_prefix(';').unwrap_or(rest);
            }
            None => out.push_str("&#"),
        }
    }
    out.push_str(rest);
    *s = out;
}

/// When the text after `&#` names a C0 control (not TAB, LF, CR), DEL, or
/// one of the five C1 values windows-1252 leaves undefined (HTML maps the
/// others to its characters): the length of the number (with its `x`).
fn control_reference(after: &str) -> Option<usize> {
    let (hex, digits) = match after.strip_prefix(['x', 'X']) {
        Some(d) => (true, d),
        None => (false, after),
    };
    let len = digits
        .find(|c: char| !c.is_ascii_hexdigit())
        .unwrap_or(digits.len());
    let value = if hex {
        u32::from_str_radix(&digits[..len], 16).ok()
    } else {
        digits[..len].parse::<u32>().ok()
    }?;
    ((value < 0x20 && !matches!(value, 9 | 10 | 13))
        || matches!(value, 0x7f | 0x81 | 0x8d | 0x8f | 0x90 | 0x9d))
    .then_some(after.len() - digits.len() + len)
}

fn scrub_entry(e: &mut IncomingEntry) {
    for f in [&mut e.title, &mut e.author, &mut e.link]
        .into_iter()
        .flatten()
    {
        scrub_controls(f);
    }
    for f in [&mut e.content_html, &mut e.summary_html]
        .into_iter()
        .flatten()
    {
        scrub_html(f);
    }
    scrub_controls(&mut e.identity);
    for r in &mut e.in_reply_to {
        scrub_controls(r);
    }
    for x in &mut e.enclosures {
        scrub_controls(&mut x.url);
        for f in [&mut x.mime_type, &mut x.alt].into_iter().flatten() {
            scrub_controls(f);
        }
    }
}

// ---------------------------------------------------------------------------
// Encodings

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Charset {
    Std(&'static Encoding),
    Utf32Le,
    Utf32Be,
}

impl Charset {
    fn name(self) -> &'static str {
        match self {
            Charset::Std(e) => e.name(),
            Charset::Utf32Le => "UTF-32LE",
            Charset::Utf32Be => "UTF-32BE",
        }
    }
    fn decoding(self) -> Decoding {
        match self {
            Charset::Std(e) => Decoding::Encoding(e),
            Charset::Utf32Le => Decoding::Utf32 {
                little_endian: true,
            },
            Charset::Utf32Be => Decoding::Utf32 {
                little_endian: false,
            },
        }
    }
    fn is_wide(self) -> bool {
        match self {
            Charset::Std(e) => e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE,
            _ => true,
        }
    }
}

fn charset_for_label(label: &str) -> Option<Charset> {
    let label = label.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    let lower = label.to_ascii_lowercase();
    match lower.as_str() {
        "utf-32" | "utf32" | "ucs-4" | "utf-32le" => return Some(Charset::Utf32Le),
        "utf-32be" => return Some(Charset::Utf32Be),
        _ => {}
    }
    match Encoding::for_label_no_replacement(label.as_bytes()) {
        Some(e) if e != encoding_rs::REPLACEMENT && e != encoding_rs::X_USER_DEFINED => {
            Some(Charset::Std(e))
        }
        _ => None,
    }
}

/// Decodes `bytes` to UTF-8 following the precedence in the module docs.
/// Returns the text (without BOM) and the name of the encoding used.
fn decode<'a>(bytes: &'a [u8], content_type: Option<&str>) -> (Cow<'a, str>, &'static str) {
    let scan = scan_utf8(&mut &bytes[..]).unwrap_or_default();
    let valid_utf8 = scan.valid;
    let (chosen, bom) = choose_charset(bytes, content_type, &scan);
    let utf8 = Charset::Std(encoding_rs::UTF_8);
    if chosen == utf8 && valid_utf8 && bom == 0 {
        // Checked above: no copy needed.
        return (
            Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or_default()),
            utf8.name(),
        );
    }
    (decode_with(chosen, &bytes[bom..]), chosen.name())
}

/// The charset of a document (the precedence in the module docs) and the
/// length of its byte-order mark. `head` is the start of the document (a few
/// KiB are enough); `scan` is about the whole of it.
fn choose_charset(head: &[u8], content_type: Option<&str>, scan: &Utf8Scan) -> (Charset, usize) {
    let (valid_utf8, ascii) = (scan.valid, scan.ascii);
    let boms: [(&[u8], Charset); 5] = [
        (&[0xEF, 0xBB, 0xBF], Charset::Std(encoding_rs::UTF_8)),
        (&[0xFF, 0xFE, 0, 0], Charset::Utf32Le),
        (&[0, 0, 0xFE, 0xFF], Charset::Utf32Be),
        (&[0xFF, 0xFE], Charset::Std(encoding_rs::UTF_16LE)),
        (&[0xFE, 0xFF], Charset::Std(encoding_rs::UTF_16BE)),
    ];
    for (bom, cs) in boms {
        if head.starts_with(bom) {
            return (cs, bom.len());
        }
    }
    if let Some(cs) = sniff_wide(head) {
        return (cs, 0);
    }
    let http = content_type
        .and_then(charset_param)
        .and_then(|l| charset_for_label(&l));
    let decl = xml_declared_encoding(head).and_then(|l| charset_for_label(&l));
    // No wide byte pattern was seen: a declared UTF-16/32 is wrong.
    let http = http.filter(|c| !c.is_wide());
    let decl = decl.filter(|c| !c.is_wide());
    let utf8 = Charset::Std(encoding_rs::UTF_8);
    // Not valid UTF-8, but more good multi-byte characters than bad
    // sequences: a UTF-8 document with a bad byte or two, not Latin-1 text
    // with an accidental sequence.
    let mostly_utf8 = !valid_utf8 && scan.multibyte > scan.broken;
    let chosen = match http.or(decl) {
        None if valid_utf8 => utf8,
        Some(c) if c == utf8 && valid_utf8 => utf8,
        // UTF-8 with a bad byte or two: each is replaced where it stands (the
        // rest is never re-read in another charset). Only a document that is
        // not mostly UTF-8 is taken for the legacy text it then is.
        None if mostly_utf8 => utf8,
        None => Charset::Std(encoding_rs::WINDOWS_1252),
        // Declared UTF-8 means UTF-8, bad bytes and all (but an HTTP charset
        // of UTF-8 loses to a declaration of another, when no UTF-8 is there).
        Some(c) if c == utf8 => match decl {
            Some(d) if d != utf8 && !mostly_utf8 => d,
            _ => utf8,
        },
        // A legacy label on what is (mostly) UTF-8: a server's default.
        Some(_) if (valid_utf8 || mostly_utf8) && !ascii => utf8,
        Some(other) => other,
    };
    (chosen, 0)
}

/// What the bytes of a whole document are, as UTF-8 ([`scan_utf8`]).
#[derive(Debug, Default, Clone, Copy)]
struct Utf8Scan {
    /// Valid UTF-8 throughout.
    valid: bool,
    /// ASCII throughout.
    ascii: bool,
    /// Well-formed multi-byte characters.
    multibyte: usize,
    /// Broken sequences (each a run of bytes that are no UTF-8).
    broken: usize,
}

/// Reads the whole of `src` a chunk at a time and says what it is as UTF-8
/// (a sequence cut by a chunk's end is carried to the next chunk).
fn scan_utf8(src: &mut impl Read) -> io::Result<Utf8Scan> {
    const SCAN_CHUNK: usize = 16 * 1024;
    // Read into spare capacity: most documents are smaller than a chunk,
    // and zeroing a whole chunk for each was a cost of its own.
    let mut buf = Vec::with_capacity(SCAN_CHUNK);
    let mut scan = Utf8Scan {
        valid: true,
        ascii: true,
        ..Utf8Scan::default()
    };
    let mut carry = 0;
    loop {
        buf.truncate(carry);
        let n = src
            .by_ref()
            .take((SCAN_CHUNK - carry) as u64)
            .read_to_end(&mut buf)?;
        let len = carry + n;
        if n == 0 {
            // An incomplete sequence at the very end.
            if carry > 0 {
                scan.valid = false;
                scan.broken += 1;
            }
            return Ok(scan);
        }
        scan.ascii &= buf[carry..len].is_ascii();
        if scan.ascii {
            carry = 0;
            continue;
        }
        // Valid UTF-8 (but perhaps for a sequence cut by the chunk's end),
        // the usual case, is told by the fast check; only chunks with a bad
        // byte are looked at a sequence at a time.
        let valid = match std::str::from_utf8(&buf[..len]) {
            Ok(_) => Some(len),
            Err(e) if e.error_len().is_none() => Some(e.valid_up_to()),
            Err(_) => None,
        };
        if let Some(valid) = valid {
            scan.multibyte += count_lead_bytes(&buf[..valid]);
            buf.copy_within(valid..len, 0);
            carry = len - valid;
            continue;
        }
        // An incomplete sequence at the end of the chunk is carried over.
        let (mut at, mut keep) = (0, 0);
        for chunk in buf[..len].utf8_chunks() {
            // A multi-byte character has one lead byte (0xC0 and up).
            scan.multibyte += count_lead_bytes(chunk.valid().as_bytes());
            let bad = chunk.invalid();
            at += chunk.valid().len() + bad.len();
            if bad.is_empty() {
                continue;
            }
            let incomplete = std::str::from_utf8(bad).is_err_and(|e| e.error_len().is_none());
            if at == len && incomplete {
                keep = bad.len();
            } else {
                scan.valid = false;
                scan.broken += 1;
            }
        }
        buf.copy_within(len - keep..len, 0);
        carry = keep;
    }
}

/// How many bytes of `b` start a multi-byte UTF-8 character (0xC0 and up).
fn count_lead_bytes(b: &[u8]) -> usize {
    count_bytes(b, |c| c >= 0xc0)
}

/// How many bytes of `b` are `wanted`, counted in blocks of 255 that a
/// vector register can sum (a byte at a time was a cost of its own).
fn count_bytes(b: &[u8], wanted: impl Fn(u8) -> bool) -> usize {
    b.chunks(255)
        .map(|block| usize::from(block.iter().fold(0u8, |n, &c| n + u8::from(wanted(c)))))
        .sum()
}

fn decode_with(cs: Charset, bytes: &[u8]) -> Cow<'_, str> {
    match cs {
        Charset::Std(e) => e.decode_without_bom_handling(bytes).0,
        Charset::Utf32Le | Charset::Utf32Be => {
            let mut out = String::with_capacity(bytes.len() / 4);
            for c in bytes.chunks(4) {
                let v = match (c.len(), cs) {
                    (4, Charset::Utf32Le) => u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                    (4, _) => u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                    _ => 0xFFFD,
                };
                out.push(char::from_u32(v).unwrap_or('\u{FFFD}'));
            }
            Cow::Owned(out)
        }
    }
}

/// UTF-16/32 without a BOM, from the zero bytes around the first character.
fn sniff_wide(b: &[u8]) -> Option<Charset> {
    if b.len() < 4 {
        return None;
    }
    match (b[0] == 0, b[1] == 0, b[2] == 0, b[3] == 0) {
        (true, true, true, false) => Some(Charset::Utf32Be),
        (false, true, true, true) => Some(Charset::Utf32Le),
        (true, false, true, false) => Some(Charset::Std(encoding_rs::UTF_16BE)),
        (false, true, false, true) => Some(Charset::Std(encoding_rs::UTF_16LE)),
        _ => None,
    }
}

/// The `charset` parameter of a Content-Type header value.
fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().to_string())
    })
}

/// `text/html` from `text/html; charset=...`, lower-cased.
fn mime_essence(content_type: Option<&str>) -> Option<String> {
    let m = content_type?.split(';').next()?.trim().to_ascii_lowercase();
    (!m.is_empty()).then_some(m)
}

/// The `encoding` pseudo-attribute of an XML declaration at the start of an
/// ASCII-compatible document.
fn xml_declared_encoding(bytes: &[u8]) -> Option<String> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &bytes[start..bytes.len().min(start + 512)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = String::from_utf8_lossy(&head[..end]);
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_string())
}

// ---------------------------------------------------------------------------
// The element tree

/// Namespaces the mappers care about. Elements are matched by these, never by prefix.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ns {
    None,
    Atom10,
    Atom03,
    Rss10,
    Rss090,
    RssUserland,
    Rdf,
    Dc,
    Dcterms,
    Content,
    Xhtml,
    Media,
    Itunes,
    Thr,
    Sy,
    Xml,
    Other,
}

impl Ns {
    fn from_uri(uri: &str) -> Ns {
        match uri.trim() {
            "http://www.w3.org/2005/Atom" => Ns::Atom10,
            "http://purl.org/atom/ns#" => Ns::Atom03,
            "http://purl.org/rss/1.0/" => Ns::Rss10,
            "http://my.netscape.com/rdf/simple/0.9/" => Ns::Rss090,
            "http://backend.userland.com/rss2"
            | "http://backend.userland.com/rss"
            | "http://blogs.law.harvard.edu/tech/rss" => Ns::RssUserland,
            "http://www.w3.org/1999/02/22-rdf-syntax-ns#" => Ns::Rdf,
            "http://purl.org/dc/elements/1.1/" | "http://purl.org/dc/elements/1.0/" => Ns::Dc,
            "http://purl.org/dc/terms/" => Ns::Dcterms,
            "http://purl.org/rss/1.0/modules/content/" => Ns::Content,
            "http://www.w3.org/1999/xhtml" => Ns::Xhtml,
            "http://search.yahoo.com/mrss/" | "http://search.yahoo.com/mrss" => Ns::Media,
            "http://www.itunes.com/dtds/podcast-1.0.dtd"
            | "http://www.itunes.com/DTDs/Podcast-1.0.dtd" => Ns::Itunes,
            "http://purl.org/syndication/thread/1.0" => Ns::Thr,
            "http://purl.org/rss/1.0/modules/syndication/" => Ns::Sy,
            "http://www.w3.org/XML/1998/namespace" => Ns::Xml,
            _ => Ns::Other,
        }
    }

    /// Undeclared prefixes of the usual modules (a common mistake in feeds).
    /// `thr` is deliberately not here: threading is matched by namespace only.
    fn from_undeclared_prefix(prefix: &str) -> Ns {
        match prefix {
            "dc" => Ns::Dc,
            "dcterms" => Ns::Dcterms,
            "content" => Ns::Content,
            "media" => Ns::Media,
            "itunes" => Ns::Itunes,
            "atom" => Ns::Atom10,
            "sy" => Ns::Sy,
            "rdf" => Ns::Rdf,
            "xhtml" => Ns::Xhtml,
            "xml" => Ns::Xml,
            _ => Ns::Other,
        }
    }

    fn is_rss(self) -> bool {
        matches!(self, Ns::None | Ns::Rss10 | Ns::Rss090 | Ns::RssUserland)
    }

    fn is_atom(self) -> bool {
        matches!(self, Ns::None | Ns::Atom10 | Ns::Atom03)
    }
}

struct Attr {
    ns: Ns,
    qname: Box<str>,
    value: String,
}

enum Node {
    El(u32),
    Text(String),
}

struct Element {
    ns: Ns,
    qname: Box<str>,
    /// Where the local name starts in `qname` (found once: looked up often).
    local_at: u32,
    attrs: Vec<Attr>,
    children: Vec<Node>,
    /// Index into `Doc::bases`, or `NO_BASE`.
    base: u32,
}

const NO_BASE: u32 = u32::MAX;

impl Element {
    fn local(&self) -> &str {
        &self.qname[self.local_at as usize..]
    }
}

fn local_part(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

/// quick-xml's reader, set to be lenient: end tags need not match, `&` may dangle.
fn new_reader<R: BufRead>(input: Replay<R>) -> NsReader<Replay<R>> {
    let mut reader = NsReader::from_reader(input);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    config.expand_empty_elements = false;
    config.trim_text(false);
    reader
}

/// Moves `reader` past the first end tag `</name>`: in `swallowed` (bytes
/// already read, the rest of which is read again) or else in what follows.
/// False when the document ends first.
fn resume_after_end_tag<R: BufRead>(
    reader: &mut NsReader<Replay<R>>,
    swallowed: &[u8],
    name: &str,
) -> bool {
    match stream::after_end_tag(swallowed, name) {
        Some(after) => {
            reader.get_mut().unread(&swallowed[after..]);
            true
        }
        None => reader.get_mut().skip_past_end_tag(name).unwrap_or(false),
    }
}

/// A fresh reader where `reader` stopped, with the namespace scopes of the
/// elements open in `stack` (after broken markup, quick-xml's own state is
/// not to be trusted).
fn reader_at<R: BufRead>(
    reader: NsReader<Replay<R>>,
    doc: &Doc,
    stack: &[u32],
) -> NsReader<Replay<R>> {
    let mut reader = new_reader(reader.into_inner());
    for &i in stack {
        let e = &doc.els[i as usize];
        let start = quick_xml::events::BytesStart::new(&*e.qname).with_attributes(
            e.attrs
                .iter()
                .filter(|a| &*a.qname == "xmlns" || a.qname.starts_with("xmlns:"))
                .map(|a| (&*a.qname, a.value.as_str())),
        );
        // Bindings past quick-xml's own cap were refused when first read too.
        let _ = reader.resolver_mut().push(&start);
    }
    reader
}

/// A bounded element tree of one XML document.
struct Doc {
    els: Vec<Element>,
    bases: Vec<Url>,
    root: Option<u32>,
    /// The XML error that stopped reading, if any (what was read before it is kept).
    error: Option<String>,
    /// Entries mapped as they closed, by element index (ascending): their
    /// subtrees are gone from `els`. `None`: an entry with nothing in it.
    premapped: RefCell<Vec<(u32, Option<Built>)>>,
    /// What was left out, for [`IncomingFeed::notes`].
    notes: Vec<String>,
    /// The entries mapped and kept, as (element, date, bytes held): at most
    /// [`MAX_ENTRIES`] holding at most [`MAX_FEED_CONTENT_BYTES`], the
    /// newest by date (see [`Doc::keep_newest`]).
    kept: Vec<(u32, i64, usize)>,
    /// How many entries were mapped in all, once some were let go.
    capped_from: Option<usize>,
    /// Each `xmlns:prefix` declaration's first URI (a few dozen at most), to
    /// declare again in content that uses the prefix (`xlink:href` in MathML).
    prefixes: Vec<(Box<str>, Box<str>)>,
}

/// The entry being read, in [`Doc::build`].
struct OpenEntry {
    idx: u32,
    atom: bool,
    /// The stack's length below it: it is closed when the stack is this short.
    depth: usize,
    /// `Doc::bases` before it: its own bases go with its subtree.
    bases: usize,
    /// Its share of the tree so far.
    bytes: usize,
    /// Over [`MAX_ENTRY_BYTES`]: the rest of it is not read.
    cut: bool,
    /// The element it is a child of (let go from there if it is not kept).
    parent: u32,
}

/// What the document's entries came to, for the notes.
#[derive(Default)]
struct EntryCounts {
    /// Elements nested below [`MAX_DEPTH`] (their text flattened).
    deep: usize,
    cut: usize,
    /// Entries mapped, then let go for newer ones ([`Doc::keep_newest`]).
    let_go: usize,
    content_bytes: usize,
}

fn attr_bytes(attrs: &[Attr]) -> usize {
    attrs
        .iter()
        .map(|a| 32 + a.qname.len() + a.value.len())
        .sum()
}

impl Doc {
    /// Builds the tree from UTF-8 XML, a buffered event at a time. Entries
    /// where a feed puts them (Atom `entry` in `feed`, RSS `item` in
    /// `channel`, `rss` or `rdf:RDF`) are mapped when they close and their
    /// subtrees dropped, within the limits in the module docs. A root in an
    /// unknown namespace named like a feed (a made-up RSS namespace) has its
    /// namespace read as none.
    fn build(input: impl BufRead, doc_base: Option<&Url>, feed_url: &str) -> Doc {
        let mut doc = Doc {
            els: Vec::new(),
            bases: Vec::new(),
            root: None,
            error: None,
            premapped: RefCell::new(Vec::new()),
            notes: Vec::new(),
            kept: Vec::new(),
            capped_from: None,
            prefixes: Vec::new(),
        };
        let mut alias: Option<String> = None;
        let ns_of = |uri: &str, alias: &Option<String>| {
            if Some(uri) == alias.as_deref() {
                Ns::None
            } else {
                Ns::from_uri(uri)
            }
        };
        let top_base = match doc_base {
            Some(u) => {
                doc.bases.push(u.clone());
                0
            }
            None => NO_BASE,
        };
        let mut reader = new_reader(Replay::new(input));

        let mut buf = Vec::new();
        let mut stack: Vec<u32> = Vec::new();
        // Depth of elements below MAX_DEPTH: their text is kept, flattened
        // into the deepest element kept.
        let mut deep: usize = 0;
        // Depth of elements not read at all (an entry's rest past its cap, an
        // entry past the document's limits).
        let mut dropped: usize = 0;
        let mut entry: Option<OpenEntry> = None;
        let mut counts = EntryCounts::default();
        // The tree's bytes, as `ELEMENT_BYTES`, names, attributes and text.
        let mut bytes: usize = 0;
        // Character references to 0x80..0xFF in a row, held as bytes until
        // the run ends (see `push_ref_bytes`).
        let mut ref_bytes: Vec<u8> = Vec::new();
        // What one reference stands for (`&amp;` is an event of its own in
        // escaped HTML: one buffer for all, not a string each).
        let mut ref_text = String::new();
        // Writes out the run of references held in `ref_bytes`.
        macro_rules! flush_refs {
            () => {
                doc.push_ref_bytes(
                    &stack,
                    dropped,
                    &mut entry,
                    &mut bytes,
                    &mut ref_bytes,
                    &mut counts,
                )
            };
        }
        // The name entries were last seen under (`entry`, `item`, `rss:item`).
        let mut entry_name: Option<Box<str>> = None;
        // A markup error or a broken tag inside an entry costs that entry's
        // rest, never the entries after it: the entry is closed with what
        // was read of it, and reading resumes after its end tag (looked for
        // in `$raw`, what the broken markup swallowed, then in what follows).
        macro_rules! resume_after_entry {
            ($raw:expr) => {{
                match entry.take() {
                    Some(en) => {
                        let name = doc.els[en.idx as usize].qname.to_string();
                        let found = resume_after_end_tag(&mut reader, $raw, &name);
                        stack.truncate(en.depth);
                        deep = 0;
                        dropped = 0;
                        bytes -= doc.close_entry(en, feed_url, &mut counts);
                        if found && !stack.is_empty() {
                            reader = reader_at(reader, &doc, &stack);
                            true
                        } else {
                            false
                        }
                    }
                    None => false,
                }
            }};
        }
        loop {
            buf.clear();
            let (ns, event) = match reader.read_resolved_event_into(&mut buf) {
                Ok((res, ev)) => {
                    let ns = match res {
                        ResolveResult::Bound(n) => {
                            let uri = n.0;
                            if doc.root.is_none()
                                && let Event::Start(e) | Event::Empty(e) = &ev
                            {
                                let name = e.local_name();
                                let local: &str = name.as_ref();
                                let named_like_a_feed = ["feed", "rss", "rdf", "channel"]
                                    .iter()
                                    .any(|n| local.eq_ignore_ascii_case(n));
                                if Ns::from_uri(uri) == Ns::Other && named_like_a_feed {
                                    alias = Some(uri.to_string());
                                }
                            }
                            ns_of(uri, &alias)
                        }
                        ResolveResult::Unknown(p) => Ns::from_undeclared_prefix(&p),
                        ResolveResult::Unbound => Ns::None,
                    };
                    (ns, ev)
                }
                Err(e) => {
                    flush_refs!();
                    let at = reader.error_position();
                    let swallowed = std::mem::take(&mut buf);
                    if resume_after_entry!(&swallowed) {
                        continue;
                    }
                    // Between entries (an entry's own start tag broken, say):
                    // reading resumes after the next entry's end.
                    if let Some(name) = entry_name.clone().filter(|_| !stack.is_empty())
                        && entry.is_none()
                        && resume_after_end_tag(&mut reader, &swallowed, &name)
                    {
                        deep = 0;
                        dropped = 0;
                        reader = reader_at(reader, &doc, &stack);
                        continue;
                    }
                    doc.error = Some(format!("{e} (at byte {at})"));
                    break;
                }
            };
            // A run of references to 0x80..0xFF is held until it ends (see
            // `push_ref_bytes`); anything else ends it.
            if !matches!(event, Event::GeneralRef(_)) && !ref_bytes.is_empty() {
                flush_refs!();
            }
            match event {
                Event::Start(ref e) | Event::Empty(ref e) => {
                    let empty = matches!(event, Event::Empty(_));
                    let opens = usize::from(!empty);
                    if dropped == 0 {
                        let raw = || {
                            let mut raw = Vec::with_capacity(e.len() + 3);
                            raw.push(b'<');
                            raw.extend_from_slice(e.as_bytes());
                            raw.extend_from_slice(if empty { b"/>" } else { b">" });
                            raw
                        };
                        // `a < b` or `x <= y` in text is no tag (XML says it
                        // is an error; HTML reads it as text, and so do we).
                        let name_start = e.name().as_ref().as_bytes().first().copied();
                        if !name_start
                            .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c >= 0x80)
                            && !stack.is_empty()
                        {
                            doc.push_text(
                                &stack,
                                dropped + deep,
                                &mut entry,
                                &mut bytes,
                                "<",
                                &mut counts,
                            );
                            reader.get_mut().unread(&raw()[1..]);
                            reader = reader_at(reader, &doc, &stack);
                            continue;
                        }
                        // An entry's start tag with markup in its attributes
                        // is broken (a quote left open): that entry is skipped.
                        let qname: &str = e.name().into_inner();
                        if matches!(local_part(qname), "entry" | "item")
                            && (ns.is_atom() || ns.is_rss())
                        {
                            let name = qname.to_string();
                            if !stack.is_empty()
                                && entry.is_none()
                                && e.attributes_raw().contains('<')
                                && resume_after_end_tag(&mut reader, &raw(), &name)
                            {
                                entry_name = Some(name.into());
                                reader = reader_at(reader, &doc, &stack);
                                continue;
                            }
                            entry_name = Some(name.into());
                        }
                        // A quote left open in a tag swallows markup up to the
                        // next quote: a "tag" holding its entry's end tag is such a one.
                        // (Almost no tag has a `<` in it: only those are searched.)
                        if let Some(en) = &entry
                            && memchr::memchr(b'<', e.attributes_raw().as_bytes()).is_some()
                        {
                            let end = [b"</", doc.els[en.idx as usize].qname.as_bytes()].concat();
                            if stream::find(e.attributes_raw().as_bytes(), &end).is_some()
                                && resume_after_entry!(&raw())
                            {
                                continue;
                            }
                        }
                    }
                    if dropped > 0 {
                        dropped += opens;
                        continue;
                    }
                    if deep > 0 || stack.len() >= MAX_DEPTH {
                        deep += opens;
                        counts.deep += 1;
                        continue;
                    }
                    if entry.as_ref().is_some_and(|en| en.cut) {
                        dropped = opens;
                        continue;
                    }
                    if stack.is_empty() && doc.root.is_some() {
                        // A second root element: the document is over.
                        break;
                    }
                    if doc.els.len() >= MAX_ELEMENTS {
                        doc.error = Some(format!("more than {MAX_ELEMENTS} elements"));
                        break;
                    }
                    let name = e.name();
                    let qname: &str = name.as_ref();
                    // Some(true): an Atom entry; Some(false): an RSS item.
                    let starts_entry =
                        stack
                            .last()
                            .filter(|_| entry.is_none())
                            .and_then(|&parent| {
                                let local = local_part(qname);
                                match root_kind(&doc, parent)? {
                                    RootKind::Atom => {
                                        (local == "entry" && ns.is_atom()).then_some(true)
                                    }
                                    RootKind::Rss | RootKind::Rdf => {
                                        (local == "item" && ns.is_rss()).then_some(false)
                                    }
                                    RootKind::AtomEntry => None,
                                }
                            });
                    let parent_base = stack.last().map_or(top_base, |&p| doc.els[p as usize].base);
                    let bases_before = doc.bases.len();
                    let mut attrs = Vec::new();
                    let mut base = parent_base;
                    for a in e
                        .html_attributes()
                        .with_checks(false)
                        .take(MAX_ATTRIBUTES)
                        .flatten()
                    {
                        let key: &str = a.key.as_ref();
                        let ans = if key.starts_with("xml:") {
                            Ns::Xml
                        } else if key == "xmlns" || key.starts_with("xmlns:") {
                            Ns::Other
                        } else {
                            match reader.resolver().resolve_attribute(a.key).0 {
                                ResolveResult::Bound(n) => ns_of(n.0, &alias),
                                ResolveResult::Unknown(p) => Ns::from_undeclared_prefix(&p),
                                ResolveResult::Unbound => Ns::None,
                            }
                        };
                        let value = unescape(&a.value);
                        if let Some(prefix) = key.strip_prefix("xmlns:")
                            && doc.prefixes.len() < MAX_ATTRIBUTES
                            && !doc.prefixes.iter().any(|(p, _)| **p == *prefix)
                        {
                            doc.prefixes.push((prefix.into(), value.as_str().into()));
                        }
                        if key == "xml:base" {
                            let parent =
                                (parent_base != NO_BASE).then(|| &doc.bases[parent_base as usize]);
                            if let Some(u) = resolve_base(value.trim(), parent) {
                                doc.bases.push(u);
                                base = (doc.bases.len() - 1) as u32;
                            }
                        }
                        attrs.push(Attr {
                            ns: ans,
                            qname: key.into(),
                            value,
                        });
                    }
                    let cost = ELEMENT_BYTES + qname.len() + attr_bytes(&attrs);
                    if let Some(en) = entry.as_mut()
                        && en.bytes + cost > MAX_ENTRY_BYTES
                    {
                        doc.bases.truncate(bases_before);
                        en.cut = true;
                        counts.cut += 1;
                        dropped = opens;
                        continue;
                    }
                    if entry.is_none() && starts_entry.is_none() && bytes + cost > MAX_TREE_BYTES {
                        doc.error = Some(over_tree(reader.buffer_position()));
                        break;
                    }
                    bytes += cost;
                    let idx = doc.els.len() as u32;
                    doc.els.push(Element {
                        ns,
                        qname: qname.into(),
                        local_at: qname.rfind(':').map_or(0, |c| c as u32 + 1),
                        attrs,
                        children: Vec::new(),
                        base,
                    });
                    match stack.last() {
                        Some(&p) => doc.els[p as usize].children.push(Node::El(idx)),
                        None => doc.root = Some(idx),
                    }
                    if let Some(en) = entry.as_mut() {
                        en.bytes += cost;
                    } else if let Some(atom) = starts_entry {
                        entry = Some(OpenEntry {
                            idx,
                            atom,
                            depth: stack.len(),
                            bases: bases_before,
                            bytes: cost,
                            cut: false,
                            parent: stack.last().copied().unwrap_or(idx),
                        });
                    }
                    if !empty {
                        stack.push(idx);
                    } else if let Some(en) = entry.take_if(|en| en.idx == idx) {
                        bytes -= doc.close_entry(en, feed_url, &mut counts);
                    }
                }
                Event::End(ref e) => {
                    if dropped > 0 {
                        dropped -= 1;
                        continue;
                    }
                    if deep > 0 {
                        deep -= 1;
                        continue;
                    }
                    // An end tag closes the nearest open element of that name
                    // (and any left unclosed inside it); a stray one is ignored.
                    let name = e.name();
                    let name: &str = name.as_ref();
                    if let Some(pos) = stack
                        .iter()
                        .rposition(|&i| &*doc.els[i as usize].qname == name)
                        // Closing more than the innermost element is the case to look at.
                        .filter(|&pos| {
                            pos + 1 == stack.len()
                                || !doc.stray_end(reader.get_mut(), &stack, entry.as_ref(), pos)
                        })
                    {
                        stack.truncate(pos);
                        if let Some(en) = entry.take_if(|en| stack.len() <= en.depth) {
                            bytes -= doc.close_entry(en, feed_url, &mut counts);
                        }
                        if stack.is_empty() {
                            break;
                        }
                    }
                    // quick-xml's namespace scopes follow its own count of
                    // start and end tags; keep them those of the elements
                    // still open here, so that a `<br>` left open inside
                    // XHTML content cannot leave its `xmlns` in force for the
                    // entries after it (the +1 is the pop quick-xml has pending).
                    let open = stack.len();
                    reader
                        .resolver_mut()
                        .set_level(u16::try_from(open + 1).unwrap_or(u16::MAX));
                }
                Event::Text(ref t) => {
                    let text = t.xml10_content();
                    doc.push_text(&stack, dropped, &mut entry, &mut bytes, &text, &mut counts);
                }
                Event::CData(ref t) => {
                    let text = t.xml10_content();
                    doc.push_text(&stack, dropped, &mut entry, &mut bytes, &text, &mut counts);
                }
                Event::GeneralRef(ref r) => {
                    let c = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c),
                        // `&lt;` and the like: not characters to hold as bytes.
                        Ok(None) if quick_xml::escape::resolve_predefined_entity(r).is_none() => {
                            html_entity(r)
                        }
                        _ => None,
                    };
                    if let Some(c) = c.filter(|c| (0x80..=0xFF).contains(&u32::from(*c))) {
                        ref_bytes.push(u32::from(c) as u8);
                        continue;
                    }
                    flush_refs!();
                    let s = &mut ref_text;
                    s.clear();
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => s.push(char_from_reference(c as u32, true)),
                        Ok(None) => push_named_entity(s, r),
                        // `&#X41;`: quick-xml reads only a lower-case `x`.
                        Err(_) => s.push_str(&decode_entities(&format!("&{};", &**r), true)),
                    }
                    doc.push_text(&stack, dropped, &mut entry, &mut bytes, s, &mut counts);
                }
                Event::Eof => break,
                // DocType (never processed), comments, processing instructions.
                _ => {}
            }
            if bytes > MAX_TREE_BYTES + MAX_ENTRY_BYTES {
                doc.error = Some(over_tree(reader.buffer_position()));
                break;
            }
        }
        if doc.error.is_none() && !stack.is_empty() {
            doc.error = Some("the document ends before its elements are closed".into());
        }
        doc.note_counts(&counts);
        doc
    }

    /// Maps a closed entry, drops its subtree, and returns the tree bytes freed.
    fn close_entry(&mut self, en: OpenEntry, feed_url: &str, counts: &mut EntryCounts) -> usize {
        let built = {
            let m = Mapper {
                doc: self,
                feed_url,
            };
            if en.atom {
                m.atom_entry(en.idx, None)
            } else {
                m.rss_item(en.idx, None)
            }
        };
        // What the entry holds: its HTML, or its tree where that is more
        // (a huge title, say).
        let html = built.as_ref().map_or(0, |(e, _)| {
            e.content_html.as_ref().map_or(0, String::len)
                + e.summary_html.as_ref().map_or(0, String::len)
        });
        let date = built
            .as_ref()
            .map(|(e, _)| e.published.or(e.updated).unwrap_or(i64::MIN));
        self.els.truncate(en.idx as usize + 1);
        let el = &mut self.els[en.idx as usize];
        el.children = Vec::new();
        el.attrs = Vec::new();
        self.bases.truncate(en.bases);
        self.premapped.get_mut().push((en.idx, built));
        if let Some(date) = date {
            let held = html.max(en.bytes);
            counts.content_bytes += held;
            self.kept.push((en.idx, date, held));
            self.keep_newest(en.parent, counts);
        }
        en.bytes
    }

    /// The per-poll entry cap, kept while streaming: past [`MAX_ENTRIES`]
    /// entries, or [`MAX_FEED_CONTENT_BYTES`] of them, the oldest by date is
    /// let go (undated ones count as oldest; among equal dates the later in
    /// the document goes), so a feed that lists its oldest entries first
    /// still keeps its newest, and what is held stays bounded.
    fn keep_newest(&mut self, parent: u32, counts: &mut EntryCounts) {
        while self.kept.len() > MAX_ENTRIES
            || (self.kept.len() > 1 && counts.content_bytes > MAX_FEED_CONTENT_BYTES)
        {
            let Some(at) = (0..self.kept.len())
                .min_by_key(|&i| (self.kept[i].1, std::cmp::Reverse(self.kept[i].0)))
            else {
                return;
            };
            let (idx, _, held) = self.kept.remove(at);
            counts.content_bytes -= held;
            counts.let_go += 1;
            let premapped = self.premapped.get_mut();
            if let Ok(p) = premapped.binary_search_by_key(&idx, |(i, _)| *i) {
                premapped.remove(p);
            }
            if let Some(el) = self.els.get_mut(parent as usize) {
                el.children
                    .retain(|n| !matches!(n, Node::El(i) if *i == idx));
            }
        }
        if counts.let_go > 0 {
            self.capped_from = Some(self.kept.len() + counts.let_go);
        }
    }

    fn note_counts(&mut self, counts: &EntryCounts) {
        let kib = |b: usize| b / 1024;
        if counts.deep > 0 {
            self.notes.push(format!(
                "{} nested deeper than {MAX_DEPTH} levels: kept as their text",
                plural(counts.deep, "element", "elements")
            ));
        }
        if counts.cut > 0 {
            self.notes.push(format!(
                "{} cut short: an entry is read up to {} KiB",
                plural(counts.cut, "entry", "entries"),
                kib(MAX_ENTRY_BYTES)
            ));
        }
    }

    /// The entry this element was, mapped when it closed (taken: asked once).
    fn take_premapped(&self, i: u32) -> Option<Option<Built>> {
        let mut premapped = self.premapped.borrow_mut();
        let at = premapped.binary_search_by_key(&i, |(idx, _)| *idx).ok()?;
        Some(premapped[at].1.take())
    }

    /// Whether an end tag that would close `stack[pos]` is a stray one inside
    /// an entry's field (say a `</entry>` in its XHTML content): it would
    /// close the entry while one of its fields is open, and that field's own
    /// end tag comes before the next entry starts (looked for in the next
    /// 64 KiB; past them, the end tag is taken as it is).
    fn stray_end<R: BufRead>(
        &self,
        input: &mut Replay<R>,
        stack: &[u32],
        entry: Option<&OpenEntry>,
        pos: usize,
    ) -> bool {
        let Some(en) = entry else {
            return false;
        };
        let Some(&field) = stack.get(en.depth + 1) else {
            return false;
        };
        if pos > en.depth {
            return false;
        }
        let Ok(rest) = input.peek(64 * 1024) else {
            return false;
        };
        let field_end = stream::find(
            rest,
            &[b"</", self.els[field as usize].qname.as_bytes()].concat(),
        );
        let start = [b"<", self.els[en.idx as usize].qname.as_bytes()].concat();
        let mut next_entry = None;
        let mut from = 0;
        while let Some(i) = stream::find(&rest[from..], &start) {
            let at = from + i;
            if rest
                .get(at + start.len())
                .is_some_and(|&c| c == b'>' || c == b'/' || c.is_ascii_whitespace())
            {
                next_entry = Some(at);
                break;
            }
            from = at + start.len();
        }
        match (field_end, next_entry) {
            (Some(f), Some(n)) => f < n,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// A run of references to 0x80..0xFF: UTF-8 written out byte by byte
    /// (`&#226;&#128;&#166;`, text double-encoded on its way) is read as the
    /// UTF-8 it is; otherwise each is its character (0x80..0x9F as windows-1252).
    fn push_ref_bytes(
        &mut self,
        stack: &[u32],
        dropped: usize,
        entry: &mut Option<OpenEntry>,
        bytes: &mut usize,
        run: &mut Vec<u8>,
        counts: &mut EntryCounts,
    ) {
        if run.is_empty() {
            return;
        }
        let text = match std::str::from_utf8(run) {
            Ok(utf8) => utf8.to_string(),
            Err(_) => run
                .iter()
                .map(|&b| char_from_reference(u32::from(b), true))
                .collect(),
        };
        self.push_text(stack, dropped, entry, bytes, &text, counts);
        run.clear();
    }

    /// Text goes to the innermost element read: below MAX_DEPTH that is the
    /// deepest element kept (the text is flattened into it, not lost); in an
    /// entry cut short, or in elements not read, it goes nowhere.
    fn push_text(
        &mut self,
        stack: &[u32],
        dropped: usize,
        entry: &mut Option<OpenEntry>,
        bytes: &mut usize,
        text: &str,
        counts: &mut EntryCounts,
    ) {
        if dropped > 0 || text.is_empty() {
            return;
        }
        if let Some(en) = entry.as_mut() {
            if en.cut {
                return;
            }
            if en.bytes + text.len() > MAX_ENTRY_BYTES {
                en.cut = true;
                counts.cut += 1;
                return;
            }
            en.bytes += text.len();
        }
        *bytes += text.len();
        let Some(&top) = stack.last() else { return };
        let children = &mut self.els[top as usize].children;
        if let Some(Node::Text(last)) = children.last_mut() {
            last.push_str(text);
        } else {
            children.push(Node::Text(text.to_string()));
        }
    }

    fn el(&self, i: u32) -> &Element {
        &self.els[i as usize]
    }

    /// Child elements, in order.
    fn kids(&self, i: u32) -> impl Iterator<Item = u32> + '_ {
        self.el(i).children.iter().filter_map(|n| match n {
            Node::El(c) => Some(*c),
            Node::Text(_) => None,
        })
    }

    fn has_element_children(&self, i: u32) -> bool {
        self.kids(i).next().is_some()
    }

    /// The first child element matching the namespace test and local name.
    fn child(&self, i: u32, ns: impl Fn(Ns) -> bool, local: &str) -> Option<u32> {
        self.kids(i).find(|&c| {
            let e = self.el(c);
            ns(e.ns) && e.local() == local
        })
    }

    fn children_named<'a>(
        &'a self,
        i: u32,
        ns: impl Fn(Ns) -> bool + 'a,
        local: &'a str,
    ) -> impl Iterator<Item = u32> + 'a {
        self.kids(i).filter(move |&c| {
            let e = self.el(c);
            ns(e.ns) && e.local() == local
        })
    }

    /// An attribute without namespace (`href`, `type`...).
    fn attr(&self, i: u32, local: &str) -> Option<&str> {
        self.el(i)
            .attrs
            .iter()
            .find(|a| a.ns == Ns::None && &*a.qname == local)
            .map(|a| a.value.as_str())
    }

    fn attr_ns(&self, i: u32, ns: Ns, local: &str) -> Option<&str> {
        self.el(i)
            .attrs
            .iter()
            .find(|a| a.ns == ns && local_part(&a.qname) == local)
            .map(|a| a.value.as_str())
    }

    /// All text below the element, concatenated.
    fn text(&self, i: u32) -> String {
        let mut out = String::new();
        self.collect_text(i, &mut out);
        out
    }

    fn collect_text(&self, i: u32, out: &mut String) {
        for n in &self.el(i).children {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::El(c) => self.collect_text(*c, out),
            }
        }
    }

    /// Trimmed text, None when empty.
    fn text_opt(&self, i: u32) -> Option<String> {
        let t = self.text(i);
        let t = t.trim();
        (!t.is_empty()).then(|| t.to_string())
    }

    /// The element's content serialized as (X)HTML markup.
    fn inner_xml(&self, i: u32) -> String {
        let mut out = String::new();
        let mut declared = Vec::new();
        for n in &self.el(i).children {
            self.serialize(n, &mut out, &mut declared);
        }
        out
    }

    /// `declared`: the prefixes declared by the elements written around this one.
    fn serialize<'a>(&'a self, n: &'a Node, out: &mut String, declared: &mut Vec<&'a str>) {
        match n {
            Node::Text(t) => escape_into(t, false, out),
            Node::El(c) => {
                let e = self.el(*c);
                let scope = declared.len();
                // XHTML elements become plain HTML names; others keep their prefix.
                let name = if e.ns == Ns::Xhtml {
                    e.local()
                } else {
                    &e.qname
                };
                out.push('<');
                out.push_str(name);
                for a in &e.attrs {
                    let is_decl = &*a.qname == "xmlns" || a.qname.starts_with("xmlns:");
                    if is_decl && Ns::from_uri(&a.value) == Ns::Xhtml {
                        continue;
                    }
                    if let Some(prefix) = a.qname.strip_prefix("xmlns:") {
                        declared.push(prefix);
                    }
                    out.push(' ');
                    out.push_str(&a.qname);
                    out.push_str("=\"");
                    escape_into(&a.value, true, out);
                    out.push('"');
                }
                // Prefixes declared outside the content (on the feed, say)
                // are declared here, where the content first uses them.
                // (Only names in namespaces this module does not know: the
                // cheap test, as every element of every XHTML content is here.)
                let used = std::iter::once((e.ns, name))
                    .chain(e.attrs.iter().map(|a| (a.ns, &*a.qname)))
                    .filter(|(ns, _)| *ns == Ns::Other)
                    .filter_map(|(_, q)| q.split_once(':').map(|(p, _)| p))
                    .filter(|p| !matches!(*p, "xml" | "xmlns"));
                for prefix in used {
                    if declared.contains(&prefix) {
                        continue;
                    }
                    if let Some((p, uri)) = self.prefixes.iter().find(|(p, _)| **p == *prefix) {
                        out.push_str(" xmlns:");
                        out.push_str(p);
                        out.push_str("=\"");
                        escape_into(uri, true, out);
                        out.push('"');
                        declared.push(p);
                    }
                }
                if is_void_element(e.local()) {
                    // A `<br>` left open holds what followed it: that comes after it.
                    out.push_str(" />");
                    declared.truncate(scope);
                    for child in &e.children {
                        self.serialize(child, out, declared);
                    }
                    return;
                }
                out.push('>');
                for child in &e.children {
                    self.serialize(child, out, declared);
                }
                declared.truncate(scope);
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
        }
    }

    fn base(&self, i: u32) -> Option<&Url> {
        let b = self.el(i).base;
        (b != NO_BASE).then(|| &self.bases[b as usize])
    }

    /// The element's base as a string (what `base_url` carries).
    fn base_string(&self, i: u32, feed_url: &str) -> String {
        self.base(i)
            .map_or_else(|| feed_url.to_string(), |u| u.to_string())
    }

    /// A URL attribute or text, resolved against the element's base.
    fn url(&self, i: u32, raw: &str) -> Option<String> {
        resolve_url(raw, self.base(i))
    }
}

/// `xml:base` values: resolved against the parent base; only http(s) kept
/// (a `javascript:` or malformed base is ignored and the parent's stays).
fn resolve_base(value: &str, parent: Option<&Url>) -> Option<Url> {
    let u = match parent {
        Some(p) => p.join(value).ok()?,
        None => Url::parse(value).ok()?,
    };
    matches!(u.scheme(), "http" | "https").then_some(u)
}

/// A link resolved against `base`. Absolute URLs come back normalised by the
/// URL parser; a relative one without a base comes back as written.
fn resolve_url(raw: &str, base: Option<&Url>) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match Url::parse(raw) {
        Ok(u) => Some(u.to_string()),
        Err(url::ParseError::RelativeUrlWithoutBase) => match base.map(|b| b.join(raw)) {
            Some(Ok(u)) => Some(u.to_string()),
            _ => Some(raw.to_string()),
        },
        Err(_) => Some(raw.to_string()),
    }
}

fn is_void_element(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
    )
}

fn escape_into(s: &str, attr: bool, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// HTML-escapes plain text.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    escape_into(s, true, &mut out);
    out
}

/// An entity reference that is not a character reference: the five XML ones,
/// then HTML's named entities (feeds use them without declaring them), else
/// kept literally. Entities declared in a DTD are never expanded.
fn push_named_entity(out: &mut String, name: &str) {
    match quick_xml::escape::resolve_predefined_entity(name) {
        Some(s) => out.push_str(s),
        None => match html_entity(name) {
            Some(c) => out.push(c),
            None => {
                out.push('&');
                out.push_str(name);
                out.push(';');
            }
        },
    }
}

/// Unescapes an attribute value leniently: character references, the XML and
/// HTML named entities; anything else (a bare `&`, an unknown name) is kept.
fn unescape(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_string();
    }
    decode_entities(raw, false)
}

/// Decodes character references and named entities in `s`. With `html`,
/// numeric references in 0x80..0x9F are read as windows-1252 (as browsers do).
fn decode_entities(s: &str, html: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map(|e| e + 1);
        let decoded = match end {
            Some(e) if rest[e..].starts_with(';') && e > 1 => {
                let name = &rest[1..e];
                let c = if let Some(num) = name.strip_prefix('#') {
                    let n = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => num.parse::<u32>().ok(),
                    };
                    n.map(|n| char_from_reference(n, html))
                } else {
                    quick_xml::escape::resolve_predefined_entity(name)
                        .and_then(|s| s.chars().next())
                        .or_else(|| html_entity(name))
                };
                c.map(|c| (c, e + 1))
            }
            _ => None,
        };
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

fn char_from_reference(n: u32, html: bool) -> char {
    if html && (0x80..0xA0).contains(&n) {
        let b = [n as u8];
        return encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(&b)
            .0
            .chars()
            .next()
            .unwrap_or('\u{FFFD}');
    }
    match char::from_u32(n) {
        Some('\0') | None => '\u{FFFD}',
        Some(c) => c,
    }
}

// ---------------------------------------------------------------------------
// Text

/// A text construct's value: plain text or HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Text {
    Plain(String),
    Html(String),
}

impl Text {
    fn into_html(self) -> Option<String> {
        let s = match self {
            Text::Plain(t) => escape_html(t.trim()),
            Text::Html(h) => h.trim().to_string(),
        };
        (!s.is_empty()).then_some(s)
    }

    fn into_plain(self) -> Option<String> {
        let s = match self {
            Text::Plain(t) => collapse_whitespace(&t),
            Text::Html(h) => html_to_text(&h),
        };
        (!s.is_empty()).then_some(s)
    }
}

/// Plain text that may really be HTML (RSS titles, JSON Feed titles): treated
/// as HTML when it contains a tag or an entity reference.
fn maybe_html(s: String) -> Text {
    if looks_like_markup(&s) {
        Text::Html(s)
    } else {
        Text::Plain(s)
    }
}

fn looks_like_markup(s: &str) -> bool {
    let b = s.as_bytes();
    let last_gt = b.iter().rposition(|&c| c == b'>');
    b.iter().enumerate().any(|(i, &c)| match c {
        b'<' => {
            b.get(i + 1)
                .is_some_and(|n| n.is_ascii_alphabetic() || *n == b'/' || *n == b'!')
                && last_gt.is_some_and(|g| g > i)
        }
        b'&' => {
            let rest = &s[i + 1..];
            let name_len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
                .unwrap_or(rest.len());
            name_len > 0
                && rest[name_len..].starts_with(';')
                && decode_entities(&s[i..i + name_len + 2], true) != s[i..i + name_len + 2]
        }
        _ => false,
    })
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// HTML to one line of plain text: tags dropped (with `script`/`style`
/// content), an image's `alt` kept, entities decoded, whitespace collapsed.
/// Only markup is dropped: a `<` that starts no known HTML element (and no
/// element closed later on), as in `History of the <blink> tag`, is text.
/// (Also what a reply shows of its parent's stored HTML.)
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let b = html.as_bytes();
    // Names that have an end tag somewhere: an unknown element closed later is markup.
    let mut closed: Option<HashSet<String>> = None;
    let mut i = 0;
    let mut text_start = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        let next = b.get(i + 1).copied().unwrap_or(b' ');
        if !(next.is_ascii_alphabetic() || next == b'/' || next == b'!' || next == b'?') {
            i += 1;
            continue;
        }
        // Find the end of the tag (quotes respected), or of the comment.
        let end = if html[i..].starts_with("<!--") {
            // A comment never closed ends at the next `>`, not with the text.
            html[i + 4..]
                .find("-->")
                .map(|e| i + 4 + e + 3)
                .or_else(|| html[i..].find('>').map(|g| i + g + 1))
                .unwrap_or(b.len())
        } else {
            let mut j = i + 1;
            let mut quote: Option<u8> = None;
            let mut prev = b' ';
            while j < b.len() {
                let c = b[j];
                match quote {
                    Some(q) if c == q => quote = None,
                    Some(_) => {}
                    None if (c == b'"' || c == b'\'') && prev == b'=' => quote = Some(c),
                    None if c == b'>' => break,
                    None => {}
                }
                if !c.is_ascii_whitespace() {
                    prev = c;
                }
                j += 1;
            }
            (j + 1).min(b.len())
        };
        let tag = &html[i + 1..end.min(b.len())];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let markup = matches!(next, b'!' | b'?') || is_html_element(&name) || {
            let closed = closed.get_or_insert_with(|| end_tag_names(html));
            closed.contains(&name)
        };
        if !markup {
            i += 1;
            continue;
        }
        out.push_str(&html[text_start..i]);
        // Block elements part words; comments and inline elements do not.
        if !(next == b'!' || is_inline_element(&name)) {
            out.push(' ');
        }
        if name == "img"
            && next != b'/'
            && let Some((_, attrs)) = html_tags(&html[i..end]).into_iter().next()
            && let Some((_, alt)) = attrs.into_iter().find(|(k, _)| k == "alt")
        {
            out.push_str(&alt);
            out.push(' ');
        }
        i = end;
        if (name == "script" || name == "style") && next != b'/' && !b[..end].ends_with(b"/>") {
            i = skip_raw_text(b, i, &name);
        }
        text_start = i;
    }
    if text_start < b.len() {
        out.push_str(&html[text_start..]);
    }
    collapse_whitespace(&decode_entities(&out, true))
}

/// The lower-cased names of every `</name` in `html`.
fn end_tag_names(html: &str) -> HashSet<String> {
    html.match_indices("</")
        .map(|(i, _)| {
            html[i + 2..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .filter(|n| !n.is_empty())
        .collect()
}

/// Elements inside a line of text (`un<b>believ</b>able` is one word).
fn is_inline_element(name: &str) -> bool {
    matches!(
        name,
        "a" | "abbr"
            | "acronym"
            | "b"
            | "bdi"
            | "bdo"
            | "big"
            | "cite"
            | "code"
            | "del"
            | "dfn"
            | "em"
            | "font"
            | "i"
            | "ins"
            | "kbd"
            | "mark"
            | "q"
            | "s"
            | "samp"
            | "small"
            | "span"
            | "strike"
            | "strong"
            | "sub"
            | "sup"
            | "time"
            | "tt"
            | "u"
            | "var"
    )
}

/// HTML's elements (without the obsolete `blink`, `marquee` and the like,
/// which in a title are more often words about them than markup).
fn is_html_element(name: &str) -> bool {
    matches!(
        name,
        "a" | "abbr"
            | "acronym"
            | "address"
            | "area"
            | "article"
            | "aside"
            | "audio"
            | "b"
            | "bdi"
            | "bdo"
            | "big"
            | "blockquote"
            | "body"
            | "br"
            | "button"
            | "caption"
            | "center"
            | "cite"
            | "code"
            | "col"
            | "colgroup"
            | "dd"
            | "del"
            | "details"
            | "dfn"
            | "div"
            | "dl"
            | "dt"
            | "em"
            | "embed"
            | "figcaption"
            | "figure"
            | "font"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "head"
            | "header"
            | "hr"
            | "html"
            | "i"
            | "iframe"
            | "img"
            | "input"
            | "ins"
            | "kbd"
            | "label"
            | "legend"
            | "li"
            | "link"
            | "main"
            | "mark"
            | "math"
            | "meta"
            | "nav"
            | "noscript"
            | "object"
            | "ol"
            | "p"
            | "param"
            | "picture"
            | "pre"
            | "q"
            | "s"
            | "samp"
            | "script"
            | "section"
            | "select"
            | "small"
            | "source"
            | "span"
            | "strike"
            | "strong"
            | "style"
            | "sub"
            | "summary"
            | "sup"
            | "svg"
            | "table"
            | "tbody"
            | "td"
            | "textarea"
            | "tfoot"
            | "th"
            | "thead"
            | "time"
            | "title"
            | "tr"
            | "tt"
            | "u"
            | "ul"
            | "var"
            | "video"
            | "wbr"
    )
}

/// The position after `</name ...>` (ASCII case-insensitive) from `from`, or the end.
fn skip_raw_text(b: &[u8], from: usize, name: &str) -> usize {
    let mut i = from;
    while let Some(off) = b[i..].iter().position(|&c| c == b'<') {
        let at = i + off;
        let close = b.get(at + 1) == Some(&b'/')
            && b.get(at + 2..at + 2 + name.len())
                .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()));
        if close {
            return b[at..]
                .iter()
                .position(|&c| c == b'>')
                .map_or(b.len(), |g| at + g + 1);
        }
        i = at + 1;
    }
    b.len()
}

// ---------------------------------------------------------------------------
// XML feeds

fn parse_xml(
    text: impl BufRead,
    head: &[u8],
    feed_url: &str,
    doc_base: Option<&Url>,
) -> Result<IncomingFeed, ParseError> {
    let bytes = head;
    let doc = Doc::build(text, doc_base, feed_url);
    let Some(root) = doc.root else {
        if looks_like_html(bytes) {
            return Err(ParseError::NotAFeed("looks like an HTML page".into()));
        }
        return Err(match &doc.error {
            Some(e) => ParseError::Malformed(format!("not well-formed XML: {e}")),
            None => ParseError::NotAFeed("an XML document without elements".into()),
        });
    };
    let Some((kind, el)) = find_feed_root(&doc, root) else {
        let name = doc.el(root).local().to_ascii_lowercase();
        return Err(ParseError::NotAFeed(match name.as_str() {
            "html" | "head" | "body" => "looks like an HTML page".into(),
            "opml" => "an OPML subscription list, not a feed".into(),
            _ if looks_like_html(bytes) => "looks like an HTML page".into(),
            _ => format!(
                "an XML document whose root element is <{}>, not RSS or Atom",
                doc.el(root).qname
            ),
        }));
    };
    let m = Mapper {
        doc: &doc,
        feed_url,
    };
    let mut feed = match kind {
        RootKind::Atom => m.atom_feed(el),
        RootKind::AtomEntry => {
            let mut feed = empty_feed(FeedFormat::Atom);
            feed.entries = settle(m.atom_entry(el, None));
            feed
        }
        RootKind::Rss => m.rss_feed(el, FeedFormat::Rss),
        RootKind::Rdf => m.rss_feed(el, FeedFormat::Rdf),
    };
    if let Some(found) = doc.capped_from {
        feed.capped_from = Some(feed.capped_from.map_or(found, |f| f.max(found)));
    }
    feed.notes = doc.notes;
    if let Some(error) = doc.error {
        feed.notes
            .push(format!("read only up to where it stops: {error}"));
    }
    Ok(feed)
}

/// Why the document is read no further: its tree is over [`MAX_TREE_BYTES`].
fn over_tree(at: u64) -> String {
    format!(
        "more than {} MiB of markup outside entries (at byte {at})",
        MAX_TREE_BYTES >> 20
    )
}

/// "1 entry", "3 entries".
fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RootKind {
    Atom,
    AtomEntry,
    Rss,
    Rdf,
}

fn root_kind(doc: &Doc, el: u32) -> Option<RootKind> {
    let e = doc.el(el);
    match (e.local().to_ascii_lowercase().as_str(), e.ns) {
        ("feed", ns) if ns.is_atom() => Some(RootKind::Atom),
        ("entry", Ns::Atom10 | Ns::Atom03) => Some(RootKind::AtomEntry),
        ("rss", ns) if ns.is_rss() => Some(RootKind::Rss),
        ("channel", ns) if ns.is_rss() => Some(RootKind::Rss),
        ("rdf", Ns::Rdf | Ns::None | Ns::Other) => Some(RootKind::Rdf),
        _ => None,
    }
}

/// The feed element: the root, or (for a feed wrapped in something, such as an
/// XHTML page) the first feed element within the next few levels.
fn find_feed_root(doc: &Doc, root: u32) -> Option<(RootKind, u32)> {
    let mut level = vec![root];
    for _ in 0..4 {
        if let Some(found) = level
            .iter()
            .find_map(|&el| root_kind(doc, el).map(|k| (k, el)))
        {
            return Some(found);
        }
        level = level.iter().flat_map(|&el| doc.kids(el)).collect();
    }
    None
}

fn empty_feed(format: FeedFormat) -> IncomingFeed {
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

/// An entry before its identity is settled.
struct Draft {
    id: Option<String>,
    entry: IncomingEntry,
}

impl Draft {
    fn new(base_url: String) -> Draft {
        Draft {
            id: None,
            entry: IncomingEntry {
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
                base_url,
            },
        }
    }

    /// Identity rule; None for an entry with nothing in it.
    fn finish(mut self, feed_author: Option<&str>) -> Option<Built> {
        let e = &mut self.entry;
        let empty = self.id.is_none()
            && e.link.is_none()
            && e.title.is_none()
            && e.content_html.is_none()
            && e.summary_html.is_none()
            && e.enclosures.is_empty()
            && e.author.is_none()
            && e.published.is_none()
            && e.updated.is_none()
            && e.in_reply_to.is_empty();
        if empty {
            return None;
        }
        if e.author.is_none() {
            e.author = feed_author.map(str::to_string);
        }
        let has_id = self.id.is_some();
        e.identity = match (self.id, &e.link) {
            (Some(id), _) => id,
            (None, Some(link)) => link.clone(),
            (None, None) => content_hash(e),
        };
        Some((self.entry, has_id))
    }
}

/// An entry mapped before the feed's author was known gets it now, as
/// [`Draft::finish`] would have given it.
fn with_feed_author(built: Option<Built>, feed_author: Option<&str>) -> Option<Built> {
    built.map(|(mut e, from_link)| {
        if e.author.is_none() {
            e.author = feed_author.map(str::to_string);
        }
        (e, from_link)
    })
}

/// "sha256:" and the hex digest of title, content and date.
fn content_hash(e: &IncomingEntry) -> String {
    let mut h = Sha256::new();
    h.update(e.title.as_deref().unwrap_or("").as_bytes());
    h.update([0]);
    h.update(
        e.content_html
            .as_deref()
            .or(e.summary_html.as_deref())
            .unwrap_or("")
            .as_bytes(),
    );
    h.update([0]);
    if let Some(d) = e.published.or(e.updated) {
        h.update(d.to_string().as_bytes());
    }
    for x in &e.enclosures {
        h.update([0]);
        h.update(x.url.as_bytes());
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

struct Mapper<'a> {
    doc: &'a Doc,
    feed_url: &'a str,
}

impl Mapper<'_> {
    // --- Atom ---

    fn atom_feed(&self, feed: u32) -> IncomingFeed {
        let d = self.doc;
        let mut out = empty_feed(FeedFormat::Atom);
        out.title = d
            .child(feed, Ns::is_atom, "title")
            .and_then(|t| self.atom_text(t))
            .and_then(Text::into_plain);
        out.home_url = self.atom_alternate(feed);
        out.hub = self.link_rel(feed, Ns::is_atom, "hub");
        out.self_url = self.link_rel(feed, Ns::is_atom, "self");
        out.update_period_minutes = self.sy_period(feed);
        let author = self.atom_author(feed);
        let entries: Vec<u32> = d.children_named(feed, Ns::is_atom, "entry").collect();
        let entries = self.newest(entries, ATOM_PUBLISHED, ATOM_UPDATED, &mut out);
        out.entries = settle(
            entries
                .into_iter()
                .filter_map(|e| self.atom_entry(e, author.as_deref())),
        );
        out
    }

    fn atom_entry(&self, el: u32, feed_author: Option<&str>) -> Option<Built> {
        let d = self.doc;
        if let Some(built) = d.take_premapped(el) {
            return with_feed_author(built, feed_author);
        }
        let content = d.child(el, Ns::is_atom, "content");
        let summary = d.child(el, Ns::is_atom, "summary");
        let base_el = content
            .filter(|&c| d.attr(c, "src").is_none())
            .or(summary)
            .unwrap_or(el);
        let mut draft = Draft::new(d.base_string(base_el, self.feed_url));
        draft.id = d.child(el, Ns::is_atom, "id").and_then(|i| {
            let id = d.text_opt(i)?;
            // An id that is a path (`/2024/post`) is relative to the base, as
            // xml:base says; any other id is kept exactly as written.
            if id.starts_with('/') && !id.starts_with("//") {
                d.url(i, &id)
            } else {
                Some(id)
            }
        });
        let e = &mut draft.entry;
        e.link = self.atom_alternate(el);
        e.title = d
            .child(el, Ns::is_atom, "title")
            .and_then(|t| self.atom_text(t))
            .and_then(Text::into_plain);
        e.content_html = content
            .and_then(|c| self.atom_text(c))
            .and_then(Text::into_html);
        e.summary_html = summary
            .and_then(|s| self.atom_text(s))
            .and_then(Text::into_html);
        e.author = self.atom_author(el).or_else(|| self.rss_author(el));
        e.published = self.first_date(el, ATOM_PUBLISHED);
        e.updated = self.first_date(el, ATOM_UPDATED);
        self.enclosure_links(el, Ns::is_atom, &mut e.enclosures);
        self.media_enclosures(el, &mut e.enclosures);
        self.media_fallbacks(el, e);
        e.in_reply_to = self.in_reply_to(el);
        draft.finish(feed_author)
    }

    /// An entry without a title or text of its own takes its Media RSS ones.
    fn media_fallbacks(&self, el: u32, e: &mut IncomingEntry) {
        if e.content_html.is_none() && e.summary_html.is_none() {
            e.summary_html = self.media_description(el);
        }
        if e.title.is_none() {
            e.title = self
                .media_child(el, "title")
                .and_then(|t| maybe_html(self.doc.text(t)).into_plain());
        }
    }

    /// An Atom text construct (1.0 `type`, 0.3 `type` + `mode`).
    fn atom_text(&self, el: u32) -> Option<Text> {
        let d = self.doc;
        let ty = d
            .attr(el, "type")
            .map(|t| t.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let mode = d
            .attr(el, "mode")
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let kind = match ty.as_str() {
            "" | "text" | "text/plain" => TextKind::Text,
            "html" | "text/html" => TextKind::Html,
            "xhtml" | "application/xhtml+xml" => TextKind::Xhtml,
            t if t.ends_with("+xml") || t.ends_with("/xml") => TextKind::Xhtml,
            t if t.starts_with("text/") => TextKind::Text,
            _ if d.attr(el, "src").is_some() => return None,
            // Other media types are base64 (RFC 4287 4.1.3.3): shown only if
            // they decode to text.
            _ => {
                let raw = base64_decode(&d.text(el))?;
                return String::from_utf8(raw)
                    .ok()
                    .filter(|t| !t.trim().is_empty())
                    .map(Text::Html);
            }
        };
        if mode == "base64" {
            let raw = base64_decode(&d.text(el))?;
            let s = String::from_utf8_lossy(&raw).into_owned();
            return Some(match kind {
                TextKind::Text => Text::Plain(s),
                _ => Text::Html(s),
            });
        }
        if d.attr(el, "src").is_some()
            && !d.has_element_children(el)
            && d.text(el).trim().is_empty()
        {
            return None;
        }
        Some(match kind {
            _ if d.has_element_children(el) => Text::Html(self.xhtml_inner(el)),
            TextKind::Html => Text::Html(d.text(el)),
            TextKind::Text | TextKind::Xhtml => Text::Plain(d.text(el)),
        })
    }

    /// XHTML content: the children of the wrapping `div` when there is exactly one.
    fn xhtml_inner(&self, el: u32) -> String {
        let d = self.doc;
        let only_div = d.el(el).children.iter().all(|n| match n {
            Node::Text(t) => t.trim().is_empty(),
            Node::El(_) => true,
        }) && d.kids(el).count() == 1;
        match d.kids(el).next() {
            Some(div)
                if only_div
                    && d.el(div).local() == "div"
                    && matches!(d.el(div).ns, Ns::Xhtml | Ns::None) =>
            {
                d.inner_xml(div)
            }
            _ => d.inner_xml(el),
        }
    }

    /// The alternate link: the first `rel="alternate"` (or no rel) link to an
    /// HTML page, else the first alternate link of any type.
    fn atom_alternate(&self, el: u32) -> Option<String> {
        let d = self.doc;
        let alternates: Vec<u32> = d
            .children_named(el, Ns::is_atom, "link")
            .filter(|&l| link_rel(d, l) == "alternate")
            .collect();
        let html_like = |l: &u32| {
            d.attr(*l, "type").is_none_or(|t| {
                let t = t.trim().to_ascii_lowercase();
                t.is_empty() || t.starts_with("text/html") || t.starts_with("application/xhtml+xml")
            })
        };
        alternates
            .iter()
            .filter(|l| html_like(l))
            .chain(alternates.iter())
            .find_map(|&l| self.link_href(l))
    }

    /// `href`, or (Atom 0.3 feeds in the wild) the element's text.
    fn link_href(&self, link: u32) -> Option<String> {
        let d = self.doc;
        match d.attr(link, "href") {
            Some(h) => d.url(link, h),
            None => d.url(link, &d.text(link)),
        }
    }

    fn atom_author(&self, el: u32) -> Option<String> {
        let d = self.doc;
        d.children_named(el, Ns::is_atom, "author").find_map(|a| {
            let name = d
                .child(a, |_| true, "name")
                .and_then(|n| d.text_opt(n))
                .map(|n| maybe_html(n).into_plain());
            match name {
                Some(n) => n,
                // Atom 0.3 and odd feeds: an author with only an email, or with text.
                None => d
                    .child(a, |_| true, "email")
                    .and_then(|n| d.text_opt(n))
                    .or_else(|| {
                        if d.has_element_children(a) {
                            None
                        } else {
                            d.text_opt(a).map(|t| person_name(&t))
                        }
                    }),
            }
        })
    }

    // --- RSS 0.9x, 2.0, 1.0, 0.90 ---

    fn rss_feed(&self, root: u32, format: FeedFormat) -> IncomingFeed {
        let d = self.doc;
        let mut out = empty_feed(format);
        let channel = if d.el(root).local().eq_ignore_ascii_case("channel") {
            Some(root)
        } else {
            d.child(root, Ns::is_rss, "channel")
                .or_else(|| d.child(root, |_| true, "channel"))
        };
        if let Some(ch) = channel {
            out.title = self.rss_title(ch);
            out.home_url = self.rss_link(ch).or_else(|| self.atom_in_rss_alternate(ch));
            out.hub = self.link_rel(ch, is_atom_ns, "hub");
            out.self_url = self.link_rel(ch, is_atom_ns, "self");
            out.ttl_minutes = d
                .child(ch, Ns::is_rss, "ttl")
                .and_then(|t| d.text(t).trim().parse().ok());
            out.update_period_minutes = self.sy_period(ch);
        }
        if out.update_period_minutes.is_none() {
            out.update_period_minutes = self.sy_period(root);
        }
        let feed_author = channel.and_then(|ch| {
            d.child(ch, is_dc, "creator")
                .or_else(|| d.child(ch, |n| n == Ns::Itunes, "author"))
                .and_then(|a| d.text_opt(a))
                .and_then(|a| maybe_html(person_name(&a)).into_plain())
                .or_else(|| self.atom_author(ch))
        });
        // Items belong in the channel (RSS 0.91-2.0) or beside it (RSS 1.0, 0.90);
        // both are accepted for every version, and so are items left inside an
        // element that was never closed.
        let mut items: Vec<u32> = Vec::new();
        if let Some(ch) = channel.filter(|&c| c != root) {
            self.find_items(ch, 0, &mut items);
        }
        self.find_items(root, 0, &mut items);
        let items = self.newest(items, RSS_PUBLISHED, RSS_UPDATED, &mut out);
        out.entries = settle(
            items
                .into_iter()
                .filter_map(|i| self.rss_item(i, feed_author.as_deref())),
        );
        out
    }

    fn rss_item(&self, el: u32, feed_author: Option<&str>) -> Option<Built> {
        let d = self.doc;
        if let Some(built) = d.take_premapped(el) {
            return with_feed_author(built, feed_author);
        }
        let mut content = d
            .child(el, |n| n == Ns::Content, "encoded")
            .map(|c| (c, self.rss_html(c)))
            .or_else(|| {
                d.child(el, |n| n == Ns::Xhtml, "body")
                    .map(|b| (b, Text::Html(d.inner_xml(b))))
            })
            .or_else(|| {
                d.child(el, Ns::is_rss, "fullitem")
                    .map(|c| (c, self.rss_html(c)))
            });
        let mut summary = d
            .child(el, Ns::is_rss, "description")
            .or_else(|| d.child(el, is_dc, "description"));
        // A bare `<summary>` (not RSS, but written): beside a description and
        // no other content, the first of the two is the summary, the other
        // the content (as feedparser reads them).
        if let Some(other) = d.child(el, Ns::is_rss, "summary") {
            match summary {
                None => summary = Some(other),
                Some(desc) if content.is_none() => {
                    let (first, second) = if other < desc {
                        (other, desc)
                    } else {
                        (desc, other)
                    };
                    summary = Some(first);
                    content = Some((second, self.rss_html(second)));
                }
                Some(_) => {}
            }
        }
        let base_el = content.as_ref().map(|c| c.0).or(summary).unwrap_or(el);
        let mut draft = Draft::new(d.base_string(base_el, self.feed_url));
        let guid = d.child(el, Ns::is_rss, "guid");
        let guid_text = guid.and_then(|g| d.text_opt(g));
        draft.id = guid_text.clone().or_else(|| {
            d.attr_ns(el, Ns::Rdf, "about")
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
        });
        let e = &mut draft.entry;
        e.title = self.rss_title(el);
        e.link = self
            .rss_link(el)
            .or_else(|| self.atom_in_rss_alternate(el))
            .or_else(|| {
                // RSS 2.0: a guid is a permalink unless isPermaLink="false".
                let permalink = guid
                    .and_then(|g| d.attr(g, "isPermaLink"))
                    .is_none_or(|p| !p.trim().eq_ignore_ascii_case("false"));
                let g = guid_text
                    .as_deref()
                    .filter(|g| permalink && is_http_url(g))?;
                d.url(guid?, g)
            });
        e.content_html = content.and_then(|(_, t)| t.into_html());
        e.summary_html = summary.map(|s| self.rss_html(s)).and_then(Text::into_html);
        e.author = self.rss_author(el).or_else(|| self.atom_author(el));
        e.published = self.first_date(el, RSS_PUBLISHED);
        e.updated = self.first_date(el, RSS_UPDATED);
        for enc in d.children_named(el, Ns::is_rss, "enclosure") {
            let Some(url) = d
                .attr(enc, "url")
                .or_else(|| d.attr(enc, "href"))
                .and_then(|u| d.url(enc, u))
            else {
                continue;
            };
            push_enclosure(
                &mut e.enclosures,
                url,
                d.attr(enc, "type"),
                d.attr(enc, "length"),
                None,
            );
        }
        self.enclosure_links(el, is_atom_ns, &mut e.enclosures);
        self.media_enclosures(el, &mut e.enclosures);
        self.media_fallbacks(el, e);
        e.in_reply_to = self.in_reply_to(el);
        draft.finish(feed_author)
    }

    /// `item` elements among `el`'s children, and inside non-RSS children a few levels down.
    fn find_items(&self, el: u32, depth: usize, out: &mut Vec<u32>) {
        let d = self.doc;
        for c in d.kids(el) {
            let e = d.el(c);
            if e.ns.is_rss() && e.local() == "item" {
                out.push(c);
            } else if !e.ns.is_rss() && depth < 3 {
                // An extension element (say an unclosed `itunes:category`) that swallowed items.
                self.find_items(c, depth + 1, out);
            }
        }
    }

    /// RSS title: text, or HTML when it has markup in it.
    fn rss_title(&self, el: u32) -> Option<String> {
        let d = self.doc;
        let t = d
            .child(el, Ns::is_rss, "title")
            .or_else(|| d.child(el, is_dc, "title"))?;
        if d.has_element_children(t) {
            return Text::Html(d.inner_xml(t)).into_plain();
        }
        maybe_html(d.text(t)).into_plain()
    }

    /// RSS HTML fields: escaped HTML as text, or (invalid but common) markup written inline.
    fn rss_html(&self, el: u32) -> Text {
        let d = self.doc;
        if d.has_element_children(el) {
            Text::Html(d.inner_xml(el))
        } else {
            Text::Html(d.text(el))
        }
    }

    fn rss_link(&self, el: u32) -> Option<String> {
        let d = self.doc;
        d.children_named(el, Ns::is_rss, "link").find_map(|l| {
            let t = d.text(l);
            if t.trim().is_empty() {
                d.attr(l, "href").and_then(|h| d.url(l, h))
            } else {
                d.url(l, &t)
            }
        })
    }

    /// The first Atom `<link>` child of `el` with relation `rel`.
    fn link_rel(&self, el: u32, is_ns: fn(Ns) -> bool, rel: &str) -> Option<String> {
        let d = self.doc;
        d.children_named(el, is_ns, "link")
            .filter(|&l| link_rel(d, l) == rel)
            .find_map(|l| self.link_href(l))
    }

    fn atom_in_rss_alternate(&self, el: u32) -> Option<String> {
        let d = self.doc;
        d.children_named(el, is_atom_ns, "link")
            .filter(|&l| link_rel(d, l) == "alternate")
            .find_map(|l| self.link_href(l))
    }

    fn rss_author(&self, el: u32) -> Option<String> {
        let d = self.doc;
        let dc = d
            .child(el, is_dc, "creator")
            .or_else(|| d.child(el, is_dc, "author"))
            .and_then(|a| d.text_opt(a));
        let rss = d
            .child(el, Ns::is_rss, "author")
            .and_then(|a| d.text_opt(a));
        let itunes = d
            .child(el, |n| n == Ns::Itunes, "author")
            .and_then(|a| d.text_opt(a));
        let name = |s: &String| -> Option<String> { person_name_only(s) };
        dc.as_ref()
            .and_then(name)
            .or_else(|| rss.as_ref().and_then(name))
            .or_else(|| itunes.as_ref().and_then(name))
            .or(dc)
            .or(rss)
            .or(itunes)
            .and_then(|a| maybe_html(person_name(&a)).into_plain())
    }

    // --- shared ---

    /// At most [`MAX_ENTRIES`] of the entry elements: the newest by date
    /// (published, else updated; undated ones count as oldest, equals keep
    /// document order), still in document order. Chosen before the entries
    /// are read, so a feed of thousands costs its dates, not its contents.
    fn newest(
        &self,
        els: Vec<u32>,
        published: &[DateSource],
        updated: &[DateSource],
        out: &mut IncomingFeed,
    ) -> Vec<u32> {
        if els.len() <= MAX_ENTRIES {
            return els;
        }
        out.capped_from = Some(els.len());
        let mut by_date: Vec<(i64, u32)> = els
            .iter()
            .map(|&el| {
                let date = self
                    .first_date(el, published)
                    .or_else(|| self.first_date(el, updated));
                (date.unwrap_or(i64::MIN), el)
            })
            .collect();
        // Stable: among equal dates the earlier in the document wins.
        by_date.sort_by_key(|&(date, _)| std::cmp::Reverse(date));
        let mut kept: Vec<u32> = by_date[..MAX_ENTRIES].iter().map(|&(_, el)| el).collect();
        kept.sort_unstable();
        kept
    }

    /// The date from the first source present; of repeated elements the last
    /// readable one wins (as in feedparser).
    fn first_date(&self, el: u32, sources: &[DateSource]) -> Option<i64> {
        let d = self.doc;
        sources.iter().find_map(|(ns, local)| {
            d.children_named(el, ns, local)
                .filter_map(|c| parse_date(&d.text(c)))
                .last()
        })
    }

    /// Atom `link rel="enclosure"` elements as enclosures.
    fn enclosure_links(&self, el: u32, ns: fn(Ns) -> bool, out: &mut Vec<Enclosure>) {
        let d = self.doc;
        for link in d.children_named(el, ns, "link") {
            if link_rel(d, link) == "enclosure"
                && let Some(url) = self.link_href(link)
            {
                push_enclosure(
                    out,
                    url,
                    d.attr(link, "type"),
                    d.attr(link, "length"),
                    d.attr(link, "title").map(str::to_string),
                );
            }
        }
    }

    /// A Media RSS element (`media:description`, `media:title`) of the item,
    /// of its `media:group`, or of its `media:content`, in that order.
    fn media_child(&self, el: u32, local: &str) -> Option<u32> {
        let d = self.doc;
        let media = |n: Ns| n == Ns::Media;
        let groups: Vec<u32> = std::iter::once(el)
            .chain(d.children_named(el, media, "group"))
            .collect();
        groups
            .iter()
            .find_map(|&g| d.child(g, media, local))
            .or_else(|| {
                groups.iter().find_map(|&g| {
                    d.children_named(g, media, "content")
                        .find_map(|c| d.child(c, media, local))
                })
            })
            .filter(|&c| !d.text(c).trim().is_empty())
    }

    /// `media:description` as text (`type="html"` as HTML), for entries
    /// with no summary or content of their own (video feeds).
    fn media_description(&self, el: u32) -> Option<String> {
        let d = self.doc;
        let m = self.media_child(el, "description")?;
        let text = d.text(m);
        match d.attr(m, "type").map(|t| t.trim().to_ascii_lowercase()) {
            Some(t) if t == "html" => Text::Html(text),
            _ => Text::Plain(text),
        }
        .into_html()
    }

    /// `media:content` (direct or in `media:group`) as enclosures.
    fn media_enclosures(&self, el: u32, out: &mut Vec<Enclosure>) {
        let d = self.doc;
        let media = |n: Ns| n == Ns::Media;
        let groups: Vec<u32> = std::iter::once(el)
            .chain(d.children_named(el, media, "group"))
            .collect();
        for g in groups {
            for mc in d.children_named(g, media, "content") {
                let Some(url) = d.attr(mc, "url").and_then(|u| d.url(mc, u)) else {
                    continue;
                };
                // An image named only by `medium` is still shown as one.
                let image = d.attr(mc, "medium").map(str::trim) == Some("image");
                let mime = d
                    .attr(mc, "type")
                    .filter(|t| !t.trim().is_empty())
                    .or(image.then_some("image/*"));
                let text = |m: u32| {
                    ["description", "title", "text"]
                        .iter()
                        .find_map(|l| d.child(m, media, l).and_then(|t| d.text_opt(t)))
                };
                // Alt text is for images only (video feeds' long descriptions are not).
                let alt = mime
                    .filter(|m| m.trim().starts_with("image/"))
                    .and_then(|_| text(mc).or_else(|| text(g)))
                    .and_then(|t| maybe_html(t).into_plain());
                push_enclosure(out, url, mime, d.attr(mc, "fileSize"), alt);
            }
        }
    }

    /// RFC 4685 `thr:in-reply-to`, by namespace URI: `href` (resolved) then `ref`.
    fn in_reply_to(&self, el: u32) -> Vec<String> {
        let d = self.doc;
        let mut out: Vec<String> = Vec::new();
        for r in d.children_named(el, |n| n == Ns::Thr, "in-reply-to") {
            let href = d.attr(r, "href").and_then(|h| d.url(r, h));
            let reference = d
                .attr(r, "ref")
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            for v in [href, reference].into_iter().flatten() {
                push_unique(&mut out, v);
            }
        }
        out
    }

    /// `sy:updatePeriod` / `sy:updateFrequency` in minutes.
    fn sy_period(&self, el: u32) -> Option<u32> {
        let d = self.doc;
        let sy = |n: Ns| n == Ns::Sy;
        let period = d
            .child(el, sy, "updatePeriod")
            .map(|p| d.text(p).trim().to_ascii_lowercase());
        let frequency = d
            .child(el, sy, "updateFrequency")
            .and_then(|f| d.text(f).trim().parse::<u32>().ok());
        if period.is_none() && frequency.is_none() {
            return None;
        }
        let minutes = match period.as_deref().unwrap_or("daily") {
            "hourly" => 60,
            "daily" => 60 * 24,
            "weekly" => 60 * 24 * 7,
            "monthly" => 60 * 24 * 30,
            "yearly" => 60 * 24 * 365,
            _ => return None,
        };
        Some((minutes / frequency.unwrap_or(1).max(1)).max(1))
    }
}

/// Where a date may be: a namespace test and a local name.
type DateSource = (fn(Ns) -> bool, &'static str);

const ATOM_PUBLISHED: &[DateSource] = &[
    (Ns::is_atom, "published"),
    (Ns::is_atom, "issued"),
    (Ns::is_atom, "created"),
    (is_dc, "date"),
];
const ATOM_UPDATED: &[DateSource] = &[
    (Ns::is_atom, "updated"),
    (Ns::is_atom, "modified"),
    (is_dcterms, "modified"),
];
const RSS_PUBLISHED: &[DateSource] = &[
    (Ns::is_rss, "pubDate"),
    (is_dc, "date"),
    (is_dcterms, "issued"),
    (is_dcterms, "created"),
    (is_atom_ns, "published"),
];
const RSS_UPDATED: &[DateSource] = &[(is_atom_ns, "updated"), (is_dcterms, "modified")];

/// At most this many enclosures, and in-reply-to references, per entry.
const MAX_ENCLOSURES: usize = 32;
const MAX_REPLY_REFS: usize = 16;

/// Adds an enclosure unless its URL is already there or the entry has enough.
fn push_enclosure(
    out: &mut Vec<Enclosure>,
    url: String,
    mime_type: Option<&str>,
    length: Option<&str>,
    alt: Option<String>,
) {
    if out.len() >= MAX_ENCLOSURES || out.iter().any(|x| x.url == url) {
        return;
    }
    out.push(Enclosure {
        url,
        mime_type: mime_type
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        length: length.and_then(|l| l.trim().parse().ok()),
        alt: alt.filter(|a| !a.trim().is_empty()),
    });
}

fn push_unique(out: &mut Vec<String>, v: String) {
    if out.len() < MAX_REPLY_REFS && !out.contains(&v) {
        out.push(v);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TextKind {
    Text,
    Html,
    Xhtml,
}

fn is_dc(n: Ns) -> bool {
    n == Ns::Dc
}
fn is_dcterms(n: Ns) -> bool {
    n == Ns::Dcterms
}
fn is_atom_ns(n: Ns) -> bool {
    matches!(n, Ns::Atom10 | Ns::Atom03)
}

/// A link's relation, lower-cased, "alternate" when absent; IANA IRIs shortened.
fn link_rel(d: &Doc, link: u32) -> String {
    let rel = d
        .attr(link, "rel")
        .map(|r| r.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let rel = rel
        .strip_prefix("http://www.iana.org/assignments/relation/")
        .unwrap_or(&rel);
    if rel.is_empty() {
        "alternate".into()
    } else {
        rel.to_string()
    }
}

fn is_http_url(s: &str) -> bool {
    let l = s.trim_start().to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

/// A person's display name from "Name", "email (Name)", "Name <email>" or "email".
fn person_name(raw: &str) -> String {
    person_name_only(raw).unwrap_or_else(|| collapse_whitespace(raw))
}

/// The name part when there is one (not just an email address).
fn person_name_only(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if let (Some(open), true) = (raw.find('('), raw.ends_with(')')) {
        let inner = raw[open + 1..raw.len() - 1].trim();
        let outer = raw[..open].trim();
        let name = if inner.contains('@') && !outer.contains('@') {
            outer
        } else {
            inner
        };
        return (!name.is_empty() && !name.contains('@')).then(|| collapse_whitespace(name));
    }
    if let (Some(open), true) = (raw.find('<'), raw.ends_with('>')) {
        let name = raw[..open].trim().trim_matches('"').trim();
        return (!name.is_empty()).then(|| collapse_whitespace(name));
    }
    let is_email = raw.contains('@') && !raw.contains(' ');
    (!raw.is_empty() && !is_email).then(|| collapse_whitespace(raw))
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            c if c.is_ascii_whitespace() => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------
// JSON Feed

fn parse_json(
    body: &str,
    feed_url: &str,
    doc_base: Option<&Url>,
) -> Result<IncomingFeed, ParseError> {
    use serde_json::Value;
    let value: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(first) => {
            // Two common breakages, repaired in turn: raw control characters
            // inside strings, and a truncated document (cut back to its last
            // complete item).
            let escaped = escape_json_controls(body);
            let attempt =
                serde_json::from_str(&escaped).or_else(|e| match repair_truncated_json(&escaped) {
                    Some(fixed) if e.is_eof() => serde_json::from_str(&fixed),
                    _ => Err(e),
                });
            attempt.map_err(|_| ParseError::Malformed(format!("invalid JSON: {first}")))?
        }
    };
    let Some(obj) = value.as_object() else {
        return Err(ParseError::NotAFeed(
            "a JSON document, but not a JSON Feed".into(),
        ));
    };
    let version = obj.get("version").and_then(Value::as_str).unwrap_or("");
    let items = obj.get("items").and_then(Value::as_array);
    let json_feed = version.contains("jsonfeed.org/version/1")
        || version.starts_with('1')
        || (version.is_empty() && items.is_some());
    if !json_feed {
        return Err(ParseError::NotAFeed(
            "a JSON document, but not a JSON Feed".into(),
        ));
    }
    let s = |o: &serde_json::Map<String, Value>, k: &str| {
        o.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let url = |o: &serde_json::Map<String, Value>, k: &str| {
        s(o, k).and_then(|u| resolve_url(&u, doc_base))
    };
    let author_of = |o: &serde_json::Map<String, Value>| -> Option<String> {
        let from = |a: &Value| {
            a.get("name")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
        };
        o.get("authors")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find_map(from))
            .or_else(|| o.get("author").and_then(from))
    };
    let mut out = empty_feed(FeedFormat::JsonFeed);
    out.title = s(obj, "title").and_then(|t| maybe_html(t).into_plain());
    out.home_url = url(obj, "home_page_url");
    out.self_url = url(obj, "feed_url");
    out.hub = obj
        .get("hubs")
        .and_then(Value::as_array)
        .and_then(|hubs| hubs.iter().find_map(|h| url(h.as_object()?, "url")));
    let feed_author = author_of(obj);
    let base_url = doc_base.map_or_else(|| feed_url.to_string(), Url::to_string);
    let mut built = Vec::new();
    for item in items.into_iter().flatten() {
        let Some(it) = item.as_object() else { continue };
        // JSON Feed 1.1: "id (required, string)"; an item without a usable
        // one cannot be told from its next version, so it is skipped (and counted).
        let Some(id) = it
            .get("id")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|i| !i.is_empty())
        else {
            out.skipped_without_id += 1;
            continue;
        };
        let mut draft = Draft::new(base_url.clone());
        draft.id = Some(id.to_string());
        let e = &mut draft.entry;
        e.link = url(it, "url").or_else(|| url(it, "external_url"));
        e.title = s(it, "title").and_then(|t| maybe_html(t).into_plain());
        e.content_html =
            s(it, "content_html").or_else(|| s(it, "content_text").map(|t| escape_html(&t)));
        e.summary_html = s(it, "summary").map(|t| escape_html(&t));
        e.author = author_of(it);
        e.published = s(it, "date_published").and_then(|t| parse_date(&t));
        e.updated = s(it, "date_modified").and_then(|t| parse_date(&t));
        for a in it
            .get("attachments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(a) = a.as_object() else { continue };
            let Some(u) = url(a, "url") else { continue };
            let size = a
                .get("size_in_bytes")
                .and_then(Value::as_u64)
                .map(|n| n.to_string());
            push_enclosure(
                &mut e.enclosures,
                u,
                s(a, "mime_type").as_deref(),
                size.as_deref(),
                s(a, "title"),
            );
        }
        if let Some(thread) = it.get("_thread").and_then(|t| t.get("in_reply_to")) {
            let one = |v: &Value| match v {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Object(o) => ["url", "href", "id", "ref"]
                    .iter()
                    .find_map(|k| o.get(*k).and_then(Value::as_str))
                    .map(|s| s.trim().to_string()),
                _ => None,
            };
            let values: Vec<String> = match thread {
                Value::Array(a) => a.iter().filter_map(one).collect(),
                v => one(v).into_iter().collect(),
            };
            for v in values.into_iter().filter(|v| !v.is_empty()) {
                push_unique(&mut e.in_reply_to, v);
            }
        }
        built.extend(draft.finish(feed_author.as_deref()));
    }
    out.entries = settle(built);
    Ok(out)
}

/// A truncated JSON document cut back to the end of its last complete value
/// inside the deepest array still open, with the open brackets closed.
fn repair_truncated_json(body: &str) -> Option<String> {
    let mut stack: Vec<u8> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut cut: Option<(usize, Vec<u8>)> = None;
    for (i, b) in body.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => stack.push(b),
            b'}' | b']' => {
                stack.pop();
                if b == b'}' && stack.last() == Some(&b'[') {
                    cut = Some((i + 1, stack.clone()));
                }
            }
            _ => {}
        }
        if stack.len() > 64 {
            return None;
        }
    }
    if stack.is_empty() && !in_string {
        return None;
    }
    let (at, open) = cut?;
    let mut fixed = body[..at].to_string();
    for b in open.iter().rev() {
        fixed.push(if *b == b'{' { '}' } else { ']' });
    }
    Some(fixed)
}

/// Escapes raw control characters inside JSON strings.
fn escape_json_controls(body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    for c in body.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            } else if (c as u32) < 0x20 {
                out.push_str(&format!("\\u{:04x}", c as u32));
                continue;
            }
        } else if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------
// twtxt

fn is_twtxt(body: &str, content_type: Option<&str>) -> bool {
    if mime_essence(content_type).as_deref() == Some("text/plain") {
        return true;
    }
    body.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| {
            l.split_once('\t')
                .is_some_and(|(ts, _)| parse_date(ts).is_some())
        })
}

/// twtxt: `TIMESTAMP<TAB>TEXT` lines, `#` comments (`# nick = …`, `# url = …`
/// metadata). Entries come out newest first, so the entry cap keeps the latest.
fn parse_twtxt(
    body: &str,
    feed_url: &str,
    doc_base: Option<&Url>,
) -> Result<IncomingFeed, ParseError> {
    let mut out = empty_feed(FeedFormat::Twtxt);
    let mut nick = None;
    let mut entries = Vec::new();
    let base_url = doc_base.map_or_else(|| feed_url.to_string(), Url::to_string);
    for line in body.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(comment) = line.trim_start().strip_prefix('#') {
            if let Some((k, v)) = comment.split_once('=') {
                let v = v.trim();
                match k.trim().to_ascii_lowercase().as_str() {
                    "nick" if !v.is_empty() => nick = Some(v.to_string()),
                    "url" if out.home_url.is_none() && is_http_url(v) => {
                        out.home_url = resolve_url(v, None)
                    }
                    _ => {}
                }
            }
            continue;
        }
        // The format is TIMESTAMP, a TAB, the text: without the TAB it is no post.
        let Some((ts, text)) = line.split_once('\t') else {
            continue;
        };
        let Some(when) = parse_date(ts) else { continue };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let mut draft = Draft::new(base_url.clone());
        draft.entry.published = Some(when);
        draft.entry.content_html = Some(twtxt_html(text));
        entries.extend(draft.finish(None));
    }
    out.title = nick.clone();
    if out.home_url.is_none() {
        out.home_url = doc_base.map(Url::to_string);
    }
    for (e, _) in &mut entries {
        e.author = nick.clone();
    }
    // Stable: equal timestamps keep file order, reversed.
    entries.reverse();
    entries.sort_by_key(|(e, _)| std::cmp::Reverse(e.published));
    let has_text = body
        .lines()
        .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    if entries.is_empty() && has_text {
        return Err(ParseError::NotAFeed(
            "plain text, not RSS, Atom, JSON Feed or twtxt".into(),
        ));
    }
    out.entries = settle(entries);
    Ok(out)
}

/// twtxt text as HTML: escaped, `@<nick url>` mentions become links.
fn twtxt_html(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("@<") {
        out.push_str(&escape_html(&rest[..at]));
        let after = &rest[at + 2..];
        let Some(close) = after.find('>') else {
            out.push_str(&escape_html(&rest[at..]));
            return out;
        };
        let inner = after[..close].trim();
        let (nick, url) = match inner.rsplit_once(' ') {
            Some((n, u)) => (n.trim(), u.trim()),
            None => ("", inner),
        };
        if is_http_url(url) {
            let label = if nick.is_empty() { url } else { nick };
            out.push_str(&format!(
                "<a href=\"{}\">@{}</a>",
                escape_html(url),
                escape_html(label)
            ));
        } else {
            out.push_str(&escape_html(&rest[at..at + 2 + close + 1]));
        }
        rest = &after[close + 1..];
    }
    out.push_str(&escape_html(rest));
    out
}

// ---------------------------------------------------------------------------
// Dates

/// Parses the date formats found in feeds into Unix seconds: RFC 3339 / ISO 8601
/// (with or without `T`, seconds, fraction or zone; compact forms), RFC 822 /
/// 2822 and their variants (any or no weekday, long month names, two-digit
/// years, zone names, no zone, no seconds), `asctime`, and `DD.MM.YYYY`. A
/// missing zone is UTC. Anything else is None: a date is never invented.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 100 {
        return None;
    }
    parse_iso8601(s).or_else(|| parse_loose(s))
}

fn to_unix(y: i32, mo: u32, d: u32, h: u32, mi: u32, sec: u32, offset_secs: i64) -> Option<i64> {
    if !(1000..=9999).contains(&y) || h > 24 || mi > 59 || sec > 60 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(y, mo, d)?;
    let (h, extra_day) = if h == 24 {
        if mi != 0 || sec != 0 {
            return None;
        }
        (0, 86_400)
    } else {
        (h, 0)
    };
    let t = date.and_hms_opt(h, mi, sec.min(59))?;
    Some(t.and_utc().timestamp() + extra_day - offset_secs)
}

fn digits(s: &str, n: usize) -> Option<u32> {
    let d = s.get(..n)?;
    d.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| d.parse().ok())?
}

fn parse_iso8601(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 7 || !b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let y = digits(s, 4)? as i32;
    let (mo, d, mut rest) = if b[4] == b'-' {
        let mo = digits(&s[5..], 2)?;
        if s.len() == 7 {
            (mo, 1, "")
        } else if b.get(7) == Some(&b'-') {
            (mo, digits(s.get(8..)?, 2)?, s.get(10..)?)
        } else {
            return None;
        }
    } else if b.len() >= 8 && b[..8].iter().all(u8::is_ascii_digit) {
        (digits(&s[4..], 2)?, digits(&s[6..], 2)?, &s[8..])
    } else {
        return None;
    };
    let (mut h, mut mi, mut sec) = (0, 0, 0);
    if let Some(t) = rest.strip_prefix(['T', 't', ' ']) {
        let t = t.trim_start();
        if t.len() >= 2 && t.as_bytes()[..2].iter().all(u8::is_ascii_digit) {
            h = digits(t, 2)?;
            let mut r = &t[2..];
            let colon = r.starts_with(':');
            let field = |r: &str| -> Option<(u32, usize)> {
                let off = usize::from(colon && r.starts_with(':'));
                Some((digits(r.get(off..)?, 2)?, off + 2))
            };
            if let Some((m, used)) = field(r) {
                mi = m;
                r = &r[used..];
                if let Some((sv, used)) = field(r) {
                    sec = sv;
                    r = &r[used..];
                    if let Some(frac) = r.strip_prefix(['.', ',']) {
                        r = frac.trim_start_matches(|c: char| c.is_ascii_digit());
                    }
                }
            }
            rest = r;
        } else {
            rest = t;
        }
    }
    let offset = parse_zone(rest.trim())?;
    to_unix(y, mo, d, h, mi, sec, offset)
}

/// A zone: empty (UTC), `Z`, `±HH:MM`, `±HHMM`, `±HH`, or a name (with or without parentheses).
fn parse_zone(z: &str) -> Option<i64> {
    let z = z.trim().trim_matches(|c| c == '(' || c == ')').trim();
    if z.is_empty() {
        return Some(0);
    }
    if let Some(sign) = z
        .strip_prefix(['+', '-'])
        .map(|_| if z.starts_with('-') { -1 } else { 1 })
    {
        let n: String = z[1..].chars().filter(|c| *c != ':').collect();
        if !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (h, m) = match n.len() {
            1 | 2 => (n.parse::<i64>().ok()?, 0),
            3 => (n[..1].parse::<i64>().ok()?, n[1..].parse::<i64>().ok()?),
            4 => (n[..2].parse::<i64>().ok()?, n[2..].parse::<i64>().ok()?),
            _ => return None,
        };
        if h > 23 || m > 59 {
            return None;
        }
        return Some(sign * (h * 3600 + m * 60));
    }
    let upper = z.to_ascii_uppercase();
    // "GMT+2", "UTC-05:00"
    for prefix in ["GMT", "UTC", "UT"] {
        if let Some(r) = upper.strip_prefix(prefix)
            && (r.starts_with('+') || r.starts_with('-'))
        {
            return parse_zone(r);
        }
    }
    let hours = match upper.as_str() {
        "Z" | "UT" | "UTC" | "GMT" | "WET" => 0,
        "EST" => -5,
        "EDT" => -4,
        "CST" => -6,
        "CDT" => -5,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        "AKST" => -9,
        "AKDT" => -8,
        "HST" => -10,
        "AST" => -4,
        "ADT" => -3,
        "BST" | "CET" | "MET" | "WEST" => 1,
        "CEST" | "MEST" | "EET" => 2,
        "EEST" | "MSK" => 3,
        "IST" => return Some(5 * 3600 + 1800),
        "JST" | "KST" => 9,
        "AEST" => 10,
        "AEDT" => 11,
        "NZST" => 12,
        "NZDT" => 13,
        _ => return None,
    };
    Some(hours * 3600)
}

fn month_from_name(w: &str) -> Option<u32> {
    let w = w.trim_end_matches('.').to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    MONTHS
        .iter()
        .position(|m| m.starts_with(&w) || (w.len() > 3 && w.starts_with(&m[..3]) && w == "sept"))
        .map(|i| i as u32 + 1)
}

fn is_weekday(w: &str) -> bool {
    let w = w.trim_end_matches('.').to_ascii_lowercase();
    w.len() >= 2
        && [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ]
        .iter()
        .any(|d| d.starts_with(&w) || w.starts_with(&d[..3]))
}

/// RFC 822 and friends, by tokens: a month name, a day, a year, an optional
/// time (with am/pm), an optional zone; also `YYYY/MM/DD` and `DD.MM.YYYY`.
fn parse_loose(s: &str) -> Option<i64> {
    let mut year: Option<i32> = None;
    let mut month: Option<u32> = None;
    let mut day: Option<u32> = None;
    let mut time: Option<(u32, u32, u32)> = None;
    let mut offset: Option<i64> = None;
    let mut pm: Option<bool> = None;
    let tokens: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .collect();
    for (i, tok) in tokens.iter().enumerate() {
        let tok = *tok;
        let lower = tok.to_ascii_lowercase();
        if tok.contains(':') && tok.as_bytes()[0].is_ascii_digit() && time.is_none() {
            // 12:00, 12:00:00, 12:00:00.123, 12:00:00Z, 12:00:00+0100
            let split = tok
                .find(|c: char| c == '+' || c == '-' || c.is_ascii_alphabetic())
                .unwrap_or(tok.len());
            let (clock, zone) = tok.split_at(split);
            let mut parts = clock.split(':');
            let h = parts.next()?.parse::<u32>().ok()?;
            let m = parts.next()?.parse::<u32>().ok()?;
            let sec = parts
                .next()
                .map_or(Some(0), |p| p.split(['.', ',']).next()?.parse::<u32>().ok())?;
            time = Some((h, m, sec));
            if !zone.is_empty() {
                match zone.to_ascii_lowercase().as_str() {
                    "am" => pm = Some(false),
                    "pm" => pm = Some(true),
                    _ => offset = Some(parse_zone(zone)?),
                }
            }
        } else if lower == "am" || lower == "pm" {
            pm = Some(lower == "pm");
        } else if tok.contains('/')
            || (tok.matches('.').count() == 2 && tok.as_bytes()[0].is_ascii_digit())
        {
            let parts: Vec<&str> = tok.split(['/', '.']).collect();
            let nums: Vec<u32> = parts.iter().filter_map(|p| p.parse().ok()).collect();
            if nums.len() != 3 || year.is_some() {
                return None;
            }
            if parts[0].len() == 4 {
                (year, month, day) = (Some(nums[0] as i32), Some(nums[1]), Some(nums[2]));
            } else if tok.contains('.') && parts[2].len() == 4 {
                (day, month, year) = (Some(nums[0]), Some(nums[1]), Some(nums[2] as i32));
            } else {
                return None;
            }
        } else if let Some(m) = month_from_name(tok)
            .filter(|_| month.is_none() && tok.chars().all(|c| c.is_ascii_alphabetic() || c == '.'))
        {
            month = Some(m);
        } else if tok.bytes().all(|b| b.is_ascii_digit()) {
            let n: u32 = tok.parse().ok()?;
            match tok.len() {
                4 if year.is_none() => year = Some(n as i32),
                1 | 2 if day.is_none() => day = Some(n),
                2 if year.is_none() => {
                    year = Some(if n < 50 {
                        2000 + n as i32
                    } else {
                        1900 + n as i32
                    })
                }
                _ => return None,
            }
        } else if (tok.starts_with('+') || tok.starts_with('-')) && offset.is_none() {
            offset = Some(parse_zone(tok)?);
        } else if is_weekday(tok) || lower == "at" || lower == "the" || lower == "of" {
            continue;
        } else if let Some(o) = parse_zone(tok).filter(|_| offset.is_none() && i > 0) {
            offset = Some(o);
        } else if tok.starts_with('(')
            || (i == 0 && tok.chars().all(|c| c.is_alphabetic() || c == '.'))
        {
            // A comment, or a weekday in another language ("mer, 16 nov 2022").
            continue;
        } else {
            return None;
        }
    }
    let (y, mo, d) = (year?, month?, day?);
    let (mut h, mi, sec) = time.unwrap_or((0, 0, 0));
    match pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        _ => {}
    }
    to_unix(y, mo, d, h, mi, sec, offset.unwrap_or(0))
}

// ---------------------------------------------------------------------------
// HTML pages

/// Whether the bytes look like an HTML page rather than a feed (for "no feed
/// found at URL" vs a parse error): a doctype or an `html`/`head`/`body` tag
/// comes first, or appears early in a document with no feed element there.
pub fn looks_like_html(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let (text, _) = decode(head, None);
    let lower = text.to_ascii_lowercase();
    let mut rest = lower.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    // Skip the XML declaration, comments and processing instructions.
    loop {
        if rest.starts_with("<?") {
            rest = rest.find("?>").map_or("", |e| &rest[e + 2..]).trim_start();
        } else if rest.starts_with("<!--") {
            rest = rest.find("-->").map_or("", |e| &rest[e + 3..]).trim_start();
        } else {
            break;
        }
    }
    if ["<!doctype html", "<html", "<head", "<body"]
        .iter()
        .any(|p| rest.starts_with(p))
    {
        return true;
    }
    let has_feed = ["<rss", "<feed", "<rdf:rdf", "<rdf ", "<channel"]
        .iter()
        .any(|p| lower.contains(p));
    !has_feed
        && ["<html", "<head>", "<body"]
            .iter()
            .any(|p| lower.contains(p))
        && rest.starts_with('<')
}

/// Feed autodiscovery: `<link rel="alternate" type="application/atom+xml|application/rss+xml|application/feed+json|application/json" href>`
/// in an HTML page, hrefs resolved against the page URL (and `<base href>`),
/// in the page's order (the author's, whatever the format); no duplicates.
pub fn discover_feeds(html: &[u8], page_url: &str) -> Vec<String> {
    let (text, _) = decode(&html[..html.len().min(2 * 1024 * 1024)], None);
    let page = Url::parse(page_url.trim()).ok();
    let mut base = page.clone();
    let mut found: Vec<String> = Vec::new();
    for (name, attrs) in html_tags(&text) {
        let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        match name.as_str() {
            "base" => {
                if let Some(h) = get("href")
                    && let Some(u) = resolve_url(h, page.as_ref()).and_then(|u| Url::parse(&u).ok())
                {
                    base = Some(u);
                }
            }
            "link" => {
                let rel_alternate = get("rel").is_some_and(|r| {
                    r.split_ascii_whitespace()
                        .any(|t| t.eq_ignore_ascii_case("alternate"))
                });
                let ty = get("type")
                    .map(|t| {
                        t.split(';')
                            .next()
                            .unwrap_or("")
                            .trim()
                            .to_ascii_lowercase()
                    })
                    .unwrap_or_default();
                let feed_type = matches!(
                    ty.as_str(),
                    "application/atom+xml"
                        | "application/feed+json"
                        | "application/json"
                        | "application/rss+xml"
                        | "application/rdf+xml"
                );
                if !rel_alternate || !feed_type {
                    continue;
                }
                if let Some(u) =
                    get("href").and_then(|h| resolve_url(&decode_entities(h, true), base.as_ref()))
                {
                    found.push(u);
                }
            }
            _ => {}
        }
    }
    let mut seen = HashSet::new();
    found.retain(|u| seen.insert(u.clone()));
    found
}

/// Start tags of an HTML document (name lower-cased, attributes with lower-cased
/// names and raw values), skipping comments and script/style content.
fn html_tags(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = text[i..].find('<') {
        i += off;
        if text[i..].starts_with("<!--") {
            i = text[i + 4..].find("-->").map_or(b.len(), |e| i + 4 + e + 3);
            continue;
        }
        let start = i + 1;
        let name_len = text[start..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(text.len() - start);
        if name_len == 0 {
            i += 1;
            continue;
        }
        let name = text[start..start + name_len].to_ascii_lowercase();
        let mut j = start + name_len;
        let mut attrs = Vec::new();
        // Attributes until '>'.
        loop {
            while j < b.len() && (b[j].is_ascii_whitespace() || b[j] == b'/') {
                j += 1;
            }
            if j >= b.len() || b[j] == b'>' {
                break;
            }
            let k0 = j;
            while j < b.len() && !b[j].is_ascii_whitespace() && !matches!(b[j], b'=' | b'>' | b'/')
            {
                j += 1;
            }
            let key = text[k0..j].to_ascii_lowercase();
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            let mut value = String::new();
            if j < b.len() && b[j] == b'=' {
                j += 1;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
                    let q = b[j];
                    let v0 = j + 1;
                    let end = text[v0..].find(q as char).map_or(b.len(), |e| v0 + e);
                    value = text[v0..end].to_string();
                    j = (end + 1).min(b.len());
                } else {
                    let v0 = j;
                    while j < b.len() && !b[j].is_ascii_whitespace() && b[j] != b'>' {
                        j += 1;
                    }
                    value = text[v0..j].to_string();
                }
            }
            if key.is_empty() {
                // A stray '=' or quote: step over it (ASCII, so j stays on a char boundary).
                if j == k0 {
                    j += 1;
                }
            } else {
                attrs.push((key, value));
            }
        }
        i = (j + 1).min(b.len());
        if name == "script" || name == "style" {
            i = skip_raw_text(b, i, &name);
        }
        out.push((name, attrs));
    }
    out
}

// ---------------------------------------------------------------------------
// HTML named entities (HTML 4, plus `apos`), sorted for binary search.

fn html_entity(name: &str) -> Option<char> {
    HTML_ENTITIES
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| HTML_ENTITIES[i].1)
}

#[rustfmt::skip]
const HTML_ENTITIES: &[(&str, char)] = &[
    ("AElig", '\u{c6}'), ("Aacute", '\u{c1}'), ("Acirc", '\u{c2}'), ("Agrave", '\u{c0}'),
    ("Alpha", '\u{391}'), ("Aring", '\u{c5}'), ("Atilde", '\u{c3}'), ("Auml", '\u{c4}'),
    ("Beta", '\u{392}'), ("Ccedil", '\u{c7}'), ("Chi", '\u{3a7}'), ("Dagger", '\u{2021}'),
    ("Delta", '\u{394}'), ("ETH", '\u{d0}'), ("Eacute", '\u{c9}'), ("Ecirc", '\u{ca}'),
    ("Egrave", '\u{c8}'), ("Epsilon", '\u{395}'), ("Eta", '\u{397}'), ("Euml", '\u{cb}'),
    ("Gamma", '\u{393}'), ("Iacute", '\u{cd}'), ("Icirc", '\u{ce}'), ("Igrave", '\u{cc}'),
    ("Iota", '\u{399}'), ("Iuml", '\u{cf}'), ("Kappa", '\u{39a}'), ("Lambda", '\u{39b}'),
    ("Mu", '\u{39c}'), ("Ntilde", '\u{d1}'), ("Nu", '\u{39d}'), ("OElig", '\u{152}'),
    ("Oacute", '\u{d3}'), ("Ocirc", '\u{d4}'), ("Ograve", '\u{d2}'), ("Omega", '\u{3a9}'),
    ("Omicron", '\u{39f}'), ("Oslash", '\u{d8}'), ("Otilde", '\u{d5}'), ("Ouml", '\u{d6}'),
    ("Phi", '\u{3a6}'), ("Pi", '\u{3a0}'), ("Prime", '\u{2033}'), ("Psi", '\u{3a8}'),
    ("Rho", '\u{3a1}'), ("Scaron", '\u{160}'), ("Sigma", '\u{3a3}'), ("THORN", '\u{de}'),
    ("Tau", '\u{3a4}'), ("Theta", '\u{398}'), ("Uacute", '\u{da}'), ("Ucirc", '\u{db}'),
    ("Ugrave", '\u{d9}'), ("Upsilon", '\u{3a5}'), ("Uuml", '\u{dc}'), ("Xi", '\u{39e}'),
    ("Yacute", '\u{dd}'), ("Yuml", '\u{178}'), ("Zeta", '\u{396}'), ("aacute", '\u{e1}'),
    ("acirc", '\u{e2}'), ("acute", '\u{b4}'), ("aelig", '\u{e6}'), ("agrave", '\u{e0}'),
    ("alefsym", '\u{2135}'), ("alpha", '\u{3b1}'), ("amp", '\u{26}'), ("and", '\u{2227}'),
    ("ang", '\u{2220}'), ("apos", '\u{27}'), ("aring", '\u{e5}'), ("asymp", '\u{2248}'),
    ("atilde", '\u{e3}'), ("auml", '\u{e4}'), ("bdquo", '\u{201e}'), ("beta", '\u{3b2}'),
    ("brvbar", '\u{a6}'), ("bull", '\u{2022}'), ("cap", '\u{2229}'), ("ccedil", '\u{e7}'),
    ("cedil", '\u{b8}'), ("cent", '\u{a2}'), ("chi", '\u{3c7}'), ("circ", '\u{2c6}'),
    ("clubs", '\u{2663}'), ("cong", '\u{2245}'), ("copy", '\u{a9}'), ("crarr", '\u{21b5}'),
    ("cup", '\u{222a}'), ("curren", '\u{a4}'), ("dArr", '\u{21d3}'), ("dagger", '\u{2020}'),
    ("darr", '\u{2193}'), ("deg", '\u{b0}'), ("delta", '\u{3b4}'), ("diams", '\u{2666}'),
    ("divide", '\u{f7}'), ("eacute", '\u{e9}'), ("ecirc", '\u{ea}'), ("egrave", '\u{e8}'),
    ("empty", '\u{2205}'), ("emsp", '\u{2003}'), ("ensp", '\u{2002}'), ("epsilon", '\u{3b5}'),
    ("equiv", '\u{2261}'), ("eta", '\u{3b7}'), ("eth", '\u{f0}'), ("euml", '\u{eb}'),
    ("euro", '\u{20ac}'), ("exist", '\u{2203}'), ("fnof", '\u{192}'), ("forall", '\u{2200}'),
    ("frac12", '\u{bd}'), ("frac14", '\u{bc}'), ("frac34", '\u{be}'), ("frasl", '\u{2044}'),
    ("gamma", '\u{3b3}'), ("ge", '\u{2265}'), ("gt", '\u{3e}'), ("hArr", '\u{21d4}'),
    ("harr", '\u{2194}'), ("hearts", '\u{2665}'), ("hellip", '\u{2026}'), ("iacute", '\u{ed}'),
    ("icirc", '\u{ee}'), ("iexcl", '\u{a1}'), ("igrave", '\u{ec}'), ("image", '\u{2111}'),
    ("infin", '\u{221e}'), ("int", '\u{222b}'), ("iota", '\u{3b9}'), ("iquest", '\u{bf}'),
    ("isin", '\u{2208}'), ("iuml", '\u{ef}'), ("kappa", '\u{3ba}'), ("lArr", '\u{21d0}'),
    ("lambda", '\u{3bb}'), ("lang", '\u{2329}'), ("laquo", '\u{ab}'), ("larr", '\u{2190}'),
    ("lceil", '\u{2308}'), ("ldquo", '\u{201c}'), ("le", '\u{2264}'), ("lfloor", '\u{230a}'),
    ("lowast", '\u{2217}'), ("loz", '\u{25ca}'), ("lrm", '\u{200e}'), ("lsaquo", '\u{2039}'),
    ("lsquo", '\u{2018}'), ("lt", '\u{3c}'), ("macr", '\u{af}'), ("mdash", '\u{2014}'),
    ("micro", '\u{b5}'), ("middot", '\u{b7}'), ("minus", '\u{2212}'), ("mu", '\u{3bc}'),
    ("nabla", '\u{2207}'), ("nbsp", '\u{a0}'), ("ndash", '\u{2013}'), ("ne", '\u{2260}'),
    ("ni", '\u{220b}'), ("not", '\u{ac}'), ("notin", '\u{2209}'), ("nsub", '\u{2284}'),
    ("ntilde", '\u{f1}'), ("nu", '\u{3bd}'), ("oacute", '\u{f3}'), ("ocirc", '\u{f4}'),
    ("oelig", '\u{153}'), ("ograve", '\u{f2}'), ("oline", '\u{203e}'), ("omega", '\u{3c9}'),
    ("omicron", '\u{3bf}'), ("oplus", '\u{2295}'), ("or", '\u{2228}'), ("ordf", '\u{aa}'),
    ("ordm", '\u{ba}'), ("oslash", '\u{f8}'), ("otilde", '\u{f5}'), ("otimes", '\u{2297}'),
    ("ouml", '\u{f6}'), ("para", '\u{b6}'), ("part", '\u{2202}'), ("permil", '\u{2030}'),
    ("perp", '\u{22a5}'), ("phi", '\u{3c6}'), ("pi", '\u{3c0}'), ("piv", '\u{3d6}'),
    ("plusmn", '\u{b1}'), ("pound", '\u{a3}'), ("prime", '\u{2032}'), ("prod", '\u{220f}'),
    ("prop", '\u{221d}'), ("psi", '\u{3c8}'), ("quot", '\u{22}'), ("rArr", '\u{21d2}'),
    ("radic", '\u{221a}'), ("rang", '\u{232a}'), ("raquo", '\u{bb}'), ("rarr", '\u{2192}'),
    ("rceil", '\u{2309}'), ("rdquo", '\u{201d}'), ("real", '\u{211c}'), ("reg", '\u{ae}'),
    ("rfloor", '\u{230b}'), ("rho", '\u{3c1}'), ("rlm", '\u{200f}'), ("rsaquo", '\u{203a}'),
    ("rsquo", '\u{2019}'), ("sbquo", '\u{201a}'), ("scaron", '\u{161}'), ("sdot", '\u{22c5}'),
    ("sect", '\u{a7}'), ("shy", '\u{ad}'), ("sigma", '\u{3c3}'), ("sigmaf", '\u{3c2}'),
    ("sim", '\u{223c}'), ("spades", '\u{2660}'), ("sub", '\u{2282}'), ("sube", '\u{2286}'),
    ("sum", '\u{2211}'), ("sup", '\u{2283}'), ("sup1", '\u{b9}'), ("sup2", '\u{b2}'),
    ("sup3", '\u{b3}'), ("supe", '\u{2287}'), ("szlig", '\u{df}'), ("tau", '\u{3c4}'),
    ("there4", '\u{2234}'), ("theta", '\u{3b8}'), ("thetasym", '\u{3d1}'), ("thinsp", '\u{2009}'),
    ("thorn", '\u{fe}'), ("tilde", '\u{2dc}'), ("times", '\u{d7}'), ("trade", '\u{2122}'),
    ("uArr", '\u{21d1}'), ("uacute", '\u{fa}'), ("uarr", '\u{2191}'), ("ucirc", '\u{fb}'),
    ("ugrave", '\u{f9}'), ("uml", '\u{a8}'), ("upsih", '\u{3d2}'), ("upsilon", '\u{3c5}'),
    ("uuml", '\u{fc}'), ("weierp", '\u{2118}'), ("xi", '\u{3be}'), ("yacute", '\u{fd}'),
    ("yen", '\u{a5}'), ("yuml", '\u{ff}'), ("zeta", '\u{3b6}'), ("zwj", '\u{200d}'),
    ("zwnj", '\u{200c}'),
];

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://example.com/blog/feed.xml";

    fn ok(doc: &str) -> IncomingFeed {
        parse(doc.as_bytes(), None, URL).unwrap_or_else(|e| panic!("{e}: {doc}"))
    }

    fn ts(rfc3339: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp()
    }

    // --- formats ---

    #[test]
    fn atom_1_0() {
        let f = ok(r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://example.com/blog/">
  <title type="html">Jo &amp;lt;3 &lt;b&gt;feeds&lt;/b&gt;</title>
  <link rel="self" href="feed.xml"/>
  <link href="./"/>
  <author><name>Jo</name></author>
  <entry>
    <id>tag:example.com,2024:1</id>
    <title>1 &lt; 2 &amp; <![CDATA[<b>not bold</b>]]></title>
    <link rel="alternate" type="application/atom+xml" href="/1.atom"/>
    <link rel="alternate" type="text/html" href="posts/1"/>
    <link rel="enclosure" type="audio/mpeg" length="1234" href="/a.mp3"/>
    <published>2024-01-02T03:04:05+01:00</published>
    <updated>2024-01-03T00:00:00Z</updated>
    <content type="xhtml" xml:base="posts/"><div xmlns="http://www.w3.org/1999/xhtml"><p>Hi <a href="2" title="a &quot;q&quot;">two</a><br/></p></div></content>
    <summary>Plain &lt;text&gt;</summary>
  </entry>
  <entry>
    <id>tag:example.com,2024:2</id>
    <title type="text">Second</title>
    <author><name>Someone Else</name></author>
    <content type="html">&lt;p&gt;escaped&lt;/p&gt;</content>
  </entry>
</feed>"#);
        assert_eq!(f.format, FeedFormat::Atom);
        assert_eq!(f.title.as_deref(), Some("Jo <3 feeds"));
        assert_eq!(f.home_url.as_deref(), Some("https://example.com/blog/"));
        let e = &f.entries[0];
        assert_eq!(e.identity, "tag:example.com,2024:1");
        assert_eq!(
            e.title.as_deref(),
            Some("1 < 2 & <b>not bold</b>"),
            "type=text titles are text"
        );
        assert_eq!(
            e.link.as_deref(),
            Some("https://example.com/blog/posts/1"),
            "the HTML alternate wins"
        );
        assert_eq!(
            e.content_html.as_deref(),
            Some(r#"<p>Hi <a href="2" title="a &quot;q&quot;">two</a><br /></p>"#)
        );
        assert_eq!(e.base_url, "https://example.com/blog/posts/");
        assert_eq!(e.summary_html.as_deref(), Some("Plain &lt;text&gt;"));
        assert_eq!(e.author.as_deref(), Some("Jo"), "inherited from the feed");
        assert_eq!(e.published, Some(ts("2024-01-02T03:04:05+01:00")));
        assert_eq!(e.updated, Some(ts("2024-01-03T00:00:00Z")));
        assert_eq!(
            e.enclosures,
            [Enclosure {
                url: "https://example.com/a.mp3".into(),
                mime_type: Some("audio/mpeg".into()),
                length: Some(1234),
                alt: None
            }]
        );
        let e = &f.entries[1];
        assert_eq!(e.author.as_deref(), Some("Someone Else"));
        assert_eq!(e.content_html.as_deref(), Some("<p>escaped</p>"));
        assert_eq!(e.link, None);
        assert_eq!(e.published, None, "never invented");
    }

    #[test]
    fn atom_0_3() {
        let f = ok(r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#">
  <title mode="escaped" type="text/html">Old &amp;amp; gold</title>
  <link rel="alternate" type="text/html" href="http://example.org/"/>
  <entry>
    <title mode="base64" type="text/html">PGI+QmFzZTY0PC9iPg==</title>
    <link rel="alternate" type="text/html">http://example.org/1</link>
    <id>tag:example.org,2003:1</id>
    <issued>2003-12-13T08:29:29-04:00</issued>
    <modified>2003-12-13T18:30:02Z</modified>
    <content type="application/xhtml+xml" mode="xml"><div xmlns="http://www.w3.org/1999/xhtml"><p>xml mode</p></div></content>
  </entry>
</feed>"#);
        assert_eq!(f.format, FeedFormat::Atom);
        assert_eq!(f.title.as_deref(), Some("Old & gold"));
        let e = &f.entries[0];
        assert_eq!(e.title.as_deref(), Some("Base64"));
        assert_eq!(
            e.link.as_deref(),
            Some("http://example.org/1"),
            "link in the element's text (0.3 in the wild)"
        );
        assert_eq!(e.published, Some(ts("2003-12-13T08:29:29-04:00")));
        assert_eq!(e.updated, Some(ts("2003-12-13T18:30:02Z")));
        assert_eq!(e.content_html.as_deref(), Some("<p>xml mode</p>"));
    }

    #[test]
    fn rss_2_0() {
        let f = ok(r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" xmlns:media="http://search.yahoo.com/mrss/">
<channel>
  <title>Jo&#8217;s &lt;i&gt;blog&lt;/i&gt;</title>
  <link>/blog/</link>
  <ttl>90</ttl>
  <sy:updatePeriod>hourly</sy:updatePeriod>
  <sy:updateFrequency>2</sy:updateFrequency>
  <item>
    <title>First</title>
    <guid>https://example.com/p/1</guid>
    <description>&lt;p&gt;Summary &amp;amp; more&lt;/p&gt;</description>
    <content:encoded><![CDATA[<p>Full <img src="img.png"></p>]]></content:encoded>
    <dc:creator>Jo Writer</dc:creator>
    <pubDate>Tue, 02 Jan 2024 03:04:05 GMT</pubDate>
    <enclosure url="/ep1.mp3" length="999" type="audio/mpeg"/>
    <media:content url="https://cdn.example.com/1.jpg" type="image/jpeg" fileSize="42"/>
  </item>
  <item>
    <title>Second</title>
    <link>posts/2</link>
    <guid isPermaLink="false">item-2</guid>
    <author>jo@example.com (Jo Writer)</author>
    <description>Naked <b>markup</b><br/></description>
  </item>
  <item>
    <title>No link</title>
    <guid isPermaLink="false">https://example.com/not-a-link</guid>
  </item>
</channel>
</rss>"#);
        assert_eq!(f.format, FeedFormat::Rss);
        assert_eq!(f.title.as_deref(), Some("Jo’s blog"));
        assert_eq!(f.home_url.as_deref(), Some("https://example.com/blog/"));
        assert_eq!(f.ttl_minutes, Some(90));
        assert_eq!(f.update_period_minutes, Some(30));
        let e = &f.entries[0];
        assert_eq!(e.identity, "https://example.com/p/1");
        assert_eq!(
            e.link.as_deref(),
            Some("https://example.com/p/1"),
            "a guid is a permalink by default"
        );
        assert_eq!(e.summary_html.as_deref(), Some("<p>Summary &amp; more</p>"));
        assert_eq!(
            e.content_html.as_deref(),
            Some(r#"<p>Full <img src="img.png"></p>"#)
        );
        assert_eq!(e.base_url, URL);
        assert_eq!(e.author.as_deref(), Some("Jo Writer"));
        assert_eq!(e.published, Some(ts("2024-01-02T03:04:05Z")));
        assert_eq!(e.updated, None);
        assert_eq!(
            e.enclosures,
            [
                Enclosure {
                    url: "https://example.com/ep1.mp3".into(),
                    mime_type: Some("audio/mpeg".into()),
                    length: Some(999),
                    alt: None
                },
                Enclosure {
                    url: "https://cdn.example.com/1.jpg".into(),
                    mime_type: Some("image/jpeg".into()),
                    length: Some(42),
                    alt: None
                },
            ]
        );
        let e = &f.entries[1];
        assert_eq!(e.identity, "item-2");
        assert_eq!(
            e.link.as_deref(),
            Some("https://example.com/blog/posts/2"),
            "relative to the feed URL"
        );
        assert_eq!(e.author.as_deref(), Some("Jo Writer"));
        assert_eq!(e.summary_html.as_deref(), Some("Naked <b>markup</b><br />"));
        assert_eq!(f.entries[2].link, None, "isPermaLink=false");
    }

    #[test]
    fn rss_without_version_with_a_namespace_and_0_9x() {
        for doc in [
            r#"<rss><channel><title>T</title><item><title>A</title><link>http://a.example/</link></item></channel></rss>"#,
            r#"<rss version="0.94"><channel><title>T</title><item><title>A</title><link>http://a.example/</link></item></channel></rss>"#,
            r#"<rss version="2.0" xmlns="http://backend.userland.com/rss2"><channel><title>T</title><item><title>A</title><link>http://a.example/</link></item></channel></rss>"#,
            r#"<rss version="2.0" xmlns="http://example.com/made-up"><channel><title>T</title><item><title>A</title><link>http://a.example/</link></item></channel></rss>"#,
        ] {
            let f = ok(doc);
            assert_eq!(
                (f.title.as_deref(), f.entries.len()),
                (Some("T"), 1),
                "{doc}"
            );
            assert_eq!(f.entries[0].link.as_deref(), Some("http://a.example/"));
        }
    }

    #[test]
    fn rdf_1_0_and_0_90() {
        let f = ok(
            r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
  xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="http://example.org/"><title>RDF</title><link>http://example.org/</link></channel>
  <item rdf:about="http://example.org/1"><title>One</title><link>http://example.org/1</link>
    <dc:date>2003-12-31T10:14:55Z</dc:date><dc:creator>Ann</dc:creator></item>
  <item rdf:about="urn:x:2"><title>Two, no link</title><description>d</description></item>
</rdf:RDF>"#,
        );
        assert_eq!(f.format, FeedFormat::Rdf);
        assert_eq!(f.title.as_deref(), Some("RDF"));
        assert_eq!(f.entries.len(), 2, "items without a link are kept");
        assert_eq!(f.entries[0].published, Some(ts("2003-12-31T10:14:55Z")));
        assert_eq!(f.entries[0].author.as_deref(), Some("Ann"));
        assert_eq!(f.entries[1].identity, "urn:x:2");
        let f = ok(
            r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/">
  <channel><title>Old</title><link>http://example.org/</link></channel>
  <item><title>Item title</title><link>http://example.org/i</link></item></rdf:RDF>"#,
        );
        assert_eq!(
            (f.title.as_deref(), f.entries[0].title.as_deref()),
            (Some("Old"), Some("Item title"))
        );
    }

    #[test]
    fn json_feed() {
        let f = parse(
            br#"{"version": "https://jsonfeed.org/version/1.1", "title": "J &amp; F", "home_page_url": "/",
                "authors": [{"name": "Feed Author"}],
                "items": [
                  {"id": "1", "url": "https://example.com/1", "content_text": "a < b\nc", "date_published": "2024-05-06T07:08:09Z",
                   "attachments": [{"url": "/a.ogg", "mime_type": "audio/ogg", "size_in_bytes": 7}, {"url": "/b.png"}],
                   "_thread": {"in_reply_to": "https://other.example/post/9"}},
                  {"id": "2", "content_html": "<p>hi</p>", "summary": "s", "author": {"name": "Old Style"}, "date_modified": "nonsense"},
                  {"url": "https://example.com/3", "title": "no id"}
                ]}"#,
            Some("application/feed+json"),
            "https://example.com/feed.json",
        )
        .unwrap();
        assert_eq!(f.format, FeedFormat::JsonFeed);
        assert_eq!(f.title.as_deref(), Some("J & F"));
        assert_eq!(f.home_url.as_deref(), Some("https://example.com/"));
        let e = &f.entries[0];
        assert_eq!(e.content_html.as_deref(), Some("a &lt; b\nc"));
        assert_eq!(e.author.as_deref(), Some("Feed Author"));
        assert_eq!(e.published, Some(ts("2024-05-06T07:08:09Z")));
        assert_eq!(e.in_reply_to, ["https://other.example/post/9"]);
        assert_eq!(e.enclosures.len(), 2);
        assert_eq!(
            e.enclosures[0],
            Enclosure {
                url: "https://example.com/a.ogg".into(),
                mime_type: Some("audio/ogg".into()),
                length: Some(7),
                alt: None
            }
        );
        assert_eq!(e.enclosures[1].mime_type, None);
        let e = &f.entries[1];
        assert_eq!(
            (e.identity.as_str(), e.author.as_deref(), e.updated),
            ("2", Some("Old Style"), None)
        );
        assert_eq!(e.summary_html.as_deref(), Some("s"));
        assert_eq!(f.entries.len(), 2, "the item without an id is skipped");
        assert_eq!(f.skipped_without_id, 1);
        // 1.0, no title, http version URL, array _thread.
        let f = parse(
            br#"{"version": "http://jsonfeed.org/version/1", "items": [{"id": "x", "content_html": "c", "_thread": {"in_reply_to": [{"id": "tag:a"}, "https://b/"]}}]}"#,
            None,
            URL,
        )
        .unwrap();
        assert_eq!(f.title, None);
        assert_eq!(f.entries[0].in_reply_to, ["tag:a", "https://b/"]);
        // Not a JSON Feed.
        for doc in [
            &br#"{"rss": {"channel": {}}}"#[..],
            b"[1, 2]",
            b"{\"version\": \"https://jsonfeed.org/version/1\", \"items\": [",
        ] {
            assert!(parse(doc, None, URL).is_err());
        }
    }

    #[test]
    fn json_feed_repairs() {
        // A raw newline inside a string, and a document cut short mid-item.
        let doc = "{\"version\": \"https://jsonfeed.org/version/1\", \"title\": \"t\", \"items\": [{\"id\": \"1\", \"content_text\": \"line\nbreak\"}, {\"id\": \"2\", \"content_text\": \"cut";
        let f = parse(doc.as_bytes(), None, URL).unwrap();
        assert_eq!(f.entries.len(), 1);
        assert_eq!(f.entries[0].content_html.as_deref(), Some("line\nbreak"));
    }

    #[test]
    fn twtxt() {
        let body = "# nick = jo\n# url = https://jo.example/twtxt.txt\n2016-02-04T13:30:00+01:00\tYou can really go crazy here!\n\n2016-02-03T23:05:00+01:00\t@<example http://example.org/twtxt.txt> welcome to <twtxt>!\nnot a line\n";
        let f = parse(
            body.as_bytes(),
            Some("text/plain; charset=utf-8"),
            "https://jo.example/twtxt.txt",
        )
        .unwrap();
        assert_eq!(f.format, FeedFormat::Twtxt);
        assert_eq!(f.title.as_deref(), Some("jo"));
        assert_eq!(f.home_url.as_deref(), Some("https://jo.example/twtxt.txt"));
        assert_eq!(f.entries.len(), 2);
        assert_eq!(
            f.entries[0].published,
            Some(ts("2016-02-04T13:30:00+01:00")),
            "newest first"
        );
        assert_eq!(
            f.entries[1].content_html.as_deref(),
            Some(
                r#"<a href="http://example.org/twtxt.txt">@example</a> welcome to &lt;twtxt&gt;!"#
            )
        );
        assert!(
            f.entries
                .iter()
                .all(|e| e.identity.starts_with("sha256:") && e.author.as_deref() == Some("jo"))
        );
        // Sniffed without a content type, refused when it is just text.
        assert_eq!(
            parse(b"2020-01-01T00:00:00Z\thello", None, URL)
                .unwrap()
                .entries
                .len(),
            1
        );
        assert!(matches!(
            parse(b"hello world\n", Some("text/plain"), URL),
            Err(ParseError::NotAFeed(_))
        ));
    }

    // --- encodings ---

    /// One feed, in many encodings and labellings.
    #[test]
    fn encodings() {
        let title = "Café – “quoted” ½";
        let doc = |decl: &str| {
            format!("{decl}<rss version=\"2.0\"><channel><title>{title}</title></channel></rss>")
        };
        let plain = doc("");
        let utf16 = |s: &str, be: bool| -> Vec<u8> {
            s.encode_utf16()
                .flat_map(|u| if be { u.to_be_bytes() } else { u.to_le_bytes() })
                .collect()
        };
        let utf32 = |s: &str, be: bool| -> Vec<u8> {
            s.chars()
                .flat_map(|c| {
                    if be {
                        (c as u32).to_be_bytes()
                    } else {
                        (c as u32).to_le_bytes()
                    }
                })
                .collect()
        };
        let cp1252 = |s: &str| encoding_rs::WINDOWS_1252.encode(s).0.into_owned();
        let cases: Vec<(&str, Vec<u8>, Option<&str>, &str)> = vec![
            (
                "UTF-8, no declaration",
                plain.clone().into_bytes(),
                None,
                "UTF-8",
            ),
            (
                "UTF-8 BOM",
                [&[0xEF, 0xBB, 0xBF][..], plain.as_bytes()].concat(),
                None,
                "UTF-8",
            ),
            (
                "UTF-8 BOM beats a wrong charset",
                [&[0xEF, 0xBB, 0xBF][..], plain.as_bytes()].concat(),
                Some("text/xml; charset=koi8-r"),
                "UTF-8",
            ),
            (
                "windows-1252 declared",
                cp1252(&doc("<?xml version=\"1.0\" encoding=\"windows-1252\"?>")),
                None,
                "windows-1252",
            ),
            (
                "ISO-8859-1 declared, cp1252 quotes inside",
                cp1252(&doc("<?xml version='1.0' encoding='ISO-8859-1'?>")),
                None,
                "windows-1252",
            ),
            (
                "Latin-1 bytes, no declaration",
                cp1252(&plain),
                None,
                "windows-1252",
            ),
            (
                "HTTP charset beats the declaration",
                cp1252(&doc("<?xml version=\"1.0\" encoding=\"koi8-r\"?>")),
                Some("application/rss+xml; charset=\"windows-1252\""),
                "windows-1252",
            ),
            (
                "UTF-8 bytes mislabelled ISO-8859-1 by HTTP",
                plain.clone().into_bytes(),
                Some("text/xml; charset=ISO-8859-1"),
                "UTF-8",
            ),
            (
                "UTF-8 bytes mislabelled in the declaration",
                doc("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>").into_bytes(),
                None,
                "UTF-8",
            ),
            (
                "declared UTF-16, really UTF-8",
                doc("<?xml version=\"1.0\" encoding=\"UTF-16\"?>").into_bytes(),
                None,
                "UTF-8",
            ),
            (
                "UTF-16LE BOM",
                [
                    &[0xFF, 0xFE][..],
                    &utf16(&doc("<?xml version=\"1.0\" encoding=\"utf-16\"?>"), false),
                ]
                .concat(),
                None,
                "UTF-16LE",
            ),
            (
                "UTF-16BE BOM",
                [&[0xFE, 0xFF][..], &utf16(&plain, true)].concat(),
                None,
                "UTF-16BE",
            ),
            (
                "UTF-16LE, no BOM",
                utf16(&doc("<?xml version=\"1.0\" encoding=\"utf-16\"?>"), false),
                None,
                "UTF-16LE",
            ),
            (
                "UTF-16BE, no BOM, wrong HTTP charset",
                utf16(&plain, true),
                Some("text/xml; charset=utf-8"),
                "UTF-16BE",
            ),
            ("UTF-32BE, no BOM", utf32(&plain, true), None, "UTF-32BE"),
            (
                "UTF-32LE BOM",
                [&[0xFF, 0xFE, 0, 0][..], &utf32(&plain, false)].concat(),
                None,
                "UTF-32LE",
            ),
        ];
        for (what, bytes, content_type, encoding) in cases {
            let f = parse(&bytes, content_type, URL).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(f.title.as_deref(), Some(title), "{what}");
            assert_eq!(f.encoding, encoding, "{what}");
        }
        // A legacy charset that is only in the declaration, and one only in HTTP.
        let koi8 = encoding_rs::KOI8_R.encode("<?xml version=\"1.0\" encoding=\"KOI8-R\"?><rss><channel><title>Привет</title></channel></rss>").0.into_owned();
        assert_eq!(
            parse(&koi8, None, URL).unwrap().title.as_deref(),
            Some("Привет")
        );
        let koi8 = encoding_rs::KOI8_R
            .encode("<rss><channel><title>Привет</title></channel></rss>")
            .0
            .into_owned();
        assert_eq!(
            parse(&koi8, Some("text/xml;charset=KOI8-R"), URL)
                .unwrap()
                .title
                .as_deref(),
            Some("Привет")
        );
        // JSON Feed in UTF-16 with a BOM.
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"Ünïcode","items":[]}"#;
        let bytes = [&[0xFF, 0xFE][..], &utf16(json, false)].concat();
        assert_eq!(
            parse(&bytes, Some("application/feed+json"), URL)
                .unwrap()
                .title
                .as_deref(),
            Some("Ünïcode")
        );
    }

    // --- dates ---

    #[test]
    fn dates() {
        let cases = [
            ("2003-12-31T10:14:55Z", "2003-12-31T10:14:55Z"),
            ("2003-12-31T10:14:55.123-08:00", "2003-12-31T18:14:55Z"),
            ("2003-12-31t10:14:55z", "2003-12-31T10:14:55Z"),
            ("2003-12-31 10:14:55", "2003-12-31T10:14:55Z"),
            ("2003-12-31T10:14", "2003-12-31T10:14:00Z"),
            ("2003-12-31T10:14:55+0100", "2003-12-31T09:14:55Z"),
            ("2003-12-31T10:14:55 +01", "2003-12-31T09:14:55Z"),
            ("2003-12-31", "2003-12-31T00:00:00Z"),
            ("20031231T101455Z", "2003-12-31T10:14:55Z"),
            ("2003-12", "2003-12-01T00:00:00Z"),
            ("Wed, 31 Dec 2003 10:14:55 GMT", "2003-12-31T10:14:55Z"),
            ("Wed, 31 Dec 2003 10:14:55 +0000", "2003-12-31T10:14:55Z"),
            ("Wed, 31 Dec 2003 10:14:55 -0500", "2003-12-31T15:14:55Z"),
            ("Wed, 31 Dec 2003 10:14:55 EST", "2003-12-31T15:14:55Z"),
            ("Wed, 31 Dec 2003 10:14:55 PDT", "2003-12-31T17:14:55Z"),
            ("Wed, 31 Dec 2003 10:14:55 UT", "2003-12-31T10:14:55Z"),
            ("Wed, 31 Dec 2003 10:14:55", "2003-12-31T10:14:55Z"),
            ("Wed, 31 Dec 2003 10:14 GMT", "2003-12-31T10:14:00Z"),
            ("Thu, 31 Dec 2003 10:14:55 GMT", "2003-12-31T10:14:55Z"),
            (
                "Wednesday, 31 December 2003 10:14:55 GMT",
                "2003-12-31T10:14:55Z",
            ),
            ("31 Dec 03 10:14:55 GMT", "2003-12-31T10:14:55Z"),
            ("Wed, 31 Dec 2003 9:04:05 GMT", "2003-12-31T09:04:05Z"),
            ("Wed, 1 Sept 2004 10:14:55 GMT", "2004-09-01T10:14:55Z"),
            ("Dec 31, 2003 10:14 PM", "2003-12-31T22:14:00Z"),
            ("Wed Dec 31 10:14:55 2003", "2003-12-31T10:14:55Z"),
            ("Wed Dec 31 10:14:55 PST 2003", "2003-12-31T18:14:55Z"),
            ("mer, 16 nov 2022 00:38:15 +0100", "2022-11-15T23:38:15Z"),
            ("31.12.2003 10:14", "2003-12-31T10:14:00Z"),
            ("2003/12/31 10:14:55", "2003-12-31T10:14:55Z"),
            ("Wed, 31 Dec 2003 10:14:55 GMT+2", "2003-12-31T08:14:55Z"),
            ("2003-12-31T24:00:00Z", "2004-01-01T00:00:00Z"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_date(input), Some(ts(want)), "{input}");
        }
        for bad in [
            "",
            "yesterday",
            "2003-13-01",
            "2003-02-30T00:00:00Z",
            "Wed, 32 Dec 2003 10:14:55 GMT",
            "Wed, 31 Foo 2003 10:14:55 GMT",
            "\u{fffd}\u{fffd}\u{fffd}, 29 \u{fffd}\u{fffd}\u{fffd}\u{fffd} 2004 12:53:00 GMT",
            "31 Dec",
            "12:00",
            "2003",
            "1234567890",
        ] {
            assert_eq!(parse_date(bad), None, "{bad:?}");
        }
    }

    // --- identity ---

    #[test]
    fn identity_rules() {
        let f = ok(r#"<rss><channel>
  <item><guid isPermaLink="false">  id-1 </guid><title>a</title><link>http://x.example/same</link></item>
  <item><guid isPermaLink="false">id-1</guid><title>duplicate id: dropped</title></item>
  <item><title>b</title><link>http://x.example/b</link></item>
  <item><title>c</title><description>no id, no link</description><pubDate>Wed, 31 Dec 2003 10:14:55 GMT</pubDate></item>
  <item><title>d</title><link>http://x.example/same</link></item>
  <item><title>e</title><link>http://x.example/same</link></item>
  <item/>
</channel></rss>"#);
        let ids: Vec<&str> = f.entries.iter().map(|e| e.identity.as_str()).collect();
        assert_eq!(ids.len(), 5, "{ids:?}");
        assert_eq!(ids[0], "id-1");
        assert_eq!(ids[1], "http://x.example/b");
        assert!(ids[2].starts_with("sha256:") && ids[2].len() == 7 + 64);
        assert_eq!(
            ids[3], "http://x.example/same",
            "an id-less entry sharing a link with an entry that has an id"
        );
        assert!(
            ids[4].starts_with("sha256:"),
            "a second id-less entry with the same link is told apart by its hash"
        );
        // The hash is stable, and changes with the content.
        let again = ok(
            r#"<rss><channel><item><title>c</title><description>no id, no link</description><pubDate>Wed, 31 Dec 2003 10:14:55 GMT</pubDate></item></channel></rss>"#,
        );
        assert_eq!(again.entries[0].identity, ids[2]);
        let changed = ok(
            r#"<rss><channel><item><title>c</title><description>edited</description><pubDate>Wed, 31 Dec 2003 10:14:55 GMT</pubDate></item></channel></rss>"#,
        );
        assert_ne!(changed.entries[0].identity, ids[2]);
    }

    // --- what a lenient reader keeps ---

    /// Each broken entry sits between two good ones; the good ones must survive.
    #[test]
    fn a_markup_error_in_one_entry_never_swallows_the_entries_after_it() {
        let broken_atom = [
            // A void element left open in XHTML content, with the XHTML namespace declared on it.
            r#"<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>one<br>two<img src="a.png"></p></div></content>"#,
            // Mismatched and stray end tags.
            r#"<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><b><i>x</b></i></span></div></div></content>"#,
            // An end tag of the entry and the feed inside the content.
            r#"<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></entry></feed></div></content>"#,
            // A quote left open in an attribute.
            r#"<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><img src="x" alt="a"b"></div></content>"#,
            // A CDATA section and a processing instruction never closed.
            r#"<summary><![CDATA[ never closed</summary>"#,
            r#"<summary>pi <?php echo 1 </summary>"#,
            // `<` as text.
            r#"<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">a < b, 1 <2</div></content>"#,
        ];
        // The broken entry's own start tag: that entry goes, the next ones stay.
        for broken in [
            r#"<entry xml:lang="en><id>2</id><title>broken</title></entry>"#,
            r#"<entry xml:lang="en><id>2</id><title type="text">broken</title></entry>"#,
        ] {
            let f = ok(&format!(
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><title>first</title></entry>{broken}<entry><id>3</id><title>third</title></entry><entry><id>4</id><link href="/4"/><title>fourth</title></entry></feed>"#
            ));
            let titles: Vec<_> = f.entries.iter().map(|e| e.title.as_deref()).collect();
            assert_eq!(
                titles,
                [Some("first"), Some("third"), Some("fourth")],
                "{broken}"
            );
        }
        for broken in broken_atom {
            let f = ok(&format!(
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><title>first</title></entry><entry><id>2</id><title>broken</title>{broken}</entry><entry><id>3</id><title>third</title></entry><entry><id>4</id><title>fourth</title></entry></feed>"#
            ));
            let titles: Vec<_> = f.entries.iter().map(|e| e.title.as_deref()).collect();
            assert_eq!(
                titles,
                [Some("first"), Some("broken"), Some("third"), Some("fourth")],
                "{broken}"
            );
        }
        let f = ok(
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>one<br>two</p>a < b</div></content></entry></feed>"#,
        );
        assert_eq!(
            f.entries[0].content_html.as_deref(),
            Some("<p>one<br />two</p>a &lt; b"),
            "what a void element held comes after it"
        );
        let f = ok(
            r#"<rss><channel><item><description><p>HTML-style <img src=x.png alt=hi><input disabled></p></description></item></channel></rss>"#,
        );
        assert_eq!(
            f.entries[0].summary_html.as_deref(),
            Some(r#"<p>HTML-style <img src="x.png" alt="hi" /><input disabled="" /></p>"#),
            "unquoted and bare attributes are kept"
        );
        for broken in [
            r#"<description><p>unclosed <b>bold</description>"#,
            r#"<description><img src="x" alt="a"b"></description>"#,
            r#"<description><![CDATA[ never closed</description>"#,
            r#"<description><p>x</p></item></channel></rss></description>"#,
        ] {
            let f = ok(&format!(
                r#"<rss version="2.0"><channel><item><guid>1</guid></item><item><guid>2</guid>{broken}</item><item><guid>3</guid><title>third</title></item></channel></rss>"#
            ));
            assert_eq!(f.entries.len(), 3, "{broken}");
            assert_eq!(f.entries[2].title.as_deref(), Some("third"), "{broken}");
        }
    }

    /// The scan's fast check of valid chunks counts as the sequence by
    /// sequence reading of the whole document does, with characters and bad
    /// bytes cut by a chunk's end, however the source hands out its bytes.
    #[test]
    fn utf8_scan_counts_what_a_whole_document_reading_counts() {
        let text = "aé€😀 ".repeat(2000);
        let bad: [&[u8]; 4] = [b"\xff", b"\xe2\x82", b"\xf0\x9f\x98", b"\xc3"];
        for cut in [
            0,
            1,
            16 * 1024 - 2,
            16 * 1024 - 1,
            16 * 1024,
            16 * 1024 + 1,
            20_000,
        ] {
            for b in bad.iter().map(|b| Some(*b)).chain([None]) {
                let mut doc = text.as_bytes()[..cut.min(text.len())].to_vec();
                doc.extend_from_slice(b.unwrap_or_default());
                doc.extend_from_slice(&text.as_bytes()[cut.min(text.len())..]);
                let (mut multibyte, mut broken) = (0, 0);
                for chunk in doc.utf8_chunks() {
                    multibyte += chunk.valid().chars().filter(|c| c.len_utf8() > 1).count();
                    broken += usize::from(!chunk.invalid().is_empty());
                }
                for cap in [7, 8 * 1024, 1 << 20] {
                    let scan = scan_utf8(&mut io::BufReader::with_capacity(cap, &doc[..])).unwrap();
                    let what = format!("{b:?} at {cut}, reads of {cap}");
                    assert_eq!(scan.valid, b.is_none(), "{what}");
                    assert_eq!(scan.multibyte, multibyte, "{what}");
                    assert_eq!(scan.broken, broken, "{what}");
                }
                // Valid UTF-8 is passed on as it is, whatever the reads.
                if b.is_none() {
                    let mut out = Vec::new();
                    Utf8Reader::new(
                        io::BufReader::with_capacity(7, &doc[..]),
                        Decoding::ValidUtf8,
                    )
                    .read_to_end(&mut out)
                    .unwrap();
                    assert!(out == doc);
                }
            }
        }
    }

    #[test]
    fn one_bad_byte_in_utf8_is_replaced_where_it_stands() {
        let mut doc = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss><channel><title>caf\xC3\xA9 \xFF na\xC3\xAFve</title><item><guid>1</guid><title>\xE2\x80\x9Cq\xE2\x80\x9D</title></item></channel></rss>".to_vec();
        let f = parse(&doc, None, URL).unwrap();
        assert_eq!(f.title.as_deref(), Some("café \u{FFFD} naïve"));
        assert_eq!(f.entries[0].title.as_deref(), Some("“q”"));
        assert_eq!(f.encoding, "UTF-8");
        // The same without a declaration, and with HTTP saying UTF-8.
        doc.drain(..38);
        assert!(doc.starts_with(b"<rss>"));
        for ct in [None, Some("application/rss+xml; charset=utf-8")] {
            let f = parse(&doc, ct, URL).unwrap();
            assert_eq!(f.title.as_deref(), Some("café \u{FFFD} naïve"), "{ct:?}");
        }
        // Mislabelled ISO-8859-1 by HTTP or by the declaration: still UTF-8.
        for (decl, ct) in [
            ("", Some("text/xml; charset=ISO-8859-1")),
            ("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>", None),
        ] {
            let bytes = [decl.as_bytes(), &doc].concat();
            let f = parse(&bytes, ct, URL).unwrap();
            assert_eq!(
                f.title.as_deref(),
                Some("café \u{FFFD} naïve"),
                "{ct:?} {decl}"
            );
        }
        // Declared UTF-8, all ASCII but one byte: still UTF-8.
        let f = parse(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss><channel><title>a \x92 b</title></channel></rss>",
            None,
            URL,
        )
        .unwrap();
        assert_eq!(f.title.as_deref(), Some("a \u{FFFD} b"));
    }

    #[test]
    fn latin1_label_reads_windows_1252_and_no_control_character_is_kept() {
        // 0x80 €, 0x93/0x94 curly quotes, 0x81 and 0x9D (no character in
        // windows-1252), 0x01 and 0x1B (C0 controls).
        let doc = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss><channel><title>\x80 \x93q\x94 \x81\x9Dx\x01\x1B\t</title><item><guid>1</guid><title>caf\xE9</title><description>a&amp;#1;b&#x85;c&#2;\x02 &amp;#x1b; &amp;#65;&amp;#x81;&amp;#x93;</description><author>\x07Ann</author><enclosure url=\"https://a.example/a.mp3\" type=\"audio/mpeg&#1;\"/></item></channel></rss>";
        let f = parse(doc, None, URL).unwrap();
        assert_eq!(f.title.as_deref(), Some("€ “q” x"));
        let e = &f.entries[0];
        assert_eq!(e.title.as_deref(), Some("café"));
        assert_eq!(
            e.summary_html.as_deref(),
            Some("ab…c  &#65;&#x93;"),
            "HTML would read &#x81; as a control, &#x93; as a quote"
        );
        assert_eq!(e.author.as_deref(), Some("Ann"));
        assert_eq!(e.enclosures[0].mime_type.as_deref(), Some("audio/mpeg"));
        // JSON escapes and raw C1 characters in UTF-8.
        let f = parse(
            "{\"version\": \"https://jsonfeed.org/version/1.1\", \"title\": \"a\\u0000b\\u0093\\u008d\", \"items\": [{\"id\": \"1\", \"title\": \"t\\u0007\u{9d}\", \"content_text\": \"x\\u001b\"}]}".as_bytes(),
            None,
            URL,
        )
        .unwrap();
        assert_eq!(f.title.as_deref(), Some("ab“"));
        assert_eq!(f.entries[0].title.as_deref(), Some("t"));
        assert_eq!(f.entries[0].content_html.as_deref(), Some("x"));
    }

    /// The 32-byte scan finds a control wherever it stands, a C1 character
    /// split across two blocks included, and nothing in clean text.
    #[test]
    fn has_controls_finds_every_position() {
        let clean = "a\tb\nc\r\u{a0}é€ “x” ".repeat(9);
        assert!(!has_controls(clean.as_bytes()));
        for bad in ["\u{1}", "\u{7f}", "\u{85}", "\u{9f}", "\u{1b}"] {
            for at in 0..clean.len() {
                if !clean.is_char_boundary(at) {
                    continue;
                }
                let text = format!("{}{bad}{}", &clean[..at], &clean[at..]);
                assert!(has_controls(text.as_bytes()), "{bad:?} at {at}");
            }
        }
    }

    #[test]
    fn titles_keep_text_and_the_text_inside_markup() {
        let f = ok(r#"<feed xmlns="http://www.w3.org/2005/Atom">
  <entry><id>1</id><title type="text">Use &lt;b&gt; for bold &amp;amp; more</title></entry>
  <entry><id>2</id><title type="html">History of the &lt;blink&gt; tag</title></entry>
  <entry><id>3</id><title type="html">&lt;em&gt;Hello&lt;/em&gt; &lt;a href="/x"&gt;world&lt;/a&gt;</title></entry>
  <entry><id>4</id><title>No type: &lt;i&gt;stays&lt;/i&gt;</title></entry>
  <entry><id>5</id><title type="html">&lt;img src="s.gif" alt=":-)"&gt; Hi</title></entry>
</feed>"#);
        let titles: Vec<_> = f.entries.iter().map(|e| e.title.as_deref()).collect();
        assert_eq!(
            titles,
            [
                Some("Use <b> for bold &amp; more"),
                Some("History of the <blink> tag"),
                Some("Hello world"),
                Some("No type: <i>stays</i>"),
                Some(":-) Hi"),
            ]
        );
        let f = ok(r#"<rss><channel>
  <item><guid>1</guid><title>History of the &lt;blink&gt; tag</title></item>
  <item><guid>2</guid><title>&lt;strong&gt;Bold&lt;/strong&gt; move</title></item>
  <item><guid>3</guid><title>A &lt;custom&gt;tag&lt;/custom&gt; closed</title></item>
  <item><guid>4</guid><title>&amp;#X41;&#X42;</title></item>
</channel></rss>"#);
        let titles: Vec<_> = f.entries.iter().map(|e| e.title.as_deref()).collect();
        assert_eq!(
            titles,
            [
                Some("History of the <blink> tag"),
                Some("Bold move"),
                Some("A tag closed"),
                Some("AB"),
            ]
        );
    }

    #[test]
    fn duplicate_ids_the_newest_version_wins() {
        let f = ok(r#"<feed xmlns="http://www.w3.org/2005/Atom">
  <entry><id>a</id><title>a old</title><updated>2024-01-01T00:00:00Z</updated></entry>
  <entry><id>b</id><title>b new</title><updated>2024-03-01T00:00:00Z</updated></entry>
  <entry><id>a</id><title>a new</title><updated>2024-02-01T00:00:00Z</updated></entry>
  <entry><id>b</id><title>b old</title><updated>2024-01-01T00:00:00Z</updated></entry>
  <entry><id>c</id><title>c first</title></entry>
  <entry><id>c</id><title>c last</title></entry>
</feed>"#);
        let got: Vec<_> = f
            .entries
            .iter()
            .map(|e| (e.identity.as_str(), e.title.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(got, [("a", "a new"), ("b", "b new"), ("c", "c last")]);
        let f = ok(
            r#"<rss><channel><item><guid>g</guid><title>first</title></item><item><guid>g</guid><title>last</title></item></channel></rss>"#,
        );
        assert_eq!(f.entries.len(), 1);
        assert_eq!(f.entries[0].title.as_deref(), Some("last"));
        // Without ids nothing is merged: identical entries are told apart by a count.
        let f = ok(r#"<feed xmlns="http://www.w3.org/2005/Atom">
  <entry><title>Same</title><image><title>Other</title></image></entry>
  <entry><image><title>Other</title></image><title>Same</title></entry>
</feed>"#);
        let ids: Vec<_> = f.entries.iter().map(|e| e.identity.clone()).collect();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[1], format!("{}-2", ids[0]));
        assert!(f.entries.iter().all(|e| e.title.as_deref() == Some("Same")));
    }

    #[test]
    fn more_entries_than_the_cap_keeps_the_newest_by_date() {
        // Oldest first in the document, and a few undated ones at the top.
        let undated: String = (0..5)
            .map(|i| format!("<item><guid>u{i}</guid></item>"))
            .collect();
        let dated: String = (0..MAX_ENTRIES + 50)
            .map(|i| {
                format!(
                    "<item><guid>g{i}</guid><pubDate>{}</pubDate></item>",
                    chrono::DateTime::from_timestamp(1_700_000_000 + i as i64 * 3600, 0)
                        .unwrap()
                        .to_rfc2822()
                )
            })
            .collect();
        let f = ok(&format!("<rss><channel>{undated}{dated}</channel></rss>"));
        assert_eq!(f.entries.len(), MAX_ENTRIES);
        assert_eq!(f.capped_from, Some(MAX_ENTRIES + 55));
        assert_eq!(f.entries[0].identity, "g50", "the oldest went, order kept");
        assert_eq!(
            f.entries[MAX_ENTRIES - 1].identity,
            format!("g{}", MAX_ENTRIES + 49)
        );
        assert_eq!(
            f.notes.first().map(String::as_str),
            Some("capped: kept the newest 200 of 255 entries")
        );
        // Nothing dated: the first ones, in document order.
        let items: String = (0..MAX_ENTRIES + 50)
            .map(|i| format!("<item><guid>g{i}</guid></item>"))
            .collect();
        let f = ok(&format!("<rss><channel>{items}</channel></rss>"));
        assert_eq!(f.entries.len(), MAX_ENTRIES);
        assert_eq!(f.entries[0].identity, "g0");
        // Under the cap: no note.
        assert!(
            ok("<rss><channel><item><guid>1</guid></item></channel></rss>")
                .notes
                .is_empty()
        );
    }

    #[test]
    fn items_with_only_an_author_or_an_xhtml_body_are_entries() {
        let f = ok(
            r#"<rss xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xhtml="http://www.w3.org/1999/xhtml"><channel>
  <item><dc:author>Ann</dc:author></item>
  <item><xhtml:body><xhtml:p>Body only</xhtml:p></xhtml:body></item>
  <item><body xmlns="http://www.w3.org/1999/xhtml"><p>Default namespace</p></body></item>
</channel></rss>"#,
        );
        assert_eq!(f.entries.len(), 3);
        assert_eq!(f.entries[0].author.as_deref(), Some("Ann"));
        assert_eq!(
            f.entries[1].content_html.as_deref(),
            Some("<p>Body only</p>")
        );
        assert_eq!(
            f.entries[2].content_html.as_deref(),
            Some("<p>Default namespace</p>")
        );
    }

    #[test]
    fn media_group_descriptions_and_titles_are_used() {
        let f = ok(
            r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
  <entry><id>yt:video:1</id><link href="https://v.example/1"/>
    <media:group><media:title>A video</media:title><media:content url="https://v.example/1.mp4" type="video/mp4"/>
      <media:description>Line one &amp; &lt;two&gt;</media:description></media:group></entry>
</feed>"#,
        );
        let e = &f.entries[0];
        assert_eq!(e.title.as_deref(), Some("A video"));
        assert_eq!(
            e.summary_html.as_deref(),
            Some("Line one &amp; &lt;two&gt;")
        );
        let f = ok(
            r#"<rss xmlns:media="http://search.yahoo.com/mrss/"><channel>
  <item><guid>1</guid><media:content url="https://p.example/1.jpg" medium="image"><media:description type="html">&lt;b&gt;Sunset&lt;/b&gt;</media:description></media:content></item>
  <item><guid>2</guid><description>own</description><media:group><media:description>not used</media:description></media:group></item>
</channel></rss>"#,
        );
        assert_eq!(f.entries[0].summary_html.as_deref(), Some("<b>Sunset</b>"));
        assert_eq!(f.entries[1].summary_html.as_deref(), Some("own"));
        // The image: shown as one though it has no type, with its alt text.
        let image = &f.entries[0].enclosures[0];
        assert_eq!(image.mime_type.as_deref(), Some("image/*"));
        assert_eq!(image.alt.as_deref(), Some("Sunset"));
        let e = &ok(r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
  <entry><id>1</id><media:group><media:content url="https://p.example/2.png" type="image/png"/>
    <media:description>A red kite</media:description></media:group>
    <link rel="enclosure" href="https://p.example/3.jpg" type="image/jpeg" title="Gulls"/></entry></feed>"#)
        .entries[0];
        let alts: Vec<_> = e.enclosures.iter().map(|x| x.alt.as_deref()).collect();
        assert_eq!(alts, [Some("Gulls"), Some("A red kite")]);
    }

    #[test]
    fn json_feed_items_without_a_usable_id_are_skipped_and_counted() {
        let f = parse(
            br#"{"version": "https://jsonfeed.org/version/1.1", "items": [
                {"id": "ok", "content_text": "kept"},
                {"content_text": "missing"},
                {"id": null, "content_text": "null"},
                {"id": "  ", "content_text": "blank"},
                {"id": 7, "content_text": "a number"},
                {"id": {"x": 1}, "content_text": "an object"}
            ]}"#,
            None,
            URL,
        )
        .unwrap();
        assert_eq!(f.entries.len(), 1);
        assert_eq!(f.entries[0].identity, "ok");
        assert_eq!(f.skipped_without_id, 5);
        assert_eq!(
            f.notes.first().map(String::as_str),
            Some("skipped 5 JSON Feed items without an id")
        );
    }

    #[test]
    fn utf8_written_out_byte_by_byte_in_references_is_read_as_utf8() {
        let f = ok(r#"<rss><channel>
  <item><guid>1</guid><description>&#226;&#128;&#166;</description></item>
  <item><guid>2</guid><description>&acirc;&#128;&brvbar; and &#233;t&#233; &#128;</description></item>
</channel></rss>"#);
        assert_eq!(f.entries[0].summary_html.as_deref(), Some("…"));
        assert_eq!(
            f.entries[1].summary_html.as_deref(),
            Some("… and été €"),
            "a lone byte is its own character"
        );
    }

    #[test]
    fn comments_in_titles_drop_out_without_taking_the_rest() {
        let f = ok(r#"<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">sa&lt;!-- -- nonwhitespace &gt;fe&lt;script&gt;alert(1);&lt;/script&gt;</title>
  <entry><id>1</id><title type="html">un&lt;b&gt;believ&lt;/b&gt;able&lt;!-- x --&gt;s&lt;br&gt;next</title></entry>
</feed>"#);
        assert_eq!(f.title.as_deref(), Some("safe"));
        assert_eq!(f.entries[0].title.as_deref(), Some("unbelievables next"));
    }

    #[test]
    fn an_rss_summary_beside_a_description_is_the_first_of_the_two() {
        let f = ok(r#"<rss version="2.0"><channel>
  <item><guid>1</guid><description>d</description><summary>s</summary></item>
  <item><guid>2</guid><summary>s</summary><description>d</description></item>
  <item><guid>3</guid><summary>only</summary></item>
</channel></rss>"#);
        let got: Vec<_> = f
            .entries
            .iter()
            .map(|e| (e.summary_html.as_deref(), e.content_html.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (Some("d"), Some("s")),
                (Some("s"), Some("d")),
                (Some("only"), None)
            ]
        );
    }

    #[test]
    fn an_atom_id_that_is_a_path_is_resolved_against_the_base() {
        let f = parse(
            br#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>/relative/link</id></entry>
<entry xml:base="http://other.example/x/"><id>/two</id></entry><entry><id>urn:uuid:3</id></entry><entry><id>4</id></entry></feed>"#,
            None,
            "http://example.com/feed",
        )
        .unwrap();
        let ids: Vec<_> = f.entries.iter().map(|e| e.identity.as_str()).collect();
        assert_eq!(
            ids,
            [
                "http://example.com/relative/link",
                "http://other.example/two",
                "urn:uuid:3",
                "4"
            ]
        );
    }

    #[test]
    fn prefixes_declared_outside_xhtml_content_are_declared_in_it() {
        let f = ok(
            r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:xlink="http://www.w3.org/1999/xlink">
  <entry><id>1</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><math xmlns="http://www.w3.org/1998/Math/MathML"><mrow xlink:href="http://a.example/"><mi>a</mi><mrow xlink:type="simple"/></mrow></math></div></content></entry>
</feed>"#,
        );
        assert_eq!(
            f.entries[0].content_html.as_deref(),
            Some(
                r#"<math xmlns="http://www.w3.org/1998/Math/MathML"><mrow xlink:href="http://a.example/" xmlns:xlink="http://www.w3.org/1999/xlink"><mi>a</mi><mrow xlink:type="simple"></mrow></mrow></math>"#
            ),
            "declared once, where first used"
        );
    }

    #[test]
    fn twtxt_lines_without_a_tab_are_not_posts() {
        let f = parse(
            b"2020-01-01T00:00:00Z\tposted\n2020-01-02T00:00:00Z spaces are not a tab\n2020-01-03T00:00:00Z    neither\n",
            Some("text/plain"),
            URL,
        )
        .unwrap();
        assert_eq!(f.entries.len(), 1);
        assert_eq!(f.entries[0].content_html.as_deref(), Some("posted"));
    }

    // --- threading ---

    #[test]
    fn in_reply_to_by_namespace_not_prefix() {
        let f = ok(
            r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:zz="http://purl.org/syndication/thread/1.0"
      xmlns:thr="http://example.com/not-threading">
  <entry><id>a</id>
    <zz:in-reply-to ref="tag:example.org,2009:post-1" href="/post/1" type="text/html"/>
    <zz:in-reply-to ref="https://two.example/p"/>
    <thr:in-reply-to ref="wrong namespace"/>
  </entry>
  <entry xmlns:t="http://purl.org/syndication/thread/1.0"><id>b</id><t:in-reply-to ref="https://x.example/p" href="https://x.example/p"/></entry>
  <entry><id>c</id><in-reply-to xmlns="http://purl.org/syndication/thread/1.0" ref="default-namespaced"/></entry>
</feed>"#,
        );
        assert_eq!(
            f.entries[0].in_reply_to,
            [
                "https://example.com/post/1",
                "tag:example.org,2009:post-1",
                "https://two.example/p"
            ]
        );
        assert_eq!(f.entries[1].in_reply_to, ["https://x.example/p"]);
        assert_eq!(f.entries[2].in_reply_to, ["default-namespaced"]);
        // An undeclared `thr:` prefix is not threading.
        let f = ok(
            r#"<rss><channel><item><guid>x</guid><thr:in-reply-to ref="r"/></item></channel></rss>"#,
        );
        assert!(f.entries[0].in_reply_to.is_empty());
        // RSS with the namespace declared (roost's own RSS does this).
        let f = ok(
            r#"<rss xmlns:thr="http://purl.org/syndication/thread/1.0"><channel><item><guid>x</guid><thr:in-reply-to ref="https://a.example/1" href="https://a.example/1"/></item></channel></rss>"#,
        );
        assert_eq!(f.entries[0].in_reply_to, ["https://a.example/1"]);
    }

    // --- links and bases ---

    #[test]
    fn relative_links_and_xml_base() {
        let f = parse(
            br#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="/feeds/">
  <link href="../"/>
  <entry xml:base="entries/">
    <id>1</id><link href="one.html"/>
    <content type="html" xml:base="content/">&lt;a href="x"&gt;x&lt;/a&gt;</content>
  </entry>
  <entry xml:base="javascript:alert(1)"><id>2</id><link href="two.html"/><summary>s</summary></entry>
  <entry xml:base="http://other.example/"><id>3</id><link href="//cdn.example/three"/></entry>
</feed>"#,
            None,
            "http://example.com/a/feed.atom",
        )
        .unwrap();
        assert_eq!(f.home_url.as_deref(), Some("http://example.com/"));
        assert_eq!(
            f.entries[0].link.as_deref(),
            Some("http://example.com/feeds/entries/one.html")
        );
        assert_eq!(
            f.entries[0].base_url,
            "http://example.com/feeds/entries/content/"
        );
        assert_eq!(
            f.entries[1].link.as_deref(),
            Some("http://example.com/feeds/two.html"),
            "an unsafe base is ignored"
        );
        assert_eq!(f.entries[1].base_url, "http://example.com/feeds/");
        assert_eq!(
            f.entries[2].link.as_deref(),
            Some("http://cdn.example/three")
        );
        // Without a usable feed URL, relative links stay as written.
        let f = parse(
            br#"<rss><channel><item><link>/x</link></item></channel></rss>"#,
            None,
            "",
        )
        .unwrap();
        assert_eq!(f.entries[0].link.as_deref(), Some("/x"));
    }

    #[test]
    fn html_in_titles() {
        let f = ok(r#"<rss><channel><title>A &amp;amp; B</title>
  <item><title>&lt;b&gt;Bold&lt;/b&gt; &amp;eacute;t&amp;eacute; &amp;#8217;</title><guid>1</guid></item>
  <item><title>caf&eacute; &nbsp;undeclared&hellip;</title><guid>2</guid></item>
  <item><title>1 &lt; 2 and AT&amp;T</title><guid>3</guid></item>
  <item><title><![CDATA[<script>alert(1)</script>Safe]]></title><guid>4</guid></item>
  <item><title>   multi
     line   </title><guid>5</guid></item>
</channel></rss>"#);
        assert_eq!(f.title.as_deref(), Some("A & B"));
        let titles: Vec<_> = f
            .entries
            .iter()
            .map(|e| e.title.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(
            titles,
            [
                "Bold été ’",
                "café undeclared…",
                "1 < 2 and AT&T",
                "Safe",
                "multi line"
            ]
        );
    }

    // --- discovery ---

    #[test]
    fn discovery() {
        let html = br#"<!DOCTYPE html><html><head>
<base href="https://cdn.example.com/site/">
<!-- <link rel="alternate" type="application/atom+xml" href="/commented-out"> -->
<LINK REL="alternate" TYPE="application/rss+xml" HREF="rss.xml">
<link rel="alternate feed" type="application/feed+json" href="/feed.json">
<link rel=alternate type=application/atom+xml href=atom.xml>
<link rel="stylesheet" type="text/css" href="style.css">
<link rel="alternate" type="text/html" href="/other-language">
<link rel="alternate" type="application/json" href="../feed.json?x=1&amp;y=2">
<link rel="alternate" type="application/rss+xml" href="rss.xml">
<script>document.write('<link rel="alternate" type="application/atom+xml" href="/script">')</script>
</head><body></body></html>"#;
        assert_eq!(
            discover_feeds(html, "https://example.com/blog/post"),
            [
                "https://cdn.example.com/site/rss.xml",
                "https://cdn.example.com/feed.json",
                "https://cdn.example.com/site/atom.xml",
                "https://cdn.example.com/feed.json?x=1&y=2",
            ],
            "the page's order, whatever the format"
        );
        assert_eq!(
            discover_feeds(
                br#"<link rel="alternate" type="application/rss+xml" href="/f">"#,
                "https://a.example/x/y"
            ),
            ["https://a.example/f"]
        );
        assert!(
            discover_feeds(b"<html><body>nothing</body></html>", "https://a.example/").is_empty()
        );
        assert!(
            discover_feeds(
                "\u{e9}<link rel=\"alternate\" =x type=\"application/rss+xml\" h\u{e9}ref=\u{e9}>"
                    .as_bytes(),
                "https://a.example/"
            )
            .is_empty()
        );
    }

    #[test]
    fn html_pages_and_other_non_feeds() {
        let page = b"<!DOCTYPE html>\n<html><head><title>Hi</title><meta charset=utf-8></head><body><p>Hello</body></html>";
        assert!(looks_like_html(page));
        assert_eq!(
            parse(page, Some("text/html"), URL).unwrap_err().to_string(),
            "not a feed: looks like an HTML page"
        );
        assert!(looks_like_html(b"\xef\xbb\xbf  <!-- x --><html lang=en>"));
        assert!(!looks_like_html(b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>x</title></channel></rss>"));
        assert!(!looks_like_html(
            b"<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>x</title></feed>"
        ));
        assert_eq!(parse(b"  \n ", None, URL).unwrap_err(), ParseError::Empty);
        assert_eq!(
            ParseError::Empty.to_string(),
            "not a feed: the document is empty"
        );
        let opml = parse(
            b"<opml version=\"2.0\"><body><outline/></body></opml>",
            None,
            URL,
        )
        .unwrap_err();
        assert_eq!(
            opml.to_string(),
            "not a feed: an OPML subscription list, not a feed"
        );
        assert!(matches!(
            parse(b"<catalog><book/></catalog>", None, URL),
            Err(ParseError::NotAFeed(_))
        ));
        assert!(matches!(
            parse(b"<<<>>>", None, URL),
            Err(ParseError::Malformed(_) | ParseError::NotAFeed(_))
        ));
        // An Atom feed wrapped in an XHTML page is still found.
        let wrapped = b"<html xmlns=\"http://www.w3.org/1999/xhtml\"><body><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>In</title></feed></body></html>";
        assert_eq!(
            parse(wrapped, None, URL).unwrap().title.as_deref(),
            Some("In")
        );
    }

    // --- broken and hostile input ---

    #[test]
    fn broken_feeds_keep_what_was_read() {
        let truncated = ok(
            r#"<rss version="2.0"><channel><title>T</title><item><title>one</title><guid>1</guid></item><item><title>two</title><guid>2</guid></item><item><title>thr"#,
        );
        assert_eq!(truncated.entries.len(), 3);
        assert_eq!(truncated.entries[1].title.as_deref(), Some("two"));
        let unclosed = ok(
            r#"<rss><channel><itunes:category text="a"><item><title>inside</title><guid>1</guid></item></channel></rss>"#,
        );
        assert_eq!(
            unclosed.entries.len(),
            1,
            "an unclosed element is closed by its parent's end tag"
        );
        let amp = ok(
            r#"<rss><channel><item><link>http://a.example/?a=1&b=2</link></item></channel></rss>"#,
        );
        assert_eq!(
            amp.entries[0].link.as_deref(),
            Some("http://a.example/?a=1&b=2")
        );
    }

    #[test]
    fn billion_laughs_is_inert() {
        let mut dtd = String::from("<!DOCTYPE rss [\n<!ENTITY lol \"lol\">\n");
        for i in 1..=9 {
            let prev = if i == 1 {
                "lol".to_string()
            } else {
                format!("lol{}", i - 1)
            };
            dtd.push_str(&format!(
                "<!ENTITY lol{i} \"{}\">\n",
                format!("&{prev};").repeat(10)
            ));
        }
        dtd.push_str("]>\n");
        let doc = format!(
            "<?xml version=\"1.0\"?>\n{dtd}<rss><channel><title>&lol9;</title><item><title>x &lol9; y</title><guid>1</guid></item></channel></rss>"
        );
        let started = std::time::Instant::now();
        let f = ok(&doc);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(
            f.title.as_deref(),
            Some("&lol9;"),
            "declared entities are never expanded"
        );
        assert_eq!(f.entries[0].title.as_deref(), Some("x &lol9; y"));
    }

    #[test]
    fn external_entities_are_not_fetched() {
        for target in ["file:///etc/passwd", "http://127.0.0.1:9/secret"] {
            let doc = format!(
                "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM \"{target}\"><!ENTITY % p SYSTEM \"{target}\"> %p;]><rss><channel><title>a&xxe;b</title></channel></rss>"
            );
            let f = ok(&doc);
            assert_eq!(f.title.as_deref(), Some("a&xxe;b"));
        }
    }

    #[test]
    fn deep_nesting_and_huge_attribute_lists_are_bounded() {
        let depth = 100_000;
        let doc = format!(
            "<rss><channel><item><guid>1</guid><description>{}x{}</description></item></channel></rss>",
            "<b>".repeat(depth),
            "</b>".repeat(depth)
        );
        let f = ok(&doc);
        assert_eq!(f.entries.len(), 1);
        let summary = f.entries[0].summary_html.clone().unwrap_or_default();
        assert!(
            summary.len() < 10 * MAX_DEPTH,
            "elements below MAX_DEPTH are dropped"
        );
        let attrs: String = (0..200_000).map(|i| format!(" a{i}=\"{i}\"")).collect();
        let doc = format!("<rss><channel><item{attrs}><guid>1</guid></item></channel></rss>");
        let started = std::time::Instant::now();
        assert_eq!(ok(&doc).entries.len(), 1);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        let many = format!(
            "<rss><channel><item><guid>1</guid></item>{}</channel></rss>",
            "<x/>".repeat(MAX_ELEMENTS + 10)
        );
        assert_eq!(
            ok(&many).entries.len(),
            1,
            "a document over MAX_ELEMENTS is read as truncated"
        );
        let links: String = (0..10_000)
            .map(|i| format!("<enclosure url=\"http://a.example/{i}\"/>"))
            .collect();
        let doc = format!("<rss><channel><item><guid>1</guid>{links}</item></channel></rss>");
        assert_eq!(ok(&doc).entries[0].enclosures.len(), MAX_ENCLOSURES);
    }

    #[test]
    fn a_huge_entry_is_cut_short_with_a_note_and_the_others_kept() {
        let huge = "&lt;p&gt;big&lt;/p&gt;".repeat(MAX_ENTRY_BYTES / 4);
        let doc = format!(
            "<rss><channel><title>t</title>\
             <item><guid>1</guid><description>one</description></item>\
             <item><guid>2</guid><description>{huge}</description></item>\
             <item><guid>3</guid><description><![CDATA[{}]]></description></item>\
             <item><guid>4</guid><description>four</description></item>\
             </channel></rss>",
            "x".repeat(3 * MAX_ENTRY_BYTES)
        );
        let f = ok(&doc);
        let ids: Vec<&str> = f.entries.iter().map(|e| e.identity.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3", "4"]);
        for e in &f.entries[1..3] {
            let len = e.summary_html.as_ref().map_or(0, String::len);
            assert!(len > 0 && len <= MAX_ENTRY_BYTES, "{len}");
        }
        assert_eq!(f.entries[3].summary_html.as_deref(), Some("four"));
        assert_eq!(
            f.notes,
            ["2 entries cut short: an entry is read up to 512 KiB"]
        );
    }

    #[test]
    fn entries_past_the_document_limits_are_let_go_with_a_note() {
        let body = "y".repeat(MAX_ENTRY_BYTES / 2);
        // Undated: the first in the document are kept.
        let items: String = (0..40)
            .map(|i| format!("<item><guid>{i}</guid><description>{body}</description></item>"))
            .collect();
        let f = ok(&format!("<rss><channel>{items}</channel></rss>"));
        let kept = f.entries.len();
        assert!(
            (MAX_FEED_CONTENT_BYTES / body.len() - 1..=MAX_FEED_CONTENT_BYTES / body.len())
                .contains(&kept),
            "{kept}"
        );
        assert_eq!(f.entries[kept - 1].identity, format!("{}", kept - 1));
        assert_eq!(
            f.notes,
            [format!("capped: kept the newest {kept} of 40 entries")]
        );
        // Dated, oldest first: the newest (last) are kept.
        let items: String = (0..40)
            .map(|i| {
                format!(
                    "<item><guid>{i}</guid><dc:date>2024-01-01T{:02}:{:02}:00Z</dc:date>\
                     <description>{body}</description></item>",
                    i / 60,
                    i % 60
                )
            })
            .collect();
        let f = ok(&format!(
            "<rss xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel>{items}</channel></rss>"
        ));
        let kept = f.entries.len();
        assert_eq!(f.entries[0].identity, format!("{}", 40 - kept));
        assert_eq!(f.entries[kept - 1].identity, "39");
    }

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

    #[test]
    fn entries_of_huge_titles_count_against_the_document_limit() {
        let title = "t".repeat(MAX_ENTRY_BYTES / 2);
        let items: String = (0..40)
            .map(|i| format!("<item><guid>{i}</guid><title>{title}</title></item>"))
            .collect();
        let f = ok(&format!("<rss><channel>{items}</channel></rss>"));
        assert!(f.entries.len() < 40 / 2, "{}", f.entries.len());
        assert_eq!(f.notes.len(), 1, "{:?}", f.notes);
    }

    #[test]
    fn content_nested_below_max_depth_is_kept_as_flattened_text() {
        let doc = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>1</id>\
             <content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">{}deep <b>text</b>{}</div></content></entry></feed>",
            "<div>".repeat(2 * MAX_DEPTH),
            "</div>".repeat(2 * MAX_DEPTH)
        );
        let f = ok(&doc);
        let content = f.entries[0].content_html.as_deref().unwrap_or_default();
        assert!(
            content.contains("deep text"),
            "{}",
            &content[content.len().saturating_sub(80)..]
        );
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
