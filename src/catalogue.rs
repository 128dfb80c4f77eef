//! The workflows this profile can see, by name: recorded from every full listing (the
//! dashboard's, `coze-tui workflows`'), so a name can stand for an id on the command line and
//! the palette can jump across workspaces without listing them all again.

use std::sync::Arc;

use crate::coze::{CozeClient, CozeError, Workflow};
use crate::tasks::{KnownWorkflow, Ledger};

/// Records a workspace's full listing; a ledger that cannot take it costs only name lookups.
pub fn remember(ledger: &Ledger, profile: &str, workspace_id: &str, listed: &[Workflow]) {
    let pairs: Vec<(String, String)> =
        listed.iter().map(|w| (w.workflow_id.clone(), w.workflow_name.clone())).collect();
    if let Err(e) = ledger.remember_workflows(profile, workspace_id, &pairs) {
        tracing::warn!("workflow names not recorded: {e}");
    }
}

/// Lists every workspace's workflows, records them and returns the whole catalogue. The
/// ledger is written off the async threads (another process may hold it for a moment).
pub async fn refresh(
    ledger: &Arc<Ledger>,
    profile: &str,
    client: &CozeClient,
) -> Result<Vec<KnownWorkflow>, CozeError> {
    for ws in client.list_workspaces().await?.value {
        let listed = client.list_workflows_marked(&ws.id).await?.value;
        let (l, p) = (ledger.clone(), profile.to_string());
        let _ = tokio::task::spawn_blocking(move || remember(&l, &p, &ws.id, &listed)).await;
    }
    let (l, p) = (ledger.clone(), profile.to_string());
    Ok(tokio::task::spawn_blocking(move || l.known_workflows(&p).unwrap_or_default()).await.unwrap_or_default())
}
