//! `roost doctor` against a real installation: the private Apache, a site's
//! own roost.cgi run as the CGI user. A healthy site passes every check; each
//! misconfiguration planted on purpose fails exactly its own check, with the
//! fix, and makes the exit status non-zero.
//!
//! The cron check runs `crontab -l`: every run gets a PATH holding only a
//! fake `crontab` (or nothing), so the real user's crontab is never read.

mod common;

use common::apache::{Kind, SAMPLE_HTACCESS, Site, apache};
use common::{TempDir, chown_to_cgi_user, expect_success, run_cli, set_mode, unique};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// What one `roost doctor` run printed.
struct Report {
    out: Output,
    lines: Vec<String>,
}

impl Report {
    fn failures(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|l| l.starts_with("FAIL"))
            .map(String::as_str)
            .collect()
    }

    fn describe(&self) -> String {
        format!(
            "exit {}\n{}\nstderr: {}",
            self.out.status,
            self.lines.join("\n"),
            String::from_utf8_lossy(&self.out.stderr)
        )
    }

    /// Exactly one check failed, the one whose line contains every `needle`,
    /// and the exit status says so.
    fn only_failure(&self, needles: &[&str]) -> &str {
        assert!(!self.out.status.success(), "{}", self.describe());
        let failures = self.failures();
        assert_eq!(failures.len(), 1, "{}", self.describe());
        for needle in needles {
            assert!(
                failures[0].contains(needle),
                "{needle:?} missing\n{}",
                self.describe()
            );
        }
        failures[0]
    }

    fn all_ok(&self) {
        assert!(self.out.status.success(), "{}", self.describe());
        assert!(
            self.lines.iter().all(|l| l.starts_with("ok    ")),
            "{}",
            self.describe()
        );
    }

    fn line(&self, needle: &str) -> &str {
        self.lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?}\n{}", self.describe()))
    }
}

/// `BIN --home HOME doctor` as the CGI user, with only `path` on PATH.
fn doctor(bin: &Path, home: &Path, path: &Path) -> Report {
    let mut cmd = Command::new(bin);
    common::run_as_cgi_user(&mut cmd);
    cmd.env_clear()
        .env("PATH", path)
        .arg("--home")
        .arg(home)
        .arg("doctor");
    let out = common::run_with_stdin(&mut cmd, None);
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    Report { out, lines }
}

/// A directory whose `crontab` prints `table` for `crontab -l`.
fn fake_crontab(table: &str) -> TempDir {
    let dir = TempDir::new("roost-fake-cron");
    let table_file = dir.join("table");
    std::fs::write(&table_file, table).unwrap();
    set_mode(&table_file, 0o644);
    let script = dir.join("crontab");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$1\" = -l ] || exit 1\nexec /bin/cat '{}'\n",
            table_file.display()
        ),
    )
    .unwrap();
    set_mode(&script, 0o755);
    // Run once, so that roost's own `crontab -l` cannot meet a busy file.
    common::wait_until_runnable(&script, "-l");
    dir
}

/// A crontab that runs `roost cron` for `home` with `bin`, among other lines.
fn cron_for(bin: &Path, home: &Path) -> TempDir {
    fake_crontab(&format!(
        "MAILTO=\"\"\n0 3 * * * /usr/bin/true\n*/5 * * * * {} --home {} cron --quiet\n",
        bin.display(),
        home.display()
    ))
}

/// The site every check passes on (shared: tests only read it).
fn healthy() -> &'static Site {
    static SITE: OnceLock<Site> = OnceLock::new();
    SITE.get_or_init(|| apache().roost_site(&unique("doctor-ok"), Kind::Cgi))
}

fn bin_of(site: &Site) -> &Path {
    site.binary.as_deref().expect("a roost site")
}

/// A copy of `site`'s data directory (a `roost backup`) in a private 0700
/// directory of the CGI user: misconfigure it without touching the site. Its
/// `url` still names the site, which answers from its own database.
fn copy_home(site: &Site) -> (TempDir, PathBuf) {
    let (dir, home) = empty_home();
    let db = home.join("roost.db");
    expect_success("backup", &site.cli(&["backup", db.to_str().unwrap()], None));
    (dir, home)
}

/// An empty data directory (0700, the CGI user's) in a temporary directory.
fn empty_home() -> (TempDir, PathBuf) {
    let dir = TempDir::new("roost-doctor-home");
    let home = dir.join("data");
    std::fs::create_dir(&home).unwrap();
    chown_to_cgi_user(&home);
    set_mode(&home, 0o700);
    (dir, home)
}

#[test]
fn a_healthy_site_passes_every_check() {
    let site = healthy();
    let cron = cron_for(bin_of(site), &site.home);
    let report = doctor(bin_of(site), &site.home, cron.path());
    report.all_ok();
    for needle in [
        "is outside the document root",
        "no dotfiles, backups, logs or sources",
        "permissions:",
        "database integrity",
        "database schema version",
        "free space:",
        "time zone: UTC",
        "cron line",
        "last poll",
        "published files",
        "Authorization header reaches roost",
        "answers with this roost's page",
    ] {
        report.line(needle);
    }
}

#[test]
fn the_authorization_probe_says_only_whether_the_header_came() {
    let site = healthy();
    let with = site.get(
        "/.well-known/roost/authorization",
        &[("Authorization", "Bearer s3cret-value")],
    );
    assert_eq!(with.status, 200);
    assert_eq!(with.text(), "authorization: present\n");
    assert_eq!(with.header("Cache-Control"), Some("no-store"));
    assert!(with.mime().is_some_and(|m| m == "text/plain"));
    let without = site.get("/.well-known/roost/authorization", &[]);
    assert_eq!(without.text(), "authorization: absent\n");
}

/// sample.htaccess without the lines that hand Authorization to CGI.
fn without_authorization_lines(htaccess: &str) -> String {
    htaccess
        .lines()
        .filter(|l| {
            !l.contains("CGIPassAuth")
                && !l.contains("SetEnvIf Authorization")
                && !l.contains("E=HTTP_AUTHORIZATION")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// sample.htaccess without its refusals of the data (the `<FilesMatch>`
/// block and the `[F]` rewrite rules).
fn without_data_refusals(htaccess: &str) -> String {
    let mut out = Vec::new();
    let mut in_files_match = false;
    for line in htaccess.lines() {
        if line.starts_with("<FilesMatch") {
            in_files_match = true;
        } else if in_files_match {
            in_files_match = !line.starts_with("</FilesMatch>");
        } else if !line.contains("- [F]") {
            out.push(line);
        }
    }
    out.join("\n")
}

fn with_home(htaccess: &str, home: &Path) -> String {
    format!("{htaccess}\nSetEnv ROOST_HOME \"{}\"\n", home.display())
}

#[test]
fn authorization_withheld_by_the_server_fails_with_the_htaccess_fix() {
    let site = apache().roost_site(&unique("doctor-noauth"), Kind::Cgi);
    let htaccess = without_authorization_lines(SAMPLE_HTACCESS);
    assert!(!htaccess.contains("CGIPassAuth") && htaccess.contains("RewriteRule"));
    site.write_file(".htaccess", with_home(&htaccess, &site.home).as_bytes());
    let cron = cron_for(bin_of(&site), &site.home);
    let report = doctor(bin_of(&site), &site.home, cron.path());
    report.only_failure(&["Authorization", "CGIPassAuth On", "SetEnvIf Authorization"]);
}

/// A site whose data directory is `roost-data` inside its own directory,
/// with `htaccess` (plus the ROOST_HOME line).
fn site_with_data_inside(label: &str, htaccess: &str) -> (Site, PathBuf) {
    let site = apache().roost_site(&unique(label), Kind::Cgi);
    let inside = site.dir.join("roost-data");
    std::fs::create_dir(&inside).unwrap();
    chown_to_cgi_user(&inside);
    set_mode(&inside, 0o700);
    let db = inside.join("roost.db");
    expect_success("backup", &site.cli(&["backup", db.to_str().unwrap()], None));
    site.write_file(".htaccess", with_home(htaccess, &inside).as_bytes());
    (site, inside)
}

#[test]
fn a_served_data_directory_in_the_document_root_fails() {
    let (site, inside) =
        site_with_data_inside("doctor-served", &without_data_refusals(SAMPLE_HTACCESS));
    let leaked = site.get("/roost-data/roost.db", &[]);
    assert_eq!(
        leaked.status, 200,
        "the planted mistake serves the database"
    );
    assert!(leaked.body.starts_with(b"SQLite format 3"));
    let cron = cron_for(bin_of(&site), &inside);
    let report = doctor(bin_of(&site), &inside, cron.path());
    report.only_failure(&[
        "inside the document root",
        "/roost-data/roost.db answered with the database itself",
        "move it out",
    ]);
}

/// doctor said "ok" for a data directory inside the document root as long
/// as the web server refused it: one misconfigured host away from a leak.
#[test]
fn a_refused_data_directory_in_the_document_root_still_fails_with_the_move() {
    let (site, inside) = site_with_data_inside("doctor-refused", SAMPLE_HTACCESS);
    assert_eq!(site.get("/roost-data/roost.db", &[]).status, 403);
    let cron = cron_for(bin_of(&site), &inside);
    let report = doctor(bin_of(&site), &inside, cron.path());
    let beside = site.dir.parent().unwrap().join("roost-data");
    report.only_failure(&[
        "inside the document root",
        "refuses it now",
        &format!("mv {} {}", inside.display(), beside.display()),
        &format!("\"home = {}\" in roost.conf", beside.display()),
    ]);
}

/// Files a shared host keeps in the document root (`.env`, `.git/`, an
/// editor's backup, a log, the Cargo sources) went unmentioned.
#[test]
fn files_that_must_not_be_served_in_the_document_root_fail() {
    let site = apache().roost_site(&unique("doctor-files"), Kind::Cgi);
    for file in [
        ".env",
        ".git/config",
        "x.bak",
        "notes/x.php.swp",
        "error.log",
        "Cargo.toml",
    ] {
        site.write_file(file, b"secret\n");
    }
    site.write_file(".well-known/acme-challenge/t", b"t\n");
    let cron = cron_for(bin_of(&site), &site.home);
    let report = doctor(bin_of(&site), &site.home, cron.path());
    let line = report.only_failure(&[
        "holds files a web server must not serve",
        ".env, .git/, Cargo.toml, error.log, notes/x.php.swp, x.bak",
        "move them out",
    ]);
    assert!(!line.contains(".well-known"), "{line}");
}

/// A small tmpfs mounted on a new directory, unmounted when dropped.
struct SmallDisk {
    _dir: TempDir,
    mount_point: PathBuf,
}

impl SmallDisk {
    fn new(megabytes: u32) -> SmallDisk {
        let dir = TempDir::new("roost-doctor-disk");
        let mount_point = dir.join("data");
        std::fs::create_dir(&mount_point).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={megabytes}m,mode=0700"))
            .arg("tmpfs")
            .arg(&mount_point)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mounting a tmpfs (the tests run as root) failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        chown_to_cgi_user(&mount_point);
        SmallDisk {
            _dir: dir,
            mount_point,
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.mount_point)
            .status();
    }
}

#[test]
fn a_nearly_full_disk_fails_with_how_much_is_left() {
    let disk = SmallDisk::new(8);
    let home = &disk.mount_point;
    let db = home.join("roost.db");
    expect_success(
        "backup",
        &healthy().cli(&["backup", db.to_str().unwrap()], None),
    );
    chown_to_cgi_user(&db);
    let cron = cron_for(bin_of(healthy()), home);
    let report = doctor(bin_of(healthy()), home, cron.path());
    report.only_failure(&[
        "free space: only",
        "MiB left",
        &home.display().to_string(),
        "at least 64 MiB",
        "free some space",
    ]);
}

#[test]
fn an_open_data_directory_fails_with_chmod_700() {
    for mode in [0o755, 0o777] {
        let (_dir, home) = copy_home(healthy());
        set_mode(&home, mode);
        let cron = cron_for(bin_of(healthy()), &home);
        let report = doctor(bin_of(healthy()), &home, cron.path());
        report.only_failure(&["permissions", &format!("chmod 700 {}", home.display())]);
    }
}

#[test]
fn a_database_readable_by_others_fails_with_chmod_600() {
    let (_dir, home) = copy_home(healthy());
    set_mode(&home.join("roost.db"), 0o644);
    let cron = cron_for(bin_of(healthy()), &home);
    let report = doctor(bin_of(healthy()), &home, cron.path());
    report.only_failure(&["database files are readable by others", "chmod 600"]);
}

/// A program just written may be "busy" for a moment: a process forked by
/// another test thread holds it open for writing until that process execs.
#[test]
fn a_world_writable_binary_or_directory_fails_with_chmod_755() {
    let (_dir, home) = copy_home(healthy());
    let cron = cron_for(bin_of(healthy()), &home);
    let place = TempDir::new("roost-doctor-bin");
    let bin = place.join("roost.cgi");
    std::fs::copy(bin_of(healthy()), &bin).unwrap();
    common::wait_until_runnable(&bin, "--version");
    set_mode(&bin, 0o777);
    let report = doctor(&bin, &home, cron.path());
    report.only_failure(&["suexec", &format!("chmod 755 {}", bin.display())]);
    set_mode(&bin, 0o755);
    set_mode(place.path(), 0o777);
    let report = doctor(&bin, &home, cron.path());
    report.only_failure(&["suexec", &format!("chmod 755 {}", place.path().display())]);
    set_mode(place.path(), 0o755);
    doctor(&bin, &home, cron.path()).all_ok();
}

#[test]
fn a_corrupted_database_fails_the_integrity_check() {
    let site = healthy();
    let (_dir, filled) = copy_home(site);
    // Posts long enough to fill pages of their own, then a copy without a
    // WAL beside it, whose last page (a post's) is overwritten.
    for n in 0..3 {
        let text = format!("{n} {}", "words ".repeat(600));
        expect_success(
            "post",
            &run_cli(bin_of(site), &filled, &["post", &text], None),
        );
    }
    let (_corrupt, home_dir) = empty_home();
    let db = home_dir.join("roost.db");
    expect_success(
        "backup",
        &run_cli(
            bin_of(site),
            &filled,
            &["backup", db.to_str().unwrap()],
            None,
        ),
    );
    let mut bytes = std::fs::read(&db).unwrap();
    let page = 4096;
    assert!(bytes.len() >= 4 * page, "{} bytes", bytes.len());
    let last = bytes.len() - page;
    bytes[last..].fill(0xAB);
    std::fs::write(&db, &bytes).unwrap();
    let cron = cron_for(bin_of(site), &home_dir);
    let report = doctor(bin_of(site), &home_dir, cron.path());
    report.only_failure(&["database integrity", "roost backup"]);
}

#[test]
fn a_database_from_a_newer_roost_fails_the_schema_check() {
    let (_dir, home) = copy_home(healthy());
    // PRAGMA user_version lives in the file header at offset 60, big-endian.
    let db = home.join("roost.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let current = u32::from_be_bytes(bytes[60..64].try_into().unwrap());
    assert!(current >= 3, "version {current}");
    bytes[60..64].copy_from_slice(&(current + 1).to_be_bytes());
    std::fs::write(&db, &bytes).unwrap();
    let cron = cron_for(bin_of(healthy()), &home);
    let report = doctor(bin_of(healthy()), &home, cron.path());
    report.only_failure(&[
        &format!("schema version {}", current + 1),
        "newer than this roost knows",
    ]);
}

#[test]
fn a_missing_database_fails_with_the_init_command() {
    let (_dir, home) = empty_home();
    let cron = cron_for(bin_of(healthy()), &home);
    let report = doctor(bin_of(healthy()), &home, cron.path());
    assert!(!report.out.status.success());
    let failures = report.failures().join("\n");
    assert!(
        failures.contains("init --url URL --name NAME"),
        "{}",
        report.describe()
    );
}

#[test]
fn a_crontab_without_a_cron_line_fails_with_the_line_to_add() {
    let site = healthy();
    let cron = fake_crontab(&format!(
        "0 3 * * * /usr/bin/true\n# */5 * * * * {} --home {} cron --quiet\n",
        bin_of(site).display(),
        site.home.display()
    ));
    let report = doctor(bin_of(site), &site.home, cron.path());
    report.only_failure(&[
        "no `cron` line",
        "crontab -e",
        &format!(
            "*/5 * * * * {} --home {} cron --quiet",
            bin_of(site).display(),
            site.home.display()
        ),
    ]);
}

/// The line older installs wrote polls only: queued work would never run.
#[test]
fn a_crontab_that_only_polls_fails_with_the_line_to_put_instead() {
    let site = healthy();
    let cron = fake_crontab(&format!(
        "*/5 * * * * {} --home {} poll --quiet\n",
        bin_of(site).display(),
        site.home.display()
    ));
    let report = doctor(bin_of(site), &site.home, cron.path());
    report.only_failure(&[
        "runs only `poll`",
        "replace that line with",
        &format!(
            "*/5 * * * * {} --home {} cron --quiet",
            bin_of(site).display(),
            site.home.display()
        ),
    ]);
}

/// Issue 11: a zone name chosen on a host that has it, then the data moved
/// to one without it: pages fall back to UTC, and doctor says so once.
#[test]
fn a_zone_name_this_host_lacks_fails_with_the_fix() {
    let site = healthy();
    let (_dir, home) = copy_home(site);
    set_in_database(
        &home,
        "INSERT OR REPLACE INTO settings (key, value) VALUES ('time_zone', 'Mars/Olympus')",
    );
    let cron = cron_for(bin_of(site), &home);
    let report = doctor(bin_of(site), &home, cron.path());
    report.only_failure(&[
        "time zone: the time zone Mars/Olympus is not in this host's zone database",
        "apt install tzdata",
        "+01:00",
        "pages show times in UTC",
        "config time_zone ZONE",
    ]);
    // A name the host has is reported with its offset now.
    set_in_database(
        &home,
        "UPDATE settings SET value = 'Asia/Tokyo' WHERE key = 'time_zone'",
    );
    let report = doctor(bin_of(site), &home, cron.path());
    assert_eq!(
        report.line("time zone:"),
        "ok    time zone: Asia/Tokyo (now +09:00)"
    );
}

fn set_in_database(home: &Path, sql: &str) {
    // As root, on files that exist already: nothing is created that the
    // CGI user could not use afterwards.
    let conn = rusqlite::Connection::open(home.join("roost.db")).unwrap();
    conn.execute_batch(sql).unwrap();
}

#[test]
fn no_crontab_and_an_old_last_poll_fails_the_poll_check() {
    let site = healthy();
    let (_dir, home) = copy_home(site);
    let bin = bin_of(site);
    expect_success(
        "config",
        &run_cli(
            bin,
            &home,
            &["config", "allow_private_addresses", "true"],
            None,
        ),
    );
    expect_success(
        "follow",
        &run_cli(bin, &home, &["follow", &site.url("/feed.atom")], None),
    );
    expect_success("poll", &run_cli(bin, &home, &["poll", "--force"], None));
    let nothing = TempDir::new("roost-doctor-nopath");
    // Polled just now: fine, even without a crontab to look at.
    let report = doctor(bin, &home, nothing.path());
    assert!(report.out.status.success(), "{}", report.describe());
    assert!(report.line("cron line").starts_with("skip"));
    assert!(
        report
            .line("there is no crontab command")
            .starts_with("skip")
    );
    // Two hours later, nothing polled since.
    let two_hours_ago = chrono::Utc::now().timestamp() - 7200;
    set_in_database(
        &home,
        &format!("UPDATE poll_lease SET last_finished = {two_hours_ago}"),
    );
    let report = doctor(bin, &home, nothing.path());
    report.only_failure(&[
        "last poll finished 2 h ago",
        &format!("{} --home {} cron --quiet", bin.display(), home.display()),
    ]);
}

/// A copy of the healthy site's data, publishing into a directory of its own.
fn publishing_home() -> (TempDir, PathBuf, TempDir) {
    let (dir, home) = copy_home(healthy());
    let publish = TempDir::new("roost-doctor-publish");
    let out = run_cli(
        bin_of(healthy()),
        &home,
        &["config", "publish_dir", publish.path().to_str().unwrap()],
        None,
    );
    expect_success("config publish_dir", &out);
    assert!(publish.join("feed.atom").exists());
    (dir, home, publish)
}

#[test]
fn a_publishing_error_is_reported() {
    let (_dir, home, _publish) = publishing_home();
    let cron = cron_for(bin_of(healthy()), &home);
    let report = doctor(bin_of(healthy()), &home, cron.path());
    assert!(report.out.status.success(), "{}", report.describe());
    assert!(report.line("published files in").starts_with("ok"));
    set_in_database(
        &home,
        "UPDATE site_state SET publish_error = 'disk quota exceeded writing feed.atom'",
    );
    let report = doctor(bin_of(healthy()), &home, cron.path());
    report.only_failure(&["published files", "disk quota exceeded writing feed.atom"]);
}

#[test]
fn stale_published_files_fail_with_the_command_that_republishes() {
    let (_dir, home, publish) = publishing_home();
    let cron = cron_for(bin_of(healthy()), &home);
    std::fs::write(publish.join("feed.atom"), b"<feed>an old copy</feed>").unwrap();
    std::fs::remove_file(publish.join("feed.json")).unwrap();
    let report = doctor(bin_of(healthy()), &home, cron.path());
    report.only_failure(&[
        "stale or missing",
        "feed.atom",
        "feed.json",
        "config publish_dir",
    ]);
    let out = run_cli(
        bin_of(healthy()),
        &home,
        &["config", "publish_dir", publish.path().to_str().unwrap()],
        None,
    );
    expect_success("republish", &out);
    let report = doctor(bin_of(healthy()), &home, cron.path());
    assert!(report.out.status.success(), "{}", report.describe());
}

#[test]
fn a_url_that_does_not_answer_fails_the_site_check() {
    let (_dir, home) = copy_home(healthy());
    let closed = common::process::free_port();
    let url = format!("http://127.0.0.1:{closed}/");
    expect_success(
        "config",
        &run_cli(bin_of(healthy()), &home, &["config", "url", &url], None),
    );
    let cron = cron_for(bin_of(healthy()), &home);
    let report = doctor(bin_of(healthy()), &home, cron.path());
    report.only_failure(&["site:", &url, "does not answer", "config url"]);
    assert!(report.line("Authorization").starts_with("skip"));
}

/// doctor said "answers with this roost's page" when the page merely showed
/// the owner's name: another roost of the same owner at the url passed. The
/// node now proves itself with a secret only its database holds.
#[test]
fn another_roost_with_the_same_owner_name_fails_the_site_check() {
    let (_dir, home) = empty_home();
    let bin = bin_of(healthy());
    expect_success(
        "init",
        &run_cli(
            bin,
            &home,
            &[
                "init",
                "--url",
                &healthy().base_url(),
                "--name",
                common::OWNER_NAME,
            ],
            None,
        ),
    );
    let cron = cron_for(bin, &home);
    let report = doctor(bin, &home, cron.path());
    report.only_failure(&["site:", "as another roost", "this data directory"]);
}

/// With publishing into the directory that holds roost.cgi (the usual
/// setup), "is outside the document root" was printed twice.
#[test]
fn no_line_is_printed_twice() {
    let site = apache().roost_site(&unique("doctor-once"), Kind::Cgi);
    chown_to_cgi_user(&site.dir);
    let dir = site.dir.to_str().unwrap();
    expect_success(
        "config publish_dir",
        &site.cli(&["config", "publish_dir", dir], None),
    );
    let cron = cron_for(bin_of(&site), &site.home);
    let report = doctor(bin_of(&site), &site.home, cron.path());
    let mut seen = std::collections::HashSet::new();
    for line in &report.lines {
        assert!(
            seen.insert(line),
            "printed twice: {line}\n{}",
            report.describe()
        );
    }
    report.line("is outside the document root");
}

/// Run as another user than the site's (root, here), doctor sees another
/// crontab and other permissions: its first line says so, and as whom to run it.
#[test]
fn doctor_as_another_user_says_so_first() {
    let user = common::cgi_user().expect("the tests run as root, the site as the CGI user");
    let site = healthy();
    let cron = cron_for(bin_of(site), &site.home);
    let mut cmd = Command::new(bin_of(site));
    cmd.env_clear()
        .env("PATH", cron.path())
        .arg("--home")
        .arg(&site.home)
        .arg("doctor");
    let out = common::run_with_stdin(&mut cmd, None);
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let first = printed.lines().next().unwrap_or("");
    assert!(first.starts_with("note"), "{printed}");
    assert!(
        first.contains(&format!("belongs to {}", user.name))
            && first.contains(&format!("sudo -u {} ", user.name)),
        "{printed}"
    );
    // As the site's user there is no such line.
    let report = doctor(bin_of(site), &site.home, cron.path());
    assert!(
        !report.lines.iter().any(|l| l.starts_with("note")),
        "{}",
        report.describe()
    );
}
