//! libFuzzer driver of `zkcustoms_fuzz::http_signature`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkcustoms_fuzz::http_signature(data));
