//! Workflow test suites: a TOML file of cases (parameters, scripted answers, expectations),
//! checked as one batch. This module reads and checks the file; `check` judges a finished
//! task against a case's expectations; the `test` command runs them.

pub mod check;
pub mod files;
pub mod run;
pub mod update;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};
use toml::Spanned;

use crate::tasks::{RunContext, RunMode, TaskStatus};

/// The most a suite file (or its JSONL cases) may be.
const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// A suite ready to run: every case has a workflow and a mode.
#[derive(Debug, Clone)]
pub struct Suite {
    pub name: String,
    pub path: PathBuf,
    pub concurrency: Option<usize>,
    pub timeout_s: u64,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub name: String,
    pub workflow: String,
    pub mode: RunMode,
    pub params: Map<String, Value>,
    pub answers: Vec<String>,
    pub expect: Expect,
    /// The version, app or bot it runs with.
    pub context: RunContext,
    /// Files for file inputs, uploaded when the suite runs (paths from the suite's folder).
    pub files: Vec<CaseFile>,
    /// Where it is written: `suite.toml:12` or `cases.jsonl:3`.
    pub at: String,
}

/// A file input of a case: `files = { photo = "cat.png", docs = ["a.pdf", "b.pdf"] }`.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFile {
    pub input: String,
    pub paths: Vec<PathBuf>,
    /// Given as a list (the input takes an array of files).
    pub many: bool,
}

/// One file or a list of them, as written.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum FileList {
    One(String),
    Many(Vec<String>),
}

/// What a case runs with besides its parameters, as written (TOML or JSON).
struct Inputs {
    version: Option<String>,
    app_id: Option<String>,
    bot_id: Option<String>,
    files: BTreeMap<String, FileList>,
}

impl Inputs {
    /// The run context and files, the suite's app or bot filling in for the case's.
    fn resolve(self, d: &Defaults) -> Result<(RunContext, Vec<CaseFile>), (String, String)> {
        let id = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let (app_id, bot_id) = match (id(self.app_id), id(self.bot_id)) {
            (None, None) => (d.app_id.clone(), d.bot_id.clone()),
            given => given,
        };
        let context = RunContext { version: self.version, app_id, bot_id, ..RunContext::default() };
        context.check().map_err(|m| ("bot_id".to_string(), m))?;
        let files = self
            .files
            .into_iter()
            .map(|(input, list)| {
                let (names, many) = match list {
                    FileList::One(p) => (vec![p], false),
                    FileList::Many(ps) => (ps, true),
                };
                CaseFile { input, paths: names.into_iter().map(|n| d.dir.join(n)).collect(), many }
            })
            .collect();
        Ok((context, files))
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Expect {
    pub status: Option<TaskStatus>,
    pub output: Option<Value>,
    pub contains: Vec<String>,
    pub matches: Option<String>,
    pub paths: BTreeMap<String, Value>,
    pub error_code: Option<i64>,
    pub max_duration_ms: Option<u64>,
}

impl Expect {
    /// The status a case must end in: as written, else `failed` when an error code is
    /// expected, else `succeeded`.
    pub fn status(&self) -> TaskStatus {
        self.status.unwrap_or(if self.error_code.is_some() { TaskStatus::Failed } else { TaskStatus::Succeeded })
    }
}

/// A problem with a suite file: where (`file:line`), which key, what.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteError {
    pub at: String,
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for SuiteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.at, self.message)
        } else {
            write!(f, "{}: {}: {}", self.at, self.key, self.message)
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSuite {
    name: Option<String>,
    workflow: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
    concurrency: Option<Spanned<i64>>,
    timeout_s: Option<Spanned<i64>>,
    cases: Option<Spanned<String>>,
    /// The app or bot every case runs in (a case may say its own).
    app_id: Option<String>,
    bot_id: Option<Spanned<String>>,
    #[serde(default)]
    case: Vec<Spanned<FileCase>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCase {
    name: Option<Spanned<String>>,
    workflow: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
    #[serde(default)]
    params: Map<String, Value>,
    #[serde(default)]
    answers: Vec<String>,
    expect: Option<Spanned<FileExpect>>,
    // Not flattened from `Inputs`: flattening loses the line of an unknown key.
    version: Option<String>,
    app_id: Option<String>,
    bot_id: Option<String>,
    #[serde(default)]
    files: BTreeMap<String, FileList>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileExpect {
    status: Option<Spanned<String>>,
    output: Option<Value>,
    #[serde(default)]
    contains: Vec<String>,
    matches: Option<Spanned<String>>,
    #[serde(default)]
    paths: BTreeMap<String, Value>,
    error_code: Option<i64>,
    max_duration_ms: Option<Spanned<i64>>,
}

/// Reads a suite file (and the JSONL cases it names). Every problem is `file:line` and key.
pub fn load(path: &Path) -> Result<Suite, SuiteError> {
    let shown = path.display().to_string();
    let text = read(path, &shown)?;
    let line_of = |offset: usize| format!("{shown}:{}", line_at(&text, offset));
    let file: FileSuite = toml::from_str(&text).map_err(|e| {
        let at = e.span().map_or_else(|| format!("{shown}:1"), |s| line_of(s.start));
        SuiteError { at, key: String::new(), message: e.message().trim().to_string() }
    })?;
    let err = |span: std::ops::Range<usize>, key: &str, message: String| SuiteError {
        at: line_of(span.start),
        key: key.to_string(),
        message,
    };
    let name = file.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| {
        path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "suite".into())
    });
    let workflow = match &file.workflow {
        Some(w) => Some(workflow_ref(w.get_ref()).map_err(|m| err(w.span(), "workflow", m))?),
        None => None,
    };
    let mode = match &file.mode {
        Some(m) => parse_mode(m.get_ref()).map_err(|e| err(m.span(), "mode", e))?,
        None => RunMode::Sync,
    };
    let concurrency = match &file.concurrency {
        Some(c) if (1..=64).contains(c.get_ref()) => Some(*c.get_ref() as usize),
        Some(c) => return Err(err(c.span(), "concurrency", format!("{} is not from 1 to 64", c.get_ref()))),
        None => None,
    };
    let timeout_s = match &file.timeout_s {
        Some(t) if (1..=86_400).contains(t.get_ref()) => *t.get_ref() as u64,
        Some(t) => return Err(err(t.span(), "timeout_s", format!("{} is not from 1 to 86400 seconds", t.get_ref()))),
        None => 300,
    };
    if let (Some(_), Some(b)) = (&file.app_id, &file.bot_id) {
        return Err(err(
            b.span(),
            "bot_id",
            "a suite runs in an app or with a bot, not both (Coze refuses both)".into(),
        ));
    }
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let defaults =
        Defaults { workflow, mode, app_id: file.app_id.clone(), bot_id: file.bot_id.map(|b| b.into_inner()), dir };
    let mut cases = vec![];
    for (i, c) in file.case.into_iter().enumerate() {
        let at = line_of(c.span().start);
        cases.push(case_from(c.into_inner(), &defaults, &at, i, &line_of)?);
    }
    if let Some(more) = &file.cases {
        let dir = path.parent().unwrap_or(Path::new("."));
        let jsonl = dir.join(more.get_ref());
        cases.extend(load_jsonl(&jsonl, &defaults, cases.len()).map_err(|e| match e.at.is_empty() {
            true => err(more.span(), "cases", e.message),
            false => e,
        })?);
    }
    if cases.is_empty() {
        return Err(SuiteError {
            at: format!("{shown}:1"),
            key: "case".into(),
            message: "no cases: add [[case]] tables (or `cases = \"file.jsonl\"`)".into(),
        });
    }
    let mut seen = std::collections::HashSet::new();
    for c in &cases {
        if !seen.insert(c.name.as_str()) {
            return Err(SuiteError {
                at: c.at.clone(),
                key: "name".into(),
                message: format!("{:?} is used twice: a case's name is its identity", c.name),
            });
        }
    }
    Ok(Suite { name, path: path.to_path_buf(), concurrency, timeout_s, cases })
}

struct Defaults {
    workflow: Option<String>,
    mode: RunMode,
    app_id: Option<String>,
    bot_id: Option<String>,
    /// The suite file's folder: files are found from there.
    dir: PathBuf,
}

fn case_from(
    c: FileCase,
    d: &Defaults,
    at: &str,
    index: usize,
    line_of: &dyn Fn(usize) -> String,
) -> Result<Case, SuiteError> {
    let err = |span: std::ops::Range<usize>, key: &str, message: String| SuiteError {
        at: line_of(span.start),
        key: format!("case.{key}"),
        message,
    };
    let name = match &c.name {
        Some(n) if !n.get_ref().trim().is_empty() => n.get_ref().trim().to_string(),
        Some(n) => return Err(err(n.span(), "name", "is empty".into())),
        None => format!("case {}", index + 1),
    };
    let workflow = match &c.workflow {
        Some(w) => workflow_ref(w.get_ref()).map_err(|m| err(w.span(), "workflow", m))?,
        None => d.workflow.clone().ok_or_else(|| SuiteError {
            at: at.to_string(),
            key: "case.workflow".into(),
            message: format!("case {name:?} has no workflow: set `workflow` at the top of the file or in the case"),
        })?,
    };
    let mode = match &c.mode {
        Some(m) => parse_mode(m.get_ref()).map_err(|e| err(m.span(), "mode", e))?,
        None => d.mode,
    };
    let expect = match c.expect {
        Some(e) => {
            let span = e.span();
            expect_from(e.into_inner(), &|s, k, m| err(s, &format!("expect.{k}"), m)).map_err(|mut e| {
                if e.at.is_empty() {
                    e.at = line_of(span.start);
                }
                e
            })?
        }
        None => Expect::default(),
    };
    let inputs = Inputs { version: c.version, app_id: c.app_id, bot_id: c.bot_id, files: c.files };
    let (context, files) = inputs.resolve(d).map_err(|(key, message)| SuiteError {
        at: at.to_string(),
        key: format!("case.{key}"),
        message,
    })?;
    Ok(Case { name, workflow, mode, params: c.params, answers: c.answers, expect, context, files, at: at.to_string() })
}

type ErrAt<'a> = &'a dyn Fn(std::ops::Range<usize>, &str, String) -> SuiteError;

fn expect_from(e: FileExpect, err: ErrAt) -> Result<Expect, SuiteError> {
    let status = match &e.status {
        Some(s) => Some(TaskStatus::parse(s.get_ref()).filter(|s| s.is_settled()).ok_or_else(|| {
            err(s.span(), "status", format!("{:?} is not succeeded, failed, interrupted or unknown", s.get_ref()))
        })?),
        None => None,
    };
    if let Some(m) = &e.matches {
        regex::Regex::new(m.get_ref())
            .map_err(|x| err(m.span(), "matches", format!("not a regular expression: {x}")))?;
    }
    for p in e.paths.keys() {
        if !(p.is_empty() || p.starts_with('/')) {
            return Err(SuiteError {
                at: String::new(),
                key: "expect.paths".into(),
                message: format!("{p:?} is not a JSON Pointer: they start with / (\"/forecast/0/city\")"),
            });
        }
    }
    let max_duration_ms = match &e.max_duration_ms {
        Some(m) if *m.get_ref() > 0 => Some(*m.get_ref() as u64),
        Some(m) => return Err(err(m.span(), "max_duration_ms", format!("{} is not above 0", m.get_ref()))),
        None => None,
    };
    Ok(Expect {
        status,
        output: e.output,
        contains: e.contains,
        matches: e.matches.map(|m| m.into_inner()),
        paths: e.paths,
        error_code: e.error_code,
        max_duration_ms,
    })
}

/// A JSONL line's expectations (JSON has no spans to keep).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonExpect {
    status: Option<String>,
    output: Option<Value>,
    #[serde(default)]
    contains: Vec<String>,
    matches: Option<String>,
    #[serde(default)]
    paths: BTreeMap<String, Value>,
    error_code: Option<i64>,
    max_duration_ms: Option<i64>,
}

impl JsonExpect {
    fn into_file(self) -> FileExpect {
        let at = |v| Spanned::new(0..0, v);
        FileExpect {
            status: self.status.map(at),
            output: self.output,
            contains: self.contains,
            matches: self.matches.map(at),
            paths: self.paths,
            error_code: self.error_code,
            max_duration_ms: self.max_duration_ms.map(|m| Spanned::new(0..0, m)),
        }
    }
}

/// One case per non-empty line: `{"name", "params", "expect", "answers", "workflow", "mode"}`.
fn load_jsonl(path: &Path, d: &Defaults, before: usize) -> Result<Vec<Case>, SuiteError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line {
        name: Option<String>,
        workflow: Option<String>,
        mode: Option<String>,
        #[serde(default)]
        params: Map<String, Value>,
        #[serde(default)]
        answers: Vec<String>,
        expect: Option<Value>,
        version: Option<String>,
        app_id: Option<String>,
        bot_id: Option<String>,
        #[serde(default)]
        files: BTreeMap<String, FileList>,
    }
    let shown = path.display().to_string();
    let text = read(path, &shown).map_err(|e| SuiteError {
        at: String::new(),
        message: format!("{shown}: {}", e.message),
        ..e
    })?;
    let mut out = vec![];
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let at = format!("{shown}:{}", i + 1);
        let bad = |key: &str, message: String| SuiteError { at: at.clone(), key: key.to_string(), message };
        let line: Line = serde_json::from_str(raw).map_err(|e| bad("", format!("{e}").replace(" at line 1", " at")))?;
        // The same expectations as in TOML (nulls allowed: this is JSON), checked the same way.
        let expect = match line.expect {
            Some(v) => {
                let e: JsonExpect = serde_json::from_value(v).map_err(|e| bad("expect", e.to_string()))?;
                expect_from(e.into_file(), &|_, k, m| bad(&format!("expect.{k}"), m))?
            }
            None => Expect::default(),
        };
        let workflow = match line.workflow {
            Some(w) => workflow_ref(&w).map_err(|m| bad("workflow", m))?,
            None => d
                .workflow
                .clone()
                .ok_or_else(|| bad("workflow", "no workflow: set it at the top of the suite or on the line".into()))?,
        };
        let mode = match line.mode {
            Some(m) => parse_mode(&m).map_err(|e| bad("mode", e))?,
            None => d.mode,
        };
        let name =
            line.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| format!("case {}", before + out.len() + 1));
        let inputs = Inputs { version: line.version, app_id: line.app_id, bot_id: line.bot_id, files: line.files };
        let (context, files) = inputs.resolve(d).map_err(|(key, m)| bad(&key, m))?;
        out.push(Case { name, workflow, mode, params: line.params, answers: line.answers, expect, context, files, at });
    }
    Ok(out)
}

fn read(path: &Path, shown: &str) -> Result<String, SuiteError> {
    let err = |message: String| SuiteError { at: shown.to_string(), key: String::new(), message };
    let file = std::fs::File::open(path).map_err(|e| err(format!("cannot read it: {e}")))?;
    let text = crate::cli::params::read_limited(file, MAX_BYTES, shown).map_err(err)?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(&text).to_string())
}

/// A workflow id (digits) or a name (resolved against the catalogue when the suite runs).
fn workflow_ref(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() || s.chars().any(char::is_control) {
        return Err("a workflow id (digits) or a workflow name".into());
    }
    Ok(s.to_string())
}

fn parse_mode(s: &str) -> Result<RunMode, String> {
    // A chat turn needs a message and a conversation: chatflows are not run by suites.
    RunMode::parse(s).filter(|m| *m != RunMode::Chat).ok_or_else(|| format!("{s:?} is not sync, async or stream"))
}

/// What a suite file is known by (its runs compared, its verdicts kept): its canonical path.
pub fn key(path: &Path) -> String {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string()
}

/// The 1-based line of a byte offset.
fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

#[cfg(test)]
mod tests;
