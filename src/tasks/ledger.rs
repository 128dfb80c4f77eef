//! The run ledger: every task in a SQLite file, durable across restarts and crashes.
//!
//! WAL mode with `synchronous=NORMAL`: a killed process loses nothing committed. Writes take the
//! write lock up front (`BEGIN IMMEDIATE`) and wait out other processes (`busy_timeout`), so two
//! coze-tui processes on one ledger never see "database is locked". Which process watches a
//! running task is decided by a lease that expires, so a killed process's tasks are taken over.
//! The token is never stored here.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde_json::{Map, Value};

use super::budget::{Pace, unix_us};
use super::model::*;
use crate::coze::RequestKind;

/// Schema migrations, applied in order; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    // 1: tasks, their streamed events, their status history, last-used parameters.
    "CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        name TEXT,
        description TEXT,
        profile TEXT NOT NULL,
        workspace_id TEXT,
        workflow_id TEXT NOT NULL,
        workflow_name TEXT,
        mode TEXT NOT NULL,
        requested_mode TEXT NOT NULL,
        parameters TEXT NOT NULL,
        status TEXT NOT NULL,
        execute_id TEXT,
        output TEXT,
        error_code INTEGER,
        error_message TEXT,
        error_kind TEXT,
        logid TEXT,
        debug_url TEXT,
        usage TEXT,
        interrupt TEXT,
        last_message TEXT,
        event_count INTEGER NOT NULL DEFAULT 0,
        events_dropped INTEGER NOT NULL DEFAULT 0,
        notes TEXT NOT NULL DEFAULT '[]',
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        updated_at INTEGER NOT NULL,
        finished_at INTEGER,
        lease_owner TEXT,
        lease_until INTEGER
    );
    CREATE INDEX tasks_by_created ON tasks (created_at DESC, id DESC);
    CREATE INDEX tasks_by_status ON tasks (status, created_at DESC);
    CREATE INDEX tasks_by_workflow ON tasks (workflow_id, created_at DESC);
    CREATE TABLE task_events (
        task_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        node_title TEXT NOT NULL,
        node_seq_id INTEGER,
        node_is_finish INTEGER NOT NULL,
        content TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (task_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE task_history (
        task_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        status TEXT NOT NULL,
        note TEXT
    );
    CREATE INDEX task_history_by_task ON task_history (task_id, at);
    CREATE TABLE last_params (
        profile TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        parameters TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (profile, workflow_id)
    );",
    // 2: a revision bumped by every write, so a dashboard can follow what other processes
    // change without missing or repeating anything. The counter lives apart from the tasks so
    // it never goes back when the newest task is deleted.
    "ALTER TABLE tasks ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX tasks_by_rev ON tasks (rev);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO counters (name, value) VALUES ('rev', 0);
    CREATE TABLE deletions (task_id TEXT NOT NULL, profile TEXT NOT NULL, rev INTEGER NOT NULL);
    CREATE INDEX deletions_by_rev ON deletions (rev);",
    // 3: the request budget every process on this data directory shares (one pace per
    // profile), requests counted per day, and tasks queued to be started by whichever
    // process takes them up (`run --inputs … --detach`).
    "CREATE TABLE request_pace (
        profile TEXT PRIMARY KEY,
        next_us INTEGER NOT NULL,
        rate REAL NOT NULL,
        rate_at_us INTEGER NOT NULL,
        cut_at_us INTEGER NOT NULL
    );
    CREATE TABLE request_counts (
        profile TEXT NOT NULL,
        day TEXT NOT NULL,
        kind TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (profile, day, kind)
    ) WITHOUT ROWID;
    ALTER TABLE tasks ADD COLUMN queued INTEGER NOT NULL DEFAULT 0;",
    // 4: the outputs of a run's other nodes (message nodes) from run history, apart from the
    // End node's output, so `output` has one shape in every mode.
    "ALTER TABLE tasks ADD COLUMN node_outputs TEXT;",
    // 5: the time a run spent waiting for answers, which its duration leaves out.
    "ALTER TABLE tasks ADD COLUMN waited_ms INTEGER NOT NULL DEFAULT 0;",
    // 6: the dashboard's editor buffers not yet run (kept across workflows, profiles and
    // restarts), the workflows seen in listings (so a name can stand for an id), tasks by
    // profile (a profile's list, and counting the others'), and the start of each output,
    // written with it, so a list never reads whole outputs (SQLite reads a value whole, even
    // for substr).
    "CREATE TABLE drafts (
        profile TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        text TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (profile, workflow_id)
    ) WITHOUT ROWID;
    CREATE TABLE workflow_names (
        profile TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        name TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        seen_at INTEGER NOT NULL,
        PRIMARY KEY (profile, workflow_id)
    ) WITHOUT ROWID;
    CREATE INDEX workflow_names_by_name ON workflow_names (profile, name COLLATE NOCASE);
    CREATE INDEX tasks_by_profile ON tasks (profile, created_at DESC);
    ALTER TABLE tasks ADD COLUMN output_preview TEXT;
    UPDATE tasks SET output_preview = substr(output, 1, 240) WHERE output IS NOT NULL;",
    // 7: test suite runs and their cases' verdicts (each case a task), so a run can be
    // compared with the previous run of the same suite file.
    "CREATE TABLE suite_runs (
        id TEXT PRIMARY KEY,
        suite TEXT NOT NULL,
        path TEXT NOT NULL,
        profile TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        finished_at INTEGER,
        passed INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX suite_runs_by_path ON suite_runs (path, started_at DESC);
    CREATE TABLE suite_cases (
        run_id TEXT NOT NULL,
        case_name TEXT NOT NULL,
        task_id TEXT,
        status TEXT NOT NULL,
        passed INTEGER NOT NULL,
        failures TEXT NOT NULL,
        duration_ms INTEGER,
        PRIMARY KEY (run_id, case_name)
    ) WITHOUT ROWID;",
    // 8: a run's context (version, app or bot, conversation, files; JSON, NULL when none),
    // the app or bot each workflow last ran in (it needs the same one every time), and the
    // files uploaded per profile by content, so the same file is not sent twice while Coze
    // keeps it.
    "ALTER TABLE tasks ADD COLUMN context TEXT;
    CREATE TABLE workflow_context (
        profile TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        app_id TEXT,
        bot_id TEXT,
        PRIMARY KEY (profile, workflow_id)
    ) WITHOUT ROWID;
    CREATE TABLE uploads (
        profile TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        file_id TEXT NOT NULL,
        file_name TEXT NOT NULL,
        uploaded_at INTEGER NOT NULL,
        PRIMARY KEY (profile, sha256, bytes)
    ) WITHOUT ROWID;",
    // 9: workflows added by id in the dashboard, for a server that cannot list them (Coze
    // Studio); the profile's own bookmarks stay in the config.
    "CREATE TABLE bookmarks (
        profile TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        name TEXT,
        added_at INTEGER NOT NULL,
        PRIMARY KEY (profile, workflow_id)
    ) WITHOUT ROWID;",
];

/// The columns a task is written in (a macro so `READ_COLUMNS` can extend it at compile time).
macro_rules! written_columns {
    () => {
        "id, name, description, profile, workspace_id, workflow_id, workflow_name, mode, requested_mode, \
         parameters, status, execute_id, output, error_code, error_message, error_kind, logid, debug_url, usage, \
         interrupt, last_message, event_count, events_dropped, notes, created_at, started_at, updated_at, finished_at, \
         queued, node_outputs, waited_ms, output_preview, context"
    };
}
const COLUMNS: &str = written_columns!();
/// What reads select: the written columns and the revision the row was last written at.
const READ_COLUMNS: &str = concat!(written_columns!(), ", rev");
/// What a [`TaskSummary`] is read from (see `row_to_summary`).
const SUMMARY_COLUMNS: &str = "id, name, profile, workflow_id, workflow_name, mode, status, error_code, error_message, \
     error_kind, debug_url, interrupt, last_message, created_at, started_at, updated_at, finished_at, waited_ms, rev, \
     output_preview IS NOT NULL, output_preview";

#[derive(Debug, Clone, PartialEq)]
pub enum LedgerError {
    /// No task has this id (or prefix).
    NotFound(String),
    /// The prefix matches several tasks.
    Ambiguous(String, Vec<String>),
    /// The ledger file was written by a newer coze-tui.
    TooNew(u32),
    /// A new task's id is already taken (ids carry random bits; draw new ones and try again).
    IdTaken,
    Db(String),
}

impl std::fmt::Display for LedgerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound(id) => write!(f, "no task {id:?} in the ledger (see `coze-tui tasks`)"),
            Self::Ambiguous(id, ids) => {
                write!(f, "{id:?} matches several tasks: {}; type more of the id", ids.join(", "))
            }
            Self::TooNew(v) => {
                write!(f, "the ledger has schema version {v}, newer than this coze-tui knows; upgrade coze-tui")
            }
            Self::IdTaken => write!(f, "a new task id was already taken"),
            Self::Db(m) => write!(f, "ledger error: {m}"),
        }
    }
}

impl std::error::Error for LedgerError {}

impl From<rusqlite::Error> for LedgerError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Db(e.to_string())
    }
}

pub type Result<T, E = LedgerError> = std::result::Result<T, E>;

/// A conversation as the ledger knows it (see [`Ledger::conversations`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationSummary {
    pub id: String,
    pub turns: usize,
    pub first_message: String,
    /// Unix milliseconds.
    pub last_at: i64,
}

/// What [`Ledger::changed_since`] found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Changes {
    pub tasks: Vec<Task>,
    pub deleted: Vec<String>,
    /// The revision to continue from.
    pub last: i64,
    /// The page was full: more changes wait to be read.
    pub more: bool,
}

/// What [`Ledger::reserve_request`] decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    /// Send at this time (Unix microseconds).
    At(i64),
    /// The profile's daily request limit is reached (this many requests today).
    OverDailyLimit(u64),
}

/// Requests made on one day, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct RequestCounts {
    pub read: u64,
    pub run: u64,
    pub poll: u64,
}

impl RequestCounts {
    pub fn total(&self) -> u64 {
        self.read + self.run + self.poll
    }
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// Only this profile's tasks.
    pub profile: Option<String>,
    pub statuses: Vec<TaskStatus>,
    pub workflow_id: Option<String>,
    /// Case-insensitive text in the task or workflow name, or the task id.
    pub text: Option<String>,
    /// Only tasks created before this task (a page cursor, newest first).
    pub before: Option<(i64, String)>,
    pub limit: usize,
}

pub struct Ledger {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("path", &self.path).finish()
    }
}

/// The ledger's file name inside the data directory.
pub const FILE_NAME: &str = "ledger.db";

/// A test suite's run, as `coze-tui suites` lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SuiteRun {
    pub id: String,
    pub suite: String,
    pub path: String,
    pub profile: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub passed: u64,
    pub failed: u64,
}

/// One case's verdict in a suite run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SuiteCase {
    pub case_name: String,
    pub task_id: Option<String>,
    pub status: String,
    pub passed: bool,
    /// The failures as JSON (`[{"kind", "path", "expected", "actual", "message"}]`).
    pub failures: Value,
    pub duration_ms: Option<i64>,
}

/// A workflow as a listing showed it (for names on the command line and the palette).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownWorkflow {
    pub workflow_id: String,
    pub name: String,
    pub workspace_id: String,
}

impl Ledger {
    /// Opens (creating and migrating if needed) the ledger in `data_dir`.
    pub fn open_in(data_dir: &Path) -> Result<Self> {
        crate::config::create_private_dir(data_dir)
            .map_err(|e| LedgerError::Db(format!("cannot create {}: {e}", data_dir.display())))?;
        Self::open(&data_dir.join(FILE_NAME))
    }

    pub fn open(path: &Path) -> Result<Self> {
        let conn =
            Connection::open(path).map_err(|e| LedgerError::Db(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Several processes opening a new ledger at once (`xargs -P 8 coze-tui run` on a fresh
        // machine) race to switch it to WAL, and SQLite reports that race as "locked" at once
        // instead of waiting: so wait here, as long as for any other lock.
        retry_while_locked(|| conn.pragma_update(None, "journal_mode", "WAL"))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let ledger = Self { path: path.to_path_buf(), conn: Mutex::new(conn) };
        retry_while_locked(|| ledger.migrate())?;
        let version = ledger.schema_version()?;
        if version as usize > MIGRATIONS.len() {
            return Err(LedgerError::TooNew(version));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Parameters and outputs can be private: keep the ledger (and its WAL) to its owner.
            for suffix in ["", "-wal", "-shm"] {
                let file = PathBuf::from(format!("{}{suffix}", path.display()));
                let _ = std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600));
            }
        }
        Ok(ledger)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` in a write transaction taken up front, so concurrent writers queue instead of
    /// failing halfway.
    fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Brings the schema up to date (a newer one is left alone: `open` refuses it). Returns
    /// SQLite's own error, so a lock can be told apart.
    fn migrate(&self) -> rusqlite::Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version as usize > MIGRATIONS.len() {
            return Ok(());
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as u32)?;
        }
        tx.commit()
    }

    pub fn schema_version(&self) -> Result<u32> {
        Ok(self.conn().query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Records a new task, leased to `owner` (who is about to run it).
    pub fn insert(&self, task: &Task, owner: &str, lease: Duration) -> Result<()> {
        self.insert_all(std::slice::from_ref(task), Some(owner), lease)
    }

    /// Records new tasks in one transaction, leased to `owner`, or to nobody (queued tasks
    /// that whichever process takes them up will start).
    pub fn insert_all(&self, tasks: &[Task], owner: Option<&str>, lease: Duration) -> Result<()> {
        self.write(|tx| {
            let sql = format!(
                "INSERT INTO tasks ({COLUMNS}, lease_owner, lease_until) VALUES ({})",
                placeholders(COLUMNS.split(", ").count() + 2)
            );
            let until = owner.map(|_| now_ms() + lease.as_millis() as i64);
            for task in tasks {
                let values = task_values(task).into_iter().chain([owner.map(str::to_string).into(), until.into()]);
                match tx.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(values)) {
                    Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                        return Err(LedgerError::IdTaken);
                    }
                    other => other?,
                };
                bump_rev(tx, &task.id)?;
                history(tx, &task.id, task.status, task.created_at, None)?;
            }
            Ok(())
        })
    }

    /// Takes the next request slot of `profile`'s budget (shared by every process on this
    /// ledger) and counts the request, unless the daily limit is reached.
    pub fn reserve_request(
        &self,
        profile: &str,
        kind: RequestKind,
        day: &str,
        qps: f64,
        daily_limit: Option<u64>,
    ) -> Result<Admission> {
        self.write(|tx| {
            if let Some(limit) = daily_limit {
                let today: i64 = tx
                    .prepare_cached("SELECT coalesce(sum(n), 0) FROM request_counts WHERE profile = ?1 AND day = ?2")?
                    .query_row(params![profile, day], |r| r.get(0))?;
                if today as u64 >= limit {
                    return Ok(Admission::OverDailyLimit(today as u64));
                }
            }
            let now = unix_us();
            let mut pace = load_pace(tx, profile, now, qps)?;
            let slot = pace.reserve(now, qps);
            store_pace(tx, profile, &pace)?;
            tx.prepare_cached(
                "INSERT INTO request_counts (profile, day, kind, n) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (profile, day, kind) DO UPDATE SET n = n + 1",
            )?
            .execute(params![profile, day, kind.as_str()])?;
            Ok(Admission::At(slot))
        })
    }

    /// Coze refused a request of `profile` for the rate: every process slows down.
    pub fn request_refused(&self, profile: &str, qps: f64, retry_after: Option<Duration>) -> Result<()> {
        self.write(|tx| {
            let now = unix_us();
            let mut pace = load_pace(tx, profile, now, qps)?;
            pace.refused(now, qps, retry_after);
            store_pace(tx, profile, &pace)
        })
    }

    /// The rate `profile`'s budget allows now (below `qps` after refusals), requests per second.
    pub fn request_rate(&self, profile: &str) -> Result<Option<f64>> {
        Ok(self
            .conn()
            .query_row("SELECT rate FROM request_pace WHERE profile = ?1", [profile], |r| r.get(0))
            .optional()?)
    }

    /// Requests `profile` made on `day`, by kind.
    pub fn requests_on(&self, profile: &str, day: &str) -> Result<RequestCounts> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT kind, n FROM request_counts WHERE profile = ?1 AND day = ?2")?;
        let mut counts = RequestCounts::default();
        for row in stmt.query_map(params![profile, day], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (kind, n) = row?;
            let n = n.max(0) as u64;
            match kind.as_str() {
                "read" => counts.read += n,
                "run" => counts.run += n,
                _ => counts.poll += n,
            }
        }
        Ok(counts)
    }

    /// Saves a task's new state. Only the lease holder may (`owner`); returns false if the task
    /// is gone or leased to someone else, in which case nothing was written. Saving a settled
    /// state gives the lease up.
    pub fn update(&self, task: &Task, owner: &str, note: Option<&str>) -> Result<bool> {
        self.update_from(task, owner, note, None)
    }

    /// [`Ledger::update`] that only writes if the stored task is still in the `expected` state
    /// (status and `updated_at`, when given): a compare-and-set, so of two callers moving a task
    /// on from the same state only one succeeds.
    pub fn update_from(
        &self,
        task: &Task,
        owner: &str,
        note: Option<&str>,
        expected: Option<(TaskStatus, i64)>,
    ) -> Result<bool> {
        self.write(|tx| {
            let current: Option<(String, Option<String>, Option<i64>, i64)> = tx
                .query_row(
                    "SELECT status, lease_owner, lease_until, updated_at FROM tasks WHERE id = ?1",
                    [&task.id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            let Some((status, lease_owner, lease_until, updated_at)) = current else { return Ok(false) };
            if expected.is_some_and(|(s, at)| s.as_str() != status || at != updated_at) {
                return Ok(false);
            }
            let held_by_other =
                lease_owner.as_deref().is_some_and(|o| o != owner) && lease_until.unwrap_or(0) > now_ms();
            if held_by_other {
                return Ok(false);
            }
            let sets: Vec<String> =
                COLUMNS.split(", ").skip(1).enumerate().map(|(i, c)| format!("{c} = ?{}", i + 2)).collect();
            tx.execute(
                &format!("UPDATE tasks SET {} WHERE id = ?1", sets.join(", ")),
                rusqlite::params_from_iter(task_values(task)),
            )?;
            // A settled task needs no watcher: its lease goes in the same commit, so whoever
            // sees it settled can take it (to answer it) at once.
            if task.status.is_settled() {
                tx.execute("UPDATE tasks SET lease_owner = NULL, lease_until = NULL WHERE id = ?1", [&task.id])?;
            }
            bump_rev(tx, &task.id)?;
            if status != task.status.as_str() || note.is_some() {
                history(tx, &task.id, task.status, task.updated_at, note)?;
            }
            Ok(true)
        })
    }

    /// Appends streamed events and the task's counters in one transaction. False (and nothing
    /// written) if the task was deleted meanwhile.
    pub fn append_events(&self, task: &Task, events: &[TaskEvent]) -> Result<bool> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE tasks SET event_count = ?2, events_dropped = ?3, last_message = ?4, updated_at = ?5 WHERE id = ?1",
                params![task.id, task.event_count as i64, task.events_dropped as i64, task.last_message, task.updated_at],
            )?;
            if changed == 0 {
                return Ok(false);
            }
            bump_rev(tx, &task.id)?;
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO task_events (task_id, seq, node_title, node_seq_id, node_is_finish, content, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for e in events {
                stmt.execute(params![task.id, e.seq as i64, e.node_title, e.node_seq_id, e.node_is_finish, e.content, e.at])?;
            }
            Ok(true)
        })
    }

    pub fn get(&self, id: &str) -> Result<Task> {
        let conn = self.conn();
        conn.query_row(&format!("SELECT {READ_COLUMNS} FROM tasks WHERE id = ?1"), [id], row_to_task)
            .optional()?
            .ok_or_else(|| LedgerError::NotFound(id.to_string()))
    }

    /// A task by its id or a unique prefix of it.
    pub fn find(&self, typed: &str) -> Result<Task> {
        let id = normalise_id(typed);
        if id.is_empty() {
            return Err(LedgerError::NotFound(typed.to_string()));
        }
        if let Ok(t) = self.get(&id) {
            return Ok(t);
        }
        let conn = self.conn();
        let mut stmt =
            conn.prepare(&format!("SELECT {READ_COLUMNS} FROM tasks WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 6"))?;
        let upper = format!("{id}\u{10FFFF}");
        let found: Vec<Task> = stmt.query_map(params![id, upper], row_to_task)?.collect::<rusqlite::Result<_>>()?;
        let mut found = found.into_iter();
        match (found.next(), found.next()) {
            (None, _) => Err(LedgerError::NotFound(typed.to_string())),
            (Some(only), None) => Ok(only),
            (Some(a), Some(b)) => {
                let ids = [a, b].into_iter().chain(found).map(|t| t.id).collect();
                Err(LedgerError::Ambiguous(typed.to_string(), ids))
            }
        }
    }

    /// Tasks, newest first. Uses the indexes: cost grows with `limit`, not with the ledger.
    pub fn list(&self, f: &TaskFilter) -> Result<Vec<Task>> {
        list_on(&self.conn(), f, READ_COLUMNS, row_to_task)
    }

    /// Summaries of the tasks [`Ledger::list`] would give (small: for long lists).
    pub fn summaries(&self, f: &TaskFilter) -> Result<Vec<TaskSummary>> {
        list_on(&self.conn(), f, SUMMARY_COLUMNS, row_to_summary)
    }

    /// [`Ledger::summaries`] and the revision they are at, read in one transaction:
    /// [`Ledger::changed_since`] that revision is exactly what changed after.
    pub fn snapshot(&self, f: &TaskFilter) -> Result<(Vec<TaskSummary>, i64)> {
        let mut conn = self.conn();
        // Deferred: a read transaction, so the two reads see one state and block no writer.
        let tx = conn.transaction()?;
        let revision = current_revision(&tx)?;
        let tasks = list_on(&tx, f, SUMMARY_COLUMNS, row_to_summary)?;
        tx.commit()?;
        Ok((tasks, revision))
    }

    /// The latest revision: every write to a task bumps it.
    pub fn revision(&self) -> Result<i64> {
        current_revision(&self.conn())
    }

    /// What changed for `profile` after revision `after` (by any process): tasks written, oldest
    /// write first, and tasks deleted; with the revision to continue from.
    /// (`None`: every profile's.)
    pub fn changed_since(&self, profile: Option<&str>, after: i64, limit: usize) -> Result<Changes> {
        let mut conn = self.conn();
        // One read transaction: tasks, deletions and the revision they reach are one state. Two
        // separate reads could skip a write another process commits between them.
        let tx = conn.transaction()?;
        let now = current_revision(&tx)?;
        let tasks: Vec<Task> = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {READ_COLUMNS} FROM tasks WHERE rev > ?1 AND (?2 IS NULL OR profile = ?2) ORDER BY rev LIMIT ?3"
            ))?;
            stmt.query_map(params![after, profile, limit as i64], row_to_task)?.collect::<rusqlite::Result<_>>()?
        };
        // A full page ends at its last revision (the rest comes with the next read); otherwise
        // everything up to now has been read, other profiles' writes included.
        let more = limit > 0 && tasks.len() == limit;
        let last = match tasks.last() {
            Some(t) if more => t.revision,
            _ => now.max(after),
        };
        let deleted: Vec<String> = {
            let mut stmt = tx.prepare_cached(
                "SELECT task_id FROM deletions WHERE rev > ?1 AND rev <= ?2 AND (?3 IS NULL OR profile = ?3) ORDER BY rev",
            )?;
            stmt.query_map(params![after, last, profile], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
        };
        tx.commit()?;
        Ok(Changes { tasks, deleted, last, more })
    }

    /// Streamed events of a task after `after_seq`, in order.
    pub fn events(&self, task_id: &str, after_seq: Option<u64>, limit: usize) -> Result<Vec<TaskEvent>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, node_title, node_seq_id, node_is_finish, content, at FROM task_events WHERE task_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let after = after_seq.map(|s| s as i64).unwrap_or(-1);
        let rows = stmt.query_map(params![task_id, after, limit as i64], |r| {
            Ok(TaskEvent {
                seq: r.get::<_, i64>(0)? as u64,
                node_title: r.get(1)?,
                node_seq_id: r.get(2)?,
                node_is_finish: r.get(3)?,
                content: r.get(4)?,
                at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The status changes of a task, oldest first.
    pub fn history(&self, task_id: &str) -> Result<Vec<StatusChange>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT status, at, note FROM task_history WHERE task_id = ?1 ORDER BY at, rowid")?;
        let rows = stmt.query_map([task_id], |r| {
            let s: String = r.get(0)?;
            Ok(StatusChange {
                status: TaskStatus::parse(&s).unwrap_or(TaskStatus::Unknown),
                at: r.get(1)?,
                note: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Deletes a task and everything recorded about it. Returns whether it existed.
    pub fn delete(&self, id: &str) -> Result<bool> {
        self.write(|tx| {
            record_deletions(tx, "SELECT id, profile FROM tasks WHERE id = ?1", &[&id])?;
            tx.execute("DELETE FROM task_events WHERE task_id = ?1", [id])?;
            tx.execute("DELETE FROM task_history WHERE task_id = ?1", [id])?;
            Ok(tx.execute("DELETE FROM tasks WHERE id = ?1", [id])? > 0)
        })
    }

    /// Finished tasks (succeeded, failed, unknown: never interrupted ones, which still wait
    /// for an answer, nor pending or running ones) created before `before_ms`, narrowed to
    /// `statuses` when given, oldest first. Deleted too unless `dry_run`. Returns them.
    /// Only `profile`'s tasks when given.
    pub fn prune(
        &self,
        before_ms: i64,
        profile: Option<&str>,
        statuses: &[TaskStatus],
        dry_run: bool,
    ) -> Result<Vec<TaskSummary>> {
        let wanted: Vec<&str> = TaskStatus::ALL
            .iter()
            .filter(|s| s.is_finished() && (statuses.is_empty() || statuses.contains(s)))
            .map(|s| s.as_str())
            .collect();
        if wanted.is_empty() {
            return Ok(vec![]);
        }
        let list = wanted.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
        // `?2` is the profile, or NULL for every profile.
        let which = format!("created_at < ?1 AND status IN ({list}) AND (?2 IS NULL OR profile = ?2)");
        self.write(|tx| {
            // Only the list is shown: outputs can be megabytes.
            let mut stmt =
                tx.prepare(&format!("SELECT {SUMMARY_COLUMNS} FROM tasks WHERE {which} ORDER BY created_at"))?;
            let tasks: Vec<TaskSummary> =
                stmt.query_map(params![before_ms, profile], row_to_summary)?.collect::<rusqlite::Result<_>>()?;
            drop(stmt);
            if dry_run || tasks.is_empty() {
                return Ok(tasks);
            }
            let sub = format!("SELECT id FROM tasks WHERE {which}");
            record_deletions(tx, &format!("SELECT id, profile FROM tasks WHERE {which}"), &[&before_ms, &profile])?;
            tx.execute(&format!("DELETE FROM task_events WHERE task_id IN ({sub})"), params![before_ms, profile])?;
            tx.execute(&format!("DELETE FROM task_history WHERE task_id IN ({sub})"), params![before_ms, profile])?;
            tx.execute(&format!("DELETE FROM tasks WHERE {which}"), params![before_ms, profile])?;
            Ok(tasks)
        })
    }

    /// Marks queued tasks that were never sent as failed ("cancelled"), unless a process holds
    /// them. Returns the ids cancelled.
    pub fn cancel_queued(&self, ids: &[String], why: &str) -> Result<Vec<String>> {
        let now = now_ms();
        self.write(|tx| {
            let mut cancelled = vec![];
            for id in ids {
                let n = tx.execute(
                    "UPDATE tasks SET status = 'failed', error_message = ?2, error_kind = 'cancelled', error_code = NULL,
                     updated_at = ?3, finished_at = ?3
                     WHERE id = ?1 AND status = 'pending' AND queued = 1 AND (lease_until IS NULL OR lease_until < ?3)",
                    params![id, why, now],
                )?;
                if n == 1 {
                    bump_rev(tx, id)?;
                    history(tx, id, TaskStatus::Failed, now, Some(why))?;
                    cancelled.push(id.clone());
                }
            }
            Ok(cancelled)
        })
    }

    /// Takes (or renews) the lease on a task: true if `owner` now holds it.
    pub fn claim(&self, id: &str, owner: &str, lease: Duration) -> Result<bool> {
        let now = now_ms();
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE tasks SET lease_owner = ?2, lease_until = ?3 WHERE id = ?1 AND status IN ('pending', 'running', 'interrupted')
                 AND (lease_owner IS NULL OR lease_owner = ?2 OR lease_until IS NULL OR lease_until < ?4)",
                params![id, owner, now + lease.as_millis() as i64, now],
            )?;
            Ok(n == 1)
        })
    }

    /// Extends every lease `owner` holds. Returns the ids still held.
    pub fn renew(&self, owner: &str, lease: Duration) -> Result<Vec<String>> {
        self.write(|tx| {
            tx.execute(
                "UPDATE tasks SET lease_until = ?2 WHERE lease_owner = ?1",
                params![owner, now_ms() + lease.as_millis() as i64],
            )?;
            let mut stmt = tx.prepare("SELECT id FROM tasks WHERE lease_owner = ?1")?;
            let ids = stmt.query_map([owner], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            Ok(ids)
        })
    }

    /// Which process watches a task now (its lease holder, while the lease runs), if any.
    pub fn lease_owner(&self, id: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT lease_owner FROM tasks WHERE id = ?1 AND lease_until >= ?2",
                params![id, now_ms()],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// Gives up the lease on a task (it is settled, or this process is leaving).
    pub fn release(&self, id: &str, owner: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE tasks SET lease_owner = NULL, lease_until = NULL WHERE id = ?1 AND lease_owner = ?2",
                [id, owner],
            )?;
            Ok(())
        })
    }

    /// Unsettled tasks of `profile` nobody is watching: never leased, or their lease ran out.
    /// (Another profile's runs need that profile's token and region to be looked up.)
    pub fn orphans(&self, profile: &str) -> Result<Vec<Task>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {READ_COLUMNS} FROM tasks WHERE status IN ('pending', 'running') AND profile = ?2 AND (lease_until IS NULL OR lease_until < ?1) ORDER BY created_at"
        ))?;
        let rows = stmt.query_map(params![now_ms(), profile], row_to_task)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Remembers the parameters last used for a workflow.
    pub fn save_last_params(&self, profile: &str, workflow_id: &str, params: &Map<String, Value>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO last_params (profile, workflow_id, parameters, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (profile, workflow_id) DO UPDATE SET parameters = excluded.parameters, updated_at = excluded.updated_at",
                params![profile, workflow_id, Value::Object(params.clone()).to_string(), now_ms()],
            )?;
            Ok(())
        })
    }

    pub fn last_params(&self, profile: &str, workflow_id: &str) -> Result<Option<Map<String, Value>>> {
        let text: Option<String> = self
            .conn()
            .query_row(
                "SELECT parameters FROM last_params WHERE profile = ?1 AND workflow_id = ?2",
                [profile, workflow_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Remembers the app or bot a workflow ran in (none: forgets it).
    pub fn remember_context(&self, profile: &str, workflow_id: &str, c: &RunContext) -> Result<()> {
        self.write(|tx| {
            if c.app_id.is_none() && c.bot_id.is_none() {
                tx.execute("DELETE FROM workflow_context WHERE profile = ?1 AND workflow_id = ?2", [profile, workflow_id])?;
            } else {
                tx.execute(
                    "INSERT INTO workflow_context (profile, workflow_id, app_id, bot_id) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (profile, workflow_id) DO UPDATE SET app_id = excluded.app_id, bot_id = excluded.bot_id",
                    params![profile, workflow_id, c.app_id, c.bot_id],
                )?;
            }
            Ok(())
        })
    }

    /// The app or bot a workflow last ran in (only those two fields are set).
    pub fn remembered_context(&self, profile: &str, workflow_id: &str) -> Result<RunContext> {
        let found = self
            .conn()
            .query_row(
                "SELECT app_id, bot_id FROM workflow_context WHERE profile = ?1 AND workflow_id = ?2",
                [profile, workflow_id],
                |r| Ok(RunContext { app_id: r.get(0)?, bot_id: r.get(1)?, ..RunContext::default() }),
            )
            .optional()?;
        Ok(found.unwrap_or_default())
    }

    /// A file of this content this profile uploaded since `since_ms`: (file id, file name).
    pub fn find_upload(
        &self,
        profile: &str,
        sha256: &str,
        bytes: u64,
        since_ms: i64,
    ) -> Result<Option<(String, String)>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT file_id, file_name FROM uploads
                 WHERE profile = ?1 AND sha256 = ?2 AND bytes = ?3 AND uploaded_at >= ?4",
                params![profile, sha256, bytes as i64, since_ms],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    pub fn record_upload(&self, profile: &str, sha256: &str, bytes: u64, file_id: &str, file_name: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO uploads (profile, sha256, bytes, file_id, file_name, uploaded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (profile, sha256, bytes) DO UPDATE SET file_id = excluded.file_id,
                     file_name = excluded.file_name, uploaded_at = excluded.uploaded_at",
                params![profile, sha256, bytes as i64, file_id, file_name, now_ms()],
            )?;
            Ok(())
        })
    }

    /// A conversation's turns (chat tasks), oldest first: its transcript.
    pub fn conversation(&self, profile: &str, conversation_id: &str) -> Result<Vec<Task>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {READ_COLUMNS} FROM tasks WHERE profile = ?1 AND mode = 'chat'
             AND json_extract(context, '$.conversation_id') = ?2 ORDER BY created_at, id"
        ))?;
        let turns = stmt.query_map(params![profile, conversation_id], row_to_task)?;
        Ok(turns.collect::<rusqlite::Result<_>>()?)
    }

    /// A chatflow's conversations, the latest first: (id, turns, first message, last turn at).
    pub fn conversations(&self, profile: &str, workflow_id: &str) -> Result<Vec<ConversationSummary>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT conv, count(*), max(created_at),
                    (SELECT json_extract(t2.context, '$.message') FROM tasks t2
                     WHERE t2.profile = ?1 AND t2.mode = 'chat' AND json_extract(t2.context, '$.conversation_id') = conv
                     ORDER BY t2.created_at LIMIT 1)
             FROM (SELECT json_extract(context, '$.conversation_id') AS conv, created_at FROM tasks
                   WHERE profile = ?1 AND workflow_id = ?2 AND mode = 'chat')
             WHERE conv IS NOT NULL GROUP BY conv ORDER BY max(created_at) DESC LIMIT 200",
        )?;
        let rows = stmt.query_map(params![profile, workflow_id], |r| {
            Ok(ConversationSummary {
                id: r.get(0)?,
                turns: r.get::<_, i64>(1)? as usize,
                last_at: r.get(2)?,
                first_message: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many tasks belong to profiles other than this one.
    pub fn count_other_profiles(&self, profile: &str) -> Result<u64> {
        let n: i64 =
            self.conn().query_row("SELECT COUNT(*) FROM tasks WHERE profile != ?1", [profile], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Keeps (or, with `None`, forgets) the editor's unrun text for a workflow.
    pub fn save_draft(&self, profile: &str, workflow_id: &str, text: Option<&str>) -> Result<()> {
        self.write(|tx| {
            match text {
                Some(text) => tx.execute(
                    "INSERT INTO drafts (profile, workflow_id, text, updated_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (profile, workflow_id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at",
                    params![profile, workflow_id, text, now_ms()],
                )?,
                None => tx.execute("DELETE FROM drafts WHERE profile = ?1 AND workflow_id = ?2", [profile, workflow_id])?,
            };
            Ok(())
        })
    }

    pub fn draft(&self, profile: &str, workflow_id: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT text FROM drafts WHERE profile = ?1 AND workflow_id = ?2", [profile, workflow_id], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Records a workspace's workflows as listed: what is no longer listed there is forgotten.
    pub fn remember_workflows(&self, profile: &str, workspace_id: &str, workflows: &[(String, String)]) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM workflow_names WHERE profile = ?1 AND workspace_id = ?2", [profile, workspace_id])?;
            let mut insert = tx.prepare(
                "INSERT INTO workflow_names (profile, workflow_id, name, workspace_id, seen_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (profile, workflow_id) DO UPDATE SET name = excluded.name,
                   workspace_id = excluded.workspace_id, seen_at = excluded.seen_at",
            )?;
            let now = now_ms();
            for (id, name) in workflows {
                insert.execute(params![profile, id, name, workspace_id, now])?;
            }
            Ok(())
        })
    }

    /// Remembers a workflow added by id; a name given later replaces the one before.
    pub fn add_bookmark(&self, profile: &str, workflow_id: &str, name: Option<&str>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO bookmarks (profile, workflow_id, name, added_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (profile, workflow_id) DO UPDATE SET name = COALESCE(excluded.name, name)",
                params![profile, workflow_id, name, now_ms()],
            )?;
            Ok(())
        })
    }

    /// The workflows added by id, oldest first: (id, name).
    pub fn bookmarks(&self, profile: &str) -> Result<Vec<(String, Option<String>)>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT workflow_id, name FROM bookmarks WHERE profile = ?1 ORDER BY added_at, workflow_id")?;
        let rows = stmt.query_map([profile], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every workflow this profile has run, last run first, with the name it last ran under;
    /// not those every run of which was refused as not found.
    pub fn workflows_run(&self, profile: &str) -> Result<Vec<(String, String)>> {
        let conn = self.conn();
        // SQLite takes a bare column's value from the row that gives the MAX.
        let mut stmt = conn.prepare(
            "SELECT workflow_id, workflow_name, MAX(created_at) AS last FROM tasks WHERE profile = ?1
             GROUP BY workflow_id HAVING SUM(COALESCE(error_kind, '') = 'not_found') < COUNT(*)
             ORDER BY last DESC",
        )?;
        let rows =
            stmt.query_map([profile], |r| Ok((r.get(0)?, r.get::<_, Option<String>>(1)?.unwrap_or_default())))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every workflow seen in a listing for this profile, by name.
    pub fn known_workflows(&self, profile: &str) -> Result<Vec<KnownWorkflow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT workflow_id, name, workspace_id FROM workflow_names WHERE profile = ?1 ORDER BY name, workflow_id",
        )?;
        let rows = stmt.query_map([profile], |r| {
            Ok(KnownWorkflow { workflow_id: r.get(0)?, name: r.get(1)?, workspace_id: r.get(2)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records a suite run as it starts (its cases come with [`Ledger::finish_suite_run`]).
    pub fn start_suite_run(&self, r: &SuiteRun) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO suite_runs (id, suite, path, profile, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![r.id, r.suite, r.path, r.profile, r.started_at],
            )?;
            Ok(())
        })
    }

    /// A suite run's verdicts, all at once.
    pub fn finish_suite_run(&self, run_id: &str, cases: &[SuiteCase]) -> Result<()> {
        self.write(|tx| {
            let mut insert = tx.prepare(
                "INSERT OR REPLACE INTO suite_cases (run_id, case_name, task_id, status, passed, failures, duration_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for c in cases {
                insert.execute(params![
                    run_id,
                    c.case_name,
                    c.task_id,
                    c.status,
                    c.passed,
                    c.failures.to_string(),
                    c.duration_ms
                ])?;
            }
            let passed = cases.iter().filter(|c| c.passed).count() as i64;
            tx.execute(
                "UPDATE suite_runs SET finished_at = ?2, passed = ?3, failed = ?4 WHERE id = ?1",
                params![run_id, now_ms(), passed, cases.len() as i64 - passed],
            )?;
            Ok(())
        })
    }

    /// Recent suite runs, newest first (of one suite file, when given).
    pub fn suite_runs(&self, path: Option<&str>, limit: usize) -> Result<Vec<SuiteRun>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, suite, path, profile, started_at, finished_at, passed, failed FROM suite_runs
             WHERE (?1 IS NULL OR path = ?1) ORDER BY started_at DESC, id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![path, limit as i64], |r| {
            Ok(SuiteRun {
                id: r.get(0)?,
                suite: r.get(1)?,
                path: r.get(2)?,
                profile: r.get(3)?,
                started_at: r.get(4)?,
                finished_at: r.get(5)?,
                passed: r.get::<_, i64>(6)?.max(0) as u64,
                failed: r.get::<_, i64>(7)?.max(0) as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Each case's verdict in the newest finished run of this suite file (and profile) that
    /// ran it.
    pub fn latest_verdicts(&self, path: &str, profile: &str) -> Result<std::collections::HashMap<String, bool>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT c.case_name, c.passed FROM suite_cases c JOIN suite_runs r ON r.id = c.run_id
             WHERE r.path = ?1 AND r.profile = ?2 AND r.finished_at IS NOT NULL ORDER BY r.started_at, r.id",
        )?;
        let rows = stmt.query_map([path, profile], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))?;
        // Oldest first: a newer run's verdict replaces an older one's.
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A suite run's case verdicts.
    pub fn suite_cases(&self, run_id: &str) -> Result<Vec<SuiteCase>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT case_name, task_id, status, passed, failures, duration_ms FROM suite_cases WHERE run_id = ?1",
        )?;
        let rows = stmt.query_map([run_id], |r| {
            let failures: String = r.get(4)?;
            Ok(SuiteCase {
                case_name: r.get(0)?,
                task_id: r.get(1)?,
                status: r.get(2)?,
                passed: r.get(3)?,
                failures: serde_json::from_str(&failures).unwrap_or(Value::Null),
                duration_ms: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// `PRAGMA integrity_check`: "ok" when the file is sound.
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self.conn().query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

fn load_pace(tx: &rusqlite::Transaction, profile: &str, now_us: i64, qps: f64) -> Result<Pace> {
    let stored = tx
        .prepare_cached("SELECT next_us, rate, rate_at_us, cut_at_us FROM request_pace WHERE profile = ?1")?
        .query_row([profile], |r| {
            Ok(Pace { next_us: r.get(0)?, rate: r.get(1)?, rate_at_us: r.get(2)?, cut_at_us: r.get(3)? })
        })
        .optional()?;
    // A rate stored by another process with a higher qps (another config) is brought down.
    Ok(stored.map(|p| Pace { rate: p.rate.min(qps), ..p }).unwrap_or_else(|| Pace::new(now_us, qps)))
}

fn store_pace(tx: &rusqlite::Transaction, profile: &str, p: &Pace) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO request_pace (profile, next_us, rate, rate_at_us, cut_at_us) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (profile) DO UPDATE SET next_us = excluded.next_us, rate = excluded.rate,
         rate_at_us = excluded.rate_at_us, cut_at_us = excluded.cut_at_us",
    )?
    .execute(params![profile, p.next_us, p.rate, p.rate_at_us, p.cut_at_us])?;
    Ok(())
}

/// The rows `f` selects, newest first, as `columns` read by `row`.
fn list_on<T>(
    conn: &Connection,
    f: &TaskFilter,
    columns: &str,
    row: fn(&Row) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut sql = format!("SELECT {columns} FROM tasks WHERE 1 = 1");
    let mut args: Vec<rusqlite::types::Value> = vec![];
    if !f.statuses.is_empty() {
        let marks: Vec<&str> = f.statuses.iter().map(|_| "?").collect();
        sql.push_str(&format!(" AND status IN ({})", marks.join(", ")));
        args.extend(f.statuses.iter().map(|s| s.as_str().to_string().into()));
    }
    if let Some(p) = &f.profile {
        sql.push_str(" AND profile = ?");
        args.push(p.clone().into());
    }
    if let Some(w) = &f.workflow_id {
        sql.push_str(" AND workflow_id = ?");
        args.push(w.clone().into());
    }
    if let Some(t) = f.text.as_deref().filter(|t| !t.is_empty()) {
        sql.push_str(" AND (instr(lower(coalesce(name, '')), ?) > 0 OR instr(lower(coalesce(workflow_name, '')), ?) > 0 OR instr(id, ?) = 1)");
        let t = t.to_lowercase();
        args.extend([t.clone().into(), t.clone().into(), normalise_id(&t).into()]);
    }
    if let Some((created, id)) = &f.before {
        // A row-value comparison lets SQLite seek in the (created_at, id) index.
        sql.push_str(" AND (created_at, id) < (?, ?)");
        args.extend([(*created).into(), id.clone().into()]);
    }
    sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT ?");
    args.push((f.limit.max(1) as i64).into());
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn row_to_summary(r: &Row) -> rusqlite::Result<TaskSummary> {
    let mode: String = r.get(5)?;
    let status: String = r.get(6)?;
    let error_message: Option<String> = r.get(8)?;
    let interrupt: Option<String> = r.get(11)?;
    Ok(TaskSummary {
        id: r.get(0)?,
        name: r.get(1)?,
        profile: r.get(2)?,
        workflow_id: r.get(3)?,
        workflow_name: r.get(4)?,
        mode: RunMode::parse(&mode).unwrap_or(RunMode::Sync),
        status: TaskStatus::parse(&status).unwrap_or(TaskStatus::Unknown),
        error: error_message.map(|message| TaskError {
            code: r.get(7).ok().flatten(),
            message,
            kind: r.get(9).ok().flatten(),
        }),
        debug_url: r.get(10)?,
        interrupt: interrupt.and_then(|i| serde_json::from_str(&i).ok()),
        last_message: r.get(12)?,
        created_at: r.get(13)?,
        started_at: r.get(14)?,
        updated_at: r.get(15)?,
        finished_at: r.get(16)?,
        waited_ms: r.get(17)?,
        revision: r.get(18)?,
        has_output: r.get(19)?,
        output_preview: r.get::<_, Option<String>>(20)?.as_deref().map(super::model::output_preview),
    })
}

/// How long a ledger operation waits for another process's lock before it gives up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// Runs `f` again while SQLite says the database is busy or locked, for up to
/// [`BUSY_TIMEOUT`] (for the few operations where SQLite does not wait by itself).
fn retry_while_locked<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match f() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5 + rand::random::<u64>() % 20));
            }
            other => return other,
        }
    }
}

fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
}

/// The revision the last write got.
fn current_revision(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT value FROM counters WHERE name = 'rev'", [], |r| r.get(0))?)
}

/// Gives the task the next revision (inside the caller's write transaction, so revisions are
/// unique and in commit order).
fn bump_rev(tx: &rusqlite::Transaction, id: &str) -> Result<()> {
    tx.execute("UPDATE counters SET value = value + 1 WHERE name = 'rev'", [])?;
    tx.execute("UPDATE tasks SET rev = (SELECT value FROM counters WHERE name = 'rev') WHERE id = ?1", [id])?;
    Ok(())
}

/// Notes the tasks `select` (id, profile) finds as deleted, under one new revision, so other
/// processes' dashboards drop them too.
fn record_deletions(tx: &rusqlite::Transaction, select: &str, args: &[&dyn rusqlite::ToSql]) -> Result<()> {
    tx.execute("UPDATE counters SET value = value + 1 WHERE name = 'rev'", [])?;
    tx.execute(
        &format!("INSERT INTO deletions (task_id, profile, rev) SELECT d.id, d.profile, (SELECT value FROM counters WHERE name = 'rev') FROM ({select}) AS d"),
        args,
    )?;
    Ok(())
}

fn history(tx: &rusqlite::Transaction, id: &str, status: TaskStatus, at: i64, note: Option<&str>) -> Result<()> {
    tx.execute(
        "INSERT INTO task_history (task_id, at, status, note) VALUES (?1, ?2, ?3, ?4)",
        params![id, at, status.as_str(), note],
    )?;
    Ok(())
}

fn json_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// The task's columns, in `COLUMNS` order.
fn task_values(t: &Task) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value as V;
    let opt = |s: &Option<String>| s.clone().map(V::Text).unwrap_or(V::Null);
    let opt_i = |n: Option<i64>| n.map(V::Integer).unwrap_or(V::Null);
    vec![
        V::Text(t.id.clone()),
        opt(&t.name),
        opt(&t.description),
        V::Text(t.profile.clone()),
        opt(&t.workspace_id),
        V::Text(t.workflow_id.clone()),
        opt(&t.workflow_name),
        V::Text(t.mode.as_str().into()),
        V::Text(t.requested_mode.as_str().into()),
        V::Text(Value::Object(t.parameters.clone()).to_string()),
        V::Text(t.status.as_str().into()),
        opt(&t.execute_id),
        opt(&t.output),
        opt_i(t.error.as_ref().and_then(|e| e.code)),
        opt(&t.error.as_ref().map(|e| e.message.clone())),
        opt(&t.error.as_ref().and_then(|e| e.kind.clone())),
        opt(&t.logid),
        opt(&t.debug_url),
        opt(&t.usage.as_ref().map(json_text)),
        opt(&t.interrupt.as_ref().map(json_text)),
        opt(&t.last_message),
        V::Integer(t.event_count as i64),
        V::Integer(t.events_dropped as i64),
        V::Text(json_text(&t.notes)),
        V::Integer(t.created_at),
        opt_i(t.started_at),
        V::Integer(t.updated_at),
        opt_i(t.finished_at),
        V::Integer(t.queued as i64),
        opt(&t.node_outputs.as_ref().map(|m| Value::Object(m.clone()).to_string())),
        V::Integer(t.waited_ms),
        opt(&t.output.as_deref().map(|o| o.chars().take(super::model::OUTPUT_START).collect())),
        opt(&(!t.context.is_empty()).then(|| json_text(&t.context))),
    ]
}

fn row_to_task(r: &Row) -> rusqlite::Result<Task> {
    let mode: String = r.get(7)?;
    let requested: String = r.get(8)?;
    let params: String = r.get(9)?;
    let status: String = r.get(10)?;
    let error_code: Option<i64> = r.get(13)?;
    let error_message: Option<String> = r.get(14)?;
    let error_kind: Option<String> = r.get(15)?;
    let usage: Option<String> = r.get(18)?;
    let interrupt: Option<String> = r.get(19)?;
    let notes: String = r.get(23)?;
    let mode = RunMode::parse(&mode).unwrap_or(RunMode::Sync);
    Ok(Task {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        profile: r.get(3)?,
        workspace_id: r.get(4)?,
        workflow_id: r.get(5)?,
        workflow_name: r.get(6)?,
        mode,
        requested_mode: RunMode::parse(&requested).unwrap_or(mode),
        parameters: serde_json::from_str(&params).unwrap_or_default(),
        status: TaskStatus::parse(&status).unwrap_or(TaskStatus::Unknown),
        execute_id: r.get(11)?,
        output: r.get(12)?,
        error: error_message.map(|message| TaskError { code: error_code, message, kind: error_kind }),
        logid: r.get(16)?,
        debug_url: r.get(17)?,
        usage: usage.and_then(|u| serde_json::from_str(&u).ok()),
        interrupt: interrupt.and_then(|i| serde_json::from_str(&i).ok()),
        last_message: r.get(20)?,
        event_count: r.get::<_, i64>(21)? as u64,
        events_dropped: r.get::<_, i64>(22)? as u64,
        notes: serde_json::from_str(&notes).unwrap_or_default(),
        created_at: r.get(24)?,
        started_at: r.get(25)?,
        updated_at: r.get(26)?,
        finished_at: r.get(27)?,
        queued: r.get(28)?,
        node_outputs: r.get::<_, Option<String>>(29)?.and_then(|t| serde_json::from_str(&t).ok()),
        waited_ms: r.get(30)?,
        context: r.get::<_, Option<String>>(32)?.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default(),
        revision: r.get(33)?,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn sample(id: &str, created: i64) -> Task {
        Task {
            name: Some("nightly 报告".into()),
            workflow_name: Some("echo".into()),
            parameters: json!({"input": "x"}).as_object().cloned().unwrap(),
            ..Task::pending(id.into(), "default".into(), "7524966123456700000".into(), RunMode::Async, created)
        }
    }

    fn ledger() -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open_in(dir.path()).unwrap();
        (dir, l)
    }

    const LEASE: Duration = Duration::from_secs(30);

    #[test]
    fn tasks_round_trip_with_history() {
        assert_eq!(task_values(&sample("x", 0)).len(), COLUMNS.split(", ").count());
        let (_d, l) = ledger();
        let mut t = sample("aaaa0000001x", 1000);
        l.insert(&t, "me", LEASE).unwrap();
        // Read back with the revision it was written at.
        t.revision = 1;
        assert_eq!(l.get(&t.id).unwrap(), t);
        t.status = TaskStatus::Succeeded;
        t.output = Some("{\"a\":\"{\\\"b\\\":1}\"}".into());
        t.usage = Some(Default::default());
        t.interrupt = Some(Interrupt { event_id: "1/2".into(), interrupt_type: 2, ..Default::default() });
        t.error = Some(TaskError { code: Some(1), message: "m".into(), kind: Some("api".into()) });
        t.notes = vec!["n".into()];
        t.finished_at = Some(2000);
        t.updated_at = 2000;
        assert!(l.update(&t, "me", None).unwrap());
        t.revision = 2;
        assert_eq!(l.get(&t.id).unwrap(), t);
        assert_eq!(t.decoded_output().unwrap(), json!({"a": {"b": 1}}));
        let h: Vec<_> = l.history(&t.id).unwrap().into_iter().map(|c| c.status).collect();
        assert_eq!(h, [TaskStatus::Pending, TaskStatus::Succeeded]);
    }

    #[test]
    fn leases_decide_who_writes() {
        let (_d, l) = ledger();
        let t = sample("aaaa0000001x", 1000);
        l.insert(&t, "a", LEASE).unwrap();
        assert!(!l.claim(&t.id, "b", LEASE).unwrap(), "a holds it");
        assert!(!l.update(&t, "b", None).unwrap(), "b may not write");
        assert!(l.orphans("default").unwrap().is_empty());
        l.release(&t.id, "a").unwrap();
        assert_eq!(l.orphans("default").unwrap().len(), 1);
        assert!(l.orphans("other").unwrap().is_empty());
        assert!(l.claim(&t.id, "b", LEASE).unwrap());
        assert_eq!(l.renew("b", LEASE).unwrap(), vec![t.id.clone()]);
        // Only the stored state counts: a compare-and-set from the wrong state writes nothing.
        assert!(!l.update_from(&t, "b", None, Some((TaskStatus::Interrupted, t.updated_at))).unwrap());
        assert!(!l.update_from(&t, "b", None, Some((TaskStatus::Pending, t.updated_at + 1))).unwrap());
        assert!(l.update_from(&t, "b", None, Some((TaskStatus::Pending, t.updated_at))).unwrap());
        // An expired lease can be taken over.
        assert!(l.claim(&t.id, "b", Duration::ZERO).unwrap());
        std::thread::sleep(Duration::from_millis(5));
        assert!(l.claim(&t.id, "c", LEASE).unwrap());
    }

    #[test]
    fn prefix_lookup_and_filters() {
        let (_d, l) = ledger();
        for (i, id) in ["abc000000001", "abc000000002", "abd000000003"].iter().enumerate() {
            let mut t = sample(id, 1000 + i as i64);
            t.output = Some("{\"a\": 1}".into());
            if i == 2 {
                t.status = TaskStatus::Failed;
                t.workflow_name = Some("翻译助手".into());
            }
            l.insert(&t, "me", LEASE).unwrap();
        }
        assert_eq!(l.find("ABD").unwrap().id, "abd000000003");
        assert!(matches!(l.find("abc"), Err(LedgerError::Ambiguous(_, ids)) if ids.len() == 2));
        assert!(matches!(l.find("zzz"), Err(LedgerError::NotFound(_))));
        assert!(matches!(l.find(""), Err(LedgerError::NotFound(_))));
        let all = l.list(&TaskFilter { limit: 10, ..Default::default() }).unwrap();
        assert_eq!(
            all.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            ["abd000000003", "abc000000002", "abc000000001"]
        );
        let failed =
            l.list(&TaskFilter { statuses: vec![TaskStatus::Failed], limit: 10, ..Default::default() }).unwrap();
        assert_eq!(failed.len(), 1);
        let text = l.list(&TaskFilter { text: Some("翻译".into()), limit: 10, ..Default::default() }).unwrap();
        assert_eq!(text.len(), 1);
        let full = l.list(&TaskFilter { limit: 10, ..Default::default() }).unwrap();
        assert!(!full[0].parameters.is_empty() && full[0].output.is_some());
        let summaries = l.summaries(&TaskFilter { limit: 10, ..Default::default() }).unwrap();
        let full = l.list(&TaskFilter { limit: 10, ..Default::default() }).unwrap();
        let from_full: Vec<TaskSummary> = full.iter().map(TaskSummary::from).collect();
        assert_eq!(summaries, from_full, "read as a summary, or summed up from the task: the same");
        assert_eq!((summaries[0].id.as_str(), summaries[0].status), ("abd000000003", TaskStatus::Failed));
        let page2 = l
            .list(&TaskFilter { before: Some((all[0].created_at, all[0].id.clone())), limit: 1, ..Default::default() })
            .unwrap();
        assert_eq!(page2[0].id, "abc000000002");
        assert_eq!(l.prune(1002, None, &[], false).unwrap().len(), 0, "pending tasks are not pruned");
        let dry = l.prune(2000, None, &[], true).unwrap();
        assert_eq!(dry.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["abd000000003"]);
        assert!(l.get("abd000000003").is_ok(), "a dry run deletes nothing");
        assert!(l.prune(2000, None, &[TaskStatus::Succeeded], false).unwrap().is_empty(), "--status narrows");
        assert!(l.prune(2000, Some("other"), &[], false).unwrap().is_empty(), "another profile's are not touched");
        assert_eq!(l.prune(2000, None, &[], false).unwrap().len(), 1);
        let mut asking = sample("abe000000004", 1500);
        asking.status = TaskStatus::Interrupted;
        l.insert(&asking, "me", LEASE).unwrap();
        assert!(l.prune(9999, None, &[], false).unwrap().is_empty(), "a question still waiting for an answer is kept");
        assert!(
            l.prune(9999, Some("default"), &[TaskStatus::Interrupted], false).unwrap().is_empty(),
            "even when asked for"
        );
        assert!(l.delete("abc000000001").unwrap());
        let left: Vec<String> =
            l.list(&TaskFilter { limit: 10, ..Default::default() }).unwrap().into_iter().map(|t| t.id).collect();
        assert_eq!(left, ["abe000000004", "abc000000002"]);
    }

    #[test]
    fn events_last_params_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = sample("aaaa0000001x", 1000);
        {
            let l = Ledger::open_in(dir.path()).unwrap();
            l.insert(&t, "me", LEASE).unwrap();
            let evs: Vec<TaskEvent> = (0..3)
                .map(|i| TaskEvent {
                    seq: i,
                    node_title: "n".into(),
                    node_seq_id: Some(i as i64),
                    node_is_finish: i == 2,
                    content: format!("c{i}"),
                    at: 5,
                })
                .collect();
            t.event_count = 3;
            t.last_message = Some("c2".into());
            l.append_events(&t, &evs).unwrap();
            l.save_last_params("default", "w", &json!({"a": 1}).as_object().cloned().unwrap()).unwrap();
        }
        let l = Ledger::open_in(dir.path()).unwrap();
        assert_eq!(l.schema_version().unwrap() as usize, MIGRATIONS.len());
        assert_eq!(
            l.events(&t.id, Some(0), 10).unwrap().iter().map(|e| e.content.as_str()).collect::<Vec<_>>(),
            ["c1", "c2"]
        );
        assert_eq!(l.get(&t.id).unwrap().event_count, 3);
        let rev = l.revision().unwrap();
        assert_eq!(rev, 2, "the insert and the events each bumped it");
        let c = l.changed_since(Some("default"), 0, 10).unwrap();
        assert_eq!((c.tasks.len(), c.last), (1, 2));
        assert_eq!(
            l.changed_since(Some("default"), c.last, 10).unwrap(),
            Changes { last: 2, ..Default::default() },
            "nothing twice"
        );
        assert_eq!(
            l.changed_since(Some("other"), 0, 10).unwrap(),
            Changes { last: 2, ..Default::default() },
            "other profiles skipped"
        );
        l.delete(&t.id).unwrap();
        let gone = l.changed_since(Some("default"), 2, 10).unwrap();
        assert_eq!((gone.deleted, gone.last), (vec![t.id.clone()], 3), "deletions are news too");
        l.insert(&sample("aaaa0000002x", 2000), "me", LEASE).unwrap();
        assert_eq!(l.revision().unwrap(), 4, "revisions never go back, even after a delete");
        // Pages: a full one says there is more and ends at its last task; nothing is skipped.
        for i in 3..6 {
            l.insert(&sample(&format!("aaaa000000{i}x"), 2000 + i), "me", LEASE).unwrap();
        }
        let mut after = 3;
        let mut read = vec![];
        loop {
            let page = l.changed_since(Some("default"), after, 2).unwrap();
            read.extend(page.tasks.iter().map(|t| t.id.clone()));
            after = page.last;
            if !page.more {
                break;
            }
        }
        assert_eq!(read, ["aaaa0000002x", "aaaa0000003x", "aaaa0000004x", "aaaa0000005x"]);
        assert_eq!(after, l.revision().unwrap());
        assert_eq!(l.last_params("default", "w").unwrap().unwrap()["a"], 1);
        assert_eq!(l.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn a_taken_id_is_reported_and_nothing_of_the_batch_is_written() {
        let (_d, l) = ledger();
        l.insert(&sample("aaaa0000001x", 1000), "me", LEASE).unwrap();
        let batch = [sample("aaaa0000002x", 1001), sample("aaaa0000001x", 1002)];
        assert_eq!(l.insert_all(&batch, None, LEASE), Err(LedgerError::IdTaken));
        assert!(matches!(l.get("aaaa0000002x"), Err(LedgerError::NotFound(_))), "all or nothing");
    }

    #[test]
    fn the_shared_budget_counts_requests_and_stops_at_the_daily_limit() {
        let (_d, l) = ledger();
        for kind in [RequestKind::Read, RequestKind::Run, RequestKind::Poll, RequestKind::Poll] {
            assert!(matches!(l.reserve_request("p", kind, "2026-11-29", 1000.0, Some(4)), Ok(Admission::At(_))));
        }
        assert_eq!(
            l.reserve_request("p", RequestKind::Read, "2026-11-29", 1000.0, Some(4)),
            Ok(Admission::OverDailyLimit(4))
        );
        assert_eq!(l.requests_on("p", "2026-11-29").unwrap(), RequestCounts { read: 1, run: 1, poll: 2 });
        assert!(matches!(
            l.reserve_request("p", RequestKind::Read, "2026-11-30", 1000.0, Some(4)),
            Ok(Admission::At(_))
        ));
        assert_eq!(l.requests_on("other", "2026-11-29").unwrap().total(), 0);
        // Slots are spaced by the rate, whoever asks.
        let a = l.reserve_request("q", RequestKind::Read, "d", 10.0, None).unwrap();
        let b = l.reserve_request("q", RequestKind::Read, "d", 10.0, None).unwrap();
        let (Admission::At(a), Admission::At(b)) = (a, b) else { panic!() };
        assert!(b - a >= 100_000, "{a} {b}");
        l.request_refused("q", 10.0, None).unwrap();
        assert!(l.request_rate("q").unwrap().unwrap() < 6.0, "a refusal halves the rate");
    }

    #[test]
    fn drafts_and_workflow_names_are_kept_per_profile() {
        let (_d, l) = ledger();
        assert_eq!(l.draft("p", "1").unwrap(), None);
        l.save_draft("p", "1", Some("{\"a\": 1}")).unwrap();
        l.save_draft("p", "1", Some("{\"a\": 2}")).unwrap();
        assert_eq!(l.draft("p", "1").unwrap().as_deref(), Some("{\"a\": 2}"), "the newest");
        assert_eq!(l.draft("q", "1").unwrap(), None, "another profile's are its own");
        l.save_draft("p", "1", None).unwrap();
        assert_eq!(l.draft("p", "1").unwrap(), None, "forgotten once run or reset");
        let named =
            |pairs: &[(&str, &str)]| pairs.iter().map(|(i, n)| (i.to_string(), n.to_string())).collect::<Vec<_>>();
        l.remember_workflows("p", "ws1", &named(&[("1", "echo"), ("2", "slow")])).unwrap();
        l.remember_workflows("p", "ws2", &named(&[("3", "echo")])).unwrap();
        l.remember_workflows("p", "ws1", &named(&[("1", "echo v2")])).unwrap();
        let known: Vec<(String, String)> =
            l.known_workflows("p").unwrap().into_iter().map(|k| (k.workflow_id, k.name)).collect();
        assert_eq!(known, named(&[("3", "echo"), ("1", "echo v2")]), "a new listing replaces its workspace's");
        assert!(l.known_workflows("q").unwrap().is_empty());
        l.insert(&sample("t1", 1), "me", Duration::from_secs(60)).unwrap();
        assert_eq!((l.count_other_profiles("default").unwrap(), l.count_other_profiles("q").unwrap()), (0, 1));
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
        assert_eq!(Ledger::open(&path).unwrap_err(), LedgerError::TooNew(99));
    }
}
