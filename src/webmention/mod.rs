//! Webmention (W3C Recommendation, 2017-01-12). Sending: `discover` (a
//! target's endpoint) and `send` (what a post's change queues, and the cron
//! job that sends). Its table is `store::mentions_sent`.

pub mod discover;
pub mod send;
