//! A request budget shared by every task a runner drives, so a thousand running tasks poll
//! Coze at a fixed rate instead of flooding it.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Hands out request slots spaced at least `1/qps` apart, in the order they were asked for.
#[derive(Debug)]
pub struct Budget {
    spacing: Duration,
    next: Mutex<Option<Instant>>,
}

impl Budget {
    pub fn new(qps: f64) -> Self {
        // 10% wider than 1/qps: requests delayed on the way (a busy network, a busy machine)
        // arrive bunched, and the server must still never count more than qps in a second.
        let qps = if qps.is_finite() && qps > 0.0 { qps } else { 5.0 };
        Self { spacing: Duration::from_secs_f64(1.1 / qps), next: Mutex::new(None) }
    }

    /// Waits for this caller's slot.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.spacing);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn slots_are_spaced_by_the_rate() {
        let budget = std::sync::Arc::new(Budget::new(10.0));
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
}
