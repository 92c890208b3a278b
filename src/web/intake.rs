//! A request answered without opening the database: a protocol's intake
//! (`POST /webmention`), whose route row is an `intake!` row. Under CGI
//! opening SQLite is most of a request's cost; an intake checks the request
//! against facts kept beside the page cache (drawn from the database once
//! per generation, so they are as fresh as the pages) and leaves the message
//! in a `spool::Spool` for cron.

use super::http::Request;
use super::page_cache;
use anyhow::Result;
use rusqlite::Connection;
use std::path::Path;

/// What an intake handler is given.
pub struct Intake<'a> {
    pub home: &'a Path,
    pub req: &'a Request,
    pub now: i64,
}

impl Intake<'_> {
    /// The facts called `name`, drawn by `draw` from the database when none
    /// are kept for the current generation, then kept. The generation is
    /// read before the database, as for pages, so kept facts never miss a
    /// commit made before them.
    pub fn facts(&self, name: &str, draw: fn(&Connection) -> Result<String>) -> Result<String> {
        let generation = page_cache::generation(self.home);
        if let Some(generation) = &generation
            && let Some(bytes) = page_cache::lookup_facts(self.home, generation, name)
            && let Ok(text) = String::from_utf8(bytes)
        {
            return Ok(text);
        }
        // Only now is the database opened (or FastCGI's kept one reused).
        let drawn = super::app::with_connection(self.home, |conn| draw(conn))?;
        if let Some(generation) = &generation {
            page_cache::save_facts(self.home, generation, name, drawn.as_bytes());
        }
        Ok(drawn)
    }

    /// The site's address (the `url` setting, ending in `/`), as facts.
    pub fn site_url(&self) -> Result<String> {
        self.facts("site-url", |conn| {
            Ok(crate::settings::Settings::load(conn)?.url())
        })
    }
}
