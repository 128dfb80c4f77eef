//! The help screen: every key from the live key map (panes, dialogs, the viewer), the keys of
//! text fields and the mouse, searchable with `/` and scrolled a page at a time.

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

use super::App;
use super::dialogs::{prompt_key, single_line_input};
use super::keymap::{Action, Context};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpKind {
    Heading,
    Key,
    Note,
    Problem,
}

#[derive(Default)]
pub struct Help {
    /// The first line shown.
    pub scroll: usize,
    /// The search being typed (`/`), if any.
    pub search: Option<TextArea<'static>>,
    /// The rows shown contain this (case ignored); headings stay with their rows.
    pub query: String,
}

/// Keys of every text field, as a shell's line editor has them.
const TYPING: [(&str, &str); 6] = [
    ("Esc", "stop typing (the editor) / close (a prompt)"),
    ("Ctrl-_", "undo everything typed since typing started (the editor)"),
    ("Ctrl-w  Alt-Backspace", "delete the word before the cursor"),
    ("Ctrl-u", "delete to the start of the line"),
    ("Ctrl-a  Ctrl-e", "start / end of the line"),
    ("Alt-b  Alt-f", "a word back / forward"),
];

impl App {
    /// The help's lines for the current query.
    pub fn help_lines(&self, query: &str) -> Vec<(HelpKind, String)> {
        let mut out = vec![
            (HelpKind::Note, format!("config: {}", self.profile.config_path)),
            (HelpKind::Note, format!("log:    {}", self.profile.log_path)),
        ];
        if !self.warnings.is_empty() {
            out.push((HelpKind::Heading, "— problems in the config —".into()));
            out.extend(self.warnings.iter().map(|w| (HelpKind::Problem, format!("  {w}"))));
        }
        let mut sections: Vec<(String, Vec<String>)> = vec![];
        for (ctx, keys, what) in self.keymap.help_rows() {
            let title = ctx.title().to_string();
            let row = format!("  {keys:<22} {what}");
            match sections.last_mut() {
                Some((t, rows)) if *t == title => rows.push(row),
                _ => sections.push((title, vec![row])),
            }
        }
        sections.push((
            "typing (the editor and every prompt)".into(),
            TYPING.iter().map(|(k, w)| format!("  {k:<22} {w}")).collect(),
        ));
        let mouse = if self.mouse {
            vec![
                "  click                  focus the pane or tab".to_string(),
                "  wheel                  move the selection / scroll".to_string(),
            ]
        } else {
            vec![
                "  (off: `[ui] mouse = true` in the config turns it on; the terminal's own selection works)"
                    .to_string(),
            ]
        };
        sections.push(("mouse".into(), mouse));
        // The chat view and the input form take keys of their own (typing is their first job).
        let send = self.keymap.key(Context::Dialog, Action::Send).unwrap_or_default();
        let next = self.keymap.key(Context::Dialog, Action::NextField).unwrap_or_default();
        sections.push((
            "chat view (a chatflow's run keys) and input forms".into(),
            vec![
                "  Enter                  chat: send the message; form: a new line".to_string(),
                format!("  {send:<22} form: send the answer"),
                format!("  {next:<22} chat: to the conversations and back (Enter opens one)"),
                "  Ctrl-N                 chat: a new conversation".to_string(),
                "  PgUp / PgDn            chat: scroll the transcript".to_string(),
            ],
        ));
        sections
            .push(("always".into(), vec!["  Ctrl-c                 quit, even while typing or in a dialog".into()]));
        let needle = query.trim().to_lowercase();
        for (title, rows) in sections {
            let in_title = !needle.is_empty() && title.to_lowercase().contains(&needle);
            let rows: Vec<String> = rows
                .into_iter()
                .filter(|r| needle.is_empty() || in_title || r.to_lowercase().contains(&needle))
                .collect();
            if rows.is_empty() {
                continue;
            }
            out.push((HelpKind::Heading, format!("— {title} —")));
            out.extend(rows.into_iter().map(|r| (HelpKind::Key, r)));
        }
        if !needle.is_empty() && !out.iter().any(|(k, _)| *k == HelpKind::Key) {
            out.push((HelpKind::Note, format!("no key matches {query:?}")));
        }
        out
    }

    /// A key in the help: `/` searches (the rows narrow as you type; Enter keeps the search,
    /// Esc drops it), movement keys scroll, Esc or `?` closes.
    pub(super) fn on_help_key(&mut self, mut h: Box<Help>, key: KeyEvent, action: Option<Action>) {
        if let Some(search) = h.search.as_mut() {
            match key.code {
                KeyCode::Enter => h.search = None,
                KeyCode::Esc => {
                    h.search = None;
                    h.query.clear();
                }
                _ => {
                    prompt_key(search, key);
                    h.query = search.lines().join("");
                }
            }
            h.scroll = 0;
            self.overlay = Some(super::Overlay::Help(h));
            return;
        }
        let rows = self.size.1.saturating_sub(4) as usize;
        let last = self.help_lines(&h.query).len().saturating_sub(rows.max(1));
        match action {
            Some(Action::Filter) => {
                let mut input = single_line_input("search the keys");
                input.insert_str(&h.query);
                h.search = Some(input);
            }
            Some(Action::Back | Action::Cancel) if !h.query.is_empty() => {
                h.query.clear();
                h.scroll = 0;
            }
            Some(Action::Cancel | Action::Quit | Action::Help | Action::Back) => return,
            Some(Action::Top) => h.scroll = 0,
            Some(Action::Bottom) => h.scroll = last,
            Some(a) => {
                if let Some(d) = self.movement(a) {
                    let page = rows.max(1) as isize;
                    h.scroll = h.scroll.saturating_add_signed(d.clamp(-page, page)).min(last);
                }
            }
            None => {}
        }
        self.overlay = Some(super::Overlay::Help(h));
    }
}
