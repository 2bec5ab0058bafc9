#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| weighbridge_fuzz::targets::xgboost_models(data));
