//! roost as a library: everything the binary does, so that fuzz targets and
//! benchmarks can call the same code. `main.rs` only picks the way in.

pub mod activitypub;
pub mod alloc;
pub mod atomic_file;
pub mod build_id;
pub mod cli;
pub mod cron;
pub mod defence_off;
pub mod doctor;
pub mod follows;
pub mod hint;
pub mod home;
pub mod indieauth;
pub mod jobs;
pub mod media;
pub mod memcpy;
pub mod micropub;
pub mod net;
pub mod node;
pub mod opml;
pub mod poll;
pub mod posts;
pub mod publish;
pub mod render;
pub mod sanitize;
pub mod search;
pub mod settings;
pub mod site;
pub mod spool;
pub mod store;
pub mod threads;
pub mod unix_user;
pub mod web;
pub mod webmention;
pub mod websub;
pub mod zone;
