//! The short version of `reliability/load` (RELIABILITY.md, "Load"): roost's
//! `/` and `/feed.atom` through the shared Apache, as FastCGI (mod_fcgid) and
//! as CGI (mod_cgid), under 8 clients at once. Every request must be answered
//! 200 with the page, and no FastCGI process may grow once warm.
//!
//! Each request is on a connection of its own. (The long run uses wrk's
//! keep-alive connections, where Apache closing an idle one races the next
//! request now and then, for a static file as much as for roost: that is the
//! client's to retry, and would make this test fail on its own.)

mod common;

use common::apache::{Kind, Site, apache};
use common::http::{build_request, try_request};
use common::unique;
use std::collections::BTreeMap;
use std::path::Path;

const CLIENTS: usize = 8;

/// What a page must contain: the newest post, so an empty or wrong 200 fails.
const NEWEST: &str = "load test post 20";

/// `requests` requests for `path` from each of [`CLIENTS`] threads at once;
/// returns one line per failure (status, I/O error or missing text).
fn hammer(site: &Site, path: &str, requests: usize) -> Vec<String> {
    let raw = build_request(
        site.addr(),
        "GET",
        &site.path(path),
        &[("Host", &site.host)],
        None,
    );
    std::thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let raw = &raw;
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    for i in 0..requests {
                        match try_request(site.addr(), raw) {
                            Ok(r) if r.status == 200 && r.text().contains(NEWEST) => {}
                            Ok(r) => failures.push(format!(
                                "client {client}, request {i}: {} {} ({} bytes)",
                                r.status,
                                r.reason,
                                r.body.len()
                            )),
                            Err(e) => failures.push(format!("client {client}, request {i}: {e}")),
                        }
                    }
                    failures
                })
            })
            .collect();
        clients
            .into_iter()
            .flat_map(|c| c.join().expect("a client thread panicked"))
            .collect()
    })
}

/// [`hammer`], failing the test with every failure and Apache's error log.
fn expect_every_answer(site: &Site, path: &str, requests: usize, phase: &str) {
    let failures = hammer(site, path, requests);
    assert!(
        failures.is_empty(),
        "{phase}{path}: {} of {} requests failed:\n{}\n--- error log ---\n{}",
        failures.len(),
        CLIENTS * requests,
        failures.join("\n"),
        apache().error_log()
    );
}

fn site_with_posts(kind: Kind) -> Site {
    let name = match kind {
        Kind::Cgi => unique("load-cgi"),
        Kind::Fcgid => unique("load-fcgi"),
    };
    let site = apache().roost_site(&name, kind);
    for n in 1..=20 {
        let text = format!("load test post {n}: a few words to make a page of some size");
        common::expect_success("roost post", &site.cli(&["post", &text], None));
    }
    site
}

/// VmRSS in kB of every process running `binary` (this site's own copy).
fn rss_of_processes_running(binary: &Path) -> BTreeMap<u32, u64> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if std::fs::read_link(entry.path().join("exe")).ok().as_deref() != Some(binary) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        if let Some(kb) = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        {
            found.insert(pid, kb);
        }
    }
    found
}

#[test]
fn fastcgi_answers_every_request_and_its_processes_stay_flat() {
    let site = site_with_posts(Kind::Fcgid);
    let binary = site.binary.clone().expect("a roost site has a binary");
    // Warm-up: mod_fcgid starts its processes, each fills its caches. A
    // process it starts late in a round has not served yet (its first
    // requests grow it): warm up until a round starts no new process, so
    // every process measured below had served a whole round before.
    let mut before = BTreeMap::new();
    for _round in 0..6 {
        for path in ["/", "/feed.atom"] {
            expect_every_answer(&site, path, 150, "warm-up of ");
        }
        let now = rss_of_processes_running(&binary);
        let settled = !now.is_empty() && now.keys().eq(before.keys());
        before = now;
        if settled {
            break;
        }
    }
    assert!(!before.is_empty(), "no process runs {}", binary.display());
    for path in ["/", "/feed.atom", "/", "/feed.atom"] {
        expect_every_answer(&site, path, 200, "");
    }
    let after = rss_of_processes_running(&binary);
    // 6,400 requests over a handful of processes: a leak of a few kB per
    // request would show as megabytes here.
    for (pid, first) in &before {
        if let Some(last) = after.get(pid) {
            assert!(
                *last <= first + 1024,
                "FastCGI process {pid} grew from {first} kB to {last} kB over the run \
                 (all: before {before:?}, after {after:?})"
            );
        }
    }
    assert!(
        before.keys().any(|pid| after.contains_key(pid)),
        "every process seen after the warm-up was gone at the end: before {before:?}, after {after:?}"
    );
}

#[test]
fn cgi_answers_every_request() {
    let site = site_with_posts(Kind::Cgi);
    for path in ["/", "/feed.atom"] {
        expect_every_answer(&site, path, 60, "");
    }
}
