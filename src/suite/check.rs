//! Judging a finished task against a case's expectations, and comparing JSON values: the
//! first difference (for a failing case) and every difference (for `coze-tui diff`).

use serde::Serialize;
use serde_json::{Value, json};

use super::Expect;
use crate::tasks::Task;

/// One expectation a task did not meet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseFailure {
    /// status, error_code, output, contains, matches, path, duration, answers, timeout
    pub kind: String,
    /// A JSON Pointer into the output, where one applies.
    pub path: Option<String>,
    pub expected: Value,
    pub actual: Value,
    pub message: String,
}

impl CaseFailure {
    fn new(kind: &str, path: Option<String>, expected: Value, actual: Value, message: String) -> Self {
        Self { kind: kind.to_string(), path, expected, actual, message }
    }
}

/// Every expectation `task` misses (none: the case passed). A task that ended in the wrong
/// status is judged on that alone: its output would only repeat it.
pub fn check(expect: &Expect, task: &Task) -> Vec<CaseFailure> {
    let mut out = vec![];
    let want = expect.status();
    if task.status != want {
        let why = match (&task.error, &task.interrupt) {
            (Some(e), _) => format!(": {}{}", e.code.map(|c| format!("{c} ")).unwrap_or_default(), e.message),
            (None, Some(i)) => {
                format!(": it asked {:?} and the suite has no answer left", i.question.as_deref().unwrap_or(""))
            }
            _ => String::new(),
        };
        out.push(CaseFailure::new(
            "status",
            None,
            json!(want.as_str()),
            json!(task.status.as_str()),
            format!("expected {}, got {}{why}", want.as_str(), task.status.as_str()),
        ));
        return out;
    }
    if let Some(code) = expect.error_code {
        let got = task.error.as_ref().and_then(|e| e.code);
        if got != Some(code) {
            out.push(CaseFailure::new(
                "error_code",
                None,
                json!(code),
                json!(got),
                format!("expected error code {code}, got {}", got.map_or("none".into(), |c| c.to_string())),
            ));
        }
    }
    let output = task.decoded_output().unwrap_or(Value::Null);
    if let Some(expected) = &expect.output
        && let Some((path, e, a)) = first_difference(expected, &output)
    {
        let message = format!("at {}: expected {}, got {}", shown_path(&path), short(&e), short(&a));
        out.push(CaseFailure::new("output", Some(path), e, a, message));
    }
    let text = crate::app::output_text(output.clone());
    for s in &expect.contains {
        if !text.contains(s.as_str()) {
            out.push(CaseFailure::new(
                "contains",
                None,
                json!(s),
                Value::Null,
                format!("the output does not contain {s:?}"),
            ));
        }
    }
    if let Some(pattern) = &expect.matches {
        // Checked when the suite was read.
        let found = regex::Regex::new(pattern).is_ok_and(|r| r.is_match(&text));
        if !found {
            out.push(CaseFailure::new(
                "matches",
                None,
                json!(pattern),
                Value::Null,
                format!("the output does not match /{pattern}/"),
            ));
        }
    }
    for (path, expected) in &expect.paths {
        let actual = output.pointer(path).cloned();
        if actual.as_ref() != Some(expected) {
            let got = actual.clone().unwrap_or(Value::Null);
            let message = match &actual {
                Some(a) => format!("at {}: expected {}, got {}", shown_path(path), short(expected), short(a)),
                None => {
                    format!("at {}: expected {}, but the output has nothing there", shown_path(path), short(expected))
                }
            };
            out.push(CaseFailure::new("path", Some(path.clone()), expected.clone(), got, message));
        }
    }
    if let Some(max) = expect.max_duration_ms {
        let took = task.elapsed_ms(task.finished_at.unwrap_or(task.updated_at));
        if took > max as i64 {
            out.push(CaseFailure::new(
                "duration",
                None,
                json!(max),
                json!(took),
                format!("took {} ms, more than {max} ms", took),
            ));
        }
    }
    out
}

/// A failure that is not about the output: the case never finished.
pub fn timed_out(after_s: u64) -> CaseFailure {
    CaseFailure::new(
        "timeout",
        None,
        json!(after_s),
        Value::Null,
        format!("no result after {after_s} s (the run goes on in Coze; `coze-tui watch` follows it)"),
    )
}

/// A failure that is not about the output: a question could not be answered.
pub fn unanswered(why: &str) -> CaseFailure {
    CaseFailure::new("answers", None, Value::Null, Value::Null, why.to_string())
}

/// The first place `actual` differs from `expected`: (JSON Pointer, expected, actual); a
/// missing value is `null`.
pub fn first_difference(expected: &Value, actual: &Value) -> Option<(String, Value, Value)> {
    let mut all = vec![];
    differences(expected, actual, String::new(), &mut all, 1);
    all.into_iter().next().map(|c| (c.path, c.a.unwrap_or(Value::Null), c.b.unwrap_or(Value::Null)))
}

/// One difference between two JSON values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub path: String,
    /// add (only in b), remove (only in a), change
    pub op: &'static str,
    pub a: Option<Value>,
    pub b: Option<Value>,
}

/// Every difference from `a` to `b`, in document order.
pub fn changes(a: &Value, b: &Value) -> Vec<Change> {
    let mut all = vec![];
    differences(a, b, String::new(), &mut all, usize::MAX);
    all
}

fn differences(a: &Value, b: &Value, path: String, out: &mut Vec<Change>, limit: usize) {
    if out.len() >= limit || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let p = format!("{path}/{}", escape(k));
                match y.get(k) {
                    Some(vb) => differences(va, vb, p, out, limit),
                    None => out.push(Change { path: p, op: "remove", a: Some(va.clone()), b: None }),
                }
                if out.len() >= limit {
                    return;
                }
            }
            for (k, vb) in y.iter().filter(|(k, _)| !x.contains_key(*k)) {
                if out.len() >= limit {
                    return;
                }
                out.push(Change { path: format!("{path}/{}", escape(k)), op: "add", a: None, b: Some(vb.clone()) });
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                if out.len() >= limit {
                    return;
                }
                let p = format!("{path}/{i}");
                match (x.get(i), y.get(i)) {
                    (Some(va), Some(vb)) => differences(va, vb, p, out, limit),
                    (Some(va), None) => out.push(Change { path: p, op: "remove", a: Some(va.clone()), b: None }),
                    (None, Some(vb)) => out.push(Change { path: p, op: "add", a: None, b: Some(vb.clone()) }),
                    (None, None) => {}
                }
            }
        }
        _ => out.push(Change { path, op: "change", a: Some(a.clone()), b: Some(b.clone()) }),
    }
}

/// How a difference reads, line by line: `('-', …)` only in a, `('+', …)` only in b, `('~',
/// …)` changed, `(' ', …)` context. A changed string of several lines is compared line by
/// line, with two lines of context around each change.
pub fn change_lines(changes: &[Change]) -> Vec<(char, String)> {
    let mut out = vec![];
    for c in changes {
        let path = shown_path(&c.path);
        match (c.op, &c.a, &c.b) {
            ("change", Some(Value::String(x)), Some(Value::String(y))) if x.contains('\n') || y.contains('\n') => {
                out.push(('~', format!("{path}:")));
                // Bounded: a huge text is compared roughly rather than freezing the screen.
                let diff = similar::TextDiff::configure()
                    .timeout(std::time::Duration::from_millis(300))
                    .diff_lines(x.as_str(), y.as_str());
                for (i, group) in diff.grouped_ops(2).iter().enumerate() {
                    if i > 0 {
                        out.push((' ', "    …".into()));
                    }
                    for op in group {
                        for change in diff.iter_changes(op) {
                            let sign = match change.tag() {
                                similar::ChangeTag::Delete => '-',
                                similar::ChangeTag::Insert => '+',
                                similar::ChangeTag::Equal => ' ',
                            };
                            out.push((sign, format!("    {}", change.value().trim_end_matches('\n'))));
                        }
                    }
                }
            }
            ("change", Some(x), Some(y)) => out.push(('~', format!("{path}: {}  →  {}", short(x), short(y)))),
            ("add", _, Some(y)) => out.push(('+', format!("{path}: {}", short(y)))),
            ("remove", Some(x), _) => out.push(('-', format!("{path}: {}", short(x)))),
            _ => {}
        }
    }
    out
}

/// Two tasks compared: the facts side by side, then parameters and output as JSON changes
/// with their lines. Built once, off the UI thread (outputs can be megabytes); `coze-tui diff`
/// and Detail lay it out each their own way.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub ids: (String, String),
    pub names: (String, String),
    /// status, workflow, mode, took, tokens: (label, a, b).
    pub facts: Vec<(&'static str, String, String)>,
    pub parameters: Vec<Change>,
    pub output: Vec<Change>,
    pub parameter_lines: Vec<(char, String)>,
    pub output_lines: Vec<(char, String)>,
}

impl Comparison {
    pub fn of(a: &Task, b: &Task) -> Self {
        let took = |t: &Task| t.finished_at.map_or("-".into(), |f| crate::tasks::human_duration(t.elapsed_ms(f)));
        let tokens = |t: &Task| t.usage.as_ref().and_then(|u| u.token_count).map_or("-".into(), |n| n.to_string());
        let name = |t: &Task| t.name.clone().or(t.workflow_name.clone()).unwrap_or_else(|| t.workflow_id.clone());
        let facts = vec![
            ("status", a.status.as_str().to_string(), b.status.as_str().to_string()),
            ("workflow", a.workflow_id.clone(), b.workflow_id.clone()),
            ("mode", a.mode.as_str().to_string(), b.mode.as_str().to_string()),
            ("took", took(a), took(b)),
            ("tokens", tokens(a), tokens(b)),
        ];
        let parameters = changes(&Value::Object(a.parameters.clone()), &Value::Object(b.parameters.clone()));
        let output = changes(&a.decoded_output().unwrap_or(Value::Null), &b.decoded_output().unwrap_or(Value::Null));
        Self {
            ids: (a.id.clone(), b.id.clone()),
            names: (name(a), name(b)),
            facts,
            parameter_lines: change_lines(&parameters),
            output_lines: change_lines(&output),
            parameters,
            output,
        }
    }

    /// The outputs are the same.
    pub fn equal(&self) -> bool {
        self.output.is_empty()
    }
}

/// "output: equal", "output: 1 difference", "output: 3 differences".
pub fn differences_heading(what: &str, n: usize) -> String {
    match n {
        0 => format!("{what}: equal"),
        1 => format!("{what}: 1 difference"),
        n => format!("{what}: {n} differences"),
    }
}

/// A key as a JSON Pointer segment.
fn escape(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

/// The whole document is the empty pointer: shown as "/" for people.
pub fn shown_path(p: &str) -> &str {
    if p.is_empty() { "(the whole output)" } else { p }
}

/// A value on one line, cut for a table.
pub fn short(v: &Value) -> String {
    crate::text::truncate(&v.to_string(), 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_difference_is_found_with_its_pointer() {
        let e = json!({"city": "杭州", "days": [1, 2], "a/b": {"x~": 1}});
        assert_eq!(first_difference(&e, &e.clone()), None);
        let a = json!({"city": "杭州", "days": [1, 3], "a/b": {"x~": 1}});
        assert_eq!(first_difference(&e, &a), Some(("/days/1".into(), json!(2), json!(3))));
        let a = json!({"city": "杭州", "days": [1, 2], "a/b": {}});
        assert_eq!(first_difference(&e, &a), Some(("/a~1b/x~0".into(), json!(1), Value::Null)));
        assert_eq!(first_difference(&json!("x"), &json!(1)), Some((String::new(), json!("x"), json!(1))));
        let all = changes(&json!({"a": 1, "b": [1]}), &json!({"b": [1, 2], "c": true}));
        let ops: Vec<(&str, &str)> = all.iter().map(|c| (c.path.as_str(), c.op)).collect();
        assert_eq!(ops, [("/a", "remove"), ("/b/1", "add"), ("/c", "add")]);
    }
}
