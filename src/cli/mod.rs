//! Argument parsing and the plain commands, with human tables or `--json`, and the exit codes
//! of DESIGN.md §3.

pub mod batch;
mod chat;
mod demo;
pub mod inputs;
pub mod names;
pub mod output;
pub mod params;
pub mod run;
pub mod test;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use serde_json::{Value, json};

use crate::config::{self, ConfigError, Env, Overrides, Settings};
use crate::coze::{CozeClient, CozeError, ErrorKind, Parameter, PublishStatus, RetryPolicy};
use crate::sim::{SimOptions, Simulator};
use crate::tasks::{NewTask, RunMode, TaskFilter, TaskStatus};
use output::{Table, local_time, print_json, terminal_width};

/// Process exit codes (DESIGN.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success = 0,
    RunFailed = 1,
    Usage = 2,
    Refused = 3,
    Network = 4,
    Interrupted = 5,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(c as u8)
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "coze-tui",
    version,
    about = "Run and debug Coze workflows from a terminal",
    long_about = "Run and debug Coze workflows from a terminal.\n\n\
        Environment: COZE_API_TOKEN, COZE_API_BASE (https://api.coze.cn or https://api.coze.com), \
        COZE_TUI_PROFILE, COZE_TUI_CONFIG, COZE_TUI_DATA_DIR, COZE_TUI_LOG.\n\
        Exit codes: 0 success, 1 the run failed, 2 bad usage/config/input, 3 Coze refused, \
        4 network or timeout, 5 the run waits for an answer."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Profile (account) to use [env: COZE_TUI_PROFILE]
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Config file [env: COZE_TUI_CONFIG]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Directory for the run ledger and logs [env: COZE_TUI_DATA_DIR]
    #[arg(long, global = true, value_name = "PATH")]
    pub data_dir: Option<PathBuf>,
    /// Coze API base URL, e.g. https://api.coze.com [env: COZE_API_BASE]
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// Print one JSON document on stdout instead of tables
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the embedded Coze simulator and show coze-tui working against it (no account needed)
    Demo {
        /// Show it as a self-hosted Coze Studio (`studio`) instead of hosted Coze
        #[arg(long, value_enum, default_value = "coze")]
        server: crate::coze::Server,
    },
    /// Run the embedded Coze simulator alone
    Sim {
        /// Address to listen on; port 0 picks a free one
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: String,
        #[command(flatten)]
        opts: SimOptions,
    },
    /// Check that Coze is reachable and the token is accepted, with the latency
    Health,
    /// Sign in without a token: shows a code and a QR code to approve on any device (the
    /// profile's `oauth_client_id`, a device-type OAuth app); the tokens are kept and renewed
    Login {
        /// Sign in for one team workspace (enterprise plans)
        #[arg(long, value_parser = coze_id)]
        workspace: Option<String>,
        /// Show the address and the code only, no QR code
        #[arg(long)]
        no_qr: bool,
    },
    /// Forget the profile's signed-in tokens
    Logout,
    /// List the workspaces the token can see
    Workspaces,
    /// List the workflows of a workspace; without one, every workflow of every workspace (on
    /// Coze Studio, which cannot list them: the profile's bookmarks and those run before)
    Workflows {
        /// Workspace id (see `coze-tui workspaces`)
        #[arg(long, value_parser = coze_id)]
        workspace: Option<String>,
        /// Which workflows to list; `all` marks drafts
        #[arg(long, value_enum, default_value = "all")]
        publish_status: PublishStatus,
    },
    /// Show a workflow's details and its input/output schema
    Workflow {
        /// Workflow id, or a name unique across the profile's workspaces
        #[arg(value_parser = names::workflow_ref)]
        workflow_id: String,
        /// List its published versions instead
        #[arg(long)]
        versions: bool,
    },
    /// Run a workflow (recorded as a task in the ledger)
    Run(RunCommand),
    /// Talk to a chatflow: one turn with --message, else a conversation on the terminal; each
    /// turn is a task (mode chat) and the conversation goes on with --conversation ID
    Chat(chat::ChatCommand),
    /// Upload a file to Coze and print its id (for a file input: {"file_id":"ID"}); the same
    /// content is uploaded once while Coze keeps it (3 months)
    Upload { path: std::path::PathBuf },
    /// List recorded tasks, newest first
    Tasks(TasksCommand),
    /// Show one task: output, error, log id, debug URL, messages, history
    Task {
        /// Task id or a unique prefix of it
        id: String,
    },
    /// Answer an interrupted task's question and follow it to its end
    Resume {
        /// Task id or a unique prefix of it
        id: String,
        /// The answer, as text
        #[arg(long, required_unless_present = "answer_json", conflicts_with = "answer_json")]
        answer: Option<String>,
        /// The answer as JSON (an input node's fields), checked before it is sent
        #[arg(long, value_name = "JSON")]
        answer_json: Option<String>,
    },
    /// Run a task's workflow again with the same parameters, as a new task
    Rerun {
        /// Task id or a unique prefix of it
        id: String,
    },
    /// Run a test suite: every case a task, questions answered from the suite, each result
    /// checked against its expectations (exit 0 all passed, 1 any failed, 2 a bad suite file)
    Test(test::TestCommand),
    /// List recent test suite runs with their pass/fail counts
    Suites {
        /// How many runs to show
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
    },
    /// Compare two tasks: status, duration, tokens; parameters and output as JSON (exit 0 when
    /// the outputs are equal, 1 when they differ)
    Diff {
        /// Task id or a unique prefix of it
        a: String,
        /// Task id or a unique prefix of it
        b: String,
    },
    /// Follow running tasks (also those left by other or earlier coze-tui processes) until they
    /// end, and start queued ones (`run --inputs … --detach`)
    Watch {
        /// How many queued runs to start at once (1-64)
        #[arg(long, default_value_t = crate::tasks::DEFAULT_CONCURRENCY as u16, value_parser = clap::value_parser!(u16).range(1..=batch::MAX_CONCURRENCY as i64))]
        concurrency: u16,
    },
    /// Show or create the config file
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Print shell completions, e.g. `coze-tui completions bash >
    /// ~/.local/share/bash-completion/completions/coze-tui`
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `coze-tui man | man -l -`
    Man,
}

#[derive(Debug, Args)]
pub struct RunCommand {
    /// Workflow id, or a name unique across the profile's workspaces
    #[arg(value_parser = names::workflow_ref)]
    pub workflow_id: String,
    /// Parameters: a JSON object, @FILE, or - for stdin
    #[arg(long, value_name = "JSON|@FILE|-")]
    pub params: Option<String>,
    /// sync waits for the result; async runs in the background and polls; stream prints messages live
    #[arg(long, value_enum)]
    pub mode: Option<RunMode>,
    /// A name for this run
    #[arg(long)]
    pub name: Option<String>,
    /// A description for this run
    #[arg(long)]
    pub description: Option<String>,
    /// Start an async run and return at once with its task id; `watch` follows it. With
    /// --inputs: record the runs and return; `watch` or the dashboard starts and follows them
    #[arg(long)]
    pub detach: bool,
    /// Many runs: one JSON object of parameters per line of FILE (- for stdin), each a task
    #[arg(long, value_name = "FILE.jsonl|-", conflicts_with = "params")]
    pub inputs: Option<String>,
    /// Send the parameters even if they do not match the workflow's input schema
    #[arg(long)]
    pub no_validate: bool,
    /// With --inputs: how many runs go at once (1-64; all stay within the profile's qps). With
    /// --detach it is a hint for `coze-tui watch --concurrency N`, which starts them
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=batch::MAX_CONCURRENCY as i64), requires = "inputs")]
    pub concurrency: Option<u16>,
    #[command(flatten)]
    pub inputs_args: inputs::InputArgs,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TasksCommand {
    #[command(subcommand)]
    pub action: Option<TasksAction>,
    /// Only tasks with this status (repeatable)
    #[arg(long, value_enum)]
    pub status: Vec<TaskStatus>,
    /// Only tasks of this workflow (an id, or a name seen in a listing)
    #[arg(long, value_parser = names::workflow_ref)]
    pub workflow: Option<String>,
    /// Only tasks whose name or workflow name contains this text
    #[arg(long)]
    pub name: Option<String>,
    /// How many tasks to show (at least 1)
    #[arg(long, default_value_t = 20, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,
    /// Tasks of every profile, not just the active one
    #[arg(long)]
    pub all_profiles: bool,
}

#[derive(Debug, Subcommand)]
pub enum TasksAction {
    /// Delete finished tasks (succeeded, failed, unknown) created before a date; tasks waiting
    /// for an answer, pending or running are never deleted
    Prune {
        /// A date (2026-11-01), a timestamp, or an age (30d, 12h)
        #[arg(long)]
        before: String,
        /// Only finished tasks with this status (repeatable): succeeded, failed or unknown
        #[arg(long, value_enum)]
        status: Vec<TaskStatus>,
        /// List what would be deleted, and delete nothing
        #[arg(long)]
        dry_run: bool,
        /// Tasks of every profile, not just the active one
        #[arg(long)]
        all_profiles: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the settings in force (the token is never shown)
    Show,
    /// Print the config file and data directory paths
    Path,
    /// Write a documented config file (mode 0600)
    Init {
        /// Replace an existing file
        #[arg(long)]
        force: bool,
    },
}

/// Coze's workspace and workflow ids are decimal digits: anything else is refused before a
/// request (or a task) is made.
fn coze_id(s: &str) -> Result<String, String> {
    let s = s.trim();
    if !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_string())
    } else {
        Err("Coze ids are decimal digits, like 7524966123456700006".into())
    }
}

/// A command's failure: what to print and which exit code.
#[derive(Debug)]
pub enum Failure {
    Usage(String),
    Coze(CozeError),
    /// The run finished but not successfully; the report was printed.
    Exit(ExitCode),
}

impl Failure {
    /// What to tell a person (the dashboard shows it; the command line prints it).
    pub fn message(&self) -> String {
        match self {
            Failure::Usage(m) => m.clone(),
            Failure::Coze(e) => format!("{e} — {}", e.hint()),
            Failure::Exit(code) => format!("exit {}", *code as u8),
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure::Usage(e.0)
    }
}

impl From<CozeError> for Failure {
    fn from(e: CozeError) -> Self {
        match e.kind {
            // What the server cannot do is a usage problem, said in one sentence.
            ErrorKind::Unsupported => Failure::Usage(e.message),
            _ => Failure::Coze(e),
        }
    }
}

/// A Coze error for `--json` output.
pub fn error_json(e: &CozeError) -> Value {
    json!({"code": e.code, "message": e.message, "kind": e.kind.as_str(), "logid": e.logid, "hint": e.hint()})
}

/// Exit code for a Coze error outside a run (inside a run, workflow failures are 1).
pub fn exit_code_for(e: &CozeError) -> ExitCode {
    match e.kind {
        ErrorKind::Network | ErrorKind::Timeout | ErrorKind::Server | ErrorKind::Decode => ExitCode::Network,
        ErrorKind::Unsupported => ExitCode::Usage,
        _ => ExitCode::Refused,
    }
}

/// Parses arguments and runs the command. The binary's whole `main`.
pub fn main() -> std::process::ExitCode {
    // Readable panic reports, in colour only on a terminal; the dashboard wraps this hook to
    // restore the terminal first.
    let theme = if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        color_eyre::config::Theme::dark()
    } else {
        color_eyre::config::Theme::new()
    };
    let _ = color_eyre::config::HookBuilder::default().theme(theme).install();
    let env = Env::from_process();
    let cli = parse_args(&env);
    let plain = !matches!(cli.command, None | Some(Command::Demo { .. }) | Some(Command::Sim { .. }));
    // Commands that only read end at once when their reader goes away; the ones that run
    // things do so only once the run is recorded (see `finish_run`). The piped demo tour may
    // die too: the next demo removes its directory.
    let only_reads = match &cli.command {
        Some(Command::Demo { .. }) => !std::io::stdout().is_terminal() || cli.global.json,
        Some(
            Command::Run(_)
            | Command::Chat(_)
            | Command::Upload { .. }
            | Command::Resume { .. }
            | Command::Rerun { .. }
            | Command::Watch { .. },
        ) => false,
        Some(Command::Sim { .. }) | None => false,
        Some(_) => true,
    };
    if only_reads {
        end_quietly_on_a_closed_pipe();
    }
    // The dashboard and the simulator serve many things at once; a plain command is one flow
    // of I/O, and on one thread it costs a fraction of the CPU (no wake-ups across threads:
    // a 100,000-message stream makes 77,000 context switches on the multi-threaded runtime).
    let builder =
        if plain { tokio::runtime::Builder::new_current_thread() } else { tokio::runtime::Builder::new_multi_thread() };
    let runtime = match { builder }.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::Usage.into();
        }
    };
    runtime.block_on(dispatch(cli, env)).into()
}

/// `coze-tui task ID | head`: when the reader goes away, end the way `ls | head` does (killed
/// by SIGPIPE, status 141 in the shell) instead of a panic from `println!`. Rust ignores
/// SIGPIPE by default, which commands keep while they drive runs: a stream must not die
/// half-read because `| head` had enough of its messages.
pub(crate) fn end_quietly_on_a_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called once at start, before any thread is spawned; restores the default action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

async fn dispatch(cli: Cli, env: Env) -> ExitCode {
    let json = cli.global.json;
    let result = match cli.command {
        Some(Command::Sim { addr, opts }) => run_sim(&addr, opts).await,
        // In a terminal the demo is the dashboard; piped, it is a guided tour of the commands.
        Some(Command::Demo { server }) if std::io::stdout().is_terminal() && !json => {
            dashboard(&cli.global, env, Some(server)).await
        }
        Some(Command::Demo { server }) => demo::run(&cli.global, server).await,
        None if std::io::stdout().is_terminal() => dashboard(&cli.global, env, None).await,
        None => Err(Failure::Usage("the dashboard needs a terminal; use the plain commands (see --help)".into())),
        // Generated from the command definitions: no settings needed.
        Some(Command::Completions { shell }) => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "coze-tui", &mut std::io::stdout());
            Ok(())
        }
        Some(Command::Man) => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .map_err(|e| Failure::Usage(format!("cannot write the man page: {e}")))
        }
        Some(command) => {
            let overrides = Overrides {
                profile: cli.global.profile.clone(),
                config_path: cli.global.config.clone(),
                data_dir: cli.global.data_dir.clone(),
                base_url: cli.global.base_url.clone(),
            };
            // `config path` and `config init` only need to know where things go: a profile,
            // token or log filter that does not check out must not stop them (`init` is how
            // a missing profile gets its file).
            let settings = match (&command, Settings::load(&overrides, &env)) {
                (Command::Config { action: ConfigAction::Path | ConfigAction::Init { .. } }, Err(_)) => {
                    let quiet = Overrides { profile: None, ..overrides.clone() };
                    let env = env.without(&["COZE_TUI_PROFILE", "COZE_API_TOKEN", "COZE_TUI_LOG"]);
                    Settings::load(&quiet, &env)
                }
                (_, loaded) => loaded,
            };
            match settings {
                Ok(mut settings) => {
                    crate::logging::init_file(&settings.log_path(), env.get("COZE_TUI_LOG"));
                    // A profile without a token of its own uses its signed-in one (renewed if
                    // it is about to end); signing in and out need none.
                    // Nor do the commands that read only the ledger (they work offline).
                    let needs_no_sign_in = matches!(
                        command,
                        Command::Login { .. }
                            | Command::Logout
                            | Command::Config { .. }
                            | Command::Tasks(_)
                            | Command::Task { .. }
                            | Command::Suites { .. }
                            | Command::Diff { .. }
                    );
                    match if needs_no_sign_in { Ok(()) } else { crate::auth::use_signed_in(&mut settings).await } {
                        Ok(()) => execute(command, &settings, json).await,
                        Err(e) => Err(sign_in_failure(e)),
                    }
                }
                Err(e) => Err(e.into()),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::Success,
        Err(f) => report_failure(f, json),
    }
}

/// Parses the command line; `--version` also says where the config and the log are.
fn parse_args(env: &Env) -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let settings = Settings::load(&Overrides::default(), env).ok();
    let paths = match &settings {
        Some(s) => format!("\nconfig: {}\nlog:    {}", s.config_path.display(), s.log_path().display()),
        None => String::new(),
    };
    // clap wants a 'static string; this is built once per process.
    let version: &'static str = Box::leak(format!("{}{paths}", env!("CARGO_PKG_VERSION")).into_boxed_str());
    let matches = Cli::command().version(version).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

async fn dashboard(global: &GlobalArgs, env: Env, demo: Option<crate::coze::Server>) -> Result<(), Failure> {
    let overrides = Overrides {
        profile: global.profile.clone(),
        config_path: global.config.clone(),
        data_dir: global.data_dir.clone(),
        base_url: global.base_url.clone(),
    };
    crate::tui::run(crate::tui::DashboardOptions { overrides, env, demo }).await.map_err(Failure::Usage)
}

fn report_failure(f: Failure, json: bool) -> ExitCode {
    match f {
        Failure::Exit(code) => code,
        Failure::Usage(msg) => {
            eprintln!("error: {msg}");
            if json {
                print_json(&json!({"error": {"code": null, "message": msg}}));
            }
            ExitCode::Usage
        }
        Failure::Coze(e) => {
            eprintln!("error: {e}");
            eprintln!("  hint: {}", e.hint());
            if json {
                print_json(&json!({"error": error_json(&e)}));
            }
            exit_code_for(&e)
        }
    }
}

async fn execute(command: Command, settings: &Settings, json: bool) -> Result<(), Failure> {
    match command {
        Command::Config { action } => config_command(action, settings, json),
        Command::Health => health(settings, json).await,
        Command::Login { workspace, no_qr } => login(settings, workspace.as_deref(), no_qr, json).await,
        Command::Logout => logout(settings, json),
        Command::Workspaces => workspaces(&client(settings)?, json).await,
        Command::Workflows { workspace: Some(workspace), publish_status } => {
            workflows(settings, &client(settings)?, &workspace, publish_status, json).await
        }
        Command::Workflows { workspace: None, .. } => all_workflows(settings, &client(settings)?, json).await,
        Command::Workflow { workflow_id, versions: list_versions } => {
            let client = client(settings)?;
            let id = names::resolve(settings, &client, &workflow_id).await?;
            if list_versions { versions(&client, &id, json).await } else { workflow(&client, &id, json).await }
        }
        Command::Run(cmd) => run_command(cmd, settings, json).await,
        Command::Upload { path } => upload_command(&path, settings, json).await,
        Command::Chat(cmd) => chat::chat_command(cmd, settings, json).await,
        Command::Tasks(cmd) => tasks_command(cmd, settings, json),
        Command::Task { id } => {
            let ledger = run::open_ledger(settings)?;
            let task = ledger.find(&id)?;
            let events = ledger.events(&task.id, None, usize::MAX >> 1)?;
            run::print_detail(&task, &events, &ledger.history(&task.id)?, json);
            Ok(())
        }
        Command::Resume { id, answer, answer_json } => {
            // JSON is checked here and sent compact, as Coze takes it: a string.
            let answer = match (answer, answer_json) {
                (Some(text), _) => text,
                (None, Some(j)) => serde_json::from_str::<serde_json::Value>(&j)
                    .map(|v| v.to_string())
                    .map_err(|e| Failure::Usage(format!("--answer-json is not JSON: {e}")))?,
                (None, None) => return Err(Failure::Usage("give --answer TEXT or --answer-json JSON".into())),
            };
            // An input node's form is checked against its fields, as parameters are.
            let asked = run::open_ledger(settings)?.find(&id)?;
            if let Some(fields) = asked.interrupt.as_ref().and_then(|i| i.required_parameters.as_ref()) {
                let checked = crate::params::validate(&answer, Some(fields));
                if let Some(p) = checked.blocker() {
                    let names: Vec<&str> = fields.iter().map(|(k, _)| k).collect();
                    return Err(Failure::Usage(format!(
                        "the input node asks for {{{}}} as JSON (--answer-json): {}",
                        names.join(", "),
                        p.message
                    )));
                }
            }
            let runner = run::open_runner(settings, false).await?;
            let rx = runner.subscribe();
            let task = runner.resume(&id, &answer).await?;
            finish_run(&runner, rx, &task.id, json, false).await
        }
        Command::Rerun { id } => {
            let runner = run::open_runner(settings, false).await?;
            let rx = runner.subscribe();
            let task = runner.rerun(&id).await?;
            finish_run(&runner, rx, &task.id, json, false).await
        }
        Command::Test(cmd) => test::test_command(cmd, settings, json).await,
        Command::Suites { limit } => test::suites_command(limit, settings, json),
        Command::Diff { a, b } => test::diff_command(&a, &b, settings, json),
        Command::Watch { concurrency } => {
            let runner = run::open_runner_with(settings, |cfg| {
                cfg.adopt_orphans = true;
                cfg.concurrency = concurrency as usize;
            })
            .await?;
            let result = run::watch(&runner, &settings.profile_name, json).await;
            runner.shutdown().await;
            result
        }
        // Handled before settings are loaded.
        Command::Demo { .. } | Command::Sim { .. } | Command::Completions { .. } | Command::Man => Ok(()),
    }
}

/// A client without a request gate (a runner installs the profile's shared budget itself).
fn plain_client(settings: &Settings) -> Result<CozeClient, Failure> {
    let opts = settings.client_options()?;
    CozeClient::new(opts).map_err(|e| Failure::Usage(e.message))
}

/// A client whose requests pass the profile's budget shared by every process on the data
/// directory, and count toward the day's requests.
fn client(settings: &Settings) -> Result<CozeClient, Failure> {
    Ok(plain_client(settings)?.with_gate(shared_gate(settings)))
}

fn shared_gate(settings: &Settings) -> std::sync::Arc<dyn crate::coze::RequestGate> {
    gate_on(settings, crate::tasks::Ledger::open_in(&settings.data_dir).map(std::sync::Arc::new))
}

/// The profile's shared budget on `ledger`; without one, pacing in this process alone.
fn gate_on(
    settings: &Settings,
    ledger: Result<std::sync::Arc<crate::tasks::Ledger>, crate::tasks::LedgerError>,
) -> std::sync::Arc<dyn crate::coze::RequestGate> {
    let (p, qps) = (&settings.profile, settings.profile.poll.qps);
    match ledger {
        Ok(ledger) => std::sync::Arc::new(crate::tasks::SharedBudget::new(
            ledger,
            settings.profile_name.clone(),
            qps,
            p.daily_request_limit,
        )),
        Err(e) => {
            tracing::warn!(error = %e, "no ledger for the shared request budget; pacing this process alone");
            std::sync::Arc::new(crate::tasks::LocalBudget::new(qps))
        }
    }
}

async fn run_sim(addr: &str, opts: SimOptions) -> Result<(), Failure> {
    let sim =
        Simulator::start(opts, addr).await.map_err(|e| Failure::Usage(format!("cannot listen on {addr}: {e}")))?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", sim.url());
        let _ = out.flush();
    }
    eprintln!("token: {} · Ctrl-C stops", sim.token());
    if sim.server() == crate::coze::Server::Studio {
        // A Coze Studio cannot list its workflows: say where the catalogue's are.
        let named: Vec<String> = crate::sim::NAMED_WORKFLOWS
            .iter()
            .filter_map(|name| Some(format!("{name}={}", sim.workflow_id(name)?)))
            .collect();
        eprintln!("workflows: {}", named.join(","));
    }
    wait_for_shutdown().await;
    sim.stop().await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

// ---- config ---------------------------------------------------------------------------------

fn config_command(action: ConfigAction, s: &Settings, json: bool) -> Result<(), Failure> {
    match action {
        ConfigAction::Path => {
            if json {
                print_json(
                    &json!({"config": s.config_path, "config_exists": s.config_exists, "data_dir": s.data_dir, "log": s.log_path()}),
                );
            } else {
                println!(
                    "config:   {}{}",
                    s.config_path.display(),
                    if s.config_exists { "" } else { " (not created yet)" }
                );
                println!("data dir: {}", s.data_dir.display());
                println!("log:      {}", s.log_path().display());
            }
            Ok(())
        }
        ConfigAction::Init { force } => {
            config::init(&s.config_path, force)?;
            if json {
                print_json(&json!({"config": s.config_path, "created": true}));
            } else {
                println!(
                    "wrote {} (mode 0600); put your token in api_token or export COZE_API_TOKEN",
                    s.config_path.display()
                );
            }
            Ok(())
        }
        ConfigAction::Show => {
            let p = &s.profile;
            let token = match (p.api_token.is_empty(), s.token_source) {
                (true, _) => "<not set>".to_string(),
                (false, src) => format!("<redacted> (from {src})"),
            };
            if json {
                print_json(&json!({
                    "config": s.config_path, "config_exists": s.config_exists, "data_dir": s.data_dir,
                    "profile": s.profile_name, "profiles": s.profile_names,
                    "api_token": if p.api_token.is_empty() { Value::Null } else { json!("<redacted>") },
                    "api_token_source": s.token_source, "base_url": p.base_url, "base_url_source": s.base_url_source,
                    "region": s.region(), "timeout": p.timeout, "run_timeout": p.run_timeout,
                    "stream_idle_timeout": p.stream_idle_timeout, "max_retries": p.max_retries, "poll": p.poll,
                }));
            } else {
                println!(
                    "# config file: {}{}",
                    s.config_path.display(),
                    if s.config_exists { "" } else { " (not created; defaults in force)" }
                );
                if !s.profile_names.is_empty() {
                    println!("# profiles: {}", s.profile_names.join(", "));
                }
                println!("profile             = {:?}", s.profile_name);
                println!("api_token           = {token}");
                println!("base_url            = {:?}  # {} (from {})", p.base_url, s.region(), s.base_url_source);
                println!("timeout             = {}", p.timeout);
                println!("run_timeout         = {}", p.run_timeout);
                println!("stream_idle_timeout = {}", p.stream_idle_timeout);
                println!("max_retries         = {}", p.max_retries);
                println!(
                    "poll                = {{ initial_interval_ms = {}, backoff = {}, max_interval_ms = {}, qps = {} }}",
                    p.poll.initial_interval_ms, p.poll.backoff, p.poll.max_interval_ms, p.poll.qps
                );
            }
            Ok(())
        }
    }
}

// ---- health ---------------------------------------------------------------------------------

#[derive(Serialize)]
struct Health {
    profile: String,
    base_url: String,
    region: String,
    reachable: bool,
    auth_ok: bool,
    latency_ms: Option<u64>,
    workspaces: Option<i64>,
    logid: Option<String>,
    error: Option<Value>,
    /// Requests this profile made today (every process on the data directory, this one included).
    requests_today: Option<u64>,
    /// The same by kind: `read`, `run`, `poll`.
    requests_today_by_kind: Option<crate::tasks::RequestCounts>,
    daily_request_limit: Option<u64>,
    /// Which token: `pat` (config), `env`, `oauth` (signed in).
    credential: &'static str,
    /// When a signed-in token ends (RFC 3339).
    expires_at: Option<String>,
    /// `coze` or `studio` (a self-hosted Coze Studio); `null` when the server never answered.
    server: Option<&'static str>,
}

/// A sign-in problem as an exit code: a config mistake is 2, a refusal 3, no network 4.
fn sign_in_failure(e: CozeError) -> Failure {
    match e.kind {
        ErrorKind::BadParams => Failure::Usage(e.message),
        _ => Failure::Coze(e),
    }
}

/// `coze-tui login`: the device grant, shown on the terminal; the tokens kept for the profile.
async fn login(settings: &Settings, workspace: Option<&str>, no_qr: bool, json: bool) -> Result<(), Failure> {
    if let Some(refused) = crate::auth::refused_on_studio(settings).await {
        return Err(Failure::Usage(refused));
    }
    let client_id = crate::auth::client_id(settings).map_err(sign_in_failure)?;
    let base = settings.profile.base_url.clone();
    let code = crate::auth::device_code(&base, &client_id, workspace).await.map_err(sign_in_failure)?;
    let url = code.verification_url();
    // On stderr: stdout stays for --json.
    eprintln!("Open {url}");
    eprintln!(
        "and enter the code {} (valid {} min) to sign in {:?}.",
        code.user_code,
        code.expires_in / 60,
        settings.profile_name
    );
    if !no_qr && let Some(qr) = crate::auth::qr_lines(&url) {
        eprintln!("Or scan it:");
        qr.iter().for_each(|l| eprintln!("{l}"));
    }
    eprintln!("Waiting for approval… (Ctrl-C cancels)");
    let waited = tokio::select! {
        got = crate::auth::wait_for_approval(&base, &client_id, &code, || {}) => got,
        _ = tokio::signal::ctrl_c() => return Err(Failure::Usage("sign-in cancelled; nothing was kept".into())),
    };
    let credential = waited.map_err(|e| Failure::Usage(e.to_string()))?;
    let path = crate::auth::credentials::path_for(&settings.config_path);
    crate::auth::credentials::store_locked(&path, &settings.profile_name, Some(&credential)).map_err(Failure::Usage)?;
    let ends = crate::tasks::rfc3339(credential.expires_at.saturating_mul(1000));
    if json {
        print_json(
            &json!({"profile": settings.profile_name, "signed_in": true, "expires_at": ends, "credentials": path}),
        );
    } else {
        eprintln!("Signed in: profile {:?} ({}); renewed as it is used.", settings.profile_name, settings.region());
        if !settings.profile.api_token.is_empty() {
            eprintln!(
                "Note: this profile also has a token ({}), which wins; remove it to use the sign-in.",
                settings.token_source
            );
        }
    }
    Ok(())
}

fn logout(settings: &Settings, json: bool) -> Result<(), Failure> {
    let path = crate::auth::credentials::path_for(&settings.config_path);
    let had = crate::auth::credentials::load(&path, &settings.profile_name).map_err(Failure::Usage)?.is_some();
    if had {
        crate::auth::credentials::store_locked(&path, &settings.profile_name, None).map_err(Failure::Usage)?;
    }
    if json {
        print_json(&json!({"profile": settings.profile_name, "signed_out": had}));
    } else if had {
        eprintln!("Signed out of profile {:?}: its tokens are forgotten.", settings.profile_name);
    } else {
        eprintln!("Profile {:?} was not signed in.", settings.profile_name);
    }
    Ok(())
}

async fn health(settings: &Settings, json: bool) -> Result<(), Failure> {
    let mut opts = settings.client_options()?;
    // One honest attempt: retries would hide the latency and delay the verdict.
    opts.retry = RetryPolicy { max_retries: 0, ..opts.retry };
    // One ledger: the request goes through its budget, and its count is read from it after.
    let ledger = crate::tasks::Ledger::open_in(&settings.data_dir).map(std::sync::Arc::new);
    let client =
        CozeClient::new(opts).map_err(|e| Failure::Usage(e.message))?.with_gate(gate_on(settings, ledger.clone()));
    let started = Instant::now();
    let result = client.check_token().await;
    let counts = ledger.ok().and_then(|l| l.requests_on(&settings.profile_name, &crate::tasks::budget::today()).ok());
    let latency = started.elapsed().as_millis() as u64;
    let mut h = Health {
        profile: settings.profile_name.clone(),
        base_url: client.base_url().to_string(),
        region: settings.region(),
        reachable: false,
        auth_ok: false,
        latency_ms: None,
        workspaces: None,
        logid: None,
        error: None,
        requests_today: counts.map(|c| c.total()),
        requests_today_by_kind: counts,
        daily_request_limit: settings.profile.daily_request_limit,
        credential: match settings.token_source {
            config::Source::Env => "env",
            config::Source::SignedIn => "oauth",
            config::Source::Jwt => "jwt",
            _ => "pat",
        },
        expires_at: settings.token_expires_at.map(|s| crate::tasks::rfc3339(s.saturating_mul(1000))),
        server: client.server().map(|s| s.as_str()),
    };
    let code = match &result {
        Ok(reply) => {
            h.reachable = true;
            h.auth_ok = true;
            h.latency_ms = Some(latency);
            h.workspaces = reply.value;
            h.logid = reply.logid.clone();
            ExitCode::Success
        }
        Err(e) => {
            h.reachable = !matches!(e.kind, ErrorKind::Network | ErrorKind::Timeout);
            h.latency_ms = h.reachable.then_some(latency);
            h.logid = e.logid.clone();
            h.error = Some(error_json(e));
            exit_code_for(e)
        }
    };
    if json {
        print_json(&h);
    } else {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        println!("profile:    {} ({})", h.profile, h.region);
        println!("base URL:   {}", h.base_url);
        match client.server() {
            Some(crate::coze::Server::Studio) => println!("server:     Coze Studio at {}", settings.region()),
            Some(crate::coze::Server::Coze) => println!("server:     Coze ({})", settings.region()),
            None => {}
        }
        println!("reachable:  {}", yes_no(h.reachable));
        let ends =
            settings.token_expires_at.map(|s| format!(", ends {}", crate::text::local_time(s.saturating_mul(1000))));
        println!("token:      {} ({}{})", h.credential, settings.token_source, ends.unwrap_or_default());
        println!(
            "auth:       {}",
            if h.auth_ok {
                "ok"
            } else if h.reachable {
                "refused"
            } else {
                "unknown"
            }
        );
        if let Some(ms) = h.latency_ms {
            println!("latency:    {ms} ms");
        }
        if let Some(n) = h.workspaces {
            println!("workspaces: {n}");
        }
        if let Some(l) = &h.logid {
            println!("logid:      {l}");
        }
        if let Some(c) = &h.requests_today_by_kind {
            let limit = h.daily_request_limit.map(|n| format!(" of {n} allowed")).unwrap_or_default();
            println!(
                "requests:   {} today{limit} ({} reads, {} run starts, {} polls)",
                c.total(),
                c.read,
                c.run,
                c.poll
            );
        }
        if let Err(e) = &result {
            eprintln!("error: {e}");
            eprintln!("  hint: {}", e.hint());
        }
    }
    if code == ExitCode::Success { Ok(()) } else { Err(Failure::Exit(code)) }
}

// ---- listings -------------------------------------------------------------------------------

async fn workspaces(client: &CozeClient, json: bool) -> Result<(), Failure> {
    let list = client.list_workspaces().await?.value;
    if json {
        print_json(&list);
        return Ok(());
    }
    let mut t = Table::new(&[("ID", 19), ("TYPE", 8), ("ROLE", 6), ("NAME", 60)]);
    for w in &list {
        t.row(vec![w.id.clone(), w.workspace_type.clone(), w.role_type.clone(), w.name.clone()]);
    }
    print!("{}", t.render(terminal_width()));
    Ok(())
}

async fn workflows(
    settings: &Settings,
    client: &CozeClient,
    workspace: &str,
    status: PublishStatus,
    json: bool,
) -> Result<(), Failure> {
    let list = match status {
        PublishStatus::All => client.list_workflows_marked(workspace).await?,
        other => client.list_workflows(workspace, other, None).await?,
    }
    .value;
    // A whole listing: its names can stand for ids from now on.
    if status == PublishStatus::All
        && let Ok(ledger) = crate::tasks::Ledger::open_in(&settings.data_dir)
    {
        crate::catalogue::remember(&ledger, &settings.profile_name, workspace, &list);
    }
    if json {
        print_json(&list);
        return Ok(());
    }
    let mut t = Table::new(&[("ID", 19), ("STATUS", 9), ("UPDATED", 16), ("NAME", 48), ("DESCRIPTION", 60)]);
    for w in &list {
        let state = match w.is_published {
            Some(true) => "published",
            Some(false) => "draft",
            None => "-",
        };
        t.row(vec![
            w.workflow_id.clone(),
            state.into(),
            local_time(w.updated_at),
            w.workflow_name.clone(),
            w.description.clone(),
        ]);
    }
    print!("{}", t.render(terminal_width()));
    if list.is_empty() {
        eprintln!("no workflows (publish status {})", status.as_str());
    }
    Ok(())
}

/// Every workflow the profile can see (on Coze Studio, the ones coze-tui knows of).
async fn all_workflows(settings: &Settings, client: &CozeClient, json: bool) -> Result<(), Failure> {
    let ledger = std::sync::Arc::new(crate::tasks::Ledger::open_in(&settings.data_dir)?);
    let known = crate::catalogue::refresh(&ledger, &settings.profile_name, client, &settings.profile.workflows).await?;
    if json {
        let list: Vec<Value> = known
            .iter()
            .map(|w| json!({"workflow_id": w.workflow_id, "workflow_name": w.name, "workspace_id": w.workspace_id}))
            .collect();
        print_json(&list);
        return Ok(());
    }
    let mut t = Table::new(&[("ID", 19), ("WORKSPACE", 19), ("NAME", 60)]);
    for w in &known {
        t.row(vec![w.workflow_id.clone(), w.workspace_id.clone(), w.name.clone()]);
    }
    print!("{}", t.render(terminal_width()));
    if known.is_empty() && client.is_studio() {
        eprintln!(
            "no workflows yet: Coze Studio cannot list them; name them in the profile ([[profiles.{}.workflows]] with id and name) or run one by id",
            settings.profile_name
        );
    }
    Ok(())
}

async fn workflow(client: &CozeClient, id: &str, json: bool) -> Result<(), Failure> {
    let info = client.workflow_info(id, true).await?.value;
    if info.io_hidden && !json {
        let kind = if info.is_chatflow() { "a chatflow" } else { "a workflow" };
        println!("{id}: {kind} on Coze Studio, which shows a token no name, inputs or outputs;");
        println!(
            "give a run its parameters (coze-tui run {id} --params JSON); the dashboard's editor starts from the last run's"
        );
        return Ok(());
    }
    if json {
        print_json(&info);
        return Ok(());
    }
    let d = &info.workflow_detail;
    println!("{}  ({})", d.workflow_name, d.workflow_id);
    if !d.description.is_empty() {
        println!("{}", d.description);
    }
    println!(
        "created {} · updated {} · by {}",
        local_time(d.created_at),
        local_time(d.updated_at),
        if d.creator.name.is_empty() { "-" } else { &d.creator.name }
    );
    if d.app_id != "0" && !d.app_id.is_empty() {
        println!("app: {}", d.app_id);
    }
    if info.is_chatflow() {
        println!("a chatflow: it talks in conversations (`coze-tui chat {} --message TEXT`)", d.workflow_id);
    }
    let print_params = |title: &str, params: Option<&crate::coze::OrderedParams>| {
        println!("\n{title}:");
        let Some(params) = params.filter(|p| !p.is_empty()) else {
            println!("  (none)");
            return;
        };
        let mut t = Table::new(&[("  NAME", 32), ("TYPE", 14), ("REQUIRED", 8), ("DEFAULT", 16), ("DESCRIPTION", 60)]);
        fn add(t: &mut Table, prefix: &str, name: &str, p: &Parameter) {
            let full = format!("{prefix}{name}");
            let kind = match &p.items {
                Some(items) => format!("{}<{}>", p.kind, items.kind),
                None => p.kind.clone(),
            };
            t.row(vec![
                format!("  {full}"),
                kind,
                if p.required { "yes".into() } else { "".into() },
                p.default_value.clone().unwrap_or_default(),
                p.description.clone(),
            ]);
            if let Some(props) = &p.properties {
                for (k, v) in props.iter() {
                    add(t, &format!("{full}."), k, v);
                }
            }
        }
        for (name, p) in params.iter() {
            add(&mut t, "", name, p);
        }
        print!("{}", t.render(terminal_width()));
    };
    print_params("inputs", info.input.as_ref().map(|i| &i.parameters));
    print_params("outputs", info.output.as_ref().map(|o| &o.parameters));
    if let Some(plan) = info.output.as_ref().and_then(|o| o.terminate_plan.as_deref()) {
        println!("  ends by: {plan}");
    }
    Ok(())
}

async fn versions(client: &CozeClient, id: &str, json: bool) -> Result<(), Failure> {
    let list = client.workflow_versions(id, PublishStatus::All).await?.value;
    if json {
        print_json(&list);
        return Ok(());
    }
    if list.is_empty() {
        eprintln!("no published versions (a draft has none until it is published)");
        return Ok(());
    }
    let mut t = Table::new(&[("VERSION", 12), ("CREATED", 16), ("BY", 16), ("DESCRIPTION", 60)]);
    for v in &list {
        t.row(vec![v.version.clone(), local_time(v.created_at), v.creator.name.clone(), v.description.clone()]);
    }
    print!("{}", t.render(terminal_width()));
    Ok(())
}

// ---- run ------------------------------------------------------------------------------------

async fn run_command(mut cmd: RunCommand, settings: &Settings, json: bool) -> Result<(), Failure> {
    if let Some(inputs) = &cmd.inputs {
        // Every line is checked before anything is sent (a name is looked up only then).
        let inputs = batch::read_inputs(inputs).map_err(Failure::Usage)?;
        cmd.workflow_id = names::resolve(settings, &client(settings)?, &cmd.workflow_id).await?;
        let mode = cmd.mode.unwrap_or(if cmd.detach { RunMode::Async } else { RunMode::Sync });
        let b = batch::Batch {
            workflow_id: cmd.workflow_id,
            inputs,
            mode,
            concurrency: cmd.concurrency.map_or(crate::tasks::DEFAULT_CONCURRENCY, usize::from),
            detach: cmd.detach,
            name: cmd.name,
            description: cmd.description,
            validate: !cmd.no_validate,
            inputs_args: cmd.inputs_args,
        };
        return batch::run_batch(b, settings, json).await;
    }
    let mode = match (cmd.mode, cmd.detach) {
        (None, true) | (Some(RunMode::Async), _) => RunMode::Async,
        (Some(m), true) => return Err(Failure::Usage(format!("--detach needs --mode async, not {}", m.as_str()))),
        (Some(m), false) => m,
        (None, false) => RunMode::Sync,
    };
    // Parameters and files are checked before anything is sent (a name is looked up only then).
    let mut parameters = params::load(cmd.params.as_deref(), std::io::stdin()).map_err(Failure::Usage)?;
    let files = inputs::check_files(&cmd.inputs_args, &parameters)?;
    cmd.workflow_id = names::resolve(settings, &client(settings)?, &cmd.workflow_id).await?;
    let runner = run::open_runner(settings, false).await?;
    let prepared = run::before_sending(&runner, async {
        // One lookup: the name (for people) and the input schema (the version's, with
        // --version) the parameters are checked against.
        let target = inputs::target(&runner, settings, &cmd.workflow_id, cmd.inputs_args.version.as_deref()).await?;
        if target.chatflow {
            return Err(Failure::Usage(format!(
                "{} is a chatflow: it talks in conversations, so talk to it with `coze-tui chat {} --message TEXT`",
                target.name.as_deref().filter(|n| !n.is_empty()).unwrap_or(&cmd.workflow_id),
                cmd.workflow_id
            )));
        }
        let (workflow_name, schema) = (target.name, target.schema);
        let mut context = inputs::context(&cmd.inputs_args, &runner, &cmd.workflow_id, &settings.profile_name)?;
        // Everything is checked before a file is uploaded; the schema still says which
        // inputs take lists when the checks are off.
        if !cmd.no_validate {
            inputs::check_names(&files, schema.as_ref())?;
            if let Some(schema) = &schema {
                let trial = inputs::with_stand_ins(&files, Some(schema), &parameters);
                let warnings = params::check_schema(&trial, Some(schema), "--params").map_err(Failure::Usage)?;
                warnings.iter().for_each(|w| eprintln!("warning: {w}"));
            }
        }
        context.files =
            inputs::attach(&runner, &settings.profile_name, files, schema.as_ref(), &mut parameters, !json).await?;
        Ok::<_, Failure>((workflow_name, context))
    })
    .await;
    let (workflow_name, context) = prepared?;
    let rx = runner.subscribe();
    let new = NewTask {
        workflow_id: cmd.workflow_id,
        workflow_name,
        workspace_id: None,
        parameters,
        mode,
        name: cmd.name,
        description: cmd.description,
        context,
    };
    let task = runner.submit(new).await?;
    finish_run(&runner, rx, &task.id, json, cmd.detach).await
}

async fn upload_command(path: &std::path::Path, settings: &Settings, json: bool) -> Result<(), Failure> {
    let file = crate::upload::check(path).map_err(Failure::Usage)?;
    let runner = run::open_runner_with(settings, |cfg| cfg.adopt_orphans = false).await?;
    let mut none = serde_json::Map::new();
    let attached =
        inputs::attach(&runner, &settings.profile_name, vec![(String::new(), file.clone())], None, &mut none, !json)
            .await;
    runner.shutdown().await;
    let got = attached?.remove(0);
    end_quietly_on_a_closed_pipe();
    if json {
        print_json(&serde_json::json!({"id": got.file_id, "file_name": got.name, "bytes": file.bytes}));
    } else {
        println!("{}", got.file_id);
    }
    Ok(())
}

/// Follows a task to its end (or, detached, until it has an execute id), prints it, and
/// turns its state into the exit code.
async fn finish_run(
    runner: &crate::tasks::Runner,
    rx: tokio::sync::broadcast::Receiver<crate::tasks::TaskUpdate>,
    id: &str,
    json: bool,
    detach: bool,
) -> Result<(), Failure> {
    let task = run::follow(runner, rx, id, !json, detach).await;
    // The run is recorded: a closed stdout may end the process now.
    runner.shutdown().await;
    end_quietly_on_a_closed_pipe();
    print_task(&task, json, detach);
    match run::exit_code(&task) {
        ExitCode::Success => Ok(()),
        code => Err(Failure::Exit(code)),
    }
}

fn print_task(task: &crate::tasks::Task, json: bool, detach: bool) {
    if json {
        print_json(&task.to_json());
    } else {
        // Detached, stdout is the task id (even if the run had to finish as a stream), for
        // `id=$(coze-tui run … --detach)`.
        run::print_outcome(task, detach);
    }
}

fn tasks_command(cmd: TasksCommand, settings: &Settings, json: bool) -> Result<(), Failure> {
    let ledger = run::open_ledger(settings)?;
    if let Some(TasksAction::Prune { before, status, dry_run, all_profiles }) = cmd.action {
        let cutoff = run::parse_before(&before).map_err(Failure::Usage)?;
        if let Some(s) = status.iter().find(|s| !s.is_finished()) {
            return Err(Failure::Usage(format!(
                "--status {}: prune deletes finished tasks only (succeeded, failed, unknown)",
                s.as_str()
            )));
        }
        let profile = (!all_profiles).then_some(settings.profile_name.as_str());
        let pruned = ledger.prune(cutoff, profile, &status, dry_run)?;
        if json {
            print_json(&json!({
                "deleted": if dry_run { 0 } else { pruned.len() },
                "dry_run": dry_run,
                "tasks": pruned.iter().map(crate::tasks::TaskSummary::to_json).collect::<Vec<_>>(),
            }));
        } else {
            run::print_table(&pruned);
            let verb = if dry_run { "would delete" } else { "deleted" };
            eprintln!("{verb} {} finished task(s) created before {}", pruned.len(), crate::tasks::rfc3339(cutoff));
        }
        return Ok(());
    }
    let filter = TaskFilter {
        profile: (!cmd.all_profiles).then(|| settings.profile_name.clone()),
        statuses: cmd.status,
        workflow_id: cmd.workflow.map(|w| names::known_id(&ledger, &settings.profile_name, &w)).transpose()?,
        text: cmd.name,
        before: None,
        limit: cmd.limit as usize,
    };
    if json {
        run::print_list(&ledger.list(&filter)?, true);
    } else {
        // The table needs no outputs or parameters: a summary is all it reads.
        run::print_table(&ledger.summaries(&filter)?);
    }
    Ok(())
}
