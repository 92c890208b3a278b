//! Following feeds by polling: fetch (limits, guard, conditional GET), parse
//! (every feed format into one model), sanitize (remote HTML made safe before
//! it is stored), ingest (into the store), schedule (when next), run (cron).

pub mod fetch;
pub mod ingest;
pub mod run;
pub mod schedule;

// The feed parser and its lexer are their own crate (crates/feed-parse),
// compiled for speed; these paths stay roost's.
pub use roost_feed_parse::{parse, stream};
