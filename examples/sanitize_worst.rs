//! The sanitizer's time on its worst inputs, against a floor of ordinary
//! entries of the same size measured in the same run (`bench/sanitize`).
//!
//! ```sh
//! cargo run --release --example sanitize_worst -- [--bytes N] [--repeat N] [--only LABEL]
//! ```
//!
//! Each input is built to `--bytes` (default: the content cap less 64 bytes)
//! by repeating one unit (`N` in it becomes a running number, so no two
//! formatting elements are alike), then sanitized `--repeat` times (default
//! 5); the median is printed, one `RESULT` line per input, floors first.

use std::time::{Duration, Instant};

use roost::sanitize;

/// The allocator `roost poll` sanitizes with (see `roost::alloc`).
#[global_allocator]
static ALLOCATOR: roost::alloc::Switching = roost::alloc::Switching;

/// (label, unit, is a floor): the floors are ordinary entries.
#[rustfmt::skip]
const INPUTS: &[(&str, &str, bool)] = &[
    ("floor: paragraphs", "<div class=entry><p>Paragraph N, with <em>some</em> <a href=/N>link</a> and text enough to read.</p></div>\n", true),
    ("floor: dense links", "<a href=/N>x</a> ", true),
    ("<a href=/N><p>", "<a href=/N><p>", false),
    ("<a href=/N><p>x", "<a href=/N><p>x", false),
    ("<ul><li>", "<ul><li>", false),
    ("<ul><li>x", "<ul><li>x", false),
    ("<dl><dt><dd>", "<dl><dt><dd>", false),
    ("<dl><dt>a<dd>b", "<dl><dt>a<dd>b", false),
    ("<b id=N><p>", "<b id=N><p>", false),
    ("<p><b id=N></p>x", "<p><b id=N></p>x", false),
    ("<p><b id=N><i id=N><s id=N></p>x", "<p><b id=N><i id=N><s id=N></p>x", false),
    ("<div><b id=N></div>x", "<div><b id=N></div>x", false),
    ("<blockquote><b>", "<blockquote><b>", false),
    ("<table><tr><td>", "<table><tr><td>", false),
    ("<svg><foreignObject><div>", "<svg><foreignObject><div>", false),
    ("<q>", "<q>", false),
    ("&", "&", false),
];

fn main() {
    roost::alloc::use_mimalloc();
    let mut bytes = sanitize::MAX_INPUT_BYTES - 64;
    let mut repeat = 5;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        let number = value.as_deref().and_then(|v| v.parse().ok());
        match (arg.as_str(), number) {
            ("--bytes", Some(v)) => bytes = v,
            ("--repeat", Some(v)) => repeat = v,
            ("--only", _) if value.is_some() => only = value,
            _ => {
                eprintln!("usage: sanitize_worst [--bytes N] [--repeat N] [--only LABEL]");
                std::process::exit(2);
            }
        }
    }
    for &(label, unit, floor) in INPUTS {
        if only.as_deref().is_some_and(|o| o != label) {
            continue;
        }
        let mut input = String::with_capacity(bytes + unit.len() + 16);
        let mut n = 0;
        while input.len() + unit.len() + 8 <= bytes {
            input.push_str(&unit.replace('N', &n.to_string()));
            n += 1;
        }
        let mut times: Vec<Duration> = Vec::new();
        let mut out_len = 0;
        for _ in 0..repeat.max(1) {
            let t = Instant::now();
            let out = sanitize::sanitize(&input, "https://example.org/feed");
            times.push(t.elapsed());
            out_len = out.as_str().len();
        }
        times.sort();
        let (within, work) = sanitize::tree_work(&input);
        let median = times[times.len() / 2];
        println!(
            "RESULT label={label:?} floor={floor} bytes={} out={out_len} ms={:.2} work={work} within={within}",
            input.len(),
            median.as_secs_f64() * 1000.0
        );
    }
}
