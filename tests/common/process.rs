//! Running roost as a long-lived process (serve, fastcgi, a poll to kill)
//! and the small page-reading helpers every web test needs.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed (by its PID) when the test ends, pass or fail.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `roost --home HOME ARGS...` in the background, as the CGI user.
pub fn start(home: &Path, args: &[&str]) -> Running {
    let mut cmd = super::roost_command();
    cmd.arg("--home")
        .arg(home)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Running(super::spawn(&mut cmd).expect("start roost"))
}

/// `roost serve` on a free port; returns the process and its address once it answers.
pub fn serve(home: &Path, port: u16) -> (Running, SocketAddr) {
    let running = start(home, &["serve", "--listen", &format!("127.0.0.1:{port}")]);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_for_tcp(addr);
    (running, addr)
}

pub fn wait_for_tcp(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "nothing listening on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The value of the first `csrf` hidden field in a page.
pub fn hidden_csrf(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a CSRF field in the page")
        + 19;
    html[at..].split('"').next().unwrap().to_string()
}
