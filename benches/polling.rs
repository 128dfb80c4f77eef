//! Polling cost of async runs: run-history requests per finished task, for short, medium and
//! long runs, with the default poll settings. Time is paused (tokio's test clock), so a
//! 10-minute run takes a moment; the requests are real HTTP to the embedded simulator.
//!
//!     cargo bench --bench polling
//!
//! Prints a Markdown table (the README quotes it).

use std::sync::Arc;
use std::time::Duration;

use coze_tui::config::PollSettings;
use coze_tui::coze::{ClientOptions, CozeClient};
use coze_tui::secret::Secret;
use coze_tui::sim::{SimOptions, Simulator};
use coze_tui::tasks::*;

const TASKS: usize = 20;
const HISTORY: &str = "GET /v1/workflows/{id}/run_histories/{eid}";

async fn measure(run_for: Duration, poll: &PollSettings) -> (f64, Duration) {
    let sim =
        Simulator::start(SimOptions { async_ms: run_for.as_millis() as u64, ..SimOptions::default() }, "127.0.0.1:0")
            .await
            .expect("simulator");
    let mut opts = ClientOptions::new(sim.url(), Secret::new(sim.token()));
    // Paused time jumps to the next timer whenever the runtime idles: keep request timeouts
    // out of the way so only the poll schedule decides.
    opts.timeout = Duration::from_secs(86_400);
    opts.connect_timeout = Duration::from_secs(86_400);
    // The budget in memory: tokio's paused clock cannot move the wall clock the shared one uses.
    let client = CozeClient::new(opts).expect("client").with_gate(Arc::new(LocalBudget::new(poll.qps)));
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Arc::new(Ledger::open_in(dir.path()).expect("ledger"));
    let runner = Runner::start(client, ledger, RunnerConfig::new("bench", poll.clone())).await;
    let echo = sim.workflow_id("echo").expect("echo");
    let start = tokio::time::Instant::now();
    let mut ids = vec![];
    for i in 0..TASKS {
        let new = NewTask {
            workflow_id: echo.clone(),
            workflow_name: None,
            workspace_id: None,
            parameters: serde_json::json!({"i": i}).as_object().cloned().unwrap_or_default(),
            mode: RunMode::Async,
            name: None,
            description: None,
            context: Default::default(),
        };
        ids.push(runner.submit(new).await.expect("submit").id);
    }
    for id in &ids {
        let t = runner.wait_settled(id).await.expect("settles");
        assert_eq!(t.status, TaskStatus::Succeeded);
    }
    let took = start.elapsed();
    runner.shutdown().await;
    let polls = sim.stats().count(HISTORY);
    (polls as f64 / TASKS as f64, took)
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().expect("runtime");
    let poll = PollSettings::default();
    println!(
        "Poll settings: initial {} ms, backoff ×{}, max {} ms, budget {} req/s; {TASKS} tasks per row.\n",
        poll.initial_interval_ms, poll.backoff, poll.max_interval_ms, poll.qps
    );
    println!("| run length | history requests per task | seen finished after (simulated) |");
    println!("|---|---|---|");
    for (label, secs) in [("short (2 s)", 2), ("medium (30 s)", 30), ("long (10 min)", 600)] {
        let (per_task, took) = rt.block_on(measure(Duration::from_secs(secs), &poll));
        println!("| {label} | {per_task:.1} | {:.1} s |", took.as_secs_f64());
    }
}
