//! The output viewer: a task's output (or error) full screen, as lines to read: JSON-in-JSON
//! decoded, multi-line text as its lines, wrapping on or off, `/` search with next and
//! previous match, copy and save. The lines are laid out once when it opens; a frame touches
//! only the lines on screen, so a 10 MB output scrolls like a small one.

use std::sync::Arc;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Command, Context, Overlay};
use crate::app::keymap::Action;

pub struct Viewer {
    pub title: String,
    /// The task it shows (for the file name when saved).
    pub task_id: String,
    pub lines: Arc<Vec<String>>,
    /// The text as it came (what copy and save give), not the lines laid out to read.
    raw: Arc<String>,
    /// The first line on screen.
    pub top: usize,
    pub wrap: bool,
    /// The search being typed after `/`, if any.
    pub typing: Option<String>,
    /// The last search, its matching lines (in order) and the one at hand.
    pub query: String,
    pub matches: Vec<usize>,
    pub current: usize,
}

impl Viewer {
    pub fn new(title: String, task_id: String, raw: String, lines: Vec<String>) -> Self {
        Self {
            title,
            task_id,
            raw: Arc::new(raw),
            lines: Arc::new(lines),
            top: 0,
            wrap: true,
            typing: None,
            query: String::new(),
            matches: vec![],
            current: 0,
        }
    }

    fn scroll(&mut self, delta: isize) {
        let last = self.lines.len().saturating_sub(1);
        self.top = self.top.saturating_add_signed(delta).min(last);
    }

    /// Finds `query` (case-insensitive) and moves to the first match at or after the top.
    fn search(&mut self, query: String) {
        let needle = query.to_lowercase();
        self.matches = if needle.is_empty() {
            vec![]
        } else {
            self.lines.iter().enumerate().filter(|(_, l)| l.to_lowercase().contains(&needle)).map(|(i, _)| i).collect()
        };
        self.query = query;
        self.current = self.matches.iter().position(|m| *m >= self.top).unwrap_or(0);
        self.show_current();
    }

    fn step(&mut self, forward: bool) {
        if self.matches.is_empty() {
            return;
        }
        let n = self.matches.len();
        self.current = if forward { (self.current + 1) % n } else { (self.current + n - 1) % n };
        self.show_current();
    }

    fn show_current(&mut self) {
        if let Some(line) = self.matches.get(self.current) {
            // A few lines of context above the match.
            self.top = line.saturating_sub(3);
        }
    }

    pub fn text(&self) -> String {
        self.raw.to_string()
    }
}

impl App {
    /// Opens the Detail task's output (or, without one, its error) in the viewer.
    pub(super) fn open_viewer(&mut self) -> Vec<Command> {
        let Some(t) = self.detail_task().cloned() else { return vec![] };
        let (what, raw, lines) = match (&t.output, &t.error) {
            (Some(o), _) => {
                let decoded = crate::coze::decode_output(o);
                ("output", super::output_text(decoded.clone()), super::detail::output_lines(decoded))
            }
            (None, Some(e)) => ("error", e.message.clone(), e.message.lines().map(str::to_string).collect()),
            (None, None) => {
                self.toast("nothing to show in full yet: no output and no error");
                return vec![];
            }
        };
        let name = t.name.clone().or(t.workflow_name.clone()).unwrap_or_else(|| t.workflow_id.clone());
        let title = format!("{what} of {name} · task {}", t.id);
        self.overlay = Some(Overlay::Viewer(Box::new(Viewer::new(title, t.id.clone(), raw, lines))));
        vec![]
    }

    pub(super) fn on_viewer_key(&mut self, mut v: Box<Viewer>, key: KeyEvent) -> Vec<Command> {
        // Typing a search: characters go to it, Enter finds, Esc gives up.
        if let Some(mut typed) = v.typing.take() {
            match key.code {
                KeyCode::Enter => v.search(typed),
                KeyCode::Esc => {}
                KeyCode::Backspace => {
                    typed.pop();
                    v.typing = Some(typed);
                }
                KeyCode::Char(c) if !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => {
                    typed.push(c);
                    v.typing = Some(typed);
                }
                _ => v.typing = Some(typed),
            }
            self.overlay = Some(Overlay::Viewer(v));
            return vec![];
        }
        let mut cmds = vec![];
        match self.keymap.lookup(Context::Viewer, &key) {
            Some(Action::Cancel | Action::Back | Action::Quit) => return vec![],
            Some(Action::MessageLog) => {
                self.overlay = Some(Overlay::MessageLog { scroll: 0 });
                return vec![];
            }
            Some(Action::Suspend) => cmds.push(Command::Suspend),
            Some(Action::Filter) => v.typing = Some(String::new()),
            Some(Action::NextMatch) => v.step(true),
            Some(Action::PrevMatch) => v.step(false),
            Some(Action::Wrap) => v.wrap = !v.wrap,
            Some(Action::Copy) => cmds.push(Command::Copy(v.text())),
            Some(Action::Save) => {
                cmds.push(Command::Save { name: format!("coze-tui-{}.txt", v.task_id), text: v.text() })
            }
            Some(Action::Top) => v.top = 0,
            Some(Action::Bottom) => {
                v.top = v.lines.len().saturating_sub((self.size.1 as usize).saturating_sub(3).max(1))
            }
            Some(a) => {
                if let Some(d) = self.movement(a) {
                    v.scroll(d);
                }
            }
            None => {}
        }
        self.overlay = Some(Overlay::Viewer(v));
        cmds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_finds_every_matching_line_and_steps_around() {
        let lines =
            (0..100).map(|i| if i % 30 == 5 { format!("line {i} Needle") } else { format!("line {i}") }).collect();
        let mut v = Viewer::new("t".into(), "id".into(), String::new(), lines);
        v.top = 40;
        v.search("needle".into());
        assert_eq!(v.matches, [5, 35, 65, 95]);
        assert_eq!((v.current, v.top), (2, 62), "the first match below the top, with context");
        v.step(true);
        v.step(true);
        assert_eq!(v.matches[v.current], 5, "wraps around");
        v.step(false);
        assert_eq!(v.matches[v.current], 95);
        v.scroll(1_000);
        assert_eq!(v.top, 99);
    }
}
