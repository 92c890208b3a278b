//! Fuzz target `opml`: see `roost_fuzz::opml` for what it runs and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| roost_fuzz::opml(data));
