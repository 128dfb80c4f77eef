//! The task commands (`tasks`, `task`, `resume`, `rerun`, `watch`, `tasks prune`) on the real
//! binary, and a SIGKILLed process leaving a sound ledger whose runs are taken over.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use coze_tui::config::PollSettings;
use coze_tui::sim::{SimOptions, Simulator};
use coze_tui::tasks::*;
use serde_json::{Value, json};

async fn run(sim: &Simulator, dir: &Path, args: &[&str]) -> Out {
    output_of(coze_tui(sim, dir, args), None).await
}

/// A config whose profile polls fast and hands leases over quickly.
fn fast_config(dir: &Path) {
    std::fs::write(
        dir.join("config.toml"),
        "[profiles.default.poll]\ninitial_interval_ms = 100\nbackoff = 1.5\nmax_interval_ms = 500\nqps = 100.0\nlease_secs = 2\n",
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_are_listed_shown_answered_rerun_and_pruned() {
    let sim = sim_with(SimOptions { slow_ms: 800, ..opts() }).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fast_config(d);
    let echo = wf(&sim, "echo");

    let ok =
        run(&sim, d, &["run", &echo, "--params", r#"{"n": 1}"#, "--name", "first run", "--description", "d", "--json"])
            .await
            .json();
    let failed = run(&sim, d, &["run", &wf(&sim, "fails"), "--json"]).await.json();
    let asked = run(&sim, d, &["run", &wf(&sim, "asks"), "--mode", "stream", "--json"]).await.json();
    let id = |v: &Value| v["id"].as_str().unwrap().to_string();
    assert_eq!(ok["name"], "first run");
    assert_eq!(ok["description"], "d");

    let list = run(&sim, d, &["tasks", "--json"]).await.json();
    let ids: Vec<String> = list.as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, [id(&asked), id(&failed), id(&ok)], "newest first");
    let only_failed = run(&sim, d, &["tasks", "--status", "failed", "--json"]).await.json();
    assert_eq!(only_failed.as_array().unwrap().len(), 1);
    let by_workflow = run(&sim, d, &["tasks", "--workflow", &echo, "--json"]).await.json();
    assert_eq!(by_workflow[0]["id"], ok["id"]);
    let by_name = run(&sim, d, &["tasks", "--name", "FIRST", "--json"]).await.json();
    assert_eq!(by_name.as_array().unwrap().len(), 1);
    let table = run(&sim, d, &["tasks"]).await;
    assert!(
        table.stdout.contains("✘ failed")
            && table.stdout.contains("? interrupted")
            && table.stdout.contains("asks: Which city")
    );
    let limited = run(&sim, d, &["tasks", "--limit", "1", "--json"]).await.json();
    assert_eq!(limited.as_array().unwrap().len(), 1);

    // A prefix is enough to name a task.
    let shown = run(&sim, d, &["task", &id(&ok)[..10]]).await;
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown.stdout.contains("first run") && shown.stdout.contains("\"n\": 1") && shown.stdout.contains("history:")
    );
    let missing = run(&sim, d, &["task", "zzzzzz"]).await;
    assert_eq!(missing.code, 2);

    // Answer the question.
    let not_waiting = run(&sim, d, &["resume", &id(&ok), "--answer", "x"]).await;
    assert_eq!(not_waiting.code, 2);
    assert!(not_waiting.stderr.contains("not waiting for an answer"));
    let answered = run(&sim, d, &["resume", &id(&asked), "--answer", "杭州", "--json"]).await;
    assert_eq!(answered.code, 0, "{}", answered.stderr);
    let answered = answered.json();
    assert_eq!((answered["status"].as_str(), answered["output"]["answer"].as_str()), (Some("succeeded"), Some("杭州")));
    assert_eq!(answered["interrupt"], Value::Null);

    // Re-run: a new task, same workflow and parameters, same exit code rules.
    let again = run(&sim, d, &["rerun", &id(&failed), "--json"]).await;
    assert_eq!(again.code, 1);
    let again = again.json();
    assert_ne!(again["id"], failed["id"]);
    assert_eq!(again["workflow_id"], failed["workflow_id"]);

    // Prune: finished tasks before a cut-off go; a question still waiting for its answer stays.
    let waiting = run(&sim, d, &["run", &wf(&sim, "asks"), "--mode", "stream", "--json"]).await.json();
    let pruned = run(&sim, d, &["tasks", "prune", "--before", "2000-01-01", "--json"]).await.json();
    assert_eq!(pruned["deleted"], 0);
    let dry = run(&sim, d, &["tasks", "prune", "--before", "0d", "--dry-run", "--json"]).await.json();
    assert_eq!((dry["deleted"].as_u64(), dry["tasks"].as_array().map(Vec::len)), (Some(0), Some(4)));
    assert_eq!(
        run(&sim, d, &["tasks", "--json"]).await.json().as_array().unwrap().len(),
        5,
        "a dry run deletes nothing"
    );
    let failed_only = run(&sim, d, &["tasks", "prune", "--before", "0d", "--status", "failed"]).await;
    assert!(failed_only.stderr.contains("deleted 2 finished task(s)"), "{}", failed_only.stderr);
    assert_eq!(failed_only.stdout.matches("✘ failed").count(), 2, "what was deleted is listed: {}", failed_only.stdout);
    let pruned = run(&sim, d, &["tasks", "prune", "--before", "0d", "--json"]).await.json();
    assert_eq!(pruned["deleted"], 2);
    let left = run(&sim, d, &["tasks", "--json"]).await.json();
    assert_eq!(left.as_array().map(|l| l.iter().map(id).collect::<Vec<_>>()), Some(vec![id(&waiting)]));
    assert_eq!(run(&sim, d, &["tasks", "prune", "--before", "someday"]).await.code, 2);
    assert_eq!(sim.stats().runs_started, 5, "run ×4 and rerun ×1; nothing twice");

    // Everything coze-tui keeps is private: directories 0700, files 0600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let data = d.join("data");
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("logs")), 0o700);
        assert_eq!(mode(&data.join("logs/coze-tui.log")), 0o600);
        assert_eq!(mode(&data.join("ledger.db")), 0o600);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detached_runs_are_followed_by_watch() {
    let sim = sim_with(SimOptions { slow_ms: 1000, ..opts() }).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fast_config(d);
    let mut ids = vec![];
    for i in 0..3 {
        let out =
            run(&sim, d, &["run", &wf(&sim, "slow"), "--detach", "--params", &format!(r#"{{"i": {i}}}"#), "--json"])
                .await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        let t = out.json();
        assert_eq!(t["status"], "running");
        ids.push(t["id"].as_str().unwrap().to_string());
    }
    // A run of another profile (another token) is not this watch's to follow or wait for.
    {
        let ledger = Ledger::open_in(&d.join("data")).unwrap();
        let other = Task {
            status: TaskStatus::Running,
            execute_id: Some("7431040978805899999".into()),
            ..Task::pending(new_task_id(now_ms()), "other".into(), wf(&sim, "slow"), RunMode::Async, now_ms())
        };
        ledger.insert(&other, "nobody", Duration::ZERO).unwrap();
    }
    let plain = run(&sim, d, &["run", &wf(&sim, "slow"), "--detach"]).await;
    assert_eq!(plain.code, 0);
    assert_eq!(plain.stdout.trim().len(), 12, "stdout is just the task id: {:?}", plain.stdout);
    ids.push(plain.stdout.trim().to_string());
    let mine = run(&sim, d, &["tasks", "--json"]).await.json();
    assert!(mine.as_array().unwrap().iter().all(|t| t["profile"] == "default"), "the active profile's tasks");
    let every = run(&sim, d, &["tasks", "--all-profiles", "--json"]).await.json();
    assert!(every.as_array().unwrap().iter().any(|t| t["profile"] == "other"));
    let watched = run(&sim, d, &["watch", "--json"]).await;
    assert_eq!(watched.code, 0, "{}", watched.stderr);
    let list = watched.json();
    assert_eq!(list.as_array().unwrap().len(), 4);
    assert!(list.as_array().unwrap().iter().all(|t| t["status"] == "succeeded"), "{list}");
    let human = run(&sim, d, &["watch"]).await;
    assert!(human.stderr.contains("no running tasks"));
    assert_eq!(sim.stats().runs_started, 4);
    for id in ids {
        assert_eq!(run(&sim, d, &["task", &id, "--json"]).await.json()["status"], "succeeded");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_process_leaves_a_sound_ledger_that_is_taken_over() {
    const N: usize = 30;
    let sim = sim_with(SimOptions { slow_ms: 2500, ..opts() }).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fast_config(d);
    let poll = PollSettings { initial_interval_ms: 100, backoff: 1.2, max_interval_ms: 300, qps: 100.0, lease_secs: 2 };
    let data = d.join("data");
    // Start a batch, then leave it for another process to watch.
    {
        let ledger = Arc::new(Ledger::open_in(&data).unwrap());
        let r = Runner::start(client(&sim), ledger.clone(), RunnerConfig::new("default", poll.clone())).await;
        for i in 0..N {
            let new = NewTask {
                workflow_id: wf(&sim, "slow"),
                workflow_name: Some("slow".into()),
                workspace_id: None,
                parameters: json!({"i": i}).as_object().cloned().unwrap(),
                mode: RunMode::Async,
                name: None,
                description: None,
                context: Default::default(),
            };
            r.submit(new).await.unwrap();
        }
        let mut started = false;
        for _ in 0..500 {
            let running = ledger.list(&TaskFilter { limit: N, ..Default::default() }).unwrap();
            started = running.iter().all(|t| t.execute_id.is_some());
            if started {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(started, "every run got its execute id");
        r.shutdown().await;
    }
    // A second process takes them over, polling hard, and is killed mid-batch: once it holds
    // every lease, so it dies with work in hand.
    let mut child = coze_tui(&sim, d, &["watch"]).kill_on_drop(true).spawn().unwrap();
    let ledger = Arc::new(Ledger::open_in(&data).unwrap());
    let ids: Vec<String> =
        ledger.list(&TaskFilter { limit: N, ..Default::default() }).unwrap().into_iter().map(|t| t.id).collect();
    let mut held = false;
    for _ in 0..250 {
        held = ids.iter().all(|id| ledger.lease_owner(id).unwrap().is_some());
        if held {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(held, "watch took up every run");
    assert!(child.try_wait().unwrap().is_none(), "watch is still following the batch");
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert!(!status.success());
    // Its leases outlive it (until they expire), and nothing it committed is lost or torn.
    assert!(ids.iter().all(|id| ledger.lease_owner(id).unwrap().is_some()), "the dead process's leases still run");
    assert_eq!(ledger.integrity_check().unwrap(), "ok");
    let tasks = ledger.list(&TaskFilter { limit: N, ..Default::default() }).unwrap();
    assert_eq!(tasks.len(), N, "no committed task was lost");
    // Once the dead process's leases expire, a new runner finishes the batch.
    let r = Runner::start(client(&sim), ledger.clone(), RunnerConfig::new("default", poll)).await;
    for t in &tasks {
        let done = tokio::time::timeout(Duration::from_secs(30), r.wait_settled(&t.id)).await.unwrap().unwrap();
        assert_eq!(done.status, TaskStatus::Succeeded, "{done:?}");
    }
    assert_eq!(sim.stats().runs_started, N as u64, "nothing was started twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_as_json_is_checked_then_sent() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fast_config(d);
    let id = |v: &Value| v["id"].as_str().unwrap().to_string();
    // An answer as JSON is checked before anything is sent, then sent compact.
    let asked_again = run(&sim, d, &["run", &wf(&sim, "asks"), "--mode", "stream", "--json"]).await.json();
    let bad = run(&sim, d, &["resume", &id(&asked_again), "--answer-json", "{city:"]).await;
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("--answer-json is not JSON"), "{}", bad.stderr);
    let both = run(&sim, d, &["resume", &id(&asked_again), "--answer", "x", "--answer-json", "{}"]).await;
    assert_eq!(both.code, 2, "one answer or the other");
    let form =
        run(&sim, d, &["resume", &id(&asked_again), "--answer-json", "{ \"city\": \"杭州\", \"days\": 2 }", "--json"])
            .await;
    assert_eq!(form.code, 0, "{}", form.stderr);
    assert_eq!(form.json()["output"]["answer"], serde_json::json!({"city": "杭州", "days": 2}), "sent as JSON text");
}
