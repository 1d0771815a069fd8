//! libFuzzer driver of `zkcustoms_fuzz::block`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkcustoms_fuzz::block(data));
