//! The Parameters pane: a JSON editor filled from the workflow's input schema (or the last
//! parameters run), validated as the user types, and the runs it starts.

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;
use serde_json::{Map, Value};

use super::{App, Command, Overlay, Pane, dialogs::single_line_input};
use crate::app::keymap::Action;
use crate::coze::{Workflow, WorkflowInfo};
use crate::params;
use crate::tasks::{NewTask, RunMode};

/// A run asked for while the schema was loading: (mode, name, description).
pub type PendingRun = (RunMode, Option<String>, Option<String>);

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
    pub pending_run: Option<PendingRun>,
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
            dirty: false,
            pending_run: None,
        }
    }
}

impl Editor {
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

    /// A key while typing: Esc stops, everything else edits.
    pub(super) fn on_typing_key(&mut self, key: KeyEvent) {
        if key.code == KeyCode::Esc {
            self.typing = false;
            return;
        }
        if self.text.input(key) {
            self.dirty = true;
        }
        self.revalidate();
    }

    pub(super) fn paste(&mut self, text: &str) {
        self.typing = true;
        self.text.insert_str(text);
        self.dirty = true;
        self.revalidate();
    }

    /// Text back from `$EDITOR`: taken, and not yet run.
    pub(super) fn edited(&mut self, text: &str) {
        self.set_text(text);
        self.dirty = true;
    }

    fn open(&mut self, wf: Workflow) {
        self.workflow = Some(wf);
        self.pending_run = None;
        self.info = None;
        self.loading = true;
        self.error = None;
    }

    /// The schema of the open workflow (a refresh keeps what the user typed; a newly opened
    /// workflow gets the last parameters run, else the template).
    fn on_info(&mut self, id: &str, result: Result<WorkflowInfo, String>, last: Option<Map<String, Value>>) -> bool {
        if self.workflow.as_ref().map(|w| w.workflow_id.as_str()) != Some(id) {
            return false;
        }
        self.loading = false;
        match result {
            Ok(info) => {
                let same_workflow = self.info.as_ref().is_some_and(|i| i.workflow_detail.workflow_id == id);
                self.info = Some(info);
                if !same_workflow {
                    let (text, from_last) = match last {
                        Some(p) => (params::pretty(&Value::Object(p)), true),
                        None => {
                            let template = self.schema().map(params::template).unwrap_or(Value::Object(Map::new()));
                            (params::pretty(&template), false)
                        }
                    };
                    self.set_text(&text);
                    self.from_last_run = from_last;
                }
                self.revalidate();
            }
            Err(e) => self.error = Some(e),
        }
        true
    }
}

fn styled_textarea(lines: Vec<String>) -> TextArea<'static> {
    let mut t = TextArea::new(lines);
    t.set_line_number_style(ratatui::style::Style::default().add_modifier(ratatui::style::Modifier::DIM));
    t.set_cursor_line_style(ratatui::style::Style::default());
    t.set_tab_length(2);
    t
}

impl App {
    /// Opens the selected workflow in the editor and asks for its schema.
    pub(super) fn open_workflow(&mut self) -> Vec<Command> {
        let Some(wf) = self.workflows.current().cloned() else { return vec![] };
        let id = wf.workflow_id.clone();
        self.editor.open(wf);
        self.focus = Pane::Editor;
        self.show_workflow();
        vec![Command::LoadWorkflowInfo(id)]
    }

    pub(super) fn on_workflow_info(
        &mut self,
        id: String,
        result: Result<WorkflowInfo, String>,
        last: Option<Map<String, Value>>,
    ) -> Vec<Command> {
        if !self.editor.on_info(&id, result, last) {
            return vec![];
        }
        if self.detail.subject == super::Subject::Workflow {
            self.rebuild_detail();
        }
        match self.editor.pending_run.take() {
            Some(_) if self.editor.error.is_some() => {
                self.toast("not run: the workflow's schema did not load");
                vec![]
            }
            // Asked for before the schema arrived: now it can be checked and sent.
            Some((mode, name, description)) => self.run(mode, name, description),
            None => vec![],
        }
    }

    /// Starts a run of the editor's workflow, unless the parameters are invalid.
    pub(super) fn run(&mut self, mode: RunMode, name: Option<String>, description: Option<String>) -> Vec<Command> {
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

    /// Keys of the Parameters pane (when not typing).
    pub(super) fn on_editor_action(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::Edit => {
                self.editor.typing = true;
                vec![]
            }
            Action::ExternalEditor => vec![Command::OpenEditor(self.editor.content())],
            Action::Format => {
                match &self.editor.validation.params {
                    Some(p) => {
                        let text = params::pretty(&Value::Object(p.clone()));
                        self.editor.set_text(&text);
                    }
                    None => self.toast("fix the JSON first: it does not parse"),
                }
                vec![]
            }
            Action::Template => {
                if let Some(schema) = self.editor.schema() {
                    let text = params::pretty(&params::template(schema));
                    self.editor.set_text(&text);
                    self.editor.from_last_run = false;
                }
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
