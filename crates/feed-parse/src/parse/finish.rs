//! The finishing every entry gets, whatever its format: its identity (the
//! feed's id, else its link, else a content hash), duplicates merged (the
//! newest version kept), control characters scrubbed, and the cap of
//! [`MAX_ENTRIES`] by date. Does not read any format.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::escape::char_from_reference;
use super::{IncomingEntry, IncomingFeed, MAX_ENTRIES};

/// An entry, and whether the feed gave it an id (else its identity is its
/// link or a content hash).
pub(super) type Built = (IncomingEntry, bool);

/// Merges entries that share an id: the newest version wins (the later
/// `updated`; without two such dates, the later in the document), in the place
/// of the first. Entries without an id are never merged: those that share a
/// link (a feed whose items all point to its home page) are told apart by
/// their content hash, and identical ones by a count after it. Control
/// characters are scrubbed from every field.
pub(super) fn settle(built: impl IntoIterator<Item = Built>) -> Vec<IncomingEntry> {
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
pub(super) fn cap_entries(feed: &mut IncomingFeed) {
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
pub(super) fn scrub_controls(s: &mut String) {
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

/// An entry before its identity is settled.
pub(super) struct Draft {
    pub(super) id: Option<String>,
    pub(super) entry: IncomingEntry,
}

impl Draft {
    pub(super) fn new(base_url: String) -> Draft {
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
    pub(super) fn finish(mut self, feed_author: Option<&str>) -> Option<Built> {
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
pub(super) fn with_feed_author(built: Option<Built>, feed_author: Option<&str>) -> Option<Built> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testing::*;

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
}
