//! The independent Webmention peer (tests/common/webmention_peer.rs,
//! django-wm and mf2py) proven on its own, before any roost test leans on
//! it: it sends to its own receiver and reads the mention as a reply; its
//! sender discovers an endpoint and POSTs to a loopback stand-in for roost
//! (tests/common/feed_server.rs); its receiver reads types and authors the
//! way the module doc says; mf2py parses a page. These tests prove the (t)
//! points of that module doc. The last reads roost's own reply page as
//! django-wm and mf2py do (the test sends the Webmention roost would).

mod common;

use common::apache::{Kind, apache};
use common::feed_server::{FeedServer, Route};
use common::webmention_peer::{WebmentionPeer, webmention_peer};
use serde_json::Value;

/// A page of `site` at `path` answering 200 `text/html` with `headers` and
/// `body`.
fn html_route(site: &FeedServer, path: &str, headers: &[(&str, &str)], body: &str) {
    let mut all = vec![(
        "Content-Type".to_string(),
        "text/html; charset=utf-8".to_string(),
    )];
    all.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    site.set(
        path,
        Route::Raw {
            headers: all,
            body: body.as_bytes().into(),
        },
    );
}

/// An endpoint of `site` at `path` answering `status` with `headers`.
fn endpoint_route(site: &FeedServer, path: &str, status: u16, headers: &[(&str, &str)]) {
    let headers = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    site.set(path, Route::Status { status, headers });
}

/// The one mention stored for `target`, after processing what is pending.
fn processed_mention(peer: &WebmentionPeer, target: &str) -> Value {
    let run = peer.process();
    // Other tests' mentions may raise (the text author below): not this one.
    let errors = run["errors"].as_array().unwrap();
    let mine: Vec<&Value> = errors.iter().filter(|e| e["target"] == target).collect();
    assert!(mine.is_empty(), "{mine:?}\n{}", peer.log());
    let mentions = peer.received(Some(target));
    assert_eq!(mentions.len(), 1, "{mentions:?}");
    mentions[0].clone()
}

/// The whole loop on the peer alone: django-wm discovers its own endpoint
/// from a target page, sends from a source page holding an h-entry reply,
/// and its receiver, once processed, reads a reply by "Peer Author" whose
/// content mf2py reads from the same bytes.
#[test]
fn peer_sends_to_its_own_receiver_a_reply_it_reads_as_a_reply() {
    let peer = webmention_peer();
    let name = common::unique("own");
    let target = peer.page_url(&name);
    let html = peer.h_entry("u-in-reply-to", &target, "<p>Well said.</p>");
    let source = peer.set_source(&name, &html);

    let sent = peer.send(&name, &target);
    assert_eq!(sent["result"], "sent", "{sent}");
    assert_eq!(sent["endpoint"], peer.endpoint_url().as_str(), "{sent}");
    assert_eq!(sent["status_code"], 202, "{sent}");
    let received = peer.wait_for_event(
        |e| e["event"] == "received" && e["form"]["target"] == target.as_str(),
        std::time::Duration::from_secs(5),
    );
    assert_eq!(received["form"]["source"], source.as_str(), "{received}");
    assert_eq!(received["status"], 202, "{received}");
    // Stored, not verified, until processed.
    assert!(peer.received(Some(&target)).is_empty());

    let m = processed_mention(peer, &target);
    assert_eq!(m["validated"], true, "{m}");
    assert_eq!(m["type"], "reply", "{m}");
    assert_eq!(m["author"]["name"], "Peer Author", "{m}");
    let home = format!("{}/", peer.base_url());
    assert_eq!(m["author"]["homepage"], home.as_str(), "{m}");
    assert_eq!(m["content"], "Well said.", "{m}");
    assert_eq!(
        m["entry"]["properties"]["in-reply-to"][0],
        target.as_str(),
        "{m}"
    );
}

/// The type is the class of the first `<a>` to the target, or of an h-cite
/// around it; an earlier plain link makes a reply a mere "webmention"; a
/// `<link>` is no link at all; without an entry author, the page's first
/// top-level h-card is the author.
#[test]
fn peer_receiver_reads_the_type_from_the_first_link_to_the_target_only() {
    let peer = webmention_peer();
    let t = |label: &str| peer.page_url(&common::unique(label));
    let (like, repost, first, linkonly) = (t("like"), t("repost"), t("first"), t("linkonly"));
    let cases = [
        (
            &like,
            format!(
                "<div class=\"h-entry\"><div class=\"u-like-of h-cite\">\
                 <a class=\"u-url\" href=\"{like}\">liked</a></div></div>"
            ),
        ),
        (
            &repost,
            format!(
                "<div class=\"h-entry\"><a class=\"u-repost-of\" href=\"{repost}\">rp</a></div>\
                 <div class=\"h-card\"><a class=\"p-name u-url\" href=\"/\">Page Card</a></div>"
            ),
        ),
        (
            &first,
            format!(
                "<div class=\"h-entry\"><p>Replying to <a href=\"{first}\">this</a></p>\
                 <a class=\"p-author h-card\" href=\"/\">Peer Author</a>\
                 <a class=\"u-in-reply-to\" href=\"{first}\">parent</a></div>"
            ),
        ),
        (
            &linkonly,
            format!(
                "<link rel=\"alternate\" href=\"{linkonly}\">\
                 <div class=\"h-entry\"><p class=\"e-content\">no anchor</p></div>"
            ),
        ),
    ];
    for (target, html) in &cases {
        let name = common::unique("types");
        let source = peer.set_source(&name, html);
        let resp = peer.post_webmention(&[("source", &source), ("target", target)]);
        assert_eq!(resp.status, 202, "{resp:?}");
    }
    let m = processed_mention(peer, &like);
    assert_eq!(m["type"], "like", "{m}");
    assert_eq!(m["validated"], true, "{m}");
    assert_eq!(m["author"], Value::Null, "{m}");
    let m = processed_mention(peer, &repost);
    assert_eq!(m["type"], "repost", "{m}");
    assert_eq!(m["author"]["name"], "Page Card", "{m}");
    let m = processed_mention(peer, &first);
    assert_eq!(m["post_type"], Value::Null, "{m}");
    assert_eq!(m["type"], "webmention", "{m}");
    assert_eq!(m["author"]["name"], "Peer Author", "{m}");
    // mf2py, reading the same page, sees the reply django-wm did not.
    assert_eq!(
        m["entry"]["properties"]["in-reply-to"][0],
        first.as_str(),
        "{m}"
    );
    let m = processed_mention(peer, &linkonly);
    assert_eq!(m["validated"], false, "{m}");
    assert_eq!(m["approved"], true, "{m}");
}

/// The endpoint answers 202 without a Location, and a bare empty 400 to a
/// field that is no http(s) (or ftp) URL, or too long; it checks nothing
/// else at once (source = target is 202).
#[test]
fn peer_receiver_answers_202_without_location_and_an_empty_400() {
    let peer = webmention_peer();
    let target = peer.page_url(&common::unique("status"));
    let resp = peer.post_webmention(&[("source", &target), ("target", &target)]);
    assert_eq!(resp.status, 202, "{resp:?}");
    assert_eq!(resp.header("Location"), None, "{resp:?}");
    assert!(resp.text().contains("accepted"), "{resp:?}");
    // Django's URLField takes ftp too (its fetch fails later, in processing).
    let ftp = peer.post_webmention(&[("source", "ftp://127.0.0.1/x"), ("target", &target)]);
    assert_eq!(ftp.status, 202, "{ftp:?}");
    for bad in ["not a url", "gopher://127.0.0.1/x", ""] {
        let resp = peer.post_webmention(&[("source", bad), ("target", &target)]);
        assert_eq!(resp.status, 400, "{bad:?}: {resp:?}");
        assert!(resp.body.is_empty(), "{bad:?}: {resp:?}");
    }
    let long = format!("{target}?{}", "x".repeat(500));
    let resp = peer.post_webmention(&[("source", &long), ("target", &target)]);
    assert_eq!(resp.status, 400, "{resp:?}");
    let resp = peer.post_webmention(&[("source", &target)]);
    assert_eq!(resp.status, 400, "{resp:?}");
}

/// What django-wm never does: an unreachable source stays pending (nothing
/// stored), a mention sent again is a second row, a target matched other
/// than exactly does not verify, and a plain-text `p-author` or a target
/// host outside ALLOWED_HOSTS makes processing raise.
#[test]
fn peer_receiver_neither_updates_nor_deletes_and_raises_on_a_text_author() {
    let peer = webmention_peer();
    let site = FeedServer::start();

    let gone = peer.page_url(&common::unique("gone"));
    let gone_source = site.url("/gone");
    site.set(
        "/gone",
        Route::Status {
            status: 410,
            headers: vec![],
        },
    );
    peer.post_webmention(&[("source", &gone_source), ("target", &gone)]);
    let run = peer.process();
    assert!(peer.received(Some(&gone)).is_empty(), "{run}");
    let pending = run["pending"].as_array().unwrap();
    let p = pending
        .iter()
        .find(|p| p["target"] == gone.as_str())
        .unwrap_or_else(|| panic!("{run}"));
    // (Or more: another test's run may have retried it already.)
    assert!(p["attempts"].as_u64() >= Some(1), "{run}");
    assert_eq!(p["awaiting_retry"], true, "{run}");

    let again = peer.page_url(&common::unique("again"));
    let name = common::unique("again");
    let source = peer.set_source(&name, &peer.h_entry("u-like-of", &again, ""));
    for round in 1..=2 {
        peer.post_webmention(&[("source", &source), ("target", &again)]);
        peer.process();
        assert_eq!(peer.received(Some(&again)).len(), round);
    }

    let exact = peer.page_url(&common::unique("exact"));
    let name = common::unique("slash");
    let slashed = format!("{exact}/");
    let source = peer.set_source(&name, &peer.h_entry("u-in-reply-to", &slashed, ""));
    peer.post_webmention(&[("source", &source), ("target", &exact)]);
    let m = processed_mention(peer, &exact);
    assert_eq!(m["validated"], false, "{m}");

    let text_author = peer.page_url(&common::unique("textauthor"));
    let name = common::unique("textauthor");
    let html = format!(
        "<div class=\"h-entry\"><span class=\"p-author\">Just Text</span>\
         <a class=\"u-in-reply-to\" href=\"{text_author}\">re</a></div>"
    );
    let text_source = peer.set_source(&name, &html);
    let foreign = "http://127.0.0.2:9/page/x";
    let name = common::unique("foreign");
    let foreign_source = peer.set_source(&name, &format!("<a href=\"{foreign}\">x</a>"));
    peer.post_webmention(&[("source", &text_source), ("target", &text_author)]);
    peer.post_webmention(&[("source", &foreign_source), ("target", foreign)]);
    let run = peer.process();
    let error_of = |source: &str| {
        let errors = run["errors"].as_array().unwrap();
        let e = errors.iter().find(|e| e["source"] == source);
        e.unwrap_or_else(|| panic!("no error for {source}: {run}"))["error"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        error_of(&text_source).starts_with("AttributeError"),
        "{run}"
    );
    assert!(
        error_of(&foreign_source).starts_with("TargetWrongDomain"),
        "{run}"
    );
    assert!(peer.received(Some(&text_author)).is_empty());
}

/// django-wm's discovery: the Link header (rel alone, quoted or not), then
/// `<link>` in the head, then `<a>` in the body, whatever the document
/// order; a relative endpoint against the URL redirected to; an empty href
/// is no endpoint.
#[test]
fn peer_sender_discovers_the_endpoint_as_django_wm_does() {
    let peer = webmention_peer();
    let site = FeedServer::start();
    let name = common::unique("discover");
    peer.set_source(&name, "<p>a mention</p>");
    // (target path, its headers, its HTML, the endpoint expected)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, Option<&'a str>);
    let cases: [Case; 7] = [
        // A header, unquoted, after another link.
        (
            "/header",
            &[(
                "Link",
                "<https://example.invalid/x>; rel=\"other\", </ep-header>; rel=webmention",
            )],
            "<link rel=\"webmention\" href=\"/ep-wrong\">",
            Some("/ep-header"),
        ),
        // rel with two values in the header is not seen: the <link> wins.
        (
            "/tworels",
            &[("Link", "</ep-wrong>; rel=\"webmention other\"")],
            "<link rel=\"webmention\" href=\"/ep-link\">",
            Some("/ep-link"),
        ),
        // Several values in the element's rel are fine.
        (
            "/elemrels",
            &[],
            "<link rel=\"me webmention\" href=\"ep-relative\">",
            Some("/ep-relative"),
        ),
        // A <link> in the body, before the <a>: the <a> wins.
        (
            "/bodylink",
            &[],
            "<p>text</p><link rel=\"webmention\" href=\"/ep-wrong\"><a rel=\"webmention\" href=\"/ep-a\">e</a>",
            Some("/ep-a"),
        ),
        // Relative to where the redirect ended.
        ("/moved", &[], "", Some("/deeper/ep-after-redirect")),
        // An empty href: no endpoint (the spec says: the page itself).
        ("/empty", &[], "<link rel=\"webmention\" href=\"\">", None),
        ("/none", &[], "<p>no endpoint</p>", None),
    ];
    site.set(
        "/moved",
        Route::Redirect {
            status: 302,
            location: site.url("/deeper/page"),
        },
    );
    html_route(
        &site,
        "/deeper/page",
        &[],
        "<html><head><link rel=\"webmention\" href=\"ep-after-redirect\"></head><body></body></html>",
    );
    for (path, headers, body, expected) in cases {
        if path != "/moved" {
            let page = if body.starts_with("<link") {
                format!("<html><head>{body}</head><body><p>page</p></body></html>")
            } else {
                format!("<html><head><title>t</title></head><body>{body}</body></html>")
            };
            html_route(&site, path, headers, &page);
        }
        if let Some(ep) = expected {
            endpoint_route(&site, ep, 202, &[]);
        }
        let sent = peer.send(&name, &site.url(path));
        match expected {
            Some(ep) => {
                assert_eq!(sent["result"], "sent", "{path}: {sent}\n{}", peer.log());
                assert_eq!(sent["endpoint"], site.url(ep).as_str(), "{path}: {sent}");
                assert_eq!(site.requests(ep).len(), 1, "{path}");
            }
            None => assert_eq!(sent["result"], "no_endpoint", "{path}: {sent}"),
        }
    }
    assert!(site.requests("/ep-wrong").is_empty());
}

/// What the stand-in for roost's endpoint gets: a form POST with source and
/// target from django-wm's User-Agent. Any 2xx is success, Location
/// ignored; a 4xx is a failure retried like a 5xx, and a target answering
/// 300 or more is no send at all. Sending to every link of a page skips
/// `#` anchors.
#[test]
fn peer_sender_posts_a_form_takes_any_2xx_and_retries_even_a_400() {
    let peer = webmention_peer();
    let site = FeedServer::start();
    let name = common::unique("form");
    let source = peer.set_source(&name, "<p>hello</p>");
    let cases = [
        ("/t201", "/ep201", 201, "sent"),
        ("/t200", "/ep200", 200, "sent"),
        ("/t400", "/ep400", 400, "refused"),
    ];
    for (target, ep, status, result) in cases {
        let link = format!("<{}>; rel=\"webmention\"", site.url(ep));
        html_route(&site, target, &[("Link", &link)], "<p>target</p>");
        let location = site.url("/status/1");
        endpoint_route(&site, ep, status, &[("Location", &location)]);
        let sent = peer.send(&name, &site.url(target));
        assert_eq!(sent["result"], result, "{target}: {sent}");
        assert_eq!(sent["status_code"], status, "{target}: {sent}");
    }
    let post = site.requests("/ep201").pop().unwrap();
    assert_eq!(post.method, "POST");
    assert_eq!(
        post.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    assert!(
        post.header("User-Agent")
            .is_some_and(|ua| ua.starts_with("django-wm/4.2.0")),
        "{post:?}"
    );
    let form: Vec<(String, String)> =
        common::http::form_decode(&String::from_utf8_lossy(&post.body));
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(field("source"), Some(source.clone()), "{form:?}");
    assert_eq!(field("target"), Some(site.url("/t201")), "{form:?}");

    // The 400 is tried again by the next outgoing run.
    assert_eq!(site.requests("/ep400").len(), 1);
    peer.process_what("outgoing");
    assert_eq!(site.requests("/ep400").len(), 2, "{}", peer.log());

    // As a django-wm site does on saving a post: every link of the page.
    let every = common::unique("every");
    let (a, b) = (site.url("/t201"), site.url("/t200"));
    let links =
        format!("<p><a href=\"{a}\">one</a> <a href=\"{b}\">two</a> <a href=\"#x\">x</a></p>");
    peer.set_source(&every, &links);
    let sent = peer.send_to_every_link(&every);
    assert_eq!(sent["sent"], 2, "{sent}");
    assert_eq!(sent["statuses"].as_array().unwrap().len(), 2, "{sent}");
    assert_eq!(site.requests("/ep201").len(), 2);

    endpoint_route(&site, "/t500", 500, &[]);
    let sent = peer.send(&name, &site.url("/t500"));
    assert_eq!(sent["result"], "target_failed", "{sent}");
}

/// mf2py reads a page as a receiver would: an h-entry with its author
/// h-card (whose url is implied only without another u-* property),
/// content, in-reply-to, published, and the rels.
#[test]
fn peer_mf2_parses_a_page_as_a_receiver_would() {
    let peer = webmention_peer();
    let site = FeedServer::start();
    let parent = "https://example.invalid/post/1";
    let page = format!(
        "<html><head><link rel=\"webmention\" href=\"/wm\"></head><body>\
         <article class=\"h-entry\"><a class=\"p-author h-card\" href=\"/\">\
         <img class=\"u-photo\" src=\"/me.png\" alt=\"\">Ann</a>\
         <a class=\"u-in-reply-to\" href=\"{parent}\">parent</a>\
         <div class=\"e-content\"><p>Hi <b>there</b></p></div>\
         <time class=\"dt-published\" datetime=\"2026-12-03T10:00:00Z\">today</time>\
         </article></body></html>"
    );
    html_route(&site, "/post", &[], &page);
    let mf2 = peer.mf2(&site.url("/post"));
    let entry = &mf2["items"][0];
    assert_eq!(entry["type"][0], "h-entry", "{mf2}");
    let props = &entry["properties"];
    assert_eq!(props["in-reply-to"][0], parent, "{mf2}");
    assert_eq!(props["content"][0]["value"], "Hi there", "{mf2}");
    assert_eq!(
        props["content"][0]["html"], "<p>Hi <b>there</b></p>",
        "{mf2}"
    );
    assert_eq!(props["published"][0], "2026-12-03T10:00:00Z", "{mf2}");
    let author = &props["author"][0]["properties"];
    assert_eq!(author["name"][0], "Ann", "{mf2}");
    // No url: mf2 implies one only for an h-card without any explicit u-*
    // property, and u-photo is one. An author card with a photo needs its
    // own u-url.
    assert_eq!(author.get("url"), None, "{mf2}");
    assert_eq!(
        author["photo"][0]["value"],
        site.url("/me.png").as_str(),
        "{mf2}"
    );
    assert_eq!(
        mf2["rels"]["webmention"][0],
        site.url("/wm").as_str(),
        "{mf2}"
    );

    let resp = common::http::get(peer.addr(), "/mf2", &[]);
    assert_eq!(resp.status, 400, "{resp:?}");
}

/// roost's page of a reply, read by django-wm as the Webmention roost sends
/// for it would make it (the test sends it here: sending is roost's cron's
/// work) and by mf2py: a reply by the site's owner, with its text.
#[test]
fn roost_reply_page_is_read_as_a_reply_by_django_wm_and_mf2py() {
    let peer = webmention_peer();
    let site = apache().loopback_roost_site("wm-reply", Kind::Cgi);
    let target = peer.page_url(&common::unique("parent"));
    let out = site.cli_ok(&["post", "--reply-to", &target, "Agreed, a fine page."]);
    let permalink = out.trim();

    let resp = peer.post_webmention(&[("source", permalink), ("target", &target)]);
    assert_eq!(resp.status, 202, "{resp:?}");
    let m = processed_mention(peer, &target);
    assert_eq!(m["validated"], true, "{m}");
    assert_eq!(m["type"], "reply", "{m}");
    assert_eq!(m["author"]["name"], common::OWNER_NAME, "{m}");
    assert_eq!(m["author"]["homepage"], site.url("/").as_str(), "{m}");
    assert_eq!(m["content"], "Agreed, a fine page.", "{m}");

    let mf2 = peer.mf2(permalink);
    let entry = &mf2["items"][0];
    assert_eq!(entry["type"][0], "h-entry", "{mf2}");
    let props = &entry["properties"];
    assert_eq!(props["in-reply-to"][0], target.as_str(), "{mf2}");
    assert_eq!(props["url"][0], permalink, "{mf2}");
    let author = &props["author"][0]["properties"];
    assert_eq!(author["name"][0], common::OWNER_NAME, "{mf2}");
}
