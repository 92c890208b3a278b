//! Static publishing: the owner's three feeds and the first page of `/`,
//! and the photos' folder (`media::files`), written as files into the document root (the `publish_dir` setting) after
//! every change to what they show, so that Apache answers feed readers
//! itself, with its own ETag and 304, without starting roost.
//!
//! The files are rendered by the same handler a visitor's request reaches
//! (`site::for_visitor`, the functions the GET handlers call), so a published file and a live answer
//! never differ. Each is replaced atomically (a temporary file renamed over
//! it) and only when its bytes change, so Apache's validators stay put and
//! followers keep getting 304. A failure never undoes the change that caused
//! it: it is printed, kept in `site_state.publish_error` for `roost doctor`,
//! and the next change tries again.

use crate::store;
use anyhow::{Context, Result, bail};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// The setting naming the directory; empty means publishing is off.
pub const SETTING: &str = "publish_dir";

/// Each published file and the path whose visitor's answer it holds.
/// The page is not called index.html: a host's placeholder page by that
/// name is common, and it must neither be overwritten nor served as ours.
pub const FILES: [(&str, &str); 4] = [
    ("roost-home.html", "/"),
    ("feed.atom", "/feed.atom"),
    ("feed.json", "/feed.json"),
    ("feed.rss", "/feed.rss"),
];

/// The list of files roost wrote, in the data directory: only those are
/// ever replaced or removed, never a file someone else put there.
const MANIFEST: &str = "published";

/// Republishes after a change; never fails (see the module comment).
pub fn refresh(conn: &mut Connection) {
    let outcome = publish(conn);
    if let Err(error) = &outcome {
        eprintln!("roost: the change is saved, but publishing the static files failed: {error:#}");
        // Stale copies would be served instead of the live answer: remove
        // them, so requests reach roost until publishing works again.
        if let Ok(Some(dir)) = configured_dir(conn) {
            withdraw(conn, &dir).ok();
        }
    }
    let message = outcome.err().map(|e| format!("{e:#}")).unwrap_or_default();
    if let Err(error) = record_outcome(conn, &message) {
        eprintln!("roost: recording the publishing outcome: {error:#}");
    }
}

/// Bookkeeping only: written when it changes, so a healthy site's writes
/// cost nothing more.
fn record_outcome(conn: &mut Connection, message: &str) -> Result<()> {
    if store::publish_error(conn)? != message {
        store::write_unseen(conn, |tx| store::set_publish_error(tx, message))?;
    }
    Ok(())
}

/// The publishing directory, when publishing is on.
pub fn configured_dir(conn: &Connection) -> Result<Option<PathBuf>> {
    Ok(crate::settings::Settings::load(conn)?.publish_dir())
}

/// Checks a new `publish_dir` value: "" or "off" turn publishing off;
/// anything else must be a directory this user can write. Returns the
/// value to store (an absolute path).
pub fn validate_dir(value: &str) -> Result<String> {
    if value.is_empty() || value == "off" {
        return Ok(String::new());
    }
    let dir = std::fs::canonicalize(value)
        .with_context(|| format!("publish_dir {value:?} is not an existing directory"))?;
    if !dir.is_dir() {
        bail!("publish_dir {} is not a directory", dir.display());
    }
    writable(&dir)?;
    dir.to_str()
        .map(str::to_owned)
        .with_context(|| format!("publish_dir {} is not valid UTF-8", dir.display()))
}

/// Whether files can be created in `dir`, tried for real (permissions, ACLs,
/// a read-only mount and root all answer differently from the mode bits).
pub fn writable(dir: &Path) -> Result<()> {
    let probe = dir.join(format!(".roost-probe-{}", std::process::id()));
    std::fs::File::create(&probe)
        .with_context(|| format!("publish_dir {} is not writable by this user", dir.display()))?;
    std::fs::remove_file(&probe).ok();
    Ok(())
}

/// Renders every file and writes those whose bytes changed.
pub fn publish(conn: &mut Connection) -> Result<()> {
    let Some(dir) = configured_dir(conn)? else {
        return Ok(());
    };
    let home = data_dir(conn)?;
    // Two writers publishing at once: whoever renders last must write last,
    // or an older page could land over a newer one. Under the lock, each
    // renders what is committed by then, which includes its own change.
    let _lock = Lock::take(&home)?;
    let mut manifest = Manifest::load(&home)?;
    for (name, path) in FILES {
        let body = render(conn, path)?;
        let target = dir.join(name);
        if target.exists() && !manifest.contains(&target) {
            bail!(
                "{} exists and was not written by roost: move it away (roost publishes there)",
                target.display()
            );
        }
        // The manifest first: a file we wrote is always listed.
        manifest.add(&home, &target)?;
        write_if_changed(&target, &body)?;
    }
    // Photos are published when uploaded; this catches up a directory
    // named since, and removals that failed.
    crate::media::files::sync(&home, &dir)
}

/// The published files that are missing or differ from what roost would
/// publish now (for `roost doctor`); empty when publishing is off.
pub fn stale(conn: &mut Connection) -> Result<Vec<PathBuf>> {
    let Some(dir) = configured_dir(conn)? else {
        return Ok(Vec::new());
    };
    let mut stale = Vec::new();
    for (name, path) in FILES {
        let target = dir.join(name);
        if std::fs::read(&target).ok() != Some(render(conn, path)?) {
            stale.push(target);
        }
    }
    Ok(stale)
}

/// Removes the files roost published in `dir` (publishing moved or turned off).
pub fn withdraw(conn: &Connection, dir: &Path) -> Result<()> {
    let home = data_dir(conn)?;
    let mut manifest = Manifest::load(&home)?;
    for (name, _) in FILES {
        let target = dir.join(name);
        if manifest.contains(&target) {
            match std::fs::remove_file(&target) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("removing {}", target.display()));
                }
            }
            manifest.remove(&home, &target)?;
        }
    }
    crate::media::files::withdraw(dir)
}

fn render(conn: &mut Connection, path: &str) -> Result<Vec<u8>> {
    Ok(crate::site::for_visitor(conn, path)?.1)
}

fn data_dir(conn: &Connection) -> Result<PathBuf> {
    conn.path()
        .and_then(|p| Path::new(p).parent())
        .map(Path::to_path_buf)
        .context("the database has no data directory")
}

/// Replaces `target` with `body` through a temporary file in the same
/// directory and a rename, so Apache serves either the old file or the new
/// one, never half of one. Unchanged bytes leave the file (and its ETag) alone.
fn write_if_changed(target: &Path, body: &[u8]) -> Result<()> {
    if std::fs::read(target).is_ok_and(|old| old == body) {
        return Ok(());
    }
    // Served by the web server, which may run as another user: the one kind
    // of file roost makes readable by others (the umask says 077).
    replace_file(target, body, 0o644)
}

fn replace_file(target: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    crate::atomic_file::replace(target, bytes, mode)
        .with_context(|| format!("writing {}", target.display()))
}

/// An exclusive `flock` on `DATA/publish.lock`, released when dropped (or
/// when the process dies, so a killed writer never blocks the next).
struct Lock {
    _file: std::fs::File,
}

impl Lock {
    fn take(home: &Path) -> Result<Lock> {
        use std::os::fd::AsRawFd;
        let path = home.join("publish.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: flock on a descriptor we own, for as long as `file` lives.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("locking {}", path.display()));
        }
        Ok(Lock { _file: file })
    }
}

/// `DATA/published`: one absolute path per line.
struct Manifest {
    paths: Vec<PathBuf>,
}

impl Manifest {
    fn load(home: &Path) -> Result<Manifest> {
        let file = home.join(MANIFEST);
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
        };
        Ok(Manifest {
            paths: text.lines().map(PathBuf::from).collect(),
        })
    }

    fn contains(&self, path: &Path) -> bool {
        self.paths.iter().any(|p| p == path)
    }

    fn add(&mut self, home: &Path, path: &Path) -> Result<()> {
        if self.contains(path) {
            return Ok(());
        }
        self.paths.push(path.to_path_buf());
        self.save(home)
    }

    fn remove(&mut self, home: &Path, path: &Path) -> Result<()> {
        self.paths.retain(|p| p != path);
        self.save(home)
    }

    fn save(&self, home: &Path) -> Result<()> {
        let mut text = String::new();
        for path in &self.paths {
            text.push_str(&path.to_string_lossy());
            text.push('\n');
        }
        replace_file(&home.join(MANIFEST), text.as_bytes(), 0o600)
    }
}
