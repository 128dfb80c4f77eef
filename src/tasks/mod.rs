//! Tasks: the task model, the SQLite ledger, and the runner that executes and watches runs.
//! Draws nothing.

pub mod budget;
pub mod feed;
pub mod ledger;
pub mod model;
pub mod runner;

pub use budget::{LocalBudget, SharedBudget};
pub use feed::TaskFeed;
pub use ledger::{
    Admission, Changes, ConversationSummary, KnownWorkflow, Ledger, LedgerError, RequestCounts, SuiteCase, SuiteRun,
    TaskFilter,
};
pub use model::*;
pub use runner::{DEFAULT_CONCURRENCY, NewTask, Runner, RunnerConfig, RunnerError, TaskUpdate};
