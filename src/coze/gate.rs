//! The hook every request passes before it is sent: a request budget shared by whoever owns it
//! (the `tasks` module keeps one per profile in the ledger, for every process on a data
//! directory). The client calls [`RequestGate::admit`] before each attempt, retries included,
//! and [`RequestGate::refused`] whenever Coze answers "too many requests".

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::error::CozeError;

/// What a request is for; counted per day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// Listings, metadata, node outputs.
    Read,
    /// Starting or resuming a run (sync, async or stream).
    Run,
    /// Reading a run's history to follow it.
    Poll,
}

impl RequestKind {
    pub const ALL: [RequestKind; 3] = [Self::Read, Self::Run, Self::Poll];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Run => "run",
            Self::Poll => "poll",
        }
    }
}

pub type GateFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait RequestGate: Send + Sync + std::fmt::Debug {
    /// Waits for this request's turn. An error (a daily limit reached) means: do not send.
    fn admit(&self, kind: RequestKind) -> GateFuture<'_, Result<(), CozeError>>;

    /// Coze refused a request for its rate: slow down everyone who shares this gate, and keep
    /// the next request back for `retry_after` when the server said so.
    fn refused(&self, retry_after: Option<Duration>) -> GateFuture<'_, ()>;
}
