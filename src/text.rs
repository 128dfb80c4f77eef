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
