//! libFuzzer driver of `zkcustoms_fuzz::inclusion_proof`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkcustoms_fuzz::inclusion_proof(data));
