//! The owner's `/settings` page: one field per setting the page offers,
//! each with its declared help, and a refusal's message next to it.

use super::layout::{Page, render};
use crate::settings;
use crate::store::jobs::Job;
use crate::store::sessions::Session;
use crate::store::websub::Subscription;
use maud::{Markup, html};

/// A setting the page offers, and how it is typed.
pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
    /// `text`, `url` or `textarea`.
    pub input: &'static str,
    /// A true/false setting, sent only when ticked.
    pub checkbox: bool,
}

const fn field(key: &'static str, label: &'static str, input: &'static str) -> Field {
    Field {
        key,
        label,
        input,
        checkbox: false,
    }
}

/// The page's fields, in order (the switches for the host's administrator,
/// such as `trust_forwarded`, stay with `roost config`).
pub const FIELDS: &[Field] = &[
    field("name", "Name", "text"),
    field("bio", "Bio", "textarea"),
    field("url", "Site address", "url"),
    field("handle", "Handle", "text"),
    field("time_zone", "Time zone", "text"),
    Field {
        key: "public_timeline",
        label: "Anyone may read my timeline",
        input: "checkbox",
        checkbox: true,
    },
    field(
        "publish_dir",
        "Publish the feeds and front page as files into",
        "text",
    ),
    field("websub_hub", "Also ping this WebSub hub", "url"),
    Field {
        key: "cron_on_page_views",
        label: "This host has no cron: run the background work when I view my pages (degraded)",
        input: "checkbox",
        checkbox: true,
    },
    field(
        "also_known_as",
        "My other fediverse accounts (actor addresses, one a line)",
        "textarea",
    ),
];

/// What cron does for the node, shown under the form: who subscribed to
/// the feeds through the hub, and the work queued or given up.
pub struct Background {
    /// Fediverse accounts following the owner (those waiting for approval too).
    pub followers: Vec<crate::store::activitypub::Follower>,
    pub subscriptions: Vec<Subscription>,
    pub queued: i64,
    /// Dead letters, newest first.
    pub dead: Vec<Job>,
}

/// A field as shown: the value (stored, or as typed after a refusal) and why it was refused.
pub struct Shown {
    pub field: &'static Field,
    pub value: String,
    pub error: Option<String>,
}

/// GET /settings, and the form again after a refusal (with what was typed).
pub fn page(
    page: &Page,
    session: &Session,
    fields: &[Shown],
    saved: bool,
    background: &Background,
) -> String {
    let body = html! {
        h1 { "Settings" }
        @if saved { p.notice role="status" { "Saved." } }
        p { "Apps you signed in to post here (IndieAuth): " a href=(page.site.link("apps")) { "Signed-in apps" } "." }
        p { "Whether this installation is sound, and how to mend what is not: " a #check-installation href=(page.site.link("settings/check")) { "Check installation" } "." }
        @if fields.iter().any(|f| f.error.is_some()) {
            p.notice role="alert" { "Nothing was saved: see the fields marked below." }
        }
        form.compose.settings method="post" action=(page.site.link("settings")) {
            input type="hidden" name="csrf" value=(session.csrf);
            @for shown in fields { (one_field(shown)) }
            div.row { button type="submit" { "Save" } }
        }
        (background_work(page, session, background))
    };
    render(page, body)
}

fn background_work(page: &Page, session: &Session, background: &Background) -> Markup {
    html! {
        h2 #followers { "Followers on the fediverse (" (background.followers.iter().filter(|f| !f.pending).count()) ")" }
        @if background.followers.is_empty() {
            p.empty { "No fediverse account follows you yet." }
        } @else {
            ul {
                @for f in &background.followers {
                    li {
                        @if crate::sanitize::is_web_url(&f.actor) {
                            a href=(f.actor) rel="nofollow noopener noreferrer" {
                                @if f.name.is_empty() { (f.actor) } @else { (f.name) }
                            }
                        } @else { (f.actor) }
                        " "
                        span.meta {
                            @if !f.handle.is_empty() { (f.handle) " · " }
                            "since " (page.clock.absolute(f.since))
                            @if f.pending { " · waits for your approval on Notifications" }
                        }
                        form.row method="post" action=(page.site.link("followers")) {
                            input type="hidden" name="csrf" value=(session.csrf);
                            input type="hidden" name="actor" value=(f.actor);
                            button type="submit" name="action" value="remove" { "Remove" }
                            button type="submit" name="action" value="block" { "Block" }
                        }
                    }
                }
            }
        }
        h2 #subscribers { "Subscribers by WebSub" }
        @if background.subscriptions.is_empty() {
            p.empty { "No one subscribes to your feeds through the hub yet." }
        } @else {
            ul {
                @for s in &background.subscriptions {
                    li {
                        (s.callback) " "
                        span.meta {
                            "to " (s.topic) " · until " (page.clock.absolute(s.expires_at))
                            @if s.secret.is_some() { " · signed" }
                        }
                    }
                }
            }
        }
        h2 #background { "Background work" }
        p { (background.queued) " jobs queued for the next cron run." }
        @if !background.dead.is_empty() {
            p.notice role="status" { "Given up after retries (roost doctor lists these too):" }
            ul {
                @for job in &background.dead {
                    li {
                        (job.kind) " " (job.key) " "
                        span.meta {
                            (job.attempts) " tries"
                            @if let Some(when) = job.dead_at { ", last " (page.clock.absolute(when)) }
                            ": " (job.last_error)
                        }
                    }
                }
            }
        }
    }
}

fn one_field(shown: &Shown) -> Markup {
    let Field {
        key, label, input, ..
    } = shown.field;
    let id = format!("setting-{key}");
    let help_id = format!("{id}-help");
    let error_id = format!("{id}-error");
    let described = match shown.error {
        Some(_) => format!("{error_id} {help_id}"),
        None => help_id.clone(),
    };
    let help = settings::declared(key).map_or("", |d| d.help);
    let invalid = shown.error.is_some().then_some("true");
    html! {
        @if shown.field.checkbox {
            label for=(id) {
                input #(id) type="checkbox" name=(key) value="true" checked[shown.value == "true"]
                    aria-describedby=(described) aria-invalid=[invalid];
                " " (label)
            }
        } @else {
            label for=(id) { (label) }
            @if *input == "textarea" {
                textarea #(id) name=(key) aria-describedby=(described) aria-invalid=[invalid] { (shown.value) }
            } @else {
                input #(id) type=(input) name=(key) value=(shown.value)
                    aria-describedby=(described) aria-invalid=[invalid];
            }
        }
        @if let Some(error) = &shown.error {
            p.meta.error #(error_id) { (error) }
        }
        p.meta #(help_id) { (help) }
    }
}

/// One line of the "Check installation" page: doctor's word for it
/// (`ok`, `FAIL`, `skip`, `note`) and what was found, with the fix.
pub struct CheckLine {
    pub label: &'static str,
    pub text: String,
}

/// GET /settings/check: every `roost doctor` check that needs no request
/// to the site, failures first.
pub fn check_page(page: &Page, lines: &[CheckLine]) -> String {
    let failed = lines.iter().filter(|l| l.label == "FAIL").count();
    let body = html! {
        h1 { "Check installation" }
        @if failed == 0 {
            p.notice #check-summary role="status" { "Nothing to mend: every check passed or could not apply here." }
        } @else {
            p.notice #check-summary role="alert" { (failed) " of " (lines.len()) " checks failed; each says how to mend it." }
        }
        p { "The same checks as " code { "roost doctor" } " on the server, which also asks the site over HTTP." }
        ul.following #checks {
            @for line in lines.iter().filter(|l| l.label == "FAIL").chain(lines.iter().filter(|l| l.label != "FAIL")) {
                li { strong { (line.label) } " " (line.text) }
            }
        }
        p { a href=(page.site.link("settings")) { "Back to the settings" } }
    };
    render(page, body)
}
