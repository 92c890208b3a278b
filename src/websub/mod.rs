//! WebSub (W3C Recommendation, 2018-01-23) both ways: the node is the hub
//! of its own feeds (`hub`: `POST /websub`, verification and distribution
//! from cron), and subscribes to the hubs its followed feeds name
//! (`subscriber`: `GET|POST /websub/callback/ID`). `signature` is the
//! `X-Hub-Signature` HMAC both sides use. Its tables are `store::websub`.

pub mod hub;
pub mod signature;
pub mod subscriber;

/// The lease a subscription gets when the subscriber names none: ten days.
pub const DEFAULT_LEASE_SECONDS: i64 = 10 * 24 * 60 * 60;
/// The longest lease granted: thirty days (a subscriber renews before then).
pub const MAX_LEASE_SECONDS: i64 = 30 * 24 * 60 * 60;
/// The shortest: an hour (shorter leases would have cron renew all day).
pub const MIN_LEASE_SECONDS: i64 = 60 * 60;
/// `hub.secret` must be shorter than this (WebSub 5.1).
pub const MAX_SECRET_BYTES: usize = 200;
/// The largest content distribution a callback takes.
pub const MAX_PUSHED_BYTES: usize = 4 * 1024 * 1024;

/// The hub's own address.
pub fn own_hub(site_url: &str) -> String {
    format!("{site_url}websub")
}

/// The hubs the owner's feeds name: this node's own, and the external one
/// of the `websub_hub` setting when there is one.
pub fn hubs(settings: &crate::settings::Settings) -> Vec<String> {
    let mut hubs = vec![own_hub(&settings.url())];
    hubs.extend(settings.websub_hub());
    hubs
}
