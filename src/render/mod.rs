//! Turns data into bytes: HTML pages (maud) and the three feed formats (XML
//! through `xml`, the one place it is escaped).
//! Does not read requests or the database.

pub mod const_sha256;
pub mod feeds;
pub mod html;
pub mod layout;
pub mod settings_page;
pub mod xml;

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

pub fn human_date(unix: i64) -> String {
    datetime(unix).format("%-d %b %Y, %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
