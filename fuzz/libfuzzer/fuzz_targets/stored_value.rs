//! libFuzzer driver of `zkcustoms_fuzz::stored_value`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkcustoms_fuzz::stored_value(data));
