//! The Python readers the tests check roost's output with (feedparser,
//! mf2py: tests/python/requirements.txt), from the venv `scripts/setup`
//! makes at the repository root, and [`start_peer`], which runs an
//! independent peer written in Python as a [`PeerProcess`]. A missing venv
//! fails the test with what to run; it never skips.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::peer_process::PeerProcess;

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
    let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    run(script, &args, None)
}

/// Runs `tests/python/SCRIPT` with `input` on its stdin; its stdout, or a
/// panic with its stderr if it fails.
pub fn run_script_with_input(script: &str, input: &[u8]) -> String {
    run(script, &[], Some(input))
}

fn run(script: &str, args: &[OsString], input: Option<&[u8]>) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let mut child = Command::new(python_venv())
        .arg(&path)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    if let (Some(mut stdin), Some(input)) = (child.stdin.take(), input) {
        // From a thread: a large answer must not block a large input.
        let input = input.to_vec();
        std::thread::spawn(move || stdin.write_all(&input));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the script prints UTF-8")
}

/// Starts `tests/python/SCRIPT DIR` with the venv's python as a
/// [`PeerProcess`] (see there for what the script must do), waiting up to
/// `timeout` for its LISTENING line. The WebSub and Webmention peers
/// (websub_peer.rs, webmention_peer.rs) are each one of these, kept in a
/// static for the whole test binary.
pub fn start_peer(
    what: &'static str,
    script: &str,
    timeout: Duration,
) -> Result<PeerProcess, String> {
    let python = python_venv();
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let mut cmd = Command::new(&python);
    // It imports peer_support.py: no __pycache__ in the tree.
    cmd.arg(&script).env("PYTHONDONTWRITEBYTECODE", "1");
    let prefix = format!("roost-{}", script.file_stem().unwrap().to_string_lossy());
    PeerProcess::start(what, cmd, &prefix, timeout)
}
