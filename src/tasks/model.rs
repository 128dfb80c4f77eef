//! A task: one run of one workflow with given parameters, and everything learned about it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::coze::{Usage, decode_output};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
    /// Waiting for an answer to a question node.
    Interrupted,
    /// The stream was lost and the run cannot be looked up.
    Unknown,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 6] =
        [Self::Pending, Self::Running, Self::Succeeded, Self::Failed, Self::Interrupted, Self::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Over for good: succeeded, failed or unknown (an interrupted run still waits for its
    /// answer).
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Unknown)
    }

    /// Nothing more will happen to it without the user.
    pub fn is_settled(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }

    /// A symbol that carries the status without colour.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Pending => "◌",
            Self::Running => "▶",
            Self::Succeeded => "✔",
            Self::Failed => "✘",
            Self::Interrupted => "?",
            Self::Unknown => "‽",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// One request that returns the result.
    Sync,
    /// Started in the background, then watched by polling run history.
    Async,
    /// Messages streamed as they are produced.
    Stream,
    /// One turn of a chatflow's conversation (`coze-tui chat`), streamed.
    #[value(skip)]
    Chat,
}

impl RunMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sync => "sync",
            Self::Async => "async",
            Self::Stream => "stream",
            Self::Chat => "chat",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Sync, Self::Async, Self::Stream, Self::Chat].into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskError {
    pub code: Option<i64>,
    pub message: String,
    /// The error class (`ErrorKind::as_str`): decides exit codes; absent for workflow failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl TaskError {
    /// A failure the workflow itself reported.
    pub fn workflow(code: Option<i64>, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), kind: None }
    }

    pub fn from_coze(e: &crate::coze::CozeError) -> Self {
        Self { code: e.code, message: e.message.clone(), kind: Some(e.kind.as_str().to_string()) }
    }
}

/// Answers Coze takes to one question: after the third that the node does not accept, the
/// run fails (coze-api.md, workflow resume).
pub const MAX_ANSWERS: u32 = 3;

/// A pending question of an interrupted run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Interrupt {
    pub question: Option<String>,
    pub event_id: String,
    /// 2 question node, 5 input node (a form: `required_parameters`), others shown raw.
    pub interrupt_type: i64,
    pub node_title: String,
    /// Answers given so far to this question (a new question starts from 0).
    pub answers: u32,
    /// An input node's fields, by name, as an input schema (answered as a JSON object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_parameters: Option<crate::coze::OrderedParams>,
}

impl Interrupt {
    /// An input node asks for a form of fields; everything else is answered with text.
    pub fn is_form(&self) -> bool {
        self.required_parameters.as_ref().is_some_and(|p| !p.0.is_empty())
    }

    /// The form's fields on one line: `city (string, required), days (integer)`.
    pub fn fields_line(&self) -> Option<String> {
        let fields = self.required_parameters.as_ref().filter(|p| !p.is_empty())?;
        let one = |(name, p): (&str, &crate::coze::Parameter)| {
            format!("{name} ({}{})", p.kind, if p.required { ", required" } else { "" })
        };
        Some(fields.iter().map(one).collect::<Vec<_>>().join(", "))
    }

    /// What kind of stop this is, for people.
    pub fn kind_name(&self) -> String {
        match self.interrupt_type {
            2 => "question".into(),
            5 => "input form".into(),
            7 => "plugin sign-in (type 7)".into(),
            n => format!("interrupt type {n}"),
        }
    }
}

/// Where a run runs besides its parameters (DESIGN.md §5 Inputs): a published version, the
/// app or bot it runs in, the conversation of a chatflow turn, and the files it was given.
/// Rerunning a task keeps all of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// A chat turn's message (its reply is the task's output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<AttachedFile>,
}

impl RunContext {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// `app ID` or `bot ID`, when it runs in one.
    pub fn run_in(&self) -> Option<String> {
        match (&self.app_id, &self.bot_id) {
            (Some(id), _) => Some(format!("app {id}")),
            (_, Some(id)) => Some(format!("bot {id}")),
            _ => None,
        }
    }

    /// Labelled lines for a task's detail: version, app, bot, conversation, each file.
    pub fn lines(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![];
        let ids = [
            ("version", &self.version),
            ("app", &self.app_id),
            ("bot", &self.bot_id),
            ("conversation", &self.conversation_id),
        ];
        for (label, v) in ids {
            if let Some(v) = v {
                out.push((label, v.clone()));
            }
        }
        if let Some(m) = &self.message {
            out.push(("message", m.clone()));
        }
        for f in &self.files {
            let input = if f.input.is_empty() { String::new() } else { format!("{} ← ", f.input) };
            out.push(("file", format!("{input}{} ({})", f.name, f.file_id)));
        }
        out
    }

    /// Coze refuses `app_id` with `bot_id` (4000); said before anything is sent.
    pub fn check(&self) -> Result<(), String> {
        match (&self.app_id, &self.bot_id) {
            (Some(_), Some(_)) => {
                Err("a run takes an app id or a bot id, not both (Coze refuses both with 4000)".into())
            }
            _ => Ok(()),
        }
    }
}

/// A file uploaded to Coze and given to a run as one of its inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachedFile {
    /// The file's name (as uploaded).
    pub name: String,
    pub file_id: String,
    /// The input it was given as.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub input: String,
}

/// One streamed message, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskEvent {
    pub seq: u64,
    pub node_title: String,
    pub node_seq_id: Option<i64>,
    pub node_is_finish: bool,
    pub content: String,
    /// Unix milliseconds.
    pub at: i64,
}

/// A status change, for the task's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: TaskStatus,
    pub at: i64,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub profile: String,
    pub workspace_id: Option<String>,
    pub workflow_id: String,
    pub workflow_name: Option<String>,
    pub mode: RunMode,
    /// The mode asked for, when the run had to use another (6003 → stream).
    pub requested_mode: RunMode,
    pub parameters: Map<String, Value>,
    pub status: TaskStatus,
    pub execute_id: Option<String>,
    /// The output as Coze sent it (often JSON inside a string).
    pub output: Option<String>,
    pub error: Option<TaskError>,
    pub logid: Option<String>,
    pub debug_url: Option<String>,
    pub usage: Option<Usage>,
    pub interrupt: Option<Interrupt>,
    /// The last streamed message, for one-line summaries.
    pub last_message: Option<String>,
    pub event_count: u64,
    /// Events not kept because the stream exceeded the cap.
    pub events_dropped: u64,
    pub notes: Vec<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    /// Recorded to be started by whichever process takes it up (a detached batch); a pending
    /// task that is not queued may have been sent by a process that died.
    pub queued: bool,
    /// Other nodes' outputs (message nodes) from run history, by node title.
    pub node_outputs: Option<Map<String, Value>>,
    /// Time spent waiting for answers to the run's questions (not counted in its duration).
    pub waited_ms: i64,
    /// Version, app or bot, conversation and files of the run.
    pub context: RunContext,
    /// The ledger revision this state was written at; 0 for a state not read from the ledger.
    /// Revisions order every write by every process, so the higher one is the newer state.
    pub revision: i64,
}

impl Task {
    /// A new pending task: what it runs, and nothing learned about it yet.
    pub fn pending(id: String, profile: String, workflow_id: String, mode: RunMode, now_ms: i64) -> Self {
        Self {
            id,
            name: None,
            description: None,
            profile,
            workspace_id: None,
            workflow_id,
            workflow_name: None,
            mode,
            requested_mode: mode,
            parameters: Map::new(),
            status: TaskStatus::Pending,
            execute_id: None,
            output: None,
            error: None,
            logid: None,
            debug_url: None,
            usage: None,
            interrupt: None,
            last_message: None,
            event_count: 0,
            events_dropped: 0,
            notes: vec![],
            created_at: now_ms,
            started_at: None,
            updated_at: now_ms,
            finished_at: None,
            queued: false,
            node_outputs: None,
            waited_ms: 0,
            context: RunContext::default(),
            revision: 0,
        }
    }

    /// The output decoded for display: JSON-in-JSON unwrapped, else the text.
    pub fn decoded_output(&self) -> Option<Value> {
        self.output.as_deref().map(decode_output)
    }

    /// The output as one text (a chat turn's reply): a string as it is, else its JSON.
    pub fn output_text(&self) -> Option<String> {
        self.decoded_output().map(|v| match v {
            Value::String(s) => s,
            other => other.to_string(),
        })
    }

    /// The `--json` shape of DESIGN.md §3.
    pub fn to_json(&self) -> Value {
        let ts = |ms: i64| Value::String(rfc3339(ms));
        let mut v = serde_json::json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "workflow_id": self.workflow_id,
            "workflow_name": self.workflow_name,
            "workspace_id": self.workspace_id,
            "profile": self.profile,
            "mode": self.mode,
            "status": self.status,
            "parameters": self.parameters,
            "execute_id": self.execute_id,
            "output": self.decoded_output(),
            "error": self.error,
            "logid": self.logid,
            "debug_url": self.debug_url,
            "usage": self.usage,
            "created_at": ts(self.created_at),
            "updated_at": ts(self.updated_at),
            "finished_at": self.finished_at.map(ts),
            "version": self.context.version,
            "conversation_id": self.context.conversation_id,
            "files": self.context.files,
        });
        let extra = v.as_object_mut().expect("an object");
        for (key, id) in
            [("app_id", &self.context.app_id), ("bot_id", &self.context.bot_id), ("message", &self.context.message)]
        {
            if let Some(id) = id {
                extra.insert(key.into(), serde_json::json!(id));
            }
        }
        if self.requested_mode != self.mode {
            extra.insert("requested_mode".into(), serde_json::json!(self.requested_mode));
        }
        if let Some(i) = &self.interrupt {
            extra.insert("interrupt".into(), serde_json::json!(i));
        }
        if !self.notes.is_empty() {
            extra.insert("notes".into(), serde_json::json!(self.notes));
        }
        if self.waited_ms > 0 {
            extra.insert("waited_ms".into(), serde_json::json!(self.waited_ms));
        }
        if let Some(nodes) = &self.node_outputs {
            let decoded: Map<String, Value> =
                nodes.iter().map(|(k, v)| (k.clone(), crate::coze::decode_nested_json(v))).collect();
            extra.insert("node_outputs".into(), Value::Object(decoded));
        }
        v
    }

    /// How long the run took (see [`TaskSummary::elapsed_ms`]).
    pub fn elapsed_ms(&self, now: i64) -> i64 {
        TaskSummary::from(self).elapsed_ms(now)
    }
}

/// A task as lists show it: everything but the parts that can be large (parameters, output,
/// node outputs, notes), so a list of ten thousand stays small. `has_output` says whether there
/// is an output to load: load the task in full ([`super::Ledger::get`]) to show or copy it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSummary {
    pub id: String,
    pub name: Option<String>,
    pub profile: String,
    pub workflow_id: String,
    pub workflow_name: Option<String>,
    pub mode: RunMode,
    pub status: TaskStatus,
    pub error: Option<TaskError>,
    pub debug_url: Option<String>,
    pub interrupt: Option<Interrupt>,
    pub last_message: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    pub waited_ms: i64,
    pub revision: i64,
    pub has_output: bool,
    /// The output on one line, cut short (see [`output_preview`]).
    pub output_preview: Option<String>,
}

impl From<&Task> for TaskSummary {
    fn from(t: &Task) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            profile: t.profile.clone(),
            workflow_id: t.workflow_id.clone(),
            workflow_name: t.workflow_name.clone(),
            mode: t.mode,
            status: t.status,
            error: t.error.clone(),
            debug_url: t.debug_url.clone(),
            interrupt: t.interrupt.clone(),
            last_message: t.last_message.clone(),
            created_at: t.created_at,
            started_at: t.started_at,
            updated_at: t.updated_at,
            finished_at: t.finished_at,
            waited_ms: t.waited_ms,
            revision: t.revision,
            has_output: t.output.is_some(),
            output_preview: t
                .output
                .as_deref()
                .map(|o| output_preview(&o.chars().take(OUTPUT_START).collect::<String>())),
        }
    }
}

/// Characters of the output a summary's preview is made from (the ledger reads the same with
/// `substr`).
pub const OUTPUT_START: usize = 240;

/// The text of a lone string field from the start of an object cut short
/// (`{"output":"chunk 0: …` → `chunk 0: …`), unescaped; `None` when it is not one.
fn lone_string_start(start: &str) -> Option<String> {
    let rest = start.trim_start().strip_prefix('{')?.trim_start();
    let key_end = rest.strip_prefix('"')?.find('"')? + 1;
    let value = rest[key_end + 1..].trim_start().strip_prefix(':')?.trim_start();
    if !value.starts_with('"') {
        return None;
    }
    // Closed where it was cut; an escape cut in half is dropped.
    (0..8).find_map(|drop| {
        let cut = match drop {
            0 => value,
            d => &value[..value.char_indices().rev().nth(d - 1).map_or(0, |(i, _)| i)],
        };
        serde_json::from_str::<String>(&format!("{cut}\"")).ok().filter(|_| cut.len() > 1)
    })
}

/// The start of an output on one line: a lone string field (`{"output": "…"}`) as its text,
/// other JSON compact, a start cut too short to parse as it is; line breaks as spaces. Made
/// once per summary, not per frame.
pub fn output_preview(start: &str) -> String {
    let text = match serde_json::from_str::<Value>(start) {
        Ok(Value::Object(m)) if m.len() == 1 && m.values().all(Value::is_string) => {
            m.into_iter().next().and_then(|(_, v)| v.as_str().map(str::to_string)).unwrap_or_default()
        }
        Ok(Value::String(s)) => s,
        Ok(v) => v.to_string(),
        Err(_) => lone_string_start(start).unwrap_or_else(|| start.to_string()),
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl TaskSummary {
    /// How long the run took: wall time from start (or creation) to the end, or to `now`
    /// while it goes on, less the time it waited for answers (a question stops the clock
    /// until it is answered).
    pub fn elapsed_ms(&self, now: i64) -> i64 {
        let start = self.started_at.unwrap_or(self.created_at);
        let end = match (self.finished_at, self.status) {
            (Some(f), _) => f,
            (None, TaskStatus::Interrupted) => self.updated_at,
            (None, _) => now,
        };
        (end - start - self.waited_ms).max(0)
    }

    /// The `--json` fields of DESIGN.md §3 a summary has (no parameters, output or node
    /// outputs: it was not loaded with them).
    pub fn to_json(&self) -> Value {
        let ts = |ms: i64| Value::String(rfc3339(ms));
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "workflow_id": self.workflow_id,
            "workflow_name": self.workflow_name,
            "profile": self.profile,
            "mode": self.mode,
            "status": self.status,
            "error": self.error,
            "debug_url": self.debug_url,
            "created_at": ts(self.created_at),
            "updated_at": ts(self.updated_at),
            "finished_at": self.finished_at.map(ts),
        })
    }
}

/// `250ms`, `1.5s`, `2m05s`, `2h05m`.
pub fn human_duration(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        _ if ms < 1000 => format!("{ms}ms"),
        0..60 => format!("{:.1}s", ms as f64 / 1000.0),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// A duration in whole seconds (`0s`, `42s`, `3m04s`, `2h05m`), for clocks that tick once a
/// second.
pub fn whole_seconds(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|t| t.to_string()).unwrap_or_else(|_| ms.to_string())
}

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A short id that sorts by creation time: 9 base-32 digits of milliseconds (good until the
/// year 3084) and 3 random ones. Lowercase Crockford base 32: no i, l, o, u to misread.
pub fn new_task_id(now_ms: i64) -> String {
    let mut out = [0u8; 12];
    let mut t = now_ms.max(0) as u64;
    for slot in out[..9].iter_mut().rev() {
        *slot = ALPHABET[(t % 32) as usize];
        t /= 32;
    }
    let r: u32 = rand::random();
    for (i, slot) in out[9..].iter_mut().enumerate() {
        *slot = ALPHABET[((r >> (5 * i)) % 32) as usize];
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Normalises what a user typed as an id (case, look-alike letters).
pub fn normalise_id(typed: &str) -> String {
    typed
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| match c {
            'i' | 'l' => '1',
            'o' => '0',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_preview_reads_as_text_even_when_cut() {
        assert_eq!(output_preview(r#"{"output": "line one\nline two"}"#), "line one line two");
        assert_eq!(
            output_preview(r#"{"output":"chunk 0: 敏捷的 \"fox\" 🦊 chunk"#),
            r#"chunk 0: 敏捷的 "fox" 🦊 chunk"#
        );
        assert_eq!(output_preview(r#"{"output":"cut in an escape \u65"#), "cut in an escape");
        assert_eq!(output_preview(r#"{"output":"cut after a backslash \"#), "cut after a backslash");
        assert_eq!(output_preview(r#"{"a": 1, "b": [2]}"#), r#"{"a":1,"b":[2]}"#);
        assert_eq!(output_preview(r#"{"a":"x","b":"y"#), r#"{"a":"x","b":"y"#, "two fields cut: as it is");
        assert_eq!(output_preview("plain text"), "plain text");
    }

    #[test]
    fn ids_sort_by_time_and_are_typable() {
        let a = new_task_id(1_764_000_000_000);
        let b = new_task_id(1_764_000_000_001);
        assert_eq!(a.len(), 12);
        assert!(a < b, "{a} < {b}");
        assert!(a.chars().all(|c| ALPHABET.contains(&(c as u8))));
        assert_eq!(normalise_id(" 0O1IL "), "00111");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(250), "250ms");
        assert_eq!(human_duration(1500), "1.5s");
        assert_eq!(human_duration(125_000), "2m05s");
        assert_eq!(human_duration(7_500_000), "2h05m");
    }

    #[test]
    fn statuses_round_trip() {
        for s in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(s.as_str()), Some(s));
        }
        assert!(TaskStatus::Interrupted.is_settled() && !TaskStatus::Running.is_settled());
    }
}
