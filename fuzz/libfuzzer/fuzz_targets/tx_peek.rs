//! libFuzzer driver of `zkcustoms_fuzz::tx_peek`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkcustoms_fuzz::tx_peek(data));
