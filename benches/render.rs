//! Cost of drawing one dashboard frame with 10,000 tasks and 2,000 workflows (it should depend
//! on the visible rows, not on those counts), of applying one live task update, and of the
//! output viewer on a 10 MB output (opening it, a frame, a search).
//!
//!     cargo bench --bench render

use std::hint::black_box;
use std::sync::Arc;

use coze_tui::app::{App, Keymap, Msg, ProfileInfo};
use coze_tui::coze::{Workflow, Workspace};
use coze_tui::tasks::{RunMode, Task, TaskStatus, TaskUpdate};
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

fn task(i: usize) -> Task {
    let created = 1_795_600_000_000 + i as i64 * 1000;
    Task {
        name: i.is_multiple_of(7).then(|| format!("nightly 报告 {i}")),
        workflow_name: Some(format!("workflow_{}_翻译", i % 2000)),
        status: if i.is_multiple_of(10) { TaskStatus::Running } else { TaskStatus::Succeeded },
        execute_id: Some(format!("7431040978805{i:06}")),
        output: Some("{\"output\":\"done\"}".into()),
        last_message: Some("step 5/5 done 🦊".into()),
        started_at: Some(created),
        finished_at: (!i.is_multiple_of(10)).then_some(created + 2000),
        ..Task::pending(
            format!("1m89k{i:07}"),
            "bench".into(),
            format!("75249661234567{:05}", i % 2000),
            RunMode::Async,
            created,
        )
    }
}

fn app(tasks: usize, workflows: usize) -> App {
    let mut app = App::new(
        ProfileInfo { name: "bench".into(), region: "coze.cn".into(), ..Default::default() },
        Keymap::default(),
    );
    app.update(Msg::Workspaces(Ok(vec![Workspace {
        id: "1".into(), name: "Demo 演示".into(), ..Default::default()
    }])));
    let wfs = (0..workflows)
        .map(|i| Workflow {
            workflow_id: format!("{i}"),
            workflow_name: format!("workflow_{i}_翻译"),
            is_published: Some(true),
            ..Default::default()
        })
        .collect();
    app.update(Msg::Workflows { workspace_id: "1".into(), result: Ok(wfs) });
    app.update(Msg::TasksLoaded { tasks: (0..tasks).rev().map(|i| (&task(i)).into()).collect(), revision: 0 });
    app
}

fn bench(c: &mut Criterion) {
    for (w, h) in [(120u16, 40u16), (80, 24)] {
        let mut small = app(10, 10);
        let mut big = app(10_000, 2_000);
        small.update(Msg::Resize(w, h));
        big.update(Msg::Resize(w, h));
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        c.bench_function(&format!("draw {w}x{h}, 10 tasks, 10 workflows"), |b| {
            b.iter(|| {
                term.draw(|f| drop(black_box(coze_tui::ui::draw(f, black_box(&small))))).unwrap();
            })
        });
        c.bench_function(&format!("draw {w}x{h}, 10000 tasks, 2000 workflows"), |b| {
            b.iter(|| {
                term.draw(|f| drop(black_box(coze_tui::ui::draw(f, black_box(&big))))).unwrap();
            })
        });
    }
    let mut big = app(10_000, 2_000);
    let mut i = 0usize;
    c.bench_function("apply one task update, 10000 tasks", |b| {
        b.iter(|| {
            i += 1;
            let mut t = task(i % 10_000);
            t.updated_at += i as i64;
            big.update(Msg::Task(TaskUpdate::Changed(Arc::new(t))));
        })
    });
}

/// A dashboard showing a task whose output is `{"output": "<10 MB of text lines>"}`.
fn app_with_big_output() -> (App, usize) {
    let mut app = app(0, 10);
    app.update(Msg::Resize(120, 40));
    let text: String =
        (0..170_000).map(|i| format!("{i:>7} the quick brown fox jumps over the lazy dog 狐狸\n")).collect();
    let mut t = task(3);
    t.output = Some(serde_json::json!({ "output": text }).to_string());
    let size = t.output.as_ref().map_or(0, String::len);
    app.update(Msg::TasksLoaded { tasks: vec![(&t).into()], revision: 0 });
    app.update(Msg::Key(KeyEvent::from(KeyCode::Char('4'))));
    app.update(Msg::Key(KeyEvent::from(KeyCode::Enter)));
    app.update(Msg::Detail { task_id: t.id.clone(), task: Some(t), events: vec![], history: vec![] });
    assert!(app.detail_task().is_some(), "the task is shown in full");
    (app, size)
}

fn viewer(c: &mut Criterion) {
    let (mut app, size) = app_with_big_output();
    let mut group = c.benchmark_group(format!("viewer, {:.1} MB output", size as f64 / 1e6));
    group.sample_size(10);
    group.bench_function("open (decode, lay out lines)", |b| {
        b.iter(|| {
            app.update(Msg::Key(KeyEvent::from(KeyCode::Enter)));
            app.update(Msg::Key(KeyEvent::from(KeyCode::Esc)));
        })
    });
    app.update(Msg::Key(KeyEvent::from(KeyCode::Enter)));
    assert!(matches!(app.overlay, Some(coze_tui::app::Overlay::Viewer(_))), "the viewer is open");
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    group.bench_function("frame at 120x40", |b| {
        b.iter(|| {
            term.draw(|f| drop(black_box(coze_tui::ui::draw(f, black_box(&app))))).unwrap();
        })
    });
    group.bench_function("fold and unfold the whole output (Space Space at the top)", |b| {
        app.update(Msg::Key(KeyEvent::from(KeyCode::Char('g'))));
        b.iter(|| {
            app.update(Msg::Key(KeyEvent::from(KeyCode::Char(' '))));
            app.update(Msg::Key(KeyEvent::from(KeyCode::Char(' '))));
        })
    });
    group.bench_function("to the end and back (G g)", |b| {
        b.iter(|| {
            app.update(Msg::Key(KeyEvent::from(KeyCode::Char('G'))));
            app.update(Msg::Key(KeyEvent::from(KeyCode::Char('g'))));
        })
    });
    group.bench_function("search every line (/ 169999 Enter)", |b| {
        b.iter(|| {
            for c in "/169999".chars() {
                app.update(Msg::Key(KeyEvent::from(KeyCode::Char(c))));
            }
            app.update(Msg::Key(KeyEvent::from(KeyCode::Enter)));
        })
    });
    group.finish();
}

criterion_group!(benches, bench, viewer);
criterion_main!(benches);
