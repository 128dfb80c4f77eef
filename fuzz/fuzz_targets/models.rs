//! The lenient models and the JSON-in-JSON output decoder on any JSON text.
#![no_main]
use coze_tui::coze::{MessageEvent, OrderedParams, RunHistory, decode_output, split_history_output};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = serde_json::from_str::<RunHistory>(text);
    let _ = serde_json::from_str::<MessageEvent>(text);
    let _ = serde_json::from_str::<OrderedParams>(text);
    let _ = decode_output(text);
    let _ = split_history_output(text);
});
