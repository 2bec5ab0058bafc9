#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| weighbridge_fuzz::targets::mock_configs(data));
