//! libFuzzer driver of `zkcustoms_fuzz::node_config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkcustoms_fuzz::node_config(data));
