//! libFuzzer driver of `zkcustoms_fuzz::page_cursor`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkcustoms_fuzz::page_cursor(data));
