//! What the editor runs with besides its JSON: a published version (`V`: its own inputs,
//! what changed against the latest), files attached to file inputs (`A`: a path prompt with
//! Tab completion, uploaded by the runtime), and the app or bot it runs in (`B`).

use ratatui::crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;
use serde_json::Value;

use super::dialogs::{Overlay, prompt_key, prompt_with};
use super::keymap::Action;
use super::{App, Command, Pane};
use crate::coze::{OrderedParams, WorkflowVersion};
use crate::params;
use crate::tasks::AttachedFile;

/// The version list (`V`): "latest" first, then each published version, newest first.
pub struct VersionsView {
    pub workflow_id: String,
    /// `None` while listing.
    pub versions: Option<Result<Vec<WorkflowVersion>, String>>,
    /// 0 is the latest; `i` is `versions[i - 1]`.
    pub selected: usize,
}

impl VersionsView {
    /// How a version's inputs differ from the latest's (the workflow's own schema).
    pub fn changes(v: &WorkflowVersion, latest: Option<&OrderedParams>) -> Vec<String> {
        match (v.input.as_ref(), latest) {
            (Some(i), Some(latest)) => params::schema_changes(latest, &i.parameters),
            _ => vec![],
        }
    }
}

/// The attach prompt (`A`): a path for one file input.
pub struct AttachPrompt {
    pub input: String,
    pub kind: String,
    /// The input takes a list: the file is added to it.
    pub many: bool,
    pub path: TextArea<'static>,
    /// Why the path cannot be sent (said in the prompt; nothing is lost).
    pub error: Option<String>,
    /// What Tab found when it could not complete to one path.
    pub candidates: Vec<String>,
}

/// Tab completion of a path: the longest common extension among the entries that start with
/// what was typed (a folder gets its `/`), and every candidate when there are several.
pub fn complete_path(typed: &str) -> (String, Vec<String>) {
    let expanded = expand_home(typed);
    let (dir, prefix) = match expanded.rfind('/') {
        Some(i) => (expanded[..=i].to_string(), expanded[i + 1..].to_string()),
        None => (String::new(), expanded.clone()),
    };
    let read = std::fs::read_dir(if dir.is_empty() { "." } else { &dir });
    let mut found: Vec<(String, bool)> = read
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let hidden = name.starts_with('.') && !prefix.starts_with('.');
            (name.starts_with(&prefix) && !hidden).then(|| (name, e.path().is_dir()))
        })
        .collect();
    found.sort();
    let Some((first, _)) = found.first() else { return (typed.to_string(), vec![]) };
    let mut common = first.clone();
    for (name, _) in &found[1..] {
        let len = common.chars().zip(name.chars()).take_while(|(a, b)| a == b).map(|(a, _)| a.len_utf8()).sum();
        common.truncate(len);
    }
    let slash = if found.len() == 1 && found[0].1 { "/" } else { "" };
    let completed = format!("{dir}{common}{slash}");
    // Shown as typed: a `~` stays a `~`.
    let shown = match typed.strip_prefix('~') {
        Some(_) => completed.replacen(&expand_home("~"), "~", 1),
        None => completed,
    };
    let candidates = if found.len() > 1 {
        found.into_iter().map(|(n, d)| if d { format!("{n}/") } else { n }).collect()
    } else {
        vec![]
    };
    (shown, candidates)
}

/// `~` and `~/…` as the home folder.
pub fn expand_home(path: &str) -> String {
    match (path.strip_prefix('~'), std::env::var("HOME")) {
        (Some(rest), Ok(home)) if rest.is_empty() || rest.starts_with('/') => format!("{home}{rest}"),
        _ => path.to_string(),
    }
}

/// `7512345 [name…]`: a workflow id (digits), then an optional name.
fn parse_bookmark(text: &str) -> Result<(String, Option<String>), String> {
    let text = text.trim();
    let (id, name) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{id:?} is not a workflow id: the digits in the workflow's address in Coze Studio"));
    }
    let name = name.trim();
    Ok((id.to_string(), (!name.is_empty()).then(|| name.to_string())))
}

/// `bot ID`, `app ID` or nothing (run in neither).
fn parse_run_in(text: &str) -> Result<(Option<String>, Option<String>), String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        [] => Ok((None, None)),
        ["app", id] => Ok((Some(id.to_string()), None)),
        ["bot", id] => Ok((None, Some(id.to_string()))),
        _ => Err("type `bot ID` or `app ID` (one of them: Coze refuses both), or nothing to run in neither".into()),
    }
}

impl App {
    /// `V`: the open workflow's published versions (from Workflows: the selected one, opened).
    pub(super) fn open_versions(&mut self) -> Vec<Command> {
        let mut cmds = vec![];
        if self.focus == Pane::Workflows {
            cmds = self.open_workflow();
        }
        let Some(wf) = self.editor.workflow.clone() else {
            self.toast("open a workflow first");
            return cmds;
        };
        self.overlay = Some(Overlay::Versions(Box::new(VersionsView {
            workflow_id: wf.workflow_id.clone(),
            versions: None,
            selected: 0,
        })));
        cmds.push(Command::LoadVersions(wf.workflow_id));
        cmds
    }

    pub(super) fn on_versions(&mut self, workflow_id: String, result: Result<Vec<WorkflowVersion>, String>) {
        if let Some(Overlay::Versions(v)) = &mut self.overlay
            && v.workflow_id == workflow_id
        {
            // The one in use stays selected.
            let current = self.editor.context.version.clone();
            if let Ok(list) = &result {
                v.selected = current.and_then(|c| list.iter().position(|x| x.version == c)).map_or(0, |i| i + 1);
            }
            v.versions = Some(result);
        }
    }

    pub(super) fn on_versions_key(&mut self, mut v: Box<VersionsView>, action: Option<Action>) -> Vec<Command> {
        let rows = match &v.versions {
            Some(Ok(list)) => list.len() + 1,
            _ => 1,
        };
        match action {
            Some(Action::Cancel | Action::Back | Action::Quit) => return vec![],
            Some(Action::Down) => v.selected = (v.selected + 1) % rows,
            Some(Action::Up) => v.selected = (v.selected + rows - 1) % rows,
            Some(Action::Top) => v.selected = 0,
            Some(Action::Bottom) => v.selected = rows - 1,
            // Its inputs are compared with the workflow's, which must have arrived.
            Some(Action::Accept | Action::Open) if self.editor.loading => {
                self.toast("the workflow is still opening: choose a version once it has");
            }
            Some(Action::Accept | Action::Open) if v.versions.as_ref().is_some_and(|r| r.is_ok()) => {
                let chosen = match &v.versions {
                    Some(Ok(list)) => v.selected.checked_sub(1).and_then(|i| list.get(i)).cloned(),
                    _ => None,
                };
                self.use_version(&v.workflow_id, chosen);
                return vec![];
            }
            _ => {}
        }
        self.overlay = Some(Overlay::Versions(v));
        vec![]
    }

    /// Runs go with `version` (or the latest); the editor's text becomes that version's
    /// template keeping what still fits, as one edit `u` undoes.
    fn use_version(&mut self, workflow_id: &str, version: Option<WorkflowVersion>) {
        if self.editor.workflow.as_ref().map(|w| w.workflow_id.as_str()) != Some(workflow_id) {
            return;
        }
        let listed = version.as_ref().is_some_and(|v| v.input.is_some());
        match version {
            Some(v) => self.editor.use_version(Some(v.version), v.input.map(|i| i.parameters)),
            None => self.editor.use_version(None, None),
        }
        // The editor worked out what changed (once); the text becomes the inputs in force.
        let said = match (&self.editor.context.version, listed) {
            (Some(v), false) => format!("runs use {v} (Coze did not list its inputs: the parameters are not checked)"),
            (Some(v), true) if self.editor.version_changes.is_empty() => {
                format!("runs use {v} (inputs against the latest: same inputs)")
            }
            (Some(v), true) => {
                format!("runs use {v} (inputs against the latest: {})", self.editor.version_changes.join(", "))
            }
            (None, _) => "runs use the latest version".to_string(),
        };
        let text = self
            .editor
            .schema()
            .map(|s| params::pretty(&params::carry_over(s, self.editor.validation.params.as_ref())));
        if let Some(text) = text {
            self.editor.replace(&text);
        }
        if self.detail.subject == super::Subject::Workflow {
            self.rebuild_detail();
        }
        self.toast(&said);
    }

    /// `A`: attach a file to the file input at the cursor (else the first empty one, else the
    /// first).
    pub(super) fn open_attach(&mut self) {
        let Some(schema) = self.editor.schema() else {
            self.toast("open a workflow first (its inputs tell which take files)");
            return;
        };
        let files: Vec<(String, String, bool)> = schema
            .iter()
            .filter_map(|(name, p)| params::file_kind(p).map(|(k, many)| (name.to_string(), k.to_string(), many)))
            .collect();
        if files.is_empty() {
            self.toast("this workflow has no file inputs (image, file, doc…)");
            return;
        }
        let row = self.editor.text.cursor().0;
        let line = self.editor.text.lines().get(row).cloned().unwrap_or_default();
        let at_cursor = files.iter().find(|(n, _, _)| line.trim_start().starts_with(&format!("\"{n}\"")));
        let current = self.editor.validation.params.clone().unwrap_or_default();
        let empty =
            |n: &str| current.get(n).is_none_or(|v| v.as_str() == Some("") || v.as_array().is_some_and(Vec::is_empty));
        let (input, kind, many) =
            at_cursor.or_else(|| files.iter().find(|(n, _, _)| empty(n))).unwrap_or(&files[0]).clone();
        self.overlay = Some(Overlay::Attach(Box::new(AttachPrompt {
            input,
            kind,
            many,
            path: prompt_with("path to the file (Tab completes)", ""),
            error: None,
            candidates: vec![],
        })));
    }

    pub(super) fn on_attach_key(
        &mut self,
        mut a: Box<AttachPrompt>,
        key: KeyEvent,
        action: Option<Action>,
    ) -> Vec<Command> {
        let typed = a.path.lines().join("");
        match action {
            Some(Action::Cancel) => return vec![],
            // The folder is read by the runtime (a big or remote one must not stall the UI).
            Some(Action::NextField) => {
                a.error = None;
                self.overlay = Some(Overlay::Attach(a));
                return vec![Command::CompletePath(typed)];
            }
            Some(Action::Accept) => {
                let path = std::path::PathBuf::from(expand_home(typed.trim()));
                match crate::upload::check(&path) {
                    Ok(file) => {
                        let Some(workflow_id) = self.editor.workflow.as_ref().map(|w| w.workflow_id.clone()) else {
                            return vec![];
                        };
                        self.toast(&format!("uploading {} for {}…", file.name, a.input));
                        return vec![Command::Upload { workflow_id, input: a.input, file }];
                    }
                    Err(e) => a.error = Some(e),
                }
            }
            _ => {
                if prompt_key(&mut a.path, key) {
                    a.error = None;
                    a.candidates.clear();
                }
            }
        }
        self.overlay = Some(Overlay::Attach(a));
        vec![]
    }

    /// Tab's completion of `typed`, if the prompt still holds it.
    pub(super) fn on_path_completed(&mut self, typed: &str, completed: String, candidates: Vec<String>) {
        if let Some(Overlay::Attach(a)) = &mut self.overlay
            && a.path.lines().join("") == typed
        {
            if completed != typed {
                a.path = prompt_with("path", "");
                a.path.insert_str(&completed);
            }
            a.candidates = candidates;
        }
    }

    /// An upload finished: its value goes into the input (added to a list), as one edit.
    pub(super) fn on_uploaded(&mut self, workflow_id: &str, input: &str, result: Result<AttachedFile, String>) {
        let file = match result {
            Ok(f) => f,
            Err(e) => {
                self.toast(&format!("not uploaded: {e}"));
                return;
            }
        };
        if self.editor.workflow.as_ref().map(|w| w.workflow_id.as_str()) != Some(workflow_id) {
            self.toast(&format!("{} uploaded ({}), but its workflow is no longer open", file.name, file.file_id));
            return;
        }
        let Some(mut current) = self.editor.validation.params.clone() else {
            self.toast(&format!("{} uploaded ({}); fix the JSON, then attach it again", file.name, file.file_id));
            return;
        };
        let many = self.editor.schema().and_then(|s| s.get(input)).and_then(params::file_kind).is_some_and(|k| k.1);
        let value = params::file_value(&file.file_id);
        match current.get_mut(input) {
            Some(Value::Array(items)) if many => items.push(value),
            _ if many => {
                current.insert(input.to_string(), Value::Array(vec![value]));
            }
            _ => {
                current.insert(input.to_string(), value);
            }
        }
        self.editor.replace(&params::pretty(&Value::Object(current)));
        self.toast(&format!("{} attached to {input} ({})", file.name, file.file_id));
        self.editor.context.files.retain(|f| many || f.input != input);
        self.editor.context.files.push(file);
    }

    /// `+`: a workflow by id, on a Coze Studio (which cannot list them).
    pub(super) fn open_add_workflow(&mut self) {
        if !self.in_studio() {
            self.toast("workflows here come from the workspace's list; adding one by id is for Coze Studio");
            return;
        }
        self.overlay =
            Some(Overlay::AddWorkflow { input: prompt_with("workflow ID, then a name if you like", ""), error: None });
    }

    pub(super) fn on_add_workflow_key(
        &mut self,
        input: TextArea<'static>,
        key: KeyEvent,
        action: Option<Action>,
    ) -> Vec<Command> {
        let reopen = |input, error| Overlay::AddWorkflow { input, error };
        self.on_line_prompt(input, key, action, reopen, |app, text| {
            let (workflow_id, name) = parse_bookmark(text)?;
            app.toast(&format!("looking up workflow {workflow_id}…"));
            app.select_after_load = Some(workflow_id.clone());
            app.focus = Pane::Workflows;
            app.workflows.loading = true;
            Ok(vec![Command::AddWorkflow { workflow_id, name }])
        })
    }

    /// A one-line prompt's key: Esc closes it; Enter gives its text to `accept`, whose error
    /// keeps it open and says what is wrong; any other key edits it.
    fn on_line_prompt(
        &mut self,
        mut input: TextArea<'static>,
        key: KeyEvent,
        action: Option<Action>,
        reopen: impl Fn(TextArea<'static>, Option<String>) -> Overlay,
        accept: impl FnOnce(&mut Self, &str) -> Result<Vec<Command>, String>,
    ) -> Vec<Command> {
        match action {
            Some(Action::Cancel) => vec![],
            Some(Action::Accept) => match accept(self, &input.lines().join("")) {
                Ok(cmds) => cmds,
                Err(e) => {
                    self.overlay = Some(reopen(input, Some(e)));
                    vec![]
                }
            },
            _ => {
                prompt_key(&mut input, key);
                self.overlay = Some(reopen(input, None));
                vec![]
            }
        }
    }

    /// `B`: the app or bot the workflow runs in.
    pub(super) fn open_run_in(&mut self) {
        if self.editor.workflow.is_none() {
            self.toast("open a workflow first");
            return;
        }
        let now = self.editor.context.run_in().unwrap_or_default();
        self.overlay =
            Some(Overlay::RunIn { input: prompt_with("bot ID or app ID (empty: neither)", &now), error: None });
    }

    pub(super) fn on_run_in_key(
        &mut self,
        input: TextArea<'static>,
        key: KeyEvent,
        action: Option<Action>,
    ) -> Vec<Command> {
        let reopen = |input, error| Overlay::RunIn { input, error };
        self.on_line_prompt(input, key, action, reopen, |app, text| {
            let (app_id, bot_id) = parse_run_in(text)?;
            let said = match (&app_id, &bot_id) {
                (Some(id), _) => format!("runs go in app {id} (remembered for this workflow once run)"),
                (_, Some(id)) => format!("runs go with bot {id} (remembered for this workflow once run)"),
                _ => "runs go in no app and with no bot (forgotten for this workflow)".to_string(),
            };
            let forget = app_id.is_none() && bot_id.is_none();
            app.editor.context.app_id = app_id;
            app.editor.context.bot_id = bot_id;
            app.toast(&said);
            Ok(match app.editor.workflow.as_ref().filter(|_| forget) {
                Some(wf) => vec![Command::ForgetRunIn(wf.workflow_id.clone())],
                None => vec![],
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_completes_paths_to_the_common_part_and_lists_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        std::fs::write(dir.path().join("photo-1.png"), "x").unwrap();
        std::fs::write(dir.path().join("photo-2.png"), "x").unwrap();
        std::fs::create_dir(dir.path().join("docs")).unwrap();
        std::fs::write(dir.path().join(".hidden"), "x").unwrap();
        let (done, more) = complete_path(&format!("{d}/ph"));
        assert_eq!((done, more), (format!("{d}/photo-"), vec!["photo-1.png".to_string(), "photo-2.png".to_string()]));
        assert_eq!(complete_path(&format!("{d}/do")), (format!("{d}/docs/"), vec![]));
        assert_eq!(complete_path(&format!("{d}/zz")), (format!("{d}/zz"), vec![]));
        let (_, all) = complete_path(&format!("{d}/"));
        assert_eq!(all, ["docs/", "photo-1.png", "photo-2.png"], "hidden files only when asked for");
    }

    #[test]
    fn a_bookmark_is_an_id_and_maybe_a_name() {
        assert_eq!(parse_bookmark(" 7512 "), Ok(("7512".into(), None)));
        assert_eq!(parse_bookmark("7512  weather 天气"), Ok(("7512".into(), Some("weather 天气".into()))));
        assert!(parse_bookmark("weather").is_err() && parse_bookmark("").is_err());
    }

    #[test]
    fn run_in_takes_one_of_bot_or_app() {
        assert_eq!(parse_run_in(" bot 74 "), Ok((None, Some("74".into()))));
        assert_eq!(parse_run_in("app 75"), Ok((Some("75".into()), None)));
        assert_eq!(parse_run_in(""), Ok((None, None)));
        assert!(parse_run_in("bot 1 app 2").is_err());
        assert!(parse_run_in("74").is_err());
    }
}
