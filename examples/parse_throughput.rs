//! Parse throughput of `roost::poll::parse::parse` over a corpus of feed files.
//!
//! ```sh
//! cargo run --release --example parse_throughput -- DIR_OR_FILE...
//! cargo run --release --example parse_throughput -- --list-only DIR... > files.txt
//! cargo run --release --example parse_throughput -- --from-list files.txt [--min-seconds 3] [--sanitize]
//! ```
//!
//! Directories are walked recursively and only feed files are kept (see
//! [`is_feed_name`]); files named on the command line or in a list are taken
//! as they are. Every file is read into memory first, and a gzip file (first
//! bytes 1f 8b) is gunzipped there, as the fetcher does with a gzip body. Then
//! the whole set is parsed, pass after pass, until `--min-seconds` have gone
//! by (at least one pass); only that loop is timed. `--sanitize` also runs
//! `ingest::prepare` (the HTML sanitizer and plain-text titles) on every
//! parsed feed, which is what a poll does next.
//!
//! It prints one `key=value` line (for scripts) and a readable summary. MB are
//! 10^6 bytes of (gunzipped) input; feeds/s counts every file parsed, whether
//! it parsed as a feed or not.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The allocator `roost poll` parses with (see `roost::alloc`).
#[global_allocator]
static ALLOCATOR: roost::alloc::Switching = roost::alloc::Switching;

const FEED_URL: &str = "https://example.org/feed";

fn main() {
    roost::alloc::use_mimalloc();
    let mut inputs: Vec<PathBuf> = Vec::new();
    let mut from_list: Option<PathBuf> = None;
    let mut list_only = false;
    let mut sanitize = false;
    let mut min_seconds = 3.0f64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list-only" => list_only = true,
            "--sanitize" => sanitize = true,
            "--from-list" => from_list = Some(args.next().expect("--from-list FILE").into()),
            "--min-seconds" => {
                min_seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--min-seconds SECONDS")
            }
            "-h" | "--help" => {
                eprintln!(
                    "usage: parse_throughput [--list-only] [--from-list FILE] [--min-seconds S] [--sanitize] [DIR|FILE]..."
                );
                return;
            }
            _ => inputs.push(arg.into()),
        }
    }

    let mut files = Vec::new();
    if let Some(list) = &from_list {
        let text = std::fs::read_to_string(list).expect("reading the file list");
        files.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(PathBuf::from),
        );
    }
    for input in &inputs {
        if input.is_dir() {
            let mut found = Vec::new();
            walk(input, &mut found);
            found.sort();
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    if list_only {
        for f in &files {
            println!("{}", f.display());
        }
        return;
    }
    if files.is_empty() {
        eprintln!("parse_throughput: no files (give directories, files or --from-list)");
        std::process::exit(2);
    }

    // Everything in memory before the clock starts.
    let docs: Vec<Vec<u8>> = files.iter().map(|f| load(f)).collect();
    let bytes_per_pass: usize = docs.iter().map(Vec::len).sum();

    // One untimed pass: the outcome counts, and a warm-up.
    let (mut ok, mut errors, mut entries) = (0usize, 0usize, 0usize);
    for doc in &docs {
        match roost::poll::parse::parse(doc, None, FEED_URL) {
            Ok(feed) => {
                ok += 1;
                entries += feed.entries.len();
            }
            Err(_) => errors += 1,
        }
    }

    let mut passes = 0usize;
    let mut sink = 0usize;
    let start = Instant::now();
    loop {
        for doc in &docs {
            if let Ok(mut feed) = roost::poll::parse::parse(doc, None, FEED_URL) {
                sink += feed.entries.len();
                if sanitize {
                    sink += roost::poll::ingest::prepare(
                        std::mem::take(&mut feed.entries),
                        &mut feed.notes,
                    )
                    .len();
                }
            }
        }
        passes += 1;
        if start.elapsed().as_secs_f64() >= min_seconds {
            break;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    std::hint::black_box(sink);

    let mb = (bytes_per_pass * passes) as f64 / 1e6;
    let feeds = (docs.len() * passes) as f64;
    let what = if sanitize {
        "roost parse+sanitize"
    } else {
        "roost parse"
    };
    println!(
        "RESULT impl={} files={} bytes={} ok={} errors={} entries={} passes={} seconds={:.3} mb_per_s={:.2} feeds_per_s={:.1}",
        what.replace(' ', "_"),
        docs.len(),
        bytes_per_pass,
        ok,
        errors,
        entries,
        passes,
        seconds,
        mb / seconds,
        feeds / seconds
    );
    eprintln!(
        "{what}: {} files, {:.2} MB a pass ({ok} parsed, {errors} refused, {entries} entries); \
         {passes} passes in {seconds:.2} s: {:.2} MB/s, {:.0} feeds/s",
        docs.len(),
        bytes_per_pass as f64 / 1e6,
        mb / seconds,
        feeds / seconds
    );
}

fn load(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("gunzipping {}: {e}", path.display()));
        out
    } else {
        bytes
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if is_feed_name(&path) {
            out.push(path);
        }
    }
}

/// Feed files by name: `.xml .rss .atom .rdf .json` and nothing else, without
/// the expected-output files that sit beside the corpus feeds (feed-rs
/// `*.serde.json`, gofeed `*_expected.json`, rss-parser `test/output/*`),
/// licences and READMEs. HTML pages (for autodiscovery), OPML, Markdown and
/// twtxt `.txt` files are left out: they are not feeds to feedparser.
fn is_feed_name(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("license") || lower.starts_with("readme") {
        return false;
    }
    if lower.ends_with(".serde.json") || lower.ends_with("_expected.json") {
        return false;
    }
    let s = path.to_string_lossy();
    if s.contains("/test/output/") {
        return false;
    }
    [".xml", ".rss", ".atom", ".rdf", ".json"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}
