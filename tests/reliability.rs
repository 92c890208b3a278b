//! Concurrency and crashes: SQLite under CGI, FastCGI and cron, hit where it
//! hurts. Posting clients go through a real Apache while `roost poll` is
//! SIGKILLed, FastCGI children are SIGKILLed mid-request, the data directory
//! fills up or turns read-only, and a cron poll runs out of CPU time. After
//! each: `PRAGMA integrity_check`, every acknowledged post exactly once, no
//! feed with half a fetch applied, and roost working again.
//!
//! The sizes here are the short version that runs with every `cargo test`.
//! `reliability/run` runs the same tests bigger (10,000 posts, 50 kills, 500
//! feeds) through the `ROOST_RELIABILITY_*` variables read by [`Scale`], and
//! collects the markdown each test appends to `ROOST_RELIABILITY_REPORT`.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write as _};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::apache::{Kind, Site, apache, prefork_apache};
use common::feed_server::{FeedServer, Route};
use common::http::{self, HttpResponse, form_encode};
use common::process::hidden_csrf;
use common::{TempDir, cgi_user, expect_success, run_as_cgi_user, unique};

// ---------------------------------------------------------------- sizes

/// How big a run is: the short defaults, or what `reliability/run` asks for.
#[derive(Debug, Clone, Copy)]
struct Scale {
    /// Posts sent through Apache in each of the two web scenarios.
    posts: usize,
    /// Concurrent posting clients (threads, one session each).
    clients: usize,
    /// SIGKILLs: of `roost poll` (CGI scenario) and of FastCGI children.
    kills: usize,
    /// Loopback feeds followed in the killed-polls scenario.
    feeds: usize,
    /// Entries per feed version.
    entries: usize,
    /// Feeds in the CPU-limit scenario (each a heavy one, see `heavy_atom`).
    cpu_feeds: usize,
}

impl Scale {
    fn from_env() -> Scale {
        let get = |name: &str, default: usize| -> usize {
            match std::env::var(name) {
                Ok(v) => v
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
                Err(_) => default,
            }
        };
        Scale {
            posts: get("ROOST_RELIABILITY_POSTS", 200),
            clients: get("ROOST_RELIABILITY_CLIENTS", 20),
            kills: get("ROOST_RELIABILITY_KILLS", 5),
            feeds: get("ROOST_RELIABILITY_FEEDS", 50),
            entries: get("ROOST_RELIABILITY_ENTRIES", 10),
            cpu_feeds: get("ROOST_RELIABILITY_CPU_FEEDS", 150),
        }
    }
}

/// Appends a markdown block to `$ROOST_RELIABILITY_REPORT` (when set) and
/// prints it to stderr (seen with `--nocapture`).
fn report(markdown: &str) {
    eprintln!("{markdown}");
    if let Some(path) = std::env::var_os("ROOST_RELIABILITY_REPORT") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open the report {path:?}: {e}"));
        writeln!(file, "{markdown}").expect("write the report");
    }
}

/// A small generator (SplitMix64): std has none. The seed is printed, and
/// `ROOST_RELIABILITY_SEED` replays a run.
struct Rng(common::SplitMix64);

impl Rng {
    fn new(what: &str) -> Rng {
        let seed = std::env::var("ROOST_RELIABILITY_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("{what}: random seed {seed} (ROOST_RELIABILITY_SEED replays it)");
        Rng(common::SplitMix64(seed))
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0.below(n)
    }

    fn millis_between(&mut self, low: u64, high: u64) -> Duration {
        Duration::from_millis(low + self.below(high.saturating_sub(low) + 1))
    }
}

// ---------------------------------------------------------------- the database, read behind roost's back

/// Opens the site's database read-only (as root, without creating or
/// removing a file: roost keeps its -wal and -shm in place).
fn open_db(home: &Path) -> rusqlite::Connection {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        home.join("roost.db"),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap_or_else(|e| panic!("open the database in {}: {e}", home.display()));
    conn.busy_timeout(Duration::from_secs(30)).unwrap();
    conn
}

/// The first column of every row `sql` returns, as text.
fn strings(home: &Path, sql: &str) -> Vec<String> {
    let conn = open_db(home);
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn integrity(home: &Path) -> String {
    strings(home, "PRAGMA integrity_check").join("; ")
}

/// Each stored post body starting with `prefix`, with how many times it is there.
fn posts_with_prefix(home: &Path, prefix: &str) -> HashMap<String, usize> {
    let conn = open_db(home);
    let mut stmt = conn
        .prepare(
            "SELECT body, count(*) FROM posts WHERE substr(body, 1, length(?1)) = ?1 GROUP BY body",
        )
        .unwrap();
    stmt.query_map([prefix], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

// ---------------------------------------------------------------- posting clients

/// What one POST /posts got.
#[derive(Debug)]
struct Sent {
    text: String,
    /// The HTTP status, or None when no answer came (connection error, timeout).
    status: Option<u16>,
}

impl Sent {
    /// POST /posts answers 303 to `URL#post-ID` once the post is stored.
    fn created(&self) -> bool {
        self.status == Some(303)
    }
}

/// A logged-in client: its session cookie and the form's CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

fn log_in(site: &Site) -> Session {
    let form = site.get("/login", &[]);
    assert_eq!(form.status, 200, "GET /login: {form:?}");
    let done = site.submit_login(&form);
    assert_eq!(done.status, 303, "POST /login: {done:?}");
    let cookie = format!("roost_session={}", done.cookie("roost_session").unwrap());
    let front = site.get("/", &[("Cookie", &cookie)]);
    assert_eq!(front.status, 200, "GET / as the owner: {front:?}");
    let csrf = hidden_csrf(&front.text());
    Session { cookie, csrf }
}

/// POST /posts with `text`: the answer, or None when none came.
fn post_answer(site: &Site, session: &Session, text: &str) -> Option<HttpResponse> {
    let body = form_encode(&[("csrf", &session.csrf), ("text", text)]);
    let raw = http::build_request(
        site.addr(),
        "POST",
        &site.path("/posts"),
        &[
            ("Host", &site.host),
            ("Cookie", &session.cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some(body.as_bytes()),
    );
    http::try_request(site.addr(), &raw).ok()
}

fn post(site: &Site, session: &Session, text: &str) -> Sent {
    let answer = post_answer(site, session, text);
    if let Some(r) = &answer
        && r.status == 303
    {
        assert!(
            r.header("Location").is_some_and(|l| l.contains("#post-")),
            "a 303 for a new post leads to it: {r:?}"
        );
    }
    Sent {
        text: text.to_string(),
        status: answer.map(|r| r.status),
    }
}

/// Logs `clients` clients in, one session each.
fn log_in_clients(site: &Site, clients: usize) -> Vec<Session> {
    (0..clients).map(|_| log_in(site)).collect()
}

/// One thread per session posts, `total` posts between them, each text
/// `PREFIX-cC-pK` plus padding; returns every answer.
fn post_concurrently(site: &Site, sessions: &[Session], prefix: &str, total: usize) -> Vec<Sent> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(total));
    std::thread::scope(|scope| {
        for (c, session) in sessions.iter().enumerate() {
            let (next, results) = (&next, &results);
            scope.spawn(move || {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= total {
                        return;
                    }
                    // Unique, and long enough that a torn write would show.
                    let text = format!(
                        "{prefix}-c{c}-p{k} {}",
                        "the quick brown fox jumps over the lazy dog ".repeat(3)
                    );
                    let sent = post(site, session, text.trim_end());
                    results.lock().unwrap().push(sent);
                }
            });
        }
    });
    results.into_inner().unwrap()
}

/// What became of the posts: checks that every acknowledged one is stored
/// exactly once, nothing is stored twice or torn, and returns a summary.
#[derive(Debug, Default)]
struct PostTally {
    sent: usize,
    created: usize,
    /// Answered, but not 303: (status, count).
    refused: BTreeMap<u16, usize>,
    no_answer: usize,
    lost: usize,
    duplicated: usize,
    /// Stored although the client never saw the 303 (the process died after the commit).
    stored_unacknowledged: usize,
    /// Stored with a body that is not one that was sent.
    torn: usize,
}

fn tally_posts(home: &Path, prefix: &str, sent: &[Sent]) -> PostTally {
    let stored = posts_with_prefix(home, prefix);
    let mut t = PostTally {
        sent: sent.len(),
        ..PostTally::default()
    };
    let texts: HashSet<&str> = sent.iter().map(|s| s.text.as_str()).collect();
    for s in sent {
        let n = stored.get(&s.text).copied().unwrap_or(0);
        if n > 1 {
            t.duplicated += 1;
        }
        match s.status {
            Some(303) => {
                t.created += 1;
                if n == 0 {
                    t.lost += 1;
                }
            }
            Some(other) => *t.refused.entry(other).or_default() += 1,
            None => t.no_answer += 1,
        }
        if n > 0 && !s.created() {
            t.stored_unacknowledged += 1;
        }
    }
    t.torn = stored
        .keys()
        .filter(|b| !texts.contains(b.as_str()))
        .count();
    t
}

impl PostTally {
    fn assert_sound(&self, what: &str) {
        assert_eq!(self.lost, 0, "{what}: acknowledged posts lost: {self:?}");
        assert_eq!(self.duplicated, 0, "{what}: posts stored twice: {self:?}");
        assert_eq!(self.torn, 0, "{what}: stored bodies nobody sent: {self:?}");
    }

    fn markdown_rows(&self) -> String {
        let refused = if self.refused.is_empty() {
            "none".to_string()
        } else {
            self.refused
                .iter()
                .map(|(s, n)| format!("{n}× {s}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "| posts sent | {} |\n| acknowledged (303) | {} |\n| refused (status) | {refused} |\n\
             | no answer | {} |\n| stored without a 303 | {} |\n| **lost** | **{}** |\n\
             | **duplicated** | **{}** |\n| torn | {} |",
            self.sent,
            self.created,
            self.no_answer,
            self.stored_unacknowledged,
            self.lost,
            self.duplicated,
            self.torn
        )
    }
}

// ---------------------------------------------------------------- feeds

/// `count` Atom feeds on a loopback server, each at a version (generation)
/// that `bump` moves on: new entry ids, title and ETag, all naming it, so
/// what a poll stored shows which fetch it came from.
struct Feeds {
    server: FeedServer,
    count: usize,
    entries: usize,
    /// Filler per entry, to make feeds heavier to parse and sanitize.
    padding: usize,
    generations: Mutex<Vec<u32>>,
}

impl Feeds {
    fn start(count: usize, entries: usize, padding: usize) -> Feeds {
        let feeds = Feeds {
            server: FeedServer::start(),
            count,
            entries,
            padding,
            generations: Mutex::new(vec![0; count]),
        };
        for n in 0..count {
            feeds.publish(n, 0);
        }
        feeds
    }

    fn path(n: usize) -> String {
        format!("/f/{n}.xml")
    }

    fn publish(&self, n: usize, generation: u32) {
        let mut body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\
             <title>feed {n} gen {generation}</title><id>urn:roost-rel:feed:{n}</id>\
             <updated>2026-11-23T10:00:00Z</updated><link href=\"http://feeds.test/{n}\"/>\n"
        );
        let filler =
            "<p>Some <em>text</em> with <a href=\"/x\">a link</a>.</p>".repeat(self.padding);
        for k in 0..self.entries {
            body.push_str(&format!(
                "<entry><id>urn:roost-rel:f{n}:g{generation}:e{k}</id><title>entry {k}</title>\
                 <updated>2026-11-23T10:{:02}:00Z</updated><link href=\"http://feeds.test/{n}/{generation}/{k}\"/>\
                 <content type=\"html\">{}</content></entry>\n",
                k % 60,
                escape(&format!("<p>Entry {k} of feed {n}, version {generation}.</p>{filler}"))
            ));
        }
        body.push_str("</feed>\n");
        self.server.set(
            &Feeds::path(n),
            Route::Feed {
                body: body.into_bytes(),
                content_type: "application/atom+xml".into(),
                etag: format!("\"f{n}-g{generation}\""),
                last_modified: format!(
                    "Mon, 23 Nov 2026 {:02}:{:02}:{:02} GMT",
                    generation / 3600 % 24,
                    generation / 60 % 60,
                    generation % 60
                ),
            },
        );
        self.generations.lock().unwrap()[n] = generation;
    }

    /// Moves each feed to a new version with probability 1/`one_in`.
    fn bump_some(&self, rng: &mut Rng, one_in: u64) -> usize {
        let mut bumped = 0;
        for n in 0..self.count {
            if rng.below(one_in) == 0 {
                let g = self.generations.lock().unwrap()[n] + 1;
                self.publish(n, g);
                bumped += 1;
            }
        }
        bumped
    }

    fn opml(&self) -> String {
        let mut s = String::from(
            "<?xml version=\"1.0\"?>\n<opml version=\"2.0\"><head><title>f</title></head><body>\n",
        );
        for n in 0..self.count {
            s.push_str(&format!(
                "<outline type=\"rss\" text=\"f{n}\" xmlUrl=\"{}\"/>\n",
                self.server.url(&Feeds::path(n))
            ));
        }
        s.push_str("</body></opml>\n");
        s
    }

    /// Requests the server has had for feed `n`.
    fn requests(&self, n: usize) -> usize {
        self.server.requests(&Feeds::path(n)).len()
    }

    fn feed_number(&self, url: &str) -> Option<usize> {
        url.rsplit_once("/f/")?.1.strip_suffix(".xml")?.parse().ok()
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Follows every feed (`import-opml`, which fetches each once) after
/// allowing loopback addresses.
fn follow_all(bin: &Path, home: &Path, feeds: &Feeds, scratch: &Path) {
    let out = common::run_cli(
        bin,
        home,
        &["config", "allow_private_addresses", "true"],
        None,
    );
    expect_success("config allow_private_addresses", &out);
    let opml = scratch.join("follow.opml");
    std::fs::write(&opml, feeds.opml()).unwrap();
    common::set_mode(&opml, 0o644);
    let out = common::run_cli(bin, home, &["import-opml", opml.to_str().unwrap()], None);
    expect_success("import-opml", &out);
}

/// Every followed feed holds only whole versions: for each version its
/// entries came from, all of them, and its ETag and title from the newest
/// of those versions (one fetch, one transaction). Returns the feeds checked
/// and the entries seen.
fn check_feeds_whole(home: &Path, feeds: &Feeds) -> (usize, usize) {
    let conn = open_db(home);
    let follows: Vec<(i64, String, Option<String>, Option<String>)> = conn
        .prepare("SELECT id, url, etag, title FROM follows")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(follows.len(), feeds.count, "every feed is still followed");
    let mut versions: HashMap<i64, BTreeMap<u32, usize>> = HashMap::new();
    let mut entries = 0;
    let mut stmt = conn
        .prepare("SELECT follow_id, identity FROM entries")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .unwrap();
    for row in rows {
        let (follow_id, identity) = row.unwrap();
        let generation = identity
            .split(':')
            .find_map(|part| part.strip_prefix('g'))
            .and_then(|g| g.parse().ok())
            .unwrap_or_else(|| panic!("an entry that is none of ours: {identity}"));
        *versions
            .entry(follow_id)
            .or_default()
            .entry(generation)
            .or_default() += 1;
        entries += 1;
    }
    for (id, url, etag, title) in &follows {
        let n = feeds
            .feed_number(url)
            .unwrap_or_else(|| panic!("a follow that is none of ours: {url}"));
        let seen = versions.get(id).cloned().unwrap_or_default();
        for (generation, count) in &seen {
            assert_eq!(
                *count, feeds.entries,
                "feed {n}: version {generation} stored with {count} of {} entries: half a fetch",
                feeds.entries
            );
        }
        let newest = *seen
            .keys()
            .last()
            .unwrap_or_else(|| panic!("feed {n} has no entries"));
        assert_eq!(
            etag.as_deref(),
            Some(format!("\"f{n}-g{newest}\"").as_str()),
            "feed {n}: the ETag is not from the fetch that brought its newest entries"
        );
        assert_eq!(
            title.as_deref(),
            Some(format!("feed {n} gen {newest}").as_str()),
            "feed {n}: the title is not from the fetch that brought its newest entries"
        );
    }
    (follows.len(), entries)
}

/// After a whole poll: every feed's ETag names the version the server has now.
fn check_feeds_current(home: &Path, feeds: &Feeds) {
    let conn = open_db(home);
    let generations = feeds.generations.lock().unwrap().clone();
    let mut stmt = conn.prepare("SELECT url, etag FROM follows").unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })
        .unwrap();
    for row in rows {
        let (url, etag) = row.unwrap();
        let n = feeds.feed_number(&url).expect("one of our feeds");
        assert_eq!(
            etag,
            Some(format!("\"f{n}-g{}\"", generations[n])),
            "feed {n} is not at its newest version after a whole poll"
        );
    }
}

// ---------------------------------------------------------------- processes

fn text_of(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A final, unkilled `roost poll ARGS`: it must finish and must not find the lease taken.
fn final_poll(bin: &Path, home: &Path, args: &[&str]) -> String {
    let mut all = vec!["poll"];
    all.extend_from_slice(args);
    let out = common::run_cli(bin, home, &all, None);
    let said = expect_success("the final poll", &out);
    assert!(
        said.starts_with("Polled ") && !said.contains("Another poll"),
        "the lease must recover: the final poll said {said:?}"
    );
    said.lines().next().unwrap_or("").to_string()
}

fn site_binary(site: &Site) -> &Path {
    site.binary.as_deref().expect("a roost site")
}

// ---------------------------------------------------------------- 1. CGI + killed polls

/// Posting clients through prefork Apache + mod_cgi while `roost poll
/// --force` over changing feeds is SIGKILLed at random moments and started
/// again: nothing acknowledged is lost or doubled, no feed keeps half a
/// fetch, and the lease a killed poll leaves behind is taken over.
#[test]
fn cgi_posts_and_killed_polls_lose_nothing() {
    let scale = Scale::from_env();
    let started = Instant::now();
    let apache = prefork_apache();
    let site = apache.roost_site(&unique("rel-cgi"), Kind::Cgi);
    let bin = site_binary(&site).to_path_buf();
    let scratch = TempDir::new("roost-rel-cgi");
    let feeds = Feeds::start(scale.feeds, scale.entries, 0);
    follow_all(&bin, &site.home, &feeds, scratch.path());
    let mut rng = Rng::new("cgi_posts_and_killed_polls_lose_nothing");

    // How long one whole poll takes here, to aim the kills inside one.
    feeds.bump_some(&mut rng, 4);
    let t = Instant::now();
    expect_success(
        "the calibrating poll",
        &common::run_cli(&bin, &site.home, &["poll", "--force"], None),
    );
    let poll_time = t.elapsed();

    let prefix = unique("rel-cgi-post");
    let sessions = log_in_clients(&site, scale.clients);
    // How long a poll takes under the load: a running average of the polls
    // that finished, nudged up by each kill (a killed poll would have taken
    // longer than its aim), so the kills land all through polls as they
    // speed up (warm caches, mostly 304s) or slow down (posting at full tilt).
    let mut typical = poll_time;
    let (sent, kills) = std::thread::scope(|scope| {
        let posting = scope.spawn(|| post_concurrently(&site, &sessions, &prefix, scale.posts));
        let mut kills = KillStats::default();
        // Kill polls until enough kills landed and the posting is over; a
        // posting run far longer than the kills keeps polls going meanwhile.
        while kills.killed < scale.kills || !posting.is_finished() {
            assert!(
                kills.started < scale.kills * 20 + 1000,
                "cannot land {} kills: {kills:?}",
                scale.kills
            );
            feeds.bump_some(&mut rng, 8);
            // The site's roost.cgi is a copy of this binary.
            let mut poll = common::process::start(&site.home, &["poll", "--force"]);
            let child = &mut poll.0;
            let began = Instant::now();
            kills.started += 1;
            // Anywhere from its start to a little past how long one takes.
            let aim = rng.millis_between(5, (typical.as_millis() as u64 * 6 / 5).max(20));
            let deadline = Instant::now() + aim;
            let finished = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break Some(status);
                }
                if Instant::now() >= deadline {
                    break None;
                }
                std::thread::sleep(Duration::from_millis(5));
            };
            match finished {
                None => {
                    child.kill().expect("SIGKILL the poll by its pid");
                    let status = child.wait().unwrap();
                    if status.signal() == Some(libc::SIGKILL) {
                        typical += typical / 8;
                        kills.killed += 1;
                    } else {
                        kills.finished += 1; // It ended just before the signal.
                    }
                }
                Some(status) => {
                    // It has ended: its pipes hold all it said.
                    let mut said = String::new();
                    if let Some(mut out) = child.stdout.take() {
                        out.read_to_string(&mut said).unwrap();
                    }
                    if let Some(mut err) = child.stderr.take() {
                        err.read_to_string(&mut said).unwrap();
                    }
                    assert!(status.success(), "an unkilled poll failed: {said}");
                    assert!(
                        !said.contains("Another poll"),
                        "a poll found a killed poll's lease still held: {said}"
                    );
                    typical = (typical * 3 + began.elapsed()) / 4;
                    kills.finished += 1;
                }
            }
        }
        (posting.join().unwrap(), kills)
    });
    // Every feed fetched once more, to the end: each ends at its newest version.
    let last_poll = final_poll(&bin, &site.home, &["--force"]);

    let integrity = integrity(&site.home);
    assert_eq!(integrity, "ok", "PRAGMA integrity_check");
    let tally = tally_posts(&site.home, &prefix, &sent);
    let (checked, entries) = check_feeds_whole(&site.home, &feeds);
    check_feeds_current(&site.home, &feeds);
    report(&format!(
        "#### CGI (prefork + mod_cgi) posting while `roost poll` is SIGKILLed\n\n\
         {} clients, {} feeds of {} entries (about one in eight changed before each poll), \
         one whole poll took {:.2} s before the load and {:.2} s at the end (running average); \
         {:.0} s in all.\n\n\
         | what | count |\n|---|---|\n{}\n| polls started | {} |\n| polls SIGKILLed | {} |\n\
         | polls that finished first | {} |\n| feeds checked whole | {checked} ({entries} entries) |\n\
         | integrity_check | {integrity} |\n| final poll | {last_poll} |\n",
        scale.clients,
        scale.feeds,
        scale.entries,
        poll_time.as_secs_f64(),
        typical.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        tally.markdown_rows(),
        kills.started,
        kills.killed,
        kills.finished,
    ));
    tally.assert_sound("CGI with killed polls");
    assert!(kills.killed >= scale.kills, "{kills:?}");
    assert!(tally.created > 0, "some posts must get through: {tally:?}");
}

#[derive(Debug, Default)]
struct KillStats {
    started: usize,
    killed: usize,
    finished: usize,
}

// ---------------------------------------------------------------- 2. FastCGI children killed

/// The roost FastCGI processes running `binary` (found through /proc, so
/// only this site's, never anyone else's).
fn processes_running(binary: &Path) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe.as_path() == binary)
        })
        .collect()
}

/// Waits until GET /login answers 200; returns how long that took.
fn wait_until_answering(site: &Site, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let raw = http::build_request(
            site.addr(),
            "GET",
            &site.path("/login"),
            &[("Host", site.host.as_str())],
            None,
        );
        if http::try_request(site.addr(), &raw).is_ok_and(|r| r.status == 200) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "the site did not answer within {limit:?} after the kills"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Posting clients through mod_fcgid while the roost FastCGI children are
/// SIGKILLed by PID with posts in flight: requests may fail, but every
/// acknowledged post is there once and nothing is half written.
#[test]
fn fastcgi_children_killed_mid_request() {
    let scale = Scale::from_env();
    let started = Instant::now();
    let site = apache().roost_site(&unique("rel-fcgi"), Kind::Fcgid);
    let binary = std::fs::canonicalize(site_binary(&site)).unwrap();
    let mut rng = Rng::new("fastcgi_children_killed_mid_request");
    let prefix = unique("rel-fcgi-post");
    let sessions = log_in_clients(&site, scale.clients);
    let killed = AtomicUsize::new(0);
    let sent = std::thread::scope(|scope| {
        let posting = scope.spawn(|| post_concurrently(&site, &sessions, &prefix, scale.posts));
        // Kills all through the posting, once posts are in flight.
        while !posting.is_finished() {
            std::thread::sleep(rng.millis_between(20, 300));
            let pids = processes_running(&binary);
            if pids.is_empty() {
                continue;
            }
            let pid = pids[rng.below(pids.len() as u64) as usize];
            // SAFETY: kill(2) on a pid we just found running our site's binary.
            if unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
                killed.fetch_add(1, Ordering::Relaxed);
            }
        }
        posting.join().unwrap()
    });
    let killed = killed.into_inner();
    // The site answers again afterwards (once mod_fcgid, which holds back
    // spawning after many deaths, starts roost again), and posting works.
    let recovery = wait_until_answering(&site, Duration::from_secs(120));
    let session = log_in(&site);
    let after = post(&site, &session, &format!("{prefix}-after"));
    assert!(after.created(), "posting after the kills: {after:?}");

    let integrity = integrity(&site.home);
    assert_eq!(integrity, "ok", "PRAGMA integrity_check");
    let mut all = sent;
    all.push(after);
    let tally = tally_posts(&site.home, &prefix, &all);
    report(&format!(
        "#### FastCGI (mod_fcgid) children SIGKILLed mid-request\n\n\
         {} clients; a random roost FastCGI process SIGKILLed every 20–300 ms while posts were in flight; {:.0} s in all.\n\n\
         | what | count |\n|---|---|\n{}\n| FastCGI processes SIGKILLed | {killed} |\n\
         | from the last kill to the site answering again | {:.1} s |\n\
         | integrity_check | {integrity} |\n",
        scale.clients,
        started.elapsed().as_secs_f64(),
        tally.markdown_rows(),
        recovery.as_secs_f64(),
    ));
    tally.assert_sound("FastCGI with killed children");
    assert!(
        killed >= scale.kills,
        "only {killed} of {} kills landed while posting: was a FastCGI process running?",
        scale.kills
    );
}

// ---------------------------------------------------------------- 3. disk full, read-only

/// A small tmpfs mounted over a site's data directory, holding what was
/// there (ownership kept), unmounted on drop. Needs root.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// None when not root (mount needs it): the caller says the test was skipped.
    fn over(dir: &Path, size: &str) -> Option<Tmpfs> {
        if common::current_ids().0 != 0 {
            return None;
        }
        let stash = TempDir::new("roost-rel-stash");
        run_ok(
            Command::new("cp")
                .arg("-a")
                .arg(format!("{}/.", dir.display()))
                .arg(stash.path()),
        );
        let (uid, gid) = cgi_user().map_or((0, 0), |u| (u.uid, u.gid));
        run_ok(
            Command::new("mount")
                .args(["-t", "tmpfs", "-o"])
                .arg(format!("size={size},mode=0700,uid={uid},gid={gid}"))
                .arg("roost-rel")
                .arg(dir),
        );
        let mounted = Tmpfs {
            dir: dir.to_path_buf(),
        };
        run_ok(
            Command::new("cp")
                .arg("-a")
                .arg(format!("{}/.", stash.path().display()))
                .arg(dir),
        );
        Some(mounted)
    }

    /// Writes a file until the file system is full; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.dir.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 4096];
        loop {
            if let Err(e) = file.write_all(&chunk) {
                assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "filling: {e}");
                let _ = file.sync_all();
                return path;
            }
        }
    }

    fn remount(&self, mode: &str) {
        run_ok(
            Command::new("mount")
                .arg("-o")
                .arg(format!("remount,{mode}"))
                .arg(&self.dir),
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().expect("run a system command");
    assert!(out.status.success(), "{cmd:?} failed: {}", text_of(&out));
}

/// A CLI failure as the contract wants it: non-zero, one line on stderr.
fn assert_one_line_failure(what: &str, out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{what} must fail: {}", text_of(out));
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{what}: one line on stderr, not {stderr:?}"
    );
    assert!(stderr.starts_with("roost: "), "{what}: {stderr:?}");
    stderr.trim_end().to_string()
}

/// A web answer that says the storage cannot be used: 503, no path shown.
fn assert_503(what: &str, r: &HttpResponse, home: &Path) {
    assert_eq!(r.status, 503, "{what}: {r:?}");
    assert!(
        !r.text().contains(&home.display().to_string()),
        "{what}: the page shows the data directory: {r:?}"
    );
}

/// What storage trouble did and how roost came back.
struct Storage {
    site: Site,
    session: Session,
    acknowledged: Vec<String>,
}

impl Storage {
    fn new(name: &str) -> Storage {
        let site = apache().roost_site(&unique(name), Kind::Cgi);
        let session = log_in(&site);
        let mut s = Storage {
            site,
            session,
            acknowledged: Vec::new(),
        };
        for i in 0..3 {
            s.cli_post(&format!("{name}-before-{i}"))
                .expect("posting before the trouble");
        }
        s
    }

    fn cli_post(&mut self, text: &str) -> Result<(), Output> {
        let out = self.site.cli(&["post", text], None);
        if out.status.success() {
            self.acknowledged.push(text.to_string());
            Ok(())
        } else {
            Err(out)
        }
    }

    fn web_post(&mut self, text: &str) -> Sent {
        let sent = post(&self.site, &self.session, text);
        if sent.created() {
            self.acknowledged.push(text.to_string());
        }
        sent
    }

    /// POST /posts while the storage is unusable: a 503 that shows no path
    /// (returned, for its headers); and what a visitor's GET / got then
    /// (a page, or a 503: never a 500).
    fn web_refused(&self, when: &str, text: &str) -> (HttpResponse, HttpResponse) {
        let raw = post_answer(&self.site, &self.session, text).expect("an answer to POST /posts");
        assert_503(&format!("POST /posts {when}"), &raw, &self.site.home);
        let front = self.site.get("/", &[]);
        assert!(
            front.status == 200 || front.status == 503,
            "GET / {when}: {front:?}"
        );
        (raw, front)
    }

    /// Space (or writing) is back: both ways of posting work again, the
    /// file is sound and every acknowledged post is there exactly once.
    fn check_recovered(&mut self, name: &str) -> String {
        self.cli_post(&format!("{name}-after-cli"))
            .map_err(|out| text_of(&out))
            .expect("the CLI posts again");
        let sent = self.web_post(&format!("{name}-after-web"));
        assert!(sent.created(), "the web posts again: {sent:?}");
        let integrity = integrity(&self.site.home);
        assert_eq!(integrity, "ok");
        let stored = posts_with_prefix(&self.site.home, name);
        for text in &self.acknowledged {
            assert_eq!(
                stored.get(text),
                Some(&1),
                "{text:?} stored once: {stored:?}"
            );
        }
        integrity
    }
}

/// The data directory's file system fills up: the CLI says so in one line
/// and fails, the web answers 503, nothing acknowledged is lost or torn,
/// and both work again once there is space.
#[test]
fn disk_full_fails_cleanly_and_recovers() {
    let name = "rel-full";
    let mut s = Storage::new(name);
    let Some(fs) = Tmpfs::over(&s.site.home, "4m") else {
        eprintln!("disk_full_fails_cleanly_and_recovers: skipped (mounting a tmpfs needs root)");
        return;
    };
    let filler = fs.fill();
    // SQLite may still have room in its WAL: keep writing until it runs out.
    let mut cli_error = None;
    for i in 0..500 {
        if let Err(out) = s.cli_post(&format!("{name}-full-cli-{i}")) {
            let line = assert_one_line_failure("roost post on a full disk", &out);
            assert!(line.contains("free some space"), "no fix named: {line}");
            cli_error = Some((out.status.code().unwrap_or(-1), line));
            break;
        }
    }
    let (cli_code, cli_error) =
        cli_error.expect("500 posts on a full disk all succeeded: was it full?");
    let mut web = None;
    for i in 0..200 {
        let sent = s.web_post(&format!("{name}-full-web-{i}"));
        if !sent.created() {
            web = Some(sent);
            break;
        }
    }
    let web = web.expect("200 web posts on a full disk all succeeded");
    assert_eq!(web.status, Some(503), "POST /posts on a full disk: {web:?}");
    let (raw, front) = s.web_refused("on a full disk", &format!("{name}-full-web-x"));
    let doctor = s.site.cli(&["doctor"], None);
    std::fs::remove_file(&filler).unwrap();
    let integrity = s.check_recovered(name);
    report(&format!(
        "#### Disk full (a 4 MB tmpfs as the data directory, filled)\n\n\
         | what | seen |\n|---|---|\n| `roost post` | exit {}, `{cli_error}` |\n\
         | POST /posts | {}, `Retry-After: {}` |\n| GET / (public) | {} |\n\
         | `roost doctor` while full | exit {} |\n\
         | after removing the filler | CLI and web post again; {} acknowledged posts all there once; integrity_check {integrity} |\n",
        cli_code,
        raw.status,
        raw.header("Retry-After").unwrap_or("none"),
        front.status,
        doctor.status.code().unwrap_or(-1),
        s.acknowledged.len(),
    ));
    drop(fs);
}

/// The data directory becomes read-only (the file system remounted
/// read-only): the same clear failures, and all is well once it is writable.
#[test]
fn read_only_data_directory_fails_cleanly_and_recovers() {
    let name = "rel-ro";
    let mut s = Storage::new(name);
    let Some(fs) = Tmpfs::over(&s.site.home, "16m") else {
        eprintln!(
            "read_only_data_directory_fails_cleanly_and_recovers: skipped (mounting needs root)"
        );
        return;
    };
    fs.remount("ro");
    let out = s
        .cli_post(&format!("{name}-ro-cli"))
        .expect_err("roost post into a read-only data directory must fail");
    let cli_error = assert_one_line_failure("roost post, read-only", &out);
    assert!(cli_error.contains("writable"), "no fix named: {cli_error}");
    let web = s.web_post(&format!("{name}-ro-web"));
    assert_eq!(web.status, Some(503), "POST /posts, read-only: {web:?}");
    let (raw, front) = s.web_refused("read-only", &format!("{name}-ro-web-x"));
    fs.remount("rw");
    let integrity = s.check_recovered(name);
    report(&format!(
        "#### Read-only data directory (its tmpfs remounted read-only)\n\n\
         | what | seen |\n|---|---|\n| `roost post` | exit {}, `{cli_error}` |\n\
         | POST /posts | {} |\n| GET / (public) | {} |\n\
         | after remounting read-write | CLI and web post again; {} acknowledged posts all there once; integrity_check {integrity} |\n",
        out.status.code().unwrap_or(-1),
        raw.status,
        front.status,
        s.acknowledged.len(),
    ));
    drop(fs);
}

// ---------------------------------------------------------------- 4. a poll out of CPU time

/// A cron poll killed by its CPU-time limit (`ulimit -t 1`) leaves what it
/// finished recorded: the next run fetches only the feeds it had not done,
/// and takes over the dead run's lease.
#[test]
fn poll_killed_by_cpu_limit_resumes() {
    let scale = Scale::from_env();
    let home = TempDir::new("roost-rel-cpu");
    let bin = common::roost_bin();
    expect_success(
        "init",
        &common::roost_cli(
            home.path(),
            &["init", "--url", "http://127.0.0.1/", "--name", "CPU"],
            None,
        ),
    );
    // Heavy feeds: each entry's HTML is long, so sanitizing costs CPU.
    let feeds = Feeds::start(scale.cpu_feeds, 20, CPU_PADDING);
    follow_all(&bin, home.path(), &feeds, home.path());
    let mut rng = Rng::new("poll_killed_by_cpu_limit_resumes");
    feeds.bump_some(&mut rng, 1);
    make_all_due(home.path());

    let before: Vec<usize> = (0..feeds.count).map(|n| feeds.requests(n)).collect();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg("ulimit -t 1 && exec \"$0\" \"$@\"")
        .arg(&bin)
        .arg("--home")
        .arg(home.path())
        .arg("poll");
    run_as_cgi_user(&mut cmd);
    let t = Instant::now();
    let first = common::run_with_stdin(&mut cmd, None);
    let first_wall = t.elapsed();
    let signal = first.status.signal();
    assert!(
        matches!(signal, Some(libc::SIGXCPU) | Some(libc::SIGKILL)),
        "the poll was meant to run out of CPU time; it ended with {:?}: {} \
         (make the feeds heavier: ROOST_RELIABILITY_CPU_FEEDS)",
        first.status,
        text_of(&first)
    );
    let finished = finished_feeds(home.path(), &feeds);
    let after_first: Vec<usize> = (0..feeds.count).map(|n| feeds.requests(n)).collect();
    assert!(
        finished.len() < feeds.count,
        "the killed poll had finished every feed: nothing to resume"
    );

    let second = common::roost_cli(home.path(), &["poll"], None);
    let said = expect_success("the poll after the kill", &second);
    let after_second: Vec<usize> = (0..feeds.count).map(|n| feeds.requests(n)).collect();
    let left = feeds.count - finished.len();
    assert!(
        said.starts_with(&format!("Polled {left} of {left} due feeds")),
        "the next run polls exactly the {left} feeds left: {said:?}"
    );
    let mut refetched = 0;
    for n in 0..feeds.count {
        let fetched = after_second[n] - after_first[n];
        if finished.contains(&n) {
            refetched += fetched;
            assert_eq!(fetched, 0, "feed {n} was finished, yet fetched again");
        } else {
            assert_eq!(
                fetched, 1,
                "feed {n} was not finished: fetched once by the next run"
            );
        }
    }
    let in_hand: usize = (0..feeds.count)
        .filter(|n| !finished.contains(n) && after_first[*n] > before[*n])
        .count();
    let (_, entries) = check_feeds_whole(home.path(), &feeds);
    let integrity = integrity(home.path());
    assert_eq!(integrity, "ok");
    report(&format!(
        "#### A cron poll killed by `ulimit -t 1`\n\n\
         {} changed feeds of 20 entries ({} filler paragraphs each), all due.\n\n\
         | what | seen |\n|---|---|\n| first run | killed by signal {} after {:.1} s wall |\n\
         | feeds it finished | {} |\n| feeds it had fetched but not stored (in hand) | {in_hand} |\n\
         | next run | `{}` |\n| finished feeds fetched again | {refetched} |\n\
         | feeds whole | {} ({entries} entries) |\n| integrity_check | {integrity} |\n",
        feeds.count,
        CPU_PADDING,
        signal.unwrap_or(0),
        first_wall.as_secs_f64(),
        finished.len(),
        said.lines().next().unwrap_or(""),
        feeds.count,
    ));
}

/// Filler paragraphs per entry in the CPU-limit scenario: enough that a
/// poll of the short version's 150 feeds needs more than a second of CPU.
const CPU_PADDING: usize = 30;

/// Makes every followed feed due and forgets when it was last checked, as
/// if time had passed since `import-opml` fetched them (written as root,
/// then the files given back to the CGI user).
fn make_all_due(home: &Path) {
    {
        let conn = rusqlite::Connection::open(home.join("roost.db")).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn.execute("UPDATE follows SET next_check = 0, last_checked = NULL", [])
            .unwrap();
    }
    for entry in std::fs::read_dir(home).unwrap().flatten() {
        common::chown_to_cgi_user(&entry.path());
    }
}

/// The feeds a poll recorded (they have a last_checked).
fn finished_feeds(home: &Path, feeds: &Feeds) -> Vec<usize> {
    strings(
        home,
        "SELECT url FROM follows WHERE last_checked IS NOT NULL",
    )
    .iter()
    .filter_map(|u| feeds.feed_number(u))
    .collect()
}
