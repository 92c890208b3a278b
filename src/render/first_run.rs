//! The pages of setting roost up from the browser (`web::first_run`): the
//! code that proves the site is yours, the form, and the cron line with
//! its check. Only markup: what is proposed and checked is decided there.

use super::layout::{Page, render};
use maud::html;

/// The file beside roost.cgi holding the one-time code.
pub const CODE_FILE: &str = "roost-setup-code.txt";

/// What the form shows (and, after a refusal, shows again: nothing typed
/// is lost but the passwords).
pub struct Fields<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub url: &'a str,
    pub data: &'a str,
}

/// Step 1: the code. No path of this host is shown before it matches.
pub fn code_page(page: &Page, message: Option<&str>) -> String {
    let body = html! {
        h1 { "Set up roost" }
        p {
            "roost runs here, but is not set up yet. To show that this site is yours, \
             open the folder where you put " code { "roost.cgi" } " with your FTP client or \
             your host's file manager, download the file " code { (CODE_FILE) } ", and copy \
             the code it holds into this box."
        }
        @if let Some(message) = message { p.notice role="alert" { (message) } }
        form.compose method="post" action=(page.site.link("install")) {
            label for="code" { "The code in " (CODE_FILE) }
            input #code type="text" name="code" autocomplete="off" spellcheck="false" required autofocus;
            div.row { button type="submit" { "Continue" } }
        }
    };
    render(page, body)
}

/// Step 2: the site's name and address, the password, and the data
/// directory (proposed outside the document root).
pub fn form_page(page: &Page, fields: &Fields, message: Option<&str>) -> String {
    let body = html! {
        h1 { "Set up roost" }
        @if let Some(message) = message { p.notice role="alert" { (message) } }
        form.compose method="post" action=(page.site.link("install")) {
            input type="hidden" name="code" value=(fields.code);
            input type="hidden" name="step" value="create";
            label for="name" { "Your name, as the site shows it" }
            input #name type="text" name="name" value=(fields.name) required autofocus;
            label for="url" { "The site's address" }
            input #url type="url" name="url" value=(fields.url) required;
            label for="password" { "Password for logging in (at least 8 characters)" }
            input #password type="password" name="password" autocomplete="new-password" minlength="8" required;
            label for="again" { "The same password again" }
            input #again type="password" name="again" autocomplete="new-password" minlength="8" required;
            label for="data" { "Where to keep your posts and settings (a folder outside the site's files)" }
            input #data type="text" name="data" value=(fields.data) spellcheck="false" required;
            div.row { button type="submit" { "Set up roost" } }
        }
    };
    render(page, body)
}

/// A refusal before the site is set up: why, and what to do.
pub fn refused(page: &Page, status: u16, message: &str) -> String {
    let body = html! {
        h1 { (status) " " (super::status_reason(status)) }
        p { (message) }
    };
    render(page, body)
}

/// What cron is known to have done, for [`cron_page`].
pub enum CronSeen {
    /// A run finished this long ago (in words).
    Ran(String),
    /// No run has finished yet.
    Never,
}

/// GET /install: the line for the control panel's cron box, and whether a
/// run has been seen yet (the "Check" button asks again).
pub fn cron_page(page: &Page, cron_line: &str, seen: &CronSeen, checked: bool) -> String {
    let site = page.site;
    let body = html! {
        h1 { "One more step: cron" }
        p {
            "roost fetches the feeds you follow and sends what your posts owe other sites \
             in the background, every few minutes, when cron starts it. Paste this line \
             into your control panel's cron box (\"Cron jobs\", every 5 minutes), or with "
            code { "crontab -e" } " where you have a shell:"
        }
        pre.command #cron-line { (cron_line) }
        @match seen {
            CronSeen::Ran(ago) => p.notice #cron-status role="status" { "Cron works: its last run finished " (ago) " ago." },
            CronSeen::Never if checked => p.notice #cron-status role="alert" {
                "No cron run has been seen yet. Cron starts within 5 minutes of adding the line; check again then. \
                 If it still has not run, compare the line in the control panel with the one above."
            },
            CronSeen::Never => p #cron-status { "No cron run has been seen yet." },
        }
        form method="get" action=(site.link("install")) {
            input type="hidden" name="check" value="1";
            div.row {
                button #check type="submit" { "Check" }
                a href=(site.link("")) { "Go to your site" }
            }
        }
    };
    render(page, body)
}
