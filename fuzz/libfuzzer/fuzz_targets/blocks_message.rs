//! libFuzzer driver of `zkcustoms_fuzz::blocks_message`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkcustoms_fuzz::blocks_message(data));
