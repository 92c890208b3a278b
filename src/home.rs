//! Finds the data directory (SPEC §2): `--home`, then `ROOST_HOME`, then a
//! `home = DIR` line in `roost.conf` beside the executable; the CLI alone
//! falls back to `./roost-data`. Does not open the database.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub const CONF_FILE: &str = "roost.conf";
pub const DEFAULT_HOME: &str = "roost-data";

/// For the command line: always yields a directory (the default when nothing is set).
pub fn for_cli(flag: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir);
    }
    if let Some(dir) = std::env::var_os("ROOST_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = from_conf_beside_exe()? {
        return Ok(dir);
    }
    Ok(PathBuf::from(DEFAULT_HOME))
}

/// For a web request: `from_server` is ROOST_HOME as the server passed it
/// (environment under CGI, a request parameter under FastCGI). `None`:
/// nothing names a data directory, and the setup page answers.
pub fn for_web(from_server: Option<&Path>) -> Result<Option<PathBuf>> {
    if let Some(dir) = from_server {
        return Ok(Some(dir.to_path_buf()));
    }
    from_conf_beside_exe()
}

/// The data directory `roost.conf` beside the binary names, if any.
pub fn conf_home() -> Option<PathBuf> {
    from_conf_beside_exe().ok().flatten()
}

/// `roost.conf` is read once per process once it names a directory
/// (FastCGI answers many requests); until then, on every request, so that
/// a FastCGI process that showed the setup page sees the setup's result.
fn from_conf_beside_exe() -> Result<Option<PathBuf>> {
    static CACHED: OnceLock<PathBuf> = OnceLock::new();
    if let Some(dir) = CACHED.get() {
        return Ok(Some(dir.clone()));
    }
    let found = read_conf_beside_exe()?;
    if let Some(dir) = &found {
        let _ = CACHED.set(dir.clone());
    }
    Ok(found)
}

/// The directory holding this binary (roost.cgi's, under a web server):
/// where `roost.conf` is looked for and the setup page writes it.
pub fn exe_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()?
        .parent()
        .map(Path::to_path_buf)
}

fn read_conf_beside_exe() -> Result<Option<PathBuf>> {
    let Some(dir) = exe_dir() else {
        return Ok(None);
    };
    let dir = dir.as_path();
    let conf = dir.join(CONF_FILE);
    let text = match std::fs::read_to_string(&conf) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", conf.display())),
    };
    Ok(parse_conf(&text)?.map(|home| dir.join(home)))
}

/// `home = DIR` (relative to the conf file's directory); `#` starts a comment.
fn parse_conf(text: &str) -> Result<Option<PathBuf>> {
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            bail!(
                "roost.conf line {}: expected `key = value`, found {line:?}",
                number + 1
            );
        };
        if key.trim() == "home" {
            let value = value.trim().trim_matches('"');
            if value.is_empty() {
                bail!("roost.conf line {}: `home` is empty", number + 1);
            }
            return Ok(Some(PathBuf::from(value)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_home_line_is_found_among_comments() {
        let text = "# roost\n\nother = 1\nhome = /srv/roost-data\n";
        assert_eq!(
            parse_conf(text).unwrap(),
            Some(PathBuf::from("/srv/roost-data"))
        );
        assert_eq!(parse_conf("# nothing\n").unwrap(), None);
        assert!(parse_conf("home /x\n").is_err());
        assert!(parse_conf("home =\n").is_err());
    }
}
