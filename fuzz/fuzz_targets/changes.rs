#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| artifact_monitor_fuzz::changes_feed(data));
