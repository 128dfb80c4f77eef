//! Many runs: `run --inputs` on the real binary, and several coze-tui processes on one data
//! directory sharing one request budget, judged by the simulator's own per-second counts.

mod common;

use std::path::Path;

use common::*;
use coze_tui::sim::{SimOptions, Simulator};
use serde_json::Value;

async fn run(sim: &Simulator, dir: &Path, args: &[&str], stdin: Option<&str>) -> Out {
    output_of(coze_tui(sim, dir, args), stdin).await
}

fn config(dir: &Path, qps: f64) {
    let poll = format!(
        "[profiles.default.poll]\ninitial_interval_ms = 100\nbackoff = 1.5\nmax_interval_ms = 400\nqps = {qps}\nlease_secs = 2\n"
    );
    std::fs::write(dir.join("config.toml"), poll).unwrap();
}

fn lines(n: usize) -> String {
    (1..=n).map(|i| format!("{{\"input\": \"line {i}\"}}\n")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_runs_every_line_as_a_task_and_reports_each() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), 100.0);
    let echo = wf(&sim, "echo");
    let out =
        run(&sim, dir.path(), &["run", &echo, "--inputs", "-", "--concurrency", "3", "--json"], Some(&lines(12))).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let tasks = out.json();
    let tasks = tasks.as_array().unwrap();
    assert_eq!(tasks.len(), 12);
    for (i, t) in tasks.iter().enumerate() {
        assert_eq!(t["status"], "succeeded", "{t}");
        assert_eq!(t["parameters"]["input"], format!("line {}", i + 1), "in input order");
        assert_eq!(t["output"]["input"], format!("line {}", i + 1));
        assert_eq!(t["workflow_name"], "echo");
    }
    let stats = sim.stats();
    assert_eq!(stats.runs_started, 12);
    assert_eq!(stats.count("GET /v1/workflows/{id}"), 1, "one workflow lookup for the whole batch");
    let listed = run(&sim, dir.path(), &["tasks", "--limit", "50", "--json"], None).await.json();
    assert_eq!(listed.as_array().unwrap().len(), 12, "every run is a task in the ledger");

    // A failing workflow: every run is reported, and the exit code says so.
    let out = run(&sim, dir.path(), &["run", &wf(&sim, "fails"), "--inputs", "-"], Some(&lines(3))).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout.matches("✘ failed").count(), 3, "{}", out.stdout);
    assert!(out.stderr.contains("3 runs: 3 failed"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_are_refused_before_anything_is_sent() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), 100.0);
    let file = dir.path().join("in.jsonl");
    std::fs::write(&file, "{\"input\": 1}\n\n{\"input\": }\n").unwrap();
    let echo = wf(&sim, "echo");
    let out = run(&sim, dir.path(), &["run", &echo, "--inputs", file.to_str().unwrap()], None).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("in.jsonl:3") && out.stderr.contains("column 11"), "{}", out.stderr);
    let out = run(&sim, dir.path(), &["run", &echo, "--inputs", "-"], Some("[1]\n")).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("stdin:1") && out.stderr.contains("an array"), "{}", out.stderr);
    let out = run(&sim, dir.path(), &["run", &echo, "--inputs", "-"], Some("\n")).await;
    assert_eq!(out.code, 2);
    let out = run(&sim, dir.path(), &["run", &echo, "--inputs", "-", "--concurrency", "0"], Some("{}\n")).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--concurrency"), "{}", out.stderr);
    let out = run(&sim, dir.path(), &["run", &echo, "--inputs", "-", "--params", "{}"], Some("{}\n")).await;
    assert_eq!(out.code, 2);
    assert_eq!(sim.stats().by_route.values().sum::<u64>(), 0, "no request reached the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_batch_is_recorded_at_once_and_watch_runs_it() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), 100.0);
    let out = run(
        &sim,
        dir.path(),
        &["run", &wf(&sim, "echo"), "--inputs", "-", "--detach", "--concurrency", "2"],
        Some(&lines(6)),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("coze-tui watch --concurrency 2"), "{}", out.stderr);
    let ids: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(ids.len(), 6);
    assert_eq!(sim.stats().runs_started, 0, "recorded, not sent");
    let pending = run(&sim, dir.path(), &["tasks", "--status", "pending", "--json"], None).await.json();
    assert_eq!(pending.as_array().unwrap().len(), 6);
    let watched = run(&sim, dir.path(), &["watch", "--concurrency", "2", "--json"], None).await;
    assert_eq!(watched.code, 0, "{}", watched.stderr);
    let tasks = run(&sim, dir.path(), &["tasks", "--json"], None).await.json();
    let statuses: Vec<&Value> = tasks.as_array().unwrap().iter().map(|t| &t["status"]).collect();
    assert_eq!(statuses, vec!["succeeded"; 6], "watch started and followed every queued run");
    assert_eq!(sim.stats().runs_started, 6);
}

/// The scenario, scaled down: many processes at once, a server that allows a little
/// more than the profile's qps. Every run is recorded and the server never sees more than qps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_on_one_data_directory_share_one_request_budget() {
    const QPS: usize = 3;
    let sim = sim_with(SimOptions { rate_limit_qps: Some(QPS as u32 + 1), ..opts() }).await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), QPS as f64);
    let echo = wf(&sim, "echo");
    let mut jobs = vec![];
    for i in 0..8 {
        let params = format!("{{\"job\": {i}}}");
        let cmd = coze_tui(&sim, dir.path(), &["run", &echo, "--params", &params, "--detach"]);
        jobs.push(tokio::spawn(output_of(cmd, None)));
    }
    for _ in 0..2 {
        let cmd = coze_tui(&sim, dir.path(), &["run", &echo, "--inputs", "-", "--mode", "sync"]);
        jobs.push(tokio::spawn(async move { output_of(cmd, Some(&lines(3))).await }));
    }
    for job in jobs {
        let out = job.await.unwrap();
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let stats = sim.stats();
    assert_eq!(stats.runs_started, 8 + 2 * 3, "every run recorded and started once");
    assert_eq!(stats.rate_limited, 0, "the server never had to refuse");
    let peak = stats.peak_per_second("");
    assert!(peak <= QPS, "the server saw {peak} requests in one second; the profile allows {QPS}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_request_limit_stops_coze_tui_before_it_sends_more() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), "[profiles.default]\ndaily_request_limit = 3\n").unwrap();
    let echo = wf(&sim, "echo");
    // A run costs two requests here: the workflow lookup (for its name) and the run.
    let first = run(&sim, dir.path(), &["run", &echo, "--params", "{}"], None).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let second = run(&sim, dir.path(), &["run", &echo, "--params", "{}"], None).await;
    assert_eq!(second.code, 3, "{}", second.stderr);
    assert!(second.stderr.contains("daily_request_limit"), "{}", second.stderr);
    let third = run(&sim, dir.path(), &["run", &echo, "--params", "{}", "--json"], None).await;
    assert_eq!(third.code, 3);
    assert!(third.json()["error"]["message"].as_str().unwrap().contains("daily_request_limit"));
    let health = run(&sim, dir.path(), &["health", "--json"], None).await;
    assert_eq!(health.json()["requests_today"], 3);
    assert_eq!(sim.stats().by_route.values().sum::<u64>(), 3, "nothing past the limit reached the server");
}

/// Many processes starting at once on a data directory with no ledger yet (`xargs -P 8` on a
/// fresh machine) all open it: none fails with "database is locked" while another one creates
/// it. (Before the fix, about 1 process in 200 did.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_opening_a_new_ledger_at_once_all_get_it() {
    let sim = sim().await;
    for _ in 0..8 {
        let dir = tempfile::tempdir().unwrap();
        let jobs: Vec<_> =
            (0..10).map(|_| tokio::spawn(output_of(coze_tui(&sim, dir.path(), &["tasks", "--json"]), None))).collect();
        for job in jobs {
            let out = job.await.unwrap();
            assert_eq!(out.code, 0, "{}", out.stderr);
        }
    }
}
