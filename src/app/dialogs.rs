//! Dialogs over the panes (help, confirmations, the answer box, the run-named form, the list
//! filter, the profile list). A dialog takes every key until it closes; its keys come from the
//! key map's `dialogs` context, so they can be remapped like any other.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use super::{App, Command, Context, Pane};
use crate::app::keymap::Action;
use crate::tasks::RunMode;

/// A dialog over the panes. At most one is open.
// There is only ever one, so boxing its text areas would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Overlay {
    Help(Box<super::help::Help>),
    ConfirmDelete {
        task_id: String,
        label: String,
    },
    Answer {
        task_id: String,
        question: String,
        input: TextArea<'static>,
        /// Answers Coze still takes before it fails the run.
        left: u32,
        /// Enter was pressed on an empty answer: pressing it again sends it.
        empty_warned: bool,
        /// An input node's form: the answer is a JSON object of its fields.
        form: Option<Box<Form>>,
    },
    RunNamed {
        mode: RunMode,
        name: TextArea<'static>,
        description: TextArea<'static>,
        on_description: bool,
    },
    Filter {
        pane: Pane,
        input: TextArea<'static>,
    },
    Profiles {
        selected: usize,
    },
    Message {
        title: String,
        text: String,
    },
    /// Reset the editor to the schema's template?
    ConfirmReset,
    /// Every message shown in the status bar, newest first.
    MessageLog {
        scroll: usize,
    },
    /// A task's output (or error) full screen.
    Viewer(Box<super::viewer::Viewer>),
    /// Where to save a task as a test case.
    SaveCase {
        task_id: String,
        input: TextArea<'static>,
    },
    /// Test suites: pick, run, the verdict matrix (`T`).
    Suites(Box<super::suites::SuitesView>),
    /// Jump to a workflow, a task or an action (`:`).
    Palette(Box<super::palette::Palette>),
    /// The open workflow's published versions (`V`).
    Versions(Box<super::inputs::VersionsView>),
    /// A path to upload for a file input (`A`).
    Attach(Box<super::inputs::AttachPrompt>),
    /// The chat of a chatflow (its state is `App::chat`).
    Chat,
    /// The app or bot the workflow runs in (`B`).
    RunIn {
        input: TextArea<'static>,
        error: Option<String>,
    },
    /// A workflow to add by id, on a Coze Studio (`+`).
    AddWorkflow {
        input: TextArea<'static>,
        error: Option<String>,
    },
}

impl Overlay {
    /// Dialogs with a text field: a key that types a character types it.
    fn takes_text(&self) -> bool {
        matches!(
            self,
            Overlay::Answer { .. }
                | Overlay::RunNamed { .. }
                | Overlay::Filter { .. }
                | Overlay::Palette(_)
                | Overlay::SaveCase { .. }
                | Overlay::Attach(_)
                | Overlay::RunIn { .. }
                | Overlay::AddWorkflow { .. }
                | Overlay::Chat
        )
    }
}

/// An input node's fields, answered as JSON in a small editor (pre-filled from their
/// schema and checked as the parameters editor checks).
pub struct Form {
    pub fields: crate::coze::OrderedParams,
    /// The text as last checked (after every edit).
    checked: crate::params::Validation,
    /// Send was pressed with a problem: said until the next edit.
    pub refused: bool,
}

impl Form {
    pub fn new(fields: crate::coze::OrderedParams) -> (Self, TextArea<'static>) {
        let text = crate::params::pretty(&crate::params::template(&fields));
        let mut input = TextArea::new(text.lines().map(str::to_string).collect());
        input.set_cursor_line_style(ratatui::style::Style::default());
        let checked = crate::params::validate(&text, Some(&fields));
        (Self { fields, checked, refused: false }, input)
    }

    fn check(&mut self, input: &TextArea<'static>) {
        self.checked = crate::params::validate(&input.lines().join("\n"), Some(&self.fields));
        self.refused = false;
    }

    /// What stops it being sent, if anything (the first blocking problem).
    pub fn problem(&self) -> Option<&str> {
        self.checked.blocker().map(|p| p.message.as_str())
    }

    /// Said but not stopping it (an empty required field).
    pub fn warning(&self) -> Option<&str> {
        self.checked.problems.first().map(|p| p.message.as_str())
    }

    /// The answer as Coze takes it: the object, compact.
    fn answer(&self) -> Option<String> {
        let params = self.checked.params.clone().filter(|_| self.checked.is_runnable())?;
        Some(serde_json::Value::Object(params).to_string())
    }
}

/// A key in a one-line prompt, as a shell's line editor takes it: Ctrl-U deletes to the start,
/// Ctrl-W the word before, Alt-B/Alt-F move by words, Ctrl-A/Ctrl-E to the ends; a line break
/// is never typed. True when the text changed.
pub fn prompt_key(t: &mut TextArea<'static>, key: KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Enter | KeyCode::Tab | KeyCode::BackTab | KeyCode::Char('\n' | '\r') => false,
        KeyCode::Char('m') if ctrl => false,
        KeyCode::Char('u') if ctrl => t.delete_line_by_head(),
        _ => t.input(key),
    }
}

/// A one-line prompt holding `text`, all of it selected: typing replaces it, a movement keeps it.
pub fn prompt_with(placeholder: &str, text: &str) -> TextArea<'static> {
    let mut t = single_line_input(placeholder);
    if !text.is_empty() {
        t.insert_str(text);
        t.select_all();
    }
    t
}

pub fn single_line_input(placeholder: &str) -> TextArea<'static> {
    let mut t = TextArea::default();
    t.set_placeholder_text(placeholder.to_string());
    t.set_cursor_line_style(ratatui::style::Style::default());
    t
}

/// Whether a key would type a character (no Ctrl or Alt).
fn types(key: &KeyEvent) -> bool {
    matches!(key.code, KeyCode::Char(_)) && !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
}

impl App {
    pub(super) fn on_dialog_key(&mut self, key: KeyEvent) -> Vec<Command> {
        let Some(overlay) = self.overlay.take() else { return vec![] };
        let overlay = match overlay {
            Overlay::Viewer(v) => return self.on_viewer_key(v, key),
            other => other,
        };
        let action = if overlay.takes_text() && types(&key) { None } else { self.keymap.lookup(Context::Dialog, &key) };
        let overlay = match overlay {
            Overlay::Palette(p) if action != Some(Action::Suspend) => return self.on_palette_key(p, key, action),
            Overlay::Suites(v) if action != Some(Action::Suspend) => return self.on_suites_key(v, key, action),
            Overlay::Versions(v) if action != Some(Action::Suspend) => return self.on_versions_key(v, action),
            Overlay::Chat if action != Some(Action::Suspend) => return self.on_chat_key(key, action),
            Overlay::Attach(a) if action != Some(Action::Suspend) => return self.on_attach_key(a, key, action),
            Overlay::RunIn { input, .. } if action != Some(Action::Suspend) => {
                return self.on_run_in_key(input, key, action);
            }
            Overlay::AddWorkflow { input, .. } if action != Some(Action::Suspend) => {
                return self.on_add_workflow_key(input, key, action);
            }
            Overlay::Help(h) if action != Some(Action::Suspend) || h.search.is_some() => {
                self.on_help_key(h, key, action);
                return vec![];
            }
            other => other,
        };
        if action == Some(Action::Suspend) {
            self.overlay = Some(overlay);
            return vec![Command::Suspend];
        }
        let page = 10;
        let (keep, cmds) = match overlay {
            Overlay::MessageLog { scroll } => match action {
                Some(Action::Cancel | Action::Quit | Action::MessageLog | Action::Back) => (None, vec![]),
                Some(Action::Top) => (Some(Overlay::MessageLog { scroll: 0 }), vec![]),
                Some(a) => {
                    let d = self.movement(a).unwrap_or(0).clamp(-page, page);
                    let last = self.log.len().saturating_sub(1);
                    (Some(Overlay::MessageLog { scroll: scroll.saturating_add_signed(d).min(last) }), vec![])
                }
                None => (Some(Overlay::MessageLog { scroll }), vec![]),
            },
            // Taken above; here only so the match is complete.
            v @ (Overlay::Viewer(_)
            | Overlay::Palette(_)
            | Overlay::Help(_)
            | Overlay::Suites(_)
            | Overlay::Versions(_)
            | Overlay::Attach(_)
            | Overlay::RunIn { .. }
            | Overlay::AddWorkflow { .. }
            | Overlay::Chat) => (Some(v), vec![]),
            Overlay::ConfirmReset => match action {
                Some(Action::Confirm) => {
                    self.reset_to_template();
                    (None, vec![])
                }
                Some(Action::Cancel | Action::Back | Action::Quit) => (None, vec![]),
                _ => (Some(Overlay::ConfirmReset), vec![]),
            },
            Overlay::Message { title, text } => match action {
                Some(Action::Cancel | Action::Accept | Action::Quit | Action::Back | Action::Open) => (None, vec![]),
                _ => (Some(Overlay::Message { title, text }), vec![]),
            },
            Overlay::ConfirmDelete { task_id, label } => match action {
                Some(Action::Confirm) => {
                    if self.detail.subject == super::Subject::Task(task_id.clone()) {
                        self.clear_detail();
                    }
                    (None, vec![Command::Delete(task_id)])
                }
                Some(Action::Cancel | Action::Quit | Action::Back) => (None, vec![]),
                _ => (Some(Overlay::ConfirmDelete { task_id, label }), vec![]),
            },
            Overlay::Answer { task_id, question, mut input, left, empty_warned, form: Some(mut form) } => {
                match action {
                    Some(Action::Cancel) => (None, vec![]),
                    Some(Action::Send) => match form.answer() {
                        Some(answer) => (None, vec![Command::Resume { task_id, answer }]),
                        None => {
                            form.refused = true;
                            (
                                Some(Overlay::Answer {
                                    task_id,
                                    question,
                                    input,
                                    left,
                                    empty_warned,
                                    form: Some(form),
                                }),
                                vec![],
                            )
                        }
                    },
                    // A JSON editor: Enter and Tab type; Send sends.
                    _ => {
                        if input.input(key) {
                            form.check(&input);
                        }
                        (
                            Some(Overlay::Answer { task_id, question, input, left, empty_warned, form: Some(form) }),
                            vec![],
                        )
                    }
                }
            }
            Overlay::Answer { task_id, question, mut input, left, empty_warned, form: None } => match action {
                Some(Action::Cancel) => (None, vec![]),
                // An empty answer counts against the limit like any other: ask first.
                Some(Action::Accept) if input.lines().join("").trim().is_empty() && !empty_warned => {
                    (Some(Overlay::Answer { task_id, question, input, left, empty_warned: true, form: None }), vec![])
                }
                Some(Action::Accept | Action::Send) => {
                    let answer = input.lines().join("\n");
                    (None, vec![Command::Resume { task_id, answer }])
                }
                _ => {
                    prompt_key(&mut input, key);
                    (Some(Overlay::Answer { task_id, question, input, left, empty_warned: false, form: None }), vec![])
                }
            },
            Overlay::RunNamed { mut mode, mut name, mut description, mut on_description } => {
                match action {
                    Some(Action::Cancel) => return vec![],
                    Some(Action::Accept) => {
                        let text = |t: &TextArea| Some(t.lines().join(" ")).filter(|s| !s.trim().is_empty());
                        return self.run(mode, text(&name), text(&description));
                    }
                    Some(Action::NextField | Action::Up | Action::Down) => on_description = !on_description,
                    Some(Action::ModeSync) => mode = RunMode::Sync,
                    Some(Action::ModeAsync) => mode = RunMode::Async,
                    Some(Action::ModeStream) => mode = RunMode::Stream,
                    _ if on_description => {
                        prompt_key(&mut description, key);
                    }
                    _ => {
                        prompt_key(&mut name, key);
                    }
                }
                (Some(Overlay::RunNamed { mode, name, description, on_description }), vec![])
            }
            Overlay::Filter { pane, mut input } => match action {
                Some(Action::Cancel) => {
                    self.apply_filter(pane, String::new());
                    (None, vec![])
                }
                Some(Action::Accept) => (None, vec![]),
                _ => {
                    if prompt_key(&mut input, key) {
                        self.apply_filter(pane, input.lines().join(""));
                    }
                    (Some(Overlay::Filter { pane, input }), vec![])
                }
            },
            Overlay::SaveCase { task_id, mut input } => match action {
                Some(Action::Cancel) => (None, vec![]),
                Some(Action::Accept) => {
                    let path = input.lines().join("").trim().to_string();
                    if path.is_empty() {
                        (Some(Overlay::SaveCase { task_id, input }), vec![])
                    } else {
                        (None, vec![Command::SaveCase { task_id, path }])
                    }
                }
                _ => {
                    prompt_key(&mut input, key);
                    (Some(Overlay::SaveCase { task_id, input }), vec![])
                }
            },
            Overlay::Profiles { selected } => {
                let n = self.profile.profiles.len().max(1);
                match action {
                    Some(Action::Cancel | Action::Quit | Action::Back) => (None, vec![]),
                    Some(Action::Down) => (Some(Overlay::Profiles { selected: (selected + 1) % n }), vec![]),
                    Some(Action::Up) => (Some(Overlay::Profiles { selected: (selected + n - 1) % n }), vec![]),
                    Some(Action::Accept | Action::Open) => match self.profile.profiles.get(selected).cloned() {
                        Some(p) if p != self.profile.name => (None, vec![Command::SwitchProfile(p)]),
                        _ => (None, vec![]),
                    },
                    _ => (Some(Overlay::Profiles { selected }), vec![]),
                }
            }
        };
        self.overlay = keep;
        cmds
    }

    /// The filter dialog for a list pane.
    pub(super) fn open_filter(&mut self) {
        if matches!(self.focus, Pane::Workspaces | Pane::Workflows | Pane::Tasks) {
            // The filter in force, selected: typing replaces it, a movement key edits it.
            let input = prompt_with("filter", self.filter_text(self.focus));
            self.overlay = Some(Overlay::Filter { pane: self.focus, input });
        }
    }

    pub(super) fn open_profiles(&mut self) {
        let selected = self.profile.profiles.iter().position(|p| *p == self.profile.name).unwrap_or(0);
        self.overlay = Some(Overlay::Profiles { selected });
    }
}
