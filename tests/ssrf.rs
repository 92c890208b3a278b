//! The SSRF table: every way of naming an internal address (ranges, notations,
//! names, redirects from an allowed host, proxies from the environment or a
//! request's `Proxy:` header), each tried through the real binary — `roost
//! follow`, `roost poll`, POST /follow through Apache, and the Webmentions
//! `roost cron` sends for a post linking to it — while a listener
//! on every one of those addresses counts the connections it gets: none.
//!
//! Every test runs in a private network namespace (`common::netns`) where the
//! internal addresses of the table are real: 10.0.0.1, 169.254.169.254,
//! fd12::1 and the rest sit on `lo`, so the trap listener would get the
//! connection if the guard let it through. The poll test proves it: with
//! `allow_private_addresses` on, the same rows *do* connect. The namespace
//! also has a host standing for the internet (`PUBLIC`, 1.2.3.4), which is how
//! a redirect comes from an allowed host to an internal one, and its own DNS
//! server (the resolv.conf nameserver's address is on `lo` too), so names
//! resolve to internal addresses without touching /etc/hosts.

mod common;

use common::apache::{ENV_SCRIPT, Kind, Site, apache};
use common::http::{form_encode, percent_decode};
use common::netns::{self, DnsServer};
use common::process::hidden_csrf;
use common::{OWNER_PASSWORD, TempDir, expect_success, roost_cli, roost_command, unique};
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Stands for a host on the internet: not internal, so the guard lets it be.
const PUBLIC: Ipv4Addr = Ipv4Addr::new(1, 2, 3, 4);

/// Put on `lo` in the namespace: the public host, and internal addresses of
/// every kind, so that a connection to them would land on the trap.
const NETNS_ADDRESSES: &[&str] = &[
    "1.2.3.4/32",
    "10.0.0.1/32",
    "172.16.0.1/32",
    "192.168.0.1/32",
    "169.254.169.254/32",
    "100.64.0.1/32",
    "198.18.0.1/32",
    "240.0.0.1/32",
    "fc00::1/128",
    "fd12::1/128",
    "::7f00:1/128",
    "::ffff:0:7f00:1/128",
    "64:ff9b::7f00:1/128",
    "64:ff9b::a9fe:a9fe/128",
    "2002:7f00:1::1/128",
    "2002:a00:1::1/128",
    "2001::1/128",
    "2001:0:4136:e378:8000:63bf:80ff:fffe/128",
];

/// Enters the namespace and starts its DNS server (once per test binary).
fn setup() -> &'static DnsServer {
    netns::enter(NETNS_ADDRESSES);
    static DNS: OnceLock<DnsServer> = OnceLock::new();
    DNS.get_or_init(|| {
        DnsServer::start(Box::new(|name: &str, nth: usize| {
            let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
            Some(match name {
                // What public resolvers answer for it, should /etc/hosts not.
                "localhost" => vec![v4(127, 0, 0, 1), IpAddr::V6(Ipv6Addr::LOCALHOST)],
                "internal.test" => vec![v4(127, 0, 0, 1)],
                "internal6.test" => vec![IpAddr::V6(Ipv6Addr::LOCALHOST)],
                "metadata.test" => vec![v4(169, 254, 169, 254)],
                "intranet.test" => vec![v4(10, 0, 0, 1)],
                "public.test" => vec![IpAddr::V4(PUBLIC)],
                // DNS rebinding: public for the first A query, then internal.
                n if n.starts_with("rebind-") && nth == 0 => vec![IpAddr::V4(PUBLIC)],
                n if n.starts_with("rebind-") => vec![v4(127, 0, 0, 1)],
                _ => return None,
            })
        }))
    })
}

/// One listener on every address of the namespace (dual-stack `[::]:PORT`),
/// and a would-be proxy on the public host. On `PUBLIC` it plays a site on
/// the internet: `/r/STATUS?URL` redirects to URL, anything else is a feed.
/// On any other address it is the trap: it records the connection, and
/// answers with a feed (so that the control rows, with the guard off, follow).
struct Trap {
    port: u16,
    proxy_port: u16,
    /// (local address, request path) of every connection to a non-public address.
    internal: Arc<Mutex<Vec<(IpAddr, String)>>>,
    /// Paths requested from the public host.
    public: Arc<Mutex<Vec<String>>>,
    /// Connections to the would-be proxy.
    proxied: Arc<Mutex<usize>>,
}

impl Trap {
    fn start() -> Trap {
        let listener = TcpListener::bind("[::]:0").expect("bind the trap on [::]");
        let proxy = TcpListener::bind((PUBLIC, 0)).expect("bind the proxy on the public host");
        let trap = Trap {
            port: listener.local_addr().unwrap().port(),
            proxy_port: proxy.local_addr().unwrap().port(),
            internal: Arc::default(),
            public: Arc::default(),
            proxied: Arc::default(),
        };
        let (internal, public) = (trap.internal.clone(), trap.public.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (internal, public) = (internal.clone(), public.clone());
                std::thread::spawn(move || serve(stream, &internal, &public));
            }
        });
        let proxied = trap.proxied.clone();
        std::thread::spawn(move || {
            for stream in proxy.incoming().flatten() {
                *proxied.lock().unwrap() += 1;
                drop(stream);
            }
        });
        trap
    }

    /// `http://1.2.3.4:PORT`
    fn public_base(&self) -> String {
        format!("http://{PUBLIC}:{}", self.port)
    }

    fn proxy_url(&self) -> String {
        format!("http://{PUBLIC}:{}/", self.proxy_port)
    }

    fn internal_hits(&self) -> Vec<(IpAddr, String)> {
        self.internal.lock().unwrap().clone()
    }

    fn internal_hits_for(&self, id: &str) -> usize {
        let hits = self.internal.lock().unwrap();
        hits.iter().filter(|(_, path)| path.contains(id)).count()
    }

    fn public_hits_for(&self, id: &str) -> usize {
        let hits = self.public.lock().unwrap();
        hits.iter().filter(|path| path.contains(id)).count()
    }

    fn proxied(&self) -> usize {
        *self.proxied.lock().unwrap()
    }

    fn clear(&self) {
        self.internal.lock().unwrap().clear();
        self.public.lock().unwrap().clear();
    }
}

fn serve(stream: TcpStream, internal: &Mutex<Vec<(IpAddr, String)>>, public: &Mutex<Vec<String>>) {
    let local = stream.local_addr().map(|a| a.ip().to_canonical());
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    let _ = reader.read_line(&mut line);
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
    }
    let mut out = stream;
    let reply = |out: &mut TcpStream, head: &str, body: &str| {
        let _ = write!(
            out,
            "HTTP/1.1 {head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    };
    if local.as_ref().ok() == Some(&IpAddr::V4(PUBLIC)) {
        public.lock().unwrap().push(path.clone());
        if let Some((status, target)) = path
            .strip_prefix("/r/")
            .and_then(|rest| rest.split_once('?'))
        {
            let head = format!("{status} Moved\r\nLocation: {}", percent_decode(target));
            return reply(&mut out, &head, "");
        }
    } else {
        let ip = local.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        internal.lock().unwrap().push((ip, path.clone()));
    }
    let feed = format!(
        "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>trap</title>\
         <id>urn:trap:{path}</id><updated>2026-11-20T10:00:00Z</updated><entry><id>urn:trap:{path}:1</id>\
         <title>reached</title><updated>2026-11-20T10:00:00Z</updated></entry></feed>"
    );
    reply(
        &mut out,
        "200 OK\r\nContent-Type: application/atom+xml",
        &feed,
    );
}

/// How a row is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// By the guard: "refused: … internal address".
    Internal,
    /// By the address check: "is not a web address" (the URL parser rejects it).
    NotAUrl,
    /// By the address check: a user name or password is never sent.
    Userinfo,
}

/// One row of the table.
struct Row {
    what: &'static str,
    url: String,
    /// Unique to the row: in its path, so the trap's log tells rows apart.
    id: String,
    expect: Expect,
    /// With the guard off, this address connects in the namespace (the
    /// control that shows the trap would have seen a connection).
    reaches: bool,
    /// The first request goes to the public host, which redirects.
    redirect: bool,
}

/// The table. In each template `{P}` is the trap's port, `{PUB}` the public
/// host and port, `{ID}` the row's own path segment, `{TAG}` the test's tag
/// (for names whose DNS answers change).
const ROWS: &[(&str, &str, Expect, bool)] = &[
    // Loopback, in every notation the URL parser turns into 127.0.0.1.
    (
        "loopback",
        "http://127.0.0.1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "loopback, not .1",
        "http://127.9.8.7:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "decimal",
        "http://2130706433:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "hex, whole",
        "http://0x7f000001:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "octal, whole",
        "http://017700000001:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "octal, dotted",
        "http://0177.0.0.1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "hex, short",
        "http://0x7f.1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "hex, dotted, capitals",
        "http://0X7F.0X0.0X0.0X1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    ("short", "http://127.1:{P}/{ID}", Expect::Internal, true),
    (
        "short, three parts",
        "http://127.0.1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "mixed hex, octal, decimal",
        "http://0x7f.00.0.1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "mixed, short",
        "http://0177.0x1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "zero-padded",
        "http://127.000.000.001:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "trailing dot",
        "http://127.0.0.1.:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "percent-encoded",
        "http://%31%32%37.0.0.1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "fullwidth digits",
        "http://１２７.０.０.１:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "ideographic dots",
        "http://127。0。0。1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    // Refused before any connection, guard or not: roost never sends a
    // user name or password (follows::USERINFO_REFUSED).
    (
        "userinfo naming a public host",
        "http://1.2.3.4:80@127.0.0.1:{P}/{ID}",
        Expect::Userinfo,
        false,
    ),
    (
        "fragment hiding the host",
        "http://127.0.0.1:{P}/{ID}#@1.2.3.4",
        Expect::Internal,
        true,
    ),
    // "This network": Linux connects 0.0.0.0 to loopback.
    ("0.0.0.0", "http://0.0.0.0:{P}/{ID}", Expect::Internal, true),
    ("0", "http://0:{P}/{ID}", Expect::Internal, true),
    ("0x0", "http://0x0:{P}/{ID}", Expect::Internal, true),
    // Private, link-local, carrier-grade NAT, benchmarking, reserved.
    ("10/8", "http://10.0.0.1:{P}/{ID}", Expect::Internal, true),
    (
        "10/8, octal",
        "http://012.0.0.1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "10/8, decimal",
        "http://167772161:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "172.16/12",
        "http://172.16.0.1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "192.168/16",
        "http://192.168.0.1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "192.168/16, hex",
        "http://0xc0a80001:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "cloud metadata",
        "http://169.254.169.254:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "cloud metadata, decimal",
        "http://2852039166:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "cloud metadata, short",
        "http://169.254.43518:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "cloud metadata, hex",
        "http://0xa9.0xfe.0xa9.0xfe:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "CGNAT 100.64/10",
        "http://100.64.0.1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "benchmarking 198.18/15",
        "http://198.18.0.1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "reserved 240/4",
        "http://240.0.0.1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "multicast",
        "http://224.0.0.1:{P}/{ID}",
        Expect::Internal,
        false,
    ),
    (
        "multicast, SSDP",
        "http://239.255.255.250:{P}/{ID}",
        Expect::Internal,
        false,
    ),
    (
        "broadcast",
        "http://255.255.255.255:{P}/{ID}",
        Expect::Internal,
        false,
    ),
    (
        "broadcast, decimal",
        "http://4294967295:{P}/{ID}",
        Expect::Internal,
        false,
    ),
    // IPv6.
    ("::1", "http://[::1]:{P}/{ID}", Expect::Internal, true),
    (
        "::1, long",
        "http://[0:0:0:0:0:0:0:1]:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "::1, zero-padded",
        "http://[0000::0001]:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    ("::", "http://[::]:{P}/{ID}", Expect::Internal, true),
    (
        "unique-local fc00::/7",
        "http://[fc00::1]:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "unique-local fd",
        "http://[fd12::1]:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "link-local fe80::/10",
        "http://[fe80::1]:{P}/{ID}",
        Expect::Internal,
        false,
    ),
    (
        "zone id",
        "http://[fe80::1%25lo]:{P}/{ID}",
        Expect::NotAUrl,
        false,
    ),
    (
        "zone id, raw",
        "http://[fe80::1%lo]:{P}/{ID}",
        Expect::NotAUrl,
        false,
    ),
    (
        "IPv4-mapped, dotted",
        "http://[::ffff:127.0.0.1]:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "IPv4-mapped, hex",
        "http://[::ffff:7f00:1]:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "IPv4-mapped metadata",
        "http://[::ffff:169.254.169.254]:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "IPv4-compatible",
        "http://[::127.0.0.1]:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "IPv4-translated ::ffff:0:0/96",
        "http://[::ffff:0:7f00:1]:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "NAT64 of loopback",
        "http://[64:ff9b::127.0.0.1]:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "NAT64 of metadata",
        "http://[64:ff9b::a9fe:a9fe]:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "6to4 of loopback",
        "http://[2002:7f00:1::1]:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "6to4 of 10/8",
        "http://[2002:a00:1::1]:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "Teredo",
        "http://[2001::1]:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "Teredo wrapping 127.0.0.1",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "multicast ff02::1",
        "http://[ff02::1]:{P}/{ID}",
        Expect::Internal,
        false,
    ),
    // Names that resolve to internal addresses.
    (
        "localhost",
        "http://localhost:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "localhost.",
        "http://localhost.:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "LOCALHOST",
        "http://LOCALHOST:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "circled letters (IDNA to localhost)",
        "http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "name -> 127.0.0.1",
        "http://internal.test:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "name -> 127.0.0.1, trailing dot",
        "http://internal.test.:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "name -> ::1",
        "http://internal6.test:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "name -> 169.254.169.254",
        "http://metadata.test:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "name -> 10.0.0.1",
        "http://intranet.test:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    // Redirects from the public host to an internal one.
    (
        "302 to loopback",
        "{PUB}/r/302?http://127.0.0.1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "301 to localhost",
        "{PUB}/r/301?http://localhost:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "303 to [::1]",
        "{PUB}/r/303?http://[::1]:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "307 to metadata",
        "{PUB}/r/307?http://169.254.169.254:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "308 to hex",
        "{PUB}/r/308?http://0x7f.1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "302 to mapped",
        "{PUB}/r/302?http://[::ffff:7f00:1]:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "302, scheme-relative",
        "{PUB}/r/302?//127.0.0.1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "302 to a name",
        "{PUB}/r/302?http://internal.test:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "302 to 302 to 10/8",
        "{PUB}/r/302?{PUB}/r/302?http://10.0.0.1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "public name, 302 to loopback",
        "http://public.test:{P}/r/302?http://127.0.0.1:{P}/{ID}",
        Expect::Internal,
        true,
    ),
    (
        "DNS rebinding between hops",
        "http://rebind-{TAG}-{ID}.test:{P}/r/302?http://rebind-{TAG}-{ID}.test:{P}/{ID}",
        Expect::Internal,
        true,
    ),
];

fn rows(trap: &Trap, tag: &str) -> Vec<Row> {
    ROWS.iter()
        .enumerate()
        .map(|(i, (what, template, expect, reaches))| {
            let id = format!("row{i}x");
            let url = template
                .replace("{PUB}", &trap.public_base())
                .replace("{P}", &trap.port.to_string())
                .replace("{TAG}", tag)
                .replace("{ID}", &id);
            let redirect = url.starts_with(&trap.public_base()) || url.contains("/r/");
            Row {
                what,
                url,
                id,
                expect: *expect,
                reaches: *reaches,
                redirect,
            }
        })
        .collect()
}

/// What the refusal of `row` must say (in `text`, one line or a page).
fn assert_refusal(row: &Row, text: &str) {
    let said = match row.expect {
        Expect::Internal => {
            text.contains("is an internal address")
                || text.contains("an internal address (roost config allow_private_addresses")
        }
        Expect::NotAUrl => text.contains("is not a web address"),
        Expect::Userinfo => text.contains("with a user name or password"),
    };
    assert!(
        said,
        "{} ({}): refused for the wrong reason: {text}",
        row.what, row.url
    );
}

/// After the rows: no connection reached an internal address.
fn assert_no_internal_connection(trap: &Trap, surface: &str) {
    let hits = trap.internal_hits();
    assert!(
        hits.is_empty(),
        "{surface}: internal addresses were connected to: {hits:?}"
    );
}

/// A redirect row is refused at the redirect: the public host was asked.
fn assert_public_asked(trap: &Trap, row: &Row) {
    if row.redirect {
        assert!(
            trap.public_hits_for(&row.id) > 0,
            "{} ({}): the public host was never asked, so the redirect was not tested",
            row.what,
            row.url
        );
    }
}

fn init(dir: &TempDir, name: &str) -> std::path::PathBuf {
    let home = dir.join(name);
    expect_success(
        "init",
        &roost_cli(
            &home,
            &["init", "--url", "https://owner.example/", "--name", name],
            None,
        ),
    );
    home
}

fn follows(home: &Path) -> usize {
    let out = expect_success("export", &roost_cli(home, &["export"], None));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    doc["follows"].as_array().unwrap().len()
}

#[test]
fn roost_follow_refuses_every_row() {
    setup();
    let trap = Trap::start();
    let dir = TempDir::new("roost-ssrf");
    let home = init(&dir, "guarded");
    for row in rows(&trap, "follow") {
        let out = roost_cli(&home, &["follow", &row.url], None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{} ({}) was followed",
            row.what,
            row.url
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert_refusal(&row, &stderr);
        assert_public_asked(&trap, &row);
        assert_eq!(
            trap.internal_hits_for(&row.id),
            0,
            "{} ({})",
            row.what,
            row.url
        );
    }
    assert_no_internal_connection(&trap, "roost follow");
    assert_eq!(follows(&home), 0, "nothing stored");
}

/// The control and the poll: with `allow_private_addresses` every reachable
/// row follows (the trap sees it), then with the guard back on a poll of
/// those very follows connects to none of them.
#[test]
fn roost_poll_refuses_what_was_followed_while_allowed() {
    setup();
    let trap = Trap::start();
    let dir = TempDir::new("roost-ssrf");
    let home = init(&dir, "opened");
    let cli = |args: &[&str]| expect_success(&args.join(" "), &roost_cli(&home, args, None));
    cli(&["config", "allow_private_addresses", "true"]);
    let reachable: Vec<Row> = rows(&trap, "poll")
        .into_iter()
        .filter(|r| r.reaches)
        .collect();
    for row in &reachable {
        let out = roost_cli(&home, &["follow", &row.url], None);
        assert!(
            out.status.success(),
            "control: {} ({}) should follow with the guard off: {}",
            row.what,
            row.url,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            trap.internal_hits_for(&row.id) > 0,
            "control: {} ({}) followed without reaching the trap",
            row.what,
            row.url
        );
    }
    assert_eq!(follows(&home), reachable.len());

    cli(&["config", "allow_private_addresses", "false"]);
    trap.clear();
    let out = cli(&["poll", "--force"]);
    assert!(
        out.contains(&format!("{} errors", reachable.len())),
        "every feed failed: {out}"
    );
    assert_no_internal_connection(&trap, "roost poll");
    let following = cli(&["following"]);
    let refused = following
        .lines()
        .filter(|l| l.contains("error: refused:") && l.contains("internal address"))
        .count();
    assert_eq!(
        refused,
        reachable.len(),
        "each feed's error says why:\n{following}"
    );
}

/// Webmention: a post linking to each row, and the cron run that discovers
/// and sends, connects to no internal address, redirects included.
#[test]
fn roost_cron_sends_no_webmention_to_any_row() {
    setup();
    let trap = Trap::start();
    let dir = TempDir::new("roost-ssrf");
    let home = init(&dir, "mentions");
    let cli = |args: &[&str]| expect_success(&args.join(" "), &roost_cli(&home, args, None));
    let rows = rows(&trap, "webmention");
    let linked: Vec<&Row> = rows
        .iter()
        .filter(|r| r.url.starts_with("http://") || r.url.starts_with("https://"))
        .collect();
    for row in &linked {
        cli(&["post", &format!("Mentioning {}", row.url)]);
    }
    let out = cli(&["cron"]);
    assert_no_internal_connection(&trap, "roost cron (webmention.send)");
    for row in &linked {
        assert_public_asked(&trap, row);
    }
    let refused = out
        .lines()
        .filter(|l| l.contains("webmention.send") && l.contains("internal address"))
        .count();
    assert!(refused > 0, "{out}");
    assert!(
        out.contains("0 to retry later"),
        "refusals are final: {out}"
    );
}

/// Logs in to `site` and returns (session cookie, CSRF token of /following).
fn log_in(site: &Site) -> (String, String) {
    let form = site.get("/login", &[]);
    let login_cookie = form.cookie("roost_login").expect("a login cookie");
    let body = form_encode(&[
        ("csrf", &hidden_csrf(&form.text())),
        ("password", OWNER_PASSWORD),
    ]);
    let cookie = format!("roost_login={login_cookie}");
    let done = site.post_form("/login", &body, &[("Cookie", &cookie)]);
    assert_eq!(done.status, 303, "log in: {}", done.text());
    let session = format!("roost_session={}", done.cookie("roost_session").unwrap());
    let page = site.get("/following", &[("Cookie", &session)]);
    (session.clone(), hidden_csrf(&page.text()))
}

fn web_follow(
    site: &Site,
    session: &(String, String),
    url: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let body = form_encode(&[("csrf", &session.1), ("url", url), ("name", "")]);
    let mut h = vec![("Cookie", session.0.as_str())];
    h.extend_from_slice(headers);
    let resp = site.post_form("/follow", &body, &h);
    (resp.status, resp.text())
}

fn web_refuses_every_row(kind: Kind) {
    setup();
    let trap = Trap::start();
    let site = apache().roost_site(&unique("ssrf"), kind);
    let session = log_in(&site);
    for row in rows(&trap, &format!("web{kind:?}").to_lowercase()) {
        let (status, page) = web_follow(&site, &session, &row.url, &[]);
        assert_eq!(
            status, 400,
            "{} ({}) through {kind:?}: {page}",
            row.what, row.url
        );
        assert_refusal(&row, &page.replace("&quot;", "\""));
        assert_public_asked(&trap, &row);
    }
    assert_no_internal_connection(&trap, &format!("POST /follow under {kind:?}"));
    let out = expect_success("export", &site.cli(&["export"], None));
    assert!(out.contains("\"follows\": []"), "nothing stored: {out}");
}

#[test]
fn post_follow_under_cgi_refuses_every_row() {
    web_refuses_every_row(Kind::Cgi);
}

#[test]
fn post_follow_under_fastcgi_refuses_every_row() {
    web_refuses_every_row(Kind::Fcgid);
}

const PROXY_VARIABLES: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// `roost follow` and `roost poll` with every proxy variable naming a proxy
/// on the public host (so the guard would not stop it): a public feed is
/// fetched directly, an internal one refused, and the proxy never contacted.
#[test]
fn proxies_in_the_environment_are_never_used() {
    setup();
    let trap = Trap::start();
    let dir = TempDir::new("roost-ssrf");
    let home = init(&dir, "proxied");
    let run = |args: &[&str]| {
        let mut cmd = roost_command();
        cmd.arg("--home").arg(&home).args(args);
        for var in PROXY_VARIABLES {
            cmd.env(var, trap.proxy_url());
        }
        cmd.env_remove("NO_PROXY").env_remove("no_proxy");
        common::run_with_stdin(&mut cmd, None)
    };
    let public_feed = format!("{}/feed-env", trap.public_base());
    let out = run(&["follow", &public_feed]);
    expect_success("follow with proxies set", &out);
    assert!(trap.public_hits_for("/feed-env") > 0, "fetched directly");
    for row in rows(&trap, "env").iter().filter(|r| !r.redirect) {
        let out = run(&["follow", &row.url]);
        assert!(
            !out.status.success(),
            "{} ({}) was followed",
            row.what,
            row.url
        );
        assert_refusal(row, &String::from_utf8_lossy(&out.stderr));
    }
    let before = trap.public_hits_for("/feed-env");
    expect_success("poll with proxies set", &run(&["poll", "--force"]));
    assert!(
        trap.public_hits_for("/feed-env") > before,
        "polled directly"
    );
    assert_no_internal_connection(&trap, "proxies in the environment");
    assert_eq!(trap.proxied(), 0, "the proxy from the environment was used");
}

/// httpoxy: a request's `Proxy:` header becomes `HTTP_PROXY` in a CGI
/// environment unless the server drops it (Apache since 2.4.25 does, which
/// the env script shows). Both ways are tried: the header through Apache,
/// under CGI and FastCGI, and the variable itself in the environment of a
/// CGI run by hand, as a server that passes it would.
#[test]
fn a_proxy_request_header_is_never_used() {
    setup();
    let trap = Trap::start();
    let proxy_header = [("Proxy", trap.proxy_url())];
    let proxy_header: Vec<(&str, &str)> =
        proxy_header.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // What this Apache hands a CGI for the header.
    let env = apache().shell_site(&unique("ssrf-env"), ENV_SCRIPT);
    let seen = env.get("/", &proxy_header).text();
    let apache_passes_it = seen.contains(&format!("HTTP_PROXY={}", trap.proxy_url()));
    println!("Apache passes Proxy: as HTTP_PROXY to a CGI: {apache_passes_it}");
    for kind in [Kind::Cgi, Kind::Fcgid] {
        let site = apache().roost_site(&unique("ssrf-proxy"), kind);
        let session = log_in(&site);
        let feed = format!("{}/feed-{kind:?}", trap.public_base());
        let (status, page) = web_follow(&site, &session, &feed, &proxy_header);
        assert_eq!(status, 303, "{kind:?}: the public feed is followed: {page}");
        assert!(
            trap.public_hits_for(&format!("/feed-{kind:?}")) > 0,
            "directly"
        );
        let (status, page) = web_follow(
            &site,
            &session,
            &format!("http://127.0.0.1:{}/x", trap.port),
            &proxy_header,
        );
        assert_eq!(status, 400, "{kind:?}: {page}");
    }
    // A CGI request run by hand with HTTP_PROXY set, on the CGI site's data.
    let site = apache().roost_site(&unique("ssrf-byhand"), Kind::Cgi);
    let session = log_in(&site);
    let feed = format!("{}/feed-byhand", trap.public_base());
    let body = form_encode(&[("csrf", &session.1), ("url", &feed), ("name", "")]);
    let mut cmd = std::process::Command::new(site.binary.as_ref().unwrap());
    common::run_as_cgi_user(&mut cmd);
    cmd.env_clear()
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("REQUEST_METHOD", "POST")
        .env("SCRIPT_NAME", site.path("/roost.cgi"))
        .env("PATH_INFO", "/follow")
        .env("REQUEST_URI", site.path("/follow"))
        .env("SERVER_NAME", "127.0.0.1")
        .env("SERVER_PORT", apache().port().to_string())
        .env("HTTP_HOST", &site.host)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_TYPE", "application/x-www-form-urlencoded")
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_COOKIE", &session.0)
        .env("HTTP_PROXY", trap.proxy_url())
        .env("ROOST_HOME", &site.home);
    let out = common::run_with_stdin(&mut cmd, Some(&body));
    let response = String::from_utf8_lossy(&out.stdout);
    assert!(
        response.starts_with("Status: 303"),
        "followed by hand: {response}"
    );
    assert!(trap.public_hits_for("/feed-byhand") > 0, "directly");
    assert_no_internal_connection(&trap, "httpoxy");
    assert_eq!(trap.proxied(), 0, "the Proxy: header was used as a proxy");
}
