//! Headless Chromium driven over the Chrome DevTools protocol (CDP), for tests
//! that go through the pages as a person does: type into fields, click
//! buttons, read the page, take screenshots at a phone's and a desktop's width.
//!
//! The browser is Debian's `chromium` package (installed by `scripts/setup`),
//! never a downloaded build. It runs in its own process group with a fresh
//! profile, and the whole group is killed when the [`Browser`] is dropped,
//! pass or panic. It is told not to reach anything but the pages it is sent
//! to: no background networking, updates, sync or QUIC.
//!
//! One page per `Browser`, spoken to through a flattened session on the
//! browser's WebSocket. Every console error, uncaught exception, browser log
//! error and Content-Security-Policy violation on that page is kept until
//! [`Browser::take_problems`] hands it over.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

use super::TempDir;

/// Debian's Chromium: the only browser the tests use.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// How long any one step (start, command, page load) may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Runs in every document before its own content: turns each CSP violation
/// into a console error, which the console listener then records. (Scripts
/// given by DevTools are not subject to the page's policy.)
const CSP_LISTENER: &str = "document.addEventListener('securitypolicyviolation', e => \
     console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') \
     + ' at ' + e.sourceFile + ':' + e.lineNumber));";

/// Events kept for [`Browser::take_watched`]: bindings called from the page
/// (`Runtime.addBinding`), dialogs (each is accepted at once, so that the
/// page goes on), and frames navigated.
pub const WATCHED: &[&str] = &[
    "Runtime.bindingCalled",
    "Page.javascriptDialogOpening",
    "Page.frameNavigated",
];

/// axe-core's browser bundle, as `scripts/setup` installs it from
/// tests/node/package-lock.json.
pub const AXE: &str = "tests/node/node_modules/axe-core/axe.min.js";

/// One rule axe-core found broken on a page, and where.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AxeViolation {
    pub id: String,
    pub impact: String,
    pub help: String,
    pub targets: Vec<String>,
}

impl std::fmt::Display for AxeViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {} at {}",
            self.id,
            self.impact,
            self.help,
            self.targets.join(", ")
        )
    }
}

/// A screen to look at pages on: CSS size and device pixel ratio.
#[derive(Debug, Clone, Copy)]
pub struct Viewport {
    pub name: &'static str,
    pub width: u32,
    pub height: u32,
    pub scale: u32,
    pub mobile: bool,
}

/// A current phone: 390×844 CSS pixels at 2× (screenshots 780 pixels wide).
pub const PHONE: Viewport = Viewport {
    name: "phone",
    width: 390,
    height: 844,
    scale: 2,
    mobile: true,
};

/// A laptop screen.
pub const DESKTOP: Viewport = Viewport {
    name: "desktop",
    width: 1280,
    height: 800,
    scale: 1,
    mobile: false,
};

pub struct Browser {
    child: Child,
    ws: WebSocket<TcpStream>,
    /// The page's flattened CDP session.
    session: String,
    next_id: u64,
    /// Events read while waiting for something else, oldest first.
    events: VecDeque<Value>,
    problems: Vec<String>,
    /// Events of the kinds in [`WATCHED`], oldest first, until taken.
    watched: Vec<Value>,
    viewport: Viewport,
    stderr: Arc<Mutex<String>>,
    _profile: TempDir,
}

impl Browser {
    /// Starts Chromium with a new profile and opens one blank page. Panics,
    /// naming `scripts/setup`, where Chromium is not installed: a missing
    /// browser fails the test, in CI and everywhere else.
    pub fn launch() -> Browser {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: the browser test needs Debian's chromium package; \
             run scripts/setup (it installs it)"
        );
        let profile = TempDir::new("roost-chromium");
        // Chromium keeps its singleton socket in a directory of its own under
        // TMPDIR, which a killed browser leaves behind: keep it in the profile.
        let tmp = profile.join("tmp");
        std::fs::create_dir(&tmp).unwrap_or_else(|e| panic!("mkdir {}: {e}", tmp.display()));
        let mut child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--mute-audio",
                "--remote-debugging-port=0",
                // The test Apache's virtual hosts (root.test, NAME.home.test).
                "--host-resolver-rules=MAP *.test 127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .env("TMPDIR", &tmp)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // Its own group, so that Drop can end its helper processes too.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMIUM}: {e}"));

        // Chromium names its WebSocket on stderr; the reader keeps draining
        // stderr afterwards (a full pipe would stall the browser).
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let pipe = child.stderr.take().expect("piped stderr");
        let log = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(at) = line.find("ws://") {
                    let _ = tx.send(line[at..].trim().to_string());
                }
                let mut log = log.lock().unwrap();
                if log.len() < 64 * 1024 {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        let ws_url = match rx.recv_timeout(TIMEOUT) {
            Ok(url) => url,
            Err(_) => {
                kill_group(&mut child);
                panic!(
                    "{CHROMIUM} did not announce its DevTools WebSocket within {TIMEOUT:?}:\n{}",
                    stderr.lock().unwrap()
                );
            }
        };
        let host = ws_url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("unexpected DevTools address {ws_url}"));
        let stream = TcpStream::connect(host)
            .unwrap_or_else(|e| panic!("cannot connect to Chromium at {host}: {e}"));
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        let _ = stream.set_nodelay(true);
        let (ws, _) = tungstenite::client(ws_url.as_str(), stream)
            .unwrap_or_else(|e| panic!("DevTools WebSocket handshake with {ws_url}: {e}"));

        let mut browser = Browser {
            child,
            ws,
            session: String::new(),
            next_id: 0,
            events: VecDeque::new(),
            problems: Vec::new(),
            watched: Vec::new(),
            viewport: DESKTOP,
            stderr,
            _profile: profile,
        };
        let target = browser.send(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().expect("a targetId").to_string();
        let attached = browser.send(
            None,
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        browser.session = attached["sessionId"]
            .as_str()
            .expect("a sessionId")
            .to_string();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            browser.call(domain, json!({}));
        }
        browser.call(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": CSP_LISTENER}),
        );
        browser
    }

    /// A CDP command on the page; returns its result, panics on an error.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(Some(&session), method, params)
    }

    /// [`Browser::call`] for a command that may fairly fail (the page went
    /// away meanwhile, say): the error Chromium gave instead of a panic.
    pub fn try_call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let session = self.session.clone();
        self.try_send(Some(&session), method, params)
    }

    fn send(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.try_send(session, method, params)
            .unwrap_or_else(|error| panic!("{method} failed: {error}"))
    }

    fn try_send(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .unwrap_or_else(|e| panic!("send {method} to Chromium: {e}"));
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let msg = self.read(method, deadline);
            if msg["id"].as_u64() == Some(id) {
                return match msg.get("error") {
                    Some(error) => Err(error.clone()),
                    None => Ok(msg["result"].clone()),
                };
            }
            if msg.get("method").is_some() {
                self.note(&msg);
                self.events.push_back(msg);
            }
        }
    }

    /// The next message from Chromium, or a panic naming what was awaited.
    fn read(&mut self, awaiting: &str, deadline: Instant) -> Value {
        loop {
            if Instant::now() > deadline {
                panic!("no answer from Chromium to {awaiting} within {TIMEOUT:?}");
            }
            let msg = self.ws.read().unwrap_or_else(|e| {
                panic!(
                    "reading from Chromium while awaiting {awaiting}: {e}\n{}",
                    self.stderr.lock().unwrap()
                )
            });
            match msg {
                Message::Text(text) => {
                    return serde_json::from_str(text.as_str())
                        .unwrap_or_else(|e| panic!("Chromium sent bad JSON ({e}): {text}"));
                }
                Message::Close(_) => panic!("Chromium closed the DevTools connection"),
                _ => continue,
            }
        }
    }

    /// Takes the page event `method` from the queue, or waits for it; returns
    /// its params.
    fn wait_event(&mut self, method: &str) -> Value {
        if let Some(at) = self.events.iter().position(|e| e["method"] == method) {
            return self.events.remove(at).unwrap()["params"].clone();
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let msg = self.read(method, deadline);
            if msg.get("method").is_none() {
                continue;
            }
            self.note(&msg);
            if msg["method"] == method && msg["sessionId"] == json!(self.session) {
                return msg["params"].clone();
            }
            self.events.push_back(msg);
        }
    }

    /// Records what a person would see in the console as a problem, keeps
    /// the [`WATCHED`] events and answers dialogs.
    fn note(&mut self, event: &Value) {
        let params = &event["params"];
        if let Some(method) = event["method"].as_str()
            && WATCHED.contains(&method)
        {
            self.watched.push(event.clone());
            if method == "Page.javascriptDialogOpening" {
                // A dialog blocks the page (and every command to it) until
                // answered: answer it without waiting for the reply.
                self.next_id += 1;
                let msg = json!({"id": self.next_id, "sessionId": self.session,
                    "method": "Page.handleJavaScriptDialog", "params": {"accept": true}});
                self.ws
                    .send(Message::text(msg.to_string()))
                    .unwrap_or_else(|e| panic!("answer a dialog: {e}"));
            }
        }
        match event["method"].as_str() {
            Some("Runtime.consoleAPICalled")
                if matches!(params["type"].as_str(), Some("error" | "assert")) =>
            {
                let args: Vec<String> = params["args"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|v| match &v["value"] {
                                Value::String(s) => s.clone(),
                                Value::Null => v["description"].as_str().unwrap_or("").to_string(),
                                other => other.to_string(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                self.problems
                    .push(format!("console.error: {}", args.join(" ")));
            }
            Some("Runtime.exceptionThrown") => {
                let d = &params["exceptionDetails"];
                self.problems.push(format!(
                    "uncaught exception: {} {}",
                    d["text"].as_str().unwrap_or(""),
                    d["exception"]["description"].as_str().unwrap_or("")
                ));
            }
            Some("Log.entryAdded") if params["entry"]["level"] == "error" => {
                let e = &params["entry"];
                self.problems.push(format!(
                    "{} error: {} ({})",
                    e["source"].as_str().unwrap_or("log"),
                    e["text"].as_str().unwrap_or(""),
                    e["url"].as_str().unwrap_or("")
                ));
            }
            _ => {}
        }
    }

    /// Every problem seen since the last call: console errors, exceptions,
    /// errors the browser logged, CSP violations.
    pub fn take_problems(&mut self) -> Vec<String> {
        // Anything Chromium has already sent but we have not read yet.
        self.call("Runtime.evaluate", json!({"expression": "0"}));
        std::mem::take(&mut self.problems)
    }

    /// Every [`WATCHED`] event since the last call (after reading whatever
    /// Chromium has sent so far).
    pub fn take_watched(&mut self) -> Vec<Value> {
        // It may fail where the page is navigating: what came is read anyway.
        let _ = self.try_call("Runtime.evaluate", json!({"expression": "0"}));
        std::mem::take(&mut self.watched)
    }

    /// Drops queued load events, so that the next wait sees a new page's.
    fn forget_loads(&mut self) {
        self.events.retain(|e| e["method"] != "Page.loadEventFired");
    }

    /// Opens `url` and waits until it has loaded.
    pub fn goto(&mut self, url: &str) {
        self.forget_loads();
        let nav = self.call("Page.navigate", json!({"url": url}));
        if let Some(error) = nav["errorText"].as_str().filter(|e| !e.is_empty()) {
            panic!("navigating to {url}: {error}");
        }
        self.wait_event("Page.loadEventFired");
    }

    /// Opens `url` in a second tab and waits until it has loaded there, as a
    /// person opening the site again does; the page in hand stays as it
    /// was (cookies are the browser's: the second tab's change the first's).
    pub fn open_in_another_tab(&mut self, url: &str) {
        let target = self.send(None, "Target.createTarget", json!({"url": "about:blank"}));
        let attached = self.send(
            None,
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        let other = attached["sessionId"]
            .as_str()
            .expect("a sessionId")
            .to_string();
        let first = std::mem::replace(&mut self.session, other);
        self.call("Page.enable", json!({}));
        self.goto(url);
        self.session = first;
        self.forget_loads();
    }

    /// Runs `js` in the page and returns its value (promises awaited). Panics
    /// with the exception where it throws.
    pub fn eval(&mut self, js: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!(
                "JavaScript failed: {}\n{}",
                e["exception"]["description"]
                    .as_str()
                    .unwrap_or_else(|| e["text"].as_str().unwrap_or("")),
                js
            );
        }
        r["result"]["value"].clone()
    }

    /// `eval` for a string result.
    pub fn eval_string(&mut self, js: &str) -> String {
        match self.eval(js) {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    /// Where the page is now.
    pub fn url(&mut self) -> String {
        self.eval_string("location.href")
    }

    /// How many elements match `selector`.
    pub fn count(&mut self, selector: &str) -> usize {
        let js = format!("document.querySelectorAll({}).length", json!(selector));
        self.eval(&js).as_u64().unwrap_or(0) as usize
    }

    /// The text of the first element matching `selector` (panics if none).
    pub fn text(&mut self, selector: &str) -> String {
        self.require(selector);
        self.eval_string(&format!(
            "document.querySelector({}).innerText",
            json!(selector)
        ))
    }

    /// An attribute of the first element matching `selector` (panics if none).
    pub fn attr(&mut self, selector: &str, name: &str) -> Option<String> {
        self.require(selector);
        match self.eval(&format!(
            "document.querySelector({}).getAttribute({})",
            json!(selector),
            json!(name)
        )) {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Panics, showing the page's text, unless `selector` matches something.
    pub fn require(&mut self, selector: &str) {
        if self.count(selector) == 0 {
            let url = self.url();
            let body = self.eval_string("document.body ? document.body.innerText : ''");
            panic!("nothing matches {selector:?} on {url}:\n{body}");
        }
    }

    /// Focuses the field `selector`, empties it and types `text` into it, as
    /// a keyboard would (the page sees input events).
    pub fn type_into(&mut self, selector: &str, text: &str) {
        self.require(selector);
        self.eval(&format!(
            "(() => {{ const el = document.querySelector({}); el.scrollIntoView({{block: 'center'}}); \
             el.focus(); el.select && el.select(); }})()",
            json!(selector)
        ));
        self.call("Input.insertText", json!({"text": text}));
    }

    /// Clicks the middle of the first element matching `selector` with the
    /// mouse (so it must be visible and not covered), and waits for the page
    /// that the click loads.
    pub fn click_and_wait(&mut self, selector: &str) {
        self.require(selector);
        let rect = self.eval(&format!(
            "(() => {{ const el = document.querySelector({}); el.scrollIntoView({{block: 'center'}}); \
             const r = el.getBoundingClientRect(); \
             return {{x: r.left + r.width / 2, y: r.top + r.height / 2, w: r.width, h: r.height}}; }})()",
            json!(selector)
        ));
        let (x, y) = (rect["x"].as_f64().unwrap(), rect["y"].as_f64().unwrap());
        assert!(
            rect["w"].as_f64() > Some(0.0) && rect["h"].as_f64() > Some(0.0),
            "{selector} is not visible: {rect}"
        );
        self.forget_loads();
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
        self.wait_event("Page.loadEventFired");
    }

    /// The WCAG 2.1 A and AA violations axe-core finds on the page in hand,
    /// one line each: rule id, impact, the elements (CSS selectors) and
    /// axe's one-line help. axe is given by DevTools (not subject to the
    /// page's CSP), once per document. Panics, naming `scripts/setup`, where
    /// the tests' Node packages are not installed.
    pub fn axe_violations(&mut self) -> Vec<AxeViolation> {
        if self.eval("typeof axe") != json!("object") {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(AXE);
            let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}: the accessibility check needs axe-core; run scripts/setup \
                     (it installs tests/node/package-lock.json with npm ci)",
                    path.display()
                )
            });
            self.eval(&format!("{source};0"));
        }
        let found = self.eval(
            "axe.run(document, {runOnly: {type: 'tag', values: \
               ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']}) \
             .then(r => r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help, \
               targets: v.nodes.map(n => n.target.join(' '))})))",
        );
        serde_json::from_value(found).expect("axe's violations as {id, impact, help, targets}")
    }

    /// Shows the page as with the system's dark (or light) colour scheme:
    /// `prefers-color-scheme` answers accordingly.
    pub fn set_dark(&mut self, dark: bool) {
        let scheme = if dark { "dark" } else { "light" };
        self.call(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        );
    }

    /// Makes the page's screen `viewport` (the page is laid out again).
    pub fn set_viewport(&mut self, viewport: Viewport) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": viewport.width,
                "height": viewport.height,
                "deviceScaleFactor": viewport.scale,
                "mobile": viewport.mobile,
            }),
        );
        self.viewport = viewport;
    }

    pub fn viewport(&self) -> Viewport {
        self.viewport
    }

    /// The whole page, top to bottom, at the viewport's width, as PNG bytes
    /// (`viewport.width * viewport.scale` pixels wide), also written to `path`.
    pub fn screenshot_full_page(&mut self, path: &Path) -> Vec<u8> {
        let metrics = self.call("Page.getLayoutMetrics", json!({}));
        let height = metrics["cssContentSize"]["height"]
            .as_f64()
            .unwrap_or(self.viewport.height as f64)
            .ceil()
            .max(self.viewport.height as f64);
        let shot = self.call(
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": {"x": 0, "y": 0, "width": self.viewport.width, "height": height, "scale": 1},
            }),
        );
        let png = base64_decode(shot["data"].as_str().expect("screenshot data"));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        }
        std::fs::write(path, &png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        png
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// Kills Chromium and every process of its group (by the group id, which is
/// its pid), reaps it and waits briefly for the helpers to go.
fn kill_group(child: &mut Child) {
    let pgid = child.id() as libc::pid_t;
    // SAFETY: kill(2) with a negative pid signals exactly the group we made.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(2);
    // SAFETY: signal 0 only asks whether the group still has members.
    while unsafe { libc::kill(-pgid, 0) } == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// (width, height) of a well-formed PNG: signature, IHDR first, IEND last.
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    const IEND: &[u8] = b"\0\0\0\0IEND\xae\x42\x60\x82";
    if bytes.len() < 33 || !bytes.starts_with(SIGNATURE) || !bytes.ends_with(IEND) {
        return None;
    }
    if &bytes[8..16] != b"\0\0\0\x0dIHDR" {
        return None;
    }
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    Some((be(16), be(20)))
}

/// Standard base64 (what CDP sends screenshots as) to bytes.
pub fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {:?}", c as char),
        }
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &c)| n | value(c) << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}
