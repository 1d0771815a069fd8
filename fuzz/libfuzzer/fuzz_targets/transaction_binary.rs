//! libFuzzer driver of `zkcustoms_fuzz::transaction_binary`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkcustoms_fuzz::transaction_binary(data));
