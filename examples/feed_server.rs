//! A loopback feed server for the polling benchmark (`bench/poll`), std only.
//!
//! ```sh
//! cargo run --release --example feed_server -- [--bind 0.0.0.0] [--port 0] [--feeds 1000] [--entries 20] [--delay-ms 0]
//! ```
//!
//! It serves `--feeds` distinct Atom feeds of `--entries` entries each at
//! `/feed/N.xml` (N from 0), with an `ETag` and a `Last-Modified`, and answers
//! 304 to a matching `If-None-Match` (or, without one, a matching
//! `If-Modified-Since`). Everything a feed contains (entry ids, text, ETag,
//! date) comes from N and the server's *generation*:
//!
//! - `GET /bump` adds one to the generation, so every feed changes: new entry
//!   ids and text, new ETag, new Last-Modified. It answers the new generation.
//! - `GET /stats` answers `generation requests ok not_modified other` as one
//!   line (counts since start), so a benchmark can check what it was sent.
//!
//! `--delay-ms` holds every feed response (200 or 304) that long before it is
//! sent, to stand for a network round trip.
//!
//! HTTP/1.1 with keep-alive, one thread per connection. The first line on
//! stdout is `listening on ADDR` (then it prints nothing more), so a script
//! can read the port it got.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The date of generation 0 (2024-01-01T00:00:00Z); each generation is an hour later.
const BASE_TIME: u64 = 1_704_067_200;

struct State {
    feeds: u64,
    entries: u64,
    delay: Duration,
    generation: AtomicU64,
    requests: AtomicU64,
    ok: AtomicU64,
    not_modified: AtomicU64,
    other: AtomicU64,
}

fn main() {
    let mut bind = "127.0.0.1".to_string();
    let mut port = 0u16;
    let mut feeds = 1000u64;
    let mut entries = 20u64;
    let mut delay_ms = 0u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--bind" => bind = value(),
            "--port" => port = value().parse().unwrap_or_else(|_| usage("bad --port")),
            "--feeds" => feeds = value().parse().unwrap_or_else(|_| usage("bad --feeds")),
            "--entries" => entries = value().parse().unwrap_or_else(|_| usage("bad --entries")),
            "--delay-ms" => delay_ms = value().parse().unwrap_or_else(|_| usage("bad --delay-ms")),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let listener = TcpListener::bind((bind.as_str(), port)).expect("bind");
    println!(
        "listening on {}",
        listener.local_addr().expect("local_addr")
    );
    std::io::stdout().flush().ok();
    let state = Arc::new(State {
        feeds,
        entries,
        delay: Duration::from_millis(delay_ms),
        generation: AtomicU64::new(0),
        requests: AtomicU64::new(0),
        ok: AtomicU64::new(0),
        not_modified: AtomicU64::new(0),
        other: AtomicU64::new(0),
    });
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let state = state.clone();
        std::thread::spawn(move || {
            let _ = serve_connection(stream, &state);
        });
    }
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("feed_server: {problem}");
    }
    eprintln!(
        "usage: feed_server [--bind ADDR] [--port N] [--feeds N] [--entries N] [--delay-ms N]\n\
         serves /feed/N.xml, /bump (next generation), /stats"
    );
    std::process::exit(2)
}

fn serve_connection(stream: TcpStream, state: &State) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let request_line = line.trim_end().to_string();
        if request_line.is_empty() {
            continue;
        }
        let mut if_none_match = None;
        let mut if_modified_since = None;
        let mut close = request_line.ends_with("HTTP/1.0");
        let mut content_length = 0usize;
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "if-none-match" => if_none_match = Some(value.to_string()),
                "if-modified-since" => if_modified_since = Some(value.to_string()),
                "connection" => close |= value.eq_ignore_ascii_case("close"),
                "content-length" => content_length = value.parse().unwrap_or(0),
                _ => {}
            }
        }
        if content_length > 0 {
            std::io::copy(
                &mut (&mut reader).take(content_length as u64),
                &mut std::io::sink(),
            )?;
        }
        let path = request_line.split(' ').nth(1).unwrap_or("/");
        let path = path.split('?').next().unwrap_or(path);
        state.requests.fetch_add(1, Ordering::Relaxed);
        let response = respond(
            state,
            path,
            if_none_match.as_deref(),
            if_modified_since.as_deref(),
        );
        writer.write_all(&response)?;
        if close {
            return Ok(());
        }
    }
}

fn respond(state: &State, path: &str, inm: Option<&str>, ims: Option<&str>) -> Vec<u8> {
    if path == "/bump" {
        let g = state.generation.fetch_add(1, Ordering::SeqCst) + 1;
        state.other.fetch_add(1, Ordering::Relaxed);
        return plain(200, "OK", &format!("{g}\n"));
    }
    if path == "/stats" {
        let body = format!(
            "{} {} {} {} {}\n",
            state.generation.load(Ordering::SeqCst),
            state.requests.load(Ordering::Relaxed),
            state.ok.load(Ordering::Relaxed),
            state.not_modified.load(Ordering::Relaxed),
            state.other.load(Ordering::Relaxed),
        );
        state.other.fetch_add(1, Ordering::Relaxed);
        return plain(200, "OK", &body);
    }
    let n = path
        .strip_prefix("/feed/")
        .and_then(|rest| rest.strip_suffix(".xml"))
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|&n| n < state.feeds);
    let Some(n) = n else {
        state.other.fetch_add(1, Ordering::Relaxed);
        return plain(404, "Not Found", "no such feed\n");
    };
    if !state.delay.is_zero() {
        std::thread::sleep(state.delay);
    }
    let g = state.generation.load(Ordering::SeqCst);
    let etag = format!("\"f{n}-g{g}\"");
    let last_modified = http_date(BASE_TIME + g * 3600);
    let not_modified = match (inm, ims) {
        (Some(inm), _) => inm.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        (None, Some(ims)) => ims == last_modified,
        (None, None) => false,
    };
    if not_modified {
        state.not_modified.fetch_add(1, Ordering::Relaxed);
        return format!(
            "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nLast-Modified: {last_modified}\r\n\r\n"
        )
        .into_bytes();
    }
    state.ok.fetch_add(1, Ordering::Relaxed);
    let body = atom_feed(n, g, state.entries);
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/atom+xml; charset=utf-8\r\n\
         Content-Length: {}\r\nETag: {etag}\r\nLast-Modified: {last_modified}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

fn plain(status: u16, reason: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Feed `n` at generation `g`: `entries` entries, newest first, each with an id,
/// a link, a date and a few paragraphs of HTML (about 900 bytes an entry).
fn atom_feed(n: u64, g: u64, entries: u64) -> String {
    let updated = rfc3339(BASE_TIME + g * 3600);
    let mut s = String::with_capacity(1024 + entries as usize * 1100);
    s.push_str(&format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
         <title>Bench feed {n}</title>\n\
         <id>tag:bench.invalid,2024:feed-{n}</id>\n\
         <link rel=\"alternate\" href=\"http://bench.invalid/{n}/\"/>\n\
         <link rel=\"self\" href=\"http://bench.invalid/feed/{n}.xml\"/>\n\
         <updated>{updated}</updated>\n\
         <author><name>Author {n}</name></author>\n"
    ));
    for k in 0..entries {
        let date = rfc3339(BASE_TIME + g * 3600 - k * 60);
        s.push_str(&format!(
            "<entry>\n\
             <id>tag:bench.invalid,2024:feed-{n}-gen-{g}-entry-{k}</id>\n\
             <title>Post {k} of feed {n}, generation {g}</title>\n\
             <link rel=\"alternate\" href=\"http://bench.invalid/{n}/{g}/{k}.html\"/>\n\
             <published>{date}</published>\n<updated>{date}</updated>\n\
             <content type=\"html\">&lt;p&gt;Generation {g} of feed {n}, entry {k}. \
             Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor \
             incididunt ut labore et dolore magna aliqua.&lt;/p&gt;&lt;p&gt;Ut enim ad minim \
             veniam, quis nostrud &lt;a href=\"http://bench.invalid/{n}/{g}/{k}/more\"&gt;exercitation \
             ullamco&lt;/a&gt; laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure \
             dolor in &lt;em&gt;reprehenderit&lt;/em&gt; in voluptate velit esse cillum dolore eu \
             fugiat nulla pariatur.&lt;/p&gt;&lt;p&gt;Excepteur sint occaecat cupidatat non proident, \
             sunt in culpa qui officia deserunt mollit anim id est laborum. \
             &lt;img src=\"/img/{n}-{k}.png\" alt=\"a picture\"&gt;&lt;/p&gt;</content>\n\
             </entry>\n"
        ));
    }
    s.push_str("</feed>\n");
    s
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn rfc3339(t: u64) -> String {
    let (y, mo, d) = civil((t / 86_400) as i64);
    let s = t % 86_400;
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

fn http_date(t: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = t / 86_400;
    let (y, mo, d) = civil(days as i64);
    let s = t % 86_400;
    format!(
        "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[mo as usize - 1],
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}
