//! Text measured the way terminals draw it: CJK and most emoji take two columns.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Cuts `s` to at most `max` display columns, ending in `…` when cut. Control characters
/// (newlines, tabs) become spaces so one cell stays on one line.
pub fn truncate(s: &str, max: usize) -> String {
    // One pass that stops at `max`: cost follows the width shown, not the length of `s`.
    let mut out = String::new();
    let mut used = 0;
    let mut cut = false;
    for c in s.chars() {
        let c = if c.is_control() { ' ' } else { c };
        let w = c.width().unwrap_or(0);
        if used + w > max {
            cut = true;
            break;
        }
        out.push(c);
        used += w;
    }
    if cut && max > 0 {
        // Make room for the ellipsis.
        while used + 1 > max {
            match out.pop() {
                Some(c) => used -= c.width().unwrap_or(0),
                None => break,
            }
        }
        out.push('…');
    }
    out
}

/// Pads `s` with spaces to `width` display columns.
pub fn pad(s: &str, width: usize) -> String {
    let w = s.width();
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

/// Unix milliseconds as local `YYYY-MM-DD HH:MM:SS` (RFC 3339 UTC stays for `--json`).
pub fn local_time(ms: i64) -> String {
    Clock::system().time(ms)
}

/// What time it is and where: the system's, or a fixed one (snapshots, benchmarks).
#[derive(Debug, Clone)]
pub struct Clock {
    fixed: Option<i64>,
    tz: jiff::tz::TimeZone,
}

impl Clock {
    pub fn system() -> Self {
        Self { fixed: None, tz: jiff::tz::TimeZone::system() }
    }

    /// Always `now_ms`, in UTC.
    pub fn fixed(now_ms: i64) -> Self {
        Self { fixed: Some(now_ms), tz: jiff::tz::TimeZone::UTC }
    }

    pub fn now_ms(&self) -> i64 {
        self.fixed.unwrap_or_else(|| jiff::Timestamp::now().as_millisecond())
    }

    /// `YYYY-MM-DD HH:MM:SS` in this clock's time zone.
    pub fn time(&self, ms: i64) -> String {
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.to_zoned(self.tz.clone()).strftime("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|_| ms.to_string())
    }

    /// A moment for people: local time and how long ago.
    pub fn when(&self, ms: i64) -> String {
        format!("{} ({})", self.time(ms), ago(ms, self.now_ms()))
    }
}

/// How long before `now` (both unix ms) `ms` was: "just now", "42 s ago", "3 min ago",
/// "5 h ago", "2 days ago".
pub fn ago(ms: i64, now: i64) -> String {
    let s = now.saturating_sub(ms) / 1000;
    match s {
        ..5 => "just now".to_string(),
        5..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        3600..172_800 => format!("{} h ago", s / 3600),
        _ => format!("{} days ago", s / 86_400),
    }
}

/// A size for people: "812 B", "3.4 KB", "12.0 MB".
pub fn human_bytes(n: usize) -> String {
    match n {
        ..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KB", n as f64 / 1024.0),
        _ => format!("{:.1} MB", n as f64 / 1_048_576.0),
    }
}

/// `ago` in at most four columns, for a table: "now", "42s", "12m", "3h", "5d".
pub fn short_ago(ms: i64, now: i64) -> String {
    let s = now.saturating_sub(ms) / 1000;
    match s {
        ..5 => "now".to_string(),
        5..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", (s / 86_400).min(999)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_display_columns() {
        assert_eq!(truncate("hello", 10), "hello");
        assert_eq!(truncate("hello world", 6), "hello…");
        assert_eq!(truncate("翻译助手翻译助手", 7), "翻译助…");
        assert_eq!(truncate("翻译助手", 7).width(), 7);
        assert_eq!(truncate("a\nb\tc", 10), "a b c");
        assert_eq!(truncate("🚀🚀🚀", 4), "🚀…");
        assert_eq!(truncate("x", 0), "");
    }

    #[test]
    fn moments_read_as_local_time_and_age() {
        let now = 1_800_000_000_000;
        assert_eq!(ago(now - 1_000, now), "just now");
        assert_eq!(ago(now + 60_000, now), "just now", "a clock a little ahead is not the future");
        assert_eq!(ago(now - 42_000, now), "42 s ago");
        assert_eq!(ago(now - 3 * 60_000 - 5_000, now), "3 min ago");
        assert_eq!(ago(now - 5 * 3_600_000, now), "5 h ago");
        assert_eq!(ago(now - 3 * 86_400_000, now), "3 days ago");
        assert_eq!(local_time(now).len(), "2027-01-15 08:00:00".len());
        let clock = Clock::fixed(now);
        assert_eq!(clock.when(now - 42_000), "2027-01-15 07:59:18 (42 s ago)");
    }
}
