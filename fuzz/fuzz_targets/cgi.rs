//! Fuzz target `cgi`: see `roost_fuzz::cgi` for what it runs and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| roost_fuzz::cgi(data));
