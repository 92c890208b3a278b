//! Signing an app in to a roost as the owner would (tests/indieauth.rs,
//! tests/micropub.rs): the consent page, the approval, the code's exchange.

use super::apache::Site;
use super::http::{HttpResponse, form_encode};
use super::process::hidden_csrf;
use super::unique;
use serde_json::Value;

pub const CLIENT_ID: &str = "http://127.0.0.1:9/";
pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
/// A verifier and its S256 challenge (computed by Python's hashlib and base64).
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWEOEjXk";
pub const CHALLENGE: &str = "TP3DZQl9rJnri9eRuZaFS6Q7czCrth7sEZC00LreApo";

/// Logs the owner in: the `Cookie` header value of the session.
pub fn login(site: &Site) -> String {
    let done = site.submit_login(&site.get("/login", &[]));
    assert_eq!(done.status, 303, "{done:?}");
    format!("roost_session={}", done.cookie("roost_session").unwrap())
}

pub fn query(pairs: &[(&str, &str)]) -> String {
    form_encode(pairs)
}

pub fn auth_params<'a>(scope: &'a str, state: &'a str) -> Vec<(&'a str, &'a str)> {
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

pub fn json(response: &HttpResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap_or_else(|e| panic!("{e}: {response:?}"))
}

/// The query parameters of a redirect's `Location`.
pub fn redirect_params(response: &HttpResponse) -> Vec<(String, String)> {
    let location = response.header("Location").expect("a Location");
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
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

pub fn exchange(site: &Site, code: &str, verifier: &str, redirect: &str) -> HttpResponse {
    exchange_at(site, "/token", code, verifier, redirect)
}

/// The code exchange at `endpoint` (`/token`, or `/auth` for the profile only).
pub fn exchange_at(
    site: &Site,
    endpoint: &str,
    code: &str,
    verifier: &str,
    redirect: &str,
) -> HttpResponse {
    let body = form_encode(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", CLIENT_ID),
        ("redirect_uri", redirect),
        ("code_verifier", verifier),
    ]);
    site.post_form(endpoint, &body, &[("Accept", "application/json")])
}

/// A bearer token for `scope`, the whole way: approval, then exchange.
pub fn token(site: &Site, cookie: &str, scope: &str) -> String {
    let code = approve(site, cookie, scope);
    let answer = exchange(site, &code, VERIFIER, REDIRECT);
    assert_eq!(answer.status, 200, "{answer:?}");
    json(&answer)["access_token"].as_str().unwrap().to_string()
}
