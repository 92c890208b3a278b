//! The ways a request arrives (CGI, FastCGI, the built-in server), each turned
//! into one `Request` for `app::handle`. Only this module reads the CGI
//! environment or a socket.

use super::app;
use super::fastcgi;
use super::http::{Params, Request, Response, body_cut_short, body_too_slow, percent_decode};
use anyhow::{Context, Result};
use std::io::{ErrorKind, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// CGI and FastCGI: raw meta-variables and body in, response out; a panic
/// becomes the friendly 500 page.
pub fn respond(params: Params, body: Vec<u8>) -> Response {
    let request = Request::from_params(&params, body);
    catch_unwind(AssertUnwindSafe(|| app::handle(&request))).unwrap_or_else(|_| {
        eprintln!(
            "roost: {} {}: internal error (panic)",
            request.method, request.path
        );
        app::internal_error_page()
    })
}

/// How much of a refused body a CGI reads and discards before answering.
const DRAIN_LIMIT: u64 = 16 * 1024 * 1024;

/// How long a CGI request's body may take to arrive, all of it: a client
/// that stops sending mid-body must not hold the process (and its Apache
/// worker) for the whole of Apache's `Timeout`. A post form is a few KiB;
/// at the 64 KiB limit this is still 3 KiB a second. (mod_reqtimeout's
/// default allows a body 20 s too, more as its bytes come.)
pub const BODY_DEADLINE: Duration = Duration::from_secs(20);

/// One CGI request: the environment and stdin in, stdout out. Command-line
/// arguments are never looked at (Apache passes a query string without `=`
/// as argv: CVE-2012-1823).
pub fn run_cgi() {
    let params = Params::from_env();
    let mut stdin = StdinUntil(Instant::now() + BODY_DEADLINE);
    let response = match params.body_length_within_limit() {
        Err(refusal) => {
            // Apache resets the client's connection when a CGI leaves its
            // body unread, and the refusal would never be seen: read it away.
            let _ = std::io::copy(&mut (&mut stdin).take(DRAIN_LIMIT), &mut std::io::sink());
            refusal
        }
        Ok(length) => match read_body(stdin, length) {
            Ok(body) => respond(params, body),
            Err(refusal) => refusal,
        },
    };
    if let Err(e) = write_to_stdout(&[&response.cgi_head(), &response.body]) {
        eprintln!("roost: writing the response: {e}");
    }
    if let Some(home) = app::take_background_work() {
        run_detached(&home);
    }
}

/// Under CGI, the cron work an owner's page view started
/// (`cron_on_page_views`): `roost cron` in a process of its own (exec'd
/// afresh: a forked copy of this one would inherit SQLite's per-process
/// lock bookkeeping for the database, which corrupts it), in a session of
/// its own, with no environment (the request's headers are in it) and
/// stdin, stdout and stderr on /dev/null, so that the web server sees the
/// answer end now and neither waits for the work nor ends it with the
/// request. Its errors are kept where cron's are (the feeds' statuses,
/// the jobs' last errors).
fn run_detached(home: &std::path::Path) {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let started = std::env::current_exe().and_then(|exe| {
        let mut cron = Command::new(exe);
        cron.arg("--home")
            .arg(home)
            .args(["cron", "--quiet", "--max-seconds"])
            .arg(crate::cron::PAGE_VIEW_BUDGET_SECONDS.to_string())
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: setsid is async-signal-safe and touches no memory.
        unsafe {
            cron.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        cron.spawn()
    });
    if let Err(error) = started {
        eprintln!("roost: cannot start the background work a page view asked for: {error}");
    }
}

/// Exactly the `length` bytes the request announced, or the answer that
/// refuses it: a body that ends early is a 400, one that is too slow
/// (`StdinUntil`) a 408, and neither reaches a handler, so a cut form is
/// never acted on.
fn read_body(input: impl Read, length: usize) -> Result<Vec<u8>, Response> {
    let mut body = Vec::with_capacity(length);
    let refusal = match input.take(length as u64).read_to_end(&mut body) {
        Ok(_) if body.len() == length => return Ok(body),
        Ok(_) => body_cut_short(body.len(), length),
        Err(e) if e.kind() == ErrorKind::TimedOut => body_too_slow(body.len(), length),
        Err(e) => {
            eprintln!("roost: reading the request body: {e}");
            return Err(Response::plain(
                400,
                "Bad Request: the request body could not be read\n",
            ));
        }
    };
    eprintln!(
        "roost: request body refused: {}",
        String::from_utf8_lossy(&refusal.body).trim_end()
    );
    Err(refusal)
}

/// Fd 0, read directly (std's `Stdin` buffers, and buffered bytes would be
/// invisible to `poll`), giving up with `TimedOut` at the deadline.
struct StdinUntil(Instant);

impl Read for StdinUntil {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::fd::FromRawFd;
        let left = self.0.saturating_duration_since(Instant::now());
        let mut ready = libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd and its count. (EINTR comes back as
        // `Interrupted`, which `read_to_end` and `copy` retry.)
        match unsafe { libc::poll(&mut ready, 1, ms) } {
            n if n < 0 => return Err(std::io::Error::last_os_error()),
            0 => return Err(ErrorKind::TimedOut.into()),
            _ => {}
        }
        // SAFETY: fd 0 is this process's stdin for its whole life;
        // ManuallyDrop keeps the File from closing it.
        let mut fd0 = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(0) });
        fd0.read(buf)
    }
}

/// Straight to fd 1, head and body in one `writev` (stdout's line buffering
/// would split the page into several writes at its newlines, and joining
/// them first would copy the page once more).
fn write_to_stdout(parts: &[&[u8]]) -> std::io::Result<()> {
    use std::io::IoSlice;
    use std::os::fd::FromRawFd;
    // SAFETY: fd 1 is this process's stdout for its whole life; ManuallyDrop
    // keeps the File from closing it.
    let mut out = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(1) });
    let mut slices: Vec<IoSlice> = parts.iter().map(|p| IoSlice::new(p)).collect();
    let mut slices = &mut slices[..];
    while !slices.is_empty() {
        match out.write_vectored(slices) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn fastcgi_handler(params: Params, body: Vec<u8>) -> Response {
    let response = respond(params, body);
    // A long-lived process: the page view's cron work on a thread of its own.
    if let Some(home) = app::take_background_work() {
        std::thread::spawn(move || crate::cron::run_for_page_view(&home));
    }
    response
}

/// mod_fcgid started us with a listening socket on fd 0.
pub fn run_fastcgi_on_fd0() -> Result<()> {
    fastcgi::serve_fd0(&fastcgi_handler).context("serving FastCGI on fd 0")
}

/// `roost fastcgi --listen ADDR`; `home` is passed to every request as
/// ROOST_HOME unless the server sends its own.
pub fn run_fastcgi_listener(addr: &str, home: PathBuf) -> Result<()> {
    let home: &'static PathBuf = Box::leak(Box::new(home));
    let handler: &'static fastcgi::Handler =
        Box::leak(Box::new(move |mut params: Params, body: Vec<u8>| {
            if params.get("ROOST_HOME").is_none() {
                use std::os::unix::ffi::OsStrExt;
                params
                    .0
                    .push((b"ROOST_HOME".to_vec(), home.as_os_str().as_bytes().to_vec()));
            }
            respond(params, body)
        }));
    fastcgi::serve_listen(addr, handler)
}

/// `roost serve`'s listening socket, bound before anything else so that
/// the address really served (`:0` included) is known to the command.
pub struct HttpListener(tiny_http::Server);

impl HttpListener {
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.0.server_addr().to_ip()
    }
}

pub fn bind_http(addr: &str) -> Result<HttpListener> {
    tiny_http::Server::http(addr)
        .map(HttpListener)
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))
}

/// `roost serve`: a small HTTP server in front of the same handler.
pub fn run_http(HttpListener(server): HttpListener, home: PathBuf) -> Result<()> {
    eprintln!(
        "roost: serving on http://{}/ (Ctrl-C to stop)",
        server.server_addr()
    );
    let server = std::sync::Arc::new(server);
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let server = server.clone();
            let home = home.clone();
            std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    serve_one(request, &home);
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    Ok(())
}

fn serve_one(mut incoming: tiny_http::Request, home: &std::path::Path) {
    let response = match http_request(&mut incoming, home) {
        Ok(request) => catch_unwind(AssertUnwindSafe(|| app::handle(&request)))
            .unwrap_or_else(|_| app::internal_error_page()),
        Err(refusal) => refusal,
    };
    let headers = response
        .header_lines()
        .filter_map(|(k, v)| tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).ok())
        .collect();
    let length = response.body.len();
    let reply = tiny_http::Response::new(
        tiny_http::StatusCode(response.status),
        headers,
        std::io::Cursor::new(response.body),
        Some(length),
        None,
    );
    if let Err(e) = incoming.respond(reply) {
        eprintln!("roost: writing a response: {e}");
    }
}

fn http_request(
    incoming: &mut tiny_http::Request,
    home: &std::path::Path,
) -> Result<Request, Response> {
    // With a Content-Length, exactly that many bytes, as under CGI (tiny_http
    // reports a client that stops early as the end of the body); chunked,
    // whatever arrives up to the limit.
    let (limit, too_large) = {
        let url = incoming.url();
        let raw_path = url.split_once('?').map_or(url, |(path, _)| path);
        let path = String::from_utf8_lossy(&percent_decode(raw_path.as_bytes())).into_owned();
        let method = incoming.method().as_str();
        let content_type = incoming
            .headers()
            .iter()
            .find(|h| h.field.equiv("Content-Type"))
            .map_or(String::new(), |h| h.value.as_str().to_owned());
        (
            super::app::body_limit(method, &path, &content_type),
            super::app::payload_too_large(method, &path, &content_type),
        )
    };
    let body = match incoming.body_length() {
        Some(declared) if declared > limit => {
            return Err(too_large);
        }
        Some(declared) => read_body(incoming.as_reader(), declared)?,
        None => {
            let mut body = Vec::new();
            incoming
                .as_reader()
                .take(limit as u64 + 1)
                .read_to_end(&mut body)
                .map_err(|_| Response::plain(400, "Bad Request: the body could not be read\n"))?;
            if body.len() > limit {
                return Err(too_large);
            }
            body
        }
    };
    let url = incoming.url().to_string();
    let (raw_path, query) = url.split_once('?').unwrap_or((&url, ""));
    let path = String::from_utf8_lossy(&percent_decode(raw_path.as_bytes())).into_owned();
    Ok(Request {
        method: incoming.method().as_str().to_ascii_uppercase(),
        path: if path.is_empty() { "/".into() } else { path },
        query: query.to_string(),
        headers: incoming
            .headers()
            .iter()
            .map(|h| {
                (
                    h.field.as_str().as_str().to_ascii_lowercase(),
                    h.value.as_str().to_string(),
                )
            })
            .collect(),
        body,
        base: String::new(),
        https: false,
        remote_addr: incoming
            .remote_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default(),
        home: Some(home.to_path_buf()),
        document_root: None,
    })
}
