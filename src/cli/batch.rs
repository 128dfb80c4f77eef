//! `coze-tui run WORKFLOW_ID --inputs FILE.jsonl`: one run per line of parameters, in one
//! process, a few at a time, every run a task under the profile's shared request budget.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Map, Value};
use tokio::sync::broadcast;

use super::output::{Table, print_json, terminal_width};
use super::{ExitCode, Failure, params, run};
use crate::config::Settings;
use crate::tasks::*;

/// The most input a batch reads (a file or stdin): a bigger one is refused before any run.
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;
/// The most runs one batch starts at once.
pub const MAX_CONCURRENCY: usize = 64;

/// One run's parameters per non-empty line. `Err` names the origin and line (exit 2).
pub fn parse_inputs(text: &str, origin: &str) -> Result<Vec<Input>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut all = vec![];
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{origin}:{}", i + 1);
        let params = params::parse(line, &at).map_err(|e| {
            // One line is one document: its own line number is always 1.
            e.replace(" at line 1, column", " at column")
        })?;
        all.push(Input { params, at });
    }
    if all.is_empty() {
        return Err(format!("{origin} has no inputs: write one JSON object of parameters per line"));
    }
    Ok(all)
}

/// One run's parameters and where they came from (`cases.jsonl:3`).
#[derive(Debug)]
pub struct Input {
    pub params: Map<String, Value>,
    pub at: String,
}

/// Reads `--inputs`: a file, or `-` for stdin, up to [`MAX_INPUT_BYTES`].
pub fn read_inputs(arg: &str) -> Result<Vec<Input>, String> {
    let text = if arg == "-" {
        params::read_limited(std::io::stdin(), MAX_INPUT_BYTES, "--inputs on stdin")?
    } else {
        let file = std::fs::File::open(arg).map_err(|e| format!("cannot read --inputs {arg}: {e}"))?;
        params::read_limited(file, MAX_INPUT_BYTES, &format!("--inputs {arg}"))?
    };
    parse_inputs(&text, if arg == "-" { "stdin" } else { arg })
}

/// What the batch command was asked.
pub struct Batch {
    pub workflow_id: String,
    pub inputs: Vec<Input>,
    pub mode: RunMode,
    pub concurrency: usize,
    pub detach: bool,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Check every input against the workflow's input schema before sending any.
    pub validate: bool,
    /// Files, version, app or bot: the same for every run.
    pub inputs_args: super::inputs::InputArgs,
}

pub async fn run_batch(mut b: Batch, settings: &Settings, json: bool) -> Result<(), Failure> {
    // Files given with --file go into every run; each is checked (on disk) before anything
    // is sent, and uploaded once.
    let files = super::inputs::check_files(&b.inputs_args, &Map::new())?;
    if let Some((i, name)) =
        b.inputs.iter().find_map(|i| files.iter().find(|(n, _)| i.params.contains_key(n)).map(|(n, _)| (i, n)))
    {
        return Err(Failure::Usage(format!("{}: {name:?} is given here and as --file {name}=…; give it once", i.at)));
    }
    let runner = run::open_runner_with(settings, |cfg| {
        cfg.adopt_orphans = false;
        cfg.concurrency = b.concurrency;
    })
    .await?;
    let (workflow_name, context) =
        run::before_sending(&runner, prepare(&mut b, files, &runner, settings, json)).await?;
    let count = b.inputs.len();
    let news: Vec<NewTask> = b
        .inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| NewTask {
            workflow_id: b.workflow_id.clone(),
            workflow_name: workflow_name.clone(),
            workspace_id: None,
            parameters: input.params,
            mode: b.mode,
            name: Some(match &b.name {
                Some(n) => format!("{n} #{}", i + 1),
                None => format!("#{} of {count}", i + 1),
            }),
            description: b.description.clone(),
            context: context.clone(),
        })
        .collect();
    let rx = runner.subscribe();
    let tasks = runner.submit_batch(news, !b.detach).await?;
    // One workflow with one app or bot: remembered as a single run's is (a suite, which mixes
    // workflows and contexts, remembers nothing).
    if context.app_id.is_some() || context.bot_id.is_some() {
        let (l, p, w, c) =
            (runner.ledger().clone(), settings.profile_name.clone(), b.workflow_id.clone(), context.clone());
        let _ = tokio::task::spawn_blocking(move || l.remember_context(&p, &w, &c)).await;
    }
    if b.detach {
        runner.shutdown().await;
        super::end_quietly_on_a_closed_pipe();
        if json {
            print_json(&tasks.iter().map(Task::to_json).collect::<Vec<_>>());
        } else {
            for t in &tasks {
                println!("{}", t.id);
            }
        }
        // The runs go at the pace of whoever takes them up: say how to keep the one asked for.
        let watch = match b.concurrency {
            DEFAULT_CONCURRENCY => "`coze-tui watch`".to_string(),
            n => format!("`coze-tui watch --concurrency {n}`"),
        };
        eprintln!(
            "{count} runs queued. {watch} starts them and follows them (a dashboard of this profile starts them \
             {DEFAULT_CONCURRENCY} at a time); `coze-tui tasks` lists them"
        );
        return Ok(());
    }
    let ids: Vec<String> = tasks.iter().map(|t| t.id.clone()).collect();
    let started = std::time::Instant::now();
    let finished = tokio::select! {
        done = follow_all(&runner, rx, &ids, !json) => Some(done),
        _ = super::wait_for_shutdown() => None,
    };
    let Some(done) = finished else {
        let cancelled = runner.cancel_queued(ids).await?;
        eprintln!(
            "stopped: {} runs not yet sent were cancelled; runs already started go on in Coze (`coze-tui watch` follows them)",
            cancelled.len()
        );
        return Err(Failure::Exit(ExitCode::RunFailed));
    };
    runner.shutdown().await;
    super::end_quietly_on_a_closed_pipe();
    if json {
        print_json(&done.iter().map(Task::to_json).collect::<Vec<_>>());
    } else {
        print_summary(&done, started.elapsed());
    }
    if done.iter().all(|t| t.status == TaskStatus::Succeeded) {
        Ok(())
    } else {
        Err(Failure::Exit(ExitCode::RunFailed))
    }
}

/// Waits until every task settles, with a progress bar on a terminal. Returns them in order.
async fn follow_all(
    runner: &Runner,
    mut rx: broadcast::Receiver<TaskUpdate>,
    ids: &[String],
    human: bool,
) -> Vec<Task> {
    let bar = progress_bar(ids.len() as u64, human, "{bar:30} {pos}/{len} settled · {msg} · {elapsed}");
    let mut latest: HashMap<String, Task> = HashMap::new();
    let mut settled = 0usize;
    let note = |latest: &HashMap<String, Task>, bar: &ProgressBar| {
        let (mut running, mut failed) = (0, 0);
        for t in latest.values() {
            match t.status {
                TaskStatus::Running => running += 1,
                TaskStatus::Succeeded | TaskStatus::Pending => {}
                _ => failed += 1,
            }
        }
        bar.set_message(format!("{running} running · {failed} not succeeded"));
    };
    let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    // The tasks may have moved on before we subscribed: start from the ledger.
    for t in runner.find_all(ids.to_vec()).await.unwrap_or_default() {
        latest.insert(t.id.clone(), t);
    }
    loop {
        let now_settled = latest.values().filter(|t| t.status.is_settled()).count();
        if now_settled != settled {
            settled = now_settled;
            bar.set_position(settled as u64);
            note(&latest, &bar);
        }
        if settled == ids.len() {
            break;
        }
        match rx.recv().await {
            Ok(TaskUpdate::Changed(t)) if wanted.contains(t.id.as_str()) => {
                latest.insert(t.id.clone(), (*t).clone());
            }
            Ok(TaskUpdate::Deleted(id)) if wanted.contains(id.as_str()) => {
                if let Some(t) = latest.get_mut(&id) {
                    t.status = TaskStatus::Unknown;
                    t.notes.push("deleted while the batch ran".into());
                }
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => {
                for t in runner.find_all(ids.to_vec()).await.unwrap_or_default() {
                    latest.insert(t.id.clone(), t);
                }
            }
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
    bar.finish_and_clear();
    ids.iter().filter_map(|id| latest.remove(id)).collect()
}

/// A progress bar on stderr when it is a terminal (and output is for people), else hidden.
pub(super) fn progress_bar(len: u64, human: bool, template: &str) -> ProgressBar {
    if !human || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr_with_hz(4));
    let style = ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(500));
    bar
}

/// A table of the runs in input order on stdout, and a one-line count on stderr.
fn print_summary(tasks: &[Task], took: Duration) {
    let mut t = Table::new(&[("#", 5), ("ID", 12), ("STATUS", 13), ("TIME", 8), ("OUTPUT OR ERROR", 80)]);
    let mut counts: Vec<(TaskStatus, usize)> = vec![];
    for (i, task) in tasks.iter().enumerate() {
        match counts.iter_mut().find(|(s, _)| *s == task.status) {
            Some((_, n)) => *n += 1,
            None => counts.push((task.status, 1)),
        }
        let detail = match (&task.error, task.decoded_output()) {
            (Some(e), _) => e.message.clone(),
            (None, Some(Value::String(s))) => s,
            (None, Some(v)) => v.to_string(),
            (None, None) => task.notes.last().cloned().unwrap_or_default(),
        };
        t.row(vec![
            (i + 1).to_string(),
            task.id.clone(),
            format!("{} {}", task.status.symbol(), task.status.as_str()),
            human_duration(task.elapsed_ms(task.finished_at.unwrap_or_else(now_ms))),
            detail.replace('\n', " "),
        ]);
    }
    print!("{}", t.render(terminal_width()));
    counts.sort_by_key(|(s, _)| TaskStatus::ALL.iter().position(|a| a == s));
    let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {}", s.as_str())).collect();
    eprintln!("{} runs: {} · {}", tasks.len(), parts.join(", "), human_duration(took.as_millis() as i64));
}

/// One lookup for the whole batch: the name (for people; a failed lookup does not stop the
/// batch), the input schema (the version's, with --version) every line is checked against
/// before any run is sent, the run context, and the files uploaded once for every run.
async fn prepare(
    b: &mut Batch,
    files: Vec<(String, crate::upload::LocalFile)>,
    runner: &crate::tasks::Runner,
    settings: &Settings,
    json: bool,
) -> Result<(Option<String>, crate::tasks::RunContext), Failure> {
    use super::inputs;
    let target = inputs::target(runner, settings, &b.workflow_id, b.inputs_args.version.as_deref()).await?;
    if target.chatflow {
        return Err(Failure::Usage(format!("{} is a chatflow: use `coze-tui chat`", b.workflow_id)));
    }
    let (workflow_name, schema) = (target.name, target.schema);
    let mut context = inputs::context(&b.inputs_args, runner, &b.workflow_id, &settings.profile_name)?;
    // Every line is checked (with stand-ins for the files) before a file is uploaded.
    if let Some(schema) = schema.as_ref().filter(|_| b.validate) {
        inputs::check_names(&files, Some(schema))?;
        let stand_ins = inputs::with_stand_ins(&files, Some(schema), &Map::new());
        let (mut problems, mut warnings) = (vec![], vec![]);
        for input in &b.inputs {
            let mut trial = input.params.clone();
            trial.extend(stand_ins.clone());
            match params::check_schema(&trial, Some(schema), &input.at) {
                Ok(w) => warnings.extend(w),
                Err(e) => problems.push(e),
            }
        }
        // A thousand lines with the same extra key say it five times, and count the rest.
        for w in warnings.iter().take(5) {
            eprintln!("warning: {w}");
        }
        if warnings.len() > 5 {
            eprintln!("warning: … and {} more", warnings.len() - 5);
        }
        if !problems.is_empty() {
            let more = problems.len().saturating_sub(5);
            let mut msg = problems.into_iter().take(5).collect::<Vec<_>>().join("\n  ");
            if more > 0 {
                msg.push_str(&format!("\n  … and {more} more lines"));
            }
            return Err(Failure::Usage(format!("no run was sent:\n  {msg}")));
        }
    }
    let mut given = Map::new();
    context.files = inputs::attach(runner, &settings.profile_name, files, schema.as_ref(), &mut given, !json).await?;
    for input in &mut b.inputs {
        input.params.extend(given.clone());
    }
    Ok((workflow_name, context))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_object_per_line_with_located_errors() {
        let ok = parse_inputs("\u{feff}{\"a\": 1}\n\n  \n{\"a\": 2}\r\n", "in.jsonl").unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!((ok[1].params["a"].as_i64(), ok[1].at.as_str()), (Some(2), "in.jsonl:4"));
        let e = parse_inputs("{\"a\": 1}\n{\"a\": }\n", "in.jsonl").unwrap_err();
        assert!(e.contains("in.jsonl:2") && e.contains("column 7"), "{e}");
        let e = parse_inputs("{\"a\": 1}\n[1, 2]\n", "in.jsonl").unwrap_err();
        assert!(e.contains("in.jsonl:2") && e.contains("an array"), "{e}");
        assert!(parse_inputs("\n\n", "stdin").unwrap_err().contains("no inputs"));
    }
}
