//! The demo: an embedded simulator and settings pointing at it, with a throwaway ledger.
//! Used by `coze-tui demo` (dashboard or piped tour) and the first-run screen.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::config::{Bookmark, Settings};
use crate::coze::Server;
use crate::sim::{SimOptions, Simulator};

/// The catalogue's workflows the Studio demo bookmarks.
const STUDIO_BOOKMARKS: [&str; 8] = ["echo", "needs_params", "slow", "chatty", "asks", "form", "fails", "chatflow"];

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

/// The lock a live demo holds on its directory: the system releases it when the process ends,
/// however it ends (unlike a process id, which another process may reuse, or which may belong
/// to another PID namespace sharing this temp directory).
const LOCK_FILE: &str = ".in-use";

/// Removes demo directories of this user left by processes that are gone (killed before they
/// could clean up): those whose lock can be taken.
fn remove_stale(temp: &Path) {
    let Ok(entries) = std::fs::read_dir(temp) else { return };
    for entry in entries.flatten() {
        let is_demo = entry.file_name().to_str().is_some_and(|n| n.starts_with(DIR_PREFIX));
        if !is_demo || !ours(&entry.path()) {
            continue;
        }
        // Held while removing, so a demo starting meanwhile cannot take it.
        if let Some(_lock) = lock(&entry.path().join(LOCK_FILE)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A directory that belongs to this user.
fn ours(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: getuid has no preconditions.
        std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir() && m.uid() == unsafe { libc::getuid() })
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        false
    }
}

/// Takes the lock in `path` (created if missing) without waiting; `None` if someone holds it.
fn lock(path: &Path) -> Option<std::fs::File> {
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path).ok()?;
        // SAFETY: flock on a descriptor we own; the lock goes when the file is closed.
        let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        taken.then_some(file)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Dropping it stops the simulator and removes the demo's data directory, on every way out
/// (errors included), so the demo leaves nothing behind and never touches the user's ledger.
pub struct Demo {
    pub sim: Simulator,
    pub settings: Settings,
    /// Held for the demo's life: tells later demos this directory is in use.
    _in_use: Option<std::fs::File>,
}

impl Demo {
    /// `base` (the user's settings, if they load) lends its UI settings and keys. As a Coze
    /// Studio, which cannot list its workflows, the profile bookmarks the catalogue's, and the
    /// kind of server is left to be learned, as it would be.
    pub async fn start(base: Option<&Settings>, slow_ms: u64, server: Server) -> Result<Self, String> {
        remove_stale(&std::env::temp_dir());
        let sim = Simulator::start(SimOptions { slow_ms, server, ..SimOptions::default() }, "127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot start the simulator: {e}"))?;
        let mut settings = Settings::for_simulator(base, sim.url(), sim.token()).map_err(|e| e.0)?;
        if server == Server::Studio {
            settings.server = None;
            settings.profile.workflows = STUDIO_BOOKMARKS
                .iter()
                .filter_map(|name| Some(Bookmark { id: sim.workflow_id(name)?, name: Some(name.to_string()) }))
                .collect();
        }
        if let Ok(mut d) = REGISTERED.lock() {
            *d = Some(settings.data_dir.clone());
        }
        let in_use = lock(&settings.data_dir.join(LOCK_FILE));
        Ok(Self { sim, settings, _in_use: in_use })
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
