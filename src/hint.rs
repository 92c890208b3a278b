//! How a message names a roost command so that it works as printed: the
//! binary's real path (shown as `roost` only when that name on `PATH` is this
//! very file), the data directory when the command would not find it by
//! itself, each quoted for the shell where needed. Does not run anything.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The program to type on the command line: `roost` when `PATH` finds this
/// binary by that name, else this binary's path, shell-quoted.
pub fn program() -> String {
    let Ok(exe) = std::env::current_exe() else {
        return "roost".into();
    };
    if on_path_as_roost().is_some_and(|found| same_file(&found, &exe)) {
        return "roost".into();
    }
    shell_quote(exe.as_os_str())
}

/// The program a web page names: this binary's path (for a CGI, the
/// `roost.cgi` path). `PATH` is not looked at: under CGI it is the web
/// server's, not the owner's shell's.
fn program_for_web() -> String {
    std::env::current_exe().map_or_else(|_| "roost".into(), |exe| shell_quote(exe.as_os_str()))
}

/// `PROGRAM --home DIR ARGS` for the command line (`args` as typed: not quoted).
pub fn command(home: &Path, args: &str) -> String {
    with_home(program(), home, args)
}

/// `command` for a page: names the binary by its path.
pub fn command_for_web(home: &Path, args: &str) -> String {
    with_home(program_for_web(), home, args)
}

/// The `--home` is left out when `roost.conf` beside the binary names the
/// same directory, so that the command finds it by itself.
fn with_home(program: String, home: &Path, args: &str) -> String {
    if crate::home::conf_home().is_some_and(|conf| same_file(&conf, home)) {
        return format!("{program} {args}");
    }
    format!("{program} --home {} {args}", shell_quote(home.as_os_str()))
}

fn on_path_as_roost() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join("roost"))
        .find(|candidate| candidate.is_file())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// `text` as one shell word: as is when it holds only characters no shell
/// treats specially, else in single quotes (a `'` inside as `'\''`).
pub fn shell_quote(text: &OsStr) -> String {
    let bytes = text.as_bytes();
    let plain = |b: &u8| b.is_ascii_alphanumeric() || b"/._-+:=@,%".contains(b);
    if !bytes.is_empty() && bytes.iter().all(plain) {
        return text.to_string_lossy().into_owned();
    }
    format!("'{}'", text.to_string_lossy().replace('\'', r"'\''"))
}

/// The crontab line `install` writes for `cgi` (roost.cgi) and the data
/// directory `home`, byte for byte: every five minutes, both paths in single
/// quotes, and the marker `# roost DIR` (the directory holding `cgi`) by
/// which `install` finds its own line again; `%` escaped, since cron
/// makes a bare one a newline.
pub fn cron_line(cgi: &Path, home: &Path) -> String {
    let quoted = |p: &Path| format!("'{}'", p.to_string_lossy().replace('\'', r"'\''"));
    let docroot = cgi.parent().unwrap_or(Path::new("/"));
    format!(
        "*/5 * * * * {} --home {} cron --quiet # roost {}",
        quoted(cgi),
        quoted(home),
        docroot.display()
    )
    .replace('%', r"\%")
}

#[cfg(test)]
mod tests {
    #[test]
    fn cron_line_quotes_both_paths_and_ends_with_installs_marker() {
        let line = super::cron_line(
            std::path::Path::new("/home/me/public_html/roost.cgi"),
            std::path::Path::new("/home/me/it's 100%"),
        );
        assert_eq!(
            line,
            r"*/5 * * * * '/home/me/public_html/roost.cgi' --home '/home/me/it'\''s 100\%' cron --quiet # roost /home/me/public_html"
        );
    }

    use super::*;

    #[test]
    fn shell_quote_leaves_plain_paths_and_quotes_the_rest() {
        assert_eq!(shell_quote(OsStr::new("/usr/bin/roost")), "/usr/bin/roost");
        assert_eq!(shell_quote(OsStr::new("roost-data")), "roost-data");
        assert_eq!(shell_quote(OsStr::new("/srv/my site")), "'/srv/my site'");
        assert_eq!(shell_quote(OsStr::new("it's")), r"'it'\''s'");
        assert_eq!(shell_quote(OsStr::new("$HOME")), "'$HOME'");
        assert_eq!(shell_quote(OsStr::new("")), "''");
    }
}
