//! The Detail pane: a task (header, output, node outputs, status history, streamed messages)
//! or the open workflow (its input and output schema), laid out as lines, with scrolling and
//! following.

use std::sync::Arc;

use serde_json::Value;
use unicode_width::UnicodeWidthStr;

use super::{App, Command, Editor, Pane};
use crate::app::keymap::{Action, Context, Keymap};
use crate::coze::decode_output;
use crate::params;
use crate::tasks::{StatusChange, Task, TaskEvent, TaskStatus, TaskUpdate};
use crate::text::Clock;

/// Detail lines kept for one output; beyond this, the rest is a key (y) away.
const MAX_OUTPUT_LINES: usize = 5_000;
/// Streamed messages kept in the detail pane (the ledger keeps them all).
const MAX_EVENT_LINES: usize = 20_000;

/// How a detail line should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Heading,
    Field,
    /// A field whose value is this moment (unix ms), written when drawn: "… (3 min ago)".
    Moment(i64),
    Text,
    Error,
    Question,
    Node,
    Dim,
    /// In a comparison: only in the second task.
    Added,
    /// In a comparison: only in the first task.
    Removed,
}

/// What the detail pane shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    None,
    Workflow,
    Task(String),
    /// Two tasks compared: the marked one, and the other.
    Diff(String, String),
}

pub struct Detail {
    pub subject: Subject,
    /// The subject task in full, once loaded (the task list has summaries).
    pub task: Option<Arc<Task>>,
    /// The header and output, rebuilt when the subject changes.
    pub lines: Vec<(LineKind, String)>,
    /// Streamed messages, appended as they arrive.
    pub event_lines: Vec<(LineKind, String)>,
    last_node: Option<String>,
    /// The last message shown, so snapshots and live messages never repeat or drop one.
    last_seq: Option<u64>,
    /// Live messages since the subject was opened, replayed after the stored ones arrive
    /// (they can come first: a message is announced as soon as it is stored).
    live: Vec<TaskEvent>,
    /// The top line shown (when not following).
    pub scroll: usize,
    /// Stay at the end as messages arrive.
    pub follow: bool,
    history: Vec<StatusChange>,
    node_outputs: Option<Result<Vec<(String, String)>, String>>,
    /// Each node that streamed, in the order it first spoke.
    nodes: Vec<NodeSpan>,
    /// The comparison shown (subject `Diff`).
    diff: Vec<(LineKind, String)>,
}

/// When a node streamed and how much: the timeline's row for it.
#[derive(Debug, Clone, PartialEq)]
struct NodeSpan {
    title: String,
    first_at: i64,
    last_at: i64,
    bytes: usize,
    messages: usize,
    finished: bool,
}

impl Default for Detail {
    fn default() -> Self {
        Self {
            subject: Subject::None,
            task: None,
            lines: vec![],
            event_lines: vec![],
            last_node: None,
            last_seq: None,
            live: vec![],
            scroll: 0,
            follow: true,
            history: vec![],
            node_outputs: None,
            nodes: vec![],
            diff: vec![],
        }
    }
}

impl Detail {
    pub fn len(&self) -> usize {
        self.lines.len() + self.event_lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn line(&self, i: usize) -> Option<&(LineKind, String)> {
        self.lines.get(i).or_else(|| self.event_lines.get(i.checked_sub(self.lines.len())?))
    }

    /// Whether the view sticks to the end (a task being followed).
    pub fn following(&self) -> bool {
        self.follow && matches!(self.subject, Subject::Task(_))
    }

    fn open(&mut self, subject: Subject, follow: bool) {
        *self = Self { subject, follow, ..Self::default() };
    }

    /// Scrolls by `delta` lines in a view of `rows` lines. Following shows the end, so
    /// scrolling starts there; scrolling down to the end follows again.
    fn scroll_by(&mut self, delta: isize, rows: usize) {
        let last_top = self.len().saturating_sub(rows.max(1));
        if self.follow {
            self.scroll = last_top;
        }
        self.scroll = (self.scroll as isize).saturating_add(delta).clamp(0, last_top as isize) as usize;
        self.follow = delta > 0 && self.scroll >= last_top;
    }

    /// The stored messages, then any live ones that came after them.
    fn stored(&mut self, events: &[TaskEvent], history: Vec<StatusChange>) {
        self.history = history;
        self.event_lines.clear();
        self.nodes.clear();
        self.last_node = None;
        self.last_seq = None;
        let live = std::mem::take(&mut self.live);
        for e in events.iter().chain(live.iter()) {
            self.push_event(e);
        }
        self.live = live;
    }

    fn live_event(&mut self, e: &TaskEvent) {
        self.push_event(e);
        if self.live.len() < MAX_EVENT_LINES {
            self.live.push(e.clone());
        }
    }

    fn push_event(&mut self, e: &TaskEvent) {
        if self.last_seq.is_some_and(|s| e.seq <= s) {
            return;
        }
        self.last_seq = Some(e.seq);
        // The timeline counts every message, also past the lines kept.
        let title = if e.node_title.is_empty() { "(end)" } else { e.node_title.as_str() };
        match self.nodes.iter_mut().find(|n| n.title == title) {
            Some(n) => {
                n.last_at = n.last_at.max(e.at);
                n.bytes += e.content.len();
                n.messages += 1;
                n.finished |= e.node_is_finish;
            }
            None => self.nodes.push(NodeSpan {
                title: title.to_string(),
                first_at: e.at,
                last_at: e.at,
                bytes: e.content.len(),
                messages: 1,
                finished: e.node_is_finish,
            }),
        }
        if self.event_lines.len() >= MAX_EVENT_LINES {
            return;
        }
        if self.event_lines.is_empty() {
            self.event_lines.push((LineKind::Heading, "messages".into()));
        }
        if self.last_node.as_deref() != Some(e.node_title.as_str()) {
            let title = if e.node_title.is_empty() { "(end)".to_string() } else { e.node_title.clone() };
            self.event_lines.push((LineKind::Node, format!("▸ {title}")));
            self.last_node = Some(e.node_title.clone());
        }
        for line in e.content.lines().take(200) {
            self.event_lines.push((LineKind::Text, format!("  {line}")));
        }
    }

    /// What the view is in: the nearest node line at or above its top line (its index among
    /// all lines) and the section heading above that, or just the section.
    pub(super) fn section_at_top(&self, rows: usize) -> Option<(Option<usize>, String)> {
        let top = if self.following() { self.len().saturating_sub(rows) } else { self.scroll };
        let mut node = None;
        for i in (0..=top.min(self.len().saturating_sub(1))).rev() {
            match self.line(i)? {
                (LineKind::Node, _) if node.is_none() => node = Some(i),
                (LineKind::Heading, h) => return Some((node, h.clone())),
                _ => {}
            }
        }
        None
    }

    /// The text under the node line at `at`: its messages (under "messages", as shown: a
    /// message's first 200 lines) or its output (under "node outputs", whole).
    pub(super) fn node_text(&self, at: usize, section: &str) -> Option<(String, String)> {
        let (_, line) = self.line(at)?;
        let title = line.strip_prefix("▸ ")?.to_string();
        if section == "node outputs" {
            let outputs = self.node_outputs.as_ref()?.as_ref().ok()?;
            // Shown as "title (size)"; the same title twice is told apart by its place.
            let nth =
                (0..at).filter(|i| self.line(*i).is_some_and(|(k, t)| *k == LineKind::Node && *t == *line)).count();
            let name = title.rsplit_once(" (").map_or(title.as_str(), |(t, _)| t);
            let text = outputs.iter().filter(|(t, _)| t == name).nth(nth).map(|(_, text)| text.clone())?;
            return Some((name.to_string(), text));
        }
        let body: Vec<&str> = (at + 1..self.len())
            .map_while(|i| self.line(i).filter(|(k, _)| *k == LineKind::Text))
            .map(|(_, t)| t.strip_prefix("  ").unwrap_or(t))
            .collect();
        Some((title, body.join("\n")))
    }

    /// Lays the subject out again.
    fn rebuild(&mut self, editor: &Editor, clock: &Clock, keymap: &Keymap) {
        let task = self.task.clone();
        let lines = match (&self.subject, task.as_deref()) {
            (Subject::None, _) => vec![(LineKind::Dim, "Open a task or a workflow to see it here.".to_string())],
            (Subject::Workflow, _) => workflow_lines(editor, keymap),
            (Subject::Diff(..), _) => self.diff.clone(),
            (Subject::Task(_), Some(t)) => self.task_lines(t, clock, keymap),
            (Subject::Task(id), None) => vec![(LineKind::Dim, format!("task {id} is loading…"))],
        };
        self.lines = lines;
        self.scroll = self.scroll.min(self.len().saturating_sub(1));
    }

    /// A task, results first: status, error, question and output, then where it came from
    /// (ids, times, parameters), node outputs and history; streamed messages follow.
    fn task_lines(&self, t: &Task, clock: &Clock, keymap: &Keymap) -> Vec<(LineKind, String)> {
        let mut out = vec![];
        let title = t.name.clone().unwrap_or_else(|| t.workflow_name.clone().unwrap_or_else(|| t.workflow_id.clone()));
        out.push((LineKind::Heading, format!("{} {} · {}", t.status.symbol(), t.status.as_str(), title)));
        if let Some(e) = &t.error {
            let code = e.code.map(|c| format!("{c}: ")).unwrap_or_default();
            out.push((LineKind::Error, format!("error      {code}{}", e.message)));
        }
        if t.status == TaskStatus::Interrupted
            && let Some(i) = &t.interrupt
        {
            let label = if i.is_form() { "form" } else { "question" };
            out.push((LineKind::Question, format!("{label:<11}{}", i.question.as_deref().unwrap_or("(none given)"))));
            if let Some(fields) = i.fields_line() {
                out.push((LineKind::Question, format!("fields     {fields}")));
            } else if i.interrupt_type != 2 {
                out.push((LineKind::Question, format!("kind       {} (answered as text)", i.kind_name())));
            }
            let answer = keymap.hint(Context::Detail, Action::Answer, "answers").unwrap_or_default();
            let used = format!("{} of {} answers used", i.answers, crate::tasks::MAX_ANSWERS);
            out.push((LineKind::Dim, format!("           {answer} ({used})")));
        }
        if let Some(output) = t.output.as_deref() {
            out.push((LineKind::Heading, "output".into()));
            let lines = output_lines(decode_output(output));
            let total = lines.len();
            out.extend(lines.into_iter().take(MAX_OUTPUT_LINES).map(|l| (LineKind::Text, l)));
            if total > MAX_OUTPUT_LINES {
                out.push((
                    LineKind::Dim,
                    match keymap.hint(Context::Detail, Action::Copy, "copies the whole output") {
                        Some(copy) => format!("… {} more lines: {copy}", total - MAX_OUTPUT_LINES),
                        None => format!("… {} more lines", total - MAX_OUTPUT_LINES),
                    },
                ));
            }
        }
        out.push((LineKind::Heading, "run".into()));
        let field = |k: &str, v: String| (LineKind::Field, format!("{k:<11}{v}"));
        out.push(field("task", t.id.clone()));
        out.push(field("workflow", format!("{} ({})", t.workflow_name.as_deref().unwrap_or("?"), t.workflow_id)));
        let mode = if t.mode != t.requested_mode {
            format!("{} (asked {})", t.mode.as_str(), t.requested_mode.as_str())
        } else {
            t.mode.as_str().into()
        };
        out.push(field("mode", mode));
        for (label, line) in t.context.lines() {
            out.push(field(label, line));
        }
        if let Some(d) = &t.description {
            out.push(field("about", d.clone()));
        }
        let moment = |k: &str, ms: i64| (LineKind::Moment(ms), format!("{k:<11}"));
        out.push(moment("created", t.created_at));
        if let Some(f) = t.finished_at {
            out.push(moment("finished", f));
            let waited = match t.waited_ms {
                0 => String::new(),
                w => format!(" (and {} waiting for answers)", crate::tasks::human_duration(w)),
            };
            out.push(field("took", format!("{}{waited}", crate::tasks::human_duration(t.elapsed_ms(f)))));
        }
        if let Some(e) = &t.execute_id {
            out.push(field("execute id", e.clone()));
        }
        if let Some(l) = &t.logid {
            out.push(field("logid", l.clone()));
        }
        if let Some(u) = &t.debug_url {
            out.push(field("debug url", u.clone()));
        }
        if let Some(u) = &t.usage {
            out.push(field("usage", format!("{} tokens", u.token_count.unwrap_or(0))));
        }
        // One row per node that streamed: when it started (from the run's start), how long it
        // spoke, how much it said.
        if !self.nodes.is_empty() {
            out.push((LineKind::Heading, "nodes".into()));
            let start = t.started_at.unwrap_or(t.created_at);
            let width = self.nodes.iter().map(|n| n.title.width()).max().unwrap_or(0).min(28);
            for n in &self.nodes {
                let at = crate::tasks::human_duration((n.first_at - start).max(0));
                let took = crate::tasks::human_duration(n.last_at - n.first_at);
                let size = crate::text::human_bytes(n.bytes);
                let done = if n.finished { "" } else { "  (not finished)" };
                let title = crate::text::pad(&crate::text::truncate(&n.title, width), width);
                let msgs = if n.messages == 1 { "message" } else { "messages" };
                out.push((
                    LineKind::Field,
                    format!("{title}  +{at:<7} {took:>7}  {size:>9}  {} {msgs}{done}", n.messages),
                ));
            }
        }
        for n in &t.notes {
            out.push((LineKind::Dim, format!("note       {n}")));
        }
        out.push((LineKind::Heading, "parameters".into()));
        for l in params::pretty(&Value::Object(t.parameters.clone())).lines() {
            out.push((LineKind::Text, l.to_string()));
        }
        match &self.node_outputs {
            Some(Ok(nodes)) if nodes.is_empty() => out.push((LineKind::Dim, "no node outputs recorded".into())),
            Some(Ok(nodes)) => {
                out.push((LineKind::Heading, "node outputs".into()));
                for (title, text) in nodes {
                    out.push((LineKind::Node, format!("▸ {title} ({})", crate::text::human_bytes(text.len()))));
                    for l in text.lines().take(200) {
                        out.push((LineKind::Text, format!("  {l}")));
                    }
                }
            }
            Some(Err(e)) => out.push((LineKind::Error, format!("node outputs: {e}"))),
            None => {}
        }
        if !self.history.is_empty() {
            out.push((LineKind::Heading, "history".into()));
            for h in &self.history {
                let note = h.note.as_deref().map(|n| format!("  {n}")).unwrap_or_default();
                out.push((LineKind::Dim, format!("{}  {}{note}", clock.time(h.at), h.status.as_str())));
            }
        }
        out
    }
}

/// An output as lines to read: text as its lines; an object whose values hold multi-line text
/// (the usual `{"output": "…"}`) as each key followed by that text's lines, not one escaped
/// line; anything else pretty-printed.
pub(super) fn output_lines(v: Value) -> Vec<String> {
    match v {
        Value::String(s) => s.lines().map(str::to_string).collect(),
        Value::Object(m) if m.values().any(|v| v.as_str().is_some_and(|s| s.contains('\n'))) => {
            let mut out = vec![];
            for (k, v) in m {
                match v {
                    Value::String(s) if s.contains('\n') => {
                        out.push(format!("{k}:"));
                        out.extend(s.lines().map(|l| format!("  {l}")));
                    }
                    v @ (Value::Object(_) | Value::Array(_)) => {
                        out.push(format!("{k}:"));
                        out.extend(params::pretty(&v).lines().map(|l| format!("  {l}")));
                    }
                    v => out.push(format!("{k}: {v}")),
                }
            }
            out
        }
        v => params::pretty(&v).lines().map(str::to_string).collect(),
    }
}

fn workflow_lines(editor: &Editor, keymap: &Keymap) -> Vec<(LineKind, String)> {
    let mut out = vec![];
    let Some(wf) = &editor.workflow else { return out };
    out.push((LineKind::Heading, wf.workflow_name.clone()));
    out.push((LineKind::Field, format!("id         {}", wf.workflow_id)));
    let state = match wf.is_published {
        Some(false) => "draft (unpublished): publish it in Coze to run it",
        Some(true) => "published",
        None => "-",
    };
    out.push((LineKind::Field, format!("status     {state}")));
    if !wf.description.is_empty() {
        out.push((LineKind::Text, wf.description.clone()));
    }
    if editor.loading {
        out.push((LineKind::Dim, "loading the input schema…".into()));
    }
    if let Some(e) = &editor.error {
        out.push((LineKind::Error, e.clone()));
    }
    let Some(info) = &editor.info else { return out };
    let c = &editor.context;
    if let Some(v) = &c.version {
        out.push((LineKind::Field, format!("version    {v} (runs use it; its inputs below)")));
        let changes = if editor.version_changes.is_empty() { "none".into() } else { editor.version_changes.join(", ") };
        out.push((LineKind::Question, format!("           inputs against the latest: {changes}")));
    }
    for (label, id) in [("app", &c.app_id), ("bot", &c.bot_id)] {
        if let Some(id) = id {
            out.push((LineKind::Field, format!("{label:<11}{id} (runs go with it)")));
        }
    }
    out.push((LineKind::Heading, "inputs".into()));
    // Coze Studio shows a token no inputs and has no versions: the parameters are the user's.
    if info.io_hidden {
        out.push((LineKind::Dim, "(Coze Studio does not show them)".into()));
        let said = match editor.from_last_run {
            true => "the parameters are the last run's",
            false => "type them; a run's come back next time",
        };
        out.push((LineKind::Dim, said.into()));
        out.extend(keymap.hint(Context::Editor, Action::RunIn, "sets the app or bot").map(|h| (LineKind::Dim, h)));
        return out;
    }
    match editor.schema().filter(|i| !i.is_empty()) {
        None => out.push((LineKind::Dim, "(none)".into())),
        Some(input) => {
            for (name, p) in input.iter() {
                parameter_lines(&mut out, "", name, p);
            }
            if input.iter().any(|(_, p)| crate::params::file_kind(p).is_some()) {
                let attach = keymap.hint(Context::Editor, Action::Attach, "attaches a file to a file input");
                out.extend(attach.map(|a| (LineKind::Dim, a)));
            }
        }
    }
    let hints = [(Action::Versions, "lists the published versions"), (Action::RunIn, "sets the app or bot")];
    out.extend(hints.iter().filter_map(|(a, what)| keymap.hint(Context::Editor, *a, what)).map(|h| (LineKind::Dim, h)));
    if let Some(o) = info.output.as_ref() {
        out.push((LineKind::Heading, "outputs".into()));
        for (name, p) in o.parameters.iter() {
            out.push((LineKind::Field, format!("{name}: {}", p.kind)));
        }
        if let Some(plan) = &o.terminate_plan {
            out.push((LineKind::Dim, format!("ends by {plan}")));
        }
    }
    out
}

fn parameter_lines(out: &mut Vec<(LineKind, String)>, prefix: &str, name: &str, p: &crate::coze::Parameter) {
    let kind = match &p.items {
        Some(items) => format!("{}<{}>", p.kind, items.kind),
        None => p.kind.clone(),
    };
    let req = if p.required { " required" } else { "" };
    let def = p.default_value.as_deref().map(|d| format!(" = {d}")).unwrap_or_default();
    out.push((LineKind::Field, format!("{prefix}{name}: {kind}{req}{def}")));
    if !p.description.is_empty() {
        out.push((LineKind::Dim, format!("{prefix}  {}", p.description)));
    }
    if let Some(props) = &p.properties {
        for (k, v) in props.iter() {
            parameter_lines(out, &format!("{prefix}  "), k, v);
        }
    }
}

impl App {
    /// The task the detail pane shows in full, once loaded.
    pub fn detail_task(&self) -> Option<&Arc<Task>> {
        self.detail.task.as_ref()
    }

    /// Shows a task (newly submitted, or opened) in the detail pane.
    pub fn show_task(&mut self, id: &str) -> Vec<Command> {
        self.unseen_failures.remove(id);
        // A running task is followed as it streams; a finished one opens at the top.
        let follow = self.tasks.get(id).is_none_or(|t| !t.status.is_settled());
        self.detail.open(Subject::Task(id.to_string()), follow);
        self.rebuild_detail();
        vec![Command::LoadDetail(id.to_string())]
    }

    /// Detail compares two tasks (the comparison made by the runtime): the facts side by
    /// side, then parameters and output as JSON changes (what `coze-tui diff` prints).
    pub(super) fn show_diff(&mut self, c: crate::suite::check::Comparison) {
        use crate::suite::check::differences_heading;
        let (a, b) = c.ids.clone();
        self.detail.open(Subject::Diff(a.clone(), b.clone()), false);
        let mut out = vec![(LineKind::Heading, format!("diff {a} → {b}"))];
        let task = ("task", c.names.0.clone(), c.names.1.clone());
        for (k, x, y) in std::iter::once(task).chain(c.facts.iter().cloned()) {
            let kind = if x == y || k == "took" || k == "task" { LineKind::Field } else { LineKind::Question };
            out.push((kind, format!("{k:<11}{x}  →  {y}")));
        }
        let sections =
            [("parameters", c.parameters.len(), &c.parameter_lines), ("output", c.output.len(), &c.output_lines)];
        for (what, n, lines) in sections {
            out.push((LineKind::Heading, differences_heading(what, n)));
            for (sign, line) in lines {
                let kind = match sign {
                    '+' => LineKind::Added,
                    '-' => LineKind::Removed,
                    '~' => LineKind::Question,
                    _ => LineKind::Dim,
                };
                out.push((kind, format!("{sign} {line}")));
            }
        }
        self.detail.diff = out;
        self.focus = Pane::Detail;
        self.rebuild_detail();
    }

    pub(super) fn show_workflow(&mut self) {
        self.detail.open(Subject::Workflow, true);
        self.rebuild_detail();
    }

    pub(super) fn clear_detail(&mut self) {
        self.detail.open(Subject::None, true);
        self.rebuild_detail();
    }

    /// After a fresh snapshot of the list: the shown task may have changed (or gone) in a
    /// stretch the snapshot covered instead of the change feed.
    pub(super) fn detail_after_snapshot(&mut self) -> Vec<Command> {
        let Subject::Task(id) = self.detail.subject.clone() else { return vec![] };
        match (self.tasks.get(&id), &self.detail.task) {
            // Deleted, or only older than the newest the list holds: the ledger says which
            // (a load that finds nothing clears the pane).
            (None, _) => vec![Command::LoadDetail(id)],
            (Some(listed), Some(shown)) if listed.revision > shown.revision => vec![Command::LoadDetail(id)],
            _ => vec![],
        }
    }

    pub(super) fn rebuild_detail(&mut self) {
        self.detail.rebuild(&self.editor, &self.clock, &self.keymap);
    }

    /// A task in full with its messages and history, as the ledger has them now.
    pub(super) fn on_detail(&mut self, task_id: String, events: Vec<TaskEvent>, history: Vec<StatusChange>) {
        if self.detail.subject == Subject::Task(task_id) {
            self.detail.stored(&events, history);
            self.rebuild_detail();
        }
    }

    pub(super) fn on_node_outputs(&mut self, task_id: String, result: Result<Vec<(String, String)>, String>) {
        if self.detail.subject != Subject::Task(task_id) {
            return;
        }
        let said = match &result {
            Ok(n) if n.is_empty() => "no node outputs recorded for this run".to_string(),
            Ok(n) => format!("{} node outputs loaded (shown in Detail)", n.len()),
            Err(e) => format!("node outputs did not load: {e}"),
        };
        self.detail.node_outputs = Some(result);
        self.rebuild_detail();
        // The view moves to what was loaded, so it is seen where it went.
        let at = (0..self.detail.lines.len()).find(|i| {
            matches!(&self.detail.lines[*i], (LineKind::Heading, h) if h == "node outputs")
                || matches!(&self.detail.lines[*i], (LineKind::Dim | LineKind::Error, t) if t.starts_with("no node outputs") || t.starts_with("node outputs:"))
        });
        if let Some(at) = at {
            self.detail.follow = false;
            self.detail.scroll = at;
        }
        self.toast(&said);
    }

    /// A live change to the shown task: its header again, and its messages as they come.
    pub(super) fn detail_on_update(&mut self, update: &TaskUpdate, status_changed: bool) -> Vec<Command> {
        match update {
            TaskUpdate::Changed(t) if self.detail.subject == Subject::Task(t.id.clone()) => {
                // States can cross: keep the newer (a state read from the ledger has a revision).
                let held = self.detail.task.as_ref().map(|h| (h.revision, h.updated_at));
                if held.is_none_or(|h| h <= (t.revision, t.updated_at)) {
                    self.detail.task = Some(t.clone());
                }
                // Once the run ends, its outcome (at the top) matters more than the stream's tail.
                if t.status.is_settled() && self.detail.follow {
                    self.detail.follow = false;
                    self.detail.scroll = 0;
                }
                self.rebuild_detail();
                // Its status history grew: reload it with the messages.
                if status_changed {
                    return vec![Command::LoadDetail(t.id.clone())];
                }
            }
            TaskUpdate::Event { task_id, event } if self.detail.subject == Subject::Task(task_id.clone()) => {
                self.detail.live_event(event);
            }
            // Deleted (here or by another process): nothing left to show.
            TaskUpdate::Deleted(id) if self.detail.subject == Subject::Task(id.clone()) => self.clear_detail(),
            _ => {}
        }
        vec![]
    }

    /// Keys of the Detail pane.
    pub(super) fn on_detail_action(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::Open => self.open_viewer(),
            Action::Back => {
                self.focus = Pane::Tasks;
                vec![]
            }
            Action::Refresh => match &self.detail.subject {
                Subject::Task(id) => vec![Command::LoadDetail(id.clone())],
                _ => vec![],
            },
            Action::Follow => {
                self.detail.follow = !self.detail.follow;
                self.toast(if self.detail.follow { "following new messages" } else { "follow off" });
                vec![]
            }
            Action::NodeOutputs => match self.detail_task() {
                Some(t) => match &t.execute_id {
                    Some(eid) => vec![Command::LoadNodeOutputs {
                        task_id: t.id.clone(),
                        workflow_id: t.workflow_id.clone(),
                        execute_id: eid.clone(),
                    }],
                    None => {
                        self.toast("no execute id yet: node outputs cannot be looked up");
                        vec![]
                    }
                },
                None => vec![],
            },
            a if super::task_list::TASK_ACTIONS.contains(&a) => self.on_task_action(action),
            _ => {
                if let Some(delta) = self.movement(action) {
                    self.detail.scroll_by(delta, self.drawn.detail_rows);
                }
                vec![]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::tests::app;
    use crate::app::{Msg, Task};
    use crate::tasks::RunMode;

    fn event(seq: u64) -> TaskEvent {
        TaskEvent {
            seq,
            node_title: "n".into(),
            node_seq_id: None,
            node_is_finish: false,
            content: format!("m{seq}"),
            at: 0,
        }
    }

    fn messages(d: &Detail) -> Vec<String> {
        d.event_lines.iter().filter(|(k, _)| *k == LineKind::Text).map(|(_, t)| t.trim().to_string()).collect()
    }

    #[test]
    fn stored_and_live_messages_interleave_without_loss_or_repeats() {
        let mut a = app();
        let t = Task::pending("t".into(), "p".into(), "w".into(), RunMode::Stream, 1);
        a.update(Msg::TasksLoaded { tasks: vec![(&t).into()], revision: 1 });
        a.show_task("t");
        let live = |seq| Msg::Task(TaskUpdate::Event { task_id: "t".into(), event: Arc::new(event(seq)) });
        // A live message stored after the snapshot was read arrives first...
        a.update(live(3));
        // ...then the snapshot (0..=2), then a live one the snapshot also has.
        let events = (0..3).map(event).collect();
        a.update(Msg::Detail { task_id: "t".into(), task: Some(t.clone()), events, history: vec![] });
        a.update(live(2));
        a.update(live(4));
        assert_eq!(messages(&a.detail), ["m0", "m1", "m2", "m3", "m4"]);
    }

    #[test]
    fn scrolling_up_leaves_the_end_and_scrolling_down_to_it_follows_again() {
        let mut d = Detail { subject: Subject::Task("t".into()), ..Detail::default() };
        d.lines = (0..50).map(|i| (LineKind::Text, i.to_string())).collect();
        d.scroll_by(-5, 10);
        assert_eq!((d.scroll, d.follow), (35, false));
        d.scroll_by(100, 10);
        assert_eq!((d.scroll, d.follow), (40, true));
    }

    #[test]
    fn multi_line_text_in_an_output_reads_as_lines() {
        let v = serde_json::json!({"output": "line one\nline two", "n": 3});
        assert_eq!(output_lines(v), ["output:", "  line one", "  line two", "n: 3"]);
        assert_eq!(output_lines(serde_json::json!("a\nb")), ["a", "b"]);
        assert_eq!(output_lines(serde_json::json!({"a": "one line"})), ["{", "  \"a\": \"one line\"", "}"]);
    }
}
