#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| artifact_monitor_fuzz::config_file(data));
