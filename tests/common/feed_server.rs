//! A small HTTP server on 127.0.0.1 that serves feeds the way real sites do:
//! ETag / Last-Modified with 304, redirects, 410, 429 with Retry-After, and a
//! slow-drip path. It records every request so tests can see what roost sent.
//! It also stands in for a WebSub subscriber's callback ([`Route::WebsubCallback`]):
//! answers the hub's verification with the challenge, takes pushes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Route {
    /// 200 with validators; answers 304 to a matching conditional request.
    Feed {
        body: Vec<u8>,
        content_type: String,
        etag: String,
        last_modified: String,
    },
    Redirect {
        status: u16,
        location: String,
    },
    /// Any status with extra headers and a short body.
    Status {
        status: u16,
        headers: Vec<(String, String)>,
    },
    /// Headers, then one body byte every 200 ms, forever.
    SlowDrip,
    /// 200 with these headers (`Content-Encoding`, say) and body, as is,
    /// every time: no validators. With `Transfer-Encoding: chunked` among
    /// them, the body goes as one chunk.
    Raw {
        headers: Vec<(String, String)>,
        body: Arc<[u8]>,
    },
    /// A WebSub callback, whatever the query: a GET with `hub.challenge` is
    /// answered 200 `text/plain` with the challenge and `challenge_suffix`
    /// (say "\n", which a strict hub refuses), any other GET 200 empty, a
    /// POST (a push) `push_status` (410 ends a subscription). See
    /// [`FeedServer::websub_callback`].
    WebsubCallback {
        challenge_suffix: String,
        push_status: u16,
    },
}

/// One request as received: method, target, headers (lower-case names),
/// body (de-chunked).
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// The request target as sent, query included.
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Seen {
    /// The target without its query.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }

    /// The value of query parameter `name` (decoded), if any.
    pub fn query(&self, name: &str) -> Option<String> {
        let query = self.path.split_once('?').map_or("", |(_, q)| q);
        super::http::form_decode(query)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// A header's value (`name` in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// A 1×1 PNG, base64.
pub const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

pub struct FeedServer {
    addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FeedServer {
    pub fn start() -> FeedServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the feed server");
        let addr = listener.local_addr().unwrap();
        let routes: Arc<Mutex<HashMap<String, Route>>> = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (r, s) = (routes.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (r, s) = (r.clone(), s.clone());
                std::thread::spawn(move || serve(stream, &r, &s));
            }
        });
        FeedServer { addr, routes, seen }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set(&self, path: &str, route: Route) {
        self.routes.lock().unwrap().insert(path.to_string(), route);
    }

    pub fn feed(&self, path: &str, body: &[u8], content_type: &str) {
        self.set(
            path,
            Route::Feed {
                body: body.to_vec(),
                content_type: content_type.into(),
                etag: format!("\"{}-{}\"", path.len(), body.len()),
                last_modified: "Mon, 23 Nov 2026 10:00:00 GMT".into(),
            },
        );
    }

    /// Serves a 1×1 PNG at `path` (with validators).
    pub fn png(&self, path: &str) {
        self.set(
            path,
            Route::Feed {
                body: super::browser::base64_decode(PNG_1X1),
                content_type: "image/png".into(),
                etag: "\"p\"".into(),
                last_modified: "Mon, 23 Nov 2026 10:00:00 GMT".into(),
            },
        );
    }

    /// An Atom feed whose home and id are `/friend/` here, with one entry
    /// ("A picture" by Friend, now) that replies to `post`, with `content`
    /// (HTML, escaped here) and an image enclosure at `enclosure`.
    pub fn picture_reply_feed(&self, post: &str, content: &str, enclosure: &str) -> String {
        let id = self.url("/friend/");
        let now = chrono::Utc::now().to_rfc3339();
        let content = content
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        format!(
            "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\" \
             xmlns:thr=\"http://purl.org/syndication/thread/1.0\">\
             <title>Friend</title><id>{id}</id><updated>{now}</updated><link href=\"{id}\"/>\
             <entry><id>{id}1</id><title>A picture</title><updated>{now}</updated><link href=\"{id}1\"/>\
             <author><name>Friend</name></author><thr:in-reply-to ref=\"{post}\" href=\"{post}\"/>\
             <content type=\"html\">{content}</content>\
             <link rel=\"enclosure\" href=\"{enclosure}\" type=\"image/png\" length=\"10\"/></entry></feed>"
        )
    }

    /// A WebSub callback at `path` that echoes challenges exactly and
    /// answers pushes 204; [`FeedServer::requests_ignoring_query`] shows what
    /// the hub sent it.
    pub fn websub_callback(&self, path: &str) {
        self.set(
            path,
            Route::WebsubCallback {
                challenge_suffix: String::new(),
                push_status: 204,
            },
        );
    }

    /// Requests made for `path`, whatever their query, so far.
    pub fn requests_ignoring_query(&self, path: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path_only() == path)
            .cloned()
            .collect()
    }

    /// Every request made so far, in order.
    pub fn requests_all(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Requests made for `path` so far.
    pub fn requests(&self, path: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

fn serve(stream: TcpStream, routes: &Mutex<HashMap<String, Route>>, seen: &Mutex<Vec<Seen>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or("GET").to_string();
    let path = words.next().unwrap_or("/").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let body = read_body(&mut reader, &headers);
    let request = Seen {
        method: method.clone(),
        path: path.clone(),
        headers: headers.clone(),
        body,
    };
    seen.lock().unwrap().push(request.clone());
    let route = {
        let routes = routes.lock().unwrap();
        let callback = path
            .split_once('?')
            .and_then(|(p, _)| routes.get(p))
            .filter(|r| matches!(r, Route::WebsubCallback { .. }));
        routes.get(&path).or(callback).cloned()
    };
    let mut out = stream;
    // Extra headers saying `Transfer-Encoding: chunked` get the body as one
    // chunk, without a Content-Length (as Apache serves a CGI's output).
    let respond = |out: &mut TcpStream, status: u16, extra: &[(String, String)], body: &[u8]| {
        let chunked = extra.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("Transfer-Encoding") && v.eq_ignore_ascii_case("chunked")
        });
        let mut head = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
        if !chunked {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let _ = out.write_all(head.as_bytes());
        if chunked {
            let _ = write!(out, "{:x}\r\n", body.len());
            let _ = out.write_all(body);
            let _ = out.write_all(b"\r\n0\r\n\r\n");
        } else {
            let _ = out.write_all(body);
        }
    };
    match route {
        None => respond(&mut out, 404, &[], b"not found"),
        Some(Route::Feed {
            body,
            content_type,
            etag,
            last_modified,
        }) => {
            let fresh = headers.get("if-none-match") == Some(&etag)
                || (!headers.contains_key("if-none-match")
                    && headers.get("if-modified-since") == Some(&last_modified));
            let validators = vec![
                ("ETag".to_string(), etag),
                ("Last-Modified".to_string(), last_modified),
            ];
            if fresh {
                respond(&mut out, 304, &validators, b"");
            } else {
                let mut extra = validators;
                extra.push(("Content-Type".into(), content_type));
                respond(&mut out, 200, &extra, &body);
            }
        }
        Some(Route::Redirect { status, location }) => {
            respond(&mut out, status, &[("Location".into(), location)], b"")
        }
        Some(Route::Status { status, headers }) => respond(&mut out, status, &headers, b"status"),
        Some(Route::Raw { headers, body }) => respond(&mut out, 200, &headers, &body),
        Some(Route::WebsubCallback {
            challenge_suffix,
            push_status,
        }) => {
            if method == "POST" {
                respond(&mut out, push_status, &[], b"");
            } else {
                let body = request
                    .query("hub.challenge")
                    .map(|c| c + &challenge_suffix)
                    .unwrap_or_default();
                let text = [("Content-Type".to_string(), "text/plain".to_string())];
                respond(&mut out, 200, &text, body.as_bytes());
            }
        }
        Some(Route::SlowDrip) => {
            let _ = out.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n<rss");
            for _ in 0..1000 {
                std::thread::sleep(Duration::from_millis(200));
                if out.write_all(b" ").is_err() {
                    return;
                }
            }
        }
    }
}

/// The request body: `Content-Length` bytes, or de-chunked; empty if neither
/// (or on a read error).
fn read_body(reader: &mut impl BufRead, headers: &HashMap<String, String>) -> Vec<u8> {
    let chunked = headers
        .get("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if !chunked {
        let length = headers
            .get("content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        return match reader.read_exact(&mut body) {
            Ok(()) => body,
            Err(_) => Vec::new(),
        };
    }
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        if reader.read_line(&mut size).unwrap_or(0) == 0 {
            return body;
        }
        let hex = size.trim().split(';').next().unwrap_or("");
        let Ok(n) = usize::from_str_radix(hex, 16) else {
            return body;
        };
        let mut chunk = vec![0; n + 2]; // the data and its CRLF
        if n == 0 || reader.read_exact(&mut chunk).is_err() {
            return body; // (trailers, if any, are left unread)
        }
        body.extend_from_slice(&chunk[..n]);
    }
}
