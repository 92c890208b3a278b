//! Turns data into bytes: HTML pages (maud) and the three feed formats.
//! Does not read requests or the database.

pub mod feeds;
pub mod html;
pub mod layout;

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

pub fn human_date(unix: i64) -> String {
    datetime(unix).format("%-d %b %Y, %H:%M UTC").to_string()
}
