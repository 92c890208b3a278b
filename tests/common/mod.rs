//! Shared helpers for roost's integration tests: which binary to test, temporary
//! directories, running the CLI as the user Apache runs CGI as, a raw HTTP client
//! (`http`), one private Apache per test binary (`apache`), a loopback feed
//! server (`feed_server`), a private network namespace with its own DNS
//! (`netns`), headless Chromium over DevTools (`browser`),
//! running the `install` script as a user of a shared host would (`install`),
//! the Python readers (`python`), an independent WebSub hub, publisher and
//! subscriber (`websub_peer`, flask-websub), an independent Webmention
//! sender and receiver (`webmention_peer`, django-wm) and an independent
//! ActivityPub server (`fedify_peer`, Fedify on Node 22), all run as a
//! `peer_process`.
//!
//! std only, but for the DevTools WebSocket (`tungstenite`) and, from roost's
//! own dependencies, `serde_json` and `sha2` (`websub_peer`). Each test binary
//! says `mod common;` and uses what it needs, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod apache;
pub mod archives;
pub mod browser;
pub mod fedify_peer;
pub mod feed_server;
pub mod http;
pub mod http_signatures;
pub mod indieauth;
pub mod install;
pub mod netns;
pub mod peer_process;
pub mod process;
pub mod python;
pub mod webmention_peer;
pub mod websub_peer;

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The owner every fixture site is initialised with.
pub const OWNER_NAME: &str = "Test Owner";
/// That owner's password (given to `init --password-stdin`).
pub const OWNER_PASSWORD: &str = "correct horse battery staple";

/// The roost binary under test: `$ROOST_BIN` when set (the README's test command
/// builds one static musl release binary and points every test at it), else the
/// one cargo built for this test run.
pub fn roost_bin() -> PathBuf {
    match std::env::var_os("ROOST_BIN") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            // Relative paths are taken from where cargo was run: the package root.
            if p.is_absolute() {
                p
            } else {
                Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
            }
        }
        _ => PathBuf::from(env!("CARGO_BIN_EXE_roost")),
    }
}

/// A string no other test (or test run) uses: put it in posts and look for it.
pub fn unique(label: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{label}-{}-{n}-{nanos:x}", std::process::id())
}

/// A directory under `std::env::temp_dir()`, removed with everything in it on
/// drop. When the tests run as root it belongs to the CGI user (see
/// [`cgi_user`]), so that [`roost_cli`], which runs as that user, can write in it.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let path = create_unique_dir(&std::env::temp_dir(), prefix);
        chown_to_cgi_user(&path);
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path.join(rel)
    }

    /// Keeps the directory (for looking at after a failure); returns its path.
    pub fn keep(self) -> PathBuf {
        let path = self.path.clone();
        std::mem::forget(self);
        path
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Creates `parent/prefix-PID-N-NANOS` (mode 0755) and returns it.
pub(crate) fn create_unique_dir(parent: &Path, prefix: &str) -> PathBuf {
    for _ in 0..100 {
        let path = parent.join(unique(prefix));
        match std::fs::create_dir(&path) {
            Ok(()) => {
                set_mode(&path, 0o755);
                return path;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("cannot create {}: {e}", path.display()),
        }
    }
    panic!(
        "cannot find a free name for a directory in {}",
        parent.display()
    );
}

pub(crate) fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

/// The unprivileged account CGI and FastCGI programs run as under the fixture's
/// Apache when the tests run as root (Apache refuses to run them as root).
#[derive(Debug, Clone)]
pub struct CgiUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// The group's name, or `#GID` where /etc/group does not name it.
    pub group: String,
}

/// `Some(www-data)` (or `apache`, `nobody`: the first that exists) when the tests
/// run as root; `None` otherwise, when everything runs as the current user.
pub fn cgi_user() -> Option<&'static CgiUser> {
    static USER: OnceLock<Option<CgiUser>> = OnceLock::new();
    USER.get_or_init(|| {
        if current_ids().0 != 0 {
            return None;
        }
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
        let user = ["www-data", "apache", "nobody"]
            .iter()
            .find_map(|want| {
                passwd.lines().find_map(|line| {
                    let f: Vec<&str> = line.split(':').collect();
                    (f.len() >= 4 && f[0] == *want)
                        .then(|| Some((f[0].to_string(), f[2].parse().ok()?, f[3].parse().ok()?)))
                        .flatten()
                })
            })
            .expect("running as root, but /etc/passwd has no www-data, apache or nobody for CGI");
        let (name, uid, gid) = user;
        let group = groups
            .lines()
            .find_map(|line| {
                let f: Vec<&str> = line.split(':').collect();
                (f.len() >= 3 && f[2].parse::<u32>().ok() == Some(gid)).then(|| f[0].to_string())
            })
            .unwrap_or_else(|| format!("#{gid}"));
        Some(CgiUser {
            name,
            uid,
            gid,
            group,
        })
    })
    .as_ref()
}

/// (effective uid, effective gid) of this process, from /proc/self/status.
pub fn current_ids() -> (u32, u32) {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let field = |key: &str| -> u32 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in /proc/self/status"))
    };
    (field("Uid:"), field("Gid:"))
}

/// [`cgi_user`] for a test that needs root (to give files to other users):
/// when not root, says on stderr that `test` was skipped and why.
pub fn cgi_user_or_skip(test: &str, why: &str) -> Option<&'static CgiUser> {
    let user = cgi_user();
    if user.is_none() {
        eprintln!("{test}: skipped ({why} needs root)");
    }
    user
}

/// Makes `cmd` run as the CGI user when the tests run as root (no-op otherwise),
/// so that whatever it creates is usable by roost under Apache, and vice versa.
pub fn run_as_cgi_user(cmd: &mut Command) -> &mut Command {
    if let Some(u) = cgi_user() {
        // std sets the gid, drops supplementary groups, then sets the uid.
        cmd.gid(u.gid).uid(u.uid);
    }
    cmd
}

/// Gives `path` to the CGI user when the tests run as root (no-op otherwise).
pub fn chown_to_cgi_user(path: &Path) {
    if let Some(u) = cgi_user() {
        std::os::unix::fs::chown(path, Some(u.uid), Some(u.gid))
            .unwrap_or_else(|e| panic!("chown {} {}: {e}", u.name, path.display()));
    }
}

/// `roost_bin()` as a Command, running as the CGI user (see [`run_as_cgi_user`]).
pub fn roost_command() -> Command {
    command_for(&roost_bin())
}

/// [`roost_command`] with a given binary (a copy, another build).
pub fn command_for(bin: &Path) -> Command {
    let mut cmd = Command::new(bin);
    run_as_cgi_user(&mut cmd);
    cmd
}

/// `roost init` of a site at `url` owned by `name`, with [`OWNER_PASSWORD`].
pub fn init_site(home: &Path, url: &str, name: &str) {
    let out = roost_cli(
        home,
        &["init", "--url", url, "--name", name, "--password-stdin"],
        Some(&format!("{OWNER_PASSWORD}\n")),
    );
    expect_success("init", &out);
}

/// [`init_site`] whose polling may reach loopback (where test feeds live).
pub fn init_loopback_site(home: &Path, url: &str, name: &str) {
    init_site(home, url, name);
    expect_success(
        "config",
        &roost_cli(home, &["config", "allow_private_addresses", "true"], None),
    );
}

/// Runs `roost --home HOME ARGS...` as the CGI user, feeding `stdin` if given
/// (else /dev/null), and returns what it did. Does not check the exit status.
pub fn roost_cli(home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    run_cli(&roost_bin(), home, args, stdin)
}

/// [`roost_cli`] with a given binary (a site's own copy of roost).
pub fn run_cli(bin: &Path, home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(bin);
    run_as_cgi_user(&mut cmd);
    cmd.arg("--home")
        .arg(home)
        .args(args.iter().map(OsStr::new));
    run_with_stdin(&mut cmd, stdin)
}

/// Spawns `cmd` with piped stdout/stderr, writes `stdin` (or gives /dev/null)
/// and waits for it.
pub fn run_with_stdin(cmd: &mut Command, stdin: Option<&str>) -> Output {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = spawn(cmd).unwrap_or_else(|e| {
        panic!(
            "cannot run {:?}: {e}{}",
            cmd.get_program(),
            match cgi_user() {
                Some(u) => format!(" (as {}: every directory above it must be o+x)", u.name),
                None => String::new(),
            }
        )
    });
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("piped stdin");
        // The program may exit without reading everything; that is its business.
        let _ = pipe.write_all(input.as_bytes());
    }
    child.wait_with_output().expect("wait for child")
}

/// `cmd.spawn()`, tried again for up to a second while the program is "Text
/// file busy" (ETXTBSY): a binary the tests just copied cannot be run while
/// a child forked meanwhile by another test thread still holds the copy's
/// write descriptor, until that child execs and the descriptor closes.
pub fn spawn(cmd: &mut Command) -> std::io::Result<std::process::Child> {
    const ETXTBSY: i32 = 26;
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(ETXTBSY) && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// Runs `program ARG` until it starts. A process forked by another test
/// thread while `program` was open for writing keeps it "busy" (ETXTBSY)
/// until that process execs; once it has run, no writer is left, so what
/// runs it next (roost, a script) cannot meet a busy file.
pub fn wait_until_runnable(program: &Path, arg: &str) {
    let started = spawn(
        Command::new(program)
            .arg(arg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    match started.and_then(|mut child| child.wait()) {
        Ok(_) => {}
        Err(e) => panic!("{} does not start: {e}", program.display()),
    }
}

/// Panics with the command's stderr unless it exited 0; returns its stdout.
pub fn expect_success(what: &str, out: &Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The development feed corpus kept in the repository (`tests/corpus/`, each
/// folder with its upstream licence; see its README).
pub fn corpus_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    assert!(
        dir.join("README.md").is_file(),
        "the feed corpus is missing: expected it at {} (tests/corpus in the repository)",
        dir.display()
    );
    dir
}

/// Runs `f` with the node's database moved aside, then puts it back (also
/// when `f` panics): what still answers did not open the database.
pub fn without_database<T>(home: &Path, f: impl FnOnce() -> T) -> T {
    let db = home.join("roost.db");
    let aside = home.join("roost.db.aside");
    std::fs::rename(&db, &aside).unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::fs::rename(&aside, &db).unwrap();
    result.unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// GET `path` from the binary run as a CGI script on `home`, as Apache runs
/// it; returns the body after checking the status is 200.
pub fn cgi_get(home: &Path, path: &str) -> Vec<u8> {
    let mut cmd = roost_command();
    cmd.env_clear()
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("REQUEST_METHOD", "GET")
        .env("SCRIPT_NAME", "/roost.cgi")
        .env("PATH_INFO", path)
        .env("REQUEST_URI", path)
        .env("ROOST_HOME", home);
    let out = run_with_stdin(&mut cmd, None);
    let raw = out.stdout;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| {
            panic!(
                "GET {path}: no header block in {:?}",
                String::from_utf8_lossy(&raw)
            )
        });
    let head = String::from_utf8_lossy(&raw[..end]);
    assert!(
        !head.contains("Status:") || head.contains("Status: 200"),
        "GET {path}: {head}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    raw[end + 4..].to_vec()
}

/// SplitMix64: a small deterministic generator for test inputs and timings,
/// replayable from its seed (tests print the seed they used).
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// In `0..n`; 0 when `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}
