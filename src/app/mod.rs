//! The dashboard's state and its one pure step: `update(msg) -> commands`.
//!
//! Data flows one way: terminal events and results from background work arrive as [`Msg`]s;
//! `update` changes the state and returns [`Command`]s for the driver to carry out (network,
//! ledger, clipboard, `$EDITOR`); their results come back as more `Msg`s. Nothing here awaits
//! or touches the terminal, so tests drive it with keys and read the state or a rendered frame.

pub mod keymap;
pub mod params;
mod picker;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui_textarea::TextArea;
use serde_json::{Map, Value};

use crate::coze::{Workflow, WorkflowInfo, Workspace, decode_output};
use crate::tasks::{NewTask, RunMode, StatusChange, Task, TaskEvent, TaskStatus, TaskUpdate};
pub use keymap::{Action, Context, Keymap};
pub use picker::Picker;

/// The panes, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Workspaces,
    Workflows,
    Editor,
    Tasks,
    Detail,
}

impl Pane {
    pub const ALL: [Pane; 5] = [Pane::Workspaces, Pane::Workflows, Pane::Editor, Pane::Tasks, Pane::Detail];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Workspaces => "Workspaces",
            Pane::Workflows => "Workflows",
            Pane::Editor => "Parameters",
            Pane::Tasks => "Tasks",
            Pane::Detail => "Detail",
        }
    }

    fn context(self) -> Context {
        match self {
            Pane::Workspaces | Pane::Workflows => Context::Lists,
            Pane::Editor => Context::Editor,
            Pane::Tasks => Context::Tasks,
            Pane::Detail => Context::Detail,
        }
    }

    fn index(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }
}

/// What reached the app: input, and results of background work.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Paste(String),
    Resize(u16, u16),
    /// The clock; sent only while something is in progress (see [`App::tick_every`]).
    Tick,
    /// Requests this profile made today, by every process on the data directory.
    RequestsToday(u64),
    Workspaces(Result<Vec<Workspace>, String>),
    Workflows {
        workspace_id: String,
        result: Result<Vec<Workflow>, String>,
    },
    WorkflowInfo {
        workflow_id: String,
        result: Result<WorkflowInfo, String>,
        last_params: Option<Map<String, Value>>,
    },
    /// The outcome and latency of the last call to Coze.
    Health(Health),
    /// This profile's tasks as the ledger had them at `as_of` (unix ms); summaries.
    TasksLoaded {
        tasks: Vec<Task>,
        as_of: i64,
    },
    /// The task list could not be read from the ledger.
    TasksFailed(String),
    /// A task's output, loaded for copying.
    OutputForCopy(Result<String, String>),
    Task(TaskUpdate),
    /// A run the user started (or re-ran) is recorded.
    Submitted(Task),
    /// A task in full (the list holds summaries), its messages and its status history.
    Detail {
        task_id: String,
        task: Option<Task>,
        events: Vec<TaskEvent>,
        history: Vec<StatusChange>,
    },
    NodeOutputs {
        task_id: String,
        result: Result<Vec<(String, String)>, String>,
    },
    /// A command failed; show it briefly.
    Failed(String),
    /// Text back from `$EDITOR` (or why not).
    Edited(Result<String, String>),
    /// A short confirmation (copied, deleted…).
    Toast(String),
    Quit,
}

/// Work for the driver. Results come back as [`Msg`]s.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    LoadWorkspaces,
    LoadWorkflows(String),
    LoadWorkflowInfo(String),
    LoadTasks,
    LoadDetail(String),
    LoadNodeOutputs {
        task_id: String,
        workflow_id: String,
        execute_id: String,
    },
    Submit(NewTask),
    Resume {
        task_id: String,
        answer: String,
    },
    Rerun(String),
    Delete(String),
    Copy(String),
    /// Load a task's output from the ledger, then copy it.
    LoadOutputForCopy(String),
    OpenEditor(String),
    SwitchProfile(String),
    StartDemo,
    Quit,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Health {
    Unknown,
    Ok {
        latency_ms: u64,
    },
    /// Reached Coze, but the token was refused.
    AuthFailed(String),
    Unreachable(String),
    /// Reached Coze, but it answered with a server error or something unreadable.
    Failing(String),
}

/// The account the dashboard talks to.
#[derive(Debug, Clone, Default)]
pub struct ProfileInfo {
    pub name: String,
    pub base_url: String,
    pub region: String,
    pub profiles: Vec<String>,
    pub config_path: String,
    pub log_path: String,
}

/// The JSON parameter editor.
pub struct Editor {
    pub text: TextArea<'static>,
    /// Typing goes to the text (global keys are off) while this is set.
    pub typing: bool,
    pub workflow: Option<Workflow>,
    pub info: Option<WorkflowInfo>,
    pub loading: bool,
    pub error: Option<String>,
    pub validation: params::Validation,
    /// The text was prefilled with the last parameters used for this workflow.
    pub from_last_run: bool,
    /// Edited since it was filled in or last run (quitting then asks first).
    pub dirty: bool,
    /// A run asked for while the schema was loading: started once it has loaded and checks out.
    pub pending_run: Option<(RunMode, Option<String>, Option<String>)>,
}

impl Editor {
    fn new() -> Self {
        Self {
            text: styled_textarea(vec![]),
            typing: false,
            workflow: None,
            info: None,
            loading: false,
            error: None,
            validation: params::validate("", None),
            from_last_run: false,
            dirty: false,
            pending_run: None,
        }
    }

    pub fn content(&self) -> String {
        self.text.lines().join("\n")
    }

    fn schema(&self) -> Option<&crate::coze::OrderedParams> {
        self.info.as_ref().and_then(|i| i.input.as_ref()).map(|i| &i.parameters)
    }

    fn revalidate(&mut self) {
        self.validation = params::validate(&self.content(), self.schema());
    }

    fn set_text(&mut self, text: &str) {
        self.text = styled_textarea(text.lines().map(str::to_string).collect());
        self.dirty = false;
        self.revalidate();
    }
}

fn styled_textarea(lines: Vec<String>) -> TextArea<'static> {
    let mut t = TextArea::new(lines);
    t.set_line_number_style(ratatui::style::Style::default().add_modifier(ratatui::style::Modifier::DIM));
    t.set_cursor_line_style(ratatui::style::Style::default());
    t.set_tab_length(2);
    t
}

/// How a detail line should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Heading,
    Field,
    Text,
    Error,
    Question,
    Node,
    Dim,
}

/// What the detail pane shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    None,
    Workflow,
    Task(String),
}

pub struct Detail {
    pub subject: Subject,
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
    pub scroll: usize,
    /// Rows the detail pane had when last drawn (for paging and following).
    pub view_height: std::cell::Cell<usize>,
    /// Stay at the end as messages arrive.
    pub follow: bool,
    history: Vec<StatusChange>,
    node_outputs: Option<Result<Vec<(String, String)>, String>>,
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
}

/// A dialog over the panes. It takes every key until closed.
// There is at most one overlay at a time, so boxing its text areas would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Overlay {
    Help {
        scroll: usize,
    },
    ConfirmDelete {
        task_id: String,
        label: String,
    },
    Answer {
        task_id: String,
        question: String,
        input: TextArea<'static>,
    },
    RunNamed {
        mode: RunMode,
        name: TextArea<'static>,
        description: TextArea<'static>,
        on_description: bool,
    },
    Filter {
        pane: Pane,
        input: String,
    },
    Profiles {
        selected: usize,
    },
    Message {
        title: String,
        text: String,
    },
    /// The editor has changes that were never run.
    ConfirmQuit,
}

/// Detail lines kept for one output; beyond this, the rest is a key (y) away.
const MAX_OUTPUT_LINES: usize = 5_000;
/// Streamed messages kept in the detail pane (the ledger keeps them all).
const MAX_EVENT_LINES: usize = 20_000;

pub struct App {
    pub focus: Pane,
    pub profile: ProfileInfo,
    pub health: Health,
    pub workspaces: Picker<Workspace>,
    pub workflows: Picker<Workflow>,
    /// The workspace whose workflows are listed.
    pub workspace_id: Option<String>,
    pub editor: Editor,
    pub tasks: Picker<Arc<Task>>,
    pub status_filter: Option<TaskStatus>,
    running: usize,
    pub detail: Detail,
    pub overlay: Option<Overlay>,
    pub toast: Option<(String, Instant)>,
    pub keymap: Keymap,
    /// Set when no token is configured: the first-run screen explains what to do.
    pub first_run: Option<String>,
    pub quit: bool,
    pub spinner: usize,
    /// Requests this profile made today (all processes), when known.
    pub requests_today: Option<u64>,
    pub size: (u16, u16),
    /// Problems to show once at start (bad key bindings, config warnings).
    pub warnings: Vec<String>,
}

impl App {
    pub fn new(profile: ProfileInfo, keymap: Keymap) -> Self {
        let mut app = Self {
            focus: Pane::Workspaces,
            profile,
            health: Health::Unknown,
            workspaces: Picker::default(),
            workflows: Picker::default(),
            workspace_id: None,
            editor: Editor::new(),
            tasks: Picker::default(),
            status_filter: None,
            running: 0,
            detail: Detail {
                subject: Subject::None,
                lines: vec![],
                event_lines: vec![],
                last_node: None,
                last_seq: None,
                live: vec![],
                scroll: 0,
                view_height: std::cell::Cell::new(20),
                follow: true,
                history: vec![],
                node_outputs: None,
            },
            overlay: None,
            toast: None,
            keymap,
            first_run: None,
            quit: false,
            spinner: 0,
            requests_today: None,
            size: (80, 24),
            warnings: vec![],
        };
        app.rebuild_detail();
        app
    }

    /// The commands to run at start.
    pub fn init(&mut self) -> Vec<Command> {
        if self.first_run.is_some() {
            return vec![];
        }
        self.workspaces.loading = true;
        self.tasks.loading = true;
        if let Some(w) = self.warnings.first().cloned() {
            self.toast = Some((w, Instant::now()));
        }
        vec![Command::LoadWorkspaces, Command::LoadTasks]
    }

    /// Whether something is in progress (the spinner should tick).
    pub fn busy(&self) -> bool {
        self.tick_every().is_some()
    }

    /// How often the clock should tick: quickly while something loads (a spinner), once a
    /// second while runs go on (their times are in whole seconds), never when idle. A slow SSH
    /// link gets a few bytes a second from a dashboard with a hundred runs in flight.
    pub fn tick_every(&self) -> Option<std::time::Duration> {
        if self.workspaces.loading || self.workflows.loading || self.editor.loading || self.tasks.loading {
            Some(std::time::Duration::from_millis(250))
        } else if self.running > 0 {
            Some(std::time::Duration::from_secs(1))
        } else {
            None
        }
    }

    /// Tasks not yet settled (kept up to date as tasks change, so drawing stays cheap).
    pub fn running_count(&self) -> usize {
        self.running
    }

    pub fn selected_task(&self) -> Option<&Arc<Task>> {
        self.tasks.current()
    }

    /// The task the detail pane shows, if any.
    pub fn detail_task(&self) -> Option<&Arc<Task>> {
        match &self.detail.subject {
            Subject::Task(id) => self.tasks.items.iter().find(|t| &t.id == id),
            _ => None,
        }
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        if let Some((_, at)) = &self.toast
            && at.elapsed() > Duration::from_secs(4)
        {
            self.toast = None;
        }
        match msg {
            Msg::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            Msg::Key(_) => vec![],
            Msg::Mouse(m) => self.on_mouse(m),
            Msg::Paste(text) => {
                if self.focus == Pane::Editor && self.overlay.is_none() {
                    self.editor.typing = true;
                    self.editor.text.insert_str(&text);
                    self.editor.dirty = true;
                    self.editor.revalidate();
                }
                vec![]
            }
            Msg::Resize(w, h) => {
                self.size = (w, h);
                vec![]
            }
            Msg::Tick => {
                self.spinner = self.spinner.wrapping_add(1);
                vec![]
            }
            Msg::RequestsToday(n) => {
                self.requests_today = Some(n);
                vec![]
            }
            Msg::Workspaces(result) => {
                let first_load = self.workspaces.items.is_empty();
                self.workspaces.loaded(result, |w| w.id.as_str(), |w| w.name.as_str());
                // Open the first workspace's workflows on the first load, so there is something to see.
                if first_load && self.workspace_id.is_none() {
                    return self.open_workspace(false);
                }
                vec![]
            }
            Msg::Workflows { workspace_id, result } => {
                if self.workspace_id.as_deref() == Some(workspace_id.as_str()) {
                    self.workflows.loaded(result, |w| w.workflow_id.as_str(), |w| w.workflow_name.as_str());
                }
                vec![]
            }
            Msg::WorkflowInfo { workflow_id, result, last_params } => {
                self.on_workflow_info(workflow_id, result, last_params);
                match self.editor.pending_run.take() {
                    Some(pending) if self.editor.loading => {
                        self.editor.pending_run = Some(pending);
                        vec![]
                    }
                    Some(_) if self.editor.error.is_some() => {
                        self.toast("not run: the workflow's schema did not load");
                        vec![]
                    }
                    // Asked for before the schema arrived: now it can be checked and sent.
                    Some((mode, name, description)) => self.run(mode, name, description),
                    None => vec![],
                }
            }
            Msg::Health(h) => {
                self.health = h;
                vec![]
            }
            Msg::TasksLoaded { tasks, as_of } => {
                // The snapshot is the truth as of `as_of`; a task held here that is missing from it
                // was deleted, unless it changed after the snapshot was taken (it is newer than that).
                // A held copy at least as new as the snapshot's is kept: it may be the full task.
                self.tasks.remember(&task_key);
                let mut held: std::collections::HashMap<String, Arc<Task>> =
                    self.tasks.items.drain(..).map(|t| (t.id.clone(), t)).collect();
                let mut items: Vec<Arc<Task>> = Vec::with_capacity(tasks.len());
                for t in tasks.into_iter().filter(|t| t.profile == self.profile.name) {
                    match held.remove(&t.id) {
                        Some(cur) if cur.updated_at >= t.updated_at => items.push(cur),
                        _ => items.push(Arc::new(t)),
                    }
                }
                items.extend(held.into_values().filter(|t| t.updated_at > as_of));
                items.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
                self.tasks.items = items;
                self.tasks.loading = false;
                self.refilter_tasks();
                vec![]
            }
            Msg::OutputForCopy(Ok(text)) => vec![Command::Copy(text)],
            Msg::OutputForCopy(Err(e)) => {
                self.toast(&e);
                vec![]
            }
            Msg::Task(update) => self.on_task_update(update),
            Msg::Submitted(task) if task.profile != self.profile.name => vec![],
            Msg::Submitted(task) => {
                self.on_task_update(TaskUpdate::Changed(Arc::new(task.clone())));
                self.submitted(&task)
            }
            Msg::Detail { task_id, task, events, history } => {
                if let Some(full) = task {
                    self.on_task_update(TaskUpdate::Changed(Arc::new(full)));
                }
                if self.detail.subject == Subject::Task(task_id) {
                    self.detail.history = history;
                    // The stored messages, then any live ones that came after them.
                    self.detail.event_lines.clear();
                    self.detail.last_node = None;
                    self.detail.last_seq = None;
                    let live = std::mem::take(&mut self.detail.live);
                    for e in events.iter().chain(live.iter()) {
                        self.push_event_line(e);
                    }
                    self.detail.live = live;
                    self.rebuild_detail();
                }
                vec![]
            }
            Msg::NodeOutputs { task_id, result } => {
                if self.detail.subject == Subject::Task(task_id) {
                    self.detail.node_outputs = Some(result);
                    self.rebuild_detail();
                }
                vec![]
            }
            Msg::TasksFailed(text) => {
                self.tasks.loading = false;
                self.toast = Some((text, Instant::now()));
                vec![]
            }
            Msg::Failed(text) | Msg::Toast(text) => {
                self.toast = Some((text, Instant::now()));
                vec![]
            }
            Msg::Edited(Ok(text)) => {
                self.editor.set_text(&text);
                self.editor.dirty = true;
                self.toast = Some(("parameters read back from the editor".into(), Instant::now()));
                vec![]
            }
            Msg::Edited(Err(e)) => {
                self.toast = Some((e, Instant::now()));
                vec![]
            }
            Msg::Quit => {
                self.quit = true;
                vec![Command::Quit]
            }
        }
    }

    // ---- keys ---------------------------------------------------------------------------

    fn on_key(&mut self, key: KeyEvent) -> Vec<Command> {
        // Ctrl-C always quits, even while typing.
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit = true;
            return vec![Command::Quit];
        }
        if self.overlay.is_some() {
            return self.on_overlay_key(key);
        }
        if let Some(_msg) = &self.first_run {
            return match key.code {
                KeyCode::Char('d') => {
                    self.first_run = None;
                    vec![Command::StartDemo]
                }
                KeyCode::Char('q') | KeyCode::Esc => {
                    self.quit = true;
                    vec![Command::Quit]
                }
                _ => vec![],
            };
        }
        if self.focus == Pane::Editor && self.editor.typing {
            if key.code == KeyCode::Esc {
                self.editor.typing = false;
            } else {
                if self.editor.text.input(key) {
                    self.editor.dirty = true;
                }
                self.editor.revalidate();
            }
            return vec![];
        }
        let Some(action) = self.keymap.lookup(self.focus.context(), &key) else { return vec![] };
        self.on_action(action)
    }

    fn on_action(&mut self, action: Action) -> Vec<Command> {
        use Action::*;
        let page = (self.size.1 as isize / 2).max(1);
        match action {
            Quit if self.editor.dirty => {
                self.overlay = Some(Overlay::ConfirmQuit);
                vec![]
            }
            Quit => {
                self.quit = true;
                vec![Command::Quit]
            }
            Help => {
                self.overlay = Some(Overlay::Help { scroll: 0 });
                vec![]
            }
            FocusNext => self.focus_to(Pane::ALL[(self.focus.index() + 1) % Pane::ALL.len()]),
            FocusPrev => self.focus_to(Pane::ALL[(self.focus.index() + Pane::ALL.len() - 1) % Pane::ALL.len()]),
            Focus1 => self.focus_to(Pane::Workspaces),
            Focus2 => self.focus_to(Pane::Workflows),
            Focus3 => self.focus_to(Pane::Editor),
            Focus4 => self.focus_to(Pane::Tasks),
            Focus5 => self.focus_to(Pane::Detail),
            Up => self.move_selection(-1),
            Down => self.move_selection(1),
            PageUp => self.move_selection(-page),
            PageDown => self.move_selection(page),
            Top => self.move_selection(isize::MIN / 2),
            Bottom => self.move_selection(isize::MAX / 2),
            Open => self.open(),
            Back => self.back(),
            Filter => {
                if matches!(self.focus, Pane::Workspaces | Pane::Workflows | Pane::Tasks) {
                    let input = self.picker_filter(self.focus).to_string();
                    self.overlay = Some(Overlay::Filter { pane: self.focus, input });
                }
                vec![]
            }
            Refresh => self.refresh(),
            Profiles => {
                let selected = self.profile.profiles.iter().position(|p| *p == self.profile.name).unwrap_or(0);
                self.overlay = Some(Overlay::Profiles { selected });
                vec![]
            }
            Edit => {
                self.editor.typing = true;
                vec![]
            }
            ExternalEditor => vec![Command::OpenEditor(self.editor.content())],
            Format => {
                match &self.editor.validation.params {
                    Some(p) => {
                        let text = params::pretty(&Value::Object(p.clone()));
                        self.editor.set_text(&text);
                    }
                    None => self.toast("fix the JSON first: it does not parse"),
                }
                vec![]
            }
            Template => {
                if let Some(schema) = self.editor.schema() {
                    let text = params::pretty(&params::template(schema));
                    self.editor.set_text(&text);
                    self.editor.from_last_run = false;
                }
                vec![]
            }
            RunSync => self.run(RunMode::Sync, None, None),
            RunAsync => self.run(RunMode::Async, None, None),
            RunStream => self.run(RunMode::Stream, None, None),
            RunNamed => {
                if self.editor.workflow.is_some() {
                    self.overlay = Some(Overlay::RunNamed {
                        mode: RunMode::Stream,
                        name: single_line_input("name"),
                        description: single_line_input("description"),
                        on_description: false,
                    });
                }
                vec![]
            }
            Rerun => match self.action_task() {
                Some(t) => vec![Command::Rerun(t.id.clone())],
                None => vec![],
            },
            Answer => match self.action_task() {
                Some(t) if t.status == TaskStatus::Interrupted => {
                    let question = t.interrupt.as_ref().and_then(|i| i.question.clone()).unwrap_or_default();
                    self.overlay =
                        Some(Overlay::Answer { task_id: t.id.clone(), question, input: single_line_input("answer") });
                    vec![]
                }
                Some(t) => {
                    let s = t.status.as_str();
                    self.toast(&format!("this task is {s}; only interrupted tasks take an answer"));
                    vec![]
                }
                None => vec![],
            },
            Delete => {
                if let Some(t) = self.action_task() {
                    let label = format!("{} · {}", t.id, t.workflow_name.as_deref().unwrap_or(&t.workflow_id));
                    self.overlay = Some(Overlay::ConfirmDelete { task_id: t.id.clone(), label });
                }
                vec![]
            }
            Copy => match self.action_task() {
                Some(t) => match t.decoded_output() {
                    Some(v) => vec![Command::Copy(output_text(v))],
                    // The list holds summaries: a finished task's output is fetched first.
                    None if t.status == TaskStatus::Succeeded => vec![Command::LoadOutputForCopy(t.id.clone())],
                    None => {
                        self.toast("this task has no output");
                        vec![]
                    }
                },
                None => vec![],
            },
            DebugUrl => match self.action_task().and_then(|t| t.debug_url.clone()) {
                Some(url) => {
                    self.overlay = Some(Overlay::Message { title: "debug URL (copied)".into(), text: url.clone() });
                    vec![Command::Copy(url)]
                }
                None => {
                    self.toast("no debug URL for this task yet");
                    vec![]
                }
            },
            Follow => {
                self.detail.follow = !self.detail.follow;
                self.toast(if self.detail.follow { "following new messages" } else { "follow off" });
                vec![]
            }
            NodeOutputs => match self.detail_task() {
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
            StatusFilter => {
                let order = [
                    None,
                    Some(TaskStatus::Running),
                    Some(TaskStatus::Interrupted),
                    Some(TaskStatus::Failed),
                    Some(TaskStatus::Succeeded),
                    Some(TaskStatus::Unknown),
                ];
                let i = order.iter().position(|s| *s == self.status_filter).unwrap_or(0);
                self.status_filter = order[(i + 1) % order.len()];
                self.tasks.remember(&task_key);
                self.refilter_tasks();
                vec![]
            }
        }
    }

    fn toast(&mut self, text: &str) {
        self.toast = Some((text.to_string(), Instant::now()));
    }

    /// The task a task action applies to: the detail's in the detail pane, else the selected one.
    fn action_task(&self) -> Option<Arc<Task>> {
        if self.focus == Pane::Detail { self.detail_task().cloned() } else { self.selected_task().cloned() }
    }

    fn focus_to(&mut self, pane: Pane) -> Vec<Command> {
        self.focus = pane;
        vec![]
    }

    fn picker_filter(&self, pane: Pane) -> &str {
        match pane {
            Pane::Workspaces => &self.workspaces.filter,
            Pane::Workflows => &self.workflows.filter,
            _ => &self.tasks.filter,
        }
    }

    fn move_selection(&mut self, delta: isize) -> Vec<Command> {
        match self.focus {
            Pane::Workspaces => self.workspaces.move_by(delta),
            Pane::Workflows => self.workflows.move_by(delta),
            Pane::Tasks => self.tasks.move_by(delta),
            Pane::Detail => {
                // `scroll` is the top line; following shows the end, so scrolling starts there.
                let view = self.detail.view_height.get().max(1);
                let last_top = self.detail.len().saturating_sub(view);
                if self.detail.follow {
                    self.detail.scroll = last_top;
                }
                self.detail.scroll =
                    (self.detail.scroll as isize).saturating_add(delta).clamp(0, last_top as isize) as usize;
                self.detail.follow = delta > 0 && self.detail.scroll >= last_top;
            }
            Pane::Editor => {}
        }
        vec![]
    }

    fn open(&mut self) -> Vec<Command> {
        match self.focus {
            Pane::Workspaces => self.open_workspace(true),
            Pane::Workflows => self.open_workflow(),
            Pane::Tasks => match self.selected_task().cloned() {
                Some(t) => {
                    self.focus = Pane::Detail;
                    self.show_task(&t.id)
                }
                None => vec![],
            },
            Pane::Detail | Pane::Editor => vec![],
        }
    }

    fn back(&mut self) -> Vec<Command> {
        match self.focus {
            Pane::Workspaces | Pane::Workflows | Pane::Tasks if !self.picker_filter(self.focus).is_empty() => {
                self.apply_filter(self.focus, String::new());
            }
            Pane::Tasks if self.status_filter.is_some() => {
                self.status_filter = None;
                self.tasks.remember(&task_key);
                self.refilter_tasks();
            }
            Pane::Workflows => self.focus = Pane::Workspaces,
            Pane::Editor => self.focus = Pane::Workflows,
            Pane::Detail => self.focus = Pane::Tasks,
            _ => {}
        }
        vec![]
    }

    fn refresh(&mut self) -> Vec<Command> {
        match self.focus {
            Pane::Workspaces => {
                self.workspaces.loading = true;
                vec![Command::LoadWorkspaces]
            }
            Pane::Workflows => match self.workspace_id.clone() {
                Some(ws) => {
                    self.workflows.loading = true;
                    vec![Command::LoadWorkflows(ws)]
                }
                None => vec![],
            },
            Pane::Editor => match self.editor.workflow.as_ref().map(|w| w.workflow_id.clone()) {
                Some(id) => {
                    self.editor.loading = true;
                    vec![Command::LoadWorkflowInfo(id)]
                }
                None => vec![],
            },
            Pane::Tasks => {
                self.tasks.loading = true;
                vec![Command::LoadTasks]
            }
            Pane::Detail => match &self.detail.subject {
                Subject::Task(id) => vec![Command::LoadDetail(id.clone())],
                _ => vec![],
            },
        }
    }

    /// Lists the selected workspace's workflows (moving focus there when the user asked).
    fn open_workspace(&mut self, focus_workflows: bool) -> Vec<Command> {
        let Some(ws) = self.workspaces.current().map(|w| w.id.clone()) else { return vec![] };
        if focus_workflows {
            self.focus = Pane::Workflows;
        }
        if self.workspace_id.as_deref() == Some(ws.as_str()) && !self.workflows.items.is_empty() {
            return vec![];
        }
        self.workflows = Picker::default();
        self.workspace_id = Some(ws.clone());
        self.workflows.loading = true;
        vec![Command::LoadWorkflows(ws)]
    }

    fn open_workflow(&mut self) -> Vec<Command> {
        let Some(wf) = self.workflows.current().cloned() else { return vec![] };
        self.editor.workflow = Some(wf.clone());
        self.editor.pending_run = None;
        self.editor.info = None;
        self.editor.loading = true;
        self.editor.error = None;
        self.focus = Pane::Editor;
        self.detail.subject = Subject::Workflow;
        self.rebuild_detail();
        vec![Command::LoadWorkflowInfo(wf.workflow_id)]
    }

    fn on_workflow_info(&mut self, id: String, result: Result<WorkflowInfo, String>, last: Option<Map<String, Value>>) {
        if self.editor.workflow.as_ref().map(|w| w.workflow_id.as_str()) != Some(id.as_str()) {
            return;
        }
        self.editor.loading = false;
        match result {
            Ok(info) => {
                let same_workflow = self.editor.info.as_ref().is_some_and(|i| i.workflow_detail.workflow_id == id);
                self.editor.info = Some(info);
                // A refresh keeps what the user typed; a newly opened workflow gets its text.
                if !same_workflow {
                    let (text, from_last) = match last {
                        Some(p) => (params::pretty(&Value::Object(p)), true),
                        None => (
                            params::pretty(
                                &self.editor.schema().map(params::template).unwrap_or(Value::Object(Map::new())),
                            ),
                            false,
                        ),
                    };
                    self.editor.set_text(&text);
                    self.editor.from_last_run = from_last;
                }
                self.editor.revalidate();
            }
            Err(e) => self.editor.error = Some(e),
        }
        if self.detail.subject == Subject::Workflow {
            self.rebuild_detail();
        }
    }

    /// Starts a run of the editor's workflow, unless the parameters are invalid.
    fn run(&mut self, mode: RunMode, name: Option<String>, description: Option<String>) -> Vec<Command> {
        let Some(wf) = self.editor.workflow.clone() else {
            self.toast("pick a workflow first (Workflows pane, Enter)");
            return vec![];
        };
        if self.editor.loading {
            self.toast("runs as soon as the workflow's schema has loaded");
            self.editor.pending_run = Some((mode, name, description));
            return vec![];
        }
        if wf.is_published == Some(false) {
            self.toast("this workflow is a draft: publish it in Coze before running it through the API (4200)");
            return vec![];
        }
        if let Some(p) = self.editor.validation.blocker() {
            let msg = format!("not run: {}", p.message);
            self.toast(&msg);
            return vec![];
        }
        let Some(parameters) = self.editor.validation.params.clone() else { return vec![] };
        // Run, so remembered in the ledger as this workflow's last parameters.
        self.editor.dirty = false;
        // Focus stays in the editor (run again, tweak, run again); the task shows up selected.
        vec![Command::Submit(NewTask {
            workflow_id: wf.workflow_id.clone(),
            workflow_name: Some(wf.workflow_name.clone()),
            workspace_id: self.workspace_id.clone(),
            parameters,
            mode,
            name,
            description,
        })]
    }

    fn apply_filter(&mut self, pane: Pane, text: String) {
        match pane {
            Pane::Workspaces => {
                self.workspaces.filter = text;
                self.workspaces.refilter(|w| w.id.as_str(), |w| w.name.as_str());
            }
            Pane::Workflows => {
                self.workflows.filter = text;
                self.workflows.refilter(|w| w.workflow_id.as_str(), |w| w.workflow_name.as_str());
            }
            _ => {
                self.tasks.remember(&task_key);
                self.tasks.filter = text;
                self.refilter_tasks();
            }
        }
    }

    /// Re-applies the task filters (after `tasks.remember` if the items changed).
    fn refilter_tasks(&mut self) {
        self.running = self.tasks.items.iter().filter(|t| !t.status.is_settled()).count();
        let status = self.status_filter;
        let text = self.tasks.filter.to_lowercase();
        self.tasks.refilter_with(task_key, |t| {
            status.is_none_or(|s| t.status == s)
                && (text.is_empty()
                    || t.id.starts_with(&text)
                    || t.workflow_name.as_deref().is_some_and(|n| n.to_lowercase().contains(&text))
                    || t.name.as_deref().is_some_and(|n| n.to_lowercase().contains(&text)))
        });
    }

    // ---- overlays -----------------------------------------------------------------------

    fn on_overlay_key(&mut self, key: KeyEvent) -> Vec<Command> {
        let Some(overlay) = self.overlay.take() else { return vec![] };
        let (keep, cmds) = match overlay {
            Overlay::Help { scroll } => match key.code {
                KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?') => (None, vec![]),
                KeyCode::Down | KeyCode::Char('j') => (Some(Overlay::Help { scroll: scroll + 1 }), vec![]),
                KeyCode::Up | KeyCode::Char('k') => (Some(Overlay::Help { scroll: scroll.saturating_sub(1) }), vec![]),
                KeyCode::PageDown => (Some(Overlay::Help { scroll: scroll + 10 }), vec![]),
                KeyCode::PageUp => (Some(Overlay::Help { scroll: scroll.saturating_sub(10) }), vec![]),
                _ => (Some(Overlay::Help { scroll }), vec![]),
            },
            Overlay::ConfirmQuit => match key.code {
                KeyCode::Char('y') | KeyCode::Char('q') => {
                    self.quit = true;
                    (None, vec![Command::Quit])
                }
                KeyCode::Char('n') | KeyCode::Esc => (None, vec![]),
                _ => (Some(Overlay::ConfirmQuit), vec![]),
            },
            Overlay::Message { title, text } => match key.code {
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => (None, vec![]),
                _ => (Some(Overlay::Message { title, text }), vec![]),
            },
            Overlay::ConfirmDelete { task_id, label } => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    if self.detail.subject == Subject::Task(task_id.clone()) {
                        self.detail.subject = Subject::None;
                        self.rebuild_detail();
                    }
                    (None, vec![Command::Delete(task_id)])
                }
                KeyCode::Char('n') | KeyCode::Esc | KeyCode::Char('q') => (None, vec![]),
                _ => (Some(Overlay::ConfirmDelete { task_id, label }), vec![]),
            },
            Overlay::Answer { task_id, question, mut input } => match key.code {
                KeyCode::Esc => (None, vec![]),
                KeyCode::Enter => {
                    let answer = input.lines().join("\n");
                    (None, vec![Command::Resume { task_id, answer }])
                }
                _ => {
                    input.input(key);
                    (Some(Overlay::Answer { task_id, question, input }), vec![])
                }
            },
            Overlay::RunNamed { mode, mut name, mut description, on_description } => match key.code {
                KeyCode::Esc => (None, vec![]),
                KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down => {
                    (Some(Overlay::RunNamed { mode, name, description, on_description: !on_description }), vec![])
                }
                KeyCode::Char(c @ ('1' | '2' | '3')) if key.modifiers.contains(KeyModifiers::ALT) => {
                    let mode = [RunMode::Sync, RunMode::Async, RunMode::Stream][(c as u8 - b'1') as usize];
                    (Some(Overlay::RunNamed { mode, name, description, on_description }), vec![])
                }
                KeyCode::Enter => {
                    let n = name.lines().join(" ");
                    let d = description.lines().join(" ");
                    (
                        None,
                        self.run(
                            mode,
                            Some(n).filter(|s| !s.trim().is_empty()),
                            Some(d).filter(|s| !s.trim().is_empty()),
                        ),
                    )
                }
                _ => {
                    if on_description {
                        description.input(key)
                    } else {
                        name.input(key)
                    };
                    (Some(Overlay::RunNamed { mode, name, description, on_description }), vec![])
                }
            },
            Overlay::Filter { pane, mut input } => match key.code {
                KeyCode::Esc => {
                    self.apply_filter(pane, String::new());
                    (None, vec![])
                }
                KeyCode::Enter => (None, vec![]),
                KeyCode::Backspace => {
                    input.pop();
                    self.apply_filter(pane, input.clone());
                    (Some(Overlay::Filter { pane, input }), vec![])
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    input.push(c);
                    self.apply_filter(pane, input.clone());
                    (Some(Overlay::Filter { pane, input }), vec![])
                }
                _ => (Some(Overlay::Filter { pane, input }), vec![]),
            },
            Overlay::Profiles { selected } => {
                let n = self.profile.profiles.len().max(1);
                match key.code {
                    KeyCode::Esc | KeyCode::Char('q') => (None, vec![]),
                    KeyCode::Down | KeyCode::Char('j') => {
                        (Some(Overlay::Profiles { selected: (selected + 1) % n }), vec![])
                    }
                    KeyCode::Up | KeyCode::Char('k') => {
                        (Some(Overlay::Profiles { selected: (selected + n - 1) % n }), vec![])
                    }
                    KeyCode::Enter => match self.profile.profiles.get(selected).cloned() {
                        Some(p) if p != self.profile.name => (None, vec![Command::SwitchProfile(p)]),
                        _ => (None, vec![]),
                    },
                    _ => (Some(Overlay::Profiles { selected }), vec![]),
                }
            }
        };
        self.overlay = keep;
        cmds
    }

    // ---- mouse --------------------------------------------------------------------------

    fn on_mouse(&mut self, m: MouseEvent) -> Vec<Command> {
        if self.overlay.is_some() {
            return vec![];
        }
        match m.kind {
            MouseEventKind::ScrollDown => self.move_selection(3),
            MouseEventKind::ScrollUp => self.move_selection(-3),
            MouseEventKind::Down(_) => {
                if let Some(p) = crate::ui::pane_at(self, m.column, m.row) {
                    self.focus = p;
                }
                vec![]
            }
            _ => vec![],
        }
    }

    // ---- tasks and detail ---------------------------------------------------------------

    fn on_task_update(&mut self, update: TaskUpdate) -> Vec<Command> {
        match update {
            // Late news from a profile switched away from.
            TaskUpdate::Changed(task) if task.profile != self.profile.name => {}
            TaskUpdate::Changed(task) => {
                self.tasks.remember(&task_key);
                let id = task.id.clone();
                let held = self.tasks.items.iter().position(|t| t.id == id);
                let status_changed = held.map(|i| self.tasks.items[i].status) != Some(task.status);
                match held {
                    // Messages can cross: never replace a newer state with an older one.
                    Some(i) if self.tasks.items[i].updated_at > task.updated_at => {}
                    Some(i) => self.tasks.items[i] = task,
                    None => {
                        let newest_first = self
                            .tasks
                            .items
                            .iter()
                            .position(|t| t.created_at < task.created_at)
                            .unwrap_or(self.tasks.items.len());
                        self.tasks.items.insert(newest_first, task);
                    }
                }
                self.refilter_tasks();
                if self.detail.subject == Subject::Task(id.clone()) {
                    // Once the run ends, its outcome (at the top) matters more than the stream's tail.
                    if self.detail_task().is_some_and(|t| t.status.is_settled()) && self.detail.follow {
                        self.detail.follow = false;
                        self.detail.scroll = 0;
                    }
                    self.rebuild_detail();
                    // Its status history grew: reload it with the messages.
                    if status_changed {
                        return vec![Command::LoadDetail(id)];
                    }
                }
            }
            TaskUpdate::Event { task_id, event } => {
                if self.detail.subject == Subject::Task(task_id) {
                    self.push_event_line(&event);
                    if self.detail.live.len() < MAX_EVENT_LINES {
                        self.detail.live.push((*event).clone());
                    }
                }
            }
            TaskUpdate::Deleted(id) => {
                self.tasks.remember(&task_key);
                self.tasks.items.retain(|t| t.id != id);
                self.refilter_tasks();
            }
        }
        vec![]
    }

    /// Shows a task (newly submitted, or opened) in the detail pane.
    pub fn show_task(&mut self, id: &str) -> Vec<Command> {
        self.detail.subject = Subject::Task(id.to_string());
        self.detail.event_lines.clear();
        self.detail.last_node = None;
        self.detail.last_seq = None;
        self.detail.live.clear();
        self.detail.history.clear();
        self.detail.node_outputs = None;
        self.detail.scroll = 0;
        // A running task is followed as it streams; a finished one opens at the top.
        self.detail.follow = self.tasks.items.iter().find(|t| t.id == id).is_none_or(|t| !t.status.is_settled());
        self.rebuild_detail();
        vec![Command::LoadDetail(id.to_string())]
    }

    /// Selects and shows a task the user just started.
    pub fn submitted(&mut self, task: &Task) -> Vec<Command> {
        self.tasks.select_key(&task.id, task_key);
        self.show_task(&task.id)
    }

    fn push_event_line(&mut self, e: &TaskEvent) {
        if self.detail.last_seq.is_some_and(|s| e.seq <= s) || self.detail.event_lines.len() >= MAX_EVENT_LINES {
            return;
        }
        self.detail.last_seq = Some(e.seq);
        if self.detail.event_lines.is_empty() {
            self.detail.event_lines.push((LineKind::Heading, "messages".into()));
        }
        if self.detail.last_node.as_deref() != Some(e.node_title.as_str()) {
            let title = if e.node_title.is_empty() { "(end)".to_string() } else { e.node_title.clone() };
            self.detail.event_lines.push((LineKind::Node, format!("▸ {title}")));
            self.detail.last_node = Some(e.node_title.clone());
        }
        for line in e.content.lines().take(200) {
            self.detail.event_lines.push((LineKind::Text, format!("  {line}")));
        }
    }

    fn rebuild_detail(&mut self) {
        let lines = match &self.detail.subject {
            Subject::None => {
                vec![(LineKind::Dim, "Open a task (Tasks, Enter) or a workflow to see it here.".to_string())]
            }
            Subject::Workflow => self.workflow_lines(),
            Subject::Task(id) => match self.tasks.items.iter().find(|t| &t.id == id).cloned() {
                Some(t) => self.task_lines(&t),
                None => vec![(LineKind::Dim, format!("task {id} is loading…"))],
            },
        };
        self.detail.lines = lines;
        self.detail.scroll = self.detail.scroll.min(self.detail.len().saturating_sub(1));
    }

    fn workflow_lines(&self) -> Vec<(LineKind, String)> {
        let mut out = vec![];
        let Some(wf) = &self.editor.workflow else { return out };
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
        if self.editor.loading {
            out.push((LineKind::Dim, "loading the input schema…".into()));
        }
        if let Some(e) = &self.editor.error {
            out.push((LineKind::Error, e.clone()));
        }
        if let Some(info) = &self.editor.info {
            out.push((LineKind::Heading, "inputs".into()));
            match info.input.as_ref().filter(|i| !i.parameters.is_empty()) {
                None => out.push((LineKind::Dim, "(none)".into())),
                Some(input) => {
                    fn add(out: &mut Vec<(LineKind, String)>, prefix: &str, name: &str, p: &crate::coze::Parameter) {
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
                                add(out, &format!("{prefix}  "), k, v);
                            }
                        }
                    }
                    for (name, p) in input.parameters.iter() {
                        add(&mut out, "", name, p);
                    }
                }
            }
            if let Some(o) = info.output.as_ref() {
                out.push((LineKind::Heading, "outputs".into()));
                for (name, p) in o.parameters.iter() {
                    out.push((LineKind::Field, format!("{name}: {}", p.kind)));
                }
                if let Some(plan) = &o.terminate_plan {
                    out.push((LineKind::Dim, format!("ends by {plan}")));
                }
            }
        }
        out
    }

    fn task_lines(&self, t: &Task) -> Vec<(LineKind, String)> {
        let mut out = vec![];
        let title = t.name.clone().unwrap_or_else(|| t.workflow_name.clone().unwrap_or_else(|| t.workflow_id.clone()));
        out.push((LineKind::Heading, format!("{} {} · {}", t.status.symbol(), t.status.as_str(), title)));
        let field = |k: &str, v: String| (LineKind::Field, format!("{k:<11}{v}"));
        out.push(field("task", t.id.clone()));
        out.push(field("workflow", format!("{} ({})", t.workflow_name.as_deref().unwrap_or("?"), t.workflow_id)));
        let mode = if t.mode != t.requested_mode {
            format!("{} (asked {})", t.mode.as_str(), t.requested_mode.as_str())
        } else {
            t.mode.as_str().into()
        };
        out.push(field("mode", mode));
        if let Some(d) = &t.description {
            out.push(field("about", d.clone()));
        }
        out.push(field("created", crate::tasks::rfc3339(t.created_at)));
        if let Some(f) = t.finished_at {
            out.push(field(
                "finished",
                format!("{} (took {})", crate::tasks::rfc3339(f), crate::tasks::human_duration(t.elapsed_ms(f))),
            ));
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
        if let Some(e) = &t.error {
            let code = e.code.map(|c| format!("{c}: ")).unwrap_or_default();
            out.push((LineKind::Error, format!("error      {code}{}", e.message)));
        }
        if t.status == TaskStatus::Interrupted
            && let Some(i) = &t.interrupt
        {
            out.push((LineKind::Question, format!("question   {}", i.question.as_deref().unwrap_or("(none given)"))));
            out.push((LineKind::Dim, format!("           press a to answer ({} answered so far)", i.answers)));
        }
        for n in &t.notes {
            out.push((LineKind::Dim, format!("note       {n}")));
        }
        out.push((LineKind::Heading, "parameters".into()));
        for l in params::pretty(&Value::Object(t.parameters.clone())).lines() {
            out.push((LineKind::Text, l.to_string()));
        }
        if let Some(output) = t.output.as_deref() {
            out.push((LineKind::Heading, "output".into()));
            let text = match decode_output(output) {
                Value::String(s) => s,
                v => params::pretty(&v),
            };
            let total = text.lines().count();
            for l in text.lines().take(MAX_OUTPUT_LINES) {
                out.push((LineKind::Text, l.to_string()));
            }
            if total > MAX_OUTPUT_LINES {
                out.push((
                    LineKind::Dim,
                    format!("… {} more lines: y copies the whole output", total - MAX_OUTPUT_LINES),
                ));
            }
        }
        match &self.detail.node_outputs {
            Some(Ok(nodes)) if nodes.is_empty() => out.push((LineKind::Dim, "no node outputs recorded".into())),
            Some(Ok(nodes)) => {
                out.push((LineKind::Heading, "node outputs".into()));
                for (title, text) in nodes {
                    out.push((LineKind::Node, format!("▸ {title}")));
                    for l in text.lines().take(200) {
                        out.push((LineKind::Text, format!("  {l}")));
                    }
                }
            }
            Some(Err(e)) => out.push((LineKind::Error, format!("node outputs: {e}"))),
            None => {}
        }
        if !self.detail.history.is_empty() {
            out.push((LineKind::Heading, "history".into()));
            for h in &self.detail.history {
                let note = h.note.as_deref().map(|n| format!("  {n}")).unwrap_or_default();
                out.push((LineKind::Dim, format!("{}  {}{note}", crate::tasks::rfc3339(h.at), h.status.as_str())));
            }
        }
        out
    }
}

/// An output as text to copy: strings as they are, JSON pretty-printed.
pub fn output_text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        v => params::pretty(&v),
    }
}

fn task_key(t: &Arc<Task>) -> &str {
    &t.id
}

fn single_line_input(placeholder: &str) -> TextArea<'static> {
    let mut t = TextArea::default();
    t.set_placeholder_text(placeholder.to_string());
    t.set_cursor_line_style(ratatui::style::Style::default());
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> App {
        App::new(ProfileInfo { name: "p".into(), ..Default::default() }, Keymap::default())
    }

    fn task(id: &str, profile: &str, updated_at: i64) -> Task {
        Task { updated_at, ..Task::pending(id.into(), profile.into(), "w".into(), RunMode::Stream, 1000) }
    }

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

    fn messages(app: &App) -> Vec<String> {
        app.detail.event_lines.iter().filter(|(k, _)| *k == LineKind::Text).map(|(_, t)| t.trim().to_string()).collect()
    }

    #[test]
    fn stored_and_live_messages_interleave_without_loss_or_repeats() {
        let mut a = app();
        a.update(Msg::TasksLoaded { tasks: vec![task("t", "p", 1)], as_of: 1 });
        a.show_task("t");
        // A live message stored after the snapshot was read arrives first...
        a.update(Msg::Task(TaskUpdate::Event { task_id: "t".into(), event: Arc::new(event(3)) }));
        // ...then the snapshot (0..=2), then a live one the snapshot also has.
        let events = (0..3).map(event).collect();
        a.update(Msg::Detail { task_id: "t".into(), task: None, events, history: vec![] });
        a.update(Msg::Task(TaskUpdate::Event { task_id: "t".into(), event: Arc::new(event(2)) }));
        a.update(Msg::Task(TaskUpdate::Event { task_id: "t".into(), event: Arc::new(event(4)) }));
        assert_eq!(messages(&a), ["m0", "m1", "m2", "m3", "m4"]);
    }

    #[test]
    fn a_late_snapshot_neither_loses_news_nor_keeps_the_deleted() {
        let mut a = app();
        a.update(Msg::TasksLoaded { tasks: vec![task("old", "p", 10), task("gone", "p", 10)], as_of: 10 });
        // Live news newer than the next snapshot, and a task created after it.
        a.update(Msg::Task(TaskUpdate::Changed(Arc::new(Task {
            status: TaskStatus::Succeeded,
            ..task("old", "p", 30)
        }))));
        a.update(Msg::Task(TaskUpdate::Changed(Arc::new(task("new", "p", 25)))));
        a.update(Msg::TasksLoaded { tasks: vec![task("old", "p", 20), task("elsewhere", "q", 20)], as_of: 20 });
        let ids: Vec<&str> = a.tasks.items.iter().map(|t| t.id.as_str()).collect();
        assert!(ids.contains(&"old") && ids.contains(&"new"), "{ids:?}");
        assert!(!ids.contains(&"gone"), "deleted by someone else before the snapshot");
        assert!(!ids.contains(&"elsewhere"), "another profile's task");
        assert_eq!(
            a.tasks.items.iter().find(|t| t.id == "old").unwrap().status,
            TaskStatus::Succeeded,
            "newer news kept"
        );
        // Updates for another profile (late news after a switch) are ignored.
        a.update(Msg::Task(TaskUpdate::Changed(Arc::new(task("stray", "q", 40)))));
        assert!(a.tasks.items.iter().all(|t| t.profile == "p"));
        assert_eq!(a.update(Msg::Submitted(task("stray", "q", 40))), vec![]);
    }

    #[test]
    fn quitting_with_unrun_edits_asks_first() {
        let mut a = app();
        let key = |c: char| Msg::Key(KeyEvent::from(KeyCode::Char(c)));
        a.update(key('3'));
        a.update(key('i'));
        a.update(key('x'));
        a.update(Msg::Key(KeyEvent::from(KeyCode::Esc)));
        assert!(a.editor.dirty);
        assert_eq!(a.update(key('q')), vec![], "asks instead");
        assert!(matches!(a.overlay, Some(Overlay::ConfirmQuit)));
        assert_eq!(a.update(key('n')), vec![]);
        assert!(a.overlay.is_none() && !a.quit);
        a.update(key('q'));
        assert_eq!(a.update(key('y')), vec![Command::Quit]);
        // Ctrl-C never asks.
        let mut b = app();
        b.editor.dirty = true;
        assert_eq!(b.update(Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))), vec![Command::Quit]);
    }

    #[test]
    fn the_mouse_focuses_panes_and_scrolls() {
        use ratatui::crossterm::event::{MouseButton, MouseEvent};
        let mouse = |kind, column, row| Msg::Mouse(MouseEvent { kind, column, row, modifiers: KeyModifiers::NONE });
        let mut a = app();
        a.update(Msg::Resize(120, 40));
        a.update(Msg::TasksLoaded { tasks: (0..5).map(|i| task(&format!("t{i}"), "p", i)).collect(), as_of: 9 });
        // The tasks pane is top right in the wide layout.
        a.update(mouse(MouseEventKind::Down(MouseButton::Left), 100, 3));
        assert_eq!(a.focus, Pane::Tasks);
        a.update(mouse(MouseEventKind::ScrollDown, 100, 3));
        assert_eq!(a.tasks.selected, 3, "the wheel moves three rows");
        // In the compact layout, clicking a tab focuses its pane.
        a.update(Msg::Resize(80, 24));
        a.update(mouse(MouseEventKind::Down(MouseButton::Left), 15, 0));
        assert_eq!(a.focus, Pane::Workflows);
    }

    #[test]
    fn copying_a_summary_loads_the_output_first() {
        let mut a = app();
        a.update(Msg::TasksLoaded {
            tasks: vec![Task { status: TaskStatus::Succeeded, ..task("t", "p", 1) }],
            as_of: 1,
        });
        a.update(Msg::Key(KeyEvent::from(KeyCode::Char('4'))));
        assert_eq!(
            a.update(Msg::Key(KeyEvent::from(KeyCode::Char('y')))),
            vec![Command::LoadOutputForCopy("t".into())]
        );
        assert_eq!(a.update(Msg::OutputForCopy(Ok("out".into()))), vec![Command::Copy("out".into())]);
    }
}
