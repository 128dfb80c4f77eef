//! The demo: an embedded simulator and settings pointing at it, with a throwaway ledger.
//! Used by `coze-tui demo` (dashboard or piped tour) and the first-run screen.

use crate::config::Settings;
use crate::sim::{SimOptions, Simulator};

/// Dropping it stops the simulator and removes the demo's data directory, on every way out
/// (errors included), so the demo leaves nothing behind and never touches the user's ledger.
pub struct Demo {
    pub sim: Simulator,
    pub settings: Settings,
}

impl Demo {
    /// `base` (the user's settings, if they load) lends its UI settings and keys.
    pub async fn start(base: Option<&Settings>, slow_ms: u64) -> Result<Self, String> {
        let sim = Simulator::start(SimOptions { slow_ms, ..SimOptions::default() }, "127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot start the simulator: {e}"))?;
        let settings = Settings::for_simulator(base, sim.url(), sim.token()).map_err(|e| e.0)?;
        Ok(Self { sim, settings })
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.settings.data_dir);
    }
}
