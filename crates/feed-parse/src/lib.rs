//! Feeds read from bytes: Atom, RSS 0.9x/1.0/2.0, JSON Feed and twtxt parsed
//! into one model ([`parse`]), and the bounded-memory lexer it reads XML
//! through ([`stream`]). Owns the parsing and its limits only: it knows
//! nothing of roost (no fetching, sanitizing, storing or pages); roost
//! re-exports both modules as `roost::poll::parse` and `roost::poll::stream`.
//!
//! A crate of its own so that it can be compiled for speed (opt-level 3,
//! the parse throughput on the corpus is part of roost's contract) while
//! the rest of the binary is compiled for size (see the release profile in
//! the workspace's Cargo.toml).

pub mod parse;
pub mod stream;
