//! Running a suite's cases: they are submitted as a batch on a runner (a few at a time,
//! under the profile's shared budget); questions are answered from each case's `answers`;
//! each case is judged as soon as it ends. The command line and the dashboard both run
//! suites through here.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use serde_json::{Map, Value};

use super::Case;
use super::check::{self, CaseFailure};
use crate::tasks::{AttachedFile, NewTask, Runner, SuiteCase, SuiteRun, Task, TaskStatus, TaskUpdate};

/// Why a suite's files did not all upload: a file that is not there (a suite mistake), or
/// Coze refusing or not answering (its error, for its exit code).
#[derive(Debug)]
pub enum UploadFailure {
    File(String),
    Coze(crate::coze::CozeError),
}

impl std::fmt::Display for UploadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(m) => write!(f, "{m}"),
            Self::Coze(e) => write!(f, "uploading a case's file: {e}"),
        }
    }
}

/// What a case's files became: the values of its file inputs, and the files its task records.
#[derive(Debug, Clone, Default)]
pub struct CaseUploads {
    pub values: Map<String, Value>,
    pub files: Vec<AttachedFile>,
}

/// Uploads the files of `cases`, by case name. Every file is checked first (a missing or empty
/// one is `suite.toml:12: case.files.photo: …` and nothing is sent); each path is uploaded
/// once, and the ledger remembers uploads by content, so running the suite again sends none.
pub async fn upload_files(
    runner: &Runner,
    profile: &str,
    cases: &[&Case],
) -> Result<HashMap<String, CaseUploads>, UploadFailure> {
    let mut checked = HashMap::new();
    for c in cases {
        for f in &c.files {
            for path in &f.paths {
                if !checked.contains_key(path) {
                    let local = crate::upload::check(path)
                        .map_err(|e| UploadFailure::File(format!("{}: case.files.{}: {e}", c.at, f.input)))?;
                    checked.insert(path.clone(), local);
                }
            }
        }
    }
    let mut done: HashMap<std::path::PathBuf, crate::upload::Uploaded> = HashMap::new();
    let mut out = HashMap::new();
    for c in cases.iter().filter(|c| !c.files.is_empty()) {
        let mut uploads = CaseUploads::default();
        for f in &c.files {
            let mut values = vec![];
            for path in &f.paths {
                let got = match done.get(path) {
                    Some(u) => u.clone(),
                    None => {
                        let local = &checked[path];
                        let u = crate::upload::upload(
                            runner.client(),
                            runner.ledger(),
                            profile,
                            local,
                            std::sync::Arc::new(|_| {}),
                        )
                        .await
                        .map_err(|e| match e {
                            crate::upload::UploadError::Coze(e) => UploadFailure::Coze(e),
                            other => UploadFailure::File(format!("{}: case.files.{}: {other}", c.at, f.input)),
                        })?;
                        done.insert(path.clone(), u.clone());
                        u
                    }
                };
                values.push(crate::params::file_value(&got.file_id));
                uploads.files.push(AttachedFile { name: got.file_name, file_id: got.file_id, input: f.input.clone() });
            }
            let value = match (f.many, values.len()) {
                (false, 1) => values.remove(0),
                _ => Value::Array(values),
            };
            uploads.values.insert(f.input.clone(), value);
        }
        out.insert(c.name.clone(), uploads);
    }
    Ok(out)
}

/// A new run of `suite` (known by `key`) under `profile`, as the ledger records it.
pub fn new_run(suite: &super::Suite, key: &str, profile: &str) -> SuiteRun {
    let started_at = crate::tasks::now_ms();
    SuiteRun {
        id: crate::tasks::new_task_id(started_at),
        suite: suite.name.clone(),
        path: key.to_string(),
        profile: profile.to_string(),
        started_at,
        finished_at: None,
        passed: 0,
        failed: 0,
    }
}

/// The tasks for `cases`, named after them and tagged with the suite and run; `ids` maps each
/// case's workflow (a name or an id) to its id.
pub fn new_tasks(
    suite: &super::Suite,
    cases: &[&Case],
    ids: &HashMap<String, String>,
    uploads: &HashMap<String, CaseUploads>,
    run_id: &str,
) -> Vec<NewTask> {
    cases
        .iter()
        .map(|c| {
            let mut parameters = c.params.clone();
            let mut context = c.context.clone();
            if let Some(u) = uploads.get(&c.name) {
                parameters.extend(u.values.clone());
                context.files = u.files.clone();
            }
            NewTask {
                workflow_id: ids.get(&c.workflow).cloned().unwrap_or_else(|| c.workflow.clone()),
                workflow_name: None,
                workspace_id: None,
                parameters,
                mode: c.mode,
                name: Some(c.name.clone()),
                description: Some(format!("suite {} · run {run_id}", suite.name)),
                context,
            }
        })
        .collect()
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    pub fn status(&self) -> &'static str {
        self.task.as_ref().map_or("not run", |t| t.status.as_str())
    }

    pub fn duration_ms(&self) -> Option<i64> {
        self.task.as_ref().map(|t| t.elapsed_ms(t.finished_at.unwrap_or_else(crate::tasks::now_ms)))
    }

    /// The verdict as the ledger keeps it.
    pub fn row(&self, case_name: &str) -> SuiteCase {
        SuiteCase {
            case_name: case_name.to_string(),
            task_id: self.task.as_ref().map(|t| t.id.clone()),
            status: self.status().to_string(),
            passed: self.passed(),
            failures: serde_json::to_value(&self.failures).unwrap_or(serde_json::Value::Null),
            duration_ms: self.duration_ms(),
        }
    }
}

/// Tries of one answer before the case fails for it.
const ANSWER_TRIES: u32 = 3;

/// Where a case stands with its questions.
#[derive(Default)]
struct Answering {
    /// Answers accepted so far (the next one to give is `answers[given]`).
    given: usize,
    /// The question last answered, and the task's `updated_at` when it was: the same question
    /// later than that means the answer did not reach Coze (the runner asks for it again).
    last: Option<(String, i64)>,
    /// Tries of the answer at hand that did not get through (refused, or sent and lost),
    /// counted per question.
    failed_tries: u32,
    /// The question those tries were for.
    tried_for: String,
    /// No try before then (one a tick at most, however many updates arrive).
    next_try: Option<Instant>,
    /// Why the case gave up on its questions.
    gave_up: Option<String>,
}

/// How a case ended: its task as it ended (none if it never showed up) and what it missed.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub task: Option<Task>,
    pub failures: Vec<CaseFailure>,
}

/// Follows the cases to their ends, answering questions from each case's `answers` in order.
/// Updates come from this process's runner; every half second the unsettled ones are read
/// again from the ledger, so what other processes do (a deletion, a dashboard's answer) counts.
/// Each case is judged as soon as it ends, and `on_done` hears of it (task id, result);
/// `on_count` hears how many have ended.
pub async fn follow(
    runner: &Runner,
    mut rx: broadcast::Receiver<TaskUpdate>,
    cases: &HashMap<String, &Case>,
    timeout_s: u64,
    concurrency: usize,
    on_done: &mut (dyn FnMut(&str, &CaseResult) + Send),
    on_count: &mut (dyn FnMut(usize) + Send),
) -> HashMap<String, CaseResult> {
    let mut results: HashMap<String, CaseResult> = HashMap::new();
    let mut latest: HashMap<String, Task> = HashMap::new();
    let mut answering: HashMap<String, Answering> = HashMap::new();
    let mut began: HashMap<String, Instant> = HashMap::new();
    let mut timed_out: HashSet<String> = HashSet::new();
    let ids: Vec<String> = cases.keys().cloned().collect();
    let limit = Duration::from_secs(timeout_s);
    // Queued cases wait for a slot: however long the queue, every case has had its turn and
    // its timeout by then.
    let waves = ids.len().div_ceil(concurrency.max(1)) as u32 + 1;
    let overall = Instant::now() + limit * waves;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut reread = true;
    loop {
        // The runner stopped (a profile switch, the dashboard closing): nothing more comes.
        if runner.is_stopped() {
            break;
        }
        if std::mem::take(&mut reread) {
            let unsettled: Vec<String> = ids
                .iter()
                .filter(|id| {
                    !latest.get(*id).is_some_and(|t| t.status.is_settled() && t.status != TaskStatus::Interrupted)
                })
                .cloned()
                .collect();
            // A read that fails is no news (a busy ledger); only a missing task is a deletion.
            if let Ok(found) = runner.find_all(unsettled.clone()).await {
                for id in unsettled.iter().filter(|id| !found.iter().any(|t| t.id == **id)) {
                    if let Some(t) = latest.get_mut(id).filter(|t| t.status != TaskStatus::Unknown) {
                        t.status = TaskStatus::Unknown;
                        t.notes.push("deleted while the suite ran".into());
                    }
                }
                for t in found {
                    keep_newer(&mut latest, t);
                }
            }
        }
        // Questions: each answered once, in order; an answer that did not reach Coze is sent
        // again; a failed send is tried again a few times, then the case gives up.
        for (id, t) in &latest {
            let Some(i) = t.interrupt.as_ref().filter(|_| t.status == TaskStatus::Interrupted) else { continue };
            let a = answering.entry(id.clone()).or_default();
            if a.gave_up.is_some() {
                continue;
            }
            let answers = &cases[id].answers;
            let again = match &a.last {
                Some((event, at)) if *event == i.event_id => {
                    if t.updated_at <= *at {
                        continue; // answered; the run goes on
                    }
                    true // back at the same question: the answer did not get through
                }
                _ => false,
            };
            let index = if again { a.given.saturating_sub(1) } else { a.given };
            let Some(answer) = answers.get(index).cloned() else { continue };
            if a.next_try.is_some_and(|at| Instant::now() < at) {
                continue;
            }
            if a.tried_for != i.event_id {
                a.tried_for = i.event_id.clone();
                a.failed_tries = 0;
            }
            // A resend is a try that did not get through.
            if again {
                a.failed_tries += 1;
            }
            if a.failed_tries >= ANSWER_TRIES {
                a.gave_up = Some(format!("answer {} did not get through after {ANSWER_TRIES} tries", index + 1));
                continue;
            }
            a.next_try = Some(Instant::now() + Duration::from_millis(500));
            match runner.resume(id, &answer).await {
                Ok(sent) => {
                    if !again {
                        a.given += 1;
                    }
                    a.last = Some((i.event_id.clone(), sent.updated_at.max(t.updated_at)));
                }
                Err(e) => {
                    a.failed_tries += 1;
                    if a.failed_tries >= ANSWER_TRIES {
                        a.gave_up = Some(format!("answer {} could not be sent: {e}", index + 1));
                    }
                }
            }
        }
        // A question is the end when the case has no answer left for it (or gave up).
        let done = |t: &Task| match (t.status, &t.interrupt) {
            (TaskStatus::Interrupted, Some(i)) => {
                let a = answering.get(&t.id);
                if a.is_some_and(|a| a.gave_up.is_some()) {
                    return true;
                }
                match a.and_then(|a| a.last.as_ref()) {
                    Some((event, at)) if *event == i.event_id && t.updated_at <= *at => false,
                    _ => a.map_or(0, |a| a.given) >= cases[&t.id].answers.len(),
                }
            }
            (s, _) => s.is_settled(),
        };
        for (id, t) in &latest {
            if t.status != TaskStatus::Pending {
                began.entry(id.clone()).or_insert_with(Instant::now);
            }
        }
        let past_all = Instant::now() > overall;
        for id in &ids {
            let unsettled = !latest.get(id).is_some_and(done);
            let over = began.get(id).is_some_and(|at| at.elapsed() > limit);
            if unsettled && (over || past_all) {
                timed_out.insert(id.clone());
            }
        }
        for id in &ids {
            if results.contains_key(id) || !(timed_out.contains(id) || latest.get(id).is_some_and(done)) {
                continue;
            }
            let task = latest.get(id).cloned();
            let gave_up = answering.get(id).and_then(|a| a.gave_up.clone());
            let failures = match (&task, gave_up) {
                _ if timed_out.contains(id) => vec![check::timed_out(timeout_s)],
                (_, Some(why)) => vec![check::unanswered(&why)],
                (Some(t), None) => check::check(&cases[id].expect, t),
                (None, None) => vec![check::timed_out(timeout_s)],
            };
            let result = CaseResult { task, failures };
            on_done(id, &result);
            results.insert(id.clone(), result);
        }
        on_count(results.len());
        if results.len() == ids.len() {
            break;
        }
        tokio::select! {
            update = rx.recv() => match update {
                Ok(TaskUpdate::Changed(t)) if cases.contains_key(&t.id) => keep_newer(&mut latest, (*t).clone()),
                Ok(TaskUpdate::Deleted(id)) if cases.contains_key(&id) => reread = true,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => reread = true,
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = tick.tick() => reread = true,
        }
    }
    results
}

/// Keeps `t` unless what is held is newer (updates replayed after a lag can be older).
fn keep_newer(latest: &mut HashMap<String, Task>, t: Task) {
    if latest.get(&t.id).is_none_or(|held| held.updated_at <= t.updated_at) {
        latest.insert(t.id.clone(), t);
    }
}
