//! The output viewer: a task's output (or error) full screen, as lines to read: JSON-in-JSON
//! decoded, multi-line text as its lines, wrapping on or off, `/` search with next and
//! previous match, folding of objects, arrays and multi-line fields at the cursor, copy and
//! save. The lines are laid out once when it opens; a frame touches only the lines on screen,
//! and a key only the lines it moves over, so a 10 MB output behaves like a small one.

use std::collections::BTreeMap;
use std::sync::Arc;

use unicode_width::UnicodeWidthStr;

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
    /// The line at hand (what folding acts on), never one a fold hides.
    pub cursor: usize,
    /// Folded blocks: the line that opens each, and the last line it hides. Never nested (a
    /// fold takes the folds inside it away).
    pub folds: BTreeMap<usize, usize>,
    /// The text width last drawn (wrapped lines take several rows).
    pub width: std::cell::Cell<usize>,
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
            cursor: 0,
            folds: BTreeMap::new(),
            width: std::cell::Cell::new(0),
            wrap: true,
            typing: None,
            query: String::new(),
            matches: vec![],
            current: 0,
        }
    }

    /// The line after `l` on screen (skipping what a fold at `l` hides).
    pub fn next_visible(&self, l: usize) -> Option<usize> {
        let n = self.folds.get(&l).map_or(l + 1, |end| end + 1);
        (n < self.lines.len()).then_some(n)
    }

    fn prev_visible(&self, l: usize) -> Option<usize> {
        let p = l.checked_sub(1)?;
        Some(self.fold_hiding(p).map_or(p, |(start, _)| start))
    }

    /// The fold that hides line `l`, if any.
    fn fold_hiding(&self, l: usize) -> Option<(usize, usize)> {
        self.folds.range(..l).next_back().filter(|(_, end)| l <= **end).map(|(s, e)| (*s, *e))
    }

    /// Moves the cursor by `delta` lines on screen, keeping it in view (`rows` lines high).
    fn move_cursor(&mut self, delta: isize, rows: usize) {
        for _ in 0..delta.unsigned_abs() {
            let next = if delta > 0 { self.next_visible(self.cursor) } else { self.prev_visible(self.cursor) };
            match next {
                Some(n) => self.cursor = n,
                None => break,
            }
        }
        self.keep_in_view(rows);
    }

    fn cursor_to_end(&mut self, rows: usize) {
        let last = self.lines.len().saturating_sub(1);
        self.cursor = self.fold_hiding(last).map_or(last, |(start, _)| start);
        self.keep_in_view(rows);
    }

    /// The note drawn after a folded line.
    pub fn fold_note(&self, l: usize) -> Option<String> {
        self.folds.get(&l).map(|end| format!("  … {} lines folded", end - l))
    }

    /// Screen rows line `l` takes (more than one when wrapped).
    fn rows_of(&self, l: usize) -> usize {
        let width = self.width.get();
        if !self.wrap || width == 0 {
            return 1;
        }
        let w = self.lines.get(l).map_or(0, |t| t.width()) + self.fold_note(l).map_or(0, |n| n.width());
        w.div_ceil(width).max(1)
    }

    /// Scrolls as little as possible to show the cursor in `rows` screen rows. Costs the rows
    /// on screen, however far the cursor went.
    fn keep_in_view(&mut self, rows: usize) {
        if self.cursor < self.top || self.fold_hiding(self.top).is_some() {
            self.top = self.cursor;
            return;
        }
        let mut used = 0;
        let mut l = self.top;
        loop {
            used += self.rows_of(l);
            if l == self.cursor || used > rows {
                break;
            }
            match self.next_visible(l) {
                Some(n) => l = n,
                None => break,
            }
        }
        if used <= rows {
            return;
        }
        // The cursor on the last row: as many lines above it as fit.
        self.top = self.cursor;
        let mut used = self.rows_of(self.cursor);
        while let Some(p) = self.prev_visible(self.top) {
            used += self.rows_of(p);
            if used > rows {
                break;
            }
            self.top = p;
        }
    }

    /// Shows the cursor with `context` lines above it.
    fn centre(&mut self, context: usize) {
        self.top = self.cursor;
        for _ in 0..context {
            self.top = self.prev_visible(self.top).unwrap_or(self.top);
        }
    }

    fn indent(&self, l: usize) -> Option<usize> {
        let line = self.lines.get(l)?;
        let rest = line.trim_start();
        (!rest.is_empty()).then(|| line.len() - rest.len())
    }

    /// The last line of the block line `l` opens: the lines indented deeper than it (blank ones
    /// within), and the closing `}` or `]` at its own depth.
    fn block_end(&self, l: usize) -> Option<usize> {
        let base = self.indent(l)?;
        let mut end = None;
        for j in l + 1..self.lines.len() {
            match self.indent(j) {
                None => continue,
                Some(d) if d > base => end = Some(j),
                Some(d) if d == base && self.lines[j].trim_start().starts_with(['}', ']']) => return Some(j),
                Some(_) => break,
            }
        }
        end
    }

    /// Folds the block at the cursor (or the one the cursor is in), or unfolds it.
    fn toggle_fold(&mut self, rows: usize) -> bool {
        if self.folds.remove(&self.cursor).is_some() {
            return true;
        }
        let start = if self.block_end(self.cursor).is_some() {
            Some(self.cursor)
        } else {
            // Inside a block: the nearest line above that is less indented opens it.
            let depth = self.indent(self.cursor).unwrap_or(usize::MAX);
            (0..self.cursor).rev().find(|k| self.indent(*k).is_some_and(|d| d < depth))
        };
        let Some((start, end)) = start.and_then(|s| Some((s, self.block_end(s)?))) else { return false };
        let inner: Vec<usize> = self.folds.range(start..=end).map(|(s, _)| *s).collect();
        for s in inner {
            self.folds.remove(&s);
        }
        self.folds.insert(start, end);
        self.cursor = start;
        self.keep_in_view(rows);
        true
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
        self.current = self.matches.iter().position(|m| *m >= self.cursor).unwrap_or(0);
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
        if let Some(line) = self.matches.get(self.current).copied() {
            // A match never stays hidden in a fold.
            while let Some((start, _)) = self.fold_hiding(line) {
                self.folds.remove(&start);
            }
            self.cursor = line;
            // A few lines of context above the match.
            self.centre(3);
        }
    }

    pub fn text(&self) -> String {
        self.raw.to_string()
    }
}

impl App {
    /// Opens in the viewer what the Detail view is at: a node's messages or output when a node
    /// is at its top, else the task's output (or, without one, its error).
    pub(super) fn open_viewer(&mut self) -> Vec<Command> {
        let Some(t) = self.detail_task().cloned() else { return vec![] };
        let at = self.detail.section_at_top(self.drawn.detail_rows);
        if let Some((Some(node), section)) = &at
            && let Some((name, text)) = self.detail.node_text(*node, section)
        {
            let what = if section == "node outputs" { "node output" } else { "messages" };
            let title = format!("{what} of {name} · task {}", t.id);
            let lines = super::detail::output_lines(crate::coze::decode_output(&text));
            self.overlay = Some(Overlay::Viewer(Box::new(Viewer::new(title, t.id.clone(), text, lines))));
            return vec![];
        }
        let (what, raw, lines) = match (&t.output, &t.error) {
            (None, Some(e)) => ("error", e.message.clone(), e.message.lines().map(str::to_string).collect()),
            (Some(o), _) => {
                let decoded = crate::coze::decode_output(o);
                ("output", super::output_text(decoded.clone()), super::detail::output_lines(decoded))
            }
            (None, _) => {
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
        let rows = (self.size.1 as usize).saturating_sub(3).max(1);
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
            Some(Action::Fold) if !v.toggle_fold(rows) => {
                self.toast("nothing to fold here: put the cursor on an object, an array or a field with lines");
            }
            Some(Action::Top) => {
                v.cursor = 0;
                v.top = 0;
            }
            Some(Action::Bottom) => v.cursor_to_end(rows),
            Some(Action::PageDown) => v.move_cursor(rows as isize, rows),
            Some(Action::PageUp) => v.move_cursor(-(rows as isize), rows),
            Some(a) => {
                if let Some(d) = self.movement(a) {
                    v.move_cursor(d, rows);
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
        v.cursor = 40;
        v.search("needle".into());
        assert_eq!(v.matches, [5, 35, 65, 95]);
        assert_eq!((v.current, v.cursor, v.top), (2, 65, 62), "the first match below the cursor, with context");
        v.step(true);
        v.step(true);
        assert_eq!(v.matches[v.current], 5, "wraps around");
        v.step(false);
        assert_eq!(v.matches[v.current], 95);
        v.move_cursor(1_000, 20);
        assert_eq!((v.cursor, v.top), (99, 92), "in view already: no scrolling");
    }

    fn viewer(text: &str) -> Viewer {
        Viewer::new("t".into(), "id".into(), String::new(), text.lines().map(str::to_string).collect())
    }

    fn shown(v: &Viewer) -> Vec<usize> {
        std::iter::successors(Some(v.top), |l| v.next_visible(*l)).collect()
    }

    #[test]
    fn objects_arrays_and_fields_fold_at_the_cursor_and_searches_unfold() {
        let mut v = viewer("{\n  \"a\": {\n    \"b\": 1,\n    \"c\": [\n      2\n    ]\n  },\n  \"d\": 3\n}");
        v.cursor = 1;
        assert!(v.toggle_fold(10));
        assert_eq!(v.folds.get(&1), Some(&6), "the object through its closing brace");
        assert_eq!(shown(&v), [0, 1, 7, 8]);
        v.move_cursor(1, 10);
        assert_eq!(v.cursor, 7, "the cursor steps over the fold");
        v.move_cursor(-1, 10);
        assert_eq!(v.cursor, 1);
        assert!(v.toggle_fold(10), "unfolds");
        assert_eq!(shown(&v).len(), 9);
        // On a line inside a block, the block around it folds.
        v.cursor = 4;
        assert!(v.toggle_fold(10));
        assert_eq!((v.cursor, v.folds.get(&3)), (3, Some(&5)));
        // An outer fold takes the inner one in; a search into it opens it.
        v.cursor = 0;
        assert!(v.toggle_fold(10));
        assert_eq!((v.folds.len(), shown(&v)), (1, vec![0]));
        v.search("\"c\"".into());
        assert!(v.folds.is_empty() && v.cursor == 3);
        // Multi-line fields fold as well; plain text has nothing to fold.
        let mut f = viewer("output:\n  line one\n\n  line two\nnext: 1");
        assert!(f.toggle_fold(10));
        assert_eq!(f.folds.get(&0), Some(&3), "blank lines inside belong to it");
        let mut t = viewer("just\ntext");
        assert!(!t.toggle_fold(10));
    }

    #[test]
    fn the_cursor_stays_on_screen_when_long_lines_wrap() {
        // Every line takes three rows at width 10: five rows show one line and a bit.
        let mut v = viewer(&(0..50).map(|i| format!("{i:>30}")).collect::<Vec<_>>().join("\n"));
        v.width.set(10);
        v.move_cursor(1, 5);
        assert_eq!((v.cursor, v.top), (1, 1), "two lines would need six rows");
        v.move_cursor(100, 7);
        assert_eq!((v.cursor, v.top), (49, 48), "at the end, as many lines as fit above");
        v.wrap = false;
        v.move_cursor(-10, 7);
        assert_eq!((v.cursor, v.top), (39, 39));
        v.move_cursor(6, 7);
        assert_eq!((v.cursor, v.top), (45, 39), "unwrapped: a line a row");
    }
}
