//! The palette (`:`): one prompt that jumps to any workflow of any workspace by fuzzy name, to
//! a task by id, or runs an action by name.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};
use ratatui::crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;

use super::dialogs::{prompt_key, single_line_input};
use super::keymap::Action;
use super::{App, Command, Context, Pane};
use crate::coze::Workflow;

/// Rows the palette keeps after ranking (more are never read).
const SHOWN: usize = 200;

/// Where an entry goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Workflow { workflow: Box<Workflow>, workspace_id: String },
    Task(String),
    Action(Action),
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub target: Target,
    /// What is matched and shown.
    pub label: String,
    /// Shown dimmed after it (a workspace, a status, a key).
    pub detail: String,
}

impl Entry {
    pub fn kind(&self) -> &'static str {
        match self.target {
            Target::Workflow { .. } => "workflow",
            Target::Task(_) => "task",
            Target::Action(_) => "action",
        }
    }
}

pub struct Palette {
    pub input: TextArea<'static>,
    pub entries: Vec<Entry>,
    /// Entries that match, best first, with the positions (in chars) of the matched letters.
    pub shown: Vec<(usize, Vec<u32>)>,
    pub selected: usize,
    /// Catalogue messages still to come (the ledger's, then a fresh listing's).
    pub pending: u8,
    matcher: Matcher,
}

impl Palette {
    pub fn new(entries: Vec<Entry>) -> Self {
        let mut p = Self {
            input: single_line_input("workflow name, task id or action"),
            entries,
            shown: vec![],
            selected: 0,
            pending: 0,
            matcher: Matcher::new(Config::DEFAULT),
        };
        p.rank();
        p
    }

    pub fn query(&self) -> String {
        self.input.lines().join("")
    }

    /// Replaces the workflows (the catalogue arrived or was refreshed), keeping the rest.
    /// The selection stays on its entry (Enter a moment later opens what was chosen).
    pub fn set_workflows(&mut self, workflows: Vec<Entry>) {
        let kept = self.current().map(|e| e.target.clone());
        self.entries.retain(|e| !matches!(e.target, Target::Workflow { .. }));
        let mut all = workflows;
        all.append(&mut self.entries);
        self.entries = all;
        self.rank();
        if let Some(t) = kept {
            self.selected = self.shown.iter().position(|(i, _)| self.entries[*i].target == t).unwrap_or(0);
        }
    }

    /// Ranks the entries for the query: all in their order when empty, else by fuzzy score
    /// (ties keep the order: workflows, then tasks newest first, then actions).
    fn rank(&mut self) {
        let query = self.query();
        self.selected = 0;
        if query.trim().is_empty() {
            self.shown = (0..self.entries.len().min(SHOWN)).map(|i| (i, vec![])).collect();
            return;
        }
        let pattern = Pattern::parse(&query, CaseMatching::Ignore, Normalization::Smart);
        let mut buf = vec![];
        let mut scored: Vec<(u32, usize, Vec<u32>)> = self
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let mut at = vec![];
                let hay = match &e.target {
                    // A task is found by its id too.
                    Target::Task(id) if id.starts_with(query.trim()) => return Some((u32::MAX, i, vec![])),
                    _ => Utf32Str::new(&e.label, &mut buf),
                };
                let score = pattern.indices(hay, &mut self.matcher, &mut at)?;
                at.sort_unstable();
                at.dedup();
                Some((score, i, at))
            })
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.truncate(SHOWN);
        self.shown = scored.into_iter().map(|(_, i, at)| (i, at)).collect();
    }

    pub fn current(&self) -> Option<&Entry> {
        self.shown.get(self.selected).and_then(|(i, _)| self.entries.get(*i))
    }
}

impl App {
    /// Opens the palette: workflows known across workspaces (the catalogue arrives as a
    /// message), this list's tasks, and the actions of the focused pane and everywhere.
    pub(super) fn open_palette(&mut self) -> Vec<Command> {
        let mut entries = self.palette_workflows(vec![]);
        entries.extend(self.tasks.list.items.iter().map(|t| Entry {
            target: Target::Task(t.id.clone()),
            label: match &t.name {
                Some(n) => format!("{} · {n}", t.workflow_name.as_deref().unwrap_or(&t.workflow_id)),
                None => t.workflow_name.clone().unwrap_or_else(|| t.workflow_id.clone()),
            },
            detail: format!(
                "{} · {} · {}",
                t.id,
                t.status.as_str(),
                crate::text::ago(t.created_at, self.clock.now_ms())
            ),
        }));
        for ctx in [self.focus.context(), Context::Global] {
            for (action, key) in self.keymap.actions_in(ctx) {
                if matches!(action, Action::Palette | Action::Up | Action::Down | Action::PageUp | Action::PageDown) {
                    continue;
                }
                if entries.iter().any(|e| e.target == Target::Action(action)) {
                    continue;
                }
                let label = action.describe().1.to_string();
                entries.push(Entry { target: Target::Action(action), label, detail: key });
            }
        }
        let refresh = !std::mem::replace(&mut self.catalogue_refreshed, true);
        let mut palette = Box::new(Palette::new(entries));
        palette.pending = if refresh { 2 } else { 1 };
        self.overlay = Some(super::Overlay::Palette(palette));
        vec![Command::LoadCatalogue { refresh }]
    }

    /// The workflows to offer: the catalogue, and the listed workspace's (which may be newer).
    fn palette_workflows(&self, catalogue: Vec<crate::tasks::KnownWorkflow>) -> Vec<Entry> {
        let ws_name = |id: &str| {
            self.workspaces.items.iter().find(|w| w.id == id).map(|w| w.name.clone()).unwrap_or_else(|| id.to_string())
        };
        let mut out: Vec<Entry> = vec![];
        let listed =
            self.workspace_id.iter().flat_map(|ws| self.workflows.items.iter().map(move |w| (w.clone(), ws.clone())));
        let known = catalogue.into_iter().map(|k| {
            let wf = Workflow { workflow_id: k.workflow_id, workflow_name: k.name, ..Default::default() };
            (wf, k.workspace_id)
        });
        for (workflow, workspace_id) in listed.chain(known) {
            if out.iter().any(
                |e| matches!(&e.target, Target::Workflow { workflow: w, .. } if w.workflow_id == workflow.workflow_id),
            ) {
                continue;
            }
            let detail = ws_name(&workspace_id);
            out.push(Entry {
                label: workflow.workflow_name.clone(),
                target: Target::Workflow { workflow: Box::new(workflow), workspace_id },
                detail,
            });
        }
        out
    }

    pub(super) fn on_catalogue(&mut self, result: Result<Vec<crate::tasks::KnownWorkflow>, String>) {
        if let Some(super::Overlay::Palette(p)) = self.overlay.as_mut() {
            p.pending = p.pending.saturating_sub(1);
        }
        match result {
            Ok(known) => {
                let entries = self.palette_workflows(known);
                if let Some(super::Overlay::Palette(p)) = self.overlay.as_mut() {
                    p.set_workflows(entries);
                }
            }
            Err(e) => self.toast(&format!("the workflow catalogue did not refresh: {e}")),
        }
    }

    pub(super) fn on_palette_key(
        &mut self,
        mut p: Box<Palette>,
        key: KeyEvent,
        action: Option<Action>,
    ) -> Vec<Command> {
        match action {
            Some(Action::Cancel) => vec![],
            Some(Action::Accept) => match p.current().map(|e| e.target.clone()) {
                Some(target) => self.go_to(target),
                None => {
                    self.overlay = Some(super::Overlay::Palette(p));
                    vec![]
                }
            },
            Some(Action::Up | Action::Down | Action::NextField) => {
                let n = p.shown.len().max(1);
                let back = matches!(action, Some(Action::Up));
                p.selected = if back { (p.selected + n - 1) % n } else { (p.selected + 1) % n };
                self.overlay = Some(super::Overlay::Palette(p));
                vec![]
            }
            _ => {
                if prompt_key(&mut p.input, key) {
                    p.rank();
                }
                self.overlay = Some(super::Overlay::Palette(p));
                vec![]
            }
        }
    }

    fn go_to(&mut self, target: Target) -> Vec<Command> {
        match target {
            Target::Workflow { workflow, workspace_id } => self.jump_to_workflow(*workflow, workspace_id),
            Target::Task(id) => {
                self.tasks.select(&id);
                self.focus = Pane::Detail;
                self.show_task(&id)
            }
            Target::Action(action) => self.on_action(action),
        }
    }

    /// Opens a workflow of any workspace: its workspace is listed, it is selected there, and
    /// it opens in the editor.
    pub(super) fn jump_to_workflow(&mut self, workflow: Workflow, workspace_id: String) -> Vec<Command> {
        let mut cmds = vec![];
        self.workspaces.select_key(&workspace_id, |w| w.id.as_str());
        let listed = self.workspace_id.as_deref() == Some(workspace_id.as_str());
        // Listed already: take the listing's details (a draft is marked as one).
        let workflow = match self.workflows.items.iter().find(|w| w.workflow_id == workflow.workflow_id) {
            Some(w) if listed => w.clone(),
            _ => workflow,
        };
        if !listed {
            self.workflows = super::Picker::default();
            self.workflows.loading = true;
            self.workspace_id = Some(workspace_id.clone());
            cmds.push(Command::LoadWorkflows(workspace_id));
        }
        self.workflows.want(&workflow.workflow_id, |w| w.workflow_id.as_str());
        cmds.extend(self.open_in_editor(workflow));
        cmds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wf(id: &str, name: &str) -> Entry {
        let workflow = Box::new(Workflow { workflow_id: id.into(), workflow_name: name.into(), ..Default::default() });
        Entry {
            target: Target::Workflow { workflow, workspace_id: "1".into() },
            label: name.into(),
            detail: String::new(),
        }
    }

    #[test]
    fn the_selection_stays_on_its_entry_when_the_catalogue_arrives() {
        let mut p = Palette::new(vec![wf("1", "echo"), wf("2", "slow")]);
        p.selected = 1;
        p.set_workflows(vec![wf("0", "again"), wf("1", "echo"), wf("2", "slow")]);
        assert_eq!(p.current().map(|e| e.label.as_str()), Some("slow"));
        // Typing ranks afresh: the best match first.
        p.input.insert_str("ech");
        p.rank();
        assert_eq!((p.selected, p.current().map(|e| e.label.as_str())), (0, Some("echo")));
        assert!(!p.shown.iter().any(|(i, _)| p.entries[*i].label == "slow"));
    }
}
