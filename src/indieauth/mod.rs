//! IndieAuth (the living standard of 2024-08-05): the node is its owner's
//! own authorization server, so an app (a Micropub client) is signed in by
//! the owner approving it here.
//!
//! - `GET /.well-known/oauth-authorization-server`: the metadata;
//! - `GET /auth`: the consent page, behind the owner's login (which comes
//!   back here), naming the app
//!   (`client_id`) and the scopes; PKCE S256 required; the redirect must be
//!   on the app's own origin;
//! - `POST /auth/approve`: the owner's answer (session + CSRF), redirecting
//!   back with a single-use code (10 minutes), `state` and `iss`;
//! - `POST /auth`: a code redeemed for the profile URL only (the owner
//!   signing in to another site with this site's URL), with the owner's
//!   name and URL when the `profile` scope was approved;
//! - `POST /token`: a code redeemed for a bearer token with its scopes and
//!   a refresh token; a refresh token (`grant_type=refresh_token`) redeemed,
//!   once, for a new pair (rotation: the old pair stops working);
//! - `POST /introspect` (RFC 7662): a resource server, authenticated by a
//!   bearer token of this node, asks whether a token is live and what it
//!   may do;
//! - `POST /revoke`: an app signs itself out (either token ends both); `GET`/`POST /apps`: the
//!   owner sees the apps signed in and signs any out.
//!
//! Codes and tokens are stored hashed (`store::indieauth`). `bearer` is how
//! another protocol (Micropub) checks a request's token. Errors of the
//! JSON endpoints are OAuth's `{"error", "error_description"}`.

use crate::render::{self, Site};
use crate::store::{self, indieauth::Grant, indieauth::Refresh, indieauth::Token};
use crate::web::actions;
use crate::web::app::Ctx;
use crate::web::auth;
use crate::web::http::Response;
use anyhow::Result;

/// How long a code lives between the redirect and its exchange.
pub const CODE_SECONDS: i64 = 10 * 60;
/// How long a bearer token lives. Long, because many Micropub apps never
/// use a refresh token and would make the owner approve them again.
pub const TOKEN_SECONDS: i64 = 30 * 24 * 3600;
/// How long a refresh token lives: an app used less often than this is
/// approved again by the owner.
pub const REFRESH_SECONDS: i64 = 90 * 24 * 3600;

/// The scopes an app may ask for, with what each lets it do (shown on the
/// consent page). `post` is Micropub's older name for `create`.
pub const SCOPES: &[(&str, &str)] = &[
    ("create", "publish new posts"),
    ("post", "publish new posts (older name of create)"),
    ("update", "change posts"),
    ("delete", "delete posts"),
    ("media", "upload files"),
    ("profile", "read your name and photo"),
];

/// The issuer: the site's own URL (a prefix of the metadata's URL).
pub fn issuer(site: &Site) -> String {
    site.url.clone()
}

/// The `Link` header values every page carries (with Webmention's): the
/// metadata, and the older separate endpoint rels.
pub fn link_header_parts(site_url: &str) -> [String; 4] {
    let at = |path: &str| format!("{site_url}{path}");
    [
        format!(
            "<{}>; rel=\"indieauth-metadata\"",
            at(".well-known/oauth-authorization-server")
        ),
        format!("<{}>; rel=\"authorization_endpoint\"", at("auth")),
        format!("<{}>; rel=\"token_endpoint\"", at("token")),
        format!("<{}>; rel=\"micropub\"", at("micropub")),
    ]
}

/// An OAuth / Micropub error: `{"error": code, "error_description": ...}`,
/// never cached.
pub fn oauth_error(status: u16, code: &str, description: &str) -> Response {
    json(
        status,
        &serde_json::json!({ "error": code, "error_description": description }),
    )
}

/// A JSON answer no cache keeps (it may carry a token).
pub fn json(status: u16, value: &serde_json::Value) -> Response {
    Response::new(status, "application/json", value.to_string())
        .with_header("Cache-Control", "no-store")
}

/// GET /.well-known/oauth-authorization-server
pub fn metadata(ctx: &mut Ctx) -> Result<Response> {
    let site = &ctx.site;
    let value = serde_json::json!({
        "issuer": issuer(site),
        "authorization_endpoint": site.absolute("auth"),
        "token_endpoint": site.absolute("token"),
        "revocation_endpoint": site.absolute("revoke"),
        "revocation_endpoint_auth_methods_supported": ["none"],
        "introspection_endpoint": site.absolute("introspect"),
        "introspection_endpoint_auth_methods_supported": ["Bearer"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "response_types_supported": ["code"],
        "scopes_supported": SCOPES.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        "authorization_response_iss_parameter_supported": true,
    });
    Ok(Response::new(200, "application/json", value.to_string()))
}

/// An authorization request that passed every check: what the consent page
/// shows and the approval binds to its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub grant: Grant,
    pub state: String,
    /// The scopes asked for that this node does not know (shown, not granted).
    pub unknown_scopes: Vec<String>,
}

/// Checks an authorization request's parameters (`get` reads one, from the
/// query string or the consent form). The error says, for the owner, what
/// is wrong; nothing is ever sent to a `redirect_uri` that failed.
pub fn check_request(get: impl Fn(&str) -> Option<String>) -> Result<Request, String> {
    let need = |name: &str| {
        get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("The app's request has no {name}, so it cannot be approved."))
    };
    let response_type = get("response_type").unwrap_or_else(|| "code".into());
    if response_type != "code" {
        return Err(format!(
            "The app asks for response_type={response_type:?}; this site answers only \"code\"."
        ));
    }
    let client_id = need("client_id")?;
    let client = client_url(&client_id)?;
    let redirect_uri = need("redirect_uri")?;
    let redirect = url::Url::parse(&redirect_uri)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.fragment().is_none())
        .ok_or_else(|| format!("The app's redirect_uri {redirect_uri:?} is not a web address."))?;
    if redirect.origin() != client.origin() {
        return Err(format!(
            "The app {client_id} asks to send you back to {redirect_uri}, which is not on its \
             own site, so nothing was approved (this site sends codes only to the app's own \
             address)."
        ));
    }
    let state = need("state")?;
    let challenge = get("code_challenge").filter(|c| !c.is_empty()).ok_or(
        "The app did not send a PKCE code_challenge: this site requires PKCE (S256), so \
         nothing was approved. The app must be updated.",
    )?;
    let method = get("code_challenge_method").unwrap_or_default();
    if method != "S256" {
        return Err(format!(
            "The app's code_challenge_method is {method:?}; this site requires \"S256\"."
        ));
    }
    if !is_pkce_value(&challenge) {
        return Err("The app's code_challenge is not a valid PKCE value.".into());
    }
    let asked = get("scope").unwrap_or_default();
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for scope in asked.split_ascii_whitespace() {
        let list = if SCOPES.iter().any(|(s, _)| *s == scope) {
            &mut known
        } else {
            &mut unknown
        };
        if !list.contains(&scope) {
            list.push(scope);
        }
    }
    Ok(Request {
        grant: Grant {
            client_id,
            redirect_uri,
            scope: known.join(" "),
            challenge,
        },
        state,
        unknown_scopes: unknown.into_iter().map(str::to_owned).collect(),
    })
}

/// A client identifier as the spec allows it: http(s), a path, no
/// fragment, no user or password, no `.`/`..` segment, and a domain name
/// or a loopback address (never another IP address).
fn client_url(client_id: &str) -> Result<url::Url, String> {
    let bad = |why: &str| Err(format!("The app's client_id {client_id:?} {why}."));
    let Ok(url) = url::Url::parse(client_id) else {
        return bad("is not a web address");
    };
    if !matches!(url.scheme(), "http" | "https") {
        return bad("must start with https:// or http://");
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return bad("must have no fragment, user name or password");
    }
    let path = client_id
        .split_once("://")
        .map_or("", |(_, rest)| rest.split(['?', '#']).next().unwrap_or(""));
    if path
        .split('/')
        .skip(1)
        .any(|segment| segment == "." || segment == "..")
    {
        return bad("must have no . or .. in its path");
    }
    match url.host() {
        Some(url::Host::Domain(_)) => Ok(url),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(url),
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(url),
        _ => bad("must name a host by its domain name"),
    }
}

/// RFC 7636's alphabet and length (43 to 128 characters).
fn is_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// S256: the unpadded base64url of the verifier's SHA-256.
pub fn s256(verifier: &str) -> String {
    let digest = <sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes());
    render::layout::base64(&digest)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// GET /auth: the consent page (the owner logs in first).
pub fn authorize(ctx: &mut Ctx) -> Result<Response> {
    let Some(session) = ctx.session.clone() else {
        // The login comes back here, to this very request.
        let next: String =
            url::form_urlencoded::byte_serialize(format!("auth?{}", ctx.req.query).as_bytes())
                .collect();
        return Ok(Response::see_other(
            &ctx.site.redirect_target(&format!("login?next={next}")),
        ));
    };
    let request = match check_request(|name| ctx.req.query_param(name)) {
        Ok(request) => request,
        Err(why) => return Ok(ctx.error(400, &why)),
    };
    let grant = &request.grant;
    let ask = render::consent::Ask {
        client_id: &grant.client_id,
        redirect_uri: &grant.redirect_uri,
        state: &request.state,
        challenge: &grant.challenge,
        scope: &grant.scope,
        scopes: grant
            .scope
            .split_ascii_whitespace()
            .map(|s| {
                let what = SCOPES.iter().find(|(n, _)| *n == s).map_or("", |(_, w)| *w);
                (s, what)
            })
            .collect(),
        unknown_scopes: &request.unknown_scopes,
    };
    let body = render::consent::page(&ctx.page("Sign in an app"), &session, &ask);
    Ok(Response::html(200, body)
        .with_header("Cache-Control", "private, no-store")
        .with_header(
            "Content-Security-Policy",
            &consent_policy(&request.grant.redirect_uri),
        ))
}

/// The page's CSP with the app's origin added to `form-action`: a browser
/// checks the approval's redirect against it.
fn consent_policy(redirect_uri: &str) -> String {
    let origin = url::Url::parse(redirect_uri)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    render::layout::content_security_policy().replace(
        "form-action 'self'",
        &format!("form-action 'self' {origin}"),
    )
}

/// POST /auth/approve: the owner's answer. Allowed: a code for the app's
/// redirect; denied: `error=access_denied`. Both carry `state` and `iss`.
pub fn approve(ctx: &mut Ctx) -> Result<Response> {
    let (_, form) = match actions::owner_form(ctx) {
        Ok(ok) => ok,
        Err(response) => return Ok(response),
    };
    let request = match check_request(|name| form.get(name).map(str::to_owned)) {
        Ok(request) => request,
        Err(why) => return Ok(ctx.error(400, &why)),
    };
    let mut back = url::Url::parse(&request.grant.redirect_uri)?;
    {
        let mut query = back.query_pairs_mut();
        if form.get("allow").is_some() {
            let code = auth::random_token()?;
            let code_hash = auth::sha256_hex(code.as_bytes());
            let now = ctx.now;
            store::write_unseen(ctx.conn, |tx| {
                store::indieauth::save_code(tx, &code_hash, &request.grant, now, now + CODE_SECONDS)
            })?;
            query.append_pair("code", &code);
        } else {
            query.append_pair("error", "access_denied");
        }
        query
            .append_pair("state", &request.state)
            .append_pair("iss", &issuer(&ctx.site));
    }
    Ok(Response::see_other(back.as_str()))
}

/// POST /auth: a code redeemed for the profile URL only (no token).
pub fn profile(ctx: &mut Ctx) -> Result<Response> {
    let form = match actions::form(ctx) {
        Ok(form) => form,
        Err(refusal) => return Ok(refusal),
    };
    Ok(match redeem(ctx, &form)? {
        Ok(grant) => {
            let mut answer = serde_json::json!({ "me": ctx.site.url });
            add_profile(ctx, &grant.scope, &mut answer);
            json(200, &answer)
        }
        Err(refusal) => refusal,
    })
}

/// With the `profile` scope, the answer names the owner (IndieAuth 5.3.4):
/// `profile: {name, url}` (the node keeps no photo of its owner, so none).
fn add_profile(ctx: &Ctx, scope: &str, answer: &mut serde_json::Value) {
    if scope.split_ascii_whitespace().any(|s| s == "profile") {
        answer["profile"] = serde_json::json!({
            "name": ctx.settings.name(),
            "url": ctx.site.url,
        });
    }
}

/// POST /token: a code, or a refresh token, redeemed for a bearer token
/// and a new refresh token.
pub fn token(ctx: &mut Ctx) -> Result<Response> {
    let form = match actions::form(ctx) {
        Ok(form) => form,
        Err(refusal) => return Ok(refusal),
    };
    let (client_id, scope) = if form.get("grant_type") == Some("refresh_token") {
        match refresh(ctx, &form)? {
            Ok(found) => found,
            Err(refusal) => return Ok(refusal),
        }
    } else {
        let grant = match redeem(ctx, &form)? {
            Ok(grant) => grant,
            Err(refusal) => return Ok(refusal),
        };
        if grant.scope.is_empty() {
            return Ok(oauth_error(
                400,
                "invalid_grant",
                "This code was approved with no scope, so it carries no token: \
                 ask for a scope, or redeem it at the authorization endpoint.",
            ));
        }
        (grant.client_id, grant.scope)
    };
    let token = auth::random_token()?;
    let refresh_token = auth::random_token()?;
    let now = ctx.now;
    let stored = Token {
        client_id,
        scope: scope.clone(),
        created: now,
        expires: now + TOKEN_SECONDS,
    };
    let refresh = Refresh {
        hash: auth::sha256_hex(refresh_token.as_bytes()),
        expires: now + REFRESH_SECONDS,
    };
    store::write_unseen(ctx.conn, |tx| {
        store::indieauth::save_token(
            tx,
            &auth::sha256_hex(token.as_bytes()),
            &stored,
            Some(&refresh),
            now,
        )
    })?;
    let mut answer = serde_json::json!({
        "access_token": token,
        "token_type": "Bearer",
        "scope": scope,
        "me": ctx.site.url,
        "expires_in": TOKEN_SECONDS,
        "refresh_token": refresh_token,
    });
    add_profile(ctx, &scope, &mut answer);
    Ok(json(200, &answer))
}

/// `grant_type=refresh_token`: the refresh token used up (with the access
/// token issued beside it), checked against its client; the scope kept, or
/// narrowed when the app asks for less. The new pair's client and scope.
fn refresh(ctx: &mut Ctx, form: &actions::Form) -> Result<Result<(String, String), Response>> {
    let [Some(refresh_token), Some(client_id)] =
        ["refresh_token", "client_id"].map(|name| form.get(name).filter(|v| !v.is_empty()))
    else {
        return Ok(Err(oauth_error(
            400,
            "invalid_request",
            "A refresh needs refresh_token and client_id.",
        )));
    };
    let hash = auth::sha256_hex(refresh_token.as_bytes());
    let now = ctx.now;
    let Some(found) = store::write_unseen(ctx.conn, |tx| {
        store::indieauth::take_refresh(tx, &hash, now)
    })?
    else {
        return Ok(Err(oauth_error(
            400,
            "invalid_grant",
            "This refresh token is unknown, used already, revoked or expired: sign in again.",
        )));
    };
    if found.client_id != client_id {
        return Ok(Err(oauth_error(
            400,
            "invalid_grant",
            "This refresh token was issued to another client_id; it no longer works: \
             sign in again.",
        )));
    }
    let scope = match form.get("scope").filter(|s| !s.trim().is_empty()) {
        None => found.scope,
        Some(asked) => {
            let had: Vec<&str> = found.scope.split_ascii_whitespace().collect();
            if let Some(more) = asked.split_ascii_whitespace().find(|s| !had.contains(s)) {
                return Ok(Err(oauth_error(
                    400,
                    "invalid_scope",
                    &format!(
                        "A refresh may keep or narrow the scope, not add {more:?}: \
                         sign in again asking for it."
                    ),
                )));
            }
            asked.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
        }
    };
    Ok(Ok((found.client_id, scope)))
}

/// The code exchange shared by both endpoints: the code used up, then
/// checked against the client, redirect and PKCE verifier it was bound to.
fn redeem(ctx: &mut Ctx, form: &actions::Form) -> Result<Result<Grant, Response>> {
    let grant_type = form.get("grant_type").unwrap_or("authorization_code");
    if grant_type != "authorization_code" {
        return Ok(Err(oauth_error(
            400,
            "unsupported_grant_type",
            &format!(
                "This server exchanges authorization codes and refresh tokens only, not \
                 {grant_type:?}."
            ),
        )));
    }
    let mut fields = [""; 4];
    for (slot, name) in
        fields
            .iter_mut()
            .zip(["code", "client_id", "redirect_uri", "code_verifier"])
    {
        match form.get(name).filter(|v| !v.is_empty()) {
            Some(value) => *slot = value,
            None => {
                return Ok(Err(oauth_error(
                    400,
                    "invalid_request",
                    &format!("The request has no {name}."),
                )));
            }
        }
    }
    let [code, client_id, redirect_uri, verifier] = fields;
    let code_hash = auth::sha256_hex(code.as_bytes());
    let now = ctx.now;
    let Some(grant) = store::write_unseen(ctx.conn, |tx| {
        store::indieauth::take_code(tx, &code_hash, now)
    })?
    else {
        return Ok(Err(oauth_error(
            400,
            "invalid_grant",
            "This code is unknown, used already or expired (codes work once, for 10 minutes): \
             sign in again.",
        )));
    };
    let refusal = if grant.client_id != client_id {
        Some("This code was issued to another client_id.")
    } else if grant.redirect_uri != redirect_uri {
        Some("This code was issued for another redirect_uri.")
    } else if !auth::tokens_match(&s256(verifier), &grant.challenge) {
        Some("The code_verifier does not match the code_challenge (PKCE): sign in again.")
    } else {
        None
    };
    Ok(match refusal {
        Some(why) => Err(oauth_error(400, "invalid_grant", why)),
        None => Ok(grant),
    })
}

/// POST /revoke (RFC 7009, IndieAuth 7.1): an app signs itself out. The
/// answer is 200 whether or not the token was live, so it tells nothing.
pub fn revoke(ctx: &mut Ctx) -> Result<Response> {
    let token_hash = match named_token(ctx, "revoke") {
        Ok(hash) => hash,
        Err(refusal) => return Ok(refusal),
    };
    store::write_unseen(ctx.conn, |tx| {
        store::indieauth::delete_token(tx, &token_hash)
    })?;
    Ok(json(200, &serde_json::json!({})))
}

/// The hash of the form's `token=...` (what to `verb`), or the refusal.
fn named_token(ctx: &Ctx, verb: &str) -> Result<String, Response> {
    let form = actions::form(ctx)?;
    match form.get("token").filter(|t| !t.is_empty()) {
        Some(token) => Ok(auth::sha256_hex(token.as_bytes())),
        None => Err(oauth_error(
            400,
            "invalid_request",
            &format!("Name the token to {verb}: token=..."),
        )),
    }
}

/// POST /introspect (RFC 7662, IndieAuth 6.3): whether `token` is a live
/// access token, and its client, scope and times. The asker authenticates
/// with a live bearer token of this node (`Authorization: Bearer`), so the
/// endpoint answers no stranger; an unknown, expired or revoked token, or a
/// refresh token, is `{"active": false}` and nothing more.
pub fn introspect(ctx: &mut Ctx) -> Result<Response> {
    if let Err(refusal) = bearer(ctx, None)? {
        return Ok(refusal);
    }
    let hash = match named_token(ctx, "inspect") {
        Ok(hash) => hash,
        Err(refusal) => return Ok(refusal),
    };
    Ok(match store::indieauth::token(ctx.conn, &hash, ctx.now)? {
        Some(found) => json(
            200,
            &serde_json::json!({
                "active": true,
                "me": ctx.site.url,
                "client_id": found.client_id,
                "scope": found.scope,
                "iat": found.created,
                "exp": found.expires,
                "token_type": "Bearer",
            }),
        ),
        None => json(200, &serde_json::json!({ "active": false })),
    })
}

/// GET /apps: the apps signed in, each with a button to sign it out.
pub fn apps(ctx: &mut Ctx) -> Result<Response> {
    let Some(session) = ctx.session.clone() else {
        return Ok(actions::to_login(ctx));
    };
    let tokens = store::indieauth::list_tokens(ctx.conn, ctx.now)?;
    let body = render::consent::apps(&ctx.page("Signed-in apps"), &session, &tokens);
    Ok(Response::html(200, body).with_header("Cache-Control", "private, no-store"))
}

/// POST /apps: the owner signs an app out (its token, named by its hash).
pub fn sign_out_app(ctx: &mut Ctx) -> Result<Response> {
    let (_, form) = match actions::owner_form(ctx) {
        Ok(ok) => ok,
        Err(response) => return Ok(response),
    };
    let token_hash = form.get("token_hash").unwrap_or("").to_string();
    store::write_unseen(ctx.conn, |tx| {
        store::indieauth::delete_token(tx, &token_hash)
    })?;
    Ok(Response::see_other(&ctx.site.redirect_target("apps")))
}

/// What a bearer token lets a request do: checked by protocols (Micropub).
pub struct Bearer {
    pub scopes: Vec<String>,
}

impl Bearer {
    /// Whether the token carries `scope` (`create` also as the older `post`).
    pub fn has(&self, scope: &str) -> bool {
        self.scopes
            .iter()
            .any(|s| s == scope || (scope == "create" && s == "post"))
    }
}

/// The request's token, from `Authorization: Bearer` or `access_token` in
/// the form body (`from_body`), or the spec's refusal: 401 `unauthorized`
/// without one or with one unknown or expired, 400 with both.
pub fn bearer(ctx: &Ctx, from_body: Option<&str>) -> Result<Result<Bearer, Response>> {
    let header = ctx.req.header("authorization").and_then(|value| {
        let (kind, token) = value.trim().split_once(' ')?;
        kind.eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string())
    });
    let token = match (header, from_body.filter(|t| !t.is_empty())) {
        (Some(_), Some(_)) => {
            return Ok(Err(oauth_error(
                400,
                "invalid_request",
                "The token came both in the Authorization header and in the body: send it once.",
            )));
        }
        (Some(token), None) => token,
        (None, Some(token)) => token.to_string(),
        (None, None) => {
            return Ok(Err(oauth_error(
                401,
                "unauthorized",
                "No access token: send one as Authorization: Bearer TOKEN.",
            )
            .with_header("WWW-Authenticate", "Bearer")));
        }
    };
    let token_hash = auth::sha256_hex(token.as_bytes());
    Ok(
        match store::indieauth::token(ctx.conn, &token_hash, ctx.now)? {
            Some(found) => Ok(Bearer {
                scopes: found
                    .scope
                    .split_ascii_whitespace()
                    .map(str::to_owned)
                    .collect(),
            }),
            None => Err(oauth_error(
                401,
                "unauthorized",
                "This access token is unknown or expired: sign the app in again.",
            )
            .with_header("WWW-Authenticate", "Bearer error=\"invalid_token\"")),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const CHALLENGE: &str = "TP3DZQl9rJnri9eRuZaFS6Q7czCrth7sEZC00LreApo";

    fn check(pairs: &[(&str, &str)]) -> Result<Request, String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        check_request(|name| map.get(name).cloned())
    }

    fn good() -> Vec<(&'static str, &'static str)> {
        vec![
            ("response_type", "code"),
            ("client_id", "https://app.example/"),
            ("redirect_uri", "https://app.example/callback"),
            ("state", "s1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("scope", "create profile create bogus"),
        ]
    }

    fn with(name: &'static str, value: &'static str) -> Vec<(&'static str, &'static str)> {
        let mut pairs: Vec<_> = good().into_iter().filter(|(k, _)| *k != name).collect();
        pairs.push((name, value));
        pairs
    }

    #[test]
    fn s256_is_unpadded_base64url_of_sha256() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWEOEjXk"),
            CHALLENGE
        );
    }

    #[test]
    fn a_good_request_keeps_known_scopes_once() {
        let request = check(&good()).unwrap();
        assert_eq!(request.grant.scope, "create profile");
        assert_eq!(request.unknown_scopes, ["bogus"]);
        assert_eq!(request.state, "s1");
    }

    #[test]
    fn requests_without_pkce_or_off_origin_redirects_are_refused() {
        for (name, value, says) in [
            ("code_challenge", "", "PKCE"),
            ("code_challenge_method", "plain", "S256"),
            ("code_challenge", "short", "PKCE"),
            (
                "redirect_uri",
                "https://evil.example/callback",
                "not on its own site",
            ),
            (
                "redirect_uri",
                "http://app.example/callback",
                "not on its own site",
            ),
            (
                "redirect_uri",
                "https://app.example:8443/cb",
                "not on its own site",
            ),
            ("client_id", "https://10.0.0.1/", "domain name"),
            ("client_id", "https://app.example/a/../b", ". or .."),
            ("client_id", "https://u:p@app.example/", "user name"),
            ("client_id", "ftp://app.example/", "https://"),
            ("state", "", "state"),
            ("response_type", "token", "response_type"),
        ] {
            let why = check(&with(name, value)).unwrap_err();
            assert!(why.contains(says), "{name}={value}: {why}");
        }
        assert!(
            check(&with("client_id", "http://127.0.0.1:9/")).is_err(),
            "origin differs"
        );
        let loopback = [
            ("client_id", "http://127.0.0.1:9/"),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
        ];
        let mut pairs = good();
        pairs.retain(|(k, _)| !loopback.iter().any(|(n, _)| n == k));
        pairs.extend(loopback);
        assert!(check(&pairs).is_ok(), "a loopback app");
    }
}
