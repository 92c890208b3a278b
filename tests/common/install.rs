//! Running the repository's `install` script the way a user on a shared host
//! would: uploaded with `sample.htaccess` and the binary into one directory of
//! a home (see `Apache::new_home`), run under `dash` as the CGI user, with
//! `HOME` set to that home and a `PATH` of ordinary tools only (so a real
//! `crontab` is never reached; a fake one stores the table in a file).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::apache::{Apache, Site, UserHome};
use super::{OWNER_NAME, OWNER_PASSWORD, roost_bin, run_as_cgi_user, run_with_stdin, set_mode};

/// The script under test.
pub const INSTALL_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/install");
/// The repository's sample.htaccess, which install copies its block from.
pub const SAMPLE_HTACCESS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sample.htaccess");
/// The shell the tests run it with: POSIX, no bash.
pub const DASH: &str = "/usr/bin/dash";

/// The commands install may use, besides dash's builtins: what `PATH` holds.
/// A tool missing here shows as "not found" in a test: add it only if every
/// shared host has it.
const TOOLS: &[&str] = &[
    "awk", "cat", "chmod", "cp", "dirname", "head", "hostname", "id", "ls", "mkdir", "mv", "rm",
    "rmdir", "sed", "stty", "tail", "tr", "uname",
];

/// A fake `crontab` (`-l` and `-`) keeping the table in `$FAKE_CRONTAB`.
const FAKE_CRONTAB: &str = r#"#!/bin/sh
case "$1" in
    -l) [ -f "$FAKE_CRONTAB" ] || { echo "no crontab for $(id -un)" >&2; exit 1; }
        cat "$FAKE_CRONTAB" ;;
    -) cat >"$FAKE_CRONTAB" ;;
    *) echo "fake crontab: unsupported arguments: $*" >&2; exit 2 ;;
esac
"#;

/// Whether `crontab` is on the script's PATH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cron {
    /// The fake crontab, first on PATH.
    Fake,
    /// No crontab at all: install must print the line.
    Missing,
}

/// A home on the test Apache with install, sample.htaccess and roost uploaded
/// into `HOME/upload/`.
pub struct Installer {
    pub home: UserHome,
    /// Where the three files were uploaded.
    pub upload: PathBuf,
    /// The fake crontab's table.
    pub crontab_file: PathBuf,
    tools: PathBuf,
    fake_bin: PathBuf,
}

impl Installer {
    /// A new home `name` (see `Apache::new_home`) with the upload in place.
    pub fn new(apache: &Apache, name: &str) -> Installer {
        let home = apache.new_home(name);
        let upload = home.path.join("upload");
        let tools = home.path.join("tools");
        let fake_bin = home.path.join("fake-bin");
        for dir in [&upload, &tools, &fake_bin] {
            fs::create_dir(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
            set_mode(dir, 0o755);
        }
        copy(Path::new(INSTALL_SCRIPT), &upload.join("install"), 0o755);
        copy(
            Path::new(SAMPLE_HTACCESS),
            &upload.join("sample.htaccess"),
            0o644,
        );
        copy(&roost_bin(), &upload.join("roost"), 0o755);
        for tool in TOOLS {
            let found = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
                .iter()
                .map(|d| Path::new(d).join(tool))
                .find(|p| p.exists())
                .unwrap_or_else(|| panic!("no {tool} in /usr/bin or /bin"));
            symlink(&found, tools.join(tool)).unwrap();
        }
        let crontab = fake_bin.join("crontab");
        fs::write(&crontab, FAKE_CRONTAB).unwrap();
        set_mode(&crontab, 0o755);
        super::wait_until_runnable(&crontab, "-l");
        let crontab_file = home.path.join("crontab.txt");
        Installer {
            home,
            upload,
            crontab_file,
            tools,
            fake_bin,
        }
    }

    /// The upload's script path.
    pub fn script(&self) -> PathBuf {
        self.upload.join("install")
    }

    /// `dash HOME/upload/install ARGS...` as the CGI user; `stdin` (or
    /// /dev/null) as its input. Does not check the exit status.
    pub fn run(&self, args: &[&str], stdin: Option<&str>, cron: Cron) -> Output {
        self.run_script(&self.script(), args, stdin, cron)
    }

    /// The same with another copy of the script (say the repository's own).
    pub fn run_script(
        &self,
        script: &Path,
        args: &[&str],
        stdin: Option<&str>,
        cron: Cron,
    ) -> Output {
        let path = match cron {
            Cron::Fake => format!("{}:{}", self.fake_bin.display(), self.tools.display()),
            Cron::Missing => self.tools.display().to_string(),
        };
        let mut cmd = Command::new(DASH);
        cmd.arg(script)
            .args(args)
            .env_clear()
            .env("HOME", &self.home.path)
            .env("PATH", path)
            .env("FAKE_CRONTAB", &self.crontab_file)
            .current_dir(&self.home.path);
        run_as_cgi_user(&mut cmd);
        run_with_stdin(&mut cmd, stdin)
    }

    /// `SCRIPT --yes --docroot DIR --url URL --name OWNER EXTRA...` for
    /// `site`, with the owner's password on stdin: an unattended install.
    pub fn run_yes(&self, script: &Path, site: &Site, extra: &[&str], cron: Cron) -> Output {
        let dir = site.dir.display().to_string();
        let url = site.base_url();
        let mut args = vec![
            "--yes",
            "--docroot",
            &dir,
            "--url",
            &url,
            "--name",
            OWNER_NAME,
        ];
        args.extend_from_slice(extra);
        self.run_script(script, &args, Some(&format!("{OWNER_PASSWORD}\n")), cron)
    }

    /// The fake crontab's table ("" when there is none).
    pub fn crontab(&self) -> String {
        fs::read_to_string(&self.crontab_file).unwrap_or_default()
    }
}

fn copy(from: &Path, to: &Path, mode: u32) {
    fs::copy(from, to)
        .unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
    set_mode(to, mode);
}
