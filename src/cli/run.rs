//! Runs as tasks from the command line: `run`, `resume`, `rerun`, `tasks`, `task`, `watch`,
//! `tasks prune`. Every run goes through the runner, so it is recorded in the ledger.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::output::{Table, print_json, terminal_width, truncate};
use super::{ExitCode, Failure};
use crate::config::Settings;
use crate::coze::{ErrorKind, is_end_node};
use crate::tasks::*;

impl From<LedgerError> for Failure {
    fn from(e: LedgerError) -> Self {
        Failure::Usage(e.to_string())
    }
}

impl From<RunnerError> for Failure {
    fn from(e: RunnerError) -> Self {
        Failure::Usage(e.to_string())
    }
}

/// The exit code a task's state calls for (DESIGN.md §3).
pub fn exit_code(task: &Task) -> ExitCode {
    match task.status {
        TaskStatus::Pending | TaskStatus::Running | TaskStatus::Succeeded => ExitCode::Success,
        TaskStatus::Interrupted => ExitCode::Interrupted,
        TaskStatus::Unknown => ExitCode::Network,
        TaskStatus::Failed => match task.error.as_ref().and_then(|e| e.kind.as_deref()).and_then(ErrorKind::parse) {
            None | Some(ErrorKind::Api) => ExitCode::RunFailed,
            Some(ErrorKind::Unsupported) => ExitCode::Usage,
            Some(k) if k.is_refusal() => ExitCode::Refused,
            Some(_) => ExitCode::Network,
        },
    }
}

/// Awaits what must be done before anything is sent (lookups, checks, uploads); if it fails,
/// the runner is stopped before the error is returned.
pub async fn before_sending<T>(runner: &Runner, work: impl Future<Output = Result<T, Failure>>) -> Result<T, Failure> {
    let done = work.await;
    if done.is_err() {
        runner.shutdown().await;
    }
    done
}

/// Opens the ledger and starts a runner for the active profile.
pub async fn open_runner(settings: &Settings, adopt_orphans: bool) -> Result<Runner, Failure> {
    open_runner_with(settings, |cfg| cfg.adopt_orphans = adopt_orphans).await
}

/// [`open_runner`] with the runner's settings adjusted by `adjust`.
pub async fn open_runner_with(settings: &Settings, adjust: impl FnOnce(&mut RunnerConfig)) -> Result<Runner, Failure> {
    let client = super::plain_client(settings)?;
    let dir = settings.data_dir.clone();
    let ledger = tokio::task::spawn_blocking(move || Ledger::open_in(&dir))
        .await
        .map_err(|e| Failure::Usage(format!("cannot open the ledger: {e}")))??;
    let mut cfg = RunnerConfig::new(settings.profile_name.clone(), settings.profile.poll.clone());
    cfg.daily_request_limit = settings.profile.daily_request_limit;
    adjust(&mut cfg);
    Ok(Runner::start(client, Arc::new(ledger), cfg).await)
}

/// Opens the ledger alone, for commands that only read it.
pub fn open_ledger(settings: &Settings) -> Result<Ledger, Failure> {
    Ok(Ledger::open_in(&settings.data_dir)?)
}

/// Prints a task's messages as they arrive and returns it once it settles. With `detach`,
/// returns as soon as the run has an execute id (it goes on without us).
pub async fn follow(runner: &Runner, rx: broadcast::Receiver<TaskUpdate>, id: &str, human: bool, detach: bool) -> Task {
    let mut printer = StreamPrinter { on: human, node: None, open_line: false };
    let task =
        follow_with(runner, rx, id, detach, |e| printer.message(&e.node_title, &e.content, e.node_is_finish)).await;
    printer.end_line();
    task
}

/// Follows a task to its end (or, detached, until it has an execute id), handing each
/// streamed message to `on_message`.
pub async fn follow_with(
    runner: &Runner,
    mut rx: broadcast::Receiver<TaskUpdate>,
    id: &str,
    detach: bool,
    mut on_message: impl FnMut(&crate::tasks::TaskEvent),
) -> Task {
    let mut task = runner.find(id).await.ok();
    loop {
        if let Some(t) = &task
            && (t.status.is_settled() || (detach && t.execute_id.is_some()))
        {
            break;
        }
        match rx.recv().await {
            Ok(TaskUpdate::Event { task_id, event }) if task_id == id => on_message(&event),
            Ok(TaskUpdate::Changed(t)) if t.id == id => task = Some((*t).clone()),
            Ok(TaskUpdate::Deleted(d)) if d == id => break,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => task = runner.find(id).await.ok(),
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
    match task {
        Some(t) => t,
        None => runner.find(id).await.unwrap_or_else(|_| vanished(id)),
    }
}

/// A task deleted while being followed: report it as unknown rather than crash.
fn vanished(id: &str) -> Task {
    Task {
        status: TaskStatus::Unknown,
        notes: vec!["the task was deleted while it was being followed".into()],
        ..Task::pending(id.to_string(), String::new(), String::new(), RunMode::Sync, now_ms())
    }
}

/// Prints streamed messages as they arrive: a header per node, chunks appended. On stderr, so
/// stdout holds only the output.
struct StreamPrinter {
    on: bool,
    node: Option<String>,
    open_line: bool,
}

impl StreamPrinter {
    fn message(&mut self, node: &str, content: &str, finished: bool) {
        if !self.on || is_end_node(node) {
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.node.as_deref() != Some(node) {
            self.end_line_on(&mut err);
            let _ = writeln!(err, "▸ {node}");
            self.node = Some(node.to_string());
        }
        let _ = write!(err, "{content}");
        self.open_line = !content.ends_with('\n');
        if finished {
            self.end_line_on(&mut err);
        }
        let _ = err.flush();
    }

    fn end_line(&mut self) {
        let mut err = std::io::stderr().lock();
        self.end_line_on(&mut err);
    }

    fn end_line_on(&mut self, err: &mut impl Write) {
        if self.on && self.open_line {
            let _ = writeln!(err);
            self.open_line = false;
        }
    }
}

fn paint(code: &str, s: &str) -> String {
    if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn status_label(s: TaskStatus) -> String {
    let code = match s {
        TaskStatus::Succeeded => "32",
        TaskStatus::Failed => "31",
        TaskStatus::Interrupted => "33",
        TaskStatus::Unknown => "35",
        TaskStatus::Pending | TaskStatus::Running => "36",
    };
    paint(code, &format!("{} {}", s.symbol(), s.as_str()))
}

/// A finished run for people: the output on stdout, everything else on stderr.
/// With `id_only`, stdout gets the task id instead of the output (`run --detach`).
pub fn print_outcome(task: &Task, id_only: bool) {
    let mut err = std::io::stderr().lock();
    let exec = task.execute_id.as_deref().map(|e| format!(" · execute id {e}")).unwrap_or_default();
    let logid = task.logid.as_deref().map(|l| format!(" · logid {l}")).unwrap_or_default();
    let mode = if task.mode != task.requested_mode {
        format!("{} (asked {})", task.mode.as_str(), task.requested_mode.as_str())
    } else {
        task.mode.as_str().to_string()
    };
    let _ = writeln!(err, "{} task {} · {mode}{exec}{logid}", status_label(task.status), task.id);
    if let Some(i) = &task.interrupt.as_ref().filter(|_| task.status == TaskStatus::Interrupted) {
        let _ = writeln!(err, "  question: {}", i.question.as_deref().unwrap_or("(none given)"));
        let _ = writeln!(err, "  answer it: coze-tui resume {} --answer '...'", task.id);
    }
    if let Some(e) = &task.error {
        let code = e.code.map(|c| format!("{c}: ")).unwrap_or_default();
        let _ = writeln!(err, "  error: {code}{}", e.message);
    }
    for note in &task.notes {
        let _ = writeln!(err, "  note: {note}");
    }
    if task.status == TaskStatus::Running {
        let _ = writeln!(
            err,
            "  it runs on in the background: `coze-tui watch` follows it, `coze-tui task {}` shows it",
            task.id
        );
    }
    if let Some(url) = &task.debug_url {
        let _ = writeln!(err, "  debug: {url}");
    }
    drop(err);
    if id_only {
        println!("{}", task.id);
    } else if let Some(output) = task.decoded_output() {
        println!("{}", pretty(&output));
    }
}

fn pretty(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        v => serde_json::to_string_pretty(v).unwrap_or_default(),
    }
}

fn local(ms: i64) -> String {
    crate::text::local_time(ms)
}

/// `coze-tui tasks`: newest first; `--json` has every field.
pub fn print_list(tasks: &[Task], json: bool) {
    if json {
        print_json(&tasks.iter().map(Task::to_json).collect::<Vec<_>>());
    } else {
        print_table(&tasks.iter().map(TaskSummary::from).collect::<Vec<_>>());
    }
}

/// Tasks as a table, newest first.
pub fn print_table(tasks: &[TaskSummary]) {
    if tasks.is_empty() {
        eprintln!("no tasks (runs appear here once started with `coze-tui run` or the dashboard)");
        return;
    }
    let now = now_ms();
    let mut t = Table::new(&[
        ("ID", 12),
        ("STATUS", 13),
        ("MODE", 6),
        ("WORKFLOW", 24),
        ("NAME", 20),
        ("CREATED", 19),
        ("TIME", 8),
        ("LAST", 60),
    ]);
    for task in tasks {
        let last = match (&task.error, &task.interrupt, &task.last_message) {
            (Some(e), _, _) => e.message.clone(),
            (None, Some(i), _) if task.status == TaskStatus::Interrupted => {
                format!("asks: {}", i.question.as_deref().unwrap_or("?"))
            }
            (None, _, Some(m)) => m.clone(),
            _ => String::new(),
        };
        t.row(vec![
            task.id.clone(),
            format!("{} {}", task.status.symbol(), task.status.as_str()),
            task.mode.as_str().into(),
            task.workflow_name.clone().unwrap_or_else(|| task.workflow_id.clone()),
            task.name.clone().unwrap_or_default(),
            local(task.created_at),
            human_duration(task.elapsed_ms(now)),
            last,
        ]);
    }
    print!("{}", t.render(terminal_width()));
}

/// `coze-tui task ID`: everything about one task.
pub fn print_detail(task: &Task, events: &[TaskEvent], history: &[StatusChange], json: bool) {
    if json {
        let mut doc = task.to_json();
        doc["events"] = json!(events);
        doc["history"] = json!(history);
        doc["event_count"] = json!(task.event_count);
        doc["events_dropped"] = json!(task.events_dropped);
        print_json(&doc);
        return;
    }
    let field = |k: &str, v: &str| println!("{:<13} {v}", format!("{k}:"));
    field("task", &task.id);
    field("status", &format!("{} {}", task.status.symbol(), task.status.as_str()));
    field("workflow", &format!("{} ({})", task.workflow_name.as_deref().unwrap_or("?"), task.workflow_id));
    if let Some(n) = &task.name {
        field("name", n);
    }
    if let Some(d) = &task.description {
        field("description", d);
    }
    let mode = if task.mode != task.requested_mode {
        format!("{} (asked {})", task.mode.as_str(), task.requested_mode.as_str())
    } else {
        task.mode.as_str().into()
    };
    field("mode", &mode);
    field("profile", &task.profile);
    let clock = crate::text::Clock::system();
    field("created", &clock.when(task.created_at));
    if let Some(f) = task.finished_at {
        let waited = match task.waited_ms {
            0 => String::new(),
            w => format!("; waited {} for answers", human_duration(w)),
        };
        field("finished", &format!("{} (took {}{waited})", clock.time(f), human_duration(task.elapsed_ms(f))));
    }
    for (k, v) in [("execute id", &task.execute_id), ("logid", &task.logid), ("debug url", &task.debug_url)] {
        if let Some(v) = v {
            field(k, v);
        }
    }
    if let Some(u) = &task.usage {
        field(
            "usage",
            &format!(
                "{} tokens ({} in, {} out)",
                u.token_count.unwrap_or(0),
                u.input_count.unwrap_or(0),
                u.output_count.unwrap_or(0)
            ),
        );
    }
    if let Some(e) = &task.error {
        field("error", &format!("{}{}", e.code.map(|c| format!("{c}: ")).unwrap_or_default(), e.message));
    }
    for (label, line) in task.context.lines() {
        field(label, &line);
    }
    if let Some(i) = &task.interrupt {
        field(if i.is_form() { "form" } else { "question" }, i.question.as_deref().unwrap_or("(none given)"));
        if let Some(fields) = i.fields_line() {
            field("fields", &format!("{fields}  (answer with --answer-json '{{…}}')"));
        } else if i.interrupt_type != 2 {
            field("kind", &i.kind_name());
        }
        field("answers", &i.answers.to_string());
    }
    for n in &task.notes {
        field("note", n);
    }
    println!(
        "\nparameters:\n{}",
        serde_json::to_string_pretty(&Value::Object(task.parameters.clone())).unwrap_or_default()
    );
    if let Some(out) = task.decoded_output() {
        println!("\noutput:\n{}", pretty(&out));
    }
    if !events.is_empty() {
        println!(
            "\nmessages ({}{}):",
            task.event_count,
            if task.events_dropped > 0 { format!(", {} more not kept", task.events_dropped) } else { String::new() }
        );
        let mut node: Option<&str> = None;
        for e in events {
            if node != Some(e.node_title.as_str()) {
                println!("▸ {}", if e.node_title.is_empty() { "(end)" } else { &e.node_title });
                node = Some(&e.node_title);
            }
            println!("  {}", truncate(&e.content, 2000));
        }
    }
    println!("\nhistory:");
    for h in history {
        println!("  {}  {:<11} {}", local(h.at), h.status.as_str(), h.note.as_deref().unwrap_or(""));
    }
}

/// Parses `--before`: a date (`2026-11-01`, local midnight), a timestamp, or an age in days,
/// hours or weeks (`30d`, `12h`, `2w`).
pub fn parse_before(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let bad = || {
        format!(
            "invalid --before {s:?}: use a date (2026-11-01), a timestamp (2026-11-01T12:00:00Z) or an age (30d, 12h, 2w)"
        )
    };
    let unit_ms = |u: &str| match u {
        "d" => Some(86_400_000i64),
        "h" => Some(3_600_000),
        "w" => Some(7 * 86_400_000),
        _ => None,
    };
    if let Some((n, per)) = s.find(|c: char| !c.is_ascii_digit()).and_then(|i| Some((&s[..i], unit_ms(&s[i..])?)))
        && !n.is_empty()
    {
        let age = n.parse::<i64>().ok().and_then(|n| n.checked_mul(per)).ok_or_else(bad)?;
        return now_ms().checked_sub(age).ok_or_else(bad);
    }
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    if let Ok(date) = s.parse::<jiff::civil::Date>() {
        return date
            .to_zoned(jiff::tz::TimeZone::system())
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|e| format!("invalid date {s:?}: {e}"));
    }
    Err(bad())
}

/// `coze-tui watch`: follows unsettled tasks (its own and other processes') until none remain.
/// It follows the ledger's change feed, so its cost grows with the changes, not with the
/// number of tasks watched.
pub async fn watch(runner: &Runner, profile: &str, json: bool) -> Result<(), Failure> {
    let mut seen: HashMap<String, (TaskStatus, i64)> = HashMap::new();
    let mut watched: HashMap<String, TaskSummary> = HashMap::new();
    let report = |t: &TaskSummary, seen: &mut HashMap<String, (TaskStatus, i64)>| {
        let prev = seen.insert(t.id.clone(), (t.status, t.updated_at));
        if prev.map(|p| p.0) != Some(t.status) && !json {
            let name = t.workflow_name.as_deref().unwrap_or(&t.workflow_id);
            let extra = match (&t.error, &t.interrupt) {
                (Some(e), _) => format!(" · {}", e.message),
                (None, Some(i)) if t.status == TaskStatus::Interrupted => {
                    format!(" · asks: {}", i.question.as_deref().unwrap_or("?"))
                }
                _ => String::new(),
            };
            // A closed stdout must not stop the watch: it drives runs.
            let _ = writeln!(
                std::io::stdout(),
                "{}  {}  {:<8} {} {name}{extra}",
                local(t.updated_at),
                t.id,
                t.mode.as_str(),
                status_label(t.status)
            );
        }
    };
    // This profile's runs: another profile's need its token, and another process to watch them.
    // The feed goes on from the list's revision, so nothing falls between the two.
    let mut feed = TaskFeed::new(runner, profile, Duration::from_secs(1));
    let unsettled =
        TaskFilter { statuses: vec![TaskStatus::Pending, TaskStatus::Running], limit: 100_000, ..Default::default() };
    let initial = feed.snapshot(unsettled).await?;
    if initial.is_empty() && runner.active_count() == 0 {
        if json {
            print_json(&Vec::<Value>::new());
        } else {
            eprintln!("no running tasks to watch");
        }
        return Ok(());
    }
    for t in initial {
        report(&t, &mut seen);
        watched.insert(t.id.clone(), t);
    }
    // Created once: a signal listener only hears signals sent after it exists.
    let shutdown = super::wait_for_shutdown();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            // Its own runs and other processes' alike, in the order the ledger took them.
            changes = feed.next() => {
                let Ok(changes) = changes else { continue };
                for t in changes.tasks.iter().map(TaskSummary::from) {
                    // New runs (another terminal's) join the watch; settled strangers do not.
                    if !watched.contains_key(&t.id) && t.status.is_settled() {
                        continue;
                    }
                    if seen.get(&t.id).map(|s| s.1) != Some(t.updated_at) {
                        report(&t, &mut seen);
                    }
                    watched.insert(t.id.clone(), t);
                }
                for id in changes.deleted {
                    watched.remove(&id);
                }
                if watched.values().all(|t| t.status.is_settled()) && runner.active_count() == 0 {
                    break;
                }
            }
            _ = &mut shutdown => break,
        }
    }
    runner.shutdown().await;
    super::end_quietly_on_a_closed_pipe();
    if json {
        // In full, as the ledger has them now.
        let mut tasks = runner.find_all(watched.into_keys().collect()).await?;
        tasks.sort_by_key(|t| std::cmp::Reverse(t.created_at));
        print_json(&tasks.iter().map(Task::to_json).collect::<Vec<_>>());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_accepts_dates_timestamps_and_ages() {
        assert!(parse_before("2026-11-01").is_ok());
        assert_eq!(parse_before("2026-11-01T00:00:00Z").unwrap(), 1_793_491_200_000);
        let week = parse_before("7d").unwrap();
        assert!((now_ms() - week - 7 * 86_400_000).abs() < 5_000);
        assert!(parse_before("last tuesday").is_err());
        assert!(parse_before("6m").is_err(), "minutes or months? refused");
        assert!(parse_before("99999999999999999d").is_err(), "no overflow");
    }
}
