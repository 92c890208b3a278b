//! The one place an outgoing HTTP client is built. Every limit a fetch obeys
//! is written here. Polling (which fetches feeds) builds on `agent`.

use std::time::Duration;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
pub const MAX_REDIRECTS: u32 = 5;

/// The `User-Agent` every request names: roost, its version, and the node.
pub fn user_agent(node_url: &str) -> String {
    format!("roost/{} (+{node_url})", env!("CARGO_PKG_VERSION"))
}

/// An HTTP client that never takes a proxy from the environment: under CGI a
/// request's `Proxy:` header arrives as `HTTP_PROXY` (httpoxy), and ureq's
/// default would obey it.
pub fn agent(node_url: &str) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .proxy(None)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(TOTAL_TIMEOUT))
        .max_redirects(MAX_REDIRECTS)
        .http_status_as_error(false)
        .user_agent(user_agent(node_url))
        .build();
    ureq::Agent::new_with_config(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A request made with HTTP_PROXY pointing at a listener must go straight
    /// to the target; the would-be proxy sees no connection.
    #[test]
    fn environment_proxy_is_ignored() {
        let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
        proxy.set_nonblocking(true).unwrap();
        let proxy_addr = proxy.local_addr().unwrap();
        let target = TcpListener::bind("127.0.0.1:0").unwrap();
        let target_addr = target.local_addr().unwrap();
        let served = Arc::new(AtomicUsize::new(0));
        let served_by_target = served.clone();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = target.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).unwrap();
            served_by_target.fetch_add(1, Ordering::SeqCst);
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .unwrap();
        });
        // SAFETY: this test is the only one in the crate that touches these variables.
        unsafe {
            std::env::set_var("HTTP_PROXY", format!("http://{proxy_addr}"));
            std::env::set_var("http_proxy", format!("http://{proxy_addr}"));
            std::env::set_var("ALL_PROXY", format!("http://{proxy_addr}"));
        }
        let mut response = agent("http://node.example/")
            .get(&format!("http://{target_addr}/feed"))
            .call()
            .expect("direct request succeeds");
        assert_eq!(response.body_mut().read_to_string().unwrap(), "ok");
        server.join().unwrap();
        assert_eq!(served.load(Ordering::SeqCst), 1);
        assert!(
            proxy.accept().is_err(),
            "the proxy from the environment was contacted"
        );
    }
}
