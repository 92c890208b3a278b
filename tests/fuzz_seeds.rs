//! The short version of the fuzzing in `fuzz/`: each fuzz target's seeds, and
//! every crash input saved in `fuzz/regressions/TARGET/`, run once through the
//! same harness function the fuzz target calls (`fuzz/src/lib.rs`, compiled
//! into this test), on stable Rust.
//!
//! With `ROOST_FUZZ_WRITE_SEEDS=DIR` it also writes each target's seeds to
//! `DIR/TARGET/` for libFuzzer (that is what `fuzz/seeds` does), so the seeds
//! the fuzzer starts from are exactly the ones replayed here.

mod common;
#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::Path;

/// Saved crash inputs of `target`: files in `fuzz/regressions/TARGET/`.
fn regressions(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .map(|e| e.expect("directory entry").path())
        .map(|p| {
            let bytes = std::fs::read(&p).expect("a saved crash input");
            (p.display().to_string(), bytes)
        })
        .collect();
    out.sort();
    out
}

/// Runs every seed and saved crash of `target` through its harness; returns
/// how many seeds there were. A panic names the input that caused it.
fn replay(target: &str) -> usize {
    let seeds = harness::seeds(target, &common::corpus_dir());
    if let Some(dir) = std::env::var_os("ROOST_FUZZ_WRITE_SEEDS") {
        let dir = Path::new(&dir).join(target);
        std::fs::create_dir_all(&dir).expect("creating the seed directory");
        for (i, (_, bytes)) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:05}")), bytes).expect("writing a seed");
        }
    }
    let saved = regressions(target);
    for (name, bytes) in seeds.iter().chain(&saved) {
        let outcome = std::panic::catch_unwind(|| harness::run(target, bytes));
        assert!(outcome.is_ok(), "fuzz target {target} fails on {name}");
    }
    seeds.len()
}

#[test]
fn feed_seeds() {
    // Every feed file of the corpus (over 1,000): a short list would mean the corpus moved.
    assert!(replay("feed") > 1000);
}

#[test]
fn sanitize_seeds() {
    assert!(replay("sanitize") > harness::SANITIZE_SEEDS.len());
}

#[test]
fn cgi_seeds() {
    assert_eq!(replay("cgi"), harness::CGI_SEEDS.len());
}

#[test]
fn fastcgi_seeds() {
    assert_eq!(replay("fastcgi"), harness::fastcgi_seeds().len());
}

#[test]
fn opml_seeds() {
    assert!(replay("opml") >= 3);
}

/// The checks themselves must be able to fail: each harness rejects an input
/// that breaks its property when handed the broken output directly.
#[test]
fn sanitizer_check_catches_active_content() {
    for bad in [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<a href=\" java\tscript:alert(1)\">x</a>",
        "<img src=\"data:image/svg+xml,<svg/onload=alert(1)>\">",
        "<a href=\"data:image/png;base64,AAAA\">x</a>",
        "<svg><a href=\"https://example.org/\">x</a></svg>",
        "<p style=\"position:fixed\">x</p>",
        "<iframe src=\"https://example.org/\"></iframe>",
        "<a href=\"https://example.org/\" rel=\"opener\">x</a>",
    ] {
        assert!(
            harness::check_safe_html(bad).is_err(),
            "the check let {bad:?} through"
        );
    }
    harness::check_safe_html(
        "<p>a <a href=\"https://example.org/\" rel=\"noopener noreferrer\">b</a> \
         <img src=\"data:image/png;base64,AAAA\" alt=\"c\"></p><table><tr><td>d</td></tr></table>",
    )
    .expect("the check refuses safe HTML");
}

/// Every fuzz target in `fuzz/fuzz_targets/` is one the harness knows, so
/// its seeds are replayed above; and each of those has a test here.
#[test]
fn every_fuzz_target_is_replayed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("fuzz/fuzz_targets")
        .map(|e| e.expect("directory entry").path())
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_owned()))
        .collect();
    on_disk.sort();
    let mut known: Vec<String> = harness::TARGETS.iter().map(|t| t.to_string()).collect();
    known.sort();
    assert_eq!(on_disk, known);
    let this_file = include_str!("fuzz_seeds.rs");
    for t in harness::TARGETS {
        assert!(
            this_file.contains(&format!("fn {t}_seeds()")),
            "no test replays the {t} seeds"
        );
    }
}
