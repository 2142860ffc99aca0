#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| faxbridge::fuzzing::tiff(data));
