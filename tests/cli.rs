//! The command line as scripts and cron drive it (SPEC §3): exit codes, one-line
//! errors, data directory discovery, permissions, backup and export.

mod common;

use common::{OWNER_PASSWORD, TempDir, expect_success, roost_cli};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn init(home: &Path) {
    expect_success(
        "init",
        &roost_cli(
            home,
            &[
                "init",
                "--url",
                "https://example.org/",
                "--name",
                "Ann",
                "--password-stdin",
            ],
            Some(&format!("{OWNER_PASSWORD}\n")),
        ),
    );
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A failure is a non-zero exit and exactly one line on stderr.
fn assert_one_line_failure(out: &std::process::Output, expected: &str) {
    assert!(!out.status.success(), "should fail: {}", stderr(out));
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(err.contains(expected), "{expected:?} not in {err:?}");
}

#[test]
fn init_creates_a_private_data_directory_and_refuses_an_existing_one() {
    let dir = TempDir::new("roost-cli");
    let home = dir.join("data");
    init(&home);
    let mode = std::fs::metadata(&home).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let db_mode = std::fs::metadata(home.join("roost.db"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(db_mode, 0o600);
    let again = roost_cli(
        &home,
        &["init", "--url", "https://x.example/", "--name", "B"],
        None,
    );
    assert_one_line_failure(&again, "already holds a roost database");
    let bad = roost_cli(
        &dir.join("other"),
        &["init", "--url", "not a url", "--name", "B"],
        None,
    );
    assert_one_line_failure(&bad, "http");
    assert!(!dir.join("other").join("roost.db").exists());
}

/// A command or CGI request opens the database alone, so SQLite rebuilds the
/// WAL's index by reading the whole -wal file, and a process that writes once
/// never starts the log over: the WAL grew by every post (about 20 KB each),
/// and every request that opened the database read all of it (at 12 MB a
/// post took 50 ms instead of 5). `roost cron`, every minute, empties it.
#[test]
fn the_wal_that_one_write_processes_grow_is_emptied_by_cron() {
    let dir = TempDir::new("roost-cli");
    let home = dir.join("data");
    init(&home);
    let wal = home.join("roost.db-wal");
    let wal_bytes = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    for i in 0..60 {
        let text = format!("post {i}");
        expect_success("post", &roost_cli(&home, &["post", &text], None));
    }
    let grown = wal_bytes();
    assert!(grown > 512 * 1024, "60 posts grew the WAL to {grown} bytes");
    expect_success("cron", &roost_cli(&home, &["cron"], None));
    assert_eq!(wal_bytes(), 0, "cron empties the WAL");
    expect_success("post", &roost_cli(&home, &["post", "after cron"], None));
    let after = wal_bytes();
    assert!(
        after < 64 * 1024,
        "the next post starts the WAL over ({after} bytes)"
    );
}

#[test]
fn post_edit_delete_round_trip() {
    let dir = TempDir::new("roost-cli");
    let home = dir.join("data");
    init(&home);
    let link = expect_success("post", &roost_cli(&home, &["post", "hello"], None));
    assert_eq!(link.trim(), "https://example.org/posts/1");
    let link = expect_success(
        "post -",
        &roost_cli(&home, &["post", "-"], Some("from stdin\nline two\n")),
    );
    assert_eq!(link.trim(), "https://example.org/posts/2");
    let reply = roost_cli(
        &home,
        &["post", "re", "--reply-to", "https://other.example/1"],
        None,
    );
    expect_success("reply", &reply);
    expect_success(
        "edit",
        &roost_cli(&home, &["edit", "1", "-"], Some("changed")),
    );
    expect_success("delete", &roost_cli(&home, &["delete", "2"], None));
    let export: serde_json::Value = serde_json::from_str(&expect_success(
        "export",
        &roost_cli(&home, &["export"], None),
    ))
    .unwrap();
    let posts = export["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0]["text"], "changed");
    assert_eq!(posts[1]["reply_to"], "https://other.example/1");
    assert_eq!(export["format"], "roost-export");
    assert_eq!(export["settings"]["name"], "Ann");
    assert!(
        export["settings"].get("password_hash").is_none(),
        "the hash is never exported"
    );
    assert!(export["follows"].is_array());

    assert_one_line_failure(&roost_cli(&home, &["delete", "2"], None), "no post 2");
    assert_one_line_failure(
        &roost_cli(&home, &["edit", "x", "t"], None),
        "not a post number",
    );
    assert_one_line_failure(&roost_cli(&home, &["post", "  "], None), "empty");
    assert_one_line_failure(
        &roost_cli(
            &home,
            &["post", "x", "--reply-to", "javascript:alert(1)"],
            None,
        ),
        "http",
    );
    assert_one_line_failure(&roost_cli(&home, &["post"], None), "empty");
    assert_one_line_failure(&roost_cli(&home, &["frobnicate"], None), "frobnicate");
}

#[test]
fn config_shows_and_validates_settings() {
    let dir = TempDir::new("roost-cli");
    let home = dir.join("data");
    init(&home);
    let all = expect_success("config", &roost_cli(&home, &["config"], None));
    assert!(all.contains("name = Ann") && all.contains("public_timeline = false"));
    assert!(!all.contains("password"), "{all}");
    expect_success(
        "set",
        &roost_cli(&home, &["config", "bio", "I write"], None),
    );
    assert_eq!(
        expect_success("get", &roost_cli(&home, &["config", "bio"], None)).trim(),
        "I write"
    );
    assert_one_line_failure(
        &roost_cli(&home, &["config", "public_timeline", "maybe"], None),
        "true or false",
    );
    assert_one_line_failure(
        &roost_cli(&home, &["config", "password_hash", "x"], None),
        "no setting",
    );
    assert_one_line_failure(&roost_cli(&home, &["config", "nope"], None), "no setting");

    // remote_images: show by default, also for a database made before the
    // setting existed.
    assert!(all.contains("remote_images = show"), "{all}");
    assert_one_line_failure(
        &roost_cli(&home, &["config", "remote_images", "hide"], None),
        "not \"hide\"",
    );
    rusqlite::Connection::open(home.join("roost.db"))
        .unwrap()
        .execute("DELETE FROM settings WHERE key = 'remote_images'", [])
        .unwrap();
    let all = expect_success("config", &roost_cli(&home, &["config"], None));
    assert!(all.contains("remote_images = show"), "{all}");
    let get = roost_cli(&home, &["config", "remote_images"], None);
    assert_eq!(expect_success("get", &get).trim(), "show");
}

/// Issue 11/12: the handle and the time zone are settings like the others,
/// checked by the one declared table, and `config --help` lists them all.
#[test]
fn config_takes_the_handle_and_the_time_zone() {
    let dir = TempDir::new("roost-cli");
    let home = dir.join("data");
    init(&home);
    let all = expect_success("config", &roost_cli(&home, &["config"], None));
    // Before the owner chooses: the host's first label, and UTC.
    assert!(all.contains("handle = example\n"), "{all}");
    assert!(all.contains("time_zone = UTC\n"), "{all}");
    let set = roost_cli(&home, &["config", "handle", "Ann_B"], None);
    assert_eq!(expect_success("handle", &set).trim(), "handle = ann_b");
    assert_one_line_failure(
        &roost_cli(&home, &["config", "handle", "ann-b"], None),
        "a-z, 0-9 and _",
    );
    // A negative offset is a value, not an option.
    let set = roost_cli(&home, &["config", "time_zone", "-0530"], None);
    assert_eq!(
        expect_success("time_zone", &set).trim(),
        "time_zone = -05:30"
    );
    assert_one_line_failure(
        &roost_cli(&home, &["config", "time_zone", "Mars/Olympus"], None),
        "not in this host's zone database",
    );
    let all = expect_success("config", &roost_cli(&home, &["config"], None));
    assert!(all.contains("handle = ann_b\n") && all.contains("time_zone = -05:30\n"));
    let help = expect_success("help", &roost_cli(&home, &["config", "--help"], None));
    for key in [
        "name",
        "bio",
        "url",
        "handle",
        "language",
        "time_zone",
        "publish_dir",
    ] {
        assert!(help.contains(&format!("\n  {key} ")), "{key} not in {help}");
    }
}

#[test]
fn every_command_has_help() {
    let dir = TempDir::new("roost-cli");
    for command in [
        "init", "passwd", "post", "edit", "delete", "config", "backup", "export", "serve",
        "fastcgi",
    ] {
        let out = roost_cli(dir.path(), &[command, "--help"], None);
        let text = expect_success(command, &out);
        assert!(text.contains("Usage: roost"), "{command}: {text}");
    }
    let top = expect_success("help", &roost_cli(dir.path(), &["--help"], None));
    assert!(top.contains("ROOST_HOME"));
}

#[test]
fn home_is_found_from_flag_env_and_roost_conf() {
    let dir = TempDir::new("roost-cli");
    let home = dir.join("data");
    init(&home);
    // --home after the command.
    let mut cmd = common::roost_command();
    cmd.args(["post", "flag after", "--home"]).arg(&home);
    expect_success("--home after", &common::run_with_stdin(&mut cmd, None));
    // ROOST_HOME.
    let mut cmd = common::roost_command();
    cmd.env("ROOST_HOME", &home).args(["post", "from env"]);
    expect_success("ROOST_HOME", &common::run_with_stdin(&mut cmd, None));
    // roost.conf beside a copy of the binary, with a relative path.
    let bin_dir = dir.join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    std::fs::copy(common::roost_bin(), bin_dir.join("roost")).unwrap();
    std::fs::set_permissions(
        bin_dir.join("roost"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(
        bin_dir.join("roost.conf"),
        "# where the data lives\nhome = ../data\n",
    )
    .unwrap();
    let mut cmd = std::process::Command::new(bin_dir.join("roost"));
    common::run_as_cgi_user(&mut cmd);
    cmd.env_remove("ROOST_HOME").args(["post", "from conf"]);
    expect_success("roost.conf", &common::run_with_stdin(&mut cmd, None));
    let export = expect_success("export", &roost_cli(&home, &["export"], None));
    for text in ["flag after", "from env", "from conf"] {
        assert!(export.contains(text), "{text}");
    }
}

#[test]
fn backup_is_a_working_copy_and_passwd_changes_the_login() {
    let dir = TempDir::new("roost-cli");
    let home = dir.join("data");
    init(&home);
    expect_success(
        "post",
        &roost_cli(&home, &["post", "kept in the backup"], None),
    );
    let copy = dir.join("copy.db");
    expect_success(
        "backup",
        &roost_cli(&home, &["backup", copy.to_str().unwrap()], None),
    );
    assert_eq!(
        std::fs::metadata(&copy).unwrap().permissions().mode() & 0o077,
        0,
        "backup is private"
    );
    assert_one_line_failure(
        &roost_cli(&home, &["backup", copy.to_str().unwrap()], None),
        "already exists",
    );
    // The copy is a roost database in its own right.
    let restored = dir.join("restored");
    std::fs::create_dir(&restored).unwrap();
    std::fs::copy(&copy, restored.join("roost.db")).unwrap();
    common::chown_to_cgi_user(&restored);
    common::chown_to_cgi_user(&restored.join("roost.db"));
    let export = expect_success("export restored", &roost_cli(&restored, &["export"], None));
    assert!(export.contains("kept in the backup"));

    assert_one_line_failure(&roost_cli(&home, &["passwd"], Some("short\n")), "too short");
    expect_success(
        "passwd",
        &roost_cli(&home, &["passwd"], Some("a much longer password\n")),
    );
}

#[test]
fn a_database_from_a_newer_roost_is_refused() {
    let dir = TempDir::new("roost-cli");
    let home = dir.join("data");
    init(&home);
    let conn = rusqlite::Connection::open(home.join("roost.db")).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    assert_one_line_failure(
        &roost_cli(&home, &["post", "x"], None),
        "schema version 999",
    );
}

#[test]
fn commands_without_a_database_say_how_to_create_one() {
    let dir = TempDir::new("roost-cli");
    let bin = common::roost_bin();
    assert_one_line_failure(
        &roost_cli(&dir.join("none"), &["post", "x"], None),
        &format!("{} --home", bin.display()),
    );
}

/// The command between the first pair of backquotes in `text`.
fn quoted_command(text: &str) -> String {
    let start = text
        .find('`')
        .unwrap_or_else(|| panic!("no `command` in {text:?}"))
        + 1;
    let end = start + text[start..].find('`').expect("closing backquote");
    text[start..end].to_string()
}

/// `sh -c COMMAND` as the CGI user, in `cwd`, with `stdin`: the hint typed as printed.
fn run_as_printed(command: &str, cwd: &Path, stdin: &str) -> std::process::Output {
    let mut cmd = std::process::Command::new("sh");
    common::run_as_cgi_user(&mut cmd);
    cmd.arg("-c").arg(command).current_dir(cwd);
    common::run_with_stdin(&mut cmd, Some(stdin))
}

/// `init`'s "Next:" said `roost --home roost-data passwd`, but after `cargo
/// run` there is no `roost` on the PATH: the hint now names the binary's
/// path, quoted where the shell needs it, and works as printed.
#[test]
fn init_hint_names_a_passwd_command_that_works_as_printed() {
    let dir = TempDir::new("roost-cli");
    let home = dir.join("my data");
    let out = roost_cli(
        &home,
        &["init", "--url", "https://example.org/", "--name", "Ann"],
        None,
    );
    let printed = expect_success("init", &out);
    let command = quoted_command(&printed);
    assert!(
        command.starts_with(&common::roost_bin().display().to_string()),
        "the binary's path, not a `roost` that is not on the PATH: {command}"
    );
    assert!(
        command.contains("'"),
        "the path with a space is quoted: {command}"
    );
    let out = run_as_printed(&command, dir.path(), &format!("{OWNER_PASSWORD}\n"));
    let said = expect_success("the printed passwd command", &out);
    assert!(said.contains("Password set"), "{said}");
}

/// A node without a password gets a one-time link (`setup-link`) where the
/// owner chooses it in the browser; once a password is set there is none.
#[test]
fn setup_link_is_printed_only_while_there_is_no_password() {
    let dir = TempDir::new("roost-cli");
    let home = dir.join("data");
    expect_success(
        "init",
        &roost_cli(
            &home,
            &[
                "init",
                "--url",
                "https://example.org/notes/",
                "--name",
                "Ann",
            ],
            None,
        ),
    );
    let link = expect_success("setup-link", &roost_cli(&home, &["setup-link"], None));
    let token = link
        .trim()
        .strip_prefix("https://example.org/notes/setup?token=")
        .unwrap_or_else(|| panic!("a link under the url setting: {link:?}"));
    assert!(
        token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{token:?}"
    );
    let again = expect_success("setup-link", &roost_cli(&home, &["setup-link"], None));
    assert_ne!(again, link, "every link is new");
    init(&dir.join("with-password"));
    assert_one_line_failure(
        &roost_cli(&dir.join("with-password"), &["setup-link"], None),
        "already has a password",
    );
}

/// A database written by the first release (tests/fixtures/release-1.db: 23
/// posts, one edited, one deleted, a reply, a bio, one follow with two
/// entries; schema version 2) is upgraded on first use and keeps everything.
#[test]
fn a_database_from_the_first_release_is_upgraded_and_keeps_everything() {
    let home = TempDir::new("roost-upgrade");
    let db = home.join("roost.db");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/release-1.db"),
        &db,
    )
    .unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
    common::chown_to_cgi_user(&db);

    let export = expect_success("export", &roost_cli(home.path(), &["export"], None));
    let export: serde_json::Value = serde_json::from_str(&export).unwrap();
    let posts = export["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 23, "23 posts (24 made, one deleted)");
    let texts: Vec<&str> = posts.iter().map(|p| p["text"].as_str().unwrap()).collect();
    assert!(texts.contains(&"Post number 3, edited"), "{texts:?}");
    assert!(!texts.iter().any(|t| t.starts_with("Post number 5 ")));
    assert!(texts.contains(&"Post number 1 from the first release <b>escaped</b> & kept"));
    let reply = posts.iter().find(|p| p["text"] == "A reply").unwrap();
    assert_eq!(reply["reply_to"], "https://friend.example/posts/9");
    assert_eq!(
        posts[0]["uid"], "tag:example.org,2026-11-24:/notes/posts/1",
        "feed ids never change across an upgrade"
    );
    assert_eq!(export["settings"]["bio"], "Bio from release one");
    assert_eq!(export["follows"].as_array().unwrap().len(), 1);

    let following = expect_success("following", &roost_cli(home.path(), &["following"], None));
    assert!(
        following.contains("http://127.0.0.1:18766/feed.atom"),
        "{following}"
    );

    // The upgraded database takes new posts, and reports the new schema.
    expect_success(
        "post",
        &roost_cli(home.path(), &["post", "After the upgrade"], None),
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, roost::store::migrations::latest_version());
    let posts: i64 = conn
        .query_row("SELECT count(*) FROM posts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(posts, 24);
}

/// Data made by one user and met by another (suexec runs roost.cgi as the
/// file's owner, cron as the crontab's): a directory roost cannot enter said
/// "no roost database ... run init", a database it cannot write "attempt to
/// write a readonly database". Both now name the owner and the user roost
/// runs as.
#[test]
fn data_of_another_user_names_its_owner_and_who_runs_roost() {
    let Some(cgi) = common::cgi_user_or_skip(
        "data_of_another_user_names_its_owner_and_who_runs_roost",
        "giving the data to another user",
    ) else {
        return;
    };
    let dir = TempDir::new("roost-cli");
    let home = dir.join("data");
    init(&home);
    let other = 65534; // nobody
    let give = |path: &Path, uid: u32| std::os::unix::fs::chown(path, Some(uid), None).unwrap();
    let expect = |out: &std::process::Output, what: &str, path: &Path| {
        assert_one_line_failure(out, &format!("{what} {} belongs to user ", path.display()));
        let err = stderr(out);
        assert!(
            err.contains(&format!("roost runs as user {}", cgi.name))
                && err.contains(&format!("chown -R {} {}", cgi.name, home.display())),
            "{err}"
        );
    };
    give(&home, other);
    expect(
        &roost_cli(&home, &["following"], None),
        "the data directory",
        &home,
    );
    give(&home, cgi.uid);
    // Root's cron ran a poll: its -wal and -shm are root's, and private.
    for file in ["roost.db-wal", "roost.db-shm"] {
        give(&home.join(file), 0);
        std::fs::set_permissions(home.join(file), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    expect(
        &roost_cli(&home, &["post", "x"], None),
        "the database file",
        &home.join("roost.db-wal"),
    );
    for file in ["roost.db", "roost.db-wal", "roost.db-shm"] {
        give(&home.join(file), other);
        std::fs::set_permissions(home.join(file), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    expect(
        &roost_cli(&home, &["post", "x"], None),
        "the database file",
        &home.join("roost.db"),
    );
}

/// `roost following | head -1` panicked ("failed printing to stdout: Broken
/// pipe") once head had closed the pipe: a closed stdout ends it quietly.
#[test]
fn a_closed_stdout_ends_a_command_quietly() {
    let dir = TempDir::new("roost-cli");
    let home = dir.join("data");
    init(&home);
    for args in [&["following"][..], &["export"], &["export-opml"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = common::roost_command()
            .arg("--home")
            .arg(&home)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(stderr(&out), "", "roost {args:?} into a closed pipe");
        assert!(!out.status.success(), "{args:?}: {:?}", out.status);
    }
}

/// A 30,000-character post on stdin said "21024 characters": only the first
/// 21,024 bytes were read. The message now gives the real count.
#[test]
fn a_too_long_post_on_stdin_is_refused_with_its_real_length() {
    let dir = TempDir::new("roost-cli");
    let home = dir.join("data");
    init(&home);
    let text = "x".repeat(30_000);
    let out = roost_cli(&home, &["post", "-"], Some(&text));
    assert_one_line_failure(&out, "the post has 30000 characters; the limit is 5000");
    let text = "é".repeat(6_000);
    let out = roost_cli(&home, &["post"], Some(&text));
    assert_one_line_failure(&out, "the post has 6000 characters");
}

/// `delete -3` said "unexpected argument '-3'": a negative number is now a
/// value, and the message is about that value.
#[test]
fn negative_numbers_get_a_message_about_the_value() {
    let dir = TempDir::new("roost-cli");
    let home = dir.join("data");
    init(&home);
    for (args, expected) in [
        (&["delete", "-3"][..], "\"-3\" is not a post number"),
        (
            &["edit", "-1", "new text"][..],
            "\"-1\" is not a post number",
        ),
        (
            &["poll", "--max-seconds", "-5"][..],
            "\"-5\" is not a number of seconds",
        ),
    ] {
        let out = roost_cli(&home, args, None);
        assert_one_line_failure(&out, expected);
        assert!(!stderr(&out).contains("unexpected argument"), "{args:?}");
    }
}

/// `follow example.org` said it was not a web address: a bare host is tried
/// as `https://` (here a name that cannot resolve, so the fetch fails, and
/// the message names the address tried).
#[test]
fn follow_a_bare_host_tries_https() {
    let dir = TempDir::new("roost-cli");
    let home = dir.join("data");
    init(&home);
    let out = roost_cli(&home, &["follow", "feeds.example.invalid"], None);
    assert_one_line_failure(&out, "https://feeds.example.invalid/");
    assert!(
        !stderr(&out).contains("not a web address"),
        "{}",
        stderr(&out)
    );
}
