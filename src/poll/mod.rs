//! Following feeds by polling: fetch (limits, guard, conditional GET), parse
//! (every feed format into one model), sanitize (remote HTML made safe before
//! it is stored), ingest (into the store), schedule (when next), run (cron).

pub mod fetch;
pub mod ingest;
pub mod parse;
pub mod run;
pub mod schedule;
pub mod stream;
