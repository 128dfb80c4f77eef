//! The demo: an embedded simulator and settings pointing at it, with a throwaway ledger.
//! Used by `coze-tui demo` (dashboard or piped tour) and the first-run screen.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::config::Settings;
use crate::sim::{SimOptions, Simulator};

/// The demo directory in use, for the ways out that skip destructors (a panic hook that exits,
/// a second signal).
static REGISTERED: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Removes the registered demo directory, if any; safe from a panic hook.
pub fn remove_registered() {
    if let Some(dir) = REGISTERED.try_lock().ok().and_then(|mut d| d.take()) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The prefix of every demo directory's name in the temp directory.
const DIR_PREFIX: &str = "coze-tui-demo-";

/// Removes demo directories left by processes that are gone (killed before they could clean
/// up). Their names carry the process id.
fn remove_stale(temp: &Path) {
    let Ok(entries) = std::fs::read_dir(temp) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(DIR_PREFIX)).and_then(|r| r.split('-').next()) else {
            continue;
        };
        if pid.parse::<u32>().is_ok_and(|pid| !process_alive(pid)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        // Signal 0 checks existence; EPERM means it exists but is someone else's.
        // SAFETY: kill with signal 0 sends nothing.
        let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Dropping it stops the simulator and removes the demo's data directory, on every way out
/// (errors included), so the demo leaves nothing behind and never touches the user's ledger.
pub struct Demo {
    pub sim: Simulator,
    pub settings: Settings,
}

impl Demo {
    /// `base` (the user's settings, if they load) lends its UI settings and keys.
    pub async fn start(base: Option<&Settings>, slow_ms: u64) -> Result<Self, String> {
        remove_stale(&std::env::temp_dir());
        let sim = Simulator::start(SimOptions { slow_ms, ..SimOptions::default() }, "127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot start the simulator: {e}"))?;
        let settings = Settings::for_simulator(base, sim.url(), sim.token()).map_err(|e| e.0)?;
        if let Ok(mut d) = REGISTERED.lock() {
            *d = Some(settings.data_dir.clone());
        }
        Ok(Self { sim, settings })
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.settings.data_dir);
        if let Ok(mut d) = REGISTERED.lock()
            && d.as_deref() == Some(self.settings.data_dir.as_path())
        {
            *d = None;
        }
    }
}
