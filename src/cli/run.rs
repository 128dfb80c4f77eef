//! `coze-tui run`: sync, async (polled) and streamed runs, reported as one task-shaped record.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use super::ExitCode;
use crate::config::PollSettings;
use crate::coze::{
    CozeClient, CozeError, ErrorKind, ExecuteStatus, InterruptData, RunRequest, StreamEnd, Usage, WorkflowEvent,
    decode_output, execute_id_from_debug_url,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Sync,
    Async,
    Stream,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sync => "sync",
            Mode::Async => "async",
            Mode::Stream => "stream",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorDoc {
    pub code: Option<i64>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logid: Option<String>,
    pub hint: String,
}

impl From<&CozeError> for ErrorDoc {
    fn from(e: &CozeError) -> Self {
        Self { code: e.code, message: e.message.clone(), logid: e.logid.clone(), hint: e.hint().to_string() }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct InterruptDoc {
    pub question: Option<String>,
    pub event_id: String,
    pub interrupt_type: Option<i64>,
    pub node_title: String,
}

impl InterruptDoc {
    fn new(data: &InterruptData, node_title: &str, question: Option<String>) -> Self {
        Self {
            question: data.question().or(question),
            event_id: data.event_id.clone(),
            interrupt_type: data.kind,
            node_title: node_title.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EventDoc {
    pub node_title: String,
    pub node_seq_id: Option<i64>,
    pub node_is_finish: bool,
    pub content: String,
}

/// One run, in the shape `--json` prints for tasks (DESIGN.md §3). `id` stays null until the
/// run ledger records it.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub workflow_id: String,
    pub workflow_name: Option<String>,
    pub workspace_id: Option<String>,
    pub profile: String,
    pub mode: Mode,
    pub status: &'static str,
    pub parameters: Map<String, Value>,
    pub execute_id: Option<String>,
    pub output: Option<Value>,
    pub error: Option<ErrorDoc>,
    pub logid: Option<String>,
    pub debug_url: Option<String>,
    pub usage: Option<Usage>,
    pub created_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupt: Option<InterruptDoc>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventDoc>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl RunReport {
    pub fn exit_code(&self) -> ExitCode {
        match self.status {
            "succeeded" | "running" => ExitCode::Success,
            "interrupted" => ExitCode::Interrupted,
            "unknown" => ExitCode::Network,
            _ => ExitCode::RunFailed,
        }
    }

    fn finish(&mut self, status: &'static str) {
        self.status = status;
        let now = now_rfc3339();
        self.updated_at = now.clone();
        if status != "running" {
            self.finished_at = Some(now);
        }
    }

    fn fail(&mut self, e: &CozeError) {
        self.error = Some(e.into());
        self.logid = self.logid.take().or_else(|| e.logid.clone());
        self.debug_url = self.debug_url.take().or_else(|| e.debug_url.clone());
        self.execute_id =
            self.execute_id.take().or_else(|| self.debug_url.as_deref().and_then(execute_id_from_debug_url));
        self.finish("failed");
    }
}

pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().round(jiff::Unit::Millisecond).map(|t| t.to_string()).unwrap_or_default()
}

pub struct RunArgs {
    pub workflow_id: String,
    pub workflow_name: Option<String>,
    pub parameters: Map<String, Value>,
    pub mode: Mode,
    pub detach: bool,
    pub name: Option<String>,
    pub description: Option<String>,
    pub profile: String,
    pub poll: PollSettings,
    pub human: bool,
}

/// Runs the workflow. `Err` means Coze refused to start it (nothing ran); failures of the run
/// itself are in the report.
pub async fn run(client: &CozeClient, args: RunArgs) -> Result<RunReport, CozeError> {
    let now = now_rfc3339();
    let mut report = RunReport {
        id: None,
        name: args.name.clone(),
        description: args.description.clone(),
        workflow_id: args.workflow_id.clone(),
        workflow_name: args.workflow_name.clone(),
        workspace_id: None,
        profile: args.profile.clone(),
        mode: args.mode,
        status: "running",
        parameters: args.parameters.clone(),
        execute_id: None,
        output: None,
        error: None,
        logid: None,
        debug_url: None,
        usage: None,
        created_at: now.clone(),
        updated_at: now,
        finished_at: None,
        interrupt: None,
        events: vec![],
        notes: vec![],
    };
    let req =
        RunRequest { workflow_id: args.workflow_id.clone(), parameters: args.parameters.clone(), ..Default::default() };
    match args.mode {
        Mode::Sync => run_sync(client, &req, &mut report).await?,
        Mode::Async => match client.run_async(&req).await {
            Ok(reply) => {
                report.execute_id = reply.value.execute_id();
                report.debug_url = reply.value.debug_url.clone();
                report.logid = reply.logid;
                if args.detach {
                    report.finish("running");
                } else {
                    if args.human {
                        eprintln!(
                            "started execution {}; waiting for it to finish",
                            report.execute_id.as_deref().unwrap_or("?")
                        );
                    }
                    wait(client, &args.poll, &mut report).await;
                }
            }
            Err(e) if e.kind == ErrorKind::AsyncUnavailable && !args.detach => {
                let note = "async runs need a paid Coze plan (6003); ran it as a stream instead".to_string();
                if args.human {
                    eprintln!("note: {note}");
                }
                report.notes.push(note);
                report.mode = Mode::Stream;
                run_stream(client, &req, &mut report, args.human).await?;
            }
            Err(e) => return Err(e),
        },
        Mode::Stream => run_stream(client, &req, &mut report, args.human).await?,
    }
    Ok(report)
}

async fn run_sync(client: &CozeClient, req: &RunRequest, report: &mut RunReport) -> Result<(), CozeError> {
    match client.run(req).await {
        Ok(reply) => {
            let r = reply.value;
            report.logid = reply.logid;
            report.execute_id = r.execute_id();
            report.debug_url = r.debug_url.clone();
            report.usage = r.usage.clone();
            match &r.interrupt_data {
                Some(i) if !i.event_id.is_empty() => {
                    report.interrupt = Some(InterruptDoc::new(i, "", None));
                    report.finish("interrupted");
                }
                _ => {
                    report.output = r.data.as_deref().map(decode_output);
                    report.finish("succeeded");
                }
            }
            Ok(())
        }
        // A workflow that ran and failed reports a code Coze does not use for refusals.
        Err(e) if e.kind == ErrorKind::Api => {
            report.fail(&e);
            Ok(())
        }
        Err(e)
            if matches!(e.kind, ErrorKind::Network | ErrorKind::Timeout)
                && e.delivery != crate::coze::Delivery::NotSent =>
        {
            // The run may have started: say so instead of pretending it did not.
            report.error = Some((&e).into());
            report.notes.push("the connection failed after the run was sent; it may still be running on Coze".into());
            report.finish("unknown");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Polls run history until the execution leaves `Running` or waits for an answer.
async fn wait(client: &CozeClient, poll: &PollSettings, report: &mut RunReport) {
    let Some(execute_id) = report.execute_id.clone() else {
        report.finish("unknown");
        return;
    };
    let started = tokio::time::Instant::now();
    let mut interval = poll.initial_interval();
    loop {
        tokio::time::sleep(interval).await;
        interval = interval.mul_f64(poll.backoff).min(poll.max_interval());
        match client.run_history(&report.workflow_id, &execute_id).await {
            Ok(reply) => {
                let h = reply.value;
                report.usage = h.usage.clone().or(report.usage.take());
                report.debug_url = h.debug_url.clone().or(report.debug_url.take());
                if let Some(i) = h.interrupt_data.as_ref().filter(|i| !i.event_id.is_empty()) {
                    report.interrupt = Some(InterruptDoc::new(i, "", None));
                    report.finish("interrupted");
                    return;
                }
                match h.execute_status {
                    ExecuteStatus::Running => continue,
                    ExecuteStatus::Success => {
                        report.output = h.output.as_deref().map(decode_output);
                        report.finish("succeeded");
                    }
                    ExecuteStatus::Fail | ExecuteStatus::Other(_) => {
                        report.error = Some(ErrorDoc {
                            code: h.error_code,
                            message: h.error_message.clone(),
                            logid: h.logid.clone(),
                            hint: "the workflow reported an error: open the debug URL for the failing node".into(),
                        });
                        report.finish("failed");
                    }
                }
                return;
            }
            // Right after an async start the record may not be visible yet.
            Err(e) if e.kind == ErrorKind::ExecutionNotFound && started.elapsed() < Duration::from_secs(15) => continue,
            Err(e) => {
                report.error = Some((&e).into());
                report
                    .notes
                    .push(format!("stopped watching: the run may still be going on Coze (execute id {execute_id})"));
                report.finish("unknown");
                return;
            }
        }
    }
}

async fn run_stream(
    client: &CozeClient,
    req: &RunRequest,
    report: &mut RunReport,
    human: bool,
) -> Result<(), CozeError> {
    let mut stream = match client.stream_run(req).await {
        Ok(s) => s,
        Err(e) if e.kind == ErrorKind::Api => {
            report.fail(&e);
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    report.logid = stream.logid.clone();
    let mut printer = StreamPrinter::new(human);
    let mut last_question: Option<String> = None;
    loop {
        match stream.next_event().await {
            Ok(Some(ev)) => match ev.event {
                WorkflowEvent::Message(m) => {
                    printer.message(&m.node_title, &m.content, m.node_is_finish);
                    if m.usage.is_some() {
                        report.usage = m.usage.clone();
                    }
                    if is_end_node(&m.node_title) && m.node_is_finish {
                        report.output = Some(decode_output(&m.content));
                    }
                    last_question = Some(m.content.clone());
                    report.events.push(EventDoc {
                        node_title: m.node_title,
                        node_seq_id: m.node_seq_id,
                        node_is_finish: m.node_is_finish,
                        content: m.content,
                    });
                }
                WorkflowEvent::Done { debug_url } => report.debug_url = debug_url,
                _ => {}
            },
            Ok(None) => break,
            Err(e) => {
                printer.end_line();
                report.error = Some((&e).into());
                report.finish("unknown");
                return Ok(());
            }
        }
    }
    printer.end_line();
    match stream.end() {
        StreamEnd::Completed { execute_id, .. } => {
            report.execute_id = execute_id;
            report.finish("succeeded");
        }
        StreamEnd::Interrupted(i) => {
            report.interrupt = Some(InterruptDoc::new(&i.interrupt_data, &i.node_title, last_question));
            report.execute_id =
                i.interrupt_data.event_id.split('/').next().map(str::to_string).filter(|s| !s.is_empty());
            report.finish("interrupted");
        }
        StreamEnd::Failed(err) => {
            report.error = Some(ErrorDoc {
                code: err.error_code,
                message: err.error_message,
                logid: report.logid.clone(),
                hint: "the workflow reported an error: open the debug URL or quote the log id".into(),
            });
            report.finish("failed");
        }
        StreamEnd::Lost => {
            report.notes.push("the stream ended without Done, Error or Interrupt; the run's outcome is unknown".into());
            report.finish("unknown");
        }
    }
    Ok(())
}

fn is_end_node(title: &str) -> bool {
    title.is_empty() || title == "End"
}

/// Prints streamed messages as they arrive: a header per node, chunks appended.
struct StreamPrinter {
    on: bool,
    node: Option<String>,
    open_line: bool,
}

impl StreamPrinter {
    fn new(human: bool) -> Self {
        Self { on: human, node: None, open_line: false }
    }

    fn message(&mut self, node: &str, content: &str, finished: bool) {
        if !self.on || is_end_node(node) {
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.node.as_deref() != Some(node) {
            self.end_line_locked(&mut err);
            let _ = writeln!(err, "▸ {node}");
            self.node = Some(node.to_string());
        }
        let _ = write!(err, "{content}");
        self.open_line = !content.ends_with('\n');
        if finished {
            self.end_line_locked(&mut err);
        }
        let _ = err.flush();
    }

    fn end_line(&mut self) {
        let mut err = std::io::stderr().lock();
        self.end_line_locked(&mut err);
    }

    fn end_line_locked(&mut self, err: &mut impl Write) {
        if self.on && self.open_line {
            let _ = writeln!(err);
            self.open_line = false;
        }
    }
}

/// Prints a finished report for people: the output on stdout, the rest on stderr.
pub fn print_human(report: &RunReport) {
    let mut err = std::io::stderr().lock();
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let paint = |code: &str, s: &str| if color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() };
    let exec = report.execute_id.as_deref().map(|e| format!(" · execute id {e}")).unwrap_or_default();
    let logid = report.logid.as_deref().map(|l| format!(" · logid {l}")).unwrap_or_default();
    match report.status {
        "succeeded" => {
            let _ = writeln!(err, "{} {}{exec}{logid}", paint("32", "✔ succeeded"), report.mode.as_str());
        }
        "running" => {
            let _ = writeln!(
                err,
                "{} execution {} started in the background{logid}",
                paint("36", "▶"),
                report.execute_id.as_deref().unwrap_or("?")
            );
        }
        "interrupted" => {
            let _ =
                writeln!(err, "{} the workflow is waiting for an answer{exec}{logid}", paint("33", "? interrupted:"));
            if let Some(i) = &report.interrupt {
                let _ = writeln!(err, "  question: {}", i.question.as_deref().unwrap_or("(none given)"));
                let _ = writeln!(
                    err,
                    "  event id: {}  type: {}",
                    i.event_id,
                    i.interrupt_type.map_or("?".into(), |t| t.to_string())
                );
            }
        }
        status => {
            let label = if status == "failed" { paint("31", "✘ failed") } else { paint("35", "‽ unknown") };
            let _ = writeln!(err, "{label}{exec}{logid}");
            if let Some(e) = &report.error {
                let code = e.code.map(|c| format!("{c}: ")).unwrap_or_default();
                let _ = writeln!(err, "  error: {code}{}", e.message);
                let _ = writeln!(err, "  hint: {}", e.hint);
            }
        }
    }
    for note in &report.notes {
        let _ = writeln!(err, "  note: {note}");
    }
    if let Some(url) = &report.debug_url {
        let _ = writeln!(err, "  debug: {url}");
    }
    drop(err);
    if let Some(output) = &report.output {
        let text = match output {
            Value::String(s) => s.clone(),
            v => serde_json::to_string_pretty(v).unwrap_or_default(),
        };
        println!("{text}");
    }
}
