//! libFuzzer driver of `zkcustoms_fuzz::ceremony_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkcustoms_fuzz::ceremony_file(data));
