//! The workflows this profile can see, by name: recorded from every full listing (the
//! dashboard's, `coze-tui workflows`'), so a name can stand for an id on the command line and
//! the palette can jump across workspaces without listing them all again.

use std::sync::Arc;

use crate::config::Bookmark;
use crate::coze::{CozeClient, CozeError, Workflow};
use crate::tasks::{KnownWorkflow, Ledger};

/// The one "workspace" of a Coze Studio, which has no workspace list: its workflows are the
/// ones coze-tui knows of (see [`studio_workflows`]).
pub const STUDIO_SPACE: &str = "studio";

/// Records a workspace's full listing; a ledger that cannot take it costs only name lookups.
pub fn remember(ledger: &Ledger, profile: &str, workspace_id: &str, listed: &[Workflow]) {
    let pairs: Vec<(String, String)> =
        listed.iter().map(|w| (w.workflow_id.clone(), w.workflow_name.clone())).collect();
    if let Err(e) = ledger.remember_workflows(profile, workspace_id, &pairs) {
        tracing::warn!("workflow names not recorded: {e}");
    }
}

/// A Coze Studio's workflows as far as coze-tui knows them, since Studio cannot list them:
/// the profile's bookmarks, those added by id in the dashboard, then every one run before;
/// each once, named by the first of these that names it. Recorded as the listing of
/// [`STUDIO_SPACE`], so names stand for ids here too.
pub fn studio_workflows(ledger: &Ledger, profile: &str, configured: &[Bookmark]) -> Vec<Workflow> {
    let added = ledger.bookmarks(profile).unwrap_or_else(|e| {
        tracing::warn!("bookmarks not read: {e}");
        vec![]
    });
    let run = ledger.workflows_run(profile).unwrap_or_default();
    let mut list: Vec<Workflow> = Vec::new();
    let all = configured
        .iter()
        .map(|b| (b.id.clone(), b.name.clone()))
        .chain(added)
        .chain(run.into_iter().map(|(id, name)| (id, Some(name).filter(|n| !n.is_empty()))));
    for (id, name) in all {
        match list.iter_mut().find(|w| w.workflow_id == id) {
            Some(w) if w.workflow_name.is_empty() => w.workflow_name = name.unwrap_or_default(),
            Some(_) => {}
            None => {
                list.push(Workflow { workflow_id: id, workflow_name: name.unwrap_or_default(), ..Workflow::default() })
            }
        }
    }
    remember(ledger, profile, STUDIO_SPACE, &list);
    list
}

/// The name coze-tui knows a workflow by: the profile's bookmark's, else the last listing's
/// or run's.
pub fn name_of(ledger: &Ledger, profile: &str, configured: &[Bookmark], workflow_id: &str) -> Option<String> {
    if let Some(name) = configured.iter().find(|b| b.id == workflow_id).and_then(|b| b.name.clone()) {
        return Some(name);
    }
    let known = ledger.known_workflows(profile).ok()?;
    let listed = known.into_iter().find(|w| w.workflow_id == workflow_id).map(|w| w.name).filter(|n| !n.is_empty());
    listed.or_else(|| {
        let run = ledger.workflows_run(profile).ok()?;
        run.into_iter().find(|(id, _)| id == workflow_id).map(|(_, name)| name).filter(|n| !n.is_empty())
    })
}

/// Lists every workspace's workflows, records them and returns the whole catalogue (on Coze
/// Studio, the workflows it knows of). The ledger is written off the async threads (another
/// process may hold it for a moment).
pub async fn refresh(
    ledger: &Arc<Ledger>,
    profile: &str,
    client: &CozeClient,
    configured: &[Bookmark],
) -> Result<Vec<KnownWorkflow>, CozeError> {
    let Some(workspaces) = client.unless_studio(client.list_workspaces()).await? else {
        let (l, p, c) = (ledger.clone(), profile.to_string(), configured.to_vec());
        let known = tokio::task::spawn_blocking(move || {
            studio_workflows(&l, &p, &c);
            l.known_workflows(&p).unwrap_or_default()
        });
        return Ok(known.await.unwrap_or_default());
    };
    for ws in workspaces.value {
        let listed = client.list_workflows_marked(&ws.id).await?.value;
        let (l, p) = (ledger.clone(), profile.to_string());
        let _ = tokio::task::spawn_blocking(move || remember(&l, &p, &ws.id, &listed)).await;
    }
    let (l, p) = (ledger.clone(), profile.to_string());
    Ok(tokio::task::spawn_blocking(move || l.known_workflows(&p).unwrap_or_default()).await.unwrap_or_default())
}
