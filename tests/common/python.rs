//! The Python readers the tests check roost's output with (feedparser,
//! mf2py: tests/python/requirements.txt), from the venv `scripts/setup`
//! makes at the repository root. A missing venv fails the test with what to
//! run; it never skips.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv's python, or a panic saying to run `scripts/setup`.
pub fn python_venv() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    let ready = python.is_file()
        && std::fs::read(root.join(".venv/requirements.txt")).ok()
            == std::fs::read(root.join("tests/python/requirements.txt")).ok();
    assert!(
        ready,
        "the tests' Python venv is missing or out of date at {}: run scripts/setup \
         (it installs tests/python/requirements.txt into it)",
        root.join(".venv").display()
    );
    python
}

/// Runs `tests/python/SCRIPT ARGS...` with the venv's python and returns
/// its stdout, panicking with its stderr if it fails.
pub fn run_script<S: AsRef<OsStr>>(script: &str, args: impl IntoIterator<Item = S>) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let out = Command::new(python_venv())
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the script prints UTF-8")
}
