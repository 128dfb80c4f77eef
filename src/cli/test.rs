//! `coze-tui test SUITE.toml`: every case a task (a few at a time, under the profile's shared
//! budget), questions answered from the suite, each finished task judged against its case's
//! expectations; a table (or `--json`, `--junit`), the verdicts recorded as a suite run, the
//! previous run of the same file compared. `coze-tui suites` lists suite runs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{Value, json};

use super::output::{Table, print_json, terminal_width};
use super::{ExitCode, Failure, names, run};
use crate::config::Settings;
use crate::suite::check;
use crate::suite::run::{CaseResult, follow};
use crate::suite::{Case, Suite};
use crate::tasks::*;

#[derive(Debug, Args)]
pub struct TestCommand {
    /// The suite file (TOML)
    pub suite: PathBuf,
    /// Only the cases whose name contains this text (case ignored)
    #[arg(long)]
    pub only: Option<String>,
    /// Only the cases that did not pass in this suite's previous run
    #[arg(long)]
    pub failed: bool,
    /// How many cases run at once (1-64; default: the suite's `concurrency`, else 4)
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: Option<u16>,
    /// Also write the verdicts as JUnit XML to this file (for CI systems)
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Write each case's actual output into its `expect.output` (keeping the file's comments
    /// and layout), as a snapshot to compare future runs with
    #[arg(long)]
    pub update: bool,
}

/// One case's result.
struct Verdict<'a> {
    case: &'a Case,
    result: CaseResult,
}

impl std::ops::Deref for Verdict<'_> {
    type Target = CaseResult;
    fn deref(&self) -> &CaseResult {
        &self.result
    }
}

pub async fn test_command(cmd: TestCommand, settings: &Settings, json: bool) -> Result<(), Failure> {
    let suite = crate::suite::load(&cmd.suite).map_err(|e| Failure::Usage(e.to_string()))?;
    // A suite is known by its file: the same file run again is compared with its last run.
    let key = crate::suite::key(&suite.path);
    let ledger = std::sync::Arc::new(run::open_ledger(settings)?);
    let previous = previous_verdicts(&ledger, &key, &settings.profile_name)?;
    let mut cases: Vec<&Case> = suite.cases.iter().collect();
    if let Some(only) = &cmd.only {
        let needle = only.to_lowercase();
        cases.retain(|c| c.name.to_lowercase().contains(&needle));
    }
    if cmd.failed {
        match &previous {
            Some(verdicts) => cases.retain(|c| verdicts.get(&c.name) != Some(&true)),
            None => eprintln!("no earlier run of this suite: running every case"),
        }
        if cases.is_empty() {
            eprintln!("every case passed when it last ran: nothing to run again");
            return Ok(());
        }
    }
    if cases.is_empty() {
        return Err(Failure::Usage(format!("no case of {} is left to run (check --only / --failed)", suite.name)));
    }
    // Names stand for ids; each is looked up once (on the ledger already open).
    let ids = names::resolve_cases(
        &ledger,
        &settings.profile_name,
        &settings.profile.workflows,
        &super::client(settings)?,
        &cases,
    )
    .await?;
    let concurrency = cmd.concurrency.map(usize::from).or(suite.concurrency).unwrap_or(DEFAULT_CONCURRENCY);
    let runner = run::open_runner_with(settings, |cfg| {
        cfg.adopt_orphans = false;
        cfg.concurrency = concurrency;
    })
    .await?;
    let record = crate::suite::run::new_run(&suite, &key, &settings.profile_name);
    let run_id = record.id.clone();
    let uploads = run::before_sending(&runner, async {
        crate::suite::run::upload_files(&runner, &settings.profile_name, &cases).await.map_err(|e| match e {
            crate::suite::run::UploadFailure::File(m) => Failure::Usage(m),
            crate::suite::run::UploadFailure::Coze(e) => Failure::from(e),
        })
    })
    .await?;
    let news = crate::suite::run::new_tasks(&suite, &cases, &ids, &uploads, &run_id);
    let rx = runner.subscribe();
    let clock = Instant::now();
    let tasks = runner.submit_batch(news, true).await?;
    // Recorded once its cases exist (a refused start leaves no unfinished run behind).
    let r = record.clone();
    let l = ledger.clone();
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || l.start_suite_run(&r)).await {
        eprintln!("warning: the suite run is not recorded in the ledger: {e}");
    }

    let by_id: HashMap<String, &Case> = tasks.iter().map(|t| t.id.clone()).zip(cases.iter().copied()).collect();
    let bar = super::batch::progress_bar(by_id.len() as u64, !json, "{bar:30} {pos}/{len} cases · {elapsed}");
    let (mut quiet, mut count) = (|_: &str, _: &CaseResult| {}, |n: usize| bar.set_position(n as u64));
    let finished = tokio::select! {
        done = follow(&runner, rx, &by_id, suite.timeout_s, concurrency, &mut quiet, &mut count) => Some(done),
        _ = super::wait_for_shutdown() => None,
    };
    bar.finish_and_clear();
    let Some(mut results) = finished else {
        let cancelled = runner.cancel_queued(tasks.iter().map(|t| t.id.clone()).collect()).await?;
        eprintln!(
            "stopped: {} cases not yet sent were cancelled; the suite run is not recorded as finished",
            cancelled.len()
        );
        return Err(Failure::Exit(ExitCode::RunFailed));
    };
    // Cases given up on while still queued would otherwise start later with no one to judge
    // them: they are cancelled (the runner lets go of them first).
    let given_up: Vec<String> = results
        .iter()
        .filter(|(_, r)| r.task.as_ref().is_none_or(|t| t.status == TaskStatus::Pending))
        .map(|(id, _)| id.clone())
        .collect();
    let cancelled = runner.cancel_queued(given_up).await.unwrap_or_default();
    runner.shutdown().await;
    if !cancelled.is_empty() {
        eprintln!("{} cases never started before the suite gave up on them: cancelled", cancelled.len());
    }
    let verdicts: Vec<Verdict> = tasks
        .iter()
        .map(|t| {
            let case = by_id[&t.id];
            let result = results
                .remove(&t.id)
                .unwrap_or(CaseResult { task: None, failures: vec![check::timed_out(suite.timeout_s)] });
            Verdict { case, result }
        })
        .collect();
    let rows: Vec<SuiteCase> = verdicts.iter().map(|v| v.row(&v.case.name)).collect();
    let l = ledger.clone();
    let (rid, rows2) = (run_id.clone(), rows.clone());
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || l.finish_suite_run(&rid, &rows2)).await {
        eprintln!("warning: the verdicts were not recorded in the ledger: {e}");
    }
    let before = previous.as_ref();
    // A file that cannot be written is said, and the results are still printed.
    if let Some(path) = &cmd.junit
        && let Err(e) = crate::suite::update::write_atomic(path, &junit(&suite, &verdicts, clock.elapsed()))
    {
        eprintln!("warning: --junit {}: {e}", path.display());
    }
    if cmd.update
        && let Err(e) = update_expectations(&suite, &verdicts)
    {
        eprintln!("warning: --update: {e}");
    }
    super::end_quietly_on_a_closed_pipe();
    let passed = verdicts.iter().filter(|v| v.passed()).count();
    if json {
        print_json(&document(&suite, &run_id, &verdicts, before));
    } else {
        print_table(&verdicts, before);
        eprintln!(
            "{}: {passed} passed, {} failed of {} · run {run_id} · {}",
            suite.name,
            verdicts.len() - passed,
            verdicts.len(),
            human_duration(clock.elapsed().as_millis() as i64)
        );
    }
    if passed == verdicts.len() { Ok(()) } else { Err(Failure::Exit(ExitCode::RunFailed)) }
}

/// The last finished run of this suite file: its id and each case's verdict.
/// Each case's verdict in a run, by name.
type Verdicts = HashMap<String, bool>;

/// Each case's verdict when it last ran (in any finished run of this suite file under this
/// profile: a run of `--only` or `--failed` leaves the other cases' verdicts as they were).
fn previous_verdicts(ledger: &Ledger, key: &str, profile: &str) -> Result<Option<Verdicts>, Failure> {
    let verdicts = ledger.latest_verdicts(key, profile)?;
    Ok((!verdicts.is_empty()).then_some(verdicts))
}

/// How a case's verdict moved since the previous run.
fn change(v: &Verdict, before: Option<&Verdicts>) -> Option<&'static str> {
    match (before?.get(&v.case.name), v.passed()) {
        (Some(true), false) => Some("newly failing"),
        (Some(false), true) => Some("fixed"),
        (None, _) => Some("new"),
        _ => None,
    }
}

/// The table: newly failing cases first, then the rest in suite order.
fn print_table(verdicts: &[Verdict], before: Option<&Verdicts>) {
    let mut t = Table::new(&[("CASE", 32), ("STATUS", 12), ("VERDICT", 22), ("TIME", 8), ("FIRST DIFFERENCE", 90)]);
    let mut order: Vec<&Verdict> = verdicts.iter().collect();
    order.sort_by_key(|v| change(v, before) != Some("newly failing"));
    for v in order {
        let mut verdict = if v.passed() { "✔ pass".to_string() } else { "✘ FAIL".to_string() };
        if let Some(c) = change(v, before).filter(|_| before.is_some()) {
            verdict.push_str(&format!(" ({c})"));
        }
        let first = v.failures.first().map(|f| f.message.replace('\n', " ")).unwrap_or_default();
        t.row(vec![
            v.case.name.clone(),
            v.status().to_string(),
            verdict,
            v.duration_ms().map(human_duration).unwrap_or_default(),
            first,
        ]);
    }
    print!("{}", t.render(terminal_width()));
}

/// `test --json` (DESIGN.md §5).
fn document(suite: &Suite, run_id: &str, verdicts: &[Verdict], before: Option<&Verdicts>) -> Value {
    let passed = verdicts.iter().filter(|v| v.passed()).count();
    json!({
        "suite": suite.name,
        "run_id": run_id,
        "passed": passed,
        "failed": verdicts.len() - passed,
        "cases": verdicts.iter().map(|v| json!({
            "name": v.case.name,
            "task_id": v.task.as_ref().map(|t| t.id.clone()),
            "status": v.status(),
            "passed": v.passed(),
            "failures": v.failures,
            "duration_ms": v.duration_ms(),
            "change": change(v, before),
        })).collect::<Vec<_>>(),
    })
}

/// One `<testsuite>` with a `<testcase>` per case and a `<failure>` per failing one.
fn junit(suite: &Suite, verdicts: &[Verdict], took: Duration) -> String {
    let failed = verdicts.iter().filter(|v| !v.passed()).count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" time=\"{:.3}\">\n",
        xml(&suite.name),
        verdicts.len(),
        took.as_secs_f64()
    ));
    for v in verdicts {
        let time = v.duration_ms().unwrap_or(0) as f64 / 1000.0;
        x.push_str(&format!(
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{time:.3}\"",
            xml(&suite.name),
            xml(&v.case.name)
        ));
        if v.passed() {
            x.push_str("/>\n");
            continue;
        }
        x.push_str(">\n");
        let first = v.failures.first().map(|f| f.message.as_str()).unwrap_or("");
        let all: Vec<String> = v.failures.iter().map(|f| format!("{}: {}", f.kind, f.message)).collect();
        let task = v.task.as_ref().map(|t| format!("\ntask {}", t.id)).unwrap_or_default();
        x.push_str(&format!(
            "    <failure message=\"{}\" type=\"{}\">{}{}</failure>\n  </testcase>\n",
            xml(first),
            xml(v.failures.first().map_or("", |f| f.kind.as_str())),
            xml(&all.join("\n")),
            xml(&task)
        ));
    }
    x.push_str("</testsuite>\n");
    x
}

/// Text for XML attributes and content; characters XML 1.0 cannot hold are dropped.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `--update`: each case's actual output becomes its `expect.output`, in the TOML file
/// (comments and layout kept) and in its JSONL file. Only cases that ended as expected
/// (`succeeded`, by default) are written: one that failed for another reason keeps its
/// expectation.
fn update_expectations(suite: &Suite, verdicts: &[Verdict]) -> Result<(), String> {
    use crate::suite::update;
    let outputs: HashMap<&str, Value> = verdicts
        .iter()
        .filter_map(|v| {
            let t = v.task.as_ref().filter(|t| t.status == v.case.expect.status())?;
            Some((v.case.name.as_str(), t.decoded_output()?))
        })
        .collect();
    let toml_path = &suite.path;
    let text = std::fs::read_to_string(toml_path).map_err(|e| e.to_string())?;
    let updated = update::toml_outputs(&text, &outputs)?;
    let mut written = updated.count;
    if updated.count > 0 {
        update::write_atomic(toml_path, &updated.text).map_err(|e| e.to_string())?;
    }
    if let Some(jsonl) = update::jsonl_path(&text, toml_path) {
        let body = std::fs::read_to_string(&jsonl).map_err(|e| format!("{}: {e}", jsonl.display()))?;
        let (new, n) = update::jsonl_outputs(&body, &outputs, suite, &jsonl);
        if n > 0 {
            update::write_atomic(&jsonl, &new).map_err(|e| format!("{}: {e}", jsonl.display()))?;
        }
        written += n;
    }
    for w in updated.skipped {
        eprintln!("--update: {w}");
    }
    eprintln!("--update: wrote {written} expected outputs");
    Ok(())
}

/// `coze-tui suites`: recent suite runs with their counts.
pub fn suites_command(limit: u32, settings: &Settings, json: bool) -> Result<(), Failure> {
    let ledger = run::open_ledger(settings)?;
    let runs = ledger.suite_runs(None, limit as usize)?;
    if json {
        print_json(&runs);
        return Ok(());
    }
    let mut t = Table::new(&[("RUN", 12), ("SUITE", 24), ("STARTED", 19), ("PASSED", 6), ("FAILED", 6), ("FILE", 60)]);
    for r in &runs {
        let (passed, failed) = match r.finished_at {
            Some(_) => (r.passed.to_string(), r.failed.to_string()),
            None => ("-".into(), "-".into()),
        };
        t.row(vec![
            r.id.clone(),
            r.suite.clone(),
            crate::text::local_time(r.started_at),
            passed,
            failed,
            r.path.clone(),
        ]);
    }
    print!("{}", t.render(terminal_width()));
    if runs.is_empty() {
        eprintln!("no suite runs yet: `coze-tui test SUITE.toml` runs one");
    }
    Ok(())
}

/// `coze-tui diff A B`: two tasks compared: status, duration, tokens, mode; parameters and
/// output as JSON changes (long strings by line). Exit 0 when the outputs are equal.
pub fn diff_command(a: &str, b: &str, settings: &Settings, json: bool) -> Result<(), Failure> {
    let ledger = run::open_ledger(settings)?;
    let (ta, tb) = (ledger.find(a)?, ledger.find(b)?);
    let c = check::Comparison::of(&ta, &tb);
    let equal = c.equal();
    super::end_quietly_on_a_closed_pipe();
    if json {
        // Numbers as numbers here (the facts are for people).
        let took = |t: &Task| t.finished_at.map(|f| t.elapsed_ms(f));
        let tokens = |t: &Task| t.usage.as_ref().and_then(|u| u.token_count);
        print_json(&json!({
            "equal": equal,
            "tasks": [ta.id, tb.id],
            "status": [ta.status.as_str(), tb.status.as_str()],
            "duration_ms": [took(&ta), took(&tb)],
            "tokens": [tokens(&ta), tokens(&tb)],
            "mode": [ta.mode.as_str(), tb.mode.as_str()],
            "workflow_id": [ta.workflow_id, tb.workflow_id],
            "parameters": c.parameters,
            "output": c.output,
        }));
    } else {
        println!("  task       {}  →  {}", ta.id, tb.id);
        for (label, x, y) in &c.facts {
            let mark = if x == y { " " } else { "≠" };
            println!("{mark} {label:<10} {x}  →  {y}");
        }
        for (what, n, lines) in
            [("parameters", c.parameters.len(), &c.parameter_lines), ("output", c.output.len(), &c.output_lines)]
        {
            if n > 0 {
                println!("\n{}", check::differences_heading(what, n));
                for (sign, line) in lines {
                    println!("  {sign} {line}");
                }
            }
        }
        if equal {
            println!("\nthe outputs are equal");
        }
    }
    if equal { Ok(()) } else { Err(Failure::Exit(ExitCode::RunFailed)) }
}
