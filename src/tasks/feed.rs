//! One feed of a profile's tasks for everything that shows them (the dashboard, `watch`): a
//! snapshot of the ledger at a revision, then every change after it in revision order,
//! whichever process made it. The ledger is the only source; this process's runner merely
//! nudges the feed to read sooner, and other processes' changes are read every `poll`.
//! Streamed messages are not task states: a live view takes them from the runner directly.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::{self, error::TryRecvError};

use super::{Changes, Ledger, LedgerError, Runner, TaskFilter, TaskSummary, TaskUpdate};

/// Changes read at once; a longer backlog comes in several reads, in order.
const PAGE: usize = 1_000;

pub struct TaskFeed {
    ledger: Arc<Ledger>,
    profile: String,
    /// Every profile's tasks, not just `profile`'s.
    all_profiles: bool,
    /// The revision read up to.
    revision: i64,
    nudges: broadcast::Receiver<TaskUpdate>,
    poll: Duration,
    /// The last read was a full page: read on without waiting.
    behind: bool,
}

impl TaskFeed {
    /// A feed of `profile`'s tasks in the runner's ledger, nudged by the runner, reading
    /// other processes' changes every `poll`. It starts at the ledger's current revision; take
    /// a [`TaskFeed::snapshot`] to start from a list.
    pub fn new(runner: &Runner, profile: &str, poll: Duration) -> Self {
        Self::on(runner.ledger().clone(), runner.subscribe(), profile, poll)
    }

    /// A feed of a ledger, nudged by whatever announces its writes.
    pub fn on(ledger: Arc<Ledger>, nudges: broadcast::Receiver<TaskUpdate>, profile: &str, poll: Duration) -> Self {
        let revision = ledger.revision().unwrap_or(0);
        Self { ledger, profile: profile.to_string(), all_profiles: false, revision, nudges, poll, behind: false }
    }

    /// Follows every profile's tasks (or the feed's own profile's again); take a snapshot next.
    pub fn set_all_profiles(&mut self, all: bool) {
        self.all_profiles = all;
    }

    fn scope(&self) -> Option<String> {
        (!self.all_profiles).then(|| self.profile.clone())
    }

    /// The revision the feed has read up to.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// The tasks `filter` selects as the ledger has them now (for this profile); the feed goes
    /// on from exactly there, so nothing is missed or repeated between the two.
    pub async fn snapshot(&mut self, mut filter: TaskFilter) -> Result<Vec<TaskSummary>, LedgerError> {
        filter.profile = self.scope();
        let ledger = self.ledger.clone();
        let (tasks, revision) = blocking(move || ledger.snapshot(&filter)).await?;
        self.revision = revision;
        self.behind = false;
        Ok(tasks)
    }

    /// The next changes after the last read, waiting for this process's runner to announce
    /// one or for the poll interval; empty when nothing changed.
    pub async fn next(&mut self) -> Result<Changes, LedgerError> {
        if !self.behind {
            let _ = tokio::time::timeout(self.poll, self.nudged()).await;
        }
        self.read().await
    }

    /// What changed since the last read, without waiting.
    pub async fn read(&mut self) -> Result<Changes, LedgerError> {
        // Announcements that arrived meanwhile are covered by this read.
        self.drain_nudges();
        // A read that fails waits for the next poll, even in the middle of a backlog.
        self.behind = false;
        let (ledger, profile, after) = (self.ledger.clone(), self.scope(), self.revision);
        let changes = blocking(move || ledger.changed_since(profile.as_deref(), after, PAGE)).await?;
        self.revision = changes.last;
        self.behind = changes.more;
        Ok(changes)
    }

    /// Waits for this process's runner to announce a change of state (a lagged receiver
    /// counts: the ledger has whatever was skipped; messages do not).
    async fn nudged(&mut self) {
        loop {
            match self.nudges.recv().await {
                Ok(TaskUpdate::Event { .. }) => {}
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => return,
                // The runner stopped: only other processes can change anything now.
                Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }

    fn drain_nudges(&mut self) {
        loop {
            match self.nudges.try_recv() {
                Ok(_) | Err(TryRecvError::Lagged(_)) => {}
                Err(TryRecvError::Empty | TryRecvError::Closed) => return,
            }
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, LedgerError> + Send + 'static,
) -> Result<T, LedgerError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| LedgerError::Db(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::ledger::tests::sample;
    use crate::tasks::{Task, TaskStatus};

    const LEASE: Duration = Duration::from_secs(30);

    fn ids(tasks: &[Task]) -> Vec<&str> {
        tasks.iter().map(|t| t.id.as_str()).collect()
    }

    fn summary_ids(tasks: &[TaskSummary]) -> Vec<&str> {
        tasks.iter().map(|t| t.id.as_str()).collect()
    }

    #[tokio::test]
    async fn a_snapshot_then_every_change_after_it_in_order_and_nothing_twice() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Arc::new(Ledger::open_in(dir.path()).unwrap());
        let (nudge, nudges) = broadcast::channel(16);
        ledger.insert(&sample("aaaa0000001a", 1), "me", LEASE).unwrap();
        ledger.insert(&sample("aaaa0000002b", 2), "me", LEASE).unwrap();
        // Waits for nudges only: the poll is far off.
        let mut feed = TaskFeed::on(ledger.clone(), nudges, "default", Duration::from_secs(3600));
        let snapshot = feed.snapshot(TaskFilter { limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(summary_ids(&snapshot), ["aaaa0000002b", "aaaa0000001a"]);
        assert_eq!(feed.revision(), ledger.revision().unwrap());

        // Another process writes (no nudge here); a run of this process announces a change.
        let mut a = ledger.get(&snapshot[1].id).unwrap();
        a.status = TaskStatus::Succeeded;
        ledger.update(&a, "me", None).unwrap();
        ledger.insert(&sample("aaaa0000003c", 3), "me", LEASE).unwrap();
        let other = Task { profile: "other".into(), ..sample("aaaa0000004d", 4) };
        ledger.insert(&other, "me", LEASE).unwrap();
        ledger.delete("aaaa0000002b").unwrap();
        nudge.send(TaskUpdate::Changed(Arc::new(a.clone()))).unwrap();
        let changes =
            tokio::time::timeout(Duration::from_secs(10), feed.next()).await.expect("a nudge wakes it").unwrap();
        assert_eq!(ids(&changes.tasks), ["aaaa0000001a", "aaaa0000003c"], "in the order written; this profile's");
        assert_eq!(changes.tasks[0].status, TaskStatus::Succeeded);
        assert!(changes.tasks[0].revision < changes.tasks[1].revision);
        assert_eq!(changes.deleted, ["aaaa0000002b"]);
        // Read once: nothing comes twice.
        let again = feed.read().await.unwrap();
        assert!(again.tasks.is_empty() && again.deleted.is_empty());
        // Streamed messages are not states: they do not wake the feed.
        let event = crate::tasks::TaskEvent {
            seq: 0,
            node_title: "n".into(),
            node_seq_id: None,
            node_is_finish: false,
            content: "m".into(),
            at: 0,
        };
        nudge.send(TaskUpdate::Event { task_id: a.id.clone(), event: Arc::new(event) }).unwrap();
        assert!(tokio::time::timeout(Duration::from_millis(200), feed.next()).await.is_err());
    }

    #[tokio::test]
    async fn other_processes_changes_arrive_by_the_poll() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Arc::new(Ledger::open_in(dir.path()).unwrap());
        let (_nudge, nudges) = broadcast::channel(16);
        let mut feed = TaskFeed::on(ledger.clone(), nudges, "default", Duration::from_millis(50));
        assert!(feed.snapshot(TaskFilter { limit: 10, ..Default::default() }).await.unwrap().is_empty());
        ledger.insert(&sample("aaaa0000001a", 1), "elsewhere", LEASE).unwrap();
        let mut seen = vec![];
        for _ in 0..100 {
            seen.extend(feed.next().await.unwrap().tasks);
            if !seen.is_empty() {
                break;
            }
        }
        assert_eq!(ids(&seen), ["aaaa0000001a"]);
    }
}
