//! Rendered frames at 80x24, 120x40 and too small, with CJK, emoji and long names; empty,
//! loading and error states; each pane focused. Review changes with `cargo insta review`
//! (or `INSTA_UPDATE=always cargo test --test snapshots` and read the diff).

mod common;

use std::sync::Arc;

use common::render;

use coze_tui::app::{App, Health, Keymap, Msg, Pane, ProfileInfo};
use coze_tui::coze::{Workflow, WorkflowInfo, Workspace};
use coze_tui::tasks::{Interrupt, RunMode, Task, TaskError, TaskStatus, TaskUpdate};
use serde_json::json;

fn profile() -> ProfileInfo {
    ProfileInfo {
        sign_in: None,
        name: "work".into(),
        base_url: "https://api.coze.cn".into(),
        region: "coze.cn".into(),
        profiles: vec!["work".into(), "global".into()],
        config_path: "/home/me/.config/coze-tui/config.toml".into(),
        log_path: "/home/me/.local/share/coze-tui/logs/coze-tui.log".into(),
    }
}

fn workspace(id: &str, name: &str, kind: &str) -> Workspace {
    Workspace { id: id.into(), name: name.into(), workspace_type: kind.into(), ..Default::default() }
}

fn workflow(id: &str, name: &str, published: bool) -> Workflow {
    Workflow { workflow_id: id.into(), workflow_name: name.into(), is_published: Some(published), ..Default::default() }
}

fn task(id: &str, wf: &str, status: TaskStatus, mode: RunMode, minute: i64) -> Task {
    let created = 1_795_600_000_000 + minute * 60_000;
    Task {
        id: id.into(),
        name: None,
        description: None,
        profile: "work".into(),
        workspace_id: None,
        workflow_id: "7524966123456700000".into(),
        workflow_name: Some(wf.into()),
        mode,
        requested_mode: mode,
        parameters: json!({"city": "杭州", "days": 2}).as_object().cloned().unwrap(),
        status,
        execute_id: Some("7431040978805850007".into()),
        output: (status == TaskStatus::Succeeded).then(|| json!({"output": "Sunny in 杭州 ☀️"}).to_string()),
        error: (status == TaskStatus::Failed)
            .then(|| TaskError::workflow(Some(720702002), "node 'Code' failed: ZeroDivisionError")),
        logid: Some("20261125150000ABCDEF0123456789".into()),
        debug_url: Some("https://www.coze.cn/work_flow?execute_id=7431040978805850007".into()),
        usage: None,
        interrupt: (status == TaskStatus::Interrupted).then(|| Interrupt {
            question: Some("Which city? 想查哪个城市的天气？".into()),
            event_id: "7431040978805850007/0".into(),
            interrupt_type: 2,
            node_title: "Ask".into(),
            answers: 0,
            required_parameters: None,
        }),
        last_message: Some("step 5/5 done".into()),
        event_count: 0,
        events_dropped: 0,
        notes: vec![],
        created_at: created,
        started_at: Some(created),
        updated_at: created + 1500,
        finished_at: Some(created + 1500),
        queued: false,
        node_outputs: None,
        waited_ms: 0,
        context: Default::default(),
        revision: 0,
    }
}

/// An app with CJK, emoji and long-name fixtures, an open workflow and a few tasks.
fn loaded_app() -> App {
    let mut app = App::new(profile(), Keymap::default());
    // Three hours after the first fixture task, in UTC.
    app.clock = coze_tui::text::Clock::fixed(1_795_600_000_000 + 3 * 3_600_000);
    app.health = Health::Ok { latency_ms: 42 };
    app.update(Msg::Workspaces(Ok(vec![
        workspace("1", "Demo workspace · 演示空间", "personal"),
        workspace("2", "增长团队 Growth", "team"),
        workspace("3", "🚀 Launch squad", "team"),
        workspace("4", "A workspace with a remarkably long name that keeps going well past any column width — 一个名字非常长的团队空间", "team"),
    ])));
    app.update(Msg::Workflows {
        workspace_id: "1".into(),
        result: Ok(vec![
            workflow("10", "needs_params", true),
            workflow("11", "翻译助手_translate", true),
            workflow("12", "draft_only", false),
            workflow("13", "customer_feedback_classifier_with_a_very_long_descriptive_name_v2", true),
            // Emoji with the presentation selector VS16, common in real names.
            workflow("14", "☀️ weather report 🖼️ poster", true),
        ]),
    });
    app.update(Msg::Key(key('2')));
    app.update(Msg::Key(ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Enter)));
    let info: WorkflowInfo = serde_json::from_value(json!({
        "workflow_detail": {"workflow_id": "10", "workflow_name": "needs_params", "description": "Weather forecast 天气预报"},
        "input": {"parameters": {
            "units": {"type": "string", "default_value": "metric"},
            "city": {"type": "string", "required": true, "description": "City name, e.g. 杭州"},
            "days": {"type": "integer", "required": true, "default_value": "3"}
        }}
    }))
    .unwrap();
    app.update(Msg::WorkflowInfo { workflow_id: "10".into(), result: Ok(info), kept: Default::default() });
    let tasks = [
        task("1m89kfwp3wkg", "fails", TaskStatus::Failed, RunMode::Sync, 4),
        task("1m89kfwmnpy3", "asks", TaskStatus::Interrupted, RunMode::Stream, 3),
        task("1m89kfvkqwwq", "翻译助手_translate", TaskStatus::Succeeded, RunMode::Async, 2),
        task("1m89kftdw294", "needs_params", TaskStatus::Unknown, RunMode::Stream, 1),
    ];
    app.update(Msg::TasksLoaded { tasks: tasks.iter().map(Into::into).collect(), revision: 0 });
    app
}

fn key(c: char) -> ratatui::crossterm::event::KeyEvent {
    ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Char(c))
}

#[test]
fn wide_layout_with_every_pane() {
    let mut app = loaded_app();
    app.update(Msg::Resize(120, 40));
    insta::assert_snapshot!("wide_120x40_editor", render(&app, 120, 40));
    app.update(Msg::Key(key('4')));
    app.update(Msg::Key(key('j')));
    let cmds =
        app.update(Msg::Key(ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Enter)));
    assert_eq!(cmds, vec![coze_tui::app::Command::LoadDetail("1m89kfwmnpy3".into())]);
    assert!(render(&app, 120, 40).contains("task 1m89kfwmnpy3 is loading…"));
    // The task in full, as the runtime loads it from the ledger.
    let full = task("1m89kfwmnpy3", "asks", TaskStatus::Interrupted, RunMode::Stream, 3);
    app.update(Msg::Detail { task_id: full.id.clone(), task: Some(full), events: vec![], history: vec![] });
    insta::assert_snapshot!("wide_120x40_interrupted_task", render(&app, 120, 40));
}

#[test]
fn compact_layout_one_pane_per_tab() {
    let mut app = loaded_app();
    app.update(Msg::Resize(80, 24));
    for (n, pane) in
        [('1', Pane::Workspaces), ('2', Pane::Workflows), ('3', Pane::Editor), ('4', Pane::Tasks), ('5', Pane::Detail)]
    {
        app.update(Msg::Key(key(n)));
        assert_eq!(app.focus, pane);
        insta::assert_snapshot!(format!("compact_80x24_{}", pane.title().to_lowercase()), render(&app, 80, 24));
    }
}

#[test]
fn too_small_and_states() {
    let mut app = App::new(profile(), Keymap::default());
    insta::assert_snapshot!("too_small_50x12", render(&app, 50, 12));
    app.workspaces.loading = true;
    insta::assert_snapshot!("loading_80x24", render(&app, 80, 24));
    app.update(Msg::Workspaces(
        Err("Coze error 4100: authentication is invalid (logid 2026) — check the token".into()),
    ));
    insta::assert_snapshot!("error_80x24", render(&app, 80, 24));
    app.first_run = Some(coze_tui::config::missing_token_message(
        std::path::Path::new("/home/me/.config/coze-tui/config.toml"),
        "default",
    ));
    insta::assert_snapshot!("first_run_80x24", render(&app, 80, 24));
}

#[test]
fn help_overlay_lists_the_live_keymap() {
    let mut app = loaded_app();
    app.update(Msg::Key(key('?')));
    insta::assert_snapshot!("help_120x40", render(&app, 120, 40));
}

#[test]
fn live_updates_do_not_move_the_selection() {
    let mut app = loaded_app();
    app.update(Msg::Key(key('4')));
    app.update(Msg::Key(key('j')));
    app.update(Msg::Key(key('j')));
    let selected = app.selected_task().unwrap().id.clone();
    let mut newer = task("1m89kfzzzzzz", "chatty", TaskStatus::Running, RunMode::Stream, 9);
    newer.finished_at = None;
    app.update(Msg::Task(TaskUpdate::Changed(Arc::new(newer))));
    assert_eq!(app.selected_task().unwrap().id, selected, "a new task above does not move the selection");
    assert_eq!(app.focus, Pane::Tasks, "nor the focus");
    assert_eq!(app.tasks.list.items[0].id, "1m89kfzzzzzz", "newest first");
}

#[test]
fn runs_in_flight_tick_once_a_second_with_one_indicator() {
    let mut app = loaded_app();
    app.update(Msg::Resize(120, 40));
    app.update(Msg::Key(key('4')));
    assert_eq!(app.tick_every(), None, "nothing runs: the clock stands still");
    let now = app.clock.now_ms();
    for i in 0..3 {
        let mut t = task(&format!("1m89kg00000{i}"), "slow", TaskStatus::Running, RunMode::Async, 9);
        (t.created_at, t.started_at, t.finished_at) = (now - 12_400, Some(now - 12_400), None);
        app.update(Msg::Task(TaskUpdate::Changed(Arc::new(t))));
    }
    app.update(Msg::RequestsToday(137));
    assert_eq!(app.tick_every(), Some(std::time::Duration::from_secs(1)));
    let before = render(&app, 120, 40);
    let rows: Vec<&str> = before.lines().filter(|l| l.contains("▶ running")).collect();
    assert_eq!(rows.len(), 3, "{before}");
    assert!(rows.iter().all(|r| r.contains(" 12s ")), "whole seconds: {rows:?}");
    assert!(before.contains("3 running") && before.contains("137 req today"), "{before}");
    app.update(Msg::Tick);
    let after = render(&app, 120, 40);
    let changed: Vec<(&str, &str)> = before.lines().zip(after.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(changed.len(), 1, "a tick changes the activity indicator alone: {changed:?}");
    assert!(changed[0].0.contains("3 running"));
}

/// The key map with `[keys]` overrides of one key each, and the problems found in them.
fn keymap_with(overrides: &[(&str, &str)]) -> (Keymap, Vec<String>) {
    let keys = overrides.iter().map(|(a, k)| (a.to_string(), vec![k.to_string()])).collect();
    Keymap::with_overrides(&keys)
}

#[test]
fn a_remapped_key_shows_in_the_footer_the_dialogs_and_the_help() {
    let (keymap, problems) = keymap_with(&[("run_sync", "x"), ("confirm", "ctrl-y")]);
    assert!(problems.is_empty(), "{problems:?}");
    let mut app = loaded_app();
    app.keymap = keymap;
    app.update(Msg::Key(key('3')));
    let screen = render(&app, 120, 40);
    let footer = screen.lines().last().unwrap();
    assert!(footer.contains("x sync") && !footer.contains("s sync"), "{footer}");
    assert!(screen.contains("x sync · a async"), "the editor's own hint: {screen}");
    app.update(Msg::Key(key('4')));
    app.update(Msg::Key(key('d')));
    assert!(render(&app, 120, 40).contains("Ctrl-y deletes · Esc keeps it"), "{}", render(&app, 120, 40));
    app.update(Msg::Key(ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Esc)));
    app.update(Msg::Key(key('?')));
    let help = render(&app, 120, 80);
    assert!(help.lines().any(|l| l.contains(" x ") && l.contains("run (sync)")), "{help}");
}

#[test]
fn config_problems_are_all_listed_in_the_help() {
    let (keymap, problems) = keymap_with(&[("quit", "a"), ("fly", "z")]);
    let mut app = App::new(profile(), keymap);
    app.warnings = problems.clone();
    app.init();
    let toast = app.toast.as_ref().unwrap().text.clone();
    assert_eq!(toast, format!("{} problems in the config (? lists them)", problems.len()));
    app.update(Msg::Key(key('?')));
    let help = render(&app, 120, 80);
    for p in &problems {
        assert!(help.contains(&p[..40.min(p.len())]), "{p} missing from {help}");
    }
}

#[test]
fn a_message_cut_in_the_status_bar_is_whole_in_the_log() {
    let mut app = loaded_app();
    let long = "this workflow is a draft: publish it in Coze before running it through the API (4200)";
    app.update(Msg::Toast("copied 12 bytes".into()));
    app.update(Msg::Toast(long.into()));
    let screen = render(&app, 80, 24);
    let bar = screen.lines().last().unwrap();
    assert!(bar.contains("(! shows it whole)") && !bar.contains("(4200)"), "{bar}");
    app.update(Msg::Key(key('!')));
    let log = render(&app, 120, 40);
    assert!(log.contains(long), "{log}");
    let (newest, older) = (log.find("(4200)").unwrap(), log.find("copied 12 bytes").unwrap());
    assert!(newest < older, "newest first: {log}");
    app.update(Msg::Key(ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Esc)));
    assert!(app.overlay.is_none());
    insta::assert_snapshot!("message_log_80x24", {
        app.update(Msg::Key(key('!')));
        render(&app, 80, 24)
    });
}

#[test]
fn a_debug_url_is_shown_on_one_line() {
    let mut app = loaded_app();
    app.update(Msg::Key(key('4')));
    let cmds = app.update(Msg::Key(key('o')));
    let url = "https://www.coze.cn/work_flow?execute_id=7431040978805850007";
    assert_eq!(cmds, vec![coze_tui::app::Command::Copy(url.into())]);
    let screen = render(&app, 80, 24);
    assert!(screen.lines().any(|l| l.contains(&format!(" {url} "))), "{screen}");
}

#[test]
fn a_draft_says_so_in_the_editor_before_any_run() {
    let mut app = loaded_app();
    app.update(Msg::Key(key('2')));
    app.update(Msg::Key(key('j')));
    app.update(Msg::Key(key('j')));
    app.update(Msg::Key(ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Enter)));
    assert_eq!(app.editor.workflow.as_ref().unwrap().workflow_name, "draft_only");
    app.update(Msg::WorkflowInfo {
        workflow_id: "12".into(),
        result: Ok(serde_json::from_value(json!({"workflow_detail": {"workflow_id": "12"}})).unwrap()),
        kept: Default::default(),
    });
    let screen = render(&app, 120, 40);
    assert!(screen.contains("a draft: publish it in Coze") && !screen.contains("✔ valid"), "{screen}");
}

#[test]
fn the_output_viewer_shows_lines_and_finds_text() {
    use coze_tui::app::Command;
    use ratatui::crossterm::event::{KeyCode, KeyEvent};
    let mut app = loaded_app();
    let mut done = task("1m89kfvkqwwq", "翻译助手_translate", TaskStatus::Succeeded, RunMode::Async, 2);
    let text: String = (1..=60).map(|i| format!("paragraph {i} of the report\n")).collect();
    done.output = Some(json!({"output": text}).to_string());
    app.update(Msg::Key(key('4')));
    app.update(Msg::Key(key('j')));
    app.update(Msg::Key(key('j')));
    app.update(Msg::Key(KeyEvent::from(KeyCode::Enter)));
    app.update(Msg::Detail { task_id: done.id.clone(), task: Some(done), events: vec![], history: vec![] });
    // Enter in Detail: the output full screen, one line per line of text.
    app.update(Msg::Key(KeyEvent::from(KeyCode::Enter)));
    let screen = render(&app, 80, 24);
    assert!(screen.contains("  paragraph 1 of the report") && screen.contains("line 1/61"), "{screen}");
    for c in "/paragraph 42".chars() {
        app.update(Msg::Key(key(c)));
    }
    app.update(Msg::Key(KeyEvent::from(KeyCode::Enter)));
    let screen = render(&app, 80, 24);
    assert!(screen.contains("/paragraph 42 1 of 1") && screen.contains("paragraph 42 of"), "{screen}");
    insta::assert_snapshot!("viewer_80x24", screen);
    // Copy and save give the output as it came, not the lines laid out to read.
    assert!(matches!(
        app.update(Msg::Key(key('y'))).as_slice(),
        [Command::Copy(t)] if t.contains("\"output\": \"paragraph 1 of the report\\nparagraph 2")
    ));
    assert!(matches!(
        app.update(Msg::Key(key('s'))).as_slice(),
        [Command::Save { name, .. }] if name == "coze-tui-1m89kfvkqwwq.txt"
    ));
    app.update(Msg::Key(KeyEvent::from(KeyCode::Esc)));
    assert!(app.overlay.is_none(), "Esc closes it");
}

fn enter() -> Msg {
    Msg::Key(ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Enter))
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(Msg::Key(key(c)));
    }
}

#[test]
fn the_palette_ranks_workflows_tasks_and_actions_by_fuzzy_name() {
    let mut app = loaded_app();
    app.update(Msg::Key(key(':')));
    app.update(Msg::Catalogue(Ok(vec![coze_tui::tasks::KnownWorkflow {
        workflow_id: "20".into(),
        name: "weekly_growth_report".into(),
        workspace_id: "2".into(),
    }])));
    insta::assert_snapshot!("palette_80x24", render(&app, 80, 24));
    typed(&mut app, "rep");
    let screen = render(&app, 200, 60);
    assert!(screen.contains("weekly_growth_report  增长团队 Growth"), "another workspace's, named: {screen}");
    insta::assert_snapshot!("palette_200x60", screen);
}

#[test]
fn help_fits_80x24_scrolls_and_searches() {
    let mut app = loaded_app();
    app.update(Msg::Key(key('?')));
    let first = render(&app, 80, 24);
    assert!(first.contains("1-20 of"), "{first}");
    app.update(Msg::Key(key('G')));
    let end = render(&app, 80, 24);
    assert!(end.contains("quit, even while typing"), "the last rows are reachable: {end}");
    typed(&mut app, "/fold");
    app.update(enter());
    let found = render(&app, 80, 24);
    assert!(found.contains("fold or unfold") && !found.contains("this help"), "{found}");
    insta::assert_snapshot!("help_search_80x24", found);
}

#[test]
fn badges_zoom_and_the_folded_viewer_at_200x60() {
    let mut app = loaded_app();
    // A failure arriving while something else is shown is counted until opened.
    let failed = task("1m89kfzzzzzz", "fails", TaskStatus::Failed, RunMode::Sync, 5);
    app.update(Msg::Task(TaskUpdate::Changed(Arc::new(Task { status: TaskStatus::Running, ..failed.clone() }))));
    app.update(Msg::Task(TaskUpdate::Changed(Arc::new(Task { revision: 1, ..failed }))));
    app.update(Msg::Resize(80, 24));
    let compact = render(&app, 80, 24);
    assert!(compact.contains("4 Tasks ?1 ✘1"), "{compact}");
    app.update(Msg::Resize(200, 60));
    insta::assert_snapshot!("badges_200x60", render(&app, 200, 60));
    // z: the focused pane alone.
    app.update(Msg::Key(key('z')));
    let zoomed = render(&app, 200, 60);
    assert!(zoomed.contains("3 Parameters · needs_params") && !zoomed.contains("4 Tasks"), "{zoomed}");
    app.update(Msg::Key(key('z')));
    // Opening the failure clears its badge.
    app.update(Msg::Key(key('4')));
    app.update(Msg::Key(key('g')));
    app.update(enter());
    assert!(!render(&app, 200, 60).contains("✘1"));
    // A nested output, one object folded.
    let mut done = task("1m89kfvkqwwq", "翻译助手_translate", TaskStatus::Succeeded, RunMode::Async, 2);
    let rows: Vec<_> = (0..30).map(|i| json!({"day": i, "sky": "晴", "temp": 20 + i % 7})).collect();
    done.output = Some(json!({"city": "杭州", "forecast": rows}).to_string());
    app.update(Msg::Detail { task_id: done.id.clone(), task: Some(done.clone()), events: vec![], history: vec![] });
    app.detail.subject = coze_tui::app::Subject::Task(done.id.clone());
    app.update(Msg::Detail { task_id: done.id.clone(), task: Some(done), events: vec![], history: vec![] });
    app.update(Msg::Key(key('5')));
    app.update(enter());
    app.update(Msg::Key(key('j')));
    app.update(Msg::Key(key('j')));
    app.update(Msg::Key(key('j')));
    app.update(Msg::Key(key(' ')));
    let viewer = render(&app, 200, 60);
    assert!(viewer.contains("… 4 lines folded"), "{viewer}");
    insta::assert_snapshot!("viewer_folded_200x60", viewer);
    app.update(Msg::Key(ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Esc)));
    app.update(Msg::Key(key('!')));
    insta::assert_snapshot!("message_log_200x60", render(&app, 200, 60));
}

#[test]
fn two_tasks_compared_in_detail() {
    let mut app = loaded_app();
    let mut a = task("1m89kfvkqwwq", "翻译助手_translate", TaskStatus::Succeeded, RunMode::Sync, 2);
    let mut b = task("1m89kfzzzzzz", "翻译助手_translate", TaskStatus::Succeeded, RunMode::Stream, 9);
    a.output = Some(json!({"output": "第一行\nsecond line\nthird", "score": 0.8}).to_string());
    b.output = Some(json!({"output": "第一行\nsecond LINE\nthird", "score": 0.9, "extra": [1]}).to_string());
    b.parameters = json!({"city": "上海", "days": 2}).as_object().cloned().unwrap();
    app.update(Msg::Diff(Ok(Box::new(coze_tui::suite::check::Comparison::of(&a, &b)))));
    let wide = render(&app, 120, 40);
    assert!(wide.contains("output: 3 differences") && wide.contains("parameters: 1 difference"), "{wide}");
    insta::assert_snapshot!("diff_120x40", wide);
    app.update(Msg::Resize(80, 24));
    insta::assert_snapshot!("diff_80x24", render(&app, 80, 24));
}

#[test]
fn the_suites_view_and_its_verdict_matrix() {
    use coze_tui::app::suites::{CaseRow, SuiteFile, SuiteRunView};
    use coze_tui::suite::check::CaseFailure;
    let mut app = loaded_app();
    app.update(Msg::Key(key('T')));
    app.update(Msg::SuiteFiles(Ok(vec![
        SuiteFile {
            path: "coze-tests/weather.toml".into(),
            last: Some("9 passed, 1 failed · 2026-11-25 10:00:00".into()),
        },
        SuiteFile { path: "coze-tests/翻译助手_translate.toml".into(), last: None },
    ])));
    insta::assert_snapshot!("suites_files_80x24", render(&app, 80, 24));
    let row = |name: &str, id: &str, previous: Option<bool>| CaseRow {
        name: name.into(),
        task_id: id.into(),
        previous,
        verdict: None,
        failures: vec![],
        status: None,
        duration_ms: None,
    };
    app.update(Msg::SuiteStarted(SuiteRunView {
        name: "weather".into(),
        path: "coze-tests/weather.toml".into(),
        run_id: "1m89kg000000".into(),
        cases: vec![
            row("hangzhou, 3 days", "t1", Some(true)),
            row("上海 tomorrow", "t2", Some(true)),
            row("asks for a city", "t3", Some(false)),
            row("a very long case name that goes on and on past the column", "t4", None),
        ],
        selected: 0,
        finished: false,
    }));
    let judged = |id: &str, passed: bool, failures: Vec<CaseFailure>| Msg::SuiteCase {
        run_id: "1m89kg000000".into(),
        task_id: id.into(),
        passed,
        status: Some(if passed { TaskStatus::Succeeded } else { TaskStatus::Failed }),
        failures,
        duration_ms: Some(1234),
    };
    app.update(judged("t1", true, vec![]));
    app.update(judged(
        "t2",
        false,
        vec![CaseFailure {
            kind: "output".into(),
            path: Some("/forecast/0/temp".into()),
            expected: json!(21),
            actual: json!(19),
            message: "at /forecast/0/temp: expected 21, got 19".into(),
        }],
    ));
    app.update(judged("t3", true, vec![]));
    app.update(Msg::Key(key('j')));
    let wide = render(&app, 120, 40);
    assert!(wide.contains("✔ 2 ✘ 1") && wide.contains("newly failing") && wide.contains("fixed"), "{wide}");
    insta::assert_snapshot!("suites_matrix_120x40", wide);
    insta::assert_snapshot!("suites_matrix_80x24", render(&app, 80, 24));
}

#[test]
fn an_input_node_form_and_a_task_with_files_and_a_version() {
    let mut app = loaded_app();
    let mut t = task("1m89kg111111", "form", TaskStatus::Interrupted, RunMode::Sync, 10);
    t.interrupt = Some(Interrupt {
        question: Some("Fill in the forecast form 请填写表单".into()),
        event_id: "7431040978805850099/0".into(),
        interrupt_type: 5,
        node_title: "Input".into(),
        answers: 1,
        required_parameters: serde_json::from_value(json!({
            "city": {"type": "string", "required": true},
            "days": {"type": "integer", "required": true},
            "note": {"type": "string"}
        }))
        .ok(),
    });
    t.context = coze_tui::tasks::RunContext {
        version: Some("v0.0.2".into()),
        bot_id: Some("7400000000000000042".into()),
        files: vec![coze_tui::tasks::AttachedFile {
            name: "猫 cat.png".into(),
            file_id: "7431040978805850002".into(),
            input: "photo".into(),
        }],
        ..Default::default()
    };
    app.update(Msg::Task(TaskUpdate::Changed(Arc::new(t.clone()))));
    app.update(Msg::Key(key('4')));
    app.update(Msg::Key(key('g')));
    app.update(Msg::Key(ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Enter)));
    app.update(Msg::Detail { task_id: t.id.clone(), task: Some(t), events: vec![], history: vec![] });
    app.update(Msg::Resize(200, 50));
    let detail = render(&app, 200, 50);
    assert!(detail.contains("fields     city (string, required), days (integer, required), note (string)"), "{detail}");
    assert!(detail.contains("file       photo ← 猫 cat.png"), "{detail}");
    insta::assert_snapshot!("form_task_detail_200x50", detail);
    app.update(Msg::Resize(120, 40));
    app.update(Msg::Key(key('a')));
    let form = render(&app, 120, 40);
    assert!(form.contains("input form") && form.contains("\"note\": \"\""), "{form}");
    insta::assert_snapshot!("form_120x40", form);
    app.update(Msg::Resize(80, 24));
    insta::assert_snapshot!("form_80x24", render(&app, 80, 24));
}

#[test]
fn the_version_list_says_what_each_changes() {
    let mut app = loaded_app();
    app.update(Msg::Key(key('3')));
    app.update(Msg::Key(key('V')));
    assert!(render(&app, 120, 40).contains("listing the published versions…"));
    let versions: Vec<coze_tui::coze::WorkflowVersion> = serde_json::from_value(json!([
        {"workflow_id": "10", "version": "v0.0.3", "description": "天气 with units", "created_at": "1795600000",
         "creator": {"id": "1", "name": "zhang"},
         "input": {"parameters": {"units": {"type": "string"}, "city": {"type": "string", "required": true}, "days": {"type": "integer", "required": true}}}},
        {"workflow_id": "10", "version": "v0.0.2", "description": "first public", "created_at": "1795500000",
         "creator": {"id": "1", "name": "zhang"},
         "input": {"parameters": {"city": {"type": "string", "required": true}, "days": {"type": "string"}}}},
        {"workflow_id": "10", "version": "v0.0.1", "description": "", "created_at": "1795400000",
         "creator": {"id": "2", "name": "li"}}
    ]))
    .unwrap();
    app.update(Msg::Versions { workflow_id: "10".into(), result: Ok(versions) });
    app.update(Msg::Key(key('j')));
    app.update(Msg::Key(key('j')));
    let wide = render(&app, 120, 40);
    assert!(wide.contains("inputs against the latest: days integer → string, −units"), "{wide}");
    assert!(wide.contains("same inputs as the latest") && wide.contains("inputs not listed"), "{wide}");
    insta::assert_snapshot!("versions_120x40", wide);
    app.update(Msg::Resize(80, 24));
    insta::assert_snapshot!("versions_80x24", render(&app, 80, 24));
}

#[test]
fn the_chat_view_with_a_reply_streaming_in() {
    use coze_tui::tasks::{ConversationSummary, RunContext, TaskEvent};
    let mut app = loaded_app();
    let info: WorkflowInfo = serde_json::from_value(json!({
        "workflow_detail": {"workflow_id": "10", "workflow_name": "needs_params", "workflow_mode": "chatflow"},
        "input": {"parameters": {"USER_INPUT": {"type": "string"}, "CONVERSATION_NAME": {"type": "string"}}}
    }))
    .unwrap();
    app.update(Msg::WorkflowInfo { workflow_id: "10".into(), result: Ok(info), kept: Default::default() });
    app.update(Msg::Key(key('3')));
    app.update(Msg::Key(key('s')));
    let no_bot = render(&app, 120, 40);
    assert!(no_bot.contains("a new conversation") && no_bot.contains("B in the editor sets it"), "{no_bot}");
    app.editor.context.bot_id = Some("7400000000000000042".into());
    app.update(Msg::Conversations {
        workflow_id: "10".into(),
        result: Ok(vec![
            ConversationSummary {
                id: "c2".into(),
                turns: 3,
                first_message: "明天杭州天气？".into(),
                last_at: 1_795_600_000_000 + 3_000_000,
            },
            ConversationSummary {
                id: "c1".into(),
                turns: 1,
                first_message: "a very long first message that goes past the list".into(),
                last_at: 1_795_600_000_000,
            },
        ]),
    });
    let turn = |id: &str, message: &str, status: TaskStatus, reply: Option<&str>| Task {
        mode: RunMode::Chat,
        status,
        output: reply.map(str::to_string),
        context: RunContext { conversation_id: Some("c2".into()), message: Some(message.into()), ..Default::default() },
        workflow_id: "10".into(),
        ..task(id, "needs_params", status, RunMode::Chat, 20)
    };
    app.update(Msg::Key(ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Tab)));
    app.update(Msg::Key(ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Down)));
    app.update(Msg::Key(ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Enter)));
    app.update(Msg::ConversationTurns {
        conversation_id: "c2".into(),
        result: Ok(vec![
            turn("t1", "明天杭州天气？", TaskStatus::Succeeded, Some("明天杭州晴，18–25℃。A long answer that wraps around the transcript's width so the rows are counted the way the terminal shows them.")),
            turn("t2", "后天呢？", TaskStatus::Succeeded, Some("后天多云。")),
        ]),
    });
    // The third turn streams in.
    let live = turn("t3", "and the weekend?", TaskStatus::Running, None);
    app.update(Msg::Submitted(live.clone()));
    for (seq, piece) in ["Saturday: sun; ", "Sunday: rain"].into_iter().enumerate() {
        let event = TaskEvent {
            seq: seq as u64,
            node_title: "Answer".into(),
            node_seq_id: None,
            node_is_finish: false,
            content: piece.into(),
            at: 0,
        };
        app.update(Msg::Task(TaskUpdate::Event { task_id: "t3".into(), event: Arc::new(event) }));
    }
    let wide = render(&app, 120, 40);
    assert!(wide.contains("bot › Saturday: sun; Sunday: rain") && wide.contains("3 turns"), "{wide}");
    insta::assert_snapshot!("chat_120x40", wide);
    app.update(Msg::Resize(80, 24));
    insta::assert_snapshot!("chat_80x24", render(&app, 80, 24));
}

#[test]
fn the_sign_in_code_screen_fits_80x24() {
    use coze_tui::app::LoginScreen;
    let mut app = App::new(profile(), Keymap::default());
    app.clock = coze_tui::text::Clock::fixed(1_795_600_000_000);
    app.first_run = Some("No token for profile \"work\".".into());
    insta::assert_snapshot!("first_run_login_hint_80x24", render(&app, 80, 24));
    let url = "https://www.coze.cn/open/oauth/device?user_code=WDJB-MJHT".to_string();
    app.login = Some(LoginScreen::Code {
        user_code: "WDJB-MJHT".into(),
        qr: coze_tui::auth::qr_lines(&url).unwrap(),
        url,
        until_ms: 1_795_600_000_000 + 299_000,
    });
    let screen = render(&app, 80, 24);
    assert!(screen.contains("WDJB-MJHT") && screen.contains("4 min 59 s left"), "{screen}");
    insta::assert_snapshot!("sign_in_code_80x24", screen);
}

#[test]
fn an_ended_sign_in_is_one_standing_notice() {
    let mut app = loaded_app();
    app.profile.sign_in = Some(coze_tui::app::SignIn::Code { until: None });
    app.health = Health::AuthFailed("the sign-in has ended".into());
    assert!(render(&app, 120, 40).contains("● sign-in ended: run coze-tui login"));
    app.profile.sign_in = None;
    assert!(render(&app, 120, 40).contains("● auth refused"));
}

#[test]
fn a_coze_studio_in_the_place_of_workspaces_with_its_add_prompt() {
    let mut app = App::new(profile(), Keymap::default());
    app.clock = coze_tui::text::Clock::fixed(1_795_600_000_000);
    app.health = Health::Ok { latency_ms: 9 };
    app.update(Msg::Resize(120, 40));
    let studio = Workspace {
        id: coze_tui::catalogue::STUDIO_SPACE.into(),
        name: "Coze Studio at 10.0.0.7".into(),
        workspace_type: "studio".into(),
        ..Default::default()
    };
    let cmds = app.update(Msg::Workspaces(Ok(vec![studio])));
    assert_eq!(cmds, vec![coze_tui::app::Command::LoadWorkflows("studio".into())]);
    app.update(Msg::Workflows { workspace_id: "studio".into(), result: Ok(vec![]) });
    let empty = render(&app, 120, 40);
    assert!(empty.contains("+ adds one by id"), "{empty}");
    app.update(Msg::Workflows {
        workspace_id: "studio".into(),
        result: Ok(vec![workflow("7512345678901234567", "weather report 天气", true)]),
    });
    app.update(Msg::Key(key('2')));
    app.update(Msg::Key(ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Enter)));
    // What Coze Studio says of a workflow: a chatflow or not, no inputs.
    let mut info: WorkflowInfo = serde_json::from_value(json!({
        "workflow_detail": {"workflow_id": "7512345678901234567", "workflow_mode": "workflow"}
    }))
    .unwrap();
    info.io_hidden = true;
    app.update(Msg::WorkflowInfo {
        workflow_id: "7512345678901234567".into(),
        result: Ok(info),
        kept: Default::default(),
    });
    let screen = render(&app, 120, 40);
    assert!(screen.contains("Server") && screen.contains("Coze Studio does not show them"), "{screen}");
    assert!(screen.contains("type them; a run's come back next time"), "no run yet: {screen}");
    app.update(Msg::Key(key('2')));
    app.update(Msg::Key(key('+')));
    insta::assert_snapshot!("studio_add_workflow_120x40", render(&app, 120, 40));
}
