//! Suite files on disk for the dashboard: the ones to offer, and a task appended to one as a
//! case.

use std::collections::HashSet;
use std::path::Path;

use crate::tasks::{Ledger, LedgerError};

/// A suite file to offer, with how its last run went.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteFile {
    pub path: String,
    pub last: Option<String>,
}

/// The suite files to offer: `coze-tests/*.toml` under the current directory, then `also`
/// (files cases were saved to), then files this profile ran before; each once (by its
/// canonical path), if it still exists, with how its last run went.
pub fn list(l: &Ledger, profile: &str, also: &[String]) -> Result<Vec<SuiteFile>, LedgerError> {
    let runs: Vec<_> = l.suite_runs(None, 200)?.into_iter().filter(|r| r.profile == profile).collect();
    let mut here: Vec<String> = std::fs::read_dir("coze-tests")
        .map(|dir| {
            dir.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    here.sort();
    let candidates = here.into_iter().chain(also.iter().cloned()).chain(runs.iter().map(|r| r.path.clone()));
    let mut seen = HashSet::new();
    let mut out = vec![];
    for path in candidates {
        let key = super::key(Path::new(&path));
        if !Path::new(&path).exists() || !seen.insert(key.clone()) {
            continue;
        }
        let last = runs
            .iter()
            .find(|r| r.path == key && r.finished_at.is_some())
            .map(|r| format!("{} passed, {} failed · {}", r.passed, r.failed, crate::text::local_time(r.started_at)));
        out.push(SuiteFile { path, last });
    }
    Ok(out)
}

/// Appends a task to a suite file (relative paths from the current directory) as a case: its
/// parameters, the answers it was given (from its history) and its output as the expected
/// output. The file and its folder are made when missing.
pub fn save_case(ledger: &Ledger, task_id: &str, path: &str) -> Result<(String, String), String> {
    let task = ledger.get(task_id).map_err(|e| e.to_string())?;
    let history = ledger.history(task_id).map_err(|e| e.to_string())?;
    // Written as `answered "TEXT" (answer N)` (TEXT as Rust prints it, cut at 80
    // characters); an answer that did not get through is followed by a note saying so.
    let mut cut = false;
    let mut answers: Vec<String> = vec![];
    for note in history.iter().filter_map(|h| h.note.as_deref()) {
        if let Some(quoted) = note.strip_prefix("answered ") {
            let text = quoted.rsplit_once(" (answer ").map_or(quoted, |(t, _)| t);
            // Cut after 200 characters (older notes: 80, inside the quotes).
            let text = match text.strip_suffix('…') {
                Some(t) => {
                    cut = true;
                    t
                }
                None => text,
            };
            cut |= text.ends_with("…\"");
            answers.push(unquote_debug(text).unwrap_or_else(|| text.trim_matches('"').to_string()));
        } else if note.starts_with("the answer was not sent") {
            answers.pop();
        }
    }
    let name = task
        .name
        .clone()
        .unwrap_or_else(|| format!("{} {}", task.workflow_name.as_deref().unwrap_or(&task.workflow_id), task.id));
    let case = super::update::NewCase {
        name,
        workflow_id: task.workflow_id.clone(),
        mode: task.mode.as_str(),
        params: task.parameters.clone(),
        answers,
        output: task.decoded_output(),
    };
    let file = std::path::Path::new(path);
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            format!("# A coze-tui test suite: `coze-tui test {path}` runs it.\n")
        }
        Err(e) => return Err(format!("{path}: {e}")),
    };
    fn has_null(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Null => true,
            serde_json::Value::Array(a) => a.iter().any(has_null),
            serde_json::Value::Object(m) => m.values().any(has_null),
            _ => false,
        }
    }
    let null = case.output.as_ref().is_some_and(has_null);
    let (text, name) = super::update::append_case(&text, case).map_err(|e| format!("{path}: {e}"))?;
    super::update::write_atomic(file, &text).map_err(|e| format!("{path}: {e}"))?;
    let warn = match (cut, null) {
        (true, _) => " (a long answer was cut in the task's history: check it in the file)",
        (_, true) => " (its output holds a null, which TOML cannot write: the case expects success only)",
        _ => "",
    };
    let saved = format!("saved task {task_id} as case {name:?} in {path}{warn}");
    Ok((path.to_string(), saved))
}

/// A string as Rust's `{:?}` prints it (`"a\"b\u{fe0f}"`), read back.
fn unquote_debug(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            '0' => out.push('\0'),
            'u' => {
                let hex: String = chars.by_ref().skip(1).take_while(|c| *c != '}').collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            other => out.push(other),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_back_from_the_history_as_rust_printed_them() {
        for answer in ["杭州", "a \"quoted\" word", "two\nlines", "❤️ and \\ and tab\t", ""] {
            assert_eq!(unquote_debug(&format!("{answer:?}")).as_deref(), Some(answer));
        }
        assert_eq!(unquote_debug("no quotes"), None);
        assert_eq!(unquote_debug("\"bad \\u{zz}\""), None);
    }
}
