//! The node's settings, declared once: each key's kind, default, check and
//! one-line help (`DECLARED`), `validate` (what `roost config` and the
//! `/settings` page both run on a new value) and `Settings`, the values read
//! once and handed out through typed accessors. Reading and writing the rows
//! is `store::settings`' (SQL only); nothing outside this module compares a
//! setting's text with `"true"`.

use anyhow::{Result, bail};
use rusqlite::Connection;
use std::path::PathBuf;

pub use crate::zone::Zone;

/// What a setting holds, and so how a new value is checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Free text of at most `max` characters; `one_line` refuses newlines,
    /// `required` an empty value.
    Text {
        max: usize,
        one_line: bool,
        required: bool,
    },
    /// `true` or `false`.
    Bool,
    /// The node's absolute http(s) address, stored ending in `/`.
    Url,
    /// Another service's absolute http(s) address, or empty for none.
    ServiceUrl,
    /// Up to [`MAX_URLS`] absolute http(s) addresses, one a line (or
    /// apart by spaces), or empty for none.
    ServiceUrls,
    /// A BCP 47 language tag (`en`, `pt-BR`), or empty for none.
    Language,
    /// A directory this user can write, or empty (`off`) for none.
    Directory,
    /// The NAME in @NAME@host: 1 to 30 of a-z, 0-9 and _.
    Handle,
    /// `UTC`, a fixed offset from it such as `+02:00`, or a zone name the
    /// host's tz database has, such as `Europe/Berlin` (`zone`).
    TimeZone,
    /// One of a fixed list of words.
    Choice(&'static [&'static str]),
    /// A whole number of days, 0 to `max`.
    Days { max: u32 },
    /// A whole number of megabytes (1,000,000 bytes), 1 to `max`.
    Megabytes { max: u64 },
    /// Kept by roost itself, never set by `roost config` or the pages.
    Internal,
}

/// One declared setting.
#[derive(Debug)]
pub struct Declared {
    pub key: &'static str,
    pub kind: Kind,
    /// What an unset key reads as (`handle`'s is derived from `url` instead).
    pub default: &'static str,
    /// One line for `roost config --help`, the README and the pages.
    pub help: &'static str,
}

impl Declared {
    /// Whether `roost config` lists, reads and changes it.
    pub fn public(&self) -> bool {
        self.kind != Kind::Internal
    }
}

/// The retention setting (`retention`).
pub const RETENTION_DAYS: &str = "retention_days";

/// The most addresses a [`Kind::ServiceUrls`] setting takes.
pub const MAX_URLS: usize = 10;

/// Every setting, in the order `roost config` lists them.
pub const DECLARED: &[Declared] = &[
    Declared {
        key: "name",
        kind: Kind::Text {
            max: 100,
            one_line: true,
            required: true,
        },
        default: "",
        help: "the owner's name, shown on every page and in the feeds",
    },
    Declared {
        key: "bio",
        kind: Kind::Text {
            max: 1000,
            one_line: false,
            required: false,
        },
        default: "",
        help: "a few words about the owner, shown on the front page",
    },
    Declared {
        key: "url",
        kind: Kind::Url,
        default: "",
        help: "the address the node is reached at; redirects and feeds use it",
    },
    Declared {
        key: "handle",
        kind: Kind::Handle,
        default: "",
        help: "the NAME in @NAME@host (default: the host's first label, else \"me\")",
    },
    Declared {
        key: "language",
        kind: Kind::Language,
        default: "",
        help: "the language tag the feeds declare, such as en or pt-BR; empty declares none",
    },
    Declared {
        key: "time_zone",
        kind: Kind::TimeZone,
        default: "UTC",
        help: "the zone pages show times in: a name such as Europe/Berlin (summer time included), UTC, or a fixed offset such as +02:00",
    },
    Declared {
        key: "public_timeline",
        kind: Kind::Bool,
        default: "false",
        help: "true: anyone may read /timeline; false: the owner only",
    },
    Declared {
        key: "allow_private_addresses",
        kind: Kind::Bool,
        default: "false",
        help: "true lets polling reach loopback and private networks",
    },
    Declared {
        key: "publish_dir",
        kind: Kind::Directory,
        default: "",
        help: "the directory that holds roost.cgi, to publish the feeds and / as files; empty: off",
    },
    Declared {
        key: "cron_on_page_views",
        kind: Kind::Bool,
        default: "false",
        help: "true, on hosts without cron (degraded): the owner's page views start the due \
               background work after the page is sent, at most every 5 minutes, for at most 25 s",
    },
    Declared {
        key: "trust_forwarded",
        kind: Kind::Bool,
        default: "false",
        help: "true: take https and the client's address from a reverse proxy's X-Forwarded-*",
    },
    Declared {
        key: crate::sanitize::RemoteImages::SETTING,
        kind: Kind::Choice(&["show", "click"]),
        default: "show",
        help: "show: remote images load with the page; click: each is a link, nothing is fetched until you click it",
    },
    Declared {
        key: "websub_hub",
        kind: Kind::ServiceUrl,
        default: "",
        help: "an external WebSub hub to ping after every change, besides the node's own; empty: none",
    },
    Declared {
        key: "also_known_as",
        kind: Kind::ServiceUrls,
        default: "",
        help: "the owner's other fediverse accounts (their actor addresses), named in the actor's alsoKnownAs so that one of them can move its followers here",
    },
    Declared {
        key: crate::webmention::moderation::SETTING,
        kind: Kind::Choice(crate::webmention::moderation::CHOICES),
        default: "unknown",
        help: "webmentions shown: all at once; unknown: new authors wait for your approval; known: approved authors only",
    },
    Declared {
        key: "follow_approval",
        kind: Kind::Choice(&["auto", "manual"]),
        default: "auto",
        help: "auto: a fediverse account that follows you is accepted at once; manual: each waits on /notifications for your approval",
    },
    Declared {
        key: RETENTION_DAYS,
        kind: Kind::Days { max: 36_500 },
        default: "0",
        help: "cron forgets entries from followed feeds older than this many days, except those you replied to; 0 keeps them all",
    },
    Declared {
        key: "moved_to",
        kind: Kind::Internal,
        default: "",
        help: "the fediverse account the owner moved to (`roost move`), named in the actor's movedTo",
    },
    Declared {
        key: "media_max_mb",
        kind: Kind::Megabytes {
            max: crate::media::MAX_UPLOAD_MB,
        },
        default: "10",
        help: "the largest photo taken, in MB (many hosts refuse larger requests than 10)",
    },
    Declared {
        key: "password_hash",
        kind: Kind::Internal,
        default: "",
        help: "the owner's password, hashed (argon2id)",
    },
    Declared {
        key: "id_prefix",
        kind: Kind::Internal,
        default: "",
        help: "the tag: URI every post's id starts with, fixed at init",
    },
    Declared {
        key: "feed_id",
        kind: Kind::Internal,
        default: "",
        help: "the feed's tag: URI, fixed at init",
    },
];

/// The declaration of `key`, public or internal.
pub fn declared(key: &str) -> Option<&'static Declared> {
    DECLARED.iter().find(|d| d.key == key)
}

/// The keys `roost config` knows, in order.
pub fn public_keys() -> impl Iterator<Item = &'static str> {
    DECLARED.iter().filter(|d| d.public()).map(|d| d.key)
}

/// Every public setting and its help, one a line, for `roost config --help`.
pub fn help() -> String {
    let mut text = String::from("Settings:\n");
    for d in DECLARED.iter().filter(|d| d.public()) {
        text.push_str(&format!("  {:<24} {}\n", d.key, d.help));
    }
    text
}

/// Refuses a key that is not a public setting, naming the ones there are.
pub fn check_key(key: &str) -> Result<&'static Declared> {
    match declared(key).filter(|d| d.public()) {
        Some(declared) => Ok(declared),
        None => bail!(
            "there is no setting {key:?}; the settings are {}",
            public_keys().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Checks and normalises a public setting's new value: the value to store,
/// or a message saying what the setting takes.
pub fn validate(key: &str, value: &str) -> Result<String> {
    let declared = check_key(key)?;
    let clean: String = value
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect();
    let clean = clean.trim().to_string();
    match declared.kind {
        Kind::Text {
            max,
            one_line,
            required,
        } => {
            let length = clean.chars().count();
            if required && (clean.is_empty() || length > max || (one_line && clean.contains('\n')))
            {
                bail!("the {key} must be one line of 1 to {max} characters");
            }
            if one_line && clean.contains('\n') {
                bail!("the {key} must be one line");
            }
            if length > max {
                bail!("the {key} is limited to {max} characters");
            }
            Ok(clean)
        }
        Kind::Url => validate_url(&clean),
        Kind::ServiceUrls => {
            let urls: Vec<&str> = clean.split_whitespace().collect();
            if urls.len() > MAX_URLS {
                bail!(
                    "the {key} takes at most {MAX_URLS} addresses, not {}",
                    urls.len()
                );
            }
            for url in &urls {
                crate::net::send::check_url(url).map_err(|e| {
                    anyhow::anyhow!("the {key} takes http or https addresses, one a line: {e:#}")
                })?;
            }
            Ok(urls.join("\n"))
        }
        Kind::ServiceUrl if clean.is_empty() || clean == "off" => Ok(String::new()),
        Kind::ServiceUrl => crate::net::send::check_url(&clean)
            .map(String::from)
            .map_err(|e| anyhow::anyhow!("the {key} must be an http or https address: {e:#}")),
        Kind::Language => {
            // A BCP 47 tag as feeds carry it (`en`, `pt-BR`); empty: none said.
            let well_formed = clean.split('-').enumerate().all(|(i, part)| {
                (1..=8).contains(&part.len())
                    && part.bytes().all(|b| b.is_ascii_alphanumeric())
                    && (i > 0 || part.bytes().all(|b| b.is_ascii_alphabetic()))
            });
            if !clean.is_empty() && !well_formed {
                bail!(
                    "the language is a tag such as en, fr or pt-BR (or empty for none), not {value:?}"
                );
            }
            Ok(clean)
        }
        Kind::Directory => crate::publish::validate_dir(&clean),
        Kind::Bool => match clean.as_str() {
            "true" | "false" => Ok(clean),
            _ => bail!("{key} is true or false, not {value:?}"),
        },
        Kind::Handle => {
            let handle = clean.to_ascii_lowercase();
            if !is_handle(&handle) {
                bail!(
                    "the handle is 1 to 30 of a-z, 0-9 and _ (the NAME in @NAME@host), not {value:?}"
                );
            }
            Ok(handle)
        }
        Kind::TimeZone => Ok(Zone::parse(&clean)?.name()),
        Kind::Days { max } => match clean.parse::<u32>() {
            Ok(days) if days <= max => Ok(days.to_string()),
            _ => bail!(
                "{key} is a whole number of days from 0 (keep everything) to {max}, not {value:?}"
            ),
        },
        Kind::Choice(words) => match words.iter().find(|w| **w == clean) {
            Some(word) => Ok((*word).to_string()),
            None => bail!("{key} is one of {}, not {value:?}", words.join(", ")),
        },
        Kind::Megabytes { max } => match clean.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n.to_string()),
            _ => bail!("{key} is a whole number of megabytes from 1 to {max}, not {value:?}"),
        },
        Kind::Internal => unreachable!("check_key refuses internal settings"),
    }
}

fn validate_url(clean: &str) -> Result<String> {
    let parsed = crate::posts::ReplyTo::parse(clean).map_err(|_| {
        anyhow::anyhow!(
            "the url must be an absolute http:// or https:// address, e.g. https://example.org/notes/"
        )
    })?;
    // Every link in the pages and feeds starts with it: characters a
    // reader could take for markup, or XML cannot carry, are refused.
    if let Some(c) = clean
        .chars()
        .find(|&c| "<>\"'&\\^`{|}".contains(c) || !crate::render::xml::is_xml_char(c))
    {
        let encoded = if c.is_ascii() {
            format!(" as %{:02X}", u32::from(c))
        } else {
            String::new()
        };
        bail!("the url may not contain {c:?}: percent-encode it{encoded}");
    }
    let mut url = parsed
        .as_str()
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_string();
    if !url.ends_with('/') {
        url.push('/');
    }
    Ok(url)
}

fn is_handle(handle: &str) -> bool {
    (1..=30).contains(&handle.len())
        && handle
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The handle a node has before the owner chooses one: the first label of
/// its host (`ann` for https://ann.example/), or `me` when that label is
/// not a handle (an IP address, a long or odd name).
pub fn derived_handle(url: &str) -> String {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    let first = host.split('.').next().unwrap_or("").replace('-', "_");
    let is_ip = host.parse::<std::net::Ipv4Addr>().is_ok() || host.starts_with('[');
    if !is_ip && is_handle(&first) {
        first
    } else {
        "me".into()
    }
}

/// Stores validated values in one write, as `roost config` and the
/// `/settings` page both do: the write republishes (into the new directory,
/// when `publish_dir` changes), then a directory given up has roost's files
/// withdrawn from it.
pub fn save(
    node: &mut crate::node::Node,
    before: &Settings,
    changes: &[(&str, &str)],
) -> Result<()> {
    node.write(|tx| {
        changes
            .iter()
            .try_for_each(|(key, value)| crate::store::settings::set(tx, key, value))
    })?;
    let new_dir = changes
        .iter()
        .find(|(key, _)| *key == crate::publish::SETTING);
    if let (Some(old), Some((_, new))) = (before.publish_dir(), new_dir)
        && old != std::path::Path::new(new)
    {
        crate::publish::withdraw(node.conn, &old)?;
    }
    Ok(())
}

/// Every setting's value, read once (per request, per command), with typed
/// accessors; unset keys read as their declared default.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    values: Vec<(String, String)>,
}

impl Settings {
    pub fn load(conn: &Connection) -> Result<Settings> {
        Ok(Settings {
            values: crate::store::settings::all(conn)?,
        })
    }

    /// The stored text of `key`, or its declared default.
    pub fn raw(&self, key: &str) -> &str {
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .or_else(|| declared(key).map(|d| d.default))
            .unwrap_or("")
    }

    /// What `roost config KEY` shows: the stored value, or what it reads as.
    pub fn shown(&self, key: &str) -> String {
        match key {
            "handle" => self.handle(),
            // A name this host lacks is shown as stored (what it reads as,
            // UTC, is doctor's to say), so the owner sees what to fix.
            "time_zone" => Zone::parse(self.raw(key))
                .map(|zone| zone.name())
                .unwrap_or_else(|_| self.raw(key).to_string()),
            _ => self.raw(key).to_string(),
        }
    }

    fn flag(&self, key: &str) -> bool {
        debug_assert_eq!(declared(key).map(|d| d.kind), Some(Kind::Bool));
        self.raw(key) == "true"
    }

    /// The node's address, always ending in `/`.
    pub fn url(&self) -> String {
        let mut url = self.raw("url").to_string();
        if !url.ends_with('/') {
            url.push('/');
        }
        url
    }

    pub fn name(&self) -> &str {
        self.raw("name")
    }

    /// The largest upload taken, in bytes (`media_max_mb`).
    pub fn media_max_bytes(&self) -> u64 {
        let mb = self.raw("media_max_mb").parse::<u64>().unwrap_or(10);
        mb.clamp(1, crate::media::MAX_UPLOAD_MB) * 1_000_000
    }

    pub fn bio(&self) -> &str {
        self.raw("bio")
    }

    /// The fediverse account the owner moved to (`roost move`), if any.
    pub fn moved_to(&self) -> Option<&str> {
        Some(self.raw("moved_to")).filter(|m| !m.is_empty())
    }

    /// The owner's other fediverse accounts (`also_known_as`).
    pub fn also_known_as(&self) -> Vec<&str> {
        self.raw("also_known_as").split_whitespace().collect()
    }

    /// The NAME in @NAME@host: the chosen one, or one derived from `url`.
    pub fn handle(&self) -> String {
        match self.raw("handle") {
            "" => derived_handle(self.raw("url")),
            handle => handle.to_string(),
        }
    }

    /// The language tag the feeds declare, if any.
    pub fn language(&self) -> Option<&str> {
        Some(self.raw("language")).filter(|l| !l.is_empty())
    }

    /// The owner's zone; a stored value this host cannot read (a zone name
    /// its tz database lacks, after a move) is UTC, which `doctor` reports.
    pub fn time_zone(&self) -> Zone {
        Zone::parse(self.raw("time_zone")).unwrap_or(Zone::UTC)
    }

    /// How followed entries' images show (`remote_images`).
    pub fn remote_images(&self) -> crate::sanitize::RemoteImages {
        crate::sanitize::RemoteImages::from_setting(Some(
            self.raw(crate::sanitize::RemoteImages::SETTING),
        ))
    }

    /// How many days received entries are kept; `None`: for ever.
    pub fn retention_days(&self) -> Option<u32> {
        self.raw(RETENTION_DAYS).parse().ok().filter(|&d| d > 0)
    }

    pub fn public_timeline(&self) -> bool {
        self.flag("public_timeline")
    }

    pub fn allow_private_addresses(&self) -> bool {
        self.flag("allow_private_addresses")
    }

    /// The client the protocols' jobs send with: named after the node,
    /// reaching internal addresses only with `allow_private_addresses`.
    pub fn sender(&self) -> crate::net::send::Sender {
        crate::net::send::Sender {
            node_url: self.url(),
            allow_private: self.allow_private_addresses(),
        }
    }

    /// No cron on this host: the owner's page views run cron's work.
    pub fn cron_on_page_views(&self) -> bool {
        self.flag("cron_on_page_views")
    }

    pub fn trust_forwarded(&self) -> bool {
        self.flag("trust_forwarded")
    }

    /// Where static files are published, when publishing is on.
    pub fn publish_dir(&self) -> Option<PathBuf> {
        Some(self.raw("publish_dir"))
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
    }

    /// The external WebSub hub to ping, when the owner named one.
    pub fn websub_hub(&self) -> Option<String> {
        Some(self.raw("websub_hub"))
            .filter(|h| !h.is_empty())
            .map(str::to_string)
    }

    /// Whether a fediverse follow waits for the owner (`follow_approval = manual`).
    pub fn follows_need_approval(&self) -> bool {
        self.raw("follow_approval") == "manual"
    }

    pub fn password_hash(&self) -> Option<&str> {
        Some(self.raw("password_hash")).filter(|h| !h.is_empty())
    }

    pub fn id_prefix(&self) -> &str {
        self.raw("id_prefix")
    }

    pub fn feed_id(&self) -> Option<&str> {
        Some(self.raw("feed_id")).filter(|f| !f.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_validated() {
        assert_eq!(
            validate("url", "https://a.example/x").unwrap(),
            "https://a.example/x/"
        );
        assert!(validate("url", "ftp://a").is_err());
        // Every link starts with it: nothing a feed reader takes for markup.
        for bad in [
            "https://a.example/&amp;/",
            "https://<b>.example/",
            "https://a.example/\u{ffff}/",
        ] {
            let error = validate("url", bad).unwrap_err().to_string();
            assert!(error.contains("may not contain"), "{bad}: {error}");
        }
        for (language, ok) in [
            ("en", true),
            ("pt-BR", true),
            ("", true),
            ("zh-Hant-TW", true),
        ] {
            assert_eq!(validate("language", language).is_ok(), ok, "{language}");
        }
        for bad in ["english!", "en_GB", "1en", "en-", "<en>", "toolongtag"] {
            assert!(validate("language", bad).is_err(), "{bad}");
        }
        assert!(validate("public_timeline", "yes").is_err());
        assert_eq!(validate("trust_forwarded", " true ").unwrap(), "true");
        assert!(validate("trust_forwarded", "1").is_err());
        assert!(validate("name", "  ").is_err());
        assert!(validate("password_hash", "x").is_err());
    }

    #[test]
    fn every_kind_refuses_what_it_cannot_hold() {
        assert!(validate("name", "two\nlines").is_err());
        assert!(validate("bio", &"x".repeat(1001)).is_err());
        assert_eq!(validate("bio", "two\nlines").unwrap(), "two\nlines");
        assert!(validate("id_prefix", "x").is_err());
        assert_eq!(validate("handle", "Ann_2").unwrap(), "ann_2");
        for bad in ["", "ann-b", "ann b", &"a".repeat(31), "ännie"] {
            assert!(validate("handle", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn time_zones_are_utc_fixed_offsets_or_names_the_host_has() {
        for (typed, stored) in [
            ("UTC", "UTC"),
            ("+02:00", "+02:00"),
            ("-0530", "-05:30"),
            (" Europe/Berlin ", "Europe/Berlin"),
            ("America/New_York", "America/New_York"),
        ] {
            assert_eq!(validate("time_zone", typed).unwrap(), stored, "{typed}");
        }
        for (bad, says) in [
            ("Mars/Olympus", "apt install tzdata"),
            ("../../etc/passwd", "no `..`"),
            ("/etc/passwd", "no `..` or leading /"),
            ("+15:00", "fixed offset"),
            ("2", "fixed offset"),
        ] {
            let error = validate("time_zone", bad).unwrap_err().to_string();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    /// Moved to a host without the zone: pages read UTC, `roost config`
    /// still shows what is stored.
    #[test]
    fn a_zone_the_host_lacks_reads_as_utc_and_shows_as_stored() {
        let moved = Settings {
            values: vec![("time_zone".into(), "Mars/Olympus".into())],
        };
        assert_eq!(moved.time_zone(), Zone::UTC);
        assert_eq!(moved.shown("time_zone"), "Mars/Olympus");
    }

    #[test]
    fn handles_default_to_the_hosts_first_label() {
        assert_eq!(derived_handle("https://ann.example.org/"), "ann");
        assert_eq!(derived_handle("https://my-site.example/"), "my_site");
        assert_eq!(derived_handle("http://127.0.0.1:8080/"), "me");
        assert_eq!(derived_handle("http://[::1]:8080/"), "me");
        assert_eq!(derived_handle(""), "me");
    }

    #[test]
    fn unset_settings_read_as_their_defaults() {
        let settings = Settings::default();
        assert!(!settings.public_timeline());
        assert_eq!(settings.time_zone(), Zone::UTC);
        assert_eq!(settings.language(), None);
        assert_eq!(settings.publish_dir(), None);
        let on = Settings {
            values: vec![("public_timeline".into(), "true".into())],
        };
        assert!(on.public_timeline());
    }

    /// The README's settings paragraph names every setting `roost config` takes.
    #[test]
    fn the_readme_names_every_public_setting() {
        let readme = include_str!("../README.md");
        for key in public_keys() {
            assert!(
                readme.contains(&format!("`{key}`")),
                "README.md does not name the setting `{key}`"
            );
        }
    }
}
