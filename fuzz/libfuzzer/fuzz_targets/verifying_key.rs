//! libFuzzer driver of `zkcustoms_fuzz::verifying_key`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkcustoms_fuzz::verifying_key(data));
