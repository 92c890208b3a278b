//! Replacing a file so that a reader sees the old bytes or the new ones,
//! never half of either: a temporary file beside it, then a rename.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Writes `bytes` to a temporary file beside `target` with `mode`, then
/// renames it over `target`. On failure the temporary file is removed and
/// `target` is as it was.
pub fn replace(target: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return Err(std::io::Error::other(format!(
            "{} names no file in a directory",
            target.display()
        )));
    };
    // Hidden and unique to this process: two writers never share one, and
    // nothing that lists the directory for its own files mistakes it.
    let temp = dir.join(format!(
        ".{}.roost-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        std::fs::rename(&temp, target)
    })();
    if written.is_err() {
        std::fs::remove_file(&temp).ok();
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_bytes_and_sets_the_mode_leaving_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("roost-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("page");
        std::fs::write(&target, b"old").unwrap();
        replace(&target, b"new bytes", 0o640).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new bytes");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["page"]);
        assert!(replace(&dir.join("missing/page"), b"x", 0o600).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
