//! The design holds by test, not by convention: `src/store/` (all SQL) and
//! `src/render/` (pages and feeds) import nothing above them. The store
//! knows no page cache, publishing or protocol (`node.rs` does what follows
//! a commit); render knows neither the web layer nor the domain rules, so a
//! page is drawn from data alone.

use std::path::Path;

/// What each layer may name with `crate::`: itself, and the leaves below
/// it (modules that import nothing of roost's but each other).
const LEAVES: &[&str] = &["hint", "unix_user", "sanitize", "defence_off", "build_id"];

fn allowed(layer: &str) -> Vec<&'static str> {
    let mut allowed = LEAVES.to_vec();
    match layer {
        "store" => allowed.push("store"),
        // Pages show stored rows and declared settings.
        "render" => allowed.extend(["render", "store", "settings"]),
        _ => unreachable!(),
    }
    allowed
}

/// Every `crate::NAME` (and `super::super::NAME` leaving the layer) in `text`.
fn crate_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        // `roost_crate::` or similar identifiers are not paths into this crate.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            // `use crate::{a, b}`: each name in the braces.
            if let Some(inner) = rest.strip_prefix('{') {
                let end = inner.find('}').unwrap_or(inner.len());
                names.extend(
                    inner[..end]
                        .split(',')
                        .map(|part| part.trim().split("::").next().unwrap_or("").to_string())
                        .filter(|n| !n.is_empty()),
                );
            }
            continue;
        }
        names.push(name);
    }
    names
}

fn violations(layer: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(layer);
    let allowed = allowed(layer);
    let mut found = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no sources in {}", dir.display());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for name in crate_names(&text) {
            if !allowed.contains(&name.as_str()) {
                found.push(format!("{}: crate::{name}", file.display()));
            }
        }
    }
    found
}

#[test]
fn the_store_imports_nothing_above_itself() {
    let found = violations("store");
    assert!(
        found.is_empty(),
        "store/ reaches above itself:\n{}",
        found.join("\n")
    );
}

#[test]
fn render_imports_neither_the_web_layer_nor_the_domain() {
    let found = violations("render");
    assert!(
        found.is_empty(),
        "render/ reaches above itself:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_each_form_of_import() {
    assert_eq!(
        crate_names(
            "use crate::web::auth::Session;\nlet x = crate::publish::refresh(c);\nuse crate::{posts, store::x};"
        ),
        ["web", "publish", "posts", "store"]
    );
    assert!(crate_names("my_crate::web").is_empty());
}
