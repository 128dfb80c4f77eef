//! Request budgets: every request to Coze waits for a slot, so a thousand running tasks (and
//! several coze-tui processes) poll Coze at a fixed rate instead of flooding it.
//!
//! [`Pace`] is the rule: slots spaced `1.1/rate` apart (10% wider than the rate, so requests
//! bunched on the way still never arrive faster than it); a refusal for the rate halves the
//! rate (once per second: one burst of refusals is one signal) and holds everyone back for
//! `Retry-After`; the rate then climbs back to `qps` over [`RECOVER_SECS`]. [`SharedBudget`]
//! keeps one pace per profile in the ledger, so every process on a data directory shares it,
//! and counts requests per day; [`LocalBudget`] keeps it in memory (paused-time benchmarks).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::ledger::{Admission, Ledger};
use crate::coze::{CozeError, Delivery, ErrorKind, GateFuture, RequestGate, RequestKind};

/// Requests are spaced this much wider than `1/rate`.
const MARGIN: f64 = 1.1;
/// Refusals closer together than this halve the rate once.
const CUT_EVERY_US: i64 = 1_000_000;
/// After a halving the rate climbs back linearly, by `qps / RECOVER_SECS` each second.
pub const RECOVER_SECS: f64 = 20.0;
/// The lowest rate refusals bring a budget to, as a share of `qps`.
const FLOOR: f64 = 1.0 / 32.0;
/// No slot is handed out further ahead than this.
const MAX_AHEAD_US: i64 = 600_000_000;
/// The longest one `Retry-After` holds everyone back (the client does not wait longer ones
/// out either).
const MAX_HOLD_US: i64 = 60_000_000;

/// The budget's state; times in microseconds on the owner's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    /// The earliest the next request may go.
    pub next_us: i64,
    /// The rate in force: `qps`, or less after refusals.
    pub rate: f64,
    /// When `rate` was last brought up to date.
    pub rate_at_us: i64,
    /// When the rate was last halved.
    pub cut_at_us: i64,
}

impl Pace {
    pub fn new(now_us: i64, qps: f64) -> Self {
        Self { next_us: now_us, rate: qps, rate_at_us: now_us, cut_at_us: i64::MIN }
    }

    /// A wall clock that went back (NTP, a resumed VM) would leave every slot far ahead: move
    /// the pace back with it.
    fn rebase(&mut self, now_us: i64) {
        let back = self.rate_at_us.saturating_sub(now_us);
        if back > 1_000_000 {
            self.next_us = self.next_us.saturating_sub(back);
            self.cut_at_us = self.cut_at_us.saturating_sub(back);
            self.rate_at_us = now_us;
        }
    }

    fn recover(&mut self, now_us: i64, qps: f64) {
        self.rebase(now_us);
        let elapsed = now_us.saturating_sub(self.rate_at_us).max(0) as f64 / 1e6;
        self.rate = (self.rate + qps * elapsed / RECOVER_SECS).min(qps).max(qps * FLOOR);
        self.rate_at_us = now_us;
    }

    fn spacing_us(&self) -> i64 {
        (MARGIN * 1e6 / self.rate) as i64
    }

    /// Takes the next slot: when this request may be sent.
    pub fn reserve(&mut self, now_us: i64, qps: f64) -> i64 {
        self.recover(now_us, qps);
        let slot = self.next_us.min(now_us + MAX_AHEAD_US).max(now_us);
        self.next_us = slot + self.spacing_us();
        slot
    }

    /// Coze refused a request for the rate.
    pub fn refused(&mut self, now_us: i64, qps: f64, retry_after: Option<Duration>) {
        self.recover(now_us, qps);
        if now_us.saturating_sub(self.cut_at_us) >= CUT_EVERY_US {
            self.rate = (self.rate / 2.0).max(qps * FLOOR);
            self.cut_at_us = now_us;
        }
        let hold = retry_after.map_or(self.spacing_us(), |d| d.as_micros().min(MAX_HOLD_US as u128) as i64);
        self.next_us = self.next_us.max(now_us + hold).min(now_us + MAX_AHEAD_US);
    }
}

/// A usable rate: the configured one, or 5 requests per second.
fn sane_qps(qps: f64) -> f64 {
    if qps.is_finite() && qps > 0.0 { qps } else { 5.0 }
}

/// Polls of one process take their slots one at a time: slots are handed out in order, so a
/// thousand polls booked ahead would make a listing the user asked for wait behind all of
/// them. With this, reads and run starts wait for at most one poll per process.
#[derive(Debug, Default)]
struct PollQueue(tokio::sync::Mutex<()>);

impl PollQueue {
    async fn turn(&self, kind: RequestKind) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match kind {
            RequestKind::Poll => Some(self.0.lock().await),
            RequestKind::Read | RequestKind::Run => None,
        }
    }
}

/// A budget for one process, on tokio's clock (so paused-time tests and benchmarks work).
#[derive(Debug)]
pub struct LocalBudget {
    qps: f64,
    epoch: Instant,
    pace: Mutex<Pace>,
    polls: PollQueue,
}

impl LocalBudget {
    pub fn new(qps: f64) -> Self {
        let qps = sane_qps(qps);
        Self { qps, epoch: Instant::now(), pace: Mutex::new(Pace::new(0, qps)), polls: PollQueue::default() }
    }

    fn now_us(&self) -> i64 {
        self.epoch.elapsed().as_micros() as i64
    }

    /// Waits for this caller's slot.
    pub async fn acquire(&self) {
        let now = self.now_us();
        let slot = self.pace.lock().unwrap_or_else(|e| e.into_inner()).reserve(now, self.qps);
        tokio::time::sleep_until(self.epoch + Duration::from_micros(slot.max(0) as u64)).await;
    }

    pub fn refuse(&self, retry_after: Option<Duration>) {
        let now = self.now_us();
        self.pace.lock().unwrap_or_else(|e| e.into_inner()).refused(now, self.qps, retry_after);
    }
}

impl RequestGate for LocalBudget {
    fn admit(&self, kind: RequestKind) -> GateFuture<'_, Result<(), CozeError>> {
        Box::pin(async move {
            let _turn = self.polls.turn(kind).await;
            self.acquire().await;
            Ok(())
        })
    }

    fn refused(&self, retry_after: Option<Duration>) -> GateFuture<'_, ()> {
        self.refuse(retry_after);
        Box::pin(async {})
    }
}

/// One budget per profile for every coze-tui process on a data directory, kept in the ledger:
/// a short write transaction per request takes the slot and counts the request for the day.
#[derive(Debug)]
pub struct SharedBudget {
    ledger: Arc<Ledger>,
    profile: String,
    qps: f64,
    daily_limit: Option<u64>,
    /// Used when the ledger cannot be written (a full disk): pacing goes on in this process.
    fallback: LocalBudget,
    polls: PollQueue,
}

impl SharedBudget {
    pub fn new(ledger: Arc<Ledger>, profile: impl Into<String>, qps: f64, daily_limit: Option<u64>) -> Self {
        let qps = sane_qps(qps);
        Self {
            ledger,
            profile: profile.into(),
            qps,
            daily_limit,
            fallback: LocalBudget::new(qps),
            polls: PollQueue::default(),
        }
    }
}

/// Microseconds since the Unix epoch: the clock every process on the machine shares.
pub(crate) fn unix_us() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// Today's date on this machine (`2026-11-29`): requests are counted per local day.
pub fn today() -> String {
    jiff::Zoned::now().date().to_string()
}

impl SharedBudget {
    async fn alone(&self, why: &(dyn std::fmt::Display + Sync)) -> Result<(), CozeError> {
        tracing::warn!(error = %why, "the shared request budget is unavailable; pacing this process alone");
        self.fallback.acquire().await;
        Ok(())
    }
}

impl RequestGate for SharedBudget {
    fn admit(&self, kind: RequestKind) -> GateFuture<'_, Result<(), CozeError>> {
        Box::pin(async move {
            let _turn = self.polls.turn(kind).await;
            let (ledger, profile, qps, limit) = (self.ledger.clone(), self.profile.clone(), self.qps, self.daily_limit);
            let day = today();
            let admitted =
                tokio::task::spawn_blocking(move || ledger.reserve_request(&profile, kind, &day, qps, limit)).await;
            match admitted {
                Ok(Ok(Admission::At(slot_us))) => {
                    let wait = slot_us.saturating_sub(unix_us()).max(0);
                    tokio::time::sleep(Duration::from_micros(wait as u64)).await;
                    Ok(())
                }
                Ok(Ok(Admission::OverDailyLimit(count))) => Err(CozeError {
                    delivery: Delivery::NotSent,
                    ..CozeError::new(
                        ErrorKind::QuotaExhausted,
                        format!(
                            "daily_request_limit reached: {count} requests today for profile {:?}; nothing was sent \
                             (raise daily_request_limit in the config, or wait until tomorrow)",
                            self.profile
                        ),
                    )
                }),
                Ok(Err(e)) => self.alone(&e).await,
                Err(e) => self.alone(&e).await,
            }
        })
    }

    fn refused(&self, retry_after: Option<Duration>) -> GateFuture<'_, ()> {
        Box::pin(async move {
            self.fallback.refuse(retry_after);
            let (ledger, profile, qps) = (self.ledger.clone(), self.profile.clone(), self.qps);
            let _ = tokio::task::spawn_blocking(move || ledger.request_refused(&profile, qps, retry_after)).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn slots_are_spaced_by_the_rate() {
        let budget = std::sync::Arc::new(LocalBudget::new(10.0));
        let start = Instant::now();
        let mut handles = vec![];
        for _ in 0..21 {
            let b = budget.clone();
            handles.push(tokio::spawn(async move {
                b.acquire().await;
                Instant::now()
            }));
        }
        let mut times = vec![];
        for h in handles {
            times.push(h.await.unwrap() - start);
        }
        times.sort();
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_millis(100), "{times:?}");
        }
        assert!(times[20] >= Duration::from_millis(2200));
    }

    #[test]
    fn refusals_halve_the_rate_once_per_burst_and_it_recovers() {
        let mut p = Pace::new(0, 4.0);
        p.reserve(0, 4.0);
        p.refused(1_000, 4.0, None);
        p.refused(2_000, 4.0, None);
        assert!((p.rate - 2.0).abs() < 0.01, "one burst, one halving: {}", p.rate);
        p.refused(1_100_000, 4.0, Some(Duration::from_secs(3)));
        assert!((p.rate - 1.0).abs() < 0.3, "a later refusal halves again: {}", p.rate);
        assert!(p.next_us >= 4_100_000, "Retry-After holds the next slot back");
        let slot = p.reserve(1_200_000, 4.0);
        assert!(slot >= 4_100_000);
        // 20 s later the rate is back to qps.
        p.reserve(30_000_000, 4.0);
        assert_eq!(p.rate, 4.0);
        for _ in 0..100 {
            p.refused(p.cut_at_us + CUT_EVERY_US, 4.0, None);
        }
        assert!(p.rate >= 4.0 * FLOOR && p.rate < 0.5, "refusals every second keep it low: {}", p.rate);
    }

    #[test]
    fn a_clock_that_jumped_back_does_not_stall_the_budget() {
        let hour = 3_600_000_000;
        let mut p = Pace::new(10 * hour, 5.0);
        p.reserve(10 * hour, 5.0);
        p.reserve(10 * hour, 5.0);
        let now = 9 * hour;
        let slot = p.reserve(now, 5.0);
        assert!(slot - now <= 2 * p.spacing_us(), "the pace moved back with the clock: {}", slot - now);
        p.refused(now, 5.0, Some(Duration::from_secs(86_400)));
        assert!(p.reserve(now, 5.0) - now <= MAX_HOLD_US, "a day-long Retry-After holds a minute at most");
    }
}
