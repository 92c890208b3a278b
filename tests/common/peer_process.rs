//! [`PeerProcess`]: the process an independent peer of the tests runs as,
//! whatever it is written in (the Python peers of python.rs, the Node
//! Fedify peer of fedify_peer.rs): started, waited for until it listens,
//! its event log read back and waited on, ended with the test process.
//! What the peer does lives in its own module.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A long-lived independent implementation, `PROGRAM ARGS... DIR`: it binds
/// 127.0.0.1 on a free port, prints `LISTENING PORT` on stdout (and nothing
/// else), logs to stderr (kept as `DIR/peer.log`), appends its events as one
/// JSON object a line to `DIR/events.jsonl`, and ends itself (removing `DIR`)
/// when the test process that started it ends. Kept in a static for the whole
/// test binary (never dropped: the peer ends itself), or owned by one test,
/// when dropping it kills the process (by its PID, never reaped before) and
/// removes `DIR`.
pub struct PeerProcess {
    /// What the peer is, for messages ("the WebSub peer").
    what: &'static str,
    dir: PathBuf,
    port: u16,
    child: Child,
    /// The events read so far and the bytes of events.jsonl they took.
    events_read: Mutex<(u64, Vec<Value>)>,
}

impl PeerProcess {
    /// Runs `cmd` with a fresh directory `TMP/PREFIX-...` as its last
    /// argument, waiting up to `timeout` for its LISTENING line. Fails with
    /// its log (and "run scripts/setup" when something is missing) if it
    /// exits or stays silent.
    pub fn start(
        what: &'static str,
        mut cmd: Command,
        prefix: &str,
        timeout: Duration,
    ) -> Result<PeerProcess, String> {
        let started = Instant::now();
        let dir = super::create_unique_dir(&std::env::temp_dir(), prefix);
        let log = dir.join("peer.log");
        let stderr = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let program = cmd.get_program().to_string_lossy().into_owned();
        let mut child = super::spawn(
            cmd.arg(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(stderr),
        )
        .map_err(|e| format!("cannot start {what} ({program}): {e}"))?;

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
                let took = started.elapsed();
                if took > timeout / 4 {
                    eprintln!("note: {what} took {took:?} to start");
                }
                Ok(PeerProcess {
                    what,
                    dir,
                    port,
                    child,
                    events_read: Mutex::new((0, Vec::new())),
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

    /// What the peer is ("the Fedify peer"), for messages.
    pub fn what(&self) -> &'static str {
        self.what
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The peer's process (it ends itself; see [`PeerProcess`]).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every event so far, oldest first. Only the lines added since the last
    /// call are read and parsed: the waits poll this every 25 ms, and a
    /// shared peer's log grows all through a test binary.
    pub fn events(&self) -> Vec<Value> {
        let path = self.dir.join("events.jsonl");
        let mut read = self.events_read.lock().unwrap_or_else(|e| e.into_inner());
        let mut file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => panic!("{}: {e}", path.display()),
        };
        let mut new = Vec::new();
        file.seek(SeekFrom::Start(read.0))
            .and_then(|_| file.read_to_end(&mut new))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // A line being written while we read has no newline yet: left for
        // the next call.
        let complete = new.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        for line in new[..complete].split_inclusive(|&b| b == b'\n') {
            let event = serde_json::from_slice(line).unwrap_or_else(|e| {
                panic!("bad event line {:?}: {e}", String::from_utf8_lossy(line))
            });
            read.1.push(event);
        }
        read.0 += complete as u64;
        read.1.clone()
    }

    /// The first event (oldest first) for which `pred` holds, waiting up to
    /// `timeout` for it; panics with every event and the log if none comes.
    pub fn wait_for_event(&self, pred: impl Fn(&Value) -> bool, timeout: Duration) -> Value {
        self.wait_until(
            "such an event",
            timeout,
            |events| events.iter().find(|e| pred(e)).cloned(),
            |events| {
                let all: Vec<String> = events.iter().map(Value::to_string).collect();
                all.join("\n")
            },
        )
    }

    /// Polls the events until `find` returns something, up to `timeout`;
    /// else panics saying `what` was awaited, what arrived (`describe` of
    /// every event) and the log.
    pub fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        find: impl Fn(&[Value]) -> Option<T>,
        describe: impl Fn(&[Value]) -> String,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            let events = self.events();
            if let Some(found) = find(&events) {
                return found;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{} did not see {what} within {timeout:?}; what it saw:\n{}\n--- its log ---\n{}",
                    self.what,
                    describe(&events),
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

impl Drop for PeerProcess {
    fn drop(&mut self) {
        // Our own child, never waited for until now: its PID is still ours.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
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

pub(crate) fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|e| format!("({}: {e})", path.display()))
}
