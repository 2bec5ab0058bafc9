#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| weighbridge_fuzz::targets::container_requests(data));
