//! `coze-tui chat`: talking to a chatflow. Each message is one turn, recorded as a task (mode
//! `chat`, its conversation id, its message; the reply is its output), so the ledger keeps
//! the transcript and a conversation goes on after a restart (`--conversation ID`).

use std::io::{IsTerminal, Write};

use clap::Args;
use serde_json::json;
use tokio::io::AsyncBufReadExt;

use super::output::print_json;
use super::{Failure, inputs, names, params, run};
use crate::config::Settings;
use crate::coze::stream::ANSWER_NODE;
use crate::tasks::{NewTask, RunContext, RunMode, Runner, Task, TaskStatus};

#[derive(Debug, Args)]
pub struct ChatCommand {
    /// Chatflow id, or a name unique across the profile's workspaces
    #[arg(value_parser = names::workflow_ref)]
    pub workflow_id: String,
    /// Go on with this conversation (`coze-tui tasks` shows each turn's); default: a new one
    #[arg(long, value_name = "ID")]
    pub conversation: Option<String>,
    /// Say this and print the reply (one turn); without it, a conversation on the terminal
    /// (or one turn per line of stdin)
    #[arg(long, value_name = "TEXT")]
    pub message: Option<String>,
    /// The chatflow's other inputs: a JSON object or @FILE
    #[arg(long, value_name = "JSON|@FILE")]
    pub params: Option<String>,
    #[command(flatten)]
    pub inputs_args: inputs::InputArgs,
}

/// What every turn of this chat is sent with.
struct Turns<'a> {
    runner: &'a Runner,
    workflow_id: String,
    workflow_name: Option<String>,
    parameters: serde_json::Map<String, serde_json::Value>,
    context: RunContext,
    json: bool,
}

pub async fn chat_command(mut cmd: ChatCommand, settings: &Settings, json: bool) -> Result<(), Failure> {
    if cmd.params.as_deref() == Some("-") {
        return Err(Failure::Usage("--params - would read the conversation's stdin; give JSON or @FILE".into()));
    }
    let mut parameters = params::load(cmd.params.as_deref(), std::io::empty()).map_err(Failure::Usage)?;
    let files = inputs::check_files(&cmd.inputs_args, &parameters)?;
    cmd.workflow_id = names::resolve(settings, &super::client(settings)?, &cmd.workflow_id).await?;
    let runner = run::open_runner(settings, false).await?;
    let prepared = run::before_sending(&runner, async {
        let profile = &settings.profile_name;
        let target = inputs::target(&runner, settings, &cmd.workflow_id, cmd.inputs_args.version.as_deref()).await?;
        let name = target.name.as_deref().filter(|n| !n.is_empty()).unwrap_or(&cmd.workflow_id).to_string();
        if !target.chatflow && target.name.is_some() {
            return Err(Failure::Usage(format!("{name} is a workflow, not a chatflow: run it with `coze-tui run`")));
        }
        let mut context = inputs::context(&cmd.inputs_args, &runner, &cmd.workflow_id, profile)?;
        if context.app_id.is_none() && context.bot_id.is_none() {
            return Err(Failure::Usage(format!(
                "a chatflow runs in an app or with a bot: give --app-id ID (a Coze app's chatflow) or --bot-id ID \
                 (remembered for {name} after this)"
            )));
        }
        context.files = inputs::attach(&runner, profile, files, target.schema.as_ref(), &mut parameters, !json).await?;
        context.conversation_id = cmd.conversation.clone();
        Ok::<_, Failure>((target.name, context))
    })
    .await;
    let (workflow_name, context) = prepared?;
    let mut turns =
        Turns { runner: &runner, workflow_id: cmd.workflow_id.clone(), workflow_name, parameters, context, json };
    let last = match cmd.message.take() {
        Some(message) => Some(turns.say(&message, false).await?),
        None => turns.converse(settings).await?,
    };
    runner.shutdown().await;
    match last.map(|t| run::exit_code(&t)) {
        None | Some(super::ExitCode::Success) => Ok(()),
        Some(code) => Err(Failure::Exit(code)),
    }
}

impl Turns<'_> {
    /// One turn: the message sent into the conversation, the reply printed as it streams
    /// (or, with `--json`, the turn as JSON once it ends). The conversation goes on in the
    /// one Coze named.
    async fn say(&mut self, message: &str, prompted: bool) -> Result<Task, Failure> {
        let rx = self.runner.subscribe();
        let context = RunContext { message: Some(message.to_string()), ..self.context.clone() };
        let new = NewTask {
            workflow_id: self.workflow_id.clone(),
            workflow_name: self.workflow_name.clone(),
            workspace_id: None,
            parameters: self.parameters.clone(),
            mode: RunMode::Chat,
            name: None,
            description: None,
            context,
        };
        let task = self.runner.submit(new).await?;
        // Written, never printed: a reader that went away ends the output, not the process.
        let live = !self.json;
        let mut out = std::io::stdout();
        if live && prompted {
            let _ = write!(out, "bot › ");
        }
        let mut streamed = 0;
        let task = run::follow_with(self.runner, rx, &task.id, false, |e| {
            if live && e.node_title == ANSWER_NODE {
                streamed += e.content.len();
                let _ = write!(out, "{}", e.content);
                let _ = out.flush();
            }
        })
        .await;
        if let Some(id) = &task.context.conversation_id {
            self.context.conversation_id = Some(id.clone());
        }
        let reply = task.output_text();
        if self.json {
            print_json(&json!({
                "conversation_id": task.context.conversation_id,
                "task_id": task.id,
                "reply": reply,
                "status": task.status,
            }));
        } else {
            // The reply streamed; if none of it did (no deltas, or they were missed), it is
            // written whole.
            if streamed == 0
                && let Some(r) = &reply
            {
                let _ = write!(out, "{r}");
            }
            let _ = writeln!(out);
            if task.status != TaskStatus::Succeeded && task.output.is_none() {
                run::print_outcome(&task, false);
            }
        }
        Ok(task)
    }

    /// Turns from the terminal (a prompt, Ctrl-D ends) or from stdin's lines.
    async fn converse(&mut self, settings: &Settings) -> Result<Option<Task>, Failure> {
        let terminal = std::io::stdin().is_terminal();
        if terminal && !self.json {
            let name = self.workflow_name.clone().unwrap_or_else(|| self.workflow_id.clone());
            match self.context.conversation_id.clone() {
                Some(id) => self.replay(settings, &id, &name),
                None => eprintln!("a new conversation with {name} · Ctrl-D ends it"),
            }
        }
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        let mut last = None;
        loop {
            if terminal && !self.json {
                eprint!("you › ");
            }
            let line = match lines.next_line().await {
                Ok(Some(l)) => l,
                Ok(None) => break,
                Err(e) => return Err(Failure::Usage(format!("cannot read stdin: {e}"))),
            };
            if line.trim().is_empty() {
                continue;
            }
            let task = self.say(line.trim(), terminal).await?;
            let failed = task.status != TaskStatus::Succeeded;
            last = Some(task);
            // A refused turn ends a script's conversation; a person may try again.
            if failed && !terminal {
                break;
            }
        }
        if terminal && !self.json {
            eprintln!();
            if let Some(id) = &self.context.conversation_id {
                eprintln!("conversation {id} (go on with --conversation {id})");
            }
        }
        Ok(last)
    }

    /// The turns of a conversation the ledger has, before going on with it.
    fn replay(&self, settings: &Settings, id: &str, name: &str) {
        let turns = run::open_ledger(settings).and_then(|l| Ok(l.conversation(&settings.profile_name, id)?));
        match turns {
            Ok(turns) if !turns.is_empty() => {
                eprintln!("conversation {id} with {name} ({} turns so far) · Ctrl-D ends it", turns.len());
                for t in turns {
                    eprintln!("you › {}", t.context.message.as_deref().unwrap_or(""));
                    eprintln!("bot › {}", t.output_text().unwrap_or_else(|| format!("({})", t.status.as_str())));
                }
            }
            _ => eprintln!("conversation {id} with {name} (no turns of it here) · Ctrl-D ends it"),
        }
    }
}
