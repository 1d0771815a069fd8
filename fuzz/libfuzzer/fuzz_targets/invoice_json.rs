//! libFuzzer driver of `zkcustoms_fuzz::invoice_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkcustoms_fuzz::invoice_json(data));
