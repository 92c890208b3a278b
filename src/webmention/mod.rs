//! Webmention (W3C Recommendation, 2017-01-12). Sending: `discover` (a
//! target's endpoint) and `send` (what a post's change queues, and the cron
//! job that sends); its table is `store::mentions_sent`. Receiving:
//! `receive` (`POST /webmention`, the status URL, the endpoint's
//! advertisement), `verify` (job `webmention.verify`: fetch, link check,
//! `mf2`, sanitize), `moderation` (the setting and the owner's rules),
//! `notifications` (the owner's `/notifications`); its tables are
//! `store::mentions`.

pub mod discover;
pub mod mf2;
pub mod moderation;
pub mod notifications;
pub mod receive;
pub mod send;
pub mod verify;
