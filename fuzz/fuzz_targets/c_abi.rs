#![no_main]
// See promptwall_c::fuzzing::calls for what is checked.
libfuzzer_sys::fuzz_target!(|data: &[u8]| promptwall_c::fuzzing::calls(data));
