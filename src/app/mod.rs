//! The dashboard's state and its one pure step: `update(msg) -> commands`.
//!
//! Data flows one way: terminal events and results from background work arrive as [`Msg`]s;
//! `update` changes the state and returns [`Command`]s for the runtime to carry out (network,
//! ledger, clipboard, `$EDITOR`, suspending); their results come back as more `Msg`s. Nothing
//! here awaits or touches the terminal, so tests drive it with keys and read the state or a
//! rendered frame.
//!
//! `App` routes: a key goes to the open dialog (`dialogs`), else to the focused pane
//! (`lists`, `editor`, `task_list`, `detail`), each owning its state and its keys.

pub mod chat;
mod detail;
mod dialogs;
mod editor;
pub mod help;
pub mod inputs;
pub mod keymap;
mod lists;
pub mod palette;
mod picker;
pub mod suites;
mod task_list;
mod viewer;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use serde_json::{Map, Value};

use crate::coze::{Workflow, WorkflowInfo, Workspace};
use crate::params;
use crate::tasks::{Changes, NewTask, StatusChange, Task, TaskEvent, TaskSummary, TaskUpdate};
use crate::text::Clock;
pub use detail::{Detail, LineKind, Subject};
pub use dialogs::Overlay;
pub use editor::{Editor, Kept};
pub use keymap::{Action, Context, Keymap};
pub use palette::Palette;
pub use picker::Picker;
pub use task_list::TaskList;
pub use viewer::Viewer;

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
        /// Its last parameters run and its draft, from the ledger.
        kept: Kept,
    },
    /// The workflows known across workspaces (for the palette).
    Catalogue(Result<Vec<crate::tasks::KnownWorkflow>, String>),
    /// A workflow's draft could not be written (after retries).
    DraftNotKept {
        workflow_id: String,
        error: String,
        /// The first failure since drafts were last written: worth a message.
        first: bool,
    },
    /// A task was saved as a case in this suite file (the message says how).
    CaseSaved {
        path: String,
        said: String,
    },
    /// Suite files to offer in the suites view.
    SuiteFiles(Result<Vec<suites::SuiteFile>, String>),
    /// A suite run began: its cases and their tasks.
    SuiteStarted(suites::SuiteRunView),
    /// A case of a suite run was judged.
    SuiteCase {
        run_id: String,
        task_id: String,
        passed: bool,
        status: Option<crate::tasks::TaskStatus>,
        failures: Vec<crate::suite::check::CaseFailure>,
        duration_ms: Option<i64>,
    },
    SuiteFinished {
        run_id: String,
        passed: usize,
        failed: usize,
    },
    /// A suite could not run (a bad file, an unknown workflow…).
    SuiteFailed(String),
    /// A workflow's published versions (for the version list).
    Versions {
        workflow_id: String,
        result: Result<Vec<crate::coze::WorkflowVersion>, String>,
    },
    /// Tab's completion of a typed path: the longest common extension, and the candidates.
    PathCompleted {
        typed: String,
        completed: String,
        candidates: Vec<String>,
    },
    /// A file's upload went this far (bytes sent of all).
    Uploading {
        name: String,
        sent: u64,
        total: u64,
    },
    /// A file for a file input was uploaded (or why not).
    Uploaded {
        workflow_id: String,
        input: String,
        result: Result<crate::tasks::AttachedFile, String>,
    },
    /// A chatflow's conversations in the ledger, latest first.
    Conversations {
        workflow_id: String,
        result: Result<Vec<crate::tasks::ConversationSummary>, String>,
    },
    /// A conversation's turns in the ledger, oldest first.
    ConversationTurns {
        conversation_id: String,
        result: Result<Vec<Task>, String>,
    },
    /// The sign-in's code to show (first-run screen).
    LoginCode {
        attempt: u64,
        user_code: String,
        url: String,
        expires_in: u64,
    },
    /// The sign-in ended: approved (the session connects) or why not.
    LoginDone {
        attempt: u64,
        result: Result<(), String>,
    },
    /// Two tasks compared (or why not).
    Diff(Result<Box<crate::suite::check::Comparison>, String>),
    /// A task's workflow, its workspace (when recorded) and parameters, for the editor.
    TaskParameters(Result<TaskParameters, String>),
    /// The outcome and latency of the last call to Coze.
    Health(Health),
    /// This profile's tasks as the ledger had them at `revision`.
    TasksLoaded {
        tasks: Vec<TaskSummary>,
        revision: i64,
    },
    /// Tasks written or deleted after the last snapshot or changes, in revision order.
    TasksChanged(Changes),
    /// How many tasks other profiles have in the ledger.
    OtherProfiles(u64),
    /// The task list could not be read from the ledger.
    TasksFailed(String),
    /// A task's output, loaded for copying.
    OutputForCopy(Result<String, String>),
    Task(TaskUpdate),
    /// A run the user started (or re-ran) is recorded.
    Submitted(Task),
    /// A run the user started could not be recorded (nothing was sent); `chat` for a chat turn.
    NotSubmitted {
        chat: bool,
        error: String,
    },
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

impl Msg {
    /// The error, when this reports background work that failed (for the log).
    pub fn failure(&self) -> Option<&str> {
        match self {
            Msg::Workspaces(Err(e))
            | Msg::Workflows { result: Err(e), .. }
            | Msg::WorkflowInfo { result: Err(e), .. }
            | Msg::TasksFailed(e)
            | Msg::OutputForCopy(Err(e))
            | Msg::TaskParameters(Err(e))
            | Msg::Catalogue(Err(e))
            | Msg::Diff(Err(e))
            | Msg::NodeOutputs { result: Err(e), .. }
            | Msg::NotSubmitted { error: e, .. }
            | Msg::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// What `e` puts in the editor: a task's workflow, its workspace (when recorded), its
/// parameters.
#[derive(Debug)]
pub struct TaskParameters {
    pub workflow: Workflow,
    pub workspace_id: Option<String>,
    pub parameters: Map<String, Value>,
}

/// Work for the runtime (`session`, and `tui` for what needs the terminal). Results come back
/// as [`Msg`]s.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    LoadWorkspaces,
    LoadWorkflows(String),
    LoadWorkflowInfo(String),
    LoadTasks,
    /// Show every profile's tasks (or this profile's only): a new snapshot follows.
    ShowAllProfiles(bool),
    /// Ring the terminal's bell.
    Bell,
    LoadDetail(String),
    LoadNodeOutputs {
        task_id: String,
        workflow_id: String,
        execute_id: String,
    },
    Submit(Box<NewTask>),
    /// Keep (or forget, with `None`) the editor's unrun text for a workflow.
    SaveDraft {
        workflow_id: String,
        text: Option<String>,
    },
    /// Read a task's parameters for the editor.
    LoadTaskParameters(String),
    /// Append a task to a suite file as a test case (the file and its folder made if need be).
    SaveCase {
        task_id: String,
        path: String,
    },
    /// The suite files to offer: `coze-tests/`, recently run ones, and `also` (saved to here).
    ListSuites {
        also: Vec<String>,
    },
    /// Run a suite file in the background, reporting each case as it ends.
    RunSuite {
        path: String,
    },
    /// Compare two tasks (the marked one first) in Detail.
    LoadDiff {
        a: String,
        b: String,
    },
    /// Read the workflows known across workspaces; with `refresh`, list them all again after.
    LoadCatalogue {
        refresh: bool,
    },
    Resume {
        task_id: String,
        answer: String,
    },
    /// A workflow's published versions, with their inputs.
    LoadVersions(String),
    /// Forget the app or bot a workflow ran with.
    ForgetRunIn(String),
    /// Remember a workflow by id (Coze Studio cannot list them), then list them again.
    AddWorkflow {
        workflow_id: String,
        name: Option<String>,
    },
    /// Sign in with the device grant (first-run screen); `CancelLogin` stops waiting.
    StartLogin(u64),
    CancelLogin,
    /// Signed in: connect with the new tokens.
    SignedIn,
    /// Complete a typed path (Tab in the attach prompt).
    CompletePath(String),
    /// A chatflow's conversations (from the ledger).
    LoadConversations(String),
    /// A conversation's turns (from the ledger).
    LoadConversation(String),
    /// Upload a file for a file input of the open workflow.
    Upload {
        workflow_id: String,
        input: String,
        file: crate::upload::LocalFile,
    },
    Rerun(String),
    Delete(String),
    Copy(String),
    /// Load a task's output from the ledger, then copy it.
    LoadOutputForCopy(String),
    OpenEditor(String),
    /// Write text to a new file of this name in the current directory.
    Save {
        name: String,
        text: String,
    },
    SwitchProfile(String),
    StartDemo,
    /// Hand the terminal back to the shell until resumed (Ctrl-Z).
    Suspend,
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
    /// How the token was got, when not a personal access token.
    pub sign_in: Option<SignIn>,
}

/// A token not pasted in: signed in with a code (until when the sign-in lasts unused, when
/// known, in Unix seconds), or minted for a service app.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SignIn {
    Code { until: Option<i64> },
    ServiceApp,
}

/// Where the last frame put things, recorded by the driver after each draw: clicks and paging
/// use what the user saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Areas {
    /// The panes on screen (all five when wide; the focused one when compact).
    pub panes: Vec<(Pane, Rect)>,
    /// The tab labels (compact layout only).
    pub tabs: Vec<(Pane, Rect)>,
    /// Text rows of the Detail pane (for paging and following).
    pub detail_rows: usize,
}

impl Default for Areas {
    fn default() -> Self {
        Self { panes: vec![], tabs: vec![], detail_rows: 20 }
    }
}

/// A short message in the status bar, until it expires.
#[derive(Debug, Clone)]
pub struct Toast {
    pub text: String,
    pub until: Instant,
}

/// How long a toast stays.
const TOAST_FOR: Duration = Duration::from_secs(4);
/// A run at least this long rings the bell when it ends (with `[ui] bell`).
const LONG_RUN_MS: i64 = 30_000;
/// Messages kept in the log (`!`).
const LOG_KEPT: usize = 1_000;

pub struct App {
    pub focus: Pane,
    pub profile: ProfileInfo,
    pub health: Health,
    pub workspaces: Picker<Workspace>,
    pub workflows: Picker<Workflow>,
    /// The workspace whose workflows are listed.
    pub workspace_id: Option<String>,
    pub editor: Editor,
    pub tasks: TaskList,
    pub detail: Detail,
    pub overlay: Option<Overlay>,
    pub toast: Option<Toast>,
    /// Every toast so far, oldest first, with when it came (unix ms): the status bar cuts
    /// them short, the log (`!`) has them whole.
    pub log: std::collections::VecDeque<(i64, String)>,
    pub keymap: Keymap,
    /// Set when no token is configured: the first-run screen explains what to do.
    pub first_run: Option<String>,
    pub spinner: usize,
    /// Requests this profile made today (all processes), when known.
    pub requests_today: Option<u64>,
    pub size: (u16, u16),
    /// Problems with the configuration (key bindings), shown at start and in the help.
    pub warnings: Vec<String>,
    /// Where the last frame drew things.
    pub drawn: Areas,
    /// The time and time zone shown (fixed in snapshots).
    pub clock: Clock,
    /// The focused pane fills the screen (`z`).
    pub zoomed: bool,
    /// A workflow just added by id, selected once the list comes back.
    select_after_load: Option<String>,
    /// The palette has listed every workspace once in this dashboard.
    catalogue_refreshed: bool,
    /// Failed runs not yet looked at (a badge on the Tasks tab until opened).
    pub unseen_failures: std::collections::HashSet<String>,
    /// Ring the bell for runs that need attention (`[ui] bell`).
    pub bell: bool,
    /// The task marked (`m`) to compare another with (`D`).
    pub marked: Option<String>,
    /// Suite files cases were saved to here (`c`): the suites view offers them.
    pub saved_suites: Vec<String>,
    /// The suite run going on or last run here (the suites view shows it).
    pub suite_run: Option<suites::SuiteRunView>,
    /// A suite asked to run and not yet started.
    pub suite_starting: Option<String>,
    /// The mouse is captured (`[ui] mouse`), for the help.
    pub mouse: bool,
    /// A file being uploaded: (name, bytes sent, bytes in all).
    pub uploading: Option<(String, u64, u64)>,
    /// The chat of a chatflow (kept while another dialog is open or the view is closed).
    pub chat: Option<chat::ChatView>,
    /// Signing in from the first-run screen, and which attempt it is (late news of an
    /// earlier one is ignored).
    pub login: Option<LoginScreen>,
    login_attempt: u64,
}

/// The first-run screen's sign-in: asking Coze for a code, showing it, or why it stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginScreen {
    Asking,
    Code {
        user_code: String,
        url: String,
        qr: Vec<String>,
        /// Unix milliseconds when the code stops working.
        until_ms: i64,
    },
    Failed(String),
}

impl App {
    /// The open "workspace" is a Coze Studio (which has none, nor a workflow list).
    pub fn in_studio(&self) -> bool {
        self.workspace_id.as_deref() == Some(crate::catalogue::STUDIO_SPACE)
    }

    pub fn new(profile: ProfileInfo, keymap: Keymap) -> Self {
        let mut app = Self {
            focus: Pane::Workspaces,
            tasks: TaskList::new(&profile.name),
            profile,
            health: Health::Unknown,
            workspaces: Picker::default(),
            workflows: Picker::default(),
            workspace_id: None,
            editor: Editor::default(),
            detail: Detail::default(),
            overlay: None,
            toast: None,
            log: Default::default(),
            keymap,
            first_run: None,
            spinner: 0,
            requests_today: None,
            size: (80, 24),
            warnings: vec![],
            drawn: Areas::default(),
            clock: Clock::system(),
            zoomed: false,
            select_after_load: None,
            catalogue_refreshed: false,
            unseen_failures: Default::default(),
            bell: false,
            marked: None,
            saved_suites: vec![],
            suite_run: None,
            suite_starting: None,
            uploading: None,
            chat: None,
            login: None,
            login_attempt: 0,
            mouse: false,
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
        self.tasks.list.loading = true;
        match self.warnings.as_slice() {
            [] => {}
            [one] => self.toast(&one.clone()),
            many => {
                let help = self.keymap.key(Context::Global, Action::Help).unwrap_or_default();
                self.toast(&format!("{} problems in the config ({help} lists them)", many.len()))
            }
        }
        vec![Command::LoadWorkspaces, Command::LoadTasks]
    }

    fn loading(&self) -> bool {
        let listing = matches!(&self.overlay, Some(Overlay::Palette(p)) if p.pending > 0);
        self.workspaces.loading || self.workflows.loading || self.editor.loading || self.tasks.list.loading || listing
    }

    /// When the clock should next tick: quickly while something loads (a spinner), once a
    /// second while runs go on (their times are in whole seconds), when a toast expires, and
    /// never otherwise. A slow SSH link gets a few bytes a second from a dashboard with a
    /// hundred runs in flight, and nothing from an idle one.
    pub fn tick_every(&self) -> Option<Duration> {
        let toast = self.toast.as_ref().map(|t| t.until.saturating_duration_since(Instant::now()));
        let work = if self.loading() {
            Some(Duration::from_millis(250))
        } else if self.tasks.running() > 0 || matches!(self.login, Some(LoginScreen::Code { .. })) {
            // (A sign-in code counts down.)
            Some(Duration::from_secs(1))
        } else {
            None
        };
        match (work, toast) {
            (Some(w), Some(t)) => Some(w.min(t)),
            (w, t) => w.or(t),
        }
    }

    /// Tasks not yet settled.
    pub fn running_count(&self) -> usize {
        self.tasks.running()
    }

    pub fn selected_task(&self) -> Option<&Arc<TaskSummary>> {
        self.tasks.current()
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        let mut cmds = self.step(msg);
        // Every change to the editor's text is kept as it happens: a crash, a closed SSH
        // window or Ctrl-C loses nothing typed.
        if let Some(save) = self.editor.draft_to_save() {
            cmds.insert(0, save);
        }
        cmds
    }

    fn step(&mut self, msg: Msg) -> Vec<Command> {
        if self.toast.as_ref().is_some_and(|t| Instant::now() >= t.until) {
            self.toast = None;
        }
        match msg {
            Msg::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            Msg::Key(_) => vec![],
            Msg::Mouse(m) => self.on_mouse(m),
            Msg::Paste(text) => {
                if self.focus == Pane::Editor && self.overlay.is_none() {
                    self.editor.paste(&text);
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
            Msg::Workspaces(result) => self.on_workspaces(result),
            Msg::Workflows { workspace_id, result } => {
                self.on_workflows(workspace_id, result);
                vec![]
            }
            Msg::WorkflowInfo { workflow_id, result, kept } => self.on_workflow_info(workflow_id, result, kept),
            Msg::LoginCode { attempt, user_code, url, expires_in } => {
                if self.login.is_some() && attempt == self.login_attempt {
                    let qr = crate::auth::qr_lines(&url).unwrap_or_default();
                    let until_ms = self.clock.now_ms().saturating_add(expires_in.min(3600) as i64 * 1000);
                    self.login = Some(LoginScreen::Code { user_code, url, qr, until_ms });
                }
                vec![]
            }
            // Only the attempt on screen counts (one stopped with Esc, or the demo started
            // meanwhile, does not connect anything).
            Msg::LoginDone { attempt, .. } if attempt != self.login_attempt || self.login.is_none() => vec![],
            Msg::LoginDone { result: Ok(()), .. } if self.first_run.is_some() => {
                self.login = None;
                vec![Command::SignedIn]
            }
            Msg::LoginDone { result: Ok(()), .. } => {
                self.login = None;
                vec![]
            }
            Msg::LoginDone { result: Err(e), .. } => {
                self.login = Some(LoginScreen::Failed(e));
                vec![]
            }
            Msg::Conversations { workflow_id, result } => {
                self.on_conversations(&workflow_id, result);
                vec![]
            }
            Msg::ConversationTurns { conversation_id, result } => {
                self.on_conversation(&conversation_id, result);
                vec![]
            }
            Msg::Versions { workflow_id, result } => {
                self.on_versions(workflow_id, result);
                vec![]
            }
            Msg::PathCompleted { typed, completed, candidates } => {
                self.on_path_completed(&typed, completed, candidates);
                vec![]
            }
            Msg::Uploading { name, sent, total } => {
                self.uploading = (sent < total).then_some((name, sent, total));
                vec![]
            }
            Msg::Uploaded { workflow_id, input, result } => {
                self.uploading = None;
                self.on_uploaded(&workflow_id, &input, result);
                vec![]
            }
            Msg::DraftNotKept { workflow_id, error, first } => {
                self.editor.draft_not_kept(&workflow_id);
                if first {
                    self.toast(&format!("your unrun edit is not kept in the ledger: {error} (it stays on screen)"));
                }
                vec![]
            }
            Msg::CaseSaved { path, said } => {
                if !self.saved_suites.contains(&path) {
                    self.saved_suites.push(path);
                }
                self.toast(&said);
                vec![]
            }
            Msg::SuiteFiles(result) => {
                self.on_suite_files(result);
                vec![]
            }
            Msg::SuiteStarted(run) => {
                self.on_suite_started(run);
                vec![]
            }
            Msg::SuiteCase { run_id, task_id, passed, status, failures, duration_ms } => {
                self.on_suite_case(&run_id, &task_id, passed, status, failures, duration_ms);
                vec![]
            }
            Msg::SuiteFinished { run_id, passed, failed } => {
                self.on_suite_finished(&run_id, passed, failed);
                vec![]
            }
            Msg::SuiteFailed(e) => {
                self.on_suite_failed(e);
                vec![]
            }
            Msg::Diff(Ok(comparison)) => {
                self.show_diff(*comparison);
                vec![]
            }
            Msg::Catalogue(result) => {
                self.on_catalogue(result);
                vec![]
            }
            Msg::TaskParameters(Ok(t)) => self.load_parameters(t.workflow, t.workspace_id, &t.parameters),
            Msg::Health(h) => {
                self.health = h;
                vec![]
            }
            Msg::TasksLoaded { tasks, revision } => {
                self.tasks.load_snapshot(tasks, revision);
                // A failure no longer listed (deleted, another profile's) has nothing to open.
                let listed = &self.tasks;
                self.unseen_failures.retain(|id| listed.get(id).is_some());
                self.detail_after_snapshot()
            }
            Msg::TasksChanged(changes) => {
                let mut cmds = vec![];
                for t in changes.tasks {
                    cmds.extend(self.on_task_update(TaskUpdate::Changed(Arc::new(t))));
                }
                for id in changes.deleted {
                    cmds.extend(self.on_task_update(TaskUpdate::Deleted(id)));
                }
                cmds.dedup();
                cmds
            }
            Msg::OtherProfiles(n) => {
                self.tasks.other_profiles = Some(n);
                vec![]
            }
            Msg::TasksFailed(text) => {
                self.tasks.list.loading = false;
                self.toast(&text);
                vec![]
            }
            Msg::OutputForCopy(Ok(text)) => vec![Command::Copy(text)],
            Msg::Task(update) => self.on_task_update(update),
            Msg::Submitted(task) if task.profile != self.profile.name => vec![],
            Msg::Submitted(task) => {
                self.chat_on_submitted(&task);
                self.editor.recorded(&task.workflow_id, &task.parameters);
                self.on_task_update(TaskUpdate::Changed(Arc::new(task.clone())));
                self.tasks.select(&task.id);
                // Say where it went: with one pane at a time, the Tasks tab is out of sight.
                let name = task.workflow_name.as_deref().unwrap_or(&task.workflow_id);
                let mut text = format!("started {name} ({}) as task {}", task.mode.as_str(), task.id);
                let compact = !self.drawn.tabs.is_empty() && self.focus != Pane::Tasks;
                if let Some(tasks) = self.keymap.key(Context::Global, Action::Focus4).filter(|_| compact) {
                    text.push_str(&format!(" · {tasks} shows Tasks"));
                }
                self.toast(&text);
                self.show_task(&task.id)
            }
            Msg::Detail { task_id, task: Some(full), events, history } => {
                // A load can cross a deletion: it refreshes the list, never adds to it.
                self.tasks.refresh(&full);
                let full = TaskUpdate::Changed(Arc::new(full));
                let cmds = self.detail_on_update(&full, false);
                self.on_detail(task_id, events, history);
                cmds
            }
            Msg::Detail { task_id, task: None, .. } => {
                if self.detail.subject == Subject::Task(task_id.clone()) {
                    self.clear_detail();
                    self.toast(&format!("task {task_id} no longer exists"));
                }
                vec![]
            }
            Msg::NodeOutputs { task_id, result } => {
                self.on_node_outputs(task_id, result);
                vec![]
            }
            Msg::Edited(Ok(text)) => {
                self.editor.edited(&text);
                self.toast("parameters read back from the editor");
                vec![]
            }
            Msg::NotSubmitted { chat, error } => {
                if chat {
                    self.chat_not_sent(&error);
                }
                self.toast(&format!("not run: {error}"));
                vec![]
            }
            Msg::OutputForCopy(Err(text))
            | Msg::TaskParameters(Err(text))
            | Msg::Diff(Err(text))
            | Msg::Edited(Err(text))
            | Msg::Failed(text)
            | Msg::Toast(text) => {
                self.toast(&text);
                vec![]
            }
            Msg::Quit => vec![Command::Quit],
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Command> {
        // Ctrl-C always quits, even while typing or in a dialog.
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return vec![Command::Quit];
        }
        if self.overlay.is_some() {
            return self.on_dialog_key(key);
        }
        if self.first_run.is_some() {
            let action = self.keymap.lookup(Context::FirstRun, &key);
            // While signing in: Esc stops it (and keeps the first-run screen).
            if self.login.is_some() && matches!(action, Some(Action::Back | Action::Cancel | Action::Quit)) {
                let waiting = matches!(self.login, Some(LoginScreen::Asking | LoginScreen::Code { .. }));
                self.login = None;
                return if waiting { vec![Command::CancelLogin] } else { vec![] };
            }
            return match action {
                Some(Action::Login) if self.login.is_none() => {
                    self.login = Some(LoginScreen::Asking);
                    self.login_attempt += 1;
                    vec![Command::StartLogin(self.login_attempt)]
                }
                Some(Action::StartDemo) if self.login.is_none() => {
                    self.first_run = None;
                    vec![Command::StartDemo]
                }
                Some(Action::Quit) => vec![Command::Quit],
                Some(Action::Suspend) => vec![Command::Suspend],
                _ => vec![],
            };
        }
        if self.focus == Pane::Editor && self.editor.typing {
            self.editor.on_typing_key(key);
            return vec![];
        }
        let Some(action) = self.keymap.lookup(self.focus.context(), &key) else {
            // A letter that does nothing here says so, rather than nothing at all.
            if let KeyCode::Char(c) = key.code
                && !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
            {
                let help = self.keymap.hint(Context::Global, Action::Help, "lists the keys").unwrap_or_default();
                // Shown, not kept in the log: a sentence typed by mistake would flood it.
                let text = format!("{c} does nothing in {} · {help}", self.focus.title());
                self.toast = Some(Toast { text, until: Instant::now() + TOAST_FOR });
            }
            return vec![];
        };
        self.on_action(action)
    }

    /// Actions that mean the same in every pane; the rest go to the focused pane.
    fn on_action(&mut self, action: Action) -> Vec<Command> {
        use Action::*;
        match action {
            // Nothing to ask: an unrun edit is kept as the workflow's draft.
            Quit => vec![Command::Quit],
            Suspend => vec![Command::Suspend],
            Help => {
                self.overlay = Some(Overlay::Help(Box::default()));
                vec![]
            }
            MessageLog => {
                self.overlay = Some(Overlay::MessageLog { scroll: 0 });
                vec![]
            }
            Zoom => {
                self.zoomed = !self.zoomed;
                vec![]
            }
            Palette => self.open_palette(),
            Suites => self.open_suites(),
            FocusNext => self.focus_to(Pane::ALL[(self.focus.index() + 1) % Pane::ALL.len()]),
            FocusPrev => self.focus_to(Pane::ALL[(self.focus.index() + Pane::ALL.len() - 1) % Pane::ALL.len()]),
            Focus1 => self.focus_to(Pane::Workspaces),
            Focus2 => self.focus_to(Pane::Workflows),
            Focus3 => self.focus_to(Pane::Editor),
            Focus4 => self.focus_to(Pane::Tasks),
            Focus5 => self.focus_to(Pane::Detail),
            Filter => {
                self.open_filter();
                vec![]
            }
            Profiles => {
                self.open_profiles();
                vec![]
            }
            _ => match self.focus {
                Pane::Workspaces | Pane::Workflows => self.on_list_action(action),
                Pane::Editor => self.on_editor_action(action),
                Pane::Tasks => self.on_tasks_action(action),
                Pane::Detail => self.on_detail_action(action),
            },
        }
    }

    /// How far a movement key moves a selection or a view, if it is one.
    fn movement(&self, action: Action) -> Option<isize> {
        let page = (self.size.1 as isize / 2).max(1);
        Some(match action {
            Action::Up => -1,
            Action::Down => 1,
            Action::PageUp => -page,
            Action::PageDown => page,
            Action::Top => isize::MIN / 2,
            Action::Bottom => isize::MAX / 2,
            _ => return None,
        })
    }

    fn toast(&mut self, text: &str) {
        self.toast = Some(Toast { text: text.to_string(), until: Instant::now() + TOAST_FOR });
        if self.log.len() == LOG_KEPT {
            self.log.pop_front();
        }
        self.log.push_back((self.clock.now_ms(), text.to_string()));
    }

    fn focus_to(&mut self, pane: Pane) -> Vec<Command> {
        self.focus = pane;
        vec![]
    }

    /// Clicks focus what was drawn under them; the wheel moves the selection.
    fn on_mouse(&mut self, m: MouseEvent) -> Vec<Command> {
        if self.overlay.is_some() {
            return vec![];
        }
        let at = |r: &Rect| r.contains(ratatui::layout::Position { x: m.column, y: m.row });
        match m.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let action = if m.kind == MouseEventKind::ScrollDown { Action::Down } else { Action::Up };
                let mut cmds = vec![];
                // Three rows a notch, as terminals scroll.
                for _ in 0..3 {
                    cmds.extend(self.on_action(action));
                }
                cmds
            }
            MouseEventKind::Down(_) => {
                let hit = self.drawn.tabs.iter().chain(self.drawn.panes.iter()).find(|(_, r)| at(r));
                if let Some((p, _)) = hit {
                    self.focus = *p;
                }
                vec![]
            }
            _ => vec![],
        }
    }

    fn on_task_update(&mut self, update: TaskUpdate) -> Vec<Command> {
        let status_changed = match self.tasks.apply(&update) {
            task_list::Applied::Changed { status_changed, .. } => status_changed,
            task_list::Applied::Removed | task_list::Applied::Ignored => false,
        };
        if let TaskUpdate::Deleted(id) = &update {
            self.unseen_failures.remove(id);
        }
        let mut cmds = if status_changed { self.attention(&update) } else { vec![] };
        cmds.extend(self.detail_on_update(&update, status_changed));
        cmds.extend(self.chat_on_update(&update));
        cmds
    }

    /// A run that needs a look: a failure is counted on the Tasks tab until opened, and the
    /// bell (when on) rings for a question, a failure or the end of a long run.
    fn attention(&mut self, update: &TaskUpdate) -> Vec<Command> {
        let TaskUpdate::Changed(t) = update else { return vec![] };
        let shown = self.detail.subject == Subject::Task(t.id.clone());
        let failed = matches!(t.status, crate::tasks::TaskStatus::Failed | crate::tasks::TaskStatus::Unknown);
        if failed && !shown {
            self.unseen_failures.insert(t.id.clone());
        }
        let long = t.status.is_settled() && t.elapsed_ms(self.clock.now_ms()) >= LONG_RUN_MS;
        let asks = t.status == crate::tasks::TaskStatus::Interrupted;
        if self.bell && (failed || asks || long) { vec![Command::Bell] } else { vec![] }
    }
}

/// An output as text to copy: strings as they are, JSON pretty-printed.
pub fn output_text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        v => params::pretty(&v),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tasks::{RunMode, TaskStatus};

    pub(crate) fn app() -> App {
        App::new(ProfileInfo { name: "p".into(), ..Default::default() }, Keymap::default())
    }

    fn task(id: &str, updated_at: i64) -> Task {
        Task { updated_at, ..Task::pending(id.into(), "p".into(), "w".into(), RunMode::Stream, 1000) }
    }

    fn key(c: char) -> Msg {
        Msg::Key(KeyEvent::from(KeyCode::Char(c)))
    }

    #[test]
    fn quitting_never_asks_because_edits_are_kept() {
        let mut a = app();
        a.update(key('3'));
        a.update(key('i'));
        a.update(key('x'));
        a.update(Msg::Key(KeyEvent::from(KeyCode::Esc)));
        assert_eq!(a.update(key('q')), vec![Command::Quit]);
        let mut b = app();
        assert_eq!(b.update(Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))), vec![Command::Quit]);
    }

    #[test]
    fn ctrl_z_suspends_unless_typing_and_can_be_remapped() {
        let ctrl_z = || Msg::Key(KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL));
        let mut a = app();
        assert_eq!(a.update(ctrl_z()), vec![Command::Suspend]);
        a.update(key('3'));
        a.update(key('i'));
        assert_eq!(a.update(ctrl_z()), vec![], "the editor has it while typing");
        let mut o = std::collections::BTreeMap::new();
        o.insert("suspend".to_string(), vec!["ctrl-s".to_string()]);
        let mut b = App::new(ProfileInfo::default(), Keymap::with_overrides(&o).0);
        assert_eq!(b.update(ctrl_z()), vec![]);
        assert_eq!(
            b.update(Msg::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL))),
            vec![Command::Suspend]
        );
    }

    #[test]
    fn a_toast_expires_by_the_clock_alone() {
        let mut a = app();
        assert_eq!(a.tick_every(), None, "idle: no clock");
        a.update(Msg::Toast("copied".into()));
        let wait = a.tick_every().expect("a tick is scheduled for the toast");
        assert!(wait <= TOAST_FOR && wait > TOAST_FOR - Duration::from_secs(1), "{wait:?}");
        // The driver sends a tick when it is due; nothing else needs to happen.
        a.toast.as_mut().unwrap().until = Instant::now();
        a.update(Msg::Tick);
        assert!(a.toast.is_none());
        assert_eq!(a.tick_every(), None, "idle again");
    }

    #[test]
    fn the_mouse_focuses_what_was_drawn_under_it_and_scrolls() {
        use ratatui::crossterm::event::{MouseButton, MouseEvent};
        let mouse = |kind, column, row| Msg::Mouse(MouseEvent { kind, column, row, modifiers: KeyModifiers::NONE });
        let mut a = app();
        let tasks = (0..5).map(|i| (&task(&format!("t{i}"), i)).into()).collect();
        a.update(Msg::TasksLoaded { tasks, revision: 9 });
        a.drawn.panes = vec![(Pane::Workspaces, Rect::new(0, 0, 40, 20)), (Pane::Tasks, Rect::new(40, 0, 40, 20))];
        a.update(mouse(MouseEventKind::Down(MouseButton::Left), 50, 3));
        assert_eq!(a.focus, Pane::Tasks);
        a.update(mouse(MouseEventKind::ScrollDown, 50, 3));
        assert_eq!(a.tasks.list.selected, 3, "the wheel moves three rows");
        a.drawn = Areas { panes: vec![], tabs: vec![(Pane::Workflows, Rect::new(12, 0, 13, 1))], detail_rows: 10 };
        a.update(mouse(MouseEventKind::Down(MouseButton::Left), 15, 0));
        assert_eq!(a.focus, Pane::Workflows);
        a.update(mouse(MouseEventKind::Down(MouseButton::Left), 70, 3));
        assert_eq!(a.focus, Pane::Workflows, "nothing was drawn there");
    }

    #[test]
    fn copying_a_summary_loads_the_output_first() {
        let mut a = app();
        let done = Task { status: TaskStatus::Succeeded, output: Some("\"out\"".into()), ..task("t", 1) };
        let nothing = Task { status: TaskStatus::Succeeded, ..task("u", 2) };
        a.update(Msg::TasksLoaded { tasks: vec![(&nothing).into(), (&done).into()], revision: 1 });
        a.update(key('4'));
        // Newest first: "u" has no output to copy.
        assert_eq!(a.update(key('y')), vec![]);
        assert_eq!(a.toast.as_ref().unwrap().text, "this task has no output");
        a.update(key('j'));
        assert_eq!(a.update(key('y')), vec![Command::LoadOutputForCopy("t".into())]);
        assert_eq!(a.update(Msg::OutputForCopy(Ok("out".into()))), vec![Command::Copy("out".into())]);
    }

    #[test]
    fn dialog_keys_follow_the_key_map_and_text_fields_take_characters() {
        let mut o = std::collections::BTreeMap::new();
        o.insert("confirm".to_string(), vec!["ctrl-y".to_string()]);
        o.insert("cancel".to_string(), vec!["ctrl-g".to_string()]);
        let mut a = App::new(ProfileInfo { name: "p".into(), ..Default::default() }, Keymap::with_overrides(&o).0);
        a.update(Msg::TasksLoaded { tasks: vec![(&task("t", 1)).into()], revision: 1 });
        a.update(key('4'));
        a.update(key('d'));
        assert!(matches!(a.overlay, Some(Overlay::ConfirmDelete { .. })));
        assert_eq!(a.update(key('y')), vec![], "y is no longer confirm");
        assert_eq!(
            a.update(Msg::Key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::CONTROL))),
            vec![Command::Delete("t".into())]
        );
        // The filter dialog types every character, even ones bound in dialogs.
        a.update(key('/'));
        for c in "nyq".chars() {
            a.update(key(c));
        }
        assert_eq!(a.tasks.list.filter, "nyq");
        a.update(Msg::Key(KeyEvent::new(KeyCode::Char('g'), KeyModifiers::CONTROL)));
        assert!(a.overlay.is_none() && a.tasks.list.filter.is_empty(), "cancel clears the filter");
    }

    fn summary(t: &Task) -> TaskSummary {
        t.into()
    }

    #[test]
    fn the_detail_follows_the_list_through_snapshots_and_loads_never_add_tasks() {
        let mut a = app();
        let t = Task { revision: 3, ..task("t", 3) };
        a.update(Msg::TasksLoaded { tasks: vec![summary(&t)], revision: 3 });
        assert_eq!(a.show_task("t"), vec![Command::LoadDetail("t".into())]);
        a.update(Msg::Detail { task_id: "t".into(), task: Some(t.clone()), events: vec![], history: vec![] });
        assert_eq!(a.detail_task().map(|d| d.revision), Some(3));
        // A refresh whose snapshot has a newer state than the one shown reloads it...
        let newer = Task { revision: 7, status: TaskStatus::Succeeded, ..t.clone() };
        let cmds = a.update(Msg::TasksLoaded { tasks: vec![summary(&newer)], revision: 7 });
        assert_eq!(cmds, vec![Command::LoadDetail("t".into())]);
        // ...and one without the task asks the ledger: deleted meanwhile clears the pane.
        let cmds = a.update(Msg::TasksLoaded { tasks: vec![], revision: 9 });
        assert_eq!(cmds, vec![Command::LoadDetail("t".into())]);
        a.update(Msg::Detail { task_id: "t".into(), task: None, events: vec![], history: vec![] });
        assert_eq!(a.detail.subject, Subject::None);
        // A load that read a task just before it was deleted does not bring it back.
        a.update(Msg::Detail { task_id: "t".into(), task: Some(newer), events: vec![], history: vec![] });
        assert!(a.tasks.get("t").is_none(), "no ghost in the list");
        // A load that finds nothing says so.
        a.update(Msg::TasksLoaded { tasks: vec![summary(&t)], revision: 10 });
        a.show_task("t");
        a.update(Msg::Detail { task_id: "t".into(), task: None, events: vec![], history: vec![] });
        assert_eq!(a.detail.subject, Subject::None);
        assert!(a.toast.as_ref().unwrap().text.contains("no longer exists"));
    }

    #[test]
    fn the_first_run_screen_quits_with_q_or_esc_only_and_dialogs_let_ctrl_z_through() {
        let mut a = app();
        a.first_run = Some("no token".into());
        assert_eq!(a.update(key('h')), vec![], "h is back elsewhere, not quit here");
        assert_eq!(a.update(Msg::Key(KeyEvent::from(KeyCode::Esc))), vec![Command::Quit]);
        assert_eq!(a.update(key('d')), vec![Command::StartDemo]);
        let mut b = app();
        b.update(key('?'));
        let ctrl_z = Msg::Key(KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL));
        assert_eq!(b.update(ctrl_z), vec![Command::Suspend]);
        assert!(matches!(b.overlay, Some(Overlay::Help { .. })), "the dialog is still open after fg");
    }

    #[test]
    fn a_moment_in_the_detail_is_written_when_drawn() {
        let mut a = app();
        let t = Task { created_at: 1_000_000, finished_at: Some(1_001_000), ..task("t", 1) };
        a.clock = Clock::fixed(1_001_000 + 42_000);
        a.update(Msg::TasksLoaded { tasks: vec![summary(&t)], revision: 1 });
        a.show_task("t");
        a.update(Msg::Detail { task_id: "t".into(), task: Some(t), events: vec![], history: vec![] });
        let draw = |a: &App| {
            let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
            term.draw(|f| {
                crate::ui::draw(f, a);
            })
            .unwrap();
            format!("{:?}", term.backend().buffer())
        };
        assert!(draw(&a).contains("(42 s ago)"));
        a.clock = Clock::fixed(1_001_000 + 5 * 60_000);
        assert!(draw(&a).contains("(5 min ago)"), "nothing rebuilt: the next frame says it");
    }

    #[test]
    fn an_empty_answer_asks_first_and_the_answers_left_are_counted() {
        let mut a = app();
        let asked = Task {
            status: TaskStatus::Interrupted,
            interrupt: Some(crate::tasks::Interrupt { answers: 2, ..Default::default() }),
            ..task("t", 1)
        };
        a.update(Msg::TasksLoaded { tasks: vec![summary(&asked)], revision: 1 });
        a.update(key('4'));
        a.update(key('a'));
        assert!(matches!(a.overlay, Some(Overlay::Answer { left: 1, .. })), "one of three left");
        let enter = || Msg::Key(KeyEvent::from(KeyCode::Enter));
        assert_eq!(a.update(enter()), vec![], "empty: asks first");
        assert!(matches!(a.overlay, Some(Overlay::Answer { empty_warned: true, .. })));
        a.update(key('x'));
        a.update(Msg::Key(KeyEvent::from(KeyCode::Backspace)));
        assert_eq!(a.update(enter()), vec![], "typing (even erased) asks again");
        assert_eq!(a.update(enter()), vec![Command::Resume { task_id: "t".into(), answer: String::new() }]);
    }

    #[test]
    fn every_key_says_something() {
        let mut a = app();
        // At tab sizes a run started from the editor says where to see it.
        a.drawn.tabs = vec![(Pane::Workspaces, Rect::new(0, 0, 10, 1))];
        let t = Task { workflow_name: Some("echo".into()), ..task("t", 1) };
        a.update(Msg::Submitted(t));
        let toast = a.toast.as_ref().unwrap().text.clone();
        assert!(toast.contains("started echo (stream) as task t") && toast.contains("4 shows Tasks"), "{toast}");
        // A letter bound to nothing here says so.
        a.update(key('1'));
        a.update(key('x'));
        assert_eq!(a.toast.as_ref().unwrap().text, "x does nothing in Workspaces · ? lists the keys");
    }

    /// An app with workflow `id` open in the editor, its schema loaded with `kept`.
    fn with_workflow(id: &str, kept: Kept) -> App {
        let mut a = app();
        let wf = Workflow { workflow_id: id.into(), workflow_name: format!("wf{id}"), ..Default::default() };
        a.open_in_editor(wf);
        let info = serde_json::from_value(serde_json::json!({"workflow_detail": {"workflow_id": id}})).unwrap();
        a.update(Msg::WorkflowInfo { workflow_id: id.into(), result: Ok(info), kept });
        a
    }

    fn typed(a: &mut App, text: &str) -> Vec<Command> {
        a.update(key('i'));
        let mut cmds = vec![];
        for c in text.chars() {
            cmds.extend(a.update(key(c)));
        }
        cmds.extend(a.update(Msg::Key(KeyEvent::from(KeyCode::Esc))));
        cmds
    }

    fn drafts(cmds: &[Command]) -> Vec<Option<String>> {
        cmds.iter()
            .filter_map(|c| match c {
                Command::SaveDraft { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_draft_goes_only_once_the_run_is_recorded_and_stays_if_it_is_refused() {
        let mut a = with_workflow("1", Kept::default());
        let cmds = typed(&mut a, " ");
        assert_eq!(drafts(&cmds).last(), Some(&Some(" {}".to_string())), "kept as typed");
        let sent = a.update(key('s'));
        assert!(matches!(sent.as_slice(), [Command::Submit(_)]), "{sent:?}");
        assert!(a.editor.dirty, "not yet recorded: still an edit");
        // Refused: the edit (and its draft) stay.
        assert!(drafts(&a.update(Msg::Failed("4013".into()))).is_empty());
        assert!(a.editor.dirty);
        a.update(key('s'));
        let task = Task { parameters: Map::new(), ..task("t", 1) };
        let task = Task { workflow_id: "1".into(), profile: "p".into(), ..task };
        let cmds = a.update(Msg::Submitted(task));
        assert!(!a.editor.dirty, "recorded: the new starting point");
        assert_eq!(drafts(&cmds), vec![None], "and the draft is forgotten");
    }

    #[test]
    fn a_schema_that_fails_still_shows_the_kept_edit_and_opening_again_retries() {
        let mut a = app();
        let wf = Workflow { workflow_id: "2".into(), ..Default::default() };
        assert_eq!(a.open_in_editor(wf.clone()), vec![Command::LoadWorkflowInfo("2".into())]);
        let kept = Kept { draft: Some("{\"mine\": 1}".into()), ..Default::default() };
        a.update(Msg::WorkflowInfo { workflow_id: "2".into(), result: Err("boom".into()), kept });
        assert_eq!(a.editor.content(), "{\"mine\": 1}", "the draft, though the schema failed");
        assert!(drafts(&typed(&mut a, "x")).last().is_some_and(|d| d.as_deref() == Some("x{\"mine\": 1}")));
        assert_eq!(a.open_in_editor(wf), vec![Command::LoadWorkflowInfo("2".into())], "not 'already open'");
        // Typing while it loads is refused rather than lost.
        a.focus = Pane::Editor;
        a.update(key('i'));
        assert!(!a.editor.typing);
    }

    #[test]
    fn an_unreadable_draft_is_never_overwritten() {
        let kept = Kept { draft_unreadable: Some("database is locked".into()), ..Default::default() };
        let mut a = with_workflow("3", kept);
        assert!(a.toast.as_ref().is_some_and(|t| t.text.contains("could not be read")));
        assert!(drafts(&typed(&mut a, "x")).is_empty());
    }

    #[test]
    fn a_failed_draft_write_is_sent_again() {
        let mut a = with_workflow("4", Kept::default());
        assert_eq!(drafts(&typed(&mut a, "x")).len(), 1);
        let cmds = a.update(Msg::DraftNotKept { workflow_id: "4".into(), error: "locked".into(), first: true });
        assert_eq!(drafts(&cmds), vec![Some("x{}".to_string())]);
    }

    #[test]
    fn undo_takes_back_a_whole_typing_session_and_redo_brings_it_back() {
        let mut a = with_workflow("5", Kept::default());
        typed(&mut a, "abc");
        typed(&mut a, "de");
        assert_eq!(a.editor.content(), "abcde{}");
        a.update(key('u'));
        assert_eq!(a.editor.content(), "abc{}", "the last session, whole");
        a.update(key('u'));
        assert_eq!(a.editor.content(), "{}");
        a.update(Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)));
        assert_eq!(a.editor.content(), "abc{}");
        // Ctrl-_ while typing takes back this session only.
        a.update(key('i'));
        a.update(key('z'));
        a.update(Msg::Key(KeyEvent::new(KeyCode::Char('7'), KeyModifiers::CONTROL)));
        assert_eq!(a.editor.content(), "abc{}");
    }

    #[test]
    fn another_profiles_task_is_not_rerun_with_this_profiles_token() {
        let mut a = app();
        a.tasks.all_profiles = true;
        let other = Task { profile: "q".into(), ..task("t", 1) };
        a.update(Msg::TasksLoaded { tasks: vec![summary(&other)], revision: 1 });
        a.update(key('4'));
        assert_eq!(a.update(key('R')), vec![]);
        assert!(a.toast.as_ref().unwrap().text.contains("profile q's"));
        assert_eq!(a.update(key('e')), vec![]);
    }

    #[test]
    fn one_suite_runs_at_a_time_and_its_run_outlives_the_view() {
        let mut a = app();
        assert!(matches!(a.update(key('T')).as_slice(), [Command::ListSuites { .. }]));
        let file = suites::SuiteFile { path: "s.toml".into(), last: None };
        a.update(Msg::SuiteFiles(Ok(vec![file])));
        let enter = || Msg::Key(KeyEvent::from(KeyCode::Enter));
        assert_eq!(a.update(enter()), vec![Command::RunSuite { path: "s.toml".into() }]);
        assert_eq!(a.update(Msg::Key(KeyEvent::from(KeyCode::Esc))), vec![], "back to the files");
        assert_eq!(a.update(enter()), vec![], "not twice");
        assert!(a.toast.as_ref().unwrap().text.contains("a suite is running"));
        let run = suites::SuiteRunView {
            name: "s".into(),
            path: "s.toml".into(),
            run_id: "r".into(),
            cases: vec![],
            selected: 0,
            finished: false,
        };
        a.update(Msg::SuiteStarted(run));
        a.update(Msg::Key(KeyEvent::from(KeyCode::Esc)));
        a.update(Msg::Key(KeyEvent::from(KeyCode::Esc)));
        assert!(a.overlay.is_none());
        a.update(Msg::SuiteFinished { run_id: "r".into(), passed: 0, failed: 0 });
        a.update(key('T'));
        assert!(matches!(&a.overlay, Some(Overlay::Suites(v)) if v.showing_run), "the run is shown again");
        assert!(a.suite_run.as_ref().is_some_and(|r| r.finished));
    }
}
