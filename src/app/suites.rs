//! The suites view (`T`): pick a suite file (from `coze-tests/` and recent runs), run it, and
//! watch its case × verdict matrix fill in as cases end (▶ running, ? waiting for an answer,
//! ✔ passed, ✘ failed); a failing case shows what it expected against what came; Enter opens
//! a case's task in Detail.

use ratatui::crossterm::event::KeyEvent;

use super::keymap::Action;
use super::{App, Command, Overlay, Pane};
use crate::suite::check::CaseFailure;
use crate::tasks::TaskStatus;

/// A suite file to offer, with how its last run went.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteFile {
    pub path: String,
    pub last: Option<String>,
}

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

#[derive(Debug, Default)]
pub struct SuitesView {
    pub files: Vec<SuiteFile>,
    pub loading: bool,
    pub selected: usize,
    pub run: Option<SuiteRunView>,
    /// A suite that could not run (a bad file: `file:line: key: …`).
    pub error: Option<String>,
    /// The run asked for and not yet started.
    pub starting: Option<String>,
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
        let view = SuitesView { loading: true, ..Default::default() };
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
        if let Some(v) = self.suites_view() {
            v.starting = None;
            v.error = None;
            v.run = Some(run);
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
        let Some(run) = self.suites_view().and_then(|v| v.run.as_mut()).filter(|r| r.run_id == run_id) else { return };
        if let Some(c) = run.cases.iter_mut().find(|c| c.task_id == task_id) {
            c.verdict = Some(passed);
            c.failures = failures;
            c.status = status;
            c.duration_ms = duration_ms;
        }
    }

    pub(super) fn on_suite_finished(&mut self, run_id: &str, passed: usize, failed: usize) {
        let mut name = None;
        if let Some(run) = self.suites_view().and_then(|v| v.run.as_mut()).filter(|r| r.run_id == run_id) {
            run.finished = true;
            name = Some(run.name.clone());
        }
        let name = name.unwrap_or_else(|| "the suite".into());
        self.toast(&format!("{name}: {passed} passed, {failed} failed"));
    }

    pub(super) fn on_suite_failed(&mut self, error: String) {
        if let Some(v) = self.suites_view() {
            v.starting = None;
            v.error = Some(error.clone());
        }
        self.toast(&error);
    }

    pub(super) fn on_suites_key(
        &mut self,
        mut v: Box<SuitesView>,
        _key: KeyEvent,
        action: Option<Action>,
    ) -> Vec<Command> {
        let mut cmds = vec![];
        let keep = match (&mut v.run, action) {
            // Back from a run to the files; from the files, closed.
            (Some(_), Some(Action::Cancel | Action::Back)) => {
                v.run = None;
                true
            }
            (None, Some(Action::Cancel | Action::Back | Action::Quit | Action::Suites)) => false,
            (Some(run), Some(Action::Accept | Action::Open)) => match run.cases.get(run.selected) {
                Some(c) => {
                    let id = c.task_id.clone();
                    self.tasks.select(&id);
                    self.focus = Pane::Detail;
                    cmds = self.show_task(&id);
                    false
                }
                None => true,
            },
            // Run the same suite again.
            (Some(run), Some(Action::Refresh)) if run.finished => {
                v.starting = Some(run.path.clone());
                cmds.push(Command::RunSuite { path: run.path.clone() });
                true
            }
            (None, Some(Action::Accept | Action::Open)) => {
                if let Some(f) = v.files.get(v.selected) {
                    v.starting = Some(f.path.clone());
                    v.error = None;
                    cmds.push(Command::RunSuite { path: f.path.clone() });
                }
                true
            }
            (run, Some(a)) => {
                if let Some(d) = self.movement(a) {
                    let (selected, len) = match run {
                        Some(r) => (&mut r.selected, r.cases.len()),
                        None => (&mut v.selected, v.files.len()),
                    };
                    let last = len.saturating_sub(1) as isize;
                    *selected = (*selected as isize).saturating_add(d).clamp(0, last.max(0)) as usize;
                }
                true
            }
            (_, None) => true,
        };
        if keep {
            self.overlay = Some(Overlay::Suites(v));
        }
        cmds
    }
}
