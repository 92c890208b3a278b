//! `roost serve` and `roost fastcgi --listen`: the same pages through the
//! built-in server and through a FastCGI socket, driven by real clients.

mod common;

use common::http;
use common::process::{Running, free_port, hidden_csrf, start, wait_for_tcp};
use common::{OWNER_PASSWORD, TempDir, expect_success, roost_cli};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn new_home(dir: &TempDir, url: &str) -> std::path::PathBuf {
    let home = dir.join("data");
    let out = roost_cli(
        &home,
        &[
            "init",
            "--url",
            url,
            "--name",
            "Served Owner",
            "--password-stdin",
        ],
        Some(&format!("{OWNER_PASSWORD}\n")),
    );
    expect_success("init", &out);
    home
}

#[test]
fn serve_answers_pages_feeds_and_the_login_flow() {
    let dir = TempDir::new("roost-serve");
    let port = free_port();
    let home = new_home(&dir, &format!("http://127.0.0.1:{port}/"));
    expect_success(
        "post",
        &roost_cli(&home, &["post", "served by roost serve"], None),
    );
    let _server = start(&home, &["serve", "--listen", &format!("127.0.0.1:{port}")]);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_for_tcp(addr);

    let page = http::get(addr, "/", &[]);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("served by roost serve"));
    let etag = page.header("ETag").unwrap().to_string();
    assert_eq!(
        http::get(addr, "/", &[("If-None-Match", &etag)]).status,
        304
    );
    assert_eq!(
        http::get(addr, "/feed.atom", &[]).mime().as_deref(),
        Some("application/atom+xml")
    );
    assert_eq!(http::get(addr, "/missing", &[]).status, 404);
    assert_eq!(http::send(addr, "PUT", "/", &[], Some(b"x")).status, 405);
    let big = vec![b'a'; 300 * 1024];
    let refused = http::send(
        addr,
        "POST",
        "/posts",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(&big),
    );
    assert_eq!(refused.status, 413);

    // Log in through the form and post through the compose box.
    let form = http::get(addr, "/login", &[]);
    let login_cookie = form.cookie("roost_login").expect("login CSRF cookie");
    let body = http::form_encode(&[
        ("csrf", &hidden_csrf(&form.text())),
        ("password", OWNER_PASSWORD),
    ]);
    let cookie_header = format!("roost_login={login_cookie}");
    let done = http::post_form(addr, "/login", &body, &[("Cookie", &cookie_header)]);
    assert_eq!(done.status, 303, "{}", done.text());
    let session = format!(
        "roost_session={}",
        done.cookie("roost_session").expect("session")
    );
    let owner_page = http::get(addr, "/", &[("Cookie", &session)]);
    let csrf = hidden_csrf(&owner_page.text());
    let body = http::form_encode(&[("csrf", &csrf), ("text", "posted through serve")]);
    assert_eq!(
        http::post_form(addr, "/posts", &body, &[("Cookie", &session)]).status,
        303
    );
    let forged = http::form_encode(&[("text", "forged")]);
    assert_eq!(
        http::post_form(addr, "/posts", &forged, &[("Cookie", &session)]).status,
        403
    );
    let page = http::get(addr, "/", &[]).text();
    assert!(page.contains("posted through serve") && !page.contains("forged"));
}

fn post_count(home: &std::path::Path) -> usize {
    let out = expect_success("export", &roost_cli(home, &["export"], None));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    doc["posts"].as_array().unwrap().len()
}

#[test]
fn serve_refuses_a_body_shorter_than_its_content_length_and_stores_nothing() {
    let dir = TempDir::new("roost-serve");
    let port = free_port();
    let home = new_home(&dir, &format!("http://127.0.0.1:{port}/"));
    let _server = start(&home, &["serve", "--listen", &format!("127.0.0.1:{port}")]);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_for_tcp(addr);
    let form = http::get(addr, "/login", &[]);
    let login_cookie = format!("roost_login={}", form.cookie("roost_login").unwrap());
    let body = http::form_encode(&[
        ("csrf", &hidden_csrf(&form.text())),
        ("password", OWNER_PASSWORD),
    ]);
    let done = http::post_form(addr, "/login", &body, &[("Cookie", &login_cookie)]);
    let session = format!("roost_session={}", done.cookie("roost_session").unwrap());
    let csrf = hidden_csrf(&http::get(addr, "/", &[("Cookie", &session)]).text());
    // Over 1 KiB: a shorter body tiny_http reads itself, and drops the
    // connection when it is cut (nothing stored, no answer either).
    let text = "cut off in the mid ".repeat(100);
    let body = http::form_encode(&[("csrf", &csrf), ("text", &text)]);
    let declared = (body.len() + 100).to_string();
    let raw = http::build_request(
        addr,
        "POST",
        "/posts",
        &[
            ("Cookie", &session),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", &declared),
        ],
        Some(body.as_bytes()),
    );
    let r = http::request_then_stop_sending(addr, &raw);
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(post_count(&home), 0);
}

/// One FastCGI request for `path` with a cookie and a body that announces
/// `declared` bytes; the answer as text (the CGI-style response).
fn fastcgi_post(
    addr: SocketAddr,
    path: &str,
    cookie: &str,
    body: &[u8],
    declared: usize,
) -> String {
    let declared = declared.to_string();
    let method: &[u8] = if body.is_empty() { b"GET" } else { b"POST" };
    let answer = fastcgi_exchange(
        &mut TcpStream::connect(addr).unwrap(),
        &fastcgi_request(
            &[
                (b"REQUEST_METHOD", method),
                (b"PATH_INFO", path.as_bytes()),
                (b"REQUEST_URI", path.as_bytes()),
                (b"HTTP_COOKIE", cookie.as_bytes()),
                (b"CONTENT_TYPE", b"application/x-www-form-urlencoded"),
                (b"CONTENT_LENGTH", declared.as_bytes()),
            ],
            body,
        ),
    );
    String::from_utf8_lossy(&answer).into_owned()
}

/// `name=value` of the response's `Set-Cookie: name=...`.
fn set_cookie(answer: &str, name: &str) -> String {
    let line = answer
        .lines()
        .find(|l| l.starts_with(&format!("Set-Cookie: {name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {answer}"));
    line["Set-Cookie: ".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn fastcgi_refuses_a_stdin_stream_shorter_than_its_content_length_and_stores_nothing() {
    let dir = TempDir::new("roost-fcgi");
    let home = new_home(&dir, "http://127.0.0.1/");
    let port = free_port();
    let _server = start(
        &home,
        &["fastcgi", "--listen", &format!("127.0.0.1:{port}")],
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_for_tcp(addr);
    let form = fastcgi_post(addr, "/login", "", b"", 0);
    let body = http::form_encode(&[("csrf", &hidden_csrf(&form)), ("password", OWNER_PASSWORD)]);
    let done = fastcgi_post(
        addr,
        "/login",
        &set_cookie(&form, "roost_login"),
        body.as_bytes(),
        body.len(),
    );
    let session = set_cookie(&done, "roost_session");
    let csrf = hidden_csrf(&fastcgi_post(addr, "/", &session, b"", 0));
    let body = http::form_encode(&[("csrf", &csrf), ("text", "cut off in the mid")]);
    let short = fastcgi_post(addr, "/posts", &session, body.as_bytes(), body.len() + 100);
    assert_eq!(status_of(short.as_bytes()), 400, "{short}");
    assert_eq!(post_count(&home), 0);
    // The whole body goes through.
    let whole = fastcgi_post(addr, "/posts", &session, body.as_bytes(), body.len());
    assert_eq!(status_of(whole.as_bytes()), 303, "{whole}");
    assert_eq!(post_count(&home), 1);
}

#[test]
fn serve_creates_a_node_on_an_empty_home() {
    let dir = TempDir::new("roost-serve");
    let port = free_port();
    let home = dir.join("fresh");
    let _server = start(&home, &["serve", "--listen", &format!("127.0.0.1:{port}")]);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_for_tcp(addr);
    let page = http::get(addr, "/", &[]);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Nothing posted yet"));
    assert!(home.join("roost.db").exists());
}

/// What a `serve` started with [`start`] prints on stderr, line by line,
/// until `last` is in a line (or 10 s pass): every line read.
fn stderr_until(server: &mut Running, last: &str) -> Vec<String> {
    use std::io::BufRead;
    let stderr = server.0.stderr.take().expect("piped stderr");
    let (lines, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match receive.recv_timeout(left) {
            Ok(line) => {
                let done = line.contains(last);
                seen.push(line);
                if done {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!("serve never printed {last:?}; it printed {seen:?}");
}

/// The address in a line, from `http` to the next space.
fn url_in(line: &str) -> String {
    let at = line
        .find("http")
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    line[at..].split_whitespace().next().unwrap().to_string()
}

/// `serve` on a fresh data directory had no password and no way to set one
/// from where the user is: it now prints a one-time link where the owner
/// chooses it in the browser, and is logged in.
#[test]
fn serve_on_a_fresh_home_prints_a_one_time_setup_link() {
    let dir = TempDir::new("roost-serve");
    let port = free_port();
    let home = dir.join("fresh");
    let mut server = start(&home, &["serve", "--listen", &format!("127.0.0.1:{port}")]);
    let printed = stderr_until(&mut server, "setup?token=");
    let link = url_in(printed.last().unwrap());
    let prefix = format!("http://127.0.0.1:{port}/");
    let path = link.strip_prefix(&prefix).map(|p| format!("/{p}"));
    let path = path.unwrap_or_else(|| panic!("{link} is not on {prefix}"));
    let token = path.split("token=").nth(1).unwrap().to_string();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_for_tcp(addr);
    let origin = [("Origin", prefix.trim_end_matches('/'))];

    let form = http::get(addr, &path, &[]);
    assert_eq!(form.status, 200, "{}", form.text());
    assert!(form.text().contains("type=\"password\""), "{}", form.text());
    assert_eq!(form.header("Cache-Control"), Some("no-store"));
    // A wrong token gets no form; two different passwords set nothing.
    let wrong = http::get(addr, &format!("/setup?token={}", "0".repeat(64)), &[]);
    assert_eq!(wrong.status, 403);
    let differ = http::form_encode(&[
        ("token", &token),
        ("password", OWNER_PASSWORD),
        ("again", "something else entirely"),
    ]);
    let refused = http::post_form(addr, "/setup", &differ, &origin);
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(refused.text().contains("differ"), "{}", refused.text());

    let body = http::form_encode(&[
        ("token", &token),
        ("password", OWNER_PASSWORD),
        ("again", OWNER_PASSWORD),
    ]);
    let done = http::post_form(addr, "/setup", &body, &origin);
    assert_eq!(done.status, 303, "{}", done.text());
    assert_eq!(done.header("Location"), Some(prefix.as_str()));
    let session = format!(
        "roost_session={}",
        done.cookie("roost_session").expect("logged in")
    );
    let owner_page = http::get(addr, "/", &[("Cookie", &session)]).text();
    assert!(
        owner_page.contains("name=\"csrf\""),
        "the compose form: {owner_page}"
    );

    // The link is used up, and the password is the one chosen.
    let again = http::post_form(addr, "/setup", &body, &origin);
    assert_eq!(again.status, 410, "{}", again.text());
    assert_eq!(http::get(addr, &path, &[]).status, 410);
    let login = http::get(addr, "/login", &[]);
    let login_cookie = login.cookie("roost_login").expect("login CSRF cookie");
    let body = http::form_encode(&[
        ("csrf", &hidden_csrf(&login.text())),
        ("password", OWNER_PASSWORD),
    ]);
    let cookie = format!("roost_login={login_cookie}");
    let logged_in = http::post_form(addr, "/login", &body, &[("Cookie", &cookie), origin[0]]);
    assert_eq!(logged_in.status, 303, "{}", logged_in.text());
}

/// `serve --listen` on another port than the `url` setting: a url on a
/// local address (what `serve` set) follows; any other is kept, and said.
#[test]
fn serve_on_another_port_follows_a_local_url_and_names_any_other() {
    let dir = TempDir::new("roost-serve");
    let home = new_home(&dir, "http://127.0.0.1:1/");
    let port = free_port();
    let mut server = start(&home, &["serve", "--listen", &format!("127.0.0.1:{port}")]);
    let printed = stderr_until(&mut server, "serving on");
    let served = format!("http://127.0.0.1:{port}/");
    let url = expect_success("config url", &roost_cli(&home, &["config", "url"], None));
    assert_eq!(url.trim(), served, "{printed:?}");
    drop(server);

    expect_success(
        "config url",
        &roost_cli(
            &home,
            &["config", "url", "https://example.org/notes/"],
            None,
        ),
    );
    let port = free_port();
    let mut server = start(&home, &["serve", "--listen", &format!("127.0.0.1:{port}")]);
    let printed = stderr_until(&mut server, "serving on").join("\n");
    assert!(
        printed.contains("redirects go to the url setting, https://example.org/notes/"),
        "{printed}"
    );
    let url = expect_success("config url", &roost_cli(&home, &["config", "url"], None));
    assert_eq!(url.trim(), "https://example.org/notes/");
}

#[test]
fn serve_port_flag_suggests_listen() {
    let dir = TempDir::new("roost-serve");
    let out = roost_cli(&dir.join("data"), &["serve", "--port", "9000"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--listen 127.0.0.1:9000"), "{err}");
    assert!(!dir.join("data").exists(), "nothing created");
}

// --- a minimal FastCGI client, written from the specification ---

fn record(kind: u8, id: u16, content: &[u8]) -> Vec<u8> {
    let mut out = vec![
        1,
        kind,
        (id >> 8) as u8,
        id as u8,
        (content.len() >> 8) as u8,
        content.len() as u8,
        0,
        0,
    ];
    out.extend_from_slice(content);
    out
}

fn name_value(name: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for len in [name.len(), value.len()] {
        if len < 128 {
            out.push(len as u8);
        } else {
            out.extend_from_slice(&((len as u32) | 0x8000_0000).to_be_bytes());
        }
    }
    out.extend_from_slice(name);
    out.extend_from_slice(value);
    out
}

fn fastcgi_request(params: &[(&[u8], &[u8])], body: &[u8]) -> Vec<u8> {
    let mut out = record(1, 1, &[0, 1, 0, 0, 0, 0, 0, 0]);
    let mut encoded = Vec::new();
    for (k, v) in params {
        encoded.extend(name_value(k, v));
    }
    out.extend(record(4, 1, &encoded));
    out.extend(record(4, 1, b""));
    if !body.is_empty() {
        out.extend(record(5, 1, body));
    }
    out.extend(record(5, 1, b""));
    out
}

/// Sends a request and collects STDOUT until END_REQUEST; returns the CGI-style response bytes.
fn fastcgi_exchange(stream: &mut (impl Read + Write), request: &[u8]) -> Vec<u8> {
    stream.write_all(request).unwrap();
    let mut stdout = Vec::new();
    loop {
        let mut header = [0u8; 8];
        stream.read_exact(&mut header).expect("a record header");
        let len = u16::from_be_bytes([header[4], header[5]]) as usize + header[6] as usize;
        let mut content = vec![0u8; len];
        stream.read_exact(&mut content).unwrap();
        match header[1] {
            6 => stdout.extend_from_slice(&content[..len - header[6] as usize]),
            3 => return stdout,
            _ => {}
        }
    }
}

fn status_of(response: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(response);
    let line = text
        .lines()
        .find(|l| l.starts_with("Status: "))
        .expect("a Status line");
    line[8..11].parse().unwrap()
}

#[test]
fn fastcgi_listener_keeps_non_utf8_params_and_survives_garbage() {
    let dir = TempDir::new("roost-fcgi");
    let home = new_home(&dir, "https://example.org/");
    expect_success("post", &roost_cli(&home, &["post", "over fastcgi"], None));
    let port = free_port();
    let mut server = start(
        &home,
        &["fastcgi", "--listen", &format!("127.0.0.1:{port}")],
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_for_tcp(addr);

    let ok = fastcgi_exchange(
        &mut TcpStream::connect(addr).unwrap(),
        &fastcgi_request(
            &[
                (b"REQUEST_METHOD", b"GET"),
                (b"PATH_INFO", b"/"),
                (b"REQUEST_URI", b"/"),
            ],
            b"",
        ),
    );
    assert_eq!(status_of(&ok), 200);
    assert!(String::from_utf8_lossy(&ok).contains("over fastcgi"));

    // A parameter that is not UTF-8 comes first; the ones after it must survive:
    // PATH_INFO decides the route, so a 405 (not 200 for `/`) proves it arrived.
    let tricky = fastcgi_exchange(
        &mut TcpStream::connect(addr).unwrap(),
        &fastcgi_request(
            &[
                (b"HTTP_X_ODD", b"\xe9\xff"),
                (b"REQUEST_METHOD", b"GET"),
                (b"PATH_INFO", b"/posts"),
            ],
            b"",
        ),
    );
    assert_eq!(
        status_of(&tricky),
        405,
        "{}",
        String::from_utf8_lossy(&tricky)
    );
    let bad_path = fastcgi_exchange(
        &mut TcpStream::connect(addr).unwrap(),
        &fastcgi_request(
            &[(b"REQUEST_METHOD", b"GET"), (b"PATH_INFO", b"/posts/\xe9")],
            b"",
        ),
    );
    assert_eq!(status_of(&bad_path), 404);

    // Garbage and a truncated record: the connection is dropped, the process lives on.
    for garbage in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        &[1, 1, 0, 1, 0xff, 0xff, 0, 0, 1],
    ] {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(garbage).unwrap();
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    }
    let still = fastcgi_exchange(
        &mut TcpStream::connect(addr).unwrap(),
        &fastcgi_request(
            &[(b"REQUEST_METHOD", b"GET"), (b"PATH_INFO", b"/feed.json")],
            b"",
        ),
    );
    assert_eq!(status_of(&still), 200);
    assert!(server.0.try_wait().unwrap().is_none(), "still running");

    // SIGTERM ends it cleanly.
    // SAFETY: signalling the child this test started, by its PID.
    unsafe { libc::kill(server.0.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "SIGTERM did not end the FastCGI process"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

#[test]
fn fastcgi_listener_on_a_unix_socket_uses_its_home() {
    let dir = TempDir::new("roost-fcgi");
    let home = new_home(&dir, "https://example.org/");
    expect_success(
        "post",
        &roost_cli(&home, &["post", "over a unix socket"], None),
    );
    let socket = dir.join("roost.sock");
    let _server = start(&home, &["fastcgi", "--listen", socket.to_str().unwrap()]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        if let Ok(s) = std::os::unix::net::UnixStream::connect(&socket) {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "no socket at {}",
            socket.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let response = fastcgi_exchange(
        &mut stream,
        &fastcgi_request(&[(b"REQUEST_METHOD", b"GET"), (b"PATH_INFO", b"/")], b""),
    );
    assert_eq!(status_of(&response), 200);
    assert!(String::from_utf8_lossy(&response).contains("over a unix socket"));
}
