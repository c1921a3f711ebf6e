#![no_main]
// See promptwall_c::fuzzing::calls for what is checked.
libfuzzer_sys::fuzz_target!(
    init: promptwall_c::fuzzing::warm_up(),
    |data: &[u8]| promptwall_c::fuzzing::calls(data)
);
