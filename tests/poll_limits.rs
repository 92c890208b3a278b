//! A poll's memory and what it keeps of feeds too big to keep whole: `roost
//! poll` (the real binary, feeds on a loopback server) over compressed and
//! nested bombs keeps its peak resident size under 64 MB, refuses a
//! compressed bomb with growth under twice the decompressed cap, stores the
//! good feeds whole, cuts one huge entry short with a note and keeps the
//! others, and keeps content nested below the depth cap as flattened text.
//!
//! The peak is the child's `VmHWM`, read from `/proc/PID/status` when it
//! stops at its exit under `ptrace` (`PTRACE_O_TRACEEXIT`): `ru_maxrss` of a
//! forked child also counts the test process it was forked from.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use flate2::Compression;
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};

mod common;
use common::feed_server::{FeedServer, Route};
use common::{TempDir, expect_success, roost_cli};

const MIB: u64 = 1024 * 1024;
/// The goal: a whole poll's peak, whatever the feeds.
const PEAK_GOAL_BYTES: u64 = 64 * 1000 * 1000;
/// `net::MAX_DECOMPRESSED_BYTES`.
const DECOMPRESSED_CAP: u64 = 16 * MIB;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A gzip body that inflates to `members` MiB of zeros (gzip members back to back).
fn gzip_zeros(members: usize) -> Vec<u8> {
    gzip(&vec![0u8; MIB as usize]).repeat(members)
}

/// A small good Atom feed: `entries` entries whose ids name the feed and the
/// generation, so a test can tell which fetch stored them.
fn good_feed(n: usize, generation: u32, entries: usize) -> Vec<u8> {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">\
         <title>Good {n}</title><id>urn:good:{n}</id><updated>2026-11-20T10:00:00Z</updated>"
    );
    for i in 0..entries {
        xml.push_str(&format!(
            "<entry><id>urn:good:{n}:g{generation}:{i}</id><title>Entry {i} of {n}</title>\
             <updated>2026-11-20T10:00:00Z</updated><link href=\"https://good.example/{n}/{i}\"/>\
             <content type=\"html\">&lt;p&gt;Entry {i}, generation {generation}&lt;/p&gt;</content></entry>"
        ));
    }
    xml.push_str("</feed>");
    xml.into_bytes()
}

fn rss(inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">\
         <channel><title>bomb</title><link>https://bomb.example/</link>{inner}</channel></rss>"
    )
}

fn item(guid: &str, description: &str) -> String {
    format!(
        "<item><guid>{guid}</guid><title>{guid}</title><description>{description}</description></item>"
    )
}

/// A bomb: headers and body.
type Bomb = (Vec<(String, String)>, Vec<u8>);

fn encoded(encoding: &str, body: Vec<u8>) -> Bomb {
    (
        vec![
            ("Content-Type".into(), "application/rss+xml".into()),
            ("Content-Encoding".into(), encoding.into()),
        ],
        body,
    )
}

fn typed(content_type: &str, body: Vec<u8>) -> Bomb {
    (vec![("Content-Type".into(), content_type.into())], body)
}

/// Compressed bombs: each inflates past the decompressed cap.
fn compressed_bombs() -> Vec<Bomb> {
    let zeros = vec![0u8; 3 * DECOMPRESSED_CAP as usize / 2];
    let spaces = |n: usize| rss(&" ".repeat(n));
    vec![
        encoded("gzip", gzip_zeros(64)),
        encoded("x-gzip", gzip_zeros(64)),
        encoded("deflate", zlib(&zeros)),
        encoded("deflate", raw_deflate(&zeros)),
        encoded("gzip, gzip", gzip(&gzip_zeros(64))),
        encoded("deflate, gzip", gzip(&zlib(&zeros))),
        encoded("gzip", gzip(spaces(20 * MIB as usize).as_bytes())),
        encoded("x-gzip", gzip(spaces(20 * MIB as usize).as_bytes())),
    ]
}

/// Bombs that fit under the decompressed cap and explode in the parser, the
/// sanitizer or the store: nested, flooded, huge entries, attributes,
/// entities, JSON, twtxt.
fn parser_bombs() -> Vec<Bomb> {
    let seven = 7 * MIB as usize;
    let gz = |xml: String| encoded("gzip", gzip(xml.as_bytes()));
    let flood = |unit: &str| {
        rss(&format!(
            "{}{}",
            item("a", "first"),
            unit.repeat(seven / unit.len())
        ))
    };
    let huge_attrs: String = (0..40)
        .map(|i| {
            format!(
                "<link href=\"https://a.example/{i}/{}\"/>",
                "v".repeat(seven / 40)
            )
        })
        .collect();
    let entities = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY lol \"lol\">{}]><rss><channel><item><guid>1</guid>\
         <description>&lol9;</description></item></channel></rss>",
        (1..10)
            .map(|i| format!(
                "<!ENTITY lol{i} \"{}\">",
                format!("&lol{};", i - 1).repeat(10)
            ))
            .collect::<String>()
            .repeat(4000)
    );
    let json_items: String = (0..200_000)
        .map(|i| format!("{{\"id\":\"{i}\",\"content_text\":\"x\"}},"))
        .collect();
    let twtxt: String = (0..200_000)
        .map(|i| {
            format!(
                "2026-11-20T10:{:02}:{:02}Z\tpost number {i}\n",
                (i / 60) % 60,
                i % 60
            )
        })
        .collect();
    let utf16: Vec<u8> = std::iter::once(0xFEFFu16)
        .chain(flood("<x/>").encode_utf16())
        .flat_map(u16::to_le_bytes)
        .take(seven)
        .collect();
    vec![
        gz(flood("<x/>")),
        gz(flood("<x a=\"1\" b=\"2\"/>")),
        gz(flood("<item><guid>g</guid></item>")),
        gz(rss(&item("a", &format!("{}x", "<b>".repeat(seven / 3))))),
        gz(rss(&format!(
            "{}<item><guid>b</guid><content:encoded><![CDATA[{}]]></content:encoded></item>",
            item("a", "first"),
            "<p>x</p>".repeat(seven / 8)
        ))),
        gz(rss(&item("a", &"&lt;p&gt;x&lt;/p&gt;".repeat(seven / 20)))),
        gz(rss(&format!("<item><guid>a</guid>{huge_attrs}</item>"))),
        gz(entities),
        gz(rss(&(0..20)
            .map(|i| {
                item(
                    &i.to_string(),
                    &format!("<![CDATA[{}]]>", "<b>y</b> ".repeat(seven / 20 / 9)),
                )
            })
            .collect::<String>())),
        encoded("gzip", gzip(&utf16)),
        (
            vec![
                ("Content-Type".into(), "application/feed+json".into()),
                ("Content-Encoding".into(), "gzip".into()),
            ],
            gzip(
                format!(
                    "{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"j\",\"items\":[{}{{\"id\":\"z\"}}]}}",
                    json_items
                )
                .as_bytes(),
            ),
        ),
        typed(
            "application/feed+json",
            format!(
                "{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"j\",\"items\":[{{\"id\":\"1\",\"content_html\":\"{}\"}}]}}",
                "<p>x</p>".repeat(seven / 8)
            )
            .into_bytes(),
        ),
        typed(
            "application/feed+json",
            format!(
                "{{\"version\":\"https://jsonfeed.org/version/1.1\",\"items\":[{}]}}",
                "[".repeat(100_000)
            )
            .into_bytes(),
        ),
        encoded("gzip", gzip(twtxt.as_bytes())),
        typed("application/rss+xml", rss(&" ".repeat(20 * MIB as usize)).into_bytes()),
        typed(
            "application/rss+xml; charset=windows-1252",
            rss(&item("a", &"\u{e9}".repeat(seven)))
                .chars()
                .map(|c| c as u32 as u8)
                .collect(),
        ),
    ]
}

/// A data directory that allows loopback feeds.
fn node(dir: &TempDir, name: &str) -> std::path::PathBuf {
    let home = dir.join(name);
    common::init_loopback_site(&home, "https://node.example/", name);
    home
}

/// Follows `paths` on `server` (each must serve a good feed now: following
/// fetches once).
fn follow_all(home: &Path, server: &FeedServer, paths: &[String]) {
    let mut opml = String::from(
        "<?xml version=\"1.0\"?><opml version=\"2.0\"><head><title>f</title></head><body>",
    );
    for p in paths {
        opml.push_str(&format!(
            "<outline type=\"rss\" xmlUrl=\"{}\"/>",
            server.url(p)
        ));
    }
    opml.push_str("</body></opml>");
    let file = home.with_extension("opml");
    std::fs::write(&file, opml).unwrap();
    common::set_mode(&file, 0o644);
    expect_success(
        "import-opml",
        &roost_cli(home, &["import-opml", file.to_str().unwrap()], None),
    );
}

/// Runs `roost --home HOME poll --force` and returns its peak resident size
/// in bytes (`VmHWM` at its exit) and its stderr.
fn poll_peak(home: &Path) -> (u64, String) {
    use std::os::unix::process::CommandExt;
    let stderr_path = home.with_extension("stderr");
    let mut cmd = Command::new(common::roost_bin());
    common::run_as_cgi_user(&mut cmd);
    cmd.arg("--home")
        .arg(home)
        .args(["poll", "--force"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&stderr_path).unwrap());
    // SAFETY: ptrace(PTRACE_TRACEME) is async-signal-safe; it only asks to
    // be traced by the parent, which waits for the stop at exec below.
    unsafe {
        cmd.pre_exec(|| {
            if libc::ptrace(libc::PTRACE_TRACEME, 0, NO_ARG, NO_ARG) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = common::spawn(&mut cmd).expect("start roost poll");
    let pid = child.id() as libc::pid_t;
    let mut peak = None;
    let mut status = 0;
    // SAFETY: plain waitpid/ptrace calls on our own child.
    unsafe {
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        assert!(libc::WIFSTOPPED(status), "roost poll did not stop at exec");
        let options = (libc::PTRACE_O_TRACEEXIT | libc::PTRACE_O_EXITKILL) as usize;
        assert_eq!(
            libc::ptrace(
                libc::PTRACE_SETOPTIONS,
                pid,
                NO_ARG,
                options as *mut libc::c_void
            ),
            0
        );
        assert_eq!(libc::ptrace(libc::PTRACE_CONT, pid, NO_ARG, NO_ARG), 0);
        loop {
            let mut usage: libc::rusage = std::mem::zeroed();
            assert_eq!(libc::wait4(pid, &mut status, 0, &mut usage), pid);
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                let cpu = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
                println!(
                    "roost poll CPU: {:.3} s user, {:.3} s system",
                    cpu(usage.ru_utime),
                    cpu(usage.ru_stime)
                );
                break;
            }
            let mut signal = libc::WSTOPSIG(status);
            if status >> 8 == (libc::SIGTRAP | (libc::PTRACE_EVENT_EXIT << 8)) {
                peak = Some(vm_hwm(pid));
                signal = 0;
            }
            libc::ptrace(
                libc::PTRACE_CONT,
                pid,
                NO_ARG,
                signal as usize as *mut libc::c_void,
            );
        }
    }
    drop(child);
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    assert!(
        libc::WIFEXITED(status),
        "roost poll did not exit normally ({status}): {stderr}"
    );
    (peak.expect("no stop at exit"), stderr)
}

/// ptrace's unused pointer-sized arguments.
const NO_ARG: *mut libc::c_void = std::ptr::null_mut();

fn vm_hwm(pid: libc::pid_t) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    kib * 1024
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Entries stored whose identity starts with `prefix`.
fn stored(home: &Path, prefix: &str) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(home.join("roost.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT identity, coalesce(content_html, '') FROM entries WHERE identity LIKE ?1 || '%'")
        .unwrap();
    stmt.query_map([prefix], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// `roost following`: for each URL, the line under it (an error or a note), if any.
fn following_notes(home: &Path) -> std::collections::HashMap<String, String> {
    let out = expect_success("following", &roost_cli(home, &["following"], None));
    let mut notes = std::collections::HashMap::new();
    let mut url = None;
    for line in out.lines() {
        if let Some(note) = line.strip_prefix('\t') {
            if let Some(u) = url.take() {
                notes.insert(u, note.to_string());
            }
        } else {
            url = line.split('\t').nth(1).map(str::to_string);
        }
    }
    notes
}

/// Serves a good feed at every path, follows them all, then serves the
/// next generation of the good ones and a bomb at the others.
fn set_up(
    dir: &TempDir,
    name: &str,
    server: &FeedServer,
    bombs: &[Bomb],
    good: usize,
) -> std::path::PathBuf {
    let home = node(dir, name);
    let paths: Vec<String> = (0..good + bombs.len())
        .map(|n| format!("/{name}/{n}.xml"))
        .collect();
    for (n, p) in paths.iter().enumerate() {
        server.feed(p, &good_feed(n, 1, 1), "application/atom+xml");
    }
    follow_all(&home, server, &paths);
    // Bombs spread among the good feeds, so the pool meets several at once.
    for (n, p) in paths.iter().enumerate() {
        match (n % 2 == 1).then(|| bombs.get(n / 2)).flatten() {
            Some((headers, body)) => server.set(
                p,
                Route::Raw {
                    headers: headers.clone(),
                    body: Arc::from(&body[..]),
                },
            ),
            None => server.feed(p, &good_feed(n, 2, 3), "application/atom+xml"),
        }
    }
    home
}

/// The floor: a poll of 50 small good feeds.
fn floor_peak(dir: &TempDir, server: &FeedServer) -> u64 {
    let home = set_up(dir, "floor", server, &[], 50);
    let (peak, stderr) = poll_peak(&home);
    assert_eq!(stored(&home, "urn:good:").len(), 50 * 4, "{stderr}");
    peak
}

#[test]
fn a_poll_over_bombs_peaks_under_64_mb_and_keeps_the_good_feeds() {
    let dir = TempDir::new("poll-limits");
    let server = FeedServer::start();
    let floor = floor_peak(&dir, &server);
    let mut bombs = compressed_bombs();
    bombs.extend(parser_bombs());
    bombs.truncate(24);
    assert_eq!(bombs.len(), 24);
    let home = set_up(&dir, "bombs", &server, &bombs, 26);
    let (peak, stderr) = poll_peak(&home);
    println!(
        "roost poll peak: 50 good feeds {}; 26 good + 24 bombs {} ({:.2}x the floor)",
        mb(floor),
        mb(peak),
        peak as f64 / floor as f64
    );
    assert!(
        peak < PEAK_GOAL_BYTES,
        "a poll over 24 bombs peaked at {} (goal: under {}; floor {})",
        mb(peak),
        mb(PEAK_GOAL_BYTES),
        mb(floor)
    );
    // Every good feed's new entries are stored (1 from following, 3 new).
    let good = stored(&home, "urn:good:");
    for n in (0..50).filter(|n| n % 2 == 0 || n / 2 >= 24) {
        let new = good
            .iter()
            .filter(|(id, _)| id.starts_with(&format!("urn:good:{n}:g2:")))
            .count();
        assert_eq!(new, 3, "good feed {n}: {stderr}");
    }
    // Every bomb shows an error or a note.
    let notes = following_notes(&home);
    for n in (0..48).filter(|n| n % 2 == 1) {
        let url = server.url(&format!("/bombs/{n}.xml"));
        let note = notes.get(&url).map(String::as_str).unwrap_or("");
        assert!(
            note.starts_with("error: ") || note.starts_with("note: "),
            "bomb {} ({url}) shows no error or note: {note:?}",
            n / 2
        );
    }
}

#[test]
fn a_compressed_bomb_is_refused_with_growth_under_twice_the_cap() {
    let dir = TempDir::new("poll-limits");
    let server = FeedServer::start();
    let floor = floor_peak(&dir, &server);
    let bombs = compressed_bombs();
    let home = set_up(&dir, "compressed", &server, &bombs, 42);
    let (peak, _) = poll_peak(&home);
    let growth = peak.saturating_sub(floor);
    println!(
        "roost poll peak over {} compressed bombs: {} ({} over the floor)",
        bombs.len(),
        mb(peak),
        mb(growth)
    );
    assert!(
        growth < 2 * DECOMPRESSED_CAP,
        "compressed bombs grew the poll by {} (goal: under twice the {} cap)",
        mb(growth),
        mb(DECOMPRESSED_CAP)
    );
    let notes = following_notes(&home);
    for n in (0..2 * bombs.len()).filter(|n| n % 2 == 1) {
        let url = server.url(&format!("/compressed/{n}.xml"));
        assert_eq!(
            notes.get(&url).map(String::as_str),
            Some("error: too large: the response is over 16 MiB once decompressed"),
            "{url}"
        );
    }
}

/// Follows one feed (good when followed), then serves `feed` there and
/// polls: the data directory, the feed's URL and the poll's stderr.
fn poll_one_feed(dir: &TempDir, name: &str, feed: &[u8]) -> (std::path::PathBuf, String, String) {
    let server = FeedServer::start();
    let home = node(dir, name);
    let path = format!("/{name}.xml");
    server.feed(&path, &good_feed(0, 1, 1), "application/atom+xml");
    follow_all(&home, &server, std::slice::from_ref(&path));
    server.feed(&path, feed, "application/xml");
    let (_, stderr) = poll_peak(&home);
    (home, server.url(&path), stderr)
}

#[test]
fn one_huge_entry_is_cut_short_with_a_note_and_the_others_kept() {
    let dir = TempDir::new("poll-limits");
    let huge = "&lt;p&gt;a paragraph of a very long post&lt;/p&gt;".repeat(200_000);
    let feed = rss(&format!(
        "{}{}{}",
        item("urn:huge:1", "first"),
        item("urn:huge:2", &huge),
        item("urn:huge:3", "third")
    ));
    let (home, url, stderr) = poll_one_feed(&dir, "huge", feed.as_bytes());
    let entries: std::collections::HashMap<_, _> = stored(&home, "urn:huge:").into_iter().collect();
    assert_eq!(entries.len(), 3, "{stderr}");
    assert!(entries["urn:huge:1"].contains("first"));
    assert!(entries["urn:huge:3"].contains("third"));
    let cut = &entries["urn:huge:2"];
    assert!(
        cut.contains("a paragraph of a very long post") && cut.len() < 1024 * 1024,
        "the huge entry is kept, cut short ({} bytes)",
        cut.len()
    );
    let note = following_notes(&home).remove(&url).unwrap_or_default();
    assert!(
        note.starts_with("note: 1 entry cut short: an entry is read up to 512 KiB"),
        "{note}"
    );
}

#[test]
fn content_nested_below_the_depth_cap_is_stored_as_flattened_text() {
    let dir = TempDir::new("poll-limits");
    let feed = format!(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>deep</title><entry><id>urn:deep:1</id>\
         <title>deep</title><content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">\
         {}words at the bottom{}</div></content></entry></feed>",
        "<div>".repeat(1000),
        "</div>".repeat(1000)
    );
    let (home, _, stderr) = poll_one_feed(&dir, "deep", feed.as_bytes());
    let entries = stored(&home, "urn:deep:");
    assert_eq!(entries.len(), 1, "{stderr}");
    assert!(
        entries[0].1.contains("words at the bottom"),
        "stored: {:?}",
        &entries[0].1[..entries[0].1.len().min(200)]
    );
}
