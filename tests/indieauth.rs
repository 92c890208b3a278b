//! IndieAuth through the private Apache as CGI: the metadata and links an
//! app discovers, the consent page behind the owner's login, the code's
//! exchange (PKCE S256, single use, bound to client and redirect), and the
//! refusals. The independent client is tests/micropub.rs.

mod common;

use common::apache::{Kind, Site, apache};
use common::http::{HttpResponse, form_encode};
use common::process::hidden_csrf;
use common::unique;
use serde_json::Value;

pub const CLIENT_ID: &str = "http://127.0.0.1:9/";
pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
/// A verifier and its S256 challenge (computed by Python's hashlib and base64).
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWEOEjXk";
pub const CHALLENGE: &str = "TP3DZQl9rJnri9eRuZaFS6Q7czCrth7sEZC00LreApo";

fn site(label: &str) -> Site {
    apache().roost_site(&unique(label), Kind::Cgi)
}

/// Logs the owner in: the `Cookie` header value of the session.
fn login(site: &Site) -> String {
    let done = site.submit_login(&site.get("/login", &[]));
    assert_eq!(done.status, 303, "{done:?}");
    format!("roost_session={}", done.cookie("roost_session").unwrap())
}

fn query(pairs: &[(&str, &str)]) -> String {
    form_encode(pairs)
}

fn auth_params<'a>(scope: &'a str, state: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("state", state),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("scope", scope),
    ]
}

fn json(response: &HttpResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap_or_else(|e| panic!("{e}: {response:?}"))
}

/// The query parameters of a redirect's `Location`.
fn redirect_params(response: &HttpResponse) -> Vec<(String, String)> {
    let location = response.header("Location").expect("a Location");
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The owner approves the app on the consent page: the code from the redirect.
pub fn approve(site: &Site, cookie: &str, scope: &str) -> String {
    let state = unique("state");
    let params = auth_params(scope, &state);
    let page = site.get(&format!("/auth?{}", query(&params)), &[("Cookie", cookie)]);
    assert_eq!(page.status, 200, "{page:?}");
    let text = page.text();
    assert!(text.contains(CLIENT_ID), "the page names the app:\n{text}");
    let csp = page.header("Content-Security-Policy").unwrap_or("");
    assert!(
        csp.contains("form-action 'self' http://127.0.0.1:9"),
        "{csp}"
    );
    let csrf = hidden_csrf(&text);
    let mut form = params.clone();
    form.push(("csrf", &csrf));
    form.push(("allow", "1"));
    let answer = site.post_form("/auth/approve", &form_encode(&form), &[("Cookie", cookie)]);
    assert_eq!(answer.status, 303, "{answer:?}");
    assert!(
        answer.header("Location").unwrap().starts_with(REDIRECT),
        "{answer:?}"
    );
    let back = redirect_params(&answer);
    assert_eq!(param(&back, "state"), Some(state.as_str()));
    assert_eq!(param(&back, "iss"), Some(site.base_url().as_str()));
    param(&back, "code").expect("a code").to_string()
}

fn exchange(site: &Site, code: &str, verifier: &str, redirect: &str) -> HttpResponse {
    let body = form_encode(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", CLIENT_ID),
        ("redirect_uri", redirect),
        ("code_verifier", verifier),
    ]);
    site.post_form("/token", &body, &[("Accept", "application/json")])
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

    // Signed out: to the login page, not to the app.
    let page = site.get(
        &format!("/auth?{}", query(&auth_params("create", "s"))),
        &[],
    );
    assert_eq!(page.status, 303, "{page:?}");
    assert!(
        page.header("Location").unwrap().ends_with("/login"),
        "{page:?}"
    );
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
