//! The dashboard driven by keys against the simulator: the real app, the real runner and
//! ledger, rendered to a test backend and read back as text.

mod common;

use std::time::Duration;

use common::*;
use coze_tui::app::{Command, Msg, Pane};
use coze_tui::config::{Env, Overrides};
use coze_tui::session::{Session, SessionOptions};
use coze_tui::sim::{SimOptions, Simulator};
use coze_tui::tasks::TaskStatus;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const WAIT: Duration = Duration::from_secs(20);

struct Harness {
    session: Session,
    dir: tempfile::TempDir,
}

impl Harness {
    async fn new(sim: &Simulator) -> Self {
        Self::open_in(sim, tempfile::tempdir().unwrap()).await
    }

    /// A dashboard on `dir`'s config and data (a restart, when an earlier one used it).
    async fn open_in(sim: &Simulator, dir: tempfile::TempDir) -> Self {
        Self::open_with(sim, dir, "").await
    }

    /// [`Harness::open_in`] with more of the config file.
    async fn open_with(sim: &Simulator, dir: tempfile::TempDir, more_config: &str) -> Self {
        let env = Env::from_pairs([("COZE_API_TOKEN", TOKEN)]);
        let overrides = Overrides {
            config_path: Some(dir.path().join("config.toml")),
            data_dir: Some(dir.path().join("data")),
            base_url: Some(sim.url()),
            ..Default::default()
        };
        let poll = "initial_interval_ms = 100\nbackoff = 1.5\nmax_interval_ms = 300\nqps = 100.0\n";
        std::fs::write(
            dir.path().join("config.toml"),
            format!("{more_config}[profiles.default.poll]\n{poll}[profiles.other]\n[profiles.other.poll]\n{poll}"),
        )
        .unwrap();
        let options = SessionOptions { overrides, env, demo: None, log_to_file: false };
        let mut session = Session::open(options).await.unwrap();
        session.handle(Msg::Resize(120, 40)).await;
        Self { session, dir }
    }

    /// A dashboard on `dir`'s config with no token in the environment (signed in, or not).
    async fn without_token(sim: &Simulator, dir: tempfile::TempDir, size: (u16, u16)) -> Self {
        let overrides = Overrides {
            config_path: Some(dir.path().join("config.toml")),
            data_dir: Some(dir.path().join("data")),
            base_url: Some(sim.url()),
            ..Default::default()
        };
        let env = Env::from_pairs(std::iter::empty());
        let mut session =
            Session::open(SessionOptions { overrides, env, demo: None, log_to_file: false }).await.unwrap();
        session.handle(Msg::Resize(size.0, size.1)).await;
        Self { session, dir }
    }

    async fn key(&mut self, code: KeyCode) -> Vec<Command> {
        let mods = match code {
            KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
            _ => KeyModifiers::NONE,
        };
        self.session.handle(Msg::Key(KeyEvent::new(code, mods))).await
    }

    async fn ctrl(&mut self, c: char) -> Vec<Command> {
        self.session.handle(Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))).await
    }

    /// Empties the editor with editing keys: to the end, then Backspace over everything.
    async fn clear_editor(&mut self) {
        self.session.handle(Msg::Key(KeyEvent::new(KeyCode::Char('>'), KeyModifiers::ALT))).await;
        self.key(KeyCode::End).await;
        for _ in 0..self.session.app.editor.content().chars().count() + 5 {
            self.key(KeyCode::Backspace).await;
        }
        assert_eq!(self.session.app.editor.content(), "");
    }

    async fn typed(&mut self, text: &str) {
        for c in text.chars() {
            let code = if c == '\n' { KeyCode::Enter } else { KeyCode::Char(c) };
            self.key(code).await;
        }
    }

    async fn until(&mut self, what: &str, done: impl Fn(&coze_tui::app::App) -> bool) {
        assert!(self.session.until(WAIT, done).await, "timed out waiting for {what}\n{}", self.screen(120, 40));
    }

    fn screen(&self, w: u16, h: u16) -> String {
        render(&self.session.app, w, h)
    }

    /// Selects the workflow with this name in the Workflows pane and opens it.
    async fn open_workflow(&mut self, name: &str) {
        self.until("workflows", |a| !a.workflows.items.is_empty()).await;
        self.key(KeyCode::Char('2')).await;
        self.key(KeyCode::Char('g')).await;
        for _ in 0..self.session.app.workflows.visible.len() {
            if self.session.app.workflows.current().is_some_and(|w| w.workflow_name == name) {
                break;
            }
            self.key(KeyCode::Char('j')).await;
        }
        assert_eq!(self.session.app.workflows.current().unwrap().workflow_name, name);
        self.key(KeyCode::Enter).await;
        self.until("the schema", |a| !a.editor.loading && a.editor.info.is_some()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_validate_fix_and_stream_a_run() {
    let sim = sim_with(SimOptions { chatty_messages: 30, ..opts() }).await;
    let mut h = Harness::new(&sim).await;
    h.until("workspaces", |a| !a.workspaces.items.is_empty()).await;
    assert_eq!(h.session.app.focus, Pane::Workspaces, "loading does not move the focus");
    h.key(KeyCode::Enter).await;
    assert_eq!(h.session.app.focus, Pane::Workflows);
    h.open_workflow("needs_params").await;

    // The template: required inputs first, defaults filled in.
    let text = h.session.app.editor.content();
    assert!(text.find("\"city\"").unwrap() < text.find("\"units\"").unwrap(), "{text}");
    assert!(text.contains("\"days\": 3") && text.contains("\"lang\": \"en\""), "{text}");
    assert!(h.screen(120, 40).contains("city: string required"), "the detail pane shows the schema");

    // Typing goes to the editor, never to global keys: `q` does not quit while typing.
    h.key(KeyCode::Char('i')).await;
    assert_eq!(h.key(KeyCode::Char('q')).await, vec![], "typed, not quit");
    // Break the JSON: the run is blocked with the line and column.
    h.clear_editor().await;
    h.typed("{\n  \"city\": \"杭州\",\n  \"days\": 2,\n}").await;
    h.key(KeyCode::Esc).await;
    let blocker = h.session.app.editor.validation.blocker().expect("invalid JSON blocks").message.clone();
    assert!(blocker.contains("4:1"), "{blocker}");
    assert!(h.screen(120, 40).contains("invalid JSON at 4:1"));
    let cmds = h.key(KeyCode::Char('w')).await;
    assert!(cmds.is_empty());
    assert!(h.session.app.toast.as_ref().unwrap().text.contains("not run: invalid JSON at 4:1"));
    assert!(h.session.app.tasks.list.items.is_empty(), "nothing was submitted");

    // Fix it (remove the trailing comma) and stream the run.
    h.key(KeyCode::Char('i')).await;
    h.clear_editor().await;
    h.typed("{\"city\": \"杭州\", \"days\": 2}").await;
    h.key(KeyCode::Esc).await;
    assert!(h.session.app.editor.validation.is_runnable());
    h.key(KeyCode::Char('f')).await;
    assert!(h.session.app.editor.content().contains("\n  \"city\": \"杭州\""), "formatted");
    h.key(KeyCode::Char('w')).await;
    h.until("the run to finish", |a| a.tasks.list.items.first().is_some_and(|t| t.status == TaskStatus::Succeeded))
        .await;
    let screen = h.screen(220, 60);
    assert!(screen.contains("succeeded") && screen.contains("needs_params"), "{screen}");
    assert!(screen.contains("Sunny in 杭州"), "the output shows in the detail pane\n{screen}");
    assert_eq!(sim.stats().runs_started, 1);

    // chatty streams its messages into the detail pane as they arrive.
    h.open_workflow("chatty").await;
    h.key(KeyCode::Char('w')).await;
    h.until("chatty", |a| {
        a.tasks
            .list
            .items
            .first()
            .is_some_and(|t| t.workflow_name.as_deref() == Some("chatty") && t.status == TaskStatus::Succeeded)
    })
    .await;
    // Every message, however it arrived (live, or read back when a snapshot moved the list on).
    h.until("its messages", |a| a.detail.event_lines.iter().any(|(_, l)| l.contains("chunk 29"))).await;
    h.key(KeyCode::Char('5')).await;
    h.key(KeyCode::Char('G')).await;
    assert!(h.screen(120, 40).contains("chunk 29"), "{}", h.screen(120, 40));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_is_answered_from_the_dashboard() {
    let sim = sim().await;
    let mut h = Harness::new(&sim).await;
    h.until("workspaces", |a| !a.workspaces.items.is_empty()).await;
    h.open_workflow("asks").await;
    h.key(KeyCode::Char('w')).await;
    h.until("the question", |a| a.tasks.list.items.first().is_some_and(|t| t.status == TaskStatus::Interrupted)).await;
    let screen = h.screen(120, 40);
    assert!(screen.contains("? interrupted") && screen.contains("Which city"), "{screen}");
    // Answer from the tasks list.
    h.key(KeyCode::Char('4')).await;
    h.key(KeyCode::Char('a')).await;
    assert!(h.screen(120, 40).contains("answer · Enter sends"));
    h.typed("Berlin").await;
    h.key(KeyCode::Enter).await;
    h.until("the answer to finish the run", |a| {
        a.tasks.list.items.first().is_some_and(|t| t.status == TaskStatus::Succeeded)
    })
    .await;
    assert!(h.screen(220, 60).contains("You said Berlin"), "{}", h.screen(220, 60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_input_node_is_answered_with_a_form() {
    let sim = sim().await;
    let mut h = Harness::new(&sim).await;
    h.until("workspaces", |a| !a.workspaces.items.is_empty()).await;
    h.open_workflow("form").await;
    h.key(KeyCode::Char('s')).await;
    h.until("the form", |a| a.tasks.list.items.first().is_some_and(|t| t.status == TaskStatus::Interrupted)).await;
    assert!(h.screen(160, 40).contains("fields     city (string, required), days (integer, required)"));
    h.key(KeyCode::Char('4')).await;
    h.key(KeyCode::Char('a')).await;
    let screen = h.screen(120, 40);
    assert!(
        screen.contains("input form") && screen.contains("city: string required · days: integer required"),
        "{screen}"
    );
    assert!(
        screen.contains("\"city\": \"\"") && screen.contains("\"days\": 0"),
        "pre-filled from the fields\n{screen}"
    );
    // Broken JSON is not sent; Enter is a new line, not a send.
    h.typed("x").await;
    h.ctrl('s').await;
    assert!(h.screen(120, 40).contains("not sent: invalid JSON at 1:1"), "{}", h.screen(120, 40));
    h.key(KeyCode::Backspace).await;
    // Into the city's quotes: line 2, end, two left.
    h.key(KeyCode::Down).await;
    h.key(KeyCode::End).await;
    h.key(KeyCode::Left).await;
    h.key(KeyCode::Left).await;
    h.typed("杭州").await;
    assert!(h.screen(120, 40).contains("✔ every field is there"));
    let resumes = sim.stats().resumes;
    assert_eq!(resumes, 0, "nothing sent yet");
    h.ctrl('s').await;
    h.until("the answer to finish the run", |a| {
        a.tasks.list.items.first().is_some_and(|t| t.status == TaskStatus::Succeeded)
    })
    .await;
    assert!(h.screen(220, 60).contains("Forecast for 杭州: 0 day(s) of sun"), "{}", h.screen(220, 60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_a_bot_and_a_file_from_the_dashboard() {
    use coze_tui::app::Overlay;
    let sim = sim().await;
    let mut h = Harness::new(&sim).await;
    h.until("workspaces", |a| !a.workspaces.items.is_empty()).await;
    h.open_workflow("versioned").await;
    assert!(h.session.app.editor.content().contains("\"style\""), "the latest's inputs");

    // V lists the versions with what each changes against the latest; choose the oldest.
    h.key(KeyCode::Char('V')).await;
    h.until("the versions", |a| matches!(&a.overlay, Some(Overlay::Versions(v)) if v.versions.is_some())).await;
    let list = h.screen(120, 40);
    assert!(list.contains("latest: the workflow as published  (in use)"), "{list}");
    assert!(list.contains("inputs against the latest: +count string, −lang, −style"), "{list}");
    h.key(KeyCode::Char('G')).await;
    h.key(KeyCode::Enter).await;
    assert!(h.session.app.overlay.is_none());
    let screen = h.screen(120, 40);
    assert!(screen.contains("versioned @v0.0.1"), "{screen}");
    assert!(screen.contains("version    v0.0.1") && screen.contains("inputs against the latest: +count"), "{screen}");
    let text = h.session.app.editor.content();
    assert!(text.contains("\"count\"") && !text.contains("\"style\""), "that version's template\n{text}");

    // B: with a bot; the run carries both, and Detail says so.
    h.key(KeyCode::Char('B')).await;
    h.typed("bot 7400000000000000042").await;
    h.key(KeyCode::Enter).await;
    assert!(h.screen(220, 40).contains("@v0.0.1 · bot 74000000000…"), "{}", h.screen(220, 40));
    h.key(KeyCode::Char('s')).await;
    h.until("the run", |a| a.tasks.list.items.first().is_some_and(|t| t.status == TaskStatus::Succeeded)).await;
    h.until("its detail", |a| a.detail_task().is_some_and(|t| t.status == TaskStatus::Succeeded)).await;
    let task = h.session.app.detail_task().unwrap().clone();
    assert_eq!(task.context.version.as_deref(), Some("v0.0.1"));
    assert_eq!(task.context.bot_id.as_deref(), Some("7400000000000000042"));
    assert!(task.output.as_deref().unwrap().contains("[v0.0.1]"));

    // A file: A opens a path prompt for the file input, Tab completes, Enter uploads.
    let photo = h.dir.path().join("holiday-photo.png");
    std::fs::write(&photo, vec![1u8; 50_000]).unwrap();
    h.open_workflow("files").await;
    h.key(KeyCode::Char('A')).await;
    assert!(h.screen(120, 40).contains("for \"photo\" (image)"), "{}", h.screen(120, 40));
    h.typed(&format!("{}/holi", h.dir.path().display())).await;
    h.key(KeyCode::Tab).await;
    h.until(
        "the completion",
        |a| matches!(&a.overlay, Some(Overlay::Attach(p)) if p.path.lines().join("").ends_with("holiday-photo.png")),
    )
    .await;
    h.key(KeyCode::Enter).await;
    h.until("the upload", |a| a.editor.content().contains("file_id")).await;
    assert_eq!(sim.stats().uploads, 1);
    assert!(h.screen(200, 40).contains("holiday-photo.png attached to photo"), "{}", h.screen(200, 40));
    h.key(KeyCode::Char('s')).await;
    h.until("the files run", |a| {
        a.tasks
            .list
            .items
            .first()
            .is_some_and(|t| t.workflow_name.as_deref() == Some("files") && t.status == TaskStatus::Succeeded)
    })
    .await;
    h.until("its detail", |a| a.detail_task().is_some_and(|t| t.status == TaskStatus::Succeeded)).await;
    assert!(h.screen(200, 60).contains("file       photo ← holiday-photo.png"), "{}", h.screen(200, 60));

    // After a restart, the workflow runs with its bot again (the version is chosen anew).
    let dir = h.dir;
    h.session.shutdown().await;
    let mut h = Harness::open_in(&sim, dir).await;
    h.until("workspaces", |a| !a.workspaces.items.is_empty()).await;
    h.open_workflow("versioned").await;
    assert_eq!(h.session.app.editor.context.bot_id.as_deref(), Some("7400000000000000042"));
    assert_eq!(h.session.app.editor.context.version, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_turn_conversation_with_a_chatflow_that_reopens_after_a_restart() {
    use coze_tui::app::Overlay;
    let sim = sim().await;
    let mut h = Harness::new(&sim).await;
    h.until("workspaces", |a| !a.workspaces.items.is_empty()).await;
    h.open_workflow("chatflow").await;
    // A chatflow's run key opens its chat; without a bot it says how to set one.
    h.key(KeyCode::Char('s')).await;
    assert!(matches!(h.session.app.overlay, Some(Overlay::Chat)));
    assert!(h.screen(160, 40).contains("B in the editor sets it"), "{}", h.screen(160, 40));
    h.key(KeyCode::Esc).await;
    h.key(KeyCode::Char('B')).await;
    h.typed("bot 7400").await;
    h.key(KeyCode::Enter).await;
    h.key(KeyCode::Char('s')).await;
    h.typed("hello 你好").await;
    h.key(KeyCode::Enter).await;
    let replied = |n: usize| {
        move |a: &coze_tui::app::App| {
            a.chat
                .as_ref()
                .is_some_and(|c| c.turns.len() == n && c.turns.iter().all(|t| t.status == TaskStatus::Succeeded))
        }
    };
    h.until("the first reply", replied(1)).await;
    h.typed("again").await;
    h.key(KeyCode::Enter).await;
    h.until("the second reply", replied(2)).await;
    h.until("the conversation listed", |a| {
        a.chat.as_ref().and_then(|c| c.conversations.as_ref()).is_some_and(|l| l.len() == 1 && l[0].turns == 2)
    })
    .await;
    let screen = h.screen(120, 40);
    assert!(
        screen.contains("bot › Turn 1: you said “hello 你好”")
            && screen.contains("Turn 2: you said “again” (and first"),
        "{screen}"
    );
    assert!(screen.contains("hello 你好") && screen.contains("2 turns"), "the conversation in the list\n{screen}");
    let conversation = h.session.app.chat.as_ref().unwrap().conversation.clone().expect("named by Coze");
    // Ctrl-N starts another; Tab goes to the list, where the first one opens again.
    h.ctrl('n').await;
    assert!(h.session.app.chat.as_ref().unwrap().turns.is_empty());
    assert_eq!(sim.stats().runs_started, 2);

    // After a restart the conversation is in the list and its turns come back from the ledger.
    let dir = h.dir;
    h.session.shutdown().await;
    let mut h = Harness::open_in(&sim, dir).await;
    h.until("workspaces", |a| !a.workspaces.items.is_empty()).await;
    h.open_workflow("chatflow").await;
    h.key(KeyCode::Char('s')).await;
    h.until("the conversations", |a| {
        a.chat.as_ref().is_some_and(|c| c.conversations.as_ref().is_some_and(|l| !l.is_empty()))
    })
    .await;
    h.key(KeyCode::Tab).await;
    h.key(KeyCode::Down).await;
    h.key(KeyCode::Enter).await;
    h.until("its turns", |a| a.chat.as_ref().is_some_and(|c| c.turns.len() == 2)).await;
    assert_eq!(h.session.app.chat.as_ref().unwrap().conversation.as_deref(), Some(conversation.as_str()));
    h.typed("third").await;
    h.key(KeyCode::Enter).await;
    h.until("the third reply", replied(3)).await;
    assert!(h.screen(120, 40).contains("Turn 3: you said “third” (and first “hello 你好”)"), "{}", h.screen(120, 40));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_from_the_first_run_screen() {
    use coze_tui::app::LoginScreen;
    use coze_tui::sim::Approval;
    let sim = sim_with(SimOptions { oauth_interval_s: 0, ..opts() }).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), "[profiles.default]\noauth_client_id = \"sim-device-client\"\n")
        .unwrap();
    let mut h = Harness::without_token(&sim, dir, (80, 24)).await;
    assert!(h.session.app.first_run.is_some(), "no token: the first-run screen");
    assert!(h.screen(80, 24).contains("l signs in with a code"), "{}", h.screen(80, 24));
    h.key(KeyCode::Char('l')).await;
    h.until("the code", |a| matches!(a.login, Some(LoginScreen::Code { .. }))).await;
    let screen = h.screen(80, 24);
    assert!(screen.contains("enter the code") && screen.contains("█"), "the code and the QR code at 80x24\n{screen}");
    let Some(LoginScreen::Code { user_code, .. }) = h.session.app.login.clone() else { unreachable!() };
    // Esc stops it; a new one starts with l.
    h.key(KeyCode::Esc).await;
    assert!(h.session.app.login.is_none() && h.session.app.first_run.is_some());
    // The stopped code approved after all: nothing is waiting for it, nothing connects.
    assert!(sim.decide_device_code(&user_code, Approval::Approved));
    tokio::time::sleep(Duration::from_millis(500)).await;
    h.session.until(Duration::from_millis(100), |_| false).await;
    assert!(h.session.app.first_run.is_some() && !h.dir.path().join("credentials.toml").exists());
    h.key(KeyCode::Char('l')).await;
    h.until("a new code", |a| matches!(&a.login, Some(LoginScreen::Code { user_code: c, .. }) if *c != user_code))
        .await;
    let Some(LoginScreen::Code { user_code, .. }) = h.session.app.login.clone() else { unreachable!() };
    assert!(sim.decide_device_code(&user_code, Approval::Approved));
    h.until("the account", |a| a.first_run.is_none() && !a.workspaces.items.is_empty()).await;
    assert!(h.dir.path().join("credentials.toml").exists());
    assert!(h.screen(120, 40).contains("(signed in)"), "{}", h.screen(120, 40));

    // A sign-in with under a day left (unused for almost 30 days) says when it ends.
    let creds = h.dir.path().join("credentials.toml");
    let mut c = coze_tui::auth::credentials::load(&creds, "default").unwrap().unwrap();
    c.refresh_until = Some(coze_tui::tasks::now_ms() / 1000 + 3600);
    coze_tui::auth::credentials::store_locked(&creds, "default", Some(&c)).unwrap();
    let dir = h.dir;
    h.session.shutdown().await;
    let h = Harness::without_token(&sim, dir, (120, 40)).await;
    assert!(h.screen(160, 40).contains("(signed in, ends "), "{}", h.screen(160, 40));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_shows_its_error_and_logid_and_can_be_rerun_and_deleted() {
    let sim = sim().await;
    let mut h = Harness::new(&sim).await;
    h.until("workspaces", |a| !a.workspaces.items.is_empty()).await;
    h.open_workflow("fails").await;
    h.key(KeyCode::Char('s')).await;
    h.until("the failure", |a| a.tasks.list.items.first().is_some_and(|t| t.status == TaskStatus::Failed)).await;
    assert_eq!(h.session.app.focus, Pane::Editor, "starting a run does not take the focus away");
    h.key(KeyCode::Char('4')).await;
    h.key(KeyCode::Enter).await;
    h.until("the task in full", |a| a.detail_task().is_some()).await;
    let screen = h.screen(220, 60);
    assert!(
        screen.contains("720702002") && screen.contains("ZeroDivisionError") && screen.contains("logid"),
        "{screen}"
    );
    // Re-run from the detail pane; then delete the first with a confirmation.
    h.key(KeyCode::Char('R')).await;
    h.until("the re-run", |a| {
        a.tasks.list.items.len() == 2 && a.tasks.list.items.iter().all(|t| t.status == TaskStatus::Failed)
    })
    .await;
    h.key(KeyCode::Char('4')).await;
    h.key(KeyCode::Char('d')).await;
    assert!(h.screen(120, 40).contains("y deletes"));
    h.key(KeyCode::Char('n')).await;
    assert_eq!(h.session.app.tasks.list.items.len(), 2, "n keeps it");
    h.key(KeyCode::Char('d')).await;
    h.key(KeyCode::Char('y')).await;
    h.until("the delete", |a| a.tasks.list.items.len() == 1).await;
    assert_eq!(sim.stats().runs_started, 2);
    // Drafts explain themselves instead of failing.
    h.open_workflow("draft_only").await;
    h.key(KeyCode::Char('s')).await;
    assert!(h.session.app.toast.as_ref().unwrap().text.contains("draft"));
    assert_eq!(sim.stats().runs_started, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_and_refresh_keep_the_selection_and_quit_asks_for_teardown() {
    let sim = sim().await;
    let mut h = Harness::new(&sim).await;
    h.until("workflows", |a| !a.workflows.items.is_empty()).await;
    h.key(KeyCode::Char('2')).await;
    for _ in 0..3 {
        h.key(KeyCode::Char('j')).await;
    }
    assert_eq!(h.session.app.workflows.current().unwrap().workflow_name, "asks");
    h.key(KeyCode::Char('/')).await;
    h.typed("ask").await;
    h.key(KeyCode::Enter).await;
    assert_eq!(h.session.app.workflows.visible.len(), 1);
    assert_eq!(h.session.app.workflows.current().unwrap().workflow_name, "asks");
    assert!(h.screen(120, 40).contains("/ask"), "the filter is shown");
    h.key(KeyCode::Char('r')).await;
    h.until("the refresh", |a| !a.workflows.loading).await;
    assert_eq!(h.session.app.workflows.current().unwrap().workflow_name, "asks", "kept across a refresh");
    assert_eq!(h.session.app.workflows.filter, "ask", "the filter is sticky");
    h.key(KeyCode::Esc).await;
    assert_eq!(h.session.app.workflows.visible.len(), 18);
    assert_eq!(h.session.app.workflows.current().unwrap().workflow_name, "asks", "kept when cleared");
    // Help is generated from the live key map and shows the paths.
    h.key(KeyCode::Char('?')).await;
    let help = h.screen(120, 60);
    assert!(help.contains("config.toml") && help.contains("coze-tui.log") && help.contains("run streaming"), "{help}");
    h.key(KeyCode::Esc).await;
    assert_eq!(h.key(KeyCode::Char('q')).await, vec![Command::Quit]);
    assert_eq!(h.ctrl('c').await, vec![Command::Quit]);
    h.session.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_size_panics() {
    let sim = sim().await;
    let mut h = Harness::new(&sim).await;
    h.until("workflows", |a| !a.workflows.items.is_empty()).await;
    for (w, hh) in [(1, 1), (2, 50), (300, 2), (59, 15), (60, 15), (80, 24), (119, 29), (120, 30), (250, 80)] {
        h.session.handle(Msg::Resize(w, hh)).await;
        let screen = h.screen(w, hh);
        assert_eq!(screen.lines().count(), hh as usize, "{w}x{hh}");
        assert!(screen.lines().all(|l| unicode_width::UnicodeWidthStr::width(l) <= w as usize), "{w}x{hh}: {screen}");
        if w < 60 || hh < 15 {
            // Whatever fits of the notice, and nothing else, however small the terminal.
            let notice = format!("terminal too small: {w}x{hh} need 60x15 (q quits)");
            let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            let shown = squeeze(&screen);
            assert!(!shown.is_empty() && squeeze(&notice).starts_with(&shown), "{w}x{hh}: {screen}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_runs_and_switching_profiles() {
    let sim = sim().await;
    let mut h = Harness::new(&sim).await;
    h.until("workspaces", |a| !a.workspaces.items.is_empty()).await;
    h.open_workflow("echo").await;
    h.key(KeyCode::Char('n')).await;
    assert!(h.screen(120, 40).contains("Enter runs"));
    h.typed("nightly 报告").await;
    h.key(KeyCode::Tab).await;
    h.typed("checks the echo").await;
    h.key(KeyCode::Enter).await;
    h.until("the named run", |a| a.tasks.list.items.first().is_some_and(|t| t.status == TaskStatus::Succeeded)).await;
    let t = h.session.app.tasks.list.items[0].clone();
    h.until("its detail", |a| a.detail_task().is_some_and(|d| d.id == t.id && d.status == TaskStatus::Succeeded)).await;
    let full = h.session.app.detail_task().unwrap().clone();
    assert_eq!((full.name.as_deref(), full.description.as_deref()), (Some("nightly 报告"), Some("checks the echo")));
    assert!(h.screen(120, 40).contains("succeeded · nightly 报告"), "{}", h.screen(120, 40));

    // The profile switcher lists the config's profiles; choosing one reloads everything.
    h.key(KeyCode::Char('p')).await;
    assert!(h.screen(120, 40).contains("default (current)"));
    h.key(KeyCode::Char('j')).await;
    // The session switches (the command never reaches the terminal).
    assert_eq!(h.key(KeyCode::Enter).await, vec![]);
    assert_eq!(h.session.app.profile.name, "other");
    h.until("the other profile's workspaces", |a| !a.workspaces.items.is_empty()).await;
    h.until("its task list", |a| !a.tasks.list.loading).await;
    assert!(h.session.app.tasks.list.items.is_empty(), "another profile's tasks: none yet");
    assert!(h.screen(120, 40).contains(" other "));
    // A profile that no longer loads (the config was broken meanwhile) leaves the current one
    // working, and says why.
    let config = h.dir.path().join("config.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, good.replacen("qps = 100.0", "qps = -1.0", 1)).unwrap();
    h.key(KeyCode::Char('p')).await;
    h.key(KeyCode::Char('k')).await;
    h.key(KeyCode::Enter).await;
    assert_eq!(h.session.app.profile.name, "other");
    let toast = h.session.app.toast.as_ref().map(|t| t.text.clone()).unwrap_or_default();
    assert!(toast.contains("qps -1 must be above 0"), "{toast}");
    // Mended, back to the first profile: its run is there.
    std::fs::write(&config, good).unwrap();
    h.key(KeyCode::Char('p')).await;
    h.key(KeyCode::Char('k')).await;
    h.key(KeyCode::Enter).await;
    assert_eq!(h.session.app.profile.name, "default");
    h.until("its task list", |a| a.tasks.list.items.iter().any(|x| x.id == t.id)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_from_another_process_show_up() {
    let sim = sim().await;
    let mut h = Harness::new(&sim).await;
    h.until("workspaces", |a| !a.workspaces.items.is_empty()).await;
    // Another coze-tui (say, `coze-tui run` in a second SSH login) on the same ledger.
    let ledger = std::sync::Arc::new(coze_tui::tasks::Ledger::open_in(&h.dir.path().join("data")).unwrap());
    let cfg = coze_tui::tasks::RunnerConfig {
        adopt_orphans: false,
        ..coze_tui::tasks::RunnerConfig::new("default", Default::default())
    };
    let other = coze_tui::tasks::Runner::start(client(&sim), ledger, cfg).await;
    let new = coze_tui::tasks::NewTask {
        workflow_id: wf(&sim, "echo"),
        workflow_name: Some("echo".into()),
        workspace_id: None,
        parameters: Default::default(),
        mode: coze_tui::tasks::RunMode::Sync,
        name: Some("from elsewhere".into()),
        description: None,
        context: Default::default(),
    };
    let t = other.submit(new).await.unwrap();
    other.wait_settled(&t.id).await.unwrap();
    h.until("the other process's run", |a| {
        a.tasks.list.items.iter().any(|x| x.id == t.id && x.status == TaskStatus::Succeeded)
    })
    .await;
    // And when that process deletes it, it goes here too.
    other.delete(&t.id).await.unwrap();
    h.until("the other process's delete", |a| a.tasks.list.items.iter().all(|x| x.id != t.id)).await;
    other.shutdown().await;
}

/// A run asked for while the schema is still loading (requests are paced) starts once it has
/// loaded, instead of being refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_asked_for_before_the_schema_loads_starts_when_it_has() {
    let sim = sim().await;
    let mut h = Harness::new(&sim).await;
    h.until("workflows", |a| !a.workflows.items.is_empty()).await;
    h.key(KeyCode::Char('2')).await;
    h.key(KeyCode::Char('g')).await;
    assert_eq!(h.session.app.workflows.current().unwrap().workflow_name, "echo");
    h.key(KeyCode::Enter).await;
    assert!(h.session.app.editor.loading, "the schema is on its way");
    h.key(KeyCode::Char('w')).await;
    assert!(h.screen(120, 40).contains("runs as soon as"), "{}", h.screen(120, 40));
    h.until("the run", |a| a.tasks.list.items.first().is_some_and(|t| t.status == TaskStatus::Succeeded)).await;
    assert_eq!(h.session.app.tasks.list.items[0].mode, coze_tui::tasks::RunMode::Stream);
    assert!(h.session.app.editor.pending_run.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_survives_switching_workflows_and_a_restart_and_undo_takes_whole_edits() {
    let sim = sim().await;
    let mut h = Harness::new(&sim).await;
    h.open_workflow("echo").await;
    let start = h.session.app.editor.content();
    h.key(KeyCode::Char('i')).await;
    h.clear_editor().await;
    h.typed("{\"kept\": 1}").await;
    h.key(KeyCode::Esc).await;
    assert!(h.screen(120, 40).contains("● edited"), "an unrun edit is marked");
    // u undoes the whole typing session, Ctrl-R redoes it.
    h.key(KeyCode::Char('u')).await;
    assert_eq!(h.session.app.editor.content(), start, "one key undoes all that was typed");
    h.ctrl('r').await;
    assert_eq!(h.session.app.editor.content(), "{\"kept\": 1}");
    // Another workflow and back: the edit is there, and u goes back to where it started.
    h.open_workflow("slow").await;
    assert!(!h.session.app.editor.content().contains("kept"));
    h.open_workflow("echo").await;
    assert_eq!(h.session.app.editor.content(), "{\"kept\": 1}");
    let toast = h.session.app.toast.as_ref().map(|t| t.text.clone()).unwrap_or_default();
    assert!(toast.contains("your unrun edit is back (u goes back to the last run)"), "{toast}");
    h.key(KeyCode::Char('u')).await;
    assert_eq!(h.session.app.editor.content(), start);
    h.ctrl('r').await;
    assert_eq!(h.session.app.editor.content(), "{\"kept\": 1}");
    // t asks, and is undoable.
    h.key(KeyCode::Char('t')).await;
    assert!(h.screen(120, 40).contains("Replace the parameters with the schema's template?"));
    h.key(KeyCode::Char('n')).await;
    assert_eq!(h.session.app.editor.content(), "{\"kept\": 1}", "n keeps them");
    h.key(KeyCode::Char('t')).await;
    h.key(KeyCode::Char('y')).await;
    assert!(!h.session.app.editor.content().contains("kept"));
    h.key(KeyCode::Char('u')).await;
    assert_eq!(h.session.app.editor.content(), "{\"kept\": 1}", "the reset is undone");
    // Quitting asks nothing, and a restart finds the edit where it was left.
    assert_eq!(h.key(KeyCode::Char('q')).await, vec![Command::Quit]);
    let dir = h.dir;
    h.session.shutdown().await;
    let mut h = Harness::open_in(&sim, dir).await;
    h.open_workflow("echo").await;
    assert_eq!(h.session.app.editor.content(), "{\"kept\": 1}", "kept across a restart");
    // Run: the draft is done with, and the next change is marked against this run.
    h.key(KeyCode::Char('s')).await;
    h.until("the run", |a| a.tasks.list.items.first().is_some_and(|t| t.status == TaskStatus::Succeeded)).await;
    assert!(!h.screen(120, 40).contains("● edited"));
    h.key(KeyCode::Char('3')).await;
    h.key(KeyCode::Char('i')).await;
    h.clear_editor().await;
    h.typed("{\"kept\": 2, \"new\": true}").await;
    h.key(KeyCode::Esc).await;
    assert_eq!(h.session.app.editor.changed, vec!["kept".to_string(), "new".to_string()]);
    assert!(h.screen(200, 60).contains("changed since the last run: kept, new"), "{}", h.screen(200, 60));
    // A task's parameters come back into the editor with one key (and u takes them out)...
    h.key(KeyCode::Char('4')).await;
    h.key(KeyCode::Char('e')).await;
    h.until("the task's parameters", |a| a.editor.content() == "{\n  \"kept\": 1\n}").await;
    assert_eq!(h.session.app.focus, Pane::Editor);
    h.key(KeyCode::Char('u')).await;
    assert!(h.session.app.editor.content().contains("\"new\": true"));
    // ...also from another workflow: its own opens (with its listing's details), parameters in.
    h.open_workflow("slow").await;
    h.key(KeyCode::Char('4')).await;
    h.key(KeyCode::Char('e')).await;
    h.until("echo with the task's parameters", |a| {
        a.editor.workflow.as_ref().is_some_and(|w| w.workflow_name == "echo" && w.is_published == Some(true))
            && a.editor.content() == "{\n  \"kept\": 1\n}"
    })
    .await;
    h.key(KeyCode::Char('u')).await;
    assert!(h.session.app.editor.content().contains("\"new\": true"), "u: back to echo's own edit");
    h.session.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_palette_jumps_to_a_workflow_in_another_workspace_a_task_or_an_action() {
    let sim = sim().await;
    let mut h = Harness::new(&sim).await;
    h.open_workflow("echo").await;
    h.key(KeyCode::Char('s')).await;
    h.until("the run", |a| a.tasks.list.items.first().is_some_and(|t| t.status.is_settled())).await;
    let task = h.session.app.tasks.list.items[0].id.clone();
    // The second workspace's workflows were never listed here: the palette finds them.
    let second = h.session.app.workspaces.items[1].id.clone();
    h.key(KeyCode::Char(':')).await;
    h.until("the catalogue", |a| match &a.overlay {
        Some(coze_tui::app::Overlay::Palette(p)) => p.entries.iter().filter(|e| e.kind() == "workflow").count() > 20,
        _ => false,
    })
    .await;
    h.typed("wthrrep").await;
    let screen = h.screen(120, 40);
    assert!(screen.contains("weather_report"), "fuzzy: {screen}");
    // Several workspaces have one; pick the one in the second workspace.
    let wanted = {
        let Some(coze_tui::app::Overlay::Palette(p)) = &h.session.app.overlay else { panic!() };
        p.shown.iter().position(|(i, _)| matches!(&p.entries[*i].target, coze_tui::app::palette::Target::Workflow { workspace_id, .. } if *workspace_id == second)).unwrap()
    };
    for _ in 0..wanted {
        h.key(KeyCode::Down).await;
    }
    h.key(KeyCode::Enter).await;
    assert!(h.session.app.overlay.is_none());
    assert_eq!(h.session.app.workspace_id.as_deref(), Some(second.as_str()));
    assert_eq!(h.session.app.focus, Pane::Editor);
    h.until("the workflow opens", |a| !a.editor.loading && a.editor.info.is_some()).await;
    h.until("its workspace's list, selected", |a| {
        a.workflows
            .current()
            .is_some_and(|w| Some(&w.workflow_id) == a.editor.workflow.as_ref().map(|e| &e.workflow_id))
    })
    .await;
    assert!(h.session.app.editor.workflow.as_ref().unwrap().workflow_name.starts_with("weather_report"));
    // A task by its id.
    h.key(KeyCode::Char(':')).await;
    h.typed(&task[..8]).await;
    h.key(KeyCode::Enter).await;
    assert_eq!(h.session.app.focus, Pane::Detail);
    assert_eq!(h.session.app.detail.subject, coze_tui::app::Subject::Task(task.clone()));
    // An action by name: zoom.
    h.key(KeyCode::Char(':')).await;
    h.typed("zoom").await;
    h.key(KeyCode::Enter).await;
    assert!(h.session.app.zoomed);
    assert!(h.screen(120, 40).contains("[zoom · z back]"));
    h.key(KeyCode::Char('z')).await;
    assert!(!h.session.app.zoomed);
    h.session.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_profiles_are_counted_and_shown_on_request_and_prompts_behave_like_a_shell() {
    let sim = sim().await;
    let mut h = Harness::new(&sim).await;
    h.open_workflow("echo").await;
    h.key(KeyCode::Char('s')).await;
    h.until("the run", |a| a.tasks.list.items.first().is_some_and(|t| t.status.is_settled())).await;
    // Switch to the other profile: this one's run is counted, not shown, until P.
    h.key(KeyCode::Char('p')).await;
    h.key(KeyCode::Char('j')).await;
    h.key(KeyCode::Enter).await;
    h.until("the count", |a| a.tasks.other_profiles == Some(1)).await;
    h.key(KeyCode::Char('4')).await;
    assert!(h.screen(200, 60).contains("other (+1 in other profiles: P)"), "{}", h.screen(200, 60));
    h.key(KeyCode::Char('P')).await;
    h.until("every profile's tasks", |a| a.tasks.list.items.len() == 1 && !a.tasks.list.loading).await;
    let screen = h.screen(200, 60);
    assert!(screen.contains("all profiles") && screen.contains("[default]"), "{screen}");
    h.key(KeyCode::Char('P')).await;
    h.until("this profile's again", |a| a.tasks.list.items.is_empty() && !a.tasks.list.loading).await;
    // The filter prompt starts with the filter selected: typing replaces it; Ctrl-W and
    // Ctrl-U delete as in a shell.
    h.key(KeyCode::Char('2')).await;
    h.key(KeyCode::Char('/')).await;
    h.typed("ask").await;
    h.key(KeyCode::Enter).await;
    h.key(KeyCode::Char('/')).await;
    h.typed("slow").await;
    assert_eq!(h.session.app.workflows.filter, "slow", "replaced, not appended");
    h.typed(" more").await;
    h.ctrl('w').await;
    assert_eq!(h.session.app.workflows.filter, "slow ");
    h.ctrl('u').await;
    assert_eq!(h.session.app.workflows.filter, "");
    h.key(KeyCode::Esc).await;
    h.session.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detail_has_a_node_timeline_and_enter_opens_what_is_at_the_top() {
    let sim = sim().await;
    let mut h = Harness::new(&sim).await;
    h.open_workflow("chatty").await;
    h.key(KeyCode::Char('w')).await;
    h.until("the stream", |a| a.tasks.list.items.first().is_some_and(|t| t.status == TaskStatus::Succeeded)).await;
    let id = h.session.app.tasks.list.items[0].id.clone();
    h.until("its messages", |a| {
        a.detail_task().is_some_and(|t| t.id == id && t.status.is_settled())
            && (0..a.detail.len()).any(|i| a.detail.line(i).is_some_and(|(_, t)| t == "nodes"))
    })
    .await;
    let lines: Vec<String> =
        (0..h.session.app.detail.len()).filter_map(|i| h.session.app.detail.line(i)).map(|(_, t)| t.clone()).collect();
    let at = lines.iter().position(|l| l == "nodes").unwrap();
    assert!(
        lines[at + 1].contains('+') && lines[at + 1].contains("KB") && lines[at + 1].contains("message"),
        "{lines:#?}"
    );
    // With a node's messages at the top of the view, Enter shows them whole.
    let node = lines.iter().position(|l| l.starts_with("▸ ")).unwrap();
    h.key(KeyCode::Char('5')).await;
    h.key(KeyCode::Char('g')).await;
    for _ in 0..node {
        h.key(KeyCode::Char('j')).await;
    }
    h.key(KeyCode::Enter).await;
    let Some(coze_tui::app::Overlay::Viewer(v)) = &h.session.app.overlay else { panic!("{}", h.screen(120, 40)) };
    assert!(v.title.starts_with(&format!("messages of {}", lines[node].trim_start_matches("▸ "))), "{}", v.title);
    assert!(!v.lines.is_empty());
    h.key(KeyCode::Esc).await;
    // At the top, Enter shows the output.
    h.key(KeyCode::Char('g')).await;
    h.key(KeyCode::Enter).await;
    let Some(coze_tui::app::Overlay::Viewer(v)) = &h.session.app.overlay else { panic!() };
    assert!(v.title.starts_with("output of chatty"), "{}", v.title);
    h.session.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_becomes_a_test_case_and_two_tasks_compare_in_detail() {
    let sim = sim().await;
    let mut h = Harness::new(&sim).await;
    h.open_workflow("echo").await;
    h.key(KeyCode::Char('i')).await;
    h.clear_editor().await;
    h.typed("{\"x\": 1, \"text\": \"a\\nb\"}").await;
    h.key(KeyCode::Esc).await;
    h.key(KeyCode::Char('s')).await;
    h.until("the first run", |a| a.tasks.list.items.first().is_some_and(|t| t.status == TaskStatus::Succeeded)).await;
    h.key(KeyCode::Char('i')).await;
    h.clear_editor().await;
    h.typed("{\"x\": 2, \"text\": \"a\\nB\"}").await;
    h.key(KeyCode::Esc).await;
    h.key(KeyCode::Char('s')).await;
    h.until("the second run", |a| {
        a.tasks.list.items.len() == 2 && a.tasks.list.items.iter().all(|t| t.status == TaskStatus::Succeeded)
    })
    .await;
    // Mark the older one, compare the newer with it.
    h.key(KeyCode::Char('4')).await;
    h.key(KeyCode::Char('G')).await;
    h.key(KeyCode::Char('m')).await;
    let toast = h.session.app.toast.as_ref().unwrap().text.clone();
    assert!(toast.contains("D on another task compares them"), "{toast}");
    h.key(KeyCode::Char('g')).await;
    h.key(KeyCode::Char('D')).await;
    h.until("the comparison", |a| matches!(a.detail.subject, coze_tui::app::Subject::Diff(..))).await;
    let screen = h.screen(120, 40);
    assert!(screen.contains("output: 2 differences") && screen.contains("~ /x: 1  →  2"), "{screen}");
    assert!(screen.contains("-     b") && screen.contains("+     B"), "strings by line: {screen}");
    // c: the task as a case in a suite file, which then runs and passes.
    h.key(KeyCode::Char('4')).await;
    h.key(KeyCode::Char('c')).await;
    let file = h.dir.path().join("suites").join("echo.toml");
    h.typed(file.to_str().unwrap()).await;
    h.key(KeyCode::Enter).await;
    h.until("the case saved", |a| a.toast.as_ref().is_some_and(|t| t.text.starts_with("saved task"))).await;
    let suite = coze_tui::suite::load(&file).unwrap();
    assert_eq!(suite.cases.len(), 1);
    assert_eq!(suite.cases[0].expect.output, Some(serde_json::json!({"x": 2, "text": "a\nB"})));
    // T: the suites view offers the file; Enter runs it and the matrix fills in.
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str(&format!(
        "\n[[case]]\nname = \"expects too much\"\nworkflow = \"{}\"\nparams = {{ x = 3 }}\n[case.expect]\noutput = {{ x = 4 }}\n",
        wf(&sim, "echo")
    ));
    std::fs::write(&file, text).unwrap();
    h.key(KeyCode::Char('T')).await;
    let shown = file.to_str().unwrap().to_string();
    h.until(
        "the suite files",
        |a| matches!(&a.overlay, Some(coze_tui::app::Overlay::Suites(v)) if v.files.iter().any(|f| f.path == shown)),
    )
    .await;
    h.key(KeyCode::Enter).await;
    let finished = |a: &coze_tui::app::App| a.suite_run.as_ref().is_some_and(|r| r.finished);
    h.until("the suite run", finished).await;
    let screen = h.screen(120, 40);
    assert!(screen.contains("✔ 1 ✘ 1") && screen.contains("at /x: expected 4, got 3"), "{screen}");
    // The failing case: what it expected against what came.
    h.key(KeyCode::Char('j')).await;
    let screen = h.screen(120, 40);
    assert!(screen.contains("expects too much: 1 expectation(s) missed") && screen.contains("expected 4"), "{screen}");
    // Enter opens its task.
    h.key(KeyCode::Enter).await;
    assert!(h.session.app.overlay.is_none());
    assert_eq!(h.session.app.focus, Pane::Detail);
    h.until("the case's task", |a| a.detail_task().is_some_and(|t| t.name.as_deref() == Some("expects too much")))
        .await;
    h.session.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coze_studio_lists_its_bookmarks_adds_one_by_id_and_starts_from_the_last_parameters() {
    let sim = sim_with(SimOptions { server: coze_tui::coze::Server::Studio, ..opts() }).await;
    let (echo, asks) = (wf(&sim, "echo"), wf(&sim, "asks"));
    let bookmark = format!("[[profiles.default.workflows]]\nid = \"{echo}\"\nname = \"回声 echo\"\n\n");
    let mut h = Harness::open_with(&sim, tempfile::tempdir().unwrap(), &bookmark).await;
    // The server is learned from its first answer: one "workspace", the Studio, and its
    // workflows are the bookmarks.
    h.until("the Studio's workflows", |a| !a.workflows.items.is_empty()).await;
    let screen = h.screen(120, 40);
    assert!(screen.contains("Coze Studio at 127.0.0.1"), "{screen}");
    assert_eq!(h.session.app.workspaces.items.len(), 1);
    assert!(screen.contains("回声 echo"), "{screen}");
    // `+` adds a workflow by id (with a name), selected once listed.
    h.key(KeyCode::Char('2')).await;
    h.key(KeyCode::Char('+')).await;
    assert!(h.screen(120, 40).contains("add a workflow"), "{}", h.screen(120, 40));
    h.typed("nope").await;
    h.key(KeyCode::Enter).await;
    assert!(h.screen(120, 40).contains("is not a workflow id"), "a mistake keeps the prompt open");
    for _ in 0..4 {
        h.key(KeyCode::Backspace).await;
    }
    // An id the Studio does not know is not remembered.
    h.typed("7000000000000000009").await;
    h.key(KeyCode::Enter).await;
    h.until("the lookup", |a| !a.workflows.loading).await;
    assert_eq!(h.session.app.workflows.items.len(), 1);
    assert!(h.screen(120, 40).contains("not added"), "{}", h.screen(120, 40));
    h.key(KeyCode::Char('+')).await;
    h.typed(&format!("{asks} 问答 asks")).await;
    h.key(KeyCode::Enter).await;
    h.until("the added workflow", |a| a.workflows.items.len() == 2).await;
    assert_eq!(h.session.app.workflows.current().map(|w| w.workflow_id.as_str()), Some(asks.as_str()));
    // No schema on Studio: the editor starts empty; a streamed question is answered.
    h.key(KeyCode::Enter).await;
    h.until("the editor", |a| !a.editor.loading && a.editor.info.is_some()).await;
    h.key(KeyCode::Char('w')).await;
    h.until("the question", |a| a.tasks.list.items.first().is_some_and(|t| t.status == TaskStatus::Interrupted)).await;
    h.key(KeyCode::Char('4')).await;
    h.key(KeyCode::Char('a')).await;
    h.typed("杭州").await;
    h.key(KeyCode::Enter).await;
    h.until("the answer", |a| a.tasks.list.items.first().is_some_and(|t| t.status == TaskStatus::Succeeded)).await;
    // The bookmark runs with typed parameters…
    h.open_workflow("回声 echo").await;
    h.key(KeyCode::Char('i')).await;
    h.clear_editor().await;
    h.typed("{\"city\": \"北京\"}").await;
    h.key(KeyCode::Esc).await;
    h.key(KeyCode::Char('s')).await;
    h.until("the echo", |a| {
        let t = a.tasks.list.items.first();
        t.is_some_and(|t| t.status == TaskStatus::Succeeded && t.workflow_name.as_deref() == Some("回声 echo"))
    })
    .await;
    // …and after a restart both workflows are listed, and the editor starts from them.
    let dir = h.dir;
    h.session.shutdown().await;
    let mut h = Harness::open_with(&sim, dir, &bookmark).await;
    h.until("both workflows", |a| a.workflows.items.len() == 2).await;
    h.open_workflow("回声 echo").await;
    assert!(h.session.app.editor.content().contains("北京"), "{}", h.session.app.editor.content());
    assert!(h.screen(120, 40).contains("the parameters are the last run's"), "{}", h.screen(120, 40));
    assert!(h.screen(120, 40).contains("问答 asks"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_on_a_coze_studio_says_to_make_a_token() {
    use coze_tui::app::LoginScreen;
    let sim = sim_with(SimOptions { server: coze_tui::coze::Server::Studio, ..opts() }).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), "[profiles.default]\noauth_client_id = \"sim-device-client\"\n")
        .unwrap();
    let mut h = Harness::without_token(&sim, dir, (80, 24)).await;
    h.key(KeyCode::Char('l')).await;
    h.until("the refusal", |a| matches!(a.login, Some(LoginScreen::Failed(_)))).await;
    let Some(LoginScreen::Failed(said)) = h.session.app.login.clone() else { unreachable!() };
    assert!(said.contains("Coze Studio has no sign-in with a code"), "{said}");
    let asked = sim.stats().by_route.keys().filter(|k| k.contains("device/code")).count();
    assert_eq!(asked, 0, "no device code was asked for: {:?}", sim.stats().by_route);
}
