//! The IndieAuth consent page (`indieauth::authorize`): which app asks,
//! where it sends the owner back, and what it may do; and the owner's list
//! of the apps signed in (`indieauth::apps`).

use super::layout::{Page, render};
use crate::store::indieauth::Listed;
use crate::store::sessions::Session;
use maud::html;

/// What an app asks (checked by `indieauth::check_request`), as shown.
pub struct Ask<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub challenge: &'a str,
    /// Space-separated, as the approval sends it back.
    pub scope: &'a str,
    /// Each scope granted and what it lets the app do.
    pub scopes: Vec<(&'a str, &'a str)>,
    /// Scopes asked for that this site does not offer.
    pub unknown_scopes: &'a [String],
}

/// GET /auth: the app, its redirect and its scopes, with Allow and Deny.
/// Every parameter travels in hidden fields and is checked again on POST.
pub fn page(page: &Page, session: &Session, ask: &Ask) -> String {
    let scopes = &ask.scopes;
    let body = html! {
        h1 { "Sign in an app?" }
        p { "The app " strong { (ask.client_id) } " asks to use this site as you." }
        p { "After you answer, you go back to " code { (ask.redirect_uri) } "." }
        @if scopes.is_empty() {
            p { "It asks only to know that you are the owner of this site; it can post nothing." }
        } @else {
            p { "It asks to:" }
            ul { @for (scope, what) in scopes { li { (what) " (" code { (scope) } ")" } } }
        }
        @if !ask.unknown_scopes.is_empty() {
            p { "It also asked for what this site does not offer, which it will not get: "
                (ask.unknown_scopes.join(", ")) "." }
        }
        form method="post" action=(page.site.link("auth/approve")) {
            input type="hidden" name="csrf" value=(session.csrf);
            input type="hidden" name="response_type" value="code";
            input type="hidden" name="client_id" value=(ask.client_id);
            input type="hidden" name="redirect_uri" value=(ask.redirect_uri);
            input type="hidden" name="state" value=(ask.state);
            input type="hidden" name="code_challenge" value=(ask.challenge);
            input type="hidden" name="code_challenge_method" value="S256";
            input type="hidden" name="scope" value=(ask.scope);
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
