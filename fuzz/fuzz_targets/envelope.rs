//! Coze's response envelope on any body and status: an answer or an error, never a panic.
#![no_main]
use coze_tui::coze::decode_envelope;
use libfuzzer_sys::fuzz_target;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

fuzz_target!(|data: &[u8]| {
    let Some((&s, body)) = data.split_first() else { return };
    let status = StatusCode::from_u16(200 + u16::from(s)).unwrap_or(StatusCode::OK);
    let _ = decode_envelope(status, &HeaderMap::new(), body);
});
