//! `coze-tui demo`: the embedded simulator plus a guided tour of the plain commands.
//! (In a terminal, `demo` opens the dashboard instead; this tour is for pipes and CI.)

use std::io::IsTerminal;

use super::{Failure, GlobalArgs};
use crate::coze::Server;
use crate::demo::Demo;
use crate::tasks::{NewTask, RunMode};

pub async fn run(global: &GlobalArgs, server: Server) -> Result<(), Failure> {
    // A fresh ledger each time, removed when `demo` is dropped: the user's own is never touched.
    let demo = Demo::start(None, 1500, server).await.map_err(Failure::Usage)?;
    let (sim, settings) = (&demo.sim, &demo.settings);
    let json = global.json;
    let client = super::client(settings)?;
    let ws = sim.first_workspace_id();
    let step = |title: &str| {
        if !json {
            println!("\n\x1b[1m━━ {title}\x1b[0m");
        }
    };
    let what = if server == Server::Studio { "Coze Studio" } else { "Coze" };
    println!("coze-tui demo: an embedded {what} simulator is running at {} (no account, no network).", sim.url());
    step("coze-tui health");
    let _ = super::health(settings, json).await;
    let id = |name: &str| sim.workflow_id(name).unwrap_or_default();
    if server == Server::Studio {
        // No workspaces and no workflow list on a Studio: the profile's bookmarks stand in.
        step("coze-tui workflows   # the profile's bookmarks: Coze Studio cannot list its workflows");
        super::all_workflows(settings, &client, json).await?;
    } else {
        step("coze-tui workspaces");
        super::workspaces(&client, json).await?;
        step(&format!("coze-tui workflows --workspace {ws}"));
        super::workflows(settings, &client, &ws, crate::coze::PublishStatus::All, json).await?;
        step(&format!("coze-tui workflow {}   # needs_params", id("needs_params")));
        super::workflow(&client, &id("needs_params"), json).await?;
    }
    let tour = [
        ("echo", RunMode::Sync, r#"{"input": "你好, coze-tui 👋"}"#),
        ("needs_params", RunMode::Async, r#"{"city": "杭州", "days": 3}"#),
        ("chatty", RunMode::Stream, "{}"),
        ("asks", RunMode::Stream, "{}"),
        ("fails", RunMode::Sync, "{}"),
    ];
    let runner = super::run::open_runner(settings, false).await?;
    let mut asked = None;
    for (name, mode, params) in tour {
        step(&format!("coze-tui run {} --mode {} --params '{params}'   # {name}", id(name), mode.as_str()));
        let rx = runner.subscribe();
        let new = NewTask {
            workflow_id: id(name),
            workflow_name: Some(name.into()),
            workspace_id: (server == Server::Coze).then(|| ws.clone()),
            parameters: super::params::parse(params, "demo").map_err(Failure::Usage)?,
            mode,
            name: Some(format!("demo {name}")),
            description: None,
            context: Default::default(),
        };
        let task = runner.submit(new).await?;
        let task = super::run::follow(&runner, rx, &task.id, !json, false).await;
        super::print_task(&task, json, false);
        if name == "asks" {
            asked = Some(task.id);
        }
    }
    if let Some(task_id) = asked {
        step(&format!("coze-tui resume {task_id} --answer 杭州"));
        let rx = runner.subscribe();
        runner.resume(&task_id, "杭州").await?;
        let task = super::run::follow(&runner, rx, &task_id, !json, false).await;
        super::print_task(&task, json, false);
    }
    step("coze-tui tasks");
    let list = runner.ledger().list(&crate::tasks::TaskFilter { limit: 10, ..Default::default() })?;
    super::run::print_list(&list, json);
    runner.shutdown().await;
    if std::io::stdin().is_terminal() && !json {
        println!(
            "\nThe simulator keeps running. In another terminal try:\n  \
             export COZE_API_BASE={} COZE_API_TOKEN={}\n  coze-tui workflows{}\n\
             Ctrl-C stops it.",
            sim.url(),
            sim.token(),
            if server == Server::Studio { String::new() } else { format!(" --workspace {ws}") }
        );
        super::wait_for_shutdown().await;
    }
    Ok(())
}
