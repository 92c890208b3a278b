//! `roost doctor` (SPEC §3): looks at an installation the way shared hosts
//! break it and prints one line per finding, `ok` or `FAIL` with the fix.
//! One function per check; the checks are independent, so one that fails
//! (or cannot run) never stops the others, and only the count of failures
//! reaches the exit code. Changes nothing: the database is opened read-only.

use crate::settings::Settings;
use crate::web::auth;
use crate::{hint, net, publish, store};
use anyhow::Result;
use rusqlite::Connection;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A poll older than this, on a node that follows feeds, means cron does not run it.
pub const MAX_POLL_AGE_SECONDS: i64 = 3600;

/// Less free space than this where the data is, and a poll or a post may
/// meet a full disk (SQLite's journal, a poll's new entries, a backup).
pub const MIN_FREE_BYTES: u64 = 64 * 1024 * 1024;

/// The `Authorization` value the probe sends; roost only reports its presence.
const PROBE_AUTHORIZATION: &str = "Bearer roost-doctor-probe";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Fail,
    /// Could not be checked here; another line says what tells instead.
    Skip,
    /// Not a check: what to keep in mind reading the lines after it.
    Note,
}

/// One printed line: a status and what was found (with the fix, for `Fail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub status: Status,
    pub text: String,
}

fn ok(text: impl Into<String>) -> Finding {
    Finding {
        status: Status::Ok,
        text: text.into(),
    }
}

fn fail(text: impl Into<String>) -> Finding {
    Finding {
        status: Status::Fail,
        text: text.into(),
    }
}

fn skip(text: impl Into<String>) -> Finding {
    Finding {
        status: Status::Skip,
        text: text.into(),
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:<6}{}", self.status.label(), self.text)
    }
}

/// What every check may look at, gathered once. A part that cannot be had
/// (no database, unreadable settings) is left empty, and the checks that
/// need it say so.
pub struct Install {
    /// The data directory, absolute.
    pub home: PathBuf,
    /// This binary: the one cron and (when named `roost.cgi`) the web server run.
    pub exe: Option<PathBuf>,
    /// The database, read-only, or why it cannot be opened.
    pub db: std::result::Result<Connection, String>,
    pub settings: Settings,
    pub now: i64,
    /// Gathered for a web page: no check asks the site anything over HTTP
    /// (a request handler sends no request; the page itself is the proof
    /// that the site answers).
    pub from_a_page: bool,
}

impl Install {
    pub fn gather(home: &Path) -> Install {
        let db = store::open_to_check(home).map_err(|e| format!("{e:#}"));
        let settings = db
            .as_ref()
            .ok()
            .and_then(|conn| Settings::load(conn).ok())
            .unwrap_or_default();
        Install {
            home: home.to_path_buf(),
            exe: std::env::current_exe().ok(),
            db,
            settings,
            now: chrono::Utc::now().timestamp(),
            from_a_page: false,
        }
    }

    /// The node's address, always ending in `/`.
    fn url(&self) -> Option<String> {
        Some(self.settings.url()).filter(|url| url != "/")
    }

    fn exe_display(&self) -> String {
        self.exe
            .as_ref()
            .map_or_else(|| "/path/to/roost".to_string(), |p| p.display().to_string())
    }

    /// The line cron should have: the real binary and `--home`.
    fn cron_line(&self) -> String {
        format!(
            "*/5 * * * * {} --home {} cron --quiet",
            self.exe_display(),
            self.home.display()
        )
    }

    /// Directories the web server serves files from: where `roost.cgi` is,
    /// when this binary is it, and the static publishing directory.
    fn document_roots(&self) -> Vec<PathBuf> {
        let mut roots = Vec::new();
        if let Some(exe) = &self.exe
            && exe.file_name().is_some_and(|n| n == "roost.cgi")
            && let Some(dir) = exe.parent()
        {
            roots.push(dir.to_path_buf());
        }
        if let Some(dir) = self.settings.publish_dir() {
            roots.push(dir);
        }
        roots
    }
}

/// Every check, in the order printed; the last two ask the site over HTTP.
const CHECKS: [fn(&Install) -> Vec<Finding>; 14] = [
    who_runs_doctor,
    data_directory_location,
    files_in_document_root,
    permissions,
    database,
    free_space,
    time_zone,
    cron_line,
    last_poll,
    background_jobs,
    activitypub_inbox,
    published,
    authorization_reaches_roost,
    site_answers,
];

/// How many of [`CHECKS`] (the last ones) ask the site over HTTP.
const ASKING_THE_SITE: usize = 2;

/// Runs every check, printing each finding as it comes (a line already
/// printed is not printed again); returns how many failed.
pub fn run(home: &Path, out: &mut dyn Write) -> Result<usize> {
    let install = Install::gather(home);
    let mut failed = 0;
    let mut printed = std::collections::HashSet::new();
    for check in CHECKS {
        for finding in check(&install) {
            if !printed.insert(finding.to_string()) {
                continue;
            }
            failed += usize::from(finding.status == Status::Fail);
            writeln!(out, "{finding}")?;
            out.flush()?;
        }
    }
    Ok(failed)
}

/// The findings for the owner's "Check installation" page: every check
/// but those that ask the site over HTTP (the page answering is their
/// answer), as the site's own user sees the installation.
pub fn findings_for_page(home: &Path) -> Vec<Finding> {
    let mut install = Install::gather(home);
    install.from_a_page = true;
    let mut seen = std::collections::HashSet::new();
    CHECKS[..CHECKS.len() - ASKING_THE_SITE]
        .iter()
        .flat_map(|check| check(&install))
        .filter(|finding| seen.insert(finding.to_string()))
        .collect()
}

impl Status {
    /// The word `doctor` prints for it.
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
            Status::Note => "note",
        }
    }
}

/// 0. Who runs doctor: the site runs as the owner of its data directory. As
///    anyone else, doctor sees other permissions and another crontab, and
///    may not open the database: said first, with the command to run instead.
fn who_runs_doctor(install: &Install) -> Vec<Finding> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(&install.home) else {
        return Vec::new();
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() == me {
        return Vec::new();
    }
    let owner = crate::unix_user::name(meta.uid());
    let me = crate::unix_user::name(me);
    vec![Finding {
        status: Status::Note,
        text: format!(
            "doctor runs as {me}, but the data directory {} belongs to {owner}, the user the \
             site runs as: the lines below are as {me} sees the site (permissions, crontab) — \
             run it as the site's user: sudo -u {} {}",
            install.home.display(),
            hint::shell_quote(owner.as_ref()),
            hint::command(&install.home, "doctor")
        ),
    }]
}

/// 1. The data directory is outside every document root. Inside one it
///    fails even when the web server refuses it (asked through the site's
///    own URL): one change to the server's configuration (overrides turned
///    off, another server, a lost .htaccess) would publish the password hash
///    and the sessions. The probe only makes the message say how bad it is.
fn data_directory_location(install: &Install) -> Vec<Finding> {
    let home = real_path(&install.home);
    let roots = install.document_roots();
    if roots.is_empty() {
        return vec![skip(format!(
            "data directory {}: no document root to compare with (run doctor with the \
             roost.cgi the web server runs, or set publish_dir)",
            install.home.display()
        ))];
    }
    let mut findings = Vec::new();
    for root in roots {
        let Ok(inside) = home.strip_prefix(real_path(&root)) else {
            findings.push(ok(format!(
                "data directory {} is outside the document root {}",
                install.home.display(),
                root.display()
            )));
            continue;
        };
        let here = format!(
            "data directory {} is inside the document root {}",
            install.home.display(),
            root.display()
        );
        let move_out = move_out_of(&install.home, &root);
        let Some(url) = install.url() else {
            findings.push(fail(format!("{here} — {move_out}")));
            continue;
        };
        let probe = format!("{url}{}", url_path(&inside.join(store::DB_FILE)));
        findings.push(match get(install, &probe, &[]) {
            Err(error) => fail(format!(
                "{here}, and whether it is served cannot be told ({probe} did not answer: \
                 {error}) — {move_out}"
            )),
            Ok((200, body)) => {
                let what = if body.starts_with(b"SQLite format 3") {
                    "the database itself"
                } else {
                    "200"
                };
                fail(format!(
                    "{here} and served: {probe} answered with {what} — {move_out}; until \
                     then, put sample.htaccess's rules (the \"roost-data\" and \".db\" \
                     refusals) in the .htaccess next to roost.cgi"
                ))
            }
            Ok((status @ (401 | 403 | 404 | 410), _)) => fail(format!(
                "{here}; the web server refuses it now ({probe} answered {status}), but one \
                 change to its configuration would publish the database — {move_out}"
            )),
            Ok((status, _)) => fail(format!(
                "{here}: {probe} answered {status}, not a refusal — {move_out}"
            )),
        });
    }
    findings
}

/// The fix for a data directory inside `root`: a place beside the document
/// root, and the two things that name the data directory.
fn move_out_of(home: &Path, root: &Path) -> String {
    let beside = root
        .parent()
        .unwrap_or(Path::new("/"))
        .join(crate::home::DEFAULT_HOME);
    format!(
        "move it out: mv {} {}, then write \"home = {}\" in roost.conf next to roost.cgi \
         (or change ROOST_HOME), and use --home {} in the cron line",
        home.display(),
        beside.display(),
        beside.display(),
        beside.display()
    )
}

/// At most this many entries of a document root are looked at.
const MAX_DOCUMENT_ROOT_ENTRIES: usize = 10_000;

/// 1b. No file in a document root that a web server should never serve:
///     dotfiles and dot-directories (`.env`, `.git/`), backups and editor
///     files, logs, dumps, sources, as sample.htaccess refuses them. Their
///     presence fails even where that .htaccess refuses them, as for the
///     data directory: refused is one configuration change from served.
fn files_in_document_root(install: &Install) -> Vec<Finding> {
    let home = real_path(&install.home);
    let mut seen_roots = Vec::new();
    let mut findings = Vec::new();
    for root in install.document_roots() {
        let real_root = real_path(&root);
        if seen_roots.contains(&real_root) {
            continue;
        }
        seen_roots.push(real_root.clone());
        let (found, complete) = exposed_files(&real_root, &home);
        let looked = if complete {
            String::new()
        } else {
            format!(" (of its first {MAX_DOCUMENT_ROOT_ENTRIES} entries)")
        };
        if found.is_empty() {
            findings.push(ok(format!(
                "document root {}{looked}: no dotfiles, backups, logs or sources",
                root.display()
            )));
            continue;
        }
        let shown: Vec<String> = found
            .iter()
            .take(10)
            .map(|p| p.display().to_string())
            .collect();
        let more = match found.len() {
            n if n > 10 => format!(" and {} more", n - 10),
            _ => String::new(),
        };
        findings.push(fail(format!(
            "document root {}{looked} holds files a web server must not serve: {}{more} — \
             move them out of the document root or delete them (sample.htaccess refuses \
             such names, but a server that ignores .htaccess serves them)",
            root.display(),
            shown.join(", ")
        )));
    }
    findings
}

/// The exposed files under `root` (relative paths, a dot-directory as one
/// entry ending in `/`), skipping the data directory (check 1's business); and whether
/// every entry was looked at.
fn exposed_files(root: &Path, home: &Path) -> (Vec<PathBuf>, bool) {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    let mut looked = 0;
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            looked += 1;
            if looked > MAX_DOCUMENT_ROOT_ENTRIES {
                found.sort();
                return (found, false);
            }
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            // Not followed: a link out of the document root is not in it.
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if path == home || name == ".well-known" {
                continue;
            }
            if should_not_be_served(&name) {
                let mut shown = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                if is_dir {
                    // `.git/`: the directory, with everything in it.
                    shown.push("");
                }
                found.push(shown);
            } else if is_dir {
                pending.push(path);
            }
        }
    }
    found.sort();
    (found, true)
}

/// The names sample.htaccess refuses besides roost's data: dotfiles (but
/// `.well-known`, Apache's own `.ht*` files and roost's temporary files,
/// which live a moment), backups and editor files, logs, dumps, Rust sources.
fn should_not_be_served(name: &str) -> bool {
    const EXTENSIONS: [&str; 11] = [
        "bak", "backup", "old", "orig", "save", "swp", "swo", "tmp", "log", "sql", "rs",
    ];
    if let Some(rest) = name.strip_prefix('.') {
        return !(rest == "well-known" || rest.starts_with("ht") || rest.contains(".roost-"));
    }
    name.ends_with('~')
        || (name.len() > 1 && name.starts_with('#') && name.ends_with('#'))
        || matches!(
            name,
            "error_log" | "Cargo.toml" | "Cargo.lock" | "roost-setup-code.txt"
        )
        || name
            .rsplit_once('.')
            .is_some_and(|(_, ext)| EXTENSIONS.contains(&ext))
}

/// 2. Nothing too open: the data directory (0700), the database files (no
///    group or other access), the binary and its directory (suexec refuses
///    a group- or world-writable one).
fn permissions(install: &Install) -> Vec<Finding> {
    let home = &install.home;
    let Some(home_mode) = mode(home) else {
        return vec![skip(format!(
            "permissions: there is no data directory {}",
            home.display()
        ))];
    };
    let mut findings = Vec::new();
    if home_mode & 0o077 != 0 {
        findings.push(fail(format!(
            "permissions: {} is mode {home_mode:o}, open to {} — run: chmod 700 {}",
            home.display(),
            who(home_mode),
            home.display()
        )));
    }
    let open_files: Vec<PathBuf> = ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| home.join(format!("{}{suffix}", store::DB_FILE)))
        .filter(|file| mode(file).is_some_and(|m| m & 0o077 != 0))
        .collect();
    if !open_files.is_empty() {
        let names: Vec<String> = open_files.iter().map(|f| f.display().to_string()).collect();
        findings.push(fail(format!(
            "permissions: the database files are readable by others — run: chmod 600 {}",
            names.join(" ")
        )));
    }
    if let Some(exe) = &install.exe {
        for path in [Some(exe.as_path()), exe.parent()].into_iter().flatten() {
            if let Some(m) = mode(path)
                && m & 0o022 != 0
            {
                findings.push(fail(format!(
                    "permissions: {} is writable by {} (suexec refuses to run such a \
                     program, and anyone could replace it) — run: chmod 755 {}",
                    path.display(),
                    who(m & 0o022),
                    path.display()
                )));
            }
        }
    }
    if findings.is_empty() {
        findings.push(ok(format!(
            "permissions: {} is private, the database files too, and {} is writable by \
             its owner only",
            home.display(),
            install.exe_display()
        )));
    }
    findings
}

/// 3. The database opens, passes `PRAGMA integrity_check`, and has the schema
///    this roost writes.
fn database(install: &Install) -> Vec<Finding> {
    let conn = match &install.db {
        Ok(conn) => conn,
        Err(_) if !store::db_path(&install.home).exists() => {
            return vec![fail(format!(
                "database: there is no {} in {} — run: {}",
                store::DB_FILE,
                install.home.display(),
                hint::command(&install.home, "init --url URL --name NAME")
            ))];
        }
        Err(error) => {
            return vec![fail(format!(
                "database: cannot open it: {error} — check that {} and its files belong to \
                 the user the site runs as",
                install.home.display()
            ))];
        }
    };
    let restore = "restore the latest copy made with `roost backup FILE` \
                   (copy it to roost.db with the site stopped), or try `sqlite3 roost.db .recover`";
    let integrity = match store::integrity_problems(conn) {
        Ok(problems) if problems.is_empty() => ok("database integrity (PRAGMA integrity_check)"),
        Ok(problems) => fail(format!(
            "database integrity: {} — {restore}",
            problems.join("; ")
        )),
        Err(error) => fail(format!("database integrity: {error:#} — {restore}")),
    };
    let latest = store::migrations::latest_version();
    let version = match store::schema_version(conn) {
        Ok(v) if v == latest => ok(format!("database schema version {v} (current)")),
        Ok(v) if v > latest => fail(format!(
            "database schema version {v} is newer than this roost knows ({latest}): a newer \
             roost wrote it — install that newer binary as {}",
            install.exe_display()
        )),
        Ok(v) => fail(format!(
            "database schema version {v} is older than this roost's ({latest}) — run: \
             {} --home {} config (any command upgrades it)",
            install.exe_display(),
            install.home.display()
        )),
        Err(error) => fail(format!("database schema version: {error:#} — {restore}")),
    };
    vec![integrity, version]
}

/// 3b. The file system that holds the data has room to write: at least
///     [`MIN_FREE_BYTES`], and at least the database's size (a backup, or
///     SQLite rewriting it, needs that much again). What a host's quota
///     allows may be less than the disk's free space, which is all this sees.
fn free_space(install: &Install) -> Vec<Finding> {
    let Some(available) = available_bytes(&install.home) else {
        return vec![skip(format!(
            "free space: cannot tell for {}",
            install.home.display()
        ))];
    };
    let database: u64 = [store::DB_FILE, "roost.db-wal"]
        .iter()
        .filter_map(|name| std::fs::metadata(install.home.join(name)).ok())
        .map(|m| m.len())
        .sum();
    vec![free_space_finding(available, database, &install.home)]
}

fn free_space_finding(available: u64, database: u64, home: &Path) -> Finding {
    let needed = MIN_FREE_BYTES.max(database);
    if available >= needed {
        ok(format!("free space: {} where the data is", size(available)))
    } else {
        fail(format!(
            "free space: only {} left where the data is ({}); roost needs at least {} to              keep writing posts and polls — free some space, or ask the host for more",
            size(available),
            home.display(),
            size(needed)
        ))
    }
}

/// Bytes an unprivileged user may still write on the file system of `path`.
fn available_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: c_path is a NUL-terminated path and stat is written by statvfs
    // before it is read, only when it returns 0.
    if unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) } != 0 {
        return None;
    }
    let stat = unsafe { stat.assume_init() };
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// A byte count as people read it: "812 KiB", "3.4 GiB". Rounded down, so
/// that a little less than the minimum never reads as the minimum.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else if value < 10.0 {
        format!("{:.1} {}", (value * 10.0).floor() / 10.0, UNITS[unit])
    } else {
        format!("{:.0} {}", value.floor(), UNITS[unit])
    }
}

/// 3c. The `time_zone` setting is one this host can read: a zone name
///     chosen on another host may be missing here (no tzdata, another
///     layout). Pages then show UTC without a word, so this is where it is said.
fn time_zone(install: &Install) -> Vec<Finding> {
    if install.db.is_err() {
        return vec![skip("time zone: no settings to read it from (see above)")];
    }
    let stored = install.settings.raw("time_zone");
    match crate::zone::Zone::parse(stored) {
        Ok(zone) => vec![ok(format!(
            "time zone: {} (now {})",
            zone.name(),
            zone.label_at(install.now)
        ))],
        Err(error) => vec![fail(format!(
            "time zone: {error}; until then pages show times in UTC. To choose another: {}",
            hint::command(&install.home, "config time_zone ZONE")
        ))],
    }
}

/// 4a. The crontab has a `poll` line for this data directory. Without a
///     `crontab` command, the last poll's age (4b) is what tells.
fn cron_line(install: &Install) -> Vec<Finding> {
    let mut findings = cron_line_in_crontab(install);
    if install.settings.cron_on_page_views() {
        findings.insert(
            0,
            Finding {
                status: Status::Note,
                text: format!(
                    "cron: degraded mode (cron_on_page_views = true): background work runs only \
                     when the owner views pages, at most every 5 minutes — where the host has \
                     cron, add `{}` and run: {}",
                    install.cron_line(),
                    hint::command(&install.home, "config cron_on_page_views false")
                ),
            },
        );
    }
    findings
}

fn cron_line_in_crontab(install: &Install) -> Vec<Finding> {
    let output = match std::process::Command::new("crontab")
        .arg("-l")
        .stdin(std::process::Stdio::null())
        .output()
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return vec![skip(
                "cron line: there is no crontab command here (the host may set cron up in its \
                 control panel); the last poll's age tells whether polls run",
            )];
        }
        Err(e) => return vec![skip(format!("cron line: cannot run `crontab -l`: {e}"))],
    };
    // "no crontab for USER" exits non-zero: an empty table.
    let table = if output.status.success() {
        String::from_utf8_lossy(&output.stdout).into_owned()
    } else {
        String::new()
    };
    let home = install.home.display().to_string();
    let exe = install.exe.as_ref().map(|p| p.display().to_string());
    let ours = |word: &str| {
        table.lines().map(str::trim).any(|line| {
            !line.starts_with('#')
                && line.split_whitespace().any(|w| w == word)
                && (line.contains(&home)
                    || exe
                        .as_deref()
                        .is_some_and(|exe| line.contains(exe) && !line.contains("--home")))
        })
    };
    if ours("cron") {
        vec![ok(format!(
            "cron line: the crontab runs `roost cron` for {home}"
        ))]
    } else if ours("poll") {
        vec![fail(format!(
            "cron line: the crontab runs only `poll` for {home}, so queued work (WebSub \
             subscriptions and deliveries) never runs — replace that line with: {}",
            install.cron_line()
        ))]
    } else {
        vec![fail(format!(
            "cron line: the crontab has no `cron` line for {home} — add it with `crontab -e`: {}",
            install.cron_line()
        ))]
    }
}

/// 4c. Background jobs: none given up (dead letters), none long overdue
///     (which would mean cron does not drain them).
fn background_jobs(install: &Install) -> Vec<Finding> {
    let Ok(conn) = &install.db else {
        return vec![skip(
            "background jobs: no database to read them from (see above)",
        )];
    };
    let has_jobs: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'jobs'",
            [],
            |r| r.get(0),
        )
        .unwrap_or(false);
    if !has_jobs {
        return vec![skip(
            "background jobs: the database predates them (any roost command upgrades it)",
        )];
    }
    let overdue_by = install.now - 60 * 60;
    let (queued, overdue) = match crate::store::jobs::queued(conn, overdue_by) {
        Ok(counts) => counts,
        Err(error) => return vec![fail(format!("background jobs: {error:#}"))],
    };
    let dead = match crate::store::jobs::dead(conn, 5) {
        Ok(dead) => dead,
        Err(error) => return vec![fail(format!("background jobs: {error:#}"))],
    };
    let mut findings = Vec::new();
    if overdue > 0 {
        findings.push(fail(format!(
            "background jobs: {overdue} of {queued} queued jobs are over an hour late — is `roost cron` in the crontab? ({})",
            install.cron_line()
        )));
    } else {
        findings.push(ok(format!("background jobs: {queued} queued, none late")));
    }
    for job in &dead {
        findings.push(fail(format!(
            "background jobs: gave up {} {} after {} tries: {} — nothing to do if that peer is gone; \
             `roost cron` retries new work by itself",
            job.kind, job.key, job.attempts, job.last_error
        )));
    }
    findings
}

/// 4d. The ActivityPub inbox: activities taken, and those dropped
///     (unsigned, badly signed, stale, replayed), by reason. Never a
///     failure: strangers' bad requests are not the owner's problem.
fn activitypub_inbox(install: &Install) -> Vec<Finding> {
    let Ok(conn) = &install.db else {
        return vec![skip(
            "activitypub inbox: no database to read it from (see above)",
        )];
    };
    let Ok(counters) = store::activitypub::counters(conn) else {
        return vec![skip(
            "activitypub inbox: the database predates it (any roost command upgrades it)",
        )];
    };
    let taken = counters
        .iter()
        .find(|(name, _)| name == "taken")
        .map_or(0, |(_, n)| *n);
    let dropped: Vec<String> = counters
        .iter()
        .filter(|(name, _)| name != "taken")
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    let dropped = match dropped.is_empty() {
        true => "none dropped".to_string(),
        false => format!("dropped: {}", dropped.join(", ")),
    };
    vec![ok(format!("activitypub inbox: {taken} taken, {dropped}"))]
}

/// 4b. On a node that follows feeds, a poll finished within the last hour.
fn last_poll(install: &Install) -> Vec<Finding> {
    let Ok(conn) = &install.db else {
        return vec![skip("last poll: no database to read it from (see above)")];
    };
    let follows = match store::follows::count(conn) {
        Ok(n) => n,
        Err(error) => return vec![fail(format!("last poll: {error:#}"))],
    };
    let finished = match store::lease::last_finished(conn) {
        Ok(t) => t,
        Err(error) => return vec![fail(format!("last poll: {error:#}"))],
    };
    let age = finished.map(|t| install.now - t);
    let fix = format!(
        "make sure cron runs `{}` (crontab -e), and run that command once by hand to see \
         any error",
        install.cron_line()
    );
    match age {
        _ if follows == 0 => vec![ok("last poll: this node follows no feeds yet")],
        Some(age) if age <= MAX_POLL_AGE_SECONDS => vec![ok(format!(
            "last poll finished {} ago",
            crate::cli::duration(age)
        ))],
        Some(age) => vec![fail(format!(
            "last poll finished {} ago, though this node follows {follows} feeds — {fix}",
            crate::cli::duration(age)
        ))],
        None => vec![fail(format!(
            "last poll: no poll has ever finished, though this node follows {follows} feeds — {fix}"
        ))],
    }
}

fn published(install: &Install) -> Vec<Finding> {
    let Ok(conn) = &install.db else {
        return vec![skip(
            "published files: no database to compare with (see above)",
        )];
    };
    vec![check_published(conn, &install.home)]
}

/// 5. Whether the statically published files are current: the last
///    publishing went well, and each file holds what roost would publish now.
pub fn check_published(conn: &Connection, home: &Path) -> Finding {
    let dir = match publish::configured_dir(conn) {
        Err(error) => return fail(format!("published files: {error:#}")),
        Ok(None) => return ok("published files: publishing is off (roost answers every request)"),
        Ok(Some(dir)) => dir,
    };
    let republish = hint::command(
        home,
        &format!("config publish_dir {}", hint::shell_quote(dir.as_os_str())),
    );
    match store::publish_error(conn) {
        Err(error) => return fail(format!("published files: {error:#}")),
        Ok(error) if !error.is_empty() => {
            return fail(format!(
                "published files: the last publishing failed: {error} — fix that, then run: {republish}"
            ));
        }
        Ok(_) => {}
    }
    // Rendering needs a connection of its own (it may prepare statements).
    let stale = store::open_to_check(home).and_then(|mut own| publish::stale(&mut own));
    match stale {
        Err(error) => fail(format!("published files: cannot compare: {error:#}")),
        Ok(stale) if stale.is_empty() => {
            ok(format!("published files in {} are current", dir.display()))
        }
        Ok(stale) => fail(format!(
            "published files are stale or missing: {} — run: {republish}",
            stale
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// 6. The `Authorization` header reaches roost (Apache withholds it from CGI
///    and FastCGI programs unless told otherwise).
fn authorization_reaches_roost(install: &Install) -> Vec<Finding> {
    let Some(url) = install.url() else {
        return vec![skip("Authorization header: no url setting to ask through")];
    };
    let probe = format!("{url}.well-known/roost/authorization");
    let finding = match get(install, &probe, &[("Authorization", PROBE_AUTHORIZATION)]) {
        Err(error) => skip(format!(
            "Authorization header: cannot tell, {probe} did not answer ({error})"
        )),
        Ok((200, body)) if body.starts_with(b"authorization: present") => {
            ok("Authorization header reaches roost")
        }
        Ok((200, body)) if body.starts_with(b"authorization: absent") => fail(
            "Authorization header: the web server does not pass it to roost — add \
             `CGIPassAuth On` (Apache 2.4.13 and later) to the .htaccess next to roost.cgi, \
             or sample.htaccess's line `SetEnvIf Authorization \"(.+)\" HTTP_AUTHORIZATION=$1`",
        ),
        Ok((status, _)) => fail(format!(
            "Authorization header: {probe} answered {status}, not roost's answer — check that \
             the url setting is this roost's address and that the .htaccess sends every path \
             to roost.cgi (sample.htaccess)"
        )),
    };
    vec![finding]
}

/// 7. The site's address answers 200 with this roost's front page.
fn site_answers(install: &Install) -> Vec<Finding> {
    let Some(url) = install.url() else {
        return vec![fail(format!(
            "site: there is no url setting — run: {}",
            hint::command(&install.home, "config url https://example.org/")
        ))];
    };
    let finding = match get(install, &url, &[]) {
        Err(error) => fail(format!(
            "site: {url} does not answer ({error}) — check the url setting \
             (`{}`) and that the web server serves it",
            hint::command(&install.home, "config url URL")
        )),
        Ok((200, _)) => answered_by_this_node(install, &url),
        Ok((status, _)) => fail(format!(
            "site: {url} answered {status} — the web server's error log says why"
        )),
    };
    vec![finding]
}

/// Whether the roost answering at `url` is this one: it must answer a fresh
/// random challenge with the proof only this database's secret gives (an
/// owner's name proves nothing: another roost may show the same one).
fn answered_by_this_node(install: &Install, url: &str) -> Finding {
    let secret = install
        .db
        .as_ref()
        .ok()
        .and_then(|conn| store::node_secret(conn).ok().flatten());
    let (Some(secret), Ok(challenge)) = (secret, auth::random_token()) else {
        return skip(format!(
            "site: {url} answers; whether it is this roost cannot be told from a database \
             without a node secret (the next roost command upgrades it)"
        ));
    };
    let probe = format!("{url}.well-known/roost/node?challenge={challenge}");
    let expected = format!("roost-node: {}", auth::node_proof(&secret, &challenge));
    let other = "check the url setting, and that the roost.cgi, roost.conf or ROOST_HOME \
                 serving that address use this data directory";
    match get(install, &probe, &[]) {
        Ok((200, body)) if String::from_utf8_lossy(&body).trim_end() == expected => {
            ok(format!("site: {url} answers with this roost's page"))
        }
        Ok((200, _)) => fail(format!(
            "site: {url} answers, but as another roost (it does not know this node's \
             secret) — {other}"
        )),
        Ok((status, _)) => fail(format!(
            "site: {url} answers, but not as this roost ({probe} answered {status}) — {other}"
        )),
        Err(error) => fail(format!(
            "site: {url} answers, but {probe} does not ({error}) — {other}"
        )),
    }
}

/// GET through the own-site client: (status, body).
fn get(
    install: &Install,
    url: &str,
    headers: &[(&str, &str)],
) -> std::result::Result<(u16, Vec<u8>), String> {
    if install.from_a_page {
        return Err("not asked from a web page (`roost doctor` asks)".into());
    }
    let agent = net::own_site_agent(&install.url().unwrap_or_default());
    let mut request = agent.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = request.call().map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = net::read_body_capped(&mut response).map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// The path with symlinks resolved, or as given when it does not exist.
fn real_path(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn mode(path: &Path) -> Option<u32> {
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

/// Who the open bits of `mode` let in: "group", "others" or both.
fn who(mode: u32) -> &'static str {
    match (mode & 0o070 != 0, mode & 0o007 != 0) {
        (true, true) => "group and others",
        (true, false) => "group",
        _ => "others",
    }
}

/// A relative path as a URL path: each segment percent-encoded.
fn url_path(path: &Path) -> String {
    let segments: Vec<String> = path
        .components()
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        })
        .collect();
    segments.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_print_as_aligned_lines() {
        assert_eq!(ok("a").to_string(), "ok    a");
        assert_eq!(fail("b").to_string(), "FAIL  b");
        assert_eq!(skip("c").to_string(), "skip  c");
    }

    #[test]
    fn free_space_needs_the_minimum_and_the_database_size() {
        let home = Path::new("/data");
        let mib = 1024 * 1024;
        assert_eq!(
            free_space_finding(MIN_FREE_BYTES, 0, home).status,
            Status::Ok
        );
        let low = free_space_finding(MIN_FREE_BYTES - 1, 0, home);
        assert_eq!(low.status, Status::Fail);
        assert!(
            low.text.contains("only 63 MiB left") && low.text.contains("/data"),
            "{}",
            low.text
        );
        let big_db = free_space_finding(200 * mib, 300 * mib, home);
        assert_eq!(big_db.status, Status::Fail, "{}", big_db.text);
        assert!(big_db.text.contains("at least 300 MiB"), "{}", big_db.text);
        assert_eq!(size(812), "812 bytes");
        assert_eq!(size(3 * mib + mib / 2), "3.5 MiB");
        assert_eq!(size(10 * mib - 1), "9.9 MiB");
        assert_eq!(size(40 * 1024 * mib), "40 GiB");
    }

    #[test]
    fn names_sample_htaccess_refuses_are_the_ones_reported() {
        for name in [
            ".env",
            ".git",
            "x.bak",
            "x~",
            "x.php.swp",
            "#x#",
            "error.log",
            "error_log",
            "Cargo.toml",
            "main.rs",
            "dump.sql",
        ] {
            assert!(should_not_be_served(name), "{name}");
        }
        for name in [
            ".well-known",
            ".htaccess",
            ".feed.atom.roost-42",
            "roost.cgi",
            "feed.atom",
            "roost-home.html",
            "#",
            "notes.txt",
            "Cargo.txt",
        ] {
            assert!(!should_not_be_served(name), "{name}");
        }
    }

    #[test]
    fn relative_paths_become_url_paths() {
        assert_eq!(
            url_path(Path::new("my data/roost.db")),
            "my%20data/roost.db"
        );
        assert_eq!(who(0o755), "group and others");
        assert_eq!(who(0o707), "others");
        assert_eq!(who(0o770), "group");
    }
}
