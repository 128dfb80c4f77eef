//! The parameter validator on any editor text against a schema from the input.
#![no_main]
use coze_tui::coze::OrderedParams;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (schema, params) = text.split_once('\u{0}').unwrap_or(("{}", text));
    let schema: OrderedParams = serde_json::from_str(schema).unwrap_or_default();
    let _ = coze_tui::app::params::validate(params, Some(&schema));
    let template = coze_tui::app::params::template(&schema).to_string();
    assert!(coze_tui::app::params::validate(&template, Some(&schema)).blocker().is_none());
});
