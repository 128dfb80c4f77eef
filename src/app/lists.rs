//! The Workspaces and Workflows panes: two filterable lists, the first choosing what the
//! second shows.

use super::{App, Command, Pane, Picker};
use crate::app::keymap::Action;
use crate::coze::{Workflow, Workspace};

impl App {
    pub(super) fn on_workspaces(&mut self, result: Result<Vec<Workspace>, String>) -> Vec<Command> {
        let first_load = self.workspaces.items.is_empty();
        self.workspaces.loaded(result, |w| w.id.as_str(), |w| w.name.as_str());
        // Open the first workspace's workflows on the first load, so there is something to see.
        if first_load && self.workspace_id.is_none() {
            return self.open_workspace(false);
        }
        vec![]
    }

    pub(super) fn on_workflows(&mut self, workspace_id: String, result: Result<Vec<Workflow>, String>) {
        if self.workspace_id.as_deref() == Some(workspace_id.as_str()) {
            self.workflows.loaded(result, |w| w.workflow_id.as_str(), |w| w.workflow_name.as_str());
            if let Some(id) = self.select_after_load.take() {
                self.workflows.select_key(&id, |w| w.workflow_id.as_str());
            }
            // A workflow opened by id alone (from a task or the palette) gets its listing's
            // details, such as whether it is a draft.
            if let Some(open) = self.editor.workflow.as_mut()
                && let Some(listed) = self.workflows.items.iter().find(|w| w.workflow_id == open.workflow_id)
            {
                *open = listed.clone();
            }
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

    /// A list's filter text changed (typed in the filter dialog).
    pub(super) fn apply_filter(&mut self, pane: Pane, text: String) {
        match pane {
            Pane::Workspaces => {
                self.workspaces.filter = text;
                self.workspaces.refilter(|w| w.id.as_str(), |w| w.name.as_str());
            }
            Pane::Workflows => {
                self.workflows.filter = text;
                self.workflows.refilter(|w| w.workflow_id.as_str(), |w| w.workflow_name.as_str());
            }
            _ => self.tasks.set_text_filter(text),
        }
    }

    pub(super) fn filter_text(&self, pane: Pane) -> &str {
        match pane {
            Pane::Workspaces => &self.workspaces.filter,
            Pane::Workflows => &self.workflows.filter,
            _ => &self.tasks.list.filter,
        }
    }

    /// Keys of the Workspaces and Workflows panes.
    pub(super) fn on_list_action(&mut self, action: Action) -> Vec<Command> {
        let pane = self.focus;
        match action {
            Action::Open if pane == Pane::Workspaces => self.open_workspace(true),
            Action::Open => self.open_workflow(),
            Action::Versions if pane == Pane::Workflows => self.open_versions(),
            Action::AddWorkflow => {
                self.open_add_workflow();
                vec![]
            }
            Action::Back if !self.filter_text(pane).is_empty() => {
                self.apply_filter(pane, String::new());
                vec![]
            }
            Action::Back => {
                self.focus = Pane::Workspaces;
                vec![]
            }
            Action::Refresh if pane == Pane::Workspaces => {
                self.workspaces.loading = true;
                vec![Command::LoadWorkspaces]
            }
            Action::Refresh => match self.workspace_id.clone() {
                Some(ws) => {
                    self.workflows.loading = true;
                    vec![Command::LoadWorkflows(ws)]
                }
                None => vec![],
            },
            _ => {
                if let Some(delta) = self.movement(action) {
                    match pane {
                        Pane::Workspaces => self.workspaces.move_by(delta),
                        _ => self.workflows.move_by(delta),
                    }
                }
                vec![]
            }
        }
    }
}
