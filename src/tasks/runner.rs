//! The runner: a background service that executes and watches tasks and publishes every change.
//!
//! Every change is committed to the ledger before it is announced on the broadcast channel the
//! UI and the CLI subscribe to. Runs are started once and never re-sent: recovery only watches
//! runs whose execute id is known, and marks the others `unknown` with the reason.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::{Semaphore, broadcast, watch};

use super::budget::SharedBudget;
use super::ledger::{Ledger, LedgerError};
use super::model::*;
use crate::config::PollSettings;
use crate::coze::{
    ChatMessage, ChatRequest, CozeClient, CozeError, Delivery, ErrorKind, ExecuteStatus, InterruptData, ResumeRequest,
    RunRequest, RunResult, StreamEnd, WorkflowEvent, WorkflowStream, execute_id_from_debug_url,
};

/// How many queued tasks a runner starts at once unless told otherwise.
pub const DEFAULT_CONCURRENCY: usize = 4;

#[derive(Debug, Clone)]
pub struct RunnerConfig {
    pub profile: String,
    pub poll: PollSettings,
    /// How long a lease lasts without renewal; a killed process's tasks are taken over after it.
    pub lease: Duration,
    /// Streamed events kept per task; later ones are counted, not stored.
    pub max_events: u64,
    /// Bytes of streamed content kept per task.
    pub max_event_bytes: u64,
    /// How long "execution not found" is taken as "not visible yet" after a start.
    pub not_visible_grace: Duration,
    /// Take up unsettled tasks nobody watches (the dashboard and `watch` do; one-shot
    /// commands leave them to those).
    pub adopt_orphans: bool,
    /// How many queued tasks (batches) this runner starts at once.
    pub concurrency: usize,
    /// Requests a day this profile may make (the shared budget refuses more).
    pub daily_request_limit: Option<u64>,
    /// How often a run whose sign-in lapsed is looked at again (a `coze-tui login` fixes it).
    pub sign_in_retry: Duration,
}

impl RunnerConfig {
    pub fn new(profile: impl Into<String>, poll: PollSettings) -> Self {
        Self {
            profile: profile.into(),
            lease: poll.lease(),
            poll,
            max_events: 10_000,
            max_event_bytes: 8 * 1024 * 1024,
            not_visible_grace: Duration::from_secs(15),
            sign_in_retry: Duration::from_secs(20),
            adopt_orphans: true,
            concurrency: DEFAULT_CONCURRENCY,
            daily_request_limit: None,
        }
    }
}

/// What a new task runs.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    pub workflow_id: String,
    pub workflow_name: Option<String>,
    pub workspace_id: Option<String>,
    pub parameters: Map<String, Value>,
    pub mode: RunMode,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Version, app or bot, conversation and files (kept by reruns).
    pub context: RunContext,
}

/// A change the runner announces (after committing it).
#[derive(Debug, Clone)]
pub enum TaskUpdate {
    Changed(Arc<Task>),
    Event { task_id: String, event: Arc<TaskEvent> },
    Deleted(String),
}

#[derive(Debug)]
pub enum RunnerError {
    Ledger(LedgerError),
    /// Only interrupted tasks take answers.
    NotInterrupted(String, TaskStatus),
    /// Another coze-tui process is driving this task.
    Busy(String),
    /// The task ran under another profile (another token, maybe another region).
    OtherProfile(String, String),
    /// The server cannot do it (a non-streamed answer on Coze Studio).
    Unsupported(String),
}

impl std::fmt::Display for RunnerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ledger(e) => e.fmt(f),
            Self::NotInterrupted(id, s) => write!(f, "task {id} is {}, not waiting for an answer", s.as_str()),
            Self::Busy(id) => write!(f, "task {id} is being answered or driven elsewhere; try again in a moment"),
            Self::OtherProfile(id, p) => {
                write!(f, "task {id} belongs to profile {p:?}; use --profile {p} (or switch to it)")
            }
            Self::Unsupported(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for RunnerError {}

impl From<LedgerError> for RunnerError {
    fn from(e: LedgerError) -> Self {
        Self::Ledger(e)
    }
}

struct Shared {
    client: CozeClient,
    /// The same client without its own retries: the runner retries polls itself, on its poll
    /// schedule (each try still passes the client's gate).
    poll_client: CozeClient,
    ledger: Arc<Ledger>,
    cfg: RunnerConfig,
    /// Identifies this runner's leases in the ledger.
    owner: String,
    updates: broadcast::Sender<TaskUpdate>,
    /// Queued tasks wait for one of these before they start.
    start_slots: Arc<Semaphore>,
    /// Drivers running, with when they started (to tell new ones from ones whose lease was lost).
    active: Mutex<HashMap<String, (tokio::task::AbortHandle, tokio::time::Instant)>>,
    stop: watch::Sender<bool>,
}

/// Cheap to clone; every clone drives the same tasks.
#[derive(Clone)]
pub struct Runner {
    shared: Arc<Shared>,
}

enum Job {
    Start,
    /// Start once a slot of the runner's concurrency is free.
    Queued,
    Watch,
    Resume(ResumeRequest),
}

impl Runner {
    /// Starts the service: takes up unwatched runs left in the ledger, then keeps leases fresh
    /// and adopts tasks of processes that died. Every request goes through the client's gate;
    /// a client without one gets the profile's budget shared through the ledger.
    pub async fn start(client: CozeClient, ledger: Arc<Ledger>, cfg: RunnerConfig) -> Self {
        let (updates, _) = broadcast::channel(4096);
        let (stop, _) = watch::channel(false);
        let owner = format!("{}-{:08x}", std::process::id(), rand::random::<u32>());
        let client = if client.has_gate() {
            client
        } else {
            let budget = SharedBudget::new(ledger.clone(), cfg.profile.clone(), cfg.poll.qps, cfg.daily_request_limit);
            client.with_gate(Arc::new(budget))
        };
        let start_slots = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
        let runner = Self {
            shared: Arc::new(Shared {
                poll_client: client.with_retry(crate::coze::RetryPolicy { max_retries: 0, ..client.options().retry }),
                client,
                ledger,
                cfg,
                owner,
                updates,
                start_slots,
                active: Mutex::new(HashMap::new()),
                stop,
            }),
        };
        runner.adopt_orphans().await;
        let r = runner.clone();
        let mut stopped = runner.shared.stop.subscribe();
        tokio::spawn(async move {
            let period = r.shared.cfg.lease / 3;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(period) => {}
                    _ = stopped.changed() => return,
                }
                let sh = r.shared.clone();
                let renewing = tokio::time::Instant::now();
                if let Ok(held) = db(&r.shared.ledger, move |l| l.renew(&sh.owner, sh.cfg.lease)).await {
                    r.stop_lost(&held, renewing);
                }
                r.adopt_orphans().await;
            }
        });
        runner
    }

    pub fn subscribe(&self) -> broadcast::Receiver<TaskUpdate> {
        self.shared.updates.subscribe()
    }

    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.shared.ledger
    }

    pub fn client(&self) -> &CozeClient {
        &self.shared.client
    }

    /// Whether [`Runner::shutdown`] was called.
    pub fn is_stopped(&self) -> bool {
        *self.shared.stop.borrow()
    }

    /// How many tasks this runner is driving right now.
    pub fn active_count(&self) -> usize {
        self.shared.active.lock().map(|a| a.len()).unwrap_or(0)
    }

    /// Records a task and starts running it in the background.
    pub async fn submit(&self, new: NewTask) -> Result<Task, RunnerError> {
        let task = self.record(vec![self.pending(new, now_ms())], true).await?.remove(0);
        let (p, w, params) = (self.shared.cfg.profile.clone(), task.workflow_id.clone(), task.parameters.clone());
        // The app or bot it ran with is remembered; none given forgets nothing (forgetting
        // is asked for: `--bot-id ""`, an empty `B`).
        let context = task.context.clone();
        let _ = db(&self.shared.ledger, move |l| {
            l.save_last_params(&p, &w, &params)?;
            if context.app_id.is_some() || context.bot_id.is_some() {
                l.remember_context(&p, &w, &context)?;
            }
            Ok(())
        })
        .await;
        self.announce(TaskUpdate::Changed(Arc::new(task.clone())));
        self.spawn(task.clone(), Job::Start);
        Ok(task)
    }

    /// A new pending task of this runner's profile, created at `created_at`.
    fn pending(&self, new: NewTask, created_at: i64) -> Task {
        Task {
            name: new.name.filter(|s| !s.trim().is_empty()),
            description: new.description.filter(|s| !s.trim().is_empty()),
            workspace_id: new.workspace_id,
            workflow_name: new.workflow_name,
            parameters: new.parameters,
            context: new.context,
            ..Task::pending(
                new_task_id(created_at),
                self.shared.cfg.profile.clone(),
                new.workflow_id,
                new.mode,
                created_at,
            )
        }
    }

    /// Records many tasks in one transaction, queued. Held, this runner starts them, as many
    /// at once as its concurrency allows; not held, they wait in the ledger for whichever
    /// process takes them up (`watch`, a dashboard) and this returns at once.
    pub async fn submit_batch(&self, news: Vec<NewTask>, hold: bool) -> Result<Vec<Task>, RunnerError> {
        let now = now_ms();
        let tasks: Vec<Task> = news
            .into_iter()
            .enumerate()
            // Distinct creation times keep the batch in input order in every listing.
            .map(|(i, new)| Task { queued: true, ..self.pending(new, now + i as i64) })
            .collect();
        let tasks = self.record(tasks, hold).await?;
        for task in &tasks {
            self.announce(TaskUpdate::Changed(Arc::new(task.clone())));
            if hold {
                self.spawn(task.clone(), Job::Queued);
            }
        }
        Ok(tasks)
    }

    /// Stops this runner (see [`Runner::shutdown`]) and marks the given queued tasks that were
    /// never sent as failed, so no other process starts them later. Returns those cancelled.
    pub async fn cancel_queued(&self, ids: Vec<String>) -> Result<Vec<String>, RunnerError> {
        self.shutdown().await;
        let why = "cancelled before it was sent: the batch was stopped";
        let cancelled = db(&self.shared.ledger, move |l| l.cancel_queued(&ids, why)).await?;
        Ok(cancelled)
    }

    /// Inserts new tasks (leased to this runner when `hold`), drawing new ids if one was taken
    /// (two batches recorded in the same milliseconds). Returns them as recorded.
    async fn record(&self, mut tasks: Vec<Task>, hold: bool) -> Result<Vec<Task>, RunnerError> {
        for _ in 0..5 {
            let (all, owner, lease) = (tasks.clone(), self.shared.owner.clone(), self.shared.cfg.lease);
            match db(&self.shared.ledger, move |l| l.insert_all(&all, hold.then_some(owner.as_str()), lease)).await {
                Err(LedgerError::IdTaken) => {
                    for t in &mut tasks {
                        t.id = new_task_id(t.created_at);
                    }
                }
                other => return other.map(|()| tasks).map_err(RunnerError::from),
            }
        }
        Err(RunnerError::Ledger(LedgerError::IdTaken))
    }

    /// A new task with the same workflow, parameters, mode and name as `id`.
    pub async fn rerun(&self, id: &str) -> Result<Task, RunnerError> {
        let old = self.find(id).await?;
        self.submit(NewTask {
            workflow_id: old.workflow_id,
            workflow_name: old.workflow_name,
            workspace_id: old.workspace_id,
            parameters: old.parameters,
            mode: old.requested_mode,
            name: old.name,
            description: old.description,
            context: old.context,
        })
        .await
    }

    /// Answers an interrupted task; the run goes on in the background.
    pub async fn resume(&self, id: &str, answer: &str) -> Result<Task, RunnerError> {
        let task = self.find(id).await?;
        // A stopped runner starts nothing (its work was handed over).
        if self.is_stopped() {
            return Err(RunnerError::Busy(task.id));
        }
        if task.status != TaskStatus::Interrupted || task.interrupt.is_none() {
            return Err(RunnerError::NotInterrupted(task.id, task.status));
        }
        if task.profile != self.shared.cfg.profile {
            return Err(RunnerError::OtherProfile(task.id, task.profile));
        }
        if matches!(task.mode, RunMode::Sync | RunMode::Async)
            && let Err(e) = self.shared.client.takes_unstreamed_answers().await
        {
            return Err(RunnerError::Unsupported(format!(
                "{} (task {} ran {})",
                e.message,
                task.id,
                task.mode.as_str()
            )));
        }
        let (tid, owner, lease) = (task.id.clone(), self.shared.owner.clone(), self.shared.cfg.lease);
        if !db(&self.shared.ledger, move |l| l.claim(&tid, &owner, lease)).await? {
            return Err(RunnerError::Busy(task.id));
        }
        // Read again now that we hold it: the question may have changed meanwhile.
        let task = self.find(&task.id).await?;
        if task.status != TaskStatus::Interrupted || task.interrupt.is_none() {
            return Err(RunnerError::NotInterrupted(task.id, task.status));
        }
        // Running is committed before this returns, so a caller waiting for the task to
        // settle cannot see the old interrupted state.
        let mut driver = Driver { runner: self.clone(), task, accepted_at: None };
        let req = driver.begin_resume(answer).await.map_err(|Gone| RunnerError::Busy(driver.task.id.clone()))?;
        let task = driver.task.clone();
        self.spawn(task.clone(), Job::Resume(req));
        Ok(task)
    }

    /// Deletes a task from the ledger, stopping this runner's work on it.
    pub async fn delete(&self, id: &str) -> Result<bool, RunnerError> {
        let task = self.find(id).await?;
        if let Some((h, _)) = self.shared.active.lock().ok().and_then(|mut a| a.remove(&task.id)) {
            h.abort();
        }
        let tid = task.id.clone();
        let existed = db(&self.shared.ledger, move |l| l.delete(&tid)).await?;
        self.announce(TaskUpdate::Deleted(task.id));
        Ok(existed)
    }

    /// The tasks with these ids as the ledger has them now (one read), in the same order;
    /// deleted ones are left out.
    /// (A ledger that cannot be read is an error, not an empty answer.)
    pub async fn find_all(&self, ids: Vec<String>) -> Result<Vec<Task>, RunnerError> {
        let read = move |l: &Ledger| {
            ids.iter()
                .filter_map(|id| match l.get(id) {
                    Err(crate::tasks::LedgerError::NotFound(_)) => None,
                    other => Some(other),
                })
                .collect()
        };
        Ok(db(&self.shared.ledger, read).await?)
    }

    /// How many runs this runner starts at once.
    pub fn concurrency(&self) -> usize {
        self.shared.cfg.concurrency
    }

    pub async fn find(&self, id: &str) -> Result<Task, RunnerError> {
        let id = id.to_string();
        Ok(db(&self.shared.ledger, move |l| l.find(&id)).await?)
    }

    /// Waits until the task settles (or is deleted: then its last known state).
    pub async fn wait_settled(&self, id: &str) -> Result<Task, RunnerError> {
        let mut rx = self.subscribe();
        let mut task = self.find(id).await?;
        loop {
            if task.status.is_settled() {
                return Ok(task);
            }
            match rx.recv().await {
                Ok(TaskUpdate::Changed(t)) if t.id == task.id => task = (*t).clone(),
                Ok(TaskUpdate::Deleted(d)) if d == task.id => return Ok(task),
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => task = self.find(&task.id).await?,
                Err(broadcast::error::RecvError::Closed) => return Ok(task),
            }
        }
    }

    /// Stops driving tasks and gives up their leases, so another process can take them over
    /// at once. Runs in flight keep running on Coze.
    pub async fn shutdown(&self) {
        let _ = self.shared.stop.send(true);
        // Taken before anything wakes a driver: one that ends forgets itself, and its lease.
        let handles: Vec<_> = self.shared.active.lock().map(|mut a| a.drain().collect()).unwrap_or_default();
        // Queued tasks waiting for a slot must not take the slots the aborted ones free.
        self.shared.start_slots.close();
        // Every driver is stopped before the first await: none may start a run meanwhile.
        for (_, (h, _)) in &handles {
            h.abort();
        }
        let (ids, owner) = (handles.into_iter().map(|(id, _)| id).collect::<Vec<_>>(), self.shared.owner.clone());
        let _ = db(&self.shared.ledger, move |l| ids.iter().try_for_each(|id| l.release(id, &owner))).await;
    }

    fn announce(&self, update: TaskUpdate) {
        let _ = self.shared.updates.send(update);
    }

    /// Takes up unsettled tasks nobody watches: watched again if their execute id is known,
    /// otherwise marked unknown (the run may or may not have started; it is never re-sent).
    async fn adopt_orphans(&self) {
        if !self.shared.cfg.adopt_orphans {
            return;
        }
        let profile = self.shared.cfg.profile.clone();
        let Ok(orphans) = db(&self.shared.ledger, move |l| l.orphans(&profile)).await else { return };
        for task in orphans {
            if self.shared.active.lock().map(|a| a.contains_key(&task.id)).unwrap_or(true) {
                continue;
            }
            let (tid, owner, lease) = (task.id.clone(), self.shared.owner.clone(), self.shared.cfg.lease);
            if !matches!(db(&self.shared.ledger, move |l| l.claim(&tid, &owner, lease)).await, Ok(true)) {
                continue;
            }
            // The list is older than the claim: decide from the task as it is now (another
            // process may have started, interrupted or finished it meanwhile).
            let tid = task.id.clone();
            let Ok(task) = db(&self.shared.ledger, move |l| l.get(&tid)).await else { continue };
            let job = match task.status {
                TaskStatus::Pending if task.queued => Job::Queued,
                TaskStatus::Pending | TaskStatus::Running => Job::Watch,
                _ => {
                    let (tid, owner) = (task.id.clone(), self.shared.owner.clone());
                    let _ = db(&self.shared.ledger, move |l| l.release(&tid, &owner)).await;
                    continue;
                }
            };
            tracing::info!(task = %task.id, execute_id = ?task.execute_id, queued = task.queued, "taking up an unwatched task");
            self.spawn(task, job);
        }
    }

    fn spawn(&self, task: Task, job: Job) {
        let id = task.id.clone();
        let mut active = self.shared.active.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((old, _)) = active.remove(&id) {
            old.abort();
        }
        let driver = Driver { runner: self.clone(), task, accepted_at: None };
        let handle = tokio::spawn(driver.run(job));
        active.insert(id, (handle.abort_handle(), tokio::time::Instant::now()));
    }

    /// Forgets a driver that ended, unless a newer one for the same task replaced it.
    fn finished(&self, id: &str) {
        let me = tokio::task::try_id();
        if let Ok(mut a) = self.shared.active.lock()
            && a.get(id).is_some_and(|(h, _)| Some(h.id()) == me)
        {
            a.remove(id);
        }
    }

    /// Stops driving tasks whose lease another process took over (after we went silent).
    /// Drivers started after `renewing` began are kept: their lease may be newer than the read.
    fn stop_lost(&self, held: &[String], renewing: tokio::time::Instant) {
        let held: std::collections::HashSet<&str> = held.iter().map(String::as_str).collect();
        if let Ok(mut a) = self.shared.active.lock() {
            a.retain(|id, (h, started)| {
                let keep = held.contains(id.as_str()) || *started >= renewing;
                if !keep {
                    tracing::warn!(task = %id, "lease lost to another process; no longer watching");
                    h.abort();
                }
                keep
            });
        }
    }
}

/// Runs a ledger call off the async threads (it may wait for another process's write lock).
async fn db<T: Send + 'static>(
    ledger: &Arc<Ledger>,
    f: impl FnOnce(&Ledger) -> Result<T, LedgerError> + Send + 'static,
) -> Result<T, LedgerError> {
    let l = ledger.clone();
    tokio::task::spawn_blocking(move || f(&l)).await.map_err(|e| LedgerError::Db(format!("ledger task failed: {e}")))?
}

/// How long a watch waits when coze-tui's own daily request limit holds its polls back.
const LOCAL_LIMIT_RETRY: Duration = Duration::from_secs(300);

/// Whether a run-history error may just mean "not visible yet".
fn not_found(e: &CozeError) -> bool {
    matches!(e.kind, ErrorKind::ExecutionNotFound | ErrorKind::NotFound | ErrorKind::Api)
}

/// The longest wait between polls of a long run.
const LONG_RUN_MAX_INTERVAL: Duration = Duration::from_secs(60);

/// The wait before the next poll: grows by `backoff` up to `max_interval`; for long runs up to
/// a tenth of the run's age (at most a minute), so a run's cost grows with the log of its
/// length while its end is still seen within about 10% of it.
fn next_interval(current: Duration, age: Duration, poll: &PollSettings) -> Duration {
    let cap = poll.max_interval().max((age / 10).min(LONG_RUN_MAX_INTERVAL));
    current.mul_f64(poll.backoff).min(cap)
}

/// Drives one task through its states.
struct Driver {
    runner: Runner,
    task: Task,
    /// When Coze accepted this driver's start of the run (its "not visible yet" grace
    /// counts from here, not from the wait for a request slot).
    accepted_at: Option<tokio::time::Instant>,
}

/// The task can no longer be written by this runner (deleted, or taken over).
struct Gone;

/// Kept messages are saved this long after the first unsaved one at the latest...
const SAVE_EVENTS_AFTER: Duration = Duration::from_millis(50);
/// ...or as soon as this many wait.
const SAVE_EVENTS_AT: usize = 256;
/// Past the cap nothing is stored, but the counters reach the ledger (and other dashboards)
/// this often.
const SAVE_COUNTERS_EVERY: Duration = Duration::from_secs(1);

/// Streamed messages and counters not yet in the ledger: a stream costs one transaction per
/// batch, not per message.
#[derive(Default)]
struct Unsaved {
    events: Vec<TaskEvent>,
    /// The last message past the cap (becomes the task's `last_message` when saved).
    last_dropped: Option<String>,
    /// When the oldest unsaved change happened (none: nothing to save).
    since: Option<tokio::time::Instant>,
    /// Messages seen.
    seen: u32,
}

impl Unsaved {
    fn touch(&mut self) {
        self.seen = self.seen.wrapping_add(1);
        self.since.get_or_insert_with(tokio::time::Instant::now);
    }

    fn due_at(&self) -> Option<tokio::time::Instant> {
        let since = self.since?;
        Some(since + if self.events.is_empty() { SAVE_COUNTERS_EVERY } else { SAVE_EVENTS_AFTER })
    }

    /// Checked after every message; the clock is read every 16th (the timer covers a quiet
    /// stream).
    fn due(&self) -> bool {
        self.events.len() >= SAVE_EVENTS_AT
            || (self.seen.is_multiple_of(16) && self.due_at().is_some_and(|at| at <= tokio::time::Instant::now()))
    }
}

impl Driver {
    fn sh(&self) -> &Shared {
        &self.runner.shared
    }

    async fn run(mut self, job: Job) {
        let id = self.task.id.clone();
        let outcome = match job {
            Job::Start => self.start().await,
            Job::Queued => {
                let slots = self.sh().start_slots.clone();
                // Held until the run settles, so at most `concurrency` queued runs are in flight.
                match slots.acquire_owned().await {
                    Ok(_permit) => self.start_queued().await,
                    // The runner is shutting down: the task stays queued for another process.
                    Err(_) => Ok(()),
                }
            }
            Job::Watch => self.recover().await,
            Job::Resume(req) => self.resume(req).await,
        };
        if let Err(Gone) = outcome {
            tracing::info!(task = %id, "stopped driving: the task was deleted or taken over");
        }
        self.runner.finished(&id);
    }

    /// Adds a note the user sees with the task; returns it for the status history too.
    fn noted(&mut self, text: impl Into<String>) -> Option<String> {
        let text = text.into();
        self.task.notes.push(text.clone());
        Some(text)
    }

    /// Commits the task (with `note` in its status history), then announces it.
    /// `Err(Gone)` stops the driver.
    async fn save(&mut self, note: Option<String>) -> Result<(), Gone> {
        self.save_from(note, None).await
    }

    /// [`Driver::save`] only if the stored task is still in the `expected` (status, updated_at).
    async fn save_from(&mut self, note: Option<String>, expected: Option<(TaskStatus, i64)>) -> Result<(), Gone> {
        // Each write of a task is later than the one before, even within a millisecond, so a
        // state that follows another is never taken for it (or for older).
        let now = now_ms().max(self.task.updated_at + 1);
        self.task.updated_at = now;
        if self.task.status.is_settled()
            && self.task.finished_at.is_none()
            && self.task.status != TaskStatus::Interrupted
        {
            self.task.finished_at = Some(now);
        }
        let (t, owner) = (self.task.clone(), self.sh().owner.clone());
        match db(&self.sh().ledger, move |l| l.update_from(&t, &owner, note.as_deref(), expected)).await {
            Ok(true) => {
                self.runner.announce(TaskUpdate::Changed(Arc::new(self.task.clone())));
                Ok(())
            }
            Ok(false) => Err(Gone),
            Err(e) => {
                tracing::error!(task = %self.task.id, error = %e, "cannot save the task");
                Err(Gone)
            }
        }
    }

    async fn set_status(&mut self, status: TaskStatus, note: Option<String>) -> Result<(), Gone> {
        self.task.status = status;
        self.save(note).await
    }

    fn request(&self) -> RunRequest {
        let c = &self.task.context;
        RunRequest {
            workflow_id: self.task.workflow_id.clone(),
            parameters: self.task.parameters.clone(),
            bot_id: c.bot_id.clone(),
            app_id: c.app_id.clone(),
            workflow_version: c.version.clone(),
            ..Default::default()
        }
    }

    /// Starts a queued task only if it is still queued as this driver read it: of two
    /// processes that took it up (or a batch cancelled meanwhile), one sends it, once.
    async fn start_queued(&mut self) -> Result<(), Gone> {
        let read = (TaskStatus::Pending, self.task.updated_at);
        self.task.queued = false;
        self.task.started_at = Some(now_ms());
        self.task.status = TaskStatus::Running;
        self.save_from(None, Some(read)).await?;
        self.send_start().await
    }

    async fn start(&mut self) -> Result<(), Gone> {
        self.task.started_at = Some(now_ms());
        self.set_status(TaskStatus::Running, None).await?;
        self.send_start().await
    }

    async fn send_start(&mut self) -> Result<(), Gone> {
        let client = self.sh().client.clone();
        match self.task.mode {
            RunMode::Sync => match client.run(&self.request()).await {
                Ok(reply) => {
                    self.task.logid = reply.logid;
                    self.apply_result(reply.value).await
                }
                Err(e) => self.refused_or_unknown(e).await,
            },
            RunMode::Async => match client.run_async(&self.request()).await {
                Ok(reply) => {
                    self.accepted_at = Some(tokio::time::Instant::now());
                    self.task.logid = reply.logid;
                    self.task.execute_id = reply.value.execute_id();
                    self.task.debug_url = reply.value.debug_url;
                    self.save(None).await?;
                    self.watch().await
                }
                Err(e) if e.kind == ErrorKind::AsyncUnavailable => {
                    self.task.mode = RunMode::Stream;
                    let note = self.noted("async runs need a paid Coze plan (6003): running it as a stream instead");
                    self.save(note).await?;
                    match client.stream_run(&self.request()).await {
                        Ok(stream) => self.consume(stream).await,
                        Err(e) => self.refused_or_unknown(e).await,
                    }
                }
                Err(e) => self.refused_or_unknown(e).await,
            },
            RunMode::Stream => match client.stream_run(&self.request()).await {
                Ok(stream) => self.consume(stream).await,
                Err(e) => self.refused_or_unknown(e).await,
            },
            RunMode::Chat => match client.chat_stream(&self.chat_request()).await {
                Ok(stream) => self.consume(stream).await,
                Err(e) => self.refused_or_unknown(e).await,
            },
        }
    }

    /// A chat turn: its message into its conversation (a new one when it has none yet).
    fn chat_request(&self) -> ChatRequest {
        let c = &self.task.context;
        ChatRequest {
            run: self.request(),
            additional_messages: vec![ChatMessage::user(c.message.as_deref().unwrap_or_default())],
            conversation_id: c.conversation_id.clone(),
        }
    }

    /// After a restart: watch runs with a known execute id; the rest are unknown.
    async fn recover(&mut self) -> Result<(), Gone> {
        if self.task.execute_id.is_some() {
            return self.watch().await;
        }
        self.cannot_be_looked_up().await
    }

    async fn cannot_be_looked_up(&mut self) -> Result<(), Gone> {
        self.task.error = None;
        let note = self.noted(
            "coze-tui stopped before Coze gave this run an execute id, so it cannot be looked up; \
             it may or may not have run (check Coze, or re-run it)",
        );
        self.set_status(TaskStatus::Unknown, note).await
    }

    /// Counts the answer and marks the task running again.
    async fn begin_resume(&mut self, answer: &str) -> Result<ResumeRequest, Gone> {
        let read_at = self.task.updated_at;
        let Some(mut interrupt) = self.task.interrupt.clone() else { return Err(Gone) };
        interrupt.answers += 1;
        let req = ResumeRequest {
            workflow_id: self.task.workflow_id.clone(),
            event_id: interrupt.event_id.clone(),
            interrupt_type: interrupt.interrupt_type,
            resume_data: answer.to_string(),
        };
        // Written whole up to 200 characters (line breaks escaped), so it can be read back.
        let shown: String = answer.chars().take(200).collect();
        let cut = if shown.len() < answer.len() { "…" } else { "" };
        let note = format!("answered {shown:?}{cut} (answer {})", interrupt.answers);
        // The question was written last: from then to now the run waited for the answer.
        self.task.waited_ms += (now_ms() - read_at).max(0);
        self.task.interrupt = Some(interrupt);
        self.task.error = None;
        self.task.finished_at = None;
        // Compare-and-set on the state read: of two answers sent at once, only one moves the
        // task on, and none answers a question that was already replaced by another.
        self.task.status = TaskStatus::Running;
        self.save_from(Some(note), Some((TaskStatus::Interrupted, read_at))).await?;
        Ok(req)
    }

    async fn resume(&mut self, req: ResumeRequest) -> Result<(), Gone> {
        let client = self.sh().client.clone();
        match self.task.mode {
            RunMode::Stream => match client.stream_resume(&req).await {
                Ok(stream) => self.consume(stream).await,
                Err(e) => self.answer_failed(e).await,
            },
            RunMode::Sync => match client.resume(&req).await {
                Ok(reply) => self.apply_result(reply.value).await,
                Err(e) => self.answer_failed(e).await,
            },
            RunMode::Async => match client.resume(&req).await {
                Ok(reply) => match reply.value.interrupt_data.filter(|i| !i.event_id.is_empty()) {
                    Some(i) => self.interrupted(&i, "").await,
                    None => self.watch().await,
                },
                Err(e) => self.answer_failed(e).await,
            },
            // A chatflow asks in its reply and is answered by the conversation's next turn.
            RunMode::Chat => {
                let note =
                    self.noted("a chatflow is answered with the next message of its conversation (coze-tui chat)");
                self.set_status(TaskStatus::Interrupted, note).await
            }
        }
    }

    /// An answer that never left (no connection, coze-tui's own daily limit) leaves the
    /// question open, to be answered again; any other failure is the run's.
    async fn answer_failed(&mut self, e: CozeError) -> Result<(), Gone> {
        // (A server that cannot take this answer took nothing: the question stays open.)
        if e.delivery != Delivery::NotSent && e.kind != ErrorKind::Unsupported {
            return self.refused_or_unknown(e).await;
        }
        if let Some(i) = &mut self.task.interrupt {
            i.answers = i.answers.saturating_sub(1);
        }
        let note = match e.kind {
            // It can never be sent this way (the message says how it can).
            ErrorKind::Unsupported => self.noted(format!("the answer was not sent: {}", e.message)),
            _ => self.noted(format!("the answer was not sent ({}); answer again", e.message)),
        };
        self.set_status(TaskStatus::Interrupted, note).await
    }

    /// A sync run's (or sync resume's) answer.
    async fn apply_result(&mut self, r: RunResult) -> Result<(), Gone> {
        self.task.execute_id = r.execute_id().or(self.task.execute_id.take());
        self.task.debug_url = r.debug_url.clone().or(self.task.debug_url.take());
        self.task.usage = r.usage.clone().or(self.task.usage.take());
        if let Some(i) = r.interrupt_data.as_ref().filter(|i| !i.event_id.is_empty()) {
            return self.interrupted(i, "").await;
        }
        self.task.output = r.data;
        self.task.interrupt = None;
        self.set_status(TaskStatus::Succeeded, None).await
    }

    async fn interrupted(&mut self, i: &InterruptData, node_title: &str) -> Result<(), Gone> {
        let question = i.question().or_else(|| self.task.last_message.clone());
        // Coze counts answers per question: the same node asking the same again (the answer
        // was not taken) carries the count; another question starts afresh.
        let answers = match &self.task.interrupt {
            Some(old) if old.node_title == node_title && old.question == question => old.answers,
            _ => 0,
        };
        self.task.interrupt = Some(Interrupt {
            question,
            event_id: i.event_id.clone(),
            interrupt_type: i.kind.unwrap_or(2),
            node_title: node_title.to_string(),
            answers,
            required_parameters: i.form_fields(),
        });
        self.set_status(TaskStatus::Interrupted, None).await
    }

    /// A request that failed: refused by Coze (nothing ran, or the workflow failed), or
    /// ambiguous (it may have started): then watched if the execute id is known, else unknown.
    async fn refused_or_unknown(&mut self, e: CozeError) -> Result<(), Gone> {
        self.task.logid = e.logid.clone().or(self.task.logid.take());
        if self.task.debug_url.is_none() {
            self.task.debug_url = e.debug_url.as_deref().map(str::to_string);
        }
        if self.task.execute_id.is_none() {
            self.task.execute_id = e
                .execute_id
                .as_deref()
                .map(str::to_string)
                .or_else(|| e.debug_url.as_deref().and_then(execute_id_from_debug_url));
        }
        self.task.error = Some(TaskError::from_coze(&e));
        if e.is_ambiguous_for_run() {
            let what = match e.kind {
                ErrorKind::Decode => "its reply could not be read",
                ErrorKind::Server => "Coze answered with a server error",
                _ => "the connection failed after the run was sent",
            };
            if self.task.execute_id.is_some() {
                self.accepted_at.get_or_insert_with(tokio::time::Instant::now);
                let note = self.noted(format!("{what} ({}); watching run history instead", e.message));
                self.save(note).await?;
                return self.watch().await;
            }
            let note = self.noted(format!("{what}; it may still be running on Coze (it was not sent again)"));
            return self.set_status(TaskStatus::Unknown, note).await;
        }
        // A Coze Studio's own hint is shown with the task (its codes and tokens are not the
        // ones users know); other hints stay in the status history.
        let note = match e.studio_hint() {
            Some(hint) => self.noted(hint),
            None => Some(e.hint().to_string()),
        };
        self.set_status(TaskStatus::Failed, note).await
    }

    /// Reads a workflow stream to its end, recording messages as they arrive: kept messages in
    /// batches (see [`Unsaved`]), and everything before the final state.
    async fn consume(&mut self, mut stream: WorkflowStream) -> Result<(), Gone> {
        self.task.logid = stream.logid.clone().or(self.task.logid.take());
        let (max_events, max_bytes) = (self.sh().cfg.max_events, self.sh().cfg.max_event_bytes);
        let mut event_bytes: u64 = 0;
        let mut unsaved = Unsaved::default();
        // The End node's messages make up the output; its final one completes it.
        let mut end_output = String::new();
        let mut output_complete = false;
        let mut lost: Option<CozeError> = None;
        // One timer, moved only when the save deadline moves (a new timer per message would
        // cost more than the message).
        let mut save_timer = Box::pin(tokio::time::sleep(Duration::ZERO));
        let mut timer_at = None;
        loop {
            let due_at = unsaved.due_at();
            if let Some(at) = due_at.filter(|at| timer_at != Some(*at)) {
                save_timer.as_mut().reset(at);
            }
            timer_at = due_at;
            let next = match due_at {
                // Something waits to be saved: save it on time even if the stream goes quiet.
                Some(_) => tokio::select! {
                    biased;
                    ev = stream.next_event() => Some(ev),
                    _ = save_timer.as_mut() => None,
                },
                None => Some(stream.next_event().await),
            };
            match next {
                None => self.save_events(&mut unsaved).await?,
                Some(Ok(Some(ev))) => match ev.event {
                    WorkflowEvent::Message(m) => {
                        if m.usage.is_some() {
                            self.task.usage = m.usage;
                        }
                        if crate::coze::is_end_node(&m.node_title) {
                            // An End node that streams its answer sends it in chunks (seq 0, 1, …)
                            // and marks the last; one that does not sends it whole, marked.
                            if m.node_seq_id.unwrap_or(0) == 0 {
                                end_output.clear();
                            }
                            end_output.push_str(&m.content);
                            if m.node_is_finish {
                                self.task.output = Some(std::mem::take(&mut end_output));
                                output_complete = true;
                            }
                        }
                        let now = now_ms();
                        self.task.updated_at = now;
                        event_bytes += m.content.len() as u64;
                        let seq = self.task.event_count + self.task.events_dropped;
                        if self.task.event_count < max_events && event_bytes <= max_bytes {
                            self.task.event_count += 1;
                            unsaved.events.push(TaskEvent {
                                seq,
                                node_title: m.node_title,
                                node_seq_id: m.node_seq_id,
                                node_is_finish: m.node_is_finish,
                                content: m.content,
                                at: now,
                            });
                        } else {
                            // Past the cap only counters change; the last message is still news.
                            self.task.events_dropped += 1;
                            unsaved.last_dropped = Some(m.content);
                        }
                        unsaved.touch();
                        if unsaved.due() {
                            self.save_events(&mut unsaved).await?;
                        }
                    }
                    WorkflowEvent::Done { debug_url: Some(url) } => self.task.debug_url = Some(url),
                    WorkflowEvent::Conversation { id } if self.task.context.conversation_id.as_ref() != Some(&id) => {
                        // Known as soon as Coze says it, so the conversation goes on even if
                        // this turn is lost.
                        self.task.context.conversation_id = Some(id);
                        self.save_events(&mut unsaved).await?;
                        self.save(None).await?;
                    }
                    _ => {}
                },
                Some(Ok(None)) => break,
                Some(Err(e)) => {
                    lost = Some(e);
                    break;
                }
            }
        }
        self.save_events(&mut unsaved).await?;
        if self.task.events_dropped > 0 {
            self.task.notes.push(format!(
                "the stream had {} messages; the first {} were kept",
                self.task.event_count + self.task.events_dropped,
                self.task.event_count
            ));
        }
        let end = match lost {
            Some(e) => Err(e),
            None => Ok(stream.end()),
        };
        match end {
            Ok(StreamEnd::Completed { execute_id, debug_url }) => {
                self.task.execute_id = execute_id.or(self.task.execute_id.take());
                self.task.debug_url = debug_url.or(self.task.debug_url.take());
                if self.task.output.is_none() {
                    self.fetch_final_output().await;
                }
                self.task.interrupt = None;
                self.set_status(TaskStatus::Succeeded, None).await
            }
            Ok(StreamEnd::Interrupted(i)) => {
                if self.task.execute_id.is_none() {
                    self.task.execute_id =
                        i.interrupt_data.event_id.split('/').next().filter(|s| !s.is_empty()).map(str::to_string);
                }
                self.interrupted(&i.interrupt_data, &i.node_title).await
            }
            Ok(StreamEnd::Failed(err)) => {
                // Coze Studio's Error names the failed execution.
                if let Some(url) = &err.debug_url {
                    self.task.execute_id = self.task.execute_id.take().or_else(|| execute_id_from_debug_url(url));
                    self.task.debug_url.get_or_insert_with(|| url.clone());
                }
                let mut error = TaskError::workflow(err.error_code, err.error_message);
                // An Error before any message is Coze refusing the run (bad inputs, a draft,
                // auth), as a sync run's error envelope would: the same kind, the same exit code.
                if self.task.event_count + self.task.events_dropped == 0
                    && let Some(code) = err.error_code
                {
                    let kind = ErrorKind::for_code(code, None);
                    if kind.is_refusal() {
                        error.kind = Some(kind.as_str().to_string());
                    }
                }
                self.task.error = Some(error);
                self.set_status(TaskStatus::Failed, None).await
            }
            Ok(StreamEnd::Lost) | Err(_) if output_complete => {
                // Coze had sent the End node's final message: the run is done, only Done is missing.
                self.task.interrupt = None;
                let note = self.noted(
                    "the stream ended without Done, after the End node's final message (the output is complete)",
                );
                self.set_status(TaskStatus::Succeeded, note).await
            }
            Ok(StreamEnd::Lost) => self.stream_lost(None).await,
            Err(e) => self.stream_lost(Some(e)).await,
        }
    }

    /// Commits the unsaved messages and counters in one transaction, then announces them.
    async fn save_events(&mut self, unsaved: &mut Unsaved) -> Result<(), Gone> {
        if unsaved.since.take().is_none() {
            return Ok(());
        }
        let last = unsaved.last_dropped.take();
        if let Some(last) = last.as_deref().or(unsaved.events.last().map(|e| e.content.as_str())) {
            self.task.last_message = Some(crate::coze::stream::clip(last, 500));
        }
        let (t, stored) = (self.task.clone(), std::mem::take(&mut unsaved.events));
        let saved =
            db(&self.sh().ledger, move |l| l.append_events(&t, &stored).map(|kept| kept.then_some(stored))).await;
        match saved {
            Ok(Some(events)) => {
                for event in events {
                    self.runner.announce(TaskUpdate::Event { task_id: self.task.id.clone(), event: Arc::new(event) });
                }
                Ok(())
            }
            Ok(None) => Err(Gone),
            Err(e) => {
                // Messages are a record, not the result: the run goes on and its end is saved.
                tracing::warn!(task = %self.task.id, error = %e, "cannot save streamed messages");
                Ok(())
            }
        }
    }

    /// A run history's output in the shape the other modes give: the End node's output, and
    /// the other nodes' apart.
    fn set_history_output(&mut self, raw: Option<&str>) {
        let (output, nodes) = raw.filter(|o| !o.is_empty()).map_or((None, None), crate::coze::split_history_output);
        self.task.output = output;
        self.task.node_outputs = nodes;
    }

    /// The run history's output, when the stream did not carry it.
    async fn fetch_final_output(&mut self) {
        let Some(eid) = self.task.execute_id.clone() else { return };
        // One request decides the output here, so let the client retry it.
        if let Ok(reply) = self.sh().client.run_history(&self.task.workflow_id, &eid).await {
            self.set_history_output(reply.value.output.as_deref());
            self.task.usage = reply.value.usage.or(self.task.usage.take());
        }
    }

    async fn stream_lost(&mut self, e: Option<CozeError>) -> Result<(), Gone> {
        let why =
            e.as_ref().map_or("the stream ended without Done, Error or Interrupt".to_string(), |e| e.message.clone());
        if self.task.execute_id.is_some() {
            let note = self.noted(format!("{why}; watching run history instead"));
            self.save(note).await?;
            return self.watch().await;
        }
        if let Some(e) = &e {
            self.task.error = Some(TaskError::from_coze(e));
        }
        let note = self.noted(format!("{why}; the run has no execute id to look up"));
        self.set_status(TaskStatus::Unknown, note).await
    }

    /// How long ago Coze accepted the run: measured from our start's answer when this driver
    /// started it, else `since_start` (a task taken up from the ledger).
    fn run_age(&self, since_start: Duration) -> Duration {
        self.accepted_at.map_or(since_start, |at| at.elapsed())
    }

    /// Polls run history until the run settles: fast at first, backing off, within the
    /// shared budget. Transient errors are waited out; the watch never gives up on them.
    async fn watch(&mut self) -> Result<(), Gone> {
        let Some(eid) = self.task.execute_id.clone() else { return self.cannot_be_looked_up().await };
        let poll = self.sh().cfg.poll.clone();
        let grace = self.sh().cfg.not_visible_grace;
        let watch_started = tokio::time::Instant::now();
        // A recovered run may have started long ago: its age counts, not just our watch.
        let age_before =
            Duration::from_millis((now_ms() - self.task.started_at.unwrap_or(self.task.created_at)).max(0) as u64);
        let mut interval = poll.initial_interval();
        let client = self.sh().poll_client.clone();
        loop {
            tokio::time::sleep(interval).await;
            interval = next_interval(interval, age_before + watch_started.elapsed(), &poll);
            match client.run_history(&self.task.workflow_id, &eid).await {
                Ok(reply) => {
                    let h = reply.value;
                    if let Some(i) = h.interrupt_data.as_ref().filter(|i| !i.event_id.is_empty()) {
                        self.task.debug_url = h.debug_url.clone().or(self.task.debug_url.take());
                        return self.interrupted(i, "").await;
                    }
                    match h.execute_status {
                        ExecuteStatus::Running => continue,
                        ExecuteStatus::Success => {
                            self.set_history_output(h.output.as_deref());
                            self.task.usage = h.usage.or(self.task.usage.take());
                            self.task.debug_url = h.debug_url.or(self.task.debug_url.take());
                            self.task.interrupt = None;
                            self.task.error = None;
                            if h.is_output_trimmed {
                                self.task
                                    .notes
                                    .push("Coze trimmed this output (over 1 MB); node outputs have the rest".into());
                            }
                            return self.set_status(TaskStatus::Succeeded, None).await;
                        }
                        ExecuteStatus::Fail | ExecuteStatus::Other(_) => {
                            self.task.error =
                                Some(TaskError::workflow(h.error_code_number(), h.error_message_with_code()));
                            self.task.debug_url = h.debug_url.or(self.task.debug_url.take());
                            if let Some(l) = h.logid {
                                self.task.logid = Some(l);
                            }
                            return self.set_status(TaskStatus::Failed, None).await;
                        }
                    }
                }
                // Right after a start the run may not be visible yet, and Coze's code for that
                // is documented nowhere: any "not found" of a young run is waited out.
                Err(e) if not_found(&e) && self.run_age(age_before + watch_started.elapsed()) < grace => {
                    tracing::debug!(task = %self.task.id, error = %e, "the run is not visible yet");
                    continue;
                }
                // A signed-in token that could not be renewed (signed out, the refresh token
                // spent or expired): the run goes on at Coze; look again once signed in.
                Err(e) if e.kind == ErrorKind::Auth && self.sh().client.renews_token() => {
                    tracing::warn!(task = %self.task.id, error = %e, "not polling: the sign-in must be renewed (coze-tui login)");
                    tokio::time::sleep(self.sh().cfg.sign_in_retry).await;
                    continue;
                }
                Err(e) if e.is_local_limit() => {
                    // Our own daily limit, not Coze's: the run goes on there; look again later.
                    tracing::warn!(task = %self.task.id, error = %e, "not polling: the daily request limit is reached");
                    tokio::time::sleep(LOCAL_LIMIT_RETRY).await;
                    continue;
                }
                // A reply this tool cannot read (cut short, or a shape it does not know) says
                // nothing about the run: keep watching, at the poll schedule's slow pace.
                Err(e) if e.is_transient() || e.kind == ErrorKind::Decode => {
                    // Retried on the poll schedule, each try passing the gate; a rate limit's
                    // Retry-After is waited out first.
                    tracing::warn!(task = %self.task.id, error = %e, "run history unavailable; will retry");
                    if let Some(wait) = e.retry_after {
                        tokio::time::sleep(wait.min(Duration::from_secs(300))).await;
                    }
                    continue;
                }
                Err(e) => {
                    self.task.error = Some(TaskError::from_coze(&e));
                    let note = self.noted(format!("run history cannot be read: {}", e.hint()));
                    return self.set_status(TaskStatus::Unknown, note).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_back_off_then_stretch_for_long_runs() {
        let poll = PollSettings::default();
        let mut i = poll.initial_interval();
        let mut waits = vec![];
        for _ in 0..8 {
            i = next_interval(i, Duration::from_secs(5), &poll);
            waits.push(i.as_millis());
        }
        assert_eq!(waits[0], 1500);
        assert_eq!(*waits.last().unwrap(), 10_000, "capped at max_interval early on");
        let long = next_interval(Duration::from_secs(10), Duration::from_secs(400), &poll);
        assert_eq!(long, Duration::from_secs(15), "a tenth of the age once that is longer");
        let very_long = next_interval(Duration::from_secs(59), Duration::from_secs(86_400), &poll);
        assert_eq!(very_long, LONG_RUN_MAX_INTERVAL);
    }
}
