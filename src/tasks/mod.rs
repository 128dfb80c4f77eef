//! Tasks: the task model, the SQLite ledger, and the runner that executes and watches runs.
//! Draws nothing.

mod budget;
pub mod ledger;
pub mod model;
pub mod runner;

pub use budget::Budget;
pub use ledger::{Changes, Ledger, LedgerError, TaskFilter};
pub use model::*;
pub use runner::{NewTask, Runner, RunnerConfig, RunnerError, TaskUpdate};
