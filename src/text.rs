//! Text measured the way terminals draw it: CJK and most emoji take two columns.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Cuts `s` to at most `max` display columns, ending in `…` when cut. Control characters
/// (newlines, tabs) become spaces so one cell stays on one line.
pub fn truncate(s: &str, max: usize) -> String {
    let clean: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if clean.width() <= max {
        return clean;
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in clean.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// Pads `s` with spaces to `width` display columns.
pub fn pad(s: &str, width: usize) -> String {
    let w = s.width();
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
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
}
