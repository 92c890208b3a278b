//! Fuzz target `sanitize`: see `roost_fuzz::sanitize` for what it runs and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| roost_fuzz::sanitize(data));
