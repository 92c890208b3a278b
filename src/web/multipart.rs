//! `multipart/form-data` bodies (RFC 7578), as browsers and Micropub apps
//! send files: the parts, each borrowing its bytes from the body. Only what
//! forms use is read (`Content-Disposition`'s `name` and `filename`,
//! `Content-Type`); a part's type is never trusted for a file's (`media`
//! sniffs the bytes). Does not decode files or know which fields a route
//! takes.

use memchr::memmem;

/// At most this many parts: a form with a few photos has tens.
pub const MAX_PARTS: usize = 200;

/// One part of the body.
#[derive(Debug, Clone, PartialEq)]
pub struct Part<'a> {
    pub name: String,
    /// Set for a file (an `<input type=file>` sends it, empty when no file
    /// was chosen).
    pub filename: Option<String>,
    pub data: &'a [u8],
}

impl Part<'_> {
    /// A file part that holds a file (a browser sends an empty part with
    /// an empty filename for a file input left empty).
    pub fn is_file(&self) -> bool {
        self.filename.is_some() && !self.data.is_empty()
    }
}

/// The boundary from a `Content-Type: multipart/form-data; boundary=...`,
/// or `None` for any other type.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let mime = params.next()?.trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (key, value) = p.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim().trim_matches('"');
        (!value.is_empty() && value.len() <= 70).then(|| value.to_string())
    })
}

/// The parts of `body`, or why it cannot be read (for a 400).
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, String> {
    let delimiter = format!("--{boundary}");
    let broken = || "The form's body is not valid multipart/form-data: send it again.".to_string();
    // A part ends at CRLF and the delimiter: the delimiter alone may occur
    // inside a file's bytes.
    let closing = format!("\r\n{delimiter}");
    let finder = memmem::Finder::new(closing.as_bytes());
    let mut at = memmem::find(body, delimiter.as_bytes()).ok_or_else(broken)? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        let rest = rest.strip_prefix(b"\r\n").ok_or_else(broken)?;
        let head_end = memmem::find(rest, b"\r\n\r\n").ok_or_else(broken)?;
        let head = std::str::from_utf8(&rest[..head_end]).map_err(|_| broken())?;
        let content_start = at + 2 + head_end + 4;
        let end = finder.find(&body[content_start..]).ok_or_else(broken)?;
        let data = &body[content_start..content_start + end];
        if parts.len() == MAX_PARTS {
            return Err(format!("The form has more than {MAX_PARTS} parts."));
        }
        let (name, filename) = disposition(head).ok_or_else(broken)?;
        parts.push(Part {
            name,
            filename,
            data,
        });
        at = content_start + end + closing.len();
    }
}

/// `name` and `filename` from a part's `Content-Disposition: form-data`.
fn disposition(head: &str) -> Option<(String, Option<String>)> {
    let line = head.split("\r\n").find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case("content-disposition")
            .then_some(value)
    })?;
    let mut params = line.split(';');
    if !params.next()?.trim().eq_ignore_ascii_case("form-data") {
        return None;
    }
    let (mut name, mut filename) = (None, None);
    for param in params {
        let Some((key, value)) = param.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value)
            .to_string();
        match key.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(value),
            "filename" => filename = Some(value),
            _ => {}
        }
    }
    Some((name?, filename))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_files_come_apart() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhello\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\n\
            Content-Type: image/jpeg\r\n\r\n\xFF\xD8\r\n--XyZ--\r\n\r\n\x00";
        let boundary = boundary("multipart/form-data; boundary=XyZ").unwrap();
        let parts = parse(body, &boundary).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].name.as_str(), parts[0].data),
            ("text", &b"hello"[..])
        );
        assert_eq!(parts[1].filename.as_deref(), Some("a.jpg"));
        assert_eq!(parts[1].data, b"\xFF\xD8");
        assert!(parts[1].is_file());
    }

    #[test]
    fn the_boundary_inside_a_file_does_not_end_it() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\n\
            a--XyZb\r\n--XyZ--\r\n";
        let parts = parse(body, "XyZ").unwrap();
        assert_eq!(parts[0].data, b"a--XyZb");
    }

    #[test]
    fn a_body_cut_short_is_refused() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhel";
        assert!(parse(body, "XyZ").is_err());
        assert!(boundary("application/x-www-form-urlencoded").is_none());
    }
}
