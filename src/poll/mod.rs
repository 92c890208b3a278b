//! Following feeds by polling: fetch (limits, guard, conditional GET), parse
//! (every feed format into one model), sanitize (remote HTML made safe before
//! it is stored).

pub mod fetch;
pub mod parse;
pub mod sanitize;
