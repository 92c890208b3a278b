//! Fuzz target `fastcgi`: see `roost_fuzz::fastcgi` for what it runs and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| roost_fuzz::fastcgi(data));
