//! The IndieAuth consent page (`indieauth::authorize`): which app asks,
//! where it sends the owner back, and what it may do; and the owner's list
//! of the apps signed in (`indieauth::apps`).

use super::layout::{Page, render};
use crate::indieauth::{Request, SCOPES};
use crate::store::indieauth::Listed;
use crate::store::sessions::Session;
use maud::html;

/// GET /auth: the app, its redirect and its scopes, with Allow and Deny.
/// Every parameter travels in hidden fields and is checked again on POST.
pub fn page(page: &Page, session: &Session, request: &Request) -> String {
    let grant = &request.grant;
    let scopes: Vec<(&str, &str)> = grant
        .scope
        .split_ascii_whitespace()
        .map(|s| {
            let what = SCOPES.iter().find(|(n, _)| *n == s).map_or("", |(_, w)| *w);
            (s, what)
        })
        .collect();
    let body = html! {
        h1 { "Sign in an app?" }
        p { "The app " strong { (grant.client_id) } " asks to use this site as you." }
        p { "After you answer, you go back to " code { (grant.redirect_uri) } "." }
        @if scopes.is_empty() {
            p { "It asks only to know that you are the owner of this site; it can post nothing." }
        } @else {
            p { "It asks to:" }
            ul { @for (scope, what) in &scopes { li { (what) " (" code { (scope) } ")" } } }
        }
        @if !request.unknown_scopes.is_empty() {
            p { "It also asked for what this site does not offer, which it will not get: "
                (request.unknown_scopes.join(", ")) "." }
        }
        form method="post" action=(page.site.link("auth/approve")) {
            input type="hidden" name="csrf" value=(session.csrf);
            input type="hidden" name="response_type" value="code";
            input type="hidden" name="client_id" value=(grant.client_id);
            input type="hidden" name="redirect_uri" value=(grant.redirect_uri);
            input type="hidden" name="state" value=(request.state);
            input type="hidden" name="code_challenge" value=(grant.challenge);
            input type="hidden" name="code_challenge_method" value="S256";
            input type="hidden" name="scope" value=(grant.scope);
            div.row {
                button type="submit" name="allow" value="1" { "Allow" }
                button type="submit" name="deny" value="1" { "Deny" }
            }
        }
    };
    render(page, body)
}

/// GET /apps: each signed-in app, what it may do, until when, and Sign out.
pub fn apps(page: &Page, session: &Session, tokens: &[Listed]) -> String {
    let body = html! {
        h1 { "Signed-in apps" }
        @if tokens.is_empty() {
            p { "No app is signed in." }
        }
        @for token in tokens {
            section.app {
                h2 { (token.client_id) }
                p { "May: " (token.scope) ". Signed in " (page.clock.absolute(token.created))
                    ", until " (page.clock.absolute(token.expires)) "." }
                form method="post" action=(page.site.link("apps")) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    input type="hidden" name="token_hash" value=(token.token_hash);
                    button type="submit" { "Sign out" }
                }
            }
        }
    };
    render(page, body)
}
