//! Workflow parameters from `--params JSON`, `--params @file` or `--params -` (stdin).
//! Invalid JSON is caught here, before anything is sent, with its line and column.

use serde_json::{Map, Value};

/// Reads and parses the parameters. `Err` is a message for the user (exit code 2).
pub fn load(arg: Option<&str>, stdin: impl FnOnce() -> std::io::Result<String>) -> Result<Map<String, Value>, String> {
    let (text, origin) = match arg {
        None => return Ok(Map::new()),
        Some("-") => (stdin().map_err(|e| format!("cannot read parameters from stdin: {e}"))?, "stdin".to_string()),
        Some(a) if a.starts_with('@') => {
            let path = &a[1..];
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read parameters file {path}: {e}"))?;
            (text, path.to_string())
        }
        Some(a) => (a.to_string(), "--params".to_string()),
    };
    parse(&text, &origin)
}

/// Parses a JSON object of parameters; empty text means no parameters.
pub fn parse(text: &str, origin: &str) -> Result<Map<String, Value>, String> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(format!(
            "invalid parameters in {origin}: expected a JSON object like {{\"input\": \"hi\"}}, got {}",
            kind(&other)
        )),
        Err(e) => Err(format!(
            "invalid JSON parameters in {origin} at line {}, column {}: {}",
            e.line(),
            e.column(),
            strip_position(&e.to_string())
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// serde_json appends " at line L column C"; the message already says where.
fn strip_position(msg: &str) -> &str {
    msg.rfind(" at line ").map_or(msg, |i| &msg[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_parse_and_errors_have_line_and_column() {
        assert_eq!(parse("{\"a\": 1}", "x").unwrap()["a"], 1);
        assert!(parse("  ", "x").unwrap().is_empty());
        let e = parse("{\n  \"a\": 1,\n  \"b\": }", "--params").unwrap_err();
        assert!(e.contains("line 3, column 8"), "{e}");
        assert!(!e.contains("at line 3 column"), "position said once: {e}");
        assert!(parse("[1]", "x").unwrap_err().contains("an array"));
    }

    #[test]
    fn files_and_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.json");
        std::fs::write(&f, "{\"city\": \"杭州\"}").unwrap();
        let arg = format!("@{}", f.display());
        assert_eq!(load(Some(&arg), || unreachable!()).unwrap()["city"], "杭州");
        assert_eq!(load(Some("-"), || Ok("{\"x\": true}".into())).unwrap()["x"], true);
        assert!(load(Some("@/nonexistent/p.json"), || unreachable!()).unwrap_err().contains("cannot read"));
        assert!(load(None, || unreachable!()).unwrap().is_empty());
    }
}
