//! Workflow names on the command line: wherever a workflow id is taken, a name that is unique
//! across the profile's catalogue is taken too. Names come from listings recorded in the
//! ledger (the dashboard's and `coze-tui workflows`'); an unknown name refreshes them once.

use super::Failure;
use crate::config::Settings;
use crate::coze::CozeClient;
use crate::tasks::{KnownWorkflow, Ledger};

/// Accepts a workflow id (decimal digits) or a name; which one is settled by [`resolve`].
pub fn workflow_ref(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() || s.len() > 500 || s.chars().any(char::is_control) {
        return Err("a workflow id (decimal digits, like 7524966123456700006) or a workflow name".into());
    }
    Ok(s.to_string())
}

fn is_id(s: &str) -> bool {
    s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The workflow id `given` stands for: itself when it is an id, else the one workflow with
/// that name (exact, else ignoring case) in the profile's catalogue.
pub async fn resolve(settings: &Settings, client: &CozeClient, given: &str) -> Result<String, Failure> {
    if is_id(given) {
        return Ok(given.to_string());
    }
    let ledger = std::sync::Arc::new(Ledger::open_in(&settings.data_dir)?);
    resolve_on(&ledger, &settings.profile_name, &settings.profile.workflows, client, given).await
}

/// [`resolve`] on an open ledger (the dashboard's).
pub async fn resolve_on(
    ledger: &std::sync::Arc<Ledger>,
    profile: &str,
    configured: &[crate::config::Bookmark],
    client: &CozeClient,
    given: &str,
) -> Result<String, Failure> {
    if is_id(given) {
        return Ok(given.to_string());
    }
    // A ledger read: off the async threads (the dashboard resolves names too).
    let (l, p) = (ledger.clone(), profile.to_string());
    let known = tokio::task::spawn_blocking(move || l.known_workflows(&p))
        .await
        .map_err(|e| Failure::Usage(e.to_string()))??;
    if let Some(id) = pick(given, &known)? {
        return Ok(id);
    }
    // Not seen yet (or renamed since): list every workspace's workflows once and look again.
    let known = crate::catalogue::refresh(ledger, profile, client, configured).await?;
    pick(given, &known)?.ok_or_else(|| {
        Failure::Usage(format!(
            "no workflow is named {given:?} in this profile's {} workflows (coze-tui workflows lists them)",
            known.len()
        ))
    })
}

/// The id of each case's workflow (a name or an id), each looked up once; a name that does
/// not resolve says which case named it.
pub async fn resolve_cases(
    ledger: &std::sync::Arc<Ledger>,
    profile: &str,
    configured: &[crate::config::Bookmark],
    client: &CozeClient,
    cases: &[&crate::suite::Case],
) -> Result<std::collections::HashMap<String, String>, Failure> {
    let mut ids = std::collections::HashMap::new();
    for c in cases {
        if !ids.contains_key(&c.workflow) {
            let id = resolve_on(ledger, profile, configured, client, &c.workflow).await.map_err(|e| match e {
                Failure::Usage(m) => Failure::Usage(format!("{}: workflow: {m}", c.at)),
                other => other,
            })?;
            ids.insert(c.workflow.clone(), id);
        }
    }
    Ok(ids)
}

/// Like [`resolve`] from the recorded names only (for reading the ledger, which needs no
/// network).
pub fn known_id(ledger: &Ledger, profile: &str, given: &str) -> Result<String, Failure> {
    if is_id(given) {
        return Ok(given.to_string());
    }
    pick(given, &ledger.known_workflows(profile)?)?.ok_or_else(|| {
        Failure::Usage(format!("no workflow named {given:?} has been listed yet (give its id, or list it once)"))
    })
}

/// The one workflow named `name`: exact matches first, then matches ignoring case. Two or more
/// is an error naming them.
fn pick(name: &str, known: &[KnownWorkflow]) -> Result<Option<String>, Failure> {
    let exact: Vec<&KnownWorkflow> = known.iter().filter(|k| k.name == name).collect();
    let found = if exact.is_empty() {
        known.iter().filter(|k| k.name.to_lowercase() == name.to_lowercase()).collect()
    } else {
        exact
    };
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.workflow_id.clone())),
        many => {
            let list: Vec<String> =
                many.iter().map(|k| format!("{} (workspace {})", k.workflow_id, k.workspace_id)).collect();
            Err(Failure::Usage(format!(
                "{} workflows are named {name:?}: {}; give the id instead",
                many.len(),
                list.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(id: &str, name: &str) -> KnownWorkflow {
        KnownWorkflow { workflow_id: id.into(), name: name.into(), workspace_id: "1".into() }
    }

    #[test]
    fn a_name_picks_one_workflow_exactly_then_ignoring_case() {
        let known = [k("1", "echo"), k("2", "Echo"), k("3", "slow")];
        assert_eq!(pick("echo", &known).unwrap(), Some("1".into()), "exact wins over case");
        assert_eq!(pick("SLOW", &known).unwrap(), Some("3".into()));
        assert_eq!(pick("nope", &known).unwrap(), None);
        let Err(Failure::Usage(e)) = pick("ECHO", &known) else { panic!("two match ignoring case") };
        assert!(e.contains("2 workflows are named") && e.contains("give the id"), "{e}");
    }

    #[test]
    fn ids_and_names_are_accepted_and_nonsense_is_not() {
        assert_eq!(workflow_ref(" 7524966123456700006 ").unwrap(), "7524966123456700006");
        assert_eq!(workflow_ref("天气 预报").unwrap(), "天气 预报");
        assert!(workflow_ref("  ").is_err());
        assert!(workflow_ref("a\u{7}b").is_err());
        assert!(is_id("123") && !is_id("12a"));
    }
}
