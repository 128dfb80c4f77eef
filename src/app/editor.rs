//! The Parameters pane: a JSON editor filled from the workflow's input schema (or the last
//! parameters run), validated as the user types, and the runs it starts.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;
use serde_json::{Map, Value};
use unicode_width::UnicodeWidthStr;

use super::{App, Command, Overlay, Pane, dialogs::single_line_input};
use crate::app::keymap::Action;
use crate::coze::{Workflow, WorkflowInfo};
use crate::params;
use crate::tasks::{NewTask, RunMode};

/// A run asked for while the schema was loading: (mode, name, description).
pub type PendingRun = (RunMode, Option<String>, Option<String>);

/// What the ledger holds after a failed write, as far as the editor knows: equal to no text.
const UNKNOWN_DRAFT: &str = "\u{0}unknown";

/// Whole edits kept for undo (each a copy of the text).
const UNDO_KEPT: usize = 100;

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
    /// The text as filled in, reset or last run: anything else is an edit worth keeping.
    baseline: String,
    /// Differs from `baseline`: kept in the ledger as a draft until run or reset.
    pub dirty: bool,
    /// The parameters this workflow last ran with.
    last_run: Option<Map<String, Value>>,
    /// Top-level parameters that differ from the last run (added, removed or changed).
    pub changed: Vec<String>,
    /// The text before each whole edit (a typing session, a format, a reset, a load), and
    /// the texts undone.
    undo: Vec<String>,
    redo: Vec<String>,
    /// The text when typing started: the whole typing session is one edit.
    typing_from: Option<String>,
    /// What the ledger holds as this workflow's draft, as far as this editor knows.
    draft_saved: Option<String>,
    /// A restored draft is announced once.
    pub restored_draft: bool,
    /// Text to put in once the workflow has opened (a task's parameters).
    pending_text: Option<String>,
    /// The kept draft could not be read: writing one now could overwrite it, so none is
    /// written until the workflow opens again.
    drafts_blocked: bool,
    /// Bumped by every change of the text, so unchanged text costs nothing per message.
    revision: u64,
    /// The revision whose draft was last sent to the ledger.
    draft_revision: u64,
    /// The widest line, in columns (the layout widens the editor for it).
    pub widest: usize,
    /// A run sent and not yet recorded: (workflow, text, parameters). Once recorded it is the
    /// new starting point; if refused, the edit stays an edit (and a draft).
    in_flight: Option<(String, String, Map<String, Value>)>,
    /// A run asked for while the schema was loading: started once it has loaded and checks out.
    pub pending_run: Option<PendingRun>,
    /// The version chosen, the app or bot this workflow runs in (remembered per workflow),
    /// and the files attached.
    pub context: crate::tasks::RunContext,
    /// The chosen version's inputs (the workflow's own are the latest's): `Some(None)` when
    /// Coze did not list them (nothing to check against).
    version_schema: Option<Option<crate::coze::OrderedParams>>,
    /// The chosen version's inputs against the latest's (`params::schema_changes`).
    pub version_changes: Vec<String>,
}

impl Default for Editor {
    fn default() -> Self {
        Self {
            text: styled_textarea(vec![]),
            typing: false,
            workflow: None,
            info: None,
            loading: false,
            error: None,
            validation: params::validate("", None),
            from_last_run: false,
            baseline: String::new(),
            dirty: false,
            last_run: None,
            changed: vec![],
            undo: vec![],
            redo: vec![],
            typing_from: None,
            draft_saved: None,
            restored_draft: false,
            pending_text: None,
            drafts_blocked: false,
            revision: 0,
            draft_revision: 0,
            widest: 0,
            in_flight: None,
            pending_run: None,
            context: Default::default(),
            version_schema: None,
            version_changes: vec![],
        }
    }
}

impl Editor {
    pub fn content(&self) -> String {
        self.text.lines().join("\n")
    }

    /// The inputs runs are checked against: the chosen version's, else the workflow's.
    pub(super) fn schema(&self) -> Option<&crate::coze::OrderedParams> {
        match &self.version_schema {
            Some(chosen) => chosen.as_ref(),
            None => self.info.as_ref().and_then(|i| i.input.as_ref()).map(|i| &i.parameters),
        }
    }

    /// Runs go with `version` (`None`: the latest), checked against its inputs.
    pub(super) fn use_version(&mut self, version: Option<String>, schema: Option<crate::coze::OrderedParams>) {
        let latest = self.info.as_ref().and_then(|i| i.input.as_ref()).map(|i| &i.parameters);
        self.version_changes = match (&version, &schema, latest) {
            (Some(_), Some(s), Some(l)) => params::schema_changes(l, s),
            _ => vec![],
        };
        self.version_schema = version.is_some().then_some(schema);
        self.context.version = version;
        self.revalidate();
    }

    /// Replaces the text as one edit `u` undoes.
    pub(super) fn replace(&mut self, text: &str) {
        if self.typing {
            self.stop_typing();
        }
        self.whole_edit(text);
    }

    /// The run context for a run with `parameters`: the files still in them.
    pub(super) fn context_for(&self, parameters: &Map<String, Value>) -> crate::tasks::RunContext {
        let mut c = self.context.clone();
        let given = Value::Object(parameters.clone()).to_string();
        c.files.retain(|f| given.contains(&f.file_id));
        c
    }

    fn revalidate(&mut self) {
        self.revision += 1;
        self.widest = self.text.lines().iter().map(|l| l.width()).max().unwrap_or(0);
        let content = self.content();
        self.validation = params::validate(&content, self.schema());
        self.dirty = content != self.baseline;
        self.changed = match (&self.last_run, &self.validation.params) {
            (Some(last), Some(now)) => {
                let mut keys: Vec<String> =
                    now.iter().filter(|(k, v)| last.get(*k) != Some(v)).map(|(k, _)| k.clone()).collect();
                keys.extend(last.keys().filter(|k| !now.contains_key(*k)).cloned());
                keys
            }
            _ => vec![],
        };
    }

    /// Puts `text` in as the new starting point (nothing to keep, nothing to undo).
    fn fill(&mut self, text: &str) {
        // Whatever was being typed belonged to what was there before.
        self.typing = false;
        self.typing_from = None;
        self.text = styled_textarea(text.lines().map(str::to_string).collect());
        self.baseline = text.to_string();
        self.undo.clear();
        self.redo.clear();
        self.revalidate();
    }

    /// Replaces the text as one edit that `u` undoes.
    fn whole_edit(&mut self, text: &str) {
        let before = self.content();
        if before == text {
            return;
        }
        self.push_undo(before);
        self.redo.clear();
        self.text = styled_textarea(text.lines().map(str::to_string).collect());
        self.revalidate();
    }

    fn push_undo(&mut self, text: String) {
        if self.undo.len() == UNDO_KEPT {
            self.undo.remove(0);
        }
        self.undo.push(text);
    }

    fn restore(&mut self, text: String) {
        self.text = styled_textarea(text.lines().map(str::to_string).collect());
        self.revalidate();
    }

    /// Undoes the last whole edit; false when there is none.
    pub(super) fn undo(&mut self) -> bool {
        let Some(before) = self.undo.pop() else { return false };
        self.redo.push(self.content());
        self.restore(before);
        true
    }

    pub(super) fn redo(&mut self) -> bool {
        let Some(after) = self.redo.pop() else { return false };
        self.push_undo(self.content());
        self.restore(after);
        true
    }

    pub(super) fn start_typing(&mut self) {
        self.typing = true;
        self.typing_from = Some(self.content());
    }

    /// The typing session ends: all it typed is one edit.
    fn stop_typing(&mut self) {
        self.typing = false;
        if let Some(from) = self.typing_from.take()
            && from != self.content()
        {
            self.push_undo(from);
            self.redo.clear();
        }
    }

    /// A key while typing: Esc stops; Ctrl-U deletes to the start of the line (as in a shell,
    /// not the text area's undo); Ctrl-_ takes back everything typed since typing started;
    /// everything else edits.
    pub(super) fn on_typing_key(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return self.stop_typing(),
            KeyCode::Char('u') if ctrl => {
                self.text.delete_line_by_head();
            }
            KeyCode::Char('_' | '7' | '/') if ctrl => {
                if let Some(from) = self.typing_from.clone()
                    && from != self.content()
                {
                    self.redo.push(self.content());
                    self.restore(from);
                }
            }
            _ => {
                self.text.input(key);
            }
        }
        self.revalidate();
    }

    pub(super) fn paste(&mut self, text: &str) {
        if !self.typing {
            self.start_typing();
        }
        self.text.insert_str(text);
        self.revalidate();
    }

    /// Text back from `$EDITOR`: one edit, not yet run.
    pub(super) fn edited(&mut self, text: &str) {
        self.whole_edit(text);
    }

    fn open(&mut self, wf: Workflow) {
        if self.typing {
            self.stop_typing();
        }
        self.workflow = Some(wf);
        self.pending_run = None;
        self.pending_text = None;
        // Another workflow: its own app or bot comes with its schema; the latest version.
        self.context = Default::default();
        self.version_schema = None;
        self.version_changes.clear();
        self.info = None;
        self.loading = true;
        self.error = None;
    }

    /// The schema of the open workflow (a refresh keeps what the user typed). A newly opened
    /// workflow gets its draft if one was kept, else the last parameters run, else the
    /// template (`{}` when the schema did not load); then the text it was opened for, if any,
    /// as an edit.
    fn on_info(&mut self, id: &str, result: Result<WorkflowInfo, String>, kept: Kept) -> bool {
        if self.workflow.as_ref().map(|w| w.workflow_id.as_str()) != Some(id) {
            return false;
        }
        self.loading = false;
        let same_workflow = self.info.as_ref().is_some_and(|i| i.workflow_detail.workflow_id == id);
        match result {
            Ok(info) => {
                self.info = Some(info);
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
        if !same_workflow {
            self.context = kept.run_in.clone();
            self.last_run = kept.last_params.clone();
            let (text, from_last) = match kept.last_params {
                Some(p) => (params::pretty(&Value::Object(p)), true),
                None => {
                    let template = self.schema().map(params::template).unwrap_or(Value::Object(Map::new()));
                    (params::pretty(&template), false)
                }
            };
            self.fill(&text);
            self.from_last_run = from_last;
            self.drafts_blocked = kept.draft_unreadable.is_some();
            // What the ledger holds; in step with the text once the draft is put back.
            self.draft_saved = kept.draft.clone();
            self.restored_draft = false;
            if let Some(draft) = kept.draft.filter(|d| *d != text) {
                // What was typed last time, on top of where it started (u goes back).
                self.whole_edit(&draft);
                self.restored_draft = true;
            }
            self.draft_revision = self.revision;
        }
        if let Some(text) = self.pending_text.take() {
            self.whole_edit(&text);
        }
        self.revalidate();
        true
    }

    /// The ledger write that keeps this workflow's draft in step with the text: the text while
    /// it differs from where it started, nothing once run or reset. `None` when in step.
    pub(super) fn draft_to_save(&mut self) -> Option<Command> {
        if self.revision == self.draft_revision || self.drafts_blocked || self.loading {
            return None;
        }
        let wf = self.workflow.as_ref()?;
        self.draft_revision = self.revision;
        let want = self.dirty.then(|| self.content());
        if want == self.draft_saved {
            return None;
        }
        self.draft_saved = want.clone();
        Some(Command::SaveDraft { workflow_id: wf.workflow_id.clone(), text: want })
    }

    /// A draft write failed (after retries): the next message tries again.
    pub(super) fn draft_not_kept(&mut self, workflow_id: &str) {
        if self.workflow.as_ref().is_some_and(|w| w.workflow_id == workflow_id) {
            // Unknown now: whatever the text is, it is sent again.
            self.draft_saved = Some(UNKNOWN_DRAFT.to_string());
            self.draft_revision = self.revision.wrapping_sub(1);
        }
    }

    /// A run was recorded: if it is the one sent from here, what it ran is the new starting
    /// point (and the draft is no longer needed).
    pub(super) fn recorded(&mut self, workflow_id: &str, parameters: &Map<String, Value>) {
        let sent = self.in_flight.as_ref().is_some_and(|(w, _, p)| w == workflow_id && p == parameters);
        let here = self.workflow.as_ref().is_some_and(|w| w.workflow_id == workflow_id);
        if let Some((_, text, params)) = self.in_flight.take().filter(|_| sent && here) {
            self.baseline = text;
            self.last_run = Some(params);
            self.from_last_run = true;
            self.revalidate();
        }
    }
}

/// What the ledger keeps for a workflow's editor: its last parameters run and its draft.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kept {
    pub last_params: Option<Map<String, Value>>,
    pub draft: Option<String>,
    /// The draft could not be read (the ledger was busy or broken).
    pub draft_unreadable: Option<String>,
    /// The app or bot it last ran in.
    pub run_in: crate::tasks::RunContext,
}

fn styled_textarea(lines: Vec<String>) -> TextArea<'static> {
    let mut t = TextArea::new(lines);
    t.set_line_number_style(ratatui::style::Style::default().add_modifier(ratatui::style::Modifier::DIM));
    t.set_cursor_line_style(ratatui::style::Style::default());
    t.set_tab_length(2);
    t
}

impl App {
    /// Resets the text to the schema's template, forgetting the draft (`u` brings it back).
    pub(super) fn reset_to_template(&mut self) {
        let Some(schema) = self.editor.schema() else { return };
        let text = params::pretty(&params::template(schema));
        self.editor.whole_edit(&text);
        self.editor.baseline = text;
        self.editor.from_last_run = false;
        self.editor.revalidate();
        let undo = self.keymap.hint(super::Context::Editor, Action::Undo, "undoes it").unwrap_or_default();
        self.toast(&format!("reset to the template ({undo})"));
    }

    /// Puts a task's parameters in the editor (opening its workflow, in its workspace when
    /// known), as an edit `u` undoes.
    pub(super) fn load_parameters(
        &mut self,
        workflow: Workflow,
        workspace_id: Option<String>,
        parameters: &Map<String, Value>,
    ) -> Vec<Command> {
        let text = params::pretty(&Value::Object(parameters.clone()));
        self.focus = Pane::Editor;
        let same = self.editor.workflow.as_ref().is_some_and(|w| w.workflow_id == workflow.workflow_id);
        if same && !self.editor.loading && self.editor.info.is_some() {
            self.editor.whole_edit(&text);
            let undo = self.keymap.hint(super::Context::Editor, Action::Undo, "undoes").unwrap_or_default();
            self.toast(&format!("the task's parameters are in the editor ({undo})"));
            return vec![];
        }
        let cmds = match workspace_id {
            Some(ws) => self.jump_to_workflow(workflow, ws),
            None => self.open_in_editor(workflow),
        };
        // Put in once the workflow has opened.
        self.editor.pending_text = Some(text);
        cmds
    }

    /// Opens the selected workflow in the editor and asks for its schema.
    pub(super) fn open_workflow(&mut self) -> Vec<Command> {
        let Some(wf) = self.workflows.current().cloned() else { return vec![] };
        self.open_in_editor(wf)
    }

    /// Opens a workflow in the editor and asks for its schema (its kept text comes with it).
    pub(super) fn open_in_editor(&mut self, wf: Workflow) -> Vec<Command> {
        let id = wf.workflow_id.clone();
        let open = self.editor.workflow.as_ref().is_some_and(|w| w.workflow_id == id);
        if open && (self.editor.loading || self.editor.info.is_some()) {
            // Already here: nothing to load, nothing to lose.
            self.focus = Pane::Editor;
            return vec![];
        }
        self.editor.open(wf);
        self.focus = Pane::Editor;
        self.show_workflow();
        vec![Command::LoadWorkflowInfo(id)]
    }

    pub(super) fn on_workflow_info(
        &mut self,
        id: String,
        result: Result<WorkflowInfo, String>,
        kept: Kept,
    ) -> Vec<Command> {
        if !self.editor.on_info(&id, result, kept) {
            return vec![];
        }
        let restored = std::mem::take(&mut self.editor.restored_draft);
        if restored {
            let undo =
                self.keymap.hint(super::Context::Editor, Action::Undo, "goes back to the last run").unwrap_or_default();
            self.toast(&format!("your unrun edit is back ({undo})"));
        }
        if self.editor.drafts_blocked {
            self.toast("the kept edit of this workflow could not be read from the ledger; edits to it are not kept until it opens again");
        }
        if self.detail.subject == super::Subject::Workflow {
            self.rebuild_detail();
        }
        match self.editor.pending_run.take() {
            Some(_) if self.editor.error.is_some() => {
                self.toast("not run: the workflow's schema did not load");
                vec![]
            }
            // What would run is not what was on screen when the run was asked for.
            Some(_) if restored => {
                self.toast("not run: your unrun edit came back; look it over and run again");
                vec![]
            }
            // Asked for before the schema arrived: now it can be checked and sent.
            Some((mode, name, description)) => self.run(mode, name, description),
            None => vec![],
        }
    }

    /// Starts a run of the editor's workflow, unless the parameters are invalid.
    pub(super) fn run(&mut self, mode: RunMode, name: Option<String>, description: Option<String>) -> Vec<Command> {
        // A chatflow talks in conversations: its run keys open its chat.
        if self.editor.info.as_ref().is_some_and(|i| i.is_chatflow()) {
            return self.open_chat();
        }
        let Some(wf) = self.editor.workflow.clone() else {
            let open = self.keymap.key(super::Context::Lists, Action::Open).unwrap_or_default();
            self.toast(&format!("pick a workflow first (Workflows pane, {open})"));
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
        // Once recorded (`Msg::Submitted`), this is the new starting point and the draft goes.
        self.editor.in_flight = Some((wf.workflow_id.clone(), self.editor.content(), parameters.clone()));
        // Focus stays in the editor (run again, tweak, run again); the task shows up selected.
        let context = self.editor.context_for(&parameters);
        vec![Command::Submit(Box::new(NewTask {
            workflow_id: wf.workflow_id.clone(),
            workflow_name: Some(wf.workflow_name.clone()),
            workspace_id: self.workspace_id.clone(),
            parameters,
            mode,
            name,
            description,
            context,
        }))]
    }

    /// Keys of the Parameters pane (when not typing).
    pub(super) fn on_editor_action(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::Edit if self.editor.loading => {
                self.toast("the workflow is opening: type once its parameters are in");
                vec![]
            }
            Action::Edit => {
                self.editor.start_typing();
                vec![]
            }
            Action::ExternalEditor => vec![Command::OpenEditor(self.editor.content())],
            Action::Format => {
                match &self.editor.validation.params {
                    Some(p) => {
                        let text = params::pretty(&Value::Object(p.clone()));
                        self.editor.whole_edit(&text);
                    }
                    None => self.toast("fix the JSON first: it does not parse"),
                }
                vec![]
            }
            Action::Template if self.editor.schema().is_some() => {
                self.overlay = Some(Overlay::ConfirmReset);
                vec![]
            }
            Action::Template => {
                self.toast("no schema to reset to yet");
                vec![]
            }
            Action::Undo => {
                if !self.editor.undo() {
                    self.toast("nothing to undo");
                }
                vec![]
            }
            Action::Redo => {
                if !self.editor.redo() {
                    self.toast("nothing to redo");
                }
                vec![]
            }
            Action::Versions => self.open_versions(),
            Action::Attach => {
                self.open_attach();
                vec![]
            }
            Action::RunIn => {
                self.open_run_in();
                vec![]
            }
            Action::RunSync => self.run(RunMode::Sync, None, None),
            Action::RunAsync => self.run(RunMode::Async, None, None),
            Action::RunStream => self.run(RunMode::Stream, None, None),
            Action::RunNamed => {
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
            Action::Back => {
                self.focus = Pane::Workflows;
                vec![]
            }
            Action::Refresh => match self.editor.workflow.as_ref().map(|w| w.workflow_id.clone()) {
                Some(id) => {
                    self.editor.loading = true;
                    vec![Command::LoadWorkflowInfo(id)]
                }
                None => vec![],
            },
            _ => vec![],
        }
    }
}
