//! IndieAuth through the private Apache as CGI: the metadata and links an
//! app discovers, the consent page behind the owner's login, the code's
//! exchange (PKCE S256, single use, bound to client and redirect), and the
//! refusals. The independent client is tests/micropub.rs.

mod common;

use common::apache::{Kind, Site, apache};
use common::http::form_encode;
use common::indieauth::*;
use common::process::hidden_csrf;
use common::unique;

fn site(label: &str) -> Site {
    apache().roost_site(&unique(label), Kind::Cgi)
}

#[test]
fn metadata_and_every_page_name_the_indieauth_endpoints() {
    let site = site("ia-meta");
    let meta = site.get("/.well-known/oauth-authorization-server", &[]);
    assert_eq!(meta.status, 200, "{meta:?}");
    let meta = json(&meta);
    assert_eq!(meta["issuer"], site.base_url());
    assert_eq!(meta["authorization_endpoint"], site.url("/auth"));
    assert_eq!(meta["token_endpoint"], site.url("/token"));
    assert_eq!(meta["code_challenge_methods_supported"][0], "S256");
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    let home = site.get("/", &[]);
    let links = home.headers_named("Link").join(", ");
    for rel in [
        "indieauth-metadata",
        "authorization_endpoint",
        "token_endpoint",
        "micropub",
        "webmention",
    ] {
        assert!(links.contains(&format!("rel=\"{rel}\"")), "{rel}: {links}");
        assert!(
            home.text().contains(&format!("<link rel=\"{rel}\"")),
            "{rel} in the head"
        );
    }
}

#[test]
fn an_approved_code_gives_one_token_for_the_right_verifier_only() {
    let site = site("ia-flow");
    let cookie = login(&site);
    let code = approve(&site, &cookie, "create");
    let wrong = exchange(&site, &code, &"x".repeat(43), REDIRECT);
    assert_eq!(wrong.status, 400, "{wrong:?}");
    assert_eq!(json(&wrong)["error"], "invalid_grant");
    assert!(
        json(&wrong)["error_description"]
            .as_str()
            .unwrap()
            .contains("code_verifier")
    );
    let retried = exchange(&site, &code, VERIFIER, REDIRECT);
    assert_eq!(json(&retried)["error"], "invalid_grant", "one try per code");

    let code = approve(&site, &cookie, "create profile");
    let other_redirect = exchange(&site, &code, VERIFIER, "http://127.0.0.1:9/other");
    assert_eq!(json(&other_redirect)["error"], "invalid_grant");

    let code = approve(&site, &cookie, "create");
    let token = exchange(&site, &code, VERIFIER, REDIRECT);
    assert_eq!(token.status, 200, "{token:?}");
    assert_eq!(token.header("Cache-Control"), Some("no-store"));
    let token = json(&token);
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["scope"], "create");
    assert_eq!(token["me"], site.base_url());
    assert_eq!(token["access_token"].as_str().unwrap().len(), 64);
    let reused = exchange(&site, &code, VERIFIER, REDIRECT);
    assert_eq!(reused.status, 400, "{reused:?}");
    assert_eq!(json(&reused)["error"], "invalid_grant", "a code works once");
}

#[test]
fn without_pkce_or_with_a_redirect_elsewhere_nothing_is_approved() {
    let site = site("ia-refuse");
    let cookie = login(&site);
    let without_pkce: Vec<_> = auth_params("create", "s")
        .into_iter()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .collect();
    let page = site.get(
        &format!("/auth?{}", query(&without_pkce)),
        &[("Cookie", &cookie)],
    );
    assert_eq!(page.status, 400, "{page:?}");
    assert!(page.text().contains("requires PKCE"), "{}", page.text());

    let mut elsewhere = auth_params("create", "s");
    elsewhere.retain(|(k, _)| *k != "redirect_uri");
    elsewhere.push(("redirect_uri", "http://evil.example/callback"));
    let page = site.get(
        &format!("/auth?{}", query(&elsewhere)),
        &[("Cookie", &cookie)],
    );
    assert_eq!(page.status, 400, "{page:?}");
    assert!(page.text().contains("not on its"), "{}", page.text());
    // The approval checks again: a forged form gets no code either.
    let csrf = hidden_csrf(&site.get("/", &[("Cookie", &cookie)]).text());
    let mut form = elsewhere.clone();
    form.extend([("csrf", csrf.as_str()), ("allow", "1")]);
    let answer = site.post_form("/auth/approve", &form_encode(&form), &[("Cookie", &cookie)]);
    assert_eq!(answer.status, 400, "{answer:?}");
    assert!(answer.header("Location").is_none());

    // Without the CSRF token: 403, no code.
    let mut form = auth_params("create", "s");
    form.push(("allow", "1"));
    let answer = site.post_form("/auth/approve", &form_encode(&form), &[("Cookie", &cookie)]);
    assert_eq!(answer.status, 403, "{answer:?}");
}

#[test]
fn a_signed_out_owner_logs_in_and_comes_back_to_the_consent_page() {
    let site = site("ia-login");
    let asked = format!("/auth?{}", query(&auth_params("create", "s")));
    let page = site.get(&asked, &[]);
    assert_eq!(page.status, 303, "{page:?}");
    let to_login = page.header("Location").unwrap();
    assert!(
        to_login.starts_with(&site.url("/login?next=auth%3F")),
        "to the login page, not to the app: {to_login}"
    );
    let path = to_login
        .strip_prefix(site.base_url().trim_end_matches('/'))
        .unwrap();
    let form = site.get(path, &[]);
    let text = form.text();
    assert!(text.contains("name=\"next\""), "{text}");
    let body = form_encode(&[
        ("csrf", &hidden_csrf(&text)),
        ("password", common::OWNER_PASSWORD),
        ("next", &asked[1..]),
    ]);
    let login_cookie = form.cookie("roost_login").unwrap();
    let done = site.post_form(
        "/login",
        &body,
        &[("Cookie", &format!("roost_login={login_cookie}"))],
    );
    assert_eq!(done.status, 303, "{done:?}");
    assert_eq!(done.header("Location"), Some(site.url(&asked).as_str()));
    // Only the sign-in page is a place to go on to: no open redirect.
    for elsewhere in ["https://evil.example/", "//evil.example/", "posts/1"] {
        let page = site.get(&format!("/login?{}", query(&[("next", elsewhere)])), &[]);
        assert!(!page.text().contains("name=\"next\""), "{elsewhere}");
    }
}

#[test]
fn denying_sends_access_denied_with_state_and_iss() {
    let site = site("ia-deny");
    let cookie = login(&site);
    let page = site.get(
        &format!("/auth?{}", query(&auth_params("create", "st"))),
        &[("Cookie", &cookie)],
    );
    let csrf = hidden_csrf(&page.text());
    let mut form = auth_params("create", "st");
    form.extend([("csrf", csrf.as_str()), ("deny", "1")]);
    let answer = site.post_form("/auth/approve", &form_encode(&form), &[("Cookie", &cookie)]);
    assert_eq!(answer.status, 303, "{answer:?}");
    let back = redirect_params(&answer);
    assert_eq!(param(&back, "error"), Some("access_denied"));
    assert_eq!(param(&back, "state"), Some("st"));
    assert_eq!(param(&back, "iss"), Some(site.base_url().as_str()));
    assert_eq!(param(&back, "code"), None);
}

#[test]
fn a_code_without_scope_proves_who_the_owner_is_and_gives_no_token() {
    let site = site("ia-profile");
    let cookie = login(&site);
    let code = approve(&site, &cookie, "");
    let no_token = exchange(&site, &code, VERIFIER, REDIRECT);
    assert_eq!(no_token.status, 400, "{no_token:?}");
    assert_eq!(json(&no_token)["error"], "invalid_grant");
    let code = approve(&site, &cookie, "");
    let profile = exchange_at(&site, "/auth", &code, VERIFIER, REDIRECT);
    assert_eq!(profile.status, 200, "{profile:?}");
    assert_eq!(json(&profile)["me"], site.base_url());
    assert!(json(&profile).get("access_token").is_none());
}

#[test]
fn an_app_signs_itself_out_and_the_owner_signs_out_another() {
    let site = site("ia-revoke");
    let cookie = login(&site);
    let meta = json(&site.get("/.well-known/oauth-authorization-server", &[]));
    assert_eq!(meta["revocation_endpoint"], site.url("/revoke"));
    let post = |token: &str| {
        site.post_form(
            "/micropub",
            &form_encode(&[("content", &unique("post")), ("access_token", token)]),
            &[],
        )
        .status
    };
    let first = token(&site, &cookie, "create");
    assert_eq!(post(&first), 201);
    let revoked = site.post_form("/revoke", &form_encode(&[("token", &first)]), &[]);
    assert_eq!(revoked.status, 200, "{revoked:?}");
    assert_eq!(post(&first), 401, "signed out by itself");
    let again = site.post_form("/revoke", &form_encode(&[("token", &first)]), &[]);
    assert_eq!(again.status, 200, "an unknown token tells nothing");

    let second = token(&site, &cookie, "create");
    let page = site.get("/apps", &[("Cookie", &cookie)]);
    assert_eq!(page.status, 200, "{page:?}");
    let text = page.text();
    assert!(text.contains(CLIENT_ID), "{text}");
    let hash = first_listed_hash(&text);
    let csrf = hidden_csrf(&text);
    let body = form_encode(&[("csrf", &csrf), ("token_hash", &hash)]);
    let answer = site.post_form("/apps", &body, &[("Cookie", &cookie)]);
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(post(&second), 401, "signed out by the owner");
    let page = site.get("/apps", &[("Cookie", &cookie)]).text();
    assert!(page.contains("No app is signed in."), "{page}");
    // Without the CSRF token nothing is signed out.
    let third = token(&site, &cookie, "create");
    let text = site.get("/apps", &[("Cookie", &cookie)]).text();
    let hash = first_listed_hash(&text);
    let forged = site.post_form(
        "/apps",
        &form_encode(&[("token_hash", &hash)]),
        &[("Cookie", &cookie)],
    );
    assert_eq!(forged.status, 403, "{forged:?}");
    assert_eq!(post(&third), 201);
}

/// The hash naming the first app on the /apps page.
fn first_listed_hash(page: &str) -> String {
    page.split("name=\"token_hash\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an app listed")
        .to_string()
}

/// `grant_type=refresh_token` at the token endpoint, as one form.
fn refresh(site: &Site, refresh_token: &str, client_id: &str, scope: &str) -> serde_json::Value {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", client_id),
    ];
    if !scope.is_empty() {
        form.push(("scope", scope));
    }
    json(&site.post_form("/token", &form_encode(&form), &[]))
}

fn posts_with(site: &Site, token: &serde_json::Value) -> u16 {
    let token = token["access_token"].as_str().expect("an access token");
    site.post_form(
        "/micropub",
        &form_encode(&[("content", &unique("post")), ("access_token", token)]),
        &[],
    )
    .status
}

#[test]
fn a_refresh_token_gives_a_new_pair_once_and_the_old_pair_stops() {
    let site = site("ia-refresh");
    let cookie = login(&site);
    let meta = json(&site.get("/.well-known/oauth-authorization-server", &[]));
    assert_eq!(meta["grant_types_supported"][1], "refresh_token", "{meta}");
    let code = approve(&site, &cookie, "create update");
    let first = json(&exchange(&site, &code, VERIFIER, REDIRECT));
    let first_refresh = first["refresh_token"].as_str().expect("a refresh token");
    assert_eq!(posts_with(&site, &first), 201);

    let second = refresh(&site, first_refresh, CLIENT_ID, "");
    assert_eq!(second["scope"], "create update", "{second}");
    assert_eq!(second["token_type"], "Bearer");
    assert_eq!(second["me"], site.base_url());
    assert_ne!(second["refresh_token"], first["refresh_token"], "rotated");
    assert_eq!(posts_with(&site, &second), 201);
    assert_eq!(posts_with(&site, &first), 401, "the old access token stops");
    let reused = refresh(&site, first_refresh, CLIENT_ID, "");
    assert_eq!(reused["error"], "invalid_grant", "works once: {reused}");

    let second_refresh = second["refresh_token"].as_str().unwrap();
    let wider = refresh(&site, second_refresh, CLIENT_ID, "create delete");
    assert_eq!(wider["error"], "invalid_scope", "{wider}");
    // A refused refresh used the token up: the app signs in again.
    let third = json(&exchange(
        &site,
        &approve(&site, &cookie, "create update"),
        VERIFIER,
        REDIRECT,
    ));
    let narrower = refresh(
        &site,
        third["refresh_token"].as_str().unwrap(),
        CLIENT_ID,
        "update",
    );
    assert_eq!(narrower["scope"], "update", "{narrower}");
    let other_client = refresh(
        &site,
        narrower["refresh_token"].as_str().unwrap(),
        "http://127.0.0.1:9/other-app/",
        "",
    );
    assert_eq!(other_client["error"], "invalid_grant", "{other_client}");

    // An expired refresh token (moved into the past in the database).
    let fourth = json(&exchange(
        &site,
        &approve(&site, &cookie, "create"),
        VERIFIER,
        REDIRECT,
    ));
    rusqlite::Connection::open(site.home.join("roost.db"))
        .unwrap()
        .execute("UPDATE access_tokens SET refresh_expires = 1", [])
        .unwrap();
    let expired = refresh(
        &site,
        fourth["refresh_token"].as_str().unwrap(),
        CLIENT_ID,
        "",
    );
    assert_eq!(expired["error"], "invalid_grant", "{expired}");
}

#[test]
fn introspection_answers_a_bearer_of_this_node_about_live_tokens_only() {
    let site = site("ia-introspect");
    let cookie = login(&site);
    let meta = json(&site.get("/.well-known/oauth-authorization-server", &[]));
    assert_eq!(meta["introspection_endpoint"], site.url("/introspect"));
    let asker = format!("Bearer {}", token(&site, &cookie, "create"));
    let code = approve(&site, &cookie, "create media");
    let pair = json(&exchange(&site, &code, VERIFIER, REDIRECT));
    let access = pair["access_token"].as_str().unwrap();
    let ask = |token: &str, headers: &[(&str, &str)]| {
        site.post_form("/introspect", &form_encode(&[("token", token)]), headers)
    };

    let stranger = ask(access, &[]);
    assert_eq!(stranger.status, 401, "{stranger:?}");
    assert_eq!(json(&stranger)["error"], "unauthorized");
    assert!(json(&stranger).get("active").is_none());

    let live = ask(access, &[("Authorization", &asker)]);
    assert_eq!(live.status, 200, "{live:?}");
    let live = json(&live);
    assert_eq!(live["active"], true, "{live}");
    assert_eq!(live["me"], site.base_url());
    assert_eq!(live["client_id"], CLIENT_ID);
    assert_eq!(live["scope"], "create media");
    let (iat, exp) = (live["iat"].as_i64().unwrap(), live["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 30 * 24 * 3600, "{live}");

    let refresh_token = pair["refresh_token"].as_str().unwrap();
    let not_access = json(&ask(refresh_token, &[("Authorization", &asker)]));
    assert_eq!(not_access, serde_json::json!({"active": false}));
    let unknown = json(&ask(&"0".repeat(64), &[("Authorization", &asker)]));
    assert_eq!(unknown, serde_json::json!({"active": false}));
    // Revoked by its refresh token: both stop.
    let revoked = site.post_form("/revoke", &form_encode(&[("token", refresh_token)]), &[]);
    assert_eq!(revoked.status, 200, "{revoked:?}");
    let gone = json(&ask(access, &[("Authorization", &asker)]));
    assert_eq!(gone, serde_json::json!({"active": false}));
}

/// The owner signs in to another IndieWeb site with the roost's URL: that
/// site (the independent Python client, tests/python/micropub_client.py
/// --sign-in) discovers the endpoints, is approved with `profile` only,
/// redeems the code at the authorization endpoint and learns who signed in.
#[test]
fn the_owner_signs_in_to_another_site_and_it_learns_the_name_and_url() {
    let site = site("ia-sign-in");
    let cookie = login(&site);
    let out = common::python::run_script(
        "micropub_client.py",
        ["--sign-in", site.base_url().as_str(), cookie.as_str()],
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let answer = &report["answer"];
    assert_eq!(answer["me"], site.base_url(), "{report}");
    assert_eq!(answer["profile"]["url"], site.base_url(), "{report}");
    let name = answer["profile"]["name"].as_str().unwrap_or("");
    assert!(!name.is_empty(), "the owner's name: {report}");
    assert!(site.get("/", &[]).text().contains(name), "{name}");
    // A token's answer carries the profile too when the scope has it.
    let code = approve(&site, &cookie, "create profile");
    let with_token = json(&exchange(&site, &code, VERIFIER, REDIRECT));
    assert_eq!(with_token["profile"]["name"], name, "{with_token}");
    let code = approve(&site, &cookie, "create");
    let without = json(&exchange(&site, &code, VERIFIER, REDIRECT));
    assert!(without.get("profile").is_none(), "{without}");
}
