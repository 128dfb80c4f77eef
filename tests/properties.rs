//! Property tests: the parsers and decoders that read what the network, the config file and
//! the user send never panic on any input, and keep their promises on valid input. Case counts
//! are bounded so `cargo test` stays quick; `fuzz/` runs the same targets without bounds.

use std::path::Path;

use coze_tui::coze::sse::{SseItem, SseParser};
use coze_tui::coze::{MessageEvent, OrderedParams, RunHistory, decode_envelope, decode_output};
use proptest::prelude::*;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

fn config() -> ProptestConfig {
    ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() }
}

/// A JSON value of bounded size and depth.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Items from one SSE stream fed in the given pieces.
fn parse_in_pieces(bytes: &[u8], cuts: &[usize]) -> Vec<SseItem> {
    let mut p = SseParser::new();
    let mut items = vec![];
    let mut at = 0;
    for &cut in cuts {
        let cut = cut.min(bytes.len()).max(at);
        items.extend(p.push(&bytes[at..cut]));
        at = cut;
    }
    items.extend(p.push(&bytes[at..]));
    items.extend(p.finish());
    items
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sse_any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), cuts in prop::collection::vec(0usize..512, 0..6)) {
        let mut cuts = cuts;
        cuts.sort();
        let _ = parse_in_pieces(&bytes, &cuts);
    }

    #[test]
    fn sse_events_are_the_same_however_the_bytes_are_split(
        events in prop::collection::vec(("[A-Za-z]{1,10}", "[^\r\n]{0,40}", any::<bool>()), 1..6),
        line_end in prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
        cuts in prop::collection::vec(0usize..400, 0..8),
    ) {
        let mut text = String::new();
        for (i, (name, data, with_id)) in events.iter().enumerate() {
            if *with_id {
                text.push_str(&format!("id: {i}{line_end}"));
            }
            text.push_str(&format!("event: {name}{line_end}data: {data}{line_end}{line_end}"));
        }
        let whole = parse_in_pieces(text.as_bytes(), &[]);
        let mut cuts = cuts;
        cuts.sort();
        prop_assert_eq!(&parse_in_pieces(text.as_bytes(), &cuts), &whole);
        prop_assert_eq!(whole.len(), events.len());
        for (item, (name, data, _)) in whole.iter().zip(&events) {
            match item {
                SseItem::Event(e) => {
                    prop_assert_eq!(e.event.as_deref(), Some(name.as_str()));
                    prop_assert_eq!(&e.data, data);
                }
                other => prop_assert!(false, "expected an event, got {:?}", other),
            }
        }
    }

    #[test]
    fn envelopes_never_panic(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..256)) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        let _ = decode_envelope(status, &HeaderMap::new(), &body);
    }

    #[test]
    fn an_envelope_is_an_error_exactly_when_its_code_is_not_zero(code in -5i64..5_000, data in json_value()) {
        let body = json!({"code": code, "msg": "m", "data": data}).to_string();
        let decoded = decode_envelope(StatusCode::OK, &HeaderMap::new(), body.as_bytes());
        prop_assert_eq!(decoded.is_ok(), code == 0);
        if let Err(e) = decoded {
            prop_assert_eq!(e.code, Some(code));
        }
    }

    #[test]
    fn models_decode_any_json_without_panicking(v in json_value()) {
        let _ = serde_json::from_value::<RunHistory>(v.clone());
        let _ = serde_json::from_value::<MessageEvent>(v.clone());
        let _ = serde_json::from_value::<OrderedParams>(v.clone());
        let _ = decode_output(&v.to_string());
    }

    #[test]
    fn the_config_parser_never_panics_and_names_the_file(text in "[ -~\n]{0,200}") {
        if let Err(e) = coze_tui::config::parse(&text, Path::new("/x/config.toml")) {
            prop_assert!(e.0.contains("/x/config.toml"), "{}", e.0);
        }
    }

    #[test]
    fn config_numbers_out_of_range_are_refused(timeout in 3601u64..u64::MAX) {
        let text = format!("[profiles.default]\ntimeout = {timeout}\n");
        // TOML integers are i64: larger ones are a parse error, the rest a range error.
        let e = coze_tui::config::parse(&text, Path::new("c.toml")).unwrap_err();
        prop_assert!(e.0.contains("timeout") || e.0.contains("line 2"), "{}", e.0);
    }

    #[test]
    fn the_validator_never_panics_and_passes_its_own_template(
        names in prop::collection::btree_map(
            "[a-z]{1,6}",
            (
                prop_oneof![Just("string"), Just("integer"), Just("number"), Just("boolean"), Just("object"), Just("array")],
                any::<bool>(),
                prop::option::of(prop_oneof![Just(String::new()), Just("3".to_string()), Just("x".to_string()), Just("[1]".to_string()), "[ -~]{0,6}"]),
            ),
            0..6,
        ),
        text in ".{0,80}",
    ) {
        let schema: serde_json::Map<String, Value> = names
            .iter()
            .map(|(n, (kind, required, default))| {
                let mut p = json!({"type": kind, "required": required});
                if let Some(d) = default {
                    p["default_value"] = json!(d);
                }
                (n.clone(), p)
            })
            .collect();
        let schema: OrderedParams = serde_json::from_value(Value::Object(schema)).unwrap();
        let _ = coze_tui::params::validate(&text, Some(&schema));
        let template = coze_tui::params::template(&schema).to_string();
        let checked = coze_tui::params::validate(&template, Some(&schema));
        prop_assert!(checked.blocker().is_none(), "its own template is refused: {:?}", checked.problems);
    }
}
