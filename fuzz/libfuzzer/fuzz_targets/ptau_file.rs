//! libFuzzer driver of `zkcustoms_fuzz::ptau_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkcustoms_fuzz::ptau_file(data));
