#![no_main]
// See promptwall_tests::hostile::policy for what is checked.
libfuzzer_sys::fuzz_target!(|data: &[u8]| promptwall_tests::hostile::policy(data));
