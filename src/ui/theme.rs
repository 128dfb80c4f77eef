//! Styles from the terminal's own 16-colour palette (works in tmux and over SSH). With
//! `NO_COLOR` set, only bold, dim and reverse remain; nothing relies on colour alone.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone)]
pub struct Theme {
    pub border: Style,
    pub focus: Style,
    pub title: Style,
    pub focus_title: Style,
    pub selected: Style,
    pub selected_unfocused: Style,
    pub heading: Style,
    pub dim: Style,
    pub ok: Style,
    pub error: Style,
    pub warning: Style,
    pub running: Style,
    pub unknown: Style,
}

impl Theme {
    pub fn from_env() -> Self {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) { Self::mono() } else { Self::colour() }
    }

    pub fn colour() -> Self {
        let fg = |c: Color| Style::default().fg(c);
        Self {
            border: fg(Color::DarkGray),
            focus: fg(Color::Cyan),
            title: Style::default().add_modifier(Modifier::BOLD),
            focus_title: fg(Color::Cyan).add_modifier(Modifier::BOLD),
            selected: Style::default().add_modifier(Modifier::REVERSED),
            selected_unfocused: Style::default().add_modifier(Modifier::BOLD),
            heading: fg(Color::Cyan).add_modifier(Modifier::BOLD),
            dim: Style::default().add_modifier(Modifier::DIM),
            ok: fg(Color::Green),
            error: fg(Color::Red),
            warning: fg(Color::Yellow),
            running: fg(Color::Blue),
            unknown: fg(Color::Magenta),
        }
    }

    pub fn mono() -> Self {
        let plain = Style::default();
        Self {
            border: plain,
            focus: plain.add_modifier(Modifier::BOLD),
            title: plain.add_modifier(Modifier::BOLD),
            focus_title: plain.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            selected: plain.add_modifier(Modifier::REVERSED),
            selected_unfocused: plain.add_modifier(Modifier::BOLD),
            heading: plain.add_modifier(Modifier::BOLD),
            dim: plain.add_modifier(Modifier::DIM),
            ok: plain,
            error: plain.add_modifier(Modifier::BOLD),
            warning: plain.add_modifier(Modifier::BOLD),
            running: plain,
            unknown: plain,
        }
    }
}
