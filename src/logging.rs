//! Logs go to a file, never to the terminal (the dashboard owns the screen; plain commands
//! keep stdout for their output). `COZE_TUI_LOG` sets the filter, e.g. `debug`.

use std::path::Path;
use std::sync::Mutex;

/// Checks a `COZE_TUI_LOG` filter (`info`, `debug`, `coze_tui=trace`, …).
pub fn check_filter(filter: &str) -> Result<(), String> {
    tracing_subscriber::EnvFilter::builder()
        .parse(filter)
        .map(|_| ())
        .map_err(|e| format!("invalid log filter {filter:?} ({e}); use e.g. info, debug or coze_tui=trace"))
}

/// Starts logging to `path` (appending). Without a usable file, logging stays off: a log
/// problem must never stop a command.
pub fn init_file(path: &Path, filter: Option<&str>) {
    let Some(dir) = path.parent() else { return };
    // The log holds workflow names, ids and errors: private, like the ledger.
    if crate::config::create_private_dir(dir).is_err() {
        return;
    }
    let Ok(file) = crate::config::append_private(path) else { return };
    let filter = tracing_subscriber::EnvFilter::try_new(filter.unwrap_or("coze_tui=info"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("coze_tui=info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).with_writer(Mutex::new(file)).try_init();
}
