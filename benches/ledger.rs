//! Ledger speed with 100,000 tasks: listing the newest page, filtering, paging, prefix lookup;
//! and what the shared request budget costs per request (one short write transaction).
//!
//!     cargo bench --bench ledger
//!
//! Prints a Markdown table of median times (the README quotes it).

use std::time::{Duration, Instant};

use coze_tui::tasks::*;
use serde_json::json;

const TASKS: usize = 100_000;

fn task(i: usize) -> Task {
    let created = 1_764_000_000_000 + i as i64 * 1000;
    let status = match i % 10 {
        0 => TaskStatus::Failed,
        1 => TaskStatus::Interrupted,
        _ => TaskStatus::Succeeded,
    };
    Task {
        name: i.is_multiple_of(100).then(|| format!("nightly report {i}")),
        workflow_name: Some(format!("workflow_{}", i % 50)),
        parameters: json!({"i": i, "text": "some input 输入"}).as_object().cloned().unwrap_or_default(),
        status,
        execute_id: Some(format!("74310409788058{:05}", i)),
        output: Some(json!({"Output": format!("result {i}")}).to_string()),
        logid: Some("20260101000000ABCDEF".into()),
        started_at: Some(created),
        finished_at: Some(created + 500),
        ..Task::pending(
            new_task_id(created),
            "default".into(),
            format!("75249661234567{:05}", i % 50),
            RunMode::Async,
            created,
        )
    }
}

fn median(mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..25)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Ledger::open_in(dir.path()).expect("ledger");
    let start = Instant::now();
    let tasks: Vec<Task> = (0..TASKS).map(task).collect();
    for t in &tasks {
        ledger.insert(t, "bench", Duration::ZERO).expect("insert");
    }
    let insert = start.elapsed();
    let mid = &tasks[TASKS / 2];
    let rows: Vec<(&str, Duration)> = vec![
        (
            "newest 50",
            median(|| assert_eq!(ledger.list(&TaskFilter { limit: 50, ..Default::default() }).unwrap().len(), 50)),
        ),
        (
            "next page of 50 (cursor in the middle)",
            median(|| {
                let f = TaskFilter { before: Some((mid.created_at, mid.id.clone())), limit: 50, ..Default::default() };
                assert_eq!(ledger.list(&f).unwrap().len(), 50);
            }),
        ),
        (
            "newest 50 failed",
            median(|| {
                let f = TaskFilter { statuses: vec![TaskStatus::Failed], limit: 50, ..Default::default() };
                assert_eq!(ledger.list(&f).unwrap().len(), 50);
            }),
        ),
        (
            "newest 50 of one workflow",
            median(|| {
                let f = TaskFilter { workflow_id: Some(mid.workflow_id.clone()), limit: 50, ..Default::default() };
                assert_eq!(ledger.list(&f).unwrap().len(), 50);
            }),
        ),
        (
            "name text filter (1% match)",
            median(|| {
                let f = TaskFilter { text: Some("nightly".into()), limit: 50, ..Default::default() };
                assert_eq!(ledger.list(&f).unwrap().len(), 50);
            }),
        ),
        ("id prefix lookup", median(|| assert_eq!(ledger.find(&mid.id[..10]).unwrap().id, mid.id))),
        (
            "a request slot from the shared budget (counted for the day)",
            median(|| {
                let day = coze_tui::tasks::budget::today();
                let slot =
                    ledger.reserve_request("bench", coze_tui::coze::RequestKind::Poll, &day, 1e6, Some(u64::MAX));
                assert!(matches!(slot, Ok(Admission::At(_))));
            }),
        ),
    ];
    println!("{TASKS} tasks inserted in {:.1} s (one transaction each).\n", insert.as_secs_f64());
    println!("| query | median |");
    println!("|---|---|");
    for (what, t) in rows {
        println!("| {what} | {:.2} ms |", t.as_secs_f64() * 1000.0);
    }
}
