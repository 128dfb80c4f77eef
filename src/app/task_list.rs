//! The Tasks pane: this profile's tasks newest first, from the task feed (a snapshot at a
//! ledger revision, then changes in revision order), with the status and text filters; and the
//! task actions (re-run, answer, delete, copy, debug URL) shared with the Detail pane.

use std::collections::HashMap;
use std::sync::Arc;

use super::{App, Command, Context, Overlay, Pane, Picker, dialogs::single_line_input};
use crate::app::keymap::Action;
use crate::tasks::{TaskStatus, TaskSummary, TaskUpdate};

/// The order `S` cycles through.
const STATUS_CYCLE: [Option<TaskStatus>; 6] = [
    None,
    Some(TaskStatus::Running),
    Some(TaskStatus::Interrupted),
    Some(TaskStatus::Failed),
    Some(TaskStatus::Succeeded),
    Some(TaskStatus::Unknown),
];

/// What acts on one task, from the Tasks pane or the Detail pane (see `on_task_action`).
pub(super) const TASK_ACTIONS: [Action; 9] = [
    Action::Rerun,
    Action::Answer,
    Action::Delete,
    Action::Copy,
    Action::DebugUrl,
    Action::EditParams,
    Action::SaveCase,
    Action::Mark,
    Action::Diff,
];

pub struct TaskList {
    pub list: Picker<Arc<TaskSummary>>,
    pub status_filter: Option<TaskStatus>,
    /// Only this profile's tasks are held (late news from a profile switched away is dropped).
    profile: String,
    /// Tasks not yet settled, kept up to date so drawing stays cheap.
    running: usize,
    /// Tasks waiting for an answer, likewise.
    asking: usize,
    /// Every profile's tasks are shown, each row naming its profile.
    pub all_profiles: bool,
    /// Tasks the ledger holds for other profiles (when counted).
    pub other_profiles: Option<u64>,
}

/// What a task update did to the list.
#[derive(Debug, PartialEq)]
pub enum Applied {
    Ignored,
    Changed { id: String, status_changed: bool },
    Removed,
}

impl TaskList {
    pub fn new(profile: &str) -> Self {
        Self {
            list: Picker::default(),
            status_filter: None,
            profile: profile.to_string(),
            running: 0,
            asking: 0,
            all_profiles: false,
            other_profiles: None,
        }
    }

    /// Tasks waiting for an answer.
    pub fn asking(&self) -> usize {
        self.asking
    }

    pub fn running(&self) -> usize {
        self.running
    }

    pub fn get(&self, id: &str) -> Option<&Arc<TaskSummary>> {
        self.list.items.iter().find(|t| t.id == id)
    }

    pub fn current(&self) -> Option<&Arc<TaskSummary>> {
        self.list.current()
    }

    /// A snapshot of the ledger at `revision`: the truth as of then. A task held here that is
    /// missing from it was deleted, unless it is newer than the snapshot (or not yet read from
    /// the ledger: just submitted).
    pub fn load_snapshot(&mut self, tasks: Vec<TaskSummary>, revision: i64) {
        self.list.remember(&task_key);
        let mut held: HashMap<String, Arc<TaskSummary>> =
            self.list.items.drain(..).map(|t| (t.id.clone(), t)).collect();
        let mut items: Vec<Arc<TaskSummary>> = Vec::with_capacity(tasks.len());
        for t in tasks.into_iter().filter(|t| self.all_profiles || t.profile == self.profile) {
            match held.remove(&t.id) {
                Some(cur) if !newer(&t, &cur) => items.push(cur),
                _ => items.push(Arc::new(t)),
            }
        }
        items.extend(held.into_values().filter(|t| t.revision > revision || t.revision == 0));
        items.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
        self.list.items = items;
        self.list.loading = false;
        self.refilter();
    }

    /// One task's new state. States can cross (a submitted task, a full task loaded for the
    /// detail), so an older state never replaces a newer one.
    pub fn apply(&mut self, update: &TaskUpdate) -> Applied {
        match update {
            TaskUpdate::Changed(task) if !self.all_profiles && task.profile != self.profile => Applied::Ignored,
            TaskUpdate::Changed(task) => self.put(Arc::new(TaskSummary::from(&**task))),
            TaskUpdate::Deleted(id) => {
                self.list.remember(&task_key);
                self.list.items.retain(|t| &t.id != id);
                self.refilter();
                Applied::Removed
            }
            TaskUpdate::Event { .. } => Applied::Ignored,
        }
    }

    /// A task's summary in its place (newest first), unless the one held is newer.
    fn put(&mut self, task: Arc<TaskSummary>) -> Applied {
        self.list.remember(&task_key);
        let held = self.list.items.iter().position(|t| t.id == task.id);
        let status_changed = match held {
            Some(i) if newer(&self.list.items[i], &task) => false,
            Some(i) => std::mem::replace(&mut self.list.items[i], task.clone()).status != task.status,
            None => {
                let newest_first = self
                    .list
                    .items
                    .iter()
                    .position(|t| t.created_at < task.created_at)
                    .unwrap_or(self.list.items.len());
                self.list.items.insert(newest_first, task.clone());
                true
            }
        };
        self.refilter();
        Applied::Changed { id: task.id.clone(), status_changed }
    }

    /// A task read in full elsewhere (for the Detail pane): replaces the held state if it is
    /// newer, and adds nothing (it may have been deleted since it was read).
    pub fn refresh(&mut self, task: &crate::tasks::Task) {
        if self.get(&task.id).is_some() {
            self.put(Arc::new(TaskSummary::from(task)));
        }
    }

    pub fn select(&mut self, id: &str) {
        self.list.select_key(id, task_key);
    }

    pub fn set_text_filter(&mut self, text: String) {
        self.list.remember(&task_key);
        self.list.filter = text;
        self.refilter();
    }

    pub fn cycle_status_filter(&mut self) {
        let i = STATUS_CYCLE.iter().position(|s| *s == self.status_filter).unwrap_or(0);
        self.status_filter = STATUS_CYCLE[(i + 1) % STATUS_CYCLE.len()];
        self.list.remember(&task_key);
        self.refilter();
    }

    /// Clears the status filter; false if there was none.
    pub fn clear_status_filter(&mut self) -> bool {
        if self.status_filter.take().is_none() {
            return false;
        }
        self.list.remember(&task_key);
        self.refilter();
        true
    }

    /// Re-applies both filters (after `list.remember` if the items changed).
    fn refilter(&mut self) {
        self.running = self.list.items.iter().filter(|t| !t.status.is_settled()).count();
        self.asking = self.list.items.iter().filter(|t| t.status == TaskStatus::Interrupted).count();
        let status = self.status_filter;
        let text = self.list.filter.to_lowercase();
        self.list.refilter_with(task_key, |t| {
            status.is_none_or(|s| t.status == s)
                && (text.is_empty()
                    || t.id.starts_with(&text)
                    || t.workflow_name.as_deref().is_some_and(|n| n.to_lowercase().contains(&text))
                    || t.name.as_deref().is_some_and(|n| n.to_lowercase().contains(&text)))
        });
    }
}

fn task_key(t: &Arc<TaskSummary>) -> &str {
    &t.id
}

/// Whether `a` is a strictly newer state of a task than `b`: the later ledger revision; a
/// state read from the ledger is newer than one that was not (revision 0) as new; between
/// states not read from it, the later update.
fn newer(a: &TaskSummary, b: &TaskSummary) -> bool {
    (a.revision, a.updated_at) > (b.revision, b.updated_at)
}

impl App {
    /// The task a task action applies to: the detail's in the Detail pane, else the selected one.
    fn action_task(&self) -> Option<Arc<TaskSummary>> {
        match (&self.detail.subject, self.focus) {
            (super::Subject::Task(id), Pane::Detail) => self
                .tasks
                .get(id)
                .cloned()
                .or_else(|| self.detail.task.as_ref().map(|t| Arc::new(TaskSummary::from(&**t)))),
            (_, Pane::Detail) => None,
            _ => self.tasks.current().cloned(),
        }
    }

    /// Actions on one task, from the Tasks or the Detail pane.
    pub(super) fn on_task_action(&mut self, action: Action) -> Vec<Command> {
        let Some(t) = self.action_task() else { return vec![] };
        // Another profile's task (all profiles shown) runs with that profile's token only.
        if t.profile != self.profile.name && matches!(action, Action::Rerun | Action::EditParams | Action::Answer) {
            let p = self.keymap.key(Context::Global, Action::Profiles).unwrap_or_default();
            self.toast(&format!("task {} is profile {}'s: switch to it ({p}) first", t.id, t.profile));
            return vec![];
        }
        match action {
            Action::Rerun => vec![Command::Rerun(t.id.clone())],
            Action::EditParams => vec![Command::LoadTaskParameters(t.id.clone())],
            Action::SaveCase => {
                let name = t.workflow_name.clone().unwrap_or_else(|| t.workflow_id.clone());
                let file: String =
                    name.chars().map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
                let input = super::dialogs::prompt_with("suite file", &format!("coze-tests/{file}.toml"));
                self.overlay = Some(Overlay::SaveCase { task_id: t.id.clone(), input });
                vec![]
            }
            Action::Mark => {
                self.marked = Some(t.id.clone());
                let diff = self.keymap.key(Context::Tasks, Action::Diff).unwrap_or_default();
                self.toast(&format!("marked task {}: {diff} on another task compares them", t.id));
                vec![]
            }
            Action::Diff => match self.marked.clone() {
                Some(m) if m == t.id => {
                    self.toast("this is the marked task: compare it with another one");
                    vec![]
                }
                Some(m) => vec![Command::LoadDiff { a: m, b: t.id.clone() }],
                None => {
                    let mark = self.keymap.key(Context::Tasks, Action::Mark).unwrap_or_default();
                    self.toast(&format!("mark a task first ({mark}), then compare another with it"));
                    vec![]
                }
            },
            Action::Answer if t.status == TaskStatus::Interrupted => {
                let asked = t.interrupt.clone().unwrap_or_default();
                let mut question = asked.question.clone().unwrap_or_default();
                if !asked.is_form() && asked.interrupt_type != 2 {
                    // Not a question node: said what it is, answered as text.
                    question = format!("{}: {question}", asked.kind_name());
                }
                let (form, input) = match asked.required_parameters.clone().filter(|_| asked.is_form()) {
                    Some(fields) => {
                        let (form, input) = super::dialogs::Form::new(fields);
                        (Some(Box::new(form)), input)
                    }
                    None => (None, single_line_input("answer")),
                };
                self.overlay = Some(Overlay::Answer {
                    task_id: t.id.clone(),
                    question,
                    input,
                    left: crate::tasks::MAX_ANSWERS.saturating_sub(asked.answers),
                    empty_warned: false,
                    form,
                });
                vec![]
            }
            Action::Answer => {
                let s = t.status.as_str();
                self.toast(&format!("this task is {s}; only interrupted tasks take an answer"));
                vec![]
            }
            Action::Delete => {
                let label = format!("{} · {}", t.id, t.workflow_name.as_deref().unwrap_or(&t.workflow_id));
                self.overlay = Some(Overlay::ConfirmDelete { task_id: t.id.clone(), label });
                vec![]
            }
            // The list holds summaries: the output is loaded from the ledger first.
            Action::Copy if t.has_output => vec![Command::LoadOutputForCopy(t.id.clone())],
            Action::Copy => {
                self.toast("this task has no output");
                vec![]
            }
            Action::DebugUrl => match t.debug_url.clone() {
                Some(url) => {
                    let title = "debug URL (sent to the terminal's clipboard)".into();
                    self.overlay = Some(Overlay::Message { title, text: url.clone() });
                    vec![Command::Copy(url)]
                }
                None => {
                    self.toast("no debug URL for this task yet");
                    vec![]
                }
            },
            _ => vec![],
        }
    }

    /// Keys of the Tasks pane.
    pub(super) fn on_tasks_action(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::Open => match self.tasks.current().map(|t| t.id.clone()) {
                Some(id) => {
                    self.focus = Pane::Detail;
                    self.show_task(&id)
                }
                None => vec![],
            },
            Action::Back => {
                if !self.tasks.list.filter.is_empty() {
                    self.tasks.set_text_filter(String::new());
                } else {
                    self.tasks.clear_status_filter();
                }
                vec![]
            }
            Action::Refresh => {
                self.tasks.list.loading = true;
                vec![Command::LoadTasks]
            }
            Action::StatusFilter => {
                self.tasks.cycle_status_filter();
                vec![]
            }
            Action::AllProfiles => {
                self.tasks.all_profiles = !self.tasks.all_profiles;
                self.tasks.list.loading = true;
                let which = if self.tasks.all_profiles { "every profile's" } else { "this profile's" };
                self.toast(&format!("showing {which} tasks"));
                vec![Command::ShowAllProfiles(self.tasks.all_profiles)]
            }
            a if TASK_ACTIONS.contains(&a) => self.on_task_action(action),
            _ => {
                if let Some(delta) = self.movement(action) {
                    self.tasks.list.move_by(delta);
                }
                vec![]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::{RunMode, Task};

    /// A task state written at ledger revision `rev` (and at that millisecond).
    fn task(id: &str, profile: &str, rev: i64) -> Task {
        Task {
            updated_at: rev,
            revision: rev,
            ..Task::pending(id.into(), profile.into(), "w".into(), RunMode::Stream, 1000)
        }
    }

    fn changed(t: Task) -> TaskUpdate {
        TaskUpdate::Changed(Arc::new(t))
    }

    fn summaries(tasks: &[Task]) -> Vec<TaskSummary> {
        tasks.iter().map(TaskSummary::from).collect()
    }

    #[test]
    fn a_late_snapshot_neither_loses_news_nor_keeps_the_deleted() {
        let mut l = TaskList::new("p");
        l.load_snapshot(summaries(&[task("old", "p", 10), task("gone", "p", 10)]), 10);
        // Live news newer than the next snapshot, and a task created after it.
        l.apply(&changed(Task { status: TaskStatus::Succeeded, ..task("old", "p", 30) }));
        l.apply(&changed(task("new", "p", 25)));
        l.load_snapshot(summaries(&[task("old", "p", 20), task("elsewhere", "q", 20)]), 20);
        let ids: Vec<&str> = l.list.items.iter().map(|t| t.id.as_str()).collect();
        assert!(ids.contains(&"old") && ids.contains(&"new"), "{ids:?}");
        assert!(!ids.contains(&"gone"), "deleted by someone else before the snapshot");
        assert!(!ids.contains(&"elsewhere"), "another profile's task");
        assert_eq!(l.get("old").unwrap().status, TaskStatus::Succeeded, "newer news kept");
        // Updates for another profile (late news after a switch) are ignored.
        assert_eq!(l.apply(&changed(task("stray", "q", 40))), Applied::Ignored);
        assert!(l.list.items.iter().all(|t| t.profile == "p"));
    }

    #[test]
    fn an_older_state_never_replaces_a_newer_one_and_filters_keep_the_selection() {
        let mut l = TaskList::new("p");
        let at = |id: &str, created: i64, status| Task { created_at: created, status, ..task(id, "p", created) };
        l.load_snapshot(summaries(&[at("b", 2, TaskStatus::Failed), at("a", 1, TaskStatus::Running)]), 2);
        assert_eq!(l.running(), 1);
        assert_eq!(
            l.apply(&changed(Task { updated_at: 9, ..at("a", 1, TaskStatus::Succeeded) })),
            Applied::Changed { id: "a".into(), status_changed: true }
        );
        assert_eq!(
            l.apply(&changed(at("a", 1, TaskStatus::Running))),
            Applied::Changed { id: "a".into(), status_changed: false }
        );
        assert_eq!(l.get("a").unwrap().status, TaskStatus::Succeeded, "the crossed older message lost");
        assert_eq!(l.running(), 0);
        l.apply(&changed(at("c", 3, TaskStatus::Running)));
        assert_eq!(l.list.items[0].id, "c", "newest first");
        l.select("b");
        l.cycle_status_filter();
        l.cycle_status_filter();
        l.cycle_status_filter();
        assert_eq!(l.status_filter, Some(TaskStatus::Failed));
        assert_eq!(l.current().unwrap().id, "b");
        assert!(l.clear_status_filter());
        assert_eq!(l.current().unwrap().id, "b", "the selection stays on its task");
        l.apply(&TaskUpdate::Deleted("b".into()));
        assert!(l.get("b").is_none());
    }
}
