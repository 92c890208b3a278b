//! The Python readers the tests check roost's output with (feedparser,
//! mf2py: tests/python/requirements.txt), from the venv `scripts/setup`
//! makes at the repository root, and [`PythonPeer`], the process the
//! independent peers written in Python run as. A missing venv fails the test
//! with what to run; it never skips.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

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

/// A long-lived independent implementation written in Python,
/// `tests/python/SCRIPT DIR` run with the venv's python: it binds 127.0.0.1
/// on a free port, prints `LISTENING PORT` on stdout (and nothing else),
/// logs to stderr (kept as `DIR/peer.log`), appends its events as one JSON
/// object a line to `DIR/events.jsonl`, and ends itself (removing `DIR`)
/// when the test process that started it ends. The WebSub and Webmention
/// peers (websub_peer.rs, webmention_peer.rs) are each one of these, kept in
/// a static for the whole test binary.
pub struct PythonPeer {
    /// What the peer is, for messages ("the WebSub peer").
    what: &'static str,
    dir: PathBuf,
    port: u16,
    pid: u32,
}

impl PythonPeer {
    /// Starts `tests/python/SCRIPT`, waiting up to `timeout` for its
    /// LISTENING line. Fails with its log (and "run scripts/setup" when a
    /// module is missing) if it exits or stays silent.
    pub fn start(
        what: &'static str,
        script: &str,
        timeout: Duration,
    ) -> Result<PythonPeer, String> {
        let started = Instant::now();
        let python = python_venv();
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/python")
            .join(script);
        let prefix = format!("roost-{}", script.file_stem().unwrap().to_string_lossy());
        let dir = super::create_unique_dir(&std::env::temp_dir(), &prefix);
        let log = dir.join("peer.log");
        let stderr = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut child = super::spawn(
            Command::new(&python)
                .arg(&script)
                .arg(&dir)
                // It imports peer_support.py: no __pycache__ in the tree.
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(stderr),
        )
        .map_err(|e| {
            format!(
                "cannot start {} {}: {e}",
                python.display(),
                script.display()
            )
        })?;

        // Only the LISTENING line comes on stdout; the thread then drains the
        // pipe to its end so that nothing the peer prints can block it.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = line.strip_prefix("LISTENING ")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(port.trim().to_string());
                }
            }
        });
        // Called once the peer has ended: says why, removes its directory.
        let failed = |why: String| {
            let log = read_lossy(&log);
            let _ = std::fs::remove_dir_all(&dir);
            let hint = if log.contains("run scripts/setup") {
                ""
            } else {
                " (if a module is missing: run scripts/setup)"
            };
            format!("{what} {why}{hint}:\n{log}")
        };
        match rx.recv_timeout(timeout) {
            Ok(port) => {
                let Ok(port) = port.parse() else {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(failed(format!("printed a bad port {port:?}")));
                };
                let pid = child.id();
                // Never waited for: it ends itself after this process does.
                drop(child);
                let took = started.elapsed();
                if took > timeout / 4 {
                    eprintln!("note: {what} took {took:?} to start");
                }
                Ok(PythonPeer {
                    what,
                    dir,
                    port,
                    pid,
                })
            }
            // Its stdout closed without the line: it is exiting.
            Err(mpsc::RecvTimeoutError::Disconnected) => match child.wait() {
                Ok(status) => Err(failed(format!("exited ({status})"))),
                Err(e) => Err(failed(format!("could not be waited for: {e}"))),
            },
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Our own child, by its PID.
                let _ = child.kill();
                let _ = child.wait();
                Err(failed(format!("did not listen within {timeout:?}")))
            }
        }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The Python process (it ends itself; see [`PythonPeer`]).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every event so far, oldest first.
    pub fn events(&self) -> Vec<Value> {
        let path = self.dir.join("events.jsonl");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => panic!("{}: {e}", path.display()),
        };
        // A line being written while we read has no newline yet: skip it.
        text.split_inclusive('\n')
            .filter(|line| line.ends_with('\n'))
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("bad event line {line:?}: {e}"))
            })
            .collect()
    }

    /// The first event (oldest first) for which `pred` holds, waiting up to
    /// `timeout` for it; panics with every event and the log if none comes.
    pub fn wait_for_event(&self, pred: impl Fn(&Value) -> bool, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let events = self.events();
            if let Some(found) = events.iter().find(|e| pred(e)) {
                return found.clone();
            }
            if Instant::now() >= deadline {
                let all: Vec<String> = events.iter().map(Value::to_string).collect();
                panic!(
                    "no such event of {} within {timeout:?}; events:\n{}\n--- log ---\n{}",
                    self.what,
                    all.join("\n"),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The peer's log (every request it served, its library's warnings).
    pub fn log(&self) -> String {
        read_lossy(&self.dir.join("peer.log"))
    }
}

/// The peer kept in `cell` for the whole test binary, started by `start` on
/// first use; panics with why (its log, "run scripts/setup") if it could not
/// start, in every test that asks.
pub fn shared_peer<T>(
    cell: &'static OnceLock<Result<T, String>>,
    start: impl FnOnce() -> Result<T, String>,
) -> &'static T {
    match cell.get_or_init(start) {
        Ok(peer) => peer,
        Err(e) => panic!("{e}"),
    }
}

/// Panics unless `name` (of a peer's topic or page, part of its URL path) is
/// `[A-Za-z0-9_-]+`: `common::unique` makes such names.
pub fn check_peer_name(name: &str) {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    assert!(
        ok,
        "bad name {name:?} for a peer's topic or page: use [A-Za-z0-9_-]"
    );
}

fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|e| format!("({}: {e})", path.display()))
}
