//! Webmention (W3C Recommendation, 2017-01-12). Receiving: `receive`
//! (`POST /webmention`, the status URL, the endpoint's advertisement),
//! `verify` (job `webmention.verify`: fetch, link check, `mf2`, sanitize),
//! `moderation` (the setting and the owner's rules), `notifications` (the
//! owner's `/notifications`). Its tables are `store::mentions`.

pub mod mf2;
pub mod moderation;
pub mod notifications;
pub mod receive;
pub mod verify;
