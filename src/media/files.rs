//! Where photos live: `DATA/media/NAME`, NAME a hash of the file's bytes
//! plus its extension (a changed file is a new name, so a browser may keep
//! one for a year), and with publishing on a copy in `publish_dir/media/`,
//! which Apache serves as a static file. Without publishing, roost answers
//! `GET /media/NAME` from the data directory (`web::pages::media`).
//!
//! roost owns the published folder only once it has put its marker file
//! there; a `media/` folder someone else made is never written into.

use super::Rendition;
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The folder's name, in the data directory and in the document root alike.
pub const FOLDER: &str = "media";

/// In a published `media/` folder: says roost made it (a dotfile, so
/// sample.htaccess never serves it).
const MARKER: &str = ".roost-media";

/// The name a rendition is kept under.
pub fn name_of(rendition: &Rendition) -> String {
    let hash = Sha256::digest(&rendition.bytes);
    let hex: String = hash[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.{}", rendition.extension())
}

/// Whether `name` can be a kept file's (and so names nothing else).
pub fn valid_name(name: &str) -> bool {
    let Some((hash, extension)) = name.split_once('.') else {
        return false;
    };
    hash.len() == 32
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && ["jpg", "png", "gif"].contains(&extension)
}

/// Keeps `renditions` in the data directory and publishes them; returns
/// their names.
pub fn keep(
    home: &Path,
    publish_dir: Option<&Path>,
    renditions: &[&Rendition],
) -> Result<Vec<String>> {
    let folder = kept_folder(home)?;
    let mut names = Vec::new();
    for rendition in renditions {
        let name = name_of(rendition);
        let path = folder.join(&name);
        if !path.exists() {
            crate::atomic_file::replace(&path, &rendition.bytes, 0o600)
                .with_context(|| format!("keeping {}", path.display()))?;
        }
        if let Some(dir) = publish_dir {
            publish_one(home, dir, &name)?;
        }
        names.push(name);
    }
    Ok(names)
}

/// A kept file's bytes, if there is one by that name.
pub fn read(home: &Path, name: &str) -> Option<Vec<u8>> {
    if !valid_name(name) {
        return None;
    }
    std::fs::read(home.join(FOLDER).join(name)).ok()
}

/// Removes files no post or upload uses any more, kept and published.
pub fn remove(home: &Path, publish_dir: Option<&Path>, names: &[String]) -> Result<()> {
    for name in names.iter().filter(|n| valid_name(n)) {
        remove_if_there(&home.join(FOLDER).join(name))?;
        if let Some(dir) = publish_dir {
            let folder = dir.join(FOLDER);
            if folder.join(MARKER).exists() {
                remove_if_there(&folder.join(name))?;
            }
        }
    }
    Ok(())
}

/// Makes `publish_dir/media/` hold exactly the kept files (publishing just
/// turned on, or a removal that failed before).
pub fn sync(home: &Path, dir: &Path) -> Result<()> {
    let kept = listed(&home.join(FOLDER))?;
    for name in &kept {
        publish_one(home, dir, name)?;
    }
    let folder = dir.join(FOLDER);
    if folder.join(MARKER).exists() {
        for name in listed(&folder)? {
            if !kept.contains(&name) {
                remove_if_there(&folder.join(name))?;
            }
        }
    }
    Ok(())
}

/// Takes the published folder away (publishing moved or turned off).
pub fn withdraw(dir: &Path) -> Result<()> {
    let folder = dir.join(FOLDER);
    if !folder.join(MARKER).exists() {
        return Ok(());
    }
    for name in listed(&folder)? {
        remove_if_there(&folder.join(name))?;
    }
    remove_if_there(&folder.join(MARKER))?;
    std::fs::remove_dir(&folder).ok();
    Ok(())
}

fn kept_folder(home: &Path) -> Result<PathBuf> {
    let folder = home.join(FOLDER);
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    Ok(folder)
}

/// Copies a kept file into the published folder unless it is there.
fn publish_one(home: &Path, dir: &Path, name: &str) -> Result<()> {
    let folder = published_folder(dir)?;
    let target = folder.join(name);
    if target.exists() {
        return Ok(());
    }
    let source = home.join(FOLDER).join(name);
    let bytes = std::fs::read(&source).with_context(|| format!("reading {}", source.display()))?;
    // Served by the web server, which may run as another user.
    crate::atomic_file::replace(&target, &bytes, 0o644)
        .with_context(|| format!("publishing {}", target.display()))
}

/// `publish_dir/media/`, made (readable by the web server) and marked as
/// roost's, or an error when someone else's folder has that name.
fn published_folder(dir: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let folder = dir.join(FOLDER);
    if folder.join(MARKER).exists() {
        return Ok(folder);
    }
    if folder.exists() && listed_any(&folder)? {
        bail!(
            "{} exists and was not made by roost: move it away (roost publishes photos there)",
            folder.display()
        );
    }
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} readable by the web server", folder.display()))?;
    crate::atomic_file::replace(
        &folder.join(MARKER),
        b"made by roost: its published photos\n",
        0o644,
    )
    .with_context(|| format!("marking {}", folder.display()))?;
    Ok(folder)
}

/// The kept file names in `folder` (none when it does not exist).
fn listed(folder: &Path) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", folder.display())),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", folder.display()))?;
        if let Some(name) = entry.file_name().to_str()
            && valid_name(name)
        {
            names.push(name.to_string());
        }
    }
    Ok(names)
}

/// Whether `folder` holds anything at all.
fn listed_any(folder: &Path) -> Result<bool> {
    Ok(std::fs::read_dir(folder)
        .with_context(|| format!("listing {}", folder.display()))?
        .next()
        .is_some())
}

fn remove_if_there(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hashed_names_are_kept_names() {
        assert!(valid_name("0123456789abcdef0123456789abcdef.jpg"));
        assert!(!valid_name("../0123456789abcdef0123456789abc.jpg"));
        assert!(!valid_name("0123456789abcdef0123456789abcdef.svg"));
        assert!(!valid_name("0123456789ABCDEF0123456789abcdef.png"));
    }
}
