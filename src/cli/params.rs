//! Workflow parameters from `--params JSON`, `--params @file` or `--params -` (stdin).
//! Invalid JSON is caught here, before anything is sent, with its line and column.

use std::io::Read;

use serde_json::{Map, Value};

/// The most parameters read from a file or stdin; more is refused before it fills memory.
pub const MAX_PARAMS_BYTES: u64 = 16 * 1024 * 1024;

/// Reads at most `max` bytes of text from `r`; more is an error naming `origin`.
pub fn read_limited(r: impl Read, max: u64, origin: &str) -> Result<String, String> {
    let mut bytes = vec![];
    r.take(max + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read {origin}: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!("{origin} is larger than {} MiB", max >> 20));
    }
    String::from_utf8(bytes).map_err(|e| format!("{origin} is not UTF-8 text: {e}"))
}

/// Reads and parses the parameters from `--params JSON`, `@FILE` or `-` (`stdin`), up to
/// [`MAX_PARAMS_BYTES`]. `Err` is a message for the user (exit code 2).
pub fn load(arg: Option<&str>, stdin: impl Read) -> Result<Map<String, Value>, String> {
    let (text, origin) = match arg {
        None => return Ok(Map::new()),
        Some("-") => (read_limited(stdin, MAX_PARAMS_BYTES, "parameters on stdin")?, "stdin".to_string()),
        Some(a) if a.starts_with('@') => {
            let path = &a[1..];
            let file = std::fs::File::open(path).map_err(|e| format!("cannot read parameters file {path}: {e}"))?;
            (read_limited(file, MAX_PARAMS_BYTES, &format!("parameters file {path}"))?, path.to_string())
        }
        Some(a) => (a.to_string(), "--params".to_string()),
    };
    parse(&text, &origin)
}

/// Parses a JSON object of parameters; empty text means no parameters.
pub fn parse(text: &str, origin: &str) -> Result<Map<String, Value>, String> {
    // Editors on Windows start UTF-8 files with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
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

/// Checks parameters against a workflow's input schema the way the editor does: missing
/// required inputs and wrong types are `Err` (exit 2, nothing sent), unknown keys come back as
/// warnings. `origin` says where the parameters came from (`--params`, `cases.jsonl:3`).
pub fn check_schema(
    params: &Map<String, Value>,
    schema: Option<&crate::coze::OrderedParams>,
    origin: &str,
) -> Result<Vec<String>, String> {
    use crate::params::{Severity, validate};
    let checked = validate(&Value::Object(params.clone()).to_string(), schema);
    let (errors, warnings): (Vec<_>, Vec<_>) =
        checked.problems.into_iter().partition(|p| p.severity == Severity::Error);
    if errors.is_empty() {
        return Ok(warnings.into_iter().map(|w| format!("{origin}: {}", w.message)).collect());
    }
    let all: Vec<String> = errors.into_iter().map(|e| e.message).collect();
    Err(format!(
        "{origin}: {} (see `coze-tui workflow ID` for the inputs; --no-validate sends it anyway)",
        all.join("; ")
    ))
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
        let no_stdin = std::io::empty();
        assert_eq!(load(Some(&arg), no_stdin).unwrap()["city"], "杭州");
        assert_eq!(load(Some("-"), "{\"x\": true}".as_bytes()).unwrap()["x"], true);
        assert_eq!(load(Some("-"), "\u{feff}{\"bom\": 1}".as_bytes()).unwrap()["bom"], 1, "a BOM is fine");
        assert!(load(Some("@/nonexistent/p.json"), std::io::empty()).unwrap_err().contains("cannot read"));
        assert!(load(None, std::io::empty()).unwrap().is_empty());
        // Endless input is refused at the limit, not read until memory runs out.
        let endless = std::io::repeat(b' ');
        assert!(load(Some("-"), endless).unwrap_err().contains("larger than 16 MiB"));
    }
}
