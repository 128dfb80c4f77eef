//! The SSE parser on any bytes, split at a point the input chooses: never a panic, and the same
//! items however the bytes arrive.
#![no_main]
use coze_tui::coze::sse::SseParser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, bytes)) = data.split_first() else { return };
    let cut = (cut as usize).min(bytes.len());
    let mut whole = SseParser::new();
    let mut a = whole.push(bytes);
    a.extend(whole.finish());
    let mut split = SseParser::new();
    let mut b = split.push(&bytes[..cut]);
    b.extend(split.push(&bytes[cut..]));
    b.extend(split.finish());
    assert_eq!(a, b);
});
