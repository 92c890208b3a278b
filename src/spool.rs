//! Messages other servers send us, taken without opening the database: each
//! is a file in `DATA/spool/KIND/`, written whole (temporary file + rename)
//! before the sender is answered, read into the database by the next cron
//! run (`jobs::take_spooled`) and removed only after that commit. Under CGI
//! opening SQLite is most of a request's cost, so a sender pays a file each,
//! and a flood of them costs the owner's pages nothing.
//!
//! The per-host rate limit lives here too, as one small file per host
//! (`rate/`): the times of the requests taken in the window, appended under
//! an exclusive lock so that concurrent requests count each other.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

const DIR: &str = "spool";
const RATE_DIR: &str = "rate";
const SUFFIX: &str = ".msg";
/// A token: 128 random bits in hex, the message's name and its status URL.
const TOKEN_HEX: usize = 32;

/// One kind of message's spool (`webmention`, ...).
pub struct Spool {
    dir: PathBuf,
}

/// A message taken from the spool, to be stored and then marked [`done`](Taken::done).
#[derive(Debug)]
pub struct Taken {
    pub token: String,
    /// When it was received (Unix seconds).
    pub at: i64,
    pub body: Vec<u8>,
    path: PathBuf,
}

impl Taken {
    /// Removes the message: call after the transaction that stored it committed.
    pub fn done(self) -> io::Result<()> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

impl Spool {
    pub fn new(home: &Path, kind: &str) -> Spool {
        Spool {
            dir: home.join(DIR).join(kind),
        }
    }

    /// Counts one request from `host` against `limit` per `window` seconds:
    /// `Ok(Ok(()))` taken, `Ok(Err(wait))` refused, `wait` seconds until the
    /// oldest counted request leaves the window.
    pub fn admit(
        &self,
        host: &str,
        limit: usize,
        window: i64,
        now: i64,
    ) -> io::Result<Result<(), i64>> {
        let dir = self.dir.join(RATE_DIR);
        let path = dir.join(host_file_name(host));
        let open = || {
            OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .mode(0o600)
                .open(&path)
        };
        let mut file = in_made_dir(&dir, open)?;
        file.lock()?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        let since = now - window;
        let mut counted = times(&text).filter(|t| *t > since);
        let oldest = counted.next();
        if let Some(oldest) = oldest
            && 1 + counted.count() >= limit
        {
            return Ok(Err((oldest + window - now).max(1)));
        }
        file.write_all(format!("{now}\n").as_bytes())?;
        Ok(Ok(()))
    }

    /// Keeps `body` received at `now`; returns its token. The file appears
    /// whole or not at all.
    pub fn put(&self, body: &[u8], now: i64) -> io::Result<String> {
        let mut random = [0u8; TOKEN_HEX / 2];
        getrandom::fill(&mut random).map_err(|e| io::Error::other(e.to_string()))?;
        let token: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let mut bytes = format!("{now}\n").into_bytes();
        bytes.extend_from_slice(body);
        // Written under a name `taken` skips, then renamed: cron never reads
        // half a message. The token is new, so no other writer shares it.
        let temp = self.dir.join(format!(".{token}"));
        let written = in_made_dir(&self.dir, || {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)
        })
        .and_then(|mut file| file.write_all(&bytes))
        .and_then(|()| fs::rename(&temp, self.dir.join(format!("{token}{SUFFIX}"))));
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written.map(|()| token)
    }

    /// Whether the message `token` is still waiting for cron.
    pub fn holds(&self, token: &str) -> bool {
        is_token(token) && self.dir.join(format!("{token}{SUFFIX}")).exists()
    }

    /// The waiting messages, oldest first.
    pub fn taken(&self) -> io::Result<Vec<Taken>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut taken = Vec::new();
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(token) = name.to_str().and_then(|n| n.strip_suffix(SUFFIX)) else {
                continue;
            };
            if !is_token(token) {
                continue;
            }
            let path = entry.path();
            let bytes = match fs::read(&path) {
                Ok(bytes) => bytes,
                // Taken by a run that overlapped this listing.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let (at, body) = match bytes.iter().position(|&b| b == b'\n') {
                Some(end) => (
                    std::str::from_utf8(&bytes[..end])
                        .ok()
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(0),
                    bytes[end + 1..].to_vec(),
                ),
                None => (0, bytes),
            };
            taken.push(Taken {
                token: token.to_string(),
                at,
                body,
                path,
            });
        }
        taken.sort_by(|a, b| (a.at, &a.token).cmp(&(b.at, &b.token)));
        Ok(taken)
    }

    /// Forgets requests older than `window`: a host's file is rewritten
    /// without them, or removed when none is left. Run by cron.
    pub fn prune_rates(&self, window: i64, now: i64) -> io::Result<()> {
        let dir = self.dir.join(RATE_DIR);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let since = now - window;
        for entry in entries {
            let path = entry?.path();
            let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            file.lock()?;
            let mut text = String::new();
            file.read_to_string(&mut text)?;
            let kept: String = times(&text)
                .filter(|t| *t > since)
                .map(|t| format!("{t}\n"))
                .collect();
            if kept.len() == text.len() {
                continue;
            }
            if kept.is_empty() {
                // Removed while locked: a request waiting on the lock then
                // appends to the unlinked file, a count lost at worst.
                fs::remove_file(&path)?;
            } else {
                file.set_len(0)?;
                // Append mode is not set here: write from the start.
                use std::io::Seek;
                file.seek(io::SeekFrom::Start(0))?;
                file.write_all(kept.as_bytes())?;
            }
        }
        Ok(())
    }
}

/// Whether `text` has the shape of a spool token.
pub fn is_token(text: &str) -> bool {
    text.len() == TOKEN_HEX && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn times(text: &str) -> impl Iterator<Item = i64> + '_ {
    text.lines().filter_map(|line| line.parse().ok())
}

/// A host name is the sender's text: its file is named by a digest.
fn host_file_name(host: &str) -> String {
    let digest = crate::render::const_sha256::sha256(host.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Opens a file in `dir`, making `dir` first when it is missing (the
/// spool's directories appear on first use; tried first, as they are
/// there on every later request). Owner-only like the rest of the data
/// directory (`umask 077` at start).
fn in_made_dir(dir: &Path, open: impl Fn() -> io::Result<File>) -> io::Result<File> {
    match open() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dir)?;
            open()
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spool in a fresh directory, removed when the test's value drops.
    struct Scratch(PathBuf);
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn spool() -> (Scratch, Spool) {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let home = std::env::temp_dir().join(format!("roost-spool-{}-{n}", std::process::id()));
        fs::create_dir_all(&home).unwrap();
        let spool = Spool::new(&home, "test");
        (Scratch(home), spool)
    }

    #[test]
    fn a_message_put_is_taken_oldest_first_until_done() {
        let (_home, spool) = spool();
        let late = spool.put(b"second", 200).unwrap();
        let early = spool.put(b"first\nline", 100).unwrap();
        assert!(spool.holds(&early) && spool.holds(&late));
        let taken = spool.taken().unwrap();
        let seen: Vec<(&str, i64, &[u8])> = taken
            .iter()
            .map(|t| (t.token.as_str(), t.at, t.body.as_slice()))
            .collect();
        assert_eq!(
            seen,
            [
                (early.as_str(), 100, &b"first\nline"[..]),
                (late.as_str(), 200, &b"second"[..])
            ]
        );
        for t in taken {
            t.done().unwrap();
        }
        assert!(!spool.holds(&early));
        assert!(spool.taken().unwrap().is_empty());
        assert!(!spool.holds("../../etc/passwd"));
    }

    #[test]
    fn the_rate_limit_counts_per_host_within_the_window() {
        let (_home, spool) = spool();
        for n in 0..3 {
            assert_eq!(
                spool.admit("flood.example", 3, 3600, 1000 + n).unwrap(),
                Ok(())
            );
        }
        // The oldest (t=1000) leaves the window at 4600.
        assert_eq!(
            spool.admit("flood.example", 3, 3600, 1010).unwrap(),
            Err(3590)
        );
        assert_eq!(spool.admit("calm.example", 3, 3600, 1010).unwrap(), Ok(()));
        assert_eq!(spool.admit("flood.example", 3, 3600, 4601).unwrap(), Ok(()));
        spool.prune_rates(3600, 4603).unwrap();
        // Only t=4601 is left for the flood host.
        assert_eq!(spool.admit("flood.example", 3, 3600, 4603).unwrap(), Ok(()));
        assert_eq!(spool.admit("flood.example", 3, 3600, 4604).unwrap(), Ok(()));
        assert_eq!(
            spool.admit("flood.example", 3, 3600, 4605).unwrap(),
            Err(3596)
        );
        spool.prune_rates(3600, 100_000).unwrap();
        let left = fs::read_dir(spool.dir.join(RATE_DIR)).unwrap().count();
        assert_eq!(left, 0, "hosts with nothing in the window are forgotten");
    }
}
