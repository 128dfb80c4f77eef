//! The run engine against the simulator and a real SQLite ledger: every mode to every end
//! state, interrupts, the 6003 fallback, the shared request budget, recovery after a restart,
//! two runners on one ledger, and never submitting a run twice.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use coze_tui::config::PollSettings;
use coze_tui::sim::{FAIL_CODE, Fault, FaultRule, SimOptions, Simulator};
use coze_tui::tasks::*;
use serde_json::{Value, json};

fn fast_poll() -> PollSettings {
    PollSettings { initial_interval_ms: 100, backoff: 1.5, max_interval_ms: 500, qps: 200.0, lease_secs: 30 }
}

async fn runner_on(sim: &Simulator, dir: &Path, poll: PollSettings) -> Runner {
    let ledger = Arc::new(Ledger::open_in(dir).unwrap());
    Runner::start(client(sim), ledger, RunnerConfig::new("default", poll)).await
}

fn new_task(sim: &Simulator, name: &str, mode: RunMode, params: Value) -> NewTask {
    NewTask {
        workflow_id: wf(sim, name),
        workflow_name: Some(name.into()),
        workspace_id: Some(sim.first_workspace_id()),
        parameters: params.as_object().cloned().unwrap_or_default(),
        mode,
        name: Some(format!("{name} {}", mode.as_str())),
        description: None,
        context: Default::default(),
    }
}

async fn run_to_end(r: &Runner, sim: &Simulator, name: &str, mode: RunMode, params: Value) -> Task {
    let t = r.submit(new_task(sim, name, mode, params)).await.unwrap();
    settled(r, &t.id).await
}

async fn settled(r: &Runner, id: &str) -> Task {
    tokio::time::timeout(Duration::from_secs(30), r.wait_settled(id)).await.expect("the task settles in time").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mode_reaches_every_end_state() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let r = runner_on(&sim, dir.path(), fast_poll()).await;
    let mut submitted = 0;
    for mode in [RunMode::Sync, RunMode::Async, RunMode::Stream] {
        let ok = run_to_end(&r, &sim, "echo", mode, json!({"input": "你好"})).await;
        assert_eq!(ok.status, TaskStatus::Succeeded, "{mode:?}: {ok:?}");
        let out = ok.decoded_output().unwrap();
        assert_eq!(out["input"], "你好", "{mode:?}: one output shape in every mode");
        assert!(ok.execute_id.is_some() && ok.debug_url.is_some() && ok.finished_at.is_some(), "{mode:?}: {ok:?}");

        let failed = run_to_end(&r, &sim, "fails", mode, json!({})).await;
        assert_eq!(failed.status, TaskStatus::Failed, "{mode:?}");
        assert_eq!(failed.error.as_ref().unwrap().code, Some(FAIL_CODE), "{mode:?}");

        let asked = run_to_end(&r, &sim, "asks", mode, json!({})).await;
        assert_eq!(asked.status, TaskStatus::Interrupted, "{mode:?}");
        let i = asked.interrupt.as_ref().unwrap();
        assert!(i.question.as_deref().unwrap().contains("Which city"), "{mode:?}: {i:?}");
        assert!(asked.finished_at.is_none());

        let refused = run_to_end(&r, &sim, "draft_only", mode, json!({})).await;
        assert_eq!(refused.status, TaskStatus::Failed);
        let e = refused.error.unwrap();
        assert_eq!((e.code, e.kind.as_deref()), (Some(4200), Some("not_found")));
        submitted += 3; // draft_only is refused before it runs
    }
    // The history of status changes is kept.
    let t = r.ledger().list(&TaskFilter { limit: 1, ..Default::default() }).unwrap().remove(0);
    let h: Vec<_> = r.ledger().history(&t.id).unwrap().into_iter().map(|c| c.status).collect();
    assert_eq!(h, [TaskStatus::Pending, TaskStatus::Running, TaskStatus::Failed]);
    let stats = sim.stats();
    assert_eq!(stats.runs_started, submitted, "every run was started exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_off_before_an_execute_id_is_unknown() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let r = runner_on(&sim, dir.path(), fast_poll()).await;
    sim.inject(FaultRule::new("POST /v1/workflow/stream_run", Fault::DropAfterProcessing, 1));
    let t = run_to_end(&r, &sim, "echo", RunMode::Stream, json!({})).await;
    assert_eq!(t.status, TaskStatus::Unknown);
    assert!(t.notes.iter().any(|n| n.contains("may still be running")), "{:?}", t.notes);
    sim.inject(FaultRule::new("POST /v1/workflow/run", Fault::DropAfterProcessing, 1));
    let t = run_to_end(&r, &sim, "echo", RunMode::Sync, json!({})).await;
    assert_eq!(t.status, TaskStatus::Unknown);
    assert_eq!(sim.stats().runs_started, 2, "neither was sent again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupts_are_answered_and_the_answer_limit_fails_the_run() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let r = runner_on(&sim, dir.path(), fast_poll()).await;
    for mode in [RunMode::Stream, RunMode::Sync, RunMode::Async] {
        let t = run_to_end(&r, &sim, "asks", mode, json!({})).await;
        assert_eq!(t.status, TaskStatus::Interrupted);
        // The person takes a while to answer: that time is not the run's.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        r.resume(&t.id, "杭州").await.unwrap();
        let done = settled(&r, &t.id).await;
        assert_eq!(done.status, TaskStatus::Succeeded, "{mode:?}: {done:?}");
        let wall = done.finished_at.unwrap() - done.started_at.unwrap();
        assert!(done.waited_ms >= 300, "{mode:?}: waited {} ms", done.waited_ms);
        assert_eq!(done.elapsed_ms(0), wall - done.waited_ms, "{mode:?}");
        assert_eq!(done.to_json()["waited_ms"], done.waited_ms, "{mode:?}");
        let history = r.ledger().history(&t.id).unwrap();
        assert!(
            history.iter().any(|c| c.note.as_deref().is_some_and(|n| n.contains("answered \"杭州\""))),
            "the history says what was answered: {history:?}"
        );
        let out = done.decoded_output().unwrap();
        assert_eq!(out["answer"], "杭州", "{mode:?}: {out}");
        assert_eq!(done.interrupt, None);
        assert!(matches!(r.resume(&t.id, "again").await, Err(RunnerError::NotInterrupted(_, TaskStatus::Succeeded))));
    }

    let t = run_to_end(&r, &sim, "asks", RunMode::Stream, json!({})).await;
    for answer in 1..=3 {
        r.resume(&t.id, " ").await.unwrap();
        let after = settled(&r, &t.id).await;
        if answer < 3 {
            assert_eq!(after.status, TaskStatus::Interrupted, "asked again after answer {answer}");
            assert_eq!(after.interrupt.unwrap().answers, answer);
        } else {
            assert_eq!(after.status, TaskStatus::Failed);
            assert!(after.error.unwrap().message.contains("3 attempts"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_on_a_free_plan_falls_back_to_stream() {
    let sim = sim_with(SimOptions { free_plan: true, ..opts() }).await;
    let dir = tempfile::tempdir().unwrap();
    let r = runner_on(&sim, dir.path(), fast_poll()).await;
    let t = run_to_end(&r, &sim, "chatty", RunMode::Async, json!({})).await;
    assert_eq!(t.status, TaskStatus::Succeeded);
    assert_eq!((t.requested_mode, t.mode), (RunMode::Async, RunMode::Stream));
    assert!(t.notes.iter().any(|n| n.contains("6003")));
    assert_eq!(t.to_json()["requested_mode"], "async");
    assert_eq!(sim.stats().runs_started, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_messages_are_recorded_in_order_and_capped() {
    let sim = sim_with(SimOptions { chatty_messages: 120, ..opts() }).await;
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(Ledger::open_in(dir.path()).unwrap());
    let cfg = RunnerConfig { max_events: 50, ..RunnerConfig::new("default", fast_poll()) };
    let r = Runner::start(client(&sim), ledger.clone(), cfg).await;
    let mut updates = r.subscribe();
    let t = run_to_end(&r, &sim, "chatty", RunMode::Stream, json!({})).await;
    assert_eq!(t.status, TaskStatus::Succeeded);
    assert_eq!(t.event_count, 50);
    assert_eq!(t.events_dropped, 71, "120 chunks + the End message, 50 kept");
    assert!(t.notes.iter().any(|n| n.contains("121 messages")));
    let events = ledger.events(&t.id, None, 1000).unwrap();
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), (0..50).collect::<Vec<_>>());
    assert!(events[0].content.starts_with("chunk 0"));
    // The final output still arrived, from the End message.
    assert!(t.decoded_output().unwrap()["output"].as_str().unwrap().contains("chunk 119"));
    let mut live = 0;
    while let Ok(u) = updates.try_recv() {
        if matches!(u, TaskUpdate::Event { ref task_id, .. } if task_id == &t.id) {
            live += 1;
        }
    }
    assert_eq!(live, 50, "each kept message was announced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_under_a_rate_limit_never_exceeds_the_budget() {
    const QPS: u32 = 40;
    const TASKS: usize = 200;
    let sim = sim_with(SimOptions { rate_limit_qps: Some(QPS), async_ms: 300, ..opts() }).await;
    let dir = tempfile::tempdir().unwrap();
    let poll =
        PollSettings { initial_interval_ms: 300, backoff: 1.5, max_interval_ms: 2000, qps: QPS as f64, lease_secs: 30 };
    let r = runner_on(&sim, dir.path(), poll).await;
    let mut ids = vec![];
    for i in 0..TASKS {
        ids.push(r.submit(new_task(&sim, "echo", RunMode::Async, json!({"i": i}))).await.unwrap().id);
    }
    for id in &ids {
        let t = tokio::time::timeout(Duration::from_secs(120), r.wait_settled(id)).await.unwrap().unwrap();
        assert_eq!(t.status, TaskStatus::Succeeded, "{t:?}");
    }
    let stats = sim.stats();
    assert_eq!(stats.rate_limited, 0, "the budget kept under the server's limit");
    assert!(stats.peak_per_second("") <= QPS as usize, "peak {} requests in one second", stats.peak_per_second(""));
    assert_eq!((stats.runs_started, stats.count("POST /v1/workflow/run")), (TASKS as u64, TASKS as u64));
    let polls = stats.count("GET /v1/workflows/{id}/run_histories/{eid}");
    assert!(polls >= TASKS as u64, "{polls} history requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_runner_takes_up_where_the_old_one_stopped() {
    let sim = sim_with(SimOptions { slow_ms: 1500, ..opts() }).await;
    let dir = tempfile::tempdir().unwrap();
    let first = runner_on(&sim, dir.path(), fast_poll()).await;
    let mut ids = vec![];
    for i in 0..5 {
        let t = first.submit(new_task(&sim, "slow", RunMode::Async, json!({"i": i}))).await.unwrap();
        ids.push(t.id);
    }
    // Wait until every run has its execute id, then stop mid-flight.
    let mut known = 0;
    for _ in 0..250 {
        known = ids.iter().filter(|id| first.ledger().get(id).unwrap().execute_id.is_some()).count();
        if known == ids.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(known, ids.len(), "every run got its execute id");
    first.shutdown().await;
    for id in &ids {
        assert_eq!(first.ledger().get(id).unwrap().status, TaskStatus::Running);
    }
    // A run cut off before it had an execute id (a sync run when the process died).
    let ledger = Ledger::open_in(dir.path()).unwrap();
    let mut cut = ledger.get(&ids[0]).unwrap();
    cut.id = new_task_id(now_ms());
    cut.mode = RunMode::Sync;
    cut.execute_id = None;
    ledger.insert(&cut, "a-dead-process", Duration::ZERO).unwrap();
    drop(ledger);

    let second = runner_on(&sim, dir.path(), fast_poll()).await;
    for id in &ids {
        let t = settled(&second, id).await;
        assert_eq!(t.status, TaskStatus::Succeeded, "{t:?}");
    }
    let t = settled(&second, &cut.id).await;
    assert_eq!(t.status, TaskStatus::Unknown);
    assert!(t.notes.last().unwrap().contains("execute id"));
    assert_eq!(sim.stats().runs_started, 5, "recovery watches runs; it never starts them again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_on_one_ledger_never_watch_the_same_task() {
    // Runs long enough for b's maintenance (every lease/3 = 1 s) to look at them twice.
    let sim = sim_with(SimOptions { slow_ms: 2500, ..opts() }).await;
    let dir = tempfile::tempdir().unwrap();
    let poll = PollSettings { lease_secs: 3, ..fast_poll() };
    let a = runner_on(&sim, dir.path(), poll.clone()).await;
    let b = runner_on(&sim, dir.path(), poll).await;
    let mut ids = vec![];
    for i in 0..8 {
        ids.push(a.submit(new_task(&sim, "slow", RunMode::Async, json!({"i": i}))).await.unwrap().id);
    }
    // Who holds each lease, sampled until every run ends: only ever one process, a.
    let ledger = Ledger::open_in(dir.path()).unwrap();
    let mut holders = std::collections::HashSet::new();
    let mut rounds = 0;
    while !ids.iter().all(|id| ledger.get(id).unwrap().status.is_settled()) {
        for id in &ids {
            holders.extend(ledger.lease_owner(id).unwrap());
        }
        rounds += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(rounds > 40, "sampled over 2 s and more ({rounds} rounds)");
    assert_eq!(holders.len(), 1, "one process watched them all: {holders:?}");
    for id in &ids {
        assert_eq!(settled(&a, id).await.status, TaskStatus::Succeeded);
    }
    assert_eq!(sim.stats().runs_started, 8);
    // Another process answering a task a holds is refused, not raced.
    let t = a.submit(new_task(&sim, "asks", RunMode::Stream, json!({}))).await.unwrap();
    settled(&a, &t.id).await;
    let ledger = b.ledger().clone();
    assert!(ledger.claim(&t.id, "someone-else", Duration::from_secs(30)).unwrap());
    assert!(matches!(a.resume(&t.id, "x").await, Err(RunnerError::Busy(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_and_delete() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let r = runner_on(&sim, dir.path(), fast_poll()).await;
    let t = run_to_end(&r, &sim, "echo", RunMode::Sync, json!({"k": "v"})).await;
    let again = r.rerun(&t.id[..8]).await.unwrap();
    assert_ne!(again.id, t.id);
    let again = settled(&r, &again.id).await;
    assert_eq!(
        (again.parameters.clone(), again.name.clone(), again.status),
        (t.parameters.clone(), t.name.clone(), TaskStatus::Succeeded)
    );
    assert!(r.delete(&t.id).await.unwrap());
    assert!(matches!(r.find(&t.id).await, Err(RunnerError::Ledger(LedgerError::NotFound(_)))));
    assert_eq!(r.ledger().last_params("default", &wf(&sim, "echo")).unwrap().unwrap()["k"], "v");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_refused_for_the_rate_are_sent_again_and_the_budget_settles_at_what_the_server_allows() {
    const TASKS: usize = 20;
    // The profile allows 40 requests a second, the server 8: refusals halve the shared rate.
    let sim = sim_with(SimOptions { rate_limit_qps: Some(8), async_ms: 200, ..opts() }).await;
    let dir = tempfile::tempdir().unwrap();
    let poll =
        PollSettings { initial_interval_ms: 300, backoff: 1.5, max_interval_ms: 1000, qps: 40.0, lease_secs: 30 };
    let r = runner_on(&sim, dir.path(), poll).await;
    let news = (0..TASKS).map(|i| new_task(&sim, "echo", RunMode::Async, json!({"i": i}))).collect();
    let tasks = r.submit_batch(news, true).await.unwrap();
    for t in &tasks {
        let t = tokio::time::timeout(Duration::from_secs(60), r.wait_settled(&t.id)).await.unwrap().unwrap();
        assert_eq!(t.status, TaskStatus::Succeeded, "{t:?}");
    }
    let stats = sim.stats();
    assert_eq!(stats.runs_started, TASKS as u64, "every run started once");
    assert!(stats.rate_limited > 0, "the server did refuse some");
    let runs = stats.count("POST /v1/workflow/run");
    assert!(runs < 3 * TASKS as u64, "{runs} run requests: the budget slowed down instead of spending retries");
    let rate = Ledger::open_in(dir.path()).unwrap().request_rate("default").unwrap().unwrap();
    assert!(rate < 40.0, "the shared rate came down: {rate}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_replies_never_fail_a_run_that_started() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let r = runner_on(&sim, dir.path(), fast_poll()).await;
    // The start's reply is cut: the execute id in what arrived is watched to the end.
    sim.inject(FaultRule::new("POST /v1/workflow/run", Fault::TruncateAfterProcessing, 1));
    let t = run_to_end(&r, &sim, "echo", RunMode::Async, json!({"n": 1})).await;
    assert_eq!(t.status, TaskStatus::Succeeded, "{t:?}");
    assert!(t.notes.iter().any(|n| n.contains("could not be read")), "{:?}", t.notes);
    // History replies cut short are polled again.
    sim.inject(FaultRule::new("GET /v1/workflows/{id}/run_histories", Fault::Malformed, 3));
    let t = run_to_end(&r, &sim, "echo", RunMode::Async, json!({"n": 2})).await;
    assert_eq!(t.status, TaskStatus::Succeeded, "{t:?}");
    // A gateway's error page: the run may have started, so it is unknown, and never re-sent.
    sim.inject(FaultRule::new("POST /v1/workflow/run", Fault::BadGateway, 1));
    let t = run_to_end(&r, &sim, "echo", RunMode::Sync, json!({"n": 3})).await;
    assert_eq!(t.status, TaskStatus::Unknown, "{t:?}");
    assert_eq!(sim.stats().count("POST /v1/workflow/run"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_not_visible_yet_is_waited_for_whatever_the_code() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let r = runner_on(&sim, dir.path(), fast_poll()).await;
    for code in [4314, 4200, 720701013] {
        let refuse = Fault::ErrorCode { code, http_status: 200, retry_after: None };
        sim.inject(FaultRule::new("GET /v1/workflows/{id}/run_histories", refuse, 2));
        let t = run_to_end(&r, &sim, "echo", RunMode::Async, json!({})).await;
        assert_eq!(t.status, TaskStatus::Succeeded, "{code}: {t:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_ends_without_done_after_the_end_message_succeeded() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let r = runner_on(&sim, dir.path(), fast_poll()).await;
    sim.inject(FaultRule::new("POST /v1/workflow/stream_run", Fault::StreamWithoutDone, 1));
    let t = run_to_end(&r, &sim, "chatty", RunMode::Stream, json!({})).await;
    assert_eq!(t.status, TaskStatus::Succeeded, "{t:?}");
    assert!(t.notes.iter().any(|n| n.contains("without Done")), "{:?}", t.notes);
    assert!(t.decoded_output().unwrap()["output"].as_str().unwrap().contains("chunk 39"));
    // Cut before the End node spoke: nothing says how the run ended.
    sim.inject(FaultRule::new("POST /v1/workflow/stream_run", Fault::CutStreamAfter(3), 1));
    let t = run_to_end(&r, &sim, "chatty", RunMode::Stream, json!({})).await;
    assert_eq!(t.status, TaskStatus::Unknown, "{t:?}");
    assert_eq!(t.event_count, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_taking_up_one_detached_batch_send_each_run_once() {
    const TASKS: usize = 12;
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let poll = PollSettings { lease_secs: 2, ..fast_poll() };
    let ledger = Arc::new(Ledger::open_in(dir.path()).unwrap());
    // Recorded by a process that does not run them (`run --inputs … --detach`).
    let recorder = Runner::start(
        client(&sim),
        ledger.clone(),
        RunnerConfig { adopt_orphans: false, ..RunnerConfig::new("default", poll.clone()) },
    )
    .await;
    // `asks` stops at a question: settled but answerable, which frees its lease at once.
    let news = (0..TASKS).map(|i| new_task(&sim, "asks", RunMode::Stream, json!({"i": i}))).collect();
    let tasks = recorder.submit_batch(news, false).await.unwrap();
    recorder.shutdown().await;
    let a = Runner::start(client(&sim), ledger.clone(), RunnerConfig::new("default", poll.clone())).await;
    let b = Runner::start(client(&sim), ledger.clone(), RunnerConfig::new("default", poll.clone())).await;
    for t in &tasks {
        let t = tokio::time::timeout(Duration::from_secs(30), a.wait_settled(&t.id)).await.unwrap().unwrap();
        assert_eq!(t.status, TaskStatus::Interrupted, "{t:?}");
        assert!(!t.queued, "a started task is no longer queued");
    }
    // Several adoption rounds of both runners later, nothing was sent again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sim.stats().runs_started, TASKS as u64);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_batch_is_never_started_later() {
    let sim = sim_with(SimOptions { slow_ms: 400, ..opts() }).await;
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(Ledger::open_in(dir.path()).unwrap());
    let cfg = RunnerConfig { adopt_orphans: false, concurrency: 1, ..RunnerConfig::new("default", fast_poll()) };
    let r = Runner::start(client(&sim), ledger.clone(), cfg).await;
    let news = (0..5).map(|i| new_task(&sim, "slow", RunMode::Sync, json!({"i": i}))).collect();
    let tasks = r.submit_batch(news, true).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let cancelled = r.cancel_queued(tasks.iter().map(|t| t.id.clone()).collect()).await.unwrap();
    let states: Vec<(TaskStatus, bool)> = ledger
        .list(&TaskFilter { limit: 10, ..Default::default() })
        .unwrap()
        .iter()
        .map(|t| (t.status, t.queued))
        .collect();
    assert_eq!(cancelled.len(), 4, "the first was sent; the other four were cancelled: {states:?}");
    let watcher = runner_on(&sim, dir.path(), fast_poll()).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for id in &cancelled {
        let t = watcher.find(id).await.unwrap();
        assert_eq!(t.status, TaskStatus::Failed);
        assert!(t.error.unwrap().message.contains("cancelled before it was sent"));
    }
    assert_eq!(sim.stats().runs_started, 1);
    watcher.shutdown().await;
}
