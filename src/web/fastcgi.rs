//! FastCGI responder: the FastCGI 1.0 record layer, the fd-0 (mod_fcgid) and `--listen` connection loops, and clean exit on SIGTERM/SIGINT. Does not route or render.
//!
//! Written here rather than taken from the `fastcgi` crate because that crate
//! silently drops a non-UTF-8 parameter and every parameter after it, and
//! panics on malformed records. Parameters stay bytes end to end, every
//! length the peer sends is checked before it is trusted, and memory per
//! connection is bounded by `MAX_PARAMS_BYTES` + its route's body limit + one record.

use std::fmt;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpListener;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, bail};

use super::http::{MAX_BODY_BYTES, Params, Response, body_cut_short, payload_too_large};

/// What the application does with one request: raw params and the full body in, a response out.
pub type Handler = dyn Fn(Params, Vec<u8>) -> Response + Sync;

/// The whole PARAMS stream of one request may not exceed this; Apache sends a
/// few KiB, so this only stops a hostile peer from growing memory.
pub const MAX_PARAMS_BYTES: usize = 1024 * 1024;
/// Per-pair overhead makes many tiny pairs cost far more than their bytes.
const MAX_PARAMS_PAIRS: usize = 4096;
/// `serve_listen` connection threads alive at once.
const MAX_CONNECTIONS: usize = 64;

const VERSION_1: u8 = 1;
const HEADER_LEN: usize = 8;
const MAX_CONTENT: usize = 65535;
/// A record's content and padding together never exceed this (the header's
/// 16-bit and 8-bit lengths), so neither does the record buffer.
#[cfg(test)]
const MAX_PADDING: usize = 255;
/// The largest multiple of 8 that fits a record, so only the last STDOUT record needs padding.
const STDOUT_CHUNK: usize = 65528;

const BEGIN_REQUEST: u8 = 1;
const ABORT_REQUEST: u8 = 2;
const END_REQUEST: u8 = 3;
const PARAMS: u8 = 4;
const STDIN: u8 = 5;
const STDOUT: u8 = 6;
const STDERR: u8 = 7;
const DATA: u8 = 8;
const GET_VALUES: u8 = 9;
const GET_VALUES_RESULT: u8 = 10;
const UNKNOWN_TYPE: u8 = 11;

const ROLE_RESPONDER: u16 = 1;
const FLAG_KEEP_CONN: u8 = 1;

const REQUEST_COMPLETE: u8 = 0;
const CANT_MPX_CONN: u8 = 1;
const UNKNOWN_ROLE: u8 = 3;

/// Set by SIGTERM/SIGINT; from then on no new request is started.
static TERMINATING: AtomicBool = AtomicBool::new(false);
/// Requests between their first byte and their last response byte. The signal
/// handler may only `_exit` while this is 0, or a response would be cut off.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// What FCGI_GET_VALUES reports for FCGI_MAX_CONNS and FCGI_MAX_REQS: 1 under
/// mod_fcgid, `MAX_CONNECTIONS` with `--listen`. A static so `read_request`
/// keeps its two-argument, state-free shape for fuzzing.
static ADVERTISED_MAX_CONNS: AtomicUsize = AtomicUsize::new(1);

/// One request as read off a connection.
#[derive(Debug)]
pub struct IncomingRequest {
    pub id: u16,
    pub params: Params,
    pub body: Vec<u8>,
    /// The web server wants the connection kept open after the response.
    pub keep_conn: bool,
    /// When set, send this instead of running the handler (413 or 400 from the
    /// body-size check); `body` is then empty because it was never buffered.
    pub early_response: Option<Response>,
}

/// Why a connection is being dropped; its Display is one line for the log.
#[derive(Debug)]
pub enum FcgiError {
    Io(io::Error),
    /// The peer broke the protocol or one of our limits.
    Protocol(String),
}

impl fmt::Display for FcgiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FcgiError::Io(e) => write!(f, "i/o error: {e}"),
            FcgiError::Protocol(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for FcgiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FcgiError::Io(e) => Some(e),
            FcgiError::Protocol(_) => None,
        }
    }
}

impl From<io::Error> for FcgiError {
    fn from(e: io::Error) -> FcgiError {
        FcgiError::Io(e)
    }
}

fn protocol(what: impl Into<String>) -> FcgiError {
    FcgiError::Protocol(what.into())
}

/// True when fd 0 is a *listening* socket (mod_fcgid starts us that way). Uses
/// getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN); under mod_cgid fd 0 is a connected socket
/// and under mod_cgi a pipe, both must give false; so must a tty or /dev/null.
pub fn fd0_is_listening_socket() -> bool {
    is_listening_socket(0)
}

fn is_listening_socket(fd: RawFd) -> bool {
    let mut accepting: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the out-pointers are valid for the sizes given; on a descriptor
    // that is closed or not a socket, getsockopt only fails with EBADF/ENOTSOCK.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&raw mut accepting).cast::<libc::c_void>(),
            &mut len,
        )
    };
    rc == 0 && accepting != 0
}

fn socket_family(fd: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: addr and len describe a buffer large enough for any address.
    let rc = unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            (&raw mut addr).cast::<libc::sockaddr>(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(libc::c_int::from(addr.ss_family))
}

extern "C" fn on_termination_signal(_signal: libc::c_int) {
    // Only atomics and _exit here: both are async-signal-safe.
    TERMINATING.store(true, Ordering::SeqCst);
    if IN_FLIGHT.load(Ordering::SeqCst) == 0 {
        // SAFETY: _exit is async-signal-safe; nothing is half-written when no request is in flight.
        unsafe { libc::_exit(0) }
    }
}

/// SIGTERM (how mod_fcgid retires a process) and SIGINT end the process with
/// status 0: at once when idle, otherwise as soon as the requests in flight
/// have been answered. No SA_RESTART, so a blocked read returns EINTR and the
/// connection loop gets to look at the flag.
pub fn install_termination_handler() -> io::Result<()> {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: all-zero is a valid sigaction; the handler only touches
        // atomics and _exit, and the mask and flags are set before use.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_termination_signal as extern "C" fn(libc::c_int) as *const ()
                as libc::sighandler_t;
            action.sa_flags = 0;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

/// Marks a request as in flight until dropped; the last one out after a
/// termination signal ends the process, once its response has been written.
struct InFlight;

impl InFlight {
    fn begin() -> InFlight {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // SeqCst pairs with the signal handler (store flag, load count) so that
        // at least one side sees the other and the process does exit.
        if IN_FLIGHT.fetch_sub(1, Ordering::SeqCst) == 1 && TERMINATING.load(Ordering::SeqCst) {
            std::process::exit(0);
        }
    }
}

/// Serve connections accepted on fd 0, one at a time (mod_fcgid never sends concurrent requests to one process).
pub fn serve_fd0(handler: &Handler) -> io::Result<()> {
    if !fd0_is_listening_socket() {
        return Err(io::Error::new(
            ErrorKind::InvalidInput,
            "fd 0 is not a listening socket",
        ));
    }
    install_termination_handler()?;
    ADVERTISED_MAX_CONNS.store(1, Ordering::Relaxed);
    // SAFETY: fd 0 is an open listening socket (checked above) that the web
    // server handed to this process; nothing else in the process uses it.
    let fd = unsafe { OwnedFd::from_raw_fd(0) };
    if socket_family(fd.as_fd())? == libc::AF_UNIX {
        let listener = UnixListener::from(fd);
        serve_serially(|| listener.accept().map(|(s, _)| s), handler)
    } else {
        let listener = TcpListener::from(fd);
        serve_serially(|| listener.accept().map(|(s, _)| s), handler)
    }
}

fn serve_serially<S>(mut accept: impl FnMut() -> io::Result<S>, handler: &Handler) -> io::Result<()>
where
    for<'a> &'a S: Read + Write,
{
    loop {
        match accept() {
            Ok(stream) => serve_connection(&stream, handler),
            Err(e) => survive_accept_error(e)?,
        }
    }
}

/// `roost fastcgi --listen ADDR`: ADDR is `host:port` for TCP or a filesystem path (contains '/') for a Unix socket
/// (remove a stale socket file first; refuse with a clear error if the path exists and is not a socket).
/// One thread per connection, at most 64 at once.
pub fn serve_listen(addr: &str, handler: &'static Handler) -> anyhow::Result<()> {
    install_termination_handler().context("cannot install the SIGTERM/SIGINT handler")?;
    ADVERTISED_MAX_CONNS.store(MAX_CONNECTIONS, Ordering::Relaxed);
    if addr.contains('/') {
        let listener = bind_unix(Path::new(addr))?;
        serve_threaded(|| listener.accept().map(|(s, _)| s), handler)
    } else {
        let listener =
            TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
        serve_threaded(|| listener.accept().map(|(s, _)| s), handler)
    }
}

fn bind_unix(path: &Path) -> anyhow::Result<UnixListener> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            // A socket someone still answers on is not stale: taking it over
            // would silently cut off the other server.
            if UnixStream::connect(path).is_ok() {
                bail!("{} is in use by another process", path.display());
            }
            std::fs::remove_file(path)
                .with_context(|| format!("cannot remove the stale socket {}", path.display()))?;
        }
        Ok(_) => bail!(
            "{} exists and is not a socket; refusing to replace it",
            path.display()
        ),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", path.display())),
    }
    UnixListener::bind(path).with_context(|| format!("cannot listen on {}", path.display()))
}

fn serve_threaded<S>(
    mut accept: impl FnMut() -> io::Result<S>,
    handler: &'static Handler,
) -> anyhow::Result<()>
where
    S: Send + 'static,
    for<'a> &'a S: Read + Write,
{
    let slots = Arc::new(Slots::default());
    loop {
        // Waiting for a slot before accepting leaves excess connections in the
        // kernel's backlog instead of holding them open here.
        let slot = Slots::acquire(&slots);
        let stream = match accept() {
            Ok(stream) => stream,
            Err(e) => {
                survive_accept_error(e).context("accept failed")?;
                continue;
            }
        };
        if TERMINATING.load(Ordering::SeqCst) {
            continue;
        }
        let spawned = std::thread::Builder::new()
            .name("fastcgi".into())
            .spawn(move || {
                let _slot = slot;
                serve_connection(&stream, handler);
            });
        if let Err(e) = spawned {
            log_error(&format_args!("cannot start a connection thread: {e}"));
        }
    }
}

#[derive(Default)]
struct Slots {
    used: Mutex<usize>,
    freed: Condvar,
}

struct Slot(Arc<Slots>);

impl Slots {
    fn acquire(slots: &Arc<Slots>) -> Slot {
        let mut used = slots.used.lock().unwrap_or_else(PoisonError::into_inner);
        while *used >= MAX_CONNECTIONS {
            used = slots
                .freed
                .wait(used)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *used += 1;
        Slot(Arc::clone(slots))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut used = self.0.used.lock().unwrap_or_else(PoisonError::into_inner);
        *used = used.saturating_sub(1);
        drop(used);
        self.0.freed.notify_one();
    }
}

/// Accept errors that say nothing about the listening socket must not stop the server.
fn survive_accept_error(e: io::Error) -> io::Result<()> {
    match e.raw_os_error() {
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
            log_error(&format_args!("accept: {e}"));
            // Out of descriptors or memory: retrying at once would spin.
            std::thread::sleep(Duration::from_millis(100));
            Ok(())
        }
        // Linux passes pending network errors of the new connection to accept().
        Some(
            libc::EINTR
            | libc::ECONNABORTED
            | libc::EPROTO
            | libc::EPERM
            | libc::ENETDOWN
            | libc::ENOPROTOOPT
            | libc::EHOSTDOWN
            | libc::ENONET
            | libc::EHOSTUNREACH
            | libc::EOPNOTSUPP
            | libc::ENETUNREACH,
        ) => Ok(()),
        _ => Err(e),
    }
}

fn log_error(what: &dyn fmt::Display) {
    eprintln!("roost: fastcgi: {what}");
}

fn serve_connection<S>(stream: &S, handler: &Handler)
where
    for<'a> &'a S: Read + Write,
{
    let mut reader = BufReader::new(stream);
    let mut writer = stream;
    loop {
        if TERMINATING.load(Ordering::SeqCst) {
            return;
        }
        // Count the request as in flight from its first byte, not from when
        // it is complete, so a signal cannot end the process mid-read; an
        // idle keep-alive connection waits here with nothing in flight.
        match reader.fill_buf() {
            Ok([]) => return,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                log_error(&FcgiError::Io(e));
                return;
            }
        }
        let in_flight = InFlight::begin();
        let request = match read_request(&mut reader, &mut writer) {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(e) => {
                log_error(&e);
                return;
            }
        };
        let response = respond(
            handler,
            request.params,
            request.body,
            request.early_response,
        );
        let written = write_response(&mut writer, request.id, &response);
        drop(in_flight);
        if let Err(e) = written {
            log_error(&FcgiError::Io(e));
            return;
        }
        if !request.keep_conn {
            return;
        }
    }
}

fn respond(handler: &Handler, params: Params, body: Vec<u8>, early: Option<Response>) -> Vec<u8> {
    if let Some(response) = early {
        return response.to_cgi_bytes();
    }
    // The gateway catches panics too; this is the last line so that one bad
    // request cannot take down a process serving others.
    match panic::catch_unwind(AssertUnwindSafe(|| handler(params, body))) {
        Ok(response) => response.to_cgi_bytes(),
        Err(_) => {
            log_error(&"the handler panicked; answered 500");
            Response::plain(500, "Internal Server Error\n").to_cgi_bytes()
        }
    }
}

struct Header {
    kind: u8,
    id: u16,
    content_len: usize,
    padding_len: usize,
}

/// Ok(None) on EOF before the first byte of a header, unless a request is
/// half read, in which case the peer hung up on it.
fn read_header<R: Read>(r: &mut R, mid_request: bool) -> Result<Option<Header>, FcgiError> {
    let mut buf = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        match r.read(&mut buf[got..]) {
            Ok(0) if got == 0 && !mid_request => return Ok(None),
            Ok(0) if got == 0 => {
                return Err(protocol("connection closed in the middle of a request"));
            }
            Ok(0) => return Err(protocol("connection closed inside a record header")),
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    if buf[0] != VERSION_1 {
        return Err(protocol(format!("record version {}, expected 1", buf[0])));
    }
    Ok(Some(Header {
        kind: buf[1],
        id: u16::from_be_bytes([buf[2], buf[3]]),
        content_len: usize::from(u16::from_be_bytes([buf[4], buf[5]])),
        padding_len: usize::from(buf[6]),
    }))
}

fn type_name(kind: u8) -> String {
    match kind {
        BEGIN_REQUEST => "BEGIN_REQUEST".into(),
        ABORT_REQUEST => "ABORT_REQUEST".into(),
        END_REQUEST => "END_REQUEST".into(),
        PARAMS => "PARAMS".into(),
        STDIN => "STDIN".into(),
        STDOUT => "STDOUT".into(),
        STDERR => "STDERR".into(),
        DATA => "DATA".into(),
        GET_VALUES => "GET_VALUES".into(),
        GET_VALUES_RESULT => "GET_VALUES_RESULT".into(),
        UNKNOWN_TYPE => "UNKNOWN_TYPE".into(),
        other => format!("type {other}"),
    }
}

/// A request between its BEGIN_REQUEST and the end of both its PARAMS and STDIN streams.
struct Pending {
    id: u16,
    keep_conn: bool,
    params_stream: Vec<u8>,
    params: Option<Params>,
    body: Vec<u8>,
    stdin_done: bool,
    early_response: Option<Response>,
}

impl Pending {
    /// The addressed route's body limit (the form limit until the params are in).
    fn body_limit(&self) -> usize {
        self.params
            .as_ref()
            .map_or(MAX_BODY_BYTES, Params::body_limit)
    }

    fn new(id: u16, keep_conn: bool) -> Pending {
        Pending {
            id,
            keep_conn,
            params_stream: Vec::new(),
            params: None,
            body: Vec::new(),
            stdin_done: false,
            early_response: None,
        }
    }

    fn on_params(&mut self, content: &[u8]) -> Result<(), FcgiError> {
        if self.params.is_some() {
            return Err(protocol("PARAMS record after the end of the params stream"));
        }
        if !content.is_empty() {
            // Pairs may straddle records, so the stream is decoded only once complete.
            if self.params_stream.len() + content.len() > MAX_PARAMS_BYTES {
                return Err(protocol(format!(
                    "PARAMS stream over {MAX_PARAMS_BYTES} bytes"
                )));
            }
            append_bounded(&mut self.params_stream, content, MAX_PARAMS_BYTES);
            return Ok(());
        }
        let params = decode_pairs(&std::mem::take(&mut self.params_stream))?;
        match params.body_length_within_limit() {
            Ok(declared) => {
                if self.early_response.is_none() {
                    self.body
                        .reserve_exact(declared.saturating_sub(self.body.len()));
                }
            }
            Err(refusal) => {
                if self.early_response.is_none() {
                    self.early_response = Some(refusal);
                    self.body = Vec::new();
                }
            }
        }
        self.params = Some(params);
        Ok(())
    }

    fn on_stdin(&mut self, content: &[u8]) -> Result<(), FcgiError> {
        if self.stdin_done {
            return Err(protocol("STDIN record after the end of the stdin stream"));
        }
        if content.is_empty() {
            self.stdin_done = true;
        } else if self.early_response.is_some() {
            // Refused already: the rest is read only so the server can finish sending.
        } else if self.body.len() + content.len() > self.body_limit() {
            // CONTENT_LENGTH was missing or lied; the limit holds regardless.
            self.early_response = Some(match &self.params {
                Some(params) => params.payload_too_large(),
                None => payload_too_large(self.body_limit()),
            });
            self.body = Vec::new();
        } else {
            let limit = self.body_limit();
            append_bounded(&mut self.body, content, limit);
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.params.is_some() && self.stdin_done
    }

    /// The finished request. A stdin stream that ended short of the
    /// `CONTENT_LENGTH` it announced is answered 400 without the handler,
    /// as a CGI answers a body cut short.
    fn into_request(self) -> IncomingRequest {
        let params = self.params.unwrap_or_default();
        let declared = params.content_length().unwrap_or(0);
        let early_response = self.early_response.or_else(|| {
            (self.body.len() < declared).then(|| body_cut_short(self.body.len(), declared))
        });
        IncomingRequest {
            id: self.id,
            params,
            body: self.body,
            keep_conn: self.keep_conn,
            early_response,
        }
    }
}

/// Appends without letting capacity overshoot `limit`, which plain doubling would.
fn append_bounded(buf: &mut Vec<u8>, data: &[u8], limit: usize) {
    let needed = buf.len() + data.len();
    if needed > buf.capacity() {
        let target = needed
            .max(buf.capacity().saturating_mul(2))
            .min(limit)
            .max(needed);
        buf.reserve_exact(target - buf.len());
    }
    buf.extend_from_slice(data);
}

/// Request ids refused (CANT_MPX_CONN, UNKNOWN_ROLE) or aborted: the peer may
/// already have sent more records for them, which are skipped, not errors.
#[derive(Default)]
struct SkippedIds(Vec<u64>);

impl SkippedIds {
    fn insert(&mut self, id: u16) {
        if self.0.is_empty() {
            self.0 = vec![0; 65536 / 64];
        }
        self.0[usize::from(id / 64)] |= 1 << (id % 64);
    }

    fn remove(&mut self, id: u16) {
        if let Some(word) = self.0.get_mut(usize::from(id / 64)) {
            *word &= !(1 << (id % 64));
        }
    }

    fn contains(&self, id: u16) -> bool {
        self.0
            .get(usize::from(id / 64))
            .is_some_and(|word| word & (1 << (id % 64)) != 0)
    }
}

/// Reads one request from a connection. Ok(None) on clean EOF before any record,
/// and also when the only request on a connection without FCGI_KEEP_CONN was
/// refused or aborted (the caller closes the connection either way).
/// Records the responder must answer inline (GET_VALUES, unknown types, refused
/// or aborted requests) are answered on `w`.
///
/// Never panics; any malformed input is an Err. It touches no process state
/// (only reads the advertised connection limit), so a fuzz target can drive it
/// with `read_request(&mut bytes, &mut Vec::new())`.
pub fn read_request<R: Read, W: Write>(
    r: &mut R,
    w: &mut W,
) -> Result<Option<IncomingRequest>, FcgiError> {
    // Grown to the largest record seen, not allocated at its 64 KiB maximum:
    // most records are a few hundred bytes, and a fresh 64 KiB zeroed buffer
    // per request was a measurable share of a FastCGI request's cost.
    let mut record: Vec<u8> = Vec::new();
    let mut current: Option<Pending> = None;
    let mut skipped = SkippedIds::default();
    loop {
        let Some(header) = read_header(r, current.is_some())? else {
            return Ok(None);
        };
        let record_len = header.content_len + header.padding_len;
        if record.len() < record_len {
            record.resize(record_len, 0);
        }
        if let Err(e) = r.read_exact(&mut record[..record_len]) {
            return Err(if e.kind() == ErrorKind::UnexpectedEof {
                protocol(format!(
                    "connection closed inside a {} record of {} bytes",
                    type_name(header.kind),
                    header.content_len
                ))
            } else {
                e.into()
            });
        }
        let content = &record[..header.content_len];
        let id = header.id;
        match header.kind {
            BEGIN_REQUEST => {
                if content.len() != 8 {
                    return Err(protocol(format!(
                        "BEGIN_REQUEST body of {} bytes, expected 8",
                        content.len()
                    )));
                }
                if id == 0 {
                    return Err(protocol("BEGIN_REQUEST with request id 0"));
                }
                let role = u16::from_be_bytes([content[0], content[1]]);
                let keep_conn = content[2] & FLAG_KEEP_CONN != 0;
                if let Some(pending) = &current {
                    if pending.id == id {
                        return Err(protocol(format!("second BEGIN_REQUEST for request {id}")));
                    }
                    write_end_request(w, id, CANT_MPX_CONN)?;
                    skipped.insert(id);
                    continue;
                }
                if role != ROLE_RESPONDER {
                    write_end_request(w, id, UNKNOWN_ROLE)?;
                    if !keep_conn {
                        return Ok(None);
                    }
                    skipped.insert(id);
                    continue;
                }
                skipped.remove(id);
                current = Some(Pending::new(id, keep_conn));
            }
            ABORT_REQUEST => match &current {
                Some(pending) if pending.id == id => {
                    let keep_conn = pending.keep_conn;
                    current = None;
                    write_end_request(w, id, REQUEST_COMPLETE)?;
                    if !keep_conn {
                        return Ok(None);
                    }
                    skipped.insert(id);
                }
                _ if skipped.contains(id) => {}
                _ => return Err(protocol(format!("ABORT_REQUEST for unknown request {id}"))),
            },
            PARAMS | STDIN | DATA => {
                let pending = match current.as_mut() {
                    Some(pending) if pending.id == id => pending,
                    _ if skipped.contains(id) => continue,
                    _ => {
                        return Err(protocol(format!(
                            "{} record for unknown request {id}",
                            type_name(header.kind)
                        )));
                    }
                };
                match header.kind {
                    PARAMS => pending.on_params(content)?,
                    STDIN => pending.on_stdin(content)?,
                    // Only the Filter role uses DATA; a responder has no use for it.
                    _ => {}
                }
                if pending.is_complete() {
                    return Ok(current.take().map(Pending::into_request));
                }
            }
            GET_VALUES => {
                if id != 0 {
                    return Err(protocol(format!(
                        "GET_VALUES with request id {id}, expected 0"
                    )));
                }
                let reply = get_values_result(content)?;
                write_record(w, GET_VALUES_RESULT, 0, &reply)?;
            }
            END_REQUEST | STDOUT | STDERR | GET_VALUES_RESULT | UNKNOWN_TYPE => {
                return Err(protocol(format!(
                    "{} record from the web server",
                    type_name(header.kind)
                )));
            }
            unknown => {
                write_record(w, UNKNOWN_TYPE, 0, &[unknown, 0, 0, 0, 0, 0, 0, 0])?;
            }
        }
    }
}

/// FastCGI name-value pairs: each length is one byte, or four with the high bit set.
fn decode_pairs(mut rest: &[u8]) -> Result<Params, FcgiError> {
    let mut pairs = Vec::new();
    while !rest.is_empty() {
        if pairs.len() == MAX_PARAMS_PAIRS {
            return Err(protocol(format!(
                "more than {MAX_PARAMS_PAIRS} name-value pairs"
            )));
        }
        let (name_len, after) = decode_length(rest)?;
        let (value_len, after) = decode_length(after)?;
        if after.len() < name_len || after.len() - name_len < value_len {
            return Err(protocol("name-value pair runs past the end of its data"));
        }
        let (name, after) = after.split_at(name_len);
        let (value, after) = after.split_at(value_len);
        pairs.push((name.to_vec(), value.to_vec()));
        rest = after;
    }
    Ok(Params(pairs))
}

fn decode_length(data: &[u8]) -> Result<(usize, &[u8]), FcgiError> {
    match data {
        [short, rest @ ..] if short & 0x80 == 0 => Ok((usize::from(*short), rest)),
        [b0, b1, b2, b3, rest @ ..] => {
            let len = u32::from_be_bytes([b0 & 0x7f, *b1, *b2, *b3]);
            Ok((len as usize, rest))
        }
        _ => Err(protocol("name-value length cut short")),
    }
}

fn encode_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        out.extend_from_slice(&(len as u32 | 0x8000_0000).to_be_bytes());
    }
}

fn encode_pair(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    encode_length(out, name.len());
    encode_length(out, value.len());
    out.extend_from_slice(name);
    out.extend_from_slice(value);
}

/// Answers only the variables asked for, each once, so the reply stays small
/// however the request repeats them.
fn get_values_result(content: &[u8]) -> Result<Vec<u8>, FcgiError> {
    let asked = decode_pairs(content)?;
    let max = ADVERTISED_MAX_CONNS.load(Ordering::Relaxed).to_string();
    let known: [(&[u8], &[u8]); 3] = [
        (b"FCGI_MAX_CONNS", max.as_bytes()),
        (b"FCGI_MAX_REQS", max.as_bytes()),
        (b"FCGI_MPXS_CONNS", b"0"),
    ];
    let mut answered = [false; 3];
    let mut reply = Vec::new();
    for (name, _) in &asked.0 {
        if let Some(i) = known.iter().position(|(k, _)| *k == name.as_slice())
            && !answered[i]
        {
            answered[i] = true;
            encode_pair(&mut reply, known[i].0, known[i].1);
        }
    }
    Ok(reply)
}

/// `content` must fit one record; callers only pass small replies and STDOUT chunks.
fn push_record(out: &mut Vec<u8>, kind: u8, id: u16, content: &[u8]) {
    debug_assert!(content.len() <= MAX_CONTENT);
    let padding = content.len().wrapping_neg() % 8;
    let [id_hi, id_lo] = id.to_be_bytes();
    let [len_hi, len_lo] = (content.len() as u16).to_be_bytes();
    out.extend_from_slice(&[
        VERSION_1,
        kind,
        id_hi,
        id_lo,
        len_hi,
        len_lo,
        padding as u8,
        0,
    ]);
    out.extend_from_slice(content);
    out.extend_from_slice(&[0u8; 8][..padding]);
}

fn write_record<W: Write>(w: &mut W, kind: u8, id: u16, content: &[u8]) -> io::Result<()> {
    let mut out = Vec::with_capacity(HEADER_LEN + content.len() + 8);
    push_record(&mut out, kind, id, content);
    w.write_all(&out)?;
    w.flush()
}

fn end_request_body(protocol_status: u8) -> [u8; 8] {
    // appStatus 0: the exit status a CGI script would have had.
    [0, 0, 0, 0, protocol_status, 0, 0, 0]
}

fn write_end_request<W: Write>(w: &mut W, id: u16, protocol_status: u8) -> io::Result<()> {
    write_record(w, END_REQUEST, id, &end_request_body(protocol_status))
}

/// Sends `response_bytes` (from `Response::to_cgi_bytes`) as STDOUT records, the
/// empty STDOUT that ends the stream, and END_REQUEST, all in one write.
pub fn write_response<W: Write>(w: &mut W, id: u16, response_bytes: &[u8]) -> io::Result<()> {
    let records = response_bytes.len().div_ceil(STDOUT_CHUNK) + 2;
    let mut out = Vec::with_capacity(response_bytes.len() + records * (HEADER_LEN + 8));
    for chunk in response_bytes.chunks(STDOUT_CHUNK) {
        push_record(&mut out, STDOUT, id, chunk);
    }
    push_record(&mut out, STDOUT, id, &[]);
    push_record(
        &mut out,
        END_REQUEST,
        id,
        &end_request_body(REQUEST_COMPLETE),
    );
    w.write_all(&out)?;
    w.flush()
}

/// Counts the bytes live on each test thread, so tests can prove that hostile
/// lengths never turn into allocations. Thread-local, so parallel tests do not
/// disturb each other; the const-initialised Cells never allocate themselves.
#[cfg(test)]
mod alloc_probe {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    struct Probe;

    #[global_allocator]
    static PROBE: Probe = Probe;

    fn grew(bytes: usize) {
        let _ = LIVE.try_with(|live| {
            let now = live.get().wrapping_add(bytes as isize);
            live.set(now);
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
        });
    }

    fn shrank(bytes: usize) {
        let _ = LIVE.try_with(|live| live.set(live.get().wrapping_sub(bytes as isize)));
    }

    // SAFETY: every call is forwarded to System unchanged; only counters are added.
    unsafe impl GlobalAlloc for Probe {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                grew(layout.size());
            }
            p
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                grew(layout.size());
            }
            p
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) };
            shrank(layout.size());
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                shrank(layout.size());
                grew(new_size);
            }
            p
        }
    }

    /// Runs `f` and returns its result with the most bytes that were live at
    /// once on this thread during it, above what was live before.
    pub fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let start = LIVE.with(Cell::get);
        PEAK.with(|peak| peak.set(start));
        let out = f();
        let peak = PEAK.with(Cell::get);
        (out, usize::try_from(peak - start).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::alloc_probe::peak_during;
    use super::*;

    type Reply = (Result<Option<IncomingRequest>, FcgiError>, Vec<u8>);

    fn record(kind: u8, id: u16, content: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        push_record(&mut out, kind, id, content);
        out
    }

    fn begin(id: u16, role: u16, flags: u8) -> Vec<u8> {
        let [r0, r1] = role.to_be_bytes();
        record(BEGIN_REQUEST, id, &[r0, r1, flags, 0, 0, 0, 0, 0])
    }

    fn pairs(list: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in list {
            encode_pair(&mut out, name, value);
        }
        out
    }

    /// A complete request as Apache sends it; the params and body are cut into records.
    fn request_stream(id: u16, flags: u8, params: &[(&[u8], &[u8])], body: &[u8]) -> Vec<u8> {
        let mut out = begin(id, ROLE_RESPONDER, flags);
        for chunk in pairs(params).chunks(MAX_CONTENT) {
            out.extend(record(PARAMS, id, chunk));
        }
        out.extend(record(PARAMS, id, &[]));
        for chunk in body.chunks(MAX_CONTENT) {
            out.extend(record(STDIN, id, chunk));
        }
        out.extend(record(STDIN, id, &[]));
        out
    }

    fn read(input: &[u8]) -> Reply {
        let mut reader = input;
        let mut replies = Vec::new();
        let result = read_request(&mut reader, &mut replies);
        (result, replies)
    }

    /// Strict decoder for what we send: (type, id, content) per record.
    fn decode_records(mut bytes: &[u8]) -> Vec<(u8, u16, Vec<u8>)> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            assert!(bytes.len() >= HEADER_LEN, "truncated header in output");
            assert_eq!(bytes[0], VERSION_1);
            let id = u16::from_be_bytes([bytes[2], bytes[3]]);
            let len = usize::from(u16::from_be_bytes([bytes[4], bytes[5]]));
            let padding = usize::from(bytes[6]);
            assert_eq!(
                (HEADER_LEN + len + padding) % 8,
                0,
                "records are padded to 8 bytes"
            );
            assert!(
                bytes.len() >= HEADER_LEN + len + padding,
                "truncated record in output"
            );
            out.push((bytes[1], id, bytes[HEADER_LEN..HEADER_LEN + len].to_vec()));
            bytes = &bytes[HEADER_LEN + len + padding..];
        }
        out
    }

    /// The STDOUT stream of one response, checked to be followed by the empty
    /// STDOUT and a REQUEST_COMPLETE END_REQUEST and nothing else.
    fn stdout_of(records: &[(u8, u16, Vec<u8>)], id: u16) -> Vec<u8> {
        let (last, rest) = records.split_last().expect("no records");
        assert_eq!(
            *last,
            (END_REQUEST, id, end_request_body(REQUEST_COMPLETE).to_vec())
        );
        let (empty, chunks) = rest.split_last().expect("no empty STDOUT");
        assert_eq!(*empty, (STDOUT, id, Vec::new()));
        let mut out = Vec::new();
        for (kind, rid, content) in chunks {
            assert_eq!((*kind, *rid), (STDOUT, id));
            assert!(!content.is_empty() && content.len() <= MAX_CONTENT);
            out.extend_from_slice(content);
        }
        out
    }

    fn sample_params() -> Vec<(&'static [u8], &'static [u8])> {
        vec![
            (b"REQUEST_METHOD", b"POST"),
            (b"CONTENT_LENGTH", b"11"),
            (b"PATH_INFO", b"/posts/new"),
            (b"QUERY_STRING", b"a=1&b=2"),
            (b"HTTP_COOKIE", b"session=abc"),
        ]
    }

    fn sample_stream() -> Vec<u8> {
        request_stream(1, FLAG_KEEP_CONN, &sample_params(), b"hello=world")
    }

    #[test]
    fn round_trip() {
        let (result, replies) = read(&sample_stream());
        let request = result.unwrap().expect("a request");
        assert!(replies.is_empty());
        assert_eq!(request.id, 1);
        assert!(request.keep_conn);
        assert!(request.early_response.is_none());
        let expected: Vec<(Vec<u8>, Vec<u8>)> = sample_params()
            .iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        assert_eq!(request.params.0, expected);
        assert_eq!(request.body, b"hello=world");

        let response = Response::plain(200, "héllo\n").with_header("X-Test", "1");
        let mut out = Vec::new();
        write_response(&mut out, 7, &response.to_cgi_bytes()).unwrap();
        let records = decode_records(&out);
        assert_eq!(stdout_of(&records, 7), response.to_cgi_bytes());
    }

    #[test]
    fn two_requests_on_a_kept_connection_are_read_in_turn() {
        let mut input = request_stream(1, FLAG_KEEP_CONN, &[(b"PATH_INFO", b"/a")], b"");
        input.extend(request_stream(2, 0, &[(b"PATH_INFO", b"/b")], b""));
        let mut reader = input.as_slice();
        let mut sink = Vec::new();
        let first = read_request(&mut reader, &mut sink).unwrap().unwrap();
        let second = read_request(&mut reader, &mut sink).unwrap().unwrap();
        assert_eq!(
            (first.id, first.params.get("PATH_INFO")),
            (1, Some(&b"/a"[..]))
        );
        assert_eq!((second.id, second.keep_conn), (2, false));
        assert_eq!(second.params.get("PATH_INFO"), Some(&b"/b"[..]));
        assert!(read_request(&mut reader, &mut sink).unwrap().is_none());
    }

    #[test]
    fn large_response_is_split_into_records() {
        let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let bytes = Response::new(200, "application/octet-stream", body).to_cgi_bytes();
        let mut out = Vec::new();
        write_response(&mut out, 3, &bytes).unwrap();
        let records = decode_records(&out);
        assert!(records.len() >= 6, "200 kB needs at least 4 STDOUT records");
        assert_eq!(stdout_of(&records, 3), bytes);
    }

    #[test]
    fn non_utf8_value_keeps_it_and_every_param_after_it() {
        let params: [(&[u8], &[u8]); 4] = [
            (b"REQUEST_METHOD", b"GET"),
            (b"HTTP_X_ODD", b"caf\xe9 \xff\xfe"),
            (b"PATH_INFO", b"/posts/\xe9"),
            (b"QUERY_STRING", b"q=%E9&r=\xc3\x28"),
        ];
        let (result, _) = read(&request_stream(1, 0, &params, b""));
        let request = result.unwrap().unwrap();
        assert_eq!(request.params.0.len(), 4);
        assert_eq!(
            request.params.get("HTTP_X_ODD"),
            Some(&b"caf\xe9 \xff\xfe"[..])
        );
        assert_eq!(request.params.get("PATH_INFO"), Some(&b"/posts/\xe9"[..]));
        assert_eq!(
            request.params.get("QUERY_STRING"),
            Some(&b"q=%E9&r=\xc3\x28"[..])
        );
    }

    #[test]
    fn four_byte_lengths_and_a_pair_split_across_records() {
        let long_value = vec![b'v'; 300];
        let long_name = vec![b'N'; 200];
        let mut stream = Vec::new();
        encode_pair(&mut stream, b"HTTP_X_LONG", &long_value);
        encode_pair(&mut stream, &long_name, b"x");
        encode_pair(&mut stream, b"PATH_INFO", b"/p");
        // The 4-byte value length of the first pair starts at byte 1; cutting at 3 splits it.
        assert_eq!(stream[1] & 0x80, 0x80);
        let mut input = begin(9, ROLE_RESPONDER, 0);
        input.extend(record(PARAMS, 9, &stream[..3]));
        input.extend(record(PARAMS, 9, &stream[3..100]));
        input.extend(record(PARAMS, 9, &stream[100..]));
        input.extend(record(PARAMS, 9, &[]));
        input.extend(record(STDIN, 9, &[]));
        let request = read(&input).0.unwrap().unwrap();
        assert_eq!(
            request.params.get("HTTP_X_LONG"),
            Some(long_value.as_slice())
        );
        assert_eq!(request.params.0[1], (long_name, b"x".to_vec()));
        assert_eq!(request.params.get("PATH_INFO"), Some(&b"/p"[..]));
    }

    #[test]
    fn content_length_over_the_limit_is_answered_413_without_buffering() {
        let too_long = (MAX_BODY_BYTES + 1).to_string();
        let params: [(&[u8], &[u8]); 1] = [(b"CONTENT_LENGTH", too_long.as_bytes())];
        let body = vec![b'x'; MAX_BODY_BYTES + 1];
        let input = request_stream(1, 0, &params, &body);
        let ((result, _), peak) = peak_during(|| read(&input));
        let request = result.unwrap().unwrap();
        assert_eq!(request.early_response.expect("refused").status, 413);
        assert!(request.body.is_empty());
        // One record buffer and small change; the body itself never.
        assert!(peak < 100_000, "peak {peak} bytes");
    }

    #[test]
    fn stdin_beyond_the_limit_is_answered_413_whatever_content_length_says() {
        let body = vec![b'x'; MAX_BODY_BYTES + 1];
        for declared in [None, Some(&b"10"[..])] {
            let params: Vec<(&[u8], &[u8])> = declared
                .map(|d| (&b"CONTENT_LENGTH"[..], d))
                .into_iter()
                .collect();
            let input = request_stream(1, 0, &params, &body);
            let ((result, _), peak) = peak_during(|| read(&input));
            let request = result.unwrap().unwrap();
            assert_eq!(request.early_response.expect("refused").status, 413);
            assert!(request.body.is_empty());
            assert!(peak <= MAX_BODY_BYTES + 100_000, "peak {peak} bytes");
        }
        // Exactly at the limit is still accepted.
        let body = vec![b'y'; MAX_BODY_BYTES];
        let request = read(&request_stream(1, 0, &[], &body)).0.unwrap().unwrap();
        assert!(request.early_response.is_none());
        assert_eq!(request.body.len(), MAX_BODY_BYTES);
    }

    #[test]
    fn stdin_ending_short_of_content_length_is_answered_400() {
        let params: [(&[u8], &[u8]); 1] = [(b"CONTENT_LENGTH", b"11")];
        let request = read(&request_stream(1, 0, &params, b"hello"))
            .0
            .unwrap()
            .unwrap();
        let refusal = request.early_response.expect("refused");
        assert_eq!(refusal.status, 400);
        let text = String::from_utf8_lossy(&refusal.body).into_owned();
        assert!(text.contains("after 5 of the 11 bytes"), "{text}");
    }

    #[test]
    fn garbage_content_length_is_answered_400() {
        let params: [(&[u8], &[u8]); 1] = [(b"CONTENT_LENGTH", b"12x")];
        let request = read(&request_stream(1, 0, &params, b"abc"))
            .0
            .unwrap()
            .unwrap();
        assert_eq!(request.early_response.expect("refused").status, 400);
        assert!(request.body.is_empty());
    }

    #[test]
    fn params_stream_over_the_cap_is_an_error() {
        let chunk = vec![0u8; MAX_CONTENT];
        let mut input = begin(1, ROLE_RESPONDER, 0);
        for _ in 0..=(MAX_PARAMS_BYTES / MAX_CONTENT) {
            input.extend(record(PARAMS, 1, &chunk));
        }
        let ((result, _), peak) = peak_during(|| read(&input));
        assert!(matches!(result, Err(FcgiError::Protocol(m)) if m.contains("PARAMS stream over")));
        assert!(peak <= MAX_PARAMS_BYTES + 100_000, "peak {peak} bytes");
    }

    #[test]
    fn get_values_is_answered_with_only_what_was_asked() {
        let asked = pairs(&[
            (b"FCGI_MPXS_CONNS", b""),
            (b"FCGI_UNHEARD_OF", b""),
            (b"FCGI_MAX_CONNS", b""),
        ]);
        let (result, replies) = read(&record(GET_VALUES, 0, &asked));
        assert!(result.unwrap().is_none());
        let records = decode_records(&replies);
        assert_eq!(records.len(), 1);
        let (kind, id, content) = &records[0];
        assert_eq!((*kind, *id), (GET_VALUES_RESULT, 0));
        let answer = decode_pairs(content).unwrap();
        assert_eq!(answer.0.len(), 2);
        assert_eq!(answer.get("FCGI_MPXS_CONNS"), Some(&b"0"[..]));
        let max = answer.get_str("FCGI_MAX_CONNS").unwrap();
        assert!(max.parse::<u32>().is_ok_and(|n| n >= 1), "{max}");
        assert!(answer.get("FCGI_MAX_REQS").is_none());
    }

    #[test]
    fn unknown_record_type_is_answered_and_the_request_still_read() {
        let mut input = record(42, 0, b"whatever");
        input.extend(sample_stream());
        let (result, replies) = read(&input);
        assert_eq!(result.unwrap().unwrap().body, b"hello=world");
        assert_eq!(
            decode_records(&replies),
            vec![(UNKNOWN_TYPE, 0, vec![42, 0, 0, 0, 0, 0, 0, 0])]
        );
    }

    #[test]
    fn other_roles_are_answered_unknown_role() {
        for role in [2u16, 3, 0, 999] {
            let (result, replies) = read(&begin(5, role, 0));
            assert!(result.unwrap().is_none());
            assert_eq!(
                decode_records(&replies),
                vec![(END_REQUEST, 5, end_request_body(UNKNOWN_ROLE).to_vec())]
            );
        }
        // With KEEP_CONN the connection goes on to a request we can serve,
        // skipping records the server had already sent for the refused one.
        let mut input = begin(5, 2, FLAG_KEEP_CONN);
        input.extend(record(PARAMS, 5, &pairs(&[(b"A", b"b")])));
        input.extend(sample_stream());
        let (result, replies) = read(&input);
        assert_eq!(result.unwrap().unwrap().id, 1);
        assert_eq!(
            decode_records(&replies),
            vec![(END_REQUEST, 5, end_request_body(UNKNOWN_ROLE).to_vec())]
        );
    }

    #[test]
    fn a_second_request_id_is_refused_cant_mpx_conn() {
        let mut input = begin(1, ROLE_RESPONDER, 0);
        input.extend(begin(2, ROLE_RESPONDER, 0));
        input.extend(record(PARAMS, 2, &pairs(&[(b"PATH_INFO", b"/two")])));
        input.extend(record(PARAMS, 1, &pairs(&[(b"PATH_INFO", b"/one")])));
        input.extend(record(PARAMS, 1, &[]));
        input.extend(record(STDIN, 1, &[]));
        let (result, replies) = read(&input);
        let request = result.unwrap().unwrap();
        assert_eq!(
            (request.id, request.params.get("PATH_INFO")),
            (1, Some(&b"/one"[..]))
        );
        assert_eq!(
            decode_records(&replies),
            vec![(END_REQUEST, 2, end_request_body(CANT_MPX_CONN).to_vec())]
        );
    }

    #[test]
    fn abort_ends_the_request() {
        let mut input = begin(4, ROLE_RESPONDER, 0);
        input.extend(record(PARAMS, 4, &pairs(&[(b"A", b"b")])));
        input.extend(record(ABORT_REQUEST, 4, &[]));
        let (result, replies) = read(&input);
        assert!(result.unwrap().is_none());
        assert_eq!(
            decode_records(&replies),
            vec![(END_REQUEST, 4, end_request_body(REQUEST_COMPLETE).to_vec())]
        );
    }

    #[test]
    fn malformed_streams_are_errors() {
        let valid = sample_stream();
        let mut bad_version = valid.clone();
        bad_version[0] = 2;
        let short_begin = record(BEGIN_REQUEST, 1, &[0, 1, 0]);
        let mut lying_pair = begin(1, ROLE_RESPONDER, 0);
        lying_pair.extend(record(PARAMS, 1, &[4, 200, b'N', b'A', b'M', b'E', b'v']));
        lying_pair.extend(record(PARAMS, 1, &[]));
        let mut four_byte_lie = begin(1, ROLE_RESPONDER, 0);
        four_byte_lie.extend(record(PARAMS, 1, &[1, 0xff, 0xff, 0xff, 0xff, b'N', b'v']));
        four_byte_lie.extend(record(PARAMS, 1, &[]));
        let mut unknown_id = begin(1, ROLE_RESPONDER, 0);
        unknown_id.extend(record(STDIN, 3, b"x"));
        let mut stdout_from_server = begin(1, ROLE_RESPONDER, 0);
        stdout_from_server.extend(record(STDOUT, 1, b"x"));
        let mut duplicate_begin = begin(1, ROLE_RESPONDER, 0);
        duplicate_begin.extend(begin(1, ROLE_RESPONDER, 0));
        let mut content_length_lies = valid.clone();
        content_length_lies[5] = 200; // BEGIN_REQUEST claims 200 bytes
        let cases: [(&str, Vec<u8>); 9] = [
            ("bad version", bad_version),
            ("short BEGIN_REQUEST", short_begin),
            ("pair longer than its data", lying_pair),
            ("4-byte length beyond the data", four_byte_lie),
            ("record for unknown id", unknown_id),
            ("STDOUT from the server", stdout_from_server),
            ("duplicate BEGIN_REQUEST", duplicate_begin),
            ("record length beyond the data", content_length_lies),
            ("orphan STDIN", record(STDIN, 1, b"x")),
        ];
        for (what, input) in cases {
            let (result, _) = read(&input);
            match result {
                Err(FcgiError::Protocol(message)) => {
                    assert!(!message.contains('\n'), "{what}: {message}")
                }
                other => panic!("{what}: expected a protocol error, got {other:?}"),
            }
        }
    }

    #[test]
    fn every_truncation_of_a_valid_stream_is_an_error() {
        let valid = sample_stream();
        for cut in 0..valid.len() {
            let ((result, _), peak) = peak_during(|| read(&valid[..cut]));
            match result {
                Ok(None) => assert_eq!(cut, 0, "clean EOF only before any byte"),
                Err(FcgiError::Protocol(_)) => assert!(cut > 0),
                other => panic!("cut at {cut}: {other:?}"),
            }
            assert!(peak < 100_000, "cut at {cut}: peak {peak} bytes");
        }
        assert!(read(&valid).0.unwrap().is_some());
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Whatever happens must stay within a record buffer plus the input's own size.
    fn survives(input: &[u8], budget: usize) -> bool {
        let ((result, replies), peak) = peak_during(|| read(input));
        assert!(peak <= budget, "peak {peak} bytes on {input:?}");
        assert!(replies.len() <= 16 * input.len() + 64);
        if let Ok(Some(request)) = &result {
            assert!(request.body.len() <= MAX_BODY_BYTES);
            let params_bytes: usize = request
                .params
                .0
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum();
            assert!(params_bytes <= input.len());
        }
        result.is_ok()
    }

    #[test]
    fn random_bytes_never_panic_or_allocate_much() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let budget = MAX_CONTENT + MAX_PADDING + 16 * 1024;
        for _ in 0..20_000 {
            let len = rng.below(600);
            let mut input: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            // Version 1 half the time, or almost every input dies on its first byte.
            if !input.is_empty() && rng.below(2) == 0 {
                input[0] = VERSION_1;
            }
            survives(&input, budget);
        }
    }

    #[test]
    fn single_byte_mutations_never_panic_or_allocate_much() {
        let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
        let mut valid = record(GET_VALUES, 0, &pairs(&[(b"FCGI_MAX_REQS", b"")]));
        valid.extend(sample_stream());
        let budget = MAX_CONTENT + MAX_PADDING + 16 * 1024;
        let mut accepted = 0;
        for _ in 0..20_000 {
            let mut input = valid.clone();
            let at = rng.below(input.len());
            input[at] = match rng.below(3) {
                0 => rng.next() as u8,
                1 => input[at] ^ (1 << rng.below(8)),
                _ => [0, 0x7f, 0x80, 0xff][rng.below(4)],
            };
            accepted += usize::from(survives(&input, budget));
        }
        // Mutations inside values are harmless, so some must get through.
        assert!(accepted > 0);
    }

    #[test]
    fn random_record_sequences_never_panic_or_allocate_much() {
        let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
        let budget = MAX_CONTENT + MAX_PADDING + 16 * 1024;
        for _ in 0..20_000 {
            let mut input = Vec::new();
            for _ in 0..rng.below(8) {
                let kind = rng.below(13) as u8;
                let id = rng.below(3) as u16;
                let content: Vec<u8> = match (kind, rng.below(3)) {
                    (BEGIN_REQUEST, 0) => vec![0, 1, rng.next() as u8, 0, 0, 0, 0, 0],
                    (PARAMS | GET_VALUES, 0) => {
                        pairs(&[(b"PATH_INFO", b"/x"), (b"FCGI_MAX_CONNS", b"")])
                    }
                    _ => (0..rng.below(40)).map(|_| rng.next() as u8).collect(),
                };
                input.extend(record(kind, id, &content));
            }
            survives(&input, budget);
        }
    }

    #[test]
    fn listening_sockets_are_told_apart_from_connections_and_pipes() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(is_listening_socket(listener.as_raw_fd()));
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        assert!(!is_listening_socket(client.as_raw_fd()));
        assert!(!is_listening_socket(server_side.as_raw_fd()));
        let (a, _b) = UnixStream::pair().unwrap();
        assert!(!is_listening_socket(a.as_raw_fd()));
        let mut fds = [0; 2];
        // SAFETY: fds has room for the two descriptors pipe() writes.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: pipe() just created both descriptors and nothing else owns them.
        let (read_end, write_end) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        assert!(!is_listening_socket(read_end.as_raw_fd()));
        assert!(!is_listening_socket(write_end.as_raw_fd()));
        let null = std::fs::File::open("/dev/null").unwrap();
        assert!(!is_listening_socket(null.as_raw_fd()));
        assert!(!is_listening_socket(-1));
    }

    fn echo_path_info(params: Params, body: Vec<u8>) -> Response {
        let mut out = params.get("PATH_INFO").unwrap_or_default().to_vec();
        out.extend_from_slice(&body);
        Response::new(200, "application/octet-stream", out)
    }

    fn exchange(client: &mut UnixStream, request: &[u8]) -> Vec<u8> {
        client.write_all(request).unwrap();
        let mut out = Vec::new();
        client.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn a_panicking_handler_is_answered_500_and_the_connection_goes_on() {
        fn handler(params: Params, _body: Vec<u8>) -> Response {
            if params.get("PATH_INFO") == Some(b"/boom") {
                panic!("deliberate test panic");
            }
            Response::plain(200, "fine\n")
        }
        let (mut client, server) = UnixStream::pair().unwrap();
        let serving = std::thread::spawn(move || serve_connection(&server, &handler));
        let mut input = request_stream(1, FLAG_KEEP_CONN, &[(b"PATH_INFO", b"/boom")], b"");
        input.extend(request_stream(2, 0, &[(b"PATH_INFO", b"/ok")], b""));
        let records = decode_records(&exchange(&mut client, &input));
        serving.join().unwrap();
        let split = records.iter().position(|r| r.0 == END_REQUEST).unwrap() + 1;
        assert_eq!(
            stdout_of(&records[..split], 1),
            Response::plain(500, "Internal Server Error\n").to_cgi_bytes()
        );
        assert_eq!(
            stdout_of(&records[split..], 2),
            Response::plain(200, "fine\n").to_cgi_bytes()
        );
    }

    #[test]
    fn a_malformed_record_closes_only_that_connection() {
        let (mut client, server) = UnixStream::pair().unwrap();
        let serving = std::thread::spawn(move || serve_connection(&server, &echo_path_info));
        let mut input = begin(1, ROLE_RESPONDER, 0);
        input.extend([9, 9, 9, 9, 9, 9, 9, 9]);
        assert!(exchange(&mut client, &input).is_empty());
        serving.join().unwrap();
    }

    #[test]
    fn serve_listen_answers_on_a_unix_socket() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("roost-fcgi-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("roost.sock");

        // Not a socket: refused, and the file is left alone.
        std::fs::write(&path, b"precious").unwrap();
        let refused = serve_listen(path.to_str().unwrap(), &echo_path_info).unwrap_err();
        assert!(refused.to_string().contains("not a socket"), "{refused}");
        assert_eq!(std::fs::read(&path).unwrap(), b"precious");
        std::fs::remove_file(&path).unwrap();

        // A stale socket from an earlier run is replaced.
        drop(UnixListener::bind(&path).unwrap());
        let addr = path.to_str().unwrap().to_owned();
        std::thread::spawn(move || serve_listen(&addr, &echo_path_info));

        let mut client = None;
        for _ in 0..200 {
            if let Ok(c) = UnixStream::connect(&path) {
                client = Some(c);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut client = client.expect("serve_listen never started listening");
        let params: [(&[u8], &[u8]); 2] =
            [(b"PATH_INFO", b"/posts/\xe9"), (b"CONTENT_LENGTH", b"5")];
        let records = decode_records(&exchange(
            &mut client,
            &request_stream(1, 0, &params, b"!body"),
        ));
        let expected = echo_path_info(Params::default(), b"/posts/\xe9!body".to_vec());
        assert_eq!(stdout_of(&records, 1), expected.to_cgi_bytes());

        // A second process must not steal the socket while this one serves it.
        let busy = serve_listen(path.to_str().unwrap(), &echo_path_info).unwrap_err();
        assert!(busy.to_string().contains("in use"), "{busy}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
