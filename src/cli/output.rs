//! Human tables aligned by display width (CJK and emoji take two columns), and JSON output.

use std::io::{IsTerminal, Write};

use serde::Serialize;
use unicode_width::UnicodeWidthStr;

pub use crate::text::{pad, truncate};

/// A table whose last column stretches; the others keep their widths, each up to a cap.
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    caps: Vec<usize>,
}

impl Table {
    pub fn new(headers: &[(&'static str, usize)]) -> Self {
        Self {
            headers: headers.iter().map(|h| h.0).collect(),
            caps: headers.iter().map(|h| h.1).collect(),
            rows: vec![],
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders to lines no wider than `max_width` (when given).
    pub fn render(&self, max_width: Option<usize>) -> String {
        let n = self.headers.len();
        let mut widths: Vec<usize> = (0..n)
            .map(|i| {
                let longest = self
                    .rows
                    .iter()
                    .map(|r| r.get(i).map_or(0, |c| truncate(c, usize::MAX).width()))
                    .max()
                    .unwrap_or(0);
                longest.max(self.headers[i].width()).min(self.caps[i])
            })
            .collect();
        if let Some(max) = max_width {
            let fixed: usize = widths[..n - 1].iter().sum::<usize>() + 2 * (n - 1);
            widths[n - 1] = widths[n - 1].min(max.saturating_sub(fixed).max(8));
        }
        let mut out = String::new();
        let line = |cells: Vec<String>| {
            let parts: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let t = truncate(c, widths[i]);
                    if i + 1 == n { t } else { pad(&t, widths[i]) }
                })
                .collect();
            parts.join("  ").trim_end().to_string()
        };
        out.push_str(&line(self.headers.iter().map(|h| h.to_string()).collect()));
        out.push('\n');
        for r in &self.rows {
            out.push_str(&line(r.clone()));
            out.push('\n');
        }
        out
    }
}

/// The terminal width when stdout is a terminal; `None` for pipes (no truncation there).
pub fn terminal_width() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    ratatui::crossterm::terminal::size().ok().map(|(w, _)| w as usize).filter(|w| *w > 0)
}

/// Prints one JSON document on stdout.
pub fn print_json<T: Serialize>(value: &T) {
    let text =
        serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"cannot encode output: {e}\"}}"));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

/// A Unix timestamp (seconds) as local `YYYY-MM-DD HH:MM`.
pub fn local_time(secs: Option<i64>) -> String {
    let Some(secs) = secs.filter(|s| *s > 0) else { return "-".into() };
    match jiff::Timestamp::from_second(secs) {
        Ok(ts) => ts.to_zoned(jiff::tz::TimeZone::system()).strftime("%Y-%m-%d %H:%M").to_string(),
        Err(_) => secs.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_with_wide_characters() {
        let mut t = Table::new(&[("ID", 20), ("NAME", 40)]);
        t.row(vec!["1".into(), "增长团队".into()]);
        t.row(vec!["22".into(), "🚀 Launch".into()]);
        let text = t.render(None);
        let lines: Vec<&str> = text.lines().collect();
        let name_col: Vec<usize> = lines
            .iter()
            .map(|l| l.find(|c: char| !c.is_ascii_digit() && c != ' ' && c != 'I' && c != 'D').unwrap())
            .collect();
        assert_eq!(lines[0], "ID  NAME");
        assert_eq!(name_col[1], name_col[2]);
        let narrow = t.render(Some(10));
        assert!(narrow.lines().all(|l| l.width() <= 12), "{narrow}");
    }
}
