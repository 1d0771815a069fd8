//! libFuzzer driver of `zkcustoms_fuzz::genesis`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkcustoms_fuzz::genesis(data));
