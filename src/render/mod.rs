//! Turns data into bytes: HTML pages (maud) and the three feed formats (XML
//! through `xml`, the one place it is escaped).
//! Does not read requests or the database.

pub mod consent;
pub mod const_sha256;
pub mod feeds;
pub mod first_run;
pub mod html;
pub mod layout;
pub mod mentions;
pub mod post_text;
pub mod search;
pub mod settings_page;
pub mod xml;

use crate::settings::Zone;
use chrono::{DateTime, SecondsFormat, Utc};

/// What every page and feed needs to know about the node.
#[derive(Debug, Clone)]
pub struct Site {
    pub name: String,
    pub bio: String,
    /// The configured absolute URL, always ending in `/`.
    pub url: String,
    /// The path where this request found the node (`""` or `"/notes"`), for in-page links.
    pub base: String,
}

impl Site {
    /// An absolute URL for feeds (readers need absolute links).
    pub fn absolute(&self, path: &str) -> String {
        format!("{}{}", self.url, path.trim_start_matches('/'))
    }

    /// A root-relative link for pages, right wherever the node is mounted.
    pub fn link(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    /// An absolute URL for a redirect's `Location`: the configured URL's
    /// scheme and host (never the request's `Host` header, which the client
    /// chooses), and the path where this request found the node.
    pub fn redirect_target(&self, path: &str) -> String {
        let origin_end = self
            .url
            .find("://")
            .map(|i| i + 3)
            .map(|start| {
                start
                    + self.url[start..]
                        .find('/')
                        .unwrap_or(self.url.len() - start)
            })
            .unwrap_or(0);
        format!("{}{}", &self.url[..origin_end], self.link(path))
    }
}

pub fn datetime(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap_or_default()
}

pub fn rfc3339(unix: i64) -> String {
    datetime(unix).to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn rfc2822(unix: i64) -> String {
    datetime(unix)
        .format("%a, %d %b %Y %H:%M:%S +0000")
        .to_string()
}

/// How a page shows times: in the owner's zone, and relative to `now`
/// ("3 h ago") within the last day when `relative` is set.
///
/// Only the owner's views are relative. A visitor's page is kept (the page
/// cache, published files, a client's 304) until the site changes, and a
/// kept "3 min ago" would go on saying so for days; absolute times in the
/// owner's zone change only with a write, which renews all of those. The
/// owner's views are never kept and their ETag carries the minute
/// (`web::pages`), so their relative times are always current.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: i64,
    pub zone: Zone,
    pub relative: bool,
}

impl Clock {
    /// Absolute times in UTC, as pages without settings to hand show them.
    pub const UTC: Clock = Clock {
        now: 0,
        zone: Zone::UTC,
        relative: false,
    };

    /// The date and time in the owner's zone, with the offset in force at
    /// that instant (a named zone's summer and winter differ):
    /// `14 Nov 2023, 23:13 +01:00`.
    pub fn absolute(&self, unix: i64) -> String {
        let local = datetime(unix).with_timezone(&self.zone.offset_at(unix));
        format!(
            "{} {}",
            local.format("%-d %b %Y, %H:%M"),
            self.zone.label_at(unix)
        )
    }

    /// What a reader sees: `just now`, `N min ago`, `N h ago` within the last
    /// day (relative clocks only), else the absolute time.
    pub fn shown(&self, unix: i64) -> String {
        let ago = self.now - unix;
        if !self.relative || !(0..DAY).contains(&ago) {
            return self.absolute(unix);
        }
        match ago {
            0..60 => "just now".into(),
            60..3600 => format!("{} min ago", ago / 60),
            _ => format!("{} h ago", ago / 3600),
        }
    }
}

const DAY: i64 = 24 * 3600;

/// The reason phrase of an HTTP status: the CGI `Status:` line and error pages' headings.
pub fn status_reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        410 => "Gone",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_in_the_owners_zone_and_relative_within_a_day_for_the_owner() {
        let t = 1_700_000_000; // 14 Nov 2023, 22:13:20 UTC
        let paris = Clock {
            now: t + 3 * 3600 + 59,
            zone: Zone::parse("+01:00").unwrap(),
            relative: false,
        };
        assert_eq!(paris.shown(t), "14 Nov 2023, 23:13 +01:00");
        assert_eq!(Clock::UTC.shown(t), "14 Nov 2023, 22:13 UTC");
        let owner = Clock {
            relative: true,
            ..paris
        };
        assert_eq!(owner.shown(t), "3 h ago");
        assert_eq!(owner.shown(owner.now - 59), "just now");
        assert_eq!(owner.shown(owner.now - 60 * 7 - 5), "7 min ago");
        assert_eq!(owner.shown(owner.now - DAY + 1), "23 h ago");
        assert_eq!(
            owner.shown(owner.now - DAY),
            owner.absolute(owner.now - DAY)
        );
        // A time ahead of the clock (another server's) is never "ago".
        assert_eq!(owner.shown(owner.now + 60), owner.absolute(owner.now + 60));
    }

    /// A named zone shows each time with the offset of its own instant.
    #[test]
    fn a_named_zone_shows_summer_and_winter_times_with_their_offsets() {
        let berlin = Clock {
            zone: Zone::parse("Europe/Berlin").unwrap(),
            ..Clock::UTC
        };
        assert_eq!(berlin.shown(1_700_000_000), "14 Nov 2023, 23:13 +01:00");
        // 1 Jul 2023, 12:00 UTC.
        assert_eq!(berlin.shown(1_688_212_800), "1 Jul 2023, 14:00 +02:00");
    }

    #[test]
    fn redirect_targets_are_absolute_on_the_configured_host() {
        let site = |url: &str, base: &str| Site {
            name: String::new(),
            bio: String::new(),
            url: url.into(),
            base: base.into(),
        };
        let notes = site("https://example.org/notes/", "/notes");
        assert_eq!(
            notes.redirect_target("login"),
            "https://example.org/notes/login"
        );
        assert_eq!(notes.redirect_target(""), "https://example.org/notes/");
        let root = site("http://127.0.0.1:8080/", "");
        assert_eq!(
            root.redirect_target("/#post-3"),
            "http://127.0.0.1:8080/#post-3"
        );
    }
}
