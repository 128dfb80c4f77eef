//! The config file parser on any text: a config or an error naming the file, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(e) = coze_tui::config::parse(text, std::path::Path::new("fuzz.toml")) {
        assert!(e.0.contains("fuzz.toml"));
    }
});
