//! The one `Request` and `Response` that every way in (CGI, FastCGI, `serve`)
//! converts to and from, and the CGI meta-variable parsing they share.
//! Does not route, render or touch the database.

pub use crate::render::status_reason as reason;
use std::path::PathBuf;

/// Request bodies above this many bytes are refused with 413 before they are read.
/// Large enough for the biggest post form (5,000 four-byte characters percent-encoded
/// is 60,000 bytes), and below mod_fcgid's own 128 KiB cap, so every way in answers 413 alike.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// CGI meta-variables as the server sent them: raw bytes, because Apache puts
/// undecodable bytes into `PATH_INFO` and such, and they must not be dropped.
#[derive(Debug, Default, Clone)]
pub struct Params(pub Vec<(Vec<u8>, Vec<u8>)>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k.as_slice() == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }

    /// The value as text; bytes that are not UTF-8 become U+FFFD, so they can
    /// never match a route or a stored value by accident.
    pub fn get_str(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// From the process environment (CGI). Uses `vars_os`, which never panics on bytes.
    pub fn from_env() -> Params {
        use std::os::unix::ffi::OsStringExt;
        Params(
            std::env::vars_os()
                .map(|(k, v)| (k.into_vec(), v.into_vec()))
                .collect(),
        )
    }

    /// `CONTENT_LENGTH` as a number; missing or empty means 0, garbage is an error.
    pub fn content_length(&self) -> Result<usize, Response> {
        match self.get_str("CONTENT_LENGTH").as_deref().map(str::trim) {
            None | Some("") => Ok(0),
            Some(n) => n
                .parse()
                .map_err(|_| Response::plain(400, "Bad Request: Content-Length is not a number\n")),
        }
    }

    /// The largest body the addressed route takes (`app::body_limit`).
    pub fn body_limit(&self) -> usize {
        crate::web::app::body_limit(
            &self.get_str("REQUEST_METHOD").unwrap_or_default(),
            &self.get_str("PATH_INFO").unwrap_or_default(),
            &self.get_str("CONTENT_TYPE").unwrap_or_default(),
        )
    }

    /// Refuses a body over the route's limit before anything reads it.
    pub fn body_length_within_limit(&self) -> Result<usize, Response> {
        let len = self.content_length()?;
        if len > self.body_limit() {
            return Err(self.payload_too_large());
        }
        Ok(len)
    }

    /// 413 for the addressed route, in its error format (`app::payload_too_large`).
    pub fn payload_too_large(&self) -> Response {
        crate::web::app::payload_too_large(
            &self.get_str("REQUEST_METHOD").unwrap_or_default(),
            &self.get_str("PATH_INFO").unwrap_or_default(),
            &self.get_str("CONTENT_TYPE").unwrap_or_default(),
        )
    }
}

/// 413 for a body over `limit` bytes.
pub fn payload_too_large(limit: usize) -> Response {
    Response::plain(
        413,
        &format!("Payload Too Large: request bodies here are limited to {limit} bytes\n"),
    )
}

/// 400 for a body that ended before the `CONTENT_LENGTH` it announced: the
/// client went away or something cut it, and a cut form must not be acted on
/// (a post saved half written). Every way in answers it alike.
pub fn body_cut_short(received: usize, declared: usize) -> Response {
    Response::plain(
        400,
        &format!(
            "Bad Request: the request body ended after {received} of the {declared} bytes \
             its Content-Length announced; nothing was done. Send it again.\n"
        ),
    )
}

/// 408 for a body that did not arrive in time (`gateway::BODY_DEADLINE`).
pub fn body_too_slow(received: usize, declared: usize) -> Response {
    Response::plain(
        408,
        &format!(
            "Request Timeout: {received} of the {declared} bytes of the request body \
             arrived in time; nothing was done. Send it again.\n"
        ),
    )
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path below the mount point, percent-decoded, always starting with `/`.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Request headers with lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Where the node is mounted: `""` at the root of a site, `"/notes"` below it.
    pub base: String,
    pub https: bool,
    pub remote_addr: String,
    /// `ROOST_HOME` as set by the web server's configuration (`SetEnv`).
    pub home: Option<PathBuf>,
    /// `DOCUMENT_ROOT`: where the web server serves files from (the setup
    /// page keeps the data out of it).
    pub document_root: Option<PathBuf>,
}

impl Request {
    /// Builds a request from CGI meta-variables, as CGI and FastCGI both deliver them.
    pub fn from_params(params: &Params, body: Vec<u8>) -> Request {
        let mut headers = Vec::new();
        for (k, v) in &params.0 {
            if let Some(name) = k.strip_prefix(b"HTTP_") {
                let name = String::from_utf8_lossy(name)
                    .to_ascii_lowercase()
                    .replace('_', "-");
                headers.push((name, String::from_utf8_lossy(v).into_owned()));
            }
        }
        // CGI passes these two outside the HTTP_ namespace.
        for (param, name) in [
            ("CONTENT_TYPE", "content-type"),
            ("CONTENT_LENGTH", "content-length"),
        ] {
            if let Some(v) = params.get_str(param).filter(|v| !v.is_empty()) {
                headers.push((name.into(), v));
            }
        }
        // Apache withholds Authorization from scripts; the sample.htaccess
        // fallbacks hand it over under these names instead.
        if !headers.iter().any(|(k, _)| k == "authorization") {
            for alt in ["REDIRECT_HTTP_AUTHORIZATION", "HTTP_AUTHORIZATION"] {
                if let Some(v) = params.get_str(alt).filter(|v| !v.is_empty()) {
                    headers.push(("authorization".into(), v));
                    break;
                }
            }
        }
        let path_info = params.get_str("PATH_INFO").unwrap_or_default();
        let path = if path_info.is_empty() {
            "/".to_string()
        } else {
            path_info.clone()
        };
        let request_uri = params.get_str("REQUEST_URI").unwrap_or_default();
        let base = mount_point(
            &request_uri,
            &path_info,
            params.get_str("SCRIPT_NAME").as_deref(),
        );
        let https = params
            .get_str("HTTPS")
            .is_some_and(|v| v.eq_ignore_ascii_case("on") || v == "1")
            || params
                .get_str("REQUEST_SCHEME")
                .is_some_and(|v| v.eq_ignore_ascii_case("https"));
        let home = ["ROOST_HOME", "REDIRECT_ROOST_HOME"]
            .iter()
            .find_map(|k| params.get(k).filter(|v| !v.is_empty()))
            .map(|v| {
                use std::os::unix::ffi::OsStrExt;
                PathBuf::from(std::ffi::OsStr::from_bytes(v))
            });
        Request {
            method: params
                .get_str("REQUEST_METHOD")
                .unwrap_or_else(|| "GET".into()),
            path,
            query: params.get_str("QUERY_STRING").unwrap_or_default(),
            headers,
            body,
            base,
            https,
            remote_addr: params.get_str("REMOTE_ADDR").unwrap_or_default(),
            home,
            // mod_userdir (/~me/) names public_html only in the context's.
            document_root: ["CONTEXT_DOCUMENT_ROOT", "DOCUMENT_ROOT"]
                .iter()
                .find_map(|k| params.get(k).filter(|v| !v.is_empty()))
                .map(|v| {
                    use std::os::unix::ffi::OsStrExt;
                    PathBuf::from(std::ffi::OsStr::from_bytes(v))
                }),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The request as the proxy in front of roost saw it, for when the owner
    /// trusts it (`trust_forwarded`): HTTPS from the last `X-Forwarded-Proto`
    /// value, the client from the last `X-Forwarded-For` entry (the one the
    /// proxy added; earlier ones are the client's word). `X-Forwarded-Host`
    /// is never used: absolute URLs come from the `url` setting.
    pub fn as_forwarded(&self) -> Request {
        let last = |name: &str| {
            self.header(name)
                .and_then(|v| v.rsplit(',').next())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let mut req = self.clone();
        if let Some(proto) = last("x-forwarded-proto") {
            req.https = proto.eq_ignore_ascii_case("https");
        }
        if let Some(client) = last("x-forwarded-for") {
            req.remote_addr = client;
        }
        req
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.header("cookie")?
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim())
    }

    /// Whether the client's cached copy is current (RFC 9110 §13.2.2:
    /// If-None-Match, when sent, decides; else If-Modified-Since).
    pub fn has_fresh_copy(&self, etag: &str, last_modified_unix: i64) -> bool {
        match self.header("if-none-match") {
            Some(tags) => tags
                .split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.trim_start_matches("W/") == etag),
            None => self
                .header("if-modified-since")
                .and_then(|d| httpdate::parse_http_date(d).ok())
                .and_then(|d| d.duration_since(std::time::UNIX_EPOCH).ok())
                .is_some_and(|since| since.as_secs() as i64 >= last_modified_unix),
        }
    }

    /// One query parameter, decoded.
    /// The body as a form (`application/x-www-form-urlencoded`, valid
    /// UTF-8, no field twice): what a server-to-server form endpoint takes.
    /// `None` for anything else.
    pub fn form_fields(&self) -> Option<Vec<(String, String)>> {
        let content_type = self.header("content-type").unwrap_or("");
        let mime = content_type.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded")
            || !is_valid_urlencoded_utf8(&self.body)
        {
            return None;
        }
        let fields = parse_urlencoded(&self.body);
        let mut seen = std::collections::HashSet::with_capacity(fields.len());
        fields
            .iter()
            .all(|(name, _)| seen.insert(name))
            .then_some(fields)
    }

    pub fn query_param(&self, name: &str) -> Option<String> {
        parse_urlencoded(self.query.as_bytes())
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// Where the node is mounted. Apache hands over `REQUEST_URI` (raw) and
/// `PATH_INFO` (decoded): the mount point is what precedes `PATH_INFO` in the
/// decoded URI path. `SCRIPT_NAME` is used only when that does not work,
/// because through the rewrite it names `roost.cgi`, which must not leak into links.
fn mount_point(request_uri: &str, path_info: &str, script_name: Option<&str>) -> String {
    let uri_path = request_uri.split('?').next().unwrap_or("");
    let decoded = percent_decode(uri_path.as_bytes());
    let decoded = String::from_utf8_lossy(&decoded);
    let base = if !request_uri.is_empty() {
        if path_info.is_empty() {
            decoded.trim_end_matches('/').to_string()
        } else if let Some(prefix) = decoded.strip_suffix(path_info) {
            prefix.to_string()
        } else {
            script_name.unwrap_or("").to_string()
        }
    } else {
        script_name.unwrap_or("").to_string()
    };
    base.trim_end_matches('/').to_string()
}

pub fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%' && i + 2 < input.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(input[i + 1]), hex(input[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// `application/x-www-form-urlencoded` pairs. Undecodable bytes become U+FFFD;
/// callers that must refuse them check `is_valid_urlencoded_utf8` first.
pub fn parse_urlencoded(input: &[u8]) -> Vec<(String, String)> {
    input
        .split(|&b| b == b'&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &b""[..]),
            };
            (decode_component(k), decode_component(v))
        })
        .collect()
}

fn decode_component(raw: &[u8]) -> String {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    String::from_utf8_lossy(&percent_decode(&plus_as_space)).into_owned()
}

/// True when every field of a urlencoded body decodes to valid UTF-8.
pub fn is_valid_urlencoded_utf8(input: &[u8]) -> bool {
    input.split(|&b| b == b'&').all(|part| {
        let plus_as_space: Vec<u8> = part
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        std::str::from_utf8(&percent_decode(&plus_as_space)).is_ok()
    })
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn plain(status: u16, text: &str) -> Response {
        Response::new(
            status,
            "text/plain; charset=utf-8",
            text.as_bytes().to_vec(),
        )
    }

    pub fn html(status: u16, markup: String) -> Response {
        Response::new(status, "text/html; charset=utf-8", markup.into_bytes())
    }

    /// 303 See Other: after a form POST the browser fetches `location` with GET.
    /// `location` is absolute (`Site::absolute`): Apache turns a CGI's
    /// `Location: /path` into an internal redirect when it has no status, and
    /// an absolute URL is right for every way in.
    pub fn see_other(location: &str) -> Response {
        debug_assert!(
            location.starts_with("http://") || location.starts_with("https://"),
            "redirects are absolute: {location}"
        );
        Response::new(
            303,
            "text/plain; charset=utf-8",
            format!("See {location}\n"),
        )
        .with_header("Location", location)
    }

    pub fn not_modified() -> Response {
        Response {
            status: 304,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header. CR, LF and NUL are removed from the name and the value
    /// (and anything but a token character from the name): values are built
    /// from request paths, settings and other input, and must never end the
    /// header or start another one.
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers
            .push((header_name_safe(name), header_value_safe(value)));
        self
    }

    /// The headers as they go on the wire: the same cleaning as `with_header`,
    /// again, for headers pushed onto `headers` directly.
    pub fn header_lines(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.headers
            .iter()
            .map(|(k, v)| (header_name_safe(k), header_value_safe(v)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The response as a CGI script prints it: `Status:` line, headers, blank line, body.
    /// FastCGI sends exactly these bytes in its STDOUT records.
    pub fn to_cgi_bytes(&self) -> Vec<u8> {
        let mut out = self.cgi_head();
        out.extend_from_slice(&self.body);
        out
    }

    /// Everything `to_cgi_bytes` puts before the body, up to the blank line.
    pub fn cgi_head(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(
            format!("Status: {} {}\r\n", self.status, reason(self.status)).as_bytes(),
        );
        for (k, v) in self.header_lines() {
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if self.status != 304 && self.header("Content-Length").is_none() {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// A header name keeps only RFC 9110 token characters.
fn header_name_safe(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(*c))
        .collect()
}

/// A header value without the characters that could end it: CR, LF, NUL.
fn header_value_safe(value: &str) -> String {
    if !value.contains(['\r', '\n', '\0']) {
        return value.to_string();
    }
    value.replace(['\r', '\n', '\0'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &[u8])]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.to_vec()))
                .collect(),
        )
    }

    #[test]
    fn mount_point_at_root_and_in_subdirectory() {
        assert_eq!(
            mount_point("/posts/1?x=1", "/posts/1", Some("/roost.cgi")),
            ""
        );
        assert_eq!(
            mount_point("/notes/posts/1", "/posts/1", Some("/notes/roost.cgi")),
            "/notes"
        );
        assert_eq!(
            mount_point("/notes/", "/", Some("/notes/roost.cgi")),
            "/notes"
        );
        assert_eq!(mount_point("/~me/n/a%20b", "/a b", None), "/~me/n");
        assert_eq!(
            mount_point("/roost.cgi/feed.atom", "/feed.atom", Some("/roost.cgi")),
            "/roost.cgi"
        );
    }

    #[test]
    fn non_utf8_path_info_is_kept_as_replacement_characters() {
        let p = params(&[("PATH_INFO", b"/posts/\xe9"), ("REQUEST_METHOD", b"GET")]);
        let req = Request::from_params(&p, Vec::new());
        assert_eq!(req.path, "/posts/\u{fffd}");
    }

    #[test]
    fn authorization_fallback_is_read() {
        let p = params(&[("REDIRECT_HTTP_AUTHORIZATION", b"Bearer x")]);
        assert_eq!(
            Request::from_params(&p, Vec::new()).header("Authorization"),
            Some("Bearer x")
        );
    }

    #[test]
    fn https_comes_from_the_server_and_forwarded_headers_only_when_trusted() {
        let plain = Request::from_params(&params(&[]), Vec::new());
        assert!(!plain.https);
        for https in [
            params(&[("HTTPS", b"on")]),
            params(&[("HTTPS", b"1")]),
            params(&[("REQUEST_SCHEME", b"https")]),
        ] {
            assert!(Request::from_params(&https, Vec::new()).https);
        }
        let p = params(&[
            ("REMOTE_ADDR", b"10.0.0.1"),
            ("HTTP_X_FORWARDED_PROTO", b"https"),
            ("HTTP_X_FORWARDED_FOR", b"198.51.100.9, 203.0.113.5"),
        ]);
        let req = Request::from_params(&p, Vec::new());
        assert!(!req.https, "not trusted by default");
        assert_eq!(req.remote_addr, "10.0.0.1");
        let trusted = req.as_forwarded();
        assert!(trusted.https);
        assert_eq!(trusted.remote_addr, "203.0.113.5", "the proxy's entry");
        let p = params(&[("HTTPS", b"on"), ("HTTP_X_FORWARDED_PROTO", b"http")]);
        assert!(!Request::from_params(&p, Vec::new()).as_forwarded().https);
    }

    #[test]
    fn oversize_and_garbage_content_length_are_refused() {
        let big = (MAX_BODY_BYTES + 1).to_string();
        assert_eq!(
            params(&[("CONTENT_LENGTH", big.as_bytes())])
                .body_length_within_limit()
                .unwrap_err()
                .status,
            413
        );
        assert_eq!(
            params(&[("CONTENT_LENGTH", b"12x")])
                .body_length_within_limit()
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(params(&[]).body_length_within_limit().unwrap(), 0);
    }

    #[test]
    fn headers_never_carry_cr_lf_or_nul() {
        let r = Response::plain(200, "x")
            .with_header("Location", "https://a.example/\r\nSet-Cookie: evil=1")
            .with_header("X-Bad\r\nName", "a\0b");
        assert_eq!(
            r.header("Location"),
            Some("https://a.example/Set-Cookie: evil=1")
        );
        assert_eq!(r.header("X-BadName"), Some("ab"));
        // Pushed directly, bypassing with_header: cleaned on the way out.
        let mut raw = Response::plain(200, "x");
        raw.headers
            .push(("Set-Cookie".into(), "a=1\r\nX-Injected: yes".into()));
        let wire = String::from_utf8(raw.to_cgi_bytes()).unwrap();
        let head = wire.split("\r\n\r\n").next().unwrap();
        assert!(head.contains("Set-Cookie: a=1X-Injected: yes"), "{head}");
        assert!(!head.lines().any(|l| l.starts_with("X-Injected")), "{head}");
    }

    #[test]
    fn urlencoded_decoding() {
        let pairs = parse_urlencoded(b"a=1+2&b=%C3%A9&c&=x");
        assert_eq!(pairs[0], ("a".into(), "1 2".into()));
        assert_eq!(pairs[1], ("b".into(), "é".into()));
        assert_eq!(pairs[2], ("c".into(), "".into()));
        assert!(is_valid_urlencoded_utf8(b"a=%C3%A9"));
        assert!(!is_valid_urlencoded_utf8(b"a=%E9"));
        assert_eq!(percent_decode(b"%4"), b"%4");
        assert_eq!(percent_decode(b"%41%"), b"A%");
    }
}
