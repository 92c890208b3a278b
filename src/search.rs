//! Searching the archive: the query language (words, "phrases", prefix*,
//! `from:NAME`, `before:`/`after:` dates, `is:mine`, `has:link`,
//! `has:photo`), turned into an FTS5 expression that only ever holds quoted
//! strings (the text typed never reaches FTS5's own syntax); the hits read
//! back from their rows, filtered by date and by who may see them, ranked
//! by relevance with recency, and each given a snippet around its first
//! matching word. The index itself is `store::search`.

use crate::store::search::{self as index, Kind};
use crate::store::{entries, mentions, posts};
use anyhow::Result;
use rusqlite::Connection;

/// A parsed query.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Query {
    /// The words and phrases, each `(text, prefix)`: a hit has them all.
    pub terms: Vec<(String, bool)>,
    pub from: Vec<String>,
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub mine: bool,
    pub has_link: bool,
    pub has_photo: bool,
    /// Operators not understood, said back to the user.
    pub ignored: Vec<String>,
}

impl Query {
    pub fn parse(text: &str) -> Query {
        let mut query = Query::default();
        for (word, quoted) in split(text) {
            if quoted {
                if !word.trim().is_empty() {
                    query.terms.push((word, false));
                }
                continue;
            }
            match word.split_once(':') {
                Some(("from", name)) if !name.is_empty() => query.from.push(name.to_string()),
                Some(("before", day)) if day_start(day).is_some() => {
                    query.before = day_start(day);
                }
                Some(("after", day)) if day_start(day).is_some() => {
                    // After a day: from the next one on.
                    query.after = day_start(day).map(|t| t + 86_400);
                }
                Some(("is", "mine")) => query.mine = true,
                Some(("has", "link")) => query.has_link = true,
                Some(("has", "photo")) => query.has_photo = true,
                Some((op, _)) if ["from", "before", "after", "is", "has"].contains(&op) => {
                    query.ignored.push(word.clone())
                }
                _ => match word.strip_suffix('*') {
                    Some(stem) if !stem.is_empty() && !stem.ends_with('*') => {
                        query.terms.push((stem.to_string(), true))
                    }
                    _ => query
                        .terms
                        .push((word.trim_matches('*').to_string(), false)),
                },
            }
        }
        query
            .terms
            .retain(|(t, _)| t.chars().any(char::is_alphanumeric));
        query
    }

    /// Whether the query asks for anything at all.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
            && self.from.is_empty()
            && !self.mine
            && !self.has_link
            && !self.has_photo
    }

    /// The FTS5 expression: every part a quoted string, so no character the
    /// user typed is FTS5 syntax.
    pub fn expression(&self) -> String {
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let mut parts: Vec<String> = self
            .terms
            .iter()
            .map(|(t, prefix)| {
                let q = format!("{{title body author}} : {}", quote(t));
                if *prefix { format!("{q}*") } else { q }
            })
            .collect();
        for name in &self.from {
            parts.push(format!("author : {}", quote(name)));
        }
        for (on, tag) in [
            (self.mine, "xmine"),
            (self.has_link, "xlink"),
            (self.has_photo, "xphoto"),
        ] {
            if on {
                parts.push(format!("tags : {tag}"));
            }
        }
        parts.join(" AND ")
    }

    /// The words a snippet marks.
    fn words(&self) -> Vec<String> {
        self.terms
            .iter()
            .flat_map(|(t, _)| t.split_whitespace().map(str::to_lowercase))
            .collect()
    }
}

/// Splits on white space, keeping "quoted phrases" whole (an unclosed
/// quote runs to the end).
fn split(text: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return out;
        }
        if let Some(after) = rest.strip_prefix('"') {
            let end = after.find('"').unwrap_or(after.len());
            out.push((after[..end].to_string(), true));
            rest = after.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            // `from:"Some Name"` keeps its quoted name whole.
            if let Some(colon) = rest[..end].find(":\"") {
                let open = colon + 2;
                let close = rest[open..].find('"').map_or(rest.len(), |i| open + i);
                out.push((
                    format!("{}{}", &rest[..colon + 1], &rest[open..close]),
                    false,
                ));
                rest = rest.get(close + 1..).unwrap_or("");
            } else {
                out.push((rest[..end].to_string(), false));
                rest = &rest[end..];
            }
        }
    }
}

/// The start (UTC) of a `YYYY-MM-DD` day.
fn day_start(day: &str) -> Option<i64> {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
}

/// Who is searching: visitors find only the owner's own posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Searcher {
    Owner,
    Visitor,
}

pub use crate::render::search::Found;

/// Results per page.
pub const PAGE: usize = 20;
/// Hits read from the index before filtering and ranking.
const CANDIDATES: usize = 300;

/// Runs `query`: page `page` (from 0) of the results, and whether more follow.
pub fn run(
    conn: &Connection,
    query: &Query,
    searcher: Searcher,
    page: usize,
    now: i64,
) -> Result<(Vec<Found>, bool)> {
    if query.is_empty() {
        return Ok((Vec::new(), false));
    }
    let mut expression = query.expression();
    if searcher == Searcher::Visitor {
        expression = format!("({expression}) AND tags : xpost");
    }
    let mut hits = index::matching(conn, &expression, CANDIDATES)?;
    if searcher == Searcher::Owner {
        // Own posts have low numbers beside a busy timeline's entries: their
        // newest matches are candidates too.
        let posts = format!("({expression}) AND tags : xpost");
        let seen: std::collections::HashSet<index::Hit> = hits.iter().copied().collect();
        hits.extend(
            index::matching(conn, &posts, CANDIDATES / 2)?
                .into_iter()
                .filter(|h| !seen.contains(h)),
        );
    }
    let words = query.words();
    let mut scored = Vec::new();
    for hit in hits {
        let Some(candidate) = index::candidate(conn, hit.kind, hit.id)? else {
            continue;
        };
        let at = candidate.at;
        if query.before.is_some_and(|b| at >= b) || query.after.is_some_and(|a| at < a) {
            continue;
        }
        // Relevance, halved by each year of age.
        let years = ((now - at).max(0) as f64) / (365.0 * 86_400.0);
        scored.push((relevance(&candidate, &words) / (1.0 + years), at, hit));
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
    let more = scored.len() > (page + 1) * PAGE;
    // Only the page shown is read whole (text, snippet).
    let mut found = Vec::new();
    for (_, _, hit) in scored.into_iter().skip(page * PAGE).take(PAGE) {
        if let Some(item) = read(conn, hit.kind, hit.id, &words)? {
            found.push(item);
        }
    }
    Ok((found, more))
}

/// How well a candidate matches the words: each word's count at the start
/// of a word, in the title (x3), the author (x2) and the text, damped
/// (`ln(1 + n)`) and summed; a long text's counts weigh less. A query of
/// filters only ranks by date alone.
fn relevance(candidate: &index::Candidate, words: &[String]) -> f64 {
    if words.is_empty() {
        return 1.0;
    }
    let text = if candidate.is_html {
        crate::sanitize::strip_markup(&candidate.text)
    } else {
        candidate.text.clone()
    };
    let title = candidate.title.to_lowercase();
    let author = candidate.author.to_lowercase();
    let body = text.to_lowercase();
    let length = body.split_whitespace().count() as f64;
    let damping = 1.0 + (1.0 + length / 100.0).ln();
    let score: f64 = words
        .iter()
        .map(|word| {
            let n = 3 * word_starts(&title, word)
                + 2 * word_starts(&author, word)
                + word_starts(&body, word);
            (1.0 + n as f64).ln() / damping
        })
        .sum();
    score + 0.01
}

/// How many times `word` begins a word of `text` (both lower case).
fn word_starts(text: &str, word: &str) -> usize {
    text.match_indices(word)
        .filter(|(at, _)| {
            text[..*at]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric())
        })
        .count()
}

/// Reads a hit's row (`None`: gone since, or a mention not shown).
fn read(conn: &Connection, kind: Kind, id: i64, words: &[String]) -> Result<Option<Found>> {
    let (link, title, author, at, text) = match kind {
        Kind::Post => {
            let Some(post) = posts::get(conn, posts::PostId(id))? else {
                return Ok(None);
            };
            let title = crate::sanitize::one_line(&post.body, 80);
            (
                Some(format!("posts/{id}")),
                title,
                String::new(),
                post.published,
                post.body,
            )
        }
        Kind::Entry => {
            let Some(entry) = entries::get(conn, id)? else {
                return Ok(None);
            };
            let text = entry
                .content
                .as_ref()
                .map(|c| crate::sanitize::plain_text(c.as_str(), index::MAX_INDEXED_CHARS))
                .unwrap_or_default();
            let author = match &entry.author {
                Some(a) if !a.is_empty() => format!("{a} ({})", entry.source_name),
                _ => entry.source_name.clone(),
            };
            (
                entry.link.filter(|l| crate::sanitize::is_web_url(l)),
                entry.title.unwrap_or_default(),
                author,
                entry.sort_time,
                text,
            )
        }
        Kind::Mention => {
            let Some(m) = mentions::get(conn, id)? else {
                return Ok(None);
            };
            if m.state != mentions::state::APPROVED && m.state != mentions::state::PENDING {
                return Ok(None);
            }
            let text = crate::sanitize::plain_text(&m.content, index::MAX_INDEXED_CHARS);
            (
                Some(m.source.clone()).filter(|l| crate::sanitize::is_web_url(l)),
                String::new(),
                m.author_name,
                m.published.unwrap_or(m.received_at),
                text,
            )
        }
    };
    Ok(Some(Found {
        kind,
        id,
        link,
        title,
        author,
        at,
        snippet: snippet(&text, words),
    }))
}

/// Characters of context shown on each side of the first match.
const CONTEXT: usize = 90;

/// Text around the first of `words` found in `text` (case-insensitive,
/// at a word's start), as runs of (text, marked).
pub fn snippet(text: &str, words: &[String]) -> Vec<(String, bool)> {
    let chars: Vec<char> = text.chars().collect();
    let lower: Vec<char> = chars
        .iter()
        .flat_map(|c| c.to_lowercase().take(1))
        .collect();
    let starts_word = |i: usize| i == 0 || !lower[i - 1].is_alphanumeric();
    let matches_at = |i: usize| -> Option<usize> {
        words
            .iter()
            .filter(|w| !w.is_empty())
            .map(|w| w.chars().collect::<Vec<_>>())
            .find(|w| starts_word(i) && lower[i..].starts_with(w))
            .map(|w| w.len())
    };
    let first = (0..lower.len()).find(|&i| matches_at(i).is_some());
    let start = first.map_or(0, |i| i.saturating_sub(CONTEXT));
    let end = first.map_or(2 * CONTEXT, |i| i + CONTEXT).min(chars.len());
    let mut runs: Vec<(String, bool)> = Vec::new();
    let mut push = |c: char, marked: bool| match runs.last_mut() {
        Some((s, m)) if *m == marked => s.push(c),
        _ => runs.push((c.to_string(), marked)),
    };
    if start > 0 {
        push('…', false);
    }
    let mut i = start;
    while i < end {
        match matches_at(i) {
            Some(len) => {
                for &c in &chars[i..(i + len).min(chars.len())] {
                    push(c, true);
                }
                i += len;
            }
            None => {
                push(chars[i], false);
                i += 1;
            }
        }
    }
    if end < chars.len() {
        push('…', false);
    }
    runs
}

/// Adds rows made before the index, a chunk per transaction, until done
/// or `deadline` (cron). Returns how many were indexed.
pub fn catch_up(
    node: &mut crate::node::Node,
    deadline: Option<std::time::Instant>,
) -> Result<usize> {
    let mut count = 0;
    loop {
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return Ok(count);
        }
        let done = node.write_unseen(index::catch_up)?;
        if done == 0 {
            return Ok(count);
        }
        count += done;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_language_becomes_quoted_fts_strings_only() {
        let q = Query::parse(
            r#"rust "shared hosting" deploy* from:"Ann Lee" after:2026-01-31 before:2026-03-01 is:mine has:link has:photo is:weird NEAR( "#,
        );
        assert_eq!(
            q.terms,
            [
                ("rust".to_string(), false),
                ("shared hosting".to_string(), false),
                ("deploy".to_string(), true),
                ("NEAR(".to_string(), false),
            ]
        );
        assert_eq!(q.from, ["Ann Lee"]);
        assert_eq!(q.after, day_start("2026-02-01"));
        assert_eq!(q.before, day_start("2026-03-01"));
        assert!(q.mine && q.has_link && q.has_photo);
        assert_eq!(q.ignored, ["is:weird"]);
        assert_eq!(
            q.expression(),
            r#"{title body author} : "rust" AND {title body author} : "shared hosting" AND {title body author} : "deploy"* AND {title body author} : "NEAR(" AND author : "Ann Lee" AND tags : xmine AND tags : xlink AND tags : xphoto"#
        );
        let hostile = Query::parse(r#"a"b OR c) "x""y"#);
        for (term, _) in &hostile.terms {
            assert!(
                hostile
                    .expression()
                    .contains(&format!("\"{}\"", term.replace('"', "\"\"")))
            );
        }
        assert!(Query::parse("  ** \"\" ").is_empty());
    }

    #[test]
    fn a_snippet_marks_words_at_their_start_around_the_first_match() {
        let runs = snippet(
            "Deploying Rust on a host; trust me, rust is fine",
            &["rust".into()],
        );
        assert_eq!(
            runs,
            [
                ("Deploying ".to_string(), false),
                ("Rust".to_string(), true),
                (" on a host; trust me, ".to_string(), false),
                ("rust".to_string(), true),
                (" is fine".to_string(), false),
            ]
        );
        let long = format!("{} needle {}", "a ".repeat(200), "b ".repeat(200));
        let runs = snippet(&long, &["needle".into()]);
        assert!(runs.first().unwrap().0.starts_with('…') && runs.last().unwrap().0.ends_with('…'));
        assert!(runs.iter().any(|(t, m)| *m && t == "needle"));
    }

    #[test]
    fn the_index_finds_posts_entries_and_mentions_through_the_writes() {
        let conn = crate::store::migrations::in_memory();
        let mine = posts::insert(
            &conn,
            "tag:x,2026:",
            "Shipping roost on shared hosting https://example.com",
            None,
            100,
        )
        .unwrap();
        let other =
            posts::insert(&conn, "tag:x,2026:", "Nothing relevant here", None, 100).unwrap();
        let q = Query::parse("hosting");
        let (found, more) = run(&conn, &q, Searcher::Visitor, 0, 200).unwrap();
        assert_eq!(found.iter().map(|f| f.id).collect::<Vec<_>>(), [mine.0]);
        assert!(!more);
        assert!(found[0].snippet.iter().any(|(t, m)| *m && t == "hosting"));
        let (found, _) = run(&conn, &Query::parse("has:link"), Searcher::Owner, 0, 200).unwrap();
        assert_eq!(found.len(), 1);
        posts::update_body(&conn, other, "Now about hosting too", 150).unwrap();
        let (found, _) = run(&conn, &Query::parse("host*"), Searcher::Owner, 0, 200).unwrap();
        assert_eq!(found.len(), 2);
        posts::delete(&conn, mine, 160).unwrap();
        let (found, _) = run(&conn, &q, Searcher::Owner, 0, 200).unwrap();
        assert_eq!(found.iter().map(|f| f.id).collect::<Vec<_>>(), [other.0]);
        let (found, _) = run(
            &conn,
            &Query::parse("hosting before:1970-01-02"),
            Searcher::Owner,
            0,
            200,
        )
        .unwrap();
        assert_eq!(
            found.len(),
            1,
            "150 s after the epoch is before the 2nd of January 1970"
        );
        let (found, _) = run(
            &conn,
            &Query::parse("hosting after:1970-01-01"),
            Searcher::Owner,
            0,
            200,
        )
        .unwrap();
        assert!(found.is_empty());
    }
}
