//! What `coze-tui watch` costs while it follows 1,000 runs that another process drives: CPU
//! time of the real binary over 10 s, with no changes and with 10 task changes a second
//! written to the same ledger. Linux only (reads /proc).
//!
//!     cargo bench --bench watch
//!
//! `COZE_TUI_BIN=path/to/coze-tui` measures another build (an older one, to compare).
//!
//! Prints a Markdown table (the README quotes it).

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use coze_tui::tasks::*;

const TASKS: usize = 1000;
const MEASURE: Duration = Duration::from_secs(10);

/// User + system CPU of a process so far, in milliseconds.
fn cpu_ms(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<u64> = rest.split(' ').skip(11).take(2).map(|f| f.parse().unwrap_or(0)).collect();
    let ticks_per_s = 100; // USER_HZ on Linux
    (fields[0] + fields[1]) * 1000 / ticks_per_s
}

/// Prints the CPU the process used over [`MEASURE`].
fn measure(child: &mut std::process::Child, label: &str) {
    let before = cpu_ms(child.id());
    std::thread::sleep(MEASURE);
    let used = cpu_ms(child.id()) - before;
    // A watch that quit (a ledger it cannot open, nothing to watch) would measure nothing.
    assert!(matches!(child.try_wait(), Ok(None)), "coze-tui watch exited early");
    println!("| {label} | {used} ms |");
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let ledger = Arc::new(Ledger::open_in(&data).expect("ledger"));
    let now = now_ms();
    let mut tasks = vec![];
    for i in 0..TASKS {
        let mut t = Task::pending(
            format!("bench{i:07}"),
            "default".into(),
            "7524966123456700000".into(),
            RunMode::Async,
            now + i as i64,
        );
        t.status = TaskStatus::Running;
        t.execute_id = Some(format!("74310409788058{i:05}"));
        t.started_at = Some(now);
        tasks.push(t);
    }
    // Driven by "another process" whose lease outlasts the measurement: watch only follows.
    ledger.insert_all(&tasks, Some("elsewhere"), Duration::from_secs(3600)).expect("insert");

    let bin = std::env::var("COZE_TUI_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_coze-tui").to_string());
    let mut child = Command::new(bin)
        .arg("watch")
        .env("COZE_TUI_DATA_DIR", &data)
        .env("COZE_TUI_CONFIG", dir.path().join("none.toml"))
        .env("COZE_API_TOKEN", "bench")
        // Nothing listens there; watch sends no request while others hold the leases.
        .env("COZE_API_BASE", "http://127.0.0.1:9")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("coze-tui watch starts");
    std::thread::sleep(Duration::from_secs(2));

    println!("| `coze-tui watch` following {TASKS} runs, 10 s of | CPU time |");
    println!("|---|---|");
    measure(&mut child, "no changes");

    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let (ledger, writing) = (ledger.clone(), writing.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while writing.load(Ordering::Relaxed) {
                for _ in 0..10 {
                    let mut t = tasks[i % TASKS].clone();
                    t.last_message = Some(format!("step {i}"));
                    t.updated_at = now_ms();
                    ledger.update(&t, "elsewhere", None).expect("update");
                    i += 1;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    measure(&mut child, "10 task changes a second (another process)");
    writing.store(false, Ordering::Relaxed);
    let _ = writer.join();
    let _ = child.kill();
    let _ = child.wait();
}
