//! `test --update`: actual outputs written into the suite as `expect.output`, editing the
//! TOML in place (comments, order and layout kept) and rewriting JSONL lines.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table};

/// Replaces a file in one step (a new file beside it, then a rename): a crash or a second
/// writer never leaves half a suite. Keeps the file's permissions.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.{:08x}.tmp", std::process::id(), rand::random::<u32>()));
    std::fs::write(&tmp, text)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// The TOML with outputs written in: how many, and what could not be.
pub struct Updated {
    pub text: String,
    pub count: usize,
    pub skipped: Vec<String>,
}

/// Writes `outputs` (by case name) into the `[[case]]` tables of `text`.
pub fn toml_outputs(text: &str, outputs: &HashMap<&str, Value>) -> Result<Updated, String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    let mut count = 0;
    let mut skipped = vec![];
    if doc.get("case").is_some_and(|c| !c.is_array_of_tables()) {
        skipped.push("cases written as `case = [{…}]` are not updated: write them as [[case]] tables".into());
    }
    if let Some(cases) = doc.get_mut("case").and_then(Item::as_array_of_tables_mut) {
        for (i, case) in cases.iter_mut().enumerate() {
            let name = case.get("name").and_then(Item::as_str).map(|n| n.trim().to_string());
            let name = name.filter(|n| !n.is_empty()).unwrap_or_else(|| format!("case {}", i + 1));
            let Some(output) = outputs.get(name.as_str()) else { continue };
            let Some(value) = to_toml(output) else {
                skipped.push(format!("case {name:?}: its output holds a null, which TOML cannot write"));
                continue;
            };
            match case.get_mut("expect") {
                Some(Item::Table(t)) => {
                    t.insert("output", Item::Value(value));
                }
                Some(Item::Value(toml_edit::Value::InlineTable(t))) => {
                    t.insert("output", value);
                }
                Some(_) => {
                    skipped.push(format!("case {name:?}: `expect` is not a table"));
                    continue;
                }
                None => {
                    let mut t = Table::new();
                    t.insert("output", Item::Value(value));
                    case.insert("expect", Item::Table(t));
                }
            }
            count += 1;
        }
    }
    Ok(Updated { text: doc.to_string(), count, skipped })
}

/// The JSONL file a suite names (`cases = "…"`), relative to the suite's folder.
pub fn jsonl_path(text: &str, suite: &Path) -> Option<PathBuf> {
    let doc: DocumentMut = text.parse().ok()?;
    let rel = doc.get("cases")?.as_str()?;
    Some(suite.parent().unwrap_or(Path::new(".")).join(rel))
}

/// Writes `outputs` into the JSONL cases; blank lines and untouched lines stay as they are.
/// Unnamed lines are named as the suite names them (`case N`, counted after the TOML's).
pub fn jsonl_outputs(body: &str, outputs: &HashMap<&str, Value>, suite: &super::Suite, path: &Path) -> (String, usize) {
    let shown = path.display().to_string();
    let mut count = 0;
    let mut out = String::with_capacity(body.len());
    for (i, line) in body.split_inclusive('\n').enumerate() {
        let at = format!("{shown}:{}", i + 1);
        // The suite read this line as a case: its name is known by where it is.
        let name = suite.cases.iter().find(|c| c.at == at).map(|c| c.name.as_str());
        let parsed = serde_json::from_str::<Map<String, Value>>(line.trim());
        match (name.and_then(|n| outputs.get(n)), parsed) {
            (Some(output), Ok(mut obj)) => {
                let expect = obj.entry("expect").or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(e) = expect {
                    e.insert("output".into(), output.clone());
                    count += 1;
                }
                out.push_str(&Value::Object(obj).to_string());
                if line.ends_with('\n') {
                    out.push('\n');
                }
            }
            _ => out.push_str(line),
        }
    }
    (out, count)
}

/// A task to keep as a case: what it ran with, what it was told, what it gave.
pub struct NewCase {
    pub name: String,
    pub workflow_id: String,
    pub mode: &'static str,
    pub params: Map<String, Value>,
    pub answers: Vec<String>,
    pub output: Option<Value>,
}

/// `text` (a suite file, maybe empty) with `case` appended as a `[[case]]` table; its name made
/// unique in the file. Returns the new text and the name used.
pub fn append_case(text: &str, case: NewCase) -> Result<(String, String), String> {
    let doc: DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    let taken: Vec<String> = match doc.get("case") {
        None => vec![],
        Some(Item::ArrayOfTables(cases)) => cases
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let name = c.get("name").and_then(Item::as_str).map(|n| n.trim().to_string());
                name.filter(|n| !n.is_empty()).unwrap_or_else(|| format!("case {}", i + 1))
            })
            .collect(),
        Some(_) => return Err("`case` is not a list of [[case]] tables".into()),
    };
    let mut name = case.name.clone();
    for n in 2.. {
        if !taken.contains(&name) {
            break;
        }
        name = format!("{} ({n})", case.name);
    }
    let mut t = Table::new();
    t.insert("name", toml_edit::value(name.as_str()));
    t.insert("workflow", toml_edit::value(case.workflow_id.as_str()));
    t.insert("mode", toml_edit::value(case.mode));
    let params = to_toml(&Value::Object(case.params)).ok_or("its parameters hold a null, which TOML cannot write")?;
    t.insert("params", Item::Value(params));
    if !case.answers.is_empty() {
        let mut a = Array::new();
        for answer in &case.answers {
            a.push(answer.as_str());
        }
        t.insert("answers", Item::Value(toml_edit::Value::Array(a)));
    }
    let mut expect = Table::new();
    match case.output.as_ref().and_then(to_toml) {
        Some(output) => {
            expect.insert("output", Item::Value(output));
        }
        None => {
            expect.insert("status", toml_edit::value("succeeded"));
        }
    }
    t.insert("expect", Item::Table(expect));
    // Appended as text: what the file holds stays byte for byte.
    let mut one = DocumentMut::new();
    let mut list = toml_edit::ArrayOfTables::new();
    list.push(t);
    one.insert("case", Item::ArrayOfTables(list));
    let sep = match text {
        "" => "",
        t if t.ends_with("\n\n") => "",
        t if t.ends_with('\n') => "\n",
        _ => "\n\n",
    };
    Ok((format!("{text}{sep}{one}"), name))
}

/// A JSON value as TOML (`None` for null, which TOML has not).
fn to_toml(v: &Value) -> Option<toml_edit::Value> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64()?.into(),
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(items) => {
            let mut a = Array::new();
            for item in items {
                a.push(to_toml(item)?);
            }
            toml_edit::Value::Array(a)
        }
        Value::Object(m) => {
            let mut t = InlineTable::new();
            for (k, item) in m {
                t.insert(k, to_toml(item)?);
            }
            toml_edit::Value::InlineTable(t)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_appends_as_a_case_that_reads_back() {
        let new = |name: &str| NewCase {
            name: name.into(),
            workflow_id: "7524966123456700006".into(),
            mode: "stream",
            params: serde_json::json!({"city": "杭州"}).as_object().cloned().unwrap(),
            answers: vec!["杭州".into()],
            output: Some(serde_json::json!({"answer": "杭州"})),
        };
        let (text, name) = append_case("# mine\n", new("asks")).unwrap();
        assert_eq!(name, "asks");
        let (text, second) = append_case(&text, new("asks")).unwrap();
        assert_eq!(second, "asks (2)", "names stay unique in the file");
        assert!(text.starts_with("# mine\n"));
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.toml");
        std::fs::write(&p, &text).unwrap();
        let suite = crate::suite::load(&p).unwrap();
        assert_eq!(suite.cases.len(), 2);
        let c = &suite.cases[1];
        assert_eq!(
            (c.name.as_str(), c.answers.clone(), c.mode),
            ("asks (2)", vec!["杭州".to_string()], crate::tasks::RunMode::Stream)
        );
        assert_eq!(c.expect.output, Some(serde_json::json!({"answer": "杭州"})));
    }

    #[test]
    fn outputs_go_in_and_comments_stay() {
        let text = "# my suite\nworkflow = \"1\"\n\n[[case]]\nname = \"a\" # first\nparams = { x = 1 }\n[case.expect]\ncontains = [\"x\"] # keep\n\n[[case]]\nname = \"b\"\n\n[[case]]\nexpect = { status = \"succeeded\" }\n";
        let outputs: HashMap<&str, Value> = [
            ("a", serde_json::json!({"city": "杭州", "n": [1, 2.5]})),
            ("b", serde_json::json!("text")),
            ("case 3", serde_json::json!({"nothing": null})),
        ]
        .into_iter()
        .collect();
        let u = toml_outputs(text, &outputs).unwrap();
        assert_eq!(u.count, 2);
        assert!(
            u.text.starts_with("# my suite\n") && u.text.contains("# first") && u.text.contains("# keep"),
            "{}",
            u.text
        );
        assert!(u.text.contains("output = { city = \"杭州\", n = [1, 2.5] }"), "{}", u.text);
        assert!(u.text.contains("[case.expect]\noutput = \"text\""), "{}", u.text);
        assert_eq!(u.skipped.len(), 1, "a null cannot be written");
        // Read back: the outputs are expectations now.
        let again = toml_outputs(&u.text, &outputs).unwrap();
        assert_eq!(again.text, u.text, "writing the same outputs twice changes nothing");
    }
}
