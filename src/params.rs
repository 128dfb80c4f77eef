//! Workflow parameters: a JSON template built from the input schema, and validation against it
//! (parse errors with line and column, then schema checks). The dashboard's editor checks as the
//! user types; `run` checks before anything is sent.

use serde_json::{Map, Value};

use crate::coze::{OrderedParams, Parameter};

/// A template for the inputs: required ones first (in the server's order), then the rest;
/// defaults filled in, otherwise an empty value of the declared type.
pub fn template(params: &OrderedParams) -> Value {
    let mut out = Map::new();
    let required = params.iter().filter(|(_, p)| p.required);
    let optional = params.iter().filter(|(_, p)| !p.required);
    for (name, p) in required.chain(optional) {
        out.insert(name.to_string(), example(p));
    }
    Value::Object(out)
}

/// A value for one parameter: its default (parsed per type) or an empty value of its type.
fn example(p: &Parameter) -> Value {
    if let Some(d) = &p.default_value {
        match p.kind.as_str() {
            // A default that does not parse as its type (often "") gives way to an empty value.
            "integer" | "number" | "boolean" | "object" | "array" => {
                if let Some(v) = serde_json::from_str::<Value>(d).ok().filter(|v| type_matches(&p.kind, v)) {
                    return v;
                }
            }
            _ => return Value::String(d.clone()),
        }
    }
    match p.kind.as_str() {
        "integer" | "number" => Value::from(0),
        "boolean" => Value::Bool(false),
        "object" => p.properties.as_ref().map(template).unwrap_or_else(|| Value::Object(Map::new())),
        "array" => Value::Array(vec![]),
        _ => Value::String(String::new()),
    }
}

/// JSON's own types (and `time`, a string); any other declared type is a file kind
/// (`image`, `file`, `doc`, `audio`, …; coze-api.md §14.2).
const VALUE_KINDS: [&str; 7] = ["string", "integer", "number", "boolean", "object", "array", "time"];

/// The file kind an input takes, and whether it takes an array of them.
pub fn file_kind(p: &Parameter) -> Option<(&str, bool)> {
    let is_file = |k: &str| !k.is_empty() && !VALUE_KINDS.contains(&k);
    if is_file(&p.kind) {
        return Some((&p.kind, false));
    }
    let items = p.items.as_deref().filter(|_| p.kind == "array")?;
    is_file(&items.kind).then_some((items.kind.as_str(), true))
}

/// What a file input is given: the JSON *string* `{"file_id":"…"}` (not an object: the
/// mistake behind coze-py #122/#266 and coze-js #161).
pub fn file_value(file_id: &str) -> Value {
    Value::String(serde_json::json!({ "file_id": file_id }).to_string())
}

/// How the inputs of `to` differ from `from`, one short line each: added (`+lang string`),
/// removed (`−style`), retyped (`count string → integer`), or now required or optional.
pub fn schema_changes(from: &OrderedParams, to: &OrderedParams) -> Vec<String> {
    let mut out = vec![];
    for (name, p) in to.iter() {
        match from.get(name) {
            None => out.push(format!("+{name} {}{}", p.kind, if p.required { " required" } else { "" })),
            Some(old) if old.kind != p.kind => out.push(format!("{name} {} → {}", old.kind, p.kind)),
            Some(old) if old.required != p.required => {
                out.push(format!("{name} now {}", if p.required { "required" } else { "optional" }))
            }
            Some(_) => {}
        }
    }
    out.extend(from.iter().filter(|(name, _)| to.get(name).is_none()).map(|(name, _)| format!("−{name}")));
    out
}

/// The template of `schema`, keeping the values of `current` that still fit it (same input,
/// right type): switching versions does not throw away what was typed.
pub fn carry_over(schema: &OrderedParams, current: Option<&Map<String, Value>>) -> Value {
    let mut t = template(schema);
    if let (Value::Object(fresh), Some(current)) = (&mut t, current) {
        for (name, p) in schema.iter() {
            if let Some(v) =
                current.get(name).filter(|v| type_matches(&p.kind, v) && file_problem(p, v, name).is_none())
            {
                fresh.insert(name.to_string(), v.clone());
            }
        }
    }
    t
}

/// Pretty JSON as the editor shows it.
pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Severity {
    /// Blocks the run.
    Error,
    /// Shown, does not block.
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub message: String,
    /// 1-based line the problem is on, when known.
    pub line: Option<usize>,
}

/// The editor's text checked: the parameters when they parse, and every problem found.
#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    pub params: Option<Map<String, Value>>,
    pub problems: Vec<Problem>,
}

impl Validation {
    /// The first problem that blocks the run.
    pub fn blocker(&self) -> Option<&Problem> {
        self.problems.iter().find(|p| p.severity == Severity::Error)
    }

    pub fn is_runnable(&self) -> bool {
        self.params.is_some() && self.blocker().is_none()
    }
}

/// Checks `text` (the editor's content) against `schema` (if known).
pub fn validate(text: &str, schema: Option<&OrderedParams>) -> Validation {
    let value = if text.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        match serde_json::from_str::<Value>(text) {
            Ok(v) => v,
            Err(e) => {
                let msg = e.to_string();
                let msg = msg.rfind(" at line ").map_or(msg.as_str(), |i| &msg[..i]).to_string();
                return Validation {
                    params: None,
                    problems: vec![Problem {
                        severity: Severity::Error,
                        message: format!("invalid JSON at {}:{}: {msg}", e.line(), e.column()),
                        line: Some(e.line()),
                    }],
                };
            }
        }
    };
    let Value::Object(params) = value else {
        return Validation {
            params: None,
            problems: vec![Problem {
                severity: Severity::Error,
                message: "parameters must be a JSON object { … }".into(),
                line: Some(1),
            }],
        };
    };
    let mut problems = vec![];
    if let Some(schema) = schema {
        check(&params, schema, "", text, &mut problems);
    }
    Validation { params: Some(params), problems }
}

fn check(params: &Map<String, Value>, schema: &OrderedParams, prefix: &str, text: &str, out: &mut Vec<Problem>) {
    for (name, p) in schema.iter() {
        let path = format!("{prefix}{name}");
        match params.get(name) {
            // With a default declared, Coze may fill it in: said, not blocked.
            None | Some(Value::Null) if p.required => out.push(Problem {
                severity: if p.default_value.is_some() { Severity::Warning } else { Severity::Error },
                message: match &p.default_value {
                    Some(d) => format!("missing required input \"{path}\" ({}; its default is {d:?})", p.kind),
                    None => format!("missing required input \"{path}\" ({})", p.kind),
                },
                line: None,
            }),
            None | Some(Value::Null) => {}
            Some(v) => {
                if let Some(problem) = file_problem(p, v, &path) {
                    out.push(Problem { severity: Severity::Error, message: problem, line: line_of_key(text, name) });
                } else if !type_matches(&p.kind, v) {
                    out.push(Problem {
                        severity: Severity::Error,
                        message: format!("\"{path}\" should be {}, not {}", article(&p.kind), json_kind(v)),
                        line: line_of_key(text, name),
                    });
                } else if p.required && v.as_str().is_some_and(|s| s.trim().is_empty()) {
                    out.push(Problem {
                        severity: Severity::Warning,
                        message: format!("required input \"{path}\" is empty"),
                        line: line_of_key(text, name),
                    });
                }
                if let (Some(props), Value::Object(inner)) = (&p.properties, v) {
                    check(inner, props, &format!("{path}."), text, out);
                }
            }
        }
    }
    for key in params.keys() {
        if schema.get(key).is_none() {
            out.push(Problem {
                severity: Severity::Warning,
                message: format!("\"{prefix}{key}\" is not an input of this workflow"),
                line: line_of_key(text, key),
            });
        }
    }
}

/// A file input given anything but a URL or a `{"file_id":…}` string (each element, for
/// an array of files).
fn file_problem(p: &Parameter, v: &Value, path: &str) -> Option<String> {
    let (kind, many) = file_kind(p)?;
    let bad = |e: &Value| !e.is_string();
    let wrong = match v {
        Value::Array(items) if many => items.iter().any(bad),
        _ if many => true,
        other => bad(other),
    };
    let shape = r#""{\"file_id\":\"…\"}""#;
    wrong.then(|| match (many, v) {
        (false, Value::Object(_)) => {
            format!("\"{path}\" is a file ({kind}): give it as the string {shape} or a URL, not an object")
        }
        (false, _) => format!("\"{path}\" is a file ({kind}): give it as the string {shape} or a URL"),
        (true, _) => format!("\"{path}\" is a list of files ({kind}): an array of {shape} strings or URLs"),
    })
}

fn type_matches(kind: &str, v: &Value) -> bool {
    match kind {
        "string" | "time" => v.is_string(),
        // 3.0 is an integer too (Python's json writes whole floats so).
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        // Files, images and the like are URLs or {"file_id": …} strings; unknown types pass.
        _ => true,
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal number",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn article(kind: &str) -> String {
    match kind {
        "integer" => "an integer".into(),
        "object" => "an object".into(),
        "array" => "an array".into(),
        k => format!("a {k}"),
    }
}

/// The first line where `"key"` appears as a key, for pointing at a problem.
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    let needle = format!("\"{key}\"");
    text.lines().position(|l| l.trim_start().starts_with(&needle)).map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> OrderedParams {
        serde_json::from_value(json!({
            "units": {"type": "string", "default_value": "metric"},
            "city": {"type": "string", "required": true},
            "days": {"type": "integer", "required": true, "default_value": "3"},
            "detailed": {"type": "boolean", "default_value": "false"},
            "options": {"type": "object", "properties": {"lang": {"type": "string", "default_value": "en"}}},
            "tags": {"type": "array", "items": {"type": "string"}}
        }))
        .unwrap()
    }

    #[test]
    fn template_puts_required_first_and_fills_defaults() {
        let t = template(&schema());
        let keys: Vec<_> = t.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["city", "days", "units", "detailed", "options", "tags"]);
        assert_eq!(
            t,
            json!({"city": "", "days": 3, "units": "metric", "detailed": false, "options": {"lang": "en"}, "tags": []})
        );
        let v = validate(&pretty(&t), Some(&schema()));
        assert!(v.is_runnable(), "{v:?}");
        assert_eq!(v.problems.len(), 1, "the empty required city is a warning");
        assert_eq!(v.problems[0].line, Some(2));
    }

    #[test]
    fn file_inputs_take_file_id_strings_or_urls_never_objects() {
        let s: OrderedParams = serde_json::from_value(json!({
            "photo": {"type": "image", "required": true},
            "docs": {"type": "array", "items": {"type": "file"}},
            "tags": {"type": "array", "items": {"type": "string"}}
        }))
        .unwrap();
        assert_eq!(file_kind(s.get("photo").unwrap()), Some(("image", false)));
        assert_eq!(file_kind(s.get("docs").unwrap()), Some(("file", true)));
        assert_eq!(file_kind(s.get("tags").unwrap()), None);
        assert_eq!(template(&s), json!({"photo": "", "docs": [], "tags": []}));
        let id = file_value("7350");
        assert_eq!(id, json!("{\"file_id\":\"7350\"}"));
        let ok = json!({"photo": id, "docs": [file_value("1"), "https://x/y.pdf"]});
        assert!(validate(&ok.to_string(), Some(&s)).problems.is_empty());
        let v = validate(r#"{"photo": {"file_id": "7350"}, "docs": [{"file_id": "1"}]}"#, Some(&s));
        let msgs: Vec<_> = v.problems.iter().map(|p| p.message.as_str()).collect();
        assert!(msgs[0].contains("\"photo\" is a file (image)") && msgs[0].ends_with("not an object"), "{msgs:?}");
        assert!(msgs[1].contains("\"docs\" is a list of files (file)"), "{msgs:?}");
        assert!(!v.is_runnable());
    }

    #[test]
    fn version_changes_and_carried_values() {
        let old: OrderedParams = serde_json::from_value(json!({
            "text": {"type": "string", "required": true}, "count": {"type": "string"}, "style": {"type": "string"}
        }))
        .unwrap();
        let new: OrderedParams = serde_json::from_value(json!({
            "text": {"type": "string"}, "count": {"type": "integer"}, "lang": {"type": "string", "required": true}
        }))
        .unwrap();
        assert_eq!(
            schema_changes(&old, &new),
            ["text now optional", "count string → integer", "+lang string required", "−style"]
        );
        assert!(schema_changes(&new, &new).is_empty());
        let typed = json!({"text": "hi", "count": "3", "style": "x"});
        assert_eq!(carry_over(&new, typed.as_object()), json!({"lang": "", "text": "hi", "count": 0}));
    }

    #[test]
    fn parse_errors_have_line_and_column_and_block() {
        let v = validate("{\n  \"city\": \"x\",\n  \"days\": 3,\n}", Some(&schema()));
        assert!(!v.is_runnable());
        let p = v.blocker().unwrap();
        assert_eq!(p.line, Some(4));
        assert!(p.message.starts_with("invalid JSON at 4:1"), "{}", p.message);
        assert!(!validate("[1]", None).is_runnable());
        assert!(validate("", None).is_runnable());
    }

    #[test]
    fn schema_problems() {
        let v = validate("{\"days\": \"3\", \"extra\": 1, \"options\": {\"lang\": 5}}", Some(&schema()));
        let msgs: Vec<_> = v.problems.iter().map(|p| (p.severity.clone(), p.message.clone())).collect();
        assert!(msgs.contains(&(Severity::Error, "missing required input \"city\" (string)".into())), "{msgs:?}");
        assert!(msgs.contains(&(Severity::Error, "\"days\" should be an integer, not a string".into())));
        assert!(msgs.contains(&(Severity::Error, "\"options.lang\" should be a string, not a number".into())));
        assert!(msgs.contains(&(Severity::Warning, "\"extra\" is not an input of this workflow".into())));
        assert!(!v.is_runnable());
    }
}
