//! A tiny HTTP/1.1 client over std's TcpStream, for tests: one request per
//! connection, raw bytes in (so a test can send anything, invalid UTF-8
//! included), status, headers and the de-chunked body out. Panics on I/O errors
//! (the `try_` variant returns them); 10 s timeouts.

use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

pub struct HttpResponse {
    pub status: u16,
    pub reason: String,
    /// In the order received, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header with this name (case-insensitive), in order.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers_named("Set-Cookie")
    }

    /// The value a Set-Cookie header gives cookie `name`, if any.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().into_iter().find_map(|c| {
            let pair = c.split(';').next()?.trim();
            let (n, v) = pair.split_once('=')?;
            (n.trim() == name).then(|| v.trim().to_string())
        })
    }

    /// Content-Type without parameters, lower-cased ("text/html").
    pub fn mime(&self) -> Option<String> {
        self.header("Content-Type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl fmt::Debug for HttpResponse {
    /// Status, headers and the start of the body: for assertion messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "HTTP {} {}", self.status, self.reason)?;
        for (n, v) in &self.headers {
            writeln!(f, "{n}: {v}")?;
        }
        let text = self.text();
        let cut: String = text.chars().take(2000).collect();
        write!(f, "\n{cut}")?;
        if cut.len() < text.len() {
            write!(f, "\n[... {} bytes in all]", self.body.len())?;
        }
        Ok(())
    }
}

/// Sends `raw` (a whole request, as bytes) and reads one response.
pub fn request(addr: SocketAddr, raw: &[u8]) -> HttpResponse {
    try_request(addr, raw).unwrap_or_else(|e| {
        panic!(
            "HTTP request to {addr} failed: {e}\nrequest: {}",
            String::from_utf8_lossy(raw)
        )
    })
}

/// [`request`], returning I/O and protocol errors instead of panicking.
pub fn try_request(addr: SocketAddr, raw: &[u8]) -> io::Result<HttpResponse> {
    exchange(addr, raw, false, TIMEOUT)
}

/// [`try_request`] waiting up to `timeout` (instead of 10 s) for each read
/// and write: for a peer whose answer waits on its own requests.
pub fn try_request_within(
    addr: SocketAddr,
    raw: &[u8],
    timeout: Duration,
) -> io::Result<HttpResponse> {
    exchange(addr, raw, false, timeout)
}

/// [`request`], then the client stops sending (shuts down its half of the
/// connection) and waits for the answer: a body shorter than the
/// `Content-Length` in `raw` ends there.
pub fn request_then_stop_sending(addr: SocketAddr, raw: &[u8]) -> HttpResponse {
    exchange(addr, raw, true, TIMEOUT)
        .unwrap_or_else(|e| panic!("HTTP request to {addr} failed: {e}"))
}

fn exchange(
    addr: SocketAddr,
    raw: &[u8],
    stop_sending: bool,
    timeout: Duration,
) -> io::Result<HttpResponse> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(raw)?;
    stream.flush()?;
    if stop_sending {
        stream.shutdown(std::net::Shutdown::Write)?;
    }
    let is_head = raw.starts_with(b"HEAD ");
    read_response(BufReader::new(stream), is_head)
}

/// GET `path` (sent as is: escape it yourself) with `Host` and
/// `Connection: close` unless `extra_headers` has them.
pub fn get(addr: SocketAddr, path: &str, extra_headers: &[(&str, &str)]) -> HttpResponse {
    send(addr, "GET", path, extra_headers, None)
}

/// POST an `application/x-www-form-urlencoded` body (see [`form_encode`]).
pub fn post_form(
    addr: SocketAddr,
    path: &str,
    body: &str,
    extra_headers: &[(&str, &str)],
) -> HttpResponse {
    let mut headers = extra_headers.to_vec();
    if !has_header(extra_headers, "Content-Type") {
        headers.push(("Content-Type", "application/x-www-form-urlencoded"));
    }
    send(addr, "POST", path, &headers, Some(body.as_bytes()))
}

/// Any method; adds Host, Connection: close and (with a body) Content-Length
/// unless `headers` has them.
pub fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> HttpResponse {
    request(addr, &build_request(addr, method, path, headers, body))
}

/// The bytes [`send`] would send.
pub fn build_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !has_header(headers, "Host") {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    if !has_header(headers, "Connection") {
        head.push_str("Connection: close\r\n");
    }
    if let Some(b) = body
        && !has_header(headers, "Content-Length")
        && !has_header(headers, "Transfer-Encoding")
    {
        head.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut raw = head.into_bytes();
    raw.extend_from_slice(body.unwrap_or_default());
    raw
}

fn has_header(headers: &[(&str, &str)], name: &str) -> bool {
    headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// `k=v&k2=v2`, each part percent-encoded the way HTML forms do.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", form_escape(k), form_escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// application/x-www-form-urlencoded escaping: space as `+`.
pub fn form_escape(s: &str) -> String {
    percent_encode(s).replace("%20", "+")
}

/// Percent-encodes every byte except the unreserved `A-Za-z0-9-._~`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undoes [`percent_encode`] (any `%XX`; a `%` without two hex digits stays).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = s
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An `application/x-www-form-urlencoded` string (a query, a form body) as
/// name-value pairs, in order, `+` read as a space.
pub fn form_decode(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |part: &str| percent_decode(&part.replace('+', " "));
            (decode(k), decode(v))
        })
        .collect()
}

fn read_response(mut r: impl BufRead, is_head: bool) -> io::Result<HttpResponse> {
    loop {
        let status_line = read_line(&mut r)?;
        if status_line.is_empty() {
            return Err(bad("connection closed before a status line"));
        }
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        if !version.starts_with("HTTP/") {
            return Err(bad(&format!("not an HTTP status line: {status_line:?}")));
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(&format!("bad status line: {status_line:?}")))?;
        let reason = parts.next().unwrap_or("").to_string();
        let mut headers = Vec::new();
        loop {
            let line = read_line(&mut r)?;
            if line.is_empty() {
                break;
            }
            let (n, v) = line
                .split_once(':')
                .ok_or_else(|| bad(&format!("bad header line: {line:?}")))?;
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
        if (100..200).contains(&status) {
            continue; // 100 Continue and friends: the real response follows.
        }
        let mut resp = HttpResponse {
            status,
            reason,
            headers,
            body: Vec::new(),
        };
        if is_head || status == 204 || status == 304 {
            return Ok(resp);
        }
        let chunked = resp
            .header("Transfer-Encoding")
            .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
        if chunked {
            resp.body = read_chunked(&mut r)?;
        } else if let Some(len) = resp.header("Content-Length") {
            let len: usize = len.parse().map_err(|_| bad("bad Content-Length"))?;
            resp.body = vec![0; len];
            r.read_exact(&mut resp.body)?;
        } else {
            r.read_to_end(&mut resp.body)?;
        }
        return Ok(resp);
    }
}

fn read_chunked(r: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(r)?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| bad(&format!("bad chunk size line: {line:?}")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(r)?.is_empty() {}
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])?;
        if !read_line(r)?.is_empty() {
            return Err(bad("chunk not followed by CRLF"));
        }
    }
}

/// One line without its CRLF (header lines are Latin-1 at worst: lossy).
fn read_line(r: &mut impl BufRead) -> io::Result<String> {
    let mut buf = Vec::new();
    r.read_until(b'\n', &mut buf)?;
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}
