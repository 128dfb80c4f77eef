//! What a run takes besides its parameters (DESIGN.md §5 Inputs): files for file inputs
//! (`--file NAME=PATH`, uploaded once per content), a published version (`--version`, whose
//! own input schema the parameters are checked against) and the app or bot it runs in
//! (`--app-id` / `--bot-id`, remembered per workflow).

use clap::Args;
use serde_json::{Map, Value};

use super::Failure;
use crate::config::Settings;
use crate::coze::{OrderedParams, PublishStatus};
use crate::params;
use crate::tasks::{AttachedFile, RunContext, Runner};
use crate::upload::{self, LocalFile};

#[derive(Debug, Args, Default)]
pub struct InputArgs {
    /// A file for a file input (image, doc, …): uploaded, and given as {"file_id":…}. Repeat
    /// NAME for a list of files. The same file is uploaded once while Coze keeps it
    #[arg(long = "file", value_name = "NAME=PATH", value_parser = file_arg)]
    pub files: Vec<(String, std::path::PathBuf)>,
    /// Run this published version (resource-library workflows; `coze-tui workflow ID
    /// --versions` lists them); the parameters are checked against its inputs
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
    /// The Coze app the workflow belongs to (remembered for this workflow; "" forgets it)
    #[arg(long, value_name = "ID", conflicts_with = "bot_id")]
    pub app_id: Option<String>,
    /// The bot whose variables and databases the workflow uses (remembered; "" forgets it)
    #[arg(long, value_name = "ID")]
    pub bot_id: Option<String>,
}

fn file_arg(raw: &str) -> Result<(String, std::path::PathBuf), String> {
    match raw.split_once('=') {
        Some((name, path)) if !name.trim().is_empty() && !path.is_empty() => {
            Ok((name.trim().to_string(), std::path::PathBuf::from(path)))
        }
        _ => Err(format!("{raw:?}: give a file as NAME=PATH, e.g. --file photo=./cat.png")),
    }
}

/// The files asked for, checked on disk; nothing is sent yet. A name given in the parameters
/// too is a mistake (which should win?).
pub fn check_files(args: &InputArgs, parameters: &Map<String, Value>) -> Result<Vec<(String, LocalFile)>, Failure> {
    let mut out = vec![];
    for (name, path) in &args.files {
        if parameters.contains_key(name) {
            return Err(Failure::Usage(format!(
                "{name:?} is given in the parameters and as --file {name}=…; give it once"
            )));
        }
        out.push((name.clone(), upload::check(path).map_err(|e| Failure::Usage(format!("--file {name}: {e}")))?));
    }
    Ok(out)
}

/// What a run is checked against before it is sent.
pub struct Target {
    /// The workflow's name, for people (`None` when the lookup failed).
    pub name: Option<String>,
    /// The inputs: the workflow's, or the asked version's.
    pub schema: Option<OrderedParams>,
    /// It talks in conversations (`coze-tui chat`), not runs.
    pub chatflow: bool,
}

/// The workflow's name, whether it is a chatflow and the input schema runs are checked
/// against: the workflow's, or the asked version's. An unknown version is a usage error
/// listing the versions there are; a failed lookup without a version only loses the check
/// (the run says what Coze says).
/// (Coze Studio names no workflow: its name is the profile's bookmark's, or the last run's.)
pub async fn target(
    runner: &Runner,
    settings: &Settings,
    workflow_id: &str,
    version: Option<&str>,
) -> Result<Target, Failure> {
    let client = runner.client();
    let info = client.workflow_info(workflow_id, true).await.ok().map(|r| r.value);
    let mut name = info.as_ref().map(|i| i.workflow_detail.workflow_name.clone());
    if let Some(name) = name.as_mut().filter(|n| n.is_empty()) {
        let (ledger, profile) = (runner.ledger().clone(), settings.profile_name.clone());
        let (configured, id) = (settings.profile.workflows.clone(), workflow_id.to_string());
        let known = tokio::task::spawn_blocking(move || crate::catalogue::name_of(&ledger, &profile, &configured, &id));
        *name = known.await.ok().flatten().unwrap_or_default();
    }
    let chatflow = info.as_ref().is_some_and(|i| i.is_chatflow());
    let Some(version) = version else {
        return Ok(Target { name, schema: info.and_then(|i| i.input).map(|i| i.parameters), chatflow });
    };
    let versions = client.workflow_versions(workflow_id, PublishStatus::All).await?.value;
    match versions.iter().find(|v| v.version == version) {
        Some(v) => Ok(Target { name, schema: v.input.clone().map(|i| i.parameters), chatflow }),
        None => {
            let list: Vec<String> = versions.iter().map(|v| v.version.clone()).collect();
            Err(Failure::Usage(if list.is_empty() {
                format!("workflow {workflow_id} has no published versions, so no --version {version}")
            } else {
                format!("workflow {workflow_id} has no version {version:?}; its versions: {}", list.join(", "))
            }))
        }
    }
}

/// The run context: the flags, else the app or bot this workflow last ran in (said on
/// stderr, so a remembered id is never a surprise). `""` forgets.
pub fn context(args: &InputArgs, runner: &Runner, workflow_id: &str, profile: &str) -> Result<RunContext, Failure> {
    let given = |v: &Option<String>| v.as_ref().map(|s| s.trim().to_string());
    let mut c = RunContext { version: args.version.clone(), ..RunContext::default() };
    match (given(&args.app_id), given(&args.bot_id)) {
        (None, None) => {
            let known = runner.ledger().remembered_context(profile, workflow_id).unwrap_or_default();
            if let Some(id) = &known.app_id {
                eprintln!("in app {id} (as this workflow last ran; --app-id \"\" forgets it)");
            }
            if let Some(id) = &known.bot_id {
                eprintln!("with bot {id} (as this workflow last ran; --bot-id \"\" forgets it)");
            }
            c.app_id = known.app_id;
            c.bot_id = known.bot_id;
        }
        (app, bot) => {
            c.app_id = app.filter(|s| !s.is_empty());
            c.bot_id = bot.filter(|s| !s.is_empty());
            if c.app_id.is_none() && c.bot_id.is_none() {
                // `""`: forget what this workflow ran with.
                runner
                    .ledger()
                    .remember_context(profile, workflow_id, &RunContext::default())
                    .map_err(|e| Failure::Usage(format!("the remembered app or bot could not be forgotten: {e}")))?;
            }
        }
    }
    c.check().map_err(Failure::Usage)?;
    Ok(c)
}

/// Checks the `--file` names against the schema before anything is sent: an input the
/// workflow does not have is a mistake; one that is not a file is said.
pub fn check_names(files: &[(String, LocalFile)], schema: Option<&OrderedParams>) -> Result<(), Failure> {
    let Some(schema) = schema else { return Ok(()) };
    for (name, _) in files {
        match schema.get(name) {
            None => {
                let inputs: Vec<&str> = schema.iter().map(|(k, _)| k).collect();
                return Err(Failure::Usage(format!(
                    "--file {name}: the workflow has no input {name:?} (its inputs: {})",
                    inputs.join(", ")
                )));
            }
            Some(p) if params::file_kind(p).is_none() => {
                eprintln!("warning: --file {name}: the input is {}, not a file; sending the file's id anyway", p.kind)
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The parameters with stand-in file values where the files will go, so they can be
/// checked (a missing required input, a wrong type) before any file is uploaded.
pub fn with_stand_ins(
    files: &[(String, LocalFile)],
    schema: Option<&OrderedParams>,
    parameters: &Map<String, Value>,
) -> Map<String, Value> {
    let mut trial = parameters.clone();
    let stand_ins = files.iter().map(|(n, _)| (n.clone(), params::file_value("0"))).collect();
    put_files(stand_ins, schema, &mut trial);
    trial
}

/// Uploads each file (or reuses an earlier upload of it) and puts the file values in the
/// parameters: one string, or an array when a name is repeated or the input takes a list.
/// Messages name a file by its input (`--file NAME`); `coze-tui upload` gives none.
pub async fn attach(
    runner: &Runner,
    profile: &str,
    files: Vec<(String, LocalFile)>,
    schema: Option<&OrderedParams>,
    parameters: &mut Map<String, Value>,
    progress: bool,
) -> Result<Vec<AttachedFile>, Failure> {
    let mut attached = vec![];
    let mut values: Vec<(String, Value)> = vec![];
    for (name, file) in files {
        let bar = progress.then(|| upload_bar(&file));
        let sent: std::sync::Arc<dyn Fn(u64) + Send + Sync> = match &bar {
            Some(b) => {
                let b = b.clone();
                std::sync::Arc::new(move |n| b.set_position(n))
            }
            None => std::sync::Arc::new(|_| {}),
        };
        let got = upload::upload(runner.client(), runner.ledger(), profile, &file, sent).await;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        let got = got.map_err(|e| match e {
            upload::UploadError::Coze(e) => Failure::from(e),
            other if name.is_empty() => Failure::Usage(other.to_string()),
            other => Failure::Usage(format!("--file {name}: {other}")),
        })?;
        if progress {
            let how = if got.reused { "already uploaded" } else { "uploaded" };
            eprintln!("{} → {} ({how})", file.path.display(), got.file_id);
        }
        values.push((name.clone(), params::file_value(&got.file_id)));
        attached.push(AttachedFile { name: got.file_name, file_id: got.file_id, input: name });
    }
    put_files(values, schema, parameters);
    Ok(attached)
}

/// File values into the parameters: each name once, an array when repeated or a list input.
fn put_files(values: Vec<(String, Value)>, schema: Option<&OrderedParams>, parameters: &mut Map<String, Value>) {
    for (name, _) in &values {
        if parameters.contains_key(name) {
            continue;
        }
        let all: Vec<Value> = values.iter().filter(|(n, _)| n == name).map(|(_, v)| v.clone()).collect();
        let many = all.len() > 1 || schema.and_then(|s| s.get(name)).and_then(params::file_kind).is_some_and(|k| k.1);
        let value = if many { Value::Array(all) } else { all.into_iter().next().unwrap_or(Value::Null) };
        parameters.insert(name.clone(), value);
    }
}

fn upload_bar(file: &LocalFile) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(Some(file.bytes), indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(format!("uploading {}", file.name));
    bar
}
