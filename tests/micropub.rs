//! Micropub through the private Apache as CGI: an independent client
//! (tests/python/micropub_client.py, written from the specs) discovers the
//! endpoints, is approved on the consent page with the owner's session,
//! checks `iss`, exchanges its code and posts by form and JSON; then the
//! refusals: no token, an unknown or expired one, the wrong scope, what
//! roost cannot keep.

mod common;

use common::apache::{Kind, Site, apache};
use common::http::HttpResponse;
use common::indieauth::{json, login, token};
use common::python::run_script;
use common::unique;

fn site(label: &str) -> Site {
    apache().roost_site(&unique(label), Kind::Cgi)
}

fn fcgid_site(label: &str) -> Site {
    apache().roost_site(&unique(label), Kind::Fcgid)
}

fn create(site: &Site, headers: &[(&str, &str)], body: &str) -> HttpResponse {
    site.post_form("/micropub", body, headers)
}

#[test]
fn an_independent_client_signs_in_and_posts_what_the_home_page_then_shows() {
    let site = site("mp-client");
    let cookie = login(&site);
    let text = unique("Posted from a Micropub client");
    let out = run_script(
        "micropub_client.py",
        [site.base_url().as_str(), cookie.as_str(), text.as_str()],
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["issuer"], site.base_url(), "{report}");
    assert_eq!(report["micropub"], site.url("/micropub"), "{report}");
    assert_eq!(report["token_endpoint_rel"], site.url("/token"), "{report}");
    assert_eq!(report["token"]["scope"], "create profile", "{report}");
    let creates = report["creates"].as_array().unwrap();
    assert_eq!(creates.len(), 3);
    for created in creates {
        assert_eq!(created["status"], 201, "{report}");
        assert!(
            created["location"]
                .as_str()
                .unwrap()
                .starts_with(&site.url("/posts/")),
            "{report}"
        );
    }
    assert_eq!(
        report["source"]["properties"]["content"][0], text,
        "{report}"
    );
    assert_eq!(report["config"]["syndicate-to"], serde_json::json!([]));
    let home = site.get("/", &[]).text();
    for shown in [
        text.clone(),
        format!("{text} (JSON)"),
        format!("{text} (token in body)"),
    ] {
        assert!(home.contains(&shown), "{shown} on /:\n{home}");
    }
}

#[test]
fn a_reply_keeps_its_parent_and_its_categories() {
    for site in [site("mp-reply"), fcgid_site("mp-reply-fcgid")] {
        reply_keeps_its_parent(&site);
    }
}

/// Under CGI and FastCGI alike (the Authorization header reaches both).
fn reply_keeps_its_parent(site: &Site) {
    let cookie = login(site);
    let bearer = format!("Bearer {}", token(site, &cookie, "create"));
    let text = unique("A reply by Micropub");
    let body = common::http::form_encode(&[
        ("h", "entry"),
        ("content", &text),
        ("in-reply-to", "https://elsewhere.example/posts/7"),
        ("category[]", "one"),
        ("category[]", "two"),
        ("mp-slug", "a-reply"),
    ]);
    let created = create(site, &[("Authorization", &bearer)], &body);
    assert_eq!(created.status, 201, "{created:?}");
    let location = created.header("Location").unwrap();
    let path = location
        .strip_prefix(site.base_url().trim_end_matches('/'))
        .unwrap();
    let page = site.get(path, &[]).text();
    assert!(page.contains(&text), "{page}");
    assert!(page.contains("https://elsewhere.example/posts/7"), "{page}");
    for category in ["one", "two"] {
        assert!(
            page.contains(&format!("<span class=\"p-category\">{category}</span>")),
            "{page}"
        );
    }
}

/// An app's `category` values: shown on the post (p-category), in the
/// Atom, RSS and JSON feeds, listed by `q=category`, given by `q=source`,
/// and changed by an update's add, delete and replace; `published` dates
/// the post.
#[test]
fn categories_are_shown_in_every_feed_listed_and_changed_by_updates() {
    let site = site("mp-tags");
    let cookie = login(&site);
    let bearer = format!("Bearer {}", token(&site, &cookie, "create update"));
    let text = unique("Tagged by Micropub");
    let created = create(
        &site,
        &[("Authorization", &bearer)],
        &common::http::form_encode(&[
            ("content", &text),
            ("category[]", "rust & cgi"),
            ("category[]", "#indieweb"),
            ("published", "2026-01-02T03:04:05Z"),
        ]),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let url = created.header("Location").unwrap().to_string();
    let path = url
        .strip_prefix(site.base_url().trim_end_matches('/'))
        .unwrap()
        .to_string();
    let page = site.get(&path, &[]).text();
    assert!(
        page.contains("<span class=\"p-category\">rust &amp; cgi</span>"),
        "{page}"
    );
    assert!(page.contains("datetime=\"2026-01-02T03:04:05Z\""), "{page}");
    let atom = site.get("/feed.atom", &[]).text();
    assert!(
        atom.contains("<category term=\"rust &#x26; cgi\"/>"),
        "{atom}"
    );
    let rss = site.get("/feed.rss", &[]).text();
    assert!(rss.contains("<category>indieweb</category>"), "{rss}");
    let feed: serde_json::Value =
        serde_json::from_str(&site.get("/feed.json", &[]).text()).unwrap();
    assert_eq!(
        feed["items"][0]["tags"],
        serde_json::json!(["rust & cgi", "indieweb"])
    );
    let ask =
        |query: &str| json(&site.get(&format!("/micropub?{query}"), &[("Authorization", &bearer)]));
    assert_eq!(
        ask("q=category")["categories"],
        serde_json::json!(["indieweb", "rust & cgi"])
    );
    assert_eq!(
        ask("q=category&filter=IND")["categories"],
        serde_json::json!(["indieweb"])
    );

    let update = |body: serde_json::Value| {
        site.send(
            "POST",
            "/micropub",
            &[
                ("Authorization", bearer.as_str()),
                ("Content-Type", "application/json"),
            ],
            Some(body.to_string().as_bytes()),
        )
    };
    let source = |site: &Site| {
        let query = common::http::form_encode(&[("q", "source"), ("url", &url)]);
        json(&site.get(&format!("/micropub?{query}"), &[("Authorization", &bearer)]))
    };
    let added =
        update(serde_json::json!({"action": "update", "url": url, "add": {"category": ["new"]}}));
    assert_eq!(added.status, 204, "{added:?}");
    assert_eq!(
        source(&site)["properties"]["category"],
        serde_json::json!(["rust & cgi", "indieweb", "new"])
    );
    let removed = update(
        serde_json::json!({"action": "update", "url": url, "delete": {"category": ["indieweb"]}}),
    );
    assert_eq!(removed.status, 204, "{removed:?}");
    assert_eq!(
        source(&site)["properties"]["category"],
        serde_json::json!(["rust & cgi", "new"])
    );
    let dropped =
        update(serde_json::json!({"action": "update", "url": url, "delete": ["category"]}));
    assert_eq!(dropped.status, 204, "{dropped:?}");
    assert!(source(&site)["properties"].get("category").is_none());
    let page = site.get(&path, &[]).text();
    assert!(!page.contains("class=\"p-category\""), "{page}");
    assert!(page.contains(&text), "the content stays: {page}");
}

/// Regression: `mp-slug=../../etc/passwd` was accepted (and ignored); a
/// slug that is a path is now refused with invalid_request, nothing posted.
#[test]
fn a_slug_that_is_a_path_is_refused_and_nothing_is_posted() {
    let site = site("mp-slug");
    let cookie = login(&site);
    let bearer = format!("Bearer {}", token(&site, &cookie, "create"));
    let text = unique("must not appear");
    for slug in ["../../etc/passwd", "..", "a/b"] {
        let refused = create(
            &site,
            &[("Authorization", &bearer)],
            &common::http::form_encode(&[("content", &text), ("mp-slug", slug)]),
        );
        assert_eq!(refused.status, 400, "{slug}: {refused:?}");
        assert_eq!(json(&refused)["error"], "invalid_request");
    }
    assert!(!site.get("/", &[]).text().contains(&text));
}

#[test]
fn no_token_a_bad_one_or_the_wrong_scope_posts_nothing() {
    let site = site("mp-refuse");
    let cookie = login(&site);
    let text = unique("must not appear");
    let body = common::http::form_encode(&[("h", "entry"), ("content", &text)]);
    let none = create(&site, &[], &body);
    assert_eq!(none.status, 401, "{none:?}");
    assert_eq!(json(&none)["error"], "unauthorized");
    let unknown = create(
        &site,
        &[("Authorization", &format!("Bearer {}", "f".repeat(64)))],
        &body,
    );
    assert_eq!(unknown.status, 401, "{unknown:?}");
    assert_eq!(json(&unknown)["error"], "unauthorized");

    let profile_only = format!("Bearer {}", token(&site, &cookie, "profile"));
    let wrong_scope = create(&site, &[("Authorization", &profile_only)], &body);
    assert_eq!(wrong_scope.status, 401, "{wrong_scope:?}");
    assert_eq!(json(&wrong_scope)["error"], "insufficient_scope");
    assert_eq!(json(&wrong_scope)["scope"], "create");

    let good = token(&site, &cookie, "create");
    let both = create(
        &site,
        &[("Authorization", &format!("Bearer {good}"))],
        &format!("{body}&access_token={good}"),
    );
    assert_eq!(both.status, 400, "{both:?}");
    assert_eq!(json(&both)["error"], "invalid_request");
    let photo = create(
        &site,
        &[("Authorization", &format!("Bearer {good}"))],
        &format!("{body}&photo=https%3A%2F%2Fa.example%2Fp.jpg"),
    );
    assert_eq!(photo.status, 400, "{photo:?}");
    assert!(
        json(&photo)["error_description"]
            .as_str()
            .unwrap()
            .contains("media endpoint")
    );
    let draft = create(
        &site,
        &[("Authorization", &format!("Bearer {good}"))],
        &format!("{body}&post-status=draft"),
    );
    assert_eq!(draft.status, 400, "{draft:?}");

    // An expired token: its expiry moved into the past in the database.
    let expired = token(&site, &cookie, "create");
    rusqlite::Connection::open(site.home.join("roost.db"))
        .unwrap()
        .execute("UPDATE access_tokens SET expires = 1", [])
        .unwrap();
    let refused = create(
        &site,
        &[("Authorization", &format!("Bearer {expired}"))],
        &body,
    );
    assert_eq!(refused.status, 401, "{refused:?}");
    assert!(
        json(&refused)["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    let home = site.get("/", &[]).text();
    assert!(!home.contains(&text), "nothing was posted:\n{home}");
}

/// The owner's own browser, signed out, goes through the sign-in as a
/// person does: the login page, back to the consent page, Allow, and on to
/// the app's own page with the code (Chromium follows the redirect only
/// because the consent page's `form-action` names the app's origin).
#[test]
fn chromium_signs_an_app_in_through_the_login_and_the_consent_page() {
    let site = site("mp-chromium");
    let app = common::feed_server::FeedServer::start();
    app.websub_callback("/callback");
    let (client_id, redirect) = (app.url("/"), app.url("/callback"));
    let verifier = "v".repeat(50);
    let challenge = "CrlVwe1WSHWuTQYh3iczmx3aS-faRx6C92k9_hNxl4A";
    let asked = common::http::form_encode(&[
        ("response_type", "code"),
        ("client_id", &client_id),
        ("redirect_uri", &redirect),
        ("state", "st8"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("scope", "create"),
    ]);
    let mut browser = common::browser::Browser::launch();
    browser.goto(&site.url(&format!("/auth?{asked}")));
    browser.type_into("#password", common::OWNER_PASSWORD);
    browser.click_and_wait("form.compose button[type=submit]");
    assert!(
        browser
            .eval_string("document.body.innerText")
            .contains(&client_id),
        "the consent page names the app"
    );
    browser.click_and_wait("button[name=allow]");
    let landed = url::Url::parse(&browser.url()).unwrap();
    assert_eq!(landed.as_str().split('?').next(), Some(redirect.as_str()));
    let back: std::collections::HashMap<_, _> = landed.query_pairs().into_owned().collect();
    assert_eq!(back["state"], "st8");
    assert_eq!(back["iss"], site.base_url());
    let body = common::http::form_encode(&[
        ("grant_type", "authorization_code"),
        ("code", &back["code"]),
        ("client_id", &client_id),
        ("redirect_uri", &redirect),
        ("code_verifier", &verifier),
    ]);
    let answer = site.post_form("/token", &body, &[]);
    assert_eq!(answer.status, 200, "{answer:?}");
    let bearer = format!("Bearer {}", json(&answer)["access_token"].as_str().unwrap());
    let text = unique("Posted after a sign-in in Chromium");
    let created = create(
        &site,
        &[("Authorization", &bearer)],
        &common::http::form_encode(&[("content", &text)]),
    );
    assert_eq!(created.status, 201, "{created:?}");
    assert!(site.get("/", &[]).text().contains(&text));
}

#[test]
fn an_update_replaces_the_content_and_a_delete_leaves_410_each_with_its_scope() {
    let site = site("mp-change");
    let cookie = login(&site);
    let create_only = format!("Bearer {}", token(&site, &cookie, "create"));
    let all = format!("Bearer {}", token(&site, &cookie, "create update delete"));
    let first = unique("First words");
    let created = create(
        &site,
        &[("Authorization", &all)],
        &common::http::form_encode(&[("content", &first)]),
    );
    let url = created.header("Location").unwrap().to_string();
    let path = url
        .strip_prefix(site.base_url().trim_end_matches('/'))
        .unwrap()
        .to_string();
    let better = unique("Better words");
    let update = serde_json::json!({
        "action": "update", "url": url, "replace": {"content": [better]},
    })
    .to_string();
    let send_json = |bearer: &str, body: &str| {
        site.send(
            "POST",
            "/micropub",
            &[
                ("Authorization", bearer),
                ("Content-Type", "application/json"),
            ],
            Some(body.as_bytes()),
        )
    };
    let refused = send_json(&create_only, &update);
    assert_eq!(refused.status, 401, "{refused:?}");
    assert_eq!(json(&refused)["scope"], "update");
    let adds = serde_json::json!({"action": "update", "url": url, "add": {"syndication": ["x"]}});
    assert_eq!(send_json(&all, &adds.to_string()).status, 400);
    let updated = send_json(&all, &update);
    assert_eq!(updated.status, 204, "{updated:?}");
    let page = site.get(&path, &[]).text();
    assert!(page.contains(&better) && !page.contains(&first), "{page}");

    let delete = common::http::form_encode(&[("action", "delete"), ("url", &url)]);
    let refused = create(&site, &[("Authorization", &create_only)], &delete);
    assert_eq!(json(&refused)["error"], "insufficient_scope");
    let deleted = create(&site, &[("Authorization", &all)], &delete);
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert_eq!(site.get(&path, &[]).status, 410);
    let elsewhere =
        common::http::form_encode(&[("action", "delete"), ("url", "https://a.example/posts/1")]);
    assert_eq!(
        create(&site, &[("Authorization", &all)], &elsewhere).status,
        400
    );
}

/// `action=undelete`: a deleted post comes back at its address with its
/// text and categories (the tombstone kept them), and leaves the feed's
/// deleted entries; it needs the `delete` scope and a deleted post.
#[test]
fn an_undeleted_post_comes_back_at_its_address() {
    let site = site("mp-undelete");
    let cookie = login(&site);
    let all = format!("Bearer {}", token(&site, &cookie, "create delete"));
    let create_only = format!("Bearer {}", token(&site, &cookie, "create"));
    let text = unique("Back from the dead");
    let created = create(
        &site,
        &[("Authorization", &all)],
        &common::http::form_encode(&[("content", &text), ("category", "phoenix")]),
    );
    let url = created.header("Location").unwrap().to_string();
    let path = url
        .strip_prefix(site.base_url().trim_end_matches('/'))
        .unwrap()
        .to_string();
    let act = |bearer: &str, action: &str| {
        create(
            &site,
            &[("Authorization", bearer)],
            &common::http::form_encode(&[("action", action), ("url", &url)]),
        )
    };
    assert_eq!(act(&all, "delete").status, 204);
    assert_eq!(site.get(&path, &[]).status, 410);
    let refused = act(&create_only, "undelete");
    assert_eq!(json(&refused)["error"], "insufficient_scope", "{refused:?}");
    let undeleted = act(&all, "undelete");
    assert_eq!(undeleted.status, 204, "{undeleted:?}");
    let page = site.get(&path, &[]);
    assert_eq!(page.status, 200, "{page:?}");
    let page = page.text();
    assert!(page.contains(&text), "{page}");
    assert!(
        page.contains("<span class=\"p-category\">phoenix</span>"),
        "{page}"
    );
    let atom = site.get("/feed.atom", &[]).text();
    assert!(!atom.contains("at:deleted-entry"), "{atom}");
    assert!(atom.contains(&text), "{atom}");
    let again = act(&all, "undelete");
    assert_eq!(again.status, 400, "{again:?}");
    assert!(
        json(&again)["error_description"]
            .as_str()
            .unwrap()
            .contains("not deleted")
    );
}

/// sample.htaccess keeping, of the lines that hand `Authorization` to CGI,
/// only those containing `kept` (none when empty).
fn htaccess_passing_authorization_by(kept: &str) -> String {
    let routes = [
        "CGIPassAuth",
        "SetEnvIf Authorization",
        "E=HTTP_AUTHORIZATION",
    ];
    common::apache::SAMPLE_HTACCESS
        .lines()
        .filter(|line| {
            // The RewriteRule's condition goes with it.
            let route = if line.contains("RewriteCond %{HTTP:Authorization}") {
                Some("E=HTTP_AUTHORIZATION")
            } else {
                routes.iter().copied().find(|route| line.contains(route))
            };
            route.is_none_or(|route| !kept.is_empty() && route.contains(kept))
        })
        .collect::<Vec<_>>()
        .join("\n")
        // Each route stands alone, as on a server where only it works.
        .replace("<IfVersion >= 2.4.13>", "<IfVersion >= 2.0>")
        .replace("<IfVersion < 2.4.13>", "<IfVersion >= 2.0>")
}

/// The token reaches Micropub on every way Apache can be set up: by
/// `CGIPassAuth`, by the `SetEnvIf` fallback (`HTTP_AUTHORIZATION`), by
/// the `RewriteRule E=` fallback (`REDIRECT_HTTP_AUTHORIZATION`), and, on
/// a server that passes none of them, as `access_token` in the form body.
/// The doctor's probe says which of these servers hands the header over.
#[test]
fn a_token_reaches_micropub_through_every_apache_setup() {
    let site = site("mp-auth-routes");
    let cookie = login(&site);
    let token = token(&site, &cookie, "create");
    let bearer = format!("Bearer {token}");
    for (route, reaches) in [
        ("CGIPassAuth", true),
        ("SetEnvIf Authorization", true),
        ("E=HTTP_AUTHORIZATION", true),
        ("", false),
    ] {
        let htaccess = format!(
            "{}\nSetEnv ROOST_HOME \"{}\"\n",
            htaccess_passing_authorization_by(route),
            site.home.display()
        );
        site.write_file(".htaccess", htaccess.as_bytes());
        let probe = site.get(
            "/.well-known/roost/authorization",
            &[("Authorization", "Bearer probe")],
        );
        let expected = if reaches { "present" } else { "absent" };
        assert_eq!(
            probe.text(),
            format!("authorization: {expected}\n"),
            "{route:?}"
        );
        let text = unique("Posted through Apache");
        let by_header = create(
            &site,
            &[("Authorization", &bearer)],
            &common::http::form_encode(&[("content", &text)]),
        );
        if reaches {
            assert_eq!(by_header.status, 201, "{route:?}: {by_header:?}");
        } else {
            assert_eq!(by_header.status, 401, "{route:?}: {by_header:?}");
            let in_body = create(
                &site,
                &[],
                &common::http::form_encode(&[("content", &text), ("access_token", &token)]),
            );
            assert_eq!(in_body.status, 201, "the body's token: {in_body:?}");
        }
        assert!(site.get("/", &[]).text().contains(&text), "{route:?}");
    }
}
