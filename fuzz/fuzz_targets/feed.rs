//! Fuzz target `feed`: see `roost_fuzz::feed` for what it runs and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| roost_fuzz::feed(data));
