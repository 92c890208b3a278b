//! Finds the data directory (SPEC §2): `--home`, then `ROOST_HOME`, then a
//! `home = DIR` line in `roost.conf` beside the executable; the CLI alone
//! falls back to `./roost-data`. Does not open the database.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub const CONF_FILE: &str = "roost.conf";
pub const DEFAULT_HOME: &str = "roost-data";

/// The message every way in shows when no data directory is configured.
pub const NOT_CONFIGURED: &str = "no data directory: pass --home DIR, set ROOST_HOME \
    (for example `SetEnv ROOST_HOME /home/me/roost-data` in .htaccess), \
    or put \"home = DIR\" in roost.conf next to the binary";

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
/// (environment under CGI, a request parameter under FastCGI).
pub fn for_web(from_server: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = from_server {
        return Ok(dir.to_path_buf());
    }
    match from_conf_beside_exe()? {
        Some(dir) => Ok(dir),
        None => bail!(NOT_CONFIGURED),
    }
}

/// The data directory `roost.conf` beside the binary names, if any.
pub fn conf_home() -> Option<PathBuf> {
    from_conf_beside_exe().ok().flatten()
}

/// `roost.conf` is read once per process: FastCGI answers many requests.
fn from_conf_beside_exe() -> Result<Option<PathBuf>> {
    static CACHED: OnceLock<Result<Option<PathBuf>, String>> = OnceLock::new();
    CACHED
        .get_or_init(|| read_conf_beside_exe().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn read_conf_beside_exe() -> Result<Option<PathBuf>> {
    let Ok(exe) = std::env::current_exe() else {
        return Ok(None);
    };
    let Some(dir) = exe.parent() else {
        return Ok(None);
    };
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
