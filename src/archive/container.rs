//! Reading the few files an import needs out of a `.zip` or `.tar.gz`
//! archive, refusing hostile ones whole before anything is imported. Does
//! not know what the files mean (`twitter`, `mastodon`) and extracts
//! nothing to disk.
//!
//! A small reader on `flate2` (already built for HTTP) instead of the `zip`
//! and `tar` crates: roost needs only to list names and inflate a few
//! entries, and the binary has little room left under its size cap.
//!
//! Refused, with what was wrong: a name that climbs out of the archive
//! (`..`, absolute, a backslash, NUL), an entry claiming more than
//! `MAX_FILE_BYTES`, an entry inflating to more or less than it claimed or
//! with a wrong CRC (a zip bomb lies about its size), an archive expanding
//! more than `MAX_RATIO` times, encrypted or zip64 entries, and anything
//! not a zip or a gzip file.

use anyhow::{Context, Result, bail};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// The largest file an import reads into memory (a Twitter archive's
/// `tweets.js` for 100,000 tweets is about 150 MB).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// How many times its compressed size an archive may expand to (text
/// compresses about 10 times; a zip bomb a million times).
pub const MAX_RATIO: u64 = 200;

/// The files of the archive at `path` whose names `wanted` accepts, with
/// their contents, in archive order. Every name in the archive is checked,
/// wanted or not.
pub fn read_files(path: &Path, wanted: impl Fn(&str) -> bool) -> Result<Vec<(String, Vec<u8>)>> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut magic = [0u8; 4];
    let n = file
        .read(&mut magic)
        .with_context(|| format!("reading {}", path.display()))?;
    file.seek(SeekFrom::Start(0))
        .with_context(|| format!("reading {}", path.display()))?;
    match &magic[..n] {
        [b'P', b'K', 3, 4] | [b'P', b'K', 5, 6] => read_zip(file, &wanted),
        [0x1f, 0x8b, ..] => read_tar_gz(file, &wanted),
        _ => bail!("it is neither a zip nor a .tar.gz archive"),
    }
}

/// Why a name is refused, if it is: one that could climb out of the
/// directory it was unpacked into, on any system.
fn check_name(name: &str) -> Result<()> {
    let climbs = name.starts_with('/')
        || name.contains('\\')
        || name.contains('\0')
        || name.split('/').any(|part| part == "..")
        || name.get(1..2) == Some(":");
    if climbs {
        bail!("the entry {name:?} points outside the archive (a path traversal name)");
    }
    Ok(())
}

fn check_claim(name: &str, claimed: u64) -> Result<()> {
    if claimed > MAX_FILE_BYTES {
        bail!(
            "the entry {name:?} claims {claimed} bytes, more than the {} MiB an import reads",
            MAX_FILE_BYTES >> 20
        );
    }
    Ok(())
}

fn too_expanded(name: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{name:?} expands more than {MAX_RATIO} times its compressed size (a zip bomb?)"
    )
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

struct ZipEntry {
    name: String,
    method: u16,
    flags: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    local_offset: u64,
}

fn read_zip(mut file: File, wanted: &dyn Fn(&str) -> bool) -> Result<Vec<(String, Vec<u8>)>> {
    let length = file.metadata().context("reading the archive's size")?.len();
    let tail_len = length.min(22 + 65_535);
    file.seek(SeekFrom::Start(length - tail_len))?;
    let mut tail = vec![0u8; tail_len as usize];
    file.read_exact(&mut tail)
        .context("reading the zip's directory")?;
    let Some(end) = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..i + 4] == [b'P', b'K', 5, 6])
    else {
        bail!("the zip has no central directory (truncated or not a zip)");
    };
    let count = u16_at(&tail, end + 10);
    let dir_size = u64::from(u32_at(&tail, end + 12));
    let dir_offset = u64::from(u32_at(&tail, end + 16));
    if count == 0xffff || dir_offset == 0xffff_ffff || dir_size == 0xffff_ffff {
        bail!("zip64 archives (over 4 GB or 65,535 files) are not read yet");
    }
    if dir_offset + dir_size > length {
        bail!("the zip's directory lies past its end (truncated)");
    }
    file.seek(SeekFrom::Start(dir_offset))?;
    let mut dir = vec![0u8; dir_size as usize];
    file.read_exact(&mut dir)
        .context("reading the zip's directory")?;
    let mut entries = Vec::with_capacity(usize::from(count));
    let mut at = 0;
    for _ in 0..count {
        if at + 46 > dir.len() || dir[at..at + 4] != [b'P', b'K', 1, 2] {
            bail!("the zip's directory is damaged");
        }
        let name_len = usize::from(u16_at(&dir, at + 28));
        let skip = usize::from(u16_at(&dir, at + 30)) + usize::from(u16_at(&dir, at + 32));
        let Some(name) = dir.get(at + 46..at + 46 + name_len) else {
            bail!("the zip's directory is damaged");
        };
        let name = String::from_utf8_lossy(name).into_owned();
        check_name(&name)?;
        entries.push(ZipEntry {
            flags: u16_at(&dir, at + 8),
            method: u16_at(&dir, at + 10),
            crc: u32_at(&dir, at + 16),
            compressed: u64::from(u32_at(&dir, at + 20)),
            size: u64::from(u32_at(&dir, at + 24)),
            local_offset: u64::from(u32_at(&dir, at + 42)),
            name,
        });
        at += 46 + name_len + skip;
    }
    let mut files = Vec::new();
    for entry in entries.iter().filter(|e| wanted(&e.name)) {
        files.push((
            entry.name.clone(),
            read_zip_entry(&mut file, entry, length)?,
        ));
    }
    Ok(files)
}

fn read_zip_entry(file: &mut File, entry: &ZipEntry, length: u64) -> Result<Vec<u8>> {
    let name = &entry.name;
    check_claim(name, entry.size)?;
    if entry.flags & 1 != 0 {
        bail!("the entry {name:?} is encrypted");
    }
    if entry.size > MAX_RATIO * entry.compressed.max(1) + 4096 {
        return Err(too_expanded(name));
    }
    file.seek(SeekFrom::Start(entry.local_offset))?;
    let mut header = [0u8; 30];
    file.read_exact(&mut header)
        .with_context(|| format!("reading the entry {name:?}"))?;
    if header[..4] != [b'P', b'K', 3, 4] {
        bail!("the entry {name:?} is damaged (no local header where the directory says)");
    }
    let data_at =
        entry.local_offset + 30 + u64::from(u16_at(&header, 26)) + u64::from(u16_at(&header, 28));
    if data_at + entry.compressed > length {
        bail!("the entry {name:?} lies past the archive's end (truncated)");
    }
    file.seek(SeekFrom::Start(data_at))?;
    let raw = BufReader::new(file.take(entry.compressed));
    // One byte more than claimed is read, so a lie about the size shows.
    let mut reader: Box<dyn Read> = match entry.method {
        0 => Box::new(raw),
        8 => Box::new(flate2::bufread::DeflateDecoder::new(raw)),
        other => bail!(
            "the entry {name:?} uses compression method {other}; only stored and deflate are read"
        ),
    };
    let mut out = Vec::with_capacity(entry.size as usize);
    (&mut reader)
        .take(entry.size + 1)
        .read_to_end(&mut out)
        .with_context(|| format!("inflating the entry {name:?}"))?;
    if out.len() as u64 != entry.size {
        bail!(
            "the entry {name:?} inflates to {}{} bytes, not the {} it claims (a zip bomb or a damaged archive)",
            out.len(),
            if out.len() as u64 > entry.size {
                "+"
            } else {
                ""
            },
            entry.size
        );
    }
    let mut crc = flate2::Crc::new();
    crc.update(&out);
    if crc.sum() != entry.crc {
        bail!("the entry {name:?} is damaged (its checksum does not match)");
    }
    Ok(out)
}

fn read_tar_gz(file: File, wanted: &dyn Fn(&str) -> bool) -> Result<Vec<(String, Vec<u8>)>> {
    let compressed = file.metadata().context("reading the archive's size")?.len();
    let limit = MAX_RATIO * compressed.max(1) + (1 << 20);
    let gz = flate2::read::MultiGzDecoder::new(BufReader::new(file));
    // Past the limit the reader stops, and the short read says why below.
    let mut tar = gz.take(limit + 1);
    let mut files = Vec::new();
    let mut long_name: Option<String> = None;
    let mut consumed: u64 = 0;
    loop {
        let mut header = [0u8; 512];
        if !read_block(&mut tar, &mut header, &mut consumed, limit)? {
            break;
        }
        if header.iter().all(|&b| b == 0) {
            break;
        }
        let size = octal(&header[124..136])
            .with_context(|| "a tar header's size is not a number (a damaged archive)")?;
        let kind = header[156];
        let mut name = long_name.take().unwrap_or_else(|| {
            let field = |r: std::ops::Range<usize>| {
                let b = &header[r];
                let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                String::from_utf8_lossy(&b[..end]).into_owned()
            };
            let (prefix, base) = (field(345..500), field(0..100));
            if &header[257..262] == b"ustar" && !prefix.is_empty() {
                format!("{prefix}/{base}")
            } else {
                base
            }
        });
        if let Some(stripped) = name.strip_prefix("./") {
            name = stripped.to_string();
        }
        let padded = size.div_ceil(512) * 512;
        let regular = matches!(kind, b'0' | 0 | b'7');
        let keep = match kind {
            b'L' | b'x' => true,
            _ => regular && wanted(&name),
        };
        if kind != b'L' && kind != b'x' && kind != b'g' {
            check_name(&name)?;
        }
        if keep {
            check_claim(&name, size)?;
            let mut data = vec![0u8; padded as usize];
            read_exact_counted(&mut tar, &mut data, &mut consumed, limit)?;
            data.truncate(size as usize);
            match kind {
                b'L' => {
                    let end = data.iter().position(|&c| c == 0).unwrap_or(data.len());
                    long_name = Some(String::from_utf8_lossy(&data[..end]).into_owned());
                }
                b'x' => long_name = pax_path(&data),
                _ => files.push((name, data)),
            }
        } else {
            let skipped = std::io::copy(&mut (&mut tar).take(padded), &mut std::io::sink())
                .context("reading the archive")?;
            consumed += skipped;
            if consumed > limit {
                return Err(too_expanded("the archive"));
            }
            if skipped < padded {
                bail!("the archive ends inside {name:?} (truncated)");
            }
        }
    }
    Ok(files)
}

/// A PAX header's `path`, which names the next entry.
fn pax_path(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    text.lines().find_map(|line| {
        let (_, record) = line.split_once(' ')?;
        record.strip_prefix("path=").map(str::to_string)
    })
}

fn octal(field: &[u8]) -> Result<u64> {
    let text: String = field
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as char)
        .collect();
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(text, 8).map_err(|_| anyhow::anyhow!("{text:?}"))
}

/// One header block; false at a clean end of the archive.
fn read_block(
    tar: &mut impl Read,
    block: &mut [u8; 512],
    consumed: &mut u64,
    limit: u64,
) -> Result<bool> {
    let mut filled = 0;
    while filled < block.len() {
        let n = tar
            .read(&mut block[filled..])
            .context("reading the archive (damaged gzip data)")?;
        if n == 0 {
            if *consumed > limit {
                return Err(too_expanded("the archive"));
            }
            if filled == 0 {
                return Ok(false);
            }
            bail!("the archive is truncated");
        }
        filled += n;
        *consumed += n as u64;
    }
    Ok(true)
}

fn read_exact_counted(
    tar: &mut impl Read,
    buf: &mut [u8],
    consumed: &mut u64,
    limit: u64,
) -> Result<()> {
    tar.read_exact(buf).map_err(|_| {
        if *consumed + buf.len() as u64 > limit {
            too_expanded("the archive")
        } else {
            anyhow::anyhow!("the archive is truncated or its gzip data damaged")
        }
    })?;
    *consumed += buf.len() as u64;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_climb_out_are_refused() {
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a\\..\\b",
            "C:/x",
            "a\0b",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        for good in [
            "outbox.json",
            "data/tweets.js",
            "a/b..c/d",
            "media_attachments/x.png",
        ] {
            assert!(check_name(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn tar_sizes_are_octal() {
        assert_eq!(octal(b"00000001750\0").unwrap(), 1000);
        assert!(octal(b"zz\0").is_err());
    }
}
