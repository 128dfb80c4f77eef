//! The dashboard's runtime, without a terminal: the app, the profile it talks to (or the
//! demo), the runner, and the executor that turns commands into background work whose results
//! come back as messages. Profile switches and the demo happen here too, so tests drive the
//! whole dashboard with keys and render it to a test backend. `tui` wraps it with the terminal
//! and carries out the few commands only a terminal can (clipboard, `$EDITOR`, suspend, quit).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::app::{Action, App, Command, Context, Health, Keymap, Msg, ProfileInfo};
use crate::config::{Env, Overrides, Settings};
use crate::coze::{CozeClient, CozeError, ErrorKind};
use crate::demo::Demo;
use crate::tasks::{Ledger, Runner, RunnerConfig, SharedBudget, TaskFeed, TaskFilter, TaskUpdate};

/// Tasks loaded into the dashboard at start (newest first); older ones stay in the ledger.
const TASKS_SHOWN: usize = 10_000;

pub struct Session {
    pub app: App,
    tx: mpsc::UnboundedSender<(u64, Msg)>,
    rx: mpsc::UnboundedReceiver<(u64, Msg)>,
    backend: Option<Backend>,
    /// The number of the backend in use (0 until there is one); see [`MsgSender`].
    backend_no: u64,
    /// The flags and environment the settings came from (a profile switch reloads with them).
    overrides: Overrides,
    env: Env,
    settings: Settings,
    /// The demo's simulator and throwaway data directory, both gone when this is dropped.
    demo: Option<Demo>,
    /// A sign-in waiting for approval (first-run screen).
    login: Option<tokio::task::JoinHandle<()>>,
}

/// Sends messages to the session. Background work's messages carry the number of the backend
/// they came from, and once that backend is replaced (a profile switch, the demo) they are
/// dropped unread: late news of the old profile never lands in the new one's app. The
/// terminal's are number 0, always taken.
#[derive(Clone)]
pub struct MsgSender {
    tx: mpsc::UnboundedSender<(u64, Msg)>,
    backend: u64,
}

impl MsgSender {
    /// Fails (`Err(())`) only when the session is gone.
    #[allow(clippy::result_unit_err)]
    pub fn send(&self, msg: Msg) -> Result<(), ()> {
        self.tx.send((self.backend, msg)).map_err(|_| ())
    }
}

/// How to open a session.
pub struct SessionOptions {
    pub overrides: Overrides,
    pub env: Env,
    /// Start on the embedded simulator (`coze-tui demo`), as this kind of server.
    pub demo: Option<crate::coze::Server>,
    /// Log to the profile's log file (the real dashboard; tests leave it off).
    pub log_to_file: bool,
}

/// What talks to Coze and the ledger for the active profile.
#[derive(Clone)]
struct Backend {
    client: CozeClient,
    /// For reads; every write to a task goes through the runner.
    ledger: Arc<Ledger>,
    runner: Runner,
    profile: String,
    /// The profile's workflow bookmarks (what a Coze Studio lists).
    bookmarks: Vec<crate::config::Bookmark>,
    /// Asks the task feed for a fresh snapshot of the task list (first showing every
    /// profile's tasks, or this one's, when given).
    reload_tasks: mpsc::UnboundedSender<Option<bool>>,
    /// Editor drafts: written, read and flushed in the order asked for.
    drafts: mpsc::UnboundedSender<DraftOp>,
}

impl Session {
    /// A session for the profile the flags, environment and config choose (or the demo).
    /// Without a token it shows the first-run screen instead.
    pub async fn open(opts: SessionOptions) -> Result<Self, String> {
        let loaded = Settings::load(&opts.overrides, &opts.env);
        let mut sign_in_problem = None;
        let (settings, demo) = if let Some(server) = opts.demo {
            // The demo needs no account: a broken token, profile or config only loses the
            // user's UI settings and keys for it.
            let d = Demo::start(loaded.ok().as_ref(), 4000, server).await?;
            (d.settings.clone(), Some(d))
        } else {
            let mut settings = loaded.map_err(|e| e.0)?;
            // Signed in (`coze-tui login`) and no token of its own: the signed-in one. A
            // sign-in that cannot be used shows on the first-run screen, where `l` renews it.
            if let Err(e) = crate::auth::use_signed_in(&mut settings).await {
                sign_in_problem = Some(e.message);
            }
            (settings, None)
        };
        if opts.log_to_file {
            crate::logging::init_file(&settings.log_path(), opts.env.get("COZE_TUI_LOG"));
        }
        let (keymap, problems) = Keymap::with_overrides(&settings.keys);
        for p in &problems {
            tracing::warn!("{p}");
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let mut app = App::new(profile_info(&settings), keymap);
        app.warnings = problems;
        app.bell = settings.ui.bell;
        app.mouse = settings.ui.mouse;
        let mut s = Self {
            app,
            tx,
            rx,
            backend: None,
            backend_no: 0,
            overrides: opts.overrides,
            env: opts.env,
            settings: settings.clone(),
            demo,
            login: None,
        };
        match (settings.client_options(), sign_in_problem) {
            (_, Some(problem)) => s.app.first_run = Some(problem),
            (Ok(_), None) => s.connect(&settings).await?,
            (Err(e), None) => s.app.first_run = Some(e.0),
        }
        let cmds = s.app.init();
        s.dispatch(cmds).await;
        Ok(s)
    }

    /// The settings in force (the active profile's, or the demo's).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// (Re)connects to the profile in `settings`: a new client, ledger and runner.
    /// The new backend is built completely before the old one stops, so a failure leaves the
    /// current profile working.
    async fn connect(&mut self, settings: &Settings) -> Result<(), String> {
        let opts = settings.client_options().map_err(|e| e.0)?;
        let dir = settings.data_dir.clone();
        let ledger = tokio::task::spawn_blocking(move || Ledger::open_in(&dir))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let ledger = Arc::new(ledger);
        // Listings and runs alike pass the profile's budget, shared with every other process.
        let (profile, p) = (settings.profile_name.clone(), &settings.profile);
        let budget = SharedBudget::new(ledger.clone(), profile, p.poll.qps, p.daily_request_limit);
        let client = CozeClient::new(opts).map_err(|e| e.message)?.with_gate(Arc::new(budget));
        let mut cfg = RunnerConfig::new(settings.profile_name.clone(), settings.profile.poll.clone());
        cfg.daily_request_limit = p.daily_request_limit;
        let runner = Runner::start(client.clone(), ledger.clone(), cfg).await;
        let no = self.backend_no + 1;
        let tx = self.sender_for(no);
        let reload_hint = self.app.keymap.hint(Context::Detail, Action::Refresh, "reloads them").unwrap_or_default();
        spawn_messages(&runner, tx.clone(), reload_hint);
        let reload_tasks = spawn_task_feed(&runner, ledger.clone(), settings.profile_name.clone(), tx.clone());
        let drafts = spawn_draft_writer(ledger.clone(), settings.profile_name.clone(), tx);
        let backend = Backend {
            client,
            ledger,
            runner,
            profile: settings.profile_name.clone(),
            bookmarks: settings.profile.workflows.clone(),
            reload_tasks,
            drafts,
        };
        self.backend_no = no;
        if let Some(old) = self.backend.replace(backend) {
            flush_drafts(&old.drafts).await;
            old.runner.shutdown().await;
        }
        self.app.profile = profile_info(settings);
        self.app.first_run = None;
        self.settings = settings.clone();
        Ok(())
    }

    /// Moves the whole dashboard to another profile (or the demo): a new backend and a fresh
    /// app that reloads everything. On failure the current profile stays, working.
    async fn switch_to(&mut self, settings: &Settings) -> Result<(), String> {
        self.connect(settings).await?;
        self.reset().await;
        let name = settings.profile_name.clone();
        self.app.update(Msg::Toast(format!("switched to profile {name}")));
        Ok(())
    }

    /// Switches to another profile of the config file, with the same flags and environment.
    async fn switch_profile(&mut self, name: String) {
        let o = Overrides { profile: Some(name), ..self.overrides.clone() };
        let switched = match Settings::load(&o, &self.env) {
            Ok(mut s) => match crate::auth::use_signed_in(&mut s).await {
                Ok(()) => self.switch_to(&s).await,
                Err(e) => Err(e.message),
            },
            Err(e) => Err(e.0),
        };
        if let Err(e) = switched {
            self.fail(e);
        }
    }

    /// Signs in with the device grant in the background: the code comes as a message, then
    /// the outcome; approved, the tokens are kept and the dashboard connects.
    fn start_login(&mut self, attempt: u64) {
        let tx = self.sender_for(0);
        let s = self.settings.clone();
        let task = tokio::spawn(async move {
            let done = async {
                if let Some(refused) = crate::auth::refused_on_studio(&s).await {
                    return Err(refused);
                }
                let client_id = crate::auth::client_id(&s).map_err(|e| e.message)?;
                let base = s.profile.base_url.clone();
                let code = crate::auth::device_code(&base, &client_id, None).await.map_err(|e| e.message)?;
                let _ = tx.send(Msg::LoginCode {
                    attempt,
                    user_code: code.user_code.clone(),
                    url: code.verification_url(),
                    expires_in: code.expires_in,
                });
                let c =
                    crate::auth::wait_for_approval(&base, &client_id, &code, || {}).await.map_err(|e| e.to_string())?;
                let path = crate::auth::credentials::path_for(&s.config_path);
                let profile = s.profile_name.clone();
                tokio::task::spawn_blocking(move || crate::auth::credentials::store_locked(&path, &profile, Some(&c)))
                    .await
                    .map_err(|e| e.to_string())?
            }
            .await;
            let _ = tx.send(Msg::LoginDone { attempt, result: done });
        });
        if let Some(old) = self.login.replace(task) {
            old.abort();
        }
    }

    /// Signed in from the first-run screen: the profile again, with its new tokens.
    async fn signed_in(&mut self) {
        self.login = None;
        let mut s = self.settings.clone();
        let connected = match crate::auth::use_signed_in(&mut s).await {
            Ok(()) => self.switch_to(&s).await,
            Err(e) => Err(e.message),
        };
        if let Err(e) = connected {
            self.fail(e);
        }
    }

    /// Switches to the demo (from the first-run screen).
    async fn start_demo(&mut self) {
        let started = match Demo::start(Some(&self.settings), 4000, crate::coze::Server::Coze).await {
            Ok(d) => {
                let settings = d.settings.clone();
                self.switch_to(&settings).await.map(|()| d)
            }
            Err(e) => Err(e),
        };
        match started {
            Ok(d) => self.demo = Some(d),
            Err(e) => self.fail(e),
        }
    }

    fn fail(&mut self, e: String) {
        tracing::warn!("{e}");
        self.app.update(Msg::Failed(e));
    }

    /// A fresh app for the connected profile (after a switch), keeping the screen size, keys
    /// and config warnings.
    async fn reset(&mut self) {
        let keymap = self.app.keymap.clone();
        let size = self.app.size;
        let profile = self.app.profile.clone();
        let warnings = std::mem::take(&mut self.app.warnings);
        let (bell, mouse) = (self.app.bell, self.app.mouse);
        self.app = App::new(profile, keymap);
        self.app.mouse = mouse;
        self.app.size = size;
        self.app.warnings = warnings;
        self.app.bell = bell;
        let cmds = self.app.init();
        Box::pin(self.dispatch(cmds)).await;
    }

    /// A sender for messages from outside (terminal events, signals).
    pub fn sender(&self) -> MsgSender {
        self.sender_for(0)
    }

    fn sender_for(&self, backend: u64) -> MsgSender {
        MsgSender { tx: self.tx.clone(), backend }
    }

    /// Feeds one message to the app and starts the work it asks for. Returns the commands
    /// only a terminal can carry out (clipboard, `$EDITOR`, suspend, quit).
    pub async fn handle(&mut self, msg: Msg) -> Vec<Command> {
        let cmds = self.app.update(msg);
        self.dispatch(cmds).await
    }

    async fn dispatch(&mut self, cmds: Vec<Command>) -> Vec<Command> {
        let mut left = vec![];
        for cmd in cmds {
            match cmd {
                Command::Copy(_) | Command::OpenEditor(_) | Command::Suspend | Command::Quit | Command::Bell => {
                    left.push(cmd)
                }
                Command::SwitchProfile(name) => self.switch_profile(name).await,
                // In the order typed: straight to the draft writer, not through a task each.
                Command::SaveDraft { workflow_id, text } => {
                    if let Some(b) = &self.backend {
                        let _ = b.drafts.send(DraftOp::Save(workflow_id, text));
                    }
                }
                Command::StartDemo => self.start_demo().await,
                Command::StartLogin(attempt) => self.start_login(attempt),
                Command::CancelLogin => {
                    if let Some(t) = self.login.take() {
                        t.abort();
                    }
                }
                Command::SignedIn => self.signed_in().await,
                other => self.execute(other),
            }
        }
        left
    }

    /// Messages waiting to be handled.
    pub fn queued(&self) -> usize {
        self.rx.len()
    }

    /// The next message, waiting at most `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Option<Msg> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let (from, msg) = tokio::time::timeout_at(deadline, self.rx.recv()).await.ok().flatten()?;
            if from == 0 || from == self.backend_no {
                return Some(msg);
            }
        }
    }

    /// Processes messages until `done` holds (true) or `timeout` passes (false).
    pub async fn until(&mut self, timeout: Duration, done: impl Fn(&App) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while !done(&self.app) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            if let Some(msg) = self.next(left).await {
                self.handle(msg).await;
            }
        }
        true
    }

    /// Stops the runner (releasing the runs it watches to other processes), then removes the
    /// demo's directory if there is one.
    pub async fn shutdown(mut self) {
        if let Some(b) = self.backend.take() {
            // The last keystrokes' drafts reach the ledger before the process ends.
            flush_drafts(&b.drafts).await;
            b.runner.shutdown().await;
        }
        drop(self.demo.take());
    }

    /// Starts one piece of background work; its result comes back as a message.
    fn execute(&self, cmd: Command) {
        let Some(b) = self.backend.clone() else { return };
        let tx = self.sender_for(self.backend_no);
        tokio::spawn(async move {
            let msg = run_command(&b, cmd, &tx).await;
            if let Some(m) = msg {
                // Shown briefly on screen; kept in the log for later.
                if let Some(e) = m.failure() {
                    tracing::warn!("{e}");
                }
                let _ = tx.send(m);
            }
        });
    }
}

/// How often the dashboard looks for runs other processes changed (a second SSH login, a
/// `coze-tui run` in another terminal), and for today's request count.
const LEDGER_SYNC: Duration = Duration::from_secs(2);

/// Streamed messages reach the app as they come (task states come from the feed).
fn spawn_messages(runner: &Runner, tx: MsgSender, reload_hint: String) {
    let mut updates = runner.subscribe();
    tokio::spawn(async move {
        loop {
            match updates.recv().await {
                Ok(u @ TaskUpdate::Event { .. }) => {
                    if tx.send(Msg::Task(u)).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("{n} live updates skipped");
                    let _ =
                        tx.send(Msg::Failed(format!("some live messages were skipped; {reload_hint} from the ledger")));
                }
                Err(_) => return,
            }
        }
    });
}

/// The task list: a snapshot when asked for (at start, on refresh), and every change after
/// it in ledger order, this process's and others'; plus today's request count when it
/// changes. Stops with the runner (when the profile is replaced or the dashboard quits).
fn spawn_task_feed(
    runner: &Runner,
    ledger: Arc<Ledger>,
    profile: String,
    tx: MsgSender,
) -> mpsc::UnboundedSender<Option<bool>> {
    let (reload_tx, mut reload) = mpsc::unbounded_channel::<Option<bool>>();
    let runner = runner.clone();
    tokio::spawn(async move {
        let mut feed = TaskFeed::on(ledger.clone(), runner.subscribe(), &profile, LEDGER_SYNC);
        let (mut requests, mut others) = (None, None);
        // Other profiles' tasks are counted again only once the ledger has changed.
        let mut others_at_revision = None;
        let mut counted: Option<Instant> = None;
        while !runner.is_stopped() {
            // A change read and a snapshot never interleave: the feed goes on from either.
            let msg = tokio::select! {
                asked = reload.recv() => {
                    let Some(scope) = asked else { return };
                    if let Some(all) = scope {
                        feed.set_all_profiles(all);
                    }
                    let filter = TaskFilter { limit: TASKS_SHOWN, ..Default::default() };
                    match feed.snapshot(filter).await {
                        Ok(tasks) => Some(Msg::TasksLoaded { tasks, revision: feed.revision() }),
                        Err(e) => Some(Msg::TasksFailed(e.to_string())),
                    }
                }
                changes = feed.next() => match changes {
                    Ok(c) if c.tasks.is_empty() && c.deleted.is_empty() => None,
                    Ok(c) => Some(Msg::TasksChanged(c)),
                    Err(e) => {
                        tracing::warn!("reading task changes: {e}");
                        None
                    }
                },
            };
            if let Some(m) = msg
                && tx.send(m).is_err()
            {
                return;
            }
            if counted.is_none_or(|at| at.elapsed() >= LEDGER_SYNC) {
                counted = Some(Instant::now());
                let p = profile.clone();
                let today = read(&ledger, move |l| l.requests_on(&p, &crate::tasks::budget::today())).await;
                if let Ok(today) = today.map(|c| c.total())
                    && requests != Some(today)
                {
                    requests = Some(today);
                    let _ = tx.send(Msg::RequestsToday(today));
                }
                let p = profile.clone();
                if others_at_revision != Some(feed.revision())
                    && let Ok(n) = read(&ledger, move |l| l.count_other_profiles(&p)).await
                {
                    others_at_revision = Some(feed.revision());
                    if others != Some(n) {
                        others = Some(n);
                        let _ = tx.send(Msg::OtherProfiles(n));
                    }
                }
            }
        }
    });
    reload_tx
}

/// What the draft writer does, in the order sent.
enum DraftOp {
    /// Keep (or with `None` forget) a workflow's draft.
    Save(String, Option<String>),
    /// A workflow's draft, read after every write sent before.
    Read(String, tokio::sync::oneshot::Sender<Result<Option<String>, String>>),
    /// Answered once everything sent before is written.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Writes that fail are tried again this many times, this far apart (another process may
/// hold the ledger for a moment).
const DRAFT_TRIES: u32 = 3;
const DRAFT_RETRY: Duration = Duration::from_millis(300);

/// One writer per backend for editor drafts: writes in the order they come (only the newest
/// of each workflow when they come faster than the ledger takes them), reads and flushes in
/// line with them. Ends when its backend is gone.
fn spawn_draft_writer(ledger: Arc<Ledger>, profile: String, tx: MsgSender) -> mpsc::UnboundedSender<DraftOp> {
    let (send, mut recv) = mpsc::unbounded_channel::<DraftOp>();
    tokio::spawn(async move {
        let mut held: Option<DraftOp> = None;
        let mut warned = false;
        loop {
            let op = match held.take() {
                Some(op) => op,
                None => match recv.recv().await {
                    Some(op) => op,
                    None => return,
                },
            };
            match op {
                DraftOp::Save(wf, text) => {
                    let mut batch = vec![(wf, text)];
                    while let Ok(next) = recv.try_recv() {
                        match next {
                            DraftOp::Save(w, t) => {
                                batch.retain(|(x, _)| *x != w);
                                batch.push((w, t));
                            }
                            other => {
                                held = Some(other);
                                break;
                            }
                        }
                    }
                    for (wf, text) in batch {
                        let mut tries = 0;
                        let outcome = loop {
                            let (p, w, t) = (profile.clone(), wf.clone(), text.clone());
                            match read(&ledger, move |l| l.save_draft(&p, &w, t.as_deref())).await {
                                Ok(()) => break Ok(()),
                                Err(e) if tries + 1 >= DRAFT_TRIES => break Err(e),
                                Err(_) => tries += 1,
                            }
                            tokio::time::sleep(DRAFT_RETRY).await;
                        };
                        match outcome {
                            Ok(()) => warned = false,
                            Err(e) => {
                                tracing::warn!("draft of workflow {wf} not kept: {e}");
                                let _ = tx.send(Msg::DraftNotKept { workflow_id: wf, error: e, first: !warned });
                                warned = true;
                            }
                        }
                    }
                }
                DraftOp::Read(wf, reply) => {
                    let p = profile.clone();
                    let _ = reply.send(read(&ledger, move |l| l.draft(&p, &wf)).await);
                }
                DraftOp::Flush(reply) => {
                    let _ = reply.send(());
                }
            }
        }
    });
    send
}

/// Waits (a few seconds at most) until every draft sent so far is written.
async fn flush_drafts(drafts: &mpsc::UnboundedSender<DraftOp>) {
    let (reply, done) = tokio::sync::oneshot::channel();
    if drafts.send(DraftOp::Flush(reply)).is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(5), done).await;
    }
}

fn profile_info(s: &Settings) -> ProfileInfo {
    ProfileInfo {
        name: s.profile_name.clone(),
        base_url: s.profile.base_url.clone(),
        region: s.region(),
        profiles: s.profile_names.clone(),
        config_path: s.config_path.display().to_string(),
        log_path: s.log_path().display().to_string(),
        sign_in: match s.token_source {
            crate::config::Source::SignedIn => Some(crate::app::SignIn::Code { until: s.sign_in_until }),
            crate::config::Source::Jwt => Some(crate::app::SignIn::ServiceApp),
            _ => None,
        },
    }
}

/// A Coze Studio, in the place of the workspaces it does not list.
fn studio_space(base_url: &str) -> crate::coze::Workspace {
    let host = crate::config::region_of(base_url);
    crate::coze::Workspace {
        id: crate::catalogue::STUDIO_SPACE.to_string(),
        name: format!("Coze Studio at {host}"),
        workspace_type: "studio".to_string(),
        ..Default::default()
    }
}

/// The workflows of a Coze Studio as coze-tui knows them, after adding one by id.
async fn studio_listing(b: &Backend, add: Option<(String, Option<String>)>) -> Msg {
    let (profile, bookmarks) = (b.profile.clone(), b.bookmarks.clone());
    let listed = read(&b.ledger, move |l| {
        if let Some((id, name)) = &add {
            l.add_bookmark(&profile, id, name.as_deref())?;
        }
        Ok(crate::catalogue::studio_workflows(l, &profile, &bookmarks))
    })
    .await;
    Msg::Workflows { workspace_id: crate::catalogue::STUDIO_SPACE.to_string(), result: listed }
}

/// Times a call to Coze and reports how it went to the status bar.
async fn timed<T>(tx: &MsgSender, call: impl Future<Output = Result<T, CozeError>>) -> Result<T, CozeError> {
    let started = Instant::now();
    let result = call.await;
    let health = match &result {
        Ok(_) => Health::Ok { latency_ms: started.elapsed().as_millis() as u64 },
        Err(e) if matches!(e.kind, ErrorKind::Auth | ErrorKind::Permission) => Health::AuthFailed(e.to_string()),
        Err(e) if matches!(e.kind, ErrorKind::Network | ErrorKind::Timeout) => Health::Unreachable(e.to_string()),
        Err(e) if matches!(e.kind, ErrorKind::Server | ErrorKind::Decode) => Health::Failing(e.to_string()),
        // Coze answered (a refusal about this request, not about the connection).
        Err(_) => Health::Ok { latency_ms: started.elapsed().as_millis() as u64 },
    };
    let _ = tx.send(Msg::Health(health));
    result
}

fn explain(e: &CozeError) -> String {
    format!("{e} — {}", e.hint())
}

/// Writes `bytes` to a new file named `name` in `dir` (`name-2`, `-3`… when taken: nothing is
/// overwritten), private to the user: outputs can hold anything.
fn save_new(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::io::Result<std::path::PathBuf> {
    use std::io::Write;
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    for n in 1..1000 {
        let file = if n == 1 { name.to_string() } else { format!("{stem}-{n}.{ext}") };
        let path = dir.join(file);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        match opts.open(&path) {
            Ok(mut f) => return f.write_all(bytes).map(|()| path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(format!("{name} and 998 numbered copies exist already")))
}

/// Runs a suite on the dashboard's runner (its concurrency, not the file's), reporting each
/// case as it is judged; the verdicts are recorded as a suite run, as `coze-tui test` does.
async fn run_suite(b: &Backend, path: String, tx: &MsgSender) -> Msg {
    use crate::app::suites::{CaseRow, SuiteRunView};
    // Reading and checking the file is disk work: off the async threads.
    let p = path.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        let suite = crate::suite::load(std::path::Path::new(&p)).map_err(|e| e.to_string())?;
        let key = crate::suite::key(&suite.path);
        Ok::<_, String>((suite, key))
    })
    .await;
    let (suite, key) = match loaded {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => return Msg::SuiteFailed(e),
        Err(e) => return Msg::SuiteFailed(e.to_string()),
    };
    let cases: Vec<&crate::suite::Case> = suite.cases.iter().collect();
    let ids = match crate::cli::names::resolve_cases(&b.ledger, &b.profile, &b.bookmarks, &b.client, &cases).await {
        Ok(ids) => ids,
        Err(e) => return Msg::SuiteFailed(e.message()),
    };
    let (k, p) = (key.clone(), b.profile.clone());
    let previous = read(&b.ledger, move |l| l.latest_verdicts(&k, &p)).await.unwrap_or_default();
    let record = crate::suite::run::new_run(&suite, &key, &b.profile);
    let run_id = record.id.clone();
    let uploads = match crate::suite::run::upload_files(&b.runner, &b.profile, &cases).await {
        Ok(u) => u,
        Err(e) => return Msg::SuiteFailed(e.to_string()),
    };
    let news = crate::suite::run::new_tasks(&suite, &cases, &ids, &uploads, &run_id);
    let rx = b.runner.subscribe();
    let tasks = match b.runner.submit_batch(news, true).await {
        Ok(t) => t,
        Err(e) => return Msg::SuiteFailed(format!("the suite did not start: {e}")),
    };
    // Recorded once its cases exist (a refused start leaves no unfinished run behind).
    if let Err(e) = read(&b.ledger, move |l| l.start_suite_run(&record)).await {
        tracing::warn!("suite run not recorded: {e}");
    }
    let rows = tasks
        .iter()
        .zip(&cases)
        .map(|(t, c)| CaseRow {
            name: c.name.clone(),
            task_id: t.id.clone(),
            previous: previous.get(&c.name).copied(),
            verdict: None,
            failures: vec![],
            status: None,
            duration_ms: None,
        })
        .collect();
    let view = SuiteRunView {
        name: suite.name.clone(),
        path: path.clone(),
        run_id: run_id.clone(),
        cases: rows,
        selected: 0,
        finished: false,
    };
    let _ = tx.send(Msg::SuiteStarted(view));
    let by_id: std::collections::HashMap<String, &crate::suite::Case> =
        tasks.iter().map(|t| t.id.clone()).zip(cases.iter().copied()).collect();
    // The dashboard's runner, shared with its other runs, sets the pace.
    let concurrency = b.runner.concurrency();
    let rid = run_id.clone();
    let mut on_done = |task_id: &str, r: &crate::suite::run::CaseResult| {
        let _ = tx.send(Msg::SuiteCase {
            run_id: rid.clone(),
            task_id: task_id.to_string(),
            passed: r.passed(),
            status: r.task.as_ref().map(|t| t.status),
            failures: r.failures.clone(),
            duration_ms: r.duration_ms(),
        });
    };
    let results =
        crate::suite::run::follow(&b.runner, rx, &by_id, suite.timeout_s, concurrency, &mut on_done, &mut |_| {}).await;
    if b.runner.is_stopped() {
        // Left for another profile or closing: the run stays unfinished in the ledger.
        return Msg::SuiteFailed("the suite run stopped with the profile it ran under".into());
    }
    let rows: Vec<crate::tasks::SuiteCase> =
        tasks.iter().zip(&cases).filter_map(|(t, c)| Some(results.get(&t.id)?.row(&c.name))).collect();
    let passed = rows.iter().filter(|r| r.passed).count();
    let failed = rows.len() - passed;
    let rid = run_id.clone();
    if let Err(e) = read(&b.ledger, move |l| l.finish_suite_run(&rid, &rows)).await {
        tracing::warn!("suite verdicts not recorded: {e}");
    }
    Msg::SuiteFinished { run_id, passed, failed }
}

/// A read of the ledger, off the async threads.
async fn read<T: Send + 'static>(
    ledger: &Arc<Ledger>,
    f: impl FnOnce(&Ledger) -> Result<T, crate::tasks::LedgerError> + Send + 'static,
) -> Result<T, String> {
    let l = ledger.clone();
    tokio::task::spawn_blocking(move || f(&l)).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())
}

async fn run_command(b: &Backend, cmd: Command, tx: &MsgSender) -> Option<Msg> {
    let c = &b.client;
    Some(match cmd {
        Command::LoadWorkspaces => {
            // A Coze Studio (said, or shown by its answer) stands in the place of workspaces.
            match timed(tx, c.unless_studio(c.list_workspaces())).await {
                Ok(Some(reply)) => Msg::Workspaces(Ok(reply.value)),
                Ok(None) => {
                    // Its web UI's refusal says nothing of the token: ask about it (the status
                    // bar says how it went).
                    let _ = timed(tx, c.check_token()).await;
                    Msg::Workspaces(Ok(vec![studio_space(c.base_url())]))
                }
                Err(e) => Msg::Workspaces(Err(explain(&e))),
            }
        }
        Command::LoadWorkflows(ws) if ws == crate::catalogue::STUDIO_SPACE => studio_listing(b, None).await,
        Command::AddWorkflow { workflow_id, name } => {
            // Only a workflow the Studio knows is remembered (a typo would stay in the list).
            let known = match timed(tx, c.workflow_info(&workflow_id, false)).await {
                Ok(_) => {
                    let _ = tx.send(Msg::Toast(format!("added workflow {workflow_id} (remembered for this profile)")));
                    true
                }
                Err(e) => {
                    let _ = tx.send(Msg::Failed(format!("{workflow_id} not added: {}", explain(&e))));
                    false
                }
            };
            studio_listing(b, known.then_some((workflow_id, name))).await
        }
        Command::LoadWorkflows(ws) => {
            let result = timed(tx, c.list_workflows_marked(&ws)).await.map(|r| r.value).map_err(|e| explain(&e));
            if let Ok(listed) = &result {
                // Recorded for names and the palette, without holding the listing back.
                let (profile, ws, listed, l) = (b.profile.clone(), ws.clone(), listed.clone(), b.ledger.clone());
                tokio::task::spawn_blocking(move || crate::catalogue::remember(&l, &profile, &ws, &listed));
            }
            Msg::Workflows { workspace_id: ws, result }
        }
        Command::LoadWorkflowInfo(id) => {
            let result = timed(tx, c.workflow_info(&id, true)).await.map(|r| r.value).map_err(|e| explain(&e));
            let (profile, wid) = (b.profile.clone(), id.clone());
            // The draft is read behind every draft write sent before, so it is the newest.
            let (reply, draft) = tokio::sync::oneshot::channel();
            let _ = b.drafts.send(DraftOp::Read(wid.clone(), reply));
            // Each read on its own: one failing does not lose the other.
            let kept = read(&b.ledger, move |l| {
                Ok((
                    l.last_params(&profile, &wid).ok().flatten(),
                    l.remembered_context(&profile, &wid).unwrap_or_default(),
                ))
            });
            let (last_params, run_in) = kept.await.unwrap_or_default();
            let (draft, draft_unreadable) = match draft.await {
                Ok(Ok(d)) => (d, None),
                Ok(Err(e)) => (None, Some(e)),
                Err(_) => (None, Some("the dashboard is closing".to_string())),
            };
            let kept = crate::app::Kept { last_params, draft, draft_unreadable, run_in };
            Msg::WorkflowInfo { workflow_id: id, result, kept }
        }
        Command::LoadTasks => {
            let _ = b.reload_tasks.send(None);
            return None;
        }
        Command::ShowAllProfiles(all) => {
            let _ = b.reload_tasks.send(Some(all));
            return None;
        }
        Command::LoadDetail(id) => {
            let tid = id.clone();
            let load = move |l: &Ledger| {
                // Gone (deleted by someone) is an answer; a ledger that cannot be read is not.
                let task = match l.get(&tid) {
                    Ok(t) => Some(t),
                    Err(crate::tasks::LedgerError::NotFound(_)) => None,
                    Err(e) => return Err(e),
                };
                Ok((task, l.events(&tid, None, 50_000)?, l.history(&tid)?))
            };
            match read(&b.ledger, load).await {
                Ok((task, events, history)) => Msg::Detail { task_id: id, task, events, history },
                Err(e) => Msg::Failed(e),
            }
        }
        Command::LoadNodeOutputs { task_id, workflow_id, execute_id } => {
            let result = async {
                let h = timed(tx, c.run_history(&workflow_id, &execute_id)).await?.value;
                let mut out = vec![];
                for (title, node) in h.nodes() {
                    let text = c
                        .node_output(&workflow_id, &execute_id, &node.node_execute_uuid)
                        .await?
                        .value
                        .node_output
                        .unwrap_or_default();
                    out.push((title, text));
                }
                Ok::<_, CozeError>(out)
            }
            .await
            .map_err(|e| explain(&e));
            Msg::NodeOutputs { task_id, result }
        }
        Command::Submit(new) => {
            let chat = new.mode == crate::tasks::RunMode::Chat;
            match b.runner.submit(*new).await {
                Ok(task) => Msg::Submitted(task),
                Err(e) => Msg::NotSubmitted { chat, error: e.to_string() },
            }
        }
        Command::Rerun(id) => match b.runner.rerun(&id).await {
            Ok(task) => Msg::Submitted(task),
            Err(e) => Msg::Failed(e.to_string()),
        },
        Command::Resume { task_id, answer } => match b.runner.resume(&task_id, &answer).await {
            Ok(_) => Msg::Toast("answer sent".into()),
            Err(e) => Msg::Failed(e.to_string()),
        },
        Command::Delete(id) => match b.runner.delete(&id).await {
            Ok(_) => Msg::Toast(format!("deleted task {id}")),
            Err(e) => Msg::Failed(e.to_string()),
        },
        Command::Save { name, text } => {
            let saved =
                tokio::task::spawn_blocking(move || save_new(&std::env::current_dir()?, &name, text.as_bytes())).await;
            match saved {
                Ok(Ok(path)) => Msg::Toast(format!("saved to {}", path.display())),
                Ok(Err(e)) => Msg::Failed(format!("not saved: {e}")),
                Err(e) => Msg::Failed(format!("not saved: {e}")),
            }
        }
        Command::LoadTaskParameters(id) => {
            let loaded = read(&b.ledger, move |l| l.get(&id)).await.map(|t| {
                let wf = crate::coze::Workflow {
                    workflow_id: t.workflow_id.clone(),
                    workflow_name: t.workflow_name.clone().unwrap_or_else(|| t.workflow_id.clone()),
                    ..Default::default()
                };
                crate::app::TaskParameters { workflow: wf, workspace_id: t.workspace_id, parameters: t.parameters }
            });
            Msg::TaskParameters(loaded)
        }
        Command::ListSuites { also } => {
            let profile = b.profile.clone();
            Msg::SuiteFiles(read(&b.ledger, move |l| crate::suite::files::list(l, &profile, &also)).await)
        }
        Command::RunSuite { path } => run_suite(b, path, tx).await,
        Command::CompletePath(typed) => {
            let t = typed.clone();
            match tokio::task::spawn_blocking(move || crate::app::inputs::complete_path(&t)).await {
                Ok((completed, candidates)) => Msg::PathCompleted { typed, completed, candidates },
                Err(e) => Msg::Failed(e.to_string()),
            }
        }
        Command::ForgetRunIn(workflow_id) => {
            let profile = b.profile.clone();
            let none = crate::tasks::RunContext::default();
            match read(&b.ledger, move |l| l.remember_context(&profile, &workflow_id, &none)).await {
                Ok(()) => return None,
                Err(e) => Msg::Failed(format!("the app or bot is still remembered: {e}")),
            }
        }
        Command::LoadConversations(workflow_id) => {
            let (profile, wid) = (b.profile.clone(), workflow_id.clone());
            let result = read(&b.ledger, move |l| l.conversations(&profile, &wid)).await;
            Msg::Conversations { workflow_id, result }
        }
        Command::LoadConversation(conversation_id) => {
            let (profile, id) = (b.profile.clone(), conversation_id.clone());
            let result = read(&b.ledger, move |l| l.conversation(&profile, &id)).await;
            Msg::ConversationTurns { conversation_id, result }
        }
        Command::LoadVersions(id) => {
            let result = timed(tx, c.workflow_versions(&id, crate::coze::PublishStatus::All)).await;
            Msg::Versions { workflow_id: id, result: result.map(|r| r.value).map_err(|e| explain(&e)) }
        }
        Command::Upload { workflow_id, input, file } => {
            // Progress at most every 200 ms: a big file sends thousands of chunks.
            let (ptx, name, total) = (tx.clone(), file.name.clone(), file.bytes);
            let last = std::sync::Mutex::new(None::<std::time::Instant>);
            let sent = Arc::new(move |n: u64| {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                if last.is_none_or(|t| t.elapsed() >= Duration::from_millis(200)) || n == total {
                    *last = Some(std::time::Instant::now());
                    let _ = ptx.send(Msg::Uploading { name: name.clone(), sent: n, total });
                }
            });
            let got = crate::upload::upload(c, &b.ledger, &b.profile, &file, sent).await;
            let result = got
                .map(|u| crate::tasks::AttachedFile { name: u.file_name, file_id: u.file_id, input: input.clone() })
                .map_err(|e| e.to_string());
            Msg::Uploaded { workflow_id, input, result }
        }
        Command::LoadDiff { a: first, b: second } => {
            // Decoding and comparing outputs (maybe megabytes) stays off the UI.
            let compare =
                move |l: &Ledger| Ok(Box::new(crate::suite::check::Comparison::of(&l.get(&first)?, &l.get(&second)?)));
            Msg::Diff(read(&b.ledger, compare).await)
        }
        Command::SaveCase { task_id, path } => {
            let ledger = b.ledger.clone();
            let saved =
                tokio::task::spawn_blocking(move || crate::suite::files::save_case(&ledger, &task_id, &path)).await;
            match saved {
                Ok(Ok((path, said))) => Msg::CaseSaved { path, said },
                Ok(Err(e)) => Msg::Failed(format!("not saved as a case: {e}")),
                Err(e) => Msg::Failed(format!("not saved as a case: {e}")),
            }
        }
        Command::LoadCatalogue { refresh } => {
            let profile = b.profile.clone();
            let known = read(&b.ledger, move |l| l.known_workflows(&profile)).await;
            if !refresh {
                return Some(Msg::Catalogue(known));
            }
            let _ = tx.send(Msg::Catalogue(known));
            // Workspaces never opened here have workflows too: list them all once.
            let listed = crate::catalogue::refresh(&b.ledger, &b.profile, c, &b.bookmarks).await;
            Msg::Catalogue(listed.map_err(|e| explain(&e)))
        }
        // Sent in `dispatch`.
        Command::SaveDraft { .. } => return None,
        Command::LoadOutputForCopy(id) => match read(&b.ledger, move |l| l.get(&id)).await {
            Ok(t) => Msg::OutputForCopy(
                t.decoded_output().map(crate::app::output_text).ok_or_else(|| "this task has no output".to_string()),
            ),
            Err(e) => Msg::OutputForCopy(Err(e)),
        },
        Command::Copy(_)
        | Command::Bell
        | Command::OpenEditor(_)
        | Command::SwitchProfile(_)
        | Command::StartDemo
        | Command::StartLogin(_)
        | Command::CancelLogin
        | Command::SignedIn
        | Command::Suspend
        | Command::Quit => {
            return None;
        }
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn saving_never_overwrites_and_keeps_the_file_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let first = save_new(dir.path(), "coze-tui-t.txt", b"one").unwrap();
        let second = save_new(dir.path(), "coze-tui-t.txt", b"two").unwrap();
        assert_eq!(first.file_name().unwrap(), "coze-tui-t.txt");
        assert_eq!(second.file_name().unwrap(), "coze-tui-t-2.txt");
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "one", "not overwritten");
        assert_eq!(std::fs::metadata(&second).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
