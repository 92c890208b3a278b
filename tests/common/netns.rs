//! A private network namespace for a test binary, so that tests can reach
//! addresses a machine does not have: a "public" address standing for a host
//! on the internet, private and link-local ones standing for an intranet, and
//! the nameservers of /etc/resolv.conf, answered by a DNS server of the
//! test's own ([`DnsServer`]). The real binary then resolves and connects as
//! it would on a host, with no change to the machine: the namespace lives
//! only as long as the test process, and only threads that [`enter`] it (and
//! the processes they start: the CLI, Apache and its CGI children) see it.
//!
//! Linux namespaces belong to a thread, not a process: [`enter`] moves the
//! calling test thread (libtest runs each test on a thread of its own) into
//! the one namespace, made on first use. Needs root (`CAP_SYS_ADMIN`) and
//! `ip` (iproute2).

use std::collections::HashMap;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

/// Enters the test binary's network namespace, creating it on first use with
/// loopback up and `addresses` (CIDR, e.g. "1.2.3.4/32") on `lo`, plus every
/// nameserver of /etc/resolv.conf. Every caller must pass the same list.
/// Panics, saying why, when it cannot (not root, no `ip`).
pub fn enter(addresses: &[&str]) {
    static NETNS: OnceLock<Result<File, String>> = OnceLock::new();
    let owned: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
    let ns = NETNS.get_or_init(|| {
        std::thread::spawn(move || create(&owned))
            .join()
            .unwrap_or_else(|_| Err("creating the namespace panicked".into()))
    });
    let ns = match ns {
        Ok(ns) => ns,
        Err(e) => panic!("cannot make a network namespace for this test: {e}"),
    };
    // SAFETY: a plain system call on a descriptor that stays open (a static).
    if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        panic!(
            "setns into the test's network namespace: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// The nameservers musl (so roost) asks: /etc/resolv.conf's, or 127.0.0.1.
pub fn nameservers() -> Vec<IpAddr> {
    let conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let found: Vec<IpAddr> = conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|rest| rest.trim().parse().ok())
        .collect();
    if found.is_empty() {
        vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]
    } else {
        found
    }
}

/// On a thread of its own: a new namespace, configured; its handle.
fn create(addresses: &[String]) -> Result<File, String> {
    if super::current_ids().0 != 0 {
        return Err("run the tests as root (a network namespace needs CAP_SYS_ADMIN)".into());
    }
    // SAFETY: a plain system call; it changes only this thread's namespace.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(format!("unshare: {}", std::io::Error::last_os_error()));
    }
    ip(&["link", "set", "lo", "up"])?;
    let servers = nameservers().into_iter().filter(|s| !s.is_loopback());
    let servers: Vec<String> = servers
        .map(|s| match s {
            IpAddr::V4(v4) => format!("{v4}/32"),
            IpAddr::V6(v6) => format!("{v6}/128"),
        })
        .collect();
    for address in addresses.iter().chain(&servers) {
        ip(&["addr", "add", address, "dev", "lo"])?;
    }
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) };
    File::open(format!("/proc/self/task/{tid}/ns/net"))
        .map_err(|e| format!("open the namespace handle: {e}"))
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ip (install iproute2): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// What a name resolves to: `answer(name, nth)` gets the lower-case name
/// (no trailing dot) and how many A queries for it came before this one;
/// `None` is NXDOMAIN.
pub type Zone = dyn Fn(&str, usize) -> Option<Vec<IpAddr>> + Send + Sync;

/// A DNS server on port 53 of every nameserver address, inside the
/// namespace: A and AAAA answers from a [`Zone`], TTL 0, everything else
/// empty. Start it from a thread that has entered the namespace.
pub struct DnsServer {
    queries: Arc<Mutex<HashMap<String, usize>>>,
}

impl DnsServer {
    pub fn start(zone: Box<Zone>) -> DnsServer {
        let queries: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let zone: Arc<Zone> = Arc::from(zone);
        for server in nameservers() {
            let socket = UdpSocket::bind((server, 53))
                .unwrap_or_else(|e| panic!("bind the test DNS server on {server}:53: {e}"));
            let (zone, queries) = (zone.clone(), queries.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 1500];
                while let Ok((n, from)) = socket.recv_from(&mut buf) {
                    if let Some(reply) = reply(&buf[..n], &*zone, &queries) {
                        let _ = socket.send_to(&reply, from);
                    }
                }
            });
        }
        DnsServer { queries }
    }

    /// A queries seen for `name` so far.
    pub fn a_queries(&self, name: &str) -> usize {
        self.queries.lock().unwrap().get(name).copied().unwrap_or(0)
    }
}

/// The answer to one query, or `None` for a packet that is not one.
fn reply(query: &[u8], zone: &Zone, queries: &Mutex<HashMap<String, usize>>) -> Option<Vec<u8>> {
    let (mut at, mut labels) = (12, Vec::new());
    loop {
        let len = *query.get(at)? as usize;
        at += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(at..at + len)?).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*query.get(at)?, *query.get(at + 1)?]);
    let question_end = at + 4;
    query.get(..question_end)?;
    let name = labels.join(".");
    let nth = {
        let mut seen = queries.lock().unwrap();
        let count = seen.entry(name.clone()).or_default();
        let nth = *count;
        if qtype == 1 {
            *count += 1;
        }
        nth
    };
    let answers = zone(&name, nth);
    let records: Vec<Vec<u8>> = answers
        .iter()
        .flatten()
        .filter_map(|ip| match (ip, qtype) {
            (IpAddr::V4(v4), 1) => Some(v4.octets().to_vec()),
            (IpAddr::V6(v6), 28) => Some(v6.octets().to_vec()),
            _ => None,
        })
        .collect();
    let rcode = if answers.is_none() { 3 } else { 0 };
    let mut out = Vec::with_capacity(question_end + records.len() * 28);
    out.extend_from_slice(&query[..2]);
    out.push(0x80 | (query[2] & 0x01)); // a response; recursion desired, as asked
    out.push(0x80 | rcode); // recursion available
    out.extend_from_slice(&[0, 1]);
    out.extend_from_slice(&(records.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&query[12..question_end]);
    for rdata in records {
        out.extend_from_slice(&[0xc0, 0x0c]); // the name in the question
        out.extend_from_slice(&qtype.to_be_bytes());
        out.extend_from_slice(&[0, 1, 0, 0, 0, 0]); // class IN, TTL 0
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    Some(out)
}
