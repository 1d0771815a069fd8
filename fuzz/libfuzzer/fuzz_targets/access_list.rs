//! libFuzzer driver of `zkcustoms_fuzz::access_list`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkcustoms_fuzz::access_list(data));
