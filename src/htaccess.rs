//! roost's block of `.htaccess`: the lines of `sample.htaccess` from
//! `# BEGIN roost` to `# END roost`, built into the binary, merged into a
//! directory's `.htaccess` with every other line kept byte for byte. The
//! one merge both `install` (through `roost htaccess DIR`) and the setup
//! page (`web::first_run`) use. Does not decide where the directory is.

use anyhow::{Context, Result, bail};
use std::path::Path;

/// The sample as shipped: its block is what gets merged.
const SAMPLE: &str = include_str!("../sample.htaccess");

pub const FILE: &str = ".htaccess";
const BEGIN: &str = "# BEGIN roost";
const END: &str = "# END roost";

/// The block: `# BEGIN roost` to `# END roost`, each line ending in `\n`.
pub fn block() -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in SAMPLE.lines() {
        inside |= line == BEGIN;
        if inside {
            out.push_str(line);
            out.push('\n');
        }
        if inside && line == END {
            break;
        }
    }
    out
}

/// Whether roost's block in `existing` runs roost.cgi under mod_fcgid:
/// its fcgid variant switched on (the `#FCGID# ` prefixes removed).
fn uses_fcgid(existing: &str) -> bool {
    let mut inside = false;
    existing
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .any(|line| {
            inside = (inside || line == BEGIN) && line != END;
            inside && line.trim() == "AddHandler fcgid-script .cgi"
        })
}

/// `block` (or the whole sample) switched to mod_fcgid, as sample.htaccess's header says: the
/// lines from `# BEGIN cgi variant` to `# END cgi variant` dropped, and
/// the `#FCGID# ` prefixes removed.
pub fn fcgid_variant(block: &str) -> String {
    let mut out = String::new();
    let mut in_cgi = false;
    for line in block.lines() {
        if line.starts_with("# BEGIN cgi variant") {
            in_cgi = true;
        } else if in_cgi {
            in_cgi = !line.starts_with("# END cgi variant");
        } else {
            out.push_str(line.strip_prefix("#FCGID# ").unwrap_or(line));
            out.push('\n');
        }
    }
    out
}

/// A line of the file without its `\n` and an optional `\r` before it.
fn bare(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

/// `existing` with `block` in place of its first roost block (at the top
/// when it has none) and without any further one; every other byte kept.
/// Refused when a `# BEGIN roost` has no `# END roost` after it: which
/// lines are roost's is then a guess.
pub fn merge(existing: &str, block: &str) -> Result<String> {
    let mut out = String::new();
    let mut placed = false;
    let mut inside = false;
    for line in existing.split_inclusive('\n') {
        match (inside, bare(line)) {
            (false, BEGIN) => {
                inside = true;
                if !placed {
                    out.push_str(block);
                    placed = true;
                }
            }
            (true, END) => inside = false,
            (true, _) => {}
            (false, _) => out.push_str(line),
        }
    }
    if inside {
        bail!("{FILE} has \"{BEGIN}\" without \"{END}\": fix it by hand first");
    }
    if !placed {
        out.insert_str(0, block);
    }
    Ok(out)
}

/// `DIR/.htaccess` with roost's current block merged in, replaced in one
/// rename (a new file is made 0644: Apache, often another user, reads it).
/// `prepared` is what [`prepare`] returned.
pub fn write(dir: &Path, prepared: &Prepared) -> Result<()> {
    let path = dir.join(FILE);
    crate::atomic_file::replace(&path, prepared.text.as_bytes(), prepared.mode)
        .with_context(|| format!("writing {}", path.display()))
}

/// The merged text of `DIR/.htaccess` and the mode to give it, worked out
/// before anything is changed, so a file that cannot be merged stops an
/// installation before it starts.
pub struct Prepared {
    text: String,
    mode: u32,
}

pub fn prepare(dir: &Path) -> Result<Prepared> {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(FILE);
    let (existing, mode) = match std::fs::read(&path) {
        Ok(bytes) => {
            let mode = std::fs::metadata(&path)
                .map(|m| m.permissions().mode() & 0o7777)
                .unwrap_or(0o644);
            let text = String::from_utf8(bytes)
                .with_context(|| format!("{} is not UTF-8 text", path.display()))?;
            (text, mode)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), 0o644),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    // A site switched to mod_fcgid (as sample.htaccess tells) stays so.
    let block = match uses_fcgid(&existing) {
        true => fcgid_variant(&block()),
        false => block(),
    };
    let text = merge(&existing, &block).with_context(|| path.display().to_string())?;
    Ok(Prepared { text, mode })
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "# BEGIN roost\nnew\n# END roost\n";

    #[test]
    fn the_block_is_the_samples_from_begin_to_end() {
        let block = block();
        assert!(block.starts_with("# BEGIN roost\n"), "{block}");
        assert!(block.ends_with("# END roost\n"), "{block}");
        assert!(block.contains("RewriteEngine On"));
    }

    #[test]
    fn a_file_without_a_block_gets_it_on_top_and_keeps_the_rest() {
        assert_eq!(merge("", B).unwrap(), B);
        assert_eq!(merge("a\r\nb", B).unwrap(), format!("{B}a\r\nb"));
    }

    #[test]
    fn the_first_block_is_replaced_in_place_and_later_ones_dropped() {
        let old =
            "top\n# BEGIN roost\r\nold\n# END roost\r\nmid\n# BEGIN roost\nx\n# END roost\nend";
        assert_eq!(merge(old, B).unwrap(), format!("top\n{B}mid\nend"));
    }

    #[test]
    fn a_block_switched_to_fcgid_is_replaced_by_the_fcgid_variant() {
        let fcgid = fcgid_variant(&block());
        assert!(uses_fcgid(&fcgid), "{fcgid}");
        assert!(!uses_fcgid(&block()), "the sample runs plain CGI");
        assert!(!fcgid.contains("# BEGIN cgi variant"), "{fcgid}");
        assert!(!fcgid.contains("#FCGID#"), "{fcgid}");
        assert!(
            !uses_fcgid("AddHandler fcgid-script .cgi\n"),
            "outside the block: not ours"
        );
    }

    #[test]
    fn a_begin_without_an_end_is_refused() {
        let error = merge("# BEGIN roost\nold\n", B).unwrap_err();
        assert!(format!("{error:#}").contains("fix it by hand"), "{error:#}");
    }
}
