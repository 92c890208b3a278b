//! A fetched body: read within both caps (*Size* in `fetch`'s docs) and
//! decompressed as it streams in, into a [`Body`], which keeps 256 KiB in
//! memory and the rest in an unnamed temporary file; the parser reads it
//! back as a stream. What a fetch holds does not grow with what the server
//! sends. Does not connect.
//!
//! Decompression: ureq (built with its `gzip` feature, which this crate does
//! not control per request) inflates `Content-Encoding: gzip` itself, as a
//! stream, before we see a byte, and drops the header. That is why the
//! as-sent cap is held by counting on the transport rather than by reading
//! compressed bytes here. Every other encoding ureq passes through with its
//! header intact (`x-gzip`, `deflate` as zlib or raw, lists like `gzip,
//! deflate`): those are undone here with flate2, each decoder reading the
//! one before it, so no layer is ever held whole.

use std::fmt;
use std::io::{self, Read, Seek, Write};

use flate2::read::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};
use ureq::http::header;

use super::error::read_error;
use super::{FetchError, Limits, header_str};

/// Reads the body within both caps (see `fetch`'s module documentation), undoing
/// every content encoding as it streams in: nothing but the decompressed
/// bytes is kept, and those in a [`Body`], so a bomb costs a few buffers
/// until it passes the decompressed cap and is refused.
pub(super) fn read_body(
    response: ureq::http::Response<ureq::Body>,
    limits: &Limits,
) -> Result<Body, FetchError> {
    let as_sent = FetchError::TooLarge {
        limit: limits.max_body_bytes,
        decompressed: false,
    };
    let headers = response.headers();
    let length = header_str(headers, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if length.is_some_and(|n| n > limits.max_body_bytes) {
        return Err(as_sent);
    }
    // Still present only if ureq did not undo it (it undoes plain `gzip`).
    let encodings: Vec<String> = headers
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty() && v != "identity")
        .collect();
    // What was sent is capped on the wire by `net`'s counting transport.
    let mut reader: Box<dyn Read> = Box::new(response.into_body().into_with_config().reader());
    for encoding in encodings.iter().rev() {
        reader = match encoding.as_str() {
            "gzip" | "x-gzip" => Box::new(MultiGzDecoder::new(io::BufReader::new(reader))),
            "deflate" => {
                let mut first = [0u8; 2];
                let n = read_up_to(&mut reader, &mut first).map_err(|e| read_error(&e, limits))?;
                let reader = io::Cursor::new(first).take(n as u64).chain(reader);
                if is_zlib(&first[..n]) {
                    Box::new(ZlibDecoder::new(reader))
                } else {
                    Box::new(DeflateDecoder::new(reader))
                }
            }
            other => {
                return Err(FetchError::Decode(format!(
                    "unsupported Content-Encoding {other:?}"
                )));
            }
        };
    }
    let mut body = Body::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(body),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(&e, limits)),
        };
        if body.len() + n as u64 > limits.max_decompressed_bytes {
            return Err(FetchError::TooLarge {
                limit: limits.max_decompressed_bytes,
                decompressed: true,
            });
        }
        body.write_all(&buf[..n])
            .map_err(|e| FetchError::Decode(format!("could not keep the response: {e}")))?;
    }
}

/// Fills `buf` unless the reader ends first; how much was read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A response body, decompressed: in memory up to [`Body::IN_MEMORY_BYTES`],
/// past that in a temporary file that has no name (it is gone when the
/// `Body` is), so a poll's fetches hold little memory whatever they bring.
#[derive(Default)]
pub struct Body {
    memory: Vec<u8>,
    file: Option<std::fs::File>,
    len: u64,
}

impl Body {
    /// What a body keeps in memory before it moves to a file.
    pub const IN_MEMORY_BYTES: usize = 256 * 1024;

    /// A body that arrived whole (a WebSub delivery, already bounded by its
    /// route's body limit).
    pub fn from_vec(bytes: Vec<u8>) -> Body {
        Body {
            len: bytes.len() as u64,
            memory: bytes,
            file: None,
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The body from its start, to read as a stream.
    pub fn reader(&self) -> io::Result<BodyReader<'_>> {
        Ok(match &self.file {
            None => BodyReader::Memory(io::Cursor::new(&self.memory)),
            Some(file) => {
                let mut file = file.try_clone()?;
                file.rewind()?;
                BodyReader::File(io::BufReader::new(file))
            }
        })
    }

    /// All of it in memory (a page to look for feeds in, when following).
    pub fn to_vec(&self) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.len as usize);
        self.reader()?.read_to_end(&mut out)?;
        Ok(out)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.file.is_none() && self.memory.len() + bytes.len() > Self::IN_MEMORY_BYTES {
            let mut file = temporary_file()?;
            file.write_all(&self.memory)?;
            self.memory = Vec::new();
            self.file = Some(file);
        }
        match &mut self.file {
            Some(file) => file.write_all(bytes)?,
            None => self.memory.extend_from_slice(bytes),
        }
        self.len += bytes.len() as u64;
        Ok(())
    }
}

impl From<Vec<u8>> for Body {
    fn from(memory: Vec<u8>) -> Body {
        Body {
            len: memory.len() as u64,
            memory,
            file: None,
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Body({} bytes{})",
            self.len,
            if self.file.is_some() {
                ", in a file"
            } else {
                ""
            }
        )
    }
}

/// Bodies are equal when their bytes are (tests compare outcomes).
impl PartialEq for Body {
    fn eq(&self, other: &Body) -> bool {
        self.len == other.len
            && match (self.to_vec(), other.to_vec()) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            }
    }
}

impl Eq for Body {}

/// [`Body::reader`]: the bytes in memory, or the file's.
pub enum BodyReader<'a> {
    Memory(io::Cursor<&'a Vec<u8>>),
    File(io::BufReader<std::fs::File>),
}

impl Read for BodyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            BodyReader::Memory(r) => r.read(buf),
            BodyReader::File(r) => r.read(buf),
        }
    }
}

impl Seek for BodyReader<'_> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        match self {
            BodyReader::Memory(r) => r.seek(pos),
            BodyReader::File(r) => r.seek(pos),
        }
    }
}

/// A file in the temporary directory (`TMPDIR`, else /tmp) that only this
/// process can reach: opened with `O_TMPFILE` where the system has it, else
/// created under a random name and unlinked at once.
fn temporary_file() -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = std::env::temp_dir();
    let unnamed = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(&dir);
    if let Ok(file) = unnamed {
        return Ok(file);
    }
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| io::Error::other(e.to_string()))?;
    let path = dir.join(format!("roost-body-{:016x}", u64::from_le_bytes(random)));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

/// `deflate` is meant to be zlib (RFC 9110) but some servers send raw
/// deflate: a zlib stream starts with a header whose check bits make it a
/// multiple of 31, with compression method 8.
fn is_zlib(data: &[u8]) -> bool {
    match data {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past [`Body::IN_MEMORY_BYTES`] a body is kept in a file, whole (moved
    /// here from `fetch`'s `big_documents_are_kept_and_layered_bombs_refused`).
    #[test]
    fn big_documents_are_kept_in_a_file() {
        let doc = b"<x>".repeat(5 * 1024 * 1024);
        let mut body = Body::default();
        body.write_all(&doc).unwrap();
        assert!(body.file.is_some() && body.memory.is_empty());
        assert_eq!(body.to_vec().unwrap(), doc);
    }
}
