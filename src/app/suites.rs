//! The suites view (`T`): pick a suite file (from `coze-tests/` and recent runs), run it, and
//! watch its case × verdict matrix fill in as cases end (▶ running, ? waiting for an answer,
//! ✔ passed, ✘ failed); a failing case shows what it expected against what came; Enter opens
//! a case's task in Detail.

use ratatui::crossterm::event::KeyEvent;

use super::keymap::Action;
use super::{App, Command, Overlay, Pane};
use crate::suite::check::CaseFailure;
use crate::tasks::TaskStatus;

pub use crate::suite::files::SuiteFile;

/// One case of the suite being run.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRow {
    pub name: String,
    pub task_id: String,
    /// Its verdict when it last ran (before this run).
    pub previous: Option<bool>,
    /// Once judged: passed, and what it missed.
    pub verdict: Option<bool>,
    pub failures: Vec<CaseFailure>,
    pub status: Option<TaskStatus>,
    pub duration_ms: Option<i64>,
}

/// A suite run in the view.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteRunView {
    pub name: String,
    pub path: String,
    pub run_id: String,
    pub cases: Vec<CaseRow>,
    pub selected: usize,
    pub finished: bool,
}

/// The view's own state; the suite run it shows lives in [`App::suite_run`], so it goes on
/// (and can be looked at again) when the view is closed.
#[derive(Debug, Default)]
pub struct SuitesView {
    pub files: Vec<SuiteFile>,
    pub loading: bool,
    pub selected: usize,
    /// The run is shown (else the files).
    pub showing_run: bool,
    /// A suite that could not run (a bad file: `file:line: key: …`).
    pub error: Option<String>,
}

impl SuiteRunView {
    /// Passed, failed, and not yet judged.
    pub fn counts(&self) -> (usize, usize, usize) {
        let passed = self.cases.iter().filter(|c| c.verdict == Some(true)).count();
        let failed = self.cases.iter().filter(|c| c.verdict == Some(false)).count();
        (passed, failed, self.cases.len() - passed - failed)
    }
}

impl App {
    pub(super) fn open_suites(&mut self) -> Vec<Command> {
        // A run going on (or just ended) is what there is to see.
        let showing_run = self.suite_run.is_some() || self.suite_starting.is_some();
        let view = SuitesView { loading: true, showing_run, ..Default::default() };
        self.overlay = Some(Overlay::Suites(Box::new(view)));
        vec![Command::ListSuites { also: self.saved_suites.clone() }]
    }

    fn suites_view(&mut self) -> Option<&mut SuitesView> {
        match self.overlay.as_mut() {
            Some(Overlay::Suites(v)) => Some(v),
            _ => None,
        }
    }

    pub(super) fn on_suite_files(&mut self, result: Result<Vec<SuiteFile>, String>) {
        if let Some(v) = self.suites_view() {
            v.loading = false;
            match result {
                Ok(files) => v.files = files,
                Err(e) => v.error = Some(e),
            }
        }
    }

    pub(super) fn on_suite_started(&mut self, run: SuiteRunView) {
        let name = run.name.clone();
        let n = run.cases.len();
        self.suite_starting = None;
        self.suite_run = Some(run);
        if let Some(v) = self.suites_view() {
            v.error = None;
            v.showing_run = true;
        }
        self.toast(&format!("suite {name}: {n} cases started"));
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_suite_case(
        &mut self,
        run_id: &str,
        task_id: &str,
        passed: bool,
        status: Option<TaskStatus>,
        failures: Vec<CaseFailure>,
        duration_ms: Option<i64>,
    ) {
        let Some(run) = self.suite_run.as_mut().filter(|r| r.run_id == run_id) else { return };
        if let Some(c) = run.cases.iter_mut().find(|c| c.task_id == task_id) {
            c.verdict = Some(passed);
            c.failures = failures;
            c.status = status;
            c.duration_ms = duration_ms;
        }
    }

    pub(super) fn on_suite_finished(&mut self, run_id: &str, passed: usize, failed: usize) {
        let mut name = None;
        if let Some(run) = self.suite_run.as_mut().filter(|r| r.run_id == run_id) {
            run.finished = true;
            name = Some(run.name.clone());
        }
        let name = name.unwrap_or_else(|| "the suite".into());
        self.toast(&format!("{name}: {passed} passed, {failed} failed"));
    }

    pub(super) fn on_suite_failed(&mut self, error: String) {
        self.suite_starting = None;
        if let Some(v) = self.suites_view() {
            v.error = Some(error.clone());
            v.showing_run = false;
        }
        self.toast(&error);
    }

    /// One suite runs at a time: a second would share the runner's slots and hide the first.
    fn start_suite(&mut self, path: String) -> Vec<Command> {
        let busy = self.suite_starting.is_some() || self.suite_run.as_ref().is_some_and(|r| !r.finished);
        if busy {
            self.toast("a suite is running: wait for it to end");
            return vec![];
        }
        self.suite_starting = Some(path.clone());
        vec![Command::RunSuite { path }]
    }

    pub(super) fn on_suites_key(
        &mut self,
        mut v: Box<SuitesView>,
        _key: KeyEvent,
        action: Option<Action>,
    ) -> Vec<Command> {
        let mut cmds = vec![];
        let keep = if v.showing_run {
            match action {
                // Back to the files (the run goes on).
                Some(Action::Cancel | Action::Back) => {
                    v.showing_run = false;
                    true
                }
                Some(Action::Quit | Action::Suites) => false,
                Some(Action::Accept | Action::Open) => {
                    match self.suite_run.as_ref().and_then(|r| r.cases.get(r.selected)).map(|c| c.task_id.clone()) {
                        Some(id) => {
                            self.tasks.select(&id);
                            self.focus = Pane::Detail;
                            cmds = self.show_task(&id);
                            false
                        }
                        None => true,
                    }
                }
                Some(Action::Refresh) => {
                    if let Some(path) = self.suite_run.as_ref().filter(|r| r.finished).map(|r| r.path.clone()) {
                        cmds = self.start_suite(path);
                    }
                    true
                }
                Some(a) => {
                    if let (Some(d), Some(run)) = (self.movement(a), self.suite_run.as_mut()) {
                        let last = run.cases.len().saturating_sub(1) as isize;
                        run.selected = (run.selected as isize).saturating_add(d).clamp(0, last.max(0)) as usize;
                    }
                    true
                }
                None => true,
            }
        } else {
            match action {
                Some(Action::Cancel | Action::Back | Action::Quit | Action::Suites) => false,
                Some(Action::Refresh) => {
                    v.loading = true;
                    cmds.push(Command::ListSuites { also: self.saved_suites.clone() });
                    true
                }
                Some(Action::Accept | Action::Open) => {
                    if let Some(path) = v.files.get(v.selected).map(|f| f.path.clone()) {
                        v.error = None;
                        cmds = self.start_suite(path);
                        v.showing_run = self.suite_starting.is_some() || self.suite_run.is_some();
                    }
                    true
                }
                Some(a) => {
                    if let Some(d) = self.movement(a) {
                        let last = v.files.len().saturating_sub(1) as isize;
                        v.selected = (v.selected as isize).saturating_add(d).clamp(0, last.max(0)) as usize;
                    }
                    true
                }
                None => true,
            }
        };
        if keep {
            self.overlay = Some(Overlay::Suites(v));
        }
        cmds
    }
}
