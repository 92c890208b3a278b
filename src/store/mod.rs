//! All SQL lives here: opening the database, the schema, and one function per
//! thing the rest of roost needs to read or change. Nothing outside `store/`
//! writes SQL.

pub mod activitypub;
pub mod drafts;
pub mod entries;
pub mod follows;
pub mod imported;
pub mod indieauth;
pub mod jobs;
pub mod lease;
pub mod media;
pub mod mentions;
pub mod mentions_sent;
pub mod migrations;
pub mod posts;
pub mod reply_contexts;
pub mod search;
pub mod sessions;
pub mod settings;
pub mod setup_tokens;
pub mod websub;

use anyhow::{Context, Result};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The database file inside the data directory.
pub const DB_FILE: &str = "roost.db";

pub fn db_path(home: &Path) -> PathBuf {
    home.join(DB_FILE)
}

/// How long the command line waits for another process's write (a poll's
/// transaction for one feed, a backup step) before giving up.
pub const CLI_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a web request waits for the write lock. Shorter than the command
/// line's: a visitor or the owner's browser is waiting and an Apache worker
/// is held, and a lock held this long is not a poll's short per-feed
/// transaction but something stuck (a backup, a manual `BEGIN EXCLUSIVE`);
/// a quick 503 with `Retry-After` serves better than a hung page.
pub const WEB_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens an existing database and brings its schema up to date.
pub fn open(home: &Path) -> Result<Connection> {
    open_waiting(home, CLI_BUSY_TIMEOUT)
}

/// `open` for a web request: waits `WEB_BUSY_TIMEOUT` for a lock.
pub fn open_for_web(home: &Path) -> Result<Connection> {
    open_waiting(home, WEB_BUSY_TIMEOUT)
}

fn open_waiting(home: &Path, busy_timeout: Duration) -> Result<Connection> {
    let path = existing_db(home)?;
    let mut conn = Connection::open(&path)
        .with_context(|| format!("opening the database {}", path.display()))?;
    configure(&conn, busy_timeout)?;
    migrations::migrate(&mut conn)?;
    Ok(conn)
}

/// The data directory holds no database yet.
#[derive(Debug)]
pub struct NoDatabase(pub PathBuf);

impl std::fmt::Display for NoDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no roost database in {}: run `{}` first",
            self.0.display(),
            crate::hint::command(&self.0, "init --url URL --name NAME")
        )
    }
}

impl std::error::Error for NoDatabase {}

/// The database's path, once it is known to be there for this user: else
/// [`NoDatabase`], or [`OtherOwner`] when another user's data is what stands
/// in the way (SQLite would say "unable to open" or "readonly database",
/// and a directory this user cannot enter looks like no database at all).
fn existing_db(home: &Path) -> Result<PathBuf> {
    let path = db_path(home);
    let found = std::fs::metadata(&path);
    if let Some(other) = OtherOwner::of(home, &path) {
        return Err(other.into());
    }
    match found {
        Ok(_) => Ok(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(NoDatabase(home.to_path_buf()).into())
        }
        Err(e) => Err(e).with_context(|| format!("looking for the database {}", path.display())),
    }
}

/// The data directory or its database belongs to another user, and this
/// one may not write it: on suexec hosts roost.cgi runs as its file's owner,
/// and cron as whoever's crontab it is, so data made by one is often met by
/// the other.
#[derive(Debug)]
pub struct OtherOwner {
    /// The data directory.
    pub home: PathBuf,
    /// What belongs to the other user: the data directory or a database file.
    pub path: PathBuf,
    /// That user's name (or numeric id), and this process's.
    pub owner: String,
    pub runs_as: String,
}

impl OtherOwner {
    /// Checks the directory, the database and its -wal and -shm (a `stat`
    /// each when all is well): a command run as root, or from another
    /// user's crontab, leaves a -wal or -shm the site's user cannot write.
    fn of(home: &Path, db: &Path) -> Option<OtherOwner> {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let euid = unsafe { libc::geteuid() };
        let mut files = vec![home.to_path_buf(), db.to_path_buf()];
        files.extend(["-wal", "-shm"].map(|suffix| {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        }));
        files.into_iter().find_map(|path| {
            let owner = std::fs::metadata(&path).ok()?.uid();
            (owner != euid && !may_write(&path)).then(|| OtherOwner {
                home: home.to_path_buf(),
                path,
                owner: crate::unix_user::name(owner),
                runs_as: crate::unix_user::name(euid),
            })
        })
    }
}

impl std::fmt::Display for OtherOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.path == self.home {
            "the data directory"
        } else {
            "the database file"
        };
        let (path, home, owner, runs_as) = (
            self.path.display(),
            self.home.display(),
            &self.owner,
            &self.runs_as,
        );
        write!(
            f,
            "{what} {path} belongs to user {owner}, but roost runs as user {runs_as}: run \
             roost as {owner} (under suexec, roost.cgi runs as the user who owns the file; \
             cron as the user whose crontab it is), or give the data to {runs_as}: \
             chown -R {runs_as} {home}"
        )
    }
}

impl std::error::Error for OtherOwner {}

/// Whether this process (its effective user) may write `path`, and enter it
/// when it is a directory.
fn may_write(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    let mode = if path.is_dir() {
        libc::W_OK | libc::X_OK
    } else {
        libc::W_OK
    };
    // SAFETY: a NUL-terminated path; faccessat only reads it.
    unsafe { libc::faccessat(libc::AT_FDCWD, c_path.as_ptr(), mode, libc::AT_EACCESS) == 0 }
}

/// Why the database cannot be used at the moment: the web answers 503,
/// with `Retry-After` where waiting may help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// No database in the data directory (`roost init` was not run).
    Missing,
    /// Another process held the lock past the busy timeout.
    Busy,
    /// The file or its directory cannot be written.
    ReadOnly,
    /// The disk (or the account's quota) is full.
    DiskFull,
    /// The file cannot be opened (permissions, a missing directory).
    CannotOpen,
    /// Reading or writing the file failed.
    Io,
    /// This binary's schema upgrade failed and was taken back
    /// (`migrations::UpgradeFailed`): the previous binary still reads it.
    UpgradeFailed,
}

impl Unavailable {
    /// Seconds a client may wait before trying again, where waiting may help.
    pub fn retry_after(self) -> Option<u32> {
        match self {
            Unavailable::Busy => Some(5),
            Unavailable::DiskFull | Unavailable::Io => Some(300),
            Unavailable::Missing
            | Unavailable::ReadOnly
            | Unavailable::CannotOpen
            | Unavailable::UpgradeFailed => None,
        }
    }
}

/// Whether `error` (anywhere in its chain) says the storage is unavailable,
/// as opposed to a bug or bad data.
pub fn unavailable(error: &anyhow::Error) -> Option<Unavailable> {
    use rusqlite::ErrorCode;
    error.chain().find_map(|cause| {
        if cause.is::<NoDatabase>() {
            return Some(Unavailable::Missing);
        }
        if cause.is::<OtherOwner>() {
            return Some(Unavailable::CannotOpen);
        }
        if cause.is::<migrations::UpgradeFailed>() {
            return Some(Unavailable::UpgradeFailed);
        }
        match cause.downcast_ref::<rusqlite::Error>()? {
            rusqlite::Error::SqliteFailure(e, _) => match e.code {
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Some(Unavailable::Busy),
                ErrorCode::ReadOnly => Some(Unavailable::ReadOnly),
                ErrorCode::DiskFull => Some(Unavailable::DiskFull),
                ErrorCode::CannotOpen | ErrorCode::PermissionDenied => {
                    Some(Unavailable::CannotOpen)
                }
                ErrorCode::SystemIoFailure => Some(Unavailable::Io),
                _ => None,
            },
            _ => None,
        }
    })
}

/// Opens an existing database read-only, without upgrading its schema, for
/// `roost doctor` to look at: never changes anything, and opens a database
/// of a newer schema too.
pub fn open_to_check(home: &Path) -> Result<Connection> {
    use rusqlite::OpenFlags;
    let path = existing_db(home)?;
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening the database {}", path.display()))?;
    conn.busy_timeout(CLI_BUSY_TIMEOUT)
        .context("setting the database busy timeout")?;
    Ok(conn)
}

/// `PRAGMA integrity_check`: the problems SQLite finds, none when the file is sound.
pub fn integrity_problems(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare("PRAGMA integrity_check(20)")
        .context("checking the database's integrity")?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .context("checking the database's integrity")?;
    let found: Vec<String> = rows
        .collect::<rusqlite::Result<_>>()
        .context("checking the database's integrity")?;
    Ok(found.into_iter().filter(|line| line != "ok").collect())
}

/// The schema version the file says it has (`PRAGMA user_version`).
pub fn schema_version(conn: &Connection) -> Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .context("reading the schema version")
}

/// Creates a new database; the caller has checked that none exists.
pub fn create(home: &Path) -> Result<Connection> {
    let path = db_path(home);
    let mut conn = Connection::open(&path)
        .with_context(|| format!("creating the database {}", path.display()))?;
    configure(&conn, CLI_BUSY_TIMEOUT)?;
    migrations::migrate(&mut conn)?;
    Ok(conn)
}

fn configure(conn: &Connection, busy_timeout: Duration) -> Result<()> {
    // WAL lets the site answer while cron polls; the busy timeout makes a
    // writer wait for another process's write instead of failing.
    conn.busy_timeout(busy_timeout)
        .context("setting the database busy timeout")?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .context("switching the database to WAL mode")?;
    if !mode.eq_ignore_ascii_case("wal") {
        anyhow::bail!("the database refused WAL mode (got {mode}): is its directory writable?");
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
        .context("configuring the database")?;
    // Under CGI every request opens and closes the database. By default the
    // last connection to close checkpoints and deletes the -wal file, so the
    // next request recreates it: a plain page view became writes. Leave the
    // WAL in place; SQLite's automatic checkpoint on commit keeps it short.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )
    .context("configuring the database")?;
    let mut persist: std::os::raw::c_int = 1;
    // SAFETY: a valid open handle, the "main" schema, and an int argument as
    // SQLITE_FCNTL_PERSIST_WAL documents.
    unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_PERSIST_WAL,
            (&mut persist as *mut std::os::raw::c_int).cast(),
        );
    }
    Ok(())
}

/// Copies the WAL into the database and empties the -wal file
/// (`wal_checkpoint(TRUNCATE)`), for `roost cron` at the end of its run
/// (its connection waits `CLI_BUSY_TIMEOUT` again afterwards).
///
/// Why: a process that opens the database alone (every CGI request and
/// command) rebuilds the WAL's index by reading the whole -wal file, and
/// forgets how much of it was already copied back, so a process that writes
/// once never starts the log over. Left alone, the WAL grew by every such
/// write and every request read all of it.
///
/// It does not wait: while the log is emptied, writers would wait too (a web
/// request only `WEB_BUSY_TIMEOUT`), so a reader or writer in the way makes
/// it give up at once, quietly, and the next run empties the log.
pub fn empty_wal(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::ZERO)
        .context("setting the database busy timeout")?;
    let emptied = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .context("copying the write-ahead log into the database");
    conn.busy_timeout(CLI_BUSY_TIMEOUT)
        .context("setting the database busy timeout")?;
    emptied
}

/// What a write transaction changes, so the right validators move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The owner's own posts and settings: the owner's pages and feeds.
    Own,
    /// What followed feeds bring (follows, entries): only the pages that
    /// show them, never the owner's feeds.
    Entries,
    /// Bookkeeping no page shows (sessions, failed logins, the lease, jobs).
    Unseen,
}

impl Change {
    fn mark_changed(self) -> Option<&'static str> {
        match self {
            Change::Own => Some("UPDATE site_state SET version = version + 1, changed_at = ?1"),
            Change::Entries => Some(
                "UPDATE site_state SET entries_version = entries_version + 1, entries_changed_at = ?1",
            ),
            Change::Unseen => None,
        }
    }
}

/// What a transaction marked changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Marked {
    /// Some page shows what changed: the page cache is renewed.
    pub pages: bool,
    /// The owner's own pages changed (posts, settings, or the profile's
    /// counts of follows and followers): what is published is renewed.
    pub own: bool,
}

/// Runs `f` in one `BEGIN IMMEDIATE` transaction (the write lock is taken
/// up front, so a read-then-write never fails half way with SQLITE_BUSY);
/// when `f` reports a change that pages show, bumps `site_state` in the same
/// transaction, so ETags move. A change to the follows or followers (in an
/// `Entries` write) also changes the profile's counts on the owner's
/// pages, so it marks those too. Returns what it marked. What must happen
/// after the commit (the page cache, publishing) is `node`'s job: the store
/// knows nothing above itself.
pub fn transaction<T>(
    conn: &mut Connection,
    change: Change,
    f: impl FnOnce(&Connection) -> Result<(T, bool)>,
) -> Result<(T, Marked)> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .context("starting a write transaction")?;
    let counts_before = match change {
        Change::Entries => Some(activitypub::audience(&tx)?),
        _ => None,
    };
    let (value, changed) = f(&tx)?;
    let now = chrono::Utc::now().timestamp();
    let mut marked = Marked::default();
    if let Some(mark) = change.mark_changed().filter(|_| changed) {
        tx.execute(mark, [now])
            .context("marking the site changed")?;
        marked.pages = true;
        marked.own = change == Change::Own;
    }
    if let Some(before) = counts_before
        && activitypub::audience(&tx)? != before
    {
        let own = Change::Own.mark_changed().unwrap_or_default();
        tx.execute(own, [now])
            .context("marking the profile changed")?;
        marked = Marked {
            pages: true,
            own: true,
        };
    }
    tx.commit().context("committing a write transaction")?;
    Ok((value, marked))
}

/// A transaction for bookkeeping no page shows (sessions, failed logins,
/// the lease, the publishing outcome, jobs): nothing to do after the commit.
pub fn write_unseen<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Connection) -> Result<T>,
) -> Result<T> {
    Ok(transaction(conn, Change::Unseen, |tx| Ok((f(tx)?, false)))?.0)
}

/// What changed last: every page and feed derives its ETag and Last-Modified from this.
#[derive(Debug, Clone, Copy)]
pub struct SiteState {
    /// Own posts and settings.
    pub version: i64,
    pub changed_at: i64,
    /// Entries from followed feeds, and the follow list.
    pub entries_version: i64,
    pub entries_changed_at: i64,
}

pub fn site_state(conn: &Connection) -> Result<SiteState> {
    // Asked on every page view: the statement is kept prepared.
    conn.prepare_cached(
        "SELECT version, changed_at, entries_version, entries_changed_at FROM site_state WHERE id = 1",
    )
    .and_then(|mut stmt| {
        stmt.query_row([], |r| {
            Ok(SiteState {
                version: r.get(0)?,
                changed_at: r.get(1)?,
                entries_version: r.get(2)?,
                entries_changed_at: r.get(3)?,
            })
        })
    })
    .context("reading the site state")
}

/// The node's own secret (see `web::auth::node_proof`); `None` in a
/// database whose schema predates it (opened by `doctor`, not upgraded).
pub fn node_secret(conn: &Connection) -> Result<Option<String>> {
    use rusqlite::OptionalExtension;
    let exists: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'node_secret'",
            [],
            |r| r.get(0),
        )
        .context("looking for the node's secret")?;
    if !exists {
        return Ok(None);
    }
    conn.query_row("SELECT secret FROM node_secret WHERE id = 1", [], |r| {
        r.get(0)
    })
    .optional()
    .context("reading the node's secret")
}

/// Why the last static publishing failed; empty when it succeeded.
pub fn publish_error(conn: &Connection) -> Result<String> {
    conn.query_row(
        "SELECT publish_error FROM site_state WHERE id = 1",
        [],
        |r| r.get(0),
    )
    .context("reading the publishing state")
}

pub fn set_publish_error(conn: &Connection, message: &str) -> Result<()> {
    conn.execute(
        "UPDATE site_state SET publish_error = ?1 WHERE id = 1",
        [message],
    )
    .context("recording the publishing state")?;
    Ok(())
}

/// `roost backup FILE`: SQLite's online backup, consistent while the site stays up.
pub fn backup(conn: &Connection, target: &Path) -> Result<()> {
    let mut dest = Connection::open(target)
        .with_context(|| format!("creating the backup file {}", target.display()))?;
    let backup = rusqlite::backup::Backup::new(conn, &mut dest).context("starting the backup")?;
    backup
        .run_to_completion(256, Duration::from_millis(10), None)
        .context("copying the database")?;
    Ok(())
}
