//! libFuzzer driver of `zkcustoms_fuzz::envelope_binary`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkcustoms_fuzz::envelope_binary(data));
