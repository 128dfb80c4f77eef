//! Key bindings: actions, where they apply, the defaults, overrides from the config file, and
//! the rows of the help screen (generated from the live map, so help never lies).

use std::collections::BTreeMap;
use std::fmt;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies. Pane contexts are tried before `Global`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Global,
    Lists,
    Editor,
    Tasks,
    Detail,
    /// Dialogs (confirmations, the answer box, the run-named form, help, the profile list).
    /// Keys not bound here fall back to `Global`; in dialogs with a text field, keys that type
    /// a character type it.
    Dialog,
    /// The first-run screen (no token configured).
    FirstRun,
    /// The output viewer (Enter in Detail).
    Viewer,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Self::Global => "everywhere",
            Self::Lists => "workspaces and workflows",
            Self::Editor => "editor (not while typing)",
            Self::Tasks => "tasks",
            Self::Detail => "detail",
            Self::Dialog => "dialogs",
            Self::FirstRun => "first-run screen",
            Self::Viewer => "output viewer",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Quit,
    Help,
    FocusNext,
    FocusPrev,
    Focus1,
    Focus2,
    Focus3,
    Focus4,
    Focus5,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Back,
    Filter,
    Refresh,
    Profiles,
    Edit,
    ExternalEditor,
    Format,
    Template,
    RunSync,
    RunAsync,
    RunStream,
    RunNamed,
    Rerun,
    Answer,
    Delete,
    Copy,
    DebugUrl,
    Follow,
    NodeOutputs,
    StatusFilter,
    Suspend,
    Confirm,
    Cancel,
    Accept,
    NextField,
    ModeSync,
    ModeAsync,
    ModeStream,
    StartDemo,
    MessageLog,
    NextMatch,
    PrevMatch,
    Wrap,
    Save,
    Undo,
    Redo,
    EditParams,
    Zoom,
    Palette,
    AllProfiles,
    Fold,
    SaveCase,
    Mark,
    Diff,
    Suites,
    Send,
    Attach,
    Versions,
    RunIn,
    Login,
    AddWorkflow,
}

impl Action {
    /// (config name, help text)
    pub fn describe(self) -> (&'static str, &'static str) {
        use Action::*;
        match self {
            Quit => ("quit", "quit"),
            Help => ("help", "this help"),
            FocusNext => ("focus_next", "next pane"),
            FocusPrev => ("focus_prev", "previous pane"),
            Focus1 => ("focus_workspaces", "workspaces"),
            Focus2 => ("focus_workflows", "workflows"),
            Focus3 => ("focus_editor", "editor"),
            Focus4 => ("focus_tasks", "tasks"),
            Focus5 => ("focus_detail", "detail"),
            Up => ("up", "up"),
            Down => ("down", "down"),
            PageUp => ("page_up", "page up"),
            PageDown => ("page_down", "page down"),
            Top => ("top", "first"),
            Bottom => ("bottom", "last"),
            Open => ("open", "open / choose"),
            Back => ("back", "back one level, clear filter"),
            Filter => ("filter", "filter by name"),
            Refresh => ("refresh", "refresh"),
            Profiles => ("profiles", "switch profile"),
            Edit => ("edit", "type in the editor (Esc stops)"),
            ExternalEditor => ("external_editor", "edit in $VISUAL / $EDITOR"),
            Format => ("format", "pretty-print the JSON"),
            Template => ("template", "reset to the schema template"),
            RunSync => ("run_sync", "run (sync)"),
            RunAsync => ("run_async", "run async (watched in the background)"),
            RunStream => ("run_stream", "run streaming (live messages)"),
            RunNamed => ("run_named", "run with a name and description"),
            Rerun => ("rerun", "re-run the task"),
            Answer => ("answer", "answer the question"),
            Delete => ("delete", "delete the task"),
            Copy => ("copy", "copy the output (OSC 52)"),
            DebugUrl => ("debug_url", "show and copy the debug URL"),
            Follow => ("follow", "follow new messages"),
            NodeOutputs => ("node_outputs", "load node outputs"),
            StatusFilter => ("status_filter", "cycle the status filter"),
            Suspend => ("suspend", "suspend to the shell (fg resumes)"),
            Confirm => ("confirm", "yes (delete, quit)"),
            Cancel => ("cancel", "no / close the dialog"),
            Accept => ("accept", "send / run / choose"),
            NextField => ("next_field", "next field"),
            ModeSync => ("mode_sync", "run sync (run-named form)"),
            ModeAsync => ("mode_async", "run async (run-named form)"),
            ModeStream => ("mode_stream", "run streaming (run-named form)"),
            StartDemo => ("start_demo", "open the demo"),
            MessageLog => ("message_log", "every message so far, in full"),
            NextMatch => ("next_match", "next match"),
            PrevMatch => ("prev_match", "previous match"),
            Wrap => ("wrap", "wrap long lines on / off"),
            Save => ("save", "save to a file in the current directory"),
            Undo => ("undo", "undo the last whole edit"),
            Redo => ("redo", "redo what was undone"),
            EditParams => ("edit_params", "put the task's parameters in the editor"),
            Zoom => ("zoom", "zoom the pane to the whole screen and back"),
            Palette => ("palette", "jump to a workflow, a task or an action"),
            AllProfiles => ("all_profiles", "show every profile's tasks, or this one's"),
            Fold => ("fold", "fold or unfold the JSON object or array at the cursor"),
            SaveCase => ("save_case", "save the task as a test case in a suite file"),
            Mark => ("mark", "mark the task to compare another with"),
            Diff => ("diff", "compare the task with the marked one"),
            Suites => ("suites", "test suites: run one, watch its verdicts"),
            Send => ("send", "send the form (an input node's answer)"),
            Attach => ("attach", "attach a file to a file input (uploads it)"),
            Versions => ("versions", "run a published version (its inputs, what changed)"),
            RunIn => ("run_in", "the app or bot the workflow runs in"),
            Login => ("login", "sign in with a code and a QR code (no token to paste)"),
            AddWorkflow => ("add_workflow", "add a workflow by id (Coze Studio cannot list them)"),
        }
    }

    fn all() -> impl Iterator<Item = Action> {
        DEFAULTS.iter().map(|(_, _, a)| *a)
    }
}

/// A key with its modifiers, e.g. `ctrl-r`, `shift-tab`, `G`, `f5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCodeOrd,
    pub ctrl: bool,
    pub alt: bool,
}

/// `KeyCode` subset that can be ordered and parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeOrd {
    Char(char),
    F(u8),
    Enter,
    Esc,
    Tab,
    BackTab,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Backspace,
    Delete,
}

impl Key {
    pub fn from_event(e: &KeyEvent) -> Option<Self> {
        let code = match e.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            KeyCode::Enter => KeyCodeOrd::Enter,
            KeyCode::Esc => KeyCodeOrd::Esc,
            KeyCode::Tab => KeyCodeOrd::Tab,
            KeyCode::BackTab => KeyCodeOrd::BackTab,
            KeyCode::Up => KeyCodeOrd::Up,
            KeyCode::Down => KeyCodeOrd::Down,
            KeyCode::Left => KeyCodeOrd::Left,
            KeyCode::Right => KeyCodeOrd::Right,
            KeyCode::PageUp => KeyCodeOrd::PageUp,
            KeyCode::PageDown => KeyCodeOrd::PageDown,
            KeyCode::Home => KeyCodeOrd::Home,
            KeyCode::End => KeyCodeOrd::End,
            KeyCode::Backspace => KeyCodeOrd::Backspace,
            KeyCode::Delete => KeyCodeOrd::Delete,
            _ => return None,
        };
        Some(Self {
            code,
            ctrl: e.modifiers.contains(KeyModifiers::CONTROL),
            alt: e.modifiers.contains(KeyModifiers::ALT),
        })
    }

    /// Parses `ctrl-r`, `alt-x`, `shift-tab`, `enter`, `f5`, `?`, `G`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = s.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-").or_else(|| lower.strip_prefix("c-")) {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-").or_else(|| lower.strip_prefix("m-")) {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let lower = rest.to_ascii_lowercase();
        let code = match lower.as_str() {
            "enter" | "return" => KeyCodeOrd::Enter,
            "esc" | "escape" => KeyCodeOrd::Esc,
            "tab" => KeyCodeOrd::Tab,
            "shift-tab" | "backtab" => KeyCodeOrd::BackTab,
            "up" => KeyCodeOrd::Up,
            "down" => KeyCodeOrd::Down,
            "left" => KeyCodeOrd::Left,
            "right" => KeyCodeOrd::Right,
            "pageup" | "pgup" => KeyCodeOrd::PageUp,
            "pagedown" | "pgdn" => KeyCodeOrd::PageDown,
            "home" => KeyCodeOrd::Home,
            "end" => KeyCodeOrd::End,
            "backspace" => KeyCodeOrd::Backspace,
            "delete" | "del" => KeyCodeOrd::Delete,
            "space" => KeyCodeOrd::Char(' '),
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCodeOrd::F(f[1..].parse().unwrap_or(1))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCodeOrd::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
                    _ => return Err(format!("unknown key {s:?} (try \"ctrl-r\", \"f5\", \"enter\", \"G\")")),
                }
            }
        };
        Ok(Self { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("Space"),
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::F(n) => write!(f, "F{n}"),
            KeyCodeOrd::Enter => f.write_str("Enter"),
            KeyCodeOrd::Esc => f.write_str("Esc"),
            KeyCodeOrd::Tab => f.write_str("Tab"),
            KeyCodeOrd::BackTab => f.write_str("Shift-Tab"),
            KeyCodeOrd::Up => f.write_str("↑"),
            KeyCodeOrd::Down => f.write_str("↓"),
            KeyCodeOrd::Left => f.write_str("←"),
            KeyCodeOrd::Right => f.write_str("→"),
            KeyCodeOrd::PageUp => f.write_str("PgUp"),
            KeyCodeOrd::PageDown => f.write_str("PgDn"),
            KeyCodeOrd::Home => f.write_str("Home"),
            KeyCodeOrd::End => f.write_str("End"),
            KeyCodeOrd::Backspace => f.write_str("Backspace"),
            KeyCodeOrd::Delete => f.write_str("Del"),
        }
    }
}

const DEFAULTS: &[(Context, &str, Action)] = &[
    (Context::Global, "q", Action::Quit),
    (Context::Global, "?", Action::Help),
    (Context::Global, "tab", Action::FocusNext),
    (Context::Global, "shift-tab", Action::FocusPrev),
    (Context::Global, "1", Action::Focus1),
    (Context::Global, "2", Action::Focus2),
    (Context::Global, "3", Action::Focus3),
    (Context::Global, "4", Action::Focus4),
    (Context::Global, "5", Action::Focus5),
    (Context::Global, "up", Action::Up),
    (Context::Global, "k", Action::Up),
    (Context::Global, "down", Action::Down),
    (Context::Global, "j", Action::Down),
    (Context::Global, "pageup", Action::PageUp),
    (Context::Global, "pagedown", Action::PageDown),
    (Context::Global, "g", Action::Top),
    (Context::Global, "home", Action::Top),
    (Context::Global, "G", Action::Bottom),
    (Context::Global, "end", Action::Bottom),
    (Context::Global, "enter", Action::Open),
    (Context::Global, "l", Action::Open),
    (Context::Global, "right", Action::Open),
    (Context::Global, "esc", Action::Back),
    (Context::Global, "h", Action::Back),
    (Context::Global, "left", Action::Back),
    (Context::Global, "/", Action::Filter),
    (Context::Global, "r", Action::Refresh),
    (Context::Global, "f5", Action::Refresh),
    (Context::Global, "p", Action::Profiles),
    (Context::Global, "ctrl-z", Action::Suspend),
    (Context::Global, "!", Action::MessageLog),
    (Context::Global, "z", Action::Zoom),
    (Context::Global, ":", Action::Palette),
    (Context::Global, "T", Action::Suites),
    (Context::Editor, "i", Action::Edit),
    (Context::Editor, "enter", Action::Edit),
    (Context::Editor, "e", Action::ExternalEditor),
    (Context::Editor, "f", Action::Format),
    (Context::Editor, "t", Action::Template),
    (Context::Editor, "s", Action::RunSync),
    (Context::Editor, "a", Action::RunAsync),
    (Context::Editor, "w", Action::RunStream),
    (Context::Editor, "n", Action::RunNamed),
    (Context::Editor, "u", Action::Undo),
    (Context::Editor, "ctrl-r", Action::Redo),
    (Context::Editor, "A", Action::Attach),
    (Context::Editor, "V", Action::Versions),
    (Context::Lists, "V", Action::Versions),
    (Context::Lists, "+", Action::AddWorkflow),
    (Context::Editor, "B", Action::RunIn),
    (Context::Tasks, "R", Action::Rerun),
    (Context::Tasks, "a", Action::Answer),
    (Context::Tasks, "d", Action::Delete),
    (Context::Tasks, "y", Action::Copy),
    (Context::Tasks, "o", Action::DebugUrl),
    (Context::Tasks, "S", Action::StatusFilter),
    (Context::Tasks, "e", Action::EditParams),
    (Context::Tasks, "P", Action::AllProfiles),
    (Context::Tasks, "c", Action::SaveCase),
    (Context::Tasks, "m", Action::Mark),
    (Context::Tasks, "D", Action::Diff),
    (Context::Detail, "R", Action::Rerun),
    (Context::Detail, "a", Action::Answer),
    (Context::Detail, "y", Action::Copy),
    (Context::Detail, "o", Action::DebugUrl),
    (Context::Detail, "F", Action::Follow),
    (Context::Detail, "N", Action::NodeOutputs),
    (Context::Detail, "e", Action::EditParams),
    (Context::Detail, "c", Action::SaveCase),
    (Context::Detail, "m", Action::Mark),
    (Context::Detail, "D", Action::Diff),
    (Context::Dialog, "y", Action::Confirm),
    (Context::Dialog, "Y", Action::Confirm),
    (Context::Dialog, "esc", Action::Cancel),
    (Context::Dialog, "n", Action::Cancel),
    (Context::Dialog, "enter", Action::Accept),
    (Context::Dialog, "tab", Action::NextField),
    (Context::Dialog, "shift-tab", Action::NextField),
    (Context::Dialog, "alt-1", Action::ModeSync),
    (Context::Dialog, "alt-2", Action::ModeAsync),
    (Context::Dialog, "alt-3", Action::ModeStream),
    (Context::Dialog, "ctrl-s", Action::Send),
    (Context::FirstRun, "d", Action::StartDemo),
    (Context::FirstRun, "l", Action::Login),
    (Context::FirstRun, "esc", Action::Quit),
    (Context::Viewer, "n", Action::NextMatch),
    (Context::Viewer, "N", Action::PrevMatch),
    (Context::Viewer, "w", Action::Wrap),
    (Context::Viewer, "y", Action::Copy),
    (Context::Viewer, "s", Action::Save),
    (Context::Viewer, "space", Action::Fold),
    (Context::Viewer, "enter", Action::Fold),
];

/// The contexts a global binding can be shadowed in.
const PANE_CONTEXTS: [Context; 7] = [
    Context::Lists,
    Context::Editor,
    Context::Tasks,
    Context::Detail,
    Context::Dialog,
    Context::FirstRun,
    Context::Viewer,
];

/// The live key map.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: BTreeMap<(Context, Key), Action>,
    /// Every key ever bound, in the order bound (the defaults, then overrides): the first key
    /// still bound to an action is the one hints name.
    order: Vec<(Context, Key)>,
}

impl Default for Keymap {
    fn default() -> Self {
        let listed: Vec<((Context, Key), Action)> =
            DEFAULTS.iter().filter_map(|(c, k, a)| Some(((*c, Key::parse(k).ok()?), *a))).collect();
        Self { order: listed.iter().map(|(ck, _)| *ck).collect(), bindings: listed.into_iter().collect() }
    }
}

impl Keymap {
    /// The defaults with the config's `[keys]` overrides (`action = "key"` or a list of keys).
    /// An override replaces that action's default keys in the contexts it is bound in.
    /// Returns the map and any problems (unknown actions or keys, conflicts) to report.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> (Self, Vec<String>) {
        let mut map = Self::default();
        let mut problems = vec![];
        for (name, keys) in overrides {
            let Some(action) = Action::all().find(|a| a.describe().0 == name) else {
                problems.push(format!("[keys] {name}: no such action"));
                continue;
            };
            let contexts: Vec<Context> = DEFAULTS.iter().filter(|(_, _, a)| *a == action).map(|(c, _, _)| *c).collect();
            map.bindings.retain(|_, a| *a != action);
            for k in keys {
                match Key::parse(k) {
                    Ok(key) => {
                        for c in &contexts {
                            map.order.push((*c, key));
                            if let Some(old) = map.bindings.insert((*c, key), action).filter(|old| *old != action) {
                                problems.push(format!(
                                    "[keys] {name}: {key} was bound to {}; now {name}",
                                    old.describe().0
                                ));
                            }
                        }
                    }
                    Err(e) => problems.push(format!("[keys] {name}: {e}")),
                }
            }
        }
        problems.extend(map.shadowed(&Self::default()));
        (map, problems)
    }

    /// Global bindings a pane or dialog binding hides that the defaults do not have (the
    /// defaults shadow on purpose: Esc closes a dialog rather than going back).
    fn shadowed(&self, defaults: &Keymap) -> Vec<String> {
        let mut out = vec![];
        for ((_, key), global) in self.bindings.iter().filter(|((c, _), _)| *c == Context::Global) {
            for pane in PANE_CONTEXTS {
                let Some(local) = self.bindings.get(&(pane, *key)).filter(|a| *a != global) else { continue };
                let by_default = defaults.bindings.get(&(Context::Global, *key)) == Some(global)
                    && defaults.bindings.get(&(pane, *key)) == Some(local);
                if !by_default {
                    let (g, l) = (global.describe().0, local.describe().0);
                    out.push(format!(
                        "[keys] {key} is {g} everywhere but {l} in {}: {g} does not work there",
                        pane.title()
                    ));
                }
            }
        }
        out
    }

    /// The action for a key in a pane context, falling back to global bindings.
    pub fn lookup(&self, ctx: Context, key: &KeyEvent) -> Option<Action> {
        let mut k = Key::from_event(key)?;
        if let KeyCodeOrd::Char(c) = k.code
            && k.ctrl
        {
            k.code = KeyCodeOrd::Char(c.to_ascii_lowercase());
        }
        self.bindings.get(&(ctx, k)).or_else(|| self.bindings.get(&(Context::Global, k))).copied()
    }

    /// The first key that does `action` in `ctx` (its own bindings, and global ones it does
    /// not hide), for hints in running text: "press Enter".
    pub fn key(&self, ctx: Context, action: Action) -> Option<String> {
        self.keys(ctx, action).first().map(Key::to_string)
    }

    /// The keys that do `action` in `ctx`, the first bound first, each once.
    fn keys(&self, ctx: Context, action: Action) -> Vec<Key> {
        let mut keys: Vec<Key> = vec![];
        for (c, k) in &self.order {
            let does = self.bindings.get(&(*c, *k)) == Some(&action)
                && (*c == ctx || (*c == Context::Global && !self.bindings.contains_key(&(ctx, *k))));
            if does && !keys.contains(k) {
                keys.push(*k);
            }
        }
        keys
    }

    /// "key label" for a hint, naming the first key that does it (help lists them all), or
    /// nothing when no key does it in `ctx`: a hint never names a key that does something else.
    pub fn hint(&self, ctx: Context, action: Action, label: &str) -> Option<String> {
        self.keys(ctx, action).first().map(|k| format!("{k} {label}"))
    }

    /// Hints joined with " · ", skipping actions no key does.
    pub fn hints(&self, ctx: Context, actions: &[(Action, &str)]) -> String {
        actions.iter().filter_map(|(a, label)| self.hint(ctx, *a, label)).collect::<Vec<_>>().join(" · ")
    }

    /// The actions bound in `ctx` itself, each with the first key that does it there.
    pub fn actions_in(&self, ctx: Context) -> Vec<(Action, String)> {
        let mut out: Vec<(Action, String)> = vec![];
        for (c, k) in self.order.iter().filter(|(c, _)| *c == ctx) {
            if let Some(a) = self.bindings.get(&(*c, *k))
                && !out.iter().any(|(x, _)| x == a)
                && self.keys(ctx, *a).contains(k)
            {
                out.push((*a, k.to_string()));
            }
        }
        out
    }

    /// Help rows grouped by context: (context, keys, description).
    pub fn help_rows(&self) -> Vec<(Context, String, &'static str)> {
        let mut by: BTreeMap<(Context, Action), Vec<String>> = BTreeMap::new();
        for ((c, k), a) in &self.bindings {
            by.entry((*c, *a)).or_default().push(k.to_string());
        }
        by.into_iter().map(|((c, a), keys)| (c, keys.join(" "), a.describe().1)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn keys_parse_and_print() {
        assert_eq!(Key::parse("ctrl-R").unwrap().to_string(), "Ctrl-r");
        assert_eq!(Key::parse("F5").unwrap().code, KeyCodeOrd::F(5));
        assert_eq!(Key::parse("G").unwrap().code, KeyCodeOrd::Char('G'));
        assert_eq!(Key::parse("shift-tab").unwrap().code, KeyCodeOrd::BackTab);
        assert!(Key::parse("hyper-x").is_err());
    }

    #[test]
    fn pane_bindings_win_over_global_ones() {
        let m = Keymap::default();
        let a = ev(KeyCode::Char('a'), KeyModifiers::NONE);
        assert_eq!(m.lookup(Context::Editor, &a), Some(Action::RunAsync));
        assert_eq!(m.lookup(Context::Tasks, &a), Some(Action::Answer));
        assert_eq!(m.lookup(Context::Lists, &a), None);
        assert_eq!(m.lookup(Context::Lists, &ev(KeyCode::Char('q'), KeyModifiers::NONE)), Some(Action::Quit));
        assert_eq!(m.lookup(Context::Tasks, &ev(KeyCode::Char('R'), KeyModifiers::SHIFT)), Some(Action::Rerun));
    }

    #[test]
    fn overrides_merge_and_conflicts_are_reported() {
        let mut o = BTreeMap::new();
        o.insert("refresh".to_string(), vec!["ctrl-r".to_string()]);
        o.insert("quit".to_string(), vec!["x".to_string(), "Q".to_string()]);
        o.insert("help".to_string(), vec!["j".to_string()]);
        o.insert("fly".to_string(), vec!["z".to_string()]);
        let (m, problems) = Keymap::with_overrides(&o);
        assert_eq!(m.lookup(Context::Lists, &ev(KeyCode::Char('r'), KeyModifiers::CONTROL)), Some(Action::Refresh));
        assert_eq!(
            m.lookup(Context::Lists, &ev(KeyCode::Char('r'), KeyModifiers::NONE)),
            None,
            "the default r is replaced"
        );
        assert_eq!(m.lookup(Context::Lists, &ev(KeyCode::Char('x'), KeyModifiers::NONE)), Some(Action::Quit));
        assert_eq!(
            m.lookup(Context::Lists, &ev(KeyCode::Char('g'), KeyModifiers::NONE)),
            Some(Action::Top),
            "untouched defaults stay"
        );
        assert!(problems.iter().any(|p| p.contains("fly")));
        assert!(problems.iter().any(|p| p.contains("j was bound to down")), "{problems:?}");
        assert!(m.help_rows().iter().any(|(_, keys, d)| keys == "Ctrl-r" && *d == "refresh"));
    }

    #[test]
    fn every_shadowed_binding_an_override_causes_is_reported() {
        let mut o = BTreeMap::new();
        o.insert("quit".to_string(), vec!["a".to_string()]);
        o.insert("run_sync".to_string(), vec!["?".to_string()]);
        let (m, problems) = Keymap::with_overrides(&o);
        let about = |needle: &str| problems.iter().filter(|p| p.contains(needle)).count();
        // `a` runs async in the editor and answers in tasks and detail: quit is hidden in all three.
        assert_eq!(about("a is quit everywhere but"), 3, "{problems:?}");
        assert_eq!(about("? is help everywhere but run_sync in editor"), 1, "{problems:?}");
        assert_eq!(m.lookup(Context::Lists, &ev(KeyCode::Char('a'), KeyModifiers::NONE)), Some(Action::Quit));
        // The defaults shadow on purpose (Esc cancels a dialog) and say nothing, also when an
        // override restates them.
        assert!(Keymap::with_overrides(&BTreeMap::new()).1.is_empty());
        let mut o = BTreeMap::new();
        o.insert("open".to_string(), vec!["enter".to_string(), "o".to_string()]);
        o.insert("back".to_string(), vec!["esc".to_string()]);
        let problems = Keymap::with_overrides(&o).1;
        assert!(problems.iter().all(|p| !p.contains("Enter is") && !p.contains("Esc is")), "{problems:?}");
    }

    #[test]
    fn hints_name_the_first_key_that_does_it_there_or_nothing() {
        let mut o = BTreeMap::new();
        o.insert("run_sync".to_string(), vec!["x".to_string(), "ctrl-x".to_string()]);
        o.insert("help".to_string(), vec!["s".to_string()]);
        let (m, _) = Keymap::with_overrides(&o);
        assert_eq!(m.hint(Context::Editor, Action::RunSync, "sync").as_deref(), Some("x sync"));
        assert_eq!(m.hint(Context::Lists, Action::Open, "open").as_deref(), Some("Enter open"));
        // `s` is help everywhere but the editor has nothing on it any more, so it is help there too.
        assert_eq!(m.hint(Context::Editor, Action::Help, "help").as_deref(), Some("s help"));
        // `a` is the editor's own: a global action bound only to `a` has no key in the editor.
        let mut o = BTreeMap::new();
        o.insert("refresh".to_string(), vec!["a".to_string()]);
        let (m, _) = Keymap::with_overrides(&o);
        assert_eq!(m.hint(Context::Editor, Action::Refresh, "refresh"), None);
        assert_eq!(m.hint(Context::Lists, Action::Refresh, "refresh").as_deref(), Some("a refresh"));
    }
}
