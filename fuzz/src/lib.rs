//! The fuzz harness: one function per fuzz target, each taking the raw bytes
//! libFuzzer hands over, running roost's real code on them and panicking when
//! a property roost promises does not hold. Also each target's seeds.
//!
//! Shared by the `cargo fuzz` targets (`fuzz/fuzz_targets/*.rs`, through this
//! crate) and by the normal test suite (`tests/fuzz_seeds.rs` includes this
//! file with `#[path]`), which replays every seed and every saved crash input
//! through the very same functions on stable Rust. So this file uses only
//! `roost`, `html5ever`, `markup5ever_rcdom` and std, which both have.
//!
//! Does not fuzz anything by itself, and touches no file, socket or
//! environment variable.

use std::path::Path;

use roost::web::http::Params;

/// The fuzz targets, in the order `fuzz/run` runs them.
pub const TARGETS: &[&str] = &["feed", "sanitize", "cgi", "fastcgi", "opml"];

/// Runs the harness of `target` on `data`. Panics on a broken property, or on
/// an unknown target name.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "feed" => feed(data),
        "sanitize" => sanitize(data),
        "cgi" => cgi(data),
        "fastcgi" => fastcgi(data),
        "opml" => opml(data),
        other => panic!("no fuzz target named {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// 1. Feeds, every format.

/// The URL every fuzzed feed is said to come from (the base for relative links).
pub const FEED_URL: &str = "https://example.org/blog/feed";

/// The Content-Type header a feed input is fetched with: the input's first
/// byte picks one (modulo the length), the rest is the body. Seeds start with
/// byte 0 (no header), so the body is exactly the corpus file.
pub const FEED_CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("application/atom+xml"),
    Some("application/rss+xml; charset=windows-1252"),
    Some("text/xml; charset=iso-8859-1"),
    Some("application/feed+json"),
    Some("text/plain; charset=utf-8"),
    Some("text/html; charset=utf-16"),
    Some("application/xml; charset=shift_jis"),
];

/// `roost::poll::parse::parse` on any bytes: never panics, and what it returns
/// keeps the promises of `IncomingFeed` (at most `MAX_ENTRIES`, no duplicate
/// or empty identity, links trimmed and never empty).
pub fn feed(data: &[u8]) {
    use roost::poll::parse;
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let content_type = FEED_CONTENT_TYPES[usize::from(selector) % FEED_CONTENT_TYPES.len()];
    let Ok(feed) = parse::parse(body, content_type, FEED_URL) else {
        return;
    };
    assert!(
        feed.entries.len() <= parse::MAX_ENTRIES,
        "{} entries, over MAX_ENTRIES",
        feed.entries.len()
    );
    let mut identities = std::collections::HashSet::new();
    for entry in &feed.entries {
        assert!(
            !entry.identity.is_empty(),
            "an entry with an empty identity"
        );
        assert!(
            identities.insert(entry.identity.as_str()),
            "two entries with the identity {:?}",
            entry.identity
        );
        // Resolved when it can be; kept as written (trimmed) when the URL
        // parser refuses it: `ingest::prepare` keeps only http(s) links.
        if let Some(link) = &entry.link {
            assert!(
                !link.is_empty() && link.trim() == link,
                "an empty or untrimmed link {link:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// 2. The HTML sanitizer.

/// The base URL the sanitizer resolves relative links against.
pub const SANITIZE_BASE: &str = "https://example.org/blog/post?x=1";

/// Elements that run code, load other documents or plugins, submit data or
/// restyle the page: none may appear in sanitized output, in any namespace.
pub const ACTIVE_ELEMENTS: &[&str] = &[
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "style",
    "link",
    "meta",
    "base",
    "form",
    "input",
    "button",
    "select",
    "textarea",
    "svg",
    "math",
    "template",
    "noscript",
    "portal",
    "fencedframe",
    "video",
    "audio",
    "source",
    "track",
    "animate",
    "set",
    "handler",
    "listener",
    "foreignobject",
    "use",
    "image",
    "xmp",
    "plaintext",
    "noembed",
    "noframes",
    "param",
    "dialog",
];

/// Attributes whose value the browser loads or follows as a URL.
pub const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "cite",
    "action",
    "formaction",
    "xlink:href",
    "poster",
    "background",
    "srcset",
    "lowsrc",
    "dynsrc",
    "longdesc",
    "usemap",
    "data",
    "codebase",
    "manifest",
    "ping",
    "icon",
    "profile",
    "archive",
    "classid",
];

/// `roost::sanitize::sanitize` on any text. The output, parsed again by
/// html5ever's tree builder the way a browser parses a fragment inside a
/// `<div>` (scripting on), has no active element, no element outside the HTML
/// namespace, no `on*` attribute, no `style`, and no `javascript:`,
/// `vbscript:` or non-image `data:` URL (only `img src` may be `data:`, and
/// only a raster image type). It also keeps to the sanitizer's own
/// allow-lists, stays within `MAX_INPUT_BYTES`, and is the fixed point the
/// sanitizer promises (sanitizing it again gives it back).
pub fn sanitize(data: &[u8]) {
    use roost::sanitize as s;
    let html = String::from_utf8_lossy(data);
    let out = s::sanitize(&html, SANITIZE_BASE);
    let out = out.as_str();
    assert!(
        out.len() <= s::MAX_INPUT_BYTES,
        "output of {} bytes, over MAX_INPUT_BYTES",
        out.len()
    );
    if let Err(why) = check_safe_html(out) {
        panic!("unsafe sanitizer output: {why}\n--- output ---\n{out}");
    }
    let again = s::sanitize(out, SANITIZE_BASE);
    assert_eq!(
        again.as_str(),
        out,
        "sanitize is not a fixed point on its own output"
    );
}

/// Parses `html` as a browser parses the inside of a `<div>` and says what is
/// wrong with it, if anything, by the rules of [`sanitize`].
pub fn check_safe_html(html: &str) -> Result<(), String> {
    use html5ever::tendril::TendrilSink;
    use html5ever::{QualName, local_name, ns};
    use markup5ever_rcdom::RcDom;
    let dom = html5ever::parse_fragment(
        RcDom::default(),
        html5ever::ParseOpts::default(),
        QualName::new(None, ns!(html), local_name!("div")),
        Vec::new(),
        true,
    )
    .one(html);
    check_node(&dom.document)
}

fn check_node(node: &markup5ever_rcdom::Handle) -> Result<(), String> {
    use markup5ever_rcdom::NodeData;
    if let NodeData::Element {
        name,
        attrs,
        template_contents,
        ..
    } = &node.data
    {
        let tag = (*name.local).to_ascii_lowercase();
        if *name.ns != *"http://www.w3.org/1999/xhtml" {
            return Err(format!("<{tag}> in the namespace {}", &*name.ns));
        }
        if ACTIVE_ELEMENTS.contains(&&*tag) {
            return Err(format!("an active element <{tag}>"));
        }
        // The parser wraps a fragment in <html>, and adds <tbody> to tables.
        let allowed_tag =
            roost::sanitize::ALLOWED_TAGS.contains(&&*tag) || tag == "html" || tag == "tbody";
        if !allowed_tag {
            return Err(format!("<{tag}>, which is not on the allow-list"));
        }
        if template_contents.borrow().is_some() {
            return Err(format!("template contents under <{tag}>"));
        }
        for attr in attrs.borrow().iter() {
            let attr_name = (*attr.name.local).to_ascii_lowercase();
            let value: &str = &attr.value;
            if attr_name.starts_with("on") {
                return Err(format!("an event handler {attr_name}= on <{tag}>"));
            }
            if attr_name == "style" {
                return Err(format!("a style attribute on <{tag}>"));
            }
            let allowed_attr = roost::sanitize::ALLOWED_ATTRIBUTES
                .iter()
                .any(|(t, names)| *t == &*tag && names.contains(&&*attr_name))
                || (&*tag == "a" && &*attr_name == "rel");
            if !allowed_attr {
                return Err(format!("{attr_name}= on <{tag}>, not on the allow-list"));
            }
            if &*tag == "a" && &*attr_name == "rel" && value != roost::sanitize::LINK_REL {
                return Err(format!("<a rel={value:?}>"));
            }
            if URL_ATTRIBUTES.contains(&&*attr_name) {
                check_url(&tag, &attr_name, value)?;
            }
        }
    }
    for child in node.children.borrow().iter() {
        check_node(child)?;
    }
    Ok(())
}

/// A URL as a browser reads its scheme: leading and trailing C0 controls and
/// spaces trimmed, tabs and newlines anywhere removed, case ignored.
fn check_url(tag: &str, attr: &str, value: &str) -> Result<(), String> {
    let cleaned: String = value
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect::<String>()
        .to_ascii_lowercase();
    for scheme in ["javascript:", "vbscript:", "livescript:", "mocha:"] {
        if cleaned.starts_with(scheme) {
            return Err(format!("a script URL in <{tag} {attr}={value:?}>"));
        }
    }
    if let Some(rest) = cleaned.strip_prefix("data:") {
        let media_type = rest.split([';', ',']).next().unwrap_or("").trim();
        let raster = roost::sanitize::DATA_IMAGE_TYPES.contains(&media_type);
        if !(tag == "img" && attr == "src" && raster) {
            return Err(format!("a data: URL in <{tag} {attr}={value:?}>"));
        }
    }
    Ok(())
}

/// Hand-written sanitizer seeds: the classic ways to smuggle script through an
/// HTML filter, so the fuzzer starts next to the edges that matter.
pub const SANITIZE_SEEDS: &[&str] = &[
    "<p>Hello <b>world</b> <a href=\"/x\">link</a> <img src=\"a.png\" alt=\"a\"></p>",
    "<script>alert(1)</script><p>after</p>",
    "<img src=x onerror=alert(1)>",
    "<a href=\"javascript:alert(1)\">x</a><a href=\"JaVaScRiPt&#58;alert(1)\">y</a>",
    "<a href=\" &#14; java\tscript:alert(1)\">x</a>",
    "<a href=\"vbscript:msgbox(1)\">x</a><a href=\"data:text/html,<script>alert(1)</script>\">d</a>",
    "<img src=\"data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=\"><img src=\"data:image/png;base64,iVBORw0KGgo=\">",
    "<svg><script>alert(1)</script><foreignObject><p>x</p></foreignObject></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<svg></p><style><a id=\"</style><img src=1 onerror=alert(1)>\">",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<iframe src=\"https://evil.example/\"></iframe><object data=\"x\"></object><embed src=\"x\">",
    "<form action=\"https://evil.example/\"><input name=a><button formaction=\"javascript:x\">b</button></form>",
    "<style>body{display:none}</style><p style=\"position:fixed;top:0\">x</p>",
    "<template><script>alert(1)</script></template><xmp><script>x</script></xmp>",
    "<!--<script>alert(1)--><p>x</p><!--> <img src=x onerror=alert(1)> -->",
    "<table><tr><td>a<p>b</table><ul><li>1<li>2</ul><p><p>",
    "<a href=\"https://example.org/\" rel=\"opener\" target=\"_blank\">x</a>",
    "<blockquote cite=\"javascript:alert(1)\"><q cite=\"//evil.example/x\">q</q></blockquote>",
    "<div><div><div><div><div><div><div><div><span>deep</span></div></div></div></div></div></div></div></div>",
    "<plaintext><script>alert(1)</script>",
    "<select><option><img src=x onerror=alert(1)></select><textarea><img src=x onerror=alert(1)></textarea>",
    "<base href=\"javascript:/\"><a href=\"x\">rel</a><meta http-equiv=refresh content=\"0;url=javascript:x\">",
    "<img srcset=\"javascript:alert(1) 1x\" src=\"ok.png\"><a href=\"&#x6A;avascript:alert(1)\">e</a>",
];

// ---------------------------------------------------------------------------
// 3. CGI requests: the environment and the body.

/// CGI input: `NAME=VALUE` lines (raw bytes, split at the first `=`), an empty
/// line, then the body. The harness reads it as `gateway` does: the body
/// length check on the environment, then `Request::from_params`, then the
/// cookie, query, conditional-request, forwarded and urlencoded form parsers,
/// then every request header echoed into a response header (the cleaning
/// that keeps response headers whole).
pub fn cgi(data: &[u8]) {
    use roost::web::http::{self, MAX_BODY_BYTES, Request, Response};
    let (params, body) = cgi_input(data);
    match params.body_length_within_limit() {
        Ok(n) => assert!(n <= MAX_BODY_BYTES, "a body length of {n} passed the limit"),
        Err(r) => assert!(
            r.status == 400 || r.status == 413,
            "status {} for a bad Content-Length",
            r.status
        ),
    }
    let request = Request::from_params(&params, body.to_vec());
    for (name, _) in &request.headers {
        assert!(
            !name.contains('_') && *name == name.to_ascii_lowercase(),
            "header name {name:?} is not lower-case with dashes"
        );
    }
    let _ = request.cookie("roost_session");
    let _ = request.query_param("page");
    let _ = request.has_fresh_copy("\"abc\"", 1_700_000_000);
    let forwarded = request.as_forwarded();
    assert_eq!(
        forwarded.path, request.path,
        "as_forwarded changed the path"
    );
    for input in [request.body.as_slice(), request.query.as_bytes()] {
        let pairs = http::parse_urlencoded(input);
        let parts = input.split(|&b| b == b'&').count();
        assert!(pairs.len() <= parts, "more pairs than &-separated parts");
        if http::is_valid_urlencoded_utf8(input) {
            let decoded = http::percent_decode(input);
            assert!(
                decoded.len() <= input.len(),
                "percent-decoding grew the input"
            );
        }
    }
    let mut response = Response::plain(200, "ok\n");
    for (name, value) in &request.headers {
        response = response.with_header(name, value);
    }
    response
        .headers
        .push((request.path.clone(), request.query.clone()));
    let lines =
        1 + response.headers.len() + usize::from(response.header("Content-Length").is_none());
    check_cgi_response(&response.to_cgi_bytes(), lines);
}

/// The header block of a CGI response is exactly `lines` lines (the status,
/// one per header, Content-Length): no name or value can end a line early.
fn check_cgi_response(bytes: &[u8], lines: usize) {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a CGI response without the blank line");
    let found: Vec<&[u8]> = bytes[..end].split(|&b| b == b'\n').collect();
    assert_eq!(found.len(), lines, "header lines were split or joined");
    for (i, line) in found.iter().enumerate() {
        let line = if i + 1 < found.len() {
            line.strip_suffix(b"\r")
                .expect("a header line without its CR")
        } else {
            line
        };
        assert!(
            !line.iter().any(|b| matches!(b, b'\r' | b'\0')),
            "a bare CR or a NUL in the response headers"
        );
    }
}

/// Splits CGI fuzz input into the environment and the body.
pub fn cgi_input(data: &[u8]) -> (Params, &[u8]) {
    let (env, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &b""[..]),
    };
    let pairs = env
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| match line.iter().position(|&b| b == b'=') {
            Some(i) => (line[..i].to_vec(), line[i + 1..].to_vec()),
            None => (line.to_vec(), Vec::new()),
        })
        .collect();
    (Params(pairs), body)
}

/// Environments as Apache's mod_cgi hands them over, for the requests roost
/// answers: GET pages and feeds (conditional, with cookies, below a mount
/// point), form POSTs, and the odd ones (non-UTF-8 path, bad length).
pub const CGI_SEEDS: &[&[u8]] = &[
    b"GATEWAY_INTERFACE=CGI/1.1\nREQUEST_METHOD=GET\nREQUEST_URI=/\nSCRIPT_NAME=/roost.cgi\nHTTP_HOST=example.org\nHTTPS=on\nREMOTE_ADDR=203.0.113.5\n\n",
    b"GATEWAY_INTERFACE=CGI/1.1\nREQUEST_METHOD=GET\nREQUEST_URI=/notes/posts/12?x=1\nPATH_INFO=/posts/12\nSCRIPT_NAME=/notes/roost.cgi\nQUERY_STRING=page=2&before=100\nHTTP_COOKIE=roost_session=abc; other=1\nHTTP_IF_NONE_MATCH=W/\"abc\", \"def\"\nHTTP_IF_MODIFIED_SINCE=Sun, 06 Nov 1994 08:49:37 GMT\n\n",
    b"GATEWAY_INTERFACE=CGI/1.1\nREQUEST_METHOD=POST\nREQUEST_URI=/posts\nPATH_INFO=/posts\nCONTENT_TYPE=application/x-www-form-urlencoded\nCONTENT_LENGTH=44\nHTTP_COOKIE=roost_session=s3cr3t\n\ncsrf=tok&text=Hello+%E2%9C%93+world%21&x=%zz",
    b"GATEWAY_INTERFACE=CGI/1.1\nREQUEST_METHOD=POST\nPATH_INFO=/login\nCONTENT_LENGTH=99999999999999999999\n\npassword=a",
    b"GATEWAY_INTERFACE=CGI/1.1\nREQUEST_METHOD=GET\nREQUEST_URI=/%ff%fe\nPATH_INFO=/\xff\xfe\nHTTP_X_FORWARDED_FOR=198.51.100.1, 10.0.0.1\nHTTP_X_FORWARDED_PROTO=https\nREDIRECT_HTTP_AUTHORIZATION=Basic YTpi\nROOST_HOME=/home/me/roost-data\n\n",
    b"REQUEST_METHOD=PUT\nCONTENT_LENGTH= 12 \nHTTP_X_EVIL=a\r\nSet-Cookie: x=1\nHTTP_=\n=\n\nabc&&=&a=b=c&%",
];

// ---------------------------------------------------------------------------
// 4. FastCGI records.

/// Reads requests off `data` with `roost::web::fastcgi::read_request`, as a
/// connection loop does, until EOF or an error. Every request stays within
/// the memory bounds, every record roost writes back is well formed, and a
/// response written for each request reads back as the same bytes.
pub fn fastcgi(data: &[u8]) {
    use roost::web::fastcgi::{MAX_PARAMS_BYTES, read_request, write_response};
    use roost::web::http::{MAX_BODY_BYTES, Request};
    let mut input = data;
    let mut replies = Vec::new();
    // Each request takes at least 16 bytes of records, so this always ends;
    // the cap only keeps a pathological input from running long.
    for _ in 0..1000 {
        match read_request(&mut input, &mut replies) {
            Ok(Some(req)) => {
                assert!(req.id != 0, "a request with id 0");
                assert!(req.body.len() <= MAX_BODY_BYTES, "body over MAX_BODY_BYTES");
                let params_bytes: usize = req.params.0.iter().map(|(k, v)| k.len() + v.len()).sum();
                assert!(
                    params_bytes <= MAX_PARAMS_BYTES,
                    "params over MAX_PARAMS_BYTES"
                );
                if req.early_response.is_some() {
                    assert!(req.body.is_empty(), "a refused request kept its body");
                }
                let request = Request::from_params(&req.params, req.body);
                let mut out = Vec::new();
                write_response(&mut out, req.id, &request.body).expect("writing to a Vec");
                let records = read_records(&out).expect("write_response wrote a bad record");
                let stdout: Vec<u8> = records
                    .iter()
                    .filter(|r| r.0 == 6)
                    .flat_map(|r| r.2.iter().copied())
                    .collect();
                assert_eq!(
                    stdout, request.body,
                    "STDOUT records do not add up to the response"
                );
                assert!(
                    records.iter().all(|r| r.1 == req.id),
                    "a record for another request"
                );
                assert_eq!(
                    records.last().map(|r| r.0),
                    Some(3),
                    "no END_REQUEST at the end"
                );
                if !req.keep_conn {
                    break;
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
    let records = read_records(&replies).expect("read_request wrote a bad record");
    for (kind, _, _) in records {
        // END_REQUEST, GET_VALUES_RESULT, UNKNOWN_TYPE are all it may send unasked.
        assert!(
            matches!(kind, 3 | 10 | 11),
            "read_request wrote a record of type {kind}"
        );
    }
}

/// Splits bytes into (type, request id, content) records, checking the
/// version, the padding to a multiple of 8, and that nothing is cut short.
fn read_records(mut bytes: &[u8]) -> Result<Vec<(u8, u16, Vec<u8>)>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let Some(header) = bytes.get(..8) else {
            return Err("a record header cut short".into());
        };
        if header[0] != 1 {
            return Err(format!("version {}", header[0]));
        }
        let len = usize::from(u16::from_be_bytes([header[4], header[5]]));
        let padding = usize::from(header[6]);
        if (len + padding) % 8 != 0 {
            return Err(format!(
                "content {len} + padding {padding} is not a multiple of 8"
            ));
        }
        let Some(content) = bytes.get(8..8 + len) else {
            return Err("a record cut short".into());
        };
        let id = u16::from_be_bytes([header[2], header[3]]);
        out.push((header[1], id, content.to_vec()));
        bytes = bytes.get(8 + len + padding..).ok_or("padding cut short")?;
    }
    Ok(out)
}

/// One FastCGI record, as a web server writes it (for seeds and tests).
pub fn fcgi_record(kind: u8, id: u16, content: &[u8]) -> Vec<u8> {
    let padding = content.len().wrapping_neg() % 8;
    let mut out = vec![1, kind];
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&(content.len() as u16).to_be_bytes());
    out.extend_from_slice(&[padding as u8, 0]);
    out.extend_from_slice(content);
    out.extend(std::iter::repeat_n(0, padding));
    out
}

/// FastCGI name-value pairs, lengths of one byte or four.
pub fn fcgi_pairs(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in pairs {
        for len in [name.len(), value.len()] {
            if len < 0x80 {
                out.push(len as u8);
            } else {
                out.extend_from_slice(&(len as u32 | 0x8000_0000).to_be_bytes());
            }
        }
        out.extend_from_slice(name);
        out.extend_from_slice(value);
    }
    out
}

/// A whole request as mod_fcgid sends it: BEGIN_REQUEST, PARAMS, the empty
/// PARAMS, STDIN and the empty STDIN.
pub fn fcgi_request(id: u16, keep_conn: bool, params: &[(&[u8], &[u8])], body: &[u8]) -> Vec<u8> {
    let mut out = fcgi_record(1, id, &[0, 1, u8::from(keep_conn), 0, 0, 0, 0, 0]);
    out.extend(fcgi_record(4, id, &fcgi_pairs(params)));
    out.extend(fcgi_record(4, id, &[]));
    if !body.is_empty() {
        out.extend(fcgi_record(5, id, body));
    }
    out.extend(fcgi_record(5, id, &[]));
    out
}

/// Connections as a web server opens them: one GET, a keep-alive connection
/// with a POST after it, GET_VALUES, an aborted and a multiplexed request,
/// a type roost does not know, and a non-UTF-8 parameter.
pub fn fastcgi_seeds() -> Vec<Vec<u8>> {
    let get: &[(&[u8], &[u8])] = &[
        (b"GATEWAY_INTERFACE", b"CGI/1.1"),
        (b"REQUEST_METHOD", b"GET"),
        (b"REQUEST_URI", b"/posts/1"),
        (b"PATH_INFO", b"/posts/1"),
        (b"HTTP_HOST", b"example.org"),
    ];
    let post: &[(&[u8], &[u8])] = &[
        (b"REQUEST_METHOD", b"POST"),
        (b"PATH_INFO", b"/login"),
        (b"CONTENT_LENGTH", b"14"),
        (b"CONTENT_TYPE", b"application/x-www-form-urlencoded"),
    ];
    let mut keep_alive = fcgi_request(1, true, get, b"");
    keep_alive.extend(fcgi_request(1, true, post, b"password=hello"));
    let mut values = fcgi_record(
        9,
        0,
        &fcgi_pairs(&[(b"FCGI_MAX_CONNS", b""), (b"FCGI_MPXS_CONNS", b"")]),
    );
    values.extend(fcgi_request(7, false, get, b""));
    let mut aborted = fcgi_record(1, 2, &[0, 1, 1, 0, 0, 0, 0, 0]);
    aborted.extend(fcgi_record(4, 2, &fcgi_pairs(get)));
    aborted.extend(fcgi_record(2, 2, &[]));
    aborted.extend(fcgi_request(3, false, get, b""));
    let mut multiplexed = fcgi_record(1, 4, &[0, 1, 1, 0, 0, 0, 0, 0]);
    multiplexed.extend(fcgi_record(1, 5, &[0, 1, 0, 0, 0, 0, 0, 0]));
    multiplexed.extend(fcgi_record(4, 5, &fcgi_pairs(get)));
    multiplexed.extend(fcgi_record(4, 4, &fcgi_pairs(get)));
    multiplexed.extend(fcgi_record(4, 4, &[]));
    multiplexed.extend(fcgi_record(5, 4, &[]));
    let mut unknown = fcgi_record(42, 0, b"whatever");
    unknown.extend(fcgi_record(1, 9, &[0, 2, 0, 0, 0, 0, 0, 0]));
    unknown.extend(fcgi_request(
        10,
        false,
        &[(b"PATH_INFO", b"/\xff\xfe"), (&[b'N'; 200], b"long")],
        b"x",
    ));
    vec![
        fcgi_request(1, false, get, b""),
        keep_alive,
        values,
        aborted,
        multiplexed,
        unknown,
    ]
}

// ---------------------------------------------------------------------------
// 5. OPML import.

/// `roost::opml::parse` on any bytes: never panics; what it accepts has
/// trimmed, non-empty, distinct feed URLs, at most `MAX_OUTLINES`; and a follow
/// list exported with `roost::opml::write` imports back as the same list.
pub fn opml(data: &[u8]) {
    use roost::opml;
    let Ok(outlines) = opml::parse(data) else {
        return;
    };
    assert!(outlines.len() <= opml::MAX_OUTLINES, "over MAX_OUTLINES");
    let mut seen = std::collections::HashSet::new();
    for o in &outlines {
        assert!(
            !o.xml_url.is_empty() && o.xml_url.trim() == o.xml_url,
            "xmlUrl {:?}",
            o.xml_url
        );
        assert!(
            seen.insert(o.xml_url.as_str()),
            "xmlUrl {:?} twice",
            o.xml_url
        );
    }
    let exported: Vec<opml::ExportedFeed> = outlines
        .iter()
        .map(|o| opml::ExportedFeed {
            xml_url: &o.xml_url,
            title: o.title.as_deref().unwrap_or(""),
            html_url: None,
        })
        .collect();
    let written = opml::write("fuzz", &exported, 0);
    let again = opml::parse(written.as_bytes())
        .unwrap_or_else(|e| panic!("roost cannot import its own export: {e}\n{written}"));
    assert_eq!(
        again, outlines,
        "export then import changed the follow list\n{written}"
    );
}

// ---------------------------------------------------------------------------
// Seeds.

/// Every seed of `target`, with a name, built from the shared corpus at
/// `corpus` (`tests/corpus/` in the repository)
/// and the hand-written seeds above. `fuzz/seeds` writes them out for
/// libFuzzer; `tests/fuzz_seeds.rs` replays them.
pub fn seeds(target: &str, corpus: &Path) -> Vec<(String, Vec<u8>)> {
    let files = files_below(corpus);
    let feeds = || {
        files.iter().filter_map(|path| {
            let rel = path
                .strip_prefix(corpus)
                .unwrap_or(path)
                .display()
                .to_string();
            let name = rel.rsplit('/').next().unwrap_or("");
            let not_input = name.starts_with("LICENSE")
                || name.ends_with(".md")
                || name.ends_with(".opml")
                || name.ends_with(".serde.json")
                || name.ends_with("_expected.json");
            (!not_input).then(|| (rel, read_maybe_gzip(path)))
        })
    };
    match target {
        "feed" => feeds()
            .map(|(rel, bytes)| {
                let mut seed = vec![0];
                seed.extend(bytes);
                (rel, seed)
            })
            .collect(),
        "sanitize" => {
            let mut out: Vec<(String, Vec<u8>)> = SANITIZE_SEEDS
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("hand-written-{i}"), s.as_bytes().to_vec()))
                .collect();
            let mut seen = std::collections::HashSet::new();
            for (rel, bytes) in feeds() {
                let Ok(feed) = roost::poll::parse::parse(&bytes, None, FEED_URL) else {
                    continue;
                };
                for (i, e) in feed.entries.iter().enumerate() {
                    for (kind, html) in [("content", &e.content_html), ("summary", &e.summary_html)]
                    {
                        if let Some(html) = html
                            && seen.insert(html.clone())
                        {
                            out.push((format!("{rel}#{i}.{kind}"), html.clone().into_bytes()));
                        }
                    }
                }
            }
            out
        }
        "cgi" => CGI_SEEDS
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("env-{i}"), s.to_vec()))
            .collect(),
        "fastcgi" => fastcgi_seeds()
            .into_iter()
            .enumerate()
            .map(|(i, s)| (format!("connection-{i}"), s))
            .collect(),
        "opml" => {
            let mut out: Vec<(String, Vec<u8>)> = files
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "opml"))
                .map(|p| {
                    let rel = p.strip_prefix(corpus).unwrap_or(p).display().to_string();
                    (rel, read_maybe_gzip(p))
                })
                .collect();
            let feeds = [
                opml::ExportedFeed {
                    xml_url: "https://example.org/feed.atom",
                    title: "Example & <Friends>",
                    html_url: Some("https://example.org/"),
                },
                opml::ExportedFeed {
                    xml_url: "http://b.example/rss?x=1&y=2",
                    title: "",
                    html_url: None,
                },
            ];
            out.push((
                "roost-export".into(),
                opml::write("Owner", &feeds, 0).into_bytes(),
            ));
            out.push((
                "nested".into(),
                b"<?xml version=\"1.0\"?>\n<opml version=\"1.0\"><head/><body><outline text=\"Cat\"><outline text=\"A\" xmlUrl=\" https://a.example/feed \"/><outline xmlurl=\"https://a.example/feed\" title=\"dup\"/></outline><outline text=\"none\"/></body></opml>".to_vec(),
            ));
            out
        }
        other => panic!("no fuzz target named {other:?}"),
    }
}

use roost::opml;

/// Every file below `root`, in sorted path order (so seed numbers are stable).
fn files_below(root: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A corpus file's bytes, gunzipped when it is a gzip stream (as the fetcher
/// gunzips a gzip body); a bad gzip stays as it is.
fn read_maybe_gzip(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap_or_default();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        use std::io::Read;
        let mut out = Vec::new();
        if flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .is_ok()
        {
            return out;
        }
    }
    bytes
}
