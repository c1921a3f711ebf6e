#![no_main]
// See promptwall_tests::hostile::normalize for what is checked.
libfuzzer_sys::fuzz_target!(
    init: promptwall_tests::hostile::warm_up(),
    |data: &[u8]| promptwall_tests::hostile::normalize(data)
);
